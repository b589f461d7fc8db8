#include "guest/image/apt.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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
#include "guest/image/sha256.h"
#include "guest/image/tool.h"

namespace proctor::guest {
namespace {

constexpr char kUpdateHint[] =
    "is the package list up to date? run apt-get update";

absl::StatusOr<ToolResult> Run(const AptTools& tools, absl::string_view tool,
                               std::vector<std::string> args,
                               std::string cwd = "") {
  ToolCall call;
  call.tool = std::string(tool);
  call.args = std::move(args);
  call.search_path = tools.search_path;
  call.cwd = std::move(cwd);
  call.timeout = tools.timeout;
  if (tools.programs_run != nullptr) ++*tools.programs_run;
  return RunTool(call);
}

absl::StatusOr<std::vector<AptStanza>> Show(const AptTools& tools,
                                            std::vector<std::string> specs) {
  std::vector<std::string> args = {"show", "--no-all-versions"};
  args.insert(args.end(), specs.begin(), specs.end());
  absl::StatusOr<ToolResult> result = Run(tools, "apt-cache", args);
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return absl::NotFoundError(
        absl::StrCat("apt-cache show failed for ", absl::StrJoin(specs, " "),
                     ": ", LastLine(*result), "; ", kUpdateHint));
  }
  absl::StatusOr<std::vector<AptStanza>> stanzas = ParseAptShow(result->out);
  if (!stanzas.ok()) {
    return absl::Status(
        stanzas.status().code(),
        absl::StrCat("apt-cache show ", absl::StrJoin(specs, " "), ": ",
                     stanzas.status().message()));
  }
  return stanzas;
}

const AptStanza* Find(const std::vector<AptStanza>& stanzas,
                      absl::string_view name) {
  for (const AptStanza& s : stanzas) {
    if (s.package == name) return &s;
  }
  return nullptr;
}

absl::Status Unknown(absl::string_view spec) {
  return absl::NotFoundError(
      absl::StrCat("apt-cache knows no package ", spec, "; ", kUpdateHint));
}

}  // namespace

bool ValidPackageName(absl::string_view name) {
  if (name.size() < 2 || name.size() > kMaxPackageNameBytes) return false;
  if (!absl::ascii_isalnum(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (!(absl::ascii_islower(u) || absl::ascii_isdigit(u) || c == '+' ||
          c == '-' || c == '.')) {
      return false;
    }
  }
  return true;
}

bool ValidPackageVersion(absl::string_view version) {
  if (version.empty() || version.size() > kMaxPackageVersionBytes) {
    return false;
  }
  if (!absl::ascii_isalnum(static_cast<unsigned char>(version[0]))) {
    return false;
  }
  for (char c : version) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        absl::string_view(".+~:-").find(c) == absl::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool ValidSha256Hex(absl::string_view hex) {
  if (hex.size() != 64) return false;
  for (char c : hex) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) &&
        (c < 'a' || c > 'f')) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::vector<AptStanza>> ParseAptShow(absl::string_view text) {
  std::vector<AptStanza> stanzas;
  AptStanza current;
  bool open = false;
  int line_number = 0;
  auto finish = [&]() -> absl::Status {
    if (!open) return absl::OkStatus();
    open = false;
    if (!ValidPackageName(current.package)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "stanza ending at line ", line_number, ": bad or missing Package \"",
          absl::CHexEscape(current.package), "\""));
    }
    if (!ValidPackageVersion(current.version)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "package ", current.package, ": bad or missing Version \"",
          absl::CHexEscape(current.version), "\""));
    }
    if (!ValidSha256Hex(current.sha256)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "package ", current.package, ": bad or missing SHA256 \"",
          absl::CHexEscape(current.sha256), "\""));
    }
    stanzas.push_back(std::move(current));
    current = AptStanza();
    return absl::OkStatus();
  };
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (absl::StripAsciiWhitespace(line).empty()) {
      if (absl::Status s = finish(); !s.ok()) return s;
      continue;
    }
    open = true;
    if (line[0] == ' ' || line[0] == '\t') continue;  // a continuation line
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", line_number, " is neither a field nor a continuation"));
    }
    absl::string_view field = line.substr(0, colon);
    std::string value(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    if (field == "Package") current.package = std::move(value);
    if (field == "Version") current.version = std::move(value);
    if (field == "SHA256") current.sha256 = std::move(value);
    if (field == "Depends") current.depends = std::move(value);
  }
  if (absl::Status s = finish(); !s.ok()) return s;
  return stanzas;
}

