// QmpClient against a fake QEMU on the other end of a socket pair: the exact
// bytes it sends, replies and events it hands on, and every way a hostile
// monitor can misbehave (each an error, never a crash).
#include "host/qemu/qmp_client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "host/io/event_loop.h"
#include "host/io/testing/fd_leak_check.h"
#include "host/io/unique_fd.h"

namespace proctor::host {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kGreeting[] =
    R"({"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, )"
    R"("package": "Debian"}, "capabilities": ["oob"]}})"
    "\r\n";
// A safety bound for waits on the loop; every wait ends on a real event.
constexpr absl::Duration kBound = absl::Seconds(10);

class QmpClientTest : public testing::FdLeakCheckTest {
 protected:
  void SetUp() override {
    FdLeakCheckTest::SetUp();
    absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    server_.reset(fds[0]);
    QmpClient::Callbacks callbacks;
    callbacks.on_ready = [this] { ++ready_; };
    callbacks.on_event = [this](const QmpEvent& event) {
      events_.push_back(event);
      if (destroy_on_event_) client_.reset();
    };
    callbacks.on_error = [this](const absl::Status& error) {
      errors_.push_back(error);
    };
    callbacks.on_closed = [this](const absl::Status& why) {
      closed_.push_back(why);
    };
    absl::StatusOr<std::unique_ptr<QmpClient>> client = QmpClient::Create(
        loop_.get(), UniqueFd(fds[1]), std::move(callbacks), "vm 3 qmp");
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    loop_.reset();
    FdLeakCheckTest::TearDown();
  }

  void Send(absl::string_view bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(server_.get(), bytes.data() + done,
                         bytes.size() - done, MSG_NOSIGNAL);
      ASSERT_GT(n, 0) << errno;
      done += static_cast<size_t>(n);
    }
  }
  // Everything the client has written so far.
  std::string Received() {
    std::string out;
    char buffer[4096];
    for (;;) {
      ssize_t n = ::recv(server_.get(), buffer, sizeof(buffer), MSG_DONTWAIT);
      if (n <= 0) break;
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }
  void RunUntil(const std::function<bool()>& done) {
    absl::Status run = loop_->RunUntil(done, loop_->Now() + kBound);
    ASSERT_TRUE(run.ok()) << run;
  }
  // Greeting and capabilities: the client is ready.
  void Negotiate() {
    Send(kGreeting);
    RunUntil([this] { return !sent_.empty() || PollSent(); });
    EXPECT_EQ(sent_, "{\"execute\":\"qmp_capabilities\",\"id\":1}\n");
    sent_.clear();
    Send("{\"return\": {}, \"id\": 1}\r\n");
    RunUntil([this] { return ready_ > 0; });
  }
  bool PollSent() {
    sent_ += Received();
    return !sent_.empty();
  }
  // Runs `command` and returns the line it wrote.
  std::string ExecuteLine(absl::string_view command,
                          const nlohmann::json& arguments,
                          QmpClient::ReplyCallback on_reply) {
    absl::StatusOr<uint64_t> id =
        client_->Execute(command, arguments, std::move(on_reply));
    EXPECT_TRUE(id.ok()) << id.status();
    RunUntil([this] { return PollSent(); });
    std::string line = std::move(sent_);
    sent_.clear();
    return line;
  }
  void WaitForErrors(size_t count) {
    RunUntil([&] { return errors_.size() >= count; });
  }

  std::unique_ptr<EventLoop> loop_;
  UniqueFd server_;
  std::unique_ptr<QmpClient> client_;
  std::string sent_;
  int ready_ = 0;
  std::vector<QmpEvent> events_;
  std::vector<absl::Status> errors_;
  std::vector<absl::Status> closed_;
  bool destroy_on_event_ = false;
};

