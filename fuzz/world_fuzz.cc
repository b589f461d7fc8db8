// fuzz_world: whole simulated runs under fault plans chosen by the fuzzer.
// The bytes become a fault plan; a World with a small fixed workload runs it
// against the reference runtime with the invariant oracle watching, as
// sim/campaign/campaign.cc runs a seed. A rule the oracle finds broken, an
// error of the world or of the runtime, or a crash is a finding: under every
// plan the generator could have made, the reference runtime must keep every
// rule.
//
// Input, either
//   text: a fault plan in its printed form (sim/world/fault_plan.h), parsed
//     with ParseFaultPlan (a plan that does not parse ends the input). A
//     first line "# seed=N" sets the workload's seed (default 0); being a
//     comment, it leaves the plan's text valid. Text is bytes that are all
//     printable ASCII, tab, CR or LF.
//   binary: bytes 0-7 the seed (little-endian), then 6 bytes per fault (at
//     most kMaxDerivedFaults): kind, target, time in the window (16 bits),
//     a and b, each spread over the range GenerateFaultPlan gives the kind
//     (at most kMaxFaultsPerKind of a kind; later ones are dropped).
// A plan inside that envelope (every derived plan, and text plans that stay
// in it) is judged by the oracle; any other plan only has to run without a
// crash or an error (see EnvelopeOf).
// PROCTOR_FUZZ_MUTANT=<name> switches a mutant of the reference runtime on,
// to show that the target finds a known bug. PROCTOR_FUZZ_TRACE=<file>
// writes the trace of the (last) run there, for `proctor replay` and
// `proctor trace --perfetto`.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "fuzz/fuzz_util.h"
#include "runtime/model/mutants.h"
#include "sim/campaign/campaign.h"
#include "sim/oracle/oracle.h"
#include "sim/sut.h"
#include "sim/trace/trace.h"
#include "sim/world/fault_kind.h"
#include "sim/world/fault_plan.h"
#include "sim/world/world.h"

namespace {

using proctor::sim::Fault;
using proctor::sim::FaultKind;
using proctor::sim::FaultPlan;
using proctor::sim::FaultTarget;

constexpr absl::string_view kTarget = "world";

// The fixed workload: small enough that one run takes under a millisecond
// (about 1.4 ms with AddressSanitizer).
constexpr uint32_t kVms = 2;
constexpr uint32_t kProxies = 2;
constexpr uint32_t kContainers = 2;
constexpr absl::Duration kWindow = absl::Seconds(10);
// A run of this workload notifies a few hundred events; the budget bounds
// the time one input may take.
constexpr size_t kMaxFuzzEvents = 200'000;
constexpr size_t kMaxDerivedFaults = 32;
constexpr size_t kBytesPerFault = 6;
constexpr absl::string_view kSeedLine = "# seed=";

// Text is what a person would write; anything else is decoded.
bool IsText(absl::string_view bytes) {
  if (bytes.empty()) return false;
  for (char c : bytes) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (!(absl::ascii_isprint(u) || c == '\n' || c == '\t' || c == '\r')) {
      return false;
    }
  }
  return true;
}

uint64_t SeedOfText(absl::string_view text) {
  uint64_t seed = 0;
  if (absl::ConsumePrefix(&text, kSeedLine)) {
    const absl::string_view number = text.substr(0, text.find('\n'));
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(number), &seed)) seed = 0;
  }
  return seed;
}

// The envelope of GenerateFaultPlan (sim/world/fault_plan.cc): the range of
// each parameter a kind uses there. The oracle's liveness checks after the
// fault window (the final suspend is not refused, everything finishes)
// assume that the faults' effects have worn off by then, which the
// generator's ranges guarantee and larger values do not: a guest that starts
// after a day, or an agent that accepts nothing for a day, is still at it when
// the run is judged.
struct ParameterRange {
  bool used = false;
  int64_t min = 0;
  int64_t max = 0;
};
struct KindEnvelope {
  ParameterRange a, b;
};
// GenerateFaultPlan gives a seed at most 1 + 3 faults of a kind.
constexpr size_t kMaxFaultsPerKind = 4;

