# SPDX-License-Identifier: Apache-2.0
# CPU profiler integration tests (issue 2, "How it will be checked"): the
# programs in progs/cpu_*.c, profiled for real, their profiles read back
# with go tool pprof by check_cpu.py, which compares them with what the
# programs measured themselves and with libcprof's counters.
#
# Normal builds: the programs do not link libcprof; check_cpu.py profiles
# them through LD_PRELOAD, as users do. Sanitizer builds: an ASan libcprof
# cannot be preloaded into an uninstrumented program, so every program
# links libcprof (and the sanitizer runtime) instead; checks that must
# preload into foreign binaries skip there (exit 77).
#
# Programs that exist to be built a particular way (PIE, non-PIE, -O2
# without frame pointers, a shared library) replace the tree's compile
# options with their own, like tests/integration/symbol.cmake.
#
# ctest -L cpu runs them all; the statistical campaigns are labelled long.
set(CP_CPU_SRC ${CMAKE_CURRENT_LIST_DIR}/progs)
set(CP_CPU_OUT ${CMAKE_BINARY_DIR}/tests/cpu)
set(CP_CPU_CHECK ${CMAKE_CURRENT_LIST_DIR}/check_cpu.py)
file(MAKE_DIRECTORY ${CP_CPU_OUT})

# cp_cpu_prog(NAME SOURCES ... [COPTS ...] [LOPTS ...] [LIBS ...] [API])
#   COPTS replaces the tree's compile options; API links libcprof always.
function(cp_cpu_prog name)
  cmake_parse_arguments(P "API" "" "SOURCES;COPTS;LOPTS;LIBS" ${ARGN})
  add_executable(${name} ${P_SOURCES})
  if(P_COPTS)
    set_property(TARGET ${name} PROPERTY COMPILE_OPTIONS ${P_COPTS})
  endif()
  if(P_LOPTS OR P_COPTS)
    set(lopts ${P_LOPTS})
    if(CPROF_SANITIZE)
      list(APPEND lopts -fsanitize=${CPROF_SANITIZE})
    endif()
    set_property(TARGET ${name} PROPERTY LINK_OPTIONS "${lopts}")
  endif()
  target_include_directories(${name} PRIVATE ${CP_CPU_SRC})
  target_link_libraries(${name} PRIVATE ${P_LIBS} Threads::Threads
    ${CMAKE_DL_LIBS} m)
  if(P_API OR CPROF_SANITIZE)
    target_link_options(${name} PRIVATE -Wl,--no-as-needed)
    target_link_libraries(${name} PRIVATE cprof)
  endif()
  set_target_properties(${name} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CP_CPU_OUT})
endfunction()

# Symbolization and whole stacks, built the ways real programs are built.
cp_cpu_prog(cpu_chain SOURCES ${CP_CPU_SRC}/cpu_chain.c)
cp_cpu_prog(cpu_chain_pie SOURCES ${CP_CPU_SRC}/cpu_chain.c
  COPTS -O0 -g -fPIE LOPTS -pie)
cp_cpu_prog(cpu_chain_nopie SOURCES ${CP_CPU_SRC}/cpu_chain.c
  COPTS -O1 -g -fno-pie LOPTS -no-pie)
set_target_properties(cpu_chain_nopie PROPERTIES POSITION_INDEPENDENT_CODE OFF)
cp_cpu_prog(cpu_chain_o2nofp SOURCES ${CP_CPU_SRC}/cpu_chain.c
  COPTS -O2 -g -fomit-frame-pointer -fPIE LOPTS -pie)

add_library(cpt_chain SHARED ${CP_CPU_SRC}/cpu_chain_lib.c)
set_property(TARGET cpt_chain PROPERTY COMPILE_OPTIONS
  -O2 -g -fomit-frame-pointer -fPIC)
target_include_directories(cpt_chain PRIVATE ${CP_CPU_SRC})
set_target_properties(cpt_chain PROPERTIES
  LIBRARY_OUTPUT_DIRECTORY ${CP_CPU_OUT})
cp_cpu_prog(cpu_chain_dso SOURCES ${CP_CPU_SRC}/cpu_chain_dso.c
  COPTS -O2 -g -fPIE LOPTS -pie LIBS cpt_chain)
cp_cpu_prog(cpu_qsort SOURCES ${CP_CPU_SRC}/cpu_qsort.c
  COPTS -O2 -g -fomit-frame-pointer -fPIE LOPTS -pie)

# Accuracy and robustness: the tree's flags (sanitizers included).
foreach(p shares threads manythreads fork dlopen sigprof errno deep exec
    blocking badframes)
  cp_cpu_prog(cpu_${p} SOURCES ${CP_CPU_SRC}/cpu_${p}.c)
endforeach()
add_library(cpt_dl SHARED ${CP_CPU_SRC}/cpu_dlopen_lib.c)
target_include_directories(cpt_dl PRIVATE ${CP_CPU_SRC})
set_target_properties(cpt_dl PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CP_CPU_OUT})
add_dependencies(cpu_dlopen cpt_dl)
cp_cpu_prog(cpu_api SOURCES ${CP_CPU_SRC}/cpu_api.c API)

# cp_cpu_test(NAME TIMEOUT SECONDS [LONG] ARGS...)
function(cp_cpu_test name timeout)
  cmake_parse_arguments(T "LONG" "" "" ${ARGN})
  add_test(NAME cpu/${name}
    COMMAND ${Python3_EXECUTABLE} ${CP_CPU_CHECK} ${T_UNPARSED_ARGUMENTS})
  if(T_LONG)
    set(labels "integration;cpu;long")
  else()
    set(labels "integration;cpu")
  endif()
  set_tests_properties(cpu/${name} PROPERTIES
    LABELS "${labels}" TIMEOUT ${timeout} SKIP_RETURN_CODE 77
    ENVIRONMENT "${CP_TEST_ENV}")
