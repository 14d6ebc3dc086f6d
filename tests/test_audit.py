"""The accuracy audit: implementations against exact over each function's hard regions."""

import json

import numpy as np
import pytest

from conftest import available, needs
from harness.audit import ACCURATE, activation_grid, run_audit
from harness.cli import main
from impls.reference import LOSSES, activation

pytestmark = needs("exact")


@needs("torch", "jax")
def test_saturated_sigmoid_is_a_shared_inaccuracy_the_accurate_form_avoids():
    """sigmoid's t = h(1 - h) at d = 40 in float64: 0 from reference (the seed's form), torch
    and jax, against 4.25e-18; the engine's accurate form keeps every digit."""
    audit = run_audit(["torch", "jax"], ("float64",), ["sigmoid"], [])
    found = [f for f in audit.findings if (f["function"], f["quantity"]) == ("sigmoid", "t")]
    assert found and found[0]["from"] <= 40 <= found[0]["to"]
    assert {k: v for k, v in found[0]["max_rel"].items()} == \
        {"reference": 1.0, "torch": 1.0, "jax": 1.0}
    assert found[0]["accurate_form_max_rel"] < 1e-15
    at40 = audit.points[(audit.points.x > 39) & (audit.points.x < 44)
                        & (audit.points.quantity == "t")]
    assert set(at40[at40.rel == 1.0].impl) == {"reference", "torch", "jax"}
    assert (at40[at40.impl == ACCURATE].rel < 1e-15).all()


@needs("jax")
def test_one_implementation_alone_is_named_apart():
    audit = run_audit(["jax"], ("float64",), ["elu"], [])
    assert not audit.findings
    alone = [f for f in audit.alone if f["impl"] == "jax" and f["quantity"] == "t"]
    assert alone and alone[0]["to"] < -10 and alone[0]["max_rel"] == 1.0


def test_the_accurate_forms_agree_with_the_seed_forms_where_neither_cancels():
    d = np.array([-3.0, -0.5, 0.25, 1.0, 2.5])
    for name in ("sigmoid", "tanh", "silu", "gelu", "gelu_tanh"):
        seed, accurate = activation(name), activation(name, form="accurate")
        np.testing.assert_allclose(accurate.f(d), seed.f(d), rtol=1e-13)
        np.testing.assert_allclose(accurate.t(d, seed.f(d)), seed.t(d, seed.f(d)), rtol=1e-12)
    with pytest.raises(ValueError, match="unknown form"):
        activation("sigmoid", form="exactish")


def test_the_grid_covers_the_regions_that_matter():
    regions = {r for r, _ in activation_grid("float32")}
    assert regions == {"around 0", "moderate", "kink", "saturation", "subnormal"}
    xs = [x for _, x in activation_grid("float64")]
    assert min(xs) <= -800 and max(xs) >= 800 and 1e-20 in xs and 0.0 in xs


@pytest.mark.slow
def test_the_command_writes_a_table_a_plot_and_json(tmp_path, capsys):
    assert main(["audit", "--impl", "reference", "--dtype", "float32", "--function", "tanh",
                 "mse", "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "measurements of reference, reference-accurate against exact" in out
    assert "report:" in out
    doc = json.loads((tmp_path / "a" / "audit.json").read_text())
    assert {row["function"] for row in doc["table"]} == {"tanh", "mse"}
    md = (tmp_path / "a" / "audit.md").read_text()
    assert "## Shared inaccuracies" in md and "| tanh | float32 | t | saturation |" in md
    plot = tmp_path / "a" / "tanh-float32.svg"
    assert plot.read_text().startswith("<?xml") or not available("matplotlib")


def test_an_adapter_that_hangs_is_bounded_by_the_audits_timeout(plugins, tmp_path, capsys):
    """`audit --timeout` bounds each trace as run's does: a hanging adapter is stopped (its
    worker killed) and left out, and the audit is written."""
    import time
    start = time.monotonic()
    assert main(["audit", "--impl", "fault-sleep", "--function", "elu",
                 "--dtype", "float64", "--timeout", "1", "--out", str(tmp_path / "a")]) == 0
    assert time.monotonic() - start < 60
    assert (tmp_path / "a" / "audit.json").exists()


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_has_an_audit_grid_the_spec_takes(loss):
    """The loss grid builds valid specs for every loss (poisson through softplus, hinge's
    targets +-1, kl's y >= 0: the records' outputs and targets), two outputs a point."""
    from harness.audit import loss_specs
    for dtype in ("float64", "float32"):
        specs = loss_specs(loss, dtype)
        assert specs and all(spec.sizes[-1] == 2 for _, spec in specs)
