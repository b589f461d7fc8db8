// Module dependencies from .modinfo, the static-binary check, the module
// index of a kernel tree and the load order, on synthetic ELF files and
// trees.
#include "guest/image/kernel_modules.h"

#include <elf.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proctor::guest {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

template <typename T>
void Put(std::string* out, size_t at, const T& value) {
  if (out->size() < at + sizeof(T)) out->resize(at + sizeof(T));
  std::memcpy(out->data() + at, &value, sizeof(T));
}

// A minimal ELF64 file: the given sections (after the null section and
// before .shstrtab) and, when `interp` is set, one PT_INTERP program header.
std::string MakeElf(
    const std::vector<std::pair<std::string, std::string>>& sections,
    uint16_t type = ET_REL, uint16_t machine = EM_X86_64, bool interp = false) {
  std::string out(sizeof(Elf64_Ehdr), '\0');
  Elf64_Ehdr h{};
  std::memcpy(h.e_ident, ELFMAG, SELFMAG);
  h.e_ident[EI_CLASS] = ELFCLASS64;
  h.e_ident[EI_DATA] = ELFDATA2LSB;
  h.e_ident[EI_VERSION] = EV_CURRENT;
  h.e_type = type;
  h.e_machine = machine;
  h.e_version = EV_CURRENT;
  h.e_ehsize = sizeof(Elf64_Ehdr);
  if (type != ET_REL) {
    h.e_phoff = out.size();
    h.e_phentsize = sizeof(Elf64_Phdr);
    h.e_phnum = 1;
    Elf64_Phdr p{};
    p.p_type = interp ? PT_INTERP : PT_LOAD;
    Put(&out, out.size(), p);
  }
  std::string names(1, '\0');
  std::vector<Elf64_Shdr> headers(1);
  for (const auto& [name, bytes] : sections) {
    Elf64_Shdr s{};
    s.sh_name = static_cast<uint32_t>(names.size());
    names += name + '\0';
    s.sh_type = SHT_PROGBITS;
    s.sh_offset = out.size();
    s.sh_size = bytes.size();
    out += bytes;
    headers.push_back(s);
  }
  Elf64_Shdr strtab{};
  strtab.sh_name = static_cast<uint32_t>(names.size());
  names += std::string(".shstrtab") + '\0';
  strtab.sh_type = SHT_STRTAB;
  strtab.sh_offset = out.size();
  strtab.sh_size = names.size();
  out += names;
  headers.push_back(strtab);
  h.e_shoff = out.size();
  h.e_shentsize = sizeof(Elf64_Shdr);
  h.e_shnum = static_cast<uint16_t>(headers.size());
  h.e_shstrndx = static_cast<uint16_t>(headers.size() - 1);
  for (const Elf64_Shdr& s : headers) Put(&out, out.size(), s);
  Put(&out, 0, h);
  return out;
}

// A string literal with its embedded NULs.
template <size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

std::string Modinfo(absl::string_view fields) {
  return MakeElf({{".text", "code"}, {".modinfo", std::string(fields)}});
}

TEST(ModuleDependsTest, ReadsAndNormalizesDepends) {
  absl::StatusOr<std::vector<std::string>> deps = ModuleDepends(
      Modinfo(Bytes("license=GPL\0depends=virtio_ring,pvpanic-x\0name="
                    "virtio_console\0")),
      "x.ko");
  ASSERT_TRUE(deps.ok()) << deps.status();
  EXPECT_THAT(*deps, ElementsAre("virtio_ring", "pvpanic_x"));
}

TEST(ModuleDependsTest, EmptyOrAbsentDependsIsNoDependency) {
  EXPECT_THAT(*ModuleDepends(Modinfo(Bytes("depends=\0name=a\0")), "a.ko"),
              IsEmpty());
  EXPECT_THAT(*ModuleDepends(Modinfo(Bytes("name=a\0")), "a.ko"), IsEmpty());
}

