"""The default suite: its cases, and the realistic numerical defects it catches."""

import fnmatch
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import needs
from harness.conformance import run_suite
from harness.spec import spec_from_dict
from harness.suite import default_suite
from impls.reference import ACTIVATIONS, LOSSES

# planted defect, the cases it shows in, (the first failing case, its origin quantity)
DEFECTS = [
    ("bug-tanh-exp", "regions-tanh-*", ("regions-tanh-float64", "h")),
    ("bug-softplus-naive", "regions-softplus-*", ("regions-softplus-float64", "h")),
    ("bug-sigmoid-grad-nan", "regions-sigmoid-*", ("regions-sigmoid-float64", "v")),
    ("bug-elu-mask", "regions-elu-*", ("regions-elu-float64", "v")),
    ("bug-gelu-constant", "act-gelu_tanh-*,regions-gelu_tanh-*", ("act-gelu_tanh-float64", "h")),
    ("bug-leaky-slope", "regions-leaky_relu-*", ("regions-leaky_relu-float64", "v")),
    ("bug-bce-clip", "*binary_cross_entropy*", ("regions-binary_cross_entropy-float64", "loss")),
    ("bug-softmax-noshift", "*softmax*", ("large-logits-softmax_cross_entropy-float32", "loss")),
    ("bug-mse-mean", "loss-mse-*", ("loss-mse-mean-float64", "v")),
    ("bug-flush", "regions-*", ("regions-sigmoid-float64", "v")),
    ("bug-relu-kink", "kinks-relu-*,regions-relu-*", ("kinks-relu-float64", "v")),
    # kinds drawn from the trackers; the first three were missed before the coverage work
    ("bug-softmax-normalized", "*softmax*", ("large-logits-softmax_cross_entropy-float64", "v")),
    ("bug-bce-denominator", "*binary_cross_entropy*",
     ("regions-binary_cross_entropy-float64", "v")),
    ("bug-mean-squeeze", "regions-relu-*,*-mean-*", ("regions-relu-float64", "v")),
    ("bug-softmax-log", "*softmax*", ("large-logits-softmax_cross_entropy-float64", "loss")),
    ("bug-bce-labels", "*binary_cross_entropy*", ("regions-binary_cross_entropy-float64", "v")),
    ("bug-leaky-kink", "kinks-leaky_relu-*,regions-leaky_relu-*",
     ("kinks-leaky_relu-float64", "v")),
    ("bug-mean-width", "*-mean-*", ("loss-squared_error-mean-float64", "v")),
    ("bug-bias-offbyone", "seed-*,batch-1-*", ("batch-1-float64", "grad_bias")),
    ("bug-accumulate", "act-*", ("act-identity-float64", "grad_weights")),
    # outside the old coverage model: caught since the domain model's classes (issue 32)
    ("bug-bce-log1m", "*binary_cross_entropy*",
     ("small-terms-binary_cross_entropy-float64", "loss")),
    ("bug-leaky-max", "classes-*", ("classes-leaky_relu-slope-float64", "h")),
    ("bug-fused-output", "act-*", ("act-sigmoid-float64", "v")),
    ("bug-narrow-sum", "accumulate-*", ("accumulate-width-float16", "d")),
    # as shipped, with their trackers (tests/plugins/planted.py); the last was missed before
    # the classes case let v flow through every layer's d = -1 neuron
    ("bug-elu-from-output", "regions-elu-*", ("regions-elu-float64", "v")),
    ("bug-gelu-swapped", "act-gelu_tanh-*,regions-gelu_tanh-*", ("act-gelu_tanh-float64", "h")),
    ("bug-softplus-grad-overflow", "regions-softplus-*", ("regions-softplus-float64", "v")),
    ("bug-leaky-mask-output", "classes-*", ("classes-leaky_relu-slope-float64", "v")),
    # tinygrad 0.14's clips written as differences (tinygrad#18028, #18063): every case passed
    # them until the records' 16 / eps points and hard_sigmoid's and hard_swish's rounding
    # models bounded outside their linear piece (the bound grew with |d|: 2.7 at 16 / eps)
    ("bug-relu6-difference", "regions-relu6-*", ("regions-relu6-l1-float64", "h")),
    ("bug-hardswish-difference", "regions-hard_swish-*", ("regions-hard_swish-float64", "h")),
    ("bug-hardsigmoid-difference", "regions-hard_sigmoid-*",
     ("regions-hard_sigmoid-bce_with_logits-float64", "h")),
    # torch's hardsigmoid backward multiplies by 1.0f / 6.0f in float64 too (torch_xfails.txt)
    ("bug-hardsigmoid-float-sixth", "regions-hard_sigmoid-*",
     ("regions-hard_sigmoid-bce_with_logits-float64", "v")),
    # Keras 3's poisson, u - y log(u + 1e-7) (keras.losses.poisson)
    ("bug-poisson-keras-epsilon", "*poisson*", ("loss-poisson-mean-float64", "loss")),
]


