#include "runtime/vm/vm_instance.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/model/action.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/input.h"
#include "runtime/model/testing/action_matchers.h"
#include "runtime/model/time.h"
#include "runtime/model/vm_config.h"
#include "runtime/model/vm_types.h"
#include "runtime/vm/death_reason.h"
#include "runtime/vm/vmm_command.h"

namespace proctor {
namespace {

using ::proctor::action_testing::TakeActions;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr Cid kCid{5};

Instant At(absl::Duration since_origin) { return Instant{} + since_origin; }

VmConfig Config(bool detect_hangup = true) {
  VmConfig config;
  config.cid = kCid;
  config.kernel = "/images/vmlinuz";
  config.detect_hangup = detect_hangup;
  return config;
}

std::string SpawnOf(const VmConfig& config) {
  return absl::StrCat("spawn_vmm cid=", config.cid.value, " argv=[\"",
                      absl::StrJoin(BuildVmmCommand(config), "\", \""), "\"]");
}

input::VmmExited Exit(std::optional<ExitStatus> status) {
  return input::VmmExited{kCid, status};
}
input::PayloadReported Report(PayloadState state) {
  return input::PayloadReported{kCid, state};
}
input::FailureReasonRead FailureRead(std::string bytes) {
  return input::FailureReasonRead{kCid, std::move(bytes)};
}

// A VM whose VMM spawned at `spawned_at`; the actions up to then are dropped.
class RunningVm {
 public:
  explicit RunningVm(VmConfig config = Config(), PlatformInfo platform = {},
                     Instant spawned_at = At(absl::ZeroDuration()))
      : vm(std::move(config), platform) {
    EXPECT_TRUE(vm.Start(spawned_at, out).ok());
    vm.OnVmmSpawned(spawned_at, input::VmmSpawned{kCid, std::nullopt}, out);
    EXPECT_EQ(vm.state(), VmState::kRunning);
    out.clear();
  }
  VmInstance vm;
  ActionList out;
};

// ---- VM-3 ----

TEST(VmInstanceTest, VM3_NewVmIsNotStartedWithPayloadStarting) {
  VmInstance vm(Config(), PlatformInfo{});
  EXPECT_EQ(vm.cid(), kCid);
  EXPECT_EQ(vm.state(), VmState::kNotStarted);
  EXPECT_EQ(vm.payload_state(), PayloadState::kStarting);
  EXPECT_EQ(vm.config(), Config());
  EXPECT_FALSE(vm.died());
  EXPECT_FALSE(vm.spawn_in_flight());
  EXPECT_TRUE(vm.settled());
}

TEST(VmInstanceTest, VM3_StartSpawnsTheVmmAndStaysNotStartedUntilSpawned) {
  VmInstance vm(Config(), PlatformInfo{});
  ActionList out;
  ASSERT_TRUE(vm.Start(At(absl::Seconds(1)), out).ok());
  EXPECT_THAT(TakeActions(out), ElementsAre(SpawnOf(Config())));
  EXPECT_EQ(vm.state(), VmState::kNotStarted);
  EXPECT_TRUE(vm.spawn_in_flight());
  EXPECT_FALSE(vm.settled());
}

TEST(VmInstanceTest, VM3_SpawnedMeansRunning) {
  VmInstance vm(Config(/*detect_hangup=*/false), PlatformInfo{});
  ActionList out;
  ASSERT_TRUE(vm.Start(At(absl::Seconds(1)), out).ok());
  out.clear();
  vm.OnVmmSpawned(At(absl::Seconds(2)), {kCid, std::nullopt}, out);
  EXPECT_THAT(TakeActions(out), ElementsAre("vm_state cid=5 state=RUNNING"));
  EXPECT_EQ(vm.state(), VmState::kRunning);
  EXPECT_FALSE(vm.spawn_in_flight());
  EXPECT_FALSE(vm.settled());
}

TEST(VmInstanceTest, VM3_StartTwiceIsAnError) {
  VmInstance vm(Config(), PlatformInfo{});
  ActionList out;
  ASSERT_TRUE(vm.Start(At(absl::ZeroDuration()), out).ok());
  out.clear();

  // While the spawn is in flight.
  absl::Status again = vm.Start(At(absl::Seconds(1)), out);
  EXPECT_EQ(again, absl::FailedPreconditionError(
                       "VM-3: VM already started or failed"));
  EXPECT_THAT(out, IsEmpty());
  EXPECT_EQ(vm.state(), VmState::kNotStarted);
  EXPECT_TRUE(vm.spawn_in_flight());

  // And once it runs.
  vm.OnVmmSpawned(At(absl::Seconds(1)), {kCid, std::nullopt}, out);
  out.clear();
  again = vm.Start(At(absl::Seconds(2)), out);
  EXPECT_EQ(again, absl::FailedPreconditionError(
                       "VM-3: VM already started or failed"));
  EXPECT_THAT(out, IsEmpty());
  EXPECT_EQ(vm.state(), VmState::kRunning);
}

TEST(VmInstanceTest, VM3_StartAfterDeathIsAnError) {
  RunningVm r(Config(/*detect_hangup=*/false));
  r.vm.OnVmmExited(At(absl::Seconds(1)), Exit(ExitStatus::Exited(0)), r.out);
  r.vm.OnFailureReasonRead(At(absl::Seconds(1)), FailureRead(""), r.out);
  r.out.clear();
  EXPECT_EQ(
      r.vm.Start(At(absl::Seconds(2)), r.out),
      absl::FailedPreconditionError("VM-3: VM already started or failed"));
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_EQ(r.vm.state(), VmState::kDead);
}

TEST(VmInstanceTest, VM3_SpawnFailureMeansFailedAndNoOnDied) {
  VmInstance vm(Config(), PlatformInfo{});
  ActionList out;
  ASSERT_TRUE(vm.Start(At(absl::ZeroDuration()), out).ok());
  out.clear();
  vm.OnVmmSpawned(At(absl::Seconds(1)), {kCid, "exec failed: ENOENT"}, out);
  // Failed, and no hangup timer even though detect_hangup is on.
  EXPECT_THAT(TakeActions(out), ElementsAre("vm_state cid=5 state=FAILED"));
  EXPECT_EQ(vm.state(), VmState::kFailed);
  EXPECT_TRUE(vm.settled());

  // A bogus exit afterwards produces no on_died either.
  vm.OnVmmExited(At(absl::Seconds(2)), Exit(ExitStatus::Exited(1)), out);
  vm.OnFailureReasonRead(At(absl::Seconds(2)), FailureRead("HANGUP"), out);
  EXPECT_THAT(out, IsEmpty());
  EXPECT_FALSE(vm.died());

  EXPECT_EQ(
      vm.Start(At(absl::Seconds(3)), out),
      absl::FailedPreconditionError("VM-3: VM already started or failed"));
  EXPECT_THAT(out, IsEmpty());
  EXPECT_EQ(vm.state(), VmState::kFailed);
}

TEST(VmInstanceTest, VM3_SpawnOutcomeNobodyAskedForIsIgnored) {
  VmInstance never_started(Config(), PlatformInfo{});
  ActionList out;
  never_started.OnVmmSpawned(At(absl::ZeroDuration()), {kCid, std::nullopt},
                             out);
  EXPECT_THAT(out, IsEmpty());
  EXPECT_EQ(never_started.state(), VmState::kNotStarted);

  RunningVm r;
  r.vm.OnVmmSpawned(At(absl::Seconds(1)), {kCid, "late failure"}, r.out);
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_EQ(r.vm.state(), VmState::kRunning);
}

// ---- VM-4 ----

TEST(VmInstanceTest, VM4_ForwardUpdatesAreAccepted) {
  RunningVm r(Config(/*detect_hangup=*/false));
  r.vm.OnPayloadReported(At(absl::Seconds(1)), Report(PayloadState::kStarted),
                         r.out);
  r.vm.OnPayloadReported(At(absl::Seconds(2)), Report(PayloadState::kReady),
                         r.out);
  r.vm.OnPayloadReported(At(absl::Seconds(3)), Report(PayloadState::kFinished),
                         r.out);
  EXPECT_THAT(TakeActions(r.out),
              ElementsAre("payload_state cid=5 state=STARTED",
                          "payload_state cid=5 state=READY",
                          "payload_state cid=5 state=FINISHED"));
  EXPECT_EQ(r.vm.payload_state(), PayloadState::kFinished);
}

TEST(VmInstanceTest, VM4_SkippingStatesForwardIsAccepted) {
  RunningVm r(Config(/*detect_hangup=*/false));
  r.vm.OnPayloadReported(At(absl::Seconds(1)), Report(PayloadState::kFinished),
                         r.out);
  EXPECT_THAT(TakeActions(r.out),
              ElementsAre("payload_state cid=5 state=FINISHED"));
  EXPECT_EQ(r.vm.payload_state(), PayloadState::kFinished);
}

TEST(VmInstanceTest, VM4_BackwardUpdateIsAGuestErrorAndChangesNothing) {
  RunningVm r(Config(/*detect_hangup=*/false));
  r.vm.OnPayloadReported(At(absl::Seconds(1)), Report(PayloadState::kStarted),
                         r.out);
  r.out.clear();
  r.vm.OnPayloadReported(At(absl::Seconds(2)), Report(PayloadState::kStarting),
                         r.out);
  EXPECT_THAT(
      TakeActions(r.out),
      ElementsAre("guest_error cid=5 message=\"VM-4: invalid payload state "
                  "transition from STARTED to STARTING\""));
  EXPECT_EQ(r.vm.payload_state(), PayloadState::kStarted);
  EXPECT_EQ(r.vm.state(), VmState::kRunning);
}

TEST(VmInstanceTest, VM4_EqualUpdateIsAGuestError) {
  RunningVm r(Config(/*detect_hangup=*/false));
  r.vm.OnPayloadReported(At(absl::Seconds(1)), Report(PayloadState::kStarting),
                         r.out);
  EXPECT_THAT(
      TakeActions(r.out),
      ElementsAre("guest_error cid=5 message=\"VM-4: invalid payload state "
                  "transition from STARTING to STARTING\""));
  r.vm.OnPayloadReported(At(absl::Seconds(2)), Report(PayloadState::kFinished),
                         r.out);
  r.vm.OnPayloadReported(At(absl::Seconds(3)), Report(PayloadState::kFinished),
                         r.out);
  EXPECT_THAT(
      TakeActions(r.out),
      ElementsAre("payload_state cid=5 state=FINISHED",
                  "guest_error cid=5 message=\"VM-4: invalid payload state "
                  "transition from FINISHED to FINISHED\""));
  EXPECT_EQ(r.vm.payload_state(), PayloadState::kFinished);
}

TEST(VmInstanceTest, VM4_ReportWhenNotRunningIsAGuestError) {
  VmInstance vm(Config(), PlatformInfo{});
  ActionList out;
  vm.OnPayloadReported(At(absl::ZeroDuration()), Report(PayloadState::kStarted),
                       out);
  EXPECT_THAT(
      TakeActions(out),
      ElementsAre("guest_error cid=5 message=\"VM-4: payload state STARTED "
                  "reported while the VM is NOT_STARTED\""));
  EXPECT_EQ(vm.payload_state(), PayloadState::kStarting);

  ASSERT_TRUE(vm.Start(At(absl::ZeroDuration()), out).ok());
  vm.OnVmmSpawned(At(absl::ZeroDuration()), {kCid, "no such binary"}, out);
  out.clear();
  vm.OnPayloadReported(At(absl::Seconds(1)), Report(PayloadState::kReady), out);
  EXPECT_THAT(
      TakeActions(out),
      ElementsAre("guest_error cid=5 message=\"VM-4: payload state READY "
                  "reported while the VM is FAILED\""));
  EXPECT_EQ(vm.payload_state(), PayloadState::kStarting);
}

TEST(VmInstanceTest, VM4_ReportAfterDeathIsAGuestError) {
  RunningVm r;
  r.vm.OnVmmExited(At(absl::Seconds(1)), Exit(ExitStatus::Exited(0)), r.out);
  r.out.clear();
  r.vm.OnPayloadReported(At(absl::Seconds(1)), Report(PayloadState::kFinished),
                         r.out);
  EXPECT_THAT(
      TakeActions(r.out),
      ElementsAre("guest_error cid=5 message=\"VM-4: payload state FINISHED "
                  "reported while the VM is DEAD\""));
  EXPECT_EQ(r.vm.payload_state(), PayloadState::kStarting);
}

// ---- VM-5 ----

TEST(VmInstanceTest, VM5_TimeoutKillsAndReasonIsHangup) {
  VmInstance vm(Config(), PlatformInfo{});
  ActionList out;
  ASSERT_TRUE(vm.Start(At(absl::Seconds(2)), out).ok());
  out.clear();
  vm.OnVmmSpawned(At(absl::Seconds(3)), {kCid, std::nullopt}, out);
  EXPECT_THAT(TakeActions(out),
              ElementsAre("vm_state cid=5 state=RUNNING",
                          "arm_timer timer=hangup/5 deadline=13.000000000s"));

  vm.OnHangupTimerFired(At(absl::Seconds(13)), out);
  EXPECT_THAT(TakeActions(out), ElementsAre("kill_vmm cid=5"));
  EXPECT_TRUE(vm.hung_up());
  EXPECT_EQ(vm.state(), VmState::kRunning);

  // The killed VMM exits by SIGKILL; the reason is HANGUP and the failure
  // channel is not consulted.
  vm.OnVmmExited(At(absl::Seconds(13)), Exit(ExitStatus::Signalled(kSigKill)),
                 out);
  EXPECT_THAT(TakeActions(out), ElementsAre("vm_state cid=5 state=DEAD",
                                            "on_died cid=5 reason=HANGUP",
                                            "remove_temp_dir cid=5"));
  EXPECT_EQ(vm.death_reason(), DeathReason::kHangup);
  EXPECT_TRUE(vm.settled());
}

TEST(VmInstanceTest, VM5_TimerIdNamesTheCid) {
  EXPECT_EQ(HangupTimerFor(Cid{42}), (TimerId{TimerKind::kHangup, 42}));
}

TEST(VmInstanceTest, VM5_ExitBeforeStartedEndsWaitAtOnce) {
  RunningVm r;
  r.vm.OnVmmExited(At(absl::Seconds(1)), Exit(ExitStatus::Exited(33)), r.out);
  EXPECT_THAT(
      TakeActions(r.out),
      ElementsAre("vm_state cid=5 state=DEAD", "cancel_timer timer=hangup/5",
                  "read_failure_reason cid=5 max_bytes=4096"));
  r.vm.OnFailureReasonRead(At(absl::Seconds(1)), FailureRead(""), r.out);
  EXPECT_THAT(TakeActions(r.out), ElementsAre("on_died cid=5 reason=CRASH",
                                              "remove_temp_dir cid=5"));
  EXPECT_FALSE(r.vm.hung_up());

  // Had the world not cancelled in time, the late fire kills nothing.
  r.vm.OnHangupTimerFired(At(absl::Seconds(10)), r.out);
  EXPECT_THAT(r.out, IsEmpty());
}

TEST(VmInstanceTest, VM5_StartedCancelsTheWait) {
  RunningVm r;
  r.vm.OnPayloadReported(At(absl::Seconds(4)), Report(PayloadState::kStarted),
                         r.out);
  EXPECT_THAT(TakeActions(r.out),
              ElementsAre("payload_state cid=5 state=STARTED",
                          "cancel_timer timer=hangup/5"));
  // Later updates have no wait to cancel.
  r.vm.OnPayloadReported(At(absl::Seconds(5)), Report(PayloadState::kReady),
                         r.out);
  EXPECT_THAT(TakeActions(r.out),
              ElementsAre("payload_state cid=5 state=READY"));
  r.vm.OnHangupTimerFired(At(absl::Seconds(10)), r.out);
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_FALSE(r.vm.hung_up());
}

TEST(VmInstanceTest, VM5_ReadyWithoutStartedAlsoCancelsTheWait) {
  RunningVm r;
  r.vm.OnPayloadReported(At(absl::Seconds(4)), Report(PayloadState::kReady),
                         r.out);
  EXPECT_THAT(TakeActions(r.out), ElementsAre("payload_state cid=5 state=READY",
                                              "cancel_timer timer=hangup/5"));
}

TEST(VmInstanceTest, VM5_InvalidReportDoesNotEndTheWait) {
  RunningVm r;
  r.vm.OnPayloadReported(At(absl::Seconds(1)), Report(PayloadState::kStarting),
                         r.out);
  r.out.clear();
  r.vm.OnHangupTimerFired(At(absl::Seconds(10)), r.out);
  EXPECT_THAT(TakeActions(r.out), ElementsAre("kill_vmm cid=5"));
}

TEST(VmInstanceTest, VM5_NestedVirtualizationWaits100s) {
  VmInstance vm(Config(), PlatformInfo{.nested_virtualization = true});
  ActionList out;
  ASSERT_TRUE(vm.Start(At(absl::Seconds(1)), out).ok());
  out.clear();
  vm.OnVmmSpawned(At(absl::Seconds(1)), {kCid, std::nullopt}, out);
  EXPECT_THAT(TakeActions(out),
              ElementsAre("vm_state cid=5 state=RUNNING",
                          "arm_timer timer=hangup/5 deadline=101.000000000s"));
  // Where a plain host would have given up, a nested one still waits.
  vm.OnHangupTimerFired(At(absl::Seconds(11)), out);
  EXPECT_THAT(out, IsEmpty());
  vm.OnHangupTimerFired(At(absl::Seconds(101)), out);
  EXPECT_THAT(TakeActions(out), ElementsAre("kill_vmm cid=5"));
}

TEST(VmInstanceTest, VM5_ConfiguredTimeoutIsUsed) {
  VmConfig config = Config();
  config.hangup_timeout = absl::Milliseconds(2500);
  VmInstance vm(config, PlatformInfo{.nested_virtualization = true});
  ActionList out;
  ASSERT_TRUE(vm.Start(At(absl::ZeroDuration()), out).ok());
  out.clear();
  vm.OnVmmSpawned(At(absl::Seconds(1)), {kCid, std::nullopt}, out);
  EXPECT_THAT(TakeActions(out),
              ElementsAre("vm_state cid=5 state=RUNNING",
                          "arm_timer timer=hangup/5 deadline=3.500000000s"));
}

TEST(VmInstanceTest, VM5_WithoutDetectHangupNoTimerIsArmed) {
  VmInstance vm(Config(/*detect_hangup=*/false), PlatformInfo{});
  ActionList out;
  ASSERT_TRUE(vm.Start(At(absl::ZeroDuration()), out).ok());
  out.clear();
  vm.OnVmmSpawned(At(absl::ZeroDuration()), {kCid, std::nullopt}, out);
  EXPECT_THAT(TakeActions(out), ElementsAre("vm_state cid=5 state=RUNNING"));
  vm.OnHangupTimerFired(At(absl::Seconds(60)), out);
  EXPECT_THAT(out, IsEmpty());
  vm.OnVmmExited(At(absl::Seconds(61)), Exit(ExitStatus::Exited(0)), out);
  EXPECT_THAT(TakeActions(out),
              ElementsAre("vm_state cid=5 state=DEAD",
                          "read_failure_reason cid=5 max_bytes=4096"));
}

TEST(VmInstanceTest, VM5_FireBeforeTheDeadlineIsStale) {
  RunningVm r(Config(), PlatformInfo{}, At(absl::Seconds(20)));
  // E.g. a fire meant for an earlier VM with this cid, queued before its
  // cancel was executed.
  r.vm.OnHangupTimerFired(At(absl::Seconds(10)), r.out);
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_FALSE(r.vm.hung_up());
  r.vm.OnHangupTimerFired(At(absl::Seconds(30)), r.out);
  EXPECT_THAT(TakeActions(r.out), ElementsAre("kill_vmm cid=5"));
}

TEST(VmInstanceTest, VM5_SecondFireKillsNoMore) {
  RunningVm r;
  r.vm.OnHangupTimerFired(At(absl::Seconds(10)), r.out);
  r.vm.OnHangupTimerFired(At(absl::Seconds(11)), r.out);
  EXPECT_THAT(TakeActions(r.out), ElementsAre("kill_vmm cid=5"));
}

TEST(VmInstanceTest, VM5_FireBeforeSpawnIsStale) {
  VmInstance vm(Config(), PlatformInfo{});
  ActionList out;
  vm.OnHangupTimerFired(At(absl::Seconds(10)), out);
  ASSERT_TRUE(vm.Start(At(absl::Seconds(10)), out).ok());
  out.clear();
  vm.OnHangupTimerFired(At(absl::Seconds(20)), out);
  EXPECT_THAT(out, IsEmpty());
  EXPECT_FALSE(vm.hung_up());
}

TEST(VmInstanceTest, VM5_StartedAfterTheKillStillDiesOfHangup) {
  RunningVm r;
  r.vm.OnHangupTimerFired(At(absl::Seconds(10)), r.out);
  r.out.clear();
  // The payload got there just too late: accepted, but the kill stands.
  r.vm.OnPayloadReported(At(absl::Seconds(10)), Report(PayloadState::kStarted),
                         r.out);
  EXPECT_THAT(TakeActions(r.out),
              ElementsAre("payload_state cid=5 state=STARTED"));
  r.vm.OnVmmExited(At(absl::Seconds(11)), Exit(ExitStatus::Signalled(9)),
                   r.out);
  EXPECT_THAT(TakeActions(r.out), ElementsAre("vm_state cid=5 state=DEAD",
                                              "on_died cid=5 reason=HANGUP",
                                              "remove_temp_dir cid=5"));
}

TEST(VmInstanceTest, VM5_HangupWithUnobservedExitIsInfrastructureError) {
  RunningVm r;
  r.vm.OnHangupTimerFired(At(absl::Seconds(10)), r.out);
  r.out.clear();
  r.vm.OnVmmExited(At(absl::Seconds(11)), Exit(std::nullopt), r.out);
  EXPECT_THAT(TakeActions(r.out),
              ElementsAre("vm_state cid=5 state=DEAD",
                          "on_died cid=5 reason=INFRASTRUCTURE_ERROR",
                          "remove_temp_dir cid=5"));
}

// ---- VM-6 through the instance ----

// The death reason of a VM without hangup detection that exits with `exit`
// after writing `report` on its failure channel.
DeathReason DieWith(std::optional<ExitStatus> exit, std::string report) {
  RunningVm r(Config(/*detect_hangup=*/false));
  r.vm.OnVmmExited(At(absl::Seconds(1)), Exit(exit), r.out);
  r.vm.OnFailureReasonRead(At(absl::Seconds(1)), FailureRead(report), r.out);
  EXPECT_TRUE(r.vm.died());
  return r.vm.death_reason().value_or(DeathReason::kUnknown);
}

TEST(VmInstanceTest, VM6_FailureReasonDecides) {
  EXPECT_EQ(DieWith(ExitStatus::Exited(0),
                    "MICRODROID_PAYLOAD_VERIFICATION_FAILED\n"),
            DeathReason::kMicrodroidPayloadVerificationFailed);
  EXPECT_EQ(
      DieWith(ExitStatus::Signalled(9), "PVM_FIRMWARE_PUBLIC_KEY_MISMATCH"),
      DeathReason::kPvmFirmwarePublicKeyMismatch);
  // A guest may claim HANGUP itself.
  EXPECT_EQ(DieWith(ExitStatus::Exited(1), "HANGUP"), DeathReason::kHangup);
}

TEST(VmInstanceTest, VM6_ExitDecidesWithoutAKnownReason) {
  EXPECT_EQ(DieWith(ExitStatus::Exited(0), ""), DeathReason::kShutdown);
  EXPECT_EQ(DieWith(ExitStatus::Exited(1), "panic: oops"), DeathReason::kError);
  EXPECT_EQ(DieWith(ExitStatus::Exited(32), "HANGUP\n\n"),
            DeathReason::kReboot);
  EXPECT_EQ(DieWith(ExitStatus::Exited(33), "hangup"), DeathReason::kCrash);
  EXPECT_EQ(DieWith(ExitStatus::Exited(7), ""), DeathReason::kUnknown);
  EXPECT_EQ(DieWith(ExitStatus::Signalled(kSigTerm), ""), DeathReason::kKilled);
}

TEST(VmInstanceTest, VM6_UnobservedExitIsInfrastructureError) {
  EXPECT_EQ(DieWith(std::nullopt, "MICRODROID_UNKNOWN_RUNTIME_ERROR"),
            DeathReason::kInfrastructureError);
}

TEST(VmInstanceTest, VM6_OversizeReportIsNotSpecial) {
  std::string report(2 * kMaxFailureReasonBytes, 'A');
  report.replace(0, 6, "HANGUP");
  EXPECT_EQ(DieWith(ExitStatus::Exited(0), report), DeathReason::kShutdown);
}

TEST(VmInstanceTest, VM6_ReadAsksForTheBound) {
  RunningVm r(Config(/*detect_hangup=*/false));
  r.vm.OnVmmExited(At(absl::Seconds(1)), Exit(ExitStatus::Exited(0)), r.out);
  ASSERT_EQ(r.out.size(), 2u);
  const auto* read = std::get_if<action::ReadFailureReason>(&r.out[1]);
  ASSERT_NE(read, nullptr);
  EXPECT_EQ(read->cid, kCid);
  EXPECT_EQ(read->max_bytes, kMaxFailureReasonBytes);
}

// ---- VM-7 ----

TEST(VmInstanceTest, VM7_StateIsDeadBeforeOnDied) {
  RunningVm r(Config(/*detect_hangup=*/false));
  r.vm.OnVmmExited(At(absl::Seconds(1)), Exit(ExitStatus::Exited(0)), r.out);
  // Dead is announced, and observable, while the reason is still being read.
  EXPECT_THAT(TakeActions(r.out),
              ElementsAre("vm_state cid=5 state=DEAD",
                          "read_failure_reason cid=5 max_bytes=4096"));
  EXPECT_EQ(r.vm.state(), VmState::kDead);
  EXPECT_FALSE(r.vm.died());
  EXPECT_FALSE(r.vm.settled());
  r.vm.OnFailureReasonRead(At(absl::Seconds(1)), FailureRead(""), r.out);
  EXPECT_THAT(TakeActions(r.out), ElementsAre("on_died cid=5 reason=SHUTDOWN",
                                              "remove_temp_dir cid=5"));
  EXPECT_TRUE(r.vm.died());
  EXPECT_TRUE(r.vm.settled());
}

TEST(VmInstanceTest, VM7_OnDiedExactlyOnce) {
  RunningVm r;
  r.vm.OnVmmExited(At(absl::Seconds(1)), Exit(ExitStatus::Exited(0)), r.out);
  // A duplicate exit while the reason is being read asks for nothing more.
  r.vm.OnVmmExited(At(absl::Seconds(1)), Exit(ExitStatus::Exited(33)), r.out);
  r.vm.OnFailureReasonRead(At(absl::Seconds(2)), FailureRead(""), r.out);
  // Neither a second read outcome nor a later exit brings a second on_died.
  r.vm.OnFailureReasonRead(At(absl::Seconds(2)), FailureRead("HANGUP"), r.out);
  r.vm.OnVmmExited(At(absl::Seconds(3)), Exit(std::nullopt), r.out);
  EXPECT_THAT(
      TakeActions(r.out),
      ElementsAre("vm_state cid=5 state=DEAD", "cancel_timer timer=hangup/5",
                  "read_failure_reason cid=5 max_bytes=4096",
                  "on_died cid=5 reason=SHUTDOWN", "remove_temp_dir cid=5"));
  EXPECT_EQ(r.vm.death_reason(), DeathReason::kShutdown);
}

TEST(VmInstanceTest, VM7_OnDiedExactlyOnceAfterHangup) {
  RunningVm r;
  r.vm.OnHangupTimerFired(At(absl::Seconds(10)), r.out);
  r.vm.OnVmmExited(At(absl::Seconds(10)), Exit(ExitStatus::Signalled(9)),
                   r.out);
  r.vm.OnVmmExited(At(absl::Seconds(10)), Exit(ExitStatus::Signalled(9)),
                   r.out);
  r.vm.OnFailureReasonRead(At(absl::Seconds(11)), FailureRead(""), r.out);
  EXPECT_THAT(
      TakeActions(r.out),
      ElementsAre("kill_vmm cid=5", "vm_state cid=5 state=DEAD",
                  "on_died cid=5 reason=HANGUP", "remove_temp_dir cid=5"));
}

TEST(VmInstanceTest, VM7_FailureReadBeforeExitIsIgnored) {
  RunningVm r;
  r.vm.OnFailureReasonRead(At(absl::Seconds(1)), FailureRead("HANGUP"), r.out);
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_EQ(r.vm.state(), VmState::kRunning);
}

TEST(VmInstanceTest, VM7_TempDirRemovedAfterOnDied) {
  RunningVm r;
  r.vm.OnVmmExited(At(absl::Seconds(1)), Exit(ExitStatus::Exited(1)), r.out);
  r.vm.OnFailureReasonRead(At(absl::Seconds(1)), FailureRead(""), r.out);
  ASSERT_EQ(r.out.size(), 5u);
  const auto* died = std::get_if<action::OnDied>(&r.out[3]);
  const auto* remove = std::get_if<action::RemoveTempDir>(&r.out[4]);
  ASSERT_NE(died, nullptr);
  ASSERT_NE(remove, nullptr);
  EXPECT_EQ(died->cid, kCid);
  EXPECT_EQ(died->reason, DeathReason::kError);
  EXPECT_EQ(remove->cid, kCid);
}

// ---- VM-8 ----

TEST(VmInstanceTest, VM8_KillOnlyActsOnRunning) {
  ActionList out;

  VmInstance not_started(Config(), PlatformInfo{});
  not_started.Kill(At(absl::ZeroDuration()), out);
  EXPECT_THAT(out, IsEmpty());
  // Nor while the spawn is in flight: the VM is still NotStarted.
  ASSERT_TRUE(not_started.Start(At(absl::ZeroDuration()), out).ok());
  out.clear();
  not_started.Kill(At(absl::ZeroDuration()), out);
  EXPECT_THAT(out, IsEmpty());

  VmInstance failed(Config(), PlatformInfo{});
  ASSERT_TRUE(failed.Start(At(absl::ZeroDuration()), out).ok());
  failed.OnVmmSpawned(At(absl::ZeroDuration()), {kCid, "nope"}, out);
  out.clear();
  failed.Kill(At(absl::Seconds(1)), out);
  EXPECT_THAT(out, IsEmpty());

  RunningVm dead;
  dead.vm.OnVmmExited(At(absl::Seconds(1)), Exit(ExitStatus::Exited(0)),
                      dead.out);
  dead.out.clear();
  dead.vm.Kill(At(absl::Seconds(1)), dead.out);  // awaiting the reason
  EXPECT_THAT(dead.out, IsEmpty());
  dead.vm.OnFailureReasonRead(At(absl::Seconds(1)), FailureRead(""), dead.out);
  dead.out.clear();
  dead.vm.Kill(At(absl::Seconds(2)), dead.out);
  EXPECT_THAT(dead.out, IsEmpty());

  RunningVm running;
  running.vm.Kill(At(absl::Seconds(1)), running.out);
  EXPECT_THAT(TakeActions(running.out), ElementsAre("kill_vmm cid=5"));
  // Kill does not decide the state: the exit does.
  EXPECT_EQ(running.vm.state(), VmState::kRunning);
}

TEST(VmInstanceTest, VM8_KilledVmDiesOfItsExit) {
  RunningVm r;
  r.vm.Kill(At(absl::Seconds(1)), r.out);
  r.vm.OnVmmExited(At(absl::Seconds(1)), Exit(ExitStatus::Signalled(9)), r.out);
  r.vm.OnFailureReasonRead(At(absl::Seconds(1)), FailureRead(""), r.out);
  EXPECT_THAT(
      TakeActions(r.out),
      ElementsAre("kill_vmm cid=5", "vm_state cid=5 state=DEAD",
                  "cancel_timer timer=hangup/5",
                  "read_failure_reason cid=5 max_bytes=4096",
                  "on_died cid=5 reason=KILLED", "remove_temp_dir cid=5"));
}

// ---- VM-9 through the instance ----

TEST(VmInstanceTest, VM9_SpawnCarriesTheBuiltCommand) {
  VmConfig config = Config();
  config.protected_vm = true;
  config.disks = {{"/d/a.img", true}};
  VmInstance vm(config, PlatformInfo{});
  ActionList out;
  ASSERT_TRUE(vm.Start(At(absl::ZeroDuration()), out).ok());
  ASSERT_EQ(out.size(), 1u);
  const auto* spawn = std::get_if<action::SpawnVmm>(&out[0]);
  ASSERT_NE(spawn, nullptr);
  EXPECT_EQ(spawn->cid, kCid);
  EXPECT_EQ(spawn->argv, BuildVmmCommand(config));
}

}  // namespace
}  // namespace proctor
