// Model-based properties of wake sources, wake watchers and suspend
// (PW-1..PW-4, and PX-4's retirement of a stopped proxy's counter source):
// random sequences of requests and observations are applied to WakeSources
// and to PowerManager, and every reply, every action and every observable
// accessor is compared with a plain model written from docs/spec.md (and the
// project additions to PW-1..PW-4 and PX-4 there).
//
// Action order follows power_manager.h's documented contract: the actions a
// request causes come before its reply; a wake is resume_guest, then AWAKE to
// every watcher in id order, then the suspend's reply; a suspend is
// suspend_guest, then ASLEEP to every watcher in id order. Which active
// source a wake or a refusal names is left free: any active source will do,
// as long as the name is that source's.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "rapidcheck/state.h"
#include "runtime/model/action.h"
#include "runtime/model/channel_types.h"
#include "runtime/model/describe.h"
#include "runtime/model/ids.h"
#include "runtime/model/input.h"
#include "runtime/model/mutants.h"
#include "runtime/model/time.h"
#include "runtime/power/power_manager.h"
#include "runtime/power/wake_sources.h"

namespace proctor {
namespace {

// Fails the property with a message built only when the check fails.
#define PW_EXPECT(cond, ...)                         \
  do {                                               \
    if (!(cond)) RC_FAIL(absl::StrCat(__VA_ARGS__)); \
  } while (false)

// Koids 1..3 are the kernel objects a source may watch (few, so that the
// commands meet often); watchers are 1..3 too.
constexpr uint64_t kKoids = 3;
constexpr uint64_t kWatchers = 3;

// ---------------------------------------------------------------------------
// PW-1: what a wake source is.

struct SourceModel {
  bool counter_based = true;
  std::string name;
  Signals mask = kSignalNone;  // handle-based only
};

// The last thing observed about a kernel object, registered or not
// (PW-1: observations made before a source is registered are remembered).
struct Observation {
  int64_t counter_value = 0;
  Signals signals = kSignalNone;
};

struct SourcesModel {
  std::map<uint64_t, SourceModel> sources;
  std::map<uint64_t, Observation> seen;

