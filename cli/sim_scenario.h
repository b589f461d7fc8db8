// `proctor sim --scenario FILE`: one scenario run under every seed of a
// range, each seed drawing other latencies (and, for a generated scenario,
// another workload), with the oracle and the scenario's expectations.
#ifndef PROCTOR_CLI_SIM_SCENARIO_H_
#define PROCTOR_CLI_SIM_SCENARIO_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "runtime/model/mutants.h"
#include "scenarios/format/scenario.h"

namespace proctor::cli {

struct ScenarioCampaign {
  scenario::Scenario scenario;
  uint64_t first_seed = 0, last_seed = 0;
  uint32_t shard_index = 0, shard_count = 1;
  std::optional<Mutant> mutant;
  int jobs = 1;
  std::string trace_dir;  // traces of failing seeds; empty: none
  uint64_t max_failures = 0;
  bool json = false;
};

// Prints a FAIL line with its reproduce command per failing seed, a summary
// line, and with `json` a summary object; returns the exit code.
int RunScenarioCampaign(const ScenarioCampaign& campaign,
                        const std::atomic<bool>& interrupted);

}  // namespace proctor::cli

#endif  // PROCTOR_CLI_SIM_SCENARIO_H_
