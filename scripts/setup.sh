#!/usr/bin/env bash
# Create .venv (or $VENV) and install backprop-harness with every framework, the test tools and
# the docs tools. torch comes first, pinned, so that the project's range (torch>=2.6) is met:
# on Linux its CPU build unless BH_TORCH=cuda asks for the CUDA one (PyPI's Linux default).
# Says what it installs and about how much it downloads; a second run installs nothing new, and
# when nothing it installs from has changed since (pyproject.toml, the example adapter, the
# extras, BH_TORCH) it skips pip altogether ($VENV/.setup-done records what was installed).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
TORCH=2.13.0
CPU_INDEX=https://download.pytorch.org/whl/cpu
BH_TORCH=${BH_TORCH:-}  # cpu or cuda; unset: keep the torch $TORCH already in $VENV, else cpu
say() { echo "setup: $*"; }
case "$BH_TORCH" in
  ""|cpu|cuda) ;;
  *) echo "setup: BH_TORCH must be cpu or cuda, not '$BH_TORCH'" >&2; exit 2 ;;
esac

installed() { "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("torch"))' \
              2>/dev/null || true; }
EXTRAS=${BH_EXTRAS:-all,dev,docs}  # scripts/test.sh adds the light outside frameworks
STAMP="$VENV/.setup-done"  # "<sources' hash> <BH_TORCH or any> <extras installed>"
sources=$(cat pyproject.toml $(find examples/adapter-example -type f -not -path '*/build/*' \
          -not -path '*.egg-info*' -not -path '*__pycache__*' | sort) | sha256sum | cut -c1-16)
done_extras=""  # what an earlier setup from these sources, with this BH_TORCH, installed
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ]; then
  read -r done_sources done_torch done_extras < "$STAMP" || true
  [ "$done_sources $done_torch" = "$sources ${BH_TORCH:-any}" ] || done_extras=""
  missing=$(tr , '\n' <<< "$EXTRAS" | grep -vxF -f <(tr , '\n' <<< "$done_extras") || true)
  if [ -n "$done_extras" ] && [ -z "$missing" ]; then
    say "done: torch $(installed) in $VENV (up to date: nothing changed since its last setup; rm $STAMP to force one)"
    exit 0
  fi
fi

[ -x "$VENV/bin/python" ] || { say "creating $VENV"; python3 -m venv "$VENV"; }
pip() { "$VENV/bin/python" -m pip "$@"; }
pip install -q --upgrade pip

have=$(installed)
if [ "$(uname -s)" != Linux ]; then  # PyPI's macOS and Windows wheels are the CPU build
  if [ "${have%%+*}" != "$TORCH" ]; then
    say "torch $TORCH (~100 MB download)"
    pip install -q "torch==$TORCH"
  fi
elif [ "$BH_TORCH" = cuda ]; then
  if [ "${have%%+*}" != "$TORCH" ] || [ "$have" = "$TORCH+cpu" ]; then
    say "torch $TORCH, CUDA build from PyPI (BH_TORCH=cuda): ~900 MB, and ~2.5 GB of NVIDIA's libraries"
    [ -z "$have" ] || pip uninstall -q -y torch
    pip install -q "torch==$TORCH"
  fi
elif [ "$have" != "$TORCH+cpu" ] && { [ "$BH_TORCH" = cpu ] || [ "${have%%+*}" != "$TORCH" ]; }; then
  say "torch $TORCH, CPU build (~190 MB download, ~750 MB installed; BH_TORCH=cuda for the CUDA one)"
  [ -z "$have" ] || pip uninstall -q -y torch
  # a CPU wheel that pip's own configuration offers (a local wheel folder, a mirror) first,
  # else PyTorch's CPU index
  pip install -q "torch==$TORCH+cpu" 2>/dev/null ||
    pip install -q "torch==$TORCH+cpu" --index-url "$CPU_INDEX"
fi

say "backprop-harness[$EXTRAS]: jax, mpmath, matplotlib, hypothesis, dask, pytest, mkdocs (~200 MB download, ~1.1 GB installed)"
pip install -q -e ".[$EXTRAS]"
say "the example adapter (examples/adapter-example, implementation einsum)"
pip install -q ./examples/adapter-example
# the builds leave their scratch in the source tree; the installed metadata lives in $VENV
rm -rf backprop_harness.egg-info examples/adapter-example/build examples/adapter-example/*.egg-info
echo "$sources ${BH_TORCH:-any} $(tr , '\n' <<< "$EXTRAS,$done_extras" | grep . | sort -u |
                                  paste -sd,)" > "$STAMP"
say "done: torch $(installed) in $VENV"
