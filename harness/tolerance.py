"""The tolerance model: how far apart two correct implementations may be, element by element.

A running error analysis. For every traced quantity q the baseline's values feed the same
recurrences as the network, run on absolute values, giving a magnitude M(q) such that rounding
errors in a correct implementation stay below about eps * M(q) (first order):

    d = x W^T + b        M(d) = M(x)|W|^T + |x|M(W)^T + M(b) + sqrt(n_in + 1) (|x||W|^T + |b|)
                                + eps M(x)M(W)^T
    h = f(d)             M(h) = |t(d)| M(d) + m_f(d)
    t(d)                 M(t) = |t'(d)| M(d) + m_t(d)
    v_L = te t(d_L)      M(v) = M(te)|t| + |te|M(t) + eps M(te)M(t) + |v|, M(te) from the loss
    v = (v' W') t(d)     M(v) = M(p)|t| + |p|M(t) + eps M(p)M(t) + |v|, p = v' W',
                         M(p) = M(v')|W'| + |v'|M(W') + sqrt(n') |v'||W'| + eps M(v')M(W')
    g = v^T x            M(g) = M(v)^T|x| + |v|^T M(x) + sqrt(batch) |v|^T|x| + eps M(v)^T M(x)
    W - r g              M(W) += |W| + r|g|, plus the observed drift (see magnitudes())

m_f and m_t are each activation's own rounding written on absolute values, its record's
`rounding` (impls/reference/activations.py; each loss's record has its M(fe) and M(te)). For
sigmoid's t = h(1 - h), m_t = h(1 + h): the cancellation in 1 - h is counted, so a saturated
neuron whose t is pure rounding noise is not flagged; the second-order term eps M(te)M(t)
covers a v that is the product of two such noises (and eps M(v)^T M(x) a gradient that is,
eps M(v')M(W') a p whose v' and updated W' are both 0 in the baseline: an l1 sign that a
cancelling d flips, times weights whose two updates cancel exactly).

Underflow: a result below the dtype's smallest normal number may be flushed to zero (XLA on
the CPU does, and so may any framework), an absolute error of up to tiny. Each elementwise
result (d, h, t, te, v) therefore adds tiny / eps to its M, and the recurrences carry it
through the products that follow: a flushed v multiplied by an input of 1e5 may be off by
1e5 tiny in the gradient, and the tolerance says so, while an error of that size where no
underflow could produce it still fails. An element passes when

    |a - b| <= atol + rtol * M,     rtol = K * eps(dtype),  atol = K * tiny(dtype)

with K = FORWARD_K for d, h, u, e and BACKWARD_K for v, gradients and updated parameters.
The spec ("tolerance": {"forward": {"rtol", "atol"}, "backward": {...}}) and the command line
override rtol and atol; an approximate implementation (numeric) declares looser ones of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from impls.reference import activation, loss
from impls.reference.dtypes import dtype as np_dtype, finfo

FORWARD_K = 32.0
BACKWARD_K = 32.0
LOW_PRECISION_K = 4.0
PHASES = ("forward", "backward")


@dataclass(frozen=True)
class Tolerance:
    """atol + rtol * M, for one phase."""

    rtol: float
    atol: float = 0.0


def default_tolerances(dtype: str) -> dict[str, Tolerance]:
    """rtol = K eps; atol = K tiny, the underflow term of the rounding model (it also covers
    subnormals flushed to zero, as XLA does on the CPU). K is LOW_PRECISION_K for a 16-bit
    dtype, whose one ulp is already 0.4% to 0.1%: 32 of them would hide a 100% error."""
    info = finfo(dtype)
    eps, tiny = float(info.eps), float(info.tiny)
    low = np_dtype(dtype).itemsize < 4
    kf, kb = (LOW_PRECISION_K, LOW_PRECISION_K) if low else (FORWARD_K, BACKWARD_K)
    return {"forward": Tolerance(kf * eps, kf * tiny), "backward": Tolerance(kb * eps, kb * tiny)}


def resolve(dtype: str, *overrides: dict | None) -> dict[str, Tolerance]:
    """Defaults for the dtype, then each override ({"forward": {"rtol":..}, ...}) in turn."""
    tol = default_tolerances(dtype)
    for override in overrides:
        for phase, values in (override or {}).items():
            base = tol[phase]
            tol[phase] = Tolerance(values.get("rtol", base.rtol), values.get("atol", base.atol))
    return tol


MAX_ACCURACY = 1e3  # a declared accuracy may loosen the model's rtol and atol this much, no more


def bounded(dtype: str, declared: dict) -> dict[str, Tolerance]:
    """A declared accuracy for the dtype, its rtol capped at MAX_ACCURACY times the model's
    default and its atol at the same number (the capped rtol of a value of order one): an
    adapter cannot widen its tolerance so far that anything passes."""
    default = default_tolerances(dtype)
    tol = resolve(dtype, declared)
    return {p: Tolerance(min(t.rtol, MAX_ACCURACY * default[p].rtol),
                         min(t.atol, MAX_ACCURACY * default[p].rtol)) for p, t in tol.items()}


def accuracy_problem(declared: dict | None, dtypes) -> str:
    """One line refusing a declared accuracy beyond MAX_ACCURACY times the model's in every
    dtype the adapter supports (the loosest of them), or ""."""
    for phase, values in (declared or {}).items():
        for key in ("rtol", "atol"):
            if key not in values:
                continue
            limit = max(default_tolerances(d)[phase].rtol for d in dtypes) * MAX_ACCURACY
            if not float(values[key]) <= limit:
                return (f"accuracy {phase} {key} {values[key]:.2g} is beyond {MAX_ACCURACY:g} "
                        f"times the tolerance model's ({limit:.2g} in {', '.join(dtypes)}): "
                        f"refused (docs/tolerances.md)")
    return ""


def loosest(a: dict[str, Tolerance], b: dict[str, Tolerance] | None) -> dict[str, Tolerance]:
    """Per phase, the larger rtol and atol of a and b (an implementation's declared accuracy)."""
    if not b:
        return a
    return {p: Tolerance(max(a[p].rtol, b[p].rtol), max(a[p].atol, b[p].atol)) for p in a}


# ---------------------------------------------------------------- the element-wise rule

def bound(xp, m, tol: Tolerance):
    """atol + rtol * M; an M that is NaN counts as 0."""
    return tol.atol + tol.rtol * xp.nan_to_num(m, nan=0.0, posinf=xp.inf)


def passes(xp, a, b, allowed):
    """Element by element, whether a is within `allowed` of the baseline b: NaN equals NaN
    only in the same place, an Inf equals only the same Inf. The one pass rule: the report's
    comparison and the batched fuzzer's judge (on stacked arrays) both call it."""
    finite = xp.isfinite(a) & xp.isfinite(b)
    return (a == b) | (xp.isnan(a) & xp.isnan(b)) | (finite & (xp.abs(a - b) <= allowed))


# ---------------------------------------------------------------- the recurrences

def _clip(xp, delta, tol: Tolerance, m):
    """delta limited to what the tolerance allows (NaN and Inf count as nothing allowed)."""
    bound = tol.atol + tol.rtol * xp.nan_to_num(m, nan=0.0, posinf=0.0)
    return xp.clip(xp.nan_to_num(delta, nan=0.0, posinf=0.0, neginf=0.0), -bound, bound)


def _step_drift(xp, spec, m: dict, base_layer, other_layer, tol: Tolerance, k: int):
    """How far one update moves layer k's weights and bias apart: -r (g' - g), with each
    gradient difference clipped to its tolerance (m: that step's magnitudes)."""
    r = spec.learning_rate
    return tuple(-r * _clip(xp, _f64(xp, getattr(other_layer, q))
                            - _f64(xp, getattr(base_layer, q)), tol, m[(q, k)])
                 for q in ("grad_weights", "grad_bias"))


def _f64(xp, a):
    """a as float64, without a copy when it already is."""
    return xp.asarray(a, dtype=xp.float64)


def _t(a):
    """The transpose of the last two axes (leading axes stack networks)."""
    return a.swapaxes(-1, -2)


def local_terms(spec, trace) -> list[tuple]:
    """What the recurrences take from the reference engine's own functions, per step: |t(d)|
    of every layer, and the loss node's fe and te (batch reduction applied) at the baseline's
    outputs, all in float64. Kept apart so that recurrences() runs on any array namespace."""
    y = _f64(np, spec.targets)
    scale = 1.0 / y.shape[-2] if spec.reduction == "mean" else 1.0
    fn = loss(spec.loss)
    out = []
    with np.errstate(all="ignore"):
        for step in trace.steps:
            ts = [np.abs(activation(layer.activation, layer.slope).t(_f64(np, lt.d),
                                                                   _f64(np, lt.h)))
                  for layer, lt in zip(spec.layers, step.layers)]
            u = _f64(np, step.layers[-1].h)
            out.append((ts, fn.fe(u, y), fn.te(u, y) * scale))
    return out


def magnitudes(spec, trace, other=None, tol: Tolerance | None = None,
               pinned: list | None = None) -> list[dict]:
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

    `pinned` (pinned_outputs()) marks the outputs where the loss's first-order bound is no
    bound: te and t there are each ill-conditioned, but their product v is the derivative of
    the loss through the output's activation (for the sigmoid that binary cross-entropy takes,
    v = (u - y) / batch), whose error is of the order of u's own: M(v) = |v| + M(u) / batch
    (/ 1 for a sum; pinned_v(), with poisson's ratio t/u), and the layers below carry that
    (linear in v: first order is honest).
    """
    terms = local_terms(spec, trace)
    with np.errstate(all="ignore"):
        return recurrences(np, spec, trace, terms, other, tol, pinned)


def recurrences(xp, spec, trace, terms: list[tuple], other=None,
                tol: Tolerance | None = None, pinned: list | None = None) -> list[dict]:
    """magnitudes() on the array namespace xp (numpy, or jax.numpy under jit), given
    local_terms(spec, trace). Sums of products that share a factor are taken as one product:
    M(x)|W| + c|x||W| = (M(x) + c|x|)|W|, and terms of parameter rounding, zero before the
    first update, are left out there."""
    x0, y = _f64(xp, spec.inputs), _f64(xp, spec.targets)
    w = [_f64(xp, layer.weights) for layer in spec.layers]
    b = [_f64(xp, layer.bias) for layer in spec.layers]
    round_w = [xp.zeros_like(a) for a in w]
    round_b = [xp.zeros_like(a) for a in b]
    drift_w = [xp.zeros_like(a) for a in w]
    drift_b = [xp.zeros_like(a) for a in b]
    batch = x0.shape[-2]
    eps, tiny = float(finfo(spec.dtype).eps), float(finfo(spec.dtype).tiny)
    under = tiny / eps  # an underflow, in units of eps (see above)
    scale = 1.0 / batch if spec.reduction == "mean" else 1.0
    r = spec.learning_rate
    out = []
    for n_step, (step, (ts, fe, te)) in enumerate(zip(trace.steps, terms)):
        mw = [rw + xp.abs(dw) / eps for rw, dw in zip(round_w, drift_w)]
        mb = [rb + xp.abs(db) / eps for rb, db in zip(round_b, drift_b)]
        m = {}
        xs, mxs, mts = [x0], [xp.zeros_like(x0)], []
        for k, (layer, lt, t) in enumerate(zip(spec.layers, step.layers, ts)):
            d, h = _f64(xp, lt.d), _f64(xp, lt.h)
            ax, c = xp.abs(xs[-1]), math.sqrt(xs[-1].shape[-1] + 1)
            md = (mxs[-1] + c * ax) @ _t(xp.abs(w[k])) + c * xp.abs(b[k])[..., None, :]
            if n_step:  # the updated W's rounding, alone and times x's (second order)
                md = md + (ax + eps * mxs[-1]) @ _t(mw[k]) + mb[k][..., None, :]
            record = activation(layer.activation, layer.slope)
            mf, mt, dtb = record.rounding(xp, d, h, t, under)
            md = md + under
            mh = t * md + mf + under
            m[("d", k)], m[("h", k)] = md, mh
            if other is not None:
                mt = mt + _crossed(xp, record, d, _f64(xp, other.steps[n_step].layers[k].d)) / eps
            mts.append(mt + dtb * md + under)
            xs.append(h)
            mxs.append(mh)
        mfe, mte = loss(spec.loss).rounding(xp, xs[-1], y, mxs[-1], eps)
        m[("outputs", None)] = mxs[-1]
        m[("loss", None)] = xp.asarray(scale * (mfe.sum(axis=-1)
                                                + math.sqrt(batch) * xp.abs(fe).sum(axis=-1)))
        mte = mte * scale + xp.abs(te) + under
        L = len(w)
        mv = None
        for k in range(L - 1, -1, -1):
            t, mt = ts[k], mts[k]
            av = xp.abs(_f64(xp, step.layers[k].v))
            if k == L - 1:
                up, mup = xp.abs(te), mte
            else:
                vn, aw = xp.abs(_f64(xp, step.layers[k + 1].v)), xp.abs(w[k + 1])
                up = vn @ aw
                mup = mv @ aw + math.sqrt(aw.shape[-2]) * up
                if n_step:  # W's rounding, alone and times v's: v' and W both 0 at once
                    mup = mup + (vn + eps * mv) @ mw[k + 1]
            mv = mup * t + up * mt + eps * mup * mt + av + under
            if k == L - 1 and pinned is not None:  # see magnitudes()
                mv = xp.where(pinned[n_step], pinned_v(spec.loss, xp, av, mxs[-1], xs[-1], y,
                                                       t, scale, eps, tiny), mv)
            ax = xp.abs(xs[k])
            m[("v", k)] = mv
            m[("grad_weights", k)] = (_t(mv + math.sqrt(batch) * av) @ ax
                                      + _t(av + eps * mv) @ mxs[k])
            m[("grad_bias", k)] = mv.sum(axis=-2) + math.sqrt(batch) * av.sum(axis=-2)
        for k, lt in enumerate(step.layers):
            gw, gb = _f64(xp, lt.grad_weights), _f64(xp, lt.grad_bias)
            round_w[k] = round_w[k] + xp.abs(w[k]) + r * xp.abs(gw)
            round_b[k] = round_b[k] + xp.abs(b[k]) + r * xp.abs(gb)
            if other is not None and tol is not None:
                dw, db = _step_drift(xp, spec, m, lt, other.steps[n_step].layers[k], tol, k)
                drift_w[k], drift_b[k] = drift_w[k] + dw, drift_b[k] + db
            w[k], b[k] = w[k] - r * gw, b[k] - r * gb
        out.append(m)
    final = {}
    for k in range(len(w)):
        final[("weights", k)] = round_w[k] + xp.abs(drift_w[k]) / eps
        final[("bias", k)] = round_b[k] + xp.abs(drift_b[k]) / eps
    out.append(final)
    return out


def kink_jumps(record) -> list[tuple[float, float]]:
    """(kink, |t(kink+) - t(kink-)|) of each kink of an activation record: how far its
    derivative jumps across it (relu 1, leaky_relu |1 - slope|, elu with alpha = 1 none)."""
    out = []
    for kink in record.kinks:
        d = np.array([np.nextafter(kink, -np.inf), np.nextafter(kink, np.inf)])
        with np.errstate(all="ignore"):
            t = record.t(d, record.f(d))
        out.append((kink, float(abs(t[1] - t[0]))))
    return out


def _crossed(xp, record, d, d_other):
    """The jump of t where the other trace's d sits across a kink from the baseline's (or on
    it, where the baseline's is not): after in-tolerance differences a correct implementation
    may take the other branch (torch's log_cosh te, 0 in float32 for 8.7e-19, times a slope
    of -7.4e19: a bias gradient 21 apart, within tolerance, sent d to 401 in one trace and
    -1.2e-38 in the other). A d on a kink in both, or on one side in both, gets nothing: that
    is a convention or a defect to report (the records' points one ulp to either side)."""
    jump = xp.zeros_like(d)
    for kink, size in kink_jumps(record):
        across = ((d - kink) * (d_other - kink) <= 0) & (d != d_other)
        jump = jump + xp.where(across, size, 0.0)
    return jump


def pinned_v(loss_name: str, xp, av, mu, u, y, t, scale: float, eps: float, tiny: float):
    """M(v) at a pinned output (see magnitudes()): v is one function of the output's d whose
    error is of the order of u's own, |v| + M(u)/batch (/ 1 for a sum). For poisson, v = t -
    y r with r = t/u near 1 (softplus and sigmoid at very negative d): r moves by about M(u)
    with d, and its own rounding is relative to u and t, each of which may be subnormal
    (an absolute tiny eps / 2 each): |y| (M(u) + (t + tiny/2 + t tiny/(2u)) / u) more."""
    mv = av + scale * mu + tiny / eps
    if loss_name != "poisson":
        return mv
    with np.errstate(all="ignore"):  # t/u first: t tiny underflows to 0 where t is small
        ratio = (t + tiny / 2 + tiny / 2 * (t / u)) / u
    return mv + scale * xp.abs(y) * (mu + ratio)


def with_final_drift(spec, mags: list[dict], base, other, tol: Tolerance, xp=np) -> list[dict]:
    """One-step magnitudes computed without `other` (magnitudes(spec, base)), completed with
    the drift of the final parameters that `other`'s gradients imply: the same numbers as
    magnitudes(spec, base, other, tol), without recomputing the step for every implementation
    (the batched fuzzer compares several against one baseline)."""
    if spec.steps != 1:
        raise ValueError("with_final_drift is for one-step runs; use magnitudes(...)")
    eps = float(finfo(spec.dtype).eps)
    final = dict(mags[-1])
    with np.errstate(all="ignore"):
        for k, (lb, lo) in enumerate(zip(base.steps[0].layers, other.steps[0].layers)):
            dw, db = _step_drift(xp, spec, mags[0], lb, lo, tol, k)
            final[("weights", k)] = final[("weights", k)] + xp.abs(dw) / eps
            final[("bias", k)] = final[("bias", k)] + xp.abs(db) / eps
    return mags[:-1] + [final]
