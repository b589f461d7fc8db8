// The world's channels, counters and the peers on their far ends: the
// remote client that writes in bursts and reads what the proxy forwards, and
// the container that reads, handles each message after a delay, takes one
// off the proxy's counter, and sometimes writes back (CH-1, CT-1, PX-1..4,
// PW-4). Every change to an endpoint the proxy holds is announced with
// endpoint_signalled.
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/model/check.h"
#include "sim/world/internal/world_state.h"

namespace proctor::sim::world_internal {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;

// One byte more than CH-1 allows.
constexpr size_t kOversizedBytes = kMaxMessageBytes + 1;

}  // namespace

ProxySim* WorldState::FindProxy(ProxyId id) {
  if (id.value == 0 || id.value > proxies_.size()) return nullptr;
  return &proxies_[id.value - 1];
}

ProxySim* WorldState::ProxyOfKoid(uint64_t koid) {
  auto it = proxy_of_koid_.find(koid);
  return it == proxy_of_koid_.end() ? nullptr : &proxies_[it->second];
}

void WorldState::OnProxyAdd(ProxySim& p) {
  const uint32_t index = static_cast<uint32_t>(&p - proxies_.data());
  p.channels = std::make_unique<ChannelTable>(&koids_);
  auto remote = p.channels->CreatePair();
  auto container = p.channels->CreatePair();
  absl::StatusOr<CounterId> counter = counters_.Create(0);
  if (!remote.ok() || !container.ok() || !counter.ok()) {
    Fail(absl::InternalError(absl::StrCat(
        "the world could not create the channels of proxy ", p.id.value)));
    return;
  }
  p.r = remote->first;
  p.pr = remote->second;
  p.pc = container->first;
  p.c = container->second;
  p.counter = *counter;
  proxy_of_koid_.emplace(p.pr.value, index);
  proxy_of_koid_.emplace(p.pc.value, index);
  proxy_of_koid_.emplace(p.counter.value, index);
  // `a` is the peer's own end, `b` the end handed to the proxy.
  EmitFact(fact::ChannelCreated{p.r, p.pr});
  EmitFact(fact::ChannelCreated{p.c, p.pc});
  Deliver(input::AddProxy{NewRequest(RequestKind::kAddProxy, index, 0), p.id,
                          p.pc, p.pr, p.counter,
                          absl::StrCat("proxy-", p.id.value)});
}

