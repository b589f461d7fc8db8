// The guest image for real: Debian packages fetched with apt, a cold build
// and a cache hit, byte-identical rebuilds, the manifest, cpio's own view of
// the archive, the errors for a missing tool and an unknown package, and a
// boot under QEMU (TCG) far enough to run /init.
//
// The tests share one cache in the build tree (PROCTOR_TEST_CACHE_DIR) so
// that only the first to run pays for a build; the cold-build test uses a
// fresh cache of its own. Figures are printed as "[figure] ..." lines.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "guest/image/files.h"
#include "guest/image/gzip.h"
#include "guest/image/image.h"
#include "guest/image/kernel_modules.h"
#include "guest/image/sha256.h"
#include "guest/image/tool.h"
#include "nlohmann/json.hpp"

namespace proctor::guest {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr char kToolPath[] = "/usr/sbin:/usr/bin:/sbin:/bin";

std::string ReadAll(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFileBounded(path, kMaxImageFileBytes);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : "";
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

class ImageRealTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/proctor-image-real-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    root_ = dir;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  ImageOptions SharedOptions() const {
    ImageOptions options;
    options.inputs.agent_binary = PROCTOR_TEST_INIT;
    options.cache_dir = PROCTOR_TEST_CACHE_DIR;
    options.tool_path = kToolPath;
    return options;
  }
  std::string root_;
};

TEST_F(ImageRealTest, ColdBuildThenCacheHit) {
  ImageOptions options = SharedOptions();
  options.cache_dir = root_ + "/cache";
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<Image> cold = BuildImage(options);
  const double cold_s = SecondsSince(start);
  ASSERT_TRUE(cold.ok()) << cold.status();
  EXPECT_FALSE(cold->from_cache);
  // apt-cache twice (metapackage, then its kernel), apt-get download twice,
  // dpkg-deb twice.
  EXPECT_EQ(cold->programs_run, 6);
  EXPECT_EQ(cold->dir, options.cache_dir + "/images/" + cold->hash);

  start = std::chrono::steady_clock::now();
  absl::StatusOr<Image> hit = BuildImage(options);
  const double hit_s = SecondsSince(start);
  ASSERT_TRUE(hit.ok()) << hit.status();
  EXPECT_TRUE(hit->from_cache);
  EXPECT_EQ(hit->programs_run, 0);
  EXPECT_EQ(hit->hash, cold->hash);
  EXPECT_EQ(hit->kernel_version, cold->kernel_version);
  EXPECT_EQ(hit->modules, cold->modules);
  EXPECT_EQ(hit->kernel_package, cold->kernel_package);
  std::printf(
      "[figure] cold build %.2f s (downloads included), cache hit "
      "%.3f s\n",
      cold_s, hit_s);
  // Only the image, the .debs and the resolution remain: no staging left.
  std::set<std::string> top;
  for (const auto& e : std::filesystem::directory_iterator(options.cache_dir)) {
    top.insert(e.path().filename().string());
  }
  EXPECT_EQ(top, (std::set<std::string>{"debs", "images", "resolved"}));
  for (const auto& e :
       std::filesystem::directory_iterator(options.cache_dir + "/images")) {
    EXPECT_EQ(e.path().filename().string(), cold->hash);
  }
}

TEST_F(ImageRealTest, TwoBuildsAreByteIdentical) {
  ImageOptions a = SharedOptions();
  a.out_dir = root_ + "/a";
  ImageOptions b = SharedOptions();
  b.out_dir = root_ + "/b";
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<Image> first = BuildImage(a);
  const double build_s = SecondsSince(start);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<Image> second = BuildImage(b);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(first->from_cache);
  EXPECT_FALSE(second->from_cache);
  EXPECT_EQ(first->dir, root_ + "/a");
  EXPECT_EQ(first->hash, second->hash);
  for (const char* file : {"vmlinuz", "initrd.img", "manifest.json"}) {
    const std::string x = ReadAll(root_ + "/a/" + file);
    const std::string y = ReadAll(root_ + "/b/" + file);
    EXPECT_FALSE(x.empty()) << file;
    EXPECT_TRUE(x == y) << file << " differs between two builds";
  }
  std::printf("[figure] build from cached .debs %.2f s; initrd.img %zu bytes\n",
              build_s, ReadAll(first->initrd).size());
  // The out folder is a cache too: the same inputs find it.
  absl::StatusOr<Image> again = BuildImage(a);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->from_cache);
  // Only the three files are left in it.
  std::set<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(root_ + "/a")) {
    files.insert(e.path().filename().string());
  }
  EXPECT_EQ(files,
            (std::set<std::string>{"initrd.img", "manifest.json", "vmlinuz"}));
}

