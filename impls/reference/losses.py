"""Losses fe and their loss-node derivatives te = de/du, side by side, per sample.

fe(u, y) -> (..., batch) per-sample losses; te(u, y) -> (..., batch, n) = d fe / d u for each
sample. Leading axes, if any, index stacked networks. The batch reduction (sum or mean) is
applied by the network, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Loss:
    """e_s = fe(u, y) per sample s; te(u, y) = de_s/du."""

    name: str
    fe: Callable[[Array, Array], Array]
    te: Callable[[Array, Array], Array]


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


LOSSES = {
    "squared_error": Loss("squared_error",
                          lambda u, y: u.dtype.type(0.5) * ((u - y) ** 2).sum(axis=-1),
                          lambda u, y: u - y),
    "mse": Loss("mse",
                lambda u, y: ((u - y) ** 2).mean(axis=-1),
                lambda u, y: (u - y) * u.dtype.type(2 / u.shape[-1])),
    "softmax_cross_entropy": Loss(
        "softmax_cross_entropy",
        lambda u, y: (y * (logsumexp(u)[..., None] - u)).sum(axis=-1),
        lambda u, y: softmax(u) * y.sum(axis=-1, keepdims=True) - y),
    "binary_cross_entropy": Loss("binary_cross_entropy", _bce,
                                 lambda u, y: (u - y) / (u * (1 - u))),
}


def loss(name: str) -> Loss:
    """The loss called `name`."""
    return LOSSES[name]
