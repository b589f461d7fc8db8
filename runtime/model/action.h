// Actions: everything the runtime asks the world to do, and the observable
// events it announces. A component returns actions in the order the world
// must execute them (PX-2's "increment before write" is an order of actions).
// Actions marked "completes with X" are answered by the world with input X.
// The `kName` of each action is stable (docs/inputs-and-actions.md).
#ifndef PROCTOR_RUNTIME_MODEL_ACTION_H_
#define PROCTOR_RUNTIME_MODEL_ACTION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/model/channel_types.h"
#include "runtime/model/container_types.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/ids.h"
#include "runtime/model/input.h"
#include "runtime/model/time.h"
#include "runtime/model/timer.h"
#include "runtime/model/vm_types.h"

namespace proctor {

// PW-3: what a successful suspend returns.
struct SuspendResult {
  WakeSourceId woken_by;
  std::string name;
  absl::Duration slept;
  friend bool operator==(const SuspendResult&, const SuspendResult&) = default;
};

// CN-1: what a poll of a subscriber returns. `missed` counts events that
// were dropped because the subscriber lagged behind its bounded buffer.
struct EventBatch {
  std::vector<std::pair<ContainerId, ContainerEvent>> events;
  uint64_t missed = 0;
  friend bool operator==(const EventBatch&, const EventBatch&) = default;
};

using ReplyValue = std::variant<std::monostate, ExitStatus, SuspendResult,
                                StartupTiming, EventBatch, std::string>;

}  // namespace proctor

