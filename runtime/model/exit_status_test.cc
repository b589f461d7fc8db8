#include "runtime/model/exit_status.h"

#include "gtest/gtest.h"

namespace proctor {
namespace {

TEST(ExitStatusTest, CN2_SuccessOnlyForExitZero) {
  EXPECT_TRUE(ExitStatus::Exited(0).success());
  EXPECT_FALSE(ExitStatus::Exited(1).success());
  EXPECT_FALSE(ExitStatus::Signalled(0).success());
  EXPECT_FALSE(ExitStatus::Signalled(kSigKill).success());
}

TEST(ExitStatusTest, CN2_PrintedForm) {
  EXPECT_EQ(FormatExitStatus(ExitStatus::Exited(7)), "Exit(7)");
  EXPECT_EQ(FormatExitStatus(ExitStatus::Exited(-1)), "Exit(-1)");
  EXPECT_EQ(FormatExitStatus(ExitStatus::Signalled(9)), "Signalled(SIGKILL)");
  EXPECT_EQ(FormatExitStatus(ExitStatus::Signalled(15)), "Signalled(SIGTERM)");
  EXPECT_EQ(FormatExitStatus(ExitStatus::Signalled(31)), "Signalled(SIGSYS)");
}

TEST(ExitStatusTest, CN2_SignalWithoutNamePrintsNumber) {
  EXPECT_EQ(FormatExitStatus(ExitStatus::Signalled(77)), "Signalled(77)");
  EXPECT_EQ(FormatExitStatus(ExitStatus::Signalled(0)), "Signalled(0)");
  EXPECT_EQ(FormatExitStatus(ExitStatus::Signalled(34)), "Signalled(34)");
}

TEST(ExitStatusTest, CN2_ParseRoundTrips) {
  for (ExitStatus s :
       {ExitStatus::Exited(0), ExitStatus::Exited(255), ExitStatus::Exited(-3),
        ExitStatus::Signalled(9), ExitStatus::Signalled(64)}) {
    auto parsed = ParseExitStatus(FormatExitStatus(s));
    ASSERT_TRUE(parsed.has_value()) << FormatExitStatus(s);
    EXPECT_EQ(*parsed, s);
  }
}

TEST(ExitStatusTest, CN2_ParseRejectsGarbage) {
  for (const char* bad : {"", "Exit", "Exit()", "Exit(x)", "Exit(1", "exit(1)",
                          "Signalled(SIGFOO)", "Signalled(-1)", "Exit(1)x"}) {
    EXPECT_FALSE(ParseExitStatus(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace proctor
