"""Losses, one record each: fe, its loss-node derivative te = de/du, and its rounding on
absolute values (for the harness's tolerance model), side by side, per sample.

fe(u, y) -> (..., batch) per-sample losses; te(u, y) -> (..., batch, n) = d fe / d u for each
sample. Leading axes, if any, index stacked networks. The batch reduction (sum or mean) is
applied by the network, not here. `loss(name)` raises for a name it does not know.
"""

from __future__ import annotations

import math
import numpy as np

from . import more_losses
from .dtypes import finfo
from .elementwise import Array, Loss
from .more_losses import NONNEGATIVE, UNIT
from .points import Rows


def logsumexp(u: Array) -> Array:
    """log(sum_j exp(u_j)) per row, shifted by the row max so exp never overflows."""
    m = u.max(axis=-1, keepdims=True)
    return (m + np.log(np.exp(u - m).sum(axis=-1, keepdims=True)))[..., 0]


def softmax(u: Array) -> Array:
    e = np.exp(u - u.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _bce(u: Array, y: Array) -> Array:
    """-sum_j [y log u + (1 - y) log(1 - u)]; a term whose weight is 0 contributes 0 (not NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = np.where(y > 0, y * np.log(u), 0)
        neg = np.where(y < 1, (1 - y) * np.log1p(-u), 0)
    return -(pos + neg).sum(axis=-1)


# ---------------------------------------------------------------- rounding on absolute values

def _round_squared_error(xp, u, y, mu, eps):
    """The second-order eps M(u)^2 / 2 counts an error in u that is all of u - y (a d that
    cancelled to 0 in one implementation and not in another, say)."""
    diff = u - y
    md = mu + xp.abs(diff)
    fe = 0.5 * (diff * diff).sum(axis=-1)
    return ((xp.abs(diff) * md).sum(axis=-1) + math.sqrt(u.shape[-1]) * fe
            + 0.5 * eps * (mu * mu).sum(axis=-1)), md


def _round_mse(xp, u, y, mu, eps):
    n = u.shape[-1]
    diff = u - y
    md = mu + xp.abs(diff)
    fe = (diff * diff).mean(axis=-1)
    mfe = (2 / n) * (xp.abs(diff) * md).sum(axis=-1) + math.sqrt(n) * fe \
        + eps * (mu * mu).mean(axis=-1)
    return mfe, (2 / n) * md + xp.abs(2 * diff / n)


def _round_softmax_cross_entropy(xp, u, y, mu, eps):
    """Log-sum-exp shifted by the row max, and softmax times the target mass."""
    m = u.max(axis=-1, keepdims=True)
    ex = xp.exp(u - m)
    total = ex.sum(axis=-1, keepdims=True)
    p, lse = ex / total, m + xp.log(total)
    mlse = (p * mu).sum(axis=-1, keepdims=True) + xp.abs(m) + xp.abs(lse - m) + 1
    ay = xp.abs(y)
    mfe = (ay * (mlse + mu + xp.abs(lse) + xp.abs(u))).sum(axis=-1)
    sy = xp.abs(y.sum(axis=-1, keepdims=True))
    mp = p * (mu + mlse + 2)
    return mfe, mp * sy + p * sy + ay


def _round_binary_cross_entropy(xp, u, y, mu, eps):
    """log u and log1p(-u), and 1 - u in te, which keeps eps / (1 - u) relative precision."""
    diff = u - y
    md = mu + xp.abs(diff)
    one_m = 1 - u
    mlog = mu / u + xp.abs(xp.log(u))
    mlog1 = (mu + u) / one_m + xp.abs(xp.log1p(-u))
    mfe = (xp.abs(y) * mlog + xp.abs(1 - y) * mlog1).sum(axis=-1)
    te = diff / (u * one_m)
    mte = (md / xp.abs(u * one_m)) + xp.abs(te) * (mu / u + (mu + u) / one_m + 2)
    return mfe, mte


# ---------------------------------------------------------------- special points
# The spec format takes any real targets (>= 0 for the cross-entropies, <= 1 for binary
# cross-entropy): each kind a formula might assume away, and u where a formula runs out of range.

def _any(test):
    return lambda u, y, dt: test(u, y, dt).any(axis=-1)


def _each(name: str, test) -> Rows:
    """A kind of one output (u_j, y_j): a sample is of it when any output is."""
    return Rows(name, _any(test), test)


def _squared() -> tuple:
    """The squared losses' points, built on each call as `_records()` is (not at import,
    where mutation testing cannot reach `_any`)."""
    return (
        _each("y < 0", lambda u, y, dt: y < 0),
        _each("y = 0", lambda u, y, dt: y == 0),
        _each("0 < y < 1", lambda u, y, dt: (0 < y) & (y < 1)),
        _each("y = 1", lambda u, y, dt: y == 1),
        _each("y > 1", lambda u, y, dt: y > 1),
        _each("u = y (a residual of 0)", lambda u, y, dt: u == y),
        _each("0 < |u - y| < sqrt(tiny) (its square underflows)",
              lambda u, y, dt: (u != y) & (np.abs(u - y) < np.sqrt(finfo(dt).smallest_normal))),
    )


def _row_sum(y):
    return y.sum(axis=-1)


def _one_hot(y):
    return ((y == 0) | (y == 1)).all(axis=-1) & (_row_sum(y) == 1)


def _p_underflows(u, y, dt):
    """softmax(u)_j is 0 (u_j - max u below log(tiny)) where y_j > 0."""
    gap = u - u.max(axis=-1, keepdims=True)
    return ((gap < np.log(finfo(dt).smallest_normal)) & (y > 0)).any(axis=-1)


_SOFTMAX = (
    Rows("one-hot row", lambda u, y, dt: _one_hot(y)),
    Rows("soft row summing to 1", lambda u, y, dt: ~_one_hot(y) & (
        np.abs(_row_sum(y) - 1) <= y.shape[-1] * finfo(dt).eps)),
    Rows("row summing to more than 1", lambda u, y, dt: _row_sum(y) > 1 + y.shape[-1]
         * finfo(dt).eps),
    Rows("row summing to less than 1, not 0", lambda u, y, dt: (0 < _row_sum(y)) & (
        _row_sum(y) < 1 - y.shape[-1] * finfo(dt).eps)),
    Rows("all-zero row", lambda u, y, dt: (y == 0).all(axis=-1)),
    Rows("softmax underflows to 0 where y > 0", _p_underflows),
)


def _u_end(name, low: bool, target):
    """u at an end of (0, 1) against a kind of target: u below eps / 2 (1 - u rounds to 1),
    or 1 - u within eps (u an ulp or two below 1)."""
    def each(u, y, dt):
        eps = finfo(dt).eps
        return (u < eps / 2 if low else 1 - u <= eps) & target(y)
    return _each(name, each)


def _binary() -> tuple:
    """Binary cross-entropy's points: u at either end of (0, 1), each kind of target."""
    return tuple(
        _u_end(f"{end} with y {label}", low, target)
        for end, low in (("u < eps/2", True), ("1 - u <= eps", False))
        for label, target in (("= 0", lambda y: y == 0), ("in (0, 1)", lambda y: (0 < y) & (y < 1)),
                              ("= 1", lambda y: y == 1)))


