"""The activations the frameworks ship beyond the seed's: relu6, selu, celu, log_sigmoid,
softsign, mish and the hard family (hard_sigmoid, hard_swish, hard_tanh), one record each, as
activations.py's.

Definitions where frameworks differ: hard_sigmoid is relu6(d + 3) / 6 = clip(d / 6 + 1/2, 0,
1), torch's hardsigmoid, jax.nn.hard_sigmoid and Keras 3's (Keras 2's 0.2 d + 0.5 is another
function, not this one); hard_swish is d hard_sigmoid(d) (torch hardswish, jax hard_swish and
hard_silu, Keras hard_silu). The derivative at a kink is each record's convention: the one
torch and jax share where they agree (measured, docs/conventions.md), torch's where not.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .dtypes import finfo
from .elementwise import Activation, Array, Param, _c, sech2, sigmoid, softplus
from .points import Point, edge, exp_overflow, exp_subnormal

SELU_ALPHA = 1.6732632423543772848170429916717  # Klambauer et al. (2017), as every framework
SELU_SCALE = 1.0507009873554804934193349852946
CELU_ALPHA = Param("alpha", 1.0, low=0.0, low_closed=False)  # torch, jax, Keras: 1.0


def _selu(d: Array) -> Array:
    return _c(d, SELU_SCALE) * np.where(d > 0, d, _c(d, SELU_ALPHA) * np.expm1(np.minimum(d, 0)))


def _selu_t(d: Array, h: Array) -> Array:
    return _c(d, SELU_SCALE) * np.where(d > 0, _c(d, 1), _c(d, SELU_ALPHA)
                                        * np.exp(np.minimum(d, 0)))


def log_sigmoid(d: Array) -> Array:
    """-softplus(-d): d - log1p(e^d) below 0, -log1p(e^-d) above; exp only sees -|d|."""
    return np.minimum(d, 0) - np.log1p(np.exp(-np.abs(d)))


def _softsign(d: Array) -> Array:
    return d / (1 + np.abs(d))


def _softsign_t(d: Array, h: Array) -> Array:
    q = 1 + np.abs(d)
    return 1 / (q * q)


def _softsign_t_accurate(d: Array, h: Array) -> Array:
    """(1 / q)^2: q^2 overflows beyond sqrt(max), where 1 / q^2 is still (subnormal) > 0."""
    r = 1 / (1 + np.abs(d))
    return r * r


def _mish(d: Array) -> Array:
    return d * np.tanh(softplus(d))


def _mish_t(d: Array, h: Array) -> Array:
    th = np.tanh(softplus(d))
    return th + d * sigmoid(d) * (1 - th * th)


def _mish_t_accurate(d: Array, h: Array) -> Array:
    return np.tanh(softplus(d)) + d * sigmoid(d) * sech2(softplus(d))


def _hard_sigmoid(d: Array) -> Array:
    """relu6(d + 3) / 6: d + 3 is exact near -3, where d / 6 + 1/2 cancels."""
    return (np.clip(d + _c(d, 3), 0, 6) / _c(d, 6)).astype(d.dtype)


def _inside(d: Array, lo: float, hi: float) -> Array:
    return ((d > lo) & (d < hi)).astype(d.dtype)


def _hard_swish_t(d: Array, h: Array) -> Array:
    """0 up to -3, d / 3 + 1/2 between, 1 from 3 on: the outer branch's slope at each kink."""
    return np.where(d >= 3, _c(d, 1), _inside(d, -3, 3) * (d / _c(d, 3) + _c(d, 0.5)))


# ---------------------------------------------------------------- rounding on absolute values
# (m_f, m_t, |t'| bound) given float64 d, h, t = |t(d)| and an underflow, as activations.py's.

def _jumps(xp, d, jumps: dict):
    """|t'| of a jump J at kink k, off the kink: J / |d - k|. An error in d (or in d + 3, which
    relu6(d + 3), the common form of the hard family, rounds to 6 one ulp below d = 3) that
    crosses the kink moves t by J; d's error times this bounds that. On the kink itself t is
    the convention, exactly."""
    out = xp.zeros_like(d)
    for k, jump in jumps.items():
        gap = xp.abs(d - k)
        out = out + xp.where(gap > 0, jump / xp.maximum(gap, 1e-300), 0.0)
    return out


def _round_clip(jumps: dict):
    """Clips and comparisons (relu6, hard_tanh): exact, but for d's error across a kink."""
    def rounding(xp, d, h, t, under):
        return xp.abs(h), xp.zeros_like(d), _jumps(xp, d, jumps)
    return rounding


