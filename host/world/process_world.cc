#include "host/world/process_world.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "guest/protocol/decoder.h"
#include "guest/protocol/script.h"
#include "guest/protocol/wire.h"
#include "host/io/event_loop.h"
#include "host/io/seqpacket_channel.h"
#include "host/io/shared_counter.h"
#include "host/io/unique_fd.h"
#include "host/process/child_process.h"
#include "host/qemu/qemu_vm.h"
#include "host/qemu/vmm_exit.h"
#include "runtime/channel/koid_allocator.h"
#include "runtime/model/check.h"
#include "runtime/model/describe.h"
#include "sim/core/prng.h"
#include "sim/world/fault_kind.h"
#include "sim/world/guest_life.h"

namespace proctor::host {
namespace {

using sim::fact::ChannelCreated;
using sim::fact::ContainerHandled;
using sim::fact::FaultFired;
using sim::fact::PeerClosed;
using sim::fact::PeerReceived;
using sim::fact::PeerWrote;

// Bounds of what a run may accumulate.
constexpr size_t kMaxPendingRequests = 100'000;
constexpr size_t kMaxScriptSteps = sim::kMaxScriptOps;
constexpr size_t kMaxHandles = 4096;         // descriptors carried in messages
constexpr size_t kMaxOutbox = 100'000;       // messages a peer may have waiting
constexpr size_t kMaxCompletions = 100'000;  // action outcomes not delivered
// A message the world's peers write when a fault says "oversized".
constexpr size_t kOversizedBytes = kMaxMessageBytes + 1;
// The longest a loop turn waits; the world checks whether it is done between
// turns, so this only bounds how late it notices.
constexpr absl::Duration kMaxTurn = absl::Milliseconds(50);

// Commands on a container process's control socket (container_main.cc).
constexpr char kIgnoreSigterm = 'T';
constexpr char kCrashNow = 'C';

// Appended to the QEMU binary's path for vmm_spawn_fail: a spawn that fails
// for real because the program is not there.
constexpr absl::string_view kMissingSuffix = ".proctor-not-here";

// When a crash armed before a process started acts.
constexpr absl::Duration kArmedCrashAfter = absl::Milliseconds(100);

// The descriptor number a container process finds its control socket at.
constexpr int kControlFd = 3;

enum Side : uint8_t { kRemoteSide = 0, kContainerSide = 1 };

// One peer: the world's own end of a channel whose other end the proxy
// holds, and what it still has to write there.
struct Peer {
  EndpointId koid;
  UniqueFd fd;
  EventLoop::WatchId watch = 0;
  bool open = false;
  std::deque<std::string> outbox;  // written when the channel has room
  bool watching_out = false;
  bool close_when_flushed = false;  // a burst then a close
};

struct ProxyWorld {
  ProxyId id;
  bool added = false;   // add_proxy was sent
  bool live = false;    // ... and answered OK
  bool failed = false;  // ... and refused
  RequestId add_request;
  Peer peer[2];  // kRemoteSide: the remote client; kContainerSide: the
                 // container's side
  // The ends the proxy holds.
  EndpointId held_koid[2];
  UniqueFd held_fd[2];
  EventLoop::WatchId held_watch[2] = {0, 0};
  std::optional<SharedCounter> counter;
  CounterId counter_koid;
  // Messages the container has read and not handled yet.
  uint64_t unhandled = 0;
  bool handle_posted = false;
  bool stalled = false;  // the container is suspended with work to do
};

struct ContainerWorld {
  ContainerId id;
  sim::ScriptedProcess behaviour;
  std::optional<ChildProcess> process;
  EventLoop::WatchId pid_watch = 0;
  UniqueFd control;  // our end of the control socket
  EventLoop::WatchId control_watch = 0;
  bool running = false;
  bool exit_reported = false;
  // Faults that arrived before the process ran act when it starts.
  bool ignore_sigterm_armed = false;
  bool crash_armed = false;
  uint32_t life = 0;             // processes started so far
  bool ignores_sigterm = false;  // the running process said so
  // Sent a signal that ends it (or told to crash): its exit is coming, so
  // the run is not idle.
  bool exit_expected = false;
  uint32_t sigterm_fault = 0;  // 1 + index of the fault to report on ack
};

struct HandleSource {
  HandleId koid;
  std::optional<EventLoop::TimerId> release;
};

// One QEMU: a guest booted before the run (waiting for its life), the
// guest of a VM's life, or the sandbox guest.
struct GuestVm {
  VmConfig config;
  std::string name;
  std::unique_ptr<QemuVmListener> listener;
  std::unique_ptr<QemuVm> vm;
  bool hello = false;
  // The agent answered the world's first message: it has loaded its
  // modules and reads commands (it says hello before loading them).
  bool ping_sent = false;
  bool agent_ready = false;
  bool pause_asked = false;
  // Booted before the run: paused (QMP stop answered) until its spawn.
  bool paused = false;
  bool exited = false;
  bool sandbox = false;
  bool taken = false;  // by a VM's life
  // QMP's account of the end (host/qemu/vmm_exit.h).
  std::string shutdown_reason;
  bool panicked = false;
  // The VM whose life this is (taken), and the script to hand its agent
  // once it has said hello.
  Cid cid{0};
  std::optional<std::string> script;
  // vmm_spawned waits for QEMU to run the guest: the answer to "cont" for
  // a guest booted before the run, OnStarted for one booted at its spawn.
  bool spawn_pending = false;
  // The life's reports still to come and whether it ends by itself, so
  // the world knows when the guest has nothing more to do.
  size_t reports_to_come = 0;
  bool exit_to_come = false;
  bool kill_sent = false;
};

// A cid's lives in this run.
struct VmSlot {
  explicit VmSlot(sim::Prng r) : rng(r) {}
  sim::ScriptedGuest guest;
  // The simulator's stream for this VM's lives (sim/world/world.cc).
  sim::Prng rng;
  std::vector<uint32_t> armed;     // fault indices, in arming order
  std::optional<VmConfig> config;  // the accepted create_vm's
  GuestVm* current = nullptr;
  std::string failure_bytes;  // of the last exit
};

}  // namespace

class ProcessWorldImpl {
 public:
  ProcessWorldImpl(std::unique_ptr<EventLoop> loop,
                   const sim::ScriptSetup& setup, sim::SystemUnderTest* sut,
                   ProcessWorldOptions options)
      : loop_(std::move(loop)), sut_(sut), options_(std::move(options)) {
    // Koids in the simulator's order: handle sources first, then each
    // proxy's four endpoints and counter when it is added, so scenario
    // comments that name koids hold in both worlds.
    handles_.resize(setup.wake_sources);
    for (HandleSource& h : handles_) h.koid = HandleId{koids_.Next()};
    uint64_t max_proxy = 0;
    for (ProxyId p : setup.proxies) max_proxy = std::max(max_proxy, p.value);
    proxies_.resize(max_proxy);
    for (size_t i = 0; i < proxies_.size(); ++i) {
      proxies_[i].id = ProxyId{i + 1};
    }
    uint64_t max_container = 0;
    for (const sim::ScriptedContainer& c : setup.containers) {
      max_container = std::max(max_container, c.id.value);
    }
    containers_.resize(max_container);
    for (size_t i = 0; i < containers_.size(); ++i) {
      containers_[i].id = ContainerId{i + 1};
    }
    for (const sim::ScriptedContainer& c : setup.containers) {
      containers_[c.id.value - 1].behaviour = c.process;
    }
    for (const sim::ScriptedVm& v : setup.vms) Slot(v.cid).guest = v.guest;
  }

  ~ProcessWorldImpl() {
    // Every QEMU is killed, reaped and its run folder removed.
    guests_.clear();
    // Children first (their destructors kill and reap whole groups), then
    // every watch and descriptor goes with the members.
    for (ContainerWorld& c : containers_) {
      if (c.pid_watch != 0) loop_->Unwatch(c.pid_watch);
      if (c.control_watch != 0) loop_->Unwatch(c.control_watch);
      c.process.reset();
    }
    for (ProxyWorld& p : proxies_) {
      for (int s = 0; s < 2; ++s) {
        if (p.peer[s].watch != 0) loop_->Unwatch(p.peer[s].watch);
        if (p.held_watch[s] != 0) loop_->Unwatch(p.held_watch[s]);
      }
    }
  }

  void AddObserver(sim::Observer* o) { observers_.push_back(o); }

  Instant now() const { return loop_->Now(); }
  uint64_t events() const { return next_seq_ - 1; }

  absl::StatusOr<std::pair<UniqueFd, UniqueFd>> TakePeerEnds(ProxyId id) {
    ProxyWorld* p = FindProxy(id);
    if (p == nullptr || !p->added || !p->peer[kRemoteSide].open ||
        !p->peer[kContainerSide].open) {
      return absl::FailedPreconditionError(
          absl::StrCat("proxy ", id.value, " has no open peer ends to take"));
    }
    std::pair<UniqueFd, UniqueFd> ends;
    for (int s = 0; s < 2; ++s) {
      Peer& peer = p->peer[s];
      if (peer.watch != 0) loop_->Unwatch(peer.watch);
      peer.watch = 0;
      peer.open = false;
      peer.outbox.clear();
    }
    ends.first = std::move(p->peer[kRemoteSide].fd);
    ends.second = std::move(p->peer[kContainerSide].fd);
    return ends;
  }

