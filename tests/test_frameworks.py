"""The outside-framework adapters (autograd, mygrad, tensorflow, tensorflow-xla, tinygrad):
each against the reference engine and mpmath, their known deviations, their findings'
reproducers, and their cost at start-up (none). Each test skips with the reason where its
framework is not installed."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import impl_params, needs, random_spec
from harness import registry
from harness.batched.drawing import make_stack
from harness.judge import judge
from harness.registry import get, unsupported_reason
from harness.runner import run_one
from harness.suite import default_suite
from impls.reference import ACTIVATIONS, LOSSES

ROOT = Path(__file__).resolve().parents[1]
FINDINGS = ROOT / "docs" / "findings"
FRAMEWORKS = ("autograd", "mygrad", "tensorflow", "tinygrad")
MODULES = {"autograd": "autograd", "mygrad": "mygrad", "tensorflow": "tensorflow",
           "tensorflow-xla": "tensorflow", "tinygrad": "tinygrad"}
NORMWISE = {"float64": 1e-12, "float32": 1e-5}
# The framework's own defects on ordinary inputs (docs/findings/outside-frameworks.md): these
# cases fail against the reference, which the test asserts, so a fix upstream shows as XPASS.
KNOWN = {("tensorflow", "gelu", "float64"), ("tensorflow", "gelu_tanh", "float64"),
         ("tensorflow", "leaky_relu", "float64"), ("tensorflow-xla", "gelu", "float64"),
         ("tensorflow-xla", "gelu_tanh", "float64"), ("tensorflow-xla", "leaky_relu", "float64"),
         ("tinygrad", "gelu", "float64"), ("tinygrad", "selu", "float64"),
         ("tinygrad", "selu", "float32")}


def _check(impl, spec):
    """The verdict against the reference, skipping a spec the implementation declines."""
    reason = unsupported_reason(get(impl), spec)
    if reason:
        pytest.skip(reason)
    result = judge(spec, run_one("reference", spec), other := run_one(impl, spec))
    return result, other


def _params(dtypes=("float64", "float32")):
    return [pytest.param(impl, dtype, marks=needs(impl), id=f"{impl}-{dtype}")
            for impl in ("autograd", "mygrad", "tensorflow", "tensorflow-xla", "tinygrad")
            for dtype in dtypes]


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("impl, dtype", _params())
def test_every_activation_agrees_with_the_reference(impl, dtype, act):
    if (impl, act, dtype) in KNOWN:
        pytest.xfail(f"{impl}'s {act} in {dtype}: docs/findings/{impl.split('-')[0]}.md")
    spec = random_spec([4, 6, 5, 3], act, "squared_error", seed=11, batch=4, dtype=dtype,
                       steps=2, slope=0.05)
    result, other = _check(impl, spec)
    assert result.status == "pass", result.message
    for t in result.tensors:  # independent of the tolerance model: normwise agreement
        assert t.norm_rel <= NORMWISE[dtype], (t.label, t.norm_rel)
    assert other.trace.steps[0].layers[0].v.dtype == np.dtype(dtype)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("impl, dtype", _params())
def test_every_loss_and_reduction_agrees_with_the_reference(impl, dtype, loss, reduction):
    spec = random_spec([5, 7, 4], ["tanh", "identity"], loss, seed=12, batch=5, dtype=dtype,
                       reduction=reduction, steps=2)
    result, _ = _check(impl, spec)
    assert result.status == "pass", result.message


@pytest.mark.parametrize("impl", impl_params("autograd", "mygrad", "tensorflow", "tinygrad"))
def test_the_seed_network_matches_the_hand_derived_loss(impl, seed_spec):
    trace = get(impl).impl.trace(seed_spec)
    assert float(trace.steps[0].loss) == pytest.approx(0.298371109, abs=5e-10)


@pytest.mark.parametrize("impl", impl_params("autograd", "mygrad"))
def test_composed_silu_does_not_overflow_where_the_derivative_is_zero(impl):
    """silu at d = -1e20 under an upstream gradient of ~1e38: the product rule would form
    p * d = inf and inf * sigmoid'(d) = NaN; the adapters' silu gives the true 0."""
    spec = default_suite("float32", "overflow-silu-float32")[0]
    v = get(impl).impl.trace(spec).steps[0].layers[0].v
    assert np.all(np.isfinite(v)) and np.all(v == 0)


@pytest.mark.parametrize("impl", impl_params("autograd", "mygrad"))
def test_the_elu_finding_is_in_the_ledger(impl):
    """regions-elu fails against the reference (the framework's elu, docs/findings) and the
    shipped ledger turns it into a known deviation: a run passes."""
    from harness.conformance import run_suite
    run = run_suite(default_suite(None, "regions-elu-*"), [impl], "reference")
    statuses = {r.status for r in run.results if r.impl == impl}
    assert statuses == {"xfail"}, statuses


@pytest.mark.parametrize("impl", impl_params("autograd", "mygrad", "tensorflow"))
def test_stacked_networks_trace_as_each_network_alone(impl):
    stack = make_stack([3, 4, 2], count=3, batch=2, activation="tanh", loss="squared_error",
                       dtype="float64", seed=5, chunk=0, first_index=0)
    adapter = get(impl).impl
    stacked = adapter.trace_stacked(stack)
    for i in range(stack.count):
        alone = adapter.trace(stack.spec(i))
        np.testing.assert_allclose(stacked.steps[0].layers[0].v[i], alone.steps[0].layers[0].v,
                                   rtol=1e-13, atol=1e-300)
        np.testing.assert_allclose(stacked.params[1]["weights"][i], alone.params[1]["weights"],
                                   rtol=1e-13, atol=1e-300)


@pytest.mark.slow
def test_listing_implementations_imports_no_framework():
    """`backprop-harness impls` loads every adapter and asks its version: none of these
    frameworks is imported."""
    code = ("import sys; from harness import registry; infos = registry.discover(modes=True); "
            "[i.version() for i in infos.values() if i.available]; "
            f"print([m for m in {sorted(set(MODULES.values()))!r} if m in sys.modules]); "
            f"print([n for n in {list(MODULES)!r} if n in infos])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.splitlines()
    assert out[0] == "[]", out
    assert out[1] == str(list(MODULES)), out


@pytest.mark.parametrize("impl", list(MODULES))
def test_a_missing_framework_is_unavailable_with_the_install_line(impl, monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == MODULES[impl] else real(name, *a))
    info = registry._import(impl, registry._targets()[impl])  # in this process
    assert not info.available
    assert MODULES[impl] in info.reason and "pip install 'backprop-harness[" in info.reason


def _reproducers():
    return [pytest.param(p, marks=needs(p.stem.split("_")[0]), id=p.stem)
            for p in sorted(FINDINGS.glob("*.py"))]


@pytest.mark.parametrize("script", _reproducers())
def test_each_finding_reproduces_in_a_fresh_interpreter(script):
    """Each draft's reproducer exits 1 while its defect stands; 0 means fixed upstream in the
    installed version (then its ledger entry needs a version range)."""
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300)
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.stdout.strip(), "the reproducer printed nothing"
    if done.returncode == 0:
        pytest.xfail(f"{script.name}: fixed in the installed version; update its ledger")
    assert done.returncode == 1, done.stdout


TIER = ("seed-*", "regions-*")  # the small tier CI runs through every framework it installs


@pytest.mark.slow
@pytest.mark.parametrize("impl", impl_params("autograd", "mygrad", "tensorflow",
                                             "tensorflow-xla", "tinygrad", "thinc"))
def test_the_seed_and_regions_tier_conforms(impl):
    """The seed's network and every function's regions case, in float64 and float32, judged
    against the reference with the exact oracle: each a pass, a known deviation of the shipped
    ledger (named there with its cause) or not supported; never a failure or an error.
    scripts/test_frameworks.sh runs it where tensorflow is installed."""
    from harness.conformance import run_suite
    specs = [s for pattern in TIER for s in default_suite(None, pattern)]
    assert len(specs) > 20  # the seed twice and a regions case per function and dtype
    run = run_suite(specs, [impl], "reference")
    mine = [r for r in run.results if r.impl == impl]
    assert len(mine) == len(specs)
    bad = [f"{r.case}: {r.status} {r.message[:300]}" for r in mine
           if r.status not in ("pass", "xfail", "unsupported")]
    assert bad == []
    assert any(r.status == "pass" for r in mine)  # not all declined (thinc runs a third)
