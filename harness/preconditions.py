"""Documented preconditions, declared by an adapter as data: where its framework's manual says
a function's inputs must satisfy something, a case outside it is "not supported (precondition:
...)", with the manual linked, never a FAIL (a documented behaviour is no bug).

    preconditions = ({"loss": "softmax_cross_entropy", "targets": "distribution",
                      "url": "https://www.tensorflow.org/api_docs/python/tf/nn/softmax_cross_entropy_with_logits"},
                     {"loss": "binary_cross_entropy", "targets": "unit", "url": "..."})

A precondition names the loss it applies to and what its targets must be (TARGETS below).
"""

from __future__ import annotations

import numpy as np

TARGETS = {  # kind: (what it means, in words; the test on targets y (batch, n) in float64)
    "distribution": ("each target row is a probability distribution (entries >= 0 summing to 1)",
                     lambda y, eps: bool(np.all(y >= 0) and np.all(
                         np.abs(y.sum(axis=-1) - 1) <= y.shape[-1] * eps))),
    "unit": ("every target is in [0, 1]", lambda y, eps: bool(np.all((y >= 0) & (y <= 1)))),
    "one-hot": ("each target row is one-hot", lambda y, eps: bool(np.all(
        ((y == 0) | (y == 1)).all(axis=-1) & (y.sum(axis=-1) == 1)))),
}
KEYS = ("loss", "targets", "url")


def check(declared) -> str:
    """Why a declared `preconditions` attribute is malformed, or "" (the registry refuses
    to load an adapter whose declaration is, with this line)."""
    if not isinstance(declared, (list, tuple)):
        return "preconditions must be a list of {'loss', 'targets', 'url'} entries"
    for p in declared:
        if not isinstance(p, dict) or set(p) - set(KEYS) or not {"loss", "targets"} <= set(p):
            return f"precondition {p!r}: expected the keys loss, targets and url"
        if p["targets"] not in TARGETS:
            return f"precondition {p!r}: targets must be one of {', '.join(TARGETS)}"
    return ""


def violated(impl, spec) -> str | None:
    """"precondition: ..." for the first declared precondition the spec breaks, or None."""
    declared = getattr(impl, "preconditions", ()) or ()  # checked when it loaded
    from impls.reference.dtypes import finfo
    y = np.asarray(spec.targets, dtype=np.float64)
    eps = float(finfo(spec.dtype).eps)
    for p in declared:
        if p["loss"] == spec.loss:
            words, holds = TARGETS[p["targets"]]
            if not holds(y, eps):
                url = f" ({p['url']})" if p.get("url") else ""
                return f"precondition: {spec.loss} needs {words}{url}"
    return None
