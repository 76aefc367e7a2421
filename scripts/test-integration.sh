#!/usr/bin/env bash
# The integration suite: files run two at a time (each starts its own Temporal dev server, model server and
# workers on free ports, and scopes its sandboxes by its server's namespace id), then the files marked
# `// integration: alone` one at a time (microVM boots under TCG, engine-wide process counts).
# KEEL_TEST_CONCURRENCY=1 runs everything one at a time; file arguments run just those, one at a time.
#
# No file can hang CI. Each test, and each file as a whole, has KEEL_TEST_FILE_TIMEOUT_S seconds (default 600;
# node's --test-timeout: the runner then kills the file and reports `✖ <file> ... 'test timed out after ...'`); a
# file whose process is still alive KEEL_TEST_EXIT_GRACE_S seconds (default 60) after its last test is killed and
# reported by test/helpers/exit-watchdog.mjs (`keel test watchdog: <file> is still running ...`, then `✖ <file>
# ... 'test failed'`; the watchdog's lines are repeated at the end).
set -uo pipefail
cd "$(dirname "$0")/.."
limit="${KEEL_TEST_FILE_TIMEOUT_S:-600}"
[[ "$limit" =~ ^[1-9][0-9]*$ ]] || { echo "test-integration: KEEL_TEST_FILE_TIMEOUT_S must be a whole number of seconds, not '$limit'" >&2; exit 2; }
grace="${KEEL_TEST_EXIT_GRACE_S:-60}"
[[ "$grace" =~ ^[0-9]*\.?[0-9]+$ && ! "$grace" =~ ^0*\.?0*$ ]] || { echo "test-integration: KEEL_TEST_EXIT_GRACE_S must be a positive number of seconds, not '$grace'" >&2; exit 2; }
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
run() {
  node --import tsx --import "$PWD/test/helpers/exit-watchdog.mjs" --test --test-reporter=spec --test-timeout="$((limit * 1000))" \
    --test-concurrency="$1" "${@:2}" 2>&1 | tee -a "$log"
  return "${PIPESTATUS[0]}"
}
# Why files were killed, once more after node's own summary (which names them but says only 'test failed').
report() {
  if grep -q '^keel test watchdog: ' "$log"; then
    printf '\ntest-integration: files killed by the watchdog:\n'
    grep '^keel test watchdog: ' "$log" | sed 's/^/  /'
  fi
}
if [ $# -gt 0 ]; then run 1 "$@"; status=$?; report; exit $status; fi
mapfile -t alone < <(grep -l '^// integration: alone' test/integration/*.test.ts)
mapfile -t shared < <(grep -L '^// integration: alone' test/integration/*.test.ts)
status=0
# (node --test with no files would run every test file it finds: an empty group runs nothing)
[ ${#shared[@]} -eq 0 ] || run "${KEEL_TEST_CONCURRENCY:-2}" "${shared[@]}" || status=$?
[ ${#alone[@]} -eq 0 ] || run 1 "${alone[@]}" || status=$?
report
exit $status
