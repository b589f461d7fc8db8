// Real processes: exit statuses, group signals, pidfd readiness, cleanup.
// Every test runs in ProcessTest, which fails it if a descriptor leaked or
// any child (running or zombie) is left behind.
#include "host/process/child_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "host/io/event_loop.h"
#include "host/io/unique_fd.h"
#include "host/process/testing/process_testing.h"
#include "runtime/model/check.h"
#include "runtime/model/exit_status.h"

namespace proctor::host {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;
using testing::kSafetyBound;
using testing::MakePipe;
using testing::Pipe;
using testing::WaitForExit;
using testing::WaitReady;

using ChildProcessTest = testing::ProcessTest;

// proctor-container with `flags`; its stderr is the test's, so that a
// message from it shows in the test log.
ProcessSpec Container(std::vector<std::string> flags,
                      std::vector<std::pair<int, int>> fds = {}) {
  ProcessSpec spec;
  spec.argv.push_back(PROCTOR_CONTAINER_BINARY);
  for (std::string& flag : flags) spec.argv.push_back(std::move(flag));
  spec.fds = std::move(fds);
  spec.fds.emplace_back(STDERR_FILENO, STDERR_FILENO);
  return spec;
}

// The child fd a container gets its --ready-fd on.
constexpr int kReadyFd = 3;

ProcessSpec ReadyContainer(std::vector<std::string> flags, const Pipe& ready) {
  flags.push_back("--ready-fd");
  flags.push_back(absl::StrCat(kReadyFd));
  return Container(std::move(flags), {{kReadyFd, ready.write_end.get()}});
}

bool PidfdReadable(const ChildProcess& child) {
  pollfd entry{child.pidfd(), POLLIN, 0};
  return ::poll(&entry, 1, 0) == 1 && (entry.revents & POLLIN) != 0;
}

bool ProcessGone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

// Runs the loop until kill(-pgid, 0) says the group is empty, checking every
// millisecond on a loop timer; fails if it is not within the safety bound.
absl::Status WaitGroupGone(EventLoop& loop, pid_t pgid) {
  bool gone = false;
  EventLoop::TimerId timer = 0;
  absl::AnyInvocable<void()> check;
  check = [&] {
    gone = ProcessGone(-pgid);
    if (gone) return;
    absl::StatusOr<EventLoop::TimerId> next =
        loop.AddTimer(loop.Now() + absl::Milliseconds(1), [&] { check(); });
    PROCTOR_CHECK(next.ok());
    timer = *next;
  };
  check();
  absl::Status run =
      loop.RunUntil([&gone] { return gone; }, loop.Now() + kSafetyBound);
  loop.CancelTimer(timer);
  return run;
}

// Reads one line (the pid a shell echoes) from `fd` on the loop.
absl::StatusOr<pid_t> ReadPidLine(EventLoop& loop, int fd) {
  std::string line;
  bool done = false;
  absl::StatusOr<EventLoop::WatchId> watch =
      loop.WatchFd(fd, EPOLLIN, [&](uint32_t) {
        char c;
        ssize_t n = ::read(fd, &c, 1);
        if (n <= 0 || c == '\n' || line.size() > 32) {
          done = true;
        } else {
          line.push_back(c);
        }
      });
  if (!watch.ok()) return watch.status();
  absl::Status run =
      loop.RunUntil([&done] { return done; }, loop.Now() + kSafetyBound);
  loop.Unwatch(*watch);
  if (!run.ok()) return run;
  int pid = 0;
  if (!absl::SimpleAtoi(line, &pid) || pid <= 0) {
    return absl::InternalError(absl::StrCat("not a pid: \"", line, "\""));
  }
  return pid;
}

// A shell whose background `sleep` is a grandchild in the same group; it
// writes the grandchild's pid to fd 3 and then runs `then`.
ProcessSpec ShellWithGrandchild(const Pipe& pid_pipe, absl::string_view then) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c",
               absl::StrCat("/bin/sleep 1000 & echo $! >&3; ", then)};
  spec.fds = {{3, pid_pipe.write_end.get()}, {2, STDERR_FILENO}};
  return spec;
}

