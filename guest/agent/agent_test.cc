#include "guest/agent/agent.h"

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "guest/protocol/wire.h"

namespace proctor::guest {
namespace {

using Kind = Effect::Kind;

std::string CommandLine(const Command& command) {
  std::string line;
  EXPECT_FALSE(EncodeCommand(command, &line).has_value());
  return line;
}

// What the effects say, one string each: channel lines decoded to a short
// form, other effects by name. Exact, so a test fails on any difference.
std::vector<std::string> Describe(const std::vector<Effect>& effects) {
  std::vector<std::string> out;
  for (const Effect& e : effects) {
    switch (e.kind) {
      case Kind::kChannel: {
        std::string_view rest = e.bytes;
        while (!rest.empty()) {
          const size_t nl = rest.find('\n');
          const std::string_view line = rest.substr(0, nl);
          rest.remove_prefix(nl == std::string_view::npos ? rest.size()
                                                          : nl + 1);
          if (line.empty()) {
            out.push_back("(newline)");
            continue;
          }
          std::variant<Report, WireError> r = ParseReportLine(line);
          if (auto* err = std::get_if<WireError>(&r)) {
            out.push_back("UNDECODABLE " + err->detail);
            continue;
          }
          const Report& report = std::get<Report>(r);
          std::string text(ReportTypeName(report));
          if (auto* h = std::get_if<Hello>(&report)) {
            text += " " + h->agent + " " + std::string(AgentModeName(h->mode)) +
                    " " + h->script;
          } else if (auto* f = std::get_if<Finished>(&report)) {
            text += " " + std::to_string(f->code);
          } else if (auto* a = std::get_if<Ack>(&report)) {
            text += " " + std::to_string(a->id);
          } else if (auto* m = std::get_if<GuestMessage>(&report)) {
            text += " " + std::to_string(m->id) + " " + m->data;
          } else if (auto* w = std::get_if<FailureWritten>(&report)) {
            text += " " + w->data;
          } else if (auto* act = std::get_if<ActionReport>(&report)) {
            text += " " + std::string(AgentActionName(act->action));
          } else if (auto* err = std::get_if<AgentError>(&report)) {
            text += " " + err->code + ": " + err->what;
          }
          out.push_back(text);
        }
        break;
      }
      case Kind::kFailurePort:
        out.push_back("FAILURE PORT " + e.bytes);
        break;
      case Kind::kPowerOff:
        out.push_back("POWER OFF");
        break;
      case Kind::kReboot:
        out.push_back("REBOOT");
        break;
      case Kind::kPanic:
        out.push_back("PANIC");
        break;
      case Kind::kHang:
        out.push_back("HANG");
        break;
      case Kind::kVmmExit:
        out.push_back("VMM EXIT " + std::to_string(e.code));
        break;
    }
  }
  return out;
}

struct Harness {
  explicit Harness(std::string script, AgentMode mode = AgentMode::kTest)
      : agent(AgentOptions{mode, std::move(script)}) {}

  std::vector<std::string> Start(uint64_t now = 0) {
    std::vector<Effect> effects;
    agent.Hello(&effects);
    agent.Run(now, &effects);
    return Describe(effects);
  }
  std::vector<std::string> Send(std::string_view bytes, uint64_t now) {
    std::vector<Effect> effects;
    agent.OnChannelBytes(bytes, now, &effects);
    return Describe(effects);
  }
  std::vector<std::string> Tick(uint64_t now) {
    std::vector<Effect> effects;
    agent.Tick(now, &effects);
    return Describe(effects);
  }

