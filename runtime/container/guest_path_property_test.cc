// Property test of guest path resolution (issue 5): CN-8 of docs/spec.md and
// its project additions, with a model written from the rule text. Paths are
// built from pieces that matter to the rule ('/', '..', '.', '', NUL, valid
// and invalid UTF-8) and sometimes from arbitrary bytes; the model decides
// accept or reject, the error, and the resolved path:
//   - longer than 4096 bytes: rejected (project bound on guest paths);
//   - not strictly valid UTF-8: rejected ("non-UTF-8 is rejected");
//   - a NUL byte: rejected (project addition);
//   - any `..` component: rejected, "escapes the container rootfs";
//   - otherwise made relative (leading '/'s stripped) under the rootfs; the
//     empty path (nothing left) means the rootfs itself.
// The rule does not say which error wins when a path breaks several rules,
// so the model accepts any of the broken rules' errors then, and requires
// the exact one when a single rule is broken.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"  // before rapidcheck/gtest.h, which needs it
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "runtime/container/container_instance.h"
#include "runtime/container/guest_path.h"
#include "runtime/model/describe.h"
#include "runtime/model/ids.h"
#include "runtime/model/input.h"

namespace proctor {
namespace {

// ---- The model ----

// RFC 3629 by decoding: the lead byte gives the length, every further byte
// is 10xxxxxx, and the code point must need exactly that length (no
// overlong form), must not be a surrogate and must not exceed U+10FFFF.
bool ModelIsUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<uint8_t>(s[i]);
    int length = 0;
    uint32_t cp = 0;
    if ((b & 0x80) == 0x00) {
      length = 1;
      cp = b;
    } else if ((b & 0xE0) == 0xC0) {
      length = 2;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      length = 3;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      length = 4;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (s.size() - i < static_cast<size_t>(length)) return false;
    for (int k = 1; k < length; ++k) {
      const auto c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[length]) return false;    // overlong
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;  // surrogate
    if (cp > 0x10FFFF) return false;                 // beyond Unicode
    i += length;
  }
  return true;
}

struct Verdict {
  // Each broken rule's error: a piece of the message it must contain.
  std::vector<std::string> errors;
  std::string resolved;  // meaningful when errors is empty
};

Verdict ModelResolve(absl::string_view rootfs, absl::string_view path) {
  Verdict v;
  if (path.size() > 4096) v.errors.push_back("longer than 4096 bytes");
  if (!ModelIsUtf8(path)) v.errors.push_back("not valid UTF-8");
  if (absl::StrContains(path, absl::string_view("\0", 1))) {
    v.errors.push_back("NUL");
  }
  // Components are what lies between '/'s.
  size_t begin = 0;
  while (begin <= path.size()) {
    size_t end = path.find('/', begin);
    if (end == absl::string_view::npos) end = path.size();
    if (path.substr(begin, end - begin) == "..") {
      v.errors.push_back("escapes the container rootfs");
      break;
    }
    begin = end + 1;
  }
  if (!v.errors.empty()) return v;
  absl::string_view relative = path;
  while (absl::ConsumePrefix(&relative, "/")) {
  }
  v.resolved = relative.empty() ? std::string(rootfs)
                                : absl::StrCat(rootfs, "/", relative);
  return v;
}

// ---- Generated paths ----

rc::Gen<std::string> Piece() {
  static const std::vector<std::string> kStructure = {
      "/", "//", "..", ".", "", "a", "etc", "b.c", "...", "..a", "a..", ". ."};
  static const std::vector<std::string> kValidUtf8 = {
      "\xc3\xa9",          // U+00E9
      "\xe2\x82\xac",      // U+20AC
      "\xf0\x9f\x98\x80",  // U+1F600
      "\xef\xbf\xbf",      // U+FFFF (a noncharacter, still valid UTF-8)
      "\xf4\x8f\xbf\xbf",  // U+10FFFF, the last code point
  };
  static const std::vector<std::string> kInvalidUtf8 = {
      "\xff",              // never valid
      "\x80",              // a lone continuation byte
      "\xc0\xaf",          // overlong '/'
      "\xe0\x80\xaf",      // overlong '/'
      "\xed\xa0\x80",      // a surrogate
      "\xf4\x90\x80\x80",  // beyond U+10FFFF
      "\xe2\x82",          // truncated
      "\xc2",              // truncated
  };
  return rc::gen::weightedOneOf<std::string>({
      {40, rc::gen::elementOf(kStructure)},
      {4, rc::gen::elementOf(kValidUtf8)},
      {1, rc::gen::just(std::string(1, '\0'))},
      {1, rc::gen::elementOf(kInvalidUtf8)},
      {1, rc::gen::map(
              rc::gen::inRange<int>(0, 256),
              [](int b) { return std::string(1, static_cast<char>(b)); })},
  });
}

rc::Gen<std::string> GuestPath() {
  return rc::gen::weightedOneOf<std::string>({
      // Pieces run together: components form by chance.
      {6, rc::gen::map(rc::gen::container<std::vector<std::string>>(Piece()),
                       [](const std::vector<std::string>& pieces) {
                         std::string path;
                         for (const std::string& p : pieces) path += p;
                         return path;
                       })},
      // Pieces as components: "..", "." and "" stand alone.
      {6, rc::gen::apply(
              [](const std::string& lead,
                 const std::vector<std::string>& components) {
                return lead + absl::StrJoin(components, "/");
              },
              rc::gen::element<std::string>("", "/", "//"),
              rc::gen::container<std::vector<std::string>>(Piece()))},
      // Around the 4096-byte bound.
      {1, rc::gen::apply(
              [](const std::string& head, int length) {
                std::string path = head;
                path.resize(static_cast<size_t>(length), 'x');
                return path;
              },
              rc::gen::element<std::string>("/", "a/", "../", "\xff"),
              rc::gen::inRange(4090, 4100))},
      {1, rc::gen::string<std::string>()},
  });
}

std::string Shown(absl::string_view path) {
  // The text form escapes bytes and cuts long paths.
  return DescribeInput(input::CopyFile{RequestId{0}, ContainerId{0},
                                       input::CopyDirection::kIn,
                                       std::string(path)});
}

RC_GTEST_PROP(GuestPathProperty, CN8_AcceptsRejectsAndResolvesAsTheRuleSays,
              ()) {
  const std::string rootfs = ContainerRootfs(
      ContainerId{*rc::gen::element<uint64_t>(1, 42, 18446744073709551615u)});
  const std::string path = *GuestPath();
  RC_LOG() << Shown(path) << "\n";
  const Verdict verdict = ModelResolve(rootfs, path);
  const absl::StatusOr<std::string> resolved = ResolveGuestPath(rootfs, path);

  if (verdict.errors.empty()) {
    RC_TAG("accepted");
    RC_ASSERT(resolved.ok());
    RC_ASSERT(*resolved == verdict.resolved);
    return;
  }
  RC_TAG(verdict.errors.size() == 1 ? verdict.errors[0] : "several errors");
  RC_ASSERT(!resolved.ok());
  RC_ASSERT(resolved.status().code() == absl::StatusCode::kInvalidArgument);
  const absl::string_view message = resolved.status().message();
  RC_ASSERT(absl::StartsWith(message, "CN-8"));
  bool names_a_broken_rule = false;
  for (const std::string& error : verdict.errors) {
    names_a_broken_rule |= absl::StrContains(message, error);
  }
  RC_ASSERT(names_a_broken_rule);
}

}  // namespace
}  // namespace proctor
