#include "scenarios/shrink/shrink.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "scenarios/runner/runner.h"
#include "scenarios/shrink/explicit.h"
#include "sim/trace/json_codec.h"
#include "sim/world/fault_kind.h"

namespace proctor::scenario {
namespace {

// Below this, times are not halved further.
constexpr absl::Duration kTimeResolution = absl::Milliseconds(1);
// Generated workloads are not cut below this window or quiet time.
constexpr absl::Duration kMinWindow = absl::Milliseconds(100);

uint64_t JsonU64(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}
int64_t JsonI64(const nlohmann::json& j, const char* key, int64_t fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>()
                                                  : fallback;
}

// Runs candidates, counting them against the budget.
class Tester {
 public:
  Tester(const FailingRun& run, const ShrinkOptions& options)
      : run_(run), options_(options) {}

  bool Fails(const Scenario& candidate) {
    if (runs_ >= options_.max_runs) return false;
    ++runs_;
    const bool fails = FailsWith(candidate, run_.mutant, run_.rule);
    if (options_.progress) options_.progress(runs_, ScenarioSize(candidate));
    return fails;
  }
  size_t runs() const { return runs_; }
  bool exhausted() const { return runs_ >= options_.max_runs; }

 private:
  const FailingRun& run_;
  const ShrinkOptions& options_;
  size_t runs_ = 0;
};

// Zeller's ddmin over the items `Get` returns from a scenario: the smallest
// subset found (1-minimal when the budget allows) for which the scenario
// still fails. `Set` puts a subset into a copy of the scenario.
template <typename T, typename GetFn, typename SetFn>
bool DeltaDebug(Scenario& best, Tester& tester, GetFn get, SetFn set) {
  std::vector<T> items = get(best);
  if (items.empty()) return false;
  auto try_items = [&](std::vector<T> subset) {
    Scenario candidate = best;
    set(candidate, std::move(subset));
    if (!tester.Fails(candidate)) return false;
    best = std::move(candidate);
    return true;
  };
  const size_t start = items.size();
  if (try_items({})) return true;
  size_t n = 2;
  while (items.size() >= 2 && !tester.exhausted()) {
    const size_t chunk = (items.size() + n - 1) / n;
    bool reduced = false;
    for (size_t begin = 0; begin < items.size() && !reduced; begin += chunk) {
      const size_t end = std::min(items.size(), begin + chunk);
      std::vector<T> subset(items.begin() + begin, items.begin() + end);
      std::vector<T> complement(items.begin(), items.begin() + begin);
      complement.insert(complement.end(), items.begin() + end, items.end());
      if (subset.size() < items.size() && try_items(subset)) {
        items = std::move(subset);
        n = 2;
        reduced = true;
      } else if (!complement.empty() && try_items(complement)) {
        items = std::move(complement);
        n = std::max<size_t>(n - 1, 2);
        reduced = true;
      }
    }
    if (!reduced) {
      if (n >= items.size()) break;
      n = std::min(items.size(), n * 2);
    }
  }
  return items.size() < start;
}

// Moves one time earlier while the scenario still fails: to zero if it
// can, else by bisecting between zero (passes) and the current time
// (fails) down to kTimeResolution.
template <typename GetFn, typename SetFn>
bool Earlier(Scenario& best, Tester& tester, GetFn get, SetFn set) {
  const absl::Duration start = get(best);
  if (start <= absl::ZeroDuration()) return false;
  auto fails_at = [&](absl::Duration t) {
    Scenario candidate = best;
    set(candidate, t);
    if (!tester.Fails(candidate)) return false;
    best = std::move(candidate);
    return true;
  };
  if (fails_at(absl::ZeroDuration())) return true;
  absl::Duration lo = absl::ZeroDuration(), hi = start;
  while (hi - lo > kTimeResolution && !tester.exhausted()) {
    const absl::Duration mid = absl::Trunc(lo + (hi - lo) / 2, kTimeResolution);
    if (mid <= lo || mid >= hi) break;
    if (fails_at(mid)) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return hi < start;
}

absl::Duration LastTime(const Scenario& s) {
  absl::Duration last = absl::ZeroDuration();
  for (const sim::Fault& f : s.faults) {
    last = std::max(last, f.at - Instant{});
  }
  for (const Step& step : s.steps) {
    last = std::max(last, step.when.at.value_or(step.when.delay));
  }
  if (s.generated.has_value()) {
    last = std::max(last, s.generated->window + s.generated->quiet);
  }
  return last;
}

// ---- Generated workloads ----

bool ShrinkGenerated(Scenario& best, Tester& tester) {
  bool changed = DeltaDebug<sim::Fault>(
      best, tester, [](const Scenario& s) { return s.faults; },
      [](Scenario& s, std::vector<sim::Fault> f) { s.faults = std::move(f); });
  // Smaller worlds: the fewest VMs, proxies and containers that still fail
  // (0 means "drawn from the seed", so the smallest explicit size is 1).
  struct Dim {
    uint32_t GeneratedWorkload::*field;
    uint32_t drawn_max;
  };
  for (Dim dim :
       {Dim{&GeneratedWorkload::vms, 6}, Dim{&GeneratedWorkload::proxies, 4},
        Dim{&GeneratedWorkload::containers, 4}}) {
    const uint32_t current = (*best.generated).*dim.field;
    const uint32_t upto = current == 0 ? dim.drawn_max : current - 1;
    for (uint32_t n = 1; n <= upto && !tester.exhausted(); ++n) {
      Scenario candidate = best;
      (*candidate.generated).*dim.field = n;
      if (tester.Fails(candidate)) {
        best = std::move(candidate);
        changed = true;
        break;
      }
    }
  }
  // A shorter window: fewer client steps and less traffic.
  for (absl::Duration GeneratedWorkload::*field :
       {&GeneratedWorkload::window, &GeneratedWorkload::quiet}) {
    while (!tester.exhausted()) {
      const absl::Duration half =
          absl::Trunc(((*best.generated).*field) / 2, kTimeResolution);
      if (half < kMinWindow) break;
      Scenario candidate = best;
      (*candidate.generated).*field = half;
      if (!tester.Fails(candidate)) break;
      best = std::move(candidate);
      changed = true;
    }
  }
  for (size_t i = 0; i < best.faults.size(); ++i) {
    changed |= Earlier(
        best, tester,
        [i](const Scenario& s) { return s.faults[i].at - Instant{}; },
        [i](Scenario& s, absl::Duration t) { s.faults[i].at = Instant{} + t; });
  }
  return changed;
}

// ---- Scripts ----

// The setup objects a scenario refers to, by kind.
struct References {
  std::set<uint32_t> vms;
  std::set<uint64_t> containers, proxies;
  uint32_t max_wake_source = 0;
};

void Collect(const sim::ScriptOp& op, References& refs) {
  using namespace sim::script_op;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, CreateVm>) {
          refs.vms.insert(x.config.cid.value);
        } else if constexpr (std::is_same_v<T, StartVm> ||
                             std::is_same_v<T, KillVm>) {
          refs.vms.insert(x.cid.value);
        } else if constexpr (requires { x.container; }) {
          refs.containers.insert(x.container.value);
        } else if constexpr (requires { x.proxy; }) {
          refs.proxies.insert(x.proxy.value);
        } else if constexpr (requires { x.source; }) {
          refs.max_wake_source = std::max(refs.max_wake_source, x.source);
        } else if constexpr (std::is_same_v<T, InjectFault>) {
          switch (sim::FaultTargetOf(x.kind)) {
            case sim::FaultTarget::kVm:
              refs.vms.insert(static_cast<uint32_t>(x.target));
              break;
            case sim::FaultTarget::kContainer:
              refs.containers.insert(x.target);
              break;
            case sim::FaultTarget::kProxy:
              refs.proxies.insert(x.target);
              break;
            case sim::FaultTarget::kHandleSource:
              refs.max_wake_source = std::max(refs.max_wake_source,
                                              static_cast<uint32_t>(x.target));
              break;
            case sim::FaultTarget::kAny:
              break;
          }
        }
      },
      op);
}

