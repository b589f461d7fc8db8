// CN-10: recording how long each phase of a container start took. The
// runtime is sans-IO, so a phase is measured between the instants of the
// inputs that begin and end it; phases that are pure computation take zero.
#ifndef PROCTOR_RUNTIME_CONTAINER_STARTUP_TIMING_H_
#define PROCTOR_RUNTIME_CONTAINER_STARTUP_TIMING_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "runtime/model/container_types.h"
#include "runtime/model/time.h"

namespace proctor {

// The phases of a start, in the order a start goes through them (CN-10, with
// the VM boot in front).
enum class StartupPhase : uint8_t {
  kVmBoot,
  kSpecBuild,
  kAgentConnect,
  kSocketRelays,
  kStdioPrepare,
  kConfigWrite,
  kRequestEncode,
  kCreateProcess,
  kStartGateWait,
  kStartProcess,
};
absl::string_view StartupPhaseName(StartupPhase phase);

// Begin once, Mark each phase (in order, not overlapping), Finish once. The
// calls come from the runtime itself, so misuse is a Proctor bug and fails a
// PROCTOR_CHECK: that is what makes "phases never exceed the total" an
// invariant rather than a hope.
class StartupTimingRecorder {
 public:
  void Begin(Instant now);
  // Adds `end - start` to `phase`. Requires Begin <= start <= end, and start
  // no earlier than the end of the previous mark.
  void Mark(StartupPhase phase, Instant start, Instant end);
  // Total = now - Begin. Checks every phase and their sum against the total.
  StartupTiming Finish(Instant now);

  bool begun() const { return begin_.has_value(); }
  bool finished() const { return finished_; }

 private:
  std::optional<Instant> begin_;
  Instant last_end_;
  bool finished_ = false;
  StartupTiming timing_;
};

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_CONTAINER_STARTUP_TIMING_H_
