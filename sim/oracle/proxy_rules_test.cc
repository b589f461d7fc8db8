#include "sim/oracle/proxy_rules.h"

#include <cstdint>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "sim/oracle/oracle.h"
#include "sim/oracle/testing/feed.h"

namespace proctor::sim {
namespace {

using oracle_testing::Feed;
using oracle_testing::K;
using oracle_testing::Msg;
using oracle_testing::ViolationMessage;
using oracle_testing::ViolationRule;

// The remote peer holds endpoint 1 (the proxy holds 2); the container peer
// holds endpoint 4 (the proxy holds 3). Counter 10. Proxy 1.
constexpr uint64_t kRemotePeer = 1, kRemoteEnd = 2, kContainerEnd = 3,
                   kContainerPeer = 4, kCounter = 10;

class OracleProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const RequestId r = f.Request();
    f.Fact(fact::ChannelCreated{K(kRemotePeer), K(kRemoteEnd)})
        .Fact(fact::ChannelCreated{K(kContainerEnd), K(kContainerPeer)})
        .In(input::AddProxy{r, ProxyId{1}, K(kContainerEnd), K(kRemoteEnd),
                            K(kCounter), "p"})
        .Out({action::WakeSourceAdded{K(kCounter), "p"},
              action::Reply{r, absl::OkStatus(), {}}});
  }
  // The proxy moves message `id`, already written by the remote peer, into
  // the container endpoint; `counter` is the counter's value after the add.
  void ForwardIn(uint64_t id, int64_t counter) {
    f.In(input::EndpointSignalled{K(kRemoteEnd), kSignalReadable})
        .Out(action::ReadMessage{K(kRemoteEnd)})
        .In(input::MessageRead{K(kRemoteEnd), ChannelStatus::kOk, Msg(id)})
        .Out(action::CounterAdd{K(kCounter), 1})
        .In(input::CounterAdded{K(kCounter), ChannelStatus::kOk, counter})
        .Out(action::WriteMessage{K(kContainerEnd), Msg(id)})
        .In(input::MessageWritten{K(kContainerEnd), ChannelStatus::kOk});
  }
  // The container handles one message, leaving the counter at `counter`.
  void Handle(int64_t counter) {
    f.Fact(fact::ContainerHandled{K(kCounter), counter})
        .In(input::CounterChanged{K(kCounter), counter});
  }
  // The proxy moves message `id` from the container endpoint to the remote.
  void ForwardOut(uint64_t id) {
    f.In(input::EndpointSignalled{K(kContainerEnd), kSignalReadable})
        .Out(action::ReadMessage{K(kContainerEnd)})
        .In(input::MessageRead{K(kContainerEnd), ChannelStatus::kOk, Msg(id)})
        .Out(action::WriteMessage{K(kRemoteEnd), Msg(id)})
        .In(input::MessageWritten{K(kRemoteEnd), ChannelStatus::kOk});
  }
  // Closes both endpoints and stops, removing the counter's wake source at
  // once, as for a drained counter.
  void Stop() {
    StopKeepingTheSource();
    f.Out(action::WakeSourceRemoved{K(kCounter)});
  }
  // Closes both endpoints and stops; the counter's wake source stays until
  // the counter drains (PX-4 with PW-4).
  void StopKeepingTheSource() {
    f.Out({action::CloseEndpoint{K(kContainerEnd)},
           action::CloseEndpoint{K(kRemoteEnd)},
           action::ProxyStopped{ProxyId{1}}});
  }
  // Proxy 1 forwards message 1 into the container (the counter reads 1),
  // then the remote closes and the proxy, drained, stops at 2 s, keeping
  // the source.
  void StopWithOneMessageUnhandled() {
    f.Fact(fact::PeerWrote{K(kRemotePeer), 1})
        .Fact(fact::PeerClosed{K(kRemotePeer)});
    ForwardIn(1, 1);
    f.Fact(fact::PeerReceived{K(kContainerPeer), 1})
        .At(2)
        .In(input::MessageRead{K(kRemoteEnd), ChannelStatus::kPeerClosed, {}});
    StopKeepingTheSource();
  }

