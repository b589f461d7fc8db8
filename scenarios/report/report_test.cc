#include "scenarios/report/report.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace proctor::scenario {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

std::vector<CaseResult> FourCases() {
  CaseResult passed;
  passed.name = "vm-boots";
  passed.classname = "proctor.sim";
  passed.file = "scenarios/vm/boots.yaml";
  passed.time_s = 0.0123;

  CaseResult failed;
  failed.name = "proxy-drains";
  failed.classname = "proctor.sim";
  failed.file = "scenarios/proxy/drains.yaml";
  failed.outcome = CaseOutcome::kFailed;
  failed.message = "PX-3: expected every message forwarded";
  failed.details =
      "expectation: every message forwarded\n"
      "seen: 2 of 3 forwarded\n"
      "reproduce: proctor run scenarios/proxy/drains.yaml\n";
  failed.time_s = 1.5;
  failed.rules = {"PX-3", "PX-2"};

  CaseResult skipped;
  skipped.name = "suspend-real";
  skipped.classname = "proctor.real";
  skipped.file = "scenarios/power/suspend.yaml";
  skipped.outcome = CaseOutcome::kSkipped;
  skipped.message = "needs a real guest";
  skipped.rules = {"PW-3"};

  CaseResult error;
  error.name = "broken";
  error.classname = "proctor.sim";
  error.file = "scenarios/broken.yaml";
  error.outcome = CaseOutcome::kError;
  error.message = "scenarios/broken.yaml:3: unknown key \"vmz\"";
  error.time_s = 0.0004;
  return {passed, failed, skipped, error};
}

TEST(JunitXmlTest, ExactDocument) {
  EXPECT_EQ(JunitXml("proctor run", FourCases()),
            R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="proctor run" tests="4" failures="1" errors="1" skipped="1" time="1.513">
  <testsuite name="proctor run" tests="4" failures="1" errors="1" skipped="1" time="1.513">
    <testcase name="vm-boots" classname="proctor.sim" file="scenarios/vm/boots.yaml" time="0.012"/>
    <testcase name="proxy-drains" classname="proctor.sim" file="scenarios/proxy/drains.yaml" time="1.500">
      <properties>
        <property name="rule" value="PX-3"/>
        <property name="rule" value="PX-2"/>
      </properties>
      <failure message="PX-3: expected every message forwarded" type="ExpectationFailed">expectation: every message forwarded
seen: 2 of 3 forwarded
reproduce: proctor run scenarios/proxy/drains.yaml
</failure>
      <system-out>rules: PX-3, PX-2</system-out>
    </testcase>
    <testcase name="suspend-real" classname="proctor.real" file="scenarios/power/suspend.yaml" time="0.000">
      <properties>
        <property name="rule" value="PW-3"/>
      </properties>
      <skipped message="needs a real guest"/>
      <system-out>rules: PW-3</system-out>
    </testcase>
    <testcase name="broken" classname="proctor.sim" file="scenarios/broken.yaml" time="0.000">
      <error message="scenarios/broken.yaml:3: unknown key &quot;vmz&quot;" type="ScenarioError"/>
    </testcase>
  </testsuite>
</testsuites>
)");
}

TEST(JunitXmlTest, NoCases) {
  EXPECT_EQ(JunitXml("empty", {}),
            R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="empty" tests="0" failures="0" errors="0" skipped="0" time="0.000">
  <testsuite name="empty" tests="0" failures="0" errors="0" skipped="0" time="0.000"/>
</testsuites>
)");
}

// What XML 1.0 forbids or a parser would change is escaped, replaced or
// written as a character reference.
CaseResult Hostile() {
  CaseResult c;
  c.name = std::string("a<b>&\"c\" 'd'\x1b[31m") + std::string("\0x", 2);
  c.classname = "proctor.sim";
  c.file = "dir/\xff\xfe.yaml";
  c.outcome = CaseOutcome::kFailed;
  c.message = "line one\nline\ttwo\r";
  // A lone lead byte, an overlong '/', a UTF-16 surrogate, U+FFFE, a
  // CDATA end, and fine UTF-8 (é, €, 𝄞).
  c.details =
      "\xc3 \xc0\xaf \xed\xa0\x80 \xef\xbf\xbe ]]> \xc3\xa9\xe2\x82\xac"
      "\xf0\x9d\x84\x9e\n\ttab";
  c.rules = {"CN-8 <x>"};
  return c;
}

