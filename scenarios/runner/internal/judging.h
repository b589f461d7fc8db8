// The end of a scenario run, the same in every world: the oracle's
// violation joins the failed expectations, and the trace is closed with the
// run's verdict.
#ifndef PROCTOR_SCENARIOS_RUNNER_INTERNAL_JUDGING_H_
#define PROCTOR_SCENARIOS_RUNNER_INTERNAL_JUDGING_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "runtime/model/time.h"
#include "scenarios/runner/event_log.h"
#include "scenarios/runner/expectations.h"
#include "sim/oracle/oracle.h"
#include "sim/trace/trace.h"

namespace proctor::scenario::internal {

inline void AddOracleFinding(const sim::Oracle& oracle,
                             std::vector<Finding>& findings) {
  if (std::optional<sim::Violation> v = oracle.violation()) {
    findings.push_back({v->rule,
                        "the rules of docs/spec.md hold at every step",
                        absl::StrCat(v->message, " (at ", FormatInstant(v->at),
                                     ", event ", v->seq, ")"),
                        {}});
  }
}

// Closes `trace` with the first finding, else the world's error (`world`
// names who failed: "SIM", "WORLD"); a trace that could not be written
// fails a run that otherwise passed.
inline void FinishTrace(sim::TraceWriter& trace, const EventLog& log,
                        absl::string_view world, uint64_t world_events,
                        Instant end, const absl::Status& status,
                        const std::vector<Finding>& findings,
                        absl::Status& error) {
  std::optional<sim::Violation> verdict;
  if (!findings.empty()) {
    const Finding& f = findings.front();
    verdict =
        sim::Violation{f.rule.empty() ? "EXPECT" : f.rule,
                       absl::StrCat("expected ", f.expected, "; seen ", f.seen),
                       log.events().empty() ? 0 : log.events().back().seq, end};
  } else if (!status.ok()) {
    verdict = sim::Violation{std::string(world), std::string(status.message()),
                             world_events, end};
  }
  trace.Finish(verdict);
  if (!trace.ok() && error.ok()) {
    error = absl::DataLossError("writing the trace failed");
  }
}

}  // namespace proctor::scenario::internal

#endif  // PROCTOR_SCENARIOS_RUNNER_INTERNAL_JUDGING_H_
