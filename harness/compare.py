"""Trace vs trace, element by element, against the tolerance model; plain records out.

Quantities are visited in computation order (per step: forward layer by layer, u, e, then
backward from the last layer to the first; then the final parameters). The first one out of
tolerance is the divergence origin; every later failure is reported as its consequence.
NaN equals NaN only in the same place; an Inf equals only the same Inf.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from impls.reference.dtypes import dtype as np_dtype

from . import metadata
from .pinning import loss_interval, pinned_outputs
from .tolerance import Tolerance, bound, magnitudes, passes
from .trace import Trace

__all__ = ["TensorDiff", "TraceError", "check_trace", "compare_traces", "quantities",
           "value_of", "closer_side", "MAX_MISMATCH_ROWS"]

MAX_MISMATCH_ROWS = 20  # element rows kept per failing tensor
AXES = {"d": ("sample", "neuron"), "h": ("sample", "neuron"), "v": ("sample", "neuron"),
        "outputs": ("sample", "neuron"), "grad_weights": ("neuron", "input"),
        "weights": ("neuron", "input"), "grad_bias": ("neuron",), "bias": ("neuron",),
        "loss": ()}
PHASE = {"d": "forward", "h": "forward", "outputs": "forward", "loss": "forward",
         "v": "backward", "grad_weights": "backward", "grad_bias": "backward",
         "weights": "update", "bias": "update"}


class TraceError(Exception):
    """A trace that does not have the structure its spec demands (wrong shape, dtype, steps)."""


@dataclass
class TensorDiff:
    """How one traced tensor of one implementation differs from the baseline's."""

    step: int | None
    layer: int | None
    quantity: str
    shape: tuple
    max_abs: float
    max_rel: float
    max_ulp: float
    norm_rel: float
    worst_ratio: float
    worst_index: tuple
    worst_value: float
    worst_baseline: float
    worst_tol: float
    n_bad: int
    nan_mismatch: int = 0
    inf_mismatch: int = 0
    mismatches: list[dict] = field(default_factory=list)
    exact_judged: int = 0  # elements judged against the exact oracle (or interval), see below

    @property
    def passed(self) -> bool:
        return self.n_bad == 0

    @property
    def phase(self) -> str:
        return PHASE[self.quantity]

    @property
    def label(self) -> str:
        where = f"[layer {self.layer}]" if self.layer is not None else ""
        when = "final " if self.step is None else f"step {self.step} "
        return f"{when}{self.quantity}{where}"

    def where(self, index: tuple | None = None) -> str:
        index = self.worst_index if index is None else index
        return ", ".join(f"{a} {i}" for a, i in zip(AXES[self.quantity], index))

    def message(self, impl: str, baseline: str, case: str, dtype: str) -> str:
        """One line: what, where, by how much, against what tolerance; values printed with
        the shortest digits that identify them in the dtype."""
        what = f"{self.label}[{self.where()}]" if self.worst_index else self.label
        extra = ""
        if self.nan_mismatch or self.inf_mismatch:
            extra = f" ({self.nan_mismatch} NaN and {self.inf_mismatch} Inf on one side only)"
        value, base = (_number(v, dtype) for v in (self.worst_value, self.worst_baseline))
        diff = self.max_abs_at_worst
        size = f"|diff| {diff:.2e}" if np.isfinite(diff) else "a NaN or Inf on one side"
        if self.exact_judged:
            baseline = "exact" if self.quantity != "loss" else \
                "the nearest loss over u's tolerance box"
            extra += f" ({self.exact_judged} judged against exact: first-order tolerance vacuous)"
        return (f"{what} = {value} ({impl}) vs {base} ({baseline}): {size} > tol "
                f"{self.worst_tol:.2e}; {self.n_bad} of {int(np.prod(self.shape))} elements "
                f"out{extra} [{case}, {dtype}]")

    @property
    def max_abs_at_worst(self) -> float:
        return abs(self.worst_value - self.worst_baseline) \
            if np.isfinite(self.worst_value) and np.isfinite(self.worst_baseline) else float("inf")


def _number(v: float, dtype: str) -> str:
    """The shortest digits that identify v in the dtype; NaN, Inf and -Inf spelled so."""
    if not np.isfinite(v):
        return "NaN" if np.isnan(v) else ("Inf" if v > 0 else "-Inf")
    return str(np_dtype(dtype).type(v))


def quantities(n_layers: int, n_steps: int):
    """(step, quantity, layer) in computation order; step None is the final parameters."""
    for k in range(n_steps):
        for layer in range(n_layers):
            yield k, "d", layer
            yield k, "h", layer
        yield k, "outputs", None
        yield k, "loss", None
        for layer in range(n_layers - 1, -1, -1):
            yield k, "v", layer
            yield k, "grad_weights", layer
            yield k, "grad_bias", layer
    for layer in range(n_layers):
        yield None, "weights", layer
        yield None, "bias", layer


