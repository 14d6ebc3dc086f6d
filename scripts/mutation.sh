#!/usr/bin/env bash
# Mutation testing of the core: plant small mistakes and check that the tests catch them.
#
#   bash scripts/mutation.sh                      # every module below, one after another
#   bash scripts/mutation.sh harness/judge.py     # one module (or several)
#   bash scripts/mutation.sh --survivors harness/judge.py   # retest only its last survivors
#   .venv/bin/mutmut results                      # then: the survivors; `mutmut show NAME`
#
# mutmut 3 (pip install -e ".[mutation]"), configured in pyproject.toml's [tool.mutmut]: it
# copies harness/ and impls/ into mutants/ (git-ignored), mutates only the modules named in
# only_mutate, records once which of the tests named in pytest_add_cli_args_test_selection
# (the test files of these modules' areas) call each function, and runs every mutant against
# those tests alone, stopping at the first failure. mutmut mutates code inside functions,
# not module-level statements. One worker (--max-children 1): the runs are CPU-heavy.
# mutmut keeps its results in mutants/; each run here retests every mutant of the modules
# named, or with --survivors only those that survived (or had no test) last time: a test
# added since cannot revive a killed mutant. Remove mutants/ after changing the code.
#
# Prints, per module, killed / mutants tested and the score; a timeout counts as killed.
# Exits non-zero when a module scores below MIN_SCORE percent (default 90).
# The survivors left on purpose, each an equivalent mutant, are listed with a reason in
# docs/mutation.md, with the scores.
set -euo pipefail
cd "$(dirname "$0")/.."
MUTMUT=${MUTMUT:-.venv/bin/mutmut}
PYTHON=${PYTHON:-.venv/bin/python}
MIN_SCORE=${MIN_SCORE:-90}
survivors=0
if [ "${1:-}" = --survivors ]; then survivors=1; shift; fi
if [ $# -eq 0 ]; then
    set -- impls/reference/activations.py impls/reference/losses.py \
        impls/reference/network.py harness/tolerance.py harness/judge.py harness/compare.py \
        harness/spec.py harness/xfails.py
fi
mkdir -p mutants
for path in "$@"; do
    module=${path%.py}
    module=${module//\//.}
    names=("$module.*")
    if [ $survivors = 1 ]; then
        mapfile -t names < <("$PYTHON" -c 'import json, sys
codes = json.load(open(f"mutants/{sys.argv[1]}.meta"))["exit_code_by_key"]
print("\n".join(k for k, c in codes.items() if c in (0, 5, 33)))' "$path")
        [ ${#names[@]} -gt 0 ] || { echo "== $path: no survivors"; continue; }
    fi
    echo "== $path (${#names[@]} names)"
    "$MUTMUT" run --max-children 1 "${names[@]}" > "mutants/${module}.log" 2>&1 \
        || { tail -20 "mutants/${module}.log"; exit 1; }
done
"$PYTHON" - "$MIN_SCORE" "$@" <<'EOF'
import json, sys
from collections import Counter

KILLED = {1, 3, 36, 24, -24, 152, 255}  # a failing test, pytest's internal error, a timeout
low = []
for path in sys.argv[2:]:
    codes = json.load(open(f"mutants/{path}.meta"))["exit_code_by_key"].values()
    tested = [c for c in codes if c not in (None, 34)]
    killed = sum(c in KILLED for c in tested)
    score = 100 * killed / len(tested) if tested else 100.0
    left = Counter({0: "survived", 5: "no tests", 33: "no tests"}.get(c, f"exit {c}")
                   for c in tested if c not in KILLED)
    print(f"{path:32} {killed:4} / {len(tested):4} killed  {score:5.1f}%  "
          + ", ".join(f"{n} {what}" for what, n in left.items()))
    low += [path] if score < float(sys.argv[1]) else []
sys.exit(f"below {sys.argv[1]}%: {', '.join(low)}" if low else 0)
EOF
