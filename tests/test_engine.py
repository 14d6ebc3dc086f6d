"""The reference engine against independent truths: central differences and the VJP identity."""

import itertools

import numpy as np
import pytest

from conftest import random_spec
from impls.reference import ACTIVATIONS, LOSSES
from harness.registry import get
from impls.reference import Network, activation, loss

POINTS = np.array([-40.0, -12.5, -3.0, -1.0, -0.3, -1e-3, 1e-3, 0.3, 1.0, 2.5, 12.5, 40.0])


def central(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_derivative_is_central_difference_of_f(name):
    act = activation(name, slope=0.1)
    d = POINTS.copy()
    h = 1e-6 * np.maximum(1.0, np.abs(d))
    fd = central(act.f, d, h)
    # central differences lose about eps |f| / h to rounding (~2e-11 at d = 40)
    np.testing.assert_allclose(act.t(d, act.f(d)), fd, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("name, slope_at_0", [("relu", 0.0), ("leaky_relu", 0.1), ("elu", 1.0)])
def test_derivative_conventions_at_the_kink(name, slope_at_0):
    act = activation(name, slope=0.1)
    d = np.array([0.0])
    assert act.t(d, act.f(d))[0] == slope_at_0
    # either one-sided difference agrees with the convention chosen (left for relu, leaky_relu)
    left = (act.f(d) - act.f(d - 1e-7)) / 1e-7
    assert left[0] == pytest.approx(slope_at_0, abs=1e-6)


def test_softplus_and_sigmoid_are_stable_for_large_inputs():
    act = activation("softplus")
    d = np.array([-1000.0, -50.0, 50.0, 1000.0])
    np.testing.assert_allclose(act.f(d), [0.0, np.exp(-50.0), 50.0, 1000.0], rtol=1e-15)
    s = activation("sigmoid").f(d)
    assert np.all(np.isfinite(s)) and s[0] == 0.0 and s[-1] == 1.0
    assert s[1] == pytest.approx(np.exp(-50.0), rel=1e-14)


def test_gelu_and_gelu_tanh_are_distinct_and_right():
    d = np.array([-2.0, -0.5, 0.5, 2.0])
    import math
    exact = [x * 0.5 * (1 + math.erf(x / math.sqrt(2))) for x in d]
    np.testing.assert_allclose(activation("gelu").f(d), exact, rtol=1e-15)
    approx = activation("gelu_tanh").f(d)
    assert np.all(np.abs(approx - exact) > 1e-6)  # two different functions
    np.testing.assert_allclose(approx, exact, atol=2e-3)


@pytest.mark.parametrize("name", LOSSES)
def test_loss_derivative_is_central_difference(name, rng):
    u = rng.uniform(0.05, 0.95, (3, 4)) if name == "binary_cross_entropy" else rng.normal(0, 3, (3, 4))
    y = {"softmax_cross_entropy": rng.dirichlet(np.ones(4), 3),
         "binary_cross_entropy": rng.uniform(0, 1, (3, 4))}.get(name, rng.normal(0, 1, (3, 4)))
    lf = loss(name)
    fd = np.zeros_like(u)
    for i, j in itertools.product(range(3), range(4)):
        def e(x):
            uu = u.copy()
            uu[i, j] = x
            return lf.fe(uu, y)[i]
        fd[i, j] = central(e, u[i, j], 1e-6)
    np.testing.assert_allclose(lf.te(u, y), fd, rtol=1e-7, atol=1e-9)


def test_softmax_cross_entropy_with_huge_logits_is_finite():
    u = np.array([[1000.0, 0.0, -1000.0]])
    y = np.array([[0.0, 1.0, 0.0]])
    lf = loss("softmax_cross_entropy")
    assert lf.fe(u, y)[0] == pytest.approx(1000.0, rel=1e-15)
    np.testing.assert_allclose(lf.te(u, y), [[1.0, -1.0, 0.0]], atol=1e-300)


def _loss_of(net, x, y):
    return float(net.backward(net.forward(x), y).e)


CASES = [(acts, lossname, red, batch, depth)
         for (acts, lossname, red, batch, depth) in [
             ("sigmoid", "squared_error", "sum", 1, 1), ("tanh", "mse", "mean", 4, 2),
             ("relu", "squared_error", "mean", 3, 3), ("leaky_relu", "mse", "sum", 2, 4),
             ("softplus", "softmax_cross_entropy", "sum", 3, 2),
             ("elu", "softmax_cross_entropy", "mean", 1, 5),
             ("silu", "binary_cross_entropy", "sum", 3, 3),
             ("gelu", "binary_cross_entropy", "mean", 2, 2),
             ("gelu_tanh", "squared_error", "sum", 5, 5), ("identity", "mse", "mean", 2, 1)]]


@pytest.mark.parametrize("act, lossname, red, batch, depth", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}-b{c[3]}-L{c[4]}" for c in CASES])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradients_and_v_are_central_differences(act, lossname, red, batch, depth, seed):
    sizes = [3] + [4] * (depth - 1) + [2]
    spec = random_spec(sizes, act, lossname, seed=seed, batch=batch, reduction=red)
    net = Network.from_spec(spec)
    x, y = spec.inputs, spec.targets
    grads = net.backward(net.forward(x), y)
    h = 1e-6
    for k in range(depth):
        for params, g in ((net.weights[k], grads.g_weights[k]), (net.biases[k], grads.g_bias[k])):
            fd = np.zeros_like(params)
            for idx in np.ndindex(params.shape):
                keep = params[idx]
                params[idx] = keep + h
                up = _loss_of(net, x, y)
                params[idx] = keep - h
                down = _loss_of(net, x, y)
                params[idx] = keep
                fd[idx] = (up - down) / (2 * h)
            np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
        # v[s, j] = de/dd_j for sample s: the bias gradient of sample s alone (scaled for mean)
        for s in range(batch):
            alone = net.backward(net.forward(x[s:s + 1]), y[s:s + 1])
            scale = 1 / batch if red == "mean" else 1.0
            np.testing.assert_allclose(grads.v[k][s], alone.g_bias[k] * scale, rtol=1e-12,
                                       atol=1e-15)


@pytest.mark.parametrize("act", ["tanh", "gelu", "softplus", "sigmoid"])
def test_vjp_identity_in_a_random_direction(act, rng):
    """<c, J t> = <t, J^T c>: J t by central differences of the outputs u along a random
    parameter direction t; J^T c by the engine's backward with te = c (targets u - c)."""
    spec = random_spec([4, 6, 5, 3], act, "squared_error", seed=7, batch=4)
    net = Network.from_spec(spec)
    x = spec.inputs
    u = net.forward(x).u
    c = rng.normal(size=u.shape)
    grads = net.backward(net.forward(x), u - c)
    t = [(rng.normal(size=w.shape), rng.normal(size=b.shape))
         for w, b in zip(net.weights, net.biases)]
    jt_c = sum((gw * tw).sum() + (gb * tb).sum()
               for (gw, gb), (tw, tb) in zip(zip(grads.g_weights, grads.g_bias), t))

    def outputs(eps):
        moved = Network([w + eps * tw for w, (tw, _) in zip(net.weights, t)],
                        [b + eps * tb for b, (_, tb) in zip(net.biases, t)],
                        [a.name for a in net.activations])
        return moved.forward(x).u

    j_t = (outputs(1e-6) - outputs(-1e-6)) / 2e-6
    assert (c * j_t).sum() == pytest.approx(jt_c, rel=1e-7)


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("lossname", LOSSES)
def test_float32_stays_float32_and_agrees_with_float64(act, lossname):
    s32 = random_spec([3, 5, 2], act, lossname, seed=3, batch=4, dtype="float32", steps=2)
    s64 = random_spec([3, 5, 2], act, lossname, seed=3, batch=4, dtype="float64", steps=2)
    ref = get("reference").impl
    t32, t64 = ref.trace(s32), ref.trace(s64)
    for st32, st64 in zip(t32.steps, t64.steps):
        assert np.asarray(st32.loss).dtype == np.float32
        assert st32.outputs.dtype == np.float32
        for l32, l64 in zip(st32.layers, st64.layers):
            for q in ("d", "h", "v", "grad_weights", "grad_bias"):
                a = getattr(l32, q)
                assert a.dtype == np.float32, q
                # the float32 spec holds the float64 numbers rounded once: float32 precision
                np.testing.assert_allclose(a, getattr(l64, q), rtol=2e-4,
                                           atol=2e-5 * np.abs(getattr(l64, q)).max())
        assert float(st32.loss) == pytest.approx(float(st64.loss), rel=2e-5)
    for p in t32.params:
        assert p["weights"].dtype == np.float32 and p["bias"].dtype == np.float32


def test_fit_returns_losses_and_trains(seed_spec):
    net = Network.from_spec(seed_spec)
    losses = net.fit(seed_spec.inputs, seed_spec.targets, 0.5, steps=50)
    assert float(losses[0]) == pytest.approx(0.298371109, abs=1e-9)
    assert all(float(b) < float(a) for a, b in zip(losses, losses[1:]))


def test_network_rejects_wrong_shapes():
    net = Network.from_sizes([2, 3, 1], seed=0)
    with pytest.raises(ValueError, match=r"inputs: expected shape \(batch, 2\), got \(4, 3\)"):
        net.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="targets: 2 rows for a batch of 4"):
        net.backward(net.forward(np.zeros((4, 2))), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="layer 1: weights have 4 columns"):
        Network([np.zeros((3, 2)), np.zeros((1, 4))], [np.zeros(3), np.zeros(1)], "tanh")


def test_from_sizes_takes_the_form_as_the_constructor_does():
    """form="accurate" reaches the activations: sigmoid's t at d = 40 is e^-40 (4.2e-18),
    where the textbook h(1 - h) is 0 because h rounds to 1; the weights are the same draw."""
    textbook = Network.from_sizes([1, 1], "sigmoid", seed=0)
    accurate = Network.from_sizes([1, 1], "sigmoid", seed=0, form="accurate")
    np.testing.assert_array_equal(textbook.weights[0], accurate.weights[0])
    d = np.array([[40.0]])
    assert textbook.activations[0].t(d, textbook.activations[0].f(d))[0, 0] == 0.0
    t = accurate.activations[0].t(d, accurate.activations[0].f(d))[0, 0]
    assert t == pytest.approx(np.exp(-40.0), rel=1e-14)
    with pytest.raises(ValueError, match="unknown form 'exact'"):
        Network.from_sizes([1, 1], seed=0, form="exact")
    assert "form" in Network.__init__.__doc__ and "slopes" in Network.__init__.__doc__


def test_stacked_networks_match_one_at_a_time():
    nets = [Network.from_sizes([3, 4, 2], "tanh", "mse", seed=s) for s in range(3)]
    x = np.random.default_rng(0).normal(size=(3, 5, 3))
    y = np.random.default_rng(1).normal(size=(3, 5, 2))
    stacked = Network([np.stack([n.weights[k] for n in nets]) for k in range(2)],
                      [np.stack([n.biases[k] for n in nets]) for k in range(2)], "tanh", "mse")
    g = stacked.backward(stacked.forward(x), y)
    for i, n in enumerate(nets):
        gi = n.backward(n.forward(x[i]), y[i])
        np.testing.assert_allclose(g.g_weights[0][i], gi.g_weights[0], rtol=1e-14)
        np.testing.assert_allclose(g.v[0][i], gi.v[0], rtol=1e-14)
        assert g.e[i] == pytest.approx(float(gi.e), rel=1e-15)


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("lossname, reduction", [("mse", "mean"), ("softmax_cross_entropy", "sum"),
                                                  ("binary_cross_entropy", "mean")])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_train_step_is_forward_backward_step_bit_for_bit(act, lossname, reduction, dtype):
    spec = random_spec([4, 6, 5, 3], act, lossname, seed=9, batch=5, reduction=reduction,
                       dtype=dtype)
    a, b = Network.from_spec(spec), Network.from_spec(spec)
    for _ in range(3):
        grads = a.backward(a.forward(spec.inputs), spec.targets)
        a.step(grads, 0.1)
        e = b.train_step(spec.inputs, spec.targets, 0.1)
        assert e == grads.e and np.asarray(e).dtype == np.dtype(dtype)
    for wa, wb in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(wa, wb)
        assert wb.dtype == np.dtype(dtype)
