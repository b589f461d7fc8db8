// Model-based property tests of VmInstance (issue 5): a model written from
// docs/spec.md (VM-3, VM-4, VM-5, VM-7, VM-8, and the reasons of VM-6)
// predicts every observable action of a few VMs driven by generated command
// sequences, time included. The model never calls the runtime's code: it
// only names the vocabulary (states, reasons, exit statuses).
//
// The test harness plays the world: it executes arm_timer / cancel_timer
// actions, fires due timers at their deadlines in deadline order when time
// passes, and answers only what was asked (a spawn outcome for a spawn in
// flight, an exit for a VMM that runs, a failure reason for a read). Timer
// actions are the world's business and are not compared; what they cause (a
// kill at a given instant) is.
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
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
#include "runtime/model/action.h"
#include "runtime/model/describe.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/input.h"
#include "runtime/model/time.h"
#include "runtime/model/timer.h"
#include "runtime/model/vm_config.h"
#include "runtime/model/vm_types.h"
#include "runtime/vm/vm_instance.h"

namespace proctor {
namespace {

// Bounds of the generated worlds.
constexpr int kMaxVms = 8;
constexpr int64_t kMaxStepMs = 60'000;  // one AdvanceTime: at most a minute

// ---------------------------------------------------------------------------
// The model: what docs/spec.md says one VM's state is.
// ---------------------------------------------------------------------------

// VM-4: "Starting < Started < Ready < Finished", from the rule text.
int Rank(PayloadState state) {
  switch (state) {
    case PayloadState::kStarting:
      return 0;
    case PayloadState::kStarted:
      return 1;
    case PayloadState::kReady:
      return 2;
    case PayloadState::kFinished:
      return 3;
  }
  return -1;
}

// VM-6, from the rule text: an exit that could not be observed is
// INFRASTRUCTURE_ERROR; otherwise the failure channel (read bounded to 4 KiB,
// one trailing newline ignored, exact strings only) decides, then the exit.
DeathReason ModelDeathReason(const std::optional<ExitStatus>& exit,
                             std::string failure) {
  if (!exit.has_value()) return DeathReason::kInfrastructureError;
  if (failure.size() > 4096) failure.resize(4096);
  if (!failure.empty() && failure.back() == '\n') failure.pop_back();
  static const std::pair<const char*, DeathReason> kNamed[] = {
      {"PVM_FIRMWARE_PUBLIC_KEY_MISMATCH",
       DeathReason::kPvmFirmwarePublicKeyMismatch},
      {"PVM_FIRMWARE_INSTANCE_IMAGE_CHANGED",
       DeathReason::kPvmFirmwareInstanceImageChanged},
      {"BOOTLOADER_PUBLIC_KEY_MISMATCH",
       DeathReason::kBootloaderPublicKeyMismatch},
      {"BOOTLOADER_INSTANCE_IMAGE_CHANGED",
       DeathReason::kBootloaderInstanceImageChanged},
      {"MICRODROID_FAILED_TO_CONNECT_TO_VIRTUALIZATION_SERVICE",
       DeathReason::kMicrodroidFailedToConnectToVirtualizationService},
      {"MICRODROID_PAYLOAD_HAS_CHANGED",
       DeathReason::kMicrodroidPayloadHasChanged},
      {"MICRODROID_PAYLOAD_VERIFICATION_FAILED",
       DeathReason::kMicrodroidPayloadVerificationFailed},
      {"MICRODROID_INVALID_PAYLOAD_CONFIG",
       DeathReason::kMicrodroidInvalidPayloadConfig},
      {"MICRODROID_UNKNOWN_RUNTIME_ERROR",
       DeathReason::kMicrodroidUnknownRuntimeError},
      {"HANGUP", DeathReason::kHangup},
  };
  for (const auto& [name, reason] : kNamed) {
    if (failure == name) return reason;
  }
  if (exit->signalled()) return DeathReason::kKilled;
  switch (exit->code()) {
    case 0:
      return DeathReason::kShutdown;
    case 1:
      return DeathReason::kError;
    case 32:
      return DeathReason::kReboot;
    case 33:
      return DeathReason::kCrash;
    default:
      return DeathReason::kUnknown;
  }
}

struct VmModel {
  uint32_t cid = 0;
  bool detect_hangup = false;
  // VM-5: the config's timeout, else 10 s (100 s under nested virtualization).
  absl::Duration hangup_timeout;
  VmState state = VmState::kNotStarted;
  // VM-3 (project addition): an accepted start whose spawn outcome has not
  // arrived; the VM counts as started.
  bool spawn_requested = false;
  PayloadState payload = PayloadState::kStarting;
  // VM-5: set while the supervisor waits for Started or the VMM's exit.
  std::optional<Instant> hangup_deadline;
  bool killed_for_hangup = false;
  // The world: the VMM process runs and has not exited yet.
  bool vmm_alive = false;
  // The exit was seen and the failure channel is being read (VM-6).
  bool awaiting_failure_reason = false;
  std::optional<ExitStatus> exit;
};

struct Model {
  Instant now;
  std::vector<VmModel> vms;
};

std::string At(Instant t, absl::string_view line) {
  return absl::StrCat("t=", t.ns, "ns ", line);
}

std::string DiedLine(uint32_t cid, DeathReason reason) {
  return absl::StrCat("on_died cid=", cid, " ", DeathReasonName(reason));
}

// Fails with both lists when the actions differ from the model's prediction.
void AssertLines(const std::vector<std::string>& actual,
                 const std::vector<std::string>& expected,
                 absl::string_view when = "after the last command") {
  if (actual == expected) return;
  RC_FAIL(absl::StrCat("the actions differ from the model's prediction ", when,
                       "\n", "  model:  [", absl::StrJoin(expected, " | "),
                       "]\n", "  actual: [", absl::StrJoin(actual, " | "),
                       "]"));
}

// ---------------------------------------------------------------------------
// The system under test and the world around it.
// ---------------------------------------------------------------------------

class VmSut {
 public:
  VmSut(const std::vector<VmConfig>& configs, PlatformInfo platform) {
    for (const VmConfig& config : configs) {
      vms_.push_back(std::make_unique<VmInstance>(config, platform));
    }
    on_died_.assign(configs.size(), 0);
    vmm_alive_.assign(configs.size(), false);
    read_outstanding_.assign(configs.size(), false);
    ever_running_.assign(configs.size(), false);
  }

