#include "runtime/container/container_instance.h"

#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/container/block_device.h"
#include "runtime/container/guest_path.h"
#include "runtime/model/check.h"

namespace proctor {
namespace {

ContainerEvent EventOfKind(ContainerEvent::Kind kind) {
  ContainerEvent event;
  event.kind = kind;
  return event;
}

}  // namespace

absl::string_view ContainerStateName(ContainerState state) {
  switch (state) {
    case ContainerState::kInstalled:
      return "installed";
    case ContainerState::kStarting:
      return "starting";
    case ContainerState::kRunning:
      return "running";
    case ContainerState::kExited:
      return "exited";
  }
  return "?";
}

std::string ContainerRootfs(ContainerId id) {
  return absl::StrCat("/run/proctor/containers/", id.value, "/rootfs");
}

ContainerInstance::ContainerInstance(ContainerId id, const ContainerSpec& spec,
                                     TransientPredicate is_transient,
                                     const RuntimeLimits& limits,
                                     MutantSet mutants)
    : id_(id),
      spec_(spec),
      is_transient_(is_transient),
      max_pending_requests_(limits.max_pending_container_requests),
      mutants_(mutants),
      ports_(spec.port_start, spec.port_end, mutants) {
  PROCTOR_CHECK(is_transient_ != nullptr);
}

TimerId ContainerInstance::Timer(TimerKind kind) const {
  return TimerId{kind, id_.value};
}

void ContainerInstance::Emit(ContainerEvent event, ActionList& actions) const {
  actions.push_back(action::EmitContainerEvent{id_, std::move(event)});
}

void ContainerInstance::ReplyError(RequestId request, absl::Status status,
                                   ActionList& actions) const {
  PROCTOR_CHECK(!status.ok());
  actions.push_back(action::Reply{request, std::move(status), {}});
}

absl::Status ContainerInstance::NotRunning() const {
  return absl::FailedPreconditionError(
      absl::StrCat("container ", id_.value, " is not running (",
                   ContainerStateName(state_), ")"));
}

// ---- Start (CN-5, CN-6, CN-7, CN-10) ----

void ContainerInstance::Start(Instant now, RequestId request,
                              ActionList& actions) {
  switch (state_) {
    case ContainerState::kInstalled:
      break;
    case ContainerState::kStarting:
    case ContainerState::kRunning:
      ReplyError(request,
                 absl::FailedPreconditionError(
                     absl::StrCat("container ", id_.value, " is already ",
                                  ContainerStateName(state_))),
                 actions);
      return;
    case ContainerState::kExited:
      // A run's exit status stays cached for CN-3; a second run would need a
      // second status, so a rerun goes through uninstall and install.
      ReplyError(request,
                 absl::FailedPreconditionError(absl::StrCat(
                     "container ", id_.value,
                     " has already run; uninstall and install it to run it "
                     "again")),
                 actions);
      return;
  }
  state_ = ContainerState::kStarting;
  start_.emplace();
  start_->request = request;
  start_->timing.Begin(now);
  start_->timing.Mark(StartupPhase::kSpecBuild, now, now);
  start_->phase_began = now;
  if (spec_.owns_vm) {
    BootVm(now, actions);
  } else {
    // The VM belongs to someone else and is already up.
    start_->first_connect_attempt = now;
    ConnectAgent(now, actions);
  }
}

void ContainerInstance::BootVm(Instant /*now*/, ActionList& actions) {
  ++start_->boot_attempt;
  PROCTOR_CHECK(start_->boot_attempt <= kBootAttempts);
  start_->phase = StartPhase::kBooting;
  actions.push_back(action::BootVm{id_, start_->boot_attempt});
}

void ContainerInstance::ConnectAgent(Instant /*now*/, ActionList& actions) {
  ++start_->connect_attempt;
  start_->phase = StartPhase::kConnecting;
  actions.push_back(action::ConnectAgent{id_, start_->connect_attempt});
}

void ContainerInstance::OnVmBooted(Instant now,
                                   const std::optional<std::string>& error,
                                   ActionList& actions) {
  if (state_ != ContainerState::kStarting ||
      start_->phase != StartPhase::kBooting) {
    return;
  }
  if (!error.has_value()) held_.vm = true;
  if (AbortIfRequested(actions)) return;
  if (error.has_value()) {
    absl::StatusOr<Instant> next =
        NextBootAttempt(start_->boot_attempt, now, *error, is_transient_);
    if (!next.ok()) {
      FailStart(next.status(), actions);
      return;
    }
    start_->phase = StartPhase::kBootBackoff;
    start_->retry_due = *next;
    actions.push_back(action::ArmTimer{Timer(TimerKind::kBootRetry), *next});
    return;
  }
  start_->timing.Mark(StartupPhase::kVmBoot, start_->phase_began, now);
  start_->phase_began = now;
  start_->first_connect_attempt = now;
  ConnectAgent(now, actions);
}

void ContainerInstance::OnAgentConnected(
    Instant now, const std::optional<std::string>& error, ActionList& actions) {
  if (state_ != ContainerState::kStarting ||
      start_->phase != StartPhase::kConnecting) {
    return;
  }
  if (AbortIfRequested(actions)) return;
  if (error.has_value()) {
    absl::StatusOr<Instant> next =
        NextAgentConnectAttempt(start_->first_connect_attempt, now, *error);
    if (!next.ok()) {
      FailStart(next.status(), actions);
      return;
    }
    start_->phase = StartPhase::kConnectBackoff;
    start_->retry_due = *next;
    actions.push_back(action::ArmTimer{Timer(TimerKind::kAgentRetry), *next});
    return;
  }
  start_->timing.Mark(StartupPhase::kAgentConnect, start_->phase_began, now);
  StartRelaysAndCreate(now, actions);
}

void ContainerInstance::StartRelaysAndCreate(Instant now, ActionList& actions) {
  // All ports first: a start that runs out must not leave half its relays
  // behind.
  std::vector<uint32_t> relay_ports;
  relay_ports.reserve(spec_.socket_relays);
  for (uint32_t i = 0; i < spec_.socket_relays; ++i) {
    absl::StatusOr<uint32_t> port = ports_.Allocate();
    if (!port.ok()) {
      FailStart(port.status(), actions);
      return;
    }
    relay_ports.push_back(*port);
  }
  held_.relays = true;
  for (uint32_t port : relay_ports) {
    actions.push_back(action::StartSocketRelay{id_, port});
  }
  // Relays, stdio, config and encoding are actions without completions or
  // pure computation here: they take no time.
  for (StartupPhase phase :
       {StartupPhase::kSocketRelays, StartupPhase::kStdioPrepare,
        StartupPhase::kConfigWrite, StartupPhase::kRequestEncode}) {
    start_->timing.Mark(phase, now, now);
  }
  start_->phase = StartPhase::kCreatingProcess;
  start_->phase_began = now;
  actions.push_back(action::CreateProcess{id_});
}

void ContainerInstance::OnProcessCreated(
    Instant now, const std::optional<std::string>& error, ActionList& actions) {
  if (state_ != ContainerState::kStarting ||
      start_->phase != StartPhase::kCreatingProcess) {
    return;
  }
  if (!error.has_value()) held_.process = true;
  if (AbortIfRequested(actions)) return;
  if (error.has_value()) {
    FailStart(absl::UnknownError(absl::StrCat("create process failed: ",
                                              BoundedErrorCause(*error))),
              actions);
    return;
  }
  start_->timing.Mark(StartupPhase::kCreateProcess, start_->phase_began, now);
  start_->timing.Mark(StartupPhase::kStartGateWait, now, now);
  start_->phase = StartPhase::kStartingProcess;
  start_->phase_began = now;
  actions.push_back(action::StartProcess{id_});
}

void ContainerInstance::OnProcessStarted(
    Instant now, const std::optional<std::string>& error, ActionList& actions) {
  if (state_ != ContainerState::kStarting ||
      start_->phase != StartPhase::kStartingProcess) {
    return;
  }
  if (error.has_value()) {
    if (AbortIfRequested(actions)) return;
    FailStart(absl::UnknownError(absl::StrCat("start process failed: ",
                                              BoundedErrorCause(*error))),
              actions);
    return;
  }
  // The process runs: even an aborted start completes here, and shutdown
  // then stops it like any running container.
  start_->timing.Mark(StartupPhase::kStartProcess, start_->phase_began, now);
  const StartupTiming timing = start_->timing.Finish(now);
  const RequestId request = start_->request;
  const bool aborting = start_->aborting;
  const std::optional<ExitStatus> early_exit = start_->early_exit;
  start_.reset();
  state_ = ContainerState::kRunning;
  PROCTOR_CHECK(held_.vm == spec_.owns_vm && held_.relays && held_.process);
  Emit(EventOfKind(ContainerEvent::Kind::kStarted), actions);
  actions.push_back(action::Reply{request, absl::OkStatus(), timing});
  if (early_exit.has_value()) {
    OnExited(now, *early_exit, actions);
    if (aborting) Release(actions);
  } else if (aborting) {
    BeginStop(now, kDefaultStopGrace, actions);
  }
}

void ContainerInstance::FailStart(absl::Status status, ActionList& actions) {
  PROCTOR_CHECK(state_ == ContainerState::kStarting && start_.has_value());
  const RequestId request = start_->request;
  start_.reset();
  Release(actions);
  state_ = ContainerState::kInstalled;
  ReplyError(request, std::move(status), actions);
}

bool ContainerInstance::AbortIfRequested(ActionList& actions) {
  if (!start_->aborting) return false;
  FailStart(absl::CancelledError(
                absl::StrCat("container ", id_.value,
                             " start aborted: the runtime is shutting down")),
            actions);
  return true;
}

// ---- Exit, wait and stop (CN-1, CN-3, CN-4) ----

void ContainerInstance::OnExited(Instant /*now*/, ExitStatus status,
                                 ActionList& actions) {
  if (state_ == ContainerState::kStarting) {
    // The world may report the exit of a short-lived process before the
    // completion of start_process; keep the first one for then.
    if (start_->phase == StartPhase::kStartingProcess &&
        !start_->early_exit.has_value()) {
      start_->early_exit = status;
    }
    return;
  }
  // Installed: no process. Exited: the first status is the status.
  if (state_ != ContainerState::kRunning) return;
  state_ = ContainerState::kExited;
  exit_ = status;
  ContainerEvent event = EventOfKind(ContainerEvent::Kind::kExit);
  event.exit = status;
  Emit(std::move(event), actions);
  if (stop_.has_value() && stop_->grace_deadline.has_value()) {
    // Mutant stop-sleeps-whole-grace: like the seed, the stop sleeps on
    // until the grace timer fires, which answers it (OnTimerFired).
    if (mutants_.Has(Mutant::kStopSleepsWholeGrace)) [[unlikely]] {
      return;
    }
    actions.push_back(action::CancelTimer{Timer(TimerKind::kStopGrace)});
  }
  AnswerPending(actions);
}

void ContainerInstance::AnswerPending(ActionList& actions) {
  PROCTOR_CHECK(exit_.has_value());
  const ExitStatus status = *exit_;
  const bool stopping = stop_.has_value();
  stop_.reset();
  if (stopping || !pending_.empty()) {
    Release(actions);
    for (RequestId request : pending_) {
      actions.push_back(action::Reply{request, absl::OkStatus(), status});
    }
    pending_.clear();
  }
}

bool ContainerInstance::QueuePending(RequestId request, ActionList& actions) {
  if (pending_.size() >= max_pending_requests_) {
    ReplyError(request,
               absl::ResourceExhaustedError(
                   absl::StrCat("container ", id_.value,
                                " has too many pending waits and stops (max ",
                                max_pending_requests_, ")")),
               actions);
    return false;
  }
  pending_.push_back(request);
  return true;
}

void ContainerInstance::AskGuestForExit(ActionList& actions) {
  if (asked_guest_) return;
  asked_guest_ = true;
  actions.push_back(action::WaitProcess{id_});
}

void ContainerInstance::Release(ActionList& actions) {
  if (held_.relays) actions.push_back(action::StopSocketRelays{id_});
  if (held_.process) actions.push_back(action::DeleteProcess{id_});
  if (held_.vm) actions.push_back(action::StopVm{id_});
  held_ = Held{};
}

void ContainerInstance::Wait(Instant /*now*/, RequestId request,
                             ActionList& actions) {
  switch (state_) {
    case ContainerState::kInstalled:
    case ContainerState::kStarting:
      ReplyError(request, NotRunning(), actions);
      return;
    case ContainerState::kExited:
      // The first wait after an exit nobody waited for still cleans up.
      Release(actions);
      actions.push_back(action::Reply{request, absl::OkStatus(), *exit_});
      return;
    case ContainerState::kRunning:
      break;
  }
  if (!QueuePending(request, actions)) return;
  AskGuestForExit(actions);
}

void ContainerInstance::Stop(Instant now, RequestId request,
                             std::optional<absl::Duration> grace,
                             ActionList& actions) {
  const absl::Duration effective = grace.value_or(kDefaultStopGrace);
  if (effective < absl::ZeroDuration() || effective > kMaxStopGrace) {
    ReplyError(request,
               absl::InvalidArgumentError(absl::StrCat(
                   "CN-4: stop grace ", absl::FormatDuration(effective),
                   " is outside 0..", absl::FormatDuration(kMaxStopGrace))),
               actions);
    return;
  }
  switch (state_) {
    case ContainerState::kInstalled:
    case ContainerState::kStarting:
      ReplyError(request, NotRunning(), actions);
      return;
    case ContainerState::kExited:
      Release(actions);
      actions.push_back(action::Reply{request, absl::OkStatus(), *exit_});
      return;
    case ContainerState::kRunning:
      break;
  }
  if (!QueuePending(request, actions)) return;
  // A second stop joins the first; its grace does not move the deadline.
  if (!stop_.has_value()) BeginStop(now, effective, actions);
}

void ContainerInstance::BeginStop(Instant now, absl::Duration grace,
                                  ActionList& actions) {
  PROCTOR_CHECK(state_ == ContainerState::kRunning && !stop_.has_value());
  stop_.emplace();
  actions.push_back(action::SignalContainer{id_, kSigTerm});
  const Instant deadline = now + grace;
  stop_->grace_deadline = deadline;
  actions.push_back(action::ArmTimer{Timer(TimerKind::kStopGrace), deadline});
  AskGuestForExit(actions);
}

void ContainerInstance::Kill(Instant /*now*/, RequestId request, int signal,
                             ActionList& actions) {
  if (signal < 1 || signal > kMaxSignal) {
    ReplyError(request,
               absl::InvalidArgumentError(absl::StrCat(
                   "signal ", signal, " is not a signal number (1..",
                   kMaxSignal, ")")),
               actions);
    return;
  }
  if (state_ != ContainerState::kRunning) {
    ReplyError(request, NotRunning(), actions);
    return;
  }
  actions.push_back(action::SignalContainer{id_, signal});
  actions.push_back(action::Reply{request, absl::OkStatus(), {}});
}

void ContainerInstance::OnTimerFired(Instant now, TimerKind kind,
                                     ActionList& actions) {
  switch (kind) {
    case TimerKind::kBootRetry:
      if (state_ == ContainerState::kStarting &&
          start_->phase == StartPhase::kBootBackoff &&
          now >= start_->retry_due) {
        BootVm(now, actions);
      }
      return;
    case TimerKind::kAgentRetry:
      if (state_ == ContainerState::kStarting &&
          start_->phase == StartPhase::kConnectBackoff &&
          now >= start_->retry_due) {
        ConnectAgent(now, actions);
      }
      return;
    case TimerKind::kStopGrace:
      // A stop is only in progress while the container runs, except with
      // the stop-sleeps-whole-grace mutant, whose stop outlives the exit.
      if (stop_.has_value() && stop_->grace_deadline.has_value() &&
          now >= *stop_->grace_deadline) {
        stop_->grace_deadline.reset();
        if (state_ == ContainerState::kExited) [[unlikely]] {
          AnswerPending(actions);  // no SIGKILL: the process is gone
          return;
        }
        PROCTOR_CHECK(state_ == ContainerState::kRunning);
        actions.push_back(action::SignalContainer{id_, kSigKill});
      }
      return;
    case TimerKind::kHangup:
      return;
  }
}

// ---- Everything else ----

void ContainerInstance::OnCgroupMemory(Instant /*now*/,
                                       const MemoryEvent& event,
                                       ActionList& actions) {
  if (state_ != ContainerState::kRunning) return;
  ContainerEvent cgroup = EventOfKind(ContainerEvent::Kind::kCGroup);
  cgroup.memory = event;
  Emit(std::move(cgroup), actions);
}

void ContainerInstance::CopyFile(Instant /*now*/, RequestId request,
                                 input::CopyDirection direction,
                                 absl::string_view guest_path,
                                 ActionList& actions) {
  if (state_ != ContainerState::kRunning) {
    ReplyError(request, NotRunning(), actions);
    return;
  }
  absl::StatusOr<std::string> path =
      ResolveGuestPath(ContainerRootfs(id_), guest_path, mutants_);
  if (!path.ok()) {
    ReplyError(request, path.status(), actions);
    return;
  }
  absl::StatusOr<uint32_t> port = ports_.Allocate();
  if (!port.ok()) {
    ReplyError(request, port.status(), actions);
    return;
  }
  actions.push_back(action::StartTransfer{id_, direction, *port, *path});
  actions.push_back(action::Reply{request, absl::OkStatus(), *path});
}

void ContainerInstance::AttachBlockDevice(Instant /*now*/, RequestId request,
                                          uint32_t slot, ActionList& actions) {
  absl::StatusOr<std::string> path = BlockDeviceGuestPath(slot);
  if (!path.ok()) {
    ReplyError(request, path.status(), actions);
    return;
  }
  actions.push_back(action::Reply{request, absl::OkStatus(), *path});
}

bool ContainerInstance::Uninstall(Instant /*now*/, RequestId request,
                                  ActionList& actions) {
  if (state_ == ContainerState::kStarting ||
      state_ == ContainerState::kRunning) {
    ReplyError(request,
               absl::FailedPreconditionError(absl::StrCat(
                   "container ", id_.value, " cannot be uninstalled while ",
                   ContainerStateName(state_))),
               actions);
    return false;
  }
  Release(actions);
  Emit(EventOfKind(ContainerEvent::Kind::kUninstalled), actions);
  actions.push_back(action::Reply{request, absl::OkStatus(), {}});
  return true;
}

void ContainerInstance::StopForShutdown(Instant now, ActionList& actions) {
  switch (state_) {
    case ContainerState::kInstalled:
      return;
    case ContainerState::kExited:
      Release(actions);
      return;
    case ContainerState::kRunning:
      if (!stop_.has_value()) BeginStop(now, kDefaultStopGrace, actions);
      return;
    case ContainerState::kStarting:
      break;
  }
  if (start_->aborting) return;
  start_->aborting = true;
  // Waiting on a retry timer: nothing is in flight, so abort now. Otherwise
  // the in-flight action's completion winds the start up.
  if (start_->phase == StartPhase::kBootBackoff) {
    actions.push_back(action::CancelTimer{Timer(TimerKind::kBootRetry)});
    AbortIfRequested(actions);
  } else if (start_->phase == StartPhase::kConnectBackoff) {
    actions.push_back(action::CancelTimer{Timer(TimerKind::kAgentRetry)});
    AbortIfRequested(actions);
  }
}

}  // namespace proctor
