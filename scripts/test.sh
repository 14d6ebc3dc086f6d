#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the whole test suite. pytest's exit 5 (no test collected)
# is a failure here, never a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
# the light outside frameworks (autograd, mygrad) too, so that their tests run; tensorflow's
# and tinygrad's skip with the install line unless they are installed
BH_EXTRAS=all,dev,docs,autograd,mygrad bash scripts/setup.sh || exit 1
"${VENV:-.venv}/bin/python" -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "scripts/test.sh: pytest collected no test" >&2
  exit 1
fi
exit "$rc"
