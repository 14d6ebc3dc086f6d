"""The exact oracle: the seed's formulas in 60-digit arithmetic (mpmath), rounded at the end.

The spec's numbers (already in its dtype) are taken exactly; every d, h, v, g, e and update is
computed with 60 significant digits and only the reported values are rounded to the dtype.
Each step's updated parameters are rounded to the dtype before the next step, as they are in
every implementation (so a later step is the exact step from the parameters it starts from).
This is the truth that decides which side of a disagreement is closer. Small networks only.
"""

from __future__ import annotations

import mpmath
import numpy as np

from harness import __version__
from harness.trace import LayerTrace, StepTrace, Trace

DIGITS = 60
MAX_OPS = 2_000_000  # multiply-adds over the whole run; beyond this the oracle takes minutes
mp = mpmath.mp


def _vec(fn):
    return np.frompyfunc(fn, 1, 1)


def _sigmoid(d):
    return 1 / (1 + mp.exp(-d))


def _phi(d):
    """The normal CDF through erfc: 1 + erf(d / sqrt 2) would cancel to 0 below d = -17 even in
    60 digits."""
    return mp.erfc(-d / mp.sqrt(2)) / 2


GELU_K, GELU_C = mp.sqrt(2 / mp.pi), mp.mpf("0.044715")


def _gelu_tanh_inner(d):
    return GELU_K * (d + GELU_C * d ** 3)


def _gelu_tanh_t(d):
    """(1 + tanh z) / 2 = sigmoid(2z) and 1 - tanh(z)^2 = sech(z)^2: no cancellation."""
    z = _gelu_tanh_inner(d)
    return _sigmoid(2 * z) + d * mp.sech(z) ** 2 * GELU_K * (1 + 3 * GELU_C * d ** 2) / 2


def activations(slope) -> dict:
    """name: (f, t), both on one mpf, each written so that no step cancels (1 - sigmoid(d) is
    sigmoid(-d), 1 - tanh(d)^2 is sech(d)^2): 60 digits are then 60 digits of the answer in
    every tail."""
    slope = mp.mpf(slope)
    return {
        "identity": (lambda d: d, lambda d: mp.mpf(1)),
        "sigmoid": (_sigmoid, lambda d: _sigmoid(d) * _sigmoid(-d)),
        "tanh": (mp.tanh, lambda d: mp.sech(d) ** 2),
        "relu": (lambda d: d if d > 0 else mp.mpf(0), lambda d: mp.mpf(1 if d > 0 else 0)),
        "leaky_relu": (lambda d: d if d > 0 else slope * d,
                       lambda d: mp.mpf(1) if d > 0 else slope),
        "softplus": (lambda d: mp.log1p(mp.exp(d)), _sigmoid),
        "elu": (lambda d: d if d > 0 else mp.expm1(d),
                lambda d: mp.mpf(1) if d > 0 else mp.exp(d)),
        "silu": (lambda d: d * _sigmoid(d),
                 lambda d: _sigmoid(d) * (1 + d * _sigmoid(-d))),
        "gelu": (lambda d: d * _phi(d),
                 lambda d: _phi(d) + d * mp.exp(-d * d / 2) / mp.sqrt(2 * mp.pi)),
        "gelu_tanh": (lambda d: d * _sigmoid(2 * _gelu_tanh_inner(d)), _gelu_tanh_t),
        **_more_activations(slope),
    }


SELU_ALPHA = mp.mpf("1.6732632423543772848170429916717")
SELU_SCALE = mp.mpf("1.0507009873554804934193349852946")


def _step(lo, hi, value=1):
    """value on the open interval (lo, hi), 0 elsewhere: the kinks' conventions."""
    return lambda d: mp.mpf(value) if lo < d < hi else mp.mpf(0)


def _mish_t(d):
    sp = mp.log1p(mp.exp(d))
    return mp.tanh(sp) + d * _sigmoid(d) * mp.sech(sp) ** 2


