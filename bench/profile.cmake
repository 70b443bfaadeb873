# SPDX-License-Identifier: Apache-2.0
# Profile codec benchmark (src/profile): encode/decode of a synthetic
# 1M-sample profile. Built with the tree; run by hand or from bench/run.sh:
#   build/bench/bench_codec -n 1000000 -l 100000 -d 32 -r 5
add_executable(bench_codec ${CMAKE_CURRENT_LIST_DIR}/bench_codec.c)
target_include_directories(bench_codec PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(bench_codec PRIVATE cpshared PkgConfig::PROTOBUFC
  PkgConfig::ZLIB PkgConfig::LIBDW PkgConfig::LIBELF m)
