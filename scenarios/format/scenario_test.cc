#include "scenarios/format/scenario.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proctor::scenario {
namespace {

namespace so = sim::script_op;
using ::testing::HasSubstr;
using json = nlohmann::json;

// ---- Comparing scenarios field by field (locations and `file` aside) ----

auto Tie(const so::CreateVm& x) { return std::tie(x.config); }
auto Tie(const so::StartVm& x) { return std::tie(x.cid); }
auto Tie(const so::KillVm& x) { return std::tie(x.cid); }
auto Tie(const so::InstallContainer& x) {
  return std::tie(x.container, x.spec);
}
auto Tie(const so::StartContainer& x) { return std::tie(x.container); }
auto Tie(const so::StopContainer& x) { return std::tie(x.container, x.grace); }
auto Tie(const so::WaitContainer& x) { return std::tie(x.container); }
auto Tie(const so::KillContainer& x) { return std::tie(x.container, x.signal); }
auto Tie(const so::UninstallContainer& x) { return std::tie(x.container); }
auto Tie(const so::CopyFile& x) {
  return std::tie(x.container, x.direction, x.guest_path);
}
auto Tie(const so::AttachBlockDevice& x) {
  return std::tie(x.container, x.slot);
}
auto Tie(const so::AddProxy& x) { return std::tie(x.proxy); }
auto Tie(const so::Send& x) {
  return std::tie(x.proxy, x.from_container, x.count, x.bytes);
}
auto Tie(const so::Close& x) { return std::tie(x.proxy, x.container_side); }
auto Tie(const so::RegisterWatcher& x) { return std::tie(x.watcher); }
auto Tie(const so::AddWakeSource& x) { return std::tie(x.source); }
auto Tie(const so::RemoveWakeSource& x) { return std::tie(x.source); }
auto Tie(const so::SignalWakeSource& x) {
  return std::tie(x.source, x.hold, x.in_mask);
}
auto Tie(const so::Suspend&) { return std::tuple<>(); }
auto Tie(const so::Subscribe& x) { return std::tie(x.subscriber); }
auto Tie(const so::Poll& x) { return std::tie(x.subscriber, x.max_events); }
auto Tie(const so::Unsubscribe& x) { return std::tie(x.subscriber); }
auto Tie(const so::Shutdown&) { return std::tuple<>(); }
auto Tie(const so::InjectFault& x) {
  return std::tie(x.kind, x.target, x.a, x.b);
}

bool SameOp(const sim::ScriptOp& a, const sim::ScriptOp& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        return Tie(x) == Tie(std::get<T>(b));
      },
      a);
}

void ExpectSameScenario(const Scenario& a, const Scenario& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.rules, b.rules);
  EXPECT_EQ(a.worlds, b.worlds);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.time_limit, b.time_limit);
  EXPECT_EQ(a.invariants, b.invariants);
  EXPECT_EQ(a.generated, b.generated);
  EXPECT_EQ(a.faults, b.faults);
  ASSERT_EQ(a.setup.vms.size(), b.setup.vms.size());
  for (size_t i = 0; i < a.setup.vms.size(); ++i) {
    EXPECT_EQ(a.setup.vms[i].config, b.setup.vms[i].config) << "vm " << i;
    EXPECT_EQ(a.setup.vms[i].guest, b.setup.vms[i].guest) << "vm " << i;
  }
  ASSERT_EQ(a.setup.containers.size(), b.setup.containers.size());
  for (size_t i = 0; i < a.setup.containers.size(); ++i) {
    EXPECT_EQ(a.setup.containers[i].id, b.setup.containers[i].id);
    EXPECT_EQ(a.setup.containers[i].spec, b.setup.containers[i].spec);
    EXPECT_EQ(a.setup.containers[i].process, b.setup.containers[i].process);
  }
  EXPECT_EQ(a.setup.proxies, b.setup.proxies);
  EXPECT_EQ(a.setup.wake_sources, b.setup.wake_sources);
  ASSERT_EQ(a.steps.size(), b.steps.size());
  for (size_t i = 0; i < a.steps.size(); ++i) {
    EXPECT_EQ(a.steps[i].when.at, b.steps[i].when.at) << "step " << i;
    EXPECT_EQ(a.steps[i].when.delay, b.steps[i].when.delay) << "step " << i;
    ASSERT_EQ(a.steps[i].when.after.has_value(),
              b.steps[i].when.after.has_value());
    if (a.steps[i].when.after) {
      EXPECT_EQ(a.steps[i].when.after->kind, b.steps[i].when.after->kind);
      EXPECT_EQ(a.steps[i].when.after->where, b.steps[i].when.after->where);
    }
    EXPECT_TRUE(SameOp(a.steps[i].op, b.steps[i].op))
        << "step " << i << ": " << sim::ScriptOpName(a.steps[i].op) << " vs "
        << sim::ScriptOpName(b.steps[i].op);
  }
  ASSERT_EQ(a.expect.size(), b.expect.size());
  for (size_t i = 0; i < a.expect.size(); ++i) {
    const Expectation& x = a.expect[i];
    const Expectation& y = b.expect[i];
    EXPECT_EQ(x.kind, y.kind) << "expectation " << i;
    EXPECT_EQ(x.rule, y.rule) << "expectation " << i;
    EXPECT_EQ(x.pattern.kind, y.pattern.kind) << "expectation " << i;
    EXPECT_EQ(x.pattern.where, y.pattern.where) << "expectation " << i;
    EXPECT_EQ(x.window.from, y.window.from) << "expectation " << i;
    EXPECT_EQ(x.window.until, y.window.until) << "expectation " << i;
    ASSERT_EQ(x.window.after.has_value(), y.window.after.has_value());
    if (x.window.after) {
      EXPECT_EQ(x.window.after->kind, y.window.after->kind);
      EXPECT_EQ(x.window.after->where, y.window.after->where);
    }
    EXPECT_EQ(x.count, y.count) << "expectation " << i;
    EXPECT_EQ(x.final_state, y.final_state) << "expectation " << i;
  }
}

absl::StatusOr<Scenario> Parse(absl::string_view yaml) {
  return ParseScenario(yaml, "x.yaml");
}

// The error message of a scenario that must not parse.
std::string Error(absl::string_view yaml) {
  const absl::StatusOr<Scenario> s = Parse(yaml);
  if (s.ok()) return "(parsed)";
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(s.status().message());
}

// Parses, formats, parses the text again and checks both agree; returns the
// formatted text.
std::string RoundTrip(const Scenario& s) {
  const std::string text = FormatScenario(s);
  const absl::StatusOr<Scenario> again = ParseScenario(text, "again.yaml");
  EXPECT_TRUE(again.ok()) << again.status() << "\n" << text;
  if (!again.ok()) return text;
  ExpectSameScenario(s, *again);
  EXPECT_EQ(FormatScenario(*again), text);
  return text;
}

constexpr absl::string_view kFull =
    R"(name: crash-during-boot-with-hangup-detection
description: >
  A VMM that crashes while hangup detection waits for Started dies with
  CRASH at once, not HANGUP after the timeout.
rules: [VM-5, VM-6, CN-4, PX-3, PW-3, RT-2]
worlds: [sim, qemu, libvirt]
seed: 42
time_limit: 2m
invariants: false
setup:
  vms:
    - cid: 3
      config:
        kernel: /images/vmlinux
        initrd: /images/initrd.img
        disks: [{image: /images/d.img, writable: true}, {image: /images/ro.img}]
        params: "console=hvc0"
        protected_vm: true
        memory_mib: 512
        cpus: 2
        cpu_affinity: "0-1"
        task_profiles: [a, b]
        console_sink: /tmp/console
        log_sink: /tmp/log
        platform_version: ">=1.0"
        detect_hangup: true
        hangup_timeout: 5s
      guest:
        started_after: 250ms
        ready_after: 100ms
        finish_after: 2s
        exit_code: 7
    - cid: 5
  containers:
    - id: 1
      owns_vm: false
      socket_relays: 2
      ports: {start: 50000, end: 50003}
      process: {exit_after: 1.5s, exit_code: 3}
    - id: 2
  proxies: [1, 2]
  wake_sources: 2
steps:
  - at: 0s
    create_vm: 3
  - {at: 0s, guest: {vm: 3, crash_at_boot: true}}
  - after: {event: vm_state, where: {cid: 3, state: RUNNING}}
    delay: 1s
    kill_vm: 3
  - {at: 1s, install: 1}
  - {at: 5s, stop: {container: 1, grace: -2s}}
  - {at: 6s, kill: {container: 1, signal: SIGTERM}}
  - {at: 3s, copy: {container: 2, direction: out, path: "/etc/\0hosts"}}
  - {at: 30s, shutdown: }
