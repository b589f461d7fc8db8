// RuntimeLimits: the defaults are the bounds docs/spec.md documents, every
// configured bound is enforced where the default was, its error prints the
// configured value, and a world as large as the simulator's (10,000 VMs and
// 10,000 proxies) fits once the limits are raised.
#include "runtime/model/limits.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/channel/channel.h"
#include "runtime/channel/counter.h"
#include "runtime/model/testing/action_matchers.h"
#include "runtime/power/wake_sources.h"
#include "runtime/supervisor/supervisor.h"

namespace proctor {
namespace {

using action_testing::ActionNames;
using action_testing::OfType;

absl::Status StatusOf(const ActionList& actions, RequestId request) {
  for (const action::Reply& reply : OfType<action::Reply>(actions)) {
    if (reply.request == request) return reply.status;
  }
  return absl::InternalError("no reply");
}

bool Replied(const ActionList& actions, RequestId request) {
  for (const action::Reply& reply : OfType<action::Reply>(actions)) {
    if (reply.request == request) return true;
  }
  return false;
}

VmConfig Config(uint32_t cid) {
  VmConfig config;
  config.cid = Cid{cid};
  config.kernel = "/images/vmlinuz";
  return config;
}

class LimitsTest : public ::testing::Test {
 protected:
  void Build(RuntimeLimits limits) {
    Supervisor::Options options;
    options.limits = limits;
    supervisor_.emplace(options);
  }

  ActionList Handle(Input input) {
    ActionList out;
    supervisor_->Handle(Instant{}, input, out);
    return out;
  }

  RequestId Req() { return RequestId{++requests_}; }

  // Installs and starts container `id`.
  void RunContainer(uint64_t id) {
    const ContainerId c{id};
    ASSERT_TRUE(Call(input::InstallContainer{Req(), c, {}}).ok());
    const RequestId start = Req();
    Handle(input::StartContainer{start, c});
    Handle(input::VmBooted{c, std::nullopt});
    Handle(input::AgentConnected{c, std::nullopt});
    Handle(input::ProcessCreated{c, std::nullopt});
    ASSERT_TRUE(
        StatusOf(Handle(input::ProcessStarted{c, std::nullopt}), start).ok());
  }

  // Handles a request and returns the status of its reply.
  absl::Status Call(Input input) {
    const std::optional<RequestId> request = InputRequest(input);
    if (!request.has_value()) return absl::InternalError("not a request");
    return StatusOf(Handle(std::move(input)), *request);
  }