# ---------------------------------------------------------------- the table

def _records() -> dict[str, Loss]:
    """Every loss by name, built per lookup as activations' table is (four small records): the
    formulas are then code that runs on each call, where mutation testing reaches them."""
    return {loss.name: loss for loss in (
        Loss("squared_error", lambda u, y: u.dtype.type(0.5) * ((u - y) ** 2).sum(axis=-1),
             lambda u, y: u - y, _round_squared_error, "½ Σ_j (u_j − y_j)²", _squared()),
        Loss("mse", lambda u, y: ((u - y) ** 2).mean(axis=-1),
             lambda u, y: (u - y) * u.dtype.type(2 / u.shape[-1]), _round_mse,
             "(1/n) Σ_j (u_j − y_j)²", _squared()),
        Loss("softmax_cross_entropy",
             lambda u, y: (y * (logsumexp(u)[..., None] - u)).sum(axis=-1),
             lambda u, y: softmax(u) * y.sum(axis=-1, keepdims=True) - y,
             _round_softmax_cross_entropy, "Σ_j y_j (log Σ_k e^{u_k} − u_j)", _SOFTMAX,
             NONNEGATIVE),
        Loss("binary_cross_entropy", _bce, lambda u, y: (u - y) / (u * (1 - u)),
             _round_binary_cross_entropy, "−Σ_j [y_j log u_j + (1 − y_j) log(1 − u_j)]",
             _binary(), UNIT, ("sigmoid",)),
    ) + tuple(more_losses.records())}


LOSSES = tuple(_records())


def loss(name: str) -> Loss:
    """The record of the loss called `name`."""
    records = _records()
    if name not in records:
        raise ValueError(f"unknown loss {name!r} (known: {', '.join(LOSSES)})")
    return records[name]