  Oracle oracle;
  Feed f{oracle};
};

// ---- PX-1 and CH-1 ----

TEST_F(OracleProxyTest, PX1_ForwardingBothWaysInOrderIsAccepted) {
  f.Fact(fact::PeerWrote{K(kRemotePeer), 1})
      .Fact(fact::PeerWrote{K(kRemotePeer), 2})
      .Fact(fact::PeerWrote{K(kContainerPeer), 3});
  ForwardIn(1, 1);
  f.Fact(fact::PeerReceived{K(kContainerPeer), 1});
  ForwardIn(2, 2);
  ForwardOut(3);
  f.Fact(fact::PeerReceived{K(kRemotePeer), 3})
      .Fact(fact::PeerReceived{K(kContainerPeer), 2});
  Handle(1);
  Handle(0);
  f.Quiet().End();
  EXPECT_EQ(ViolationMessage(oracle), "");
  const OracleStats stats = oracle.stats();
  EXPECT_GT(stats.Checks("PX-1"), 0u);
  EXPECT_GT(stats.Checks("CH-1"), 0u);
  EXPECT_GT(stats.Checks("PX-2"), 0u);
}

TEST_F(OracleProxyTest, PX1_InventedMessageIsViolation) {
  f.Fact(fact::PeerWrote{K(kContainerPeer), 1})
      .In(input::MessageRead{K(kContainerEnd), ChannelStatus::kOk, Msg(1)})
      .Out(action::WriteMessage{K(kRemoteEnd), Msg(99)});
  EXPECT_EQ(ViolationRule(oracle), "PX-1");
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-1: proxy 1 wrote message 99 into endpoint 2, but the peer at "
            "endpoint 4 never wrote it, or it was already forwarded");
}

TEST_F(OracleProxyTest, PX1_DuplicatedMessageIsViolation) {
  f.Fact(fact::PeerWrote{K(kContainerPeer), 1});
  ForwardOut(1);
  f.Out(action::WriteMessage{K(kRemoteEnd), Msg(1)});
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-1: proxy 1 wrote message 1 into endpoint 2, but the peer at "
            "endpoint 4 never wrote it, or it was already forwarded");
}

TEST_F(OracleProxyTest, PX1_SkippedMessageIsViolation) {
  f.Fact(fact::PeerWrote{K(kContainerPeer), 1})
      .Fact(fact::PeerWrote{K(kContainerPeer), 2});
  ForwardOut(2);
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-1: proxy 1 wrote message 2 into endpoint 2 before message 1, "
            "which the peer at endpoint 4 wrote earlier and was never "
            "forwarded");
}

TEST_F(OracleProxyTest, CH1_ReceivedOutOfOrderIsViolation) {
  f.Fact(fact::PeerWrote{K(kContainerPeer), 1})
      .Fact(fact::PeerWrote{K(kContainerPeer), 2});
  ForwardOut(1);
  ForwardOut(2);
  f.Fact(fact::PeerReceived{K(kRemotePeer), 2});
  EXPECT_EQ(ViolationRule(oracle), "CH-1");
  EXPECT_EQ(ViolationMessage(oracle),
            "CH-1: the peer at endpoint 1 received message 2 but not message "
            "1, written into endpoint 2 before it");
}

TEST_F(OracleProxyTest, CH1_ReceivedTwiceIsViolation) {
  f.Fact(fact::PeerWrote{K(kContainerPeer), 1});
  ForwardOut(1);
  f.Fact(fact::PeerReceived{K(kRemotePeer), 1})
      .Fact(fact::PeerReceived{K(kRemotePeer), 1});
  EXPECT_EQ(ViolationMessage(oracle),
            "CH-1: the peer at endpoint 1 received message 1, which was never "
            "written into endpoint 2 or was already received");
}

