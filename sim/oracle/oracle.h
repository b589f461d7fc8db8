// The invariant oracle: an independent model of the rules of docs/spec.md
// that watches a simulated run (every input, every action, every world fact)
// and reports the first rule the system under test broke. It never asks the
// runtime what is right: it rebuilds the state of VMs, proxies, wake sources
// and containers from the observable stream alone, so that a bug shared by
// the runtime and its oracle cannot hide itself.
//
// Rules judged: VM-1 (cid reuse), VM-3..VM-8, CH-1, PX-1..PX-4, PW-1..PW-4,
// CN-1..CN-4, CN-7, CN-8, RT-1, RT-2; after OnQuiet (or once shutdown has
// completed) also liveness at OnEnd: counters drained, the suspend requested
// after the faults stopped not refused, every started VM and container
// finished, the shutdown completed and every request answered.
#ifndef PROCTOR_SIM_ORACLE_ORACLE_H_
#define PROCTOR_SIM_ORACLE_ORACLE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/model/action.h"
#include "runtime/model/input.h"
#include "runtime/model/time.h"
#include "sim/observer.h"

namespace proctor::sim {

namespace oracle_internal {
class Judge;
class RuleSet;
}  // namespace oracle_internal

struct OracleOptions {
  // VM-5: the default hangup timeout is 100 s instead of 10 s under nested
  // virtualization; set it to match the platform the runtime was given.
  bool nested_virtualization = false;
  // How late after its deadline a timer may fire. 0 in the simulator,
  // where timers fire exactly at their deadlines; a real world's timers fire
  // a little later, so a SIGKILL at the end of a grace (CN-4) or a kill at a
  // hangup deadline (VM-5) is judged on time up to this much after it.
  absl::Duration timer_slack = absl::ZeroDuration();
};

// What the oracle looked at, so that a test can show that each rule was
// actually exercised and not vacuously true.
struct OracleStats {
  uint64_t inputs = 0;
  uint64_t actions = 0;
  uint64_t facts = 0;
  // Objects or messages beyond the oracle's memory bounds, left unjudged.
  uint64_t untracked = 0;
  // Rule ID ("PX-3") -> how many times one of its conditions was evaluated.
  absl::btree_map<std::string, uint64_t> checks;

  uint64_t Checks(absl::string_view rule) const;
};

class Oracle final : public Observer {
 public:
  Oracle();
  explicit Oracle(OracleOptions options);
  ~Oracle() override;
  Oracle(const Oracle&) = delete;
  Oracle& operator=(const Oracle&) = delete;

  void OnInput(uint64_t seq, Instant at, const Input& input) override;
  void OnAction(uint64_t seq, Instant at, const Action& action) override;
  void OnFact(uint64_t seq, Instant at, const WorldFact& fact) override;
  void OnQuiet(Instant at) override;
  void OnEnd(Instant at) override;

  // The first violation found; once there is one, the oracle stops judging.
  std::optional<Violation> violation() const;
  OracleStats stats() const;

  // The IDs of the rules this oracle judges, in a stable order.
  static std::span<const absl::string_view> Rules();

 private:
  // Ends the step opened by the last input: judges what that input should
  // have caused within its own actions.
  void EndStep();

  std::unique_ptr<oracle_internal::Judge> judge_;
  // Runtime rules first: they keep the shutdown phase the others consult.
  std::vector<std::unique_ptr<oracle_internal::RuleSet>> rules_;
};

}  // namespace proctor::sim

#endif  // PROCTOR_SIM_ORACLE_ORACLE_H_