expect:
  - event: on_died
    where: {cid: 3, reason: CRASH, n: 1.5, big: 18446744073709551615, ok: true, none: ~, q: "7", list: [1, two]}
    within: 5s
    after: {event: vm_state, where: {cid: 3, state: RUNNING}}
    count: 1
    rule: VM-6
  - never: on_died
    where: {reason: HANGUP, text: "~HANG"}
    between: [1s, 60s]
    rule: VM-5
  - final:
      vms: {3: DEAD, 5: NOT_STARTED}
      payloads: {3: READY}
      containers: {1: uninstalled}
      proxies: {1: stopped, 2: running}
      suspended: false
      shutdown_complete: true
    rule: RT-2
)";

TEST(ScenarioFormatTest, ParsesEveryFieldOfAFullExample) {
  const absl::StatusOr<Scenario> parsed = ParseScenario(kFull, "full.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const Scenario& s = *parsed;
  EXPECT_EQ(s.file, "full.yaml");
  EXPECT_EQ(s.name, "crash-during-boot-with-hangup-detection");
  EXPECT_EQ(s.description,
            "A VMM that crashes while hangup detection waits for Started dies "
            "with CRASH at once, not HANGUP after the timeout.\n");
  EXPECT_EQ(s.rules, (std::vector<std::string>{"VM-5", "VM-6", "CN-4", "PX-3",
                                               "PW-3", "RT-2"}));
  EXPECT_EQ(s.worlds, (std::vector<WorldKind>{WorldKind::kSim, WorldKind::kQemu,
                                              WorldKind::kLibvirt}));
  EXPECT_EQ(s.seed, 42u);
  EXPECT_EQ(s.time_limit, absl::Minutes(2));
  EXPECT_FALSE(s.invariants);
  EXPECT_FALSE(s.generated.has_value());
  EXPECT_TRUE(s.faults.empty());

  ASSERT_EQ(s.setup.vms.size(), 2u);
  VmConfig c;
  c.cid = Cid{3};
  c.kernel = "/images/vmlinux";
  c.initrd = "/images/initrd.img";
  c.disks = {{"/images/d.img", true}, {"/images/ro.img", false}};
  c.params = "console=hvc0";
  c.protected_vm = true;
  c.memory_mib = 512;
  c.cpus = 2;
  c.cpu_affinity = "0-1";
  c.task_profiles = {"a", "b"};
  c.console_sink = "/tmp/console";
  c.log_sink = "/tmp/log";
  c.platform_version = ">=1.0";
  c.detect_hangup = true;
  c.hangup_timeout = absl::Seconds(5);
  EXPECT_EQ(s.setup.vms[0].config, c);
  EXPECT_EQ(s.setup.vms[0].guest,
            (sim::ScriptedGuest{absl::Milliseconds(250),
                                absl::Milliseconds(100), absl::Seconds(2), 7}));
  EXPECT_EQ(s.setup.vms[0].location, (SourceLocation{12, 7}));
  VmConfig d;
  d.cid = Cid{5};
  d.kernel = "/images/vmlinux";
  EXPECT_EQ(s.setup.vms[1].config, d);
  EXPECT_EQ(s.setup.vms[1].guest, sim::ScriptedGuest{});

  ASSERT_EQ(s.setup.containers.size(), 2u);
  EXPECT_EQ(s.setup.containers[0].id, ContainerId{1});
  EXPECT_EQ(s.setup.containers[0].spec,
            (ContainerSpec{false, 2, 50000, 50003}));
  EXPECT_EQ(s.setup.containers[0].process,
            (sim::ScriptedProcess{absl::Milliseconds(1500), 3}));
  EXPECT_EQ(s.setup.containers[0].location, (SourceLocation{35, 7}));
  EXPECT_EQ(s.setup.containers[1].id, ContainerId{2});
  EXPECT_EQ(s.setup.containers[1].spec, ContainerSpec{});
  EXPECT_EQ(s.setup.containers[1].process, sim::ScriptedProcess{});
  EXPECT_EQ(s.setup.proxies, (std::vector<ProxyId>{ProxyId{1}, ProxyId{2}}));
  EXPECT_EQ(s.setup.wake_sources, 2u);

  ASSERT_EQ(s.steps.size(), 8u);
  EXPECT_EQ(s.steps[0].when.at, absl::ZeroDuration());
  EXPECT_FALSE(s.steps[0].when.after.has_value());
  EXPECT_EQ(s.steps[0].location, (SourceLocation{44, 5}));
  EXPECT_TRUE(SameOp(s.steps[0].op, so::CreateVm{c}));
  EXPECT_TRUE(
      SameOp(s.steps[1].op,
             so::InjectFault{sim::FaultKind::kVmmCrashAtBoot, 3, 0, 0}));
  EXPECT_FALSE(s.steps[2].when.at.has_value());
  ASSERT_TRUE(s.steps[2].when.after.has_value());
  EXPECT_EQ(s.steps[2].when.after->kind, "vm_state");
  EXPECT_EQ(s.steps[2].when.after->where,
            json::parse(R"({"cid":3,"state":"RUNNING"})"));
  EXPECT_EQ(s.steps[2].when.after->location, (SourceLocation{47, 12}));
  EXPECT_EQ(s.steps[2].when.delay, absl::Seconds(1));
  EXPECT_TRUE(SameOp(s.steps[2].op, so::KillVm{Cid{3}}));
  EXPECT_TRUE(
      SameOp(s.steps[3].op,
             so::InstallContainer{ContainerId{1}, s.setup.containers[0].spec}));
  EXPECT_TRUE(SameOp(s.steps[4].op,
                     so::StopContainer{ContainerId{1}, absl::Seconds(-2)}));
  EXPECT_TRUE(SameOp(s.steps[5].op, so::KillContainer{ContainerId{1}, 15}));
  EXPECT_TRUE(SameOp(s.steps[6].op,
                     so::CopyFile{ContainerId{2}, input::CopyDirection::kOut,
                                  std::string("/etc/\0hosts", 11)}));
  EXPECT_EQ(s.steps[7].when.at, absl::Seconds(30));
  EXPECT_TRUE(SameOp(s.steps[7].op, so::Shutdown{}));

  ASSERT_EQ(s.expect.size(), 3u);
  const Expectation& e0 = s.expect[0];
  EXPECT_EQ(e0.kind, Expectation::Kind::kEvent);
  EXPECT_EQ(e0.pattern.kind, "on_died");
  EXPECT_EQ(e0.pattern.where,
            json::parse(R"({"cid":3,"reason":"CRASH","n":1.5,)"
                        R"("big":18446744073709551615,"ok":true,"none":null,)"
                        R"("q":"7","list":[1,"two"]})"));
  EXPECT_TRUE(e0.pattern.where["cid"].is_number_integer());
  EXPECT_TRUE(e0.pattern.where["n"].is_number_float());
  EXPECT_TRUE(e0.pattern.where["big"].is_number_unsigned());
  EXPECT_TRUE(e0.pattern.where["q"].is_string());
  EXPECT_EQ(e0.window.from, absl::ZeroDuration());
  EXPECT_EQ(e0.window.until, absl::Seconds(5));
  ASSERT_TRUE(e0.window.after.has_value());
  EXPECT_EQ(e0.window.after->kind, "vm_state");
  EXPECT_EQ(e0.count, 1u);
  EXPECT_EQ(e0.rule, "VM-6");
  EXPECT_EQ(e0.location, (SourceLocation{56, 5}));
  const Expectation& e1 = s.expect[1];
  EXPECT_EQ(e1.kind, Expectation::Kind::kNever);
  EXPECT_EQ(e1.pattern.kind, "on_died");
  EXPECT_EQ(e1.pattern.where,
            json::parse(R"({"reason":"HANGUP","text":"~HANG"})"));
  EXPECT_EQ(e1.window.from, absl::Seconds(1));
  EXPECT_EQ(e1.window.until, absl::Seconds(60));
  EXPECT_FALSE(e1.window.after.has_value());
  EXPECT_FALSE(e1.count.has_value());
  EXPECT_EQ(e1.rule, "VM-5");
  const Expectation& e2 = s.expect[2];
  EXPECT_EQ(e2.kind, Expectation::Kind::kFinal);
  FinalState f;
  f.vms = {{3, "DEAD"}, {5, "NOT_STARTED"}};
  f.payloads = {{3, "READY"}};
  f.containers = {{1, "uninstalled"}};
  f.proxies = {{1, "stopped"}, {2, "running"}};
  f.suspended = false;
  f.shutdown_complete = true;
  EXPECT_EQ(e2.final_state, f);
  EXPECT_EQ(e2.rule, "RT-2");
  EXPECT_EQ(e2.window, TimeWindow{});
}

TEST(ScenarioFormatTest, MinimalScenarioTakesTheDefaults) {
  const absl::StatusOr<Scenario> s =
      Parse("name: a.b_c-1\nrules: [RT-1]\nworlds: [runc]\n");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->name, "a.b_c-1");
  EXPECT_EQ(s->description, "");
  EXPECT_EQ(s->seed, 0u);
  EXPECT_EQ(s->time_limit, absl::Minutes(10));
  EXPECT_TRUE(s->invariants);
  EXPECT_TRUE(s->setup.vms.empty());
  EXPECT_TRUE(s->steps.empty());
  EXPECT_TRUE(s->expect.empty());
  EXPECT_TRUE(s->AppliesTo(WorldKind::kRunc));
  EXPECT_FALSE(s->AppliesTo(WorldKind::kSim));
}

