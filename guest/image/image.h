// The guest image of the QEMU world (docs/guest-image.md): a Debian cloud
// kernel (vmlinuz) and a gzip'd cpio initramfs (initrd.img) holding busybox,
// the kernel modules the guest needs and Proctor's agent as /init, built
// only from Debian packages, byte-for-byte reproducible, and cached under the
// content hash of its inputs.
#ifndef PROCTOR_GUEST_IMAGE_IMAGE_H_
#define PROCTOR_GUEST_IMAGE_IMAGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "guest/image/apt.h"

namespace proctor::guest {

// Bumped whenever the same inputs would give different image bytes, so old
// cache entries are not reused.
inline constexpr int kImageFormatVersion = 1;
// Any single file put into the image (kernel, agent, busybox, a module).
inline constexpr uint64_t kMaxImageFileBytes = uint64_t{256} << 20;
inline constexpr uint64_t kMaxManifestBytes = uint64_t{1} << 20;

// What an image is made of. Two builds with equal inputs (and equal package
// lists) give byte-identical files.
struct ImageInputs {
  // The static x86-64 program that runs as /init (proctor-agent).
  std::string agent_binary;
  // Debian packages. A kernel metapackage is followed to the versioned
  // linux-image package its Depends pins.
  std::string kernel_package = "linux-image-cloud-amd64";
  std::string busybox_package = "busybox-static";
  // Modules to ship, each with its dependencies. virtio_pci is the
  // transport every virtio device of a q35 machine sits on (a module in the
  // cloud kernel), so virtio_console and vsock need it. A module built into
  // the kernel is fine; one that is neither there nor built in is an error.
  std::vector<std::string> modules = {"virtio_pci", "virtio_console",
                                      "vmw_vsock_virtio_transport"};
  // Shipped when the kernel has them, skipped (and listed in the manifest)
  // when it does not.
  std::vector<std::string> optional_modules = {"pvpanic_mmio", "pvpanic_pci"};
};

struct ImageOptions {
  ImageInputs inputs;
  // Holds debs/<sha256>.deb, images/<hash>/ and resolved/ (see
  // DefaultCacheDir). Required.
  std::string cache_dir;
  // Where the image goes; empty means cache_dir/images/<hash>.
  std::string out_dir;
  // Colon-separated folders where apt-cache, apt-get and dpkg-deb are
  // looked up; also their PATH.
  std::string tool_path = "/usr/sbin:/usr/bin:/sbin:/bin";
  // Each run of one of those tools is killed after this.
  absl::Duration tool_timeout = absl::Minutes(10);
  // apt's state: while none of these files changes (size, mtime, inode), a
  // package resolution is reused from the cache without running apt-cache.
  std::vector<std::string> apt_state_paths = {"/etc/apt", "/var/lib/apt/lists",
                                              "/var/lib/dpkg/status"};
};

struct Image {
  std::string dir;             // absolute
  std::string kernel;          // dir/vmlinuz
  std::string initrd;          // dir/initrd.img
  std::string manifest;        // dir/manifest.json
  std::string kernel_version;  // "6.1.0-56-cloud-amd64"
  // The content hash of the inputs (64 hex digits): the cache key.
  std::string hash;
  DebPackage kernel_package;
  DebPackage busybox_package;
  // Guest paths of the shipped modules in load order, dependencies first;
  // the image also lists them in /etc/proctor/modules.
  std::vector<std::string> modules;
  // True when the image was found (and verified) rather than built.
  bool from_cache = false;
  // How many external programs (apt-cache, apt-get, dpkg-deb) this call ran:
  // 0 for a cache hit with an unchanged apt state.
  int programs_run = 0;
};

// Finds the image of `options.inputs` or builds it. Errors name what failed:
// a missing tool ("dpkg-deb not found in ...: install dpkg"), an unknown
// package ("... run apt-get update"), an agent that is not a static x86-64
// binary, a missing module, a bound exceeded.
absl::StatusOr<Image> BuildImage(const ImageOptions& options);

// The default cache folder: $XDG_CACHE_HOME/proctor when that is set and
// absolute (the XDG rule), else $HOME/.cache/proctor. Arguments are the
// variables' values, empty when unset; FailedPrecondition when neither gives
// a folder.
absl::StatusOr<std::string> DefaultCacheDir(absl::string_view xdg_cache_home,
                                            absl::string_view home);

// The content hash of an image's inputs: the format version, the .deb and
// agent digests and the module lists.
std::string ImageHash(const std::string& kernel_deb_sha256,
                      const std::string& busybox_deb_sha256,
                      const std::string& agent_sha256,
                      const ImageInputs& inputs);

// The image described by the manifest in `dir`, if the manifest is
// well-formed, has format kImageFormatVersion and hash `hash`, and the
// files it lists have the sizes and digests it records. Otherwise an error
// saying what did not match.
absl::StatusOr<Image> VerifyImageDir(const std::string& dir,
                                     const std::string& hash);

}  // namespace proctor::guest

#endif  // PROCTOR_GUEST_IMAGE_IMAGE_H_
