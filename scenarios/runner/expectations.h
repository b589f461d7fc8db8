// Judges a scenario's expectations against the event log of a finished run:
// events within a window (or exactly `count` of them), events that must
// never happen, and the final state. A failure says what was expected, what
// was seen instead (the nearest events of the same kind), the rule and where
// the expectation was written.
#ifndef PROCTOR_SCENARIOS_RUNNER_EXPECTATIONS_H_
#define PROCTOR_SCENARIOS_RUNNER_EXPECTATIONS_H_

#include <span>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "runtime/model/time.h"
#include "scenarios/format/scenario.h"
#include "scenarios/runner/event_log.h"

namespace proctor::scenario {

// One thing that did not go as the scenario says: a failed expectation or
// a rule the invariant oracle found broken.
struct Finding {
  std::string rule;         // "VM-5"; empty when the expectation names none
  std::string expected;     // one line
  std::string seen;         // one or more lines
  SourceLocation location;  // of the expectation; 0 for the oracle
};

// The state the run ended in, read from its events.
FinalState FinalStateOf(std::span<const LoggedEvent> events);

// `slack` widens the end of every window an event must fall in: in a real
// world an event comes a little after its cause, where the simulator's
// latencies are exact. Windows of events that must never happen are not
// widened (a late event only leaves them).
std::vector<Finding> CheckExpectations(
    const Scenario& scenario, std::span<const LoggedEvent> events,
    absl::Duration slack = absl::ZeroDuration());

}  // namespace proctor::scenario

#endif  // PROCTOR_SCENARIOS_RUNNER_EXPECTATIONS_H_
