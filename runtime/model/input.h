// Inputs: everything that can happen to the runtime. A world turns requests
// from clients, reports from guests, process exits, channel and counter
// signals and timer expiries into these values and hands each one to the
// runtime with the Instant at which it happened. The `kName` of each input is
// stable: traces and the conformance protocol use it
// (docs/inputs-and-actions.md).
#ifndef PROCTOR_RUNTIME_MODEL_INPUT_H_
#define PROCTOR_RUNTIME_MODEL_INPUT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/model/channel_types.h"
#include "runtime/model/container_types.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/ids.h"
#include "runtime/model/timer.h"
#include "runtime/model/vm_config.h"
#include "runtime/model/vm_types.h"

namespace proctor::input {

// ---- VMs (VM-1..9) ----
struct CreateVm {
  static constexpr absl::string_view kName = "create_vm";
  RequestId request;
  VmConfig config;
};
struct StartVm {
  static constexpr absl::string_view kName = "start_vm";
  RequestId request;
  Cid cid;
};
struct KillVm {
  static constexpr absl::string_view kName = "kill_vm";
  RequestId request;
  Cid cid;
};
// The outcome of a spawn_vmm action.
struct VmmSpawned {
  static constexpr absl::string_view kName = "vmm_spawned";
  Cid cid;
  std::optional<std::string> error;  // absent: the VMM is running
};
struct VmmExited {
  static constexpr absl::string_view kName = "vmm_exited";
  Cid cid;
  std::optional<ExitStatus> status;  // absent: the exit could not be observed
};
// Untrusted: the guest may report anything, in any order.
struct PayloadReported {
  static constexpr absl::string_view kName = "payload_reported";
  Cid cid;
  PayloadState state;
};
// The outcome of a read_failure_reason action: what the guest wrote on its
// failure channel (untrusted, at most the bytes the action asked for).
struct FailureReasonRead {
  static constexpr absl::string_view kName = "failure_reason_read";
  Cid cid;
  std::string bytes;
};
struct TimerFired {
  static constexpr absl::string_view kName = "timer_fired";
  TimerId timer;
};

// ---- Channels, counters and proxies (CH-1, CT-1, PX-1..4) ----
struct AddProxy {
  static constexpr absl::string_view kName = "add_proxy";
  RequestId request;
  ProxyId proxy;
  EndpointId container_endpoint;
  EndpointId remote_endpoint;
  CounterId counter;
  std::string name;
};
// The signals now asserted on an endpoint the runtime holds.
struct EndpointSignalled {
  static constexpr absl::string_view kName = "endpoint_signalled";
  EndpointId endpoint;
  Signals signals = kSignalNone;
};
// The outcome of a read_message action.
struct MessageRead {
  static constexpr absl::string_view kName = "message_read";
  EndpointId endpoint;
  ChannelStatus status = ChannelStatus::kOk;
  Message message;  // meaningful iff status == kOk
};
// The outcome of a write_message action.
struct MessageWritten {
  static constexpr absl::string_view kName = "message_written";
  EndpointId endpoint;
  ChannelStatus status = ChannelStatus::kOk;
};
// The outcome of a counter_add action; `value` is the value after it.
struct CounterAdded {
  static constexpr absl::string_view kName = "counter_added";
  CounterId counter;
  ChannelStatus status = ChannelStatus::kOk;
  int64_t value = 0;
};
// Someone else (the container handling a message) changed a counter.
struct CounterChanged {
  static constexpr absl::string_view kName = "counter_changed";
  CounterId counter;
  int64_t value = 0;
};

// ---- Suspend and wake (PW-1..4) ----
struct RegisterWakeWatcher {
  static constexpr absl::string_view kName = "register_wake_watcher";
  RequestId request;
  WatcherId watcher;
};
// A handle-based wake source: active while any signal of `mask` is asserted.
struct AddWakeSource {
  static constexpr absl::string_view kName = "add_wake_source";
  RequestId request;
  WakeSourceId source;
  std::string name;
  Signals mask = kSignalNone;
};
struct RemoveWakeSource {
  static constexpr absl::string_view kName = "remove_wake_source";
  RequestId request;
  WakeSourceId source;
};
struct HandleSignalled {
  static constexpr absl::string_view kName = "handle_signalled";
  HandleId handle;
  Signals signals = kSignalNone;
};
struct SuspendContainer {
  static constexpr absl::string_view kName = "suspend_container";
  RequestId request;
};

// ---- Containers (CN-1..10) ----
struct InstallContainer {
  static constexpr absl::string_view kName = "install_container";
  RequestId request;
  ContainerId container;
  ContainerSpec spec;
};
struct StartContainer {
  static constexpr absl::string_view kName = "start_container";
  RequestId request;
  ContainerId container;
};
// Outcomes of boot_vm, connect_agent, create_process and start_process.
struct VmBooted {
  static constexpr absl::string_view kName = "vm_booted";
  ContainerId container;
  std::optional<std::string> error;
};
struct AgentConnected {
  static constexpr absl::string_view kName = "agent_connected";
  ContainerId container;
  std::optional<std::string> error;
};
struct ProcessCreated {
  static constexpr absl::string_view kName = "process_created";
  ContainerId container;
  std::optional<std::string> error;
};
struct ProcessStarted {
  static constexpr absl::string_view kName = "process_started";
  ContainerId container;
  std::optional<std::string> error;
};
struct ContainerExited {
  static constexpr absl::string_view kName = "container_exited";
  ContainerId container;
  ExitStatus status = ExitStatus::Exited(0);
};
struct CgroupMemory {
  static constexpr absl::string_view kName = "cgroup_memory";
  ContainerId container;
  MemoryEvent event;
};
struct WaitContainer {
  static constexpr absl::string_view kName = "wait_container";
  RequestId request;
  ContainerId container;
};
struct StopContainer {
  static constexpr absl::string_view kName = "stop_container";
  RequestId request;
  ContainerId container;
  std::optional<absl::Duration> grace;  // absent: 10 s (CN-4)
};
struct KillContainer {
  static constexpr absl::string_view kName = "kill_container";
  RequestId request;
  ContainerId container;
  int signal = kSigKill;
};
struct UninstallContainer {
  static constexpr absl::string_view kName = "uninstall_container";
  RequestId request;
  ContainerId container;
};
enum class CopyDirection : uint8_t { kIn, kOut };
absl::string_view CopyDirectionName(CopyDirection d);
// Copy a file into or out of a container's rootfs (CN-7, CN-8).
struct CopyFile {
  static constexpr absl::string_view kName = "copy_file";
  RequestId request;
  ContainerId container;
  CopyDirection direction = CopyDirection::kIn;
  std::string guest_path;  // untrusted bytes; must be UTF-8
};
// CN-9.
struct AttachBlockDevice {
  static constexpr absl::string_view kName = "attach_block_device";
  RequestId request;
  ContainerId container;
  uint32_t slot = 1;
};
struct SubscribeEvents {
  static constexpr absl::string_view kName = "subscribe_events";
  RequestId request;
  SubscriberId subscriber;
};
struct PollEvents {
  static constexpr absl::string_view kName = "poll_events";
  RequestId request;
  SubscriberId subscriber;
  uint32_t max_events = 64;
};
struct UnsubscribeEvents {
  static constexpr absl::string_view kName = "unsubscribe_events";
  RequestId request;
  SubscriberId subscriber;
};

// ---- The runtime as a whole (RT-1, RT-2) ----
struct Shutdown {
  static constexpr absl::string_view kName = "shutdown";
  RequestId request;
};

}  // namespace proctor::input

namespace proctor {

using Input = std::variant<
    input::CreateVm, input::StartVm, input::KillVm, input::VmmSpawned,
    input::VmmExited, input::PayloadReported, input::FailureReasonRead,
    input::TimerFired, input::AddProxy, input::EndpointSignalled,
    input::MessageRead, input::MessageWritten, input::CounterAdded,
    input::CounterChanged, input::RegisterWakeWatcher, input::AddWakeSource,
    input::RemoveWakeSource, input::HandleSignalled, input::SuspendContainer,
    input::InstallContainer, input::StartContainer, input::VmBooted,
    input::AgentConnected, input::ProcessCreated, input::ProcessStarted,
    input::ContainerExited, input::CgroupMemory, input::WaitContainer,
    input::StopContainer, input::KillContainer, input::UninstallContainer,
    input::CopyFile, input::AttachBlockDevice, input::SubscribeEvents,
    input::PollEvents, input::UnsubscribeEvents, input::Shutdown>;

// The stable name of the input's kind, e.g. "vmm_exited".
absl::string_view InputName(const Input& input);
// The request this input carries, if it is a request from a client.
std::optional<RequestId> InputRequest(const Input& input);

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_MODEL_INPUT_H_