TEST_F(OracleProxyTest, CH1_MessagePassedOverThenConfirmedIsViolation) {
  f.Fact(fact::PeerWrote{K(kContainerPeer), 1})
      .Fact(fact::PeerWrote{K(kContainerPeer), 2})
      .In(input::MessageRead{K(kContainerEnd), ChannelStatus::kOk, Msg(1)})
      .Out({action::WriteMessage{K(kRemoteEnd), Msg(1)},
            action::WriteMessage{K(kRemoteEnd), Msg(2)}})
      .Fact(fact::PeerReceived{K(kRemotePeer), 2})
      .In(input::MessageWritten{K(kRemoteEnd), ChannelStatus::kOk});
  EXPECT_EQ(ViolationMessage(oracle),
            "CH-1: message 1 was written into endpoint 2 (confirmed OK), but "
            "the peer at the other end received later messages instead of "
            "it");
}

TEST_F(OracleProxyTest, CH1_MessagePassedOverWhoseWriteFailedIsAccepted) {
  f.Fact(fact::PeerWrote{K(kContainerPeer), 1})
      .Fact(fact::PeerWrote{K(kContainerPeer), 2})
      .In(input::MessageRead{K(kContainerEnd), ChannelStatus::kOk, Msg(1)})
      .Out({action::WriteMessage{K(kRemoteEnd), Msg(1)},
            action::WriteMessage{K(kRemoteEnd), Msg(2)}})
      .Fact(fact::PeerReceived{K(kRemotePeer), 2})
      .In(input::MessageWritten{K(kRemoteEnd), ChannelStatus::kOutOfRange})
      .In(input::MessageWritten{K(kRemoteEnd), ChannelStatus::kOk});
  EXPECT_EQ(ViolationMessage(oracle), "");
}

// ---- PX-2 ----

TEST_F(OracleProxyTest, PX2_WriteBeforeTheCountCompletedIsViolation) {
  f.Fact(fact::PeerWrote{K(kRemotePeer), 1})
      .In(input::MessageRead{K(kRemoteEnd), ChannelStatus::kOk, Msg(1)})
      .Out({action::WriteMessage{K(kContainerEnd), Msg(1)},
            action::CounterAdd{K(kCounter), 1}});
  EXPECT_EQ(ViolationRule(oracle), "PX-2");
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-2: proxy 1 wrote message 1 into the container endpoint 3 "
            "before a counter_add for it completed");
}

TEST_F(OracleProxyTest, PX2_CountingAMessageLeavingTheContainerIsViolation) {
  f.Fact(fact::PeerWrote{K(kContainerPeer), 1})
      .In(input::MessageRead{K(kContainerEnd), ChannelStatus::kOk, Msg(1)})
      .Out(action::CounterAdd{K(kCounter), 1});
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-2: counter_add on counter 10 for a message read from container "
            "endpoint 3 (messages leaving the container are not counted)");
}

TEST_F(OracleProxyTest, PX2_AddOfMoreThanOneIsViolation) {
  f.Fact(fact::PeerWrote{K(kRemotePeer), 1})
      .In(input::MessageRead{K(kRemoteEnd), ChannelStatus::kOk, Msg(1)})
      .Out(action::CounterAdd{K(kCounter), 2});
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-2: counter_add of 2 on counter 10 of proxy 1; only +1 per "
            "message entering the container, or -1 to take back the count of "
            "one it could not deliver");
}

TEST_F(OracleProxyTest, PX2_TakeBackOfACountTheClosedContainerCannotUseIsOk) {
  // The count completes after the container closed its end: the message is
  // not written, its count is taken back, and the proxy then stops with the
  // counter drained, removing the source.
  f.Fact(fact::PeerWrote{K(kRemotePeer), 1})
      .In(input::EndpointSignalled{K(kRemoteEnd), kSignalReadable})
      .Out(action::ReadMessage{K(kRemoteEnd)})
      .In(input::MessageRead{K(kRemoteEnd), ChannelStatus::kOk, Msg(1)})
      .Out(action::CounterAdd{K(kCounter), 1})
      .Fact(fact::PeerClosed{K(kContainerPeer)})
      .In(input::EndpointSignalled{K(kContainerEnd), kSignalPeerClosed})
      .Out(action::ReadMessage{K(kContainerEnd)})
      .In(input::MessageRead{K(kContainerEnd), ChannelStatus::kPeerClosed, {}})
      .In(input::CounterAdded{K(kCounter), ChannelStatus::kOk, 1})
      .Out(action::CounterAdd{K(kCounter), -1})
      .In(input::CounterAdded{K(kCounter), ChannelStatus::kOk, 0});
  Stop();
  f.Quiet().End();
  EXPECT_EQ(ViolationMessage(oracle), "");
}