  Agent agent;
};

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(AgentTest, VM4_DefaultScriptSaysHelloThenStartedAndReady) {
  Harness h(std::string(kDefaultScript), AgentMode::kInit);
  EXPECT_THAT(h.Start(),
              ElementsAre("(newline)", "hello 0.1.0 init started,ready",
                          "started", "ready"));
  EXPECT_EQ(h.agent.NextWakeMs(), std::nullopt);
  EXPECT_FALSE(h.agent.halted());
}

TEST(AgentTest, SleepDelaysTheNextStepOnly) {
  Harness h("started,sleep:100,ready,finished:0");
  EXPECT_THAT(h.Start(1000), ElementsAre("(newline)",
                                         "hello 0.1.0 test started,sleep:100,"
                                         "ready,finished:0",
                                         "started"));
  EXPECT_EQ(h.agent.NextWakeMs(), 1100u);
  EXPECT_THAT(h.Tick(1099), IsEmpty());
  EXPECT_THAT(h.Tick(1100), ElementsAre("ready", "finished 0"));
  EXPECT_EQ(h.agent.NextWakeMs(), std::nullopt);
}

TEST(AgentTest, PX2_MessageIsAckedAfterTheDelay) {
  Harness h("ack-delay:50");
  h.Start(0);
  EXPECT_THAT(h.Send(CommandLine(HostMessage{7, "hi"}), 10), IsEmpty());
  EXPECT_EQ(h.agent.pending_messages(), 1u);
  EXPECT_EQ(h.agent.NextWakeMs(), 60u);
  EXPECT_THAT(h.Tick(59), IsEmpty());
  EXPECT_THAT(h.Tick(60), ElementsAre("ack 7"));
  EXPECT_EQ(h.agent.pending_messages(), 0u);
}

TEST(AgentTest, AcksGoInArrivalOrder) {
  Harness h("ack-delay:100");
  h.Start(0);
  h.Send(CommandLine(HostMessage{1, ""}), 0);
  h.Send(CommandLine(RunScript{"ack-delay:0"}), 0);
  // Due at once, but handled after message 1.
  EXPECT_THAT(h.Send(CommandLine(HostMessage{2, ""}), 5), IsEmpty());
  EXPECT_THAT(h.Tick(100), ElementsAre("ack 1", "ack 2"));
}

TEST(AgentTest, ZeroDelayAcksAtOnceAndEchoSendsTheMessageBack) {
  Harness h("echo,send:6869");
  EXPECT_THAT(
      h.Start(),
      ElementsAre("(newline)", "hello 0.1.0 test echo,send:6869", "msg 1 hi"));
  const std::string binary("\0\n\xff", 3);
  EXPECT_THAT(h.Send(CommandLine(HostMessage{42, binary}), 3),
              ElementsAre("ack 42", "msg 2 " + binary));
}

TEST(AgentTest, VM6_FailWritesTheReasonThenPowersOff) {
  Harness h("started,fail:MICRODROID_PAYLOAD_HAS_CHANGED,ready");
  EXPECT_THAT(
      h.Start(),
      ElementsAre("(newline)",
                  "hello 0.1.0 test started,fail:MICRODROID_PAYLOAD_HAS_"
                  "CHANGED,ready",
                  "started", "failure MICRODROID_PAYLOAD_HAS_CHANGED",
                  "FAILURE PORT MICRODROID_PAYLOAD_HAS_CHANGED",
                  "action power-off", "POWER OFF"));
  EXPECT_TRUE(h.agent.halted());
  // Nothing after a power action, whatever arrives.
  EXPECT_THAT(h.Send(CommandLine(RunScript{"ready"}), 1), IsEmpty());
  EXPECT_THAT(h.Tick(1000), IsEmpty());
}

TEST(AgentTest, FailureWithoutPowerOffGoesOn) {
  Harness h("failure-hex:48414e4755500a,panic");
  EXPECT_THAT(h.Start(),
              ElementsAre("(newline)",
                          "hello 0.1.0 test failure-hex:"
                          "48414e4755500a,panic",
                          "failure HANGUP\n", "FAILURE PORT HANGUP\n",
                          "action panic", "PANIC"));
}

TEST(AgentTest, ExitReportsFinishedWithTheCodeThenPowersOff) {
  Harness h("started,ready,exit:3");
  EXPECT_THAT(h.Start(),
              ElementsAre("(newline)", "hello 0.1.0 test started,ready,exit:3",
                          "started", "ready", "finished 3", "action power-off",
                          "POWER OFF"));
}

TEST(AgentTest, EveryPowerActionAndHang) {
  EXPECT_THAT(Harness("reboot").Start(),
              ElementsAre("(newline)", "hello 0.1.0 test reboot",
                          "action reboot", "REBOOT"));
  EXPECT_THAT(Harness("poweroff").Start(),
              ElementsAre("(newline)", "hello 0.1.0 test poweroff",
                          "action power-off", "POWER OFF"));
  EXPECT_THAT(Harness("started,hang,ready").Start(),
              ElementsAre("(newline)", "hello 0.1.0 test started,hang,ready",
                          "started", "action hang", "HANG"));
}

TEST(AgentTest, VmmExitEndsTheAgentWithTheCode) {
  std::vector<Effect> effects;
  Harness fresh("started,vmm-exit:7,ready");
  fresh.agent.Hello(&effects);
  effects.clear();
  fresh.agent.Run(0, &effects);
  // The code travels in the effect itself, not in its bytes; no action line
  // comes before it (protocol version 1 has no word for a VMM exit).
  ASSERT_EQ(effects.size(), 2u);
  EXPECT_EQ(effects[1], (Effect{Kind::kVmmExit, "", 7}));
  EXPECT_NE(effects[1], (Effect{Kind::kVmmExit, "", 9}));
  EXPECT_THAT(Describe(effects), ElementsAre("started", "VMM EXIT 7"));
  EXPECT_TRUE(fresh.agent.halted());
  EXPECT_EQ(fresh.agent.queued_steps(), 0u);
  // Nothing after it, whatever arrives.
  EXPECT_THAT(fresh.Send(CommandLine(RunScript{"ready"}), 1), IsEmpty());
  EXPECT_THAT(fresh.Tick(1000), IsEmpty());
  EXPECT_EQ(fresh.agent.NextWakeMs(), std::nullopt);
}

TEST(AgentTest, VmmExitDropsPendingMessagesAndKeepsTheFailureReason) {
  Harness h("started,ack-delay:100");
  h.Start(0);
  EXPECT_THAT(h.Send(CommandLine(HostMessage{4, "x"}), 10), IsEmpty());
  EXPECT_EQ(h.agent.pending_messages(), 1u);
  EXPECT_THAT(
      h.Send(CommandLine(RunScript{
                 "failure:MICRODROID_PAYLOAD_HAS_CHANGED,vmm-exit:255"}),
             20),
      ElementsAre("failure MICRODROID_PAYLOAD_HAS_CHANGED",
                  "FAILURE PORT MICRODROID_PAYLOAD_HAS_CHANGED",
                  "VMM EXIT 255"));
  EXPECT_EQ(h.agent.pending_messages(), 0u);
  EXPECT_THAT(h.Tick(110), IsEmpty());
}

TEST(AgentTest, BadVmmExitCodeIsABadScript) {
  EXPECT_THAT(
      Harness("vmm-exit:8").Start(),
      ElementsAre("(newline)", "hello 0.1.0 test vmm-exit:8",
                  "error bad-script: proctor.behaviour: step 1 "
                  "(\"vmm-exit:8\"): \"8\" is not an odd whole number in "
                  "1..255 without leading zeros (isa-debug-exit makes only "
                  "odd exit codes)",
                  "action power-off", "POWER OFF"));
}

TEST(AgentTest, VM5_HangBeforeStartedNeverReportsStarted) {
  Harness h("hang,started");
  EXPECT_THAT(h.Start(),
              ElementsAre("(newline)", "hello 0.1.0 test hang,started",
                          "action hang", "HANG"));
  EXPECT_TRUE(h.agent.halted());
  EXPECT_THAT(h.Send(CommandLine(HostMessage{1, ""}), 5), IsEmpty());
}

TEST(AgentTest, RunQueuesStepsAfterTheCurrentScript) {
  Harness h("started,sleep:10");
  h.Start(0);
  EXPECT_THAT(h.Send(CommandLine(RunScript{"ready,exit:0"}), 5), IsEmpty());
  EXPECT_THAT(h.Tick(10), ElementsAre("ready", "finished 0", "action power-off",
                                      "POWER OFF"));
}

TEST(AgentTest, BadCommandsAreReportedAndTheAgentGoesOn) {
  Harness h("");
  h.Start();
  std::string unknown = "PROCTOR/1 frob";
  unknown += " crc=" + [&] {
    char buf[9];
    std::snprintf(buf, sizeof(buf), "%08x", Crc32("PROCTOR/1 frob"));
    return std::string(buf);
  }() + "\n";
  const std::string garbage = "hello?\n";
  const std::string bad_crc = "PROCTOR/1 msg id=1 data= crc=00000000\n";
  const std::string report = CommandLine(HostMessage{3, ""});
  const std::string started_line = [] {
    std::string line;
    EncodeReport(proctor::guest::Started{}, &line);
    return line;
  }();
  EXPECT_THAT(
      h.Send(unknown + garbage + bad_crc + started_line + report, 0),
      ElementsAre(
          "error unknown-type: agent channel byte 10: unknown command type "
          "\"frob\"",
          "error garbage: agent channel byte " +
              std::to_string(unknown.size()) +
              ": not a protocol line (no \"PROCTOR/\" prefix): \"hello?\"",
          "error bad-checksum: agent channel byte " +
              std::to_string(unknown.size() + garbage.size() + 29) +
              ": checksum mismatch: the line says crc=00000000, its bytes "
              "give f445a18a",
          "error unknown-type: agent channel byte " +
              std::to_string(unknown.size() + garbage.size() + bad_crc.size() +
                             10) +
              ": \"started\" is a report (guest to host), not a command",
          "ack 3"));
}

TEST(AgentTest, BadScriptInRunIsRefusedWhole) {
  Harness h("");
  h.Start();
  EXPECT_THAT(h.Send(CommandLine(RunScript{"ready,explode"}), 0),
              ElementsAre("error bad-script: run: step 2 (\"explode\"): "
                          "unknown step"));
  EXPECT_EQ(h.agent.queued_steps(), 0u);
}

TEST(AgentTest, BadDefaultScriptIsReportedAndPowersOff) {
  Harness h("started,sleep:soon", AgentMode::kInit);
  EXPECT_THAT(h.Start(),
              ElementsAre("(newline)", "hello 0.1.0 init started,sleep:soon",
                          "error bad-script: proctor.behaviour: step 2 "
                          "(\"sleep:soon\"): \"soon\" is not a whole number "
                          "in 0..86400000 without leading zeros",
                          "action power-off", "POWER OFF"));
}

TEST(AgentTest, PendingMessagesAreBounded) {
  Harness h("ack-delay:1000");
  h.Start(0);
  std::string burst;
  for (uint64_t id = 1; id <= kMaxPendingMessages + 1; ++id) {
    burst += CommandLine(HostMessage{id, "x"});
  }
  EXPECT_THAT(h.Send(burst, 0),
              ElementsAre("error too-many-pending: message 65 refused: 64 "
                          "messages (64 bytes) are waiting for their ack; at "
                          "most 64 (1048576 bytes)"));
  EXPECT_EQ(h.agent.pending_messages(), kMaxPendingMessages);
  const std::vector<std::string> acks = h.Tick(1000);
  EXPECT_EQ(acks.size(), kMaxPendingMessages);
  EXPECT_EQ(acks.back(), "ack 64");

  // And by bytes: 16 maximum messages are 1 MiB.
  Harness big("ack-delay:1000");
  big.Start(0);
  const std::string data(kMaxMessageBytes, 'd');
  for (uint64_t id = 1; id <= 16; ++id) {
    EXPECT_THAT(big.Send(CommandLine(HostMessage{id, data}), 0), IsEmpty());
  }
  EXPECT_THAT(big.Send(CommandLine(HostMessage{17, "y"}), 0),
              ElementsAre("error too-many-pending: message 17 refused: 16 "
                          "messages (1048576 bytes) are waiting for their "
                          "ack; at most 64 (1048576 bytes)"));
}

TEST(AgentTest, QueuedStepsAreBounded) {
  Harness h("sleep:1000");
  h.Start(0);
  std::string steps = "ready";
  for (int i = 1; i < 40; ++i) steps += ",ready";
  EXPECT_THAT(h.Send(CommandLine(RunScript{steps}), 0), IsEmpty());
  EXPECT_THAT(h.Send(CommandLine(RunScript{steps}), 0),
              ElementsAre("error too-many-steps: run refused: 40 steps would "
                          "join the 40 queued; at most 64 steps and 262144 "
                          "bytes"));
  EXPECT_EQ(h.agent.queued_steps(), 40u);
}

TEST(AgentTest, CommandsSplitAtEveryByteGiveTheSameEffects) {
  const std::string stream = CommandLine(HostMessage{1, "abc"}) + "noise\n" +
                             CommandLine(RunScript{"send:00"}) +
                             CommandLine(HostMessage{2, ""});
  Harness whole("");
  whole.Start();
  const std::vector<std::string> want = whole.Send(stream, 0);
  ASSERT_EQ(want.size(), 4u);
  for (size_t i = 0; i <= stream.size(); ++i) {
    Harness h("");
    h.Start();
    std::vector<std::string> got = h.Send(stream.substr(0, i), 0);
    for (const std::string& s : h.Send(stream.substr(i), 0)) got.push_back(s);
    ASSERT_EQ(got, want) << "split at " << i;
  }
}

TEST(AgentTest, OverlongAndTruncatedLinesAreReported) {
  Harness h("");
  h.Start();
  std::vector<Effect> effects;
  h.agent.OnChannelBytes(std::string(kMaxLineBytes + 1, 'x'), 0, &effects);
  h.agent.OnChannelBytes("\nPROCTOR/1 ms", 0, &effects);
  h.agent.OnChannelEnd(&effects);
  EXPECT_THAT(Describe(effects),
              ElementsAre("error too-long: agent channel byte 131328: line "
                          "longer than 131328 bytes; skipped up to its end",
                          "error truncated: agent channel byte 131330: the "
                          "stream ended inside a line"));
}

TEST(AgentTest, FailReportsAndPowersOffOnce) {
  Harness h("");
  h.Start();
  std::vector<Effect> effects;
  h.agent.Fail("system", "read agent channel: Input/output error", &effects);
  h.agent.Fail("system", "again", &effects);
  h.agent.ReportError("setup", "ignored once halted", &effects);
  EXPECT_THAT(Describe(effects),
              ElementsAre("error system: read agent channel: Input/output "
                          "error",
                          "action power-off", "POWER OFF"));
}

TEST(AgentTest, LongErrorTextIsCut) {
  Harness h("");
  h.Start();
  std::vector<Effect> effects;
  h.agent.ReportError("setup", std::string(5000, 'e'), &effects);
  const std::vector<std::string> d = Describe(effects);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0], "error setup: " + std::string(kMaxErrorTextBytes, 'e'));
}

