// One container's lifecycle as a sans-IO state machine: install, the start
// sequence (boot with CN-6 retries, agent connect with CN-5 retries, socket
// relays on CN-7 ports, create, start, CN-10 timing), exit, wait (CN-3), stop
// with grace (CN-4), and the once-only cleanup after the first wait. The
// ContainerManager owns the instances and routes inputs to them by id.
#ifndef PROCTOR_RUNTIME_CONTAINER_CONTAINER_INSTANCE_H_
#define PROCTOR_RUNTIME_CONTAINER_CONTAINER_INSTANCE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/container/port_allocator.h"
#include "runtime/container/retry.h"
#include "runtime/container/startup_timing.h"
#include "runtime/model/action.h"
#include "runtime/model/container_types.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/ids.h"
#include "runtime/model/input.h"
#include "runtime/model/limits.h"
#include "runtime/model/mutants.h"
#include "runtime/model/time.h"
#include "runtime/model/timer.h"

namespace proctor {

enum class ContainerState : uint8_t {
  kInstalled,  // not running: never started, or its last start failed
  kStarting,   // the start sequence is in progress
  kRunning,    // the process has started and not yet exited
  kExited,     // the exit status is known (and cached for CN-3 / CN-4)
};
absl::string_view ContainerStateName(ContainerState state);

// Where the container's rootfs lives in its bundle (CN-8's base):
// "/run/proctor/containers/<id>/rootfs".
std::string ContainerRootfs(ContainerId id);

namespace container_internal {

// Defined outside ContainerInstance: clang cannot default-construct a nested
// struct with member initializers inside std::optional while the enclosing
// class is incomplete.
// Where the start sequence is; the *Backoff phases wait for a retry timer,
// the others for the completion of an action.
enum class StartPhase : uint8_t {
  kBooting,
  kBootBackoff,
  kConnecting,
  kConnectBackoff,
  kCreatingProcess,
  kStartingProcess,
};

struct StartInProgress {
  RequestId request;
  StartPhase phase = StartPhase::kBooting;
  // When the action or wait of the current phase began.
  Instant phase_began;
  uint32_t boot_attempt = 0;
  uint32_t connect_attempt = 0;
  Instant first_connect_attempt;
  Instant retry_due;  // the armed retry timer's deadline
  StartupTimingRecorder timing;
  // RT-2: abort at the next step instead of going on.
  bool aborting = false;
  // An exit that overtook process_started; applied once it arrives.
  std::optional<ExitStatus> early_exit;
};

}  // namespace container_internal

class ContainerInstance {
 public:
  // CN-4.
  static constexpr absl::Duration kDefaultStopGrace = absl::Seconds(10);
  // Longer graces are refused so that `now + grace` cannot overflow.
  static constexpr absl::Duration kMaxStopGrace = absl::Hours(24);
  // The default bound on waits and stops queued on one container at a time
  // (RuntimeLimits::max_pending_container_requests).
  static constexpr size_t kMaxPendingRequests =
      RuntimeLimits{}.max_pending_container_requests;
  // Linux signal numbers, real-time signals included.
  static constexpr int kMaxSignal = 64;

  // Uses limits.max_pending_container_requests. `mutants` switches on known
  // bugs for the simulator to catch (runtime/model/mutants.h).
  ContainerInstance(ContainerId id, const ContainerSpec& spec,
                    TransientPredicate is_transient,
                    const RuntimeLimits& limits = {}, MutantSet mutants = {});

  ContainerId id() const { return id_; }
  const ContainerSpec& spec() const { return spec_; }
  ContainerState state() const { return state_; }
  // The cached exit status (CN-3), once the process has exited.
  const std::optional<ExitStatus>& exit_status() const { return exit_; }
  // Neither starting nor running nor stopping (RT-2).
  bool Settled() const {
    return state_ != ContainerState::kStarting &&
           state_ != ContainerState::kRunning && !stop_.has_value();
  }

