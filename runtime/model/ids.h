// Identifiers of the things a supervisor manages. Each kind of id is its own
// type so that a container id can never be passed where a cid is expected;
// all are plain integers so that traces and the conformance protocol can
// carry them without a lookup table.
#ifndef PROCTOR_RUNTIME_MODEL_IDS_H_
#define PROCTOR_RUNTIME_MODEL_IDS_H_

#include <compare>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace proctor {

template <typename Tag, typename Rep = uint64_t>
struct StrongId {
  using rep_type = Rep;
  Rep value = 0;

  friend auto operator<=>(const StrongId&, const StrongId&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const StrongId& id) {
    return H::combine(std::move(h), id.value);
  }
  friend std::string ToString(const StrongId& id) {
    return absl::StrCat(id.value);
  }
};

// vsock context id of a VM (VM-1): at least 3, unique among live VMs.
using Cid = StrongId<struct CidTag, uint32_t>;
// A request from a client of the supervisor; every request gets one reply.
using RequestId = StrongId<struct RequestTag>;
using ContainerId = StrongId<struct ContainerTag>;
using ProxyId = StrongId<struct ProxyTag>;
// Kernel-object ids ("koids"): endpoints, counters and other waitable
// handles share one id space, as on Zircon, so a wake source can be keyed by
// the koid of its counter or handle without collisions.
using EndpointId = StrongId<struct KoidTag>;
using CounterId = StrongId<struct KoidTag>;
using HandleId = StrongId<struct KoidTag>;
using WakeSourceId = StrongId<struct KoidTag>;
using WatcherId = StrongId<struct WatcherTag>;
using SubscriberId = StrongId<struct SubscriberTag>;

// The lowest cid a guest may use: 0..2 are reserved by vsock.
inline constexpr uint32_t kMinGuestCid = 3;

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_MODEL_IDS_H_
