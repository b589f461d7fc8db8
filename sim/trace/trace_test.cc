#include "sim/trace/trace.h"

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/model/describe.h"

namespace proctor::sim {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TraceHeader Header() {
  TraceHeader h;
  h.seed = 42;
  h.swarm = true;
  h.mutant = "payload-backward";
  h.workload = {{"vms", 2}, {"proxies", 1}};
  h.fault_plan = {"1.5s vmm_crash cid=5", "3s drop_message endpoint=20"};
  return h;
}

// A short run: the VM-5/6/7 example of docs/inputs-and-actions.md.
void Feed(Observer& o) {
  o.OnInput(1, Instant::FromNanos(0), input::StartVm{RequestId{2}, Cid{5}});
  o.OnAction(2, Instant::FromNanos(0),
             action::SpawnVmm{Cid{5}, {"crosvm", "run"}});
  o.OnAction(3, Instant::FromNanos(0),
             action::Reply{RequestId{2}, absl::OkStatus(), {}});
  o.OnFact(4, Instant::FromNanos(5), fact::FaultFired{"vmm_crash", 5});
  o.OnInput(5, Instant::FromNanos(1200000000),
            input::VmmExited{Cid{5}, ExitStatus::Exited(33)});
  o.OnAction(6, Instant::FromNanos(1200000000),
             action::OnDied{Cid{5}, DeathReason::kCrash});
}

std::string WriteTrace(const std::optional<Violation>& violation) {
  std::ostringstream out;
  TraceWriter writer(&out);
  writer.WriteHeader(Header());
  Feed(writer);
  writer.Finish(violation);
  return out.str();
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

struct ReadResult {
  absl::Status status;
  std::optional<TraceHeader> header;
  std::vector<TraceEvent> events;
  std::optional<TraceEnd> end;
};

ReadResult ReadAll(const std::string& text) {
  std::istringstream in(text);
  TraceReader reader(&in);
  ReadResult result;
  absl::StatusOr<TraceHeader> header = reader.ReadHeader();
  if (!header.ok()) {
    result.status = header.status();
    return result;
  }
  result.header = *header;
  while (true) {
    absl::StatusOr<std::optional<TraceEvent>> event = reader.Next();
    if (!event.ok()) {
      result.status = event.status();
      // The error is sticky.
      EXPECT_EQ(reader.Next().status(), event.status());
      return result;
    }
    if (!event->has_value()) break;
    result.events.push_back(**event);
  }
  result.end = reader.end();
  return result;
}

std::string ReadError(const std::string& text) {
  const ReadResult result = ReadAll(text);
  EXPECT_FALSE(result.status.ok());
  EXPECT_EQ(result.status.code(), absl::StatusCode::kInvalidArgument);
  return std::string(result.status.message());
}

std::string Describe(const TraceEvent& e) {
  struct Text {
    std::string operator()(const Input& v) const { return DescribeInput(v); }
    std::string operator()(const Action& v) const { return DescribeAction(v); }
    std::string operator()(const WorldFact& v) const {
      return std::string(FactName(v));
    }
  };
  return absl::StrCat(e.seq, " ", e.t.ns, " ", TraceDirName(e.dir), " ",
                      std::visit(Text{}, e.value));
}

// ---- Writing ----

TEST(TraceTest, WritesHeaderEventsAndEndLine) {
  const std::vector<std::string> lines = Lines(WriteTrace(std::nullopt));
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(
      lines[0],
      R"j({"format":"proctor-trace","version":1,"seed":42,"swarm":true,)j"
      R"j("mutant":"payload-backward","sut":"reference",)j"
      R"j("workload":{"proxies":1,"vms":2},)j"
      R"j("fault_plan":["1.5s vmm_crash cid=5","3s drop_message endpoint=20"]})j");
  EXPECT_EQ(
      lines[1],
      R"j({"seq":1,"t_ns":0,"dir":"in","kind":"start_vm","request":2,"cid":5})j");
  EXPECT_EQ(
      lines[2],
      R"j({"seq":2,"t_ns":0,"dir":"out","kind":"spawn_vmm","cid":5,"argv":["crosvm","run"]})j");
  EXPECT_EQ(
      lines[3],
      R"j({"seq":3,"t_ns":0,"dir":"out","kind":"reply","request":2,"status":"OK"})j");
  EXPECT_EQ(
      lines[4],
      R"j({"seq":4,"t_ns":5,"dir":"fact","kind":"fault_fired","fault":"vmm_crash","target":5})j");
  EXPECT_EQ(
      lines[5],
      R"j({"seq":5,"t_ns":1200000000,"dir":"in","kind":"vmm_exited","cid":5,"status":"Exit(33)"})j");
  EXPECT_EQ(
      lines[6],
      R"j({"seq":6,"t_ns":1200000000,"dir":"out","kind":"on_died","cid":5,"reason":"CRASH"})j");
  uint64_t hash = kTraceHashSeed;
  for (int i = 1; i <= 6; ++i) hash = TraceHashStep(hash, lines[i]);
  // Computed independently (Python) for docs/trace-format.md's example.
  EXPECT_EQ(FormatTraceHash(hash), "8c2346cada072bc5");
  EXPECT_EQ(lines[7],
            absl::StrCat(R"j({"end":true,"events":6,"hash":")j",
                         FormatTraceHash(hash),
                         R"j(","verdict":"pass","violation":null})j"));
}

TEST(TraceTest, EndLineCarriesTheViolation) {
  const std::vector<std::string> lines = Lines(WriteTrace(Violation{
      "VM-7", "on_died delivered twice", 6, Instant::FromNanos(1200000000)}));
  EXPECT_THAT(lines.back(),
              HasSubstr(R"j("verdict":"fail","violation":{"rule":"VM-7",)j"
                        R"j("message":"on_died delivered twice","seq":6,)j"
                        R"j("t_ns":1200000000}})j"));
}

TEST(TraceTest, WritesANullMutantAndAnEmptyWorkload) {
  std::ostringstream out;
  TraceWriter writer(&out);
  TraceHeader header;
  header.workload = nullptr;
  writer.WriteHeader(header);
  EXPECT_EQ(
      out.str(),
      R"j({"format":"proctor-trace","version":1,"seed":0,"swarm":false,)j"
      R"j("mutant":null,"sut":"reference","workload":{},"fault_plan":[]})j"
      "\n");
}

// FNV-1a-64, written out here independently of the code under test.
uint64_t Fnv1a64(absl::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string LittleEndian(uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  return out;
}

TEST(TraceTest, HashChainIsFnv1a64OverPreviousHashAndLine) {
  ASSERT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);  // the published value
  EXPECT_EQ(kTraceHashSeed, Fnv1a64(""));
  for (uint64_t previous : {kTraceHashSeed, uint64_t{0}, uint64_t{1},
                            uint64_t{0x0123456789abcdefULL}}) {
    for (absl::string_view line : {"", "a", R"j({"seq":1})j"}) {
      EXPECT_EQ(TraceHashStep(previous, line),
                Fnv1a64(LittleEndian(previous) + std::string(line)));
    }
  }
  EXPECT_EQ(FormatTraceHash(0xab), "00000000000000ab");
  EXPECT_EQ(FormatTraceHash(0xaf63dc4c8601ec8cULL), "af63dc4c8601ec8c");
}

TEST(TraceTest, HashDoesNotDependOnTheStream) {
  std::ostringstream out;
  TraceWriter written(&out);
  written.WriteHeader(Header());
  TraceWriter hashed(nullptr);
  hashed.WriteHeader(Header());
  Feed(written);
  Feed(hashed);
  EXPECT_EQ(written.hash(), hashed.hash());
  EXPECT_EQ(written.events(), 6u);
  EXPECT_EQ(hashed.events(), 6u);
  EXPECT_NE(hashed.hash(), kTraceHashSeed);
  hashed.Finish(std::nullopt);
  EXPECT_TRUE(hashed.ok());
}

TEST(TraceTest, KeepsEventHashesAndLinesForADiff) {
  TraceWriter a(nullptr);
  a.set_keep_event_hashes(true);
  a.set_keep_lines(true);
  Feed(a);
  TraceWriter b(nullptr);
  b.set_keep_event_hashes(true);
  b.set_keep_lines(true);
  b.OnInput(1, Instant::FromNanos(0), input::StartVm{RequestId{2}, Cid{5}});
  b.OnAction(2, Instant::FromNanos(0),
             action::SpawnVmm{Cid{5}, {"crosvm", "run", "--extra"}});
  ASSERT_EQ(a.event_hashes().size(), 6u);
  ASSERT_EQ(a.lines().size(), 6u);
  EXPECT_TRUE(a.kept_lines_complete());
  EXPECT_EQ(a.event_hashes().back(), a.hash());
  EXPECT_EQ(FirstDivergingEvent(a.event_hashes(), b.event_hashes()), 2u);
  EXPECT_EQ(
      a.lines()[1],
      R"j({"seq":2,"t_ns":0,"dir":"out","kind":"spawn_vmm","cid":5,"argv":["crosvm","run"]})j");
  EXPECT_EQ(
      b.lines()[1],
      R"j({"seq":2,"t_ns":0,"dir":"out","kind":"spawn_vmm","cid":5,"argv":["crosvm","run","--extra"]})j");
  EXPECT_EQ(FirstDivergingEvent(a.event_hashes(), a.event_hashes()),
            std::nullopt);
  std::vector<uint64_t> prefix(a.event_hashes().begin(),
                               a.event_hashes().begin() + 4);
  EXPECT_EQ(FirstDivergingEvent(a.event_hashes(), prefix), 5u);
}

TEST(TraceTest, DoesNotKeepByDefault) {
  TraceWriter w(nullptr);
  Feed(w);
  EXPECT_TRUE(w.event_hashes().empty());
  EXPECT_TRUE(w.lines().empty());
}

// ---- Reading ----

TEST(TraceTest, ReadsBackWhatWasWritten) {
  const ReadResult result = ReadAll(WriteTrace(std::nullopt));
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(result.header->seed, 42u);
  EXPECT_TRUE(result.header->swarm);
  EXPECT_EQ(result.header->mutant, "payload-backward");
  EXPECT_EQ(result.header->sut, "reference");
  EXPECT_EQ(result.header->workload, Header().workload);
  EXPECT_EQ(result.header->fault_plan, Header().fault_plan);
  std::vector<std::string> events;
  for (const TraceEvent& e : result.events) events.push_back(Describe(e));
  EXPECT_THAT(
      events,
      ElementsAre("1 0 in start_vm request=2 cid=5",
                  "2 0 out spawn_vmm cid=5 argv=[\"crosvm\", \"run\"]",
                  "3 0 out reply request=2 status=OK", "4 5 fact fault_fired",
                  "5 1200000000 in vmm_exited cid=5 status=Exit(33)",
                  "6 1200000000 out on_died cid=5 reason=CRASH"));
  ASSERT_TRUE(result.end.has_value());
  EXPECT_EQ(result.end->events, 6u);
  EXPECT_TRUE(result.end->passed());
  TraceWriter hashed(nullptr);
  Feed(hashed);
  EXPECT_EQ(result.end->hash, hashed.hash());
}

TEST(TraceTest, ReadsTheViolation) {
  const ReadResult result = ReadAll(WriteTrace(Violation{
      "PX-3", std::string("lost \xff", 6), 4, Instant::FromNanos(5)}));
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_TRUE(result.end->violation.has_value());
  EXPECT_FALSE(result.end->passed());
  EXPECT_EQ(result.end->violation->rule, "PX-3");
  EXPECT_EQ(result.end->violation->message, std::string("lost \xff", 6));
  EXPECT_EQ(result.end->violation->seq, 4u);
  EXPECT_EQ(result.end->violation->at, Instant::FromNanos(5));
}

TEST(TraceTest, ReadsATraceWithoutFinalNewlineAndWithoutEvents) {
  std::string text = WriteTrace(std::nullopt);
  text.pop_back();
  EXPECT_TRUE(ReadAll(text).status.ok());
  std::ostringstream out;
  TraceWriter empty(&out);
  empty.WriteHeader(Header());
  empty.Finish(std::nullopt);
  const ReadResult result = ReadAll(out.str());
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_TRUE(result.events.empty());
  EXPECT_EQ(result.end->hash, kTraceHashSeed);
}

// Replaces line `n` (1-based) of a valid trace.
std::string WithLine(size_t n, absl::string_view replacement) {
  std::vector<std::string> lines = Lines(WriteTrace(std::nullopt));
  lines[n - 1] = std::string(replacement);
  return absl::StrCat(absl::StrJoin(lines, "\n"), "\n");
}

TEST(TraceTest, RejectsOtherFormatsAndVersions) {
  EXPECT_EQ(
      ReadError(WithLine(1, R"j({"format":"proctor-trace","version":2})j")),
      "trace.jsonl:1: trace version 2 is not supported (this proctor "
      "reads version 1)");
  EXPECT_EQ(
      ReadError(WithLine(1, R"j({"format":"other","version":1})j")),
      R"j(trace.jsonl:1: expected "format" to be "proctor-trace", found "other")j");
  EXPECT_EQ(
      ReadError(WithLine(1, R"j({"version":1})j")),
      R"j(trace.jsonl:1: expected "format" to be "proctor-trace", found nothing)j");
  EXPECT_EQ(
      ReadError(WithLine(1, R"j({"format":"proctor-trace","version":"1"})j")),
      R"j(trace.jsonl:1: expected "version" to be 1, found "1")j");
}

TEST(TraceTest, RejectsMalformedHeaders) {
  const std::string base =
      R"j({"format":"proctor-trace","version":1,"seed":1,"swarm":false,)j"
      R"j("mutant":null,"sut":"reference","workload":{},"fault_plan":[]})j";
  EXPECT_TRUE(ReadAll(WithLine(1, base)).status.ok());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string h = base;
    h.replace(h.find(from), from.size(), to);
    return ReadError(WithLine(1, h));
  };
  EXPECT_EQ(
      with(R"j("seed":1)j", R"j("seed":-1)j"),
      R"j(trace.jsonl:1: expected "seed" to be an unsigned integer, found -1)j");
  EXPECT_EQ(
      with(R"j("swarm":false)j", R"j("swarm":0)j"),
      R"j(trace.jsonl:1: expected "swarm" to be true or false, found 0)j");
  EXPECT_EQ(
      with(R"j("mutant":null)j", R"j("mutant":3)j"),
      R"j(trace.jsonl:1: expected "mutant" to be null or a mutant name, found 3)j");
  EXPECT_EQ(with(R"j("sut":"reference")j", R"j("sut":null)j"),
            R"j(trace.jsonl:1: expected "sut" to be a string, found null)j");
  EXPECT_EQ(
      with(R"j("workload":{})j", R"j("workload":[])j"),
      R"j(trace.jsonl:1: expected "workload" to be an object, found [])j");
  EXPECT_EQ(
      with(R"j("fault_plan":[])j", R"j("fault_plan":[1])j"),
      R"j(trace.jsonl:1: expected "fault_plan" to be an array of strings, found [1])j");
  EXPECT_EQ(with(R"j("fault_plan":[])j", R"j("fault_plan":[],"x":1)j"),
            R"j(trace.jsonl:1: unexpected member "x" in the header)j");
}

