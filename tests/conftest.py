"""Shared fixtures: the seed's network, random specs, test plugins behind entry points, and
`needs(...)`, the skip mark of tests whose framework or package is not installed."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness import registry
from harness.errors import HarnessError
from harness.spec import spec_from_dict
from harness.suite import SEED_NETWORK

PLUGINS = Path(__file__).parent / "plugins"

if "mutmut" in sys.modules:  # under scripts/mutation.sh: every implementation here,
    # where mutmut sees the calls (a worker process of the wall, started in another folder,
    # cannot find mutmut's configuration, and its calls are not recorded)
    registry.set_wall(False)

# What a test may need beyond numpy and pandas. A name is an implementation (torch, jax, exact,
# einsum: harness.registry.get(name).available, so torch and jax are checked as such) or one of
# MODULES (found with importlib, nothing imported).
MODULES = ("mpmath", "hypothesis", "dask", "dask.distributed", "matplotlib")
EXTRAS = {"torch": "torch", "jax": "jax", "exact": "exact", "mpmath": "exact",
          "autograd": "autograd", "mygrad": "mygrad", "tensorflow": "tensorflow",
          "tensorflow-xla": "tensorflow", "tinygrad": "tinygrad", "thinc": "thinc",
          "mindspore": "mindspore", "hypothesis": "fuzz", "dask": "dask", "dask.distributed": "dask",
          "matplotlib": "plots"}  # the name's extra: pip install 'backprop-harness[EXTRA]'
INSTALL = {"einsum": "pip install -e examples/adapter-example"}  # names outside the extras
LABELS = {"exact": "mpmath for exact", "einsum": "the example adapter einsum"}

# The slowest test files, slowest first (pytest --durations=0, summed per file). pytest-xdist
# hands whole files to its workers in collection order (--dist loadfile with
# --no-loadscope-reorder, pyproject.toml), so these start first and the many short files fill
# in at the end, rather than one long file starting last and running alone.
SLOW_FIRST = ["test_wall.py", "test_pytest_plugin_faults.py", "test_pytest_plugin.py",
              "test_hardening.py",
              "test_readme.py", "test_cli.py", "test_trust.py", "test_conformance_suite.py",
              "test_reproduce.py", "test_adapters.py", "test_fuzz.py", "test_batched.py",
              "test_run.py", "test_report_html.py", "test_suite.py", "test_registry.py"]


def pytest_collection_modifyitems(items):
    if "mutmut" in sys.modules:  # a mutant: its fastest tests first (stops at the first failure)
        from mutmut.state import state
        took = state().duration_by_test
        items.sort(key=lambda item: took.get(item.nodeid, float("inf")))
        return
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: in-file order kept


def _module_found(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # a dotted name whose parent is missing
        return False


def available(name: str) -> bool:
    """Whether `name`, an implementation or one of MODULES, can be used here."""
    if name in MODULES:
        return _module_found(name)
    try:
        return registry.get(name).available
    except HarnessError:  # not registered: a plugin that is not installed
        return False


def needs(*names: str):
    """A mark that skips a test unless every name is available; its reason names what is
    missing and how to install it: "needs torch (pip install 'backprop-harness[torch]')"."""
    missing = [name for name in dict.fromkeys(names) if not available(name)]
    extras = ",".join(dict.fromkeys(EXTRAS[n] for n in missing if n in EXTRAS))
    hints = [f"pip install 'backprop-harness[{extras}]'"] if extras else []
    hints += [INSTALL[n] for n in missing if n in INSTALL]
    reason = f"needs {', '.join(LABELS.get(n, n) for n in missing)} ({'; '.join(hints)})"
    return pytest.mark.skipif(bool(missing), reason=reason)


def impl_params(*names: str) -> list:
    """Implementation names as parameters, each skipped where it is unavailable."""
    return [pytest.param(name, marks=needs(name), id=name) for name in names]


def cli_in_process(capsys, *args) -> subprocess.CompletedProcess:
    """`backprop-harness ARGS` run in this process (main(), argparse's exit caught), with what
    a subprocess would give: for commands that end before tracing anything, ~1.5 s of CPU
    cheaper than a new interpreter. test_hardening's teardown test runs the real entry."""
    from harness.cli import main
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["backprop-harness", *args], code, out, err)


@pytest.fixture
def seed_spec():
    return spec_from_dict(SEED_NETWORK)


def random_spec(sizes=(3, 5, 4, 2), activation="tanh", loss="squared_error", *, seed=0,
                batch=3, dtype="float64", reduction="sum", steps=1, lr=0.1, **generate):
    """A generated spec (fixed seed), with a sigmoid output layer for binary cross-entropy."""
    acts = list(activation) if isinstance(activation, (list, tuple)) else \
        [activation] * (len(sizes) - 1)
    if loss == "binary_cross_entropy":
        acts[-1] = "sigmoid"
    if loss == "poisson":  # a rate: u > 0
        acts[-1] = "softplus"
    return spec_from_dict({"name": f"t-{'-'.join(acts)}-{loss}", "dtype": dtype, "loss": loss,
                           "reduction": reduction, "learning_rate": lr, "steps": steps,
                           "generate": {"sizes": list(sizes), "activation": acts,
                                        "batch": batch, "seed": seed, **generate}})


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def register(tmp_path, monkeypatch, entry_points: dict[str, str]):
    """Register implementations through a real entry-point group (a .dist-info on sys.path
    and PYTHONPATH, beside tests/plugins), for this process and its subprocesses; yields the
    site folder, then unregisters them."""
    site = tmp_path / "site"
    dist = site / "planted_plugins-0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: planted-plugins\nVersion: 0.0\n")
    lines = [f"{k} = {v}" for k, v in entry_points.items()]
    (dist / "entry_points.txt").write_text("[backprop_harness.impls]\n" + "\n".join(lines) + "\n")
    for p in (str(site), str(PLUGINS)):
        monkeypatch.syspath_prepend(p)
    path = os.pathsep.join([str(site), str(PLUGINS), os.environ.get("PYTHONPATH", "")])
    monkeypatch.setenv("PYTHONPATH", path)
    registry.forget()
    yield site
    monkeypatch.undo()
    registry.forget()


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """tests/plugins/planted.py's implementations, registered (see register())."""
    from plugins.planted import ENTRY_POINTS
    yield from register(tmp_path, monkeypatch, ENTRY_POINTS)


def run_plugin(pytester, *args, timeout=300):
    """pytest with the plugin in a separate process (pytester's): torch cannot be imported
    twice, which pytester's in-process runs would do (they drop the modules they imported).
    hypothesis's own pytest plugin, 0.7 s of imports, is left out."""
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest",
                                         "-q", *args, timeout=timeout)
