// The world's VMs: the client that creates, starts and kills them, the VMM
// processes that spawn and exit, and the guests that boot and report their
// payload state (VM-1..8).
#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "runtime/model/check.h"
#include "sim/world/guest_life.h"
#include "sim/world/internal/world_state.h"

namespace proctor::sim::world_internal {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;

enum VmStep : uint64_t {
  kCreate = 0,       // maybe an invalid config first
  kCreateValid = 1,  // the valid config after an invalid one
  kStart = 2,
  kStartAgain = 3,  // VM-3: a second start is refused
  kKill = 4,
};

enum GuestStep : uint64_t {
  kReport = 0,     // the state is in bits 8..15
  kExit = 1,       // the VMM exits with planned_exit
  kBadReport = 2,  // payload_out_of_order; the fault is in bits 32..
};

uint64_t Step(GuestStep step, PayloadState state = PayloadState::kStarting,
              uint32_t fault = 0) {
  return uint64_t{step} | uint64_t{static_cast<uint8_t>(state)} << 8 |
         uint64_t{fault} << 32;
}

}  // namespace

VmSim* WorldState::FindVm(Cid cid) {
  if (cid.value < kMinGuestCid) return nullptr;
  const uint64_t index = cid.value - kMinGuestCid;
  return index < vms_.size() ? &vms_[index] : nullptr;
}

