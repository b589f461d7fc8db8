// `proctor run`: runs scenario files in a world, checks their expectations
// and reports the results for people (one block per scenario), for CI
// systems (JUnit XML, TAP 13) and for scripts (--json).
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "guest/image/image.h"
#include "host/qemu/kvm_probe.h"
#include "nlohmann/json.hpp"
#include "scenarios/format/scenario.h"
#include "scenarios/report/report.h"
#include "scenarios/runner/process_runner.h"
#include "scenarios/runner/runner.h"

namespace proctor::cli {
namespace {

using scenario::CaseOutcome;
using scenario::CaseResult;
using scenario::Scenario;
using scenario::ScenarioResult;
using scenario::WorldKind;

constexpr char kUsage[] =
    "usage: proctor run FILE... [--world sim|process|qemu] [--mutant NAME]\n"
    "                   [--jobs N] [--image DIR] [--accel tcg|auto]\n"
    "                   [--compare sim]\n"
    "                   [--junit FILE] [--tap] [--trace PATH] [--json]\n"
    "\n"
    "Runs scenario files (docs/scenario-format.md) and checks their\n"
    "expectations; in sim the invariant oracle also judges every rule.\n"
    "\n"
    "  --world W       sim (the deterministic simulator; default), process\n"
    "                  (real socket pairs, shared-memory counters and "
    "container\n"
    "                  processes on the real clock; docs/host.md) or qemu\n"
    "                  (that, with real Linux guests under QEMU;\n"
    "                  docs/qemu.md). libvirt and runc are not in this\n"
    "                  build yet.\n"
    "  --image DIR     qemu: the guest image to boot (default: build it\n"
    "                  with 'proctor image' into its cache, or find it "
    "there)\n"
    "  --accel A       qemu: tcg (emulation, the default) or auto: KVM\n"
    "                  when a short probe boot under KVM works, else TCG\n"
    "  --compare sim   process, qemu: also run each scenario in the\n"
    "                  simulator and fail it when the two runs do not tell\n"
    "                  the same story (docs/qemu.md, \"Compare\")\n"
    "  --mutant NAME   run against a mutant of the reference runtime\n"
    "  --jobs N        run N scenarios at once (default 1)\n"
    "  --junit FILE    write a JUnit XML report (GitHub, GitLab, Jenkins)\n"
    "  --tap           print a TAP 13 report on stdout instead of the\n"
    "                  readable results (which then go to stderr)\n"
    "  --trace PATH    write the trace of the run to PATH; with several\n"
    "                  scenarios PATH is a directory of NAME.jsonl files\n"
    "  --json          print a JSON summary as the last line of stdout\n"
    "\n"
    "A scenario that does not list the world is skipped. Exit codes: 0 all\n"
    "run scenarios passed, 1 a scenario failed (each printed with the\n"
    "command that reproduces it), 2 usage error or a malformed scenario.\n";

// Set from the SIGINT/SIGTERM handler while real worlds run, so that their
// processes are killed and reaped and the results so far are reported; a
// signal handler can only reach static storage.
std::atomic<bool> interrupted{false};

void OnInterrupt(int) { interrupted.store(true); }

int Usage(absl::string_view message) {
  std::fprintf(stderr, "proctor run: %s\nRun 'proctor run --help' for usage.\n",
               std::string(message).c_str());
  return kExitUsage;
}

struct Outcome {
  bool skipped = false;
  std::string skip_reason;
  ScenarioResult result;
  std::string trace_path;
};

std::string Indent(absl::string_view text, absl::string_view prefix) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  return absl::StrJoin(lines, absl::StrCat("\n", prefix));
}

std::string Location(const Scenario& s, const scenario::Finding& f) {
  if (f.location.line == 0) return "";
  return absl::StrCat("  (", s.file, ":", f.location.line, ":",
                      f.location.column, ")");
}

// Flags of this run that its reproduce commands repeat (--compare sim,
// --image DIR).
std::string& ReproduceFlags() {
  static std::string flags;
  return flags;
}

std::string Reproduce(const Scenario& s, WorldKind world,
                      const std::optional<Mutant>& mutant) {
  return absl::StrCat(scenario::ReproduceCommand(s, world, mutant),
                      ReproduceFlags());
}

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// The guest image for the QEMU world: DIR's, or the cached one (built
// first when it is missing).
absl::StatusOr<guest::Image> GuestImage(const std::optional<std::string>& dir) {
  if (dir.has_value()) {
    guest::Image image;
    image.dir = *dir;
    image.kernel = absl::StrCat(*dir, "/vmlinuz");
    image.initrd = absl::StrCat(*dir, "/initrd.img");
    for (const std::string& file : {image.kernel, image.initrd}) {
      struct stat st {};
      if (stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return absl::NotFoundError(
            absl::StrCat("--image ", *dir, ": no ", file,
                         " (make one with 'proctor image --out DIR')"));
      }
    }
    return image;
  }
  guest::ImageOptions options;
#ifdef PROCTOR_AGENT_BINARY
  options.inputs.agent_binary = PROCTOR_AGENT_BINARY;
#else
  return absl::FailedPreconditionError(
      "this proctor was built without proctor-agent: pass --image DIR");
#endif
  absl::StatusOr<std::string> cache =
      guest::DefaultCacheDir(Env("XDG_CACHE_HOME"), Env("HOME"));
  if (!cache.ok()) return cache.status();
  options.cache_dir = *cache;
  const std::string path = Env("PATH");
  if (!path.empty()) options.tool_path = path;
  return guest::BuildImage(options);
}

// The readable block for one scenario.
std::string Describe(const Scenario& s, const Outcome& o, WorldKind world,
                     const std::optional<Mutant>& mutant) {
  if (o.skipped) {
    return absl::StrCat("SKIP  ", s.name, "  (", s.file, "): ", o.skip_reason,
                        "\n");
  }
  const ScenarioResult& r = o.result;
  std::string out = absl::StrFormat(
      "%s  %s  (%s, %d events, %s %s, %.3fs)\n", r.passed() ? "PASS" : "FAIL",
      s.name, s.file, r.events, FormatInstant(r.end),
      world == WorldKind::kSim ? "virtual" : "on the clock", r.wall_s);
  if (r.passed()) return out;
  if (!r.error.ok()) {
    absl::StrAppend(&out, "  error:     ", r.error.message(), "\n");
  }
  for (const scenario::Finding& f : r.findings) {
    absl::StrAppend(&out, "  expected:  ", f.expected, Location(s, f), "\n",
                    "  seen:      ", Indent(f.seen, "             "), "\n",
                    "  rule:      ", f.rule.empty() ? "(none named)" : f.rule,
                    "\n");
  }
  if (!o.trace_path.empty()) {
    absl::StrAppend(&out, "  trace:     ", o.trace_path, "\n");
  }
  absl::StrAppend(&out, "  reproduce: ", Reproduce(s, world, mutant), "\n");
  return out;
}

CaseResult CaseOf(const Scenario& s, const Outcome& o, WorldKind world,
                  const std::optional<Mutant>& mutant) {
  CaseResult c;
  c.name = s.name;
  c.classname = absl::StrCat("proctor.", scenario::WorldKindName(world));
  c.file = s.file;
  c.rules = s.rules;
  if (o.skipped) {
    c.outcome = CaseOutcome::kSkipped;
    c.message = o.skip_reason;
    return c;
  }
  const ScenarioResult& r = o.result;
  c.time_s = r.wall_s;
  if (r.passed()) return c;
  c.outcome = r.error.ok() ? CaseOutcome::kFailed : CaseOutcome::kError;
  if (!r.findings.empty()) {
    const scenario::Finding& f = r.findings.front();
    c.message = absl::StrCat(f.rule.empty() ? "" : absl::StrCat(f.rule, ": "),
                             "expected ", f.expected);
  } else {
    c.message = std::string(r.error.message());
  }
  c.details = Describe(s, o, world, mutant);
  return c;
}

}  // namespace

