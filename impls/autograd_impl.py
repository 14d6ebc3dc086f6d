"""HIPS autograd adapter: a pure loss of (params, zs) in autograd.numpy and
autograd.scipy.special, under autograd's reverse mode (grad_and_aux).

v is autograd's gradient with respect to zero perturbations z added to every pre-activation d,
as in the jax adapter. autograd is imported at the first call, not when the adapter loads.
autograd has sigmoid (expit), tanh, softplus (logaddexp), expm1, erfc and logsumexp; relu,
leaky_relu, elu, silu, the gelus and the cross-entropies are composed from those (settings()
names each composition). Compositions use masks in the dtype, never anp.where or anp.mean:
their derivatives are float64 whatever the input (docs/findings/autograd.md), which would
turn a float32 trace into float64 arithmetic; a mask also keeps 0 * inf out of a branch.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from impls.framework_trace import build_trace, installed_version, require

anp = special = grad_and_aux = getval = None  # imported by _load()
SQRT_HALF, GELU_K, GELU_C = math.sqrt(0.5), math.sqrt(2 / math.pi), 0.044715
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _mask(d, condition, slope=0.0):
    """1 where condition, slope elsewhere: a constant of d's dtype (no derivative flows)."""
    value = np.asarray(getval(d))
    return np.where(condition(value), 1, slope).astype(value.dtype)


ACTIVATIONS = {  # name: f(d, slope)
    "identity": lambda d, s: d,
    "sigmoid": lambda d, s: special.expit(d),
    "tanh": lambda d, s: anp.tanh(d),
    "relu": lambda d, s: d * _mask(d, lambda v: v > 0),
    "leaky_relu": lambda d, s: d * _mask(d, lambda v: v > 0, s),
    "softplus": lambda d, s: anp.logaddexp(d, 0.0),
    "elu": lambda d, s: d * _mask(d, lambda v: v > 0) + anp.expm1(d * _mask(d, lambda v: v <= 0)),
    "silu": lambda d, s: _silu()(d),
    "gelu": lambda d, s: 0.5 * d * special.erfc(-SQRT_HALF * d),
    "gelu_tanh": lambda d, s: 0.5 * d * (1.0 + anp.tanh(GELU_K * (d + GELU_C * d ** 3))),
    "relu6": lambda d, s: anp.clip(d, 0.0, 6.0),
    "selu": lambda d, s: SELU_SCALE * (d * _mask(d, lambda v: v > 0) + SELU_ALPHA * anp.expm1(
        d * _mask(d, lambda v: v <= 0))),
    "celu": lambda d, s: d * _mask(d, lambda v: v > 0) + s * anp.expm1(
        d * _mask(d, lambda v: v <= 0) / s),
    "log_sigmoid": lambda d, s: -anp.logaddexp(-d, 0.0),
    "softsign": lambda d, s: d / (1.0 + anp.abs(d)),
    "mish": lambda d, s: d * anp.tanh(anp.logaddexp(d, 0.0)),
    "hard_sigmoid": lambda d, s: anp.clip(d / 6.0 + 0.5, 0.0, 1.0),
    "hard_swish": lambda d, s: d * anp.clip(d / 6.0 + 0.5, 0.0, 1.0),
    "hard_tanh": lambda d, s: anp.clip(d, -1.0, 1.0),
}

COMPOSED = {  # the functions autograd has no built-in for, as the adapter writes them
    "relu": "composed d * (d > 0)", "leaky_relu": "composed d * where(d > 0, 1, slope)",
    "elu": "composed d * (d > 0) + expm1(d * (d <= 0))",
    "silu": "composed d * expit(d), its derivative expit(d) (1 + d expit(-d)) by defvjp",
    "gelu": "composed d * erfc(-d / sqrt 2) / 2",
    "gelu_tanh": "composed d (1 + tanh(sqrt(2/pi) (d + 0.044715 d^3))) / 2",
    "softmax_cross_entropy": "composed -sum(y * (u - logsumexp(u)))",
    "binary_cross_entropy": "composed -sum(y log u + (1 - y) log1p(-u)), a zero weight's term 0",
    "mean": "composed sum / n",
    "relu6": "composed clip(d, 0, 6)", "hard_tanh": "composed clip(d, -1, 1)",
    "hard_sigmoid": "composed clip(d / 6 + 1/2, 0, 1)",
    "hard_swish": "composed d clip(d / 6 + 1/2, 0, 1)",
    "selu": "composed scale (d * (d > 0) + alpha expm1(d * (d <= 0)))",
    "celu": "composed d * (d > 0) + alpha expm1(d * (d <= 0) / alpha)",
    "log_sigmoid": "composed -logaddexp(-d, 0)", "softsign": "composed d / (1 + |d|)",
    "mish": "composed d tanh(logaddexp(d, 0))", "l1": "composed sum |u - y| / n",
    "huber": "composed r^2 / 2 (|r| <= 1) + (|r| - 1/2) (|r| > 1), by masks",
    "log_cosh": "composed logaddexp(r, -r) - log 2", "kl_divergence": "composed xlogy(y, y) - y u",
    "poisson": "composed sum(u - xlogy(y, u)) / n", "hinge": "composed relu(1 - y u)",
    "bce_with_logits": "composed logaddexp(u, 0) - y u",
}


