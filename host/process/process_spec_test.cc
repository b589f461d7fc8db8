// ValidateProcessSpec: every bound and shape check, without spawning.
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "host/process/child_process.h"

namespace proctor::host {
namespace {

ProcessSpec Valid() {
  return ProcessSpec{.argv = {"/bin/true", "arg"},
                     .env = {"PATH=/bin", "EMPTY="},
                     .fds = {{0, 10}, {1, 11}, {7, 7}}};
}

void ExpectInvalid(const ProcessSpec& spec, const std::string& message) {
  absl::Status status = ValidateProcessSpec(spec);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(status.message(), message);
}

TEST(ProcessSpecTest, AcceptsAValidSpec) {
  EXPECT_EQ(ValidateProcessSpec(Valid()), absl::OkStatus());
}

TEST(ProcessSpecTest, AcceptsExactlyTheBounds) {
  ProcessSpec spec = Valid();
  spec.argv.assign(kMaxProcessArgs, "a");
  spec.env.assign(kMaxProcessEnv, "A=");
  spec.fds.clear();
  for (size_t i = 0; i < kMaxProcessFds; ++i) {
    spec.fds.emplace_back(kMaxChildFdNumber - 1 - static_cast<int>(i), 3);
  }
  EXPECT_EQ(ValidateProcessSpec(spec), absl::OkStatus());

  // argv "a\0" x 4096 = 8 KiB, env "A=\0" x 4096 = 12 KiB; fill to the byte.
  spec.argv.back() =
      std::string(kMaxProcessArgBytes - 2 * 4095 - 3 * 4096 - 1, 'x');
  EXPECT_EQ(ValidateProcessSpec(spec), absl::OkStatus());
  spec.argv.back().push_back('x');
  ExpectInvalid(spec,
                "ProcessSpec.argv and env take 1048577 bytes with their NULs, "
                "more than the limit of 1048576");
}

TEST(ProcessSpecTest, RefusesEmptyArgvAndEmptyPath) {
  ProcessSpec spec = Valid();
  spec.argv.clear();
  ExpectInvalid(spec,
                "ProcessSpec.argv is empty: it needs at least the program "
                "path");
  spec.argv = {""};
  ExpectInvalid(spec, "ProcessSpec.argv[0] (the program path) is empty");
}

TEST(ProcessSpecTest, RefusesTooManyArgsAndEnvEntries) {
  ProcessSpec spec = Valid();
  spec.argv.assign(kMaxProcessArgs + 1, "a");
  ExpectInvalid(spec,
                "ProcessSpec.argv has 4097 entries, more than the limit of "
                "4096");
  spec = Valid();
  spec.env.assign(kMaxProcessEnv + 1, "A=b");
  ExpectInvalid(spec,
                "ProcessSpec.env has 4097 entries, more than the limit of "
                "4096");
}

TEST(ProcessSpecTest, RefusesNulBytes) {
  ProcessSpec spec = Valid();
  spec.argv[1] = std::string("a\0b", 3);
  ExpectInvalid(spec, "ProcessSpec.argv[1] contains a NUL byte");
  spec = Valid();
  spec.env[0] = std::string("A=\0", 3);
  ExpectInvalid(spec, "ProcessSpec.env[0] contains a NUL byte");
}

TEST(ProcessSpecTest, RefusesEnvEntriesThatAreNotNameValue) {
  ProcessSpec spec = Valid();
  spec.env[1] = "NOEQUALS";
  ExpectInvalid(spec, "ProcessSpec.env[1] is not of the form NAME=value");
  spec.env[1] = "=value";
  ExpectInvalid(spec, "ProcessSpec.env[1] is not of the form NAME=value");
}

TEST(ProcessSpecTest, RefusesBadFdMappings) {
  ProcessSpec spec = Valid();
  spec.fds.assign(kMaxProcessFds + 1, {3, 3});
  ExpectInvalid(spec,
                "ProcessSpec.fds has 65 entries, more than the limit of 64");
  spec.fds = {{-1, 3}};
  ExpectInvalid(spec, "ProcessSpec.fds: child fd -1 is outside [0, 1024)");
  spec.fds = {{kMaxChildFdNumber, 3}};
  ExpectInvalid(spec, "ProcessSpec.fds: child fd 1024 is outside [0, 1024)");
  spec.fds = {{4, 3}, {5, 3}, {4, 6}};
  ExpectInvalid(spec, "ProcessSpec.fds: child fd 4 is listed twice");
  spec.fds = {{4, -2}};
  ExpectInvalid(spec,
                "ProcessSpec.fds: parent fd -2 for child fd 4 is negative");
}

}  // namespace
}  // namespace proctor::host
