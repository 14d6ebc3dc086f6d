#!/usr/bin/env bash
# Mutation testing of the core: plant small mistakes and check that the tests catch them.
#
#   bash scripts/mutation.sh                      # every module below, one after another
#   bash scripts/mutation.sh harness/judge.py     # one module (or several)
#   bash scripts/mutation.sh --survivors harness/judge.py   # retest only its last survivors
#   bash scripts/mutation.sh harness/report/tables.py:verdict_sentence   # one function
#   bash scripts/mutation.sh --sample 8 harness/spec.py   # every 8th mutant (by function, number)
#   bash scripts/mutation.sh harness/probes.py@32 harness/signature.py@8   # a sample per target
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
# --sample N tests and scores only every Nth of a module's mutants, sorted by function name and
# then number, starting with the first: a deterministic sample (docs/mutation.md's scores);
# TARGET@N samples that target alone (of a module:function, the module's sample in it).
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
sample=1
while [ $# -gt 0 ]; do
    case $1 in
        --survivors) survivors=1; shift ;;
        --sample) sample=$2; shift 2 ;;
        *) break ;;
    esac
done
export SAMPLE=$sample
# The names of a module's mutants to test: its sample (every SAMPLE-th by function and number)
# that match the pattern, and with --survivors only those that survived or had no test.
select_names() {
    "$PYTHON" - "$@" <<'EOF'
import fnmatch, json, os, sys
path, pattern, survivors, sample = sys.argv[1:]
codes = json.load(open(f"mutants/{path}.meta"))["exit_code_by_key"]
def number(key):
    function, _, n = key.rpartition("__mutmut_")
    return function, int(n)
names = sorted(codes, key=number)[::int(sample)]
names = [k for k in names if fnmatch.fnmatch(k, pattern)
         and (survivors == "0" or codes[k] in (None, 0, 5, 33))]
print("\n".join(names), end="\n" if names else "")  # none: no line at all
EOF
}
if [ $# -eq 0 ]; then
    set -- impls/reference/activations.py impls/reference/losses.py \
        impls/reference/network.py harness/tolerance.py harness/pinning.py harness/judge.py \
        harness/compare.py \
        harness/spec.py harness/xfails.py harness/report/tables.py:verdict_sentence
fi
mkdir -p mutants
metas=1
for target in "$@"; do t=${target%@*}; [ -f "mutants/${t%%:*}.meta" ] || metas=0; done
if { [ "$sample" != 1 ] || [[ "$*" == *@* ]]; } && [ $metas = 0 ]; then  # the sample is drawn from the mutants: generate them first
    "$PYTHON" -c 'from mutmut import __main__ as m
m.set_mutant_under_test("mutant_generation")
m.copy_src_dir(); m.copy_also_copy_files(); m.setup_source_paths()
m.store_lines_covered_by_tests(); m.create_mutants(1)' > /dev/null
fi
for target in "$@"; do  # a module, or module:function, either with @N
    n=$sample
    [[ $target != *@* ]] || { n=${target##*@}; target=${target%@*}; }
    path=${target%%:*}
    module=${path%.py}
    module=${module//\//.}
    names=("$module.*")
    [ "$target" = "$path" ] || names=("$module.x_${target#*:}__mutmut_*")
    if { [ $survivors = 1 ] || [ "$n" != 1 ]; } && [ -f "mutants/$path.meta" ]; then
        mapfile -t names < <(select_names "$path" "${names[0]}" $survivors "$n")
        [ ${#names[@]} -gt 0 ] || { echo "== $target: nothing to (re)test"; continue; }
    fi
    echo "== $target (${#names[@]} names)"
    SECONDS=0
    "$MUTMUT" run --max-children 1 "${names[@]}" > "mutants/${module}.log" 2>&1 \
        || { tail -20 "mutants/${module}.log"; exit 1; }
    echo "   $SECONDS s"
done
"$PYTHON" - "$MIN_SCORE" "$@" <<'EOF'
import json, os, sys
from collections import Counter

KILLED = {1, 3, 36, 24, -24, 152, 255}  # a failing test, pytest's internal error, a timeout
low = []
for target in sys.argv[2:]:
    target, _, n = target.partition("@")
    sample = int(n or os.environ["SAMPLE"])
    path, _, function = target.partition(":")
    codes = json.load(open(f"mutants/{path}.meta"))["exit_code_by_key"]
    number = lambda key: (key.rpartition("__mutmut_")[0], int(key.rpartition("__mutmut_")[2]))
    codes = {k: codes[k] for k in sorted(codes, key=number)[::sample]}
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
