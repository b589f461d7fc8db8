#include "sim/trace/json_codec.h"

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/model/describe.h"

namespace proctor::sim {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

template <typename T>
using Kind = std::type_identity<T>;

// ---- One or more representative values of every kind, with every field
// set to something other than its default, so that a field the codec drops
// shows up as a difference. A kind added to Input, Action or WorldFact
// without an overload here fails to compile.

VmConfig FullConfig() {
  VmConfig c;
  c.cid = Cid{7};
  c.bootloader = "/boot/loader";
  c.kernel = "/k";
  c.initrd = "/initrd";
  c.disks = {{"/disk0", true}, {"/disk1", false}};
  c.params = "console=ttyS0 quiet";
  c.protected_vm = true;
  c.memory_mib = 512;
  c.cpus = 3;
  c.cpu_affinity = "0-1";
  c.task_profiles = {"a", "b"};
  c.console_sink = "/console";
  c.log_sink = "/log";
  c.platform_version = "^1.0";
  c.detect_hangup = true;
  c.hangup_timeout = absl::Seconds(12);
  return c;
}

std::vector<input::CreateVm> Samples(Kind<input::CreateVm>) {
  return {{RequestId{1}, FullConfig()}, {RequestId{2}, VmConfig{}}};
}
std::vector<input::StartVm> Samples(Kind<input::StartVm>) {
  return {{RequestId{2}, Cid{5}}};
}
std::vector<input::KillVm> Samples(Kind<input::KillVm>) {
  return {{RequestId{3}, Cid{4294967295u}}};
}
std::vector<input::VmmSpawned> Samples(Kind<input::VmmSpawned>) {
  return {{Cid{5}, "spawn failed: ENOMEM"}, {Cid{6}, std::nullopt}};
}
std::vector<input::VmmExited> Samples(Kind<input::VmmExited>) {
  return {{Cid{5}, ExitStatus::Exited(33)},
          {Cid{5}, ExitStatus::Signalled(kSigKill)},
          {Cid{5}, ExitStatus::Signalled(77)},
          {Cid{5}, ExitStatus::Exited(-1)},
          {Cid{5}, std::nullopt}};
}
std::vector<input::PayloadReported> Samples(Kind<input::PayloadReported>) {
  return {{Cid{5}, PayloadState::kFinished}};
}
std::vector<input::FailureReasonRead> Samples(Kind<input::FailureReasonRead>) {
  return {{Cid{5}, "MICRODROID_PAYLOAD_HAS_CHANGED\n"},
          {Cid{5}, std::string("\xff\x00\x01 bad", 7)},
          {Cid{5}, ""}};
}
std::vector<input::TimerFired> Samples(Kind<input::TimerFired>) {
  return {{TimerId{TimerKind::kAgentRetry, 9}}};
}
std::vector<input::AddProxy> Samples(Kind<input::AddProxy>) {
  return {{RequestId{4}, ProxyId{2}, EndpointId{20}, EndpointId{21},
           CounterId{22}, "proxy \"one\""}};
}
std::vector<input::EndpointSignalled> Samples(Kind<input::EndpointSignalled>) {
  return {{EndpointId{20}, kSignalReadable | kSignalPeerClosed},
          {EndpointId{20}, kSignalNone},
          {EndpointId{20}, kSignalReadable | (1u << 31)}};
}
std::vector<input::MessageRead> Samples(Kind<input::MessageRead>) {
  return {{EndpointId{20}, ChannelStatus::kOk,
           Message{"msg:1;...", {HandleId{30}, HandleId{31}}}},
          {EndpointId{20}, ChannelStatus::kShouldWait, Message{}}};
}
std::vector<input::MessageWritten> Samples(Kind<input::MessageWritten>) {
  return {{EndpointId{21}, ChannelStatus::kPeerClosed}};
}
std::vector<input::CounterAdded> Samples(Kind<input::CounterAdded>) {
  return {
      {CounterId{22}, ChannelStatus::kOutOfRange, -9223372036854775807 - 1}};
}
std::vector<input::CounterChanged> Samples(Kind<input::CounterChanged>) {
  return {{CounterId{22}, 3}};
}
std::vector<input::RegisterWakeWatcher> Samples(
    Kind<input::RegisterWakeWatcher>) {
  return {{RequestId{5}, WatcherId{1}}};
}
std::vector<input::AddWakeSource> Samples(Kind<input::AddWakeSource>) {
  return {{RequestId{6}, WakeSourceId{40}, "alarm", kSignalUser0}};
}
std::vector<input::RemoveWakeSource> Samples(Kind<input::RemoveWakeSource>) {
  return {{RequestId{7}, WakeSourceId{40}}};
}
std::vector<input::HandleSignalled> Samples(Kind<input::HandleSignalled>) {
  return {{HandleId{40}, kSignalUser1 | kSignalPositive}};
}
std::vector<input::SuspendContainer> Samples(Kind<input::SuspendContainer>) {
  return {{RequestId{8}}};
}
std::vector<input::InstallContainer> Samples(Kind<input::InstallContainer>) {
  return {{RequestId{9}, ContainerId{3}, ContainerSpec{false, 2, 100, 200}}};
}
std::vector<input::StartContainer> Samples(Kind<input::StartContainer>) {
  return {{RequestId{10}, ContainerId{3}}};
}
std::vector<input::VmBooted> Samples(Kind<input::VmBooted>) {
  return {{ContainerId{3}, "transient: vmnet busy"}, {ContainerId{3}, {}}};
}
std::vector<input::AgentConnected> Samples(Kind<input::AgentConnected>) {
  return {{ContainerId{3}, "refused"}};
}
std::vector<input::ProcessCreated> Samples(Kind<input::ProcessCreated>) {
  return {{ContainerId{3}, "no such binary"}};
}
std::vector<input::ProcessStarted> Samples(Kind<input::ProcessStarted>) {
  return {{ContainerId{3}, "start gate closed"}};
}
std::vector<input::ContainerExited> Samples(Kind<input::ContainerExited>) {
  return {{ContainerId{3}, ExitStatus::Signalled(kSigTerm)}};
}
std::vector<input::CgroupMemory> Samples(Kind<input::CgroupMemory>) {
  return {{ContainerId{3}, MemoryEvent{1, 2, 3, 4, 5}},
          {ContainerId{3},
           MemoryEvent{std::nullopt, 2, std::nullopt, 0, std::nullopt}}};
}
std::vector<input::WaitContainer> Samples(Kind<input::WaitContainer>) {
  return {{RequestId{11}, ContainerId{3}}};
}
std::vector<input::StopContainer> Samples(Kind<input::StopContainer>) {
  return {{RequestId{12}, ContainerId{3}, absl::Milliseconds(5)},
          {RequestId{12}, ContainerId{3}, std::nullopt},
          {RequestId{12}, ContainerId{3}, absl::InfiniteDuration()},
          {RequestId{12}, ContainerId{3}, -absl::InfiniteDuration()},
          {RequestId{12}, ContainerId{3}, absl::Seconds(-1)}};
}
std::vector<input::KillContainer> Samples(Kind<input::KillContainer>) {
  return {{RequestId{13}, ContainerId{3}, kSigTerm},
          {RequestId{13}, ContainerId{3}, 64},
          {RequestId{13}, ContainerId{3}, -2}};
}
std::vector<input::UninstallContainer> Samples(
    Kind<input::UninstallContainer>) {
  return {{RequestId{14}, ContainerId{3}}};
}
std::vector<input::CopyFile> Samples(Kind<input::CopyFile>) {
  return {{RequestId{15}, ContainerId{3}, input::CopyDirection::kOut,
           "/etc/../passwd"},
          {RequestId{15}, ContainerId{3}, input::CopyDirection::kIn,
           std::string("a\0b", 3)},
          {RequestId{15}, ContainerId{3}, input::CopyDirection::kIn,
           "caf\xc3\xa9\t\xe2\x82\xac"}};
}
std::vector<input::AttachBlockDevice> Samples(Kind<input::AttachBlockDevice>) {
  return {{RequestId{16}, ContainerId{3}, 26}};
}
std::vector<input::SubscribeEvents> Samples(Kind<input::SubscribeEvents>) {
  return {{RequestId{17}, SubscriberId{1}}};
}
std::vector<input::PollEvents> Samples(Kind<input::PollEvents>) {
  return {{RequestId{18}, SubscriberId{1}, 7}};
}
std::vector<input::UnsubscribeEvents> Samples(Kind<input::UnsubscribeEvents>) {
  return {{RequestId{19}, SubscriberId{1}}};
}
std::vector<input::Shutdown> Samples(Kind<input::Shutdown>) {
  return {{RequestId{20}}};
}

StartupTiming FullTiming() {
  StartupTiming t;
  t.vm_boot = absl::Nanoseconds(1);
  t.spec_build = absl::Nanoseconds(2);
  t.agent_connect = absl::Nanoseconds(3);
  t.socket_relays = absl::Nanoseconds(4);
  t.stdio_prepare = absl::Nanoseconds(5);
  t.config_write = absl::Nanoseconds(6);
  t.request_encode = absl::Nanoseconds(7);
  t.create_process = absl::Nanoseconds(8);
  t.start_gate_wait = absl::Nanoseconds(9);
  t.start_process = absl::Nanoseconds(10);
  t.total = absl::Nanoseconds(100);
  return t;
}

ContainerEvent ExitEvent(ExitStatus status) {
  ContainerEvent e;
  e.kind = ContainerEvent::Kind::kExit;
  e.exit = status;
  return e;
}

ContainerEvent CgroupEvent(MemoryEvent memory) {
  ContainerEvent e;
  e.kind = ContainerEvent::Kind::kCGroup;
  e.memory = memory;
  return e;
}

std::vector<action::Reply> Samples(Kind<action::Reply>) {
  EventBatch batch;
  batch.events = {{ContainerId{3}, ContainerEvent{}},
                  {ContainerId{4}, ExitEvent(ExitStatus::Exited(0))},
                  {ContainerId{4}, CgroupEvent({std::nullopt, 1, 2, 3, 4})}};
  batch.missed = 12;
  return {
      {RequestId{1}, absl::OkStatus(), std::monostate{}},
      {RequestId{2}, absl::NotFoundError("VM-3: no VM with cid 9"), {}},
      {RequestId{3}, absl::UnavailableError(std::string("\xff\xfe", 2)), {}},
      {RequestId{4}, absl::OkStatus(), ExitStatus::Exited(7)},
      {RequestId{5}, absl::OkStatus(),
       SuspendResult{WakeSourceId{40}, "alarm", absl::Seconds(2)}},
      {RequestId{6}, absl::OkStatus(), FullTiming()},
      {RequestId{7}, absl::OkStatus(), batch},
      {RequestId{8}, absl::OkStatus(), std::string("/dev/vdb")},
  };
}
std::vector<action::VmStateChanged> Samples(Kind<action::VmStateChanged>) {
  return {{Cid{5}, VmState::kDead}};
}
std::vector<action::PayloadStateChanged> Samples(
    Kind<action::PayloadStateChanged>) {
  return {{Cid{5}, PayloadState::kReady}};
}
std::vector<action::GuestError> Samples(Kind<action::GuestError>) {
  return {{Cid{5}, "VM-4: payload went backward"}};
}
std::vector<action::SpawnVmm> Samples(Kind<action::SpawnVmm>) {
  return {{Cid{5}, {"crosvm", "--extended-status", "run"}}};
}
std::vector<action::KillVmm> Samples(Kind<action::KillVmm>) {
  return {{Cid{5}}};
}
std::vector<action::ReadFailureReason> Samples(
    Kind<action::ReadFailureReason>) {
  return {{Cid{5}, 100}};
}
std::vector<action::OnDied> Samples(Kind<action::OnDied>) {
  return {{Cid{5}, DeathReason::kMicrodroidUnknownRuntimeError}};
}
std::vector<action::RemoveTempDir> Samples(Kind<action::RemoveTempDir>) {
  return {{Cid{5}}};
}
std::vector<action::ArmTimer> Samples(Kind<action::ArmTimer>) {
  return {{TimerId{TimerKind::kHangup, 5}, Instant::FromNanos(10010000000)},
          {TimerId{TimerKind::kStopGrace, 3}, Instant::FromNanos(-4)}};
}
std::vector<action::CancelTimer> Samples(Kind<action::CancelTimer>) {
  return {{TimerId{TimerKind::kBootRetry, 3}}};
}
std::vector<action::ReadMessage> Samples(Kind<action::ReadMessage>) {
  return {{EndpointId{20}}};
}
std::vector<action::WriteMessage> Samples(Kind<action::WriteMessage>) {
  return {{EndpointId{21}, Message{"hello\n", {HandleId{7}}}},
          {EndpointId{21}, Message{std::string("\x80\x81", 2), {}}}};
}
std::vector<action::CloseEndpoint> Samples(Kind<action::CloseEndpoint>) {
  return {{EndpointId{21}}};
}
std::vector<action::CounterAdd> Samples(Kind<action::CounterAdd>) {
  return {{CounterId{22}, -1}};
}
std::vector<action::ProxyStopped> Samples(Kind<action::ProxyStopped>) {
  return {{ProxyId{2}}};
}
std::vector<action::WakeSourceAdded> Samples(Kind<action::WakeSourceAdded>) {
  return {{WakeSourceId{22}, "proxy-2"}};
}
std::vector<action::WakeSourceRemoved> Samples(
    Kind<action::WakeSourceRemoved>) {
  return {{WakeSourceId{22}}};
}
std::vector<action::SignalWatcher> Samples(Kind<action::SignalWatcher>) {
  return {{WatcherId{1}, WakeSignal::kAsleep}};
}
std::vector<action::SuspendGuest> Samples(Kind<action::SuspendGuest>) {
  return {{}};
}
std::vector<action::ResumeGuest> Samples(Kind<action::ResumeGuest>) {
  return {{}};
}
std::vector<action::BootVm> Samples(Kind<action::BootVm>) {
  return {{ContainerId{3}, 3}};
}
std::vector<action::ConnectAgent> Samples(Kind<action::ConnectAgent>) {
  return {{ContainerId{3}, 100}};
}
std::vector<action::StartSocketRelay> Samples(Kind<action::StartSocketRelay>) {
  return {{ContainerId{3}, 0x10000001}};
}
std::vector<action::CreateProcess> Samples(Kind<action::CreateProcess>) {
  return {{ContainerId{3}}};
}
std::vector<action::StartProcess> Samples(Kind<action::StartProcess>) {
  return {{ContainerId{3}}};
}
std::vector<action::SignalContainer> Samples(Kind<action::SignalContainer>) {
  return {{ContainerId{3}, kSigKill}};
}
std::vector<action::WaitProcess> Samples(Kind<action::WaitProcess>) {
  return {{ContainerId{3}}};
}
std::vector<action::StopSocketRelays> Samples(Kind<action::StopSocketRelays>) {
  return {{ContainerId{3}}};
}
std::vector<action::DeleteProcess> Samples(Kind<action::DeleteProcess>) {
  return {{ContainerId{3}}};
}
std::vector<action::StopVm> Samples(Kind<action::StopVm>) {
  return {{ContainerId{3}}};
}
std::vector<action::StartTransfer> Samples(Kind<action::StartTransfer>) {
  return {{ContainerId{3}, input::CopyDirection::kOut, 0x10000002,
           "/bundle/rootfs/etc/hosts"}};
}
std::vector<action::EmitContainerEvent> Samples(
    Kind<action::EmitContainerEvent>) {
  ContainerEvent started;
  started.kind = ContainerEvent::Kind::kStarted;
  // Against CN-1's shape (a status on a non-exit event): recorded as it is.
  ContainerEvent odd;
  odd.kind = ContainerEvent::Kind::kUninstalled;
  odd.exit = ExitStatus::Exited(1);
  odd.memory.oom = 1;
  return {{ContainerId{3}, started},
          {ContainerId{3}, ExitEvent(ExitStatus::Signalled(kSigKill))},
          {ContainerId{3}, CgroupEvent({1, std::nullopt, 3, std::nullopt, 5})},
          {ContainerId{3}, CgroupEvent({})},
          {ContainerId{3}, odd}};
}
std::vector<action::ReleaseHostResources> Samples(
    Kind<action::ReleaseHostResources>) {
  return {{}};
}
std::vector<action::ShutdownComplete> Samples(Kind<action::ShutdownComplete>) {
  return {{}};
}

std::vector<fact::ChannelCreated> Samples(Kind<fact::ChannelCreated>) {
  return {{EndpointId{20}, EndpointId{21}}};
}
std::vector<fact::PeerWrote> Samples(Kind<fact::PeerWrote>) {
  return {{EndpointId{21}, 17}};
}
std::vector<fact::PeerReceived> Samples(Kind<fact::PeerReceived>) {
  return {{EndpointId{21}, 18}};
}
std::vector<fact::PeerClosed> Samples(Kind<fact::PeerClosed>) {
  return {{EndpointId{21}}};
}
std::vector<fact::ContainerHandled> Samples(Kind<fact::ContainerHandled>) {
  return {{CounterId{22}, -3}};
}
std::vector<fact::FaultFired> Samples(Kind<fact::FaultFired>) {
  return {{"vmm_crash", 5}};
}

template <typename T, typename Variant>
void AppendSamples(std::vector<Variant>* all) {
  const std::vector<T> samples = Samples(Kind<T>());
  // A kind without a sample would not be checked at all.
  EXPECT_FALSE(samples.empty()) << T::kName;
  for (const T& s : samples) all->push_back(s);
}

// Function templates rather than a templated lambda: clang 14 crashes on a
// pack of immediately invoked lambdas.
template <typename Variant, size_t... I>
void AppendAllSamples(std::vector<Variant>* all, std::index_sequence<I...>) {
  (AppendSamples<std::variant_alternative_t<I, Variant>>(all), ...);
}

// Every sample of every alternative of `Variant`, in alternative order.
template <typename Variant>
std::vector<Variant> AllSamples() {
  std::vector<Variant> all;
  AppendAllSamples<Variant>(
      &all, std::make_index_sequence<std::variant_size_v<Variant>>());
  return all;
}

// Facts have no canonical description in the model; this one is written out
// field by field so that a dropped field differs.
std::string DescribeFactForTest(const WorldFact& f) {
  struct Text {
    std::string operator()(const fact::ChannelCreated& x) const {
      return absl::StrCat("channel_created ", x.a.value, " ", x.b.value);
    }
    std::string operator()(const fact::PeerWrote& x) const {
      return absl::StrCat("peer_wrote ", x.endpoint.value, " ", x.message_id);
    }
    std::string operator()(const fact::PeerReceived& x) const {
      return absl::StrCat("peer_received ", x.endpoint.value, " ",
                          x.message_id);
    }
    std::string operator()(const fact::PeerClosed& x) const {
      return absl::StrCat("peer_closed ", x.endpoint.value);
    }
    std::string operator()(const fact::ContainerHandled& x) const {
      return absl::StrCat("container_handled ", x.counter.value, " ", x.value);
    }
    std::string operator()(const fact::FaultFired& x) const {
      return absl::StrCat("fault_fired ", x.kind, " ", x.target);
    }
  };
  return std::visit(Text{}, f);
}

std::string Members(const Input& v) {
  std::string out;
  AppendInputMembers(v, &out);
  return out;
}
std::string Members(const Action& v) {
  std::string out;
  AppendActionMembers(v, &out);
  return out;
}
std::string Members(const WorldFact& v) {
  std::string out;
  AppendFactMembers(v, &out);
  return out;
}

// ---- Round trips ----

TEST(JsonCodecTest, EveryInputKindRoundTrips) {
  const std::vector<Input> samples = AllSamples<Input>();
  for (const Input& sample : samples) {
    SCOPED_TRACE(DescribeInput(sample));
    const json encoded = EncodeInput(sample);
    EXPECT_EQ(encoded["kind"], std::string(InputName(sample)));
    // Through text, as a trace carries it.
    absl::StatusOr<Input> decoded = DecodeInput(json::parse(encoded.dump()));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->index(), sample.index());
    EXPECT_EQ(DescribeInput(*decoded), DescribeInput(sample));
    EXPECT_EQ(Members(*decoded), Members(sample));
  }
}

