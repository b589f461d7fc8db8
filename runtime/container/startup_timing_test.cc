#include "runtime/container/startup_timing.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace proctor {
namespace {

Instant At(int64_t ms) { return Instant{} + absl::Milliseconds(ms); }

TEST(StartupTimingTest, CN10_RecordsEachPhaseAndTheTotal) {
  StartupTimingRecorder recorder;
  recorder.Begin(At(1000));
  recorder.Mark(StartupPhase::kVmBoot, At(1000), At(1300));
  recorder.Mark(StartupPhase::kAgentConnect, At(1300), At(1500));
  recorder.Mark(StartupPhase::kCreateProcess, At(1500), At(1520));
  recorder.Mark(StartupPhase::kStartProcess, At(1530), At(1540));
  const StartupTiming timing = recorder.Finish(At(1600));

  StartupTiming expected;
  expected.vm_boot = absl::Milliseconds(300);
  expected.agent_connect = absl::Milliseconds(200);
  expected.create_process = absl::Milliseconds(20);
  expected.start_process = absl::Milliseconds(10);
  expected.total = absl::Milliseconds(600);
  EXPECT_EQ(timing, expected);
  EXPECT_TRUE(recorder.finished());
}

TEST(StartupTimingTest, CN10_PhasesNeverExceedTotal) {
  StartupTimingRecorder recorder;
  recorder.Begin(At(0));
  recorder.Mark(StartupPhase::kVmBoot, At(0), At(40));
  recorder.Mark(StartupPhase::kSpecBuild, At(40), At(40));
  recorder.Mark(StartupPhase::kAgentConnect, At(40), At(90));
  recorder.Mark(StartupPhase::kSocketRelays, At(90), At(90));
  recorder.Mark(StartupPhase::kStdioPrepare, At(90), At(91));
  recorder.Mark(StartupPhase::kConfigWrite, At(91), At(95));
  recorder.Mark(StartupPhase::kRequestEncode, At(95), At(95));
  recorder.Mark(StartupPhase::kCreateProcess, At(95), At(97));
  recorder.Mark(StartupPhase::kStartGateWait, At(97), At(98));
  recorder.Mark(StartupPhase::kStartProcess, At(98), At(100));
  const StartupTiming timing = recorder.Finish(At(100));
  EXPECT_EQ(timing.total, absl::Milliseconds(100));
  EXPECT_EQ(timing.PhaseSum(), absl::Milliseconds(100));
  for (absl::Duration phase :
       {timing.vm_boot, timing.spec_build, timing.agent_connect,
        timing.socket_relays, timing.stdio_prepare, timing.config_write,
        timing.request_encode, timing.create_process, timing.start_gate_wait,
        timing.start_process}) {
    EXPECT_LE(phase, timing.total);
  }
}

TEST(StartupTimingTest, CN10_RepeatedMarksOfAPhaseAccumulate) {
  StartupTimingRecorder recorder;
  recorder.Begin(At(0));
  recorder.Mark(StartupPhase::kAgentConnect, At(0), At(5));
  recorder.Mark(StartupPhase::kAgentConnect, At(8), At(10));
  EXPECT_EQ(recorder.Finish(At(10)).agent_connect, absl::Milliseconds(7));
}

TEST(StartupTimingTest, CN10_EmptyStartIsAllZero) {
  StartupTimingRecorder recorder;
  recorder.Begin(At(5));
  EXPECT_EQ(recorder.Finish(At(5)), StartupTiming{});
}

TEST(StartupTimingTest, CN10_PhaseNamesAreStable) {
  EXPECT_EQ(StartupPhaseName(StartupPhase::kVmBoot), "vm_boot");
  EXPECT_EQ(StartupPhaseName(StartupPhase::kStartGateWait), "start_gate_wait");
  EXPECT_EQ(StartupPhaseName(StartupPhase::kStartProcess), "start_process");
}

using StartupTimingDeathTest = ::testing::Test;

TEST(StartupTimingDeathTest, CN10_OverlappingPhasesAreAProctorBug) {
  StartupTimingRecorder recorder;
  recorder.Begin(At(0));
  recorder.Mark(StartupPhase::kVmBoot, At(0), At(50));
  EXPECT_DEATH(recorder.Mark(StartupPhase::kAgentConnect, At(40), At(60)),
               "invariant violated: start >= last_end_");
}

TEST(StartupTimingDeathTest, CN10_PhaseBeforeBeginIsAProctorBug) {
  StartupTimingRecorder recorder;
  recorder.Begin(At(10));
  EXPECT_DEATH(recorder.Mark(StartupPhase::kVmBoot, At(5), At(20)),
               "invariant violated: start >= last_end_");
}

TEST(StartupTimingDeathTest, CN10_FinishBeforeLastPhaseEndsIsAProctorBug) {
  StartupTimingRecorder recorder;
  recorder.Begin(At(0));
  recorder.Mark(StartupPhase::kVmBoot, At(0), At(50));
  EXPECT_DEATH(recorder.Finish(At(49)), "invariant violated: now >= last_end_");
}

}  // namespace
}  // namespace proctor
