#include "runtime/container/port_allocator.h"

#include "absl/status/status.h"

namespace proctor {

PortAllocator::PortAllocator(uint32_t start, uint32_t end_inclusive,
                             MutantSet mutants)
    : start_(start),
      next_(start),
      end_inclusive_(end_inclusive),
      mutants_(mutants) {}

absl::StatusOr<uint32_t> PortAllocator::Allocate() {
  if (next_ > end_inclusive_ && mutants_.Has(Mutant::kPortsWrapAround) &&
      start_ <= end_inclusive_) [[unlikely]] {
    // Mutant ports-wrap-around: start over and hand out used ports again.
    next_ = start_;
  }
  if (next_ > end_inclusive_) {
    return absl::ResourceExhaustedError("CN-7: port range exhausted");
  }
  const auto port = static_cast<uint32_t>(next_);
  ++next_;
  return port;
}

uint64_t PortAllocator::remaining() const {
  return next_ > end_inclusive_ ? 0 : end_inclusive_ - next_ + 1;
}

}  // namespace proctor