  bool proxy_live(ProxyId id) const {
    if (id.value == 0 || id.value > proxies_.size()) return false;
    const ProxyWorld& p = proxies_[id.value - 1];
    return p.live && (p.held_fd[0] || p.held_fd[1]);
  }

  absl::Status Turn(absl::Duration max_wait) {
    if (!failure_.ok()) return failure_;
    if (absl::Status s = loop_->RunOnce(max_wait); !s.ok()) return s;
    return failure_;
  }

  absl::Status ScheduleScript(Instant at, sim::ScriptOp op) {
    if (steps_scheduled_ >= kMaxScriptSteps) {
      return absl::ResourceExhaustedError(
          absl::StrCat("more than ", kMaxScriptSteps, " script steps"));
    }
    ++steps_scheduled_;
    ++steps_pending_;
    absl::StatusOr<EventLoop::TimerId> t = loop_->AddTimer(
        std::max(at, loop_->Now()), [this, op = std::move(op)]() mutable {
          --steps_pending_;
          RunStep(op);
        });
    if (!t.ok()) {
      --steps_pending_;
      return t.status();
    }
    return failure_;
  }

  absl::Status Run(absl::FunctionRef<bool()> stop, Instant limit) {
    while (failure_.ok()) {
      if (stop()) return absl::OkStatus();
      if (Done()) break;
      if (loop_->Now() >= limit) {
        return absl::DeadlineExceededError(
            absl::StrCat("the run was still going at ", FormatInstant(limit),
                         ": ", StillGoing()));
      }
      const absl::Duration wait =
          std::min(kMaxTurn, absl::Nanoseconds(std::max<int64_t>(
                                 (limit.ns - loop_->Now().ns), 0)));
      if (absl::Status s = loop_->RunOnce(wait); !s.ok()) return s;
    }
    if (!failure_.ok()) return failure_;
    for (sim::Observer* o : observers_) o->OnEnd(loop_->Now());
    return absl::OkStatus();
  }

 private:
  // ---- Sequencing: every input, action and fact gets the next number ----

  void EmitFact(const sim::WorldFact& f) {
    const uint64_t seq = next_seq_++;
    const Instant at = loop_->Now();
    for (sim::Observer* o : observers_) o->OnFact(seq, at, f);
  }

  void Fail(absl::Status s) {
    if (failure_.ok()) failure_ = std::move(s);
  }

  // Hands `input` to the system under test now and executes its actions.
  // Never re-entered: an input that an action completes (message_read,
  // counter_added, ...) waits in `completions_` and is delivered right after
  // the delivery that caused it, before the loop turns again; the order is
  // the one the actions were executed in.
  void Deliver(Input input) {
    if (delivering_) {
      if (completions_.size() >= kMaxCompletions) {
        Fail(absl::ResourceExhaustedError(absl::StrCat(
            "more than ", kMaxCompletions, " action outcomes wait")));
        return;
      }
      completions_.push_back(std::move(input));
      return;
    }
    delivering_ = true;
    DeliverNow(input);
    while (!completions_.empty() && failure_.ok()) {
      Input next = std::move(completions_.front());
      completions_.pop_front();
      DeliverNow(next);
    }
    completions_.clear();
    delivering_ = false;
  }

  void DeliverNow(const Input& input) {
    if (!failure_.ok()) return;
    const Instant at = loop_->Now();
    const uint64_t input_seq = next_seq_++;
    for (sim::Observer* o : observers_) o->OnInput(input_seq, at, input);
    actions_.clear();
    if (absl::Status s = sut_->Handle(at, input, actions_); !s.ok()) {
      Fail(absl::Status(s.code(),
                        absl::StrCat("at ", FormatInstant(at), ", handling ",
                                     InputName(input), ": ", s.message())));
      return;
    }
    for (const Action& a : actions_) {
      const uint64_t seq = next_seq_++;
      for (sim::Observer* o : observers_) o->OnAction(seq, at, a);
    }
    ActionList actions;
    actions.swap(actions_);
    for (Action& a : actions) {
      std::visit([this](auto& x) { Execute(x); }, a);
    }
    actions.clear();
    if (actions_.empty()) actions_.swap(actions);  // keep the capacity
  }

  // The outcome of an action, delivered after the current delivery.
  void PostInput(Input input) {
    PROCTOR_CHECK(delivering_);
    Deliver(std::move(input));
  }

  // Runs `fn` on the next turn (not inside a delivery).
  void PostWork(absl::AnyInvocable<void()> fn) {
    ++inputs_pending_;
    absl::Status s = loop_->Post([this, fn = std::move(fn)]() mutable {
      --inputs_pending_;
      fn();
    });
    if (!s.ok()) {
      --inputs_pending_;
      Fail(s);
    }
  }

  RequestId NewRequest() {
    const RequestId id{++next_request_};
    if (pending_requests_.size() >= kMaxPendingRequests) {
      Fail(absl::ResourceExhaustedError(absl::StrCat(
          "more than ", kMaxPendingRequests,
          " requests are unanswered: the system under test is not replying")));
    }
    pending_requests_.insert(id.value);
    return id;
  }

  // ---- When the run is over ----

  bool Done() const {
    if (steps_pending_ > 0 || inputs_pending_ > 0) return false;
    if (shutdown_complete_) {
      // The peers read what is left and see their channels close; the
      // runtime closed every proxy end and killed every process.
      if (loop_->Now() >= drain_until_) return true;
      for (const ProxyWorld& p : proxies_) {
        if (p.peer[0].open || p.peer[1].open) return false;
      }
      for (const ContainerWorld& c : containers_) {
        if (c.running) return false;
      }
      for (const std::unique_ptr<GuestVm>& g : guests_) {
        if (g->taken && !g->exited) return false;
      }
      return true;
    }
    for (const std::unique_ptr<GuestVm>& g : guests_) {
      if (GuestBusy(*g)) return false;
    }
    // Without a shutdown: idle when nothing is due.
    if (!timers_.empty()) return false;
    for (const ContainerWorld& c : containers_) {
      if (c.running &&
          (c.behaviour.exit_after.has_value() || c.exit_expected)) {
        return false;
      }
    }
    for (const ProxyWorld& p : proxies_) {
      if (p.unhandled > 0 && !p.stalled && !suspended_) return false;
      for (const Peer& peer : p.peer) {
        if (!peer.outbox.empty()) return false;
      }
    }
    return true;
  }

  std::string StillGoing() const {
    std::vector<std::string> what;
    if (steps_pending_ > 0)
      what.push_back(absl::StrCat(steps_pending_, " steps"));
    if (!timers_.empty()) {
      what.push_back(absl::StrCat(timers_.size(), " runtime timers armed"));
    }
    for (const ContainerWorld& c : containers_) {
      if (c.running) {
        what.push_back(absl::StrCat("container ", c.id.value, " running"));
      }
    }
    for (const std::unique_ptr<GuestVm>& g : guests_) {
      if (g->taken && !g->exited) {
        what.push_back(absl::StrCat(g->name, "'s QEMU running"));
      }
    }
    if (!shutdown_complete_) what.push_back("no shutdown_complete");
    return what.empty() ? std::string("peers still draining")
                        : absl::StrJoin(what, ", ");
  }

  // ---- Script steps ----

  void RunStep(const sim::ScriptOp& op) {
    std::visit([this](const auto& x) { Step(x); }, op);
  }

  void NoVms(absl::string_view what) {
    Fail(absl::InvalidArgumentError(
        absl::StrCat("the process world has no VMs: ", what,
                     " needs the sim, qemu or libvirt world")));
  }
  void Step(const sim::script_op::CreateVm& op) {
    if (!options_.qemu.has_value()) {
      NoVms("create_vm");
      return;
    }
    const RequestId request = NewRequest();
    create_requests_.emplace(request.value, op.config);
    Deliver(input::CreateVm{request, op.config});
  }
  void Step(const sim::script_op::StartVm& op) {
    if (!options_.qemu.has_value()) {
      NoVms("start_vm");
      return;
    }
    Deliver(input::StartVm{NewRequest(), op.cid});
  }
  void Step(const sim::script_op::KillVm& op) {
    if (!options_.qemu.has_value()) {
      NoVms("kill_vm");
      return;
    }
    Deliver(input::KillVm{NewRequest(), op.cid});
  }

  void Step(const sim::script_op::InstallContainer& op) {
    Deliver(input::InstallContainer{NewRequest(), op.container, op.spec});
  }
  void Step(const sim::script_op::StartContainer& op) {
    Deliver(input::StartContainer{NewRequest(), op.container});
  }
  void Step(const sim::script_op::StopContainer& op) {
    Deliver(input::StopContainer{NewRequest(), op.container, op.grace});
  }
  void Step(const sim::script_op::WaitContainer& op) {
    Deliver(input::WaitContainer{NewRequest(), op.container});
  }
  void Step(const sim::script_op::KillContainer& op) {
    Deliver(input::KillContainer{NewRequest(), op.container, op.signal});
  }
  void Step(const sim::script_op::UninstallContainer& op) {
    Deliver(input::UninstallContainer{NewRequest(), op.container});
  }
  void Step(const sim::script_op::CopyFile& op) {
    Deliver(input::CopyFile{NewRequest(), op.container, op.direction,
                            op.guest_path});
  }
  void Step(const sim::script_op::AttachBlockDevice& op) {
    Deliver(input::AttachBlockDevice{NewRequest(), op.container, op.slot});
  }
  void Step(const sim::script_op::RegisterWatcher& op) {
    Deliver(input::RegisterWakeWatcher{NewRequest(), op.watcher});
  }
  void Step(const sim::script_op::Suspend&) {
    Deliver(input::SuspendContainer{NewRequest()});
  }
  void Step(const sim::script_op::Subscribe& op) {
    Deliver(input::SubscribeEvents{NewRequest(), op.subscriber});
  }
  void Step(const sim::script_op::Poll& op) {
    Deliver(input::PollEvents{NewRequest(), op.subscriber, op.max_events});
  }
  void Step(const sim::script_op::Unsubscribe& op) {
    Deliver(input::UnsubscribeEvents{NewRequest(), op.subscriber});
  }
  void Step(const sim::script_op::Shutdown&) {
    Deliver(input::Shutdown{NewRequest()});
  }