  VmInstance& vm(int i) { return *vms_[i]; }
  int size() const { return static_cast<int>(vms_.size()); }
  Instant now() const { return now_; }

  // Executes `actions` as the world does and returns the observable ones as
  // lines: timers are armed and cancelled here, not compared.
  std::vector<std::string> Execute(const ActionList& actions) {
    std::vector<std::string> lines;
    for (const Action& action : actions) {
      if (const auto* a = std::get_if<action::ArmTimer>(&action)) {
        RC_ASSERT(a->timer.kind == TimerKind::kHangup);
        timers_[a->timer] = a->deadline;
      } else if (const auto* a = std::get_if<action::CancelTimer>(&action)) {
        RC_ASSERT(a->timer.kind == TimerKind::kHangup);
        timers_.erase(a->timer);
      } else if (const auto* a = std::get_if<action::SpawnVmm>(&action)) {
        lines.push_back(absl::StrCat("spawn_vmm cid=", a->cid.value));
      } else if (const auto* a = std::get_if<action::VmStateChanged>(&action)) {
        if (a->state == VmState::kRunning) ever_running_[Index(a->cid)] = true;
        lines.push_back(absl::StrCat("vm_state cid=", a->cid.value, " ",
                                     VmStateName(a->state)));
      } else if (const auto* a =
                     std::get_if<action::PayloadStateChanged>(&action)) {
        lines.push_back(absl::StrCat("payload_state cid=", a->cid.value, " ",
                                     PayloadStateName(a->state)));
      } else if (const auto* a = std::get_if<action::GuestError>(&action)) {
        RC_ASSERT(absl::StartsWith(a->message, "VM-4"));
        lines.push_back(absl::StrCat("guest_error cid=", a->cid.value));
      } else if (const auto* a = std::get_if<action::KillVmm>(&action)) {
        lines.push_back(absl::StrCat("kill_vmm cid=", a->cid.value));
      } else if (const auto* a =
                     std::get_if<action::ReadFailureReason>(&action)) {
        read_outstanding_[Index(a->cid)] = true;
        lines.push_back(absl::StrCat("read_failure_reason cid=", a->cid.value,
                                     " max_bytes=", a->max_bytes));
      } else if (const auto* a = std::get_if<action::OnDied>(&action)) {
        const int i = Index(a->cid);
        // VM-7: the state is Dead before any callback runs, and on_died
        // comes at most once (exactly once is checked by DrainAndCheck).
        RC_ASSERT(vm(i).state() == VmState::kDead);
        RC_ASSERT(++on_died_[i] == 1);
        lines.push_back(DiedLine(a->cid.value, a->reason));
      } else if (const auto* a = std::get_if<action::RemoveTempDir>(&action)) {
        lines.push_back(absl::StrCat("remove_temp_dir cid=", a->cid.value));
      } else {
        lines.push_back(absl::StrCat("unexpected ", DescribeAction(action)));
      }
    }
    return lines;
  }

