#include "sim/trace/json_codec.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "runtime/model/channel_types.h"
#include "runtime/model/check.h"
#include "runtime/model/container_types.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/ids.h"
#include "runtime/model/time.h"
#include "runtime/model/timer.h"
#include "runtime/model/vm_config.h"
#include "runtime/model/vm_types.h"

namespace proctor::sim {
namespace json_codec_internal {
// Converts to anything; only used in requires-expressions, so it is declared
// and never defined (outside the anonymous namespace, where clang accepts an
// undefined function).
struct AnyMember {
  template <typename T>
  operator T() const;
};
}  // namespace json_codec_internal

namespace {

using json = nlohmann::json;

// ---- What went wrong while decoding, and where ----

// `path` is relative to the value being decoded ("cid", "disks[2].image",
// empty for the value itself); each enclosing record prefixes its field name.
struct Problem {
  enum class Kind { kBadValue, kMissing, kUnexpected };
  Kind kind = Kind::kBadValue;
  std::string path;
  std::string what;
};
using MaybeProblem = std::optional<Problem>;

MaybeProblem Bad(std::string what) {
  return Problem{Problem::Kind::kBadValue, "", std::move(what)};
}

std::string JoinPath(absl::string_view head, absl::string_view tail) {
  if (tail.empty()) return std::string(head);
  if (tail.front() == '[') return absl::StrCat(head, tail);
  return absl::StrCat(head, ".", tail);
}

MaybeProblem Within(absl::string_view head, MaybeProblem problem) {
  if (problem) problem->path = JoinPath(head, problem->path);
  return problem;
}

// The offending value as it would be written, cut short (on a UTF-8
// boundary) so that a huge value cannot flood an error message.
std::string Shown(const json& j) {
  constexpr size_t kShownBytes = 64;
  std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() <= kShownBytes) return text;
  size_t cut = kShownBytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  text.resize(cut);
  text += "...";
  return text;
}

MaybeProblem Expected(absl::string_view what, const json& j) {
  return Bad(absl::StrCat("expected ", what, ", found ", Shown(j)));
}

absl::Status KindError(absl::string_view kind, const Problem& problem) {
  switch (problem.kind) {
    case Problem::Kind::kMissing:
      return absl::InvalidArgumentError(
          absl::StrCat(kind, ": missing field \"", problem.path, "\""));
    case Problem::Kind::kUnexpected:
      return absl::InvalidArgumentError(
          absl::StrCat(kind, ": unexpected field \"", problem.path, "\""));
    case Problem::Kind::kBadValue:
      break;
  }
  if (problem.path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(kind, ": ", problem.what));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(kind, ": field \"", problem.path, "\": ", problem.what));
}

// ---- Writing JSON text directly ----

// True when `bytes` can be written as a readable JSON string: valid UTF-8
// (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF) with
// no control characters (C0, DEL, C1) other than \n and \t.
bool IsPlainText(absl::string_view bytes) {
  const size_t n = bytes.size();
  size_t i = 0;
  auto cont = [&](size_t at, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    if (at >= n) return false;
    const auto c = static_cast<unsigned char>(bytes[at]);
    return c >= lo && c <= hi;
  };
  while (i < n) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) return false;
      ++i;
    } else if (c >= 0xC2 && c <= 0xDF) {
      // U+0080..U+009F are the C1 control characters.
      if (!cont(i + 1, c == 0xC2 ? 0xA0 : 0x80)) return false;
      i += 2;
    } else if (c == 0xE0) {
      if (!cont(i + 1, 0xA0) || !cont(i + 2)) return false;
      i += 3;
    } else if (c == 0xED) {
      if (!cont(i + 1, 0x80, 0x9F) || !cont(i + 2)) return false;
      i += 3;
    } else if (c >= 0xE1 && c <= 0xEF) {
      if (!cont(i + 1) || !cont(i + 2)) return false;
      i += 3;
    } else if (c == 0xF0) {
      if (!cont(i + 1, 0x90) || !cont(i + 2) || !cont(i + 3)) return false;
      i += 4;
    } else if (c >= 0xF1 && c <= 0xF3) {
      if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return false;
      i += 4;
    } else if (c == 0xF4) {
      if (!cont(i + 1, 0x80, 0x8F) || !cont(i + 2) || !cont(i + 3)) {
        return false;
      }
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

// `text` must be plain (IsPlainText) or one of the codec's own names. Runs
// of bytes that need no escape are appended whole: this is on the path of
// every trace line.
void AppendQuoted(absl::string_view text, std::string* out) {
  out->push_back('"');
  size_t run = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    absl::string_view escape;
    switch (ch) {
      case '"':
        escape = "\\\"";
        break;
      case '\\':
        escape = "\\\\";
        break;
      case '\n':
        escape = "\\n";
        break;
      case '\t':
        escape = "\\t";
        break;
      default:
        continue;
    }
    out->append(text.data() + run, i - run);
    out->append(escape.data(), escape.size());
    run = i + 1;
  }
  out->append(text.data() + run, text.size() - run);
  out->push_back('"');
}

void AppendKey(absl::string_view name, std::string* out) {
  out->push_back('"');
  out->append(name.data(), name.size());
  out->append("\":");
}

// ---- Reading JSON values ----

MaybeProblem ReadUnsigned(const json& j, uint64_t max, uint64_t* out) {
  const auto range = [max] { return absl::StrCat("an integer in 0..", max); };
  uint64_t value = 0;
  if (j.is_number_unsigned()) {
    value = j.get<uint64_t>();
  } else if (j.is_number_integer()) {
    const int64_t v = j.get<int64_t>();
    if (v < 0) return Expected(range(), j);
    value = static_cast<uint64_t>(v);
  } else {
    return Expected(range(), j);
  }
  if (value > max) return Expected(range(), j);
  *out = value;
  return std::nullopt;
}

MaybeProblem ReadSigned(const json& j, int64_t min, int64_t max, int64_t* out) {
  const auto range = [min, max] {
    return absl::StrCat("an integer in ", min, "..", max);
  };
  if (j.is_number_unsigned()) {
    const uint64_t v = j.get<uint64_t>();
    if (max < 0 || v > static_cast<uint64_t>(max)) return Expected(range(), j);
    *out = static_cast<int64_t>(v);
    return std::nullopt;
  }
  if (j.is_number_integer()) {
    const int64_t v = j.get<int64_t>();
    if (v < min || v > max) return Expected(range(), j);
    *out = v;
    return std::nullopt;
  }
  return Expected(range(), j);
}