  HandleSource* FindHandle(uint32_t source) {
    if (source == 0 || source > handles_.size()) {
      Fail(absl::InvalidArgumentError(absl::StrCat(
          "script: wake source ", source, " is not in the setup")));
      return nullptr;
    }
    return &handles_[source - 1];
  }
  void Step(const sim::script_op::AddWakeSource& op) {
    if (HandleSource* h = FindHandle(op.source)) {
      Deliver(input::AddWakeSource{NewRequest(), WakeSourceId{h->koid.value},
                                   absl::StrCat("handle-", op.source),
                                   kSignalUser0});
    }
  }
  void Step(const sim::script_op::RemoveWakeSource& op) {
    if (HandleSource* h = FindHandle(op.source)) {
      Deliver(
          input::RemoveWakeSource{NewRequest(), WakeSourceId{h->koid.value}});
    }
  }
  void Step(const sim::script_op::SignalWakeSource& op) {
    if (HandleSource* h = FindHandle(op.source)) {
      AssertHandle(*h, op.in_mask ? kSignalUser0 : kSignalUser1, op.hold, 0);
    }
  }

  // The handle asserts `signals` for `hold`, then nothing.
  void AssertHandle(HandleSource& h, Signals signals, absl::Duration hold,
                    uint32_t fault_plus_1) {
    if (h.release.has_value()) loop_->CancelTimer(*h.release);
    h.release.reset();
    if (fault_plus_1 != 0) FireFault(fault_plus_1 - 1);
    Deliver(input::HandleSignalled{h.koid, signals});
    ++steps_pending_;  // the release is part of the script
    absl::StatusOr<EventLoop::TimerId> t = loop_->AddTimer(
        loop_->Now() + std::max(hold, absl::Nanoseconds(1)), [this, &h] {
          --steps_pending_;
          h.release.reset();
          Deliver(input::HandleSignalled{h.koid, kSignalNone});
        });
    if (!t.ok()) {
      --steps_pending_;
      Fail(t.status());
      return;
    }
    h.release = *t;
  }

  ProxyWorld* FindProxy(ProxyId id) {
    if (id.value == 0 || id.value > proxies_.size()) return nullptr;
    return &proxies_[id.value - 1];
  }

  void Step(const sim::script_op::AddProxy& op) {
    ProxyWorld* p = FindProxy(op.proxy);
    if (p == nullptr || p->added) {
      Fail(absl::InvalidArgumentError(absl::StrCat(
          "script: add_proxy ", op.proxy.value,
          p == nullptr ? ": no such proxy in the setup" : ": added twice")));
      return;
    }
    p->added = true;
    absl::StatusOr<std::pair<UniqueFd, UniqueFd>> remote = CreateChannel();
    absl::StatusOr<std::pair<UniqueFd, UniqueFd>> container = CreateChannel();
    absl::StatusOr<SharedCounter> counter = SharedCounter::Create(0);
    if (!remote.ok() || !container.ok() || !counter.ok()) {
      Fail(absl::InternalError(
          absl::StrCat("the world could not create the channels of proxy ",
                       p->id.value, ": ",
                       !remote.ok()      ? remote.status().message()
                       : !container.ok() ? container.status().message()
                                         : counter.status().message())));
      return;
    }
    // Koids in the simulator's order: remote peer, proxy's remote end,
    // proxy's container end, container peer, counter.
    p->peer[kRemoteSide].koid = EndpointId{koids_.Next()};
    p->held_koid[kRemoteSide] = EndpointId{koids_.Next()};
    p->held_koid[kContainerSide] = EndpointId{koids_.Next()};
    p->peer[kContainerSide].koid = EndpointId{koids_.Next()};
    p->counter_koid = CounterId{koids_.Next()};
    p->peer[kRemoteSide].fd = std::move(remote->first);
    p->held_fd[kRemoteSide] = std::move(remote->second);
    p->held_fd[kContainerSide] = std::move(container->first);
    p->peer[kContainerSide].fd = std::move(container->second);
    p->counter.emplace(std::move(*counter));
    const size_t index = static_cast<size_t>(p - proxies_.data());
    for (int s = 0; s < 2; ++s) {
      p->peer[s].open = true;
      owner_.emplace(p->held_koid[s].value, index);
      if (!WatchPeer(*p, static_cast<Side>(s))) return;
    }
    owner_.emplace(p->counter_koid.value, index);
    EmitFact(
        ChannelCreated{p->peer[kRemoteSide].koid, p->held_koid[kRemoteSide]});
    EmitFact(ChannelCreated{p->peer[kContainerSide].koid,
                            p->held_koid[kContainerSide]});
    p->add_request = NewRequest();
    proxy_of_request_.emplace(p->add_request.value, index);
    Deliver(input::AddProxy{p->add_request, p->id, p->held_koid[kContainerSide],
                            p->held_koid[kRemoteSide], p->counter_koid,
                            absl::StrCat("proxy-", p->id.value)});
  }

  void Step(const sim::script_op::Send& op) {
    ProxyWorld* p = FindProxy(op.proxy);
    if (p == nullptr || !p->added) return;  // nothing to write to
    const Side side = op.from_container ? kContainerSide : kRemoteSide;
    if (op.from_container && suspended_) {
      // A suspended container does nothing; it writes once it is awake.
      ScheduleScript(loop_->Now() + absl::Milliseconds(100), op).IgnoreError();
      return;
    }
    for (uint32_t i = 0; i < op.count; ++i) {
      if (!PeerWrites(*p, side, std::max<uint32_t>(op.bytes, 16))) break;
    }
  }

  void Step(const sim::script_op::Close& op) {
    ProxyWorld* p = FindProxy(op.proxy);
    if (p == nullptr || !p->added) return;
    ClosePeer(*p, op.container_side ? kContainerSide : kRemoteSide);
  }

  void Step(const sim::script_op::InjectFault& op) {
    const uint32_t index = static_cast<uint32_t>(faults_.size());
    faults_.push_back(op);
    switch (op.kind) {
      case sim::FaultKind::kContainerIgnoresSigterm:
      case sim::FaultKind::kContainerCrash:
        if (op.target == 0 || op.target > containers_.size()) return;
        ContainerFault(containers_[op.target - 1], op.kind, index);
        return;
      case sim::FaultKind::kRemoteBurstThenClose:
      case sim::FaultKind::kContainerClosesChannel:
      case sim::FaultKind::kPeerOversizedMessage:
        if (ProxyWorld* p = FindProxy(ProxyId{op.target}); p && p->added) {
          ProxyFault(*p, op, index);
        }
        return;
      case sim::FaultKind::kVmmSpawnFail:
      case sim::FaultKind::kVmmCrashAtBoot:
      case sim::FaultKind::kGuestHang:
      case sim::FaultKind::kGuestSlowStart:
      case sim::FaultKind::kGuestPanic:
      case sim::FaultKind::kGuestReboot:
      case sim::FaultKind::kFailureReason:
        if (!options_.qemu.has_value()) break;
        // Like the simulator's: for the VM's next life.
        if (op.target >= kMinGuestCid && op.target <= sim::kMaxScriptCid) {
          Slot(Cid{static_cast<uint32_t>(op.target)}).armed.push_back(index);
        }
        return;
      case sim::FaultKind::kHandleWake:
        if (op.target >= 1 && op.target <= handles_.size()) {
          AssertHandle(
              handles_[op.target - 1], kSignalUser0,
              absl::Milliseconds(std::clamp<int64_t>(op.b, 1, 86'400'000)),
              index + 1);
        }
        return;
      default:
        break;
    }
    Fail(absl::InvalidArgumentError(
        options_.qemu.has_value()
            ? absl::StrCat("fault ", sim::FaultKindName(op.kind),
                           " cannot happen in the qemu world (it needs the "
                           "simulator); list this scenario's worlds "
                           "without qemu")
            : absl::StrCat("fault ", sim::FaultKindName(op.kind),
                           " cannot happen in the process world (it needs a "
                           "VM, an agent or the simulator); list this "
                           "scenario's worlds without process")));
  }

  void FireFault(uint32_t index) {
    PROCTOR_CHECK(index < faults_.size());
    EmitFact(FaultFired{std::string(sim::FaultKindName(faults_[index].kind)),
                        faults_[index].target});
  }

  // ---- Peers ----

  bool WatchPeer(ProxyWorld& p, Side side) {
    Peer& peer = p.peer[side];
    absl::StatusOr<EventLoop::WatchId> w =
        loop_->WatchFd(peer.fd.get(), EPOLLIN | EPOLLRDHUP,
                       [this, &p, side](uint32_t) { OnPeerReadable(p, side); });
    if (!w.ok()) {
      Fail(w.status());
      return false;
    }
    peer.watch = *w;
    return true;
  }