TEST(KernelCommandLineTest, FindsTheAgentsParameters) {
  auto parsed = ParseKernelCommandLine(
      "console=ttyS0 panic=-1 proctor.behaviour=started,sleep:5 "
      "proctor.modules=\"/lib/a.ko,/lib/b.ko\" quiet\n");
  ASSERT_TRUE(std::holds_alternative<KernelParameters>(parsed));
  EXPECT_EQ(std::get<KernelParameters>(parsed),
            (KernelParameters{"started,sleep:5", "/lib/a.ko,/lib/b.ko"}));

  parsed = ParseKernelCommandLine("proctor.behaviour=a proctor.behaviour=");
  EXPECT_EQ(std::get<KernelParameters>(parsed),
            (KernelParameters{"", std::nullopt}));
  parsed = ParseKernelCommandLine("");
  EXPECT_EQ(std::get<KernelParameters>(parsed), KernelParameters{});
}

TEST(KernelCommandLineTest, Errors) {
  auto parsed = ParseKernelCommandLine("proctor.behavior=started");
  ASSERT_TRUE(std::holds_alternative<std::string>(parsed));
  EXPECT_EQ(std::get<std::string>(parsed),
            "unknown kernel parameter \"proctor.behavior\" (the agent knows "
            "proctor.behaviour and proctor.modules)");
  parsed = ParseKernelCommandLine(std::string(4097, ' '));
  EXPECT_EQ(std::get<std::string>(parsed),
            "the kernel command line is 4097 bytes; at most 4096");
}

