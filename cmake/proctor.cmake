# Helpers shared by every folder: one function per kind of test so that labels
# (unit, property, fuzz, sim, real) are applied in one place.

# proctor_test(NAME name SOURCES ... LIBS ... LABEL unit|property|sim|real|fuzz)
function(proctor_test)
  cmake_parse_arguments(T "" "NAME;LABEL" "SOURCES;LIBS" ${ARGN})
  if(NOT PROCTOR_BUILD_TESTS)
    return()
  endif()
  if(NOT T_LABEL)
    set(T_LABEL unit)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gmock GTest::gtest GTest::gtest_main)
  if(T_LABEL STREQUAL "property")
    target_link_libraries(${T_NAME} PRIVATE rapidcheck rapidcheck_gtest)
  endif()
  gtest_discover_tests(${T_NAME}
    PROPERTIES LABELS ${T_LABEL}
    DISCOVERY_TIMEOUT 60)
endfunction()

# The mutants of the reference runtime and the rule each breaks (runtime/model/
# mutants.h; `proctor mutants` lists them): tests that check each mutant is
# caught, and that its failure shrinks, iterate this list.
set(PROCTOR_MUTANTS proxy-one-per-wake:PX-3 proxy-count-after-write:PX-2
  payload-backward:VM-4 hangup-ignores-exit:VM-5 failure-reason-ignored:VM-6
  suspend-ignores-counters:PW-3 stop-sleeps-whole-grace:CN-4
  ports-wrap-around:CN-7 on-died-twice:VM-7 guest-path-dotdot:CN-8)
