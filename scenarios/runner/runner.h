// Runs one scenario in the deterministic simulator against the reference
// runtime (optionally with a mutant), with the invariant oracle judging
// every step, and judges the scenario's expectations on the run's events.
// The run's trace can be written as it happens; its header carries the
// scenario, so `proctor replay` and `proctor shrink` can work from the
// trace alone.
#ifndef PROCTOR_SCENARIOS_RUNNER_RUNNER_H_
#define PROCTOR_SCENARIOS_RUNNER_RUNNER_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/model/mutants.h"
#include "runtime/model/time.h"
#include "runtime/supervisor/supervisor.h"
#include "scenarios/format/scenario.h"
#include "scenarios/runner/event_log.h"
#include "scenarios/runner/expectations.h"
#include "sim/world/world_options.h"

namespace proctor::scenario {

struct RunOptions {
  std::optional<Mutant> mutant;
  // Where the trace goes (not owned); null: no trace.
  std::ostream* trace = nullptr;
  // Receives the run's event log (not owned); null: not kept.
  std::vector<LoggedEvent>* events = nullptr;
};

struct ScenarioResult {
  // Failed expectations, then the oracle's violation if there was one.
  std::vector<Finding> findings;
  // The world or the runtime failed, or the run was cut short: the
  // scenario fails with this error.
  absl::Status error;
  uint64_t events = 0;
  Instant end;
  double wall_s = 0;
  // Real guests: the wall time their boots took before the run's clock
  // started (part of wall_s).
  double boot_s = 0;
  bool passed() const { return findings.empty() && error.ok(); }
  // The rule of the first finding ("" when none names one).
  std::string FirstRule() const;
};

ScenarioResult RunInSim(const Scenario& scenario, const RunOptions& options);

// The exact command that runs this scenario again as it just ran.
std::string ReproduceCommand(const Scenario& scenario, WorldKind world,
                             const std::optional<Mutant>& mutant);

// What the simulated world and the runtime are built from, shared with
// replay and shrinking so that they rebuild the same run.
sim::WorldOptions SimWorldOptionsOf(const Scenario& scenario);
Supervisor::Options SupervisorOptionsOf(const Scenario& scenario,
                                        const std::optional<Mutant>& mutant);

}  // namespace proctor::scenario

#endif  // PROCTOR_SCENARIOS_RUNNER_RUNNER_H_
