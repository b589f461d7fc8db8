#include "runtime/model/describe.h"

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/model/action.h"
#include "runtime/model/input.h"

namespace proctor {
namespace describe_test_internal {
// Converts to anything, so that `T{AnyField{}, ...}` compiles exactly when T
// is an aggregate with at least that many fields. Only used unevaluated, so
// the conversion is declared and never defined (outside the anonymous
// namespace, where an undefined function is fine).
struct AnyField {
  template <typename T>
  operator T() const;
};
}  // namespace describe_test_internal

namespace {

using ::testing::ElementsAre;

ContainerEvent Event(ContainerEvent::Kind kind,
                     std::optional<ExitStatus> exit = std::nullopt,
                     MemoryEvent memory = {}) {
  ContainerEvent event;
  event.kind = kind;
  event.exit = exit;
  event.memory = memory;
  return event;
}

// ---- One exact line for every kind ----

std::vector<std::pair<Input, std::string>> InputExamples() {
  VmConfig config;
  config.cid = Cid{5};
  config.kernel = "/k";
  config.disks = {{"/d/a.img", true}};
  config.params = "console=hvc0";
  config.memory_mib = 256;
  config.task_profiles = {"a", "b"};
  config.detect_hangup = true;
  config.hangup_timeout = absl::Milliseconds(2500);

  ContainerSpec spec;
  spec.owns_vm = false;
  spec.socket_relays = 2;
  spec.port_start = 5000;
  spec.port_end = 5999;

  return {
      {input::CreateVm{RequestId{1}, config},
       "create_vm request=1 config={cid=5 bootloader=none kernel=\"/k\" "
       "initrd=none disks=[{image=\"/d/a.img\" writable=true}] "
       "params=\"console=hvc0\" protected_vm=false memory_mib=256 cpus=none "
       "cpu_affinity=none task_profiles=[\"a\", \"b\"] console_sink=none "
       "log_sink=none platform_version=\"~1.0\" detect_hangup=true "
       "hangup_timeout=2.5s}"},
      {input::StartVm{RequestId{2}, Cid{5}}, "start_vm request=2 cid=5"},
      {input::KillVm{RequestId{3}, Cid{5}}, "kill_vm request=3 cid=5"},
      {input::VmmSpawned{Cid{5}, "exec failed: ENOENT"},
       "vmm_spawned cid=5 error=\"exec failed: ENOENT\""},
      {input::VmmExited{Cid{5}, ExitStatus::Signalled(9)},
       "vmm_exited cid=5 status=Signalled(SIGKILL)"},
      {input::PayloadReported{Cid{5}, PayloadState::kReady},
       "payload_reported cid=5 state=READY"},
      {input::FailureReasonRead{Cid{5}, "HANGUP\n"},
       "failure_reason_read cid=5 bytes=\"HANGUP\\n\""},
      {input::TimerFired{TimerId{TimerKind::kStopGrace, 7}},
       "timer_fired timer=stop_grace/7"},
      {input::AddProxy{RequestId{4}, ProxyId{1}, EndpointId{10}, EndpointId{20},
                       CounterId{30}, "fidl"},
       "add_proxy request=4 proxy=1 container_endpoint=10 remote_endpoint=20 "
       "counter=30 name=\"fidl\""},
      {input::EndpointSignalled{EndpointId{20},
                                kSignalReadable | kSignalPeerClosed},
       "endpoint_signalled endpoint=20 signals=READABLE|PEER_CLOSED"},
      {input::MessageRead{EndpointId{20}, ChannelStatus::kOk,
                          Message{"hi", {HandleId{7}, HandleId{8}}}},
       "message_read endpoint=20 status=OK message=\"hi\" handles=[7, 8]"},
      {input::MessageWritten{EndpointId{10}, ChannelStatus::kPeerClosed},
       "message_written endpoint=10 status=PEER_CLOSED"},
      {input::CounterAdded{CounterId{30}, ChannelStatus::kOk, 2},
       "counter_added counter=30 status=OK value=2"},
      {input::CounterChanged{CounterId{30}, -1},
       "counter_changed counter=30 value=-1"},
      {input::RegisterWakeWatcher{RequestId{5}, WatcherId{4}},
       "register_wake_watcher request=5 watcher=4"},
      {input::AddWakeSource{RequestId{6}, WakeSourceId{12}, "alarm",
                            kSignalUser0},
       "add_wake_source request=6 source=12 name=\"alarm\" mask=USER_0"},
      {input::RemoveWakeSource{RequestId{7}, WakeSourceId{12}},
       "remove_wake_source request=7 source=12"},
      {input::HandleSignalled{HandleId{12}, kSignalNone},
       "handle_signalled handle=12 signals=NONE"},
      {input::SuspendContainer{RequestId{8}}, "suspend_container request=8"},
      {input::InstallContainer{RequestId{9}, ContainerId{7}, spec},
       "install_container request=9 container=7 spec={owns_vm=false "
       "socket_relays=2 port_start=5000 port_end=5999}"},
      {input::StartContainer{RequestId{10}, ContainerId{7}},
       "start_container request=10 container=7"},
      {input::VmBooted{ContainerId{7}, "transient: busy"},
       "vm_booted container=7 error=\"transient: busy\""},
      {input::AgentConnected{ContainerId{7}, std::nullopt},
       "agent_connected container=7 error=none"},
      {input::ProcessCreated{ContainerId{7}, "no such binary"},
       "process_created container=7 error=\"no such binary\""},
      {input::ProcessStarted{ContainerId{7}, std::nullopt},
       "process_started container=7 error=none"},
      {input::ContainerExited{ContainerId{7}, ExitStatus::Signalled(77)},
       "container_exited container=7 status=Signalled(77)"},
      {input::CgroupMemory{
           ContainerId{7},
           MemoryEvent{std::nullopt, 2, std::nullopt, std::nullopt, 1}},
       "cgroup_memory container=7 event={low=none high=2 max=none oom=none "
       "oom_kill=1}"},
      {input::WaitContainer{RequestId{11}, ContainerId{7}},
       "wait_container request=11 container=7"},
      {input::StopContainer{RequestId{12}, ContainerId{7},
                            absl::Milliseconds(1500)},
       "stop_container request=12 container=7 grace=1.5s"},
      {input::KillContainer{RequestId{13}, ContainerId{7}, kSigTerm},
       "kill_container request=13 container=7 signal=SIGTERM"},
      {input::UninstallContainer{RequestId{14}, ContainerId{7}},
       "uninstall_container request=14 container=7"},
      {input::CopyFile{RequestId{15}, ContainerId{7},
                       input::CopyDirection::kOut, "/tmp/\xC0\xAF \"x\""},
       "copy_file request=15 container=7 direction=out "
       "guest_path=\"/tmp/\\xc0\\xaf \\\"x\\\"\""},
      {input::AttachBlockDevice{RequestId{16}, ContainerId{7}, 3},
       "attach_block_device request=16 container=7 slot=3"},
      {input::SubscribeEvents{RequestId{17}, SubscriberId{2}},
       "subscribe_events request=17 subscriber=2"},
      {input::PollEvents{RequestId{18}, SubscriberId{2}, 10},
       "poll_events request=18 subscriber=2 max_events=10"},
      {input::UnsubscribeEvents{RequestId{19}, SubscriberId{2}},
       "unsubscribe_events request=19 subscriber=2"},
      {input::Shutdown{RequestId{20}}, "shutdown request=20"},
  };
}

std::vector<std::pair<Action, std::string>> ActionExamples() {
  return {
      {action::Reply{
           RequestId{7},
           absl::FailedPreconditionError("VM-3: VM already started or failed"),
           ExitStatus::Exited(0)},
       "reply request=7 status=FAILED_PRECONDITION: VM-3: VM already started "
       "or failed value=Exit(0)"},
      {action::VmStateChanged{Cid{5}, VmState::kRunning},
       "vm_state cid=5 state=RUNNING"},
      {action::PayloadStateChanged{Cid{5}, PayloadState::kFinished},
       "payload_state cid=5 state=FINISHED"},
      {action::GuestError{Cid{5}, "VM-4: bad\ttab"},
       "guest_error cid=5 message=\"VM-4: bad\\ttab\""},
      {action::SpawnVmm{Cid{5}, {"crosvm", "run", "--cid", "5"}},
       "spawn_vmm cid=5 argv=[\"crosvm\", \"run\", \"--cid\", \"5\"]"},
      {action::KillVmm{Cid{5}}, "kill_vmm cid=5"},
      {action::ReadFailureReason{Cid{5}, 4096},
       "read_failure_reason cid=5 max_bytes=4096"},
      {action::OnDied{Cid{5}, DeathReason::kMicrodroidInvalidPayloadConfig},
       "on_died cid=5 reason=MICRODROID_INVALID_PAYLOAD_CONFIG"},
      {action::RemoveTempDir{Cid{5}}, "remove_temp_dir cid=5"},
      {action::ArmTimer{TimerId{TimerKind::kHangup, 5},
                        Instant{10'000'000'000}},
       "arm_timer timer=hangup/5 deadline=10.000000000s"},
      {action::CancelTimer{TimerId{TimerKind::kBootRetry, 7}},
       "cancel_timer timer=boot_retry/7"},
      {action::ReadMessage{EndpointId{20}}, "read_message endpoint=20"},
      {action::WriteMessage{EndpointId{20}, Message{"hello", {}}},
       "write_message endpoint=20 message=\"hello\" handles=[]"},
      {action::CloseEndpoint{EndpointId{10}}, "close_endpoint endpoint=10"},
      {action::CounterAdd{CounterId{30}, 1}, "counter_add counter=30 delta=+1"},
      {action::ProxyStopped{ProxyId{1}}, "proxy_stopped proxy=1"},
      {action::WakeSourceAdded{WakeSourceId{7}, "binder"},
       "wake_source_added source=7 name=\"binder\""},
      {action::WakeSourceRemoved{WakeSourceId{7}},
       "wake_source_removed source=7"},
      {action::SignalWatcher{WatcherId{4}, WakeSignal::kAsleep},
       "signal_watcher watcher=4 signal=ASLEEP"},
      {action::SuspendGuest{}, "suspend_guest"},
      {action::ResumeGuest{}, "resume_guest"},
      {action::BootVm{ContainerId{7}, 2}, "boot_vm container=7 attempt=2"},
      {action::ConnectAgent{ContainerId{7}, 3},
       "connect_agent container=7 attempt=3"},
      {action::StartSocketRelay{ContainerId{7}, 5000},
       "start_socket_relay container=7 port=5000"},
      {action::CreateProcess{ContainerId{7}}, "create_process container=7"},
      {action::StartProcess{ContainerId{7}}, "start_process container=7"},
      {action::SignalContainer{ContainerId{7}, kSigKill},
       "signal_container container=7 signal=SIGKILL"},
      {action::WaitProcess{ContainerId{7}}, "wait_process container=7"},
      {action::StopSocketRelays{ContainerId{7}},
       "stop_socket_relays container=7"},
      {action::DeleteProcess{ContainerId{7}}, "delete_process container=7"},
      {action::StopVm{ContainerId{7}}, "stop_vm container=7"},
      {action::StartTransfer{ContainerId{7}, input::CopyDirection::kOut, 5003,
                             "/run/proctor/containers/7/rootfs/a"},
       "start_transfer container=7 direction=out port=5003 "
       "path=\"/run/proctor/containers/7/rootfs/a\""},
      {action::EmitContainerEvent{
           ContainerId{1},
           Event(ContainerEvent::Kind::kExit, ExitStatus::Exited(0))},
       "container_event container=1 kind=exit status=Exit(0)"},
      {action::ReleaseHostResources{}, "release_host_resources"},
      {action::ShutdownComplete{}, "shutdown_complete"},
  };
}

TEST(DescribeTest, EveryInputExampleHasItsExactLine) {
  for (const auto& [input, line] : InputExamples()) {
    EXPECT_EQ(DescribeInput(input), line);
  }
}

TEST(DescribeTest, EveryActionExampleHasItsExactLine) {
  for (const auto& [action, line] : ActionExamples()) {
    EXPECT_EQ(DescribeAction(action), line);
  }
}

template <typename Variant, size_t... I>
std::set<absl::string_view> AllNames(std::index_sequence<I...>) {
  return {std::variant_alternative_t<I, Variant>::kName...};
}

// A new kind of input or action needs an exact example above.
TEST(DescribeTest, ExamplesCoverEveryKind) {
  std::set<absl::string_view> inputs;
  for (const auto& [input, line] : InputExamples()) {
    inputs.insert(InputName(input));
  }
  EXPECT_EQ(
      inputs,
      AllNames<Input>(std::make_index_sequence<std::variant_size_v<Input>>()));
  std::set<absl::string_view> actions;
  for (const auto& [action, line] : ActionExamples()) {
    actions.insert(ActionName(action));
  }
  EXPECT_EQ(actions,
            AllNames<Action>(
                std::make_index_sequence<std::variant_size_v<Action>>()));
}

// ---- Every field of every kind, even for kinds added later ----

using describe_test_internal::AnyField;

template <typename T, typename... Fields>
constexpr size_t FieldCount() {
  if constexpr (requires { T{Fields{}..., AnyField{}}; }) {
    return FieldCount<T, Fields..., AnyField>();
  } else {
    return sizeof...(Fields);
  }
}

static_assert(FieldCount<input::AddProxy>() == 6);
static_assert(FieldCount<action::Reply>() == 3);
static_assert(FieldCount<action::SuspendGuest>() == 0);

// The `key=` fields of a line outside quotes, braces and brackets.
std::vector<std::string> TopLevelKeys(absl::string_view line) {
  std::vector<std::string> keys;
  int depth = 0;
  bool quoted = false;
  bool at_token_start = false;
  std::string token;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == ' ' && depth == 0) {
      at_token_start = true;
      token.clear();
      continue;
    }
    if (at_token_start) {
      if (c == '=') {
        keys.push_back(token);
        at_token_start = false;
      } else if ((c >= 'a' && c <= 'z') || c == '_') {
        token += c;
      } else {
        at_token_start = false;
      }
    }
  }
  return keys;
}

template <typename T, typename Variant, typename Describe>
void ExpectNameAndEveryField(Describe describe) {
  const std::string line = describe(Variant(T{}));
  SCOPED_TRACE(line);
  EXPECT_TRUE(line == T::kName ||
              line.starts_with(absl::StrCat(T::kName, " ")));
  std::vector<std::string> keys = TopLevelKeys(line);
  // A message's bytes and handles are the one field `message`.
  std::erase(keys, "handles");
  size_t fields = FieldCount<T>();
  // A reply without a value (the default) leaves `value=` out.
  if constexpr (std::is_same_v<T, action::Reply>) --fields;
  EXPECT_EQ(keys.size(), fields);
}

template <typename Variant, typename Describe, size_t... I>
void ExpectEveryAlternative(Describe describe, std::index_sequence<I...>) {
  (ExpectNameAndEveryField<std::variant_alternative_t<I, Variant>, Variant>(
       describe),
   ...);
}

TEST(DescribeTest, EveryInputKindShowsItsNameAndEveryField) {
  ExpectEveryAlternative<Input>(
      [](const Input& in) { return DescribeInput(in); },
      std::make_index_sequence<std::variant_size_v<Input>>());
}

TEST(DescribeTest, EveryActionKindShowsItsNameAndEveryField) {
  ExpectEveryAlternative<Action>(
      [](const Action& a) { return DescribeAction(a); },
      std::make_index_sequence<std::variant_size_v<Action>>());
}

// ---- Values inside the lines ----

TEST(DescribeTest, AbsentOptionalsAreNone) {
  EXPECT_EQ(DescribeInput(input::VmmSpawned{Cid{5}, std::nullopt}),
            "vmm_spawned cid=5 error=none");
  EXPECT_EQ(DescribeInput(input::VmmExited{Cid{5}, std::nullopt}),
            "vmm_exited cid=5 status=none");
  EXPECT_EQ(DescribeInput(input::StopContainer{RequestId{1}, ContainerId{7},
                                               std::nullopt}),
            "stop_container request=1 container=7 grace=none");
  // A string that reads "none" is quoted, so it is never mistaken for one.
  EXPECT_EQ(DescribeInput(input::VmmSpawned{Cid{5}, "none"}),
            "vmm_spawned cid=5 error=\"none\"");
}

TEST(DescribeTest, SignalsWithoutANameAreNumbers) {
  EXPECT_EQ(DescribeAction(action::SignalContainer{ContainerId{7}, 40}),
            "signal_container container=7 signal=40");
  EXPECT_EQ(
      DescribeInput(input::KillContainer{RequestId{1}, ContainerId{7}, 1}),
      "kill_container request=1 container=7 signal=SIGHUP");
}

TEST(DescribeTest, CounterDeltasAreSigned) {
  EXPECT_EQ(DescribeAction(action::CounterAdd{CounterId{30}, -1}),
            "counter_add counter=30 delta=-1");
  EXPECT_EQ(DescribeAction(action::CounterAdd{CounterId{30}, 0}),
            "counter_add counter=30 delta=0");
}

TEST(DescribeTest, StatusIsOkOrCodeAndMessage) {
  EXPECT_EQ(DescribeStatus(absl::OkStatus()), "OK");
  EXPECT_EQ(DescribeStatus(absl::NotFoundError("no VM with cid 9")),
            "NOT_FOUND: no VM with cid 9");
  EXPECT_EQ(DescribeStatus(absl::CancelledError("")), "CANCELLED");
  // Kept on one line.
  EXPECT_EQ(DescribeStatus(absl::InternalError("two\nlines")),
            "INTERNAL: two\\nlines");
  absl::Status with_payloads = absl::InternalError("boom");
  with_payloads.SetPayload("type.example/b", absl::Cord("2"));
  with_payloads.SetPayload("type.example/a", absl::Cord("\n"));
  EXPECT_EQ(DescribeStatus(with_payloads),
            "INTERNAL: boom [type.example/a=\"\\n\"] [type.example/b=\"2\"]");
  EXPECT_EQ(DescribeAction(action::Reply{RequestId{3}, absl::OkStatus(), {}}),
            "reply request=3 status=OK");
}

TEST(DescribeTest, EveryReplyValueHasItsForm) {
  EXPECT_EQ(DescribeReplyValue(std::monostate{}), "");
  EXPECT_EQ(DescribeReplyValue(ExitStatus::Signalled(kSigTerm)),
            "Signalled(SIGTERM)");
  EXPECT_EQ(DescribeReplyValue(SuspendResult{WakeSourceId{12}, "alarm",
                                             absl::Nanoseconds(2'250'000'123)}),
            "{woken_by=12 name=\"alarm\" slept=2.250000123s}");
  StartupTiming timing;
  timing.vm_boot = absl::Milliseconds(300);
  timing.spec_build = absl::Microseconds(1);
  timing.agent_connect = absl::Milliseconds(150);
  timing.socket_relays = absl::Milliseconds(1);
  timing.stdio_prepare = absl::Milliseconds(2);
  timing.config_write = absl::Milliseconds(3);
  timing.request_encode = absl::Milliseconds(4);
  timing.create_process = absl::Milliseconds(20);
  timing.start_gate_wait = absl::Milliseconds(5);
  timing.start_process = absl::Milliseconds(30);
  timing.total = absl::Milliseconds(600);
  EXPECT_EQ(DescribeReplyValue(timing),
            "{vm_boot=300ms spec_build=1us agent_connect=150ms "
            "socket_relays=1ms stdio_prepare=2ms config_write=3ms "
            "request_encode=4ms create_process=20ms start_gate_wait=5ms "
            "start_process=30ms total=600ms}");
  EventBatch batch;
  batch.events = {{ContainerId{7}, Event(ContainerEvent::Kind::kInstalled)},
                  {ContainerId{7},
                   Event(ContainerEvent::Kind::kExit, ExitStatus::Exited(3))}};
  batch.missed = 2;
  EXPECT_EQ(DescribeReplyValue(batch),
            "{events=[{container=7 kind=installed}, {container=7 kind=exit "
            "status=Exit(3)}] missed=2}");
  EXPECT_EQ(DescribeReplyValue(EventBatch{}), "{events=[] missed=0}");
  EXPECT_EQ(DescribeReplyValue(std::string("/dev/vdb")), "\"/dev/vdb\"");
  EXPECT_EQ(
      DescribeAction(action::Reply{RequestId{4}, absl::OkStatus(), "/dev/vdb"}),
      "reply request=4 status=OK value=\"/dev/vdb\"");
  // An empty string is a value, unlike no value at all.
  EXPECT_EQ(DescribeAction(
                action::Reply{RequestId{4}, absl::OkStatus(), std::string()}),
            "reply request=4 status=OK value=\"\"");
}

TEST(DescribeTest, EveryContainerEventKindHasItsForm) {
  using Kind = ContainerEvent::Kind;
  EXPECT_EQ(DescribeContainerEvent(Event(Kind::kInstalled)), "kind=installed");
  EXPECT_EQ(DescribeContainerEvent(Event(Kind::kStarted)), "kind=started");
  EXPECT_EQ(
      DescribeContainerEvent(Event(Kind::kExit, ExitStatus::Signalled(9))),
      "kind=exit status=Signalled(SIGKILL)");
  EXPECT_EQ(DescribeContainerEvent(Event(Kind::kUninstalled)),
            "kind=uninstalled");
  EXPECT_EQ(
      DescribeContainerEvent(
          Event(Kind::kCGroup, std::nullopt,
                MemoryEvent{1, std::nullopt, std::nullopt, 4, std::nullopt})),
      "kind=cgroup memory={low=1 high=none max=none oom=4 oom_kill=none}");
  // Fields set against the kind are shown, not hidden.
  EXPECT_EQ(DescribeContainerEvent(Event(Kind::kExit)),
            "kind=exit status=none");
  EXPECT_EQ(
      DescribeContainerEvent(Event(Kind::kStarted, ExitStatus::Exited(1),
                                   MemoryEvent{std::nullopt, std::nullopt, 2,
                                               std::nullopt, std::nullopt})),
      "kind=started status=Exit(1) memory={low=none high=none max=2 "
      "oom=none oom_kill=none}");
}

TEST(DescribeTest, MessagesAreEscapedAndBounded) {
  EXPECT_EQ(DescribeMessage(Message{}), "\"\" handles=[]");
  EXPECT_EQ(DescribeMessage(
                Message{std::string("a\"\\\x01\x7f\xff\0", 7), {HandleId{3}}}),
            "\"a\\\"\\\\\\x01\\x7f\\xff\\x00\" handles=[3]");
  const std::string exactly(kDescribedBytes, 'x');
  EXPECT_EQ(DescribeMessage(Message{exactly, {}}),
            absl::StrCat("\"", exactly, "\" handles=[]"));
  EXPECT_EQ(DescribeMessage(Message{exactly + "y", {}}),
            absl::StrCat("\"", exactly, "\"...(33 bytes) handles=[]"));
  // The largest message CH-1 allows: 65536 bytes and 64 handles.
  const Message big{std::string(kMaxMessageBytes, 'z'),
                    std::vector<HandleId>(kMaxMessageHandles, HandleId{77})};
  EXPECT_EQ(DescribeMessage(big),
            "\"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\"...(65536 bytes) "
            "handles=[77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, "
            "77, 77]...(64 handles)");
  EXPECT_EQ(
      DescribeAction(action::WriteMessage{EndpointId{10}, big}),
      absl::StrCat("write_message endpoint=10 message=", DescribeMessage(big)));
}

TEST(DescribeTest, UntrustedFailureReportIsBounded) {
  EXPECT_EQ(
      DescribeInput(input::FailureReasonRead{Cid{5}, std::string(8192, 'A')}),
      "failure_reason_read cid=5 "
      "bytes=\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"...(8192 bytes)");
}

TEST(DescribeTest, ActionListIsOneLineEachInOrder) {
  ActionList actions = {action::VmStateChanged{Cid{5}, VmState::kDead},
                        action::CancelTimer{TimerId{TimerKind::kHangup, 5}},
                        action::ReadFailureReason{Cid{5}, 4096}};
  EXPECT_THAT(
      DescribeActions(actions),
      ElementsAre("vm_state cid=5 state=DEAD", "cancel_timer timer=hangup/5",
                  "read_failure_reason cid=5 max_bytes=4096"));
  EXPECT_THAT(DescribeActions({}), ::testing::IsEmpty());
}

}  // namespace
}  // namespace proctor
