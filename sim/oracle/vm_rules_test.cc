#include "sim/oracle/vm_rules.h"

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/model/vm_config.h"
#include "sim/oracle/oracle.h"
#include "sim/oracle/testing/feed.h"

namespace proctor::sim {
namespace {

using oracle_internal::ExpectedDeathReason;
using oracle_internal::ReasonFromFailureReport;
using oracle_testing::C;
using oracle_testing::Feed;
using oracle_testing::Sec;
using oracle_testing::ViolationMessage;
using oracle_testing::ViolationRule;

constexpr TimerId Hangup(uint32_t cid) {
  return TimerId{TimerKind::kHangup, cid};
}

class OracleVmTest : public ::testing::Test {
 protected:
  void Create(uint32_t cid, bool detect_hangup = false) {
    VmConfig config;
    config.cid = C(cid);
    config.kernel = "/k";
    config.detect_hangup = detect_hangup;
    const RequestId r = f.Request();
    f.In(input::CreateVm{r, config})
        .Out(action::Reply{r, absl::OkStatus(), {}});
  }
  // An accepted start_vm, then a successful spawn at `spawned_at`.
  void Start(uint32_t cid, double spawned_at, bool detect_hangup = false) {
    const RequestId r = f.Request();
    f.In(input::StartVm{r, C(cid)})
        .Out({action::SpawnVmm{C(cid), {"crosvm"}},
              action::Reply{r, absl::OkStatus(), {}}});
    f.At(spawned_at)
        .In(input::VmmSpawned{C(cid), std::nullopt})
        .Out(action::VmStateChanged{C(cid), VmState::kRunning});
    if (detect_hangup) {
      f.Out(action::ArmTimer{Hangup(cid), Sec(spawned_at + 10)});
    }
  }
  void Run(uint32_t cid, double at, bool detect_hangup = false) {
    f.At(at);
    Create(cid, detect_hangup);
    Start(cid, at, detect_hangup);
  }
  // The VMM exits; the runtime announces DEAD and reads the failure channel.
  void Exit(uint32_t cid, std::optional<ExitStatus> status,
            bool cancel_hangup = false) {
    f.In(input::VmmExited{C(cid), status})
        .Out(action::VmStateChanged{C(cid), VmState::kDead});
    if (cancel_hangup) f.Out(action::CancelTimer{Hangup(cid)});
    f.Out(action::ReadFailureReason{C(cid), 4096});
  }
  void Die(uint32_t cid, const std::string& report, DeathReason reason) {
    f.In(input::FailureReasonRead{C(cid), report})
        .Out({action::OnDied{C(cid), reason}, action::RemoveTempDir{C(cid)}});
  }

  Oracle oracle;
  Feed f{oracle};
};

// ---- VM-3 ----

TEST_F(OracleVmTest, VM3_LifecycleFromStartToDeathIsAccepted) {
  Run(5, 0);
  f.At(3.2);
  Exit(5, ExitStatus::Exited(0));
  Die(5, "", DeathReason::kShutdown);
  f.Quiet().End();
  EXPECT_EQ(ViolationMessage(oracle), "");
  EXPECT_GT(oracle.stats().Checks("VM-3"), 0u);
}

TEST_F(OracleVmTest, VM3_FailedSpawnIsAccepted) {
  f.At(0);
  Create(5);
  const RequestId r = f.Request();
  f.In(input::StartVm{r, C(5)})
      .Out({action::SpawnVmm{C(5), {"crosvm"}},
            action::Reply{r, absl::OkStatus(), {}}})
      .In(input::VmmSpawned{C(5), "no such binary"})
      .Out(action::VmStateChanged{C(5), VmState::kFailed})
      .Quiet()
      .End();
  EXPECT_EQ(ViolationMessage(oracle), "");
}

TEST_F(OracleVmTest, VM3_RunningBeforeTheSpawnCompletesIsViolation) {
  f.At(0);
  Create(5);
  const RequestId r = f.Request();
  f.In(input::StartVm{r, C(5)})
      .Out({action::SpawnVmm{C(5), {"crosvm"}},
            action::VmStateChanged{C(5), VmState::kRunning}});
  EXPECT_EQ(ViolationRule(oracle), "VM-3");
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-3: vm_state RUNNING for cid 5, but its VMM's reports make it "
            "NOT_STARTED");
}

TEST_F(OracleVmTest, VM3_SecondStartAnsweredOkIsViolation) {
  Run(5, 0);
  const RequestId r = f.Request();
  f.In(input::StartVm{r, C(5)}).Out(action::Reply{r, absl::OkStatus(), {}});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-3: start_vm for cid 5 answered OK, expected an error: it was "
            "already started");
}

