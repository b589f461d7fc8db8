// The runtime dispatcher (RT-1, RT-2): one sans-IO event loop that owns every
// component (VMs, proxies, wake sources and suspend, containers) and routes
// each input to the component it concerns, in arrival order. A world calls
// Handle() for each input and executes the returned actions in order; the
// Supervisor never waits, so one guest's slow I/O cannot hold up the others.
#ifndef PROCTOR_RUNTIME_SUPERVISOR_SUPERVISOR_H_
#define PROCTOR_RUNTIME_SUPERVISOR_SUPERVISOR_H_

#include <cstdint>
#include <vector>

#include "runtime/channel/proxy_manager.h"
#include "runtime/container/container_manager.h"
#include "runtime/container/retry.h"
#include "runtime/model/action.h"
#include "runtime/model/input.h"
#include "runtime/model/limits.h"
#include "runtime/model/mutants.h"
#include "runtime/model/time.h"
#include "runtime/model/vm_config.h"
#include "runtime/power/power_manager.h"
#include "runtime/vm/vm_manager.h"

namespace proctor {

class Supervisor {
 public:
  struct Options {
    PlatformInfo platform;
    // CN-6: which boot errors of the backend are transient.
    TransientPredicate is_transient_boot_error = IsTransientVmnetBootError;
    // How many of each thing may exist at once.
    RuntimeLimits limits;
    // Known bugs to switch on, for the simulator to catch; empty for the
    // reference behaviour.
    MutantSet mutants;
  };

  enum class Phase : uint8_t { kRunning, kShuttingDown, kShutDown };

  explicit Supervisor(Options options);
  Supervisor() : Supervisor(Options{}) {}

  // Handles one input completely and appends the actions it causes. Inputs
  // must arrive with non-decreasing instants.
  void Handle(Instant now, const Input& input, ActionList& out);

  Phase phase() const { return phase_; }
  Instant last_input_time() const { return last_; }
  uint64_t inputs_handled() const { return inputs_handled_; }

  const VmManager& vms() const { return vms_; }
  const ProxyManager& proxies() const { return proxies_; }
  const PowerManager& power() const { return power_; }
  const ContainerManager& containers() const { return containers_; }

 private:
  void Route(Instant now, const Input& input, ActionList& out);
  void BeginShutdown(Instant now, const input::Shutdown& in, ActionList& out);
  // Called after every input while shutting down: stops guests that came to
  // life meanwhile and finishes the shutdown once every guest is settled.
  void AdvanceShutdown(Instant now, const Input& input, ActionList& out);
  // PX-4 with PW-4: a stopped proxy's counter no longer wakes the container
  // once it has drained; until then its unhandled messages keep the
  // container awake.
  void ReapStoppedProxies(Instant now, ActionList& out);

  VmManager vms_;
  ProxyManager proxies_;
  PowerManager power_;
  ContainerManager containers_;

  Phase phase_ = Phase::kRunning;
  size_t max_pending_shutdowns_;
  std::vector<RequestId> pending_shutdowns_;
  Instant last_;
  uint64_t inputs_handled_ = 0;
};

absl::string_view SupervisorPhaseName(Supervisor::Phase phase);

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_SUPERVISOR_SUPERVISOR_H_
