// Model-based properties of ChannelProxy (PX-1..PX-3): the proxy is driven
// only through its inputs by a small world of its own (two channels and a
// counter, written here from CH-1 and CT-1, not the runtime's value models).
// RapidCheck chooses what the peers do (write, close, the container handles
// a message) and in which order the world's answers reach the proxy
// (completions and endpoint signals, in any order the contract allows: each
// direction has at most one operation in flight).
//
// The model is what the spec obliges the proxy to deliver: the messages each
// peer wrote while the proxy surely held its endpoints, and which peers have
// closed. Every action the proxy emits is executed at once against the world
// and checked against the rules (in order, exactly once, whole; PX-2's
// count before every write into the container and never for a message
// leaving it; PX-3's close order). At the end the world is allowed to settle
// (every pending answer delivered) and the liveness half is checked: nothing
// lost, the proxy stopped iff a peer closed, both ends closed, every count
// settled. The proxy has no timers, so time passing changes nothing; an
// AdvanceTime command checks just that.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "rapidcheck/state.h"
#include "runtime/channel/channel_proxy.h"
#include "runtime/model/action.h"
#include "runtime/model/channel_types.h"
#include "runtime/model/describe.h"
#include "runtime/model/ids.h"
#include "runtime/model/input.h"
#include "runtime/model/time.h"

namespace proctor {
namespace {

constexpr EndpointId kC{10};  // the proxy's container endpoint
constexpr EndpointId kR{20};  // the proxy's remote endpoint
constexpr CounterId kK{30};
constexpr ProxyId kProxy{1};
// Koids the proxy does not hold: inputs about them must be ignored.
constexpr EndpointId kStrayEndpoint{99};
constexpr CounterId kStrayCounter{98};

// Fails the property with a message built only when the check fails.
#define PX_EXPECT(cond, ...)                         \
  do {                                               \
    if (!(cond)) RC_FAIL(absl::StrCat(__VA_ARGS__)); \
  } while (false)

// What the spec obliges: the messages each peer wrote while the proxy
// certainly held its endpoint (before either peer closed, the proxy has no
// reason to stop), and which peers have closed.
struct ProxyModel {
  std::vector<Message> remote_written;
  std::vector<Message> container_written;
  bool remote_closed = false;
  bool container_closed = false;
  uint64_t next_id = 0;
};

// The two directions; each has at most one operation in flight.
enum Dir : int { kToContainer = 0, kToRemote = 1 };

// One channel between the proxy's endpoint and a peer (CH-1).
struct Channel {
  std::deque<Message> at_proxy;  // written by the peer
  std::deque<Message> at_peer;   // written by the proxy
  bool proxy_open = true;
  bool peer_open = true;

  Signals ProxySignals() const {
    if (!proxy_open) return kSignalNone;
    Signals s = kSignalNone;
    if (!at_proxy.empty()) s |= kSignalReadable;
    if (!peer_open) s |= kSignalPeerClosed;
    return s;
  }
  ChannelStatus ProxyRead(Message* out) {
    if (!proxy_open) return ChannelStatus::kBadHandle;
    if (!at_proxy.empty()) {
      *out = std::move(at_proxy.front());
      at_proxy.pop_front();
      return ChannelStatus::kOk;
    }
    return peer_open ? ChannelStatus::kShouldWait : ChannelStatus::kPeerClosed;
  }
  ChannelStatus ProxyWrite(const Message& m) {
    if (!proxy_open) return ChannelStatus::kBadHandle;
    if (!peer_open) return ChannelStatus::kPeerClosed;
    at_peer.push_back(m);
    return ChannelStatus::kOk;
  }
  ChannelStatus PeerWrite(const Message& m) {
    if (!peer_open) return ChannelStatus::kBadHandle;
    if (!proxy_open) return ChannelStatus::kPeerClosed;
    at_proxy.push_back(m);
    return ChannelStatus::kOk;
  }
};

// A read or a write the world performs only when it answers (late mode).
struct DoRead {
  EndpointId endpoint;
};
struct DoWrite {
  EndpointId endpoint;
  Message message;
};

// An answer the world owes the proxy.
struct Pending {
  std::variant<input::MessageRead, input::MessageWritten, input::CounterAdded,
               input::EndpointSignalled, DoRead, DoWrite>
      input;
};

std::string Show(const Message& m) { return DescribeMessage(m); }

// The system under test: the proxy and the world around it. In late mode
// the world performs a read or a write when it answers it rather than when
// it is asked, so that the channel may change in between (the host world's
// asynchronous I/O); otherwise at once, as the simulator does.
class ProxyWorld {
 public:
  explicit ProxyWorld(bool late) : late(late) {}

