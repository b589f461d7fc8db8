#include "guest/image/kernel_modules.h"

#include <elf.h>

#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "guest/image/files.h"

namespace proctor::guest {
namespace {

// modules.builtin is one line per module; Debian's is about 30 KiB.
constexpr uint64_t kMaxModulesBuiltinBytes = uint64_t{16} << 20;

template <typename T>
bool ReadAt(absl::string_view bytes, uint64_t offset, T* out) {
  if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) return false;
  std::memcpy(out, bytes.data() + offset, sizeof(T));
  return true;
}

absl::StatusOr<Elf64_Ehdr> ElfHeader(absl::string_view elf) {
  Elf64_Ehdr header;
  if (!ReadAt(elf, 0, &header) ||
      std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) {
    return absl::InvalidArgumentError("not an ELF file");
  }
  if (header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_ident[EI_DATA] != ELFDATA2LSB) {
    return absl::InvalidArgumentError("not a little-endian 64-bit ELF file");
  }
  return header;
}

bool ValidModuleName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxModuleNameBytes) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string NormalizeModuleName(absl::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '-') c = '_';
  }
  return out;
}

absl::StatusOr<absl::string_view> ElfSection(absl::string_view elf,
                                             absl::string_view name) {
  absl::StatusOr<Elf64_Ehdr> header = ElfHeader(elf);
  if (!header.ok()) return header.status();
  if (header->e_shentsize != sizeof(Elf64_Shdr) ||
      header->e_shstrndx >= header->e_shnum) {
    return absl::InvalidArgumentError("ELF section header table is malformed");
  }
  auto section = [&](uint64_t index) -> absl::StatusOr<Elf64_Shdr> {
    Elf64_Shdr s;
    if (!ReadAt(elf, header->e_shoff + index * sizeof(Elf64_Shdr), &s)) {
      return absl::InvalidArgumentError(
          absl::StrCat("ELF section header ", index, " lies outside the file"));
    }
    return s;
  };
  auto contents =
      [&](const Elf64_Shdr& s) -> absl::StatusOr<absl::string_view> {
    if (s.sh_type == SHT_NOBITS) return absl::string_view();
    if (s.sh_offset > elf.size() || elf.size() - s.sh_offset < s.sh_size) {
      return absl::InvalidArgumentError("ELF section lies outside the file");
    }
    return elf.substr(s.sh_offset, s.sh_size);
  };
  absl::StatusOr<Elf64_Shdr> names_header = section(header->e_shstrndx);
  if (!names_header.ok()) return names_header.status();
  absl::StatusOr<absl::string_view> names = contents(*names_header);
  if (!names.ok()) return names.status();
  for (uint64_t i = 0; i < header->e_shnum; ++i) {
    absl::StatusOr<Elf64_Shdr> s = section(i);
    if (!s.ok()) return s.status();
    if (s->sh_name >= names->size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ELF section ", i, " has its name outside .shstrtab"));
    }
    absl::string_view rest = names->substr(s->sh_name);
    const size_t end = rest.find('\0');
    if (end == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("ELF section ", i, " has an unterminated name"));
    }
    if (rest.substr(0, end) == name) return contents(*s);
  }
  return absl::NotFoundError(absl::StrCat("no ", name, " section"));
}

absl::Status CheckStaticX8664Executable(absl::string_view elf,
                                        absl::string_view what) {
  absl::StatusOr<Elf64_Ehdr> header = ElfHeader(elf);
  if (!header.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", header.status().message()));
  }
  if (header->e_machine != EM_X86_64) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": built for ELF machine ", header->e_machine,
                     ", not x86-64 (", EM_X86_64, "); the guest is x86-64"));
  }
  if (header->e_type != ET_EXEC && header->e_type != ET_DYN) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": not an executable (ELF type ", header->e_type, ")"));
  }
  if (header->e_phentsize != sizeof(Elf64_Phdr) || header->e_phnum == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ELF program header table is malformed"));
  }
  for (uint64_t i = 0; i < header->e_phnum; ++i) {
    Elf64_Phdr p;
    if (!ReadAt(elf, header->e_phoff + i * sizeof(Elf64_Phdr), &p)) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": ELF program header ", i, " lies outside the file"));
    }
    if (p.p_type == PT_INTERP) {
      return absl::InvalidArgumentError(absl::StrCat(
          what,
          ": dynamically linked (it names an ELF interpreter); the guest has "
          "no libc, so /init must be a static binary (link with -static)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ModuleDepends(
    absl::string_view module_elf, absl::string_view what) {
  absl::StatusOr<absl::string_view> modinfo =
      ElfSection(module_elf, ".modinfo");
  if (!modinfo.ok()) {
    return absl::Status(
        modinfo.status().code(),
        absl::StrCat("kernel module ", what, ": ", modinfo.status().message()));
  }
  std::vector<std::string> depends;
  bool seen = false;
  for (absl::string_view field : absl::StrSplit(*modinfo, '\0')) {
    if (!absl::ConsumePrefix(&field, "depends=")) continue;
    if (seen) {
      return absl::InvalidArgumentError(absl::StrCat(
          "kernel module ", what, ": two depends= fields in .modinfo"));
    }
    seen = true;
    for (absl::string_view dep :
         absl::StrSplit(field, ',', absl::SkipEmpty())) {
      if (!ValidModuleName(dep)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "kernel module ", what, ": bad dependency name \"",
            absl::CHexEscape(dep.substr(0, kMaxModuleNameBytes)), "\""));
      }
      if (depends.size() == kMaxModuleDepends) {
        return absl::InvalidArgumentError(
            absl::StrCat("kernel module ", what, ": more than ",
                         kMaxModuleDepends, " dependencies"));
      }
      depends.push_back(NormalizeModuleName(dep));
    }
  }
  return depends;
}