TEST_F(ChildProcessTest, ExitCodeIsReportedOnceAndCached) {
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn(Container({"--exit-after", "0", "--exit-code", "3"}));
  ASSERT_TRUE(child.ok()) << child.status();
  absl::StatusOr<ExitStatus> status = WaitForExit(loop(), *child);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, ExitStatus::Exited(3));
  EXPECT_EQ(child->TryReap(), ExitStatus::Exited(3));
  EXPECT_EQ(child->exit_status(), ExitStatus::Exited(3));
}

TEST_F(ChildProcessTest, SigkillIsSignalledSigkill) {
  absl::StatusOr<Pipe> ready = MakePipe();
  ASSERT_TRUE(ready.ok()) << ready.status();
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn(ReadyContainer({}, *ready));
  ASSERT_TRUE(child.ok()) << child.status();
  ready->write_end.reset();
  ASSERT_EQ(WaitReady(loop(), ready->read_end.get()), absl::OkStatus());

  EXPECT_FALSE(PidfdReadable(*child));
  EXPECT_EQ(child->TryReap(), std::nullopt);
  ASSERT_EQ(child->Signal(SIGKILL), absl::OkStatus());
  absl::StatusOr<ExitStatus> status = WaitForExit(loop(), *child);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, ExitStatus::Signalled(SIGKILL));
  EXPECT_EQ(FormatExitStatus(*status), "Signalled(SIGKILL)");
}

TEST_F(ChildProcessTest, PidfdBecomesReadableInTheLoopWhenTheProcessExits) {
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn(Container({"--exit-after", "20"}));
  ASSERT_TRUE(child.ok()) << child.status();
  uint32_t seen_events = 0;
  absl::StatusOr<EventLoop::WatchId> watch =
      loop().WatchFd(child->pidfd(), EPOLLIN,
                     [&seen_events](uint32_t events) { seen_events = events; });
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_EQ(loop().RunUntil([&] { return seen_events != 0; },
                            loop().Now() + kSafetyBound),
            absl::OkStatus());
  loop().Unwatch(*watch);
  EXPECT_NE(seen_events & EPOLLIN, 0u);
  EXPECT_EQ(child->TryReap(), ExitStatus::Exited(0));
}

TEST_F(ChildProcessTest, IgnoredSigtermDoesNothingThenSigkillEndsIt) {
  absl::StatusOr<Pipe> ready = MakePipe();
  ASSERT_TRUE(ready.ok()) << ready.status();
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn(ReadyContainer({"--ignore-sigterm"}, *ready));
  ASSERT_TRUE(child.ok()) << child.status();
  ready->write_end.reset();
  ASSERT_EQ(WaitReady(loop(), ready->read_end.get()), absl::OkStatus());

  ASSERT_EQ(child->Signal(SIGTERM), absl::OkStatus());
  bool exited = false;
  bool timer_fired = false;
  absl::StatusOr<EventLoop::WatchId> watch = loop().WatchFd(
      child->pidfd(), EPOLLIN, [&exited](uint32_t) { exited = true; });
  ASSERT_TRUE(watch.ok()) << watch.status();
  absl::StatusOr<EventLoop::TimerId> timer =
      loop().AddTimer(loop().Now() + absl::Milliseconds(100),
                      [&timer_fired] { timer_fired = true; });
  ASSERT_TRUE(timer.ok()) << timer.status();
  ASSERT_EQ(loop().RunUntil([&] { return exited || timer_fired; },
                            loop().Now() + kSafetyBound),
            absl::OkStatus());
  loop().Unwatch(*watch);
  EXPECT_TRUE(timer_fired);
  EXPECT_FALSE(exited) << "SIGTERM ended a process that ignores it";
  EXPECT_EQ(child->TryReap(), std::nullopt);

  ASSERT_EQ(child->Signal(SIGKILL), absl::OkStatus());
  absl::StatusOr<ExitStatus> status = WaitForExit(loop(), *child);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, ExitStatus::Signalled(SIGKILL));
}