TEST_F(QmpClientTest, NegotiatesThenStopAndContWithTheirEvents) {
  Negotiate();
  EXPECT_TRUE(client_->ready());
  std::vector<absl::StatusOr<nlohmann::json>> replies;
  auto record = [&](absl::StatusOr<nlohmann::json> r) {
    replies.push_back(std::move(r));
  };
  EXPECT_EQ(ExecuteLine("stop", nullptr, record),
            "{\"execute\":\"stop\",\"id\":2}\n");
  EXPECT_EQ(client_->pending_commands(), 1u);
  Send(
      "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": "
      "\"STOP\"}\r\n{\"return\": {}, \"id\": 2}\r\n");
  RunUntil([&] { return replies.size() == 1; });
  EXPECT_EQ(client_->pending_commands(), 0u);
  ASSERT_TRUE(replies[0].ok());
  EXPECT_EQ(*replies[0], nlohmann::json::object());
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].kind, QmpEventKind::kStop);
  EXPECT_EQ(events_[0].name, "STOP");
  EXPECT_TRUE(events_[0].data.is_null());

  EXPECT_EQ(ExecuteLine("cont", nullptr, record),
            "{\"execute\":\"cont\",\"id\":3}\n");
  Send(
      "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 3}, \"event\": "
      "\"RESUME\"}\r\n{\"return\": {}, \"id\": 3}\r\n");
  RunUntil([&] { return replies.size() == 2; });
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[1].kind, QmpEventKind::kResume);
  EXPECT_THAT(errors_, IsEmpty());
}

TEST_F(QmpClientTest, BytesSplitAnywhereMakeTheSameLines) {
  for (char c : std::string(kGreeting)) {
    Send(std::string(1, c));
    ASSERT_TRUE(loop_->RunOnce(absl::ZeroDuration()).ok());
  }
  RunUntil([this] { return PollSent(); });
  EXPECT_EQ(sent_, "{\"execute\":\"qmp_capabilities\",\"id\":1}\n");
  const std::string reply = "{\"return\": {}, \"id\": 1}\r\n";
  Send(reply.substr(0, 10));
  ASSERT_TRUE(loop_->RunOnce(absl::ZeroDuration()).ok());
  EXPECT_EQ(ready_, 0);
  Send(reply.substr(10));
  RunUntil([this] { return ready_ > 0; });
}

TEST_F(QmpClientTest, ArgumentsAndReturnValues) {
  Negotiate();
  absl::StatusOr<nlohmann::json> reply;
  EXPECT_EQ(ExecuteLine("query-status", nlohmann::json::object(),
                        [&](absl::StatusOr<nlohmann::json> r) { reply = r; }),
            "{\"arguments\":{},\"execute\":\"query-status\",\"id\":2}\n");
  Send(
      "{\"return\": {\"status\": \"running\", \"singlestep\": false, "
      "\"running\": true}, \"id\": 2}\n");
  RunUntil([&] { return reply.ok(); });
  EXPECT_EQ((*reply)["status"], "running");
  EXPECT_EQ(ExecuteLine("human-monitor-command",
                        {{"command-line", "info \"x\""}}, nullptr),
            "{\"arguments\":{\"command-line\":\"info \\\"x\\\"\"},\"execute\":"
            "\"human-monitor-command\",\"id\":3}\n");
}

TEST_F(QmpClientTest, ErrorRepliesNameTheCommandAndClass) {
  Negotiate();
  std::vector<absl::Status> results;
  auto record = [&](absl::StatusOr<nlohmann::json> r) {
    results.push_back(r.status());
  };
  ExecuteLine("frob", nullptr, record);
  ExecuteLine("cont", nullptr, record);
  ExecuteLine("stop", nullptr, record);
  Send(
      "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command "
      "frob has not been found\"}, \"id\": 2}\n"
      "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Resetting the "
      "Virtual Machine is required\"}, \"id\": 3}\n"
      "{\"error\": \"weird\", \"id\": 4}\n");
  RunUntil([&] { return results.size() == 3; });
  EXPECT_THAT(
      results,
      ElementsAre(absl::NotFoundError(
                      "vm 3 qmp: command frob (id 2) failed: CommandNotFound: "
                      "The command frob has not been found"),
                  absl::FailedPreconditionError(
                      "vm 3 qmp: command cont (id 3) failed: GenericError: "
                      "Resetting the Virtual Machine is required"),
                  absl::FailedPreconditionError(
                      "vm 3 qmp: command stop (id 4) failed: ?: \"weird\"")));
  EXPECT_THAT(errors_, IsEmpty());
}