endfunction()

# -- symbolization, whole stacks (through glibc and -O2 code without frame
#    pointers), shared libraries
cp_cpu_test(symbolize_pie 60 chain --prog cpu_chain_pie --hz 100 --ms 600)
cp_cpu_test(symbolize_nopie 60 chain --prog cpu_chain_nopie --hz 100 --ms 600)
cp_cpu_test(symbolize_o2_nofp 60 chain --prog cpu_chain_o2nofp --hz 1000
  --ms 600)
cp_cpu_test(symbolize_tree_flags 60 chain --prog cpu_chain --hz 1000 --ms 400)
cp_cpu_test(symbolize_dso 60 dso --hz 1000 --ms 600)
cp_cpu_test(stack_through_glibc_qsort 60 qsort --hz 1000 --ms 600)
cp_cpu_test(stack_depth_100_whole 60 deep --depth 100 --hz 1000 --ms 300)
cp_cpu_test(stack_depth_300_truncated 60 deep --depth 300 --hz 1000 --ms 300)
cp_cpu_test(labels_every_sample 60 labels --hz 1000)

# -- accuracy (sampling error of these runs: see check_cpu.py and
#    docs/performance.md)
cp_cpu_test(shares_1000hz 90 shares --hz 1000 --seconds 3 --seg-lo 3
  --seg-hi 12 --tol 2)
cp_cpu_test(shares_100hz 90 shares --hz 100 --seconds 6 --seg-lo 20
  --seg-hi 60 --tol 2)
cp_cpu_test(equal_threads_100hz 90 equal --hz 100 --seconds 2 --tol 3)
cp_cpu_test(equal_threads_1000hz 90 equal --hz 1000 --seconds 1.5 --tol 3)
cp_cpu_test(serial_vs_split_100hz 90 split --hz 100 --seconds 1.5 --tol 3)
cp_cpu_test(serial_vs_split_1000hz 90 split --hz 1000 --seconds 1 --tol 3)

# -- robustness
cp_cpu_test(threads_1000_short_1000hz 120 manythreads --hz 1000
  --threads 1000 --ms 2 --min-threads 900 --min-total 0.9)
cp_cpu_test(threads_1000_short_100hz 120 manythreads --hz 100
  --threads 1000 --ms 2 --min-total 0.5)
cp_cpu_test(fork_100hz 90 fork --hz 100 --forks 50)
cp_cpu_test(fork_1000hz 90 fork --hz 1000 --forks 50)
cp_cpu_test(dlopen_loop_1000hz 120 dlopen --hz 1000 --iterations 2000
  --timeout 100)
cp_cpu_test(own_sigprof_100hz 90 sigprof --hz 100 --ms 1000)
cp_cpu_test(own_sigprof_1000hz 90 sigprof --hz 1000 --ms 1000)
cp_cpu_test(errno_kept_1000hz 60 errno --hz 1000 --ms 1000)
cp_cpu_test(errno_kept_100hz 60 errno --hz 100 --ms 1000)
cp_cpu_test(exec_chain_1000hz 120 exec --mode chain --n 200 --hz 1000)
cp_cpu_test(exec_forkexec_1000hz 120 exec --mode forkexec --n 100 --hz 1000)
cp_cpu_test(exec_spawn_1000hz 120 exec --mode spawn --n 50 --hz 1000)
cp_cpu_test(exec_dash_loop_1000hz 120 exec --mode shell --shell sh --n 100
  --hz 1000)
cp_cpu_test(exec_bash_loop_1000hz 120 exec --mode shell --shell bash --n 100
  --hz 1000)
cp_cpu_test(blocking_syscalls_100hz 60 blocking --hz 100 --ms 2000)
cp_cpu_test(blocking_syscalls_1000hz 60 blocking --hz 1000 --ms 2000)
cp_cpu_test(python3_host_100hz 90 python --hz 100 --loops 5000000)
cp_cpu_test(python3_pyenv_shim_1000hz 90 python --shim --hz 1000
  --loops 5000000)
cp_cpu_test(hostile_frame_pointers_1000hz 60 badframes --hz 1000 --ms 300)
cp_cpu_test(api 60 api)
cp_cpu_test(bad_env 60 badenv)

# -- long statistical campaigns (make check-long)
cp_cpu_test(long_shares_1000hz 900 LONG shares --hz 1000 --seconds 3
  --seg-lo 3 --seg-hi 12 --tol 2 --repeat 20)
cp_cpu_test(long_shares_100hz 900 LONG shares --hz 100 --seconds 6
  --seg-lo 20 --seg-hi 60 --tol 2 --repeat 10)
cp_cpu_test(long_equal_threads_100hz 900 LONG equal --hz 100 --seconds 2
  --tol 3 --repeat 20)
cp_cpu_test(long_serial_vs_split_1000hz 900 LONG split --hz 1000
  --seconds 1 --tol 3 --repeat 20)
cp_cpu_test(long_exec_chain_1000hz 900 LONG exec --mode chain --n 2000
  --hz 1000 --timeout 800)
cp_cpu_test(long_dlopen_loop_1000hz 900 LONG dlopen --hz 1000
  --iterations 20000 --timeout 800)