MaybeProblem ReadName(const json& j, const std::string** out) {
  if (!j.is_string()) return Expected("a string", j);
  *out = j.get_ptr<const std::string*>();
  return std::nullopt;
}

MaybeProblem NotA(absl::string_view what, const json& j) {
  return Bad(absl::StrCat(Shown(j), " is not ", what));
}

MaybeProblem ReadBytes(const json& j, size_t max_bytes, std::string* out) {
  auto too_long = [max_bytes](size_t size) {
    return Bad(
        absl::StrCat(size, " bytes is more than the limit of ", max_bytes));
  };
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s.size() > max_bytes) return too_long(s.size());
    *out = s;
    return std::nullopt;
  }
  if (j.is_object() && j.size() == 1 && j.contains("base64")) {
    const json& encoded = j["base64"];
    if (!encoded.is_string()) {
      return Within("base64", Expected("a base64 string", encoded));
    }
    const auto& text = encoded.get_ref<const std::string&>();
    // Bounds the work before decoding: 4 characters per 3 bytes.
    if (text.size() > (max_bytes / 3 + 1) * 4) {
      return too_long(text.size() / 4 * 3);
    }
    std::string decoded;
    if (!absl::Base64Unescape(text, &decoded)) {
      return Within("base64", NotA("valid base64", encoded));
    }
    if (decoded.size() > max_bytes) return too_long(decoded.size());
    *out = std::move(decoded);
    return std::nullopt;
  }
  return Expected("a string or {\"base64\": ...}", j);
}

// ---- Codecs: how one C++ type is written and read ----
//
// Codec<T> has `static void Write(const T&, std::string*)` and
// `static MaybeProblem Read(const json&, T*)`. A codec whose values may be
// absent (an optional, a reply without a value) also has
// `static bool Present(const T&)` and `static void Clear(T*)`: an absent
// value is omitted from its record, and a missing member reads as absent.

template <typename T>
struct Codec;

// A value to decode into: the type's default, or Exit(0) for an exit status,
// which has none.
template <typename T>
T Blank() {
  if constexpr (std::is_same_v<T, ExitStatus>) {
    return ExitStatus::Exited(0);
  } else {
    return T{};
  }
}

template <typename Cx, typename T>
concept OmittableCodec = requires(const T& v, T* p) {
  { Cx::Present(v) } -> std::same_as<bool>;
  Cx::Clear(p);
};

// One field of a record: its JSON name, its member, and its codec.
template <typename C, typename M, typename Cx>
struct FieldDef {
  using Class = C;
  using Member = M;
  using CodecType = Cx;
  absl::string_view name;
  M C::*member;
};

// F("cid", &S::cid) uses Codec<M>; F<SignalsCodec>("mask", &S::mask) names
// the codec where the C++ type alone does not say how to write the field.
template <typename Cx = void, typename C, typename M>
constexpr auto F(absl::string_view name, M C::*member) {
  using Chosen = std::conditional_t<std::is_void_v<Cx>, Codec<M>, Cx>;
  return FieldDef<C, M, Chosen>{name, member};
}

// Schema<T>::kFields lists every field of T, in declaration order.
template <typename T>
struct Schema;

// The number of members of an aggregate, so that a field added to the model
// without a schema entry fails to compile instead of vanishing from traces.
using json_codec_internal::AnyMember;
template <typename T, typename... Members>
constexpr size_t CountMembers() {
  if constexpr (requires { T{Members{}..., AnyMember{}}; }) {
    return CountMembers<T, Members..., AnyMember>();
  } else {
    return sizeof...(Members);
  }
}

template <typename T>
constexpr void CheckSchemaComplete() {
  static_assert(
      std::tuple_size_v<decltype(Schema<T>::kFields)> == CountMembers<T>(),
      "a field of this type has no entry in its Schema");
}

template <typename Field, typename T>
void WriteField(const Field& field, const T& value, bool* first,
                std::string* out) {
  using Cx = typename Field::CodecType;
  using M = typename Field::Member;
  const M& member = value.*(field.member);
  if constexpr (OmittableCodec<Cx, M>) {
    if (!Cx::Present(member)) return;
  }
  if (!*first) out->push_back(',');
  *first = false;
  AppendKey(field.name, out);
  Cx::Write(member, out);
}

// Appends `"a":1,"b":2` (after a comma unless `first`).
template <typename T>
void WriteFields(const T& value, bool first, std::string* out) {
  CheckSchemaComplete<T>();
  std::apply(
      [&](const auto&... field) {
        (WriteField(field, value, &first, out), ...);
      },
      Schema<T>::kFields);
}

template <typename Field, typename T>
MaybeProblem ReadField(const Field& field, const json& object, T* value,
                       size_t* matched) {
  using Cx = typename Field::CodecType;
  using M = typename Field::Member;
  M& member = value->*(field.member);
  const auto it = object.find(field.name);
  if (it == object.end()) {
    if constexpr (OmittableCodec<Cx, M>) {
      Cx::Clear(&member);
      return std::nullopt;
    } else {
      return Problem{Problem::Kind::kMissing, std::string(field.name), ""};
    }
  }
  ++*matched;
  return Within(field.name, Cx::Read(*it, &member));
}

template <typename T>
constexpr bool IsSchemaField(absl::string_view name) {
  return std::apply(
      [name](const auto&... field) { return ((field.name == name) || ...); },
      Schema<T>::kFields);
}

// Reads every field of T from `object`, which may also hold `extra` (the
// "kind" of a top-level value) and nothing else.
template <typename T>
MaybeProblem ReadFields(const json& object, T* value,
                        absl::string_view extra = "") {
  CheckSchemaComplete<T>();
  if (!object.is_object()) return Expected("an object", object);
  size_t matched = 0;
  if (!extra.empty() && object.contains(extra)) ++matched;
  MaybeProblem problem;
  std::apply(
      [&](const auto&... field) {
        (void)((problem = ReadField(field, object, value, &matched),
                problem.has_value()) ||
               ...);
      },
      Schema<T>::kFields);
  if (problem) return problem;
  if (matched != object.size()) {
    for (const auto& [key, member] : object.items()) {
      if (key != extra && !IsSchemaField<T>(key)) {
        return Problem{Problem::Kind::kUnexpected, key, ""};
      }
    }
  }
  return std::nullopt;
}

