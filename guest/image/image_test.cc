// The image builder's pure parts and its refusals that need no program:
// the cache folder, the content hash, verifying a cached image, and the
// errors for a bad agent or a missing tool.
#include "guest/image/image.h"

#include <elf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "guest/image/sha256.h"

namespace proctor::guest {
namespace {

using ::testing::HasSubstr;

class TempFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/proctor-image-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    root_ = dir;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string path = root_ + "/" + name;
    std::filesystem::create_directories(
        std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  std::string root_;
};

TEST(DefaultCacheDirTest, FollowsXdgThenHome) {
  EXPECT_EQ(*DefaultCacheDir("/x/cache", "/home/u"), "/x/cache/proctor");
  EXPECT_EQ(*DefaultCacheDir("", "/home/u"), "/home/u/.cache/proctor");
  // The XDG spec: a relative XDG_CACHE_HOME is ignored.
  EXPECT_EQ(*DefaultCacheDir("rel", "/home/u"), "/home/u/.cache/proctor");
  EXPECT_EQ(DefaultCacheDir("", "").status().message(),
            "no cache folder: neither XDG_CACHE_HOME nor HOME is an absolute "
            "path");
}

TEST(ImageHashTest, IsPinnedAndCoversEveryInput) {
  const std::string k(64, 'a'), b(64, 'b'), a(64, 'c');
  ImageInputs inputs;
  const std::string hash = ImageHash(k, b, a, inputs);
  // Pinned: a change here changes every cache key, which needs a new
  // kImageFormatVersion.
  EXPECT_EQ(hash, Sha256Hex(absl::StrCat(
                      "proctor-guest-image 1\nkernel-deb ", k, "\nbusybox-deb ",
                      b, "\nagent ", a,
                      "\nmodules virtio_pci,virtio_console,"
                      "vmw_vsock_virtio_transport\noptional-modules "
                      "pvpanic_mmio,pvpanic_pci\n")));
  EXPECT_NE(ImageHash(b, k, a, inputs), hash);
  EXPECT_NE(ImageHash(k, b, k, inputs), hash);
  ImageInputs more = inputs;
  more.modules.push_back("virtio_blk");
  EXPECT_NE(ImageHash(k, b, a, more), hash);
  ImageInputs fewer = inputs;
  fewer.optional_modules.clear();
  EXPECT_NE(ImageHash(k, b, a, fewer), hash);
  // Package names do not matter, only the .deb digests; module spelling
  // ('-' or '_') does not either.
  ImageInputs renamed = inputs;
  renamed.kernel_package = "linux-image-6.1.0-56-cloud-amd64";
  renamed.optional_modules = {"pvpanic-mmio", "pvpanic-pci"};
  EXPECT_EQ(ImageHash(k, b, a, renamed), hash);
}

class VerifyImageDirTest : public TempFolder {
 protected:
  // A well-formed image folder whose manifest says `hash`.
  void MakeImage(const std::string& hash) {
    Write("img/vmlinuz", "kernel");
    Write("img/initrd.img", "initrd");
    Write("img/manifest.json",
          absl::StrCat(R"({"format": 1, "hash": ")", hash, R"(",
  "kernel_version": "6.1.0-56-cloud-amd64",
  "packages": [
    {"role": "kernel", "name": "linux-image-6.1.0-56-cloud-amd64",
     "version": "6.1.192-2", "sha256": ")",
                       std::string(64, '1'), R"(",
     "requested": "linux-image-cloud-amd64"},
    {"role": "busybox", "name": "busybox-static",
     "version": "1:1.35.0-4+deb12u1+b1", "sha256": ")",
                       std::string(64, '2'),
                       R"("}],
  "agent_sha256": ")",
                       std::string(64, '3'), R"(",
  "modules": ["/lib/modules/6.1.0-56-cloud-amd64/kernel/a.ko"],
  "builtin_modules": [], "missing_optional_modules": [],
  "files": {"vmlinuz": {"sha256": ")",
                       Sha256Hex("kernel"), R"(", "bytes": 6},
            "initrd.img": {"sha256": ")",
                       Sha256Hex("initrd"), R"(", "bytes": 6}}})"));
  }
  std::string Dir() const { return root_ + "/img"; }
};

TEST_F(VerifyImageDirTest, AcceptsAnIntactImage) {
  const std::string hash(64, 'e');
  MakeImage(hash);
  absl::StatusOr<Image> image = VerifyImageDir(Dir(), hash);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->kernel, Dir() + "/vmlinuz");
  EXPECT_EQ(image->initrd, Dir() + "/initrd.img");
  EXPECT_EQ(image->kernel_version, "6.1.0-56-cloud-amd64");
  EXPECT_EQ(image->kernel_package,
            (DebPackage{"linux-image-6.1.0-56-cloud-amd64", "6.1.192-2",
                        std::string(64, '1'), "linux-image-cloud-amd64"}));
  EXPECT_EQ(image->busybox_package.version, "1:1.35.0-4+deb12u1+b1");
  EXPECT_THAT(
      image->modules,
      ::testing::ElementsAre("/lib/modules/6.1.0-56-cloud-amd64/kernel/a.ko"));
}

TEST_F(VerifyImageDirTest, RefusesAnotherHashAndDamagedFiles) {
  const std::string hash(64, 'e');
  MakeImage(hash);
  EXPECT_EQ(VerifyImageDir(Dir(), std::string(64, 'f')).status().message(),
            absl::StrCat(Dir(), "/manifest.json: hash ", hash, " is not ",
                         std::string(64, 'f')));
  Write("img/initrd.img", "INITRD");
  EXPECT_EQ(VerifyImageDir(Dir(), hash).status().message(),
            absl::StrCat(Dir(), "/initrd.img: sha256 ", Sha256Hex("INITRD"),
                         ", the manifest records ", Sha256Hex("initrd")));
  Write("img/initrd.img", "initrd+");
  EXPECT_EQ(VerifyImageDir(Dir(), hash).status().message(),
            absl::StrCat(Dir(),
                         "/initrd.img: missing, not a regular file or "
                         "not the size the manifest records"));
}

TEST_F(VerifyImageDirTest, RefusesMalformedManifests) {
  const std::string hash(64, 'e');
  Write("img/manifest.json", "{not json");
  EXPECT_EQ(VerifyImageDir(Dir(), hash).status().message(),
            Dir() + "/manifest.json: not a JSON object");
  Write("img/manifest.json", R"({"format": 2})");
  EXPECT_EQ(VerifyImageDir(Dir(), hash).status().message(),
            Dir() + "/manifest.json: format is not 1");
  MakeImage(hash);
  std::ifstream in(Dir() + "/manifest.json");
  std::stringstream text;
  text << in.rdbuf();
  Write("img/manifest.json",
        absl::StrReplaceAll(text.str(), {{"/kernel/a.ko", "/../../etc/x.ko"}}));
  EXPECT_EQ(VerifyImageDir(Dir(), hash).status().message(),
            Dir() + "/manifest.json: bad module path in \"modules\"");
  Write("img/manifest.json", std::string(kMaxManifestBytes + 1, ' '));
  EXPECT_THAT(std::string(VerifyImageDir(Dir(), hash).status().message()),
              HasSubstr("larger than the limit of 1048576"));
}

// A minimal static x86-64 ELF executable: enough for the builder's checks.
std::string StaticElf(bool with_interp) {
  std::string out(sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr), '\0');
  Elf64_Ehdr h{};
  std::memcpy(h.e_ident, ELFMAG, SELFMAG);
  h.e_ident[EI_CLASS] = ELFCLASS64;
  h.e_ident[EI_DATA] = ELFDATA2LSB;
  h.e_type = ET_EXEC;
  h.e_machine = EM_X86_64;
  h.e_phoff = sizeof(Elf64_Ehdr);
  h.e_phentsize = sizeof(Elf64_Phdr);
  h.e_phnum = 1;
  Elf64_Phdr p{};
  p.p_type = with_interp ? PT_INTERP : PT_LOAD;
  std::memcpy(out.data(), &h, sizeof(h));
  std::memcpy(out.data() + sizeof(h), &p, sizeof(p));
  return out;
}

