#include "runtime/model/semver.h"

#include "gtest/gtest.h"

namespace proctor {
namespace {

bool Matches(const char* req, const char* version) {
  auto r = VersionReq::Parse(req);
  EXPECT_TRUE(r.ok()) << req << ": " << r.status();
  auto v = ParseSemVer(version);
  EXPECT_TRUE(v.ok()) << version;
  return r.ok() && v.ok() && r->Matches(*v);
}

TEST(SemVerTest, VM2_ParsesVersions) {
  auto v = ParseSemVer("1.2.3");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(FormatSemVer(*v), "1.2.3");
  for (const char* bad :
       {"", "1", "1.2", "1.2.3.4", "a.b.c", "01.0.0", "1..0"}) {
    EXPECT_FALSE(ParseSemVer(bad).ok()) << bad;
  }
}

TEST(SemVerTest, VM2_CaretIsTheDefault) {
  EXPECT_TRUE(Matches("1.0.0", "1.0.0"));
  EXPECT_TRUE(Matches("1.0", "1.9.0"));
  EXPECT_FALSE(Matches("1.0.0", "2.0.0"));
  EXPECT_TRUE(Matches("^0.2.3", "0.2.9"));
  EXPECT_FALSE(Matches("^0.2.3", "0.3.0"));
  EXPECT_TRUE(Matches("^0.0.3", "0.0.3"));
  EXPECT_FALSE(Matches("^0.0.3", "0.0.4"));
  EXPECT_TRUE(Matches("^0.0", "0.0.9"));
  EXPECT_TRUE(Matches("^1", "1.5.0"));
}

TEST(SemVerTest, VM2_Operators) {
  EXPECT_TRUE(Matches("=1.0.0", "1.0.0"));
  EXPECT_FALSE(Matches("=1.0.0", "1.0.1"));
  EXPECT_TRUE(Matches("=1.0", "1.0.7"));
  EXPECT_TRUE(Matches(">1.0.0", "1.0.1"));
  EXPECT_FALSE(Matches(">1.0", "1.0.9"));
  EXPECT_TRUE(Matches(">=1.0.0, <2", "1.99.0"));
  EXPECT_FALSE(Matches(">=1.0.0, <2", "2.0.0"));
  EXPECT_TRUE(Matches("<=1.0", "1.0.5"));
  EXPECT_FALSE(Matches("<=1.0", "1.1.0"));
  EXPECT_TRUE(Matches("~1.0", "1.0.3"));
  EXPECT_FALSE(Matches("~1.0", "1.1.0"));
  EXPECT_TRUE(Matches("~1", "1.4.0"));
  EXPECT_TRUE(Matches("*", "9.9.9"));
  EXPECT_TRUE(Matches("1.*", "1.3.0"));
  EXPECT_FALSE(Matches("1.*", "2.0.0"));
  EXPECT_TRUE(Matches("1.0.x", "1.0.4"));
}

TEST(SemVerTest, VM2_RejectsMalformedRequirements) {
  for (const char* bad : {"", "  ", ">=", "1.2.3.4", "abc", "1.*.3", ">=1,",
                          "<*", "1.0.0-alpha"}) {
    EXPECT_FALSE(VersionReq::Parse(bad).ok()) << bad;
  }
  EXPECT_FALSE(VersionReq::Parse(std::string(300, '1')).ok());
}

}  // namespace
}  // namespace proctor
