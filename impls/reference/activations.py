"""Activations, one record each: f, its derivative t = f', its rounding on absolute values (for
the harness's tolerance model), and its kinks with the convention there.

Each t takes (d, h) so that derivatives cheapest in terms of the output (sigmoid, tanh) use
it. Everything stays in the dtype of d: constants are numpy scalars of that dtype. A record is
the one place that knows an activation; `activation(name)` raises for a name it does not know.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from . import more_activations
from .dtypes import finfo
from .elementwise import Activation, Array, Param, _c, sech2, sigmoid, softplus
from .points import Point, edge, exp_overflow, exp_subnormal, ZERO

_erf = np.frompyfunc(math.erf, 1, 1)  # libm's erf, correctly rounded to the dtype after


def erf(d: Array) -> Array:
    return _erf(d).astype(d.dtype)


_erfc = np.frompyfunc(math.erfc, 1, 1)


def _phi_cdf_accurate(d: Array) -> Array:
    """The normal CDF as erfc(-d / sqrt 2) / 2: relative precision in the left tail too."""
    return _c(d, 0.5) * _erfc(-d * _c(d, 1 / math.sqrt(2))).astype(d.dtype)


def _phi_cdf(d: Array) -> Array:
    return _c(d, 0.5) * (1 + erf(d * _c(d, 1 / math.sqrt(2))))


GELU_K, GELU_C = math.sqrt(2 / math.pi), 0.044715  # the tanh approximation's constants


def _gelu_tanh_inner(d: Array) -> Array:
    return _c(d, GELU_K) * (d + _c(d, GELU_C) * d * d * d)


def _gelu_tanh_t(d: Array, h: Array) -> Array:
    th = np.tanh(_gelu_tanh_inner(d))
    dinner = _c(d, GELU_K) * (1 + _c(d, 3 * GELU_C) * d * d)
    return _c(d, 0.5) * (1 + th) + _c(d, 0.5) * d * (1 - th * th) * dinner


# ---------------------------------------------------------------- rounding on absolute values
# Each returns (m_f, m_t, |t'| bound) given float64 d, h, t = |t(d)| and an underflow.

def _round_identity(xp, d, h, t, under):
    zero = xp.zeros_like(d)
    return zero, zero, zero


def _round_piecewise_linear(xp, d, h, t, under):
    return xp.abs(h), xp.zeros_like(d), xp.zeros_like(d)


def _round_sigmoid(xp, d, h, t, under):
    """t = h(1 - h): the cancellation in 1 - h is counted (h(1 + h))."""
    ah = xp.abs(h)
    return 2 * ah, ah * (1 + ah) + t, t


def _round_tanh(xp, d, h, t, under):
    ah = xp.abs(h)
    return 2 * ah, 1 + ah * ah, 2 * t


def _round_softplus(xp, d, h, t, under):
    """max(d, 0) + log1p(exp(-|d|)) is accurate relative to h in both tails: nothing absolute
    (log(1 + exp(d)), which is 0 below d = -37, fails)."""
    return 2 * xp.abs(h), 2 * t, t


def _round_elu(xp, d, h, t, under):
    return 2 * xp.abs(h), t, xp.where(d > 0, 0, t)


def _round_silu(xp, d, h, t, under):
    """sigmoid(d) may underflow (to 0 below d = -709 where exp(-d) overflows), and is then
    multiplied by d: an underflow times |d| in h, times 1 + |d| in t."""
    ad = xp.abs(d)
    s = 1 / (1 + xp.exp(-xp.clip(d, -700, 700)))
    return (2 * xp.abs(h) + ad * under, s * (1 + ad * (1 + s)) + t + (1 + ad) * under,
            s * (1 - s) * (2 + ad))


def _round_gelu(xp, d, h, t, under):
    """h = d Phi(d), t = Phi(d) + d phi(d), 0 <= Phi <= 1."""
    ad = xp.abs(d)
    phi = xp.exp(-0.5 * d * d) / math.sqrt(2 * math.pi)
    return ad + xp.abs(h), 1 + ad * phi + t, phi * (2 + d * d)


def _round_gelu_tanh(xp, d, h, t, under):
    ad = xp.abs(d)
    q = GELU_K * (1 + 3 * GELU_C * d * d)
    th = xp.tanh(GELU_K * (d + GELU_C * d ** 3))
    sech2 = 1 - th * th
    mt = 0.5 * (1 + xp.abs(th)) + 0.5 * ad * (1 + th * th) * q + t
    return (ad * (1 + xp.abs(th)) + xp.abs(h), mt,
            sech2 * (q * (2 + 2 * ad * q) + 6 * GELU_K * GELU_C * ad * ad))


# ---------------------------------------------------------------- the table

def _silu_t(d: Array, h: Array) -> Array:
    s = sigmoid(d)
    return s * (1 + d * (1 - s))


def _gelu_tanh_t_accurate(d: Array, h: Array) -> Array:
    z = _gelu_tanh_inner(d)
    dinner = _c(d, GELU_K) * (1 + _c(d, 3 * GELU_C) * d * d)
    return sigmoid(2 * z) + _c(d, 0.5) * d * sech2(z) * dinner


def _gelu_t_accurate(d: Array, h: Array) -> Array:
    phi = np.exp(-_c(d, 0.5) * d * d) * _c(d, 1 / math.sqrt(2 * math.pi))
    return _phi_cdf_accurate(d) + d * phi


def _silu(d: Array) -> Array:
    return d * sigmoid(d)


def _gelu(d: Array) -> Array:
    return d * _phi_cdf(d)


def _gelu_tanh(d: Array) -> Array:
    return _c(d, 0.5) * d * (1 + np.tanh(_gelu_tanh_inner(d)))


# ---------------------------------------------------------------- special points
# Where implementations branch or switch formula: every record but identity's has 0; the rest
# are the edges of exp and of f's own rounding, and frameworks' published thresholds.

def _minus(where):
    return lambda dt: -where(dt)


def _tf_softplus_threshold(dt) -> float:
    """TensorFlow's softplus: exp(d) below log(eps) + 2, d above -(log(eps) + 2)."""
    return math.log(float(finfo(dt).eps)) + 2


