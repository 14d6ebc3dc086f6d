"""The reference engine against independent truths: central differences and the VJP identity."""

import itertools
import math
import warnings

import numpy as np
import pytest

from conftest import needs, random_spec
from impls.reference import ACTIVATIONS, LOSSES
from harness.registry import get
from impls.reference import Network, activation, loss

POINTS = np.array([-40.0, -12.5, -3.0, -1.0, -0.3, -1e-3, 1e-3, 0.3, 1.0, 2.5, 12.5, 40.0])


def central(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_derivative_is_central_difference_of_f(name):
    act = activation(name, slope=0.1)
    d = POINTS[[all(abs(x - k) > 1e-3 for k in act.kinks) for x in POINTS]]
    assert len(d) >= len(POINTS) - 2  # a kink's own d is a convention (tested below)
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


# Targets of every shape the spec format allows for each loss (harness/spec.py checks only
# softmax cross-entropy's y >= 0 and binary cross-entropy's 0 <= y <= 1): rows that do not sum
# to 1, all-zero rows, negative targets and targets above 1, the end points 0 and 1.
TARGETS = {
    "squared_error": {"normal": lambda rng: rng.normal(0, 3, (3, 4)),
                      "beyond-outputs": lambda rng: rng.uniform(5, 50, (3, 4))
                      * rng.choice([-1, 1], (3, 4))},
    "softmax_cross_entropy": {
        "one-hot": lambda rng: np.eye(4)[[0, 3, 1]],
        "sums-not-1": lambda rng: rng.dirichlet(np.ones(4), 3) * [[0.3], [2.5], [7.0]],
        "zeros": lambda rng: np.array([[0.0, 0, 0, 0], [0, 2, 0, 0], [0.5, 0, 0.25, 0]])},
    "binary_cross_entropy": {"soft": lambda rng: rng.uniform(0, 1, (3, 4)),
                             "end-points": lambda rng: np.array([[0.0, 1, 0, 1], [1, 1, 1, 1],
                                                                 [0, 0.5, 1, 0]])},
}
TARGETS["mse"] = TARGETS["l1"] = TARGETS["huber"] = TARGETS["log_cosh"] = TARGETS["squared_error"]
TARGETS.update({
    "kl_divergence": {"distribution": lambda rng: rng.dirichlet(np.ones(4), 3),
                      "zeros": lambda rng: np.array([[0.0, 1, 0, 0], [0, 0.5, 0, 0.5],
                                                     [0, 0, 0, 0]])},
    "poisson": {"counts": lambda rng: rng.poisson(2.0, (3, 4)).astype(float),
                "rates": lambda rng: rng.uniform(0, 5, (3, 4))},
    "hinge": {"signs": lambda rng: rng.choice([-1.0, 1.0], (3, 4))},
    "bce_with_logits": TARGETS["binary_cross_entropy"]})
U = {"binary_cross_entropy": lambda rng: rng.uniform(0.05, 0.95, (3, 4)),
     "poisson": lambda rng: rng.uniform(0.05, 5, (3, 4))}
TARGET_CASES = [(name, kind) for name in LOSSES for kind in TARGETS[name]]


def test_every_loss_has_targets_for_its_gradient_test():
    assert sorted(TARGETS) == sorted(LOSSES)


@pytest.mark.parametrize("name, kind", TARGET_CASES, ids=[f"{n}-{k}" for n, k in TARGET_CASES])
def test_loss_derivative_is_central_difference(name, kind, rng):
    u = U.get(name, lambda rng: rng.normal(0, 3, (3, 4)))(rng)
    y = TARGETS[name][kind](rng)
    lf = loss(name)
    fd = np.zeros_like(u)
    for i, j in itertools.product(range(3), range(4)):
        def e(x):
            uu = u.copy()
            uu[i, j] = x
            return lf.fe(uu, y)[i]
        fd[i, j] = central(e, u[i, j], 1e-6)
    # central differences lose about eps |fe| / h = 2e-10 |fe| to rounding (|fe| reaches 1e4)
    atol = 1e-9 * max(1.0, np.abs(lf.fe(u, y)).max())
    np.testing.assert_allclose(lf.te(u, y), fd, rtol=1e-7, atol=atol)


def test_loss_values_at_a_worked_point():
    u = np.array([[0.25, 0.5, 0.75]])
    lse = math.log(math.exp(0.25) + math.exp(0.5) + math.exp(0.75))
    want = {"squared_error": ([[1.0, -1.0, 0.5]], 0.5 * (0.5625 + 2.25 + 0.0625)),
            "mse": ([[1.0, -1.0, 0.5]], (0.5625 + 2.25 + 0.0625) / 3),
            "softmax_cross_entropy": ([[0.0, 2.0, 0.5]], 2 * (lse - 0.5) + 0.5 * (lse - 0.75)),
            "binary_cross_entropy": ([[0.0, 1.0, 0.5]], -(math.log(0.75) + math.log(0.5)
                                                          + 0.5 * math.log(0.75 * 0.25))),
            "l1": ([[1.0, -1.0, 0.5]], (0.75 + 1.5 + 0.25) / 3),
            "huber": ([[1.0, -1.0, 0.5]], (0.5 * 0.5625 + (1.5 - 0.5) + 0.5 * 0.0625) / 3),
            "log_cosh": ([[1.0, -1.0, 0.5]], sum(math.log(math.cosh(r))
                                                  for r in (-0.75, 1.5, 0.25)) / 3),
            "kl_divergence": ([[0.0, 0.5, 0.5]], 0.5 * (math.log(0.5) - 0.5)
                              + 0.5 * (math.log(0.5) - 0.75)),
            "poisson": ([[0.0, 2.0, 1.0]], (0.25 + 0.5 - 2 * math.log(0.5) + 0.75
                                            - math.log(0.75)) / 3),
            "hinge": ([[1.0, -1.0, 1.0]], (0.75 + 1.5 + 0.25) / 3),
            "bce_with_logits": ([[0.0, 1.0, 0.5]], sum(math.log1p(math.exp(a)) - b * a for a, b in
                                                       ((0.25, 0), (0.5, 1), (0.75, 0.5))))}
    for name, (y, e) in want.items():
        got = loss(name).fe(u, np.array(y))
        assert got.shape == (1,) and got[0] == pytest.approx(e, rel=1e-14), name


def test_binary_cross_entropy_of_saturated_outputs_on_matching_targets_is_zero():
    """u = 0 or 1 exactly (a saturated sigmoid) where the target agrees: the terms weighted 0
    contribute 0, with no NaN and no warning from log(0)."""
    u, y = np.array([[0.0, 1.0, 0.0], [1.0, 1.0, 0.0]]), np.array([[0.0, 1.0, 0.0], [1.0, 1, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(loss("binary_cross_entropy").fe(u, y), [0.0, 0.0])


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
            # the scale of the layer's numbers: a sum that cancels (l1's and hinge's te of
            # +-1/n) keeps float32's rounding of its terms, not of its float64 result
            scale = max(np.abs(getattr(l64, q)).max() for q in ("v", "grad_weights"))
            for q in ("d", "h", "v", "grad_weights", "grad_bias"):
                a = getattr(l32, q)
                assert a.dtype == np.float32, q
                # the float32 spec holds the float64 numbers rounded once: float32 precision
                np.testing.assert_allclose(a, getattr(l64, q), rtol=2e-4, atol=2e-5 * max(
                    np.abs(getattr(l64, q)).max(), scale if q.startswith(("v", "grad")) else 0))
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



@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16"])
def test_train_step_of_stacked_and_16_bit_networks_is_the_three_calls_bit_for_bit(dtype):
    """Leading axes of stacked networks, and 16-bit products accumulated in float32: train_step
    (and fit without a callback, which runs it) leaves the parameters and returns the losses
    that forward, backward and step do."""
    rng = np.random.default_rng(4)
    ws = [rng.normal(size=(3, 5, 4)), rng.normal(size=(3, 2, 5))]
    bs = [rng.normal(size=(3, 5)), rng.normal(size=(3, 2))]
    x, y = rng.normal(size=(3, 6, 4)), rng.normal(size=(3, 6, 2))
    a, b, c = (Network(ws, bs, ["gelu", "sigmoid"], "mse", "mean", dtype=dtype)
               for _ in range(3))
    seen = []
    losses = a.fit(x, y, 0.1, steps=3, callback=lambda k, fwd, grads: seen.append(k))
    assert seen == [0, 1, 2]
    for e_a, e_b in zip(losses, [b.train_step(x, y, 0.1) for _ in range(3)]):
        np.testing.assert_array_equal(e_a, e_b)
    np.testing.assert_array_equal(np.array(losses), np.array(c.fit(x, y, 0.1, steps=3)))
    for wa, wb, wc in zip(a.weights + a.biases, b.weights + b.biases, c.weights + c.biases):
        np.testing.assert_array_equal(wa, wb)
        np.testing.assert_array_equal(wa, wc)
        assert wb.dtype == wa.dtype and wb.shape == wa.shape


def test_train_step_holds_one_gradient_at_a_time():
    """Four 512x512 layers, batch 64, float64: each gradient is 2 MiB and every d and h of the
    pass 2 MiB together. train_step's peak (tracemalloc, which counts NumPy's buffers) stays
    under the pass plus one gradient plus four batch-sized temporaries (v, its product with
    W, t, te: 256 KiB each); keeping a second gradient alive goes over. forward, backward and
    step, which keep all four, peak above 11 MiB."""
    import tracemalloc
    net = Network.from_sizes([512] * 5, "tanh", "mse", seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 512)), rng.normal(size=(64, 512))
    net.train_step(x, y, 0.01)
    tracemalloc.start()
    try:
        net.train_step(x, y, 0.01)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    mib = 2 ** 20
    assert 2 * mib + 2 * mib <= peak < 2 * mib + 2 * mib + 4 * 64 * 512 * 8


def _exact_activations(mp):
    """f of every activation that has an accurate form, in mpmath (50 digits)."""
    s = lambda d: 1 / (1 + mp.exp(-d))  # noqa: E731
    z = lambda d: mp.sqrt(2 / mp.pi) * (d + mp.mpf("0.044715") * d ** 3)  # noqa: E731
    return {"sigmoid": s, "tanh": mp.tanh, "silu": lambda d: d * s(d),
            "gelu": lambda d: d * mp.ncdf(d), "gelu_tanh": lambda d: d * (1 + mp.tanh(z(d))) / 2}


@needs("mpmath")
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "silu", "gelu", "gelu_tanh"])
def test_accurate_forms_match_mpmath_in_the_tails(name):
    """form="accurate": f and t within 1e-12 relative of mpmath's f and its derivative, at
    points where the seed forms cancel (t = h(1 - h) loses digits as h nears 1): there the
    seed forms are off by 0.1% (sigmoid's t, gelu's t) to 100% (tanh's t, gelu's f). gelu's
    Phi(-30) = erfc(30 / sqrt 2) / 2 amplifies the rounding of its argument 2 z^2 = 900
    times, which is the 1e-13 seen."""
    import mpmath as mp
    exact = _exact_activations(mp)[name]
    act = activation(name, form="accurate")
    d = np.array([-30.0, -8.0, -0.7, 0.7, 8.0, 30.0])
    h = act.f(d)
    with mp.workdps(50):
        f_exact = [float(exact(mp.mpf(x))) for x in d]
        t_exact = [float(mp.diff(exact, mp.mpf(x))) for x in d]
    np.testing.assert_allclose(h, f_exact, rtol=1e-12, atol=0)
    np.testing.assert_allclose(act.t(d, h), t_exact, rtol=1e-12, atol=0)


def test_an_unknown_form_raises():
    with pytest.raises(ValueError, match=r"unknown form 'exact' \(known: seed, accurate\)"):
        activation("tanh", form="exact")
    assert activation("relu", form="accurate").t is not None  # no accurate form: the seed's


@pytest.mark.parametrize("args, message", [
    (([np.zeros((2, 2))], [np.zeros(2), np.zeros(2)], "tanh"), "1 weight matrices but 2 bias"),
    (([np.zeros((2, 2))], [np.zeros(2)], ["tanh", "relu"]), "1 layers but 2 activations"),
    (([np.zeros((2, 2))], [np.zeros(3)], "tanh"), r"layer 0: weights \(2, 2\) and bias \(3,\)"),
    (([np.zeros(2)], [np.zeros(2)], "tanh"), r"layer 0: weights \(2,\) and bias \(2,\)"),
])
def test_network_rejects_inconsistent_layers(args, message):
    with pytest.raises(ValueError, match=message):
        Network(*args)
    with pytest.raises(ValueError, match="unknown reduction 'avg'"):
        Network([np.zeros((2, 2))], [np.zeros(2)], "tanh", reduction="avg")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_16_bit_networks_accumulate_in_float32_and_round_once(dtype):
    """The accumulation model of the module's docstring, step by step on one layer: x W^T
    in float32 rounded, plus b rounded; f in float32 rounded; the mean loss accumulated in
    float32 and rounded once; the gradient x^T v in float32 rounded."""
    dt = np.dtype(dtype)
    rng = np.random.default_rng(3)
    x, w, b = (rng.normal(size=s).astype(dt) for s in ((5, 7), (3, 7), (3,)))
    y = rng.normal(size=(5, 3)).astype(dt)
    net = Network([w], [b], "tanh", "mse", "mean", dtype=dtype)
    fwd = net.forward(x)
    f32 = np.float32
    d = (x.astype(f32) @ w.astype(f32).T).astype(dt) + b
    h = np.tanh(d.astype(f32)).astype(dt)
    np.testing.assert_array_equal(fwd.d[0], d)
    np.testing.assert_array_equal(fwd.h[0], h)
    grads = net.backward(fwd, y)
    per_sample = ((h.astype(f32) - y.astype(f32)) ** 2).mean(axis=-1).astype(dt)
    assert grads.e.dtype == dt and grads.e == per_sample.astype(f32).mean().astype(dt)
    assert grads.g_weights[0].dtype == dt
    np.testing.assert_array_equal(
        grads.g_weights[0], (grads.v[0].astype(f32).T @ x.astype(f32)).astype(dt))
    np.testing.assert_array_equal(grads.g_bias[0], grads.v[0].astype(f32).sum(axis=0).astype(dt))
    assert grads.g_bias[0].dtype == dt


def test_network_parameters_take_the_networks_dtype_and_name_their_layer():
    net = Network([np.ones((3, 2))], [np.zeros(3)], "tanh", dtype="float32")
    assert net.weights[0].dtype == np.float32 and net.biases[0].dtype == np.float32
    with pytest.raises(ValueError, match=r"^layer 1: weights have 4 columns, layer 0 has 3 "
                                         r"neurons$"):
        Network([np.zeros((3, 2)), np.zeros((1, 4))], [np.zeros(3), np.zeros(1)], "tanh")
    with pytest.raises(ValueError, match=r"^targets: expected shape \(batch, 3\), got \(4, 2\)$"):
        net.backward(net.forward(np.zeros((4, 2))), np.zeros((4, 2)))


def test_from_sizes_draws_xavier_normal_weights_and_small_biases():
    net = Network.from_sizes([2, 3, 1], seed=5)
    rng = np.random.default_rng(5)
    w0, w1 = rng.normal(0, np.sqrt(2 / 5), (3, 2)), rng.normal(0, np.sqrt(2 / 4), (1, 3))
    np.testing.assert_array_equal(net.weights[0], w0)
    np.testing.assert_array_equal(net.weights[1], w1)
    np.testing.assert_array_equal(net.biases[0], rng.normal(0, 0.1, 3))


@pytest.mark.parametrize("name", LOSSES)
def test_losses_of_stacked_networks_are_each_networks_own(name):
    """A leading axis of 2 networks: fe, te and the rounding terms of each are those of the
    network alone (every reduction runs over the last axis)."""
    rng = np.random.default_rng(8)
    u = rng.uniform(0.05, 0.95, (2, 3, 4))
    y = rng.uniform(0, 1, (2, 3, 4))
    lf = loss(name)
    mu = rng.uniform(0, 2, (2, 3, 4))
    stacked = (lf.fe(u, y), lf.te(u, y), *lf.rounding(np, u, y, mu, 1e-3))
    for i in range(2):
        alone = (lf.fe(u[i], y[i]), lf.te(u[i], y[i]), *lf.rounding(np, u[i], y[i], mu[i], 1e-3))
        for a, b in zip(stacked, alone):
            np.testing.assert_allclose(a[i], b, rtol=1e-14)


def test_the_seed_form_is_the_seeds_formula_even_where_it_cancels():
    """sigmoid's seed t = h(1 - h) is 0 at d = 40 (h rounds to 1); the accurate form is not."""
    d = np.array([40.0])
    seed, accurate = activation("sigmoid"), activation("sigmoid", form="accurate")
    assert seed.t(d, seed.f(d))[0] == 0.0
    assert accurate.t(d, accurate.f(d))[0] == pytest.approx(math.exp(-40.0), rel=1e-15)


def test_from_spec_keeps_the_slopes_and_from_sizes_the_dtype():
    """A leaky_relu slope of 0.2, not the default 0.01: h = 0.2 d for d < 0; from_sizes's
    dtype is the arrays'."""
    from harness.spec import spec_from_dict
    spec = spec_from_dict({"name": "s", "loss": "squared_error", "learning_rate": 0.1,
                           "inputs": [[1.0]], "targets": [[0.0]],
                           "layers": [{"weights": [[-2.0]], "bias": [0.0],
                                       "activation": "leaky_relu", "slope": 0.2}]})
    h = Network.from_spec(spec).forward(spec.inputs).h[0]
    assert h[0, 0] == 0.2 * -2.0
    net = Network.from_sizes([3, 2], seed=1, dtype="float32")
    assert net.weights[0].dtype == net.biases[0].dtype == np.float32


NEW_ACTIVATIONS = ["relu6", "selu", "celu", "log_sigmoid", "softsign", "mish", "hard_sigmoid",
                   "hard_swish", "hard_tanh"]


@needs("mpmath")
@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
def test_new_activations_match_mpmath_at_their_special_points(name):
    """f and t (accurate form) at each special point of the record, exactly and one ulp to
    either side in float64, against the exact oracle's mpmath forms (impls/exact.py) and t
    against mpmath's own numerical derivative of f: 1e-13 relative, or within the smallest
    normal number where the value is subnormal. At a kink t is the record's convention,
    which mp.diff cannot see (nor one ulp beside it, within its step), and where t is below
    1e-40 |f| mp.diff's 50 digits do not reach it: there only the oracle's t is compared."""
    import mpmath as mp
    from harness.coverage import point_values
    from impls import exact
    act = activation(name, form="accurate")
    f_mp, t_mp = exact.activations(1.0)[name]
    ds = sorted({float(v) for p in act.points
                 for v in point_values(p.where(np.dtype(np.float64)), "float64").values()})
    d = np.array(ds)
    with np.errstate(all="ignore"):
        h, t = act.f(d), act.t(d, act.f(d))
    tiny = np.finfo(np.float64).smallest_normal
    with mp.workdps(50):
        for x, hx, tx in zip(ds, h, t):
            f_exact, t_exact = float(f_mp(mp.mpf(x))), float(t_mp(mp.mpf(x)))
            assert hx == pytest.approx(f_exact, rel=1e-13, abs=tiny), (name, x)
            assert tx == pytest.approx(t_exact, rel=1e-13, abs=tiny), (name, x)
            clear = all(abs(x - k) > 1e-6 for k in act.kinks)
            if clear and abs(x) < 1e6 and abs(t_exact) > 1e-40 * max(1.0, abs(f_exact)):
                numerical = float(mp.diff(f_mp, mp.mpf(x)))
                assert t_exact == pytest.approx(numerical, rel=1e-13, abs=tiny), (name, x)


@pytest.mark.parametrize("name, at, want", [
    ("relu6", 0.0, 0.0), ("relu6", 6.0, 0.0),
    ("selu", 0.0, 1.0507009873554805 * 1.6732632423543772),
    ("hard_sigmoid", -3.0, 0.0), ("hard_sigmoid", 3.0, 0.0), ("hard_swish", -3.0, 0.0),
    ("hard_swish", 3.0, 1.0), ("hard_tanh", -1.0, 0.0), ("hard_tanh", 1.0, 0.0),
    ("celu", 0.0, 1.0), ("softsign", 0.0, 1.0)])
def test_new_derivative_conventions_at_their_kinks(name, at, want):
    """The conventions the records state (torch's and jax's shared choice, measured), by value."""
    act = activation(name)
    d = np.array([at])
    assert act.t(d, act.f(d))[0] == pytest.approx(want, rel=1e-15)


def test_celu_takes_its_alpha():
    """celu(d) = alpha expm1(d / alpha) below 0: alpha 2 at d = -1 is 2 expm1(-1/2), its
    derivative exp(-1/2); the spec's alpha reaches the record through Network.from_spec."""
    act = activation("celu", 2.0)
    d = np.array([-1.0, 3.0])
    np.testing.assert_allclose(act.f(d), [2 * math.expm1(-0.5), 3.0], rtol=1e-15)
    np.testing.assert_allclose(act.t(d, act.f(d)), [math.exp(-0.5), 1.0], rtol=1e-15)
    spec = random_spec([2, 3, 1], "celu", "mse", seed=1)
    doc = spec.to_dict()
    doc["layers"][0]["alpha"] = 0.5
    from harness.spec import spec_from_dict
    net = Network.from_spec(spec_from_dict(doc))
    assert net.activations[0].f(np.array([-1.0]))[0] == pytest.approx(0.5 * math.expm1(-2.0))
    assert net.activations[1].f(np.array([-1.0]))[0] == pytest.approx(math.expm1(-1.0))


@pytest.mark.parametrize("name", ["l1", "huber", "log_cosh", "kl_divergence", "poisson", "hinge",
                                  "bce_with_logits"])
def test_new_losses_match_mpmath_at_their_hard_samples(name):
    """fe and te against the exact oracle's mpmath forms at the default suite's samples for
    the loss (every kind of sample its record names: residuals of 0 and beyond the kinks,
    1e-20, +-800, a subnormal target, logits of -800): 1e-13 relative, or eps absolutely for
    log_cosh (its common form's absolute rounding near r = 0, which the record keeps) and for
    bce_with_logits' te (sigmoid(u) - y is 0 once sigmoid(40) rounds to 1, as in every
    framework), the smallest normal number for the rest."""
    import mpmath as mp
    from harness.suite_surface import samples
    from impls import exact
    u, y = (np.array([row]) for row in samples(name, "float64"))
    if name == "poisson":
        u = np.log1p(np.exp(u))  # the suite gives softplus's d
    record = loss(name)
    with np.errstate(all="ignore"):
        fe, te = record.fe(u, y), record.te(u, y)
    with mp.workdps(50):
        obj = np.vectorize(lambda a: mp.mpf(float(a)), otypes=[object])
        fe_mp, te_mp = exact.LOSSES[name](obj(u), obj(y))
    eps = np.finfo(np.float64).eps
    tiny = np.finfo(np.float64).smallest_normal
    floor = 2 * eps if name == "log_cosh" else tiny
    assert fe[0] == pytest.approx(float(fe_mp[0]), rel=1e-13, abs=floor)
    np.testing.assert_allclose(te[0], [float(v) for v in te_mp[0]], rtol=1e-13,
                               atol=eps if name in ("log_cosh", "bce_with_logits") else tiny)
