#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the whole test suite. pytest's exit 5 (no test collected)
# is a failure here, never a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
"${VENV:-.venv}/bin/python" -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "scripts/test.sh: pytest collected no test" >&2
  exit 1
fi
exit "$rc"
