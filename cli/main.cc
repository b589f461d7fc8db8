// The `proctor` command. Subcommands are listed in one table; each ships only
// when it works (docs/cli.md). Exit codes: 0 all passed, 1 a check failed or a
// bug was found, 2 usage or input error.
#include <cstdio>
#include <span>
#include <string>

#include "absl/strings/string_view.h"
#include "cli/args.h"
#include "cli/commands.h"

namespace proctor::cli {
namespace {

constexpr char kUsage[] =
    "usage: proctor [--help] [--version] <command> [<args>]\n"
    "\n"
    "Proctor tests VM and container supervisors against a deterministic\n"
    "reference runtime (the rules of docs/spec.md).\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help and exit\n"
    "  --version      print the version and exit\n"
    "\n"
    "Commands:\n"
    "  sim        run a seed campaign in the deterministic simulator\n"
    "  run        run scenario files and check their expectations\n"
    "  replay     feed a trace's inputs to the runtime again, diff the "
    "actions\n"
    "  shrink     minimise a failing trace into a scenario that fails the "
    "same\n"
    "  trace      convert a trace (--perfetto: a timeline for "
    "ui.perfetto.dev)\n"
    "  mutants    list the named mutants of the reference runtime\n"
    "  image      build (or find in the cache) the guest image for QEMU\n"
    "\n"
    "Run 'proctor <command> --help' for a command's options; docs/cli.md\n"
    "describes them all.\n"
    "\n"
    "Exit codes: 0 all passed, 1 a check failed, 2 usage or input error.\n";

struct Command {
  absl::string_view name;
  absl::string_view summary;
  int (*run)(std::span<char* const> args);
};

constexpr Command kCommands[] = {
    {"sim", "run a seed campaign in the simulator", SimCommand},
    {"run", "run scenarios", RunCommand},
    {"replay", "replay a trace", ReplayCommand},
    {"shrink", "shrink a failing trace", ShrinkCommand},
    {"trace", "convert a trace", TraceCommand},
    {"mutants", "list the named mutants", MutantsCommand},
    {"image", "build or find the guest image", ImageCommand},
};

int Main(std::span<char*> args) {
  if (args.size() < 2) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  absl::string_view first = args[1];
  if (first == "-h" || first == "--help" || first == "help") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (first == "--version") {
    std::printf("proctor %s\n", PROCTOR_VERSION);
    return kExitOk;
  }
  for (const Command& command : kCommands) {
    if (command.name == first) return command.run(args.subspan(2));
  }
  std::fprintf(stderr,
               "proctor: unknown command or option '%s'\n"
               "Run 'proctor --help' for the list of commands.\n",
               std::string(first).c_str());
  return kExitUsage;
}

}  // namespace
}  // namespace proctor::cli

int main(int argc, char** argv) {
  return proctor::cli::Main(std::span<char*>(argv, static_cast<size_t>(argc)));
}