  bool PeerWrites(ProxyWorld& p, Side side, size_t size) {
    Peer& peer = p.peer[side];
    if (!peer.open) return false;
    if (peer.outbox.size() >= kMaxOutbox) {
      Fail(absl::ResourceExhaustedError(
          absl::StrCat("proxy ", p.id.value, ": more than ", kMaxOutbox,
                       " messages wait to be written by a peer")));
      return false;
    }
    const uint64_t id = ++next_message_id_;
    peer.outbox.push_back(sim::EncodeMessageBytes(id, size));
    FlushPeer(p, side);
    return true;
  }

  // Writes what the peer has waiting until the channel is full.
  void FlushPeer(ProxyWorld& p, Side side) {
    Peer& peer = p.peer[side];
    while (peer.open && !peer.outbox.empty()) {
      const ChannelStatus status =
          WriteMessage(peer.fd.get(), peer.outbox.front(), {});
      if (status == ChannelStatus::kShouldWait) break;
      if (status == ChannelStatus::kOk) {
        EmitFact(PeerWrote{
            peer.koid, sim::DecodeMessageId(peer.outbox.front()).value_or(0)});
      }
      // A closed proxy end takes nothing more; the message is not written.
      peer.outbox.pop_front();
    }
    if (peer.open && peer.outbox.empty() && peer.close_when_flushed) {
      ClosePeer(p, side);
      return;
    }
    const bool want_out = peer.open && !peer.outbox.empty();
    if (want_out != peer.watching_out && peer.watch != 0) {
      peer.watching_out = want_out;
      absl::Status s = loop_->ModifyFd(
          peer.watch, EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0u));
      if (!s.ok()) Fail(s);
    }
  }

  void ClosePeer(ProxyWorld& p, Side side) {
    Peer& peer = p.peer[side];
    if (!peer.open) return;
    peer.open = false;
    peer.outbox.clear();
    if (peer.watch != 0) loop_->Unwatch(peer.watch);
    peer.watch = 0;
    peer.fd.reset();
    EmitFact(PeerClosed{peer.koid});
  }

  void OnPeerReadable(ProxyWorld& p, Side side) {
    Peer& peer = p.peer[side];
    if (!peer.open) return;
    if (!peer.outbox.empty()) FlushPeer(p, side);
    // The sandbox guest is frozen by QMP instead: what reaches it waits in
    // its serial port until it runs again.
    if (side == kContainerSide && suspended_ && !options_.qemu.has_value()) {
      // A suspended container reads nothing; stop asking until resumed.
      Stall(p);
      return;
    }
    while (peer.open) {
      RealMessage m;
      const ChannelStatus status = ReadMessage(peer.fd.get(), &m);
      if (status == ChannelStatus::kOk) {
        EmitFact(
            PeerReceived{peer.koid, sim::DecodeMessageId(m.bytes).value_or(0)});
        if (side == kContainerSide) {
          ++p.unhandled;
          if (options_.qemu.has_value()) {
            SendToSandbox(p, std::move(m.bytes));
          } else {
            PostHandle(p);
          }
        }
        continue;
      }
      if (status == ChannelStatus::kPeerClosed) {
        // The proxy is gone and everything it forwarded has been read.
        ClosePeer(p, side);
      } else if (status == ChannelStatus::kOutOfRange) {
        continue;  // refused and dropped by the channel; read on
      }
      break;
    }
  }

  void Stall(ProxyWorld& p) {
    if (p.stalled) return;
    p.stalled = true;
    Peer& peer = p.peer[kContainerSide];
    if (peer.watch != 0) {
      if (absl::Status s = loop_->ModifyFd(peer.watch, 0); !s.ok()) Fail(s);
    }
  }

  void PostHandle(ProxyWorld& p) {
    if (p.handle_posted) return;
    p.handle_posted = true;
    PostWork([this, &p] { HandleOne(p); });
  }

  // The container handled a message: one off the proxy's counter (PX-2).
  void HandleOne(ProxyWorld& p) {
    p.handle_posted = false;
    if (p.unhandled == 0) return;
    if (suspended_) {
      Stall(p);
      return;
    }
    TakeOffCounter(p);
    if (p.unhandled > 0) PostHandle(p);
  }

  // The container has handled one message: it takes it off the proxy's
  // counter (PX-2).
  void TakeOffCounter(ProxyWorld& p) {
    PROCTOR_CHECK(p.unhandled > 0);
    --p.unhandled;
    // The system under test may have driven the counter anywhere; a take
    // that would overflow it is the run's error, not a crash.
    if (const ChannelStatus status = p.counter->Add(-1);
        status != ChannelStatus::kOk) {
      Fail(absl::FailedPreconditionError(
          absl::StrCat("proxy ", p.id.value,
                       ": the container could not take a handled "
                       "message off counter ",
                       p.counter_koid.value, " (at ", p.counter->Value(),
                       "): ", ChannelStatusName(status))));
      return;
    }
    const int64_t value = p.counter->Value();
    EmitFact(ContainerHandled{p.counter_koid, value});
    Deliver(input::CounterChanged{p.counter_koid, value});
  }

  void ProxyFault(ProxyWorld& p, const sim::script_op::InjectFault& f,
                  uint32_t index) {
    switch (f.kind) {
      case sim::FaultKind::kRemoteBurstThenClose: {
        if (!p.peer[kRemoteSide].open) return;
        FireFault(index);
        const int64_t burst = std::clamp<int64_t>(f.a, 0, 10'000);
        for (int64_t i = 0; i < burst; ++i) PeerWrites(p, kRemoteSide, 64);
        // What did not fit yet is written before the close.
        p.peer[kRemoteSide].close_when_flushed = true;
        FlushPeer(p, kRemoteSide);
        return;
      }
      case sim::FaultKind::kContainerClosesChannel:
        if (!p.peer[kContainerSide].open) return;
        FireFault(index);
        ClosePeer(p, kContainerSide);
        return;
      case sim::FaultKind::kPeerOversizedMessage: {
        const Side side = f.b == 0 ? kRemoteSide : kContainerSide;
        if (!p.peer[side].open) return;
        const ChannelStatus status = WriteMessage(
            p.peer[side].fd.get(), std::string(kOversizedBytes, 'x'), {});
        PROCTOR_CHECK(status != ChannelStatus::kOk);
        if (status == ChannelStatus::kOutOfRange) FireFault(index);
        return;
      }
      default:
        return;
    }
  }

  // ---- Containers ----

  void ContainerFault(ContainerWorld& c, sim::FaultKind kind, uint32_t index) {
    if (kind == sim::FaultKind::kContainerIgnoresSigterm) {
      c.sigterm_fault = index + 1;
      if (c.running) {
        SendControl(c, kIgnoreSigterm);
      } else {
        c.ignore_sigterm_armed = true;
      }
      return;
    }
    // A crash of a running process now; of the next one once it runs.
    if (c.running) {
      FireFault(index);
      c.exit_expected = true;
      SendControl(c, kCrashNow);
    } else {
      c.crash_armed = true;
      crash_fault_[c.id.value] = index;
    }
  }

  void SendControl(ContainerWorld& c, char command) {
    if (!c.control) return;
    if (::send(c.control.get(), &command, 1, MSG_NOSIGNAL | MSG_DONTWAIT) !=
        1) {
      // The process is exiting; whatever it was told no longer matters.
      return;
    }
  }

  void OnControl(ContainerWorld& c) {
    char ack = 0;
    const ssize_t n = ::recv(c.control.get(), &ack, 1, MSG_DONTWAIT);
    if (n == 1 && ack == kIgnoreSigterm) {
      // In effect from now: the process has set SIGTERM to SIG_IGN.
      c.ignores_sigterm = true;
      if (c.sigterm_fault != 0) FireFault(c.sigterm_fault - 1);
      c.sigterm_fault = 0;
      return;
    }
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      loop_->Unwatch(c.control_watch);
      c.control_watch = 0;
      c.control.reset();
    }
  }

  ContainerWorld* FindContainer(ContainerId id) {
    if (id.value == 0 || id.value > containers_.size()) return nullptr;
    return &containers_[id.value - 1];
  }