TEST(TraceTest, RejectsEventsOutOfSequence) {
  EXPECT_EQ(
      ReadError(WithLine(
          3,
          R"j({"seq":19,"t_ns":0,"dir":"out","kind":"spawn_vmm","cid":5,"argv":[]})j")),
      R"j(trace.jsonl:3: expected "seq" to be 2, found 19)j");
  EXPECT_EQ(
      ReadError(WithLine(
          3,
          R"j({"t_ns":0,"dir":"out","kind":"spawn_vmm","cid":5,"argv":[]})j")),
      R"j(trace.jsonl:3: expected "seq" to be 2, found nothing)j");
  EXPECT_EQ(
      ReadError(WithLine(
          6, R"j({"seq":5,"t_ns":4,"dir":"in","kind":"vmm_exited","cid":5})j")),
      R"j(trace.jsonl:6: expected "t_ns" to be an integer of at least 5, found 4)j");
  EXPECT_EQ(
      ReadError(WithLine(
          6,
          R"j({"seq":5,"t_ns":9,"dir":"sideways","kind":"vmm_exited","cid":5})j")),
      R"j(trace.jsonl:6: expected "dir" to be "in", "out" or "fact", found "sideways")j");
  EXPECT_EQ(
      ReadError(WithLine(
          6,
          R"j({"seq":5,"t_ns":9,"dir":"out","kind":"vmm_exited","cid":5})j")),
      R"j(trace.jsonl:6: unknown action kind "vmm_exited")j");
  EXPECT_EQ(
      ReadError(WithLine(
          6,
          R"j({"seq":5,"t_ns":9,"dir":"in","kind":"vmm_exited","cid":5,"status":"Exit(x)"})j")),
      R"j(trace.jsonl:6: vmm_exited: field "status": "Exit(x)" is not an exit status)j");
}

