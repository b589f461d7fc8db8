// A GoogleTest fixture for real tests: it counts this process's open
// descriptors before and after each test and fails the test if any leaked.
// Header-only so that any test target linking proctor_host_io can use it.
#ifndef PROCTOR_HOST_IO_TESTING_FD_LEAK_CHECK_H_
#define PROCTOR_HOST_IO_TESTING_FD_LEAK_CHECK_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "host/io/unique_fd.h"

namespace proctor::host::testing {

class FdLeakCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<size_t> count = CountOpenFds();
    ASSERT_TRUE(count.ok()) << count.status();
    fds_before_ = *count;
  }
  void TearDown() override {
    absl::StatusOr<size_t> count = CountOpenFds();
    ASSERT_TRUE(count.ok()) << count.status();
    EXPECT_EQ(*count, fds_before_) << "descriptors leaked (or closed twice)";
  }

 private:
  size_t fds_before_ = 0;
};

}  // namespace proctor::host::testing

#endif  // PROCTOR_HOST_IO_TESTING_FD_LEAK_CHECK_H_
