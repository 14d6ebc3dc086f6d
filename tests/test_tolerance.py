"""The tolerance model against a worked case: a 1-1-1 tanh network with squared error, one
sample, two steps, whose magnitudes M are the recurrences of harness/tolerance.py's docstring
written out by hand on scalars. Then each quantity moved to just inside and just outside its
tolerance atol + rtol * M: the first must pass, the second fail. Last, each activation's own
rounding terms at worked points, and against float32's actual rounding."""

import copy
import math

import numpy as np
import pytest

from harness.compare import compare_traces, quantities
from harness.registry import get
from harness.runner import run_one
from harness.spec import spec_from_dict
from harness.tolerance import Tolerance, default_tolerances, loosest, magnitudes, with_final_drift
from impls.reference import ACTIVATIONS, LOSSES, activation, loss

EPS = 2.0 ** -52
X, W, B, Y, R = 0.5, (0.8, -1.5), (0.1, 0.3), 0.25, 0.1
WORKED_DOC = {
    "name": "worked", "loss": "squared_error", "learning_rate": R, "steps": 2,
    "inputs": [[X]], "targets": [[Y]],
    "layers": [{"weights": [[W[0]]], "bias": [B[0]], "activation": "tanh"},
               {"weights": [[W[1]]], "bias": [B[1]], "activation": "tanh"}]}
SPEC = spec_from_dict(WORKED_DOC)


def hand_magnitudes(steps=2):
    """M of every quantity, step by step, on scalars. tanh's rounding: m_f = 2|h|,
    m_t = 1 + h^2, |t'| <= 2t. One input and one neuron per layer: sqrt(n_in + 1) = sqrt 2,
    sqrt(batch) = sqrt(n') = 1. The underflow terms (tiny / eps = 1e-292) are below these
    numbers' last bits and left out; so is the drift (the trace is compared with itself)."""
    w, b = list(W), list(B)
    rw, rb = [0.0, 0.0], [0.0, 0.0]  # the rounding of the updates so far: |W| + r|g| each
    c = math.sqrt(2)
    out = []
    for step in range(steps):
        m = {}
        # forward: M(d) = M(x)|W| + |x|M(W) + M(b) + c(|x||W| + |b|), M(h) = t M(d) + m_f
        x, mx, mts = X, 0.0, []
        for k in range(2):
            d = w[k] * x + b[k]
            h = math.tanh(d)
            t = 1 - h * h
            md = mx * abs(w[k]) + abs(x) * rw[k] + rb[k] + c * (abs(x) * abs(w[k]) + abs(b[k]))
            m["d", k], m["h", k] = md, t * md + 2 * abs(h)
            mts.append(1 + h * h + 2 * t * md)  # M(t) = m_t + |t'| M(d)
            m["x", k], m["t", k] = (x, mx), t
            x, mx = h, m["h", k]
        # e = (u - y)^2 / 2: M(e) = |u - y| M(u - y) + e + eps M(u)^2 / 2, plus sqrt(batch) |e|
        u, mu = x, mx
        diff = u - Y
        m["outputs", None] = mu
        m["loss", None] = abs(diff) * (mu + abs(diff)) + diff * diff + EPS * mu * mu / 2
        # backward: te = u - y, M(te) = M(u) + |u - y|, plus |te|
        up, mup = abs(diff), mu + 2 * abs(diff)
        v = [0.0, 0.0]
        grads = [None, None]
        for k in (1, 0):
            t, (xk, mxk) = m["t", k], m["x", k]
            v[k] = (diff if k == 1 else v[1] * w[1]) * t
            if k == 0:  # p = v' W': M(p) = M(v')|W'| + |v'|M(W') + sqrt(n') |v'||W'|
                up = abs(v[1]) * abs(w[1])
                mup = m["v", 1] * abs(w[1]) + abs(v[1]) * rw[1] + up
            mv = mup * t + up * mts[k] + EPS * mup * mts[k] + abs(v[k])
            m["v", k] = mv
            m["grad_weights", k] = (mv + abs(v[k])) * abs(xk) + (abs(v[k]) + EPS * mv) * mxk
            m["grad_bias", k] = mv + abs(v[k])
            grads[k] = (v[k] * xk, v[k])
        for k in range(2):  # the update W - r g: M(W) += |W| + r|g|
            gw, gb = grads[k]
            rw[k], rb[k] = rw[k] + abs(w[k]) + R * abs(gw), rb[k] + abs(b[k]) + R * abs(gb)
            w[k], b[k] = w[k] - R * gw, b[k] - R * gb
        out.append({key: value for key, value in m.items() if key[0] not in ("x", "t")})
    out.append({("weights", k): rw[k] for k in range(2)} | {("bias", k): rb[k] for k in range(2)})
    return out


