#include "scenarios/runner/process_runner.h"

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "host/world/process_world.h"
#include "scenarios/runner/compare.h"
#include "scenarios/runner/event_log.h"
#include "scenarios/runner/expectations.h"
#include "scenarios/runner/internal/judging.h"
#include "scenarios/runner/internal/step_driver.h"
#include "sim/oracle/oracle.h"
#include "sim/sut.h"
#include "sim/trace/trace.h"

namespace proctor::scenario {

std::string DefaultContainerBinary() {
  if (const char* env = std::getenv("PROCTOR_CONTAINER_BINARY");
      env != nullptr && *env != '\0') {
    return env;
  }
  return PROCTOR_CONTAINER_BINARY;
}

std::vector<VmConfig> GuestLivesOf(const Scenario& scenario) {
  std::vector<VmConfig> lives;
  std::map<uint32_t, VmConfig> created;
  for (const Step& step : scenario.steps) {
    if (const auto* create = std::get_if<sim::script_op::CreateVm>(&step.op)) {
      created[create->config.cid.value] = create->config;
    } else if (const auto* start =
                   std::get_if<sim::script_op::StartVm>(&step.op)) {
      if (auto it = created.find(start->cid.value); it != created.end()) {
        lives.push_back(it->second);
      }
    }
  }
  return lives;
}

ScenarioResult RunInProcess(const Scenario& scenario,
                            const ProcessRunOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  ScenarioResult result;
  if (scenario.generated.has_value()) {
    result.error = absl::InvalidArgumentError(
        "a generated scenario (seed and fault plan) runs only in the "
        "simulator");
    return result;
  }
  const sim::WorldOptions wo = SimWorldOptionsOf(scenario);
  sim::ReferenceSut sut(SupervisorOptionsOf(scenario, options.run.mutant));
  host::ProcessWorldOptions po;
  po.container_binary = options.container_binary.empty()
                            ? DefaultContainerBinary()
                            : options.container_binary;
  const bool qemu = options.qemu.has_value();
  if (qemu) {
    po.qemu = *options.qemu;
    po.qemu->seed = wo.seed;
  }
  absl::StatusOr<std::unique_ptr<host::ProcessWorld>> made =
      host::ProcessWorld::Create(*wo.script, &sut, po);
  if (!made.ok()) {
    result.error = made.status();
    return result;
  }
  host::ProcessWorld& world = **made;
  sim::OracleOptions oracle_options;
  oracle_options.timer_slack = kProcessWorldSlack;
  sim::Oracle oracle(oracle_options);
  EventLog log;
  sim::TraceWriter trace(options.run.trace);
  if (options.run.trace != nullptr) {
    sim::TraceHeader header;
    header.seed = wo.seed;
    if (options.run.mutant) {
      header.mutant = std::string(InfoOf(*options.run.mutant).name);
    }
    header.sut = "reference";
    header.workload = {{"world", qemu ? "qemu" : "process"},
                       {"vms", wo.workload.vms},
                       {"proxies", wo.workload.proxies},
                       {"containers", wo.workload.containers},
                       {"scenario_file", scenario.file},
                       {"scenario", FormatScenario(scenario)}};
    trace.WriteHeader(header);
    world.AddObserver(&trace);
  }
  if (scenario.invariants) world.AddObserver(&oracle);
  world.AddObserver(&log);
  auto interrupted = [&] {
    return options.interrupted != nullptr && options.interrupted->load();
  };
  if (qemu) {
    // Before the steps are scheduled: the run's clock starts after the
    // boots.
    if (absl::Status s = world.BootGuests(GuestLivesOf(scenario), interrupted);
        !s.ok()) {
      result.error = s;
      result.wall_s = std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - wall_start)
                          .count();
      return result;
    }
    result.boot_s = absl::ToDoubleSeconds(world.boot_time());
  }
  internal::StepDriver steps(scenario, world, log);

  absl::Status status = steps.error();
  bool was_interrupted = false;
  if (status.ok()) {
    status = world.Run(
        [&] {
          if (interrupted()) {
            was_interrupted = true;
            return true;
          }
          return log.overflowed() || !steps.error().ok();
        },
        Instant{} + scenario.time_limit);
    if (status.ok() && was_interrupted) {
      status = absl::CancelledError(
          absl::StrCat("interrupted at ", FormatInstant(world.now()),
                       qemu ? "; its QEMUs and processes were killed"
                            : "; its processes were killed"));
    }
  }
  if (status.ok()) status = steps.error();
  if (status.ok() && log.overflowed()) {
    status = absl::ResourceExhaustedError(
        absl::StrCat("more than ", EventLog::kMaxEvents, " events"));
  }
  result.error = status;
  // A run cut short says nothing about what the scenario expects.
  if (!was_interrupted) {
    result.findings =
        CheckExpectations(scenario, log.events(), kProcessWorldSlack);
  }
  if (scenario.invariants) internal::AddOracleFinding(oracle, result.findings);
  if (options.compare_sim && status.ok()) {
    std::vector<LoggedEvent> sim_events;
    RunOptions sim_options;
    sim_options.mutant = options.run.mutant;
    sim_options.events = &sim_events;
    RunInSim(scenario, sim_options);
    if (std::optional<Finding> f =
            CompareStories(StoryOf(sim_events), StoryOf(log.events()),
                           qemu ? "qemu" : "process")) {
      result.findings.push_back(*std::move(f));
    }
  }
  if (options.run.trace != nullptr) {
    internal::FinishTrace(trace, log, "WORLD", world.events(), world.now(),
                          status, result.findings, result.error);
  }
  result.events = world.events();
  result.end = world.now();
  result.wall_s = std::chrono::duration<double>(
                      std::chrono::steady_clock::now() - wall_start)
                      .count();
  return result;
}

}  // namespace proctor::scenario