def value_of(trace: Trace, step: int | None, quantity: str, layer: int | None, xp=np):
    """One traced quantity as an array of the namespace xp (numpy unless told)."""
    if step is None:
        return xp.asarray(trace.params[layer][quantity])
    s = trace.steps[step]
    if quantity == "loss":
        return xp.asarray(s.loss)
    if quantity == "outputs":
        return xp.asarray(s.outputs)
    return xp.asarray(getattr(s.layers[layer], quantity))


def expected_shape(spec, quantity: str, layer: int | None) -> tuple:
    sizes = spec.sizes
    if quantity == "loss":
        return ()
    if quantity == "outputs":
        return (spec.batch, sizes[-1])
    if quantity in ("d", "h", "v"):
        return (spec.batch, sizes[layer + 1])
    if quantity in ("grad_weights", "weights"):
        return (sizes[layer + 1], sizes[layer])
    return (sizes[layer + 1],)


def check_trace(spec, trace) -> None:
    """Raise TraceError unless the trace has the spec's steps, layers, shapes and float
    arrays. An array in another float dtype than the spec's (float32 for float64: a silent
    demotion; or wider) is converted to the spec's and listed in trace.retyped: that is the
    implementation's finding (judge.py fails it), and every quantity is still judged."""
    if not isinstance(trace, Trace):
        raise TraceError(f"trace() returned {type(trace).__name__}, not a Trace")
    why = metadata.problem(trace.impl_version, trace.settings)
    if why:
        raise TraceError(why)
    if len(trace.steps) != spec.steps:
        raise TraceError(f"{len(trace.steps)} steps traced, the spec has {spec.steps}")
    if len(trace.params) != len(spec.layers) or any(
            len(s.layers) != len(spec.layers) for s in trace.steps):
        raise TraceError(f"layer count differs from the spec's {len(spec.layers)}")
    retyped = []
    for step, quantity, layer in quantities(len(spec.layers), spec.steps):
        a = value_of(trace, step, quantity, layer)
        want = expected_shape(spec, quantity, layer)
        where = f"{'final' if step is None else f'step {step}'} {quantity}" + \
            (f"[layer {layer}]" if layer is not None else "")
        if a.shape != want:
            raise TraceError(f"{where}: shape {a.shape}, expected {want}")
        if a.dtype != np_dtype(spec.dtype):
            if not _is_float(a.dtype):
                raise TraceError(f"{where}: dtype {a.dtype}, expected {spec.dtype}")
            retyped.append(((step, quantity, layer), str(a.dtype)))
            _set(trace, step, quantity, layer, a.astype(np_dtype(spec.dtype)))
    trace.retyped = tuple(retyped)


def _is_float(dt) -> bool:
    """A float dtype, bfloat16 (ml_dtypes' kind "V") included."""
    return dt.kind == "f" or dt.name == "bfloat16"


