"""Probes: one-neuron specs that isolate one function of the seed's formulas at the input an
implementation met at a failing tensor's worst element (harness/rootcause.py runs them).

  h, outputs             the activation's f at d (on one neuron, then on WIDE at once)
  v                      the loss's te at (u, y) (output layer), then the activation's t at d
                         with the same upstream gradient p
  d                      the product x W^T + b of that neuron's row
  loss                   the loss's fe at (u, y) of one sample
  grad_weights, bias     the gradient v x of one sample
  weights, bias (final)  the update p - r g
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from impls.reference import loss as loss_record

from .compare import TensorDiff
from .signature import region
from .spec import Layer, Spec
from .trace import Trace

MAX_SAMPLES = 4  # samples tried for a loss's value
MAX_GROUPS = 4  # groups of failing elements probed per tensor
WIDE = 16  # neurons of an activation's second probe: wide enough for vectorized code
CANCELS = 64  # a t probe's te = u - y losing more bits than this (6) gets a te = 1 probe too


@dataclass
class Probe:
    """One one-neuron spec that isolates `part` of `function` for the failing tensor
    `tensor`; `target` is the (step, quantity, layer) it must fail at to reproduce."""

    tensor: int
    function: str
    part: str
    doc: dict
    target: tuple
    inputs: dict
    at: float
    exact: object  # () -> mpf: the exact value of the function there
    value: object  # (trace) -> float: the implementation's value of the function
    operands: tuple = ()
    spec: Spec | None = None
    width: int = 1  # neurons in the probe's layer, every one at the same input
    group: int = 0  # which group of the tensor's failing elements (groups()) it probes
    label: str = ""  # what the measured value is, in words, where the part's name is vague
    batch: int = 1  # identical samples in the probe (grown(): a reduction over the batch)


def grown(p: Probe, spec: Spec) -> Probe | None:
    """The probe with its one sample repeated spec.batch times under the spec's reduction:
    a mean that computes 1/batch in the dtype (or a sum's accumulation) is then in play,
    which a batch of one never shows. None for an update probe or a batch of one. The
    value and the exact value are scaled to stay the probed function's."""
    if spec.batch < 2 or p.part == "update":
        return None
    n = spec.batch
    doc = dict(p.doc, name=p.doc["name"] + f"-batch{n}", reduction=spec.reduction,
               inputs=p.doc["inputs"] * n, targets=p.doc["targets"] * n)
    mean = spec.reduction == "mean"
    what = (p.target[1], p.part)
    # a mean's 1/n scales te, so v: t (v / te) is read n times smaller, te's v is 1/n of te;
    # a sum adds the n equal terms of the loss and of the gradients
    scale = n if mean and what == ("v", "t") else 1
    exact_scale = {("v", "te"): 1 / n if mean else 1, ("loss", "fe"): 1 if mean else n,
                   ("grad_weights", "gradient"): 1 if mean else n,
                   ("grad_bias", "gradient"): 1 if mean else n}.get(what, 1)
    value, exact = p.value, p.exact
    return Probe(p.tensor, p.function, p.part, doc, p.target, p.inputs, p.at,
                 lambda: exact() * exact_scale, lambda tr: value(tr) * scale, p.operands,
                 width=p.width, group=p.group, label=p.label, batch=n)


def _doc(name: str, dtype: str, act: str, slope: float, loss: str, w, b, x, y,
         lr: float = 0.1) -> dict:
    layer = Layer(np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64), act,
                  slope).to_dict()  # with its parameter: leaky_relu's slope, celu's alpha
    return {"name": name, "dtype": dtype, "loss": loss, "reduction": "sum", "layers": [layer],
            "inputs": [np.asarray(x, dtype=np.float64).tolist()],
            "targets": [np.asarray(y, dtype=np.float64).tolist()], "learning_rate": lr,
            "steps": 1, "description": "one-neuron probe written by harness/rootcause.py"}


def mpmath_and_exact():
    """mpmath's context and the exact oracle's formulas (imported on use: mpmath is optional)."""
    import mpmath

    from impls import exact as E
    return mpmath.mp, E


