#include "runtime/container/event_bus.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "runtime/model/check.h"

namespace proctor {

ContainerEventBus::ContainerEventBus(size_t subscriber_capacity,
                                     size_t max_subscribers)
    : capacity_(subscriber_capacity), max_subscribers_(max_subscribers) {
  PROCTOR_CHECK(capacity_ >= 1);
}

absl::Status ContainerEventBus::Subscribe(SubscriberId subscriber) {
  if (subscribers_.contains(subscriber)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "CN-1: subscriber ", subscriber.value, " is already subscribed"));
  }
  if (subscribers_.size() >= max_subscribers_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "CN-1: too many subscribers (max ", max_subscribers_, ")"));
  }
  subscribers_.emplace(subscriber, Subscriber{});
  return absl::OkStatus();
}

absl::Status ContainerEventBus::Unsubscribe(SubscriberId subscriber) {
  if (subscribers_.erase(subscriber) == 0) {
    return absl::NotFoundError(
        absl::StrCat("CN-1: no subscriber ", subscriber.value));
  }
  return absl::OkStatus();
}

void ContainerEventBus::Publish(ContainerId container,
                                const ContainerEvent& event) {
  for (auto& [id, subscriber] : subscribers_) {
    if (subscriber.held.size() == capacity_) {
      subscriber.held.pop_front();
      ++subscriber.missed;
    }
    subscriber.held.emplace_back(container, event);
    PROCTOR_CHECK(subscriber.held.size() <= capacity_);
  }
}

absl::StatusOr<EventBatch> ContainerEventBus::Poll(SubscriberId subscriber,
                                                   uint32_t max_events) {
  auto it = subscribers_.find(subscriber);
  if (it == subscribers_.end()) {
    return absl::NotFoundError(
        absl::StrCat("CN-1: no subscriber ", subscriber.value));
  }
  Subscriber& s = it->second;
  EventBatch batch;
  batch.missed = s.missed;
  s.missed = 0;
  const size_t count = std::min<size_t>(max_events, s.held.size());
  batch.events.assign(s.held.begin(), s.held.begin() + count);
  s.held.erase(s.held.begin(), s.held.begin() + count);
  return batch;
}

}  // namespace proctor
