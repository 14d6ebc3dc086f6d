"""The fuzzed domain: where a baseline's numbers are fit to judge other implementations by.

Shared by the example-based fuzzer (harness/fuzz.py) and the batched one (harness/batched/),
which would otherwise import each other.
"""

from __future__ import annotations

import numpy as np

from impls.reference.dtypes import finfo

BCE_MARGIN = 1e-11  # BCE on probabilities is ill-conditioned (and clamped by torch) below this


def domain_mask(loss: str, baseline_trace, networks: int) -> np.ndarray:
    """Per network (a leading axis of `networks`, 1 for one spec): whether the baseline's
    numbers are finite and, for BCE, u(1 - u) stays above BCE_MARGIN; for poisson, whether
    every rate u is a normal number of its dtype (a subnormal rate may be flushed to 0, as
    torch's sigmoid and XLA do, and log u and y / u are then infinite). Outside, frameworks
    legitimately differ (overflow, torch's clamps, flushes), so a fuzzer does not judge
    there."""
    ok = np.ones(networks, dtype=bool)
    for step in baseline_trace.steps:
        arrays = [np.asarray(step.loss), step.outputs] + [
            getattr(layer, q) for layer in step.layers for q in ("d", "h", "v", "grad_weights")]
        for a in arrays:
            ok &= np.isfinite(np.reshape(a, (networks, -1))).all(axis=1)
        if loss == "binary_cross_entropy":
            u = np.reshape(step.outputs, (networks, -1)).astype(np.float64)
            with np.errstate(invalid="ignore"):
                ok &= (u * (1 - u) >= BCE_MARGIN).all(axis=1)
        if loss == "poisson":
            u = np.reshape(step.outputs, (networks, -1))
            ok &= (u.astype(np.float64) >= float(finfo(u.dtype).tiny)).all(axis=1)
    return ok