TEST_F(OracleVmTest, VM3_SecondStartRefusedIsAccepted) {
  Run(5, 0);
  const RequestId r = f.Request();
  f.In(input::StartVm{r, C(5)})
      .Out(
          action::Reply{r, absl::FailedPreconditionError("VM-3: already"), {}});
  const RequestId unknown = f.Request();
  f.In(input::StartVm{unknown, C(9)})
      .Out(action::Reply{unknown, absl::NotFoundError("no VM"), {}});
  EXPECT_EQ(ViolationMessage(oracle), "");
}

TEST_F(OracleVmTest, VM3_FirstStartRefusedIsViolation) {
  f.At(0);
  Create(5);
  const RequestId r = f.Request();
  f.In(input::StartVm{r, C(5)})
      .Out(action::Reply{r, absl::FailedPreconditionError("nope"), {}});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-3: start_vm for cid 5 refused (FAILED_PRECONDITION: nope) "
            "though the VM had never been started");
}

TEST_F(OracleVmTest, VM3_StartOfUnknownCidAnsweredOkIsViolation) {
  const RequestId r = f.Request();
  f.In(input::StartVm{r, C(7)}).Out(action::Reply{r, absl::OkStatus(), {}});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-3: start_vm for cid 7 answered OK, expected an error: no such "
            "VM");
}

TEST_F(OracleVmTest, VM3_SpawnWithoutStartIsViolation) {
  Run(5, 0);
  f.In(input::PayloadReported{C(5), PayloadState::kStarted})
      .Out(action::SpawnVmm{C(5), {"crosvm"}});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-3: spawn_vmm for cid 5 without a start_vm that may start it "
            "(a VM's first start, before shutdown)");
}

TEST_F(OracleVmTest, VM3_StartAnsweredOkWithoutSpawnIsViolation) {
  f.At(0);
  Create(5);
  const RequestId r = f.Request();
  f.In(input::StartVm{r, C(5)}).Out(action::Reply{r, absl::OkStatus(), {}});
  f.At(1).In(input::VmmSpawned{C(5), std::nullopt});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-3: start_vm for cid 5 answered OK but no spawn_vmm followed "
            "(step of start_vm #3 at 0.000000000s)");
}

TEST_F(OracleVmTest, VM3_DeadToRunningIsViolation) {
  Run(5, 0);
  Exit(5, ExitStatus::Exited(0));
  f.Out(action::VmStateChanged{C(5), VmState::kRunning});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-3: vm_state for cid 5 went from DEAD to RUNNING; only "
            "NOT_STARTED->RUNNING|FAILED and RUNNING->DEAD are allowed");
}

TEST_F(OracleVmTest, VM3_SpawnWithoutRunningStateIsViolation) {
  f.At(0);
  Create(5);
  const RequestId r = f.Request();
  f.In(input::StartVm{r, C(5)})
      .Out({action::SpawnVmm{C(5), {"crosvm"}},
            action::Reply{r, absl::OkStatus(), {}}})
      .At(1)
      .In(input::VmmSpawned{C(5), std::nullopt})
      .At(2)
      .In(input::PayloadReported{C(5), PayloadState::kStarted});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-3: cid 5 became RUNNING but no vm_state RUNNING followed "
            "(step of vmm_spawned #6 at 1.000000000s)");
}

