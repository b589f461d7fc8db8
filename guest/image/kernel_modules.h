// Which kernel modules go into the guest image, and in what order the guest
// loads them. Debian's kernel package ships no modules.dep (its postinst runs
// depmod), so dependencies are read from each module's own ".modinfo" ELF
// section ("depends=a,b"), and the agent binary is checked to be a static
// x86-64 executable the same way. Module files come from a package and are
// parsed as untrusted bytes: every offset is bounds-checked.
#ifndef PROCTOR_GUEST_IMAGE_KERNEL_MODULES_H_
#define PROCTOR_GUEST_IMAGE_KERNEL_MODULES_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace proctor::guest {

inline constexpr size_t kMaxModuleNameBytes = 64;
inline constexpr size_t kMaxModuleDepends = 64;
// Deeper dependency chains than this are refused (real ones are < 10).
inline constexpr size_t kMaxModuleDepth = 32;
// Modules in one kernel tree (Debian's cloud kernel has about 1,100).
inline constexpr size_t kMaxKernelModules = 100'000;

// A module's name as the kernel compares it: '-' becomes '_'.
std::string NormalizeModuleName(absl::string_view name);

// The bytes of the section named `name` of a little-endian ELF64 file.
// InvalidArgument if the file is not one or a header points outside it;
// NotFound if there is no such section.
absl::StatusOr<absl::string_view> ElfSection(absl::string_view elf,
                                             absl::string_view name);

// OK if `elf` is an x86-64 ELF executable without an interpreter (a static
// binary, which is what the kernel can run as /init from an initramfs that
// has no libc). The error says what is wrong, prefixed by `what`.
absl::Status CheckStaticX8664Executable(absl::string_view elf,
                                        absl::string_view what);

// The "depends=" list of a module's .modinfo, normalized; empty when the
// module depends on nothing. Errors name `what` (the module's path).
absl::StatusOr<std::vector<std::string>> ModuleDepends(
    absl::string_view module_elf, absl::string_view what);

// The modules of one kernel tree, by normalized name.
struct ModuleIndex {
  // name -> path relative to lib/modules/<version>, "kernel/.../x.ko".
  absl::flat_hash_map<std::string, std::string> path_by_name;
  // Names of modules built into the kernel (modules.builtin).
  absl::flat_hash_set<std::string> builtin;
};

// Walks `modules_dir` (lib/modules/<version>) for kernel/**/*.ko and reads
// its modules.builtin. Compressed modules (.ko.xz, .ko.zst, .ko.gz) are
// refused with a message saying so: Debian's 6.1 kernels ship them plain.
absl::StatusOr<ModuleIndex> IndexModules(const std::string& modules_dir);

// Names of the modules to load, dependencies first, each once: `wanted` in
// order, each preceded by what it needs (depth first, in "depends=" order).
// `depends_of(name)` gives a module's dependencies. A cycle, a chain deeper
// than kMaxModuleDepth or an error from `depends_of` fails, naming the chain.
absl::StatusOr<std::vector<std::string>> ModuleLoadOrder(
    const std::vector<std::string>& wanted,
    absl::FunctionRef<
        absl::StatusOr<std::vector<std::string>>(const std::string&)>
        depends_of);

}  // namespace proctor::guest

#endif  // PROCTOR_GUEST_IMAGE_KERNEL_MODULES_H_
