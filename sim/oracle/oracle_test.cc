// The oracle as a whole: its rule list and statistics, and a scripted run of
// the real reference runtime (through ReferenceSut) that it must find
// faultless. Only this test links the Supervisor; the oracle library itself
// judges without it.
#include "sim/oracle/oracle.h"

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/model/vm_config.h"
#include "sim/oracle/testing/feed.h"
#include "sim/sut.h"

namespace proctor::sim {
namespace {

using oracle_testing::Ct;
using oracle_testing::K;
using oracle_testing::Msg;
using oracle_testing::Sec;
using oracle_testing::ViolationMessage;

TEST(OracleTest, RT1_RulesAreListedOnceEach) {
  const auto rules = Oracle::Rules();
  EXPECT_EQ(rules.size(), 24u);
  EXPECT_EQ(rules.front(), "VM-1");
  EXPECT_EQ(rules.back(), "RT-2");
  Oracle oracle;
  const OracleStats stats = oracle.stats();
  EXPECT_EQ(stats.checks.size(), rules.size());
  EXPECT_EQ(stats.Checks("PX-3"), 0u);
  EXPECT_EQ(stats.Checks("XX-9"), 0u);
}

TEST(OracleTest, VM7_JudgingStopsAtTheFirstViolation) {
  Oracle oracle;
  oracle.OnInput(1, Sec(1), input::CounterChanged{K(1), 0});
  oracle.OnAction(2, Sec(1), action::OnDied{Cid{5}, DeathReason::kCrash});
  oracle.OnAction(3, Sec(1), action::KillVmm{Cid{6}});
  ASSERT_TRUE(oracle.violation().has_value());
  EXPECT_EQ(oracle.violation()->rule, "VM-7");
  EXPECT_EQ(oracle.violation()->seq, 2u);
  EXPECT_EQ(oracle.violation()->at, Sec(1));
  EXPECT_EQ(oracle.violation()->message, "VM-7: on_died for unknown cid 5");
  EXPECT_EQ(oracle.stats().inputs, 1u);
  EXPECT_EQ(oracle.stats().actions, 2u);
}

// A small world that runs the reference runtime: it answers every action
// that completes, fires timers at their deadlines, moves messages through
// channels, lets a container handle what enters it, and tells the oracle
// everything, as sim/world does at scale.
class MiniWorld {
 public:
  explicit MiniWorld(Oracle& oracle)
      : oracle_(oracle), sut_(Supervisor::Options{}) {}

  Instant now() const { return now_; }

  // Runs `what` at `at` (or now).
  void At(double seconds, std::function<void()> what) {
    agenda_.emplace(std::pair{Sec(seconds).ns, next_++}, std::move(what));
  }
  void After(absl::Duration delay, std::function<void()> what) {
    agenda_.emplace(std::pair{(now_ + delay).ns, next_++}, std::move(what));
  }
  void RunUntil(double seconds) {
    while (!agenda_.empty() &&
           agenda_.begin()->first.first <= Sec(seconds).ns) {
      auto node = agenda_.extract(agenda_.begin());
      now_ = Instant{node.key().first};
      node.mapped()();
    }
    now_ = Sec(seconds);
  }

  // Hands `input` to the runtime now and executes what comes back.
  void Deliver(const Input& input) {
    oracle_.OnInput(++seq_, now_, input);
    ActionList actions;
    ASSERT_TRUE(sut_.Handle(now_, input, actions).ok());
    for (const Action& action : actions) oracle_.OnAction(++seq_, now_, action);
    for (const Action& action : actions) Execute(action);
  }
  void Fact(const WorldFact& fact) { oracle_.OnFact(++seq_, now_, fact); }
  void Complete(const Input& input) {
    After(absl::ZeroDuration(), [this, input] { Deliver(input); });
  }