TEST(JsonCodecTest, EveryActionKindRoundTrips) {
  const std::vector<Action> samples = AllSamples<Action>();
  for (const Action& sample : samples) {
    SCOPED_TRACE(DescribeAction(sample));
    const json encoded = EncodeAction(sample);
    EXPECT_EQ(encoded["kind"], std::string(ActionName(sample)));
    absl::StatusOr<Action> decoded = DecodeAction(json::parse(encoded.dump()));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->index(), sample.index());
    EXPECT_EQ(DescribeAction(*decoded), DescribeAction(sample));
    EXPECT_EQ(Members(*decoded), Members(sample));
  }
}

TEST(JsonCodecTest, EveryFactKindRoundTrips) {
  const std::vector<WorldFact> samples = AllSamples<WorldFact>();
  for (const WorldFact& sample : samples) {
    SCOPED_TRACE(DescribeFactForTest(sample));
    const json encoded = EncodeFact(sample);
    EXPECT_EQ(encoded["kind"], std::string(FactName(sample)));
    absl::StatusOr<WorldFact> decoded = DecodeFact(json::parse(encoded.dump()));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->index(), sample.index());
    EXPECT_EQ(DescribeFactForTest(*decoded), DescribeFactForTest(sample));
    EXPECT_EQ(Members(*decoded), Members(sample));
  }
}