  const bool late;
  ChannelProxy proxy{kProxy, kC, kR, kK, "property"};
  Instant now = Instant::FromNanos(1);
  Channel container;  // kC <-> the container peer
  Channel remote;     // kR <-> the remote peer
  int64_t counter = 0;
  uint64_t handled = 0;
  // Everything each peer managed to write, in order.
  std::vector<Message> remote_accepted;
  std::vector<Message> container_accepted;
  // Everything the proxy wrote into each peer's side with success.
  std::vector<Message> delivered_to_container;
  std::vector<Message> delivered_to_remote;
  // PX-2: counts taken (+1 executed) and not yet settled by a successful
  // write into the container or a take-back (-1).
  int unsettled_counts = 0;
  // The world has confirmed that count (counter_added delivered).
  bool count_confirmed = false;
  bool in_flight[2] = {false, false};
  std::vector<EndpointId> closed_by_proxy;
  bool stopped = false;
  std::deque<Pending> pending;
  bool signal_pending[2] = {false, false};  // [kToContainer]: kR

  Channel& ChannelOf(EndpointId e) { return e == kC ? container : remote; }

  // ---- the world's side ----

  // One pending signal per endpoint suffices: it reports the signals as they
  // are when it is delivered.
  void ScheduleSignal(EndpointId e) {
    bool& flag = signal_pending[e == kR ? kToContainer : kToRemote];
    if (flag) return;
    flag = true;
    pending.push_back(Pending{input::EndpointSignalled{e, kSignalNone}});
  }

  void DeliverPending(size_t index) {
    if (pending.empty()) return;
    index %= pending.size();
    Pending p = std::move(pending[index]);
    pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(index));
    Deliver(std::move(p));
  }

  void Deliver(Pending p) {
    ActionList out;
    if (auto* read = std::get_if<input::MessageRead>(&p.input)) {
      in_flight[read->endpoint == kR ? kToContainer : kToRemote] = false;
      proxy.OnMessageRead(now, *read, out);
    } else if (auto* written = std::get_if<input::MessageWritten>(&p.input)) {
      in_flight[written->endpoint == kC ? kToContainer : kToRemote] = false;
      proxy.OnMessageWritten(now, *written, out);
    } else if (auto* added = std::get_if<input::CounterAdded>(&p.input)) {
      in_flight[kToContainer] = false;
      if (unsettled_counts == 1) count_confirmed = true;
      proxy.OnCounterAdded(now, *added, out);
    } else if (auto* read = std::get_if<DoRead>(&p.input)) {
      Deliver(Pending{PerformRead(read->endpoint)});
      return;
    } else if (auto* write = std::get_if<DoWrite>(&p.input)) {
      Deliver(Pending{PerformWrite(write->endpoint, write->message)});
      return;
    } else {
      auto& signalled = std::get<input::EndpointSignalled>(p.input);
      signal_pending[signalled.endpoint == kR ? kToContainer : kToRemote] =
          false;
      signalled.signals = ChannelOf(signalled.endpoint).ProxySignals();
      if (signalled.signals == kSignalNone) return;
      proxy.OnEndpointSignalled(now, signalled, out);
    }
    Execute(out);
  }