TEST(ScenarioFormatTest, WorldKindNamesRoundTrip) {
  for (WorldKind w : {WorldKind::kSim, WorldKind::kProcess, WorldKind::kQemu,
                      WorldKind::kLibvirt, WorldKind::kRunc}) {
    EXPECT_EQ(ParseWorldKind(WorldKindName(w)), w);
  }
  EXPECT_EQ(WorldKindName(WorldKind::kLibvirt), "libvirt");
  EXPECT_EQ(ParseWorldKind("kvm"), std::nullopt);
  EXPECT_EQ(ParseWorldKind("SIM"), std::nullopt);
}

// The setup the step and error tests share; its steps start on line 13.
constexpr absl::string_view kBase = R"(name: t
rules: [VM-5, VM-6, RT-2]
worlds: [sim]
setup:
  vms:
    - cid: 3
    - cid: 5
  containers:
    - id: 1
  proxies: [1, 2]
  wake_sources: 1
steps:
)";

sim::ScriptOp OpOf(absl::string_view step) {
  const absl::StatusOr<Scenario> s =
      Parse(absl::StrCat(kBase, "  - ", step, "\n"));
  EXPECT_TRUE(s.ok()) << step << ": " << s.status();
  if (!s.ok() || s->steps.size() != 1) return so::Suspend{};
  return s->steps[0].op;
}

TEST(ScenarioFormatTest, EveryOpParsesToItsScriptOp) {
  VmConfig three;
  three.cid = Cid{3};
  three.kernel = "/images/vmlinux";
  VmConfig other;
  other.cid = Cid{3};
  other.bootloader = "/b";
  VmConfig neither;
  neither.cid = Cid{5};
  const ContainerId c1{1};
  const struct {
    absl::string_view step;
    sim::ScriptOp op;
  } kCases[] = {
      {"{at: 0s, create_vm: 3}", so::CreateVm{three}},
      {"{at: 0s, create_vm: {cid: 3}}", so::CreateVm{three}},
      {"{at: 0s, create_vm: {cid: 3, config: {bootloader: /b}}}",
       so::CreateVm{other}},
      {"{at: 0s, create_vm: {cid: 5, config: {kernel: null}}}",
       so::CreateVm{neither}},
      {"{at: 0s, start_vm: 5}", so::StartVm{Cid{5}}},
      {"{at: 0s, kill_vm: 3}", so::KillVm{Cid{3}}},
      {"{at: 1s, install: 1}", so::InstallContainer{c1, ContainerSpec{}}},
      {"{at: 1s, install: {container: 1, spec: {owns_vm: false, ports: "
       "{start: 7}}}}",
       so::InstallContainer{c1, ContainerSpec{false, 0, 7, 0xffffffff}}},
      {"{at: 2s, start: 1}", so::StartContainer{c1}},
      {"{at: 5s, stop: 1}", so::StopContainer{c1, std::nullopt}},
      {"{at: 5s, stop: {container: 1, grace: 2s}}",
       so::StopContainer{c1, absl::Seconds(2)}},
      {"{at: 5s, stop: {container: 1, grace: -1s}}",
       so::StopContainer{c1, absl::Seconds(-1)}},
      {"{at: 6s, wait: 1}", so::WaitContainer{c1}},
      {"{at: 6s, kill: 1}", so::KillContainer{c1, 9}},
      {"{at: 6s, kill: {container: 1, signal: SIGTERM}}",
       so::KillContainer{c1, 15}},
      {"{at: 6s, kill: {container: 1, signal: SIGUSR2}}",
       so::KillContainer{c1, 12}},
      {"{at: 6s, kill: {container: 1, signal: 64}}", so::KillContainer{c1, 64}},
      {"{at: 7s, uninstall: 1}", so::UninstallContainer{c1}},
      {"{at: 3s, copy: {container: 1, path: /etc/hosts}}",
       so::CopyFile{c1, input::CopyDirection::kIn, "/etc/hosts"}},
      {"{at: 3s, copy: {container: 1, direction: out, path: \"\"}}",
       so::CopyFile{c1, input::CopyDirection::kOut, ""}},
      {"{at: 3s, attach: 1}", so::AttachBlockDevice{c1, 1}},
      {"{at: 3s, attach: {container: 1, slot: 26}}",
       so::AttachBlockDevice{c1, 26}},
      {"{at: 0s, add_proxy: 2}", so::AddProxy{ProxyId{2}}},
      {"{at: 1s, send: {proxy: 1}}", so::Send{ProxyId{1}, false, 1, 64}},
      {"{at: 1s, send: {proxy: 1, from: container, count: 5, bytes: 16}}",
       so::Send{ProxyId{1}, true, 5, 16}},
      {"{at: 2s, close: {proxy: 2}}", so::Close{ProxyId{2}, false}},
      {"{at: 2s, close: {proxy: 2, side: container}}",
       so::Close{ProxyId{2}, true}},
      {"{at: 0s, register_watcher: 7}", so::RegisterWatcher{WatcherId{7}}},
      {"{at: 0s, add_wake_source: 1}", so::AddWakeSource{1}},
      {"{at: 0s, remove_wake_source: 1}", so::RemoveWakeSource{1}},
      {"{at: 0s, signal_wake_source: 1}",
       so::SignalWakeSource{1, absl::Milliseconds(100), true}},
      {"{at: 0s, signal_wake_source: {source: 1, hold: 2s, in_mask: false}}",
       so::SignalWakeSource{1, absl::Seconds(2), false}},
      {"{at: 1s, suspend: {}}", so::Suspend{}},
      {"{at: 1s, suspend: }", so::Suspend{}},
      {"{at: 1s, suspend: ~}", so::Suspend{}},
      {"{at: 0s, subscribe: 4}", so::Subscribe{SubscriberId{4}}},
      {"{at: 1s, poll: 4}", so::Poll{SubscriberId{4}, 64}},
      {"{at: 1s, poll: {subscriber: 4, max: 3}}", so::Poll{SubscriberId{4}, 3}},
      {"{at: 1s, unsubscribe: 4}", so::Unsubscribe{SubscriberId{4}}},
      {"{at: 30s, shutdown: {}}", so::Shutdown{}},
  };
  for (const auto& c : kCases) {
    EXPECT_TRUE(SameOp(OpOf(c.step), c.op)) << c.step;
  }
}