  std::optional<Supervisor> supervisor_;
  uint64_t requests_ = 0;
};

TEST_F(LimitsTest, VM1_DefaultsAreTheDocumentedBounds) {
  const RuntimeLimits limits;
  // docs/spec.md, "Bounds".
  EXPECT_EQ(limits.max_vms, 1024u);
  EXPECT_EQ(limits.max_proxies, 256u);
  EXPECT_EQ(limits.max_containers, 256u);
  EXPECT_EQ(limits.max_wake_sources, 1024u);
  EXPECT_EQ(limits.max_wake_watchers, 256u);
  EXPECT_EQ(limits.max_event_subscribers, 64u);
  EXPECT_EQ(limits.max_queued_messages, 4096u);
  // The components' named defaults are the same values.
  EXPECT_EQ(VmManager::kMaxVms, limits.max_vms);
  EXPECT_EQ(ProxyManager::kMaxProxies, limits.max_proxies);
  EXPECT_EQ(WakeSources::kMaxWakeSources, limits.max_wake_sources);
  EXPECT_EQ(WakeSources::kMaxUnregisteredObservations,
            limits.max_unregistered_observations);
  EXPECT_EQ(PowerManager::kMaxWatchers, limits.max_wake_watchers);
  EXPECT_EQ(ContainerManager::kMaxContainers, limits.max_containers);
  EXPECT_EQ(ContainerEventBus::kMaxSubscribers, limits.max_event_subscribers);
  EXPECT_EQ(ContainerEventBus::kSubscriberCapacity,
            limits.events_per_subscriber);
  EXPECT_EQ(ContainerInstance::kMaxPendingRequests,
            limits.max_pending_container_requests);
  EXPECT_EQ(ChannelTable::kMaxChannels, limits.max_channels);
  EXPECT_EQ(ChannelTable::kMaxQueuedMessages, limits.max_queued_messages);
  EXPECT_EQ(CounterTable::kMaxCounters, limits.max_counters);

  Build(limits);
  EXPECT_EQ(supervisor_->vms().max_vms(), 1024u);
  EXPECT_EQ(supervisor_->proxies().max_proxies(), 256u);
  EXPECT_EQ(supervisor_->power().max_watchers(), 256u);
  EXPECT_EQ(supervisor_->power().wake_sources().max_wake_sources(), 1024u);
  EXPECT_EQ(supervisor_->containers().max_containers(), 256u);
  EXPECT_EQ(supervisor_->containers().events().max_subscribers(), 64u);
  EXPECT_EQ(supervisor_->containers().events().subscriber_capacity(), 256u);
}

TEST_F(LimitsTest, VM1_ConfiguredVmLimitIsEnforcedAndPrinted) {
  RuntimeLimits limits;
  limits.max_vms = 2;
  Build(limits);
  EXPECT_TRUE(Call(input::CreateVm{Req(), Config(3)}).ok());
  EXPECT_TRUE(Call(input::CreateVm{Req(), Config(4)}).ok());
  EXPECT_EQ(Call(input::CreateVm{Req(), Config(5)}),
            absl::ResourceExhaustedError(
                "VM-1: too many live VMs; at most 2 may exist at once"));
}

TEST_F(LimitsTest, PX1_ConfiguredProxyLimitIsEnforcedAndPrinted) {
  RuntimeLimits limits;
  limits.max_proxies = 1;
  Build(limits);
  EXPECT_TRUE(Call(input::AddProxy{Req(), ProxyId{1}, EndpointId{1},
                                   EndpointId{2}, CounterId{3}, "a"})
                  .ok());
  EXPECT_EQ(Call(input::AddProxy{Req(), ProxyId{2}, EndpointId{4},
                                 EndpointId{5}, CounterId{6}, "b"}),
            absl::ResourceExhaustedError(
                "too many proxies: 1 are live or stopped and not yet cleaned "
                "up"));
}

TEST_F(LimitsTest, PW1_ConfiguredWakeSourceLimitIsEnforcedAndPrinted) {
  RuntimeLimits limits;
  limits.max_wake_sources = 1;
  Build(limits);
  EXPECT_TRUE(
      Call(input::AddWakeSource{Req(), WakeSourceId{1}, "a", kSignalUser0})
          .ok());
  EXPECT_EQ(
      Call(input::AddWakeSource{Req(), WakeSourceId{2}, "b", kSignalUser0}),
      absl::ResourceExhaustedError("PW-1: too many wake sources (limit 1)"));
  // A proxy whose counter cannot be a wake source is refused (PW-4).
  EXPECT_EQ(
      Call(input::AddProxy{Req(), ProxyId{1}, EndpointId{4}, EndpointId{5},
                           CounterId{6}, "p"}),
      absl::ResourceExhaustedError("PW-1: too many wake sources (limit 1)"));
}

TEST(WakeSourcesLimitsTest,
     PW1_ConfiguredObservationLimitIsEnforcedAndPrinted) {
  RuntimeLimits limits;
  limits.max_unregistered_observations = 1;
  WakeSources sources(limits);
  EXPECT_EQ(sources.max_unregistered_observations(), 1u);
  EXPECT_TRUE(sources.SetCounterValue(CounterId{1}, 1).ok());
  EXPECT_EQ(sources.SetCounterValue(CounterId{2}, 1),
            absl::ResourceExhaustedError(
                "PW-1: too many unregistered kernel objects observed active "
                "(limit 1)"));
}

TEST_F(LimitsTest, PW2_ConfiguredWatcherLimitIsEnforcedAndPrinted) {
  RuntimeLimits limits;
  limits.max_wake_watchers = 1;
  Build(limits);
  EXPECT_TRUE(Call(input::RegisterWakeWatcher{Req(), WatcherId{1}}).ok());
  EXPECT_EQ(
      Call(input::RegisterWakeWatcher{Req(), WatcherId{2}}),
      absl::ResourceExhaustedError("PW-2: too many wake watchers (limit 1)"));
}

TEST_F(LimitsTest, CN1_ConfiguredContainerLimitIsEnforcedAndPrinted) {
  RuntimeLimits limits;
  limits.max_containers = 1;
  Build(limits);
  EXPECT_TRUE(Call(input::InstallContainer{Req(), ContainerId{1}, {}}).ok());
  EXPECT_EQ(Call(input::InstallContainer{Req(), ContainerId{2}, {}}),
            absl::ResourceExhaustedError("too many containers (max 1)"));
}

TEST_F(LimitsTest, CN1_ConfiguredSubscriberLimitsAreEnforcedAndPrinted) {
  RuntimeLimits limits;
  limits.max_event_subscribers = 1;
  limits.events_per_subscriber = 1;
  Build(limits);
  EXPECT_TRUE(Call(input::SubscribeEvents{Req(), SubscriberId{1}}).ok());
  EXPECT_EQ(Call(input::SubscribeEvents{Req(), SubscriberId{2}}),
            absl::ResourceExhaustedError("CN-1: too many subscribers (max 1)"));
  // Two events, room for one: the subscriber lags by one.
  Handle(input::InstallContainer{Req(), ContainerId{1}, {}});
  Handle(input::InstallContainer{Req(), ContainerId{2}, {}});
  const RequestId poll = Req();
  ActionList out = Handle(input::PollEvents{poll, SubscriberId{1}, 10});
  ASSERT_EQ(OfType<action::Reply>(out).size(), 1u);
  const EventBatch batch =
      std::get<EventBatch>(OfType<action::Reply>(out)[0].value);
  EXPECT_EQ(batch.missed, 1u);
  ASSERT_EQ(batch.events.size(), 1u);
  EXPECT_EQ(batch.events[0].first, ContainerId{2});
}

TEST_F(LimitsTest, CN3_ConfiguredPendingRequestLimitIsEnforcedAndPrinted) {
  RuntimeLimits limits;
  limits.max_pending_container_requests = 1;
  Build(limits);
  RunContainer(1);
  const RequestId first = Req();
  EXPECT_FALSE(
      Replied(Handle(input::WaitContainer{first, ContainerId{1}}), first));
  EXPECT_EQ(Call(input::WaitContainer{Req(), ContainerId{1}}),
            absl::ResourceExhaustedError(
                "container 1 has too many pending waits and stops (max 1)"));
}

TEST_F(LimitsTest, RT2_ConfiguredPendingShutdownLimitIsEnforced) {
  RuntimeLimits limits;
  limits.max_pending_shutdowns = 1;
  Build(limits);
  RunContainer(1);
  // The first shutdown waits for the container to stop; it takes the slot.
  const RequestId shutdown = Req();
  EXPECT_FALSE(Replied(Handle(input::Shutdown{shutdown}), shutdown));
  EXPECT_EQ(Call(input::Shutdown{Req()}),
            absl::ResourceExhaustedError(
                "RT-2: too many shutdown requests are already waiting"));
}

TEST(ChannelTableLimitsTest, CH1_ConfiguredCapacitiesAreEnforcedAndPrinted) {
  KoidAllocator koids;
  ChannelTable table(&koids, /*max_channels=*/2, /*max_queued_messages=*/1);
  EXPECT_EQ(table.max_channels(), 2u);
  EXPECT_EQ(table.max_queued_messages(), 1u);
  auto first = table.CreatePair();
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(table.CreatePair().ok());
  EXPECT_EQ(table.CreatePair().status(),
            absl::ResourceExhaustedError(
                "channel table is full: 2 channels are open"));
  EXPECT_EQ(table.Write(first->first, Message{"a", {}}), ChannelStatus::kOk);
  EXPECT_EQ(table.Write(first->first, Message{"b", {}}),
            ChannelStatus::kShouldWait);
  EXPECT_EQ(table.QueuedMessages(first->second), 1u);

  ChannelTable own(/*first_koid=*/100, /*max_channels=*/1);
  auto pair = own.CreatePair();
  ASSERT_TRUE(pair.ok());
  EXPECT_EQ(pair->first, EndpointId{100});
  EXPECT_EQ(own.max_queued_messages(), ChannelTable::kMaxQueuedMessages);
  EXPECT_FALSE(own.CreatePair().ok());
}

TEST(CounterTableLimitsTest, CT1_ConfiguredCapacityIsEnforcedAndPrinted) {
  KoidAllocator koids(50);
  CounterTable table(&koids, /*max_counters=*/1);
  EXPECT_EQ(table.max_counters(), 1u);
  auto counter = table.Create();
  ASSERT_TRUE(counter.ok());
  EXPECT_EQ(*counter, CounterId{50});
  EXPECT_EQ(table.Create().status(),
            absl::ResourceExhaustedError(
                "counter table is full: 1 counters are live"));
  CounterTable own(/*first_koid=*/7, /*max_counters=*/2);
  EXPECT_EQ(*own.Create(), CounterId{7});
  EXPECT_EQ(*own.Create(), CounterId{8});
  EXPECT_FALSE(own.Create().ok());
}

// The simulator's large world: 10,000 VMs and 10,000 proxies (20,000
// channels, 10,000 counters and as many wake sources) at once.
TEST_F(LimitsTest, VM1_PX1_ALargeWorldFitsOnceTheLimitsAreRaised) {
  constexpr uint64_t kGuests = 10000;
  RuntimeLimits limits;
  limits.max_vms = kGuests;
  limits.max_proxies = kGuests;
  limits.max_wake_sources = kGuests;
  Build(limits);
  KoidAllocator koids;
  ChannelTable channels(&koids, /*max_channels=*/2 * kGuests);
  CounterTable counters(&koids, /*max_counters=*/kGuests);
  for (uint64_t i = 0; i < kGuests; ++i) {
    const auto cid = static_cast<uint32_t>(kMinGuestCid + i);
    ASSERT_TRUE(Call(input::CreateVm{Req(), Config(cid)}).ok()) << cid;
    auto container_side = channels.CreatePair();
    auto remote_side = channels.CreatePair();
    auto counter = counters.Create();
    ASSERT_TRUE(container_side.ok() && remote_side.ok() && counter.ok()) << i;
    ASSERT_TRUE(Call(input::AddProxy{Req(), ProxyId{i}, container_side->first,
                                     remote_side->first, *counter,
                                     absl::StrCat("proxy-", i)})
                    .ok())
        << i;
  }
  EXPECT_EQ(supervisor_->vms().size(), kGuests);
  EXPECT_EQ(supervisor_->proxies().live(), kGuests);
  EXPECT_EQ(supervisor_->power().wake_sources().size(), kGuests);
  EXPECT_EQ(channels.open_channels(), 2 * kGuests);
  // One more of each is refused with the configured bound.
  EXPECT_EQ(Call(input::CreateVm{Req(), Config(kMinGuestCid + kGuests)}),
            absl::ResourceExhaustedError(
                "VM-1: too many live VMs; at most 10000 may exist at once"));
  EXPECT_EQ(Call(input::AddProxy{Req(), ProxyId{kGuests}, EndpointId{1u << 30},
                                 EndpointId{(1u << 30) + 1},
                                 CounterId{(1u << 30) + 2}, "x"}),
            absl::ResourceExhaustedError(
                "too many proxies: 10000 are live or stopped and not yet "
                "cleaned up"));
}

}  // namespace
}  // namespace proctor