  // PW-1: counter-based sources are active while the counter is > 0,
  // handle-based ones while any signal of their mask is asserted.
  bool IsActive(uint64_t id) const {
    auto it = sources.find(id);
    if (it == sources.end()) return false;
    auto obs = seen.find(id);
    const Observation o = obs == seen.end() ? Observation{} : obs->second;
    return it->second.counter_based ? o.counter_value > 0
                                    : (o.signals & it->second.mask) != 0;
  }
  std::map<uint64_t, std::string> Active() const {
    std::map<uint64_t, std::string> active;
    for (const auto& [id, s] : sources) {
      if (IsActive(id)) active[id] = s.name;
    }
    return active;
  }
};

rc::Gen<uint64_t> GenKoid() {
  return rc::gen::inRange<uint64_t>(1, kKoids + 1);
}

// Mostly a short name unique to the command; now and then one past the
// 1024-byte bound.
rc::Gen<std::string> GenName(uint64_t koid) {
  return rc::gen::map(rc::gen::inRange(0, 20), [koid](int n) {
    if (n == 18) return std::string(WakeSources::kMaxNameBytes, 'm');
    if (n == 19) return std::string(WakeSources::kMaxNameBytes + 1, 'n');
    return absl::StrCat("source-", koid, "-", n);
  });
}

// Half of the time nothing is asserted, so that active sources go quiet
// again and suspends get through.
rc::Gen<Signals> GenSignals() {
  return rc::gen::map(rc::gen::inRange<uint32_t>(0, 32), [](uint32_t bits) {
    if (bits >= 16) return Signals{kSignalNone};
    Signals s = kSignalNone;
    if (bits & 1) s |= kSignalReadable;
    if (bits & 2) s |= kSignalPeerClosed;
    if (bits & 4) s |= kSignalUser0;
    if (bits & 8) s |= kSignalUser1;
    return s;
  });
}

rc::Gen<int64_t> GenCounterValue() {
  return rc::gen::elementOf(std::vector<int64_t>{-2, -1, 0, 0, 1, 1, 2, 5});
}

bool NameFits(const std::string& name) {
  return name.size() <= WakeSources::kMaxNameBytes;
}

// Every accessor of WakeSources agrees with the model, for every koid.
void CheckSources(const SourcesModel& m, const WakeSources& ws) {
  PW_EXPECT(ws.size() == m.sources.size(), "size ", ws.size(), " want ",
            m.sources.size());
  std::optional<uint64_t> first_active;
  std::optional<uint64_t> first_counter;
  std::optional<uint64_t> first_handle;
  for (uint64_t id = 1; id <= kKoids; ++id) {
    const WakeSourceId w{id};
    auto it = m.sources.find(id);
    const bool active = m.IsActive(id);
    PW_EXPECT(ws.Contains(w) == (it != m.sources.end()), "Contains(", id, ")");
    PW_EXPECT(ws.IsActive(w) == active, "PW-1: source ", id, " is ",
              ws.IsActive(w) ? "active" : "inactive", " but the model says ",
              active ? "active" : "inactive");
    if (it == m.sources.end()) {
      PW_EXPECT(ws.Find(w) == nullptr && ws.Name(w).empty(), "Find(", id,
                ") of a missing source");
      continue;
    }
    const WakeSource* found = ws.Find(w);
    PW_EXPECT(found != nullptr, "Find(", id, ")");
    PW_EXPECT(found->name == it->second.name && ws.Name(w) == it->second.name,
              "name of ", id);
    PW_EXPECT(
        (found->kind == WakeSourceKind::kCounter) == it->second.counter_based,
        "kind of ", id);
    if (!it->second.counter_based) {
      PW_EXPECT(found->mask == it->second.mask, "mask of ", id);
    }
    if (active && !first_active) first_active = id;
    if (active && it->second.counter_based && !first_counter) {
      first_counter = id;
    }
    if (active && !it->second.counter_based && !first_handle) {
      first_handle = id;
    }
  }
  // wake_sources.h: the lowest id among the active sources (of a kind).
  auto value = [](std::optional<WakeSourceId> id) {
    return id ? std::optional<uint64_t>(id->value) : std::nullopt;
  };
  PW_EXPECT(value(ws.FirstActive()) == first_active, "FirstActive");
  PW_EXPECT(
      value(ws.FirstActiveOfKind(WakeSourceKind::kCounter)) == first_counter,
      "FirstActiveOfKind(counter)");
  PW_EXPECT(
      value(ws.FirstActiveOfKind(WakeSourceKind::kHandle)) == first_handle,
      "FirstActiveOfKind(handle)");
}

struct SourcesSut {
  WakeSources ws;
};
using SourcesCommand = rc::state::Command<SourcesModel, SourcesSut>;

struct WsAdd : SourcesCommand {
  uint64_t id = *GenKoid();
  bool counter_based = *rc::gen::arbitrary<bool>();
  std::string name = *GenName(id);
  Signals mask = *GenSignals();

