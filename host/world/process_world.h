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
// There are no VMs in this world (qemu and libvirt have them): a scenario
// with VMs, or a fault that only a guest or the simulator can produce, is
// refused with an error that names it.
#ifndef PROCTOR_HOST_WORLD_PROCESS_WORLD_H_
#define PROCTOR_HOST_WORLD_PROCESS_WORLD_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "host/io/unique_fd.h"
#include "runtime/model/ids.h"
#include "runtime/model/time.h"
#include "sim/observer.h"
#include "sim/sut.h"
#include "sim/world/script.h"

namespace proctor::host {

struct ProcessWorldOptions {
  // The program that plays a container (host/process/container_main.cc).
  std::string container_binary;
  // After shutdown_complete, how long the peers may take to read what is
  // left and see their channels close before the run ends anyway.
  absl::Duration drain = absl::Seconds(2);
};

class ProcessWorldImpl;

class ProcessWorld {
 public:
  // Refuses a setup this world cannot build (VMs; more objects than
  // sim::kMaxScriptObjects).
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
