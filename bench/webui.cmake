# SPDX-License-Identifier: Apache-2.0
# Web UI benchmark (issue 6): cprof -http against go tool pprof -http on a
# 100k-stack profile in headless Chromium. Needs the browser tests' tools
# (webui_gen, playwright-core):
#   sh bench/webui.sh build [STACKS] [RUNS]
# or `cmake --build build --target bench_webui`.
if(TARGET webui_gen)
  add_custom_target(bench_webui
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/webui.sh ${CMAKE_BINARY_DIR}
    DEPENDS cprof_cli webui_gen
    USES_TERMINAL)
endif()