TEST_F(ImageRealTest, ManifestDescribesTheImage) {
  absl::StatusOr<Image> image = BuildImage(SharedOptions());
  ASSERT_TRUE(image.ok()) << image.status();
  const nlohmann::json m = nlohmann::json::parse(ReadAll(image->manifest));
  EXPECT_EQ(m["format"], kImageFormatVersion);
  EXPECT_EQ(m["hash"], image->hash);
  EXPECT_EQ(m["kernel_version"], image->kernel_version);
  EXPECT_TRUE(absl::StartsWith(image->kernel_version, "6.1."));
  EXPECT_TRUE(absl::EndsWith(image->kernel_version, "-cloud-amd64"));
  EXPECT_EQ(m["packages"][0]["role"], "kernel");
  EXPECT_EQ(m["packages"][0]["name"], "linux-image-" + image->kernel_version);
  EXPECT_EQ(m["packages"][0]["requested"], "linux-image-cloud-amd64");
  EXPECT_EQ(m["packages"][1]["name"], "busybox-static");
  EXPECT_EQ(m["agent_sha256"], *Sha256File(PROCTOR_TEST_INIT, 1 << 30));
  EXPECT_EQ(m["files"]["vmlinuz"]["sha256"], Sha256Hex(ReadAll(image->kernel)));
  EXPECT_EQ(m["files"]["initrd.img"]["sha256"],
            Sha256Hex(ReadAll(image->initrd)));
  EXPECT_EQ(m["builtin_modules"], nlohmann::json::array());
  EXPECT_EQ(m["missing_optional_modules"], nlohmann::json::array());
  // The hash is the hash of the inputs the manifest names.
  EXPECT_EQ(image->hash,
            ImageHash(m["packages"][0]["sha256"], m["packages"][1]["sha256"],
                      m["agent_sha256"], ImageInputs()));
  std::vector<std::string> names;
  for (const std::string& path : image->modules) {
    EXPECT_TRUE(absl::StartsWith(
        path, "/lib/modules/" + image->kernel_version + "/kernel/"))
        << path;
    names.push_back(std::filesystem::path(path).filename().string());
  }
  EXPECT_EQ(m["modules"], image->modules);
  EXPECT_THAT(names, UnorderedElementsAre(
                         "virtio.ko", "virtio_ring.ko",
                         "virtio_pci_legacy_dev.ko", "virtio_pci_modern_dev.ko",
                         "virtio_pci.ko", "virtio_console.ko", "vsock.ko",
                         "vmw_vsock_virtio_transport_common.ko",
                         "vmw_vsock_virtio_transport.ko", "pvpanic.ko",
                         "pvpanic-mmio.ko", "pvpanic-pci.ko"));
  // Every module's dependencies come before it.
  const std::string initrd = ReadAll(image->initrd);
  absl::StatusOr<std::string> archive = Gunzip(initrd, uint64_t{1} << 30);
  ASSERT_TRUE(archive.ok()) << archive.status();
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string bare = names[i].substr(0, names[i].size() - 3);
    if (bare == "virtio_pci") {
      // virtio_pci needs the modern and legacy helpers and virtio.
      for (const char* dep : {"virtio.ko", "virtio_pci_modern_dev.ko"}) {
        auto at = std::find(names.begin(), names.end(), dep);
        EXPECT_LT(at - names.begin(), static_cast<long>(i)) << dep;
      }
    }
    if (bare == "vmw_vsock_virtio_transport") {
      for (const char* dep :
           {"vsock.ko", "vmw_vsock_virtio_transport_common.ko"}) {
        auto at = std::find(names.begin(), names.end(), dep);
        EXPECT_LT(at - names.begin(), static_cast<long>(i)) << dep;
      }
    }
  }
  // /etc/proctor/modules lists the same paths in the same order.
  std::string list;
  for (const std::string& p : image->modules) list += p + "\n";
  EXPECT_THAT(*archive, HasSubstr(list));
}

