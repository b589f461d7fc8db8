// PW-1..PW-4 judged from the stream: the oracle keeps its own view of the
// wake sources (registered by wake_source_added, observed through
// counter_added, counter_changed and handle_signalled, as the runtime sees
// them), of whether the container is suspended, and of what each wake
// watcher was told, and checks every suspend, resume and signal against it.
#ifndef PROCTOR_SIM_ORACLE_POWER_RULES_H_
#define PROCTOR_SIM_ORACLE_POWER_RULES_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "runtime/model/channel_types.h"
#include "runtime/model/ids.h"
#include "sim/oracle/internal/judge.h"

namespace proctor::sim::oracle_internal {

class PowerRules final : public RuleSet {
 public:
  using RuleSet::RuleSet;
  void OnInput(const Input& input) override;
  void OnAction(const Action& action) override;
  void EndStep() override;

 private:
  // What the runtime has been told about one koid, registered or not
  // (spec "Project additions", PW-1: observations made before a source is
  // registered count once it is).
  struct Observation {
    int64_t counter_value = 0;
    Signals signals = kSignalNone;
  };
  struct Watcher {
    bool registered = false;
    std::optional<WakeSignal> last;
    Instant last_at;
  };
  struct StepExpectations {
    // register_wake_watcher: the watcher and whether it was signalled.
    std::optional<std::pair<RequestId, WatcherId>> register_watcher;
    bool watcher_signalled = false;
    // add_wake_source's mask, or add_proxy's counter: the kind of a
    // wake_source_added in this step.
    std::optional<std::pair<WakeSourceId, Signals>> handle_source;
    std::optional<WakeSourceId> counter_source;
    // remove_wake_source of a registered source: its removal must follow.
    std::optional<WakeSourceId> removal;
    std::optional<RequestId> suspend;  // suspend_container of this step
    bool suspend_answered = false;
    bool suspended_here = false;
    bool resumed_here = false;
    bool was_suspended = false;  // when the step began
  };

  Observation* Observe(uint64_t koid);
  bool IsActive(WakeSourceId id, const WakeSourceState& source) const;
  // The lowest active registered source, if any.
  std::optional<WakeSourceId> FirstActive() const;
  // Re-evaluates whether `koid` is an active registered source.
  void Refresh(WakeSourceId koid);
  std::string DescribeSource(WakeSourceId id) const;
  // A counter-based source whose counter can never drain: every count on it
  // is a message lost with the container's closed end. PX-4 with PW-4 keeps
  // such a source, so it may hold the container awake for good.
  bool CannotDrain(WakeSourceId id) const;

  void OnSuspendGuest();
  void OnResumeGuest();
  void OnSignal(const action::SignalWatcher& signal);
  void OnReply(const action::Reply& reply);

  absl::flat_hash_map<uint64_t, Observation> observed_;
  // Registered sources that are active now, lowest id first.
  absl::btree_set<WakeSourceId> active_;
  absl::btree_map<WatcherId, Watcher> watchers_;
  bool suspended_ = false;
  Instant suspended_at_;
  Instant resumed_at_;
  // The suspend_container request that suspended the container, until its
  // reply.
  std::optional<RequestId> pending_suspend_;
  // The first suspend_container after the faults stopped (liveness).
  std::optional<RequestId> quiet_suspend_;
  StepExpectations step_;
};

}  // namespace proctor::sim::oracle_internal

#endif  // PROCTOR_SIM_ORACLE_POWER_RULES_H_
