#include "sim/timeline/perfetto.h"

#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "runtime/model/action.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/input.h"

namespace proctor::sim {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Builds a trace in memory through the real writer, so the converter reads
// exactly what `proctor sim --trace-dir` writes.
class TraceBuilder {
 public:
  TraceBuilder() {
    TraceHeader header;
    header.seed = 7;
    header.mutant = "on-died-twice";
    header.workload = {{"vms", 1}};
    header.fault_plan = {"at=0.000001000s kind=guest_panic target=5 a=0 b=0"};
    writer_.WriteHeader(header);
  }
  TraceBuilder& In(int64_t t, const Input& input) {
    writer_.OnInput(++seq_, Instant::FromNanos(t), input);
    return *this;
  }
  TraceBuilder& Out(int64_t t, const Action& action) {
    writer_.OnAction(++seq_, Instant::FromNanos(t), action);
    return *this;
  }
  TraceBuilder& Fact(int64_t t, const WorldFact& fact) {
    writer_.OnFact(++seq_, Instant::FromNanos(t), fact);
    return *this;
  }
  std::string Finish(const std::optional<Violation>& violation = {}) {
    writer_.Finish(violation);
    return out_.str();
  }
  // Without the end line: a run cut short.
  std::string Unfinished() const { return out_.str(); }

