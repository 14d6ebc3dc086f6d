"""Activations f and their derivatives t = f', side by side (the seed's h = f(d), t(d)).

Each t takes (d, h) so that derivatives that are cheapest in terms of the output (sigmoid,
tanh) use it. Everything stays in the dtype of d: constants are numpy scalars of that dtype.
Conventions at the kinks: relu'(0) = 0, leaky_relu'(0) = slope, elu'(0) = 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

Array = np.ndarray

_erf = np.frompyfunc(math.erf, 1, 1)  # libm's erf, correctly rounded to the dtype after


@dataclass(frozen=True)
class Activation:
    """h = f(d); t(d, h) = f'(d). When `needs_d` is False, t reads only h (d may be None)."""

    name: str
    f: Callable[[Array], Array]
    t: Callable[[Array, Array], Array]
    needs_d: bool = True


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


def erf(d: Array) -> Array:
    return _erf(d).astype(d.dtype)


def _phi_cdf(d: Array) -> Array:
    return _c(d, 0.5) * (1 + erf(d * _c(d, 1 / math.sqrt(2))))


def _gelu_tanh_inner(d: Array) -> Array:
    return _c(d, math.sqrt(2 / math.pi)) * (d + _c(d, 0.044715) * d * d * d)


def _gelu_tanh_t(d: Array, h: Array) -> Array:
    th = np.tanh(_gelu_tanh_inner(d))
    dinner = _c(d, math.sqrt(2 / math.pi)) * (1 + _c(d, 3 * 0.044715) * d * d)
    return _c(d, 0.5) * (1 + th) + _c(d, 0.5) * d * (1 - th * th) * dinner


def _table(slope: float) -> dict[str, tuple]:
    return {
        "identity": (lambda d: d,
                     lambda d, h: np.ones_like(h)),
        "sigmoid": (sigmoid,
                    lambda d, h: h * (1 - h)),
        "tanh": (np.tanh,
                 lambda d, h: 1 - h * h),
        "relu": (lambda d: np.maximum(d, 0),
                 lambda d, h: (d > 0).astype(d.dtype)),
        "leaky_relu": (lambda d: np.where(d > 0, d, _c(d, slope) * d),
                       lambda d, h: np.where(d > 0, _c(d, 1), _c(d, slope))),
        "softplus": (softplus,
                     lambda d, h: sigmoid(d)),
        "elu": (lambda d: np.where(d > 0, d, np.expm1(np.minimum(d, 0))),
                lambda d, h: np.where(d > 0, _c(d, 1), np.exp(np.minimum(d, 0)))),
        "silu": (lambda d: d * sigmoid(d),
                 lambda d, h: (s := sigmoid(d)) * (1 + d * (1 - s))),
        "gelu": (lambda d: d * _phi_cdf(d),
                 lambda d, h: _phi_cdf(d) + d * np.exp(-_c(d, 0.5) * d * d)
                 * _c(d, 1 / math.sqrt(2 * math.pi))),
        "gelu_tanh": (lambda d: _c(d, 0.5) * d * (1 + np.tanh(_gelu_tanh_inner(d))),
                      _gelu_tanh_t),
    }


FROM_OUTPUT = ("identity", "sigmoid", "tanh")  # t written in terms of h alone


def activation(name: str, slope: float = 0.01) -> Activation:
    """The activation called `name` (slope is leaky_relu's negative-side slope)."""
    f, t = _table(slope)[name]
    return Activation(name, f, t, needs_d=name not in FROM_OUTPUT)
