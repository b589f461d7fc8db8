// Model-based properties of the world-side value models of channels (CH-1)
// and counters (CT-1): random sequences of operations on a ChannelTable /
// CounterTable are checked, step by step, against plain models written from
// docs/spec.md (CH-1, CT-1 and the project additions on bounds, SHOULD_WAIT
// and BAD_HANDLE) and the tables' documented contracts (channel.h,
// counter.h).
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "rapidcheck/state.h"
#include "runtime/channel/channel.h"
#include "runtime/channel/counter.h"
#include "runtime/model/channel_types.h"
#include "runtime/model/ids.h"

namespace proctor {
namespace {

// ---------------------------------------------------------------------------
// CH-1: channels.

// Small capacities, so that the bounds are reached often.
constexpr size_t kMaxChannels = 3;
constexpr size_t kMaxQueued = 3;
constexpr uint64_t kFirstKoid = 1;
// A koid the table never hands out.
constexpr uint64_t kUnknownKoid = 999;

// What CH-1 says a channel table is: endpoints in pairs; each is open or
// closed, knows whether its peer is closed, and holds the messages its peer
// wrote, oldest first.
struct ChannelModel {
  struct Endpoint {
    uint64_t peer = 0;
    bool open = true;
    bool peer_closed = false;
    std::deque<Message> queue;
  };
  std::map<uint64_t, Endpoint> endpoints;  // every koid handed out
  uint64_t next_koid = kFirstKoid;
  uint64_t next_message = 0;

  bool IsOpen(uint64_t koid) const {
    auto it = endpoints.find(koid);
    return it != endpoints.end() && it->second.open;
  }
  // A channel is open while one of its endpoints is.
  size_t OpenChannels() const {
    size_t n = 0;
    for (const auto& [koid, e] : endpoints) {
      if (koid < e.peer && (e.open || endpoints.at(e.peer).open)) ++n;
    }
    return n;
  }
  size_t OpenEndpoints() const {
    size_t n = 0;
    for (const auto& [koid, e] : endpoints) n += e.open ? 1 : 0;
    return n;
  }
  // CH-1: READABLE iff the queue is non-empty, PEER_CLOSED iff the other
  // endpoint is closed; nothing for an endpoint that is not open.
  Signals SignalsOf(uint64_t koid) const {
    if (!IsOpen(koid)) return kSignalNone;
    const Endpoint& e = endpoints.at(koid);
    Signals s = kSignalNone;
    if (!e.queue.empty()) s |= kSignalReadable;
    if (e.peer_closed) s |= kSignalPeerClosed;
    return s;
  }
  // Endpoint koids worth naming in a command: every one handed out and one
  // that never was.
  std::vector<uint64_t> Koids() const {
    std::vector<uint64_t> koids = {kUnknownKoid};
    for (const auto& [koid, e] : endpoints) koids.push_back(koid);
    return koids;
  }
  std::vector<uint64_t> OpenKoids() const {
    std::vector<uint64_t> koids;
    for (const auto& [koid, e] : endpoints) {
      if (e.open) koids.push_back(koid);
    }
    return koids;
  }
};

// Mostly an open endpoint, so that most operations get past BAD_HANDLE;
// sometimes any koid, closed or unknown.
rc::Gen<uint64_t> GenEndpoint(const ChannelModel& m) {
  const std::vector<uint64_t> open = m.OpenKoids();
  if (open.empty() || *rc::gen::inRange(0, 5) == 0) {
    return rc::gen::elementOf(m.Koids());
  }
  return rc::gen::elementOf(open);
}

struct ChannelSut {
  ChannelTable table{kFirstKoid, kMaxChannels, kMaxQueued};
};

using ChannelCommand = rc::state::Command<ChannelModel, ChannelSut>;

// After every command: every endpoint's signals, queue length and openness,
// and the table's counts agree with the model.
void CheckObservables(const ChannelModel& m, const ChannelSut& sut) {
  for (uint64_t koid : m.Koids()) {
    const EndpointId e{koid};
    RC_ASSERT(sut.table.SignalsOf(e) == m.SignalsOf(koid));
    RC_ASSERT(sut.table.IsOpen(e) == m.IsOpen(koid));
    const size_t queued =
        m.IsOpen(koid) ? m.endpoints.at(koid).queue.size() : size_t{0};
    RC_ASSERT(sut.table.QueuedMessages(e) == queued);
  }
  RC_ASSERT(sut.table.open_endpoints() == m.OpenEndpoints());
  RC_ASSERT(sut.table.open_channels() == m.OpenChannels());
}

std::string ShowStatus(ChannelStatus s) {
  return std::string(ChannelStatusName(s));
}

struct CreatePair : ChannelCommand {
  void apply(ChannelModel& m) const override {
    if (m.OpenChannels() >= kMaxChannels) return;  // refused
    const uint64_t a = m.next_koid;
    const uint64_t b = m.next_koid + 1;
    m.next_koid += 2;
    m.endpoints[a].peer = b;
    m.endpoints[b].peer = a;
  }
  void run(const ChannelModel& m, ChannelSut& sut) const override {
    auto pair = sut.table.CreatePair();
    if (m.OpenChannels() >= kMaxChannels) {
      RC_ASSERT(pair.status().code() == absl::StatusCode::kResourceExhausted);
    } else {
      RC_ASSERT(pair.ok());
      // Fresh koids from the table's counter.
      RC_ASSERT(pair->first.value == m.next_koid);
      RC_ASSERT(pair->second.value == m.next_koid + 1);
    }
    CheckObservables(nextState(m), sut);
  }
  void show(std::ostream& os) const override { os << "CreatePair"; }
};

// What a peer may write: ordinary messages, messages exactly at the CH-1
// bounds, and messages one past them.
enum class Size : uint8_t { kSmall, kMaxBytes, kMaxHandles, kTooBig, kTooMany };

struct Write : ChannelCommand {
  uint64_t from;
  Size size;
  Message message;

