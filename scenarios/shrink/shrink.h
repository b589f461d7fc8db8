// Shrinking: turns a failing run into the smallest scenario found that
// still fails with the same rule — fewer faults, fewer steps, fewer objects,
// earlier times — by delta debugging (Zeller's ddmin) and time halving,
// re-running the candidate in the simulator at every step. The input is a
// trace: from `proctor sim` (its seed, workload and fault plan are in the
// header) or from `proctor run` (the scenario itself is in the header).
#ifndef PROCTOR_SCENARIOS_SHRINK_SHRINK_H_
#define PROCTOR_SCENARIOS_SHRINK_SHRINK_H_

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/model/mutants.h"
#include "scenarios/format/scenario.h"
#include "sim/trace/trace.h"

namespace proctor::scenario {

// The scenario a trace was recorded from, and how it failed.
struct FailingRun {
  Scenario scenario;
  std::optional<Mutant> mutant;
  // The rule the run broke ("SIM" when the world or runtime failed).
  std::string rule;
};

// Reads the trace's header and end line (the events in between are only
// checked, not kept). A trace that passed is an error: there is nothing to
// shrink.
absl::StatusOr<FailingRun> FailingRunOfTrace(sim::TraceReader& reader);

struct ShrinkOptions {
  // The most candidate runs; shrinking stops with the best so far.
  size_t max_runs = 4000;
  // Called after every candidate run (for progress on a terminal).
  std::function<void(size_t runs, size_t size)> progress;
  // After shrinking a generated workload, try to tell it as explicit steps
  // (explicit.h) and shrink those; kept only if it still fails.
  bool explicit_steps = true;
};

struct ShrinkResult {
  Scenario scenario;  // fails with `rule`
  std::string rule;
  size_t runs = 0;
  // Faults + steps + setup objects, before and after.
  size_t size_before = 0;
  size_t size_after = 0;
  // The last virtual time a step or fault happens at, before and after.
  absl::Duration last_time_before, last_time_after;
  // The result is a generated workload told as explicit steps.
  bool explicit_steps = false;
};

// Whether `scenario` fails with `rule` in sim under `mutant`.
bool FailsWith(const Scenario& scenario, const std::optional<Mutant>& mutant,
               absl::string_view rule);

// The size that shrinking minimises.
size_t ScenarioSize(const Scenario& scenario);

// Shrinks `run`, whose scenario must fail with its rule (else
// FailedPrecondition). The result's scenario has the same file, a name
// saying it was shrunk, and names only the failing rule.
absl::StatusOr<ShrinkResult> Shrink(const FailingRun& run,
                                    const ShrinkOptions& options);

// What happens when `scenario` runs (at most `max_lines` lines, each
// starting with "# "): the client's requests, the faults that fire, the
// deaths and guest errors, and the rule that breaks. `proctor shrink` puts
// it under a generated scenario, whose steps are otherwise implicit in its
// seed.
std::string StoryOfRun(const Scenario& scenario,
                       const std::optional<Mutant>& mutant, size_t max_lines);

}  // namespace proctor::scenario

#endif  // PROCTOR_SCENARIOS_SHRINK_SHRINK_H_
