"""The root cause of a divergence at one neuron: the smallest claim the implementation itself
reproduces, found by running it, never guessed from a case's name.

A divergence's failing tensors are visited in computation order. The worst element of each
becomes probes, one-neuron specs (a 1-1 network, batch 1, one step; one sample of the n
outputs for a loss) that isolate one function of the seed's formulas at the very input the
implementation met there (its own d, u, x, v):

  h, outputs             the activation's f at d
  v                      the loss's te at (u, y) (output layer), then the activation's t at d
                         with the same upstream gradient p
  d                      the product x W^T + b of that neuron's row
  loss                   the loss's fe at (u, y) of one sample
  grad_weights, bias     the gradient v x of one sample
  weights, bias (final)  the update p - r g

The implementation traces every probe through the ordinary contract (trace_many, else trace),
the exact oracle too, and the probe is judged like any case: it reproduces when it fails with
its origin at the probed quantity. The claim then holds the implementation's value of that
function at that input and mpmath's (60 digits). For the origin, no reproducing probe means a
divergence that does not reduce (it needs the network: accumulation order, cancellation
across neurons); for a later tensor, a consequence. A later tensor that reproduces at one
neuron with another signature is a second, independent root cause.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .compare import TensorDiff
from .errors import HarnessError
from .registry import ORACLES, get
from .runner import Outcome, run_many, run_one, traces_many
from .spec import Spec, spec_from_dict
from .trace import Trace

MAX_TENSORS = 6  # failing tensors examined per divergence (the origin first)
MAX_SAMPLES = 4  # samples tried for a loss's value
WIDE = 16  # neurons of an activation's second probe: wide enough for vectorized code
DIGITS = 20  # mpmath digits shown in a claim
SYMPTOMS = ("NaN", "Inf", "zero", "lost relative precision", "wrong value")
PARTS = {"f": "f", "t": "t = f'", "fe": "fe", "te": "te = dfe/du", "product": "x W^T + b",
         "gradient": "g = v x", "update": "p - r g"}
FORMATS = {"float64": (53, -1022), "float32": (24, -126), "float16": (11, -14),
           "bfloat16": (8, -126)}  # significand bits, smallest normal exponent


@dataclass(frozen=True)
class Signature:
    """What names a cause: who, which function and part, in which dtype, over which input
    region, with which symptom. One signature, one finding."""

    impl: str
    function: str
    part: str
    dtype: str
    region: str
    symptom: str

    def __str__(self) -> str:
        return (f"{self.impl}: {what(self.function, self.part)}, {self.dtype}, "
                f"{self.region}: {self.symptom}")

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @property
    def cause(self) -> tuple:
        """The unit of counting: who, which function and part, which region. The same cause
        seen in two dtypes, or as zero at one input and as lost digits at the next, is one
        finding, however many cases show it."""
        return (self.impl, self.function, self.part, self.region)


def describe(signatures) -> str:
    """One finding in words: "jax: elu's t, d in (-100, -10]: zero (float64, float32)"."""
    first = signatures[0]
    seen = ", ".join(f"{sym} ({', '.join(dict.fromkeys(s.dtype for s in signatures if s.symptom == sym))})"
                     for sym in dict.fromkeys(s.symptom for s in signatures))
    return f"{first.impl}: {what(first.function, first.part)}, {first.region}: {seen}"


@dataclass(frozen=True)
class RootCause:
    """One claim at one neuron: `function`'s `part` at `inputs` is `value` in the
    implementation against the exact `exact` (mpmath's digits); `reproduced` says whether the
    implementation itself showed it on the one-neuron spec `spec`; `note` says why not."""

    impl: str
    function: str
    part: str
    dtype: str
    inputs: dict
    at: float  # the principal input: d for an activation, the worst u for a loss, ...
    value: float
    exact: str
    reproduced: bool
    explains: str  # the failing tensor of the case it explains, e.g. "step 0 v[layer 1]"
    spec: dict | None = None
    note: str = ""
    operands: tuple = field(default=(), compare=False)  # for the region: subnormal operands
    width: int = 1  # 1: one neuron; more: one input on that many neurons (vectorized code)

    @property
    def rel_error(self) -> float:
        return _rel(self.value, float(self.exact))

    @property
    def ulps(self) -> float:
        exact = float(self.exact)
        if not (math.isfinite(self.value) and math.isfinite(exact)):
            return math.inf
        return abs(self.value - exact) / ulp(exact, self.dtype)

    @property
    def symptom(self) -> str:
        exact = float(self.exact)
        if math.isnan(self.value):
            return "NaN"
        if math.isinf(self.value) and not math.isinf(exact):
            return "Inf"
        if self.value == 0 and exact != 0:
            return "zero"
        return "lost relative precision" if self.rel_error < 0.5 else "wrong value"

    @property
    def region(self) -> str:
        return region(self.at, self.dtype, self.operands, self.part)

    @property
    def signature(self) -> Signature:
        return Signature(self.impl, self.function, self.part, self.dtype, self.region,
                         self.symptom if self.reproduced else "does not reduce")

    @property
    def text(self) -> str:
        """One line: "elu's t at d = -30: 9.36e-14 (jax), exact 9.3576229688401746e-14:
        relative error 1.1e-3, 4.1e+12 ulp (reproduced at one neuron)"."""
        if not self.reproduced:
            return f"{self.note}"
        args = ", ".join(f"{k} = {_short(v)}" for k, v in self.inputs.items())
        where = "at one neuron" if self.width == 1 else \
            f"at one input on {self.width} neurons, not on one (a vectorized code path)"
        return (f"{what(self.function, self.part)} at {args}: {self.value:.17g} "
                f"({self.impl}), exact {self.exact}: relative error {self.rel_error:.2g}, "
                f"{self.ulps:.3g} ulp (reproduced {where})")

    def to_dict(self) -> dict:
        return {"function": self.function, "part": self.part, "dtype": self.dtype,
                "input": self.inputs, "value": self.value, "exact": self.exact,
                "rel_error": self.rel_error, "ulps": self.ulps, "reproduced": self.reproduced,
                "explains": self.explains, "signature": self.signature.to_dict(),
                "width": self.width,
                "text": self.text, "spec": self.spec}


def what(function: str, part: str) -> str:
    if part in ("product", "gradient", "update"):
        return f"a layer's {PARTS[part]}"
    return f"{function}'s {part}"


def _short(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_short(x) for x in v) + "]"
    return f"{v:.17g}" if isinstance(v, float) else str(v)


def _rel(value: float, exact: float) -> float:
    if value == exact or (math.isnan(value) and math.isnan(exact)):
        return 0.0
    if not math.isfinite(value) or exact == 0:
        return math.inf
    return abs(value - exact) / abs(exact)


def ulp(x: float, dtype: str) -> float:
    """The spacing of the dtype's numbers at x (subnormal spacing below the normal range)."""
    bits, emin = FORMATS[dtype]
    e = max(math.frexp(abs(x))[1] - 1, emin) if x else emin
    return math.ldexp(1.0, e - bits + 1)


def region(x: float, dtype: str, operands=(), part: str = "") -> str:
    """The input region of a claim: "subnormal operand" when a factor is subnormal in the
    dtype; otherwise "normal operands" for the arithmetic of a layer (product, gradient,
    update), and the sign and band of the principal input for a function, "d in (-100,
    -10]"."""
    bits, emin = FORMATS[dtype]
    tiny = math.ldexp(1.0, emin)
    if any(0 < abs(o) < tiny for o in operands):
        return "subnormal operand"
    if part in ("product", "gradient", "update"):  # arithmetic: its operands' size is no cause
        return "normal operands"
    name = {"f": "d", "t": "d", "fe": "u", "te": "u"}.get(part, part or "d")
    if not math.isfinite(x):
        return f"{name} = {x}"
    if x == 0:
        return f"{name} = 0"
    if abs(x) < tiny:
        return f"subnormal {name}"
    edges = [0.0, 1e-3, 1.0, 10.0, 100.0, 1e3, math.inf]
    k = next(i for i in range(len(edges) - 1) if abs(x) < edges[i + 1])
    lo, hi = edges[k], edges[k + 1]
    if x > 0:
        return f"{name} in ({lo:g}, {hi:g})" if lo == 0 else f"{name} in [{lo:g}, {hi:g})"
    return f"{name} in (-{hi:g}, 0)" if lo == 0 else f"{name} in (-{hi:g}, -{lo:g}]"


# ---------------------------------------------------------------- probes

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


def _doc(name: str, dtype: str, act: str, slope: float, loss: str, w, b, x, y,
         lr: float = 0.1) -> dict:
    layer = {"weights": np.asarray(w, dtype=np.float64).tolist(),
             "bias": np.asarray(b, dtype=np.float64).tolist(), "activation": act}
    if act == "leaky_relu":
        layer["slope"] = slope
    return {"name": name, "dtype": dtype, "loss": loss, "reduction": "sum", "layers": [layer],
            "inputs": [np.asarray(x, dtype=np.float64).tolist()],
            "targets": [np.asarray(y, dtype=np.float64).tolist()], "learning_rate": lr,
            "steps": 1, "description": "one-neuron probe written by harness/rootcause.py"}


def _mp():
    import mpmath

    from impls import exact as E
    return mpmath.mp, E


def _activation_probes(k: int, spec: Spec, trace: Trace, step: int, layer: int, s: int,
                       j: int, parts: tuple, upstream: float) -> list[Probe]:
    """f and/or t of layer `layer`'s activation at the implementation's own d[s, j]: one
    neuron, then the same input on WIDE neurons at once (a vectorized code path that a
    single element never takes, as Inductor's exp(x) - 1 for expm1)."""
    mp, E = _mp()
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
            p = upstream if math.isfinite(upstream) and upstream != 0 else 1.0
            with np.errstate(all="ignore"):
                y = float(np.asarray(fu - p, dtype=spec.dtype))
            if not math.isfinite(y):
                y = float(np.asarray(fu - 1.0, dtype=spec.dtype))
            doc = _doc(f"rootcause-{la.activation}-t", spec.dtype, la.activation, la.slope,
                       "squared_error", ones, zeros, [d], [y] * width)
            out.append(Probe(k, la.activation, "t", doc, (0, "v", 0), {"d": d}, d,
                             _exact(lambda: t_mp(mp.mpf(d))), _implied_t(y), width=width))
    return out


def _exact(fn):
    def value():
        mp, _ = _mp()
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
    mp, E = _mp()
    last = spec.layers[-1]
    n = spec.sizes[-1]
    y = np.asarray(spec.targets[s], dtype=np.float64)
    through = last.activation if spec.loss == "binary_cross_entropy" else "identity"
    src = trace.steps[step].layers[-1].d if through != "identity" else trace.steps[step].outputs
    x = np.asarray(src[s], dtype=np.float64)
    u = np.asarray(trace.steps[step].outputs[s], dtype=np.float64)
    doc = _doc(f"rootcause-{spec.loss}-{part}", spec.dtype, through, 0.01, spec.loss,
               np.eye(n), np.zeros(n), x, y)

    def exact():
        xs = np.array([[mp.mpf(float(a)) for a in x]], dtype=object)
        us = np.vectorize(E._sigmoid, otypes=[object])(xs) if through != "identity" else xs
        ys = np.array([[mp.mpf(float(a)) for a in y]], dtype=object)
        per_sample, te = E.LOSSES[spec.loss](us, ys)
        if part == "fe":
            return per_sample[0]
        return te[0, j] * (E._sigmoid(xs[0, j]) * E._sigmoid(-xs[0, j])
                           if through != "identity" else 1)

    if part == "fe":
        target, value = (0, "loss", None), lambda tr: float(tr.steps[0].loss)
    else:
        target, value = (0, "v", 0), lambda tr: float(tr.steps[0].layers[0].v[0, j])
    at = float(u[np.argmax(np.abs(u))]) if u.size else 0.0
    inputs = {"u": u.tolist(), "y": y.tolist()}
    return Probe(k, spec.loss, part, doc, target, inputs, at, _exact(exact), value)


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
    mp, _ = _mp()
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
    mp, _ = _mp()
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
    mp, _ = _mp()
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


def probes_for(k: int, spec: Spec, trace: Trace, t: TensorDiff) -> list[Probe]:
    """The probes of failing tensor number k, in computation order."""
    q, step, layer, index = t.quantity, t.step, t.layer, tuple(t.worst_index)
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
    from impls.reference import loss as loss_record
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


# ---------------------------------------------------------------- running them

def run_probes(impl: str, probes: list[Probe]) -> dict[int, tuple[Outcome, Outcome]]:
    """id(probe) -> (exact's outcome, the implementation's) on each probe's spec; the
    implementation through trace_many when it has it (one call), else trace."""
    valid = []
    for i, p in enumerate(probes):
        try:  # each its own name: one trace_many call holds them all
            p.spec = spec_from_dict(dict(p.doc, name=f"{p.doc['name']}-{i + 1}"))
        except HarnessError:  # an input the spec format cannot hold (beyond the dtype): no probe
            continue
        valid.append(p)
    specs = [p.spec for p in valid]
    outs = (run_many(impl, specs) if traces_many(impl) else None) or \
        [run_one(impl, s) for s in specs]
    return {id(p): (run_one("exact", p.spec), o) for p, o in zip(valid, outs)}


def _reproduces(probe: Probe, exact: Outcome, own: Outcome, tolerance) -> bool:
    from .judge import judge
    if exact.status != "ok" or own.status != "ok":
        return False
    v = judge(probe.spec, exact, own, tolerance=tolerance)
    o = v.origin
    return o is not None and (o.step, o.quantity, o.layer) == probe.target


def _claim(probe: Probe, impl: str, dtype: str, own: Outcome, explains: str) -> RootCause:
    mp, _ = _mp()
    exact = probe.exact(own.trace) if probe.part == "update" else probe.exact
    with mp.workdps(60):
        digits = mp.nstr(exact(), DIGITS)
    return RootCause(impl, probe.function, probe.part, dtype, probe.inputs, probe.at,
                     probe.value(own.trace), digits, True, explains, probe.doc,
                     operands=probe.operands, width=probe.width)


def not_reduced(impl: str, spec: Spec, origin: TensorDiff, tried: list[Probe],
                why: str = "") -> RootCause:
    """The origin's claim when no probe reproduced it: it needs the network."""
    parts = ", ".join(dict.fromkeys(what(p.function, p.part) for p in tried)) or "none"
    note = why or (f"does not reduce to one neuron: the one-neuron probes ({parts}) conform, "
                   f"so it needs the network (accumulation order, cancellation across "
                   f"neurons or samples)")
    return RootCause(impl, "network", origin.quantity, spec.dtype, {}, origin.worst_baseline,
                     origin.worst_value, repr(origin.worst_baseline), False, origin.label,
                     note=note)


def plan(spec: Spec, tensors: list[TensorDiff], side: Outcome) -> list[Probe]:
    """Every probe of a divergence whose failing `tensors` (the origin first) are the
    implementation `side`'s, in order."""
    if not tensors or side.trace is None:
        return []
    return [p for k, t in enumerate(tensors[:MAX_TENSORS])
            for p in probes_for(k, spec, side.trace, t)]


def root_causes(spec: Spec, tensors: list[TensorDiff], side: Outcome,
                tolerance: dict | None = None, probes: list[Probe] | None = None,
                results: dict | None = None) -> tuple[RootCause, ...]:
    """The independent root causes of that divergence: for each tensor, its first probe
    that reproduces; a tensor whose signature is already found is a consequence; the origin
    unreduced when none of its probes reproduces. `probes` and `results` come from plan()
    and run_probes() when the caller batches the probes of many divergences."""
    if not tensors or side.trace is None or not get("exact").available:
        return ()
    if probes is None:
        probes = plan(spec, tensors, side)
        results = run_probes(side.impl, probes)
    found: list[RootCause] = []
    for k, t in enumerate(tensors[:MAX_TENSORS]):
        mine = [p for p in probes if p.tensor == k]
        hit = next((p for p in mine if id(p) in results
                    and _reproduces(p, *results[id(p)], tolerance)), None)
        if hit is None:
            if k == 0:
                found.append(not_reduced(side.impl, spec, t, mine))
            continue
        cause = _claim(hit, side.impl, spec.dtype, results[id(hit)][1], t.label)
        if all(cause.signature != c.signature for c in found):
            found.append(cause)
    return tuple(found)


# ---------------------------------------------------------------- the verdicts' "why"

DIVERGENT = ("fail", "error", "xfail")


def oracle_outcomes(spec: Spec) -> dict[str, Outcome]:
    """The exact oracle's outcome on the spec, and numeric's where exact cannot run."""
    out = {}
    for name in ORACLES:
        if get(name).available:
            out[name] = run_one(name, spec)
            if out[name].status == "ok":
                break
    return out


def explain(spec: Spec, base: Outcome, other: Outcome, verdict, *, known=(),
            tolerance: dict | None = None, strict: bool = False, oracles: dict | None = None,
            cache: dict | None = None):
    """explain_all() of one verdict."""
    return explain_all([(spec, base, other, verdict, known, oracles)], tolerance=tolerance,
                       strict=strict, cache=cache)[0]


def explain_all(items: list, *, tolerance: dict | None = None, strict: bool = False,
                cache: dict | None = None) -> list:
    """Each divergent verdict of `items` ((spec, base, other, verdict, known, oracles) each)
    judged by an oracle (exact, else numeric; traced here, for that case only, when the run
    holds none) and given its root causes (root_causes(), run on the side the oracle blames),
    known deviations by signature applied; every other verdict as it is: nothing is traced
    when nothing diverges. The probes of all of them run in one call per implementation (one
    XLA program for jax's). `cache` keeps each case's oracle outcomes across calls."""
    from .judge import judge, with_causes
    cache = {} if cache is None else cache
    out, todo = [], []
    for spec, base, other, verdict, known, oracles in items:
        if verdict.status in DIVERGENT and verdict.origin is not None:
            oracles = dict(oracles or {})
            if not any(o.status == "ok" and n not in (base.impl, other.impl)
                       for n, o in oracles.items() if n in ORACLES):
                if spec.name not in cache:
                    cache[spec.name] = oracle_outcomes(spec)
                oracles.update(cache[spec.name])
                verdict = judge(spec, base, other, tolerance=tolerance, oracles=oracles,
                                known=known, strict=strict)
        out.append(verdict)
        if verdict.status in DIVERGENT and verdict.origin is not None:
            side = base if verdict.blame == "a-wrong" else other
            failing = [t for t in verdict.tensors if not t.passed]
            todo.append((len(out) - 1, spec, side, failing, known))
    if not todo or not get("exact").available:
        return out
    plans = {k: plan(spec, failing, side) for k, spec, side, failing, _ in todo}
    impl_of = {k: side.impl for k, _, side, _, _ in todo}
    results: dict = {}

    def run(chosen: dict) -> None:  # {k: probes}: one call per implementation
        for impl in dict.fromkeys(impl_of.values()):
            results.update(run_probes(impl, [p for k, ps in chosen.items()
                                             if impl_of[k] == impl for p in ps]))

    run({k: [p for p in ps if p.width == 1] for k, ps in plans.items()})
    # the wide probes only for an origin that no one-neuron probe reproduced (a later
    # tensor's are mostly consequences: not worth a second program)
    run({k: [p for p in ps if p.width > 1 and p.tensor == 0 and not any(
        q.tensor == 0 and id(q) in results and _reproduces(q, *results[id(q)], tolerance)
        for q in ps if q.width == 1)] for k, ps in plans.items()})
    for k, spec, side, failing, known in todo:
        causes = root_causes(spec, failing, side, tolerance, plans[k], results)
        out[k] = with_causes(out[k], causes, known)
    return out