TEST(TraceTest, ChecksTheEndLine) {
  const std::vector<std::string> lines = Lines(WriteTrace(std::nullopt));
  const std::string good_hash = json::parse(lines[7])["hash"];
  auto end = [&](absl::string_view text) {
    return ReadError(WithLine(8, text));
  };
  EXPECT_EQ(end(absl::StrCat(R"j({"end":true,"events":5,"hash":")j", good_hash,
                             R"j(","verdict":"pass","violation":null})j")),
            R"j(trace.jsonl:8: expected "events" to be 6, found 5)j");
  EXPECT_EQ(
      end(R"j({"end":true,"events":6,"hash":"0000000000000000","verdict":"pass","violation":null})j"),
      absl::StrCat(
          R"j(trace.jsonl:8: expected "hash" to be ")j", good_hash,
          R"j(" (the hash of the events read), found "0000000000000000")j"));
  EXPECT_EQ(
      end(absl::StrCat(R"j({"end":true,"events":6,"hash":")j", good_hash,
                       R"j(","verdict":"fail","violation":null})j")),
      R"j(trace.jsonl:8: expected "violation" to be {"rule", "message", "seq", "t_ns"} because "verdict" is "fail", found null)j");
  EXPECT_EQ(
      end(absl::StrCat(R"j({"end":true,"events":6,"hash":")j", good_hash,
                       R"j(","verdict":"pass","violation":{}})j")),
      R"j(trace.jsonl:8: expected "violation" to be null because "verdict" is "pass", found {})j");
  EXPECT_EQ(
      end(absl::StrCat(R"j({"end":true,"events":6,"hash":")j", good_hash,
                       R"j(","verdict":"maybe","violation":null})j")),
      R"j(trace.jsonl:8: expected "verdict" to be "pass" or "fail", found "maybe")j");
  EXPECT_EQ(end(R"j({"end":false})j"),
            R"j(trace.jsonl:8: expected "end" to be true, found false)j");
  EXPECT_EQ(end(R"j({"end":true,"why":1})j"),
            R"j(trace.jsonl:8: unexpected member "why" in the end line)j");
  EXPECT_EQ(ReadError(WriteTrace(std::nullopt) + "{}\n"),
            "trace.jsonl:9: expected the end of the file after the end line "
            "(line 8), found another line");
}

