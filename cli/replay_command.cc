// `proctor replay`: feeds the inputs of a recorded trace to a fresh reference
// runtime and compares the actions it returns with the recorded ones
// (docs/replay.md).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "runtime/model/mutants.h"
#include "sim/replay/replay.h"
#include "sim/trace/trace.h"

namespace proctor::cli {
namespace {

constexpr char kUsage[] =
    "usage: proctor replay TRACE [--mutant NAME|none] [--context N] [--json]\n"
    "\n"
    "Feeds the recorded inputs of TRACE (a trace written by `proctor sim\n"
    "--trace-dir`), in order and at their recorded times, to a fresh\n"
    "reference runtime built as the run that recorded it was (the mutant and\n"
    "workload of its header), and compares the actions it returns with the\n"
    "recorded ones. Stops at the first difference and shows it with the\n"
    "events before it.\n"
    "\n"
    "  --mutant NAME|none  replay with this mutant (`proctor mutants`), or\n"
    "                      none, instead of the one the trace names\n"
    "  --context N         events shown before a difference (default 10,\n"
    "                      at most 1000)\n"
    "  --json              print a JSON summary as the last line of stdout\n"
    "\n"
    "Exit codes: 0 every action is identical, 1 a difference was found,\n"
    "2 usage error, or a trace that cannot be replayed (missing, truncated,\n"
    "corrupted, another format version, an unknown mutant, another sut).\n";

int Usage(absl::string_view message) {
  std::fprintf(stderr,
               "proctor replay: %s\nRun 'proctor replay --help' for usage.\n",
               std::string(message).c_str());
  return kExitUsage;
}

int Error(absl::string_view message) {
  std::fprintf(stderr, "proctor replay: %s\n", std::string(message).c_str());
  return kExitUsage;
}

}  // namespace

int ReplayCommand(std::span<char* const> argv) {
  Args args(argv);
  if (args.Flag("help")) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  const bool json = args.Flag("json");
  auto mutant = args.Value("mutant");
  auto context = args.Number("context", sim::kMaxReplayContextEvents);
  // Taken before CheckAllConsumed, which counts what is left as unknown.
  const std::vector<std::string> positional = args.Positional();
  for (const absl::Status& s :
       {mutant.status(), context.status(), args.CheckAllConsumed()}) {
    if (!s.ok()) return Usage(s.message());
  }
  if (positional.size() != 1) {
    return Usage(
        absl::StrCat("expected one trace file, found ", positional.size()));
  }
  const std::string& path = positional[0];

  sim::ReplayOptions options;
  options.trace_name = path;
  if (*mutant) {
    options.override_mutant = true;
    if (**mutant != "none") {
      options.mutant = ParseMutant(**mutant);
      if (!options.mutant) {
        return Usage(absl::StrCat("unknown mutant '", **mutant,
                                  "'; `proctor mutants` lists them"));
      }
    }
  }
  if (*context) options.context_events = static_cast<size_t>(**context);

  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    return Error(
        absl::StrCat(path, ": expected a trace file, found a directory"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  sim::TraceReader reader(&in, path);
  absl::StatusOr<sim::ReplayResult> result = sim::ReplayTrace(reader, options);
  if (!result.ok()) return Error(result.status().message());

  if (result->difference) {
    std::fputs(sim::FormatReplayDifference(path, *result->difference).c_str(),
               stdout);
  } else {
    std::printf("%s\n", sim::FormatReplaySummary(*result).c_str());
  }
  if (json) std::printf("%s\n", sim::ReplaySummaryJson(path, *result).c_str());
  return result->identical() ? kExitOk : kExitFailed;
}

}  // namespace proctor::cli