def _activation_probes(k: int, spec: Spec, trace: Trace, step: int, layer: int, s: int,
                       j: int, parts: tuple, upstream: float) -> list[Probe]:
    """f and/or t of layer `layer`'s activation at the implementation's own d[s, j]: one
    neuron, then the same input on WIDE neurons at once (a vectorized code path that a
    single element never takes, as Inductor's exp(x) - 1 for expm1)."""
    mp, E = mpmath_and_exact()
    la = spec.layers[layer]
    d = float(trace.steps[step].layers[layer].d[s, j])
    f_mp, t_mp = E.activations(la.slope)[la.activation]
    out = []
    for width in (1, WIDE):
        ones, zeros = [[1.0]] * width, [0.0] * width
        for part in parts:
            if part == "f":
                doc = _doc(f"rootcause-{la.activation}-f", spec.dtype, la.activation,
                           la.slope, "squared_error", ones, zeros, [d], zeros)
                out.append(Probe(k, la.activation, "f", doc, (0, "h", 0), {"d": d}, d,
                                 _exact(lambda: f_mp(mp.mpf(d))),
                                 lambda tr: float(tr.steps[0].layers[0].h[0, 0]),
                                 width=width))
                continue
            with mp.workdps(60):
                fu = float(f_mp(mp.mpf(d)))
            for y in _t_targets(fu, upstream, spec.dtype):
                doc = _doc(f"rootcause-{la.activation}-t", spec.dtype, la.activation,
                           la.slope, "squared_error", ones, zeros, [d], [y] * width)
                out.append(Probe(k, la.activation, "t", doc, (0, "v", 0), {"d": d}, d,
                                 _exact(lambda: t_mp(mp.mpf(d))), _implied_t(y), width=width))
    return out


def _t_targets(fu: float, upstream: float, dtype: str) -> list[float]:
    """The targets y of a t probe, whose te = u - y is then the implementation's own upstream
    dE/dh (a fused or special-cased backward sees the same number); where that upstream is
    below u / CANCELS, te = u - y cancels and the probe could not see an error of t below
    |u| / |upstream| ulps (torch's float 1/6 in hardsigmoid' under an upstream of 1e-12), so a
    second probe with te = 1 follows."""
    p = upstream if math.isfinite(upstream) and upstream != 0 else 1.0
    with np.errstate(all="ignore"):
        y = float(np.asarray(fu - p, dtype=dtype))
        one = float(np.asarray(fu - 1.0, dtype=dtype))
    if not math.isfinite(y):
        return [one]
    return [y, one] if abs(p) * CANCELS < abs(fu) and y != one else [y]


def _exact(fn):
    def value():
        mp, _ = mpmath_and_exact()
        with mp.workdps(60):
            return fn()
    return value


def _implied_t(y: float):
    """The implementation's t, from its v = te t and te = u - y (its own u)."""
    def value(tr) -> float:
        u = float(tr.steps[0].layers[0].h[0, 0])
        v = float(tr.steps[0].layers[0].v[0, 0])
        te = u - y
        return (v / te if te else v) + 0.0  # a zero t has no sign
    return value


def _loss_probe(k: int, spec: Spec, trace: Trace, step: int, s: int, part: str,
                j: int = 0) -> Probe:
    """fe (or te at output j) of the loss at the implementation's own u of sample s."""
    mp, E = mpmath_and_exact()
    last = spec.layers[-1]
    n = spec.sizes[-1]
    y = np.asarray(spec.targets[s], dtype=np.float64)
    # a loss that takes only some last activations (BCE's sigmoid, poisson's softplus) is
    # probed through that activation, fed the implementation's own d
    through = last.activation if loss_record(spec.loss).outputs else "identity"
    src = trace.steps[step].layers[-1].d if through != "identity" else trace.steps[step].outputs
    x = np.asarray(src[s], dtype=np.float64)
    u = np.asarray(trace.steps[step].outputs[s], dtype=np.float64)
    doc = _doc(f"rootcause-{spec.loss}-{part}", spec.dtype, through, 0.01, spec.loss,
               np.eye(n), np.zeros(n), x, y)

    def exact():
        f, t = E.activations(last.slope)[through]
        xs = np.array([[mp.mpf(float(a)) for a in x]], dtype=object)
        us = np.vectorize(f, otypes=[object])(xs)
        ys = np.array([[mp.mpf(float(a)) for a in y]], dtype=object)
        per_sample, te = E.LOSSES[spec.loss](us, ys)
        if part == "fe":
            return per_sample[0]
        return te[0, j] * t(xs[0, j])

    if part == "fe":
        target, value = (0, "loss", None), lambda tr: float(tr.steps[0].loss)
    else:
        target, value = (0, "v", 0), lambda tr: float(tr.steps[0].layers[0].v[0, j])
    if part == "te":  # the failing output's own u
        at = float(u[j]) if u.size else 0.0
    else:  # fe: the output nearest the loss's trouble (an end of (0, 1), else the largest)
        near = np.minimum(np.abs(u), np.abs(1 - u)) if spec.loss == "binary_cross_entropy" \
            else -np.abs(u)
        at = float(u[np.argmin(near)]) if u.size else 0.0
    inputs = {"u": u.tolist(), "y": y.tolist()}
    label = ""
    if part == "te":
        label = (f"{spec.loss}'s te times sigmoid's t, v = dE/dd (the derivative in the output's "
                 f"pre-activation d; te = dE/du)" if through != "identity" else
                 f"{spec.loss}'s te = dE/du (the derivative in the output u)")
    return Probe(k, spec.loss, part, doc, target, inputs, at, _exact(exact), value,
                 label=label)


