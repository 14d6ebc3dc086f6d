"""A complete third-party adapter: backpropagation written with numpy.einsum, float64 inside.

It registers itself under the entry-point group 'backprop_harness.impls' (pyproject.toml) and
implements the contract (docs/adapters.md in backprop-harness): `name`, `version()`,
`trace(spec) -> Trace`, plus the optional `supports`, `settings()` and `xfails`. It computes in
float64 whatever the spec's dtype and rounds at the end, so float32 cases are not supported
(declared below), and it ships a list of known deviations (xfails.txt), which `run` and
`pytest --bp-impl einsum` apply.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.trace import LayerTrace, StepTrace, Trace

__version__ = "0.2.0"
XFAILS = Path(__file__).with_name("xfails.txt")


def activations(slope: float) -> dict:
    """f and f' for the activations this adapter supports (slope: leaky_relu's, per layer)."""
    return {
        "identity": (lambda d: d, lambda d: np.ones_like(d)),
        "tanh": (np.tanh, lambda d: 1 - np.tanh(d) ** 2),
        "sigmoid": (lambda d: 0.5 * (1 + np.tanh(d / 2)),
                    lambda d: 0.25 * (1 - np.tanh(d / 2) ** 2)),
        "relu": (lambda d: np.where(d > 0, d, 0.0), lambda d: (d > 0) * 1.0),
        "leaky_relu": (lambda d: np.where(d > 0, d, slope * d),
                       lambda d: np.where(d > 0, 1.0, slope)),
    }


def _logsumexp(u):
    m = u.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(u - m).sum(axis=1, keepdims=True)))[:, 0]


LOSSES = {  # per-sample loss e_s (batch,) and te = de_s/du (batch, n), as the README defines them
    "squared_error": (lambda u, y: 0.5 * np.einsum("sj,sj->s", u - y, u - y),
                      lambda u, y: u - y),
    "mse": (lambda u, y: np.einsum("sj,sj->s", u - y, u - y) / u.shape[1],
            lambda u, y: 2.0 * (u - y) / u.shape[1]),
    "softmax_cross_entropy": (
        lambda u, y: np.einsum("sj,sj->s", y, _logsumexp(u)[:, None] - u),
        lambda u, y: np.exp(u - _logsumexp(u)[:, None]) * y.sum(axis=1, keepdims=True) - y),
    "binary_cross_entropy": (
        lambda u, y: -np.einsum("sj->s", y * np.log(u) + (1 - y) * np.log1p(-u)),
        lambda u, y: (u - y) / (u * (1 - u))),
}


class EinsumImpl:
    name = "einsum"
    xfails = XFAILS  # the known deviations `run` and the pytest plugin apply to einsum
    # the functions it has; every other activation and loss the harness knows (relu6 ...
    # hard_tanh, l1 ... bce_with_logits) is "not supported" case by case, never a crash
    supports = {"dtypes": ["float64"], "activations": sorted(activations(0.01)),
                "losses": sorted(LOSSES)}

    def version(self) -> str:
        return __version__

    def settings(self) -> dict:
        return {"numpy": np.__version__, "compute_dtype": "float64"}

    def trace(self, spec) -> Trace:
        ws = [np.array(layer.weights, dtype=np.float64) for layer in spec.layers]
        bs = [np.array(layer.bias, dtype=np.float64) for layer in spec.layers]
        fs = [activations(layer.slope)[layer.activation] for layer in spec.layers]
        x, y = spec.inputs.astype(np.float64), spec.targets.astype(np.float64)
        fe, te = LOSSES[spec.loss]
        scale = 1.0 / x.shape[0] if spec.reduction == "mean" else 1.0
        steps = []
        for _ in range(spec.steps):
            ds, hs, h = [], [], x
            for w, b, (f, _) in zip(ws, bs, fs):
                ds.append(np.einsum("si,ji->sj", h, w) + b)
                h = f(ds[-1])
                hs.append(h)
            e = fe(h, y).sum() * scale
            vs = [None] * len(ws)
            for k in reversed(range(len(ws))):
                upstream = te(h, y) * scale if k == len(ws) - 1 else \
                    np.einsum("sj,ji->si", vs[k + 1], ws[k + 1])
                vs[k] = upstream * fs[k][1](ds[k])
            xs = [x] + hs[:-1]
            layers = [LayerTrace(d, h_, v, np.einsum("sj,si->ji", v, xi), v.sum(axis=0))
                      for d, h_, v, xi in zip(ds, hs, vs, xs)]
            steps.append(StepTrace(e, h, layers))
            ws = [w - spec.learning_rate * lt.grad_weights for w, lt in zip(ws, layers)]
            bs = [b - spec.learning_rate * lt.grad_bias for b, lt in zip(bs, layers)]
        return Trace(self.name, self.version(), spec.name, spec.dtype, steps,
                     [{"weights": w, "bias": b} for w, b in zip(ws, bs)], self.settings())
