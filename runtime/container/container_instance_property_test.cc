// Model-based property tests of a container's wait and stop-with-grace
// (issue 5): CN-3 and CN-4 of docs/spec.md, with their project additions,
// as a model that predicts every observable action of a running container
// driven by generated waits, stops, process exits and the passage of time.
// The model never calls the runtime's code.
//
// The test harness plays the world: it executes arm_timer / cancel_timer and
// fires due timers at their deadlines; its process ends on its own at a
// generated time, on SIGTERM after a generated delay (or ignores SIGTERM),
// and on SIGKILL after a short delay, and its exit is reported as
// container_exited at that instant. At one instant, a due timer is delivered
// before or after the process's exit (generated). The same Process type is
// used for the model's idea of the world and for the world that executes the
// real actions; what it reacts to (the signals) comes from the model on one
// side and from the real ContainerInstance on the other.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"  // before rapidcheck/gtest.h, which needs it
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "rapidcheck/state.h"
#include "runtime/container/container_instance.h"
#include "runtime/container/retry.h"
#include "runtime/model/action.h"
#include "runtime/model/container_types.h"
#include "runtime/model/describe.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/ids.h"
#include "runtime/model/time.h"
#include "runtime/model/timer.h"

namespace proctor {
namespace {

constexpr ContainerId kContainer{7};
constexpr RequestId kStartRequest{1'000'000};
constexpr int64_t kMaxStepMs = 60'000;  // one AdvanceTime: at most a minute
// Waits and stops queued at once stay well below the runtime's bound.
constexpr size_t kMaxPending = 16;

// ---------------------------------------------------------------------------
// The world's process.
// ---------------------------------------------------------------------------

struct Process {
  // How long after SIGTERM it exits; absent: it ignores SIGTERM.
  std::optional<absl::Duration> term_delay;
  // How long after SIGKILL it is gone.
  absl::Duration kill_delay;
  // At one instant, the world delivers a due timer before the exit, or
  // after it (both orders happen in real worlds).
  bool timer_first = true;
  bool alive = true;  // its exit has not been reported yet
  std::optional<Instant> exit_at;
  std::optional<ExitStatus> exit_with;

