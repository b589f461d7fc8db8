// Hands a scenario's steps to a world: steps at a time are scheduled before
// the run, in file order; steps after an event are scheduled when the event
// log sees their event. Shared by the simulator's runner and the real
// worlds', which have the same ScheduleScript(Instant, sim::ScriptOp).
#ifndef PROCTOR_SCENARIOS_RUNNER_INTERNAL_STEP_DRIVER_H_
#define PROCTOR_SCENARIOS_RUNNER_INTERNAL_STEP_DRIVER_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "runtime/model/time.h"
#include "scenarios/format/scenario.h"
#include "scenarios/runner/event_log.h"

namespace proctor::scenario::internal {

template <typename World>
class StepDriver {
 public:
  // Schedules the timed steps now and listens to `log` for the others.
  // `world` and `log` must outlive the driver.
  StepDriver(const Scenario& scenario, World& world, EventLog& log)
      : world_(world) {
    if (scenario.generated.has_value()) return;
    for (const Step& step : scenario.steps) {
      if (step.when.after.has_value()) {
        waiting_.push_back(&step);
      } else {
        Note(world.ScheduleScript(
            Instant{} + step.when.at.value_or(absl::ZeroDuration()), step.op));
      }
    }
    log.set_listener([this](const LoggedEvent& e) {
      for (auto it = waiting_.begin(); it != waiting_.end();) {
        if (Matches(*(*it)->when.after, e)) {
          Note(world_.ScheduleScript(e.at + (*it)->when.delay, (*it)->op));
          it = waiting_.erase(it);
        } else {
          ++it;
        }
      }
    });
  }

  // The first error scheduling a step (the run fails with it).
  const absl::Status& error() const { return error_; }

 private:
  void Note(absl::Status s) {
    if (!s.ok() && error_.ok()) error_ = std::move(s);
  }

  World& world_;
  std::vector<const Step*> waiting_;
  absl::Status error_;
};

}  // namespace proctor::scenario::internal

#endif  // PROCTOR_SCENARIOS_RUNNER_INTERNAL_STEP_DRIVER_H_