TEST(ScenarioFormatTest, BehavioursAndFaultsBecomeInjectFault) {
  using sim::FaultKind;
  const struct {
    absl::string_view step;
    so::InjectFault fault;
  } kCases[] = {
      {"{at: 0s, guest: {vm: 3, crash_at_boot: true}}",
       {FaultKind::kVmmCrashAtBoot, 3, 0, 0}},
      {"{at: 0s, guest: {vm: 3, hang: true}}",
       {FaultKind::kGuestHang, 3, 0, 0}},
      {"{at: 0s, guest: {vm: 5, slow_start: 5s}}",
       {FaultKind::kGuestSlowStart, 5, 5000, 0}},
      {"{at: 0s, guest: {vm: 3, panic: true}}",
       {FaultKind::kGuestPanic, 3, 0, 0}},
      {"{at: 0s, guest: {vm: 3, reboot: true}}",
       {FaultKind::kGuestReboot, 3, 0, 0}},
      {"{at: 0s, guest: {vm: 3, failure_reason: "
       "PVM_FIRMWARE_PUBLIC_KEY_MISMATCH}}",
       {FaultKind::kFailureReason, 3, 0, 0}},
      {"{at: 0s, guest: {vm: 3, failure_reason: "
       "MICRODROID_PAYLOAD_HAS_CHANGED, "
       "exit_code: 1}}",
       {FaultKind::kFailureReason, 3, 5, 1}},
      {"{at: 0s, guest: {vm: 3, failure_reason: HANGUP}}",
       {FaultKind::kFailureReason, 3, 9, 0}},
      {"{at: 0s, guest: {vm: 3, failure_reason_variant: 24, exit_code: -1}}",
       {FaultKind::kFailureReason, 3, 24, -1}},
      {"{at: 0s, guest: {vm: 3, exit_unobservable: true}}",
       {FaultKind::kVmmExitUnobservable, 3, 0, 0}},
      {"{at: 0s, guest: {vm: 3, report_out_of_order: repeat}}",
       {FaultKind::kPayloadOutOfOrder, 3, 0, 0}},
      {"{at: 0s, guest: {vm: 3, report_out_of_order: backward}}",
       {FaultKind::kPayloadOutOfOrder, 3, 1, 0}},
      {"{at: 0s, process: {container: 1, ignores_sigterm: true}}",
       {FaultKind::kContainerIgnoresSigterm, 1, 0, 0}},
      {"{at: 0s, process: {container: 1, crash: true}}",
       {FaultKind::kContainerCrash, 1, 0, 0}},
      {"{at: 0s, process: {container: 1, memory_pressure: 5}}",
       {FaultKind::kCgroupMemoryPressure, 1, 5, 0}},
      {"{at: 0s, agent: {container: 1, refuses: 3}}",
       {FaultKind::kAgentRefuses, 1, 3, 0}},
      {"{at: 0s, agent: {container: 1, never_accepts: 12s}}",
       {FaultKind::kAgentNeverAccepts, 1, 12000, 0}},
      {"{at: 0s, boot: {container: 1, transient_errors: 2}}",
       {FaultKind::kBootTransientError, 1, 2, 0}},
      {"{at: 0s, boot: {container: 1, permanent_error: true}}",
       {FaultKind::kBootPermanentError, 1, 0, 0}},
      {"{at: 0s, fault: {kind: remote_burst_then_close, target: 1, a: 10, b: "
       "0}}",
       {FaultKind::kRemoteBurstThenClose, 1, 10, 0}},
      {"{at: 0s, fault: {kind: vmm_spawn_fail, target: 5}}",
       {FaultKind::kVmmSpawnFail, 5, 0, 0}},
      {"{at: 0s, fault: {kind: completion_delay, a: 100, b: -7}}",
       {FaultKind::kCompletionDelay, 0, 100, -7}},
      {"{at: 0s, fault: {kind: completion_delay, target: 2}}",
       {FaultKind::kCompletionDelay, 2, 0, 0}},
      {"{at: 0s, fault: {kind: handle_wake, target: 1, b: 50}}",
       {FaultKind::kHandleWake, 1, 0, 50}},
  };
  for (const auto& c : kCases) {
    EXPECT_TRUE(SameOp(OpOf(c.step), c.fault)) << c.step;
  }
}

TEST(ScenarioFormatTest, ParsesTheGeneratedForm) {
  const absl::StatusOr<Scenario> s = Parse(R"(name: shrunk-seed-7
rules: [VM-7]
worlds: [sim]
generated: {seed: 7, swarm: true, vms: 1, proxies: 0, containers: 2, window: 20s, quiet: 5s}
faults:
  - {at: 1.5s, kind: guest_hang, target: 3, a: 0, b: 0}
  - {at: 0s, kind: agent_refuses, target: 1, a: 4}
expect:
  - never: on_died
    where: {cid: 99}
    rule: VM-7
  - final: {vms: {1000: DEAD}, containers: {4000: exit}}
)");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE(s->generated.has_value());
  EXPECT_EQ(*s->generated,
            (GeneratedWorkload{7, true, 1, 0, 2, absl::Seconds(20),
                               absl::Seconds(5)}));
  EXPECT_EQ(s->faults,
            (std::vector<sim::Fault>{
                {Instant{1'500'000'000}, sim::FaultKind::kGuestHang, 3, 0, 0},
                {Instant{0}, sim::FaultKind::kAgentRefuses, 1, 4, 0}}));
  EXPECT_TRUE(s->steps.empty());
  ASSERT_EQ(s->expect.size(), 2u);
  // A generated world is not a script: its ids are not bounded by one.
  EXPECT_EQ(s->expect[1].final_state.vms,
            (std::map<uint32_t, std::string>{{1000, "DEAD"}}));
  EXPECT_EQ(s->expect[1].final_state.containers,
            (std::map<uint64_t, std::string>{{4000, "exit"}}));
  const absl::StatusOr<Scenario> defaults =
      Parse("name: g\nrules: [VM-1]\nworlds: [sim]\ngenerated: {}\n");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(*defaults->generated, GeneratedWorkload{});
  // As large as `proctor sim` makes them.
  const absl::StatusOr<Scenario> large = Parse(
      "name: g\nrules: [VM-1]\nworlds: [sim]\ngenerated: {vms: 100000, "
      "proxies: 100000, containers: 10000}\n");
  ASSERT_TRUE(large.ok()) << large.status();
  EXPECT_EQ(Error("name: g\nrules: [VM-1]\nworlds: [sim]\ngenerated: "
                  "{containers: 10001}\n"),
            "x.yaml:4:25: expected an integer in 0..10000, found '10001'");
}

// ---- Errors: each names the file, line and column ----

TEST(ScenarioFormatTest, EmptyFileIsAnError) {
  const std::string kWant =
      "x.yaml:1:1: the file is empty; expected a map with at least 'name', "
      "'rules' and 'worlds'";
  EXPECT_EQ(Error(""), kWant);
  EXPECT_EQ(Error("# only a comment\n"), kWant);
  EXPECT_EQ(Error("---\n"), kWant);
}

TEST(ScenarioFormatTest, TopLevelMustBeAMap) {
  EXPECT_EQ(Error("- a\n- b\n"),
            "x.yaml:1:1: expected a map at the top level with at least "
            "'name', 'rules' and 'worlds', found a list");
  EXPECT_EQ(Error("hello\n"),
            "x.yaml:1:1: expected a map at the top level with at least "
            "'name', 'rules' and 'worlds', found 'hello'");
}

TEST(ScenarioFormatTest, YamlSyntaxErrorNamesItsPlace) {
  EXPECT_EQ(Error("name: t\nrules: [VM-1\n"),
            "x.yaml:3:1: invalid YAML: end of sequence flow not found");
  EXPECT_EQ(Error("name: t\nworlds: *nowhere\n"),
            "x.yaml:2:9: invalid YAML: the referenced anchor is not defined");
  EXPECT_EQ(Error(std::string(5000, '[')),
            "x.yaml:1:1: invalid YAML: nested too deeply");
}

TEST(ScenarioFormatTest, SecondDocumentIsAnError) {
  EXPECT_EQ(Error("name: a\n---\nname: b\n"),
            "x.yaml:2:1: expected one YAML document, found a second one");
  EXPECT_EQ(Error("name: a\n---\n"),
            "x.yaml:2:1: expected one YAML document, found a second one");
  EXPECT_TRUE(Parse("name: a\nrules: [VM-1]\nworlds: [sim]\n...\n").ok());
}

TEST(ScenarioFormatTest, StrayTopLevelTokenIsAnErrorNotAHang) {
  // yaml-cpp 0.7's LoadAll loops forever on these.
  EXPECT_EQ(Error(","), "x.yaml:1:1: invalid YAML: unexpected ','");
  EXPECT_EQ(Error(",name: a\n"), "x.yaml:1:1: invalid YAML: unexpected ','");
  EXPECT_EQ(Error("name: a\n,\n"),
            "x.yaml:2:1: invalid YAML: end of map not found");
}

TEST(ScenarioFormatTest, UnknownKeyNamesKeyLineAndColumn) {
  EXPECT_EQ(
      Error(absl::StrCat(kBase, "  - {at: 0s, tiemout: 1s, start_vm: 3}\n")),
      "x.yaml:13:14: unknown key 'tiemout' in a step; expected one of: "
      "at, after, delay, create_vm, start_vm, kill_vm, install, start, "
      "stop, wait, kill, uninstall, copy, attach, add_proxy, send, "
      "close, register_watcher, add_wake_source, remove_wake_source, "
      "signal_wake_source, suspend, subscribe, poll, unsubscribe, "
      "shutdown, guest, process, agent, boot, fault");
  EXPECT_EQ(Error("name: t\nrules: [VM-1]\nworlds: [sim]\ntimelimit: 5s\n"),
            "x.yaml:4:1: unknown key 'timelimit' at the top level; expected "
            "one of: name, description, rules, worlds, seed, time_limit, "
            "invariants, setup, steps, expect, generated, faults");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "  - {at: 0s, stop: {container: 1, "
                               "grace: 1s, force: true}}\n")),
            "x.yaml:13:46: unknown key 'force' in 'stop'; expected one of: "
            "container, grace");
  EXPECT_EQ(Error("name: t\nrules: [VM-1]\nworlds: [sim]\nsetup:\n  vms:\n"
                  "    - cid: 3\n      config: {kernal: /k}\n"),
            "x.yaml:7:16: unknown key 'kernal' in a vm config; expected one "
            "of: kernel, bootloader, initrd, disks, params, protected_vm, "
            "memory_mib, cpus, cpu_affinity, task_profiles, console_sink, "
            "log_sink, platform_version, detect_hangup, hangup_timeout");
}