def _is(value):
    return lambda h, d: h == value


_POINTS = {
    "identity": (),
    "sigmoid": (
        Point("exp(-d) overflows", _minus(exp_overflow)),
        Point("f subnormal below", exp_subnormal),
        Point("f underflows to 0", edge(sigmoid, lambda h, d: h > 0, -2000, 0)),
        Point("f rounds to 1 (h(1 - h) = 0)", edge(sigmoid, _is(1), 0, 2000))),
    "tanh": (
        Point("XLA's float32 tanh: d itself below", lambda dt: 0.0004),
        Point("XLA's float32 tanh clamps d", lambda dt: 7.90531110763549805),
        Point("f = d below", edge(np.tanh, lambda h, d: h != d, 0, 1)),
        Point("f rounds to 1", edge(np.tanh, _is(1), 0, 100))),
    "relu": (),
    "leaky_relu": (),
    "softplus": (
        Point("torch's threshold (d above 20)", lambda dt: 20.0),
        Point("TensorFlow's threshold, exp(d) below", _tf_softplus_threshold),
        Point("TensorFlow's threshold, d above", _minus(_tf_softplus_threshold)),
        Point("exp(d) overflows", exp_overflow),
        Point("f rounds to d", edge(softplus, lambda h, d: h == d, 0, 2000)),
        Point("f subnormal below", exp_subnormal),
        Point("f underflows to 0", edge(softplus, lambda h, d: h > 0, -2000, 0))),
    "elu": (
        Point("exp(d) overflows", exp_overflow),
        Point("f rounds to -1", edge(np.expm1, lambda h, d: h > -1, -2000, 0)),
        Point("t = exp(d) subnormal below", exp_subnormal),
        Point("t underflows to 0", edge(np.exp, lambda h, d: h > 0, -2000, 0))),
    "silu": (
        Point("exp(-d) overflows", _minus(exp_overflow)),
        Point("f rounds to d", edge(_silu, lambda h, d: h == d, 1, 2000)),
        Point("sigmoid(d) underflows to 0", edge(sigmoid, lambda h, d: h > 0, -2000, 0))),
    "gelu": (
        Point("f rounds to d", edge(_gelu, lambda h, d: h == d, 1, 100)),
        Point("1 + erf cancels to 0", edge(_gelu, lambda h, d: h < 0, -100, -1)),
        Point("phi(d) underflows to 0", edge(lambda d: np.exp(-_c(d, 0.5) * d * d),
                                              lambda h, d: h > 0, -100, 0))),
    "gelu_tanh": (
        Point("tanh of the inner term rounds to 1", edge(
            lambda d: np.tanh(_gelu_tanh_inner(d)), _is(1), 0, 100)),
        Point("1 + tanh cancels to 0", edge(_gelu_tanh, lambda h, d: h < 0, -100, -1))),
}


