#!/usr/bin/env bash
# The test suite on a busy machine: runs scripts/test.sh (set-up and the whole suite, or the
# pytest arguments given) with HOGS CPU-bound processes (default 2) on the same cores, as CI and
# users run it beside other work; prints the suite's wall time, the load average at the end, and
# pytest's exit code as its own. Every bound in a test must hold here.
#   bash scripts/load_check.sh                 # the full suite beside two hogs
#   HOGS=4 bash scripts/load_check.sh -m "not slow"
set -uo pipefail
cd "$(dirname "$0")/.."
HOGS=${HOGS:-2}
pids=()
stop() { [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null; }
trap stop EXIT INT TERM
for _ in $(seq "$HOGS"); do
  python3 -c 'while True: pass' &
  pids+=($!)
done
echo "load_check: $HOGS CPU hogs started (pids ${pids[*]}) on $(nproc) cores"
start=$(date +%s)
bash scripts/test.sh "$@"
rc=$?
end=$(date +%s)
echo "load_check: exit $rc, $((end - start)) s wall, load average $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$rc"
