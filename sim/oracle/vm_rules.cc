#include "sim/oracle/vm_rules.h"

#include <array>
#include <limits>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "runtime/model/describe.h"

namespace proctor::sim::oracle_internal {
namespace {

// VM-6: the only failure reports that name a reason, straight from the spec.
constexpr std::array<std::pair<absl::string_view, DeathReason>, 10>
    kFailureReports = {{
        {"PVM_FIRMWARE_PUBLIC_KEY_MISMATCH",
         DeathReason::kPvmFirmwarePublicKeyMismatch},
        {"PVM_FIRMWARE_INSTANCE_IMAGE_CHANGED",
         DeathReason::kPvmFirmwareInstanceImageChanged},
        {"BOOTLOADER_PUBLIC_KEY_MISMATCH",
         DeathReason::kBootloaderPublicKeyMismatch},
        {"BOOTLOADER_INSTANCE_IMAGE_CHANGED",
         DeathReason::kBootloaderInstanceImageChanged},
        {"MICRODROID_FAILED_TO_CONNECT_TO_VIRTUALIZATION_SERVICE",
         DeathReason::kMicrodroidFailedToConnectToVirtualizationService},
        {"MICRODROID_PAYLOAD_HAS_CHANGED",
         DeathReason::kMicrodroidPayloadHasChanged},
        {"MICRODROID_PAYLOAD_VERIFICATION_FAILED",
         DeathReason::kMicrodroidPayloadVerificationFailed},
        {"MICRODROID_INVALID_PAYLOAD_CONFIG",
         DeathReason::kMicrodroidInvalidPayloadConfig},
        {"MICRODROID_UNKNOWN_RUNTIME_ERROR",
         DeathReason::kMicrodroidUnknownRuntimeError},
        {"HANGUP", DeathReason::kHangup},
    }};

// VM-6: the failure channel is read bounded.
constexpr size_t kFailureReportBytes = 4096;

// VM-5: the hangup timeout when the config does not give one.
constexpr absl::Duration kDefaultHangupTimeout = absl::Seconds(10);
constexpr absl::Duration kNestedHangupTimeout = absl::Seconds(100);

std::string DescribeExit(const std::optional<ExitStatus>& exit) {
  return exit.has_value() ? FormatExitStatus(*exit) : "unobserved";
}

}  // namespace

std::optional<DeathReason> ReasonFromFailureReport(absl::string_view bytes) {
  absl::string_view report = bytes.substr(0, kFailureReportBytes);
  absl::ConsumeSuffix(&report, "\n");
  for (const auto& [name, reason] : kFailureReports) {
    if (report == name) return reason;
  }
  return std::nullopt;
}

DeathReason ExpectedDeathReason(const std::optional<ExitStatus>& exit,
                                std::optional<DeathReason> reported,
                                bool hung_up) {
  if (!exit.has_value()) return DeathReason::kInfrastructureError;
  if (hung_up) return DeathReason::kHangup;
  if (reported.has_value()) return *reported;
  if (exit->signalled()) return DeathReason::kKilled;
  switch (exit->code()) {
    case 0:
      return DeathReason::kShutdown;
    case 1:
      return DeathReason::kError;
    case 32:
      return DeathReason::kReboot;
    case 33:
      return DeathReason::kCrash;
    default:
      return DeathReason::kUnknown;
  }
}

VmRules::Vm* VmRules::Find(Cid cid) {
  auto it = vms_.find(cid);
  return it == vms_.end() ? nullptr : &it->second;
}

Rule VmRules::ExitRule(const Vm& vm) {
  return vm.detect_hangup && vm.exited_during_hangup_wait ? Rule::kVm5
                                                          : Rule::kVm7;
}

void VmRules::EndHangupWait(Cid cid, Vm& vm) {
  if (!vm.hangup_deadline.has_value()) return;
  hangup_deadlines_.erase({*vm.hangup_deadline, cid});
  vm.hangup_deadline.reset();
}

void VmRules::CheckHangupDeadlines() {
  if (hangup_deadlines_.empty()) return;
  judge().Count(Rule::kVm5);
  const auto [deadline, cid] = *hangup_deadlines_.begin();
  if (deadline + judge().options().timer_slack >= now()) return;
  const Vm& vm = vms_.at(cid);
  judge().Fail(
      Rule::kVm5,
      absl::StrCat("cid ", cid.value,
                   " had neither STARTED nor exited by its hangup "
                   "deadline ",
                   At(deadline), " (spawned at ", At(vm.running_at),
                   ", timeout ", absl::FormatDuration(vm.hangup_timeout),
                   "), expected kill_vmm then; none by ", At(now())));
}

// ---- Inputs ----

void VmRules::OnInput(const Input& input) {
  step_ = StepExpectations{};
  pending_create_.reset();
  CheckHangupDeadlines();
  if (judge().failed()) return;

  if (const auto* in = std::get_if<input::CreateVm>(&input)) {
    pending_create_ = PendingCreate{
        in->request, in->config.cid, in->config.detect_hangup,
        in->config.hangup_timeout.value_or(
            judge().options().nested_virtualization ? kNestedHangupTimeout
                                                    : kDefaultHangupTimeout)};
  } else if (const auto* in = std::get_if<input::StartVm>(&input)) {
    const Vm* vm = Find(in->cid);
    step_.start = StepExpectations::Start{
        in->request, in->cid,
        vm != nullptr && !vm->start_accepted && !shared().shutdown_begun};
  } else if (const auto* in = std::get_if<input::KillVm>(&input)) {
    const Vm* vm = Find(in->cid);
    step_.kill = StepExpectations::Kill{
        in->cid, vm != nullptr && vm->state == VmState::kRunning &&
                     !shared().shutdown_begun};
  } else if (const auto* in = std::get_if<input::VmmSpawned>(&input)) {
    Vm* vm = Find(in->cid);
    if (vm == nullptr || !vm->spawn_in_flight) return;
    vm->spawn_in_flight = false;
    if (in->error.has_value()) {
      vm->state = VmState::kFailed;
      step_.state = {in->cid, VmState::kFailed};
      return;
    }
    vm->state = VmState::kRunning;
    vm->reached_running = true;
    vm->running_at = now();
    step_.state = {in->cid, VmState::kRunning};
    if (vm->detect_hangup) {
      vm->hangup_deadline = now() + vm->hangup_timeout;
      hangup_deadlines_.insert({*vm->hangup_deadline, in->cid});
    }
  } else if (const auto* in = std::get_if<input::VmmExited>(&input)) {
    Vm* vm = Find(in->cid);
    if (vm == nullptr || vm->state != VmState::kRunning) return;
    vm->state = VmState::kDead;
    vm->exited = true;
    vm->exit_status = in->status;
    vm->exited_at = now();
    vm->exited_during_hangup_wait = vm->hangup_deadline.has_value();
    EndHangupWait(in->cid, *vm);
    step_.state = {in->cid, VmState::kDead};
    step_.exit_handling = in->cid;
  } else if (const auto* in = std::get_if<input::PayloadReported>(&input)) {
    Vm* vm = Find(in->cid);
    if (vm == nullptr) return;
    StepExpectations::Payload payload{in->cid, in->state, vm->payload,
                                      vm->state == VmState::kRunning};
    payload.forward = payload.running && in->state > vm->payload;
    step_.payload = payload;
    if (!payload.forward) return;
    vm->payload = in->state;
    if (in->state >= PayloadState::kStarted) EndHangupWait(in->cid, *vm);
  } else if (const auto* in = std::get_if<input::FailureReasonRead>(&input)) {
    Vm* vm = Find(in->cid);
    if (vm == nullptr || !vm->awaiting_failure_reason) return;
    vm->awaiting_failure_reason = false;
    vm->failure_reason_read = true;
    vm->reported_reason = ReasonFromFailureReport(in->bytes);
    step_.death = in->cid;
  } else if (const auto* in = std::get_if<input::TimerFired>(&input)) {
    if (in->timer.kind == TimerKind::kHangup &&
        in->timer.owner <= std::numeric_limits<Cid::rep_type>::max()) {
      step_.hangup_timer = Cid{static_cast<Cid::rep_type>(in->timer.owner)};
    }
  }
}

// ---- Actions ----

void VmRules::OnAction(const Action& action) {
  if (const auto* a = std::get_if<action::Reply>(&action)) {
    OnReply(*a);
  } else if (const auto* a = std::get_if<action::SpawnVmm>(&action)) {
    judge().Count(Rule::kVm3);
    Vm* vm = Find(a->cid);
    if (vm == nullptr || !step_.start.has_value() ||
        step_.start->cid != a->cid || !step_.start->expect_ok) {
      judge().Fail(Rule::kVm3,
                   absl::StrCat("spawn_vmm for cid ", a->cid.value,
                                " without a start_vm that may start it (a "
                                "VM's first start, before shutdown)"));
      return;
    }
    step_.start->spawned = true;
    vm->start_accepted = true;
    vm->spawn_in_flight = true;
  } else if (const auto* a = std::get_if<action::VmStateChanged>(&action)) {
    OnVmState(*a);
  } else if (const auto* a =
                 std::get_if<action::PayloadStateChanged>(&action)) {
    OnPayloadState(*a);
  } else if (const auto* a = std::get_if<action::GuestError>(&action)) {
    if (step_.payload.has_value() && step_.payload->cid == a->cid) {
      step_.payload->guest_error_seen = true;
    }
  } else if (const auto* a = std::get_if<action::KillVmm>(&action)) {
    OnKillVmm(*a);
  } else if (const auto* a = std::get_if<action::ReadFailureReason>(&action)) {
    OnReadFailureReason(*a);
  } else if (const auto* a = std::get_if<action::OnDied>(&action)) {
    OnDied(*a);
  } else if (const auto* a = std::get_if<action::RemoveTempDir>(&action)) {
    judge().Count(Rule::kVm7);
    const Vm* vm = Find(a->cid);
    if (vm == nullptr || vm->on_died == 0) {
      judge().Fail(Rule::kVm7,
                   absl::StrCat("remove_temp_dir for cid ", a->cid.value,
                                " before its on_died"));
    }
  }
}

void VmRules::OnReply(const action::Reply& reply) {
  if (pending_create_.has_value() &&
      reply.request == pending_create_->request && reply.status.ok()) {
    const PendingCreate create = *pending_create_;
    pending_create_.reset();
    if (Vm* old = Find(create.cid)) {
      judge().Count(Rule::kVm1);
      if (old->spawn_in_flight || (old->reached_running && old->on_died == 0)) {
        judge().Fail(Rule::kVm1,
                     absl::StrCat("create_vm for cid ", create.cid.value,
                                  " accepted while the cid is in use by a VM "
                                  "that still owes its on_died"));
        return;
      }
      EndHangupWait(create.cid, *old);
      vms_.erase(create.cid);
    } else if (!judge().HasRoom(vms_.size(), kMaxVms)) {
      return;
    }
    Vm vm;
    vm.detect_hangup = create.detect_hangup;
    vm.hangup_timeout = create.hangup_timeout;
    vms_.emplace(create.cid, vm);
    return;
  }
  if (step_.start.has_value() && reply.request == step_.start->request) {
    judge().Count(Rule::kVm3);
    const StepExpectations::Start& start = step_.start.value();
    step_.start->replied_ok = reply.status.ok();
    if (reply.status.ok() && !start.expect_ok) {
      const Vm* vm = Find(start.cid);
      judge().Fail(
          Rule::kVm3,
          absl::StrCat("start_vm for cid ", start.cid.value,
                       " answered OK, expected an error: ",
                       vm == nullptr             ? "no such VM"
                       : shared().shutdown_begun ? "shutdown has begun"
                                                 : "it was already started"));
    } else if (!reply.status.ok() && start.expect_ok) {
      judge().Fail(Rule::kVm3,
                   absl::StrCat("start_vm for cid ", start.cid.value,
                                " refused (", DescribeStatus(reply.status),
                                ") though the VM had never been started"));
    }
  }
}

void VmRules::OnVmState(const action::VmStateChanged& changed) {
  judge().Count(Rule::kVm3);
  Vm* vm = Find(changed.cid);
  if (vm == nullptr) {
    judge().Fail(Rule::kVm3,
                 absl::StrCat("vm_state ", VmStateName(changed.state),
                              " for unknown cid ", changed.cid.value));
    return;
  }
  const VmState from = vm->announced;
  const bool allowed =
      (from == VmState::kNotStarted && (changed.state == VmState::kRunning ||
                                        changed.state == VmState::kFailed)) ||
      (from == VmState::kRunning && changed.state == VmState::kDead);
  if (!allowed) {
    judge().Fail(
        Rule::kVm3,
        absl::StrCat("vm_state for cid ", changed.cid.value, " went from ",
                     VmStateName(from), " to ", VmStateName(changed.state),
                     "; only NOT_STARTED->RUNNING|FAILED and "
                     "RUNNING->DEAD are allowed"));
    return;
  }
  if (changed.state != vm->state) {
    judge().Fail(
        Rule::kVm3,
        absl::StrCat("vm_state ", VmStateName(changed.state), " for cid ",
                     changed.cid.value, ", but its VMM's reports make it ",
                     VmStateName(vm->state)));
    return;
  }
  vm->announced = changed.state;
  if (step_.state.has_value() && step_.state->first == changed.cid &&
      step_.state->second == changed.state) {
    step_.state_seen = true;
  }
}

void VmRules::OnPayloadState(const action::PayloadStateChanged& changed) {
  judge().Count(Rule::kVm4);
  Vm* vm = Find(changed.cid);
  if (vm == nullptr) {
    judge().Fail(Rule::kVm4,
                 absl::StrCat("payload_state ", PayloadStateName(changed.state),
                              " for unknown cid ", changed.cid.value));
    return;
  }
  if (changed.state <= vm->announced_payload) {
    judge().Fail(
        Rule::kVm4,
        absl::StrCat("payload_state for cid ", changed.cid.value, " went from ",
                     PayloadStateName(vm->announced_payload), " to ",
                     PayloadStateName(changed.state),
                     ": not strictly forward"));
    return;
  }
  const bool reported =
      step_.payload.has_value() && step_.payload->cid == changed.cid &&
      step_.payload->state == changed.state && step_.payload->forward;
  if (!reported) {
    judge().Fail(Rule::kVm4,
                 absl::StrCat("payload_state ", PayloadStateName(changed.state),
                              " for cid ", changed.cid.value,
                              " without a forward payload_reported of it"));
    return;
  }
  step_.payload->payload_seen = true;
  vm->announced_payload = changed.state;
}

void VmRules::OnKillVmm(const action::KillVmm& kill) {
  Vm* vm = Find(kill.cid);
  if (vm != nullptr && step_.hangup_timer == kill.cid) {
    judge().Count(Rule::kVm5);
    std::string wrong;
    if (!vm->detect_hangup) {
      wrong = "the VM does not detect hangups";
    } else if (vm->exited) {
      wrong = absl::StrCat("its VMM exited at ", At(vm->exited_at),
                           ", which ends the wait");
    } else if (vm->payload >= PayloadState::kStarted) {
      wrong = absl::StrCat("its payload is ", PayloadStateName(vm->payload));
    } else if (!vm->hangup_deadline.has_value()) {
      wrong = "no hangup wait is on";
    } else if (now() < *vm->hangup_deadline ||
               now() > *vm->hangup_deadline + judge().options().timer_slack) {
      wrong = absl::StrCat("the deadline is ", At(*vm->hangup_deadline),
                           " (spawned at ", At(vm->running_at), " + ",
                           absl::FormatDuration(vm->hangup_timeout), ")");
    }
    if (!wrong.empty()) {
      judge().Fail(Rule::kVm5,
                   absl::StrCat("kill_vmm for hangup of cid ", kill.cid.value,
                                " at ", At(now()), ", but ", wrong));
      return;
    }
    vm->hung_up = true;
    EndHangupWait(kill.cid, *vm);
  }
  judge().Count(Rule::kVm8);
  if (vm == nullptr || vm->state != VmState::kRunning) {
    judge().Fail(
        Rule::kVm8,
        absl::StrCat("kill_vmm for cid ", kill.cid.value, " whose VM is ",
                     vm == nullptr ? "unknown" : VmStateName(vm->state),
                     "; only a RUNNING VM may be killed"));
    return;
  }
  if (step_.kill.has_value() && step_.kill->cid == kill.cid) {
    step_.kill->killed = true;
  }
}

void VmRules::OnReadFailureReason(const action::ReadFailureReason& read) {
  judge().Count(Rule::kVm6);
  Vm* vm = Find(read.cid);
  if (vm == nullptr || !vm->exited || vm->on_died > 0) {
    judge().Fail(Rule::kVm6,
                 absl::StrCat("read_failure_reason for cid ", read.cid.value,
                              vm != nullptr && vm->on_died > 0
                                  ? " after its on_died"
                                  : " before its VMM exited"));
    return;
  }
  vm->awaiting_failure_reason = true;
  if (step_.exit_handling == read.cid) step_.exit_handled = true;
}

void VmRules::OnDied(const action::OnDied& died) {
  judge().Count(Rule::kVm7);
  Vm* vm = Find(died.cid);
  if (vm == nullptr) {
    judge().Fail(Rule::kVm7,
                 absl::StrCat("on_died for unknown cid ", died.cid.value));
    return;
  }
  if (!vm->reached_running) {
    judge().Fail(Rule::kVm7,
                 absl::StrCat("on_died for cid ", died.cid.value,
                              " whose VM never reached RUNNING (it is ",
                              VmStateName(vm->state), ")"));
    return;
  }
  if (vm->on_died > 0) {
    judge().Fail(Rule::kVm7,
                 absl::StrCat("on_died for cid ", died.cid.value,
                              " delivered twice (first at ", At(vm->died_at),
                              ", again at ", At(now()), ")"));
    return;
  }
  if (vm->announced != VmState::kDead) {
    judge().Fail(Rule::kVm7, absl::StrCat("on_died for cid ", died.cid.value,
                                          " while its last vm_state is ",
                                          VmStateName(vm->announced),
                                          "; DEAD must come first"));
    return;
  }
  judge().Count(Rule::kVm5);
  if (vm->detect_hangup && vm->exited_during_hangup_wait &&
      died.reason == DeathReason::kHangup &&
      vm->reported_reason != DeathReason::kHangup) {
    judge().Fail(Rule::kVm5,
                 absl::StrCat("on_died HANGUP for cid ", died.cid.value,
                              " whose VMM exited at ", At(vm->exited_at),
                              " before STARTED; the reason must come from "
                              "the exit"));
    return;
  }
  judge().Count(Rule::kVm6);
  if (vm->exit_status.has_value() && !vm->hung_up && !vm->failure_reason_read) {
    judge().Fail(Rule::kVm6,
                 absl::StrCat("on_died for cid ", died.cid.value,
                              " without reading its failure channel first"));
    return;
  }
  const DeathReason expected =
      ExpectedDeathReason(vm->exit_status, vm->reported_reason, vm->hung_up);
  if (died.reason != expected) {
    judge().Fail(
        Rule::kVm6,
        absl::StrCat("on_died for cid ", died.cid.value, " says ",
                     DeathReasonName(died.reason), ", expected ",
                     DeathReasonName(expected), " (exit ",
                     DescribeExit(vm->exit_status), ", failure report ",
                     vm->reported_reason.has_value()
                         ? DeathReasonName(*vm->reported_reason)
                         : "none",
                     ", hung up: ", vm->hung_up ? "yes" : "no", ")"));
    return;
  }
  ++vm->on_died;
  vm->died_at = now();
  if (step_.exit_handling == died.cid) step_.exit_handled = true;
  if (step_.death == died.cid) step_.died = true;
}

// ---- End of a step ----

void VmRules::EndStep() {
  if (step_.start.has_value() && step_.start->replied_ok == true &&
      !step_.start->spawned) {
    judge().FailStep(Rule::kVm3,
                     absl::StrCat("start_vm for cid ", step_.start->cid.value,
                                  " answered OK but no spawn_vmm followed"));
    return;
  }
  if (step_.kill.has_value()) {
    judge().Count(Rule::kVm8);
    if (step_.kill->must_kill && !step_.kill->killed) {
      judge().FailStep(Rule::kVm8, absl::StrCat("kill_vm for RUNNING cid ",
                                                step_.kill->cid.value,
                                                " emitted no kill_vmm"));
      return;
    }
  }
  if (step_.state.has_value() && !step_.state_seen) {
    const auto [cid, state] = *step_.state;
    judge().FailStep(
        state == VmState::kDead ? Rule::kVm7 : Rule::kVm3,
        absl::StrCat("cid ", cid.value, " became ", VmStateName(state),
                     " but no vm_state ", VmStateName(state), " followed"));
    return;
  }
  if (step_.payload.has_value()) {
    judge().Count(Rule::kVm4);
    const StepExpectations::Payload& p = *step_.payload;
    if (p.forward && !p.payload_seen) {
      judge().FailStep(
          Rule::kVm4,
          absl::StrCat("payload_reported ", PayloadStateName(p.state),
                       " for cid ", p.cid.value, " is forward from ",
                       PayloadStateName(p.from),
                       " but no payload_state followed"));
      return;
    }
    if (!p.forward && !p.guest_error_seen) {
      judge().FailStep(
          Rule::kVm4,
          absl::StrCat("payload_reported ", PayloadStateName(p.state),
                       " for cid ", p.cid.value, " is invalid (",
                       p.running ? absl::StrCat("last accepted ",
                                                PayloadStateName(p.from))
                                 : std::string("the VM is not running"),
                       ") but no guest_error followed"));
      return;
    }
  }
  if (step_.exit_handling.has_value() && !step_.exit_handled) {
    const Cid cid = *step_.exit_handling;
    const Vm* vm = Find(cid);
    judge().FailStep(vm == nullptr ? Rule::kVm7 : ExitRule(*vm),
                     absl::StrCat("vmm_exited for cid ", cid.value,
                                  " was not followed at once by "
                                  "read_failure_reason or on_died"));
    return;
  }
  if (step_.death.has_value() && !step_.died) {
    const Cid cid = *step_.death;
    const Vm* vm = Find(cid);
    judge().FailStep(vm == nullptr ? Rule::kVm7 : ExitRule(*vm),
                     absl::StrCat("failure_reason_read for cid ", cid.value,
                                  " was not followed at once by on_died"));
  }
}

void VmRules::OnEnd(bool judge_liveness) {
  if (!judge_liveness) return;
  CheckHangupDeadlines();
  if (judge().failed()) return;
  for (const auto& [cid, vm] : vms_) {
    judge().Count(Rule::kVm7);
    if (vm.reached_running && vm.on_died == 0) {
      judge().Fail(
          Rule::kVm7,
          absl::StrCat("cid ", cid.value, " reached RUNNING at ",
                       At(vm.running_at), " but never got its on_died"));
      return;
    }
  }
}

}  // namespace proctor::sim::oracle_internal