TEST_F(OracleProxyTest, PX2_TakeBackAfterAFailedWriteIntoTheContainerIsOk) {
  f.Fact(fact::PeerWrote{K(kRemotePeer), 1})
      .In(input::EndpointSignalled{K(kRemoteEnd), kSignalReadable})
      .Out(action::ReadMessage{K(kRemoteEnd)})
      .In(input::MessageRead{K(kRemoteEnd), ChannelStatus::kOk, Msg(1)})
      .Out(action::CounterAdd{K(kCounter), 1})
      .In(input::CounterAdded{K(kCounter), ChannelStatus::kOk, 1})
      .Out(action::WriteMessage{K(kContainerEnd), Msg(1)})
      .Fact(fact::PeerClosed{K(kContainerPeer)})
      .In(input::MessageWritten{K(kContainerEnd), ChannelStatus::kPeerClosed})
      .Out({action::CounterAdd{K(kCounter), -1},
            action::ReadMessage{K(kContainerEnd)}})
      .In(input::CounterAdded{K(kCounter), ChannelStatus::kOk, 0})
      .In(input::MessageRead{K(kContainerEnd), ChannelStatus::kPeerClosed, {}});
  Stop();
  f.Quiet().End();
  EXPECT_EQ(ViolationMessage(oracle), "");
  EXPECT_GT(oracle.stats().Checks("PX-2"), 0u);
}

TEST_F(OracleProxyTest, PX2_TakeBackWhileTheContainerIsOpenIsViolation) {
  f.Fact(fact::PeerWrote{K(kRemotePeer), 1})
      .In(input::MessageRead{K(kRemoteEnd), ChannelStatus::kOk, Msg(1)})
      .Out(action::CounterAdd{K(kCounter), 1})
      .In(input::CounterAdded{K(kCounter), ChannelStatus::kOk, 1})
      .Out(action::CounterAdd{K(kCounter), -1});
  EXPECT_EQ(ViolationRule(oracle), "PX-2");
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-2: counter_add of -1 on counter 10 of proxy 1 takes back a "
            "count, but no message it counted went undelivered (a count is "
            "taken back only for a message that cannot enter the container)");
}

TEST_F(OracleProxyTest, PX2_TakeBackOfADeliveredMessagesCountIsViolation) {
  // Written before the container closed: the message entered the container
  // (and is lost with its end); its count is not the proxy's to take back.
  f.Fact(fact::PeerWrote{K(kRemotePeer), 1});
  ForwardIn(1, 1);
  f.Fact(fact::PeerClosed{K(kContainerPeer)})
      .Out(action::CounterAdd{K(kCounter), -1});
  EXPECT_EQ(ViolationRule(oracle), "PX-2");
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-2: counter_add of -1 on counter 10 of proxy 1 takes back a "
            "count, but no message it counted went undelivered (a count is "
            "taken back only for a message that cannot enter the container)");
}

TEST_F(OracleProxyTest, PX2_StopWithItsCountInFlightIsViolation) {
  f.Fact(fact::PeerWrote{K(kRemotePeer), 1})
      .In(input::MessageRead{K(kRemoteEnd), ChannelStatus::kOk, Msg(1)})
      .Out(action::CounterAdd{K(kCounter), 1})
      .Fact(fact::PeerClosed{K(kContainerPeer)})
      .In(input::MessageRead{K(kContainerEnd), ChannelStatus::kPeerClosed, {}});
  StopKeepingTheSource();
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-2: proxy 1 stopped with its counter_add of +1 still in flight "
            "on counter 10, which can then never drain");
}

