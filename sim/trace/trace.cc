#include "sim/trace/trace.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <istream>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "runtime/model/check.h"
#include "sim/trace/json_codec.h"

namespace proctor::sim {
namespace {

using json = nlohmann::json;

constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

// Writes a string that Proctor itself chose (a mutant name, a fault plan
// entry) as a JSON string; invalid UTF-8 is replaced rather than thrown on.
std::string JsonText(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The offending value of an error message, cut short.
std::string Shown(const json& value) {
  constexpr size_t kShownBytes = 64;
  std::string text = JsonText(value);
  if (text.size() <= kShownBytes) return text;
  size_t cut = kShownBytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  text.resize(cut);
  return text + "...";
}

std::string ShownMember(const json& object, absl::string_view key) {
  const auto it = object.find(key);
  return it == object.end() ? "nothing" : Shown(*it);
}

struct TooDeep {};

// Parses one line; the depth bound keeps a line of "[[[[..." from building
// a million nested values.
absl::StatusOr<json> ParseJsonLine(absl::string_view line) {
  if (line.empty()) {
    return absl::InvalidArgumentError(
        "expected a JSON object, found an empty line");
  }
  try {
    return json::parse(line.begin(), line.end(),
                       [](int depth, json::parse_event_t, json&) {
                         if (depth > TraceReader::kMaxJsonDepth) {
                           throw TooDeep{};
                         }
                         return true;
                       });
  } catch (const TooDeep&) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a JSON object, found JSON nested deeper than ",
                     TraceReader::kMaxJsonDepth, " levels"));
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a JSON object, found invalid JSON (", e.what(), ")"));
  }
}

std::optional<uint64_t> AsUnsigned(const json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) {
    return static_cast<uint64_t>(value.get<int64_t>());
  }
  return std::nullopt;
}

std::optional<int64_t> AsSigned(const json& value) {
  if (value.is_number_unsigned()) {
    const uint64_t v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<int64_t>(v);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  return std::nullopt;
}

std::optional<uint64_t> ParseHash(const json& value) {
  if (!value.is_string()) return std::nullopt;
  const auto& text = value.get_ref<const std::string&>();
  if (text.size() != 16) return std::nullopt;
  uint64_t hash = 0;
  for (char c : text) {
    int digit = 0;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    hash = (hash << 4) | static_cast<uint64_t>(digit);
  }
  return hash;
}

// The first member of `object` not in `known`, if any.
std::optional<std::string> UnknownMember(
    const json& object, std::initializer_list<absl::string_view> known) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    bool found = false;
    for (absl::string_view k : known) found = found || it.key() == k;
    if (!found) return it.key();
  }
  return std::nullopt;
}

}  // namespace

uint64_t TraceHashStep(uint64_t previous, absl::string_view line) {
  uint64_t hash = kTraceHashSeed;
  for (int i = 0; i < 8; ++i) {
    hash ^= (previous >> (8 * i)) & 0xff;
    hash *= kFnvPrime;
  }
  for (char c : line) {
    hash ^= static_cast<unsigned char>(c);
    hash *= kFnvPrime;
  }
  return hash;
}

std::string FormatTraceHash(uint64_t hash) {
  return absl::StrFormat("%016x", hash);
}

absl::string_view TraceDirName(TraceEvent::Dir dir) {
  switch (dir) {
    case TraceEvent::kIn:
      return "in";
    case TraceEvent::kOut:
      return "out";
    case TraceEvent::kFact:
      return "fact";
  }
  return "?";
}

// ---- TraceWriter ----

TraceWriter::TraceWriter(std::ostream* out) : out_(out) {}

