#include "guest/protocol/decoder.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "guest/protocol/wire.h"

namespace proctor::guest {
namespace {

std::string Line(const Report& report) {
  absl::StatusOr<std::string> line = EncodeReportLine(report);
  EXPECT_TRUE(line.ok()) << line.status();
  return line.ok() ? *line : "";
}

std::string WithCrc(absl::string_view body) {
  char crc[9];
  std::snprintf(crc, sizeof(crc), "%08x",
                Crc32(std::string_view(body.data(), body.size())));
  return std::string(body) + " crc=" + crc + "\n";
}

const Hello kHello{"0.1.0", AgentMode::kInit, "started,ready"};

std::vector<DecodeEvent> DecodeAll(absl::string_view stream) {
  ReportDecoder decoder;
  std::vector<DecodeEvent> events;
  decoder.Feed(stream, &events);
  decoder.Finish(&events);
  return events;
}

const DecodeError& ErrorAt(const std::vector<DecodeEvent>& events, size_t i) {
  static const DecodeError kNone{WireErrorKind::kGarbage, 0, 0, false, "none"};
  if (i >= events.size() || !std::holds_alternative<DecodeError>(events[i])) {
    ADD_FAILURE() << "event " << i << " is not an error";
    return kNone;
  }
  return std::get<DecodeError>(events[i]);
}

TEST(ReportDecoderTest, EveryReportTypeRoundTrips) {
  const std::vector<Report> reports = {
      kHello,
      Started{},
      Ready{},
      Finished{42},
      Ack{9},
      GuestMessage{1, std::string("\0\n\xff", 3)},
      GuestMessage{2, std::string(kMaxMessageBytes, 'm')},
      FailureWritten{"MICRODROID_UNKNOWN_RUNTIME_ERROR\n"},
      ActionReport{AgentAction::kReboot},
      AgentError{"too-many-pending", "message 65 refused"},
  };
  std::string stream;
  std::vector<DecodeEvent> want;
  for (const Report& report : reports) {
    const std::string line = Line(report);
    want.push_back(DecodedReport{stream.size(), line.size(), report});
    stream += line;
  }
  EXPECT_EQ(DecodeAll(stream), want);
}

// The same stream fed in two or three chunks split at every pair of offsets
// decodes to exactly the same events.
TEST(ReportDecoderTest, ChunkedAtEverySplitGivesTheSameEvents) {
  const std::string stream = "\x01garbage\n" + Line(kHello) + Line(Started{}) +
                             "PROCTOR/1 bad\n" + Line(GuestMessage{3, "hi"}) +
                             Line(Ready{}) + Line(Finished{0}) + "PROCTOR/1 ha";
  const std::vector<DecodeEvent> whole = DecodeAll(stream);
  ASSERT_EQ(whole.size(), 8u);
  for (size_t i = 0; i <= stream.size(); ++i) {
    for (size_t j = i; j <= stream.size(); j += 7) {
      ReportDecoder decoder;
      std::vector<DecodeEvent> events;
      const absl::string_view s = stream;
      decoder.Feed(s.substr(0, i), &events);
      decoder.Feed(s.substr(i, j - i), &events);
      decoder.Feed(s.substr(j), &events);
      decoder.Finish(&events);
      ASSERT_EQ(events, whole) << "split at " << i << " and " << j;
    }
  }
  // Byte by byte.
  ReportDecoder decoder;
  std::vector<DecodeEvent> events;
  for (char c : stream) decoder.Feed(absl::string_view(&c, 1), &events);
  decoder.Finish(&events);
  EXPECT_EQ(events, whole);
}

TEST(ReportDecoderTest, GarbageBeforeHelloIsToleratedAndMarked) {
  constexpr char kNoise[] = "\xff\xfe\x00SeaBIOS\r\nPROCTOR/1 sta\n";
  const std::string stream =
      std::string(kNoise, sizeof(kNoise) - 1) + Line(kHello) + Line(Started{});
  const std::vector<DecodeEvent> events = DecodeAll(stream);
  ASSERT_EQ(events.size(), 4u);
  const DecodeError& first = ErrorAt(events, 0);
  EXPECT_EQ(first.kind, WireErrorKind::kGarbage);
  EXPECT_FALSE(first.after_hello);
  EXPECT_EQ(first.offset, 0u);
  EXPECT_EQ(first.what,
            "guest channel byte 0: not a protocol line (no \"PROCTOR/\" "
            "prefix): \"\\xff\\xfe\\x00SeaBIOS\\r\"");
  const DecodeError& second = ErrorAt(events, 1);
  EXPECT_EQ(second.kind, WireErrorKind::kBadChecksum);
  EXPECT_EQ(second.line_offset, 12u);
  EXPECT_FALSE(second.after_hello);
  EXPECT_EQ(std::get<DecodedReport>(events[2]).report, Report(kHello));
  EXPECT_EQ(std::get<DecodedReport>(events[2]).offset, 26u);
  EXPECT_EQ(std::get<DecodedReport>(events[3]).report, Report(Started{}));
}

TEST(ReportDecoderTest, ReportBeforeHelloIsAnError) {
  ReportDecoder decoder("vm 3 agent channel");
  std::vector<DecodeEvent> events;
  decoder.Feed(Line(Started{}) + Line(kHello) + Line(Started{}), &events);
  ASSERT_EQ(events.size(), 3u);
  const DecodeError& error = ErrorAt(events, 0);
  EXPECT_EQ(error.kind, WireErrorKind::kBeforeHello);
  EXPECT_EQ(error.what,
            "vm 3 agent channel byte 0: a \"started\" report before the "
            "agent's hello");
  EXPECT_EQ(error.ToStatus(),
            absl::InvalidArgumentError(
                "vm 3 agent channel byte 0: a \"started\" report before the "
                "agent's hello"));
  EXPECT_TRUE(std::holds_alternative<DecodedReport>(events[1]));
  EXPECT_TRUE(std::holds_alternative<DecodedReport>(events[2]));
  EXPECT_TRUE(decoder.hello_seen());
}

TEST(ReportDecoderTest, ErrorsAfterHelloCarryOffsetsAndDecodingGoesOn) {
  const std::string hello = Line(kHello);
  const std::string bad_hex = WithCrc("PROCTOR/1 msg id=4 data=0x");
  const std::string unknown = WithCrc("PROCTOR/1 launch");
  const std::string stream = hello + bad_hex + unknown + Line(Ready{});
  const std::vector<DecodeEvent> events = DecodeAll(stream);
  ASSERT_EQ(events.size(), 4u);
  const DecodeError& hex = ErrorAt(events, 1);
  EXPECT_EQ(hex.kind, WireErrorKind::kBadField);
  EXPECT_TRUE(hex.after_hello);
  EXPECT_EQ(hex.line_offset, hello.size());
  EXPECT_EQ(hex.offset, hello.size() + 25);
  EXPECT_EQ(hex.what,
            "guest channel byte " + std::to_string(hello.size() + 25) +
                ": msg field data: \"x\" is not a lower-case hex digit");
  const DecodeError& type = ErrorAt(events, 2);
  EXPECT_EQ(type.kind, WireErrorKind::kUnknownType);
  EXPECT_EQ(type.what, "guest channel byte " +
                           std::to_string(hello.size() + bad_hex.size() + 10) +
                           ": unknown report type \"launch\"");
  EXPECT_EQ(std::get<DecodedReport>(events[3]).report, Report(Ready{}));
}

TEST(ReportDecoderTest, OverlongLineIsReportedAtOnceWithBoundedMemory) {
  ReportDecoder decoder;
  std::vector<DecodeEvent> events;
  decoder.Feed(Line(kHello), &events);
  const std::string chunk(4096, 'z');
  size_t fed = 0;
  while (fed <= kMaxLineBytes + 8192) {
    decoder.Feed(chunk, &events);
    fed += chunk.size();
    EXPECT_LE(decoder.buffered_bytes(), kMaxLineBytes);
  }
  // Reported once, as soon as the bound passed, not at the newline.
  ASSERT_EQ(events.size(), 2u);
  const DecodeError& error = ErrorAt(events, 1);
  EXPECT_EQ(error.kind, WireErrorKind::kTooLong);
  const uint64_t start = Line(kHello).size();
  EXPECT_EQ(error.line_offset, start);
  EXPECT_EQ(error.offset, start + kMaxLineBytes);
  EXPECT_EQ(error.ToStatus(),
            absl::OutOfRangeError(
                "guest channel byte " + std::to_string(start + kMaxLineBytes) +
                ": line longer than 131328 bytes; skipped up to its end"));
  decoder.Feed("\n" + Line(Ready{}), &events);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(std::get<DecodedReport>(events[2]).report, Report(Ready{}));
}

TEST(ReportDecoderTest, OversizedMessageIsTooLarge) {
  const std::string body =
      "PROCTOR/1 msg id=1 data=" + std::string(2 * kMaxMessageBytes + 2, 'a');
  const std::vector<DecodeEvent> events =
      DecodeAll(Line(kHello) + WithCrc(body));
  const DecodeError& error = ErrorAt(events, 1);
  EXPECT_EQ(error.kind, WireErrorKind::kTooLarge);
  EXPECT_EQ(error.ToStatus().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(error.what.find("msg field data: 65537 bytes; at most 65536"),
            std::string::npos);
}

TEST(ReportDecoderTest, StreamEndingInsideALineIsTruncated) {
  const std::string hello = Line(kHello);
  const std::vector<DecodeEvent> events = DecodeAll(hello + "PROCTOR/1 fin");
  ASSERT_EQ(events.size(), 2u);
  const DecodeError& error = ErrorAt(events, 1);
  EXPECT_EQ(error.kind, WireErrorKind::kTruncated);
  EXPECT_EQ(error.what, "guest channel byte " +
                            std::to_string(hello.size() + 13) +
                            ": the stream ended inside a line (13 bytes "
                            "without a newline)");
}

TEST(ReportDecoderTest, EmptyLinesAreSkipped) {
  const std::vector<DecodeEvent> events =
      DecodeAll("\n\n" + Line(kHello) + "\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<DecodedReport>(events[0]).offset, 2u);
}

TEST(ReportDecoderTest, WrongVersionIsReported) {
  const std::vector<DecodeEvent> events =
      DecodeAll(Line(kHello) + "PROCTOR/2 hello crc=00000000\n");
  const DecodeError& error = ErrorAt(events, 1);
  EXPECT_EQ(error.kind, WireErrorKind::kWrongVersion);
  EXPECT_TRUE(error.after_hello);
}

TEST(EncodeTest, CommandsAndTheirErrors) {
  EXPECT_EQ(*EncodeCommandLine(HostMessage{5, "ab"}),
            WithCrc("PROCTOR/1 msg id=5 data=6162"));
  EXPECT_EQ(*EncodeCommandLine(RunScript{"exit:3"}),
            WithCrc("PROCTOR/1 run script=exit:3"));
  EXPECT_EQ(
      EncodeCommandLine(HostMessage{5, std::string(kMaxMessageBytes + 1, 'x')})
          .status(),
      absl::OutOfRangeError("encoding a \"msg\" command: too-large: "
                            "field data has 65537 bytes; at most 65536"));
  EXPECT_EQ(EncodeReportLine(Finished{300}).status(),
            absl::OutOfRangeError("encoding a \"finished\" report: too-large: "
                                  "field code: 300 is more than 255"));
}

TEST(BehaviourTest, KernelParameterIsCanonical) {
  EXPECT_EQ(*BehaviourKernelParameter("started,fail-hex:48414e475550"),
            "proctor.behaviour=started,fail:HANGUP");
  EXPECT_EQ(BehaviourKernelParameter("started,explode").status(),
            absl::InvalidArgumentError(
                "behaviour script: step 2 (\"explode\"): unknown step"));
  absl::StatusOr<std::vector<Step>> steps = ParseBehaviour("sleep:5");
  ASSERT_TRUE(steps.ok());
  EXPECT_EQ(*steps, (std::vector<Step>{{StepKind::kSleep, 5, ""}}));
}

}  // namespace
}  // namespace proctor::guest
