#include "runtime/power/wake_sources.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/model/check.h"

namespace proctor {

absl::string_view WakeSourceKindName(WakeSourceKind kind) {
  return kind == WakeSourceKind::kCounter ? "counter" : "handle";
}

WakeSources::WakeSources(const RuntimeLimits& limits)
    : max_wake_sources_(limits.max_wake_sources),
      max_unregistered_observations_(limits.max_unregistered_observations) {}

absl::Status WakeSources::AddCounter(CounterId counter,
                                     absl::string_view name) {
  return Add(WakeSourceId{counter.value}, WakeSourceKind::kCounter, name,
             kSignalNone);
}

absl::Status WakeSources::AddHandle(HandleId handle, absl::string_view name,
                                    Signals mask) {
  return Add(WakeSourceId{handle.value}, WakeSourceKind::kHandle, name, mask);
}

absl::Status WakeSources::Add(WakeSourceId id, WakeSourceKind kind,
                              absl::string_view name, Signals mask) {
  if (name.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("PW-1: wake source name is ", name.size(),
                     " bytes; the limit is ", kMaxNameBytes));
  }
  auto it = sources_.find(id);
  if (it == sources_.end()) {
    if (sources_.size() >= max_wake_sources_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "PW-1: too many wake sources (limit ", max_wake_sources_, ")"));
    }
    Entry entry;
    if (auto seen = unregistered_.find(id); seen != unregistered_.end()) {
      entry.last = seen->second;
      unregistered_.erase(seen);
    }
    it = sources_.emplace(id, std::move(entry)).first;
  }
  it->second.source =
      WakeSource{kind, std::string(name),
                 kind == WakeSourceKind::kHandle ? mask : kSignalNone};
  Refresh(id);
  return absl::OkStatus();
}

bool WakeSources::Remove(WakeSourceId id) {
  auto it = sources_.find(id);
  if (it == sources_.end()) return false;
  const Observation last = it->second.last;
  sources_.erase(it);
  active_.erase(id);
  // Best effort: if there is no room the koid is simply forgotten, which
  // only matters if it is added again before it is observed again.
  if (!last.IsIdle() && unregistered_.size() < max_unregistered_observations_) {
    unregistered_.emplace(id, last);
  }
  return true;
}

absl::Status WakeSources::SetCounterValue(CounterId counter, int64_t value) {
  return Observe(WakeSourceId{counter.value},
                 [value](Observation& seen) { seen.counter_value = value; });
}

absl::Status WakeSources::SetHandleSignals(HandleId handle, Signals signals) {
  return Observe(WakeSourceId{handle.value},
                 [signals](Observation& seen) { seen.signals = signals; });
}

absl::Status WakeSources::Observe(
    WakeSourceId koid, absl::FunctionRef<void(Observation&)> update) {
  if (auto it = sources_.find(koid); it != sources_.end()) {
    update(it->second.last);
    Refresh(koid);
    return absl::OkStatus();
  }
  auto it = unregistered_.find(koid);
  Observation seen = it == unregistered_.end() ? Observation{} : it->second;
  update(seen);
  if (seen.IsIdle()) {
    if (it != unregistered_.end()) unregistered_.erase(it);
    return absl::OkStatus();
  }
  if (it != unregistered_.end()) {
    it->second = seen;
    return absl::OkStatus();
  }
  if (unregistered_.size() >= max_unregistered_observations_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "PW-1: too many unregistered kernel objects observed active (limit ",
        max_unregistered_observations_, ")"));
  }
  unregistered_.emplace(koid, seen);
  return absl::OkStatus();
}

bool WakeSources::IsEntryActive(const Entry& entry) {
  switch (entry.source.kind) {
    case WakeSourceKind::kCounter:
      return entry.last.counter_value > 0;
    case WakeSourceKind::kHandle:
      return (entry.last.signals & entry.source.mask) != kSignalNone;
  }
  return false;
}

void WakeSources::Refresh(WakeSourceId id) {
  auto it = sources_.find(id);
  if (it == sources_.end()) {
    PROCTOR_CHECK(!active_.contains(id));
    return;
  }
  if (IsEntryActive(it->second)) {
    active_.insert(id);
  } else {
    active_.erase(id);
  }
}

std::optional<WakeSourceId> WakeSources::FirstActive() const {
  if (active_.empty()) return std::nullopt;
  return *active_.begin();
}

std::optional<WakeSourceId> WakeSources::FirstActiveOfKind(
    WakeSourceKind kind) const {
  for (WakeSourceId id : active_) {
    if (sources_.at(id).source.kind == kind) return id;
  }
  return std::nullopt;
}

bool WakeSources::IsActive(WakeSourceId id) const {
  return active_.contains(id);
}

bool WakeSources::Contains(WakeSourceId id) const {
  return sources_.contains(id);
}

const WakeSource* WakeSources::Find(WakeSourceId id) const {
  auto it = sources_.find(id);
  return it == sources_.end() ? nullptr : &it->second.source;
}

absl::string_view WakeSources::Name(WakeSourceId id) const {
  const WakeSource* source = Find(id);
  return source == nullptr ? absl::string_view() : source->name;
}

}  // namespace proctor