  // Moves the clock to now + d, firing every armed timer that falls due on
  // the way at its deadline, earliest first (ties by timer id).
  std::vector<std::string> AdvanceTime(absl::Duration d) {
    const Instant target = now_ + d;
    std::vector<std::string> lines;
    while (true) {
      auto due = timers_.end();
      for (auto it = timers_.begin(); it != timers_.end(); ++it) {
        if (it->second <= target &&
            (due == timers_.end() || it->second < due->second)) {
          due = it;
        }
      }
      if (due == timers_.end()) break;
      const TimerId timer = due->first;
      now_ = std::max(now_, due->second);
      timers_.erase(due);
      ActionList out;
      vm(Index(Cid{static_cast<uint32_t>(timer.owner)}))
          .OnHangupTimerFired(now_, out);
      for (const std::string& line : Execute(out)) {
        lines.push_back(At(now_, line));
      }
    }
    now_ = target;
    return lines;
  }

  // A fire of the VM's hangup timer now, whatever its deadline: a world may
  // deliver a fire that raced with a cancel (or comes early).
  std::vector<std::string> StaleFire(int i) {
    ActionList out;
    vm(i).OnHangupTimerFired(now_, out);
    return Execute(out);
  }

  std::vector<std::string> Spawned(int i, bool ok) {
    ActionList out;
    input::VmmSpawned spawned{vm(i).cid(), std::nullopt};
    if (!ok) spawned.error = "exec failed: no such file";
    vm(i).OnVmmSpawned(now_, spawned, out);
    if (ok) vmm_alive_[i] = true;
    return Execute(out);
  }

  std::vector<std::string> Exited(int i, std::optional<ExitStatus> status) {
    ActionList out;
    vmm_alive_[i] = false;
    vm(i).OnVmmExited(now_, input::VmmExited{vm(i).cid(), status}, out);
    return Execute(out);
  }

  std::vector<std::string> FailureRead(int i, const std::string& bytes) {
    ActionList out;
    read_outstanding_[i] = false;
    vm(i).OnFailureReasonRead(
        now_, input::FailureReasonRead{vm(i).cid(), bytes}, out);
    return Execute(out);
  }

  // VM-7 over the whole run: finishes every VM's life (spawns in flight
  // succeed, running VMMs exit, outstanding reads are answered), lets every
  // timer fire, and checks that each VM that ever ran got on_died exactly once
  // and is Dead, and that no other VM got one.
  void DrainAndCheck() {
    for (int i = 0; i < size(); ++i) {
      if (vm(i).spawn_in_flight()) Spawned(i, true);
      if (vmm_alive_[i]) Exited(i, ExitStatus::Exited(0));
      if (read_outstanding_[i]) FailureRead(i, "");
    }
    // Every VMM has exited: whatever timers are left must do nothing.
    AssertLines(AdvanceTime(absl::Hours(1)), {},
                "when the timers left after the final drain fire (spawns "
                "completed, VMMs exited, reads answered)");
    for (int i = 0; i < size(); ++i) {
      if (on_died_[i] != (ever_running_[i] ? 1 : 0)) {
        RC_FAIL(absl::StrCat("VM-7: vm ", i,
                             (ever_running_[i] ? " ran" : " never ran"),
                             " and got on_died ", on_died_[i], " times"));
      }
      if (ever_running_[i]) RC_ASSERT(vm(i).state() == VmState::kDead);
    }
  }

