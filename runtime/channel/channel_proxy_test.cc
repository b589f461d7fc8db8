#include "runtime/channel/channel_proxy.h"

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/channel/channel.h"
#include "runtime/channel/counter.h"
#include "runtime/channel/koid_allocator.h"
#include "runtime/model/testing/action_matchers.h"

namespace proctor {
namespace {

using ::proctor::action_testing::TakeActions;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr EndpointId kC{10};  // container endpoint
constexpr EndpointId kR{20};  // remote endpoint
constexpr CounterId kK{30};
constexpr ProxyId kProxy{1};

Message Msg(std::string bytes) { return Message{std::move(bytes), {}}; }

class ChannelProxyTest : public ::testing::Test {
 protected:
  std::vector<std::string> Signal(EndpointId e, Signals s) {
    proxy_.OnEndpointSignalled(now_, input::EndpointSignalled{e, s}, out_);
    return TakeActions(out_);
  }
  std::vector<std::string> Read(EndpointId e, ChannelStatus status,
                                Message m = {}) {
    proxy_.OnMessageRead(now_, input::MessageRead{e, status, std::move(m)},
                         out_);
    return TakeActions(out_);
  }
  std::vector<std::string> ReadOk(EndpointId e, std::string bytes) {
    return Read(e, ChannelStatus::kOk, Msg(std::move(bytes)));
  }
  std::vector<std::string> Added(ChannelStatus status, int64_t value,
                                 CounterId counter = kK) {
    proxy_.OnCounterAdded(now_, input::CounterAdded{counter, status, value},
                          out_);
    return TakeActions(out_);
  }
  std::vector<std::string> Written(EndpointId e, ChannelStatus status) {
    proxy_.OnMessageWritten(now_, input::MessageWritten{e, status}, out_);
    return TakeActions(out_);
  }

