// The reports `proctor run` writes for CI systems: JUnit XML (read by GitHub
// Actions reporters, GitLab's artifacts:reports:junit and Jenkins' junit
// step) and TAP version 13. Both are pure functions of the case results, so
// the exact text is testable; the caller writes them where they go
// (docs/reports.md).
//
// Scenario names, messages and details can hold anything a scenario file or
// a supervisor put there. Neither format may break because of it: text is
// made valid UTF-8 (an invalid byte becomes U+FFFD), characters a format
// cannot carry are replaced or escaped, and every field is cut to a named
// bound so that one runaway message cannot push a report past a CI
// system's size limit (GitLab: 30 MB a file).
#ifndef PROCTOR_SCENARIOS_REPORT_REPORT_H_
#define PROCTOR_SCENARIOS_REPORT_REPORT_H_

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace proctor::scenario {

enum class CaseOutcome {
  kPassed,
  kFailed,
  kSkipped,
  kError,  // the scenario could not be loaded or run
};

struct CaseResult {
  std::string name;       // scenario name
  std::string classname;  // e.g. "proctor.sim" (world)
  std::string file;       // scenario file path
  CaseOutcome outcome = CaseOutcome::kPassed;
  std::string message;  // one line: why it failed / was skipped
  std::string details;  // multi-line: expectation, what was seen, rule,
                        // reproduce command
  double time_s = 0;    // wall time
  std::vector<std::string> rules;  // rule IDs the scenario checks
};

// Bounds on what one case puts in a report: the name, classname, file,
// message and each rule are cut at kMaxReportFieldBytes, the details at
// kMaxReportDetailsBytes, the rules after kMaxReportRules entries. A cut
// field ends in kReportTruncatedMark.
inline constexpr size_t kMaxReportFieldBytes = 4096;
inline constexpr size_t kMaxReportDetailsBytes = 65536;
inline constexpr size_t kMaxReportRules = 256;
inline constexpr absl::string_view kReportTruncatedMark = " [truncated]";

// A JUnit XML document: one <testsuites> holding one <testsuite> named
// `suite_name`, a <testcase> per case in order. A failure is a <failure>, an
// error an <error> (message attribute = message, body = details), a skip a
// <skipped message=...>; the rules are both <property name="rule"> entries
// and a "rules: ..." line in <system-out>, since GitLab and Jenkins show
// <system-out> but not testcase properties.
std::string JunitXml(absl::string_view suite_name,
                     std::span<const CaseResult> cases);

// A TAP version 13 stream: "ok N - name", "not ok N - name" followed by an
// indented YAML block (message, severity, rules, file, classname,
// duration_ms, details), and "ok N - name # SKIP reason". In names and
// reasons '\' and '#' are escaped as "\\" and "\#" and each CR or LF
// becomes a space.
std::string TapReport(std::span<const CaseResult> cases);

// The name of an outcome as the reports use it: "passed", "failed",
// "skipped", "error".
absl::string_view CaseOutcomeName(CaseOutcome outcome);

}  // namespace proctor::scenario

#endif  // PROCTOR_SCENARIOS_REPORT_REPORT_H_
