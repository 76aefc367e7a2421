#!/usr/bin/env bash
# The integration suite: files run two at a time (each starts its own Temporal dev server, model server and
# workers on free ports, and scopes its sandboxes by its server's namespace id), then the files marked
# `// integration: alone` one at a time (microVM boots under TCG, engine-wide process counts).
# KEEL_TEST_CONCURRENCY=1 runs everything one at a time; file arguments run just those, one at a time.
set -uo pipefail
cd "$(dirname "$0")/.."
run() { node --import tsx --test --test-reporter=spec --test-concurrency="$1" "${@:2}"; }
if [ $# -gt 0 ]; then run 1 "$@"; exit; fi
mapfile -t alone < <(grep -l '^// integration: alone' test/integration/*.test.ts)
mapfile -t shared < <(grep -L '^// integration: alone' test/integration/*.test.ts)
status=0
# (node --test with no files would run every test file it finds: an empty group runs nothing)
[ ${#shared[@]} -eq 0 ] || run "${KEEL_TEST_CONCURRENCY:-2}" "${shared[@]}" || status=$?
[ ${#alone[@]} -eq 0 ] || run 1 "${alone[@]}" || status=$?
exit $status