// Signals a process over and over while it exits by itself: each Signal is
// OK (also to the zombie and after the reap), the status is whichever came
// first, and nothing is left.
void SignalUntilExit(EventLoop& loop, ChildProcess& child, int* signals_sent) {
  bool exited = false;
  absl::StatusOr<EventLoop::WatchId> watch = loop.WatchFd(
      child.pidfd(), EPOLLIN, [&exited](uint32_t) { exited = true; });
  ASSERT_TRUE(watch.ok()) << watch.status();
  const Instant deadline = loop.Now() + kSafetyBound;
  while (!exited) {
    ASSERT_EQ(child.Signal(SIGTERM), absl::OkStatus());
    ++*signals_sent;
    ASSERT_EQ(loop.RunOnce(absl::ZeroDuration()), absl::OkStatus());
    ASSERT_LT(loop.Now(), deadline) << "the process did not exit";
  }
  loop.Unwatch(*watch);
  // Exited, not yet reaped: a zombie.
  ASSERT_EQ(child.Signal(SIGTERM), absl::OkStatus());
  ASSERT_EQ(child.Signal(SIGKILL), absl::OkStatus());
}

TEST_F(ChildProcessTest, SignallingAProcessThatExitsByItselfIsNotAnError) {
  // It ignores SIGTERM (once ready: before that a SIGTERM would end it), so
  // its own exit is the only way out.
  absl::StatusOr<Pipe> ready = MakePipe();
  ASSERT_TRUE(ready.ok()) << ready.status();
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(ReadyContainer(
      {"--ignore-sigterm", "--exit-after", "20", "--exit-code", "5"}, *ready));
  ASSERT_TRUE(child.ok()) << child.status();
  ready->write_end.reset();
  ASSERT_EQ(WaitReady(loop(), ready->read_end.get()), absl::OkStatus());
  int signals_sent = 0;
  SignalUntilExit(loop(), *child, &signals_sent);
  EXPECT_GT(signals_sent, 0);
  EXPECT_EQ(child->TryReap(), ExitStatus::Exited(5));
  EXPECT_EQ(child->Signal(SIGTERM), absl::OkStatus());
  EXPECT_EQ(child->Signal(SIGKILL), absl::OkStatus());
}

TEST_F(ChildProcessTest, SignallingAProcessWhileItExitsIsNotAnError) {
  // The exit and the SIGTERM race: either may win.
  for (int round = 0; round < 20; ++round) {
    absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(
        Container({"--exit-after", "0", "--exit-code", "5"}));
    ASSERT_TRUE(child.ok()) << child.status();
    int signals_sent = 0;
    SignalUntilExit(loop(), *child, &signals_sent);
    EXPECT_THAT(child->TryReap(), AnyOf(Eq(ExitStatus::Exited(5)),
                                        Eq(ExitStatus::Signalled(SIGTERM))));
    EXPECT_EQ(child->Signal(SIGTERM), absl::OkStatus());
  }
}

