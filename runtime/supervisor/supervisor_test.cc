#include "runtime/supervisor/supervisor.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/model/testing/action_matchers.h"

namespace proctor {
namespace {

using action_testing::ActionNames;
using action_testing::OfType;

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Index of the first action of type T, or -1.
template <typename T>
int IndexOf(const ActionList& actions) {
  for (size_t i = 0; i < actions.size(); ++i) {
    if (std::holds_alternative<T>(actions[i])) return static_cast<int>(i);
  }
  return -1;
}

absl::Status ReplyStatus(const ActionList& actions, RequestId request) {
  for (const auto& r : OfType<action::Reply>(actions)) {
    if (r.request == request) return r.status;
  }
  return absl::InternalError("no reply");
}

bool Replied(const ActionList& actions, RequestId request) {
  for (const auto& r : OfType<action::Reply>(actions)) {
    if (r.request == request) return true;
  }
  return false;
}

Instant At(absl::Duration d) { return Instant{} + d; }

class SupervisorTest : public ::testing::Test {
 protected:
  ActionList Handle(absl::Duration t, Input in) {
    ActionList out;
    sup_.Handle(At(t), in, out);
    return out;
  }

  VmConfig Config(uint32_t cid) {
    VmConfig c;
    c.cid = Cid{cid};
    c.kernel = "/images/vmlinuz";
    return c;
  }

  // Creates and starts a VM, returning once it is Running.
  void RunVm(uint32_t cid, absl::Duration t) {
    ASSERT_TRUE(
        ReplyStatus(Handle(t, input::CreateVm{Req(), Config(cid)}), last_req_)
            .ok());
    ASSERT_TRUE(
        ReplyStatus(Handle(t, input::StartVm{Req(), Cid{cid}}), last_req_)
            .ok());
    Handle(t, input::VmmSpawned{Cid{cid}, std::nullopt});
    ASSERT_EQ(sup_.vms().Find(Cid{cid})->state(), VmState::kRunning);
  }

  // Installs and starts a container, returning once it has started.
  void RunContainer(uint64_t id, absl::Duration t) {
    ContainerId c{id};
    ASSERT_TRUE(
        ReplyStatus(Handle(t, input::InstallContainer{Req(), c, {}}), last_req_)
            .ok());
    RequestId start = Req();
    Handle(t, input::StartContainer{start, c});
    Handle(t, input::VmBooted{c, std::nullopt});
    Handle(t, input::AgentConnected{c, std::nullopt});
    Handle(t, input::ProcessCreated{c, std::nullopt});
    ActionList started = Handle(t, input::ProcessStarted{c, std::nullopt});
    ASSERT_TRUE(ReplyStatus(started, start).ok());
  }

  RequestId Req() {
    last_req_ = RequestId{++next_req_};
    return last_req_;
  }

