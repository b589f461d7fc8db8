#include "guest/protocol/script.h"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "gtest/gtest.h"
#include "guest/protocol/wire.h"

namespace proctor::guest {
namespace {

std::vector<Step> Parsed(std::string_view text) {
  auto parsed = ParseScript(text);
  EXPECT_TRUE(std::holds_alternative<std::vector<Step>>(parsed))
      << std::get<std::string>(parsed);
  return std::holds_alternative<std::vector<Step>>(parsed)
             ? std::get<std::vector<Step>>(parsed)
             : std::vector<Step>{};
}

std::string ErrorOf(std::string_view text) {
  auto parsed = ParseScript(text);
  EXPECT_TRUE(std::holds_alternative<std::string>(parsed)) << text;
  return std::holds_alternative<std::string>(parsed)
             ? std::get<std::string>(parsed)
             : "parsed";
}

TEST(ScriptTest, EveryStepParsesAndFormatsBack) {
  const std::string text =
      "started,ready,finished:0,exit:255,sleep:86400000,hang,panic,reboot,"
      "poweroff,failure:HANGUP,failure-hex:48410a,fail:MICRODROID_PAYLOAD_"
      "HAS_CHANGED,fail-hex:00,ack-delay:250,echo,send:00ff,send:";
  const std::vector<Step> want = {
      {StepKind::kStarted, 0, ""},
      {StepKind::kReady, 0, ""},
      {StepKind::kFinished, 0, ""},
      {StepKind::kExit, 255, ""},
      {StepKind::kSleep, 86400000, ""},
      {StepKind::kHang, 0, ""},
      {StepKind::kPanic, 0, ""},
      {StepKind::kReboot, 0, ""},
      {StepKind::kPowerOff, 0, ""},
      {StepKind::kFailure, 0, "HANGUP"},
      {StepKind::kFailure, 0, "HA\n"},
      {StepKind::kFail, 0, "MICRODROID_PAYLOAD_HAS_CHANGED"},
      {StepKind::kFail, 0, std::string(1, '\0')},
      {StepKind::kAckDelay, 250, ""},
      {StepKind::kEcho, 0, ""},
      {StepKind::kSend, 0, "\x00\xff"},
      {StepKind::kSend, 0, ""},
  };
  // std::string("\x00\xff") would stop at the NUL.
  std::vector<Step> expected = want;
  expected[15].bytes = std::string("\x00\xff", 2);
  EXPECT_EQ(Parsed(text), expected);
  EXPECT_EQ(FormatScript(expected), text);
}

TEST(ScriptTest, HexThatSpellsAReasonFormatsAsTheReason) {
  const std::vector<Step> steps = Parsed("fail-hex:48414e475550");
  EXPECT_EQ(FormatScript(steps), "fail:HANGUP");
  EXPECT_EQ(Parsed(FormatScript(steps)), steps);
}

TEST(ScriptTest, EmptyScriptHasNoSteps) {
  EXPECT_TRUE(Parsed("").empty());
  EXPECT_EQ(FormatScript({}), "");
}

TEST(ScriptTest, Errors) {
  EXPECT_EQ(ErrorOf("started,,ready"), "step 2 (\"\"): empty step");
  EXPECT_EQ(ErrorOf("started,"), "step 2 (\"\"): empty step");
  EXPECT_EQ(ErrorOf("jump"), "step 1 (\"jump\"): unknown step");
  EXPECT_EQ(ErrorOf("ready:1"),
            "step 1 (\"ready:1\"): ready takes no argument");
  EXPECT_EQ(ErrorOf("sleep"),
            "step 1 (\"sleep\"): sleep needs an argument (sleep:...)");
  EXPECT_EQ(ErrorOf("sleep:86400001"),
            "step 1 (\"sleep:86400001\"): \"86400001\" is not a whole number "
            "in 0..86400000 without leading zeros");
  EXPECT_EQ(ErrorOf("exit:256"),
            "step 1 (\"exit:256\"): \"256\" is not a whole number in 0..255 "
            "without leading zeros");
  EXPECT_EQ(ErrorOf("exit:07"),
            "step 1 (\"exit:07\"): \"07\" is not a whole number in 0..255 "
            "without leading zeros");
  EXPECT_EQ(ErrorOf("fail:has space"),
            "step 1 (\"fail:has space\"): \"has space\" is not 1..8192 "
            "characters of A-Z a-z 0-9 _ . - (use the -hex form for other "
            "bytes)");
  EXPECT_EQ(ErrorOf("fail:"),
            "step 1 (\"fail:\"): \"\" is not 1..8192 characters of A-Z a-z "
            "0-9 _ . - (use the -hex form for other bytes)");
  EXPECT_EQ(ErrorOf("send:abc"),
            "step 1 (\"send:abc\"): wants an even number of hex digits, at "
            "most 65536 bytes; got 3 digits");
  EXPECT_EQ(ErrorOf("send:AB"),
            "step 1 (\"send:AB\"): \"A\" is not a lower-case hex digit");
  EXPECT_EQ(ErrorOf("failure-hex:" + std::string(2 * 8193, '0')),
            "step 1 (\"failure-hex:00000000000000000000...\"): wants an even "
            "number of hex digits, at most 8192 bytes; got 16386 digits");
}

TEST(ScriptTest, VmmExitTakesAnOddCodeAndFormatsBack) {
  for (uint64_t code : {1u, 7u, 255u}) {
    const std::string text = "started,vmm-exit:" + std::to_string(code);
    const std::vector<Step> steps = Parsed(text);
    EXPECT_EQ(steps, (std::vector<Step>{{StepKind::kStarted, 0, ""},
                                        {StepKind::kVmmExit, code, ""}}));
    EXPECT_EQ(FormatScript(steps), text);
    EXPECT_EQ(Parsed(FormatScript(steps)), steps);
  }
}

TEST(ScriptTest, VmmExitRefusesEvenZeroAndOutOfRangeCodes) {
  for (const char* arg : {"0", "2", "256", "-1", "", "x", "07", "7x", "+7",
                          "18446744073709551617"}) {
    const std::string item = std::string("vmm-exit:") + arg;
    EXPECT_EQ(ErrorOf("started," + item),
              "step 2 (\"" + item + "\"): \"" + arg +
                  "\" is not an odd whole number in 1..255 without leading "
                  "zeros (isa-debug-exit makes only odd exit codes)");
  }
  EXPECT_EQ(ErrorOf("vmm-exit"),
            "step 1 (\"vmm-exit\"): vmm-exit needs an argument "
            "(vmm-exit:...)");
}

TEST(ScriptTest, AtMost64Steps) {
  std::string text = "ready";
  for (size_t i = 1; i < kMaxScriptSteps; ++i) text += ",ready";
  EXPECT_EQ(Parsed(text).size(), kMaxScriptSteps);
  EXPECT_EQ(ErrorOf(text + ",ready"), "more than 64 steps in one script");
}

}  // namespace
}  // namespace proctor::guest