void TraceWriter::WriteHeader(const TraceHeader& header) {
  if (out_ == nullptr) return;
  PROCTOR_CHECK(header.workload.is_object() || header.workload.is_null());
  std::string line = absl::StrCat(
      "{\"format\":\"", kTraceFormat, "\",\"version\":", kTraceVersion,
      ",\"seed\":", header.seed, ",\"swarm\":", header.swarm ? "true" : "false",
      ",\"mutant\":", header.mutant ? JsonText(*header.mutant) : "null",
      ",\"sut\":", JsonText(header.sut), ",\"workload\":",
      header.workload.is_null() ? "{}" : JsonText(header.workload),
      ",\"fault_plan\":", JsonText(header.fault_plan), "}\n");
  out_->write(line.data(), static_cast<std::streamsize>(line.size()));
}

void TraceWriter::BeginEvent(uint64_t seq, Instant at, absl::string_view dir) {
  PROCTOR_CHECK(!finished_);
  line_.clear();
  absl::StrAppend(&line_, "{\"seq\":", seq, ",\"t_ns\":", at.ns, ",\"dir\":\"",
                  dir, "\",");
}

void TraceWriter::EndEvent() {
  line_.push_back('}');
  hash_ = TraceHashStep(hash_, line_);
  ++events_;
  if (keep_event_hashes_) event_hashes_.push_back(hash_);
  if (keep_lines_ && kept_lines_complete_) {
    if (kept_line_bytes_ + line_.size() > kMaxKeptLineBytes) {
      kept_lines_complete_ = false;
    } else {
      kept_line_bytes_ += line_.size();
      lines_.push_back(line_);
    }
  }
  if (out_ != nullptr) {
    line_.push_back('\n');
    out_->write(line_.data(), static_cast<std::streamsize>(line_.size()));
  }
}

void TraceWriter::OnInput(uint64_t seq, Instant at, const Input& input) {
  BeginEvent(seq, at, "in");
  AppendInputMembers(input, &line_);
  EndEvent();
}

void TraceWriter::OnAction(uint64_t seq, Instant at, const Action& action) {
  BeginEvent(seq, at, "out");
  AppendActionMembers(action, &line_);
  EndEvent();
}

void TraceWriter::OnFact(uint64_t seq, Instant at, const WorldFact& fact) {
  BeginEvent(seq, at, "fact");
  AppendFactMembers(fact, &line_);
  EndEvent();
}

void TraceWriter::Finish(const std::optional<Violation>& violation) {
  PROCTOR_CHECK(!finished_);
  finished_ = true;
  if (out_ == nullptr) return;
  std::string line =
      absl::StrCat("{\"end\":true,\"events\":", events_, ",\"hash\":\"",
                   FormatTraceHash(hash_), "\",\"verdict\":\"",
                   violation ? "fail" : "pass", "\",\"violation\":");
  if (violation) {
    line += "{\"rule\":";
    AppendJsonBytes(violation->rule, &line);
    line += ",\"message\":";
    AppendJsonBytes(violation->message, &line);
    absl::StrAppend(&line, ",\"seq\":", violation->seq,
                    ",\"t_ns\":", violation->at.ns, "}");
  } else {
    line += "null";
  }
  line += "}\n";
  out_->write(line.data(), static_cast<std::streamsize>(line.size()));
  out_->flush();
}

std::optional<uint64_t> FirstDivergingEvent(const std::vector<uint64_t>& a,
                                            const std::vector<uint64_t>& b) {
  const size_t common = std::min(a.size(), b.size());
  for (size_t i = 0; i < common; ++i) {
    if (a[i] != b[i]) return i + 1;
  }
  if (a.size() != b.size()) return common + 1;
  return std::nullopt;
}

// ---- TraceReader ----

TraceReader::TraceReader(std::istream* in, std::string name)
    : in_(in), name_(std::move(name)) {}

absl::Status TraceReader::Fail(absl::string_view what) {
  error_ = absl::InvalidArgumentError(
      absl::StrCat(name_, ":", line_number_, ": ", what));
  return error_;
}

