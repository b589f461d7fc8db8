#include "runtime/channel/proxy_manager.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/model/testing/action_matchers.h"

namespace proctor {
namespace {

using ::proctor::action_testing::TakeActions;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

input::AddProxy Add(uint64_t proxy, uint64_t container, uint64_t remote,
                    uint64_t counter, std::string name = "p") {
  return input::AddProxy{RequestId{proxy},      ProxyId{proxy},
                         EndpointId{container}, EndpointId{remote},
                         CounterId{counter},    std::move(name)};
}

class ProxyManagerTest : public ::testing::Test {
 protected:
  absl::Status AddProxy(const input::AddProxy& in) {
    absl::Status status = manager_.OnAddProxy(now_, in, out_);
    EXPECT_THAT(TakeActions(out_), IsEmpty()) << "add_proxy emits nothing";
    return status;
  }
  std::vector<std::string> Signal(uint64_t e, Signals s) {
    manager_.OnEndpointSignalled(
        now_, input::EndpointSignalled{EndpointId{e}, s}, out_);
    return TakeActions(out_);
  }
  std::vector<std::string> Read(uint64_t e, ChannelStatus status,
                                std::string bytes = "") {
    manager_.OnMessageRead(
        now_, input::MessageRead{EndpointId{e}, status, Message{bytes, {}}},
        out_);
    return TakeActions(out_);
  }
  std::vector<std::string> Added(uint64_t counter, ChannelStatus status) {
    manager_.OnCounterAdded(
        now_, input::CounterAdded{CounterId{counter}, status, 1}, out_);
    return TakeActions(out_);
  }
  std::vector<std::string> Written(uint64_t e, ChannelStatus status) {
    manager_.OnMessageWritten(
        now_, input::MessageWritten{EndpointId{e}, status}, out_);
    return TakeActions(out_);
  }