TEST_F(OracleProxyTest,
       PX2_StopWithoutTakingBackAFailedWritesCountIsViolation) {
  f.Fact(fact::PeerWrote{K(kRemotePeer), 1})
      .In(input::MessageRead{K(kRemoteEnd), ChannelStatus::kOk, Msg(1)})
      .Out(action::CounterAdd{K(kCounter), 1})
      .In(input::CounterAdded{K(kCounter), ChannelStatus::kOk, 1})
      .Out(action::WriteMessage{K(kContainerEnd), Msg(1)})
      .Fact(fact::PeerClosed{K(kContainerPeer)})
      .In(input::MessageWritten{K(kContainerEnd), ChannelStatus::kPeerClosed})
      .In(input::MessageRead{K(kContainerEnd), ChannelStatus::kPeerClosed, {}});
  StopKeepingTheSource();
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-2: proxy 1 stopped with 1 counted messages whose write into "
            "the container failed and whose count was not taken back on "
            "counter 10, which can then never drain");
}

TEST_F(OracleProxyTest, PX2_StopWithACountNeitherUsedNorTakenBackIsViolation) {
  f.Fact(fact::PeerWrote{K(kRemotePeer), 1})
      .In(input::MessageRead{K(kRemoteEnd), ChannelStatus::kOk, Msg(1)})
      .Out(action::CounterAdd{K(kCounter), 1})
      .Fact(fact::PeerClosed{K(kContainerPeer)})
      .In(input::CounterAdded{K(kCounter), ChannelStatus::kOk, 1})
      .In(input::MessageRead{K(kContainerEnd), ChannelStatus::kPeerClosed, {}});
  StopKeepingTheSource();
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-2: proxy 1 stopped with 1 counted messages neither written "
            "into the container nor taken back on counter 10, which can then "
            "never drain");
}

TEST_F(OracleProxyTest, PX2_MoreUnhandledMessagesThanTheCounterIsViolation) {
  f.Fact(fact::PeerWrote{K(kRemotePeer), 1});
  // The world reports the counter at 0 after the add: one write is already
  // more than the counter admits.
  f.In(input::MessageRead{K(kRemoteEnd), ChannelStatus::kOk, Msg(1)})
      .Out(action::CounterAdd{K(kCounter), 1})
      .In(input::CounterAdded{K(kCounter), ChannelStatus::kOk, 0})
      .Out(action::WriteMessage{K(kContainerEnd), Msg(1)});
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-2: 1 messages written into container endpoint 3 are "
            "unhandled, but counter 10 reads 0");
}

TEST_F(OracleProxyTest, PX2_HandledCountBelowUnhandledIsViolation) {
  f.Fact(fact::PeerWrote{K(kRemotePeer), 1})
      .Fact(fact::PeerWrote{K(kRemotePeer), 2});
  ForwardIn(1, 1);
  ForwardIn(2, 2);
  f.Fact(fact::ContainerHandled{K(kCounter), 0});
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-2: after the container handled a message, counter 10 reads 0 "
            "but 1 messages written into the container are unhandled");
}

TEST_F(OracleProxyTest, PX2_CounterNotDrainedAtTheEndIsViolation) {
  f.Fact(fact::PeerWrote{K(kRemotePeer), 1});
  ForwardIn(1, 1);
  f.Quiet().End();
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-2: counter 10 never drained: it reads 1 with 1 messages "
            "unhandled when the run ended");
}

TEST_F(OracleProxyTest, PX2_CounterOfClosedContainerSideIsNotJudgedAtEnd) {
  f.Fact(fact::PeerWrote{K(kRemotePeer), 1});
  ForwardIn(1, 1);
  f.Fact(fact::PeerClosed{K(kContainerPeer)})
      .In(input::EndpointSignalled{K(kContainerEnd), kSignalPeerClosed})
      .Out(action::ReadMessage{K(kContainerEnd)})
      .In(input::MessageRead{K(kContainerEnd), ChannelStatus::kPeerClosed, {}});
  // The message was lost with the container's end: the counter never
  // drains, so the source stays (PX-4) and that is not judged either.
  StopKeepingTheSource();
  f.Quiet().End();
  EXPECT_EQ(ViolationMessage(oracle), "");
}

