"""One drawn network judged: what both fuzzers (harness/fuzz_search.py and the batched one in
harness/batched/) share, so that neither imports the other.

check() and explained() run the baseline and the implementation on a spec and judge it, None
outside the fuzzed domain (harness/fuzz_domain.py) or the implementation's support;
signature() says which disagreements are one finding.
"""

from __future__ import annotations

from .fuzz_domain import domain_mask
from .judge import Verdict, judge
from .rootcause import explain
from .runner import run_one
from .spec import Spec


def in_domain(spec: Spec, baseline_trace) -> bool:
    """Whether the baseline computed finite numbers (and BCE stays well-conditioned)."""
    return bool(domain_mask(spec.loss, baseline_trace, 1)[0])


def _outcomes(spec: Spec, impl: str, baseline: str):
    """(baseline's, impl's) outcomes on one spec; None when the spec is outside the fuzzed
    domain or the implementation does not support it."""
    base = run_one(baseline, spec)
    if base.status != "ok" or not in_domain(spec, base.trace):
        return None
    other = run_one(impl, spec)
    return None if other.status == "unsupported" else (base, other)


def check(spec: Spec, impl: str, baseline: str, known=()) -> Verdict | None:
    """impl against baseline on one spec; None outside the fuzzed domain or its support."""
    traced = _outcomes(spec, impl, baseline)
    return None if traced is None else judge(spec, *traced, known=known)


def explained(spec: Spec, impl: str, baseline: str, known=()) -> Verdict | None:
    """check(), and for a divergence the oracle's blame and the root causes at one neuron
    (rootcause.explain; known deviations by signature applied)."""
    traced = _outcomes(spec, impl, baseline)
    if traced is None:
        return None
    verdict = judge(spec, *traced, known=known)
    return explain(spec, *traced, verdict, known=known)


def signature(spec: Spec, verdict: Verdict) -> tuple:
    """What makes two disagreements distinct: the signature of the first root cause where
    it reduces to one neuron; otherwise the origin layer's activation, the loss, the origin
    quantity and the dtype (or the status, for an implementation that failed outright)."""
    causes = verdict.root_causes
    if causes and causes[0].reproduced:
        return causes[0].signature.cause
    origin = verdict.origin
    if origin is None:
        return (verdict.impl, "-", spec.loss, verdict.status, spec.dtype)
    act = spec.layers[origin.layer].activation if origin.layer is not None else "-"
    return (verdict.impl, act, spec.loss, origin.quantity, spec.dtype, "does not reduce")


def describe_key(key: tuple, verdict: Verdict | None = None) -> str:
    """A finding's key in words (its root cause's signature where the verdict has one)."""
    if verdict is not None and verdict.root_causes and verdict.root_causes[0].reproduced:
        return str(verdict.root_causes[0].signature)
    return " / ".join(map(str, key))
