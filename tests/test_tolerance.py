"""The tolerance model against a worked case: a 1-1-1 tanh network with squared error, one
sample, two steps, whose magnitudes M are the recurrences of harness/tolerance.py's docstring
written out by hand on scalars. Then each quantity moved to just inside and just outside its
tolerance atol + rtol * M: the first must pass, the second fail."""

import copy
import math

import numpy as np
import pytest

from harness.compare import compare_traces, quantities
from harness.registry import get
from harness.spec import spec_from_dict
from harness.tolerance import Tolerance, magnitudes

EPS = 2.0 ** -52
X, W, B, Y, R = 0.5, (0.8, -1.5), (0.1, 0.3), 0.25, 0.1
SPEC = spec_from_dict({
    "name": "worked", "loss": "squared_error", "learning_rate": R, "steps": 2,
    "inputs": [[X]], "targets": [[Y]],
    "layers": [{"weights": [[W[0]]], "bias": [B[0]], "activation": "tanh"},
               {"weights": [[W[1]]], "bias": [B[1]], "activation": "tanh"}]})


def hand_magnitudes():
    """M of every quantity, step by step, on scalars. tanh's rounding: m_f = 2|h|,
    m_t = 1 + h^2, |t'| <= 2t. One input and one neuron per layer: sqrt(n_in + 1) = sqrt 2,
    sqrt(batch) = sqrt(n') = 1. The underflow terms (tiny / eps = 1e-292) are below these
    numbers' last bits and left out; so is the drift (the trace is compared with itself)."""
    w, b = list(W), list(B)
    rw, rb = [0.0, 0.0], [0.0, 0.0]  # the rounding of the updates so far: |W| + r|g| each
    c = math.sqrt(2)
    out = []
    for step in range(2):
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
