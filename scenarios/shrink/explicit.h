// Turns a generated workload's run into explicit steps: the client's
// requests, the peers' traffic, the wake sources' pulses and the plan's
// faults, each at the time it happened, with every guest's and container
// process's first life as its scripted life. The script is not the same
// run (the world draws other latencies once the seed's client is gone), so
// `proctor shrink` keeps it only when it still fails the same way; then
// delta debugging can remove the steps one by one.
#ifndef PROCTOR_SCENARIOS_SHRINK_EXPLICIT_H_
#define PROCTOR_SCENARIOS_SHRINK_EXPLICIT_H_

#include <optional>

#include "absl/status/statusor.h"
#include "runtime/model/mutants.h"
#include "scenarios/format/scenario.h"

namespace proctor::scenario {

absl::StatusOr<Scenario> ScriptOfGeneratedRun(
    const Scenario& generated, const std::optional<Mutant>& mutant);

}  // namespace proctor::scenario

#endif  // PROCTOR_SCENARIOS_SHRINK_EXPLICIT_H_
