#include "runtime/channel/channel_proxy.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/model/check.h"

namespace proctor {

ChannelProxy::ChannelProxy(ProxyId id, EndpointId container_endpoint,
                           EndpointId remote_endpoint, CounterId counter,
                           std::string name, MutantSet mutants)
    : id_(id), counter_(counter), name_(std::move(name)), mutants_(mutants) {
  PROCTOR_CHECK(container_endpoint != remote_endpoint);
  to_container_.source = remote_endpoint;
  to_container_.destination = container_endpoint;
  to_container_.counts = true;
  to_remote_.source = container_endpoint;
  to_remote_.destination = remote_endpoint;
  to_remote_.counts = false;
  if (mutants_.Has(Mutant::kProxyCountAfterWrite)) [[unlikely]] {
    to_container_.counts = false;
    to_container_.counts_after_write = true;
  }
}

ChannelProxy::ChannelProxy(const input::AddProxy& add, MutantSet mutants)
    : ChannelProxy(add.proxy, add.container_endpoint, add.remote_endpoint,
                   add.counter, add.name, mutants) {}

ChannelProxy::Direction* ChannelProxy::BySource(EndpointId endpoint) {
  if (endpoint == to_container_.source) return &to_container_;
  if (endpoint == to_remote_.source) return &to_remote_;
  return nullptr;
}

ChannelProxy::Direction* ChannelProxy::ByDestination(EndpointId endpoint) {
  if (endpoint == to_container_.destination) return &to_container_;
  if (endpoint == to_remote_.destination) return &to_remote_;
  return nullptr;
}

ChannelProxy::Direction& ChannelProxy::Opposite(const Direction& d) {
  return &d == &to_container_ ? to_remote_ : to_container_;
}

bool ChannelProxy::DestinationGone(const Direction& d) const {
  // The destination endpoint is the opposite direction's source.
  return (&d == &to_container_ ? to_remote_ : to_container_).source_peer_closed;
}

void ChannelProxy::Pump(Direction& d, ActionList& out) {
  if (stopped_ || stopping_.has_value() || d.step != Step::kIdle ||
      !d.wants_read || d.drained || DestinationGone(d)) {
    return;
  }
  d.wants_read = false;
  d.step = Step::kReading;
  out.push_back(action::ReadMessage{d.source});
}

bool ChannelProxy::CountUnsettled() const {
  const Direction& d = to_container_;
  return d.step == Step::kCounting || d.step == Step::kTakingBack ||
         (d.step == Step::kWriting && d.counts);
}

void ChannelProxy::TakeBack(ActionList& out) {
  Direction& d = to_container_;
  d.message.reset();
  d.step = Step::kTakingBack;
  out.push_back(action::CounterAdd{counter_, -1});
}

void ChannelProxy::MaybeStop(ActionList& out) {
  // Stopping now would leave the count to nobody: a counted message that
  // is not delivered would keep the counter up forever (PX-2, PW-4).
  if (stopped_ || CountUnsettled()) return;
  if (stopping_.has_value()) {
    StopNow(*std::move(stopping_), out);
    return;
  }
  for (const Direction* d : {&to_remote_, &to_container_}) {
    if (d->source_peer_closed && d->step == Step::kIdle &&
        (d->drained || DestinationGone(*d))) {
      StopNow(absl::OkStatus(), out);
      return;
    }
  }
}

void ChannelProxy::StopWhenSettled(absl::Status why, ActionList& out) {
  if (stopped_) return;
  if (!stopping_.has_value()) stopping_ = std::move(why);
  // Abandon everything but the count: completions of the abandoned reads
  // and writes find no operation in flight and are ignored.
  for (Direction* d : {&to_remote_, &to_container_}) {
    d->wants_read = false;
    if (d == &to_container_ && d->step != Step::kReading) continue;
    d->step = Step::kIdle;
    d->message.reset();
  }
  MaybeStop(out);
}

void ChannelProxy::StopNow(absl::Status why, ActionList& out) {
  PROCTOR_CHECK(!stopped_);
  stopped_ = true;
  stop_status_ = std::move(why);
  for (Direction* d : {&to_remote_, &to_container_}) {
    d->step = Step::kIdle;
    d->message.reset();
    d->wants_read = false;
  }
  // Container first: it is the side the supervisor is responsible for.
  out.push_back(action::CloseEndpoint{container_endpoint()});
  out.push_back(action::CloseEndpoint{remote_endpoint()});
  out.push_back(action::ProxyStopped{id_});
}

std::string ChannelProxy::Describe() const {
  return absl::StrCat("proxy ", id_.value, " '", name_, "'");
}

void ChannelProxy::OnEndpointSignalled(Instant /*now*/,
                                       const input::EndpointSignalled& in,
                                       ActionList& out) {
  if (stopped_) return;
  Direction* d = BySource(in.endpoint);
  if (d == nullptr) return;
  if ((in.signals & kSignalPeerClosed) &&
      mutants_.Has(Mutant::kProxyOnePerWake)) [[unlikely]] {
    // Like the seed: stop at once, dropping whatever is still readable.
    StopNow(absl::OkStatus(), out);
    return;
  }
  if (in.signals & kSignalPeerClosed) d->source_peer_closed = true;
  if (in.signals & (kSignalReadable | kSignalPeerClosed)) {
    // PX-3: even a bare PEER_CLOSED is answered by a read, which reports
    // PEER_CLOSED only once everything written before the close is read.
    d->wants_read = true;
  }
  Pump(*d, out);
  MaybeStop(out);
}

void ChannelProxy::OnMessageRead(Instant /*now*/, const input::MessageRead& in,
                                 ActionList& out) {
  if (stopped_) return;
  Direction* d = BySource(in.endpoint);
  if (d == nullptr || d->step != Step::kReading) return;
  d->step = Step::kIdle;
  switch (in.status) {
    case ChannelStatus::kOk:
      // Undeliverable once the destination's peer is gone: not counting it
      // keeps the counter from claiming a message nobody will handle.
      if (DestinationGone(*d)) break;
      if (d->counts) {
        // PX-2: the count is raised before the container can see the
        // message; the write waits for counter_added.
        d->message = in.message;
        d->step = Step::kCounting;
        out.push_back(action::CounterAdd{counter_, +1});
      } else {
        // Written at once: the bytes travel in the action, and the proxy
        // keeps only the mark that a message is being written (one copy of
        // a 64 KiB message is what the world pays per forward).
        d->message.emplace();
        d->step = Step::kWriting;
        out.push_back(action::WriteMessage{d->destination, in.message});
      }
      return;
    case ChannelStatus::kShouldWait:
      // A signal that arrived while this read was in flight may announce a
      // message the read missed; only a read issued after the peer closed
      // proves the drain complete.
      if (d->source_peer_closed && !d->wants_read) d->drained = true;
      break;
    case ChannelStatus::kPeerClosed:
      d->source_peer_closed = true;
      d->drained = true;
      d->wants_read = false;
      break;
    case ChannelStatus::kOutOfRange:
    case ChannelStatus::kBadHandle:
      StopWhenSettled(absl::InternalError(absl::StrCat(
                          Describe(), ": read from endpoint ", d->source.value,
                          " failed: ", ChannelStatusName(in.status))),
                      out);
      return;
  }
  Pump(*d, out);
  MaybeStop(out);
}

void ChannelProxy::OnCounterAdded(Instant /*now*/,
                                  const input::CounterAdded& in,
                                  ActionList& out) {
  if (stopped_) return;
  Direction& d = to_container_;
  if (in.counter != counter_ ||
      (d.step != Step::kCounting && d.step != Step::kTakingBack)) {
    return;
  }
  const bool taking_back = d.step == Step::kTakingBack;
  if (in.status != ChannelStatus::kOk) {
    d.step = Step::kIdle;
    d.message.reset();
    StopWhenSettled(absl::InternalError(absl::StrCat(
                        Describe(), ": counter ", counter_.value,
                        taking_back ? " take-back failed: " : " add failed: ",
                        ChannelStatusName(in.status))),
                    out);
    return;
  }
  if (taking_back) {
    d.step = Step::kIdle;
    MaybeStop(out);
    return;
  }
  if (d.counts_after_write) [[unlikely]] {
    // The message was already written; this count completes its forward.
    d.step = Step::kIdle;
    d.wants_read = true;
    Pump(d, out);
    MaybeStop(out);
    return;
  }
  PROCTOR_CHECK(d.message.has_value());
  if (DestinationGone(d)) {
    // PX-2: counted, but it can no longer enter the container.
    TakeBack(out);
    return;
  }
  // Also when stopping: delivering the counted message settles its count.
  d.step = Step::kWriting;
  // Not needed once written (a failed write stops the proxy): moved, not
  // copied.
  out.push_back(action::WriteMessage{d.destination, std::move(*d.message)});
}

void ChannelProxy::OnMessageWritten(Instant /*now*/,
                                    const input::MessageWritten& in,
                                    ActionList& out) {
  if (stopped_) return;
  Direction* d = ByDestination(in.endpoint);
  if (d == nullptr || d->step != Step::kWriting) return;
  PROCTOR_CHECK(d->message.has_value());
  // The count taken for this message is settled by this write or, if it
  // failed, by taking it back.
  const bool counted = d->counts;
  d->step = Step::kIdle;
  d->message.reset();
  switch (in.status) {
    case ChannelStatus::kOk:
      ++d->forwarded;
      if (d->counts_after_write) [[unlikely]] {
        d->step = Step::kCounting;
        out.push_back(action::CounterAdd{counter_, +1});
        break;
      }
      // Keep draining: the world signals edges, not levels, so the source
      // may hold more than the signal that started this forward announced.
      // (Mutant proxy-one-per-wake waits for the next signal instead.)
      if (!mutants_.Has(Mutant::kProxyOnePerWake)) [[likely]] {
        d->wants_read = true;
      }
      Pump(*d, out);
      break;
    case ChannelStatus::kPeerClosed: {
      // The destination's peer is gone. PX-3 as if the destination had
      // signalled PEER_CLOSED: forward what its peer wrote before closing.
      // A read in flight there may predate the close, so read once more.
      if (counted) TakeBack(out);
      Direction& from_destination = Opposite(*d);
      from_destination.source_peer_closed = true;
      from_destination.wants_read = true;
      Pump(from_destination, out);
      break;
    }
    case ChannelStatus::kShouldWait:
    case ChannelStatus::kOutOfRange:
    case ChannelStatus::kBadHandle:
      // SHOULD_WAIT means the destination's queue is full; there is no
      // "writable" signal to wait for, so the proxy gives up like the seed.
      if (counted) TakeBack(out);
      StopWhenSettled(
          absl::InternalError(absl::StrCat(
              Describe(), ": write to endpoint ", d->destination.value,
              " failed: ", ChannelStatusName(in.status))),
          out);
      return;
  }
  MaybeStop(out);
}

void ChannelProxy::Stop(Instant /*now*/, absl::Status why, ActionList& out) {
  if (stopped_) return;
  StopNow(std::move(why), out);
}

}  // namespace proctor