// ---- PX-3 ----

TEST_F(OracleProxyTest, PX3_DrainThenStopIsAccepted) {
  f.Fact(fact::PeerWrote{K(kRemotePeer), 1})
      .Fact(fact::PeerWrote{K(kRemotePeer), 2})
      .Fact(fact::PeerClosed{K(kRemotePeer)});
  ForwardIn(1, 1);
  ForwardIn(2, 2);
  f.In(input::MessageRead{K(kRemoteEnd), ChannelStatus::kPeerClosed, {}});
  StopKeepingTheSource();
  f.Fact(fact::PeerReceived{K(kContainerPeer), 1})
      .Fact(fact::PeerReceived{K(kContainerPeer), 2});
  Handle(1);
  Handle(0);
  f.Out(action::WakeSourceRemoved{K(kCounter)}).Quiet().End();
  EXPECT_EQ(ViolationMessage(oracle), "");
  EXPECT_GT(oracle.stats().Checks("PX-3"), 0u);
  EXPECT_GT(oracle.stats().Checks("PX-4"), 0u);
}

TEST_F(OracleProxyTest, PX3_StopWithoutDrainingIsViolation) {
  f.At(1)
      .Fact(fact::PeerWrote{K(kRemotePeer), 1})
      .Fact(fact::PeerWrote{K(kRemotePeer), 2})
      .Fact(fact::PeerClosed{K(kRemotePeer)});
  ForwardIn(1, 1);
  f.In(input::EndpointSignalled{K(kRemoteEnd),
                                kSignalReadable | kSignalPeerClosed});
  Stop();
  EXPECT_EQ(ViolationRule(oracle), "PX-3");
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-3: proxy 1 stopped with 1 messages that the peer at endpoint 1 "
            "wrote before closing at 1.000000000s not forwarded into endpoint "
            "3 (first: message 2)");
}

TEST_F(OracleProxyTest, PX3_StopWhenBothPeersClosedIsAccepted) {
  f.Fact(fact::PeerWrote{K(kRemotePeer), 1})
      .Fact(fact::PeerClosed{K(kRemotePeer)})
      .Fact(fact::PeerClosed{K(kContainerPeer)})
      .In(input::EndpointSignalled{K(kContainerEnd), kSignalPeerClosed});
  Stop();
  f.Quiet().End();
  EXPECT_EQ(ViolationMessage(oracle), "");
}

TEST_F(OracleProxyTest, PX3_ProxyThatFailedMayStopWithoutDraining) {
  f.Fact(fact::PeerWrote{K(kContainerPeer), 1})
      .Fact(fact::PeerWrote{K(kContainerPeer), 2})
      .Fact(fact::PeerClosed{K(kContainerPeer)});
  ForwardOut(1);
  f.In(input::MessageRead{K(kContainerEnd), ChannelStatus::kOk, Msg(2)})
      .Out(action::WriteMessage{K(kRemoteEnd), Msg(2)})
      .In(input::MessageWritten{K(kRemoteEnd), ChannelStatus::kShouldWait});
  Stop();
  EXPECT_EQ(ViolationMessage(oracle), "");
}

TEST_F(OracleProxyTest, PX3_StopBeforeClosingEndpointsIsViolation) {
  f.In(input::EndpointSignalled{K(kRemoteEnd), kSignalPeerClosed})
      .Out({action::CloseEndpoint{K(kContainerEnd)},
            action::ProxyStopped{ProxyId{1}}});
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-3: proxy_stopped for proxy 1 before close_endpoint of its "
            "endpoint 2");
}

TEST_F(OracleProxyTest, PX3_StoppedTwiceIsViolation) {
  f.At(2).In(input::EndpointSignalled{K(kRemoteEnd), kSignalPeerClosed});
  Stop();
  f.Out(action::ProxyStopped{ProxyId{1}});
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-3: proxy_stopped for proxy 1 twice (first at 2.000000000s)");
}

