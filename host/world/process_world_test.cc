// The process world on real descriptors and processes: what it refuses, that
// a run leaves no descriptor and no process behind (also when it is cut
// short), that descriptors travel through a proxy as working descriptors,
// and that container processes get real signals.
#include "host/world/process_world.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "host/io/seqpacket_channel.h"
#include "host/process/testing/process_testing.h"
#include "runtime/model/describe.h"
#include "sim/observer.h"
#include "sim/sut.h"
#include "sim/world/script.h"

namespace proctor::host {
namespace {

using ProcessWorldTest = testing::ProcessTest;

// Every event of a run, named ("input add_proxy", "action reply", "fact
// peer_received"), with the instants.
class Recorder final : public sim::Observer {
 public:
  void OnInput(uint64_t, Instant at, const Input& input) override {
    names.push_back(absl::StrCat("input ", InputName(input)));
    last = at;
  }
  void OnAction(uint64_t, Instant at, const Action& action) override {
    names.push_back(absl::StrCat("action ", ActionName(action)));
    if (const auto* s = std::get_if<action::SignalContainer>(&action)) {
      signals.push_back(s->signal);
    }
    if (const auto* r = std::get_if<action::Reply>(&action)) {
      if (const auto* e = std::get_if<ExitStatus>(&r->value)) {
        exits.push_back(*e);
      }
    }
    last = at;
  }
  void OnFact(uint64_t, Instant at, const sim::WorldFact& fact) override {
    names.push_back(absl::StrCat("fact ", sim::FactName(fact)));
    last = at;
  }
  size_t Count(absl::string_view name) const {
    return static_cast<size_t>(std::count(names.begin(), names.end(), name));
  }

  std::vector<std::string> names;
  std::vector<int> signals;
  std::vector<ExitStatus> exits;
  Instant last;
};

ProcessWorldOptions Options() {
  ProcessWorldOptions o;
  o.container_binary = PROCTOR_CONTAINER_BINARY;
  return o;
}

TEST_F(ProcessWorldTest, RefusesVmsAndSimulatorOnlyFaults) {
  sim::ReferenceSut sut(Supervisor::Options{});
  sim::ScriptSetup with_vm;
  with_vm.vms.push_back({Cid{3}, {}});
  absl::StatusOr<std::unique_ptr<ProcessWorld>> refused =
      ProcessWorld::Create(with_vm, &sut, Options());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "the process world has no VMs, and the setup has 1 (VMs need the "
            "sim, qemu or libvirt world)");

