// Model-based property test of the port allocator (issue 5): CN-7 of
// docs/spec.md. Ports come from a start value upward; running out is an error
// ("port range exhausted"), never a wrap-around or a reuse. The model is the
// rule text: the n-th port handed out is start + n - 1, and the range runs
// out after end - start + 1 ports.
//
// Releasing a port is a model-only command: the allocator has no release
// (CN-7 forbids reuse, so a released port is never handed out again). The
// property is therefore stronger than "never twice while held": never twice.
#include <cstdint>
#include <limits>
#include <ostream>
#include <set>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"  // before rapidcheck/gtest.h, which needs it
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "rapidcheck/state.h"
#include "runtime/container/port_allocator.h"

namespace proctor {
namespace {

constexpr uint32_t kMax = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kMaxRangeSize = 12;

struct Model {
  // The range, in 64 bits so that an end at UINT32_MAX needs no care; empty
  // when start > end.
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t handed_out = 0;  // how many ports have been handed out
  std::set<uint32_t> held;  // handed out and not released
  std::set<uint32_t> ever;  // every port ever handed out

  uint64_t size() const { return start > end ? 0 : end - start + 1; }
  uint64_t remaining() const { return size() - handed_out; }
};

struct Sut {
  explicit Sut(PortAllocator allocator) : ports(allocator) {}
  PortAllocator ports;
};

using PortCommand = rc::state::Command<Model, Sut>;

class Allocate : public PortCommand {
 public:
  void apply(Model& m) const override {
    if (m.remaining() == 0) return;  // exhausted: nothing changes
    const auto port = static_cast<uint32_t>(m.start + m.handed_out);
    ++m.handed_out;
    m.held.insert(port);
    m.ever.insert(port);
  }

  void run(const Model& m, Sut& sut) const override {
    const absl::StatusOr<uint32_t> port = sut.ports.Allocate();
    if (m.remaining() == 0) {
      // Exhausted exactly when the model says, and for good.
      RC_ASSERT(!port.ok());
      RC_ASSERT(port.status().code() == absl::StatusCode::kResourceExhausted);
      RC_ASSERT(absl::StartsWith(port.status().message(), "CN-7"));
      RC_ASSERT(
          absl::StrContains(port.status().message(), "port range exhausted"));
    } else {
      RC_ASSERT(port.ok());
      // Upward from the start, inside the range, never one handed out
      // before (held or released).
      RC_ASSERT(uint64_t{*port} == m.start + m.handed_out);
      RC_ASSERT(uint64_t{*port} >= m.start && uint64_t{*port} <= m.end);
      RC_ASSERT(m.held.count(*port) == 0u);
      RC_ASSERT(m.ever.count(*port) == 0u);
    }
    RC_ASSERT(sut.ports.remaining() == nextState(m).remaining());
  }

  void show(std::ostream& os) const override { os << "Allocate"; }
};

// The holder gives a port back (a relay or copy ended). CN-7: it is not
// reused, so the allocator is not told; the model only forgets it as held.
class Release : public PortCommand {
 public:
  explicit Release(const Model& m) {
    RC_PRE(!m.held.empty());
    port_ = *rc::gen::elementOf(m.held);
  }

  void checkPreconditions(const Model& m) const override {
    RC_PRE(m.held.count(port_) == 1u);
  }
  void apply(Model& m) const override { m.held.erase(port_); }
  void run(const Model& m, Sut& sut) const override {
    RC_ASSERT(sut.ports.remaining() == m.remaining());
  }
  void show(std::ostream& os) const override {
    os << "Release(" << port_ << ")";
  }

 private:
  uint32_t port_ = 0;
};

// CN-7: allocate/release sequences on ranges of up to kMaxRangeSize ports,
// at 0, in the middle, ending at UINT32_MAX, and empty.
RC_GTEST_PROP(PortAllocatorProperty, CN7_NeverReusesNeverWrapsExhaustsExactly,
              ()) {
  const uint64_t size = *rc::gen::inRange<uint64_t>(0, kMaxRangeSize + 1);
  const int where = *rc::gen::inRange(0, 4);
  Model model;
  uint32_t start = 0;
  uint32_t end = 0;
  if (size == 0) {
    // An empty range: end below start (at the very bottom, 1..0).
    start = *rc::gen::element<uint32_t>(1, 7, 0x10000000, kMax);
    end = start - 1 - *rc::gen::inRange<uint32_t>(0, 2);
    if (end > start) end = 0;
  } else {
    switch (where) {
      case 0:
        start = 0;
        break;
      case 1:  // the range ends at UINT32_MAX: a wrap-around would give 0
        start = static_cast<uint32_t>(uint64_t{kMax} - size + 1);
        break;
      case 2:
        start = 0x10000000;
        break;
      default:
        start = *rc::gen::inRange<uint32_t>(1, kMax - kMaxRangeSize);
        break;
    }
    end = static_cast<uint32_t>(start + size - 1);
  }
  model.start = start;
  model.end = end;
  RC_LOG() << "range " << start << ".." << end << "\n";
  RC_TAG(size == 0    ? "empty range"
         : where == 1 ? "ends at UINT32_MAX"
                      : "other range");

  Sut sut{PortAllocator(start, end)};
  RC_ASSERT(sut.ports.remaining() == model.remaining());
  rc::state::check(model, sut,
                   rc::state::gen::execOneOfWithArgs<Allocate, Release>());
}

}  // namespace
}  // namespace proctor