TEST(ScenarioFormatTest, DuplicateKeyIsAnError) {
  EXPECT_EQ(Error("name: a\nrules: [VM-1]\nname: b\nworlds: [sim]\n"),
            "x.yaml:3:1: duplicate key 'name' at the top level (first at 1:1)");
  EXPECT_EQ(Error(absl::StrCat(kBase, "  - {at: 0s, at: 1s, start_vm: 3}\n")),
            "x.yaml:13:14: duplicate key 'at' in a step (first at 13:6)");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "expect:\n  - event: on_died\n"
                               "    where: {cid: 3, cid: 4}\n")),
            "x.yaml:15:21: duplicate key 'cid' in 'where'");
}

TEST(ScenarioFormatTest, MissingRequiredKeyIsAnError) {
  EXPECT_EQ(Error("name: a\nworlds: [sim]\n"),
            "x.yaml:1:1: missing key 'rules' at the top level");
  EXPECT_EQ(Error("name: t\nrules: [VM-1]\nworlds: [sim]\nsetup:\n  vms:\n"
                  "    - config: {}\n"),
            "x.yaml:6:7: missing key 'cid' in a vm of setup.vms");
  EXPECT_EQ(Error(absl::StrCat(kBase, "  - {at: 0s, copy: {container: 1}}\n")),
            "x.yaml:13:20: missing key 'path' in 'copy'");
}

TEST(ScenarioFormatTest, WrongTypesNameWhatWasExpected) {
  EXPECT_EQ(Error("name: t\nrules: VM-1\nworlds: [sim]\n"),
            "x.yaml:2:8: expected a list of rule IDs, found 'VM-1'");
  EXPECT_EQ(Error("name: t\nrules: [VM-1]\nworlds: [sim]\nsetup: [1]\n"),
            "x.yaml:4:8: expected a map in setup, found a list");
  EXPECT_EQ(Error("name: t\nrules: [VM-1]\nworlds: [sim]\nsetup:\n  vms:\n"
                  "    - cid: x\n"),
            "x.yaml:6:12: expected an integer in 3..258, found 'x'");
  EXPECT_EQ(Error("name: t\nrules: [VM-1]\nworlds: [sim]\nsetup:\n  vms:\n"
                  "    - cid: 259\n"),
            "x.yaml:6:12: expected an integer in 3..258, found '259'");
  EXPECT_EQ(Error("name: t\nrules: [VM-1]\nworlds: [sim]\ninvariants: yes\n"),
            "x.yaml:4:13: expected true or false, found 'yes'");
  EXPECT_EQ(Error("name: t\nrules: [VM-1]\nworlds: [sim]\nseed: -1\n"),
            "x.yaml:4:7: expected an integer in 0..18446744073709551615, "
            "found '-1'");
  EXPECT_EQ(
      Error(absl::StrCat(kBase, "  - {at: 0s, send: {proxy: 1, bytes: 8}}\n")),
      "x.yaml:13:38: expected an integer in 16..65536, found '8'");
  EXPECT_EQ(Error(absl::StrCat(kBase, "  - {at: 0s, start: [1]}\n")),
            "x.yaml:13:21: expected an integer in 1..256, found a list");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "  - {at: 0s, copy: {container: 1, "
                               "path: }}\n")),
            "x.yaml:13:35: expected a string, found nothing");
  EXPECT_EQ(Error(absl::StrCat(kBase, "  - {at: 0s, shutdown: {now: 1}}\n")),
            "x.yaml:13:25: expected nothing or {} ('shutdown' takes no "
            "arguments), found key 'now'");
  EXPECT_EQ(Error(absl::StrCat(kBase, "  - 3\n")),
            "x.yaml:13:5: expected a map in a step, found '3'");
}

TEST(ScenarioFormatTest, DurationsAreStrict) {
  EXPECT_EQ(Error(absl::StrCat(kBase, "  - {at: 5, start_vm: 3}\n")),
            "x.yaml:13:10: expected a duration such as 500ms or 1.5s, found "
            "'5'");
  EXPECT_EQ(Error(absl::StrCat(kBase, "  - {at: -1s, start_vm: 3}\n")),
            "x.yaml:13:10: expected a duration of 0 or more, found '-1s'");
  EXPECT_EQ(Error(absl::StrCat(kBase, "  - {at: inf, start_vm: 3}\n")),
            "x.yaml:13:10: expected a finite duration, found 'inf'");
  EXPECT_EQ(Error(absl::StrCat(kBase, "  - {at: 10000h, start_vm: 3}\n")),
            "x.yaml:13:10: expected a duration of at most 8760h, found "
            "'10000h'");
  EXPECT_EQ(Error("name: t\nrules: [VM-1]\nworlds: [sim]\ntime_limit: 0s\n"),
            "x.yaml:4:13: expected a duration greater than 0, found '0s'");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "  - {at: 0s, guest: {vm: 3, "
                               "slow_start: 1.5ms}}\n")),
            "x.yaml:13:41: expected a whole number of milliseconds, found "
            "'1.5ms'");
  for (absl::string_view ok :
       {"0", "500ms", "1.5s", "2m", "1h", "250us", "100ns", "1h30m"}) {
    EXPECT_TRUE(
        Parse(absl::StrCat(kBase, "  - {at: ", ok, ", start_vm: 3}\n")).ok())
        << ok;
  }
}

TEST(ScenarioFormatTest, UnknownNamesAreErrors) {
  EXPECT_EQ(Error("name: t\nrules: [VM-10]\nworlds: [sim]\n"),
            "x.yaml:2:9: unknown rule 'VM-10'; expected a rule ID of "
            "docs/spec.md: VM-1..VM-9, CH-1, CT-1, PX-1..PX-4, PW-1..PW-4, "
            "CN-1..CN-10, RT-1, RT-2");
  EXPECT_EQ(Error("name: t\nrules: []\nworlds: [sim]\n"),
            "x.yaml:2:8: expected at least one rule ID (VM-1..VM-9, CH-1, "
            "CT-1, PX-1..PX-4, PW-1..PW-4, CN-1..CN-10, RT-1, RT-2)");
  EXPECT_EQ(Error("name: t\nrules: [VM-1, VM-1]\nworlds: [sim]\n"),
            "x.yaml:2:15: rule VM-1 is listed twice");
  EXPECT_EQ(Error("name: t\nrules: [VM-1]\nworlds: [sim, kvm]\n"),
            "x.yaml:3:15: unknown world 'kvm'; expected one of: sim, process, "
            "qemu, libvirt, runc");
  EXPECT_EQ(Error("name: t\nrules: [VM-1]\nworlds: [qemu, qemu]\n"),
            "x.yaml:3:16: world qemu is listed twice");
  EXPECT_EQ(Error("name: Bad Name\nrules: [VM-1]\nworlds: [sim]\n"),
            "x.yaml:1:7: expected a name of lower-case letters, digits, '-', "
            "'_' and '.' (at most 128 bytes), found 'Bad Name'");
  EXPECT_EQ(Error(absl::StrCat(kBase, "expect:\n  - event: on_dead\n")),
            "x.yaml:14:12: unknown event kind 'on_dead'; did you mean "
            "on_died? (see docs/inputs-and-actions.md)");
  EXPECT_EQ(Error(absl::StrCat(kBase, "expect:\n  - never: zzzzzzzzzzzz\n")),
            "x.yaml:14:12: unknown event kind 'zzzzzzzzzzzz' (see "
            "docs/inputs-and-actions.md)");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "  - {at: 0s, fault: {kind: hang, "
                               "target: 3}}\n")),
            "x.yaml:13:28: unknown fault kind 'hang'; expected one of: "
            "vmm_spawn_fail, vmm_crash_at_boot, guest_hang, guest_slow_start, "
            "guest_panic, guest_reboot, failure_reason, "
            "vmm_exit_unobservable, payload_out_of_order, "
            "container_ignores_sigterm, container_crash, agent_refuses, "
            "agent_never_accepts, boot_transient_error, boot_permanent_error, "
            "remote_burst_then_close, container_closes_channel, "
            "peer_oversized_message, completion_delay, cgroup_memory_pressure, "
            "handle_wake");
  EXPECT_EQ(
      Error(absl::StrCat(kBase,
                         "  - {at: 0s, guest: {vm: 3, "
                         "failure_reason: OOPS}}\n")),
      "x.yaml:13:45: unknown failure reason 'OOPS'; expected one of: "
      "PVM_FIRMWARE_PUBLIC_KEY_MISMATCH, "
      "PVM_FIRMWARE_INSTANCE_IMAGE_CHANGED, "
      "BOOTLOADER_PUBLIC_KEY_MISMATCH, BOOTLOADER_INSTANCE_IMAGE_CHANGED, "
      "MICRODROID_FAILED_TO_CONNECT_TO_VIRTUALIZATION_SERVICE, "
      "MICRODROID_PAYLOAD_HAS_CHANGED, "
      "MICRODROID_PAYLOAD_VERIFICATION_FAILED, "
      "MICRODROID_INVALID_PAYLOAD_CONFIG, "
      "MICRODROID_UNKNOWN_RUNTIME_ERROR, HANGUP");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "  - {at: 0s, kill: {container: 1, "
                               "signal: SIGFOO}}\n")),
            "x.yaml:13:43: expected a signal number or name such as SIGTERM, "
            "found 'SIGFOO'");
  EXPECT_EQ(
      Error(absl::StrCat(kBase, "expect:\n  - final: {vms: {3: DEDA}}\n")),
      "x.yaml:14:22: unknown vm state 'DEDA'; expected one of: "
      "NOT_STARTED, RUNNING, DEAD, FAILED");
  EXPECT_EQ(
      Error(absl::StrCat(kBase, "expect:\n  - final: {proxies: {1: up}}\n")),
      "x.yaml:14:26: unknown proxy state 'up'; expected one of: "
      "running, stopped");
}

