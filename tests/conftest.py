"""Shared fixtures: the seed's network, random specs, and test plugins behind entry points."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from harness import registry
from harness.spec import spec_from_dict
from harness.suite import SEED_NETWORK

PLUGINS = Path(__file__).parent / "plugins"


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
    return spec_from_dict({"name": f"t-{'-'.join(acts)}-{loss}", "dtype": dtype, "loss": loss,
                           "reduction": reduction, "learning_rate": lr, "steps": steps,
                           "generate": {"sizes": list(sizes), "activation": acts,
                                        "batch": batch, "seed": seed, **generate}})


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """Register tests/plugins/planted.py's implementations through a real entry-point group
    (a .dist-info on sys.path and PYTHONPATH), for this process and its subprocesses."""
    from plugins.planted import ENTRY_POINTS
    site = tmp_path / "site"
    dist = site / "planted_plugins-0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: planted-plugins\nVersion: 0.0\n")
    lines = [f"{k} = {v}" for k, v in ENTRY_POINTS.items()]
    (dist / "entry_points.txt").write_text("[backprop_harness.impls]\n" + "\n".join(lines) + "\n")
    for p in (str(site), str(PLUGINS)):
        monkeypatch.syspath_prepend(p)
    path = os.pathsep.join([str(site), str(PLUGINS), os.environ.get("PYTHONPATH", "")])
    monkeypatch.setenv("PYTHONPATH", path)
    registry.discover(refresh=True)
    yield site
    monkeypatch.undo()
    registry.discover(refresh=True)

