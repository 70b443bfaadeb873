# SPDX-License-Identifier: Apache-2.0
# cprof command benchmark (bench/bench_cli.sh): synthesized big profiles
# from gen_profile, then `cprof -top` against `go tool pprof -top`, wall
# time and peak RSS, alternated, medians. Run by hand or bench/run.sh:
#   sh bench/bench_cli.sh build
add_executable(gen_profile ${CMAKE_CURRENT_LIST_DIR}/gen_profile.c)
target_include_directories(gen_profile PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(gen_profile PRIVATE cpshared PkgConfig::PROTOBUFC
  PkgConfig::ZLIB m)
