// Parsing apt-cache's output and the checks on names, versions and digests.
#include "guest/image/apt.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proctor::guest {
namespace {

constexpr char kShow[] =
    "Package: linux-image-cloud-amd64\n"
    "Source: linux-signed-amd64 (6.1.192+2)\n"
    "Version: 6.1.192-2\n"
    "Provides: linux-latest-modules-6.1.0-56-cloud-amd64, wireguard-modules "
    "(= 1.0.0)\n"
    "Depends: linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)\n"
    "Description: Linux for x86-64 cloud (meta-package)\n"
    " continued description: Package: not-this\n"
    "SHA256: 00be21c0c17f08ddf26e82d3b53fe7a41efa4a288938da6bb69e89c4b25c281d\n"
    "\n"
    "Package: busybox-static\n"
    "Version: 1:1.35.0-4+deb12u1+b1\n"
    "SHA256: 3d3fdbe91d4660c873e14b092c213fe81c1da6362daa236eb25d0171eb108744\n"
    "\n";

TEST(AptTest, ParsesShowOutput) {
  absl::StatusOr<std::vector<AptStanza>> stanzas = ParseAptShow(kShow);
  ASSERT_TRUE(stanzas.ok()) << stanzas.status();
  ASSERT_EQ(stanzas->size(), 2u);
  EXPECT_EQ((*stanzas)[0].package, "linux-image-cloud-amd64");
  EXPECT_EQ((*stanzas)[0].version, "6.1.192-2");
  EXPECT_EQ((*stanzas)[0].depends,
            "linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)");
  EXPECT_EQ((*stanzas)[0].sha256,
            "00be21c0c17f08ddf26e82d3b53fe7a41efa4a288938da6bb69e89c4b25c281d");
  EXPECT_EQ((*stanzas)[1].package, "busybox-static");
  EXPECT_EQ((*stanzas)[1].version, "1:1.35.0-4+deb12u1+b1");
  EXPECT_EQ((*stanzas)[1].depends, "");
  EXPECT_THAT(*ParseAptShow(""), ::testing::IsEmpty());
}

TEST(AptTest, RefusesMalformedStanzas) {
  EXPECT_EQ(
      ParseAptShow("Package: a-b\nVersion: 1\nSHA256: 12\n").status().message(),
      "package a-b: bad or missing SHA256 \"12\"");
  EXPECT_EQ(ParseAptShow("Version: 1\n\n").status().message(),
            "stanza ending at line 2: bad or missing Package \"\"");
  EXPECT_EQ(ParseAptShow("Package: ../etc\n").status().message(),
            "stanza ending at line 2: bad or missing Package \"../etc\"");
  EXPECT_EQ(ParseAptShow("Package: ab\nVersion: 1 2\n").status().message(),
            "package ab: bad or missing Version \"1 2\"");
  EXPECT_EQ(ParseAptShow("Package: ab\nno colon here\n").status().message(),
            "line 2 is neither a field nor a continuation");
}

TEST(AptTest, FindsThePinnedKernelImage) {
  EXPECT_EQ(
      KernelImageDependency("linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)"),
      std::make_pair(std::string("linux-image-6.1.0-56-cloud-amd64"),
                     std::string("6.1.192-2")));
  EXPECT_EQ(KernelImageDependency("kmod, linux-image-x (=1.0) | other"),
            std::make_pair(std::string("linux-image-x"), std::string("1.0")));
  // A versioned kernel's own Depends names no pinned linux-image.
  EXPECT_EQ(
      KernelImageDependency("kmod, linux-base (>= 4.3~), initramfs-tools (>= "
                            "0.120+deb8u2) | linux-initramfs-tool"),
      std::nullopt);
  EXPECT_EQ(KernelImageDependency("linux-image-x (>= 1.0)"), std::nullopt);
  EXPECT_EQ(KernelImageDependency("other | linux-image-x (= 1.0)"),
            std::nullopt);
  EXPECT_EQ(KernelImageDependency(""), std::nullopt);
}

TEST(AptTest, ValidatesNamesVersionsAndDigests) {
  EXPECT_TRUE(ValidPackageName("linux-image-6.1.0-56-cloud-amd64"));
  EXPECT_TRUE(ValidPackageName("g++"));
  EXPECT_FALSE(ValidPackageName("-o"));
  EXPECT_FALSE(ValidPackageName("a"));
  EXPECT_FALSE(ValidPackageName("Upper"));
  EXPECT_FALSE(ValidPackageName("a/b"));
  EXPECT_TRUE(ValidPackageVersion("1:1.35.0-4+deb12u1+b1"));
  EXPECT_TRUE(ValidPackageVersion("2.0~rc1"));
  EXPECT_FALSE(ValidPackageVersion(""));
  EXPECT_FALSE(ValidPackageVersion("1 0"));
  EXPECT_FALSE(ValidPackageVersion("-1"));
  EXPECT_TRUE(ValidSha256Hex(std::string(64, 'a')));
  EXPECT_FALSE(ValidSha256Hex(std::string(64, 'A')));
  EXPECT_FALSE(ValidSha256Hex(std::string(63, 'a')));
}

}  // namespace
}  // namespace proctor::guest
