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

from impls.reference import activation

from .compare import TensorDiff, closer_side, compare_traces, value_of
from .errors import HarnessError
from .registry import ORACLES, get
from .runner import Outcome
from .spec import Spec
from .tolerance import bounded, loosest, resolve
from .xfails import GROUP_OF, QUANTITY_GROUPS, Xfail, cite, covering

STATUSES = ("pass", "fail", "error", "unsupported", "xfail", "xpass")
BLAMES = ("a-wrong", "b-wrong", "both-wrong", "convention", "undecided")  # a: the baseline


@dataclass(frozen=True)
class Verdict:
    """One implementation against one baseline on one case. status is one of STATUSES:
    "xfail" is a failure or error that known deviations (`known_by`) cover; "xpass" a pass
    where a known deviation was expected (fixed upstream?)."""

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
    blame: str = ""  # for a divergence: one of BLAMES (a is the baseline, b the impl)
    blame_reason: str = ""
    root_causes: tuple = ()  # rootcause.RootCause: the origin's first, then independent ones

    @property
    def who(self) -> str:
        """The blame in words: "torch wrong", "both wrong", "convention", "undecided"."""
        return {"a-wrong": f"{self.baseline} wrong", "b-wrong": f"{self.impl} wrong",
                "both-wrong": "both wrong"}.get(self.blame, self.blame)

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "unsupported", "xfail", "xpass")

    @property
    def why(self) -> str:
        """The root causes in words, "" when none was sought; one cause met in several
        regions (same function, part and symptom) once, with where else it was met."""
        seen: dict[tuple, list] = {}
        for c in self.root_causes:
            key = (c.function, getattr(c, "part", ""), getattr(c, "symptom", "")) \
                if c.reproduced else (id(c),)
            seen.setdefault(key, []).append(c)
        return "; ".join(cs[0].text + (f" (also at {', '.join(f'{x.at:.17g}' for x in cs[1:])})"
                                       if len(cs) > 1 else "") for cs in seen.values())

    @property
    def exact_judged(self) -> int:
        """Elements judged against the exact oracle because their first-order tolerance was
        vacuous (compare.compare_traces)."""
        return sum(t.exact_judged for t in self.tensors)

    @property
    def signatures(self) -> tuple:
        return tuple(c.signature for c in self.root_causes)


def judge(spec: Spec, base: Outcome, other: Outcome, *, tolerance: dict | None = None,
          oracles: dict[str, Outcome] | None = None, known: Sequence[Xfail] = (),
          strict: bool = False) -> Verdict:
    """`other` against `base` on `spec`: the tolerance model (the spec's and `tolerance`'s
    overrides, loosened to either implementation's declared accuracy) applied to every
    tensor; for a failure, who is wrong (the blame, from the first of `oracles` that ran)
    and which side is closer to it; then the known-deviation entries in `known`: those that
    cover every failing quantity group make it "xfail"; a pass that one expected to fail is
    "xpass", or with `strict` a failure."""
    head = dict(case=spec.name, dtype=spec.dtype, impl=other.impl, baseline=base.impl,
                seconds=other.seconds)
    for side in (other, base):
        if side.status != "ok":
            who = "" if side is other else f"baseline {base.impl} "
            what = "not supported" if side.status == "unsupported" else "failed"
            message = f"{who}{what}: {side.message}"
            return _known(Verdict(status=side.status, message=message, **head), known, ())
    tensors = tuple(compare_traces(spec, base.trace, other.trace,
                                   tolerances(spec, base.impl, other.impl, tolerance),
                                   exact=lambda: _exact_trace(spec, base, other, oracles)))
    failing = [t for t in tensors if not t.passed]
    retyped = next((side for side in (other, base) if side.trace.retyped), None)
    if retyped is not None:
        return _known(_retyped(spec, base, other, retyped, tensors, head), known, failing)
    if not failing:
        return _unexpected_pass(Verdict(status="pass", tensors=tensors, **head), known, strict)
    origin = failing[0]
    message = origin.message(other.impl, base.impl, spec.name, spec.dtype)
    status = "fail"
    non_finite = _non_finite_only_in(other.trace, base.trace, tensors)
    if non_finite:
        status = "error"
        message = f"returned NaN or Inf where {base.impl} has numbers ({non_finite}); {message}"
    oracle, why = _oracle(base, other, oracles or {})
    blame, reason = _blame(spec, origin, base, other, oracle, why, tolerance)
    closer = f"{closer_side(origin, base.trace, other.trace, oracle.trace)} (closer to " \
             f"{oracle.impl})" if oracle else ""
    verdict = Verdict(status=status, message=message, tensors=tensors, origin=origin,
                      consequences=len(failing) - 1, closer=closer, blame=blame,
                      blame_reason=reason, **head)
    return _known(verdict, known, failing)


