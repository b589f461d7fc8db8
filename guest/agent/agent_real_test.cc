// Runs the real proctor-agent binary in test mode (--no-init): the channel is
// a socket pair and the failure port a pipe, and the host side is the real
// ReportDecoder. Every wait is bounded and ends on a real event (bytes, an
// exit); the only timing checked is that an ack comes no earlier than its
// delay.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "guest/protocol/decoder.h"
#include "guest/protocol/wire.h"

namespace proctor::guest {
namespace {

constexpr int kWaitMs = 20'000;

int64_t NowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

// One run of the agent with its two ports.
class AgentRun {
 public:
  // Starts the agent with `args` after the program name.
  explicit AgentRun(std::vector<std::string> args, bool test_fds = true) {
    int channel[2];
    int failure[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel) != 0 ||
        pipe2(failure, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "socketpair/pipe: " << std::strerror(errno);
      return;
    }
    int err[2];
    if (pipe2(err, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe: " << std::strerror(errno);
      return;
    }
    std::vector<std::string> argv_text = {PROCTOR_AGENT_BINARY};
    if (test_fds) {
      argv_text.insert(argv_text.end(),
                       {"--no-init", "--channel-fd", "3", "--failure-fd", "4"});
    }
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      // dup2 clears close-on-exec on the copies.
      dup2(channel[1], 3);
      dup2(failure[1], 4);
      dup2(err[1], 2);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(channel[1]);
    close(failure[1]);
    close(err[1]);
    channel_ = channel[0];
    failure_ = failure[0];
    stderr_ = err[0];
  }

  ~AgentRun() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    for (int fd : {channel_, failure_, stderr_}) {
      if (fd >= 0) close(fd);
    }
  }

  void Send(const Command& command) {
    absl::StatusOr<std::string> line = EncodeCommandLine(command);
    ASSERT_TRUE(line.ok()) << line.status();
    SendBytes(*line);
  }

  void SendBytes(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n =
          write(channel_, bytes.data() + done, bytes.size() - done);
      ASSERT_GT(n, 0) << std::strerror(errno);
      done += static_cast<size_t>(n);
    }
  }

  void CloseChannel() {
    close(channel_);
    channel_ = -1;
  }

  // Reads until `count` reports (or errors) have been decoded or the
  // channel ends; fails the test after kWaitMs.
  std::vector<DecodeEvent> Read(size_t count) {
    const int64_t deadline = NowMs() + kWaitMs;
    while (events_.size() < count && !ended_) {
      const int64_t left = deadline - NowMs();
      if (left <= 0) {
        ADD_FAILURE() << "timed out waiting for " << count << " events; have "
                      << events_.size();
        break;
      }
      pollfd pfd{channel_, POLLIN, 0};
      if (poll(&pfd, 1, static_cast<int>(left)) <= 0) continue;
      char buf[65536];
      const ssize_t n = read(channel_, buf, sizeof(buf));
      if (n <= 0) {
        decoder_.Finish(&events_);
        ended_ = true;
        break;
      }
      decoder_.Feed(absl::string_view(buf, static_cast<size_t>(n)), &events_);
    }
    return events_;
  }

  // The reports decoded so far, errors as "ERROR <what>".
  std::vector<std::string> Summary(size_t count) {
    std::vector<std::string> out;
    for (const DecodeEvent& event : Read(count)) {
      if (const auto* e = std::get_if<DecodeError>(&event)) {
        out.push_back("ERROR " + e->what);
        continue;
      }
      const Report& r = std::get<DecodedReport>(event).report;
      std::string text(ReportTypeName(r));
      if (const auto* h = std::get_if<Hello>(&r)) {
        text += " " + std::string(AgentModeName(h->mode)) + " " + h->script;
      } else if (const auto* f = std::get_if<Finished>(&r)) {
        text += " " + std::to_string(f->code);
      } else if (const auto* a = std::get_if<Ack>(&r)) {
        text += " " + std::to_string(a->id);
      } else if (const auto* w = std::get_if<FailureWritten>(&r)) {
        text += " " + w->data;
      } else if (const auto* act = std::get_if<ActionReport>(&r)) {
        text += " " + std::string(AgentActionName(act->action));
      } else if (const auto* err = std::get_if<AgentError>(&r)) {
        text += " " + err->code + ": " + err->what;
      } else if (const auto* m = std::get_if<GuestMessage>(&r)) {
        text += " " + std::to_string(m->id) + " (" +
                std::to_string(m->data.size()) + " bytes)";
      }
      out.push_back(text);
    }
    return out;
  }

