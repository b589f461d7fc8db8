#include "runtime/container/block_device.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace proctor {

absl::StatusOr<std::string> BlockDeviceGuestPath(uint32_t slot) {
  if (slot == 0) {
    return absl::InvalidArgumentError(
        "CN-9: block device slot 0 is invalid: slots start at 1");
  }
  if (slot > kMaxBlockDeviceSlot) {
    return absl::InvalidArgumentError(
        absl::StrCat("CN-9: block device slot ", slot,
                     " is too large for /dev/vd* mapping"));
  }
  const char letter = static_cast<char>('b' + (slot - 1));
  return absl::StrCat("/dev/vd", absl::string_view(&letter, 1));
}

}  // namespace proctor