def _retyped(spec: Spec, base: Outcome, other: Outcome, side: Outcome,
             tensors: tuple, head: dict) -> Verdict:
    """A side whose trace came back in another float dtype than the spec's: its failure,
    blamed on it, whatever the values (converted, they are still judged: the first failing
    tensor follows in the message); the origin is the first failing tensor, else the first
    retyped one."""
    from .trace import retyped_text
    failing = [t for t in tensors if not t.passed]
    first = side.trace.retyped[0][0]
    origin = failing[0] if failing else next(
        t for t in tensors if (t.step, t.quantity, t.layer) == first)
    message = f"{side.impl}: {retyped_text(side.trace, spec.dtype)}"
    if failing:
        message += "; " + origin.message(other.impl, base.impl, spec.name, spec.dtype)
    blame = "b-wrong" if side is other else "a-wrong"
    return Verdict(status="fail", message=message, tensors=tensors, origin=origin,
                   consequences=max(len(failing) - 1, 0), blame=blame,
                   blame_reason=f"{side.impl} returns another dtype than the spec's", **head)


def _exact_trace(spec: Spec, base: Outcome, other: Outcome, oracles: dict | None):
    """The exact oracle's trace of the case, for elements whose first-order tolerance is
    vacuous: a side's own when one is exact, the run's, else traced here (kept in `oracles`
    for the case's other pairs); None where exact cannot run it."""
    for side in (base, other):
        if side.impl == ORACLES[0]:
            return side.trace
    found = (oracles or {}).get(ORACLES[0])
    if found is None and get(ORACLES[0]).available:
        from .runner import run_one
        found = run_one(ORACLES[0], spec)
        if oracles is not None:
            oracles[ORACLES[0]] = found
    return found.trace if found is not None and found.status == "ok" else None


def tolerances(spec: Spec, base: str, other: str, override: dict | None = None) -> dict:
    """The per-phase tolerances for a pair: the dtype's defaults, the spec's and the run's
    overrides, each loosened to an implementation's declared `accuracy`, at most
    MAX_ACCURACY times the model's (numeric, an oracle of finite differences, excepted)."""
    tol = resolve(spec.dtype, spec.tolerance, override)
    for name in (base, other):
        declared = _accuracy(name)
        if declared:
            tol = loosest(tol, resolve(spec.dtype, declared) if name in ORACLES
                          else bounded(spec.dtype, declared))
    return tol


def _accuracy(name: str) -> dict | None:
    """The implementation's declared accuracy; None for one without (or not registered)."""
    try:
        return getattr(get(name).impl, "accuracy", None)
    except HarnessError:
        return None


def _known(verdict: Verdict, entries: Sequence[Xfail], failing: list[TensorDiff]) -> Verdict:
    """The verdict as "xfail" when entries cover every failing quantity group; unchanged
    otherwise, and always for an error without values (a ledger covers values only: a wrong
    number, a NaN or an Inf, never a crash, an exit, a timeout or a malformed trace)."""
    if verdict.status not in ("fail", "error") or not entries or not verdict.tensors:
        return verdict  # a crash, an exit, a timeout, a malformed trace: never a known value
    groups = {GROUP_OF[t.quantity] for t in failing} or set(QUANTITY_GROUPS)
    used = covering(entries, verdict.case, groups)
    if not used:
        return _lead_with_uncovered(verdict, entries, failing)
    return replace(verdict, status="xfail", known=cite(used), known_by=tuple(used))


def with_causes(verdict: Verdict, causes: tuple, known: Sequence[Xfail] = ()) -> Verdict:
    """The verdict with its root causes; a failure or error whose every root cause, each
    reproduced at one neuron, a signature entry of `known` names is a known deviation."""
    verdict = replace(verdict, root_causes=tuple(causes))
    if verdict.status not in ("fail", "error") or not causes:
        return verdict
    used = [next((x for x in known if x.covers(c)), None) for c in causes]
    if None in used:
        return verdict
    used = list(dict.fromkeys(used))
    return replace(verdict, status="xfail", known=cite(used), known_by=tuple(used))


