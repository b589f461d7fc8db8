#include "runtime/container/block_device.h"

#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace proctor {
namespace {

TEST(BlockDeviceTest, CN9_SlotsMapToLettersFromB) {
  EXPECT_EQ(*BlockDeviceGuestPath(1), "/dev/vdb");
  EXPECT_EQ(*BlockDeviceGuestPath(2), "/dev/vdc");
  EXPECT_EQ(*BlockDeviceGuestPath(24), "/dev/vdy");
  EXPECT_EQ(*BlockDeviceGuestPath(25), "/dev/vdz");
}

TEST(BlockDeviceTest, CN9_PastZIsAnError) {
  for (uint32_t slot :
       {26u, 27u, 255u, 256u, std::numeric_limits<uint32_t>::max()}) {
    absl::StatusOr<std::string> path = BlockDeviceGuestPath(slot);
    ASSERT_FALSE(path.ok()) << slot << " -> " << *path;
    EXPECT_EQ(path.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(path.status().message(),
              absl::StrCat("CN-9: block device slot ", slot,
                           " is too large for /dev/vd* mapping"));
  }
}

TEST(BlockDeviceTest, CN9_SlotZeroIsInvalid) {
  absl::StatusOr<std::string> path = BlockDeviceGuestPath(0);
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(path.status().message(),
            "CN-9: block device slot 0 is invalid: slots start at 1");
}

}  // namespace
}  // namespace proctor