References ReferencesOf(const Scenario& s) {
  References refs;
  for (const Step& step : s.steps) Collect(step.op, refs);
  for (const Expectation& x : s.expect) {
    for (const auto& [cid, state] : x.final_state.vms) refs.vms.insert(cid);
    for (const auto& [cid, state] : x.final_state.payloads) {
      refs.vms.insert(cid);
    }
    for (const auto& [id, state] : x.final_state.containers) {
      refs.containers.insert(id);
    }
    for (const auto& [id, state] : x.final_state.proxies) {
      refs.proxies.insert(id);
    }
  }
  return refs;
}

// Drops setup objects nothing refers to any more (then the file still
// loads: every reference has its object).
void DropUnreferenced(Scenario& s) {
  const References refs = ReferencesOf(s);
  std::erase_if(s.setup.vms, [&](const VmSetup& vm) {
    return !refs.vms.contains(vm.config.cid.value);
  });
  std::erase_if(s.setup.containers, [&](const ContainerSetup& c) {
    return !refs.containers.contains(c.id.value);
  });
  std::erase_if(s.setup.proxies,
                [&](ProxyId p) { return !refs.proxies.contains(p.value); });
  s.setup.wake_sources = std::min(s.setup.wake_sources, refs.max_wake_source);
}

bool ShrinkScript(Scenario& best, Tester& tester) {
  bool changed = DeltaDebug<Step>(
      best, tester, [](const Scenario& s) { return s.steps; },
      [](Scenario& s, std::vector<Step> steps) {
        s.steps = std::move(steps);
        DropUnreferenced(s);
      });
  {
    Scenario candidate = best;
    DropUnreferenced(candidate);
    if (ScenarioSize(candidate) < ScenarioSize(best) &&
        tester.Fails(candidate)) {
      best = std::move(candidate);
      changed = true;
    }
  }
  for (size_t i = 0; i < best.steps.size(); ++i) {
    if (best.steps[i].when.at.has_value()) {
      changed |= Earlier(
          best, tester, [i](const Scenario& s) { return *s.steps[i].when.at; },
          [i](Scenario& s, absl::Duration t) { s.steps[i].when.at = t; });
    } else {
      changed |= Earlier(
          best, tester,
          [i](const Scenario& s) { return s.steps[i].when.delay; },
          [i](Scenario& s, absl::Duration t) { s.steps[i].when.delay = t; });
    }
  }
  return changed;
}

}  // namespace