  void apply(SourcesModel& m) const override {
    if (!NameFits(name)) return;
    // PW-1: adding an id that exists replaces it.
    m.sources[id] =
        SourceModel{counter_based, name, counter_based ? kSignalNone : mask};
  }
  void run(const SourcesModel& m, SourcesSut& sut) const override {
    const absl::Status s = counter_based
                               ? sut.ws.AddCounter(CounterId{id}, name)
                               : sut.ws.AddHandle(HandleId{id}, name, mask);
    PW_EXPECT(s.code() == (NameFits(name) ? absl::StatusCode::kOk
                                          : absl::StatusCode::kInvalidArgument),
              "add: ", s.ToString());
    CheckSources(nextState(m), sut.ws);
  }
  void show(std::ostream& os) const override {
    os << (counter_based ? "AddCounter(" : "AddHandle(") << id << ", "
       << name.substr(0, 16) << " (" << name.size() << " bytes)";
    if (!counter_based) os << ", mask=" << FormatSignals(mask);
    os << ")";
  }
};

struct WsRemove : SourcesCommand {
  uint64_t id = *GenKoid();
  void apply(SourcesModel& m) const override { m.sources.erase(id); }
  void run(const SourcesModel& m, SourcesSut& sut) const override {
    // Idempotent; says whether there was a source.
    PW_EXPECT(sut.ws.Remove(WakeSourceId{id}) == m.sources.contains(id),
              "Remove(", id, ")");
    CheckSources(nextState(m), sut.ws);
  }
  void show(std::ostream& os) const override { os << "Remove(" << id << ")"; }
};

struct WsCounterValue : SourcesCommand {
  uint64_t id = *GenKoid();
  int64_t value = *GenCounterValue();
  void apply(SourcesModel& m) const override {
    m.seen[id].counter_value = value;
  }
  void run(const SourcesModel& m, SourcesSut& sut) const override {
    PW_EXPECT(sut.ws.SetCounterValue(CounterId{id}, value).ok(),
              "SetCounterValue");
    CheckSources(nextState(m), sut.ws);
  }
  void show(std::ostream& os) const override {
    os << "CounterValue(" << id << ", " << value << ")";
  }
};

struct WsHandleSignals : SourcesCommand {
  uint64_t id = *GenKoid();
  Signals signals = *GenSignals();
  void apply(SourcesModel& m) const override { m.seen[id].signals = signals; }
  void run(const SourcesModel& m, SourcesSut& sut) const override {
    PW_EXPECT(sut.ws.SetHandleSignals(HandleId{id}, signals).ok(),
              "SetHandleSignals");
    CheckSources(nextState(m), sut.ws);
  }
  void show(std::ostream& os) const override {
    os << "HandleSignals(" << id << ", " << FormatSignals(signals) << ")";
  }
};

RC_GTEST_PROP(WakeSourcesProperty,
              PW1_ActiveIffCounterPositiveOrMaskedSignalAsserted, ()) {
  SourcesSut sut;
  rc::state::check(
      SourcesModel{}, sut,
      rc::state::gen::execOneOfWithArgs<WsAdd, WsAdd, WsRemove, WsCounterValue,
                                        WsCounterValue, WsHandleSignals,
                                        WsHandleSignals>());
}

// ---------------------------------------------------------------------------
// PW-2..PW-4: watchers and suspend.

struct PowerModel {
  SourcesModel wake;
  std::set<uint64_t> watchers;
  struct Suspension {
    uint64_t request;
    Instant at;
  };
  std::optional<Suspension> suspended;
  bool shut_down = false;
  // PX-4 with PW-4: counter sources of stopped proxies, kept until their
  // counter is known to be <= 0.
  std::set<uint64_t> retiring;
  Instant now = Instant::FromNanos(1'000'000'000);
  uint64_t next_request = 1;
};

// One expected action: exactly this one, or a reply judged more loosely.
struct Expected {
  enum Kind : uint8_t {
    kExact,      // DescribeAction must match
    kReplyCode,  // a reply to `request` with status `code`
    kRefusal,    // FAILED_PRECONDITION naming one of `active`
    kWakeReply,  // OK, woken by one of `active`, slept `slept`
  };
  Kind kind = kExact;
  Action action;
  uint64_t request = 0;
  absl::StatusCode code = absl::StatusCode::kOk;
  std::map<uint64_t, std::string> active;
  absl::Duration slept;
};

Expected Exact(Action a) {
  Expected e;
  e.action = std::move(a);
  return e;
}
Expected ReplyWith(uint64_t request, absl::StatusCode code) {
  Expected e;
  e.kind = Expected::kReplyCode;
  e.request = request;
  e.code = code;
  return e;
}

std::string Show(const Expected& e) {
  switch (e.kind) {
    case Expected::kExact:
      return DescribeAction(e.action);
    case Expected::kReplyCode:
      return absl::StrCat("reply request=", e.request,
                          " status=", absl::StatusCodeToString(e.code), "...");
    case Expected::kRefusal:
      return absl::StrCat("reply request=", e.request,
                          " status=FAILED_PRECONDITION naming an active "
                          "source");
    case Expected::kWakeReply:
      return absl::StrCat("reply request=", e.request,
                          " status=OK woken by an active source, slept ",
                          absl::FormatDuration(e.slept));
  }
  return "";
}

bool Matches(const Expected& e, const Action& got) {
  if (e.kind == Expected::kExact) {
    return DescribeAction(e.action) == DescribeAction(got);
  }
  const auto* reply = std::get_if<action::Reply>(&got);
  if (reply == nullptr || reply->request.value != e.request) return false;
  switch (e.kind) {
    case Expected::kReplyCode:
      return reply->status.code() == e.code;
    case Expected::kRefusal: {
      if (reply->status.code() != absl::StatusCode::kFailedPrecondition) {
        return false;
      }
      // PW-3: the error names the active wake source.
      for (const auto& [id, name] : e.active) {
        if (absl::StrContains(reply->status.message(), name) &&
            absl::StrContains(reply->status.message(), absl::StrCat(id))) {
          return true;
        }
      }
      return false;
    }
    case Expected::kWakeReply: {
      const auto* result = std::get_if<SuspendResult>(&reply->value);
      if (!reply->status.ok() || result == nullptr) return false;
      // PW-3: which source woke it and how long it slept.
      auto it = e.active.find(result->woken_by.value);
      return it != e.active.end() && it->second == result->name &&
             result->slept == e.slept;
    }
    case Expected::kExact:
      break;
  }
  return false;
}

void ExpectActions(const std::vector<Expected>& want, const ActionList& got) {
  bool same = want.size() == got.size();
  for (size_t i = 0; same && i < want.size(); ++i) {
    same = Matches(want[i], got[i]);
  }
  if (same) return;
  std::string text = "actions differ from the model's\n  expected:";
  for (const Expected& e : want) absl::StrAppend(&text, "\n    ", Show(e));
  absl::StrAppend(&text, "\n  got:");
  for (const Action& a : got) {
    absl::StrAppend(&text, "\n    ", DescribeAction(a));
  }
  RC_FAIL(text);
}

void SignalWatchers(const PowerModel& m, WakeSignal signal,
                    std::vector<Expected>& out) {
  for (uint64_t w : m.watchers) {
    out.push_back(Exact(action::SignalWatcher{WatcherId{w}, signal}));
  }
}

// PW-3: if suspended and some source is active, the container resumes and
// the suspend returns. Updates the model and appends the expected actions.
void Wake(PowerModel& m, std::vector<Expected>* out) {
  if (!m.suspended) return;
  std::map<uint64_t, std::string> active = m.wake.Active();
  if (active.empty()) return;
  std::vector<Expected> ignored;
  std::vector<Expected>& e = out != nullptr ? *out : ignored;
  e.push_back(Exact(action::ResumeGuest{}));
  SignalWatchers(m, WakeSignal::kAwake, e);
  Expected reply;
  reply.kind = Expected::kWakeReply;
  reply.request = m.suspended->request;
  reply.active = std::move(active);
  reply.slept = m.now - m.suspended->at;
  e.push_back(std::move(reply));
  m.suspended.reset();
}

void RemoveSource(PowerModel& m, uint64_t id, std::vector<Expected>& e) {
  m.retiring.erase(id);
  if (m.wake.sources.erase(id) > 0) {
    e.push_back(Exact(action::WakeSourceRemoved{WakeSourceId{id}}));
  }
}

// The system under test, and what the watchers and the guest were told.
struct PowerSut {
  explicit PowerSut(MutantSet mutants) : power(RuntimeLimits{}, mutants) {}
  PowerManager power;
  std::map<uint64_t, std::vector<WakeSignal>> told;
  bool guest_suspended = false;
  // What happened, for the distribution RapidCheck prints.
  int suspends = 0;
  int wakes = 0;
  int removals = 0;

