// The kinds of fault a simulated world can inject, with their stable
// snake_case names (fault plans, traces, `proctor sim` summaries and the
// fault_fired fact use them). Names are never renamed or reused; new kinds
// are appended so that a kind's index, used by per-kind counters, stays put.
#ifndef PROCTOR_SIM_WORLD_FAULT_KIND_H_
#define PROCTOR_SIM_WORLD_FAULT_KIND_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "absl/strings/string_view.h"

namespace proctor::sim {

enum class FaultKind : uint8_t {
  // VMs; target: the cid. They apply to the VM's current or next life.
  kVmmSpawnFail,         // the next spawn_vmm fails
  kVmmCrashAtBoot,       // the VMM exits Exit(33) before STARTED
  kGuestHang,            // the guest never reports STARTED
  kGuestSlowStart,       // STARTED only after `a` ms
  kGuestPanic,           // the VMM exits Exit(33) after STARTED
  kGuestReboot,          // the VMM exits Exit(32) after STARTED
  kFailureReason,        // the guest writes report variant `a`, exits with `b`
  kVmmExitUnobservable,  // the next vmm_exited carries no status
  kPayloadOutOfOrder,    // a repeated (`a`=0) or backward (`a`=1) report
  // Containers; target: the container id.
  kContainerIgnoresSigterm,  // the process ignores SIGTERM
  kContainerCrash,           // the process dies Signalled(SIGSEGV)
  kAgentRefuses,             // the agent refuses the next `a` connects
  kAgentNeverAccepts,        // the agent refuses every connect for `a` ms
  kBootTransientError,       // the next `a` boots fail with "transient: ..."
  kBootPermanentError,       // the next boot fails with a permanent error
  // Proxies; target: the proxy id.
  kRemoteBurstThenClose,    // the remote writes `a` messages, then closes
  kContainerClosesChannel,  // the container closes its end
  kPeerOversizedMessage,    // a peer (`b`: 0 remote, 1 container) writes
                            // 65,537 bytes, which the channel refuses
  // Target: 0 for every object, else the cid, container id or proxy id
  // whose completions are delayed by `a` ms for `b` ms.
  kCompletionDelay,
  // Target: the container id; a burst of `a` cgroup_memory inputs.
  kCgroupMemoryPressure,
  // Target: the handle wake source's number (1-based); its signal is
  // asserted for `b` ms.
  kHandleWake,
};

inline constexpr size_t kFaultKindCount = 21;

// kFailureReason's `a` in 0..9 writes VM-6's reason strings in this order
// (10..19: the same with a trailing newline; see world_vms.cc for the rest).
inline constexpr std::array<absl::string_view, 10> kFailureReasonStrings = {
    "PVM_FIRMWARE_PUBLIC_KEY_MISMATCH",
    "PVM_FIRMWARE_INSTANCE_IMAGE_CHANGED",
    "BOOTLOADER_PUBLIC_KEY_MISMATCH",
    "BOOTLOADER_INSTANCE_IMAGE_CHANGED",
    "MICRODROID_FAILED_TO_CONNECT_TO_VIRTUALIZATION_SERVICE",
    "MICRODROID_PAYLOAD_HAS_CHANGED",
    "MICRODROID_PAYLOAD_VERIFICATION_FAILED",
    "MICRODROID_INVALID_PAYLOAD_CONFIG",
    "MICRODROID_UNKNOWN_RUNTIME_ERROR",
    "HANGUP",
};

// What a fault's `target` names.
enum class FaultTarget : uint8_t {
  kVm,
  kContainer,
  kProxy,
  kAny,
  kHandleSource
};

absl::string_view FaultKindName(FaultKind kind);
std::optional<FaultKind> ParseFaultKind(absl::string_view name);
std::span<const FaultKind> AllFaultKinds();
FaultTarget FaultTargetOf(FaultKind kind);

inline constexpr size_t FaultKindIndex(FaultKind kind) {
  return static_cast<size_t>(kind);
}

}  // namespace proctor::sim

#endif  // PROCTOR_SIM_WORLD_FAULT_KIND_H_