  // Executes the proxy's actions in order, checking each against the rules.
  void Execute(const ActionList& actions) {
    for (const Action& action : actions) {
      PX_EXPECT(!stopped,
                "action after proxy_stopped: ", DescribeAction(action));
      if (const auto* a = std::get_if<action::ReadMessage>(&action)) {
        PX_EXPECT(a->endpoint == kC || a->endpoint == kR,
                  "read from an endpoint the proxy does not hold: ",
                  DescribeAction(action));
        const Dir d = a->endpoint == kR ? kToContainer : kToRemote;
        PX_EXPECT(!in_flight[d], "two operations in flight in one direction: ",
                  DescribeAction(action));
        in_flight[d] = true;
        if (late) {
          pending.push_back(Pending{DoRead{a->endpoint}});
        } else {
          pending.push_back(Pending{PerformRead(a->endpoint)});
        }
      } else if (const auto* a = std::get_if<action::WriteMessage>(&action)) {
        ExecuteWrite(*a);
      } else if (const auto* a = std::get_if<action::CounterAdd>(&action)) {
        PX_EXPECT(a->counter == kK,
                  "counter_add on another counter: ", DescribeAction(action));
        PX_EXPECT(!in_flight[kToContainer],
                  "two operations in flight towards the container: ",
                  DescribeAction(action));
        in_flight[kToContainer] = true;
        if (a->delta == 1) {
          // PX-2: one count per message entering the container, taken
          // before its write; messages leaving it take none.
          ++unsettled_counts;
          PX_EXPECT(unsettled_counts == 1,
                    "PX-2: a second count before the first was settled "
                    "(a message leaving the container counted?)");
        } else {
          PX_EXPECT(a->delta == -1, "counter_add by ", a->delta);
          PX_EXPECT(unsettled_counts == 1,
                    "PX-2: a take-back without an undelivered count");
          --unsettled_counts;
          count_confirmed = false;
        }
        counter += a->delta;
        pending.push_back(
            Pending{input::CounterAdded{kK, ChannelStatus::kOk, counter}});
      } else if (const auto* a = std::get_if<action::CloseEndpoint>(&action)) {
        PX_EXPECT(a->endpoint == kC || a->endpoint == kR,
                  "close of an endpoint the proxy does not hold: ",
                  DescribeAction(action));
        Channel& ch = ChannelOf(a->endpoint);
        PX_EXPECT(ch.proxy_open,
                  "endpoint closed twice: ", DescribeAction(action));
        ch.proxy_open = false;
        ch.at_proxy.clear();
        closed_by_proxy.push_back(a->endpoint);
      } else if (const auto* a = std::get_if<action::ProxyStopped>(&action)) {
        PX_EXPECT(a->proxy == kProxy, DescribeAction(action));
        CheckStop();
        stopped = true;
      } else {
        RC_FAIL(absl::StrCat("unexpected action: ", DescribeAction(action)));
      }
    }
  }

  void ExecuteWrite(const action::WriteMessage& a) {
    PX_EXPECT(a.endpoint == kC || a.endpoint == kR,
              "write to an endpoint the proxy does not hold: ",
              DescribeAction(Action(a)));
    const Dir d = a.endpoint == kC ? kToContainer : kToRemote;
    PX_EXPECT(!in_flight[d], "two operations in flight in one direction: ",
              DescribeAction(Action(a)));
    in_flight[d] = true;
    if (d == kToContainer) {
      // PX-2: the counter was incremented before the message is written:
      // the proxy asked for the count and saw it confirmed.
      PX_EXPECT(unsettled_counts == 1 && count_confirmed,
                "PX-2: write into the container without a count taken "
                "before it: ",
                DescribeAction(Action(a)));
    }
    if (late) {
      pending.push_back(Pending{DoWrite{a.endpoint, a.message}});
    } else {
      pending.push_back(Pending{PerformWrite(a.endpoint, a.message)});
    }
  }

  input::MessageRead PerformRead(EndpointId e) {
    Message m;
    const ChannelStatus s = ChannelOf(e).ProxyRead(&m);
    return input::MessageRead{
        e, s, s == ChannelStatus::kOk ? std::move(m) : Message{}};
  }

  input::MessageWritten PerformWrite(EndpointId e, const Message& message) {
    const Dir d = e == kC ? kToContainer : kToRemote;
    const std::vector<Message>& source =
        d == kToContainer ? remote_accepted : container_accepted;
    std::vector<Message>& delivered =
        d == kToContainer ? delivered_to_container : delivered_to_remote;
    const ChannelStatus s = ChannelOf(e).ProxyWrite(message);
    if (s == ChannelStatus::kOk) {
      // PX-1 / CH-1: whole, in order, exactly once: the next message its
      // peer wrote on the other side.
      PX_EXPECT(
          delivered.size() < source.size(),
          "PX-1: forwarded a message nobody wrote (or twice): ", Show(message));
      PX_EXPECT(message == source[delivered.size()], "PX-1: forwarded ",
                Show(message), " but the next message in order is ",
                Show(source[delivered.size()]));
      delivered.push_back(message);
      if (d == kToContainer) {
        --unsettled_counts;
        count_confirmed = false;
      }
    }
    return input::MessageWritten{e, s};
  }