TraceReader::LineResult TraceReader::ReadLine() {
  line_.clear();
  std::streambuf* buffer = in_ == nullptr ? nullptr : in_->rdbuf();
  if (buffer == nullptr) return LineResult::kEof;
  using Traits = std::char_traits<char>;
  int c = buffer->sbumpc();
  if (Traits::eq_int_type(c, Traits::eof())) return LineResult::kEof;
  ++line_number_;
  while (!Traits::eq_int_type(c, Traits::eof()) && c != '\n') {
    if (line_.size() == kMaxLineBytes) {
      Fail(absl::StrCat("expected a line of at most ", kMaxLineBytes,
                        " bytes, found a longer one"))
          .IgnoreError();  // kept in error_
      return LineResult::kError;
    }
    if (c == 0) {
      // JSON text never holds a raw NUL, and the JSON parser would take it
      // for the end of the line and ignore what follows.
      Fail(absl::StrCat("expected JSON text, found a NUL byte at column ",
                        line_.size() + 1))
          .IgnoreError();  // kept in error_
      return LineResult::kError;
    }
    line_.push_back(Traits::to_char_type(c));
    c = buffer->sbumpc();
  }
  return LineResult::kLine;
}

absl::StatusOr<TraceHeader> TraceReader::ReadHeader() {
  if (!error_.ok()) return error_;
  if (header_read_) {
    return absl::FailedPreconditionError("the header was already read");
  }
  header_read_ = true;
  switch (ReadLine()) {
    case LineResult::kError:
      return error_;
    case LineResult::kEof:
      line_number_ = 1;
      return Fail("expected the header line, found an empty file");
    case LineResult::kLine:
      break;
  }
  absl::StatusOr<json> parsed = ParseJsonLine(line_);
  if (!parsed.ok()) return Fail(parsed.status().message());
  const json& header = *parsed;
  if (!header.is_object()) {
    return Fail(
        absl::StrCat("expected the header object, found ", Shown(header)));
  }
  const auto format = header.find("format");
  if (format == header.end() || !format->is_string() ||
      format->get_ref<const std::string&>() != kTraceFormat) {
    return Fail(absl::StrCat("expected \"format\" to be \"", kTraceFormat,
                             "\", found ", ShownMember(header, "format")));
  }
  const auto version = header.find("version");
  if (version == header.end() || !version->is_number_integer()) {
    return Fail(absl::StrCat("expected \"version\" to be ", kTraceVersion,
                             ", found ", ShownMember(header, "version")));
  }
  if (*version != kTraceVersion) {
    return Fail(absl::StrCat("trace version ", Shown(*version),
                             " is not supported (this proctor reads version ",
                             kTraceVersion, ")"));
  }
  if (auto unknown =
          UnknownMember(header, {"format", "version", "seed", "swarm", "mutant",
                                 "sut", "workload", "fault_plan"})) {
    return Fail(
        absl::StrCat("unexpected member \"", *unknown, "\" in the header"));
  }
  auto expected = [&](absl::string_view key, absl::string_view what) {
    return Fail(absl::StrCat("expected \"", key, "\" to be ", what, ", found ",
                             ShownMember(header, key)));
  };
  TraceHeader result;
  const auto seed = header.find("seed");
  std::optional<uint64_t> seed_value;
  if (seed != header.end()) seed_value = AsUnsigned(*seed);
  if (!seed_value) return expected("seed", "an unsigned integer");
  result.seed = *seed_value;
  const auto swarm = header.find("swarm");
  if (swarm == header.end() || !swarm->is_boolean()) {
    return expected("swarm", "true or false");
  }
  result.swarm = swarm->get<bool>();
  const auto mutant = header.find("mutant");
  if (mutant == header.end() || !(mutant->is_null() || mutant->is_string())) {
    return expected("mutant", "null or a mutant name");
  }
  if (mutant->is_string()) result.mutant = mutant->get<std::string>();
  const auto sut = header.find("sut");
  if (sut == header.end() || !sut->is_string()) {
    return expected("sut", "a string");
  }
  result.sut = sut->get<std::string>();
  const auto workload = header.find("workload");
  if (workload == header.end() || !workload->is_object()) {
    return expected("workload", "an object");
  }
  result.workload = *workload;
  const auto plan = header.find("fault_plan");
  if (plan == header.end() || !plan->is_array()) {
    return expected("fault_plan", "an array of strings");
  }
  for (const json& entry : *plan) {
    if (!entry.is_string()) {
      return expected("fault_plan", "an array of strings");
    }
    result.fault_plan.push_back(entry.get<std::string>());
  }
  return result;
}