# The worked case's numbers, step 0 and the final parameters, to 10 digits. By hand, the first:
# d0 = 0.8 * 0.5 + 0.1 = 0.5, h0 = tanh 0.5 = 0.4621171573, t0 = 1 - h0^2 = 0.7864477329;
# M(d0) = sqrt 2 (0.5 * 0.8 + 0.1) = 0.7071067812; M(h0) = t0 M(d0) + 2 h0 = 1.480336840.
WORKED = {("d", 0): 0.7071067812, ("h", 0): 1.480336840, ("d", 1): 3.625067855,
          ("h", 1): 3.865940398, ("outputs", None): 3.865940398, ("loss", None): 3.191701740,
          ("v", 1): 9.538156868, ("grad_weights", 1): 5.450367139, ("grad_bias", 1): 10.07491151,
          ("v", 0): 14.39082274, ("grad_weights", 0): 7.512008476, ("grad_bias", 0): 15.02401695}
WORKED_FINAL = {("weights", 0): 1.628175806, ("weights", 1): 3.018042872,
                ("bias", 0): 0.2563516117, ("bias", 1): 0.7527250361}


@pytest.fixture(scope="module")
def trace():
    return get("reference").impl.trace(SPEC)


def test_the_hand_derivation_gives_the_worked_numbers():
    hand = hand_magnitudes()
    assert hand[0] == pytest.approx(WORKED, rel=1e-9)
    assert hand[-1] == pytest.approx(WORKED_FINAL, rel=1e-9)


def test_magnitudes_of_the_worked_case_are_the_hand_derived_ones(trace):
    got, hand = magnitudes(SPEC, trace), hand_magnitudes()
    assert len(got) == len(hand) == 3
    for step, (g, h) in enumerate(zip(got, hand)):
        assert sorted(g, key=str) == sorted(h, key=str)
        for key, value in h.items():
            assert float(np.ravel(g[key])[0]) == pytest.approx(value, rel=1e-12), (step, key)


# forward and backward tolerances made different and coarse (1e-6, 3e-6 relative), so that
# 1% of one is far above a float64 ulp and a phase mixed up shows
TOL = {"forward": Tolerance(1e-6, 1e-300), "backward": Tolerance(3e-6, 2e-300)}


def _moved(trace, step, quantity, layer, by):
    """A copy of the trace with one element moved by `by`."""
    other = copy.deepcopy(trace)
    if step is None:
        other.params[layer][quantity] = other.params[layer][quantity] + by
    elif quantity in ("loss", "outputs"):
        setattr(other.steps[step], quantity, getattr(other.steps[step], quantity) + by)
    else:
        lt = other.steps[step].layers[layer]
        setattr(lt, quantity, getattr(lt, quantity) + by)
    return other


PLACES = list(quantities(2, 2))


@pytest.mark.parametrize("step, quantity, layer", PLACES,
                         ids=[f"{s}-{q}-{k}" for s, q, k in PLACES])
def test_just_inside_the_tolerance_passes_and_just_outside_fails(trace, step, quantity, layer):
    phase = "forward" if quantity in ("d", "h", "outputs", "loss") else "backward"
    m = hand_magnitudes()[-1 if step is None else step][quantity, layer]
    allowed = TOL[phase].atol + TOL[phase].rtol * m
    for factor, passed in ((0.99, True), (1.01, False), (-0.99, True), (-1.01, False)):
        other = _moved(trace, step, quantity, layer, factor * allowed)
        diff = next(d for d in compare_traces(SPEC, trace, other, TOL)
                    if (d.step, d.quantity, d.layer) == (step, quantity, layer))
        assert diff.passed is passed, factor
        assert diff.worst_tol == pytest.approx(allowed, rel=1e-9)
        assert diff.worst_ratio == pytest.approx(abs(factor), rel=1e-6)
        assert diff.n_bad == (0 if passed else 1)