def _more_activations(alpha) -> dict:
    """impls/reference/more_activations.py's records; alpha: celu's (the layer's parameter,
    1 where the layer's slope is leaky_relu's default)."""
    a = mp.mpf(alpha)
    return {
        "relu6": (lambda d: min(max(d, mp.mpf(0)), mp.mpf(6)), _step(0, 6)),
        "selu": (lambda d: SELU_SCALE * (d if d > 0 else SELU_ALPHA * mp.expm1(d)),
                 lambda d: SELU_SCALE * (1 if d > 0 else SELU_ALPHA * mp.exp(d))),
        "celu": (lambda d: d if d > 0 else a * mp.expm1(d / a),
                 lambda d: mp.mpf(1) if d > 0 else mp.exp(d / a)),
        "log_sigmoid": (lambda d: -mp.log1p(mp.exp(-d)), lambda d: _sigmoid(-d)),
        "softsign": (lambda d: d / (1 + abs(d)), lambda d: 1 / (1 + abs(d)) ** 2),
        "mish": (lambda d: d * mp.tanh(mp.log1p(mp.exp(d))), _mish_t),
        "hard_sigmoid": (lambda d: min(max(d / 6 + mp.mpf(1) / 2, mp.mpf(0)), mp.mpf(1)),
                         _step(-3, 3, mp.mpf(1) / 6)),
        "hard_swish": (lambda d: d * min(max(d / 6 + mp.mpf(1) / 2, mp.mpf(0)), mp.mpf(1)),
                       lambda d: mp.mpf(1) if d >= 3 else (d / 3 + mp.mpf(1) / 2 if d > -3
                                                           else mp.mpf(0))),
        "hard_tanh": (lambda d: min(max(d, mp.mpf(-1)), mp.mpf(1)), _step(-1, 1)),
    }


def _softmax_cross_entropy(u, y):
    ex = _vec(mp.exp)(u)
    total = ex.sum(axis=1)[:, None]
    lse = _vec(mp.log)(total)
    return (y * (lse - u)).sum(axis=1), ex / total * y.sum(axis=1)[:, None] - y


def _binary_cross_entropy(u, y):
    logs = _vec(mp.log)(u)
    log1m = _vec(lambda a: mp.log(1 - a))(u)
    return -(y * logs + (1 - y) * log1m).sum(axis=1), (u - y) / (u * (1 - u))


def _mean(fe, te):
    """(u, y) -> (the mean over the outputs of fe(u_j, y_j), te(u_j, y_j) / n), elementwise."""
    def loss(u, y):
        n = u.shape[1]
        return _vec2(fe)(u, y).sum(axis=1) / n, _vec2(te)(u, y) / n
    return loss


def _vec2(fn):
    return np.frompyfunc(fn, 2, 1)


def _log_cosh(r):
    """log cosh r = log1p(2 sinh(r/2)^2): no cancellation near 0, no overflow in mpmath."""
    return mp.log1p(2 * mp.sinh(r / 2) ** 2)


def _huber(r, delta=1):
    return r * r / 2 if abs(r) <= delta else delta * (abs(r) - mp.mpf(delta) / 2)


def _xlogy(y, u):
    return y * mp.log(u) if y != 0 else mp.mpf(0)


