"""Implementations found through the entry-point group, built-in and third-party alike."""

import json
import subprocess
import sys

import pytest

from conftest import needs
from harness import registry
from harness.errors import HarnessError
from harness.runner import run_one
from harness.suite import default_suite


@needs("torch", "jax", "exact")
def test_builtins_are_registered_and_available():
    infos = registry.discover()
    for name in ("reference", "torch", "jax", "numeric", "exact"):
        assert infos[name].available, infos[name].reason
        assert infos[name].version()


def test_unknown_name_lists_what_is_installed():
    with pytest.raises(HarnessError, match=r"unknown implementation 'no-such-impl-xyz' "
                                           r"\(installed: reference, torch, jax, numeric, exact"):
        registry.get("no-such-impl-xyz")


def test_a_third_party_plugin_is_discovered_and_run(plugins, seed_spec):
    info = registry.get("bug-sign")
    assert info.available and info.version() == "planted"
    outcome = run_one("bug-sign", seed_spec)
    assert outcome.status == "ok"
    assert outcome.trace.steps[0].layers[0].v[0, 0] < 0  # the planted sign flip


@pytest.mark.slow
def test_a_plugin_that_fails_to_import_is_unavailable_with_the_reason(plugins):
    info = registry.get("broken-import")
    assert not info.available
    assert "planted_missing_module" in info.reason
    listing = subprocess.run([sys.executable, "-m", "harness", "impls"], capture_output=True,
                             text=True, timeout=120)
    assert listing.returncode == 0
    line = next(row for row in listing.stdout.splitlines() if row.startswith("broken-import"))
    assert "unavailable" in line and "planted_missing_module" in line


@needs("einsum")
def test_the_example_package_registers_through_its_own_entry_point():
    info = registry.get("einsum")
    assert info.available, info.reason
    assert info.supports["dtypes"] == ["float64"]
    spec32 = default_suite("float32", "seed-*")[0]
    assert run_one("einsum", spec32).status == "unsupported"


@needs("einsum")
def test_unsupported_reasons_come_from_supports():
    info = registry.get("einsum")
    spec = default_suite("float64", "act-gelu-float64")[0]
    assert registry.unsupported_reason(info, spec) == "activation gelu not supported by einsum"


@pytest.mark.slow
@needs("torch", "einsum", "exact")
def test_impls_command_lists_versions_and_support():
    out = subprocess.run([sys.executable, "-m", "harness", "impls"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0
    rows = {line.split()[0]: line for line in out.stdout.splitlines()}
    import torch
    assert torch.__version__ in rows["torch"] and " available " in rows["torch"]
    assert "supports dtypes: float64" in rows["einsum"]
    assert "available" in rows["exact"]
    # numeric declares no limits but declines cases near kinks (its unsupported() and trace)
    assert "declines some cases" in rows["numeric"] and "everything" not in out.stdout
    assert "declines" not in rows["reference"]


@pytest.mark.slow
@needs("torch")
def test_torch_adapter_loads_without_importing_torch_until_its_first_call():
    """Loading is cheap (torch's import, ~2 s, waits for the first call), so `impls` and an
    --in-process run (jax compiles meanwhile) do not pay for it first; behind the wall (the
    default) the run never imports torch at all: its worker does."""
    code = ("import sys\nfrom harness import registry\nregistry.set_wall(False)\n"
            "info = registry.get('torch')\n"
            "assert info.available and 'torch' not in sys.modules, info.reason\n"
            "print(info.version())\nassert 'torch' in sys.modules\n"
            "registry.set_wall(True)\n"
            "assert registry.get('torch').version() == sys.modules['torch'].__version__\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    import torch
    assert out.stdout.strip() == torch.__version__


@pytest.mark.slow
@needs("torch")
def test_jobs_keep_torch_out_of_the_parent_process(tmp_path):
    """Under --jobs the workers trace; the parent describes torch from a trace (its version
    and settings as plain values) and never imports torch itself."""
    code = ("import sys\nfrom harness.cli import main\n"
            f"rc = main(['run', '--impl', 'torch', '--jobs', '2', '--cases', 'seed-*', "
            f"'--out', {str(tmp_path / 'r')!r}])\n"
            "assert rc == 0 and 'torch' not in sys.modules, rc\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    import torch
    doc = json.loads((tmp_path / "r" / "run.json").read_text())
    described = doc["implementations"]["torch"]
    assert described["version"] == torch.__version__ == described["settings"]["torch"]
    assert described["settings"]["threads"] >= 1


@pytest.mark.slow
def test_a_missing_torch_makes_the_adapter_unavailable_with_one_line():
    """torch not installed (a finder that refuses it, in this process: --in-process): `run
    --impl torch` exits 2 naming it."""
    code = ("import sys\n"
            "class NoTorch:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.partition('.')[0] == 'torch':\n"
            "            raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n"
            "sys.meta_path.insert(0, NoTorch())\n"
            "from harness.cli import main\n"
            "sys.exit(main(['run', '--impl', 'torch', '--cases', 'seed-*', '--in-process']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "backprop-harness: error: implementation 'torch' is unavailable: cannot import torch: "
        "No module named 'torch'"]
