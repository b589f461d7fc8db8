// Every mutant of runtime/model/mutants.h, switched on through
// Supervisor::Options::mutants: the same inputs are handed to a reference
// supervisor and to one with the mutant, and each test asserts the
// observable difference, so a switch that does nothing fails its test. Also
// checks the list itself: names, rules and descriptions.
#include "runtime/model/mutants.h"

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/model/testing/action_matchers.h"
#include "runtime/supervisor/supervisor.h"

namespace proctor {
namespace {

using action_testing::ActionNames;
using action_testing::OfType;

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// The reply to `request` among `actions`, or nullopt.
std::optional<action::Reply> ReplyTo(const ActionList& actions,
                                     RequestId request) {
  for (const action::Reply& reply : OfType<action::Reply>(actions)) {
    if (reply.request == request) return reply;
  }
  return std::nullopt;
}

Instant At(absl::Duration d) { return Instant{} + d; }

constexpr Cid kCid{5};
constexpr ProxyId kProxy{1};
constexpr EndpointId kContainerEnd{10};
constexpr EndpointId kRemoteEnd{11};
constexpr CounterId kCounter{12};
constexpr ContainerId kContainer{1};

Message Msg(absl::string_view bytes) { return Message{std::string(bytes), {}}; }

// One supervisor, with or without mutants, and the inputs the tests drive it
// with.
class Runtime {
 public:
  explicit Runtime(MutantSet mutants = {}) : supervisor_(Options(mutants)) {}

  ActionList Handle(absl::Duration t, Input input) {
    ActionList out;
    supervisor_.Handle(At(t), input, out);
    return out;
  }

  RequestId NextRequest() { return RequestId{++requests_}; }

  // A VM with cid kCid, Running since `t`.
  void RunVm(absl::Duration t, bool detect_hangup) {
    VmConfig config;
    config.cid = kCid;
    config.kernel = "/images/vmlinuz";
    config.detect_hangup = detect_hangup;
    const RequestId create = NextRequest();
    ASSERT_TRUE(ReplyTo(Handle(t, input::CreateVm{create, config}), create)
                    ->status.ok());
    const RequestId start = NextRequest();
    ASSERT_TRUE(
        ReplyTo(Handle(t, input::StartVm{start, kCid}), start)->status.ok());
    Handle(t, input::VmmSpawned{kCid, std::nullopt});
    ASSERT_EQ(supervisor_.vms().Find(kCid)->state(), VmState::kRunning);
  }

  // Proxy kProxy between kContainerEnd and kRemoteEnd, counting on kCounter.
  void AddProxy() {
    const RequestId add = NextRequest();
    ActionList out = Handle(absl::ZeroDuration(),
                            input::AddProxy{add, kProxy, kContainerEnd,
                                            kRemoteEnd, kCounter, "fidl"});
    ASSERT_TRUE(ReplyTo(out, add)->status.ok());
  }

  // Container kContainer with `spec`, started at `t`.
  void RunContainer(absl::Duration t, ContainerSpec spec = {}) {
    const RequestId install = NextRequest();
    ASSERT_TRUE(
        ReplyTo(Handle(t, input::InstallContainer{install, kContainer, spec}),
                install)
            ->status.ok());
    const RequestId start = NextRequest();
    Handle(t, input::StartContainer{start, kContainer});
    Handle(t, input::VmBooted{kContainer, std::nullopt});
    Handle(t, input::AgentConnected{kContainer, std::nullopt});
    Handle(t, input::ProcessCreated{kContainer, std::nullopt});
    ASSERT_TRUE(
        ReplyTo(Handle(t, input::ProcessStarted{kContainer, std::nullopt}),
                start)
            ->status.ok());
  }

  const Supervisor& supervisor() const { return supervisor_; }

 private:
  static Supervisor::Options Options(MutantSet mutants) {
    Supervisor::Options options;
    options.mutants = mutants;
    return options;
  }

