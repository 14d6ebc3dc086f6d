"""A complete third-party adapter: backpropagation written with numpy.einsum, float64 inside.

It registers itself under the entry-point group 'backprop_harness.impls' (pyproject.toml) and
implements the protocol: `name`, `version()`, `trace(spec) -> Trace`, plus the optional
`supports` and `settings()`. It computes in float64 whatever the spec's dtype and rounds at the
end, so float32 cases are not supported (declared below), and it ships a list of known
deviations (xfails.txt) for `pytest --bp-impl einsum --bp-xfails ...`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.trace import LayerTrace, StepTrace, Trace

__version__ = "0.1.0"
XFAILS = Path(__file__).with_name("xfails.txt")

F = {  # f and f' for the activations this adapter supports
    "identity": (lambda d: d, lambda d: np.ones_like(d)),
    "tanh": (np.tanh, lambda d: 1 - np.tanh(d) ** 2),
    "sigmoid": (lambda d: 0.5 * (1 + np.tanh(d / 2)),
                lambda d: 0.25 * (1 - np.tanh(d / 2) ** 2)),
    "relu": (lambda d: np.where(d > 0, d, 0.0), lambda d: (d > 0) * 1.0),
}


class EinsumImpl:
    name = "einsum"
    xfails = XFAILS  # the pytest plugin applies this list whenever einsum is under test
    supports = {"dtypes": ["float64"], "activations": sorted(F),
                "losses": ["squared_error", "mse"]}

    def version(self) -> str:
        return __version__

    def settings(self) -> dict:
        return {"numpy": np.__version__, "compute_dtype": "float64"}

    def trace(self, spec) -> Trace:
        ws = [np.array(layer.weights, dtype=np.float64) for layer in spec.layers]
        bs = [np.array(layer.bias, dtype=np.float64) for layer in spec.layers]
        x, y = spec.inputs.astype(np.float64), spec.targets.astype(np.float64)
        n_out, batch = y.shape[1], y.shape[0]
        scale = (1.0 if spec.loss == "squared_error" else 2.0 / n_out) * \
            (1.0 / batch if spec.reduction == "mean" else 1.0)
        steps = []
        for _ in range(spec.steps):
            ds, hs, inp = [], [], x
            for w, b, layer in zip(ws, bs, spec.layers):
                ds.append(np.einsum("si,ji->sj", inp, w) + b)
                inp = F[layer.activation][0](ds[-1])
                hs.append(inp)
            per = 0.5 * np.einsum("sj,sj->s", inp - y, inp - y)
            if spec.loss == "mse":
                per = per * 2.0 / n_out
            e = per.mean() if spec.reduction == "mean" else per.sum()
            grad_u = scale * (inp - y)
            vs = [None] * len(ws)
            for k in reversed(range(len(ws))):
                upstream = grad_u if k == len(ws) - 1 else \
                    np.einsum("sj,ji->si", vs[k + 1], ws[k + 1])
                vs[k] = upstream * F[spec.layers[k].activation][1](ds[k])
            xs = [x] + hs[:-1]
            layers = [LayerTrace(d, h, v, np.einsum("sj,si->ji", v, xi), v.sum(axis=0))
                      for d, h, v, xi in zip(ds, hs, vs, xs)]
            steps.append(StepTrace(e, inp, layers))
            ws = [w - spec.learning_rate * lt.grad_weights for w, lt in zip(ws, layers)]
            bs = [b - spec.learning_rate * lt.grad_bias for b, lt in zip(bs, layers)]
        return Trace(self.name, self.version(), spec.name, spec.dtype, steps,
                     [{"weights": w, "bias": b} for w, b in zip(ws, bs)], self.settings())