TEST(JunitXmlTest, EscapesAndReplacesWhatXmlCannotCarry) {
  const std::vector<CaseResult> cases = {Hostile()};
  const std::string xml = JunitXml("s&s", cases);
  EXPECT_THAT(xml, HasSubstr("<testsuites name=\"s&amp;s\""));
  EXPECT_THAT(xml, HasSubstr("<testcase name=\"a&lt;b&gt;&amp;&quot;c&quot; "
                             "&apos;d&apos;\xef\xbf\xbd[31m\xef\xbf\xbdx\" "
                             "classname=\"proctor.sim\" "
                             "file=\"dir/\xef\xbf\xbd\xef\xbf\xbd.yaml\""));
  EXPECT_THAT(xml, HasSubstr("<failure message=\"line one&#10;line&#9;two&#13;"
                             "\" type=\"ExpectationFailed\">"));
  EXPECT_THAT(xml, HasSubstr(">\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
                             "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                             "\xef\xbf\xbd ]]&gt; \xc3\xa9\xe2\x82\xac"
                             "\xf0\x9d\x84\x9e\n\ttab</failure>"));
  EXPECT_THAT(xml,
              HasSubstr("<property name=\"rule\" value=\"CN-8 &lt;x&gt;\"/>"));
  EXPECT_THAT(xml, HasSubstr("<system-out>rules: CN-8 &lt;x&gt;</system-out>"));
  EXPECT_EQ(xml.find('\0'), std::string::npos);
  EXPECT_EQ(xml.find('\x1b'), std::string::npos);
}

// ctest runs each test of this file in its own process, several at once:
// the process id keeps their files apart.
std::string TempPath(absl::string_view name) {
  return absl::StrCat(::testing::TempDir(), "/proctor-report-test-", getpid(),
                      "-", name);
}

void WriteFile(const std::string& path, absl::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool HavePython() {
  return !absl::EndsWith(PROCTOR_PYTHON3, "NOTFOUND") &&
         std::string(PROCTOR_PYTHON3).find('\'') == std::string::npos;
}

// Runs a python3 script on `input`; returns its exit status and stdout.
int RunPython(absl::string_view script, absl::string_view input,
              std::string* output) {
  static int n = 0;
  ++n;
  const std::string script_path = TempPath(absl::StrCat("check", n, ".py"));
  const std::string input_path = TempPath(absl::StrCat("input", n));
  const std::string output_path = TempPath(absl::StrCat("output", n));
  WriteFile(script_path, script);
  WriteFile(input_path, input);
  const std::string command =
      absl::StrCat("'", PROCTOR_PYTHON3, "' '", script_path, "' '", input_path,
                   "' > '", output_path, "'");
  const int status = std::system(command.c_str());
  *output = ReadFile(output_path);
  std::remove(script_path.c_str());
  std::remove(input_path.c_str());
  std::remove(output_path.c_str());
  return status;
}

// Parses the document with python's XML parser and prints, per testcase,
// what a CI system would read from it.
constexpr char kReadJunit[] = R"(
import json, sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
cases = []
for tc in doc.getElementsByTagName('testcase'):
    case = {k: tc.getAttribute(k) for k in ('name', 'classname', 'file')}
    for tag in ('failure', 'error', 'skipped', 'system-out'):
        for e in tc.getElementsByTagName(tag):
            case[tag] = e.getAttribute('message') if e.hasAttribute('message') else None
            case[tag + '.text'] = ''.join(n.data for n in e.childNodes)
    case['rules'] = [p.getAttribute('value') for p in tc.getElementsByTagName('property')]
    cases.append(case)
print(json.dumps(cases, ensure_ascii=True, sort_keys=True))
)";

