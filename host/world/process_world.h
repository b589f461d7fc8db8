// The process world: the reference runtime (or any SystemUnderTest) driven by
// real descriptors and processes instead of the simulator's models. A
// container is a real process (host/process), a proxy's channels are
// SOCK_SEQPACKET socket pairs and its counter is shared memory (host/io), and
// time is the event loop's monotonic clock. The world plays the parts a
// scenario does not: the remote client and the container's side of every
// proxy read what reaches them, and the container handles each message and
// takes it off the proxy's counter (PX-2), exactly as the simulated world's
// peers do, so a scenario's expectations mean the same in both.
//
// It speaks the simulator's vocabulary to its watchers (sim::Observer: every
// input, action and world fact with one sequence number), so the scenario
// runner's event log, the trace writer and the oracle work unchanged.
//
// Without QEMU there are no VMs in this world: a scenario with VMs, or a
// fault that only a guest or the simulator can produce, is refused with an
// error that names it. With QemuWorldOptions it is the QEMU world
// (docs/qemu.md): every VM is a real Linux guest under QEMU whose agent
// lives the life the simulator would give it (sim/world/guest_life.h), and
// the guest that suspend_guest freezes and that handles what reaches every
// proxy's container side is a real guest too (the sandbox guest).
#ifndef PROCTOR_HOST_WORLD_PROCESS_WORLD_H_
#define PROCTOR_HOST_WORLD_PROCESS_WORLD_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "host/io/unique_fd.h"
#include "host/qemu/qemu_command.h"
#include "runtime/model/ids.h"
#include "runtime/model/time.h"
#include "runtime/model/vm_config.h"
#include "sim/observer.h"
#include "sim/sut.h"
#include "sim/world/script.h"

namespace proctor::host {

// The QEMU world's guests (docs/qemu.md).
struct QemuWorldOptions {
  std::string qemu_binary = std::string(kDefaultQemuBinary);
  // The guest image (`proctor image`): its kernel and initramfs stand for
  // every config's kernel and initrd.
  std::string kernel;
  std::string initrd;
  QemuAccel accel = QemuAccel::kTcg;
  // Where each QEMU's run folder is made: short (QemuVmSpec::run_parent).
  std::string run_parent = "/tmp";
  // The scenario's seed: each guest's life is drawn from it as in the
  // simulator.
  uint64_t seed = 0;
  // How long the guests booted before the run may take to reach their
  // agents.
  absl::Duration boot_timeout = absl::Seconds(300);
};

struct ProcessWorldOptions {
  // The program that plays a container (host/process/container_main.cc).
  std::string container_binary;
  // After shutdown_complete, how long the peers may take to read what is
  // left and see their channels close before the run ends anyway.
  absl::Duration drain = absl::Seconds(2);
  // Set: the QEMU world.
  std::optional<QemuWorldOptions> qemu;
};

// At most this many guests run in one QEMU world, booted ones included.
inline constexpr size_t kMaxQemuGuests = 32;

class ProcessWorldImpl;

class ProcessWorld {
 public:
  // Refuses a setup this world cannot build (VMs without QEMU; more objects
  // than sim::kMaxScriptObjects).
  static absl::StatusOr<std::unique_ptr<ProcessWorld>> Create(
      const sim::ScriptSetup& setup, sim::SystemUnderTest* sut,
      ProcessWorldOptions options);
  // Kills every process it started (whole process groups), reaps them and
  // closes every descriptor, whatever state the run ended in.
  ~ProcessWorld();
  ProcessWorld(const ProcessWorld&) = delete;
  ProcessWorld& operator=(const ProcessWorld&) = delete;

  // Not owned; must outlive Run.
  void AddObserver(sim::Observer* observer);

  // The QEMU world boots its guests before the run: one for each config in
  // `lives` (what the scenario's start_vm steps will spawn, in order) and,
  // when the setup has proxies, the sandbox guest. It waits until every
  // agent has said hello, then restarts the clock, so the run's time 0
  // comes after the boots and spawn_vmm hands a booted guest its life (a VM
  // with no booted guest left boots when it is spawned). Call it once,
  // before any ScheduleScript; `interrupted` is asked between loop turns
  // (Cancelled then). Errors name the guest and show its console's end.
  absl::Status BootGuests(const std::vector<VmConfig>& lives,
                          absl::FunctionRef<bool()> interrupted);
  // Wall time BootGuests took.
  absl::Duration boot_time() const;

  // Performs `op` at `at` (now, if `at` has passed). Callable before and
  // during Run (from an observer).
  absl::Status ScheduleScript(Instant at, sim::ScriptOp op);

  // Runs until `stop` returns true (asked after every event), or the world
  // is done — every step performed, the runtime idle (no timer armed), no
  // process that will exit by itself, and after shutdown_complete the peers
  // have drained — or `limit` passes on the loop's clock, which is an error
  // (DeadlineExceeded) naming what was still going.
  absl::Status Run(absl::FunctionRef<bool()> stop, Instant limit);

  Instant now() const;
  uint64_t events() const;

  // For benchmarks and tests that play a proxy's peers themselves: the
  // world's own ends of `proxy`'s two channels (remote, then container),
  // once its add_proxy step has run. The world stops reading them, and the
  // caller now handles (or not) what reaches the container.
  absl::StatusOr<std::pair<UniqueFd, UniqueFd>> TakePeerEnds(ProxyId proxy);
  // add_proxy was answered OK and the proxy has not been told to stop.
  bool proxy_live(ProxyId proxy) const;
  // One turn of the event loop, waiting at most `max_wait` for something to
  // happen; for callers that interleave their own I/O with the world's.
  absl::Status Turn(absl::Duration max_wait);

 private:
  explicit ProcessWorld(std::unique_ptr<ProcessWorldImpl> impl);
  std::unique_ptr<ProcessWorldImpl> impl_;
};

}  // namespace proctor::host

#endif  // PROCTOR_HOST_WORLD_PROCESS_WORLD_H_
