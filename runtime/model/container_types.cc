#include "runtime/model/container_types.h"

#include <array>
#include <utility>

namespace proctor {
namespace {
constexpr std::array<std::pair<ContainerEvent::Kind, absl::string_view>, 5>
    kKinds = {{
        {ContainerEvent::Kind::kInstalled, "installed"},
        {ContainerEvent::Kind::kStarted, "started"},
        {ContainerEvent::Kind::kExit, "exit"},
        {ContainerEvent::Kind::kUninstalled, "uninstalled"},
        {ContainerEvent::Kind::kCGroup, "cgroup"},
    }};
}  // namespace

absl::string_view ContainerEventKindName(ContainerEvent::Kind kind) {
  for (const auto& [k, n] : kKinds) {
    if (k == kind) return n;
  }
  return "?";
}

std::optional<ContainerEvent::Kind> ParseContainerEventKind(
    absl::string_view name) {
  for (const auto& [k, n] : kKinds) {
    if (n == name) return k;
  }
  return std::nullopt;
}

absl::Duration StartupTiming::PhaseSum() const {
  return vm_boot + spec_build + agent_connect + socket_relays + stdio_prepare +
         config_write + request_encode + create_process + start_gate_wait +
         start_process;
}

}  // namespace proctor
