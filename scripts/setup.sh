#!/usr/bin/env bash
# Create .venv (or $VENV) and install backprop-harness with every framework and the test tools.
# torch is pinned to the CPU build first, so that the project's range (torch>=2.2) is already met.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "torch==2.13.0"
"$VENV/bin/python" -m pip install -q -e ".[all,dev]"
"$VENV/bin/python" -m pip install -q ./examples/adapter-example
# the builds leave their scratch in the source tree; the installed metadata lives in $VENV
rm -rf backprop_harness.egg-info examples/adapter-example/build examples/adapter-example/*.egg-info
