// proctor-container run as a real process: its flags, their strict parsing,
// and that it waits without burning CPU.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "host/io/event_loop.h"
#include "host/io/unique_fd.h"
#include "host/process/child_process.h"
#include "host/process/testing/process_testing.h"
#include "runtime/model/exit_status.h"

namespace proctor::host {
namespace {

using testing::MakePipe;
using testing::Pipe;
using testing::WaitForExit;
using testing::WaitReady;

using ContainerMainTest = testing::ProcessTest;

struct Outcome {
  ExitStatus status = ExitStatus::Exited(-1);
  std::string stderr_text;
};

// Runs proctor-container with `flags` to its end and collects its stderr.
absl::StatusOr<Outcome> RunContainer(EventLoop& loop,
                                     std::vector<std::string> flags) {
  absl::StatusOr<Pipe> err = MakePipe();
  if (!err.ok()) return err.status();
  ProcessSpec spec;
  spec.argv.push_back(PROCTOR_CONTAINER_BINARY);
  for (std::string& flag : flags) spec.argv.push_back(std::move(flag));
  spec.fds = {{STDERR_FILENO, err->write_end.get()}};
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(spec);
  if (!child.ok()) return child.status();
  err->write_end.reset();
  absl::StatusOr<ExitStatus> status = WaitForExit(loop, *child);
  if (!status.ok()) return status.status();
  Outcome outcome{*status, ""};
  // The container is gone and our write end closed: this read ends.
  char buffer[512];
  ssize_t n;
  while ((n = ::read(err->read_end.get(), buffer, sizeof(buffer))) > 0) {
    outcome.stderr_text.append(buffer, static_cast<size_t>(n));
  }
  return outcome;
}

constexpr char kUsage[] =
    "usage: proctor-container [--exit-after MS] [--exit-code N] "
    "[--ignore-sigterm] [--crash-after MS] [--ready-fd FD]\n"
    "                         [--control-fd FD]\n";

TEST_F(ContainerMainTest, BadCommandLinesExitTwoWithAMessage) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--bogus"}, "unknown argument \"--bogus\""},
      {{"positional"}, "unknown argument \"positional\""},
      {{"--exit-after"}, "--exit-after needs a value"},
      {{"--exit-after", "-1"},
       "--exit-after wants a whole number in 0..86400000, not \"-1\""},
      {{"--exit-after", "+5"},
       "--exit-after wants a whole number in 0..86400000, not \"+5\""},
      {{"--exit-after", "1x"},
       "--exit-after wants a whole number in 0..86400000, not \"1x\""},
      {{"--exit-after", ""},
       "--exit-after wants a whole number in 0..86400000, not \"\""},
      {{"--crash-after", "86400001"},
       "--crash-after wants a whole number in 0..86400000, not "
       "\"86400001\""},
      {{"--exit-code", "256"},
       "--exit-code wants a whole number in 0..255, not \"256\""},
      {{"--exit-code", "99999999999999999999"},
       "--exit-code wants a whole number in 0..255, not "
       "\"99999999999999999999\""},
      {{"--ready-fd", "x"},
       "--ready-fd wants a whole number in 0..1048575, not \"x\""},
      {{"--ignore-sigterm", "--ignore-sigterm"},
       "--ignore-sigterm given twice"},
      {{"--exit-code", "1", "--exit-code", "2"}, "--exit-code given twice"},
      {{"--exit-after=5"}, "unknown argument \"--exit-after=5\""},
  };
  for (const auto& [flags, message] : cases) {
    absl::StatusOr<Outcome> outcome = RunContainer(loop(), flags);
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    EXPECT_EQ(outcome->status, ExitStatus::Exited(2)) << message;
    EXPECT_EQ(outcome->stderr_text,
              absl::StrCat("proctor-container: ", message, "\n", kUsage));
  }
}

TEST_F(ContainerMainTest, ExitCodeFlag) {
  absl::StatusOr<Outcome> outcome =
      RunContainer(loop(), {"--exit-code", "7", "--exit-after", "0"});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->status, ExitStatus::Exited(7));
  EXPECT_EQ(outcome->stderr_text, "");

  outcome = RunContainer(loop(), {"--exit-after", "0"});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->status, ExitStatus::Exited(0));
}

TEST_F(ContainerMainTest, ExitAfterWaitsAtLeastThatLong) {
  const Instant start = loop().Now();
  absl::StatusOr<Outcome> outcome =
      RunContainer(loop(), {"--exit-after", "200"});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->status, ExitStatus::Exited(0));
  EXPECT_GE(loop().Now() - start, absl::Milliseconds(200));
}

TEST_F(ContainerMainTest, CrashAfterIsSignalledSigabrt) {
  absl::StatusOr<Outcome> outcome =
      RunContainer(loop(), {"--crash-after", "0"});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->status, ExitStatus::Signalled(SIGABRT));
  EXPECT_EQ(FormatExitStatus(outcome->status), "Signalled(SIGABRT)");
}

TEST_F(ContainerMainTest, TheEarlierOfCrashAndExitWins) {
  absl::StatusOr<Outcome> outcome = RunContainer(
      loop(),
      {"--crash-after", "10", "--exit-after", "5000", "--exit-code", "1"});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->status, ExitStatus::Signalled(SIGABRT));

  outcome = RunContainer(loop(), {"--crash-after", "5000", "--exit-after", "10",
                                  "--exit-code", "1"});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->status, ExitStatus::Exited(1));
}

