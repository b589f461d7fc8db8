// A seed campaign: runs the default workload under seeded fault plans
// against the reference runtime (optionally with a mutant switched on), with
// the oracle judging every step, on several threads, and reports what it
// found with the command that reproduces each failure. This is what
// `proctor sim` runs.
#ifndef PROCTOR_SIM_CAMPAIGN_CAMPAIGN_H_
#define PROCTOR_SIM_CAMPAIGN_CAMPAIGN_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/model/mutants.h"
#include "runtime/supervisor/supervisor.h"
#include "sim/world/world.h"

namespace proctor::sim {

struct CampaignOptions {
  uint64_t first_seed = 0;
  uint64_t last_seed = 0;  // included
  bool swarm = false;
  std::optional<Mutant> mutant;
  int jobs = 1;
  // --shard I/N: only seeds whose offset from first_seed is I modulo N.
  uint32_t shard_index = 0;
  uint32_t shard_count = 1;
  bool check_determinism = false;
  // Where the traces of failing seeds go, one file per seed; empty: none.
  std::string trace_dir;
  // Stop taking new seeds after this many failures (0: never).
  uint64_t max_failures = 0;
  WorkloadOptions workload;
};

struct SeedFailure {
  uint64_t seed = 0;
  std::string rule;  // "PX-3", or "SIM" when the world itself failed
  std::string message;
  std::string reproduce;   // the exact command that reproduces it
  std::string trace_path;  // set when --trace-dir saved it
};

struct CampaignResult {
  uint64_t seeds_run = 0;
  uint64_t seeds_planned = 0;
  std::vector<SeedFailure> failures;  // by seed
  // Failures beyond the recorded ones, counted only.
  uint64_t failures_not_recorded = 0;
  uint64_t events = 0;
  double wall_s = 0;
  double virtual_s = 0;
  std::array<uint64_t, kFaultKindCount> faults_fired{};
  // In how many seeds each kind was enabled.
  std::array<uint64_t, kFaultKindCount> faults_enabled{};
  // Kinds enabled in some seed that never fired in the whole campaign: a
  // campaign with an inert fault kind fails.
  std::vector<FaultKind> inert_faults;
  std::optional<bool> determinism;  // null unless checked
  bool interrupted = false;
  uint64_t peak_rss_kib = 0;

  bool passed() const {
    return failures.empty() && failures_not_recorded == 0 &&
           inert_faults.empty() && !interrupted;
  }
};

// Progress reports while the campaign runs (from one thread at a time).
using ProgressFn = std::function<void(uint64_t done, uint64_t planned,
                                      uint64_t failures, uint64_t events)>;

// Runs the campaign. `interrupted` (may be null) is polled between events:
// once set, no new seed starts and running seeds stop; the result keeps
// everything found so far.
CampaignResult RunCampaign(const CampaignOptions& options,
                           const std::atomic<bool>* interrupted,
                           const ProgressFn& progress);

// The command that reproduces one seed of a campaign, as a user would type
// it: `proctor sim --seeds 17..17 --swarm --mutant on-died-twice --trace-dir .`
std::string ReproduceCommand(const CampaignOptions& options, uint64_t seed);

// The runtime's options for a workload: the reference runtime with the
// mutant switched on, and limits raised to hold the workload's guests.
// Replays and scenario runs of the same workload use the same options.
Supervisor::Options SupervisorOptionsForWorkload(
    const WorkloadOptions& workload, const std::optional<Mutant>& mutant);

// The one-object JSON summary printed by `proctor sim --json`.
std::string CampaignSummaryJson(const CampaignOptions& options,
                                const CampaignResult& result);

}  // namespace proctor::sim

#endif  // PROCTOR_SIM_CAMPAIGN_CAMPAIGN_H_
