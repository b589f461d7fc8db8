#include "runtime/model/exit_status.h"

#include <array>
#include <charconv>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace proctor {
namespace {

// Linux x86-64 signal numbers 1..31 (real-time signals have no fixed name).
constexpr std::array<absl::string_view, 32> kSignalNames = {
    "",        "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",    "SIGTRAP",
    "SIGABRT", "SIGBUS",  "SIGFPE",    "SIGKILL", "SIGUSR1",   "SIGSEGV",
    "SIGUSR2", "SIGPIPE", "SIGALRM",   "SIGTERM", "SIGSTKFLT", "SIGCHLD",
    "SIGCONT", "SIGSTOP", "SIGTSTP",   "SIGTTIN", "SIGTTOU",   "SIGURG",
    "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH",  "SIGIO",
    "SIGPWR",  "SIGSYS"};

std::optional<int> ParseInt(absl::string_view text) {
  int value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<absl::string_view> SignalName(int signal) {
  if (signal < 1 || signal >= static_cast<int>(kSignalNames.size())) {
    return std::nullopt;
  }
  return kSignalNames[signal];
}

std::optional<int> SignalFromName(absl::string_view name) {
  for (size_t i = 1; i < kSignalNames.size(); ++i) {
    if (kSignalNames[i] == name) return static_cast<int>(i);
  }
  return std::nullopt;
}

std::string FormatExitStatus(const ExitStatus& status) {
  if (status.exited()) return absl::StrCat("Exit(", status.code(), ")");
  if (auto name = SignalName(status.signal())) {
    return absl::StrCat("Signalled(", *name, ")");
  }
  return absl::StrCat("Signalled(", status.signal(), ")");
}

std::optional<ExitStatus> ParseExitStatus(absl::string_view text) {
  auto inner =
      [&](absl::string_view prefix) -> std::optional<absl::string_view> {
    if (!absl::StartsWith(text, prefix) || !absl::EndsWith(text, ")")) {
      return std::nullopt;
    }
    return text.substr(prefix.size(), text.size() - prefix.size() - 1);
  };
  if (auto code = inner("Exit(")) {
    if (auto value = ParseInt(*code)) return ExitStatus::Exited(*value);
    return std::nullopt;
  }
  if (auto sig = inner("Signalled(")) {
    if (auto named = SignalFromName(*sig)) return ExitStatus::Signalled(*named);
    if (auto value = ParseInt(*sig); value && *value >= 0) {
      return ExitStatus::Signalled(*value);
    }
  }
  return std::nullopt;
}

}  // namespace proctor
