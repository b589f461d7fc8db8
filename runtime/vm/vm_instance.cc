#include "runtime/vm/vm_instance.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/model/check.h"
#include "runtime/vm/death_reason.h"
#include "runtime/vm/vmm_command.h"

namespace proctor {

TimerId HangupTimerFor(Cid cid) {
  return TimerId{TimerKind::kHangup, cid.value};
}

VmInstance::VmInstance(VmConfig config, PlatformInfo platform,
                       MutantSet mutants)
    : config_(std::move(config)), platform_(platform), mutants_(mutants) {
  PROCTOR_CHECK(ValidateVmConfig(config_, platform_).ok());
}

absl::Status VmInstance::Start(Instant /*now*/, ActionList& out) {
  if (state_ != VmState::kNotStarted || spawn_in_flight_) {
    return absl::FailedPreconditionError("VM-3: VM already started or failed");
  }
  spawn_in_flight_ = true;
  out.push_back(action::SpawnVmm{cid(), BuildVmmCommand(config_)});
  return absl::OkStatus();
}

void VmInstance::Kill(Instant /*now*/, ActionList& out) {
  if (state_ != VmState::kRunning) return;
  out.push_back(action::KillVmm{cid()});
}

void VmInstance::OnVmmSpawned(Instant now, const input::VmmSpawned& spawned,
                              ActionList& out) {
  PROCTOR_CHECK(spawned.cid == cid());
  // A spawn outcome nobody asked for (a duplicate from the world) changes
  // nothing: the VM's fate was already decided by the first one.
  if (!spawn_in_flight_) return;
  PROCTOR_CHECK(state_ == VmState::kNotStarted);
  spawn_in_flight_ = false;
  if (spawned.error.has_value()) {
    // Never started, so VM-7 owes no on_died.
    state_ = VmState::kFailed;
    out.push_back(action::VmStateChanged{cid(), VmState::kFailed});
    return;
  }
  state_ = VmState::kRunning;
  out.push_back(action::VmStateChanged{cid(), VmState::kRunning});
  if (config_.detect_hangup) {
    hangup_deadline_ = now + EffectiveHangupTimeout(config_, platform_);
    out.push_back(action::ArmTimer{HangupTimerFor(cid()), *hangup_deadline_});
  }
}

void VmInstance::OnPayloadReported(Instant /*now*/,
                                   const input::PayloadReported& report,
                                   ActionList& out) {
  PROCTOR_CHECK(report.cid == cid());
  if (state_ != VmState::kRunning) {
    out.push_back(action::GuestError{
        cid(),
        absl::StrCat("VM-4: payload state ", PayloadStateName(report.state),
                     " reported while the VM is ", VmStateName(state_))});
    return;
  }
  // VM-4: strictly forward only; mutant payload-backward accepts any move.
  if (report.state <= payload_ && !mutants_.Has(Mutant::kPayloadBackward)) {
    out.push_back(action::GuestError{
        cid(), absl::StrCat("VM-4: invalid payload state transition from ",
                            PayloadStateName(payload_), " to ",
                            PayloadStateName(report.state))});
    return;
  }
  payload_ = report.state;
  out.push_back(action::PayloadStateChanged{cid(), payload_});
  if (payload_ >= PayloadState::kStarted && hangup_deadline_.has_value()) {
    hangup_deadline_.reset();
    out.push_back(action::CancelTimer{HangupTimerFor(cid())});
  }
}

void VmInstance::OnHangupTimerFired(Instant now, ActionList& out) {
  if (!hangup_deadline_.has_value() || now < *hangup_deadline_) return;
  // The deadline is cleared as soon as the payload is Started, so a pending
  // wait implies the payload never got there.
  PROCTOR_CHECK(payload_ < PayloadState::kStarted);
  hangup_deadline_.reset();
  hung_up_ = true;
  if (state_ == VmState::kDead) [[unlikely]] {
    // Only the hangup-ignores-exit mutant waits on past the VMM's exit
    // (see OnVmmExited). The VMM is already gone, so there is nothing to
    // kill: the wait ends in on_died, with the reason VM-5 forbids.
    Die(ClassifyDeath(exit_, "", /*hung_up=*/true), out);
    return;
  }
  PROCTOR_CHECK(state_ == VmState::kRunning);
  out.push_back(action::KillVmm{cid()});
}

void VmInstance::OnVmmExited(Instant /*now*/, const input::VmmExited& exited,
                             ActionList& out) {
  PROCTOR_CHECK(exited.cid == cid());
  // Only a Running VM has a VMM to exit; a second exit of a Dead VM must not
  // become a second on_died (VM-7).
  if (state_ != VmState::kRunning) return;
  // VM-7: Dead before any callback, so on_died observers see it Dead.
  state_ = VmState::kDead;
  out.push_back(action::VmStateChanged{cid(), VmState::kDead});
  exit_ = exited.status;
  if (hangup_deadline_.has_value()) {
    // Mutant hangup-ignores-exit: the seed's wait does not notice the exit
    // and runs to its deadline, where OnHangupTimerFired ends it.
    if (mutants_.Has(Mutant::kHangupIgnoresExit)) [[unlikely]] {
      return;
    }
    // VM-5: an exit ends the wait at once; the reason comes from the exit.
    hangup_deadline_.reset();
    out.push_back(action::CancelTimer{HangupTimerFor(cid())});
  }
  if (hung_up_) {
    // As in the seed, the failure channel is not read after a hangup kill.
    Die(ClassifyDeath(exit_, "", /*hung_up=*/true), out);
    return;
  }
  awaiting_failure_reason_ = true;
  out.push_back(action::ReadFailureReason{cid(), kMaxFailureReasonBytes});
}

void VmInstance::OnFailureReasonRead(Instant /*now*/,
                                     const input::FailureReasonRead& read,
                                     ActionList& out) {
  PROCTOR_CHECK(read.cid == cid());
  if (!awaiting_failure_reason_) return;
  awaiting_failure_reason_ = false;
  absl::string_view failure = read.bytes;
  // Mutant failure-reason-ignored: the reason comes from the exit alone.
  if (mutants_.Has(Mutant::kFailureReasonIgnored)) [[unlikely]] {
    failure = "";
  }
  Die(ClassifyDeath(exit_, failure, /*hung_up=*/false), out);
}

bool VmInstance::settled() const {
  return state_ != VmState::kRunning && !spawn_in_flight_ &&
         !awaiting_failure_reason_ && !hangup_deadline_.has_value();
}

void VmInstance::Die(DeathReason reason, ActionList& out) {
  PROCTOR_CHECK(state_ == VmState::kDead);
  PROCTOR_CHECK(!death_reason_.has_value());
  death_reason_ = reason;
  out.push_back(action::OnDied{cid(), reason});
  // Mutant on-died-twice: the callback runs again.
  if (mutants_.Has(Mutant::kOnDiedTwice)) [[unlikely]] {
    out.push_back(action::OnDied{cid(), reason});
  }
  // VM-7: the temporary directory outlives on_died so that the callback can
  // still look at the VM's files.
  out.push_back(action::RemoveTempDir{cid()});
}

}  // namespace proctor