TEST(ScenarioFormatTest, ReferencesMustBeInTheSetup) {
  EXPECT_EQ(Error(absl::StrCat(kBase, "  - {at: 0s, start_vm: 4}\n")),
            "x.yaml:13:24: vm 4 is not in the setup (setup.vms has cids 3, 5)");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "  - at: 0s\n    guest: {vm: 4, hang: "
                               "true}\n")),
            "x.yaml:14:17: vm 4 is not in the setup (setup.vms has cids 3, 5)");
  EXPECT_EQ(Error(absl::StrCat(kBase, "  - {at: 0s, wait: 2}\n")),
            "x.yaml:13:20: container 2 is not in the setup (setup.containers "
            "has ids 1)");
  EXPECT_EQ(Error(absl::StrCat(kBase, "  - {at: 0s, send: {proxy: 3}}\n")),
            "x.yaml:13:28: proxy 3 is not in the setup (setup.proxies has 1, "
            "2)");
  EXPECT_EQ(Error(absl::StrCat(kBase, "  - {at: 0s, add_wake_source: 2}\n")),
            "x.yaml:13:31: wake source 2 is not in the setup "
            "(setup.wake_sources is 1)");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "  - {at: 0s, fault: {kind: "
                               "container_crash, target: 9}}\n")),
            "x.yaml:13:53: container 9 is not in the setup (setup.containers "
            "has ids 1)");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "  - {at: 0s, fault: {kind: "
                               "completion_delay, target: 9}}\n")),
            "x.yaml:13:54: target 9 is neither 0 (every object) nor a cid, "
            "container id or proxy id of the setup");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "expect:\n  - final: {containers: {7: "
                               "exit}}\n")),
            "x.yaml:14:26: container 7 is not in the setup (setup.containers "
            "has ids 1)");
  EXPECT_EQ(Error("name: t\nrules: [VM-1]\nworlds: [sim]\nsteps:\n"
                  "  - {at: 0s, kill_vm: 3}\n"),
            "x.yaml:5:23: vm 3 is not in the setup (setup.vms is empty)");
  EXPECT_EQ(Error("name: t\nrules: [VM-1]\nworlds: [sim]\nsetup:\n  vms:\n"
                  "    - cid: 3\n    - cid: 3\n"),
            "x.yaml:7:7: vm 3 is already in the setup (at 6:7)");
  EXPECT_EQ(Error("name: t\nrules: [VM-1]\nworlds: [sim]\nsetup:\n"
                  "  proxies: [1, 1]\n"),
            "x.yaml:5:16: proxy 1 is listed twice");
}

TEST(ScenarioFormatTest, StepNeedsOneTriggerAndOneOp) {
  EXPECT_EQ(
      Error(absl::StrCat(kBase, "  - {at: 0s, start_vm: 3, kill_vm: 3}\n")),
      "x.yaml:13:27: a step has more than one op: 'start_vm' and "
      "'kill_vm'");
  EXPECT_EQ(Error(absl::StrCat(kBase, "  - {start_vm: 3}\n")),
            "x.yaml:13:5: a step needs a trigger: 'at: DURATION' or 'after: "
            "PATTERN'");
  EXPECT_EQ(Error(absl::StrCat(kBase, "  - {at: 0s}\n")),
            "x.yaml:13:5: a step needs an op, one of: create_vm, start_vm, "
            "kill_vm, install, start, stop, wait, kill, uninstall, copy, "
            "attach, add_proxy, send, close, register_watcher, "
            "add_wake_source, remove_wake_source, signal_wake_source, "
            "suspend, subscribe, poll, unsubscribe, shutdown, guest, process, "
            "agent, boot, fault");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "  - {at: 0s, after: {event: vm_state}, "
                               "start_vm: 3}\n")),
            "x.yaml:13:14: a step has one trigger: 'at' or 'after', not both");
  EXPECT_EQ(
      Error(absl::StrCat(kBase, "  - {at: 0s, delay: 1s, start_vm: 3}\n")),
      "x.yaml:13:14: 'delay' goes with 'after', not with 'at' (write the "
      "time in 'at')");
  EXPECT_EQ(
      Error(absl::StrCat(kBase, "  - {after: {where: {}}, start_vm: 3}\n")),
      "x.yaml:13:13: missing key 'event' in a pattern");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "  - {at: 0s, guest: {vm: 3, hang: true, "
                               "panic: true}}\n")),
            "x.yaml:13:41: 'guest' has more than one behaviour: 'hang' and "
            "'panic'");
  EXPECT_EQ(Error(absl::StrCat(kBase, "  - {at: 0s, guest: {vm: 3}}\n")),
            "x.yaml:13:21: 'guest' needs a behaviour, one of: crash_at_boot, "
            "hang, slow_start, panic, reboot, failure_reason, "
            "failure_reason_variant, exit_unobservable, report_out_of_order");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "  - {at: 0s, guest: {vm: 3, hang: "
                               "false}}\n")),
            "x.yaml:13:35: 'hang' can only be true (leave it out otherwise)");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "  - {at: 0s, guest: {vm: 3, hang: true, "
                               "exit_code: 1}}\n")),
            "x.yaml:13:41: 'exit_code' goes with 'failure_reason' or "
            "'failure_reason_variant'");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "  - {at: 0s, fault: {kind: "
                               "guest_hang}}\n")),
            "x.yaml:13:21: missing key 'target' in 'fault'");
}

TEST(ScenarioFormatTest, ExpectationErrors) {
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "expect:\n  - {event: on_died, never: "
                               "on_died}\n")),
            "x.yaml:14:22: an expectation has more than one kind: 'event' and "
            "'never'");
  EXPECT_EQ(Error(absl::StrCat(kBase, "expect:\n  - {rule: VM-5}\n")),
            "x.yaml:14:5: an expectation needs a kind, one of: event, never, "
            "final");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "expect:\n  - {event: on_died, rule: "
                               "VM-7}\n")),
            "x.yaml:14:28: rule 'VM-7' is not one of the scenario's rules "
            "(VM-5, VM-6, RT-2)");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "expect:\n  - {never: on_died, count: "
                               "1}\n")),
            "x.yaml:14:22: 'count' does not go with 'never'");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "expect:\n  - {final: {}, within: "
                               "1s}\n")),
            "x.yaml:14:17: 'within' does not go with 'final'");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "expect:\n  - {event: on_died, within: "
                               "1s, between: [0s, 1s]}\n")),
            "x.yaml:14:34: an expectation has one window: 'within' or "
            "'between', not both");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "expect:\n  - {event: on_died, between: "
                               "[5s, 1s]}\n")),
            "x.yaml:14:36: the window ends (1s) before it begins (5s)");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "expect:\n  - {event: on_died, between: "
                               "[5s]}\n")),
            "x.yaml:14:31: expected two durations [FROM, UNTIL] in 'between'");
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "expect:\n  - {event: on_died, where: "
                               "[1]}\n")),
            "x.yaml:14:29: expected a map of fields in 'where', found a list");
}

TEST(ScenarioFormatTest, SetupAndGeneratedDoNotMix) {
  EXPECT_EQ(Error("name: t\nrules: [VM-1]\nworlds: [sim]\ngenerated: {}\n"
                  "steps: []\n"),
            "x.yaml:5:1: 'steps' cannot be combined with 'generated' (a "
            "scenario has either setup and steps, or a generated workload and "
            "faults)");
  EXPECT_EQ(Error("name: t\nrules: [VM-1]\nworlds: [sim]\nfaults: []\n"),
            "x.yaml:4:1: 'faults' goes with 'generated'; with a setup, write "
            "faults as steps (guest, process, agent, boot or fault)");
  EXPECT_EQ(Error("name: t\nrules: [VM-1]\nworlds: [sim]\ngenerated: {window: "
                  "0s}\n"),
            "x.yaml:4:21: expected a duration greater than 0, found '0s'");
}

