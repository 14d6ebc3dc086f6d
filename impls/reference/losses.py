"""Losses, one record each: fe, its loss-node derivative te = de/du, and its rounding on
absolute values (for the harness's tolerance model), side by side, per sample.

fe(u, y) -> (..., batch) per-sample losses; te(u, y) -> (..., batch, n) = d fe / d u for each
sample. Leading axes, if any, index stacked networks. The batch reduction (sum or mean) is
applied by the network, not here. `loss(name)` raises for a name it does not know.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Loss:
    """e_s = fe(u, y) per sample s; te(u, y) = de_s/du. rounding(xp, u, y, mu, eps) gives the
    per-sample M(fe) (..., batch) and M(te) (..., batch, n) given M(u) and the dtype's eps, in
    float64 on the array namespace xp, for the tolerance model. formula: the definition, as the README
    states it."""

    name: str
    fe: Callable[[Array, Array], Array]
    te: Callable[[Array, Array], Array]
    rounding: Callable
    formula: str = ""


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


# ---------------------------------------------------------------- the table

def _records() -> dict[str, Loss]:
    """Every loss by name, built per lookup as activations' table is (four small records): the
    formulas are then code that runs on each call, where mutation testing reaches them."""
    return {loss.name: loss for loss in (
        Loss("squared_error", lambda u, y: u.dtype.type(0.5) * ((u - y) ** 2).sum(axis=-1),
             lambda u, y: u - y, _round_squared_error, "½ Σ_j (u_j − y_j)²"),
        Loss("mse", lambda u, y: ((u - y) ** 2).mean(axis=-1),
             lambda u, y: (u - y) * u.dtype.type(2 / u.shape[-1]), _round_mse,
             "(1/n) Σ_j (u_j − y_j)²"),
        Loss("softmax_cross_entropy",
             lambda u, y: (y * (logsumexp(u)[..., None] - u)).sum(axis=-1),
             lambda u, y: softmax(u) * y.sum(axis=-1, keepdims=True) - y,
             _round_softmax_cross_entropy, "Σ_j y_j (log Σ_k e^{u_k} − u_j)"),
        Loss("binary_cross_entropy", _bce, lambda u, y: (u - y) / (u * (1 - u)),
             _round_binary_cross_entropy, "−Σ_j [y_j log u_j + (1 − y_j) log(1 − u_j)]"),
    )}


LOSSES = tuple(_records())


def loss(name: str) -> Loss:
    """The record of the loss called `name`."""
    records = _records()
    if name not in records:
        raise ValueError(f"unknown loss {name!r} (known: {', '.join(LOSSES)})")
    return records[name]