TEST_F(QmpClientTest, EventsCarryTheirFields) {
  Negotiate();
  Send(
      "{\"timestamp\": {\"seconds\": 5, \"microseconds\": 6}, \"event\": "
      "\"GUEST_PANICKED\", \"data\": {\"action\": \"poweroff\"}}\r\n"
      "{\"timestamp\": {\"seconds\": 5, \"microseconds\": 7}, \"event\": "
      "\"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": "
      "\"guest-panic\"}}\r\n"
      "{\"event\": \"RESET\", \"data\": {\"guest\": false, \"reason\": "
      "\"host-qmp-system-reset\"}}\r\n"
      "{\"event\": \"BLOCK_IO_ERROR\", \"data\": {\"device\": \"d0\"}}\r\n");
  RunUntil([&] { return events_.size() == 4; });
  EXPECT_EQ(events_[0].kind, QmpEventKind::kGuestPanicked);
  EXPECT_EQ(events_[0].panic_action, "poweroff");
  EXPECT_EQ(events_[1].kind, QmpEventKind::kShutdown);
  EXPECT_TRUE(events_[1].guest);
  EXPECT_EQ(events_[1].reason, "guest-panic");
  EXPECT_EQ(events_[2].kind, QmpEventKind::kReset);
  EXPECT_FALSE(events_[2].guest);
  EXPECT_EQ(events_[2].reason, "host-qmp-system-reset");
  EXPECT_EQ(events_[3].kind, QmpEventKind::kOther);
  EXPECT_EQ(events_[3].name, "BLOCK_IO_ERROR");
  EXPECT_EQ(events_[3].data["device"], "d0");
  EXPECT_THAT(errors_, IsEmpty());
}

TEST_F(QmpClientTest, MalformedLinesAreErrorsAndReadingGoesOn) {
  Negotiate();
  const uint64_t base = client_->bytes_read();
  const std::vector<std::string> lines = {
      "not json\n",
      "[1, 2]\n",
      std::string(40, '[') + "\n",
      "{\"return\": {}, \"id\": 99}\n",
      "{\"return\": {}}\n",
      "{\"return\": {}, \"id\": -1}\n",
      "{\"hello\": 1}\n",
      "{\"event\": 7}\n",
      "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true}}\n",
      "{\"event\": \"GUEST_PANICKED\", \"data\": [1]}\n",
      "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": 1, \"reason\": "
      "\"x\"}}\n",
  };
  std::string all;
  std::vector<uint64_t> offsets;
  for (const std::string& line : lines) {
    offsets.push_back(base + all.size());
    all += line;
  }
  Send(all + "{\"event\": \"STOP\"}\n");
  RunUntil([&] { return !events_.empty(); });
  auto at = [&](size_t i) {
    return absl::StrCat("vm 3 qmp byte ", offsets[i], ": ");
  };
  EXPECT_THAT(
      errors_,
      ElementsAre(
          absl::InvalidArgumentError(at(0) + "not JSON: \"not json\""),
          absl::InvalidArgumentError(at(1) + "not a JSON object: \"[1, 2]\""),
          absl::InvalidArgumentError(at(2) +
                                     "JSON nested deeper than 32 levels: \"" +
                                     std::string(40, '[') + "\""),
          absl::InvalidArgumentError(
              at(3) + "a reply to id 99, which no command is waiting for: "
                      "\"{\\\"id\\\":99,\\\"return\\\":{}}\""),
          absl::InvalidArgumentError(
              at(4) + "a reply without a numeric id: \"{\\\"return\\\":{}}\""),
          absl::InvalidArgumentError(at(5) +
                                     "a reply without a numeric id: "
                                     "\"{\\\"id\\\":-1,\\\"return\\\":{}}\""),
          absl::InvalidArgumentError(
              at(6) + "neither a reply nor an event: \"{\\\"hello\\\": 1}\""),
          absl::InvalidArgumentError(at(7) +
                                     "an event whose name is not a string: "
                                     "\"{\\\"event\\\":7}\""),
          absl::InvalidArgumentError(
              at(8) + "event SHUTDOWN: data.reason is not a string: "
                      "\"{\\\"data\\\":{\\\"guest\\\":true},\\\"event\\\":"
                      "\\\"SHUTDOWN\\\"}\""),
          absl::InvalidArgumentError(
              at(9) + "event GUEST_PANICKED: data is not an object: \"[1]\""),
          absl::InvalidArgumentError(
              at(10) + "event SHUTDOWN: data.guest is not a boolean: "
                       "\"{\\\"data\\\":{\\\"guest\\\":1,\\\"reason\\\":"
                       "\\\"x\\\"},\\\"event\\\":\\\"SHUTDOWN\\\"}\"")));
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].kind, QmpEventKind::kStop);
  EXPECT_THAT(closed_, IsEmpty());
}

