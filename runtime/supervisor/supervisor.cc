#include "runtime/supervisor/supervisor.h"

#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "runtime/model/check.h"

namespace proctor {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

void Reply(ActionList& out, RequestId request, absl::Status status) {
  out.push_back(action::Reply{request, std::move(status), std::monostate{}});
}

}  // namespace

absl::string_view SupervisorPhaseName(Supervisor::Phase phase) {
  switch (phase) {
    case Supervisor::Phase::kRunning:
      return "running";
    case Supervisor::Phase::kShuttingDown:
      return "shutting_down";
    case Supervisor::Phase::kShutDown:
      return "shut_down";
  }
  return "?";
}

Supervisor::Supervisor(Options options)
    : vms_(options.platform, options.limits, options.mutants),
      proxies_(options.limits, options.mutants),
      power_(options.limits, options.mutants),
      containers_(options.is_transient_boot_error, options.limits,
                  options.mutants),
      max_pending_shutdowns_(options.limits.max_pending_shutdowns) {}

void Supervisor::Handle(Instant now, const Input& input, ActionList& out) {
  PROCTOR_CHECK(now >= last_);
  last_ = now;
  ++inputs_handled_;

  if (const auto* shutdown = std::get_if<input::Shutdown>(&input)) {
    BeginShutdown(now, *shutdown, out);
  } else if (phase_ != Phase::kRunning && InputRequest(input).has_value()) {
    // RT-2: once shutdown has begun, no new request is accepted.
    Reply(out, *InputRequest(input),
          absl::UnavailableError("RT-2: runtime is shutting down"));
  } else {
    Route(now, input, out);
  }
  ReapStoppedProxies(now, out);
  if (phase_ == Phase::kShuttingDown) AdvanceShutdown(now, input, out);
}

void Supervisor::Route(Instant now, const Input& input, ActionList& out) {
  std::visit(
      Overloaded{
          // VMs.
          [&](const input::CreateVm& in) { vms_.OnCreateVm(now, in, out); },
          [&](const input::StartVm& in) { vms_.OnStartVm(now, in, out); },
          [&](const input::KillVm& in) { vms_.OnKillVm(now, in, out); },
          [&](const input::VmmSpawned& in) { vms_.OnVmmSpawned(now, in, out); },
          [&](const input::VmmExited& in) { vms_.OnVmmExited(now, in, out); },
          [&](const input::PayloadReported& in) {
            vms_.OnPayloadReported(now, in, out);
          },
          [&](const input::FailureReasonRead& in) {
            vms_.OnFailureReasonRead(now, in, out);
          },
          [&](const input::TimerFired& in) {
            if (in.timer.kind == TimerKind::kHangup) {
              vms_.OnTimerFired(now, in, out);
            } else {
              containers_.OnTimerFired(now, in, out);
            }
          },
          // Proxies (PX-1..4) and the wake sources they feed (PW-1).
          [&](const input::AddProxy& in) {
            absl::Status status = proxies_.OnAddProxy(now, in, out);
            if (status.ok()) {
              status =
                  power_.AddCounterWakeSource(now, in.counter, in.name, out);
              // A proxy whose counter nobody watches would break PW-4: it
              // is taken down again, closing both of its endpoints.
              if (!status.ok()) {
                proxies_.StopProxy(now, in.proxy, status, out).IgnoreError();
              }
            }
            Reply(out, in.request, std::move(status));
          },
          [&](const input::EndpointSignalled& in) {
            proxies_.OnEndpointSignalled(now, in, out);
          },
          [&](const input::MessageRead& in) {
            proxies_.OnMessageRead(now, in, out);
          },
          [&](const input::MessageWritten& in) {
            proxies_.OnMessageWritten(now, in, out);
          },
          [&](const input::CounterAdded& in) {
            // The wake-source view is updated first: by the time the proxy
            // writes the message, a suspend already sees the counter > 0
            // (PW-4).
            if (in.status == ChannelStatus::kOk) {
              power_.OnCounterValue(now, in.counter, in.value, out);
            }
            proxies_.OnCounterAdded(now, in, out);
          },
          [&](const input::CounterChanged& in) {
            power_.OnCounterValue(now, in.counter, in.value, out);
          },
          // Suspend and wake.
          [&](const input::RegisterWakeWatcher& in) {
            power_.OnRegisterWakeWatcher(now, in, out);
          },
          [&](const input::AddWakeSource& in) {
            power_.OnAddWakeSource(now, in, out);
          },
          [&](const input::RemoveWakeSource& in) {
            power_.OnRemoveWakeSource(now, in, out);
          },
          [&](const input::HandleSignalled& in) {
            power_.OnHandleSignalled(now, in, out);
          },
          [&](const input::SuspendContainer& in) {
            power_.OnSuspendContainer(now, in, out);
          },
          // Containers.
          [&](const input::InstallContainer& in) {
            containers_.OnInstallContainer(now, in, out);
          },
          [&](const input::StartContainer& in) {
            containers_.OnStartContainer(now, in, out);
          },
          [&](const input::VmBooted& in) {
            containers_.OnVmBooted(now, in, out);
          },
          [&](const input::AgentConnected& in) {
            containers_.OnAgentConnected(now, in, out);
          },
          [&](const input::ProcessCreated& in) {
            containers_.OnProcessCreated(now, in, out);
          },
          [&](const input::ProcessStarted& in) {
            containers_.OnProcessStarted(now, in, out);
          },
          [&](const input::ContainerExited& in) {
            containers_.OnContainerExited(now, in, out);
          },
          [&](const input::CgroupMemory& in) {
            containers_.OnCgroupMemory(now, in, out);
          },
          [&](const input::WaitContainer& in) {
            containers_.OnWaitContainer(now, in, out);
          },
          [&](const input::StopContainer& in) {
            containers_.OnStopContainer(now, in, out);
          },
          [&](const input::KillContainer& in) {
            containers_.OnKillContainer(now, in, out);
          },
          [&](const input::UninstallContainer& in) {
            containers_.OnUninstallContainer(now, in, out);
          },
          [&](const input::CopyFile& in) {
            containers_.OnCopyFile(now, in, out);
          },
          [&](const input::AttachBlockDevice& in) {
            containers_.OnAttachBlockDevice(now, in, out);
          },
          [&](const input::SubscribeEvents& in) {
            containers_.OnSubscribeEvents(now, in, out);
          },
          [&](const input::PollEvents& in) {
            containers_.OnPollEvents(now, in, out);
          },
          [&](const input::UnsubscribeEvents& in) {
            containers_.OnUnsubscribeEvents(now, in, out);
          },
          [&](const input::Shutdown&) {
            PROCTOR_CHECK(false);  // handled before routing
          },
      },
      input);
}

