// The subcommands of `proctor`, each taking its arguments without the
// program and subcommand names and returning the exit code.
#ifndef PROCTOR_CLI_COMMANDS_H_
#define PROCTOR_CLI_COMMANDS_H_

#include <span>

namespace proctor::cli {

int SimCommand(std::span<char* const> args);
int MutantsCommand(std::span<char* const> args);
int RunCommand(std::span<char* const> args);
int ReplayCommand(std::span<char* const> args);
int ShrinkCommand(std::span<char* const> args);
int TraceCommand(std::span<char* const> args);
int ImageCommand(std::span<char* const> args);

}  // namespace proctor::cli

#endif  // PROCTOR_CLI_COMMANDS_H_
