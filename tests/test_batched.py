"""The batched fuzzer (harness/batched/): stacked networks drawn, traced, judged, in chunks."""

from argparse import Namespace

import numpy as np
import pytest

from conftest import needs
from harness.batched import judge, make_stack, plan, run_batched
from harness.compare import quantities
from harness.registry import get
from harness.tolerance import resolve
from impls.reference import ACTIVATIONS, LOSSES


def _args(**kw):
    base = dict(arch="4-8-8-2", networks=300, batch=8, activation="tanh", loss="mse",
                chunk=100, executor="local", scheduler=None, workers=2, seed=0, dtype=None,
                impl=None, baseline="reference", out=None)
    base.update(kw)
    return Namespace(**base)


@pytest.mark.slow
@needs("torch", "jax")
@pytest.mark.parametrize("loss", ["mse", "softmax_cross_entropy", "binary_cross_entropy"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_batched_fuzz_agrees_for_correct_frameworks(capsys, tmp_path, loss, dtype):
    assert run_batched(_args(loss=loss, dtype=dtype, out=tmp_path)) == 0
    out = capsys.readouterr().out
    assert "300 networks 4-8-8-2" in out and "PASS" in out


@needs("torch")
def test_shared_magnitudes_equal_the_per_implementation_ones():
    from conftest import random_spec
    from harness.tolerance import magnitudes, with_final_drift
    for act in ("tanh", "relu", "gelu"):
        spec = random_spec([3, 5, 2], act, "mse", seed=1, batch=4)
        base, other = get("reference").impl.trace(spec), get("torch").impl.trace(spec)
        tol = resolve("float64")["backward"]
        full = magnitudes(spec, base, other, tol)
        shared = with_final_drift(spec, magnitudes(spec, base), base, other, tol)
        for a, b in zip(full, shared):
            assert a.keys() == b.keys()
            for key in a:
                np.testing.assert_array_equal(a[key], b[key])


def test_batched_stack_matches_single_networks():
    stack = make_stack([3, 5, 2], 4, 3, "gelu", "mse", "float64", seed=0, chunk=0,
                       first_index=0)
    ref = get("reference").impl
    whole = ref.trace(stack)
    for i in (0, 3):
        one = ref.trace(stack.spec(i))
        assert float(one.steps[0].loss) == pytest.approx(float(whole.steps[0].loss[i]), rel=1e-15)
        assert (one.steps[0].layers[0].v == whole.steps[0].layers[0].v[i]).all()


@needs("torch", "jax")
@pytest.mark.parametrize("use_jax", [False, True], ids=["numpy", "jax-jit"])
def test_batched_mode_flags_exactly_the_broken_networks(use_jax):
    stack = make_stack([4, 8, 2], 50, 4, "tanh", "mse", "float64", seed=2, chunk=0,
                       first_index=0)
    base = get("reference").impl.trace_stacked(stack)
    other = get("torch").impl.trace_stacked(stack)
    fine = get("jax").impl.trace_stacked(stack)
    other.steps[0].layers[0].v[[7, 31]] *= 1.0001
    other.params[1]["bias"][12, 0] = np.nan
    origin = judge(stack, base, [other, fine], resolve("float64"), use_jax)
    assert sorted(np.flatnonzero(origin[0] >= 0).tolist()) == [7, 12, 31]
    assert (origin[1] == -1).all()
    # the origin is the first quantity out, in computation order: v of layer 0 at step 0
    order = list(quantities(2, 1))
    assert order[origin[0][7]] == (0, "v", 0) and order[origin[0][12]] == (None, "bias", 1)
    base.params[1]["bias"][12, 0] = np.nan  # NaN in the same place on both sides passes
    origin = judge(stack, base, [other], resolve("float64"), use_jax)
    assert sorted(np.flatnonzero(origin[0] >= 0).tolist()) == [7, 31]


@needs("jax")
def test_jitted_judge_agrees_with_numpy_on_a_tolerance_boundary():
    """Differences placed at 0.5x and 2x each element's own tolerance: both backends flag
    exactly the networks with a 2x difference, at the same quantity."""
    from harness.tolerance import local_terms, recurrences
    stack = make_stack([3, 6, 2], 40, 5, "gelu", "softmax_cross_entropy", "float64", seed=4,
                       chunk=0, first_index=0)
    base = get("reference").impl.trace_stacked(stack)
    other = get("reference").impl.trace_stacked(stack)
    tol = resolve("float64")
    mags = recurrences(np, stack, base, local_terms(stack, base))
    g = other.steps[0].layers[1].grad_weights
    bound = tol["backward"].atol + tol["backward"].rtol * mags[0][("grad_weights", 1)]
    factor = np.where(np.arange(40) % 3 == 0, 2.0, 0.5)[:, None, None]
    g += factor * bound
    a, b = (judge(stack, base, [other], tol, use_jax) for use_jax in (False, True))
    np.testing.assert_array_equal(a, b)
    flagged = np.flatnonzero(a[0] >= 0)
    assert flagged.tolist() == list(range(0, 40, 3))


@needs("torch", "jax")
def test_threaded_chunks_report_like_serial_ones(monkeypatch):
    """--workers 2 runs chunks on threads; the merged report is the serial one, chunk order
    kept (a planted judge flags every network whose index is a multiple of 97)."""
    from harness import batched
    from harness.batched import executing
    real = executing.judge

    def planted(stack, base, others, tol):
        origin = real(stack, base, others, tol)
        hit = (np.arange(stack.count) + stack.first_index) % 97 == 0
        origin[0][hit] = 3
        return origin

    monkeypatch.setattr(executing, "judge", planted)
    jobs = plan(_args(networks=700, chunk=100, impl=["torch", "jax"]))
    serial = batched.execute(jobs, "local", None, 1)
    threaded = batched.execute(jobs, "local", None, 2)
    strip = [[(r["networks"], r["mismatches"], [(f["network"], f["origin"]) for f in
                                                 r["failures"]]) for r in rs]
             for rs in (serial, threaded)]
    assert strip[0] == strip[1]
    assert [f[0] for r in strip[1] for f in r[2]] == [0, 97, 194, 291, 388, 485, 582, 679]
    assert sum(r[1]["torch"] for r in strip[1]) == 8 and sum(r[1]["jax"] for r in strip[1]) == 0


@needs("torch", "jax")
def test_batched_plan_splits_into_chunks_and_checks_size():
    jobs = plan(_args(networks=250, chunk=100))
    assert [j["count"] for j in jobs] == [100, 100, 50] and jobs[2]["first"] == 200
    from harness.errors import HarnessError
    with pytest.raises(HarnessError, match="GiB; use a smaller chunk"):
        plan(_args(arch="1024-1024-1024", chunk=100000))
    with pytest.raises(HarnessError, match="--workers must be at least 1, got 0"):
        plan(_args(workers=0))


@pytest.mark.slow
@needs("dask.distributed", "torch", "jax")
def test_dask_executor_on_a_local_cluster_merges_chunk_reports(capsys, tmp_path):
    assert run_batched(_args(networks=2000, chunk=500, executor="dask", workers=2,
                             out=tmp_path)) == 0
    out = capsys.readouterr().out
    assert "2,000 networks 4-8-8-2" in out and "4 chunks on dask" in out


@pytest.mark.slow
@needs("torch", "jax")
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_jitted_judge_matches_numpy_for_every_activation(activation):
    """The tolerance model's activation terms run under jax.numpy too: torch (jax for
    hard_sigmoid) against the reference, with networks 3 and 8 pushed out of tolerance in h of the first layer, gives
    the same origins on both backends."""
    stack = make_stack([3, 4, 2], 12, 3, activation, "squared_error", "float64", seed=5,
                       chunk=0, first_index=0)
    # torch's float64 hardsigmoid' is float32's 1/6 (docs/findings/surface.md): jax there
    impl = "jax" if activation == "hard_sigmoid" else "torch"
    base, other = get("reference").impl.trace_stacked(stack), get(impl).impl.trace_stacked(stack)
    layer = other.steps[0].layers[0]
    layer.h = layer.h + np.isin(np.arange(12), [3, 8])[:, None, None] * 1e-9  # (h may be d)
    a, b = (judge(stack, base, [other], resolve("float64"), use_jax) for use_jax in (False, True))
    np.testing.assert_array_equal(a, b)
    assert np.flatnonzero(a[0] >= 0).tolist() == [3, 8]
    assert list(quantities(2, 1))[a[0][3]] == (0, "h", 0)



def test_an_implementation_that_raises_on_a_chunk_is_a_finding_not_a_crash(plugins, capsys,
                                                                          tmp_path):
    """fault-raise cannot trace stacked networks: each chunk reports it, the run exits 1."""
    from harness.batched import executing
    from harness.registry import get
    impl = get("fault-raise").impl
    impl.trace_stacked = lambda stack: (_ for _ in ()).throw(RuntimeError("planted"))
    job = plan(_args(networks=100, chunk=100, impl=["fault-raise"]))[0]
    report = executing.fuzz_chunk(job)
    assert report["mismatches"] == {"fault-raise": 100}
    assert report["failures"][0]["origin"] == "raised RuntimeError: planted"


def test_batched_fuzz_runs_an_adapter_without_trace_stacked(capsys, tmp_path, plugins):
    """Network by network through the ordinary contract, with how much slower it is; every
    network that fails is the one cause (the update's 1.1 r), one finding, reduced."""
    args = _args(arch="2-3-1", networks=60, chunk=30, impl=["bug-lr-unstacked"], out=tmp_path)
    assert run_batched(args) == 1
    out = capsys.readouterr().out
    assert "note: bug-lr-unstacked has no trace_stacked: traced network by network" in out
    assert "x slower than reference stacked" in out
    assert "1 distinct finding(s) by root-cause signature" in out
    assert "FAIL bug-lr-unstacked: a layer's p - r g, float64, normal operands" in out


def test_batched_fuzz_honours_max_time(capsys, tmp_path, plugins):
    """No chunk starts after the deadline; the run says how many ran."""
    args = _args(arch="2-3-1", networks=3000, chunk=100, impl=["many"], out=tmp_path,
                 max_time=1e-6)
    assert run_batched(args) == 0
    assert "stopped at --max-time 1e-06 s: 0 of 30 chunk(s) run" in capsys.readouterr().out


@pytest.mark.parametrize("loss", LOSSES)
def test_drawn_stacks_take_each_losss_outputs_and_targets(loss):
    """make_stack draws targets the loss takes and its output activation (poisson's softplus,
    BCE's sigmoid): every network reproduces alone as a valid spec; celu gets the spec's
    default alpha, so the stack and its specs compute the same function."""
    stack = make_stack([3, 4, 2], 4, 3, "celu", loss, "float64", seed=1, chunk=0,
                       first_index=0)
    for i in range(stack.count):
        spec = stack.spec(i)
        assert [la.slope for la in spec.layers] == [la.slope for la in stack.layers]
