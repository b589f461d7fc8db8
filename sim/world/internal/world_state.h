// The inside of a World (world.h): the agenda, the simulated objects and the
// rules by which they act. Split over world.cc (the loop, delivery, timers,
// requests, faults, wake sources and the run's phases), world_vms.cc,
// world_containers.cc and world_proxies.cc.
//
// Hot-path choices: an event is 24 bytes of plain data dispatched by a
// switch (no std::function); inputs that must be built ahead of time wait in
// a reused slot pool; objects live in vectors indexed by their ids; lookups
// by koid go through one hash map that is never iterated.
#ifndef PROCTOR_SIM_WORLD_INTERNAL_WORLD_STATE_H_
#define PROCTOR_SIM_WORLD_INTERNAL_WORLD_STATE_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "runtime/channel/channel.h"
#include "runtime/channel/counter.h"
#include "runtime/channel/koid_allocator.h"
#include "runtime/model/action.h"
#include "runtime/model/input.h"
#include "runtime/model/time.h"
#include "sim/core/event_queue.h"
#include "sim/core/prng.h"
#include "sim/observer.h"
#include "sim/sut.h"
#include "sim/world/fault_plan.h"
#include "sim/world/internal/workload_shape.h"
#include "sim/world/world.h"

namespace proctor::sim::world_internal {

// Requests the world's clients may have unanswered at once; beyond it the
// SUT is not answering and the run fails.
inline constexpr size_t kMaxPendingRequests = 1 << 20;
// Distinct timer ids the SUT may arm over a run.
inline constexpr size_t kMaxTimers = 1 << 20;
// A fault parameter in milliseconds is clamped to [min_ms, one day], so that
// a loaded plan or scenario with a huge one cannot overflow virtual time.
inline constexpr int64_t kMaxFaultMs = int64_t{24} * 3600 * 1000;
inline int64_t FaultMsToNs(int64_t ms, int64_t min_ms) {
  return std::clamp<int64_t>(ms, min_ms, kMaxFaultMs) * 1'000'000;
}
// The most messages one remote_burst_then_close writes.
inline constexpr int64_t kMaxFaultBurst = 10'000;

enum class EventKind : uint8_t {
  kDeliver,           // arg: input slot
  kTimer,             // obj: timer slot, gen
  kVmClient,          // obj: VM, gen: life, arg: VmStep
  kVmmSpawned,        // obj: VM, gen: VMM, arg: failing fault + 1 or 0
  kGuestStep,         // obj: VM, gen: VMM, arg: GuestStep | state << 8 |
                      //   fault + 1 << 32
  kVmmExit,           // obj: VM, gen: VMM (a kill's SIGKILL)
  kContainerClient,   // obj: container, gen: life, arg: ContainerStep | x << 8
  kProcessStarted,    // obj: container, gen: process
  kProcessExit,       // obj: container, gen: process, arg: PackExit
  kCgroupBurst,       // obj: container, gen: process, arg: left | fault << 32
  kProxyAdd,          // obj: proxy
  kRemoteTraffic,     // obj: proxy
  kContainerTraffic,  // obj: proxy
  kSignal,            // obj: proxy, arg: Side
  kRemoteRead,        // obj: proxy
  kContainerRead,     // obj: proxy
  kContainerHandle,   // obj: proxy
  kFault,             // obj: fault index in the plan
  kWatcher,           // obj: watcher number, arg: 0 first, 1 duplicate
  kHandleSource,      // obj: source, arg: HandleStep
  kHandleSignal,      // obj: source, gen, arg: the signals now asserted
  kSuspend,
  kSubscriber,  // obj: subscriber number, arg: SubscriberStep
  kQuiet,
  kFinalSuspend,
  kShutdown,  // arg: 0 first, 1 duplicate
  kScript,    // obj: index into script_ops_
};

struct Event {
  EventKind kind = EventKind::kDeliver;
  uint32_t obj = 0;
  uint32_t gen = 0;
  uint64_t arg = 0;
};

enum class RequestKind : uint8_t {
  kCreateVm,
  kCreateVmInvalid,
  kStartVm,
  kOther,  // nothing to do with the reply
  kAddProxy,
  kAddWakeSource,
  kInstall,
  kInstallInvalid,
  kStartContainer,
  kCollect,  // a wait or stop: the exit is collected
  kUninstall,
  kUninstallEarly,  // while it may still run: refused, or a new life
};

struct PendingRequest {
  RequestKind kind = RequestKind::kOther;
  uint32_t obj = 0;
  uint32_t life = 0;
};

enum class VmmPhase : uint8_t { kNone, kSpawning, kRunning, kKilling, kExited };

struct VmSim {
  Cid cid;
  Prng rng{0};
  Instant first_create;
  uint32_t life = 0;  // guards the client's steps of one life
  uint32_t lives = 0;
  uint32_t vmm_gen = 0;  // guards the guest's steps and exits of one VMM
  uint32_t queued = 0;   // events of this vmm_gen in the queue
  VmmPhase vmm = VmmPhase::kNone;
  bool kill_on_spawn = false;   // kill_vmm came while the spawn was pending
  bool awaiting_death = false;  // the next life follows on_died or FAILED
  bool detect_hangup = false;
  bool done = false;  // no more lives
  ExitStatus planned_exit = ExitStatus::Exited(0);
  uint32_t planned_exit_fault = 0;  // fault index + 1, or 0
  std::string failure_bytes;        // what the guest wrote this life
  std::vector<uint32_t> armed;      // fault indices waiting to act
};

enum class ContainerPhase : uint8_t {
  kAbsent,
  kInstalled,
  kStarting,
  kRunning,
};

struct ContainerSim {
  ContainerId id;
  Prng rng{0};
  bool owns_vm = true;
  Instant first_install;
  uint32_t life = 0;
  uint32_t lives = 0;
  ContainerPhase phase = ContainerPhase::kAbsent;
  uint32_t start_failures = 0;
  uint32_t uninstall_tries = 0;
  bool uninstall_scheduled = false;
  bool done = false;
  // The process.
  uint32_t proc_gen = 0;  // one per process, bumped when it ends
  uint32_t queued = 0;    // events of this proc_gen in the queue
  bool process_running = false;
  bool ignores_sigterm = false;
  uint32_t sigterm_fault = 0;  // fault index + 1
  // Boot and agent faults in effect (fault index + 1 until fired).
  uint32_t boot_fail_left = 0;
  uint32_t boot_fault = 0;
  uint32_t boot_permanent_fault = 0;
  uint32_t agent_refusals_left = 0;
  uint32_t agent_fault = 0;
  Instant agent_refuse_until;
  uint32_t agent_never_fault = 0;
  std::array<uint64_t, 5> memory_counts{};
  std::vector<uint32_t> armed;
};

// One proxy's channels and the two peers on their far ends: the remote
// client (R, whose channel's other end Pr the proxy holds) and the
// container (C, whose channel's other end Pc the proxy holds).
struct ProxySim {
  ProxyId id;
  Prng rng{0};
  Instant add_at;
  std::unique_ptr<ChannelTable> channels;
  EndpointId r, pr, pc, c;
  CounterId counter;
  bool live = false;    // add_proxy was answered OK
  bool failed = false;  // add_proxy was refused
  bool remote_open = false, container_open = false;
  bool holds_pr = false, holds_pc = false;
  std::array<bool, 2> signal_pending{};  // by Side
  bool remote_read_pending = false;
  bool container_read_pending = false;
  bool handle_pending = false;
  bool stalled = false;  // container work held back by a suspend
  bool container_writes = false;
  uint32_t unhandled = 0;  // read by the container, not yet handled
  std::vector<uint32_t> armed;
};

struct HandleSourceSim {
  HandleId koid;
  Prng rng{0};
  bool registered = false;
  Signals asserted = kSignalNone;
  uint32_t gen = 0;  // guards a scheduled deassertion
  uint32_t queued = 0;
};

struct TimerSlot {
  TimerId id;
  uint32_t gen = 0;
  bool armed = false;
};

struct ActiveDelay {
  uint32_t fault = 0;
  uint64_t target = 0;  // 0: every object
  int64_t extra_ns = 0;
  Instant until;
};

class WorldState {
 public:
  WorldState(WorldOptions options, FaultPlan plan, SystemUnderTest* sut);

