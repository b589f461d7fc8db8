#include "runtime/container/port_allocator.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace proctor {
namespace {

constexpr uint32_t kMax = std::numeric_limits<uint32_t>::max();

TEST(PortAllocatorTest, CN7_AllocatesUpwardFromStart) {
  PortAllocator ports(5000, 5002);
  EXPECT_EQ(ports.remaining(), 3u);
  EXPECT_EQ(*ports.Allocate(), 5000u);
  EXPECT_EQ(*ports.Allocate(), 5001u);
  EXPECT_EQ(*ports.Allocate(), 5002u);
  EXPECT_EQ(ports.remaining(), 0u);
}

TEST(PortAllocatorTest, CN7_ExhaustionIsAnErrorForeverAfter) {
  PortAllocator ports(10, 10);
  ASSERT_EQ(*ports.Allocate(), 10u);
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<uint32_t> port = ports.Allocate();
    ASSERT_FALSE(port.ok());
    EXPECT_EQ(port.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(port.status().message(), "CN-7: port range exhausted");
  }
}

TEST(PortAllocatorTest, CN7_RangeEndingAtUint32MaxNeverWraps) {
  PortAllocator ports(kMax - 1, kMax);
  EXPECT_EQ(*ports.Allocate(), kMax - 1);
  EXPECT_EQ(*ports.Allocate(), kMax);
  absl::StatusOr<uint32_t> port = ports.Allocate();
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.status().message(), "CN-7: port range exhausted");
  // Still exhausted: a wrap-around would now hand out 0.
  EXPECT_FALSE(ports.Allocate().ok());
}

TEST(PortAllocatorTest, CN7_SinglePortAtUint32Max) {
  PortAllocator ports(kMax, kMax);
  EXPECT_EQ(ports.remaining(), 1u);
  EXPECT_EQ(*ports.Allocate(), kMax);
  EXPECT_EQ(ports.Allocate().status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(PortAllocatorTest, CN7_EmptyRangeIsExhaustedAtOnce) {
  PortAllocator ports(7, 6);
  EXPECT_EQ(ports.remaining(), 0u);
  EXPECT_EQ(ports.Allocate().status().message(), "CN-7: port range exhausted");
}

TEST(PortAllocatorTest, CN7_FullRangeReportsItsSize) {
  PortAllocator ports(0, kMax);
  EXPECT_EQ(ports.remaining(), uint64_t{kMax} + 1);
  EXPECT_EQ(*ports.Allocate(), 0u);
}

}  // namespace
}  // namespace proctor
