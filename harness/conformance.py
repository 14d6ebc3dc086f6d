"""The main job: specs through implementations, each trace against the baseline, verdicts out.

Implementations know nothing of comparisons; comparisons know nothing of frameworks. This
module joins them: it schedules the traces (runner), compares them (compare), picks the
divergence origin and asks an oracle (exact, else numeric) which side of it is closer.
"""

from __future__ import annotations

import itertools
import os
import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from . import __version__
from .compare import TensorDiff, closer_side, compare_traces, value_of
from .errors import HarnessError
from .registry import ImplInfo, discover, get
from .runner import Outcome, run_tasks
from .spec import Spec
from .trace import Trace
from .tolerance import loosest, resolve
from .xfails import GROUP_OF, QUANTITY_GROUPS, Xfail, covering, shipped

ORACLES = ("exact", "numeric")


@dataclass
class CaseResult:
    """One implementation against one baseline on one case."""

    case: str
    dtype: str
    impl: str
    baseline: str
    status: str  # "pass" | "fail" | "error" | "unsupported" | "xfail" (a known deviation)
    message: str = ""
    tensors: list[TensorDiff] = field(default_factory=list)
    origin: TensorDiff | None = None
    consequences: int = 0
    closer: str = ""
    seconds: float = 0.0
    known: str = ""  # for "xfail": the reason and where it is listed

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "unsupported", "xfail")


@dataclass
class RunResult:
    """A whole run: every comparison, the implementations, the specs and the environment."""

    results: list[CaseResult]
    specs: dict[str, Spec]
    impls: dict[str, dict]
    baseline: str
    started: str
    wall_seconds: float
    impl_seconds: dict[str, float]  # traces and prepare() together
    tolerance_override: dict
    prepare_seconds: dict[str, float]  # the part of impl_seconds spent in prepare()

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def counts(self) -> dict[str, int]:
        out = {"pass": 0, "fail": 0, "error": 0, "unsupported": 0, "xfail": 0}
        for r in self.results:
            out[r.status] += 1
        return out


def choose_impls(requested: list[str] | None, baseline: str) -> list[ImplInfo]:
    """The implementations to run, baseline first. Asked-for ones must be available."""
    if requested:
        infos = [get(n) for n in dict.fromkeys([baseline, *requested])]
        missing = [i for i in infos if not i.available]
        if missing:
            raise HarnessError(f"implementation {missing[0].name!r} is unavailable: "
                               f"{missing[0].reason}")
        return infos
    base = get(baseline)
    if not base.available:
        raise HarnessError(f"baseline {baseline!r} is unavailable: {base.reason}")
    return [base] + [i for n, i in discover().items() if n != baseline and i.available]


def run_suite(specs: list[Spec], impls: list[str] | None = None, baseline: str = "reference",
              pairwise: bool = False, jobs: int = 1, timeout: float | None = None,
              tolerance: dict | None = None, progress=None,
              xfails: list[Xfail] | None = None) -> RunResult:
    """Trace every spec with every implementation and compare; see RunResult.

    `progress(total)` may return a callback that is called with each finished Outcome.
    A failure that `xfails` (or the implementation's shipped list) names is a known
    deviation: status "xfail", reported but not counted against the run."""
    names = [s.name for s in specs]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise HarnessError(f"two cases are named {dup!r}; case names must be unique")
    infos = choose_impls(impls, baseline)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    tasks = [(info.name, spec) for spec in specs for info in infos]
    pairs = [(baseline, i.name) for i in infos if i.name != baseline]
    if pairwise:
        pairs = list(itertools.combinations([i.name for i in infos], 2))
    known = {i.name: (xfails or []) + shipped(i.impl) for i in infos}
    by_case: dict[str, dict[str, Outcome]] = {}
    verdicts: dict[tuple, CaseResult] = {}
    spec_of = {s.name: s for s in specs}
    shown = progress(len(tasks)) if progress else None

    def done(o: Outcome) -> None:
        """Judge every pair this outcome completes, while the other tasks still run."""
        outs = by_case.setdefault(o.case, {})
        outs[o.impl] = o
        for a, b in pairs:
            if o.impl in (a, b) and a in outs and b in outs:
                verdicts[(o.case, a, b)] = verdict(spec_of[o.case], outs[a], outs[b],
                                                   tolerance)
        if shown:
            shown(o)

    outcomes = run_tasks(tasks, jobs, timeout, done)
    results = []
    for spec in specs:
        for a, b in pairs:
            result = verdicts[(spec.name, a, b)]
            note_closer(result, by_case[spec.name][a], by_case[spec.name][b], by_case[spec.name])
            results.append(mark_known(result, known[b]))
    impl_seconds = {i.name: sum(o.seconds for o in outcomes if o.impl == i.name) for i in infos}
    prepare_seconds = {i.name: sum(o.prepare_seconds for o in outcomes if o.impl == i.name)
                       for i in infos}
    traced = {}
    for o in outcomes:
        if o.trace is not None:
            traced.setdefault(o.impl, o.trace)
    described = {n: describe(i, traced.get(n)) for n, i in
                 (discover().items() if not impls else ((i.name, i) for i in infos))}
    return RunResult(results, {s.name: s for s in specs}, described, baseline, started,
                     time.perf_counter() - t0, impl_seconds, tolerance or {}, prepare_seconds)


