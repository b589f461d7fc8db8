#include "runtime/power/power_manager.h"

#include <string>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "runtime/model/check.h"

namespace proctor {

PowerManager::PowerManager(const RuntimeLimits& limits, MutantSet mutants)
    : max_watchers_(limits.max_wake_watchers),
      mutants_(mutants),
      wake_sources_(limits) {}

void PowerManager::OnRegisterWakeWatcher(
    Instant /*now*/, const input::RegisterWakeWatcher& request,
    ActionList& actions) {
  if (watchers_.contains(request.watcher)) {
    actions.push_back(action::Reply{
        request.request,
        absl::AlreadyExistsError(absl::StrCat("PW-2: wake watcher ",
                                              ToString(request.watcher),
                                              " is already registered")),
        std::monostate{}});
    return;
  }
  if (watchers_.size() >= max_watchers_) {
    actions.push_back(action::Reply{
        request.request,
        absl::ResourceExhaustedError(absl::StrCat(
            "PW-2: too many wake watchers (limit ", max_watchers_, ")")),
        std::monostate{}});
    return;
  }
  watchers_.insert(request.watcher);
  actions.push_back(action::SignalWatcher{
      request.watcher, suspended() ? WakeSignal::kAsleep : WakeSignal::kAwake});
  actions.push_back(
      action::Reply{request.request, absl::OkStatus(), std::monostate{}});
}

void PowerManager::OnAddWakeSource(Instant now,
                                   const input::AddWakeSource& request,
                                   ActionList& actions) {
  absl::Status added = wake_sources_.AddHandle(HandleId{request.source.value},
                                               request.name, request.mask);
  if (added.ok()) {
    // A replaced source is no longer the stopped proxy's counter.
    retiring_.erase(request.source);
    actions.push_back(action::WakeSourceAdded{request.source, request.name});
    WakeIfActive(now, actions);
  }
  actions.push_back(
      action::Reply{request.request, std::move(added), std::monostate{}});
}

void PowerManager::OnRemoveWakeSource(Instant /*now*/,
                                      const input::RemoveWakeSource& request,
                                      ActionList& actions) {
  retiring_.erase(request.source);
  if (wake_sources_.Remove(request.source)) {
    actions.push_back(action::WakeSourceRemoved{request.source});
  }
  actions.push_back(
      action::Reply{request.request, absl::OkStatus(), std::monostate{}});
}

absl::Status PowerManager::AddCounterWakeSource(Instant now, CounterId counter,
                                                absl::string_view name,
                                                ActionList& actions) {
  absl::Status added = wake_sources_.AddCounter(counter, name);
  if (!added.ok()) return added;
  // A new proxy owns the counter now: its source stays while it runs.
  retiring_.erase(WakeSourceId{counter.value});
  actions.push_back(
      action::WakeSourceAdded{WakeSourceId{counter.value}, std::string(name)});
  WakeIfActive(now, actions);
  return absl::OkStatus();
}

void PowerManager::RemoveCounterWakeSource(Instant /*now*/, CounterId counter,
                                           ActionList& actions) {
  const WakeSourceId source{counter.value};
  retiring_.erase(source);
  if (wake_sources_.Remove(source)) {
    actions.push_back(action::WakeSourceRemoved{source});
  }
}

void PowerManager::RetireCounterWakeSource(Instant now, CounterId counter,
                                           ActionList& actions) {
  const WakeSourceId source{counter.value};
  const WakeSource* found = wake_sources_.Find(source);
  if (found == nullptr) return;
  // Only a counter that is still positive has messages behind it; a source
  // that is not counter-based is not the proxy's to keep.
  if (found->kind == WakeSourceKind::kCounter &&
      wake_sources_.IsActive(source)) {
    retiring_.insert(source);
    return;
  }
  RemoveCounterWakeSource(now, counter, actions);
}

void PowerManager::RemoveRetiringWakeSources(Instant /*now*/,
                                             ActionList& actions) {
  for (WakeSourceId source : retiring_) {
    const bool removed = wake_sources_.Remove(source);
    PROCTOR_CHECK(removed);
    actions.push_back(action::WakeSourceRemoved{source});
  }
  retiring_.clear();
}

void PowerManager::OnCounterValue(Instant now, CounterId counter, int64_t value,
                                  ActionList& actions) {
  // The only error is for a counter that is not a wake source: dropping that
  // observation cannot let a suspend through (PW-4), since only wake sources
  // are consulted, and every proxy's counter is registered before use.
  wake_sources_.SetCounterValue(counter, value).IgnoreError();
  const WakeSourceId source{counter.value};
  if (value <= 0 && retiring_.contains(source)) {
    // PX-4: the stopped proxy's messages are all handled.
    RemoveCounterWakeSource(now, counter, actions);
  }
  WakeIfActive(now, actions);
}

void PowerManager::OnHandleSignalled(Instant now,
                                     const input::HandleSignalled& signalled,
                                     ActionList& actions) {
  // As in OnCounterValue: only observations of non-sources can be dropped.
  wake_sources_.SetHandleSignals(signalled.handle, signalled.signals)
      .IgnoreError();
  WakeIfActive(now, actions);
}

void PowerManager::OnSuspendContainer(Instant now,
                                      const input::SuspendContainer& request,
                                      ActionList& actions) {
  auto refuse = [&](absl::Status status) {
    actions.push_back(
        action::Reply{request.request, std::move(status), std::monostate{}});
  };
  if (shut_down_) {
    refuse(absl::FailedPreconditionError("RT-2: runtime is shutting down"));
    return;
  }
  if (suspended()) {
    // Any source that became active during the suspend would have woken it.
    PROCTOR_CHECK(!SourceBlockingSuspend().has_value());
    refuse(
        absl::FailedPreconditionError("PW-3: container is already suspended"));
    return;
  }
  if (std::optional<WakeSourceId> active = SourceBlockingSuspend()) {
    refuse(absl::FailedPreconditionError(
        absl::StrCat("PW-3: wake source '", wake_sources_.Name(*active), "' (",
                     ToString(*active), ") is active")));
    return;
  }
  suspension_ = Suspension{request.request, now};
  actions.push_back(action::SuspendGuest{});
  SignalWatchers(WakeSignal::kAsleep, actions);
}

void PowerManager::Shutdown(Instant /*now*/, ActionList& actions) {
  if (shut_down_) return;
  shut_down_ = true;
  if (!suspension_.has_value()) return;
  const RequestId pending = suspension_->request;
  Resume(actions);
  actions.push_back(action::Reply{
      pending, absl::AbortedError("RT-2: runtime is shutting down"),
      std::monostate{}});
}

std::optional<WakeSourceId> PowerManager::SourceBlockingSuspend() const {
  // Mutant suspend-ignores-counters: only handle-based sources hold the
  // container awake, so it suspends with messages unhandled (PW-4). Waking
  // still consults every source.
  if (mutants_.Has(Mutant::kSuspendIgnoresCounters)) [[unlikely]] {
    return wake_sources_.FirstActiveOfKind(WakeSourceKind::kHandle);
  }
  return wake_sources_.FirstActive();
}

void PowerManager::WakeIfActive(Instant now, ActionList& actions) {
  if (!suspension_.has_value()) return;
  const std::optional<WakeSourceId> woken_by = wake_sources_.FirstActive();
  if (!woken_by.has_value()) return;
  PROCTOR_CHECK(now >= suspension_->suspended_at);
  const Suspension suspension = *suspension_;
  Resume(actions);
  actions.push_back(action::Reply{
      suspension.request, absl::OkStatus(),
      SuspendResult{*woken_by, std::string(wake_sources_.Name(*woken_by)),
                    now - suspension.suspended_at}});
}

void PowerManager::Resume(ActionList& actions) {
  PROCTOR_CHECK(suspension_.has_value());
  suspension_.reset();
  actions.push_back(action::ResumeGuest{});
  SignalWatchers(WakeSignal::kAwake, actions);
}

void PowerManager::SignalWatchers(WakeSignal signal,
                                  ActionList& actions) const {
  for (WatcherId watcher : watchers_) {
    actions.push_back(action::SignalWatcher{watcher, signal});
  }
}

}  // namespace proctor