// A record nested in another value: `{...}`.
template <typename T>
struct RecordCodec {
  static void Write(const T& value, std::string* out) {
    out->push_back('{');
    WriteFields(value, /*first=*/true, out);
    out->push_back('}');
  }
  static MaybeProblem Read(const json& j, T* value) {
    return ReadFields(j, value);
  }
};

// ---- Scalars ----

template <>
struct Codec<bool> {
  static void Write(bool v, std::string* out) {
    out->append(v ? "true" : "false");
  }
  static MaybeProblem Read(const json& j, bool* v) {
    if (!j.is_boolean()) return Expected("true or false", j);
    *v = j.get<bool>();
    return std::nullopt;
  }
};

template <typename U>
requires std::is_unsigned_v<U>
struct UnsignedCodec {
  static void Write(U v, std::string* out) { absl::StrAppend(out, v); }
  static MaybeProblem Read(const json& j, U* v) {
    uint64_t value = 0;
    if (auto p = ReadUnsigned(j, std::numeric_limits<U>::max(), &value)) {
      return p;
    }
    *v = static_cast<U>(value);
    return std::nullopt;
  }
};
template <>
struct Codec<uint32_t> : UnsignedCodec<uint32_t> {};
template <>
struct Codec<uint64_t> : UnsignedCodec<uint64_t> {};

template <>
struct Codec<int64_t> {
  static void Write(int64_t v, std::string* out) { absl::StrAppend(out, v); }
  static MaybeProblem Read(const json& j, int64_t* v) {
    return ReadSigned(j, std::numeric_limits<int64_t>::min(),
                      std::numeric_limits<int64_t>::max(), v);
  }
};

template <typename Tag, typename Rep>
struct Codec<StrongId<Tag, Rep>> {
  static void Write(const StrongId<Tag, Rep>& id, std::string* out) {
    absl::StrAppend(out, id.value);
  }
  static MaybeProblem Read(const json& j, StrongId<Tag, Rep>* id) {
    return UnsignedCodec<Rep>::Read(j, &id->value);
  }
};

// Byte strings: readable text, or base64 when they are not.
template <>
struct Codec<std::string> {
  static void Write(const std::string& v, std::string* out) {
    AppendJsonBytes(v, out);
  }
  static MaybeProblem Read(const json& j, std::string* v) {
    return ReadBytes(j, kMaxJsonStringBytes, v);
  }
};

template <>
struct Codec<Instant> {
  static void Write(Instant t, std::string* out) { absl::StrAppend(out, t.ns); }
  static MaybeProblem Read(const json& j, Instant* t) {
    return Codec<int64_t>::Read(j, &t->ns);
  }
};

// Integer nanoseconds; "inf" and "-inf" for the infinite durations.
template <>
struct Codec<absl::Duration> {
  static void Write(absl::Duration d, std::string* out) {
    if (d == absl::InfiniteDuration()) {
      out->append("\"inf\"");
    } else if (d == -absl::InfiniteDuration()) {
      out->append("\"-inf\"");
    } else {
      absl::StrAppend(out, absl::ToInt64Nanoseconds(d));
    }
  }
  static MaybeProblem Read(const json& j, absl::Duration* d) {
    if (j.is_string()) {
      const auto& s = j.get_ref<const std::string&>();
      if (s == "inf") {
        *d = absl::InfiniteDuration();
        return std::nullopt;
      }
      if (s == "-inf") {
        *d = -absl::InfiniteDuration();
        return std::nullopt;
      }
    }
    int64_t ns = 0;
    if (j.is_number_integer()) {
      if (auto p = Codec<int64_t>::Read(j, &ns)) return p;
      *d = absl::Nanoseconds(ns);
      return std::nullopt;
    }
    return Expected("integer nanoseconds, \"inf\" or \"-inf\"", j);
  }
};

template <typename T>
struct Codec<std::optional<T>> {
  static bool Present(const std::optional<T>& v) { return v.has_value(); }
  static void Clear(std::optional<T>* v) { v->reset(); }
  static void Write(const std::optional<T>& v, std::string* out) {
    Codec<T>::Write(*v, out);
  }
  static MaybeProblem Read(const json& j, std::optional<T>* v) {
    v->emplace(Blank<T>());
    return Codec<T>::Read(j, &**v);
  }
};

template <typename T, size_t kMaxItems>
struct BoundedListCodec {
  static void Write(const std::vector<T>& items, std::string* out) {
    out->push_back('[');
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out->push_back(',');
      Codec<T>::Write(items[i], out);
    }
    out->push_back(']');
  }
  static MaybeProblem Read(const json& j, std::vector<T>* items) {
    if (!j.is_array()) return Expected("an array", j);
    if (j.size() > kMaxItems) {
      return Bad(absl::StrCat(j.size(), " items is more than the limit of ",
                              kMaxItems));
    }
    items->clear();
    items->resize(j.size());
    for (size_t i = 0; i < j.size(); ++i) {
      if (auto p = Codec<T>::Read(j[i], &(*items)[i])) {
        return Within(absl::StrCat("[", i, "]"), std::move(p));
      }
    }
    return std::nullopt;
  }
};
template <typename T>
struct Codec<std::vector<T>> : BoundedListCodec<T, kMaxJsonListItems> {};

// ---- Enums by their stable names ----

template <typename E, absl::string_view (*kNameOf)(E),
          std::optional<E> (*kParse)(absl::string_view)>
struct NamedEnumCodec {
  static void Write(E v, std::string* out) { AppendQuoted(kNameOf(v), out); }
  static MaybeProblem Read(const json& j, E* v, absl::string_view what) {
    const std::string* name = nullptr;
    if (auto p = ReadName(j, &name)) return p;
    const std::optional<E> parsed = kParse(*name);
    if (!parsed) return NotA(what, j);
    *v = *parsed;
    return std::nullopt;
  }
};