std::optional<std::pair<std::string, std::string>> KernelImageDependency(
    absl::string_view depends) {
  for (absl::string_view clause : absl::StrSplit(depends, ',')) {
    // Only the first alternative of "a | b" is a firm choice.
    absl::string_view first = clause.substr(0, clause.find('|'));
    first = absl::StripAsciiWhitespace(first);
    const size_t paren = first.find('(');
    absl::string_view name = absl::StripAsciiWhitespace(first.substr(0, paren));
    if (!absl::StartsWith(name, "linux-image-") || !ValidPackageName(name)) {
      continue;
    }
    if (paren == absl::string_view::npos || first.back() != ')') continue;
    absl::string_view relation = first.substr(paren + 1);
    relation.remove_suffix(1);
    relation = absl::StripAsciiWhitespace(relation);
    if (!absl::ConsumePrefix(&relation, "=")) continue;
    relation = absl::StripAsciiWhitespace(relation);
    if (!ValidPackageVersion(relation)) continue;
    return std::make_pair(std::string(name), std::string(relation));
  }
  return std::nullopt;
}

absl::StatusOr<std::pair<DebPackage, DebPackage>> ResolvePackages(
    const AptTools& tools, const std::string& kernel_package,
    const std::string& busybox_package) {
  for (const std::string* name : {&kernel_package, &busybox_package}) {
    if (!ValidPackageName(*name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", absl::CHexEscape(*name), "\" is not a Debian package name"));
    }
  }
  absl::StatusOr<std::vector<AptStanza>> first =
      Show(tools, {kernel_package, busybox_package});
  if (!first.ok()) return first.status();
  const AptStanza* kernel = Find(*first, kernel_package);
  if (kernel == nullptr) return Unknown(kernel_package);
  const AptStanza* busybox = Find(*first, busybox_package);
  if (busybox == nullptr) return Unknown(busybox_package);

  DebPackage busybox_deb{busybox->package, busybox->version, busybox->sha256,
                         ""};
  std::optional<std::pair<std::string, std::string>> image =
      KernelImageDependency(kernel->depends);
  if (!image.has_value()) {
    return std::make_pair(
        DebPackage{kernel->package, kernel->version, kernel->sha256, ""},
        busybox_deb);
  }
  const std::string spec = absl::StrCat(image->first, "=", image->second);
  absl::StatusOr<std::vector<AptStanza>> second = Show(tools, {spec});
  if (!second.ok()) return second.status();
  const AptStanza* versioned = Find(*second, image->first);
  if (versioned == nullptr || versioned->version != image->second) {
    return absl::NotFoundError(absl::StrCat(
        "apt-cache knows no package ", spec, " (the dependency of ",
        kernel_package, " ", kernel->version, "); ", kUpdateHint));
  }
  return std::make_pair(DebPackage{versioned->package, versioned->version,
                                   versioned->sha256, kernel_package},
                        busybox_deb);
}

absl::StatusOr<std::string> FetchDeb(const AptTools& tools,
                                     const DebPackage& package,
                                     const std::string& debs_dir) {
  if (!ValidPackageName(package.name) ||
      !ValidPackageVersion(package.version) ||
      !ValidSha256Hex(package.sha256)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad package reference ", absl::CHexEscape(package.name),
                     "=", absl::CHexEscape(package.version)));
  }
  const std::string path = absl::StrCat(debs_dir, "/", package.sha256, ".deb");
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) {
    absl::StatusOr<std::string> digest = Sha256File(path, kMaxDebBytes);
    if (digest.ok() && *digest == package.sha256) return path;
    // A damaged cache entry is fetched again.
    unlink(path.c_str());
  }
  absl::StatusOr<TempDir> download = TempDir::Make(debs_dir, ".download-");
  if (!download.ok()) return download.status();
  const std::string spec = absl::StrCat(package.name, "=", package.version);
  const std::string for_requested =
      package.requested.empty()
          ? ""
          : absl::StrCat(" (for ", package.requested, ")");
  absl::StatusOr<ToolResult> result =
      Run(tools, "apt-get", {"download", spec}, download->path());
  if (!result.ok()) {
    return absl::Status(result.status().code(),
                        absl::StrCat("apt-get download ", spec, ": ",
                                     result.status().message()));
  }
  if (result->exit_code != 0) {
    return absl::UnavailableError(
        absl::StrCat("apt-get download failed for ", spec, for_requested, ": ",
                     LastLine(*result), "; ", kUpdateHint));
  }
  std::vector<std::string> debs;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator(download->path(), error)) {
    if (absl::EndsWith(entry.path().filename().string(), ".deb")) {
      debs.push_back(entry.path().string());
    }
    if (debs.size() > 1) break;
  }
  if (error || debs.size() != 1) {
    return absl::InternalError(
        absl::StrCat("apt-get download ", spec, " left ", debs.size(),
                     " .deb files in ", download->path(), ", expected one"));
  }
  absl::StatusOr<std::string> digest = Sha256File(debs[0], kMaxDebBytes);
  if (!digest.ok()) return digest.status();
  if (*digest != package.sha256) {
    return absl::DataLossError(
        absl::StrCat("apt-get download ", spec, " gave a file with sha256 ",
                     *digest, "; the package index says ", package.sha256));
  }
  if (rename(debs[0].c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("rename ", debs[0], " to ", path,
                                            ": ", std::strerror(errno)));
  }
  return path;
}

}  // namespace proctor::guest
