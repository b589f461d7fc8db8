// Runs one scenario in the process world (host/world): the reference runtime
// drives real socket pairs, shared-memory counters and container processes,
// on the real clock; or in the QEMU world, the process world whose VMs and
// suspendable guest are real Linux guests under QEMU (docs/qemu.md). The
// same event log, expectations and oracle judge the run as in the
// simulator, with a small slack on the end of every window because real
// events come a little after their causes; --compare sim also runs the
// scenario in the simulator and checks that both tell the same story
// (compare.h).
#ifndef PROCTOR_SCENARIOS_RUNNER_PROCESS_RUNNER_H_
#define PROCTOR_SCENARIOS_RUNNER_PROCESS_RUNNER_H_

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "host/world/process_world.h"
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
  // Set: the QEMU world, with these guests (the scenario's seed is filled
  // in).
  std::optional<host::QemuWorldOptions> qemu;
  // Also run the scenario in the simulator and report a disagreement like
  // a failed expectation.
  bool compare_sim = false;
};

// What the QEMU world boots before the run: for each start_vm step, in file
// order, the config of the last create_vm step for its cid before it.
std::vector<VmConfig> GuestLivesOf(const Scenario& scenario);

ScenarioResult RunInProcess(const Scenario& scenario,
                            const ProcessRunOptions& options);

// Where proctor-container is: $PROCTOR_CONTAINER_BINARY, else the path the
// build put it at.
std::string DefaultContainerBinary();

}  // namespace proctor::scenario

#endif  // PROCTOR_SCENARIOS_RUNNER_PROCESS_RUNNER_H_