template <>
struct Codec<VmState> {
  using Named = NamedEnumCodec<VmState, &VmStateName, &ParseVmState>;
  static void Write(VmState v, std::string* out) { Named::Write(v, out); }
  static MaybeProblem Read(const json& j, VmState* v) {
    return Named::Read(j, v, "a VM state");
  }
};

template <>
struct Codec<PayloadState> {
  using Named =
      NamedEnumCodec<PayloadState, &PayloadStateName, &ParsePayloadState>;
  static void Write(PayloadState v, std::string* out) { Named::Write(v, out); }
  static MaybeProblem Read(const json& j, PayloadState* v) {
    return Named::Read(j, v, "a payload state");
  }
};

template <>
struct Codec<DeathReason> {
  using Named =
      NamedEnumCodec<DeathReason, &DeathReasonName, &ParseDeathReason>;
  static void Write(DeathReason v, std::string* out) { Named::Write(v, out); }
  static MaybeProblem Read(const json& j, DeathReason* v) {
    return Named::Read(j, v, "a death reason");
  }
};

std::optional<ChannelStatus> ParseChannelStatusName(absl::string_view name) {
  ChannelStatus status = ChannelStatus::kOk;
  if (!ParseChannelStatus(name, &status)) return std::nullopt;
  return status;
}
template <>
struct Codec<ChannelStatus> {
  using Named = NamedEnumCodec<ChannelStatus, &ChannelStatusName,
                               &ParseChannelStatusName>;
  static void Write(ChannelStatus v, std::string* out) { Named::Write(v, out); }
  static MaybeProblem Read(const json& j, ChannelStatus* v) {
    return Named::Read(j, v, "a channel status");
  }
};

std::optional<WakeSignal> ParseWakeSignal(absl::string_view name) {
  for (WakeSignal s : {WakeSignal::kAwake, WakeSignal::kAsleep}) {
    if (WakeSignalName(s) == name) return s;
  }
  return std::nullopt;
}
template <>
struct Codec<WakeSignal> {
  using Named = NamedEnumCodec<WakeSignal, &WakeSignalName, &ParseWakeSignal>;
  static void Write(WakeSignal v, std::string* out) { Named::Write(v, out); }
  static MaybeProblem Read(const json& j, WakeSignal* v) {
    return Named::Read(j, v, "a wake signal (AWAKE or ASLEEP)");
  }
};

std::optional<input::CopyDirection> ParseCopyDirection(absl::string_view name) {
  for (auto d : {input::CopyDirection::kIn, input::CopyDirection::kOut}) {
    if (input::CopyDirectionName(d) == name) return d;
  }
  return std::nullopt;
}
template <>
struct Codec<input::CopyDirection> {
  using Named = NamedEnumCodec<input::CopyDirection, &input::CopyDirectionName,
                               &ParseCopyDirection>;
  static void Write(input::CopyDirection v, std::string* out) {
    Named::Write(v, out);
  }
  static MaybeProblem Read(const json& j, input::CopyDirection* v) {
    return Named::Read(j, v, "a copy direction (in or out)");
  }
};

template <>
struct Codec<ContainerEvent::Kind> {
  using Named = NamedEnumCodec<ContainerEvent::Kind, &ContainerEventKindName,
                               &ParseContainerEventKind>;
  static void Write(ContainerEvent::Kind v, std::string* out) {
    Named::Write(v, out);
  }
  static MaybeProblem Read(const json& j, ContainerEvent::Kind* v) {
    return Named::Read(j, v, "a container event kind");
  }
};

template <>
struct Codec<TimerId> {
  static void Write(const TimerId& id, std::string* out) {
    AppendQuoted(FormatTimerId(id), out);
  }
  static MaybeProblem Read(const json& j, TimerId* id) {
    const std::string* text = nullptr;
    if (auto p = ReadName(j, &text)) return p;
    const std::optional<TimerId> parsed = ParseTimerId(*text);
    if (!parsed) return NotA("a timer id", j);
    *id = *parsed;
    return std::nullopt;
  }
};

// CN-2's printed form: "Exit(7)", "Signalled(SIGKILL)", "Signalled(77)".
template <>
struct Codec<ExitStatus> {
  static void Write(const ExitStatus& s, std::string* out) {
    AppendQuoted(FormatExitStatus(s), out);
  }
  static MaybeProblem Read(const json& j, ExitStatus* s) {
    const std::string* text = nullptr;
    if (auto p = ReadName(j, &text)) return p;
    const std::optional<ExitStatus> parsed = ParseExitStatus(*text);
    if (!parsed) return NotA("an exit status", j);
    *s = *parsed;
    return std::nullopt;
  }
};

// "READABLE|PEER_CLOSED", "NONE" for the empty set. Bits without a name in
// the model are written "BIT_<n>" so that no bit is lost.
struct SignalsCodec {
  static constexpr absl::string_view kBitPrefix = "BIT_";
  static Signals Named() {
    Signals all = kSignalNone;
    for (int bit = 0; bit < 32; ++bit) {
      Signals parsed = kSignalNone;
      const Signals one = Signals{1} << bit;
      if (FormatSignals(one) != "NONE" &&
          ParseSignals(FormatSignals(one), &parsed)) {
        all |= parsed;
      }
    }
    return all;
  }
  static void Write(Signals s, std::string* out) {
    static const Signals kNamed = Named();
    std::string text = FormatSignals(s & kNamed);
    const Signals unnamed = s & ~kNamed;
    if (unnamed != 0) {
      if (text == "NONE") text.clear();
      for (int bit = 0; bit < 32; ++bit) {
        if (unnamed & (Signals{1} << bit)) {
          absl::StrAppend(&text, text.empty() ? "" : "|", kBitPrefix, bit);
        }
      }
    }
    AppendQuoted(text, out);
  }
  static MaybeProblem Read(const json& j, Signals* s) {
    const std::string* text = nullptr;
    if (auto p = ReadName(j, &text)) return p;
    Signals result = kSignalNone;
    if (*text != "NONE") {
      for (absl::string_view part : absl::StrSplit(*text, '|')) {
        Signals one = kSignalNone;
        int bit = -1;
        if (absl::ConsumePrefix(&part, kBitPrefix) && !part.empty() &&
            part.size() <= 2 && absl::SimpleAtoi(part, &bit) && bit >= 0 &&
            bit < 32) {
          one = Signals{1} << bit;
        } else if (part == "NONE" || !ParseSignals(part, &one)) {
          return NotA("a set of signals (e.g. \"READABLE|PEER_CLOSED\")", j);
        }
        result |= one;
      }
    }
    *s = result;
    return std::nullopt;
  }
};

