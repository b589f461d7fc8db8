#include "sim/world/guest_life.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace proctor::sim {
namespace {

using Kind = GuestLifeStep::Kind;

constexpr int64_t kMs = 1'000'000;

TEST(GuestLifeTest, VM4_ScriptedGuestFollowsItsTimings) {
  ScriptedGuest guest;
  guest.started_after = absl::Milliseconds(500);
  guest.ready_after = absl::Milliseconds(100);
  guest.finish_after = absl::Seconds(1);
  guest.exit_code = 7;
  Prng rng(1);
  const GuestLife life = PlanGuestLife(rng, &guest, nullptr, false);
  EXPECT_FALSE(life.hangs);
  EXPECT_EQ(life.failure_bytes, "");
  ASSERT_EQ(life.steps.size(), 4u);
  EXPECT_EQ(life.steps[0],
            (GuestLifeStep{Kind::kReport, 500 * kMs, PayloadState::kStarted,
                           ExitStatus::Exited(0)}));
  EXPECT_EQ(life.steps[1].state, PayloadState::kReady);
  EXPECT_EQ(life.steps[1].at_ns, 600 * kMs);
  EXPECT_EQ(life.steps[2].state, PayloadState::kFinished);
  EXPECT_EQ(life.steps[2].at_ns, 1600 * kMs);
  EXPECT_EQ(life.steps[3].kind, Kind::kExit);
  EXPECT_EQ(life.steps[3].at_ns, 1601 * kMs);
  EXPECT_EQ(life.steps[3].status, ExitStatus::Exited(7));
}

TEST(GuestLifeTest, VM4_ScriptedGuestWithoutFinishRunsUntilKilled) {
  ScriptedGuest guest;
  Prng rng(1);
  const GuestLife life = PlanGuestLife(rng, &guest, nullptr, false);
  ASSERT_EQ(life.steps.size(), 2u);
  EXPECT_EQ(life.steps[1].state, PayloadState::kReady);
}

TEST(GuestLifeTest, VM6_FailureReasonIsWrittenAndTheExitCodeIsTheFaults) {
  ScriptedGuest guest;
  Fault fault;
  fault.kind = FaultKind::kFailureReason;
  fault.a = 12;  // the third reason with a trailing newline
  fault.b = 7;
  Prng rng(3);
  const GuestLife life = PlanGuestLife(rng, &guest, &fault, false);
  EXPECT_EQ(life.failure_bytes, "BOOTLOADER_PUBLIC_KEY_MISMATCH\n");
  ASSERT_FALSE(life.steps.empty());
  EXPECT_EQ(life.steps.back().kind, Kind::kExit);
  EXPECT_EQ(life.steps.back().status, ExitStatus::Exited(7));
  EXPECT_GE(life.steps.back().at_ns, 500 * kMs + 100 * kMs);
  EXPECT_LE(life.steps.back().at_ns, 500 * kMs + 3000 * kMs);
}

TEST(GuestLifeTest, VM5_HangReportsNothing) {
  Fault fault;
  fault.kind = FaultKind::kGuestHang;
  Prng rng(3);
  const GuestLife life = PlanGuestLife(rng, nullptr, &fault, false);
  EXPECT_TRUE(life.hangs);
  EXPECT_TRUE(life.steps.empty());
}

TEST(GuestLifeTest, VM6_PanicAndRebootExitWithCrosvmCodes) {
  for (const auto& [kind, code] :
       {std::pair{FaultKind::kGuestPanic, kGuestCrashExitCode},
        std::pair{FaultKind::kGuestReboot, kGuestRebootExitCode},
        std::pair{FaultKind::kVmmCrashAtBoot, kGuestCrashExitCode}}) {
    Fault fault;
    fault.kind = kind;
    Prng rng(9);
    const GuestLife life = PlanGuestLife(rng, nullptr, &fault, false);
    ASSERT_FALSE(life.steps.empty());
    EXPECT_EQ(life.steps.back().status, ExitStatus::Exited(code));
  }
}

TEST(GuestLifeTest, TheSameStreamGivesTheSameLife) {
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Prng a = Prng::Stream(seed, "vm").Fork(3);
    Prng b = Prng::Stream(seed, "vm").Fork(3);
    const GuestLife x = PlanGuestLife(a, nullptr, nullptr, seed % 2 == 0);
    const GuestLife y = PlanGuestLife(b, nullptr, nullptr, seed % 2 == 0);
    EXPECT_EQ(x.steps, y.steps);
  }
}

}  // namespace
}  // namespace proctor::sim
