// CN-1: fan-out of container events to subscribers. Every subscriber sees
// every event in publication order. Each has a bounded buffer; one that does
// not poll fast enough lags: its oldest events are dropped and counted, and
// its next poll says how many it missed (tokio's broadcast "Lagged"). The
// runtime never waits for a subscriber.
#ifndef PROCTOR_RUNTIME_CONTAINER_EVENT_BUS_H_
#define PROCTOR_RUNTIME_CONTAINER_EVENT_BUS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/model/action.h"
#include "runtime/model/container_types.h"
#include "runtime/model/ids.h"
#include "runtime/model/limits.h"

namespace proctor {

class ContainerEventBus {
 public:
  // Defaults (RuntimeLimits::events_per_subscriber, max_event_subscribers).
  static constexpr size_t kSubscriberCapacity =
      RuntimeLimits{}.events_per_subscriber;
  static constexpr size_t kMaxSubscribers =
      RuntimeLimits{}.max_event_subscribers;

  // `subscriber_capacity` events are held per subscriber (at least 1); at
  // most `max_subscribers` subscribers exist at once.
  explicit ContainerEventBus(size_t subscriber_capacity = kSubscriberCapacity,
                             size_t max_subscribers = kMaxSubscribers);

  // The subscriber sees events published from now on. AlreadyExists for an
  // id in use; ResourceExhausted beyond max_subscribers().
  absl::Status Subscribe(SubscriberId subscriber);
  // NotFound for an unknown id.
  absl::Status Unsubscribe(SubscriberId subscriber);

  void Publish(ContainerId container, const ContainerEvent& event);

  // Up to `max_events` of the oldest held events, and how many were dropped
  // since the last poll (then reset). NotFound for an unknown id.
  absl::StatusOr<EventBatch> Poll(SubscriberId subscriber, uint32_t max_events);

  size_t subscriber_count() const { return subscribers_.size(); }
  size_t subscriber_capacity() const { return capacity_; }
  size_t max_subscribers() const { return max_subscribers_; }

 private:
  struct Subscriber {
    std::deque<std::pair<ContainerId, ContainerEvent>> held;
    uint64_t missed = 0;
  };

  size_t capacity_;
  size_t max_subscribers_;
  absl::btree_map<SubscriberId, Subscriber> subscribers_;
};

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_CONTAINER_EVENT_BUS_H_