TEST_F(ImageRealTest, CpioListsTheArchives) {
  absl::StatusOr<std::string> cpio = FindTool("cpio", kToolPath);
  if (!cpio.ok()) GTEST_SKIP() << "cpio is not installed";
  // A tiny archive from the writer, then the real initramfs.
  absl::StatusOr<Image> image = BuildImage(SharedOptions());
  ASSERT_TRUE(image.ok()) << image.status();
  absl::StatusOr<std::string> archive =
      Gunzip(ReadAll(image->initrd), uint64_t{1} << 30);
  ASSERT_TRUE(archive.ok());
  ASSERT_TRUE(WriteFileAtomic(root_ + "/initrd.cpio", *archive).ok());
  ToolCall call;
  call.tool = "cpio";
  call.args = {"-i", "-t", "-v", "-F", root_ + "/initrd.cpio"};
  call.search_path = kToolPath;
  call.timeout = absl::Seconds(60);
  absl::StatusOr<ToolResult> listed = RunTool(call);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->exit_code, 0) << listed->err;
  std::vector<std::string> lines =
      absl::StrSplit(listed->out, '\n', absl::SkipEmpty());
  std::vector<std::string> names;
  for (const std::string& line : lines) {
    std::vector<std::string> fields =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    ASSERT_GE(fields.size(), 9u) << line;
    // Owner root (0), group root (0), mtime 0 (1970).
    EXPECT_EQ(fields[2], "root") << line;
    EXPECT_EQ(fields[3], "root") << line;
    names.push_back(
        fields[fields[0][0] == 'l' ? fields.size() - 3 : fields.size() - 1]);
  }
  EXPECT_THAT(listed->out,
              HasSubstr("crw-------   1 root     root       5,   1 "
                        "Jan  1  1970 dev/console"));
  EXPECT_THAT(listed->out, HasSubstr("bin/sh -> busybox"));
  EXPECT_THAT(listed->out, HasSubstr("drwxrwxrwt"));
  EXPECT_EQ(names.front(), "bin");
  EXPECT_THAT(names, Contains("init"));
  EXPECT_THAT(names, Contains("etc/proctor/modules"));
  EXPECT_THAT(names, Contains("bin/busybox"));
  // cpio counts 512-byte blocks: the archive is padded to whole blocks.
  EXPECT_EQ(archive->size() % 512, 0u);
  EXPECT_EQ(listed->err, absl::StrCat(archive->size() / 512, " blocks\n"));
  // Sorted, each folder before its contents.
  std::set<std::string> seen;
  for (const std::string& name : names) {
    const size_t slash = name.rfind('/');
    if (slash != std::string::npos) {
      EXPECT_TRUE(seen.contains(name.substr(0, slash))) << name;
    }
    seen.insert(name);
  }
}