  Instant now_ = Instant::FromNanos(5);
  ProxyManager manager_;
  ActionList out_;
};

TEST_F(ProxyManagerTest, PX1_AddsAProxyAndRoutesToIt) {
  ASSERT_EQ(AddProxy(Add(1, 10, 20, 30, "fidl")), absl::OkStatus());
  EXPECT_EQ(manager_.live(), 1u);
  const ChannelProxy* proxy = manager_.Find(ProxyId{1});
  ASSERT_NE(proxy, nullptr);
  EXPECT_EQ(proxy->name(), "fidl");
  EXPECT_EQ(proxy->container_endpoint(), EndpointId{10});
  EXPECT_EQ(proxy->remote_endpoint(), EndpointId{20});
  EXPECT_EQ(proxy->counter(), CounterId{30});
  EXPECT_EQ(manager_.Find(ProxyId{2}), nullptr);
}

TEST_F(ProxyManagerTest, PX1_DuplicateProxyIdIsAlreadyExists) {
  ASSERT_EQ(AddProxy(Add(1, 10, 20, 30)), absl::OkStatus());
  EXPECT_EQ(AddProxy(Add(1, 11, 21, 31)),
            absl::AlreadyExistsError("proxy 1 already exists"));
  EXPECT_EQ(manager_.live(), 1u);
}

TEST_F(ProxyManagerTest, PX1_SameEndpointOnBothSidesIsInvalidArgument) {
  EXPECT_EQ(AddProxy(Add(1, 10, 10, 30)),
            absl::InvalidArgumentError(
                "proxy 1: container endpoint and remote endpoint are both 10"));
  EXPECT_EQ(manager_.live(), 0u);
}

TEST_F(ProxyManagerTest, PX1_CounterThatIsAnEndpointIsInvalidArgument) {
  EXPECT_EQ(AddProxy(Add(1, 10, 20, 20)),
            absl::InvalidArgumentError(
                "proxy 1: counter 20 is also one of its endpoints"));
  EXPECT_EQ(AddProxy(Add(1, 10, 20, 10)),
            absl::InvalidArgumentError(
                "proxy 1: counter 10 is also one of its endpoints"));
  EXPECT_EQ(manager_.live(), 0u);
}

TEST_F(ProxyManagerTest, PX1_OverlongNameIsInvalidArgument) {
  EXPECT_EQ(AddProxy(Add(1, 10, 20, 30, std::string(1024, 'n'))),
            absl::OkStatus());
  EXPECT_EQ(AddProxy(Add(2, 11, 21, 31, std::string(1025, 'n'))),
            absl::InvalidArgumentError(
                "proxy 2: name is 1025 bytes; at most 1024 are allowed"));
}

TEST_F(ProxyManagerTest, PX1_KoidUsedByALiveProxyIsAlreadyExistsNamingIt) {
  ASSERT_EQ(AddProxy(Add(1, 10, 20, 30)), absl::OkStatus());
  EXPECT_EQ(AddProxy(Add(2, 10, 21, 31)),
            absl::AlreadyExistsError("proxy 2: container endpoint 10 is "
                                     "already the container endpoint of "
                                     "proxy 1"));
  EXPECT_EQ(AddProxy(Add(2, 11, 20, 31)),
            absl::AlreadyExistsError("proxy 2: remote endpoint 20 is already "
                                     "the remote endpoint of proxy 1"));
  EXPECT_EQ(AddProxy(Add(2, 20, 21, 31)),
            absl::AlreadyExistsError("proxy 2: container endpoint 20 is "
                                     "already the remote endpoint of proxy 1"));
  EXPECT_EQ(AddProxy(Add(2, 11, 21, 30)),
            absl::AlreadyExistsError(
                "proxy 2: counter 30 is already the counter of proxy 1"));
  EXPECT_EQ(AddProxy(Add(2, 11, 30, 31)),
            absl::AlreadyExistsError(
                "proxy 2: remote endpoint 30 is already the counter of "
                "proxy 1"));
  EXPECT_EQ(AddProxy(Add(2, 11, 21, 10)),
            absl::AlreadyExistsError("proxy 2: counter 10 is already the "
                                     "container endpoint of proxy 1"));
  EXPECT_EQ(manager_.live(), 1u);
  EXPECT_EQ(AddProxy(Add(2, 11, 21, 31)), absl::OkStatus());
}

TEST_F(ProxyManagerTest, PX1_MoreThanTheLimitIsResourceExhausted) {
  for (uint64_t i = 0; i < ProxyManager::kMaxProxies; ++i) {
    ASSERT_EQ(AddProxy(Add(i, 1000 + 3 * i, 1001 + 3 * i, 1002 + 3 * i)),
              absl::OkStatus());
  }
  EXPECT_EQ(AddProxy(Add(999, 1, 2, 3)),
            absl::ResourceExhaustedError(
                "too many proxies: 256 are live or stopped and not yet "
                "cleaned up"));
  EXPECT_EQ(manager_.live(), 256u);
}

TEST_F(ProxyManagerTest, PX1_RoutesEachInputToTheProxyHoldingTheId) {
  ASSERT_EQ(AddProxy(Add(1, 10, 20, 30)), absl::OkStatus());
  ASSERT_EQ(AddProxy(Add(2, 11, 21, 31)), absl::OkStatus());
  EXPECT_THAT(Signal(21, kSignalReadable),
              ElementsAre("read_message endpoint=21"));
  EXPECT_THAT(Signal(20, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  EXPECT_THAT(Read(21, ChannelStatus::kOk, "two"),
              ElementsAre("counter_add counter=31 delta=+1"));
  EXPECT_THAT(Read(20, ChannelStatus::kOk, "one"),
              ElementsAre("counter_add counter=30 delta=+1"));
  EXPECT_THAT(
      Added(30, ChannelStatus::kOk),
      ElementsAre("write_message endpoint=10 message=\"one\" handles=[]"));
  EXPECT_THAT(
      Added(31, ChannelStatus::kOk),
      ElementsAre("write_message endpoint=11 message=\"two\" handles=[]"));
  EXPECT_THAT(Written(11, ChannelStatus::kOk),
              ElementsAre("read_message endpoint=21"));
  EXPECT_THAT(Written(10, ChannelStatus::kOk),
              ElementsAre("read_message endpoint=20"));
  EXPECT_EQ(manager_.Find(ProxyId{1})->forwarded_to_container(), 1u);
  EXPECT_EQ(manager_.Find(ProxyId{2})->forwarded_to_container(), 1u);
}

TEST_F(ProxyManagerTest, PX1_InputsForUnknownIdsAreIgnored) {
  ASSERT_EQ(AddProxy(Add(1, 10, 20, 30)), absl::OkStatus());
  EXPECT_THAT(Signal(99, kSignalReadable | kSignalPeerClosed), IsEmpty());
  EXPECT_THAT(Read(99, ChannelStatus::kOk, "x"), IsEmpty());
  EXPECT_THAT(Written(99, ChannelStatus::kPeerClosed), IsEmpty());
  EXPECT_THAT(Added(99, ChannelStatus::kOutOfRange), IsEmpty());
  // A counter id is not an endpoint, and an endpoint id is not a counter.
  EXPECT_THAT(Signal(30, kSignalReadable), IsEmpty());
  EXPECT_THAT(Added(10, ChannelStatus::kOutOfRange), IsEmpty());
  EXPECT_EQ(manager_.live(), 1u);
  EXPECT_THAT(manager_.TakeStopped(), IsEmpty());
}

TEST_F(ProxyManagerTest, PX3_PeerClosedDrainsThenStopsAndReleasesTheIds) {
  ASSERT_EQ(AddProxy(Add(1, 10, 20, 30)), absl::OkStatus());
  EXPECT_THAT(Signal(10, kSignalReadable | kSignalPeerClosed),
              ElementsAre("read_message endpoint=10"));
  EXPECT_THAT(
      Read(10, ChannelStatus::kOk, "bye"),
      ElementsAre("write_message endpoint=20 message=\"bye\" handles=[]"));
  EXPECT_THAT(Written(20, ChannelStatus::kOk),
              ElementsAre("read_message endpoint=10"));
  EXPECT_THAT(
      Read(10, ChannelStatus::kPeerClosed),
      ElementsAre("close_endpoint endpoint=10", "close_endpoint endpoint=20",
                  "proxy_stopped proxy=1"));
  EXPECT_EQ(manager_.live(), 0u);
  // The stopped proxy's ids are free again and its inputs are ignored.
  EXPECT_THAT(Signal(20, kSignalReadable), IsEmpty());
  EXPECT_EQ(AddProxy(Add(1, 10, 20, 30)), absl::OkStatus());
}

TEST_F(ProxyManagerTest, PX4_TakeStoppedReportsEachStoppedProxyOnce) {
  ASSERT_EQ(AddProxy(Add(1, 10, 20, 30)), absl::OkStatus());
  ASSERT_EQ(AddProxy(Add(2, 11, 21, 31)), absl::OkStatus());
  ASSERT_EQ(AddProxy(Add(3, 12, 22, 32)), absl::OkStatus());
  ASSERT_THAT(Signal(22, kSignalPeerClosed),
              ElementsAre("read_message endpoint=22"));
  ASSERT_THAT(Signal(10, kSignalPeerClosed),
              ElementsAre("read_message endpoint=10"));
  ASSERT_THAT(
      Read(22, ChannelStatus::kPeerClosed),
      ElementsAre("close_endpoint endpoint=12", "close_endpoint endpoint=22",
                  "proxy_stopped proxy=3"));
  ASSERT_THAT(
      Read(10, ChannelStatus::kPeerClosed),
      ElementsAre("close_endpoint endpoint=10", "close_endpoint endpoint=20",
                  "proxy_stopped proxy=1"));
  std::vector<ProxyManager::StoppedProxy> stopped = manager_.TakeStopped();
  ASSERT_EQ(stopped.size(), 2u);
  EXPECT_EQ(stopped[0].proxy, ProxyId{3});
  EXPECT_EQ(stopped[0].counter, CounterId{32});
  EXPECT_EQ(stopped[0].status, absl::OkStatus());
  EXPECT_EQ(stopped[1].proxy, ProxyId{1});
  EXPECT_EQ(stopped[1].counter, CounterId{30});
  EXPECT_THAT(manager_.TakeStopped(), IsEmpty());
  EXPECT_EQ(manager_.live(), 1u);
}

TEST_F(ProxyManagerTest, PX4_FailedProxyIsReportedWithItsReason) {
  ASSERT_EQ(AddProxy(Add(4, 10, 20, 30, "net")), absl::OkStatus());
  ASSERT_THAT(Signal(20, kSignalReadable),
              ElementsAre("read_message endpoint=20"));
  ASSERT_THAT(Read(20, ChannelStatus::kOk, "x"),
              ElementsAre("counter_add counter=30 delta=+1"));
  EXPECT_THAT(
      Added(30, ChannelStatus::kOutOfRange),
      ElementsAre("close_endpoint endpoint=10", "close_endpoint endpoint=20",
                  "proxy_stopped proxy=4"));
  std::vector<ProxyManager::StoppedProxy> stopped = manager_.TakeStopped();
  ASSERT_EQ(stopped.size(), 1u);
  EXPECT_EQ(stopped[0].proxy, ProxyId{4});
  EXPECT_EQ(stopped[0].counter, CounterId{30});
  EXPECT_EQ(stopped[0].status,
            absl::InternalError(
                "proxy 4 'net': counter 30 add failed: OUT_OF_RANGE"));
}

TEST_F(ProxyManagerTest, PX4_StoppedProxiesHoldTheirSlotUntilTaken) {
  for (uint64_t i = 0; i < ProxyManager::kMaxProxies; ++i) {
    ASSERT_EQ(AddProxy(Add(i, 1000 + 3 * i, 1001 + 3 * i, 1002 + 3 * i)),
              absl::OkStatus());
  }
  ASSERT_THAT(Signal(1000, kSignalPeerClosed),
              ElementsAre("read_message endpoint=1000"));
  ASSERT_THAT(
      Read(1000, ChannelStatus::kPeerClosed),
      ElementsAre("close_endpoint endpoint=1000",
                  "close_endpoint endpoint=1001", "proxy_stopped proxy=0"));
  EXPECT_EQ(manager_.live(), 255u);
  EXPECT_EQ(AddProxy(Add(999, 1, 2, 3)).code(),
            absl::StatusCode::kResourceExhausted);
  ASSERT_EQ(manager_.TakeStopped().size(), 1u);
  EXPECT_EQ(AddProxy(Add(999, 1, 2, 3)), absl::OkStatus());
}

TEST_F(ProxyManagerTest, PX4_StopProxyStopsOneAndReportsIt) {
  ASSERT_EQ(AddProxy(Add(1, 10, 20, 30)), absl::OkStatus());
  ASSERT_EQ(AddProxy(Add(2, 11, 21, 31)), absl::OkStatus());
  EXPECT_EQ(manager_.StopProxy(now_, ProxyId{2},
                               absl::AbortedError("no wake source"), out_),
            absl::OkStatus());
  EXPECT_THAT(TakeActions(out_), ElementsAre("close_endpoint endpoint=11",
                                             "close_endpoint endpoint=21",
                                             "proxy_stopped proxy=2"));
  EXPECT_EQ(manager_.live(), 1u);
  std::vector<ProxyManager::StoppedProxy> stopped = manager_.TakeStopped();
  ASSERT_EQ(stopped.size(), 1u);
  EXPECT_EQ(stopped[0].proxy, ProxyId{2});
  EXPECT_EQ(stopped[0].counter, CounterId{31});
  EXPECT_EQ(stopped[0].status, absl::AbortedError("no wake source"));
  EXPECT_EQ(
      manager_.StopProxy(now_, ProxyId{2}, absl::AbortedError("again"), out_),
      absl::NotFoundError("proxy 2 is not a live proxy"));
  EXPECT_THAT(TakeActions(out_), IsEmpty());
}

TEST_F(ProxyManagerTest, PX4_StopAllStopsEveryProxyInIdOrder) {
  ASSERT_EQ(AddProxy(Add(7, 17, 27, 37, "seven")), absl::OkStatus());
  ASSERT_EQ(AddProxy(Add(2, 12, 22, 32, "two")), absl::OkStatus());
  ASSERT_EQ(AddProxy(Add(5, 15, 25, 35, "five")), absl::OkStatus());
  ASSERT_THAT(Signal(25, kSignalReadable),
              ElementsAre("read_message endpoint=25"));
  manager_.StopAll(now_, out_);
  EXPECT_THAT(
      TakeActions(out_),
      ElementsAre("close_endpoint endpoint=12", "close_endpoint endpoint=22",
                  "proxy_stopped proxy=2", "close_endpoint endpoint=15",
                  "close_endpoint endpoint=25", "proxy_stopped proxy=5",
                  "close_endpoint endpoint=17", "close_endpoint endpoint=27",
                  "proxy_stopped proxy=7"));
  EXPECT_EQ(manager_.live(), 0u);
  std::vector<ProxyManager::StoppedProxy> stopped = manager_.TakeStopped();
  ASSERT_EQ(stopped.size(), 3u);
  EXPECT_EQ(stopped[0].proxy, ProxyId{2});
  EXPECT_EQ(stopped[0].counter, CounterId{32});
  EXPECT_EQ(stopped[0].status,
            absl::CancelledError("proxy 2 'two': stopped by shutdown"));
  EXPECT_EQ(stopped[1].proxy, ProxyId{5});
  EXPECT_EQ(stopped[1].counter, CounterId{35});
  EXPECT_EQ(stopped[2].proxy, ProxyId{7});
  EXPECT_EQ(stopped[2].counter, CounterId{37});
  // The read that was in flight comes back to nobody.
  EXPECT_THAT(Read(25, ChannelStatus::kOk, "late"), IsEmpty());
  manager_.StopAll(now_, out_);  // idempotent
  EXPECT_THAT(TakeActions(out_), IsEmpty());
  EXPECT_THAT(manager_.TakeStopped(), IsEmpty());
}

}  // namespace
}  // namespace proctor
