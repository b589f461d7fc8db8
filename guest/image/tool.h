// Running the Debian tools the image is built with (apt-cache, apt-get,
// dpkg-deb): looked up in an explicit search path, run with a fixed
// environment in a chosen folder, their output captured up to a bound, and
// killed if they outlive a deadline.
#ifndef PROCTOR_GUEST_IMAGE_TOOL_H_
#define PROCTOR_GUEST_IMAGE_TOOL_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace proctor::guest {

// Bytes kept of each of a tool's stdout and stderr; the rest is read and
// dropped so the tool never blocks on a full pipe.
inline constexpr size_t kMaxToolOutputBytes = size_t{4} << 20;

struct ToolCall {
  // A program name such as "dpkg-deb", looked up in `search_path`.
  std::string tool;
  std::vector<std::string> args;
  // Colon-separated folders, like PATH; also the child's PATH.
  std::string search_path;
  // The child's working folder; empty keeps the caller's.
  std::string cwd;
  absl::Duration timeout = absl::Minutes(10);
};

struct ToolResult {
  int exit_code = 0;  // 128 + N when killed by signal N
  std::string out;
  std::string err;
};

// The Debian package that provides `tool`, for "install ..." hints.
absl::string_view PackageProviding(absl::string_view tool);

// The path of `tool` in `search_path`: NotFound "dpkg-deb not found in
// /usr/bin:/bin: install dpkg" when absent.
absl::StatusOr<std::string> FindTool(absl::string_view tool,
                                     absl::string_view search_path);

// Runs the tool to completion in a process group of its own, with stdin
// /dev/null and the environment PATH=<search_path>, LC_ALL=C. On timeout the
// whole group is killed. A non-zero exit is not an error here (the
// caller words it); a missing tool, a failed spawn or the timeout is
// (DeadlineExceeded "apt-get timed out after 10m; killed").
absl::StatusOr<ToolResult> RunTool(const ToolCall& call);

// The last non-empty line of a tool's stderr (or stdout), for messages.
std::string LastLine(const ToolResult& result);

}  // namespace proctor::guest

#endif  // PROCTOR_GUEST_IMAGE_TOOL_H_