  void Record(const ActionList& actions) {
    for (const Action& a : actions) {
      if (const auto* r = std::get_if<action::Reply>(&a);
          r != nullptr && std::holds_alternative<SuspendResult>(r->value)) {
        ++wakes;
      }
      if (std::holds_alternative<action::WakeSourceRemoved>(a)) ++removals;
      if (const auto* s = std::get_if<action::SignalWatcher>(&a)) {
        told[s->watcher.value].push_back(s->signal);
      } else if (std::holds_alternative<action::SuspendGuest>(a)) {
        PW_EXPECT(!guest_suspended, "suspend_guest twice");
        guest_suspended = true;
        ++suspends;
      } else if (std::holds_alternative<action::ResumeGuest>(a)) {
        PW_EXPECT(guest_suspended, "resume_guest while running");
        guest_suspended = false;
      }
    }
  }
};

// After every command: the invariants of PW-2 and PW-4, and the power
// manager's observable state, against the model.
void CheckPower(const PowerModel& m, const PowerSut& sut) {
  // PW-4: never suspended while a wake source (a counter > 0) is active.
  if (m.suspended) {
    PW_EXPECT(m.wake.Active().empty(), "model: suspended while active");
  }
  PW_EXPECT(sut.power.suspended() == m.suspended.has_value(),
            "PW-3: suspended() is ", sut.power.suspended());
  PW_EXPECT(sut.guest_suspended == m.suspended.has_value(),
            "PW-3/PW-4: the guest is ",
            sut.guest_suspended ? "suspended" : "running", " but should be ",
            m.suspended ? "suspended" : "running");
  PW_EXPECT(sut.power.shut_down() == m.shut_down, "shut_down()");
  for (uint64_t id = 1; id <= kKoids; ++id) {
    PW_EXPECT(sut.power.retiring(CounterId{id}) == m.retiring.contains(id),
              "PX-4: retiring(", id, ") is ",
              sut.power.retiring(CounterId{id}));
  }
  CheckSources(m.wake, sut.power.wake_sources());
  // PW-2: each watcher's signals alternate, never two ASLEEPs (nor two
  // AWAKEs) in a row, and the last one is the truth.
  for (const auto& [watcher, signals] : sut.told) {
    PW_EXPECT(m.watchers.contains(watcher), "PW-2: signalled watcher ", watcher,
              " that is not registered");
    for (size_t i = 1; i < signals.size(); ++i) {
      PW_EXPECT(signals[i] != signals[i - 1], "PW-2: watcher ", watcher,
                " told ", WakeSignalName(signals[i]), " twice in a row");
    }
    PW_EXPECT(!signals.empty() &&
                  signals.back() ==
                      (m.suspended ? WakeSignal::kAsleep : WakeSignal::kAwake),
              "PW-2: watcher ", watcher, " was last told ",
              signals.empty() ? "nothing" : WakeSignalName(signals.back()));
  }
  PW_EXPECT(sut.told.size() == m.watchers.size(),
            "PW-2: every registered watcher is told at once");
}

using PowerCommand = rc::state::Command<PowerModel, PowerSut>;

// Runs one step: `effect` updates a copy of the model and says which
// actions to expect; `act` performs the step on the power manager.
template <typename Effect, typename Act>
void Step(const PowerModel& m, PowerSut& sut, Effect effect, Act act) {
  PowerModel next = m;
  std::vector<Expected> want;
  effect(next, &want);
  ActionList got;
  act(got);
  ExpectActions(want, got);
  sut.Record(got);
  CheckPower(next, sut);
}

struct RegisterWatcher : PowerCommand {
  uint64_t watcher = *rc::gen::inRange<uint64_t>(1, kWatchers + 1);

