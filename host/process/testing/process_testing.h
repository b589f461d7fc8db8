// Helpers for real tests of child processes: a fixture that proves nothing
// leaked (no descriptor, no child: not even a zombie) and owns an event loop,
// and waits that end on real events (a pidfd turning readable, a pipe's end
// of file) with a generous safety bound that fails the test if it passes.
// Header-only so that any test linking proctor_host_process can use it.
#ifndef PROCTOR_HOST_PROCESS_TESTING_PROCESS_TESTING_H_
#define PROCTOR_HOST_PROCESS_TESTING_PROCESS_TESTING_H_

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "host/io/errno_status.h"
#include "host/io/event_loop.h"
#include "host/io/testing/fd_leak_check.h"
#include "host/io/unique_fd.h"
#include "host/process/child_process.h"
#include "runtime/model/exit_status.h"

namespace proctor::host::testing {

// A safety bound only: every wait ends on a real event, and a test fails if
// this passes first.
inline constexpr absl::Duration kSafetyBound = absl::Seconds(10);
// What a ready pipe may carry before its end of file: one byte is expected,
// anything more is reported.
inline constexpr size_t kMaxReadyBytes = 64;

struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
};

inline absl::StatusOr<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe2");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// True when this process has no child at all, running or zombie.
inline bool NoChildLeft() {
  siginfo_t info{};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 &&
         errno == ECHILD;
}

// Runs `loop` until `child`'s pidfd is readable, then reaps it. Fails
// (DeadlineExceeded) if the child has not exited within `bound`.
inline absl::StatusOr<ExitStatus> WaitForExit(
    EventLoop& loop, ChildProcess& child, absl::Duration bound = kSafetyBound) {
  bool exited = false;
  absl::StatusOr<EventLoop::WatchId> watch = loop.WatchFd(
      child.pidfd(), EPOLLIN, [&exited](uint32_t) { exited = true; });
  if (!watch.ok()) return watch.status();
  absl::Status run =
      loop.RunUntil([&exited] { return exited; }, loop.Now() + bound);
  loop.Unwatch(*watch);
  if (!run.ok()) return run;
  std::optional<ExitStatus> status = child.TryReap();
  if (!status.has_value()) {
    return absl::InternalError(absl::StrCat(
        "pid ", child.pid(), ": pidfd readable but TryReap found no exit"));
  }
  return *status;
}

// Runs `loop` until `fd` reaches end of file, having carried exactly one
// byte: the --ready-fd protocol of proctor-container, whose end of file
// also says the container has closed its end.
inline absl::Status WaitReady(EventLoop& loop, int fd,
                              absl::Duration bound = kSafetyBound) {
  size_t bytes = 0;
  bool eof = false;
  int read_error = 0;
  absl::StatusOr<EventLoop::WatchId> watch =
      loop.WatchFd(fd, EPOLLIN, [&](uint32_t) {
        char buffer[kMaxReadyBytes];
        ssize_t n = ::read(fd, buffer, sizeof(buffer));
        if (n > 0) {
          bytes += static_cast<size_t>(n);
        } else if (n == 0) {
          eof = true;
        } else if (errno != EINTR) {
          read_error = errno;
          eof = true;
        }
      });
  if (!watch.ok()) return watch.status();
  absl::Status run = loop.RunUntil([&eof] { return eof; }, loop.Now() + bound);
  loop.Unwatch(*watch);
  if (!run.ok()) return run;
  if (read_error != 0) return ErrnoStatus(read_error, "read(ready pipe)");
  if (bytes != 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("ready pipe carried ", bytes, " bytes, not 1"));
  }
  return absl::OkStatus();
}

// FdLeakCheckTest plus: the process is a subreaper (so that orphaned
// grandchildren come back here to be reaped, whatever init does), the test
// owns an event loop, and no child of any kind is left when it ends.
class ProcessTest : public FdLeakCheckTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(NoChildLeft()) << "a child was left by an earlier test";
    FdLeakCheckTest::SetUp();
    absl::Status subreaper = BecomeChildSubreaper();
    ASSERT_TRUE(subreaper.ok()) << subreaper;
    absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
  }
  void TearDown() override {
    loop_.reset();
    FdLeakCheckTest::TearDown();
    EXPECT_TRUE(NoChildLeft()) << "a child (or zombie) was left";
  }

  EventLoop& loop() { return *loop_; }

 private:
  std::unique_ptr<EventLoop> loop_;
};

}  // namespace proctor::host::testing

#endif  // PROCTOR_HOST_PROCESS_TESTING_PROCESS_TESTING_H_
