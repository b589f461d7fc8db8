// The Debian packages an image is built from: resolving names to exact
// versions and .deb digests with apt-cache (which reads only the local package
// lists), and fetching the .deb files with apt-get download into a cache
// named by digest. apt's output is parsed strictly: every name, version and
// digest is checked before it is used in a path or a command.
#ifndef PROCTOR_GUEST_IMAGE_APT_H_
#define PROCTOR_GUEST_IMAGE_APT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace proctor::guest {

// A .deb larger than this is refused (the cloud kernel's is about 27 MB).
inline constexpr uint64_t kMaxDebBytes = uint64_t{512} << 20;
inline constexpr size_t kMaxPackageNameBytes = 128;
inline constexpr size_t kMaxPackageVersionBytes = 128;

// One exact package file.
struct DebPackage {
  std::string name;     // "linux-image-6.1.0-56-cloud-amd64"
  std::string version;  // "6.1.192-2"
  std::string sha256;   // of the .deb, from the package index
  // The name that was asked for when it differs: the metapackage
  // "linux-image-cloud-amd64" resolves to the versioned package above.
  std::string requested;

  bool operator==(const DebPackage&) const = default;
};

// One stanza of `apt-cache show`: the fields this builder reads.
struct AptStanza {
  std::string package;
  std::string version;
  std::string sha256;
  std::string depends;
};

bool ValidPackageName(absl::string_view name);
bool ValidPackageVersion(absl::string_view version);
bool ValidSha256Hex(absl::string_view hex);

// The stanzas of `apt-cache show` output. A stanza without Package, Version
// or a well-formed SHA256, or with a malformed name or version, is an error.
absl::StatusOr<std::vector<AptStanza>> ParseAptShow(absl::string_view text);

// For a kernel metapackage: the versioned linux-image package its Depends
// pins with "(= version)", as {name, version}; nullopt when the Depends
// names no linux-image-* package (the package is itself a kernel).
std::optional<std::pair<std::string, std::string>> KernelImageDependency(
    absl::string_view depends);

// Where the Debian tools are and how long they may take.
struct AptTools {
  std::string search_path;
  absl::Duration timeout = absl::Minutes(10);
  // Incremented once per program run, so a caller can tell a build that
  // needed apt from one that did not.
  int* programs_run = nullptr;
};

// Resolves the candidate versions of `kernel_package` (following a
// metapackage to its versioned image) and `busybox_package` with apt-cache.
// An unknown package is NotFound: "apt-cache knows no package X; is the
// package list up to date? run apt-get update".
absl::StatusOr<std::pair<DebPackage, DebPackage>> ResolvePackages(
    const AptTools& tools, const std::string& kernel_package,
    const std::string& busybox_package);

// The path of `package`'s .deb in `debs_dir` (named <sha256>.deb), fetched
// with `apt-get download name=version` if it is not there yet, and its
// digest checked against the index either way.
absl::StatusOr<std::string> FetchDeb(const AptTools& tools,
                                     const DebPackage& package,
                                     const std::string& debs_dir);

}  // namespace proctor::guest

#endif  // PROCTOR_GUEST_IMAGE_APT_H_
