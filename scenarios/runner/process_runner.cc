#include "scenarios/runner/process_runner.h"

#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "host/world/process_world.h"
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
    header.workload = {{"world", "process"},
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
  internal::StepDriver steps(scenario, world, log);

  absl::Status status = steps.error();
  if (status.ok()) {
    bool interrupted = false;
    status = world.Run(
        [&] {
          if (options.interrupted != nullptr && options.interrupted->load()) {
            interrupted = true;
            return true;
          }
          return log.overflowed() || !steps.error().ok();
        },
        Instant{} + scenario.time_limit);
    if (status.ok() && interrupted) {
      status = absl::CancelledError(
          absl::StrCat("interrupted at ", FormatInstant(world.now()),
                       "; its processes were killed"));
    }
  }
  if (status.ok()) status = steps.error();
  if (status.ok() && log.overflowed()) {
    status = absl::ResourceExhaustedError(
        absl::StrCat("more than ", EventLog::kMaxEvents, " events"));
  }
  result.error = status;
  result.findings =
      CheckExpectations(scenario, log.events(), kProcessWorldSlack);
  if (scenario.invariants) internal::AddOracleFinding(oracle, result.findings);
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