KindEnvelope EnvelopeOf(FaultKind kind) {
  switch (kind) {
    case FaultKind::kGuestSlowStart:
    case FaultKind::kAgentNeverAccepts:
      return {{true, 0, 15'000}, {}};  // ms
    case FaultKind::kFailureReason:
      return {{true, 0, 25}, {true, -128, 127}};  // variant, exit code
    case FaultKind::kPayloadOutOfOrder:
      return {{true, 0, 1}, {}};
    case FaultKind::kAgentRefuses:
      return {{true, 0, 30}, {}};
    case FaultKind::kBootTransientError:
      return {{true, 0, 3}, {}};
    case FaultKind::kRemoteBurstThenClose:
      return {{true, 0, 50}, {}};
    case FaultKind::kPeerOversizedMessage:
      return {{}, {true, 0, 1}};
    case FaultKind::kCompletionDelay:
      return {{true, 0, 2'000}, {true, 0, 15'000}};  // ms of delay, ms it lasts
    case FaultKind::kCgroupMemoryPressure:
      return {{true, 0, 20}, {}};
    case FaultKind::kHandleWake:
      return {{}, {true, 0, 2'000}};  // ms asserted
    default:
      return {};  // a and b unused
  }
}

// A raw byte spread over the range; 0 for an unused parameter, as in
// generated plans.
int64_t Scale(uint8_t raw, const ParameterRange& range) {
  if (!range.used) return 0;
  return range.min + int64_t{raw} * (range.max - range.min + 1) / 256;
}

bool InRange(int64_t value, const ParameterRange& range) {
  return !range.used || (value >= range.min && value <= range.max);
}

bool InEnvelope(const FaultPlan& plan) {
  std::array<size_t, proctor::sim::kFaultKindCount> per_kind{};
  for (const Fault& f : plan.faults) {
    if (++per_kind[proctor::sim::FaultKindIndex(f.kind)] > kMaxFaultsPerKind) {
      return false;
    }
    const KindEnvelope e = EnvelopeOf(f.kind);
    if (!InRange(f.a, e.a) || !InRange(f.b, e.b)) return false;
  }
  return true;
}

// Targets include a few objects the workload does not have, which the
// world must ignore.
uint64_t TargetOf(FaultKind kind, uint8_t raw) {
  switch (proctor::sim::FaultTargetOf(kind)) {
    case FaultTarget::kVm:
      return proctor::kMinGuestCid - 1 + raw % (kVms + 2);
    case FaultTarget::kContainer:
      return raw % (kContainers + 2);
    case FaultTarget::kProxy:
      return raw % (kProxies + 2);
    case FaultTarget::kAny:
      return raw % 6;
    case FaultTarget::kHandleSource:
      return raw % 4;
  }
  return raw;
}

FaultPlan DerivePlan(proctor::fuzz::ByteReader& in) {
  FaultPlan plan;
  const int64_t window_ns = absl::ToInt64Nanoseconds(kWindow);
  const auto kinds = proctor::sim::AllFaultKinds();
  std::array<size_t, proctor::sim::kFaultKindCount> per_kind{};
  while (in.remaining() >= kBytesPerFault &&
         plan.faults.size() < kMaxDerivedFaults) {
    Fault f;
    f.kind = kinds[in.U8() % kinds.size()];
    f.target = TargetOf(f.kind, in.U8());
    f.at = proctor::Instant::FromNanos(window_ns / 65536 * in.U16());
    const KindEnvelope e = EnvelopeOf(f.kind);
    f.a = Scale(in.U8(), e.a);
    f.b = Scale(in.U8(), e.b);
    if (++per_kind[proctor::sim::FaultKindIndex(f.kind)] > kMaxFaultsPerKind) {
      continue;
    }
    if (std::find(plan.enabled.begin(), plan.enabled.end(), f.kind) ==
        plan.enabled.end()) {
      plan.enabled.push_back(f.kind);
    }
    plan.faults.push_back(f);
  }
  std::stable_sort(plan.faults.begin(), plan.faults.end(),
                   [](const Fault& x, const Fault& y) { return x.at < y.at; });
  return plan;
}

std::optional<proctor::Mutant> MutantFromEnvironment() {
  const char* name = std::getenv("PROCTOR_FUZZ_MUTANT");
  if (name == nullptr || *name == '\0') return std::nullopt;
  std::optional<proctor::Mutant> mutant = proctor::ParseMutant(name);
  if (!mutant.has_value()) {
    proctor::fuzz::Finding(
        kTarget, absl::StrCat("PROCTOR_FUZZ_MUTANT: unknown mutant '", name,
                              "' (see `proctor mutants`)"));
  }
  return mutant;
}

// As sim/campaign/campaign.cc writes it, so that `proctor replay` builds
// the runtime the same way.
proctor::sim::TraceHeader HeaderFor(
    const proctor::sim::WorldOptions& wo, const FaultPlan& plan,
    const std::optional<proctor::Mutant>& mutant) {
  proctor::sim::TraceHeader header;
  header.seed = wo.seed;
  if (mutant) header.mutant = std::string(proctor::InfoOf(*mutant).name);
  header.workload = {
      {"vms", wo.workload.vms},
      {"proxies", wo.workload.proxies},
      {"containers", wo.workload.containers},
      {"fault_window_ns", absl::ToInt64Nanoseconds(wo.workload.fault_window)},
      {"quiet_ns", absl::ToInt64Nanoseconds(wo.workload.quiet)},
  };
  for (const Fault& f : plan.faults) {
    header.fault_plan.push_back(proctor::sim::FormatFault(f));
  }
  return header;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::optional<proctor::Mutant> mutant = MutantFromEnvironment();
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);

  proctor::sim::WorldOptions wo;
  FaultPlan plan;
  const bool text = IsText(bytes);
  if (text) {
    absl::StatusOr<FaultPlan> parsed = proctor::sim::ParseFaultPlan(bytes);
    if (!parsed.ok()) return 0;
    plan = *std::move(parsed);
    wo.seed = SeedOfText(bytes);
  } else {
    proctor::fuzz::ByteReader in(data, size);
    wo.seed = in.U64();
    plan = DerivePlan(in);
  }
  // Outside the envelope only the world's robustness is judged: no crash,
  // no error; the oracle's verdict would not be about the runtime.
  const bool judged = InEnvelope(plan);
  if (!text && !judged) {
    proctor::fuzz::Finding(kTarget,
                           "a derived plan left the envelope (a bug "
                           "of this target)");
  }
  wo.workload.vms = kVms;
  wo.workload.proxies = kProxies;
  wo.workload.containers = kContainers;
  wo.workload.fault_window = kWindow;
  wo.max_events = kMaxFuzzEvents;

  proctor::sim::ReferenceSut sut(
      proctor::sim::SupervisorOptionsForWorkload(wo.workload, mutant));
  proctor::sim::World world(wo, plan, &sut);
  proctor::sim::Oracle oracle;
  std::ofstream trace_file;
  std::optional<proctor::sim::TraceWriter> trace;
  if (const char* path = std::getenv("PROCTOR_FUZZ_TRACE")) {
    trace_file.open(path, std::ios::binary | std::ios::trunc);
    trace.emplace(&trace_file);
    trace->WriteHeader(HeaderFor(wo, plan, mutant));
    world.AddObserver(&*trace);
  }
  if (judged) world.AddObserver(&oracle);
  const absl::Status status =
      world.Run([&] { return oracle.violation().has_value(); });
  if (trace.has_value()) trace->Finish(oracle.violation());

  auto plan_text = [&] {
    return absl::StrCat(kSeedLine, wo.seed, "\n",
                        proctor::sim::FormatFaultPlan(plan));
  };
  if (std::optional<proctor::sim::Violation> v = oracle.violation()) {
    proctor::fuzz::Finding(
        kTarget, absl::StrCat(v->rule, " broken at event ", v->seq, " (",
                              proctor::FormatInstant(v->at), "): ", v->message,
                              "\n--- plan:\n", plan_text()));
  }
  if (!status.ok()) {
    // A printed plan may ask for any amount of traffic (a burst of a
    // billion messages); only then is running out of budget not a finding.
    if (!judged && status.code() == absl::StatusCode::kResourceExhausted &&
        absl::StrContains(status.message(), "event budget exhausted")) {
      return 0;
    }
    proctor::fuzz::Finding(kTarget,
                           absl::StrCat("the run failed: ", status.ToString(),
                                        "\n--- plan:\n", plan_text()));
  }
  return 0;
}
