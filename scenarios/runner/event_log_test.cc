#include "scenarios/runner/event_log.h"

#include "gtest/gtest.h"
#include "runtime/model/action.h"
#include "runtime/model/input.h"
#include "sim/observer.h"

namespace proctor::scenario {
namespace {

using nlohmann::json;

TEST(MatchesWhereTest, MembersMustBePresentAndEqual) {
  const json value = {{"kind", "on_died"}, {"cid", 3}, {"reason", "CRASH"}};
  EXPECT_TRUE(MatchesWhere(json::object(), value));
  EXPECT_TRUE(MatchesWhere({{"cid", 3}}, value));
  EXPECT_TRUE(MatchesWhere({{"cid", 3}, {"reason", "CRASH"}}, value));
  EXPECT_FALSE(MatchesWhere({{"cid", 4}}, value));
  EXPECT_FALSE(MatchesWhere({{"reason", "HANGUP"}}, value));
  EXPECT_FALSE(MatchesWhere({{"missing", 1}}, value));
  EXPECT_FALSE(MatchesWhere({{"cid", "3"}}, value));
}

TEST(MatchesWhereTest, ObjectsMatchAsSubsetsAndTildeMeansContains) {
  const json value = {
      {"kind", "reply"},
      {"status",
       {{"code", "FAILED_PRECONDITION"}, {"message", "already started"}}}};
  EXPECT_TRUE(
      MatchesWhere({{"status", {{"code", "FAILED_PRECONDITION"}}}}, value));
  EXPECT_TRUE(MatchesWhere({{"status", {{"message", "~started"}}}}, value));
  EXPECT_FALSE(MatchesWhere({{"status", {{"message", "~stopped"}}}}, value));
  EXPECT_FALSE(MatchesWhere({{"status", "OK"}}, value));
  // Without the tilde a string is compared whole.
  EXPECT_FALSE(MatchesWhere({{"status", {{"message", "started"}}}}, value));
}

TEST(MatchesWhereTest, NumbersCompareByValue) {
  EXPECT_TRUE(MatchesWhere(json(3), json(3u)));
  EXPECT_TRUE(MatchesWhere(json(3.0), json(3)));
  EXPECT_FALSE(MatchesWhere(json(-1), json(UINT64_MAX)));
  EXPECT_TRUE(MatchesWhere(json(true), json(true)));
  EXPECT_FALSE(MatchesWhere(json(true), json(1)));
}

TEST(EventLogTest, RepliesCarryTheRequestTheyAnswer) {
  EventLog log;
  log.OnInput(1, Instant::FromNanos(5), input::StartVm{RequestId{7}, Cid{3}});
  log.OnAction(2, Instant::FromNanos(5),
               action::Reply{RequestId{7}, absl::OkStatus(), {}});
  ASSERT_EQ(log.events().size(), 2u);
  const LoggedEvent& reply = log.events()[1];
  EXPECT_EQ(reply.dir, "out");
  EXPECT_EQ(reply.value["to"], "start_vm");
  EXPECT_EQ(reply.value["input"], json({{"cid", 3}}));
  EventPattern pattern{
      "reply",
      {{"to", "start_vm"}, {"input", {{"cid", 3}}}, {"status", "OK"}},
      {}};
  EXPECT_TRUE(Matches(pattern, reply));
  EXPECT_FALSE(Matches(pattern, log.events()[0]));
  EXPECT_EQ(DescribeEvent(reply),
            "reply {\"request\":7,\"status\":\"OK\",\"to\":\"start_vm\"} at "
            "0.000000005s (event 2)");
}

TEST(EventLogTest, ListenerSeesEachEventOnceInOrder) {
  EventLog log;
  std::vector<uint64_t> seen;
  log.set_listener([&](const LoggedEvent& e) { seen.push_back(e.seq); });
  log.OnInput(1, Instant{}, input::KillVm{RequestId{1}, Cid{3}});
  log.OnAction(2, Instant{}, action::Reply{RequestId{1}, absl::OkStatus(), {}});
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2}));
}

TEST(EventLogTest, PX1_ProxyEndpointsAndCountersAreNamedByProxyAndSide) {
  EventLog log;
  // The world's koids: remote peer end 11, the proxy's remote end 12,
  // container peer end 14, the proxy's container end 13, counter 15.
  log.OnFact(1, Instant{},
             sim::fact::ChannelCreated{EndpointId{11}, EndpointId{12}});
  log.OnFact(2, Instant{},
             sim::fact::ChannelCreated{EndpointId{14}, EndpointId{13}});
  log.OnInput(3, Instant{},
              input::AddProxy{RequestId{1}, ProxyId{7}, EndpointId{13},
                              EndpointId{12}, CounterId{15}, "p"});
  log.OnFact(4, Instant{}, sim::fact::PeerWrote{EndpointId{11}, 1});
  log.OnAction(5, Instant{}, action::ReadMessage{EndpointId{12}});
  log.OnAction(6, Instant{}, action::CounterAdd{CounterId{15}, 1});
  log.OnFact(7, Instant{}, sim::fact::PeerReceived{EndpointId{14}, 1});
  const auto& e = log.events();
  EXPECT_EQ(e[3].value["proxy"], 7);
  EXPECT_EQ(e[3].value["side"], "remote");
  EXPECT_EQ(e[3].value["end"], "peer");
  EXPECT_EQ(e[4].value["side"], "remote");
  EXPECT_EQ(e[4].value["end"], "proxy");
  EXPECT_EQ(e[5].value["proxy"], 7);
  EXPECT_EQ(e[6].value["side"], "container");
  EXPECT_EQ(e[6].value["end"], "peer");
  EXPECT_TRUE(Matches(
      EventPattern{"peer_received", {{"proxy", 7}, {"side", "container"}}, {}},
      e[6]));
}

}  // namespace
}  // namespace proctor::scenario