  Supervisor sup_;
  uint64_t next_req_ = 0;
  RequestId last_req_;
};

TEST_F(SupervisorTest, RT1_RequestsAreAnsweredInArrivalOrder) {
  ActionList out;
  RequestId a = Req(), b = Req(), c = Req();
  sup_.Handle(At(absl::ZeroDuration()), input::CreateVm{a, Config(3)}, out);
  sup_.Handle(At(absl::ZeroDuration()), input::CreateVm{b, Config(4)}, out);
  sup_.Handle(At(absl::ZeroDuration()), input::KillVm{c, Cid{99}}, out);
  std::vector<RequestId> order;
  for (const auto& r : OfType<action::Reply>(out)) order.push_back(r.request);
  EXPECT_THAT(order, ElementsAre(a, b, c));
  EXPECT_EQ(ReplyStatus(out, c).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(sup_.inputs_handled(), 3u);
}

TEST_F(SupervisorTest, RT1_AGuestWaitingForItsExitBlocksNothingElse) {
  RunContainer(1, absl::ZeroDuration());
  // The stop waits for the container to exit (up to its grace)...
  RequestId stop = Req();
  ActionList stopping =
      Handle(absl::Seconds(1),
             input::StopContainer{stop, ContainerId{1}, absl::Seconds(10)});
  EXPECT_FALSE(Replied(stopping, stop));
  // ...while other requests and guests are served at once.
  RequestId create = Req();
  ActionList created =
      Handle(absl::Seconds(1), input::CreateVm{create, Config(7)});
  EXPECT_TRUE(ReplyStatus(created, create).ok());
  RequestId start = Req();
  ActionList started = Handle(absl::Seconds(1), input::StartVm{start, Cid{7}});
  EXPECT_EQ(OfType<action::SpawnVmm>(started).size(), 1u);
  EXPECT_TRUE(Replied(started, start));
  // The container's exit then completes the stop.
  ActionList exited =
      Handle(absl::Seconds(2),
             input::ContainerExited{ContainerId{1}, ExitStatus::Exited(0)});
  EXPECT_TRUE(ReplyStatus(exited, stop).ok());
}

TEST_F(SupervisorTest, RT1_HangupTimerIsRoutedToTheVm) {
  VmConfig c = Config(5);
  c.detect_hangup = true;
  c.hangup_timeout = absl::Seconds(3);
  Handle(absl::ZeroDuration(), input::CreateVm{Req(), c});
  Handle(absl::ZeroDuration(), input::StartVm{Req(), Cid{5}});
  ActionList spawned =
      Handle(absl::ZeroDuration(), input::VmmSpawned{Cid{5}, std::nullopt});
  ASSERT_EQ(OfType<action::ArmTimer>(spawned).size(), 1u);
  TimerId timer = OfType<action::ArmTimer>(spawned)[0].timer;
  ActionList fired = Handle(absl::Seconds(3), input::TimerFired{timer});
  EXPECT_EQ(OfType<action::KillVmm>(fired).size(), 1u);
  ActionList died = Handle(absl::Seconds(3),
                           input::VmmExited{Cid{5}, ExitStatus::Signalled(9)});
  ASSERT_EQ(OfType<action::OnDied>(died).size(), 1u);
  EXPECT_EQ(OfType<action::OnDied>(died)[0].reason, DeathReason::kHangup);
}

TEST_F(SupervisorTest, PW1_AddingAProxyRegistersItsCounterAsAWakeSource) {
  RequestId add = Req();
  ActionList out =
      Handle(absl::ZeroDuration(),
             input::AddProxy{add, ProxyId{1}, EndpointId{10}, EndpointId{11},
                             CounterId{12}, "wake-channel"});
  auto added = OfType<action::WakeSourceAdded>(out);
  ASSERT_EQ(added.size(), 1u);
  EXPECT_EQ(added[0].source, WakeSourceId{12});
  EXPECT_EQ(added[0].name, "wake-channel");
  EXPECT_TRUE(ReplyStatus(out, add).ok());
  EXPECT_LT(IndexOf<action::WakeSourceAdded>(out), IndexOf<action::Reply>(out));
}

TEST_F(SupervisorTest, PW1_ARefusedProxyRegistersNothing) {
  Handle(absl::ZeroDuration(),
         input::AddProxy{Req(), ProxyId{1}, EndpointId{10}, EndpointId{11},
                         CounterId{12}, "a"});
  RequestId dup = Req();
  ActionList out = Handle(absl::ZeroDuration(),
                          input::AddProxy{dup, ProxyId{1}, EndpointId{20},
                                          EndpointId{21}, CounterId{22}, "b"});
  EXPECT_EQ(ReplyStatus(out, dup).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(OfType<action::WakeSourceAdded>(out), IsEmpty());
}

TEST_F(SupervisorTest, PW4_MessageInFlightToTheContainerBlocksSuspend) {
  Handle(absl::ZeroDuration(),
         input::AddProxy{Req(), ProxyId{1}, EndpointId{10}, EndpointId{11},
                         CounterId{12}, "wake"});
  // A message arrives from the remote side: the proxy reads it and adds one
  // to the counter before writing it to the container.
  ActionList readable =
      Handle(absl::Milliseconds(1),
             input::EndpointSignalled{EndpointId{11}, kSignalReadable});
  ASSERT_EQ(OfType<action::ReadMessage>(readable).size(), 1u);
  ActionList read =
      Handle(absl::Milliseconds(1),
             input::MessageRead{EndpointId{11}, ChannelStatus::kOk,
                                Message{"hello", {}}});
  ASSERT_EQ(OfType<action::CounterAdd>(read).size(), 1u);
  EXPECT_THAT(OfType<action::WriteMessage>(read), IsEmpty());
  ActionList added =
      Handle(absl::Milliseconds(1),
             input::CounterAdded{CounterId{12}, ChannelStatus::kOk, 1});
  ASSERT_EQ(OfType<action::WriteMessage>(added).size(), 1u);
  // The message is in the container's queue: a suspend must be refused.
  RequestId suspend = Req();
  ActionList refused =
      Handle(absl::Milliseconds(2), input::SuspendContainer{suspend});
  EXPECT_EQ(ReplyStatus(refused, suspend).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(OfType<action::SuspendGuest>(refused), IsEmpty());
  // Once the container has handled it, the suspend succeeds.
  Handle(absl::Milliseconds(3), input::CounterChanged{CounterId{12}, 0});
  RequestId again = Req();
  ActionList ok = Handle(absl::Milliseconds(4), input::SuspendContainer{again});
  EXPECT_EQ(OfType<action::SuspendGuest>(ok).size(), 1u);
  EXPECT_FALSE(Replied(ok, again));  // pending until something wakes it
}

TEST_F(SupervisorTest, PX4_StoppedProxyRemovesItsWakeSource) {
  Handle(absl::ZeroDuration(),
         input::AddProxy{Req(), ProxyId{1}, EndpointId{10}, EndpointId{11},
                         CounterId{12}, "wake"});
  // The container side closes with nothing queued: the proxy stops.
  ActionList closed =
      Handle(absl::Milliseconds(1),
             input::EndpointSignalled{EndpointId{10}, kSignalPeerClosed});
  ActionList all = closed;
  // Drain reads until the proxy has stopped (it may first check for
  // messages still readable on the closed side).
  for (int i = 0; i < 4 && OfType<action::ProxyStopped>(all).empty(); ++i) {
    auto reads = OfType<action::ReadMessage>(closed);
    if (reads.empty()) break;
    closed = Handle(absl::Milliseconds(1),
                    input::MessageRead{
                        reads.back().endpoint, ChannelStatus::kPeerClosed, {}});
    all.insert(all.end(), closed.begin(), closed.end());
  }
  ASSERT_EQ(OfType<action::ProxyStopped>(all).size(), 1u);
  auto removed = OfType<action::WakeSourceRemoved>(all);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].source, WakeSourceId{12});
  EXPECT_EQ(sup_.proxies().live(), 0u);
}

// Adds proxy 1 (container endpoint 10, remote 11, counter 12) and forwards
// one message into the container; then the remote closes and the proxy,
// drained, stops. Returns the actions of the stopping step. The message is
// still unhandled: the counter reads 1.
ActionList StopProxyWithOneUnhandledMessage(Supervisor& sup, RequestId add) {
  ActionList out;
  const Instant t = At(absl::Milliseconds(1));
  sup.Handle(t,
             input::AddProxy{add, ProxyId{1}, EndpointId{10}, EndpointId{11},
                             CounterId{12}, "wake"},
             out);
  sup.Handle(t, input::EndpointSignalled{EndpointId{11}, kSignalReadable}, out);
  sup.Handle(t,
             input::MessageRead{EndpointId{11}, ChannelStatus::kOk,
                                Message{"hello", {}}},
             out);
  sup.Handle(t, input::CounterAdded{CounterId{12}, ChannelStatus::kOk, 1}, out);
  sup.Handle(t, input::MessageWritten{EndpointId{10}, ChannelStatus::kOk}, out);
  // The proxy reads on; the remote has closed.
  ActionList stopped;
  sup.Handle(t,
             input::MessageRead{EndpointId{11}, ChannelStatus::kPeerClosed, {}},
             stopped);
  return stopped;
}

TEST_F(SupervisorTest,
       PX4_StoppedProxyKeepsItsSourceUntilItsMessagesAreHandled) {
  ActionList stopped = StopProxyWithOneUnhandledMessage(sup_, Req());
  EXPECT_THAT(ActionNames(stopped),
              ElementsAre("close_endpoint", "close_endpoint", "proxy_stopped"));
  EXPECT_EQ(sup_.proxies().live(), 0u);
  EXPECT_TRUE(sup_.power().retiring(CounterId{12}));

  // PW-4: the message the proxy wrote is still unhandled.
  RequestId suspend = Req();
  ActionList refused =
      Handle(absl::Milliseconds(2), input::SuspendContainer{suspend});
  EXPECT_EQ(
      ReplyStatus(refused, suspend),
      absl::FailedPreconditionError("PW-3: wake source 'wake' (12) is active"));
  EXPECT_THAT(OfType<action::SuspendGuest>(refused), IsEmpty());

  // The container handles it: the source goes, and a suspend succeeds.
  ActionList handled =
      Handle(absl::Milliseconds(3), input::CounterChanged{CounterId{12}, 0});
  EXPECT_THAT(ActionNames(handled), ElementsAre("wake_source_removed"));
  EXPECT_EQ(OfType<action::WakeSourceRemoved>(handled)[0].source,
            WakeSourceId{12});
  ActionList suspended =
      Handle(absl::Milliseconds(4), input::SuspendContainer{Req()});
  EXPECT_THAT(ActionNames(suspended), ElementsAre("suspend_guest"));
}

TEST_F(SupervisorTest, PX4_ACountCompletingAfterTheStopDelaysTheRemoval) {
  StopProxyWithOneUnhandledMessage(sup_, Req());
  // A counter_added for the stopped proxy still tells the counter's value.
  ActionList late =
      Handle(absl::Milliseconds(2),
             input::CounterAdded{CounterId{12}, ChannelStatus::kOk, 2});
  EXPECT_THAT(late, IsEmpty());
  EXPECT_THAT(
      Handle(absl::Milliseconds(3), input::CounterChanged{CounterId{12}, 1}),
      IsEmpty());
  EXPECT_THAT(ActionNames(Handle(absl::Milliseconds(4),
                                 input::CounterChanged{CounterId{12}, 0})),
              ElementsAre("wake_source_removed"));
}

TEST_F(SupervisorTest, PX4_SourceGoesOnceTheTakeBackLeavesTheCounterAtZero) {
  Handle(absl::ZeroDuration(),
         input::AddProxy{Req(), ProxyId{1}, EndpointId{10}, EndpointId{11},
                         CounterId{12}, "wake"});
  Handle(absl::Milliseconds(1),
         input::EndpointSignalled{EndpointId{11}, kSignalReadable});
  ActionList read =
      Handle(absl::Milliseconds(1),
             input::MessageRead{EndpointId{11}, ChannelStatus::kOk,
                                Message{"hello", {}}});
  ASSERT_THAT(ActionNames(read), ElementsAre("counter_add"));
  // The container closes its end while the count is in flight; its side is
  // drained, but the proxy waits for its count.
  ActionList closed =
      Handle(absl::Milliseconds(2),
             input::EndpointSignalled{EndpointId{10}, kSignalPeerClosed});
  ASSERT_THAT(ActionNames(closed), ElementsAre("read_message"));
  EXPECT_THAT(Handle(absl::Milliseconds(2),
                     input::MessageRead{
                         EndpointId{10}, ChannelStatus::kPeerClosed, {}}),
              IsEmpty());
  EXPECT_EQ(sup_.proxies().live(), 1u);
  // The count completes: the message cannot enter, so it is taken back.
  ActionList added =
      Handle(absl::Milliseconds(3),
             input::CounterAdded{CounterId{12}, ChannelStatus::kOk, 1});
  ASSERT_THAT(ActionNames(added), ElementsAre("counter_add"));
  EXPECT_EQ(OfType<action::CounterAdd>(added)[0].delta, -1);
  // Meanwhile the source keeps the container awake.
  RequestId suspend = Req();
  ActionList refused =
      Handle(absl::Milliseconds(3), input::SuspendContainer{suspend});
  EXPECT_EQ(ReplyStatus(refused, suspend).code(),
            absl::StatusCode::kFailedPrecondition);
  // The take-back leaves it at 0: the proxy stops and the source goes in
  // the same step.
  ActionList taken_back =
      Handle(absl::Milliseconds(4),
             input::CounterAdded{CounterId{12}, ChannelStatus::kOk, 0});
  EXPECT_THAT(ActionNames(taken_back),
              ElementsAre("close_endpoint", "close_endpoint", "proxy_stopped",
                          "wake_source_removed"));
  EXPECT_EQ(OfType<action::WakeSourceRemoved>(taken_back)[0].source,
            WakeSourceId{12});
  EXPECT_EQ(sup_.proxies().live(), 0u);
  EXPECT_FALSE(sup_.power().retiring(CounterId{12}));
  ActionList suspended =
      Handle(absl::Milliseconds(5), input::SuspendContainer{Req()});
  EXPECT_THAT(ActionNames(suspended), ElementsAre("suspend_guest"));
}

TEST_F(SupervisorTest,
       RT2_RetiringSourceIsRemovedWhenHostResourcesAreReleased) {
  StopProxyWithOneUnhandledMessage(sup_, Req());
  RequestId shutdown = Req();
  ActionList out = Handle(absl::Seconds(1), input::Shutdown{shutdown});
  EXPECT_THAT(ActionNames(out),
              ElementsAre("wake_source_removed", "release_host_resources",
                          "shutdown_complete", "reply"));
  EXPECT_EQ(OfType<action::WakeSourceRemoved>(out)[0].source, WakeSourceId{12});
  EXPECT_TRUE(ReplyStatus(out, shutdown).ok());
  EXPECT_FALSE(sup_.power().retiring(CounterId{12}));
}

TEST_F(SupervisorTest, RT2_ShutdownWithNothingRunningCompletesAtOnce) {
  RequestId shutdown = Req();
  ActionList out = Handle(absl::ZeroDuration(), input::Shutdown{shutdown});
  EXPECT_THAT(ActionNames(out), ElementsAre("release_host_resources",
                                            "shutdown_complete", "reply"));
  EXPECT_TRUE(ReplyStatus(out, shutdown).ok());
  EXPECT_EQ(sup_.phase(), Supervisor::Phase::kShutDown);
}

TEST_F(SupervisorTest, RT2_ShutdownStopsEveryGuestAndWaitsForEach) {
  RunVm(3, absl::ZeroDuration());
  RunContainer(1, absl::ZeroDuration());
  RequestId shutdown = Req();
  ActionList begun = Handle(absl::Seconds(1), input::Shutdown{shutdown});
  ASSERT_EQ(OfType<action::KillVmm>(begun).size(), 1u);
  auto signals = OfType<action::SignalContainer>(begun);
  ASSERT_EQ(signals.size(), 1u);
  EXPECT_EQ(signals[0].signal, kSigTerm);
  EXPECT_FALSE(Replied(begun, shutdown));
  EXPECT_THAT(OfType<action::ShutdownComplete>(begun), IsEmpty());

  ActionList vm_gone = Handle(
      absl::Seconds(1), input::VmmExited{Cid{3}, ExitStatus::Signalled(9)});
  Handle(absl::Seconds(1), input::FailureReasonRead{Cid{3}, ""});
  EXPECT_FALSE(Replied(vm_gone, shutdown));
  EXPECT_EQ(sup_.phase(), Supervisor::Phase::kShuttingDown);

  ActionList done =
      Handle(absl::Seconds(2),
             input::ContainerExited{ContainerId{1}, ExitStatus::Signalled(15)});
  EXPECT_GE(IndexOf<action::ReleaseHostResources>(done), 0);
  EXPECT_LT(IndexOf<action::ReleaseHostResources>(done),
            IndexOf<action::ShutdownComplete>(done));
  EXPECT_TRUE(ReplyStatus(done, shutdown).ok());
  EXPECT_EQ(sup_.phase(), Supervisor::Phase::kShutDown);
}

TEST_F(SupervisorTest, RT2_CompletesWhenAGuestIgnoresSigterm) {
  RunContainer(1, absl::ZeroDuration());
  RequestId shutdown = Req();
  ActionList begun = Handle(absl::Seconds(1), input::Shutdown{shutdown});
  auto timers = OfType<action::ArmTimer>(begun);
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].deadline, At(absl::Seconds(11)));  // default grace 10 s
  // The container ignores SIGTERM; at the end of the grace it gets SIGKILL.
  ActionList fired =
      Handle(absl::Seconds(11), input::TimerFired{timers[0].timer});
  auto kills = OfType<action::SignalContainer>(fired);
  ASSERT_EQ(kills.size(), 1u);
  EXPECT_EQ(kills[0].signal, kSigKill);
  ActionList done = Handle(
      absl::Seconds(11),
      input::ContainerExited{ContainerId{1}, ExitStatus::Signalled(kSigKill)});
  EXPECT_TRUE(ReplyStatus(done, shutdown).ok());
  EXPECT_EQ(OfType<action::ShutdownComplete>(done).size(), 1u);
}

TEST_F(SupervisorTest, RT2_RefusesNewRequestsOnceShutdownBegins) {
  RunVm(3, absl::ZeroDuration());
  Handle(absl::Seconds(1), input::Shutdown{Req()});
  RequestId create = Req();
  ActionList out = Handle(absl::Seconds(1), input::CreateVm{create, Config(4)});
  absl::Status s = ReplyStatus(out, create);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "RT-2: runtime is shutting down");
  EXPECT_THAT(OfType<action::SpawnVmm>(out), IsEmpty());
}

