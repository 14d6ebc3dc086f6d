"""mygrad adapter: mygrad's tensors and mygrad.nnet forward, Tensor.backward() backward.

v is the .grad that mygrad's backward leaves on every pre-activation d. mygrad is imported at
the first call, not when the adapter loads. mygrad.nnet has sigmoid, tanh, relu, leaky_relu,
elu and logsoftmax, mygrad itself logaddexp (softplus); silu, gelu_tanh and the
cross-entropies are composed (settings() names each composition). mygrad has no erf, so gelu
is declared unsupported.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from impls.framework_trace import build_trace, installed_version, require

mg = nnet = None  # mygrad and mygrad.nnet, imported by _load()
GELU_K, GELU_C = math.sqrt(2 / math.pi), 0.044715
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

ACTIVATIONS = {  # name: f(d, slope)
    "identity": lambda d, s: d,
    "sigmoid": lambda d, s: nnet.sigmoid(d),
    "tanh": lambda d, s: mg.tanh(d),
    "relu": lambda d, s: nnet.relu(d),
    "leaky_relu": lambda d, s: nnet.leaky_relu(d, s) + _c(d, s) * _c(d, d.data == 0) * d,
    "softplus": lambda d, s: mg.logaddexp(d, _c(d, 0)),
    "elu": lambda d, s: nnet.elu(d, 1.0),
    "silu": lambda d, s: _silu(d),
    "gelu_tanh": lambda d, s: _c(d, 0.5) * d * (
        _c(d, 1) + mg.tanh(_c(d, GELU_K) * (d + _c(d, GELU_C) * d * d * d))),
    "relu6": lambda d, s: mg.clip(d, _c(d, 0), _c(d, 6)),
    "selu": lambda d, s: nnet.selu(d) + _c(d, SELU_SCALE * (SELU_ALPHA - 1)) * _c(
        d, d.data == 0) * d,
    "celu": lambda d, s: d * _c(d, d.data > 0) + _c(d, s) * mg.expm1(
        d * _c(d, d.data <= 0) / _c(d, s)),
    "log_sigmoid": lambda d, s: -mg.logaddexp(_c(d, 0), -d),
    "softsign": lambda d, s: nnet.soft_sign(d),
    "mish": lambda d, s: d * mg.tanh(mg.logaddexp(d, _c(d, 0))),
    "hard_sigmoid": lambda d, s: _hard_sigmoid(d),
    "hard_swish": lambda d, s: d * _hard_sigmoid(d),
    "hard_tanh": lambda d, s: nnet.hard_tanh(d),
}
FLOAT64_ONLY = {"leaky_relu", "softsign", "hard_tanh"}  # their built-ins return float64


def _hard_sigmoid(d):
    return mg.clip(d / _c(d, 6) + _c(d, 0.5), _c(d, 0), _c(d, 1))

COMPOSED = {  # the functions mygrad has no built-in for, as the adapter writes them
    "leaky_relu": "mygrad.nnet.leaky_relu(d, slope) + slope * d * (d == 0): mygrad's "
                  "leaky_relu'(0) is 0, the spec's convention the slope",
    "silu": "composed d * sigmoid(d), its derivative sigmoid(d) (1 + d sigmoid(-d)) by an "
            "Operation",
    "gelu_tanh": "composed d (1 + tanh(sqrt(2/pi) (d + 0.044715 d^3))) / 2",
    "softmax_cross_entropy": "composed -sum(y * logsoftmax(u))",
    "binary_cross_entropy": "composed -sum(y log u + (1 - y) log1p(-u)), a zero weight's term 0",
    "selu": "mygrad.nnet.selu(d) + scale (alpha - 1) d (d == 0): mygrad's selu'(0) is scale, "
            "the spec's convention scale alpha",
    "relu6": "composed clip(d, 0, 6)", "hard_sigmoid": "composed clip(d / 6 + 1/2, 0, 1)",
    "hard_swish": "composed d clip(d / 6 + 1/2, 0, 1)",
    "celu": "composed d (d > 0) + alpha expm1(d (d <= 0) / alpha)",
    "log_sigmoid": "composed -logaddexp(0, -d)", "mish": "composed d tanh(logaddexp(d, 0))",
    "l1": "composed mean |u - y|",
    "huber": "composed r^2 / 2 (|r| <= 1) + (|r| - 1/2) (|r| > 1), by masks",
    "log_cosh": "composed logaddexp(r, -r) - log 2", "kl_divergence": "composed xlogy(y, y) - y u",
    "poisson": "composed mean(u - xlogy(y, u))", "hinge": "composed relu(1 - y u)",
    "bce_with_logits": "composed logaddexp(u, 0) - y u",
}


def _c(d, value):
    """A constant in d's dtype: mygrad turns a Python number into a float64 array, which
    would make float32 arithmetic float64 (docs/findings/mygrad.md)."""
    return np.asarray(value, dtype=d.dtype)


def _silu(d):
    """silu as a mygrad Operation: written as the product d * sigmoid(d), the backward forms
    p * d before multiplying by sigmoid'(d) and overflows into inf * 0 = NaN where the
    derivative is 0 (overflow-silu-float32). The Operation class is made once, at first use."""
    global _SILU
    if _SILU is None:
        from mygrad.operation_base import Operation

        def sigmoid(x):
            return nnet.sigmoid(x, constant=True).data

        class SiLU(Operation):
            def __call__(self, a):
                self.variables = (a,)
                return a.data * sigmoid(a.data)

            def backward_var(self, grad, index, **kwargs):
                x = self.variables[index].data
                return grad * sigmoid(x) * (_c(x, 1) + x * sigmoid(-x))

        _SILU = SiLU
    return mg.Tensor._op(_SILU, d)


_SILU = None


def _xlogy(y, u, log):
    """y * log(u), 0 where y == 0 (u there replaced by 1 through a mask, so no 0 * inf)."""
    zero = (y == 0).astype(y.dtype)
    return y * log(u * (1 - zero) + zero)


LOSSES = {  # per-sample losses
    "squared_error": lambda u, y: _c(u, 0.5) * mg.sum((u - y) ** 2, axis=-1),
    "mse": lambda u, y: mg.mean((u - y) ** 2, axis=-1),
    "softmax_cross_entropy": lambda u, y: -mg.sum(y * nnet.logsoftmax(u, axis=-1), axis=-1),
    "binary_cross_entropy": lambda u, y: -mg.sum(
        _xlogy(y, u, mg.log) + _xlogy(_c(y, 1) - y, -u, mg.log1p), axis=-1),
    "l1": lambda u, y: mg.mean(mg.abs(u - y), axis=-1),
    "huber": lambda u, y: mg.mean(_huber(u - y), axis=-1),
    "log_cosh": lambda u, y: mg.mean(mg.logaddexp(u - y, y - u) - _c(u, math.log(2)), axis=-1),
    "kl_divergence": lambda u, y: mg.sum(_xlogy(y, y, np.log) - y * u, axis=-1),
    "poisson": lambda u, y: mg.mean(u - _xlogy(y, u, mg.log), axis=-1),
    "hinge": lambda u, y: mg.mean(nnet.relu(_c(u, 1) - y * u), axis=-1),
    "bce_with_logits": lambda u, y: mg.sum(mg.logaddexp(u, _c(u, 0)) - y * u, axis=-1),
}


def _huber(r):
    """r^2 / 2 up to |r| = 1, |r| - 1/2 beyond, by masks in the dtype."""
    inside = _c(r, np.abs(r.data) <= 1)
    return inside * (_c(r, 0.5) * r * r) + (_c(r, 1) - inside) * (mg.abs(r) - _c(r, 0.5))


def _load():
    """Import mygrad once, at the first call."""
    global mg, nnet
    if mg is None:
        import mygrad as mg
        import mygrad.nnet as nnet


class MygradImpl:
    """mygrad's reverse mode on NumPy arrays, in the spec's dtype."""

    name = "mygrad"
    supports = {"dtypes": ["float64", "float32"], "activations": sorted(ACTIVATIONS)}
    xfails = Path(__file__).with_name("mygrad_xfails.txt")  # its known deviations

    def __init__(self):
        require("mygrad", "mygrad")

    def unsupported(self, spec) -> str | None:
        odd = sorted({la.activation for la in spec.layers} & FLOAT64_ONLY)
        if spec.dtype != "float64" and odd:
            return (f"mygrad.nnet's {', '.join(odd)} returns float64 for {spec.dtype} input "
                    "(docs/findings/mygrad.md)")
        return None

    def version(self) -> str:
        return installed_version("mygrad")

    def settings(self) -> dict:
        return {"mygrad": self.version(), "numpy": np.__version__, **COMPOSED}

    def trace(self, spec):
        _load()
        dtype = np.dtype(spec.dtype)
        params = [(np.array(layer.weights), np.array(layer.bias)) for layer in spec.layers]
        x, y, r = np.asarray(spec.inputs), np.asarray(spec.targets), dtype.type(spec.learning_rate)
        states = []
        for _ in range(spec.steps):
            states.append(self._step(spec, params, x, y))
            params = [(w - r * gw, b - r * gb) for (w, b), (gw, gb) in zip(params, states[-1][4])]
        return build_trace(self, spec, states, params)

    def trace_stacked(self, stack):
        """Networks on a leading axis: mygrad's batched matmul, one backward for them all."""
        return self.trace(stack)

    def _step(self, spec, params, x, y):
        """(e, ds, hs, vs, grads) of one step: mygrad's backward from the summed loss."""
        tensors = [(mg.Tensor(w), mg.Tensor(b)) for w, b in params]
        ds, hs, h = [], [], mg.Tensor(x, constant=True)
        for (w, b), layer in zip(tensors, spec.layers):
            d = mg.matmul(h, mg.swapaxes(w, -1, -2)) + b[..., None, :]
            h = ACTIVATIONS[layer.activation](d, layer.slope)
            ds.append(d)
            hs.append(h)
        reduce = mg.mean if spec.reduction == "mean" else mg.sum
        e = reduce(LOSSES[spec.loss](h, y), axis=-1)
        mg.sum(e).backward()  # stacked networks are independent: one backward serves all
        return (e.data, [d.data for d in ds], [h.data for h in hs], [d.grad for d in ds],
                [(w.grad, b.grad) for w, b in tensors])
