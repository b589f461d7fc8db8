// The sans-IO suspend controller (PW-1..PW-4): owns the wake sources and the
// wake watchers, suspends the container when asked and nothing is active,
// and resumes it the moment a wake source becomes active.
//
// There is one container per runtime for suspend purposes, as in the seed
// ("TODO: handle more than one container"): SuspendGuest and ResumeGuest name
// no container.
//
// Ordering: every action a request causes comes before that request's reply.
// A suspend's reply is deferred until the container wakes (or the runtime
// shuts down), so it follows ResumeGuest and the AWAKE signals.
#ifndef PROCTOR_RUNTIME_POWER_POWER_MANAGER_H_
#define PROCTOR_RUNTIME_POWER_POWER_MANAGER_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "runtime/model/action.h"
#include "runtime/model/channel_types.h"
#include "runtime/model/ids.h"
#include "runtime/model/input.h"
#include "runtime/model/limits.h"
#include "runtime/model/mutants.h"
#include "runtime/model/time.h"
#include "runtime/power/wake_sources.h"

namespace proctor {

class PowerManager {
 public:
  // The default bound on wake watchers (RuntimeLimits::max_wake_watchers).
  static constexpr size_t kMaxWatchers = RuntimeLimits{}.max_wake_watchers;

  PowerManager() : PowerManager(RuntimeLimits{}) {}
  // Uses limits.max_wake_watchers and the wake-source limits.
  explicit PowerManager(const RuntimeLimits& limits, MutantSet mutants = {});

  // PW-2. The new watcher is signalled the container's current state: AWAKE
  // if it is running, ASLEEP if it is suspended right now. The seed signals
  // AWAKE unconditionally; here that would tell a watcher registered during a
  // suspend that the container is awake, and the resume would then send it a
  // second AWAKE: its sequence would not match the container's. With the
  // current state every watcher sees a strictly alternating sequence that
  // matches the truth, so never two ASLEEPs (nor two AWAKEs) in a row.
  // Errors (replied, nothing signalled): AlreadyExists for a watcher id that
  // is registered (signalling it again could repeat ASLEEP),
  // ResourceExhausted beyond max_watchers().
  void OnRegisterWakeWatcher(Instant now,
                             const input::RegisterWakeWatcher& request,
                             ActionList& actions);

  // PW-1, handle-based. Emits WakeSourceAdded, then (if the source is already
  // active and the container suspended) the wake, then the reply. Adding an
  // id that exists replaces it (see WakeSources::AddHandle).
  void OnAddWakeSource(Instant now, const input::AddWakeSource& request,
                       ActionList& actions);
  // PW-1: idempotent; always replies OK, emits WakeSourceRemoved only when
  // the source existed.
  void OnRemoveWakeSource(Instant now, const input::RemoveWakeSource& request,
                          ActionList& actions);

  // PW-1: registers a proxy's counter as a wake source; emits
  // WakeSourceAdded (and the wake, if the counter is already known to be
  // positive during a suspend). Returns the WakeSources error, with no
  // action, if it cannot be registered: the caller must then refuse the
  // proxy, because an unwatched counter would break PW-4.
  absl::Status AddCounterWakeSource(Instant now, CounterId counter,
                                    absl::string_view name,
                                    ActionList& actions);
  // Removes the counter's wake source at once. Idempotent; emits
  // WakeSourceRemoved only when the source existed.
  void RemoveCounterWakeSource(Instant now, CounterId counter,
                               ActionList& actions);
  // PX-4 with PW-4: called when a proxy stops. Messages it wrote into the
  // container may still be unhandled, and removing the source at once would
  // let a suspend through while they are (PW-4). So the source is removed
  // (WakeSourceRemoved) now if the counter's last known value is <= 0, and
  // otherwise it stays registered and active, refusing suspends and waking
  // a pending one, until OnCounterValue reports a value <= 0. Idempotent;
  // nothing happens if the source does not exist. Adding or removing a wake
  // source with the same id ends the retirement.
  void RetireCounterWakeSource(Instant now, CounterId counter,
                               ActionList& actions);
  // RT-2, when host resources are released: the retiring sources are
  // removed at once, in id order, since nothing is left to keep awake.
  void RemoveRetiringWakeSources(Instant now, ActionList& actions);

  // The counter's value after a counter_add completed with OK, or after
  // counter_changed. A positive value during a suspend wakes the container;
  // a value <= 0 removes a retiring source (RetireCounterWakeSource).
  void OnCounterValue(Instant now, CounterId counter, int64_t value,
                      ActionList& actions);
  void OnHandleSignalled(Instant now, const input::HandleSignalled& signalled,
                         ActionList& actions);

  // PW-3. Refuses (FailedPrecondition, nothing changes) when a wake source is
  // active, when a suspend is already in progress, or after Shutdown.
  // Otherwise emits SuspendGuest and ASLEEP to every watcher (in id order)
  // and keeps the request pending until a wake source becomes active.
  void OnSuspendContainer(Instant now, const input::SuspendContainer& request,
                          ActionList& actions);

  // RT-2: resumes a suspended container (ResumeGuest, AWAKE to watchers) and
  // answers the pending suspend with Aborted. Later suspends are refused.
  // Idempotent.
  void Shutdown(Instant now, ActionList& actions);

  bool suspended() const { return suspension_.has_value(); }
  // Whether the counter's source waits for the counter to drain (PX-4).
  bool retiring(CounterId counter) const {
    return retiring_.contains(WakeSourceId{counter.value});
  }
  bool shut_down() const { return shut_down_; }
  size_t max_watchers() const { return max_watchers_; }
  const WakeSources& wake_sources() const { return wake_sources_; }

 private:
  struct Suspension {
    RequestId request;
    Instant suspended_at;
  };

  // PW-3: the active wake source that keeps the container from suspending.
  std::optional<WakeSourceId> SourceBlockingSuspend() const;
  // If suspended and a wake source is active, resumes and answers the
  // pending suspend.
  void WakeIfActive(Instant now, ActionList& actions);
  // ResumeGuest and AWAKE to every watcher; clears the suspension.
  void Resume(ActionList& actions);
  void SignalWatchers(WakeSignal signal, ActionList& actions) const;

  size_t max_watchers_;
  MutantSet mutants_;
  WakeSources wake_sources_;
  absl::btree_set<WatcherId> watchers_;
  // Counter sources of stopped proxies that wait for their counters to
  // drain (PX-4 with PW-4). Always a subset of wake_sources_, so bounded by
  // its limit.
  absl::btree_set<WakeSourceId> retiring_;
  std::optional<Suspension> suspension_;
  bool shut_down_ = false;
};

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_POWER_POWER_MANAGER_H_