 private:
  int Index(Cid cid) const {
    const int i = static_cast<int>(cid.value) - static_cast<int>(kMinGuestCid);
    RC_ASSERT(i >= 0 && i < size());
    return i;
  }

  Instant now_;
  std::vector<std::unique_ptr<VmInstance>> vms_;
  std::map<TimerId, Instant> timers_;
  std::vector<int> on_died_;
  std::vector<bool> vmm_alive_;
  std::vector<bool> read_outstanding_;
  std::vector<bool> ever_running_;
};

// ---------------------------------------------------------------------------
// Commands. Each computes the model's effect and the lines it predicts in
// Effect(); apply() keeps the effect, run() compares the prediction with what
// the real VmInstance did.
// ---------------------------------------------------------------------------

using VmCommand = rc::state::Command<Model, VmSut>;

void CheckStates(const Model& m, VmSut& sut) {
  for (int i = 0; i < sut.size(); ++i) {
    RC_ASSERT(sut.vm(i).state() == m.vms[i].state);
    RC_ASSERT(sut.vm(i).payload_state() == m.vms[i].payload);
  }
}

template <typename Self>
class ModelCommand : public VmCommand {
 public:
  void apply(Model& m) const override { self().Effect(m); }
  void run(const Model& m0, VmSut& sut) const override {
    Model m = m0;
    const std::vector<std::string> expected = self().Effect(m);
    const std::vector<std::string> actual = self().Drive(sut);
    AssertLines(actual, expected);
    CheckStates(m, sut);
  }

 private:
  const Self& self() const { return static_cast<const Self&>(*this); }
};

// Commands keep the index of their VM; a shrunk world may have fewer VMs.
bool HasVm(const Model& m, int vm) {
  return vm >= 0 && vm < static_cast<int>(m.vms.size());
}

int AnyVm(const Model& m) {
  return *rc::gen::inRange<int>(0, static_cast<int>(m.vms.size()));
}

template <typename Pred>
int VmWhere(const Model& m, Pred pred) {
  std::vector<int> eligible;
  for (int i = 0; i < static_cast<int>(m.vms.size()); ++i) {
    if (pred(m.vms[i])) eligible.push_back(i);
  }
  RC_PRE(!eligible.empty());
  return *rc::gen::elementOf(eligible);
}

// VM-3: start.
class Start : public ModelCommand<Start> {
 public:
  explicit Start(const Model& m) : vm_(AnyVm(m)) {}
  void checkPreconditions(const Model& m) const override {
    RC_PRE(HasVm(m, vm_));
  }

  std::vector<std::string> Effect(Model& m) const {
    VmModel& v = m.vms[vm_];
    const std::string head = absl::StrCat("start cid=", v.cid, " ");
    if (v.state != VmState::kNotStarted || v.spawn_requested) {
      return {head + "FAILED_PRECONDITION"};  // refused; nothing changes
    }
    v.spawn_requested = true;
    return {head + "OK", absl::StrCat("spawn_vmm cid=", v.cid)};
  }
  std::vector<std::string> Drive(VmSut& sut) const {
    ActionList out;
    const absl::Status status = sut.vm(vm_).Start(sut.now(), out);
    if (!status.ok()) {
      RC_ASSERT(absl::StartsWith(status.message(), "VM-3"));
      RC_ASSERT(
          absl::StrContains(status.message(), "already started or failed"));
    }
    std::vector<std::string> lines = {
        absl::StrCat("start cid=", sut.vm(vm_).cid().value, " ",
                     absl::StatusCodeToString(status.code()))};
    for (std::string& line : sut.Execute(out)) lines.push_back(line);
    return lines;
  }
  void show(std::ostream& os) const override {
    os << "Start(vm=" << vm_ << ")";
  }

 private:
  int vm_;
};

// VM-3: the spawn the start asked for succeeds or fails.
class SpawnCompletes : public ModelCommand<SpawnCompletes> {
 public:
  explicit SpawnCompletes(const Model& m)
      : vm_(VmWhere(m, [](const VmModel& v) { return v.spawn_requested; })),
        ok_(*rc::gen::weightedElement<bool>({{3, true}, {1, false}})) {}

