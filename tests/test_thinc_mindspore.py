"""The built-in thinc and MindSpore adapters: each against the reference and mpmath, their
findings found by the default suite and named by their ledgers. Each test skips with the
install line where its framework is absent (pip install 'backprop-harness[thinc]' or
'backprop-harness[mindspore]'; MindSpore 2.10 needs NumPy 1.x: its own environment)."""

import importlib.util

import mpmath
import numpy as np
import pytest

from conftest import needs, random_spec
from harness import registry
from harness.conformance import run_suite
from harness.judge import judge
from harness.runner import run_one
from harness.suite import default_suite

MODULES = {"thinc": "thinc", "mindspore": "mindspore"}


@pytest.mark.parametrize("impl", list(MODULES))
def test_a_missing_framework_is_unavailable_with_the_install_line(impl, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == MODULES[impl] else real(name, *a))
    info = registry._import(impl, registry._targets()[impl])  # in this process
    assert not info.available
    assert f"pip install 'backprop-harness[{impl}]'" in info.reason


@needs("thinc")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("act", ["identity", "sigmoid", "tanh", "relu", "silu", "gelu",
                                 "gelu_tanh"])
def test_thinc_agrees_with_the_reference_on_ordinary_inputs(act, dtype):
    """Moderate inputs, two steps: every activation and its backward function conform, but
    for the float64 gelus (docs/findings/thinc.md #2, #3)."""
    spec = random_spec([4, 6, 5, 3], act, "squared_error", seed=11, batch=4, dtype=dtype,
                       steps=2)
    verdict = judge(spec, run_one("reference", spec), run_one("thinc", spec))
    if act in ("gelu", "gelu_tanh") and dtype == "float64":
        assert verdict.status == "fail"
        return
    assert verdict.status == "pass", verdict.message


@needs("thinc", "exact")
def test_thincs_four_defects_are_found_by_the_default_suite_and_named_by_its_ledger():
    """sigmoid's clip at -20, swish's tail, gelu's erf and backprop_gelu_approx's constants:
    found with --runxfail, each claim checked against mpmath here; with the ledger, known."""
    names = "saturation-sigmoid-float64,overflow-silu-float32,regions-gelu-float64," \
            "act-gelu_tanh-float64"
    specs = default_suite(pattern=names)
    run = run_suite(specs, ["thinc"], runxfail=True)
    causes: dict = {}  # the first claim of each function and part (the clip's low side)
    for c in (c for r in run.results if r.impl == "thinc" for c in r.root_causes):
        if c.reproduced:
            causes.setdefault((c.function, c.part), c)
    assert {("sigmoid", "f"), ("silu", "f"), ("gelu", "f"), ("gelu_tanh", "t")} <= set(causes)
    sigmoid = causes[("sigmoid", "f")]
    assert sigmoid.value == pytest.approx(2.0611536181902037e-09, rel=1e-12)
    with mpmath.workdps(40):
        assert float(sigmoid.exact) == pytest.approx(
            float(1 / (1 + mpmath.exp(-mpmath.mpf(sigmoid.at)))), rel=1e-15)
    assert causes[("silu", "f")].value < -1e10  # -2.06e11 at d = -1e20 in float32
    assert causes[("gelu", "f")].rel_error > 1e-7
    assert 1e-6 < causes[("gelu_tanh", "t")].rel_error < 1e-4
    known = run_suite(specs, ["thinc"])
    assert {r.status for r in known.results if r.impl == "thinc"} == {"xfail"}


@needs("mindspore")
def test_mindspore_runs_the_seed_network_like_the_reference(seed_spec):
    verdict = judge(seed_spec, run_one("reference", seed_spec), run_one("mindspore", seed_spec))
    assert verdict.status == "pass", verdict.message
    trace = run_one("mindspore", seed_spec).trace
    assert trace.steps[0].layers[0].v.dtype == np.float64