LOSSES = {  # name: (u, y) -> per-sample losses (batch,) and te (batch, n), object arrays of mpf
    "squared_error": lambda u, y: (((u - y) ** 2).sum(axis=1) / 2, u - y),
    "mse": lambda u, y: (((u - y) ** 2).sum(axis=1) / u.shape[1], 2 * (u - y) / u.shape[1]),
    "softmax_cross_entropy": _softmax_cross_entropy,
    "binary_cross_entropy": _binary_cross_entropy,
    "l1": _mean(lambda u, y: abs(u - y), lambda u, y: mp.sign(u - y)),
    "huber": _mean(lambda u, y: _huber(u - y), lambda u, y: max(min(u - y, 1), -1)),
    "log_cosh": _mean(lambda u, y: _log_cosh(u - y), lambda u, y: mp.tanh(u - y)),
    "kl_divergence": lambda u, y: ((_vec2(_xlogy)(y, y) - y * u).sum(axis=1), -y),
    "poisson": _mean(lambda u, y: u - _xlogy(y, u), lambda u, y: 1 - y / u),
    "hinge": _mean(lambda u, y: max(1 - y * u, mp.mpf(0)),
                   lambda u, y: -y if y * u < 1 else mp.mpf(0)),
    "bce_with_logits": lambda u, y: ((_vec(lambda a: mp.log1p(mp.exp(a)))(u) - u * y).sum(axis=1),
                                     _vec(_sigmoid)(u) - y),
}


class ExactImpl:
    """60-digit arithmetic with mpmath; slow, for small networks."""

    name = "exact"

    def version(self) -> str:
        return f"{__version__} (mpmath {mpmath.__version__})"

    def settings(self) -> dict:
        return {"mpmath": mpmath.__version__, "digits": DIGITS}

    def unsupported(self, spec) -> str | None:
        params = sum(layer.weights.size for layer in spec.layers)
        ops = 3 * params * spec.batch * spec.steps
        if ops > MAX_OPS:
            return (f"too large for the exact oracle: about {ops:,} multiply-adds in "
                    f"{DIGITS}-digit arithmetic (limit {MAX_OPS:,})")
        return None

    def trace(self, spec) -> Trace:
        with mp.workdps(DIGITS):
            return self._trace(spec)

    def _trace(self, spec) -> Trace:
        exact = _vec(lambda a: mp.mpf(float(a)))
        ws = [exact(layer.weights) for layer in spec.layers]
        bs = [exact(layer.bias) for layer in spec.layers]
        acts = [tuple(map(_vec, activations(layer.slope)[layer.activation]))
                for layer in spec.layers]
        x, y = exact(spec.inputs), exact(spec.targets)
        r = mp.mpf(spec.learning_rate)
        steps = []
        for _ in range(spec.steps):
            ds, hs, h = [], [], x
            for w, b, (f, _) in zip(ws, bs, acts):
                ds.append(h @ w.T + b)
                h = f(ds[-1])
                hs.append(h)
            per_sample, te = LOSSES[spec.loss](h, y)
            if spec.reduction == "mean":
                per_sample, te = per_sample / len(x), te / len(x)
            vs = [None] * len(ws)
            v = te
            for k in range(len(ws) - 1, -1, -1):
                v = (v if k == len(ws) - 1 else v @ ws[k + 1]) * acts[k][1](ds[k])
                vs[k] = v
            xs = [x] + hs[:-1]
            gws = [v.T @ xin for v, xin in zip(vs, xs)]
            gbs = [v.sum(axis=0) for v in vs]
            layers = [LayerTrace(*(_round(a, spec.dtype) for a in q))
                      for q in zip(ds, hs, vs, gws, gbs)]
            steps.append(StepTrace(np.dtype(spec.dtype).type(float(per_sample.sum())),
                                   _round(h, spec.dtype), layers))
            # each step starts from parameters in the dtype, as every implementation's do
            ws = [exact(_round(w - r * g, spec.dtype)) for w, g in zip(ws, gws)]
            bs = [exact(_round(b - r * g, spec.dtype)) for b, g in zip(bs, gbs)]
        params = [{"weights": _round(w, spec.dtype), "bias": _round(b, spec.dtype)}
                  for w, b in zip(ws, bs)]
        return Trace(self.name, self.version(), spec.name, spec.dtype, steps, params,
                     self.settings())


def _round(a, dtype) -> np.ndarray:
    """Correctly rounded to float64 by mpmath, then to the spec's dtype."""
    return np.asarray(a.astype(float), dtype=np.float64).astype(dtype)