  void Effect(PowerModel& m, std::vector<Expected>* e) const {
    const uint64_t request = m.next_request++;
    if (m.watchers.contains(watcher)) {
      // PW-2 addition: registering the same watcher twice is refused.
      if (e) e->push_back(ReplyWith(request, absl::StatusCode::kAlreadyExists));
      return;
    }
    m.watchers.insert(watcher);
    // PW-2: told at once; ASLEEP if registered during a suspend.
    if (e) {
      e->push_back(Exact(action::SignalWatcher{
          WatcherId{watcher},
          m.suspended ? WakeSignal::kAsleep : WakeSignal::kAwake}));
      e->push_back(ReplyWith(request, absl::StatusCode::kOk));
    }
  }
  void apply(PowerModel& m) const override { Effect(m, nullptr); }
  void run(const PowerModel& m, PowerSut& sut) const override {
    Step(
        m, sut, [&](PowerModel& n, std::vector<Expected>* e) { Effect(n, e); },
        [&](ActionList& out) {
          sut.power.OnRegisterWakeWatcher(
              m.now,
              input::RegisterWakeWatcher{RequestId{m.next_request},
                                         WatcherId{watcher}},
              out);
        });
  }
  void show(std::ostream& os) const override {
    os << "RegisterWatcher(" << watcher << ")";
  }
};

// A handle-based source, added by a client request (with a reply), or a
// counter-based one, added for a proxy (no reply).
struct AddSource : PowerCommand {
  uint64_t id = *GenKoid();
  bool counter_based = *rc::gen::arbitrary<bool>();
  std::string name = *GenName(id);
  Signals mask = *GenSignals();