# Each activation's rounding terms (m_f, m_t, the bound on |t'|) at d = -3, -0.5, 0.5, 3 with
# no underflow term, to 10 digits. By hand, for tanh at d = 0.5 (h = 0.4621171573,
# t = 0.7864477329): m_f = 2|h| = 0.9242343145, m_t = 1 + h^2 = 1.213552267, |t'| <= 2t =
# 1.572895466; for sigmoid (h = 0.6224593312, t = 0.2350037122): m_f = 2h = 1.244918662,
# m_t = h(1 + h) + t = 1.244918662, |t'| <= t.
POINTS = np.array([-3.0, -0.5, 0.5, 3.0])
ROUNDING = {
    "identity": ([0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]),
    "sigmoid": ([0.09485174636, 0.7550813376, 1.244918662, 1.905148254],
                [0.09485174636, 0.7550813376, 1.244918662, 1.905148254],
                [0.04517665973, 0.2350037122, 0.2350037122, 0.04517665973]),
    "tanh": ([1.990109507, 0.9242343145, 0.9242343145, 1.990109507],
             [1.990133963, 1.213552267, 1.213552267, 1.990133963],
             [0.01973207433, 1.572895466, 1.572895466, 0.01973207433]),
    "relu": ([0, 0, 0.5, 3], [0, 0, 0, 0], [0, 0, 0, 0]),
    "leaky_relu": ([0.3, 0.05, 0.5, 3], [0, 0, 0, 0], [0, 0, 0, 0]),
    "softplus": ([0.09717470315, 0.9481539684, 1.948153968, 6.097174703],
                 [0.09485174636, 0.7550813376, 1.244918662, 1.905148254],
                 [0.04742587318, 0.3775406688, 0.6224593312, 0.9525741268]),
    "elu": ([1.900425863, 0.7869386806, 1, 6], [0.04978706837, 0.6065306597, 1, 1],
            [0.04978706837, 0.6065306597, 0, 0]),
    "silu": ([0.2845552391, 0.3775406688, 0.6224593312, 5.715444761],
             [0.2845552391, 0.8976182942, 1.867377994, 7.620593015],
             [0.2258832987, 0.5875092805, 0.5875092805, 0.2258832987]),
    "gelu": ([3.004049694, 0.6542687694, 0.8457312306, 5.995950306],
             [1.025241192, 1.308537539, 2.043527788, 2.025241192],
             [0.04875033253, 0.7921469852, 0.7921469852, 0.04875033253]),
    "gelu_tanh": ([5.996362608, 0.8457140098, 1.037142029, 8.989087824],
                  [6.281098813, 1.060437541, 1.795177348, 7.281098813],
                  [0.1165428839, 2.033563561, 2.033563561, 0.1165428839]),
    # impls/reference/more_activations.py's terms, from the formulas its docstrings state
    # (celu with alpha = the slope 0.1; a kink's jump J at k gives |t'| <= J / |d - k| off it)
    "relu6": ([0, 0, 0.5, 3], [0, 0, 0, 0], [0.4444444444, 2.153846154, 2.181818182, 0.6666666667]),
    "selu": ([5.011706186, 2.075274563, 1.576051481, 9.456308886],
             [0.2625918362, 3.199023459, 3.152102962, 3.152102962],
             [0.08753061208, 1.066341153, 0, 0]),
    "celu": ([0.2, 0.2020213841, 1, 6], [2.99443935e-12, 0.04716562899, 2, 2],
             [9.357622969e-13, 0.06737946999, 0, 0]),
    "log_sigmoid": ([6.097174703, 1.948153968, 0.9481539684, 0.09717470315],
                    [1.905148254, 1.244918662, 0.7550813376, 0.09485174636],
                    [0.9525741268, 0.6224593312, 0.3775406688, 0.04742587318]),
    "softsign": ([1.5, 0.6666666667, 0.6666666667, 1.5], [0.6875, 2.666666667, 2.666666667, 0.6875],
                 [0.125, 0.8888888889, 0.8888888889, 0.125]),
    "mish": ([0.5825898451, 0.8829750986, 1.500980845, 11.94614002],
             [0.8094924589, 2.516228515, 5.083997157, 26.76703999],
             [10.42819639, 5.20046228, 3.358839189, 0.5413317796]),
    # hard_sigmoid's and hard_swish's d / 6 + 1/2 cancels inside (-3, 3) only: at ±3 it is
    # exact (-3 / 6 = -1/2), so m_f there is the clip's 0 or 2|h| alone
    "hard_sigmoid": ([0, 1, 1.166666667, 1], [0, 0.1666666667, 0.1666666667, 0],
                     [0.02777777778, 0.1142857143, 0.1142857143, 0.02777777778]),
    "hard_swish": ([0, 0.7083333333, 0.875, 6], [0, 1, 1.333333333, 1],
                   [0.08333333333, 0.6761904762, 0.6761904762, 0.08333333333]),
    "hard_tanh": ([1, 0.5, 0.5, 1], [0, 0, 0, 0], [0.75, 2.666666667, 2.666666667, 0.75]),
}


