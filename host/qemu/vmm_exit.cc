#include "host/qemu/vmm_exit.h"

namespace proctor::host {

std::optional<ExitStatus> VmmExitOfQemu(const QemuEnd& end) {
  if (!end.qemu_status.has_value()) return std::nullopt;
  const ExitStatus& qemu = *end.qemu_status;
  if (qemu.signalled()) return qemu;
  if (end.guest_panicked || end.shutdown_reason == "guest-panic") {
    return ExitStatus::Exited(kVmmExitCrash);
  }
  if (end.shutdown_reason == "guest-reset") {
    return ExitStatus::Exited(kVmmExitReboot);
  }
  if (qemu.code() == 0 && end.shutdown_reason == "guest-shutdown") {
    return ExitStatus::Exited(0);
  }
  // The guest chose this code through isa-debug-exit (QEMU sends no
  // SHUTDOWN then), or QEMU failed and exited 1, which is ERROR as it is.
  if (qemu.code() != 0) return qemu;
  return ExitStatus::Exited(kVmmExitError);
}

}  // namespace proctor::host