absl::StatusOr<std::optional<TraceEvent>> TraceReader::Next() {
  if (!error_.ok()) return error_;
  if (!header_read_) {
    return absl::FailedPreconditionError(
        "ReadHeader must be called before Next");
  }
  if (end_) return std::nullopt;
  switch (ReadLine()) {
    case LineResult::kError:
      return error_;
    case LineResult::kEof:
      ++line_number_;
      return Fail(absl::StrCat(
          "the trace is truncated: expected an event or the end line, found "
          "the end of the file after ",
          events_, " events"));
    case LineResult::kLine:
      break;
  }
  return ParseEventLine();
}

absl::StatusOr<std::optional<TraceEvent>> TraceReader::ParseEventLine() {
  absl::StatusOr<json> parsed = ParseJsonLine(line_);
  if (!parsed.ok()) return Fail(parsed.status().message());
  json& line = *parsed;
  if (!line.is_object()) {
    return Fail(
        absl::StrCat("expected an event or the end line, found ", Shown(line)));
  }
  if (line.contains("end")) {
    if (absl::Status status = ParseEndLine(line); !status.ok()) return status;
    if (absl::Status status = CheckNothingAfterEnd(); !status.ok()) {
      return status;
    }
    return std::nullopt;
  }
  if (events_ >= kMaxEvents) {
    return Fail(absl::StrCat("expected the end line after at most ", kMaxEvents,
                             " events, found another event"));
  }
  TraceEvent event;
  const uint64_t expected_seq = events_ + 1;
  const auto seq = line.find("seq");
  const std::optional<uint64_t> seq_value =
      seq == line.end() ? std::nullopt : AsUnsigned(*seq);
  if (!seq_value || *seq_value != expected_seq) {
    return Fail(absl::StrCat("expected \"seq\" to be ", expected_seq,
                             ", found ", ShownMember(line, "seq")));
  }
  event.seq = *seq_value;
  const auto t = line.find("t_ns");
  const std::optional<int64_t> t_value =
      t == line.end() ? std::nullopt : AsSigned(*t);
  if (!t_value || *t_value < last_t_.ns) {
    return Fail(absl::StrCat("expected \"t_ns\" to be an integer of at least ",
                             last_t_.ns, ", found ",
                             ShownMember(line, "t_ns")));
  }
  event.t = Instant::FromNanos(*t_value);
  const auto dir = line.find("dir");
  if (dir != line.end() && *dir == "in") {
    event.dir = TraceEvent::kIn;
  } else if (dir != line.end() && *dir == "out") {
    event.dir = TraceEvent::kOut;
  } else if (dir != line.end() && *dir == "fact") {
    event.dir = TraceEvent::kFact;
  } else {
    return Fail(absl::StrCat(
        "expected \"dir\" to be \"in\", \"out\" or \"fact\", found ",
        ShownMember(line, "dir")));
  }
  line.erase("seq");
  line.erase("t_ns");
  line.erase("dir");
  switch (event.dir) {
    case TraceEvent::kIn: {
      absl::StatusOr<Input> input = DecodeInput(line);
      if (!input.ok()) return Fail(input.status().message());
      event.value = *std::move(input);
      break;
    }
    case TraceEvent::kOut: {
      absl::StatusOr<Action> action = DecodeAction(line);
      if (!action.ok()) return Fail(action.status().message());
      event.value = *std::move(action);
      break;
    }
    case TraceEvent::kFact: {
      absl::StatusOr<WorldFact> fact = DecodeFact(line);
      if (!fact.ok()) return Fail(fact.status().message());
      event.value = *std::move(fact);
      break;
    }
  }
  hash_ = TraceHashStep(hash_, line_);
  ++events_;
  last_t_ = event.t;
  return event;
}

