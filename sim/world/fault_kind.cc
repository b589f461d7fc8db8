#include "sim/world/fault_kind.h"

#include <array>

#include "runtime/model/check.h"

namespace proctor::sim {
namespace {

struct KindInfo {
  FaultKind kind;
  absl::string_view name;
  FaultTarget target;
};

// In enum order: the index of a kind is its position here.
constexpr std::array<KindInfo, kFaultKindCount> kKinds = {{
    {FaultKind::kVmmSpawnFail, "vmm_spawn_fail", FaultTarget::kVm},
    {FaultKind::kVmmCrashAtBoot, "vmm_crash_at_boot", FaultTarget::kVm},
    {FaultKind::kGuestHang, "guest_hang", FaultTarget::kVm},
    {FaultKind::kGuestSlowStart, "guest_slow_start", FaultTarget::kVm},
    {FaultKind::kGuestPanic, "guest_panic", FaultTarget::kVm},
    {FaultKind::kGuestReboot, "guest_reboot", FaultTarget::kVm},
    {FaultKind::kFailureReason, "failure_reason", FaultTarget::kVm},
    {FaultKind::kVmmExitUnobservable, "vmm_exit_unobservable",
     FaultTarget::kVm},
    {FaultKind::kPayloadOutOfOrder, "payload_out_of_order", FaultTarget::kVm},
    {FaultKind::kContainerIgnoresSigterm, "container_ignores_sigterm",
     FaultTarget::kContainer},
    {FaultKind::kContainerCrash, "container_crash", FaultTarget::kContainer},
    {FaultKind::kAgentRefuses, "agent_refuses", FaultTarget::kContainer},
    {FaultKind::kAgentNeverAccepts, "agent_never_accepts",
     FaultTarget::kContainer},
    {FaultKind::kBootTransientError, "boot_transient_error",
     FaultTarget::kContainer},
    {FaultKind::kBootPermanentError, "boot_permanent_error",
     FaultTarget::kContainer},
    {FaultKind::kRemoteBurstThenClose, "remote_burst_then_close",
     FaultTarget::kProxy},
    {FaultKind::kContainerClosesChannel, "container_closes_channel",
     FaultTarget::kProxy},
    {FaultKind::kPeerOversizedMessage, "peer_oversized_message",
     FaultTarget::kProxy},
    {FaultKind::kCompletionDelay, "completion_delay", FaultTarget::kAny},
    {FaultKind::kCgroupMemoryPressure, "cgroup_memory_pressure",
     FaultTarget::kContainer},
    {FaultKind::kHandleWake, "handle_wake", FaultTarget::kHandleSource},
}};

constexpr bool InEnumOrder() {
  for (size_t i = 0; i < kKinds.size(); ++i) {
    if (static_cast<size_t>(kKinds[i].kind) != i) return false;
  }
  return true;
}
static_assert(InEnumOrder(), "kKinds must list the kinds in enum order");

constexpr std::array<FaultKind, kFaultKindCount> AllKinds() {
  std::array<FaultKind, kFaultKindCount> all{};
  for (size_t i = 0; i < kKinds.size(); ++i) all[i] = kKinds[i].kind;
  return all;
}
constexpr std::array<FaultKind, kFaultKindCount> kAllKinds = AllKinds();

}  // namespace

absl::string_view FaultKindName(FaultKind kind) {
  const size_t i = FaultKindIndex(kind);
  PROCTOR_CHECK(i < kKinds.size());
  return kKinds[i].name;
}

std::optional<FaultKind> ParseFaultKind(absl::string_view name) {
  for (const KindInfo& info : kKinds) {
    if (info.name == name) return info.kind;
  }
  return std::nullopt;
}

std::span<const FaultKind> AllFaultKinds() { return kAllKinds; }

FaultTarget FaultTargetOf(FaultKind kind) {
  const size_t i = FaultKindIndex(kind);
  PROCTOR_CHECK(i < kKinds.size());
  return kKinds[i].target;
}

}  // namespace proctor::sim