def _silu():
    """silu as an autograd primitive: d * expit(d), and its derivative by defvjp. Written as
    the product d * expit(d), reverse mode forms p * d before multiplying by expit'(d) and
    overflows into inf * 0 = NaN where the derivative is 0 (overflow-silu-float32)."""
    global _SILU
    if _SILU is None:
        from autograd.extend import defvjp, primitive
        _SILU = primitive(lambda d: d * special.expit(d))
        defvjp(_SILU, lambda ans, d: lambda g: g * special.expit(d)
               * (1 + d * special.expit(-d)))
    return _SILU


_SILU = None


def _xlogy(y, u, log):
    """y * log(u), 0 where y == 0 (u there replaced by 1 through a mask, so no 0 * inf)."""
    zero = _mask(y, lambda v: v == 0)
    return y * log(u * (1 - zero) + zero)


LOSSES = {  # per-sample losses
    "squared_error": lambda u, y: 0.5 * anp.sum((u - y) ** 2, axis=-1),
    "mse": lambda u, y: anp.sum((u - y) ** 2, axis=-1) / u.shape[-1],
    "softmax_cross_entropy": lambda u, y: -anp.sum(
        y * (u - special.logsumexp(u, axis=-1, keepdims=True)), axis=-1),
    "binary_cross_entropy": lambda u, y: -anp.sum(
        _xlogy(y, u, anp.log) + _xlogy(1 - y, -u, anp.log1p), axis=-1),
    "l1": lambda u, y: anp.sum(anp.abs(u - y), axis=-1) / u.shape[-1],
    "huber": lambda u, y: anp.sum(_huber(u - y), axis=-1) / u.shape[-1],
    "log_cosh": lambda u, y: anp.sum(anp.logaddexp(u - y, y - u) - math.log(2), axis=-1)
    / u.shape[-1],
    "kl_divergence": lambda u, y: anp.sum(_xlogy(y, y, anp.log) - y * u, axis=-1),
    "poisson": lambda u, y: anp.sum(u - _xlogy(y, u, anp.log), axis=-1) / u.shape[-1],
    "hinge": lambda u, y: anp.sum(_relu(1 - y * u), axis=-1) / u.shape[-1],
    "bce_with_logits": lambda u, y: anp.sum(anp.logaddexp(u, 0.0) - y * u, axis=-1),
}


def _relu(m):
    return m * _mask(m, lambda v: v > 0)


def _huber(r):
    """r^2 / 2 up to |r| = 1, |r| - 1/2 beyond, by masks (no where: see the module)."""
    inside = _mask(r, lambda v: np.abs(v) <= 1)
    return inside * (0.5 * r * r) + (1 - inside) * (anp.abs(r) - 0.5)


def _load():
    """Import autograd once, at the first call."""
    global anp, special, grad_and_aux, getval
    if anp is None:
        import autograd.numpy as anp
        import autograd.scipy.special as special
        from autograd import grad_and_aux
        from autograd.tracer import getval


def _objective(spec, x, y):
    """(params, zs) -> (summed loss, (e, ds, hs)) for spec's architecture."""
    acts = [(layer.activation, layer.slope) for layer in spec.layers]

    def objective(args):
        params, zs = args
        ds, hs, h = [], [], x
        for (w, b), z, (act, slope) in zip(params, zs, acts):
            d = anp.matmul(h, anp.swapaxes(w, -1, -2)) + b[..., None, :] + z
            h = ACTIVATIONS[act](d, slope)
            ds.append(d)
            hs.append(h)
        e = anp.sum(LOSSES[spec.loss](h, y), axis=-1)
        if spec.reduction == "mean":
            e = e / x.dtype.type(y.shape[-2])  # NumPy 1.x: a float32 scalar / int is float64
        return anp.sum(e), (e, ds, hs)  # stacked networks are independent: their sum serves

    return objective


class AutogradImpl:
    """autograd's reverse mode on NumPy arrays, in the spec's dtype."""

    name = "autograd"
    supports = {"dtypes": ["float64", "float32"]}
    xfails = Path(__file__).with_name("autograd_xfails.txt")  # its known deviations

    def __init__(self):
        require("autograd", "autograd")
        require("scipy", "autograd")  # autograd.scipy.special wraps SciPy's

    def version(self) -> str:
        return installed_version("autograd")

    def settings(self) -> dict:
        from importlib.metadata import version
        return {"autograd": self.version(), "numpy": np.__version__, "scipy": version("scipy"),
                "mode": "reverse (grad_and_aux)", **COMPOSED}

    def trace(self, spec):
        _load()
        dtype = np.dtype(spec.dtype)
        params = [(np.array(layer.weights), np.array(layer.bias)) for layer in spec.layers]
        x, y, r = np.asarray(spec.inputs), np.asarray(spec.targets), dtype.type(spec.learning_rate)
        objective, states = _objective(spec, x, y), []
        for _ in range(spec.steps):
            zs = [np.zeros(x.shape[:-1] + (w.shape[-2],), dtype) for w, _ in params]
            (grads, vs), aux = grad_and_aux(objective)((params, zs))
            e, ds, hs = getval(aux[0]), [getval(d) for d in aux[1]], [getval(h) for h in aux[2]]
            states.append((e, ds, hs, vs, grads))
            params = [(w - r * gw, b - r * gb) for (w, b), (gw, gb) in zip(params, grads)]
        return build_trace(self, spec, states, params)

    def trace_stacked(self, stack):
        """Networks on a leading axis: NumPy's batched matmul, one gradient for them all."""
        return self.trace(stack)