// A running container told on its control socket (how the process world
// applies a fault to a process that already runs).
struct Controlled {
  ChildProcess child;
  UniqueFd control;  // our end
};

absl::StatusOr<Controlled> StartControlled(std::vector<std::string> flags) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return absl::InternalError("socketpair");
  }
  UniqueFd ours(pair[0]);
  UniqueFd theirs(pair[1]);
  ProcessSpec spec;
  spec.argv = {PROCTOR_CONTAINER_BINARY, "--control-fd", "3"};
  for (std::string& flag : flags) spec.argv.push_back(std::move(flag));
  spec.fds = {{3, theirs.get()}};
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(spec);
  if (!child.ok()) return child.status();
  return Controlled{std::move(*child), std::move(ours)};
}

TEST_F(ContainerMainTest, ControlTIgnoresSigtermFromThenOn) {
  absl::StatusOr<Controlled> c = StartControlled({});
  ASSERT_TRUE(c.ok()) << c.status();
  const char command = 'T';
  ASSERT_EQ(::send(c->control.get(), &command, 1, MSG_NOSIGNAL), 1);
  pollfd p{c->control.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10'000), 1);
  char ack = 0;
  ASSERT_EQ(::recv(c->control.get(), &ack, 1, 0), 1);
  EXPECT_EQ(ack, 'T');
  // In effect once acknowledged: SIGTERM does nothing...
  ASSERT_TRUE(c->child.Signal(SIGTERM).ok());
  bool fired = false;
  ASSERT_TRUE(loop()
                  .AddTimer(loop().Now() + absl::Milliseconds(100),
                            [&] { fired = true; })
                  .ok());
  ASSERT_TRUE(
      loop()
          .RunUntil([&] { return fired; }, loop().Now() + testing::kSafetyBound)
          .ok());
  EXPECT_FALSE(c->child.TryReap().has_value());
  // ...and SIGKILL still ends it.
  ASSERT_TRUE(c->child.Signal(SIGKILL).ok());
  absl::StatusOr<ExitStatus> status = WaitForExit(loop(), c->child);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, ExitStatus::Signalled(SIGKILL));
}

TEST_F(ContainerMainTest, ControlCCrashesWithSigsegv) {
  absl::StatusOr<Controlled> c = StartControlled({});
  ASSERT_TRUE(c.ok()) << c.status();
  const char command = 'C';
  ASSERT_EQ(::send(c->control.get(), &command, 1, MSG_NOSIGNAL), 1);
  absl::StatusOr<ExitStatus> status = WaitForExit(loop(), c->child);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, ExitStatus::Signalled(SIGSEGV));
}

TEST_F(ContainerMainTest, ClosedControlSocketEndsTheContainer) {
  absl::StatusOr<Controlled> c = StartControlled({"--ignore-sigterm"});
  ASSERT_TRUE(c.ok()) << c.status();
  c->control.reset();  // the supervisor is gone
  absl::StatusOr<ExitStatus> status = WaitForExit(loop(), c->child);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, ExitStatus::Exited(0));
}

TEST_F(ContainerMainTest, ReadyFdThatIsNotOpenExitsTwo) {
  absl::StatusOr<Outcome> outcome = RunContainer(loop(), {"--ready-fd", "9"});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->status, ExitStatus::Exited(2));
  EXPECT_EQ(outcome->stderr_text,
            "proctor-container: write(--ready-fd 9): Bad file descriptor\n");
}

// User plus system CPU time of `pid`, in clock ticks, from /proc/<pid>/stat.
int64_t CpuTicks(pid_t pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(file)),
                   std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start at field 3.
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::vector<std::string> fields = absl::StrSplit(stat.substr(close + 2), ' ');
  int64_t utime = 0;
  int64_t stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return -1;
  }
  return utime + stime;
}

TEST_F(ContainerMainTest, WaitingBurnsNoCpu) {
  absl::StatusOr<Pipe> ready = MakePipe();
  ASSERT_TRUE(ready.ok()) << ready.status();
  // A deadline far away: the container is inside its timed wait throughout.
  ProcessSpec spec{.argv = {PROCTOR_CONTAINER_BINARY, "--exit-after", "60000",
                            "--ready-fd", "3"},
                   .fds = {{3, ready->write_end.get()}}};
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(spec);
  ASSERT_TRUE(child.ok()) << child.status();
  ready->write_end.reset();
  ASSERT_EQ(WaitReady(loop(), ready->read_end.get()), absl::OkStatus());

  const int64_t ticks_before = CpuTicks(child->pid());
  bool fired = false;
  absl::StatusOr<EventLoop::TimerId> timer = loop().AddTimer(
      loop().Now() + absl::Milliseconds(300), [&fired] { fired = true; });
  ASSERT_TRUE(timer.ok()) << timer.status();
  ASSERT_EQ(loop().RunUntil([&fired] { return fired; },
                            loop().Now() + testing::kSafetyBound),
            absl::OkStatus());
  const int64_t ticks_after = CpuTicks(child->pid());
  ASSERT_GE(ticks_before, 0);
  ASSERT_GE(ticks_after, 0);
  // A busy wait would take about 30 ticks (at 100 Hz) in 300 ms.
  EXPECT_LE(ticks_after - ticks_before, 2);
  EXPECT_EQ(child->TryReap(), std::nullopt);
}

}  // namespace
}  // namespace proctor::host
