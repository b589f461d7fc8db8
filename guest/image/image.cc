#include "guest/image/image.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "guest/image/cpio.h"
#include "guest/image/files.h"
#include "guest/image/gzip.h"
#include "guest/image/kernel_modules.h"
#include "guest/image/sha256.h"
#include "guest/image/tool.h"
#include "nlohmann/json.hpp"

namespace proctor::guest {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr char kKernelFile[] = "vmlinuz";
constexpr char kInitrdFile[] = "initrd.img";
constexpr char kManifestFile[] = "manifest.json";
// The guest file listing the modules to load, one path a line, in order.
constexpr char kModuleListPath[] = "etc/proctor/modules";
constexpr size_t kMaxKernelVersionBytes = 64;
constexpr size_t kMaxManifestModules = 1024;
// apt's state is a few folders of a few dozen files; more is refused.
constexpr size_t kMaxAptStateEntries = 10'000;
constexpr uint64_t kMaxResolutionBytes = 4096;

bool ValidKernelVersion(absl::string_view v) {
  if (v.empty() || v.size() > kMaxKernelVersionBytes) return false;
  if (!absl::ascii_isalnum(static_cast<unsigned char>(v[0]))) return false;
  for (char c : v) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        absl::string_view("._+-").find(c) == absl::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool ValidGuestModulePath(absl::string_view path) {
  if (!absl::StartsWith(path, "/lib/modules/") || path.size() > 1024 ||
      !absl::EndsWith(path, ".ko")) {
    return false;
  }
  for (absl::string_view part : absl::StrSplit(path.substr(1), '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  for (char c : path) {
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Reusing a package resolution while apt's state is unchanged.

absl::Status StatLine(const std::string& path, std::vector<std::string>* out) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    out->push_back(absl::StrCat(path, " missing"));
    return absl::OkStatus();
  }
  out->push_back(absl::StrCat(path, " ", st.st_mode, " ", st.st_size, " ",
                              st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, " ",
                              st.st_ino));
  if (out->size() > kMaxAptStateEntries) {
    return absl::OutOfRangeError(absl::StrCat("apt state has more than ",
                                              kMaxAptStateEntries,
                                              " entries; stopped at ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> AptStateFingerprint(
    const std::vector<std::string>& paths) {
  std::vector<std::string> lines;
  for (const std::string& root : paths) {
    if (absl::Status s = StatLine(root, &lines); !s.ok()) return s;
    std::error_code error;
    if (!fs::is_directory(fs::symlink_status(root, error))) continue;
    fs::recursive_directory_iterator it(
        root, fs::directory_options::skip_permission_denied, error);
    for (; !error && it != fs::recursive_directory_iterator();
         it.increment(error)) {
      if (it.depth() >= 3) it.disable_recursion_pending();
      if (absl::Status s = StatLine(it->path().string(), &lines); !s.ok()) {
        return s;
      }
    }
    if (error) {
      return absl::InternalError(
          absl::StrCat("listing apt state ", root, ": ", error.message()));
    }
  }
  std::sort(lines.begin(), lines.end());
  return Sha256Hex(absl::StrJoin(lines, "\n"));
}

std::string ResolutionText(const DebPackage& kernel,
                           const DebPackage& busybox) {
  auto line = [](absl::string_view role, const DebPackage& p) {
    return absl::StrCat(role, " ", p.name, " ", p.version, " ", p.sha256, " ",
                        p.requested.empty() ? "-" : p.requested, "\n");
  };
  return absl::StrCat(line("kernel", kernel), line("busybox", busybox));
}

std::optional<std::pair<DebPackage, DebPackage>> ParseResolution(
    absl::string_view text) {
  std::vector<absl::string_view> lines =
      absl::StrSplit(text, '\n', absl::SkipEmpty());
  if (lines.size() != 2) return std::nullopt;
  DebPackage packages[2];
  const absl::string_view roles[2] = {"kernel", "busybox"};
  for (int i = 0; i < 2; ++i) {
    std::vector<absl::string_view> f = absl::StrSplit(lines[i], ' ');
    if (f.size() != 5 || f[0] != roles[i] || !ValidPackageName(f[1]) ||
        !ValidPackageVersion(f[2]) || !ValidSha256Hex(f[3]) ||
        (f[4] != "-" && !ValidPackageName(f[4]))) {
      return std::nullopt;
    }
    packages[i] =
        DebPackage{std::string(f[1]), std::string(f[2]), std::string(f[3]),
                   f[4] == "-" ? "" : std::string(f[4])};
  }
  return std::make_pair(packages[0], packages[1]);
}

absl::StatusOr<std::pair<DebPackage, DebPackage>> Resolve(
    const ImageOptions& options, const AptTools& tools) {
  const ImageInputs& in = options.inputs;
  absl::StatusOr<std::string> fingerprint =
      AptStateFingerprint(options.apt_state_paths);
  if (!fingerprint.ok()) return fingerprint.status();
  const std::string dir = absl::StrCat(options.cache_dir, "/resolved");
  const std::string memo = absl::StrCat(
      dir, "/",
      Sha256Hex(absl::StrCat("apt-resolution 1\n", in.kernel_package, "\n",
                             in.busybox_package, "\n", *fingerprint)));
  // A memo that cannot be read or parsed is ignored and rewritten.
  absl::StatusOr<std::string> text =
      ReadFileBounded(memo, kMaxResolutionBytes, Links::kNoFollow);
  if (text.ok()) {
    if (auto parsed = ParseResolution(*text); parsed.has_value()) {
      return *parsed;
    }
  }
  absl::StatusOr<std::pair<DebPackage, DebPackage>> resolved =
      ResolvePackages(tools, in.kernel_package, in.busybox_package);
  if (!resolved.ok()) return resolved.status();
  if (absl::Status s = MakeDirs(dir); !s.ok()) return s;
  if (absl::Status s = WriteFileAtomic(
          memo, ResolutionText(resolved->first, resolved->second));
      !s.ok()) {
    return s;
  }
  return resolved;
}

// ---------------------------------------------------------------------------
// The manifest.

Json PackageJson(absl::string_view role, const DebPackage& p) {
  Json j;
  j["role"] = role;
  j["name"] = p.name;
  j["version"] = p.version;
  j["sha256"] = p.sha256;
  if (!p.requested.empty()) j["requested"] = p.requested;
  return j;
}

Json FileJson(absl::string_view bytes) {
  Json j;
  j["sha256"] = Sha256Hex(bytes);
  j["bytes"] = bytes.size();
  return j;
}

absl::Status ManifestError(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

absl::StatusOr<std::string> JsonString(const Json& j, const char* key,
                                       const std::string& path,
                                       size_t max_bytes = 256) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string() ||
      it->get_ref<const std::string&>().size() > max_bytes) {
    return ManifestError(path, absl::StrCat("\"", key,
                                            "\" is missing or not a "
                                            "string of at most ",
                                            max_bytes, " bytes"));
  }
  return it->get<std::string>();
}

absl::StatusOr<DebPackage> ParsePackageJson(const Json& j,
                                            absl::string_view role,
                                            const std::string& path) {
  if (!j.is_object()) return ManifestError(path, "a package is not an object");
  absl::StatusOr<std::string> r = JsonString(j, "role", path);
  absl::StatusOr<std::string> name = JsonString(j, "name", path);
  absl::StatusOr<std::string> version = JsonString(j, "version", path);
  absl::StatusOr<std::string> sha = JsonString(j, "sha256", path);
  for (const auto* s : {&r, &name, &version, &sha}) {
    if (!s->ok()) return s->status();
  }
  DebPackage p{*name, *version, *sha, ""};
  if (j.contains("requested")) {
    absl::StatusOr<std::string> requested = JsonString(j, "requested", path);
    if (!requested.ok()) return requested.status();
    if (!ValidPackageName(*requested)) {
      return ManifestError(path, "bad \"requested\" package name");
    }
    p.requested = *requested;
  }
  if (*r != role || !ValidPackageName(p.name) ||
      !ValidPackageVersion(p.version) || !ValidSha256Hex(p.sha256)) {
    return ManifestError(path, absl::StrCat("bad ", role, " package entry"));
  }
  return p;
}

// Checks one file the manifest lists against its record.
absl::Status VerifyFile(const Json& files, const char* name,
                        const std::string& dir, const std::string& manifest) {
  auto it = files.find(name);
  if (it == files.end() || !it->is_object()) {
    return ManifestError(manifest, absl::StrCat("no record of ", name));
  }
  absl::StatusOr<std::string> sha = JsonString(*it, "sha256", manifest);
  if (!sha.ok()) return sha.status();
  auto bytes = it->find("bytes");
  if (bytes == it->end() || !bytes->is_number_unsigned()) {
    return ManifestError(manifest, absl::StrCat("no size of ", name));
  }
  const std::string path = absl::StrCat(dir, "/", name);
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<uint64_t>(st.st_size) != bytes->get<uint64_t>()) {
    return absl::DataLossError(absl::StrCat(
        path,
        ": missing, not a regular file or not the size the manifest "
        "records"));
  }
  absl::StatusOr<std::string> actual = Sha256File(path, kMaxImageFileBytes);
  if (!actual.ok()) return actual.status();
  if (*actual != *sha) {
    return absl::DataLossError(absl::StrCat(path, ": sha256 ", *actual,
                                            ", the manifest records ", *sha));
  }
  return absl::OkStatus();
}

Image ImagePaths(const std::string& dir) {
  Image image;
  image.dir = dir;
  image.kernel = absl::StrCat(dir, "/", kKernelFile);
  image.initrd = absl::StrCat(dir, "/", kInitrdFile);
  image.manifest = absl::StrCat(dir, "/", kManifestFile);
  return image;
}

// ---------------------------------------------------------------------------
// Building.

// Runs dpkg-deb -x; the package is unpacked, never installed.
absl::Status Unpack(const AptTools& tools, const std::string& deb,
                    const std::string& into) {
  ToolCall call;
  call.tool = "dpkg-deb";
  call.args = {"-x", deb, into};
  call.search_path = tools.search_path;
  call.timeout = tools.timeout;
  if (tools.programs_run != nullptr) ++*tools.programs_run;
  absl::StatusOr<ToolResult> result = RunTool(call);
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return absl::InternalError(
        absl::StrCat("dpkg-deb -x ", deb, " failed: ", LastLine(*result)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> KernelVersionOf(const std::string& tree,
                                            const DebPackage& package) {
  const std::string modules = absl::StrCat(tree, "/lib/modules");
  std::vector<std::string> versions;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(modules, error)) {
    versions.push_back(entry.path().filename().string());
    if (versions.size() > 1) break;
  }
  if (error || versions.size() != 1 || !ValidKernelVersion(versions[0])) {
    return absl::InvalidArgumentError(absl::StrCat(
        package.name, " ", package.version,
        " is not a kernel image package: expected exactly one well-formed "
        "folder in lib/modules"));
  }
  return versions[0];
}

struct Contents {
  std::string kernel_version;
  std::string vmlinuz;
  std::string initrd;
  std::vector<std::string> modules;  // guest paths, load order
  std::vector<std::string> builtin;
  std::vector<std::string> missing_optional;
};

absl::StatusOr<Contents> MakeContents(
    const ImageOptions& options, const AptTools& tools, const std::string& work,
    const std::string& kernel_deb, const std::string& busybox_deb,
    const DebPackage& kernel_package, const DebPackage& busybox_package,
    std::string agent) {
  const std::string kernel_tree = absl::StrCat(work, "/kernel");
  const std::string busybox_tree = absl::StrCat(work, "/busybox");
  if (absl::Status s = Unpack(tools, kernel_deb, kernel_tree); !s.ok()) {
    return s;
  }
  if (absl::Status s = Unpack(tools, busybox_deb, busybox_tree); !s.ok()) {
    return s;
  }
  Contents c;
  absl::StatusOr<std::string> version =
      KernelVersionOf(kernel_tree, kernel_package);
  if (!version.ok()) return version.status();
  c.kernel_version = *version;

  absl::StatusOr<std::string> vmlinuz = ReadFileBounded(
      absl::StrCat(kernel_tree, "/boot/vmlinuz-", c.kernel_version),
      kMaxImageFileBytes, Links::kNoFollow);
  if (!vmlinuz.ok()) return vmlinuz.status();
  // A bzImage carries "HdrS" at 0x202 (the x86 boot protocol).
  if (vmlinuz->size() < 0x206 || vmlinuz->compare(0x202, 4, "HdrS") != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("boot/vmlinuz-", c.kernel_version, " of ",
                     kernel_package.name, " is not an x86 bzImage"));
  }
  c.vmlinuz = *std::move(vmlinuz);

  absl::StatusOr<std::string> busybox =
      ReadFileBounded(absl::StrCat(busybox_tree, "/bin/busybox"),
                      kMaxImageFileBytes, Links::kNoFollow);
  if (!busybox.ok()) return busybox.status();
  if (absl::Status s = CheckStaticX8664Executable(
          *busybox, absl::StrCat("bin/busybox of ", busybox_package.name));
      !s.ok()) {
    return s;
  }

  const std::string modules_dir =
      absl::StrCat(kernel_tree, "/lib/modules/", c.kernel_version);
  absl::StatusOr<ModuleIndex> index = IndexModules(modules_dir);
  if (!index.ok()) return index.status();
  std::vector<std::string> wanted;
  const std::string from =
      absl::StrCat(kernel_package.name, " ", kernel_package.version);
  for (const std::string& raw : options.inputs.modules) {
    const std::string name = NormalizeModuleName(raw);
    if (index->builtin.contains(name)) {
      c.builtin.push_back(name);
    } else if (index->path_by_name.contains(name)) {
      wanted.push_back(name);
    } else {
      return absl::NotFoundError(absl::StrCat("kernel module ", name,
                                              " is neither in ", from,
                                              " nor built into its kernel"));
    }
  }
  for (const std::string& raw : options.inputs.optional_modules) {
    const std::string name = NormalizeModuleName(raw);
    if (index->builtin.contains(name)) {
      c.builtin.push_back(name);
    } else if (index->path_by_name.contains(name)) {
      wanted.push_back(name);
    } else {
      c.missing_optional.push_back(name);
    }
  }
  absl::flat_hash_map<std::string, std::string> module_bytes;
  auto depends_of =
      [&](const std::string& name) -> absl::StatusOr<std::vector<std::string>> {
    auto it = index->path_by_name.find(name);
    if (it == index->path_by_name.end()) {
      return absl::NotFoundError(
          absl::StrCat("kernel module ", name, " is not in ", from));
    }
    absl::StatusOr<std::string> bytes =
        ReadFileBounded(absl::StrCat(modules_dir, "/", it->second),
                        kMaxImageFileBytes, Links::kNoFollow);
    if (!bytes.ok()) return bytes.status();
    absl::StatusOr<std::vector<std::string>> deps =
        ModuleDepends(*bytes, it->second);
    module_bytes[name] = *std::move(bytes);
    return deps;
  };
  absl::StatusOr<std::vector<std::string>> order =
      ModuleLoadOrder(wanted, depends_of);
  if (!order.ok()) return order.status();

  std::vector<CpioEntry> entries;
  absl::flat_hash_map<std::string, bool> folders;
  auto folder = [&](const std::string& path, uint32_t mode = 0755) {
    if (folders.emplace(path, true).second) {
      entries.push_back({path, CpioEntry::Type::kDirectory, mode, "", 0, 0});
    }
  };
  auto folders_of = [&](const std::string& path) {
    for (size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      folder(path.substr(0, slash));
    }
  };
  for (const char* f :
       {"bin", "dev", "etc", "etc/proctor", "lib", "proc", "run", "sys"}) {
    folder(f);
  }
  folder("tmp", 01777);
  // The kernel opens /dev/console for init's stdin, stdout and stderr
  // before devtmpfs is mounted, so the node must be in the archive.
  entries.push_back(
      {"dev/console", CpioEntry::Type::kCharDevice, 0600, "", 5, 1});
  entries.push_back(
      {"bin/busybox", CpioEntry::Type::kFile, 0755, *std::move(busybox), 0, 0});
  entries.push_back(
      {"bin/sh", CpioEntry::Type::kSymlink, 0777, "busybox", 0, 0});
  entries.push_back(
      {"init", CpioEntry::Type::kFile, 0755, std::move(agent), 0, 0});
  std::string module_list;
  for (const std::string& name : *order) {
    const std::string path = absl::StrCat("lib/modules/", c.kernel_version, "/",
                                          index->path_by_name.at(name));
    folders_of(path);
    entries.push_back({path, CpioEntry::Type::kFile, 0644,
                       std::move(module_bytes.at(name)), 0, 0});
    c.modules.push_back(absl::StrCat("/", path));
    absl::StrAppend(&module_list, "/", path, "\n");
  }
  entries.push_back({kModuleListPath, CpioEntry::Type::kFile, 0644,
                     std::move(module_list), 0, 0});
  absl::StatusOr<std::string> archive = WriteCpioNewc(std::move(entries));
  if (!archive.ok()) return archive.status();
  absl::StatusOr<std::string> initrd = GzipDeterministic(*archive);
  if (!initrd.ok()) return initrd.status();
  c.initrd = *std::move(initrd);
  return c;
}

std::string ManifestText(const std::string& hash, const DebPackage& kernel,
                         const DebPackage& busybox,
                         const std::string& agent_sha256, const Contents& c) {
  Json j;
  j["format"] = kImageFormatVersion;
  j["hash"] = hash;
  j["kernel_version"] = c.kernel_version;
  j["packages"] = Json::array(
      {PackageJson("kernel", kernel), PackageJson("busybox", busybox)});
  j["agent_sha256"] = agent_sha256;
  j["modules"] = c.modules;
  j["builtin_modules"] = c.builtin;
  j["missing_optional_modules"] = c.missing_optional;
  j["files"][kKernelFile] = FileJson(c.vmlinuz);
  j["files"][kInitrdFile] = FileJson(c.initrd);
  return j.dump(2) + "\n";
}

// Moves the finished files from `staged` into `dir`. The manifest goes last
// and is removed first, so an interrupted commit leaves no manifest that
// vouches for files it does not describe.
absl::Status CommitFiles(const std::string& staged, const std::string& dir) {
  const std::string manifest = absl::StrCat(dir, "/", kManifestFile);
  if (unlink(manifest.c_str()) != 0 && errno != ENOENT) {
    return absl::InternalError(
        absl::StrCat("remove ", manifest, ": ", std::strerror(errno)));
  }
  for (const char* name : {kKernelFile, kInitrdFile, kManifestFile}) {
    const std::string from = absl::StrCat(staged, "/", name);
    const std::string to = absl::StrCat(dir, "/", name);
    if (rename(from.c_str(), to.c_str()) != 0) {
      return absl::InternalError(absl::StrCat("rename ", from, " to ", to, ": ",
                                              std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string ImageHash(const std::string& kernel_deb_sha256,
                      const std::string& busybox_deb_sha256,
                      const std::string& agent_sha256,
                      const ImageInputs& inputs) {
  std::vector<std::string> modules, optional;
  for (const std::string& m : inputs.modules) {
    modules.push_back(NormalizeModuleName(m));
  }
  for (const std::string& m : inputs.optional_modules) {
    optional.push_back(NormalizeModuleName(m));
  }
  return Sha256Hex(absl::StrCat(
      "proctor-guest-image ", kImageFormatVersion, "\nkernel-deb ",
      kernel_deb_sha256, "\nbusybox-deb ", busybox_deb_sha256, "\nagent ",
      agent_sha256, "\nmodules ", absl::StrJoin(modules, ","),
      "\noptional-modules ", absl::StrJoin(optional, ","), "\n"));
}

absl::StatusOr<std::string> DefaultCacheDir(absl::string_view xdg_cache_home,
                                            absl::string_view home) {
  if (absl::StartsWith(xdg_cache_home, "/")) {
    return absl::StrCat(xdg_cache_home, "/proctor");
  }
  if (absl::StartsWith(home, "/")) return absl::StrCat(home, "/.cache/proctor");
  return absl::FailedPreconditionError(
      "no cache folder: neither XDG_CACHE_HOME nor HOME is an absolute path");
}

absl::StatusOr<Image> VerifyImageDir(const std::string& dir,
                                     const std::string& hash) {
  Image image = ImagePaths(dir);
  absl::StatusOr<std::string> text =
      ReadFileBounded(image.manifest, kMaxManifestBytes, Links::kNoFollow);
  if (!text.ok()) return text.status();
  const Json j = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return ManifestError(image.manifest, "not a JSON object");
  }
  auto format = j.find("format");
  if (format == j.end() || !format->is_number_integer() ||
      format->get<int64_t>() != kImageFormatVersion) {
    return ManifestError(image.manifest,
                         absl::StrCat("format is not ", kImageFormatVersion));
  }
  absl::StatusOr<std::string> found_hash =
      JsonString(j, "hash", image.manifest);
  if (!found_hash.ok()) return found_hash.status();
  if (*found_hash != hash) {
    return ManifestError(image.manifest,
                         absl::StrCat("hash ", *found_hash, " is not ", hash));
  }
  image.hash = hash;
  absl::StatusOr<std::string> version =
      JsonString(j, "kernel_version", image.manifest);
  if (!version.ok()) return version.status();
  if (!ValidKernelVersion(*version)) {
    return ManifestError(image.manifest, "bad kernel_version");
  }
  image.kernel_version = *version;
  auto packages = j.find("packages");
  if (packages == j.end() || !packages->is_array() || packages->size() != 2) {
    return ManifestError(image.manifest, "\"packages\" is not a list of two");
  }
  absl::StatusOr<DebPackage> kernel =
      ParsePackageJson((*packages)[0], "kernel", image.manifest);
  if (!kernel.ok()) return kernel.status();
  absl::StatusOr<DebPackage> busybox =
      ParsePackageJson((*packages)[1], "busybox", image.manifest);
  if (!busybox.ok()) return busybox.status();
  image.kernel_package = *kernel;
  image.busybox_package = *busybox;
  auto modules = j.find("modules");
  if (modules == j.end() || !modules->is_array() ||
      modules->size() > kMaxManifestModules) {
    return ManifestError(image.manifest, "\"modules\" is not a list");
  }
  for (const Json& m : *modules) {
    if (!m.is_string() ||
        !ValidGuestModulePath(m.get_ref<const std::string&>())) {
      return ManifestError(image.manifest, "bad module path in \"modules\"");
    }
    image.modules.push_back(m.get<std::string>());
  }
  auto files = j.find("files");
  if (files == j.end() || !files->is_object()) {
    return ManifestError(image.manifest, "no \"files\" object");
  }
  for (const char* name : {kKernelFile, kInitrdFile}) {
    if (absl::Status s = VerifyFile(*files, name, dir, image.manifest);
        !s.ok()) {
      return s;
    }
  }
  return image;
}

absl::StatusOr<Image> BuildImage(const ImageOptions& options) {
  if (options.inputs.agent_binary.empty()) {
    return absl::InvalidArgumentError("no agent binary given");
  }
  if (options.cache_dir.empty()) {
    return absl::InvalidArgumentError("no cache folder given");
  }
  int programs_run = 0;
  const AptTools tools{options.tool_path, options.tool_timeout, &programs_run};

  absl::StatusOr<std::string> agent = ReadFileBounded(
      options.inputs.agent_binary, kMaxImageFileBytes, Links::kFollow);
  if (!agent.ok()) {
    return absl::Status(
        agent.status().code(),
        absl::StrCat("agent binary: ", agent.status().message()));
  }
  if (absl::Status s = CheckStaticX8664Executable(
          *agent, absl::StrCat("agent binary ", options.inputs.agent_binary));
      !s.ok()) {
    return s;
  }
  const std::string agent_sha256 = Sha256Hex(*agent);

  absl::StatusOr<std::pair<DebPackage, DebPackage>> packages =
      Resolve(options, tools);
  if (!packages.ok()) return packages.status();
  const auto& [kernel_package, busybox_package] = *packages;
  const std::string hash =
      ImageHash(kernel_package.sha256, busybox_package.sha256, agent_sha256,
                options.inputs);

  std::error_code error;
  const std::string images_dir = absl::StrCat(options.cache_dir, "/images");
  const std::string target = options.out_dir.empty()
                                 ? absl::StrCat(images_dir, "/", hash)
                                 : options.out_dir;
  const std::string dir =
      fs::absolute(target, error).lexically_normal().string();
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("image folder ", target, ": ", error.message()));
  }
  if (absl::StatusOr<Image> found = VerifyImageDir(dir, hash); found.ok()) {
    found->from_cache = true;
    found->programs_run = programs_run;
    return found;
  }

  const std::string debs_dir = absl::StrCat(options.cache_dir, "/debs");
  if (absl::Status s = MakeDirs(debs_dir); !s.ok()) return s;
  absl::StatusOr<std::string> kernel_deb =
      FetchDeb(tools, kernel_package, debs_dir);
  if (!kernel_deb.ok()) return kernel_deb.status();
  absl::StatusOr<std::string> busybox_deb =
      FetchDeb(tools, busybox_package, debs_dir);
  if (!busybox_deb.ok()) return busybox_deb.status();

  // Staged beside the target so that committing is a rename on one
  // filesystem.
  const std::string stage_parent = options.out_dir.empty() ? images_dir : dir;
  absl::StatusOr<TempDir> stage =
      TempDir::Make(stage_parent, ".proctor-build-");
  if (!stage.ok()) return stage.status();
  absl::StatusOr<Contents> contents =
      MakeContents(options, tools, stage->path(), *kernel_deb, *busybox_deb,
                   kernel_package, busybox_package, *std::move(agent));
  if (!contents.ok()) return contents.status();

  const std::string staged = absl::StrCat(stage->path(), "/image");
  if (absl::Status s = MakeDirs(staged); !s.ok()) return s;
  for (const auto& [name, bytes] : {std::pair<const char*, const std::string*>{
                                        kKernelFile, &contents->vmlinuz},
                                    {kInitrdFile, &contents->initrd}}) {
    if (absl::Status s =
            WriteFileAtomic(absl::StrCat(staged, "/", name), *bytes, 0644);
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s =
          WriteFileAtomic(absl::StrCat(staged, "/", kManifestFile),
                          ManifestText(hash, kernel_package, busybox_package,
                                       agent_sha256, *contents));
      !s.ok()) {
    return s;
  }

  if (options.out_dir.empty()) {
    // When a concurrent build committed first, its (identical) image is
    // used and never disturbed. A folder that still fails verification is
    // moved into the staging folder, which is removed with it.
    if (absl::StatusOr<Image> theirs = VerifyImageDir(dir, hash); theirs.ok()) {
      theirs->programs_run = programs_run;
      return theirs;
    }
    const std::string broken = absl::StrCat(stage->path(), "/broken");
    if (rename(dir.c_str(), broken.c_str()) != 0 && errno != ENOENT) {
      return absl::InternalError(absl::StrCat(
          "move the damaged image ", dir, " aside: ", std::strerror(errno)));
    }
    if (rename(staged.c_str(), dir.c_str()) != 0) {
      const int rename_errno = errno;
      absl::StatusOr<Image> theirs = VerifyImageDir(dir, hash);
      if (!theirs.ok()) {
        return absl::InternalError(absl::StrCat(
            "rename ", staged, " to ", dir, ": ", std::strerror(rename_errno)));
      }
    }
  } else if (absl::Status s = CommitFiles(staged, dir); !s.ok()) {
    return s;
  }

  Image image = ImagePaths(dir);
  image.kernel_version = contents->kernel_version;
  image.hash = hash;
  image.kernel_package = kernel_package;
  image.busybox_package = busybox_package;
  image.modules = contents->modules;
  image.from_cache = false;
  image.programs_run = programs_run;
  return image;
}

}  // namespace proctor::guest
