// CN-9: where a block device attached to a container's VM appears inside the
// guest. Slot 1 is the first device after the root disk (/dev/vda), so it is
// /dev/vdb; single letters run out at /dev/vdz.
#ifndef PROCTOR_RUNTIME_CONTAINER_BLOCK_DEVICE_H_
#define PROCTOR_RUNTIME_CONTAINER_BLOCK_DEVICE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace proctor {

// The highest slot with a single-letter name (/dev/vdz).
inline constexpr uint32_t kMaxBlockDeviceSlot = 25;

// "/dev/vd" + ('b' + slot - 1) for slots 1..kMaxBlockDeviceSlot; otherwise
// InvalidArgument.
absl::StatusOr<std::string> BlockDeviceGuestPath(uint32_t slot);

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_CONTAINER_BLOCK_DEVICE_H_
