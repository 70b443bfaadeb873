# SPDX-License-Identifier: Apache-2.0
# Live endpoint benchmark (issue 5): cprof's /debug/pprof/ against Go's
# net/http/pprof on the same workload. Run by hand after a build:
#   bench/http.sh build
# (uses tests/http/http_busy from the test build and a small Go program,
# bench/go/http_peer); results in docs/performance.md, "Live endpoint".