  void AddObserver(Observer* observer) { observers_.push_back(observer); }
  absl::Status Run(absl::FunctionRef<bool()> stop);
  const WorldStats& stats() const { return stats_; }
  Instant now() const { return now_; }
  absl::Status ScheduleScript(Instant at, ScriptOp op);

 private:
  enum Side : uint8_t { kRemoteSide = 0, kContainerSide = 1 };

  // Action execution, one overload per action that needs the world; the
  // template records the rest (they change nothing in the world).
  void Execute(action::Reply& a);
  void Execute(action::VmStateChanged& a);
  void Execute(action::SpawnVmm& a);
  void Execute(action::KillVmm& a);
  void Execute(action::ReadFailureReason& a);
  void Execute(action::OnDied& a);
  void Execute(action::ArmTimer& a);
  void Execute(action::CancelTimer& a);
  void Execute(action::ReadMessage& a);
  void Execute(action::WriteMessage& a);
  void Execute(action::CloseEndpoint& a);
  void Execute(action::CounterAdd& a);
  void Execute(action::SuspendGuest& a);
  void Execute(action::ResumeGuest& a);
  void Execute(action::BootVm& a);
  void Execute(action::ConnectAgent& a);
  void Execute(action::CreateProcess& a);
  void Execute(action::StartProcess& a);
  void Execute(action::SignalContainer& a);
  template <typename A>
  void Execute(A&) {}

