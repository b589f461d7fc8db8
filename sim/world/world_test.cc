#include "sim/world/world.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/model/action.h"
#include "runtime/model/input.h"
#include "sim/observer.h"
#include "sim/sut.h"
#include "sim/world/fault_kind.h"
#include "sim/world/fault_plan.h"

namespace proctor::sim {
namespace {

// Records what an observer is told: (seq, time, kind name) per event, plus
// checks of the observer contract that hold for every run.
class Recorder final : public Observer {
 public:
  struct Entry {
    uint64_t seq;
    int64_t at;
    std::string kind;
    friend bool operator==(const Entry&, const Entry&) = default;
  };

  void OnInput(uint64_t seq, Instant at, const Input& input) override {
    Add(seq, at, absl::StrCat("in:", InputName(input)));
  }
  void OnAction(uint64_t seq, Instant at, const Action& action) override {
    Add(seq, at, absl::StrCat("act:", ActionName(action)));
    if (std::holds_alternative<action::ShutdownComplete>(action)) {
      ++shutdown_completes;
    }
  }
  void OnFact(uint64_t seq, Instant at, const WorldFact& fact) override {
    Add(seq, at, absl::StrCat("fact:", FactName(fact)));
    if (const auto* fired = std::get_if<fact::FaultFired>(&fact)) {
      ASSERT_TRUE(ParseFaultKind(fired->kind).has_value()) << fired->kind;
    }
  }
  void OnQuiet(Instant at) override {
    ++quiets;
    quiet_at = at;
  }
  void OnEnd(Instant at) override {
    ++ends;
    end_at = at;
  }

  std::vector<Entry> entries;
  int shutdown_completes = 0;
  int quiets = 0;
  int ends = 0;
  Instant quiet_at, end_at;
  // Whether sequence numbers counted up from 1 and time never went back.
  bool ordered = true;