// ---- VM-4 ----

TEST_F(OracleVmTest, VM4_ForwardReportsAndRefusedBackwardReportIsAccepted) {
  Run(5, 0);
  f.In(input::PayloadReported{C(5), PayloadState::kStarted})
      .Out(action::PayloadStateChanged{C(5), PayloadState::kStarted})
      .In(input::PayloadReported{C(5), PayloadState::kFinished})
      .Out(action::PayloadStateChanged{C(5), PayloadState::kFinished})
      .In(input::PayloadReported{C(5), PayloadState::kReady})
      .Out(action::GuestError{C(5), "VM-4: invalid"})
      .In(input::PayloadReported{C(5), PayloadState::kFinished})
      .Out(action::GuestError{C(5), "VM-4: invalid"})
      .Quiet();
  EXPECT_EQ(ViolationMessage(oracle), "");
  EXPECT_GT(oracle.stats().Checks("VM-4"), 0u);
}

TEST_F(OracleVmTest, VM4_BackwardStateAcceptedIsViolation) {
  Run(5, 0);
  f.In(input::PayloadReported{C(5), PayloadState::kReady})
      .Out(action::PayloadStateChanged{C(5), PayloadState::kReady})
      .In(input::PayloadReported{C(5), PayloadState::kStarted})
      .Out(action::PayloadStateChanged{C(5), PayloadState::kStarted});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-4: payload_state for cid 5 went from READY to STARTED: not "
            "strictly forward");
}

TEST_F(OracleVmTest, VM4_StateNobodyReportedIsViolation) {
  Run(5, 0);
  f.In(input::PayloadReported{C(5), PayloadState::kStarted})
      .Out(action::PayloadStateChanged{C(5), PayloadState::kReady});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-4: payload_state READY for cid 5 without a forward "
            "payload_reported of it");
}

TEST_F(OracleVmTest, VM4_ForwardReportIgnoredIsViolation) {
  Run(5, 0);
  f.At(1).In(input::PayloadReported{C(5), PayloadState::kStarted});
  f.At(2).In(input::PayloadReported{C(5), PayloadState::kReady});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-4: payload_reported STARTED for cid 5 is forward from STARTING "
            "but no payload_state followed (step of payload_reported #8 at "
            "1.000000000s)");
}

TEST_F(OracleVmTest, VM4_InvalidReportWithoutGuestErrorIsViolation) {
  Run(5, 0);
  f.At(1).In(input::PayloadReported{C(5), PayloadState::kStarting});
  f.At(2).In(input::PayloadReported{C(5), PayloadState::kReady});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-4: payload_reported STARTING for cid 5 is invalid (last "
            "accepted STARTING) but no guest_error followed (step of "
            "payload_reported #8 at 1.000000000s)");
}

TEST_F(OracleVmTest, VM4_ReportToStoppedVmWithoutGuestErrorIsViolation) {
  Run(5, 0);
  Exit(5, ExitStatus::Exited(0));
  Die(5, "", DeathReason::kShutdown);
  f.In(input::PayloadReported{C(5), PayloadState::kReady}).Quiet();
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-4: payload_reported READY for cid 5 is invalid (the VM is not "
            "running) but no guest_error followed (step of payload_reported "
            "#14 at 0.000000000s)");
}

// ---- VM-5 ----

TEST_F(OracleVmTest, VM5_KillAtTheDeadlineAndHangupReasonIsAccepted) {
  Run(5, 1, /*detect_hangup=*/true);
  f.At(11)
      .In(input::TimerFired{Hangup(5)})
      .Out(action::KillVmm{C(5)})
      .In(input::VmmExited{C(5), ExitStatus::Signalled(kSigKill)})
      .Out({action::VmStateChanged{C(5), VmState::kDead},
            action::OnDied{C(5), DeathReason::kHangup},
            action::RemoveTempDir{C(5)}})
      .Quiet()
      .End();
  EXPECT_EQ(ViolationMessage(oracle), "");
  EXPECT_GT(oracle.stats().Checks("VM-5"), 0u);
}

