# SPDX-License-Identifier: Apache-2.0
# Heap profiler integration tests (issue 4, "How it will be checked"): the
# programs in progs/heap_*.c run under LD_PRELOAD=libcprof.so, as users run
# them, and check_heap.py compares their profiles with the truth they
# report: exact counts at rate 1, accuracy at 4 KiB, unbiasedness and
# spread over many seeds at the default rate, alloc_space after 4 GB,
# every allocation function and operator new/delete, constructors, fork,
# threads, leaks, go tool pprof and cprof on both forms, valgrind.
#
# Sanitizer builds: ASan owns malloc, cprof's interposers are not built,
# and every check here skips itself (exit 77) saying so.
#
# ctest -L heap runs them all; the 50-run statistical campaign is long.
set(CP_HEAP_SRC ${CMAKE_CURRENT_LIST_DIR}/progs)
set(CP_HEAP_OUT ${CMAKE_BINARY_DIR}/tests/heap)
set(CP_HEAP_CHECK ${CMAKE_CURRENT_LIST_DIR}/check_heap.py)
file(MAKE_DIRECTORY ${CP_HEAP_OUT})

function(cp_heap_prog name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${P_SOURCES})
  target_include_directories(${name} PRIVATE ${CP_HEAP_SRC})
  target_link_libraries(${name} PRIVATE ${P_LIBS} Threads::Threads
    ${CMAKE_DL_LIBS} m)
  set_target_properties(${name} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CP_HEAP_OUT})
endfunction()

foreach(p sites mixed fork threads leak)
  cp_heap_prog(heap_${p} SOURCES ${CP_HEAP_SRC}/heap_${p}.c)
endforeach()
cp_heap_prog(heap_cxx SOURCES ${CP_HEAP_SRC}/heap_cxx.cc)
set_target_properties(heap_cxx PROPERTIES CXX_STANDARD 17)
add_library(heap_ctor_lib SHARED ${CP_HEAP_SRC}/heap_ctor_lib.c)
set_target_properties(heap_ctor_lib PROPERTIES
  LIBRARY_OUTPUT_DIRECTORY ${CP_HEAP_OUT})
cp_heap_prog(heap_ctor SOURCES ${CP_HEAP_SRC}/heap_ctor.c LIBS heap_ctor_lib)
add_library(heap_dlopen_lib MODULE ${CP_HEAP_SRC}/heap_dlopen_lib.c)
target_include_directories(heap_dlopen_lib PRIVATE ${CP_HEAP_SRC})
set_target_properties(heap_dlopen_lib PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY ${CP_HEAP_OUT})
cp_heap_prog(heap_dlopen SOURCES ${CP_HEAP_SRC}/heap_dlopen.c)
add_dependencies(heap_dlopen heap_dlopen_lib)

# cp_heap_test(NAME TIMEOUT [LONG] ARGS...)
function(cp_heap_test name timeout)
  cmake_parse_arguments(T "LONG" "" "" ${ARGN})
  add_test(NAME heap/${name}
    COMMAND ${Python3_EXECUTABLE} ${CP_HEAP_CHECK} ${T_UNPARSED_ARGUMENTS})
  if(T_LONG)
    set(labels "integration;heap;long")
  else()
    set(labels "integration;heap")
  endif()
  set_tests_properties(heap/${name} PROPERTIES
    LABELS "${labels}" TIMEOUT ${timeout} SKIP_RETURN_CODE 77
    ENVIRONMENT "${CP_TEST_ENV}")
endfunction()

# -- exact counts, accuracy, statistics
cp_heap_test(exact_rate1 60 exact)
cp_heap_test(ratio_100mb_4k 120 ratio --mb 100 --rate 4096 --tol 10)
cp_heap_test(stat_10_runs 180 stat --runs 10 --sigmas 4)
cp_heap_test(alloc_space_4gb 180 churn --gb 4 --tol 5)
cp_heap_test(long_stat_50_runs 900 LONG stat --runs 50 --sigmas 3)

# -- every allocation function, C++, constructors, fork, threads
cp_heap_test(mixed_rate1 60 mixed --rate 1)
cp_heap_test(mixed_default_rate 60 mixed --rate default)
cp_heap_test(mixed_rate0 60 mixed --rate 0)
cp_heap_test(cxx_rate1 60 cxx)
cp_heap_test(constructors_rate1 60 ctor)
cp_heap_test(dlopen_dlclose_rate1 60 dlopen)
cp_heap_test(fork_children 120 fork --children 8 --timeout 100)
cp_heap_test(threads_rate1 120 threads --rate 1 --threads 4
  --per-thread 20000)
cp_heap_test(threads_default_rate 120 threads --rate default --threads 4
  --per-thread 50000)

# -- outputs: leaks, both forms through go tool pprof and cprof, env
cp_heap_test(leaks_at_exit 60 leak)
cp_heap_test(forms_go_and_cprof 180 forms)
cp_heap_test(bad_env 60 badenv)
cp_heap_test(python3_host 120 python)
cp_heap_test(dash_and_bash_hosts 120 shells)

# -- memory errors and leaks of cprof's own, under valgrind memcheck
cp_heap_test(valgrind_mixed 600 valgrind --prog mixed --timeout 280)
cp_heap_test(valgrind_cxx 600 valgrind --prog cxx --timeout 280)