 private:
  std::ostringstream out_;
  TraceWriter writer_{&out_};
  uint64_t seq_ = 0;
};

struct Converted {
  absl::Status status;
  std::string text;
  PerfettoStats stats;
};

PerfettoOptions Options() {
  PerfettoOptions options;
  options.trace_name = "t.jsonl";
  return options;
}

Converted Convert(const std::string& trace,
                  const PerfettoOptions& options = Options()) {
  std::istringstream in(trace);
  TraceReader reader(&in, "t.jsonl");
  std::ostringstream out;
  Converted c;
  c.status = WritePerfettoTimeline(reader, out, options, &c.stats);
  c.text = out.str();
  return c;
}

// The non-metadata events of a timeline, one line each, in file order:
// "X [vm 5] RUNNING 0.010+0.030 seq=3 end=7", "i [faults] fault x 1.000
// seq=4", "g VIOLATION VM-7 2.000 seq=9".
std::vector<std::string> Events(const std::string& text) {
  const json doc = json::parse(text);
  std::map<std::pair<int, int>, std::string> names;
  for (const json& e : doc["traceEvents"]) {
    if (e["ph"] == "M" && e["name"] == "thread_name") {
      names[{e["pid"], e["tid"]}] = e["args"]["name"];
    }
  }
  std::vector<std::string> out;
  for (const json& e : doc["traceEvents"]) {
    const std::string ph = e["ph"];
    if (ph == "M") continue;
    const std::string track = names[{e["pid"], e["tid"]}];
    const json& args = e["args"];
    std::string line;
    if (ph == "X") {
      line = absl::StrCat("X [", track, "] ", e["name"].get<std::string>(), " ",
                          e["ts"].dump(), "+", e["dur"].dump(),
                          " seq=", args["seq"].dump());
      const json& end = args.contains("end") ? args["end"] : args["reply"];
      absl::StrAppend(&line, args.contains("end") ? " end=" : " reply=",
                      end.is_object() ? end["seq"].dump() : end.dump());
    } else if (e["s"] == "g") {
      line = absl::StrCat("g ", e["name"].get<std::string>(), " ",
                          e["ts"].dump(), " seq=", args["seq"].dump());
    } else {
      line = absl::StrCat("i [", track, "] ", e["name"].get<std::string>(), " ",
                          e["ts"].dump(), " seq=", args["seq"].dump());
    }
    out.push_back(line);
  }
  return out;
}

// "pid name", then "  tid name" per track, in the order of the file.
std::vector<std::string> Tracks(const std::string& text) {
  const json doc = json::parse(text);
  std::vector<std::string> out;
  for (const json& e : doc["traceEvents"]) {
    if (e["ph"] != "M") continue;
    if (e["name"] == "process_name") {
      out.push_back(absl::StrCat(e["pid"].dump(), " ",
                                 e["args"]["name"].get<std::string>()));
    } else if (e["name"] == "thread_name") {
      out.push_back(absl::StrCat("  ", e["pid"].dump(), "/", e["tid"].dump(),
                                 " ", e["args"]["name"].get<std::string>()));
    }
  }
  return out;
}

action::Reply Ok(uint64_t request) {
  return action::Reply{RequestId{request}, absl::OkStatus(), {}};
}

input::CreateVm CreateVm(uint64_t request, uint32_t cid) {
  input::CreateVm in;
  in.request = RequestId{request};
  in.config.cid = Cid{cid};
  return in;
}

TEST(PerfettoTest, EmptyTraceIsTheWholeDocumentByteForByte) {
  const Converted c = Convert(TraceBuilder().Finish());
  ASSERT_TRUE(c.status.ok()) << c.status;
  EXPECT_EQ(c.text,
            "{\"traceEvents\":[\n"
            "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":4,\"tid\":0,"
            "\"args\":{\"name\":\"Supervisor\"}},\n"
            "{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":4,\"tid\":0,"
            "\"args\":{\"sort_index\":4}},\n"
            "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":4,\"tid\":10,"
            "\"args\":{\"name\":\"power\"}},\n"
            "{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":4,\"tid\":10,"
            "\"args\":{\"sort_index\":10}},\n"
            "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":4,\"tid\":11,"
            "\"args\":{\"name\":\"requests\"}},\n"
            "{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":4,\"tid\":11,"
            "\"args\":{\"sort_index\":11}},\n"
            "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":4,\"tid\":12,"
            "\"args\":{\"name\":\"faults\"}},\n"
            "{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":4,\"tid\":12,"
            "\"args\":{\"sort_index\":12}}\n"
            "],\n"
            "\"displayTimeUnit\":\"ms\",\n"
            "\"metadata\":{\"source\":\"proctor trace\",\"trace_format\":"
            "\"proctor-trace\",\"trace_version\":1,\"seed\":7,\"swarm\":false,"
            "\"mutant\":\"on-died-twice\",\"sut\":\"reference\",\"workload\":"
            "{\"vms\":1},\"fault_plan\":[\"at=0.000001000s kind=guest_panic "
            "target=5 a=0 b=0\"],\"events\":0,\"hash\":\"cbf29ce484222325\","
            "\"verdict\":\"pass\",\"violation\":null}}\n");
  EXPECT_EQ(c.stats.events, 0u);
  EXPECT_EQ(c.stats.tracks, 3u);
  EXPECT_EQ(c.stats.slices, 0u);
  EXPECT_EQ(c.stats.instants, 0u);
  EXPECT_TRUE(c.stats.passed);
}

TEST(PerfettoTest, SliceAndInstantCarryTheirTraceLinesExactly) {
  TraceBuilder b;
  b.Out(1500, action::VmStateChanged{Cid{5}, VmState::kRunning})
      .Out(2250, action::OnDied{Cid{5}, DeathReason::kCrash});
  const Converted c = Convert(b.Finish());
  ASSERT_TRUE(c.status.ok()) << c.status;
  // The instant is written at once; the slice when it closes (here with the
  // trace, at the last event's time).
  EXPECT_NE(c.text.find(
                "{\"name\":\"on_died CRASH\",\"cat\":\"vm\",\"ph\":\"i\","
                "\"s\":\"t\",\"ts\":2.250,\"pid\":1,\"tid\":13,\"args\":{"
                "\"seq\":2,\"t_ns\":2250,\"dir\":\"out\",\"kind\":\"on_died\","
                "\"cid\":5,\"reason\":\"CRASH\"}},\n"
                "{\"name\":\"RUNNING\",\"cat\":\"vm\",\"ph\":\"X\","
                "\"ts\":1.500,\"dur\":0.750,\"pid\":1,\"tid\":13,\"args\":{"
                "\"seq\":1,\"t_ns\":1500,\"dir\":\"out\",\"kind\":\"vm_state\","
                "\"cid\":5,\"state\":\"RUNNING\",\"end\":\"end of trace\"}}"),
            std::string::npos)
      << c.text;
}

TEST(PerfettoTest, VmStatesWithPayloadStatesNestedInside) {
  TraceBuilder b;
  b.In(1000, CreateVm(1, 5))
      .Out(1000, Ok(1))
      .In(2000, input::StartVm{RequestId{2}, Cid{5}})
      .Out(2000, Ok(2))
      .Out(3000, action::VmStateChanged{Cid{5}, VmState::kRunning})
      .Out(4000, action::PayloadStateChanged{Cid{5}, PayloadState::kStarted})
      .Out(5000, action::GuestError{Cid{5}, "VM-4: backward"})
      .Out(6000, action::PayloadStateChanged{Cid{5}, PayloadState::kReady})
      .Out(7000, action::VmStateChanged{Cid{5}, VmState::kDead})
      .Out(7000, action::OnDied{Cid{5}, DeathReason::kCrash})
      .In(9000, input::TimerFired{});
  const Converted c = Convert(b.Finish());
  ASSERT_TRUE(c.status.ok()) << c.status;
  EXPECT_THAT(
      Events(c.text),
      ElementsAre("X [requests] create_vm 1.0+0.0 seq=1 reply=2",
                  "X [requests] start_vm 2.0+0.0 seq=3 reply=4",
                  // Instants are written at once, slices when they end.
                  "i [vm 5] guest_error 5.0 seq=7",
                  "X [vm 5] payload STARTED 4.0+2.0 seq=6 end=8",
                  "X [vm 5] payload READY 6.0+1.0 seq=8 end=9",
                  "X [vm 5] RUNNING 3.0+4.0 seq=5 end=9",
                  "i [vm 5] on_died CRASH 7.0 seq=10",
                  // Still open at the end: closed at the last event's time.
                  "X [vm 5] DEAD 7.0+2.0 seq=9 end=\"end of trace\""));
  EXPECT_THAT(Tracks(c.text),
              ElementsAre("1 VMs", "4 Supervisor", "  4/10 power",
                          "  4/11 requests", "  4/12 faults", "  1/13 vm 5"));
  EXPECT_EQ(c.stats.slices, 6u);
  EXPECT_EQ(c.stats.instants, 2u);
  EXPECT_EQ(c.stats.tracks, 4u);
}

TEST(PerfettoTest, PayloadSliceNeverOutlivesTheVmStateItBeganIn) {
  // A payload report before any VM state, then a VM state: the payload slice
  // ends where the VM state slice begins, so nesting stays proper.
  TraceBuilder b;
  b.Out(1000, action::PayloadStateChanged{Cid{3}, PayloadState::kStarting})
      .Out(2000, action::VmStateChanged{Cid{3}, VmState::kFailed})
      .Out(2000, action::VmStateChanged{Cid{3}, VmState::kRunning});
  const Converted c = Convert(b.Finish());
  ASSERT_TRUE(c.status.ok()) << c.status;
  EXPECT_THAT(Events(c.text),
              ElementsAre("X [vm 3] payload STARTING 1.0+1.0 seq=1 end=2",
                          "X [vm 3] FAILED 2.0+0.0 seq=2 end=3",
                          "X [vm 3] RUNNING 2.0+0.0 seq=3 end=\"end of "
                          "trace\""));
}

TEST(PerfettoTest, ContainerLifeFromItsEvents) {
  input::InstallContainer install;
  install.request = RequestId{1};
  install.container = ContainerId{4};
  ContainerEvent installed{ContainerEvent::Kind::kInstalled, {}, {}};
  ContainerEvent started{ContainerEvent::Kind::kStarted, {}, {}};
  ContainerEvent cgroup{ContainerEvent::Kind::kCGroup, {}, {}};
  cgroup.memory.oom = 1;
  ContainerEvent exited{
      ContainerEvent::Kind::kExit, ExitStatus::Signalled(9), {}};
  ContainerEvent uninstalled{ContainerEvent::Kind::kUninstalled, {}, {}};
  TraceBuilder b;
  b.In(1000, install)
      .Out(1000, action::EmitContainerEvent{ContainerId{4}, installed})
      .Out(1000, Ok(1))
      .Out(2000, action::EmitContainerEvent{ContainerId{4}, started})
      .Out(3000, action::EmitContainerEvent{ContainerId{4}, cgroup})
      .Out(4000, action::EmitContainerEvent{ContainerId{4}, exited})
      .Out(5000, action::EmitContainerEvent{ContainerId{4}, uninstalled});
  const Converted c = Convert(b.Finish());
  ASSERT_TRUE(c.status.ok()) << c.status;
  EXPECT_THAT(
      Events(c.text),
      ElementsAre("X [requests] install_container 1.0+0.0 seq=1 reply=3",
                  "X [container 4] installed 1.0+1.0 seq=2 end=4",
                  "i [container 4] cgroup 3.0 seq=5",
                  "X [container 4] running 2.0+2.0 seq=4 end=6",
                  "X [container 4] exited Signalled(SIGKILL) 4.0+1.0 seq=6 "
                  "end=7",
                  "i [container 4] uninstalled 5.0 seq=7"));
  EXPECT_THAT(
      Tracks(c.text),
      ElementsAre("2 Containers", "4 Supervisor", "  4/10 power",
                  "  4/11 requests", "  4/12 faults", "  2/13 container 4"));
}

TEST(PerfettoTest, ProxyFromItsOkReplyToProxyStopped) {
  input::AddProxy ok;
  ok.request = RequestId{1};
  ok.proxy = ProxyId{2};
  ok.name = "proxy-2";
  input::AddProxy refused = ok;
  refused.request = RequestId{2};
  refused.proxy = ProxyId{3};
  TraceBuilder b;
  b.In(1000, ok)
      .Out(1500, Ok(1))
      .In(2000, refused)
      .Out(2000,
           action::Reply{
               RequestId{2}, absl::AlreadyExistsError("PX-1: taken"), {}})
      .Out(8000, action::ProxyStopped{ProxyId{2}})
      .Out(9000, action::ProxyStopped{ProxyId{3}});
  const Converted c = Convert(b.Finish());
  ASSERT_TRUE(c.status.ok()) << c.status;
  EXPECT_THAT(
      Events(c.text),
      ElementsAre("X [requests] add_proxy 1.0+0.5 seq=1 reply=2",
                  "X [requests] add_proxy ALREADY_EXISTS 2.0+0.0 seq=3 "
                  "reply=4",
                  // Its args are the add_proxy input's; its end is the stop.
                  "X [proxy 2] running 1.5+6.5 seq=1 end=5",
                  "i [proxy 3] proxy_stopped 9.0 seq=6"));
  const json doc = json::parse(c.text);
  const json& reply = doc["traceEvents"][1]["args"]["reply"];
  EXPECT_EQ(reply["status"]["code"], "ALREADY_EXISTS");
  EXPECT_EQ(doc["traceEvents"][1]["args"]["name"], "proxy-2");
}

TEST(PerfettoTest, SuspendedPeriodsOnThePowerTrack) {
  TraceBuilder b;
  b.In(1000, input::SuspendContainer{RequestId{1}})
      .Out(1000, action::SignalWatcher{WatcherId{1}, WakeSignal::kAsleep})
      .Out(1000, action::SuspendGuest{})
      .Out(3000, action::ResumeGuest{})
      .Out(3000, Ok(1))
      .Out(4000, action::SuspendGuest{})
      .Out(6000, action::ResumeGuest{})
      .Out(6000, action::ResumeGuest{})
      .Out(7000, action::SuspendGuest{});
  const Converted c = Convert(b.Finish());
  ASSERT_TRUE(c.status.ok()) << c.status;
  EXPECT_THAT(
      Events(c.text),
      ElementsAre("i [power] signal_watcher ASLEEP 1.0 seq=2",
                  "X [power] suspended 1.0+2.0 seq=3 end=4",
                  "X [requests] suspend_container 1.0+2.0 seq=1 reply=5",
                  "X [power] suspended 4.0+2.0 seq=6 end=7",
                  "i [power] resume_guest while not suspended 6.0 seq=8",
                  "X [power] suspended 7.0+0.0 seq=9 end=\"end of trace\""));
}

TEST(PerfettoTest, OverlappingRequestsGetSeparateLanes) {
  TraceBuilder b;
  b.In(1000, input::WaitContainer{RequestId{1}, ContainerId{1}})
      .In(2000, input::StartVm{RequestId{2}, Cid{3}})
      .Out(2500, Ok(2))
      .In(3000, input::KillVm{RequestId{3}, Cid{3}})
      .Out(5000, Ok(1))
      .Out(6000, action::Reply{RequestId{9}, absl::OkStatus(), {}});
  const Converted c = Convert(b.Finish());
  ASSERT_TRUE(c.status.ok()) << c.status;
  EXPECT_THAT(Events(c.text),
              ElementsAre("X [requests 2] start_vm 2.0+0.5 seq=2 reply=3",
                          "X [requests] wait_container 1.0+4.0 seq=1 reply=5",
                          "i [requests] reply without a request 6.0 seq=6",
                          "X [requests 2] kill_vm 3.0+3.0 seq=4 "
                          "reply=\"none before the end of trace\""));
}

TEST(PerfettoTest, FaultsOnTheTargetsTrackWhenKnownElseOnFaults) {
  TraceBuilder b;
  b.In(1000, CreateVm(1, 5))
      .Out(1000, Ok(1))
      .Fact(2000, fact::FaultFired{"guest_panic", 5})
      .Fact(3000, fact::FaultFired{"guest_panic", 6})
      .Fact(4000, fact::FaultFired{"handle_wake", 5})
      .Fact(5000, fact::FaultFired{"completion_delay", 0})
      .Fact(6000, fact::FaultFired{"container_crash", 5})
      .Fact(7000, fact::FaultFired{"not_a_known_kind", 5});
  const Converted c = Convert(b.Finish());
  ASSERT_TRUE(c.status.ok()) << c.status;
  EXPECT_THAT(Events(c.text),
              ElementsAre("X [requests] create_vm 1.0+0.0 seq=1 reply=2",
                          "i [vm 5] fault guest_panic 2.0 seq=3",
                          "i [faults] fault guest_panic 3.0 seq=4",
                          "i [faults] fault handle_wake 4.0 seq=5",
                          "i [faults] fault completion_delay 5.0 seq=6",
                          "i [faults] fault container_crash 6.0 seq=7",
                          "i [faults] fault not_a_known_kind 7.0 seq=8"));
}

TEST(PerfettoTest, ViolationIsAGlobalRedInstant) {
  TraceBuilder b;
  b.Out(1000, action::OnDied{Cid{5}, DeathReason::kCrash})
      .Out(1000, action::OnDied{Cid{5}, DeathReason::kCrash})
      .In(2000, input::TimerFired{});
  Violation v;
  v.rule = "VM-7";
  v.message = "VM-7: on_died for cid 5 delivered twice";
  v.seq = 2;
  v.at = Instant::FromNanos(1000);
  const Converted c = Convert(b.Finish(v));
  ASSERT_TRUE(c.status.ok()) << c.status;
  EXPECT_THAT(Events(c.text), ElementsAre("i [vm 5] on_died CRASH 1.0 seq=1",
                                          "i [vm 5] on_died CRASH 1.0 seq=2",
                                          "g VIOLATION VM-7 1.0 seq=2"));
  EXPECT_NE(c.text.find("{\"name\":\"VIOLATION VM-7\",\"cat\":\"violation\","
                        "\"ph\":\"i\",\"s\":\"g\",\"ts\":1.000,\"pid\":4,"
                        "\"tid\":12,\"cname\":\"terrible\",\"args\":{"
                        "\"rule\":\"VM-7\",\"message\":\"VM-7: on_died for "
                        "cid 5 delivered twice\",\"seq\":2,\"t_ns\":1000}}"),
            std::string::npos)
      << c.text;
  const json doc = json::parse(c.text);
  EXPECT_EQ(doc["metadata"]["verdict"], "fail");
  EXPECT_EQ(doc["metadata"]["violation"]["rule"], "VM-7");
  EXPECT_FALSE(c.stats.passed);
  EXPECT_EQ(c.stats.violated_rule, "VM-7");
  EXPECT_EQ(c.stats.instants, 3u);
}

TEST(PerfettoTest, SameTraceSameBytes) {
  auto build = [] {
    TraceBuilder b;
    for (uint32_t cid = 20; cid > 3; --cid) {
      const int64_t t = (30 - cid) * 10;
      b.In(t, CreateVm(cid, cid))
          .Out(t, action::VmStateChanged{Cid{cid}, VmState::kRunning});
    }
    return b.Finish();
  };
  const Converted first = Convert(build());
  const Converted second = Convert(build());
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_EQ(first.text, second.text);
}

TEST(PerfettoTest, TruncatedTraceIsAnErrorNamingTheLine) {
  TraceBuilder b;
  b.Out(1000, action::OnDied{Cid{5}, DeathReason::kCrash});
  const Converted c = Convert(b.Unfinished());
  EXPECT_EQ(c.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status.message(),
            "t.jsonl:3: the trace is truncated: expected an event or the end "
            "line, found the end of the file after 1 events");
}

TEST(PerfettoTest, OtherVersionIsAnError) {
  std::string trace = TraceBuilder().Finish();
  trace = absl::StrReplaceAll(trace, {{"\"version\":1", "\"version\":2"}});
  const Converted c = Convert(trace);
  EXPECT_EQ(c.status.message(),
            "t.jsonl:1: trace version 2 is not supported (this proctor reads "
            "version 1)");
}

TEST(PerfettoTest, GarbageLineIsAnError) {
  TraceBuilder b;
  b.Out(1000, action::OnDied{Cid{5}, DeathReason::kCrash});
  std::string trace = b.Unfinished() + "this is not json\n";
  const Converted c = Convert(trace);
  EXPECT_EQ(c.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status.message()),
              ::testing::StartsWith(
                  "t.jsonl:3: expected a JSON object, found invalid JSON"));
}

