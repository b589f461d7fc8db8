// Whole-world properties (RT-1 and every rule the oracle judges): for any
// fault plan over a small fixed workload, the reference runtime runs the
// world to its end with no violation; and for every mutant of the reference
// (runtime/model/mutants.h), RapidCheck finds a fault plan under which the
// oracle reports a violation, and shrinks it to a small one.
//
// The runs are built exactly as sim/campaign/campaign.cc's RunSeed builds
// them: WorldOptions from the seed and the workload, a ReferenceSut with
// SupervisorOptionsForWorkload, the World, and an Oracle observer that stops
// the run at its first violation. Only the fault plan differs: it is
// generated (and shrunk) by RapidCheck instead of GenerateFaultPlan.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "runtime/model/mutants.h"
#include "runtime/model/time.h"
#include "sim/campaign/campaign.h"
#include "sim/observer.h"
#include "sim/oracle/oracle.h"
#include "sim/sut.h"
#include "sim/world/fault_kind.h"
#include "sim/world/fault_plan.h"
#include "sim/world/world.h"
#include "sim/world/world_options.h"

namespace proctor::sim {

// How RapidCheck prints a generated plan: its text form (fault_plan.h), so a
// counterexample can be pasted into a plan file as it is.
void showValue(const FaultPlan& plan, std::ostream& os) {
  os << "\n" << FormatFaultPlan(plan);
}

namespace {

// The small fixed workload every generated plan targets.
constexpr uint32_t kVms = 2;         // cids 3 and 4
constexpr uint32_t kProxies = 2;     // proxies 1 and 2
constexpr uint32_t kContainers = 2;  // containers 1 and 2
constexpr int64_t kWindowMs = 10'000;
// Faults are armed in the first 90% of the window, as GenerateFaultPlan
// does, so that every fault has time to act before the quiet period.
constexpr int64_t kLastFaultMs = 9'000;
// At most this many faults in one plan.
constexpr int kMaxFaults = 24;
// Cases a mutant search may try before it gives up.
constexpr int kMutantSearchCases = 1000;
// A shrunk counterexample of a mutant holds at most this many faults (of up
// to kMaxFaults generated). RapidCheck leaves a plan from which no single
// fault can be removed; over 3,000 searches (300 runs of the ten mutants)
// 93% of the plans had at most one fault and none more than five: some
// mutants (hangup-ignores-exit most) need two or three faults that act
// together.
constexpr size_t kSmallPlan = 8;

constexpr int64_t kMs = 1'000'000;

WorkloadOptions SmallWorkload() {
  WorkloadOptions w;
  w.vms = kVms;
  w.proxies = kProxies;
  w.containers = kContainers;
  w.fault_window = absl::Milliseconds(kWindowMs);
  return w;
}

// One fault of any kind, aimed at an object of the small workload (or, a
// little of the time, at one that does not exist: the world must ignore it).
rc::Gen<Fault> GenFault() {
  return rc::gen::exec([] {
    const std::vector<FaultKind> kinds(AllFaultKinds().begin(),
                                       AllFaultKinds().end());
    Fault f;
    f.kind = *rc::gen::elementOf(kinds);
    f.at = Instant::FromNanos(*rc::gen::inRange<int64_t>(0, kLastFaultMs + 1) *
                              kMs);
    switch (FaultTargetOf(f.kind)) {
      case FaultTarget::kVm:
        f.target =
            *rc::gen::inRange<uint64_t>(kMinGuestCid, kMinGuestCid + kVms + 1);
        break;
      case FaultTarget::kContainer:
        f.target = *rc::gen::inRange<uint64_t>(1, kContainers + 2);
        break;
      case FaultTarget::kProxy:
        f.target = *rc::gen::inRange<uint64_t>(1, kProxies + 2);
        break;
      case FaultTarget::kAny:
        // 0 is every object; else a proxy, container or cid.
        f.target = *rc::gen::elementOf(
            std::vector<uint64_t>{0, 1, 2, kMinGuestCid, kMinGuestCid + 1});
        break;
      case FaultTarget::kHandleSource:
        f.target = *rc::gen::inRange<uint64_t>(1, 4);
        break;
    }
    auto in = [](int64_t lo, int64_t hi) {
      return *rc::gen::inRange<int64_t>(lo, hi + 1);
    };
    switch (f.kind) {
      case FaultKind::kGuestSlowStart:
        f.a = in(0, 5'000);
        break;
      case FaultKind::kFailureReason:
        f.a = in(0, 24);
        f.b = *rc::gen::elementOf(std::vector<int64_t>{0, 1, 7, 32, 33});
        break;
      case FaultKind::kPayloadOutOfOrder:
        f.a = in(0, 1);
        break;
      case FaultKind::kAgentRefuses:
        f.a = in(0, 30);
        break;
      case FaultKind::kAgentNeverAccepts:
        f.a = in(0, 12'000);
        break;
      case FaultKind::kBootTransientError:
        f.a = in(0, 4);
        break;
      case FaultKind::kRemoteBurstThenClose:
        f.a = in(0, 20);
        break;
      case FaultKind::kPeerOversizedMessage:
        f.b = in(0, 1);
        break;
      case FaultKind::kCompletionDelay:
        f.a = in(0, 1'000);
        f.b = in(0, 5'000);
        break;
      case FaultKind::kCgroupMemoryPressure:
        f.a = in(0, 20);
        break;
      case FaultKind::kHandleWake:
        f.b = in(0, 2'000);
        break;
      default:
        break;
    }
    return f;
  });
}

rc::Gen<FaultPlan> GenFaultPlan() {
  return rc::gen::map(
      rc::gen::resize(kMaxFaults,
                      rc::gen::container<std::vector<Fault>>(GenFault())),
      [](std::vector<Fault> faults) {
        std::stable_sort(
            faults.begin(), faults.end(),
            [](const Fault& x, const Fault& y) { return x.at < y.at; });
        FaultPlan plan;
        plan.faults = std::move(faults);
        plan.enabled.assign(AllFaultKinds().begin(), AllFaultKinds().end());
        return plan;
      });
}

struct Outcome {
  absl::Status status;
  std::optional<Violation> violation;
  WorldStats stats;
};

// As RunSeed (sim/campaign/campaign.cc), without the trace.
Outcome RunWorld(uint64_t seed, const FaultPlan& plan,
                 std::optional<Mutant> mutant) {
  WorldOptions wo;
  wo.seed = seed;
  wo.workload = SmallWorkload();
  ReferenceSut sut(SupervisorOptionsForWorkload(wo.workload, mutant));
  World world(wo, plan, &sut);
  Oracle oracle;
  world.AddObserver(&oracle);
  Outcome out;
  out.status = world.Run([&] { return oracle.violation().has_value(); });
  out.violation = oracle.violation();
  out.stats = world.stats();
  return out;
}

std::string Describe(const Outcome& out) {
  if (out.violation.has_value()) {
    return absl::StrCat(out.violation->rule, ": ", out.violation->message,
                        " (event ", out.violation->seq, " at ",
                        FormatInstant(out.violation->at), ")");
  }
  return out.status.ok() ? "no violation" : out.status.ToString();
}

// The property for every plan: no violation, and the world ran to its end.
void CheckNoViolation(std::optional<Mutant> mutant, Outcome* last_failure,
                      uint64_t* failed_seed, FaultPlan* failed_plan) {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(0, 1'000'000);
  const FaultPlan plan = *GenFaultPlan();
  Outcome out = RunWorld(seed, plan, mutant);
  const bool ok = !out.violation.has_value() && out.status.ok();
  if (!ok && last_failure != nullptr) {
    // RapidCheck only moves to a smaller case when it fails too, so the
    // last failing run is the shrunk counterexample.
    *last_failure = out;
    *failed_seed = seed;
    *failed_plan = plan;
  }
  uint64_t fired = 0;
  for (uint64_t n : out.stats.faults_fired) fired += n;
  RC_CLASSIFY(fired == 0, "no fault fired");
  RC_CLASSIFY(fired > 0 && fired < plan.faults.size(), "some faults fired");
  RC_CLASSIFY(fired > 0 && fired == plan.faults.size(), "every fault fired");
  if (!ok) RC_FAIL(Describe(out));
}

RC_GTEST_PROP(WorldProperty, RT1_InvariantsHoldForAnyFaultPlan, ()) {
  CheckNoViolation(std::nullopt, nullptr, nullptr, nullptr);
}

// Swallows the per-case events, so that an expected failure is not added to
// the "RC_PARAMS=reproduce" summary RapidCheck prints for real failures.
class QuietListener final : public rc::detail::TestListener {
 public:
  void onTestCaseFinished(const rc::detail::CaseDescription&) override {}
  void onShrinkTried(const rc::detail::CaseDescription&, bool) override {}
  void onTestFinished(const rc::detail::TestMetadata&,
                      const rc::detail::TestResult&) override {}
};

// Runs "the oracle finds no violation under `mutant`" as a RapidCheck
// property and expects it to FAIL: RapidCheck must find a plan that exposes
// the mutant and shrink it to a small one. The test's seed and case count
// come from RC_PARAMS like any other property's (seed=...; max_success=N
// raises the search budget above kMutantSearchCases); `reproduce=` works
// with the id "WorldProperty/<mutant name>".
void ExpectMutantFoundAndShrunk(Mutant mutant) {
  const MutantInfo& info = InfoOf(mutant);
  Outcome last;
  uint64_t seed = 0;
  FaultPlan plan;
  rc::detail::TestMetadata metadata;
  metadata.id = absl::StrCat("WorldProperty/", info.name);
  metadata.description = absl::StrCat("no violation under mutant ", info.name);
  QuietListener listener;
  // The search stops at the first failure, so a generous budget costs
  // nothing when the mutant is found; the rarest mutants need about 15
  // cases on average, so 100 would miss one now and then.
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.maxSuccess = std::max(params.maxSuccess, kMutantSearchCases);
  const rc::detail::TestResult result = rc::detail::checkProperty(
      rc::detail::toProperty(
          [&] { CheckNoViolation(mutant, &last, &seed, &plan); }),
      metadata, params, listener, rc::detail::configuration().reproduce);
  std::ostringstream report;
  rc::detail::printResultMessage(result, report);
  ASSERT_TRUE(result.is<rc::detail::FailureResult>())
      << "mutant " << info.name << " (" << info.rule
      << ") was not found by RapidCheck:\n"
      << report.str();
  const auto& failure = result.get<rc::detail::FailureResult>();
  std::cout << "mutant " << info.name << " (" << info.rule << "): found after "
            << failure.numSuccess << " passing case(s); shrunk to seed " << seed
            << " with " << plan.faults.size() << " fault(s), "
            << last.stats.events << " events\n  " << Describe(last) << "\n"
            << FormatFaultPlan(plan);
  // The same counterexample again, without the search:
  rc::detail::Configuration again = rc::detail::configuration();
  again.reproduce = {{metadata.id, failure.reproduce}};
  std::cout << "  reproduce: RC_PARAMS=\""
            << rc::detail::configToMinimalString(again) << "\" --gtest_filter="
            << ::testing::UnitTest::GetInstance()
                   ->current_test_info()
                   ->test_suite_name()
            << "."
            << ::testing::UnitTest::GetInstance()->current_test_info()->name()
            << "\n";
  ASSERT_TRUE(last.violation.has_value()) << Describe(last);
  EXPECT_EQ(last.violation->rule, info.rule)
      << "mutant " << info.name
      << " was caught under another rule: " << Describe(last);
  EXPECT_LE(plan.faults.size(), kSmallPlan)
      << "the shrunk counterexample is not small:\n"
      << report.str();
}

// One test per mutant, named after the rule it breaks. The list is checked
// against AllMutants() below, so a new mutant cannot go untested.
#define PROCTOR_MUTANT_PROPERTY(RULE, NAME, MUTANT)            \
  TEST(WorldProperty, RULE##_Mutant##NAME##IsFoundAndShrunk) { \
    ExpectMutantFoundAndShrunk(Mutant::MUTANT);                \
  }

PROCTOR_MUTANT_PROPERTY(PX3, ProxyOnePerWake, kProxyOnePerWake)
PROCTOR_MUTANT_PROPERTY(PX2, ProxyCountAfterWrite, kProxyCountAfterWrite)
PROCTOR_MUTANT_PROPERTY(VM4, PayloadBackward, kPayloadBackward)
PROCTOR_MUTANT_PROPERTY(VM5, HangupIgnoresExit, kHangupIgnoresExit)
PROCTOR_MUTANT_PROPERTY(VM6, FailureReasonIgnored, kFailureReasonIgnored)
PROCTOR_MUTANT_PROPERTY(PW3, SuspendIgnoresCounters, kSuspendIgnoresCounters)
PROCTOR_MUTANT_PROPERTY(CN4, StopSleepsWholeGrace, kStopSleepsWholeGrace)
PROCTOR_MUTANT_PROPERTY(CN7, PortsWrapAround, kPortsWrapAround)
PROCTOR_MUTANT_PROPERTY(VM7, OnDiedTwice, kOnDiedTwice)
PROCTOR_MUTANT_PROPERTY(CN8, GuestPathDotDot, kGuestPathDotDot)

#undef PROCTOR_MUTANT_PROPERTY

TEST(WorldProperty, EveryMutantHasAProperty) {
  // The mutants with a test above, in the order of kMutants.
  const std::vector<std::pair<Mutant, absl::string_view>> tested = {
      {Mutant::kProxyOnePerWake, "PX-3"},
      {Mutant::kProxyCountAfterWrite, "PX-2"},
      {Mutant::kPayloadBackward, "VM-4"},
      {Mutant::kHangupIgnoresExit, "VM-5"},
      {Mutant::kFailureReasonIgnored, "VM-6"},
      {Mutant::kSuspendIgnoresCounters, "PW-3"},
      {Mutant::kStopSleepsWholeGrace, "CN-4"},
      {Mutant::kPortsWrapAround, "CN-7"},
      {Mutant::kOnDiedTwice, "VM-7"},
      {Mutant::kGuestPathDotDot, "CN-8"},
  };
  ASSERT_EQ(AllMutants().size(), tested.size());
  for (size_t i = 0; i < tested.size(); ++i) {
    EXPECT_EQ(AllMutants()[i].mutant, tested[i].first) << i;
    EXPECT_EQ(AllMutants()[i].rule, tested[i].second) << i;
  }
}

}  // namespace
}  // namespace proctor::sim
