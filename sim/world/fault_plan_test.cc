#include "sim/world/fault_plan.h"

#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/world/fault_kind.h"

namespace proctor::sim {
namespace {

using ::testing::HasSubstr;

TEST(FaultKindTest, NamesAreStableSnakeCaseAndParseBack) {
  ASSERT_EQ(AllFaultKinds().size(), kFaultKindCount);
  std::set<std::string> names;
  for (size_t i = 0; i < AllFaultKinds().size(); ++i) {
    const FaultKind kind = AllFaultKinds()[i];
    EXPECT_EQ(FaultKindIndex(kind), i);
    const absl::string_view name = FaultKindName(kind);
    for (char c : name) {
      EXPECT_TRUE(absl::ascii_islower(static_cast<unsigned char>(c)) ||
                  c == '_')
          << name;
    }
    EXPECT_EQ(ParseFaultKind(name), kind);
    names.insert(std::string(name));
  }
  EXPECT_EQ(names.size(), kFaultKindCount);
  EXPECT_EQ(FaultKindName(FaultKind::kGuestHang), "guest_hang");
  EXPECT_EQ(FaultKindName(FaultKind::kHandleWake), "handle_wake");
  EXPECT_EQ(ParseFaultKind("GUEST_HANG"), std::nullopt);
  EXPECT_EQ(ParseFaultKind(""), std::nullopt);
}

TEST(FaultPlanTest, FormatsAFaultOnOneLine) {
  const Fault f{Instant::FromNanos(1'250'000'000), FaultKind::kGuestHang, 5, 0,
                0};
  EXPECT_EQ(FormatFault(f), "at=1.250000000s kind=guest_hang target=5 a=0 b=0");
  const Fault g{Instant::FromNanos(7), FaultKind::kCompletionDelay, 0, -3, 40};
  EXPECT_EQ(FormatFault(g),
            "at=0.000000007s kind=completion_delay target=0 a=-3 b=40");
}

TEST(FaultPlanTest, ParsesWhatItFormatsAndFieldsInAnyOrder) {
  const Fault f{Instant::FromNanos(61'000'000'001), FaultKind::kAgentRefuses, 3,
                12, -1};
  EXPECT_EQ(ParseFault(FormatFault(f)).value(), f);
  EXPECT_EQ(
      ParseFault("  b=-1\ta=12 kind=agent_refuses target=3 at=61.000000001s ")
          .value(),
      f);
  // Fewer fraction digits, and none, read back exactly.
  EXPECT_EQ(ParseFault("at=2.5s kind=guest_hang target=1 a=0 b=0")->at,
            Instant::FromNanos(2'500'000'000));
  EXPECT_EQ(ParseFault("at=2s kind=guest_hang target=1 a=0 b=0")->at,
            Instant::FromNanos(2'000'000'000));
}

TEST(FaultPlanTest, ParseErrorsNameTheField) {
  struct Case {
    const char* line;
    const char* error;
  };
  const Case cases[] = {
      {"kind=guest_hang target=1 a=0 b=0", "field 'at': missing"},
      {"at=1s target=1 a=0 b=0", "field 'kind': missing"},
      {"at=1s kind=guest_hang a=0 b=0", "field 'target': missing"},
      {"at=1s kind=guest_hang target=1 b=0", "field 'a': missing"},
      {"at=1s kind=guest_hang target=1 a=0", "field 'b': missing"},
      {"at=1.5 kind=guest_hang target=1 a=0 b=0",
       "field 'at': '1.5' is not a time like 1.250000000s"},
      {"at=-1s kind=guest_hang target=1 a=0 b=0",
       "field 'at': '-1s' is not a time like 1.250000000s"},
      {"at=1.0000000001s kind=guest_hang target=1 a=0 b=0",
       "field 'at': '1.0000000001s' is not a time"},
      {"at=1s kind=bogus target=1 a=0 b=0",
       "field 'kind': unknown fault kind 'bogus'"},
      {"at=1s kind=guest_hang target=-1 a=0 b=0",
       "field 'target': '-1' is not an unsigned integer"},
      {"at=1s kind=guest_hang target=1 a=x b=0",
       "field 'a': 'x' is not an integer"},
      {"at=1s kind=guest_hang target=1 a=0 b=",
       "field 'b': '' is not an integer"},
      {"at=1s at=2s kind=guest_hang target=1 a=0 b=0",
       "field 'at': given twice"},
      {"at=1s kind=guest_hang target=1 a=0 b=0 c=1", "unknown field 'c'"},
      {"at=1s guest_hang", "'guest_hang' is not a field (expected key=value)"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Fault> parsed = ParseFault(c.line);
    ASSERT_FALSE(parsed.ok()) << c.line;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(c.error))
        << c.line;
  }
}

TEST(FaultPlanTest, PlanFormatStartsWithTheEnabledKinds) {
  FaultPlan plan;
  plan.enabled = {FaultKind::kGuestHang, FaultKind::kAgentRefuses};
  plan.faults = {
      {Instant::FromNanos(1'250'000'000), FaultKind::kGuestHang, 5, 0, 0},
      {Instant::FromNanos(3'000'000'000), FaultKind::kAgentRefuses, 1, 4, 0}};
  const std::string text = FormatFaultPlan(plan);
  EXPECT_EQ(text,
            "enabled=guest_hang,agent_refuses\n"
            "at=1.250000000s kind=guest_hang target=5 a=0 b=0\n"
            "at=3.000000000s kind=agent_refuses target=1 a=4 b=0\n");
  EXPECT_EQ(ParseFaultPlan(text).value(), plan);
  EXPECT_EQ(FormatFaultPlan(FaultPlan{}), "enabled=\n");
  EXPECT_EQ(ParseFaultPlan("enabled=\n").value(), FaultPlan{});
  // Comments and blank lines are skipped.
  EXPECT_EQ(ParseFaultPlan("# a plan\n\n" + text + "\n").value(), plan);
}

TEST(FaultPlanTest, GeneratedPlansRoundTrip) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    for (bool swarm : {false, true}) {
      WorldOptions options;
      options.seed = seed;
      options.swarm = swarm;
      const FaultPlan plan = GenerateFaultPlan(options);
      absl::StatusOr<FaultPlan> parsed = ParseFaultPlan(FormatFaultPlan(plan));
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      EXPECT_EQ(*parsed, plan) << "seed " << seed << " swarm " << swarm;
    }
  }
}

TEST(FaultPlanTest, PlanParseErrorsNameTheLine) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"", "line 1: missing the list of enabled kinds"},
      {"at=1s kind=guest_hang target=1 a=0 b=0\n",
       "line 1: expected the list of enabled kinds first"},
      {"enabled=guest_hang,bogus\n",
       "line 1: field 'enabled': unknown fault kind 'bogus'"},
      {"enabled=guest_hang,guest_hang\n",
       "line 1: field 'enabled': fault kind 'guest_hang' listed twice"},
      {"enabled=guest_hang\nat=1s kind=guest_hang target=1 a=0 b=0\n"
       "at=2s kind=bogus target=1 a=0 b=0\n",
       "line 3: field 'kind': unknown fault kind 'bogus'"},
      {"enabled=guest_hang\n\n# note\nat=1s kind=agent_refuses target=1 a=0 "
       "b=0\n",
       "line 4: field 'kind': fault kind 'agent_refuses' is not enabled"},
      {"enabled=guest_hang\nat=1s kind=guest_hang a=0 b=0\n",
       "line 2: field 'target': missing"},
      {"enabled=\nenabled=guest_hang\n",
       "line 2: field 'enabled': given twice"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<FaultPlan> parsed = ParseFaultPlan(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(c.error))
        << c.text;
  }
}

TEST(FaultPlanTest, PlanParseRefusesMoreThanTheBound) {
  std::string text = "enabled=guest_hang\n";
  for (size_t i = 0; i <= kMaxPlanFaults; ++i) {
    text += "at=1s kind=guest_hang target=3 a=0 b=0\n";
  }
  absl::StatusOr<FaultPlan> parsed = ParseFaultPlan(text);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()),
              HasSubstr("more than 65536 faults"));
}

TEST(FaultPlanTest, GenerationIsAFunctionOfTheSeed) {
  WorldOptions a;
  a.seed = 17;
  WorldOptions b = a;
  EXPECT_EQ(GenerateFaultPlan(a), GenerateFaultPlan(b));
  b.seed = 18;
  EXPECT_NE(GenerateFaultPlan(a), GenerateFaultPlan(b));
}

TEST(FaultPlanTest, WithoutSwarmEveryKindIsEnabledAndPlannedInTheWindow) {
  for (uint64_t seed = 0; seed < 100; ++seed) {
    WorldOptions options;
    options.seed = seed;
    const FaultPlan plan = GenerateFaultPlan(options);
    EXPECT_EQ(plan.enabled.size(), kFaultKindCount);
    // One of each kind, but handle_wake needs a handle wake source, which
    // some worlds lack; then up to 3 more.
    std::set<FaultKind> kinds;
    for (const Fault& f : plan.faults) kinds.insert(f.kind);
    EXPECT_GE(kinds.size(), kFaultKindCount - 1);
    EXPECT_LE(plan.faults.size(), kFaultKindCount + 3);
    Instant last;
    for (const Fault& f : plan.faults) {
      EXPECT_GE(f.at, last) << "sorted by time";
      last = f.at;
      EXPECT_LT(f.at.ns,
                absl::ToInt64Nanoseconds(options.workload.fault_window));
    }
  }
}

TEST(FaultPlanTest, SwarmEnablesRandomSubsetsIncludingNone) {
  std::set<std::vector<FaultKind>> subsets;
  int empty = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    WorldOptions options;
    options.seed = seed;
    options.swarm = true;
    const FaultPlan plan = GenerateFaultPlan(options);
    subsets.insert(plan.enabled);
    if (plan.enabled.empty()) {
      ++empty;
      EXPECT_TRUE(plan.faults.empty());
    }
    for (const Fault& f : plan.faults) {
      EXPECT_NE(std::find(plan.enabled.begin(), plan.enabled.end(), f.kind),
                plan.enabled.end());
    }
  }
  EXPECT_GT(empty, 5);
  EXPECT_GT(subsets.size(), 100u);
}

}  // namespace
}  // namespace proctor::sim