  // The earliest scheduled end wins; at one instant, the first scheduled.
  void ExitAt(Instant at, ExitStatus status) {
    if (!alive) return;
    if (!exit_at.has_value() || at < *exit_at) {
      exit_at = at;
      exit_with = status;
    }
  }
  void Signal(Instant now, int signal) {
    if (signal == kSigTerm && term_delay.has_value()) {
      ExitAt(now + *term_delay, ExitStatus::Signalled(kSigTerm));
    } else if (signal == kSigKill) {
      ExitAt(now + kill_delay, ExitStatus::Signalled(kSigKill));
    }
  }
  bool ExitDue(Instant by) const {
    return alive && exit_at.has_value() && *exit_at <= by;
  }
};

std::string At(Instant t, absl::string_view line) {
  return absl::StrCat("t=", t.ns, "ns ", line);
}

// One input's observable actions, as sorted lines prefixed by the instant
// (the spec orders none of them within one step).
void AddStep(Instant t, std::vector<std::string> step,
             std::vector<std::string>& lines) {
  std::sort(step.begin(), step.end());
  for (const std::string& line : step) lines.push_back(At(t, line));
}

void AssertLines(const std::vector<std::string>& actual,
                 const std::vector<std::string>& expected,
                 absl::string_view when = "after the last command") {
  if (actual == expected) return;
  RC_FAIL(absl::StrCat("the actions differ from the model's prediction ", when,
                       "\n  model:  [", absl::StrJoin(expected, " | "),
                       "]\n  actual: [", absl::StrJoin(actual, " | "), "]"));
}

std::string ReplyLine(uint64_t request, absl::string_view rest) {
  return absl::StrCat("reply request=", request, " ", rest);
}

// ---------------------------------------------------------------------------
// The model: CN-3 and CN-4 as plain data.
// ---------------------------------------------------------------------------

struct Model {
  Instant now;
  bool owns_vm = true;
  Process process;  // the model's idea of the world
  // CN-3: the exit status, cached once the process exited.
  std::optional<ExitStatus> exit;
  // Waits and stops answered with the exit status when it comes.
  std::vector<uint64_t> pending;
  // CN-3 / CN-4: the guest was asked for the exit (wait_process), once.
  bool asked_guest = false;
  // CN-3: stop relays, delete the process, stop the owned VM: done once.
  bool cleaned_up = false;
  // CN-4: SIGTERM was sent and the stop waits for the exit.
  bool stopping = false;
  // CN-4: when SIGKILL is due if the process has not exited by then.
  std::optional<Instant> kill_due;
  // Only names the requests the commands make.
  uint64_t next_request = 1;
};

std::vector<std::string> CleanUp(Model& m) {
  if (m.cleaned_up) return {};
  m.cleaned_up = true;
  std::vector<std::string> lines = {"stop_socket_relays", "delete_process"};
  if (m.owns_vm) lines.push_back("stop_vm");
  return lines;
}

// CN-3 / CN-4 on an exited container: the cached status at once, and the
// clean-up if nobody waited before.
std::vector<std::string> AnswerFromCache(Model& m, uint64_t request) {
  std::vector<std::string> lines = CleanUp(m);
  lines.push_back(
      ReplyLine(request, absl::StrCat("OK ", FormatExitStatus(*m.exit))));
  return lines;
}

std::vector<std::string> AskGuest(Model& m) {
  if (m.asked_guest) return {};
  m.asked_guest = true;
  return {"wait_process"};
}

// ---------------------------------------------------------------------------
// The system under test and the world around it.
// ---------------------------------------------------------------------------

class ContainerSut {
 public:
  ContainerSut(const ContainerSpec& spec, const Process& process)
      : container_(kContainer, spec, IsTransientVmnetBootError),
        process_(process) {
    // Up to Running at t=0; what the start does is not under test here.
    ActionList out;
    container_.Start(now_, kStartRequest, out);
    if (spec.owns_vm) container_.OnVmBooted(now_, std::nullopt, out);
    container_.OnAgentConnected(now_, std::nullopt, out);
    container_.OnProcessCreated(now_, std::nullopt, out);
    container_.OnProcessStarted(now_, std::nullopt, out);
    RC_ASSERT(container_.state() == ContainerState::kRunning);
  }

  ContainerInstance& container() { return container_; }
  Instant now() const { return now_; }
  Process& process() { return process_; }

  // Executes `actions` as the world does; returns the observable ones.
  std::vector<std::string> Execute(const ActionList& actions) {
    std::vector<std::string> lines;
    for (const Action& action : actions) {
      if (const auto* a = std::get_if<action::ArmTimer>(&action)) {
        RC_ASSERT(a->timer == StopTimer());
        timers_[a->timer] = a->deadline;
      } else if (const auto* a = std::get_if<action::CancelTimer>(&action)) {
        RC_ASSERT(a->timer == StopTimer());
        timers_.erase(a->timer);
      } else if (const auto* a =
                     std::get_if<action::SignalContainer>(&action)) {
        process_.Signal(now_, a->signal);
        lines.push_back(absl::StrCat("signal ", a->signal));
      } else if (std::holds_alternative<action::WaitProcess>(action)) {
        lines.push_back("wait_process");
      } else if (std::holds_alternative<action::StopSocketRelays>(action)) {
        ++cleanups_["stop_socket_relays"];
        lines.push_back("stop_socket_relays");
      } else if (std::holds_alternative<action::DeleteProcess>(action)) {
        ++cleanups_["delete_process"];
        lines.push_back("delete_process");
      } else if (std::holds_alternative<action::StopVm>(action)) {
        ++cleanups_["stop_vm"];
        lines.push_back("stop_vm");
      } else if (const auto* a = std::get_if<action::Reply>(&action)) {
        std::string rest(absl::StatusCodeToString(a->status.code()));
        if (a->status.ok()) {
          const auto* status = std::get_if<ExitStatus>(&a->value);
          RC_ASSERT(status != nullptr);
          absl::StrAppend(&rest, " ", FormatExitStatus(*status));
        } else if (a->status.code() == absl::StatusCode::kInvalidArgument) {
          RC_ASSERT(absl::StartsWith(a->status.message(), "CN-4"));
        }
        lines.push_back(ReplyLine(a->request.value, rest));
      } else if (const auto* a =
                     std::get_if<action::EmitContainerEvent>(&action)) {
        lines.push_back(
            absl::StrCat("event ", DescribeContainerEvent(a->event)));
      } else {
        lines.push_back(absl::StrCat("unexpected ", DescribeAction(action)));
      }
    }
    return lines;
  }

