"""The seed's 2-2-2 network, derived by hand neuron by neuron with the seed's formulas.

Scalar arithmetic with the math module, written out per neuron (no numpy, no loops over
layers), checked against the engine; the published values of this classic example (Mazur's
worked backpropagation example uses the same numbers) are checked to their 9 printed digits.
"""

import math

import numpy as np
import pytest

from harness.registry import get
from impls.reference import Network


def close(actual, expected, rtol):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), expected, rtol=rtol, atol=0)


def sig(d):
    return 1 / (1 + math.exp(-d))


@pytest.fixture
def hand():
    """Every quantity of the seed network, one scalar at a time."""
    x1, x2, y1, y2, r = 0.05, 0.10, 0.01, 0.99, 0.5
    w1, w2, w3, w4, b1 = 0.15, 0.20, 0.25, 0.30, 0.35
    w5, w6, w7, w8, b2 = 0.40, 0.45, 0.50, 0.55, 0.60
    d1 = x1 * w1 + x2 * w2 + b1          # N1
    d2 = x1 * w3 + x2 * w4 + b1          # N2
    h1, h2 = sig(d1), sig(d2)
    d3 = h1 * w5 + h2 * w6 + b2          # N3
    d4 = h1 * w7 + h2 * w8 + b2          # N4
    u1, u2 = sig(d3), sig(d4)
    e = 0.5 * (u1 - y1) ** 2 + 0.5 * (u2 - y2) ** 2
    # loss node: te = u - y (we1 = we2 = 1); output v = te * t(d), t = h (1 - h)
    v3 = (u1 - y1) * 1 * u1 * (1 - u1)
    v4 = (u2 - y2) * 1 * u2 * (1 - u2)
    # hidden v = sum(v w) * t(d)
    v1 = (v3 * w5 + v4 * w7) * h1 * (1 - h1)
    v2 = (v3 * w6 + v4 * w8) * h2 * (1 - h2)
    g = {"w1": v1 * x1, "w2": v1 * x2, "w3": v2 * x1, "w4": v2 * x2,
         "w5": v3 * h1, "w6": v3 * h2, "w7": v4 * h1, "w8": v4 * h2,
         "b1_1": v1, "b1_2": v2, "b2_1": v3, "b2_2": v4}
    new = {k: w - r * g[k] for k, w in
           dict(w1=w1, w2=w2, w3=w3, w4=w4, w5=w5, w6=w6, w7=w7, w8=w8).items()}
    return dict(d=[[d1, d2], [d3, d4]], h=[[h1, h2], [u1, u2]], v=[[v1, v2], [v3, v4]], e=e,
                g=g, new=new, new_b=[[b1 - r * v1, b1 - r * v2], [b2 - r * v3, b2 - r * v4]])


def test_published_values(hand):
    assert hand["d"][0][0] == pytest.approx(0.3775, abs=1e-12)
    assert hand["h"][0][0] == pytest.approx(0.593269992, abs=5e-10)
    assert hand["h"][0][1] == pytest.approx(0.596884378, abs=5e-10)
    assert hand["h"][1][0] == pytest.approx(0.75136507, abs=5e-9)
    assert hand["h"][1][1] == pytest.approx(0.772928465, abs=5e-10)
    assert hand["e"] == pytest.approx(0.298371109, abs=5e-10)
    assert hand["new"]["w5"] == pytest.approx(0.35891648, abs=5e-9)
    assert hand["new"]["w1"] == pytest.approx(0.149780716, abs=5e-10)
    assert hand["new"]["w8"] == pytest.approx(0.561370121, abs=5e-10)


def test_engine_matches_hand_derivation(seed_spec, hand):
    net = Network.from_spec(seed_spec)
    fwd = net.forward(seed_spec.inputs)
    grads = net.backward(fwd, seed_spec.targets)
    for layer in range(2):
        close(fwd.d[layer][0], hand["d"][layer], 1e-15)
        close(fwd.h[layer][0], hand["h"][layer], 1e-15)
        close(grads.v[layer][0], hand["v"][layer], 1e-14)
    assert float(grads.e) == pytest.approx(hand["e"], rel=1e-15)
    g = hand["g"]
    close(grads.g_weights[0], [[g["w1"], g["w2"]], [g["w3"], g["w4"]]], 1e-14)
    close(grads.g_weights[1], [[g["w5"], g["w6"]], [g["w7"], g["w8"]]], 1e-14)
    close(grads.g_bias[0], [g["b1_1"], g["b1_2"]], 1e-14)
    close(grads.g_bias[1], [g["b2_1"], g["b2_2"]], 1e-14)
    net.step(grads, seed_spec.learning_rate)
    n = hand["new"]
    close(net.weights[0], [[n["w1"], n["w2"]], [n["w3"], n["w4"]]], 1e-15)
    close(net.weights[1], [[n["w5"], n["w6"]], [n["w7"], n["w8"]]], 1e-15)
    close(net.biases[0], hand["new_b"][0], 1e-15)
    close(net.biases[1], hand["new_b"][1], 1e-15)


def test_reference_trace_holds_the_same_numbers(seed_spec, hand):
    trace = get("reference").impl.trace(seed_spec)
    step = trace.steps[0]
    assert float(step.loss) == pytest.approx(hand["e"], rel=1e-15)
    close(step.outputs[0], hand["h"][1], 1e-15)
    close(step.layers[1].v[0], hand["v"][1], 1e-14)
    close(trace.params[1]["weights"][0], [hand["new"]["w5"], hand["new"]["w6"]], 1e-15)
