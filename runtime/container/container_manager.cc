#include "runtime/container/container_manager.h"

#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/model/check.h"

namespace proctor {
namespace {

void ReplyStatus(RequestId request, absl::Status status, ActionList& actions) {
  actions.push_back(action::Reply{request, std::move(status), {}});
}

absl::Status ValidateSpec(const ContainerSpec& spec) {
  if (spec.socket_relays > ContainerSpec::kMaxSocketRelays) {
    return absl::InvalidArgumentError(absl::StrCat(
        "container spec asks for ", spec.socket_relays, " socket relays (max ",
        ContainerSpec::kMaxSocketRelays, ")"));
  }
  if (spec.port_start > spec.port_end) {
    return absl::InvalidArgumentError(absl::StrCat("CN-7: port range ",
                                                   spec.port_start, "..",
                                                   spec.port_end, " is empty"));
  }
  return absl::OkStatus();
}

}  // namespace

ContainerManager::ContainerManager(TransientPredicate is_transient,
                                   size_t subscriber_capacity)
    : is_transient_(is_transient), bus_(subscriber_capacity) {
  PROCTOR_CHECK(is_transient_ != nullptr);
  limits_.events_per_subscriber = subscriber_capacity;
}

ContainerManager::ContainerManager(TransientPredicate is_transient,
                                   const RuntimeLimits& limits,
                                   MutantSet mutants)
    : is_transient_(is_transient),
      limits_(limits),
      mutants_(mutants),
      bus_(limits.events_per_subscriber, limits.max_event_subscribers) {
  PROCTOR_CHECK(is_transient_ != nullptr);
}

const ContainerInstance* ContainerManager::Find(ContainerId id) const {
  auto it = containers_.find(id);
  return it == containers_.end() ? nullptr : &it->second;
}

ContainerInstance* ContainerManager::FindMutable(ContainerId id) {
  auto it = containers_.find(id);
  return it == containers_.end() ? nullptr : &it->second;
}

ContainerInstance* ContainerManager::FindForRequest(RequestId request,
                                                    ContainerId id,
                                                    ActionList& actions) {
  ContainerInstance* container = FindMutable(id);
  if (container == nullptr) {
    ReplyStatus(request,
                absl::NotFoundError(absl::StrCat("no container ", id.value)),
                actions);
  }
  return container;
}

void ContainerManager::Publish(const ActionList& actions, size_t first) {
  for (size_t i = first; i < actions.size(); ++i) {
    if (const auto* emitted =
            std::get_if<action::EmitContainerEvent>(&actions[i])) {
      bus_.Publish(emitted->container, emitted->event);
    }
  }
}

// ---- Requests ----

void ContainerManager::OnInstallContainer(
    Instant /*now*/, const input::InstallContainer& request,
    ActionList& actions) {
  const size_t first = actions.size();
  if (containers_.contains(request.container)) {
    ReplyStatus(
        request.request,
        absl::AlreadyExistsError(absl::StrCat(
            "container ", request.container.value, " is already installed")),
        actions);
    return;
  }
  if (absl::Status valid = ValidateSpec(request.spec); !valid.ok()) {
    ReplyStatus(request.request, std::move(valid), actions);
    return;
  }
  if (containers_.size() >= limits_.max_containers) {
    ReplyStatus(request.request,
                absl::ResourceExhaustedError(absl::StrCat(
                    "too many containers (max ", limits_.max_containers, ")")),
                actions);
    return;
  }
  containers_.emplace(std::piecewise_construct,
                      std::forward_as_tuple(request.container),
                      std::forward_as_tuple(request.container, request.spec,
                                            is_transient_, limits_, mutants_));
  ContainerEvent installed;
  installed.kind = ContainerEvent::Kind::kInstalled;
  actions.push_back(action::EmitContainerEvent{request.container, installed});
  ReplyStatus(request.request, absl::OkStatus(), actions);
  Publish(actions, first);
}

void ContainerManager::OnUninstallContainer(
    Instant now, const input::UninstallContainer& request,
    ActionList& actions) {
  const size_t first = actions.size();
  ContainerInstance* container =
      FindForRequest(request.request, request.container, actions);
  if (container == nullptr) return;
  if (container->Uninstall(now, request.request, actions)) {
    containers_.erase(request.container);
  }
  Publish(actions, first);
}

void ContainerManager::OnStartContainer(Instant now,
                                        const input::StartContainer& request,
                                        ActionList& actions) {
  const size_t first = actions.size();
  ContainerInstance* container =
      FindForRequest(request.request, request.container, actions);
  if (container == nullptr) return;
  if (shutting_down_) {
    ReplyStatus(request.request,
                absl::FailedPreconditionError(absl::StrCat(
                    "container ", request.container.value,
                    " cannot start: the runtime is shutting down")),
                actions);
    return;
  }
  container->Start(now, request.request, actions);
  Publish(actions, first);
}

void ContainerManager::OnWaitContainer(Instant now,
                                       const input::WaitContainer& request,
                                       ActionList& actions) {
  const size_t first = actions.size();
  ContainerInstance* container =
      FindForRequest(request.request, request.container, actions);
  if (container == nullptr) return;
  container->Wait(now, request.request, actions);
  Publish(actions, first);
}

void ContainerManager::OnStopContainer(Instant now,
                                       const input::StopContainer& request,
                                       ActionList& actions) {
  const size_t first = actions.size();
  ContainerInstance* container =
      FindForRequest(request.request, request.container, actions);
  if (container == nullptr) return;
  container->Stop(now, request.request, request.grace, actions);
  Publish(actions, first);
}

void ContainerManager::OnKillContainer(Instant now,
                                       const input::KillContainer& request,
                                       ActionList& actions) {
  ContainerInstance* container =
      FindForRequest(request.request, request.container, actions);
  if (container == nullptr) return;
  container->Kill(now, request.request, request.signal, actions);
}

void ContainerManager::OnCopyFile(Instant now, const input::CopyFile& request,
                                  ActionList& actions) {
  ContainerInstance* container =
      FindForRequest(request.request, request.container, actions);
  if (container == nullptr) return;
  container->CopyFile(now, request.request, request.direction,
                      request.guest_path, actions);
}

void ContainerManager::OnAttachBlockDevice(
    Instant now, const input::AttachBlockDevice& request, ActionList& actions) {
  ContainerInstance* container =
      FindForRequest(request.request, request.container, actions);
  if (container == nullptr) return;
  container->AttachBlockDevice(now, request.request, request.slot, actions);
}

void ContainerManager::OnSubscribeEvents(Instant /*now*/,
                                         const input::SubscribeEvents& request,
                                         ActionList& actions) {
  ReplyStatus(request.request, bus_.Subscribe(request.subscriber), actions);
}

void ContainerManager::OnPollEvents(Instant /*now*/,
                                    const input::PollEvents& request,
                                    ActionList& actions) {
  absl::StatusOr<EventBatch> batch =
      bus_.Poll(request.subscriber, request.max_events);
  if (!batch.ok()) {
    ReplyStatus(request.request, batch.status(), actions);
    return;
  }
  actions.push_back(
      action::Reply{request.request, absl::OkStatus(), *std::move(batch)});
}

void ContainerManager::OnUnsubscribeEvents(
    Instant /*now*/, const input::UnsubscribeEvents& request,
    ActionList& actions) {
  ReplyStatus(request.request, bus_.Unsubscribe(request.subscriber), actions);
}

// ---- World inputs ----

void ContainerManager::OnVmBooted(Instant now, const input::VmBooted& booted,
                                  ActionList& actions) {
  const size_t first = actions.size();
  if (ContainerInstance* container = FindMutable(booted.container)) {
    container->OnVmBooted(now, booted.error, actions);
  }
  Publish(actions, first);
}

void ContainerManager::OnAgentConnected(Instant now,
                                        const input::AgentConnected& connected,
                                        ActionList& actions) {
  const size_t first = actions.size();
  if (ContainerInstance* container = FindMutable(connected.container)) {
    container->OnAgentConnected(now, connected.error, actions);
  }
  Publish(actions, first);
}

void ContainerManager::OnProcessCreated(Instant now,
                                        const input::ProcessCreated& created,
                                        ActionList& actions) {
  const size_t first = actions.size();
  if (ContainerInstance* container = FindMutable(created.container)) {
    container->OnProcessCreated(now, created.error, actions);
  }
  Publish(actions, first);
}

void ContainerManager::OnProcessStarted(Instant now,
                                        const input::ProcessStarted& started,
                                        ActionList& actions) {
  const size_t first = actions.size();
  if (ContainerInstance* container = FindMutable(started.container)) {
    container->OnProcessStarted(now, started.error, actions);
  }
  Publish(actions, first);
}

void ContainerManager::OnContainerExited(Instant now,
                                         const input::ContainerExited& exited,
                                         ActionList& actions) {
  const size_t first = actions.size();
  if (ContainerInstance* container = FindMutable(exited.container)) {
    container->OnExited(now, exited.status, actions);
  }
  Publish(actions, first);
}

void ContainerManager::OnCgroupMemory(Instant now,
                                      const input::CgroupMemory& memory,
                                      ActionList& actions) {
  const size_t first = actions.size();
  if (ContainerInstance* container = FindMutable(memory.container)) {
    container->OnCgroupMemory(now, memory.event, actions);
  }
  Publish(actions, first);
}

void ContainerManager::OnTimerFired(Instant now, const input::TimerFired& fired,
                                    ActionList& actions) {
  switch (fired.timer.kind) {
    case TimerKind::kStopGrace:
    case TimerKind::kAgentRetry:
    case TimerKind::kBootRetry:
      break;
    case TimerKind::kHangup:
      return;  // a VM timer, not ours
  }
  const size_t first = actions.size();
  if (ContainerInstance* container =
          FindMutable(ContainerId{fired.timer.owner})) {
    container->OnTimerFired(now, fired.timer.kind, actions);
  }
  Publish(actions, first);
}

// ---- RT-2 ----

void ContainerManager::StopAll(Instant now, ActionList& actions) {
  const size_t first = actions.size();
  shutting_down_ = true;
  for (auto& [id, container] : containers_) {
    container.StopForShutdown(now, actions);
  }
  Publish(actions, first);
}

bool ContainerManager::AllSettled() const {
  for (const auto& [id, container] : containers_) {
    if (!container.Settled()) return false;
  }
  return true;
}

}  // namespace proctor