absl::StatusOr<FailingRun> FailingRunOfTrace(sim::TraceReader& reader) {
  absl::StatusOr<sim::TraceHeader> header = reader.ReadHeader();
  if (!header.ok()) return header.status();
  while (true) {
    absl::StatusOr<std::optional<sim::TraceEvent>> event = reader.Next();
    if (!event.ok()) return event.status();
    if (!event->has_value()) break;
  }
  const sim::TraceEnd& end = *reader.end();
  if (!end.violation.has_value()) {
    return absl::FailedPreconditionError(
        "the trace passed (its verdict is \"pass\"): there is nothing to "
        "shrink");
  }
  if (header->sut != "reference") {
    return absl::InvalidArgumentError(
        absl::StrCat("the trace was recorded against '", header->sut,
                     "'; shrinking re-runs the reference runtime only"));
  }
  FailingRun run;
  run.rule = end.violation->rule;
  if (header->mutant.has_value()) {
    run.mutant = ParseMutant(*header->mutant);
    if (!run.mutant) {
      return absl::InvalidArgumentError(
          absl::StrCat("the trace names an unknown mutant '", *header->mutant,
                       "' ('proctor mutants' lists them)"));
    }
  }
  const nlohmann::json& w = header->workload;
  auto text = w.find("scenario");
  if (text != w.end()) {
    if (!text->is_string()) {
      return absl::InvalidArgumentError(
          "the trace header's workload.scenario is not a string");
    }
    auto file = w.find("scenario_file");
    absl::StatusOr<Scenario> s = ParseScenario(
        text->get<std::string>(), file != w.end() && file->is_string()
                                      ? file->get<std::string>()
                                      : "scenario in trace header");
    if (!s.ok()) return s.status();
    run.scenario = *std::move(s);
    return run;
  }
  // A `proctor sim` seed: its workload and fault plan.
  Scenario& s = run.scenario;
  s.name = absl::StrCat("seed-", header->seed);
  s.rules = {run.rule};
  s.worlds = {WorldKind::kSim};
  GeneratedWorkload g;
  g.seed = header->seed;
  g.swarm = header->swarm;
  g.vms = static_cast<uint32_t>(JsonU64(w, "vms"));
  g.proxies = static_cast<uint32_t>(JsonU64(w, "proxies"));
  g.containers = static_cast<uint32_t>(JsonU64(w, "containers"));
  g.window = absl::Nanoseconds(
      JsonI64(w, "fault_window_ns", absl::ToInt64Nanoseconds(g.window)));
  g.quiet = absl::Nanoseconds(
      JsonI64(w, "quiet_ns", absl::ToInt64Nanoseconds(g.quiet)));
  s.generated = g;
  for (size_t i = 0; i < header->fault_plan.size(); ++i) {
    absl::StatusOr<sim::Fault> f = sim::ParseFault(header->fault_plan[i]);
    if (!f.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fault_plan[", i, "] of the trace header: ", f.status().message()));
    }
    s.faults.push_back(*f);
  }
  return run;
}

