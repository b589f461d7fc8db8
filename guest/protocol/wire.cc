#include "guest/protocol/wire.h"

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace proctor::guest {
namespace {

constexpr std::string_view kCrcKey = " crc=";
constexpr size_t kCrcDigits = 8;
constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr std::string_view kUpperHexDigits = "0123456789ABCDEF";
// How much of a bad value an error message shows.
constexpr size_t kShownBytes = 32;

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int UpperHexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Text values: printable ASCII but '%' and space stand for themselves; every
// other byte is %XX. Spaces separate fields, so they are always escaped.
bool NeedsEscape(unsigned char c) { return c < 0x21 || c > 0x7E || c == '%'; }

std::string EscapeText(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (NeedsEscape(c)) {
      out.push_back('%');
      out.push_back(kUpperHexDigits[c >> 4]);
      out.push_back(kUpperHexDigits[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' || c == '-';
}

bool IsCodeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

template <typename Pred>
bool AllOf(std::string_view s, Pred pred) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

WireError Error(WireErrorKind kind, size_t column, std::string detail) {
  return WireError{kind, column, std::move(detail)};
}

std::string Quoted(std::string_view bytes) {
  return "\"" + ShowBytes(bytes, kShownBytes) + "\"";
}

// ---- Encoding ----

class LineBuilder {
 public:
  explicit LineBuilder(std::string_view type) {
    line_.append(kLinePrefix);
    line_.append(type);
  }
  void Field(std::string_view key, std::string_view value) {
    line_.push_back(' ');
    line_.append(key);
    line_.push_back('=');
    line_.append(value);
  }
  void Number(std::string_view key, uint64_t value) {
    Field(key, std::to_string(value));
  }
  void Hex(std::string_view key, std::string_view bytes) {
    Field(key, HexEncode(bytes));
  }
  void Text(std::string_view key, std::string_view bytes) {
    Field(key, EscapeText(bytes));
  }
  // Checks the length and appends the line with its checksum to `*out`.
  std::optional<WireError> Finish(std::string* out) {
    const uint32_t crc = Crc32(line_);
    line_.append(kCrcKey);
    for (int shift = 28; shift >= 0; shift -= 4) {
      line_.push_back(kHexDigits[(crc >> shift) & 15]);
    }
    if (line_.size() > kMaxLineBytes) {
      return Error(WireErrorKind::kTooLong, kMaxLineBytes,
                   "the line would be " + std::to_string(line_.size()) +
                       " bytes; at most " + std::to_string(kMaxLineBytes));
    }
    line_.push_back('\n');
    out->append(line_);
    return std::nullopt;
  }

 private:
  std::string line_;
};

std::optional<WireError> CheckBytes(std::string_view field, size_t size,
                                    size_t max) {
  if (size <= max) return std::nullopt;
  return Error(WireErrorKind::kTooLarge, 0,
               "field " + std::string(field) + " has " + std::to_string(size) +
                   " bytes; at most " + std::to_string(max));
}

std::optional<WireError> CheckToken(std::string_view field,
                                    std::string_view value, size_t max,
                                    bool (*is_char)(char)) {
  if (value.empty() || value.size() > max || !AllOf(value, is_char)) {
    return Error(WireErrorKind::kBadField, 0,
                 "field " + std::string(field) + ": " + Quoted(value) +
                     " is not 1.." + std::to_string(max) +
                     " characters of its alphabet");
  }
  return std::nullopt;
}

// ---- Parsing ----

// Walks the space-separated fields of one line after its type word.
class FieldReader {
 public:
  FieldReader(std::string_view line, size_t pos, size_t end,
              std::string_view type)
      : line_(line), pos_(pos), end_(end), type_(type) {}

  // The value of the next field, which must be `key`.
  std::optional<WireError> Next(std::string_view key, std::string_view* value,
                                size_t* column) {
    if (pos_ >= end_) {
      return Error(WireErrorKind::kBadField, end_,
                   Type() + ": missing field \"" + std::string(key) + "\"");
    }
    // pos_ is at the space before the field.
    const size_t start = pos_ + 1;
    size_t stop = line_.find(' ', start);
    if (stop == std::string_view::npos || stop > end_) stop = end_;
    const std::string_view field = line_.substr(start, stop - start);
    if (field.size() <= key.size() || field.substr(0, key.size()) != key ||
        field[key.size()] != '=') {
      return Error(WireErrorKind::kBadField, start,
                   Type() + ": expected field \"" + std::string(key) +
                       "=\", found " + Quoted(field));
    }
    *value = field.substr(key.size() + 1);
    *column = start + key.size() + 1;
    pos_ = stop;
    return std::nullopt;
  }

  std::optional<WireError> End() {
    if (pos_ >= end_) return std::nullopt;
    const std::string_view rest = line_.substr(pos_ + 1, end_ - pos_ - 1);
    return Error(
        WireErrorKind::kBadField, pos_ + 1,
        Type() + ": unexpected " + Quoted(rest) + " after the last field");
  }

  std::string Field(std::string_view key) const {
    return Type() + " field " + std::string(key);
  }

 private:
  std::string Type() const { return std::string(type_); }

  std::string_view line_;
  size_t pos_;
  size_t end_;
  std::string_view type_;
};

// Decimal: "0" or no leading zero, digits only, at most `max`.
std::optional<WireError> ParseDecimal(const FieldReader& fields,
                                      std::string_view key,
                                      std::string_view text, size_t column,
                                      uint64_t max, uint64_t* value) {
  uint64_t parsed = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, parsed);
  const bool digits =
      !text.empty() && AllOf(text, [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || ec != std::errc() || ptr != end ||
      (text.size() > 1 && text[0] == '0')) {
    return Error(WireErrorKind::kBadField, column,
                 fields.Field(key) + ": " + Quoted(text) +
                     " is not a decimal number without leading zeros");
  }
  if (parsed > max) {
    return Error(WireErrorKind::kTooLarge, column,
                 fields.Field(key) + ": " + std::string(text) +
                     " is more than " + std::to_string(max));
  }
  *value = parsed;
  return std::nullopt;
}

std::optional<WireError> ParseHex(const FieldReader& fields,
                                  std::string_view key, std::string_view text,
                                  size_t column, size_t max_bytes,
                                  std::string* bytes) {
  // The bound comes first, so an oversized value is never decoded.
  if (text.size() / 2 > max_bytes) {
    return Error(WireErrorKind::kTooLarge, column,
                 fields.Field(key) + ": " + std::to_string(text.size() / 2) +
                     " bytes; at most " + std::to_string(max_bytes));
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (HexValue(text[i]) < 0) {
      return Error(WireErrorKind::kBadField, column + i,
                   fields.Field(key) + ": " + Quoted(text.substr(i, 1)) +
                       " is not a lower-case hex digit");
    }
  }
  if (text.size() % 2 != 0) {
    return Error(WireErrorKind::kBadField, column + text.size(),
                 fields.Field(key) + ": an odd number of hex digits (" +
                     std::to_string(text.size()) + ")");
  }
  std::string out(text.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>(HexValue(text[2 * i]) << 4 |
                               HexValue(text[2 * i + 1]));
  }
  *bytes = std::move(out);
  return std::nullopt;
}

std::optional<WireError> ParseText(const FieldReader& fields,
                                   std::string_view key, std::string_view text,
                                   size_t column, size_t max_bytes,
                                   std::string* bytes) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (out.size() >= max_bytes) {
      return Error(WireErrorKind::kTooLarge, column + i,
                   fields.Field(key) + ": more than " +
                       std::to_string(max_bytes) + " bytes");
    }
    if (c != '%') {
      if (NeedsEscape(c)) {
        return Error(WireErrorKind::kBadField, column + i,
                     fields.Field(key) + ": byte " + Quoted(text.substr(i, 1)) +
                         " must be %-escaped");
      }
      out.push_back(static_cast<char>(c));
      continue;
    }
    const int hi = i + 1 < text.size() ? UpperHexValue(text[i + 1]) : -1;
    const int lo = i + 2 < text.size() ? UpperHexValue(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return Error(WireErrorKind::kBadField, column + i,
                   fields.Field(key) + ": " + Quoted(text.substr(i, 3)) +
                       " is not % and two upper-case hex digits");
    }
    const auto decoded = static_cast<unsigned char>(hi << 4 | lo);
    if (!NeedsEscape(decoded)) {
      // One spelling per text keeps the encoding canonical.
      return Error(WireErrorKind::kBadField, column + i,
                   fields.Field(key) + ": " + Quoted(text.substr(i, 3)) +
                       " escapes a byte that must be written as itself");
    }
    out.push_back(static_cast<char>(decoded));
    i += 2;
  }
  *bytes = std::move(out);
  return std::nullopt;
}

std::optional<WireError> ParseToken(const FieldReader& fields,
                                    std::string_view key, std::string_view text,
                                    size_t column, size_t max,
                                    bool (*is_char)(char), std::string* out) {
  if (text.empty() || text.size() > max) {
    return Error(WireErrorKind::kBadField, column,
                 fields.Field(key) + ": " + Quoted(text) + " is not 1.." +
                     std::to_string(max) + " characters");
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (!is_char(text[i])) {
      return Error(WireErrorKind::kBadField, column + i,
                   fields.Field(key) + ": " + Quoted(text.substr(i, 1)) +
                       " is not allowed in a " + std::string(key));
    }
  }
  *out = std::string(text);
  return std::nullopt;
}

template <typename Enum, size_t N>
std::optional<WireError> ParseEnum(const FieldReader& fields,
                                   std::string_view key, std::string_view text,
                                   size_t column,
                                   const std::array<Enum, N>& values,
                                   std::string_view (*name)(Enum), Enum* out) {
  for (Enum value : values) {
    if (name(value) == text) {
      *out = value;
      return std::nullopt;
    }
  }
  std::string known;
  for (Enum value : values) {
    if (!known.empty()) known += ", ";
    known += name(value);
  }
  return Error(
      WireErrorKind::kBadField, column,
      fields.Field(key) + ": " + Quoted(text) + " is not one of " + known);
}

constexpr std::array<AgentMode, 2> kModes = {AgentMode::kInit,
                                             AgentMode::kTest};
constexpr std::array<AgentAction, 4> kActions = {
    AgentAction::kPowerOff, AgentAction::kReboot, AgentAction::kPanic,
    AgentAction::kHang};

// The checks every line gets before its type is looked at: prefix,
// version, checksum. On success, *body_end is where " crc=" starts and
// *type_end is the end of the type word.
std::optional<WireError> CheckFrame(std::string_view line, size_t* type_end,
                                    size_t* body_end) {
  if (line.substr(0, kProtocolMagic.size()) != kProtocolMagic) {
    return Error(
        WireErrorKind::kGarbage, 0,
        "not a protocol line (no \"PROCTOR/\" prefix): " + Quoted(line));
  }
  if (line.substr(0, kLinePrefix.size()) != kLinePrefix) {
    const size_t space = line.find(' ');
    return Error(WireErrorKind::kWrongVersion, kProtocolMagic.size(),
                 "unsupported protocol version " +
                     Quoted(line.substr(0, space)) + "; this side speaks " +
                     std::string(kLinePrefix.substr(0, 9)));
  }
  const size_t crc_at = line.rfind(kCrcKey);
  if (crc_at == std::string_view::npos || crc_at < kLinePrefix.size() ||
      line.size() - crc_at != kCrcKey.size() + kCrcDigits) {
    return Error(WireErrorKind::kBadChecksum, line.size(),
                 "the line does not end with \" crc=\" and 8 hex digits");
  }
  uint32_t said = 0;
  for (size_t i = crc_at + kCrcKey.size(); i < line.size(); ++i) {
    const int digit = HexValue(line[i]);
    if (digit < 0) {
      return Error(WireErrorKind::kBadChecksum, i,
                   "crc " + Quoted(line.substr(crc_at + kCrcKey.size())) +
                       " is not 8 lower-case hex digits");
    }
    said = said << 4 | static_cast<uint32_t>(digit);
  }
  const uint32_t computed = Crc32(line.substr(0, crc_at));
  if (said != computed) {
    std::string hex;
    for (int shift = 28; shift >= 0; shift -= 4) {
      hex.push_back(kHexDigits[(computed >> shift) & 15]);
    }
    return Error(WireErrorKind::kBadChecksum, crc_at + kCrcKey.size(),
                 "checksum mismatch: the line says crc=" +
                     std::string(line.substr(crc_at + kCrcKey.size())) +
                     ", its bytes give " + hex);
  }
  size_t end = line.find(' ', kLinePrefix.size());
  if (end == std::string_view::npos || end > crc_at) end = crc_at;
  if (end == kLinePrefix.size()) {
    return Error(WireErrorKind::kUnknownType, end, "no message type");
  }
  *type_end = end;
  *body_end = crc_at;
  return std::nullopt;
}

#define PROCTOR_WIRE_TRY(expr)                          \
  do {                                                  \
    if (std::optional<WireError> e = (expr)) return *e; \
  } while (0)

std::variant<Report, WireError> ParseReportBody(std::string_view type,
                                                FieldReader& f) {
  std::string_view v;
  size_t col = 0;
  if (type == "hello") {
    Hello hello;
    PROCTOR_WIRE_TRY(f.Next("agent", &v, &col));
    PROCTOR_WIRE_TRY(ParseToken(f, "agent", v, col, kMaxAgentNameBytes,
                                IsNameChar, &hello.agent));
    PROCTOR_WIRE_TRY(f.Next("mode", &v, &col));
    PROCTOR_WIRE_TRY(
        ParseEnum(f, "mode", v, col, kModes, AgentModeName, &hello.mode));
    PROCTOR_WIRE_TRY(f.Next("script", &v, &col));
    PROCTOR_WIRE_TRY(
        ParseText(f, "script", v, col, kMaxScriptBytes, &hello.script));
    PROCTOR_WIRE_TRY(f.End());
    return hello;
  }
  if (type == "started") {
    PROCTOR_WIRE_TRY(f.End());
    return Started{};
  }
  if (type == "ready") {
    PROCTOR_WIRE_TRY(f.End());
    return Ready{};
  }
  if (type == "finished") {
    uint64_t code = 0;
    PROCTOR_WIRE_TRY(f.Next("code", &v, &col));
    PROCTOR_WIRE_TRY(ParseDecimal(f, "code", v, col, kMaxExitCode, &code));
    PROCTOR_WIRE_TRY(f.End());
    return Finished{static_cast<uint32_t>(code)};
  }
  if (type == "ack") {
    Ack ack;
    PROCTOR_WIRE_TRY(f.Next("id", &v, &col));
    PROCTOR_WIRE_TRY(ParseDecimal(f, "id", v, col, UINT64_MAX, &ack.id));
    PROCTOR_WIRE_TRY(f.End());
    return ack;
  }
  if (type == "msg") {
    GuestMessage msg;
    PROCTOR_WIRE_TRY(f.Next("id", &v, &col));
    PROCTOR_WIRE_TRY(ParseDecimal(f, "id", v, col, UINT64_MAX, &msg.id));
    PROCTOR_WIRE_TRY(f.Next("data", &v, &col));
    PROCTOR_WIRE_TRY(ParseHex(f, "data", v, col, kMaxMessageBytes, &msg.data));
    PROCTOR_WIRE_TRY(f.End());
    return msg;
  }
  if (type == "failure") {
    FailureWritten failure;
    PROCTOR_WIRE_TRY(f.Next("data", &v, &col));
    PROCTOR_WIRE_TRY(
        ParseHex(f, "data", v, col, kMaxFailureBytes, &failure.data));
    PROCTOR_WIRE_TRY(f.End());
    return failure;
  }
  if (type == "action") {
    ActionReport action;
    PROCTOR_WIRE_TRY(f.Next("do", &v, &col));
    PROCTOR_WIRE_TRY(
        ParseEnum(f, "do", v, col, kActions, AgentActionName, &action.action));
    PROCTOR_WIRE_TRY(f.End());
    return action;
  }
  if (type == "error") {
    AgentError error;
    PROCTOR_WIRE_TRY(f.Next("code", &v, &col));
    PROCTOR_WIRE_TRY(ParseToken(f, "code", v, col, kMaxErrorCodeBytes,
                                IsCodeChar, &error.code));
    PROCTOR_WIRE_TRY(f.Next("what", &v, &col));
    PROCTOR_WIRE_TRY(
        ParseText(f, "what", v, col, kMaxErrorTextBytes, &error.what));
    PROCTOR_WIRE_TRY(f.End());
    return error;
  }
  const size_t column = kLinePrefix.size();
  if (type == "run") {
    return Error(WireErrorKind::kUnknownType, column,
                 "\"run\" is a command (host to guest), not a report");
  }
  return Error(WireErrorKind::kUnknownType, column,
               "unknown report type " + Quoted(type));
}

std::variant<Command, WireError> ParseCommandBody(std::string_view type,
                                                  FieldReader& f) {
  std::string_view v;
  size_t col = 0;
  if (type == "msg") {
    HostMessage msg;
    PROCTOR_WIRE_TRY(f.Next("id", &v, &col));
    PROCTOR_WIRE_TRY(ParseDecimal(f, "id", v, col, UINT64_MAX, &msg.id));
    PROCTOR_WIRE_TRY(f.Next("data", &v, &col));
    PROCTOR_WIRE_TRY(ParseHex(f, "data", v, col, kMaxMessageBytes, &msg.data));
    PROCTOR_WIRE_TRY(f.End());
    return msg;
  }
  if (type == "run") {
    RunScript run;
    PROCTOR_WIRE_TRY(f.Next("script", &v, &col));
    PROCTOR_WIRE_TRY(
        ParseText(f, "script", v, col, kMaxScriptBytes, &run.script));
    PROCTOR_WIRE_TRY(f.End());
    return run;
  }
  const size_t column = kLinePrefix.size();
  for (std::string_view report : {"hello", "started", "ready", "finished",
                                  "ack", "failure", "action", "error"}) {
    if (type == report) {
      return Error(WireErrorKind::kUnknownType, column,
                   Quoted(type) +
                       " is a report (guest to host), not a "
                       "command");
    }
  }
  return Error(WireErrorKind::kUnknownType, column,
               "unknown command type " + Quoted(type));
}

#undef PROCTOR_WIRE_TRY

}  // namespace

std::string_view WireErrorKindName(WireErrorKind kind) {
  switch (kind) {
    case WireErrorKind::kGarbage:
      return "garbage";
    case WireErrorKind::kTooLong:
      return "too-long";
    case WireErrorKind::kTruncated:
      return "truncated";
    case WireErrorKind::kWrongVersion:
      return "wrong-version";
    case WireErrorKind::kBadChecksum:
      return "bad-checksum";
    case WireErrorKind::kUnknownType:
      return "unknown-type";
    case WireErrorKind::kBadField:
      return "bad-field";
    case WireErrorKind::kTooLarge:
      return "too-large";
    case WireErrorKind::kBeforeHello:
      return "before-hello";
  }
  return "unknown";
}

std::string_view AgentModeName(AgentMode mode) {
  return mode == AgentMode::kTest ? "test" : "init";
}

std::string_view AgentActionName(AgentAction action) {
  switch (action) {
    case AgentAction::kPowerOff:
      return "power-off";
    case AgentAction::kReboot:
      return "reboot";
    case AgentAction::kPanic:
      return "panic";
    case AgentAction::kHang:
      return "hang";
  }
  return "unknown";
}

std::string_view ReportTypeName(const Report& report) {
  constexpr std::array<std::string_view, std::variant_size_v<Report>> kNames = {
      "hello", "started", "ready",  "finished", "ack",
      "msg",   "failure", "action", "error"};
  return kNames[report.index()];
}

std::string_view CommandTypeName(const Command& command) {
  return command.index() == 0 ? "msg" : "run";
}

std::optional<WireError> EncodeReport(const Report& report, std::string* line) {
  LineBuilder b(ReportTypeName(report));
  std::optional<WireError> error = std::visit(
      [&b](const auto& r) -> std::optional<WireError> {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, Hello>) {
          if (auto e = CheckToken("agent", r.agent, kMaxAgentNameBytes,
                                  IsNameChar)) {
            return e;
          }
          if (auto e = CheckBytes("script", r.script.size(), kMaxScriptBytes)) {
            return e;
          }
          b.Field("agent", r.agent);
          b.Field("mode", AgentModeName(r.mode));
          b.Text("script", r.script);
        } else if constexpr (std::is_same_v<T, Finished>) {
          if (r.code > kMaxExitCode) {
            return Error(WireErrorKind::kTooLarge, 0,
                         "field code: " + std::to_string(r.code) +
                             " is more than " + std::to_string(kMaxExitCode));
          }
          b.Number("code", r.code);
        } else if constexpr (std::is_same_v<T, Ack>) {
          b.Number("id", r.id);
        } else if constexpr (std::is_same_v<T, GuestMessage>) {
          if (auto e = CheckBytes("data", r.data.size(), kMaxMessageBytes)) {
            return e;
          }
          b.Number("id", r.id);
          b.Hex("data", r.data);
        } else if constexpr (std::is_same_v<T, FailureWritten>) {
          if (auto e = CheckBytes("data", r.data.size(), kMaxFailureBytes)) {
            return e;
          }
          b.Hex("data", r.data);
        } else if constexpr (std::is_same_v<T, ActionReport>) {
          b.Field("do", AgentActionName(r.action));
        } else if constexpr (std::is_same_v<T, AgentError>) {
          if (auto e =
                  CheckToken("code", r.code, kMaxErrorCodeBytes, IsCodeChar)) {
            return e;
          }
          if (auto e = CheckBytes("what", r.what.size(), kMaxErrorTextBytes)) {
            return e;
          }
          b.Field("code", r.code);
          b.Text("what", r.what);
        }
        return std::nullopt;
      },
      report);
  if (error) return error;
  return b.Finish(line);
}

std::optional<WireError> EncodeCommand(const Command& command,
                                       std::string* line) {
  LineBuilder b(CommandTypeName(command));
  if (const auto* msg = std::get_if<HostMessage>(&command)) {
    if (auto e = CheckBytes("data", msg->data.size(), kMaxMessageBytes)) {
      return e;
    }
    b.Number("id", msg->id);
    b.Hex("data", msg->data);
  } else {
    const auto& run = std::get<RunScript>(command);
    if (auto e = CheckBytes("script", run.script.size(), kMaxScriptBytes)) {
      return e;
    }
    b.Text("script", run.script);
  }
  return b.Finish(line);
}

std::variant<Report, WireError> ParseReportLine(std::string_view line) {
  if (line.size() > kMaxLineBytes) {
    return Error(WireErrorKind::kTooLong, kMaxLineBytes,
                 "the line is " + std::to_string(line.size()) +
                     " bytes; at most " + std::to_string(kMaxLineBytes));
  }
  size_t type_end = 0;
  size_t body_end = 0;
  if (auto e = CheckFrame(line, &type_end, &body_end)) return *e;
  const std::string_view type =
      line.substr(kLinePrefix.size(), type_end - kLinePrefix.size());
  FieldReader fields(line, type_end, body_end, type);
  return ParseReportBody(type, fields);
}

std::variant<Command, WireError> ParseCommandLine(std::string_view line) {
  if (line.size() > kMaxLineBytes) {
    return Error(WireErrorKind::kTooLong, kMaxLineBytes,
                 "the line is " + std::to_string(line.size()) +
                     " bytes; at most " + std::to_string(kMaxLineBytes));
  }
  size_t type_end = 0;
  size_t body_end = 0;
  if (auto e = CheckFrame(line, &type_end, &body_end)) return *e;
  const std::string_view type =
      line.substr(kLinePrefix.size(), type_end - kLinePrefix.size());
  FieldReader fields(line, type_end, body_end, type);
  return ParseCommandBody(type, fields);
}

uint32_t Crc32(std::string_view bytes) {
  uint32_t c = 0xFFFFFFFFu;
  for (char ch : bytes) {
    c = kCrcTable[(c ^ static_cast<unsigned char>(ch)) & 0xFF] ^ (c >> 8);
  }
  return c ^ 0xFFFFFFFFu;
}

std::string HexEncode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    out.push_back(kHexDigits[c >> 4]);
    out.push_back(kHexDigits[c & 15]);
  }
  return out;
}

std::string ShowBytes(std::string_view bytes, size_t max) {
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (c < 0x20 || c > 0x7E) {
          out += "\\x";
          out.push_back(kHexDigits[c >> 4]);
          out.push_back(kHexDigits[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  if (bytes.size() > max) out += "...";
  return out;
}

}  // namespace proctor::guest