def _round_selu(xp, d, h, t, under):
    """expm1 and two constants rounded to the dtype: 3 eps of f and of t."""
    return 3 * xp.abs(h), 3 * t, xp.where(d > 0, 0, t)


def _round_celu(alpha: float):
    """alpha expm1(d / alpha): d / alpha rounded moves expm1 by eps |d| e^{d/alpha}."""
    def rounding(xp, d, h, t, under):
        left = xp.where(d > 0, 0, 1)
        return (2 * xp.abs(h) + left * xp.abs(d) * t,
                2 * t + left * xp.abs(d) / alpha * t, left * t / alpha)
    return rounding


def _round_log_sigmoid(xp, d, h, t, under):
    """min(d, 0) - log1p(exp(-|d|)) is relative in both tails, as softplus."""
    return 2 * xp.abs(h), 2 * t, t


def _round_softsign(xp, d, h, t, under):
    """Autodiff of d / (1 + |d|) (torch's, jax's) forms t as 1/q - |d|/q^2, q = 1 + |d|,
    which cancels: an absolute eps (2 / q)."""
    return 2 * xp.abs(h), 2 / (1 + xp.abs(d)) + 3 * t, 2 * t


def _round_mish(xp, d, h, t, under):
    """d tanh(softplus(d)) + the cancellation in 1 - tanh^2 and sigmoid's underflow (silu's)."""
    ad = xp.abs(d)
    s = 1 / (1 + xp.exp(-xp.clip(d, -700, 700)))
    sp = xp.maximum(d, 0) + xp.log1p(xp.exp(-ad))
    th = xp.tanh(sp)
    return (4 * xp.abs(h) + ad * under,
            3 * th + 4 * ad * s * (1 + th * th) + t + (1 + ad) * under,
            2 * (2 + ad) * (s * (1 - s) + 1 - th * th))


def _round_hard_sigmoid(xp, d, h, t, under):
    """d / 6 + 1/2 (or relu6(d + 3) / 6): absolute eps (|d| / 6 + 1/2) where it cancels,
    inside (-3, 3) only: outside, h is the clip's exact 0 or 1 in any sane form (a bound
    growing with |d| there would pass anything: 2.7 at d = 16 / eps)."""
    inside = xp.where(xp.abs(d) < 3, 1.0, 0.0)
    return inside * (xp.abs(d) / 6 + 0.5) + xp.abs(h), t, _jumps(xp, d, {-3.0: 1 / 6,
                                                                         3.0: 1 / 6})


def _round_hard_swish(xp, d, h, t, under):
    ad = xp.abs(d)
    inside = xp.where(ad < 3, 1.0, 0.0)
    return (inside * ad * (ad / 6 + 0.5) + 2 * xp.abs(h), inside * (ad / 3 + 0.5) + t,
            inside / 3 + _jumps(xp, d, {-3.0: 0.5, 3.0: 0.5}))


# ---------------------------------------------------------------- special points

def _at(value: float, name: str) -> Point:
    return Point(name, lambda dt: value)


def _scaled(where, alpha: float):
    return lambda dt: alpha * where(dt)


def _minus(where):
    return lambda dt: -where(dt)


def _sqrt_max(dt) -> float:
    """d^2 overflows above sqrt(max) (within an ulp)."""
    return math.sqrt(float(finfo(dt).max))


def _far(sign: float = 1.0) -> Point:
    """16 / eps: a kink constant c <= 6 rounds away there (d - c == d, half an ulp is 8), so a
    clip written as a difference of two, relu(d) - relu(d - 6) (tinygrad#18028, #18063), is
    0 there."""
    return Point("16 / eps: d minus a kink rounds to d" + (", d < 0" if sign < 0 else ""),
                 lambda dt: sign * 16 / float(finfo(dt).eps))


def _expm1_points(alpha: float) -> tuple:
    """selu's and celu's left branch alpha expm1(d / alpha), t = exp(d / alpha)."""
    return (Point("exp(d) overflows (a branch both sides compute)",
                  _scaled(exp_overflow, alpha)),
            Point("expm1 rounds to -1", _scaled(edge(np.expm1, lambda h, d: h > -1, -2000, 0),
                                                alpha)),
            Point("t = exp subnormal below", _scaled(exp_subnormal, alpha)),
            Point("t underflows to 0", _scaled(edge(np.exp, lambda h, d: h > 0, -2000, 0),
                                               alpha)))


