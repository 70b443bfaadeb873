# SPDX-License-Identifier: Apache-2.0
# Live endpoint integration tests (issue 5): check_http.py drives
# examples/server and the programs in progs/http_*.c over real sockets,
# with go tool pprof, urllib and raw sockets on the other end. The
# programs link libcprof and serve on a free loopback port
# (CPROF_HTTP=127.0.0.1:0; the port is read from their stderr).
set(CP_HTTP_OUT ${CMAKE_BINARY_DIR}/tests/http)
set(CP_HTTP_CHECK ${CMAKE_CURRENT_LIST_DIR}/check_http.py)
file(MAKE_DIRECTORY ${CP_HTTP_OUT})

foreach(p http_quiet http_busy)
  add_executable(${p} ${CMAKE_CURRENT_LIST_DIR}/progs/${p}.c)
  target_link_options(${p} PRIVATE -Wl,--no-as-needed)
  target_link_libraries(${p} PRIVATE cprof Threads::Threads)
  set_target_properties(${p} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CP_HTTP_OUT})
endforeach()

# cp_http_test(NAME CHECK [ARGS...] [LONG] [TIMEOUT S])
function(cp_http_test name)
  cmake_parse_arguments(T "LONG" "TIMEOUT" "" ${ARGN})
  add_test(NAME http/${name}
    COMMAND ${Python3_EXECUTABLE} ${CP_HTTP_CHECK} ${T_UNPARSED_ARGUMENTS})
  if(T_LONG)
    set(labels "integration;http;long")
  else()
    set(labels "integration;http")
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  # RESOURCE_LOCK: the load and EINTR checks measure the machine; run
  # them alone among the endpoint's tests
  set_tests_properties(http/${name} PROPERTIES LABELS "${labels}"
    TIMEOUT ${T_TIMEOUT} SKIP_RETURN_CODE 77 RESOURCE_LOCK cp_http
    ENVIRONMENT "${CP_TEST_ENV}")
endfunction()

cp_http_test(basic basic)
cp_http_test(quiet quiet --seconds 12)
cp_http_test(security security)
cp_http_test(badinput badinput --seconds 12)
cp_http_test(load load --seconds 6)
cp_http_test(load_30s load --seconds 30 LONG TIMEOUT 200)