 private:
  void Add(uint64_t seq, Instant at, std::string kind) {
    if (seq != entries.size() + 1) ordered = false;
    if (!entries.empty() && at.ns < entries.back().at) ordered = false;
    entries.push_back({seq, at.ns, std::move(kind)});
  }
};

struct RunResult {
  absl::Status status;
  WorldStats stats;
  Recorder recorder;
};

std::unique_ptr<RunResult> RunSeed(uint64_t seed, bool swarm = false) {
  auto result = std::make_unique<RunResult>();
  WorldOptions options;
  options.seed = seed;
  options.swarm = swarm;
  ReferenceSut sut(Supervisor::Options{});
  World world(options, GenerateFaultPlan(options), &sut);
  world.AddObserver(&result->recorder);
  result->status = world.Run([] { return false; });
  result->stats = world.stats();
  return result;
}

std::string FiredCounts(const std::array<uint64_t, kFaultKindCount>& fired) {
  std::string out;
  for (FaultKind kind : AllFaultKinds()) {
    absl::StrAppend(&out, "\n  ", FaultKindName(kind), ": ",
                    fired[FaultKindIndex(kind)]);
  }
  return out;
}

TEST(WorldTest, RT2_ADefaultWorldRunsToShutdownAndTellsObserversInOrder) {
  std::unique_ptr<RunResult> run = RunSeed(1);
  ASSERT_TRUE(run->status.ok()) << run->status;
  const Recorder& r = run->recorder;
  EXPECT_TRUE(r.ordered);
  EXPECT_EQ(r.shutdown_completes, 1);
  EXPECT_EQ(r.quiets, 1);
  EXPECT_EQ(r.quiet_at, Instant::FromNanos(60'000'000'000));
  EXPECT_EQ(r.ends, 1);
  EXPECT_EQ(r.end_at, run->stats.end);
  EXPECT_GE(run->stats.end, Instant::FromNanos(90'000'000'000));
  EXPECT_EQ(run->stats.events, r.entries.size());
  EXPECT_EQ(run->stats.events,
            run->stats.inputs + run->stats.actions + run->stats.facts);
  // The first event is an input, never an action.
  ASSERT_FALSE(r.entries.empty());
  EXPECT_EQ(r.entries.front().kind.substr(0, 3), "in:");
}

TEST(WorldTest, SameSeedSameEventsDifferentSeedsDiffer) {
  for (uint64_t seed : {3, 4, 1234567}) {
    std::unique_ptr<RunResult> a = RunSeed(seed);
    std::unique_ptr<RunResult> b = RunSeed(seed);
    ASSERT_TRUE(a->status.ok()) << a->status;
    ASSERT_TRUE(b->status.ok()) << b->status;
    EXPECT_EQ(a->recorder.entries, b->recorder.entries) << "seed " << seed;
    EXPECT_EQ(a->stats.faults_fired, b->stats.faults_fired);
  }
  EXPECT_NE(RunSeed(3)->recorder.entries, RunSeed(4)->recorder.entries);
}

TEST(WorldTest, RT2_TwoHundredSeedsCompleteAndEveryFaultKindFires) {
  std::array<uint64_t, kFaultKindCount> fired{};
  std::array<uint64_t, kFaultKindCount> planned{};
  for (uint64_t seed = 0; seed < 200; ++seed) {
    std::unique_ptr<RunResult> run = RunSeed(seed);
    ASSERT_TRUE(run->status.ok()) << "seed " << seed << ": " << run->status;
    EXPECT_EQ(run->recorder.shutdown_completes, 1) << "seed " << seed;
    EXPECT_EQ(run->recorder.ends, 1) << "seed " << seed;
    EXPECT_TRUE(run->recorder.ordered) << "seed " << seed;
    for (size_t k = 0; k < kFaultKindCount; ++k) {
      fired[k] += run->stats.faults_fired[k];
      planned[k] += run->stats.faults_planned[k];
      EXPECT_LE(run->stats.faults_fired[k], run->stats.faults_planned[k]);
    }
  }
  for (FaultKind kind : AllFaultKinds()) {
    EXPECT_GT(fired[FaultKindIndex(kind)], 0u)
        << FaultKindName(kind)
        << " never fired; fired per kind:" << FiredCounts(fired)
        << "\nplanned per kind:" << FiredCounts(planned);
  }
}

TEST(WorldTest, SwarmSeedsWithoutFaultsAndWithDifferentKinds) {
  int without_faults = 0;
  std::vector<std::vector<FaultKind>> enabled;
  for (uint64_t seed = 0; seed < 60; ++seed) {
    WorldOptions options;
    options.seed = seed;
    options.swarm = true;
    const FaultPlan plan = GenerateFaultPlan(options);
    enabled.push_back(plan.enabled);
    std::unique_ptr<RunResult> run = RunSeed(seed, /*swarm=*/true);
    ASSERT_TRUE(run->status.ok()) << "seed " << seed << ": " << run->status;
    EXPECT_EQ(run->recorder.shutdown_completes, 1) << "seed " << seed;
    if (plan.faults.empty()) {
      ++without_faults;
      for (uint64_t n : run->stats.faults_fired) EXPECT_EQ(n, 0u);
    }
  }
  EXPECT_GT(without_faults, 0);
  std::sort(enabled.begin(), enabled.end());
  EXPECT_GT(std::unique(enabled.begin(), enabled.end()) - enabled.begin(), 30);
}

TEST(WorldTest, ALoadedPlanIsAppliedAsWritten) {
  // Container 1 owns its VM in every world, so its boots can fail.
  absl::StatusOr<FaultPlan> plan = ParseFaultPlan(
      "enabled=boot_permanent_error\n"
      "at=0s kind=boot_permanent_error target=1 a=0 b=0\n");
  ASSERT_TRUE(plan.ok()) << plan.status();
  WorldOptions options;
  options.seed = 5;
  ReferenceSut sut(Supervisor::Options{});
  World world(options, *plan, &sut);
  Recorder recorder;
  world.AddObserver(&recorder);
  ASSERT_TRUE(world.Run([] { return false; }).ok());
  const size_t k = FaultKindIndex(FaultKind::kBootPermanentError);
  EXPECT_EQ(world.stats().faults_planned[k], 1u);
  EXPECT_EQ(world.stats().faults_fired[k], 1u);
  for (size_t i = 0; i < kFaultKindCount; ++i) {
    if (i != k) {
      EXPECT_EQ(world.stats().faults_fired[i], 0u);
    }
  }
}

TEST(WorldTest, RT2_TinyAndEmptyWindowsStillEndInShutdown) {
  for (int64_t window_ms : {0, 1, 1'000}) {
    for (int64_t quiet_ms : {0, 2'000}) {
      for (uint64_t seed = 0; seed < 5; ++seed) {
        WorldOptions options;
        options.seed = seed;
        options.workload.vms = 1;
        options.workload.proxies = 1;
        options.workload.containers = 1;
        options.workload.fault_window = absl::Milliseconds(window_ms);
        options.workload.quiet = absl::Milliseconds(quiet_ms);
        ReferenceSut sut(Supervisor::Options{});
        World world(options, GenerateFaultPlan(options), &sut);
        Recorder recorder;
        world.AddObserver(&recorder);
        const absl::Status status = world.Run([] { return false; });
        ASSERT_TRUE(status.ok()) << status;
        EXPECT_EQ(recorder.shutdown_completes, 1)
            << "window " << window_ms << " ms, quiet " << quiet_ms
            << " ms, seed " << seed;
        EXPECT_EQ(recorder.quiets, 1);
        EXPECT_EQ(recorder.quiet_at, Instant::FromNanos(window_ms * 1'000'000));
        EXPECT_TRUE(recorder.ordered);
      }
    }
  }
}

TEST(WorldTest, StopEndsTheRunEarlyWithoutOnEnd) {
  WorldOptions options;
  options.seed = 2;
  ReferenceSut sut(Supervisor::Options{});
  World world(options, GenerateFaultPlan(options), &sut);
  Recorder recorder;
  world.AddObserver(&recorder);
  ASSERT_TRUE(world.Run([&] { return recorder.entries.size() >= 100; }).ok());
  EXPECT_GE(recorder.entries.size(), 100u);
  EXPECT_LT(recorder.entries.size(), 200u);
  EXPECT_EQ(recorder.ends, 0);
}

TEST(WorldTest, ExhaustingTheEventBudgetFails) {
  WorldOptions options;
  options.seed = 2;
  options.max_events = 500;
  ReferenceSut sut(Supervisor::Options{});
  World world(options, GenerateFaultPlan(options), &sut);
  const absl::Status status = world.Run([] { return false; });
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()),
              ::testing::HasSubstr("event budget exhausted"));
}

class FailingSut final : public SystemUnderTest {
 public:
  absl::Status Handle(Instant, const Input&, ActionList&) override {
    return absl::UnavailableError("the SUT crashed");
  }
};

TEST(WorldTest, AnErrorFromTheSutEndsTheRunWithIt) {
  WorldOptions options;
  options.seed = 2;
  FailingSut sut;
  World world(options, GenerateFaultPlan(options), &sut);
  const absl::Status status = world.Run([] { return false; });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()),
              ::testing::HasSubstr("the SUT crashed"));
}

TEST(WorldTest, VM1_PX1_AWorldOfTenThousandVmsAndProxiesRunsToCompletion) {
  WorldOptions options;
  options.seed = 7;
  options.workload.vms = 10'000;
  options.workload.proxies = 10'000;
  options.workload.containers = 10;
  Supervisor::Options sut_options;
  sut_options.limits.max_vms = 20'000;
  sut_options.limits.max_proxies = 20'000;
  sut_options.limits.max_wake_sources = 20'100;
  sut_options.limits.max_unregistered_observations = 20'100;
  ReferenceSut sut(sut_options);
  World world(options, GenerateFaultPlan(options), &sut);
  Recorder recorder;
  world.AddObserver(&recorder);
  const absl::Status status = world.Run([] { return false; });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(recorder.shutdown_completes, 1);
  EXPECT_EQ(recorder.ends, 1);
  // Every VM and proxy was accepted: none was refused for a limit. Each
  // accepted proxy registers its counter as a wake source (PW-1).
  size_t add_proxy = 0, create_vm = 0, sources_added = 0, running = 0;
  for (const Recorder::Entry& e : recorder.entries) {
    if (e.kind == "in:add_proxy") ++add_proxy;
    if (e.kind == "in:create_vm") ++create_vm;
    if (e.kind == "act:wake_source_added") ++sources_added;
    if (e.kind == "in:vmm_spawned") ++running;
  }
  EXPECT_EQ(add_proxy, 10'000u);
  EXPECT_GE(sources_added, 10'000u);
  EXPECT_GE(create_vm, 10'000u);
  EXPECT_EQ(running, 10'000u);
}

}  // namespace
}  // namespace proctor::sim