  void StartProcess(ContainerWorld& c) {
    std::vector<std::string> argv = {options_.container_binary, "--control-fd",
                                     absl::StrCat(kControlFd)};
    if (c.behaviour.exit_after.has_value()) {
      argv.push_back("--exit-after");
      argv.push_back(absl::StrCat(std::max<int64_t>(
          absl::ToInt64Milliseconds(*c.behaviour.exit_after), 0)));
      argv.push_back("--exit-code");
      argv.push_back(absl::StrCat(c.behaviour.exit_code));
    }
    if (c.ignore_sigterm_armed) argv.push_back("--ignore-sigterm");
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
      PostInput(input::ProcessStarted{
          c.id, absl::StrCat("socketpair: ", std::strerror(errno))});
      return;
    }
    UniqueFd ours(pair[0]);
    UniqueFd theirs(pair[1]);
    ProcessSpec spec;
    spec.argv = std::move(argv);
    spec.fds.emplace_back(kControlFd, theirs.get());
    absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(spec);
    if (!child.ok()) {
      PostInput(
          input::ProcessStarted{c.id, std::string(child.status().message())});
      return;
    }
    c.process.emplace(std::move(*child));
    ++c.life;
    c.control = std::move(ours);
    c.running = true;
    c.exit_reported = false;
    absl::StatusOr<EventLoop::WatchId> w = loop_->WatchFd(
        c.process->pidfd(), EPOLLIN, [this, &c](uint32_t) { OnExit(c); });
    if (!w.ok()) {
      Fail(w.status());
      return;
    }
    c.pid_watch = *w;
    absl::StatusOr<EventLoop::WatchId> cw = loop_->WatchFd(
        c.control.get(), EPOLLIN, [this, &c](uint32_t) { OnControl(c); });
    if (!cw.ok()) {
      Fail(cw.status());
      return;
    }
    c.control_watch = *cw;
    c.ignores_sigterm = c.ignore_sigterm_armed;
    c.exit_expected = false;
    if (c.ignore_sigterm_armed) {
      // Given on the command line: in effect before the process runs.
      c.ignore_sigterm_armed = false;
      if (c.sigterm_fault != 0) FireFault(c.sigterm_fault - 1);
      c.sigterm_fault = 0;
    }
    PostInput(input::ProcessStarted{c.id, std::nullopt});
    if (c.crash_armed) {
      c.crash_armed = false;
      // Like the simulator's, a crash armed before the start comes a
      // little after it (its earliest: 100 ms).
      const uint32_t fault = crash_fault_[c.id.value];
      const uint32_t life = c.life;
      ++steps_pending_;
      absl::StatusOr<EventLoop::TimerId> t = loop_->AddTimer(
          loop_->Now() + kArmedCrashAfter, [this, &c, fault, life] {
            --steps_pending_;
            if (!c.running || c.life != life) return;
            FireFault(fault);
            c.exit_expected = true;
            SendControl(c, kCrashNow);
          });
      if (!t.ok()) {
        --steps_pending_;
        Fail(t.status());
      }
    }
  }

  void OnExit(ContainerWorld& c) {
    if (!c.process.has_value()) return;
    std::optional<ExitStatus> status = c.process->TryReap();
    if (!status.has_value()) return;
    loop_->Unwatch(c.pid_watch);
    c.pid_watch = 0;
    if (c.control_watch != 0) loop_->Unwatch(c.control_watch);
    c.control_watch = 0;
    c.control.reset();
    c.running = false;
    if (c.exit_reported) return;
    c.exit_reported = true;
    Deliver(input::ContainerExited{c.id, *status});
  }

  // ---- The QEMU world's guests ----

  // Forwards one QemuVm's calls to the world, naming its guest.
  class GuestListener : public QemuVmListener {
   public:
    GuestListener(ProcessWorldImpl* world, GuestVm* guest)
        : world_(world), guest_(guest) {}
    void OnStarted() override { world_->OnGuestStarted(*guest_); }
    void OnAgentReport(const guest::Report& report) override {
      world_->OnGuestReport(*guest_, report);
    }
    void OnAgentError(const guest::DecodeError& error) override {
      // Noise before the hello is the boot's, not the agent's.
      if (error.after_hello) {
        world_->Fail(absl::DataLossError(
            absl::StrCat(guest_->name, ": the agent channel: ", error.what)));
      }
    }
    void OnQmpEvent(const QmpEvent& event) override {
      if (event.kind == QmpEventKind::kShutdown) {
        guest_->shutdown_reason = event.reason;
      } else if (event.kind == QmpEventKind::kGuestPanicked) {
        guest_->panicked = true;
      }
    }
    void OnError(const absl::Status& error) override {
      world_->Fail(absl::Status(
          error.code(), absl::StrCat(guest_->name, ": ", error.message())));
    }
    void OnExited(const QemuExit& exit) override {
      world_->OnGuestExited(*guest_, exit);
    }

   private:
    ProcessWorldImpl* const world_;
    GuestVm* const guest_;
  };

  VmSlot& Slot(Cid cid) {
    auto it = vm_slots_.find(cid.value);
    if (it == vm_slots_.end()) {
      const uint64_t seed = options_.qemu.has_value() ? options_.qemu->seed : 0;
      it = vm_slots_
               .emplace(cid.value,
                        VmSlot(sim::Prng::Stream(seed, "vm").Fork(cid.value)))
               .first;
    }
    return it->second;
  }

  QemuVmSpec SpecFor(const VmConfig& config, std::string name) const {
    const QemuWorldOptions& q = *options_.qemu;
    QemuVmSpec spec;
    spec.config = config;
    spec.qemu_binary = q.qemu_binary;
    spec.kernel = q.kernel;
    spec.initrd = q.initrd;
    spec.options.accel = q.accel;
    // The agent waits for its life: a run command once the VM is spawned.
    spec.options.behaviour_parameter = std::string(kWaitingBehaviour);
    spec.run_parent = q.run_parent;
    spec.name = std::move(name);
    return spec;
  }

  absl::StatusOr<GuestVm*> StartGuest(QemuVmSpec spec) {
    if (guests_.size() >= kMaxQemuGuests) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the qemu world runs at most ", kMaxQemuGuests,
                       " guests in one run"));
    }
    auto guest = std::make_unique<GuestVm>();
    guest->config = spec.config;
    guest->name = spec.name;
    guest->listener = std::make_unique<GuestListener>(this, guest.get());
    absl::StatusOr<std::unique_ptr<QemuVm>> vm =
        QemuVm::Start(loop_.get(), std::move(spec), guest->listener.get());
    if (!vm.ok()) return vm.status();
    guest->vm = std::move(*vm);
    guests_.push_back(std::move(guest));
    return guests_.back().get();
  }

  std::string ConsoleOf(const GuestVm& g) const {
    absl::StatusOr<std::string> tail = g.vm->ConsoleTail(kConsoleTailBytes);
    if (!tail.ok() || tail->empty()) return "";
    return absl::StrCat("; the end of its console:\n", *tail);
  }

 public:
  absl::Status BootGuests(const std::vector<VmConfig>& lives,
                          absl::FunctionRef<bool()> interrupted) {
    PROCTOR_CHECK(!booted_ && steps_scheduled_ == 0);
    booted_ = true;
    const absl::Time wall_start = absl::Now();
    if (!options_.qemu.has_value()) {
      if (lives.empty()) return absl::OkStatus();
      return absl::InvalidArgumentError(
          "the process world has no VMs to boot (they need the qemu world)");
    }
    const size_t wanted = lives.size() + (proxies_.empty() ? 0 : 1);
    if (wanted > kMaxQemuGuests) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the scenario starts ", wanted,
          " guests; the qemu world runs at most ", kMaxQemuGuests));
    }
    if (!proxies_.empty()) {
      VmConfig config;
      config.cid = Cid{kMinGuestCid};
      config.kernel = "/images/vmlinux";  // the image's
      absl::StatusOr<GuestVm*> g = StartGuest(SpecFor(config, "sandbox guest"));
      if (!g.ok()) return g.status();
      (*g)->sandbox = true;
      sandbox_ = *g;
    }
    for (size_t i = 0; i < lives.size(); ++i) {
      absl::StatusOr<GuestVm*> g = StartGuest(
          SpecFor(lives[i], absl::StrCat("vm ", lives[i].cid.value, " (booted ",
                                         i + 1, " of ", lives.size(), ")")));
      if (!g.ok()) {
        // A config QEMU cannot run is the VM's spawn's to fail, for real.
        if (g.status().code() == absl::StatusCode::kInvalidArgument ||
            g.status().code() == absl::StatusCode::kUnimplemented ||
            g.status().code() == absl::StatusCode::kOutOfRange) {
          continue;
        }
        return g.status();
      }
    }
    const Instant deadline = loop_->Now() + options_.qemu->boot_timeout;
    while (true) {
      if (!failure_.ok()) return failure_;
      bool all = true;
      for (const std::unique_ptr<GuestVm>& g : guests_) {
        if (g->exited) {
          return absl::UnavailableError(absl::StrCat(
              g->name, ": QEMU exited while the guest booted",
              boot_exit_.empty() ? "" : ": ", boot_exit_, ConsoleOf(*g)));
        }
        if (g->hello && !g->ping_sent) {
          g->ping_sent = true;
          absl::Status s = g->vm->SendCommand(
              guest::HostMessage{kReadyPingId, std::string()});
          if (!s.ok()) return s;
        }
        if (g->agent_ready && !g->sandbox && !g->paused && !g->pause_asked) {
          // It waits for its spawn without running (or costing the host
          // CPU time).
          g->pause_asked = true;
          GuestVm* guest = g.get();
          absl::Status s = g->vm->Stop([this, guest](absl::Status result) {
            if (!result.ok()) {
              Fail(absl::Status(result.code(),
                                absl::StrCat(guest->name, ": pausing it: ",
                                             result.message())));
              return;
            }
            guest->paused = true;
          });
          if (!s.ok()) return s;
        }
        all = all && g->agent_ready && (g->sandbox || g->paused);
      }
      if (all) break;
      if (interrupted()) {
        return absl::CancelledError(
            "interrupted while the guests booted; every QEMU was killed");
      }
      if (loop_->Now() >= deadline) {
        std::vector<std::string> late;
        std::string console;
        for (const std::unique_ptr<GuestVm>& g : guests_) {
          if (g->agent_ready && (g->sandbox || g->paused)) continue;
          late.push_back(g->name);
          if (console.empty()) console = ConsoleOf(*g);
        }
        return absl::DeadlineExceededError(absl::StrCat(
            "the agent of ", absl::StrJoin(late, ", "),
            " did not get ready (hello, modules loaded, paused)", " within ",
            absl::FormatDuration(options_.qemu->boot_timeout), console));
      }
      if (absl::Status s = loop_->RunOnce(kMaxTurn); !s.ok()) return s;
    }
    boot_time_ = absl::Now() - wall_start;
    return loop_->RestartClock();
  }
  absl::Duration boot_time() const { return boot_time_; }

 private:
  // The id of the world's first message to each booted guest; messages
  // from proxies are numbered from 1.
  static constexpr uint64_t kReadyPingId = 0;
  // The agent's behaviour while it waits for its life: nothing.
  static constexpr absl::string_view kWaitingBehaviour = "proctor.behaviour=";
  static constexpr size_t kConsoleTailBytes = 2048;

  void OnGuestStarted(GuestVm& g) {
    if (!g.spawn_pending) return;
    // Booted at its spawn: the VMM runs once QEMU runs the guest.
    g.spawn_pending = false;
    Deliver(input::VmmSpawned{g.cid, std::nullopt});
  }

  void SendScript(GuestVm& g) {
    if (!g.hello || !g.script.has_value() || g.exited) return;
    absl::Status s = g.vm->SendCommand(guest::RunScript{std::move(*g.script)});
    g.script.reset();
    if (!s.ok()) {
      Fail(absl::Status(
          s.code(), absl::StrCat(g.name, ": sending its life: ", s.message())));
    }
  }

  void OnGuestReport(GuestVm& g, const guest::Report& report) {
    if (std::holds_alternative<guest::Hello>(report)) {
      g.hello = true;
      SendScript(g);
      return;
    }
    if (const auto* ack = std::get_if<guest::Ack>(&report)) {
      if (ack->id == kReadyPingId) {
        g.agent_ready = true;
      } else if (g.sandbox) {
        OnSandboxAck(ack->id);
      }
      return;
    }
    if (const auto* error = std::get_if<guest::AgentError>(&report)) {
      Fail(absl::InternalError(absl::StrCat(g.name, ": the agent reported ",
                                            error->code, ": ", error->what)));
      return;
    }
    std::optional<PayloadState> state;
    if (std::holds_alternative<guest::Started>(report)) {
      state = PayloadState::kStarted;
    } else if (std::holds_alternative<guest::Ready>(report)) {
      state = PayloadState::kReady;
    } else if (std::holds_alternative<guest::Finished>(report)) {
      state = PayloadState::kFinished;
    }
    if (!state.has_value() || !g.taken || Slot(g.cid).current != &g) return;
    if (g.reports_to_come > 0) --g.reports_to_come;
    Deliver(input::PayloadReported{g.cid, *state});
  }

  void OnGuestExited(GuestVm& g, const QemuExit& exit) {
    g.exited = true;
    if (!g.taken && !g.sandbox) {
      boot_exit_ = exit.start_error.ok()
                       ? FormatExitStatus(exit.status)
                       : std::string(absl::StripTrailingAsciiWhitespace(
                             exit.start_error.message()));
    }
    if (g.sandbox) {
      if (!shutdown_complete_) {
        Fail(absl::UnavailableError(absl::StrCat(
            g.name, ": QEMU exited with ", FormatExitStatus(exit.status),
            " during the run", ConsoleOf(g))));
      }
      return;
    }
    if (!g.taken) return;  // booted for a life that never came
    VmSlot& slot = Slot(g.cid);
    if (slot.current != &g) return;
    if (g.spawn_pending) {
      g.spawn_pending = false;
      Deliver(input::VmmSpawned{
          g.cid, exit.start_error.ok()
                     ? absl::StrCat(g.name, ": QEMU exited with ",
                                    FormatExitStatus(exit.status),
                                    " before the guest ran")
                     : std::string(exit.start_error.message())});
      return;
    }
    slot.failure_bytes = exit.failure_bytes;
    QemuEnd end;
    end.qemu_status = exit.status;
    end.shutdown_reason = g.shutdown_reason;
    end.guest_panicked = g.panicked;
    Deliver(input::VmmExited{g.cid, VmmExitOfQemu(end)});
  }

  // The life the simulator would give this guest, as the agent's script:
  // its steps in time order up to the VMM's exit, with sleeps between.
  absl::StatusOr<std::string> ScriptOfLife(const sim::GuestLife& life,
                                           GuestVm& g) {
    std::vector<sim::GuestLifeStep> steps = life.steps;
    std::stable_sort(
        steps.begin(), steps.end(),
        [](const sim::GuestLifeStep& a, const sim::GuestLifeStep& b) {
          return a.at_ns < b.at_ns;
        });
    std::optional<ExitStatus> exit;
    for (size_t i = 0; i < steps.size(); ++i) {
      if (steps[i].kind == sim::GuestLifeStep::Kind::kExit) {
        exit = steps[i].status;
        steps.resize(i + 1);  // nothing happens after the VMM exits
        break;
      }
    }
    int finished_code = 0;
    if (exit.has_value() && exit->exited() && exit->code() >= 0 &&
        exit->code() <= 255) {
      finished_code = exit->code();
    }
    std::vector<std::string> parts;
    int64_t at_ms = 0;
    g.reports_to_come = 0;
    g.exit_to_come = false;
    for (const sim::GuestLifeStep& step : steps) {
      const int64_t step_ms = step.at_ns / 1'000'000;
      if (step_ms > at_ms)
        parts.push_back(absl::StrCat("sleep:", step_ms - at_ms));
      at_ms = std::max(at_ms, step_ms);
      if (step.kind == sim::GuestLifeStep::Kind::kReport) {
        ++g.reports_to_come;
        switch (step.state) {
          case PayloadState::kStarted:
            parts.push_back("started");
            break;
          case PayloadState::kReady:
            parts.push_back("ready");
            break;
          case PayloadState::kFinished:
            parts.push_back(absl::StrCat("finished:", finished_code));
            break;
          default:
            return absl::InternalError("a life reports an unknown state");
        }
        continue;
      }
      if (!life.failure_bytes.empty()) {
        parts.push_back(absl::StrCat(
            "failure-hex:", absl::BytesToHexString(life.failure_bytes)));
      }
      g.exit_to_come = true;
      if (!step.status.exited()) {
        return absl::UnimplementedError(
            absl::StrCat(g.name, ": a guest cannot make QEMU end with ",
                         FormatExitStatus(step.status)));
      }
      const int code = step.status.code();
      if (code == 0) {
        parts.push_back("poweroff");
      } else if (code == sim::kGuestRebootExitCode) {
        parts.push_back("reboot");
      } else if (code == sim::kGuestCrashExitCode) {
        parts.push_back("panic");
      } else if (code % 2 == 1 && code <= 255) {
        parts.push_back(absl::StrCat("vmm-exit:", code));
      } else {
        return absl::UnimplementedError(absl::StrCat(
            g.name, ": a guest cannot make QEMU exit with code ", code,
            " (QEMU gives 0 on power-off, 32 on a reboot and 33 on a panic "
            "here, and odd codes through isa-debug-exit); list this "
            "scenario's worlds without qemu"));
      }
    }
    return absl::StrJoin(parts, ",");
  }

  // PX-2 through a real guest: the message goes to the sandbox guest's
  // agent, which acknowledges it once it has handled it, and only then is
  // it taken off the proxy's counter. A frozen guest acknowledges nothing.
  void SendToSandbox(ProxyWorld& p, std::string bytes) {
    if (sandbox_ == nullptr || sandbox_->exited) {
      Fail(absl::FailedPreconditionError(
          "a message reached the container side with no sandbox guest to "
          "handle it"));
      return;
    }
    if (awaiting_ack_.size() >= kMaxOutbox) {
      Fail(absl::ResourceExhaustedError(absl::StrCat(
          "more than ", kMaxOutbox, " messages wait for the guest's ack")));
      return;
    }
    const uint64_t id = ++next_host_message_;
    awaiting_ack_.emplace(id, static_cast<size_t>(&p - proxies_.data()));
    if (absl::Status s =
            sandbox_->vm->SendCommand(guest::HostMessage{id, std::move(bytes)});
        !s.ok()) {
      Fail(absl::Status(
          s.code(),
          absl::StrCat(sandbox_->name, ": a message for it: ", s.message())));
    }
  }

  void OnSandboxAck(uint64_t id) {
    auto it = awaiting_ack_.find(id);
    if (it == awaiting_ack_.end()) {
      Fail(absl::DataLossError(
          absl::StrCat("the sandbox guest acknowledged message ", id,
                       ", which it was never sent or acknowledged before")));
      return;
    }
    ProxyWorld& p = proxies_[it->second];
    awaiting_ack_.erase(it);
    if (p.unhandled > 0) TakeOffCounter(p);
  }

  // The first armed fault of `kind` (its index + 1), taken; 0 if none.
  uint32_t TakeArmed(std::vector<uint32_t>& armed, sim::FaultKind kind) {
    for (auto it = armed.begin(); it != armed.end(); ++it) {
      if (faults_[*it].kind == kind) {
        const uint32_t index = *it;
        armed.erase(it);
        return index + 1;
      }
    }
    return 0;
  }

  // The first armed fault that shapes a life, in arming order (as the
  // simulator's BootGuest picks it), taken; 0 if none.
  uint32_t TakeLifeFault(std::vector<uint32_t>& armed) {
    for (auto it = armed.begin(); it != armed.end(); ++it) {
      if (sim::ShapesGuestLife(faults_[*it].kind)) {
        const uint32_t index = *it;
        armed.erase(it);
        return index + 1;
      }
    }
    return 0;
  }

  // What vmm_spawned says when QEMU could not be started: crosvm's words
  // ("failed to spawn"), then QemuVm's, which name the VM and the cause.
  static std::string SpawnError(const absl::Status& error) {
    return absl::StrCat("QEMU failed to spawn: ", error.message());
  }

  void Execute(action::SpawnVmm& a) {
    if (!options_.qemu.has_value()) {
      NoVms("spawn_vmm");
      return;
    }
    VmSlot& slot = Slot(a.cid);
    const std::string name = absl::StrCat("vm ", a.cid.value);
    if (slot.current != nullptr && !slot.current->exited) {
      PostInput(input::VmmSpawned{
          a.cid, absl::StrCat(name, ": its QEMU is still running")});
      return;
    }
    if (!slot.config.has_value()) {
      PostInput(input::VmmSpawned{
          a.cid, absl::StrCat(name, ": no create_vm was accepted for it")});
      return;
    }
    if (const uint32_t fail =
            TakeArmed(slot.armed, sim::FaultKind::kVmmSpawnFail)) {
      // A real failed spawn: the QEMU binary it is told is not there.
      QemuVmSpec spec = SpecFor(*slot.config, name);
      spec.qemu_binary = absl::StrCat(spec.qemu_binary, kMissingSuffix);
      absl::StatusOr<GuestVm*> g = StartGuest(std::move(spec));
      if (g.ok()) {
        Fail(absl::InternalError(absl::StrCat(
            name, ": QEMU started from a binary that does not exist")));
        return;
      }
      FireFault(fail - 1);
      PostInput(input::VmmSpawned{a.cid, SpawnError(g.status())});
      return;
    }
    GuestVm* g = nullptr;
    for (const std::unique_ptr<GuestVm>& candidate : guests_) {
      if (!candidate->taken && !candidate->sandbox && !candidate->exited &&
          candidate->paused && candidate->config == *slot.config) {
        g = candidate.get();
        break;
      }
    }
    const bool booted = g != nullptr;
    if (!booted) {
      absl::StatusOr<GuestVm*> started =
          StartGuest(SpecFor(*slot.config, name));
      if (!started.ok()) {
        PostInput(input::VmmSpawned{a.cid, SpawnError(started.status())});
        return;
      }
      g = *started;
    }
    g->taken = true;
    g->cid = a.cid;
    g->name = name;
    slot.current = g;
    slot.failure_bytes.clear();
    const uint32_t fault = TakeLifeFault(slot.armed);
    sim::Fault life_fault;
    if (fault != 0) {
      const sim::script_op::InjectFault& f = faults_[fault - 1];
      life_fault.kind = f.kind;
      life_fault.target = f.target;
      life_fault.a = f.a;
      life_fault.b = f.b;
    }
    const sim::GuestLife life = sim::PlanGuestLife(
        slot.rng, &slot.guest, fault == 0 ? nullptr : &life_fault,
        /*exit_unobservable_armed=*/false);
    absl::StatusOr<std::string> script = ScriptOfLife(life, *g);
    if (!script.ok()) {
      Fail(script.status());
      return;
    }
    g->script = std::move(*script);
    if (fault != 0) FireFault(fault - 1);
    g->spawn_pending = true;
    if (!booted) return;
    // Its life waits in the serial port; the guest runs it once it runs.
    SendScript(*g);
    absl::Status s = g->vm->Cont([this, g](absl::Status result) {
      g->paused = false;
      if (!g->spawn_pending || g->exited) return;
      g->spawn_pending = false;
      if (result.ok()) {
        Deliver(input::VmmSpawned{g->cid, std::nullopt});
      } else {
        Deliver(input::VmmSpawned{
            g->cid, absl::StrCat(g->name, ": QEMU did not let the guest run: ",
                                 result.message())});
      }
    });
    if (!s.ok()) {
      g->spawn_pending = false;
      PostInput(input::VmmSpawned{a.cid, std::string(s.message())});
    }
  }

  void Execute(action::KillVmm& a) {
    if (!options_.qemu.has_value()) return;
    VmSlot& slot = Slot(a.cid);
    GuestVm* g = slot.current;
    if (g == nullptr || g->exited) return;
    g->kill_sent = true;
    if (absl::Status s = g->vm->Kill(); !s.ok()) Fail(s);
  }

  void Execute(action::ReadFailureReason& a) {
    if (!options_.qemu.has_value()) return;
    const std::string& bytes = Slot(a.cid).failure_bytes;
    PostInput(input::FailureReasonRead{
        a.cid, bytes.substr(0, std::min<size_t>(bytes.size(), a.max_bytes))});
  }

  // A guest of a VM that still has something to do.
  bool GuestBusy(const GuestVm& g) const {
    if (!g.taken || g.exited) return false;
    return g.spawn_pending || g.kill_sent || g.exit_to_come ||
           g.reports_to_come > 0 || g.script.has_value();
  }

  // ---- Actions ----

  void Execute(action::Reply& a) {
    pending_requests_.erase(a.request.value);
    if (auto c = create_requests_.find(a.request.value);
        c != create_requests_.end()) {
      // What the VM's spawns will run (the runtime's argv is crosvm's).
      if (a.status.ok()) Slot(c->second.cid).config = c->second;
      create_requests_.erase(c);
      return;
    }
    auto it = proxy_of_request_.find(a.request.value);
    if (it == proxy_of_request_.end()) return;
    ProxyWorld& p = proxies_[it->second];
    proxy_of_request_.erase(it);
    if (!a.status.ok()) {
      // Refused: nobody will ever read these channels.
      p.failed = true;
      for (int s = 0; s < 2; ++s) {
        p.held_fd[s].reset();
        ClosePeer(p, static_cast<Side>(s));
      }
      return;
    }
    p.live = true;
    for (int s = 0; s < 2; ++s) {
      absl::StatusOr<EventLoop::WatchId> w = loop_->WatchFd(
          p.held_fd[s].get(), EPOLLIN | EPOLLRDHUP | EPOLLET,
          [this, &p, s](uint32_t) { SignalHeld(p, static_cast<Side>(s)); });
      if (!w.ok()) {
        Fail(w.status());
        return;
      }
      p.held_watch[s] = *w;
      // What arrived before the proxy was live is announced now.
      PostWork([this, &p, s] { SignalHeld(p, static_cast<Side>(s)); });
    }
  }

  // Every change on an end the proxy holds is announced with its signals.
  void SignalHeld(ProxyWorld& p, Side side) {
    if (!p.held_fd[side]) return;
    const Signals signals = SignalsOf(p.held_fd[side].get());
    if (signals == kSignalNone) return;
    Deliver(input::EndpointSignalled{p.held_koid[side], signals});
  }

  // The end the proxy holds named `endpoint`, or null.
  ProxyWorld* HeldBy(EndpointId endpoint, Side* side) {
    auto it = owner_.find(endpoint.value);
    if (it == owner_.end()) return nullptr;
    ProxyWorld& p = proxies_[it->second];
    for (int s = 0; s < 2; ++s) {
      if (p.held_koid[s] == endpoint && p.held_fd[s]) {
        *side = static_cast<Side>(s);
        return &p;
      }
    }
    return nullptr;
  }

  void Execute(action::ReadMessage& a) {
    Side side;
    ProxyWorld* p = HeldBy(a.endpoint, &side);
    if (p == nullptr) {
      PostInput(input::MessageRead{a.endpoint, ChannelStatus::kBadHandle, {}});
      return;
    }
    RealMessage m;
    const ChannelStatus status = ReadMessage(p->held_fd[side].get(), &m);
    Message message;
    if (status == ChannelStatus::kOk) {
      message.bytes = std::move(m.bytes);
      for (UniqueFd& fd : m.handles) {
        if (handles_in_flight_.size() >= kMaxHandles) {
          Fail(absl::ResourceExhaustedError(absl::StrCat(
              "more than ", kMaxHandles, " descriptors in flight")));
          return;
        }
        const HandleId h{koids_.Next()};
        handles_in_flight_.emplace(h.value, std::move(fd));
        message.handles.push_back(h);
      }
    }
    PostInput(input::MessageRead{a.endpoint, status, std::move(message)});
  }

  void Execute(action::WriteMessage& a) {
    Side side;
    ProxyWorld* p = HeldBy(a.endpoint, &side);
    if (p == nullptr) {
      PostInput(input::MessageWritten{a.endpoint, ChannelStatus::kBadHandle});
      return;
    }
    std::vector<int> fds;
    for (HandleId h : a.message.handles) {
      auto it = handles_in_flight_.find(h.value);
      if (it == handles_in_flight_.end()) {
        PostInput(input::MessageWritten{a.endpoint, ChannelStatus::kBadHandle});
        return;
      }
      fds.push_back(it->second.get());
    }
    const ChannelStatus status =
        WriteMessage(p->held_fd[side].get(), a.message.bytes, fds);
    if (status == ChannelStatus::kOk) {
      // The descriptors travel with the message; ours are closed.
      for (HandleId h : a.message.handles) handles_in_flight_.erase(h.value);
    }
    PostInput(input::MessageWritten{a.endpoint, status});
  }

  void Execute(action::CloseEndpoint& a) {
    Side side;
    ProxyWorld* p = HeldBy(a.endpoint, &side);
    if (p == nullptr) return;
    if (p->held_watch[side] != 0) loop_->Unwatch(p->held_watch[side]);
    p->held_watch[side] = 0;
    p->held_fd[side].reset();
  }

  void Execute(action::CounterAdd& a) {
    auto it = owner_.find(a.counter.value);
    if (it == owner_.end() || proxies_[it->second].counter_koid != a.counter) {
      PostInput(input::CounterAdded{a.counter, ChannelStatus::kBadHandle, 0});
      return;
    }
    ProxyWorld& p = proxies_[it->second];
    const ChannelStatus status = p.counter->Add(a.delta);
    PostInput(input::CounterAdded{a.counter, status, p.counter->Value()});
  }

  void Execute(action::ArmTimer& a) {
    if (auto it = timers_.find(a.timer); it != timers_.end()) {
      loop_->CancelTimer(it->second);
      timers_.erase(it);
    }
    const proctor::TimerId timer = a.timer;
    absl::StatusOr<EventLoop::TimerId> t =
        loop_->AddTimer(a.deadline, [this, timer] {
          timers_.erase(timer);
          Deliver(input::TimerFired{timer});
        });
    if (!t.ok()) {
      Fail(t.status());
      return;
    }
    timers_.emplace(timer, *t);
  }

  void Execute(action::CancelTimer& a) {
    if (auto it = timers_.find(a.timer); it != timers_.end()) {
      loop_->CancelTimer(it->second);
      timers_.erase(it);
    }
  }

  // As in the simulator, a suspended guest is one whose proxies' container
  // sides read and handle nothing; container processes are not frozen, so
  // stop and kill mean the same while suspended as in sim.
  // In the QEMU world the sandbox guest is really paused (QMP stop) and
  // runs again on resume (cont).
  void Execute(action::SuspendGuest&) {
    suspended_ = true;
    if (sandbox_ != nullptr && !sandbox_->exited) {
      absl::Status s = sandbox_->vm->Stop([this](absl::Status result) {
        if (!result.ok()) Fail(result);
      });
      if (!s.ok()) Fail(s);
    }
  }

  void Execute(action::ResumeGuest&) {
    suspended_ = false;
    if (sandbox_ != nullptr && !sandbox_->exited) {
      absl::Status s = sandbox_->vm->Cont([this](absl::Status result) {
        if (!result.ok()) Fail(result);
      });
      if (!s.ok()) Fail(s);
    }
    for (ProxyWorld& p : proxies_) {
      if (!p.stalled) continue;
      p.stalled = false;
      Peer& peer = p.peer[kContainerSide];
      if (peer.watch != 0) {
        absl::Status s = loop_->ModifyFd(
            peer.watch,
            EPOLLIN | EPOLLRDHUP | (peer.watching_out ? EPOLLOUT : 0u));
        if (!s.ok()) Fail(s);
      }
      if (p.unhandled > 0) PostHandle(p);
    }
  }

  // A container runs on the host: there is no VM to boot and no agent to
  // reach, so those steps succeed at once.
  void Execute(action::BootVm& a) {
    PostInput(input::VmBooted{a.container, std::nullopt});
  }
  void Execute(action::ConnectAgent& a) {
    PostInput(input::AgentConnected{a.container, std::nullopt});
  }
  void Execute(action::CreateProcess& a) {
    std::optional<std::string> error;
    if (FindContainer(a.container) == nullptr) {
      error = "no such container in the setup";
    }
    PostInput(input::ProcessCreated{a.container, std::move(error)});
  }
  void Execute(action::StartProcess& a) {
    ContainerWorld* c = FindContainer(a.container);
    if (c == nullptr) {
      PostInput(
          input::ProcessStarted{a.container, "no such container in the setup"});
      return;
    }
    if (c->running) {
      PostInput(input::ProcessStarted{a.container, "already running"});
      return;
    }
    StartProcess(*c);
  }
  void Execute(action::SignalContainer& a) {
    ContainerWorld* c = FindContainer(a.container);
    if (c == nullptr || !c->running) return;
    if (absl::Status s = c->process->Signal(a.signal); !s.ok()) Fail(s);
    // proctor-container keeps every default disposition but SIGTERM's.
    if (a.signal == SIGKILL || a.signal == SIGINT || a.signal == SIGHUP ||
        a.signal == SIGQUIT || a.signal == SIGABRT ||
        (a.signal == SIGTERM && !c->ignores_sigterm)) {
      c->exit_expected = true;
    }
  }

  void Execute(action::ShutdownComplete&) {
    shutdown_complete_ = true;
    drain_until_ = loop_->Now() + options_.drain;
  }

  // Everything else only tells (replies to the client, state changes, wake
  // watchers) or needs nothing on the host (relays, transfers, deletes).
  template <typename A>
  void Execute(A&) {}

  std::unique_ptr<EventLoop> loop_;
  sim::SystemUnderTest* sut_;
  ProcessWorldOptions options_;
  std::vector<sim::Observer*> observers_;
  absl::Status failure_;

  KoidAllocator koids_;
  std::vector<HandleSource> handles_;
  std::vector<ProxyWorld> proxies_;
  std::vector<ContainerWorld> containers_;
  absl::flat_hash_map<uint64_t, size_t> owner_;  // koid -> proxy index
  absl::flat_hash_map<uint64_t, size_t> proxy_of_request_;
  absl::flat_hash_map<uint64_t, UniqueFd> handles_in_flight_;
  absl::flat_hash_map<uint64_t, uint32_t> crash_fault_;  // container -> fault
  std::vector<sim::script_op::InjectFault> faults_;
  std::map<proctor::TimerId, EventLoop::TimerId> timers_;
  // The QEMU world.
  std::vector<std::unique_ptr<GuestVm>> guests_;
  std::map<uint32_t, VmSlot> vm_slots_;  // by cid
  GuestVm* sandbox_ = nullptr;
  absl::flat_hash_map<uint64_t, VmConfig> create_requests_;
  absl::flat_hash_map<uint64_t, size_t> awaiting_ack_;  // id -> proxy index
  uint64_t next_host_message_ = 0;
  bool booted_ = false;
  absl::Duration boot_time_;
  std::string boot_exit_;
  absl::flat_hash_set<uint64_t> pending_requests_;

  ActionList actions_;
  std::deque<Input> completions_;
  bool delivering_ = false;
  bool suspended_ = false;
  bool shutdown_complete_ = false;
  Instant drain_until_;
  uint64_t next_seq_ = 1;
  uint64_t next_request_ = 0;
  uint64_t next_message_id_ = 0;
  size_t steps_scheduled_ = 0;
  size_t steps_pending_ = 0;
  size_t inputs_pending_ = 0;
};