TEST(JsonCodecTest, EncodeIsTheParseOfTheWrittenMembers) {
  for (const Input& sample : AllSamples<Input>()) {
    EXPECT_EQ(EncodeInput(sample),
              json::parse(absl::StrCat("{", Members(sample), "}")));
  }
  for (const Action& sample : AllSamples<Action>()) {
    EXPECT_EQ(EncodeAction(sample),
              json::parse(absl::StrCat("{", Members(sample), "}")));
  }
}

TEST(JsonCodecTest, DecodesValuesBuiltInCode) {
  // Integers built in C++ are signed JSON numbers; parsed ones unsigned.
  const json start = {{"kind", "start_vm"}, {"request", 2}, {"cid", 5}};
  absl::StatusOr<Input> decoded = DecodeInput(start);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(DescribeInput(*decoded), "start_vm request=2 cid=5");
}

// ---- Exact text ----

TEST(JsonCodecTest, WritesExactMembers) {
  EXPECT_EQ(Members(Input(input::VmmExited{Cid{5}, ExitStatus::Exited(33)})),
            R"j("kind":"vmm_exited","cid":5,"status":"Exit(33)")j");
  EXPECT_EQ(Members(Input(input::VmmExited{Cid{5}, std::nullopt})),
            R"j("kind":"vmm_exited","cid":5)j");
  EXPECT_EQ(
      Members(Action(action::ArmTimer{TimerId{TimerKind::kHangup, 5},
                                      Instant::FromNanos(10010000000)})),
      R"j("kind":"arm_timer","timer":"hangup/5","deadline_ns":10010000000)j");
  EXPECT_EQ(
      Members(Input(input::EndpointSignalled{
          EndpointId{20}, kSignalReadable | kSignalPeerClosed})),
      R"j("kind":"endpoint_signalled","endpoint":20,"signals":"READABLE|PEER_CLOSED")j");
  EXPECT_EQ(
      Members(Input(input::EndpointSignalled{EndpointId{20},
                                             kSignalReadable | (1u << 31)})),
      R"j("kind":"endpoint_signalled","endpoint":20,"signals":"READABLE|BIT_31")j");
  EXPECT_EQ(
      Members(Input(input::MessageRead{
          EndpointId{20}, ChannelStatus::kOk,
          Message{std::string("\x00\xff", 2), {HandleId{7}}}})),
      R"j("kind":"message_read","endpoint":20,"status":"OK","message":{"bytes":{"base64":"AP8="},"handles":[7]})j");
  EXPECT_EQ(
      Members(Action(action::WriteMessage{
          EndpointId{21}, Message{"say \"hi\"\\\n\tcaf\xc3\xa9", {}}})),
      R"j("kind":"write_message","endpoint":21,"message":{"bytes":"say \"hi\"\\\n\tcafé","handles":[]})j");
  EXPECT_EQ(
      Members(Action(action::Reply{RequestId{2}, absl::NotFoundError("no VM"),
                                   std::monostate{}})),
      R"j("kind":"reply","request":2,"status":{"code":"NOT_FOUND","message":"no VM"})j");
  EXPECT_EQ(
      Members(Action(action::Reply{RequestId{3}, absl::OkStatus(),
                                   std::string("/dev/vdb")})),
      R"j("kind":"reply","request":3,"status":"OK","value":{"text":"/dev/vdb"})j");
  EXPECT_EQ(
      Members(Action(action::Reply{
          RequestId{4}, absl::OkStatus(),
          SuspendResult{WakeSourceId{40}, "alarm", absl::Seconds(2)}})),
      R"j("kind":"reply","request":4,"status":"OK","value":{"suspend_result":{"woken_by":40,"name":"alarm","slept_ns":2000000000}})j");
  EXPECT_EQ(
      Members(Action(action::EmitContainerEvent{
          ContainerId{3}, ExitEvent(ExitStatus::Signalled(kSigKill))})),
      R"j("kind":"container_event","container":3,"event":{"kind":"exit","status":"Signalled(SIGKILL)"})j");
  EXPECT_EQ(
      Members(
          Input(input::KillContainer{RequestId{1}, ContainerId{3}, kSigTerm})),
      R"j("kind":"kill_container","request":1,"container":3,"signal":"SIGTERM")j");
  EXPECT_EQ(
      Members(Input(input::StopContainer{RequestId{1}, ContainerId{3},
                                         absl::InfiniteDuration()})),
      R"j("kind":"stop_container","request":1,"container":3,"grace_ns":"inf")j");
  EXPECT_EQ(Members(Action(action::SuspendGuest{})),
            R"j("kind":"suspend_guest")j");
  EXPECT_EQ(Members(WorldFact(fact::FaultFired{"vmm_crash", 7})),
            R"j("kind":"fault_fired","fault":"vmm_crash","target":7)j");
}