TEST_F(QmpClientTest, OverLongLineIsSkippedToItsNewline) {
  Negotiate();
  const uint64_t base = client_->bytes_read();
  // Exactly the bound is fine: an event padded with spaces.
  std::string longest = "{\"event\": \"STOP\"";
  longest += std::string(kMaxQmpLineBytes - longest.size() - 1, ' ');
  longest += "}";
  ASSERT_EQ(longest.size(), kMaxQmpLineBytes);
  Send(longest + "\n");
  RunUntil([&] { return events_.size() == 1; });
  EXPECT_THAT(errors_, IsEmpty());
  // One byte more is not, wherever the reads split it.
  const uint64_t start = base + longest.size() + 1;
  Send(std::string(kMaxQmpLineBytes + 1, 'x'));
  WaitForErrors(1);
  EXPECT_EQ(errors_[0], absl::OutOfRangeError(absl::StrCat(
                            "vm 3 qmp byte ", start + kMaxQmpLineBytes,
                            ": the line that starts at byte ", start,
                            " is longer than 65536 bytes")));
  Send(std::string(100000, 'y') + "\n{\"event\": \"RESUME\"}\n");
  RunUntil([&] { return events_.size() == 2; });
  EXPECT_EQ(events_[1].kind, QmpEventKind::kResume);
  EXPECT_EQ(errors_.size(), 1u);
}

TEST_F(QmpClientTest, ExecuteIsRefusedUntilReadyAndPastItsBounds) {
  EXPECT_EQ(client_->Execute("stop", nullptr, nullptr).status(),
            absl::FailedPreconditionError(
                "vm 3 qmp: cannot run stop: capabilities are not negotiated "
                "yet"));
  Negotiate();
  EXPECT_EQ(client_->Execute("", nullptr, nullptr).status(),
            absl::InvalidArgumentError(
                "vm 3 qmp: \"\" is not a QMP command name ([A-Za-z0-9_-], 1 "
                "to 128 bytes)"));
  EXPECT_EQ(client_->Execute("a b", nullptr, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->Execute("stop", nlohmann::json::array(), nullptr).status(),
            absl::InvalidArgumentError(
                "vm 3 qmp: the arguments of stop are not a JSON object: "
                "\"[]\""));
  for (size_t i = 0; i < kMaxQmpPendingCommands; ++i) {
    ASSERT_TRUE(client_->Execute("query-status", nullptr, nullptr).ok());
  }
  EXPECT_EQ(client_->Execute("stop", nullptr, nullptr).status(),
            absl::ResourceExhaustedError(
                "vm 3 qmp: cannot run stop: 64 commands already wait for "
                "their reply (the bound, kMaxQmpPendingCommands)"));
}

TEST_F(QmpClientTest, PeerClosingFailsWaitingCommands) {
  Negotiate();
  std::vector<absl::Status> results;
  ExecuteLine("stop", nullptr, [&](absl::StatusOr<nlohmann::json> r) {
    results.push_back(r.status());
  });
  Send(
      "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": "
      "\"host-qmp-quit\"}}\r\n{\"return\"");
  server_.reset();
  RunUntil([&] { return !closed_.empty(); });
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].reason, "host-qmp-quit");
  EXPECT_THAT(results, ElementsAre(absl::UnavailableError(
                           "vm 3 qmp: the connection ended before the reply "
                           "to stop (id 2)")));
  ASSERT_EQ(errors_.size(), 1u);
  EXPECT_EQ(errors_[0].code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(errors_[0].message()),
              ::testing::HasSubstr("the stream ended inside a line: "
                                   "\"{\\\"return\\\"\""));
  EXPECT_THAT(closed_, ElementsAre(absl::OkStatus()));
  EXPECT_TRUE(client_->closed());
  EXPECT_EQ(client_->Execute("stop", nullptr, nullptr).status(),
            absl::FailedPreconditionError(
                "vm 3 qmp: cannot run stop: the connection is closed"));
}