absl::StatusOr<std::unique_ptr<ProcessWorld>> ProcessWorld::Create(
    const sim::ScriptSetup& setup, sim::SystemUnderTest* sut,
    ProcessWorldOptions options) {
  PROCTOR_CHECK(sut != nullptr);
  if (!setup.vms.empty() && !options.qemu.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the process world has no VMs, and the setup has ", setup.vms.size(),
        " (VMs need the sim, qemu or libvirt world)"));
  }
  if (setup.containers.size() > sim::kMaxScriptObjects ||
      setup.proxies.size() > sim::kMaxScriptObjects ||
      setup.wake_sources > sim::kMaxScriptObjects) {
    return absl::InvalidArgumentError(absl::StrCat("the setup has more than ",
                                                   sim::kMaxScriptObjects,
                                                   " objects of one kind"));
  }
  if (!setup.containers.empty() && options.container_binary.empty()) {
    return absl::InvalidArgumentError(
        "the process world needs the proctor-container program to run "
        "containers");
  }
  // Orphans of container processes (a grandchild whose parent died) come
  // back to us to be reaped, not to an init that may never reap them.
  if (!setup.containers.empty()) {
    if (absl::Status s = BecomeChildSubreaper(); !s.ok()) return s;
  }
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  if (!loop.ok()) return loop.status();
  return std::unique_ptr<ProcessWorld>(
      new ProcessWorld(std::make_unique<ProcessWorldImpl>(
          std::move(*loop), setup, sut, std::move(options))));
}

