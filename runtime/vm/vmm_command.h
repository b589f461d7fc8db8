// VM-9: the VMM command line for a VM, a pure function of its config. It
// follows the seed's crosvm `run_vm` flag for flag so that a trace of the
// reference runtime can be compared with a real supervisor's spawn. The
// runtime holds no file descriptors: files are named by their config paths
// and the failure channel by a placeholder the world substitutes.
#ifndef PROCTOR_RUNTIME_VM_VMM_COMMAND_H_
#define PROCTOR_RUNTIME_VM_VMM_COMMAND_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "runtime/model/vm_config.h"

namespace proctor {

// argv[0] of every VMM command.
inline constexpr absl::string_view kVmmBinary = "crosvm";

// Stands for the write end of the failure channel (the second serial port,
// VM-6). The world replaces it with whatever path reaches the pipe or file it
// reads on `read_failure_reason`.
inline constexpr absl::string_view kFailureChannelPath = "@failure";

// VM-9: virtio devices every VM has whatever its disks: three virtio
// consoles and vsock.
inline constexpr size_t kFixedVirtioDevices = 4;
// VM-9: bounce buffer per virtio device of a protected VM. A virtio queue has
// 256 entries of 2 pages each.
inline constexpr size_t kSwiotlbMibPerVirtioDevice = 2;

// VM-9: the bounce buffer, in MiB, of a protected VM with `disk_count` disks.
constexpr size_t SwiotlbSizeMib(size_t disk_count) {
  return kSwiotlbMibPerVirtioDevice * (kFixedVirtioDevices + disk_count);
}

// VM-9. In order: kVmmBinary, "--extended-status", "run", "--disable-sandbox",
// "--cid" N; for protected VMs "--protected-vm", "--swiotlb" SwiotlbSizeMib;
// "--mem", "--cpus", "--cpu-affinity", "--task-profiles" (comma-joined) when
// set; five serial devices (console on serial 1, failure channel on serial 2,
// virtio-console 1 = console, 2 = sink, 3 = log; a missing console or log
// sink becomes `type=sink`); "--bios", "--initrd", "--params" when set; each
// disk in order as "--rwdisk" or "--disk" PATH; the kernel last.
// Does not validate: pass a config that ValidateVmConfig accepted.
std::vector<std::string> BuildVmmCommand(const VmConfig& config);

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_VM_VMM_COMMAND_H_
