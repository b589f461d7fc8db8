#include "scenarios/shrink/explicit.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <utility>
#include <variant>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "scenarios/runner/runner.h"
#include "sim/trace/trace.h"

namespace proctor::scenario {
namespace {

Step At(Instant t, sim::ScriptOp op) {
  return Step{Trigger{t - Instant{}, std::nullopt, absl::ZeroDuration()},
              std::move(op),
              {}};
}

// What the generated world did, read back from its trace.
class Recorder {
 public:
  explicit Recorder(const Scenario& generated) : generated_(generated) {}

  void OnInput(Instant t, const Input& input) {
    std::visit([&](const auto& x) { On(t, x); }, input);
  }

  void OnFact(Instant t, const sim::WorldFact& fact) {
    if (const auto* c = std::get_if<sim::fact::ChannelCreated>(&fact)) {
      other_end_[c->a.value] = c->b.value;
      other_end_[c->b.value] = c->a.value;
    } else if (const auto* w = std::get_if<sim::fact::PeerWrote>(&fact)) {
      auto it = peer_ends_.find(w->endpoint.value);
      if (it == peer_ends_.end()) return;
      const auto [proxy, container_side] = it->second;
      // Writes of one burst (same time, same peer) become one step.
      if (!steps_.empty() && last_send_at_ == t) {
        if (auto* send = std::get_if<sim::script_op::Send>(&steps_.back().op);
            send != nullptr && send->proxy.value == proxy &&
            send->from_container == container_side) {
          ++send->count;
          return;
        }
      }
      last_send_at_ = t;
      steps_.push_back(
          At(t, sim::script_op::Send{ProxyId{proxy}, container_side, 1, 64}));
    } else if (const auto* c = std::get_if<sim::fact::PeerClosed>(&fact)) {
      auto it = peer_ends_.find(c->endpoint.value);
      if (it == peer_ends_.end()) return;
      steps_.push_back(At(t, sim::script_op::Close{ProxyId{it->second.first},
                                                   it->second.second}));
    }
  }

  // The scripted scenario: the generated one's name, rules and worlds, the
  // objects the client used, its requests and the peers' traffic as steps,
  // and the plan's faults as fault steps.
  Scenario Finish() {
    Scenario s;
    s.file = generated_.file;
    s.name = generated_.name;
    s.description = generated_.description;
    s.rules = generated_.rules;
    s.worlds = generated_.worlds;
    s.seed = generated_.generated->seed;
    s.time_limit = generated_.time_limit;
    s.invariants = generated_.invariants;
    s.expect = generated_.expect;
    for (const auto& [cid, guest] : guests_) {
      VmSetup vm;
      vm.config = configs_[cid];
      vm.guest = guest;
      s.setup.vms.push_back(std::move(vm));
    }
    for (const auto& [id, process] : processes_) {
      ContainerSetup c;
      c.id = ContainerId{id};
      c.spec = specs_[id];
      c.process = process;
      s.setup.containers.push_back(std::move(c));
    }
    for (uint64_t p : proxies_) s.setup.proxies.push_back(ProxyId{p});
    s.setup.wake_sources = max_source_;
    // Faults as the generated world arms them: in the window only.
    const Instant window_end = Instant{} + generated_.generated->window;
    for (const sim::Fault& f : generated_.faults) {
      if (f.at >= window_end) continue;
      steps_.push_back(
          At(f.at, sim::script_op::InjectFault{f.kind, f.target, f.a, f.b}));
    }
    std::stable_sort(
        steps_.begin(), steps_.end(),
        [](const Step& a, const Step& b) { return *a.when.at < *b.when.at; });
    s.steps = std::move(steps_);
    return s;
  }

 private:
  template <typename T>
  void On(Instant, const T&) {}

