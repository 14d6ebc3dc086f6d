"""The losses the frameworks ship beyond the seed's, one record each, as losses.py's: l1,
huber, log_cosh, kl_divergence, poisson, hinge and binary cross-entropy on logits.

Per sample, over the n outputs: a mean where the frameworks' per-sample form is one (Keras's
mean_absolute_error, huber, log_cosh, poisson and hinge average over the last axis; torch's
reduction="mean" averages elementwise losses), a sum where it is one (kl_divergence, and
bce_with_logits, as binary_cross_entropy). Definitions where frameworks differ:
huber has delta = 1 (torch, optax, Keras: the default), so smooth_l1 (huber / delta) is the
same function; kl_divergence takes u as log-probabilities (torch's kl_div, optax's
kl_divergence; Keras's takes probabilities, clipped); poisson takes u as the rate, with log u
exact (torch adds eps = 1e-8 inside the log unless told 0, Keras 1e-7); hinge takes targets in
{-1, 1} (optax, Keras; Keras also maps 0 to -1).
"""

from __future__ import annotations

import math

import numpy as np

from .dtypes import finfo
from .elementwise import Array, Loss, Targets, sigmoid, softplus
from .points import Rows

HUBER_DELTA = 1.0
LOG2 = math.log(2)


def _n(u: Array):
    """1 / n in u's dtype: te of a mean over the outputs."""
    return u.dtype.type(1 / u.shape[-1])


def _huber(u: Array, y: Array) -> Array:
    r = np.abs(u - y)
    delta = u.dtype.type(HUBER_DELTA)
    return np.where(r <= delta, u.dtype.type(0.5) * r * r,
                    delta * (r - u.dtype.type(0.5) * delta)).mean(axis=-1)


def _log_cosh(u: Array, y: Array) -> Array:
    """|r| + log1p(exp(-2|r|)) - log 2: cosh(r) itself overflows beyond |r| = 710."""
    r = np.abs(u - y)
    return (r + np.log1p(np.exp(-2 * r)) - u.dtype.type(LOG2)).mean(axis=-1)


def _kl(u: Array, y: Array) -> Array:
    """sum y (log y - u), a zero target's term 0 (0 log 0 = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y > 0, y * (np.log(y) - u), 0).sum(axis=-1)


def _poisson(u: Array, y: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return (u - np.where(y > 0, y * np.log(u), 0)).mean(axis=-1)


def _bce_logits(u: Array, y: Array) -> Array:
    """max(u, 0) - u y + log1p(exp(-|u|)): softplus(u) - u y, exp never overflows."""
    return (softplus(u) - u * y).sum(axis=-1)


# ---------------------------------------------------------------- rounding on absolute values
# (M(fe) per sample, M(te) per output) given u, y, M(u) and eps, as losses.py's.

def _round_l1(xp, u, y, mu, eps):
    """te = sign(u - y) / n jumps by 2 / n where the residual is within u's error of 0."""
    n = u.shape[-1]
    diff = xp.abs(u - y)
    md = mu + diff
    flips = xp.where(diff < 2 * eps * mu, 2 / (n * eps), 0.0)
    return md.mean(axis=-1) + math.sqrt(n) * diff.mean(axis=-1), flips + 1 / n


def _round_huber(xp, u, y, mu, eps):
    n = u.shape[-1]
    r = xp.abs(u - y)
    md = mu + r
    linear = xp.where(r > HUBER_DELTA, HUBER_DELTA * (r + HUBER_DELTA / 2), 0.0)
    fe = xp.where(r <= HUBER_DELTA, r * r / 2, HUBER_DELTA * (r - HUBER_DELTA / 2))
    mfe = (xp.minimum(r, HUBER_DELTA) * md + linear).mean(axis=-1) \
        + math.sqrt(n) * fe.mean(axis=-1) + 0.5 * eps * (mu * mu).mean(axis=-1)
    return mfe, (md + xp.minimum(r, HUBER_DELTA)) / n


def _round_log_cosh(xp, u, y, mu, eps):
    """|r| + log1p(...) - log 2 cancels near r = 0: an absolute eps (|r| + 2) per output."""
    n = u.shape[-1]
    r = u - y
    md = mu + xp.abs(r)
    th = xp.abs(xp.tanh(r))
    mfe = (th * md + xp.abs(r) + 2).mean(axis=-1) + math.sqrt(n) * (xp.abs(r) + 1).mean(axis=-1)
    # te of the common form's derivative, 1 - 2 sigmoid(-2r) (Keras's, optax's, autodiff of
    # logaddexp): an absolute eps, so near r = 0 (tanh(r) ~ r) no relative precision
    return mfe, ((1 - th * th) * md + 2 * th + 2) / n


