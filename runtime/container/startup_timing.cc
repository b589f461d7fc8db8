#include "runtime/container/startup_timing.h"

#include "runtime/model/check.h"

namespace proctor {
namespace {

absl::Duration* PhaseField(StartupTiming& timing, StartupPhase phase) {
  switch (phase) {
    case StartupPhase::kVmBoot:
      return &timing.vm_boot;
    case StartupPhase::kSpecBuild:
      return &timing.spec_build;
    case StartupPhase::kAgentConnect:
      return &timing.agent_connect;
    case StartupPhase::kSocketRelays:
      return &timing.socket_relays;
    case StartupPhase::kStdioPrepare:
      return &timing.stdio_prepare;
    case StartupPhase::kConfigWrite:
      return &timing.config_write;
    case StartupPhase::kRequestEncode:
      return &timing.request_encode;
    case StartupPhase::kCreateProcess:
      return &timing.create_process;
    case StartupPhase::kStartGateWait:
      return &timing.start_gate_wait;
    case StartupPhase::kStartProcess:
      return &timing.start_process;
  }
  PROCTOR_CHECK(false && "unknown startup phase");
  return nullptr;
}

}  // namespace

absl::string_view StartupPhaseName(StartupPhase phase) {
  switch (phase) {
    case StartupPhase::kVmBoot:
      return "vm_boot";
    case StartupPhase::kSpecBuild:
      return "spec_build";
    case StartupPhase::kAgentConnect:
      return "agent_connect";
    case StartupPhase::kSocketRelays:
      return "socket_relays";
    case StartupPhase::kStdioPrepare:
      return "stdio_prepare";
    case StartupPhase::kConfigWrite:
      return "config_write";
    case StartupPhase::kRequestEncode:
      return "request_encode";
    case StartupPhase::kCreateProcess:
      return "create_process";
    case StartupPhase::kStartGateWait:
      return "start_gate_wait";
    case StartupPhase::kStartProcess:
      return "start_process";
  }
  return "?";
}

void StartupTimingRecorder::Begin(Instant now) {
  PROCTOR_CHECK(!begin_.has_value());
  begin_ = now;
  last_end_ = now;
}

void StartupTimingRecorder::Mark(StartupPhase phase, Instant start,
                                 Instant end) {
  PROCTOR_CHECK(begin_.has_value());
  PROCTOR_CHECK(!finished_);
  PROCTOR_CHECK(start <= end);
  // Sequential, non-overlapping phases are what bound their sum by the total.
  PROCTOR_CHECK(start >= last_end_);
  *PhaseField(timing_, phase) += end - start;
  last_end_ = end;
}

StartupTiming StartupTimingRecorder::Finish(Instant now) {
  PROCTOR_CHECK(begin_.has_value());
  PROCTOR_CHECK(!finished_);
  PROCTOR_CHECK(now >= last_end_);
  finished_ = true;
  timing_.total = now - *begin_;
  for (StartupPhase phase :
       {StartupPhase::kVmBoot, StartupPhase::kSpecBuild,
        StartupPhase::kAgentConnect, StartupPhase::kSocketRelays,
        StartupPhase::kStdioPrepare, StartupPhase::kConfigWrite,
        StartupPhase::kRequestEncode, StartupPhase::kCreateProcess,
        StartupPhase::kStartGateWait, StartupPhase::kStartProcess}) {
    const absl::Duration spent = *PhaseField(timing_, phase);
    PROCTOR_CHECK(spent >= absl::ZeroDuration());
    PROCTOR_CHECK(spent <= timing_.total);
  }
  PROCTOR_CHECK(timing_.PhaseSum() <= timing_.total);
  return timing_;
}

}  // namespace proctor
