#include "scenarios/report/report.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace proctor::scenario {
namespace {

constexpr uint32_t kReplacement = 0xFFFD;

// The length of the well-formed UTF-8 sequence at `s[i]` and its code point
// in `cp`, or 0 when the bytes there are not one (a stray continuation
// byte, an overlong form, a surrogate, a code point past U+10FFFF, a cut
// sequence).
size_t DecodeUtf8(absl::string_view s, size_t i, uint32_t* cp) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t n;
  uint8_t lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  uint32_t value = b0 & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < n; ++k) value = (value << 6) | (byte(i + k) & 0x3F);
  *cp = value;
  return n;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// XML 1.0 Char: what a document may contain at all, even escaped.
bool XmlChar(uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

// YAML 1.2 c-printable, without the byte order mark: what may stand
// unescaped in a block scalar.
bool YamlPrintable(uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0x7E) ||
         cp == 0x85 || (cp >= 0xA0 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD && cp != 0xFEFF) ||
         (cp >= 0x10000 && cp <= 0x10FFFF);
}

// Text for a TAP line: no control characters, which a CI log would render
// or act on; CR and LF are kept here and turned into spaces later.
bool TapLineChar(uint32_t cp) {
  return cp == 0xA || cp == 0xD || cp == 0x9 ||
         (cp >= 0x20 && cp != 0x7F && !(cp >= 0x80 && cp <= 0x9F) &&
          cp != 0xFFFE && cp != 0xFFFF);
}

bool AnyChar(uint32_t) { return true; }