  explicit Write(const ChannelModel& m)
      : from(*GenEndpoint(m)),
        size(*rc::gen::weightedElement<Size>({{12, Size::kSmall},
                                              {1, Size::kMaxBytes},
                                              {1, Size::kMaxHandles},
                                              {1, Size::kTooBig},
                                              {1, Size::kTooMany}})) {
    // Every message is distinct, so delivery twice or out of order shows.
    std::string id = absl::StrCat("msg-", m.next_message, ";");
    message.bytes = id;
    const size_t handles = *rc::gen::inRange<size_t>(0, 4);
    switch (size) {
      case Size::kSmall:
        message.bytes += *rc::gen::container<std::string>(
            *rc::gen::inRange<size_t>(0, 16), rc::gen::character<char>());
        for (size_t i = 0; i < handles; ++i) {
          message.handles.push_back(HandleId{1000 + i});
        }
        break;
      case Size::kMaxBytes:
        message.bytes.resize(kMaxMessageBytes, 'x');
        break;
      case Size::kTooBig:
        message.bytes.resize(kMaxMessageBytes + 1, 'x');
        break;
      case Size::kMaxHandles:
      case Size::kTooMany: {
        const size_t n = size == Size::kMaxHandles ? kMaxMessageHandles
                                                   : kMaxMessageHandles + 1;
        for (size_t i = 0; i < n; ++i) {
          message.handles.push_back(HandleId{2000 + i});
        }
        break;
      }
    }
  }

  // The status CH-1 (and channel.h's order of checks) predicts.
  ChannelStatus Expected(const ChannelModel& m) const {
    if (!m.IsOpen(from)) return ChannelStatus::kBadHandle;
    if (message.bytes.size() > kMaxMessageBytes ||
        message.handles.size() > kMaxMessageHandles) {
      return ChannelStatus::kOutOfRange;
    }
    const ChannelModel::Endpoint& e = m.endpoints.at(from);
    if (e.peer_closed) return ChannelStatus::kPeerClosed;
    if (m.endpoints.at(e.peer).queue.size() >= kMaxQueued) {
      return ChannelStatus::kShouldWait;
    }
    return ChannelStatus::kOk;
  }

  void apply(ChannelModel& m) const override {
    ++m.next_message;
    if (Expected(m) != ChannelStatus::kOk) return;  // nothing is queued
    m.endpoints.at(m.endpoints.at(from).peer).queue.push_back(message);
  }
  void run(const ChannelModel& m, ChannelSut& sut) const override {
    const ChannelStatus got = sut.table.Write(EndpointId{from}, message);
    RC_ASSERT(ShowStatus(got) == ShowStatus(Expected(m)));
    CheckObservables(nextState(m), sut);
  }
  void show(std::ostream& os) const override {
    os << "Write(from=" << from << ", " << message.bytes.substr(0, 12)
       << "..., " << message.bytes.size() << " bytes, "
       << message.handles.size() << " handles)";
  }
};

struct Read : ChannelCommand {
  uint64_t at;
  explicit Read(const ChannelModel& m) : at(*GenEndpoint(m)) {}

