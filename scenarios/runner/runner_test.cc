#include "scenarios/runner/runner.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/trace/trace.h"

namespace proctor::scenario {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

VmConfig KernelConfig(uint32_t cid) {
  VmConfig config;
  config.cid = Cid{cid};
  config.kernel = "/images/vmlinux";
  return config;
}

Step At(absl::Duration at, sim::ScriptOp op) {
  Step step{Trigger{at, std::nullopt, absl::ZeroDuration()}, std::move(op), {}};
  return step;
}

Step After(EventPattern pattern, absl::Duration delay, sim::ScriptOp op) {
  return Step{
      Trigger{std::nullopt, std::move(pattern), delay}, std::move(op), {}};
}

Expectation EventWithin(std::string kind, json where, absl::Duration until,
                        std::string rule) {
  Expectation x;
  x.kind = Expectation::Kind::kEvent;
  x.pattern = EventPattern{std::move(kind), std::move(where), {}};
  x.window.until = until;
  x.rule = std::move(rule);
  return x;
}

Expectation Never(std::string kind, json where, std::string rule) {
  Expectation x;
  x.kind = Expectation::Kind::kNever;
  x.pattern = EventPattern{std::move(kind), std::move(where), {}};
  x.rule = std::move(rule);
  return x;
}

// VM 3 boots with hangup detection on (10 s) and its VMM crashes during
// boot; a shutdown at 20 s ends the run.
Scenario CrashDuringBoot() {
  Scenario s;
  s.file = "crash.yaml";
  s.name = "crash-during-boot";
  s.rules = {"VM-5", "VM-6"};
  s.worlds = {WorldKind::kSim};
  VmSetup vm;
  vm.config = KernelConfig(3);
  vm.config.detect_hangup = true;
  vm.config.hangup_timeout = absl::Seconds(10);
  s.setup.vms.push_back(vm);
  s.steps.push_back(At(
      absl::ZeroDuration(),
      sim::script_op::InjectFault{sim::FaultKind::kVmmCrashAtBoot, 3, 0, 0}));
  s.steps.push_back(
      At(absl::ZeroDuration(), sim::script_op::CreateVm{vm.config}));
  s.steps.push_back(
      At(absl::Milliseconds(10), sim::script_op::StartVm{Cid{3}}));
  s.steps.push_back(At(absl::Seconds(20), sim::script_op::Shutdown{}));
  s.expect.push_back(EventWithin("on_died", {{"cid", 3}, {"reason", "CRASH"}},
                                 absl::Seconds(2), "VM-6"));
  s.expect.push_back(Never("on_died", {{"reason", "HANGUP"}}, "VM-5"));
  return s;
}

TEST(RunnerTest, VM5_CrashDuringBootWithHangupDetectionDiesOfCrashAtOnce) {
  const ScenarioResult r = RunInSim(CrashDuringBoot(), {});
  EXPECT_TRUE(r.error.ok()) << r.error;
  EXPECT_TRUE(r.passed()) << (r.findings.empty() ? "" : r.findings[0].seen);
  EXPECT_GT(r.events, 10u);
}

TEST(RunnerTest, VM5_MutantThatIgnoresTheExitIsCaught) {
  const ScenarioResult r =
      RunInSim(CrashDuringBoot(), {.mutant = Mutant::kHangupIgnoresExit});
  ASSERT_FALSE(r.passed());
  // The explicit expectation fails first, then the oracle's rule.
  EXPECT_EQ(r.FirstRule(), "VM-6");
  bool oracle_vm5 = false;
  for (const Finding& f : r.findings) oracle_vm5 |= f.rule == "VM-5";
  EXPECT_TRUE(oracle_vm5);
}

TEST(RunnerTest, VM6_FailedExpectationSaysWhatWasSeenInstead) {
  Scenario s = CrashDuringBoot();
  s.expect = {EventWithin("on_died", {{"cid", 3}, {"reason", "SHUTDOWN"}},
                          absl::Seconds(2), "VM-6")};
  const ScenarioResult r = RunInSim(s, {});
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].rule, "VM-6");
  EXPECT_EQ(r.findings[0].expected,
            "on_died {\"cid\":3,\"reason\":\"SHUTDOWN\"} within [0, 2s]");
  EXPECT_THAT(r.findings[0].seen,
              HasSubstr("on_died {\"cid\":3,\"reason\":\"CRASH\"} at "));
}

