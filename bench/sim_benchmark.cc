// How fast the simulator runs, against the physical floor measured in the
// same run: a bare loop that pushes and pops the same number of events on a
// priority queue with no world and no runtime. docs/performance.md records
// the figures and the command.
#include <cstdint>
#include <queue>
#include <vector>

#include "benchmark/benchmark.h"
#include "sim/core/event_queue.h"
#include "sim/core/prng.h"
#include "sim/sut.h"
#include "sim/world/world.h"

namespace proctor::sim {
namespace {

// The floor: schedule-then-pop of small payloads on std::priority_queue,
// each popped event scheduling ~one more, like a world's steady state.
void BM_BarePriorityQueue(benchmark::State& state) {
  struct Item {
    int64_t at;
    uint64_t seq;
    uint64_t payload;
    bool operator<(const Item& o) const {
      return at > o.at || (at == o.at && seq > o.seq);
    }
  };
  const int64_t events = state.range(0);
  for (auto _ : state) {
    std::priority_queue<Item> q;
    Prng prng(1);
    uint64_t seq = 0;
    for (int i = 0; i < 64; ++i) {
      q.push({static_cast<int64_t>(prng.Below(1000)), seq++, prng.Next()});
    }
    uint64_t sum = 0;
    for (int64_t i = 0; i < events; ++i) {
      Item top = q.top();
      q.pop();
      sum += top.payload;
      q.push({top.at + static_cast<int64_t>(prng.Below(1000)), seq++, sum});
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * events);
  state.counters["ns_per_event"] = benchmark::Counter(
      static_cast<double>(state.iterations() * events),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_BarePriorityQueue)->Arg(100000);

// The simulator: whole seeds of the default workload against the reference
// runtime, counting every input, action and fact as an event.
void BM_SimulatedEvents(benchmark::State& state) {
  uint64_t events = 0;
  double virtual_s = 0;
  uint64_t seed = 0;
  for (auto _ : state) {
    WorldOptions options;
    options.seed = seed++;
    FaultPlan plan = GenerateFaultPlan(options);
    ReferenceSut sut(Supervisor::Options{});
    World world(options, plan, &sut);
    absl::Status status = world.Run([] { return false; });
    if (!status.ok())
      state.SkipWithError(std::string(status.message()).c_str());
    events += world.stats().events;
    virtual_s += static_cast<double>(world.stats().end.ns) / 1e9;
  }
  state.SetItemsProcessed(static_cast<int64_t>(events));
  state.counters["ns_per_event"] = benchmark::Counter(
      static_cast<double>(events),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["time_ratio"] =
      benchmark::Counter(virtual_s, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SimulatedEvents)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace proctor::sim

BENCHMARK_MAIN();