TEST_F(ChildProcessTest, MissingBinaryIsAClearError) {
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(
      ProcessSpec{.argv = {"/nonexistent/proctor-no-such-program"}});
  EXPECT_EQ(child.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(child.status().message(),
            "exec /nonexistent/proctor-no-such-program: No such file or "
            "directory");
}

TEST_F(ChildProcessTest, NonExecutableIsAClearError) {
  // A directory cannot be executed, even by root.
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn(ProcessSpec{.argv = {"/"}});
  EXPECT_EQ(child.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(child.status().message(), "exec /: Permission denied");
}

TEST_F(ChildProcessTest, ParentFdThatIsNotOpenIsAClearError) {
  absl::StatusOr<Pipe> pipe = MakePipe();
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  const int closed_fd = pipe->write_end.get();
  pipe->write_end.reset();
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn(Container({}, {{3, closed_fd}}));
  // ErrnoStatus maps EBADF to FAILED_PRECONDITION.
  EXPECT_EQ(child.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(child.status().message(),
            absl::StrCat("spawn ", PROCTOR_CONTAINER_BINARY, ": parent fd ",
                         closed_fd,
                         " for child fd 3: fcntl(F_GETFD): Bad file "
                         "descriptor"));
}

TEST_F(ChildProcessTest, InvalidSignalNumbersAreRefused) {
  absl::StatusOr<Pipe> ready = MakePipe();
  ASSERT_TRUE(ready.ok()) << ready.status();
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn(ReadyContainer({}, *ready));
  ASSERT_TRUE(child.ok()) << child.status();
  ready->write_end.reset();
  ASSERT_EQ(WaitReady(loop(), ready->read_end.get()), absl::OkStatus());

  absl::Status status = child->Signal(-1);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), absl::StrCat("signal -1 to pid ", child->pid(),
                                           ": not a signal number (0..64)"));
  EXPECT_EQ(child->Signal(65).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(child->Signal(0), absl::OkStatus());  // a probe
  EXPECT_EQ(child->TryReap(), std::nullopt);
  ASSERT_EQ(child->Signal(SIGTERM), absl::OkStatus());
  absl::StatusOr<ExitStatus> exit = WaitForExit(loop(), *child);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(*exit, ExitStatus::Signalled(SIGTERM));
}

TEST_F(ChildProcessTest, SigkillEndsTheWholeGroupIncludingGrandchildren) {
  absl::StatusOr<Pipe> pid_pipe = MakePipe();
  ASSERT_TRUE(pid_pipe.ok()) << pid_pipe.status();
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn(ShellWithGrandchild(*pid_pipe, "wait"));
  ASSERT_TRUE(child.ok()) << child.status();
  pid_pipe->write_end.reset();
  absl::StatusOr<pid_t> grandchild =
      ReadPidLine(loop(), pid_pipe->read_end.get());
  ASSERT_TRUE(grandchild.ok()) << grandchild.status();
  EXPECT_EQ(::getpgid(*grandchild), child->pgid());
  EXPECT_FALSE(ProcessGone(*grandchild));

  ASSERT_EQ(child->Signal(SIGKILL), absl::OkStatus());
  absl::StatusOr<ExitStatus> status = WaitForExit(loop(), *child);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, ExitStatus::Signalled(SIGKILL));
  EXPECT_EQ(WaitGroupGone(loop(), child->pgid()), absl::OkStatus());
  EXPECT_TRUE(ProcessGone(*grandchild));
}

TEST_F(ChildProcessTest, SignalReachesTheGrandchildBeforeAnyReap) {
  absl::StatusOr<Pipe> pid_pipe = MakePipe();
  ASSERT_TRUE(pid_pipe.ok()) << pid_pipe.status();
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn(ShellWithGrandchild(*pid_pipe, "wait"));
  ASSERT_TRUE(child.ok()) << child.status();
  pid_pipe->write_end.reset();
  absl::StatusOr<pid_t> grandchild =
      ReadPidLine(loop(), pid_pipe->read_end.get());
  ASSERT_TRUE(grandchild.ok()) << grandchild.status();
  // A pidfd works for any process, not only our children: it turns
  // readable when the grandchild exits.
  UniqueFd grandchild_pidfd(
      static_cast<int>(::syscall(SYS_pidfd_open, *grandchild, 0)));
  ASSERT_TRUE(grandchild_pidfd) << std::strerror(errno);

  ASSERT_EQ(child->Signal(SIGTERM), absl::OkStatus());
  bool grandchild_exited = false;
  absl::StatusOr<EventLoop::WatchId> watch = loop().WatchFd(
      grandchild_pidfd.get(), EPOLLIN,
      [&grandchild_exited](uint32_t) { grandchild_exited = true; });
  ASSERT_TRUE(watch.ok()) << watch.status();
  // No TryReap yet: only the SIGTERM sent to the group can end it.
  ASSERT_EQ(loop().RunUntil([&] { return grandchild_exited; },
                            loop().Now() + kSafetyBound),
            absl::OkStatus());
  loop().Unwatch(*watch);
  absl::StatusOr<ExitStatus> status = WaitForExit(loop(), *child);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, ExitStatus::Signalled(SIGTERM));
  EXPECT_TRUE(ProcessGone(*grandchild));
}

