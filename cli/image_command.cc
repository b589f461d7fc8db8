// `proctor image`: builds the guest image of the QEMU world from Debian
// packages, or finds it in the cache (docs/guest-image.md).
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "guest/image/image.h"

namespace proctor::cli {
namespace {

constexpr char kUsage[] =
    "usage: proctor image [--out DIR] [--agent PATH] [--cache-dir DIR] "
    "[--json]\n"
    "\n"
    "Builds the guest image of the QEMU world from Debian packages, or finds\n"
    "it in the cache: vmlinuz (from linux-image-cloud-amd64), initrd.img\n"
    "(busybox-static, the kernel modules the guest needs, and the agent as\n"
    "/init) and manifest.json. The same inputs give byte-identical files.\n"
    "\n"
    "  --out DIR        put the image in DIR (default: the cache folder's\n"
    "                   images/<hash>)\n"
    "  --agent PATH     the static x86-64 program to run as /init (default:\n"
    "                   the proctor-agent built with this proctor)\n"
    "  --cache-dir DIR  the cache of .deb files and images (default:\n"
    "                   $XDG_CACHE_HOME/proctor, else ~/.cache/proctor)\n"
    "  --json           print a JSON summary as the last line of stdout\n"
    "\n"
    "The first build needs apt-get and apt-cache (package apt), dpkg-deb\n"
    "(package dpkg) and current package lists (apt-get update); a cached\n"
    "image needs none of them while the package lists are unchanged.\n"
    "\n"
    "Exit codes: 0 the image is ready, 1 it could not be built, 2 usage "
    "error.\n";

int Usage(absl::string_view message) {
  std::fprintf(stderr,
               "proctor image: %s\nRun 'proctor image --help' for usage.\n",
               std::string(message).c_str());
  return kExitUsage;
}

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// A JSON string literal: quotes, backslashes and control bytes escaped.
std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string PackageJson(const guest::DebPackage& p) {
  return absl::StrCat("{\"name\":", JsonQuote(p.name),
                      ",\"version\":", JsonQuote(p.version),
                      ",\"sha256\":", JsonQuote(p.sha256), "}");
}

}  // namespace

int ImageCommand(std::span<char* const> argv) {
  Args args(argv);
  if (args.Flag("help")) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  const bool json = args.Flag("json");
  auto out = args.Value("out");
  auto agent = args.Value("agent");
  auto cache_dir = args.Value("cache-dir");
  for (const absl::Status& s : {out.status(), agent.status(),
                                cache_dir.status(), args.CheckAllConsumed()}) {
    if (!s.ok()) return Usage(s.message());
  }

  guest::ImageOptions options;
  if (*agent) {
    options.inputs.agent_binary = **agent;
  } else {
#ifdef PROCTOR_AGENT_BINARY
    options.inputs.agent_binary = PROCTOR_AGENT_BINARY;
#else
    return Usage(
        "this proctor was built without proctor-agent: pass --agent PATH (a "
        "static x86-64 program to run as /init)");
#endif
  }
  struct stat st {};
  if (options.inputs.agent_binary.empty() ||
      stat(options.inputs.agent_binary.c_str(), &st) != 0) {
    return Usage(absl::StrCat(
        "agent binary ", options.inputs.agent_binary, " does not exist",
        *agent ? "" : " (build the proctor-agent target)"));
  }
  if (*cache_dir) {
    if ((*cache_dir)->empty()) return Usage("--cache-dir is empty");
    options.cache_dir = **cache_dir;
  } else {
    absl::StatusOr<std::string> dir =
        guest::DefaultCacheDir(Env("XDG_CACHE_HOME"), Env("HOME"));
    if (!dir.ok()) {
      return Usage(absl::StrCat(dir.status().message(), "; pass --cache-dir"));
    }
    options.cache_dir = *dir;
  }
  if (*out) {
    if ((*out)->empty()) return Usage("--out is empty");
    options.out_dir = **out;
  }
  const std::string path = Env("PATH");
  if (!path.empty()) options.tool_path = path;

  const absl::Time start = absl::Now();
  absl::StatusOr<guest::Image> image = guest::BuildImage(options);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (!image.ok()) {
    std::fprintf(stderr, "proctor image: %s\n",
                 std::string(image.status().message()).c_str());
    if (json) {
      std::printf("{\"ok\":false,\"error\":%s}\n",
                  JsonQuote(image.status().message()).c_str());
    }
    return kExitFailed;
  }
  std::printf("image %s (%s in %.2f s)\n", image->dir.c_str(),
              image->from_cache ? "found in the cache" : "built", seconds);
  std::printf("  kernel   %s  %s %s\n", image->kernel.c_str(),
              image->kernel_package.name.c_str(),
              image->kernel_package.version.c_str());
  std::printf("  initrd   %s  %s %s, %zu modules, /init %s\n",
              image->initrd.c_str(), image->busybox_package.name.c_str(),
              image->busybox_package.version.c_str(), image->modules.size(),
              options.inputs.agent_binary.c_str());
  std::printf("  manifest %s\n", image->manifest.c_str());
  if (json) {
    std::printf(
        "{\"ok\":true,\"dir\":%s,\"kernel\":%s,\"initrd\":%s,\"manifest\":%s,"
        "\"kernel_version\":%s,\"hash\":%s,\"kernel_package\":%s,"
        "\"busybox_package\":%s,\"modules\":%zu,\"from_cache\":%s,"
        "\"programs_run\":%d,\"seconds\":%.3f}\n",
        JsonQuote(image->dir).c_str(), JsonQuote(image->kernel).c_str(),
        JsonQuote(image->initrd).c_str(), JsonQuote(image->manifest).c_str(),
        JsonQuote(image->kernel_version).c_str(),
        JsonQuote(image->hash).c_str(),
        PackageJson(image->kernel_package).c_str(),
        PackageJson(image->busybox_package).c_str(), image->modules.size(),
        image->from_cache ? "true" : "false", image->programs_run, seconds);
  }
  return kExitOk;
}

}  // namespace proctor::cli
