#include "sim/oracle/proxy_rules.h"

#include <algorithm>
#include <variant>

#include "absl/strings/str_cat.h"

namespace proctor::sim::oracle_internal {
namespace {

// Completions after which the proxy can go on forwarding; any other status
// makes it give up (spec "Project additions", PX-3), possibly mid-drain.
bool ReadLeavesProxyWhole(ChannelStatus status) {
  return status == ChannelStatus::kOk || status == ChannelStatus::kShouldWait ||
         status == ChannelStatus::kPeerClosed;
}
bool WriteLeavesProxyWhole(ChannelStatus status) {
  return status == ChannelStatus::kOk || status == ChannelStatus::kPeerClosed;
}

std::string DescribeId(const std::optional<uint64_t>& id) {
  return id.has_value() ? absl::StrCat(*id) : "(no id)";
}

}  // namespace

// ---- Lookups ----

ProxyRules::Proxy* ProxyRules::ByEndpoint(EndpointId endpoint) {
  auto it = by_endpoint_.find(endpoint);
  if (it == by_endpoint_.end()) return nullptr;
  auto proxy = proxies_.find(it->second);
  return proxy == proxies_.end() ? nullptr : &proxy->second;
}

ProxyRules::Proxy* ProxyRules::ByCounter(CounterId counter) {
  auto it = by_counter_.find(counter);
  if (it == by_counter_.end()) return nullptr;
  auto proxy = proxies_.find(it->second);
  return proxy == proxies_.end() ? nullptr : &proxy->second;
}

std::optional<EndpointId> ProxyRules::PeerOf(EndpointId endpoint) const {
  auto it = peer_of_.find(endpoint);
  if (it == peer_of_.end()) return std::nullopt;
  return it->second;
}

ProxyRules::PeerEnd* ProxyRules::FindPeerEnd(EndpointId endpoint) {
  auto it = peer_ends_.find(endpoint);
  return it == peer_ends_.end() ? nullptr : &it->second;
}

CounterState* ProxyRules::Counter(CounterId counter) {
  auto& counters = shared().counters;
  auto it = counters.find(counter);
  if (it != counters.end()) return &it->second;
  if (!judge().HasRoom(counters.size(), kMaxCounters)) return nullptr;
  return &counters[counter];
}

void ProxyRules::EvictOneStopped() {
  while (!stopped_order_.empty()) {
    const ProxyId id = stopped_order_.front();
    stopped_order_.pop_front();
    auto it = proxies_.find(id);
    // Re-added since it stopped: the entry is stale.
    if (it == proxies_.end() || !it->second.stopped) continue;
    const Proxy& proxy = it->second;
    for (EndpointId endpoint :
         {proxy.container_endpoint, proxy.remote_endpoint}) {
      auto held = by_endpoint_.find(endpoint);
      if (held != by_endpoint_.end() && held->second == id) {
        by_endpoint_.erase(held);
        outboxes_.erase(endpoint);
      }
    }
    auto counted = by_counter_.find(proxy.counter);
    if (counted != by_counter_.end() && counted->second == id) {
      by_counter_.erase(counted);
    }
    proxies_.erase(it);
    return;
  }
}

void ProxyRules::AddProxy(const Proxy& proxy) {
  if (!proxies_.contains(proxy.id) && proxies_.size() >= kMaxProxies) {
    EvictOneStopped();
  }
  if (!proxies_.contains(proxy.id) &&
      !judge().HasRoom(proxies_.size(), kMaxProxies)) {
    return;
  }
  proxies_.insert_or_assign(proxy.id, proxy);
  by_endpoint_[proxy.container_endpoint] = proxy.id;
  by_endpoint_[proxy.remote_endpoint] = proxy.id;
  by_counter_[proxy.counter] = proxy.id;
  if (proxy.stopped) stopped_order_.push_back(proxy.id);
  if (CounterState* counter = Counter(proxy.counter)) {
    const std::optional<EndpointId> peer = PeerOf(proxy.container_endpoint);
    const PeerEnd* end = peer.has_value() ? FindPeerEnd(*peer) : nullptr;
    counter->container_side_closed = end != nullptr && end->closed;
  }
}

// ---- Inputs ----

void ProxyRules::OnInput(const Input& input) {
  pending_add_.reset();
  step_read_from_.reset();
  removal_due_.clear();
  step_removes_.reset();

  if (const auto* in = std::get_if<input::AddProxy>(&input)) {
    Proxy proxy;
    proxy.id = in->proxy;
    proxy.container_endpoint = in->container_endpoint;
    proxy.remote_endpoint = in->remote_endpoint;
    proxy.counter = in->counter;
    pending_add_ = PendingAdd{in->request, proxy};
  } else if (const auto* in = std::get_if<input::MessageRead>(&input)) {
    step_read_from_ = in->endpoint;
    Proxy* proxy = ByEndpoint(in->endpoint);
    if (proxy != nullptr && !ReadLeavesProxyWhole(in->status)) {
      proxy->broken = true;
    }
  } else if (const auto* in = std::get_if<input::MessageWritten>(&input)) {
    OnMessageWritten(*in);
  } else if (const auto* in = std::get_if<input::CounterAdded>(&input)) {
    Proxy* proxy = ByCounter(in->counter);
    std::optional<int64_t> delta;
    if (proxy != nullptr && !proxy->stopped && !proxy->adds_in_flight.empty()) {
      delta = proxy->adds_in_flight.front();
      proxy->adds_in_flight.pop_front();
      if (in->status != ChannelStatus::kOk) {
        proxy->broken = true;
      } else if (*delta > 0) {
        ++proxy->credits;
      }
    }
    if (in->status == ChannelStatus::kOk) {
      if (CounterState* counter = Counter(in->counter)) {
        counter->value = in->value;
        if (delta == -1) {
          judge().Count(Rule::kPx2);
          if (counter->unhandled > counter->value) {
            judge().Fail(
                Rule::kPx2,
                absl::StrCat("after proxy ", proxy->id.value,
                             " took back a count, counter ", in->counter.value,
                             " reads ", in->value, " but ", counter->unhandled,
                             " messages written into the container are "
                             "unhandled"));
          }
        }
      }
    }
  } else if (const auto* in = std::get_if<input::RemoveWakeSource>(&input)) {
    step_removes_ = in->source;
  }
  // PX-4: the runtime learns the counter's value in this step; if it has
  // drained (by this input or by a container_handled before it), a stopped
  // proxy's source must go now.
  std::optional<CounterId> told;
  if (const auto* in = std::get_if<input::CounterAdded>(&input)) {
    if (in->status == ChannelStatus::kOk) told = in->counter;
  } else if (const auto* in = std::get_if<input::CounterChanged>(&input)) {
    told = in->counter;
  }
  if (told.has_value() && retiring_.contains(*told)) {
    judge().Count(Rule::kPx4);
    if (CounterValue(*told) <= 0) removal_due_.push_back(*told);
  }
}

int64_t ProxyRules::CounterValue(CounterId counter) const {
  auto it = shared().counters.find(counter);
  return it == shared().counters.end() ? 0 : it->second.value;
}

void ProxyRules::OnMessageWritten(const input::MessageWritten& in) {
  auto box = outboxes_.find(in.endpoint);
  if (box == outboxes_.end() || box->second.awaiting_completion.empty()) {
    return;
  }
  Outbox& outbox = box->second;
  const std::optional<uint64_t> id = outbox.awaiting_completion.front();
  outbox.awaiting_completion.pop_front();
  Proxy* proxy = ByEndpoint(in.endpoint);
  if (proxy != nullptr && !WriteLeavesProxyWhole(in.status)) {
    proxy->broken = true;
  }
  const bool into_container =
      proxy != nullptr && proxy->container_endpoint == in.endpoint;
  if (in.status == ChannelStatus::kOk) {
    if (!id.has_value()) return;
    judge().Count(Rule::kCh1);
    if (outbox.must_fail.contains(*id)) {
      judge().Fail(Rule::kCh1,
                   absl::StrCat("message ", *id, " was written into endpoint ",
                                in.endpoint.value,
                                " (confirmed OK), but the peer at the other "
                                "end received later messages instead of it"));
      return;
    }
    for (Outbox::Write& write : outbox.undelivered) {
      if (write.id == *id) {
        write.confirmed = true;
        break;
      }
    }
    return;
  }
  // The write failed: the message never entered the channel.
  if (id.has_value()) {
    outbox.must_fail.erase(*id);
    auto it = std::find_if(outbox.undelivered.begin(), outbox.undelivered.end(),
                           [&](const Outbox::Write& w) { return w.id == *id; });
    if (it != outbox.undelivered.end()) outbox.undelivered.erase(it);
  }
  if (into_container) {
    // Its count was taken before the write (PX-2): it must be taken back.
    if (!proxy->stopped) ++proxy->undelivered_counted;
    if (CounterState* counter = Counter(proxy->counter)) {
      counter->unhandled = std::max<int64_t>(0, counter->unhandled - 1);
      if (in.status == ChannelStatus::kPeerClosed) {
        counter->container_side_closed = true;
      }
    }
  }
}

// ---- Actions ----

void ProxyRules::OnAction(const Action& action) {
  if (const auto* a = std::get_if<action::WriteMessage>(&action)) {
    OnWrite(*a);
  } else if (const auto* a = std::get_if<action::CounterAdd>(&action)) {
    OnCounterAdd(*a);
  } else if (const auto* a = std::get_if<action::ReadMessage>(&action)) {
    judge().Count(Rule::kPx3);
    const Proxy* proxy = ByEndpoint(a->endpoint);
    if (proxy != nullptr && proxy->stopped) {
      judge().Fail(
          Rule::kPx3,
          absl::StrCat("read_message on endpoint ", a->endpoint.value,
                       " of proxy ", proxy->id.value,
                       " after its proxy_stopped at ", At(proxy->stopped_at)));
    }
  } else if (const auto* a = std::get_if<action::CloseEndpoint>(&action)) {
    OnClose(*a);
  } else if (const auto* a = std::get_if<action::ProxyStopped>(&action)) {
    OnStopped(*a);
  } else if (const auto* a = std::get_if<action::WakeSourceRemoved>(&action)) {
    OnWakeSourceRemoved(*a);
  } else if (const auto* a = std::get_if<action::WakeSourceAdded>(&action)) {
    // Registered again (a new proxy on the counter, or a client's source):
    // no longer the stopped proxy's to remove.
    retiring_.erase(a->source);
  } else if (const auto* a = std::get_if<action::Reply>(&action)) {
    if (pending_add_.has_value() && a->request == pending_add_->request) {
      if (a->status.ok()) AddProxy(pending_add_->proxy);
      pending_add_.reset();
    }
  }
}

void ProxyRules::OnWrite(const action::WriteMessage& write) {
  Proxy* proxy = ByEndpoint(write.endpoint);
  if (proxy == nullptr) {
    judge().stats().untracked++;
    return;
  }
  judge().Count(Rule::kPx3);
  if (proxy->stopped) {
    judge().Fail(
        Rule::kPx3,
        absl::StrCat("write_message into endpoint ", write.endpoint.value,
                     " of proxy ", proxy->id.value,
                     " after its proxy_stopped at ", At(proxy->stopped_at)));
    return;
  }
  const bool into_container = write.endpoint == proxy->container_endpoint;
  const EndpointId source =
      into_container ? proxy->remote_endpoint : proxy->container_endpoint;
  const std::optional<uint64_t> id = DecodeMessageId(write.message.bytes);

  // PX-1 / CH-1: exactly the messages the peer wrote, in order, once each.
  const std::optional<EndpointId> writer = PeerOf(source);
  if (!id.has_value() || !writer.has_value()) {
    judge().stats().untracked++;
  } else {
    judge().Count(Rule::kPx1);
    PeerEnd* end = FindPeerEnd(*writer);
    auto found = end == nullptr ? std::deque<uint64_t>::iterator()
                                : std::find(end->unforwarded.begin(),
                                            end->unforwarded.end(), *id);
    if (end == nullptr || found == end->unforwarded.end()) {
      judge().Fail(Rule::kPx1,
                   absl::StrCat("proxy ", proxy->id.value, " wrote message ",
                                *id, " into endpoint ", write.endpoint.value,
                                ", but the peer at endpoint ", writer->value,
                                " never wrote it, or it was already "
                                "forwarded"));
      return;
    }
    if (found != end->unforwarded.begin()) {
      judge().Fail(Rule::kPx1,
                   absl::StrCat("proxy ", proxy->id.value, " wrote message ",
                                *id, " into endpoint ", write.endpoint.value,
                                " before message ", end->unforwarded.front(),
                                ", which the peer at endpoint ", writer->value,
                                " wrote earlier and was never forwarded"));
      return;
    }
    end->unforwarded.pop_front();
  }

  // PX-2: counted before it is written into the container.
  if (into_container) {
    judge().Count(Rule::kPx2);
    if (proxy->credits <= 0) {
      judge().Fail(Rule::kPx2,
                   absl::StrCat("proxy ", proxy->id.value, " wrote message ",
                                DescribeId(id), " into the container endpoint ",
                                write.endpoint.value,
                                " before a counter_add for it completed"));
      return;
    }
    --proxy->credits;
    if (CounterState* counter = Counter(proxy->counter)) {
      ++counter->unhandled;
      if (counter->unhandled > counter->value) {
        judge().Fail(
            Rule::kPx2,
            absl::StrCat(counter->unhandled,
                         " messages written into container endpoint ",
                         write.endpoint.value, " are unhandled, but counter ",
                         proxy->counter.value, " reads ", counter->value));
        return;
      }
    }
  }

  // CH-1: remember the write for the receiver's order.
  auto box = outboxes_.find(write.endpoint);
  if (box == outboxes_.end()) {
    if (!judge().HasRoom(outboxes_.size(), kMaxEndpoints)) return;
    box = outboxes_.try_emplace(write.endpoint).first;
  }
  Outbox& outbox = box->second;
  if (!judge().HasRoom(outbox.awaiting_completion.size(),
                       kMaxMessagesPerEndpoint)) {
    return;
  }
  outbox.awaiting_completion.push_back(id);
  const std::optional<EndpointId> receiver = PeerOf(write.endpoint);
  const PeerEnd* receiving = receiver ? FindPeerEnd(*receiver) : nullptr;
  if (id.has_value() && (receiving == nullptr || !receiving->closed) &&
      judge().HasRoom(outbox.undelivered.size(), kMaxMessagesPerEndpoint)) {
    outbox.undelivered.push_back(Outbox::Write{*id});
  }
}

void ProxyRules::OnCounterAdd(const action::CounterAdd& add) {
  Proxy* proxy = ByCounter(add.counter);
  if (proxy == nullptr) {
    judge().stats().untracked++;
    return;
  }
  judge().Count(Rule::kPx2);
  if (proxy->stopped) {
    judge().Count(Rule::kPx3);
    judge().Fail(
        Rule::kPx3,
        absl::StrCat("counter_add on counter ", add.counter.value, " of proxy ",
                     proxy->id.value, " after its proxy_stopped at ",
                     At(proxy->stopped_at)));
    return;
  }
  if (add.delta == -1) {
    OnTakeBack(*proxy, add);
    return;
  }
  if (add.delta != 1) {
    judge().Fail(Rule::kPx2,
                 absl::StrCat("counter_add of ", add.delta, " on counter ",
                              add.counter.value, " of proxy ", proxy->id.value,
                              "; only +1 per message entering the container, "
                              "or -1 to take back the count of one it could "
                              "not deliver"));
    return;
  }
  if (step_read_from_ == proxy->container_endpoint) {
    judge().Fail(Rule::kPx2,
                 absl::StrCat("counter_add on counter ", add.counter.value,
                              " for a message read from container endpoint ",
                              proxy->container_endpoint.value,
                              " (messages leaving the container are not "
                              "counted)"));
    return;
  }
  if (judge().HasRoom(proxy->adds_in_flight.size(), kMaxMessagesPerEndpoint)) {
    proxy->adds_in_flight.push_back(+1);
  }
}

bool ProxyRules::ContainerSideClosed(const Proxy& proxy) {
  const std::optional<EndpointId> peer = PeerOf(proxy.container_endpoint);
  const PeerEnd* end = peer.has_value() ? FindPeerEnd(*peer) : nullptr;
  return end != nullptr && end->closed;
}

void ProxyRules::OnTakeBack(Proxy& proxy, const action::CounterAdd& add) {
  if (proxy.undelivered_counted > 0) {
    --proxy.undelivered_counted;
  } else if (proxy.credits > 0 && ContainerSideClosed(proxy)) {
    // Counted, then not written: the container side closed first.
    --proxy.credits;
  } else {
    judge().Fail(
        Rule::kPx2,
        absl::StrCat("counter_add of -1 on counter ", add.counter.value,
                     " of proxy ", proxy.id.value,
                     " takes back a count, but no message it counted went "
                     "undelivered (a count is taken back only for a message "
                     "that cannot enter the container)"));
    return;
  }
  if (judge().HasRoom(proxy.adds_in_flight.size(), kMaxMessagesPerEndpoint)) {
    proxy.adds_in_flight.push_back(-1);
  }
}

void ProxyRules::CheckCountsSettled(const Proxy& proxy) {
  judge().Count(Rule::kPx2);
  std::string unsettled;
  if (!proxy.adds_in_flight.empty()) {
    unsettled = absl::StrCat("its counter_add of ",
                             proxy.adds_in_flight.front() > 0 ? "+1" : "-1",
                             " still in flight");
  } else if (proxy.undelivered_counted > 0) {
    unsettled = absl::StrCat(proxy.undelivered_counted,
                             " counted messages whose write into the "
                             "container failed and whose count was not taken "
                             "back");
  } else if (proxy.credits > 0) {
    unsettled = absl::StrCat(proxy.credits,
                             " counted messages neither written into the "
                             "container nor taken back");
  } else {
    return;
  }
  judge().Fail(Rule::kPx2,
               absl::StrCat("proxy ", proxy.id.value, " stopped with ",
                            unsettled, " on counter ", proxy.counter.value,
                            ", which can then never drain"));
}

void ProxyRules::OnClose(const action::CloseEndpoint& close) {
  Proxy* proxy = nullptr;
  if (pending_add_.has_value() &&
      (close.endpoint == pending_add_->proxy.container_endpoint ||
       close.endpoint == pending_add_->proxy.remote_endpoint)) {
    // A proxy taken down in the step that added it (its wake source could
    // not be registered).
    Proxy* held = ByEndpoint(close.endpoint);
    proxy = held != nullptr && !held->stopped ? held : &pending_add_->proxy;
  } else {
    proxy = ByEndpoint(close.endpoint);
  }
  if (proxy == nullptr) return;
  judge().Count(Rule::kPx3);
  if (proxy->stopped) {
    judge().Fail(
        Rule::kPx3,
        absl::StrCat("close_endpoint ", close.endpoint.value, " of proxy ",
                     proxy->id.value, " after its proxy_stopped at ",
                     At(proxy->stopped_at)));
    return;
  }
  if (close.endpoint == proxy->container_endpoint) {
    proxy->container_endpoint_closed = true;
  } else {
    proxy->remote_endpoint_closed = true;
  }
}

void ProxyRules::OnStopped(const action::ProxyStopped& stopped) {
  judge().Count(Rule::kPx3);
  Proxy* proxy = nullptr;
  bool in_add_step = false;
  if (auto it = proxies_.find(stopped.proxy);
      it != proxies_.end() && !it->second.stopped) {
    proxy = &it->second;
  } else if (pending_add_.has_value() &&
             pending_add_->proxy.id == stopped.proxy) {
    proxy = &pending_add_->proxy;
    in_add_step = true;
  } else if (it != proxies_.end()) {
    judge().Fail(
        Rule::kPx3,
        absl::StrCat("proxy_stopped for proxy ", stopped.proxy.value,
                     " twice (first at ", At(it->second.stopped_at), ")"));
    return;
  } else {
    judge().stats().untracked++;
    return;
  }
  for (auto [endpoint, closed] :
       {std::pair{proxy->container_endpoint, proxy->container_endpoint_closed},
        std::pair{proxy->remote_endpoint, proxy->remote_endpoint_closed}}) {
    if (!closed) {
      judge().Fail(Rule::kPx3,
                   absl::StrCat("proxy_stopped for proxy ", proxy->id.value,
                                " before close_endpoint of its endpoint ",
                                endpoint.value));
      return;
    }
  }
  if (!in_add_step && !proxy->broken && !shared().shutdown_begun) {
    CheckDrained(*proxy);
    if (judge().failed()) return;
  }
  if (!in_add_step && !shared().shutdown_begun) {
    CheckCountsSettled(*proxy);
    if (judge().failed()) return;
  }
  proxy->stopped = true;
  proxy->stopped_at = now();
  if (!in_add_step) {
    stopped_order_.push_back(proxy->id);
    // Nothing more is forwarded from the peers' ends.
    for (EndpointId endpoint :
         {proxy->container_endpoint, proxy->remote_endpoint}) {
      if (std::optional<EndpointId> peer = PeerOf(endpoint)) {
        if (PeerEnd* end = FindPeerEnd(*peer)) end->unforwarded.clear();
      }
    }
  }
  // PX-4. A proxy refused in its add step registered no source: one with
  // its counter's id is someone else's.
  judge().Count(Rule::kPx4);
  if (in_add_step ||
      !shared().wake_sources.contains(WakeSourceId{proxy->counter.value}) ||
      (!retiring_.contains(proxy->counter) &&
       !judge().HasRoom(retiring_.size(), kMaxWakeSources))) {
    return;
  }
  retiring_.insert_or_assign(proxy->counter,
                             Retiring{proxy->id, now(), judge().step_seq()});
  if (CounterValue(proxy->counter) <= 0) {
    removal_due_.push_back(proxy->counter);
  }
}

void ProxyRules::OnWakeSourceRemoved(const action::WakeSourceRemoved& removed) {
  auto it = retiring_.find(removed.source);
  if (it == retiring_.end()) return;
  const Retiring retiring = it->second;
  retiring_.erase(it);
  std::erase(removal_due_, removed.source);
  // RT-2 releases everything at shutdown; a client may remove any source.
  if (shared().shutdown_begun || step_removes_ == removed.source) return;
  judge().Count(Rule::kPx4);
  const int64_t value = CounterValue(removed.source);
  if (value > 0) {
    judge().Fail(
        Rule::kPx4,
        absl::StrCat("the wake source of counter ", removed.source.value,
                     " of proxy ", retiring.proxy.value, " (stopped at ",
                     At(retiring.stopped_at),
                     ") was removed while the counter reads ", value,
                     ": messages that entered the container may be "
                     "unhandled"));
  }
}

void ProxyRules::CheckDrained(const Proxy& proxy) {
  struct Direction {
    EndpointId source;
    EndpointId destination;
  };
  for (const Direction d :
       {Direction{proxy.remote_endpoint, proxy.container_endpoint},
        Direction{proxy.container_endpoint, proxy.remote_endpoint}}) {
    const std::optional<EndpointId> writer = PeerOf(d.source);
    const std::optional<EndpointId> reader = PeerOf(d.destination);
    if (!writer.has_value() || !reader.has_value()) continue;
    const PeerEnd* from = FindPeerEnd(*writer);
    const PeerEnd* to = FindPeerEnd(*reader);
    // Only a closed writer's messages must all be through; once the reader
    // is gone too, nothing can be delivered any more.
    if (from == nullptr || !from->closed || (to != nullptr && to->closed)) {
      continue;
    }
    if (!from->unforwarded.empty()) {
      judge().Fail(
          Rule::kPx3,
          absl::StrCat("proxy ", proxy.id.value, " stopped with ",
                       from->unforwarded.size(),
                       " messages that the peer at endpoint ", writer->value,
                       " wrote before closing at ", At(from->closed_at),
                       " not forwarded into endpoint ", d.destination.value,
                       " (first: message ", from->unforwarded.front(), ")"));
      return;
    }
  }
}

// ---- Facts ----

void ProxyRules::OnFact(const WorldFact& fact) {
  if (const auto* f = std::get_if<fact::ChannelCreated>(&fact)) {
    if (!judge().HasRoom(peer_of_.size(), kMaxEndpoints)) return;
    peer_of_[f->a] = f->b;
    peer_of_[f->b] = f->a;
  } else if (const auto* f = std::get_if<fact::PeerWrote>(&fact)) {
    auto it = peer_ends_.find(f->endpoint);
    if (it == peer_ends_.end()) {
      if (!judge().HasRoom(peer_ends_.size(), kMaxEndpoints)) return;
      it = peer_ends_.try_emplace(f->endpoint).first;
    }
    if (judge().HasRoom(it->second.unforwarded.size(),
                        kMaxMessagesPerEndpoint)) {
      it->second.unforwarded.push_back(f->message_id);
    }
  } else if (const auto* f = std::get_if<fact::PeerReceived>(&fact)) {
    OnPeerReceived(*f);
  } else if (const auto* f = std::get_if<fact::PeerClosed>(&fact)) {
    OnPeerClosed(*f);
  } else if (const auto* f = std::get_if<fact::ContainerHandled>(&fact)) {
    OnContainerHandled(*f);
  }
}

void ProxyRules::OnPeerReceived(const fact::PeerReceived& received) {
  const std::optional<EndpointId> written_into = PeerOf(received.endpoint);
  if (!written_into.has_value() || ByEndpoint(*written_into) == nullptr) {
    judge().stats().untracked++;
    return;
  }
  judge().Count(Rule::kCh1);
  auto box = outboxes_.find(*written_into);
  Outbox* outbox = box == outboxes_.end() ? nullptr : &box->second;
  auto found =
      outbox == nullptr
          ? std::deque<Outbox::Write>::iterator()
          : std::find_if(outbox->undelivered.begin(), outbox->undelivered.end(),
                         [&](const Outbox::Write& w) {
                           return w.id == received.message_id;
                         });
  if (outbox == nullptr || found == outbox->undelivered.end()) {
    judge().Fail(Rule::kCh1,
                 absl::StrCat("the peer at endpoint ", received.endpoint.value,
                              " received message ", received.message_id,
                              ", which was never written into endpoint ",
                              written_into->value, " or was already received"));
    return;
  }
  for (auto it = outbox->undelivered.begin(); it != found; ++it) {
    if (it->confirmed) {
      judge().Fail(
          Rule::kCh1,
          absl::StrCat("the peer at endpoint ", received.endpoint.value,
                       " received message ", received.message_id,
                       " but not message ", it->id, ", written into endpoint ",
                       written_into->value, " before it"));
      return;
    }
    if (judge().HasRoom(outbox->must_fail.size(), kMaxMessagesPerEndpoint)) {
      outbox->must_fail.insert(it->id);
    }
  }
  outbox->undelivered.erase(outbox->undelivered.begin(), found + 1);
}

void ProxyRules::OnPeerClosed(const fact::PeerClosed& closed) {
  auto it = peer_ends_.find(closed.endpoint);
  if (it == peer_ends_.end()) {
    if (!judge().HasRoom(peer_ends_.size(), kMaxEndpoints)) return;
    it = peer_ends_.try_emplace(closed.endpoint).first;
  }
  if (!it->second.closed) {
    it->second.closed = true;
    it->second.closed_at = now();
  }
  const std::optional<EndpointId> proxy_end = PeerOf(closed.endpoint);
  if (!proxy_end.has_value()) return;
  // Nothing more will be received at this end.
  if (auto box = outboxes_.find(*proxy_end); box != outboxes_.end()) {
    box->second.undelivered.clear();
    box->second.must_fail.clear();
  }
  const Proxy* proxy = ByEndpoint(*proxy_end);
  if (proxy != nullptr && proxy->container_endpoint == *proxy_end) {
    if (CounterState* counter = Counter(proxy->counter)) {
      counter->container_side_closed = true;
    }
  }
}

void ProxyRules::OnContainerHandled(const fact::ContainerHandled& handled) {
  CounterState* counter = Counter(handled.counter);
  if (counter == nullptr) return;
  counter->value = handled.value;
  counter->unhandled = std::max<int64_t>(0, counter->unhandled - 1);
  judge().Count(Rule::kPx2);
  if (counter->unhandled > counter->value) {
    judge().Fail(Rule::kPx2,
                 absl::StrCat("after the container handled a message, counter ",
                              handled.counter.value, " reads ", handled.value,
                              " but ", counter->unhandled,
                              " messages written into the container are "
                              "unhandled"));
  }
}

// ---- End of a step and of the run ----

void ProxyRules::EndStep() {
  for (CounterId counter : removal_due_) {
    auto it = retiring_.find(counter);
    if (it == retiring_.end()) continue;
    const Retiring& retiring = it->second;
    const int64_t value = CounterValue(counter);
    if (retiring.stopped_in_step == judge().step_seq()) {
      judge().FailStep(
          Rule::kPx4,
          absl::StrCat("proxy ", retiring.proxy.value,
                       " stopped with its counter ", counter.value,
                       " drained (it reads ", value,
                       "), but the counter's wake source was not removed in "
                       "the same step"));
    } else {
      judge().FailStep(
          Rule::kPx4,
          absl::StrCat("counter ", counter.value, " of proxy ",
                       retiring.proxy.value, " (stopped at ",
                       At(retiring.stopped_at), ") drained (it reads ", value,
                       "), but its wake source was not removed when the "
                       "runtime was told"));
    }
    return;
  }
}

void ProxyRules::OnEnd(bool judge_liveness) {
  if (!judge_liveness) return;
  for (const auto& [id, proxy] : proxies_) {
    if (proxy.stopped) continue;
    judge().Count(Rule::kPx3);
    for (EndpointId endpoint :
         {proxy.container_endpoint, proxy.remote_endpoint}) {
      const std::optional<EndpointId> peer = PeerOf(endpoint);
      const PeerEnd* end = peer.has_value() ? FindPeerEnd(*peer) : nullptr;
      if (end != nullptr && end->closed) {
        judge().Fail(Rule::kPx3,
                     absl::StrCat("the peer at endpoint ", peer->value,
                                  " closed at ", At(end->closed_at),
                                  ", but proxy ", id.value, " never stopped"));
        return;
      }
    }
  }
  for (const auto& [id, counter] : shared().counters) {
    if (counter.container_side_closed || !by_counter_.contains(id)) continue;
    judge().Count(Rule::kPx2);
    if (counter.value > 0 || counter.unhandled > 0) {
      judge().Fail(Rule::kPx2,
                   absl::StrCat("counter ", id.value,
                                " never drained: it "
                                "reads ",
                                counter.value, " with ", counter.unhandled,
                                " messages unhandled when the run ended"));
      return;
    }
  }
  for (const auto& [counter, retiring] : retiring_) {
    // What the container's closed end held will never be handled, so that
    // counter cannot drain and its source rightly stays.
    auto state = shared().counters.find(counter);
    if (state != shared().counters.end() &&
        state->second.container_side_closed) {
      continue;
    }
    judge().Count(Rule::kPx4);
    judge().Fail(
        Rule::kPx4,
        absl::StrCat("proxy ", retiring.proxy.value, " stopped at ",
                     At(retiring.stopped_at),
                     ", but the wake source of its counter ", counter.value,
                     " was never removed (the counter reads ",
                     CounterValue(counter), ")"));
    return;
  }
}

}  // namespace proctor::sim::oracle_internal