TEST_F(ChildProcessTest, LeaderExitEndsTheRestOfItsGroup) {
  absl::StatusOr<Pipe> pid_pipe = MakePipe();
  ASSERT_TRUE(pid_pipe.ok()) << pid_pipe.status();
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn(ShellWithGrandchild(*pid_pipe, "exit 4"));
  ASSERT_TRUE(child.ok()) << child.status();
  pid_pipe->write_end.reset();
  absl::StatusOr<pid_t> grandchild =
      ReadPidLine(loop(), pid_pipe->read_end.get());
  ASSERT_TRUE(grandchild.ok()) << grandchild.status();

  absl::StatusOr<ExitStatus> status = WaitForExit(loop(), *child);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, ExitStatus::Exited(4));
  EXPECT_EQ(WaitGroupGone(loop(), child->pgid()), absl::OkStatus());
  EXPECT_TRUE(ProcessGone(*grandchild));
}

TEST_F(ChildProcessTest, DestructorKillsAndReapsTheWholeGroup) {
  absl::StatusOr<Pipe> pid_pipe = MakePipe();
  ASSERT_TRUE(pid_pipe.ok()) << pid_pipe.status();
  pid_t pgid = 0;
  pid_t grandchild = 0;
  {
    absl::StatusOr<ChildProcess> child =
        ChildProcess::Spawn(ShellWithGrandchild(*pid_pipe, "wait"));
    ASSERT_TRUE(child.ok()) << child.status();
    pid_pipe->write_end.reset();
    absl::StatusOr<pid_t> pid = ReadPidLine(loop(), pid_pipe->read_end.get());
    ASSERT_TRUE(pid.ok()) << pid.status();
    pgid = child->pgid();
    grandchild = *pid;
  }
  // Reaped synchronously by the destructor: nothing to wait for.
  EXPECT_TRUE(ProcessGone(-pgid));
  EXPECT_TRUE(ProcessGone(grandchild));
  EXPECT_TRUE(testing::NoChildLeft());
}

TEST_F(ChildProcessTest, DestructorEndsAProcessThatIgnoresSigterm) {
  pid_t pid = 0;
  {
    absl::StatusOr<Pipe> ready = MakePipe();
    ASSERT_TRUE(ready.ok()) << ready.status();
    absl::StatusOr<ChildProcess> child =
        ChildProcess::Spawn(ReadyContainer({"--ignore-sigterm"}, *ready));
    ASSERT_TRUE(child.ok()) << child.status();
    ready->write_end.reset();
    ASSERT_EQ(WaitReady(loop(), ready->read_end.get()), absl::OkStatus());
    pid = child->pid();
  }
  EXPECT_TRUE(ProcessGone(pid));
  EXPECT_TRUE(testing::NoChildLeft());
}

TEST_F(ChildProcessTest, MoveAssignmentEndsTheProcessItReplaces) {
  absl::StatusOr<ChildProcess> first = ChildProcess::Spawn(Container({}));
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<ChildProcess> second =
      ChildProcess::Spawn(Container({"--exit-after", "0", "--exit-code", "9"}));
  ASSERT_TRUE(second.ok()) << second.status();
  const pid_t second_pid = second->pid();
  ChildProcess moved(*std::move(second));
  *first = std::move(moved);
  EXPECT_EQ(first->pid(), second_pid);
  absl::StatusOr<ExitStatus> status = WaitForExit(loop(), *first);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, ExitStatus::Exited(9));
}

TEST_F(ChildProcessTest, StopWithGraceReturnsAsSoonAsTheProcessExits) {
  absl::StatusOr<Pipe> ready = MakePipe();
  ASSERT_TRUE(ready.ok()) << ready.status();
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn(ReadyContainer({}, *ready));
  ASSERT_TRUE(child.ok()) << child.status();
  ready->write_end.reset();
  ASSERT_EQ(WaitReady(loop(), ready->read_end.get()), absl::OkStatus());

  // CN-4 on a real process: SIGTERM, SIGKILL when the grace passes, and the
  // stop is over when the pidfd says the process exited.
  const absl::Duration grace = absl::Seconds(10);
  bool exited = false;
  bool grace_passed = false;
  absl::StatusOr<EventLoop::WatchId> watch = loop().WatchFd(
      child->pidfd(), EPOLLIN, [&exited](uint32_t) { exited = true; });
  ASSERT_TRUE(watch.ok()) << watch.status();
  const Instant stop_started = loop().Now();
  ASSERT_EQ(child->Signal(SIGTERM), absl::OkStatus());
  absl::StatusOr<EventLoop::TimerId> grace_timer =
      loop().AddTimer(stop_started + grace, [&] {
        grace_passed = true;
        PROCTOR_CHECK(child->Signal(SIGKILL).ok());
      });
  ASSERT_TRUE(grace_timer.ok()) << grace_timer.status();
  ASSERT_EQ(loop().RunUntil([&exited] { return exited; },
                            stop_started + grace + kSafetyBound),
            absl::OkStatus());
  const absl::Duration stop_took = loop().Now() - stop_started;
  loop().CancelTimer(*grace_timer);
  loop().Unwatch(*watch);

  EXPECT_FALSE(grace_passed);
  EXPECT_LT(stop_took, absl::Seconds(1));
  EXPECT_EQ(child->TryReap(), ExitStatus::Signalled(SIGTERM));
  RecordProperty("stop_took_us",
                 absl::StrCat(absl::ToInt64Microseconds(stop_took)));
  std::printf("stop with a 10s grace took %s\n",
              absl::FormatDuration(stop_took).c_str());
}