  // ---- Scripted worlds (world_script.cc) ----
  bool scripted() const { return options_.script != nullptr; }
  void RunScriptOp(const ScriptOp& op);
  void RunScriptOp(const script_op::CreateVm& op);
  void RunScriptOp(const script_op::StartVm& op);
  void RunScriptOp(const script_op::KillVm& op);
  void RunScriptOp(const script_op::InstallContainer& op);
  void RunScriptOp(const script_op::StartContainer& op);
  void RunScriptOp(const script_op::StopContainer& op);
  void RunScriptOp(const script_op::WaitContainer& op);
  void RunScriptOp(const script_op::KillContainer& op);
  void RunScriptOp(const script_op::UninstallContainer& op);
  void RunScriptOp(const script_op::CopyFile& op);
  void RunScriptOp(const script_op::AttachBlockDevice& op);
  void RunScriptOp(const script_op::AddProxy& op);
  void RunScriptOp(const script_op::Send& op);
  void RunScriptOp(const script_op::Close& op);
  void RunScriptOp(const script_op::RegisterWatcher& op);
  void RunScriptOp(const script_op::AddWakeSource& op);
  void RunScriptOp(const script_op::RemoveWakeSource& op);
  void RunScriptOp(const script_op::SignalWakeSource& op);
  void RunScriptOp(const script_op::Suspend& op);
  void RunScriptOp(const script_op::Subscribe& op);
  void RunScriptOp(const script_op::Poll& op);
  void RunScriptOp(const script_op::Unsubscribe& op);
  void RunScriptOp(const script_op::Shutdown& op);
  void RunScriptOp(const script_op::InjectFault& op);
  // The scripted guest's or process's plan for this VM or container.
  const ScriptedGuest* ScriptGuestOf(const VmSim& vm) const;
  const ScriptedProcess* ScriptProcessOf(const ContainerSim& c) const;

  // ---- The loop (world.cc) ----
  void ScheduleWorkload();
  void Dispatch(const Event& e);
  // Events of the client, the peers' traffic and faults that would fire at
  // or after the end of the window are not scheduled: they would find it
  // closed, and would only keep the world from being idle.
  void Schedule(Instant at, const Event& e);
  void ScheduleAfter(int64_t delay_ns, const Event& e) {
    Schedule(Instant::FromNanos(now_.ns + delay_ns), e);
  }
  void ScheduleInput(Instant at, Input input);
  // When a completion for `key` (a cid, container id or proxy id) arrives:
  // now + a latency in [lo_ns, hi_ns] + any completion_delay in effect.
  Instant CompletionAt(uint64_t key, int64_t lo_ns, int64_t hi_ns);
  // Mostly at once, sometimes up to 2 ms later.
  Instant FastCompletionAt(uint64_t key);
  void Deliver(const Input& input);
  void EmitFact(const WorldFact& fact);
  void Fail(absl::Status status);
  RequestId NewRequest(RequestKind kind, uint32_t obj, uint32_t life);

  // ---- Faults (world.cc) ----
  void OnFault(uint32_t index);
  void Fire(uint32_t index);
  // Removes the first armed fault of `kind`; its index + 1, or 0.
  uint32_t TakeArmed(std::vector<uint32_t>& armed, FaultKind kind);
  const Fault& FaultAt(uint32_t index_plus_1) const {
    return plan_.faults[index_plus_1 - 1];
  }
  void DisarmAll();

  // ---- Wake sources, watchers, suspend, subscribers, phases (world.cc) --
  void OnWatcher(uint32_t number, uint64_t step);
  void OnHandleSource(uint32_t index, uint64_t step);
  void OnHandleSignal(uint32_t index, uint32_t gen, uint64_t arg);
  void AssertHandle(uint32_t index, Signals signals, int64_t hold_ns,
                    uint32_t fault_plus_1);
  void OnSubscriber(uint32_t number, uint64_t step);
  void OnQuiet();
  // A registered handle source, or a live proxy with both sides open, could
  // wake a suspended container.
  bool CanWake() const;

  // Voids the events queued for an object's current generation; they are
  // counted dead until they are popped.
  void BumpVmm(VmSim& vm);
  void BumpProcess(ContainerSim& c);
  void BumpHandle(HandleSourceSim& h);
  // For events guarded by a generation: whether `e` is current (then it is
  // no longer counted as queued); a stale one is no longer counted dead.
  bool Current(const Event& e);