TEST_F(OracleVmTest, VM5_ExitBeforeStartedEndsWaitAtOnce) {
  Run(5, 1, /*detect_hangup=*/true);
  f.At(2.5);
  Exit(5, ExitStatus::Exited(33), /*cancel_hangup=*/true);
  Die(5, "", DeathReason::kCrash);
  // The stale timer fires and is ignored; time goes on past the deadline.
  f.At(11).In(input::TimerFired{Hangup(5)});
  f.At(20).Quiet().End();
  EXPECT_EQ(ViolationMessage(oracle), "");
}

TEST_F(OracleVmTest, VM5_StartedEndsTheWait) {
  Run(5, 1, /*detect_hangup=*/true);
  f.At(3)
      .In(input::PayloadReported{C(5), PayloadState::kStarted})
      .Out({action::PayloadStateChanged{C(5), PayloadState::kStarted},
            action::CancelTimer{Hangup(5)}});
  f.At(30)
      .In(input::PayloadReported{C(5), PayloadState::kReady})
      .Out(action::PayloadStateChanged{C(5), PayloadState::kReady});
  EXPECT_EQ(ViolationMessage(oracle), "");
}

TEST_F(OracleVmTest, VM5_HangupKillAfterExitIsViolation) {
  Run(5, 1, /*detect_hangup=*/true);
  f.At(2);
  Exit(5, ExitStatus::Exited(33));
  f.At(11).In(input::TimerFired{Hangup(5)}).Out(action::KillVmm{C(5)});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-5: kill_vmm for hangup of cid 5 at 11.000000000s, but its VMM "
            "exited at 2.000000000s, which ends the wait");
}

TEST_F(OracleVmTest, VM5_HangupKillAfterStartedIsViolation) {
  Run(5, 1, /*detect_hangup=*/true);
  f.At(2)
      .In(input::PayloadReported{C(5), PayloadState::kStarted})
      .Out(action::PayloadStateChanged{C(5), PayloadState::kStarted});
  f.At(11).In(input::TimerFired{Hangup(5)}).Out(action::KillVmm{C(5)});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-5: kill_vmm for hangup of cid 5 at 11.000000000s, but its "
            "payload is STARTED");
}

TEST_F(OracleVmTest, VM5_HangupKillBeforeTheDeadlineIsViolation) {
  Run(5, 1, /*detect_hangup=*/true);
  f.At(5).In(input::TimerFired{Hangup(5)}).Out(action::KillVmm{C(5)});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-5: kill_vmm for hangup of cid 5 at 5.000000000s, but the "
            "deadline is 11.000000000s (spawned at 1.000000000s + 10s)");
}

TEST_F(OracleVmTest, VM5_HangupKillWithoutDetectionIsViolation) {
  Run(5, 1);
  f.At(11).In(input::TimerFired{Hangup(5)}).Out(action::KillVmm{C(5)});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-5: kill_vmm for hangup of cid 5 at 11.000000000s, but the VM "
            "does not detect hangups");
}

TEST_F(OracleVmTest, VM5_MissedDeadlineIsViolation) {
  Run(5, 1, /*detect_hangup=*/true);
  f.At(12).In(input::PayloadReported{C(5), PayloadState::kStarted});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-5: cid 5 had neither STARTED nor exited by its hangup deadline "
            "11.000000000s (spawned at 1.000000000s, timeout 10s), expected "
            "kill_vmm then; none by 12.000000000s");
}