  // ---- Channels: endpoint pairs, messages readable at each end ----
  void Connect(uint64_t a, uint64_t b) {
    peer_[a] = b;
    peer_[b] = a;
    Fact(fact::ChannelCreated{K(a), K(b)});
  }
  void PeerWrite(uint64_t peer_end, uint64_t id) {
    const uint64_t proxy_end = peer_[peer_end];
    readable_[proxy_end].push_back(Msg(id));
    Fact(fact::PeerWrote{K(peer_end), id});
    Deliver(input::EndpointSignalled{K(proxy_end), kSignalReadable});
  }
  void PeerClose(uint64_t peer_end) {
    closed_[peer_end] = true;
    Fact(fact::PeerClosed{K(peer_end)});
    const uint64_t proxy_end = peer_[peer_end];
    Deliver(input::EndpointSignalled{
        K(proxy_end),
        kSignalPeerClosed |
            (readable_[proxy_end].empty() ? kSignalNone : kSignalReadable)});
  }

  // ---- Scripted guests ----
  // VM `cid` reports STARTED after `started` and exits with `exit` after
  // `exits` (each optional), writing `report` on its failure channel.
  struct VmScript {
    std::optional<absl::Duration> started;
    std::optional<std::pair<absl::Duration, ExitStatus>> exits;
    std::string report;
  };
  void ScriptVm(Cid cid, VmScript script) { vms_[cid] = std::move(script); }
  // The container peer: endpoint 4, counting on counter 10.
  static constexpr uint64_t kContainerPeer = 4;
  static constexpr uint64_t kCounter = 10;

 private:
  void ExitVmm(Cid cid, std::optional<ExitStatus> status) {
    if (vmm_exited_[cid]) return;
    vmm_exited_[cid] = true;
    Complete(input::VmmExited{cid, status});
  }
  void HandleInContainer() {
    while (!suspended_ && !inbox_.empty()) {
      const uint64_t id = inbox_.front();
      inbox_.pop_front();
      Fact(fact::PeerReceived{K(kContainerPeer), id});
      After(absl::Milliseconds(100), [this] {
        const int64_t value = --counters_[kCounter];
        Fact(fact::ContainerHandled{K(kCounter), value});
        Deliver(input::CounterChanged{K(kCounter), value});
      });
    }
  }

