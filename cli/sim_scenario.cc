// `proctor sim --scenario FILE`: the scenario under many seeds. Each seed
// draws other latencies in the world (and, for a generated scenario, another
// workload), so a scenario that passes once is checked against the timings
// it did not think of.
#include "cli/sim_scenario.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "scenarios/runner/runner.h"

namespace proctor::cli {
namespace {

struct SeedFailure {
  uint64_t seed = 0;
  std::string rule;
  std::string message;
  std::string reproduce;
  std::string trace_path;
};

std::string Reproduce(const ScenarioCampaign& c, uint64_t seed) {
  std::string command = absl::StrCat("proctor sim --scenario ", c.scenario.file,
                                     " --seeds ", seed, "..", seed);
  if (c.mutant) absl::StrAppend(&command, " --mutant ", InfoOf(*c.mutant).name);
  if (!c.trace_dir.empty())
    absl::StrAppend(&command, " --trace-dir ", c.trace_dir);
  return command;
}

}  // namespace

int RunScenarioCampaign(const ScenarioCampaign& c,
                        const std::atomic<bool>& interrupted) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<uint64_t> seeds;
  for (uint64_t s = c.first_seed;; ++s) {
    if ((s - c.first_seed) % c.shard_count == c.shard_index) seeds.push_back(s);
    if (s == c.last_seed) break;
  }
  std::mutex mu;
  std::vector<SeedFailure> failures;
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> events{0}, seeds_run{0}, failure_count{0};
  std::atomic<int64_t> virtual_ns{0};
  auto worker = [&] {
    for (size_t i = next++; i < seeds.size(); i = next++) {
      if (interrupted.load() ||
          (c.max_failures != 0 && failure_count.load() >= c.max_failures)) {
        return;
      }
      const uint64_t seed = seeds[i];
      scenario::Scenario s = c.scenario;
      if (s.generated.has_value()) {
        s.generated->seed = seed;
      } else {
        s.seed = seed;
      }
      std::stringstream trace;
      scenario::RunOptions options;
      options.mutant = c.mutant;
      if (!c.trace_dir.empty()) options.trace = &trace;
      const scenario::ScenarioResult r = scenario::RunInSim(s, options);
      events += r.events;
      virtual_ns += r.end.ns;
      ++seeds_run;
      if (r.passed()) continue;
      ++failure_count;
      SeedFailure f;
      f.seed = seed;
      if (!r.findings.empty()) {
        f.rule = r.findings.front().rule.empty() ? "EXPECT"
                                                 : r.findings.front().rule;
        f.message = absl::StrCat("expected ", r.findings.front().expected,
                                 "; seen ", r.findings.front().seen);
      } else {
        f.rule = "SIM";
        f.message = std::string(r.error.message());
      }
      f.reproduce = Reproduce(c, seed);
      if (!c.trace_dir.empty()) {
        f.trace_path = (std::filesystem::path(c.trace_dir) /
                        absl::StrCat("seed-", seed, ".jsonl"))
                           .string();
        std::ofstream out(f.trace_path);
        out << trace.rdbuf();
      }
      std::lock_guard<std::mutex> lock(mu);
      failures.push_back(std::move(f));
    }
  };
  std::vector<std::thread> threads;
  for (int j = 1; j < c.jobs; ++j) threads.emplace_back(worker);
  worker();
  for (std::thread& t : threads) t.join();
  std::sort(failures.begin(), failures.end(),
            [](const SeedFailure& a, const SeedFailure& b) {
              return a.seed < b.seed;
            });
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  for (const SeedFailure& f : failures) {
    std::printf("FAIL seed %llu: %s: %s\n  reproduce: %s\n",
                static_cast<unsigned long long>(f.seed), f.rule.c_str(),
                f.message.c_str(), f.reproduce.c_str());
    if (!f.trace_path.empty())
      std::printf("  trace: %s\n", f.trace_path.c_str());
  }
  const bool was_interrupted = interrupted.load();
  if (was_interrupted) {
    std::printf("interrupted: %llu of %zu seeds ran\n",
                static_cast<unsigned long long>(seeds_run.load()),
                seeds.size());
  }
  const bool passed = failures.empty() && !was_interrupted;
  const double virtual_s = static_cast<double>(virtual_ns.load()) / 1e9;
  std::printf(
      "%s: scenario %s, %llu seed(s), %zu failure(s), %llu events in "
      "%.2f s\n",
      passed ? "PASS" : "FAIL", c.scenario.name.c_str(),
      static_cast<unsigned long long>(seeds_run.load()), failures.size(),
      static_cast<unsigned long long>(events.load()), wall);
  if (c.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const SeedFailure& f : failures) {
      nlohmann::json item = {{"seed", f.seed},
                             {"rule", f.rule},
                             {"message", f.message},
                             {"reproduce", f.reproduce}};
      if (!f.trace_path.empty()) item["trace"] = f.trace_path;
      list.push_back(std::move(item));
    }
    const double w = wall > 0 ? wall : 1e-9;
    nlohmann::json summary = {
        {"scenario", c.scenario.file},
        {"seeds", seeds_run.load()},
        {"failures", list},
        {"events", events.load()},
        {"wall_s", wall},
        {"virtual_s", virtual_s},
        {"events_per_s", static_cast<double>(events.load()) / w},
        {"time_ratio", virtual_s / w},
        {"faults_fired", nlohmann::json::object()},
        {"determinism", nullptr},
        {"interrupted", was_interrupted},
    };
    std::printf("%s\n", summary.dump().c_str());
  }
  return passed ? 0 : 1;
}

}  // namespace proctor::cli
