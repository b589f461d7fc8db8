// Turns a Proctor trace (docs/trace-format.md) into a timeline in the Chrome
// trace-event JSON format, which ui.perfetto.dev and chrome://tracing open
// (docs/timeline.md): one track per VM, container and proxy, plus the
// supervisor's power, request and fault tracks, with states as slices and
// faults, deaths and the violation as instants. Every slice and instant
// carries the trace events it came from, so a reader can click from the
// picture back to the trace lines.
//
// The conversion streams: a slice is written when it closes, so memory holds
// only the open slices, never the whole trace. The same trace always gives
// the same bytes.
#ifndef PROCTOR_SIM_TIMELINE_PERFETTO_H_
#define PROCTOR_SIM_TIMELINE_PERFETTO_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "sim/trace/trace.h"

namespace proctor::sim {

// A timeline viewer loads the whole file into the browser's memory; traces
// beyond this many events are refused rather than turned into a file no
// viewer can open.
inline constexpr uint64_t kMaxTimelineEvents = 5'000'000;
// Tracks: one per VM, container and proxy, one per concurrently open request
// (lanes), and the supervisor's fixed ones.
inline constexpr size_t kMaxTimelineTracks = 1'000'000;
// The bytes held for slices that have begun but not ended (their first
// event's JSON), so that a trace that opens requests and never replies cannot
// exhaust memory.
inline constexpr size_t kMaxTimelineOpenBytes = size_t{256} << 20;

struct PerfettoOptions {
  // Prefixes the errors the converter itself reports (the reader prefixes its
  // own); pass the same name as to the TraceReader.
  std::string trace_name = "trace.jsonl";
  // The limits; tests lower them.
  uint64_t max_events = kMaxTimelineEvents;
  size_t max_tracks = kMaxTimelineTracks;
  size_t max_open_bytes = kMaxTimelineOpenBytes;
};

struct PerfettoStats {
  uint64_t events = 0;    // trace events read
  uint64_t tracks = 0;    // thread tracks named in the output
  uint64_t slices = 0;    // "X" events
  uint64_t instants = 0;  // "i" events, the violation included
  // The trace's end line: its verdict, and the violated rule on a fail.
  bool passed = true;
  std::optional<std::string> violated_rule;
};

// Reads the whole trace from `reader` (whose header must not have been read
// yet) and writes the timeline to `out`. Errors are InvalidArgumentError
// naming the file and line ("seed-7.jsonl:12: ..."): the reader's own (a
// truncated or corrupted trace, another version), or too many events, tracks
// or open slices. After an error `out` holds an incomplete file, so callers
// write to a temporary file and discard it. `stats` may be null.
absl::Status WritePerfettoTimeline(TraceReader& reader, std::ostream& out,
                                   const PerfettoOptions& options,
                                   PerfettoStats* stats);

}  // namespace proctor::sim

#endif  // PROCTOR_SIM_TIMELINE_PERFETTO_H_
