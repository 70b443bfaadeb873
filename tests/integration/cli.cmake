# SPDX-License-Identifier: Apache-2.0
# The cprof command (issue 3): golden outputs against go tool pprof
# (tests/golden/), and check_cli.py's value-by-value comparisons with
# go tool pprof on Go, gperftools, Go legacy text and cprof profiles, the
# -collapsed format, -proto round trips, error sentences, URL sources and
# `cprof run`. `ctest -L cli` runs them all.
set(CP_CLI_OUT ${CMAKE_BINARY_DIR}/tests/cli)
file(MAKE_DIRECTORY ${CP_CLI_OUT})

# The workload: tests/data/gen/gperf.c, plain (profiled by libcprof through
# `cprof run`) and linked with gperftools' libprofiler (CPUPROFILE=). The
# gperftools build keeps its own options, without sanitizers: it is only
# read, and libprofiler is no ASan program.
add_executable(cli_burn ${CMAKE_SOURCE_DIR}/tests/data/gen/gperf.c)
set_target_properties(cli_burn PROPERTIES RUNTIME_OUTPUT_DIRECTORY
  ${CP_CLI_OUT})
find_library(CP_PROFILER_LIB NAMES profiler libprofiler.so.0)
set(CP_CLI_GPERF_ARG "")
if(CP_PROFILER_LIB)
  add_executable(cli_gperf ${CMAKE_SOURCE_DIR}/tests/data/gen/gperf.c)
  set_property(TARGET cli_gperf PROPERTY COMPILE_OPTIONS
    -O2 -g -fno-omit-frame-pointer)
  set_property(TARGET cli_gperf PROPERTY LINK_OPTIONS -Wl,--no-as-needed)
  target_link_libraries(cli_gperf PRIVATE ${CP_PROFILER_LIB})
  set_target_properties(cli_gperf PROPERTIES RUNTIME_OUTPUT_DIRECTORY
    ${CP_CLI_OUT})
  set(CP_CLI_GPERF_ARG --gperf $<TARGET_FILE:cli_gperf>)
endif()

add_test(NAME integration/cli_golden
  COMMAND sh ${CMAKE_SOURCE_DIR}/tests/golden/check.sh $<TARGET_FILE:cprof_cli>)
set_tests_properties(integration/cli_golden PROPERTIES
  LABELS "integration;cli" TIMEOUT 120 ENVIRONMENT "${CP_TEST_ENV}")

foreach(mode compare collapsed proto errors url run manual)
  add_test(NAME integration/cli_${mode}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/check_cli.py
      ${mode} --cprof $<TARGET_FILE:cprof_cli>
      --data ${CMAKE_SOURCE_DIR}/tests/data
      --work ${CP_CLI_OUT}/${mode}
      --burn $<TARGET_FILE:cli_burn> ${CP_CLI_GPERF_ARG}
      --legacy-src ${CMAKE_SOURCE_DIR}/tests/data/gen/legacy/main.go
      --man ${CMAKE_SOURCE_DIR}/docs/man/cprof.1
      --flags-src ${CMAKE_SOURCE_DIR}/cli/flags.c)
  set_tests_properties(integration/cli_${mode} PROPERTIES
    LABELS "integration;cli" TIMEOUT 300 SKIP_RETURN_CODE 77
    ENVIRONMENT "${CP_TEST_ENV}")
endforeach()

# cprof against go tool pprof on random profiles, byte for byte: a few
# seeds in make check, hundreds in make check-long
foreach(set short long)
  if(set STREQUAL short)
    set(seeds 1 6)
    set(labels "integration;cli")
  else()
    set(seeds 1000 400)
    set(labels "long;cli")
  endif()
  add_test(NAME integration/cli_random_${set}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/check_cli.py
      random --cprof $<TARGET_FILE:cprof_cli>
      --data ${CMAKE_SOURCE_DIR}/tests/data --work ${CP_CLI_OUT}/random_${set}
      --seeds ${seeds})
  set_tests_properties(integration/cli_random_${set} PROPERTIES
    LABELS "${labels}" TIMEOUT 3600 SKIP_RETURN_CODE 77
    ENVIRONMENT "${CP_TEST_ENV}")
endforeach()
