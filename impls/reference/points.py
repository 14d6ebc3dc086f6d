"""Special points of a function's domain: where implementations branch or switch formula.

A Point names one such d (or u) as a function of the dtype, so that the same record serves
float64, float32 and the 16-bit dtypes. Points are found two ways: from the dtype's limits
(exp overflows above log(max) and is subnormal below log(tiny)) or, where the edge is a
property of f itself (sigmoid rounds to 1, softplus(d) rounds to d), by bisection over the
dtype's representable numbers, with f computed as the engine computes it (16-bit: in
float32, rounded once). Loss points (Rows) are kinds of sample (u, y).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .dtypes import finfo


@dataclass(frozen=True)
class Point:
    """A special d: where(dtype) -> the real number, rounded to the dtype where it is used."""

    name: str
    where: Callable[[np.dtype], float]


def exp_overflow(dt: np.dtype) -> float:
    """exp(d) overflows to inf above this d."""
    return math.log(float(finfo(dt).max))


def exp_subnormal(dt: np.dtype) -> float:
    """exp(d) is subnormal below this d."""
    return math.log(float(finfo(dt).smallest_normal))


ZERO = Point("0 (a branch on the sign)", lambda dt: 0.0)
"""Every record's: a kink, a sign test, |d| in a stable form. Not -0.0: d = x W^T + b is never
-0.0 (a product accumulates onto +0.0, and an exact cancellation rounds to +0.0)."""


def _ordered(dt: np.dtype):
    """The unsigned integer type of dt's width, and its sign bit."""
    bits = np.dtype(dt).itemsize * 8
    return np.dtype(f"uint{bits}"), 1 << (bits - 1)


def _key(x: float, dt: np.dtype) -> int:
    """An integer that orders dt's numbers as the reals: consecutive numbers, consecutive keys."""
    uint, sign = _ordered(dt)
    i = int(np.array(x, dtype=dt).view(uint))
    return -(i - sign) if i >= sign else i


def _value(key: int, dt: np.dtype):
    uint, sign = _ordered(dt)
    i = key if key >= 0 else sign - key
    return np.array(i, dtype=uint).view(dt)


def edge(f: Callable, test: Callable, lo: float, hi: float) -> Callable[[np.dtype], float]:
    """where(dt) for the smallest d of dt in [lo, hi] with test(f(d), d) true, test false at lo
    and true from the edge on (f computed in float32 and rounded for a 16-bit dtype)."""
    def where(dt: np.dtype) -> float:
        dt = np.dtype(dt)
        compute = np.dtype(np.float32) if dt.itemsize < 4 else dt

        def holds(key: int) -> bool:
            d = _value(key, dt)
            with np.errstate(all="ignore"):
                out = f(np.array([d], dtype=compute)).astype(dt)
            return bool(test(out, d)[0])

        a, b = _key(lo, dt), _key(hi, dt)
        if holds(a) or not holds(b):
            raise ValueError(f"no edge of {f} in [{lo}, {hi}] for {dt}")
        while b - a > 1:
            mid = (a + b) // 2
            a, b = (a, mid) if holds(mid) else (mid, b)
        return float(_value(b, dt))
    return where


@dataclass(frozen=True)
class Rows:
    """A kind of sample (u, y) a loss must see: holds(u, y, dt) -> a boolean per sample
    (u, y of shape (..., batch, n) in the dtype dt). each(u, y, dt) -> a boolean per output,
    where the kind is a property of one output (u_j, y_j): harness/detect.py perturbs that
    output's term alone; None for a kind of a whole row."""

    name: str
    holds: Callable
    each: Callable | None = None
