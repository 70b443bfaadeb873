# SPDX-License-Identifier: Apache-2.0
# Execution tracer benchmarks (issue 7), run by bench/trace.sh beside their
# Go twin (bench/go/trace_hash, runtime/trace):
#   bench_trace       cost of a region pair and of a log (median, p99),
#                     bytes per event
#   bench_trace_hash  hash_bench's work with ~100k regions/s, traced or not
#   bench_trace_view  the viewer's side: load a 1M-event trace, tables,
#                     timeline model, windows at screen resolution
# Results and the command: docs/performance.md, "Execution tracer".
foreach(b bench_trace bench_trace_hash)
  add_executable(${b} ${CMAKE_CURRENT_LIST_DIR}/${b}.c)
  target_include_directories(${b} PRIVATE ${CMAKE_SOURCE_DIR}/include)
  target_link_libraries(${b} PRIVATE cprof)
endforeach()

add_executable(bench_trace_view ${CMAKE_CURRENT_LIST_DIR}/bench_trace_view.c)
target_link_libraries(bench_trace_view PRIVATE cpcli cpshared PkgConfig::PROTOBUFC
  PkgConfig::ZLIB PkgConfig::LIBDW PkgConfig::LIBELF m)
