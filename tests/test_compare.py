"""Comparison and the tolerance model: element rules, ULPs, scale-awareness, origins."""

import copy

import numpy as np
import pytest

from conftest import needs, random_spec
from harness.compare import compare_traces, diff_tensor, diff_tensors, quantities, ulp_distance
from harness.registry import get
from harness.tolerance import Tolerance, magnitudes, resolve

TOL = Tolerance(rtol=1e-12, atol=0.0)


def diff(a, b, m=1.0, tol=TOL):
    return diff_tensor(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                       np.full(np.shape(b), m), tol, 0, "v", 0)


def test_nan_equals_nan_only_in_the_same_place():
    assert diff([np.nan, 1.0], [np.nan, 1.0]).passed
    d = diff([np.nan, 1.0], [1.0, np.nan])
    assert not d.passed and d.nan_mismatch == 2 and d.n_bad == 2


def test_inf_on_one_side_is_a_mismatch():
    assert diff([np.inf, -np.inf], [np.inf, -np.inf]).passed
    d = diff([np.inf, 1.0], [1.0, 1.0])
    assert not d.passed and d.inf_mismatch == 1 and d.max_abs == np.inf
    assert not diff([np.inf], [-np.inf]).passed


def test_tensors_compared_together_keep_their_own_figures():
    """diff_tensors lays tensors end to end: each one's figures, worst index and rows are
    what comparing it alone gives, next to a NaN, an Inf, a scalar and an all-zero tensor."""
    rng = np.random.default_rng(4)
    b = [rng.normal(size=(3, 4)), np.float64(2.5), rng.normal(size=5), np.zeros((2, 2)),
         rng.normal(size=(4, 3))]
    a = [x.copy() if np.ndim(x) else np.float64(x) for x in b]
    a[0][1, 2] += 1e-9
    a[2][3] = np.nan
    a[3][0, 1] = 1e-3  # the baseline is all zero: norm_rel is the largest error
    a[4][2, 0] = np.inf
    a[1] = np.float64(2.5 + 1e-10)
    tols = [TOL, Tolerance(1e-8, 1e-300), TOL, TOL, Tolerance(1e-6)]
    items = [(x, y, np.abs(y) + 1.0, t, 0, q, 0)
             for x, y, t, q in zip(a, b, tols, ["v", "loss", "grad_bias", "d", "weights"])]
    together = diff_tensors(items)
    for item, got in zip(items, together):
        alone = diff_tensor(*item)
        assert repr(got) == repr(alone)
    assert [d.n_bad for d in together] == [1, 0, 1, 1, 1]
    assert together[0].worst_index == (1, 2) and together[0].mismatches[0]["index"] == [1, 2]
    assert together[2].nan_mismatch == 1 and together[4].inf_mismatch == 1
    assert together[1].shape == () and together[3].worst_index == (0, 1)
    assert together[3].norm_rel == 1e-3
    with pytest.raises(ValueError, match="shape"):
        diff_tensors([(np.zeros(3), np.zeros(4), 1.0, TOL, 0, "v", 0)])


def test_figures_per_tensor():
    d = diff([[1.0, 2.0], [3.0, 4.0 + 8e-12]], [[1.0, 2.0], [3.0, 4.0]], m=4.0)
    assert d.worst_index == (1, 1) and d.where() == "sample 1, neuron 1"
    assert d.max_abs == pytest.approx(8e-12, rel=1e-3)
    assert d.max_rel == pytest.approx(2e-12, rel=1e-3)
    assert d.worst_ratio == pytest.approx(2.0, rel=1e-3)
    assert d.n_bad == 1 and d.norm_rel == pytest.approx(8e-12 / np.sqrt(30), rel=1e-3)
    msg = d.message("torch", "reference", "case-x", "float64")
    assert msg.startswith("step 0 v[layer 0][sample 1, neuron 1] = 4.000000000008 (torch) vs "
                          "4.0 (reference): |diff| 8.00e-12 > tol 4.00e-12")
    assert msg.endswith("1 of 4 elements out [case-x, float64]")