std::string StoryOfRun(const Scenario& scenario,
                       const std::optional<Mutant>& mutant, size_t max_lines) {
  std::stringstream trace;
  RunInSim(scenario, RunOptions{mutant, &trace});
  sim::TraceReader reader(&trace, "story");
  if (!reader.ReadHeader().ok()) return "";
  std::vector<std::string> lines;
  size_t left_out = 0;
  while (true) {
    absl::StatusOr<std::optional<sim::TraceEvent>> event = reader.Next();
    if (!event.ok() || !event->has_value()) break;
    const sim::TraceEvent& e = **event;
    nlohmann::json value;
    if (const auto* in = std::get_if<Input>(&e.value)) {
      value = sim::EncodeInput(*in);
      // Requests are the client's steps; other inputs are the world's.
      if (!value.contains("request")) continue;
      value.erase("request");
    } else if (const auto* out = std::get_if<Action>(&e.value)) {
      value = sim::EncodeAction(*out);
      const std::string kind = value.value("kind", "");
      if (kind != "on_died" && kind != "guest_error" &&
          kind != "shutdown_complete" && kind != "proxy_stopped") {
        continue;
      }
    } else {
      value = sim::EncodeFact(std::get<sim::WorldFact>(e.value));
      if (value.value("kind", "") != "fault_fired") continue;
    }
    if (lines.size() >= max_lines) {
      ++left_out;
      continue;
    }
    const std::string kind = value.value("kind", "");
    value.erase("kind");
    std::string members = value.dump();
    if (members.size() > 160) members = members.substr(0, 160) + "...";
    lines.push_back(absl::StrCat("#   ", FormatInstant(e.t), "  ",
                                 e.dir == sim::TraceEvent::kIn ? "client " : "",
                                 kind, " ", members));
  }
  std::string out =
      "# What happens in this run (client requests, faults, deaths):\n";
  for (const std::string& line : lines) absl::StrAppend(&out, line, "\n");
  if (left_out > 0) absl::StrAppend(&out, "#   ... ", left_out, " more\n");
  if (reader.end().has_value() && reader.end()->violation.has_value()) {
    const sim::Violation& v = *reader.end()->violation;
    absl::StrAppend(&out, "# and ", v.rule,
                    " breaks: ", v.message.substr(0, 300), "\n");
  }
  return out;
}

bool FailsWith(const Scenario& scenario, const std::optional<Mutant>& mutant,
               absl::string_view rule) {
  const ScenarioResult r = RunInSim(scenario, RunOptions{mutant, nullptr});
  if (rule == "SIM") return !r.error.ok();
  for (const Finding& f : r.findings) {
    if (f.rule == rule || (rule == "EXPECT" && f.rule.empty())) return true;
  }
  return false;
}

size_t ScenarioSize(const Scenario& s) {
  return s.faults.size() + s.steps.size() + s.setup.vms.size() +
         s.setup.containers.size() + s.setup.proxies.size() +
         s.setup.wake_sources + s.expect.size();
}

absl::StatusOr<ShrinkResult> Shrink(const FailingRun& run,
                                    const ShrinkOptions& options) {
  Tester tester(run, options);
  Scenario best = run.scenario;
  ShrinkResult result;
  result.rule = run.rule;
  result.size_before = ScenarioSize(best);
  result.last_time_before = LastTime(best);
  if (!tester.Fails(best)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the run does not fail with ", run.rule,
        " when it is run again; was it recorded by another version of "
        "proctor?"));
  }
  // Only the failing rule's expectations matter; the oracle judges every
  // rule anyway.
  {
    Scenario candidate = best;
    std::erase_if(candidate.expect, [&](const Expectation& x) {
      return x.rule != run.rule && !(run.rule == "EXPECT" && x.rule.empty());
    });
    if (candidate.expect.size() < best.expect.size() &&
        tester.Fails(candidate)) {
      best = std::move(candidate);
    }
  }
  for (int pass = 0; pass < 8 && !tester.exhausted(); ++pass) {
    const bool changed = best.generated.has_value()
                             ? ShrinkGenerated(best, tester)
                             : ShrinkScript(best, tester);
    if (!changed) break;
  }
  // A generated workload's steps are implicit in its seed; told as explicit
  // steps they can be shrunk one by one, if the script still fails.
  if (best.generated.has_value() && options.explicit_steps &&
      !tester.exhausted()) {
    absl::StatusOr<Scenario> script = ScriptOfGeneratedRun(best, run.mutant);
    if (script.ok() && tester.Fails(*script)) {
      Scenario explicit_best = *std::move(script);
      for (int pass = 0; pass < 8 && !tester.exhausted(); ++pass) {
        if (!ShrinkScript(explicit_best, tester)) break;
      }
      best = std::move(explicit_best);
      result.explicit_steps = true;
    }
  }
  best.name = absl::StrCat(best.name, "-shrunk");
  best.rules = {
      run.rule == "SIM" || run.rule == "EXPECT"
          ? (run.scenario.rules.empty() ? "RT-1" : run.scenario.rules[0])
          : run.rule};
  best.description = absl::StrCat(
      "Shrunk by proctor shrink (", tester.runs(), " runs) from a run that ",
      run.rule == "SIM" ? "failed in the world"
                        : absl::StrCat("broke ", run.rule),
      run.mutant ? absl::StrCat(" under --mutant ", InfoOf(*run.mutant).name)
                 : "",
      ". It fails the same way under proctor run.");
  result.scenario = std::move(best);
  result.runs = tester.runs();
  result.size_after = ScenarioSize(result.scenario);
  result.last_time_after = LastTime(result.scenario);
  return result;
}

}  // namespace proctor::scenario
