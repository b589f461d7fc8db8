#include "runtime/vm/vm_manager.h"

#include <optional>
#include <string>
#include <vector>

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
#include "runtime/model/timer.h"
#include "runtime/model/vm_config.h"
#include "runtime/model/vm_types.h"
#include "runtime/vm/vmm_command.h"

namespace proctor {
namespace {

using ::proctor::action_testing::TakeActions;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

Instant At(absl::Duration since_origin) { return Instant{} + since_origin; }
const Instant kT0 = At(absl::ZeroDuration());

VmConfig Config(uint32_t cid, bool detect_hangup = true) {
  VmConfig config;
  config.cid = Cid{cid};
  config.kernel = "/images/vmlinuz";
  config.detect_hangup = detect_hangup;
  return config;
}

std::string SpawnOf(const VmConfig& config) {
  return absl::StrCat("spawn_vmm cid=", config.cid.value, " argv=[\"",
                      absl::StrJoin(BuildVmmCommand(config), "\", \""), "\"]");
}

class VmManagerTest : public testing::Test {
 protected:
  RequestId NextRequest() { return RequestId{++last_request_}; }

  void Create(const VmConfig& config, Instant now = kT0) {
    manager_.OnCreateVm(now, {NextRequest(), config}, out_);
  }
  void StartVm(uint32_t cid, Instant now = kT0) {
    manager_.OnStartVm(now, {NextRequest(), Cid{cid}}, out_);
  }
  void KillVm(uint32_t cid, Instant now = kT0) {
    manager_.OnKillVm(now, {NextRequest(), Cid{cid}}, out_);
  }
  void Spawned(uint32_t cid, std::optional<std::string> error = std::nullopt,
               Instant now = kT0) {
    manager_.OnVmmSpawned(now, {Cid{cid}, std::move(error)}, out_);
  }
  void Exited(uint32_t cid, std::optional<ExitStatus> status,
              Instant now = kT0) {
    manager_.OnVmmExited(now, {Cid{cid}, status}, out_);
  }
  void Reported(uint32_t cid, PayloadState state, Instant now = kT0) {
    manager_.OnPayloadReported(now, {Cid{cid}, state}, out_);
  }
  void FailureRead(uint32_t cid, std::string bytes, Instant now = kT0) {
    manager_.OnFailureReasonRead(now, {Cid{cid}, std::move(bytes)}, out_);
  }
  void Fired(TimerId timer, Instant now) {
    manager_.OnTimerFired(now, {timer}, out_);
  }
  // Creates, starts and spawns a VM; drops the actions.
  void Run(const VmConfig& config, Instant now = kT0) {
    Create(config, now);
    StartVm(config.cid.value, now);
    Spawned(config.cid.value, std::nullopt, now);
    out_.clear();
  }
  // Runs a VM to a delivered on_died; drops the actions.
  void RunToDeath(uint32_t cid) {
    Run(Config(cid));
    Exited(cid, ExitStatus::Exited(0));
    FailureRead(cid, "");
    out_.clear();
  }
  std::vector<std::string> Take() { return TakeActions(out_); }
  VmState StateOf(uint32_t cid) const {
    const VmInstance* vm = manager_.Find(Cid{cid});
    EXPECT_NE(vm, nullptr) << "cid " << cid;
    return vm == nullptr ? VmState::kNotStarted : vm->state();
  }

