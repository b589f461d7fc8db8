#include "cli/args.h"

#include <charconv>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace proctor::cli {
namespace {

absl::StatusOr<uint64_t> ParseU64(absl::string_view text,
                                  absl::string_view what) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": \"", text, "\" is not a non-negative integer"));
  }
  return v;
}

}  // namespace

Args::Args(std::span<char* const> args)
    : args_(args.begin(), args.end()), used_(args.size(), false) {}

bool Args::Flag(absl::string_view name) {
  const std::string flag = absl::StrCat("--", name);
  bool found = false;
  for (size_t i = 0; i < args_.size(); ++i) {
    if (!used_[i] && args_[i] == flag) {
      used_[i] = true;
      found = true;
    }
  }
  return found;
}

absl::StatusOr<std::optional<std::string>> Args::Value(absl::string_view name) {
  const std::string flag = absl::StrCat("--", name);
  std::optional<std::string> value;
  for (size_t i = 0; i < args_.size(); ++i) {
    if (used_[i]) continue;
    if (args_[i] == flag) {
      if (i + 1 >= args_.size()) {
        return absl::InvalidArgumentError(absl::StrCat(flag, " needs a value"));
      }
      used_[i] = used_[i + 1] = true;
      value = args_[i + 1];
      ++i;
    } else if (absl::StartsWith(args_[i], flag + "=")) {
      used_[i] = true;
      value = args_[i].substr(flag.size() + 1);
    }
  }
  return value;
}

absl::StatusOr<std::optional<uint64_t>> Args::Number(absl::string_view name,
                                                     uint64_t max) {
  auto value = Value(name);
  if (!value.ok()) return value.status();
  if (!value->has_value()) return std::optional<uint64_t>();
  auto n = ParseU64(**value, absl::StrCat("--", name));
  if (!n.ok()) return n.status();
  if (*n > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": ", *n, " is larger than ", max));
  }
  return std::optional<uint64_t>(*n);
}

std::vector<std::string> Args::Positional() {
  std::vector<std::string> out;
  for (size_t i = 0; i < args_.size(); ++i) {
    if (!used_[i] && !absl::StartsWith(args_[i], "--")) {
      used_[i] = true;
      out.push_back(args_[i]);
    }
  }
  return out;
}

absl::Status Args::CheckAllConsumed() const {
  for (size_t i = 0; i < args_.size(); ++i) {
    if (!used_[i]) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown option or argument '", args_[i], "'"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<uint64_t, uint64_t>> ParseSeedRange(
    absl::string_view text) {
  const size_t dots = text.find("..");
  if (dots == absl::string_view::npos) {
    auto one = ParseU64(text, "--seeds");
    if (!one.ok()) return one.status();
    return std::make_pair(*one, *one);
  }
  auto a = ParseU64(text.substr(0, dots), "--seeds");
  if (!a.ok()) return a.status();
  auto b = ParseU64(text.substr(dots + 2), "--seeds");
  if (!b.ok()) return b.status();
  if (*a > *b) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--seeds: the range ", text, " is empty (", *a, " > ", *b, ")"));
  }
  return std::make_pair(*a, *b);
}

absl::StatusOr<std::pair<uint32_t, uint32_t>> ParseShard(
    absl::string_view text) {
  const size_t slash = text.find('/');
  if (slash == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--shard: \"", text, "\" is not I/N"));
  }
  auto i = ParseU64(text.substr(0, slash), "--shard");
  if (!i.ok()) return i.status();
  auto n = ParseU64(text.substr(slash + 1), "--shard");
  if (!n.ok()) return n.status();
  if (*n == 0 || *i >= *n || *n > 1'000'000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--shard: \"", text, "\" needs 0 <= I < N <= 1000000"));
  }
  return std::make_pair(static_cast<uint32_t>(*i), static_cast<uint32_t>(*n));
}

}  // namespace proctor::cli
