#include "scenarios/runner/runner.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sim/campaign/campaign.h"
#include "sim/oracle/oracle.h"
#include "sim/sut.h"
#include "sim/trace/trace.h"
#include "sim/world/world.h"

namespace proctor::scenario {
namespace {

// Quotes a word for a shell command line when it needs it.
std::string ShellWord(absl::string_view word) {
  bool plain = !word.empty();
  for (char c : word) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '/' || c == '.' ||
                    c == '-' || c == '_' || c == '+' || c == ':' || c == '=';
    if (!ok) plain = false;
  }
  if (plain) return std::string(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out += "'";
  return out;
}

sim::TraceHeader HeaderOf(const Scenario& scenario, const sim::WorldOptions& wo,
                          const std::optional<Mutant>& mutant) {
  sim::TraceHeader header;
  header.seed = wo.seed;
  header.swarm = wo.swarm;
  if (mutant) header.mutant = std::string(InfoOf(*mutant).name);
  header.sut = "reference";
  nlohmann::json workload = {
      {"vms", wo.workload.vms},
      {"proxies", wo.workload.proxies},
      {"containers", wo.workload.containers},
      {"fault_window_ns", absl::ToInt64Nanoseconds(wo.workload.fault_window)},
      {"quiet_ns", absl::ToInt64Nanoseconds(wo.workload.quiet)},
      {"scenario_file", scenario.file},
      {"scenario", FormatScenario(scenario)},
  };
  header.workload = std::move(workload);
  for (const sim::Fault& f : scenario.faults) {
    header.fault_plan.push_back(sim::FormatFault(f));
  }
  return header;
}

}  // namespace

std::string ScenarioResult::FirstRule() const {
  return findings.empty() ? "" : findings.front().rule;
}

sim::WorldOptions SimWorldOptionsOf(const Scenario& scenario) {
  sim::WorldOptions wo;
  if (scenario.generated.has_value()) {
    const GeneratedWorkload& g = *scenario.generated;
    wo.seed = g.seed;
    wo.swarm = g.swarm;
    wo.workload.vms = g.vms;
    wo.workload.proxies = g.proxies;
    wo.workload.containers = g.containers;
    wo.workload.fault_window = g.window;
    wo.workload.quiet = g.quiet;
    return wo;
  }
  wo.seed = scenario.seed;
  auto script = std::make_shared<sim::ScriptSetup>();
  for (const VmSetup& vm : scenario.setup.vms) {
    script->vms.push_back({vm.config.cid, vm.guest});
  }
  for (const ContainerSetup& c : scenario.setup.containers) {
    script->containers.push_back({c.id, c.process});
  }
  script->proxies = scenario.setup.proxies;
  script->wake_sources = scenario.setup.wake_sources;
  // The workload's sizes only size the runtime's limits (campaign.h).
  wo.workload.vms = static_cast<uint32_t>(script->vms.size());
  wo.workload.proxies = static_cast<uint32_t>(script->proxies.size());
  wo.workload.containers = static_cast<uint32_t>(script->containers.size());
  wo.script = std::move(script);
  return wo;
}

Supervisor::Options SupervisorOptionsOf(const Scenario& scenario,
                                        const std::optional<Mutant>& mutant) {
  return sim::SupervisorOptionsForWorkload(SimWorldOptionsOf(scenario).workload,
                                           mutant);
}

ScenarioResult RunInSim(const Scenario& scenario, const RunOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  ScenarioResult result;
  const sim::WorldOptions wo = SimWorldOptionsOf(scenario);
  sim::FaultPlan plan;
  if (scenario.generated.has_value()) {
    plan.faults = scenario.faults;
    for (const sim::Fault& f : plan.faults) {
      if (std::find(plan.enabled.begin(), plan.enabled.end(), f.kind) ==
          plan.enabled.end()) {
        plan.enabled.push_back(f.kind);
      }
    }
  }
  sim::ReferenceSut sut(SupervisorOptionsOf(scenario, options.mutant));
  sim::World world(wo, std::move(plan), &sut);
  sim::Oracle oracle;
  EventLog log;
  sim::TraceWriter trace(options.trace);
  if (options.trace != nullptr) {
    trace.WriteHeader(HeaderOf(scenario, wo, options.mutant));
    world.AddObserver(&trace);
  }
  if (scenario.invariants) world.AddObserver(&oracle);
  world.AddObserver(&log);

  // Steps at a time are queued now, in file order; steps after an event
  // are queued when their event is logged.
  absl::Status script_error;
  std::vector<const Step*> waiting;
  if (!scenario.generated.has_value()) {
    for (const Step& step : scenario.steps) {
      if (step.when.after.has_value()) {
        waiting.push_back(&step);
      } else {
        absl::Status s = world.ScheduleScript(
            Instant{} + step.when.at.value_or(absl::ZeroDuration()), step.op);
        if (!s.ok() && script_error.ok()) script_error = s;
      }
    }
  }
  log.set_listener([&](const LoggedEvent& e) {
    for (auto it = waiting.begin(); it != waiting.end();) {
      if (Matches(*(*it)->when.after, e)) {
        absl::Status s =
            world.ScheduleScript(e.at + (*it)->when.delay, (*it)->op);
        if (!s.ok() && script_error.ok()) script_error = s;
        it = waiting.erase(it);
      } else {
        ++it;
      }
    }
  });

  const Instant limit = Instant{} + scenario.time_limit;
  bool out_of_time = false;
  absl::Status status = script_error;
  if (status.ok()) {
    status = world.Run([&] {
      if (world.now() > limit) {
        out_of_time = true;
        return true;
      }
      // A broken rule does not stop the run: the expectations are judged
      // on all of it (the oracle itself stops judging at its first find).
      return log.overflowed() || !script_error.ok();
    });
  }
  if (status.ok()) status = script_error;
  if (status.ok() && log.overflowed()) {
    status = absl::ResourceExhaustedError(
        absl::StrCat("more than ", EventLog::kMaxEvents, " events"));
  }
  if (status.ok() && out_of_time) {
    status = absl::DeadlineExceededError(
        absl::StrCat("the run was still going at its time limit of ",
                     absl::FormatDuration(scenario.time_limit),
                     " (virtual time); set time_limit: to allow more"));
  }
  result.error = status;
  result.findings = CheckExpectations(scenario, log.events());
  if (scenario.invariants) {
    if (std::optional<sim::Violation> v = oracle.violation()) {
      result.findings.push_back(
          {v->rule,
           absl::StrCat("the rules of docs/spec.md hold at every step"),
           absl::StrCat(v->message, " (at ", FormatInstant(v->at), ", event ",
                        v->seq, ")"),
           {}});
    }
  }
  if (options.trace != nullptr) {
    std::optional<sim::Violation> verdict;
    if (!result.findings.empty()) {
      const Finding& f = result.findings.front();
      verdict = sim::Violation{
          f.rule.empty() ? "EXPECT" : f.rule,
          absl::StrCat("expected ", f.expected, "; seen ", f.seen),
          log.events().empty() ? 0 : log.events().back().seq, world.now()};
    } else if (!status.ok()) {
      verdict = sim::Violation{"SIM", std::string(status.message()),
                               world.stats().events, world.now()};
    }
    trace.Finish(verdict);
    if (!trace.ok() && result.error.ok()) {
      result.error = absl::DataLossError("writing the trace failed");
    }
  }
  result.events = world.stats().events;
  result.end = world.now();
  result.wall_s = std::chrono::duration<double>(
                      std::chrono::steady_clock::now() - wall_start)
                      .count();
  return result;
}

std::string ReproduceCommand(const Scenario& scenario, WorldKind world,
                             const std::optional<Mutant>& mutant) {
  std::string command = absl::StrCat("proctor run ", ShellWord(scenario.file),
                                     " --world ", WorldKindName(world));
  if (mutant) absl::StrAppend(&command, " --mutant ", InfoOf(*mutant).name);
  return command;
}

}  // namespace proctor::scenario
