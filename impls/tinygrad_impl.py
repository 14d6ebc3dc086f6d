"""tinygrad adapter: tinygrad's Tensor methods forward, Tensor.gradient backward, on its CPU
device (C code compiled by clang).

v is tinygrad's gradient with respect to zero perturbations z added to every pre-activation d,
as in the jax adapter. tinygrad is imported at the first call; without clang its CPU device
cannot run, so the implementation is then unavailable. Every activation is tinygrad's own
Tensor method (sigmoid ... gelu, relu6, selu, celu, logsigmoid, softsign, mish, hardsigmoid,
hardswish, hardtanh), and so are the cross-entropies (cross_entropy, binary_crossentropy,
binary_crossentropy_logits); the other losses are composed (COMPOSED): tinygrad 0.14's Tensor
has no l1, huber, log_cosh, kl_divergence, poisson or hinge loss. The one mapping: tinygrad's
leaky_relu'(0) is 1, the spec's convention the slope, so (slope - 1) d (d == 0) is added (0
forward; settings() says so). Its conventions at the new kinks (relu6'(6) = 1, hardsigmoid'(3)
= 1/6, hardswish'(3) = 1.5, hardtanh'(±1) = 1, selu'(0) = gamma), measured on 0.14.0, are in
its ledger, with the defects of the new built-ins (docs/findings/tinygrad.md 7, 8, 10 to 12).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np

from harness.registry import Unavailable
from impls.framework_trace import build_trace, installed_version, require

Tensor = None  # tinygrad.Tensor, imported by _load()


def _at_zero(d, value):
    """value * d where d == 0, else 0: a constant mask of d's dtype times d."""
    return (d.detach() == 0).where(value, 0.0).cast(d.dtype) * d


ACTIVATIONS = {  # name: f(d, slope)
    "identity": lambda d, s: d,
    "sigmoid": lambda d, s: d.sigmoid(),
    "tanh": lambda d, s: d.tanh(),
    "relu": lambda d, s: d.relu(),
    "leaky_relu": lambda d, s: d.leaky_relu(s) + _at_zero(d, s - 1.0),
    "softplus": lambda d, s: d.softplus(),
    "elu": lambda d, s: d.elu(),
    "silu": lambda d, s: d.silu(),
    "gelu": lambda d, s: d.gelu(approximate="none"),
    "gelu_tanh": lambda d, s: d.gelu(approximate="tanh"),
    "relu6": lambda d, s: d.relu6(),
    "selu": lambda d, s: d.selu(),
    "celu": lambda d, s: d.celu(alpha=s),
    "log_sigmoid": lambda d, s: d.logsigmoid(),
    "softsign": lambda d, s: d.softsign(),
    "mish": lambda d, s: d.mish(),
    "hard_sigmoid": lambda d, s: d.hardsigmoid(),
    "hard_swish": lambda d, s: d.hardswish(),
    "hard_tanh": lambda d, s: d.hardtanh(),
}


def _cross_entropy(u, y):
    """Tensor.cross_entropy takes its classes on axis 1: stacked networks go through 2-D."""
    flat = u.reshape(-1, u.shape[-1]).cross_entropy(y.reshape(-1, u.shape[-1]), reduction="none")
    return flat.reshape(u.shape[:-1])


LOSSES = {  # per-sample losses
    "squared_error": lambda u, y: 0.5 * (u - y).square().sum(-1),
    "mse": lambda u, y: (u - y).square().mean(-1),
    "softmax_cross_entropy": _cross_entropy,
    "binary_cross_entropy": lambda u, y: u.binary_crossentropy(y, reduction="none").sum(-1),
    "l1": lambda u, y: (u - y).abs().mean(-1),
    "huber": lambda u, y: _huber((u - y).abs()).mean(-1),
    "log_cosh": lambda u, y: ((u - y) + (-2 * (u - y)).softplus() - math.log(2)).mean(-1),
    "kl_divergence": lambda u, y: (_xlogy(y, y) - y * u).sum(-1),
    "poisson": lambda u, y: (u - _xlogy(y, u)).mean(-1),
    "hinge": lambda u, y: (1 - y * u).relu().mean(-1),
    "bce_with_logits": lambda u, y: u.binary_crossentropy_logits(y, reduction="none").sum(-1),
}

