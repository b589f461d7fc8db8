// VM-9 for the QEMU world: the qemu-system-x86_64 command line for a VM, a
// pure function of its config (runtime/model/vm_config.h), the files that
// stand in for the config's placeholders, and the run folder's sockets. The
// serial layout follows the crosvm command the runtime builds
// (runtime/vm/vmm_command.h), so the guest finds its console, failure channel
// and agent channel at the same ports. docs/qemu.md maps every item.
#ifndef PROCTOR_HOST_QEMU_QEMU_COMMAND_H_
#define PROCTOR_HOST_QEMU_QEMU_COMMAND_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/model/vm_config.h"

namespace proctor::host {

// Debian's QEMU. ChildProcess never searches PATH, so this is a full path.
inline constexpr absl::string_view kDefaultQemuBinary =
    "/usr/bin/qemu-system-x86_64";

// What QEMU gets when the config leaves memory or CPUs unset: crosvm's
// defaults, written out so the command does not depend on QEMU's own (128 MiB).
inline constexpr uint32_t kDefaultMemoryMib = 256;
inline constexpr uint32_t kDefaultCpus = 1;

// The x86 boot protocol's bound on the kernel command line: the kernel's
// setup header says 2047 bytes (cmdline_size), below VM-1's 4096-byte params
// bound, so a long line is refused here rather than cut by the kernel.
inline constexpr size_t kMaxX86KernelCommandLineBytes = 2047;

// The I/O port of the isa-debug-exit device every VM gets: a guest that
// writes v there makes QEMU exit with status (v << 1) | 1, which is how a
// scenario's VMM exits with a code other than 0, 32 or 33 (the agent's
// vmm-exit step). The agent uses the same number, guest::kDebugExitIoPort in
// guest/protocol/script.h (it cannot include Abseil headers);
// qemu_command.cc checks they are equal.
inline constexpr uint16_t kDebugExitPort = 0x501;
// The device's width in ports: QEMU's default, written out.
inline constexpr uint16_t kDebugExitPortSize = 2;

// Fixed parameters that precede the config's: the console on the first
// serial port; a panic powers the guest off at once (with -no-reboot) rather
// than waiting; the agent is /init of the initramfs.
inline constexpr absl::string_view kFixedKernelParams =
    "console=ttyS0 panic=-1 rdinit=/init";

// Where QEMU finds its files. The run-folder paths are the host's: the host
// listens on the sockets before QEMU starts, and QEMU connects to them as a
// client (docs/qemu.md, "Sockets: the host listens").
struct QemuPaths {
  std::string qemu_binary = std::string(kDefaultQemuBinary);
  // The files that stand for config.kernel and config.initrd: a scenario
  // names its kernel by a placeholder, and the world boots the guest image.
  // Empty: the config's own path. Not used with a bootloader.
  std::string kernel;
  std::string initrd;
  // QMP (the monitor), the agent channel (third serial port) and the failure
  // channel (second serial port, VM-6). All three are required.
  std::string qmp_socket;
  std::string agent_socket;
  std::string failure_socket;
  // The first serial port (the kernel console) when config.console_sink is
  // unset; empty then means the console is dropped.
  std::string console_log;
};

enum class QemuAccel : uint8_t {
  // Emulation: works everywhere. The default, because guests hang under KVM
  // on the project's machines (DESIGN.md, "Facts about these machines").
  kTcg,
  // Only when a probe boot has proved KVM works.
  kKvm,
};

struct QemuOptions {
  QemuAccel accel = QemuAccel::kTcg;
  // "proctor.behaviour=..." from guest::BehaviourKernelParameter; empty:
  // the agent's default script.
  std::string behaviour_parameter;
  // Appended to the kernel command line after everything else.
  std::vector<std::string> extra_kernel_args;
  // -S: QEMU starts with the guest paused, so the host sees every event from
  // the first instruction and decides when the guest runs (QMP "cont").
  bool start_paused = true;
};

// VM-9 mapped to QEMU (the table in docs/qemu.md). In order:
//   binary -name proctor-vm-CID -machine q35 -accel tcg|kvm -nodefaults
//   -no-user-config -nographic -no-reboot [-S] -m MIB -smp N
//   -device pvpanic -device isa-debug-exit,iobase=0x501,iosize=0x02
//   -chardev ...,id=console -serial chardev:console      (ttyS0)
//   -chardev socket,id=failure,path=F -serial chardev:failure  (ttyS1)
//   -chardev socket,id=agent,path=A -serial chardev:agent      (ttyS2)
//   -device virtio-serial-pci,id=virtio-serial
//   three virtconsoles: hvc0 console, hvc1 dropped, hvc2 log sink
//   -chardev socket,id=qmp,path=Q -mon chardev=qmp,mode=control
//   -kernel K [-initrd I] -append "CMDLINE"  |  -bios B
//   -drive file=D,if=virtio,format=raw[,readonly=on]  for each disk, in order
// The kernel command line is kFixedKernelParams, config.params, the
// behaviour parameter and the extra arguments, space-separated.
//
// Refused (the message names the field): a protected VM (Unimplemented:
// TCG and KVM without pKVM have no protected VMs); neither or both of kernel
// and bootloader, or an initrd, params, behaviour or extra arguments with a
// bootloader (InvalidArgument: QEMU passes a command line only to -kernel);
// an empty required path; a kernel command line over
// kMaxX86KernelCommandLineBytes (OutOfRange); a zero memory size or CPU
// count. cid, cpu_affinity, task_profiles, platform_version and the hangup
// settings have no QEMU meaning and are not mapped (docs/qemu.md says why).
absl::StatusOr<std::vector<std::string>> BuildQemuCommand(
    const VmConfig& config, const QemuPaths& paths, const QemuOptions& options);

// A value inside a QEMU option list ("path=..."): QEMU splits on commas, and
// a literal comma is written twice.
std::string QemuOptionValue(absl::string_view value);

}  // namespace proctor::host

#endif  // PROCTOR_HOST_QEMU_QEMU_COMMAND_H_
