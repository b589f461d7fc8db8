#include "runtime/model/vm_config.h"

#include "gtest/gtest.h"

namespace proctor {
namespace {

VmConfig KernelConfig() {
  VmConfig c;
  c.cid = Cid{10};
  c.kernel = "/images/vmlinuz";
  c.initrd = "/images/initrd.img";
  c.platform_version = "~1.0";
  return c;
}

TEST(VmConfigTest, VM2_KernelConfigIsValid) {
  EXPECT_TRUE(ValidateVmConfig(KernelConfig(), PlatformInfo{}).ok());
}

TEST(VmConfigTest, VM2_BootloaderConfigIsValid) {
  VmConfig c;
  c.bootloader = "/images/bios.bin";
  EXPECT_TRUE(ValidateVmConfig(c, PlatformInfo{}).ok());
}

TEST(VmConfigTest, VM2_NeitherBootloaderNorKernelIsAnError) {
  VmConfig c = KernelConfig();
  c.kernel.reset();
  c.initrd.reset();
  absl::Status s = ValidateVmConfig(c, PlatformInfo{});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "VM-2: VM must have either a bootloader or a kernel image");
}

TEST(VmConfigTest, VM2_BootloaderExcludesKernel) {
  VmConfig c = KernelConfig();
  c.initrd.reset();
  c.bootloader = "/images/bios.bin";
  EXPECT_EQ(ValidateVmConfig(c, PlatformInfo{}).message(),
            "VM-2: can't have both bootloader and kernel/initrd image");
}

TEST(VmConfigTest, VM2_BootloaderExcludesInitrd) {
  VmConfig c;
  c.bootloader = "/images/bios.bin";
  c.initrd = "/images/initrd.img";
  EXPECT_EQ(ValidateVmConfig(c, PlatformInfo{}).message(),
            "VM-2: can't have both bootloader and kernel/initrd image");
}

TEST(VmConfigTest, VM2_PlatformVersionMustMatch) {
  VmConfig c = KernelConfig();
  c.platform_version = "^2.0";
  absl::Status s = ValidateVmConfig(c, PlatformInfo{});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("incompatible platform version"),
            std::string::npos);
  EXPECT_NE(s.message().find("1.0.0"), std::string::npos);
  c.platform_version = "1.0.0";
  EXPECT_TRUE(ValidateVmConfig(c, PlatformInfo{}).ok());
}

TEST(VmConfigTest, VM2_MalformedPlatformVersionIsItsOwnError) {
  VmConfig c = KernelConfig();
  c.platform_version = "not a version";
  EXPECT_NE(ValidateVmConfig(c, PlatformInfo{})
                .message()
                .find("VM-2: invalid platform_version"),
            std::string::npos);
}

TEST(VmConfigTest, VM2_EachViolationHasADistinctMessage) {
  VmConfig none = KernelConfig();
  none.kernel.reset();
  none.initrd.reset();
  VmConfig both = KernelConfig();
  both.bootloader = "/b";
  VmConfig version = KernelConfig();
  version.platform_version = ">=3";
  EXPECT_NE(ValidateVmConfig(none, {}).message(),
            ValidateVmConfig(both, {}).message());
  EXPECT_NE(ValidateVmConfig(both, {}).message(),
            ValidateVmConfig(version, {}).message());
}

TEST(VmConfigTest, VM1_ReservedCidIsRejected) {
  VmConfig c = KernelConfig();
  c.cid = Cid{2};
  EXPECT_NE(ValidateVmConfig(c, {}).message().find("VM-1: cid 2 is reserved"),
            std::string::npos);
}

TEST(VmConfigTest, VM1_BoundsAreEnforced) {
  VmConfig c = KernelConfig();
  c.disks.assign(VmConfig::kMaxDisks + 1, DiskImage{"/d.img", false});
  EXPECT_FALSE(ValidateVmConfig(c, {}).ok());
  c = KernelConfig();
  c.params = std::string(VmConfig::kMaxParamsBytes + 1, 'x');
  EXPECT_FALSE(ValidateVmConfig(c, {}).ok());
  c = KernelConfig();
  c.memory_mib = 0;
  EXPECT_FALSE(ValidateVmConfig(c, {}).ok());
  c = KernelConfig();
  c.cpus = 0;
  EXPECT_FALSE(ValidateVmConfig(c, {}).ok());
  c = KernelConfig();
  c.kernel = "";
  EXPECT_FALSE(ValidateVmConfig(c, {}).ok());
  c = KernelConfig();
  c.hangup_timeout = absl::ZeroDuration();
  EXPECT_FALSE(ValidateVmConfig(c, {}).ok());
  c = KernelConfig();
  c.disks.push_back(DiskImage{"", true});
  EXPECT_FALSE(ValidateVmConfig(c, {}).ok());
}

TEST(VmConfigTest, VM5_DefaultHangupTimeouts) {
  VmConfig c = KernelConfig();
  EXPECT_EQ(EffectiveHangupTimeout(c, PlatformInfo{}), absl::Seconds(10));
  PlatformInfo nested;
  nested.nested_virtualization = true;
  EXPECT_EQ(EffectiveHangupTimeout(c, nested), absl::Seconds(100));
  c.hangup_timeout = absl::Seconds(3);
  EXPECT_EQ(EffectiveHangupTimeout(c, nested), absl::Seconds(3));
}

}  // namespace
}  // namespace proctor
