"""The spec format's domain as data: every field's value classes, the (output activation,
loss) pairs, and per dtype the sizes where an accumulation in the narrow dtype shows.

The records (activations.py, losses.py) hold each function's special points; this module
holds the rest of what a spec may say. Each class is a predicate on a spec-like object (a
harness Spec: `layers`, `batch`, `steps`, `reduction`, `learning_rate`, `dtype`) and an
example value that the default suite and the fuzzer use to reach it. Adding a field adds its
classes here, in one place; harness/detect.py plants a wrong implementation per class and
harness/fuzz draws from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np

from .activations import ACTIVATIONS, activation
from .dtypes import dtype as np_dtype, finfo
from .losses import LOSSES, loss
from .network import REDUCTIONS

HUGE = 2.0 ** 64  # "far out": the format takes any finite number, up to the dtype's largest


@dataclass(frozen=True)
class ValueClass:
    """One class of a field's values: holds(value) and an example in it."""

    name: str
    holds: Callable[[float], bool]
    example: float


@dataclass(frozen=True)
class Field:
    """A field of the spec format with a default and value classes. layer: a per-layer field
    (read per layer, for the activations in `takes`); else a spec-wide one. read(spec) gives
    the field's values in a spec (one per layer, or one)."""

    name: str
    default: object
    classes: tuple[ValueClass, ...]
    takes: tuple[str, ...] = ()
    layer: bool = False
    attr: str = ""  # the Layer attribute that holds it (celu's alpha is in Layer.slope)

    def values(self, spec) -> list:
        if self.layer:
            return [getattr(layer, self.attr or self.name) for layer in spec.layers
                    if layer.activation in self.takes]
        return [getattr(spec, self.name)]

    def visits(self, spec, cls: ValueClass) -> bool:
        return any(cls.holds(v) for v in self.values(spec))


def _interval_classes(boundaries: tuple[float, ...], examples: dict) -> tuple[ValueClass, ...]:
    """Each boundary, each open interval between (and beyond) them, and the far ends (|x| at
    least HUGE): the classes of a numeric parameter that the format takes over all reals."""
    out = [ValueClass(f"<= -{HUGE:.0e}", lambda x: x <= -HUGE, -HUGE * 4)]
    lo = -HUGE
    for b in boundaries:
        out.append(ValueClass(f"in ({_fmt(lo)}, {_fmt(b)})",
                              lambda x, lo=lo, b=b: lo < x < b, examples[(lo, b)]))
        out.append(ValueClass(f"= {_fmt(b)}", lambda x, b=b: x == b, b))
        lo = b
    out.append(ValueClass(f"in ({_fmt(lo)}, {_fmt(HUGE)})", lambda x, lo=lo: lo < x < HUGE,
                          examples[(lo, HUGE)]))
    out.append(ValueClass(f">= {HUGE:.0e}", lambda x: x >= HUGE, HUGE * 4))
    return tuple(out)


def _fmt(x: float) -> str:
    return f"{x:.0e}" if abs(x) >= HUGE else f"{x:g}"


def fields() -> tuple[Field, ...]:
    """Every field of the format that has value classes (built per call, as the records are)."""
    return (
        Field("slope", 0.01, _interval_classes(
            (0.0, 1.0), {(-HUGE, 0.0): -0.5, (0.0, 1.0): 0.25, (1.0, HUGE): 2.0}),
            takes=("leaky_relu",), layer=True),
        Field("alpha", 1.0, _interval_classes(
            (0.0, 1.0), {(-HUGE, 0.0): -0.5, (0.0, 1.0): 0.25, (1.0, HUGE): 2.0}),
            takes=("celu",), layer=True, attr="slope"),
        Field("reduction", "sum", tuple(ValueClass(r, lambda x, r=r: x == r, r)
                                        for r in REDUCTIONS)),
        Field("batch", 1, (ValueClass("1", lambda b: b == 1, 1),
                           ValueClass("2 or more", lambda b: b >= 2, 4))),
        Field("steps", 1, (ValueClass("1", lambda s: s == 1, 1),
                           ValueClass("2 or more", lambda s: s >= 2, 3))),
        Field("learning_rate", None, (
            ValueClass("0 (refused: the format takes positive rates only)",
                       lambda r: r == 0, 0.0),
            ValueClass("below 2^-60 (w - r g rounds to w for |r g| < ulp(w) / 2)",
                       lambda r: 0 < r < 2.0 ** -60, 2.0 ** -70),
            ValueClass("in [2^-60, 1)", lambda r: 2.0 ** -60 <= r < 1, 0.1),
            ValueClass(">= 1", lambda r: r >= 1, 2.0))),
    )


