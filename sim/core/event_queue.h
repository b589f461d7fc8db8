// The simulator's agenda: events ordered by virtual time, ties broken by the
// order in which they were scheduled, so a run is a pure function of its
// seed. Bounded: scheduling beyond the capacity is a bug in the world (an
// event storm), reported by the caller as a failure rather than growing
// without limit.
#ifndef PROCTOR_SIM_CORE_EVENT_QUEUE_H_
#define PROCTOR_SIM_CORE_EVENT_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "runtime/model/check.h"
#include "runtime/model/time.h"

namespace proctor::sim {

template <typename Payload>
class EventQueue {
 public:
  struct Entry {
    Instant at;
    uint64_t seq;  // scheduling order: the tie-breaker
    Payload payload;
  };

  explicit EventQueue(size_t capacity) : capacity_(capacity) {
    heap_.reserve(capacity < 4096 ? capacity : 4096);
  }

  // False when the queue is full (nothing is scheduled).
  bool Push(Instant at, Payload payload) {
    if (heap_.size() >= capacity_) return false;
    heap_.push_back(Entry{at, next_seq_++, std::move(payload)});
    SiftUp(heap_.size() - 1);
    return true;
  }

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  size_t capacity() const { return capacity_; }
  const Entry& top() const {
    PROCTOR_CHECK(!heap_.empty());
    return heap_.front();
  }

  Entry Pop() {
    PROCTOR_CHECK(!heap_.empty());
    Entry out = std::move(heap_.front());
    heap_.front() = std::move(heap_.back());
    heap_.pop_back();
    if (!heap_.empty()) SiftDown(0);
    return out;
  }

 private:
  static bool Before(const Entry& a, const Entry& b) {
    return a.at < b.at || (a.at == b.at && a.seq < b.seq);
  }
  void SiftUp(size_t i) {
    while (i > 0) {
      size_t parent = (i - 1) / 2;
      if (!Before(heap_[i], heap_[parent])) break;
      std::swap(heap_[i], heap_[parent]);
      i = parent;
    }
  }
  void SiftDown(size_t i) {
    const size_t n = heap_.size();
    for (;;) {
      size_t best = i;
      const size_t l = 2 * i + 1, r = l + 1;
      if (l < n && Before(heap_[l], heap_[best])) best = l;
      if (r < n && Before(heap_[r], heap_[best])) best = r;
      if (best == i) return;
      std::swap(heap_[i], heap_[best]);
      i = best;
    }
  }

  size_t capacity_;
  uint64_t next_seq_ = 0;
  std::vector<Entry> heap_;
};

}  // namespace proctor::sim

#endif  // PROCTOR_SIM_CORE_EVENT_QUEUE_H_
