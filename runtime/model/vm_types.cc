#include "runtime/model/vm_types.h"

#include <array>
#include <utility>

namespace proctor {
namespace {

template <typename E, size_t N>
absl::string_view NameOf(
    const std::array<std::pair<E, absl::string_view>, N>& t, E value) {
  for (const auto& [e, name] : t) {
    if (e == value) return name;
  }
  return "?";
}

template <typename E, size_t N>
std::optional<E> Parse(const std::array<std::pair<E, absl::string_view>, N>& t,
                       absl::string_view name) {
  for (const auto& [e, n] : t) {
    if (n == name) return e;
  }
  return std::nullopt;
}

constexpr std::array<std::pair<VmState, absl::string_view>, 4> kVmStates = {{
    {VmState::kNotStarted, "NOT_STARTED"},
    {VmState::kRunning, "RUNNING"},
    {VmState::kDead, "DEAD"},
    {VmState::kFailed, "FAILED"},
}};

constexpr std::array<std::pair<PayloadState, absl::string_view>, 4>
    kPayloadStates = {{
        {PayloadState::kStarting, "STARTING"},
        {PayloadState::kStarted, "STARTED"},
        {PayloadState::kReady, "READY"},
        {PayloadState::kFinished, "FINISHED"},
    }};

constexpr std::array<std::pair<DeathReason, absl::string_view>, 17>
    kDeathReasons = {{
        {DeathReason::kInfrastructureError, "INFRASTRUCTURE_ERROR"},
        {DeathReason::kKilled, "KILLED"},
        {DeathReason::kUnknown, "UNKNOWN"},
        {DeathReason::kShutdown, "SHUTDOWN"},
        {DeathReason::kError, "ERROR"},
        {DeathReason::kReboot, "REBOOT"},
        {DeathReason::kCrash, "CRASH"},
        {DeathReason::kPvmFirmwarePublicKeyMismatch,
         "PVM_FIRMWARE_PUBLIC_KEY_MISMATCH"},
        {DeathReason::kPvmFirmwareInstanceImageChanged,
         "PVM_FIRMWARE_INSTANCE_IMAGE_CHANGED"},
        {DeathReason::kBootloaderPublicKeyMismatch,
         "BOOTLOADER_PUBLIC_KEY_MISMATCH"},
        {DeathReason::kBootloaderInstanceImageChanged,
         "BOOTLOADER_INSTANCE_IMAGE_CHANGED"},
        {DeathReason::kMicrodroidFailedToConnectToVirtualizationService,
         "MICRODROID_FAILED_TO_CONNECT_TO_VIRTUALIZATION_SERVICE"},
        {DeathReason::kMicrodroidPayloadHasChanged,
         "MICRODROID_PAYLOAD_HAS_CHANGED"},
        {DeathReason::kMicrodroidPayloadVerificationFailed,
         "MICRODROID_PAYLOAD_VERIFICATION_FAILED"},
        {DeathReason::kMicrodroidInvalidPayloadConfig,
         "MICRODROID_INVALID_PAYLOAD_CONFIG"},
        {DeathReason::kMicrodroidUnknownRuntimeError,
         "MICRODROID_UNKNOWN_RUNTIME_ERROR"},
        {DeathReason::kHangup, "HANGUP"},
    }};

constexpr std::array<DeathReason, 17> kAllDeathReasons = [] {
  std::array<DeathReason, 17> out{};
  for (size_t i = 0; i < out.size(); ++i) out[i] = kDeathReasons[i].first;
  return out;
}();

}  // namespace

absl::string_view VmStateName(VmState s) { return NameOf(kVmStates, s); }
absl::string_view PayloadStateName(PayloadState s) {
  return NameOf(kPayloadStates, s);
}
absl::string_view DeathReasonName(DeathReason r) {
  return NameOf(kDeathReasons, r);
}
std::optional<VmState> ParseVmState(absl::string_view n) {
  return Parse(kVmStates, n);
}
std::optional<PayloadState> ParsePayloadState(absl::string_view n) {
  return Parse(kPayloadStates, n);
}
std::optional<DeathReason> ParseDeathReason(absl::string_view n) {
  return Parse(kDeathReasons, n);
}
std::span<const DeathReason> AllDeathReasons() { return kAllDeathReasons; }

}  // namespace proctor
