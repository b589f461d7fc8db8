#include "sim/world/guest_life.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "runtime/model/check.h"
#include "sim/world/fault_kind.h"
#include "sim/world/internal/world_state.h"

namespace proctor::sim {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;

int64_t NonNegativeNs(absl::Duration d) {
  return std::max<int64_t>(absl::ToInt64Nanoseconds(d), 0);
}

}  // namespace

std::string FailureReport(int64_t variant) {
  const auto& reasons = kFailureReasonStrings;
  if (variant >= 0 && variant < 10) return std::string(reasons[variant]);
  if (variant >= 10 && variant < 20) {
    return absl::StrCat(reasons[variant - 10], "\n");
  }
  switch (variant) {
    case 21:
      return absl::StrCat(reasons[0], "\n\n");
    case 22:
      return absl::AsciiStrToLower(reasons[1]);
    case 23:
      return absl::StrCat(reasons[2], std::string(5000, 'x'));
    case 24:
      return absl::StrCat(reasons[3], std::string(1, '\0'), "x");
    default:
      return "kernel panic: attempted to kill init!";
  }
}

bool ShapesGuestLife(FaultKind kind) {
  switch (kind) {
    case FaultKind::kVmmCrashAtBoot:
    case FaultKind::kGuestHang:
    case FaultKind::kGuestSlowStart:
    case FaultKind::kGuestPanic:
    case FaultKind::kGuestReboot:
    case FaultKind::kFailureReason:
      return true;
    default:
      return false;
  }
}

GuestLife PlanGuestLife(Prng& r, const ScriptedGuest* guest, const Fault* fault,
                        bool exit_unobservable_armed) {
  GuestLife life;
  auto report = [&](int64_t at_ns, PayloadState state) {
    life.steps.push_back(
        {GuestLifeStep::Kind::kReport, at_ns, state, ExitStatus::Exited(0)});
  };
  auto exit_at = [&](int64_t at_ns, ExitStatus status) {
    life.steps.push_back(
        {GuestLifeStep::Kind::kExit, at_ns, PayloadState::kStarting, status});
  };
  // A normal life from STARTED on: READY, FINISHED, then mostly a clean
  // shutdown, sometimes an error exit, sometimes up until killed.
  auto normal_from = [&](int64_t started) {
    report(started, PayloadState::kStarted);
    const int64_t ready = started + r.Between(50 * kMs, 1 * kSec);
    report(ready, PayloadState::kReady);
    const int64_t finished = ready + r.Between(1 * kSec, 20 * kSec);
    report(finished, PayloadState::kFinished);
    // A fault waiting for this VM's exit gets one within the window.
    const uint64_t pick = exit_unobservable_armed ? r.Below(7) : r.Below(10);
    if (pick < 6) {
      exit_at(finished + r.Between(0, 2 * kSec), ExitStatus::Exited(0));
    } else if (pick < 7) {
      exit_at(r.Between(started + 1, finished), ExitStatus::Exited(1));
    }
  };
  const int64_t started = guest != nullptr ? NonNegativeNs(guest->started_after)
                                           : r.Between(100 * kMs, 2 * kSec);
  if (fault == nullptr && guest != nullptr) {
    // A scripted guest lives as its scenario says.
    report(started, PayloadState::kStarted);
    const int64_t ready = started + NonNegativeNs(guest->ready_after);
    report(ready, PayloadState::kReady);
    if (guest->finish_after.has_value()) {
      const int64_t finished = ready + NonNegativeNs(*guest->finish_after);
      report(finished, PayloadState::kFinished);
      exit_at(finished + 1 * kMs, ExitStatus::Exited(guest->exit_code));
    }
    return life;
  }
  if (fault == nullptr) {
    normal_from(started);
    return life;
  }
  switch (fault->kind) {
    case FaultKind::kVmmCrashAtBoot:
      exit_at(r.Between(10 * kMs, 500 * kMs),
              ExitStatus::Exited(kGuestCrashExitCode));
      break;
    case FaultKind::kGuestHang:
      life.hangs = true;
      break;
    case FaultKind::kGuestSlowStart:
      normal_from(world_internal::FaultMsToNs(fault->a, 1));
      break;
    case FaultKind::kGuestPanic: {
      report(started, PayloadState::kStarted);
      const int64_t end = started + r.Between(100 * kMs, 5 * kSec);
      if (r.Chance(500'000)) report((started + end) / 2, PayloadState::kReady);
      exit_at(end, ExitStatus::Exited(kGuestCrashExitCode));
      break;
    }
    case FaultKind::kGuestReboot:
      report(started, PayloadState::kStarted);
      exit_at(started + r.Between(100 * kMs, 5 * kSec),
              ExitStatus::Exited(kGuestRebootExitCode));
      break;
    case FaultKind::kFailureReason:
      if (r.Chance(500'000)) report(started, PayloadState::kStarted);
      life.failure_bytes = FailureReport(fault->a);
      exit_at(started + r.Between(100 * kMs, 3 * kSec),
              ExitStatus::Exited(static_cast<int>(fault->b)));
      break;
    default:
      PROCTOR_CHECK(false);
  }
  return life;
}

}  // namespace proctor::sim
