// The supervisor's set of VMs: creates them from client requests (VM-1, VM-2),
// routes world and guest inputs to the VM they concern, and answers every
// request with exactly one Reply. Also what shutdown (RT-2) needs: kill every
// VM and tell when nothing more will happen.
#ifndef PROCTOR_RUNTIME_VM_VM_MANAGER_H_
#define PROCTOR_RUNTIME_VM_VM_MANAGER_H_

#include <cstddef>
#include <memory>

#include "absl/container/btree_map.h"
#include "runtime/model/action.h"
#include "runtime/model/ids.h"
#include "runtime/model/input.h"
#include "runtime/model/limits.h"
#include "runtime/model/mutants.h"
#include "runtime/model/time.h"
#include "runtime/model/vm_config.h"
#include "runtime/vm/vm_instance.h"

namespace proctor {

class VmManager {
 public:
  // The default bound on the VMs held at once (RuntimeLimits::max_vms). When
  // the bound is reached, VMs that are no longer live (Failed, or Dead with
  // on_died delivered) are forgotten to make room; only live VMs count
  // against it.
  static constexpr size_t kMaxVms = RuntimeLimits{}.max_vms;

  // `mutants` is handed to every VM this manager creates.
  explicit VmManager(PlatformInfo platform, const RuntimeLimits& limits = {},
                     MutantSet mutants = {});

  VmManager(const VmManager&) = delete;
  VmManager& operator=(const VmManager&) = delete;

  // Replies InvalidArgument (ValidateVmConfig's error), AlreadyExists when the
  // cid belongs to a live VM, ResourceExhausted at max_vms() live VMs, else
  // OK.
  // A VM that is no longer live is replaced by the new one.
  void OnCreateVm(Instant now, const input::CreateVm& request, ActionList& out);
  // Replies at once with VmInstance::Start's status: OK means the spawn was
  // asked for, not that the VM runs (that is announced by a vm_state action).
  void OnStartVm(Instant now, const input::StartVm& request, ActionList& out);
  // VM-8. Replies OK for any known VM, whatever its state.
  void OnKillVm(Instant now, const input::KillVm& request, ActionList& out);

  // Inputs for a cid with no VM are ignored.
  void OnVmmSpawned(Instant now, const input::VmmSpawned& spawned,
                    ActionList& out);
  void OnVmmExited(Instant now, const input::VmmExited& exited,
                   ActionList& out);
  void OnPayloadReported(Instant now, const input::PayloadReported& report,
                         ActionList& out);
  void OnFailureReasonRead(Instant now, const input::FailureReasonRead& read,
                           ActionList& out);
  // Handles kHangup timers; every other kind is not the manager's and is
  // ignored.
  void OnTimerFired(Instant now, const input::TimerFired& fired,
                    ActionList& out);

  // RT-2: VM-8 on every VM, in cid order (only Running ones act).
  void KillAll(Instant now, ActionList& out);
  // VM-8 on one VM, without a request to answer (RT-2 uses it for a VM whose
  // spawn completes during shutdown). Unknown cids are ignored.
  void Kill(Instant now, Cid cid, ActionList& out);
  // RT-2: no VM has anything more coming.
  bool AllSettled() const;

  // The VM with `cid`, or nullptr. Valid until the next OnCreateVm.
  const VmInstance* Find(Cid cid) const;
  size_t size() const { return vms_.size(); }
  size_t max_vms() const { return max_vms_; }

 private:
  VmInstance* FindMutable(Cid cid);
  // Drops every VM that is no longer live, to make room under max_vms_.
  void ForgetDeadVms();

  const PlatformInfo platform_;
  const size_t max_vms_;
  const MutantSet mutants_;
  // Ordered by cid so that KillAll's actions come in a deterministic order;
  // held by pointer so that Find's result survives inserts of other cids.
  absl::btree_map<Cid, std::unique_ptr<VmInstance>> vms_;
};

// VM-1: a VM that holds its cid: NotStarted (even with a spawn in flight),
// Running, or Dead with on_died not yet delivered.
bool IsLiveVm(const VmInstance& vm);

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_VM_VM_MANAGER_H_