COMPOSED = {  # tinygrad's Tensor has no losses but the cross-entropies
    "l1": "composed mean |u - y|", "huber": "composed r^2 / 2 up to 1, r - 1/2 beyond",
    "log_cosh": "composed r + softplus(-2r) - log 2 (log(cosh(r)) overflows beyond 710)",
    "kl_divergence": "composed xlogy(y, y) - y u",
    "poisson": "composed mean(u - xlogy(y, u))", "hinge": "composed relu(1 - y u)",
}


def _huber(r):
    return (r <= 1).where(0.5 * r * r, r - 0.5)


def _xlogy(y, u):
    """y log u, 0 where y == 0 (u there replaced by 1, so no 0 * inf)."""
    zero = y.detach() == 0
    return zero.where(0.0, y * zero.where(1.0, u).log())


def _load():
    """Import tinygrad once, at the first call."""
    global Tensor
    if Tensor is None:
        from tinygrad import Tensor


class TinygradImpl:
    """tinygrad on its CPU device, in the spec's dtype."""

    name = "tinygrad"
    supports = {"dtypes": ["float64", "float32"]}
    xfails = Path(__file__).with_name("tinygrad_xfails.txt")  # its known deviations

    def __init__(self):
        require("tinygrad", "tinygrad")
        if shutil.which("clang") is None:
            raise Unavailable("tinygrad's CPU device compiles with clang, which is not on PATH "
                              "(apt-get install clang)")

    def version(self) -> str:
        return installed_version("tinygrad")

    def settings(self) -> dict:
        _load()
        from tinygrad import Device
        return {"tinygrad": self.version(), "device": Device.DEFAULT,
                "leaky_relu": "Tensor.leaky_relu(slope) + (slope - 1) d (d == 0): its "
                              "leaky_relu'(0) is 1, the spec's convention the slope",
                "composed": COMPOSED}

    def trace(self, spec):
        _load()
        params = [(Tensor(np.array(layer.weights)), Tensor(np.array(layer.bias)))
                  for layer in spec.layers]
        x, y = Tensor(np.array(spec.inputs)), Tensor(np.array(spec.targets))
        states = []
        for _ in range(spec.steps):
            e, ds, hs, vs, grads = self._step(spec, params, x, y)
            params = [(w - spec.learning_rate * gw, b - spec.learning_rate * gb)
                      for (w, b), (gw, gb) in zip(params, grads)]
            Tensor.realize(e, *ds, *hs, *vs, *(t for g in grads + params for t in g))  # at once
            states.append((e.numpy(), [t.numpy() for t in ds], [t.numpy() for t in hs],
                           [t.numpy() for t in vs],
                           [(gw.numpy(), gb.numpy()) for gw, gb in grads]))
        return build_trace(self, spec, states, [(w.numpy(), b.numpy()) for w, b in params])

    def trace_stacked(self, stack):
        """Networks on a leading axis: tinygrad's batched matmul, one gradient for them all."""
        return self.trace(stack)

    def _step(self, spec, params, x, y):
        """(e, ds, hs, vs, grads) of one step, as tinygrad tensors."""
        zs = [Tensor.zeros(*x.shape[:-1], w.shape[-2], dtype=x.dtype) for w, _ in params]
        ds, hs, h = [], [], x
        for (w, b), z, layer in zip(params, zs, spec.layers):
            d = h.matmul(w.transpose(-1, -2)) + b.unsqueeze(-2) + z
            h = ACTIVATIONS[layer.activation](d, layer.slope)
            ds.append(d)
            hs.append(h)
        per_sample = LOSSES[spec.loss](h, y)
        e = per_sample.mean(-1) if spec.reduction == "mean" else per_sample.sum(-1)
        flat = [t for p in params for t in p]
        grads = e.sum().gradient(*flat, *zs)  # stacked networks are independent: one serves
        n = len(flat)
        return (e, ds, hs, grads[n:],
                [(grads[2 * k], grads[2 * k + 1]) for k in range(len(params))])