  void apply(ChannelModel& m) const override {
    if (m.IsOpen(at) && !m.endpoints.at(at).queue.empty()) {
      m.endpoints.at(at).queue.pop_front();
    }
  }
  void run(const ChannelModel& m, ChannelSut& sut) const override {
    const Message sentinel{"untouched", {HandleId{7}}};
    Message out = sentinel;
    const ChannelStatus got = sut.table.Read(EndpointId{at}, &out);
    if (!m.IsOpen(at)) {
      RC_ASSERT(ShowStatus(got) == ShowStatus(ChannelStatus::kBadHandle));
      RC_ASSERT(out == sentinel);
    } else if (const ChannelModel::Endpoint& e = m.endpoints.at(at);
               !e.queue.empty()) {
      // Whole, in order, exactly once: the oldest message, as written. This
      // holds after the peer closed too.
      RC_ASSERT(ShowStatus(got) == ShowStatus(ChannelStatus::kOk));
      RC_ASSERT(out == e.queue.front());
    } else {
      const ChannelStatus want = e.peer_closed ? ChannelStatus::kPeerClosed
                                               : ChannelStatus::kShouldWait;
      RC_ASSERT(ShowStatus(got) == ShowStatus(want));
      RC_ASSERT(out == sentinel);
    }
    CheckObservables(nextState(m), sut);
  }
  void show(std::ostream& os) const override { os << "Read(at=" << at << ")"; }
};

struct Close : ChannelCommand {
  uint64_t endpoint;
  explicit Close(const ChannelModel& m) : endpoint(*GenEndpoint(m)) {}

  void apply(ChannelModel& m) const override {
    if (!m.IsOpen(endpoint)) return;  // closing again does nothing
    ChannelModel::Endpoint& e = m.endpoints.at(endpoint);
    e.open = false;
    e.queue.clear();  // what was queued at it is discarded
    ChannelModel::Endpoint& peer = m.endpoints.at(e.peer);
    if (peer.open) peer.peer_closed = true;
  }
  void run(const ChannelModel& m, ChannelSut& sut) const override {
    sut.table.Close(EndpointId{endpoint});
    CheckObservables(nextState(m), sut);
  }
  void show(std::ostream& os) const override {
    os << "Close(" << endpoint << ")";
  }
};

RC_GTEST_PROP(ChannelProperty, CH1_MessagesArriveWholeInOrderExactlyOnce, ()) {
  ChannelSut sut;
  // Sequences twice as long as RapidCheck's default, so that queues fill
  // up to their bound now and then.
  const ChannelModel initial;
  const auto commands = *rc::gen::scale(
      2.0,
      rc::state::gen::commands(
          initial,
          rc::state::gen::execOneOfWithArgs<CreatePair, Write, Write, Write,
                                            Write, Read, Read, Read, Close>()));
  rc::state::runAll(commands, initial, sut);
}

// ---------------------------------------------------------------------------
// CT-1: counters.

constexpr size_t kMaxCounters = 3;
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// CT-1: a signed 64-bit value per live counter.
struct CounterModel {
  std::map<uint64_t, int64_t> live;
  uint64_t next_koid = kFirstKoid;

  std::vector<uint64_t> Koids() const {
    std::vector<uint64_t> koids = {kUnknownKoid};
    for (uint64_t k = kFirstKoid; k < next_koid; ++k) koids.push_back(k);
    return koids;
  }
};

// The sum in exact arithmetic, or nothing if it does not fit in 64 bits.
std::optional<int64_t> ExactSum(int64_t a, int64_t b) {
  const __int128 sum = static_cast<__int128>(a) + static_cast<__int128>(b);
  if (sum < kMin || sum > kMax) return std::nullopt;
  return static_cast<int64_t>(sum);
}

// CT-1: exactly one of POSITIVE (> 0) and NON_POSITIVE (<= 0).
Signals CounterSignals(int64_t value) {
  return value > 0 ? kSignalPositive : kSignalNonPositive;
}

// Values near the edges of int64_t, where overflow lives, and small ones.
rc::Gen<int64_t> GenCounterValue() {
  return rc::gen::oneOf(rc::gen::elementOf(std::vector<int64_t>{
                            0, 1, -1, kMax, kMin, kMax - 1, kMin + 1}),
                        rc::gen::inRange<int64_t>(-5, 6),
                        rc::gen::arbitrary<int64_t>());
}

struct CounterSut {
  CounterTable table{kFirstKoid, kMaxCounters};
};

using CounterCommand = rc::state::Command<CounterModel, CounterSut>;

void CheckCounters(const CounterModel& m, const CounterSut& sut) {
  RC_ASSERT(sut.table.size() == m.live.size());
  for (uint64_t koid : m.Koids()) {
    const CounterId c{koid};
    auto it = m.live.find(koid);
    if (it == m.live.end()) {
      RC_ASSERT(!sut.table.Value(c).has_value());
      RC_ASSERT(sut.table.SignalsOf(c) == kSignalNone);
    } else {
      RC_ASSERT(sut.table.Value(c) == std::optional<int64_t>(it->second));
      RC_ASSERT(sut.table.SignalsOf(c) == CounterSignals(it->second));
    }
  }
}

struct CreateCounter : CounterCommand {
  int64_t initial = *GenCounterValue();
  void apply(CounterModel& m) const override {
    if (m.live.size() >= kMaxCounters) return;
    m.live[m.next_koid++] = initial;
  }
  void run(const CounterModel& m, CounterSut& sut) const override {
    auto id = sut.table.Create(initial);
    if (m.live.size() >= kMaxCounters) {
      RC_ASSERT(id.status().code() == absl::StatusCode::kResourceExhausted);
    } else {
      RC_ASSERT(id.ok());
      RC_ASSERT(id->value == m.next_koid);
    }
    CheckCounters(nextState(m), sut);
  }
  void show(std::ostream& os) const override {
    os << "Create(" << initial << ")";
  }
};

struct AddToCounter : CounterCommand {
  uint64_t counter;
  int64_t delta;
  explicit AddToCounter(const CounterModel& m)
      : counter(*rc::gen::elementOf(m.Koids())), delta(*GenCounterValue()) {}