TEST(JsonCodecTest, WritesEveryConfigField) {
  EXPECT_EQ(
      Members(Input(input::CreateVm{RequestId{1}, FullConfig()})),
      R"j("kind":"create_vm","request":1,"config":{"cid":7,)j"
      R"j("bootloader":"/boot/loader","kernel":"/k","initrd":"/initrd",)j"
      R"j("disks":[{"image":"/disk0","writable":true},)j"
      R"j({"image":"/disk1","writable":false}],"params":"console=ttyS0 quiet",)j"
      R"j("protected_vm":true,"memory_mib":512,"cpus":3,"cpu_affinity":"0-1",)j"
      R"j("task_profiles":["a","b"],"console_sink":"/console",)j"
      R"j("log_sink":"/log","platform_version":"^1.0","detect_hangup":true,)j"
      R"j("hangup_timeout_ns":12000000000})j");
  EXPECT_EQ(Members(Input(input::CreateVm{RequestId{1}, VmConfig{}})),
            R"j("kind":"create_vm","request":1,"config":{"cid":3,"disks":[],)j"
            R"j("protected_vm":false,"task_profiles":[],)j"
            R"j("platform_version":"~1.0","detect_hangup":false})j");
}

TEST(JsonCodecTest, WritesEveryStartupPhase) {
  EXPECT_EQ(
      Members(
          Action(action::Reply{RequestId{6}, absl::OkStatus(), FullTiming()})),
      R"j("kind":"reply","request":6,"status":"OK","value":{"startup_timing":)j"
      R"j({"vm_boot_ns":1,"spec_build_ns":2,"agent_connect_ns":3,)j"
      R"j("socket_relays_ns":4,"stdio_prepare_ns":5,"config_write_ns":6,)j"
      R"j("request_encode_ns":7,"create_process_ns":8,"start_gate_wait_ns":9,)j"
      R"j("start_process_ns":10,"total_ns":100}})j");
}