  VmManager manager_{PlatformInfo{}};
  ActionList out_;
  uint64_t last_request_ = 0;
};

// ---- VM-1 / VM-2: creation ----

TEST_F(VmManagerTest, VM1_CreateRepliesOkAndHoldsANotStartedVm) {
  Create(Config(5));
  EXPECT_THAT(Take(), ElementsAre("reply request=1 status=OK"));
  const VmInstance* vm = manager_.Find(Cid{5});
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->state(), VmState::kNotStarted);
  EXPECT_EQ(vm->config(), Config(5));
  EXPECT_EQ(manager_.Find(Cid{6}), nullptr);
  EXPECT_EQ(manager_.size(), 1u);
}

TEST_F(VmManagerTest, VM2_InvalidConfigIsRejectedAndNothingIsCreated) {
  VmConfig no_image = Config(5);
  no_image.kernel.reset();
  Create(no_image);
  VmConfig both = Config(6);
  both.bootloader = "/images/pvmfw.bin";
  Create(both);
  VmConfig future = Config(7);
  future.platform_version = "~2.0";
  Create(future);
  EXPECT_THAT(
      Take(),
      ElementsAre(
          "reply request=1 status=INVALID_ARGUMENT: VM-2: VM must have either "
          "a bootloader "
          "or a kernel image",
          "reply request=2 status=INVALID_ARGUMENT: VM-2: can't have both "
          "bootloader and "
          "kernel/initrd image",
          "reply request=3 status=INVALID_ARGUMENT: VM-2: incompatible "
          "platform version: the "
          "config is compatible with platform version(s) ~2.0, but the actual "
          "platform version is 1.0.0"));
  EXPECT_EQ(manager_.size(), 0u);
}

TEST_F(VmManagerTest, VM1_ReservedCidIsRejected) {
  Create(Config(2));
  EXPECT_THAT(
      Take(),
      ElementsAre("reply request=1 status=INVALID_ARGUMENT: VM-1: cid 2 is "
                  "reserved; guest cids start at 3"));
  EXPECT_EQ(manager_.Find(Cid{2}), nullptr);
}

TEST_F(VmManagerTest, VM1_CidInUseByLiveVmIsRejected) {
  const std::string kInUse =
      "ALREADY_EXISTS: VM-1: cid 5 is in use by a live VM";
  Create(Config(5));
  out_.clear();
  // NotStarted.
  Create(Config(5, /*detect_hangup=*/false));
  EXPECT_THAT(Take(), ElementsAre("reply request=2 status=" + kInUse));
  // NotStarted with its spawn in flight.
  StartVm(5);
  out_.clear();
  Create(Config(5, false));
  EXPECT_THAT(Take(), ElementsAre("reply request=4 status=" + kInUse));
  // Running.
  Spawned(5);
  out_.clear();
  Create(Config(5, false));
  EXPECT_THAT(Take(), ElementsAre("reply request=5 status=" + kInUse));
  // Dead, but on_died not delivered yet.
  Exited(5, ExitStatus::Exited(0));
  out_.clear();
  Create(Config(5, false));
  EXPECT_THAT(Take(), ElementsAre("reply request=6 status=" + kInUse));
  // The first VM is untouched throughout.
  EXPECT_EQ(manager_.Find(Cid{5})->config(), Config(5));
  EXPECT_EQ(StateOf(5), VmState::kDead);
}

TEST_F(VmManagerTest, VM1_CidOfADeadVmIsReused) {
  RunToDeath(5);
  Create(Config(5, /*detect_hangup=*/false));
  EXPECT_THAT(Take(), ElementsAre("reply request=3 status=OK"));
  const VmInstance* vm = manager_.Find(Cid{5});
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->state(), VmState::kNotStarted);
  EXPECT_EQ(vm->config(), Config(5, false));
  EXPECT_EQ(manager_.size(), 1u);
}

TEST_F(VmManagerTest, VM1_CidOfAFailedVmIsReused) {
  Create(Config(5));
  StartVm(5);
  Spawned(5, "exec failed");
  out_.clear();
  Create(Config(5));
  EXPECT_THAT(Take(), ElementsAre("reply request=3 status=OK"));
  EXPECT_EQ(StateOf(5), VmState::kNotStarted);
}

TEST_F(VmManagerTest, VM1_AtMostKMaxVmsLiveVms) {
  for (uint32_t i = 0; i < VmManager::kMaxVms; ++i) {
    Create(Config(kMinGuestCid + i));
  }
  out_.clear();
  const uint32_t extra = kMinGuestCid + VmManager::kMaxVms;
  Create(Config(extra));
  EXPECT_THAT(
      Take(),
      ElementsAre(absl::StrCat(
          "reply request=", last_request_,
          " status=RESOURCE_EXHAUSTED: VM-1: too many live VMs; at most "
          "1024 may exist at once")));
  EXPECT_EQ(manager_.Find(Cid{extra}), nullptr);
  EXPECT_EQ(manager_.size(), VmManager::kMaxVms);

  // Once one VM is no longer live, its place is taken.
  StartVm(kMinGuestCid + 10);
  Spawned(kMinGuestCid + 10, "exec failed");
  out_.clear();
  Create(Config(extra));
  EXPECT_THAT(Take(), ElementsAre(absl::StrCat("reply request=", last_request_,
                                               " status=OK")));
  EXPECT_EQ(manager_.Find(Cid{kMinGuestCid + 10}), nullptr);
  EXPECT_EQ(StateOf(extra), VmState::kNotStarted);
  EXPECT_EQ(manager_.size(), VmManager::kMaxVms);
}