TEST_F(OracleVmTest, VM5_DeathWaitingForTheTimeoutIsViolation) {
  Run(5, 1, /*detect_hangup=*/true);
  f.At(2);
  Exit(5, ExitStatus::Exited(33));
  f.In(input::FailureReasonRead{C(5), ""});
  f.At(11).In(input::TimerFired{Hangup(5)});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-5: failure_reason_read for cid 5 was not followed at once by "
            "on_died (step of failure_reason_read #12 at 2.000000000s)");
}

TEST_F(OracleVmTest, VM5_ExitNotHandledAtOnceIsViolation) {
  Run(5, 1, /*detect_hangup=*/true);
  f.At(2)
      .In(input::VmmExited{C(5), ExitStatus::Exited(33)})
      .Out(action::VmStateChanged{C(5), VmState::kDead});
  f.At(11).In(input::TimerFired{Hangup(5)});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-5: vmm_exited for cid 5 was not followed at once by "
            "read_failure_reason or on_died (step of vmm_exited #9 at "
            "2.000000000s)");
}

TEST_F(OracleVmTest, VM5_HangupReasonAfterEarlyExitIsViolation) {
  Run(5, 1, /*detect_hangup=*/true);
  f.At(2);
  Exit(5, ExitStatus::Exited(33));
  f.In(input::FailureReasonRead{C(5), ""})
      .Out(action::OnDied{C(5), DeathReason::kHangup});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-5: on_died HANGUP for cid 5 whose VMM exited at 2.000000000s "
            "before STARTED; the reason must come from the exit");
}

// ---- VM-6 ----

TEST(OracleDeathReasonTest, VM6_FailureReportIsMatchedExactly) {
  EXPECT_EQ(ReasonFromFailureReport("MICRODROID_PAYLOAD_HAS_CHANGED"),
            DeathReason::kMicrodroidPayloadHasChanged);
  EXPECT_EQ(ReasonFromFailureReport("BOOTLOADER_PUBLIC_KEY_MISMATCH\n"),
            DeathReason::kBootloaderPublicKeyMismatch);
  EXPECT_EQ(ReasonFromFailureReport("HANGUP\n\n"), std::nullopt);
  EXPECT_EQ(ReasonFromFailureReport(" HANGUP"), std::nullopt);
  EXPECT_EQ(ReasonFromFailureReport("CRASH"), std::nullopt);
  EXPECT_EQ(ReasonFromFailureReport(""), std::nullopt);
  // Only the first 4096 bytes are read.
  EXPECT_EQ(ReasonFromFailureReport(std::string(4090, 'x') + "HANGUP"),
            std::nullopt);
  EXPECT_EQ(
      ReasonFromFailureReport(std::string("HANGUP") + std::string(5000, '\n')),
      std::nullopt);
}

TEST(OracleDeathReasonTest, VM6_ReasonFromExit) {
  const auto reason = [](std::optional<ExitStatus> exit) {
    return ExpectedDeathReason(exit, std::nullopt, false);
  };
  EXPECT_EQ(reason(std::nullopt), DeathReason::kInfrastructureError);
  EXPECT_EQ(reason(ExitStatus::Signalled(9)), DeathReason::kKilled);
  EXPECT_EQ(reason(ExitStatus::Exited(0)), DeathReason::kShutdown);
  EXPECT_EQ(reason(ExitStatus::Exited(1)), DeathReason::kError);
  EXPECT_EQ(reason(ExitStatus::Exited(32)), DeathReason::kReboot);
  EXPECT_EQ(reason(ExitStatus::Exited(33)), DeathReason::kCrash);
  EXPECT_EQ(reason(ExitStatus::Exited(2)), DeathReason::kUnknown);
  EXPECT_EQ(
      ExpectedDeathReason(ExitStatus::Exited(0),
                          DeathReason::kMicrodroidPayloadHasChanged, false),
      DeathReason::kMicrodroidPayloadHasChanged);
  EXPECT_EQ(ExpectedDeathReason(ExitStatus::Signalled(9), std::nullopt, true),
            DeathReason::kHangup);
  EXPECT_EQ(ExpectedDeathReason(std::nullopt, std::nullopt, true),
            DeathReason::kInfrastructureError);
}