TEST(TraceTest, ReportsATruncatedTrace) {
  std::vector<std::string> lines = Lines(WriteTrace(std::nullopt));
  lines.resize(5);
  const std::string text = absl::StrCat(absl::StrJoin(lines, "\n"), "\n");
  const ReadResult result = ReadAll(text);
  EXPECT_EQ(result.events.size(), 4u);  // what was there is still read
  EXPECT_EQ(result.status.message(),
            "trace.jsonl:6: the trace is truncated: expected an event or the "
            "end line, found the end of the file after 4 events");
  // Cut in the middle of a line.
  std::string cut = WriteTrace(std::nullopt);
  cut.resize(cut.find("\"dir\":\"out\"") + 5);
  EXPECT_THAT(ReadError(cut),
              HasSubstr("trace.jsonl:3: expected a JSON object, found invalid "
                        "JSON ([json.exception.parse_error.101]"));
}

TEST(TraceTest, NeverCrashesOnGarbage) {
  EXPECT_EQ(ReadError(""),
            "trace.jsonl:1: expected the header line, found an empty file");
  EXPECT_EQ(ReadError(std::string("\x00\xff\xfe\x01garbage\n\x80", 13)),
            "trace.jsonl:1: expected JSON text, found a NUL byte at column 1");
  EXPECT_THAT(ReadError(std::string("\xff\xfe\x01garbage\n\x80", 12)),
              HasSubstr("trace.jsonl:1: expected a JSON object, found invalid "
                        "JSON"));
  EXPECT_THAT(ReadError("{\"format\":\"proctor-tr"),
              HasSubstr("trace.jsonl:1: expected a JSON object, found invalid "
                        "JSON"));
  EXPECT_EQ(ReadError("[1,2,3]\n"),
            "trace.jsonl:1: expected the header object, found [1,2,3]");
  EXPECT_EQ(ReadError("\n"),
            "trace.jsonl:1: expected a JSON object, found an empty line");
  EXPECT_EQ(ReadError(WithLine(2, "42")),
            "trace.jsonl:2: expected an event or the end line, found 42");
  EXPECT_EQ(ReadError(WithLine(2, "")),
            "trace.jsonl:2: expected a JSON object, found an empty line");
  EXPECT_EQ(ReadError(WithLine(2, R"j({"seq":"1"})j")),
            R"j(trace.jsonl:2: expected "seq" to be 1, found "1")j");
  EXPECT_EQ(
      ReadError(WithLine(2, std::string(100, '[') + std::string(100, ']'))),
      "trace.jsonl:2: expected a JSON object, found JSON nested deeper "
      "than 32 levels");
  // Invalid UTF-8 inside a JSON string is not JSON.
  EXPECT_THAT(ReadError(WithLine(2, "{\"seq\":1,\"x\":\"\xff\"}")),
              HasSubstr("trace.jsonl:2: expected a JSON object, found invalid "
                        "JSON"));
}

