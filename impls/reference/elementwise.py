"""What every record is made of: the activation and loss record types, an activation's
parameter, and the few stable pieces (sigmoid, softplus, sech^2) that several records share.

Everything stays in the dtype of d: constants are numpy scalars of that dtype.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Param:
    """An activation's parameter in the spec format: the layer field's name, its default (the
    frameworks' documented one), and the allowed range: above `low` (or at it, if
    low_closed)."""

    field: str
    default: float
    low: float = -np.inf
    low_closed: bool = True

    def check(self, value: float) -> str | None:
        """None, or why value is outside the allowed range."""
        if value > self.low or (self.low_closed and value == self.low):
            return None
        return f"must be {'>=' if self.low_closed else '>'} {self.low:g}, got {value:g}"


@dataclass(frozen=True)
class Activation:
    """h = f(d); t(d, h) = f'(d).

    rounding(xp, d, h, t, under) gives m_f, m_t and a bound on |t'(d)|: the rounding of f and
    t written on absolute values (t is |t(d)|), in float64 on the array namespace xp (numpy or
    jax.numpy), in units of the dtype's eps, for the tolerance model; `under` is an underflow
    (tiny / eps), for an intermediate that may underflow and is then scaled.

    accurate: (f, t) written so that no step cancels, where the seed's form (or the common
    one) loses relative precision: sigmoid's t = h(1 - h) is 0 once h rounds to 1 (d > 37 in
    float64) though the true t is representable; the accurate form is sigmoid(d) sigmoid(-d).
    The engine computes the seed's form unless asked for this one (form="accurate").
    kinks: the d where t is a convention, not a limit; convention: what t is there.
    points: the d where implementations branch or switch formula (points.Point), which the
    default suite must visit exactly and one ulp to either side (harness/coverage.py).
    param: the one parameter the activation takes in the spec format (leaky_relu's slope,
    celu's alpha), or None."""

    name: str
    f: Callable[[Array], Array]
    t: Callable[[Array, Array], Array]
    rounding: Callable
    kinks: tuple = ()
    convention: str = ""
    accurate: tuple | None = None
    points: tuple = ()
    param: Param | None = None


@dataclass(frozen=True)
class Loss:
    """e_s = fe(u, y) per sample s; te(u, y) = de_s/du. rounding(xp, u, y, mu, eps) gives the
    per-sample M(fe) (..., batch) and M(te) (..., batch, n) given M(u) and the dtype's eps, in
    float64 on the array namespace xp, for the tolerance model. formula: the definition, as the
    README states it. points: the kinds of target and the extremes of u (points.Rows) that the
    default suite must visit (harness/coverage.py). targets: the targets it takes (Targets;
    None: any real). outputs: the last activations whose outputs it takes (() any: a loss on
    logits or residuals). kink_gap(u, y): each output's distance in u to a kink of fe (where
    te is a convention or jumps, l1's r = 0), for finite differences to stay clear of; None:
    fe is smooth."""

    name: str
    fe: Callable[[Array, Array], Array]
    te: Callable[[Array, Array], Array]
    rounding: Callable
    formula: str = ""
    points: tuple = ()
    targets: Targets | None = None
    outputs: tuple = ()
    kink_gap: Callable[[Array, Array], Array] | None = None


@dataclass(frozen=True)
class Targets:
    """The targets a loss takes: why (as the spec's error says it: "targets >= 0"), a test of
    each target, and fit: any real targets mapped onto allowed ones (the fuzzer's draws)."""

    why: str
    holds: Callable[[Array], Array]
    fit: Callable[[Array], Array]


def _c(d: Array, value: float):
    """A constant in d's dtype (keeps float32 float32)."""
    return d.dtype.type(value)


def sigmoid(d: Array) -> Array:
    """1 / (1 + exp(-d)) without overflow: exp only ever sees -|d|."""
    e = np.exp(-np.abs(d))
    return np.where(d >= 0, 1 / (1 + e), e / (1 + e))


def softplus(d: Array) -> Array:
    """log(1 + exp(d)), stable for large |d|."""
    return np.maximum(d, 0) + np.log1p(np.exp(-np.abs(d)))


def sech2(z: Array) -> Array:
    """1 - tanh(z)^2 as 4 e^{-2|z|} / (1 + e^{-2|z|})^2: no cancellation when |z| is large."""
    e = np.exp(-2 * np.abs(z))
    return 4 * e / ((1 + e) * (1 + e))