LEAKY_SLOPE = Param("slope", 0.01)  # the spec's default (torch's and jax's 0.01; any real)


def _records(slope: float, alpha: float) -> dict[str, Activation]:
    return {a.name: a for a in (
        Activation("identity", lambda d: d, lambda d, h: np.ones_like(h), _round_identity),
        Activation("sigmoid", sigmoid, lambda d, h: h * (1 - h), _round_sigmoid,
                   accurate=(sigmoid, lambda d, h: sigmoid(d) * sigmoid(-d))),
        Activation("tanh", np.tanh, lambda d, h: 1 - h * h, _round_tanh,
                   accurate=(np.tanh, lambda d, h: sech2(d))),
        Activation("relu", lambda d: np.maximum(d, 0), lambda d, h: (d > 0).astype(d.dtype),
                   _round_piecewise_linear, kinks=(0.0,), convention="relu'(0) = 0"),
        Activation("leaky_relu", lambda d: np.where(d > 0, d, _c(d, slope) * d),
                   lambda d, h: np.where(d > 0, _c(d, 1), _c(d, slope)),
                   _round_piecewise_linear, kinks=(0.0,),
                   convention="leaky_relu'(0) = the slope", param=LEAKY_SLOPE),
        Activation("softplus", softplus, lambda d, h: sigmoid(d), _round_softplus),
        Activation("elu", lambda d: np.where(d > 0, d, np.expm1(np.minimum(d, 0))),
                   lambda d, h: np.where(d > 0, _c(d, 1), np.exp(np.minimum(d, 0))),
                   _round_elu, kinks=(0.0,), convention="elu'(0) = 1 (alpha = 1)"),
        Activation("silu", _silu, _silu_t, _round_silu,
                   accurate=(lambda d: d * sigmoid(d),
                             lambda d, h: sigmoid(d) * (1 + d * sigmoid(-d)))),
        Activation("gelu", _gelu,
                   lambda d, h: _phi_cdf(d) + d * np.exp(-_c(d, 0.5) * d * d)
                   * _c(d, 1 / math.sqrt(2 * math.pi)), _round_gelu,
                   accurate=(lambda d: d * _phi_cdf_accurate(d), _gelu_t_accurate)),
        Activation("gelu_tanh", _gelu_tanh,
                   _gelu_tanh_t, _round_gelu_tanh,
                   accurate=(lambda d: d * sigmoid(2 * _gelu_tanh_inner(d)),
                             _gelu_tanh_t_accurate)),
    ) + tuple(more_activations.records(alpha))}


def _with_points(records: dict[str, Activation]) -> dict[str, Activation]:
    return {name: replace(a, points=(ZERO,) * (name != "identity") + _POINTS.get(name, a.points))
            for name, a in records.items()}


ACTIVATIONS = tuple(_records(0.01, 1.0))  # every name, in the order reports list them


FORMS = ("seed", "accurate")


def activation(name: str, slope: float | None = None, form: str = "seed") -> Activation:
    """The record of the activation called `name`. slope: its parameter (leaky_relu's
    negative-side slope, celu's alpha; None or for another activation: ignored, the
    default). form="accurate" gives the record with its accurate f and t where it has them."""
    records = _with_points(_records(
        slope if name == "leaky_relu" and slope is not None else LEAKY_SLOPE.default,
        slope if name == "celu" and slope is not None else more_activations.CELU_ALPHA.default))
    if name not in records:
        raise ValueError(f"unknown activation {name!r} (known: {', '.join(ACTIVATIONS)})")
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r} (known: {', '.join(FORMS)})")
    record = records[name]
    if form == "accurate" and record.accurate:
        f, t = record.accurate
        record = replace(record, f=f, t=t)
    return record