TEST(JunitXmlTest, IsWellFormedAndReadsBackAsWritten) {
  if (!HavePython()) GTEST_SKIP() << "no python3 to parse the XML with";
  std::vector<CaseResult> cases = FourCases();
  cases.push_back(Hostile());
  std::string output;
  ASSERT_EQ(RunPython(kReadJunit, JunitXml("proctor run", cases), &output), 0)
      << output;
  const json read = json::parse(output);
  ASSERT_EQ(read.size(), 5u);
  EXPECT_EQ(read[0], json::parse(R"({"classname":"proctor.sim",
      "file":"scenarios/vm/boots.yaml","name":"vm-boots","rules":[]})"));
  EXPECT_EQ(read[1]["failure"], "PX-3: expected every message forwarded");
  EXPECT_EQ(read[1]["failure.text"], FourCases()[1].details);
  EXPECT_EQ(read[1]["rules"], json::parse(R"(["PX-3","PX-2"])"));
  EXPECT_EQ(read[1]["system-out.text"], "rules: PX-3, PX-2");
  EXPECT_EQ(read[2]["skipped"], "needs a real guest");
  EXPECT_EQ(read[3]["error"], "scenarios/broken.yaml:3: unknown key \"vmz\"");
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(read[4]["name"],
            absl::StrCat("a<b>&\"c\" 'd'", fffd, "[31m", fffd, "x"));
  EXPECT_EQ(read[4]["file"], absl::StrCat("dir/", fffd, fffd, ".yaml"));
  // Attribute-value normalisation would have made these spaces.
  EXPECT_EQ(read[4]["failure"], "line one\nline\ttwo\r");
  EXPECT_EQ(
      read[4]["failure.text"],
      absl::StrCat(fffd, " ", fffd, fffd, " ", fffd, fffd, fffd, " ", fffd,
                   " ]]> \xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\n\ttab"));
  EXPECT_EQ(read[4]["rules"], json::parse(R"(["CN-8 <x>"])"));
}

TEST(JunitXmlTest, LongFieldsAreCutAtACharacterBoundary) {
  CaseResult c;
  c.name = "long";
  c.outcome = CaseOutcome::kFailed;
  // 'a' then 2-byte characters, so that the cut falls inside one.
  c.message = "a" + [] {
    std::string s;
    for (int i = 0; i < 3000; ++i) s += "\xc3\xa9";
    return s;
  }();
  c.details = std::string(kMaxReportDetailsBytes + 1, 'x');
  const std::vector<CaseResult> cases = {c};
  const std::string xml = JunitXml("s", cases);
  std::string kept = "a";
  while (kept.size() + 2 <=
         kMaxReportFieldBytes - kReportTruncatedMark.size()) {
    kept += "\xc3\xa9";
  }
  EXPECT_THAT(
      xml, HasSubstr(absl::StrCat("message=\"", kept, " [truncated]\" type=")));
  EXPECT_THAT(
      xml, HasSubstr(absl::StrCat(
               ">",
               std::string(kMaxReportDetailsBytes - kReportTruncatedMark.size(),
                           'x'),
               " [truncated]</failure>")));
  // Exactly at the bound: kept whole.
  c.details = std::string(kMaxReportDetailsBytes, 'y');
  const std::vector<CaseResult> exact = {c};
  EXPECT_THAT(JunitXml("s", exact),
              HasSubstr(absl::StrCat(">", c.details, "</failure>")));
}

TEST(TapReportTest, ExactStream) {
  EXPECT_EQ(TapReport(FourCases()), R"(TAP version 13
1..4
ok 1 - vm-boots
not ok 2 - proxy-drains
  ---
  message: "PX-3: expected every message forwarded"
  severity: fail
  rules: [PX-3, PX-2]
  file: scenarios/proxy/drains.yaml
  classname: proctor.sim
  duration_ms: 1500
  details: |-
    expectation: every message forwarded
    seen: 2 of 3 forwarded
    reproduce: proctor run scenarios/proxy/drains.yaml
  ...
ok 3 - suspend-real # SKIP needs a real guest
not ok 4 - broken
  ---
  message: "scenarios/broken.yaml:3: unknown key \"vmz\""
  severity: error
  rules: []
  file: scenarios/broken.yaml
  classname: proctor.sim
  duration_ms: 0
  details: ""
  ...
)");
}

TEST(TapReportTest, NoCases) {
  EXPECT_EQ(TapReport({}), "TAP version 13\n1..0\n");
}

