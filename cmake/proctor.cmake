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
