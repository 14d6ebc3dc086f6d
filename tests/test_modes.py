"""Execution modes (compiled, forward mode, op by op, matmul precisions, devices) and the
low-precision dtypes: each an implementation that runs the default suite's numbers."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import needs
from harness.conformance import choose_impls, run_suite
from harness.errors import HarnessError
from harness.registry import MODES, expand, get
from harness.spec import spec_from_dict
from harness.suite import SEED_NETWORK, default_suite

QUICK = "seed-2-2-2-float64,loss-softmax_cross_entropy-mean-float32,kinks-leaky_relu-float64"


@pytest.mark.slow
def test_impls_lists_every_mode_and_why_one_is_unavailable():
    out = subprocess.run([sys.executable, "-m", "harness", "impls"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line for line in out.stdout.splitlines()}
    for name in ("torch", "torch-compile", "torch-forward", "jax", "jax-eager", "jax-forward",
                 "torch-cuda", "jax-gpu", "torch-matmul-medium", "jax-matmul-bfloat16"):
        assert name in rows and (" available " in rows[name] or "unavailable (" in rows[name])
    for name in MODES:
        assert " mode " in rows[name]


def test_modes_are_opt_in_and_globs_expand():
    assert not any(i.name in MODES for i in choose_impls(None, "reference"))
    assert "jax-eager" in expand(["jax*"]) and "jax" in expand(["jax*"])
    with pytest.raises(HarnessError, match="no implementation matches 'tensorflow-nope\\*'"):
        expand(["tensorflow-nope*"])


@pytest.mark.slow
@pytest.mark.parametrize("mode", [pytest.param(m, marks=needs(m.split("-")[0]))
                                  for m in ("torch-forward", "torch-matmul-medium", "jax-eager",
                                            "jax-forward", "jax-matmul-highest")])
def test_a_mode_passes_cases_and_names_itself_in_its_settings(mode):
    run = run_suite(default_suite(pattern=QUICK), [mode])
    assert [r.status for r in run.results] == ["pass"] * 3, [r.message for r in run.results]
    settings = run.impls[mode]["settings"]
    assert settings["mode"] in ("forward", "eager", "jit")
    assert ("float32_matmul_precision" in settings) or ("default_matmul_precision" in settings)


@pytest.mark.slow
@needs("torch")
def test_torch_compile_passes_the_seed_network_and_records_its_backend():
    run = run_suite(default_suite(pattern="seed-2-2-2-float64"), ["torch-compile"])
    assert run.results[0].status == "pass", run.results[0].message
    assert run.impls["torch-compile"]["settings"]["compile_backend"] == "inductor"


@needs("torch", "jax")
def test_the_gpu_modes_are_unavailable_here_with_the_reason():
    for name in ("torch-cuda", "jax-gpu"):
        info = get(name)
        if not info.available:
            assert "GPU" in info.reason


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_the_seed_network_in_low_precision_gives_the_seeds_loss(dtype):
    """The published e = 0.298371109 within the dtype's precision, from the reference."""
    from harness.runner import run_one
    from harness.spec import finfo
    spec = spec_from_dict({**SEED_NETWORK, "dtype": dtype, "name": f"seed-{dtype}"})
    trace = run_one("reference", spec).trace
    e = float(trace.steps[0].loss)
    assert trace.steps[0].layers[0].v.dtype == np.dtype(dtype)
    assert abs(e - 0.298371109) / 0.298371109 < 2 * float(finfo(dtype).eps)


@pytest.mark.slow
@needs("torch", "jax", "exact")
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_low_precision_cases_pass_through_every_implementation(dtype):
    run = run_suite(default_suite(dtype=dtype), ["torch", "jax", "exact", "numeric"])
    assert all(r.status in ("pass", "unsupported") for r in run.results), \
        [(r.case, r.impl, r.message) for r in run.results if not r.ok]
    assert sum(r.status == "pass" for r in run.results) >= 4 * 3
