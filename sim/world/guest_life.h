// One life of a VM's guest, planned from the moment its VMM runs: when it
// reports each payload state, what it writes on its failure channel, and how
// and when its VMM exits. The simulator plays the plan itself; the QEMU world
// hands the same plan to a real guest's agent as a behaviour script, so for a
// scenario both worlds run the same guest and differ only in what is real.
#ifndef PROCTOR_SIM_WORLD_GUEST_LIFE_H_
#define PROCTOR_SIM_WORLD_GUEST_LIFE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/model/exit_status.h"
#include "runtime/model/vm_types.h"
#include "sim/core/prng.h"
#include "sim/world/fault_plan.h"
#include "sim/world/script.h"

namespace proctor::sim {

// VM-6's exit codes, as crosvm uses them.
inline constexpr int kGuestCrashExitCode = 33;
inline constexpr int kGuestRebootExitCode = 32;

struct GuestLifeStep {
  enum class Kind : uint8_t {
    kReport,  // the guest reports `state`
    kExit,    // the VMM exits with `status`
  };
  Kind kind = Kind::kReport;
  int64_t at_ns = 0;  // after the VMM runs
  PayloadState state = PayloadState::kStarting;
  ExitStatus status = ExitStatus::Exited(0);
  friend bool operator==(const GuestLifeStep&, const GuestLifeStep&) = default;
};

struct GuestLife {
  // In the order the simulator schedules them, which is not always the
  // order of at_ns (an early error exit is drawn after the reports).
  std::vector<GuestLifeStep> steps;
  // Written on the failure channel before the VMM exits (VM-6).
  std::string failure_bytes;
  // The guest never reports Started (guest_hang).
  bool hangs = false;
};

// Whether a fault of `kind` shapes a guest's life (PlanGuestLife's
// `fault`): vmm_crash_at_boot, guest_hang, guest_slow_start, guest_panic,
// guest_reboot, failure_reason. The first one armed for a VM shapes its
// next life.
bool ShapesGuestLife(FaultKind kind);

// The life of a guest: `scripted` is the scenario's guest (null in a
// generated world); `fault` the first armed fault that shapes a life
// (vmm_crash_at_boot, guest_hang, guest_slow_start, guest_panic,
// guest_reboot, failure_reason), or null; `exit_unobservable_armed` whether
// a vmm_exit_unobservable fault waits for this VM's exit (a generated life
// then exits within the window more often). Draws from `rng` in a fixed
// order, so the same stream gives the same life in every world.
GuestLife PlanGuestLife(Prng& rng, const ScriptedGuest* scripted,
                        const Fault* fault, bool exit_unobservable_armed);

// What a guest writes on its failure channel for failure_reason's variant:
// each reason exactly (0..9, kFailureReasonStrings), each with one trailing
// newline (10..19), and look-alikes that name no reason (garbage, two
// newlines, lower case, too long, a NUL).
std::string FailureReport(int64_t variant);

}  // namespace proctor::sim

#endif  // PROCTOR_SIM_WORLD_GUEST_LIFE_H_
