#include "guest/protocol/script.h"

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "guest/protocol/wire.h"

namespace proctor::guest {
namespace {

enum class Arg : uint8_t {
  kNone,
  kCode,
  kVmmCode,
  kDelay,
  kReason,
  kFailureHex,
  kMessageHex
};

struct StepSpec {
  std::string_view name;
  StepKind kind;
  Arg arg;
};

// Each step's spellings; FormatScript writes the first that fits.
constexpr std::array<StepSpec, 17> kSpecs = {{
    {"started", StepKind::kStarted, Arg::kNone},
    {"ready", StepKind::kReady, Arg::kNone},
    {"finished", StepKind::kFinished, Arg::kCode},
    {"exit", StepKind::kExit, Arg::kCode},
    {"sleep", StepKind::kSleep, Arg::kDelay},
    {"hang", StepKind::kHang, Arg::kNone},
    {"panic", StepKind::kPanic, Arg::kNone},
    {"reboot", StepKind::kReboot, Arg::kNone},
    {"poweroff", StepKind::kPowerOff, Arg::kNone},
    {"failure", StepKind::kFailure, Arg::kReason},
    {"failure-hex", StepKind::kFailure, Arg::kFailureHex},
    {"fail", StepKind::kFail, Arg::kReason},
    {"fail-hex", StepKind::kFail, Arg::kFailureHex},
    {"ack-delay", StepKind::kAckDelay, Arg::kDelay},
    {"echo", StepKind::kEcho, Arg::kNone},
    {"send", StepKind::kSend, Arg::kMessageHex},
    {"vmm-exit", StepKind::kVmmExit, Arg::kVmmCode},
}};

bool IsReasonChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool IsReason(std::string_view s) {
  if (s.empty() || s.size() > kMaxFailureBytes) return false;
  for (char c : s) {
    if (!IsReasonChar(c)) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Digits only, "0" or without a leading zero, and within uint64_t.
bool ParseDecimal(std::string_view text, uint64_t* value) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, *value);
  return ec == std::errc() && ptr == end;
}

// Empty on success, else what is wrong with the argument.
std::string ParseArg(Arg arg, std::string_view text, Step* step) {
  switch (arg) {
    case Arg::kNone:
      return "";
    case Arg::kCode:
    case Arg::kDelay: {
      const uint64_t max = arg == Arg::kCode ? kMaxExitCode : kMaxStepDelayMs;
      uint64_t value = 0;
      if (!ParseDecimal(text, &value) || value > max) {
        return "\"" + ShowBytes(text) + "\" is not a whole number in 0.." +
               std::to_string(max) + " without leading zeros";
      }
      step->number = value;
      return "";
    }
    case Arg::kVmmCode: {
      uint64_t value = 0;
      if (!ParseDecimal(text, &value) || value < kMinVmmExitCode ||
          value > kMaxVmmExitCode || value % 2 == 0) {
        return "\"" + ShowBytes(text) + "\" is not an odd whole number in " +
               std::to_string(kMinVmmExitCode) + ".." +
               std::to_string(kMaxVmmExitCode) +
               " without leading zeros (isa-debug-exit makes only odd exit "
               "codes)";
      }
      step->number = value;
      return "";
    }
    case Arg::kReason:
      if (!IsReason(text)) {
        return "\"" + ShowBytes(text) + "\" is not 1.." +
               std::to_string(kMaxFailureBytes) +
               " characters of A-Z a-z 0-9 _ . - (use the -hex form for "
               "other bytes)";
      }
      step->bytes = std::string(text);
      return "";
    case Arg::kFailureHex:
    case Arg::kMessageHex: {
      const size_t max =
          arg == Arg::kFailureHex ? kMaxFailureBytes : kMaxMessageBytes;
      if (text.size() % 2 != 0 || text.size() / 2 > max) {
        return "wants an even number of hex digits, at most " +
               std::to_string(max) + " bytes; got " +
               std::to_string(text.size()) + " digits";
      }
      std::string bytes(text.size() / 2, '\0');
      for (size_t i = 0; i < text.size(); ++i) {
        if (HexValue(text[i]) < 0) {
          return "\"" + ShowBytes(text.substr(i, 1)) +
                 "\" is not a lower-case hex digit";
        }
      }
      for (size_t i = 0; i < bytes.size(); ++i) {
        bytes[i] = static_cast<char>(HexValue(text[2 * i]) << 4 |
                                     HexValue(text[2 * i + 1]));
      }
      step->bytes = std::move(bytes);
      return "";
    }
  }
  return "unknown argument kind";
}

}  // namespace

std::variant<std::vector<Step>, std::string> ParseScript(
    std::string_view text) {
  std::vector<Step> steps;
  if (text.empty()) return steps;
  if (text.size() > kMaxScriptBytes) {
    return "the script is " + std::to_string(text.size()) + " bytes; at most " +
           std::to_string(kMaxScriptBytes);
  }
  size_t pos = 0;
  for (size_t number = 1;; ++number) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view item = text.substr(pos, comma - pos);
    const std::string where =
        "step " + std::to_string(number) + " (\"" + ShowBytes(item) + "\")";
    if (number > kMaxScriptSteps) {
      return "more than " + std::to_string(kMaxScriptSteps) +
             " steps in one script";
    }
    if (item.empty()) return where + ": empty step";
    const size_t colon = item.find(':');
    const std::string_view name = item.substr(0, colon);
    const StepSpec* spec = nullptr;
    for (const StepSpec& s : kSpecs) {
      if (s.name == name) spec = &s;
    }
    if (spec == nullptr) return where + ": unknown step";
    Step step;
    step.kind = spec->kind;
    if (spec->arg == Arg::kNone) {
      if (colon != std::string_view::npos) {
        return where + ": " + std::string(name) + " takes no argument";
      }
    } else {
      if (colon == std::string_view::npos) {
        return where + ": " + std::string(name) + " needs an argument (" +
               std::string(name) + ":...)";
      }
      const std::string problem =
          ParseArg(spec->arg, item.substr(colon + 1), &step);
      if (!problem.empty()) return where + ": " + problem;
    }
    steps.push_back(std::move(step));
    if (comma == text.size()) break;
    pos = comma + 1;
  }
  return steps;
}

std::string FormatScript(const std::vector<Step>& steps) {
  std::string out;
  for (const Step& step : steps) {
    if (!out.empty()) out.push_back(',');
    const StepSpec* chosen = nullptr;
    for (const StepSpec& spec : kSpecs) {
      if (spec.kind != step.kind) continue;
      if (spec.arg == Arg::kReason && !IsReason(step.bytes)) continue;
      chosen = &spec;
      break;
    }
    out.append(chosen->name);
    switch (chosen->arg) {
      case Arg::kNone:
        break;
      case Arg::kCode:
      case Arg::kVmmCode:
      case Arg::kDelay:
        out.push_back(':');
        out.append(std::to_string(step.number));
        break;
      case Arg::kReason:
        out.push_back(':');
        out.append(step.bytes);
        break;
      case Arg::kFailureHex:
      case Arg::kMessageHex:
        out.push_back(':');
        out.append(HexEncode(step.bytes));
        break;
    }
  }
  return out;
}

}  // namespace proctor::guest
