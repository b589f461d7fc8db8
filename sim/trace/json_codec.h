// The JSON form of every input, action and world fact: what a trace line
// carries after its sequence number, time and direction, and what a scenario
// or another process can read and write (docs/trace-format.md). The encoding
// is lossless, and decoding is strict: an unknown kind, a missing, extra or
// mistyped field, an out-of-range number or an unknown enum name is an
// InvalidArgumentError that names the kind and the field, so a trace written
// by another producer fails at the first thing this proctor would misread.
//
// An encoded value is a JSON object whose "kind" is the stable kName and
// which has one member per field, named as the field:
//
//   {"kind":"vmm_exited","cid":5,"status":"Exit(33)"}
//   {"kind":"arm_timer","timer":"hangup/5","deadline_ns":10010000000}
//
// Ids are numbers; instants and durations are integer nanoseconds in members
// ending in `_ns` (an infinite duration is "inf" or "-inf"); absent optionals
// are omitted; enums are their stable names; byte strings are JSON strings
// when they are valid UTF-8 without control characters other than \n and \t,
// and {"base64":"..."} otherwise.
#ifndef PROCTOR_SIM_TRACE_JSON_CODEC_H_
#define PROCTOR_SIM_TRACE_JSON_CODEC_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "runtime/model/action.h"
#include "runtime/model/input.h"
#include "sim/observer.h"

namespace proctor::sim {

// Decoding bounds. Messages are bounded by the model (CH-1: kMaxMessageBytes,
// kMaxMessageHandles); every other byte string and every list by these.
inline constexpr size_t kMaxJsonStringBytes = 65536;
inline constexpr size_t kMaxJsonListItems = 65536;

nlohmann::json EncodeInput(const Input& input);
nlohmann::json EncodeAction(const Action& action);
nlohmann::json EncodeFact(const WorldFact& fact);

absl::StatusOr<Input> DecodeInput(const nlohmann::json& json);
absl::StatusOr<Action> DecodeAction(const nlohmann::json& json);
absl::StatusOr<WorldFact> DecodeFact(const nlohmann::json& json);

// The members of the encoded value, `"kind":"...",<fields>` without the
// enclosing braces, appended to `out` in declaration order. This is what the
// trace writer puts on a line; it builds no JSON objects, and Encode* are
// defined as the parse of its output, so both always agree.
void AppendInputMembers(const Input& input, std::string* out);
void AppendActionMembers(const Action& action, std::string* out);
void AppendFactMembers(const WorldFact& fact, std::string* out);

// A byte string as the codec writes it: a JSON string literal (quoted and
// escaped) or {"base64":"..."}.
void AppendJsonBytes(absl::string_view bytes, std::string* out);
// The inverse of AppendJsonBytes on a parsed value; an error says what was
// expected ("expected a string or {\"base64\": ...}, found 5").
absl::StatusOr<std::string> DecodeJsonBytes(const nlohmann::json& json,
                                            size_t max_bytes);

}  // namespace proctor::sim

#endif  // PROCTOR_SIM_TRACE_JSON_CODEC_H_
