# SPDX-License-Identifier: Apache-2.0
# Contention and wall-clock profiler benchmark (issue 8): the cost of an
# uncontended lock/unlock pair and the throughput of a contended mutex with
# the block and mutex profiles off and on (against Go's own, on a twin
# workload), and the overhead of wall-clock sampling with 8 and 64
# threads at 100 Hz. Run by hand after a build:
#   bench/wall.sh build
# Results in docs/performance.md, "Contention and wall-clock".
add_executable(bench_wall ${CMAKE_CURRENT_LIST_DIR}/bench_wall.c)
target_link_libraries(bench_wall PRIVATE Threads::Threads)
target_compile_options(bench_wall PRIVATE -fno-omit-frame-pointer)