// The child's descriptors, read from /proc/<pid>/fd.
std::set<int> ChildFds(pid_t pid) {
  std::set<int> fds;
  std::unique_ptr<DIR, int (*)(DIR*)> dir(
      ::opendir(absl::StrCat("/proc/", pid, "/fd").c_str()), &::closedir);
  if (dir == nullptr) return fds;
  while (const dirent* entry = ::readdir(dir.get())) {
    int fd = 0;
    if (absl::SimpleAtoi(entry->d_name, &fd)) fds.insert(fd);
  }
  return fds;
}

std::string LinkTarget(const std::string& path) {
  char target[256];
  ssize_t n = ::readlink(path.c_str(), target, sizeof(target));
  return n < 0 ? std::string("?") : std::string(target, static_cast<size_t>(n));
}

TEST_F(ChildProcessTest, ChildHasExactlyTheListedDescriptors) {
  absl::StatusOr<Pipe> a = MakePipe();
  absl::StatusOr<Pipe> b = MakePipe();
  absl::StatusOr<Pipe> ready = MakePipe();
  ASSERT_TRUE(a.ok() && b.ok() && ready.ok());
  const int a_fd = a->read_end.get();
  const int b_fd = b->read_end.get();
  // Swapped: each child number is the other's parent descriptor, so placing
  // one naively would overwrite the other.
  ProcessSpec spec;
  spec.argv = {PROCTOR_CONTAINER_BINARY, "--ready-fd", "9"};
  spec.fds = {{a_fd, b_fd}, {b_fd, a_fd}, {9, ready->write_end.get()}};
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(spec);
  ASSERT_TRUE(child.ok()) << child.status();
  ready->write_end.reset();
  // End of file: the container has also closed its ready descriptor.
  ASSERT_EQ(WaitReady(loop(), ready->read_end.get()), absl::OkStatus());

  const std::string proc = absl::StrCat("/proc/", child->pid(), "/fd/");
  EXPECT_EQ(ChildFds(child->pid()), (std::set<int>{0, 1, 2, a_fd, b_fd}));
  EXPECT_EQ(LinkTarget(absl::StrCat(proc, a_fd)),
            LinkTarget(absl::StrCat("/proc/self/fd/", b_fd)));
  EXPECT_EQ(LinkTarget(absl::StrCat(proc, b_fd)),
            LinkTarget(absl::StrCat("/proc/self/fd/", a_fd)));
  EXPECT_NE(LinkTarget(absl::StrCat(proc, a_fd)),
            LinkTarget(absl::StrCat(proc, b_fd)));
  for (int stdio = 0; stdio < 3; ++stdio) {
    EXPECT_EQ(LinkTarget(absl::StrCat(proc, stdio)), "/dev/null") << stdio;
  }
}