namespace proctor::action {

// ---- Replies to requests ----
struct Reply {
  static constexpr absl::string_view kName = "reply";
  RequestId request;
  absl::Status status;
  ReplyValue value;
};

// ---- VMs ----
// Observable: the VM's state changed (VM-3, VM-7).
struct VmStateChanged {
  static constexpr absl::string_view kName = "vm_state";
  Cid cid;
  VmState state;
};
// Observable: the payload moved forward (VM-4).
struct PayloadStateChanged {
  static constexpr absl::string_view kName = "payload_state";
  Cid cid;
  PayloadState state;
};
// Observable: the guest sent something invalid; nothing changed.
struct GuestError {
  static constexpr absl::string_view kName = "guest_error";
  Cid cid;
  std::string message;
};
// Completes with vmm_spawned (and later vmm_exited).
struct SpawnVmm {
  static constexpr absl::string_view kName = "spawn_vmm";
  Cid cid;
  std::vector<std::string> argv;
};
struct KillVmm {
  static constexpr absl::string_view kName = "kill_vmm";
  Cid cid;
};
// Completes with failure_reason_read.
struct ReadFailureReason {
  static constexpr absl::string_view kName = "read_failure_reason";
  Cid cid;
  uint32_t max_bytes = 4096;
};
// VM-7: delivered exactly once per started VM.
struct OnDied {
  static constexpr absl::string_view kName = "on_died";
  Cid cid;
  DeathReason reason;
};
struct RemoveTempDir {
  static constexpr absl::string_view kName = "remove_temp_dir";
  Cid cid;
};

// ---- Timers ----
// Completes with timer_fired at `deadline` unless cancelled or re-armed.
struct ArmTimer {
  static constexpr absl::string_view kName = "arm_timer";
  TimerId timer;
  Instant deadline;
};
struct CancelTimer {
  static constexpr absl::string_view kName = "cancel_timer";
  TimerId timer;
};

// ---- Channels and counters ----
// Completes with message_read.
struct ReadMessage {
  static constexpr absl::string_view kName = "read_message";
  EndpointId endpoint;
};
// Completes with message_written.
struct WriteMessage {
  static constexpr absl::string_view kName = "write_message";
  EndpointId endpoint;
  Message message;
};
struct CloseEndpoint {
  static constexpr absl::string_view kName = "close_endpoint";
  EndpointId endpoint;
};
// Completes with counter_added.
struct CounterAdd {
  static constexpr absl::string_view kName = "counter_add";
  CounterId counter;
  int64_t delta = 0;
};
// Observable: a proxy has stopped and closed both of its endpoints (PX-3).
struct ProxyStopped {
  static constexpr absl::string_view kName = "proxy_stopped";
  ProxyId proxy;
};

// ---- Suspend and wake ----
// Observable: the wake source set changed (PW-1, PX-4).
struct WakeSourceAdded {
  static constexpr absl::string_view kName = "wake_source_added";
  WakeSourceId source;
  std::string name;
};
struct WakeSourceRemoved {
  static constexpr absl::string_view kName = "wake_source_removed";
  WakeSourceId source;
};
struct SignalWatcher {
  static constexpr absl::string_view kName = "signal_watcher";
  WatcherId watcher;
  WakeSignal signal;
};
struct SuspendGuest {
  static constexpr absl::string_view kName = "suspend_guest";
};
struct ResumeGuest {
  static constexpr absl::string_view kName = "resume_guest";
};

// ---- Containers ----
// Completes with vm_booted.
struct BootVm {
  static constexpr absl::string_view kName = "boot_vm";
  ContainerId container;
  uint32_t attempt = 1;
};
// Completes with agent_connected.
struct ConnectAgent {
  static constexpr absl::string_view kName = "connect_agent";
  ContainerId container;
  uint32_t attempt = 1;
};
struct StartSocketRelay {
  static constexpr absl::string_view kName = "start_socket_relay";
  ContainerId container;
  uint32_t port = 0;
};
// Completes with process_created.
struct CreateProcess {
  static constexpr absl::string_view kName = "create_process";
  ContainerId container;
};
// Completes with process_started.
struct StartProcess {
  static constexpr absl::string_view kName = "start_process";
  ContainerId container;
};
struct SignalContainer {
  static constexpr absl::string_view kName = "signal_container";
  ContainerId container;
  int signal = kSigTerm;
};
// Asks the guest for the exit status; completes with container_exited.
struct WaitProcess {
  static constexpr absl::string_view kName = "wait_process";
  ContainerId container;
};
struct StopSocketRelays {
  static constexpr absl::string_view kName = "stop_socket_relays";
  ContainerId container;
};
struct DeleteProcess {
  static constexpr absl::string_view kName = "delete_process";
  ContainerId container;
};
struct StopVm {
  static constexpr absl::string_view kName = "stop_vm";
  ContainerId container;
};
struct StartTransfer {
  static constexpr absl::string_view kName = "start_transfer";
  ContainerId container;
  input::CopyDirection direction = input::CopyDirection::kIn;
  uint32_t port = 0;
  std::string path;  // absolute path inside the container's bundle
};
// Observable: an event in a container's life (CN-1), in order.
struct EmitContainerEvent {
  static constexpr absl::string_view kName = "container_event";
  ContainerId container;
  ContainerEvent event;
};

// ---- The runtime as a whole ----
struct ReleaseHostResources {
  static constexpr absl::string_view kName = "release_host_resources";
};
struct ShutdownComplete {
  static constexpr absl::string_view kName = "shutdown_complete";
};

}  // namespace proctor::action

namespace proctor {

using Action = std::variant<
    action::Reply, action::VmStateChanged, action::PayloadStateChanged,
    action::GuestError, action::SpawnVmm, action::KillVmm,
    action::ReadFailureReason, action::OnDied, action::RemoveTempDir,
    action::ArmTimer, action::CancelTimer, action::ReadMessage,
    action::WriteMessage, action::CloseEndpoint, action::CounterAdd,
    action::ProxyStopped, action::WakeSourceAdded, action::WakeSourceRemoved,
    action::SignalWatcher, action::SuspendGuest, action::ResumeGuest,
    action::BootVm, action::ConnectAgent, action::StartSocketRelay,
    action::CreateProcess, action::StartProcess, action::SignalContainer,
    action::WaitProcess, action::StopSocketRelays, action::DeleteProcess,
    action::StopVm, action::StartTransfer, action::EmitContainerEvent,
    action::ReleaseHostResources, action::ShutdownComplete>;

// Components append to an ActionList; the world executes it in order.
using ActionList = std::vector<Action>;

absl::string_view ActionName(const Action& action);

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_MODEL_ACTION_H_