TEST(ModuleListTest, CommaAndLineLists) {
  auto list = ParseModuleList("/a.ko,/b/c.ko", ',');
  EXPECT_EQ(std::get<std::vector<std::string>>(list),
            (std::vector<std::string>{"/a.ko", "/b/c.ko"}));
  list = ParseModuleList("", ',');
  EXPECT_TRUE(std::get<std::vector<std::string>>(list).empty());
  list = ParseModuleList(
      "# pvpanic, then its ISA driver\n/m/pvpanic.ko\n\n"
      "/m/pvpanic-mmio.ko\n",
      '\n');
  EXPECT_EQ(std::get<std::vector<std::string>>(list),
            (std::vector<std::string>{"/m/pvpanic.ko", "/m/pvpanic-mmio.ko"}));
}

TEST(ModuleListTest, Errors) {
  EXPECT_EQ(std::get<std::string>(ParseModuleList("/a.ko,,/b.ko", ',')),
            "module 2 (\"\"): not an absolute path of 1..256 bytes");
  EXPECT_EQ(std::get<std::string>(ParseModuleList("a.ko", ',')),
            "module 1 (\"a.ko\"): not an absolute path of 1..256 bytes");
  EXPECT_EQ(std::get<std::string>(ParseModuleList("/a b.ko\n", '\n')),
            "module 1 (\"/a b.ko\"): not printable ASCII");
  std::string many;
  for (int i = 0; i < 33; ++i) many += "/m.ko\n";
  EXPECT_EQ(std::get<std::string>(ParseModuleList(many, '\n')),
            "more than 32 modules");
}

}  // namespace
}  // namespace proctor::guest