def _params_at(spec: Spec, trace: Trace, step: int, layer: int) -> tuple[np.ndarray, np.ndarray]:
    """The implementation's parameters at the start of `step`: the spec's, updated by its
    own gradients (p - r g in the dtype)."""
    w, b = spec.layers[layer].weights, spec.layers[layer].bias
    r = np.asarray(spec.learning_rate, dtype=spec.dtype)
    for k in range(step):
        lt = trace.steps[k].layers[layer]
        w = (w - r * np.asarray(lt.grad_weights)).astype(spec.dtype)
        b = (b - r * np.asarray(lt.grad_bias)).astype(spec.dtype)
    return np.asarray(w), np.asarray(b)


def _layer_input(spec: Spec, trace: Trace, step: int, layer: int) -> np.ndarray:
    return spec.inputs if layer == 0 else np.asarray(trace.steps[step].layers[layer - 1].h)


def _product_probe(k: int, spec: Spec, trace: Trace, step: int, layer: int, s: int,
                   j: int) -> Probe:
    mp, _ = mpmath_and_exact()
    w, b = _params_at(spec, trace, step, layer)
    x = np.asarray(_layer_input(spec, trace, step, layer)[s], dtype=np.float64)
    row, bias = np.asarray(w[j], dtype=np.float64), float(b[j])
    doc = _doc("rootcause-layer-product", spec.dtype, "identity", 0.01, "squared_error",
               [row], [bias], x, [0.0])
    exact = _exact(lambda: mp.fsum(mp.mpf(float(a)) * mp.mpf(float(c)) for a, c in zip(x, row))
                   + mp.mpf(bias))
    with mp.workdps(60):
        at = float(exact())
    return Probe(k, "layer", "product", doc, (0, "d", 0),
                 {"x": x.tolist(), "w": row.tolist(), "b": bias}, at, exact,
                 lambda tr: float(tr.steps[0].layers[0].d[0, 0]),
                 operands=(*x.tolist(), *row.tolist(), bias))


def _gradient_probe(k: int, spec: Spec, trace: Trace, step: int, layer: int,
                    quantity: str, index: tuple) -> Probe:
    """g = v x at one neuron: the sample whose term is largest, identity, te = p."""
    mp, _ = mpmath_and_exact()
    i = index[0]
    v = np.asarray(trace.steps[step].layers[layer].v, dtype=np.float64)[:, i]
    if quantity == "grad_weights":
        x = np.asarray(_layer_input(spec, trace, step, layer), dtype=np.float64)[:, index[1]]
    else:
        x = np.ones_like(v)
    s = int(np.argmax(np.abs(v * x)))
    p, xs = float(v[s]), float(x[s])
    doc = _doc("rootcause-layer-gradient", spec.dtype, "identity", 0.01, "squared_error",
               [[0.0]], [0.0], [xs], [-p])
    if quantity == "grad_weights":
        exact = _exact(lambda: mp.mpf(p) * mp.mpf(xs))
        value = lambda tr: float(tr.steps[0].layers[0].grad_weights[0, 0])  # noqa: E731
        inputs = {"v": p, "x": xs}
    else:
        exact, inputs = _exact(lambda: mp.mpf(p)), {"v": p}
        value = lambda tr: float(tr.steps[0].layers[0].grad_bias[0])  # noqa: E731
    with mp.workdps(60):
        at = float(exact())
    return Probe(k, "layer", "gradient", doc, (0, quantity, 0), inputs, at, exact, value,
                 operands=(p, xs))


