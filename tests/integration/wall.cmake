# SPDX-License-Identifier: Apache-2.0
# Contention and wall-clock profiles (issue 8, "How it will be checked"):
# programs in progs/wall_*.c profiled for real, their profiles read back
# by check_wall.py through go tool pprof and cprof and compared with what
# the programs measured themselves.
#
# The programs call no cprof function directly (wall_lock and wall_api
# find the API with dlsym): they are profiled through LD_PRELOAD, or
# linked with libcprof in sanitizer builds (an ASan libcprof cannot be
# preloaded into an uninstrumented program).
set(CP_WALL_SRC ${CMAKE_CURRENT_LIST_DIR}/progs)
set(CP_WALL_OUT ${CMAKE_BINARY_DIR}/tests/wall)
set(CP_WALL_CHECK ${CMAKE_CURRENT_LIST_DIR}/check_wall.py)
file(MAKE_DIRECTORY ${CP_WALL_OUT})

foreach(p lock half stress api syscalls)
  add_executable(wall_${p} ${CP_WALL_SRC}/wall_${p}.c)
  target_link_libraries(wall_${p} PRIVATE Threads::Threads ${CMAKE_DL_LIBS})
  if(CPROF_SANITIZE)
    target_link_options(wall_${p} PRIVATE -Wl,--no-as-needed)
    target_link_libraries(wall_${p} PRIVATE cprof)
  endif()
  target_compile_options(wall_${p} PRIVATE -fno-omit-frame-pointer)
  set_target_properties(wall_${p} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CP_WALL_OUT})
endforeach()

# cp_wall_test(NAME TIMEOUT [LONG] ARGS...)
function(cp_wall_test name timeout)
  cmake_parse_arguments(T "LONG" "" "" ${ARGN})
  add_test(NAME wall/${name}
    COMMAND ${Python3_EXECUTABLE} ${CP_WALL_CHECK} ${T_UNPARSED_ARGUMENTS})
  if(T_LONG)
    set(labels "integration;wall;long")
  else()
    set(labels "integration;wall")
  endif()
  set_tests_properties(wall/${name} PROPERTIES
    LABELS "${labels}" TIMEOUT ${timeout} SKIP_RETURN_CODE 77
    ENVIRONMENT "${CP_TEST_ENV}")
endfunction()

cp_wall_test(contention_holder_and_waiters 120 contention)
cp_wall_test(contention_sampled 120 sampled)
cp_wall_test(contention_endpoint 180 endpoint)
cp_wall_test(half_sleep 120 half --wait sleep --seconds 4)
cp_wall_test(half_fread 120 half --wait fread --seconds 4)
cp_wall_test(half_select_2_threads 120 half --wait select --seconds 4
  --threads 2)
cp_wall_test(half_cond 120 half --wait cond --seconds 3)
cp_wall_test(half_poll_timer_trigger 120 half --wait poll --seconds 4
  --threads 2 --trigger timer)
cp_wall_test(half_sleep_10s 300 LONG half --wait sleep --seconds 10)
cp_wall_test(half_pipe_10s 300 LONG half --wait pipe --seconds 10)
cp_wall_test(stress_32_threads_5s 300 stress --seconds 5)
cp_wall_test(stress_32_threads_60s 900 LONG stress --seconds 60)
cp_wall_test(run_wall_hz 120 run)
cp_wall_test(api_profile_write 120 api)

# The leaf of threads in system calls: blocked ones read as their call on
# the program's function, busy ones never show cprof's interposer frames
# (wall_leaf.py, progs/wall_syscalls.c).
foreach(trig perf timer)
  add_test(NAME wall/leaf_syscalls_${trig}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/wall_leaf.py
            --seconds 3 --hz 200 --trigger ${trig})
  set_tests_properties(wall/leaf_syscalls_${trig} PROPERTIES
    LABELS "integration;wall" TIMEOUT 120 SKIP_RETURN_CODE 77
    ENVIRONMENT "${CP_TEST_ENV}")
endforeach()