REFUSED = {("learning_rate", "0 (refused: the format takes positive rates only)"),
           ("alpha", f"<= -{HUGE:.0e}"), ("alpha", f"in (-{HUGE:.0e}, 0)"), ("alpha", "= 0")}
"""Classes the format refuses: listed, and planted nowhere."""

OUTPUT_ACTIVATIONS = {name: loss(name).outputs for name in LOSSES if loss(name).outputs}
"""Losses that accept only some output activations (the format's rule; the rest accept all)."""


def pairs(activations=None, losses=None) -> list[tuple[str, str]]:
    """Every (output activation, loss) pair the format accepts."""
    activations = ACTIVATIONS if activations is None else activations
    losses = LOSSES if losses is None else losses
    return [(a, name) for name in losses for a in OUTPUT_ACTIVATIONS.get(name, activations)]


def usual_output(loss_name: str) -> str:
    """The output activation a loss is usually fused with: the one it requires, else identity
    (its gradient with respect to u is then the gradient with respect to d)."""
    return OUTPUT_ACTIVATIONS.get(loss_name, ("identity",))[0]


@lru_cache(maxsize=None)
def output_range(act: str) -> str:
    """The range of outputs u an activation produces, as a loss sees it: each end unbounded
    ("-inf", "inf") or its bound, except that a finite negative lower end of an unbounded
    range is one class ("-c", c > 0: elu, gelu, silu, ...). Read off the record's f over a
    grid from -1e300 to 1e300 (an end beyond 1e6 in magnitude is unbounded)."""
    grid = np.logspace(-20, 300, 321)
    with np.errstate(all="ignore"):
        h = activation(act).f(np.concatenate([-grid[::-1], [0.0], grid]))
    lo, hi = float(np.nanmin(h)), float(np.nanmax(h))
    if hi > 1e6:
        low = "-inf" if lo < -1e6 else "-c" if lo < 0 else "0"
        return f"[{low}, inf)" if low != "-inf" else "(-inf, inf)"
    return f"(-inf, {hi:g}]" if lo < -1e6 else f"[{lo:g}, {hi:g}]"


def pair_classes(activations=None, losses=None) -> dict[tuple[str, str], tuple[str, ...]]:
    """The (output activation, loss) pairs (pairs()) grouped by what the loss sees of the
    activation, the range of u it produces (output_range): {(range, loss): the output
    activations of that range the format accepts with the loss}, in the records' order."""
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for a, name in pairs(activations, losses):
        key = (output_range(a), name)
        out[key] = out.get(key, ()) + (a,)
    return out


ACCUMULATES_IN = {"bfloat16": "float32", "float16": "float32"}
"""16-bit dtypes: products and sums accumulate in float32 and round once (network.py)."""


GRADIENT_SPREAD = 6.0
"""A gradient's sum over samples carries more than the sum's own sqrt(n + 1) in the tolerance
model (harness/tolerance.py): M(g) = M(v)^T |x| + |v|^T M(x) + sqrt(n) |v|^T |x|, with M(v) at
least 4 |v| (u, te, t and v each rounded) and M(x) at least |x|: 6 with a margin."""


@lru_cache(maxsize=None)
def accumulation_size(dtype: str, k: float, spread: float = 0.0,
                      most: int = 1 << 12) -> int | None:
    """The smallest length n (a width for x W^T; a batch for the gradient's sum over samples,
    with spread GRADIENT_SPREAD) at which a sum accumulated in the narrow dtype itself can
    differ from the float32 accumulation (rounded once) by more than the tolerance k eps M,
    M = (sqrt(n + 1) + spread) sum |terms| (harness/tolerance.py); None for a dtype that
    accumulates in itself (float32, float64) or where no length up to `most` shows. The
    terms are accumulation_terms(): each small one is half an ulp of the running sum, a tie
    that rounds back to it."""
    if dtype not in ACCUMULATES_IN:
        return None
    dt = np_dtype(dtype)
    eps = float(finfo(dt).eps)
    first, small = (dt.type(t) for t in accumulation_terms(dtype, 2))
    narrow, wide, size = first, np.float32(first), float(first)
    for n in range(2, most + 1):  # one term more each time, summed as each side sums
        narrow = dt.type(np.float32(narrow) + np.float32(small))
        wide = np.float32(wide + np.float32(small))
        size += float(small)
        if abs(float(narrow) - float(dt.type(wide))) > k * eps * (math.sqrt(n + 1) + spread) \
                * size:
            return n
    return None


def accumulation_terms(dtype: str, n: int, scale: float = 1.0) -> list[float]:
    """scale, then n - 1 terms of scale eps / 2: exact in the dtype and in float32 in any
    order, while a sum in the dtype stays at scale (each term a tie, rounded to even)."""
    return [scale] + [scale * float(finfo(np_dtype(dtype)).eps) / 2] * (n - 1)