TEST_F(ImageRealTest, ResolutionIsReusedUntilAptStateChanges) {
  ImageOptions options = SharedOptions();
  const std::string state = root_ + "/apt-state";
  options.apt_state_paths = {state};
  std::ofstream(state) << "one";
  absl::StatusOr<Image> first = BuildImage(options);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_GE(first->programs_run, 2);  // resolved with apt-cache
  absl::StatusOr<Image> second = BuildImage(options);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->programs_run, 0);
  EXPECT_TRUE(second->from_cache);
  std::ofstream(state) << "changed";
  absl::StatusOr<Image> third = BuildImage(options);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(third->programs_run, 2);  // apt-cache again, nothing rebuilt
  EXPECT_TRUE(third->from_cache);
  EXPECT_EQ(third->hash, first->hash);
}

TEST_F(ImageRealTest, UnknownPackageSaysToUpdateTheLists) {
  ImageOptions options = SharedOptions();
  options.cache_dir = root_ + "/cache";
  options.inputs.kernel_package = "proctor-no-such-package";
  EXPECT_EQ(BuildImage(options).status().message(),
            "apt-cache knows no package proctor-no-such-package; is the "
            "package list up to date? run apt-get update");
  options.inputs.busybox_package = "proctor-no-such-package-either";
  EXPECT_EQ(BuildImage(options).status().message(),
            "apt-cache show failed for proctor-no-such-package "
            "proctor-no-such-package-either: E: No packages found; is the "
            "package list up to date? run apt-get update");
}

TEST_F(ImageRealTest, MissingDpkgDebIsNamed) {
  // A tool folder with apt but without dpkg-deb; the .debs come from the
  // shared cache, so the build reaches the unpacking step.
  const std::string tools = root_ + "/tools";
  std::filesystem::create_directories(tools);
  for (const char* tool : {"apt-cache", "apt-get"}) {
    absl::StatusOr<std::string> path = FindTool(tool, kToolPath);
    ASSERT_TRUE(path.ok()) << path.status();
    std::filesystem::create_symlink(*path, tools + "/" + tool);
  }
  ImageOptions options = SharedOptions();
  ASSERT_TRUE(BuildImage(options).ok());  // fills the shared .deb cache
  options.out_dir = root_ + "/out";
  options.tool_path = tools;
  absl::StatusOr<Image> image = BuildImage(options);
  EXPECT_EQ(image.status().message(),
            absl::StrCat("dpkg-deb not found in ", tools, ": install dpkg"));
  // Nothing half-built is left in the out folder.
  EXPECT_TRUE(std::filesystem::is_empty(root_ + "/out"));
}

// A tool folder with the real apt-cache and dpkg-deb and a fake apt-get
// running `script`; a fresh cache, so the build must download.
class FakeAptGetTest : public ImageRealTest {
 protected:
  ImageOptions WithFakeAptGet(const std::string& script) {
    const std::string tools = root_ + "/tools";
    std::filesystem::create_directories(tools);
    for (const char* tool : {"apt-cache", "dpkg-deb"}) {
      absl::StatusOr<std::string> path = FindTool(tool, kToolPath);
      EXPECT_TRUE(path.ok()) << path.status();
      if (path.ok()) {
        std::filesystem::create_symlink(*path, tools + "/" + tool);
      }
    }
    std::ofstream(tools + "/apt-get") << "#!/bin/sh\n" << script;
    chmod((tools + "/apt-get").c_str(), 0755);
    ImageOptions options = SharedOptions();
    options.cache_dir = root_ + "/cache";
    options.tool_path = absl::StrCat(tools, ":", kToolPath);
    return options;
  }
  // The kernel package the shared cache resolves to.
  DebPackage Kernel() {
    absl::StatusOr<Image> image = BuildImage(SharedOptions());
    EXPECT_TRUE(image.ok()) << image.status();
    return image.ok() ? image->kernel_package : DebPackage();
  }
};