// `in` as valid UTF-8 in which every code point `keep` refuses and every
// byte that is not part of a well-formed sequence is U+FFFD, cut to at most
// `max_bytes` (ending in kReportTruncatedMark when cut). Reads only as much
// of `in` as the result can hold.
std::string Clean(absl::string_view in, size_t max_bytes,
                  bool (*keep)(uint32_t)) {
  std::string out;
  size_t i = 0;
  while (i < in.size() && out.size() <= max_bytes) {
    uint32_t cp = 0;
    size_t n = DecodeUtf8(in, i, &cp);
    if (n == 0) {
      cp = kReplacement;
      n = 1;
    } else if (!keep(cp)) {
      cp = kReplacement;
    }
    AppendUtf8(cp, &out);
    i += n;
  }
  if (out.size() > max_bytes) {
    size_t cut = max_bytes - kReportTruncatedMark.size();
    // Never cut inside a character.
    while (cut > 0 && (static_cast<uint8_t>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    absl::StrAppend(&out, kReportTruncatedMark);
  }
  return out;
}

std::string Seconds(double s) {
  if (!std::isfinite(s) || s < 0) s = 0;
  return absl::StrFormat("%.3f", s);
}

// ---- XML ----

// Escapes clean text (see Clean) for element content or, with `attribute`,
// for a double- or single-quoted attribute value; there, whitespace other
// than the space is written as a character reference, which attribute-value
// normalisation would otherwise turn into spaces.
void AppendXml(absl::string_view text, bool attribute, std::string* out) {
  for (char c : text) {
    switch (c) {
      case '&':
        absl::StrAppend(out, "&amp;");
        break;
      case '<':
        absl::StrAppend(out, "&lt;");
        break;
      case '>':
        absl::StrAppend(out, "&gt;");
        break;
      case '"':
        absl::StrAppend(out, attribute ? "&quot;" : "\"");
        break;
      case '\'':
        absl::StrAppend(out, attribute ? "&apos;" : "'");
        break;
      case '\r':
        absl::StrAppend(out, "&#13;");
        break;
      case '\n':
        absl::StrAppend(out, attribute ? "&#10;" : "\n");
        break;
      case '\t':
        absl::StrAppend(out, attribute ? "&#9;" : "\t");
        break;
      default:
        out->push_back(c);
    }
  }
}

void AppendAttribute(absl::string_view name, absl::string_view value,
                     size_t max_bytes, std::string* out) {
  absl::StrAppend(out, " ", name, "=\"");
  AppendXml(Clean(value, max_bytes, XmlChar), true, out);
  out->push_back('"');
}

struct Counts {
  size_t tests = 0, failures = 0, errors = 0, skipped = 0;
  double time_s = 0;
};

Counts CountOf(std::span<const CaseResult> cases) {
  Counts c;
  c.tests = cases.size();
  for (const CaseResult& r : cases) {
    if (r.outcome == CaseOutcome::kFailed) ++c.failures;
    if (r.outcome == CaseOutcome::kError) ++c.errors;
    if (r.outcome == CaseOutcome::kSkipped) ++c.skipped;
    if (std::isfinite(r.time_s) && r.time_s > 0) c.time_s += r.time_s;
  }
  return c;
}

void AppendSuiteAttributes(absl::string_view suite_name, const Counts& c,
                           std::string* out) {
  AppendAttribute("name", suite_name, kMaxReportFieldBytes, out);
  absl::StrAppend(out, " tests=\"", c.tests, "\" failures=\"", c.failures,
                  "\" errors=\"", c.errors, "\" skipped=\"", c.skipped,
                  "\" time=\"", Seconds(c.time_s), "\"");
}

std::vector<std::string> CleanRules(const std::vector<std::string>& rules,
                                    bool (*keep)(uint32_t)) {
  std::vector<std::string> out;
  for (size_t i = 0; i < rules.size() && i < kMaxReportRules; ++i) {
    out.push_back(Clean(rules[i], kMaxReportFieldBytes, keep));
  }
  if (rules.size() > kMaxReportRules) {
    out.push_back(
        std::string(absl::StripLeadingAsciiWhitespace(kReportTruncatedMark)));
  }
  return out;
}

void AppendTestcase(const CaseResult& r, std::string* out) {
  absl::StrAppend(out, "    <testcase");
  AppendAttribute("name", r.name, kMaxReportFieldBytes, out);
  AppendAttribute("classname", r.classname, kMaxReportFieldBytes, out);
  if (!r.file.empty()) {
    AppendAttribute("file", r.file, kMaxReportFieldBytes, out);
  }
  absl::StrAppend(out, " time=\"", Seconds(r.time_s), "\"");
  const std::vector<std::string> rules = CleanRules(r.rules, XmlChar);
  if (r.outcome == CaseOutcome::kPassed && rules.empty()) {
    absl::StrAppend(out, "/>\n");
    return;
  }
  absl::StrAppend(out, ">\n");
  if (!rules.empty()) {
    absl::StrAppend(out, "      <properties>\n");
    for (const std::string& rule : rules) {
      absl::StrAppend(out, "        <property name=\"rule\" value=\"");
      AppendXml(rule, true, out);
      absl::StrAppend(out, "\"/>\n");
    }
    absl::StrAppend(out, "      </properties>\n");
  }
  switch (r.outcome) {
    case CaseOutcome::kPassed:
      break;
    case CaseOutcome::kSkipped:
      absl::StrAppend(out, "      <skipped");
      if (!r.message.empty()) {
        AppendAttribute("message", r.message, kMaxReportFieldBytes, out);
      }
      absl::StrAppend(out, "/>\n");
      break;
    case CaseOutcome::kFailed:
    case CaseOutcome::kError: {
      const bool failed = r.outcome == CaseOutcome::kFailed;
      const char* element = failed ? "failure" : "error";
      absl::StrAppend(out, "      <", element);
      AppendAttribute("message", r.message, kMaxReportFieldBytes, out);
      absl::StrAppend(out, " type=\"",
                      failed ? "ExpectationFailed" : "ScenarioError", "\"");
      if (r.details.empty()) {
        absl::StrAppend(out, "/>\n");
      } else {
        absl::StrAppend(out, ">");
        AppendXml(Clean(r.details, kMaxReportDetailsBytes, XmlChar), false,
                  out);
        absl::StrAppend(out, "</", element, ">\n");
      }
      break;
    }
  }
  if (!rules.empty()) {
    absl::StrAppend(out, "      <system-out>rules: ");
    AppendXml(absl::StrJoin(rules, ", "), false, out);
    absl::StrAppend(out, "</system-out>\n");
  }
  absl::StrAppend(out, "    </testcase>\n");
}

// ---- TAP and YAML ----

// A test name or a skip reason on a TAP line.
std::string TapText(absl::string_view text) {
  const std::string clean = Clean(text, kMaxReportFieldBytes, TapLineChar);
  std::string out;
  for (char c : clean) {
    switch (c) {
      case '\r':
      case '\n':
        out.push_back(' ');
        break;
      case '\\':
        absl::StrAppend(&out, "\\\\");
        break;
      case '#':
        absl::StrAppend(&out, "\\#");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// A YAML scalar: plain when it cannot be misread (a word, a path, a rule ID),
// otherwise double-quoted with escapes.
std::string YamlScalar(absl::string_view text, size_t max_bytes) {
  const std::string clean = Clean(text, max_bytes, AnyChar);
  bool plain = !clean.empty() &&
               (absl::ascii_isalpha(static_cast<unsigned char>(clean[0])) ||
                clean[0] == '/' || clean[0] == '_');
  for (char c : clean) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (!(absl::ascii_isalnum(u) || c == '_' || c == '.' || c == '/' ||
          c == '-')) {
      plain = false;
    }
  }
  if (plain) {
    const std::string lower = absl::AsciiStrToLower(clean);
    for (absl::string_view word :
         {"true", "false", "null", "yes", "no", "on", "off", "y", "n"}) {
      if (lower == word) plain = false;
    }
  }
  if (plain) return clean;
  std::string out = "\"";
  size_t i = 0;
  while (i < clean.size()) {
    uint32_t cp = 0;
    const size_t n = DecodeUtf8(clean, i, &cp);  // clean: never 0
    if (cp == '"') {
      absl::StrAppend(&out, "\\\"");
    } else if (cp == '\\') {
      absl::StrAppend(&out, "\\\\");
    } else if (cp == '\n') {
      absl::StrAppend(&out, "\\n");
    } else if (cp == '\t') {
      absl::StrAppend(&out, "\\t");
    } else if (cp == '\r') {
      absl::StrAppend(&out, "\\r");
    } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
      absl::StrAppend(&out, absl::StrFormat("\\x%02x", cp));
    } else if (cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF) {
      absl::StrAppend(&out, absl::StrFormat("\\u%04x", cp));
    } else {
      out.append(clean, i, n);
    }
    i += n;
  }
  out.push_back('"');
  return out;
}

// `details: |-` and the text as a literal block scalar, indented four
// spaces (two for the TAP block, two for the scalar).
void AppendYamlBlock(absl::string_view key, absl::string_view text,
                     std::string* out) {
  std::string clean = Clean(text, kMaxReportDetailsBytes, YamlPrintable);
  // YAML reads CR, LF and CRLF alike as a line break.
  std::string normalised;
  for (size_t i = 0; i < clean.size(); ++i) {
    if (clean[i] == '\r') {
      normalised.push_back('\n');
      if (i + 1 < clean.size() && clean[i + 1] == '\n') ++i;
    } else {
      normalised.push_back(clean[i]);
    }
  }
  while (!normalised.empty() && normalised.back() == '\n') {
    normalised.pop_back();
  }
  if (normalised.empty()) {
    absl::StrAppend(out, "  ", key, ": \"\"\n");
    return;
  }
  const std::vector<absl::string_view> lines = absl::StrSplit(normalised, '\n');
  // The content's indentation is taken from its first non-empty line unless
  // it is given: it must be given when that line starts with a space.
  bool indicator = false;
  for (absl::string_view line : lines) {
    if (line.empty()) continue;
    indicator = line[0] == ' ';
    break;
  }
  absl::StrAppend(out, "  ", key, ": |", indicator ? "2" : "", "-\n");
  for (absl::string_view line : lines) {
    if (line.empty()) {
      out->push_back('\n');
    } else {
      absl::StrAppend(out, "    ", line, "\n");
    }
  }
}

void AppendTapDiagnostics(const CaseResult& r, std::string* out) {
  absl::StrAppend(out, "  ---\n");
  absl::StrAppend(
      out, "  message: ", YamlScalar(r.message, kMaxReportFieldBytes), "\n");
  absl::StrAppend(out, "  severity: ",
                  r.outcome == CaseOutcome::kError ? "error" : "fail", "\n");
  std::vector<std::string> rules;
  for (const std::string& rule : CleanRules(r.rules, AnyChar)) {
    rules.push_back(YamlScalar(rule, kMaxReportFieldBytes));
  }
  absl::StrAppend(out, "  rules: [", absl::StrJoin(rules, ", "), "]\n");
  if (!r.file.empty()) {
    absl::StrAppend(out, "  file: ", YamlScalar(r.file, kMaxReportFieldBytes),
                    "\n");
  }
  if (!r.classname.empty()) {
    absl::StrAppend(out, "  classname: ",
                    YamlScalar(r.classname, kMaxReportFieldBytes), "\n");
  }
  double ms = r.time_s * 1000;
  if (!std::isfinite(ms) || ms < 0) ms = 0;
  absl::StrAppend(out, "  duration_ms: ", absl::StrFormat("%.0f", ms), "\n");
  AppendYamlBlock("details", r.details, out);
  absl::StrAppend(out, "  ...\n");
}

}  // namespace

absl::string_view CaseOutcomeName(CaseOutcome outcome) {
  switch (outcome) {
    case CaseOutcome::kPassed:
      return "passed";
    case CaseOutcome::kFailed:
      return "failed";
    case CaseOutcome::kSkipped:
      return "skipped";
    case CaseOutcome::kError:
      return "error";
  }
  return "error";
}

std::string JunitXml(absl::string_view suite_name,
                     std::span<const CaseResult> cases) {
  const Counts counts = CountOf(cases);
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites";
  AppendSuiteAttributes(suite_name, counts, &out);
  absl::StrAppend(&out, ">\n  <testsuite");
  AppendSuiteAttributes(suite_name, counts, &out);
  if (cases.empty()) {
    absl::StrAppend(&out, "/>\n</testsuites>\n");
    return out;
  }
  absl::StrAppend(&out, ">\n");
  for (const CaseResult& r : cases) AppendTestcase(r, &out);
  absl::StrAppend(&out, "  </testsuite>\n</testsuites>\n");
  return out;
}

std::string TapReport(std::span<const CaseResult> cases) {
  std::string out = absl::StrCat("TAP version 13\n1..", cases.size(), "\n");
  size_t n = 0;
  for (const CaseResult& r : cases) {
    ++n;
    const std::string name = TapText(r.name);
    switch (r.outcome) {
      case CaseOutcome::kPassed:
        absl::StrAppend(&out, "ok ", n, " - ", name, "\n");
        break;
      case CaseOutcome::kSkipped: {
        const std::string reason = TapText(r.message);
        absl::StrAppend(&out, "ok ", n, " - ", name, " # SKIP",
                        reason.empty() ? "" : " ", reason, "\n");
        break;
      }
      case CaseOutcome::kFailed:
      case CaseOutcome::kError:
        absl::StrAppend(&out, "not ok ", n, " - ", name, "\n");
        AppendTapDiagnostics(r, &out);
        break;
    }
  }
  return out;
}

}  // namespace proctor::scenario