  void Execute(const Action& action) {
    if (const auto* a = std::get_if<action::SpawnVmm>(&action)) {
      const Cid cid = a->cid;
      vmm_exited_[cid] = false;
      After(absl::Milliseconds(10), [this, cid] {
        Deliver(input::VmmSpawned{cid, std::nullopt});
        const VmScript& script = vms_[cid];
        if (script.started) {
          After(*script.started, [this, cid] {
            if (!vmm_exited_[cid]) {
              Deliver(input::PayloadReported{cid, PayloadState::kStarted});
            }
          });
        }
        if (script.exits) {
          const ExitStatus status = script.exits->second;
          After(script.exits->first,
                [this, cid, status] { ExitVmm(cid, status); });
        }
      });
    } else if (const auto* a = std::get_if<action::KillVmm>(&action)) {
      ExitVmm(a->cid, ExitStatus::Signalled(kSigKill));
    } else if (const auto* a =
                   std::get_if<action::ReadFailureReason>(&action)) {
      Complete(input::FailureReasonRead{a->cid, vms_[a->cid].report});
    } else if (const auto* a = std::get_if<action::ArmTimer>(&action)) {
      timers_[a->timer] = a->deadline;
      const TimerId timer = a->timer;
      const Instant deadline = a->deadline;
      agenda_.emplace(std::pair{deadline.ns, next_++}, [this, timer, deadline] {
        auto it = timers_.find(timer);
        if (it == timers_.end() || it->second != deadline) return;
        timers_.erase(it);
        Deliver(input::TimerFired{timer});
      });
    } else if (const auto* a = std::get_if<action::CancelTimer>(&action)) {
      timers_.erase(a->timer);
    } else if (const auto* a = std::get_if<action::ReadMessage>(&action)) {
      const uint64_t end = a->endpoint.value;
      std::deque<Message>& queue = readable_[end];
      if (!queue.empty()) {
        const Message message = queue.front();
        queue.pop_front();
        Complete(input::MessageRead{K(end), ChannelStatus::kOk, message});
      } else {
        Complete(input::MessageRead{K(end),
                                    closed_[peer_[end]]
                                        ? ChannelStatus::kPeerClosed
                                        : ChannelStatus::kShouldWait,
                                    Message{}});
      }
    } else if (const auto* a = std::get_if<action::WriteMessage>(&action)) {
      const uint64_t end = a->endpoint.value;
      const uint64_t receiver = peer_[end];
      if (closed_[receiver]) {
        Complete(input::MessageWritten{K(end), ChannelStatus::kPeerClosed});
        return;
      }
      const uint64_t id = *DecodeMessageId(a->message.bytes);
      if (receiver == kContainerPeer) {
        inbox_.push_back(id);
        HandleInContainer();
      } else {
        Fact(fact::PeerReceived{K(receiver), id});
      }
      Complete(input::MessageWritten{K(end), ChannelStatus::kOk});
    } else if (const auto* a = std::get_if<action::CounterAdd>(&action)) {
      const int64_t value = counters_[a->counter.value] += a->delta;
      Complete(input::CounterAdded{a->counter, ChannelStatus::kOk, value});
    } else if (const auto* a = std::get_if<action::CloseEndpoint>(&action)) {
      closed_[a->endpoint.value] = true;
    } else if (std::holds_alternative<action::SuspendGuest>(action)) {
      suspended_ = true;
    } else if (std::holds_alternative<action::ResumeGuest>(action)) {
      suspended_ = false;
      HandleInContainer();
    } else if (const auto* a = std::get_if<action::BootVm>(&action)) {
      const ContainerId c = a->container;
      After(absl::Milliseconds(100), [this, c] {
        Deliver(input::VmBooted{c, std::nullopt});
      });
    } else if (const auto* a = std::get_if<action::ConnectAgent>(&action)) {
      const ContainerId c = a->container;
      After(absl::Milliseconds(50), [this, c] {
        Deliver(input::AgentConnected{c, std::nullopt});
      });
    } else if (const auto* a = std::get_if<action::CreateProcess>(&action)) {
      const ContainerId c = a->container;
      After(absl::Milliseconds(10), [this, c] {
        Deliver(input::ProcessCreated{c, std::nullopt});
      });
    } else if (const auto* a = std::get_if<action::StartProcess>(&action)) {
      const ContainerId c = a->container;
      After(absl::Milliseconds(10), [this, c] {
        Deliver(input::ProcessStarted{c, std::nullopt});
      });
    } else if (const auto* a = std::get_if<action::SignalContainer>(&action)) {
      const ContainerId c = a->container;
      if (container_exited_[c.value]) return;
      container_exited_[c.value] = true;
      const ExitStatus status = ExitStatus::Signalled(a->signal);
      After(absl::Milliseconds(5), [this, c, status] {
        Deliver(input::ContainerExited{c, status});
      });
    }
  }