TEST_F(SupervisorTest, RT2_ShutdownIsIdempotent) {
  RunVm(3, absl::ZeroDuration());
  RequestId first = Req(), second = Req();
  Handle(absl::Seconds(1), input::Shutdown{first});
  ActionList dup = Handle(absl::Seconds(1), input::Shutdown{second});
  EXPECT_FALSE(Replied(dup, second));
  EXPECT_THAT(OfType<action::KillVmm>(dup), IsEmpty());  // not killed twice
  Handle(absl::Seconds(2), input::VmmExited{Cid{3}, ExitStatus::Signalled(9)});
  ActionList done =
      Handle(absl::Seconds(2), input::FailureReasonRead{Cid{3}, ""});
  EXPECT_TRUE(ReplyStatus(done, first).ok());
  EXPECT_TRUE(ReplyStatus(done, second).ok());
  EXPECT_EQ(OfType<action::ShutdownComplete>(done).size(), 1u);
  RequestId late = Req();
  ActionList again = Handle(absl::Seconds(3), input::Shutdown{late});
  EXPECT_TRUE(ReplyStatus(again, late).ok());
  EXPECT_THAT(OfType<action::ShutdownComplete>(again), IsEmpty());
}

TEST_F(SupervisorTest, RT2_ShutdownResumesASuspendedContainer) {
  RequestId suspend = Req();
  ActionList suspended =
      Handle(absl::ZeroDuration(), input::SuspendContainer{suspend});
  ASSERT_EQ(OfType<action::SuspendGuest>(suspended).size(), 1u);
  RequestId shutdown = Req();
  ActionList out = Handle(absl::Seconds(1), input::Shutdown{shutdown});
  EXPECT_EQ(OfType<action::ResumeGuest>(out).size(), 1u);
  EXPECT_EQ(ReplyStatus(out, suspend).code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(ReplyStatus(out, shutdown).ok());
}

TEST_F(SupervisorTest, RT2_AVmSpawningWhenShutdownBeginsIsKilledOnceRunning) {
  Handle(absl::ZeroDuration(), input::CreateVm{Req(), Config(3)});
  Handle(absl::ZeroDuration(), input::StartVm{Req(), Cid{3}});
  RequestId shutdown = Req();
  ActionList begun = Handle(absl::Seconds(1), input::Shutdown{shutdown});
  EXPECT_THAT(OfType<action::KillVmm>(begun), IsEmpty());
  ActionList spawned =
      Handle(absl::Seconds(1), input::VmmSpawned{Cid{3}, std::nullopt});
  EXPECT_EQ(OfType<action::KillVmm>(spawned).size(), 1u);
  Handle(absl::Seconds(2), input::VmmExited{Cid{3}, ExitStatus::Signalled(9)});
  ActionList done =
      Handle(absl::Seconds(2), input::FailureReasonRead{Cid{3}, ""});
  EXPECT_TRUE(ReplyStatus(done, shutdown).ok());
}

TEST_F(SupervisorTest, RT2_ProxiesAreClosedWhenHostResourcesAreReleased) {
  Handle(absl::ZeroDuration(),
         input::AddProxy{Req(), ProxyId{1}, EndpointId{10}, EndpointId{11},
                         CounterId{12}, "wake"});
  ActionList out = Handle(absl::Seconds(1), input::Shutdown{Req()});
  EXPECT_EQ(OfType<action::CloseEndpoint>(out).size(), 2u);
  EXPECT_EQ(OfType<action::ProxyStopped>(out).size(), 1u);
  EXPECT_EQ(OfType<action::WakeSourceRemoved>(out).size(), 1u);
  EXPECT_LT(IndexOf<action::ProxyStopped>(out),
            IndexOf<action::ReleaseHostResources>(out));
}

}  // namespace
}  // namespace proctor
