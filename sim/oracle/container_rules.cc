#include "sim/oracle/container_rules.h"

#include <algorithm>
#include <variant>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/model/describe.h"

namespace proctor::sim::oracle_internal {
namespace {

// CN-4: the grace of a stop that does not name one, and of a shutdown.
constexpr absl::Duration kDefaultGrace = absl::Seconds(10);
// How much of an untrusted path a message shows.
constexpr size_t kShownPathBytes = 64;

std::string ShowPath(absl::string_view path) {
  return absl::StrCat("\"", absl::CHexEscape(path.substr(0, kShownPathBytes)),
                      path.size() > kShownPathBytes ? "...\"" : "\"");
}

absl::string_view LifeName(bool known, int life) {
  if (!known) return "not installed";
  switch (life) {
    case 0:
      return "installed";
    case 1:
      return "started";
    default:
      return "exited";
  }
}

std::string DescribeEvent(ContainerId id, const ContainerEvent& event) {
  return absl::StrCat("container ", id.value, " ",
                      DescribeContainerEvent(event));
}

}  // namespace

bool HasDotDotComponent(absl::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  for (absl::string_view component : absl::StrSplit(path, '/')) {
    if (component == "..") return true;
  }
  return false;
}

ContainerRules::Container* ContainerRules::Find(ContainerId id) {
  auto it = containers_.find(id);
  return it == containers_.end() ? nullptr : &it->second;
}

void ContainerRules::EndGrace(ContainerId id, Container& container) {
  if (!container.grace_deadline.has_value()) return;
  grace_deadlines_.erase({*container.grace_deadline, id});
  container.grace_deadline.reset();
}

void ContainerRules::CheckGraceDeadlines() {
  if (grace_deadlines_.empty()) return;
  judge().Count(Rule::kCn4);
  const auto [deadline, id] = *grace_deadlines_.begin();
  if (deadline + judge().options().timer_slack >= now()) return;
  judge().Fail(Rule::kCn4,
               absl::StrCat("container ", id.value,
                            " was still running at "
                            "the end of its grace ",
                            At(deadline), " (stop began at ",
                            At(containers_.at(id).stop_began),
                            "), expected SIGKILL then; none by ", At(now())));
}

// ---- Inputs ----

void ContainerRules::OnInput(const Input& input) {
  step_ = StepExpectations{};
  CheckGraceDeadlines();
  if (judge().failed()) return;

  auto track = [&](RequestId request, ContainerId id, RequestKind kind) {
    if (Find(id) == nullptr ||
        !judge().HasRoom(requests_.size(), kMaxOutstandingRequests)) {
      return false;
    }
    return requests_.try_emplace(request, PendingRequest{id, kind}).second;
  };

  if (const auto* in = std::get_if<input::InstallContainer>(&input)) {
    step_.install =
        StepExpectations::Install{in->request, in->container, in->spec};
  } else if (const auto* in = std::get_if<input::StartContainer>(&input)) {
    Container* container = Find(in->container);
    if (container == nullptr ||
        !track(in->request, in->container, RequestKind::kStart)) {
      return;
    }
    if (!container->starting && container->life == Life::kInstalled &&
        !shared().shutdown_begun) {
      // A new run: what CN-3 allows once starts over.
      EndGrace(in->container, *container);
      container->starting = true;
      container->start_process_sent = false;
      container->exit.reset();
      container->stopping_at_exit = false;
      container->wait_process = 0;
      container->stop_socket_relays = 0;
      container->delete_process = 0;
      container->stop_vm = 0;
    }
  } else if (const auto* in = std::get_if<input::WaitContainer>(&input)) {
    Container* container = Find(in->container);
    if (container == nullptr ||
        !track(in->request, in->container, RequestKind::kWait)) {
      return;
    }
    ++container->pending_waits;
    step_.wait_or_stop = StepExpectations::WaitOrStop{
        in->request, in->container, RequestKind::kWait, absl::ZeroDuration(),
        container->exit.has_value()};
  } else if (const auto* in = std::get_if<input::StopContainer>(&input)) {
    Container* container = Find(in->container);
    if (container == nullptr ||
        !track(in->request, in->container, RequestKind::kStop)) {
      return;
    }
    ++container->pending_stops;
    step_.wait_or_stop = StepExpectations::WaitOrStop{
        in->request, in->container, RequestKind::kStop,
        in->grace.value_or(kDefaultGrace), container->exit.has_value()};
  } else if (const auto* in = std::get_if<input::KillContainer>(&input)) {
    step_.kill = {in->container, in->signal};
  } else if (const auto* in = std::get_if<input::CopyFile>(&input)) {
    step_.copy = StepExpectations::Copy{in->request, in->container,
                                        HasDotDotComponent(in->guest_path)};
  } else if (const auto* in = std::get_if<input::ContainerExited>(&input)) {
    Container* container = Find(in->container);
    if (container == nullptr || !container->start_process_sent ||
        container->exit.has_value()) {
      return;
    }
    container->exit = in->status;
    container->exited_at = now();
    container->stopping_at_exit = container->grace_deadline.has_value();
    EndGrace(in->container, *container);
    if (container->life == Life::kStarted) step_.exit_now = in->container;
  } else if (const auto* in = std::get_if<input::ProcessStarted>(&input)) {
    // An exit that overtook process_started is applied now.
    const Container* container = Find(in->container);
    if (container != nullptr && container->exit.has_value() &&
        container->life == Life::kInstalled) {
      step_.exit_now = in->container;
    }
  } else if (const auto* in = std::get_if<input::SubscribeEvents>(&input)) {
    step_.subscription = StepExpectations::Subscription{
        in->request, in->subscriber, SubscriptionOp::kSubscribe};
  } else if (const auto* in = std::get_if<input::PollEvents>(&input)) {
    step_.subscription = StepExpectations::Subscription{
        in->request, in->subscriber, SubscriptionOp::kPoll, in->max_events};
  } else if (const auto* in = std::get_if<input::UnsubscribeEvents>(&input)) {
    step_.subscription = StepExpectations::Subscription{
        in->request, in->subscriber, SubscriptionOp::kUnsubscribe};
  } else if (std::holds_alternative<input::Shutdown>(input)) {
    step_.shutdown = true;
  }
}

// ---- Actions ----

void ContainerRules::OnAction(const Action& action) {
  if (const auto* a = std::get_if<action::EmitContainerEvent>(&action)) {
    OnEvent(*a);
  } else if (const auto* a = std::get_if<action::StartSocketRelay>(&action)) {
    OnPort(a->container, a->port, "start_socket_relay");
  } else if (const auto* a = std::get_if<action::StartTransfer>(&action)) {
    judge().Count(Rule::kCn8);
    if (step_.copy.has_value() && step_.copy->dot_dot) {
      judge().Fail(
          Rule::kCn8,
          absl::StrCat("start_transfer for container ", a->container.value,
                       " for a copy_file whose guest path has a "
                       "'..' component"));
      return;
    }
    if (HasDotDotComponent(a->path)) {
      judge().Fail(Rule::kCn8, absl::StrCat("start_transfer for container ",
                                            a->container.value, " with path ",
                                            ShowPath(a->path),
                                            ", which has a '..' component"));
      return;
    }
    OnPort(a->container, a->port, "start_transfer");
  } else if (const auto* a = std::get_if<action::StartProcess>(&action)) {
    if (Container* container = Find(a->container)) {
      container->start_process_sent = true;
    }
  } else if (const auto* a = std::get_if<action::SignalContainer>(&action)) {
    OnSignal(*a);
  } else if (const auto* a = std::get_if<action::WaitProcess>(&action)) {
    OnOncePerRun(a->container, &Container::wait_process, "wait_process");
  } else if (const auto* a = std::get_if<action::StopSocketRelays>(&action)) {
    OnOncePerRun(a->container, &Container::stop_socket_relays,
                 "stop_socket_relays");
  } else if (const auto* a = std::get_if<action::DeleteProcess>(&action)) {
    OnOncePerRun(a->container, &Container::delete_process, "delete_process");
  } else if (const auto* a = std::get_if<action::StopVm>(&action)) {
    OnOncePerRun(a->container, &Container::stop_vm, "stop_vm");
  } else if (const auto* a = std::get_if<action::Reply>(&action)) {
    OnReply(*a);
  }
}

void ContainerRules::OnEvent(const action::EmitContainerEvent& emitted) {
  judge().Count(Rule::kCn1);
  const ContainerId id = emitted.container;
  const ContainerEvent& event = emitted.event;
  Container* container = Find(id);
  auto wrong_state = [&]() {
    judge().Fail(Rule::kCn1,
                 absl::StrCat(DescribeEvent(id, event), " while it is ",
                              LifeName(container != nullptr,
                                       container == nullptr
                                           ? 0
                                           : static_cast<int>(container->life)),
                              "; expected installed, started, exit, "
                              "uninstalled in that order"));
  };
  switch (event.kind) {
    case ContainerEvent::Kind::kInstalled: {
      if (container != nullptr || !step_.install.has_value() ||
          step_.install->container != id) {
        if (container != nullptr) {
          wrong_state();
        } else {
          judge().Fail(Rule::kCn1, absl::StrCat(DescribeEvent(id, event),
                                                " without an install_container "
                                                "for it"));
        }
        return;
      }
      step_.install->event_seen = true;
      if (!judge().HasRoom(containers_.size(), kMaxContainers)) break;
      Container added;
      added.port_start = step_.install->spec.port_start;
      added.port_end = step_.install->spec.port_end;
      added.socket_relays = step_.install->spec.socket_relays;
      containers_.emplace(id, added);
      break;
    }
    case ContainerEvent::Kind::kStarted:
      if (container == nullptr || container->life != Life::kInstalled) {
        wrong_state();
        return;
      }
      container->life = Life::kStarted;
      container->started_at = now();
      break;
    case ContainerEvent::Kind::kCGroup:
      if (container == nullptr || container->life != Life::kStarted) {
        wrong_state();
        return;
      }
      break;
    case ContainerEvent::Kind::kExit: {
      if (container == nullptr || container->life != Life::kStarted) {
        wrong_state();
        return;
      }
      judge().Count(Rule::kCn2);
      if (!container->exit.has_value()) {
        judge().Fail(Rule::kCn2, absl::StrCat(DescribeEvent(id, event),
                                              " but the world reported no "
                                              "container_exited for this run"));
        return;
      }
      if (event.exit != container->exit) {
        judge().Fail(Rule::kCn2,
                     absl::StrCat(DescribeEvent(id, event),
                                  " but its container_exited at ",
                                  At(container->exited_at), " said ",
                                  FormatExitStatus(*container->exit)));
        return;
      }
      container->life = Life::kExited;
      break;
    }
    case ContainerEvent::Kind::kUninstalled:
      if (container == nullptr || container->life == Life::kStarted) {
        wrong_state();
        return;
      }
      EndGrace(id, *container);
      containers_.erase(id);
      break;
  }
  Publish(id, event);
}

void ContainerRules::Publish(ContainerId id, const ContainerEvent& event) {
  ++published_;
  if (subscribers_.empty()) {
    log_.clear();
    log_base_ = published_;
    return;
  }
  if (log_.size() >= kMaxEventLog) {
    // Subscribers this far behind are no longer judged.
    log_.pop_front();
    ++log_base_;
    judge().stats().untracked++;
  }
  log_.emplace_back(id, event);
}

void ContainerRules::OnPort(ContainerId id, uint32_t port,
                            absl::string_view what) {
  Container* container = Find(id);
  if (container == nullptr) {
    judge().stats().untracked++;
    return;
  }
  judge().Count(Rule::kCn7);
  if (port < container->port_start || port > container->port_end) {
    judge().Fail(
        Rule::kCn7,
        absl::StrCat(what, " for container ", id.value, " on port ", port,
                     ", outside its range [", container->port_start, ", ",
                     container->port_end, "]"));
    return;
  }
  if (container->last_port.has_value() && port <= *container->last_port) {
    judge().Fail(Rule::kCn7,
                 absl::StrCat(what, " for container ", id.value, " on port ",
                              port, " after port ", *container->last_port,
                              ": ports must increase and never be reused"));
    return;
  }
  container->last_port = port;
}

void ContainerRules::OnSignal(const action::SignalContainer& signal) {
  Container* container = Find(signal.container);
  if (container == nullptr) return;
  const bool from_stop =
      step_.shutdown || (step_.wait_or_stop.has_value() &&
                         step_.wait_or_stop->kind == RequestKind::kStop &&
                         step_.wait_or_stop->container == signal.container);
  if (signal.signal == kSigTerm && from_stop &&
      !container->grace_deadline.has_value() && !container->exit.has_value()) {
    const absl::Duration grace =
        step_.shutdown ? kDefaultGrace : step_.wait_or_stop->grace;
    container->grace_deadline = now() + grace;
    container->stop_began = now();
    grace_deadlines_.insert({*container->grace_deadline, signal.container});
    return;
  }
  if (signal.signal != kSigKill) return;
  if (step_.kill.has_value() && step_.kill->first == signal.container &&
      step_.kill->second == kSigKill) {
    return;  // the client asked for exactly this
  }
  judge().Count(Rule::kCn4);
  std::string wrong;
  if (container->exit.has_value()) {
    wrong = absl::StrCat("after it exited at ", At(container->exited_at));
  } else if (!container->grace_deadline.has_value()) {
    wrong = "without a stop whose grace ran out";
  } else if (now() < *container->grace_deadline ||
             now() > *container->grace_deadline +
                         judge().options().timer_slack) {
    wrong =
        absl::StrCat("but its grace ends at ", At(*container->grace_deadline),
                     " (stop began at ", At(container->stop_began), ")");
  }
  if (!wrong.empty()) {
    judge().Fail(Rule::kCn4,
                 absl::StrCat("SIGKILL to container ", signal.container.value,
                              " at ", At(now()), " ", wrong));
    return;
  }
  EndGrace(signal.container, *container);
}

void ContainerRules::OnOncePerRun(ContainerId id, uint32_t Container::*count,
                                  absl::string_view what) {
  Container* container = Find(id);
  if (container == nullptr) return;
  judge().Count(Rule::kCn3);
  if (++(container->*count) > 1) {
    judge().Fail(Rule::kCn3, absl::StrCat(what, " for container ", id.value,
                                          " twice in one run"));
  }
}

void ContainerRules::CheckExhausted(ContainerId id, Container& container,
                                    uint64_t needed, absl::string_view what) {
  judge().Count(Rule::kCn7);
  const uint64_t remaining =
      container.ports_used_up ? 0
      : container.last_port.has_value()
          ? container.port_end - *container.last_port
          : container.port_end - container.port_start + 1;
  if (remaining >= needed) {
    judge().Fail(
        Rule::kCn7,
        absl::StrCat(what, " of container ", id.value,
                     " refused as 'port range exhausted' with ", remaining,
                     " ports of [", container.port_start, ", ",
                     container.port_end, "] left (needs ", needed, ")"));
    return;
  }
  // The allocator went to the end of the range before it gave up.
  container.ports_used_up = true;
}

void ContainerRules::OnReply(const action::Reply& reply) {
  const bool exhausted =
      !reply.status.ok() &&
      absl::StrContains(reply.status.message(), "port range exhausted");

  if (step_.install.has_value() && reply.request == step_.install->request) {
    step_.install->replied_ok = reply.status.ok();
  }

  if (step_.copy.has_value() && reply.request == step_.copy->request) {
    step_.copy->answered = true;
    judge().Count(Rule::kCn8);
    if (step_.copy->dot_dot && reply.status.ok()) {
      judge().Fail(
          Rule::kCn8,
          absl::StrCat("copy_file for container ", step_.copy->container.value,
                       " with a '..' component in its guest path "
                       "was accepted"));
      return;
    }
    if (exhausted) {
      if (Container* container = Find(step_.copy->container)) {
        CheckExhausted(step_.copy->container, *container, 1, "copy_file");
      }
    }
    return;
  }

  if (step_.subscription.has_value() &&
      reply.request == step_.subscription->request && reply.status.ok()) {
    const auto& sub = *step_.subscription;
    switch (sub.op) {
      case SubscriptionOp::kSubscribe:
        if (judge().HasRoom(subscribers_.size(), kMaxSubscribers)) {
          subscribers_[sub.subscriber] = published_;
        }
        break;
      case SubscriptionOp::kPoll:
        if (const auto* batch = std::get_if<EventBatch>(&reply.value)) {
          CheckPoll(sub.subscriber, sub.max_events, *batch);
        }
        break;
      case SubscriptionOp::kUnsubscribe:
        subscribers_.erase(sub.subscriber);
        break;
    }
    TrimLog();
    return;
  }

  auto it = requests_.find(reply.request);
  if (it == requests_.end()) return;
  const PendingRequest request = it->second;
  requests_.erase(it);
  Container* container = Find(request.container);
  if (container == nullptr) return;
  switch (request.kind) {
    case RequestKind::kStart:
      container->starting = false;
      if (exhausted) {
        CheckExhausted(request.container, *container, container->socket_relays,
                       "start_container");
      }
      return;
    case RequestKind::kWait:
    case RequestKind::kStop: {
      uint32_t& pending = request.kind == RequestKind::kWait
                              ? container->pending_waits
                              : container->pending_stops;
      if (pending > 0) --pending;
      if (!reply.status.ok()) return;
      judge().Count(Rule::kCn3);
      const auto* status = std::get_if<ExitStatus>(&reply.value);
      const absl::string_view what =
          request.kind == RequestKind::kWait ? "wait" : "stop";
      if (!container->exit.has_value()) {
        judge().Fail(Rule::kCn3,
                     absl::StrCat(what, " request ", reply.request.value,
                                  " for container ", request.container.value,
                                  " answered OK before the container exited"));
        return;
      }
      if (status == nullptr || *status != *container->exit) {
        judge().Fail(
            Rule::kCn3,
            absl::StrCat(
                what, " request ", reply.request.value, " for container ",
                request.container.value, " answered ",
                status == nullptr ? std::string("without a status")
                                  : FormatExitStatus(*status),
                ", but its container_exited at ", At(container->exited_at),
                " said ", FormatExitStatus(*container->exit)));
      }
      return;
    }
  }
}

void ContainerRules::CheckPoll(SubscriberId subscriber, uint32_t max_events,
                               const EventBatch& batch) {
  auto it = subscribers_.find(subscriber);
  if (it == subscribers_.end()) {
    judge().stats().untracked++;
    return;
  }
  judge().Count(Rule::kCn1);
  uint64_t cursor = it->second + batch.missed;
  if (cursor > published_) {
    judge().Fail(Rule::kCn1,
                 absl::StrCat("subscriber ", subscriber.value,
                              " was told it "
                              "missed ",
                              batch.missed, " events, but only ",
                              published_ - it->second,
                              " were published since its last poll"));
    return;
  }
  if (batch.events.size() > max_events) {
    judge().Fail(
        Rule::kCn1,
        absl::StrCat("a poll of subscriber ", subscriber.value, " returned ",
                     batch.events.size(), " events, more than its max_events ",
                     max_events));
    return;
  }
  if (cursor < log_base_) {
    // Behind the oracle's bounded log: no longer judged.
    judge().stats().untracked++;
    it->second = std::min(published_, cursor + batch.events.size());
    return;
  }
  for (const auto& [id, event] : batch.events) {
    if (cursor >= published_) {
      judge().Fail(Rule::kCn1, absl::StrCat("subscriber ", subscriber.value,
                                            " got ", DescribeEvent(id, event),
                                            ", which was never published"));
      return;
    }
    const auto& [want_id, want] = log_[cursor - log_base_];
    if (id != want_id || !(event == want)) {
      judge().Fail(
          Rule::kCn1,
          absl::StrCat("subscriber ", subscriber.value, " got ",
                       DescribeEvent(id, event), " as event ", cursor + 1,
                       ", expected ", DescribeEvent(want_id, want)));
      return;
    }
    ++cursor;
  }
  if (batch.events.size() < max_events && cursor != published_) {
    judge().Fail(Rule::kCn1,
                 absl::StrCat("a poll of subscriber ", subscriber.value,
                              " returned ", batch.events.size(), " of up to ",
                              max_events, " events while ", published_ - cursor,
                              " published events were still unseen"));
    return;
  }
  it->second = cursor;
}

void ContainerRules::TrimLog() {
  if (subscribers_.empty()) {
    log_.clear();
    log_base_ = published_;
    return;
  }
  uint64_t oldest = published_;
  for (const auto& [id, cursor] : subscribers_) {
    oldest = std::min(oldest, cursor);
  }
  while (log_base_ < oldest && !log_.empty()) {
    log_.pop_front();
    ++log_base_;
  }
}

// ---- End of a step and of the run ----

void ContainerRules::EndStep() {
  if (step_.install.has_value() && step_.install->replied_ok &&
      !step_.install->event_seen) {
    judge().FailStep(
        Rule::kCn1,
        absl::StrCat("install_container ", step_.install->container.value,
                     " answered OK but no installed event "
                     "followed"));
    return;
  }
  if (step_.copy.has_value() && step_.copy->dot_dot && !step_.copy->answered) {
    judge().FailStep(
        Rule::kCn8,
        absl::StrCat("copy_file for container ", step_.copy->container.value,
                     " with a '..' component in its guest path "
                     "was not refused at once"));
    return;
  }
  if (step_.wait_or_stop.has_value() && step_.wait_or_stop->exit_known &&
      requests_.contains(step_.wait_or_stop->request)) {
    const auto& ws = *step_.wait_or_stop;
    judge().FailStep(
        ws.kind == RequestKind::kStop ? Rule::kCn4 : Rule::kCn3,
        absl::StrCat(ws.kind == RequestKind::kStop ? "stop" : "wait",
                     " request ", ws.request.value, " for container ",
                     ws.container.value,
                     ", whose exit is known, was not answered at "
                     "once with it"));
    return;
  }
  if (step_.exit_now.has_value()) {
    const Container* container = Find(*step_.exit_now);
    if (container == nullptr) return;
    judge().Count(Rule::kCn4);
    if (container->pending_waits + container->pending_stops > 0) {
      judge().FailStep(
          container->pending_stops > 0 || container->stopping_at_exit
              ? Rule::kCn4
              : Rule::kCn3,
          absl::StrCat("container ", step_.exit_now->value, " exited at ",
                       At(container->exited_at), " but ",
                       container->pending_stops, " stops and ",
                       container->pending_waits,
                       " waits for it were not answered at once"));
    }
  }
}

void ContainerRules::OnEnd(bool judge_liveness) {
  if (!judge_liveness) return;
  CheckGraceDeadlines();
  if (judge().failed()) return;
  for (const auto& [id, container] : containers_) {
    judge().Count(Rule::kCn1);
    if (container.life == Life::kStarted) {
      judge().Fail(Rule::kCn1,
                   absl::StrCat("container ", id.value, " started at ",
                                At(container.started_at),
                                " but never got its exit event"));
      return;
    }
  }
}

}  // namespace proctor::sim::oracle_internal
