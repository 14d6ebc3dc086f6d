"""Implementations found through the entry-point group, built-in and third-party alike."""

import os
import json
import subprocess
import sys
from dataclasses import replace

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
    spec = replace(spec, loss="squared_error")  # its suite loss may be one einsum lacks too
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


# ---- adapter development: an adapter run without packaging it, kept out, shadowed

ADAPTER = '''
from impls.reference_impl import ReferenceImpl


class Mine(ReferenceImpl):
    """The reference under another name, with a planted sign error in v when asked."""

    name = "mine"
'''


def test_an_adapter_runs_by_module_and_class_or_by_path_without_packaging(tmp_path,
                                                                          monkeypatch, capsys):
    """`--impl module:Class` (its folder the current one) and `--impl path/adapter.py`: each
    registers the class under its own name, in the environment worker processes inherit."""
    from conftest import cli_in_process
    (tmp_path / "mine_adapter.py").write_text(ADAPTER)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(registry.LOCAL, raising=False)
    for how in ("mine_adapter:Mine", str(tmp_path / "mine_adapter.py")):
        out = cli_in_process(capsys, "run", "--impl", how, "--cases", "seed-2-2-2-float64",
                             "--jobs", "2", "--out", str(tmp_path / "r"), "--force")
        assert out.returncode == 0, out.stdout + out.stderr
        assert "\nmine " in out.stdout  # the class's name, traced in a worker process
        assert f"mine={tmp_path / 'mine_adapter.py'}:Mine" in os.environ[registry.LOCAL]
    registry.discover(refresh=True)
    bad = cli_in_process(capsys, "run", "--impl", "mine_adapter:Nope", "--out",
                         str(tmp_path / "r"), "--force")
    assert bad.returncode == 2 and "Nope has no class attribute `name`" in bad.stderr


def test_an_adapter_named_again_by_its_code_stops_the_worker_of_the_one_before(
        tmp_path, monkeypatch):
    """`--impl path.py` names its code afresh: the worker loaded for it before is stopped
    then, not left open until forget()."""
    (tmp_path / "mine_adapter.py").write_text(ADAPTER)
    monkeypatch.delenv(registry.LOCAL, raising=False)
    path = str(tmp_path / "mine_adapter.py")
    try:
        [name] = registry.expand([path])
        before = registry.get(name).impl.worker.proc
        assert before.poll() is None
        assert registry.expand([path]) == [name]
        assert before.poll() is not None
    finally:
        registry.forget()


def test_an_excluded_plugin_is_left_out_of_default_runs_only(plugins, monkeypatch):
    from harness.conformance import choose_impls
    every = [i.name for i in choose_impls(None, "reference")]
    assert "bug-sign" in every
    monkeypatch.setenv(registry.EXCLUDE, "bug-*,many")
    kept = [i.name for i in choose_impls(None, "reference")]
    assert not [n for n in kept if n.startswith("bug-") or n == "many"]
    assert set(every) - set(kept) >= {"bug-sign", "many"}
    assert [i.name for i in choose_impls(["bug-sign"], "reference")] == ["reference", "bug-sign"]
    monkeypatch.delenv(registry.EXCLUDE)  # `run --exclude` puts it there, for the workers too
    from harness.cli import build_parser
    build_parser().parse_args(["run", "--exclude", "bug-*", "--exclude", "many"])
    assert os.environ[registry.EXCLUDE] == "bug-*,many"


def test_a_folder_that_shadows_a_plugin_is_named_in_one_line(plugins, tmp_path, monkeypatch):
    """A folder named like the plugin's module, first on the path: the adapter is
    unavailable with a reason that names the folder, not a bare "no attribute"."""
    import sys
    (tmp_path / "work" / "planted").mkdir(parents=True)
    (tmp_path / "work" / "planted" / "__init__.py").write_text("")
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.syspath_prepend(str(tmp_path / "work"))
    monkeypatch.delitem(sys.modules, "planted", raising=False)
    info = registry.discover(refresh=True)["bug-sign"]
    assert not info.available and "\n" not in info.reason
    assert "has no attribute" in info.reason and "shadows the installed package planted" in \
        info.reason and str(tmp_path / "work" / "planted") in info.reason


@needs("jax")
def test_impls_describes_a_frameworks_modes_in_one_worker_and_each_traces_in_its_own():
    """`impls` (registry.listed) imports jax once for jax and its modes: jax-eager is
    described by jax's worker, with its own settings, and traces in a worker of its own."""
    registry.forget()
    try:
        infos = registry.listed(["jax", "jax-eager", "reference"])
        jax, eager = infos["jax"].impl, infos["jax-eager"].impl
        assert eager.worker is None and jax.worker is not None
        assert (eager.version(), eager.settings()["mode"]) == (jax.version(), "eager")
        assert infos["reference"].available and not getattr(infos["reference"].impl, "walled",
                                                             False)
        spec = default_suite(pattern="seed-2-2-2-float64")[0]
        assert run_one("jax-eager", spec).status == "ok"
        assert eager.worker.proc.pid != jax.worker.proc.pid
    finally:
        registry.forget()