def _points(alpha: float) -> dict:
    return {
        "relu6": (_at(6.0, "6 (the upper kink)"), _far()),
        "selu": _expm1_points(1.0),
        "celu": _expm1_points(alpha),
        "log_sigmoid": (
            Point("exp(-d) overflows", _minus(exp_overflow)),
            Point("f differs from d above", edge(log_sigmoid, lambda h, d: h != d, -2000, -1)),
            Point("f subnormal above", _minus(exp_subnormal)),
            Point("f underflows to 0", edge(log_sigmoid, lambda h, d: h == 0, 1, 2000))),
        "softsign": (
            Point("1 + |d| a tie, rounded to |d| (2 / eps)", lambda dt: 2 / float(finfo(dt).eps)),
            Point("(1 + |d|)^2 overflows", _sqrt_max),
            Point("(1 + |d|)^2 overflows, d < 0", _minus(_sqrt_max))),
        "mish": (
            Point("exp(d) overflows", exp_overflow),
            Point("f rounds to d", edge(_mish, lambda h, d: h == d, 1, 2000)),
            Point("f underflows to 0", edge(_mish, lambda h, d: h < 0, -2000, -1))),
        "hard_sigmoid": (_at(-3.0, "-3 (the lower kink)"), _at(3.0, "3 (the upper kink)"),
                         _far(), _far(-1.0)),
        "hard_swish": (_at(-3.0, "-3 (the lower kink)"), _at(3.0, "3 (the upper kink)"),
                       _far(), _far(-1.0)),
        "hard_tanh": (_at(-1.0, "-1 (the lower kink)"), _at(1.0, "1 (the upper kink)"),
                      _far(), _far(-1.0)),
    }


# ---------------------------------------------------------------- the table

def records(alpha: float) -> list[Activation]:
    """The records, celu's with this alpha (the layer's parameter); each with its own points
    (activations.py adds 0, every record's)."""
    points = _points(alpha)
    return [replace(a, points=points[a.name]) for a in (
        Activation("relu6", lambda d: np.clip(d, 0, 6).astype(d.dtype),
                   lambda d, h: _inside(d, 0, 6), _round_clip({0.0: 1.0, 6.0: 1.0}),
                   kinks=(0.0, 6.0),
                   convention="relu6'(0) = relu6'(6) = 0"),
        Activation("selu", _selu, _selu_t, _round_selu, kinks=(0.0,),
                   convention="selu'(0) = scale alpha (the left branch; torch, jax)"),
        Activation("celu", lambda d: np.where(d > 0, d, _c(d, alpha) * np.expm1(
            np.minimum(d, 0) / _c(d, alpha))),
                   lambda d, h: np.where(d > 0, _c(d, 1), np.exp(np.minimum(d, 0)
                                                                 / _c(d, alpha))),
                   _round_celu(alpha), kinks=(0.0,),
                   convention="celu'(0) = 1 (both sides agree; t' jumps)", param=CELU_ALPHA),
        Activation("log_sigmoid", log_sigmoid, lambda d, h: sigmoid(-d), _round_log_sigmoid),
        Activation("softsign", _softsign, _softsign_t, _round_softsign, kinks=(0.0,),
                   convention="softsign'(0) = 1 (both sides agree; t' jumps)",
                   accurate=(_softsign, _softsign_t_accurate)),
        Activation("mish", _mish, _mish_t, _round_mish, accurate=(_mish, _mish_t_accurate)),
        Activation("hard_sigmoid", _hard_sigmoid, lambda d, h: _inside(d, -3, 3) / _c(d, 6),
                   _round_hard_sigmoid, kinks=(-3.0, 3.0),
                   convention="hard_sigmoid'(±3) = 0"),
        Activation("hard_swish", lambda d: d * _hard_sigmoid(d), _hard_swish_t,
                   _round_hard_swish, kinks=(-3.0, 3.0),
                   convention="hard_swish'(-3) = 0, hard_swish'(3) = 1"),
        Activation("hard_tanh", lambda d: np.clip(d, -1, 1).astype(d.dtype),
                   lambda d, h: _inside(d, -1, 1), _round_clip({-1.0: 1.0, 1.0: 1.0}),
                   kinks=(-1.0, 1.0),
                   convention="hard_tanh'(±1) = 0 (torch; jax.nn.hard_tanh's is 1)"),
    )]
