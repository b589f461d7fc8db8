// CN-7: host ports for a container's stdio, socket relays and copies. Ports
// are handed out upward from a start value and never reused, so a port that a
// guest may still be dialling can never be given to a second listener.
#ifndef PROCTOR_RUNTIME_CONTAINER_PORT_ALLOCATOR_H_
#define PROCTOR_RUNTIME_CONTAINER_PORT_ALLOCATOR_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "runtime/model/mutants.h"

namespace proctor {

class PortAllocator {
 public:
  // Ports `start`..`end_inclusive`; start > end_inclusive is an empty range
  // (every Allocate fails). `mutants` may switch on ports-wrap-around.
  PortAllocator(uint32_t start, uint32_t end_inclusive, MutantSet mutants = {});

  // The next port, or ResourceExhausted "CN-7: port range exhausted" once the
  // range is used up, and on every call after that: never a wrap-around.
  absl::StatusOr<uint32_t> Allocate();

  // How many ports Allocate can still hand out.
  uint64_t remaining() const;

 private:
  // 64-bit so that the range may end at UINT32_MAX without overflow.
  uint64_t start_;
  uint64_t next_;
  uint64_t end_inclusive_;
  MutantSet mutants_;
};

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_CONTAINER_PORT_ALLOCATOR_H_
