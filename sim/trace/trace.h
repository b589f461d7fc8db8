// The versioned JSON Lines trace of one simulated run (docs/trace-format.md):
// a header line, one line per input, action and world fact in sequence
// order, and an end line with the event count, the hash chain and the
// verdict. The writer is an Observer; the hash chain over the exact event
// lines is what a determinism check compares, so it is computed whether or
// not the lines are written anywhere. The reader is bounded and strict, and
// every error names the line and what was expected there.
#ifndef PROCTOR_SIM_TRACE_TRACE_H_
#define PROCTOR_SIM_TRACE_TRACE_H_

#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "runtime/model/action.h"
#include "runtime/model/input.h"
#include "runtime/model/time.h"
#include "sim/observer.h"

namespace proctor::sim {

inline constexpr absl::string_view kTraceFormat = "proctor-trace";
inline constexpr int kTraceVersion = 1;

// The hash chain: h_0 = kTraceHashSeed (the FNV-1a-64 offset basis), and
// h_n = FNV-1a-64, continued from the offset basis, over the 8 bytes of
// h_{n-1} (little-endian) followed by the bytes of event line n without its
// newline.
inline constexpr uint64_t kTraceHashSeed = 0xcbf29ce484222325ULL;
uint64_t TraceHashStep(uint64_t previous, absl::string_view line);
// 16 lower-case hex digits.
std::string FormatTraceHash(uint64_t hash);

// Line 1 of a trace. `workload` is a JSON object chosen by the caller (a
// null workload is written as {}); `fault_plan` holds the plan's entries in
// their printed form.
struct TraceHeader {
  uint64_t seed = 0;
  bool swarm = false;
  std::optional<std::string> mutant;
  std::string sut = "reference";
  nlohmann::json workload = nlohmann::json::object();
  std::vector<std::string> fault_plan;
};

struct TraceEvent {
  uint64_t seq = 0;
  Instant t;
  enum Dir { kIn, kOut, kFact } dir = kIn;
  std::variant<Input, Action, WorldFact> value;
};
// "in", "out", "fact".
absl::string_view TraceDirName(TraceEvent::Dir dir);

// The last line. The verdict is "fail" exactly when there is a violation.
struct TraceEnd {
  uint64_t events = 0;
  uint64_t hash = kTraceHashSeed;
  std::optional<Violation> violation;
  bool passed() const { return !violation.has_value(); }
};

// Writes a trace to a stream, or only keeps the hash chain when the stream
// is null. Lines are written as they come; the stream is not owned and must
// outlive the writer. Call WriteHeader first (when writing), then let the
// world report events, then Finish once.
class TraceWriter : public Observer {
 public:
  // Memory kept for a determinism diff is bounded: lines beyond this many
  // bytes in total are not kept (kept_lines_complete() turns false).
  static constexpr size_t kMaxKeptLineBytes = size_t{256} << 20;

  explicit TraceWriter(std::ostream* out);

  void WriteHeader(const TraceHeader& header);

  void OnInput(uint64_t seq, Instant at, const Input& input) override;
  void OnAction(uint64_t seq, Instant at, const Action& action) override;
  void OnFact(uint64_t seq, Instant at, const WorldFact& fact) override;

  // Writes the end line: the verdict is "fail" iff `violation` is set.
  void Finish(const std::optional<Violation>& violation);

  // The hash chain after the events so far (h_n), and n.
  uint64_t hash() const { return hash_; }
  uint64_t events() const { return events_; }

  // Keep h_1..h_n (event_hashes()[i] is h_{i+1}) and the event lines, so
  // that a determinism check can find the first diverging event and show
  // both versions. Off by default; switch on before the first event.
  void set_keep_event_hashes(bool keep) { keep_event_hashes_ = keep; }
  void set_keep_lines(bool keep) { keep_lines_ = keep; }
  const std::vector<uint64_t>& event_hashes() const { return event_hashes_; }
  const std::vector<std::string>& lines() const { return lines_; }
  bool kept_lines_complete() const { return kept_lines_complete_; }

  // False once writing to the stream failed.
  bool ok() const { return out_ == nullptr || out_->good(); }

 private:
  void BeginEvent(uint64_t seq, Instant at, absl::string_view dir);
  void EndEvent();

  std::ostream* out_;
  std::string line_;  // reused for every event
  uint64_t hash_ = kTraceHashSeed;
  uint64_t events_ = 0;
  bool finished_ = false;
  bool keep_event_hashes_ = false;
  bool keep_lines_ = false;
  bool kept_lines_complete_ = true;
  size_t kept_line_bytes_ = 0;
  std::vector<uint64_t> event_hashes_;
  std::vector<std::string> lines_;
};

// The 1-based number of the first event whose hash differs between two runs
// (or that only one run has), nullopt when the chains are identical.
std::optional<uint64_t> FirstDivergingEvent(const std::vector<uint64_t>& a,
                                            const std::vector<uint64_t>& b);

// Reads a trace line by line. Errors are InvalidArgumentError and read
// "trace.jsonl:17: expected \"seq\" to be 17, found 19"; after an error the
// reader stays failed and returns the same error.
class TraceReader {
 public:
  static constexpr size_t kMaxLineBytes = size_t{1} << 20;
  static constexpr uint64_t kMaxEvents = 50'000'000;
  // Deeper JSON than this is rejected before it is built.
  static constexpr int kMaxJsonDepth = 32;

  // `name` prefixes every error message. `in` is not owned.
  explicit TraceReader(std::istream* in, std::string name = "trace.jsonl");

  // Line 1. Must be called once, before Next().
  absl::StatusOr<TraceHeader> ReadHeader();

  // The next event, or nullopt after the end line (then end() is set and
  // the end line's count and hash have been checked against the events). A
  // trace that stops without an end line is an error saying it is truncated.
  absl::StatusOr<std::optional<TraceEvent>> Next();

  const std::optional<TraceEnd>& end() const { return end_; }
  uint64_t events() const { return events_; }
  // The hash chain over the event lines read so far.
  uint64_t hash() const { return hash_; }
  // The number of the last line read.
  uint64_t line_number() const { return line_number_; }

 private:
  enum class LineResult { kLine, kEof, kError };
  // Reads the next line into line_ (without its newline).
  LineResult ReadLine();
  absl::Status Fail(absl::string_view what);
  absl::StatusOr<std::optional<TraceEvent>> ParseEventLine();
  absl::Status ParseEndLine(nlohmann::json& line);
  absl::Status CheckNothingAfterEnd();

  std::istream* in_;
  std::string name_;
  std::string line_;
  uint64_t line_number_ = 0;
  uint64_t events_ = 0;
  uint64_t hash_ = kTraceHashSeed;
  Instant last_t_;
  bool header_read_ = false;
  absl::Status error_;
  std::optional<TraceEnd> end_;
};

}  // namespace proctor::sim

#endif  // PROCTOR_SIM_TRACE_TRACE_H_
