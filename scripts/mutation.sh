#!/usr/bin/env bash
# Mutation testing of the core: plant small mistakes and check that the tests catch them.
#
#   bash scripts/mutation.sh                      # every module below, one after another
#   bash scripts/mutation.sh harness/judge.py     # one module (or several)
#   bash scripts/mutation.sh --survivors harness/judge.py   # retest only its last survivors
#   bash scripts/mutation.sh harness/report/tables.py:verdict_sentence   # one function
#   .venv/bin/mutmut results                      # then: the survivors; `mutmut show NAME`
#
# mutmut 3 (pip install -e ".[mutation]"), configured in pyproject.toml's [tool.mutmut]: it
# copies harness/ and impls/ into mutants/ (git-ignored), mutates only the modules named in
# only_mutate, records once which of the tests named in pytest_add_cli_args_test_selection
# (the test files of these modules' areas) call each function, and runs every mutant against
# those tests alone, stopping at the first failure. mutmut mutates code inside functions,
# not module-level statements. One worker (--max-children 1): the runs are CPU-heavy.
# mutmut keeps its results in mutants/; each run here retests every mutant of the modules
# named, or with --survivors only those that survived, had no test or are new (their function
# changed) since the last run: a test added since cannot revive a killed mutant.
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
export OMP_NUM_THREADS=1  # the frameworks run one thread each: the tests are small
survivors=0
if [ "${1:-}" = --survivors ]; then survivors=1; shift; fi
if [ $# -eq 0 ]; then
    set -- impls/reference/activations.py impls/reference/losses.py \
        impls/reference/network.py harness/tolerance.py harness/judge.py harness/compare.py \
        harness/spec.py harness/xfails.py harness/report/tables.py:verdict_sentence
fi
mkdir -p mutants
for target in "$@"; do  # a module, or module:function
    path=${target%%:*}
    module=${path%.py}
    module=${module//\//.}
    names=("$module.*")
    [ "$target" = "$path" ] || names=("$module.x_${target#*:}__mutmut_*")
    if [ $survivors = 1 ] && [ -f "mutants/$path.meta" ]; then
        mapfile -t names < <("$PYTHON" -c 'import fnmatch, json, sys
codes = json.load(open(f"mutants/{sys.argv[1]}.meta"))["exit_code_by_key"]
print("\n".join(k for k, c in codes.items()
                if c in (None, 0, 5, 33) and fnmatch.fnmatch(k, sys.argv[2])))' \
            "$path" "${names[0]}")
        [ ${#names[@]} -gt 0 ] || { echo "== $target: no survivors"; continue; }
    fi
    echo "== $target (${#names[@]} names)"
    "$MUTMUT" run --max-children 1 "${names[@]}" > "mutants/${module}.log" 2>&1 \
        || { tail -20 "mutants/${module}.log"; exit 1; }
done
"$PYTHON" - "$MIN_SCORE" "$@" <<'EOF'
import json, sys
from collections import Counter

KILLED = {1, 3, 36, 24, -24, 152, 255}  # a failing test, pytest's internal error, a timeout
low = []
for target in sys.argv[2:]:
    path, _, function = target.partition(":")
    codes = json.load(open(f"mutants/{path}.meta"))["exit_code_by_key"]
    tested = [c for k, c in codes.items() if c not in (None, 34)
              and (not function or f".x_{function}__mutmut_" in k)]
    killed = sum(c in KILLED for c in tested)
    score = 100 * killed / len(tested) if tested else 100.0
    left = Counter({0: "survived", 5: "no tests", 33: "no tests"}.get(c, f"exit {c}")
                   for c in tested if c not in KILLED)
    print(f"{target:42} {killed:4} / {len(tested):4} killed  {score:5.1f}%  "
          + ", ".join(f"{n} {what}" for what, n in left.items()))
    low += [target] if score < float(sys.argv[1]) else []
sys.exit(f"below {sys.argv[1]}%: {', '.join(low)}" if low else 0)
EOF
