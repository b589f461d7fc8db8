// VM-6 on QEMU: the exit status the runtime is told for a QEMU that ended,
// from what QEMU said on the way out. The runtime's death-reason classifier
// reads crosvm's exit codes (0 shutdown, 32 reboot, 33 crash, a signal:
// killed); QEMU exits 0 whether the guest powered off, rebooted (with
// -no-reboot) or panicked, so the QMP events decide instead. A guest that
// wants another code writes to the isa-debug-exit device (the agent's
// vmm-exit step), and QEMU's own non-zero exit is passed on as it is.
// Measured facts behind the table are in /work/shared/DESIGN.md and
// docs/qemu.md.
#ifndef PROCTOR_HOST_QEMU_VMM_EXIT_H_
#define PROCTOR_HOST_QEMU_VMM_EXIT_H_

#include <optional>
#include <string>

#include "runtime/model/exit_status.h"

namespace proctor::host {

// crosvm's exit codes, which the runtime's VM-6 classifier reads.
inline constexpr int kVmmExitReboot = 32;
inline constexpr int kVmmExitCrash = 33;
inline constexpr int kVmmExitError = 1;

// What was seen of one QEMU's end.
struct QemuEnd {
  // QEMU's own exit status; nullopt when it could not be observed.
  std::optional<ExitStatus> qemu_status;
  // The reason of the last QMP SHUTDOWN event ("guest-shutdown",
  // "guest-reset", "guest-panic", "host-signal", ...); empty if none came.
  std::string shutdown_reason;
  // A QMP GUEST_PANICKED event came (pvpanic).
  bool guest_panicked = false;
};

// The VMM exit to hand the runtime (vmm_exited), or nullopt when the exit
// could not be observed (VM-6: INFRASTRUCTURE_ERROR):
//   QEMU killed by a signal           -> that signal (KILLED)
//   GUEST_PANICKED, or guest-panic    -> Exit(33) (CRASH)
//   SHUTDOWN guest-reset              -> Exit(32) (REBOOT; a panic without
//                                        pvpanic looks the same, panic=-1)
//   SHUTDOWN guest-shutdown, exit 0   -> Exit(0) (SHUTDOWN)
//   any other non-zero QEMU exit N    -> Exit(N): isa-debug-exit's odd codes
//                                        (vmm-exit:7 is Exit(7), UNKNOWN), or
//                                        QEMU's own error, Exit(1) (ERROR)
//   exit 0 with no guest shutdown     -> Exit(1) (ERROR: QEMU ended the run,
//                                        the guest did not)
std::optional<ExitStatus> VmmExitOfQemu(const QemuEnd& end);

}  // namespace proctor::host

#endif  // PROCTOR_HOST_QEMU_VMM_EXIT_H_
