#include "runtime/vm/vm_manager.h"

#include <limits>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace proctor {
namespace {

absl::Status NoSuchVm(Cid cid) {
  return absl::NotFoundError(absl::StrCat("no VM with cid ", cid.value));
}

}  // namespace

bool IsLiveVm(const VmInstance& vm) {
  switch (vm.state()) {
    case VmState::kNotStarted:
    case VmState::kRunning:
      return true;
    case VmState::kDead:
      return !vm.died();
    case VmState::kFailed:
      return false;
  }
  return true;
}

VmManager::VmManager(PlatformInfo platform, const RuntimeLimits& limits,
                     MutantSet mutants)
    : platform_(platform), max_vms_(limits.max_vms), mutants_(mutants) {}

void VmManager::OnCreateVm(Instant /*now*/, const input::CreateVm& request,
                           ActionList& out) {
  auto reply = [&](absl::Status status) {
    out.push_back(
        action::Reply{request.request, std::move(status), std::monostate{}});
  };
  if (absl::Status valid = ValidateVmConfig(request.config, platform_);
      !valid.ok()) {
    reply(std::move(valid));
    return;
  }
  const Cid cid = request.config.cid;
  if (auto it = vms_.find(cid); it != vms_.end()) {
    if (IsLiveVm(*it->second)) {
      reply(absl::AlreadyExistsError(
          absl::StrCat("VM-1: cid ", cid.value, " is in use by a live VM")));
      return;
    }
    // Replacing does not grow the set, so the bound is not in play.
    it->second =
        std::make_unique<VmInstance>(request.config, platform_, mutants_);
    reply(absl::OkStatus());
    return;
  }
  if (vms_.size() >= max_vms_) ForgetDeadVms();
  if (vms_.size() >= max_vms_) {
    reply(absl::ResourceExhaustedError(absl::StrCat(
        "VM-1: too many live VMs; at most ", max_vms_, " may exist at once")));
    return;
  }
  vms_.emplace(
      cid, std::make_unique<VmInstance>(request.config, platform_, mutants_));
  reply(absl::OkStatus());
}

void VmManager::OnStartVm(Instant now, const input::StartVm& request,
                          ActionList& out) {
  VmInstance* vm = FindMutable(request.cid);
  absl::Status status =
      vm == nullptr ? NoSuchVm(request.cid) : vm->Start(now, out);
  out.push_back(
      action::Reply{request.request, std::move(status), std::monostate{}});
}

void VmManager::OnKillVm(Instant now, const input::KillVm& request,
                         ActionList& out) {
  VmInstance* vm = FindMutable(request.cid);
  absl::Status status = absl::OkStatus();
  if (vm == nullptr) {
    status = NoSuchVm(request.cid);
  } else {
    vm->Kill(now, out);
  }
  out.push_back(
      action::Reply{request.request, std::move(status), std::monostate{}});
}

void VmManager::OnVmmSpawned(Instant now, const input::VmmSpawned& spawned,
                             ActionList& out) {
  if (VmInstance* vm = FindMutable(spawned.cid)) {
    vm->OnVmmSpawned(now, spawned, out);
  }
}

void VmManager::OnVmmExited(Instant now, const input::VmmExited& exited,
                            ActionList& out) {
  if (VmInstance* vm = FindMutable(exited.cid)) {
    vm->OnVmmExited(now, exited, out);
  }
}

void VmManager::OnPayloadReported(Instant now,
                                  const input::PayloadReported& report,
                                  ActionList& out) {
  if (VmInstance* vm = FindMutable(report.cid)) {
    vm->OnPayloadReported(now, report, out);
  }
}

void VmManager::OnFailureReasonRead(Instant now,
                                    const input::FailureReasonRead& read,
                                    ActionList& out) {
  if (VmInstance* vm = FindMutable(read.cid)) {
    vm->OnFailureReasonRead(now, read, out);
  }
}

void VmManager::OnTimerFired(Instant now, const input::TimerFired& fired,
                             ActionList& out) {
  if (fired.timer.kind != TimerKind::kHangup) return;
  // A timer owner too large for a cid cannot be one of ours.
  if (fired.timer.owner > std::numeric_limits<Cid::rep_type>::max()) return;
  const Cid cid{static_cast<Cid::rep_type>(fired.timer.owner)};
  if (VmInstance* vm = FindMutable(cid)) vm->OnHangupTimerFired(now, out);
}

void VmManager::KillAll(Instant now, ActionList& out) {
  for (auto& [cid, vm] : vms_) vm->Kill(now, out);
}

void VmManager::Kill(Instant now, Cid cid, ActionList& out) {
  if (VmInstance* vm = FindMutable(cid)) vm->Kill(now, out);
}

bool VmManager::AllSettled() const {
  for (const auto& [cid, vm] : vms_) {
    if (!vm->settled()) return false;
  }
  return true;
}

const VmInstance* VmManager::Find(Cid cid) const {
  auto it = vms_.find(cid);
  return it == vms_.end() ? nullptr : it->second.get();
}

VmInstance* VmManager::FindMutable(Cid cid) {
  auto it = vms_.find(cid);
  return it == vms_.end() ? nullptr : it->second.get();
}

void VmManager::ForgetDeadVms() {
  absl::erase_if(vms_,
                 [](const auto& entry) { return !IsLiveVm(*entry.second); });
}

}  // namespace proctor