  void checkPreconditions(const Model& m) const override {
    RC_PRE(HasVm(m, vm_));
    RC_PRE(m.vms[vm_].spawn_requested);
  }
  std::vector<std::string> Effect(Model& m) const {
    VmModel& v = m.vms[vm_];
    v.spawn_requested = false;
    if (!ok_) {
      v.state = VmState::kFailed;  // never started: no on_died (VM-7)
      return {absl::StrCat("vm_state cid=", v.cid, " FAILED")};
    }
    v.state = VmState::kRunning;
    v.vmm_alive = true;
    if (v.detect_hangup) v.hangup_deadline = m.now + v.hangup_timeout;
    return {absl::StrCat("vm_state cid=", v.cid, " RUNNING")};
  }
  std::vector<std::string> Drive(VmSut& sut) const {
    return sut.Spawned(vm_, ok_);
  }
  void show(std::ostream& os) const override {
    os << "SpawnCompletes(vm=" << vm_ << ", " << (ok_ ? "ok" : "error") << ")";
  }

 private:
  int vm_;
  bool ok_;
};

// VM-4: the untrusted guest reports any payload state, in any VM state.
class PayloadReport : public ModelCommand<PayloadReport> {
 public:
  explicit PayloadReport(const Model& m)
      : vm_(AnyVm(m)),
        state_(*rc::gen::element(PayloadState::kStarting,
                                 PayloadState::kStarted, PayloadState::kReady,
                                 PayloadState::kFinished)) {}
  void checkPreconditions(const Model& m) const override {
    RC_PRE(HasVm(m, vm_));
  }

  std::vector<std::string> Effect(Model& m) const {
    VmModel& v = m.vms[vm_];
    if (v.state != VmState::kRunning || Rank(state_) <= Rank(v.payload)) {
      return {absl::StrCat("guest_error cid=", v.cid)};  // nothing changes
    }
    v.payload = state_;
    // VM-5: the wait ends once the payload reaches Started.
    if (Rank(state_) >= Rank(PayloadState::kStarted)) v.hangup_deadline.reset();
    return {absl::StrCat("payload_state cid=", v.cid, " ",
                         PayloadStateName(state_))};
  }
  std::vector<std::string> Drive(VmSut& sut) const {
    ActionList out;
    sut.vm(vm_).OnPayloadReported(
        sut.now(), input::PayloadReported{sut.vm(vm_).cid(), state_}, out);
    return sut.Execute(out);
  }
  void show(std::ostream& os) const override {
    os << "PayloadReport(vm=" << vm_ << ", " << PayloadStateName(state_) << ")";
  }

 private:
  int vm_;
  PayloadState state_;
};

// VM-5, VM-6, VM-7: the VMM exits (code, signal, or unobservable).
class VmmExits : public ModelCommand<VmmExits> {
 public:
  explicit VmmExits(const Model& m)
      : vm_(VmWhere(m, [](const VmModel& v) { return v.vmm_alive; })),
        status_(*rc::gen::oneOf(
            rc::gen::just(std::optional<ExitStatus>()),
            rc::gen::map(rc::gen::element(0, 1, 2, 32, 33, 34, 255),
                         [](int code) {
                           return std::optional<ExitStatus>(
                               ExitStatus::Exited(code));
                         }),
            rc::gen::map(rc::gen::element(kSigKill, kSigTerm, 6, 11),
                         [](int signal) {
                           return std::optional<ExitStatus>(
                               ExitStatus::Signalled(signal));
                         }))) {}

  void checkPreconditions(const Model& m) const override {
    RC_PRE(HasVm(m, vm_));
    RC_PRE(m.vms[vm_].vmm_alive);
  }
  std::vector<std::string> Effect(Model& m) const {
    VmModel& v = m.vms[vm_];
    v.vmm_alive = false;
    // Only a Running VM has a live VMM.
    v.state = VmState::kDead;
    v.exit = status_;
    // VM-5: the exit ends the wait at once; never HANGUP because of it.
    v.hangup_deadline.reset();
    std::vector<std::string> lines = {
        absl::StrCat("vm_state cid=", v.cid, " DEAD")};
    if (v.killed_for_hangup) {
      // VM-5: the reason is HANGUP once the exit is seen (an unobservable
      // exit stays INFRASTRUCTURE_ERROR, VM-6); nothing left to read.
      const DeathReason reason = status_.has_value()
                                     ? DeathReason::kHangup
                                     : DeathReason::kInfrastructureError;
      lines.push_back(DiedLine(v.cid, reason));
      lines.push_back(absl::StrCat("remove_temp_dir cid=", v.cid));
    } else {
      v.awaiting_failure_reason = true;
      lines.push_back(
          absl::StrCat("read_failure_reason cid=", v.cid, " max_bytes=4096"));
    }
    return lines;
  }
  std::vector<std::string> Drive(VmSut& sut) const {
    return sut.Exited(vm_, status_);
  }
  void show(std::ostream& os) const override {
    os << "VmmExits(vm=" << vm_ << ", "
       << (status_.has_value() ? FormatExitStatus(*status_) : "unobservable")
       << ")";
  }