// A process-wide signal state for one test: blocked and ignored signals in
// the parent, restored however the test ends.
class ParentSignalState {
 public:
  ParentSignalState() {
    sigset_t block;
    ::sigemptyset(&block);
    ::sigaddset(&block, SIGTERM);
    ::sigaddset(&block, SIGUSR1);
    PROCTOR_CHECK(::pthread_sigmask(SIG_BLOCK, &block, &saved_mask_) == 0);
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigemptyset(&ignore.sa_mask);
    PROCTOR_CHECK(::sigaction(SIGPIPE, &ignore, &saved_pipe_) == 0);
    PROCTOR_CHECK(::sigaction(SIGUSR2, &ignore, &saved_usr2_) == 0);
  }
  ~ParentSignalState() {
    PROCTOR_CHECK(::sigaction(SIGUSR2, &saved_usr2_, nullptr) == 0);
    PROCTOR_CHECK(::sigaction(SIGPIPE, &saved_pipe_, nullptr) == 0);
    PROCTOR_CHECK(::pthread_sigmask(SIG_SETMASK, &saved_mask_, nullptr) == 0);
  }

 private:
  sigset_t saved_mask_;
  struct sigaction saved_pipe_;
  struct sigaction saved_usr2_;
};

// The value of `field` ("SigBlk") in /proc/<pid>/status.
std::string StatusField(pid_t pid, absl::string_view field) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  const std::string prefix = absl::StrCat(field, ":\t");
  while (std::getline(status, line)) {
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  }
  return "?";
}

TEST_F(ChildProcessTest, ChildStartsWithDefaultSignalState) {
  ParentSignalState parent_state;
  absl::StatusOr<Pipe> ready = MakePipe();
  ASSERT_TRUE(ready.ok()) << ready.status();
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn(ReadyContainer({}, *ready));
  ASSERT_TRUE(child.ok()) << child.status();
  ready->write_end.reset();
  ASSERT_EQ(WaitReady(loop(), ready->read_end.get()), absl::OkStatus());

  EXPECT_EQ(StatusField(child->pid(), "SigBlk"), "0000000000000000");
  EXPECT_EQ(StatusField(child->pid(), "SigIgn"), "0000000000000000");
  // SIGTERM blocked here is not blocked there: it ends the container.
  ASSERT_EQ(child->Signal(SIGTERM), absl::OkStatus());
  absl::StatusOr<ExitStatus> status = WaitForExit(loop(), *child);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, ExitStatus::Signalled(SIGTERM));
}

TEST_F(ChildProcessTest, EnvironmentIsExactlyTheSpecs) {
  absl::StatusOr<Pipe> out = MakePipe();
  ASSERT_TRUE(out.ok()) << out.status();
  ProcessSpec spec{.argv = {"/usr/bin/env"},
                   .env = {"A=1", "B=two words"},
                   .fds = {{1, out->write_end.get()}, {2, STDERR_FILENO}}};
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(spec);
  ASSERT_TRUE(child.ok()) << child.status();
  out->write_end.reset();
  absl::StatusOr<ExitStatus> status = WaitForExit(loop(), *child);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, ExitStatus::Exited(0));
  // The child has exited and our write end is closed: this read ends.
  std::string text;
  char buffer[256];
  ssize_t n;
  while ((n = ::read(out->read_end.get(), buffer, sizeof(buffer))) > 0) {
    text.append(buffer, static_cast<size_t>(n));
  }
  EXPECT_EQ(text, "A=1\nB=two words\n");
}

TEST_F(ChildProcessTest, SpawnAndReapTimes) {
  constexpr int kRounds = 50;
  absl::Duration spawn_total;
  absl::Duration life_total;
  for (int round = 0; round < kRounds; ++round) {
    const Instant start = loop().Now();
    absl::StatusOr<ChildProcess> child =
        ChildProcess::Spawn(Container({"--exit-after", "0"}));
    ASSERT_TRUE(child.ok()) << child.status();
    spawn_total += loop().Now() - start;
    absl::StatusOr<ExitStatus> status = WaitForExit(loop(), *child);
    ASSERT_TRUE(status.ok()) << status.status();
    ASSERT_EQ(*status, ExitStatus::Exited(0));
    life_total += loop().Now() - start;
  }
  std::printf(
      "mean over %d: Spawn (fork to exec done) %s, spawn to reaped %s\n",
      kRounds, absl::FormatDuration(spawn_total / kRounds).c_str(),
      absl::FormatDuration(life_total / kRounds).c_str());
}

}  // namespace
}  // namespace proctor::host