  void On(Instant t, const input::CreateVm& x) {
    const uint32_t cid = x.config.cid.value;
    if (cid >= kMinGuestCid && cid <= sim::kMaxScriptCid) {
      configs_.emplace(cid, x.config);
      guests_.try_emplace(cid);
    }
    steps_.push_back(At(t, sim::script_op::CreateVm{x.config}));
  }
  void On(Instant t, const input::StartVm& x) {
    steps_.push_back(At(t, sim::script_op::StartVm{x.cid}));
  }
  void On(Instant t, const input::KillVm& x) {
    steps_.push_back(At(t, sim::script_op::KillVm{x.cid}));
  }
  // A guest's first life sets its scripted timings.
  void On(Instant t, const input::VmmSpawned& x) {
    if (!x.error.has_value()) spawned_.try_emplace(x.cid.value, t);
  }
  void On(Instant t, const input::PayloadReported& x) {
    auto guest = guests_.find(x.cid.value);
    auto spawned = spawned_.find(x.cid.value);
    if (guest == guests_.end() || spawned == spawned_.end()) return;
    auto& marks = reported_[x.cid.value];
    if (marks.contains(x.state)) return;
    marks.emplace(x.state, t);
    switch (x.state) {
      case PayloadState::kStarted:
        guest->second.started_after = t - spawned->second;
        break;
      case PayloadState::kReady:
        if (auto s = marks.find(PayloadState::kStarted); s != marks.end()) {
          guest->second.ready_after = t - s->second;
        }
        break;
      case PayloadState::kFinished:
        if (auto r = marks.find(PayloadState::kReady); r != marks.end()) {
          guest->second.finish_after = t - r->second;
        }
        break;
      default:
        break;
    }
  }
  void On(Instant, const input::VmmExited& x) {
    auto guest = guests_.find(x.cid.value);
    if (guest == guests_.end() || exited_.contains(x.cid.value)) return;
    exited_.insert(x.cid.value);
    if (x.status.has_value() && x.status->exited() &&
        guest->second.finish_after.has_value()) {
      guest->second.exit_code = x.status->code();
    }
  }
  void On(Instant t, const input::InstallContainer& x) {
    if (x.container.value >= 1 && x.container.value <= sim::kMaxScriptObjects) {
      specs_.try_emplace(x.container.value, x.spec);
      processes_.try_emplace(x.container.value);
    }
    steps_.push_back(
        At(t, sim::script_op::InstallContainer{x.container, x.spec}));
  }
  void On(Instant t, const input::StartContainer& x) {
    steps_.push_back(At(t, sim::script_op::StartContainer{x.container}));
  }
  void On(Instant t, const input::ProcessStarted& x) {
    if (!x.error.has_value())
      process_started_.try_emplace(x.container.value, t);
  }
  void On(Instant t, const input::ContainerExited& x) {
    auto process = processes_.find(x.container.value);
    auto started = process_started_.find(x.container.value);
    if (process == processes_.end() || started == process_started_.end() ||
        container_exited_.contains(x.container.value)) {
      return;
    }
    container_exited_.insert(x.container.value);
    // An exit of its own (not a signal's) is the process's script.
    if (x.status.exited() && !signalled_.contains(x.container.value)) {
      process->second.exit_after = t - started->second;
      process->second.exit_code = x.status.code();
    }
  }
  void On(Instant t, const input::StopContainer& x) {
    signalled_.insert(x.container.value);
    steps_.push_back(
        At(t, sim::script_op::StopContainer{x.container, x.grace}));
  }
  void On(Instant t, const input::WaitContainer& x) {
    steps_.push_back(At(t, sim::script_op::WaitContainer{x.container}));
  }
  void On(Instant t, const input::KillContainer& x) {
    signalled_.insert(x.container.value);
    steps_.push_back(
        At(t, sim::script_op::KillContainer{x.container, x.signal}));
  }
  void On(Instant t, const input::UninstallContainer& x) {
    steps_.push_back(At(t, sim::script_op::UninstallContainer{x.container}));
  }
  void On(Instant t, const input::CopyFile& x) {
    steps_.push_back(At(
        t, sim::script_op::CopyFile{x.container, x.direction, x.guest_path}));
  }
  void On(Instant t, const input::AttachBlockDevice& x) {
    steps_.push_back(
        At(t, sim::script_op::AttachBlockDevice{x.container, x.slot}));
  }
  void On(Instant t, const input::AddProxy& x) {
    if (x.proxy.value >= 1 && x.proxy.value <= sim::kMaxScriptObjects) {
      proxies_.insert(x.proxy.value);
    }
    for (const auto& [end, container_side] :
         {std::pair{x.container_endpoint.value, true},
          std::pair{x.remote_endpoint.value, false}}) {
      if (auto peer = other_end_.find(end); peer != other_end_.end()) {
        peer_ends_[peer->second] = {x.proxy.value, container_side};
      }
    }
    steps_.push_back(At(t, sim::script_op::AddProxy{x.proxy}));
  }
  void On(Instant t, const input::RegisterWakeWatcher& x) {
    steps_.push_back(At(t, sim::script_op::RegisterWatcher{x.watcher}));
  }
  void On(Instant t, const input::AddWakeSource& x) {
    uint32_t n = 0;
    if (!absl::StartsWith(x.name, "handle-") ||
        !absl::SimpleAtoi(absl::string_view(x.name).substr(7), &n) || n == 0 ||
        n > sim::kMaxScriptObjects) {
      return;
    }
    sources_[x.source.value] = n;
    max_source_ = std::max(max_source_, n);
    steps_.push_back(At(t, sim::script_op::AddWakeSource{n}));
  }
  void On(Instant t, const input::RemoveWakeSource& x) {
    auto it = sources_.find(x.source.value);
    if (it == sources_.end()) return;
    steps_.push_back(At(t, sim::script_op::RemoveWakeSource{it->second}));
  }
  void On(Instant t, const input::HandleSignalled& x) {
    auto it = sources_.find(x.handle.value);
    if (it == sources_.end()) return;
    if (x.signals == kSignalNone) {
      // The end of a pulse: its hold.
      if (auto open = pulses_.find(it->second); open != pulses_.end()) {
        auto* signal = std::get_if<sim::script_op::SignalWakeSource>(
            &steps_[open->second].op);
        if (signal != nullptr) {
          signal->hold =
              std::max(t - (Instant{} + *steps_[open->second].when.at),
                       absl::Nanoseconds(1));
        }
        pulses_.erase(open);
      }
      return;
    }
    pulses_[it->second] = steps_.size();
    steps_.push_back(At(t, sim::script_op::SignalWakeSource{
                               it->second, absl::Milliseconds(100),
                               (x.signals & kSignalUser0) != kSignalNone}));
  }
  void On(Instant t, const input::SuspendContainer&) {
    steps_.push_back(At(t, sim::script_op::Suspend{}));
  }
  void On(Instant t, const input::SubscribeEvents& x) {
    steps_.push_back(At(t, sim::script_op::Subscribe{x.subscriber}));
  }
  void On(Instant t, const input::PollEvents& x) {
    steps_.push_back(At(t, sim::script_op::Poll{x.subscriber, x.max_events}));
  }
  void On(Instant t, const input::UnsubscribeEvents& x) {
    steps_.push_back(At(t, sim::script_op::Unsubscribe{x.subscriber}));
  }
  void On(Instant t, const input::Shutdown&) {
    steps_.push_back(At(t, sim::script_op::Shutdown{}));
  }

