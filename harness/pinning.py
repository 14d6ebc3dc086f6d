"""Where the first-order tolerance is no bound: outputs near a loss's singularity.

An output whose own tolerance reaches PIN_FRACTION of its distance to the singularity of the
loss that takes it (binary cross-entropy's log u and log(1 - u), poisson's log u and y / u), or
whose first-order M(v) overflowed, is *pinned*: there the linearization of log and 1/x is as
large as the values it judges. harness/compare.py judges the loss there against the loss over
the outputs' tolerance box (loss_interval) and the elements that depend on that output's v
against the exact oracle, with tolerance.pinned_v's M. docs/tolerances.md, "No vacuous pass".
"""

from __future__ import annotations

import math

import numpy as np

from impls.reference import loss

from .tolerance import Tolerance, bound

PIN_FRACTION = 0.25  # an operand's tolerance beyond this part of its distance to a singularity


def singular_distance(loss_name: str, u, y):
    """How far each output is from a singularity of the loss's fe and te: log u, log(1 - u)
    and 1 / (u (1 - u)) for binary cross-entropy; log u and y / u for poisson where y > 0 (a
    zero target's term is u alone); None for a loss without one (the squared losses are
    polynomials, log-sum-exp is Lipschitz: their first-order bound holds)."""
    if loss_name == "binary_cross_entropy":
        return np.minimum(np.abs(u), np.abs(1 - u))
    if loss_name == "poisson":
        return np.where(y > 0, np.abs(u), np.inf)
    return None


def pinned_outputs(spec, trace, mags: list[dict], tol: Tolerance) -> list | None:
    """Per step, the outputs (batch, n) whose own forward tolerance reaches PIN_FRACTION of
    their distance to the loss's singularity, or whose first-order M(v) is no number while v
    is (te and t each beyond float64's range, as poisson's y / u is at u near tiny): there the
    first-order model extrapolates log and 1/x linearly over a perturbation as large as the
    operand, and its bound is as large as the values it judges (a vacuous pass) or none at
    all. None when no output of any step is so."""
    out, any_pinned = [], False
    last = len(spec.layers) - 1
    with np.errstate(all="ignore"):
        for step, m in zip(trace.steps, mags):
            u = np.asarray(step.outputs, dtype=np.float64)
            dist = singular_distance(spec.loss, u, np.asarray(spec.targets, dtype=np.float64))
            if dist is None:
                return None
            overflowed = ~np.isfinite(m[("v", last)]) & np.isfinite(step.layers[last].v)
            mask = (bound(np, m[("outputs", None)], tol) >= PIN_FRACTION * dist) | overflowed
            any_pinned = any_pinned or bool(mask.any())
            out.append(mask)
    return out if any_pinned else None


SINGULAR_DOMAIN = {"binary_cross_entropy": (0.0, 1.0), "poisson": (0.0, math.inf)}


def loss_interval(spec, u, m_u, tol: Tolerance) -> tuple[float, float, float]:
    """The loss of one step over the box of outputs within their tolerance of `u` (the
    baseline's): (lowest, highest, its summation's magnitude M). Evaluated, not linearized:
    the terms of binary cross-entropy and of poisson are each convex in u with the minimum
    at u = y, so each term's range is its values at the box's ends and at y clipped into it;
    beyond the loss's domain (SINGULAR_DOMAIN) the term is Inf. The honest bound where the
    first-order one is vacuous."""
    y = np.asarray(spec.targets, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    delta = bound(np, m_u, tol)
    fe = loss(spec.loss).fe
    low, high = SINGULAR_DOMAIN[spec.loss]
    per_output = 1.0 / y.shape[-1] if spec.loss == "poisson" else 1.0  # its mean over outputs
    scale = per_output / y.shape[-2] if spec.reduction == "mean" else per_output
    with np.errstate(all="ignore"):
        ends = [np.clip(u - delta, low, high), np.clip(u + delta, low, high)]
        at = ends + [np.clip(y, ends[0], ends[1])]
        terms = np.stack([fe(a[..., None], y[..., None]) for a in at])  # per element
        terms = np.where(np.isnan(terms), np.inf, terms)
        lo, hi = terms.min(axis=0), terms.max(axis=0)
        finite = np.where(np.isfinite(terms), np.abs(terms), 0.0).max(axis=0)
    n = y.size
    return scale * float(lo.sum()), scale * float(hi.sum()), \
        scale * math.sqrt(n) * float(finite.sum())