  Oracle& oracle_;
  ReferenceSut sut_;
  uint64_t seq_ = 0;
  uint64_t next_ = 0;
  Instant now_;
  std::map<std::pair<int64_t, uint64_t>, std::function<void()>> agenda_;
  std::map<TimerId, Instant> timers_;
  std::map<uint64_t, uint64_t> peer_;
  std::map<uint64_t, std::deque<Message>> readable_;
  std::map<uint64_t, bool> closed_;
  std::map<uint64_t, int64_t> counters_;
  std::deque<uint64_t> inbox_;
  bool suspended_ = false;
  std::map<Cid, VmScript> vms_;
  std::map<Cid, bool> vmm_exited_;
  std::map<uint64_t, bool> container_exited_;
};

TEST(OracleReferenceTest, RT2_ScriptedRunOfTheReferenceRuntimeHasNoViolation) {
  Oracle oracle;
  MiniWorld world(oracle);
  uint64_t request = 0;
  auto next = [&] { return RequestId{++request}; };

  // VMs: 5 starts and shuts down, 6 hangs (VM-5 kills it), 7 crashes before
  // STARTED with a failure report (VM-5 ends the wait, VM-6 reads it).
  world.ScriptVm(Cid{5},
                 {absl::Seconds(1),
                  std::pair{absl::Seconds(5), ExitStatus::Exited(0)}, ""});
  world.ScriptVm(Cid{6}, {});
  world.ScriptVm(Cid{7}, {std::nullopt,
                          std::pair{absl::Seconds(2), ExitStatus::Exited(33)},
                          "MICRODROID_PAYLOAD_HAS_CHANGED\n"});
  world.At(0, [&] {
    for (uint32_t cid : {5u, 6u, 7u}) {
      VmConfig config;
      config.cid = Cid{cid};
      config.kernel = "/k";
      config.detect_hangup = true;
      world.Deliver(input::CreateVm{next(), config});
      world.Deliver(input::StartVm{next(), Cid{cid}});
    }
    // A proxy between the remote (peer end 1, proxy end 2) and the
    // container (proxy end 3, peer end 4), counting on counter 10.
    world.Connect(1, 2);
    world.Connect(3, MiniWorld::kContainerPeer);
    world.Deliver(input::RegisterWakeWatcher{next(), WatcherId{1}});
    world.Deliver(input::AddProxy{next(), ProxyId{1}, K(3), K(2),
                                  K(MiniWorld::kCounter), "proxy"});
    ContainerSpec spec;
    spec.socket_relays = 1;
    spec.port_start = 100;
    spec.port_end = 110;
    world.Deliver(input::InstallContainer{next(), Ct(1), spec});
    world.Deliver(input::SubscribeEvents{next(), SubscriberId{1}});
    world.Deliver(input::StartContainer{next(), Ct(1)});
  });
  world.At(1, [&] { world.PeerWrite(1, 1); });
  world.At(1.1, [&] { world.PeerWrite(1, 2); });
  world.At(1.2, [&] { world.PeerWrite(1, 3); });
  world.At(1.5, [&] { world.PeerWrite(MiniWorld::kContainerPeer, 100); });
  // Nothing unhandled: the suspend succeeds; a message wakes the container.
  world.At(3, [&] { world.Deliver(input::SuspendContainer{next()}); });
  world.At(4, [&] { world.PeerWrite(1, 4); });
  world.At(5, [&] {
    world.Deliver(
        input::CopyFile{next(), Ct(1), input::CopyDirection::kIn, "etc/hosts"});
    world.Deliver(input::CopyFile{next(), Ct(1), input::CopyDirection::kOut,
                                  "../escape"});
    world.Deliver(input::PollEvents{next(), SubscriberId{1}, 64});
  });
  world.At(6, [&] {
    world.PeerWrite(1, 5);
    world.PeerClose(1);
  });
  world.At(20, [&] {
    world.Deliver(input::StopContainer{next(), Ct(1), absl::Seconds(2)});
  });
  world.RunUntil(25);
  oracle.OnQuiet(world.now());
  world.At(30, [&] { world.Deliver(input::SuspendContainer{next()}); });
  world.At(40, [&] { world.Deliver(input::Shutdown{next()}); });
  world.RunUntil(60);
  oracle.OnEnd(world.now());

  EXPECT_EQ(ViolationMessage(oracle), "");
  const OracleStats stats = oracle.stats();
  for (absl::string_view rule :
       {"VM-3", "VM-4", "VM-5", "VM-6", "VM-7", "VM-8", "CH-1", "PX-1",
        "PX-2", "PX-3", "PX-4", "PW-2", "PW-3", "PW-4", "CN-1", "CN-2",
        "CN-3", "CN-4", "CN-7", "CN-8", "RT-1", "RT-2"}) {
    EXPECT_GT(stats.Checks(rule), 0u) << rule;
  }
  EXPECT_EQ(stats.untracked, 0u);
}

}  // namespace
}  // namespace proctor::sim