  sim::ScriptSetup setup;
  setup.containers.push_back({ContainerId{1}, {}});
  absl::StatusOr<std::unique_ptr<ProcessWorld>> world =
      ProcessWorld::Create(setup, &sut, Options());
  ASSERT_TRUE(world.ok()) << world.status();
  ASSERT_TRUE((*world)
                  ->ScheduleScript(Instant{},
                                   sim::script_op::InjectFault{
                                       sim::FaultKind::kAgentRefuses, 1, 3, 0})
                  .ok());
  const absl::Status s =
      (*world)->Run([] { return false; }, Instant{} + absl::Seconds(10));
  EXPECT_EQ(s.message(),
            "fault agent_refuses cannot happen in the process world (it needs "
            "a VM, an agent or the simulator); list this scenario's worlds "
            "without process");
}

TEST_F(ProcessWorldTest, StopWithGraceOnARealProcessThatIgnoresSigterm) {
  sim::ReferenceSut sut(Supervisor::Options{});
  sim::ScriptSetup setup;
  setup.containers.push_back({ContainerId{1}, {}});
  absl::StatusOr<std::unique_ptr<ProcessWorld>> made =
      ProcessWorld::Create(setup, &sut, Options());
  ASSERT_TRUE(made.ok()) << made.status();
  ProcessWorld& world = **made;
  Recorder recorder;
  world.AddObserver(&recorder);
  using namespace sim::script_op;
  const Instant t0;
  ASSERT_TRUE(
      world
          .ScheduleScript(t0, InstallContainer{ContainerId{1}, ContainerSpec{}})
          .ok());
  ASSERT_TRUE(world
                  .ScheduleScript(t0 + absl::Milliseconds(10),
                                  StartContainer{ContainerId{1}})
                  .ok());
  ASSERT_TRUE(
      world
          .ScheduleScript(
              t0 + absl::Milliseconds(100),
              InjectFault{sim::FaultKind::kContainerIgnoresSigterm, 1, 0, 0})
          .ok());
  ASSERT_TRUE(world
                  .ScheduleScript(
                      t0 + absl::Milliseconds(300),
                      StopContainer{ContainerId{1}, absl::Milliseconds(200)})
                  .ok());
  ASSERT_TRUE(world.Run([] { return false; }, t0 + absl::Seconds(10)).ok());
  // SIGTERM did nothing (the process acknowledged ignoring it), so the
  // grace ran out and SIGKILL ended it.
  EXPECT_EQ(recorder.Count("fact fault_fired"), 1u);
  EXPECT_EQ(recorder.signals, (std::vector<int>{SIGTERM, SIGKILL}));
  ASSERT_EQ(recorder.exits.size(), 1u);
  EXPECT_EQ(recorder.exits[0], ExitStatus::Signalled(SIGKILL));
  EXPECT_GE(recorder.last, t0 + absl::Milliseconds(500));
  // The fixture checks that no descriptor and no child is left.
}

TEST_F(ProcessWorldTest, DescriptorsTravelThroughTheProxyAndWork) {
  sim::ReferenceSut sut(Supervisor::Options{});
  sim::ScriptSetup setup;
  setup.proxies = {ProxyId{1}};
  absl::StatusOr<std::unique_ptr<ProcessWorld>> made =
      ProcessWorld::Create(setup, &sut, Options());
  ASSERT_TRUE(made.ok()) << made.status();
  ProcessWorld& world = **made;
  ASSERT_TRUE(
      world.ScheduleScript(Instant{}, sim::script_op::AddProxy{ProxyId{1}})
          .ok());
  for (int i = 0; i < 1000 && !world.proxy_live(ProxyId{1}); ++i) {
    ASSERT_TRUE(world.Turn(absl::Milliseconds(10)).ok());
  }
  ASSERT_TRUE(world.proxy_live(ProxyId{1}));
  absl::StatusOr<std::pair<UniqueFd, UniqueFd>> ends =
      world.TakePeerEnds(ProxyId{1});
  ASSERT_TRUE(ends.ok()) << ends.status();

  absl::StatusOr<testing::Pipe> pipe = testing::MakePipe();
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  const int handles[] = {pipe->write_end.get()};
  ASSERT_EQ(WriteMessage(ends->first.get(), "with a pipe", handles),
            ChannelStatus::kOk);
  pipe->write_end.reset();  // the message holds the only write end now

  RealMessage m;
  ChannelStatus status = ChannelStatus::kShouldWait;
  for (int i = 0; i < 1000 && status == ChannelStatus::kShouldWait; ++i) {
    ASSERT_TRUE(world.Turn(absl::Milliseconds(10)).ok());
    status = ReadMessage(ends->second.get(), &m);
  }
  ASSERT_EQ(status, ChannelStatus::kOk);
  EXPECT_EQ(m.bytes, "with a pipe");
  ASSERT_EQ(m.handles.size(), 1u);
  ASSERT_EQ(::write(m.handles[0].get(), "x", 1), 1);
  char c = 0;
  ASSERT_EQ(::read(pipe->read_end.get(), &c, 1), 1);
  EXPECT_EQ(c, 'x');
}

TEST_F(ProcessWorldTest, ARunCutShortLeavesNothingBehind) {
  sim::ReferenceSut sut(Supervisor::Options{});
  sim::ScriptSetup setup;
  setup.containers.push_back({ContainerId{1}, {}});
  setup.containers.push_back({ContainerId{2}, {}});
  setup.proxies = {ProxyId{1}, ProxyId{2}};
  {
    absl::StatusOr<std::unique_ptr<ProcessWorld>> made =
        ProcessWorld::Create(setup, &sut, Options());
    ASSERT_TRUE(made.ok()) << made.status();
    ProcessWorld& world = **made;
    using namespace sim::script_op;
    for (uint64_t id : {1, 2}) {
      ASSERT_TRUE(
          world.ScheduleScript(Instant{}, InstallContainer{ContainerId{id}, {}})
              .ok());
      ASSERT_TRUE(
          world.ScheduleScript(Instant{}, StartContainer{ContainerId{id}})
              .ok());
      ASSERT_TRUE(world.ScheduleScript(Instant{}, AddProxy{ProxyId{id}}).ok());
      ASSERT_TRUE(world
                      .ScheduleScript(Instant{} + absl::Milliseconds(50),
                                      Send{ProxyId{id}, false, 10, 64})
                      .ok());
    }
    // A step far ahead keeps the run going; the limit cuts it short.
    ASSERT_TRUE(
        world.ScheduleScript(Instant{} + absl::Seconds(60), Shutdown{}).ok());
    const absl::Status s =
        world.Run([] { return false; }, Instant{} + absl::Milliseconds(300));
    EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
    EXPECT_NE(s.message().find("container 1 running"), std::string::npos)
        << s.message();
  }
  // The world is gone: the fixture checks that its descriptors are closed
  // and both container processes killed and reaped.
}

}  // namespace
}  // namespace proctor::host

