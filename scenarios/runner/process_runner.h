// Runs one scenario in the process world (host/world): the reference runtime
// drives real socket pairs, shared-memory counters and container processes,
// on the real clock. The same event log, expectations and oracle judge the
// run as in the simulator, with a small slack on the end of every window
// because real events come a little after their causes.
#ifndef PROCTOR_SCENARIOS_RUNNER_PROCESS_RUNNER_H_
#define PROCTOR_SCENARIOS_RUNNER_PROCESS_RUNNER_H_

#include <atomic>
#include <string>

#include "absl/time/time.h"
#include "scenarios/format/scenario.h"
#include "scenarios/runner/runner.h"

namespace proctor::scenario {

// How much later than in the simulator an expected event may come in the
// process world (docs/host.md, "Timing").
inline constexpr absl::Duration kProcessWorldSlack = absl::Milliseconds(250);

struct ProcessRunOptions {
  RunOptions run;
  // The program that plays a container; empty: the one built beside
  // proctor (PROCTOR_CONTAINER_BINARY), or $PROCTOR_CONTAINER_BINARY.
  std::string container_binary;
  // Set (by a signal handler) to stop the run early: its processes are
  // killed and reaped and it fails with "interrupted". Not owned; optional.
  const std::atomic<bool>* interrupted = nullptr;
};

ScenarioResult RunInProcess(const Scenario& scenario,
                            const ProcessRunOptions& options);

// Where proctor-container is: $PROCTOR_CONTAINER_BINARY, else the path the
// build put it at.
std::string DefaultContainerBinary();

}  // namespace proctor::scenario

#endif  // PROCTOR_SCENARIOS_RUNNER_PROCESS_RUNNER_H_
