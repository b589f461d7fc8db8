#include "sim/campaign/campaign.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "runtime/model/check.h"
#include "sim/oracle/oracle.h"
#include "sim/sut.h"
#include "sim/trace/trace.h"

namespace proctor::sim {
namespace {

// Each enabled fault kind fires in most seeds that plan it, not all; over
// this many seeds a kind that never fired is inert, not unlucky.
constexpr uint64_t kMinSeedsForInertCheck = 100;

// A campaign keeps at most this many failures in memory (the rest are
// counted); a mutant can fail every one of millions of seeds.
constexpr size_t kMaxRecordedFailures = 1000;

// What one run of one seed produced.
struct SeedRun {
  std::optional<Violation> violation;
  absl::Status status;  // the world or the SUT failed
  WorldStats stats;
  uint64_t hash = 0;
  std::vector<std::string> lines;  // only when asked for
  std::vector<FaultKind> enabled;
};

Supervisor::Options SupervisorOptionsFor(const CampaignOptions& options) {
  return SupervisorOptionsForWorkload(options.workload, options.mutant);
}

TraceHeader HeaderFor(const CampaignOptions& options, uint64_t seed,
                      const FaultPlan& plan) {
  TraceHeader header;
  header.seed = seed;
  header.swarm = options.swarm;
  if (options.mutant) header.mutant = std::string(InfoOf(*options.mutant).name);
  header.sut = "reference";
  nlohmann::json workload = {
      {"vms", options.workload.vms},
      {"proxies", options.workload.proxies},
      {"containers", options.workload.containers},
      {"fault_window_ns",
       absl::ToInt64Nanoseconds(options.workload.fault_window)},
      {"quiet_ns", absl::ToInt64Nanoseconds(options.workload.quiet)},
  };
  header.workload = std::move(workload);
  for (const Fault& f : plan.faults)
    header.fault_plan.push_back(FormatFault(f));
  return header;
}

// Runs one seed. The trace writer is attached only when something needs it
// (a trace file, a determinism hash or kept lines): serialising and hashing
// every event costs more than simulating it.
SeedRun RunSeed(const CampaignOptions& options, uint64_t seed,
                const std::atomic<bool>* interrupted, std::ostream* trace_out,
                bool hash, bool keep_lines) {
  WorldOptions wo;
  wo.seed = seed;
  wo.swarm = options.swarm;
  wo.workload = options.workload;
  FaultPlan plan = GenerateFaultPlan(wo);
  ReferenceSut sut(SupervisorOptionsFor(options));
  World world(wo, plan, &sut);
  Oracle oracle;
  TraceWriter trace(trace_out);
  trace.set_keep_lines(keep_lines);
  trace.WriteHeader(HeaderFor(options, seed, plan));
  const bool traced = trace_out != nullptr || hash || keep_lines;
  if (traced) world.AddObserver(&trace);
  world.AddObserver(&oracle);

  SeedRun run;
  run.enabled = plan.enabled;
  run.status = world.Run([&] {
    return oracle.violation().has_value() ||
           (interrupted != nullptr &&
            interrupted->load(std::memory_order_relaxed));
  });
  run.violation = oracle.violation();
  if (traced) trace.Finish(run.violation);
  run.stats = world.stats();
  run.hash = traced ? trace.hash() : 0;
  if (keep_lines) run.lines = trace.lines();
  return run;
}

// Names the first event at which two runs of one seed differ.
std::string FirstDivergence(const SeedRun& a, const SeedRun& b) {
  const size_t n = std::min(a.lines.size(), b.lines.size());
  for (size_t i = 0; i < n; ++i) {
    if (a.lines[i] != b.lines[i]) {
      return absl::StrCat("event ", i + 1,
                          " differs:\n  first run:  ", a.lines[i],
                          "\n  second run: ", b.lines[i]);
    }
  }
  if (a.lines.size() != b.lines.size()) {
    return absl::StrCat("the first run has ", a.lines.size(),
                        " events, the second ", b.lines.size());
  }
  return "the hash chains differ but every event line is equal";
}

uint64_t PeakRssKib() {
  struct rusage usage {};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<uint64_t>(usage.ru_maxrss);
}

}  // namespace

Supervisor::Options SupervisorOptionsForWorkload(
    const WorkloadOptions& w, const std::optional<Mutant>& mutant) {
  Supervisor::Options so;
  if (mutant) so.mutants = MutantSet::Of(*mutant);
  // A world may hold more guests than the default limits allow.
  so.limits.max_vms = std::max<size_t>(so.limits.max_vms, w.vms + 16);
  so.limits.max_proxies =
      std::max<size_t>(so.limits.max_proxies, w.proxies + 16);
  so.limits.max_wake_sources =
      std::max<size_t>(so.limits.max_wake_sources, w.proxies + 64);
  so.limits.max_containers =
      std::max<size_t>(so.limits.max_containers, w.containers + 16);
  return so;
}

std::string ReproduceCommand(const CampaignOptions& options, uint64_t seed) {
  std::string cmd = absl::StrCat("proctor sim --seeds ", seed, "..", seed);
  if (options.swarm) absl::StrAppend(&cmd, " --swarm");
  if (options.mutant) {
    absl::StrAppend(&cmd, " --mutant ", InfoOf(*options.mutant).name);
  }
  const WorkloadOptions defaults;
  const WorkloadOptions& w = options.workload;
  if (w.vms != defaults.vms) absl::StrAppend(&cmd, " --vms ", w.vms);
  if (w.proxies != defaults.proxies) {
    absl::StrAppend(&cmd, " --proxies ", w.proxies);
  }
  if (w.containers != defaults.containers) {
    absl::StrAppend(&cmd, " --containers ", w.containers);
  }
  absl::StrAppend(&cmd, " --trace-dir ",
                  options.trace_dir.empty() ? "traces" : options.trace_dir);
  return cmd;
}

CampaignResult RunCampaign(const CampaignOptions& options,
                           const std::atomic<bool>* interrupted,
                           const ProgressFn& progress) {
  PROCTOR_CHECK(options.first_seed <= options.last_seed);
  PROCTOR_CHECK(options.shard_count >= 1 &&
                options.shard_index < options.shard_count);
  // Seeds are computed from their index, never listed: a campaign over a
  // huge range costs nothing until it runs.
  const uint64_t planned =
      (options.last_seed - options.first_seed) / options.shard_count +
      ((options.last_seed - options.first_seed) % options.shard_count >=
               options.shard_index
           ? 1
           : 0);
  auto seed_at = [&](uint64_t i) {
    return options.first_seed + i * options.shard_count + options.shard_index;
  };

  // What the seeds that ran add up to; guarded by `mu`.
  struct Totals {
    uint64_t seeds_run = 0;
    uint64_t events = 0;
    int64_t virtual_ns = 0;
    std::array<uint64_t, kFaultKindCount> fired{};
    std::array<uint64_t, kFaultKindCount> enabled{};
    bool deterministic = true;
    std::vector<SeedFailure> failures;
    uint64_t failures_dropped = 0;
  };
  Totals totals;
  std::mutex mu;
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> failures{0};

  auto stop_requested = [&] {
    if (interrupted != nullptr && interrupted->load()) return true;
    return options.max_failures != 0 && failures.load() >= options.max_failures;
  };

  auto worker = [&] {
    for (;;) {
      if (stop_requested()) return;
      const uint64_t i = next.fetch_add(1);
      if (i >= planned) return;
      const uint64_t seed = seed_at(i);
      SeedRun run = RunSeed(options, seed, interrupted, nullptr,
                            options.check_determinism, false);
      if (interrupted != nullptr && interrupted->load() &&
          !run.violation.has_value()) {
        return;  // stopped half-way: this seed did not run to its end
      }
      bool deterministic = true;
      std::optional<SeedFailure> failure;
      if (run.violation) {
        failure = SeedFailure{seed, run.violation->rule, run.violation->message,
                              "", ""};
      } else if (!run.status.ok()) {
        failure =
            SeedFailure{seed, "SIM", std::string(run.status.message()), "", ""};
      } else if (options.check_determinism) {
        SeedRun again =
            RunSeed(options, seed, interrupted, nullptr, true, false);
        if (again.hash != run.hash) {
          deterministic = false;
          SeedRun a = RunSeed(options, seed, nullptr, nullptr, true, true);
          SeedRun b = RunSeed(options, seed, nullptr, nullptr, true, true);
          failure = SeedFailure{
              seed, "determinism",
              absl::StrCat("seed ", seed, ": ", FirstDivergence(a, b)), "", ""};
        }
      }
      if (failure) {
        failure->reproduce = ReproduceCommand(options, seed);
        if (!options.trace_dir.empty()) {
          std::string path =
              absl::StrCat(options.trace_dir, "/seed-", seed, ".jsonl");
          std::ofstream out(path, std::ios::binary | std::ios::trunc);
          if (out) {
            RunSeed(options, seed, nullptr, &out, true, false);
            out.flush();
          }
          if (out) {
            failure->trace_path = path;
          } else {
            absl::StrAppend(&failure->message, " (the trace could not be ",
                            "written to ", path, ")");
          }
        }
        failures.fetch_add(1);
      }
      std::lock_guard<std::mutex> lock(mu);
      ++totals.seeds_run;
      totals.events += run.stats.events;
      totals.virtual_ns += run.stats.end.ns;
      for (size_t k = 0; k < kFaultKindCount; ++k) {
        totals.fired[k] += run.stats.faults_fired[k];
      }
      for (FaultKind kind : run.enabled) {
        ++totals.enabled[static_cast<size_t>(kind)];
      }
      totals.deterministic = totals.deterministic && deterministic;
      if (failure) {
        if (totals.failures.size() < kMaxRecordedFailures) {
          totals.failures.push_back(std::move(*failure));
        } else {
          ++totals.failures_dropped;
        }
      }
      if (progress) {
        progress(totals.seeds_run, planned, failures.load(), totals.events);
      }
    }
  };

  const auto start = std::chrono::steady_clock::now();
  const int jobs = std::max(1, options.jobs);
  if (jobs == 1) {
    worker();
  } else {
    std::vector<std::thread> threads;
    threads.reserve(static_cast<size_t>(jobs));
    for (int j = 0; j < jobs; ++j) threads.emplace_back(worker);
    for (std::thread& t : threads) t.join();
  }
  const auto end = std::chrono::steady_clock::now();

  CampaignResult result;
  result.seeds_planned = planned;
  result.wall_s = std::chrono::duration<double>(end - start).count();
  result.seeds_run = totals.seeds_run;
  result.events = totals.events;
  result.virtual_s = static_cast<double>(totals.virtual_ns) / 1e9;
  result.faults_fired = totals.fired;
  result.faults_enabled = totals.enabled;
  result.failures = std::move(totals.failures);
  result.failures_not_recorded = totals.failures_dropped;
  // Threads finish in any order; the report is in seed order.
  std::sort(result.failures.begin(), result.failures.end(),
            [](const SeedFailure& a, const SeedFailure& b) {
              return a.seed < b.seed;
            });
  const bool all_deterministic = totals.deterministic;
  result.interrupted = interrupted != nullptr && interrupted->load() &&
                       result.seeds_run < result.seeds_planned;
  if (options.check_determinism) result.determinism = all_deterministic;
  // No silently inert faults: judged over a complete campaign large enough
  // that every kind has had its chance (a single seed rarely fires them all).
  if (result.seeds_run == result.seeds_planned &&
      result.seeds_run >= kMinSeedsForInertCheck) {
    for (FaultKind kind : AllFaultKinds()) {
      const size_t k = static_cast<size_t>(kind);
      if (result.faults_enabled[k] > 0 && result.faults_fired[k] == 0) {
        result.inert_faults.push_back(kind);
      }
    }
  }
  result.peak_rss_kib = PeakRssKib();
  return result;
}

std::string CampaignSummaryJson(const CampaignOptions& options,
                                const CampaignResult& result) {
  nlohmann::json failures = nlohmann::json::array();
  for (const SeedFailure& f : result.failures) {
    nlohmann::json j = {{"seed", f.seed},
                        {"rule", f.rule},
                        {"message", f.message},
                        {"reproduce", f.reproduce}};
    if (!f.trace_path.empty()) j["trace"] = f.trace_path;
    failures.push_back(std::move(j));
  }
  nlohmann::json fired = nlohmann::json::object();
  nlohmann::json inert = nlohmann::json::array();
  for (FaultKind kind : AllFaultKinds()) {
    const size_t k = static_cast<size_t>(kind);
    if (result.faults_enabled[k] > 0 || result.faults_fired[k] > 0) {
      fired[std::string(FaultKindName(kind))] = result.faults_fired[k];
    }
  }
  for (FaultKind kind : result.inert_faults) {
    inert.push_back(std::string(FaultKindName(kind)));
  }
  const double wall = result.wall_s > 0 ? result.wall_s : 1e-9;
  nlohmann::json summary = {
      {"passed", result.passed()},
      {"seeds", result.seeds_run},
      {"seeds_planned", result.seeds_planned},
      {"first_seed", options.first_seed},
      {"last_seed", options.last_seed},
      {"shard", absl::StrCat(options.shard_index, "/", options.shard_count)},
      {"swarm", options.swarm},
      {"mutant", options.mutant
                     ? nlohmann::json(std::string(InfoOf(*options.mutant).name))
                     : nlohmann::json(nullptr)},
      {"failures", std::move(failures)},
      {"failures_not_recorded", result.failures_not_recorded},
      {"events", result.events},
      {"wall_s", result.wall_s},
      {"virtual_s", result.virtual_s},
      {"events_per_s", static_cast<double>(result.events) / wall},
      {"time_ratio", result.virtual_s / wall},
      {"faults_fired", std::move(fired)},
      {"inert_faults", std::move(inert)},
      {"determinism", result.determinism ? nlohmann::json(*result.determinism)
                                         : nlohmann::json(nullptr)},
      {"interrupted", result.interrupted},
      {"peak_rss_mib", static_cast<double>(result.peak_rss_kib) / 1024.0},
  };
  return summary.dump();
}

}  // namespace proctor::sim