  Supervisor supervisor_;
  uint64_t requests_ = 0;
};

// ---- The list ----

// The rule IDs of docs/spec.md.
const std::set<std::string>& SpecRuleIds() {
  static const std::set<std::string>* const ids = new std::set<std::string>{
      "VM-1", "VM-2", "VM-3", "VM-4", "VM-5",  "VM-6", "VM-7", "VM-8",
      "VM-9", "CH-1", "CT-1", "PX-1", "PX-2",  "PX-3", "PX-4", "PW-1",
      "PW-2", "PW-3", "PW-4", "CN-1", "CN-2",  "CN-3", "CN-4", "CN-5",
      "CN-6", "CN-7", "CN-8", "CN-9", "CN-10", "RT-1", "RT-2"};
  return *ids;
}

bool IsValidMutantName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

class MutantListTest : public ::testing::TestWithParam<MutantInfo> {};

TEST_P(MutantListTest, IsWellFormed) {
  const MutantInfo& info = GetParam();
  EXPECT_TRUE(IsValidMutantName(info.name)) << info.name;
  EXPECT_TRUE(SpecRuleIds().contains(std::string(info.rule))) << info.rule;
  EXPECT_FALSE(info.description.empty());
  // InfoOf indexes the list by the enum: the order must match.
  EXPECT_EQ(InfoOf(info.mutant).name, info.name);
  int same_name = 0;
  for (const MutantInfo& other : AllMutants()) {
    if (other.name == info.name) ++same_name;
  }
  EXPECT_EQ(same_name, 1) << info.name << " is listed twice";
}

TEST_P(MutantListTest, ParseMutantRoundTrips) {
  const MutantInfo& info = GetParam();
  EXPECT_EQ(ParseMutant(info.name), info.mutant);
  EXPECT_EQ(ParseMutant(absl::StrCat(info.name, "-not")), std::nullopt);
  EXPECT_EQ(ParseMutant(info.rule), std::nullopt);
  EXPECT_TRUE(MutantSet::Of(info.mutant).Has(info.mutant));
  EXPECT_FALSE(MutantSet{}.Has(info.mutant));
}

// Each instance is named after the rule it breaks, e.g.
// All/MutantListTest.IsWellFormed/PX3_proxy_one_per_wake.
INSTANTIATE_TEST_SUITE_P(All, MutantListTest, ::testing::ValuesIn(AllMutants()),
                         [](const ::testing::TestParamInfo<MutantInfo>& param) {
                           std::string name;
                           for (char c : param.param.rule) {
                             if (c != '-') name.push_back(c);
                           }
                           name.push_back('_');
                           for (char c : param.param.name)
                             name.push_back(c == '-' ? '_' : c);
                           return name;
                         });

// ---- PX-3: proxy-one-per-wake ----

TEST(MutantTest, PX3_ProxyOnePerWakeStopsReadingAfterOneMessage) {
  Runtime reference;
  Runtime mutant(MutantSet::Of(Mutant::kProxyOnePerWake));
  for (Runtime* rt : {&reference, &mutant}) {
    rt->AddProxy();
    const absl::Duration t = absl::Milliseconds(1);
    EXPECT_THAT(ActionNames(rt->Handle(
                    t, input::EndpointSignalled{kRemoteEnd, kSignalReadable})),
                ElementsAre("read_message"));
    EXPECT_THAT(
        ActionNames(rt->Handle(
            t, input::MessageRead{kRemoteEnd, ChannelStatus::kOk, Msg("m1")})),
        ElementsAre("counter_add"));
    EXPECT_THAT(ActionNames(rt->Handle(
                    t, input::CounterAdded{kCounter, ChannelStatus::kOk, 1})),
                ElementsAre("write_message"));
  }
  const absl::Duration t = absl::Milliseconds(2);
  const input::MessageWritten written{kContainerEnd, ChannelStatus::kOk};
  // The reference keeps draining: the world signals edges, so more may wait.
  ActionList ref = reference.Handle(t, written);
  ASSERT_THAT(ActionNames(ref), ElementsAre("read_message"));
  EXPECT_EQ(OfType<action::ReadMessage>(ref)[0].endpoint, kRemoteEnd);
  // The mutant waits for another signal.
  EXPECT_THAT(mutant.Handle(t, written), IsEmpty());

  const input::EndpointSignalled again{kRemoteEnd, kSignalReadable};
  EXPECT_THAT(reference.Handle(t, again), IsEmpty());  // its read is pending
  EXPECT_THAT(ActionNames(mutant.Handle(t, again)),
              ElementsAre("read_message"));
}

TEST(MutantTest, PX3_ProxyOnePerWakeLosesQueuedMessagesOnClose) {
  Runtime reference;
  Runtime mutant(MutantSet::Of(Mutant::kProxyOnePerWake));
  reference.AddProxy();
  mutant.AddProxy();
  const absl::Duration t = absl::Milliseconds(1);
  const input::EndpointSignalled closed{kRemoteEnd,
                                        kSignalReadable | kSignalPeerClosed};
  // PX-3: the reference drains what the remote wrote before closing.
  ActionList ref = reference.Handle(t, closed);
  ASSERT_THAT(ActionNames(ref), ElementsAre("read_message"));
  EXPECT_EQ(OfType<action::ReadMessage>(ref)[0].endpoint, kRemoteEnd);
  // The mutant stops at once, closing both endpoints.
  ActionList mut = mutant.Handle(t, closed);
  ASSERT_THAT(ActionNames(mut),
              ElementsAre("close_endpoint", "close_endpoint", "proxy_stopped",
                          "wake_source_removed"));
  EXPECT_EQ(OfType<action::CloseEndpoint>(mut)[0].endpoint, kContainerEnd);
  EXPECT_EQ(OfType<action::CloseEndpoint>(mut)[1].endpoint, kRemoteEnd);
  EXPECT_EQ(OfType<action::ProxyStopped>(mut)[0].proxy, kProxy);
  EXPECT_EQ(mutant.supervisor().proxies().live(), 0u);
  // The queued message reaches the container only in the reference.
  const input::MessageRead read{kRemoteEnd, ChannelStatus::kOk, Msg("last")};
  EXPECT_THAT(ActionNames(reference.Handle(t, read)),
              ElementsAre("counter_add"));
  EXPECT_THAT(mutant.Handle(t, read), IsEmpty());
}

// ---- PX-2: proxy-count-after-write ----

TEST(MutantTest, PX2_ProxyCountAfterWriteWritesBeforeCounting) {
  Runtime reference;
  Runtime mutant(MutantSet::Of(Mutant::kProxyCountAfterWrite));
  const absl::Duration t = absl::Milliseconds(1);
  const input::MessageRead read{kRemoteEnd, ChannelStatus::kOk, Msg("m1")};
  for (Runtime* rt : {&reference, &mutant}) {
    rt->AddProxy();
    rt->Handle(t, input::EndpointSignalled{kRemoteEnd, kSignalReadable});
  }
  // PX-2: count first, then write.
  ActionList ref = reference.Handle(t, read);
  ASSERT_THAT(ActionNames(ref), ElementsAre("counter_add"));
  EXPECT_EQ(OfType<action::CounterAdd>(ref)[0].counter, kCounter);
  EXPECT_EQ(OfType<action::CounterAdd>(ref)[0].delta, 1);
  ref =
      reference.Handle(t, input::CounterAdded{kCounter, ChannelStatus::kOk, 1});
  ASSERT_THAT(ActionNames(ref), ElementsAre("write_message"));
  EXPECT_THAT(ActionNames(reference.Handle(
                  t, input::MessageWritten{kContainerEnd, ChannelStatus::kOk})),
              ElementsAre("read_message"));

  // The mutant writes first and counts once the write is done.
  ActionList mut = mutant.Handle(t, read);
  ASSERT_THAT(ActionNames(mut), ElementsAre("write_message"));
  EXPECT_EQ(OfType<action::WriteMessage>(mut)[0].endpoint, kContainerEnd);
  EXPECT_EQ(OfType<action::WriteMessage>(mut)[0].message, Msg("m1"));
  mut = mutant.Handle(t,
                      input::MessageWritten{kContainerEnd, ChannelStatus::kOk});
  ASSERT_THAT(ActionNames(mut), ElementsAre("counter_add"));
  EXPECT_EQ(OfType<action::CounterAdd>(mut)[0].delta, 1);
  // The count completes the forward: the proxy reads on.
  EXPECT_THAT(ActionNames(mutant.Handle(
                  t, input::CounterAdded{kCounter, ChannelStatus::kOk, 1})),
              ElementsAre("read_message"));
  EXPECT_EQ(
      mutant.supervisor().proxies().Find(kProxy)->forwarded_to_container(), 1u);
}

// ---- VM-4: payload-backward ----

TEST(MutantTest, VM4_PayloadBackwardAcceptsABackwardReport) {
  Runtime reference;
  Runtime mutant(MutantSet::Of(Mutant::kPayloadBackward));
  const absl::Duration t = absl::Seconds(1);
  for (Runtime* rt : {&reference, &mutant}) {
    rt->RunVm(absl::ZeroDuration(), /*detect_hangup=*/false);
    EXPECT_THAT(ActionNames(rt->Handle(
                    t, input::PayloadReported{kCid, PayloadState::kReady})),
                ElementsAre("payload_state"));
  }
  const input::PayloadReported backward{kCid, PayloadState::kStarting};
  ActionList ref = reference.Handle(t, backward);
  ASSERT_THAT(ActionNames(ref), ElementsAre("guest_error"));
  EXPECT_EQ(OfType<action::GuestError>(ref)[0].message,
            "VM-4: invalid payload state transition from READY to STARTING");
  EXPECT_EQ(reference.supervisor().vms().Find(kCid)->payload_state(),
            PayloadState::kReady);

  ActionList mut = mutant.Handle(t, backward);
  ASSERT_THAT(ActionNames(mut), ElementsAre("payload_state"));
  EXPECT_EQ(OfType<action::PayloadStateChanged>(mut)[0].state,
            PayloadState::kStarting);
  EXPECT_EQ(mutant.supervisor().vms().Find(kCid)->payload_state(),
            PayloadState::kStarting);
  // An equal report is accepted too.
  EXPECT_THAT(ActionNames(mutant.Handle(t, backward)),
              ElementsAre("payload_state"));
}

// ---- VM-5: hangup-ignores-exit ----

TEST(MutantTest, VM5_HangupIgnoresExitWaitsForTheTimeoutAndSaysHangup) {
  Runtime reference;
  Runtime mutant(MutantSet::Of(Mutant::kHangupIgnoresExit));
  for (Runtime* rt : {&reference, &mutant}) {
    rt->RunVm(absl::ZeroDuration(), /*detect_hangup=*/true);
  }
  // The VMM crashes during boot, long before the 10 s hangup timeout.
  const input::VmmExited exited{kCid, ExitStatus::Exited(33)};
  ActionList ref = reference.Handle(absl::Seconds(1), exited);
  EXPECT_THAT(ActionNames(ref),
              ElementsAre("vm_state", "cancel_timer", "read_failure_reason"));
  ActionList mut = mutant.Handle(absl::Seconds(1), exited);
  ASSERT_THAT(ActionNames(mut), ElementsAre("vm_state"));
  EXPECT_EQ(OfType<action::VmStateChanged>(mut)[0].state, VmState::kDead);

  const input::FailureReasonRead read{kCid, ""};
  ref = reference.Handle(absl::Seconds(1), read);
  ASSERT_THAT(ActionNames(ref), ElementsAre("on_died", "remove_temp_dir"));
  EXPECT_EQ(OfType<action::OnDied>(ref)[0].reason, DeathReason::kCrash);
  EXPECT_THAT(mutant.Handle(absl::Seconds(1), read), IsEmpty());
  EXPECT_TRUE(reference.supervisor().vms().AllSettled());
  EXPECT_FALSE(mutant.supervisor().vms().AllSettled());

  // At the deadline the mutant's wait ends, with the reason VM-5 forbids
  // and no kill: the VMM is long gone.
  const input::TimerFired fired{TimerId{TimerKind::kHangup, kCid.value}};
  EXPECT_THAT(reference.Handle(absl::Seconds(10), fired), IsEmpty());
  mut = mutant.Handle(absl::Seconds(10), fired);
  ASSERT_THAT(ActionNames(mut), ElementsAre("on_died", "remove_temp_dir"));
  EXPECT_EQ(OfType<action::OnDied>(mut)[0].reason, DeathReason::kHangup);
  EXPECT_TRUE(mutant.supervisor().vms().AllSettled());
}

// ---- VM-6: failure-reason-ignored ----

TEST(MutantTest, VM6_FailureReasonIgnoredClassifiesByTheExitAlone) {
  Runtime reference;
  Runtime mutant(MutantSet::Of(Mutant::kFailureReasonIgnored));
  std::vector<DeathReason> reasons;
  for (Runtime* rt : {&reference, &mutant}) {
    rt->RunVm(absl::ZeroDuration(), /*detect_hangup=*/false);
    rt->Handle(absl::Seconds(1), input::VmmExited{kCid, ExitStatus::Exited(1)});
    ActionList died = rt->Handle(
        absl::Seconds(1),
        input::FailureReasonRead{kCid, "MICRODROID_PAYLOAD_HAS_CHANGED\n"});
    ASSERT_THAT(ActionNames(died), ElementsAre("on_died", "remove_temp_dir"));
    reasons.push_back(OfType<action::OnDied>(died)[0].reason);
  }
  EXPECT_THAT(reasons, ElementsAre(DeathReason::kMicrodroidPayloadHasChanged,
                                   DeathReason::kError));
}

// ---- VM-7: on-died-twice ----

TEST(MutantTest, VM7_OnDiedTwiceDeliversTheCallbackTwice) {
  Runtime reference;
  Runtime mutant(MutantSet::Of(Mutant::kOnDiedTwice));
  std::vector<ActionList> died;
  for (Runtime* rt : {&reference, &mutant}) {
    rt->RunVm(absl::ZeroDuration(), /*detect_hangup=*/false);
    rt->Handle(absl::Seconds(1), input::VmmExited{kCid, ExitStatus::Exited(0)});
    died.push_back(
        rt->Handle(absl::Seconds(1), input::FailureReasonRead{kCid, ""}));
  }
  EXPECT_THAT(ActionNames(died[0]), ElementsAre("on_died", "remove_temp_dir"));
  EXPECT_THAT(ActionNames(died[1]),
              ElementsAre("on_died", "on_died", "remove_temp_dir"));
  for (const action::OnDied& on_died : OfType<action::OnDied>(died[1])) {
    EXPECT_EQ(on_died.cid, kCid);
    EXPECT_EQ(on_died.reason, DeathReason::kShutdown);
  }
}

// ---- PW-3: suspend-ignores-counters ----

TEST(MutantTest, PW3_SuspendIgnoresCountersSuspendsWithAMessageUnhandled) {
  Runtime reference;
  Runtime mutant(MutantSet::Of(Mutant::kSuspendIgnoresCounters));
  const absl::Duration t = absl::Seconds(1);
  for (Runtime* rt : {&reference, &mutant}) {
    rt->AddProxy();
    // A message entered the container and is not yet handled.
    EXPECT_THAT(rt->Handle(t, input::CounterChanged{kCounter, 1}), IsEmpty());
  }
  const RequestId suspend = reference.NextRequest();
  ASSERT_EQ(mutant.NextRequest(), suspend);
  ActionList ref = reference.Handle(t, input::SuspendContainer{suspend});
  ASSERT_THAT(ActionNames(ref), ElementsAre("reply"));
  EXPECT_EQ(
      ReplyTo(ref, suspend)->status,
      absl::FailedPreconditionError("PW-3: wake source 'fidl' (12) is active"));
  EXPECT_FALSE(reference.supervisor().power().suspended());

  EXPECT_THAT(ActionNames(mutant.Handle(t, input::SuspendContainer{suspend})),
              ElementsAre("suspend_guest"));
  EXPECT_TRUE(mutant.supervisor().power().suspended());
  // Counter activity still wakes it.
  ActionList woken =
      mutant.Handle(absl::Seconds(3), input::CounterChanged{kCounter, 2});
  ASSERT_THAT(ActionNames(woken), ElementsAre("resume_guest", "reply"));
  const SuspendResult result =
      std::get<SuspendResult>(ReplyTo(woken, suspend)->value);
  EXPECT_EQ(result.woken_by, WakeSourceId{kCounter.value});
  EXPECT_EQ(result.slept, absl::Seconds(2));
}

TEST(MutantTest, PW3_SuspendIgnoresCountersStillHonoursHandleSources) {
  Runtime mutant(MutantSet::Of(Mutant::kSuspendIgnoresCounters));
  const RequestId add = mutant.NextRequest();
  const WakeSourceId handle{40};
  mutant.Handle(absl::ZeroDuration(),
                input::AddWakeSource{add, handle, "button", kSignalUser0});
  mutant.Handle(absl::ZeroDuration(),
                input::HandleSignalled{HandleId{40}, kSignalUser0});
  const RequestId suspend = mutant.NextRequest();
  ActionList out =
      mutant.Handle(absl::ZeroDuration(), input::SuspendContainer{suspend});
  EXPECT_EQ(ReplyTo(out, suspend)->status,
            absl::FailedPreconditionError(
                "PW-3: wake source 'button' (40) is active"));
}

// ---- CN-4: stop-sleeps-whole-grace ----

TEST(MutantTest, CN4_StopSleepsWholeGraceRepliesOnlyWhenTheGraceRunsOut) {
  Runtime reference;
  Runtime mutant(MutantSet::Of(Mutant::kStopSleepsWholeGrace));
  RequestId stop;
  for (Runtime* rt : {&reference, &mutant}) {
    rt->RunContainer(absl::ZeroDuration());
    stop = rt->NextRequest();
    EXPECT_THAT(ActionNames(rt->Handle(
                    absl::Seconds(1),
                    input::StopContainer{stop, kContainer, absl::Seconds(10)})),
                ElementsAre("signal_container", "arm_timer", "wait_process"));
  }
  // The container exits on SIGTERM after 5 ms.
  const absl::Duration exit_at = absl::Seconds(1) + absl::Milliseconds(5);
  const input::ContainerExited exited{kContainer, ExitStatus::Exited(0)};
  ActionList ref = reference.Handle(exit_at, exited);
  EXPECT_THAT(
      ActionNames(ref),
      ElementsAre("container_event", "cancel_timer", "stop_socket_relays",
                  "delete_process", "stop_vm", "reply"));
  EXPECT_EQ(std::get<ExitStatus>(ReplyTo(ref, stop)->value),
            ExitStatus::Exited(0));
  EXPECT_THAT(ActionNames(mutant.Handle(exit_at, exited)),
              ElementsAre("container_event"));
  EXPECT_FALSE(mutant.supervisor().containers().AllSettled());

  // The mutant answers when the grace runs out, without a SIGKILL.
  const input::TimerFired grace{
      TimerId{TimerKind::kStopGrace, kContainer.value}};
  EXPECT_THAT(reference.Handle(absl::Seconds(11), grace), IsEmpty());
  ActionList mut = mutant.Handle(absl::Seconds(11), grace);
  EXPECT_THAT(
      ActionNames(mut),
      ElementsAre("stop_socket_relays", "delete_process", "stop_vm", "reply"));
  EXPECT_EQ(std::get<ExitStatus>(ReplyTo(mut, stop)->value),
            ExitStatus::Exited(0));
  EXPECT_TRUE(mutant.supervisor().containers().AllSettled());
}

// ---- CN-7: ports-wrap-around ----

TEST(MutantTest, CN7_PortsWrapAroundReusesAPortInsteadOfFailing) {
  Runtime reference;
  Runtime mutant(MutantSet::Of(Mutant::kPortsWrapAround));
  ContainerSpec spec;
  spec.port_start = 5000;
  spec.port_end = 5000;
  RequestId second;
  for (Runtime* rt : {&reference, &mutant}) {
    rt->RunContainer(absl::ZeroDuration(), spec);
    const RequestId first = rt->NextRequest();
    ActionList out = rt->Handle(
        absl::Seconds(1),
        input::CopyFile{first, kContainer, input::CopyDirection::kIn, "a.txt"});
    ASSERT_THAT(ActionNames(out), ElementsAre("start_transfer", "reply"));
    EXPECT_EQ(OfType<action::StartTransfer>(out)[0].port, 5000u);
    second = rt->NextRequest();
  }
  const input::CopyFile copy{second, kContainer, input::CopyDirection::kIn,
                             "b.txt"};
  ActionList ref = reference.Handle(absl::Seconds(2), copy);
  ASSERT_THAT(ActionNames(ref), ElementsAre("reply"));
  EXPECT_EQ(ReplyTo(ref, second)->status,
            absl::ResourceExhaustedError("CN-7: port range exhausted"));

  ActionList mut = mutant.Handle(absl::Seconds(2), copy);
  ASSERT_THAT(ActionNames(mut), ElementsAre("start_transfer", "reply"));
  EXPECT_EQ(OfType<action::StartTransfer>(mut)[0].port, 5000u);
  EXPECT_TRUE(ReplyTo(mut, second)->status.ok());
}

// ---- CN-8: guest-path-dotdot ----

TEST(MutantTest, CN8_GuestPathDotDotLetsAPathEscapeTheRootfs) {
  Runtime reference;
  Runtime mutant(MutantSet::Of(Mutant::kGuestPathDotDot));
  RequestId copy_request;
  for (Runtime* rt : {&reference, &mutant}) {
    rt->RunContainer(absl::ZeroDuration());
    copy_request = rt->NextRequest();
  }
  const input::CopyFile copy{copy_request, kContainer,
                             input::CopyDirection::kOut,
                             "/data/../../etc/passwd"};
  ActionList ref = reference.Handle(absl::Seconds(1), copy);
  ASSERT_THAT(ActionNames(ref), ElementsAre("reply"));
  EXPECT_EQ(ReplyTo(ref, copy_request)->status,
            absl::InvalidArgumentError(
                "CN-8: /data/../../etc/passwd escapes the container rootfs"));

  ActionList mut = mutant.Handle(absl::Seconds(1), copy);
  ASSERT_THAT(ActionNames(mut), ElementsAre("start_transfer", "reply"));
  EXPECT_EQ(OfType<action::StartTransfer>(mut)[0].path,
            "/run/proctor/containers/1/rootfs/data/../../etc/passwd");
  EXPECT_EQ(std::get<std::string>(ReplyTo(mut, copy_request)->value),
            "/run/proctor/containers/1/rootfs/data/../../etc/passwd");
}

}  // namespace
}  // namespace proctor