TEST(ScenarioFormatTest, BoundsAreEnforced) {
  std::string many(kBase);
  for (size_t i = 0; i <= kMaxSteps; ++i) many += "  - {at: 0s, start_vm: 3}\n";
  EXPECT_EQ(Error(many),
            "x.yaml:13:3: expected at most 10000 steps, found 10001");

  auto nested = [](int levels) {
    std::string text =
        absl::StrCat(kBase, "expect:\n  - event: on_died\n    where: ");
    for (int i = 0; i < levels; ++i) text += "{a: ";
    text += "1";
    for (int i = 0; i < levels; ++i) text += "}";
    return text + "\n";
  };
  EXPECT_TRUE(Parse(nested(16)).ok());
  EXPECT_EQ(Error(nested(17)),
            "x.yaml:15:76: 'where' is nested deeper than 16 levels");

  // An alias that contains itself.
  EXPECT_EQ(Error(absl::StrCat(kBase,
                               "expect:\n  - event: on_died\n"
                               "    where: &w {a: *w}\n")),
            "x.yaml:15:12: 'where' is nested deeper than 16 levels");

  // Field names are short, so that FormatScenario can write every one back
  // as a flow key (yaml-cpp reads none past 1024 characters).
  const auto keyed = [](size_t bytes) {
    return absl::StrCat(kBase, "expect:\n  - event: on_died\n    where:\n",
                        "      ? ", std::string(bytes, 'k'), "\n      : 1\n");
  };
  EXPECT_TRUE(Parse(keyed(128)).ok());
  EXPECT_EQ(Error(keyed(2000)),
            "x.yaml:16:9: a field name in 'where' is 2000 bytes long; "
            "expected at most 128");

  // Aliases that expand a small file into a huge one.
  std::string laughs = absl::StrCat(kBase, "expect:\n  - event: on_died\n",
                                    "    where:\n      l0: &l0 \"",
                                    std::string(1000, 'x'), "\"\n");
  for (int i = 1; i <= 9; ++i) {
    laughs += absl::StrCat("      l", i, ": &l", i, " [");
    for (int j = 0; j < 10; ++j)
      absl::StrAppend(&laughs, j ? ", " : "", "*l", i - 1);
    laughs += "]\n";
  }
  EXPECT_THAT(Error(laughs),
              HasSubstr("the scenario is too large once its aliases are "
                        "expanded"));

  const std::string big(kMaxScenarioFileBytes + 1, '#');
  EXPECT_EQ(Error(big),
            "x.yaml: the file is 1048577 bytes; a scenario may have at most "
            "1048576");
}

// yaml-cpp takes a quoted string that the file ends inside as closed there.
TEST(ScenarioFormatTest, RefusesAQuoteNeverClosed) {
  EXPECT_EQ(Error("name: 'abc\n"),
            "x.yaml:1:7: invalid YAML: a quoted string is never closed (the "
            "file ends inside it)");
  EXPECT_EQ(
      Error("name: t\nrules: [VM-5]\nworlds: [sim]\ndescription: \"a\\\"b\n"),
      "x.yaml:4:14: invalid YAML: a quoted string is never closed (the "
      "file ends inside it)");
  EXPECT_EQ(
      Error("name: t\nrules: [VM-5]\nworlds: [sim]\ndescription: 'it''\n"),
      "x.yaml:4:14: invalid YAML: a quoted string is never closed (the "
      "file ends inside it)");
  // Closed quotes, with the escapes of each style inside.
  EXPECT_TRUE(
      Parse("name: t\nrules: [VM-5]\nworlds: [sim]\ndescription: 'it''s'\n")
          .ok());
  EXPECT_TRUE(Parse("name: t\nrules: [VM-5]\nworlds: [sim]\n"
                    "description: \"say \\\"hi\\\"\"\n")
                  .ok());
}

TEST(ScenarioFormatTest, LoadScenarioFileReadsAndBoundsTheFile) {
  const std::string dir = ::testing::TempDir();
  const std::string path =
      absl::StrCat(dir, "/scenario_format_test-", getpid(), ".yaml");
  {
    std::ofstream out(path, std::ios::binary);
    out << "name: t\nrules: [VM-1]\nworlds: [sim]\nseed: x\n";
  }
  absl::StatusOr<Scenario> s = LoadScenarioFile(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(),
            absl::StrCat(path,
                         ":4:7: expected an integer in "
                         "0..18446744073709551615, found 'x'"));
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string(kMaxScenarioFileBytes + 10, '#');
  }
  s = LoadScenarioFile(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(),
            absl::StrCat(path,
                         ": the file is larger than the 1048576 bytes a "
                         "scenario may have"));
  {
    std::ofstream out(path, std::ios::binary);
    out << "name: t\nrules: [VM-1]\nworlds: [sim]\n";
  }
  s = LoadScenarioFile(path);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->file, path);
  std::remove(path.c_str());
  s = LoadScenarioFile(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.status().message(),
            absl::StrCat(path, ": cannot open the scenario file"));
}

// ---- Formatting ----

TEST(ScenarioFormatTest, RoundTripsTheFullExample) {
  const absl::StatusOr<Scenario> s = ParseScenario(kFull, "full.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  const std::string text = RoundTrip(*s);
  EXPECT_THAT(text, HasSubstr("time_limit: 2m\n"));
  EXPECT_THAT(text, HasSubstr("  - {at: 0s, create_vm: 3}\n"));
  EXPECT_THAT(text, HasSubstr("path: \"/etc/\\0hosts\""));
  EXPECT_THAT(text, HasSubstr("text: \"~HANG\""));
  EXPECT_THAT(text, HasSubstr("q: \"7\""));
  EXPECT_THAT(text, HasSubstr("process: {exit_after: 1.5s, exit_code: 3}"));
}

TEST(ScenarioFormatTest, RoundTripsEveryOpAndBehaviour) {
  std::string yaml(kBase);
  for (absl::string_view step : {
           "{at: 0s, create_vm: 3}",
           "{at: 0s, create_vm: {cid: 3, config: {bootloader: /b, disks: "
           "[{image: /d}], task_profiles: [x, \"y z\"], hangup_timeout: 0s}}}",
           "{at: 0s, create_vm: {cid: 5, config: {kernel: null}}}",
           "{at: 0s, start_vm: 5}",
           "{at: 0s, kill_vm: 3}",
           "{at: 1s, install: 1}",
           "{at: 1s, install: {container: 1, spec: {socket_relays: 65}}}",
           "{at: 2s, start: 1}",
           "{at: 5s, stop: 1}",
           "{at: 5s, stop: {container: 1, grace: -250ms}}",
           "{at: 6s, wait: 1}",
           "{at: 6s, kill: {container: 1, signal: 64}}",
           "{at: 6s, kill: {container: 1, signal: -3}}",
           "{at: 7s, uninstall: 1}",
           "{at: 3s, copy: {container: 1, direction: in, path: ../x}}",
           "{at: 3s, attach: {container: 1, slot: 0}}",
           "{at: 0s, add_proxy: 1}",
           "{at: 1s, send: {proxy: 1, from: container, count: 10000, bytes: "
           "65536}}",
           "{at: 2s, close: {proxy: 2, side: container}}",
           "{at: 0s, register_watcher: 1}",
           "{at: 0s, add_wake_source: 1}",
           "{at: 0s, remove_wake_source: 1}",
           "{at: 0s, signal_wake_source: {source: 1, hold: 1ns, in_mask: "
           "false}}",
           "{at: 1s, suspend: }",
           "{at: 0s, subscribe: 1}",
           "{at: 1s, poll: {subscriber: 1, max: 0}}",
           "{at: 1s, unsubscribe: 1}",
           "{at: 30s, shutdown: {}}",
           "{at: 0s, guest: {vm: 3, crash_at_boot: true}}",
           "{at: 0s, guest: {vm: 3, hang: true}}",
           "{at: 0s, guest: {vm: 3, slow_start: 5s}}",
           "{at: 0s, guest: {vm: 3, panic: true}}",
           "{at: 0s, guest: {vm: 3, reboot: true}}",
           "{at: 0s, guest: {vm: 3, failure_reason: HANGUP, exit_code: 2}}",
           "{at: 0s, guest: {vm: 3, failure_reason_variant: 21}}",
           "{at: 0s, guest: {vm: 3, exit_unobservable: true}}",
           "{at: 0s, guest: {vm: 3, report_out_of_order: backward}}",
           "{at: 0s, process: {container: 1, ignores_sigterm: true}}",
           "{at: 0s, process: {container: 1, crash: true}}",
           "{at: 0s, process: {container: 1, memory_pressure: 5}}",
           "{at: 0s, agent: {container: 1, refuses: 3}}",
           "{at: 0s, agent: {container: 1, never_accepts: 12.5s}}",
           "{at: 0s, boot: {container: 1, transient_errors: 2}}",
           "{at: 0s, boot: {container: 1, permanent_error: true}}",
           "{at: 0s, fault: {kind: guest_hang, target: 3, a: 1, b: 2}}",
           "{at: 0s, fault: {kind: failure_reason, target: 3, a: 99}}",
           "{at: 0s, fault: {kind: completion_delay, a: -5}}",
           "{at: 0s, fault: {kind: peer_oversized_message, target: 2, b: 1}}",
           "{after: {event: reply, where: {to: start_vm, input: {cid: 3}, "
           "status: OK}}, delay: 1.5s, shutdown: }",
           "{after: {event: fault_fired}, start: 1}",
       }) {
    absl::StrAppend(&yaml, "  - ", step, "\n");
  }
  absl::StrAppend(&yaml, R"(expect:
  - {event: vm_state, where: {cid: 3}, count: 0}
  - {event: on_died, between: [2s, inf], after: {event: kill_vm}}
  - {never: reply, within: 0s}
  - {final: {}}
  - {final: {suspended: true}, rule: VM-6}
)");
  const absl::StatusOr<Scenario> s = Parse(yaml);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->steps.size(), 50u);
  const std::string text = RoundTrip(*s);
  EXPECT_THAT(text, HasSubstr("{at: 0s, fault: {kind: guest_hang, target: 3, "
                              "a: 1, b: 2}}"));
  EXPECT_THAT(text, HasSubstr("{at: 0s, guest: {vm: 3, "
                              "failure_reason_variant: 21}}"));
  EXPECT_THAT(text, HasSubstr("{at: 0s, agent: {container: 1, never_accepts: "
                              "12.5s}}"));
  EXPECT_THAT(text, HasSubstr("{at: 0s, create_vm: {cid: 5, config: {kernel: "
                              "null}}}"));
  EXPECT_THAT(text, HasSubstr("between: [2s, inf]"));
  EXPECT_THAT(text, HasSubstr("grace: -250ms"));
}