def _round_kl(xp, u, y, mu, eps):
    ay = xp.abs(y)
    with np.errstate(divide="ignore"):
        logy = xp.where(ay > 0, xp.log(xp.where(ay > 0, ay, 1.0)), 0.0)
    return (ay * (2 * xp.abs(logy) + 2 * xp.abs(u) + mu + 1)).sum(axis=-1), ay


def _round_poisson(xp, u, y, mu, eps):
    """log u amplifies u's error by 1 / u; 1 - y / u cancels where u nears y."""
    n = u.shape[-1]
    ay = xp.abs(y)
    q = ay / u
    mfe = (mu + u + ay * (mu / u + 2 * xp.abs(xp.log(u)))).mean(axis=-1) \
        + math.sqrt(n) * (u + ay * xp.abs(xp.log(u))).mean(axis=-1)
    return mfe, (q * (mu / u + 2) + 1 + xp.abs(1 - q)) / n


def _round_hinge(xp, u, y, mu, eps):
    """1 - y u: eps (1 + |u| + M(u)); te jumps by 1 / n where the margin is within that of 1."""
    n = u.shape[-1]
    margin = 1 - y * u
    err = 1 + xp.abs(y * u) + xp.abs(y) * mu
    flips = xp.where(xp.abs(margin) <= 2 * eps * err, 1 / (n * eps), 0.0)
    inside = xp.where(margin > 0, 1.0, 0.0)
    return (inside * err).mean(axis=-1) + math.sqrt(n) * (inside * margin).mean(axis=-1), \
        flips + xp.abs(y) / n


def _round_bce_logits(xp, u, y, mu, eps):
    """softplus(u) - u y: its terms' sizes, absolutely (they cancel where y matches u's sign)."""
    s = 1 / (1 + xp.exp(-xp.clip(u, -700, 700)))
    au = xp.abs(u)
    mfe = (mu * xp.abs(s - y) + au * (2 + xp.abs(y)) + 2).sum(axis=-1)
    return mfe, s * (1 - s) * mu + s + xp.abs(s - y)


# ---------------------------------------------------------------- special points

def _any(test):
    return lambda u, y, dt: test(u, y, dt).any(axis=-1)


def _residual_rows(kink: float | None) -> tuple:
    """Residuals r = u - y: 0 (l1's kink, log_cosh's cancellation), and the delta boundary."""
    rows = [Rows("u = y (a residual of 0)", _any(lambda u, y, dt: u == y)),
            Rows("u < y", _any(lambda u, y, dt: u < y)),
            Rows("u > y", _any(lambda u, y, dt: u > y))]
    if kink is not None:
        rows += [Rows(f"|u - y| = {kink:g} (the quadratic's end)",
                      _any(lambda u, y, dt: np.abs(u - y) == kink)),
                 Rows(f"|u - y| > {kink:g} (linear)", _any(lambda u, y, dt: np.abs(u - y) > kink))]
    return tuple(rows)


def _log_cosh_rows() -> tuple:
    return _residual_rows(None) + (
        Rows("0 < |u - y| < sqrt(eps) (log cosh below eps)", _any(
            lambda u, y, dt: (u != y) & (np.abs(u - y) < np.sqrt(finfo(dt).eps)))),
        Rows("exp(-2|u - y|) underflows (cosh overflows)", _any(
            lambda u, y, dt: np.abs(u - y) > -np.log(float(finfo(dt).smallest_normal)) / 2)))


def _kl_rows() -> tuple:
    tiny = lambda dt: float(finfo(dt).smallest_normal)  # noqa: E731
    return (Rows("y = 0 (0 log 0 = 0)", _any(lambda u, y, dt: y == 0)),
            Rows("y subnormal", _any(lambda u, y, dt: (y > 0) & (y < tiny(dt)))),
            Rows("0 < y < 1", _any(lambda u, y, dt: (y >= tiny(dt)) & (y < 1))),
            Rows("y >= 1", _any(lambda u, y, dt: y >= 1)))