int RunCommand(std::span<char* const> argv) {
  Args args(argv);
  if (args.Flag("help")) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  const bool json = args.Flag("json");
  const bool tap = args.Flag("tap");
  auto world_name = args.Value("world");
  auto mutant_name = args.Value("mutant");
  auto junit_path = args.Value("junit");
  auto trace_path = args.Value("trace");
  auto jobs_flag = args.Number("jobs", 1024);
  auto image_dir = args.Value("image");
  auto compare = args.Value("compare");
  auto accel = args.Value("accel");
  // Taken before CheckAllConsumed, which counts what is left as unknown.
  const std::vector<std::string> files = args.Positional();
  for (const absl::Status& s :
       {world_name.status(), mutant_name.status(), junit_path.status(),
        trace_path.status(), jobs_flag.status(), image_dir.status(),
        compare.status(), accel.status(), args.CheckAllConsumed()}) {
    if (!s.ok()) return Usage(s.message());
  }
  if (files.empty()) return Usage("no scenario files given");

  WorldKind world = WorldKind::kSim;
  if (*world_name) {
    std::optional<WorldKind> w = scenario::ParseWorldKind(**world_name);
    if (!w) {
      return Usage(absl::StrCat("unknown world '", **world_name,
                                "'; expected sim, process, qemu, libvirt or "
                                "runc"));
    }
    world = *w;
  }
  if (world != WorldKind::kSim && world != WorldKind::kProcess &&
      world != WorldKind::kQemu) {
    std::fprintf(stderr,
                 "proctor run: the %s world is not available in this build "
                 "yet; --world sim, process and qemu run scenarios "
                 "(docs/cli.md)\n",
                 std::string(scenario::WorldKindName(world)).c_str());
    return kExitUsage;
  }
  if (*compare && **compare != "sim") {
    return Usage(absl::StrCat("--compare ", **compare,
                              ": only the simulator can be compared with "
                              "(--compare sim)"));
  }
  if (*compare && world == WorldKind::kSim) {
    return Usage(
        "--compare sim compares a real world's runs with the "
        "simulator's: give --world process or qemu");
  }
  if (*image_dir && world != WorldKind::kQemu) {
    return Usage("--image is for --world qemu");
  }
  if (*accel && world != WorldKind::kQemu) {
    return Usage("--accel is for --world qemu");
  }
  if (*accel && **accel != "tcg" && **accel != "auto") {
    return Usage(absl::StrCat("--accel ", **accel,
                              ": expected tcg or auto (KVM only after a "
                              "probe boot works)"));
  }
  ReproduceFlags() =
      absl::StrCat(*image_dir ? absl::StrCat(" --image ", **image_dir) : "",
                   *compare ? " --compare sim" : "",
                   *accel ? absl::StrCat(" --accel ", **accel) : "");
  std::optional<Mutant> mutant;
  if (*mutant_name) {
    mutant = ParseMutant(**mutant_name);
    if (!mutant) {
      return Usage(absl::StrCat("unknown mutant '", **mutant_name,
                                "'; 'proctor mutants' lists them"));
    }
  }
  const uint64_t jobs = std::max<uint64_t>(jobs_flag->value_or(1), 1);
  if (world != WorldKind::kSim) {
    struct sigaction action {};
    action.sa_handler = OnInterrupt;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
  }

  // Every file must load before anything runs: a malformed scenario is an
  // input error, not a failed check.
  std::vector<Scenario> scenarios;
  bool load_failed = false;
  for (const std::string& file : files) {
    absl::StatusOr<Scenario> s = scenario::LoadScenarioFile(file);
    if (!s.ok()) {
      std::fprintf(stderr, "proctor run: %s\n",
                   std::string(s.status().message()).c_str());
      load_failed = true;
      continue;
    }
    scenarios.push_back(*std::move(s));
  }
  if (load_failed) return kExitUsage;

  std::optional<host::QemuWorldOptions> qemu;
  if (world == WorldKind::kQemu) {
    bool any = false;
    for (const Scenario& s : scenarios) any = any || s.AppliesTo(world);
    if (any) {
      std::fprintf(stderr, "proctor run: preparing the guest image...\n");
      absl::StatusOr<guest::Image> image = GuestImage(*image_dir);
      if (!image.ok()) {
        std::fprintf(stderr, "proctor run: the guest image: %s\n",
                     std::string(image.status().message()).c_str());
        return *image_dir ? kExitUsage : kExitFailed;
      }
      qemu.emplace();
      qemu->kernel = image->kernel;
      qemu->initrd = image->initrd;
      const std::string tmp = Env("TMPDIR");
      // Socket paths in the run folders must stay short.
      if (!tmp.empty() && tmp.size() <= 40) qemu->run_parent = tmp;
      if (*accel && **accel == "auto") {
        host::KvmProbeOptions probe;
        probe.kernel = image->kernel;
        probe.initrd = image->initrd;
        probe.run_parent = qemu->run_parent;
        absl::StatusOr<host::AccelChoice> choice = host::ChooseAccel(probe);
        if (!choice.ok()) {
          std::fprintf(stderr, "proctor run: %s\n",
                       std::string(choice.status().message()).c_str());
          return kExitFailed;
        }
        std::fprintf(stderr, "proctor run: %s\n", choice->reason.c_str());
        qemu->accel = choice->accel;
      }
    }
  }

  // Where each trace goes.
  std::vector<std::string> trace_paths(scenarios.size());
  if (*trace_path) {
    if (scenarios.size() == 1) {
      trace_paths[0] = **trace_path;
    } else {
      std::error_code ec;
      std::filesystem::create_directories(**trace_path, ec);
      if (ec) {
        return Usage(absl::StrCat("cannot create trace directory '",
                                  **trace_path, "': ", ec.message()));
      }
      for (size_t i = 0; i < scenarios.size(); ++i) {
        trace_paths[i] = (std::filesystem::path(**trace_path) /
                          absl::StrCat(scenarios[i].name, ".jsonl"))
                             .string();
      }
    }
  }

  std::vector<Outcome> outcomes(scenarios.size());
  std::atomic<size_t> next{0};
  std::atomic<bool> trace_failed{false};
  auto worker = [&] {
    for (size_t i = next++; i < scenarios.size(); i = next++) {
      const Scenario& s = scenarios[i];
      Outcome& o = outcomes[i];
      if (!s.AppliesTo(world)) {
        o.skipped = true;
        std::vector<std::string> names;
        for (WorldKind w : s.worlds) {
          names.emplace_back(scenario::WorldKindName(w));
        }
        o.skip_reason =
            absl::StrCat("not for world ", scenario::WorldKindName(world),
                         " (worlds: ", absl::StrJoin(names, ", "), ")");
        continue;
      }
      std::unique_ptr<std::ofstream> trace_file;
      scenario::RunOptions options;
      options.mutant = mutant;
      if (!trace_paths[i].empty()) {
        trace_file = std::make_unique<std::ofstream>(trace_paths[i]);
        if (!*trace_file) {
          trace_failed = true;
          std::fprintf(stderr, "proctor run: cannot write trace '%s'\n",
                       trace_paths[i].c_str());
        } else {
          options.trace = trace_file.get();
          o.trace_path = trace_paths[i];
        }
      }
      if (world != WorldKind::kSim && interrupted.load()) {
        o.result.error =
            absl::CancelledError("not run: interrupted before it started");
        continue;
      }
      if (world == WorldKind::kProcess || world == WorldKind::kQemu) {
        scenario::ProcessRunOptions process_options;
        process_options.run = options;
        process_options.interrupted = &interrupted;
        process_options.qemu = qemu;
        process_options.compare_sim = compare->has_value();
        o.result = scenario::RunInProcess(s, process_options);
      } else {
        o.result = scenario::RunInSim(s, options);
      }
    }
  };
  std::vector<std::thread> threads;
  for (uint64_t j = 1; j < std::min<uint64_t>(jobs, scenarios.size()); ++j) {
    threads.emplace_back(worker);
  }
  worker();
  for (std::thread& t : threads) t.join();

  // Reports.
  FILE* readable = tap ? stderr : stdout;
  size_t passed = 0, failed = 0, skipped = 0;
  uint64_t events = 0;
  double wall_s = 0;
  double boot_s = 0;
  nlohmann::json failures = nlohmann::json::array();
  nlohmann::json skips = nlohmann::json::array();
  std::vector<CaseResult> cases;
  for (size_t i = 0; i < scenarios.size(); ++i) {
    const Scenario& s = scenarios[i];
    const Outcome& o = outcomes[i];
    std::fputs(Describe(s, o, world, mutant).c_str(), readable);
    cases.push_back(CaseOf(s, o, world, mutant));
    if (o.skipped) {
      ++skipped;
      skips.push_back(
          {{"name", s.name}, {"file", s.file}, {"reason", o.skip_reason}});
      continue;
    }
    events += o.result.events;
    wall_s += o.result.wall_s;
    boot_s += o.result.boot_s;
    if (o.result.passed()) {
      ++passed;
      continue;
    }
    ++failed;
    nlohmann::json f = {{"name", s.name},
                        {"file", s.file},
                        {"rule", o.result.FirstRule()},
                        {"reproduce", Reproduce(s, world, mutant)}};
    if (!o.result.findings.empty()) {
      f["expected"] = o.result.findings.front().expected;
      f["seen"] = o.result.findings.front().seen;
    }
    if (!o.result.error.ok()) f["error"] = o.result.error.message();
    if (!o.trace_path.empty()) f["trace"] = o.trace_path;
    failures.push_back(std::move(f));
  }
  std::fprintf(readable, "%zu scenarios: %zu passed, %zu failed, %zu skipped\n",
               scenarios.size(), passed, failed, skipped);
  if (tap) std::fputs(scenario::TapReport(cases).c_str(), stdout);
  bool report_failed = trace_failed.load();
  if (*junit_path) {
    std::ofstream out(**junit_path);
    out << scenario::JunitXml("proctor run", cases);
    out.close();
    if (!out) {
      std::fprintf(stderr, "proctor run: cannot write JUnit report '%s'\n",
                   junit_path->value().c_str());
      report_failed = true;
    }
  }
  if (json) {
    nlohmann::json summary = {
        {"world", scenario::WorldKindName(world)},
        {"mutant", mutant ? nlohmann::json(InfoOf(*mutant).name)
                          : nlohmann::json(nullptr)},
        {"scenarios", scenarios.size()},
        {"passed", passed},
        {"failed", failed},
        {"skipped", skipped},
        {"skipped_reasons", skips},
        {"failures", failures},
        {"events", events},
        {"wall_s", wall_s},
        {"compare", compare->has_value() ? nlohmann::json("sim")
                                         : nlohmann::json(nullptr)},
    };
    if (world == WorldKind::kQemu) summary["boot_s"] = boot_s;
    std::printf("%s\n", summary.dump().c_str());
  }
  if (failed > 0) return kExitFailed;
  return report_failed ? kExitUsage : kExitOk;
}

}  // namespace proctor::cli