  const Scenario& generated_;
  std::vector<Step> steps_;
  Instant last_send_at_{-1};
  std::map<uint32_t, VmConfig> configs_;
  std::map<uint32_t, sim::ScriptedGuest> guests_;
  std::map<uint32_t, Instant> spawned_;
  std::map<uint32_t, std::map<PayloadState, Instant>> reported_;
  std::set<uint32_t> exited_;
  std::map<uint64_t, ContainerSpec> specs_;
  std::map<uint64_t, sim::ScriptedProcess> processes_;
  std::map<uint64_t, Instant> process_started_;
  std::set<uint64_t> container_exited_;
  std::set<uint64_t> signalled_;
  std::set<uint64_t> proxies_;
  std::map<uint64_t, uint64_t> other_end_;
  std::map<uint64_t, std::pair<uint64_t, bool>> peer_ends_;
  std::map<uint64_t, uint32_t> sources_;  // koid -> source number
  std::map<uint32_t, size_t> pulses_;     // source -> its open pulse step
  uint32_t max_source_ = 0;
};

}  // namespace

absl::StatusOr<Scenario> ScriptOfGeneratedRun(
    const Scenario& generated, const std::optional<Mutant>& mutant) {
  if (!generated.generated.has_value()) {
    return absl::InvalidArgumentError("the scenario is not a generated one");
  }
  std::stringstream trace;
  RunInSim(generated, RunOptions{mutant, &trace});
  sim::TraceReader reader(&trace, "generated run");
  if (absl::StatusOr<sim::TraceHeader> h = reader.ReadHeader(); !h.ok()) {
    return h.status();
  }
  Recorder recorder(generated);
  while (true) {
    absl::StatusOr<std::optional<sim::TraceEvent>> event = reader.Next();
    if (!event.ok()) return event.status();
    if (!event->has_value()) break;
    const sim::TraceEvent& e = **event;
    if (const auto* in = std::get_if<Input>(&e.value)) {
      recorder.OnInput(e.t, *in);
    } else if (const auto* fact = std::get_if<sim::WorldFact>(&e.value)) {
      recorder.OnFact(e.t, *fact);
    }
  }
  Scenario script = recorder.Finish();
  if (script.steps.size() > kMaxSteps) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the run has ", script.steps.size(),
                     " client steps, more than a scenario holds"));
  }
  return script;
}

}  // namespace proctor::scenario