def _unexpected_pass(verdict: Verdict, entries: Sequence[Xfail], strict: bool) -> Verdict:
    """A pass on a case that an applying known-deviation entry names: "xpass" (the report
    asks whether it was fixed upstream), or with `strict` a failure, as pytest's
    xfail_strict."""
    expected = [x for x in entries if x.matches(verdict.case) or any(
        x.matches(verdict.case, g) for g in QUANTITY_GROUPS)]
    if not expected:
        return verdict
    x = expected[0]
    message = (f"XPASS: conforms although a known deviation expected it not to: "
               f"{cite([x])}; fixed upstream?")
    return replace(verdict, status="fail" if strict else "xpass", message=message,
                   known=x.cited, known_by=tuple(expected))


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


def _oracle(base: Outcome, other: Outcome,
            oracles: dict[str, Outcome]) -> tuple[Outcome | None, str]:
    """The first oracle (exact, then numeric) that traced the case, neither side being it;
    otherwise None and why none could judge."""
    why = []
    for name in ORACLES:
        oracle = oracles.get(name)
        if oracle is None or name in (base.impl, other.impl):
            continue
        if oracle.status == "ok":
            return oracle, ""
        why.append(f"{name} {oracle.status}: {oracle.message}")
    return None, "; ".join(why) or "no oracle ran (add exact or numeric to the run)"


def _blame(spec: Spec, origin: TensorDiff, base: Outcome, other: Outcome,
           oracle: Outcome | None, why: str, tolerance: dict | None) -> tuple[str, str]:
    """Who is wrong at the divergence origin: each side judged against the oracle with the
    same tolerance model; "convention" where the origin sits on an activation's kink, where
    the derivative is a convention, not a limit."""
    kink = _at_kink(spec, origin, base.trace)
    if kink:
        return "convention", kink
    for side, blame in ((base, "b-wrong"), (other, "a-wrong")):
        if side.impl == ORACLES[0]:
            return blame, f"{side.impl} is the oracle"
    if oracle is None:
        return "undecided", why
    wrong = [_off_at(spec, origin, side, oracle, tolerance) for side in (base, other)]
    parts = [f"{side.impl} {'out of' if bad else 'within'} tolerance of {oracle.impl}"
             for side, bad in zip((base, other), wrong)]
    blame = {(True, False): "a-wrong", (False, True): "b-wrong",
             (True, True): "both-wrong"}.get(tuple(wrong), "undecided")
    return blame, f"at {origin.label}: {', '.join(parts)}"


def _off_at(spec: Spec, origin: TensorDiff, side: Outcome, oracle: Outcome,
            tolerance: dict | None) -> bool:
    """Whether `side`'s tensor at the origin is out of tolerance of the oracle's."""
    tol = tolerances(spec, oracle.impl, side.impl, tolerance)
    diffs = compare_traces(spec, oracle.trace, side.trace, tol)
    return next(not t.passed for t in diffs
                if (t.step, t.quantity, t.layer) == (origin.step, origin.quantity, origin.layer))


def _at_kink(spec: Spec, origin: TensorDiff, trace) -> str:
    """The convention, when the origin is a backward quantity of a layer and every element
    out of tolerance there sits on its activation's kink (the element's sample and neuron for
    v; some sample of its neuron for a gradient): a difference elsewhere is not a convention."""
    if origin.step is None or origin.quantity not in ("v", "grad_weights", "grad_bias"):
        return ""
    layer = spec.layers[origin.layer]
    record = activation(layer.activation, layer.slope)
    rows = [tuple(m["index"]) for m in origin.mismatches]
    if not record.kinks or not rows or len(rows) < origin.n_bad:
        return ""
    d = np.asarray(trace.steps[origin.step].layers[origin.layer].d, dtype=np.float64)
    on_kink = np.isin(d, record.kinks)
    for index in rows:
        hit = on_kink[index] if origin.quantity == "v" else on_kink[:, index[0]].any()
        if not hit:
            return ""
    neuron = rows[0][1] if origin.quantity == "v" else rows[0][0]
    return f"{record.convention}: every element out of tolerance has d on the kink " \
           f"(first: neuron {neuron})"


def _non_finite_only_in(other, base, tensors) -> str:
    """The first tensor where `other` has NaN/Inf and the baseline a finite number, or ''."""
    for t in tensors:
        if t.nan_mismatch or t.inf_mismatch:
            a = value_of(other, t.step, t.quantity, t.layer)
            b = value_of(base, t.step, t.quantity, t.layer)
            if np.any(~np.isfinite(a) & np.isfinite(b)):
                return t.label
    return ""
