#include "runtime/vm/vmm_command.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/model/vm_config.h"

namespace proctor {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

// The five serial devices of a VM with neither console nor log sink.
const std::vector<std::string> kSinkSerials = {
    "--serial=type=sink,hardware=serial,num=1",
    "--serial=type=file,path=@failure,hardware=serial,num=2",
    "--serial=type=sink,hardware=virtio-console,num=1",
    "--serial=type=sink,hardware=virtio-console,num=2",
    "--serial=type=sink,hardware=virtio-console,num=3",
};

VmConfig KernelConfig() {
  VmConfig config;
  config.cid = Cid{7};
  config.kernel = "/images/vmlinuz";
  return config;
}

std::vector<std::string> Concat(std::vector<std::vector<std::string>> parts) {
  std::vector<std::string> out;
  for (auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

TEST(VmmCommandTest, VM9_MinimalKernelVm) {
  EXPECT_THAT(BuildVmmCommand(KernelConfig()),
              ElementsAreArray(Concat({{"crosvm", "--extended-status", "run",
                                        "--disable-sandbox", "--cid", "7"},
                                       kSinkSerials,
                                       {"/images/vmlinuz"}})));
}

TEST(VmmCommandTest, VM9_BinaryIsCrosvm) {
  EXPECT_EQ(kVmmBinary, "crosvm");
  EXPECT_EQ(BuildVmmCommand(KernelConfig()).front(), kVmmBinary);
}

TEST(VmmCommandTest, VM9_ProtectedWithoutDisksGetsEightMibBounceBuffer) {
  VmConfig config = KernelConfig();
  config.protected_vm = true;
  EXPECT_THAT(BuildVmmCommand(config),
              ElementsAreArray(Concat(
                  {{"crosvm", "--extended-status", "run", "--disable-sandbox",
                    "--cid", "7", "--protected-vm", "--swiotlb", "8"},
                   kSinkSerials,
                   {"/images/vmlinuz"}})));
}

TEST(VmmCommandTest, VM9_ProtectedWithThreeDisksGetsFourteenMib) {
  VmConfig config = KernelConfig();
  config.protected_vm = true;
  config.disks = {{"/d/a.img", false}, {"/d/b.img", true}, {"/d/c.img", false}};
  EXPECT_EQ(SwiotlbSizeMib(3), 14u);
  EXPECT_THAT(BuildVmmCommand(config),
              ElementsAreArray(Concat(
                  {{"crosvm", "--extended-status", "run", "--disable-sandbox",
                    "--cid", "7", "--protected-vm", "--swiotlb", "14"},
                   kSinkSerials,
                   {"--disk", "/d/a.img", "--rwdisk", "/d/b.img", "--disk",
                    "/d/c.img", "/images/vmlinuz"}})));
}

TEST(VmmCommandTest, VM9_UnprotectedVmHasNoBounceBuffer) {
  VmConfig config = KernelConfig();
  config.disks = {{"/d/a.img", true}};
  std::vector<std::string> argv = BuildVmmCommand(config);
  EXPECT_EQ(std::count(argv.begin(), argv.end(), "--protected-vm"), 0);
  EXPECT_EQ(std::count(argv.begin(), argv.end(), "--swiotlb"), 0);
}

TEST(VmmCommandTest, VM9_ResourcesInSeedOrder) {
  VmConfig config = KernelConfig();
  config.memory_mib = 2048;
  config.cpus = 4;
  config.cpu_affinity = "0=0,1:1=2";
  config.task_profiles = {"VMCompilationPerformance", "HighPerformance"};
  EXPECT_THAT(
      BuildVmmCommand(config),
      ElementsAreArray(Concat(
          {{"crosvm", "--extended-status", "run", "--disable-sandbox", "--cid",
            "7", "--mem", "2048", "--cpus", "4", "--cpu-affinity", "0=0,1:1=2",
            "--task-profiles", "VMCompilationPerformance,HighPerformance"},
           kSinkSerials,
           {"/images/vmlinuz"}})));
}

TEST(VmmCommandTest, VM9_SingleTaskProfileHasNoComma) {
  VmConfig config = KernelConfig();
  config.task_profiles = {"only"};
  std::vector<std::string> argv = BuildVmmCommand(config);
  auto it = std::find(argv.begin(), argv.end(), "--task-profiles");
  ASSERT_NE(it, argv.end());
  EXPECT_EQ(*(it + 1), "only");
}

TEST(VmmCommandTest, VM9_SerialLayoutWithConsoleAndLogSinks) {
  VmConfig config = KernelConfig();
  config.console_sink = "/tmp/console.txt";
  config.log_sink = "/tmp/log.txt";
  EXPECT_THAT(
      BuildVmmCommand(config),
      ElementsAre("crosvm", "--extended-status", "run", "--disable-sandbox",
                  "--cid", "7",
                  "--serial=type=file,path=/tmp/console.txt,hardware=serial,"
                  "num=1",
                  "--serial=type=file,path=@failure,hardware=serial,num=2",
                  "--serial=type=file,path=/tmp/console.txt,hardware=virtio-"
                  "console,num=1",
                  "--serial=type=sink,hardware=virtio-console,num=2",
                  "--serial=type=file,path=/tmp/log.txt,hardware=virtio-"
                  "console,num=3",
                  "/images/vmlinuz"));
}

TEST(VmmCommandTest, VM9_LogSinkAloneLeavesConsoleAsSink) {
  VmConfig config = KernelConfig();
  config.log_sink = "/tmp/log.txt";
  std::vector<std::string> argv = BuildVmmCommand(config);
  EXPECT_THAT(
      std::vector<std::string>(argv.begin() + 6, argv.begin() + 11),
      ElementsAre("--serial=type=sink,hardware=serial,num=1",
                  "--serial=type=file,path=@failure,hardware=serial,num=2",
                  "--serial=type=sink,hardware=virtio-console,num=1",
                  "--serial=type=sink,hardware=virtio-console,num=2",
                  "--serial=type=file,path=/tmp/log.txt,hardware=virtio-"
                  "console,num=3"));
}

TEST(VmmCommandTest, VM9_FailureChannelIsTheSecondSerialPort) {
  EXPECT_EQ(kFailureChannelPath, "@failure");
  std::vector<std::string> argv = BuildVmmCommand(KernelConfig());
  EXPECT_EQ(argv[7], "--serial=type=file,path=@failure,hardware=serial,num=2");
}

TEST(VmmCommandTest, VM9_BootloaderVm) {
  VmConfig config;
  config.cid = Cid{3};
  config.bootloader = "/images/pvmfw.bin";
  config.params = "console=hvc0 panic=-1";
  config.disks = {{"/d/os.img", false}};
  EXPECT_THAT(BuildVmmCommand(config),
              ElementsAreArray(
                  Concat({{"crosvm", "--extended-status", "run",
                           "--disable-sandbox", "--cid", "3"},
                          kSinkSerials,
                          {"--bios", "/images/pvmfw.bin", "--params",
                           "console=hvc0 panic=-1", "--disk", "/d/os.img"}})));
}

TEST(VmmCommandTest, VM9_InitrdParamsDisksThenKernelLast) {
  VmConfig config = KernelConfig();
  config.initrd = "/images/initrd.img";
  config.params = "root=/dev/vda";
  config.disks = {{"/d/rw.img", true}, {"/d/ro.img", false}};
  EXPECT_THAT(
      BuildVmmCommand(config),
      ElementsAreArray(Concat({{"crosvm", "--extended-status", "run",
                                "--disable-sandbox", "--cid", "7"},
                               kSinkSerials,
                               {"--initrd", "/images/initrd.img", "--params",
                                "root=/dev/vda", "--rwdisk", "/d/rw.img",
                                "--disk", "/d/ro.img", "/images/vmlinuz"}})));
}

TEST(VmmCommandTest, VM9_DisksKeepConfigOrderAndWritability) {
  VmConfig config = KernelConfig();
  config.disks = {{"/d/3.img", false},
                  {"/d/1.img", true},
                  {"/d/2.img", true},
                  {"/d/0.img", false}};
  std::vector<std::string> argv = BuildVmmCommand(config);
  EXPECT_THAT(
      std::vector<std::string>(argv.end() - 9, argv.end()),
      ElementsAre("--disk", "/d/3.img", "--rwdisk", "/d/1.img", "--rwdisk",
                  "/d/2.img", "--disk", "/d/0.img", "/images/vmlinuz"));
}

TEST(VmmCommandTest, VM9_EmptyParamsArePassedAsGiven) {
  VmConfig config = KernelConfig();
  config.params = "";
  std::vector<std::string> argv = BuildVmmCommand(config);
  EXPECT_THAT(std::vector<std::string>(argv.end() - 3, argv.end()),
              ElementsAre("--params", "", "/images/vmlinuz"));
}

TEST(VmmCommandTest, VM9_IsAPureFunctionOfTheConfig) {
  VmConfig config = KernelConfig();
  config.protected_vm = true;
  config.disks = {{"/d/a.img", true}};
  EXPECT_EQ(BuildVmmCommand(config), BuildVmmCommand(config));
}

}  // namespace
}  // namespace proctor
