// The vocabulary of containers: their events (CN-1), what a start needs, and
// the startup timing record (CN-10).
#ifndef PROCTOR_RUNTIME_MODEL_CONTAINER_TYPES_H_
#define PROCTOR_RUNTIME_MODEL_CONTAINER_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/model/exit_status.h"

namespace proctor {

// CN-1: counts reported by the cgroup memory controller; absent fields were
// not reported.
struct MemoryEvent {
  std::optional<uint64_t> low;
  std::optional<uint64_t> high;
  std::optional<uint64_t> max;
  std::optional<uint64_t> oom;
  std::optional<uint64_t> oom_kill;
  friend bool operator==(const MemoryEvent&, const MemoryEvent&) = default;
};

struct ContainerEvent {
  enum class Kind : uint8_t {
    kInstalled,
    kStarted,
    kExit,
    kUninstalled,
    kCGroup
  };
  Kind kind = Kind::kInstalled;
  std::optional<ExitStatus> exit;  // set iff kind == kExit
  MemoryEvent memory;              // meaningful iff kind == kCGroup
  friend bool operator==(const ContainerEvent&,
                         const ContainerEvent&) = default;
};
absl::string_view ContainerEventKindName(ContainerEvent::Kind kind);
std::optional<ContainerEvent::Kind> ParseContainerEventKind(absl::string_view);

// What the runtime needs to know to start a container (firkin's builder,
// reduced to what the semantics depend on).
struct ContainerSpec {
  static constexpr size_t kMaxSocketRelays = 64;
  // The container runs in a VM the runtime booted for it and stops with it
  // (CN-3).
  bool owns_vm = true;
  // Host ports needed for socket relays at start (CN-7).
  uint32_t socket_relays = 0;
  // CN-7: ports are allocated from `port_start` upward, `port_end` included.
  uint32_t port_start = 0x10000000;
  uint32_t port_end = 0xffffffff;
  friend bool operator==(const ContainerSpec&, const ContainerSpec&) = default;
};

// CN-10: how long each phase of a start took. Phases that are pure
// computation in a sans-IO runtime take zero time.
struct StartupTiming {
  absl::Duration vm_boot;
  absl::Duration spec_build;
  absl::Duration agent_connect;
  absl::Duration socket_relays;
  absl::Duration stdio_prepare;
  absl::Duration config_write;
  absl::Duration request_encode;
  absl::Duration create_process;
  absl::Duration start_gate_wait;
  absl::Duration start_process;
  absl::Duration total;

  // The sum of every phase; CN-10 requires PhaseSum() <= total.
  absl::Duration PhaseSum() const;
  friend bool operator==(const StartupTiming&, const StartupTiming&) = default;
};

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_MODEL_CONTAINER_TYPES_H_
