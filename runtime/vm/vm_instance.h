// One VM's life as a sans-IO state machine (VM-3..VM-8): start, hangup
// detection, payload progress, death and its reason. It owns no process: it
// asks the world to spawn, kill and read, and learns the outcomes as inputs.
#ifndef PROCTOR_RUNTIME_VM_VM_INSTANCE_H_
#define PROCTOR_RUNTIME_VM_VM_INSTANCE_H_

#include <optional>

#include "absl/status/status.h"
#include "runtime/model/action.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/ids.h"
#include "runtime/model/input.h"
#include "runtime/model/mutants.h"
#include "runtime/model/time.h"
#include "runtime/model/timer.h"
#include "runtime/model/vm_config.h"
#include "runtime/model/vm_types.h"

namespace proctor {

// The timer VM-5 uses for the VM with `cid`.
TimerId HangupTimerFor(Cid cid);

class VmInstance {
 public:
  // `config` must have passed ValidateVmConfig(config, platform): a VM is only
  // made from a config the supervisor accepted. `mutants` switches on known
  // bugs for the simulator to catch (runtime/model/mutants.h); empty for the
  // reference behaviour.
  VmInstance(VmConfig config, PlatformInfo platform, MutantSet mutants = {});

  VmInstance(const VmInstance&) = delete;
  VmInstance& operator=(const VmInstance&) = delete;

  // VM-3: asks the world to spawn the VMM. The state stays NotStarted until
  // OnVmmSpawned reports the outcome. FailedPrecondition when the VM is not
  // NotStarted or a spawn is already in flight; nothing changes then.
  absl::Status Start(Instant now, ActionList& out);

  // VM-8: kills the VMM of a Running VM; in any other state does nothing.
  void Kill(Instant now, ActionList& out);

  // The outcome of the SpawnVmm that Start asked for (VM-3, VM-5).
  void OnVmmSpawned(Instant now, const input::VmmSpawned& spawned,
                    ActionList& out);
  // VM-4: the guest reported its payload state. Untrusted: an invalid report
  // becomes a GuestError and changes nothing.
  void OnPayloadReported(Instant now, const input::PayloadReported& report,
                         ActionList& out);
  // VM-5: the hangup timer fired. Stale fires are ignored.
  void OnHangupTimerFired(Instant now, ActionList& out);
  // VM-5, VM-7: the VMM exited. Only the first exit of a Running VM counts.
  void OnVmmExited(Instant now, const input::VmmExited& exited,
                   ActionList& out);
  // VM-6, VM-7: the failure channel was read after the exit.
  void OnFailureReasonRead(Instant now, const input::FailureReasonRead& read,
                           ActionList& out);

  Cid cid() const { return config_.cid; }
  VmState state() const { return state_; }
  PayloadState payload_state() const { return payload_; }
  const VmConfig& config() const { return config_; }
  // VM-7: on_died has been delivered.
  bool died() const { return death_reason_.has_value(); }
  // The reason on_died carried; nullopt until died().
  std::optional<DeathReason> death_reason() const { return death_reason_; }
  // VM-5 killed the VMM for not starting its payload in time.
  bool hung_up() const { return hung_up_; }
  // A SpawnVmm was asked for and its outcome has not arrived yet.
  bool spawn_in_flight() const { return spawn_in_flight_; }
  // Nothing more will happen to this VM without a new request: it is not
  // Running, no spawn is in flight, no failure reason is awaited and no
  // hangup wait is pending.
  bool settled() const;

 private:
  void Die(DeathReason reason, ActionList& out);

  const VmConfig config_;
  const PlatformInfo platform_;
  const MutantSet mutants_;
  VmState state_ = VmState::kNotStarted;
  PayloadState payload_ = PayloadState::kStarting;
  bool spawn_in_flight_ = false;
  // VM-5: set while the wait for Started is on; the deadline tells a stale
  // fire (queued before a cancel, or meant for an earlier VM with this cid)
  // from the real one.
  std::optional<Instant> hangup_deadline_;
  bool hung_up_ = false;
  bool awaiting_failure_reason_ = false;
  std::optional<ExitStatus> exit_;
  std::optional<DeathReason> death_reason_;
};

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_VM_VM_INSTANCE_H_
