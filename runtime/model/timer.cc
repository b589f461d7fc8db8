#include "runtime/model/timer.h"

#include <array>
#include <charconv>
#include <utility>

#include "absl/strings/str_cat.h"

namespace proctor {
namespace {
constexpr std::array<std::pair<TimerKind, absl::string_view>, 4> kKinds = {{
    {TimerKind::kHangup, "hangup"},
    {TimerKind::kStopGrace, "stop_grace"},
    {TimerKind::kAgentRetry, "agent_retry"},
    {TimerKind::kBootRetry, "boot_retry"},
}};
}  // namespace

absl::string_view TimerKindName(TimerKind kind) {
  for (const auto& [k, n] : kKinds) {
    if (k == kind) return n;
  }
  return "?";
}

std::optional<TimerKind> ParseTimerKind(absl::string_view name) {
  for (const auto& [k, n] : kKinds) {
    if (n == name) return k;
  }
  return std::nullopt;
}

std::string FormatTimerId(const TimerId& id) {
  return absl::StrCat(TimerKindName(id.kind), "/", id.owner);
}

std::optional<TimerId> ParseTimerId(absl::string_view text) {
  size_t slash = text.find('/');
  if (slash == absl::string_view::npos) return std::nullopt;
  auto kind = ParseTimerKind(text.substr(0, slash));
  if (!kind) return std::nullopt;
  absl::string_view digits = text.substr(slash + 1);
  uint64_t owner = 0;
  auto [ptr, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), owner);
  if (digits.empty() || ec != std::errc() ||
      ptr != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return TimerId{*kind, owner};
}

}  // namespace proctor
