"""MindSpore adapter: Huawei's MindSpore in PyNative mode on the CPU, in the spec's dtype,
through mindspore.ops and mindspore.grad.

v is MindSpore's gradient with respect to a zero added to every pre-activation d (as jax's),
taken with the parameters' gradients in one mindspore.grad call; the activations and losses
are mindspore.ops' own (ops.elu, ops.gelu, ops.log_softmax, ops.binary_cross_entropy, ...).
The learning rate enters the update as a tensor of the spec's dtype: a Python float times a
float64 tensor is rounded to float32 first (docs/findings/mindspore.md), which would make
every float64 update wrong and hide everything else.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from impls.framework_trace import build_trace, installed_version, require

ms = ops = Tensor = None  # imported by _load()


def _load():
    """Import MindSpore once, at the first call, on the CPU in PyNative (eager) mode."""
    global ms, ops, Tensor
    if ms is None:
        os.environ.setdefault("GLOG_v", "3")  # its C++ log: errors only
        import mindspore as ms
        from mindspore import Tensor, ops
        ms.set_context(mode=ms.PYNATIVE_MODE)
        ms.set_device("CPU")


ACTIVATIONS = {  # name: f(d, slope)
    "identity": lambda d, s: d,
    "sigmoid": lambda d, s: ops.sigmoid(d),
    "tanh": lambda d, s: ops.tanh(d),
    "relu": lambda d, s: ops.relu(d),
    "leaky_relu": lambda d, s: ops.leaky_relu(d, s),
    "softplus": lambda d, s: ops.softplus(d),
    "elu": lambda d, s: ops.elu(d),
    "silu": lambda d, s: ops.silu(d),
    "gelu": lambda d, s: ops.gelu(d, approximate="none"),
    "gelu_tanh": lambda d, s: ops.gelu(d, approximate="tanh"),
    "relu6": lambda d, s: ops.relu6(d),
    "selu": lambda d, s: ops.selu(d),
    "celu": lambda d, s: ops.celu(d, alpha=s),
    "log_sigmoid": lambda d, s: ops.logsigmoid(d),
    "softsign": lambda d, s: ops.softsign(d),
    "mish": lambda d, s: ops.mish(d),
    "hard_sigmoid": lambda d, s: ops.hardsigmoid(d),
    "hard_swish": lambda d, s: ops.hardswish(d),
    "hard_tanh": lambda d, s: ops.hardtanh(d),
}


def _log_cosh(u, y):
    """|r| + log1p(exp(-2|r|)) - log 2 (no ops.log_cosh), log 2 a tensor of u's dtype."""
    r = ops.abs(u - y)
    return (r + ops.log1p(ops.exp(-2 * r)) - Tensor(np.log(2.0), u.dtype)).mean(-1)


def _poisson(u, y):
    """nn.PoissonNLLLoss on rates (log_input=False), eps 0: log u exactly."""
    return ms.nn.PoissonNLLLoss(log_input=False, eps=0.0, reduction="none")(u, y).mean(-1)

LOSSES = {  # per-sample losses
    "squared_error": lambda u, y: ((u - y) ** 2).sum(-1) / 2,
    "mse": lambda u, y: ((u - y) ** 2).mean(-1),
    "softmax_cross_entropy": lambda u, y: -(y * ops.log_softmax(u, -1)).sum(-1),
    "binary_cross_entropy": lambda u, y: ops.binary_cross_entropy(u, y, reduction="none").sum(-1),
    "l1": lambda u, y: ops.l1_loss(u, y, reduction="none").mean(-1),
    "huber": lambda u, y: ops.huber_loss(u, y, reduction="none", delta=1.0).mean(-1),
    "log_cosh": _log_cosh,
    "kl_divergence": lambda u, y: ops.kl_div(u, y, reduction="none").sum(-1),
    "poisson": _poisson,
    "hinge": lambda u, y: ops.relu(1 - y * u).mean(-1),
    "bce_with_logits": lambda u, y: ops.binary_cross_entropy_with_logits(
        u, y, reduction="none").sum(-1),
}

