// The world's containers: the client that installs, starts, stops, waits
// for, kills, copies into and uninstalls them, the VM each boots, the
// in-guest agent, and the container's process (CN-1..10).
#include <array>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "sim/world/internal/world_state.h"

namespace proctor::sim::world_internal {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;

constexpr int kSigHup = 1, kSigInt = 2, kSigQuit = 3, kSigAbrt = 6,
              kSigUsr1 = 10, kSigSegv = 11;

enum ContainerStep : uint64_t {
  kInstall = 0,  // maybe an invalid spec first
  kInstallValid = 1,
  kStart = 2,
  kStop = 3,  // param: 0 no grace, 1 an invalid grace, else grace ms + 2
  kWait = 4,
  kKill = 5,    // param: the signal
  kCopy = 6,    // param: index into kGuestPaths, + 100 for "out"
  kAttach = 7,  // param: the slot
  kUninstall = 8,
  kUninstallEarly = 9,
};

uint64_t Step(ContainerStep step, uint64_t param = 0) {
  return uint64_t{step} | param << 8;
}

// CN-8: guest paths a client might send, good and bad.
const std::array<std::string, 13>& GuestPaths() {
  static const auto* paths =
      new std::array<std::string, 13>{"etc/hosts",
                                      "/var/log/app.log",
                                      "/",
                                      "",
                                      "a/../b",
                                      "../etc/passwd",
                                      "/x/..",
                                      "\xff",
                                      "data/file.bin",
                                      "/tmp/x",
                                      "dir/./file",
                                      std::string("a\0b", 3),
                                      "/usr/lib/libc.so.6"};
  return *paths;
}

// An exit the process comes to by itself, not by a signal or a fault.
constexpr uint64_t kNaturalExit = uint64_t{1} << 33;

// Exit status and fault packed into an event argument.
uint64_t PackExit(ExitStatus status, uint32_t fault_plus_1) {
  return static_cast<uint32_t>(status.exited() ? status.code()
                                               : status.signal()) |
         (status.signalled() ? uint64_t{1} << 32 : 0) |
         uint64_t{fault_plus_1} << 40;
}
ExitStatus UnpackExit(uint64_t arg) {
  const int value = static_cast<int>(static_cast<uint32_t>(arg));
  return (arg >> 32) & 1 ? ExitStatus::Signalled(value)
                         : ExitStatus::Exited(value);
}

}  // namespace

ContainerSim* WorldState::FindContainer(ContainerId id) {
  if (id.value == 0 || id.value > containers_.size()) return nullptr;
  return &containers_[id.value - 1];
}

void WorldState::ScheduleContainerStep(ContainerSim& c, int64_t delay_ns,
                                       uint64_t step) {
  ScheduleAfter(delay_ns, Event{EventKind::kContainerClient,
                                static_cast<uint32_t>(&c - containers_.data()),
                                c.life, step});
}

