// A value model of counters (CT-1): the simulator's side of the counter a
// proxy increments for every message entering the container (PX-2) and the
// container decrements once it has handled one.
#ifndef PROCTOR_RUNTIME_CHANNEL_COUNTER_H_
#define PROCTOR_RUNTIME_CHANNEL_COUNTER_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "runtime/channel/koid_allocator.h"
#include "runtime/model/channel_types.h"
#include "runtime/model/ids.h"
#include "runtime/model/limits.h"

namespace proctor {

class Counter {
 public:
  explicit Counter(int64_t value = 0) : value_(value) {}

  // OUT_OF_RANGE if value + delta does not fit in int64_t; the value is then
  // unchanged.
  ChannelStatus Add(int64_t delta);
  int64_t value() const { return value_; }
  // POSITIVE if > 0, NON_POSITIVE otherwise: exactly one is asserted.
  Signals signals() const;

 private:
  int64_t value_;
};

// Counters keyed by koid, for a simulator that executes counter_add actions.
class CounterTable {
 public:
  // The default bound on live counters (RuntimeLimits::max_counters).
  static constexpr size_t kMaxCounters = RuntimeLimits{}.max_counters;

  // Allocates koids from the table's own counter, from first_koid.
  explicit CounterTable(uint64_t first_koid = 1);
  // Allocates koids from `koids` (not owned; must outlive the table and its
  // copies), e.g. the one a ChannelTable uses.
  explicit CounterTable(KoidAllocator* koids);
  // The same with an explicit capacity instead of kMaxCounters.
  CounterTable(uint64_t first_koid, size_t max_counters);
  CounterTable(KoidAllocator* koids, size_t max_counters);

  // ResourceExhausted beyond max_counters() live counters.
  absl::StatusOr<CounterId> Create(int64_t initial = 0);
  // BAD_HANDLE for an unknown or closed counter; otherwise as Counter::Add.
  // *value_after (if given) receives the value after the call whenever the
  // counter exists, changed or not.
  ChannelStatus Add(CounterId counter, int64_t delta,
                    int64_t* value_after = nullptr);
  std::optional<int64_t> Value(CounterId counter) const;
  // NONE for an unknown or closed counter.
  Signals SignalsOf(CounterId counter) const;
  // Closing an unknown or closed counter does nothing.
  void Close(CounterId counter);
  size_t size() const { return counters_.size(); }
  size_t max_counters() const { return max_counters_; }

 private:
  CounterId AllocateKoid();

  KoidAllocator own_koids_;
  KoidAllocator* shared_koids_ = nullptr;
  size_t max_counters_ = kMaxCounters;
  absl::btree_map<CounterId, Counter> counters_;
};

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_CHANNEL_COUNTER_H_