TEST(JsonCodecTest, BytesAreTextOnlyWhenPlain) {
  auto bytes = [](absl::string_view b) {
    std::string out;
    AppendJsonBytes(b, &out);
    return out;
  };
  EXPECT_EQ(bytes("a\nb\tc"), R"j("a\nb\tc")j");
  EXPECT_EQ(bytes("\xe2\x82\xac"), "\"\xe2\x82\xac\"");
  EXPECT_EQ(bytes("a\rb"), R"j({"base64":"YQ1i"})j");          // control char
  EXPECT_EQ(bytes("\x7f"), R"j({"base64":"fw=="})j");          // DEL
  EXPECT_EQ(bytes("\xc2\x85"), R"j({"base64":"woU="})j");      // C1 (NEL)
  EXPECT_EQ(bytes("\xc0\xaf"), R"j({"base64":"wK8="})j");      // overlong
  EXPECT_EQ(bytes("\xed\xa0\x80"), R"j({"base64":"7aCA"})j");  // surrogate
  EXPECT_EQ(bytes("\xf4\x90\x80\x80"), R"j({"base64":"9JCAgA=="})j");
  EXPECT_EQ(bytes("\xe2\x82"), R"j({"base64":"4oI="})j");  // truncated
  EXPECT_EQ(bytes(""), R"j("")j");
}