void Supervisor::BeginShutdown(Instant now, const input::Shutdown& in,
                               ActionList& out) {
  switch (phase_) {
    case Phase::kShutDown:
      // RT-2: idempotent; a late duplicate is answered at once.
      Reply(out, in.request, absl::OkStatus());
      return;
    case Phase::kShuttingDown:
      // A shutdown that is waiting for guests holds a bounded number of
      // duplicate requests; beyond that they are refused.
      if (pending_shutdowns_.size() >= max_pending_shutdowns_) {
        Reply(out, in.request,
              absl::ResourceExhaustedError(
                  "RT-2: too many shutdown requests are already waiting"));
      } else {
        pending_shutdowns_.push_back(in.request);
      }
      return;
    case Phase::kRunning:
      break;
  }
  phase_ = Phase::kShuttingDown;
  pending_shutdowns_.push_back(in.request);
  // Stop every guest: a pending suspend is answered and the container
  // resumed, containers get stop-with-grace (CN-4), VMs are killed (VM-8).
  power_.Shutdown(now, out);
  containers_.StopAll(now, out);
  vms_.KillAll(now, out);
}

void Supervisor::AdvanceShutdown(Instant now, const Input& input,
                                 ActionList& out) {
  // A VM whose spawn was in flight when shutdown began is killed as soon as
  // it runs (VM-8 could not act on it before). Container starts in flight
  // were aborted by StopAll and end at their next step.
  if (const auto* spawned = std::get_if<input::VmmSpawned>(&input)) {
    const VmInstance* vm = vms_.Find(spawned->cid);
    if (vm != nullptr && vm->state() == VmState::kRunning) {
      vms_.Kill(now, spawned->cid, out);
    }
  }
  if (!vms_.AllSettled() || !containers_.AllSettled()) return;
  proxies_.StopAll(now, out);
  ReapStoppedProxies(now, out);
  // Nothing is left to keep awake: sources still waiting for their
  // counters to drain go with the host resources.
  power_.RemoveRetiringWakeSources(now, out);
  out.push_back(action::ReleaseHostResources{});
  out.push_back(action::ShutdownComplete{});
  for (RequestId request : pending_shutdowns_) {
    Reply(out, request, absl::OkStatus());
  }
  pending_shutdowns_.clear();
  phase_ = Phase::kShutDown;
}

void Supervisor::ReapStoppedProxies(Instant now, ActionList& out) {
  for (const ProxyManager::StoppedProxy& stopped : proxies_.TakeStopped()) {
    power_.RetireCounterWakeSource(now, stopped.counter, out);
  }
}

}  // namespace proctor