  Instant now_ = Instant::FromNanos(1000);
  ChannelProxy proxy_{kProxy, kC, kR, kK, "fidl"};
  ActionList out_;
};

MATCHER(IsStopSequence,
        "closes the container endpoint, then the remote one, "
        "then announces proxy_stopped") {
  return arg == std::vector<std::string>{"close_endpoint endpoint=10",
                                         "close_endpoint endpoint=20",
                                         "proxy_stopped proxy=1"};
}

TEST_F(ChannelProxyTest, PX1_KnowsItsEndpointsCounterAndName) {
  ChannelProxy from_input(input::AddProxy{RequestId{5}, ProxyId{7},
                                          EndpointId{1}, EndpointId{2},
                                          CounterId{3}, "net"});
  EXPECT_EQ(from_input.id(), ProxyId{7});
  EXPECT_EQ(from_input.container_endpoint(), EndpointId{1});
  EXPECT_EQ(from_input.remote_endpoint(), EndpointId{2});
  EXPECT_EQ(from_input.counter(), CounterId{3});
  EXPECT_EQ(from_input.name(), "net");
  EXPECT_FALSE(from_input.stopped());
}

TEST_F(ChannelProxyTest, PX2_RemoteMessageIsCountedBeforeItIsWritten) {
  EXPECT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  EXPECT_THAT(ReadOk(kR, "hi"), ElementsAre("counter_add counter=30 delta=+1"));
  EXPECT_THAT(
      Added(ChannelStatus::kOk, 1),
      ElementsAre("write_message endpoint=10 message=\"hi\" handles=[]"));
  EXPECT_THAT(Written(kC, ChannelStatus::kOk),
              ElementsAre("read_message endpoint=20"));
  EXPECT_THAT(Read(kR, ChannelStatus::kShouldWait), IsEmpty());
  EXPECT_EQ(proxy_.forwarded_to_container(), 1u);
  EXPECT_EQ(proxy_.forwarded_to_remote(), 0u);
  EXPECT_FALSE(proxy_.stopped());
}

TEST_F(ChannelProxyTest, PX2_NoWriteUntilTheCounterAddSucceeds) {
  ASSERT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  ASSERT_THAT(ReadOk(kR, "hi"), ElementsAre("counter_add counter=30 delta=+1"));
  // Nothing but counter_added(30, OK) releases the write.
  EXPECT_THAT(Signal(kR, kSignalReadable), IsEmpty());
  EXPECT_THAT(Written(kC, ChannelStatus::kOk), IsEmpty());
  EXPECT_THAT(Added(ChannelStatus::kOk, 1, CounterId{31}), IsEmpty());
  EXPECT_THAT(ReadOk(kR, "unasked"), IsEmpty());
  EXPECT_EQ(proxy_.forwarded_to_container(), 0u);
  EXPECT_THAT(
      Added(ChannelStatus::kOk, 1),
      ElementsAre("write_message endpoint=10 message=\"hi\" handles=[]"));
}

TEST_F(ChannelProxyTest, PX2_ContainerToRemoteDoesNotTouchTheCounter) {
  EXPECT_THAT(Signal(kC, kSignalReadable),
              ElementsAre("read_message endpoint=10"));
  EXPECT_THAT(
      ReadOk(kC, "out"),
      ElementsAre("write_message endpoint=20 message=\"out\" handles=[]"));
  EXPECT_THAT(Written(kR, ChannelStatus::kOk),
              ElementsAre("read_message endpoint=10"));
  EXPECT_THAT(Read(kC, ChannelStatus::kShouldWait), IsEmpty());
  EXPECT_EQ(proxy_.forwarded_to_remote(), 1u);
  EXPECT_EQ(proxy_.forwarded_to_container(), 0u);
}

TEST_F(ChannelProxyTest, PX3_CounterAddFailureStopsAtOnce) {
  ASSERT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  ASSERT_THAT(ReadOk(kR, "hi"), ElementsAre("counter_add counter=30 delta=+1"));
  EXPECT_THAT(Added(ChannelStatus::kOutOfRange, 0), IsStopSequence());
  EXPECT_TRUE(proxy_.stopped());
  EXPECT_EQ(proxy_.stop_status(),
            absl::InternalError(
                "proxy 1 'fidl': counter 30 add failed: OUT_OF_RANGE"));
}

TEST_F(ChannelProxyTest, PX1_ForwardsMessagesWholeWithTheirHandles) {
  Message big{std::string(kMaxMessageBytes, 'z'),
              std::vector<HandleId>(kMaxMessageHandles, HandleId{77})};
  ASSERT_THAT(Signal(kC, kSignalReadable),
              ElementsAre("read_message endpoint=10"));
  proxy_.OnMessageRead(now_, input::MessageRead{kC, ChannelStatus::kOk, big},
                       out_);
  ASSERT_EQ(out_.size(), 1u);
  const auto* write = std::get_if<action::WriteMessage>(&out_[0]);
  ASSERT_NE(write, nullptr);
  EXPECT_EQ(write->endpoint, kR);
  EXPECT_EQ(write->message, big);
}

TEST_F(ChannelProxyTest, PX1_DrainsABurstOfThreeInOneWakeUp) {
  std::vector<std::string> all = Signal(kR, kSignalReadable);
  for (const char* bytes : {"a", "b", "c"}) {
    for (const std::string& s : ReadOk(kR, bytes)) all.push_back(s);
    for (const std::string& s : Added(ChannelStatus::kOk, 1)) all.push_back(s);
    for (const std::string& s : Written(kC, ChannelStatus::kOk)) {
      all.push_back(s);
    }
  }
  for (const std::string& s : Read(kR, ChannelStatus::kShouldWait)) {
    all.push_back(s);
  }
  EXPECT_THAT(
      all, ElementsAre("read_message endpoint=20",  //
                       "counter_add counter=30 delta=+1",
                       "write_message endpoint=10 message=\"a\" handles=[]",  //
                       "read_message endpoint=20",                            //
                       "counter_add counter=30 delta=+1",
                       "write_message endpoint=10 message=\"b\" handles=[]",  //
                       "read_message endpoint=20",                            //
                       "counter_add counter=30 delta=+1",
                       "write_message endpoint=10 message=\"c\" handles=[]",  //
                       "read_message endpoint=20"));
  EXPECT_EQ(proxy_.forwarded_to_container(), 3u);
}

TEST_F(ChannelProxyTest, PX1_OneReadInFlightPerDirection) {
  EXPECT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  EXPECT_THAT(Signal(kR, kSignalReadable), IsEmpty());
  // The other direction is independent.
  EXPECT_THAT(Signal(kC, kSignalReadable),
              ElementsAre("read_message endpoint=10"));
  EXPECT_THAT(Signal(kC, kSignalReadable), IsEmpty());
}

TEST_F(ChannelProxyTest, PX1_SignalDuringAReadIsNotLostToShouldWait) {
  ASSERT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  // The read may have run before the message this signal announces arrived.
  ASSERT_THAT(Signal(kR, kSignalReadable), IsEmpty());
  EXPECT_THAT(Read(kR, ChannelStatus::kShouldWait),
              ElementsAre("read_message endpoint=20"));
  EXPECT_THAT(Read(kR, ChannelStatus::kShouldWait), IsEmpty());
  EXPECT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
}

TEST_F(ChannelProxyTest, PX1_SignalsWithoutReadableOrPeerClosedAreIgnored) {
  EXPECT_THAT(Signal(kR, kSignalNone), IsEmpty());
  EXPECT_THAT(Signal(kC, kSignalUser0 | kSignalPositive), IsEmpty());
}

TEST_F(ChannelProxyTest, PX1_InputsForOtherIdsAreIgnored) {
  EXPECT_THAT(Signal(EndpointId{99}, kSignalReadable), IsEmpty());
  ASSERT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  EXPECT_THAT(ReadOk(EndpointId{99}, "x"), IsEmpty());
  EXPECT_THAT(Written(EndpointId{99}, ChannelStatus::kOk), IsEmpty());
  EXPECT_THAT(ReadOk(kR, "x"), ElementsAre("counter_add counter=30 delta=+1"));
}

TEST_F(ChannelProxyTest, PX1_OrderIsKeptPerDirectionWhenDirectionsInterleave) {
  std::vector<std::string> all;
  auto add = [&](std::vector<std::string> step) {
    all.insert(all.end(), step.begin(), step.end());
  };
  add(Signal(kR, kSignalReadable));
  add(Signal(kC, kSignalReadable));
  add(ReadOk(kC, "c1"));
  add(ReadOk(kR, "r1"));
  add(Written(kR, ChannelStatus::kOk));
  add(Added(ChannelStatus::kOk, 1));
  add(ReadOk(kC, "c2"));
  add(Written(kC, ChannelStatus::kOk));
  add(ReadOk(kR, "r2"));
  add(Written(kR, ChannelStatus::kOk));
  add(Read(kC, ChannelStatus::kShouldWait));
  add(Added(ChannelStatus::kOk, 2));
  add(Written(kC, ChannelStatus::kOk));
  add(Read(kR, ChannelStatus::kShouldWait));
  EXPECT_THAT(
      all,
      ElementsAre("read_message endpoint=20",                             //
                  "read_message endpoint=10",                             //
                  "write_message endpoint=20 message=\"c1\" handles=[]",  //
                  "counter_add counter=30 delta=+1",                      //
                  "read_message endpoint=10",                             //
                  "write_message endpoint=10 message=\"r1\" handles=[]",  //
                  "write_message endpoint=20 message=\"c2\" handles=[]",  //
                  "read_message endpoint=20",                             //
                  "counter_add counter=30 delta=+1",                      //
                  "read_message endpoint=10",                             //
                  "write_message endpoint=10 message=\"r2\" handles=[]",  //
                  "read_message endpoint=20"));
  EXPECT_EQ(proxy_.forwarded_to_container(), 2u);
  EXPECT_EQ(proxy_.forwarded_to_remote(), 2u);
}

TEST_F(ChannelProxyTest, PX3_BurstThenCloseForwardsEverythingThenClosesBoth) {
  std::vector<std::string> all =
      Signal(kR, kSignalReadable | kSignalPeerClosed);
  for (const char* bytes : {"1", "2", "3"}) {
    for (const std::string& s : ReadOk(kR, bytes)) all.push_back(s);
    for (const std::string& s : Added(ChannelStatus::kOk, 1)) all.push_back(s);
    for (const std::string& s : Written(kC, ChannelStatus::kOk)) {
      all.push_back(s);
    }
  }
  EXPECT_FALSE(proxy_.stopped());
  for (const std::string& s : Read(kR, ChannelStatus::kPeerClosed)) {
    all.push_back(s);
  }
  EXPECT_THAT(
      all, ElementsAre("read_message endpoint=20",                            //
                       "counter_add counter=30 delta=+1",                     //
                       "write_message endpoint=10 message=\"1\" handles=[]",  //
                       "read_message endpoint=20",                            //
                       "counter_add counter=30 delta=+1",                     //
                       "write_message endpoint=10 message=\"2\" handles=[]",  //
                       "read_message endpoint=20",                            //
                       "counter_add counter=30 delta=+1",                     //
                       "write_message endpoint=10 message=\"3\" handles=[]",  //
                       "read_message endpoint=20",                            //
                       "close_endpoint endpoint=10",
                       "close_endpoint endpoint=20",  //
                       "proxy_stopped proxy=1"));
  EXPECT_TRUE(proxy_.stopped());
  EXPECT_EQ(proxy_.stop_status(), absl::OkStatus());
  EXPECT_EQ(proxy_.forwarded_to_container(), 3u);
}

TEST_F(ChannelProxyTest, PX3_BarePeerClosedStillReadsOnceBeforeStopping) {
  EXPECT_THAT(Signal(kC, kSignalPeerClosed),
              ElementsAre("read_message endpoint=10"));
  EXPECT_THAT(Read(kC, ChannelStatus::kPeerClosed), IsStopSequence());
  EXPECT_EQ(proxy_.stop_status(), absl::OkStatus());
}

TEST_F(ChannelProxyTest, PX3_ShouldWaitAfterThePeerClosedEndsTheDrain) {
  EXPECT_THAT(Signal(kR, kSignalPeerClosed),
              ElementsAre("read_message endpoint=20"));
  EXPECT_THAT(Read(kR, ChannelStatus::kShouldWait), IsStopSequence());
}

TEST_F(ChannelProxyTest, PX3_ReadPeerClosedWithoutASignalStops) {
  ASSERT_THAT(Signal(kC, kSignalReadable),
              ElementsAre("read_message endpoint=10"));
  EXPECT_THAT(Read(kC, ChannelStatus::kPeerClosed), IsStopSequence());
}

TEST_F(ChannelProxyTest, PX3_PeerClosedLearnedDuringAReadRereadsFirst) {
  ASSERT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  // The peer wrote "late" and closed after the read in flight ran.
  ASSERT_THAT(Signal(kR, kSignalReadable | kSignalPeerClosed), IsEmpty());
  EXPECT_THAT(Read(kR, ChannelStatus::kShouldWait),
              ElementsAre("read_message endpoint=20"));
  EXPECT_THAT(ReadOk(kR, "late"),
              ElementsAre("counter_add counter=30 delta=+1"));
  EXPECT_THAT(
      Added(ChannelStatus::kOk, 1),
      ElementsAre("write_message endpoint=10 message=\"late\" handles=[]"));
  EXPECT_THAT(Written(kC, ChannelStatus::kOk),
              ElementsAre("read_message endpoint=20"));
  EXPECT_THAT(Read(kR, ChannelStatus::kPeerClosed), IsStopSequence());
  EXPECT_EQ(proxy_.forwarded_to_container(), 1u);
}

TEST_F(ChannelProxyTest, PX3_ContainerClosingForwardsWhatItWroteThenStops) {
  ASSERT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  ASSERT_THAT(ReadOk(kR, "in"), ElementsAre("counter_add counter=30 delta=+1"));
  ASSERT_THAT(
      Added(ChannelStatus::kOk, 1),
      ElementsAre("write_message endpoint=10 message=\"in\" handles=[]"));
  EXPECT_THAT(Signal(kC, kSignalReadable | kSignalPeerClosed),
              ElementsAre("read_message endpoint=10"));
  // The container is gone: the message for it fails, its count is taken
  // back, and the proxy keeps going until what the container wrote has left.
  EXPECT_THAT(Written(kC, ChannelStatus::kPeerClosed),
              ElementsAre("counter_add counter=30 delta=-1"));
  EXPECT_THAT(Added(ChannelStatus::kOk, 0), IsEmpty());
  EXPECT_THAT(
      ReadOk(kC, "bye"),
      ElementsAre("write_message endpoint=20 message=\"bye\" handles=[]"));
  EXPECT_THAT(Written(kR, ChannelStatus::kOk),
              ElementsAre("read_message endpoint=10"));
  EXPECT_THAT(Read(kC, ChannelStatus::kPeerClosed), IsStopSequence());
  EXPECT_EQ(proxy_.stop_status(), absl::OkStatus());
  EXPECT_EQ(proxy_.forwarded_to_remote(), 1u);
  EXPECT_EQ(proxy_.forwarded_to_container(), 0u);
}

TEST_F(ChannelProxyTest, PX3_WriteToAGonePeerDrainsThatSideThenStops) {
  ASSERT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  ASSERT_THAT(ReadOk(kR, "in"), ElementsAre("counter_add counter=30 delta=+1"));
  ASSERT_THAT(
      Added(ChannelStatus::kOk, 1),
      ElementsAre("write_message endpoint=10 message=\"in\" handles=[]"));
  // No signal has told the proxy yet that the container closed.
  EXPECT_THAT(Written(kC, ChannelStatus::kPeerClosed),
              ElementsAre("counter_add counter=30 delta=-1",
                          "read_message endpoint=10"));
  EXPECT_THAT(Added(ChannelStatus::kOk, 0), IsEmpty());
  EXPECT_THAT(
      ReadOk(kC, "last words"),
      ElementsAre(
          "write_message endpoint=20 message=\"last words\" handles=[]"));
  EXPECT_THAT(Written(kR, ChannelStatus::kOk),
              ElementsAre("read_message endpoint=10"));
  EXPECT_THAT(Read(kC, ChannelStatus::kPeerClosed), IsStopSequence());
  EXPECT_EQ(proxy_.stop_status(), absl::OkStatus());
}

TEST_F(ChannelProxyTest, PX3_MessageForAGonePeerIsNotCounted) {
  ASSERT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  ASSERT_THAT(Signal(kC, kSignalPeerClosed),
              ElementsAre("read_message endpoint=10"));
  // Undeliverable: the container is gone, so it is neither counted nor
  // written, and the remote side is not read any further.
  EXPECT_THAT(ReadOk(kR, "x"), IsEmpty());
  EXPECT_THAT(Signal(kR, kSignalReadable), IsEmpty());
  EXPECT_THAT(Read(kC, ChannelStatus::kPeerClosed), IsStopSequence());
}

TEST_F(ChannelProxyTest,
       PX2_CountCompletingAfterTheContainerClosedIsTakenBack) {
  ASSERT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  ASSERT_THAT(ReadOk(kR, "x"), ElementsAre("counter_add counter=30 delta=+1"));
  ASSERT_THAT(Signal(kC, kSignalPeerClosed),
              ElementsAre("read_message endpoint=10"));
  // Counted, but the container is gone: not written, and the count is
  // taken back rather than left for nobody to handle.
  EXPECT_THAT(Added(ChannelStatus::kOk, 1),
              ElementsAre("counter_add counter=30 delta=-1"));
  EXPECT_THAT(Added(ChannelStatus::kOk, 0), IsEmpty());
  EXPECT_THAT(Read(kC, ChannelStatus::kPeerClosed), IsStopSequence());
  EXPECT_EQ(proxy_.stop_status(), absl::OkStatus());
  EXPECT_EQ(proxy_.forwarded_to_container(), 0u);
}

TEST_F(ChannelProxyTest, PX3_DoesNotStopWhileItsCountIsInFlight) {
  ASSERT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  ASSERT_THAT(ReadOk(kR, "x"), ElementsAre("counter_add counter=30 delta=+1"));
  ASSERT_THAT(Signal(kC, kSignalPeerClosed),
              ElementsAre("read_message endpoint=10"));
  // The container side is drained and closed, but the count is in flight:
  // stopping now would leave its completion to nobody.
  EXPECT_THAT(Read(kC, ChannelStatus::kPeerClosed), IsEmpty());
  EXPECT_FALSE(proxy_.stopped());
  EXPECT_THAT(Signal(kR, kSignalReadable), IsEmpty());
  EXPECT_THAT(Added(ChannelStatus::kOk, 1),
              ElementsAre("counter_add counter=30 delta=-1"));
  EXPECT_FALSE(proxy_.stopped());
  EXPECT_THAT(Added(ChannelStatus::kOk, 0), IsStopSequence());
  EXPECT_EQ(proxy_.stop_status(), absl::OkStatus());
}

TEST_F(ChannelProxyTest, PX3_DoesNotStopWhileACountedWriteIsInFlight) {
  ASSERT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  ASSERT_THAT(ReadOk(kR, "x"), ElementsAre("counter_add counter=30 delta=+1"));
  ASSERT_THAT(
      Added(ChannelStatus::kOk, 1),
      ElementsAre("write_message endpoint=10 message=\"x\" handles=[]"));
  ASSERT_THAT(Signal(kC, kSignalPeerClosed),
              ElementsAre("read_message endpoint=10"));
  EXPECT_THAT(Read(kC, ChannelStatus::kPeerClosed), IsEmpty());
  // The write lost the race with the close: its count goes back first.
  EXPECT_THAT(Written(kC, ChannelStatus::kPeerClosed),
              ElementsAre("counter_add counter=30 delta=-1"));
  EXPECT_THAT(Added(ChannelStatus::kOk, 0), IsStopSequence());
  EXPECT_EQ(proxy_.stop_status(), absl::OkStatus());
}

TEST_F(ChannelProxyTest, PX3_FailureElsewhereDeliversTheCountedMessageFirst) {
  ASSERT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  ASSERT_THAT(Signal(kC, kSignalReadable),
              ElementsAre("read_message endpoint=10"));
  ASSERT_THAT(ReadOk(kR, "x"), ElementsAre("counter_add counter=30 delta=+1"));
  // The other direction fails while the count is in flight.
  EXPECT_THAT(Read(kC, ChannelStatus::kBadHandle), IsEmpty());
  EXPECT_FALSE(proxy_.stopped());
  EXPECT_THAT(Signal(kR, kSignalReadable), IsEmpty());
  EXPECT_THAT(
      Added(ChannelStatus::kOk, 1),
      ElementsAre("write_message endpoint=10 message=\"x\" handles=[]"));
  EXPECT_THAT(Written(kC, ChannelStatus::kOk), IsStopSequence());
  EXPECT_EQ(proxy_.forwarded_to_container(), 1u);
  EXPECT_EQ(proxy_.stop_status(),
            absl::InternalError(
                "proxy 1 'fidl': read from endpoint 10 failed: BAD_HANDLE"));
}

TEST_F(ChannelProxyTest, PX2_FailedTakeBackStopsWithTheReason) {
  ASSERT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  ASSERT_THAT(ReadOk(kR, "x"), ElementsAre("counter_add counter=30 delta=+1"));
  ASSERT_THAT(Signal(kC, kSignalPeerClosed),
              ElementsAre("read_message endpoint=10"));
  ASSERT_THAT(Added(ChannelStatus::kOk, 1),
              ElementsAre("counter_add counter=30 delta=-1"));
  EXPECT_THAT(Added(ChannelStatus::kBadHandle, 0), IsStopSequence());
  EXPECT_EQ(proxy_.stop_status(),
            absl::InternalError(
                "proxy 1 'fidl': counter 30 take-back failed: BAD_HANDLE"));
}

TEST_F(ChannelProxyTest, PX3_BothPeersGoneStopsWithoutWaitingForever) {
  ASSERT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  ASSERT_THAT(Signal(kC, kSignalReadable),
              ElementsAre("read_message endpoint=10"));
  ASSERT_THAT(ReadOk(kR, "x"), ElementsAre("counter_add counter=30 delta=+1"));
  ASSERT_THAT(
      ReadOk(kC, "y"),
      ElementsAre("write_message endpoint=20 message=\"y\" handles=[]"));
  ASSERT_THAT(
      Added(ChannelStatus::kOk, 1),
      ElementsAre("write_message endpoint=10 message=\"x\" handles=[]"));
  EXPECT_THAT(Written(kC, ChannelStatus::kPeerClosed),
              ElementsAre("counter_add counter=30 delta=-1"));
  EXPECT_THAT(Written(kR, ChannelStatus::kPeerClosed), IsEmpty());
  EXPECT_THAT(Added(ChannelStatus::kOk, 0), IsStopSequence());
  EXPECT_EQ(proxy_.stop_status(), absl::OkStatus());
}

TEST_F(ChannelProxyTest, PX3_FailedReadStopsWithTheReason) {
  ASSERT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  EXPECT_THAT(Read(kR, ChannelStatus::kBadHandle), IsStopSequence());
  EXPECT_EQ(proxy_.stop_status(),
            absl::InternalError(
                "proxy 1 'fidl': read from endpoint 20 failed: BAD_HANDLE"));
}

TEST_F(ChannelProxyTest, PX3_OversizeReadStopsWithTheReason) {
  ASSERT_THAT(Signal(kC, kSignalReadable),
              ElementsAre("read_message endpoint=10"));
  EXPECT_THAT(Read(kC, ChannelStatus::kOutOfRange), IsStopSequence());
  EXPECT_EQ(proxy_.stop_status(),
            absl::InternalError(
                "proxy 1 'fidl': read from endpoint 10 failed: OUT_OF_RANGE"));
}

TEST_F(ChannelProxyTest, PX3_FullDestinationStopsWithTheReason) {
  ASSERT_THAT(Signal(kC, kSignalReadable),
              ElementsAre("read_message endpoint=10"));
  ASSERT_THAT(
      ReadOk(kC, "x"),
      ElementsAre("write_message endpoint=20 message=\"x\" handles=[]"));
  EXPECT_THAT(Written(kR, ChannelStatus::kShouldWait), IsStopSequence());
  EXPECT_EQ(proxy_.stop_status(),
            absl::InternalError(
                "proxy 1 'fidl': write to endpoint 20 failed: SHOULD_WAIT"));
}

TEST_F(ChannelProxyTest, PX3_BadHandleOnWriteTakesTheCountBackThenStops) {
  ASSERT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  ASSERT_THAT(ReadOk(kR, "x"), ElementsAre("counter_add counter=30 delta=+1"));
  ASSERT_THAT(
      Added(ChannelStatus::kOk, 1),
      ElementsAre("write_message endpoint=10 message=\"x\" handles=[]"));
  EXPECT_THAT(Written(kC, ChannelStatus::kBadHandle),
              ElementsAre("counter_add counter=30 delta=-1"));
  EXPECT_FALSE(proxy_.stopped());
  EXPECT_THAT(Added(ChannelStatus::kOk, 0), IsStopSequence());
  EXPECT_EQ(proxy_.stop_status(),
            absl::InternalError(
                "proxy 1 'fidl': write to endpoint 10 failed: BAD_HANDLE"));
}

TEST_F(ChannelProxyTest, PX3_StopClosesBothEndpointsOnce) {
  ASSERT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  proxy_.Stop(now_, absl::CancelledError("shutdown"), out_);
  EXPECT_THAT(TakeActions(out_), IsStopSequence());
  proxy_.Stop(now_, absl::CancelledError("again"), out_);
  EXPECT_THAT(TakeActions(out_), IsEmpty());
  EXPECT_EQ(proxy_.stop_status(), absl::CancelledError("shutdown"));
}

TEST_F(ChannelProxyTest, PX3_EveryInputAfterStopIsIgnored) {
  ASSERT_THAT(Signal(kR, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  ASSERT_THAT(Signal(kC, kSignalReadable),
              ElementsAre("read_message endpoint=10"));
  ASSERT_THAT(ReadOk(kR, "x"), ElementsAre("counter_add counter=30 delta=+1"));
  proxy_.Stop(now_, absl::CancelledError("shutdown"), out_);
  ASSERT_THAT(TakeActions(out_), IsStopSequence());
  EXPECT_THAT(Added(ChannelStatus::kOk, 1), IsEmpty());
  EXPECT_THAT(Signal(kR, kSignalReadable), IsEmpty());
  EXPECT_THAT(Signal(kC, kSignalReadable | kSignalPeerClosed), IsEmpty());
  EXPECT_THAT(ReadOk(kR, "y"), IsEmpty());
  EXPECT_THAT(Written(kC, ChannelStatus::kOk), IsEmpty());
  EXPECT_THAT(Written(kR, ChannelStatus::kPeerClosed), IsEmpty());
  EXPECT_EQ(proxy_.stop_status(), absl::CancelledError("shutdown"));
}

// ---- A mini-world: the proxy against the channel and counter models. ----

// Knuth's MMIX LCG: fixed seeds make every interleaving reproducible.
class Lcg {
 public:
  explicit Lcg(uint64_t seed) : state_(seed) {}
  uint32_t Below(uint32_t n) {
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>((state_ >> 33) % n);
  }

 private:
  uint64_t state_;
};

// Plays the world around one proxy: a remote peer and a container peer that
// write and read at random moments, the proxy's actions executed in order
// but at random moments, and signal changes reported as edges.
class MiniWorld {
 public:
  static constexpr int kMessagesEachWay = 100;

  explicit MiniWorld(uint64_t seed)
      : rng_(seed),
        koids_(100),
        channels_(&koids_),
        counters_(&koids_),
        container_pair_(*channels_.CreatePair()),
        remote_pair_(*channels_.CreatePair()),
        counter_(*counters_.Create()),
        proxy_(ProxyId{1}, container_pair_.second, remote_pair_.first, counter_,
               "mini") {}

  EndpointId container_peer() const { return container_pair_.first; }
  EndpointId container_endpoint() const { return container_pair_.second; }
  EndpointId remote_endpoint() const { return remote_pair_.first; }
  EndpointId remote_peer() const { return remote_pair_.second; }

  // One random step; it may find nothing to do.
  void Step(bool peers_may_write) {
    switch (rng_.Below(5)) {
      case 0:
        if (peers_may_write && sent_to_container_ < kMessagesEachWay) {
          Write(remote_peer(), absl::StrCat("in", sent_to_container_++));
        }
        break;
      case 1:
        if (peers_may_write && sent_to_remote_ < kMessagesEachWay) {
          Write(container_peer(), absl::StrCat("out", sent_to_remote_++));
        }
        break;
      case 2:
        ExecuteOneAction();
        break;
      case 3:
        DeliverOneInput();
        break;
      case 4:
        PeersRead();
        break;
    }
    // PW-4's premise: every message waiting for the container is counted.
    std::optional<int64_t> count = counters_.Value(counter_);
    ASSERT_TRUE(count.has_value());
    ASSERT_GE(*count,
              static_cast<int64_t>(channels_.QueuedMessages(container_peer())));
  }

  bool AllSentAndReceived() const {
    return sent_to_container_ == kMessagesEachWay &&
           sent_to_remote_ == kMessagesEachWay &&
           container_got_.size() == kMessagesEachWay &&
           remote_got_.size() == kMessagesEachWay;
  }
  bool Quiet() const { return pending_.empty() && inbox_.empty(); }

  void WriteFromRemote(std::string bytes) { Write(remote_peer(), bytes); }
  void PeersReadEverything() {
    while (channels_.QueuedMessages(container_peer()) +
               channels_.QueuedMessages(remote_peer()) >
           0) {
      PeersRead();
    }
  }
  void CloseRemotePeer() {
    channels_.Close(remote_peer());
    ReportSignalChanges();
  }

  ChannelTable& channels() { return channels_; }
  const ChannelProxy& proxy() const { return proxy_; }
  int64_t counter_value() const { return *counters_.Value(counter_); }
  int64_t decrements() const { return decrements_; }
  const std::vector<std::string>& container_got() const {
    return container_got_;
  }
  const std::vector<std::string>& remote_got() const { return remote_got_; }
  int proxy_stopped_announcements() const { return stopped_announcements_; }

 private:
  using Report = std::variant<input::EndpointSignalled, input::MessageRead,
                              input::MessageWritten, input::CounterAdded>;

  void Write(EndpointId from, std::string bytes) {
    ASSERT_EQ(channels_.Write(from, Msg(std::move(bytes))), ChannelStatus::kOk);
    ReportSignalChanges();
  }

  void PeersRead() {
    Message m;
    if (channels_.Read(container_peer(), &m) == ChannelStatus::kOk) {
      // The container handles some messages at once and decrements the
      // counter (PX-2); the others stay counted.
      if (container_got_.size() % 3 == 0) {
        ASSERT_EQ(counters_.Add(counter_, -1), ChannelStatus::kOk);
        ++decrements_;
      }
      container_got_.push_back(m.bytes);
    }
    if (channels_.Read(remote_peer(), &m) == ChannelStatus::kOk) {
      remote_got_.push_back(m.bytes);
    }
    ReportSignalChanges();
  }

  void ExecuteOneAction() {
    if (pending_.empty()) return;
    Action action = std::move(pending_.front());
    pending_.pop_front();
    if (auto* a = std::get_if<action::ReadMessage>(&action)) {
      Message m;
      ChannelStatus status = channels_.Read(a->endpoint, &m);
      inbox_.push_back(input::MessageRead{a->endpoint, status, std::move(m)});
    } else if (auto* a = std::get_if<action::WriteMessage>(&action)) {
      ChannelStatus status = channels_.Write(a->endpoint, a->message);
      inbox_.push_back(input::MessageWritten{a->endpoint, status});
    } else if (auto* a = std::get_if<action::CounterAdd>(&action)) {
      int64_t value = 0;
      ChannelStatus status = counters_.Add(a->counter, a->delta, &value);
      inbox_.push_back(input::CounterAdded{a->counter, status, value});
    } else if (auto* a = std::get_if<action::CloseEndpoint>(&action)) {
      channels_.Close(a->endpoint);
    } else if (std::holds_alternative<action::ProxyStopped>(action)) {
      ++stopped_announcements_;
    } else {
      ADD_FAILURE() << "unexpected action " << ActionName(action);
    }
    ReportSignalChanges();
  }

  void DeliverOneInput() {
    if (inbox_.empty()) return;
    Report report = std::move(inbox_.front());
    inbox_.pop_front();
    ActionList out;
    const Instant now = Instant::FromNanos(++clock_);
    std::visit(
        [&](const auto& in) {
          using T = std::decay_t<decltype(in)>;
          if constexpr (std::is_same_v<T, input::EndpointSignalled>) {
            proxy_.OnEndpointSignalled(now, in, out);
          } else if constexpr (std::is_same_v<T, input::MessageRead>) {
            proxy_.OnMessageRead(now, in, out);
          } else if constexpr (std::is_same_v<T, input::MessageWritten>) {
            proxy_.OnMessageWritten(now, in, out);
          } else {
            proxy_.OnCounterAdded(now, in, out);
          }
        },
        report);
    for (Action& a : out) pending_.push_back(std::move(a));
  }

  // The world reports an endpoint's signals whenever they change.
  void ReportSignalChanges() {
    ReportIfChanged(container_endpoint(), last_container_signals_);
    ReportIfChanged(remote_endpoint(), last_remote_signals_);
  }
  void ReportIfChanged(EndpointId endpoint, Signals& last) {
    if (!channels_.IsOpen(endpoint)) return;
    const Signals now = channels_.SignalsOf(endpoint);
    if (now == last) return;
    last = now;
    inbox_.push_back(input::EndpointSignalled{endpoint, now});
  }

  Lcg rng_;
  KoidAllocator koids_;
  ChannelTable channels_;
  CounterTable counters_;
  std::pair<EndpointId, EndpointId> container_pair_;
  std::pair<EndpointId, EndpointId> remote_pair_;
  CounterId counter_;
  ChannelProxy proxy_;
  std::deque<Action> pending_;
  std::deque<Report> inbox_;
  Signals last_container_signals_ = kSignalNone;
  Signals last_remote_signals_ = kSignalNone;
  int64_t clock_ = 0;
  int sent_to_container_ = 0;
  int sent_to_remote_ = 0;
  int64_t decrements_ = 0;
  int stopped_announcements_ = 0;
  std::vector<std::string> container_got_;
  std::vector<std::string> remote_got_;
};

TEST(ChannelProxyWorldTest, PX1_HundredEachWayExactlyOnceInOrderThenClose) {
  constexpr int kMaxSteps = 200000;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    MiniWorld world(seed);
    int steps = 0;
    while (!(world.AllSentAndReceived() && world.Quiet())) {
      ASSERT_LT(++steps, kMaxSteps) << "no progress";
      world.Step(/*peers_may_write=*/true);
      if (::testing::Test::HasFatalFailure()) return;
    }
    std::vector<std::string> want_in, want_out;
    for (int i = 0; i < MiniWorld::kMessagesEachWay; ++i) {
      want_in.push_back(absl::StrCat("in", i));
      want_out.push_back(absl::StrCat("out", i));
    }
    EXPECT_EQ(world.container_got(), want_in);
    EXPECT_EQ(world.remote_got(), want_out);
    EXPECT_EQ(world.proxy().forwarded_to_container(), 100u);
    EXPECT_EQ(world.proxy().forwarded_to_remote(), 100u);
    EXPECT_EQ(world.counter_value(), 100 - world.decrements());
    EXPECT_EQ(world.decrements(), 34);  // messages 0, 3, ..., 99

    // PX-3: a burst, then the remote peer closes; nothing is lost.
    for (int i = 0; i < 3; ++i) world.WriteFromRemote(absl::StrCat("tail", i));
    world.CloseRemotePeer();
    while (!(world.proxy().stopped() && world.Quiet())) {
      ASSERT_LT(++steps, kMaxSteps) << "proxy never stopped";
      world.Step(/*peers_may_write=*/false);
      if (::testing::Test::HasFatalFailure()) return;
    }
    world.PeersReadEverything();
    want_in.insert(want_in.end(), {"tail0", "tail1", "tail2"});
    EXPECT_EQ(world.container_got(), want_in);
    EXPECT_EQ(world.proxy().stop_status(), absl::OkStatus());
    EXPECT_EQ(world.proxy_stopped_announcements(), 1);
    EXPECT_FALSE(world.channels().IsOpen(world.container_endpoint()));
    EXPECT_FALSE(world.channels().IsOpen(world.remote_endpoint()));
    EXPECT_EQ(
        world.channels().SignalsOf(world.container_peer()) & kSignalPeerClosed,
        kSignalPeerClosed);
    EXPECT_EQ(world.counter_value(), 103 - world.decrements());
  }
}

}  // namespace
}  // namespace proctor
