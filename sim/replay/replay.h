// Replay of a recorded trace against a fresh reference runtime: the
// recorded inputs are handed, in order and at their recorded times, to a new
// Supervisor built with the options the campaign used for that run (the
// header's mutant and workload), and the actions it returns are compared with
// the recorded "out" lines that follow each input. This is how a supervisor
// author checks that a changed runtime still answers old traces the same
// way, and how a trace saved by CI is reproduced on a laptop. `proctor
// replay` is the command-line face of this file (docs/replay.md).
#ifndef PROCTOR_SIM_REPLAY_REPLAY_H_
#define PROCTOR_SIM_REPLAY_REPLAY_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/model/mutants.h"
#include "runtime/model/time.h"
#include "runtime/supervisor/supervisor.h"
#include "sim/trace/trace.h"

namespace proctor::sim {

// How many events before a difference are kept to show it in context, by
// default and at most (the context is a ring buffer of this many events).
inline constexpr size_t kDefaultReplayContextEvents = 10;
inline constexpr size_t kMaxReplayContextEvents = 1000;

struct ReplayOptions {
  // Names the trace in errors; pass the name the TraceReader was given.
  std::string trace_name = "trace.jsonl";
  // Replay with `mutant` (nullopt: the reference behaviour) instead of the
  // mutant the header names, e.g. to see the first action a fix changes.
  bool override_mutant = false;
  std::optional<Mutant> mutant;
  // Events kept before a difference; clamped to kMaxReplayContextEvents.
  size_t context_events = kDefaultReplayContextEvents;
};

// One event of the context shown before a difference. `text` is the
// encoded value as on its trace line: {"kind":"...",<fields>}.
struct ReplayEvent {
  uint64_t seq = 0;
  Instant t;
  TraceEvent::Dir dir = TraceEvent::kIn;
  std::string text;
};

// The first place where the replayed actions differ from the recorded ones:
// a different action, a recorded action the runtime no longer returns
// (`replayed` unset), or an action it returns that was not recorded
// (`recorded` unset).
struct ReplayDifference {
  // The input whose actions differ.
  uint64_t input_seq = 0;
  Instant input_t;
  // The seq of the differing "out" line; for an extra replayed action, the
  // seq its line would have had.
  uint64_t seq = 0;
  // The 0-based position of the action among the input's actions.
  size_t action_index = 0;
  // The encoded actions, {"kind":"...",<fields>}.
  std::optional<std::string> recorded;
  std::optional<std::string> replayed;
  // The last events before the difference, oldest first; the input and the
  // actions of it that did match are among them.
  std::vector<ReplayEvent> context;
};

struct ReplayResult {
  TraceHeader header;
  // The mutant the runtime ran with (the header's unless overridden).
  std::optional<Mutant> mutant;
  // Counted up to the end of the trace, or up to the difference: events
  // read, inputs fed to the runtime, recorded actions that matched.
  uint64_t events = 0;
  uint64_t inputs = 0;
  uint64_t actions = 0;
  std::optional<ReplayDifference> difference;

  bool identical() const { return !difference.has_value(); }
};

// The options under which the runtime that recorded a trace with this
// header ran: SupervisorOptionsForWorkload (sim/campaign/campaign.h) of the
// header's mutant (or options.mutant when overridden) and of its workload's
// "vms", "proxies" and "containers" (absent: 0). Errors are
// InvalidArgumentError naming line 1 of `options.trace_name`: a sut other
// than "reference", an unknown mutant, a workload size that is not an
// unsigned 32-bit integer.
absl::StatusOr<Supervisor::Options> ReplaySupervisorOptions(
    const TraceHeader& header, const ReplayOptions& options);

// Replays the trace `reader` reads (its header not yet read), stopping at
// the first difference. An error is a trace that cannot be replayed: the
// reader's error (another version, bad JSON, a broken hash chain, a missing
// end line, ...), a header ReplaySupervisorOptions refuses, or an "out" line
// before any "in" line; each names the file and line.
absl::StatusOr<ReplayResult> ReplayTrace(TraceReader& reader,
                                         const ReplayOptions& options);

// The human-readable report of a difference, several lines ending in '\n':
// where it is, the context, then "recorded:" and "replayed:".
std::string FormatReplayDifference(absl::string_view trace_name,
                                   const ReplayDifference& difference);

// The one-line summary of an identical replay:
// "replay: 12345 events, 4567 inputs, 7777 actions: identical".
std::string FormatReplaySummary(const ReplayResult& result);

// The one-object JSON summary printed by `proctor replay --json`: trace,
// mutant, events, inputs, actions, identical, and first_difference (null or
// {seq, t_ns, action_seq, action_index, recorded, replayed}; seq and t_ns
// are the input's, recorded and replayed are the encoded actions or null).
std::string ReplaySummaryJson(absl::string_view trace_name,
                              const ReplayResult& result);

}  // namespace proctor::sim

#endif  // PROCTOR_SIM_REPLAY_REPLAY_H_
