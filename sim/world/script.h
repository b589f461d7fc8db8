// Scripted worlds: instead of the seeded default workload, a scenario says
// which objects exist, how their guests and processes behave, and what the
// supervisor's client does when. The world still plays every part the client
// does not (VMMs spawn and exit, guests report, the agent accepts, peers read
// and the container handles messages), with latencies from the seed, so a
// script only names what matters to it.
//
// A script step is an op handed to World::ScheduleScript at a virtual time;
// faults and guest behaviours are ops too (InjectFault), so they can follow
// an observed event as well as a clock.
#ifndef PROCTOR_SIM_WORLD_SCRIPT_H_
#define PROCTOR_SIM_WORLD_SCRIPT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/model/container_types.h"
#include "runtime/model/ids.h"
#include "runtime/model/input.h"
#include "runtime/model/vm_config.h"
#include "sim/world/fault_kind.h"

namespace proctor::sim {

// Bounds of a script: objects of each kind, and ops over a run.
inline constexpr size_t kMaxScriptObjects = 256;
inline constexpr size_t kMaxScriptOps = 100'000;
// The largest cid a script may use (cids are dense indices in the world).
inline constexpr uint32_t kMaxScriptCid = kMinGuestCid + kMaxScriptObjects - 1;

// How a VM's guest lives when no fault says otherwise: it reports Started
// `started_after` its VMM runs, Ready `ready_after` that, and then runs until
// it is killed, or reports Finished and exits with `exit_code`
// `finish_after` Ready.
struct ScriptedGuest {
  absl::Duration started_after = absl::Milliseconds(500);
  absl::Duration ready_after = absl::Milliseconds(100);
  std::optional<absl::Duration> finish_after;
  int exit_code = 0;
  friend bool operator==(const ScriptedGuest&, const ScriptedGuest&) = default;
};

struct ScriptedVm {
  Cid cid;
  ScriptedGuest guest;
  friend bool operator==(const ScriptedVm&, const ScriptedVm&) = default;
};

// A container's process runs until it is signalled, or exits by itself
// with `exit_code` `exit_after` it started. It exits on SIGTERM unless a
// container_ignores_sigterm fault says otherwise.
struct ScriptedProcess {
  std::optional<absl::Duration> exit_after;
  int exit_code = 0;
  friend bool operator==(const ScriptedProcess&,
                         const ScriptedProcess&) = default;
};

struct ScriptedContainer {
  ContainerId id;
  ScriptedProcess process;
  friend bool operator==(const ScriptedContainer&,
                         const ScriptedContainer&) = default;
};

// The objects of a scripted world. Ids are small and dense: cids from
// kMinGuestCid, container, proxy and wake source numbers from 1; the world
// makes room for every id up to the largest one named.
struct ScriptSetup {
  std::vector<ScriptedVm> vms;
  std::vector<ScriptedContainer> containers;
  std::vector<ProxyId> proxies;
  // Handle-based wake sources 1..n the client may add (their koids are the
  // world's).
  uint32_t wake_sources = 0;
  friend bool operator==(const ScriptSetup&, const ScriptSetup&) = default;
};

namespace script_op {

struct CreateVm {
  static constexpr absl::string_view kName = "create_vm";
  VmConfig config;
};
struct StartVm {
  static constexpr absl::string_view kName = "start_vm";
  Cid cid;
};
struct KillVm {
  static constexpr absl::string_view kName = "kill_vm";
  Cid cid;
};
struct InstallContainer {
  static constexpr absl::string_view kName = "install_container";
  ContainerId container;
  ContainerSpec spec;
};
struct StartContainer {
  static constexpr absl::string_view kName = "start_container";
  ContainerId container;
};
struct StopContainer {
  static constexpr absl::string_view kName = "stop_container";
  ContainerId container;
  std::optional<absl::Duration> grace;
};
struct WaitContainer {
  static constexpr absl::string_view kName = "wait_container";
  ContainerId container;
};
struct KillContainer {
  static constexpr absl::string_view kName = "kill_container";
  ContainerId container;
  int signal = 9;
};
struct UninstallContainer {
  static constexpr absl::string_view kName = "uninstall_container";
  ContainerId container;
};
struct CopyFile {
  static constexpr absl::string_view kName = "copy_file";
  ContainerId container;
  input::CopyDirection direction = input::CopyDirection::kIn;
  std::string guest_path;
};
struct AttachBlockDevice {
  static constexpr absl::string_view kName = "attach_block_device";
  ContainerId container;
  uint32_t slot = 1;
};
struct AddProxy {
  static constexpr absl::string_view kName = "add_proxy";
  ProxyId proxy;
};
// A peer writes `count` messages of `bytes` bytes each into its own end.
struct Send {
  static constexpr absl::string_view kName = "send";
  ProxyId proxy;
  bool from_container = false;
  uint32_t count = 1;
  uint32_t bytes = 64;
};
// A peer closes its own end.
struct Close {
  static constexpr absl::string_view kName = "close";
  ProxyId proxy;
  bool container_side = false;
};
struct RegisterWatcher {
  static constexpr absl::string_view kName = "register_wake_watcher";
  WatcherId watcher;
};
struct AddWakeSource {
  static constexpr absl::string_view kName = "add_wake_source";
  uint32_t source = 1;
};
struct RemoveWakeSource {
  static constexpr absl::string_view kName = "remove_wake_source";
  uint32_t source = 1;
};
// The handle of wake source `source` asserts its watched signal (or, with
// `in_mask` false, one outside the mask) for `hold`.
struct SignalWakeSource {
  static constexpr absl::string_view kName = "signal_wake_source";
  uint32_t source = 1;
  absl::Duration hold = absl::Milliseconds(100);
  bool in_mask = true;
};
struct Suspend {
  static constexpr absl::string_view kName = "suspend_container";
};
struct Subscribe {
  static constexpr absl::string_view kName = "subscribe_events";
  SubscriberId subscriber;
};
struct Poll {
  static constexpr absl::string_view kName = "poll_events";
  SubscriberId subscriber;
  uint32_t max_events = 64;
};
struct Unsubscribe {
  static constexpr absl::string_view kName = "unsubscribe_events";
  SubscriberId subscriber;
};
struct Shutdown {
  static constexpr absl::string_view kName = "shutdown";
};
// A fault of any kind, armed now (fault_kind.h says what target, a and b
// mean); guest behaviours are faults of their VM or container.
struct InjectFault {
  static constexpr absl::string_view kName = "fault";
  FaultKind kind = FaultKind::kGuestHang;
  uint64_t target = 0;
  int64_t a = 0;
  int64_t b = 0;
};

}  // namespace script_op

using ScriptOp =
    std::variant<script_op::CreateVm, script_op::StartVm, script_op::KillVm,
                 script_op::InstallContainer, script_op::StartContainer,
                 script_op::StopContainer, script_op::WaitContainer,
                 script_op::KillContainer, script_op::UninstallContainer,
                 script_op::CopyFile, script_op::AttachBlockDevice,
                 script_op::AddProxy, script_op::Send, script_op::Close,
                 script_op::RegisterWatcher, script_op::AddWakeSource,
                 script_op::RemoveWakeSource, script_op::SignalWakeSource,
                 script_op::Suspend, script_op::Subscribe, script_op::Poll,
                 script_op::Unsubscribe, script_op::Shutdown,
                 script_op::InjectFault>;

inline absl::string_view ScriptOpName(const ScriptOp& op) {
  return std::visit([](const auto& x) { return x.kName; }, op);
}

}  // namespace proctor::sim

#endif  // PROCTOR_SIM_WORLD_SCRIPT_H_
