// Time as the runtime sees it. The runtime never reads a clock: every input
// arrives with an Instant chosen by the world (virtual in sim, monotonic on
// the host), and waiting is expressed as an armed timer.
#ifndef PROCTOR_RUNTIME_MODEL_TIME_H_
#define PROCTOR_RUNTIME_MODEL_TIME_H_

#include <compare>
#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace proctor {

// Nanoseconds since the world's origin. A world must deliver inputs with
// non-decreasing instants.
struct Instant {
  int64_t ns = 0;

  static constexpr Instant FromNanos(int64_t ns) { return Instant{ns}; }
  friend auto operator<=>(const Instant&, const Instant&) = default;
  friend Instant operator+(Instant t, absl::Duration d) {
    return Instant{t.ns + absl::ToInt64Nanoseconds(d)};
  }
  friend absl::Duration operator-(Instant a, Instant b) {
    return absl::Nanoseconds(a.ns - b.ns);
  }
};

std::string FormatInstant(Instant t);

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_MODEL_TIME_H_