TEST(ModuleDependsTest, RefusesMalformedModules) {
  EXPECT_EQ(
      ModuleDepends(MakeElf({{".text", "x"}}), "k/a.ko").status().message(),
      "kernel module k/a.ko: no .modinfo section");
  EXPECT_EQ(ModuleDepends("\x7f"
                          "ELF",
                          "k/a.ko")
                .status()
                .message(),
            "kernel module k/a.ko: not an ELF file");
  EXPECT_EQ(ModuleDepends(Modinfo(Bytes("depends=a/b\0")), "k/a.ko")
                .status()
                .message(),
            "kernel module k/a.ko: bad dependency name \"a/b\"");
  EXPECT_EQ(ModuleDepends(Modinfo(Bytes("depends=a\0depends=b\0")), "k/a.ko")
                .status()
                .message(),
            "kernel module k/a.ko: two depends= fields in .modinfo");
  // Every truncation of a valid module fails cleanly (never reads past it).
  const std::string good = Modinfo(Bytes("depends=a\0"));
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(ModuleDepends(good.substr(0, n), "t.ko").ok()) << n;
  }
}

TEST(ElfSectionTest, RefusesSectionsOutsideTheFile) {
  std::string elf = Modinfo("depends=a");
  Elf64_Ehdr h;
  std::memcpy(&h, elf.data(), sizeof(h));
  h.e_shoff = elf.size() + 1000;
  std::memcpy(elf.data(), &h, sizeof(h));
  EXPECT_EQ(ElfSection(elf, ".modinfo").status().message(),
            "ELF section header 3 lies outside the file");
}

TEST(StaticExecutableTest, AcceptsStaticAndRefusesTheRest) {
  EXPECT_TRUE(CheckStaticX8664Executable(MakeElf({}, ET_EXEC), "agent").ok());
  EXPECT_TRUE(CheckStaticX8664Executable(MakeElf({}, ET_DYN), "agent").ok());
  EXPECT_EQ(
      CheckStaticX8664Executable(MakeElf({}, ET_DYN, EM_X86_64, true), "agent")
          .message(),
      "agent: dynamically linked (it names an ELF interpreter); the guest has "
      "no libc, so /init must be a static binary (link with -static)");
  EXPECT_EQ(
      CheckStaticX8664Executable(MakeElf({}, ET_EXEC, EM_AARCH64), "agent")
          .message(),
      "agent: built for ELF machine 183, not x86-64 (62); the guest is "
      "x86-64");
  EXPECT_EQ(CheckStaticX8664Executable(MakeElf({}), "agent").message(),
            "agent: not an executable (ELF type 1)");
  EXPECT_EQ(CheckStaticX8664Executable("#!/bin/sh\n", "agent").message(),
            "agent: not an ELF file");
}

TEST(ModuleLoadOrderTest, DependenciesComeFirstAndOnce) {
  std::map<std::string, std::vector<std::string>> graph = {
      {"virtio_console", {"virtio_ring", "virtio"}},
      {"virtio_ring", {}},
      {"virtio", {}},
      {"virtio_pci", {"virtio_pci_modern_dev", "virtio_ring", "virtio"}},
      {"virtio_pci_modern_dev", {}},
      {"vsock_t", {"vsock_c", "vsock"}},
      {"vsock_c", {"vsock"}},
      {"vsock", {}},
  };
  auto depends_of =
      [&](const std::string& name) -> absl::StatusOr<std::vector<std::string>> {
    auto it = graph.find(name);
    if (it == graph.end()) return absl::NotFoundError(name + " unknown");
    return it->second;
  };
  absl::StatusOr<std::vector<std::string>> order =
      ModuleLoadOrder({"virtio-pci", "virtio_console", "vsock_t"}, depends_of);
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_THAT(*order, ElementsAre("virtio_pci_modern_dev", "virtio_ring",
                                  "virtio", "virtio_pci", "virtio_console",
                                  "vsock", "vsock_c", "vsock_t"));
}