ProcessWorld::ProcessWorld(std::unique_ptr<ProcessWorldImpl> impl)
    : impl_(std::move(impl)) {}
ProcessWorld::~ProcessWorld() = default;

void ProcessWorld::AddObserver(sim::Observer* observer) {
  impl_->AddObserver(observer);
}
absl::Status ProcessWorld::ScheduleScript(Instant at, sim::ScriptOp op) {
  return impl_->ScheduleScript(at, std::move(op));
}
absl::Status ProcessWorld::BootGuests(const std::vector<VmConfig>& lives,
                                      absl::FunctionRef<bool()> interrupted) {
  return impl_->BootGuests(lives, interrupted);
}
absl::Duration ProcessWorld::boot_time() const { return impl_->boot_time(); }
absl::Status ProcessWorld::Run(absl::FunctionRef<bool()> stop, Instant limit) {
  return impl_->Run(stop, limit);
}
Instant ProcessWorld::now() const { return impl_->now(); }
absl::StatusOr<std::pair<UniqueFd, UniqueFd>> ProcessWorld::TakePeerEnds(
    ProxyId proxy) {
  return impl_->TakePeerEnds(proxy);
}
bool ProcessWorld::proxy_live(ProxyId proxy) const {
  return impl_->proxy_live(proxy);
}
absl::Status ProcessWorld::Turn(absl::Duration max_wait) {
  return impl_->Turn(max_wait);
}
uint64_t ProcessWorld::events() const { return impl_->events(); }

}  // namespace proctor::host
