// Named mutants of the reference runtime: deliberate, known bugs that the
// simulator must catch (`proctor mutants`, `proctor sim --mutant NAME`).
// This file is the one place where they are listed. A component receives the
// set of switched-on mutants when it is built (no globals) and tests each one
// with MutantSet::Has at exactly one point, so the normal path pays a single
// predictable branch.
#ifndef PROCTOR_RUNTIME_MODEL_MUTANTS_H_
#define PROCTOR_RUNTIME_MODEL_MUTANTS_H_

#include <cstdint>
#include <optional>
#include <span>

#include "absl/strings/string_view.h"

namespace proctor {

enum class Mutant : uint8_t {
  kProxyOnePerWake,         // PX-3
  kProxyCountAfterWrite,    // PX-2 / PW-4
  kPayloadBackward,         // VM-4
  kHangupIgnoresExit,       // VM-5
  kFailureReasonIgnored,    // VM-6
  kSuspendIgnoresCounters,  // PW-3
  kStopSleepsWholeGrace,    // CN-4
  kPortsWrapAround,         // CN-7
  kOnDiedTwice,             // VM-7
  kGuestPathDotDot,         // CN-8
};

struct MutantInfo {
  Mutant mutant;
  absl::string_view name;  // lower-case letters, digits, '-', '_'
  absl::string_view rule;  // the rule it breaks, e.g. "PX-3"
  absl::string_view description;
};

inline constexpr MutantInfo kMutants[] = {
    {Mutant::kProxyOnePerWake, "proxy-one-per-wake", "PX-3",
     "the proxy forwards only one message per wake-up and stops on "
     "PEER_CLOSED without draining what is still readable"},
    {Mutant::kProxyCountAfterWrite, "proxy-count-after-write", "PX-2",
     "the proxy increments the counter after writing the message to the "
     "container, opening a window for a suspend (PW-4)"},
    {Mutant::kPayloadBackward, "payload-backward", "VM-4",
     "payload state updates are accepted even when they go backward"},
    {Mutant::kHangupIgnoresExit, "hangup-ignores-exit", "VM-5",
     "the hangup wait ignores a VMM exit before Started, runs to its "
     "timeout and then reports HANGUP"},
    {Mutant::kFailureReasonIgnored, "failure-reason-ignored", "VM-6",
     "the failure reason the guest wrote is ignored; the death reason comes "
     "from the exit alone"},
    {Mutant::kSuspendIgnoresCounters, "suspend-ignores-counters", "PW-3",
     "suspend ignores counter-based wake sources and suspends with messages "
     "unhandled"},
    {Mutant::kStopSleepsWholeGrace, "stop-sleeps-whole-grace", "CN-4",
     "stop-with-grace always waits the whole grace, as the seed does, even "
     "when the container exits on SIGTERM"},
    {Mutant::kPortsWrapAround, "ports-wrap-around", "CN-7",
     "the port allocator wraps around to the start of its range instead of "
     "failing when it runs out"},
    {Mutant::kOnDiedTwice, "on-died-twice", "VM-7",
     "on_died is delivered twice for a VM"},
    {Mutant::kGuestPathDotDot, "guest-path-dotdot", "CN-8",
     "guest paths with a '..' component are accepted"},
};

inline std::span<const MutantInfo> AllMutants() { return kMutants; }

inline std::optional<Mutant> ParseMutant(absl::string_view name) {
  for (const MutantInfo& info : kMutants) {
    if (info.name == name) return info.mutant;
  }
  return std::nullopt;
}

inline const MutantInfo& InfoOf(Mutant mutant) {
  return kMutants[static_cast<uint8_t>(mutant)];
}

// The mutants switched on for one runtime; empty for the reference.
class MutantSet {
 public:
  constexpr MutantSet() = default;
  static constexpr MutantSet Of(Mutant m) {
    MutantSet s;
    s.bits_ = uint32_t{1} << static_cast<uint8_t>(m);
    return s;
  }
  constexpr bool Has(Mutant m) const {
    return (bits_ >> static_cast<uint8_t>(m)) & 1u;
  }
  constexpr bool empty() const { return bits_ == 0; }
  friend constexpr bool operator==(MutantSet, MutantSet) = default;

 private:
  uint32_t bits_ = 0;
};

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_MODEL_MUTANTS_H_