 private:
  int vm_;
  std::optional<ExitStatus> status_;
};

const std::vector<std::string>& FailureSamples() {
  static const std::vector<std::string> kSamples = [] {
    std::vector<std::string> s = {
        "",
        "PVM_FIRMWARE_PUBLIC_KEY_MISMATCH",
        "PVM_FIRMWARE_INSTANCE_IMAGE_CHANGED",
        "BOOTLOADER_PUBLIC_KEY_MISMATCH",
        "BOOTLOADER_INSTANCE_IMAGE_CHANGED",
        "MICRODROID_FAILED_TO_CONNECT_TO_VIRTUALIZATION_SERVICE",
        "MICRODROID_PAYLOAD_HAS_CHANGED\n",
        "MICRODROID_PAYLOAD_VERIFICATION_FAILED",
        "MICRODROID_INVALID_PAYLOAD_CONFIG\n",
        "MICRODROID_UNKNOWN_RUNTIME_ERROR",
        "HANGUP",
        "HANGUP\n",
        "HANGUP\n\n",
        "hangup",
        " HANGUP",
        "MICRODROID_PAYLOAD_HAS_CHANGED\r\n",
        std::string("HANGUP\0", 7),
        "garbage",
    };
    s.push_back("HANGUP" + std::string(5000, 'x'));
    return s;
  }();
  return kSamples;
}

// VM-6, VM-7: the failure channel the exit asked to read.
class FailureReasonRead : public ModelCommand<FailureReasonRead> {
 public:
  explicit FailureReasonRead(const Model& m)
      : vm_(VmWhere(
            m, [](const VmModel& v) { return v.awaiting_failure_reason; })),
        bytes_(*rc::gen::oneOf(rc::gen::elementOf(FailureSamples()),
                               rc::gen::string<std::string>())) {}

  void checkPreconditions(const Model& m) const override {
    RC_PRE(HasVm(m, vm_));
    RC_PRE(m.vms[vm_].awaiting_failure_reason);
  }
  std::vector<std::string> Effect(Model& m) const {
    VmModel& v = m.vms[vm_];
    v.awaiting_failure_reason = false;
    return {DiedLine(v.cid, ModelDeathReason(v.exit, bytes_)),
            absl::StrCat("remove_temp_dir cid=", v.cid)};
  }
  std::vector<std::string> Drive(VmSut& sut) const {
    return sut.FailureRead(vm_, bytes_);
  }
  void show(std::ostream& os) const override {
    os << "FailureReasonRead(vm=" << vm_ << ", "
       << DescribeInput(input::FailureReasonRead{Cid{0}, bytes_}) << ")";
  }

 private:
  int vm_;
  std::string bytes_;
};

// VM-8: kill acts only on a Running VM.
class Kill : public ModelCommand<Kill> {
 public:
  explicit Kill(const Model& m) : vm_(AnyVm(m)) {}
  void checkPreconditions(const Model& m) const override {
    RC_PRE(HasVm(m, vm_));
  }

  std::vector<std::string> Effect(Model& m) const {
    const VmModel& v = m.vms[vm_];
    if (v.state != VmState::kRunning) return {};
    return {absl::StrCat("kill_vmm cid=", v.cid)};
  }
  std::vector<std::string> Drive(VmSut& sut) const {
    ActionList out;
    sut.vm(vm_).Kill(sut.now(), out);
    return sut.Execute(out);
  }
  void show(std::ostream& os) const override { os << "Kill(vm=" << vm_ << ")"; }

