#include "runtime/channel/counter.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/model/check.h"

namespace proctor {

ChannelStatus Counter::Add(int64_t delta) {
  int64_t sum = 0;
  if (__builtin_add_overflow(value_, delta, &sum)) {
    return ChannelStatus::kOutOfRange;
  }
  value_ = sum;
  return ChannelStatus::kOk;
}

Signals Counter::signals() const {
  return value_ > 0 ? kSignalPositive : kSignalNonPositive;
}

CounterTable::CounterTable(uint64_t first_koid) : own_koids_(first_koid) {}

CounterTable::CounterTable(KoidAllocator* koids) : shared_koids_(koids) {
  PROCTOR_CHECK(koids != nullptr);
}

CounterTable::CounterTable(uint64_t first_koid, size_t max_counters)
    : own_koids_(first_koid), max_counters_(max_counters) {}

CounterTable::CounterTable(KoidAllocator* koids, size_t max_counters)
    : shared_koids_(koids), max_counters_(max_counters) {
  PROCTOR_CHECK(koids != nullptr);
}

CounterId CounterTable::AllocateKoid() {
  return CounterId{shared_koids_ != nullptr ? shared_koids_->Next()
                                            : own_koids_.Next()};
}

absl::StatusOr<CounterId> CounterTable::Create(int64_t initial) {
  if (counters_.size() >= max_counters_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "counter table is full: ", max_counters_, " counters are live"));
  }
  const CounterId id = AllocateKoid();
  PROCTOR_CHECK(!counters_.contains(id));
  counters_.emplace(id, Counter(initial));
  return id;
}

ChannelStatus CounterTable::Add(CounterId counter, int64_t delta,
                                int64_t* value_after) {
  auto it = counters_.find(counter);
  if (it == counters_.end()) return ChannelStatus::kBadHandle;
  const ChannelStatus status = it->second.Add(delta);
  if (value_after != nullptr) *value_after = it->second.value();
  return status;
}

std::optional<int64_t> CounterTable::Value(CounterId counter) const {
  auto it = counters_.find(counter);
  if (it == counters_.end()) return std::nullopt;
  return it->second.value();
}

Signals CounterTable::SignalsOf(CounterId counter) const {
  auto it = counters_.find(counter);
  return it == counters_.end() ? kSignalNone : it->second.signals();
}

void CounterTable::Close(CounterId counter) { counters_.erase(counter); }

}  // namespace proctor
