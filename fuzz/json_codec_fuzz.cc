// fuzz_json_codec: the JSON codec of inputs, actions and world facts on
// arbitrary JSON. The bytes are parsed as JSON with the trace reader's depth
// bound, then decoded as an input, an action and a fact. A refusal must be
// an InvalidArgumentError; a value that decodes must encode to JSON that
// decodes again, to a value that encodes to the same JSON and describes the
// same way (the codec claims to be lossless; the values have no operator==,
// so the canonical encoding and the independent one-line description stand
// in for equality).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_util.h"
#include "nlohmann/json.hpp"
#include "runtime/model/describe.h"
#include "sim/trace/json_codec.h"
#include "sim/trace/trace.h"

namespace {

using json = nlohmann::json;
using proctor::fuzz::Finding;
using proctor::fuzz::Shown;

constexpr absl::string_view kTarget = "json_codec";

struct TooDeep {};

// For messages only: never throws, whatever the strings hold.
std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The trace reader's parse (sim/trace/trace.cc): deeper JSON is refused
// before it is built.
bool ParseBounded(absl::string_view text, json* out) {
  try {
    *out = json::parse(text.begin(), text.end(),
                       [](int depth, json::parse_event_t, json&) {
                         if (depth > proctor::sim::TraceReader::kMaxJsonDepth) {
                           throw TooDeep{};
                         }
                         return true;
                       });
    return true;
  } catch (const TooDeep&) {
    return false;
  } catch (const json::exception&) {
    return false;
  }
}

std::string Describe(const proctor::Input& v) {
  return proctor::DescribeInput(v);
}
std::string Describe(const proctor::Action& v) {
  return proctor::DescribeAction(v);
}
std::string Describe(const proctor::sim::WorldFact& v) {
  return std::string(proctor::sim::FactName(v));
}

// One family of values (inputs, actions or facts) through the codec.
template <typename T, typename Decode, typename Encode>
void RoundTrip(absl::string_view family, const json& parsed, Decode decode,
               Encode encode) {
  absl::StatusOr<T> value = decode(parsed);
  if (!value.ok()) {
    if (value.status().code() != absl::StatusCode::kInvalidArgument) {
      Finding(kTarget,
              absl::StrCat("Decode", family, " failed with ",
                           value.status().ToString(),
                           ", not InvalidArgument, on: ", Shown(Dump(parsed))));
    }
    return;
  }
  const json encoded = encode(*value);
  absl::StatusOr<T> again = decode(encoded);
  if (!again.ok()) {
    Finding(kTarget,
            absl::StrCat("Encode", family, " wrote JSON that does not decode: ",
                         again.status().message(),
                         "\n--- input: ", Shown(Dump(parsed), 2000),
                         "\n--- encoded: ", Dump(encoded)));
  }
  const json encoded_again = encode(*again);
  if (encoded_again != encoded) {
    Finding(kTarget,
            absl::StrCat("the ", family, " changed in a round trip",
                         "\n--- input: ", Shown(Dump(parsed), 2000),
                         "\n--- encoded: ", Dump(encoded),
                         "\n--- encoded again: ", Dump(encoded_again)));
  }
  const std::string described = Describe(*value);
  const std::string described_again = Describe(*again);
  if (described != described_again) {
    Finding(kTarget, absl::StrCat("the ", family,
                                  " describes differently after a round trip",
                                  "\n--- input: ", Shown(Dump(parsed), 2000),
                                  "\n--- described: ", described,
                                  "\n--- described again: ", described_again));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  json parsed;
  if (!ParseBounded(
          absl::string_view(reinterpret_cast<const char*>(data), size),
          &parsed)) {
    return 0;
  }
  RoundTrip<proctor::Input>("Input", parsed, proctor::sim::DecodeInput,
                            proctor::sim::EncodeInput);
  RoundTrip<proctor::Action>("Action", parsed, proctor::sim::DecodeAction,
                             proctor::sim::EncodeAction);
  RoundTrip<proctor::sim::WorldFact>("Fact", parsed, proctor::sim::DecodeFact,
                                     proctor::sim::EncodeFact);
  return 0;
}