 private:
  int vm_;
};

// Time passes; VM-5's waits whose timeout passes end in a kill, at the
// deadline, earliest first.
class AdvanceTime : public ModelCommand<AdvanceTime> {
 public:
  explicit AdvanceTime(const Model& m) : d_(Generate(m)) {}

  std::vector<std::string> Effect(Model& m) const {
    const Instant target = m.now + d_;
    std::vector<std::pair<Instant, int>> due;
    for (int i = 0; i < static_cast<int>(m.vms.size()); ++i) {
      const VmModel& v = m.vms[i];
      if (v.hangup_deadline.has_value() && *v.hangup_deadline <= target) {
        due.emplace_back(*v.hangup_deadline, i);
      }
    }
    std::sort(due.begin(), due.end());
    std::vector<std::string> lines;
    for (const auto& [at, i] : due) {
      VmModel& v = m.vms[i];
      // The timeout passed without Started and without an exit.
      v.hangup_deadline.reset();
      v.killed_for_hangup = true;
      lines.push_back(At(at, absl::StrCat("kill_vmm cid=", v.cid)));
    }
    m.now = target;
    return lines;
  }
  std::vector<std::string> Drive(VmSut& sut) const {
    return sut.AdvanceTime(d_);
  }
  void show(std::ostream& os) const override {
    os << "AdvanceTime(" << absl::FormatDuration(d_) << ")";
  }

