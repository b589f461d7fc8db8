// The main of a fuzz target in a build without libFuzzer (the default gcc
// build): runs every file given, and every file directly inside every folder
// given, through LLVMFuzzerTestOneInput once, in name order. This is how a
// target's seed corpus, and every finding added to it after its fix, runs as
// a ctest regression test (label `fuzz`). A finding aborts, so the test
// fails and the last "running" line names the input.
//
//   fuzz_trace_reader fuzz/corpus/trace_reader [more folders or files]
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

// libFuzzer's default bound on an input, and so the most a corpus file may
// meaningfully hold; a larger file is an error, not silently cut.
constexpr std::uintmax_t kMaxInputBytes = std::uintmax_t{1} << 20;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  const char* program = argc > 0 ? argv[0] : "fuzz_replay";
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s CORPUS_FOLDER_OR_FILE...\n"
                 "Runs every input once through the fuzz target (a build "
                 "without libFuzzer).\n",
                 program);
    return kExitUsage;
  }
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const fs::path path(argv[i]);
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<fs::path> files;
      for (const fs::directory_entry& entry :
           fs::directory_iterator(path, ec)) {
        if (entry.is_regular_file(ec)) files.push_back(entry.path());
      }
      if (ec) {
        std::fprintf(stderr, "%s: cannot list %s: %s\n", program, argv[i],
                     ec.message().c_str());
        return kExitUsage;
      }
      std::sort(files.begin(), files.end());
      inputs.insert(inputs.end(), files.begin(), files.end());
    } else if (fs::is_regular_file(path, ec)) {
      inputs.push_back(path);
    } else {
      std::fprintf(stderr, "%s: %s: not a file or a folder\n", program,
                   argv[i]);
      return kExitUsage;
    }
  }
  if (inputs.empty()) {
    // An empty corpus would make the regression test pass vacuously.
    std::fprintf(stderr, "%s: no inputs found\n", program);
    return kExitFailed;
  }
  for (const fs::path& path : inputs) {
    std::error_code ec;
    const std::uintmax_t size = fs::file_size(path, ec);
    if (ec || size > kMaxInputBytes) {
      std::fprintf(stderr, "%s: %s: %s\n", program, path.c_str(),
                   ec ? ec.message().c_str() : "larger than 1 MiB");
      return kExitFailed;
    }
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      std::fprintf(stderr, "%s: %s: cannot be read\n", program, path.c_str());
      return kExitFailed;
    }
    std::printf("running %s (%zu bytes)\n", path.c_str(), bytes.size());
    std::fflush(stdout);
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                           bytes.size());
  }
  std::printf("%s: ran %zu inputs\n", program, inputs.size());
  return kExitOk;
}