def test_ulp_distance():
    one = np.array([1.0])
    assert ulp_distance(one, np.nextafter(one, 2)) == 1
    assert ulp_distance(np.array([-0.0]), np.array([0.0])) == 0
    steps_from_zero = np.array([1e-320]).view(np.int64)[0]  # subnormals: one ULP each
    assert ulp_distance(np.array([-1e-320]), np.array([1e-320])) == 2 * steps_from_zero
    f = np.array([1.0], dtype=np.float32)
    assert ulp_distance(f, np.nextafter(f, np.float32(0))) == 1


def test_cancellation_is_not_flagged_but_a_real_error_is():
    """A gradient that is ~0 because large terms cancel: rounding-size differences pass
    (the bound grows with the magnitudes that produced it); a relative 1e-9 change fails."""
    spec = random_spec([6, 40, 3], "tanh", "mse", seed=4, batch=16, weight_scale=4.0)
    ref = get("reference").impl.trace(spec)
    mags = magnitudes(spec, ref)
    g = ref.steps[0].layers[0].grad_bias
    m = mags[0][("grad_bias", 0)]
    tol = resolve("float64")["backward"]
    smallest = int(np.argmin(np.abs(g) / m))  # the most cancelled element
    noisy = g.copy()
    noisy[smallest] += 4 * np.finfo(float).eps * m[smallest]
    assert abs(noisy[smallest] - g[smallest]) > 1e-12 * abs(g[smallest])  # huge relatively
    assert diff_tensor(noisy, g, m, tol, 0, "grad_bias", 0).passed
    wrong = g * (1 + 1e-9)
    assert not diff_tensor(wrong, g, m, tol, 0, "grad_bias", 0).passed


def test_the_origin_is_the_first_failure_in_computation_order():
    spec = random_spec([3, 4, 4, 2], "sigmoid", seed=5, steps=2)
    ref = get("reference").impl.trace(spec)
    bad = copy.deepcopy(ref)
    bad.steps[0].layers[1].v[0, 0] *= 1.5  # backward of layer 1, step 0
    bad.steps[1].layers[0].d[0, 0] *= 1.5  # a later quantity
    diffs = compare_traces(spec, ref, bad, resolve("float64"))
    failing = [d for d in diffs if not d.passed]
    assert [d.label for d in failing] == ["step 0 v[layer 1]", "step 1 d[layer 0]"]
    order = list(quantities(3, 1))
    assert order[:3] == [(0, "d", 0), (0, "h", 0), (0, "d", 1)]
    assert order.index((0, "v", 2)) < order.index((0, "v", 0))
    assert order[-2:] == [(None, "weights", 2), (None, "bias", 2)]


@needs("torch")
def test_drift_over_steps_is_judged_from_the_observed_gradients():
    """10 float32 steps: differences that grow out of earlier (in-tolerance) gradient
    differences pass; an unexplained change of the parameters (an update bug) does not."""
    spec = random_spec([4, 12, 8, 3], ["tanh", "silu", "identity"], "softmax_cross_entropy",
                       seed=205, batch=8, steps=10, lr=0.5, dtype="float32")
    ref, torch = get("reference").impl.trace(spec), get("torch").impl.trace(spec)
    assert all(d.passed for d in compare_traces(spec, ref, torch, resolve("float32")))
    slipped = copy.deepcopy(torch)
    slipped.params[0]["weights"] = slipped.params[0]["weights"] * np.float32(1.001)
    failing = [d for d in compare_traces(spec, ref, slipped, resolve("float32")) if not d.passed]
    assert failing[0].label == "final weights[layer 0]"


def test_resolve_applies_overrides_in_order():
    tol = resolve("float64", {"forward": {"rtol": 1e-9}}, {"forward": {"atol": 1e-30}})
    assert tol["forward"] == Tolerance(1e-9, 1e-30)
    assert tol["backward"].rtol == pytest.approx(32 * np.finfo(float).eps)


def _traced(spec):
    return get("reference").impl.trace(spec)


