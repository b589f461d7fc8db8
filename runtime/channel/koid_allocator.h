// Kernel-object ids for the value models of channels and counters. On Zircon
// endpoints and counters share one koid space; a simulator that keeps its
// channels and counters in separate tables shares one KoidAllocator between
// them so that a wake source keyed by koid never collides.
#ifndef PROCTOR_RUNTIME_CHANNEL_KOID_ALLOCATOR_H_
#define PROCTOR_RUNTIME_CHANNEL_KOID_ALLOCATOR_H_

#include <cstdint>
#include <limits>

#include "runtime/model/check.h"

namespace proctor {

class KoidAllocator {
 public:
  // Koid 0 is ZX_KOID_INVALID on Zircon, hence the default base of 1.
  explicit KoidAllocator(uint64_t first = 1) : next_(first) {}

  uint64_t Next() {
    // 2^64 allocations cannot happen in a run; wrapping would reuse koids.
    PROCTOR_CHECK(next_ != std::numeric_limits<uint64_t>::max());
    return next_++;
  }
  // The koid the next call to Next() returns.
  uint64_t peek() const { return next_; }

 private:
  uint64_t next_;
};

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_CHANNEL_KOID_ALLOCATOR_H_