TEST(ModuleLoadOrderTest, NamesCyclesAndMissingModules) {
  std::map<std::string, std::vector<std::string>> graph = {
      {"a", {"b"}}, {"b", {"c"}}, {"c", {"a"}}, {"d", {"e"}}};
  auto depends_of =
      [&](const std::string& name) -> absl::StatusOr<std::vector<std::string>> {
    auto it = graph.find(name);
    if (it == graph.end()) {
      return absl::NotFoundError("kernel module " + name + " is not there");
    }
    return it->second;
  };
  EXPECT_EQ(ModuleLoadOrder({"a"}, depends_of).status().message(),
            "kernel module dependency cycle: a -> b -> c -> a");
  EXPECT_EQ(ModuleLoadOrder({"d"}, depends_of).status().message(),
            "kernel module e is not there (needed by d)");
}

TEST(ModuleLoadOrderTest, RefusesDeepChains) {
  auto depends_of =
      [](const std::string& name) -> absl::StatusOr<std::vector<std::string>> {
    return std::vector<std::string>{name + "x"};
  };
  absl::StatusOr<std::vector<std::string>> order =
      ModuleLoadOrder({"m"}, depends_of);
  EXPECT_THAT(std::string(order.status().message()),
              ::testing::StartsWith(
                  "kernel module dependencies deeper than 32: m -> mx -> "));
}

class IndexModulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/proctor-modules-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    root_ = dir;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void Write(const std::string& path, const std::string& bytes) {
    std::filesystem::create_directories(
        std::filesystem::path(root_ + "/" + path).parent_path());
    std::ofstream(root_ + "/" + path) << bytes;
  }
  std::string root_;
};

TEST_F(IndexModulesTest, IndexesModulesAndBuiltins) {
  Write("kernel/drivers/char/virtio_console.ko", "elf");
  Write("kernel/drivers/misc/pvpanic/pvpanic-pci.ko", "elf");
  Write("kernel/drivers/misc/README", "not a module");
  Write("modules.builtin",
        "kernel/drivers/tty/serial/8250/8250.ko\n"
        "kernel/drivers/misc/pvpanic/pvpanic.ko\n");
  absl::StatusOr<ModuleIndex> index = IndexModules(root_);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(index->path_by_name.size(), 2u);
  EXPECT_EQ(index->path_by_name.at("virtio_console"),
            "kernel/drivers/char/virtio_console.ko");
  EXPECT_EQ(index->path_by_name.at("pvpanic_pci"),
            "kernel/drivers/misc/pvpanic/pvpanic-pci.ko");
  EXPECT_TRUE(index->builtin.contains("8250"));
  EXPECT_TRUE(index->builtin.contains("pvpanic"));
}

TEST_F(IndexModulesTest, RefusesCompressedAndDuplicateModules) {
  Write("modules.builtin", "");
  Write("kernel/a/x.ko.xz", "");
  EXPECT_EQ(IndexModules(root_).status().message(),
            "compressed kernel module " + root_ +
                "/kernel/a/x.ko.xz: this builder copies modules as they are "
                "and handles only uncompressed .ko files");
  std::filesystem::remove(root_ + "/kernel/a/x.ko.xz");
  Write("kernel/a/x-y.ko", "");
  Write("kernel/b/x_y.ko", "");
  EXPECT_THAT(std::string(IndexModules(root_).status().message()),
              ::testing::StartsWith("two kernel modules named x_y: kernel/"));
}

TEST_F(IndexModulesTest, RefusesABadBuiltinListAndAMissingTree) {
  EXPECT_EQ(
      IndexModules(root_).status().message(),
      "kernel modules folder " + root_ + "/kernel: No such file or directory");
  Write("kernel/a/x.ko", "");
  Write("modules.builtin", "kernel/a/y.o\n");
  EXPECT_EQ(IndexModules(root_).status().message(),
            root_ + "/modules.builtin: bad line \"kernel/a/y.o\"");
}

}  // namespace
}  // namespace proctor::guest
