"""The judge: one spec, a baseline's outcome and an implementation's, one frozen Verdict.

Every route that compares (`run`, the pytest plugin, the property-based fuzzer) calls
judge(); the batched fuzzer runs the same pass rule (tolerance.passes) on stacked arrays. A
Verdict holds, per traced tensor, the figures and pass/fail (compare.TensorDiff), the
divergence origin (the first tensor out of tolerance in computation order) and how many
consequences follow it, which side of the origin an oracle (exact, else numeric) is closer
to, and the known deviations that cover it, all decided here and never edited afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from .compare import TensorDiff, closer_side, compare_traces, value_of
from .errors import HarnessError
from .registry import ORACLES, get
from .runner import Outcome
from .spec import Spec
from .tolerance import loosest, resolve
from .xfails import GROUP_OF, QUANTITY_GROUPS, Xfail, covering

STATUSES = ("pass", "fail", "error", "unsupported", "xfail")


@dataclass(frozen=True)
class Verdict:
    """One implementation against one baseline on one case. status is one of STATUSES:
    "xfail" is a failure or error that known deviations (`known_by`) cover."""

    case: str
    dtype: str
    impl: str
    baseline: str
    status: str
    message: str = ""
    tensors: tuple[TensorDiff, ...] = ()
    origin: TensorDiff | None = None
    consequences: int = 0
    closer: str = ""
    seconds: float = 0.0
    known: str = ""  # for "xfail": the reasons and where they are listed
    known_by: tuple[Xfail, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "unsupported", "xfail")


def judge(spec: Spec, base: Outcome, other: Outcome, *, tolerance: dict | None = None,
          oracles: dict[str, Outcome] | None = None, known: Sequence[Xfail] = ()) -> Verdict:
    """`other` against `base` on `spec`: the tolerance model (the spec's and `tolerance`'s
    overrides, loosened to either implementation's declared accuracy) applied to every
    tensor; for a failure, which side is closer to the first of `oracles` that ran; then
    the known-deviation entries in `known` that cover every failing quantity group."""
    head = dict(case=spec.name, dtype=spec.dtype, impl=other.impl, baseline=base.impl,
                seconds=other.seconds)
    for side in (other, base):
        if side.status != "ok":
            who = "" if side is other else f"baseline {base.impl} "
            what = "not supported" if side.status == "unsupported" else "failed"
            message = f"{who}{what}: {side.message}"
            return _known(Verdict(status=side.status, message=message, **head), known, ())
    tensors = tuple(compare_traces(spec, base.trace, other.trace,
                                   tolerances(spec, base.impl, other.impl, tolerance)))
    failing = [t for t in tensors if not t.passed]
    if not failing:
        return Verdict(status="pass", tensors=tensors, **head)
    origin = failing[0]
    message = origin.message(other.impl, base.impl, spec.name, spec.dtype)
    status = "fail"
    non_finite = _non_finite_only_in(other.trace, base.trace, tensors)
    if non_finite:
        status = "error"
        message = f"returned NaN or Inf where {base.impl} has numbers ({non_finite}); {message}"
    verdict = Verdict(status=status, message=message, tensors=tensors, origin=origin,
                      consequences=len(failing) - 1,
                      closer=_closer(origin, base, other, oracles or {}), **head)
    return _known(verdict, known, failing)


def tolerances(spec: Spec, base: str, other: str, override: dict | None = None) -> dict:
    """The per-phase tolerances for a pair: the dtype's defaults, the spec's and the run's
    overrides, each loosened to an implementation's declared `accuracy` (numeric's)."""
    tol = resolve(spec.dtype, spec.tolerance, override)
    for name in (base, other):
        declared = _accuracy(name)
        if declared:
            tol = loosest(tol, resolve(spec.dtype, declared))
    return tol


def _accuracy(name: str) -> dict | None:
    """The implementation's declared accuracy; None for one without (or not registered)."""
    try:
        return getattr(get(name).impl, "accuracy", None)
    except HarnessError:
        return None


def _known(verdict: Verdict, entries: Sequence[Xfail], failing: list[TensorDiff]) -> Verdict:
    """The verdict as "xfail" when entries cover every failing quantity group (every group
    for an error without tensors); unchanged otherwise."""
    if verdict.status not in ("fail", "error") or not entries:
        return verdict
    groups = {GROUP_OF[t.quantity] for t in failing} or set(QUANTITY_GROUPS)
    used = covering(entries, verdict.case, groups)
    if not used:
        return _lead_with_uncovered(verdict, entries, failing)
    by_reason: dict[str, list[str]] = {}
    for x in used:
        by_reason.setdefault(x.reason, []).append(x.source)
    known = "; ".join(f"{reason} ({', '.join(sources)})" for reason, sources in by_reason.items())
    return replace(verdict, status="xfail", known=known, known_by=tuple(used))


def _lead_with_uncovered(verdict: Verdict, entries: Sequence[Xfail],
                         failing: list[TensorDiff]) -> Verdict:
    """A failure that known deviations cover only in part: its message leads with the first
    failing tensor that no entry covers (the real bug), naming the covered origin after."""
    uncovered = next((t for t in failing if not any(
        x.matches(verdict.case, GROUP_OF[t.quantity]) for x in entries)), None)
    if uncovered is None or uncovered is verdict.origin:
        return verdict
    message = (uncovered.message(verdict.impl, verdict.baseline, verdict.case, verdict.dtype)
               + f" (earlier, {verdict.origin.label} is out of tolerance as a known deviation)")
    return replace(verdict, message=message)


def _closer(origin: TensorDiff, base: Outcome, other: Outcome,
            oracles: dict[str, Outcome]) -> str:
    """Which of the two is closer to the first oracle (exact, then numeric) that ran."""
    for name in ORACLES:
        o = oracles.get(name)
        if o is not None and o.status == "ok" and name not in (base.impl, other.impl):
            return f"{closer_side(origin, base.trace, other.trace, o.trace)} (closer to {name})"
    return ""


def _non_finite_only_in(other, base, tensors) -> str:
    """The first tensor where `other` has NaN/Inf and the baseline a finite number, or ''."""
    for t in tensors:
        if t.nan_mismatch or t.inf_mismatch:
            a = value_of(other, t.step, t.quantity, t.layer)
            b = value_of(base, t.step, t.quantity, t.layer)
            if np.any(~np.isfinite(a) & np.isfinite(b)):
                return t.label
    return ""
