// VM-9 for QEMU: exact command lines for several configs, and every refusal.
#include "host/qemu/qemu_command.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/model/vm_config.h"

namespace proctor::host {
namespace {

using ::testing::ElementsAreArray;

QemuPaths RunFolder() {
  QemuPaths paths;
  paths.kernel = "/img/vmlinuz";
  paths.initrd = "/img/initrd.img";
  paths.qmp_socket = "/run/vm/qmp.sock";
  paths.agent_socket = "/run/vm/agent.sock";
  paths.failure_socket = "/run/vm/failure.sock";
  paths.console_log = "/run/vm/console.log";
  return paths;
}

VmConfig KernelConfig() {
  VmConfig config;
  config.cid = Cid{3};
  config.kernel = "/images/vmlinux";  // a scenario's placeholder
  return config;
}

// Everything between the accelerator and the boot arguments is the same for
// every config with the same sinks.
std::vector<std::string> Devices(const std::string& console_chardev,
                                 const std::string& log_chardev) {
  return {"-device",  "pvpanic",
          "-device",  "isa-debug-exit,iobase=0x501,iosize=0x02",
          "-chardev", console_chardev,
          "-serial",  "chardev:console",
          "-chardev", "socket,id=failure,path=/run/vm/failure.sock",
          "-serial",  "chardev:failure",
          "-chardev", "socket,id=agent,path=/run/vm/agent.sock",
          "-serial",  "chardev:agent",
          "-device",  "virtio-serial-pci,id=virtio-serial",
          "-device",  "virtconsole,bus=virtio-serial.0,chardev=console",
          "-chardev", "null,id=sink",
          "-device",  "virtconsole,bus=virtio-serial.0,chardev=sink",
          "-chardev", log_chardev,
          "-device",  "virtconsole,bus=virtio-serial.0,chardev=log",
          "-chardev", "socket,id=qmp,path=/run/vm/qmp.sock",
          "-mon",     "chardev=qmp,mode=control"};
}

std::vector<std::string> Concat(std::vector<std::string> a,
                                const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(BuildQemuCommandTest, MinimalKernelConfig) {
  QemuOptions options;
  options.behaviour_parameter = "proctor.behaviour=started,ready";
  absl::StatusOr<std::vector<std::string>> argv =
      BuildQemuCommand(KernelConfig(), RunFolder(), options);
  ASSERT_TRUE(argv.ok()) << argv.status();
  std::vector<std::string> want = {"/usr/bin/qemu-system-x86_64",
                                   "-name",
                                   "proctor-vm-3",
                                   "-machine",
                                   "q35",
                                   "-accel",
                                   "tcg",
                                   "-nodefaults",
                                   "-no-user-config",
                                   "-nographic",
                                   "-no-reboot",
                                   "-S",
                                   "-m",
                                   "256",
                                   "-smp",
                                   "1"};
  want = Concat(want, Devices("file,id=console,path=/run/vm/console.log,mux=on",
                              "null,id=log"));
  want = Concat(
      want, {"-kernel", "/img/vmlinuz", "-initrd", "/img/initrd.img", "-append",
             "console=ttyS0 panic=-1 rdinit=/init "
             "proctor.behaviour=started,ready"});
  EXPECT_THAT(*argv, ElementsAreArray(want));
}

TEST(BuildQemuCommandTest, EveryMappedField) {
  VmConfig config = KernelConfig();
  config.cid = Cid{42};
  config.initrd = "/images/initrd";  // replaced by the image's initrd
  config.memory_mib = 512;
  config.cpus = 2;
  config.params = "quiet loglevel=3";
  config.disks = {{"/d/system.img", false},
                  {"/d/data.img", true},
                  {"/d/vendor.img", false}};
  config.console_sink = "/logs/console.txt";
  config.log_sink = "/logs/log.txt";
  // No QEMU meaning: these change nothing.
  config.cpu_affinity = "0-1";
  config.task_profiles = {"a", "b"};
  config.detect_hangup = true;
  QemuOptions options;
  options.accel = QemuAccel::kKvm;
  options.start_paused = false;
  options.behaviour_parameter = "proctor.behaviour=exit:3";
  options.extra_kernel_args = {"proctor.modules=", "debug"};
  absl::StatusOr<std::vector<std::string>> argv =
      BuildQemuCommand(config, RunFolder(), options);
  ASSERT_TRUE(argv.ok()) << argv.status();
  std::vector<std::string> want = {"/usr/bin/qemu-system-x86_64",
                                   "-name",
                                   "proctor-vm-42",
                                   "-machine",
                                   "q35",
                                   "-accel",
                                   "kvm",
                                   "-nodefaults",
                                   "-no-user-config",
                                   "-nographic",
                                   "-no-reboot",
                                   "-m",
                                   "512",
                                   "-smp",
                                   "2"};
  want = Concat(want, Devices("file,id=console,path=/logs/console.txt,mux=on",
                              "file,id=log,path=/logs/log.txt"));
  want = Concat(
      want, {"-kernel", "/img/vmlinuz", "-initrd", "/img/initrd.img", "-append",
             "console=ttyS0 panic=-1 rdinit=/init quiet loglevel=3 "
             "proctor.behaviour=exit:3 proctor.modules= debug",
             "-drive", "file=/d/system.img,if=virtio,format=raw,readonly=on",
             "-drive", "file=/d/data.img,if=virtio,format=raw", "-drive",
             "file=/d/vendor.img,if=virtio,format=raw,readonly=on"});
  EXPECT_THAT(*argv, ElementsAreArray(want));

  // The fields without a QEMU meaning do not change the command.
  VmConfig plain = config;
  plain.cpu_affinity.reset();
  plain.task_profiles.clear();
  plain.detect_hangup = false;
  plain.platform_version = "~1.0";
  EXPECT_EQ(BuildQemuCommand(plain, RunFolder(), options).value(), *argv);
}

TEST(BuildQemuCommandTest, ConfigPathsWhenNoImageIsGiven) {
  VmConfig config = KernelConfig();
  config.initrd = "/images/initrd";
  QemuPaths paths = RunFolder();
  paths.kernel.clear();
  paths.initrd.clear();
  paths.console_log.clear();
  paths.qemu_binary = "/opt/qemu/bin/qemu-system-x86_64";
  absl::StatusOr<std::vector<std::string>> argv =
      BuildQemuCommand(config, paths, QemuOptions());
  ASSERT_TRUE(argv.ok()) << argv.status();
  std::vector<std::string> want = {"/opt/qemu/bin/qemu-system-x86_64",
                                   "-name",
                                   "proctor-vm-3",
                                   "-machine",
                                   "q35",
                                   "-accel",
                                   "tcg",
                                   "-nodefaults",
                                   "-no-user-config",
                                   "-nographic",
                                   "-no-reboot",
                                   "-S",
                                   "-m",
                                   "256",
                                   "-smp",
                                   "1"};
  // No console sink and no console log: the console is dropped.
  want = Concat(want, Devices("null,id=console,mux=on", "null,id=log"));
  want =
      Concat(want, {"-kernel", "/images/vmlinux", "-initrd", "/images/initrd",
                    "-append", "console=ttyS0 panic=-1 rdinit=/init"});
  EXPECT_THAT(*argv, ElementsAreArray(want));
}

TEST(BuildQemuCommandTest, BootloaderGetsBiosAndNoCommandLine) {
  VmConfig config;
  config.cid = Cid{7};
  config.bootloader = "/images/u-boot.bin";
  config.disks = {{"/d/root.img", true}};
  absl::StatusOr<std::vector<std::string>> argv =
      BuildQemuCommand(config, RunFolder(), QemuOptions());
  ASSERT_TRUE(argv.ok()) << argv.status();
  std::vector<std::string> want = {"/usr/bin/qemu-system-x86_64",
                                   "-name",
                                   "proctor-vm-7",
                                   "-machine",
                                   "q35",
                                   "-accel",
                                   "tcg",
                                   "-nodefaults",
                                   "-no-user-config",
                                   "-nographic",
                                   "-no-reboot",
                                   "-S",
                                   "-m",
                                   "256",
                                   "-smp",
                                   "1"};
  want = Concat(want, Devices("file,id=console,path=/run/vm/console.log,mux=on",
                              "null,id=log"));
  want = Concat(want, {"-bios", "/images/u-boot.bin", "-drive",
                       "file=/d/root.img,if=virtio,format=raw"});
  EXPECT_THAT(*argv, ElementsAreArray(want));
}

TEST(BuildQemuCommandTest, CommasInOptionValuesAreDoubled) {
  VmConfig config = KernelConfig();
  config.disks = {{"/d/a,b.img", false}};
  config.console_sink = "/logs/x,y";
  QemuPaths paths = RunFolder();
  paths.agent_socket = "/run/v,m/agent.sock";
  absl::StatusOr<std::vector<std::string>> argv =
      BuildQemuCommand(config, paths, QemuOptions());
  ASSERT_TRUE(argv.ok()) << argv.status();
  EXPECT_THAT(*argv, ::testing::Contains("socket,id=agent,path=/run/v,,m/"
                                         "agent.sock"));
  EXPECT_THAT(*argv,
              ::testing::Contains("file,id=console,path=/logs/x,,y,mux=on"));
  EXPECT_EQ(argv->back(), "file=/d/a,,b.img,if=virtio,format=raw,readonly=on");
  EXPECT_EQ(QemuOptionValue(",,a,"), ",,,,a,,");
}

TEST(BuildQemuCommandTest, KernelCommandLineBound) {
  QemuOptions options;
  const size_t fixed = kFixedKernelParams.size() + 1;  // and a space
  VmConfig config = KernelConfig();
  config.params = std::string(kMaxX86KernelCommandLineBytes - fixed, 'x');
  absl::StatusOr<std::vector<std::string>> argv =
      BuildQemuCommand(config, RunFolder(), options);
  ASSERT_TRUE(argv.ok()) << argv.status();
  EXPECT_EQ(argv->back().size(), kMaxX86KernelCommandLineBytes);
  config.params->push_back('x');
  EXPECT_EQ(BuildQemuCommand(config, RunFolder(), options).status(),
            absl::OutOfRangeError(
                "VM-9 (QEMU): the kernel command line has 2048 bytes; the "
                "x86 boot protocol allows 2047"));
}

TEST(BuildQemuCommandTest, Refusals) {
  const QemuPaths paths = RunFolder();
  VmConfig config = KernelConfig();
  config.protected_vm = true;
  EXPECT_EQ(BuildQemuCommand(config, paths, QemuOptions()).status(),
            absl::UnimplementedError(
                "VM-9 (QEMU): protected_vm: QEMU with TCG (or KVM without "
                "pKVM) has no protected VMs"));

  const absl::Status one_of = absl::InvalidArgumentError(
      "VM-9 (QEMU): exactly one of kernel and bootloader must be set");
  config = KernelConfig();
  config.bootloader = "/b";
  EXPECT_EQ(BuildQemuCommand(config, paths, QemuOptions()).status(), one_of);
  config.kernel.reset();
  config.bootloader.reset();
  EXPECT_EQ(BuildQemuCommand(config, paths, QemuOptions()).status(), one_of);

  const absl::Status no_cmdline = absl::InvalidArgumentError(
      "VM-9 (QEMU): a bootloader VM takes no initrd, params, behaviour or "
      "extra kernel arguments: QEMU passes those only with -kernel");
  config.bootloader = "/b";
  config.params = "quiet";
  EXPECT_EQ(BuildQemuCommand(config, paths, QemuOptions()).status(),
            no_cmdline);
  config.params.reset();
  QemuOptions behaviour;
  behaviour.behaviour_parameter = "proctor.behaviour=hang";
  EXPECT_EQ(BuildQemuCommand(config, paths, behaviour).status(), no_cmdline);
  config.bootloader = "";
  EXPECT_EQ(BuildQemuCommand(config, paths, QemuOptions()).status(),
            absl::InvalidArgumentError("VM-9 (QEMU): bootloader is empty"));

  config = KernelConfig();
  config.memory_mib = 0;
  EXPECT_EQ(BuildQemuCommand(config, paths, QemuOptions()).status(),
            absl::InvalidArgumentError("VM-9 (QEMU): memory_mib is 0"));
  config = KernelConfig();
  config.cpus = 0;
  EXPECT_EQ(BuildQemuCommand(config, paths, QemuOptions()).status(),
            absl::InvalidArgumentError("VM-9 (QEMU): cpus is 0"));
  config = KernelConfig();
  config.disks = {{"", true}};
  EXPECT_EQ(
      BuildQemuCommand(config, paths, QemuOptions()).status(),
      absl::InvalidArgumentError("VM-9 (QEMU): a disk's image path is empty"));

  for (auto [field, clear] :
       std::vector<std::pair<const char*, std::string QemuPaths::*>>{
           {"qemu_binary", &QemuPaths::qemu_binary},
           {"qmp_socket", &QemuPaths::qmp_socket},
           {"agent_socket", &QemuPaths::agent_socket},
           {"failure_socket", &QemuPaths::failure_socket}}) {
    QemuPaths missing = paths;
    (missing.*clear).clear();
    EXPECT_EQ(BuildQemuCommand(KernelConfig(), missing, QemuOptions()).status(),
              absl::InvalidArgumentError(
                  absl::StrCat("VM-9 (QEMU): ", field, " is empty")));
  }
  QemuPaths no_kernel = paths;
  no_kernel.kernel.clear();
  config = KernelConfig();
  config.kernel = "";
  EXPECT_EQ(BuildQemuCommand(config, no_kernel, QemuOptions()).status(),
            absl::InvalidArgumentError("VM-9 (QEMU): kernel is empty"));
}

}  // namespace
}  // namespace proctor::host
