# SPDX-License-Identifier: Apache-2.0
# Heap profiler benchmark (issue 4): a malloc-heavy workload with cprof
# at its default rate, with nothing, with gperftools' heap profiler and
# with heaptrack, alternated in one run; and callgrind instruction
# counts. Run by hand after a build:
#   bench/heap.sh build
# Results in docs/performance.md, "Heap profiler".
add_executable(bench_heap ${CMAKE_CURRENT_LIST_DIR}/bench_heap.c)
target_link_libraries(bench_heap PRIVATE Threads::Threads)