  // Moves the clock to now + d, delivering on the way every due timer fire
  // and the process's exit, in time order (a timer first at one instant).
  std::vector<std::string> AdvanceTime(absl::Duration d) {
    const Instant target = now_ + d;
    std::vector<std::string> lines;
    while (true) {
      const auto timer = std::min_element(
          timers_.begin(), timers_.end(),
          [](const auto& a, const auto& b) { return a.second < b.second; });
      const bool timer_due = timer != timers_.end() && timer->second <= target;
      const bool exit_due = process_.ExitDue(target);
      if (!timer_due && !exit_due) break;
      ActionList out;
      if (timer_due &&
          (!exit_due || timer->second < *process_.exit_at ||
           (timer->second == *process_.exit_at && process_.timer_first))) {
        now_ = std::max(now_, timer->second);
        const TimerKind kind = timer->first.kind;
        timers_.erase(timer);
        container_.OnTimerFired(now_, kind, out);
      } else {
        now_ = std::max(now_, *process_.exit_at);
        process_.alive = false;
        container_.OnExited(now_, *process_.exit_with, out);
      }
      AddStep(now_, Execute(out), lines);
    }
    now_ = target;
    return lines;
  }

  // CN-3 over the whole run: stops the container if it still runs, lets
  // everything happen, waits, and checks that the clean-up happened exactly
  // once.
  void DrainAndCheck(bool owns_vm) {
    if (container_.state() == ContainerState::kRunning) {
      ActionList out;
      container_.Stop(now_, RequestId{2'000'000}, absl::Seconds(1), out);
      Execute(out);
    }
    AdvanceTime(absl::Hours(48));
    RC_ASSERT(container_.state() == ContainerState::kExited);
    // A wait after the exit: if nobody waited or stopped yet, this first
    // wait cleans up; otherwise it must not clean up again.
    ActionList out;
    container_.Wait(now_, RequestId{2'000'001}, out);
    Execute(out);
    RC_ASSERT(cleanups_["stop_socket_relays"] == 1);
    RC_ASSERT(cleanups_["delete_process"] == 1);
    RC_ASSERT(cleanups_["stop_vm"] == (owns_vm ? 1 : 0));
  }

 private:
  static TimerId StopTimer() {
    return TimerId{TimerKind::kStopGrace, kContainer.value};
  }

  Instant now_;
  ContainerInstance container_;
  Process process_;
  std::map<TimerId, Instant> timers_;
  std::map<std::string, int> cleanups_;
};

// ---------------------------------------------------------------------------
// Commands: Effect() is the model's effect and the lines it predicts.
// ---------------------------------------------------------------------------

using ContainerCommand = rc::state::Command<Model, ContainerSut>;

template <typename Self>
class ModelCommand : public ContainerCommand {
 public:
  void apply(Model& m) const override { self().Effect(m); }
  void run(const Model& m0, ContainerSut& sut) const override {
    Model m = m0;
    const std::vector<std::string> expected = self().Effect(m);
    const std::vector<std::string> actual = self().Drive(sut);
    AssertLines(actual, expected);
    RC_ASSERT(sut.container().state() == (m.exit.has_value()
                                              ? ContainerState::kExited
                                              : ContainerState::kRunning));
    RC_ASSERT(sut.container().exit_status() == m.exit);
  }