  // Requests. Each appends exactly one action::Reply for `request`: at once,
  // or (start, wait, stop) when the outcome is known.
  void Start(Instant now, RequestId request, ActionList& actions);
  void Wait(Instant now, RequestId request, ActionList& actions);
  void Stop(Instant now, RequestId request, std::optional<absl::Duration> grace,
            ActionList& actions);
  void Kill(Instant now, RequestId request, int signal, ActionList& actions);
  void CopyFile(Instant now, RequestId request, input::CopyDirection direction,
                absl::string_view guest_path, ActionList& actions);
  void AttachBlockDevice(Instant now, RequestId request, uint32_t slot,
                         ActionList& actions);
  // Replies, and returns true when the instance is gone and must be erased.
  bool Uninstall(Instant now, RequestId request, ActionList& actions);

  // World inputs. Anything unexpected in the current state is ignored.
  void OnVmBooted(Instant now, const std::optional<std::string>& error,
                  ActionList& actions);
  void OnAgentConnected(Instant now, const std::optional<std::string>& error,
                        ActionList& actions);
  void OnProcessCreated(Instant now, const std::optional<std::string>& error,
                        ActionList& actions);
  void OnProcessStarted(Instant now, const std::optional<std::string>& error,
                        ActionList& actions);
  void OnExited(Instant now, ExitStatus status, ActionList& actions);
  void OnCgroupMemory(Instant now, const MemoryEvent& event,
                      ActionList& actions);
  void OnTimerFired(Instant now, TimerKind kind, ActionList& actions);

  // RT-2: stop with the default grace and no request attached if running,
  // abort the start if starting, release what an exited container still
  // holds. Idempotent.
  void StopForShutdown(Instant now, ActionList& actions);

 private:
  using StartPhase = container_internal::StartPhase;
  using StartInProgress = container_internal::StartInProgress;
  // What the container holds in the world and must give back exactly once.
  struct Held {
    bool vm = false;  // a VM this container booted and owns
    bool relays = false;
    bool process = false;
  };

  struct StopInProgress {
    // Set while the grace timer is armed; cleared when SIGKILL has been sent
    // (or, with stop-sleeps-whole-grace, when the grace ran out after the
    // exit).
    std::optional<Instant> grace_deadline;
  };

  TimerId Timer(TimerKind kind) const;
  void Emit(ContainerEvent event, ActionList& actions) const;
  void ReplyError(RequestId request, absl::Status status,
                  ActionList& actions) const;
  absl::Status NotRunning() const;

  // Start sequence steps.
  void BootVm(Instant now, ActionList& actions);
  void ConnectAgent(Instant now, ActionList& actions);
  void StartRelaysAndCreate(Instant now, ActionList& actions);
  void FailStart(absl::Status status, ActionList& actions);
  // True when the start was aborted and has now been wound up.
  bool AbortIfRequested(ActionList& actions);

  void BeginStop(Instant now, absl::Duration grace, ActionList& actions);
  // After the exit: ends the stop, cleans up (CN-3) if anyone stopped or
  // waited, and answers every pending wait and stop with the exit status.
  void AnswerPending(ActionList& actions);
  void AskGuestForExit(ActionList& actions);
  // CN-3: stop relays, delete the process, stop an owned VM; once.
  void Release(ActionList& actions);
  bool QueuePending(RequestId request, ActionList& actions);

  ContainerId id_;
  ContainerSpec spec_;
  TransientPredicate is_transient_;
  size_t max_pending_requests_;
  MutantSet mutants_;
  ContainerState state_ = ContainerState::kInstalled;
  PortAllocator ports_;
  std::optional<container_internal::StartInProgress> start_;
  Held held_;
  // WaitProcess was sent: the guest is asked for the exit status only once.
  bool asked_guest_ = false;
  std::optional<ExitStatus> exit_;
  std::optional<StopInProgress> stop_;
  // Waits and stops to answer with the exit status, in arrival order.
  std::vector<RequestId> pending_;
};

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_CONTAINER_CONTAINER_INSTANCE_H_