 private:
  static absl::Duration Generate(const Model& m) {
    std::vector<absl::Duration> to_deadline;
    for (const VmModel& v : m.vms) {
      if (v.hangup_deadline.has_value()) {
        to_deadline.push_back(*v.hangup_deadline - m.now);
      }
    }
    const int kind = *rc::gen::inRange(0, to_deadline.empty() ? 2 : 3);
    if (kind == 0) {
      return absl::Milliseconds(*rc::gen::inRange<int64_t>(0, 1'001));
    }
    if (kind == 1) {
      return absl::Milliseconds(*rc::gen::inRange<int64_t>(0, kMaxStepMs + 1));
    }
    // Right before, at, or right after a deadline: the edges of VM-5.
    const absl::Duration d = *rc::gen::elementOf(to_deadline) +
                             absl::Nanoseconds(*rc::gen::inRange(-1, 2));
    return std::max(d, absl::ZeroDuration());
  }

  absl::Duration d_;
};

// VM-5 (project addition): a hangup fire before the deadline it was armed
// with, or after the wait ended, changes nothing.
class StaleHangupFire : public ModelCommand<StaleHangupFire> {
 public:
  explicit StaleHangupFire(const Model& m) : vm_(AnyVm(m)) {}
  void checkPreconditions(const Model& m) const override {
    RC_PRE(HasVm(m, vm_));
  }

  std::vector<std::string> Effect(Model& /*m*/) const {
    // Every deadline not yet reached lies after now: AdvanceTime fires the
    // others at their deadlines.
    return {};
  }
  std::vector<std::string> Drive(VmSut& sut) const {
    return sut.StaleFire(vm_);
  }
  void show(std::ostream& os) const override {
    os << "StaleHangupFire(vm=" << vm_ << ")";
  }

 private:
  int vm_;
};

// The world repeats itself: an exit for a VMM that is not running (already
// exited, never spawned) or a failure reason nobody asked for. Only the
// first exit of a running VMM counts (VM-7: on_died exactly once); the rest
// change nothing.
class SpuriousReport : public ModelCommand<SpuriousReport> {
 public:
  explicit SpuriousReport(const Model& m)
      : exit_(*rc::gen::arbitrary<bool>()),
        vm_(exit_ ? VmWhere(m, [](const VmModel& v) { return !v.vmm_alive; })
                  : VmWhere(m, [](const VmModel& v) {
                      return !v.awaiting_failure_reason;
                    })) {}

  void checkPreconditions(const Model& m) const override {
    RC_PRE(HasVm(m, vm_));
    const VmModel& v = m.vms[vm_];
    const bool unasked = exit_ ? !v.vmm_alive : !v.awaiting_failure_reason;
    RC_PRE(unasked);
  }
  std::vector<std::string> Effect(Model& /*m*/) const { return {}; }
  std::vector<std::string> Drive(VmSut& sut) const {
    ActionList out;
    const Cid cid = sut.vm(vm_).cid();
    if (exit_) {
      sut.vm(vm_).OnVmmExited(
          sut.now(), input::VmmExited{cid, ExitStatus::Exited(0)}, out);
    } else {
      sut.vm(vm_).OnFailureReasonRead(
          sut.now(), input::FailureReasonRead{cid, "HANGUP"}, out);
    }
    return sut.Execute(out);
  }
  void show(std::ostream& os) const override {
    os << "SpuriousReport(vm=" << vm_ << ", "
       << (exit_ ? "vmm_exited Exit(0)" : "failure_reason_read HANGUP") << ")";
  }

 private:
  bool exit_;
  int vm_;
};

// ---------------------------------------------------------------------------
// The properties.
// ---------------------------------------------------------------------------

struct WorldShape {
  bool force_detect_hangup = false;
  int64_t max_timeout_ms = 30'000;
};

// Runs generated command sequences (from `commands`) on 1..kMaxVms VMs whose
// configs follow `shape`, then drains the run and checks VM-7 over it.
template <typename GenFunc>
void CheckVmLifecycle(const WorldShape& shape, GenFunc commands) {
  const int count = *rc::gen::inRange(1, kMaxVms + 1);
  PlatformInfo platform;
  platform.nested_virtualization = *rc::gen::arbitrary<bool>();
  std::vector<VmConfig> configs;
  Model model;
  for (int i = 0; i < count; ++i) {
    VmConfig config;
    config.cid = Cid{kMinGuestCid + static_cast<uint32_t>(i)};
    config.kernel = "/images/vmlinuz";
    config.detect_hangup =
        shape.force_detect_hangup || *rc::gen::arbitrary<bool>();
    if (*rc::gen::weightedElement<bool>({{3, true}, {1, false}})) {
      config.hangup_timeout = absl::Milliseconds(
          *rc::gen::inRange<int64_t>(1, shape.max_timeout_ms + 1));
    }
    configs.push_back(config);

    VmModel v;
    v.cid = config.cid.value;
    v.detect_hangup = config.detect_hangup;
    v.hangup_timeout = config.hangup_timeout.value_or(
        platform.nested_virtualization ? absl::Seconds(100)
                                       : absl::Seconds(10));
    model.vms.push_back(v);
  }
  RC_TAG(count);
  for (const VmModel& v : model.vms) {
    RC_LOG() << "vm cid=" << v.cid << " detect_hangup=" << v.detect_hangup
             << " hangup_timeout=" << absl::FormatDuration(v.hangup_timeout)
             << "\n";
  }

  VmSut sut(configs, platform);
  rc::state::check(model, sut, commands);
  sut.DrainAndCheck();
}

// VM-3 (start only from NotStarted, refusals change nothing), VM-4 (payload
// only strictly forward, anything else a guest_error), VM-7 (Dead before
// on_died, exactly once per started VM), VM-8 (kill only when Running), with
// hangup detection on for some VMs.
RC_GTEST_PROP(VmInstanceProperty, VM3_VM4_VM7_VM8_LifecycleMatchesModel, ()) {
  CheckVmLifecycle(
      WorldShape{},
      rc::state::gen::execOneOfWithArgs<
          Start, SpawnCompletes, PayloadReport, VmmExits, FailureReasonRead,
          Kill, AdvanceTime, StaleHangupFire, SpuriousReport>());
}

// VM-5 (and VM-7): every VM detects hangups, with short timeouts so that
// they pass often: killed with HANGUP exactly when the timeout passes without
// Started and without an exit; an exit before Started ends the wait at once.
RC_GTEST_PROP(VmInstanceProperty, VM5_VM7_HangupExactlyWhenTimeoutPasses, ()) {
  // Spawns and time are listed twice: they are what reaches a timeout.
  CheckVmLifecycle(
      WorldShape{.force_detect_hangup = true, .max_timeout_ms = 3'000},
      rc::state::gen::execOneOfWithArgs<
          Start, SpawnCompletes, SpawnCompletes, PayloadReport, VmmExits,
          FailureReasonRead, Kill, AdvanceTime, AdvanceTime, StaleHangupFire,
          SpuriousReport>());
}

}  // namespace
}  // namespace proctor
