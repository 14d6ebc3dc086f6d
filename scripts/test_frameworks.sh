#!/usr/bin/env bash
# The outside frameworks that install here in reasonable time (tensorflow-cpu, thinc), in a
# virtual environment of their own ($VENV_FRAMEWORKS, default .venv-frameworks: a run includes
# every installed framework, so the main environment stays without them), through the tests
# that need them: tests/test_frameworks.py (each adapter against the reference and mpmath, the
# seed and regions tier, the findings' reproducers), tests/test_thinc_mindspore.py and
# tests/test_records.py. MindSpore is left out: its CPU wheel needs NumPy 1.x. CI runs it after
# scripts/test.sh. tinygrad is left out: it needs clang (apt-get install clang) and compiles a
# kernel per shape (minutes for the tier); BH_FRAMEWORKS=tensorflow-cpu,thinc,tinygrad adds it.
set -uo pipefail
cd "$(dirname "$0")/.."
export VENV=${VENV_FRAMEWORKS:-.venv-frameworks}
FRAMEWORKS=${BH_FRAMEWORKS:-tensorflow-cpu,thinc}  # pip's names; the extra `tensorflow` is the full build
BH_EXTRAS=all,dev,autograd,mygrad bash scripts/setup.sh || exit 1
echo "test_frameworks: $FRAMEWORKS"
"$VENV/bin/python" -m pip install -q ${FRAMEWORKS//,/ } || exit 1
"$VENV/bin/python" -m pytest tests/test_frameworks.py tests/test_thinc_mindspore.py \
  tests/test_records.py "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "scripts/test_frameworks.sh: pytest collected no test" >&2
  exit 1
fi
exit "$rc"
