#include "scenarios/runner/runner.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "scenarios/runner/internal/judging.h"
#include "scenarios/runner/internal/step_driver.h"
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

  internal::StepDriver steps(scenario, world, log);

  const Instant limit = Instant{} + scenario.time_limit;
  bool out_of_time = false;
  absl::Status status = steps.error();
  if (status.ok()) {
    status = world.Run([&] {
      if (world.now() > limit) {
        out_of_time = true;
        return true;
      }
      // A broken rule does not stop the run: the expectations are judged
      // on all of it (the oracle itself stops judging at its first find).
      return log.overflowed() || !steps.error().ok();
    });
  }
  if (status.ok()) status = steps.error();
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
  if (scenario.invariants) internal::AddOracleFinding(oracle, result.findings);
  if (options.trace != nullptr) {
    internal::FinishTrace(trace, log, "SIM", world.stats().events, world.now(),
                          status, result.findings, result.error);
  }
  result.events = world.stats().events;
  if (options.events != nullptr) *options.events = log.events();
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
