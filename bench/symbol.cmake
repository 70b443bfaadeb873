# SPDX-License-Identifier: Apache-2.0
# Symbolizer benchmark: 100k distinct addresses in libc and in itself
# (bench/bench_symbolize.c); results in docs/performance.md.
add_executable(bench_symbolize ${CMAKE_CURRENT_SOURCE_DIR}/bench_symbolize.c)
target_include_directories(bench_symbolize PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(bench_symbolize PRIVATE cpshared
  PkgConfig::PROTOBUFC PkgConfig::ZLIB PkgConfig::LIBDW PkgConfig::LIBELF
  ${CMAKE_DL_LIBS})
