#include "runtime/vm/vmm_command.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace proctor {
namespace {

// A `--serial` device spec for an optional sink: what is written to a device
// with no sink is discarded.
std::string SerialSink(const std::optional<std::string>& path) {
  if (path.has_value()) return absl::StrCat("type=file,path=", *path);
  return "type=sink";
}

}  // namespace

std::vector<std::string> BuildVmmCommand(const VmConfig& config) {
  std::vector<std::string> argv = {std::string(kVmmBinary),
                                   "--extended-status",
                                   "run",
                                   "--disable-sandbox",
                                   "--cid",
                                   absl::StrCat(config.cid.value)};

  if (config.protected_vm) {
    argv.push_back("--protected-vm");
    argv.push_back("--swiotlb");
    argv.push_back(absl::StrCat(SwiotlbSizeMib(config.disks.size())));
  }
  if (config.memory_mib.has_value()) {
    argv.push_back("--mem");
    argv.push_back(absl::StrCat(*config.memory_mib));
  }
  if (config.cpus.has_value()) {
    argv.push_back("--cpus");
    argv.push_back(absl::StrCat(*config.cpus));
  }
  if (config.cpu_affinity.has_value()) {
    argv.push_back("--cpu-affinity");
    argv.push_back(*config.cpu_affinity);
  }
  if (!config.task_profiles.empty()) {
    argv.push_back("--task-profiles");
    argv.push_back(absl::StrJoin(config.task_profiles, ","));
  }

  // The order of the serial devices is part of the guest ABI (the guest finds
  // its failure channel at /dev/ttyS1, its log at /dev/hvc2): never reorder.
  const std::string console = SerialSink(config.console_sink);
  const std::string log = SerialSink(config.log_sink);
  argv.push_back(absl::StrCat("--serial=", console, ",hardware=serial,num=1"));
  argv.push_back(absl::StrCat("--serial=type=file,path=", kFailureChannelPath,
                              ",hardware=serial,num=2"));
  argv.push_back(
      absl::StrCat("--serial=", console, ",hardware=virtio-console,num=1"));
  argv.push_back("--serial=type=sink,hardware=virtio-console,num=2");
  argv.push_back(
      absl::StrCat("--serial=", log, ",hardware=virtio-console,num=3"));

  if (config.bootloader.has_value()) {
    argv.push_back("--bios");
    argv.push_back(*config.bootloader);
  }
  if (config.initrd.has_value()) {
    argv.push_back("--initrd");
    argv.push_back(*config.initrd);
  }
  if (config.params.has_value()) {
    argv.push_back("--params");
    argv.push_back(*config.params);
  }
  for (const DiskImage& disk : config.disks) {
    argv.push_back(disk.writable ? "--rwdisk" : "--disk");
    argv.push_back(disk.image);
  }
  if (config.kernel.has_value()) argv.push_back(*config.kernel);
  return argv;
}

}  // namespace proctor
