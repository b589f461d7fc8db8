// The `proctor` command: the entry point of every subcommand in
// docs/cli.md. Exit codes: 0 all passed, 1 a check failed, 2 usage error.
#include <cstdio>
#include <string>
#include "absl/strings/string_view.h"

int main(int argc, char** argv) {
  absl::string_view arg = argc > 1 ? argv[1] : "--help";
  if (arg == "--version") {
    std::printf("proctor %s\n", PROCTOR_VERSION);
    return 0;
  }
  std::printf("usage: proctor --help | --version\n");
  return arg == "--help" || arg == "-h" ? 0 : 2;
}