  void apply(CounterModel& m) const override {
    auto it = m.live.find(counter);
    if (it == m.live.end()) return;
    // CT-1: an add that overflows changes nothing.
    if (std::optional<int64_t> sum = ExactSum(it->second, delta)) {
      it->second = *sum;
    }
  }
  void run(const CounterModel& m, CounterSut& sut) const override {
    constexpr int64_t kSentinel = 424242;
    int64_t after = kSentinel;
    const ChannelStatus got = sut.table.Add(CounterId{counter}, delta, &after);
    auto it = m.live.find(counter);
    if (it == m.live.end()) {
      RC_ASSERT(ShowStatus(got) == ShowStatus(ChannelStatus::kBadHandle));
      RC_ASSERT(after == kSentinel);
    } else if (std::optional<int64_t> sum = ExactSum(it->second, delta)) {
      RC_ASSERT(ShowStatus(got) == ShowStatus(ChannelStatus::kOk));
      RC_ASSERT(after == *sum);
    } else {
      RC_ASSERT(ShowStatus(got) == ShowStatus(ChannelStatus::kOutOfRange));
      RC_ASSERT(after == it->second);
    }
    CheckCounters(nextState(m), sut);
  }
  void show(std::ostream& os) const override {
    os << "Add(counter=" << counter << ", delta=" << delta << ")";
  }
};

struct CloseCounter : CounterCommand {
  uint64_t counter;
  explicit CloseCounter(const CounterModel& m)
      : counter(*rc::gen::elementOf(m.Koids())) {}
  void apply(CounterModel& m) const override { m.live.erase(counter); }
  void run(const CounterModel& m, CounterSut& sut) const override {
    sut.table.Close(CounterId{counter});
    CheckCounters(nextState(m), sut);
  }
  void show(std::ostream& os) const override {
    os << "Close(" << counter << ")";
  }
};

RC_GTEST_PROP(CounterProperty, CT1_AddFailsOnOverflowAndChangesNothing, ()) {
  CounterSut sut;
  rc::state::check(
      CounterModel{}, sut,
      rc::state::gen::execOneOfWithArgs<CreateCounter, AddToCounter,
                                        AddToCounter, AddToCounter,
                                        CloseCounter>());
}

// The same rule on a lone Counter, with a long run of adds from any start.
RC_GTEST_PROP(CounterProperty, CT1_LoneCounterIsCheckedSignedArithmetic, ()) {
  const int64_t start = *GenCounterValue();
  const auto deltas =
      *rc::gen::container<std::vector<int64_t>>(GenCounterValue());
  Counter counter(start);
  int64_t model = start;
  RC_ASSERT(counter.signals() == CounterSignals(model));
  for (int64_t delta : deltas) {
    const ChannelStatus got = counter.Add(delta);
    if (std::optional<int64_t> sum = ExactSum(model, delta)) {
      RC_ASSERT(ShowStatus(got) == ShowStatus(ChannelStatus::kOk));
      model = *sum;
    } else {
      RC_ASSERT(ShowStatus(got) == ShowStatus(ChannelStatus::kOutOfRange));
    }
    RC_ASSERT(counter.value() == model);
    RC_ASSERT(counter.signals() == CounterSignals(model));
  }
}

}  // namespace
}  // namespace proctor