def _update_probe(k: int, spec: Spec, trace: Trace, layer: int, quantity: str,
                  index: tuple) -> Probe:
    """p - r g at one parameter: x = 1, the parameter p, te = u - y = g."""
    mp, _ = mpmath_and_exact()
    last = spec.steps - 1
    w, b = _params_at(spec, trace, last, layer)
    lt = trace.steps[last].layers[layer]
    if quantity == "weights":
        p, g = float(w[index]), float(np.asarray(lt.grad_weights)[index])
        ws, bs = [[p]], [0.0]
    else:
        p, g = float(b[index]), float(np.asarray(lt.grad_bias)[index])
        ws, bs = [[0.0]], [p]
    r = spec.learning_rate
    doc = _doc("rootcause-layer-update", spec.dtype, "identity", 0.01, "squared_error",
               ws, bs, [1.0], [p - g], lr=r)

    def value(tr) -> float:
        return float(tr.params[0][quantity].ravel()[0])

    def exact_of(tr):  # its own g on the probe, so that the claim is the update alone
        g_own = float(tr.steps[0].layers[0].grad_weights[0, 0] if quantity == "weights"
                      else tr.steps[0].layers[0].grad_bias[0])
        return _exact(lambda: mp.mpf(p) - mp.mpf(r) * mp.mpf(g_own))

    probe = Probe(k, "layer", "update", doc, (None, quantity, 0),
                  {"p": p, "r": r, "g": g}, p, None, value)
    probe.exact = exact_of
    return probe


def groups(spec: Spec, trace: Trace, t: TensorDiff) -> list[tuple]:
    """One element of each group of the tensor's failing elements (the worst first, then its
    recorded mismatches), grouped by what they exercise: the input region of the activation
    at that neuron (its d), and for the output layer's v the region of that output's own u.
    Two independent defects of one function in two regions are then two groups, each probed
    (at most MAX_GROUPS); a layer's arithmetic and the loss are one group."""
    rows = [tuple(t.worst_index)] + [tuple(m["index"]) for m in t.mismatches]
    if t.quantity not in ("h", "outputs", "v") or t.step is None:
        return rows[:1]
    layer = len(spec.layers) - 1 if t.quantity == "outputs" else t.layer
    st = trace.steps[t.step]
    d = np.asarray(st.layers[layer].d, dtype=np.float64)
    u = np.asarray(st.outputs, dtype=np.float64)
    last = layer == len(spec.layers) - 1 and t.quantity == "v"
    seen, out = set(), []
    for index in rows:
        if len(index) < 2:
            continue
        key = (region(float(d[index]), spec.dtype, part="f"),
               region(float(u[index]), spec.dtype, part="te") if last else "")
        if key not in seen:
            seen.add(key)
            out.append(index)
    return out[:MAX_GROUPS] or rows[:1]


def probes_for(k: int, spec: Spec, trace: Trace, t: TensorDiff,
               index: tuple | None = None) -> list[Probe]:
    """The probes of failing tensor number k at one of its elements (the worst unless
    `index`), in computation order."""
    q, step, layer = t.quantity, t.step, t.layer
    index = tuple(t.worst_index) if index is None else tuple(index)
    if q in ("d", "h", "v", "outputs") and len(index) < 2:
        return []
    if q == "outputs":
        q, layer = "h", len(spec.layers) - 1
    if q == "h":
        return _activation_probes(k, spec, trace, step, layer, *index, ("f",), 1.0)
    if q == "d":
        return [_product_probe(k, spec, trace, step, layer, *index)]
    if q == "loss":
        return [_loss_probe(k, spec, trace, step, s, "fe")
                for s in range(min(spec.batch, MAX_SAMPLES))]
    if q == "v":
        s, j = index
        out = []
        if layer == len(spec.layers) - 1:
            out.append(_loss_probe(k, spec, trace, step, s, "te", j))
        return out + _activation_probes(k, spec, trace, step, layer, s, j, ("t",),
                                        _upstream(spec, trace, step, layer, s, j))
    if q in ("grad_weights", "grad_bias"):
        return [_gradient_probe(k, spec, trace, step, layer, q, index)]
    if q in ("weights", "bias"):
        return [_update_probe(k, spec, trace, layer, q, index)]
    return []


def _upstream(spec: Spec, trace: Trace, step: int, layer: int, s: int, j: int) -> float:
    """dE/dh[s, j] as the implementation formed it: te (output layer; from the reference's
    loss record at its own u) or sum_i v_(layer+1)[s, i] w[i, j]."""
    st = trace.steps[step]
    with np.errstate(all="ignore"):
        if layer == len(spec.layers) - 1:
            u = np.asarray(st.outputs, dtype=np.float64)
            te = loss_record(spec.loss).te(u, np.asarray(spec.targets, dtype=np.float64))
            scale = 1.0 / spec.batch if spec.reduction == "mean" else 1.0
            return float(np.asarray(te)[s, j]) * scale
        w, _ = _params_at(spec, trace, step, layer + 1)
        v = np.asarray(st.layers[layer + 1].v, dtype=np.float64)[s]
        return float(v @ np.asarray(w, dtype=np.float64)[:, j])
