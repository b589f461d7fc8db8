// `proctor trace`: turns a trace into a timeline that ui.perfetto.dev opens
// (docs/timeline.md).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "nlohmann/json.hpp"
#include "sim/timeline/perfetto.h"
#include "sim/trace/trace.h"

namespace proctor::cli {
namespace {

constexpr char kUsage[] =
    "usage: proctor trace TRACE --perfetto OUT [--json]\n"
    "\n"
    "Converts a trace written by `proctor sim --trace-dir` into a timeline in\n"
    "the Chrome trace-event JSON format: open OUT in\n"
    "https://ui.perfetto.dev (Open trace file) or chrome://tracing. Every VM,\n"
    "container and proxy gets a track of its states; the supervisor's power,\n"
    "requests and faults get tracks of their own; the violation, if any, is a\n"
    "red line across all of them (docs/timeline.md).\n"
    "\n"
    "  --perfetto OUT   where to write the timeline (required); written to\n"
    "                   OUT.tmp first, then renamed to OUT\n"
    "  --json           print a JSON summary as the last line of stdout\n"
    "\n"
    "Exit codes: 0 the timeline was written, 2 usage error or a trace that\n"
    "cannot be read (truncated, corrupted, another format version).\n";

int Usage(absl::string_view message) {
  std::fprintf(stderr,
               "proctor trace: %s\nRun 'proctor trace --help' for usage.\n",
               std::string(message).c_str());
  return kExitUsage;
}

int Error(absl::string_view message) {
  std::fprintf(stderr, "proctor trace: %s\n", std::string(message).c_str());
  return kExitUsage;
}

}  // namespace

int TraceCommand(std::span<char* const> argv) {
  Args args(argv);
  if (args.Flag("help")) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  const bool json = args.Flag("json");
  // Before Positional(), which would take OUT for a second trace.
  auto perfetto = args.Value("perfetto");
  if (!perfetto.ok()) return Usage(perfetto.status().message());
  const std::vector<std::string> positional = args.Positional();
  if (absl::Status s = args.CheckAllConsumed(); !s.ok()) {
    return Usage(s.message());
  }
  if (positional.empty()) return Usage("expected a trace file");
  if (positional.size() > 1) {
    return Usage(
        absl::StrCat("expected one trace file, found ", positional.size()));
  }
  if (!perfetto->has_value()) return Usage("--perfetto OUT is required");
  const std::string& trace_path = positional[0];
  const std::string& out_path = **perfetto;
  if (out_path.empty()) return Usage("--perfetto is empty");

  std::error_code ec;
  if (std::filesystem::is_directory(trace_path, ec)) {
    return Error(absl::StrCat(trace_path, ": is a directory, not a trace"));
  }
  std::ifstream in(trace_path, std::ios::binary);
  if (!in) {
    return Error(
        absl::StrCat(trace_path, ": cannot open: ", std::strerror(errno)));
  }
  if (std::filesystem::equivalent(trace_path, out_path, ec)) {
    return Usage("--perfetto would overwrite the trace itself");
  }

  const std::string tmp_path = absl::StrCat(out_path, ".tmp");
  std::ofstream out(tmp_path, std::ios::binary | std::ios::trunc);
  if (!out) {
    return Error(
        absl::StrCat(tmp_path, ": cannot write: ", std::strerror(errno)));
  }
  sim::TraceReader reader(&in, trace_path);
  sim::PerfettoOptions options;
  options.trace_name = trace_path;
  sim::PerfettoStats stats;
  absl::Status status =
      sim::WritePerfettoTimeline(reader, out, options, &stats);
  out.close();
  if (status.ok() && out.fail()) {
    status = absl::InternalError(
        absl::StrCat(tmp_path, ": writing failed: ", std::strerror(errno)));
  }
  if (status.ok()) {
    std::filesystem::rename(tmp_path, out_path, ec);
    if (ec) {
      status = absl::InternalError(absl::StrCat(
          "cannot rename ", tmp_path, " to ", out_path, ": ", ec.message()));
    }
  }
  if (!status.ok()) {
    std::filesystem::remove(tmp_path, ec);
    return Error(status.message());
  }

  const std::string verdict = stats.violated_rule.has_value()
                                  ? absl::StrCat("fail, ", *stats.violated_rule)
                                  : std::string(stats.passed ? "pass" : "fail");
  std::printf(
      "wrote %s: %llu tracks, %llu slices, %llu instants from %llu "
      "events (%s)\n",
      out_path.c_str(), static_cast<unsigned long long>(stats.tracks),
      static_cast<unsigned long long>(stats.slices),
      static_cast<unsigned long long>(stats.instants),
      static_cast<unsigned long long>(stats.events), verdict.c_str());
  if (json) {
    nlohmann::ordered_json summary;
    summary["trace"] = trace_path;
    summary["perfetto"] = out_path;
    summary["events"] = stats.events;
    summary["tracks"] = stats.tracks;
    summary["slices"] = stats.slices;
    summary["instants"] = stats.instants;
    summary["verdict"] = stats.passed ? "pass" : "fail";
    summary["rule"] = stats.violated_rule.has_value()
                          ? nlohmann::ordered_json(*stats.violated_rule)
                          : nlohmann::ordered_json(nullptr);
    std::printf(
        "%s\n",
        summary.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
            .c_str());
  }
  return kExitOk;
}

}  // namespace proctor::cli