TEST(TraceTest, RejectsOverlongLines) {
  const std::string text =
      WithLine(2, std::string(TraceReader::kMaxLineBytes + 1, ' '));
  EXPECT_EQ(ReadError(text),
            "trace.jsonl:2: expected a line of at most 1048576 bytes, found a "
            "longer one");
  // A line of exactly the limit is read (and then judged on its content).
  const std::string at_limit =
      WithLine(2, std::string(TraceReader::kMaxLineBytes, ' '));
  EXPECT_THAT(ReadError(at_limit),
              HasSubstr("trace.jsonl:2: expected a JSON object, found invalid "
                        "JSON ([json.exception.parse_error.101] parse error at "
                        "line 1, column 1048577"));
}

// Found by fuzz_trace_reader: the JSON parser stops at a NUL byte, so a
// line with garbage after one was read as if the garbage were not there.
TEST(TraceTest, RejectsANulByteInALine) {
  const std::string text = WithLine(2, std::string("{\"seq\":1}\0}}}", 12));
  EXPECT_EQ(ReadError(text),
            "trace.jsonl:2: expected JSON text, found a NUL byte at column 10");
}

TEST(TraceTest, NamesTheTraceInErrors) {
  std::istringstream in("");
  TraceReader reader(&in, "runs/seed-17.jsonl");
  EXPECT_EQ(reader.ReadHeader().status().message(),
            "runs/seed-17.jsonl:1: expected the header line, found an empty "
            "file");
}