  // PX-3 when the proxy announces its stop.
  void CheckStop() {
    PX_EXPECT(closed_by_proxy.size() == 2 && closed_by_proxy[0] == kC &&
                  closed_by_proxy[1] == kR,
              "PX-3: proxy_stopped without closing the container endpoint, "
              "then the remote one");
    const bool remote_gone = !remote.peer_open;
    const bool container_gone = !container.peer_open;
    // No read, write or counter add can fail in this world, so only a
    // close may stop the proxy.
    PX_EXPECT(remote_gone || container_gone,
              "PX-3: stopped while both peers are open");
    PX_EXPECT(unsettled_counts == 0,
              "PX-2: stopped with a count neither delivered nor taken back");
    if (remote_gone && !container_gone) {
      PX_EXPECT(delivered_to_container.size() == remote_accepted.size(),
                "PX-3: stopped after the remote peer closed with ",
                remote_accepted.size() - delivered_to_container.size(),
                " of its messages not forwarded into the container");
    }
    if (container_gone && !remote_gone) {
      PX_EXPECT(delivered_to_remote.size() == container_accepted.size(),
                "PX-3: stopped after the container peer closed with ",
                container_accepted.size() - delivered_to_remote.size(),
                " of its messages not forwarded to the remote");
    }
  }

  // Delivers every answer still owed until nothing is left, then checks
  // the liveness half of PX-1..PX-3 against the model's obligations.
  void SettleAndCheck(const ProxyModel& m) {
    for (int i = 0; i < 100'000 && !pending.empty(); ++i) DeliverPending(0);
    PX_EXPECT(pending.empty(), "the proxy never settles");
    PX_EXPECT(unsettled_counts == 0, "PX-2: a count was never settled");
    // PX-2 / PW-4: the counter counts exactly the messages that entered the
    // container and are not handled yet.
    PX_EXPECT(counter ==
                  static_cast<int64_t>(delivered_to_container.size() - handled),
              "PX-2: counter is ", counter, " with ",
              delivered_to_container.size(),
              " messages delivered into the "
              "container and ",
              handled, " handled");
    // The model's obligations: messages written while the proxy surely
    // held its endpoints are a prefix of what the world accepted.
    PX_EXPECT(m.remote_written.size() <= remote_accepted.size() &&
                  m.container_written.size() <= container_accepted.size(),
              "the world refused a message the model says was written");
    const bool any_closed = m.remote_closed || m.container_closed;
    PX_EXPECT(stopped == any_closed, "PX-3: the proxy ",
              stopped ? "stopped" : "did not stop", " although ",
              any_closed ? "a peer closed" : "no peer closed");
    PX_EXPECT(proxy.stopped() == stopped, "stopped() disagrees");
    if (!m.container_closed) {
      // Nothing the remote peer wrote is lost while the container listens.
      PX_EXPECT(delivered_to_container.size() == m.remote_written.size(),
                "PX-1: ", delivered_to_container.size(), " of ",
                m.remote_written.size(),
                " remote messages reached the container");
    }
    if (!m.remote_closed) {
      PX_EXPECT(delivered_to_remote.size() == m.container_written.size(),
                "PX-1: ", delivered_to_remote.size(), " of ",
                m.container_written.size(),
                " container messages reached the remote");
    }
    if (stopped) {
      // Each peer observes PEER_CLOSED.
      PX_EXPECT(!container.proxy_open && !remote.proxy_open,
                "PX-3: stopped without closing both endpoints");
      PX_EXPECT(proxy.stop_status().ok(), "PX-3: an orderly close reported ",
                proxy.stop_status().ToString());
    }
    // The proxy counts the writes it saw confirmed; a confirmation that
    // arrives after it stopped is ignored.
    const uint64_t into_container = delivered_to_container.size();
    const uint64_t into_remote = delivered_to_remote.size();
    PX_EXPECT(stopped ? proxy.forwarded_to_container() <= into_container &&
                            proxy.forwarded_to_remote() <= into_remote
                      : proxy.forwarded_to_container() == into_container &&
                            proxy.forwarded_to_remote() == into_remote,
              "forwarded counts (", proxy.forwarded_to_container(), ", ",
              proxy.forwarded_to_remote(), ") disagree with the world (",
              into_container, ", ", into_remote, ")");
  }
};

using ProxyCommand = rc::state::Command<ProxyModel, ProxyWorld>;

Message MakeMessage(const char* prefix, uint64_t id, size_t handles) {
  Message m;
  m.bytes = absl::StrCat(prefix, id, ";");
  for (size_t i = 0; i < handles; ++i) m.handles.push_back(HandleId{500 + i});
  return m;
}

// A peer writes a message into its end of the channel.
template <bool kRemote>
struct PeerWrite : ProxyCommand {
  Message message;
  explicit PeerWrite(const ProxyModel& m)
      : message(MakeMessage(kRemote ? "r" : "c", m.next_id,
                            *rc::gen::inRange<size_t>(0, 3))) {}