def _rounding(name, d, under, slope=0.1):
    act = activation(name, slope=slope)
    h = act.f(d)
    t = np.abs(act.t(d, h))
    return [np.broadcast_to(term, d.shape) for term in act.rounding(np, d, h, t, under)]


def test_every_activation_has_worked_rounding_terms():
    assert sorted(ROUNDING) == sorted(ACTIVATIONS)


@pytest.mark.parametrize("name", sorted(ROUNDING))
def test_rounding_terms_at_worked_points(name):
    for term, got, want in zip(("m_f", "m_t", "|t'|"), _rounding(name, POINTS, 0.0),
                               ROUNDING[name]):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=0, err_msg=term)


@pytest.mark.parametrize("name", sorted(ROUNDING))
def test_the_underflow_term_enters_where_an_intermediate_may_underflow(name):
    """silu's (and mish's) sigmoid(d) may underflow and is then multiplied by d: |d| (in h)
    and 1 + |d| (in t) underflows; no other activation scales one."""
    zero, one = _rounding(name, POINTS, 0.0), _rounding(name, POINTS, 1.0)
    extra = [np.abs(POINTS), 1 + np.abs(POINTS), 0 * POINTS] if name in ("silu", "mish") \
        else [0 * POINTS] * 3
    for a, b, want in zip(one, zero, extra):
        np.testing.assert_allclose(a - b, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(ROUNDING))
def test_rounding_terms_bound_float32s_rounding(name):
    """The terms are what they claim: f and t evaluated in float32 at float32 points stay
    within 2 eps M of the float64 values (first order, M(d) = 0 for an exact d; the harness
    allows 32 eps M)."""
    d32 = np.linspace(-20, 20, 4001, dtype=np.float32)
    d = d32.astype(np.float64)
    act = activation(name, slope=0.5)  # a slope exact in both dtypes
    mf, mt, _ = _rounding(name, d, 0.0, slope=0.5)
    h32 = act.f(d32)
    eps = float(np.finfo(np.float32).eps)
    assert np.all(np.abs(h32 - act.f(d)) <= 2 * eps * mf)
    assert np.all(np.abs(act.t(d32, h32) - act.t(d, act.f(d))) <= 2 * eps * mt)


# Each loss's M(fe) and M(te) at u = (0.2, 0.7, 0.4), y = (0, 1, 0.5), M(u) = (1, 2, 0.5) and an
# eps of 0.01 (large, so that the second-order terms show), to 10 digits. By hand, for squared
# error: u - y = (0.2, -0.3, -0.1), M(te) = M(u) + |u - y| = (1.2, 2.3, 0.6); M(fe) =
# sum |u - y| M(te) + sqrt 3 fe + eps sum M(u)^2 / 2 = 0.99 + 0.1212435565 + 0.02625.
LOSS_ROUNDING = {
    "squared_error": (1.137493557, [1.2, 2.3, 0.6]),
    "mse": (0.7583290377, [0.9333333333, 1.733333333, 0.4666666667]),
    "softmax_cross_entropy": (11.21218006, [3.031492051, 6.637104199, 3.965974378]),
    "binary_cross_entropy": (7.02551953, [18.125, 30.74829932, 4.479166667]),
    # impls/reference/more_losses.py's, from the formulas its docstrings state (hinge's y
    # off {-1, 1} and kl's u not log-probabilities: the terms are formulas of any numbers)
    "l1": (1.713076828, [0.3333333333, 0.3333333333, 0.3333333333]),
    "huber": (0.3791645188, [0.4666666667, 0.8666666667, 0.2333333333]),
    "log_cosh": (4.600684366, [1.182667407, 1.562480079, 0.9311252546]),
    "kl_divergence": (6.243147181, [0, 1, 0.5]),
    "poisson": (4.524919901, [0.6666666667, 2.789115646, 1.770833333]),
    "hinge": (3.262435565, [0, 0.3333333333, 0.1666666667]),
    "bce_with_logits": (10.76280228, [1.347184567, 1.443425747, 0.8175056931]),
}


