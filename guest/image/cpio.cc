#include "guest/image/cpio.h"

#include <sys/stat.h>

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace proctor::guest {
namespace {

using Type = CpioEntry::Type;

absl::Status CheckPath(absl::string_view path) {
  if (path.empty() || path.size() > kMaxCpioPathBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("cpio entry path \"", path, "\" is empty or longer than ",
                     kMaxCpioPathBytes, " bytes"));
  }
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == "." || part == "..") {
      return absl::InvalidArgumentError(absl::StrCat(
          "cpio entry path \"", path,
          "\" has an empty, \".\" or \"..\" component (or a leading '/')"));
    }
  }
  if (path.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("cpio entry path contains a NUL byte");
  }
  return absl::OkStatus();
}

// Component-wise order: "a" < "a/b" < "a-b", so a folder's contents follow it
// at once and stay together.
bool PathLess(const std::string& a, const std::string& b) {
  return std::lexicographical_compare(
      a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        const auto rank = [](char c) {
          return c == '/' ? 0
                          : static_cast<int>(static_cast<unsigned char>(c)) + 1;
        };
        return rank(x) < rank(y);
      });
}

void AppendHeader(std::string* out, uint32_t ino, uint32_t mode, uint32_t nlink,
                  uint32_t file_size, uint32_t rdev_major, uint32_t rdev_minor,
                  absl::string_view name) {
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
  // rdevmajor, rdevminor, namesize, check: 8 hex digits each.
  absl::StrAppendFormat(
      out, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino,
      mode, 0, 0, nlink, 0, file_size, 0, 0, rdev_major, rdev_minor,
      name.size() + 1, 0);
  out->append(name.data(), name.size());
  out->push_back('\0');
  out->append((4 - out->size() % 4) % 4, '\0');
}

}  // namespace

absl::StatusOr<std::string> WriteCpioNewc(std::vector<CpioEntry> entries) {
  if (entries.size() > kMaxCpioEntries) {
    return absl::InvalidArgumentError(
        absl::StrCat("cpio archive of ", entries.size(),
                     " entries; the limit is ", kMaxCpioEntries));
  }
  absl::flat_hash_map<std::string, Type> types;
  uint64_t total = 0;
  for (const CpioEntry& e : entries) {
    if (absl::Status s = CheckPath(e.path); !s.ok()) return s;
    if (e.mode > 07777) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "cpio entry %s: mode %o has bits outside 07777", e.path, e.mode));
    }
    if ((e.type == Type::kDirectory || e.type == Type::kCharDevice) &&
        !e.data.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cpio entry ", e.path, ": a folder or device carries no data"));
    }
    if (e.type == Type::kSymlink && e.data.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cpio entry ", e.path, ": a symlink needs a target"));
    }
    if (e.data.size() > kMaxCpioFileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("cpio entry ", e.path, ": ", e.data.size(),
                       " bytes, larger than the limit of ", kMaxCpioFileBytes));
    }
    total += 110 + e.path.size() + 4 + e.data.size() + 4;
    if (!types.emplace(e.path, e.type).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("cpio entry ", e.path, " appears twice"));
    }
  }
  if (total > kMaxCpioArchiveBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("cpio archive of about ", total, " bytes; the limit is ",
                     kMaxCpioArchiveBytes));
  }
  for (const CpioEntry& e : entries) {
    const size_t slash = e.path.rfind('/');
    if (slash == std::string::npos) continue;
    const std::string parent = e.path.substr(0, slash);
    auto it = types.find(parent);
    if (it == types.end() || it->second != Type::kDirectory) {
      return absl::InvalidArgumentError(
          absl::StrCat("cpio entry ", e.path, ": its parent ", parent,
                       " is not a folder entry of the archive"));
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const CpioEntry& a, const CpioEntry& b) {
              return PathLess(a.path, b.path);
            });

  std::string out;
  out.reserve(static_cast<size_t>(total) + 512);
  uint32_t ino = 0;
  for (const CpioEntry& e : entries) {
    uint32_t type_bits = S_IFREG;
    uint32_t nlink = 1;
    switch (e.type) {
      case Type::kDirectory:
        type_bits = S_IFDIR;
        nlink = 2;
        break;
      case Type::kFile:
        type_bits = S_IFREG;
        break;
      case Type::kSymlink:
        type_bits = S_IFLNK;
        break;
      case Type::kCharDevice:
        type_bits = S_IFCHR;
        break;
    }
    const bool is_device = e.type == Type::kCharDevice;
    AppendHeader(&out, ++ino, type_bits | e.mode, nlink,
                 static_cast<uint32_t>(e.data.size()),
                 is_device ? e.rdev_major : 0, is_device ? e.rdev_minor : 0,
                 e.path);
    out.append(e.data);
    out.append((4 - out.size() % 4) % 4, '\0');
  }
  AppendHeader(&out, 0, 0, 1, 0, 0, 0, "TRAILER!!!");
  out.append((512 - out.size() % 512) % 512, '\0');
  return out;
}

}  // namespace proctor::guest