  // ---- VMs (world_vms.cc) ----
  VmSim* FindVm(Cid cid);
  void OnVmClient(VmSim& vm, uint32_t life, uint64_t step);
  void OnVmReply(VmSim& vm, const PendingRequest& p, const action::Reply& r);
  void OnVmmSpawned(VmSim& vm, uint32_t gen, uint64_t arg);
  void BootGuest(VmSim& vm);
  void OnGuestStep(VmSim& vm, uint32_t gen, uint64_t arg);
  void VmmExits(VmSim& vm, std::optional<ExitStatus> status);
  void NextVmLife(VmSim& vm);
  VmConfig ValidConfig(VmSim& vm);

  // ---- Containers (world_containers.cc) ----
  ContainerSim* FindContainer(ContainerId id);
  void OnContainerClient(ContainerSim& c, uint32_t life, uint64_t arg);
  void OnContainerReply(ContainerSim& c, const PendingRequest& p,
                        const action::Reply& r);
  void OnProcessStarted(ContainerSim& c, uint32_t gen);
  void OnProcessExit(ContainerSim& c, uint32_t gen, uint64_t arg);
  void OnCgroupBurst(ContainerSim& c, uint32_t gen, uint64_t arg);
  void ScheduleClientOps(ContainerSim& c);
  void ScheduleContainerStep(ContainerSim& c, int64_t delay_ns, uint64_t step);
  void NextContainerLife(ContainerSim& c);
  void ApplyContainerFault(ContainerSim& c, uint32_t index);
  void ScheduleCgroupBurst(ContainerSim& c, int64_t count, uint32_t fault);
  void IgnoreSigterm(ContainerSim& c, uint32_t fault_plus_1);

  // ---- Proxies and peers (world_proxies.cc) ----
  ProxySim* FindProxy(ProxyId id);
  ProxySim* ProxyOfKoid(uint64_t koid);
  void OnProxyAdd(ProxySim& p);
  void OnProxyReply(ProxySim& p, const action::Reply& r);
  void ApplyProxyFault(ProxySim& p, uint32_t index);
  void OnRemoteTraffic(ProxySim& p);
  void OnContainerTraffic(ProxySim& p);
  // The peer of `side` writes a message into its own end; true if written.
  bool PeerWrites(ProxySim& p, Side side, size_t size);
  size_t MessageSize(Prng& rng);
  void ScheduleSignal(ProxySim& p, Side side);
  void OnSignal(ProxySim& p, Side side);
  void ScheduleRemoteRead(ProxySim& p);
  void OnRemoteRead(ProxySim& p);
  void ScheduleContainerRead(ProxySim& p);
  void OnContainerRead(ProxySim& p);
  void ScheduleHandle(ProxySim& p);
  void OnContainerHandle(ProxySim& p);
  void Stall(ProxySim& p);
  void CloseRemote(ProxySim& p);
  void CloseContainer(ProxySim& p);

  WorldOptions options_;
  FaultPlan plan_;
  SystemUnderTest* sut_;
  WorkloadShape shape_;
  std::vector<Observer*> observers_;

  EventQueue<Event> queue_;
  Instant now_;
  uint64_t next_seq_ = 1;
  WorldStats stats_;
  absl::Status failure_;
  bool ran_ = false;
  bool executing_ = false;  // actions are executing: no delivery now
  bool quiet_ = false;
  // Queued events known to do nothing when popped (cancelled timers, steps
  // of a dead guest, ...): once only these remain, the world is idle.
  size_t dead_ = 0;
  bool suspended_ = false;  // between suspend_guest and resume_guest

  std::vector<Input> slots_;
  std::vector<uint32_t> free_slots_;
  ActionList actions_;

  uint64_t next_request_ = 0;
  absl::flat_hash_map<uint64_t, PendingRequest> pending_;

  std::vector<TimerSlot> timers_;
  absl::flat_hash_map<TimerId, uint32_t> timer_index_;

  std::vector<bool> fault_fired_;
  std::vector<ActiveDelay> delays_;

  Prng latency_rng_;
  Prng client_rng_;
  KoidAllocator koids_;
  CounterTable counters_;
  uint64_t next_message_id_ = 0;

  std::vector<VmSim> vms_;
  std::vector<ContainerSim> containers_;
  std::vector<ProxySim> proxies_;
  absl::flat_hash_map<uint64_t, uint32_t> proxy_of_koid_;
  std::vector<uint32_t> stalled_;
  std::vector<HandleSourceSim> handles_;
  std::vector<bool> subscribed_;

  // Scripted worlds: ops waiting for their time, and each object's plan by
  // index (the same index as vms_ / containers_).
  std::vector<ScriptOp> script_ops_;
  std::vector<ScriptedGuest> script_guests_;
  std::vector<ScriptedProcess> script_processes_;
};

}  // namespace proctor::sim::world_internal

#endif  // PROCTOR_SIM_WORLD_INTERNAL_WORLD_STATE_H_