@pytest.mark.parametrize("name", LOSSES)
def test_loss_rounding_terms_at_a_worked_point(name):
    """One sample of one network of a stack (leading axis), so that the axes are checked too."""
    u, y, mu = (np.array([[row]]) for row in ([0.2, 0.7, 0.4], [0.0, 1.0, 0.5], [1.0, 2, 0.5]))
    mfe, mte = loss(name).rounding(np, u, y, mu, 0.01)
    want_fe, want_te = LOSS_ROUNDING[name]
    assert mfe.shape == (1, 1) and mfe[0, 0] == pytest.approx(want_fe, rel=1e-9)
    assert mte.shape == (1, 1, 3)
    np.testing.assert_allclose(mte[0, 0], want_te, rtol=1e-9)


def test_the_drift_of_the_final_parameters_is_the_clipped_gradient_difference():
    """One step; the other trace's gradient of W[0] off by half its tolerance, of b[1] by three
    times its tolerance: the final M(W[0]) grows by r (half the tolerance) / eps, M(b[1]) by
    r (the whole tolerance) / eps, the clip; with_final_drift adds the same to one-step
    magnitudes computed without the other trace."""
    spec = spec_from_dict({**WORKED_DOC, "steps": 1})
    base = get("reference").impl.trace(spec)
    hand = hand_magnitudes(steps=1)
    tol = TOL["backward"]
    allowed = {k: tol.atol + tol.rtol * hand[0][k] for k in (("grad_weights", 0), ("grad_bias", 1))}
    other = _moved(_moved(base, 0, "grad_weights", 0, 0.5 * allowed["grad_weights", 0]),
                   0, "grad_bias", 1, 3 * allowed["grad_bias", 1])
    want = dict(hand[-1])
    want["weights", 0] += R * 0.5 * allowed["grad_weights", 0] / EPS
    want["bias", 1] += R * allowed["grad_bias", 1] / EPS
    for final in (magnitudes(spec, base, other, tol)[-1],
                  with_final_drift(spec, magnitudes(spec, base), base, other, tol)[-1]):
        assert {k: float(np.ravel(v)[0]) for k, v in final.items()} == pytest.approx(want,
                                                                                     rel=1e-9)
    with pytest.raises(ValueError, match="with_final_drift is for one-step runs"):
        with_final_drift(SPEC, magnitudes(SPEC, base), base, other, tol)


def test_loosest_takes_the_larger_rtol_and_atol_per_phase():
    a = {"forward": Tolerance(1e-9, 1e-30), "backward": Tolerance(1e-12, 1e-20)}
    b = {"forward": Tolerance(1e-10, 1e-25), "backward": Tolerance(1e-6, 1e-40)}
    assert loosest(a, b) == {"forward": Tolerance(1e-9, 1e-25), "backward": Tolerance(1e-6, 1e-20)}
    assert loosest(a, None) is a and loosest(a, {}) is a


@pytest.mark.parametrize("x, d_sign", [(0.5, 1), (-0.5, -1)])
def test_a_relu_layer_by_hand(x, d_sign):
    """relu, one input and one neuron, sum or mean over one sample (the same): M(d) = sqrt 2
    (|x||w| + |b|), M(h) = t M(d) + |h| with t = 1 where d > 0 and 0 where d < 0; M is
    float64 for a float32 spec too."""
    for dtype, reduction in (("float64", "sum"), ("float32", "mean")):
        spec = spec_from_dict({"name": "relu", "loss": "squared_error", "learning_rate": 0.1,
                               "dtype": dtype, "reduction": reduction,
                               "inputs": [[x]], "targets": [[0.25]],
                               "layers": [{"weights": [[0.8]], "bias": [0.1],
                                           "activation": "relu"}]})
        m = magnitudes(spec, get("reference").impl.trace(spec))[0]
        d = 0.8 * x + 0.1
        md = math.sqrt(2) * (abs(x) * 0.8 + 0.1)
        t = 1.0 if d_sign > 0 else 0.0
        assert m["d", 0].dtype == np.float64 and m["h", 0].dtype == np.float64
        assert float(m["d", 0][0, 0]) == pytest.approx(md, rel=1e-6)
        assert float(m["h", 0][0, 0]) == pytest.approx(t * md + max(d, 0.0), rel=1e-6)
        diff = max(d, 0.0) - 0.25  # e = (u - y)^2 / 2 and its M, as in the worked case
        mu = t * md + max(d, 0.0)
        assert float(m["loss", None]) == pytest.approx(abs(diff) * (mu + abs(diff)) + diff * diff,
                                                       rel=1e-6)


