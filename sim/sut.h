// The one small interface through which a world talks to the supervisor
// under test: inputs in, actions out. The reference runtime implements it in
// process; a later implementation forwards it to another process or
// language over a protocol, which is why Handle can fail: an implementation
// that crashes, hangs or answers garbage is a finding, not a rule violation.
#ifndef PROCTOR_SIM_SUT_H_
#define PROCTOR_SIM_SUT_H_

#include "absl/status/status.h"
#include "runtime/model/action.h"
#include "runtime/model/input.h"
#include "runtime/model/time.h"
#include "runtime/supervisor/supervisor.h"

namespace proctor::sim {

class SystemUnderTest {
 public:
  virtual ~SystemUnderTest() = default;
  virtual absl::Status Handle(Instant now, const Input& input,
                              ActionList& out) = 0;
};

// The reference runtime, possibly with mutants switched on.
class ReferenceSut final : public SystemUnderTest {
 public:
  explicit ReferenceSut(Supervisor::Options options)
      : supervisor_(std::move(options)) {}
  absl::Status Handle(Instant now, const Input& input,
                      ActionList& out) override {
    supervisor_.Handle(now, input, out);
    return absl::OkStatus();
  }
  const Supervisor& supervisor() const { return supervisor_; }

 private:
  Supervisor supervisor_;
};

}  // namespace proctor::sim

#endif  // PROCTOR_SIM_SUT_H_