TEST(PerfettoTest, EmptyFileIsAnError) {
  const Converted c = Convert("");
  EXPECT_EQ(c.status.message(),
            "t.jsonl:1: expected the header line, found an empty file");
}

TEST(PerfettoTest, TooManyEventsIsRefused) {
  TraceBuilder b;
  b.In(1, input::TimerFired{})
      .In(2, input::TimerFired{})
      .In(3, input::TimerFired{});
  PerfettoOptions options = Options();
  options.max_events = 3;
  EXPECT_TRUE(Convert(b.Finish(), options).status.ok());
  TraceBuilder more;
  more.In(1, input::TimerFired{})
      .In(2, input::TimerFired{})
      .In(3, input::TimerFired{});
  options.max_events = 2;
  const Converted c = Convert(more.Finish(), options);
  EXPECT_EQ(c.status.message(),
            "t.jsonl:4: expected at most 2 events (the most a timeline "
            "holds), found more");
}

TEST(PerfettoTest, TooManyTracksIsRefused) {
  TraceBuilder b;
  b.Out(1, action::VmStateChanged{Cid{3}, VmState::kRunning})
      .Out(2, action::VmStateChanged{Cid{4}, VmState::kRunning});
  PerfettoOptions options = Options();
  options.max_tracks = 4;  // the supervisor's three and one VM
  const Converted c = Convert(b.Finish(), options);
  EXPECT_EQ(c.status.message(),
            "t.jsonl:3: expected at most 4 tracks (VMs, containers, proxies "
            "and lanes of concurrent requests), found more");
}

