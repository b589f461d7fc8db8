// Test-only: a hand-written observable stream for the oracle. A test sets
// the virtual time, then feeds inputs, the actions "the SUT returned" and
// world facts in the order a world would notify them; sequence numbers and
// request ids are counted here, so a test reads like the trace it feeds.
#ifndef PROCTOR_SIM_ORACLE_TESTING_FEED_H_
#define PROCTOR_SIM_ORACLE_TESTING_FEED_H_

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/time/time.h"
#include "runtime/model/action.h"
#include "runtime/model/ids.h"
#include "runtime/model/input.h"
#include "runtime/model/time.h"
#include "sim/observer.h"
#include "sim/oracle/oracle.h"

namespace proctor::sim::oracle_testing {

inline RequestId R(uint64_t id) { return RequestId{id}; }
inline Cid C(uint32_t cid) { return Cid{cid}; }
// Endpoints, counters, handles and wake sources share the koid space.
inline EndpointId K(uint64_t koid) { return EndpointId{koid}; }
inline ContainerId Ct(uint64_t id) { return ContainerId{id}; }
inline Instant Sec(double seconds) {
  return Instant{static_cast<int64_t>(std::llround(seconds * 1e9))};
}
// A message as the simulated peers write it: its id in its first bytes.
inline Message Msg(uint64_t id) {
  Message message;
  message.bytes = EncodeMessageBytes(id, 16);
  return message;
}

class Feed {
 public:
  explicit Feed(Oracle& oracle) : oracle_(oracle) {}

  Feed& At(double seconds) {
    now_ = Sec(seconds);
    return *this;
  }
  Feed& In(const Input& input) {
    oracle_.OnInput(++seq_, now_, input);
    return *this;
  }
  Feed& Out(const Action& action) {
    oracle_.OnAction(++seq_, now_, action);
    return *this;
  }
  Feed& Out(std::initializer_list<Action> actions) {
    for (const Action& action : actions) Out(action);
    return *this;
  }
  Feed& Fact(const WorldFact& fact) {
    oracle_.OnFact(++seq_, now_, fact);
    return *this;
  }
  Feed& Quiet() {
    oracle_.OnQuiet(now_);
    return *this;
  }
  Feed& End() {
    oracle_.OnEnd(now_);
    return *this;
  }
  // A fresh request id.
  RequestId Request() { return RequestId{++request_}; }
  Instant now() const { return now_; }
  uint64_t seq() const { return seq_; }

 private:
  Oracle& oracle_;
  uint64_t seq_ = 0;
  uint64_t request_ = 0;
  Instant now_;
};

// The oracle's violation message, or "" when there is none.
inline std::string ViolationMessage(const Oracle& oracle) {
  return oracle.violation().has_value() ? oracle.violation()->message : "";
}
inline std::string ViolationRule(const Oracle& oracle) {
  return oracle.violation().has_value() ? oracle.violation()->rule : "";
}

}  // namespace proctor::sim::oracle_testing

#endif  // PROCTOR_SIM_ORACLE_TESTING_FEED_H_