def test_a_trace_unlike_its_spec_is_one_error_line():
    from harness.compare import TraceError, check_trace
    spec = random_spec([3, 4, 2], "tanh", seed=1, batch=2, steps=2)
    good = _traced(spec)
    check_trace(spec, good)
    short = copy.deepcopy(good)
    short.steps = short.steps[:1]
    layerless = copy.deepcopy(good)
    layerless.params = layerless.params[:1]
    shape = copy.deepcopy(good)
    shape.steps[1].layers[0].v = shape.steps[1].layers[0].v[:1]
    dtype = copy.deepcopy(good)
    dtype.params[1]["bias"] = dtype.params[1]["bias"].astype(np.int64)
    for trace, message in [
            ("not a trace", r"trace\(\) returned str, not a Trace"),
            (short, "1 steps traced, the spec has 2"),
            (layerless, "layer count differs from the spec's 2"),
            (shape, r"step 1 v\[layer 0\]: shape \(1, 4\), expected \(2, 4\)"),
            (dtype, r"final bias\[layer 1\]: dtype int64, expected float64")]:
        with pytest.raises(TraceError, match=f"^{message}$"):
            check_trace(spec, trace)


def test_a_float_array_in_another_dtype_is_converted_and_listed():
    """float32 where the spec says float64 (a silent demotion), or float64 where it says
    float32 (a promotion): converted to the spec's dtype, listed in trace.retyped in
    computation order, the values kept (float32 to float64 is exact)."""
    from harness.compare import check_trace
    spec = random_spec([3, 4, 2], "tanh", seed=1, batch=2)
    trace = _traced(spec)
    h = trace.steps[0].layers[0].h.astype(np.float32)
    trace.steps[0].layers[0].h = h
    trace.params[1]["bias"] = trace.params[1]["bias"].astype(np.float16)
    check_trace(spec, trace)
    assert trace.retyped == (((0, "h", 0), "float32"), ((None, "bias", 1), "float16"))
    assert trace.steps[0].layers[0].h.dtype == np.float64
    assert np.array_equal(trace.steps[0].layers[0].h, h.astype(np.float64))
    wide = random_spec([3, 4, 2], "tanh", seed=1, batch=2, dtype="float32")
    trace = _traced(wide)
    trace.steps[0].layers[1].v = trace.steps[0].layers[1].v.astype(np.float64)
    check_trace(wide, trace)
    assert trace.retyped == (((0, "v", 1), "float64"),)


def test_the_closer_side_at_the_worst_element():
    """At the origin's worst element, base 0.25 and other 0.75 against the oracle's value."""
    from harness.compare import closer_side
    spec = random_spec([3, 4, 2], "tanh", seed=1, batch=2)
    base = _traced(spec)
    other, truth = copy.deepcopy(base), copy.deepcopy(base)
    other.impl = "other"
    v = [t.steps[0].layers[1].v for t in (base, other, truth)]
    v[0][1, 0], v[1][1, 0] = 0.25, 0.75
    origin = next(d for d in compare_traces(spec, base, other, resolve("float64"))
                  if not d.passed)
    assert origin.phase == "backward" and origin.worst_index == (1, 0)
    for value, closer in [(0.3, "reference"), (0.7, "other"), (0.5, "tie"), (np.inf, "neither")]:
        v[2][1, 0] = value
        assert closer_side(origin, base, other, truth) == closer, value
    v[2][1, 0], v[0][1, 0] = 0.75, np.nan
    assert closer_side(origin, base, other, truth) == "other"  # a NaN is never closer


def test_matching_nans_and_infs_count_as_no_difference_in_the_figures():
    d = diff([np.nan, np.inf, 1.0, 2.0], [np.nan, np.inf, 1.0, 2.0 + 2 ** -51])
    assert d.passed and (d.max_abs, d.max_ulp) == (2 ** -51, 1.0)
    assert d.norm_rel == pytest.approx(2 ** -51 / np.sqrt(5.0 + 2 ** -49), rel=1e-12)


