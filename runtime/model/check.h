// PROCTOR_CHECK: an invariant assertion that stays on in release builds.
// A broken invariant in the runtime is a bug in Proctor, not bad input: bad
// input is answered with a Status. Checks are cheap and dense, TigerBeetle
// style; they abort with the file, line and condition.
#ifndef PROCTOR_RUNTIME_MODEL_CHECK_H_
#define PROCTOR_RUNTIME_MODEL_CHECK_H_

#include <cstdio>
#include <cstdlib>

namespace proctor::internal {
[[noreturn]] inline void CheckFailed(const char* file, int line,
                                     const char* condition) {
  std::fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line,
               condition);
  std::abort();
}
}  // namespace proctor::internal

#define PROCTOR_CHECK(condition)                                        \
  do {                                                                  \
    if (!(condition)) [[unlikely]] {                                    \
      ::proctor::internal::CheckFailed(__FILE__, __LINE__, #condition); \
    }                                                                   \
  } while (false)

#endif  // PROCTOR_RUNTIME_MODEL_CHECK_H_