// ---- Strict decoding ----

std::string InputError(const json& j) {
  absl::StatusOr<Input> decoded = DecodeInput(j);
  EXPECT_FALSE(decoded.ok());
  if (decoded.ok()) return "decoded: " + DescribeInput(*decoded);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(decoded.status().message());
}

std::string ActionError(const json& j) {
  absl::StatusOr<Action> decoded = DecodeAction(j);
  EXPECT_FALSE(decoded.ok());
  if (decoded.ok()) return "decoded: " + DescribeAction(*decoded);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(decoded.status().message());
}

std::string FactError(const json& j) {
  absl::StatusOr<WorldFact> decoded = DecodeFact(j);
  EXPECT_FALSE(decoded.ok());
  if (decoded.ok()) return "decoded";
  return std::string(decoded.status().message());
}

TEST(JsonCodecTest, RejectsWhatIsNotAValue) {
  EXPECT_EQ(InputError(json::array()),
            "expected input as a JSON object, found []");
  EXPECT_EQ(InputError(json::parse(R"j({"cid":5})j")),
            R"j(input: missing field "kind")j");
  EXPECT_EQ(InputError(json::parse(R"j({"kind":5})j")),
            R"j(input: field "kind": expected a string, found 5)j");
  EXPECT_EQ(InputError(json::parse(R"j({"kind":"nope"})j")),
            R"j(unknown input kind "nope")j");
  EXPECT_EQ(ActionError(json::parse(R"j({"kind":"start_vm"})j")),
            R"j(unknown action kind "start_vm")j");
  EXPECT_EQ(FactError(json::parse(R"j({"kind":"vm_state"})j")),
            R"j(unknown fact kind "vm_state")j");
}

TEST(JsonCodecTest, RejectsMissingExtraAndMistypedFields) {
  EXPECT_EQ(InputError(json::parse(R"j({"kind":"start_vm","request":1})j")),
            R"j(start_vm: missing field "cid")j");
  EXPECT_EQ(InputError(json::parse(
                R"j({"kind":"start_vm","request":1,"cid":5,"extra":0})j")),
            R"j(start_vm: unexpected field "extra")j");
  EXPECT_EQ(
      InputError(json::parse(R"j({"kind":"start_vm","request":1,"cid":"5"})j")),
      R"j(start_vm: field "cid": expected an integer in 0..4294967295, found "5")j");
  EXPECT_EQ(
      InputError(json::parse(R"j({"kind":"start_vm","request":1,"cid":1.5})j")),
      R"j(start_vm: field "cid": expected an integer in 0..4294967295, found 1.5)j");
  EXPECT_EQ(
      InputError(
          json::parse(R"j({"kind":"vmm_spawned","cid":5,"error":null})j")),
      R"j(vmm_spawned: field "error": expected a string or {"base64": ...}, found null)j");
  EXPECT_EQ(
      ActionError(json::parse(
          R"j({"kind":"arm_timer","timer":"hangup/5","deadline_ns":true})j")),
      R"j(arm_timer: field "deadline_ns": expected an integer in -9223372036854775808..9223372036854775807, found true)j");
  EXPECT_EQ(
      FactError(json::parse(
          R"j({"kind":"fault_fired","kind2":"x","fault":"f","target":1})j")),
      R"j(fault_fired: unexpected field "kind2")j");
}

