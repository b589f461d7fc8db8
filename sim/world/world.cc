#include "sim/world/world.h"

#include <algorithm>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "runtime/model/check.h"
#include "sim/world/internal/world_state.h"

namespace proctor::sim {

World::World(WorldOptions options, FaultPlan plan, SystemUnderTest* sut)
    : state_(std::make_unique<world_internal::WorldState>(
          std::move(options), std::move(plan), sut)) {}

World::~World() = default;

void World::AddObserver(Observer* observer) { state_->AddObserver(observer); }

absl::Status World::Run(absl::FunctionRef<bool()> stop) {
  return state_->Run(stop);
}

const WorldStats& World::stats() const { return state_->stats(); }

Instant World::now() const { return state_->now(); }

absl::Status World::ScheduleScript(Instant at, ScriptOp op) {
  return state_->ScheduleScript(at, std::move(op));
}

namespace world_internal {
namespace {

constexpr int64_t kUs = 1'000;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;

enum WatcherStep : uint64_t { kRegister = 0, kRegisterAgain = 1 };
enum HandleStep : uint64_t { kAddSource = 0, kToggle = 1 };
enum SubscriberStep : uint64_t { kSubscribe = 0, kPoll = 1, kUnsubscribe = 2 };

// A subscriber number nobody subscribed, for polls that must fail.
constexpr uint64_t kUnknownSubscriber = 99;

}  // namespace

WorldState::WorldState(WorldOptions options, FaultPlan plan,
                       SystemUnderTest* sut)
    : options_(std::move(options)),
      plan_(std::move(plan)),
      sut_(sut),
      shape_(ShapeOf(options_)),
      queue_(options_.queue_capacity),
      latency_rng_(Prng::Stream(options_.seed, "latency")),
      client_rng_(Prng::Stream(options_.seed, "client")),
      counters_(&koids_, std::max<size_t>(CounterTable::kMaxCounters,
                                          shape_.proxies.size() + 16)) {
  PROCTOR_CHECK(sut_ != nullptr);
  PROCTOR_CHECK(plan_.faults.size() <= kMaxPlanFaults);
  fault_fired_.assign(plan_.faults.size(), false);
  for (const Fault& f : plan_.faults) {
    ++stats_.faults_planned[FaultKindIndex(f.kind)];
  }
  actions_.reserve(64);

  const Prng vm_rng = Prng::Stream(options_.seed, "vm");
  vms_.resize(shape_.vms.size());
  for (size_t i = 0; i < vms_.size(); ++i) {
    vms_[i].cid = shape_.vms[i].cid;
    vms_[i].rng = vm_rng.Fork(shape_.vms[i].cid.value);
    vms_[i].first_create = shape_.vms[i].first_create;
  }
  const Prng container_rng = Prng::Stream(options_.seed, "container");
  containers_.resize(shape_.containers.size());
  for (size_t i = 0; i < containers_.size(); ++i) {
    containers_[i].id = shape_.containers[i].id;
    containers_[i].rng = container_rng.Fork(shape_.containers[i].id.value);
    containers_[i].owns_vm = shape_.containers[i].owns_vm;
    containers_[i].first_install = shape_.containers[i].first_install;
  }
  // Handle sources take their koids first, so that they do not depend on
  // when proxies come and go.
  const Prng wake_rng = Prng::Stream(options_.seed, "wake");
  handles_.resize(shape_.handle_sources);
  for (size_t i = 0; i < handles_.size(); ++i) {
    handles_[i].koid = HandleId{koids_.Next()};
    handles_[i].rng = wake_rng.Fork(i);
  }
  const Prng proxy_rng = Prng::Stream(options_.seed, "proxy");
  proxies_.resize(shape_.proxies.size());
  for (size_t i = 0; i < proxies_.size(); ++i) {
    proxies_[i].id = shape_.proxies[i].id;
    proxies_[i].rng = proxy_rng.Fork(shape_.proxies[i].id.value);
    proxies_[i].add_at = shape_.proxies[i].add_at;
  }
  subscribed_.assign(shape_.subscribers + 1, false);
  if (scripted()) {
    script_guests_.resize(vms_.size());
    for (const ScriptedVm& vm : options_.script->vms) {
      script_guests_[vm.cid.value - kMinGuestCid] = vm.guest;
    }
    script_processes_.resize(containers_.size());
    for (const ScriptedContainer& c : options_.script->containers) {
      script_processes_[c.id.value - 1] = c.process;
    }
  }
}

// ---- The loop ----

absl::Status WorldState::Run(absl::FunctionRef<bool()> stop) {
  PROCTOR_CHECK(!ran_);
  ran_ = true;
  ScheduleWorkload();
  while (failure_.ok() && !queue_.empty()) {
    EventQueue<Event>::Entry entry = queue_.Pop();
    PROCTOR_CHECK(entry.at >= now_);
    now_ = entry.at;
    Dispatch(entry.payload);
    if (!failure_.ok()) break;
    if (stats_.events > options_.max_events) {
      Fail(absl::ResourceExhaustedError(absl::StrCat(
          "event budget exhausted: more than ", options_.max_events,
          " events by ", FormatInstant(now_))));
      break;
    }
    if (stop()) {
      stats_.end = now_;
      return absl::OkStatus();
    }
    PROCTOR_CHECK(dead_ <= queue_.size());
    if (queue_.size() == dead_) break;  // idle: nothing left can act
  }
  stats_.end = now_;
  if (!failure_.ok()) return failure_;
  for (Observer* o : observers_) o->OnEnd(now_);
  return absl::OkStatus();
}

void WorldState::ScheduleWorkload() {
  for (size_t i = 0; i < plan_.faults.size(); ++i) {
    Schedule(plan_.faults[i].at,
             Event{EventKind::kFault, static_cast<uint32_t>(i), 0, 0});
  }
  // A script's steps are already queued (ScheduleScript).
  if (scripted()) return;
  for (uint32_t w = 1; w <= shape_.watchers; ++w) {
    Schedule(Instant::FromNanos(client_rng_.Between(0, 1 * kSec)),
             Event{EventKind::kWatcher, w, 0, kRegister});
  }
  for (uint32_t i = 0; i < handles_.size(); ++i) {
    Schedule(Instant::FromNanos(handles_[i].rng.Between(0, 5 * kSec)),
             Event{EventKind::kHandleSource, i, 0, kAddSource});
  }
  for (uint32_t s = 1; s <= shape_.subscribers; ++s) {
    Schedule(Instant::FromNanos(client_rng_.Between(0, 2 * kSec)),
             Event{EventKind::kSubscriber, s, 0, kSubscribe});
  }
  Schedule(Instant::FromNanos(client_rng_.Between(1 * kSec, 10 * kSec)),
           Event{EventKind::kSuspend});
  for (uint32_t i = 0; i < vms_.size(); ++i) {
    Schedule(vms_[i].first_create, Event{EventKind::kVmClient, i, 0, 0});
  }
  for (uint32_t i = 0; i < containers_.size(); ++i) {
    Schedule(containers_[i].first_install,
             Event{EventKind::kContainerClient, i, 0, 0});
  }
  for (uint32_t i = 0; i < proxies_.size(); ++i) {
    Schedule(proxies_[i].add_at, Event{EventKind::kProxyAdd, i});
  }
  Schedule(shape_.window_end, Event{EventKind::kQuiet});
  Schedule(shape_.final_suspend_at, Event{EventKind::kFinalSuspend});
  Schedule(shape_.shutdown_at, Event{EventKind::kShutdown, 0, 0, 0});
  if (client_rng_.Chance(100'000)) {
    // RT-2: a duplicate shutdown is answered when the first completes.
    Schedule(Instant::FromNanos(shape_.shutdown_at.ns +
                                client_rng_.Between(0, 1 * kSec)),
             Event{EventKind::kShutdown, 0, 0, 1});
  }
}

void WorldState::Dispatch(const Event& e) {
  switch (e.kind) {
    case EventKind::kDeliver: {
      Input input = std::move(slots_[e.arg]);
      free_slots_.push_back(static_cast<uint32_t>(e.arg));
      Deliver(input);
      return;
    }
    case EventKind::kTimer: {
      TimerSlot& t = timers_[e.obj];
      if (t.gen != e.gen || !t.armed) {  // cancelled or re-armed
        --dead_;
        return;
      }
      t.armed = false;
      Deliver(input::TimerFired{t.id});
      return;
    }
    case EventKind::kVmClient:
      OnVmClient(vms_[e.obj], e.gen, e.arg);
      return;
    case EventKind::kVmmSpawned:
      if (Current(e)) OnVmmSpawned(vms_[e.obj], e.gen, e.arg);
      return;
    case EventKind::kGuestStep:
      if (Current(e)) OnGuestStep(vms_[e.obj], e.gen, e.arg);
      return;
    case EventKind::kVmmExit: {
      VmSim& vm = vms_[e.obj];
      if (Current(e) && vm.vmm == VmmPhase::kKilling) {
        VmmExits(vm, ExitStatus::Signalled(kSigKill));
      }
      return;
    }
    case EventKind::kContainerClient:
      OnContainerClient(containers_[e.obj], e.gen, e.arg);
      return;
    case EventKind::kProcessStarted:
      if (Current(e)) OnProcessStarted(containers_[e.obj], e.gen);
      return;
    case EventKind::kProcessExit:
      if (Current(e)) OnProcessExit(containers_[e.obj], e.gen, e.arg);
      return;
    case EventKind::kCgroupBurst:
      if (Current(e)) OnCgroupBurst(containers_[e.obj], e.gen, e.arg);
      return;
    case EventKind::kProxyAdd:
      OnProxyAdd(proxies_[e.obj]);
      return;
    case EventKind::kRemoteTraffic:
      OnRemoteTraffic(proxies_[e.obj]);
      return;
    case EventKind::kContainerTraffic:
      OnContainerTraffic(proxies_[e.obj]);
      return;
    case EventKind::kSignal:
      OnSignal(proxies_[e.obj], static_cast<Side>(e.arg));
      return;
    case EventKind::kRemoteRead:
      OnRemoteRead(proxies_[e.obj]);
      return;
    case EventKind::kContainerRead:
      OnContainerRead(proxies_[e.obj]);
      return;
    case EventKind::kContainerHandle:
      OnContainerHandle(proxies_[e.obj]);
      return;
    case EventKind::kFault:
      OnFault(e.obj);
      return;
    case EventKind::kWatcher:
      OnWatcher(e.obj, e.arg);
      return;
    case EventKind::kHandleSource:
      OnHandleSource(e.obj, e.arg);
      return;
    case EventKind::kHandleSignal:
      if (Current(e)) OnHandleSignal(e.obj, e.gen, e.arg);
      return;
    case EventKind::kSuspend:
      if (quiet_) return;
      // Like a real client, only suspend when something could wake the
      // container again; otherwise it would sleep until the shutdown.
      if (CanWake()) {
        Deliver(input::SuspendContainer{NewRequest(RequestKind::kOther, 0, 0)});
      }
      ScheduleAfter(client_rng_.Between(2 * kSec, 10 * kSec),
                    Event{EventKind::kSuspend});
      return;
    case EventKind::kSubscriber:
      OnSubscriber(e.obj, e.arg);
      return;
    case EventKind::kQuiet:
      OnQuiet();
      return;
    case EventKind::kFinalSuspend:
      // Everything has drained, so this suspend should succeed; nothing in
      // the world wakes the container again before the shutdown.
      Deliver(input::SuspendContainer{NewRequest(RequestKind::kOther, 0, 0)});
      return;
    case EventKind::kShutdown:
      Deliver(input::Shutdown{NewRequest(RequestKind::kOther, 0, 0)});
      return;
    case EventKind::kScript:
      RunScriptOp(script_ops_[e.obj]);
      return;
  }
}

void WorldState::Schedule(Instant at, const Event& e) {
  switch (e.kind) {
    case EventKind::kVmClient:
    case EventKind::kContainerClient:
    case EventKind::kRemoteTraffic:
    case EventKind::kContainerTraffic:
    case EventKind::kWatcher:
    case EventKind::kHandleSource:
    case EventKind::kSuspend:
    case EventKind::kSubscriber:
    case EventKind::kFault:
      if (at >= shape_.window_end) return;
      break;
    // Guarded events are only ever scheduled for the current generation.
    case EventKind::kVmmSpawned:
    case EventKind::kGuestStep:
    case EventKind::kVmmExit:
      PROCTOR_CHECK(e.gen == vms_[e.obj].vmm_gen);
      ++vms_[e.obj].queued;
      break;
    case EventKind::kProcessStarted:
    case EventKind::kProcessExit:
    case EventKind::kCgroupBurst:
      PROCTOR_CHECK(e.gen == containers_[e.obj].proc_gen);
      ++containers_[e.obj].queued;
      break;
    case EventKind::kHandleSignal:
      PROCTOR_CHECK(e.gen == handles_[e.obj].gen);
      ++handles_[e.obj].queued;
      break;
    default:
      break;
  }
  if (!queue_.Push(at, e)) {
    Fail(absl::ResourceExhaustedError(
        absl::StrCat("event queue full: ", queue_.capacity(),
                     " events pending at ", FormatInstant(now_))));
    return;
  }
  stats_.peak_queue = std::max(stats_.peak_queue, queue_.size());
}

void WorldState::BumpVmm(VmSim& vm) {
  dead_ += vm.queued;
  vm.queued = 0;
  ++vm.vmm_gen;
}

void WorldState::BumpProcess(ContainerSim& c) {
  dead_ += c.queued;
  c.queued = 0;
  ++c.proc_gen;
}

void WorldState::BumpHandle(HandleSourceSim& h) {
  dead_ += h.queued;
  h.queued = 0;
  ++h.gen;
}

bool WorldState::Current(const Event& e) {
  uint32_t gen = 0;
  uint32_t* queued = nullptr;
  switch (e.kind) {
    case EventKind::kVmmSpawned:
    case EventKind::kGuestStep:
    case EventKind::kVmmExit:
      gen = vms_[e.obj].vmm_gen;
      queued = &vms_[e.obj].queued;
      break;
    case EventKind::kProcessStarted:
    case EventKind::kProcessExit:
    case EventKind::kCgroupBurst:
      gen = containers_[e.obj].proc_gen;
      queued = &containers_[e.obj].queued;
      break;
    case EventKind::kHandleSignal:
      gen = handles_[e.obj].gen;
      queued = &handles_[e.obj].queued;
      break;
    default:
      PROCTOR_CHECK(false);
  }
  if (e.gen != gen) {
    --dead_;
    return false;
  }
  PROCTOR_CHECK(*queued > 0);
  --*queued;
  return true;
}

void WorldState::ScheduleInput(Instant at, Input input) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[slot] = std::move(input);
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.push_back(std::move(input));
  }
  Schedule(at, Event{EventKind::kDeliver, 0, 0, slot});
}

Instant WorldState::CompletionAt(uint64_t key, int64_t lo_ns, int64_t hi_ns) {
  int64_t at = now_.ns + latency_rng_.Between(lo_ns, hi_ns);
  if (delays_.empty()) return Instant::FromNanos(at);
  std::erase_if(delays_, [&](const ActiveDelay& d) { return d.until <= now_; });
  // Overlapping delays do not add up past the longest one a plan can ask
  // for: the oracle's checks after the fault window assume that every
  // completion is at most that late, and twelve stacked delays pushed proxy
  // traffic past the final suspend (fuzz/findings, world-stacked-delays).
  int64_t extra = 0;
  for (const ActiveDelay& d : delays_) {
    if (d.target == 0 || d.target == key) {
      extra = std::min(extra + d.extra_ns, kMaxCompletionDelayMs * kMs);
      Fire(d.fault);
    }
  }
  return Instant::FromNanos(at + extra);
}

Instant WorldState::FastCompletionAt(uint64_t key) {
  if (latency_rng_.Chance(700'000)) return CompletionAt(key, 0, 0);
  return CompletionAt(key, 1 * kUs, 2 * kMs);
}

void WorldState::Deliver(const Input& input) {
  PROCTOR_CHECK(!executing_);
  if (!failure_.ok()) return;
  ++stats_.inputs;
  ++stats_.events;
  const uint64_t input_seq = next_seq_++;
  for (Observer* o : observers_) o->OnInput(input_seq, now_, input);
  actions_.clear();
  if (absl::Status s = sut_->Handle(now_, input, actions_); !s.ok()) {
    Fail(absl::Status(s.code(),
                      absl::StrCat("at ", FormatInstant(now_), ", handling ",
                                   InputName(input), ": ", s.message())));
    return;
  }
  for (const Action& a : actions_) {
    ++stats_.actions;
    ++stats_.events;
    const uint64_t seq = next_seq_++;
    for (Observer* o : observers_) o->OnAction(seq, now_, a);
  }
  executing_ = true;
  for (Action& a : actions_) {
    std::visit([this](auto& x) { Execute(x); }, a);
  }
  executing_ = false;
}

void WorldState::EmitFact(const WorldFact& fact) {
  ++stats_.facts;
  ++stats_.events;
  const uint64_t seq = next_seq_++;
  for (Observer* o : observers_) o->OnFact(seq, now_, fact);
}

void WorldState::Fail(absl::Status status) {
  if (failure_.ok()) failure_ = std::move(status);
}

RequestId WorldState::NewRequest(RequestKind kind, uint32_t obj,
                                 uint32_t life) {
  const RequestId id{++next_request_};
  if (pending_.size() >= kMaxPendingRequests) {
    Fail(absl::ResourceExhaustedError(absl::StrCat(
        "more than ", kMaxPendingRequests,
        " requests are unanswered: the system under test is not replying")));
    return id;
  }
  pending_.emplace(id.value, PendingRequest{kind, obj, life});
  return id;
}

// ---- Actions that concern the world as a whole ----

void WorldState::Execute(action::Reply& a) {
  auto it = pending_.find(a.request.value);
  // A reply to nothing pending (a duplicate) is for the oracle to judge.
  if (it == pending_.end()) return;
  const PendingRequest p = it->second;
  pending_.erase(it);
  switch (p.kind) {
    case RequestKind::kCreateVm:
    case RequestKind::kCreateVmInvalid:
    case RequestKind::kStartVm:
      OnVmReply(vms_[p.obj], p, a);
      return;
    case RequestKind::kAddProxy:
      OnProxyReply(proxies_[p.obj], a);
      return;
    case RequestKind::kAddWakeSource:
      if (a.status.ok()) {
        handles_[p.obj].registered = true;
        if (!quiet_ && !scripted()) {
          ScheduleAfter(handles_[p.obj].rng.Between(1 * kSec, 10 * kSec),
                        Event{EventKind::kHandleSource, p.obj, 0, kToggle});
        }
      }
      return;
    case RequestKind::kInstall:
    case RequestKind::kInstallInvalid:
    case RequestKind::kStartContainer:
    case RequestKind::kCollect:
    case RequestKind::kUninstall:
    case RequestKind::kUninstallEarly:
      OnContainerReply(containers_[p.obj], p, a);
      return;
    case RequestKind::kOther:
      return;
  }
}

void WorldState::Execute(action::ArmTimer& a) {
  uint32_t index;
  if (auto it = timer_index_.find(a.timer); it != timer_index_.end()) {
    index = it->second;
  } else {
    if (timers_.size() >= kMaxTimers) {
      Fail(absl::ResourceExhaustedError(
          absl::StrCat("more than ", kMaxTimers, " distinct timers armed")));
      return;
    }
    index = static_cast<uint32_t>(timers_.size());
    timers_.push_back(TimerSlot{a.timer});
    timer_index_.emplace(a.timer, index);
  }
  TimerSlot& t = timers_[index];
  if (t.armed) ++dead_;  // re-armed: the queued fire is void
  ++t.gen;
  t.armed = true;
  Schedule(std::max(a.deadline, now_),
           Event{EventKind::kTimer, index, t.gen, 0});
}

void WorldState::Execute(action::CancelTimer& a) {
  if (auto it = timer_index_.find(a.timer); it != timer_index_.end()) {
    TimerSlot& t = timers_[it->second];
    if (t.armed) ++dead_;
    ++t.gen;
    t.armed = false;
  }
}

void WorldState::Execute(action::SuspendGuest&) { suspended_ = true; }

void WorldState::Execute(action::ResumeGuest&) {
  suspended_ = false;
  for (uint32_t index : stalled_) {
    ProxySim& p = proxies_[index];
    p.stalled = false;
    ScheduleContainerRead(p);
    if (p.unhandled > 0) ScheduleHandle(p);
  }
  stalled_.clear();
}

// ---- Faults ----

void WorldState::OnFault(uint32_t index) {
  // Faults stop with the window; a loaded plan may hold later ones.
  if (quiet_) return;
  const Fault& f = plan_.faults[index];
  switch (FaultTargetOf(f.kind)) {
    case FaultTarget::kVm:
      if (f.target <= UINT32_MAX) {
        if (VmSim* vm = FindVm(Cid{static_cast<uint32_t>(f.target)})) {
          vm->armed.push_back(index);
        }
      }
      return;
    case FaultTarget::kContainer:
      if (ContainerSim* c = FindContainer(ContainerId{f.target})) {
        ApplyContainerFault(*c, index);
      }
      return;
    case FaultTarget::kProxy:
      if (ProxySim* p = FindProxy(ProxyId{f.target})) {
        if (p->live) {
          ApplyProxyFault(*p, index);
        } else if (!p->failed) {
          p->armed.push_back(index);  // acts once the proxy is live
        }
      }
      return;
    case FaultTarget::kAny:
      delays_.push_back(
          ActiveDelay{index, f.target, FaultMsToNs(f.a, 0),
                      Instant::FromNanos(now_.ns + FaultMsToNs(f.b, 0))});
      return;
    case FaultTarget::kHandleSource:
      if (f.target >= 1 && f.target <= handles_.size()) {
        AssertHandle(static_cast<uint32_t>(f.target - 1), kSignalUser0,
                     FaultMsToNs(f.b, 1), index + 1);
      }
      return;
  }
}

void WorldState::Fire(uint32_t index) {
  if (fault_fired_[index]) return;
  fault_fired_[index] = true;
  const Fault& f = plan_.faults[index];
  ++stats_.faults_fired[FaultKindIndex(f.kind)];
  EmitFact(fact::FaultFired{std::string(FaultKindName(f.kind)), f.target});
}

uint32_t WorldState::TakeArmed(std::vector<uint32_t>& armed, FaultKind kind) {
  for (auto it = armed.begin(); it != armed.end(); ++it) {
    if (plan_.faults[*it].kind == kind) {
      const uint32_t index = *it;
      armed.erase(it);
      return index + 1;
    }
  }
  return 0;
}

void WorldState::DisarmAll() {
  for (VmSim& vm : vms_) vm.armed.clear();
  for (ContainerSim& c : containers_) {
    c.armed.clear();
    c.ignores_sigterm = false;
    c.boot_fail_left = 0;
    c.boot_permanent_fault = 0;
    c.agent_refusals_left = 0;
    c.agent_refuse_until = Instant{};
  }
  for (ProxySim& p : proxies_) p.armed.clear();
  delays_.clear();
}

// ---- Wake watchers, handle sources, subscribers ----

void WorldState::OnWatcher(uint32_t number, uint64_t step) {
  if (quiet_) return;
  Deliver(input::RegisterWakeWatcher{NewRequest(RequestKind::kOther, 0, 0),
                                     WatcherId{number}});
  if (step == kRegister && client_rng_.Chance(100'000)) {
    // PW-2: registering the same watcher twice is refused.
    ScheduleAfter(client_rng_.Between(1 * kSec, 10 * kSec),
                  Event{EventKind::kWatcher, number, 0, kRegisterAgain});
  }
}

void WorldState::OnHandleSource(uint32_t index, uint64_t step) {
  if (quiet_) return;
  HandleSourceSim& h = handles_[index];
  if (step == kAddSource) {
    Deliver(
        input::AddWakeSource{NewRequest(RequestKind::kAddWakeSource, index, 0),
                             WakeSourceId{h.koid.value},
                             absl::StrCat("handle-", index + 1), kSignalUser0});
    return;
  }
  // A toggle: mostly a pulse of the watched signal, sometimes of a signal
  // outside the mask, sometimes the source goes away and comes back.
  const uint64_t pick = h.rng.Below(10);
  if (pick < 8) {
    AssertHandle(index, kSignalUser0, h.rng.Between(10 * kMs, 500 * kMs), 0);
  } else if (pick < 9) {
    AssertHandle(index, kSignalUser1, h.rng.Between(10 * kMs, 500 * kMs), 0);
  } else if (h.registered && !suspended_) {
    // Never while suspended: it may be the only thing that can wake it.
    h.registered = false;
    Deliver(input::RemoveWakeSource{NewRequest(RequestKind::kOther, 0, 0),
                                    WakeSourceId{h.koid.value}});
    ScheduleAfter(h.rng.Between(1 * kSec, 3 * kSec),
                  Event{EventKind::kHandleSource, index, 0, kAddSource});
    return;
  }
  ScheduleAfter(h.rng.Between(1 * kSec, 10 * kSec),
                Event{EventKind::kHandleSource, index, 0, kToggle});
}

void WorldState::AssertHandle(uint32_t index, Signals signals, int64_t hold_ns,
                              uint32_t fault_plus_1) {
  HandleSourceSim& h = handles_[index];
  BumpHandle(h);
  h.asserted = signals;
  if (fault_plus_1 != 0) Fire(fault_plus_1 - 1);
  Deliver(input::HandleSignalled{h.koid, signals});
  ScheduleAfter(hold_ns, Event{EventKind::kHandleSignal, index, h.gen,
                               uint64_t{kSignalNone}});
}

void WorldState::OnHandleSignal(uint32_t index, uint32_t gen, uint64_t arg) {
  HandleSourceSim& h = handles_[index];
  PROCTOR_CHECK(gen == h.gen);
  h.asserted = static_cast<Signals>(arg & 0xffffffffu);
  Deliver(input::HandleSignalled{h.koid, h.asserted});
}

void WorldState::OnSubscriber(uint32_t number, uint64_t step) {
  if (quiet_) return;
  switch (step) {
    case kSubscribe:
      subscribed_[number] = true;
      Deliver(input::SubscribeEvents{NewRequest(RequestKind::kOther, 0, 0),
                                     SubscriberId{number}});
      break;
    case kUnsubscribe:
      subscribed_[number] = false;
      Deliver(input::UnsubscribeEvents{NewRequest(RequestKind::kOther, 0, 0),
                                       SubscriberId{number}});
      ScheduleAfter(client_rng_.Between(1 * kSec, 5 * kSec),
                    Event{EventKind::kSubscriber, number, 0, kSubscribe});
      return;
    case kPoll: {
      // CN-1: a poll of an unknown subscriber is refused.
      const uint64_t who =
          client_rng_.Chance(30'000) ? kUnknownSubscriber : number;
      Deliver(input::PollEvents{
          NewRequest(RequestKind::kOther, 0, 0), SubscriberId{who},
          static_cast<uint32_t>(client_rng_.Between(1, 64))});
      break;
    }
  }
  const bool leave = client_rng_.Chance(100'000);
  ScheduleAfter(client_rng_.Between(500 * kMs, 5 * kSec),
                Event{EventKind::kSubscriber, number, 0,
                      leave ? uint64_t{kUnsubscribe} : uint64_t{kPoll}});
}

bool WorldState::CanWake() const {
  for (const HandleSourceSim& h : handles_) {
    if (h.registered) return true;
  }
  for (const ProxySim& p : proxies_) {
    // Both sides open: the proxy cannot stop while the container sleeps,
    // so the remote's next message wakes it.
    if (p.live && p.remote_open && p.holds_pr && p.container_open &&
        p.holds_pc) {
      return true;
    }
  }
  return false;
}

void WorldState::OnQuiet() {
  quiet_ = true;
  for (Observer* o : observers_) o->OnQuiet(now_);
  DisarmAll();
  for (uint32_t i = 0; i < handles_.size(); ++i) {
    HandleSourceSim& h = handles_[i];
    BumpHandle(h);
    if (h.asserted != kSignalNone) {
      h.asserted = kSignalNone;
      Deliver(input::HandleSignalled{h.koid, kSignalNone});
    }
  }
  if (!suspended_) return;
  // A suspend from the window is still waiting for a wake-up: give it one,
  // so that the final suspend finds the container awake.
  for (uint32_t i = 0; i < handles_.size(); ++i) {
    if (handles_[i].registered) {
      AssertHandle(i, kSignalUser0, 1 * kMs, 0);
      return;
    }
  }
  for (ProxySim& p : proxies_) {
    if (p.live && p.remote_open && p.holds_pr) {
      if (PeerWrites(p, kRemoteSide, 16)) ScheduleSignal(p, kRemoteSide);
      return;
    }
  }
}

}  // namespace world_internal
}  // namespace proctor::sim