namespace proctor::host {
namespace {

// The QEMU world's boots before the run: an image QEMU cannot boot is the
// run's error, naming the guest and QEMU's own words, and leaves no QEMU,
// descriptor or run folder behind; and a setup with more guests than the
// world runs is refused before anything starts.
class QemuWorldBootTest : public testing::ProcessTest {
 protected:
  void SetUp() override {
    testing::ProcessTest::SetUp();
    char dir[] = "/tmp/proctor-qemu-world-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    for (const char* name : {"/vmlinuz", "/initrd.img"}) {
      std::ofstream(dir_ + name) << "not a kernel\n";
    }
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    testing::ProcessTest::TearDown();
  }
  ProcessWorldOptions Options() const {
    ProcessWorldOptions options;
    options.qemu.emplace();
    options.qemu->kernel = dir_ + "/vmlinuz";
    options.qemu->initrd = dir_ + "/initrd.img";
    options.qemu->run_parent = dir_;
    return options;
  }
  static VmConfig Config(uint32_t cid) {
    VmConfig config;
    config.cid = Cid{cid};
    config.kernel = "/images/vmlinux";
    return config;
  }
  size_t RunFoldersLeft() const {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      if (e.path().filename().string().rfind("proctor-qemu-", 0) == 0) ++n;
    }
    return n;
  }
  std::string dir_;
};

TEST_F(QemuWorldBootTest, AnImageQemuCannotBootIsTheRunsErrorInQemusWords) {
  if (::access(std::string(kDefaultQemuBinary).c_str(), X_OK) != 0) {
    GTEST_SKIP() << "no " << kDefaultQemuBinary;
  }
  sim::ReferenceSut sut(Supervisor::Options{});
  sim::ScriptSetup setup;
  setup.vms.push_back({Cid{3}, {}});
  absl::StatusOr<std::unique_ptr<ProcessWorld>> world =
      ProcessWorld::Create(setup, &sut, Options());
  ASSERT_TRUE(world.ok()) << world.status();
  const absl::Status boot =
      (*world)->BootGuests({Config(3)}, [] { return false; });
  EXPECT_EQ(boot.code(), absl::StatusCode::kUnavailable) << boot;
  EXPECT_THAT(std::string(boot.message()),
              ::testing::StartsWith(
                  "vm 3 (booted 1 of 1): QEMU exited while the guest booted: "
                  "vm 3 (booted 1 of 1): QEMU exited with Exit(1) before the "
                  "guest started: qemu"));
  world->reset();
  EXPECT_EQ(RunFoldersLeft(), 0u);
}

TEST_F(QemuWorldBootTest, MoreGuestsThanTheWorldRunsAreRefusedBeforeAnyStarts) {
  sim::ReferenceSut sut(Supervisor::Options{});
  absl::StatusOr<std::unique_ptr<ProcessWorld>> world =
      ProcessWorld::Create(sim::ScriptSetup{}, &sut, Options());
  ASSERT_TRUE(world.ok()) << world.status();
  std::vector<VmConfig> lives(kMaxQemuGuests + 1, Config(3));
  const absl::Status boot = (*world)->BootGuests(lives, [] { return false; });
  EXPECT_EQ(boot.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(boot.message(),
            "the scenario starts 33 guests; the qemu world runs at most 32");
  EXPECT_EQ(RunFoldersLeft(), 0u);
}

TEST_F(QemuWorldBootTest, AnInterruptedBootKillsWhatItStarted) {
  if (::access(std::string(kDefaultQemuBinary).c_str(), X_OK) != 0) {
    GTEST_SKIP() << "no " << kDefaultQemuBinary;
  }
  sim::ReferenceSut sut(Supervisor::Options{});
  absl::StatusOr<std::unique_ptr<ProcessWorld>> world =
      ProcessWorld::Create(sim::ScriptSetup{}, &sut, Options());
  ASSERT_TRUE(world.ok()) << world.status();
  // Interrupted at the first look: the QEMUs were spawned and are killed.
  const absl::Status boot =
      (*world)->BootGuests({Config(3), Config(4)}, [] { return true; });
  EXPECT_EQ(boot.code(), absl::StatusCode::kCancelled) << boot;
  EXPECT_EQ(boot.message(),
            "interrupted while the guests booted; every QEMU was killed");
  world->reset();
  EXPECT_EQ(RunFoldersLeft(), 0u);
}

}  // namespace
}  // namespace proctor::host