TEST(JsonCodecTest, RejectsOutOfRangeNumbers) {
  EXPECT_EQ(
      InputError(
          json::parse(R"j({"kind":"start_vm","request":1,"cid":4294967296})j")),
      R"j(start_vm: field "cid": expected an integer in 0..4294967295, found 4294967296)j");
  EXPECT_EQ(
      InputError(json::parse(R"j({"kind":"start_vm","request":-1,"cid":5})j")),
      R"j(start_vm: field "request": expected an integer in 0..18446744073709551615, found -1)j");
  EXPECT_EQ(
      InputError(json::parse(
          R"j({"kind":"counter_changed","counter":1,"value":9223372036854775808})j")),
      R"j(counter_changed: field "value": expected an integer in -9223372036854775808..9223372036854775807, found 9223372036854775808)j");
  EXPECT_EQ(
      InputError(json::parse(
          R"j({"kind":"kill_container","request":1,"container":1,"signal":2147483648})j")),
      R"j(kill_container: field "signal": expected a signal name or number, found 2147483648)j");
}

TEST(JsonCodecTest, RejectsUnknownNames) {
  EXPECT_EQ(InputError(json::parse(
                R"j({"kind":"vmm_exited","cid":5,"status":"Exit(x)"})j")),
            R"j(vmm_exited: field "status": "Exit(x)" is not an exit status)j");
  EXPECT_EQ(
      InputError(json::parse(
          R"j({"kind":"payload_reported","cid":5,"state":"RUNNING"})j")),
      R"j(payload_reported: field "state": "RUNNING" is not a payload state)j");
  EXPECT_EQ(ActionError(json::parse(
                R"j({"kind":"vm_state","cid":5,"state":"STARTED"})j")),
            R"j(vm_state: field "state": "STARTED" is not a VM state)j");
  EXPECT_EQ(ActionError(
                json::parse(R"j({"kind":"on_died","cid":5,"reason":"HUNG"})j")),
            R"j(on_died: field "reason": "HUNG" is not a death reason)j");
  EXPECT_EQ(
      InputError(json::parse(R"j({"kind":"timer_fired","timer":"hangup/x"})j")),
      R"j(timer_fired: field "timer": "hangup/x" is not a timer id)j");
  EXPECT_EQ(
      InputError(json::parse(
          R"j({"kind":"message_written","endpoint":1,"status":"EAGAIN"})j")),
      R"j(message_written: field "status": "EAGAIN" is not a channel status)j");
  EXPECT_EQ(
      InputError(json::parse(
          R"j({"kind":"endpoint_signalled","endpoint":1,"signals":"READABLE|LOUD"})j")),
      R"j(endpoint_signalled: field "signals": "READABLE|LOUD" is not a set of signals (e.g. "READABLE|PEER_CLOSED"))j");
  EXPECT_EQ(
      InputError(json::parse(
          R"j({"kind":"endpoint_signalled","endpoint":1,"signals":"BIT_32"})j")),
      R"j(endpoint_signalled: field "signals": "BIT_32" is not a set of signals (e.g. "READABLE|PEER_CLOSED"))j");
  EXPECT_EQ(
      ActionError(json::parse(
          R"j({"kind":"signal_watcher","watcher":1,"signal":"AWAKEN"})j")),
      R"j(signal_watcher: field "signal": "AWAKEN" is not a wake signal (AWAKE or ASLEEP))j");
  EXPECT_EQ(
      InputError(json::parse(
          R"j({"kind":"copy_file","request":1,"container":1,"direction":"up","guest_path":"/"})j")),
      R"j(copy_file: field "direction": "up" is not a copy direction (in or out))j");
  EXPECT_EQ(
      InputError(json::parse(
          R"j({"kind":"kill_container","request":1,"container":1,"signal":"SIGNOPE"})j")),
      R"j(kill_container: field "signal": "SIGNOPE" is not a signal name)j");
  EXPECT_EQ(
      ActionError(json::parse(
          R"j({"kind":"container_event","container":1,"event":{"kind":"paused"}})j")),
      R"j(container_event: field "event.kind": "paused" is not a container event kind)j");
  EXPECT_EQ(
      ActionError(json::parse(
          R"j({"kind":"reply","request":1,"status":{"code":"NOPE","message":""}})j")),
      R"j(reply: field "status.code": "NOPE" is not an error code (e.g. "NOT_FOUND"))j");
}

