// A fault plan is explicit data: which faults a world injects, when, into
// what. It is generated from the seed, printed one fault a line, and loaded
// again, so a failing run's faults can be read, edited and replayed.
//
// Text form:
//   enabled=guest_hang,agent_refuses
//   at=1.250000000s kind=guest_hang target=5 a=0 b=0
//   at=3.000000000s kind=agent_refuses target=1 a=4 b=0
// The first line lists the kinds the plan may contain (possibly none:
// "enabled="); every fault's kind must be one of them. Blank lines and lines
// starting with '#' are ignored.
#ifndef PROCTOR_SIM_WORLD_FAULT_PLAN_H_
#define PROCTOR_SIM_WORLD_FAULT_PLAN_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/model/time.h"
#include "sim/world/fault_kind.h"
#include "sim/world/world_options.h"

namespace proctor::sim {

// The most faults one plan may hold (a parsed plan beyond it is refused).
inline constexpr size_t kMaxPlanFaults = 65536;
// The longest delay one completion_delay fault gives (its `a`, in ms). Faults
// that overlap do not delay a completion by more than this in total.
inline constexpr int64_t kMaxCompletionDelayMs = 2'000;

struct Fault {
  Instant at;
  FaultKind kind = FaultKind::kVmmSpawnFail;
  uint64_t target = 0;  // see FaultTargetOf(kind)
  int64_t a = 0;        // kind-specific parameters (fault_kind.h)
  int64_t b = 0;
  friend bool operator==(const Fault&, const Fault&) = default;
};

struct FaultPlan {
  std::vector<Fault> faults;  // in the order they are armed (by time)
  // The kinds this plan may contain.
  std::vector<FaultKind> enabled;
  friend bool operator==(const FaultPlan&, const FaultPlan&) = default;
};

// "at=1.250000000s kind=guest_hang target=5 a=0 b=0".
std::string FormatFault(const Fault& fault);
// The inverse of FormatFault; fields may come in any order, each exactly
// once. Errors name the field: "field 'at': ...".
absl::StatusOr<Fault> ParseFault(absl::string_view line);

// One line per fault after the "enabled=" line, each ending in '\n'.
std::string FormatFaultPlan(const FaultPlan& plan);
// Errors name the line number: "line 3: field 'kind': ...".
absl::StatusOr<FaultPlan> ParseFaultPlan(absl::string_view text);

// The fault plan for a seed, generated from Prng::Stream(seed, "faults") and
// the workload's shape (which VMs, containers, proxies and handle sources
// exist and when they first act), so that faults target objects that exist
// at times when they take effect. Without swarm every kind is enabled and a
// seed gets one fault of each kind that has a target in its world (so that
// every kind normally fires in every seed) plus 0..3 of kinds drawn at
// random; with swarm each seed enables a random subset of kinds (the empty
// subset included), each with a random rate of 1..4 faults, from
// Prng::Stream(seed, "swarm").
FaultPlan GenerateFaultPlan(const WorldOptions& options);

}  // namespace proctor::sim

#endif  // PROCTOR_SIM_WORLD_FAULT_PLAN_H_