TEST_F(OracleProxyTest, PX3_WriteAfterStopIsViolation) {
  f.Fact(fact::PeerWrote{K(kContainerPeer), 1})
      .At(2)
      .In(input::EndpointSignalled{K(kRemoteEnd), kSignalPeerClosed});
  Stop();
  f.In(input::MessageRead{K(kContainerEnd), ChannelStatus::kOk, Msg(1)})
      .Out(action::WriteMessage{K(kRemoteEnd), Msg(1)});
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-3: write_message into endpoint 2 of proxy 1 after its "
            "proxy_stopped at 2.000000000s");
}

TEST_F(OracleProxyTest, PX3_ReadAfterStopIsViolation) {
  f.At(2).In(input::EndpointSignalled{K(kRemoteEnd), kSignalPeerClosed});
  Stop();
  f.In(input::EndpointSignalled{K(kContainerEnd), kSignalReadable})
      .Out(action::ReadMessage{K(kContainerEnd)});
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-3: read_message on endpoint 3 of proxy 1 after its "
            "proxy_stopped at 2.000000000s");
}

TEST_F(OracleProxyTest, PX3_PeerClosedButProxyNeverStoppedIsViolation) {
  f.At(3)
      .Fact(fact::PeerClosed{K(kRemotePeer)})
      .In(input::EndpointSignalled{K(kRemoteEnd), kSignalPeerClosed})
      .Out(action::ReadMessage{K(kRemoteEnd)})
      .At(60)
      .Quiet()
      .End();
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-3: the peer at endpoint 1 closed at 3.000000000s, but proxy 1 "
            "never stopped");
}

// ---- PX-4 ----

TEST_F(OracleProxyTest, PX4_StopWithDrainedCounterKeepingTheSourceIsViolation) {
  f.At(2)
      .In(input::EndpointSignalled{K(kRemoteEnd), kSignalPeerClosed})
      .Out({action::CloseEndpoint{K(kContainerEnd)},
            action::CloseEndpoint{K(kRemoteEnd)},
            action::ProxyStopped{ProxyId{1}}})
      .At(3)
      .In(input::CounterChanged{K(kCounter), 0});
  EXPECT_EQ(ViolationRule(oracle), "PX-4");
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-4: proxy 1 stopped with its counter 10 drained (it reads 0), "
            "but the counter's wake source was not removed in the same step "
            "(step of endpoint_signalled #6 at 2.000000000s)");
}

TEST_F(OracleProxyTest, PX4_SourceRemovedOnceTheCounterDrainsIsAccepted) {
  StopWithOneMessageUnhandled();
  f.At(3);
  Handle(0);
  f.Out(action::WakeSourceRemoved{K(kCounter)}).Quiet().End();
  EXPECT_EQ(ViolationMessage(oracle), "");
  EXPECT_GE(oracle.stats().Checks("PX-4"), 3u);
}

TEST_F(OracleProxyTest, PX4_SourceNotRemovedAfterTheCounterDrainedIsViolation) {
  StopWithOneMessageUnhandled();
  f.At(3);
  Handle(0);
  f.At(4).In(input::EndpointSignalled{K(kContainerEnd), kSignalPeerClosed});
  EXPECT_EQ(ViolationRule(oracle), "PX-4");
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-4: counter 10 of proxy 1 (stopped at 2.000000000s) drained (it "
            "reads 0), but its wake source was not removed when the runtime "
            "was told (step of counter_changed #21 at 3.000000000s)");
}

TEST_F(OracleProxyTest, PX4_SourceRemovedWhileTheCounterIsPositiveIsViolation) {
  StopWithOneMessageUnhandled();
  f.Out(action::WakeSourceRemoved{K(kCounter)});
  EXPECT_EQ(ViolationRule(oracle), "PX-4");
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-4: the wake source of counter 10 of proxy 1 (stopped at "
            "2.000000000s) was removed while the counter reads 1: messages "
            "that entered the container may be unhandled");
}

