"""Trace vs trace, element by element, against the tolerance model; plain records out.

Quantities are visited in computation order (per step: forward layer by layer, u, e, then
backward from the last layer to the first; then the final parameters). The first one out of
tolerance is the divergence origin; every later failure is reported as its consequence.
NaN equals NaN only in the same place; an Inf equals only the same Inf.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .tolerance import Tolerance, magnitudes
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
        value, base = (str(np.dtype(dtype).type(v)) for v in (self.worst_value,
                                                                 self.worst_baseline))
        return (f"{what} = {value} ({impl}) vs {base} "
                f"({baseline}): |diff| {self.max_abs_at_worst:.2e} > tol {self.worst_tol:.2e}; "
                f"{self.n_bad} of {int(np.prod(self.shape))} elements out{extra} [{case}, {dtype}]")

    @property
    def max_abs_at_worst(self) -> float:
        return abs(self.worst_value - self.worst_baseline) \
            if np.isfinite(self.worst_value) and np.isfinite(self.worst_baseline) else float("inf")


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
    """Raise TraceError unless the trace has the spec's steps, layers, shapes and dtype."""
    if not isinstance(trace, Trace):
        raise TraceError(f"trace() returned {type(trace).__name__}, not a Trace")
    if len(trace.steps) != spec.steps:
        raise TraceError(f"{len(trace.steps)} steps traced, the spec has {spec.steps}")
    if len(trace.params) != len(spec.layers) or any(
            len(s.layers) != len(spec.layers) for s in trace.steps):
        raise TraceError(f"layer count differs from the spec's {len(spec.layers)}")
    for step, quantity, layer in quantities(len(spec.layers), spec.steps):
        a = value_of(trace, step, quantity, layer)
        want = expected_shape(spec, quantity, layer)
        where = f"{'final' if step is None else f'step {step}'} {quantity}" + \
            (f"[layer {layer}]" if layer is not None else "")
        if a.shape != want:
            raise TraceError(f"{where}: shape {a.shape}, expected {want}")
        if a.dtype != np.dtype(spec.dtype):
            raise TraceError(f"{where}: dtype {a.dtype}, expected {spec.dtype}")


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Number of representable values between a and b (same float dtype), as float64."""
    itype = {4: np.int32, 8: np.int64}[a.dtype.itemsize]
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
    a = np.atleast_1d(a)
    b = np.atleast_1d(b)
    m = np.broadcast_to(np.atleast_1d(m), b.shape)
    with np.errstate(all="ignore"):
        same_special = (np.isnan(a) & np.isnan(b)) | (np.isinf(a) & (a == b))
        special = ~np.isfinite(a) | ~np.isfinite(b)
        nan_mm = int(np.sum(np.isnan(a) != np.isnan(b)))
        inf_mm = int(np.sum(special & ~same_special & (np.isinf(a) | np.isinf(b))))
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        err = np.where(special, np.where(same_special, 0.0, np.inf), np.abs(a64 - b64))
        bound = tol.atol + tol.rtol * np.nan_to_num(m, nan=0.0, posinf=np.inf)
        rel = np.where(err == 0, 0.0, err / np.abs(b64))
        ratio = np.where(err == 0, 0.0, err / bound)
        ulp = np.where(special, np.where(same_special, 0.0, np.inf), ulp_distance(a, b))
        bad = err > bound
        fb = np.where(special, 0.0, b64)
        norm_b = np.linalg.norm(fb)
        norm_rel = float(np.linalg.norm(np.where(special, 0.0, err)) / norm_b) if norm_b else \
            float(np.max(err, initial=0.0))
    flat = int(np.argmax(np.where(np.isnan(ratio), np.inf, ratio)))
    idx = np.unravel_index(flat, b.shape)
    rows = []
    for i in np.argwhere(bad)[:MAX_MISMATCH_ROWS]:
        t = tuple(int(j) for j in i)
        rows.append({"index": list(t), "value": float(a64[t]), "baseline": float(b64[t]),
                     "abs_err": float(err[t]), "rel_err": float(rel[t]), "ulp": float(ulp[t]),
                     "tol": float(bound[t])})
    scalar = quantity == "loss"
    return TensorDiff(step=step, layer=layer, quantity=quantity,
                      shape=() if scalar else tuple(b.shape),
                      max_abs=float(err.max()), max_rel=float(rel.max()),
                      max_ulp=float(ulp.max()), norm_rel=norm_rel,
                      worst_ratio=float(np.nan_to_num(ratio, nan=np.inf).max()),
                      worst_index=() if scalar else tuple(int(i) for i in idx),
                      worst_value=float(a64[idx]), worst_baseline=float(b64[idx]),
                      worst_tol=float(bound[idx]), n_bad=int(bad.sum()),
                      nan_mismatch=nan_mm, inf_mismatch=inf_mm, mismatches=rows)


def compare_traces(spec, base: Trace, other: Trace, tol: dict[str, Tolerance],
                   mags: list[dict] | None = None) -> list[TensorDiff]:
    """Every traced tensor of `other` against `base`, in computation order."""
    mags = mags if mags is not None else magnitudes(spec, base, other, tol["backward"])
    out = []
    for step, quantity, layer in quantities(len(spec.layers), spec.steps):
        m = mags[-1 if step is None else step][(quantity, layer)]
        phase = "forward" if PHASE[quantity] == "forward" else "backward"
        out.append(diff_tensor(value_of(other, step, quantity, layer),
                               value_of(base, step, quantity, layer), m, tol[phase],
                               step, quantity, layer))
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