TEST(TraceTest, NextBeforeHeaderIsAnError) {
  std::istringstream in(WriteTrace(std::nullopt));
  TraceReader reader(&in);
  EXPECT_EQ(reader.Next().status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(TraceTest, EachDirectionSurvivesATraceRoundTrip) {
  // One value of each direction, through the writer and back.
  std::ostringstream out;
  TraceWriter writer(&out);
  writer.WriteHeader(TraceHeader{});
  writer.OnInput(
      1, Instant::FromNanos(1),
      input::MessageRead{EndpointId{3}, ChannelStatus::kOk,
                         Message{std::string("\x01\x02", 2), {HandleId{9}}}});
  writer.OnAction(2, Instant::FromNanos(1),
                  action::CounterAdd{CounterId{4}, 1});
  writer.OnFact(3, Instant::FromNanos(2), fact::PeerWrote{EndpointId{5}, 77});
  writer.Finish(std::nullopt);
  const ReadResult result = ReadAll(out.str());
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_EQ(result.events.size(), 3u);
  EXPECT_EQ(
      DescribeInput(std::get<Input>(result.events[0].value)),
      R"j(message_read endpoint=3 status=OK message="\x01\x02" handles=[9])j");
  EXPECT_EQ(DescribeAction(std::get<Action>(result.events[1].value)),
            "counter_add counter=4 delta=+1");
  const auto& wrote =
      std::get<fact::PeerWrote>(std::get<WorldFact>(result.events[2].value));
  EXPECT_EQ(wrote.endpoint, EndpointId{5});
  EXPECT_EQ(wrote.message_id, 77u);
  EXPECT_EQ(result.events[2].dir, TraceEvent::kFact);
}

}  // namespace
}  // namespace proctor::sim