def test_16_bit_dtypes_get_a_smaller_k():
    """32 ulps of a 16-bit float would hide a 100% error: K = 4 there, 32 elsewhere."""
    for dtype, k in (("float16", 4), ("bfloat16", 4), ("float32", 32), ("float64", 32)):
        info = np.finfo(np.float32) if dtype == "float32" else None
        eps = {"float16": 2.0 ** -10, "bfloat16": 2.0 ** -7, "float32": 2.0 ** -23,
               "float64": 2.0 ** -52}[dtype]
        tol = default_tolerances(dtype)
        assert tol["forward"].rtol == tol["backward"].rtol == k * eps, dtype
        assert info is None or tol["forward"].atol == k * float(info.tiny)


def test_a_clipped_difference_counts_nan_and_inf_as_nothing_allowed():
    """_clip (the drift's): an M that overflowed to Inf allows atol only, not rtol * Inf;
    a difference of -Inf or +Inf or NaN is clipped to 0, not to -bound or +bound."""
    from harness.tolerance import _clip
    tol = Tolerance(1e-3, 1e-6)
    m = np.array([np.inf, 1.0, 1.0, 1.0, 1.0])
    delta = np.array([5.0, -np.inf, np.inf, np.nan, -5.0])
    np.testing.assert_array_equal(_clip(np, delta, tol, m),
                                  [1e-6, 0.0, 0.0, 0.0, -(1e-6 + 1e-3)])


def test_mean_reduction_divides_the_loss_derivative_by_the_batch():
    """local_terms' te under mean reduction: (u - y) / batch for squared error, half the sum's
    for a batch of 2."""
    from harness.tolerance import local_terms
    doc = {"name": "mean", "loss": "squared_error", "learning_rate": 0.1, "reduction": "mean",
           "inputs": [[0.5], [-1.0]], "targets": [[0.25], [0.5]],
           "layers": [{"weights": [[0.8]], "bias": [0.1], "activation": "identity"}]}
    spec = spec_from_dict(doc)
    (_, fe, te), = local_terms(spec, get("reference").impl.trace(spec))
    u = np.array([[0.8 * 0.5 + 0.1], [0.8 * -1.0 + 0.1]])
    np.testing.assert_allclose(te, (u - [[0.25], [0.5]]) / 2, rtol=1e-15)
    np.testing.assert_allclose(fe, 0.5 * (u[:, 0] - [0.25, 0.5]) ** 2, rtol=1e-15)


def test_behind_two_saturated_sigmoids_m_v_is_the_second_order_term():
    """sigmoid(100) is 1.0 in float64, so t = 0 in both layers and v = 0. In the last layer
    M(v) = |te| m_t + eps M(te) m_t with m_t = h(1 + h) + t = 2, |te| = 1 (u = 1, y = 0): about
    2. Layer 0 gets no first-order term at all (|v| W = 0, t = 0): M(v) = eps (M(v_1) W) m_t
    = eps * 2 * 100 * 2, the second-order term alone, positive."""
    doc = {"name": "saturated", "loss": "squared_error", "learning_rate": 0.1,
           "inputs": [[1.0]], "targets": [[0.0]],
           "layers": [{"weights": [[100.0]], "bias": [0.0], "activation": "sigmoid"},
                      {"weights": [[100.0]], "bias": [0.0], "activation": "sigmoid"}]}
    spec = spec_from_dict(doc)
    trace = get("reference").impl.trace(spec)
    assert [float(lt.h[0, 0]) for lt in trace.steps[0].layers] == [1.0, 1.0]
    m = magnitudes(spec, trace)[0]
    assert float(m["v", 1][0, 0]) == pytest.approx(2.0, rel=1e-12)
    assert float(m["v", 0][0, 0]) == pytest.approx(EPS * 2 * 100 * 2, rel=1e-12, abs=0)


def test_silus_rounding_in_the_far_left_tail_takes_sigmoid_at_minus_700():
    """silu's terms clip d to [-700, 700] before exp: at d = -800 nothing overflows, and
    sigmoid(d) is taken as sigmoid(-700) = 1 / (1 + e^700), a normal number, not 0."""
    act = activation("silu")
    d = np.array([-800.0, 800.0])
    h = act.f(d)
    t = np.abs(act.t(d, h))
    with np.errstate(all="raise"):
        _, mt, dt = act.rounding(np, d, h, t, 0.0)
    s = 1 / (1 + math.exp(700))
    assert mt[0] == pytest.approx(s * (1 + 800 * (1 + s)) + t[0], rel=1e-12, abs=0)
    assert dt[0] == pytest.approx(s * (1 - s) * 802, rel=1e-12, abs=0)