// A signal number: its name when it has one ("SIGTERM"), else the number.
struct SignalNumberCodec {
  static void Write(int signal, std::string* out) {
    if (auto name = SignalName(signal)) {
      AppendQuoted(*name, out);
    } else {
      absl::StrAppend(out, signal);
    }
  }
  static MaybeProblem Read(const json& j, int* signal) {
    if (j.is_string()) {
      const std::optional<int> number =
          SignalFromName(j.get_ref<const std::string&>());
      if (!number) return NotA("a signal name", j);
      *signal = *number;
      return std::nullopt;
    }
    int64_t value = 0;
    if (auto p = ReadSigned(j, std::numeric_limits<int>::min(),
                            std::numeric_limits<int>::max(), &value)) {
      return Expected("a signal name or number", j);
    }
    *signal = static_cast<int>(value);
    return std::nullopt;
  }
};

// "OK", or {"code":"NOT_FOUND","message":"..."}.
template <>
struct Codec<absl::Status> {
  static constexpr int kCodes = 17;  // OK..UNAUTHENTICATED
  static void Write(const absl::Status& status, std::string* out) {
    if (status.ok()) {
      out->append("\"OK\"");
      return;
    }
    out->append("{\"code\":");
    AppendQuoted(absl::StatusCodeToString(status.code()), out);
    out->append(",\"message\":");
    AppendJsonBytes(status.message(), out);
    out->push_back('}');
  }
  static MaybeProblem Read(const json& j, absl::Status* status) {
    if (j.is_string() && j.get_ref<const std::string&>() == "OK") {
      *status = absl::OkStatus();
      return std::nullopt;
    }
    if (!j.is_object()) {
      return Expected("\"OK\" or {\"code\": ..., \"message\": ...}", j);
    }
    const auto code_it = j.find("code");
    if (code_it == j.end()) return Problem{Problem::Kind::kMissing, "code", ""};
    const auto message_it = j.find("message");
    if (message_it == j.end()) {
      return Problem{Problem::Kind::kMissing, "message", ""};
    }
    for (const auto& [key, member] : j.items()) {
      if (key != "code" && key != "message") {
        return Problem{Problem::Kind::kUnexpected, key, ""};
      }
    }
    const std::string* name = nullptr;
    if (auto p = ReadName(*code_it, &name)) return Within("code", p);
    std::optional<absl::StatusCode> code;
    for (int i = 1; i < kCodes; ++i) {
      const auto c = static_cast<absl::StatusCode>(i);
      if (absl::StatusCodeToString(c) == *name) code = c;
    }
    if (!code) {
      return Within("code",
                    NotA("an error code (e.g. \"NOT_FOUND\")", *code_it));
    }
    std::string message;
    if (auto p = ReadBytes(*message_it, kMaxJsonStringBytes, &message)) {
      return Within("message", p);
    }
    *status = absl::Status(*code, message);
    return std::nullopt;
  }
};

// ---- Records ----

#define PROCTOR_SCHEMA(Type, ...)                                 \
  template <>                                                     \
  struct Schema<Type> {                                           \
    using S = Type;                                               \
    static constexpr auto kFields = std::make_tuple(__VA_ARGS__); \
  }

PROCTOR_SCHEMA(DiskImage, F("image", &S::image), F("writable", &S::writable));
template <>
struct Codec<DiskImage> : RecordCodec<DiskImage> {};

PROCTOR_SCHEMA(VmConfig, F("cid", &S::cid), F("bootloader", &S::bootloader),
               F("kernel", &S::kernel), F("initrd", &S::initrd),
               F("disks", &S::disks), F("params", &S::params),
               F("protected_vm", &S::protected_vm),
               F("memory_mib", &S::memory_mib), F("cpus", &S::cpus),
               F("cpu_affinity", &S::cpu_affinity),
               F("task_profiles", &S::task_profiles),
               F("console_sink", &S::console_sink), F("log_sink", &S::log_sink),
               F("platform_version", &S::platform_version),
               F("detect_hangup", &S::detect_hangup),
               F("hangup_timeout_ns", &S::hangup_timeout));
template <>
struct Codec<VmConfig> : RecordCodec<VmConfig> {};

PROCTOR_SCHEMA(ContainerSpec, F("owns_vm", &S::owns_vm),
               F("socket_relays", &S::socket_relays),
               F("port_start", &S::port_start), F("port_end", &S::port_end));
template <>
struct Codec<ContainerSpec> : RecordCodec<ContainerSpec> {};

PROCTOR_SCHEMA(MemoryEvent, F("low", &S::low), F("high", &S::high),
               F("max", &S::max), F("oom", &S::oom),
               F("oom_kill", &S::oom_kill));
template <>
struct Codec<MemoryEvent> : RecordCodec<MemoryEvent> {};

// A container event's memory counts are written when there are any.
struct EventMemoryCodec : RecordCodec<MemoryEvent> {
  static bool Present(const MemoryEvent& m) { return m != MemoryEvent{}; }
  static void Clear(MemoryEvent* m) { *m = MemoryEvent{}; }
};
// `status` is set iff the kind is exit and `memory` only for cgroup events,
// but each is written whenever it is set, so a runtime that breaks the rule
// is recorded as it is.
PROCTOR_SCHEMA(ContainerEvent, F("kind", &S::kind), F("status", &S::exit),
               F<EventMemoryCodec>("memory", &S::memory));
template <>
struct Codec<ContainerEvent> : RecordCodec<ContainerEvent> {};

PROCTOR_SCHEMA(StartupTiming, F("vm_boot_ns", &S::vm_boot),
               F("spec_build_ns", &S::spec_build),
               F("agent_connect_ns", &S::agent_connect),
               F("socket_relays_ns", &S::socket_relays),
               F("stdio_prepare_ns", &S::stdio_prepare),
               F("config_write_ns", &S::config_write),
               F("request_encode_ns", &S::request_encode),
               F("create_process_ns", &S::create_process),
               F("start_gate_wait_ns", &S::start_gate_wait),
               F("start_process_ns", &S::start_process),
               F("total_ns", &S::total));