def mark_known(result: CaseResult, entries: list[Xfail]) -> CaseResult:
    """A failure or error that a known-deviation entry covers becomes "xfail"."""
    if result.status not in ("fail", "error"):
        return result
    groups = {GROUP_OF[t.quantity] for t in result.tensors if not t.passed} or set(QUANTITY_GROUPS)
    used = covering(entries, result.case, groups)
    if used:
        for x in used:
            x.used = True
        result.status = "xfail"
        by_reason: dict[str, list[str]] = {}
        for x in used:
            by_reason.setdefault(x.reason, []).append(x.source)
        result.known = "; ".join(f"{reason} ({', '.join(sources)})"
                                 for reason, sources in by_reason.items())
    return result


def describe(info: ImplInfo, trace: Trace | None = None) -> dict:
    """Name, version, availability and numerical settings of one implementation: from one of
    its traces when the run has one (what it reported where it ran, a worker process under
    --jobs, so that describing the run imports no framework into this process)."""
    out = {"available": info.available, "reason": info.reason, "target": info.target,
           "version": "", "settings": {}, "supports": info.supports}
    if info.available and trace is not None and trace.settings:
        out["version"], out["settings"] = trace.impl_version, dict(trace.settings)
    elif info.available:
        out["version"] = info.version()
        settings = getattr(info.impl, "settings", None)
        out["settings"] = settings() if settings else {}
    return out


def compare_case(spec: Spec, base: Outcome, other: Outcome, outcomes: dict[str, Outcome],
                 tolerance: dict | None = None) -> CaseResult:
    """The verdict for `other` against `base` on one spec, with which side is closer to an
    oracle among `outcomes` when it fails."""
    res = verdict(spec, base, other, tolerance)
    note_closer(res, base, other, outcomes)
    return res


def verdict(spec: Spec, base: Outcome, other: Outcome,
            tolerance: dict | None = None) -> CaseResult:
    """compare_case() without the oracle: everything but `closer`."""
    res = CaseResult(spec.name, spec.dtype, other.impl, base.impl, "error",
                     seconds=other.seconds)
    for side in (other, base):
        if side.status != "ok":
            res.status = side.status
            who = "" if side is other else f"baseline {base.impl} "
            what = "not supported" if side.status == "unsupported" else "failed"
            res.message = f"{who}{what}: {side.message}"
            return res
    tol = resolve(spec.dtype, spec.tolerance, tolerance)
    for name in (base.impl, other.impl):
        declared = getattr(get(name).impl, "accuracy", None)  # numeric's looser accuracy
        tol = loosest(tol, resolve(spec.dtype, declared) if declared else None)
    res.tensors = compare_traces(spec, base.trace, other.trace, tol)
    failing = [t for t in res.tensors if not t.passed]
    if not failing:
        res.status = "pass"
        return res
    res.origin, res.consequences = failing[0], len(failing) - 1
    res.message = res.origin.message(other.impl, base.impl, spec.name, spec.dtype)
    nan_only_other = _non_finite_only_in(other.trace, base.trace, res.tensors)
    res.status = "error" if nan_only_other else "fail"
    if nan_only_other:
        res.message = f"returned NaN or Inf where {base.impl} has numbers ({nan_only_other}); " \
                      + res.message
    return res


def note_closer(res: CaseResult, base: Outcome, other: Outcome,
                outcomes: dict[str, Outcome]) -> None:
    """For a failure, which of the two is closer to the first oracle (exact, ...) that ran."""
    if res.origin is None:
        return
    for oracle in ORACLES:
        o = outcomes.get(oracle)
        if o is not None and o.status == "ok" and oracle not in (base.impl, other.impl):
            res.closer = f"{closer_side(res.origin, base.trace, other.trace, o.trace)} " \
                         f"(closer to {oracle})"
            return


def _non_finite_only_in(other, base, tensors: list[TensorDiff]) -> str:
    """The first tensor where `other` has NaN/Inf and the baseline a finite number, or ''."""
    for t in tensors:
        if t.nan_mismatch or t.inf_mismatch:
            a = value_of(other, t.step, t.quantity, t.layer)
            b = value_of(base, t.step, t.quantity, t.layer)
            if np.any(~np.isfinite(a) & np.isfinite(b)):
                return t.label
    return ""


def environment() -> dict:
    """The machine and software a run happened on."""
    return {"harness": __version__, "python": platform.python_version(),
            "platform": platform.platform(), "machine": platform.machine(),
            "processor": platform.processor(), "numpy": np.__version__,
            "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count()}