def test_every_activation_and_loss_has_its_hard_region_cases():
    names = {s.name for s in default_suite()}
    for dtype in ("float64", "float32"):
        for a in ACTIVATIONS:  # the newer ones under a new loss: regions-relu6-l1-float64
            assert any(re.fullmatch(f"regions-{a}(-[a-z0-9_]+)?-{dtype}", n) for n in names), a
        assert f"regions-binary_cross_entropy-{dtype}" in names
        for loss in LOSSES:
            assert any(n.startswith(f"loss-{loss}") and n.endswith(dtype) for n in names)
    assert {s.dtype for s in default_suite()} == {"float64", "float32", "bfloat16", "float16"}
    assert all(s.description for s in default_suite() if s.name.startswith("regions-"))


@pytest.mark.parametrize("impl, cases, first", DEFECTS, ids=[d[0] for d in DEFECTS])
def test_the_default_suite_catches_each_planted_defect(plugins, impl, cases, first):
    """Each defect fails the default suite's cases of its function, at the right origin."""
    run = run_suite(default_suite(pattern=cases), [impl])
    bad = [r for r in run.results if r.impl == impl and not r.ok]
    assert bad, f"{impl} passed every case of {cases}"
    case, quantity = first
    hit = next((r for r in bad if r.case == case), None)
    assert hit is not None, [r.case for r in bad]
    assert hit.origin.quantity == quantity, hit.message


@needs("exact")
@pytest.mark.parametrize("impl, cases, first", DEFECTS[:4], ids=[d[0] for d in DEFECTS[:4]])
def test_the_oracle_blames_the_planted_side(plugins, impl, cases, first):
    run = run_suite(default_suite(pattern=first[0]), [impl, "exact"])
    verdict = next(r for r in run.results if r.impl == impl)
    assert verdict.blame == "b-wrong" and verdict.who == f"{impl} wrong", verdict.blame_reason


UNDERFLOW = {"name": "underflow-float32", "dtype": "float32", "loss": "squared_error",
             "layers": [{"weights": [[2.0 ** -10]], "bias": [0.0], "activation": "sigmoid"}],
             "inputs": [[-94208.0]], "targets": [[1.0]], "learning_rate": 0.1}


@needs("torch", "jax")
def test_a_gradient_flushed_by_underflow_passes_for_torch_and_jax():
    """sigmoid(-92) is subnormal in float32: torch and jax flush v to 0 and the gradient
    v x = 1.04e-35 with it; the tolerance carries that underflow through the product."""
    spec = spec_from_dict(UNDERFLOW)
    run = run_suite([spec], ["torch", "jax"])
    assert [r.status for r in run.results] == ["pass", "pass"], [r.message for r in run.results]
    g = run.results[0].tensors
    reference_g = next(t for t in g if t.quantity == "grad_weights").worst_baseline
    assert 1e-35 < abs(reference_g) < 1.1e-35


def test_a_flush_that_no_underflow_explains_still_fails(plugins):
    """v of about 1e-35 in a normal float32 range, flushed by a planted 1e-30 threshold."""
    spec = spec_from_dict({**UNDERFLOW, "name": "normal-small", "layers": [
        {"weights": [[1.0]], "bias": [-80.0], "activation": "sigmoid"}], "inputs": [[1.0]]})
    run = run_suite([spec], ["bug-flush"])
    assert run.results[0].status == "fail" and run.results[0].origin.quantity == "v"
    assert np.isclose(abs(run.results[0].origin.worst_baseline), 1.8e-35, rtol=0.1)


def test_a_filter_builds_only_the_16_bit_cases_it_can_keep():
    """Every name ends in "-" + its dtype, which is how default_suite skips building bfloat16's
    cases (and importing ml_dtypes, ~0.8 s) for a filter that keeps none of them."""
    every = default_suite()
    assert all(s.name.endswith(f"-{s.dtype}") for s in every)
    for pattern in ["seed-*", "*float16", "regions-*-bfloat1[6]", "act-tanh-*,seed-2-2-2-float64"]:
        expected = [s.name for s in every
                    if any(fnmatch.fnmatchcase(s.name, g) for g in pattern.split(","))]
        assert [s.name for s in default_suite(pattern=pattern)] == expected, pattern
    assert [s.name for s in default_suite(dtype="bfloat16")] == \
        [s.name for s in every if s.dtype == "bfloat16"]
    code = ("import sys; from harness.suite import default_suite; "
            "s = default_suite(pattern='seed-2-2-2-float64,act-*-float16'); "
            "print(len(s), 'ml_dtypes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).parent.parent)
    assert out.stdout.split() == ["2", "False"], out.stderr
