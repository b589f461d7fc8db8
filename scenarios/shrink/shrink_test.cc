#include "scenarios/shrink/shrink.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scenarios/runner/runner.h"
#include "sim/world/fault_plan.h"

namespace proctor::scenario {
namespace {

using ::testing::HasSubstr;

// The failing seed of a default campaign, as `proctor sim` would record it.
FailingRun SimSeed(uint64_t seed, Mutant mutant, std::string rule) {
  FailingRun run;
  run.mutant = mutant;
  run.rule = std::move(rule);
  Scenario& s = run.scenario;
  s.name = absl::StrCat("seed-", seed);
  s.rules = {run.rule};
  s.worlds = {WorldKind::kSim};
  s.generated = GeneratedWorkload{};
  s.generated->seed = seed;
  sim::WorldOptions wo;
  wo.seed = seed;
  s.faults = sim::GenerateFaultPlan(wo).faults;
  return run;
}

TEST(ShrinkTest, VM7_SimSeedShrinksToAFewFaultsAndStillFails) {
  const FailingRun run = SimSeed(7, Mutant::kOnDiedTwice, "VM-7");
  ASSERT_TRUE(FailsWith(run.scenario, run.mutant, "VM-7"));
  absl::StatusOr<ShrinkResult> r = Shrink(run, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_LT(r->size_after, r->size_before);
  EXPECT_LE(r->scenario.faults.size(), 3u);
  // Told as explicit steps, a handful of them.
  EXPECT_TRUE(r->explicit_steps);
  EXPECT_FALSE(r->scenario.generated.has_value());
  EXPECT_LE(r->scenario.steps.size(), 6u) << FormatScenario(r->scenario);
  EXPECT_EQ(r->scenario.rules, std::vector<std::string>{"VM-7"});
  EXPECT_TRUE(FailsWith(r->scenario, run.mutant, "VM-7"));
  // What is written is what fails.
  absl::StatusOr<Scenario> reloaded =
      ParseScenario(FormatScenario(r->scenario), "shrunk.yaml");
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_TRUE(FailsWith(*reloaded, run.mutant, "VM-7"));
  // Without the mutant the shrunk scenario passes.
  EXPECT_TRUE(RunInSim(*reloaded, {}).passed());
}

TEST(ShrinkTest, VM5_ScriptDropsStepsAndObjectsThatDoNotMatter) {
  FailingRun run;
  run.mutant = Mutant::kHangupIgnoresExit;
  run.rule = "VM-5";
  Scenario& s = run.scenario;
  s.file = "crash.yaml";
  s.name = "crash";
  s.rules = {"VM-5"};
  s.worlds = {WorldKind::kSim};
  VmSetup vm;
  vm.config.cid = Cid{3};
  vm.config.kernel = "/images/vmlinux";
  vm.config.detect_hangup = true;
  s.setup.vms.push_back(vm);
  VmSetup other = vm;
  other.config.cid = Cid{4};
  other.config.detect_hangup = false;
  s.setup.vms.push_back(other);
  s.setup.proxies = {ProxyId{1}};
  auto at = [](absl::Duration t, sim::ScriptOp op) {
    return Step{
        Trigger{t, std::nullopt, absl::ZeroDuration()}, std::move(op), {}};
  };
  s.steps = {
      at(absl::Seconds(1), sim::script_op::AddProxy{ProxyId{1}}),
      at(absl::Seconds(2), sim::script_op::Send{ProxyId{1}, false, 3, 64}),
      at(absl::Seconds(3), sim::script_op::CreateVm{other.config}),
      at(absl::Seconds(3), sim::script_op::StartVm{Cid{4}}),
      at(absl::Seconds(4),
         sim::script_op::InjectFault{sim::FaultKind::kVmmCrashAtBoot, 3, 0, 0}),
      at(absl::Seconds(4), sim::script_op::CreateVm{vm.config}),
      at(absl::Seconds(5), sim::script_op::StartVm{Cid{3}}),
      at(absl::Seconds(40), sim::script_op::Shutdown{}),
  };
  absl::StatusOr<ShrinkResult> r = Shrink(run, {});
  ASSERT_TRUE(r.ok()) << r.status();
  const Scenario& shrunk = r->scenario;
  EXPECT_LE(shrunk.steps.size(), 3u) << FormatScenario(shrunk);
  ASSERT_EQ(shrunk.setup.vms.size(), 1u);
  EXPECT_EQ(shrunk.setup.vms[0].config.cid, Cid{3});
  EXPECT_TRUE(shrunk.setup.proxies.empty());
  EXPECT_LT(r->last_time_after, r->last_time_before);
  EXPECT_TRUE(FailsWith(shrunk, run.mutant, "VM-5"));
  absl::StatusOr<Scenario> reloaded =
      ParseScenario(FormatScenario(shrunk), "shrunk.yaml");
  ASSERT_TRUE(reloaded.ok()) << reloaded.status() << "\n"
                             << FormatScenario(shrunk);
  EXPECT_TRUE(FailsWith(*reloaded, run.mutant, "VM-5"));
}

TEST(ShrinkTest, VM7_WithoutExplicitStepsTheGeneratedFormIsKept) {
  const FailingRun run = SimSeed(7, Mutant::kOnDiedTwice, "VM-7");
  ShrinkOptions options;
  options.explicit_steps = false;
  absl::StatusOr<ShrinkResult> r = Shrink(run, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->explicit_steps);
  ASSERT_TRUE(r->scenario.generated.has_value());
  EXPECT_TRUE(FailsWith(r->scenario, run.mutant, "VM-7"));
}

TEST(ShrinkTest, RT1_PassingRunIsRefused) {
  FailingRun run = SimSeed(1, Mutant::kOnDiedTwice, "VM-7");
  run.mutant.reset();
  absl::StatusOr<ShrinkResult> r = Shrink(run, {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("does not fail with VM-7"));
}

TEST(ShrinkTest, RT1_TraceOfAPassingRunHasNothingToShrink) {
  std::stringstream trace;
  Scenario s;
  s.file = "pass.yaml";
  s.name = "pass";
  s.rules = {"RT-2"};
  s.worlds = {WorldKind::kSim};
  s.steps = {Step{Trigger{absl::Seconds(1), std::nullopt, absl::ZeroDuration()},
                  sim::script_op::Shutdown{},
                  {}}};
  ASSERT_TRUE(RunInSim(s, {.mutant = std::nullopt, .trace = &trace}).passed());
  sim::TraceReader reader(&trace, "pass.jsonl");
  absl::StatusOr<FailingRun> run = FailingRunOfTrace(reader);
  EXPECT_EQ(run.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(run.status().message(), HasSubstr("nothing to shrink"));
}

}  // namespace
}  // namespace proctor::scenario
