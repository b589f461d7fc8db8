#include "runtime/model/semver.h"

#include <charconv>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace proctor {
namespace {

std::optional<uint64_t> ParseNumber(absl::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;  // no leading zeros
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

bool IsWildcard(absl::string_view s) {
  return s == "*" || s == "x" || s == "X";
}

// A possibly partial version: "1", "1.2", "1.2.3", "1.*", "*".
struct Partial {
  int parts = 0;  // how many of major/minor/patch were given (0 = "*")
  SemVer v;
};

absl::StatusOr<Partial> ParsePartial(absl::string_view text,
                                     absl::string_view whole) {
  Partial p;
  std::vector<absl::string_view> pieces = absl::StrSplit(text, '.');
  if (pieces.size() > 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("version requirement \"", whole,
                     "\": too many components in \"", text, "\""));
  }
  bool wild = false;
  uint64_t* fields[3] = {&p.v.major, &p.v.minor, &p.v.patch};
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (IsWildcard(pieces[i])) {
      wild = true;
      continue;
    }
    if (wild) {
      return absl::InvalidArgumentError(
          absl::StrCat("version requirement \"", whole,
                       "\": a number follows a wildcard in \"", text, "\""));
    }
    auto n = ParseNumber(pieces[i]);
    if (!n) {
      return absl::InvalidArgumentError(
          absl::StrCat("version requirement \"", whole, "\": \"", pieces[i],
                       "\" is not a version number"));
    }
    *fields[i] = *n;
    p.parts = static_cast<int>(i) + 1;
  }
  return p;
}

SemVer Bump(const SemVer& v, int part) {
  if (part == 0) return SemVer{v.major + 1, 0, 0};
  if (part == 1) return SemVer{v.major, v.minor + 1, 0};
  return SemVer{v.major, v.minor, v.patch + 1};
}

}  // namespace

absl::StatusOr<SemVer> ParseSemVer(absl::string_view text) {
  std::vector<absl::string_view> pieces = absl::StrSplit(text, '.');
  if (pieces.size() != 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a MAJOR.MINOR.PATCH version"));
  }
  SemVer v;
  uint64_t* fields[3] = {&v.major, &v.minor, &v.patch};
  for (int i = 0; i < 3; ++i) {
    auto n = ParseNumber(pieces[i]);
    if (!n) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", text, "\" is not a MAJOR.MINOR.PATCH version"));
    }
    *fields[i] = *n;
  }
  return v;
}

std::string FormatSemVer(const SemVer& v) {
  return absl::StrCat(v.major, ".", v.minor, ".", v.patch);
}

absl::StatusOr<VersionReq> VersionReq::Parse(absl::string_view text) {
  if (text.size() > kMaxLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("version requirement is ", text.size(), " bytes; at most ",
                     kMaxLength, " are allowed"));
  }
  VersionReq req;
  req.text_ = std::string(text);
  absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  if (trimmed.empty()) {
    return absl::InvalidArgumentError("version requirement is empty");
  }
  for (absl::string_view raw : absl::StrSplit(trimmed, ',')) {
    absl::string_view c = absl::StripAsciiWhitespace(raw);
    absl::string_view op;
    for (absl::string_view candidate : {">=", "<=", "=", ">", "<", "~", "^"}) {
      if (c.substr(0, candidate.size()) == candidate) {
        op = candidate;
        break;
      }
    }
    c = absl::StripAsciiWhitespace(c.substr(op.size()));
    if (c.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "version requirement \"", text, "\": a comparator has no version"));
    }
    auto parsed = ParsePartial(c, text);
    if (!parsed.ok()) return parsed.status();
    const Partial& p = *parsed;
    Range r;
    const SemVer& v = p.v;
    if (p.parts == 0) {  // "*": any version, whatever the operator
      if (op != "" && op != "=" && op != ">=" && op != "^" && op != "~") {
        return absl::InvalidArgumentError(absl::StrCat("version requirement \"",
                                                       text, "\": \"", op,
                                                       "*\" matches nothing"));
      }
      req.ranges_.push_back(r);
      continue;
    }
    // The last given component, counted from 0.
    const int last = p.parts - 1;
    auto exact = [&] {
      r.low = v;
      r.has_high = true;
      r.high = p.parts == 3 ? Bump(v, 2) : Bump(v, last);
    };
    if (op == "=") {
      exact();
    } else if (op == ">") {
      r.low = Bump(v, last);
    } else if (op == ">=") {
      r.low = v;
    } else if (op == "<") {
      r.has_high = true;
      r.high = v;
    } else if (op == "<=") {
      r.has_high = true;
      r.high = Bump(v, last);
    } else if (op == "~") {
      r.low = v;
      r.has_high = true;
      r.high = p.parts == 1 ? Bump(v, 0) : Bump(v, 1);
    } else {  // caret, explicit or implied
      r.low = v;
      r.has_high = true;
      if (v.major > 0 || p.parts == 1) {
        r.high = Bump(v, 0);
      } else if (v.minor > 0 || p.parts == 2) {
        r.high = Bump(v, 1);
      } else {
        r.high = Bump(v, 2);
      }
    }
    req.ranges_.push_back(r);
  }
  return req;
}

bool VersionReq::Matches(const SemVer& v) const {
  for (const Range& r : ranges_) {
    if (v < r.low) return false;
    if (r.has_high && !(v < r.high)) return false;
  }
  return true;
}

}  // namespace proctor
