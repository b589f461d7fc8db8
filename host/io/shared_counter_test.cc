#include "host/io/shared_counter.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "host/io/event_loop.h"
#include "host/io/testing/fd_leak_check.h"
#include "host/io/unique_fd.h"
#include "runtime/model/check.h"

namespace proctor::host {
namespace {

using ::testing::EndsWith;
using ::testing::StartsWith;

constexpr absl::Duration kSafetyBound = absl::Seconds(10);
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

using SharedCounterTest = testing::FdLeakCheckTest;

bool WakeReadable(const SharedCounter& counter) {
  pollfd poll_fd{counter.wake_fd(), POLLIN, 0};
  PROCTOR_CHECK(::poll(&poll_fd, 1, 0) >= 0);
  return (poll_fd.revents & POLLIN) != 0;
}

UniqueFd Dup(int fd) {
  UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  PROCTOR_CHECK(copy);
  return copy;
}

SharedCounter MustCreate(int64_t initial) {
  absl::StatusOr<SharedCounter> counter = SharedCounter::Create(initial);
  PROCTOR_CHECK(counter.ok());
  return *std::move(counter);
}

TEST_F(SharedCounterTest, CreateOpensTwoCloseOnExecDescriptors) {
  const size_t before = *CountOpenFds();
  {
    SharedCounter counter = MustCreate(0);
    EXPECT_EQ(*CountOpenFds(), before + 2);
    EXPECT_NE(::fcntl(counter.memory_fd(), F_GETFD) & FD_CLOEXEC, 0);
    EXPECT_NE(::fcntl(counter.wake_fd(), F_GETFD) & FD_CLOEXEC, 0);
    EXPECT_NE(::fcntl(counter.wake_fd(), F_GETFL) & O_NONBLOCK, 0);
  }
  EXPECT_EQ(*CountOpenFds(), before);
}

TEST_F(SharedCounterTest, AddChangesTheValueAndRefusesOverflow) {
  SharedCounter counter = MustCreate(0);
  EXPECT_EQ(counter.Value(), 0);
  EXPECT_EQ(counter.signals(), kSignalNonPositive);
  EXPECT_FALSE(WakeReadable(counter));

  ASSERT_EQ(counter.Add(5), ChannelStatus::kOk);
  EXPECT_EQ(counter.Value(), 5);
  EXPECT_EQ(counter.signals(), kSignalPositive);
  EXPECT_TRUE(WakeReadable(counter));  // NON_POSITIVE -> POSITIVE
  counter.ClearWake();
  EXPECT_FALSE(WakeReadable(counter));
  counter.ClearWake();  // nothing to clear: harmless

  ASSERT_EQ(counter.Add(1), ChannelStatus::kOk);
  EXPECT_EQ(counter.Value(), 6);
  EXPECT_FALSE(WakeReadable(counter));  // still POSITIVE: no wake

  EXPECT_EQ(counter.Add(kMax), ChannelStatus::kOutOfRange);
  EXPECT_EQ(counter.Value(), 6);
  EXPECT_FALSE(WakeReadable(counter));

  ASSERT_EQ(counter.Add(-6), ChannelStatus::kOk);
  EXPECT_EQ(counter.Value(), 0);
  EXPECT_EQ(counter.signals(), kSignalNonPositive);
  EXPECT_TRUE(WakeReadable(counter));  // POSITIVE -> NON_POSITIVE
  counter.ClearWake();

  ASSERT_EQ(counter.Add(kMin), ChannelStatus::kOk);
  EXPECT_EQ(counter.Value(), kMin);
  EXPECT_EQ(counter.Add(-1), ChannelStatus::kOutOfRange);
  EXPECT_EQ(counter.Value(), kMin);
  ASSERT_EQ(counter.Add(kMax), ChannelStatus::kOk);
  EXPECT_EQ(counter.Value(), -1);
  EXPECT_FALSE(WakeReadable(counter));
  ASSERT_EQ(counter.Add(0), ChannelStatus::kOk);
  EXPECT_EQ(counter.Value(), -1);

  SharedCounter at_max = MustCreate(kMax);
  EXPECT_EQ(at_max.signals(), kSignalPositive);
  EXPECT_EQ(at_max.Add(1), ChannelStatus::kOutOfRange);
  EXPECT_EQ(at_max.Value(), kMax);
}

TEST_F(SharedCounterTest, TwoHandlesOnTheSameMemorySeeOneValue) {
  SharedCounter first = MustCreate(3);
  absl::StatusOr<SharedCounter> second =
      SharedCounter::Open(Dup(first.memory_fd()), Dup(first.wake_fd()));
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->Add(-3), ChannelStatus::kOk);
  EXPECT_EQ(first.Value(), 0);
  EXPECT_EQ(first.signals(), kSignalNonPositive);
  EXPECT_TRUE(WakeReadable(first));  // one eventfd, shared
  first.ClearWake();
  EXPECT_FALSE(WakeReadable(*second));

