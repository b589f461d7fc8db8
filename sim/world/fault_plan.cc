#include "sim/world/fault_plan.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "sim/core/prng.h"
#include "sim/world/internal/workload_shape.h"

namespace proctor::sim {
namespace {

using world_internal::ShapeOf;
using world_internal::WorkloadShape;

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("field '", field, "': ", what));
}

// "12.250000000s": seconds, an optional fraction of up to 9 digits, 's'.
// Integer arithmetic only, so that every printed instant reads back exactly.
std::optional<Instant> ParseSeconds(absl::string_view text) {
  if (!absl::ConsumeSuffix(&text, "s")) return std::nullopt;
  absl::string_view whole = text, frac;
  if (const size_t dot = text.find('.'); dot != absl::string_view::npos) {
    whole = text.substr(0, dot);
    frac = text.substr(dot + 1);
    if (frac.empty() || frac.size() > 9) return std::nullopt;
  }
  if (whole.empty() || whole.size() > 10) return std::nullopt;
  int64_t ns = 0;
  for (char c : whole) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
    ns = ns * 10 + (c - '0');
  }
  ns *= 1'000'000'000;
  int64_t scale = 100'000'000;
  for (char c : frac) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
    ns += (c - '0') * scale;
    scale /= 10;
  }
  return Instant::FromNanos(ns);
}

template <typename T>
std::optional<T> ParseInteger(absl::string_view text) {
  T value{};
  if (text.empty()) return std::nullopt;
  auto [ptr, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::string FormatFault(const Fault& fault) {
  return absl::StrCat("at=", FormatInstant(fault.at),
                      " kind=", FaultKindName(fault.kind),
                      " target=", fault.target, " a=", fault.a, " b=", fault.b);
}

absl::StatusOr<Fault> ParseFault(absl::string_view line) {
  static constexpr std::array<absl::string_view, 5> kFields = {
      "at", "kind", "target", "a", "b"};
  std::array<std::optional<absl::string_view>, 5> values;
  for (absl::string_view token :
       absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
    const size_t eq = token.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", token, "' is not a field (expected key=value)"));
    }
    const absl::string_view key = token.substr(0, eq);
    const auto it = std::find(kFields.begin(), kFields.end(), key);
    if (it == kFields.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown field '", key, "'"));
    }
    auto& slot = values[it - kFields.begin()];
    if (slot.has_value()) return FieldError(key, "given twice");
    slot = token.substr(eq + 1);
  }
  for (size_t i = 0; i < kFields.size(); ++i) {
    if (!values[i].has_value()) return FieldError(kFields[i], "missing");
  }

  Fault fault;
  if (std::optional<Instant> at = ParseSeconds(*values[0])) {
    fault.at = *at;
  } else {
    return FieldError("at", absl::StrCat("'", *values[0],
                                         "' is not a time like 1.250000000s"));
  }
  if (std::optional<FaultKind> kind = ParseFaultKind(*values[1])) {
    fault.kind = *kind;
  } else {
    return FieldError("kind",
                      absl::StrCat("unknown fault kind '", *values[1], "'"));
  }
  if (std::optional<uint64_t> target = ParseInteger<uint64_t>(*values[2])) {
    fault.target = *target;
  } else {
    return FieldError("target", absl::StrCat("'", *values[2],
                                             "' is not an unsigned integer"));
  }
  for (size_t i : {3, 4}) {
    std::optional<int64_t> v = ParseInteger<int64_t>(*values[i]);
    if (!v.has_value()) {
      return FieldError(kFields[i],
                        absl::StrCat("'", *values[i], "' is not an integer"));
    }
    (i == 3 ? fault.a : fault.b) = *v;
  }
  return fault;
}

std::string FormatFaultPlan(const FaultPlan& plan) {
  std::string out =
      absl::StrCat("enabled=",
                   absl::StrJoin(plan.enabled, ",",
                                 [](std::string* s, FaultKind k) {
                                   absl::StrAppend(s, FaultKindName(k));
                                 }),
                   "\n");
  for (const Fault& fault : plan.faults) {
    absl::StrAppend(&out, FormatFault(fault), "\n");
  }
  return out;
}

absl::StatusOr<FaultPlan> ParseFaultPlan(absl::string_view text) {
  FaultPlan plan;
  bool seen_enabled = false;
  std::array<bool, kFaultKindCount> enabled{};
  size_t number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    auto error = [&](const absl::Status& status) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number, ": ", status.message()));
    };
    if (!seen_enabled) {
      if (!absl::ConsumePrefix(&line, "enabled=")) {
        return error(absl::InvalidArgumentError(
            "expected the list of enabled kinds first: 'enabled=kind,...'"));
      }
      seen_enabled = true;
      for (absl::string_view name :
           absl::StrSplit(line, ',', absl::SkipEmpty())) {
        std::optional<FaultKind> kind = ParseFaultKind(name);
        if (!kind.has_value()) {
          return error(FieldError(
              "enabled", absl::StrCat("unknown fault kind '", name, "'")));
        }
        if (enabled[FaultKindIndex(*kind)]) {
          return error(FieldError(
              "enabled", absl::StrCat("fault kind '", name, "' listed twice")));
        }
        enabled[FaultKindIndex(*kind)] = true;
        plan.enabled.push_back(*kind);
      }
      continue;
    }
    if (absl::StartsWith(line, "enabled=")) {
      return error(FieldError("enabled", "given twice"));
    }
    absl::StatusOr<Fault> fault = ParseFault(line);
    if (!fault.ok()) return error(fault.status());
    if (!enabled[FaultKindIndex(fault->kind)]) {
      return error(FieldError(
          "kind", absl::StrCat("fault kind '", FaultKindName(fault->kind),
                               "' is not enabled")));
    }
    if (plan.faults.size() >= kMaxPlanFaults) {
      return error(absl::InvalidArgumentError(
          absl::StrCat("more than ", kMaxPlanFaults, " faults")));
    }
    plan.faults.push_back(*fault);
  }
  if (!seen_enabled) {
    return absl::InvalidArgumentError(absl::StrCat(
        "line ", number, ": missing the list of enabled kinds 'enabled=...'"));
  }
  return plan;
}