 private:
  const Self& self() const { return static_cast<const Self&>(*this); }
};

// CN-3: wait.
class Wait : public ModelCommand<Wait> {
 public:
  explicit Wait(const Model& m) : request_(m.next_request) {
    RC_PRE(m.exit.has_value() || m.pending.size() < kMaxPending);
  }
  void checkPreconditions(const Model& m) const override {
    RC_PRE(m.exit.has_value() || m.pending.size() < kMaxPending);
  }

  std::vector<std::string> Effect(Model& m) const {
    ++m.next_request;
    std::vector<std::string> lines;
    if (m.exit.has_value()) {
      // Idempotent: the cached status, without asking the guest again.
      lines = AnswerFromCache(m, request_);
    } else {
      m.pending.push_back(request_);
      lines = AskGuest(m);
    }
    std::vector<std::string> step;
    AddStep(m.now, lines, step);
    return step;
  }
  std::vector<std::string> Drive(ContainerSut& sut) const {
    ActionList out;
    sut.container().Wait(sut.now(), RequestId{request_}, out);
    std::vector<std::string> step;
    AddStep(sut.now(), sut.Execute(out), step);
    return step;
  }
  void show(std::ostream& os) const override {
    os << "Wait(request=" << request_ << ")";
  }

 private:
  uint64_t request_;
};

// CN-4: stop with a grace (absent: the default 10 s), sometimes outside
// 0..24 h, which is refused.
class Stop : public ModelCommand<Stop> {
 public:
  explicit Stop(const Model& m)
      : request_(m.next_request),
        grace_(*rc::gen::weightedOneOf<std::optional<absl::Duration>>({
            {1, rc::gen::just(std::optional<absl::Duration>())},
            {2, rc::gen::map(rc::gen::inRange<int64_t>(0, 2'001),
                             [](int64_t ms) {
                               return std::optional<absl::Duration>(
                                   absl::Milliseconds(ms));
                             })},
            {2, rc::gen::map(rc::gen::inRange<int64_t>(0, 30'001),
                             [](int64_t ms) {
                               return std::optional<absl::Duration>(
                                   absl::Milliseconds(ms));
                             })},
            {1, rc::gen::element(
                    std::optional<absl::Duration>(absl::ZeroDuration()),
                    std::optional<absl::Duration>(absl::Hours(24)),
                    std::optional<absl::Duration>(-absl::Milliseconds(1)),
                    std::optional<absl::Duration>(absl::Hours(24) +
                                                  absl::Nanoseconds(1)))},
        })) {
    RC_PRE(m.exit.has_value() || m.pending.size() < kMaxPending);
  }
  void checkPreconditions(const Model& m) const override {
    RC_PRE(m.exit.has_value() || m.pending.size() < kMaxPending);
  }

  std::vector<std::string> Effect(Model& m) const {
    ++m.next_request;
    const absl::Duration grace = grace_.value_or(absl::Seconds(10));
    std::vector<std::string> lines;
    if (grace < absl::ZeroDuration() || grace > absl::Hours(24)) {
      lines = {ReplyLine(request_, "INVALID_ARGUMENT")};
    } else if (m.exit.has_value()) {
      lines = AnswerFromCache(m, request_);
    } else {
      m.pending.push_back(request_);
      if (!m.stopping) {
        // SIGTERM, then SIGKILL when the grace has passed without an exit.
        m.stopping = true;
        m.kill_due = m.now + grace;
        m.process.Signal(m.now, kSigTerm);
        lines.push_back(absl::StrCat("signal ", kSigTerm));
      }
      // A stop while one is in progress joins it: no second SIGTERM, and
      // its grace does not move the first one's deadline.
      for (std::string& line : AskGuest(m)) lines.push_back(line);
    }
    std::vector<std::string> step;
    AddStep(m.now, lines, step);
    return step;
  }
  std::vector<std::string> Drive(ContainerSut& sut) const {
    ActionList out;
    sut.container().Stop(sut.now(), RequestId{request_}, grace_, out);
    std::vector<std::string> step;
    AddStep(sut.now(), sut.Execute(out), step);
    return step;
  }
  void show(std::ostream& os) const override {
    os << "Stop(request=" << request_ << ", grace="
       << (grace_.has_value() ? absl::FormatDuration(*grace_) : "default")
       << ")";
  }

 private:
  uint64_t request_;
  std::optional<absl::Duration> grace_;
};

// The process will end on its own `d` from now (unless something ends it
// earlier).
class ProcessExitsLater : public ModelCommand<ProcessExitsLater> {
 public:
  explicit ProcessExitsLater(const Model& m)
      : d_(absl::Milliseconds(
            *rc::gen::oneOf(rc::gen::inRange<int64_t>(0, 1'001),
                            rc::gen::inRange<int64_t>(0, 30'001)))),
        code_(*rc::gen::element(0, 1, 2, 137)) {
    RC_PRE(m.process.alive);
  }
  void checkPreconditions(const Model& m) const override {
    RC_PRE(m.process.alive);
  }

  std::vector<std::string> Effect(Model& m) const {
    m.process.ExitAt(m.now + d_, ExitStatus::Exited(code_));
    return {};
  }
  std::vector<std::string> Drive(ContainerSut& sut) const {
    sut.process().ExitAt(sut.now() + d_, ExitStatus::Exited(code_));
    return {};
  }
  void show(std::ostream& os) const override {
    os << "ProcessExitsLater(" << absl::FormatDuration(d_) << ", Exit(" << code_
       << "))";
  }

 private:
  absl::Duration d_;
  int code_;
};

// Time passes: SIGKILL when a stop's grace has passed without an exit, and
// the process's exit answers every pending wait and stop at its instant.
class AdvanceTime : public ModelCommand<AdvanceTime> {
 public:
  explicit AdvanceTime(const Model& m) : d_(Generate(m)) {}

  std::vector<std::string> Effect(Model& m) const {
    const Instant target = m.now + d_;
    std::vector<std::string> lines;
    while (true) {
      const bool kill_due = m.kill_due.has_value() && *m.kill_due <= target;
      const bool exit_due = m.process.ExitDue(target);
      if (!kill_due && !exit_due) break;
      if (kill_due &&
          (!exit_due || *m.kill_due < *m.process.exit_at ||
           (*m.kill_due == *m.process.exit_at && m.process.timer_first))) {
        m.now = *m.kill_due;
        m.kill_due.reset();
        m.process.Signal(m.now, kSigKill);
        AddStep(m.now, {absl::StrCat("signal ", kSigKill)}, lines);
        continue;
      }
      // The exit: the stop returns now, not when the grace would end.
      m.now = *m.process.exit_at;
      m.process.alive = false;
      m.exit = *m.process.exit_with;
      m.stopping = false;
      m.kill_due.reset();
      std::vector<std::string> step = {
          absl::StrCat("event kind=exit status=", FormatExitStatus(*m.exit))};
      if (!m.pending.empty()) {
        for (std::string& line : CleanUp(m)) step.push_back(line);
        for (uint64_t request : m.pending) {
          step.push_back(ReplyLine(
              request, absl::StrCat("OK ", FormatExitStatus(*m.exit))));
        }
        m.pending.clear();
      }
      AddStep(m.now, step, lines);
    }
    m.now = target;
    return lines;
  }
  std::vector<std::string> Drive(ContainerSut& sut) const {
    return sut.AdvanceTime(d_);
  }
  void show(std::ostream& os) const override {
    os << "AdvanceTime(" << absl::FormatDuration(d_) << ")";
  }

 private:
  static absl::Duration Generate(const Model& m) {
    std::vector<absl::Duration> to_event;
    if (m.kill_due.has_value()) to_event.push_back(*m.kill_due - m.now);
    if (m.process.alive && m.process.exit_at.has_value()) {
      to_event.push_back(*m.process.exit_at - m.now);
    }
    const int kind = *rc::gen::inRange(0, to_event.empty() ? 2 : 3);
    if (kind == 0) {
      return absl::Milliseconds(*rc::gen::inRange<int64_t>(0, 1'001));
    }
    if (kind == 1) {
      return absl::Milliseconds(*rc::gen::inRange<int64_t>(0, kMaxStepMs + 1));
    }
    // Right before, at, or right after the next SIGKILL or exit.
    const absl::Duration d = *rc::gen::elementOf(to_event) +
                             absl::Nanoseconds(*rc::gen::inRange(-1, 2));
    return std::max(d, absl::ZeroDuration());
  }

  absl::Duration d_;
};

// ---------------------------------------------------------------------------
// The properties.
// ---------------------------------------------------------------------------

template <typename GenFunc>
void CheckWaitAndStop(GenFunc commands) {
  ContainerSpec spec;
  spec.owns_vm = *rc::gen::arbitrary<bool>();
  spec.socket_relays = *rc::gen::inRange<uint32_t>(1, 4);
  Process process;
  if (*rc::gen::weightedElement<bool>({{2, true}, {1, false}})) {
    process.term_delay = absl::Milliseconds(
        *rc::gen::oneOf(rc::gen::inRange<int64_t>(0, 100),
                        rc::gen::inRange<int64_t>(0, 20'000)));
  }
  process.kill_delay = absl::Milliseconds(*rc::gen::inRange<int64_t>(0, 100));
  process.timer_first = *rc::gen::arbitrary<bool>();
  RC_LOG() << "owns_vm=" << spec.owns_vm
           << " socket_relays=" << spec.socket_relays << " process: "
           << (process.term_delay.has_value()
                   ? absl::StrCat("exits ",
                                  absl::FormatDuration(*process.term_delay),
                                  " after SIGTERM")
                   : std::string("ignores SIGTERM"))
           << ", gone " << absl::FormatDuration(process.kill_delay)
           << " after SIGKILL; at one instant the "
           << (process.timer_first ? "timer" : "exit") << " comes first\n";

  Model model;
  model.owns_vm = spec.owns_vm;
  model.process = process;
  ContainerSut sut(spec, process);
  rc::state::check(model, sut, commands);
  sut.DrainAndCheck(spec.owns_vm);
}

// CN-3: wait returns the exit status and is idempotent (later waits get the
// cached status without asking the guest again); the clean-up (stop relays,
// delete the process, stop the owned VM) happens once, after the first wait
// or stop that collects the exit.
RC_GTEST_PROP(ContainerInstanceProperty,
              CN3_WaitReturnsCachedStatusCleansUpOnce, ()) {
  CheckWaitAndStop(
      rc::state::gen::execOneOfWithArgs<Wait, Wait, Stop, ProcessExitsLater,
                                        AdvanceTime>());
}

// CN-4: a stop returns the cached status if exited, else sends SIGTERM,
// sends SIGKILL exactly when the grace has passed without an exit, and
// returns at the instant the process exits, never later.
RC_GTEST_PROP(ContainerInstanceProperty, CN4_StopReturnsAsSoonAsExited, ()) {
  CheckWaitAndStop(
      rc::state::gen::execOneOfWithArgs<Wait, Stop, Stop, ProcessExitsLater,
                                        AdvanceTime, AdvanceTime>());
}

}  // namespace
}  // namespace proctor
