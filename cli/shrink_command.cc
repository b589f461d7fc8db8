// `proctor shrink`: minimises a failing trace (from `proctor sim` or
// `proctor run`) into a small scenario that fails the same way.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <span>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "nlohmann/json.hpp"
#include "scenarios/format/scenario.h"
#include "scenarios/runner/runner.h"
#include "scenarios/shrink/shrink.h"
#include "sim/trace/trace.h"

namespace proctor::cli {
namespace {

constexpr char kUsage[] =
    "usage: proctor shrink TRACE [--out FILE] [--max-runs N] [--generated]\n"
    "                      [--json]\n"
    "\n"
    "Takes the trace of a failing run (proctor sim --trace-dir, or proctor\n"
    "run --trace) and minimises it by delta debugging: fewer faults, fewer\n"
    "steps and objects, a smaller workload, earlier times, checking at each\n"
    "step that the same rule still fails. Writes the result as a scenario\n"
    "that fails the same way under `proctor run`.\n"
    "\n"
    "  --out FILE     where the scenario goes (default: stdout)\n"
    "  --max-runs N   the most candidate runs (default 4000)\n"
    "  --generated    keep a `proctor sim` failure as a generated workload;\n"
    "                 by default it is told as explicit steps when those\n"
    "                 still fail the same way\n"
    "  --json         print a JSON summary as the last line of stdout\n"
    "                 (needs --out)\n"
    "\n"
    "Exit codes: 0 shrunk, 1 the shrunk scenario did not fail again (a bug\n"
    "in proctor), 2 usage error, a bad trace, or a trace that passed.\n";

int Usage(absl::string_view message) {
  std::fprintf(stderr,
               "proctor shrink: %s\nRun 'proctor shrink --help' for usage.\n",
               std::string(message).c_str());
  return kExitUsage;
}

int InputError(absl::string_view message) {
  std::fprintf(stderr, "proctor shrink: %s\n", std::string(message).c_str());
  return kExitUsage;
}

}  // namespace

int ShrinkCommand(std::span<char* const> argv) {
  Args args(argv);
  if (args.Flag("help")) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  const bool json = args.Flag("json");
  const bool keep_generated = args.Flag("generated");
  auto out_path = args.Value("out");
  auto max_runs = args.Number("max-runs", 10'000'000);
  // Taken before CheckAllConsumed, which counts what is left as unknown.
  const std::vector<std::string> positional = args.Positional();
  for (const absl::Status& s :
       {out_path.status(), max_runs.status(), args.CheckAllConsumed()}) {
    if (!s.ok()) return Usage(s.message());
  }
  if (positional.size() != 1) return Usage("expected exactly one TRACE");
  if (json && !*out_path) return Usage("--json needs --out FILE");
  const std::string& trace_path = positional[0];

  std::ifstream in(trace_path);
  if (!in) return InputError(absl::StrCat("cannot open '", trace_path, "'"));
  sim::TraceReader reader(&in, trace_path);
  absl::StatusOr<scenario::FailingRun> run =
      scenario::FailingRunOfTrace(reader);
  if (!run.ok()) return InputError(run.status().message());
  // The shrunk scenario is named after where it is written, so its
  // reproduce command is right.
  run->scenario.file = out_path->value_or("shrunk.yaml");

  scenario::ShrinkOptions options;
  if (*max_runs) options.max_runs = **max_runs;
  options.explicit_steps = !keep_generated;
  const bool tty = isatty(STDERR_FILENO) != 0;
  if (tty) {
    options.progress = [](size_t runs, size_t size) {
      if (runs % 20 == 0) {
        std::fprintf(stderr, "\rshrinking: %zu runs, size %zu   ", runs, size);
      }
    };
  }
  absl::StatusOr<scenario::ShrinkResult> result =
      scenario::Shrink(*run, options);
  if (tty) std::fputs("\r\033[K", stderr);
  if (!result.ok()) return InputError(result.status().message());

  std::string yaml = scenario::FormatScenario(result->scenario);
  if (result->scenario.generated.has_value()) {
    // A generated workload's steps are implicit in its seed: tell them.
    absl::StrAppend(&yaml, "\n",
                    scenario::StoryOfRun(result->scenario, run->mutant, 40));
  }
  // What is written must load and fail the same way.
  absl::StatusOr<scenario::Scenario> reloaded =
      scenario::ParseScenario(yaml, result->scenario.file);
  if (!reloaded.ok() ||
      !scenario::FailsWith(*reloaded, run->mutant, result->rule)) {
    std::fprintf(stderr,
                 "proctor shrink: the shrunk scenario does not fail with %s "
                 "when loaded again (%s); this is a bug in proctor\n",
                 result->rule.c_str(),
                 reloaded.ok()
                     ? "it passes"
                     : std::string(reloaded.status().message()).c_str());
    return kExitFailed;
  }
  FILE* summary_out = stdout;
  if (*out_path) {
    std::ofstream out(**out_path);
    out << yaml;
    out.close();
    if (!out)
      return InputError(absl::StrCat("cannot write '", **out_path, "'"));
  } else {
    std::fputs(yaml.c_str(), stdout);
    summary_out = stderr;
  }
  const std::string reproduce = scenario::ReproduceCommand(
      result->scenario, scenario::WorldKind::kSim, run->mutant);
  std::fprintf(summary_out,
               "shrunk a %s failure in %zu runs: size %zu -> %zu (faults, "
               "steps, objects, expectations), last time %s -> %s\n",
               result->rule.c_str(), result->runs, result->size_before,
               result->size_after,
               absl::FormatDuration(result->last_time_before).c_str(),
               absl::FormatDuration(result->last_time_after).c_str());
  if (*out_path) {
    std::fprintf(summary_out, "wrote %s\n", out_path->value().c_str());
  }
  std::fprintf(summary_out, "reproduce: %s\n", reproduce.c_str());
  if (json) {
    nlohmann::json summary = {
        {"trace", trace_path},
        {"out", **out_path},
        {"rule", result->rule},
        {"runs", result->runs},
        {"size_before", result->size_before},
        {"size_after", result->size_after},
        {"faults", result->scenario.faults.size()},
        {"steps", result->scenario.steps.size()},
        {"explicit_steps", result->explicit_steps},
        {"yaml_lines", std::count(yaml.begin(), yaml.end(), '\n')},
        {"reproduce", reproduce},
    };
    std::printf("%s\n", summary.dump().c_str());
  }
  return kExitOk;
}

}  // namespace proctor::cli
