// How fast the channel proxy forwards on real descriptors, against the
// physical limit measured in the same run: a bare loop that reads each
// message from one SOCK_SEQPACKET pair and writes it to another with no
// runtime in between. The proxy runs in the process world (host/world): the
// reference runtime's ChannelProxy, its counter on shared memory (PX-2
// counts every message before writing it) and the epoll loop. Both move the
// same batches of messages from a writer to a reader in one thread, so the
// difference is the runtime and the loop. docs/performance.md records the
// figures and the command.
//
// Throughput is items_per_second (messages); latency_us is the mean time
// for one message alone, from the writer's write to the reader's read.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "host/io/seqpacket_channel.h"
#include "host/io/unique_fd.h"
#include "host/world/process_world.h"
#include "runtime/supervisor/supervisor.h"
#include "sim/sut.h"
#include "sim/world/script.h"

namespace proctor::host {
namespace {

// Messages written before the reader drains: enough to amortise a turn of
// the loop, few enough that a batch always fits the container side's socket
// buffer (7 messages of 64 KiB with Linux's stock wmem_max), because the
// reference proxy stops when a write finds its destination full
// (docs/spec.md, PX-3 project addition).
constexpr int kMaxBatch = 64;
constexpr int64_t kBatchBytes = 256 * 1024;
int BatchOf(size_t bytes) {
  return static_cast<int>(std::clamp<int64_t>(
      kBatchBytes / std::max<int64_t>(static_cast<int64_t>(bytes), 1), 1,
      kMaxBatch));
}
// Messages timed one at a time for the latency figure.
constexpr int kLatencyRounds = 200;

// Moves one batch from `writer` to `reader` with `forward` in between,
// which is called until every message has arrived; returns false on error.
template <typename Forward>
bool MoveBatch(int writer, int reader, const std::string& payload, int batch,
               Forward forward) {
  int written = 0;
  int received = 0;
  RealMessage m;
  while (received < batch) {
    while (written < batch) {
      const ChannelStatus s = WriteMessage(writer, payload, {});
      if (s == ChannelStatus::kShouldWait) break;
      if (s != ChannelStatus::kOk) return false;
      ++written;
    }
    if (!forward()) return false;
    for (;;) {
      const ChannelStatus s = ReadMessage(reader, &m);
      if (s == ChannelStatus::kShouldWait) break;
      if (s != ChannelStatus::kOk) return false;
      ++received;
    }
  }
  return true;
}

// The figures of one benchmark: the mean latency of one message alone, then
// whole batches as the timed iterations.
template <typename Forward>
void Measure(benchmark::State& state, int writer, int reader,
             const std::string& payload, Forward forward) {
  const int batch = BatchOf(payload.size());
  double latency_s = 0;
  for (int i = 0; i < kLatencyRounds; ++i) {
    const auto start = std::chrono::steady_clock::now();
    if (!MoveBatch(writer, reader, payload, 1, forward)) {
      state.SkipWithError("forwarding failed");
      return;
    }
    latency_s +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
  }
  for (auto _ : state) {
    if (!MoveBatch(writer, reader, payload, batch, forward)) {
      state.SkipWithError("forwarding failed");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetBytesProcessed(state.iterations() * batch *
                          static_cast<int64_t>(payload.size()));
  state.counters["batch"] = batch;
  state.counters["latency_us"] = latency_s / kLatencyRounds * 1e6;
}

struct Pairs {
  std::pair<UniqueFd, UniqueFd> in, out;
};

bool MakePairs(Pairs* p) {
  absl::StatusOr<std::pair<UniqueFd, UniqueFd>> in = CreateChannel();
  absl::StatusOr<std::pair<UniqueFd, UniqueFd>> out = CreateChannel();
  if (!in.ok() || !out.ok()) return false;
  p->in = std::move(*in);
  p->out = std::move(*out);
  return true;
}

void BM_BareForward(benchmark::State& state) {
  const std::string payload(static_cast<size_t>(state.range(0)), 'x');
  Pairs p;
  if (!MakePairs(&p)) {
    state.SkipWithError("socketpair failed");
    return;
  }
  RealMessage m;
  // The forwarder: everything readable on one pair, written to the other
  // (whatever does not fit waits for the next call).
  std::string pending;
  bool has_pending = false;
  auto forward = [&] {
    for (;;) {
      if (!has_pending) {
        const ChannelStatus s = ReadMessage(p.in.second.get(), &m);
        if (s == ChannelStatus::kShouldWait) return true;
        if (s != ChannelStatus::kOk) return false;
        pending.swap(m.bytes);
        has_pending = true;
      }
      const ChannelStatus s = WriteMessage(p.out.first.get(), pending, {});
      if (s == ChannelStatus::kShouldWait) return true;
      if (s != ChannelStatus::kOk) return false;
      has_pending = false;
    }
  };
  const int writer = p.in.first.get();
  const int reader = p.out.second.get();
  Measure(state, writer, reader, payload, forward);
}
BENCHMARK(BM_BareForward)->Arg(64)->Arg(65536);

void BM_ProxyForward(benchmark::State& state) {
  const std::string payload(static_cast<size_t>(state.range(0)), 'x');
  sim::ReferenceSut sut(Supervisor::Options{});
  sim::ScriptSetup setup;
  setup.proxies = {ProxyId{1}};
  absl::StatusOr<std::unique_ptr<ProcessWorld>> made =
      ProcessWorld::Create(setup, &sut, {});
  if (!made.ok()) {
    state.SkipWithError(std::string(made.status().message()).c_str());
    return;
  }
  ProcessWorld& world = **made;
  if (!world.ScheduleScript(Instant{}, sim::script_op::AddProxy{ProxyId{1}})
           .ok()) {
    state.SkipWithError("add_proxy failed");
    return;
  }
  for (int i = 0; i < 1000 && !world.proxy_live(ProxyId{1}); ++i) {
    if (!world.Turn(absl::Milliseconds(10)).ok()) break;
  }
  absl::StatusOr<std::pair<UniqueFd, UniqueFd>> ends =
      world.TakePeerEnds(ProxyId{1});
  if (!world.proxy_live(ProxyId{1}) || !ends.ok()) {
    state.SkipWithError("the proxy did not come up");
    return;
  }
  // The remote peer writes, the container peer reads; the world's loop
  // turns (without waiting) in between, which is where the proxy runs.
  auto forward = [&] { return world.Turn(absl::ZeroDuration()).ok(); };
  const int writer = ends->first.get();
  const int reader = ends->second.get();
  Measure(state, writer, reader, payload, forward);
  state.counters["events"] = static_cast<double>(world.events());
}
BENCHMARK(BM_ProxyForward)->Arg(64)->Arg(65536);

}  // namespace
}  // namespace proctor::host

BENCHMARK_MAIN();
