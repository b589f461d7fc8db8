// fuzz_trace_reader: the trace reader on arbitrary bytes, read to the end.
// Any verdict on the bytes is fine; what must hold is the reader's contract
// (sim/trace/trace.h): errors are InvalidArgumentErrors naming the file,
// an error is sticky, and a trace read to its end line has the event count
// and hash chain that line states. A trace that reads to its end is also
// written again with TraceWriter and read back: the writer must be able to
// write whatever the reader accepts, and the copy must hold the same values.
// JSON text never holds a raw NUL byte (in a string it must be escaped), so
// a trace with one that reads to its end was read too leniently.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_util.h"
#include "nlohmann/json.hpp"
#include "sim/trace/json_codec.h"
#include "sim/trace/trace.h"

namespace {

using proctor::fuzz::Finding;
using proctor::fuzz::Shown;
using proctor::sim::TraceEvent;
using proctor::sim::TraceHeader;
using proctor::sim::TraceReader;

constexpr absl::string_view kTarget = "trace_reader";
constexpr absl::string_view kFile = "fuzz.jsonl";
constexpr absl::string_view kCopyFile = "copy.jsonl";

nlohmann::json Encoded(const TraceEvent& event) {
  return std::visit(
      [](const auto& value) -> nlohmann::json {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, proctor::Input>) {
          return proctor::sim::EncodeInput(value);
        } else if constexpr (std::is_same_v<T, proctor::Action>) {
          return proctor::sim::EncodeAction(value);
        } else {
          return proctor::sim::EncodeFact(value);
        }
      },
      event.value);
}

void CheckError(const absl::Status& status, absl::string_view file,
                absl::string_view input) {
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    Finding(kTarget, absl::StrCat("the reader failed with ", status.ToString(),
                                  ", not InvalidArgument, on: ", Shown(input)));
  }
  if (!absl::StartsWith(status.message(), absl::StrCat(file, ":"))) {
    Finding(kTarget,
            absl::StrCat("the error does not name the file '", file,
                         "': ", status.message(), "\non: ", Shown(input)));
  }
}

// What a reader made of a whole trace.
struct ReadTrace {
  TraceHeader header;
  std::vector<TraceEvent> events;
  proctor::sim::TraceEnd end;
  uint64_t hash = 0;
};

// Reads a trace to its end; nullopt (after checking the error, which goes to
// `error`) when the bytes are not one.
std::optional<ReadTrace> Read(const std::string& bytes, absl::string_view file,
                              std::string* error) {
  std::istringstream in(bytes);
  TraceReader reader(&in, std::string(file));
  ReadTrace trace;
  absl::StatusOr<TraceHeader> header = reader.ReadHeader();
  if (!header.ok()) {
    CheckError(header.status(), file, bytes);
    *error = std::string(header.status().message());
    return std::nullopt;
  }
  trace.header = *std::move(header);
  // The loop ends: every call consumes a line or fails for good, and the
  // input is finite.
  for (;;) {
    absl::StatusOr<std::optional<TraceEvent>> event = reader.Next();
    if (!event.ok()) {
      CheckError(event.status(), file, bytes);
      absl::StatusOr<std::optional<TraceEvent>> again = reader.Next();
      if (again.ok() || again.status() != event.status()) {
        Finding(kTarget,
                absl::StrCat("after the error '", event.status().message(),
                             "' the reader returned ",
                             again.ok() ? "a value" : again.status().ToString(),
                             "\non: ", Shown(bytes)));
      }
      *error = std::string(event.status().message());
      return std::nullopt;
    }
    if (!event->has_value()) break;
    if ((*event)->seq != trace.events.size() + 1) {
      Finding(kTarget, absl::StrCat("event ", trace.events.size() + 1,
                                    " was returned with seq ", (*event)->seq,
                                    "\non: ", Shown(bytes)));
    }
    trace.events.push_back(**std::move(event));
  }
  if (!reader.end().has_value()) {
    Finding(kTarget, absl::StrCat("Next() said the trace ended but end() is "
                                  "not set\non: ",
                                  Shown(bytes)));
  }
  trace.end = *reader.end();
  trace.hash = reader.hash();
  if (trace.end.events != trace.events.size() ||
      reader.events() != trace.events.size() || trace.end.hash != trace.hash) {
    Finding(kTarget,
            absl::StrCat("the end line says ", trace.end.events, " events, ",
                         proctor::sim::FormatTraceHash(trace.end.hash),
                         "; the reader returned ", trace.events.size(),
                         " events, counted ", reader.events(), ", hash ",
                         proctor::sim::FormatTraceHash(trace.hash),
                         "\non: ", Shown(bytes)));
  }
  return trace;
}

std::string Write(const ReadTrace& trace) {
  std::ostringstream out;
  proctor::sim::TraceWriter writer(&out);
  writer.WriteHeader(trace.header);
  for (const TraceEvent& event : trace.events) {
    std::visit(
        [&](const auto& value) {
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, proctor::Input>) {
            writer.OnInput(event.seq, event.t, value);
          } else if constexpr (std::is_same_v<T, proctor::Action>) {
            writer.OnAction(event.seq, event.t, value);
          } else {
            writer.OnFact(event.seq, event.t, value);
          }
        },
        event.value);
  }
  writer.Finish(trace.end.violation);
  return out.str();
}

bool SameHeader(const TraceHeader& a, const TraceHeader& b) {
  return a.seed == b.seed && a.swarm == b.swarm && a.mutant == b.mutant &&
         a.sut == b.sut && a.workload == b.workload &&
         a.fault_plan == b.fault_plan;
}

bool SameViolation(const std::optional<proctor::sim::Violation>& a,
                   const std::optional<proctor::sim::Violation>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a.has_value()) return true;
  return a->rule == b->rule && a->message == b->message && a->seq == b->seq &&
         a->at == b->at;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  std::string error;
  std::optional<ReadTrace> trace = Read(bytes, kFile, &error);
  if (!trace.has_value()) return 0;
  if (const size_t nul = bytes.find('\0'); nul != std::string::npos) {
    Finding(kTarget,
            absl::StrCat("the reader accepted a trace with a NUL byte at "
                         "offset ",
                         nul, " (not JSON Lines)\non: ", Shown(bytes, 2000)));
  }

  const std::string copy = Write(*trace);
  std::optional<ReadTrace> again = Read(copy, kCopyFile, &error);
  if (!again.has_value()) {
    Finding(kTarget, absl::StrCat("TraceWriter wrote a trace the reader "
                                  "refuses: ",
                                  error, "\n--- input:\n", Shown(bytes, 4000),
                                  "\n--- copy:\n", Shown(copy, 4000)));
  }
  auto differ = [&](absl::string_view what) {
    Finding(kTarget, absl::StrCat("the copy written by TraceWriter differs in ",
                                  what, "\n--- input:\n", Shown(bytes, 4000),
                                  "\n--- copy:\n", Shown(copy, 4000)));
  };
  if (!SameHeader(trace->header, again->header)) differ("the header");
  if (again->events.size() != trace->events.size()) differ("its events");
  for (size_t i = 0; i < trace->events.size(); ++i) {
    const TraceEvent& a = trace->events[i];
    const TraceEvent& b = again->events[i];
    if (a.seq != b.seq || a.t != b.t || a.dir != b.dir ||
        a.value.index() != b.value.index() || Encoded(a) != Encoded(b)) {
      differ(absl::StrCat("event ", i + 1));
    }
  }
  if (!SameViolation(trace->end.violation, again->end.violation)) {
    differ("the violation");
  }
  return 0;
}