// ---- VM-3 ----

TEST_F(VmManagerTest, VM3_StartRepliesOkOnceTheSpawnIsAskedFor) {
  Create(Config(5));
  out_.clear();
  StartVm(5, At(absl::Seconds(1)));
  EXPECT_THAT(Take(),
              ElementsAre(SpawnOf(Config(5)), "reply request=2 status=OK"));
  EXPECT_EQ(StateOf(5), VmState::kNotStarted);
  Spawned(5, std::nullopt, At(absl::Seconds(2)));
  EXPECT_THAT(Take(),
              ElementsAre("vm_state cid=5 state=RUNNING",
                          "arm_timer timer=hangup/5 deadline=12.000000000s"));
  EXPECT_EQ(StateOf(5), VmState::kRunning);
}

TEST_F(VmManagerTest, VM3_StartTwiceIsAnError) {
  Create(Config(5));
  StartVm(5);
  out_.clear();
  StartVm(5);
  EXPECT_THAT(
      Take(),
      ElementsAre("reply request=3 status=FAILED_PRECONDITION: VM-3: VM "
                  "already started or failed"));
  Spawned(5);
  out_.clear();
  StartVm(5);
  EXPECT_THAT(
      Take(),
      ElementsAre("reply request=4 status=FAILED_PRECONDITION: VM-3: VM "
                  "already started or failed"));
  EXPECT_EQ(StateOf(5), VmState::kRunning);
}

TEST_F(VmManagerTest, VM3_StartOfUnknownVmIsNotFound) {
  StartVm(9);
  EXPECT_THAT(
      Take(),
      ElementsAre("reply request=1 status=NOT_FOUND: no VM with cid 9"));
}

TEST_F(VmManagerTest, VM3_SpawnFailureMeansFailedAndNoOnDied) {
  Create(Config(5));
  StartVm(5);
  out_.clear();
  Spawned(5, "exec failed: ENOENT");
  Exited(5, ExitStatus::Exited(1));
  FailureRead(5, "");
  EXPECT_THAT(Take(), ElementsAre("vm_state cid=5 state=FAILED"));
  EXPECT_EQ(StateOf(5), VmState::kFailed);
  EXPECT_FALSE(manager_.Find(Cid{5})->died());
  EXPECT_TRUE(manager_.AllSettled());
}

// ---- VM-4 ----

TEST_F(VmManagerTest, VM4_ReportsAreRoutedByCid) {
  Run(Config(5, /*detect_hangup=*/false));
  Run(Config(6, /*detect_hangup=*/false));
  Reported(6, PayloadState::kReady);
  Reported(5, PayloadState::kStarted);
  Reported(6, PayloadState::kStarted);
  EXPECT_THAT(
      Take(),
      ElementsAre("payload_state cid=6 state=READY",
                  "payload_state cid=5 state=STARTED",
                  "guest_error cid=6 message=\"VM-4: invalid payload state "
                  "transition from READY to STARTED\""));
  EXPECT_EQ(manager_.Find(Cid{5})->payload_state(), PayloadState::kStarted);
  EXPECT_EQ(manager_.Find(Cid{6})->payload_state(), PayloadState::kReady);
}

TEST_F(VmManagerTest, VM4_ReportForUnknownCidIsIgnored) {
  Reported(9, PayloadState::kStarted);
  EXPECT_THAT(out_, IsEmpty());
}

// ---- VM-5 ----

TEST_F(VmManagerTest, VM5_TimeoutKillsAndReasonIsHangup) {
  Create(Config(5));
  StartVm(5);
  out_.clear();
  Spawned(5, std::nullopt, At(absl::Seconds(1)));
  EXPECT_THAT(Take(),
              ElementsAre("vm_state cid=5 state=RUNNING",
                          "arm_timer timer=hangup/5 deadline=11.000000000s"));
  Fired(TimerId{TimerKind::kHangup, 5}, At(absl::Seconds(11)));
  EXPECT_THAT(Take(), ElementsAre("kill_vmm cid=5"));
  Exited(5, ExitStatus::Signalled(kSigKill), At(absl::Seconds(11)));
  EXPECT_THAT(Take(), ElementsAre("vm_state cid=5 state=DEAD",
                                  "on_died cid=5 reason=HANGUP",
                                  "remove_temp_dir cid=5"));
  EXPECT_TRUE(manager_.AllSettled());
}

