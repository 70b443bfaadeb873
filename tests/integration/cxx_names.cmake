# SPDX-License-Identifier: Apache-2.0
# C++ function names in profiles (docs/internals/symbolize.md, "Names"):
# progs/cxx_names.cc, a std::sort/std::map/template/lambda workload built
# -O2 -g by g++, profiled with CPROF_CPU through LD_PRELOAD (linked with
# libcprof in sanitizer builds), read back with go tool pprof -top and
# cprof -top by check_cxx_names.py: the names must be pprof's simplified
# ones ("std::__introsort_loop", "cxn::Grid::step"), never a parameter
# list, and the mangled names must still be there as system names.
add_executable(cxx_names ${CMAKE_CURRENT_LIST_DIR}/progs/cxx_names.cc)
set_property(TARGET cxx_names PROPERTY COMPILE_OPTIONS -O2 -g -std=c++17
  -fno-omit-frame-pointer)
if(CPROF_SANITIZE)
  target_link_options(cxx_names PRIVATE -Wl,--no-as-needed
    -fsanitize=${CPROF_SANITIZE})
  target_link_libraries(cxx_names PRIVATE cprof)
endif()
set_target_properties(cxx_names PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/cxx)
add_test(NAME symbol/cxx_names
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/check_cxx_names.py)
set_tests_properties(symbol/cxx_names PROPERTIES
  LABELS "integration;symbol" TIMEOUT 120 SKIP_RETURN_CODE 77
  ENVIRONMENT "${CP_TEST_ENV}")