TEST_F(QmpClientTest, WrongGreetingClosesTheConnection) {
  Send("{\"return\": {}, \"id\": 1}\n");
  RunUntil([&] { return !closed_.empty(); });
  EXPECT_THAT(closed_, ElementsAre(absl::FailedPreconditionError(
                           "vm 3 qmp byte 0: expected the QMP greeting, got "
                           "\"{\\\"id\\\":1,\\\"return\\\":{}}\"")));
  EXPECT_EQ(ready_, 0);
}

TEST_F(QmpClientTest, RefusedCapabilitiesCloseTheConnection) {
  Send(kGreeting);
  RunUntil([this] { return PollSent(); });
  Send(
      "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}, "
      "\"id\": 1}\n");
  RunUntil([&] { return !closed_.empty(); });
  EXPECT_THAT(closed_,
              ElementsAre(absl::FailedPreconditionError(
                  "vm 3 qmp: capabilities negotiation failed: vm 3 qmp: "
                  "command qmp_capabilities (id 1) failed: GenericError: "
                  "no")));
  EXPECT_EQ(ready_, 0);
}

TEST_F(QmpClientTest, DrainReadsEverythingQueued) {
  Negotiate();
  std::string events;
  for (int i = 0; i < 2000; ++i) events += "{\"event\": \"STOP\"}\n";
  Send(events);
  server_.reset();
  client_->Drain();
  EXPECT_EQ(events_.size(), 2000u);
  EXPECT_THAT(closed_, ElementsAre(absl::OkStatus()));
}

TEST_F(QmpClientTest, ACallbackMayDestroyTheClient) {
  Negotiate();
  destroy_on_event_ = true;
  Send("{\"event\": \"STOP\"}\n{\"event\": \"RESUME\"}\n");
  RunUntil([&] { return client_ == nullptr; });
  ASSERT_TRUE(loop_->RunOnce(absl::ZeroDuration()).ok());
  EXPECT_EQ(events_.size(), 1u);
  EXPECT_THAT(closed_, IsEmpty());
}

TEST_F(QmpClientTest, WritesToAClosedPeerEndTheConnection) {
  Negotiate();
  std::vector<absl::Status> results;
  ::shutdown(server_.get(), SHUT_RD);
  ASSERT_TRUE(client_
                  ->Execute("stop", nullptr,
                            [&](absl::StatusOr<nlohmann::json> r) {
                              results.push_back(r.status());
                            })
                  .ok());
  RunUntil([&] { return !closed_.empty(); });
  ASSERT_EQ(closed_.size(), 1u);
  EXPECT_EQ(closed_[0].code(), absl::StatusCode::kFailedPrecondition)
      << closed_[0];
  EXPECT_THAT(std::string(closed_[0].message()),
              ::testing::StartsWith("vm 3 qmp: send"));
  EXPECT_EQ(results.size(), 1u);
}

}  // namespace
}  // namespace proctor::host