TEST_F(VmManagerTest, VM5_ExitBeforeStartedEndsWaitAtOnce) {
  Run(Config(5));
  Exited(5, ExitStatus::Exited(33), At(absl::Seconds(1)));
  FailureRead(5, "", At(absl::Seconds(1)));
  EXPECT_THAT(
      Take(),
      ElementsAre("vm_state cid=5 state=DEAD", "cancel_timer timer=hangup/5",
                  "read_failure_reason cid=5 max_bytes=4096",
                  "on_died cid=5 reason=CRASH", "remove_temp_dir cid=5"));
}

TEST_F(VmManagerTest, VM5_StartedCancelsTheWait) {
  Run(Config(5));
  Reported(5, PayloadState::kStarted, At(absl::Seconds(3)));
  EXPECT_THAT(Take(), ElementsAre("payload_state cid=5 state=STARTED",
                                  "cancel_timer timer=hangup/5"));
  Fired(TimerId{TimerKind::kHangup, 5}, At(absl::Seconds(10)));
  EXPECT_THAT(out_, IsEmpty());
}

TEST_F(VmManagerTest, VM5_NestedVirtualizationWaits100s) {
  VmManager nested(PlatformInfo{.nested_virtualization = true});
  nested.OnCreateVm(kT0, {RequestId{1}, Config(5)}, out_);
  nested.OnStartVm(kT0, {RequestId{2}, Cid{5}}, out_);
  out_.clear();
  nested.OnVmmSpawned(At(absl::Seconds(1)), {Cid{5}, std::nullopt}, out_);
  EXPECT_THAT(Take(),
              ElementsAre("vm_state cid=5 state=RUNNING",
                          "arm_timer timer=hangup/5 deadline=101.000000000s"));
}

TEST_F(VmManagerTest, VM5_StaleFireForAReplacedVmIsIgnored) {
  // The first VM with cid 5 waits until t=10 but dies at t=1.
  Run(Config(5));
  Exited(5, ExitStatus::Exited(0), At(absl::Seconds(1)));
  FailureRead(5, "", At(absl::Seconds(1)));
  // Its successor starts at t=5 and waits until t=15.
  Run(Config(5), At(absl::Seconds(5)));
  // The first VM's fire, delivered late, must not kill the successor.
  Fired(TimerId{TimerKind::kHangup, 5}, At(absl::Seconds(10)));
  EXPECT_THAT(out_, IsEmpty());
  Fired(TimerId{TimerKind::kHangup, 5}, At(absl::Seconds(15)));
  EXPECT_THAT(Take(), ElementsAre("kill_vmm cid=5"));
}

TEST_F(VmManagerTest, VM5_TimersThatAreNotOursAreIgnored) {
  Run(Config(5));
  Fired(TimerId{TimerKind::kStopGrace, 5}, At(absl::Seconds(60)));
  Fired(TimerId{TimerKind::kAgentRetry, 5}, At(absl::Seconds(60)));
  Fired(TimerId{TimerKind::kBootRetry, 5}, At(absl::Seconds(60)));
  Fired(TimerId{TimerKind::kHangup, 6}, At(absl::Seconds(60)));
  // An owner that only matches cid 5 after truncation to 32 bits.
  Fired(TimerId{TimerKind::kHangup, (uint64_t{1} << 32) + 5},
        At(absl::Seconds(60)));
  EXPECT_THAT(out_, IsEmpty());
  EXPECT_FALSE(manager_.Find(Cid{5})->hung_up());
}

// ---- VM-6 / VM-7 ----

TEST_F(VmManagerTest, VM6_FailureReasonFromTheGuestDecides) {
  Run(Config(5, /*detect_hangup=*/false));
  Exited(5, ExitStatus::Exited(1));
  FailureRead(5, "MICRODROID_INVALID_PAYLOAD_CONFIG\n");
  EXPECT_THAT(
      Take(),
      ElementsAre("vm_state cid=5 state=DEAD",
                  "read_failure_reason cid=5 max_bytes=4096",
                  "on_died cid=5 reason=MICRODROID_INVALID_PAYLOAD_CONFIG",
                  "remove_temp_dir cid=5"));
}

