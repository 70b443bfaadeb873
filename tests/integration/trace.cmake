# SPDX-License-Identifier: Apache-2.0
# Execution tracer integration tests (issue 7, "How it will be checked"):
# programs in progs/trace_*.c, traced for real, their traces read back by
# check_trace.py through `cprof trace` (JSON, Perfetto, summary, pprof via
# go tool pprof) and compared with what the programs measured themselves.
#
# trace_regions, trace_flood and trace_spin use the API (they link
# libcprof); trace_block is traced through CPROF_TRACE and LD_PRELOAD, or
# linked with libcprof in sanitizer builds (an ASan libcprof cannot be
# preloaded into an uninstrumented program).
set(CP_TRACE_SRC ${CMAKE_CURRENT_LIST_DIR}/progs)
set(CP_TRACE_OUT ${CMAKE_BINARY_DIR}/tests/trace)
set(CP_TRACE_CHECK ${CMAKE_CURRENT_LIST_DIR}/check_trace.py)
file(MAKE_DIRECTORY ${CP_TRACE_OUT})

foreach(p regions flood spin block)
  add_executable(trace_${p} ${CP_TRACE_SRC}/trace_${p}.c)
  target_link_libraries(trace_${p} PRIVATE Threads::Threads)
  if(NOT p STREQUAL "block" OR CPROF_SANITIZE)
    target_link_options(trace_${p} PRIVATE -Wl,--no-as-needed)
    target_link_libraries(trace_${p} PRIVATE cprof)
  endif()
  target_include_directories(trace_${p} PRIVATE ${CMAKE_SOURCE_DIR}/include)
  set_target_properties(trace_${p} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CP_TRACE_OUT})
endforeach()

# cp_trace_test(NAME TIMEOUT [LONG] ARGS...)
function(cp_trace_test name timeout)
  cmake_parse_arguments(T "LONG" "" "" ${ARGN})
  add_test(NAME trace/${name}
    COMMAND ${Python3_EXECUTABLE} ${CP_TRACE_CHECK} ${T_UNPARSED_ARGUMENTS})
  if(T_LONG)
    set(labels "integration;trace;long")
  else()
    set(labels "integration;trace")
  endif()
  set_tests_properties(trace/${name} PROPERTIES
    LABELS "${labels}" TIMEOUT ${timeout} SKIP_RETURN_CODE 77
    ENVIRONMENT "${CP_TEST_ENV}")
endfunction()

cp_trace_test(regions_nested_3_threads 120 regions)
cp_trace_test(flood_10M_per_s_1s 120 flood --seconds 1 --rate 10000000
  --threads 2)
cp_trace_test(flood_10M_per_s_5s 300 LONG flood --seconds 5 --rate 10000000
  --threads 2)
cp_trace_test(kill9_readable_prefix 120 kill9 --seconds 1)
cp_trace_test(sched_intervals_cover_life 120 sched --seconds 1
  --rate 1000000 --threads 2)
cp_trace_test(blocking_calls_and_pprof 180 block)
cp_trace_test(endpoint_trace_1s 120 endpoint)
cp_trace_test(example_simple_trace_out 180 simple)