  // The exit status, waiting at most kWaitMs.
  std::optional<int> Wait() {
    const int64_t deadline = NowMs() + kWaitMs;
    while (NowMs() < deadline) {
      int status = 0;
      const pid_t got = waitpid(pid_, &status, WNOHANG);
      if (got == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      // Drain the channel meanwhile so the agent never blocks on it.
      pollfd pfd{channel_, POLLIN, 0};
      if (channel_ >= 0 && poll(&pfd, 1, 10) > 0) {
        char buf[4096];
        const ssize_t n = read(channel_, buf, sizeof(buf));
        if (n > 0) {
          decoder_.Feed(absl::string_view(buf, static_cast<size_t>(n)),
                        &events_);
        }
      } else if (channel_ < 0) {
        poll(nullptr, 0, 10);
      }
    }
    ADD_FAILURE() << "the agent did not exit within " << kWaitMs << " ms";
    return std::nullopt;
  }

  // Everything written to a descriptor until its writer closed it.
  static std::string ReadToEnd(int fd) {
    std::string out;
    char buf[4096];
    const int64_t deadline = NowMs() + kWaitMs;
    while (NowMs() < deadline) {
      pollfd pfd{fd, POLLIN, 0};
      if (poll(&pfd, 1, 100) <= 0) continue;
      const ssize_t n = read(fd, buf, sizeof(buf));
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  std::string FailurePort() { return ReadToEnd(failure_); }
  std::string Stderr() { return ReadToEnd(stderr_); }
  const std::vector<DecodeEvent>& events() const { return events_; }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int channel_ = -1;
  int failure_ = -1;
  int stderr_ = -1;
  ReportDecoder decoder_{"agent channel"};
  std::vector<DecodeEvent> events_;
  bool ended_ = false;
};

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(AgentRealTest, VM4_StartedReadyFinishedInOrderThenPowerOff) {
  AgentRun run(
      {"--cmdline", "console=ttyS0 proctor.behaviour=started,ready,exit:7"});
  EXPECT_THAT(run.Summary(6),
              ElementsAre("hello test started,ready,exit:7", "started", "ready",
                          "finished 7", "action power-off"));
  EXPECT_EQ(run.Wait(), 0);
  EXPECT_EQ(run.FailurePort(), "");
}

TEST(AgentRealTest, DefaultBehaviourIsStartedAndReady) {
  AgentRun run({});
  EXPECT_THAT(run.Summary(3),
              ElementsAre("hello test started,ready", "started", "ready"));
  run.CloseChannel();
  EXPECT_EQ(run.Wait(), 0);
}

TEST(AgentRealTest, PX2_MessageIsAckedNoSoonerThanTheDelay) {
  AgentRun run({"--cmdline", "proctor.behaviour=started,ack-delay:300"});
  ASSERT_EQ(run.Summary(2).size(), 2u);
  const int64_t sent = NowMs();
  run.Send(HostMessage{5, std::string("\0bin\n", 5)});
  EXPECT_THAT(run.Summary(3), ElementsAre("hello test started,ack-delay:300",
                                          "started", "ack 5"));
  EXPECT_GE(NowMs() - sent, 300);
  run.CloseChannel();
  EXPECT_EQ(run.Wait(), 0);
}

TEST(AgentRealTest, EchoCarriesAMaximumMessageBothWays) {
  AgentRun run({"--cmdline", "proctor.behaviour=echo"});
  ASSERT_EQ(run.Summary(1).size(), 1u);
  std::string data(kMaxMessageBytes, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  run.Send(HostMessage{9, data});
  const std::vector<DecodeEvent> events = run.Read(3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(std::get<DecodedReport>(events[1]).report, Report(Ack{9}));
  EXPECT_EQ(std::get<DecodedReport>(events[2]).report,
            Report(GuestMessage{1, data}));
  run.CloseChannel();
  EXPECT_EQ(run.Wait(), 0);
}

TEST(AgentRealTest, VM6_FailureReasonIsWrittenToTheFailurePort) {
  AgentRun run({"--cmdline",
                "proctor.behaviour=started,fail:MICRODROID_INVALID_"
                "PAYLOAD_CONFIG"});
  EXPECT_THAT(
      run.Summary(5),
      ElementsAre("hello test started,fail:MICRODROID_INVALID_"
                  "PAYLOAD_CONFIG",
                  "started", "failure MICRODROID_INVALID_PAYLOAD_CONFIG",
                  "action power-off"));
  EXPECT_EQ(run.Wait(), 0);
  EXPECT_EQ(run.FailurePort(), "MICRODROID_INVALID_PAYLOAD_CONFIG");
}

TEST(AgentRealTest, UnknownAndBadCommandsAreReported) {
  AgentRun run({"--cmdline", "proctor.behaviour="});
  ASSERT_EQ(run.Summary(1).size(), 1u);
  run.SendBytes("PROCTOR/1 frob crc=00000000\n");
  // "frob" with a right checksum.
  const std::string body = "PROCTOR/1 frob";
  char crc[9];
  std::snprintf(crc, sizeof(crc), "%08x", Crc32(body));
  run.SendBytes(body + " crc=" + crc + "\n");
  run.SendBytes("PROCTOR/1 msg id=1 data=zz crc=00000000\n");
  run.Send(RunScript{"dance"});
  EXPECT_THAT(
      run.Summary(5),
      ElementsAre("hello test ",
                  "error bad-checksum: agent channel byte 19: checksum "
                  "mismatch: the line says crc=00000000, its bytes give "
                  "0b1fa8d4",
                  "error unknown-type: agent channel byte 38: unknown "
                  "command type \"frob\"",
                  "error bad-checksum: agent channel byte 87: checksum "
                  "mismatch: the line says crc=00000000, its bytes give "
                  "44640c5b",
                  "error bad-script: run: step 1 (\"dance\"): unknown step"));
  run.CloseChannel();
  EXPECT_EQ(run.Wait(), 0);
}

TEST(AgentRealTest, RunCommandDrivesTheAgent) {
  AgentRun run({"--cmdline", "proctor.behaviour=started"});
  ASSERT_EQ(run.Summary(2).size(), 2u);
  run.Send(RunScript{"send:6869,ready,finished:0,reboot"});
  EXPECT_THAT(run.Summary(6),
              ElementsAre("hello test started", "started", "msg 1 (2 bytes)",
                          "ready", "finished 0", "action reboot"));
  EXPECT_EQ(run.Wait(), 0);
}

TEST(AgentRealTest, VM5_HangStopsEverything) {
  AgentRun run({"--cmdline", "proctor.behaviour=started,hang"});
  EXPECT_THAT(run.Summary(3),
              ElementsAre("hello test started,hang", "started", "action hang"));
  run.Send(HostMessage{1, "x"});
  run.Send(RunScript{"ready"});
  run.CloseChannel();
  EXPECT_EQ(run.Wait(), 0);
  // Nothing came after the hang, though a message and a script were sent.
  EXPECT_EQ(run.events().size(), 3u);
}

TEST(AgentRealTest, PanicIsOnlyReportedInTestMode) {
  AgentRun run({"--cmdline", "proctor.behaviour=started,panic"});
  EXPECT_THAT(run.Summary(4), ElementsAre("hello test started,panic", "started",
                                          "action panic"));
  EXPECT_EQ(run.Wait(), 0);
}

TEST(AgentRealTest, VmmExitTouchesNoPortInTestMode) {
  AgentRun run({"--cmdline",
                "proctor.behaviour=started,failure:HANGUP,vmm-exit:7,ready"});
  EXPECT_THAT(run.Summary(4),
              ElementsAre("hello test started,failure:HANGUP,vmm-exit:7,ready",
                          "started", "failure HANGUP"));
  EXPECT_EQ(run.Wait(), 0);
  EXPECT_EQ(run.FailurePort(), "HANGUP");
  EXPECT_THAT(run.Stderr(),
              HasSubstr("proctor-agent: test mode: would make the VMM exit "
                        "with code 7 (isa-debug-exit: write value 3 to I/O "
                        "port 0x501)"));
  // Nothing after the VMM exit: not even an action line.
  EXPECT_EQ(run.events().size(), 3u);
}

TEST(AgentRealTest, BadKernelCommandLineIsReportedAndExitsOne) {
  AgentRun run({"--cmdline", "proctor.behavior=started"});
  EXPECT_THAT(run.Summary(4),
              ElementsAre("hello test started,ready",
                          "error bad-cmdline: unknown kernel parameter "
                          "\"proctor.behavior\" (the agent knows "
                          "proctor.behaviour and proctor.modules)",
                          "action power-off"));
  EXPECT_EQ(run.Wait(), 1);
}

TEST(AgentRealTest, RefusesToRunAsInitWhenNotPid1) {
  AgentRun run({}, /*test_fds=*/false);
  EXPECT_EQ(run.Wait(), 2);
  EXPECT_THAT(run.Stderr(),
              HasSubstr("proctor-agent: not PID 1: as /init this program "
                        "mounts file systems and powers the machine off; use "
                        "--no-init for test mode"));
}

TEST(AgentRealTest, BadFlagsExitTwo) {
  AgentRun run({"--no-init", "--channel-fd", "3"}, /*test_fds=*/false);
  EXPECT_EQ(run.Wait(), 2);
  EXPECT_THAT(run.Stderr(),
              HasSubstr("proctor-agent: --no-init needs --channel-fd and "
                        "--failure-fd"));
}

}  // namespace
}  // namespace proctor::guest