TEST_F(OracleVmTest, VM6_FailureReportDecidesTheReason) {
  Run(5, 0);
  Exit(5, ExitStatus::Exited(33));
  Die(5, "MICRODROID_PAYLOAD_HAS_CHANGED\n",
      DeathReason::kMicrodroidPayloadHasChanged);
  Run(6, 1);
  Exit(6, std::nullopt);
  Die(6, "HANGUP", DeathReason::kInfrastructureError);
  EXPECT_EQ(ViolationMessage(oracle), "");
  EXPECT_GT(oracle.stats().Checks("VM-6"), 0u);
}

TEST_F(OracleVmTest, VM6_IgnoredFailureReportIsViolation) {
  Run(5, 0);
  Exit(5, ExitStatus::Exited(33));
  Die(5, "PVM_FIRMWARE_PUBLIC_KEY_MISMATCH", DeathReason::kCrash);
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-6: on_died for cid 5 says CRASH, expected "
            "PVM_FIRMWARE_PUBLIC_KEY_MISMATCH (exit Exit(33), failure report "
            "PVM_FIRMWARE_PUBLIC_KEY_MISMATCH, hung up: no)");
}

TEST_F(OracleVmTest, VM6_DeathWithoutReadingTheFailureChannelIsViolation) {
  Run(5, 0);
  f.In(input::VmmExited{C(5), ExitStatus::Exited(0)})
      .Out({action::VmStateChanged{C(5), VmState::kDead},
            action::OnDied{C(5), DeathReason::kShutdown}});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-6: on_died for cid 5 without reading its failure channel "
            "first");
}

TEST_F(OracleVmTest, VM6_ReadBeforeTheExitIsViolation) {
  Run(5, 0);
  f.In(input::PayloadReported{C(5), PayloadState::kStarted})
      .Out(action::ReadFailureReason{C(5), 4096});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-6: read_failure_reason for cid 5 before its VMM exited");
}

// ---- VM-7 ----

TEST_F(OracleVmTest, VM7_OnDiedTwiceIsViolation) {
  Run(5, 0);
  f.At(3.2);
  Exit(5, ExitStatus::Exited(33));
  f.In(input::FailureReasonRead{C(5), ""})
      .Out({action::OnDied{C(5), DeathReason::kCrash},
            action::OnDied{C(5), DeathReason::kCrash}});
  EXPECT_EQ(ViolationRule(oracle), "VM-7");
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-7: on_died for cid 5 delivered twice (first at 3.200000000s, "
            "again at 3.200000000s)");
}

TEST_F(OracleVmTest, VM7_OnDiedBeforeDeadIsViolation) {
  Run(5, 0);
  f.In(input::VmmExited{C(5), std::nullopt})
      .Out(action::OnDied{C(5), DeathReason::kInfrastructureError});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-7: on_died for cid 5 while its last vm_state is RUNNING; DEAD "
            "must come first");
}

TEST_F(OracleVmTest, VM7_OnDiedForVmThatNeverRanIsViolation) {
  f.At(0);
  Create(5);
  const RequestId r = f.Request();
  f.In(input::StartVm{r, C(5)})
      .Out({action::SpawnVmm{C(5), {"crosvm"}},
            action::Reply{r, absl::OkStatus(), {}}})
      .In(input::VmmSpawned{C(5), "boom"})
      .Out({action::VmStateChanged{C(5), VmState::kFailed},
            action::OnDied{C(5), DeathReason::kError}});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-7: on_died for cid 5 whose VM never reached RUNNING (it is "
            "FAILED)");
}

