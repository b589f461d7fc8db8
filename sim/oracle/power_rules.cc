#include "sim/oracle/power_rules.h"

#include <optional>
#include <string>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "runtime/model/describe.h"

namespace proctor::sim::oracle_internal {
namespace {

absl::string_view StateWord(bool suspended) {
  return suspended ? "suspended" : "awake";
}

}  // namespace

// ---- The model of wake sources ----

PowerRules::Observation* PowerRules::Observe(uint64_t koid) {
  auto it = observed_.find(koid);
  if (it != observed_.end()) return &it->second;
  if (!judge().HasRoom(observed_.size(), kMaxKoidObservations)) return nullptr;
  return &observed_[koid];
}

bool PowerRules::IsActive(WakeSourceId id,
                          const WakeSourceState& source) const {
  auto it = observed_.find(id.value);
  if (it == observed_.end()) return false;
  return source.counter_based ? it->second.counter_value > 0
                              : (it->second.signals & source.mask) != 0;
}

void PowerRules::Refresh(WakeSourceId koid) {
  auto it = shared().wake_sources.find(koid);
  if (it != shared().wake_sources.end() && IsActive(koid, it->second)) {
    active_.insert(koid);
  } else {
    active_.erase(koid);
  }
}

std::optional<WakeSourceId> PowerRules::FirstActive() const {
  if (active_.empty()) return std::nullopt;
  return *active_.begin();
}

std::string PowerRules::DescribeSource(WakeSourceId id) const {
  const auto& sources = shared().wake_sources;
  auto it = sources.find(id);
  const std::string name = it == sources.end() ? "" : it->second.name;
  return absl::StrCat("wake source '", name, "' (", id.value, ")");
}

bool PowerRules::CannotDrain(WakeSourceId id) const {
  auto source = shared().wake_sources.find(id);
  if (source == shared().wake_sources.end() || !source->second.counter_based) {
    return false;
  }
  auto counter = shared().counters.find(id);
  if (counter == shared().counters.end()) return false;
  const CounterState& state = counter->second;
  return state.container_side_closed && state.value > 0 &&
         state.value <= state.unhandled;
}

// ---- Inputs ----

void PowerRules::OnInput(const Input& input) {
  step_ = StepExpectations{};
  step_.was_suspended = suspended_;

  if (const auto* in = std::get_if<input::CounterAdded>(&input)) {
    if (in->status != ChannelStatus::kOk) return;
    if (Observation* seen = Observe(in->counter.value)) {
      seen->counter_value = in->value;
    }
    Refresh(in->counter);
  } else if (const auto* in = std::get_if<input::CounterChanged>(&input)) {
    if (Observation* seen = Observe(in->counter.value)) {
      seen->counter_value = in->value;
    }
    Refresh(in->counter);
  } else if (const auto* in = std::get_if<input::HandleSignalled>(&input)) {
    if (Observation* seen = Observe(in->handle.value)) {
      seen->signals = in->signals;
    }
    Refresh(in->handle);
  } else if (const auto* in = std::get_if<input::RegisterWakeWatcher>(&input)) {
    step_.register_watcher = {in->request, in->watcher};
  } else if (const auto* in = std::get_if<input::AddWakeSource>(&input)) {
    step_.handle_source = {in->source, in->mask};
  } else if (const auto* in = std::get_if<input::AddProxy>(&input)) {
    step_.counter_source = in->counter;
  } else if (const auto* in = std::get_if<input::RemoveWakeSource>(&input)) {
    judge().Count(Rule::kPw1);
    if (!shared().shutdown_begun &&
        shared().wake_sources.contains(in->source)) {
      step_.removal = in->source;
    }
  } else if (const auto* in = std::get_if<input::SuspendContainer>(&input)) {
    step_.suspend = in->request;
    if (shared().quiet && !quiet_suspend_.has_value()) {
      quiet_suspend_ = in->request;
    }
  }
}

// ---- Actions ----

void PowerRules::OnAction(const Action& action) {
  if (const auto* a = std::get_if<action::WakeSourceAdded>(&action)) {
    auto& sources = shared().wake_sources;
    if (!sources.contains(a->source) &&
        !judge().HasRoom(sources.size(), kMaxWakeSources)) {
      return;
    }
    WakeSourceState source;
    source.name = a->name;
    if (step_.handle_source.has_value() &&
        step_.handle_source->first == a->source) {
      source.counter_based = false;
      source.mask = step_.handle_source->second;
    }
    sources.insert_or_assign(a->source, std::move(source));
    Refresh(a->source);
  } else if (const auto* a = std::get_if<action::WakeSourceRemoved>(&action)) {
    shared().wake_sources.erase(a->source);
    active_.erase(a->source);
    if (step_.removal == a->source) step_.removal.reset();
  } else if (std::holds_alternative<action::SuspendGuest>(action)) {
    OnSuspendGuest();
  } else if (std::holds_alternative<action::ResumeGuest>(action)) {
    OnResumeGuest();
  } else if (const auto* a = std::get_if<action::SignalWatcher>(&action)) {
    OnSignal(*a);
  } else if (const auto* a = std::get_if<action::Reply>(&action)) {
    OnReply(*a);
  }
}

void PowerRules::OnSuspendGuest() {
  judge().Count(Rule::kPw3);
  if (suspended_) {
    judge().Fail(Rule::kPw3,
                 absl::StrCat("suspend_guest while the container is already "
                              "suspended (since ",
                              At(suspended_at_), ")"));
    return;
  }
  if (!step_.suspend.has_value()) {
    judge().Fail(Rule::kPw3, "suspend_guest without a suspend_container");
    return;
  }
  if (std::optional<WakeSourceId> active = FirstActive()) {
    judge().Fail(Rule::kPw3,
                 absl::StrCat("suspend_guest while ", DescribeSource(*active),
                              " is active"));
    return;
  }
  judge().Count(Rule::kPw4);
  for (const auto& [id, source] : shared().wake_sources) {
    if (!source.counter_based) continue;
    auto counter = shared().counters.find(id);
    if (counter != shared().counters.end() && counter->second.value > 0) {
      judge().Fail(
          Rule::kPw4,
          absl::StrCat("suspend_guest while counter ", id.value, " of ",
                       DescribeSource(id), " reads ", counter->second.value));
      return;
    }
  }
  for (const auto& [id, counter] : shared().counters) {
    if (counter.unhandled > 0 && !counter.container_side_closed) {
      judge().Fail(Rule::kPw4,
                   absl::StrCat("suspend_guest while ", counter.unhandled,
                                " messages counted on counter ", id.value,
                                " are in the container unhandled"));
      return;
    }
  }
  suspended_ = true;
  suspended_at_ = now();
  pending_suspend_ = step_.suspend;
  step_.suspended_here = true;
}

void PowerRules::OnResumeGuest() {
  judge().Count(Rule::kPw3);
  if (!suspended_) {
    judge().Fail(Rule::kPw3,
                 "resume_guest while the container is not suspended");
    return;
  }
  if (!shared().shutdown_begun && !FirstActive().has_value()) {
    judge().Fail(Rule::kPw3,
                 absl::StrCat("resume_guest with no active wake source "
                              "(suspended since ",
                              At(suspended_at_), ")"));
    return;
  }
  suspended_ = false;
  resumed_at_ = now();
  step_.resumed_here = true;
}

void PowerRules::OnSignal(const action::SignalWatcher& signal) {
  judge().Count(Rule::kPw2);
  auto it = watchers_.find(signal.watcher);
  if (it == watchers_.end()) {
    if (!judge().HasRoom(watchers_.size(), kMaxWatchers)) return;
    it = watchers_.try_emplace(signal.watcher).first;
  }
  Watcher& watcher = it->second;
  const bool registering = step_.register_watcher.has_value() &&
                           step_.register_watcher->second == signal.watcher &&
                           !watcher.registered;
  const absl::string_view told = WakeSignalName(signal.signal);
  if (registering && !step_.watcher_signalled) {
    const WakeSignal expected =
        suspended_ ? WakeSignal::kAsleep : WakeSignal::kAwake;
    if (signal.signal != expected) {
      judge().Fail(Rule::kPw2,
                   absl::StrCat("watcher ", signal.watcher.value,
                                " was first told ", told,
                                " while the "
                                "container is ",
                                StateWord(suspended_), "; expected ",
                                WakeSignalName(expected)));
      return;
    }
    step_.watcher_signalled = true;
  } else if (!watcher.registered && !registering) {
    judge().Fail(Rule::kPw2, absl::StrCat("signal_watcher ", told,
                                          " to watcher ", signal.watcher.value,
                                          ", which is not registered"));
    return;
  } else if (watcher.last == signal.signal) {
    judge().Fail(Rule::kPw2,
                 absl::StrCat("watcher ", signal.watcher.value, " told ", told,
                              " twice in a row (at ", At(watcher.last_at),
                              " and at ", At(now()), ")"));
    return;
  } else if ((signal.signal == WakeSignal::kAsleep) != suspended_) {
    judge().Fail(
        Rule::kPw2,
        absl::StrCat("watcher ", signal.watcher.value, " told ", told,
                     " while the container is ", StateWord(suspended_)));
    return;
  }
  watcher.last = signal.signal;
  watcher.last_at = now();
}

void PowerRules::OnReply(const action::Reply& reply) {
  if (step_.register_watcher.has_value() &&
      reply.request == step_.register_watcher->first) {
    judge().Count(Rule::kPw2);
    const WatcherId id = step_.register_watcher->second;
    auto it = watchers_.find(id);
    const bool was_registered = it != watchers_.end() && it->second.registered;
    if (reply.status.ok() && !was_registered) {
      if (!step_.watcher_signalled) {
        judge().Fail(Rule::kPw2,
                     absl::StrCat("watcher ", id.value,
                                  " registered without being signalled at "
                                  "once"));
        return;
      }
      if (it != watchers_.end()) it->second.registered = true;
    } else if (!reply.status.ok() && !was_registered) {
      if (step_.watcher_signalled) {
        judge().Fail(Rule::kPw2,
                     absl::StrCat("watcher ", id.value,
                                  " was signalled though its registration "
                                  "was refused: ",
                                  DescribeStatus(reply.status)));
        return;
      }
      if (it != watchers_.end()) watchers_.erase(it);
    }
    return;
  }

  if (pending_suspend_.has_value() && reply.request == *pending_suspend_) {
    judge().Count(Rule::kPw3);
    const RequestId request = *pending_suspend_;
    pending_suspend_.reset();
    if (step_.suspend == request) step_.suspend_answered = true;
    if (!reply.status.ok()) {
      if (!shared().shutdown_begun) {
        judge().Fail(Rule::kPw3,
                     absl::StrCat("suspend request ", request.value,
                                  " answered ", DescribeStatus(reply.status),
                                  " though shutdown has not begun"));
      }
      return;
    }
    if (!step_.resumed_here) {
      judge().Fail(Rule::kPw3,
                   absl::StrCat("suspend request ", request.value,
                                " answered OK before the container was "
                                "resumed"));
      return;
    }
    const auto* result = std::get_if<SuspendResult>(&reply.value);
    if (result == nullptr) {
      judge().Fail(Rule::kPw3,
                   absl::StrCat("suspend request ", request.value,
                                " answered OK without saying what woke it"));
      return;
    }
    if (!active_.contains(result->woken_by)) {
      judge().Fail(
          Rule::kPw3,
          absl::StrCat("suspend request ", request.value,
                       " says it was woken by ", result->woken_by.value,
                       ", which is not an active wake source at ",
                       At(resumed_at_)));
      return;
    }
    const WakeSourceState& source = shared().wake_sources.at(result->woken_by);
    if (result->name != source.name) {
      judge().Fail(
          Rule::kPw3,
          absl::StrCat("suspend request ", request.value, " names its waker '",
                       result->name, "', but ",
                       DescribeSource(result->woken_by), " has another name"));
      return;
    }
    const absl::Duration slept = resumed_at_ - suspended_at_;
    if (result->slept != slept) {
      judge().Fail(
          Rule::kPw3,
          absl::StrCat("suspend request ", request.value, " says it slept ",
                       absl::FormatDuration(result->slept),
                       ", but it was suspended from ", At(suspended_at_),
                       " to ", At(resumed_at_), " (",
                       absl::FormatDuration(slept), ")"));
    }
    return;
  }

  if (step_.suspend.has_value() && reply.request == *step_.suspend) {
    judge().Count(Rule::kPw3);
    step_.suspend_answered = true;
    const RequestId request = *step_.suspend;
    if (reply.status.ok()) {
      judge().Fail(Rule::kPw3, absl::StrCat("suspend_container ", request.value,
                                            " answered OK without suspending"));
      return;
    }
    if (shared().shutdown_begun || step_.was_suspended) return;
    if (!FirstActive().has_value()) {
      judge().Fail(Rule::kPw3,
                   absl::StrCat("suspend_container ", request.value,
                                " refused (", DescribeStatus(reply.status),
                                ") though no wake source is active"));
      return;
    }
    if (quiet_suspend_ == request) {
      // Liveness holds unless a source that could have drained blocks it.
      std::optional<WakeSourceId> blocking;
      for (WakeSourceId id : active_) {
        if (!CannotDrain(id)) {
          blocking = id;
          break;
        }
      }
      if (!blocking.has_value()) return;
      std::string why;
      auto counter = shared().counters.find(*blocking);
      if (shared().wake_sources.at(*blocking).counter_based &&
          counter != shared().counters.end() &&
          counter->second.value > counter->second.unhandled) {
        // The count exceeds the messages in the container: it can never
        // drain, because something was counted that never entered.
        why = absl::StrCat("; counter ", blocking->value, " reads ",
                           counter->second.value, " but only ",
                           counter->second.unhandled,
                           " messages that entered the container are "
                           "unhandled");
      }
      judge().Fail(Rule::kPw3,
                   absl::StrCat("the suspend requested after the faults "
                                "stopped (request ",
                                request.value, ") was refused: ",
                                DescribeStatus(reply.status), why));
    }
  }
}

// ---- End of a step ----

void PowerRules::EndStep() {
  if (step_.removal.has_value()) {
    judge().FailStep(
        Rule::kPw1,
        absl::StrCat("remove_wake_source of registered source ",
                     step_.removal->value, " emitted no wake_source_removed"));
    return;
  }
  if (step_.suspend.has_value() && !step_.suspend_answered &&
      !step_.suspended_here) {
    judge().FailStep(Rule::kPw3,
                     absl::StrCat("suspend_container ", step_.suspend->value,
                                  " neither suspended the container nor was "
                                  "refused"));
    return;
  }
  if (suspended_ && !shared().shutdown_begun) {
    judge().Count(Rule::kPw4);
    if (std::optional<WakeSourceId> active = FirstActive()) {
      const bool counter_based =
          shared().wake_sources.at(*active).counter_based;
      judge().FailStep(counter_based ? Rule::kPw4 : Rule::kPw3,
                       absl::StrCat("the container stayed suspended although ",
                                    DescribeSource(*active), " is active"));
      return;
    }
  }
  if (step_.suspended_here || step_.resumed_here) {
    const WakeSignal expected =
        suspended_ ? WakeSignal::kAsleep : WakeSignal::kAwake;
    for (const auto& [id, watcher] : watchers_) {
      if (!watcher.registered) continue;
      judge().Count(Rule::kPw2);
      if (watcher.last != expected) {
        judge().FailStep(
            Rule::kPw2,
            absl::StrCat("watcher ", id.value, " was not told ",
                         WakeSignalName(expected), " when the container was ",
                         suspended_ ? "suspended" : "resumed"));
        return;
      }
    }
  }
}

}  // namespace proctor::sim::oracle_internal