TEST(ScenarioFormatTest, RoundTripsTheGeneratedForm) {
  const absl::StatusOr<Scenario> s = Parse(R"(name: g
rules: [PX-3, CN-4]
worlds: [sim, process]
seed: 18446744073709551615
time_limit: 90s
generated: {seed: 7, swarm: true, vms: 2, window: 10s, quiet: 1ns}
faults:
  - {at: 1.000000001s, kind: remote_burst_then_close, target: 1, a: 10, b: 0}
  - {at: 0s, kind: completion_delay, a: -9223372036854775808, b: 9223372036854775807}
expect:
  - {never: proxy_stopped, rule: PX-3}
)");
  ASSERT_TRUE(s.ok()) << s.status();
  const std::string text = RoundTrip(*s);
  EXPECT_EQ(text, R"(name: g
rules: [PX-3, CN-4]
worlds: [sim, process]
seed: 18446744073709551615
time_limit: 1m30s
generated: {seed: 7, swarm: true, vms: 2, proxies: 0, containers: 0, window: 10s, quiet: 1ns}
faults:
  - {at: 1.000000001s, kind: remote_burst_then_close, target: 1, a: 10, b: 0}
  - {at: 0s, kind: completion_delay, target: 0, a: -9223372036854775808, b: 9223372036854775807}
expect:
  - never: proxy_stopped
    rule: PX-3
)");
}

TEST(ScenarioFormatTest, RoundTripsStringsWithSpecialCharacters) {
  Scenario s;
  s.name = "strings";
  s.description = "two\nlines: with \"quotes\", a \\ and # not a comment\n";
  s.rules = {"CN-8"};
  s.worlds = {WorldKind::kSim};
  VmSetup vm;
  vm.config.cid = Cid{3};
  vm.config.kernel = "null";
  vm.config.params = "console=hvc0 panic=-1";
  vm.config.platform_version = "~1.0.0";
  vm.config.task_profiles = {"",    "true", "- x", "a: b", "[x]",
                             "{y}", "&z",   "*w",  "!t",   "%u",
                             "@v",  "`q`",  "'s'", " pad "};
  s.setup.vms.push_back(vm);
  ContainerSetup c;
  c.id = ContainerId{1};
  s.setup.containers.push_back(c);
  std::string every_byte;
  for (int b = 1; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
  for (const std::string& path :
       {std::string("/a\0b", 4), every_byte,
        std::string("\xc2\x85\xe2\x80\xa8"), std::string("caf\xc3\xa9"),
        std::string("\xef\xbb\xbfx"), std::string("trailing\\")}) {
    s.steps.push_back(
        Step{Trigger{absl::ZeroDuration(), std::nullopt, absl::ZeroDuration()},
             so::CopyFile{c.id, input::CopyDirection::kIn, path},
             {}});
  }
  Expectation x;
  x.kind = Expectation::Kind::kEvent;
  x.pattern.kind = "copy_file";
  x.pattern.where = json::parse(
      R"({"path": "~etc", "n": "3", "b": "true", "z": "null", "e": "",
          "f": 1.5, "g": -2, "h": 1e300, "i": [], "j": {}, "k": "a b",
          "key with spaces": {"3": "~"}, "u": "caf\u00e9", "nl": "a\nb"})");
  s.expect.push_back(x);
  const std::string text = RoundTrip(s);
  EXPECT_THAT(text, HasSubstr("kernel: \"null\""));
  EXPECT_THAT(text, HasSubstr("path: \"/a\\0b\""));
  EXPECT_THAT(text, HasSubstr("path: \"~etc\""));
}

TEST(ScenarioFormatTest, RoundTripsWhatOnlyCodeCanBuild) {
  // Values a shrinker may produce that no sugar expresses.
  Scenario s;
  s.name = "built";
  s.rules = {"VM-2"};
  s.worlds = {WorldKind::kQemu};
  VmSetup vm;
  vm.config.cid = Cid{4};
  vm.config.bootloader = "/boot";
  vm.guest.finish_after = absl::ZeroDuration();
  vm.guest.exit_code = -1;
  s.setup.vms.push_back(vm);
  VmSetup plain;
  plain.config.cid = Cid{3};
  plain.config.kernel = "/images/vmlinux";
  s.setup.vms.push_back(plain);
  s.setup.wake_sources = 3;
  VmConfig neither;
  neither.cid = Cid{4};
  s.steps.push_back(
      Step{Trigger{absl::Seconds(1), std::nullopt, absl::ZeroDuration()},
           so::CreateVm{neither},
           {}});
  s.steps.push_back(
      Step{Trigger{absl::Seconds(1), std::nullopt, absl::ZeroDuration()},
           so::InjectFault{sim::FaultKind::kGuestSlowStart, 3, -1, 0},
           {}});
  s.steps.push_back(
      Step{Trigger{absl::Seconds(1), std::nullopt, absl::ZeroDuration()},
           so::InjectFault{sim::FaultKind::kHandleWake, 3, 0, 1},
           {}});
  Expectation x;
  x.kind = Expectation::Kind::kEvent;
  x.pattern.kind = "vm_state";
  x.window.from = absl::Milliseconds(1);
  x.window.until = absl::Milliseconds(1);
  x.count = 4294967295u;
  s.expect.push_back(x);
  const std::string text = RoundTrip(s);
  EXPECT_THAT(text, HasSubstr("      config:\n        bootloader: /boot\n"));
  EXPECT_THAT(text, HasSubstr("guest: {finish_after: 0s, exit_code: -1}"));
  EXPECT_THAT(text, HasSubstr("{at: 1s, create_vm: {cid: 4, config: {kernel: "
                              "null}}}"));
  EXPECT_THAT(text, HasSubstr("fault: {kind: guest_slow_start, target: 3, a: "
                              "-1, b: 0}"));
  EXPECT_THAT(text, HasSubstr("between: [1ms, 1ms]"));
}

TEST(ScenarioFormatTest, MalformedInputNeverCrashes) {
  // Deterministic mutations of the full example: truncations and byte
  // changes. Each must give a scenario or an error that names the file.
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const std::string full(kFull);
  // Every YAML indicator, white space, a NUL, a CR and a byte of UTF-8.
  constexpr char kByteList[] = "{}[],:-&*!|>'\"%@`#~ \n\t\r\0\xc3x9";
  const absl::string_view kBytes(kByteList, sizeof(kByteList) - 1);
  for (int i = 0; i < 2000; ++i) {
    std::string text = full;
    if (i % 3 == 0) {
      text.resize(next() % text.size());
    } else {
      for (int k = 0; k < 1 + i % 4; ++k) {
        text[next() % text.size()] = kBytes[next() % kBytes.size()];
      }
    }
    const absl::StatusOr<Scenario> s = ParseScenario(text, "m.yaml");
    if (!s.ok()) {
      EXPECT_THAT(std::string(s.status().message()),
                  ::testing::StartsWith("m.yaml:"))
          << text;
    } else {
      RoundTrip(*s);
    }
  }
}

}  // namespace
}  // namespace proctor::scenario
