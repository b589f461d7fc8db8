// `proctor sim`: a seed campaign in the deterministic simulator against the
// reference runtime (docs/simulator.md).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/sim_scenario.h"
#include "scenarios/format/scenario.h"
#include "sim/campaign/campaign.h"

namespace proctor::cli {
namespace {

constexpr char kUsage[] =
    "usage: proctor sim [--scenario FILE] [--seeds A..B] [--swarm]\n"
    "                   [--mutant NAME] [--jobs N]\n"
    "                   [--shard I/N] [--check-determinism] [--trace-dir DIR]\n"
    "                   [--max-failures N] [--vms N] [--proxies N]\n"
    "                   [--containers N] [--json]\n"
    "\n"
    "Runs the default workload in the deterministic simulator under a seeded\n"
    "fault plan per seed, with the invariant oracle judging every step.\n"
    "\n"
    "  --scenario FILE       run this scenario under every seed instead of "
    "the\n"
    "                        default workload (docs/scenario-format.md)\n"
    "  --seeds A..B          seeds to run, both included (default 0..999)\n"
    "  --swarm               each seed enables a random subset of fault kinds\n"
    "  --mutant NAME         switch on a mutant (see `proctor mutants`)\n"
    "  --jobs N              run seeds on N threads (default 1)\n"
    "  --shard I/N           run only every N-th seed, starting at offset I\n"
    "  --check-determinism   run every seed twice and compare trace hashes\n"
    "  --trace-dir DIR       save the trace of every failing seed in DIR\n"
    "  --max-failures N      stop starting seeds after N failures\n"
    "  --vms N, --proxies N, --containers N\n"
    "                        fixed workload sizes (default: drawn per seed)\n"
    "  --json                print a JSON summary as the last line of stdout\n"
    "\n"
    "Exit codes: 0 all seeds passed, 1 a failure was found (each printed with\n"
    "the command that reproduces it), 2 usage error.\n";

// Set from the SIGINT handler: a signal handler can only reach static
// storage. Nothing else in Proctor is global.
std::atomic<bool> interrupted{false};

void OnSigint(int) { interrupted.store(true); }

int Usage(absl::string_view message) {
  std::fprintf(stderr, "proctor sim: %s\nRun 'proctor sim --help' for usage.\n",
               std::string(message).c_str());
  return kExitUsage;
}

}  // namespace

int SimCommand(std::span<char* const> argv) {
  Args args(argv);
  if (args.Flag("help")) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  sim::CampaignOptions options;
  options.first_seed = 0;
  options.last_seed = 999;
  const bool json = args.Flag("json");
  options.swarm = args.Flag("swarm");
  options.check_determinism = args.Flag("check-determinism");

  auto scenario_file = args.Value("scenario");
  auto seeds = args.Value("seeds");
  auto mutant = args.Value("mutant");
  auto shard = args.Value("shard");
  auto trace_dir = args.Value("trace-dir");
  auto jobs = args.Number("jobs", 1024);
  auto max_failures = args.Number("max-failures", UINT64_MAX);
  auto vms = args.Number("vms", 100'000);
  auto proxies = args.Number("proxies", 100'000);
  auto containers = args.Number("containers", 10'000);
  for (const absl::Status& s :
       {scenario_file.status(), seeds.status(), mutant.status(), shard.status(),
        trace_dir.status(), jobs.status(), max_failures.status(), vms.status(),
        proxies.status(), containers.status(), args.CheckAllConsumed()}) {
    if (!s.ok()) return Usage(s.message());
  }
  if (*seeds) {
    auto range = ParseSeedRange(**seeds);
    if (!range.ok()) return Usage(range.status().message());
    options.first_seed = range->first;
    options.last_seed = range->second;
  }
  if (*mutant) {
    options.mutant = ParseMutant(**mutant);
    if (!options.mutant) {
      return Usage(absl::StrCat("unknown mutant '", **mutant,
                                "'; `proctor mutants` lists them"));
    }
  }
  if (*shard) {
    auto s = ParseShard(**shard);
    if (!s.ok()) return Usage(s.status().message());
    options.shard_index = s->first;
    options.shard_count = s->second;
  }
  if (*trace_dir) {
    options.trace_dir = **trace_dir;
    if (options.trace_dir.empty()) return Usage("--trace-dir is empty");
    std::error_code error;
    std::filesystem::create_directories(options.trace_dir, error);
    if (access(options.trace_dir.c_str(), W_OK) != 0) {
      return Usage(
          absl::StrCat("--trace-dir ", options.trace_dir,
                       ": not a writable directory and cannot be created"));
    }
  }
  if (*jobs) options.jobs = static_cast<int>(std::max<uint64_t>(1, **jobs));
  if (*max_failures) options.max_failures = **max_failures;
  if (*vms) options.workload.vms = static_cast<uint32_t>(**vms);
  if (*proxies) options.workload.proxies = static_cast<uint32_t>(**proxies);
  if (*containers) {
    options.workload.containers = static_cast<uint32_t>(**containers);
  }

  struct sigaction action {};
  action.sa_handler = OnSigint;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);

  if (*scenario_file) {
    if (options.swarm || options.check_determinism || *vms || *proxies ||
        *containers) {
      return Usage(
          "--scenario takes its world from the file: --swarm, "
          "--check-determinism, --vms, --proxies and --containers do not "
          "apply");
    }
    absl::StatusOr<scenario::Scenario> s =
        scenario::LoadScenarioFile(**scenario_file);
    if (!s.ok()) {
      std::fprintf(stderr, "proctor sim: %s\n",
                   std::string(s.status().message()).c_str());
      return kExitUsage;
    }
    if (!s->AppliesTo(scenario::WorldKind::kSim)) {
      return Usage(
          absl::StrCat(**scenario_file, " does not list the sim world"));
    }
    ScenarioCampaign c;
    c.scenario = *std::move(s);
    c.first_seed = options.first_seed;
    c.last_seed = options.last_seed;
    c.shard_index = options.shard_index;
    c.shard_count = options.shard_count;
    c.mutant = options.mutant;
    c.jobs = options.jobs;
    c.trace_dir = options.trace_dir;
    c.max_failures = options.max_failures;
    c.json = json;
    return RunScenarioCampaign(c, interrupted);
  }

  const bool tty = isatty(STDERR_FILENO) == 1;
  uint64_t last_shown = 0;
  sim::ProgressFn progress = [&](uint64_t done, uint64_t planned,
                                 uint64_t failures, uint64_t events) {
    if (!tty) return;
    if (done != planned &&
        done - last_shown < std::max<uint64_t>(1, planned / 200)) {
      return;
    }
    last_shown = done;
    std::fprintf(stderr,
                 "\rproctor sim: %llu/%llu seeds, %llu failure(s), %llu events",
                 static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(planned),
                 static_cast<unsigned long long>(failures),
                 static_cast<unsigned long long>(events));
    if (done == planned) std::fputc('\n', stderr);
    std::fflush(stderr);
  };

  sim::CampaignResult result =
      sim::RunCampaign(options, &interrupted, progress);
  if (tty && result.seeds_run != result.seeds_planned) std::fputc('\n', stderr);

  for (const sim::SeedFailure& f : result.failures) {
    // Oracle messages start with their rule ID; others get it prepended.
    const std::string text = absl::StartsWith(f.message, f.rule + ":")
                                 ? f.message
                                 : absl::StrCat(f.rule, ": ", f.message);
    std::printf("FAIL seed %llu: %s\n  reproduce: %s\n",
                static_cast<unsigned long long>(f.seed), text.c_str(),
                f.reproduce.c_str());
    if (!f.trace_path.empty())
      std::printf("  trace: %s\n", f.trace_path.c_str());
  }
  if (result.failures_not_recorded > 0) {
    std::printf("... and %llu more failing seed(s), counted but not listed\n",
                static_cast<unsigned long long>(result.failures_not_recorded));
  }
  std::vector<std::string> inert;
  for (sim::FaultKind kind : result.inert_faults) {
    inert.emplace_back(sim::FaultKindName(kind));
  }
  if (!inert.empty()) {
    std::printf("FAIL fault kinds enabled but never fired: %s\n",
                absl::StrJoin(inert, ", ").c_str());
  }
  if (result.interrupted) {
    std::printf("interrupted: %llu of %llu seeds ran\n",
                static_cast<unsigned long long>(result.seeds_run),
                static_cast<unsigned long long>(result.seeds_planned));
  }
  const double wall = result.wall_s > 0 ? result.wall_s : 1e-9;
  std::printf(
      "%s: %llu seed(s), %llu failure(s), %llu events in %.2f s "
      "(%.0f events/s, time ratio %.0f)%s\n",
      result.passed() ? "PASS" : "FAIL",
      static_cast<unsigned long long>(result.seeds_run),
      static_cast<unsigned long long>(result.failures.size() +
                                      result.failures_not_recorded),
      static_cast<unsigned long long>(result.events), result.wall_s,
      static_cast<double>(result.events) / wall, result.virtual_s / wall,
      result.determinism.has_value()
          ? (*result.determinism ? ", deterministic" : ", NOT deterministic")
          : "");
  if (json)
    std::printf("%s\n", sim::CampaignSummaryJson(options, result).c_str());
  return result.passed() ? kExitOk : kExitFailed;
}

}  // namespace proctor::cli
