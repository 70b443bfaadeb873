# SPDX-License-Identifier: Apache-2.0
# The profile codec (src/profile) against the reference reader: profiles
# written by cprof's encoder are read back with go tool pprof -raw/-top,
# and Go's own profiles survive a decode + re-encode through cprof.
add_executable(profile_write ${CMAKE_CURRENT_SOURCE_DIR}/progs/profile_write.c)
target_include_directories(profile_write PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(profile_write PRIVATE cpshared PkgConfig::PROTOBUFC
  PkgConfig::ZLIB PkgConfig::LIBDW PkgConfig::LIBELF m)

add_test(NAME integration/profile_pprof
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/profile_pprof.py
    $<TARGET_FILE:profile_write> ${CMAKE_SOURCE_DIR}/tests/data
    ${CMAKE_CURRENT_BINARY_DIR}/profile_pprof)
set_tests_properties(integration/profile_pprof PROPERTIES
  LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77
  ENVIRONMENT "${CP_TEST_ENV}")
