// Timers are how the sans-IO runtime waits. A timer is named by what it is
// for and whose it is, so traces read "hangup/5" instead of an opaque number,
// and arming a timer that is already armed moves its deadline.
#ifndef PROCTOR_RUNTIME_MODEL_TIMER_H_
#define PROCTOR_RUNTIME_MODEL_TIMER_H_

#include <compare>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace proctor {

enum class TimerKind : uint8_t {
  kHangup,      // VM-5: owner is the cid
  kStopGrace,   // CN-4: owner is the container id
  kAgentRetry,  // CN-5: owner is the container id
  kBootRetry,   // CN-6: owner is the container id
};

struct TimerId {
  TimerKind kind = TimerKind::kHangup;
  uint64_t owner = 0;
  friend auto operator<=>(const TimerId&, const TimerId&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const TimerId& t) {
    return H::combine(std::move(h), t.kind, t.owner);
  }
};

absl::string_view TimerKindName(TimerKind kind);
std::optional<TimerKind> ParseTimerKind(absl::string_view name);
// "hangup/5".
std::string FormatTimerId(const TimerId& id);
std::optional<TimerId> ParseTimerId(absl::string_view text);

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_MODEL_TIMER_H_