COMPOSED = {  # the functions MindSpore has no built-in for, as the adapter writes them
    "log_cosh": "composed |r| + log1p(exp(-2|r|)) - log 2, r = u - y",
    "hinge": "composed relu(1 - y u) (ops.hinge_embedding_loss is another function)",
    "poisson": "nn.PoissonNLLLoss(log_input=False, eps=0)",
}


def _energy(spec, x, y):
    """(*params, *zs) -> (summed loss, e, *ds, *hs) for spec's architecture."""
    n = len(spec.layers)

    def energy(*args):
        params, zs = args[:2 * n], args[2 * n:]
        ds, hs, h = [], [], x
        for k, layer in enumerate(spec.layers):
            d = ops.matmul(h, params[2 * k].T) + params[2 * k + 1] + zs[k]
            h = ACTIVATIONS[layer.activation](d, layer.slope)
            ds.append(d)
            hs.append(h)
        per_sample = LOSSES[spec.loss](h, y)
        e = per_sample.mean() if spec.reduction == "mean" else per_sample.sum()
        return e, e, *ds, *hs

    return energy


class MindsporeImpl:
    """MindSpore's reverse mode (mindspore.grad) in PyNative mode on the CPU."""

    name = "mindspore"
    supports = {"dtypes": ["float64", "float32"]}
    xfails = Path(__file__).with_name("mindspore_xfails.txt")  # its known deviations

    def __init__(self):
        require("mindspore", "mindspore")

    def version(self) -> str:
        return installed_version("mindspore")

    def unsupported(self, spec) -> str | None:
        """ops.binary_cross_entropy, ops.binary_cross_entropy_with_logits and ops.relu6 take
        float16, float32 (and bfloat16) only."""
        if spec.dtype != "float64":
            return None
        for name, op in (("binary_cross_entropy", "ops.binary_cross_entropy"),
                         ("bce_with_logits", "ops.binary_cross_entropy_with_logits")):
            if spec.loss == name:
                return f"mindspore's {op} has no float64 kernel"
        if any(layer.activation == "relu6" for layer in spec.layers):
            return "mindspore's ops.relu6 has no float64 kernel"
        return None

    def settings(self) -> dict:
        return {"mindspore": self.version(), "mode": "pynative", "device": "cpu",
                "gradient": "mindspore.grad, v by a zero added to d",
                "learning_rate": "a tensor of the spec's dtype (a Python float would be "
                                 "rounded to float32)", "composed": COMPOSED}

    def trace(self, spec):
        _load()
        n = len(spec.layers)
        flat = [Tensor(np.array(a)) for layer in spec.layers for a in (layer.weights,
                                                                       layer.bias)]
        x, y = Tensor(np.array(spec.inputs)), Tensor(np.array(spec.targets))
        r = Tensor(np.asarray(spec.learning_rate, dtype=spec.dtype))
        grad = ms.grad(_energy(spec, x, y), grad_position=tuple(range(3 * n)), has_aux=True)
        states = []
        for _ in range(spec.steps):
            zs = [ops.zeros((spec.batch, len(layer.bias)), x.dtype) for layer in spec.layers]
            grads, aux = grad(*flat, *zs)
            e, ds, hs = aux[0], aux[1:1 + n], aux[1 + n:]
            host = [g.asnumpy() for g in grads]
            states.append((e.asnumpy(), [d.asnumpy() for d in ds], [h.asnumpy() for h in hs],
                           host[2 * n:], [(host[2 * k], host[2 * k + 1]) for k in range(n)]))
            flat = [p - r * g for p, g in zip(flat, grads[:2 * n])]
        return build_trace(self, spec, states, [(flat[2 * k].asnumpy(), flat[2 * k + 1]
                                                 .asnumpy()) for k in range(n)])
