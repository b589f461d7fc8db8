// Scripted worlds (script.h): the client's steps and the faults a scenario
// names, each performed at its time as the same inputs the default
// workload's client would send, so the world's replies and reactions are the
// same in both.
#include <algorithm>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "runtime/model/check.h"
#include "sim/world/internal/world_state.h"

namespace proctor::sim::world_internal {
namespace {

constexpr int64_t kMs = 1'000'000;

}  // namespace

absl::Status WorldState::ScheduleScript(Instant at, ScriptOp op) {
  if (!scripted()) {
    return absl::FailedPreconditionError(
        "script steps need a scripted world (WorldOptions::script)");
  }
  if (script_ops_.size() >= kMaxScriptOps) {
    return absl::ResourceExhaustedError(
        absl::StrCat("more than ", kMaxScriptOps, " script steps"));
  }
  script_ops_.push_back(std::move(op));
  Schedule(std::max(at, now_),
           Event{EventKind::kScript,
                 static_cast<uint32_t>(script_ops_.size() - 1), 0, 0});
  return failure_;
}

const ScriptedGuest* WorldState::ScriptGuestOf(const VmSim& vm) const {
  if (!scripted()) return nullptr;
  return &script_guests_[static_cast<size_t>(&vm - vms_.data())];
}

const ScriptedProcess* WorldState::ScriptProcessOf(
    const ContainerSim& c) const {
  if (!scripted()) return nullptr;
  return &script_processes_[static_cast<size_t>(&c - containers_.data())];
}

void WorldState::RunScriptOp(const ScriptOp& op) {
  std::visit([this](const auto& x) { RunScriptOp(x); }, op);
}

void WorldState::RunScriptOp(const script_op::CreateVm& op) {
  VmSim* vm = FindVm(op.config.cid);
  if (vm == nullptr) {
    Deliver(input::CreateVm{NewRequest(RequestKind::kOther, 0, 0), op.config});
    return;
  }
  vm->detect_hangup = op.config.detect_hangup;
  Deliver(input::CreateVm{
      NewRequest(RequestKind::kCreateVm,
                 static_cast<uint32_t>(vm - vms_.data()), vm->life),
      op.config});
}

void WorldState::RunScriptOp(const script_op::StartVm& op) {
  VmSim* vm = FindVm(op.cid);
  if (vm == nullptr) {
    Deliver(input::StartVm{NewRequest(RequestKind::kOther, 0, 0), op.cid});
    return;
  }
  vm->awaiting_death = true;
  Deliver(input::StartVm{
      NewRequest(RequestKind::kStartVm, static_cast<uint32_t>(vm - vms_.data()),
                 vm->life),
      op.cid});
}

void WorldState::RunScriptOp(const script_op::KillVm& op) {
  Deliver(input::KillVm{NewRequest(RequestKind::kOther, 0, 0), op.cid});
}

void WorldState::RunScriptOp(const script_op::InstallContainer& op) {
  ContainerSim* c = FindContainer(op.container);
  if (c == nullptr) {
    Deliver(input::InstallContainer{NewRequest(RequestKind::kOther, 0, 0),
                                    op.container, op.spec});
    return;
  }
  c->owns_vm = op.spec.owns_vm;
  Deliver(input::InstallContainer{
      NewRequest(RequestKind::kInstall,
                 static_cast<uint32_t>(c - containers_.data()), c->life),
      op.container, op.spec});
}

void WorldState::RunScriptOp(const script_op::StartContainer& op) {
  ContainerSim* c = FindContainer(op.container);
  if (c == nullptr) {
    Deliver(input::StartContainer{NewRequest(RequestKind::kOther, 0, 0),
                                  op.container});
    return;
  }
  c->phase = ContainerPhase::kStarting;
  Deliver(input::StartContainer{
      NewRequest(RequestKind::kStartContainer,
                 static_cast<uint32_t>(c - containers_.data()), c->life),
      op.container});
}

void WorldState::RunScriptOp(const script_op::StopContainer& op) {
  Deliver(input::StopContainer{NewRequest(RequestKind::kOther, 0, 0),
                               op.container, op.grace});
}

void WorldState::RunScriptOp(const script_op::WaitContainer& op) {
  Deliver(input::WaitContainer{NewRequest(RequestKind::kOther, 0, 0),
                               op.container});
}

void WorldState::RunScriptOp(const script_op::KillContainer& op) {
  Deliver(input::KillContainer{NewRequest(RequestKind::kOther, 0, 0),
                               op.container, op.signal});
}

void WorldState::RunScriptOp(const script_op::UninstallContainer& op) {
  ContainerSim* c = FindContainer(op.container);
  if (c == nullptr) {
    Deliver(input::UninstallContainer{NewRequest(RequestKind::kOther, 0, 0),
                                      op.container});
    return;
  }
  Deliver(input::UninstallContainer{
      NewRequest(RequestKind::kUninstall,
                 static_cast<uint32_t>(c - containers_.data()), c->life),
      op.container});
}

void WorldState::RunScriptOp(const script_op::CopyFile& op) {
  Deliver(input::CopyFile{NewRequest(RequestKind::kOther, 0, 0), op.container,
                          op.direction, op.guest_path});
}

void WorldState::RunScriptOp(const script_op::AttachBlockDevice& op) {
  Deliver(input::AttachBlockDevice{NewRequest(RequestKind::kOther, 0, 0),
                                   op.container, op.slot});
}

void WorldState::RunScriptOp(const script_op::AddProxy& op) {
  ProxySim* p = FindProxy(op.proxy);
  if (p == nullptr || p->channels != nullptr) {
    Fail(absl::InvalidArgumentError(absl::StrCat(
        "script: add_proxy ", op.proxy.value,
        p == nullptr ? ": no such proxy in the setup" : ": added twice")));
    return;
  }
  OnProxyAdd(*p);
}

void WorldState::RunScriptOp(const script_op::Send& op) {
  ProxySim* p = FindProxy(op.proxy);
  if (p == nullptr || p->channels == nullptr) return;  // nothing to write to
  const Side side = op.from_container ? kContainerSide : kRemoteSide;
  if (op.from_container && suspended_) {
    // A suspended container does nothing; it writes once it is awake.
    ScheduleScript(Instant::FromNanos(now_.ns + 100 * kMs), op).IgnoreError();
    return;
  }
  bool wrote = false;
  for (uint32_t i = 0; i < op.count; ++i) {
    if (!PeerWrites(*p, side, std::max<uint32_t>(op.bytes, 16))) break;
    wrote = true;
  }
  if (wrote) ScheduleSignal(*p, side);
}

void WorldState::RunScriptOp(const script_op::Close& op) {
  ProxySim* p = FindProxy(op.proxy);
  if (p == nullptr || p->channels == nullptr) return;
  if (op.container_side) {
    if (p->container_open) CloseContainer(*p);
  } else if (p->remote_open) {
    CloseRemote(*p);
  }
}

void WorldState::RunScriptOp(const script_op::RegisterWatcher& op) {
  Deliver(input::RegisterWakeWatcher{NewRequest(RequestKind::kOther, 0, 0),
                                     op.watcher});
}

void WorldState::RunScriptOp(const script_op::AddWakeSource& op) {
  if (op.source == 0 || op.source > handles_.size()) {
    Fail(absl::InvalidArgumentError(absl::StrCat(
        "script: wake source ", op.source, " is not in the setup")));
    return;
  }
  const uint32_t index = op.source - 1;
  Deliver(
      input::AddWakeSource{NewRequest(RequestKind::kAddWakeSource, index, 0),
                           WakeSourceId{handles_[index].koid.value},
                           absl::StrCat("handle-", op.source), kSignalUser0});
}

void WorldState::RunScriptOp(const script_op::RemoveWakeSource& op) {
  if (op.source == 0 || op.source > handles_.size()) {
    Fail(absl::InvalidArgumentError(absl::StrCat(
        "script: wake source ", op.source, " is not in the setup")));
    return;
  }
  HandleSourceSim& h = handles_[op.source - 1];
  h.registered = false;
  Deliver(input::RemoveWakeSource{NewRequest(RequestKind::kOther, 0, 0),
                                  WakeSourceId{h.koid.value}});
}

void WorldState::RunScriptOp(const script_op::SignalWakeSource& op) {
  if (op.source == 0 || op.source > handles_.size()) {
    Fail(absl::InvalidArgumentError(absl::StrCat(
        "script: wake source ", op.source, " is not in the setup")));
    return;
  }
  AssertHandle(op.source - 1, op.in_mask ? kSignalUser0 : kSignalUser1,
               std::max<int64_t>(absl::ToInt64Nanoseconds(op.hold), 1), 0);
}

void WorldState::RunScriptOp(const script_op::Suspend&) {
  Deliver(input::SuspendContainer{NewRequest(RequestKind::kOther, 0, 0)});
}

void WorldState::RunScriptOp(const script_op::Subscribe& op) {
  Deliver(input::SubscribeEvents{NewRequest(RequestKind::kOther, 0, 0),
                                 op.subscriber});
}

void WorldState::RunScriptOp(const script_op::Poll& op) {
  Deliver(input::PollEvents{NewRequest(RequestKind::kOther, 0, 0),
                            op.subscriber, op.max_events});
}

void WorldState::RunScriptOp(const script_op::Unsubscribe& op) {
  Deliver(input::UnsubscribeEvents{NewRequest(RequestKind::kOther, 0, 0),
                                   op.subscriber});
}

void WorldState::RunScriptOp(const script_op::Shutdown&) {
  Deliver(input::Shutdown{NewRequest(RequestKind::kOther, 0, 0)});
}

void WorldState::RunScriptOp(const script_op::InjectFault& op) {
  if (plan_.faults.size() >= kMaxPlanFaults) {
    Fail(absl::ResourceExhaustedError(
        absl::StrCat("more than ", kMaxPlanFaults, " faults")));
    return;
  }
  plan_.faults.push_back(Fault{now_, op.kind, op.target, op.a, op.b});
  if (std::find(plan_.enabled.begin(), plan_.enabled.end(), op.kind) ==
      plan_.enabled.end()) {
    plan_.enabled.push_back(op.kind);
  }
  fault_fired_.push_back(false);
  ++stats_.faults_planned[FaultKindIndex(op.kind)];
  OnFault(static_cast<uint32_t>(plan_.faults.size() - 1));
}

}  // namespace proctor::sim::world_internal