def _set(trace, step, quantity: str, layer, value) -> None:
    """Replace one traced quantity (check_trace's conversion of a retyped array)."""
    if step is None:
        trace.params[layer][quantity] = value
    elif quantity == "loss":
        trace.steps[step].loss = value
    elif quantity == "outputs":
        trace.steps[step].outputs = value
    else:
        setattr(trace.steps[step].layers[layer], quantity, value)


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Number of representable values between a and b (same float dtype), as float64."""
    itype = {2: np.int16, 4: np.int32, 8: np.int64}[a.dtype.itemsize]
    ia, ib = a.view(itype).astype(np.int64), b.view(itype).astype(np.int64)
    top = np.int64(np.iinfo(itype).min)
    ia = np.where(ia < 0, top - ia, ia)
    ib = np.where(ib < 0, top - ib, ib)
    same_sign = (ia >= 0) == (ib >= 0)
    with np.errstate(over="ignore"):
        near = np.abs(np.where(same_sign, ia - ib, 0)).astype(np.float64)  # exact in int64
    far = np.abs(ia.astype(np.float64)) + np.abs(ib.astype(np.float64))
    return np.where(same_sign, near, far)


def diff_tensor(a: np.ndarray, b: np.ndarray, m: np.ndarray, tol: Tolerance,
                step, quantity, layer) -> TensorDiff:
    """Compare a (implementation) with b (baseline) given the magnitudes m of b."""
    return diff_tensors([(a, b, m, tol, step, quantity, layer)])[0]


def diff_tensors(items: list[tuple]) -> list[TensorDiff]:
    """diff_tensor() of every (a, b, m, tol, step, quantity, layer): the elementwise work in
    one pass over all the tensors laid end to end (a case has dozens of small tensors, and
    numpy's cost per call would dominate), then each tensor's reductions on its own slice."""
    shapes = [np.shape(b) or (1,) for _, b, *_ in items]
    for a, b, *_ in items:
        if np.shape(a) != np.shape(b):
            raise ValueError(f"shape {np.shape(a)} against the baseline's {np.shape(b)}")
    sizes = [int(np.prod(shape)) for shape in shapes]
    ends = np.cumsum(sizes)
    starts = ends - sizes
    a = np.concatenate([np.ravel(x) for x, *_ in items])
    b = np.concatenate([np.ravel(y) for _, y, *_ in items])
    m = np.concatenate([np.broadcast_to(z, shape).ravel()
                        for (_, _, z, *_), shape in zip(items, shapes)])
    atol = np.repeat([t.atol for _, _, _, t, *_ in items], sizes)
    rtol = np.repeat([t.rtol for _, _, _, t, *_ in items], sizes)
    with np.errstate(all="ignore"):
        nan_a, nan_b, inf_a, inf_b = np.isnan(a), np.isnan(b), np.isinf(a), np.isinf(b)
        same_special = (nan_a & nan_b) | (inf_a & (a == b))
        special = ~np.isfinite(a) | ~np.isfinite(b)
        nan_mm = np.add.reduceat(nan_a != nan_b, starts)
        inf_mm = np.add.reduceat(special & ~same_special & (inf_a | inf_b), starts)
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        err = np.where(special, np.where(same_special, 0.0, np.inf), np.abs(a64 - b64))
        allowed = bound(np, m, Tolerance(rtol, atol))
        bad = ~passes(np, a64, b64, allowed)
        rel = np.where(err == 0, 0.0, err / np.abs(b64))
        ratio = np.where(err == 0, 0.0, err / allowed)
        ulp = np.where(special, np.where(same_special, 0.0, np.inf), ulp_distance(a, b))
        finite_b, finite_err = np.where(special, 0.0, b64), np.where(special, 0.0, err)
        worst = np.where(np.isnan(ratio), np.inf, ratio)
        stats = {"max_abs": np.maximum.reduceat(err, starts),
                 "max_rel": np.maximum.reduceat(rel, starts),
                 "max_ulp": np.maximum.reduceat(ulp, starts),
                 "worst_ratio": np.maximum.reduceat(np.nan_to_num(ratio, nan=np.inf, posinf=np.inf),
                                                  starts),
                 "n_bad": np.add.reduceat(bad, starts)}
    out = []
    for k, (_, _, _, _, step, quantity, layer) in enumerate(items):
        cut = slice(starts[k], ends[k])
        fb, shape = finite_b[cut], shapes[k]
        with np.errstate(all="ignore"):  # squares of 1e20 overflow float64's dot: inf
            norm_b = np.sqrt(fb.dot(fb))
            norm_rel = float(np.sqrt(finite_err[cut].dot(finite_err[cut])) / norm_b) \
                if norm_b else float(np.max(err[cut], initial=0.0))
        flat = starts[k] + int(np.argmax(worst[cut]))
        rows = []
        if stats["n_bad"][k]:
            for i in np.argwhere(bad[cut].reshape(shape))[:MAX_MISMATCH_ROWS]:
                t = tuple(int(j) for j in i)
                e = starts[k] + int(np.ravel_multi_index(t, shape))
                rows.append({"index": list(t), "value": float(a64[e]),
                             "baseline": float(b64[e]), "abs_err": float(err[e]),
                             "rel_err": float(rel[e]), "ulp": float(ulp[e]),
                             "tol": float(allowed[e])})
        scalar = quantity == "loss"
        out.append(TensorDiff(
            step=step, layer=layer, quantity=quantity, shape=() if scalar else shape,
            max_abs=float(stats["max_abs"][k]), max_rel=float(stats["max_rel"][k]),
            max_ulp=float(stats["max_ulp"][k]), norm_rel=norm_rel,
            worst_ratio=float(stats["worst_ratio"][k]),
            worst_index=() if scalar else tuple(int(i) for i in
                                                np.unravel_index(flat - starts[k], shape)),
            worst_value=float(a64[flat]), worst_baseline=float(b64[flat]),
            worst_tol=float(allowed[flat]), n_bad=int(stats["n_bad"][k]),
            nan_mismatch=int(nan_mm[k]), inf_mismatch=int(inf_mm[k]), mismatches=rows))
    return out


def compare_traces(spec, base: Trace, other: Trace, tol: dict[str, Tolerance],
                   mags: list[dict] | None = None, exact=None) -> list[TensorDiff]:
    """Every traced tensor of `other` against `base`, in computation order.

    No vacuous pass: where an output's tolerance is not small against its distance to the
    loss's singularity (pinning.pinned_outputs), the first-order bound there is as large as
    the values it judges. Those outputs' loss is then judged against the interval of the loss
    over their tolerance box (pinning.loss_interval), and every element that depends on
    their v (that v, the rows of v below it, the gradients and parameters they sum into)
    against the exact oracle's value (`exact`: a callable giving its Trace, or None), with
    the tolerance of a correctly rounded v carried through the linear layers below; without
    the oracle, against the baseline with that tolerance. TensorDiff.exact_judged counts them.
    """
    pins = None
    if mags is None:
        mags = magnitudes(spec, base, other, tol["backward"])
        pins = pinned_outputs(spec, base, mags, tol["forward"])
        if pins is not None:
            mags = magnitudes(spec, base, other, tol["backward"], pinned=pins)
    taint = _tainted(spec, pins) if pins is not None else {}
    truth = exact() if taint and exact is not None else None
    if truth is not None:  # final parameters judged against exact: the drift from its gradients
        mags[-1] = _drift_from_exact(spec, base, truth, tol["backward"], pins, mags[-1])
    items, judged = [], []
    for step, quantity, layer in quantities(len(spec.layers), spec.steps):
        m = mags[-1 if step is None else step][(quantity, layer)]
        phase = "forward" if PHASE[quantity] == "forward" else "backward"
        a = value_of(other, step, quantity, layer)
        b = value_of(base, step, quantity, layer)
        mask = taint.get((step, quantity, layer))
        n = 0
        if mask is not None and quantity == "loss":
            lo, hi, m_sum = loss_interval(spec, base.steps[step].outputs,
                                          mags[step][("outputs", None)], tol["forward"])
            with np.errstate(all="ignore"):
                b = np.asarray(np.clip(np.float64(a), lo, hi) if np.isfinite(a) else lo,
                               dtype=b.dtype)
            m, n = m_sum, 1
        elif mask is not None and truth is not None:
            b = np.where(mask, value_of(truth, step, quantity, layer), b).astype(b.dtype)
            n = int(mask.sum())
        items.append((a, b, m, tol[phase], step, quantity, layer))
        judged.append(n)
    out = diff_tensors(items)
    for t, n in zip(out, judged):
        t.exact_judged = n
    return out


def _drift_from_exact(spec, base: Trace, truth: Trace, tol: Tolerance, pins: list,
                      final: dict) -> dict:
    """The final parameters' M when they are judged against the exact oracle: besides the
    drift that `other`'s gradients imply against the baseline's (in `final`), the drift
    between the baseline's gradients and exact's, each clipped to its tolerance. Where v is
    pinned, every finite-precision implementation's gradients differ from exact's by as much
    as that tolerance allows (u rounds next to 1), and the update carries it."""
    rounding = magnitudes(spec, base)[-1]
    from_exact = magnitudes(spec, base, truth, tol, pinned=pins)[-1]
    return {key: m + from_exact[key] - rounding[key] for key, m in final.items()}


def _tainted(spec, pins: list) -> dict:
    """(step, quantity, layer): the elements that depend on a pinned output's v or loss."""
    out, n = {}, len(spec.layers)
    final_w = [np.zeros(la.weights.shape, dtype=bool) for la in spec.layers]
    for step, mask in enumerate(pins):
        if not mask.any():
            continue
        out[(step, "loss", None)] = np.asarray(True)
        v = mask
        for k in range(n - 1, -1, -1):
            if k < n - 1:
                v = np.broadcast_to(v.any(axis=-1, keepdims=True),
                                    (v.shape[0], spec.sizes[k + 1]))
            rows = v.any(axis=0)
            out[(step, "v", k)] = v
            out[(step, "grad_bias", k)] = rows
            out[(step, "grad_weights", k)] = np.broadcast_to(rows[:, None], final_w[k].shape)
            final_w[k] = final_w[k] | out[(step, "grad_weights", k)]
    for k in range(n):
        if final_w[k].any():
            out[(None, "weights", k)] = final_w[k]
            out[(None, "bias", k)] = final_w[k].any(axis=-1)
    return out


def closer_side(origin: TensorDiff, base: Trace, other: Trace, oracle: Trace) -> str:
    """At the origin's worst element: which of the two traces is closer to the oracle's value."""
    idx = origin.worst_index
    truth = float(value_of(oracle, origin.step, origin.quantity, origin.layer)[idx])
    a = abs(float(value_of(other, origin.step, origin.quantity, origin.layer)[idx]) - truth)
    b = abs(float(value_of(base, origin.step, origin.quantity, origin.layer)[idx]) - truth)
    if not (np.isfinite(a) or np.isfinite(b)):
        return "neither"
    if a == b:
        return "tie"
    return other.impl if (a < b or not np.isfinite(b)) else base.impl