template <>
struct Codec<StartupTiming> : RecordCodec<StartupTiming> {};

PROCTOR_SCHEMA(SuspendResult, F("woken_by", &S::woken_by), F("name", &S::name),
               F("slept_ns", &S::slept));
template <>
struct Codec<SuspendResult> : RecordCodec<SuspendResult> {};

// One event of a batch: {"container":3,"event":{"kind":"started"}}.
struct ContainerAndEvent {
  ContainerId container;
  ContainerEvent event;
};
PROCTOR_SCHEMA(ContainerAndEvent, F("container", &S::container),
               F("event", &S::event));
template <>
struct Codec<std::pair<ContainerId, ContainerEvent>> {
  static void Write(const std::pair<ContainerId, ContainerEvent>& item,
                    std::string* out) {
    RecordCodec<ContainerAndEvent>::Write({item.first, item.second}, out);
  }
  static MaybeProblem Read(const json& j,
                           std::pair<ContainerId, ContainerEvent>* item) {
    ContainerAndEvent read;
    if (auto p = RecordCodec<ContainerAndEvent>::Read(j, &read)) return p;
    *item = {read.container, read.event};
    return std::nullopt;
  }
};
PROCTOR_SCHEMA(EventBatch, F("events", &S::events), F("missed", &S::missed));
template <>
struct Codec<EventBatch> : RecordCodec<EventBatch> {};

// CH-1: a message's bytes and handles are bounded by the model.
struct MessageBytesCodec {
  static void Write(const std::string& bytes, std::string* out) {
    AppendJsonBytes(bytes, out);
  }
  static MaybeProblem Read(const json& j, std::string* bytes) {
    return ReadBytes(j, kMaxMessageBytes, bytes);
  }
};
using MessageHandlesCodec = BoundedListCodec<HandleId, kMaxMessageHandles>;
PROCTOR_SCHEMA(Message, F<MessageBytesCodec>("bytes", &S::bytes),
               F<MessageHandlesCodec>("handles", &S::handles));
template <>
struct Codec<Message> : RecordCodec<Message> {};

// A reply's value, tagged by its alternative; omitted when there is none.
template <>
struct Codec<ReplyValue> {
  static bool Present(const ReplyValue& v) {
    return !std::holds_alternative<std::monostate>(v);
  }
  static void Clear(ReplyValue* v) { *v = std::monostate{}; }

  static absl::string_view Tag(const ReplyValue& v) {
    struct Name {
      absl::string_view operator()(std::monostate) const { return ""; }
      absl::string_view operator()(const ExitStatus&) const {
        return "exit_status";
      }
      absl::string_view operator()(const SuspendResult&) const {
        return "suspend_result";
      }
      absl::string_view operator()(const StartupTiming&) const {
        return "startup_timing";
      }
      absl::string_view operator()(const EventBatch&) const {
        return "event_batch";
      }
      absl::string_view operator()(const std::string&) const { return "text"; }
    };
    return std::visit(Name{}, v);
  }

  static void Write(const ReplyValue& v, std::string* out) {
    out->push_back('{');
    AppendKey(Tag(v), out);
    std::visit(
        [out](const auto& value) {
          using T = std::decay_t<decltype(value)>;
          if constexpr (!std::is_same_v<T, std::monostate>) {
            Codec<T>::Write(value, out);
          }
        },
        v);
    out->push_back('}');
  }

  template <typename T>
  static MaybeProblem ReadAs(const json& j, ReplyValue* v) {
    T value = Blank<T>();
    if (auto p = Codec<T>::Read(j, &value)) return p;
    *v = std::move(value);
    return std::nullopt;
  }

  static MaybeProblem Read(const json& j, ReplyValue* v) {
    constexpr absl::string_view kExpected =
        "an object with one of \"exit_status\", \"suspend_result\", "
        "\"startup_timing\", \"event_batch\", \"text\"";
    if (!j.is_object() || j.size() != 1) return Expected(kExpected, j);
    const auto only = j.begin();
    const std::string& tag = only.key();
    const json& value = only.value();
    MaybeProblem problem;
    if (tag == "exit_status") {
      problem = ReadAs<ExitStatus>(value, v);
    } else if (tag == "suspend_result") {
      problem = ReadAs<SuspendResult>(value, v);
    } else if (tag == "startup_timing") {
      problem = ReadAs<StartupTiming>(value, v);
    } else if (tag == "event_batch") {
      problem = ReadAs<EventBatch>(value, v);
    } else if (tag == "text") {
      problem = ReadAs<std::string>(value, v);
    } else {
      return Expected(kExpected, j);
    }
    return Within(tag, std::move(problem));
  }
};

// ---- Inputs ----

PROCTOR_SCHEMA(input::CreateVm, F("request", &S::request),
               F("config", &S::config));
PROCTOR_SCHEMA(input::StartVm, F("request", &S::request), F("cid", &S::cid));
PROCTOR_SCHEMA(input::KillVm, F("request", &S::request), F("cid", &S::cid));
PROCTOR_SCHEMA(input::VmmSpawned, F("cid", &S::cid), F("error", &S::error));
PROCTOR_SCHEMA(input::VmmExited, F("cid", &S::cid), F("status", &S::status));
PROCTOR_SCHEMA(input::PayloadReported, F("cid", &S::cid),
               F("state", &S::state));
PROCTOR_SCHEMA(input::FailureReasonRead, F("cid", &S::cid),
               F("bytes", &S::bytes));
PROCTOR_SCHEMA(input::TimerFired, F("timer", &S::timer));
PROCTOR_SCHEMA(input::AddProxy, F("request", &S::request),
               F("proxy", &S::proxy),
               F("container_endpoint", &S::container_endpoint),
               F("remote_endpoint", &S::remote_endpoint),
               F("counter", &S::counter), F("name", &S::name));
PROCTOR_SCHEMA(input::EndpointSignalled, F("endpoint", &S::endpoint),
               F<SignalsCodec>("signals", &S::signals));