TEST_F(OracleVmTest, VM7_TempDirRemovedBeforeOnDiedIsViolation) {
  Run(5, 0);
  f.In(input::VmmExited{C(5), ExitStatus::Exited(0)})
      .Out({action::VmStateChanged{C(5), VmState::kDead},
            action::RemoveTempDir{C(5)}});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-7: remove_temp_dir for cid 5 before its on_died");
}

TEST_F(OracleVmTest, VM7_ExitWithoutDeadStateIsViolation) {
  Run(5, 0);
  f.At(1).In(input::VmmExited{C(5), ExitStatus::Exited(0)});
  f.At(2).Quiet();
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-7: cid 5 became DEAD but no vm_state DEAD followed (step of "
            "vmm_exited #8 at 1.000000000s)");
}

TEST_F(OracleVmTest, VM7_RunningVmWithoutOnDiedAtTheEndIsViolation) {
  Run(5, 0);
  Run(6, 1);
  Exit(6, ExitStatus::Exited(0));
  Die(6, "", DeathReason::kShutdown);
  f.At(90).Quiet().End();
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-7: cid 5 reached RUNNING at 0.000000000s but never got its "
            "on_died");
}

TEST_F(OracleVmTest, VM7_RunningVmAtEndOfRunCutShortIsNotJudged) {
  Run(5, 0);
  f.At(90).End();
  EXPECT_EQ(ViolationMessage(oracle), "");
}

// ---- VM-8 ----

TEST_F(OracleVmTest, VM8_KillOfRunningVmIsAccepted) {
  Run(5, 0);
  const RequestId r = f.Request();
  f.In(input::KillVm{r, C(5)})
      .Out({action::KillVmm{C(5)}, action::Reply{r, absl::OkStatus(), {}}})
      .In(input::VmmExited{C(5), ExitStatus::Signalled(kSigKill)})
      .Out({action::VmStateChanged{C(5), VmState::kDead},
            action::ReadFailureReason{C(5), 4096}});
  Die(5, "", DeathReason::kKilled);
  const RequestId again = f.Request();
  f.In(input::KillVm{again, C(5)})
      .Out(action::Reply{again, absl::OkStatus(), {}})
      .Quiet()
      .End();
  EXPECT_EQ(ViolationMessage(oracle), "");
  EXPECT_GT(oracle.stats().Checks("VM-8"), 0u);
}

TEST_F(OracleVmTest, VM8_KillOfDeadVmIsViolation) {
  Run(5, 0);
  Exit(5, ExitStatus::Exited(0));
  Die(5, "", DeathReason::kShutdown);
  const RequestId r = f.Request();
  f.In(input::KillVm{r, C(5)}).Out(action::KillVmm{C(5)});
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-8: kill_vmm for cid 5 whose VM is DEAD; only a RUNNING VM may "
            "be killed");
}

TEST_F(OracleVmTest, VM8_KillOfRunningVmIgnoredIsViolation) {
  Run(5, 0);
  const RequestId r = f.Request();
  f.At(1)
      .In(input::KillVm{r, C(5)})
      .Out(action::Reply{r, absl::OkStatus(), {}});
  f.At(2).Quiet();
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-8: kill_vm for RUNNING cid 5 emitted no kill_vmm (step of "
            "kill_vm #8 at 1.000000000s)");
}

// ---- VM-1 ----

TEST_F(OracleVmTest, VM1_RecreatingCidOfLiveVmIsViolation) {
  Run(5, 0);
  Create(5);
  EXPECT_EQ(ViolationMessage(oracle),
            "VM-1: create_vm for cid 5 accepted while the cid is in use by a "
            "VM that still owes its on_died");
}

TEST_F(OracleVmTest, VM1_RecreatingCidAfterOnDiedIsAccepted) {
  Run(5, 0);
  Exit(5, ExitStatus::Exited(0));
  Die(5, "", DeathReason::kShutdown);
  Run(5, 1);
  EXPECT_EQ(ViolationMessage(oracle), "");
}

}  // namespace
}  // namespace proctor::sim