TEST_F(FakeAptGetTest, AFailedDownloadSaysToUpdateTheLists) {
  const DebPackage kernel = Kernel();
  ImageOptions options = WithFakeAptGet(
      "echo 'Get:1 http://deb.debian.org/debian x' \n"
      "echo 'E: Failed to fetch http://deb.debian.org/x.deb  404  Not Found' "
      ">&2\nexit 100\n");
  EXPECT_EQ(BuildImage(options).status().message(),
            absl::StrCat("apt-get download failed for ", kernel.name, "=",
                         kernel.version,
                         " (for linux-image-cloud-amd64): E: Failed to fetch "
                         "http://deb.debian.org/x.deb  404  Not Found; is the "
                         "package list up to date? run apt-get update"));
}

TEST_F(FakeAptGetTest, ADownloadWithTheWrongDigestIsRefused) {
  const DebPackage kernel = Kernel();
  ImageOptions options =
      WithFakeAptGet("echo bogus > linux-image_1_amd64.deb\n");
  EXPECT_EQ(BuildImage(options).status().message(),
            absl::StrCat("apt-get download ", kernel.name, "=", kernel.version,
                         " gave a file with sha256 ", Sha256Hex("bogus\n"),
                         "; the package index says ", kernel.sha256));
  // Nothing was put in the .deb cache.
  EXPECT_TRUE(std::filesystem::is_empty(options.cache_dir + "/debs"));
}

TEST_F(FakeAptGetTest, AHungDownloadIsKilledAtTheTimeout) {
  const DebPackage kernel = Kernel();
  // The shell's child `sleep` holds the output pipes: killing the group
  // ends it too, or the wait would last the whole sleep.
  ImageOptions options = WithFakeAptGet("sleep 60\necho done\n");
  options.tool_timeout = absl::Seconds(1);
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<Image> image = BuildImage(options);
  EXPECT_LT(SecondsSince(start), 30);
  EXPECT_EQ(image.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(image.status().message(),
            absl::StrCat("apt-get download ", kernel.name, "=", kernel.version,
                         ": apt-get timed out after 1s; killed"));
}

// Boots the image under QEMU with TCG and waits (at most 90 s) for the
// stand-in /init's lines and QEMU's exit after the guest powers off.
TEST_F(ImageRealTest, KernelBootsAndRunsInit) {
  absl::StatusOr<Image> image = BuildImage(SharedOptions());
  ASSERT_TRUE(image.ok()) << image.status();
  ToolCall qemu;
  qemu.tool = "qemu-system-x86_64";
  qemu.args = {"-machine",   "q35",
               "-accel",     "tcg",
               "-m",         "256",
               "-nographic", "-no-reboot",
               "-kernel",    image->kernel,
               "-initrd",    image->initrd,
               "-append",    "console=ttyS0 panic=-1 rdinit=/init"};
  qemu.search_path = kToolPath;
  qemu.timeout = absl::Seconds(90);
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<ToolResult> run = RunTool(qemu);
  const double boot_s = SecondsSince(start);
  ASSERT_TRUE(run.ok()) << run.status();
  const std::string& out = run->out;
  EXPECT_EQ(run->exit_code, 0) << run->err;
  EXPECT_THAT(out, HasSubstr("proctor-init-ok uptime="));
  EXPECT_THAT(out, HasSubstr(absl::StrCat("proctor-modules-ok ",
                                          image->modules.size())));
  EXPECT_THAT(out, HasSubstr("proctor-busybox-ok"));
  EXPECT_THAT(out, Not(HasSubstr("proctor-module-failed")));
  EXPECT_THAT(out, Not(HasSubstr("Kernel panic")));
  EXPECT_THAT(out, HasSubstr("reboot: Power down"));
  std::string uptime = "?";
  const size_t at = out.find("proctor-init-ok uptime=");
  if (at != std::string::npos) {
    uptime = out.substr(at + 23, out.find_first_of("\r\n", at) - at - 23);
  }
  std::printf(
      "[figure] QEMU TCG boot: /init ran at guest uptime %s s; QEMU "
      "exited after %.2f s of wall time\n",
      uptime.c_str(), boot_s);
  if (::testing::Test::HasFailure()) std::printf("%s\n", out.c_str());
}

}  // namespace
}  // namespace proctor::guest
