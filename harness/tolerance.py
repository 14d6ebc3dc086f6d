"""The tolerance model: how far apart two correct implementations may be, element by element.

A running error analysis. For every traced quantity q the baseline's values feed the same
recurrences as the network, run on absolute values, giving a magnitude M(q) such that rounding
errors in a correct implementation stay below about eps * M(q) (first order):

    d = x W^T + b        M(d) = M(x)|W|^T + |x|M(W)^T + M(b) + sqrt(n_in + 1) (|x||W|^T + |b|)
    h = f(d)             M(h) = |t(d)| M(d) + m_f(d)
    t(d)                 M(t) = |t'(d)| M(d) + m_t(d)
    v_L = te t(d_L)      M(v) = M(te)|t| + |te|M(t) + eps M(te)M(t) + |v|, M(te) from the loss
    v = (v' W') t(d)     M(v) = M(p)|t| + |p|M(t) + eps M(p)M(t) + |v|, p = v' W',
                         M(p) = M(v')|W'| + |v'|M(W') + sqrt(n') |v'||W'|
    g = v^T x            M(g) = M(v)^T|x| + |v|^T M(x) + sqrt(batch) |v|^T|x|
    W - r g              M(W) += |W| + r|g|, plus the observed drift (see magnitudes())

m_f and m_t are each activation's own rounding written on absolute values (for sigmoid's
t = h(1 - h), m_t = h(1 + h): the cancellation in 1 - h is counted, so a saturated neuron whose
t is pure rounding noise is not flagged; the second-order term eps M(te)M(t) covers a v that is
the product of two such noises). An element passes when

    |a - b| <= atol + rtol * M,     rtol = K * eps(dtype),  atol = K * tiny(dtype)

with K = FORWARD_K for d, h, u, e and BACKWARD_K for v, gradients and updated parameters.
The spec ("tolerance": {"forward": {"rtol", "atol"}, "backward": {...}}) and the command line
override rtol and atol; an approximate implementation (numeric) declares looser ones of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from impls.reference.activations import activation
from impls.reference.losses import loss as get_loss, softmax

FORWARD_K = 32.0
BACKWARD_K = 32.0
PHASES = ("forward", "backward")


@dataclass(frozen=True)
class Tolerance:
    """atol + rtol * M, for one phase."""

    rtol: float
    atol: float = 0.0


def default_tolerances(dtype: str) -> dict[str, Tolerance]:
    """rtol = K eps; atol = K tiny, the underflow term of the rounding model (it also covers
    subnormals flushed to zero, as XLA does on the CPU)."""
    info = np.finfo(dtype)
    eps, tiny = float(info.eps), float(info.tiny)
    return {"forward": Tolerance(FORWARD_K * eps, FORWARD_K * tiny),
            "backward": Tolerance(BACKWARD_K * eps, BACKWARD_K * tiny)}


def resolve(dtype: str, *overrides: dict | None) -> dict[str, Tolerance]:
    """Defaults for the dtype, then each override ({"forward": {"rtol":..}, ...}) in turn."""
    tol = default_tolerances(dtype)
    for override in overrides:
        for phase, values in (override or {}).items():
            base = tol[phase]
            tol[phase] = Tolerance(values.get("rtol", base.rtol), values.get("atol", base.atol))
    return tol


def loosest(a: dict[str, Tolerance], b: dict[str, Tolerance] | None) -> dict[str, Tolerance]:
    """Per phase, the larger rtol and atol of a and b (an implementation's declared accuracy)."""
    if not b:
        return a
    return {p: Tolerance(max(a[p].rtol, b[p].rtol), max(a[p].atol, b[p].atol)) for p in a}


# ---------------------------------------------------------------- activations on absolute values

def _act_terms(name: str, d: np.ndarray, h: np.ndarray, slope: float):
    """|t(d)|, m_f(d), m_t(d), and a bound on |t'(d)| for one activation."""
    t = np.abs(activation(name, slope).t(d, h))
    ad, ah = np.abs(d), np.abs(h)
    zero = np.zeros_like(d)
    if name == "identity":
        return t, zero, zero, zero
    if name in ("relu", "leaky_relu"):
        return t, ah, zero, zero
    if name == "sigmoid":
        return t, 2 * ah, ah * (1 + ah) + t, t
    if name == "tanh":
        return t, 2 * ah, 1 + ah * ah, 2 * t
    if name == "softplus":
        return t, 2 * ah + 1, 2 * t, t
    if name == "elu":
        return t, 2 * ah, t, np.where(d > 0, 0, t)
    if name == "silu":
        s = 1 / (1 + np.exp(-np.clip(d, -700, 700)))
        return t, 2 * ah, s * (1 + ad * (1 + s)) + t, s * (1 - s) * (2 + ad)
    if name == "gelu":  # h = d Phi(d), t = Phi(d) + d phi(d), 0 <= Phi <= 1
        phi = np.exp(-0.5 * d * d) / math.sqrt(2 * math.pi)
        return t, ad + ah, 1 + ad * phi + t, phi * (2 + d * d)
    k, c = math.sqrt(2 / math.pi), 0.044715
    q = k * (1 + 3 * c * d * d)
    th = np.tanh(k * (d + c * d ** 3))
    sech2 = 1 - th * th
    mt = 0.5 * (1 + np.abs(th)) + 0.5 * ad * (1 + th * th) * q + t
    return t, ad * (1 + np.abs(th)) + ah, mt, sech2 * (q * (2 + 2 * ad * q) + 6 * k * c * ad * ad)


# ---------------------------------------------------------------- losses on absolute values

def _loss_terms(name: str, u: np.ndarray, y: np.ndarray, mu: np.ndarray):
    """Per-sample M(fe) (..., batch) and M(te) (..., batch, n), given u, y and M(u)."""
    n = u.shape[-1]
    diff = u - y
    md = mu + np.abs(diff)
    if name == "squared_error":
        fe = 0.5 * (diff * diff).sum(axis=-1)
        return (np.abs(diff) * md).sum(axis=-1) + math.sqrt(n) * fe, md
    if name == "mse":
        fe = (diff * diff).mean(axis=-1)
        mfe = (2 / n) * (np.abs(diff) * md).sum(axis=-1) + math.sqrt(n) * fe
        return mfe, (2 / n) * md + np.abs(2 * diff / n)
    if name == "softmax_cross_entropy":
        p = softmax(u)
        m = u.max(axis=-1, keepdims=True)
        lse = m + np.log(np.exp(u - m).sum(axis=-1, keepdims=True))
        mlse = (p * mu).sum(axis=-1, keepdims=True) + np.abs(m) + np.abs(lse - m) + 1
        ay = np.abs(y)
        mfe = (ay * (mlse + mu + np.abs(lse) + np.abs(u))).sum(axis=-1)
        sy = np.abs(y.sum(axis=-1, keepdims=True))
        mp = p * (mu + mlse + 2)
        return mfe, mp * sy + p * sy + ay
    with np.errstate(divide="ignore", invalid="ignore"):
        one_m = 1 - u
        mlog = mu / u + np.abs(np.log(u))
        mlog1 = (mu + u) / one_m + np.abs(np.log1p(-u))
        mfe = (np.abs(y) * mlog + np.abs(1 - y) * mlog1).sum(axis=-1)
        te = diff / (u * one_m)
        mte = (md / np.abs(u * one_m)) + np.abs(te) * (mu / u + (mu + u) / one_m + 2)
    return mfe, mte


# ---------------------------------------------------------------- the recurrences

def _clip(delta: np.ndarray, tol: Tolerance, m: np.ndarray) -> np.ndarray:
    """delta limited to what the tolerance allows (NaN and Inf count as nothing allowed)."""
    bound = tol.atol + tol.rtol * np.nan_to_num(m, nan=0.0, posinf=0.0)
    return np.clip(np.nan_to_num(delta, nan=0.0, posinf=0.0, neginf=0.0), -bound, bound)


def _step_drift(spec, m: dict, base_layer, other_layer, tol: Tolerance, k: int):
    """How far one update moves layer k's weights and bias apart: -r (g' - g), with each
    gradient difference clipped to its tolerance (m: that step's magnitudes)."""
    r = spec.learning_rate
    return tuple(-r * _clip(_f64(getattr(other_layer, q)) - _f64(getattr(base_layer, q)), tol,
                            m[(q, k)]) for q in ("grad_weights", "grad_bias"))


def _f64(a) -> np.ndarray:
    """a as float64, without a copy when it already is."""
    return np.asarray(a, dtype=np.float64)


def _t(a: np.ndarray) -> np.ndarray:
    """The transpose of the last two axes (leading axes stack networks)."""
    return a.swapaxes(-1, -2)


def magnitudes(spec, trace, other=None, tol: Tolerance | None = None) -> list[dict]:
    """M for every traced quantity of every step, and for the final parameters.

    Returns one dict per step, {("d", l): M, ("h", l): ..., ("outputs", None): ..., ("loss",
    None): ..., ("v", l), ("grad_weights", l), ("grad_bias", l)}, then one more for the final
    ("weights", l) and ("bias", l). Computed in float64 from the baseline trace's values.
    Arrays may carry leading axes of stacked networks (the batched fuzzer's).

    Across steps no worst-case bound is carried (it grows geometrically and soon means
    nothing). The parameters entering step k carry the rounding of k updates, |W| + r|g| each,
    plus, when `other` and the backward tolerance `tol` are given, the drift that the two
    traces' gradients observably imply, r |sum_j (g_j' - g_j)| / eps in units of eps, with each
    gradient difference clipped to its tolerance: a step is judged given the drift that
    in-tolerance differences explain, so the consequences of an out-of-tolerance gradient (or
    of a faulty update) still fail downstream.
    """
    x0, y = _f64(spec.inputs), _f64(spec.targets)
    w = [_f64(layer.weights) for layer in spec.layers]
    b = [_f64(layer.bias) for layer in spec.layers]
    round_w = [np.zeros_like(a) for a in w]
    round_b = [np.zeros_like(a) for a in b]
    drift_w = [np.zeros_like(a) for a in w]
    drift_b = [np.zeros_like(a) for a in b]
    batch = x0.shape[-2]
    eps = float(np.finfo(spec.dtype).eps)
    scale = 1.0 / batch if spec.reduction == "mean" else 1.0
    out = []
    with np.errstate(all="ignore"):
        for n_step, step in enumerate(trace.steps):
            mw = [rw + np.abs(dw) / eps for rw, dw in zip(round_w, drift_w)]
            mb = [rb + np.abs(db) / eps for rb, db in zip(round_b, drift_b)]
            m = {}
            xs, mxs, terms = [x0], [np.zeros_like(x0)], []
            for k, (layer, lt) in enumerate(zip(spec.layers, step.layers)):
                d, h = _f64(lt.d), _f64(lt.h)
                x, mx = xs[-1], mxs[-1]
                aw = np.abs(w[k])
                md = (mx @ _t(aw) + np.abs(x) @ _t(mw[k]) + mb[k][..., None, :]
                      + math.sqrt(x.shape[-1] + 1) * (np.abs(x) @ _t(aw)
                                                       + np.abs(b[k])[..., None, :]))
                t, mf, mt, dtb = _act_terms(layer.activation, d, h, layer.slope)
                mh = t * md + mf
                m[("d", k)], m[("h", k)] = md, mh
                terms.append((t, mt + dtb * md))
                xs.append(h)
                mxs.append(mh)
            u = xs[-1]
            mfe, mte = _loss_terms(spec.loss, u, y, mxs[-1])
            fe = get_loss(spec.loss).fe(u, y)
            m[("outputs", None)] = mxs[-1]
            m[("loss", None)] = np.asarray(scale * (mfe.sum(axis=-1)
                                                    + math.sqrt(batch) * np.abs(fe).sum(axis=-1)))
            te = get_loss(spec.loss).te(u, y) * scale
            mte = mte * scale + np.abs(te)
            L = len(w)
            mv = None
            for k in range(L - 1, -1, -1):
                t, mt = terms[k]
                v = _f64(step.layers[k].v)
                if k == L - 1:
                    up, mup = np.abs(te), mte
                else:
                    vn, aw = np.abs(_f64(step.layers[k + 1].v)), np.abs(w[k + 1])
                    up = vn @ aw
                    mup = mv @ aw + vn @ mw[k + 1] + math.sqrt(aw.shape[-2]) * up
                mv = mup * t + up * mt + eps * mup * mt + np.abs(v)
                av, x, mx = np.abs(v), np.abs(xs[k]), mxs[k]
                m[("v", k)] = mv
                m[("grad_weights", k)] = _t(mv) @ x + _t(av) @ mx + math.sqrt(batch) * (_t(av) @ x)
                m[("grad_bias", k)] = mv.sum(axis=-2) + math.sqrt(batch) * av.sum(axis=-2)
            r = spec.learning_rate
            for k, lt in enumerate(step.layers):
                gw, gb = _f64(lt.grad_weights), _f64(lt.grad_bias)
                round_w[k] = round_w[k] + np.abs(w[k]) + r * np.abs(gw)
                round_b[k] = round_b[k] + np.abs(b[k]) + r * np.abs(gb)
                if other is not None and tol is not None:
                    dw, db = _step_drift(spec, m, lt, other.steps[n_step].layers[k], tol, k)
                    drift_w[k], drift_b[k] = drift_w[k] + dw, drift_b[k] + db
                w[k], b[k] = w[k] - r * gw, b[k] - r * gb
            out.append(m)
    final = {}
    for k in range(len(w)):
        final[("weights", k)] = round_w[k] + np.abs(drift_w[k]) / eps
        final[("bias", k)] = round_b[k] + np.abs(drift_b[k]) / eps
    out.append(final)
    return out


def with_final_drift(spec, mags: list[dict], base, other, tol: Tolerance) -> list[dict]:
    """One-step magnitudes computed without `other` (magnitudes(spec, base)), completed with
    the drift of the final parameters that `other`'s gradients imply: the same numbers as
    magnitudes(spec, base, other, tol), without recomputing the step for every implementation
    (the batched fuzzer compares several against one baseline)."""
    if spec.steps != 1:
        raise ValueError("with_final_drift is for one-step runs; use magnitudes(...)")
    eps = float(np.finfo(spec.dtype).eps)
    final = dict(mags[-1])
    with np.errstate(all="ignore"):
        for k, (lb, lo) in enumerate(zip(base.steps[0].layers, other.steps[0].layers)):
            dw, db = _step_drift(spec, mags[0], lb, lo, tol, k)
            final[("weights", k)] = final[("weights", k)] + np.abs(dw) / eps
            final[("bias", k)] = final[("bias", k)] + np.abs(db) / eps
    return mags[:-1] + [final]