absl::StatusOr<ModuleIndex> IndexModules(const std::string& modules_dir) {
  ModuleIndex index;
  const std::filesystem::path root(modules_dir);
  std::error_code error;
  std::filesystem::recursive_directory_iterator it(root / "kernel", error);
  if (error) {
    return absl::NotFoundError(absl::StrCat("kernel modules folder ",
                                            (root / "kernel").string(), ": ",
                                            error.message()));
  }
  size_t seen = 0;
  for (; it != std::filesystem::recursive_directory_iterator();
       it.increment(error)) {
    if (error) break;
    if (++seen > kMaxKernelModules * 4) {
      return absl::OutOfRangeError(
          absl::StrCat((root / "kernel").string(), ": more than ",
                       kMaxKernelModules * 4, " entries"));
    }
    const std::filesystem::path& path = it->path();
    const std::string file = path.filename().string();
    for (absl::string_view suffix : {".ko.xz", ".ko.zst", ".ko.gz"}) {
      if (absl::EndsWith(file, suffix)) {
        return absl::UnimplementedError(absl::StrCat(
            "compressed kernel module ", path.string(),
            ": this builder copies modules as they are and handles only "
            "uncompressed .ko files"));
      }
    }
    if (!absl::EndsWith(file, ".ko") || !it->is_regular_file(error)) continue;
    std::string name =
        NormalizeModuleName(absl::string_view(file).substr(0, file.size() - 3));
    std::string relative = path.lexically_relative(root).string();
    if (index.path_by_name.size() == kMaxKernelModules) {
      return absl::OutOfRangeError(absl::StrCat(modules_dir, ": more than ",
                                                kMaxKernelModules, " modules"));
    }
    auto [pos, inserted] = index.path_by_name.emplace(name, relative);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat("two kernel modules named ", name, ": ", pos->second,
                       " and ", relative));
    }
  }
  if (error) {
    return absl::InternalError(absl::StrCat(
        "listing ", (root / "kernel").string(), ": ", error.message()));
  }
  absl::StatusOr<std::string> builtin =
      ReadFileBounded((root / "modules.builtin").string(),
                      kMaxModulesBuiltinBytes, Links::kNoFollow);
  if (!builtin.ok()) return builtin.status();
  for (absl::string_view line : absl::StrSplit(*builtin, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    const size_t slash = line.rfind('/');
    absl::string_view file =
        slash == absl::string_view::npos ? line : line.substr(slash + 1);
    if (!absl::ConsumeSuffix(&file, ".ko") || !ValidModuleName(file)) {
      return absl::InvalidArgumentError(
          absl::StrCat((root / "modules.builtin").string(), ": bad line \"",
                       absl::CHexEscape(line.substr(0, 200)), "\""));
    }
    index.builtin.insert(NormalizeModuleName(file));
  }
  return index;
}

absl::StatusOr<std::vector<std::string>> ModuleLoadOrder(
    const std::vector<std::string>& wanted,
    absl::FunctionRef<
        absl::StatusOr<std::vector<std::string>>(const std::string&)>
        depends_of) {
  std::vector<std::string> order;
  absl::flat_hash_set<std::string> done;
  // The chain being visited, for cycle detection and the error message.
  std::vector<std::string> chain;
  absl::flat_hash_set<std::string> on_chain;

  // Recursion is bounded by kMaxModuleDepth.
  auto visit = [&](auto& self, const std::string& name) -> absl::Status {
    if (done.contains(name)) return absl::OkStatus();
    if (on_chain.contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "kernel module dependency cycle: ", absl::StrJoin(chain, " -> "),
          " -> ", name));
    }
    if (chain.size() == kMaxModuleDepth) {
      return absl::InvalidArgumentError(
          absl::StrCat("kernel module dependencies deeper than ",
                       kMaxModuleDepth, ": ", absl::StrJoin(chain, " -> ")));
    }
    chain.push_back(name);
    on_chain.insert(name);
    absl::StatusOr<std::vector<std::string>> depends = depends_of(name);
    if (!depends.ok()) {
      if (chain.size() == 1) return depends.status();
      return absl::Status(
          depends.status().code(),
          absl::StrCat(depends.status().message(), " (needed by ",
                       absl::StrJoin(chain.begin(), chain.end() - 1, " -> "),
                       ")"));
    }
    for (const std::string& dep : *depends) {
      if (absl::Status s = self(self, dep); !s.ok()) return s;
    }
    chain.pop_back();
    on_chain.erase(name);
    done.insert(name);
    order.push_back(name);
    return absl::OkStatus();
  };
  for (const std::string& name : wanted) {
    if (absl::Status s = visit(visit, NormalizeModuleName(name)); !s.ok()) {
      return s;
    }
  }
  return order;
}

}  // namespace proctor::guest
