#include "host/io/unique_fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "gtest/gtest.h"
#include "host/io/testing/fd_leak_check.h"

namespace proctor::host {
namespace {

using UniqueFdTest = testing::FdLeakCheckTest;

bool IsOpen(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

UniqueFd OpenDevNull() {
  return UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

TEST_F(UniqueFdTest, ClosesOnDestruction) {
  int raw;
  {
    UniqueFd fd = OpenDevNull();
    ASSERT_TRUE(fd);
    raw = fd.get();
    EXPECT_TRUE(IsOpen(raw));
  }
  EXPECT_FALSE(IsOpen(raw));
  EXPECT_EQ(errno, EBADF);
}

TEST_F(UniqueFdTest, CountOpenFdsSeesOneMoreDescriptor) {
  absl::StatusOr<size_t> before = CountOpenFds();
  ASSERT_TRUE(before.ok()) << before.status();
  UniqueFd fd = OpenDevNull();
  ASSERT_TRUE(fd);
  absl::StatusOr<size_t> during = CountOpenFds();
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_EQ(*during, *before + 1);
  fd.reset();
  EXPECT_EQ(*CountOpenFds(), *before);
}

TEST_F(UniqueFdTest, MoveTransfersOwnership) {
  UniqueFd a = OpenDevNull();
  const int raw = a.get();
  UniqueFd b(std::move(a));
  EXPECT_FALSE(
      a);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(a.get(), -1);
  EXPECT_EQ(b.get(), raw);
  UniqueFd c = OpenDevNull();
  const int other = c.get();
  c = std::move(b);  // closes `other`
  EXPECT_EQ(c.get(), raw);
  EXPECT_FALSE(IsOpen(other));
  EXPECT_TRUE(IsOpen(raw));
}

TEST_F(UniqueFdTest, ReleaseGivesUpOwnershipAndResetCloses) {
  UniqueFd fd = OpenDevNull();
  const int raw = fd.release();
  EXPECT_FALSE(fd);
  EXPECT_TRUE(IsOpen(raw));
  fd.reset(raw);
  EXPECT_EQ(fd.get(), raw);
  fd.reset();
  EXPECT_FALSE(fd);
  EXPECT_FALSE(IsOpen(raw));
}

}  // namespace
}  // namespace proctor::host