def _poisson_rows() -> tuple:
    return (Rows("y = 0", _any(lambda u, y, dt: y == 0)),
            Rows("y > 0 not an integer", _any(lambda u, y, dt: (y > 0) & (y != np.round(y)))),
            Rows("y a positive integer", _any(lambda u, y, dt: (y > 0) & (y == np.round(y)))),
            Rows("u < 1e-7 (where log(u + eps) forms drift)", _any(lambda u, y, dt: u < 1e-7)))


def _hinge_rows() -> tuple:
    return (Rows("y = -1, inside the margin", _any(lambda u, y, dt: (y == -1) & (y * u < 1))),
            Rows("y = 1, inside the margin", _any(lambda u, y, dt: (y == 1) & (y * u < 1))),
            Rows("y u > 1 (no loss)", _any(lambda u, y, dt: y * u > 1)))


def _bce_logits_rows() -> tuple:
    big = lambda dt: -math.log(float(finfo(dt).smallest_normal))  # noqa: E731
    return tuple(Rows(f"u {side} 0 with y {label}", _any(
        lambda u, y, dt, pos=pos, kind=kind: ((u > 0) if pos else (u < 0)) & kind(y)))
        for side, pos in (("<", False), (">", True))
        for label, kind in (("= 0", lambda y: y == 0), ("in (0, 1)", lambda y: (0 < y) & (y < 1)),
                            ("= 1", lambda y: y == 1))) + (
        Rows("u = 0", _any(lambda u, y, dt: u == 0)),
        Rows("|u| beyond -log(tiny) (exp(-|u|) subnormal)", _any(
            lambda u, y, dt: np.abs(u) > big(dt))))


# ---------------------------------------------------------------- the targets each takes

NONNEGATIVE = Targets("targets >= 0", lambda y: y >= 0, np.abs)
UNIT = Targets("targets in [0, 1]", lambda y: (0 <= y) & (y <= 1),
               lambda y: np.minimum(1.0, np.abs(y) / 2))
SIGNS = Targets("targets in {-1, 1}", lambda y: np.abs(y) == 1,
                lambda y: np.where(y < 0, -1.0, 1.0))
POSITIVE_OUTPUTS = ("softplus", "sigmoid")  # u > 0 (poisson's rate); the one that fits first


# ---------------------------------------------------------------- the table

def records() -> list[Loss]:
    """The records, built per call as losses.py's are."""
    return [
        Loss("l1", lambda u, y: np.abs(u - y).mean(axis=-1),
             lambda u, y: np.sign(u - y) * _n(u), _round_l1, "(1/n) Σ_j |u_j − y_j|",
             _residual_rows(None),
             kink_gap=lambda u, y: np.where(u == y, np.inf, np.abs(u - y))),  # r = 0 exactly:
        # central differences there are the convention, 0
        Loss("huber", _huber, lambda u, y: np.clip(u - y, -HUBER_DELTA, HUBER_DELTA) * _n(u),
             _round_huber, "(1/n) Σ_j [½ r_j² if |r_j| ≤ 1, else |r_j| − ½], r = u − y "
             "(delta 1)", _residual_rows(HUBER_DELTA),
             kink_gap=lambda u, y: np.abs(np.abs(u - y) - HUBER_DELTA)),
        Loss("log_cosh", _log_cosh, lambda u, y: np.tanh(u - y) * _n(u), _round_log_cosh,
             "(1/n) Σ_j log cosh(u_j − y_j)", _log_cosh_rows()),
        Loss("kl_divergence", _kl, lambda u, y: -y, _round_kl,
             "Σ_j y_j (log y_j − u_j) on log-probabilities u, 0 log 0 = 0", _kl_rows(),
             NONNEGATIVE),
        Loss("poisson", _poisson, lambda u, y: (1 - y / u) * _n(u), _round_poisson,
             "(1/n) Σ_j (u_j − y_j log u_j) on rates u > 0", _poisson_rows(), NONNEGATIVE,
             POSITIVE_OUTPUTS),
        Loss("hinge", lambda u, y: np.maximum(1 - y * u, 0).mean(axis=-1),
             lambda u, y: np.where(y * u < 1, -y, 0) * _n(u), _round_hinge,
             "(1/n) Σ_j max(0, 1 − y_j u_j), y in {−1, 1}", _hinge_rows(), SIGNS,
             kink_gap=lambda u, y: np.abs(u - 1 / y)),
        Loss("bce_with_logits", _bce_logits, lambda u, y: sigmoid(u) - y, _round_bce_logits,
             "Σ_j [log(1 + e^{u_j}) − y_j u_j] on logits u", _bce_logits_rows(), UNIT),
    ]