PROCTOR_SCHEMA(input::MessageRead, F("endpoint", &S::endpoint),
               F("status", &S::status), F("message", &S::message));
PROCTOR_SCHEMA(input::MessageWritten, F("endpoint", &S::endpoint),
               F("status", &S::status));
PROCTOR_SCHEMA(input::CounterAdded, F("counter", &S::counter),
               F("status", &S::status), F("value", &S::value));
PROCTOR_SCHEMA(input::CounterChanged, F("counter", &S::counter),
               F("value", &S::value));
PROCTOR_SCHEMA(input::RegisterWakeWatcher, F("request", &S::request),
               F("watcher", &S::watcher));
PROCTOR_SCHEMA(input::AddWakeSource, F("request", &S::request),
               F("source", &S::source), F("name", &S::name),
               F<SignalsCodec>("mask", &S::mask));
PROCTOR_SCHEMA(input::RemoveWakeSource, F("request", &S::request),
               F("source", &S::source));
PROCTOR_SCHEMA(input::HandleSignalled, F("handle", &S::handle),
               F<SignalsCodec>("signals", &S::signals));
PROCTOR_SCHEMA(input::SuspendContainer, F("request", &S::request));
PROCTOR_SCHEMA(input::InstallContainer, F("request", &S::request),
               F("container", &S::container), F("spec", &S::spec));
PROCTOR_SCHEMA(input::StartContainer, F("request", &S::request),
               F("container", &S::container));
PROCTOR_SCHEMA(input::VmBooted, F("container", &S::container),
               F("error", &S::error));
PROCTOR_SCHEMA(input::AgentConnected, F("container", &S::container),
               F("error", &S::error));
PROCTOR_SCHEMA(input::ProcessCreated, F("container", &S::container),
               F("error", &S::error));
PROCTOR_SCHEMA(input::ProcessStarted, F("container", &S::container),
               F("error", &S::error));
PROCTOR_SCHEMA(input::ContainerExited, F("container", &S::container),
               F("status", &S::status));
PROCTOR_SCHEMA(input::CgroupMemory, F("container", &S::container),
               F("event", &S::event));
PROCTOR_SCHEMA(input::WaitContainer, F("request", &S::request),
               F("container", &S::container));
PROCTOR_SCHEMA(input::StopContainer, F("request", &S::request),
               F("container", &S::container), F("grace_ns", &S::grace));
PROCTOR_SCHEMA(input::KillContainer, F("request", &S::request),
               F("container", &S::container),
               F<SignalNumberCodec>("signal", &S::signal));
PROCTOR_SCHEMA(input::UninstallContainer, F("request", &S::request),
               F("container", &S::container));
PROCTOR_SCHEMA(input::CopyFile, F("request", &S::request),
               F("container", &S::container), F("direction", &S::direction),
               F("guest_path", &S::guest_path));
PROCTOR_SCHEMA(input::AttachBlockDevice, F("request", &S::request),
               F("container", &S::container), F("slot", &S::slot));
PROCTOR_SCHEMA(input::SubscribeEvents, F("request", &S::request),
               F("subscriber", &S::subscriber));
PROCTOR_SCHEMA(input::PollEvents, F("request", &S::request),
               F("subscriber", &S::subscriber),
               F("max_events", &S::max_events));
PROCTOR_SCHEMA(input::UnsubscribeEvents, F("request", &S::request),
               F("subscriber", &S::subscriber));
PROCTOR_SCHEMA(input::Shutdown, F("request", &S::request));

// ---- Actions ----

PROCTOR_SCHEMA(action::Reply, F("request", &S::request),
               F("status", &S::status), F("value", &S::value));
PROCTOR_SCHEMA(action::VmStateChanged, F("cid", &S::cid),
               F("state", &S::state));
PROCTOR_SCHEMA(action::PayloadStateChanged, F("cid", &S::cid),
               F("state", &S::state));
PROCTOR_SCHEMA(action::GuestError, F("cid", &S::cid),
               F("message", &S::message));
PROCTOR_SCHEMA(action::SpawnVmm, F("cid", &S::cid), F("argv", &S::argv));
PROCTOR_SCHEMA(action::KillVmm, F("cid", &S::cid));
PROCTOR_SCHEMA(action::ReadFailureReason, F("cid", &S::cid),
               F("max_bytes", &S::max_bytes));
PROCTOR_SCHEMA(action::OnDied, F("cid", &S::cid), F("reason", &S::reason));
PROCTOR_SCHEMA(action::RemoveTempDir, F("cid", &S::cid));
PROCTOR_SCHEMA(action::ArmTimer, F("timer", &S::timer),
               F("deadline_ns", &S::deadline));
PROCTOR_SCHEMA(action::CancelTimer, F("timer", &S::timer));
PROCTOR_SCHEMA(action::ReadMessage, F("endpoint", &S::endpoint));
PROCTOR_SCHEMA(action::WriteMessage, F("endpoint", &S::endpoint),
               F("message", &S::message));
PROCTOR_SCHEMA(action::CloseEndpoint, F("endpoint", &S::endpoint));
PROCTOR_SCHEMA(action::CounterAdd, F("counter", &S::counter),
               F("delta", &S::delta));
PROCTOR_SCHEMA(action::ProxyStopped, F("proxy", &S::proxy));
PROCTOR_SCHEMA(action::WakeSourceAdded, F("source", &S::source),
               F("name", &S::name));
PROCTOR_SCHEMA(action::WakeSourceRemoved, F("source", &S::source));
PROCTOR_SCHEMA(action::SignalWatcher, F("watcher", &S::watcher),
               F("signal", &S::signal));
PROCTOR_SCHEMA(action::SuspendGuest);
PROCTOR_SCHEMA(action::ResumeGuest);
PROCTOR_SCHEMA(action::BootVm, F("container", &S::container),
               F("attempt", &S::attempt));
PROCTOR_SCHEMA(action::ConnectAgent, F("container", &S::container),
               F("attempt", &S::attempt));
PROCTOR_SCHEMA(action::StartSocketRelay, F("container", &S::container),
               F("port", &S::port));
PROCTOR_SCHEMA(action::CreateProcess, F("container", &S::container));
PROCTOR_SCHEMA(action::StartProcess, F("container", &S::container));
PROCTOR_SCHEMA(action::SignalContainer, F("container", &S::container),
               F<SignalNumberCodec>("signal", &S::signal));
