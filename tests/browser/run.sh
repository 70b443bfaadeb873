#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# run.sh SCENARIO - one browser test of cprof's web UI (webui_test.js), or
# of the trace viewer for trace-* scenarios (trace_test.js).
# Skips (exit 77, with the reason) only when Debian's chromium or node >= 18
# cannot run on this machine; installs playwright-core (package-lock.json)
# into the build tree once, under a lock, so parallel tests share it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${CPROF_BROWSER_OUT:?set by ctest}
chromium=${CPROF_CHROMIUM:-/usr/bin/chromium}

skip() { echo "SKIP: $*"; exit 77; }
[ -x "$chromium" ] || skip "$chromium is not installed (scripts/deps.sh check installs Debian's chromium)"
"$chromium" --version >/dev/null 2>&1 || skip "$chromium does not run here"
command -v node >/dev/null 2>&1 || skip "node is not installed (scripts/deps.sh check installs nodejs)"
node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' ||
    skip "node $(node --version) is older than 18"
command -v npm >/dev/null 2>&1 || skip "npm is not installed (scripts/deps.sh check installs npm)"

npmdir=$out/npm
mkdir -p "$npmdir"
# One attempt per ctest run: when the registry cannot be reached, the
# next scenarios fail at once with the first one's reason instead of each
# waiting out npm's retries (12 scenarios x 75 s).
(
    flock 9
    if [ ! -f "$npmdir/node_modules/playwright-core/package.json" ] ||
        ! cmp -s "$here/package-lock.json" "$npmdir/package-lock.json"; then
        if [ -f "$npmdir/.failed" ] &&
            [ $(( $(date +%s) - $(stat -c %Y "$npmdir/.failed") )) -lt 900 ]; then
            cat "$npmdir/.failed"
            exit 1
        fi
        cp "$here/package.json" "$here/package-lock.json" "$npmdir/" &&
            cd "$npmdir" && npm_config_cache="$npmdir/.cache" \
            npm ci --no-audit --no-fund --loglevel=error \
                --fetch-retries=1 --fetch-retry-maxtimeout=15000 \
                >"$npmdir/.npm.log" 2>&1
        rc=$?
        cat "$npmdir/.npm.log"
        if [ $rc -ne 0 ]; then
            { echo "(npm ci failed a moment ago:)"; tail -n 5 "$npmdir/.npm.log"; } >"$npmdir/.failed"
            exit 1
        fi
        rm -f "$npmdir/.failed"
    fi
) 9>"$npmdir/.lock" || { echo "FAIL: npm ci could not install playwright-core from the npm registry (see above)"; exit 1; }

# trace-* scenarios are the trace viewer's (trace_test.js)
case ${1:-} in trace-*) script=trace_test.js ;; *) script=webui_test.js ;; esac
NODE_PATH=$npmdir/node_modules CPROF_CHROMIUM=$chromium exec node "$here/$script" "$@"
