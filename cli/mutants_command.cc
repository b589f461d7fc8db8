// `proctor mutants`: the named mutants of the reference runtime, one a line:
// name, the rule it breaks, and what it does.
#include <cstdio>
#include <string>

#include "cli/args.h"
#include "cli/commands.h"
#include "runtime/model/mutants.h"

namespace proctor::cli {

namespace {
constexpr char kUsage[] =
    "usage: proctor mutants\n"
    "\n"
    "Lists the named mutants of the reference runtime, one a line: the name,\n"
    "the rule it breaks, and what it does. Run one with\n"
    "`proctor sim --mutant NAME`; the simulator must catch every one.\n";
}  // namespace

int MutantsCommand(std::span<char* const> argv) {
  Args args(argv);
  if (args.Flag("help")) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (absl::Status s = args.CheckAllConsumed(); !s.ok()) {
    std::fprintf(stderr, "proctor mutants: %s\n%s",
                 std::string(s.message()).c_str(), kUsage);
    return kExitUsage;
  }
  for (const MutantInfo& m : AllMutants()) {
    std::printf("%-26s %-5s %s\n", std::string(m.name).c_str(),
                std::string(m.rule).c_str(),
                std::string(m.description).c_str());
  }
  return kExitOk;
}

}  // namespace proctor::cli
