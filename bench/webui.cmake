# SPDX-License-Identifier: Apache-2.0
# Web UI benchmarks (issue 6):
#   bench_webui PROFILE [RUNS]      CPU time of the server side, by phase
#   sh bench/webui.sh build [STACKS] [RUNS] [PPROF_RUNS]
#                                   cprof -http against go tool pprof -http
#                                   in headless Chromium (needs the browser
#                                   tests' tools: webui_gen, playwright-core)
# or `cmake --build build --target bench_webui_browser`.
add_executable(bench_webui ${CMAKE_CURRENT_LIST_DIR}/bench_webui.c)
target_link_libraries(bench_webui PRIVATE cpcli cpshared)
if(TARGET webui_gen)
  add_custom_target(bench_webui_browser
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/webui.sh ${CMAKE_BINARY_DIR}
    DEPENDS cprof_cli webui_gen
    USES_TERMINAL)
endif()