PROCTOR_SCHEMA(action::WaitProcess, F("container", &S::container));
PROCTOR_SCHEMA(action::StopSocketRelays, F("container", &S::container));
PROCTOR_SCHEMA(action::DeleteProcess, F("container", &S::container));
PROCTOR_SCHEMA(action::StopVm, F("container", &S::container));
PROCTOR_SCHEMA(action::StartTransfer, F("container", &S::container),
               F("direction", &S::direction), F("port", &S::port),
               F("path", &S::path));
PROCTOR_SCHEMA(action::EmitContainerEvent, F("container", &S::container),
               F("event", &S::event));
PROCTOR_SCHEMA(action::ReleaseHostResources);
PROCTOR_SCHEMA(action::ShutdownComplete);

// ---- World facts ----

PROCTOR_SCHEMA(fact::ChannelCreated, F("a", &S::a), F("b", &S::b));
PROCTOR_SCHEMA(fact::PeerWrote, F("endpoint", &S::endpoint),
               F("message_id", &S::message_id));
PROCTOR_SCHEMA(fact::PeerReceived, F("endpoint", &S::endpoint),
               F("message_id", &S::message_id));
PROCTOR_SCHEMA(fact::PeerClosed, F("endpoint", &S::endpoint));
PROCTOR_SCHEMA(fact::ContainerHandled, F("counter", &S::counter),
               F("value", &S::value));
// The fault's kind is written "fault": "kind" names the value's own kind.
PROCTOR_SCHEMA(fact::FaultFired, F("fault", &S::kind), F("target", &S::target));

#undef PROCTOR_SCHEMA

// ---- Whole values: "kind" first, then the fields ----

template <typename Variant>
void AppendMembers(const Variant& value, std::string* out) {
  std::visit(
      [out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        static_assert(!IsSchemaField<T>("kind"), "\"kind\" names the kind");
        out->append("\"kind\":\"");
        out->append(T::kName.data(), T::kName.size());
        out->push_back('"');
        WriteFields(v, /*first=*/false, out);
      },
      value);
}

template <typename Variant>
using DecodeFn = absl::StatusOr<Variant> (*)(const json&);

template <typename Variant, typename T>
absl::StatusOr<Variant> DecodeKind(const json& j) {
  T value{};
  if (auto problem = ReadFields(j, &value, "kind")) {
    return KindError(T::kName, *problem);
  }
  return Variant(std::in_place_type<T>, std::move(value));
}

template <typename Variant>
using DecoderTable = absl::flat_hash_map<absl::string_view, DecodeFn<Variant>>;

template <typename Variant, typename T>
void AddDecoder(DecoderTable<Variant>* decoders) {
  const bool inserted =
      decoders->emplace(T::kName, &DecodeKind<Variant, T>).second;
  PROCTOR_CHECK(inserted);  // kNames are unique
}

// A plain function template rather than a templated lambda: clang 14 crashes
// on the lambda form (a pack of immediately invoked lambdas).
template <typename Variant, size_t... I>
void AddDecoders(DecoderTable<Variant>* decoders, std::index_sequence<I...>) {
  (AddDecoder<Variant, std::variant_alternative_t<I, Variant>>(decoders), ...);
}

template <typename Variant>
const DecoderTable<Variant>& Decoders() {
  static const auto* const kDecoders = [] {
    auto* decoders = new DecoderTable<Variant>();
    AddDecoders<Variant>(
        decoders, std::make_index_sequence<std::variant_size_v<Variant>>());
    return decoders;
  }();
  return *kDecoders;
}

template <typename Variant>
absl::StatusOr<Variant> Decode(const json& j, absl::string_view what) {
  if (!j.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected ", what, " as a JSON object, found ", Shown(j)));
  }
  const auto kind = j.find("kind");
  if (kind == j.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": missing field \"kind\""));
  }
  if (!kind->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": field \"kind\": expected a string, found ", Shown(*kind)));
  }
  const auto& name = kind->get_ref<const std::string&>();
  const auto& decoders = Decoders<Variant>();
  const auto it = decoders.find(name);
  if (it == decoders.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown ", what, " kind ", Shown(*kind)));
  }
  return it->second(j);
}

template <typename Variant>
json Encode(const Variant& value) {
  std::string text = "{";
  AppendMembers(value, &text);
  text.push_back('}');
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  PROCTOR_CHECK(!parsed.is_discarded());  // the writer writes valid JSON
  return parsed;
}

}  // namespace

void AppendJsonBytes(absl::string_view bytes, std::string* out) {
  if (IsPlainText(bytes)) {
    AppendQuoted(bytes, out);
    return;
  }
  out->append("{\"base64\":\"");
  out->append(absl::Base64Escape(bytes));
  out->append("\"}");
}

absl::StatusOr<std::string> DecodeJsonBytes(const nlohmann::json& json,
                                            size_t max_bytes) {
  std::string bytes;
  if (auto problem = ReadBytes(json, max_bytes, &bytes)) {
    if (problem->path.empty()) {
      return absl::InvalidArgumentError(problem->what);
    }
    return absl::InvalidArgumentError(
        absl::StrCat("field \"", problem->path, "\": ", problem->what));
  }
  return bytes;
}

void AppendInputMembers(const Input& input, std::string* out) {
  AppendMembers(input, out);
}
void AppendActionMembers(const Action& action, std::string* out) {
  AppendMembers(action, out);
}
void AppendFactMembers(const WorldFact& fact, std::string* out) {
  AppendMembers(fact, out);
}

nlohmann::json EncodeInput(const Input& input) { return Encode(input); }
nlohmann::json EncodeAction(const Action& action) { return Encode(action); }
nlohmann::json EncodeFact(const WorldFact& fact) { return Encode(fact); }

absl::StatusOr<Input> DecodeInput(const nlohmann::json& json) {
  return Decode<Input>(json, "input");
}
absl::StatusOr<Action> DecodeAction(const nlohmann::json& json) {
  return Decode<Action>(json, "action");
}
absl::StatusOr<WorldFact> DecodeFact(const nlohmann::json& json) {
  return Decode<WorldFact>(json, "fact");
}

}  // namespace proctor::sim
