// The container runtime (CN-1..CN-10): owns every installed container, routes
// requests and world inputs to it by id, and publishes each container event
// both as an action and on the event bus, so that the trace and every
// subscriber see the same events in the same order.
#ifndef PROCTOR_RUNTIME_CONTAINER_CONTAINER_MANAGER_H_
#define PROCTOR_RUNTIME_CONTAINER_CONTAINER_MANAGER_H_

#include <cstddef>

#include "absl/container/btree_map.h"
#include "runtime/container/container_instance.h"
#include "runtime/container/event_bus.h"
#include "runtime/container/retry.h"
#include "runtime/model/action.h"
#include "runtime/model/ids.h"
#include "runtime/model/input.h"
#include "runtime/model/limits.h"
#include "runtime/model/mutants.h"
#include "runtime/model/time.h"

namespace proctor {

class ContainerManager {
 public:
  // The default bound on installed containers
  // (RuntimeLimits::max_containers).
  static constexpr size_t kMaxContainers = RuntimeLimits{}.max_containers;

  explicit ContainerManager(
      TransientPredicate is_transient = IsTransientVmnetBootError,
      size_t subscriber_capacity = ContainerEventBus::kSubscriberCapacity);
  // Uses limits.max_containers, the event-bus limits and the per-container
  // limits; `mutants` is handed to every container it installs.
  ContainerManager(TransientPredicate is_transient, const RuntimeLimits& limits,
                   MutantSet mutants = {});

  // Requests: each appends exactly one action::Reply for its request, at once
  // or (start, wait, stop) when the outcome is known. An unknown container id
  // is NotFound "no container N".
  void OnInstallContainer(Instant now, const input::InstallContainer& request,
                          ActionList& actions);
  void OnUninstallContainer(Instant now,
                            const input::UninstallContainer& request,
                            ActionList& actions);
  void OnStartContainer(Instant now, const input::StartContainer& request,
                        ActionList& actions);
  void OnWaitContainer(Instant now, const input::WaitContainer& request,
                       ActionList& actions);
  void OnStopContainer(Instant now, const input::StopContainer& request,
                       ActionList& actions);
  void OnKillContainer(Instant now, const input::KillContainer& request,
                       ActionList& actions);
  void OnCopyFile(Instant now, const input::CopyFile& request,
                  ActionList& actions);
  void OnAttachBlockDevice(Instant now, const input::AttachBlockDevice& request,
                           ActionList& actions);
  void OnSubscribeEvents(Instant now, const input::SubscribeEvents& request,
                         ActionList& actions);
  void OnPollEvents(Instant now, const input::PollEvents& request,
                    ActionList& actions);
  void OnUnsubscribeEvents(Instant now, const input::UnsubscribeEvents& request,
                           ActionList& actions);

  // World inputs: for an unknown container id, or unexpected in the
  // container's state, they are ignored.
  void OnVmBooted(Instant now, const input::VmBooted& booted,
                  ActionList& actions);
  void OnAgentConnected(Instant now, const input::AgentConnected& connected,
                        ActionList& actions);
  void OnProcessCreated(Instant now, const input::ProcessCreated& created,
                        ActionList& actions);
  void OnProcessStarted(Instant now, const input::ProcessStarted& started,
                        ActionList& actions);
  void OnContainerExited(Instant now, const input::ContainerExited& exited,
                         ActionList& actions);
  void OnCgroupMemory(Instant now, const input::CgroupMemory& memory,
                      ActionList& actions);
  // Handles kStopGrace, kAgentRetry and kBootRetry; other kinds and stale
  // fires are ignored.
  void OnTimerFired(Instant now, const input::TimerFired& fired,
                    ActionList& actions);

  // RT-2: from now on starts are refused; every running container is stopped
  // with the default grace (no request attached), every start in progress is
  // aborted, and exited containers give back what they still hold.
  void StopAll(Instant now, ActionList& actions);
  // No container is starting or running.
  bool AllSettled() const;

  // Observers for the supervisor and tests; nullptr for an unknown id.
  const ContainerInstance* Find(ContainerId id) const;
  size_t container_count() const { return containers_.size(); }
  size_t max_containers() const { return limits_.max_containers; }
  const ContainerEventBus& events() const { return bus_; }

 private:
  ContainerInstance* FindMutable(ContainerId id);
  // The container, or nullptr after replying NotFound to `request`.
  ContainerInstance* FindForRequest(RequestId request, ContainerId id,
                                    ActionList& actions);
  // Puts every EmitContainerEvent appended since `first` on the bus.
  void Publish(const ActionList& actions, size_t first);

  TransientPredicate is_transient_;
  RuntimeLimits limits_;
  MutantSet mutants_;
  absl::btree_map<ContainerId, ContainerInstance> containers_;
  ContainerEventBus bus_;
  bool shutting_down_ = false;
};

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_CONTAINER_CONTAINER_MANAGER_H_