TEST_F(OracleProxyTest,
       PX4_SourceRemovedBeforeTheLastMessageIsHandledIsViolation) {
  f.Fact(fact::PeerWrote{K(kRemotePeer), 1})
      .Fact(fact::PeerWrote{K(kRemotePeer), 2})
      .Fact(fact::PeerClosed{K(kRemotePeer)});
  ForwardIn(1, 1);
  ForwardIn(2, 2);
  f.At(2).In(input::MessageRead{K(kRemoteEnd), ChannelStatus::kPeerClosed, {}});
  StopKeepingTheSource();
  f.Fact(fact::PeerReceived{K(kContainerPeer), 1})
      .Fact(fact::PeerReceived{K(kContainerPeer), 2});
  Handle(1);
  f.Out(action::WakeSourceRemoved{K(kCounter)});
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-4: the wake source of counter 10 of proxy 1 (stopped at "
            "2.000000000s) was removed while the counter reads 1: messages "
            "that entered the container may be unhandled");
}

TEST_F(OracleProxyTest, PX4_ClientMayRemoveAStoppedProxysSource) {
  StopWithOneMessageUnhandled();
  const RequestId r = f.Request();
  f.In(input::RemoveWakeSource{r, K(kCounter)})
      .Out({action::WakeSourceRemoved{K(kCounter)},
            action::Reply{r, absl::OkStatus(), {}}});
  Handle(0);
  EXPECT_EQ(ViolationMessage(oracle), "");
}

TEST_F(OracleProxyTest, PX4_ShutdownMayRemoveAStoppedProxysSource) {
  StopWithOneMessageUnhandled();
  const RequestId r = f.Request();
  f.In(input::Shutdown{r})
      .Out({action::WakeSourceRemoved{K(kCounter)},
            action::ReleaseHostResources{}, action::ShutdownComplete{},
            action::Reply{r, absl::OkStatus(), {}}});
  Handle(0);
  f.End();
  EXPECT_EQ(ViolationMessage(oracle), "");
}

TEST_F(OracleProxyTest, PX4_ANewProxyOnTheCounterTakesItsSourceOver) {
  StopWithOneMessageUnhandled();
  const RequestId r = f.Request();
  f.Fact(fact::ChannelCreated{K(20), K(21)})
      .Fact(fact::ChannelCreated{K(22), K(23)})
      .In(input::AddProxy{r, ProxyId{2}, K(20), K(22), K(kCounter), "q"})
      .Out({action::WakeSourceAdded{K(kCounter), "q"},
            action::Reply{r, absl::OkStatus(), {}}});
  // The new proxy's source stays while it runs, drained or not.
  Handle(0);
  f.Quiet().End();
  EXPECT_EQ(ViolationMessage(oracle), "");
}

TEST_F(OracleProxyTest, PX4_SourceNeverRemovedIsViolationAtTheEnd) {
  StopWithOneMessageUnhandled();
  // The container handles the message, but the runtime is never told.
  f.At(3).Fact(fact::ContainerHandled{K(kCounter), 0}).Quiet().End();
  EXPECT_EQ(ViolationMessage(oracle),
            "PX-4: proxy 1 stopped at 2.000000000s, but the wake source of "
            "its counter 10 was never removed (the counter reads 0)");
}

TEST_F(OracleProxyTest, PX4_ProxyRefusedInItsAddStepNeedsNoCleanup) {
  // A second proxy whose wake source could not be registered is taken down
  // in the step that added it.
  const RequestId r = f.Request();
  f.In(input::AddProxy{r, ProxyId{2}, K(20), K(21), K(22), "q"})
      .Out({action::CloseEndpoint{K(20)}, action::CloseEndpoint{K(21)},
            action::ProxyStopped{ProxyId{2}},
            action::Reply{r, absl::ResourceExhaustedError("full"), {}}})
      .In(input::CounterChanged{K(kCounter), 0});
  EXPECT_EQ(ViolationMessage(oracle), "");
}

}  // namespace
}  // namespace proctor::sim