TEST_F(VmManagerTest, VM7_StateIsDeadBeforeOnDied) {
  Run(Config(5, /*detect_hangup=*/false));
  Exited(5, std::nullopt);
  EXPECT_THAT(Take(), ElementsAre("vm_state cid=5 state=DEAD",
                                  "read_failure_reason cid=5 max_bytes=4096"));
  EXPECT_EQ(StateOf(5), VmState::kDead);
  EXPECT_FALSE(manager_.AllSettled());
  FailureRead(5, "");
  EXPECT_THAT(Take(), ElementsAre("on_died cid=5 reason=INFRASTRUCTURE_ERROR",
                                  "remove_temp_dir cid=5"));
  EXPECT_TRUE(manager_.AllSettled());
}

TEST_F(VmManagerTest, VM7_OnDiedExactlyOnce) {
  Run(Config(5, /*detect_hangup=*/false));
  Exited(5, ExitStatus::Exited(0));
  Exited(5, ExitStatus::Exited(0));
  FailureRead(5, "");
  FailureRead(5, "");
  Exited(5, ExitStatus::Exited(0));
  EXPECT_THAT(Take(), ElementsAre("vm_state cid=5 state=DEAD",
                                  "read_failure_reason cid=5 max_bytes=4096",
                                  "on_died cid=5 reason=SHUTDOWN",
                                  "remove_temp_dir cid=5"));
}

TEST_F(VmManagerTest, VM7_WorldInputsForUnknownCidsAreIgnored) {
  Spawned(9);
  Exited(9, ExitStatus::Exited(0));
  FailureRead(9, "HANGUP");
  Fired(TimerId{TimerKind::kHangup, 9}, At(absl::Seconds(10)));
  EXPECT_THAT(out_, IsEmpty());
  EXPECT_EQ(manager_.size(), 0u);
}

// ---- VM-8 ----

TEST_F(VmManagerTest, VM8_KillOnlyActsOnRunning) {
  Create(Config(5));
  out_.clear();
  KillVm(5);  // NotStarted
  EXPECT_THAT(Take(), ElementsAre("reply request=2 status=OK"));
  StartVm(5);
  out_.clear();
  KillVm(5);  // spawn in flight
  EXPECT_THAT(Take(), ElementsAre("reply request=4 status=OK"));
  Spawned(5);
  out_.clear();
  KillVm(5);  // Running
  EXPECT_THAT(Take(),
              ElementsAre("kill_vmm cid=5", "reply request=5 status=OK"));
  Exited(5, ExitStatus::Signalled(kSigKill));
  out_.clear();
  KillVm(5);  // Dead
  EXPECT_THAT(Take(), ElementsAre("reply request=6 status=OK"));
}

TEST_F(VmManagerTest, VM8_KillOfUnknownVmIsNotFound) {
  KillVm(9);
  EXPECT_THAT(
      Take(),
      ElementsAre("reply request=1 status=NOT_FOUND: no VM with cid 9"));
}

// ---- RT-2 support ----

TEST_F(VmManagerTest, RT2_KillAllKillsRunningVmsInCidOrder) {
  Run(Config(9));
  Run(Config(3));
  Create(Config(4));  // NotStarted
  Run(Config(7));
  RunToDeath(8);
  Run(Config(5));
  out_.clear();
  manager_.KillAll(At(absl::Seconds(1)), out_);
  EXPECT_THAT(Take(), ElementsAre("kill_vmm cid=3", "kill_vmm cid=5",
                                  "kill_vmm cid=7", "kill_vmm cid=9"));
}

TEST_F(VmManagerTest, RT2_AllSettledOnlyWhenNothingMoreIsComing) {
  EXPECT_TRUE(manager_.AllSettled());
  Create(Config(5));
  EXPECT_TRUE(manager_.AllSettled());  // nothing happens without a start
  StartVm(5);
  EXPECT_FALSE(manager_.AllSettled());  // spawn in flight
  Spawned(5);
  EXPECT_FALSE(manager_.AllSettled());  // running
  manager_.KillAll(kT0, out_);
  EXPECT_FALSE(manager_.AllSettled());  // killed, exit not yet seen
  Exited(5, ExitStatus::Signalled(kSigKill));
  EXPECT_FALSE(manager_.AllSettled());  // awaiting the failure reason
  FailureRead(5, "");
  EXPECT_TRUE(manager_.AllSettled());
  EXPECT_TRUE(manager_.Find(Cid{5})->died());
}

}  // namespace
}  // namespace proctor