  void checkPreconditions(const ProxyModel& m) const override {
    RC_PRE(!(kRemote ? m.remote_closed : m.container_closed));
  }
  void apply(ProxyModel& m) const override {
    ++m.next_id;
    // Once the other peer has closed, the proxy may have stopped and the
    // write may fail: no obligation then.
    if (kRemote && !m.container_closed) m.remote_written.push_back(message);
    if (!kRemote && !m.remote_closed) m.container_written.push_back(message);
  }
  void run(const ProxyModel& m, ProxyWorld& w) const override {
    Channel& ch = kRemote ? w.remote : w.container;
    const ChannelStatus s = ch.PeerWrite(message);
    const bool must_succeed = kRemote ? !m.container_closed : !m.remote_closed;
    if (must_succeed) {
      PX_EXPECT(s == ChannelStatus::kOk,
                "the proxy closed its endpoint while both peers are open: ",
                ChannelStatusName(s));
    }
    if (s == ChannelStatus::kOk) {
      (kRemote ? w.remote_accepted : w.container_accepted).push_back(message);
      w.ScheduleSignal(kRemote ? kR : kC);
    }
  }
  void show(std::ostream& os) const override {
    os << (kRemote ? "RemoteWrite(" : "ContainerWrite(") << Show(message)
       << ")";
  }
};

// A peer closes its end; the proxy's endpoint then asserts PEER_CLOSED.
template <bool kRemote>
struct PeerClose : ProxyCommand {
  void checkPreconditions(const ProxyModel& m) const override {
    RC_PRE(!(kRemote ? m.remote_closed : m.container_closed));
  }
  void apply(ProxyModel& m) const override {
    (kRemote ? m.remote_closed : m.container_closed) = true;
  }
  void run(const ProxyModel&, ProxyWorld& w) const override {
    Channel& ch = kRemote ? w.remote : w.container;
    ch.peer_open = false;
    ch.at_peer.clear();  // what was queued for the closed peer is gone
    if (ch.proxy_open) w.ScheduleSignal(kRemote ? kR : kC);
  }
  void show(std::ostream& os) const override {
    os << (kRemote ? "RemoteClose" : "ContainerClose");
  }
};

// The container handles one message it received and decrements the
// counter (PX-2).
struct ContainerHandles : ProxyCommand {
  void run(const ProxyModel&, ProxyWorld& w) const override {
    if (!w.container.peer_open || w.container.at_peer.empty()) return;
    w.container.at_peer.pop_front();
    --w.counter;
    ++w.handled;
  }
  void show(std::ostream& os) const override { os << "ContainerHandles"; }
};

// The world delivers one of the answers it owes (a completion or a
// signal), chosen among all of them: any order is allowed.
struct DeliverOne : ProxyCommand {
  size_t pick = *rc::gen::inRange<size_t>(0, 8);
  void run(const ProxyModel&, ProxyWorld& w) const override {
    w.DeliverPending(pick);
  }
  void show(std::ostream& os) const override {
    os << "DeliverOne(" << pick << ")";
  }
};

// The world reports an endpoint's current signals again (a level, not an
// edge); the proxy must cope with repeats.
struct SignalAgain : ProxyCommand {
  bool remote = *rc::gen::arbitrary<bool>();
  void run(const ProxyModel&, ProxyWorld& w) const override {
    const EndpointId e = remote ? kR : kC;
    const Signals s = w.ChannelOf(e).ProxySignals();
    if (s == kSignalNone) return;
    ActionList out;
    w.proxy.OnEndpointSignalled(w.now, input::EndpointSignalled{e, s}, out);
    w.Execute(out);
  }
  void show(std::ostream& os) const override {
    os << "SignalAgain(" << (remote ? "remote" : "container") << ")";
  }
};

// Inputs about objects the proxy does not hold are ignored.
struct StrayInput : ProxyCommand {
  int kind = *rc::gen::inRange(0, 4);
  void run(const ProxyModel&, ProxyWorld& w) const override {
    ActionList out;
    switch (kind) {
      case 0:
        w.proxy.OnEndpointSignalled(
            w.now,
            input::EndpointSignalled{kStrayEndpoint,
                                     kSignalReadable | kSignalPeerClosed},
            out);
        break;
      case 1:
        w.proxy.OnMessageRead(
            w.now,
            input::MessageRead{kStrayEndpoint, ChannelStatus::kOk,
                               MakeMessage("stray", 0, 0)},
            out);
        break;
      case 2:
        w.proxy.OnMessageWritten(
            w.now, input::MessageWritten{kStrayEndpoint, ChannelStatus::kOk},
            out);
        break;
      default:
        w.proxy.OnCounterAdded(
            w.now, input::CounterAdded{kStrayCounter, ChannelStatus::kOk, 1},
            out);
        break;
    }
    PX_EXPECT(out.empty(), "an input about another object caused ",
              DescribeAction(out.front()));
  }
  void show(std::ostream& os) const override {
    os << "StrayInput(" << kind << ")";
  }
};

// Time passes (up to a minute); the proxy has no timers, so nothing
// happens until the world delivers something.
struct AdvanceTime : ProxyCommand {
  int64_t ms = *rc::gen::inRange<int64_t>(0, 60'001);
  void run(const ProxyModel&, ProxyWorld& w) const override {
    w.now = w.now + absl::Milliseconds(ms);
  }
  void show(std::ostream& os) const override {
    os << "AdvanceTime(" << ms << "ms)";
  }
};

using RemoteWrite = PeerWrite<true>;
using ContainerWrite = PeerWrite<false>;
using RemoteClose = PeerClose<true>;
using ContainerClose = PeerClose<false>;

// Generates and runs a command sequence, then lets the world settle and
// checks the liveness half against the final model.
template <typename... Cmds>
void CheckProxy() {
  const bool late = *rc::gen::arbitrary<bool>();
  const ProxyModel initial;
  const auto commands = *rc::state::gen::commands(
      initial, rc::state::gen::execOneOfWithArgs<Cmds...>());
  ProxyWorld world(late);
  rc::state::runAll(commands, initial, world);
  ProxyModel end = initial;
  rc::state::applyAll(commands, end);
  world.SettleAndCheck(end);
  RC_TAG(end.remote_closed || end.container_closed ? "a peer closed"
                                                   : "both peers open",
         late ? "late I/O" : "I/O at once");
}

// Both peers stay open: every message crosses, in order, both ways.
RC_GTEST_PROP(ChannelProxyProperty, PX1_ForwardsEveryMessageBothWaysInOrder,
              ()) {
  CheckProxy<RemoteWrite, ContainerWrite, ContainerHandles, DeliverOne,
             DeliverOne, DeliverOne, SignalAgain, StrayInput, AdvanceTime>();
}

// Mostly traffic into the container, which handles it slowly; a peer may
// close, so counts for messages that can no longer be delivered are taken
// back.
RC_GTEST_PROP(ChannelProxyProperty,
              PX2_CountsEachMessageIntoTheContainerBeforeWritingIt, ()) {
  CheckProxy<RemoteWrite, RemoteWrite, RemoteWrite, ContainerWrite,
             ContainerHandles, DeliverOne, DeliverOne, DeliverOne, DeliverOne,
             SignalAgain, ContainerClose, RemoteClose>();
}

// Peers close at any time, with messages in flight both ways.
RC_GTEST_PROP(ChannelProxyProperty, PX3_DrainsThenStopsAndClosesBothEnds, ()) {
  CheckProxy<RemoteWrite, RemoteWrite, ContainerWrite, ContainerWrite,
             ContainerHandles, DeliverOne, DeliverOne, DeliverOne, SignalAgain,
             RemoteClose, ContainerClose, AdvanceTime>();
}

}  // namespace
}  // namespace proctor