void WorldState::OnContainerClient(ContainerSim& c, uint32_t life,
                                   uint64_t arg) {
  if (life != c.life || quiet_ || c.done) return;
  const uint32_t index = static_cast<uint32_t>(&c - containers_.data());
  const uint64_t param = arg >> 8;
  Prng& r = c.rng;
  switch (static_cast<ContainerStep>(arg & 0xff)) {
    case kInstall:
      if (r.Chance(50'000)) {
        // CN-7: an empty port range is refused at install.
        ContainerSpec spec;
        spec.owns_vm = c.owns_vm;
        spec.port_start = 50'000;
        spec.port_end = 49'999;
        Deliver(input::InstallContainer{
            NewRequest(RequestKind::kInstallInvalid, index, c.life), c.id,
            spec});
        return;
      }
      [[fallthrough]];
    case kInstallValid: {
      ContainerSpec spec;
      spec.owns_vm = c.owns_vm;
      spec.socket_relays = static_cast<uint32_t>(r.Between(0, 3));
      if (r.Chance(150'000)) {
        // CN-7: a range of 2..4 ports runs out after a start or two.
        spec.port_start = static_cast<uint32_t>(40'000 + 16 * c.id.value);
        spec.port_end =
            spec.port_start + static_cast<uint32_t>(r.Between(1, 3));
      }
      Deliver(input::InstallContainer{
          NewRequest(RequestKind::kInstall, index, c.life), c.id, spec});
      return;
    }
    case kStart:
      c.phase = ContainerPhase::kStarting;
      Deliver(input::StartContainer{
          NewRequest(RequestKind::kStartContainer, index, c.life), c.id});
      return;
    case kStop: {
      std::optional<absl::Duration> grace;
      if (param == 1) {
        grace = absl::Seconds(-1);  // CN-4: refused
      } else if (param >= 2) {
        grace = absl::Milliseconds(static_cast<int64_t>(param - 2));
      }
      Deliver(input::StopContainer{
          NewRequest(RequestKind::kCollect, index, c.life), c.id, grace});
      return;
    }
    case kWait:
      Deliver(input::WaitContainer{
          NewRequest(RequestKind::kCollect, index, c.life), c.id});
      return;
    case kKill:
      Deliver(input::KillContainer{NewRequest(RequestKind::kOther, 0, 0), c.id,
                                   static_cast<int>(param)});
      return;
    case kCopy:
      Deliver(input::CopyFile{
          NewRequest(RequestKind::kOther, 0, 0), c.id,
          param >= 100 ? input::CopyDirection::kOut : input::CopyDirection::kIn,
          GuestPaths()[param % 100 % GuestPaths().size()]});
      return;
    case kAttach:
      Deliver(input::AttachBlockDevice{NewRequest(RequestKind::kOther, 0, 0),
                                       c.id, static_cast<uint32_t>(param)});
      return;
    case kUninstall:
      Deliver(input::UninstallContainer{
          NewRequest(RequestKind::kUninstall, index, c.life), c.id});
      return;
    case kUninstallEarly:
      Deliver(input::UninstallContainer{
          NewRequest(RequestKind::kUninstallEarly, index, c.life), c.id});
      return;
  }
}

void WorldState::ScheduleClientOps(ContainerSim& c) {
  Prng& r = c.rng;
  if (r.Chance(350'000)) {
    const uint64_t pick = r.Below(20);
    const uint64_t param =
        pick < 16 ? 2 + r.Between(100, 5'000) : (pick < 19 ? 0 : 1);
    ScheduleContainerStep(c, r.Between(1 * kSec, 15 * kSec),
                          Step(kStop, param));
  }
  if (r.Chance(300'000)) {
    ScheduleContainerStep(c, r.Between(0, 10 * kSec), Step(kWait));
  }
  if (r.Chance(150'000)) {
    static constexpr int kSignals[] = {kSigTerm, kSigTerm, kSigTerm, kSigTerm,
                                       kSigKill, kSigKill, kSigKill, kSigUsr1,
                                       kSigUsr1, 0};
    // Draws in a fixed order (an argument list's is unspecified).
    const int signal = kSignals[r.Below(10)];
    const int64_t delay = r.Between(1 * kSec, 10 * kSec);
    ScheduleContainerStep(c, delay,
                          Step(kKill, static_cast<uint64_t>(signal)));
  }
  const int64_t copies = r.Between(0, 3);
  for (int64_t i = 0; i < copies; ++i) {
    const uint64_t path = r.Below(GuestPaths().size());
    const bool out = r.Chance(500'000);
    const int64_t delay = r.Between(0, 5 * kSec);
    ScheduleContainerStep(c, delay, Step(kCopy, path + (out ? 100 : 0)));
  }
  const int64_t attaches = r.Between(0, 2);
  for (int64_t i = 0; i < attaches; ++i) {
    const int64_t slot = r.Between(0, 30);
    const int64_t delay = r.Between(0, 5 * kSec);
    ScheduleContainerStep(c, delay, Step(kAttach, slot));
  }
  if (r.Chance(50'000)) {
    ScheduleContainerStep(c, r.Between(0, 2 * kSec), Step(kUninstallEarly));
  }
}

void WorldState::OnContainerReply(ContainerSim& c, const PendingRequest& p,
                                  const action::Reply& r) {
  if (p.life != c.life) return;
  if (scripted()) {
    // The world keeps its picture of the container; the script says what
    // the client does next.
    switch (p.kind) {
      case RequestKind::kInstall:
        if (r.status.ok()) c.phase = ContainerPhase::kInstalled;
        return;
      case RequestKind::kStartContainer:
        c.phase = r.status.ok() ? ContainerPhase::kRunning
                                : ContainerPhase::kInstalled;
        return;
      case RequestKind::kUninstall:
        if (r.status.ok()) NextContainerLife(c);
        return;
      default:
        return;
    }
  }
  Prng& rng = c.rng;
  switch (p.kind) {
    case RequestKind::kInstallInvalid:
      ScheduleContainerStep(c, rng.Between(100 * kMs, 1 * kSec),
                            Step(kInstallValid));
      return;
    case RequestKind::kInstall:
      if (!r.status.ok()) {
        c.done = true;  // refused (too many containers): sits the run out
        return;
      }
      c.phase = ContainerPhase::kInstalled;
      c.start_failures = 0;
      c.uninstall_tries = 0;
      c.uninstall_scheduled = false;
      ScheduleContainerStep(c, rng.Between(0, 1 * kSec), Step(kStart));
      return;
    case RequestKind::kStartContainer:
      if (r.status.ok()) {
        c.phase = ContainerPhase::kRunning;
        ScheduleClientOps(c);
        return;
      }
      c.phase = ContainerPhase::kInstalled;
      if (++c.start_failures < 3) {
        ScheduleContainerStep(c, rng.Between(500 * kMs, 2 * kSec),
                              Step(kStart));
      } else if (!c.uninstall_scheduled) {
        c.uninstall_scheduled = true;
        ScheduleContainerStep(c, rng.Between(100 * kMs, 1 * kSec),
                              Step(kUninstall));
      }
      return;
    case RequestKind::kCollect:
      if (r.status.ok() && !c.uninstall_scheduled) {
        c.uninstall_scheduled = true;
        ScheduleContainerStep(c, rng.Between(500 * kMs, 3 * kSec),
                              Step(kUninstall));
      }
      return;
    case RequestKind::kUninstall:
      if (r.status.ok()) {
        NextContainerLife(c);
      } else if (++c.uninstall_tries < 5) {
        ScheduleContainerStep(c, rng.Between(1 * kSec, 3 * kSec),
                              Step(kUninstall));
      }
      return;
    case RequestKind::kUninstallEarly:
      if (r.status.ok()) NextContainerLife(c);
      return;
    default:
      return;
  }
}

void WorldState::NextContainerLife(ContainerSim& c) {
  c.phase = ContainerPhase::kAbsent;
  ++c.life;
  ++c.lives;
  // The process of the old life, if any, is gone with the container.
  BumpProcess(c);
  c.process_running = false;
  if (scripted()) return;
  if (quiet_ || c.lives >= 50) {
    c.done = true;
    return;
  }
  ScheduleContainerStep(c, c.rng.Between(500 * kMs, 3 * kSec), Step(kInstall));
}

void WorldState::ApplyContainerFault(ContainerSim& c, uint32_t index) {
  const Fault& f = plan_.faults[index];
  switch (f.kind) {
    case FaultKind::kContainerIgnoresSigterm:
      if (c.process_running) {
        IgnoreSigterm(c, index + 1);
        return;
      }
      break;
    case FaultKind::kContainerCrash:
      if (c.process_running) {
        ScheduleAfter(
            c.rng.Between(0, 100 * kMs),
            Event{EventKind::kProcessExit,
                  static_cast<uint32_t>(&c - containers_.data()), c.proc_gen,
                  PackExit(ExitStatus::Signalled(kSigSegv), index + 1)});
        return;
      }
      break;
    case FaultKind::kCgroupMemoryPressure:
      if (c.process_running) {
        ScheduleCgroupBurst(c, f.a, index + 1);
        return;
      }
      break;
    default:
      break;
  }
  // Boot and agent faults act at the next start; the others at the next
  // process.
  c.armed.push_back(index);
}

void WorldState::IgnoreSigterm(ContainerSim& c, uint32_t fault) {
  c.ignores_sigterm = true;
  c.sigterm_fault = fault;
  if (scripted()) return;  // its script stops it, or the shutdown does
  // Such a process is a daemon that runs until stopped; its client stops
  // it (CN-4: SIGKILL after the grace).
  if (c.rng.Chance(900'000)) {
    const int64_t grace_ms = c.rng.Between(100, 5'000);
    const int64_t delay = c.rng.Between(500 * kMs, 8 * kSec);
    ScheduleContainerStep(c, delay, Step(kStop, 2 + grace_ms));
  }
}

void WorldState::ScheduleCgroupBurst(ContainerSim& c, int64_t count,
                                     uint32_t fault) {
  const uint64_t left = static_cast<uint64_t>(std::max<int64_t>(count, 1));
  ScheduleAfter(
      c.rng.Between(0, 10 * kMs),
      Event{EventKind::kCgroupBurst,
            static_cast<uint32_t>(&c - containers_.data()), c.proc_gen,
            (left & 0xffffffffu) | uint64_t{fault} << 32});
}

void WorldState::Execute(action::BootVm& a) {
  std::optional<std::string> error;
  if (ContainerSim* c = FindContainer(a.container)) {
    if (const uint32_t f =
            TakeArmed(c->armed, FaultKind::kBootPermanentError)) {
      c->boot_permanent_fault = f;
    }
    if (const uint32_t f =
            TakeArmed(c->armed, FaultKind::kBootTransientError)) {
      c->boot_fail_left =
          static_cast<uint32_t>(std::max<int64_t>(FaultAt(f).a, 1));
      c->boot_fault = f;
    }
    if (c->boot_permanent_fault != 0) {
      Fire(c->boot_permanent_fault - 1);
      c->boot_permanent_fault = 0;
      error =
          "boot failed: kernel image /images/vmlinux is corrupt "
          "(simulated)";
    } else if (c->boot_fail_left > 0) {
      --c->boot_fail_left;
      if (c->boot_fault != 0) Fire(c->boot_fault - 1);
      c->boot_fault = 0;
      error =
          "transient: vmnet_network_create failed: "
          "VMNET_SHARING_SERVICE_BUSY (simulated)";
    }
  } else {
    error = "no such container (simulated)";
  }
  ScheduleInput(CompletionAt(a.container.value, 10 * kMs, 300 * kMs),
                input::VmBooted{a.container, std::move(error)});
}

void WorldState::Execute(action::ConnectAgent& a) {
  std::optional<std::string> error;
  if (ContainerSim* c = FindContainer(a.container)) {
    if (a.attempt == 1) {
      if (const uint32_t f = TakeArmed(c->armed, FaultKind::kAgentRefuses)) {
        c->agent_refusals_left =
            static_cast<uint32_t>(std::max<int64_t>(FaultAt(f).a, 1));
        c->agent_fault = f;
      }
      if (const uint32_t f =
              TakeArmed(c->armed, FaultKind::kAgentNeverAccepts)) {
        c->agent_refuse_until = Instant::FromNanos(
            now_.ns + FaultMsToNs(FaultAt(f).a, 1));
        c->agent_never_fault = f;
      }
    }
    if (now_ < c->agent_refuse_until) {
      if (c->agent_never_fault != 0) Fire(c->agent_never_fault - 1);
      c->agent_never_fault = 0;
      error =
          "connect: connection refused: the agent is not listening "
          "(simulated)";
    } else if (c->agent_refusals_left > 0) {
      --c->agent_refusals_left;
      if (c->agent_fault != 0) Fire(c->agent_fault - 1);
      c->agent_fault = 0;
      error = "connect: connection reset by peer (simulated)";
    }
  } else {
    error = "no such container (simulated)";
  }
  ScheduleInput(CompletionAt(a.container.value, 1 * kMs, 20 * kMs),
                input::AgentConnected{a.container, std::move(error)});
}

void WorldState::Execute(action::CreateProcess& a) {
  std::optional<std::string> error;
  if (FindContainer(a.container) == nullptr) {
    error = "no such container (simulated)";
  }
  ScheduleInput(CompletionAt(a.container.value, 1 * kMs, 10 * kMs),
                input::ProcessCreated{a.container, std::move(error)});
}

void WorldState::Execute(action::StartProcess& a) {
  ContainerSim* c = FindContainer(a.container);
  if (c == nullptr) {
    ScheduleInput(
        CompletionAt(a.container.value, 1 * kMs, 10 * kMs),
        input::ProcessStarted{a.container, "no such container (simulated)"});
    return;
  }
  BumpProcess(*c);
  c->process_running = false;
  Schedule(
      CompletionAt(a.container.value, 1 * kMs, 10 * kMs),
      Event{EventKind::kProcessStarted,
            static_cast<uint32_t>(c - containers_.data()), c->proc_gen, 0});
}

void WorldState::OnProcessStarted(ContainerSim& c, uint32_t gen) {
  if (gen != c.proc_gen) return;
  c.process_running = true;
  c.ignores_sigterm = false;
  c.sigterm_fault = 0;
  Deliver(input::ProcessStarted{c.id, std::nullopt});
  if (!c.process_running || gen != c.proc_gen) return;
  Prng& r = c.rng;
  const uint32_t index = static_cast<uint32_t>(&c - containers_.data());
  if (const uint32_t f =
          TakeArmed(c.armed, FaultKind::kContainerIgnoresSigterm)) {
    IgnoreSigterm(c, f);
  }
  if (const uint32_t f = TakeArmed(c.armed, FaultKind::kContainerCrash)) {
    ScheduleAfter(r.Between(100 * kMs, 2 * kSec),
                  Event{EventKind::kProcessExit, index, gen,
                        PackExit(ExitStatus::Signalled(kSigSegv), f)});
  }
  if (const uint32_t f = TakeArmed(c.armed, FaultKind::kCgroupMemoryPressure)) {
    ScheduleCgroupBurst(c, FaultAt(f).a, f);
  }
  if (const ScriptedProcess* process = ScriptProcessOf(c)) {
    if (process->exit_after.has_value()) {
      ScheduleAfter(std::max<int64_t>(
                        absl::ToInt64Nanoseconds(*process->exit_after), 0),
                    Event{EventKind::kProcessExit, index, gen,
                          PackExit(ExitStatus::Exited(process->exit_code), 0) |
                              kNaturalExit});
    }
    return;
  }
  if (r.Chance(700'000)) {
    // The process ends on its own after 1..20 s.
    static constexpr int kCodes[] = {0, 0, 0, 0, 0, 1, 1, 7, 7, 2, 127, 255};
    // Draws in a fixed order (an argument list's is unspecified).
    const int code = kCodes[r.Below(12)];
    const int64_t after = r.Between(1 * kSec, 20 * kSec);
    ScheduleAfter(after, Event{EventKind::kProcessExit, index, gen,
                               PackExit(ExitStatus::Exited(code), 0) |
                                   kNaturalExit});
  }
  if (r.Chance(200'000)) {
    // CN-1: an ordinary memory event while it runs.
    ScheduleAfter(r.Between(0, 10 * kSec),
                  Event{EventKind::kCgroupBurst, index, gen, 1});
  }
}

void WorldState::OnProcessExit(ContainerSim& c, uint32_t gen, uint64_t arg) {
  if (gen != c.proc_gen || !c.process_running) return;
  const uint32_t fault = static_cast<uint32_t>(arg >> 40);
  if (fault != 0 && quiet_) return;  // faults stop with the window
  // A process that ignores SIGTERM is a daemon: it does not end by itself.
  if ((arg & kNaturalExit) != 0 && c.ignores_sigterm) return;
  c.process_running = false;
  c.ignores_sigterm = false;
  BumpProcess(c);  // its other exits and memory events are void
  if (fault != 0) Fire(fault - 1);
  Deliver(input::ContainerExited{c.id, UnpackExit(arg)});
  if (quiet_ || c.done || scripted()) return;
  if (c.rng.Chance(500'000)) {
    ScheduleContainerStep(c, c.rng.Between(0, 1 * kSec), Step(kWait));
  }
  if (!c.uninstall_scheduled) {
    c.uninstall_scheduled = true;
    ScheduleContainerStep(c, c.rng.Between(1 * kSec, 3 * kSec),
                          Step(kUninstall));
  }
}

void WorldState::OnCgroupBurst(ContainerSim& c, uint32_t gen, uint64_t arg) {
  if (gen != c.proc_gen || !c.process_running) return;
  const uint32_t fault = static_cast<uint32_t>(arg >> 32);
  const uint32_t left = static_cast<uint32_t>(arg & 0xffffffffu);
  if (fault != 0 && quiet_) return;
  if (fault != 0) Fire(fault - 1);
  Prng& r = c.rng;
  MemoryEvent event;
  std::optional<uint64_t>* fields[] = {&event.low, &event.high, &event.max,
                                       &event.oom, &event.oom_kill};
  bool any = false;
  for (size_t i = 0; i < 5; ++i) {
    if (r.Chance(i < 3 ? 600'000 : 200'000)) {
      c.memory_counts[i] += r.Between(1, 5);
      *fields[i] = c.memory_counts[i];
      any = true;
    }
  }
  if (!any) {
    c.memory_counts[1] += 1;
    event.high = c.memory_counts[1];
  }
  Deliver(input::CgroupMemory{c.id, event});
  if (left > 1 && gen == c.proc_gen && c.process_running) {
    ScheduleAfter(r.Between(0, 10 * kMs),
                  Event{EventKind::kCgroupBurst,
                        static_cast<uint32_t>(&c - containers_.data()), gen,
                        (left - 1) | uint64_t{fault} << 32});
  }
}

void WorldState::Execute(action::SignalContainer& a) {
  ContainerSim* c = FindContainer(a.container);
  if (c == nullptr || !c->process_running) return;
  int64_t delay;
  switch (a.signal) {
    case kSigTerm:
      if (c->ignores_sigterm) {
        if (c->sigterm_fault != 0) Fire(c->sigterm_fault - 1);
        c->sigterm_fault = 0;
        return;
      }
      delay = latency_rng_.Between(1 * kMs, 50 * kMs);
      break;
    case kSigKill:
      delay = latency_rng_.Between(1 * kMs, 2 * kMs);
      break;
    case kSigHup:
    case kSigInt:
    case kSigQuit:
    case kSigAbrt:
      delay = latency_rng_.Between(1 * kMs, 50 * kMs);
      break;
    default:
      return;  // the process ignores it
  }
  ScheduleAfter(
      delay, Event{EventKind::kProcessExit,
                   static_cast<uint32_t>(c - containers_.data()), c->proc_gen,
                   PackExit(ExitStatus::Signalled(a.signal), 0)});
}

}  // namespace proctor::sim::world_internal
