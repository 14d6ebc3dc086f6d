#!/usr/bin/env bash
# Install the declared minimum version of every dependency (constraints/floors.txt, exact pins
# of pyproject.toml's floors) into a fresh virtual environment and run the fast tier there:
#
#     bash scripts/floors.sh [--frameworks] [pytest arguments...]
#
# $FLOORS_VENV (default .venv-floors) is created anew each time with $PYTHON (default python3).
# Installed: the project with every extra the tests use (all, dev, docs, autograd, mygrad) and
# the example adapter; --frameworks adds tensorflow and tinygrad. torch 2.2.0 comes from PyPI,
# where Linux wheels are the CUDA build (~3 GB with NVIDIA's libraries; it runs on the CPU).
# Then `pip check`, the versions installed, `python -m pytest -m "not slow"` with any further
# arguments (e.g. -n 2, -x), and the default suite's bfloat16 and float16 cases through every
# implementation (the fast tier does not run them; torch before 2.6 failed them). Exit status:
# pytest's, else the run's (1 for a failed install).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${FLOORS_VENV:-.venv-floors}
EXTRAS=all,dev,docs,autograd,mygrad
if [ "${1:-}" = "--frameworks" ]; then EXTRAS=$EXTRAS,tensorflow,tinygrad; shift; fi
export PIP_CONSTRAINT=$PWD/constraints/floors.txt  # also for the build's own environment
echo "floors: creating $VENV with $(${PYTHON:-python3} --version)"
"${PYTHON:-python3}" -m venv --clear "$VENV"
pip() { "$VENV/bin/python" -m pip "$@"; }
pip install -q --upgrade pip
echo "floors: installing .[$EXTRAS] and examples/adapter-example at constraints/floors.txt"
pip install -q -e ".[$EXTRAS]" -e examples/adapter-example
pip check
"$VENV/bin/python" - <<'PY'
import importlib.metadata as m
names = [line.split("==")[0] for line in open("constraints/floors.txt")  # setuptools: the
         if "==" in line and not line.startswith(("#", "setuptools"))]  # build's, not here
found = []
for name in names:
    try:
        found.append(f"{name} {m.version(name)}")
    except m.PackageNotFoundError:
        pass
print("floors: installed:", ", ".join(found))
PY
set +e
"$VENV/bin/python" -m pytest -m "not slow" "$@"
rc=$?
[ "$rc" -eq 5 ] && { echo "floors: pytest collected no test" >&2; exit 1; }
echo "floors: the default suite's 16-bit cases"
"$VENV/bin/backprop-harness" run --cases '*bfloat16*,*float16*' --out "$VENV/report-16bit" --force
run=$?
[ "$rc" -ne 0 ] && exit "$rc"
exit "$run"