  // Moving keeps the mapping; the moved-from counter holds nothing.
  SharedCounter moved = std::move(first);
  EXPECT_EQ(moved.Value(), 0);
  EXPECT_EQ(first.wake_fd(), -1);    // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(first.memory_fd(), -1);  // NOLINT(bugprone-use-after-move)
  moved = std::move(*second);
  EXPECT_EQ(moved.Value(), 0);
}

TEST_F(SharedCounterTest, AForkedChildDecrementsAndTheParentsLoopWakes) {
  SharedCounter counter = MustCreate(1);
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok()) << loop.status();
  int wakes = 0;
  int64_t seen_value = 1;
  Signals seen_signals = kSignalNone;
  absl::StatusOr<EventLoop::WatchId> watch =
      (*loop)->WatchFd(counter.wake_fd(), EPOLLIN, [&](uint32_t) {
        ++wakes;
        counter.ClearWake();
        seen_value = counter.Value();
        seen_signals = counter.signals();
      });
  ASSERT_TRUE(watch.ok()) << watch.status();

  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child opens the counter from its inherited descriptors, as a
    // container process would from descriptors it was handed.
    absl::StatusOr<SharedCounter> opened =
        SharedCounter::Open(UniqueFd(::dup(counter.memory_fd())),
                            UniqueFd(::dup(counter.wake_fd())));
    if (!opened.ok()) ::_exit(10);
    if (opened->Value() != 1) ::_exit(11);
    if (opened->Add(-1) != ChannelStatus::kOk) ::_exit(12);
    ::_exit(0);
  }

  ASSERT_TRUE(
      (*loop)
          ->RunUntil([&] { return wakes > 0; }, (*loop)->Now() + kSafetyBound)
          .ok());
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(seen_value, 0);
  EXPECT_EQ(seen_signals, kSignalNonPositive);
  int wait_status = 0;
  ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFEXITED(wait_status));
  EXPECT_EQ(WEXITSTATUS(wait_status), 0);
  // Cleared: no further wake.
  ASSERT_TRUE((*loop)->RunOnce(absl::ZeroDuration()).ok());
  EXPECT_EQ(wakes, 1);
  (*loop)->Unwatch(*watch);
}

TEST_F(SharedCounterTest, OpenRefusesWhatCannotBeACounter) {
  SharedCounter good = MustCreate(0);

  // Memory too small: sealed, but empty.
  UniqueFd empty(::memfd_create("empty", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  ASSERT_TRUE(empty);
  ASSERT_EQ(::fcntl(empty.get(), F_ADD_SEALS, F_SEAL_SHRINK), 0);
  const int empty_fd = empty.get();
  absl::StatusOr<SharedCounter> opened =
      SharedCounter::Open(std::move(empty), Dup(good.wake_fd()));
  EXPECT_EQ(opened.status(),
            absl::InvalidArgumentError(absl::StrCat(
                "SharedCounter::Open: the counter memory (fd ", empty_fd,
                ") holds 0 bytes, fewer than the 8 of a counter")));

  // Memory another holder could shrink.
  UniqueFd unsealed(::memfd_create("unsealed", MFD_CLOEXEC));
  ASSERT_TRUE(unsealed);
  ASSERT_EQ(::ftruncate(unsealed.get(), 8), 0);
  const int unsealed_fd = unsealed.get();
  opened = SharedCounter::Open(std::move(unsealed), Dup(good.wake_fd()));
  EXPECT_EQ(opened.status(),
            absl::InvalidArgumentError(absl::StrCat(
                "SharedCounter::Open: the counter memory (fd ", unsealed_fd,
                ") is not sealed against shrinking (F_SEAL_SHRINK); another "
                "holder could make this process fault")));

  // Not a memfd at all: a pipe.
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd pipe_read(pipe_fds[0]);
  UniqueFd pipe_write(pipe_fds[1]);
  opened = SharedCounter::Open(Dup(pipe_read.get()), Dup(good.wake_fd()));
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(opened.status().message()),
              StartsWith("SharedCounter::Open: fcntl(F_GET_SEALS) on the "
                         "counter memory"));

  // A wake descriptor that is not an eventfd.
  const int pipe_copy = ::fcntl(pipe_read.get(), F_DUPFD_CLOEXEC, 0);
  ASSERT_GE(pipe_copy, 0);
  opened = SharedCounter::Open(Dup(good.memory_fd()), UniqueFd(pipe_copy));
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(opened.status().message());
  EXPECT_THAT(message, StartsWith(absl::StrCat(
                           "SharedCounter::Open: the wake descriptor (fd ",
                           pipe_copy, ") is pipe:[")));
  EXPECT_THAT(message, EndsWith("], not an eventfd"));

  // A blocking eventfd.
  UniqueFd blocking(::eventfd(0, EFD_CLOEXEC));
  ASSERT_TRUE(blocking);
  const int blocking_fd = blocking.get();
  opened = SharedCounter::Open(Dup(good.memory_fd()), std::move(blocking));
  EXPECT_EQ(opened.status(),
            absl::InvalidArgumentError(absl::StrCat(
                "SharedCounter::Open: the wake eventfd (fd ", blocking_fd,
                ") is blocking; ClearWake would block on it")));

  // Missing descriptors.
  opened = SharedCounter::Open(UniqueFd(), Dup(good.wake_fd()));
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace proctor::host