TEST(PerfettoTest, TooManyBytesInOpenSlicesIsRefused) {
  // Requests that are never answered hold their input until the end.
  TraceBuilder b;
  b.In(1, input::StartVm{RequestId{1}, Cid{3}})
      .In(2, input::StartVm{RequestId{2}, Cid{3}});
  PerfettoOptions options = Options();
  options.max_open_bytes = 100;
  const Converted c = Convert(b.Finish(), options);
  EXPECT_EQ(c.status.message(),
            "t.jsonl:3: expected at most 100 bytes of events that begin "
            "slices not yet ended, found more");
}

TEST(PerfettoTest, ReusedRequestIdEndsTheEarlierRequest) {
  TraceBuilder b;
  b.In(1000, input::StartVm{RequestId{1}, Cid{3}})
      .In(2000, input::KillVm{RequestId{1}, Cid{3}})
      .Out(3000, Ok(1));
  const Converted c = Convert(b.Finish());
  ASSERT_TRUE(c.status.ok()) << c.status;
  EXPECT_THAT(Events(c.text),
              ElementsAre("X [requests] start_vm 1.0+1.0 seq=1 reply=\"none: "
                          "request id reused at seq 2\"",
                          "X [requests] kill_vm 2.0+1.0 seq=2 reply=3"));
}

TEST(PerfettoTest, ViolationMessageThatIsNotTextStaysLossless) {
  TraceBuilder b;
  b.In(1000, input::TimerFired{});
  Violation v;
  v.rule = "VM-4";
  v.message = "\xff\x01";
  v.seq = 1;
  v.at = Instant::FromNanos(1000);
  const Converted c = Convert(b.Finish(v));
  ASSERT_TRUE(c.status.ok()) << c.status;
  const json doc = json::parse(c.text);
  EXPECT_EQ(doc["traceEvents"][0]["args"]["message"],
            json({{"base64", "/wE="}}));
  EXPECT_EQ(doc["metadata"]["violation"]["message"],
            json({{"base64", "/wE="}}));
}

TEST(PerfettoTest, NoEventsMeansNoSlices) {
  const Converted c = Convert(TraceBuilder().Finish());
  ASSERT_TRUE(c.status.ok());
  EXPECT_THAT(Events(c.text), IsEmpty());
}

}  // namespace
}  // namespace proctor::sim