TEST(RunnerTest, VM8_StepAfterAnEventKillsTheRunningVm) {
  Scenario s;
  s.file = "kill.yaml";
  s.name = "kill";
  s.rules = {"VM-8"};
  s.worlds = {WorldKind::kSim};
  VmSetup vm;
  vm.config = KernelConfig(3);
  s.setup.vms.push_back(vm);
  s.steps.push_back(
      At(absl::ZeroDuration(), sim::script_op::CreateVm{vm.config}));
  s.steps.push_back(At(absl::ZeroDuration(), sim::script_op::StartVm{Cid{3}}));
  s.steps.push_back(
      After(EventPattern{"payload_state", {{"cid", 3}, {"state", "READY"}}, {}},
            absl::Seconds(1), sim::script_op::KillVm{Cid{3}}));
  s.steps.push_back(At(absl::Seconds(30), sim::script_op::Shutdown{}));
  Expectation killed =
      EventWithin("on_died", {{"cid", 3}, {"reason", "KILLED"}},
                  absl::Milliseconds(1100), "VM-8");
  killed.window.from = absl::Seconds(1);
  killed.window.after = EventPattern{"payload_state", {{"state", "READY"}}, {}};
  s.expect.push_back(killed);
  Expectation final_state;
  final_state.kind = Expectation::Kind::kFinal;
  final_state.final_state.vms = {{3, "DEAD"}};
  final_state.final_state.payloads = {{3, "READY"}};
  final_state.final_state.shutdown_complete = true;
  s.expect.push_back(final_state);
  const ScenarioResult r = RunInSim(s, {});
  EXPECT_TRUE(r.passed()) << (r.findings.empty()
                                  ? r.error.ToString()
                                  : r.findings[0].expected + " / " +
                                        r.findings[0].seen);
}

TEST(RunnerTest, RT2_FinalStateMismatchListsEachDifference) {
  Scenario s = CrashDuringBoot();
  Expectation final_state;
  final_state.kind = Expectation::Kind::kFinal;
  final_state.rule = "RT-2";
  final_state.final_state.vms = {{3, "RUNNING"}};
  final_state.final_state.suspended = true;
  s.expect = {final_state};
  const ScenarioResult r = RunInSim(s, {});
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].seen,
            "vm 3: expected RUNNING, ended DEAD\n"
            "suspended: expected true, ended false");
}

TEST(RunnerTest, RT1_TimeLimitCutsAnEndlessRunShort) {
  Scenario s = CrashDuringBoot();
  s.steps.pop_back();  // no shutdown: the hung guest would run forever
  s.steps[0] =
      At(absl::ZeroDuration(),
         sim::script_op::InjectFault{sim::FaultKind::kGuestHang, 3, 0, 0});
  s.setup.vms[0].config.detect_hangup = false;
  s.steps[1] =
      At(absl::ZeroDuration(), sim::script_op::CreateVm{s.setup.vms[0].config});
  // A wake source signalled every so often keeps the world busy.
  s.setup.wake_sources = 1;
  s.expect.clear();
  s.time_limit = absl::Seconds(5);
  for (int i = 0; i < 20; ++i) {
    s.steps.push_back(
        At(absl::Seconds(i),
           sim::script_op::SignalWakeSource{1, absl::Milliseconds(1), true}));
  }
  const ScenarioResult r = RunInSim(s, {});
  EXPECT_EQ(r.error.code(), absl::StatusCode::kDeadlineExceeded) << r.error;
  EXPECT_THAT(r.error.message(), HasSubstr("time limit of 5s"));
}

TEST(RunnerTest, VM6_TraceCarriesTheScenarioAndTheVerdict) {
  std::stringstream out;
  const ScenarioResult r = RunInSim(
      CrashDuringBoot(), {.mutant = Mutant::kHangupIgnoresExit, .trace = &out});
  ASSERT_FALSE(r.passed());
  sim::TraceReader reader(&out, "crash.jsonl");
  absl::StatusOr<sim::TraceHeader> header = reader.ReadHeader();
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->mutant, "hangup-ignores-exit");
  EXPECT_EQ(header->workload["scenario_file"], "crash.yaml");
  EXPECT_TRUE(header->workload["scenario"].is_string());
  while (true) {
    auto event = reader.Next();
    ASSERT_TRUE(event.ok()) << event.status();
    if (!event->has_value()) break;
  }
  ASSERT_TRUE(reader.end().has_value());
  ASSERT_TRUE(reader.end()->violation.has_value());
  EXPECT_EQ(reader.end()->violation->rule, "VM-6");
}

TEST(RunnerTest, ReproduceCommandNamesFileWorldAndMutant) {
  Scenario s = CrashDuringBoot();
  s.file = "my scenarios/crash.yaml";
  EXPECT_EQ(ReproduceCommand(s, WorldKind::kSim, Mutant::kOnDiedTwice),
            "proctor run 'my scenarios/crash.yaml' --world sim --mutant "
            "on-died-twice");
}

}  // namespace
}  // namespace proctor::scenario