TEST(JsonCodecTest, NamesNestedFieldsByPath) {
  EXPECT_EQ(
      InputError(json::parse(
          R"j({"kind":"create_vm","request":1,"config":{"cid":3,"disks":[{"image":"a","writable":true},{"image":"b","writable":"yes"}],"protected_vm":false,"task_profiles":[],"platform_version":"1","detect_hangup":false}})j")),
      R"j(create_vm: field "config.disks[1].writable": expected true or false, found "yes")j");
  EXPECT_EQ(
      InputError(json::parse(
          R"j({"kind":"create_vm","request":1,"config":{"disks":[],"protected_vm":false,"task_profiles":[],"platform_version":"1","detect_hangup":false}})j")),
      R"j(create_vm: missing field "config.cid")j");
  EXPECT_EQ(
      InputError(json::parse(
          R"j({"kind":"cgroup_memory","container":1,"event":{"oom":1,"ooms":2}})j")),
      R"j(cgroup_memory: unexpected field "event.ooms")j");
  EXPECT_EQ(
      ActionError(json::parse(
          R"j({"kind":"reply","request":1,"status":"OK","value":{"event_batch":{"events":[{"container":1,"event":{"kind":"exit","status":"Exit()"}}],"missed":0}}})j")),
      R"j(reply: field "value.event_batch.events[0].event.status": "Exit()" is not an exit status)j");
  EXPECT_EQ(
      ActionError(json::parse(
          R"j({"kind":"reply","request":1,"status":"OK","value":{"text":"a","exit_status":"Exit(0)"}})j")),
      R"j(reply: field "value": expected an object with one of "exit_status", "suspend_result", "startup_timing", "event_batch", "text", found {"exit_status":"Exit(0)","text":"a"})j");
  EXPECT_EQ(
      ActionError(json::parse(
          R"j({"kind":"reply","request":1,"status":{"code":"NOT_FOUND"}})j")),
      R"j(reply: missing field "status.message")j");
  EXPECT_EQ(
      ActionError(
          json::parse(R"j({"kind":"reply","request":1,"status":"ok"})j")),
      R"j(reply: field "status": expected "OK" or {"code": ..., "message": ...}, found "ok")j");
  EXPECT_EQ(
      ActionError(json::parse(
          R"j({"kind":"write_message","endpoint":1,"message":{"bytes":{"base64":"!!"},"handles":[]}})j")),
      R"j(write_message: field "message.bytes.base64": "!!" is not valid base64)j");
}

TEST(JsonCodecTest, RejectsMessagesBeyondTheModelsLimits) {
  json message = {{"kind", "write_message"},
                  {"endpoint", 1},
                  {"message",
                   {{"bytes", std::string(kMaxMessageBytes, 'x')},
                    {"handles", json::array()}}}};
  EXPECT_TRUE(DecodeAction(message).ok());
  message["message"]["bytes"] = std::string(kMaxMessageBytes + 1, 'x');
  EXPECT_EQ(
      ActionError(message),
      R"j(write_message: field "message.bytes": 65537 bytes is more than the limit of 65536)j");
  std::string base64;
  AppendJsonBytes(std::string(kMaxMessageBytes + 1, '\x01'), &base64);
  message["message"]["bytes"] = json::parse(base64);
  EXPECT_EQ(
      ActionError(message),
      R"j(write_message: field "message.bytes": 65537 bytes is more than the limit of 65536)j");
  message["message"]["bytes"] = "x";
  message["message"]["handles"] = std::vector<int>(kMaxMessageHandles, 1);
  EXPECT_TRUE(DecodeAction(message).ok());
  message["message"]["handles"] = std::vector<int>(kMaxMessageHandles + 1, 1);
  EXPECT_EQ(
      ActionError(message),
      R"j(write_message: field "message.handles": 65 items is more than the limit of 64)j");
}

TEST(JsonCodecTest, RejectsOtherStringsAndListsBeyondTheCodecsLimits) {
  json guest_error = {{"kind", "guest_error"},
                      {"cid", 5},
                      {"message", std::string(kMaxJsonStringBytes + 1, 'x')}};
  EXPECT_EQ(
      ActionError(guest_error),
      R"j(guest_error: field "message": 65537 bytes is more than the limit of 65536)j");
  json spawn = {{"kind", "spawn_vmm"},
                {"cid", 5},
                {"argv", std::vector<std::string>(kMaxJsonListItems + 1, "")}};
  EXPECT_EQ(
      ActionError(spawn),
      R"j(spawn_vmm: field "argv": 65537 items is more than the limit of 65536)j");
}

TEST(JsonCodecTest, ErrorMessagesCutLongValues) {
  const std::string message =
      InputError(json{{"kind", "payload_reported"},
                      {"cid", 5},
                      {"state", std::string(1000, 'x')}});
  EXPECT_THAT(message, HasSubstr("field \"state\": \"xxxx"));
  EXPECT_THAT(message, HasSubstr("... is not a payload state"));
  EXPECT_LT(message.size(), 150u);
}

TEST(JsonCodecTest, DecodeJsonBytesAcceptsBothForms) {
  EXPECT_EQ(*DecodeJsonBytes(json("abc"), 10), "abc");
  EXPECT_EQ(*DecodeJsonBytes(json::parse(R"j({"base64":"AP8="})j"), 10),
            std::string("\x00\xff", 2));
  EXPECT_EQ(DecodeJsonBytes(json(5), 10).status().message(),
            R"j(expected a string or {"base64": ...}, found 5)j");
  EXPECT_EQ(DecodeJsonBytes(json("abc"), 2).status().message(),
            "3 bytes is more than the limit of 2");
}

}  // namespace
}  // namespace proctor::sim
