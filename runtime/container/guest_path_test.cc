#include "runtime/container/guest_path.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace proctor {
namespace {

constexpr absl::string_view kRootfs = "/run/proctor/containers/7/rootfs";

std::string Resolved(absl::string_view path) {
  absl::StatusOr<std::string> resolved = ResolveGuestPath(kRootfs, path);
  EXPECT_TRUE(resolved.ok()) << resolved.status();
  return resolved.ok() ? *resolved : std::string();
}

void ExpectRejected(absl::string_view path, absl::string_view message) {
  absl::StatusOr<std::string> resolved = ResolveGuestPath(kRootfs, path);
  ASSERT_FALSE(resolved.ok()) << *resolved;
  EXPECT_EQ(resolved.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(resolved.status().message(), message);
}

TEST(GuestPathTest, CN8_LeadingSlashesAreStripped) {
  EXPECT_EQ(Resolved("/etc/hosts"),
            "/run/proctor/containers/7/rootfs/etc/hosts");
  EXPECT_EQ(Resolved("///etc/hosts"),
            "/run/proctor/containers/7/rootfs/etc/hosts");
  EXPECT_EQ(Resolved("etc/hosts"),
            "/run/proctor/containers/7/rootfs/etc/hosts");
}

TEST(GuestPathTest, CN8_EmptyPathIsTheRootfs) {
  EXPECT_EQ(Resolved(""), kRootfs);
  EXPECT_EQ(Resolved("/"), kRootfs);
  EXPECT_EQ(Resolved("////"), kRootfs);
}

TEST(GuestPathTest, CN8_DotDotComponentEscapesTheRootfs) {
  ExpectRejected("..", "CN-8: .. escapes the container rootfs");
  ExpectRejected("/../etc/shadow",
                 "CN-8: /../etc/shadow escapes the container rootfs");
  ExpectRejected("a/b/../../..",
                 "CN-8: a/b/../../.. escapes the container rootfs");
  ExpectRejected("a/../b", "CN-8: a/../b escapes the container rootfs");
  ExpectRejected("a//..//b", "CN-8: a//..//b escapes the container rootfs");
}

TEST(GuestPathTest, CN8_DotsThatAreNotAComponentAreFine) {
  EXPECT_EQ(Resolved("a/..b/c.."),
            "/run/proctor/containers/7/rootfs/a/..b/c..");
  EXPECT_EQ(Resolved("./a/."), "/run/proctor/containers/7/rootfs/./a/.");
  EXPECT_EQ(Resolved("..."), "/run/proctor/containers/7/rootfs/...");
}

TEST(GuestPathTest, CN8_ValidUtf8IsAccepted) {
  EXPECT_EQ(Resolved("/d\xC3\xA9j\xC3\xA0/\xE2\x82\xAC/\xF0\x9F\x98\x80"),
            "/run/proctor/containers/7/rootfs/d\xC3\xA9j\xC3\xA0/"
            "\xE2\x82\xAC/\xF0\x9F\x98\x80");
  // The edges of the valid ranges.
  EXPECT_TRUE(IsStrictlyValidUtf8("\xC2\x80"));          // U+0080
  EXPECT_TRUE(IsStrictlyValidUtf8("\xE0\xA0\x80"));      // U+0800
  EXPECT_TRUE(IsStrictlyValidUtf8("\xED\x9F\xBF"));      // U+D7FF
  EXPECT_TRUE(IsStrictlyValidUtf8("\xEE\x80\x80"));      // U+E000
  EXPECT_TRUE(IsStrictlyValidUtf8("\xF0\x90\x80\x80"));  // U+10000
  EXPECT_TRUE(IsStrictlyValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST(GuestPathTest, CN8_NonUtf8IsRejected) {
  constexpr absl::string_view kMessage = "CN-8: guest path is not valid UTF-8";
  ExpectRejected("/tmp/\xFF", kMessage);
  ExpectRejected("\x80", kMessage);                  // lone continuation
  ExpectRejected("\xC3", kMessage);                  // truncated
  ExpectRejected("\xE2\x82", kMessage);              // truncated
  ExpectRejected("\xC3\x28", kMessage);              // bad continuation
  ExpectRejected("\xC0\xAF", kMessage);              // overlong '/'
  ExpectRejected("\xC1\xBF", kMessage);              // overlong
  ExpectRejected("\xE0\x80\xAF", kMessage);          // overlong '/'
  ExpectRejected("\xF0\x80\x80\xAF", kMessage);      // overlong '/'
  ExpectRejected("\xED\xA0\x80", kMessage);          // surrogate U+D800
  ExpectRejected("\xED\xBF\xBF", kMessage);          // surrogate U+DFFF
  ExpectRejected("\xF4\x90\x80\x80", kMessage);      // U+110000
  ExpectRejected("\xF5\x80\x80\x80", kMessage);      // beyond F4
  ExpectRejected("\xF8\x88\x80\x80\x80", kMessage);  // 5-byte form
}

TEST(GuestPathTest, CN8_NonUtf8IsRejectedBeforeTheEscapeCheck) {
  ExpectRejected("../\xFF", "CN-8: guest path is not valid UTF-8");
}

TEST(GuestPathTest, CN8_NulByteIsRejected) {
  ExpectRejected(absl::string_view("etc\0/passwd", 11),
                 "CN-8: guest path contains a NUL byte");
}

TEST(GuestPathTest, CN8_PathLengthIsBounded) {
  const std::string longest(kMaxGuestPathBytes, 'a');
  EXPECT_EQ(Resolved(longest), absl::StrCat(kRootfs, "/", longest));
  ExpectRejected(std::string(kMaxGuestPathBytes + 1, 'a'),
                 "CN-8: guest path is longer than 4096 bytes");
}

}  // namespace
}  // namespace proctor
