// The simulated world: a virtual clock, an agenda of events, and simulated
// VMMs and guests, containers and their in-guest agent, channels, counters,
// remote and container peers, wake sources and the supervisor's clients.
// It drives a SystemUnderTest only through the input/action vocabulary
// (docs/inputs-and-actions.md): it hands the SUT one input at a time,
// executes the actions that come back in order, and answers every action
// that "completes" with its input, so the SUT never waits forever because
// of the world. Faults from a FaultPlan bend what the world does.
//
// A run is a pure function of the options, the plan and the SUT: every
// random choice comes from Prng sub-streams of the seed, ties in time are
// broken by scheduling order, and nothing iterates a hash map.
//
// Observers see every input (before the SUT does), every action (as they
// come back, in order, before any is executed) and every world fact, with
// one sequence number shared by all three, counting from 1.
#ifndef PROCTOR_SIM_WORLD_WORLD_H_
#define PROCTOR_SIM_WORLD_WORLD_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "runtime/model/time.h"
#include "sim/observer.h"
#include "sim/sut.h"
#include "sim/world/fault_kind.h"
#include "sim/world/fault_plan.h"
#include "sim/world/world_options.h"

namespace proctor::sim {

struct WorldStats {
  uint64_t events = 0;  // inputs + actions + facts notified
  uint64_t inputs = 0, actions = 0, facts = 0;
  Instant end;  // virtual time at the end
  std::array<uint64_t, kFaultKindCount> faults_fired{};  // by FaultKind index
  std::array<uint64_t, kFaultKindCount> faults_planned{};
  size_t peak_queue = 0;
};

namespace world_internal {
class WorldState;
}  // namespace world_internal

class World {
 public:
  // `sut` is not owned and must outlive the world.
  World(WorldOptions options, FaultPlan plan, SystemUnderTest* sut);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // Not owned; notified in the order added.
  void AddObserver(Observer* observer);

  // Runs the workload until the world is idle after the final shutdown (then
  // every observer's OnEnd is called), or the event budget is exhausted
  // (ResourceExhausted "event budget exhausted ..."), or the SUT returns an
  // error (returned, annotated with the time and the input), or `stop()`
  // returns true; it is checked after every event. OK also when stopped by
  // `stop`. A world runs once.
  absl::Status Run(absl::FunctionRef<bool()> stop);

  // Scripted worlds only: performs `op` at `at` (or now, if `at` has
  // passed). May be called before Run and from an observer while it runs
  // (that is how a step follows an observed event). Fails when the op names
  // an object the script did not set up, or past kMaxScriptOps.
  absl::Status ScheduleScript(Instant at, ScriptOp op);

  const WorldStats& stats() const;
  Instant now() const;

 private:
  std::unique_ptr<world_internal::WorldState> state_;
};

}  // namespace proctor::sim

#endif  // PROCTOR_SIM_WORLD_WORLD_H_
