// Choosing QEMU's accelerator: KVM only after a probe boot has proved that
// guests run under it here. A /dev/kvm that exists is not enough: on the
// project's machines guests hang under KVM (docs/qemu.md, "KVM"), so the
// probe boots the guest image once with -accel kvm and the behaviour
// "poweroff", and KVM is chosen only if the agent's hello arrives and QEMU
// exits cleanly within a timeout. Anything else chooses TCG, with a reason
// that says what happened.
#ifndef PROCTOR_HOST_QEMU_KVM_PROBE_H_
#define PROCTOR_HOST_QEMU_KVM_PROBE_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "host/qemu/qemu_command.h"
#include "host/qemu/qemu_vm.h"

namespace proctor::host {

// A guest boots to its hello in about 2.5 s under TCG on a loaded 2-core
// machine; under a working KVM it takes well under that. A probe that has
// seen nothing after this long is a hang, not a slow boot.
inline constexpr absl::Duration kDefaultKvmProbeTimeout = absl::Seconds(10);
inline constexpr absl::string_view kKvmDevice = "/dev/kvm";
// The behaviour the probe guest runs: hello, then power off at once.
inline constexpr absl::string_view kKvmProbeBehaviour = "poweroff";

struct KvmProbeOptions {
  std::string qemu_binary = std::string(kDefaultQemuBinary);
  // The guest image's kernel and initramfs (guest::Image). Required.
  std::string kernel;
  std::string initrd;
  // Where the probe VM's run folder is made (QemuVmSpec::run_parent).
  // Required, at most 74 bytes.
  std::string run_parent;
  // From the start of the probe to the hello and QEMU's exit.
  absl::Duration timeout = kDefaultKvmProbeTimeout;
  // The KVM device; tests point it elsewhere.
  std::string kvm_device = std::string(kKvmDevice);
};

struct AccelChoice {
  QemuAccel accel = QemuAccel::kTcg;
  // Why, for a log line: "KVM probe: no hello from the guest within 10 s
  // (guests hang under KVM on this host); using TCG".
  std::string reason;
  // How long the choice took, the probe VM's cleanup included.
  absl::Duration took;
};

// Decides the accelerator for VMs booted from the image at `kernel` and
// `initrd`. TCG, with the reason, when the KVM device does not exist or
// cannot be opened read-write, or when the probe boot under KVM fails in
// any way (QEMU refuses -accel kvm, no hello in time, QEMU not exited in
// time, an exit other than a guest power-off). Blocks for at most about
// `timeout` plus the probe VM's cleanup; it runs its own event loop, and
// the probe VM is always killed, reaped and its run folder removed.
// Errors: InvalidArgument for a missing kernel, initrd or run_parent or a
// timeout that is not positive; QemuVm::Start's errors (a missing QEMU
// binary, a run_parent too long), since those fail TCG too; a failing
// event loop.
absl::StatusOr<AccelChoice> ChooseAccel(const KvmProbeOptions& options);

// ---- The pure parts, exposed for tests ----

// Why the KVM device cannot be used ("KVM probe: cannot open /dev/kvm
// read-write: No such file or directory; using TCG"), or nullopt when it
// opens read-write.
std::optional<std::string> KvmDeviceProblem(const std::string& path);

// What the probe boot showed.
struct KvmProbeOutcome {
  // The agent's hello arrived on the agent channel.
  bool hello = false;
  // QEMU's exit; nullopt when it had not exited by the deadline (and was
  // killed then).
  std::optional<QemuExit> exit;
  // The reason of QMP's SHUTDOWN event; empty when none came.
  std::string shutdown_reason;
  absl::Duration timeout;
  absl::Duration took;
};

// KVM when the hello came and QEMU then exited 0 after a guest-shutdown;
// TCG otherwise, the reason saying what was seen.
AccelChoice JudgeKvmProbe(const KvmProbeOutcome& outcome);

}  // namespace proctor::host

#endif  // PROCTOR_HOST_QEMU_KVM_PROBE_H_