CaseResult HostileTap() {
  CaseResult c;
  c.name = "vm #3\nrestarts \\ twice\r\n";
  c.classname = "proctor.sim";
  c.file = "yes";
  c.outcome = CaseOutcome::kFailed;
  static constexpr char kMessage[] = "bad \"quote\" \\ \x1b[0m \xff\0end";
  c.message = std::string(kMessage, sizeof(kMessage) - 1);
  c.details = "  indented first\r\nsecond\rthird\n\nfifth \x1b\x7f\n\n";
  c.rules = {"VM-7", "true", "a b"};
  return c;
}

TEST(TapReportTest, EscapesNamesAndDiagnostics) {
  CaseResult skip;
  skip.name = "#skip me";
  skip.outcome = CaseOutcome::kSkipped;
  skip.message = "no # guest\n";
  CaseResult bare_skip;
  bare_skip.name = "bare";
  bare_skip.outcome = CaseOutcome::kSkipped;
  const std::vector<CaseResult> cases = {HostileTap(), skip, bare_skip};
  EXPECT_EQ(
      TapReport(cases),
      "TAP version 13\n"
      "1..3\n"
      "not ok 1 - vm \\#3 restarts \\\\ twice  \n"
      "  ---\n"
      "  message: \"bad \\\"quote\\\" \\\\ \\x1b[0m \xef\xbf\xbd\\x00end\"\n"
      "  severity: fail\n"
      "  rules: [VM-7, \"true\", \"a b\"]\n"
      "  file: \"yes\"\n"
      "  classname: proctor.sim\n"
      "  duration_ms: 0\n"
      "  details: |2-\n"
      "      indented first\n"
      "    second\n"
      "    third\n"
      "\n"
      "    fifth \xef\xbf\xbd\xef\xbf\xbd\n"
      "  ...\n"
      "ok 2 - \\#skip me # SKIP no \\# guest \n"
      "ok 3 - bare # SKIP\n");
}

// Reads every diagnostic block back with a YAML parser.
constexpr char kReadTapYaml[] = R"(
import json, sys, yaml
blocks, block = [], None
for line in open(sys.argv[1], encoding='utf-8').read().split('\n'):
    if line == '  ---':
        block = []
    elif line == '  ...':
        blocks.append(yaml.safe_load('\n'.join(l[2:] for l in block)))
        block = None
    elif block is not None:
        block.append(line)
print(json.dumps(blocks, ensure_ascii=True, sort_keys=True))
)";

TEST(TapReportTest, DiagnosticsAreYaml) {
  if (!HavePython()) GTEST_SKIP() << "no python3 to parse the YAML with";
  std::string output;
  if (RunPython("import yaml\n", "", &output) != 0) {
    GTEST_SKIP() << "python3 has no yaml module";
  }
  std::vector<CaseResult> cases = FourCases();
  cases.push_back(HostileTap());
  ASSERT_EQ(RunPython(kReadTapYaml, TapReport(cases), &output), 0) << output;
  const json read = json::parse(output);
  ASSERT_EQ(read.size(), 3u);
  EXPECT_EQ(read[0]["details"],
            "expectation: every message forwarded\n"
            "seen: 2 of 3 forwarded\n"
            "reproduce: proctor run "
            "scenarios/proxy/drains.yaml");
  EXPECT_EQ(read[0]["rules"], json::parse(R"(["PX-3","PX-2"])"));
  EXPECT_EQ(read[1]["details"], "");
  static constexpr char kMessage[] =
      "bad \"quote\" \\ \x1b[0m \xef\xbf\xbd\0end";
  EXPECT_EQ(read[2]["message"], std::string(kMessage, sizeof(kMessage) - 1));
  EXPECT_EQ(read[2]["file"], "yes");
  EXPECT_EQ(read[2]["rules"], json::parse(R"(["VM-7","true","a b"])"));
  EXPECT_EQ(
      read[2]["details"],
      "  indented first\nsecond\nthird\n\nfifth \xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(read[2]["duration_ms"], 0);
}

TEST(CaseOutcomeNameTest, Names) {
  EXPECT_EQ(CaseOutcomeName(CaseOutcome::kPassed), "passed");
  EXPECT_EQ(CaseOutcomeName(CaseOutcome::kFailed), "failed");
  EXPECT_EQ(CaseOutcomeName(CaseOutcome::kSkipped), "skipped");
  EXPECT_EQ(CaseOutcomeName(CaseOutcome::kError), "error");
}

}  // namespace
}  // namespace proctor::scenario
