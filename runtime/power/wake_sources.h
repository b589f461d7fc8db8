// The set of wake sources (PW-1): the things whose activity keeps the
// container awake or wakes it from suspension. A pure data structure; the
// suspend controller (power_manager.h) decides what to do when one is active.
//
// Sources are keyed by the koid of what they watch: a proxy's counter
// (counter-based) or any waitable handle with a signal mask (handle-based).
// The set also remembers the last value and signals observed for every koid
// it has been told about, including koids that are not (or not yet) wake
// sources, so that a source registered after its counter went positive is
// active at once. Forgetting that value would open PW-4's window: a message
// queued for the container, the counter known to nobody, and a suspend that
// succeeds.
#ifndef PROCTOR_RUNTIME_POWER_WAKE_SOURCES_H_
#define PROCTOR_RUNTIME_POWER_WAKE_SOURCES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "runtime/model/channel_types.h"
#include "runtime/model/ids.h"
#include "runtime/model/limits.h"

namespace proctor {

enum class WakeSourceKind : uint8_t {
  kCounter,  // active while the counter's last known value is > 0
  kHandle,   // active while any signal of the mask is asserted
};

absl::string_view WakeSourceKindName(WakeSourceKind kind);

struct WakeSource {
  WakeSourceKind kind = WakeSourceKind::kCounter;
  std::string name;
  Signals mask = kSignalNone;  // handle-based sources only
};

namespace power_internal {
// What was last observed about one koid. Both halves are kept because a koid
// may be watched either way (a counter also asserts POSITIVE). At namespace
// scope because a nested class's default member initializers are not usable
// by the enclosing class's containers.
struct Observation {
  int64_t counter_value = 0;
  Signals signals = kSignalNone;
  bool IsIdle() const { return counter_value <= 0 && signals == kSignalNone; }
};
struct WakeSourceEntry {
  WakeSource source;
  Observation last;
};
}  // namespace power_internal

class WakeSources {
 public:
  // Bounds on what grows from client input. The counts are defaults
  // (RuntimeLimits); the name bound is part of the contract.
  static constexpr size_t kMaxWakeSources = RuntimeLimits{}.max_wake_sources;
  static constexpr size_t kMaxNameBytes = 1024;
  // Koids that are not wake sources but were observed active (counter > 0 or
  // some signal asserted). Inactive observations of such koids take no room:
  // "never observed" and "observed inactive" mean the same thing.
  static constexpr size_t kMaxUnregisteredObservations =
      RuntimeLimits{}.max_unregistered_observations;

  WakeSources() : WakeSources(RuntimeLimits{}) {}
  // Uses limits.max_wake_sources and limits.max_unregistered_observations.
  explicit WakeSources(const RuntimeLimits& limits);

  // Registers a counter-based source keyed by the counter's koid. Adding an
  // id that is already present replaces the source (kind, name and mask), as
  // the seed's HashMap insert does; the last observation of the koid is kept
  // because it is still the same kernel object.
  // Errors: InvalidArgument if the name is too long, ResourceExhausted if the
  // set is full and `counter` is not already present.
  absl::Status AddCounter(CounterId counter, absl::string_view name);
  // Registers a handle-based source; same replacement rule and errors.
  absl::Status AddHandle(HandleId handle, absl::string_view name, Signals mask);
  // Idempotent. Returns whether the source existed. The koid's last
  // observation is remembered (if there is room) in case it is added again.
  bool Remove(WakeSourceId id);

  // Last known state of a kernel object, registered or not.
  // Errors: ResourceExhausted when `counter` is not a wake source, the value
  // is positive and max_unregistered_observations active unregistered koids
  // are already remembered; the observation is then dropped.
  absl::Status SetCounterValue(CounterId counter, int64_t value);
  absl::Status SetHandleSignals(HandleId handle, Signals signals);

  // The lowest id among the active sources.
  std::optional<WakeSourceId> FirstActive() const;
  // The lowest id among the active sources of `kind`. Linear in the number
  // of active sources; only the suspend-ignores-counters mutant needs it.
  std::optional<WakeSourceId> FirstActiveOfKind(WakeSourceKind kind) const;
  bool IsActive(WakeSourceId id) const;
  bool Contains(WakeSourceId id) const;
  // nullptr if there is no such source.
  const WakeSource* Find(WakeSourceId id) const;
  // The source's name; empty if there is no such source.
  absl::string_view Name(WakeSourceId id) const;
  size_t size() const { return sources_.size(); }
  size_t max_wake_sources() const { return max_wake_sources_; }
  size_t max_unregistered_observations() const {
    return max_unregistered_observations_;
  }

 private:
  using Observation = power_internal::Observation;
  using Entry = power_internal::WakeSourceEntry;

  absl::Status Add(WakeSourceId id, WakeSourceKind kind, absl::string_view name,
                   Signals mask);
  // Applies `update` to what is known about `koid`; see SetCounterValue.
  absl::Status Observe(WakeSourceId koid,
                       absl::FunctionRef<void(Observation&)> update);
  static bool IsEntryActive(const Entry& entry);
  void Refresh(WakeSourceId id);

  size_t max_wake_sources_;
  size_t max_unregistered_observations_;
  absl::btree_map<WakeSourceId, Entry> sources_;
  // Active observations of koids that are not wake sources.
  absl::btree_map<WakeSourceId, Observation> unregistered_;
  // The ids in sources_ that are active, so FirstActive is its first element.
  absl::btree_set<WakeSourceId> active_;
};

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_POWER_WAKE_SOURCES_H_
