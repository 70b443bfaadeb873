# SPDX-License-Identifier: Apache-2.0
# Trace viewer benchmark (issue 7: "time to open a 1M-event trace in the
# viewer"): cprof trace -http against go tool trace in headless Chromium,
#   sh bench/trace_viewer.sh build [ITERATIONS] [RUNS]
# or `cmake --build build --target bench_trace_viewer`. Needs the browser
# tests' trace_browser_prog and playwright-core, and bench_trace_view.
if(TARGET trace_browser_prog AND TARGET bench_trace_view)
  add_custom_target(bench_trace_viewer
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/trace_viewer.sh ${CMAKE_BINARY_DIR}
    DEPENDS cprof_cli trace_browser_prog bench_trace_view
    USES_TERMINAL)
endif()
