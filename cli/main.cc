// The `proctor` command. Subcommands are listed in one table; each ships only
// when it works (docs/cli.md). Exit codes: 0 all passed, 1 a check failed or a
// bug was found, 2 usage or input error.
#include <cstdio>
#include <span>
#include <string>

#include "absl/strings/string_view.h"

namespace proctor::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;

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
    "Commands: none yet in this build. The simulator (`proctor sim`),\n"
    "scenarios (`proctor run`), replay, shrinking, real guests and\n"
    "conformance land as they are finished; see docs/cli.md.\n"
    "\n"
    "Exit codes: 0 all passed, 1 a check failed, 2 usage or input error.\n";

struct Command {
  absl::string_view name;
  absl::string_view summary;
  int (*run)(std::span<char*> args);
};

// The subcommand table: empty until the first subcommand lands.
constexpr std::span<const Command> Commands() { return {}; }

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
  for (const Command& command : Commands()) {
    if (command.name == first) return command.run(args.subspan(1));
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