VmConfig WorldState::ValidConfig(VmSim& vm) {
  Prng& r = vm.rng;
  VmConfig config;
  config.cid = vm.cid;
  if (r.Chance(700'000)) {
    config.kernel = "/images/vmlinux";
    if (r.Chance(500'000)) config.initrd = "/images/initrd.img";
    if (r.Chance(500'000)) config.params = "console=hvc0 panic=-1";
  } else {
    config.bootloader = "/images/u-boot.bin";
  }
  const int64_t disks = r.Between(0, 2);
  for (int64_t i = 0; i < disks; ++i) {
    config.disks.push_back(
        DiskImage{absl::StrCat("/images/disk", i, ".img"), r.Chance(500'000)});
  }
  config.protected_vm = r.Chance(200'000);
  if (r.Chance(500'000)) {
    config.memory_mib = static_cast<uint32_t>(r.Between(64, 2048));
  }
  if (r.Chance(500'000)) config.cpus = static_cast<uint32_t>(r.Between(1, 4));
  if (r.Chance(300'000)) config.platform_version = ">=1.0";
  config.detect_hangup = r.Chance(400'000);
  if (config.detect_hangup && r.Chance(800'000)) {
    config.hangup_timeout = absl::Milliseconds(r.Between(1'000, 5'000));
  }
  return config;
}

void WorldState::OnVmClient(VmSim& vm, uint32_t life, uint64_t step) {
  if (life != vm.life || quiet_ || vm.done) return;
  const uint32_t index = static_cast<uint32_t>(&vm - vms_.data());
  switch (step) {
    case kCreate:
      if (vm.rng.Chance(100'000)) {
        // VM-1 / VM-2: an invalid config, then the valid one.
        VmConfig config = ValidConfig(vm);
        switch (vm.rng.Below(9)) {
          case 0:
            config.bootloader = "/images/u-boot.bin";
            config.kernel = "/images/vmlinux";
            break;
          case 1:
            config.bootloader.reset();
            config.kernel.reset();
            config.initrd.reset();
            break;
          case 2:
            config.kernel.reset();
            config.bootloader = "/images/u-boot.bin";
            config.initrd = "/images/initrd.img";
            break;
          case 3:
            config.platform_version = ">=2.0";
            break;
          case 4:
            config.platform_version = "not a version";
            break;
          case 5:
            config.memory_mib = 0;
            break;
          case 6:
            config.cpus = 0;
            break;
          case 7:
            config.detect_hangup = true;
            config.hangup_timeout = absl::ZeroDuration();
            break;
          default:
            config.bootloader.reset();
            config.kernel = "";
            break;
        }
        Deliver(input::CreateVm{
            NewRequest(RequestKind::kCreateVmInvalid, index, vm.life),
            std::move(config)});
        return;
      }
      [[fallthrough]];
    case kCreateValid: {
      VmConfig config = ValidConfig(vm);
      vm.detect_hangup = config.detect_hangup;
      Deliver(
          input::CreateVm{NewRequest(RequestKind::kCreateVm, index, vm.life),
                          std::move(config)});
      return;
    }
    case kStart:
      vm.awaiting_death = true;
      Deliver(input::StartVm{NewRequest(RequestKind::kStartVm, index, vm.life),
                             vm.cid});
      if (vm.rng.Chance(100'000)) {
        ScheduleAfter(vm.rng.Between(0, 100 * kMs),
                      Event{EventKind::kVmClient, index, vm.life, kStartAgain});
      }
      return;
    case kStartAgain:
      Deliver(input::StartVm{NewRequest(RequestKind::kOther, index, vm.life),
                             vm.cid});
      return;
    case kKill:
      Deliver(input::KillVm{NewRequest(RequestKind::kOther, index, vm.life),
                            vm.cid});
      return;
  }
}

void WorldState::OnVmReply(VmSim& vm, const PendingRequest& p,
                           const action::Reply& r) {
  if (p.life != vm.life) return;
  switch (p.kind) {
    case RequestKind::kCreateVmInvalid:
      ScheduleAfter(vm.rng.Between(10 * kMs, 200 * kMs),
                    Event{EventKind::kVmClient, p.obj, vm.life, kCreateValid});
      return;
    case RequestKind::kCreateVm:
      if (scripted()) return;  // the script says what follows
      if (!r.status.ok()) {
        // Refused (too many VMs): this VM sits the run out.
        vm.done = true;
        return;
      }
      if (vm.rng.Chance(50'000)) {
        // VM-8: a kill before the start does nothing.
        ScheduleAfter(0, Event{EventKind::kVmClient, p.obj, vm.life, kKill});
      }
      ScheduleAfter(vm.rng.Between(0, 500 * kMs),
                    Event{EventKind::kVmClient, p.obj, vm.life, kStart});
      return;
    case RequestKind::kStartVm:
      if (!r.status.ok()) {
        vm.awaiting_death = false;
        vm.done = !scripted();
      }
      return;
    default:
      return;
  }
}

void WorldState::Execute(action::SpawnVmm& a) {
  VmSim* vm = FindVm(a.cid);
  if (vm == nullptr) {
    ScheduleInput(CompletionAt(a.cid.value, 1 * kMs, 20 * kMs),
                  input::VmmSpawned{a.cid, "crosvm: no such VM (simulated)"});
    return;
  }
  if (vm->vmm == VmmPhase::kSpawning || vm->vmm == VmmPhase::kRunning ||
      vm->vmm == VmmPhase::kKilling) {
    ScheduleInput(CompletionAt(a.cid.value, 1 * kMs, 20 * kMs),
                  input::VmmSpawned{a.cid,
                                    "crosvm: the VM is already running "
                                    "(simulated)"});
    return;
  }
  BumpVmm(*vm);
  vm->vmm = VmmPhase::kSpawning;
  vm->kill_on_spawn = false;
  const uint32_t fail = TakeArmed(vm->armed, FaultKind::kVmmSpawnFail);
  Schedule(CompletionAt(a.cid.value, 1 * kMs, 20 * kMs),
           Event{EventKind::kVmmSpawned,
                 static_cast<uint32_t>(vm - vms_.data()), vm->vmm_gen, fail});
}

void WorldState::OnVmmSpawned(VmSim& vm, uint32_t gen, uint64_t arg) {
  if (gen != vm.vmm_gen || vm.vmm != VmmPhase::kSpawning) return;
  if (arg != 0) {
    vm.vmm = VmmPhase::kNone;
    Fire(static_cast<uint32_t>(arg - 1));
    Deliver(
        input::VmmSpawned{vm.cid,
                          "crosvm: failed to spawn: No such file or directory "
                          "(simulated)"});
    return;
  }
  vm.vmm = VmmPhase::kRunning;
  Deliver(input::VmmSpawned{vm.cid, std::nullopt});
  if (vm.vmm != VmmPhase::kRunning) return;  // killed while handling it
  if (vm.kill_on_spawn) {
    vm.vmm = VmmPhase::kKilling;
    BumpVmm(vm);
    Schedule(CompletionAt(vm.cid.value, 1 * kMs, 2 * kMs),
             Event{EventKind::kVmmExit,
                   static_cast<uint32_t>(&vm - vms_.data()), vm.vmm_gen, 0});
    return;
  }
  BootGuest(vm);
}

void WorldState::BootGuest(VmSim& vm) {
  const uint32_t index = static_cast<uint32_t>(&vm - vms_.data());
  vm.failure_bytes.clear();
  vm.planned_exit_fault = 0;
  uint32_t script = 0;
  // The first armed script fault, in arming order, shapes this life.
  for (auto it = vm.armed.begin(); it != vm.armed.end(); ++it) {
    if (ShapesGuestLife(plan_.faults[*it].kind)) {
      script = *it + 1;
      vm.armed.erase(it);
      break;
    }
  }
  const bool exit_unobservable_armed =
      std::find_if(vm.armed.begin(), vm.armed.end(), [&](uint32_t f) {
        return plan_.faults[f].kind == FaultKind::kVmmExitUnobservable;
      }) != vm.armed.end();
  GuestLife life = PlanGuestLife(vm.rng, ScriptGuestOf(vm),
                                 script == 0 ? nullptr : &FaultAt(script),
                                 exit_unobservable_armed);
  if (script != 0) Fire(script - 1);
  vm.failure_bytes = std::move(life.failure_bytes);
  for (const GuestLifeStep& step : life.steps) {
    const Instant at = Instant::FromNanos(now_.ns + step.at_ns);
    if (step.kind == GuestLifeStep::Kind::kReport) {
      Schedule(at, Event{EventKind::kGuestStep, index, vm.vmm_gen,
                         Step(kReport, step.state)});
    } else {
      vm.planned_exit = step.status;
      Schedule(at,
               Event{EventKind::kGuestStep, index, vm.vmm_gen, Step(kExit)});
    }
  }
  const bool hangs = life.hangs;
  Prng& r = vm.rng;
  // The client gives up on some VMs, and on most hung ones it watches.
  if (scripted()) return;  // a script's client kills when it says
  const bool kill =
      hangs && !vm.detect_hangup ? r.Chance(800'000) : r.Chance(300'000);
  if (kill) {
    ScheduleAfter(r.Between(1 * kSec, 30 * kSec),
                  Event{EventKind::kVmClient, index, vm.life, kKill});
  }
}

void WorldState::OnGuestStep(VmSim& vm, uint32_t gen, uint64_t arg) {
  if (gen != vm.vmm_gen || vm.vmm != VmmPhase::kRunning) return;
  const uint32_t index = static_cast<uint32_t>(&vm - vms_.data());
  const auto state = static_cast<PayloadState>((arg >> 8) & 0xff);
  switch (static_cast<GuestStep>(arg & 0xff)) {
    case kReport: {
      Deliver(input::PayloadReported{vm.cid, state});
      if (vm.vmm != VmmPhase::kRunning || gen != vm.vmm_gen) return;
      if (const uint32_t f =
              TakeArmed(vm.armed, FaultKind::kPayloadOutOfOrder)) {
        // VM-4: the same state again, or one step back.
        PayloadState bad = state;
        if (FaultAt(f).a != 0 && state != PayloadState::kStarting) {
          bad = static_cast<PayloadState>(static_cast<uint8_t>(state) - 1);
        }
        ScheduleAfter(vm.rng.Between(1 * kMs, 100 * kMs),
                      Event{EventKind::kGuestStep, index, vm.vmm_gen,
                            Step(kBadReport, bad, f)});
      }
      return;
    }
    case kBadReport:
      if (quiet_) return;
      Fire(static_cast<uint32_t>(arg >> 32) - 1);
      Deliver(input::PayloadReported{vm.cid, state});
      return;
    case kExit:
      VmmExits(vm, vm.planned_exit);
      return;
  }
}

void WorldState::VmmExits(VmSim& vm, std::optional<ExitStatus> status) {
  vm.vmm = VmmPhase::kExited;
  BumpVmm(vm);  // the guest's remaining steps are void
  if (const uint32_t f = TakeArmed(vm.armed, FaultKind::kVmmExitUnobservable)) {
    Fire(f - 1);
    status.reset();
  }
  Deliver(input::VmmExited{vm.cid, status});
}

void WorldState::Execute(action::KillVmm& a) {
  VmSim* vm = FindVm(a.cid);
  if (vm == nullptr) return;
  switch (vm->vmm) {
    case VmmPhase::kSpawning:
      vm->kill_on_spawn = true;
      return;
    case VmmPhase::kRunning:
      vm->vmm = VmmPhase::kKilling;
      BumpVmm(*vm);
      Schedule(CompletionAt(a.cid.value, 1 * kMs, 2 * kMs),
               Event{EventKind::kVmmExit,
                     static_cast<uint32_t>(vm - vms_.data()), vm->vmm_gen, 0});
      return;
    case VmmPhase::kNone:
    case VmmPhase::kKilling:
    case VmmPhase::kExited:
      return;  // nothing to kill, or already dying
  }
}

void WorldState::Execute(action::ReadFailureReason& a) {
  VmSim* vm = FindVm(a.cid);
  std::string bytes;
  if (vm != nullptr) {
    bytes = vm->failure_bytes.substr(0, a.max_bytes);
  }
  ScheduleInput(FastCompletionAt(a.cid.value),
                input::FailureReasonRead{a.cid, std::move(bytes)});
}

void WorldState::Execute(action::VmStateChanged& a) {
  if (a.state != VmState::kFailed) return;
  if (VmSim* vm = FindVm(a.cid)) NextVmLife(*vm);
}

void WorldState::Execute(action::OnDied& a) {
  if (VmSim* vm = FindVm(a.cid)) NextVmLife(*vm);
}

void WorldState::NextVmLife(VmSim& vm) {
  // Once per life, however often the SUT announces the death.
  if (!vm.awaiting_death) return;
  vm.awaiting_death = false;
  ++vm.life;
  ++vm.lives;
  if (scripted()) return;
  if (quiet_ || vm.lives >= shape_.max_vm_lives) {
    vm.done = true;
    return;
  }
  ScheduleAfter(
      vm.rng.Between(500 * kMs, 3 * kSec),
      Event{EventKind::kVmClient, static_cast<uint32_t>(&vm - vms_.data()),
            vm.life, kCreate});
}

}  // namespace proctor::sim::world_internal