# A network the fuzzer drew (jax, 2026-12-07): at step 2, d of the hard_tanh neuron cancels to
# 0 in the engine (jax: 2.56e-18, exact: 1.50e-18), so l1's sign(u - y) is 0 there and v' = 0,
# while its weights W' came back to exactly 0 (the two updates cancel): v = (v' W') t has no
# first-order bound at all, and jax's -3.2e-19 (exact: -3.55e-19) failed against 1.4e-306.
CANCELLED = {
    "name": "cancelled", "dtype": "float64", "loss": "l1", "reduction": "sum",
    "learning_rate": 0.01, "steps": 3, "inputs": [[0.0, 0.0]], "targets": [[0.0]],
    "layers": [{"weights": [[0.0, 0.0], [0.0, 0.0], [-1.4018131494522095, 0.5]],
                "bias": [0.0001, -745.133219101196, 1.4124664068222046], "activation": "selu"},
               {"weights": [[0.0, 0.0, 0.0]], "bias": [-2.2250738585072014e-308],
                "activation": "hard_tanh"}]}


def test_a_product_of_two_baseline_zeros_has_its_second_order_bound():
    """M(p) = ... + eps M(v')M(W'): with v' = 0 and W' = 0 in the baseline, that term alone
    bounds v below (hand: eps M(v') M(W') t, t = selu'(1.41) = 1.0507), and exact's v, off the
    engine's 0 by 3.55e-19, is within it."""
    spec = spec_from_dict(CANCELLED)
    ref = run_one("reference", spec).trace
    truth = run_one("exact", spec).trace
    st = ref.steps[2]
    assert st.layers[1].v[0, 0] == 0.0 and st.layers[1].d[0, 0] == 0.0
    assert truth.steps[2].layers[1].d[0, 0] == pytest.approx(1.5039524285798814e-18, rel=1e-9)
    eps = np.finfo(np.float64).eps
    m = magnitudes(spec, ref)
    w1 = spec.layers[1].weights - 0.01 * (ref.steps[0].layers[1].grad_weights
                                          + ref.steps[1].layers[1].grad_weights)
    assert not w1.any()  # W' back at exactly 0
    m_w1 = sum(np.abs(w) for w in (spec.layers[1].weights, spec.layers[1].weights - 0.01
                                   * ref.steps[0].layers[1].grad_weights)) + 0.01 * sum(
        np.abs(ref.steps[k].layers[1].grad_weights) for k in (0, 1))  # |W| + r|g| per update
    second = eps * m[2][("v", 1)][0, 0] * m_w1[0, 2] * 1.0507009873554805
    assert m[2][("v", 0)][0, 2] >= second > 0
    tol = default_tolerances("float64")["backward"]
    v_exact = truth.steps[2].layers[0].v[0, 2]
    assert v_exact == pytest.approx(-3.5506962529027365e-19, rel=1e-9)
    assert abs(v_exact) <= tol.atol + tol.rtol * m[2][("v", 0)][0, 2]


def test_each_kinks_jump_of_t():
    """|t(k+) - t(k-)|, by hand: relu 1; leaky_relu |1 - slope|; hard_tanh 1 at -1 and at 1;
    relu6 1 at 0 and at 6; elu (alpha 1) none."""
    from harness.tolerance import kink_jumps
    assert kink_jumps(activation("relu")) == [(0.0, 1.0)]
    assert kink_jumps(activation("leaky_relu", -7.5)) == [(0.0, 8.5)]
    assert kink_jumps(activation("hard_tanh")) == [(-1.0, 1.0), (1.0, 1.0)]
    assert kink_jumps(activation("relu6")) == [(0.0, 1.0), (6.0, 1.0)]
    assert kink_jumps(activation("elu")) == [(0.0, pytest.approx(0.0, abs=1e-300))]