class BuildImageTest : public TempFolder {
 protected:
  ImageOptions Options(const std::string& agent) {
    ImageOptions options;
    options.inputs.agent_binary = agent;
    options.cache_dir = root_ + "/cache";
    options.tool_path = root_ + "/no-tools";
    options.apt_state_paths = {root_ + "/apt-state"};
    return options;
  }
};

TEST_F(BuildImageTest, NamesAMissingAgent) {
  EXPECT_EQ(BuildImage(Options(root_ + "/agent")).status().message(),
            absl::StrCat("agent binary: open ", root_,
                         "/agent: No such file or directory"));
  EXPECT_EQ(BuildImage(Options("")).status().message(),
            "no agent binary given");
}

TEST_F(BuildImageTest, RefusesADynamicAgent) {
  const std::string agent = Write("agent", StaticElf(true));
  EXPECT_EQ(BuildImage(Options(agent)).status().message(),
            absl::StrCat("agent binary ", agent,
                         ": dynamically linked (it names an ELF interpreter); "
                         "the guest has no libc, so /init must be a static "
                         "binary (link with -static)"));
}

TEST_F(BuildImageTest, NamesTheMissingToolAndItsPackage) {
  const std::string agent = Write("agent", StaticElf(false));
  ImageOptions options = Options(agent);
  absl::StatusOr<Image> image = BuildImage(options);
  EXPECT_EQ(image.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(
      image.status().message(),
      absl::StrCat("apt-cache not found in ", root_, "/no-tools: install apt"));
}

TEST_F(BuildImageTest, RefusesBadPackageNamesBeforeRunningAnything) {
  const std::string agent = Write("agent", StaticElf(false));
  ImageOptions options = Options(agent);
  options.inputs.kernel_package = "--option";
  EXPECT_EQ(BuildImage(options).status().message(),
            "\"--option\" is not a Debian package name");
}

}  // namespace
}  // namespace proctor::guest