void WorldState::OnProxyReply(ProxySim& p, const action::Reply& r) {
  if (!r.status.ok()) {
    // Refused: nobody will ever read these channels.
    p.failed = true;
    p.armed.clear();
    for (EndpointId e : {p.r, p.pr, p.pc, p.c}) p.channels->Close(e);
    p.channels.reset();
    EmitFact(fact::PeerClosed{p.r});
    EmitFact(fact::PeerClosed{p.c});
    return;
  }
  p.live = true;
  p.holds_pr = p.holds_pc = true;
  p.remote_open = p.container_open = true;
  if (quiet_) return;
  const uint32_t index = static_cast<uint32_t>(&p - proxies_.data());
  if (scripted()) {
    // No traffic but the script's; faults that came early act now.
    for (uint32_t fault : p.armed) {
      ScheduleAfter(0, Event{EventKind::kFault, fault});
    }
    p.armed.clear();
    return;
  }
  ScheduleAfter(p.rng.Between(0, 2 * kSec) * shape_.traffic_scale,
                Event{EventKind::kRemoteTraffic, index});
  p.container_writes = p.rng.Chance(500'000);
  if (p.container_writes) {
    ScheduleAfter(p.rng.Between(0, 5 * kSec) * shape_.traffic_scale,
                  Event{EventKind::kContainerTraffic, index});
  }
  // Faults that came before the proxy was live act now.
  for (uint32_t fault : p.armed) {
    ScheduleAfter(p.rng.Between(0, 1 * kSec), Event{EventKind::kFault, fault});
  }
  p.armed.clear();
}

size_t WorldState::MessageSize(Prng& rng) {
  const uint64_t pick = rng.Below(100);
  if (pick < 95) return rng.Between(8, 256);
  if (pick < 99) return rng.Between(257, 4096);
  return rng.Between(4097, kMaxMessageBytes);
}

bool WorldState::PeerWrites(ProxySim& p, Side side, size_t size) {
  const EndpointId from = side == kRemoteSide ? p.r : p.c;
  const uint64_t id = ++next_message_id_;
  const ChannelStatus status =
      p.channels->Write(from, Message{EncodeMessageBytes(id, size), {}});
  if (status != ChannelStatus::kOk) return false;  // closed or full
  EmitFact(fact::PeerWrote{from, id});
  return true;
}

void WorldState::ApplyProxyFault(ProxySim& p, uint32_t index) {
  const Fault& f = plan_.faults[index];
  const bool by_container =
      f.kind == FaultKind::kContainerClosesChannel ||
      (f.kind == FaultKind::kPeerOversizedMessage && f.b != 0);
  if (by_container && suspended_) {
    // A suspended container does nothing; it acts once it is awake.
    ScheduleAfter(p.rng.Between(100 * kMs, 1 * kSec),
                  Event{EventKind::kFault, index});
    return;
  }
  switch (f.kind) {
    case FaultKind::kRemoteBurstThenClose: {
      if (!p.remote_open) return;
      Fire(index);
      const int64_t burst = std::clamp<int64_t>(f.a, 0, kMaxFaultBurst);
      for (int64_t i = 0; i < burst; ++i) {
        PeerWrites(p, kRemoteSide, MessageSize(p.rng));
      }
      CloseRemote(p);
      return;
    }
    case FaultKind::kContainerClosesChannel:
      if (!p.container_open) return;
      Fire(index);
      CloseContainer(p);
      return;
    case FaultKind::kPeerOversizedMessage: {
      const bool remote = f.b == 0;
      if (!(remote ? p.remote_open : p.container_open)) return;
      const ChannelStatus status = p.channels->Write(
          remote ? p.r : p.c, Message{std::string(kOversizedBytes, 'x'), {}});
      PROCTOR_CHECK(status != ChannelStatus::kOk);
      if (status == ChannelStatus::kOutOfRange) Fire(index);
      return;
    }
    default:
      return;
  }
}

void WorldState::CloseRemote(ProxySim& p) {
  p.channels->Close(p.r);
  p.remote_open = false;
  EmitFact(fact::PeerClosed{p.r});
  ScheduleSignal(p, kRemoteSide);
}

void WorldState::CloseContainer(ProxySim& p) {
  // What was queued at C is lost with it; what the container already read
  // is still handled.
  p.channels->Close(p.c);
  p.container_open = false;
  EmitFact(fact::PeerClosed{p.c});
  ScheduleSignal(p, kContainerSide);
}

void WorldState::OnRemoteTraffic(ProxySim& p) {
  if (quiet_ || !p.remote_open) return;
  Prng& r = p.rng;
  const uint64_t pick = r.Below(10);
  const int64_t burst =
      pick < 7 ? 1 : (pick < 9 ? r.Between(2, 5) : r.Between(6, 20));
  bool wrote = false;
  for (int64_t i = 0; i < burst; ++i) {
    if (!PeerWrites(p, kRemoteSide, MessageSize(r))) break;
    wrote = true;
  }
  if (wrote) ScheduleSignal(p, kRemoteSide);
  ScheduleAfter(r.Between(50 * kMs, 4 * kSec) * shape_.traffic_scale,
                Event{EventKind::kRemoteTraffic,
                      static_cast<uint32_t>(&p - proxies_.data())});
}

void WorldState::OnContainerTraffic(ProxySim& p) {
  if (quiet_ || !p.container_open) return;
  Prng& r = p.rng;
  if (!suspended_) {
    const int64_t count = r.Between(1, 3);
    bool wrote = false;
    for (int64_t i = 0; i < count; ++i) {
      if (!PeerWrites(p, kContainerSide, MessageSize(r))) break;
      wrote = true;
    }
    if (wrote) ScheduleSignal(p, kContainerSide);
  }
  ScheduleAfter(r.Between(500 * kMs, 10 * kSec) * shape_.traffic_scale,
                Event{EventKind::kContainerTraffic,
                      static_cast<uint32_t>(&p - proxies_.data())});
}

void WorldState::ScheduleSignal(ProxySim& p, Side side) {
  // One pending signal per endpoint suffices: it reports the signals as
  // they are when it is delivered.
  if (p.signal_pending[side]) return;
  p.signal_pending[side] = true;
  ScheduleAfter(0, Event{EventKind::kSignal,
                         static_cast<uint32_t>(&p - proxies_.data()), 0, side});
}

void WorldState::OnSignal(ProxySim& p, Side side) {
  p.signal_pending[side] = false;
  if (!(side == kRemoteSide ? p.holds_pr : p.holds_pc)) return;
  const EndpointId endpoint = side == kRemoteSide ? p.pr : p.pc;
  const Signals signals = p.channels->SignalsOf(endpoint);
  if (signals == kSignalNone) return;
  Deliver(input::EndpointSignalled{endpoint, signals});
}

void WorldState::ScheduleRemoteRead(ProxySim& p) {
  if (p.remote_read_pending || !p.remote_open) return;
  p.remote_read_pending = true;
  ScheduleAfter(latency_rng_.Between(0, 2 * kMs),
                Event{EventKind::kRemoteRead,
                      static_cast<uint32_t>(&p - proxies_.data())});
}

void WorldState::OnRemoteRead(ProxySim& p) {
  p.remote_read_pending = false;
  while (p.remote_open) {
    Message m;
    switch (p.channels->Read(p.r, &m)) {
      case ChannelStatus::kOk:
        EmitFact(fact::PeerReceived{p.r, DecodeMessageId(m.bytes).value_or(0)});
        continue;
      case ChannelStatus::kPeerClosed:
        // The proxy is gone and everything it forwarded has been read.
        p.channels->Close(p.r);
        p.remote_open = false;
        EmitFact(fact::PeerClosed{p.r});
        return;
      default:
        return;
    }
  }
}

void WorldState::ScheduleContainerRead(ProxySim& p) {
  if (p.container_read_pending || !p.container_open) return;
  p.container_read_pending = true;
  ScheduleAfter(latency_rng_.Between(0, 1 * kMs),
                Event{EventKind::kContainerRead,
                      static_cast<uint32_t>(&p - proxies_.data())});
}

void WorldState::Stall(ProxySim& p) {
  if (p.stalled) return;
  p.stalled = true;
  stalled_.push_back(static_cast<uint32_t>(&p - proxies_.data()));
}

void WorldState::OnContainerRead(ProxySim& p) {
  p.container_read_pending = false;
  if (!p.container_open) return;
  if (suspended_) {
    Stall(p);
    return;
  }
  while (p.container_open) {
    Message m;
    const ChannelStatus status = p.channels->Read(p.c, &m);
    if (status == ChannelStatus::kOk) {
      EmitFact(fact::PeerReceived{p.c, DecodeMessageId(m.bytes).value_or(0)});
      ++p.unhandled;
      continue;
    }
    if (status == ChannelStatus::kPeerClosed) {
      p.channels->Close(p.c);
      p.container_open = false;
      EmitFact(fact::PeerClosed{p.c});
    }
    break;
  }
  if (p.unhandled > 0) ScheduleHandle(p);
}

void WorldState::ScheduleHandle(ProxySim& p) {
  if (p.handle_pending) return;
  p.handle_pending = true;
  ScheduleAfter(p.rng.Between(0, 50 * kMs),
                Event{EventKind::kContainerHandle,
                      static_cast<uint32_t>(&p - proxies_.data())});
}

void WorldState::OnContainerHandle(ProxySim& p) {
  p.handle_pending = false;
  if (p.unhandled == 0) return;
  if (suspended_) {
    Stall(p);
    return;
  }
  --p.unhandled;
  int64_t value = 0;
  counters_.Add(p.counter, -1, &value);
  EmitFact(fact::ContainerHandled{p.counter, value});
  Deliver(input::CounterChanged{p.counter, value});
  if (p.unhandled > 0) ScheduleHandle(p);
}

// ---- Actions on channels and counters ----

void WorldState::Execute(action::ReadMessage& a) {
  ProxySim* p = ProxyOfKoid(a.endpoint.value);
  // Only the ends handed to the proxy are the SUT's to read.
  if (p == nullptr || p->channels == nullptr ||
      (a.endpoint != p->pr && a.endpoint != p->pc)) {
    ScheduleInput(
        FastCompletionAt(0),
        input::MessageRead{a.endpoint, ChannelStatus::kBadHandle, {}});
    return;
  }
  Message m;
  const ChannelStatus status = p->channels->Read(a.endpoint, &m);
  ScheduleInput(FastCompletionAt(p->id.value),
                input::MessageRead{a.endpoint, status, std::move(m)});
}

void WorldState::Execute(action::WriteMessage& a) {
  ProxySim* p = ProxyOfKoid(a.endpoint.value);
  if (p == nullptr || p->channels == nullptr ||
      (a.endpoint != p->pr && a.endpoint != p->pc)) {
    ScheduleInput(FastCompletionAt(0),
                  input::MessageWritten{a.endpoint, ChannelStatus::kBadHandle});
    return;
  }
  const ChannelStatus status =
      p->channels->Write(a.endpoint, std::move(a.message));
  ScheduleInput(FastCompletionAt(p->id.value),
                input::MessageWritten{a.endpoint, status});
  if (status != ChannelStatus::kOk) return;
  if (a.endpoint == p->pc) {
    ScheduleContainerRead(*p);
  } else {
    ScheduleRemoteRead(*p);
  }
}

void WorldState::Execute(action::CloseEndpoint& a) {
  ProxySim* p = ProxyOfKoid(a.endpoint.value);
  if (p == nullptr || p->channels == nullptr) return;
  if (a.endpoint == p->pr && p->holds_pr) {
    p->holds_pr = false;
    p->channels->Close(p->pr);
    ScheduleRemoteRead(*p);  // the remote notices PEER_CLOSED
  } else if (a.endpoint == p->pc && p->holds_pc) {
    p->holds_pc = false;
    p->channels->Close(p->pc);
    ScheduleContainerRead(*p);
  }
}

void WorldState::Execute(action::CounterAdd& a) {
  ProxySim* p = ProxyOfKoid(a.counter.value);
  int64_t value = 0;
  const ChannelStatus status = counters_.Add(a.counter, a.delta, &value);
  ScheduleInput(FastCompletionAt(p != nullptr ? p->id.value : 0),
                input::CounterAdded{a.counter, status, value});
}

}  // namespace proctor::sim::world_internal