@needs("mindspore", "exact")
def test_mindspores_defects_are_found_by_the_default_suite_and_named_by_its_ledger():
    """float32 tanh, float64 softplus, elu's derivative tail, the float32 slope of
    leaky_relu: found with --runxfail and checked against mpmath; with the ledger, known."""
    names = "multistep-10-float32,regions-softplus-float64,regions-elu-float64," \
            "regions-leaky_relu-float64"
    specs = default_suite(pattern=names)
    run = run_suite(specs, ["mindspore"], runxfail=True)
    causes: dict = {}
    for c in (c for r in run.results if r.impl == "mindspore" for c in r.root_causes):
        if c.reproduced:
            causes.setdefault((c.function, c.part, c.dtype), c)
    tanh = causes[("tanh", "f", "float32")]
    with mpmath.workdps(40):
        exact = mpmath.tanh(mpmath.mpf(tanh.at))
    assert abs(tanh.value - float(exact)) / abs(float(exact)) > 1e-5
    assert causes[("softplus", "f", "float64")].rel_error > 1e-7
    elu = causes[("elu", "t", "float64")]
    assert elu.at < -30 and elu.rel_error > 0.5
    leaky = causes[("leaky_relu", "f", "float64")]  # the slope rounded to float32, exactly
    slope = leaky.spec["layers"][0]["slope"]
    assert leaky.rel_error == pytest.approx(abs(float(np.float32(slope)) - slope) / slope,
                                            rel=1e-6)
    known = run_suite(specs, ["mindspore"])
    assert {r.status for r in known.results if r.impl == "mindspore"} == {"xfail"}


@needs("thinc", "exact")
def test_thincs_new_activations_at_their_special_points():
    """relu_k, clipped_linear (slope 1/6), hard_swish_mobilenet, hard_tanh and mish through
    the regions cases under squared error (the default suite's put most new activations
    under a new loss, which thinc lacks): mish's tail is 0 below -37 (mpmath: d e^d) and
    hard_swish' at ±3 is a convention; with the ledger every case passes or is known."""
    from harness.suite import _regions
    from harness.spec import spec_from_dict
    acts = ("relu6", "mish", "hard_sigmoid", "hard_swish", "hard_tanh")
    specs = [spec_from_dict(_regions(a, dt)) for a in acts for dt in ("float64", "float32")]
    run = run_suite(specs, ["thinc"], runxfail=True)
    bad = {r.case for r in run.results if r.impl == "thinc" and not r.ok}
    assert bad == {f"regions-{a}-{dt}" for a in ("mish", "hard_swish")
                   for dt in ("float64", "float32")}
    mish = next(c for r in run.results if r.impl == "thinc" for c in r.root_causes
                if c.function == "mish" and c.reproduced)
    with mpmath.workdps(40):
        d = mpmath.mpf(mish.at)
        assert float(d * mpmath.tanh(mpmath.log1p(mpmath.exp(d)))) == pytest.approx(
            float(mish.exact), rel=1e-12)
    assert mish.at < -30 and mish.value == 0
    known = run_suite(specs, ["thinc"])
    assert {r.status for r in known.results if r.impl == "thinc"} <= {"pass", "xfail"}


@needs("mindspore", "exact")
def test_mindspores_new_functions_found_and_named_by_its_ledger():
    """selu's derivative below 0 (checked against mpmath: scale alpha e^d), logsigmoid's
    -inf far below 0, l1_loss computed in float32: found with --runxfail; with the ledger,
    every case passes, is known or declared unsupported (relu6 and bce_with_logits in
    float64)."""
    names = "regions-selu-*,regions-log_sigmoid-*,loss-l1-*,regions-relu6-*,loss-bce_with_*"
    specs = default_suite(pattern=names)
    run = run_suite(specs, ["mindspore"], runxfail=True)
    causes: dict = {}
    for c in (c for r in run.results if r.impl == "mindspore" for c in r.root_causes):
        if c.reproduced:
            causes.setdefault((c.function, c.part, c.dtype), c)
    selu = causes[("selu", "t", "float32")]
    with mpmath.workdps(40):
        scale_alpha = mpmath.mpf("1.7580993408473768599402175208123")
        assert float(scale_alpha * mpmath.exp(mpmath.mpf(selu.at))) == pytest.approx(
            float(selu.exact), rel=1e-6)
    assert selu.at < 0 and selu.rel_error > 0.1
    assert causes[("log_sigmoid", "f", "float64")].value == float("-inf")
    known = run_suite(specs, ["mindspore"])
    statuses = {r.case: r.status for r in known.results if r.impl == "mindspore"}
    assert set(statuses.values()) <= {"pass", "xfail", "unsupported"}
    assert statuses["regions-relu6-l1-float64"] == "unsupported"