  void Effect(PowerModel& m, std::vector<Expected>* out) const {
    std::vector<Expected> ignored;
    std::vector<Expected>& e = out != nullptr ? *out : ignored;
    const uint64_t request = counter_based ? 0 : m.next_request++;
    if (!NameFits(name)) {
      if (!counter_based) {
        e.push_back(ReplyWith(request, absl::StatusCode::kInvalidArgument));
      }
      return;
    }
    // PW-1: replaces a source with the same id; PX-4: a new source ends a
    // retirement.
    m.wake.sources[id] =
        SourceModel{counter_based, name, counter_based ? kSignalNone : mask};
    m.retiring.erase(id);
    e.push_back(Exact(action::WakeSourceAdded{WakeSourceId{id}, name}));
    Wake(m, &e);
    if (!counter_based) e.push_back(ReplyWith(request, absl::StatusCode::kOk));
  }
  void apply(PowerModel& m) const override { Effect(m, nullptr); }
  void run(const PowerModel& m, PowerSut& sut) const override {
    Step(
        m, sut, [&](PowerModel& n, std::vector<Expected>* e) { Effect(n, e); },
        [&](ActionList& out) {
          if (counter_based) {
            const absl::Status s =
                sut.power.AddCounterWakeSource(m.now, CounterId{id}, name, out);
            PW_EXPECT(s.ok() == NameFits(name),
                      "AddCounterWakeSource: ", s.ToString());
          } else {
            sut.power.OnAddWakeSource(
                m.now,
                input::AddWakeSource{RequestId{m.next_request},
                                     WakeSourceId{id}, name, mask},
                out);
          }
        });
  }
  void show(std::ostream& os) const override {
    os << (counter_based ? "AddCounterSource(" : "AddHandleSource(") << id
       << ", " << name.substr(0, 16) << " (" << name.size() << " bytes)";
    if (!counter_based) os << ", mask=" << FormatSignals(mask);
    os << ")";
  }
};

// remove_wake_source from a client (replied), or the dispatcher removing a
// counter's source (no reply). Idempotent.
struct RemoveSourceCmd : PowerCommand {
  uint64_t id = *GenKoid();
  bool by_client = *rc::gen::arbitrary<bool>();

  void Effect(PowerModel& m, std::vector<Expected>* out) const {
    std::vector<Expected> ignored;
    std::vector<Expected>& e = out != nullptr ? *out : ignored;
    const uint64_t request = by_client ? m.next_request++ : 0;
    RemoveSource(m, id, e);
    if (by_client) e.push_back(ReplyWith(request, absl::StatusCode::kOk));
  }
  void apply(PowerModel& m) const override { Effect(m, nullptr); }
  void run(const PowerModel& m, PowerSut& sut) const override {
    Step(
        m, sut, [&](PowerModel& n, std::vector<Expected>* e) { Effect(n, e); },
        [&](ActionList& out) {
          if (by_client) {
            sut.power.OnRemoveWakeSource(
                m.now,
                input::RemoveWakeSource{RequestId{m.next_request},
                                        WakeSourceId{id}},
                out);
          } else {
            sut.power.RemoveCounterWakeSource(m.now, CounterId{id}, out);
          }
        });
  }
  void show(std::ostream& os) const override {
    os << (by_client ? "RemoveWakeSource(" : "RemoveCounterSource(") << id
       << ")";
  }
};

// PX-4: the proxy owning counter `id` stopped. Its source goes now if the
// counter has drained, else once a value <= 0 is seen; a source that is not
// counter-based is not the proxy's to keep.
struct RetireCounterSource : PowerCommand {
  uint64_t id = *GenKoid();

  void Effect(PowerModel& m, std::vector<Expected>* out) const {
    std::vector<Expected> ignored;
    std::vector<Expected>& e = out != nullptr ? *out : ignored;
    auto it = m.wake.sources.find(id);
    if (it == m.wake.sources.end()) return;
    if (it->second.counter_based && m.wake.IsActive(id)) {
      m.retiring.insert(id);
      return;
    }
    RemoveSource(m, id, e);
  }
  void apply(PowerModel& m) const override { Effect(m, nullptr); }
  void run(const PowerModel& m, PowerSut& sut) const override {
    Step(
        m, sut, [&](PowerModel& n, std::vector<Expected>* e) { Effect(n, e); },
        [&](ActionList& out) {
          sut.power.RetireCounterWakeSource(m.now, CounterId{id}, out);
        });
  }
  void show(std::ostream& os) const override {
    os << "RetireCounterSource(" << id << ")";
  }
};

// counter_added / counter_changed: the counter's value is now `value`.
struct CounterValue : PowerCommand {
  uint64_t id = *GenKoid();
  int64_t value = *GenCounterValue();

