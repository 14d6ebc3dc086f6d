#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the main job: the default suite through every implementation.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec "${VENV:-.venv}/bin/backprop-harness" run "$@"
