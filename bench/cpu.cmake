# SPDX-License-Identifier: Apache-2.0
# CPU profiler benchmarks (issue 2):
#   bench_unwind   cost of one sample, signal to stored sample, frame-pointer
#                  and DWARF paths at depths 8/32/128 (bench/bench_unwind.c)
#   bench_cpu_work a deep-recursion workload for bench/run_cpu.sh, which
#                  compares cprof with gperftools and perf on it and on
#                  examples/hash_bench.
# Results and the commands: docs/performance.md, "CPU profiler".

# The sampled recursion, twice: with frame pointers, and at -O2 without
# them (compile options replaced, as tests/integration/cpu.cmake does).
add_library(bench_unwind_fp OBJECT ${CMAKE_CURRENT_LIST_DIR}/bench_unwind_work.c)
set_property(TARGET bench_unwind_fp PROPERTY COMPILE_OPTIONS
  -O2 -g -fno-omit-frame-pointer)
target_compile_definitions(bench_unwind_fp PRIVATE BW_NAME=fp)
add_library(bench_unwind_nofp OBJECT
  ${CMAKE_CURRENT_LIST_DIR}/bench_unwind_work.c)
set_property(TARGET bench_unwind_nofp PROPERTY COMPILE_OPTIONS
  -O2 -g -fomit-frame-pointer)
target_compile_definitions(bench_unwind_nofp PRIVATE BW_NAME=nofp)

# Linked with the runtime's objects (not libcprof.so) to read its counters.
add_executable(bench_unwind ${CMAKE_CURRENT_LIST_DIR}/bench_unwind.c
  $<TARGET_OBJECTS:bench_unwind_fp> $<TARGET_OBJECTS:bench_unwind_nofp>)
target_include_directories(bench_unwind PRIVATE ${CMAKE_SOURCE_DIR}/src
  ${CMAKE_SOURCE_DIR}/include)
target_link_libraries(bench_unwind PRIVATE cpruntime cpshared
  PkgConfig::PROTOBUFC PkgConfig::ZLIB PkgConfig::LIBDW PkgConfig::LIBELF
  Threads::Threads ${CMAKE_DL_LIBS} rt m)

# Deep-recursion workload for run_cpu.sh (no cprof linked: each profiler
# is preloaded or wraps it).
add_executable(bench_cpu_work ${CMAKE_CURRENT_LIST_DIR}/bench_cpu_work.c)
set_property(TARGET bench_cpu_work PROPERTY COMPILE_OPTIONS
  -O2 -g -fno-omit-frame-pointer)
target_link_libraries(bench_cpu_work PRIVATE Threads::Threads)