  void Effect(PowerModel& m, std::vector<Expected>* out) const {
    std::vector<Expected> ignored;
    std::vector<Expected>& e = out != nullptr ? *out : ignored;
    m.wake.seen[id].counter_value = value;
    // PX-4: the stopped proxy's messages are all handled.
    if (value <= 0 && m.retiring.contains(id)) RemoveSource(m, id, e);
    // PW-4: a message arriving while suspended wakes the container.
    Wake(m, &e);
  }
  void apply(PowerModel& m) const override { Effect(m, nullptr); }
  void run(const PowerModel& m, PowerSut& sut) const override {
    Step(
        m, sut, [&](PowerModel& n, std::vector<Expected>* e) { Effect(n, e); },
        [&](ActionList& out) {
          sut.power.OnCounterValue(m.now, CounterId{id}, value, out);
        });
  }
  void show(std::ostream& os) const override {
    os << "CounterValue(" << id << ", " << value << ")";
  }
};

struct HandleSignalled : PowerCommand {
  uint64_t id = *GenKoid();
  Signals signals = *GenSignals();

  void Effect(PowerModel& m, std::vector<Expected>* e) const {
    m.wake.seen[id].signals = signals;
    Wake(m, e);
  }
  void apply(PowerModel& m) const override { Effect(m, nullptr); }
  void run(const PowerModel& m, PowerSut& sut) const override {
    Step(
        m, sut, [&](PowerModel& n, std::vector<Expected>* e) { Effect(n, e); },
        [&](ActionList& out) {
          sut.power.OnHandleSignalled(
              m.now, input::HandleSignalled{HandleId{id}, signals}, out);
        });
  }
  void show(std::ostream& os) const override {
    os << "HandleSignalled(" << id << ", " << FormatSignals(signals) << ")";
  }
};

struct Suspend : PowerCommand {
  void Effect(PowerModel& m, std::vector<Expected>* out) const {
    std::vector<Expected> ignored;
    std::vector<Expected>& e = out != nullptr ? *out : ignored;
    const uint64_t request = m.next_request++;
    if (m.shut_down || m.suspended) {
      e.push_back(ReplyWith(request, absl::StatusCode::kFailedPrecondition));
      return;
    }
    std::map<uint64_t, std::string> active = m.wake.Active();
    if (!active.empty()) {
      // PW-3: refused, naming the active source; nothing changes.
      Expected refusal;
      refusal.kind = Expected::kRefusal;
      refusal.request = request;
      refusal.active = std::move(active);
      e.push_back(std::move(refusal));
      return;
    }
    m.suspended = PowerModel::Suspension{request, m.now};
    e.push_back(Exact(action::SuspendGuest{}));
    SignalWatchers(m, WakeSignal::kAsleep, e);
  }
  void apply(PowerModel& m) const override { Effect(m, nullptr); }
  void run(const PowerModel& m, PowerSut& sut) const override {
    Step(
        m, sut, [&](PowerModel& n, std::vector<Expected>* e) { Effect(n, e); },
        [&](ActionList& out) {
          sut.power.OnSuspendContainer(
              m.now, input::SuspendContainer{RequestId{m.next_request}}, out);
        });
  }
  void show(std::ostream& os) const override { os << "Suspend"; }
};

// RT-2 as far as power goes: a pending suspend is answered ABORTED and the
// container resumed; later suspends are refused. Idempotent.
struct Shutdown : PowerCommand {
  void Effect(PowerModel& m, std::vector<Expected>* out) const {
    std::vector<Expected> ignored;
    std::vector<Expected>& e = out != nullptr ? *out : ignored;
    if (m.shut_down) return;
    m.shut_down = true;
    if (!m.suspended) return;
    e.push_back(Exact(action::ResumeGuest{}));
    SignalWatchers(m, WakeSignal::kAwake, e);
    e.push_back(ReplyWith(m.suspended->request, absl::StatusCode::kAborted));
    m.suspended.reset();
  }
  void apply(PowerModel& m) const override { Effect(m, nullptr); }
  void run(const PowerModel& m, PowerSut& sut) const override {
    Step(
        m, sut, [&](PowerModel& n, std::vector<Expected>* e) { Effect(n, e); },
        [&](ActionList& out) { sut.power.Shutdown(m.now, out); });
  }
  void show(std::ostream& os) const override { os << "Shutdown"; }
};

// RT-2, when host resources are released: retiring sources go, in id order.
struct ReleaseHostResources : PowerCommand {
  void checkPreconditions(const PowerModel& m) const override {
    RC_PRE(m.shut_down);
  }
  void Effect(PowerModel& m, std::vector<Expected>* out) const {
    std::vector<Expected> ignored;
    std::vector<Expected>& e = out != nullptr ? *out : ignored;
    const std::set<uint64_t> retiring = m.retiring;
    for (uint64_t id : retiring) RemoveSource(m, id, e);
  }
  void apply(PowerModel& m) const override { Effect(m, nullptr); }
  void run(const PowerModel& m, PowerSut& sut) const override {
    Step(
        m, sut, [&](PowerModel& n, std::vector<Expected>* e) { Effect(n, e); },
        [&](ActionList& out) {
          sut.power.RemoveRetiringWakeSources(m.now, out);
        });
  }
  void show(std::ostream& os) const override { os << "ReleaseHostResources"; }
};

// Time passes, up to a minute; the power manager has no timers, but a wake
// reports how long the container slept.
struct AdvanceTime : PowerCommand {
  int64_t ms = *rc::gen::inRange<int64_t>(0, 60'001);
  void apply(PowerModel& m) const override {
    m.now = m.now + absl::Milliseconds(ms);
  }
  void run(const PowerModel& m, PowerSut& sut) const override {
    CheckPower(nextState(m), sut);
  }
  void show(std::ostream& os) const override {
    os << "AdvanceTime(" << ms << "ms)";
  }
};

template <typename... Cmds>
void CheckPowerManager(MutantSet mutants = {}) {
  PowerSut sut(mutants);
  // Sequences twice as long as RapidCheck's default: a suspend and its wake
  // need a few steps to line up.
  const PowerModel initial;
  const auto commands = *rc::gen::scale(
      2.0, rc::state::gen::commands(
               initial, rc::state::gen::execOneOfWithArgs<Cmds...>()));
  rc::state::runAll(commands, initial, sut);
  RC_CLASSIFY(sut.suspends > 0, "suspended");
  RC_CLASSIFY(sut.wakes > 0, "woken by a source");
  RC_CLASSIFY(sut.removals > 0, "a source removed");
}

// Everything at once.
RC_GTEST_PROP(PowerManagerProperty,
              PW3_SuspendRefusedWhileActiveElseSleepsUntilWoken, ()) {
  CheckPowerManager<RegisterWatcher, AddSource, AddSource, RemoveSourceCmd,
                    RetireCounterSource, CounterValue, CounterValue,
                    HandleSignalled, HandleSignalled, Suspend, Suspend, Suspend,
                    Shutdown, ReleaseHostResources, AdvanceTime>();
}

// Watchers come and go (twice, too) around many suspends and wakes.
RC_GTEST_PROP(PowerManagerProperty, PW2_WatchersSeeAlternatingTruth, ()) {
  CheckPowerManager<RegisterWatcher, RegisterWatcher, AddSource, AddSource,
                    HandleSignalled, HandleSignalled, HandleSignalled,
                    CounterValue, CounterValue, Suspend, Suspend, Suspend,
                    AdvanceTime>();
}

// Only counters: a suspend never gets through while one is positive, and a
// counter going positive while suspended wakes the container.
RC_GTEST_PROP(PowerManagerProperty, PW4_NeverSuspendedWhileACounterIsPositive,
              ()) {
  CheckPowerManager<RegisterWatcher, AddSource, CounterValue, CounterValue,
                    CounterValue, RetireCounterSource, RemoveSourceCmd, Suspend,
                    Suspend, Suspend, AdvanceTime>();
}

// PX-4 with PW-4: a stopped proxy's counter source stays registered (and
// keeps the container awake) until its counter drains, then goes.
RC_GTEST_PROP(PowerManagerProperty,
              PX4_StoppedProxySourceStaysUntilItsCounterDrains, ()) {
  CheckPowerManager<AddSource, AddSource, RetireCounterSource,
                    RetireCounterSource, CounterValue, CounterValue,
                    CounterValue, RemoveSourceCmd, Suspend, Suspend,
                    AdvanceTime, Shutdown, ReleaseHostResources>();
}

}  // namespace
}  // namespace proctor