def test_a_mismatch_row_and_message_say_every_figure():
    d = diff([-np.inf, 1.0], [2.0, 1.0])
    row, = d.mismatches
    assert row == {"index": [0], "value": -np.inf, "baseline": 2.0, "abs_err": np.inf,
                   "rel_err": np.inf, "ulp": np.inf, "tol": row["tol"]}
    assert row["tol"] == d.worst_tol > 0
    assert d.message("torch", "reference", "case-1", "float64") == (
        "step 0 v[layer 0][sample 0] = -Inf (torch) vs 2.0 (reference): a NaN or Inf on one "
        "side > tol "
        f"{d.worst_tol:.2e}; 1 of 2 elements out (0 NaN and 1 Inf on one side only) "
        "[case-1, float64]")


def test_ulp_distance_across_zero():
    tiny = np.array([5e-324])
    assert ulp_distance(np.array([0.0]), tiny) == 1 and ulp_distance(-tiny, tiny) == 2
    assert ulp_distance(np.array([-0.0]), -tiny) == 1


def test_a_message_spells_inf_and_nan_by_their_sign():
    for value, word in ((np.inf, "Inf"), (-np.inf, "-Inf"), (np.nan, "NaN")):
        d = diff([value, 1.0], [2.0, 1.0])
        assert d.message("torch", "reference", "c", "float64").startswith(
            f"step 0 v[layer 0][sample 0] = {word} (torch) vs 2.0 (reference): "), word


def test_figures_of_zeros_and_of_a_one_sided_inf():
    """An element 0 in both is no relative error (not 0/0); an Inf on one side is left out of
    the norm of the rest: |3 - 1| / |1| = 2."""
    d = diff([0.0, 1.0], [0.0, 1.0])
    assert (d.max_rel, d.norm_rel, d.worst_ratio) == (0.0, 0.0, 0.0)
    d = diff([np.inf, 3.0], [2.0, 1.0])
    assert d.norm_rel == 2.0 and d.max_rel == np.inf


def test_the_worst_element_is_the_first_of_those_out_by_infinitely_much():
    """Two Infs on one side: the first against a finite tolerance (ratio Inf), the second
    against an infinite one (M overflowed: Inf / Inf, NaN, counted as Inf): the first is
    the worst."""
    d = diff_tensor(np.array([np.inf, np.inf]), np.array([1.0, 1.0]), np.array([1.0, np.inf]),
                    TOL, 0, "v", 0)
    assert d.worst_index == (0,) and d.worst_ratio == np.inf and d.n_bad == 2


def test_a_trace_with_bad_metadata_is_one_error_line():
    from harness.compare import TraceError, check_trace
    spec = random_spec([2, 1], "tanh", seed=1)
    for field, value, message in [
            ("impl_version", 3, "version is int, expected a string"),
            ("settings", [], "settings is list, expected a dict of plain values")]:
        trace = copy.deepcopy(_traced(spec))
        setattr(trace, field, value)
        with pytest.raises(TraceError) as err:
            check_trace(spec, trace)
        assert str(err.value) == message


def test_compare_traces_allows_the_drift_the_observed_gradients_imply():
    """Without magnitudes given, compare_traces computes them with `other`'s gradient
    differences (the drift): the final weights' tolerance grows by rtol r |dg| / eps, the same
    as with magnitudes(spec, base, other, tol) given, wider than without other."""
    spec = random_spec([2, 3, 1], "tanh", seed=3, batch=2, steps=2)
    base = _traced(spec)
    other = copy.deepcopy(base)
    layer = other.steps[0].layers[0]
    layer.grad_weights = layer.grad_weights * (1 + 1e-13)
    tol = resolve(spec.dtype, spec.tolerance)
    final = ("weights", 0)

    def tol_of_final_weights(mags=None):
        diffs = compare_traces(spec, base, other, tol, mags)
        return next(t for t in diffs if t.step is None and (t.quantity, t.layer) == final)

    drift = tol_of_final_weights()
    same = tol_of_final_weights(magnitudes(spec, base, other, tol["backward"]))
    plain = tol_of_final_weights(magnitudes(spec, base))
    assert drift.worst_tol == same.worst_tol > plain.worst_tol
