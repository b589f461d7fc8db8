// fuzz_scenario_loader: the scenario loader on arbitrary bytes. A scenario
// that loads must survive FormatScenario and load again to the same text
// (the round trip `proctor shrink` relies on when it writes a scenario), and
// a refused one must be refused the documented way: an InvalidArgumentError
// that starts with the file name.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_util.h"
#include "nlohmann/json.hpp"
#include "scenarios/format/scenario.h"

namespace {

constexpr absl::string_view kTarget = "scenario_loader";
constexpr absl::string_view kFile = "fuzz.yaml";
constexpr absl::string_view kFormattedFile = "formatted.yaml";

void CheckRefusal(const absl::Status& status, absl::string_view file,
                  absl::string_view input) {
  using proctor::fuzz::Finding;
  using proctor::fuzz::Shown;
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    Finding(kTarget,
            absl::StrCat("ParseScenario failed with ", status.ToString(),
                         ", not InvalidArgument, on: ", Shown(input)));
  }
  if (!absl::StartsWith(status.message(), absl::StrCat(file, ":"))) {
    Finding(kTarget,
            absl::StrCat("the error does not start with '", file,
                         ":': ", status.message(), "\non: ", Shown(input)));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using proctor::fuzz::Finding;
  const absl::string_view yaml(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<proctor::scenario::Scenario> scenario =
      proctor::scenario::ParseScenario(yaml, kFile);
  if (!scenario.ok()) {
    CheckRefusal(scenario.status(), kFile, yaml);
    return 0;
  }

  const std::string formatted = proctor::scenario::FormatScenario(*scenario);
  absl::StatusOr<proctor::scenario::Scenario> again =
      proctor::scenario::ParseScenario(formatted, kFormattedFile);
  if (!again.ok()) {
    Finding(kTarget,
            absl::StrCat("FormatScenario wrote a scenario that does not load: ",
                         again.status().message(), "\n--- input:\n",
                         proctor::fuzz::Shown(yaml, 2000), "\n--- formatted:\n",
                         formatted));
  }
  const std::string formatted_again = proctor::scenario::FormatScenario(*again);
  if (formatted_again != formatted) {
    Finding(kTarget,
            absl::StrCat("the round trip changed the scenario\n--- input:\n",
                         proctor::fuzz::Shown(yaml, 2000), "\n--- formatted:\n",
                         formatted, "\n--- formatted after loading that:\n",
                         formatted_again));
  }
  return 0;
}