namespace {

constexpr int64_t kMs = 1'000'000;

// Without swarm: faults of each applicable kind per seed, and at most this
// many more of random kinds.
constexpr int64_t kDefaultFaultsPerKind = 1;
constexpr int64_t kMaxExtraFaults = 3;

// Whether the shape has something for `kind` to act on.
bool Applicable(FaultKind kind, const WorkloadShape& shape) {
  switch (FaultTargetOf(kind)) {
    case FaultTarget::kVm:
      return !shape.vms.empty();
    case FaultTarget::kContainer:
      return !shape.containers.empty();
    case FaultTarget::kProxy:
      return !shape.proxies.empty();
    case FaultTarget::kAny:
      return true;
    case FaultTarget::kHandleSource:
      return shape.handle_sources > 0;
  }
  return false;
}

// A time in [lo, hi] clipped to the window, so that every fault can act.
Instant TimeIn(Prng& rng, int64_t lo, int64_t hi, int64_t window) {
  hi = std::min(hi, window - 1);
  lo = std::min(std::max<int64_t>(lo, 0), hi);
  if (hi < 0) return Instant{};
  return Instant::FromNanos(rng.Between(lo, hi));
}

// `closing_pick` numbers the faults that close a proxy's channel.
Fault MakeFault(FaultKind kind, const WorkloadShape& shape, Prng& rng,
                uint64_t& closing_pick) {
  const int64_t window = std::max<int64_t>(shape.window_end.ns, 1);
  const int64_t per_mille = window / 1000;
  Fault f;
  f.kind = kind;
  switch (FaultTargetOf(kind)) {
    case FaultTarget::kVm: {
      const auto& vm = shape.vms[rng.Below(shape.vms.size())];
      f.target = vm.cid.value;
      // Mostly before the VM's first life, so that this life takes it; else
      // in a later life.
      f.at = rng.Chance(700'000) ? TimeIn(rng, 0, vm.first_create.ns, window)
                                 : TimeIn(rng, 0, 600 * per_mille, window);
      break;
    }
    case FaultTarget::kContainer: {
      std::vector<const WorkloadShape::Container*> candidates;
      const bool needs_boot = kind == FaultKind::kBootTransientError ||
                              kind == FaultKind::kBootPermanentError;
      for (const auto& c : shape.containers) {
        if (!needs_boot || c.owns_vm) candidates.push_back(&c);
      }
      const auto& c = *candidates[rng.Below(candidates.size())];
      f.target = c.id.value;
      if (kind == FaultKind::kContainerCrash ||
          kind == FaultKind::kCgroupMemoryPressure) {
        // While its process is likely to run; else at its next start.
        f.at = TimeIn(rng, c.first_install.ns + 2'000 * kMs, 900 * per_mille,
                      window);
      } else {
        f.at = rng.Chance(700'000) ? TimeIn(rng, 0, c.first_install.ns, window)
                                   : TimeIn(rng, 0, 700 * per_mille, window);
      }
      break;
    }
    case FaultTarget::kProxy: {
      if (kind == FaultKind::kPeerOversizedMessage) {
        // Early in the proxy's life, before a close can take it down.
        const auto& p = shape.proxies[rng.Below(shape.proxies.size())];
        f.target = p.id.value;
        f.at = TimeIn(rng, p.add_at.ns, p.add_at.ns + 300 * per_mille, window);
      } else {
        // Faults that close a channel go round the proxies, so that two
        // of them hit the same proxy only when there is one.
        const auto& p = shape.proxies[closing_pick++ % shape.proxies.size()];
        f.target = p.id.value;
        f.at = TimeIn(rng, std::max(p.add_at.ns, 300 * per_mille),
                      900 * per_mille, window);
      }
      break;
    }
    case FaultTarget::kAny: {
      // Mostly every object, or a proxy (whose channels complete often);
      // sometimes a VM or a container.
      const uint64_t pick = rng.Below(20);
      if (pick < 8) {
        f.target = 0;
      } else if (pick < 14 && !shape.proxies.empty()) {
        f.target = shape.proxies[rng.Below(shape.proxies.size())].id.value;
      } else if (pick < 17) {
        f.target = shape.vms[rng.Below(shape.vms.size())].cid.value;
      } else if (!shape.containers.empty()) {
        f.target =
            shape.containers[rng.Below(shape.containers.size())].id.value;
      }
      f.at = TimeIn(rng, 0, 900 * per_mille, window);
      break;
    }
    case FaultTarget::kHandleSource:
      f.target = rng.Between(1, shape.handle_sources);
      f.at = TimeIn(rng, 0, 950 * per_mille, window);
      break;
  }
  switch (kind) {
    case FaultKind::kGuestSlowStart:
      f.a = rng.Between(2'000, 15'000);
      break;
    case FaultKind::kFailureReason: {
      f.a = rng.Between(0, 24);
      static constexpr int64_t kCodes[] = {1, 1, 0, 33, 7};
      f.b = kCodes[rng.Below(5)];
      break;
    }
    case FaultKind::kPayloadOutOfOrder:
      f.a = rng.Between(0, 1);
      break;
    case FaultKind::kAgentRefuses:
      f.a = rng.Between(1, 30);
      break;
    case FaultKind::kAgentNeverAccepts:
      f.a = rng.Between(10'500, 15'000);
      break;
    case FaultKind::kBootTransientError:
      f.a = rng.Between(1, 3);
      break;
    case FaultKind::kRemoteBurstThenClose:
      f.a = rng.Between(1, 50);
      break;
    case FaultKind::kPeerOversizedMessage:
      f.b = rng.Between(0, 1);
      break;
    case FaultKind::kCompletionDelay:
      f.a = rng.Between(1, kMaxCompletionDelayMs);
      f.b = rng.Between(1'000, 15'000);
      break;
    case FaultKind::kCgroupMemoryPressure:
      f.a = rng.Between(3, 20);
      break;
    case FaultKind::kHandleWake:
      f.b = rng.Between(1, 2'000);
      break;
    default:
      break;
  }
  return f;
}

}  // namespace

FaultPlan GenerateFaultPlan(const WorldOptions& options) {
  const WorkloadShape shape = ShapeOf(options);
  Prng rng = Prng::Stream(options.seed, "faults");
  uint64_t closing_pick =
      shape.proxies.empty() ? 0 : rng.Below(shape.proxies.size());
  FaultPlan plan;
  if (shape.window_end.ns <= 0) {
    // No window, no faults; the kinds stay enabled for the accounting.
    if (!options.swarm) {
      plan.enabled.assign(AllFaultKinds().begin(), AllFaultKinds().end());
    }
    return plan;
  }
  if (!options.swarm) {
    plan.enabled.assign(AllFaultKinds().begin(), AllFaultKinds().end());
    std::vector<FaultKind> applicable;
    for (FaultKind kind : AllFaultKinds()) {
      if (Applicable(kind, shape)) applicable.push_back(kind);
    }
    // Every kind that has a target, so that each normally fires in every
    // seed, and a few more of kinds drawn at random.
    for (FaultKind kind : applicable) {
      for (int64_t i = 0; i < kDefaultFaultsPerKind; ++i) {
        plan.faults.push_back(MakeFault(kind, shape, rng, closing_pick));
      }
    }
    const int64_t extra = rng.Between(0, kMaxExtraFaults);
    for (int64_t i = 0; i < extra; ++i) {
      plan.faults.push_back(MakeFault(applicable[rng.Below(applicable.size())],
                                      shape, rng, closing_pick));
    }
  } else {
    Prng swarm = Prng::Stream(options.seed, "swarm");
    // The empty subset is drawn on purpose: a seed without faults checks
    // the workload alone.
    const bool none = swarm.Chance(150'000);
    for (FaultKind kind : AllFaultKinds()) {
      const bool on = swarm.Chance(500'000);
      const int64_t rate = swarm.Between(1, 4);
      if (none || !on) continue;
      plan.enabled.push_back(kind);
      if (!Applicable(kind, shape)) continue;
      for (int64_t i = 0; i < rate; ++i) {
        plan.faults.push_back(MakeFault(kind, shape, rng, closing_pick));
      }
    }
  }
  std::stable_sort(plan.faults.begin(), plan.faults.end(),
                   [](const Fault& x, const Fault& y) { return x.at < y.at; });
  return plan;
}

}  // namespace proctor::sim