# A network the fuzzer drew (torch, 2026-12-07). Step 0: log_cosh's te at r = 8.7e-19 is 0 in
# torch's float32 form 1 - 2 sigmoid(-2 r) (an absolute eps: the model's), times the slope
# -7.4e19: v -0 against -21.3, within tolerance; its bias gradient moves the next d to 401 in
# the engine and leaves it at -1.2e-38 in torch, across leaky_relu's kink, so t is the slope
# in one and 1 in the other: a branch that in-tolerance differences explain.
ACROSS = {
    "name": "across", "dtype": "float32", "loss": "log_cosh", "reduction": "sum",
    "learning_rate": 0.1, "steps": 3, "inputs": [[0.0, 0.0]], "targets": [[0.0, 0.0, 0.0]],
    "layers": [{"weights": [[0.0, 0.0]] * 4 + [[-1.1538907289505005, -1e-12]],
                "bias": [-0.009999999776482582, -0.009999999776482582, 0.10000000149011612,
                         13.956327438354492, -1.0824815034866333], "activation": "softplus"},
               {"weights": [[0.0] * 5, [0.0] * 5, [0.0, -0.5, -1.0, 20.0, -1.6785569190979004]],
                "bias": [-1.1754943508222875e-38, -0.10000000149011612, 0.5566325783729553],
                "activation": "leaky_relu", "slope": -7.378697629483821e+19}]}


def test_a_d_across_a_kink_from_the_baselines_allows_ts_jump():
    """The other trace's d across the kink (or on it): M(t) gains the jump / eps there, and
    only there; the same d on the same side gains nothing."""
    spec = spec_from_dict(ACROSS)
    ref = run_one("reference", spec).trace
    other = copy.deepcopy(ref)
    d = other.steps[1].layers[1].d
    assert d[0, 0] > 400 and d[0, 2] > 250
    d[0, 0] = np.float32(-1.1754943508222875e-38)  # torch's, across the kink at 0
    d[0, 2] = np.float32(0.0)  # on the kink
    eps = float(np.finfo(np.float32).eps)
    plain = magnitudes(spec, ref)[1][("v", 1)]
    tol = default_tolerances("float32")["backward"]
    moved = magnitudes(spec, ref, other, tol)[1][("v", 1)]
    p = np.abs(ref.steps[1].layers[1].v[0] / 1.0)  # t = 1 there: |p| = |v|
    jump = 1 + 7.378697629483821e+19
    assert moved[0, 0] >= p[0] * jump / eps and moved[0, 2] >= p[2] * jump / eps
    assert moved[0, 1] == pytest.approx(plain[0, 1], rel=1e-6)  # the same side: nothing


@pytest.mark.parametrize("impl", ["torch", "jax"])
def test_a_branch_taken_after_in_tolerance_differences_is_no_failure(impl):
    if not get(impl).available:
        pytest.skip(f"{impl} is not installed")
    from harness.fuzz_verdict import check
    verdict = check(spec_from_dict(ACROSS), impl, "reference")
    assert verdict is not None and verdict.status == "pass", verdict.message


def test_the_v_bound_of_a_pinned_output_by_hand():
    """|v| + M(u) x the batch's scale + tiny / eps; for poisson also |y| x scale x (M(u) +
    (t + tiny/2 + (tiny/2) t/u) / u), the rounding of r = t/u when u and t are near tiny. At
    u = 2^-1000 and t = 2^-1001 every term is exact in float64: r = 1/2 + 1.5 x 2^-23 (t tiny,
    multiplied first, would underflow to 0 and lose its 2^-24). A rate whose t/u overflows
    gives inf, quietly, whatever the caller's errstate."""
    from harness.tolerance import pinned_v
    eps, tiny = 2.0 ** -52, 2.0 ** -1022
    one = np.array([1.0])
    assert pinned_v("binary_cross_entropy", np, 0 * one, 0 * one, one, one, one, 0.5, eps,
                    tiny)[0] == 2.0 ** -970
    assert pinned_v("binary_cross_entropy", np, 0.25 * one, 0.5 * one, one, one, one, 0.5,
                    eps, tiny)[0] == 0.5 + 2.0 ** -970
    u, t, mu = 2.0 ** -1000 * one, 2.0 ** -1001 * one, 2.0 ** -20 * one
    got = pinned_v("poisson", np, one, mu, u, -2 * one, t, 0.5, eps, tiny)[0]
    ratio = 0.5 + 1.5 * 2.0 ** -23
    assert got == pytest.approx(1 + 2.0 ** -21 + 2.0 ** -20 + ratio, rel=1e-15)
    with np.errstate(all="raise"):
        big = pinned_v("poisson", np, one, mu, 2.0 ** -1074 * one, one, one, 0.5, eps, tiny)
    assert big[0] == np.inf