absl::Status TraceReader::ParseEndLine(json& line) {
  if (auto unknown = UnknownMember(
          line, {"end", "events", "hash", "verdict", "violation"})) {
    return Fail(
        absl::StrCat("unexpected member \"", *unknown, "\" in the end line"));
  }
  auto expected = [&](absl::string_view key, absl::string_view what) {
    return Fail(absl::StrCat("expected \"", key, "\" to be ", what, ", found ",
                             ShownMember(line, key)));
  };
  if (line["end"] != true) return expected("end", "true");
  TraceEnd end;
  const auto events = line.find("events");
  const std::optional<uint64_t> count =
      events == line.end() ? std::nullopt : AsUnsigned(*events);
  if (!count || *count != events_) {
    return expected("events", absl::StrCat(events_));
  }
  end.events = *count;
  const auto hash = line.find("hash");
  const std::optional<uint64_t> hash_value =
      hash == line.end() ? std::nullopt : ParseHash(*hash);
  if (!hash_value || *hash_value != hash_) {
    return expected("hash", absl::StrCat("\"", FormatTraceHash(hash_),
                                         "\" (the hash of the events read)"));
  }
  end.hash = *hash_value;
  const auto verdict = line.find("verdict");
  if (verdict == line.end() || !(*verdict == "pass" || *verdict == "fail")) {
    return expected("verdict", "\"pass\" or \"fail\"");
  }
  const bool failed = *verdict == "fail";
  const auto violation = line.find("violation");
  if (violation == line.end()) {
    return expected("violation", "null or an object");
  }
  if (!failed) {
    if (!violation->is_null()) {
      return expected("violation", "null because \"verdict\" is \"pass\"");
    }
  } else {
    const json& v = *violation;
    constexpr absl::string_view kShape =
        "{\"rule\", \"message\", \"seq\", \"t_ns\"} because \"verdict\" is "
        "\"fail\"";
    if (!v.is_object() || v.size() != 4 || !v.contains("rule") ||
        !v.contains("message") || !v.contains("seq") || !v.contains("t_ns")) {
      return expected("violation", kShape);
    }
    Violation found;
    absl::StatusOr<std::string> rule =
        DecodeJsonBytes(v["rule"], kMaxJsonStringBytes);
    absl::StatusOr<std::string> message =
        DecodeJsonBytes(v["message"], kMaxJsonStringBytes);
    const std::optional<uint64_t> seq = AsUnsigned(v["seq"]);
    const std::optional<int64_t> t = AsSigned(v["t_ns"]);
    if (!rule.ok() || !message.ok() || !seq || !t) {
      return expected("violation", kShape);
    }
    found.rule = *std::move(rule);
    found.message = *std::move(message);
    found.seq = *seq;
    found.at = Instant::FromNanos(*t);
    end.violation = std::move(found);
  }
  end_ = std::move(end);
  return absl::OkStatus();
}

absl::Status TraceReader::CheckNothingAfterEnd() {
  const uint64_t end_line = line_number_;
  switch (ReadLine()) {
    case LineResult::kError:
      return error_;
    case LineResult::kEof:
      line_number_ = end_line;
      return absl::OkStatus();
    case LineResult::kLine:
      break;
  }
  end_.reset();
  return Fail(
      absl::StrCat("expected the end of the file after the end line "
                   "(line ",
                   end_line, "), found another line"));
}

}  // namespace proctor::sim
