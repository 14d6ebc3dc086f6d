"""The main job: specs through implementations, each trace against the baseline, verdicts out.

Implementations know nothing of comparisons; comparisons know nothing of frameworks. This
module joins them: the runner traces, the judge (harness/judge.py) gives each pair's verdict
as soon as its outcomes and the case's oracles are in, and the result feeds the reports.
"""

from __future__ import annotations

import itertools
import os
import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from . import __version__, metadata
from .errors import HarnessError
from .judge import STATUSES, Verdict, judge
from .registry import ORACLES, ImplInfo, discover, expand, get, preload
from .rootcause import explain_all
from .runner import Outcome, run_tasks
from .spec import Spec
from .trace import Trace
from .xfails import Xfail, shipped, too_broad


@dataclass
class RunResult:
    """A whole run: every verdict, the implementations, the specs and the environment."""

    results: list[Verdict]
    specs: dict[str, Spec]
    impls: dict[str, dict]
    baseline: str
    started: str
    wall_seconds: float
    impl_seconds: dict[str, float]
    tolerance_override: dict
    oracle: bool = True  # divergences judged by an oracle traced for them (not --no-oracle)
    notes: list[str] = field(default_factory=list)  # how the run went, where worth a word
    runxfail: bool = False  # no ledger applied: known deviations reported as what they are

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for r in self.results:
            out[r.status] += 1
        return out

    def findings(self) -> dict:
        """Distinct causes (rootcause.Signature.cause) -> [(signature, verdict)] of the
        failures, errors and known deviations whose root causes have it: one cause, one
        finding, however many cases, dtypes and symptoms show it."""
        out: dict = {}
        for r in self.results:
            for sig in r.signatures:
                out.setdefault(sig.cause, []).append((sig, r))
        return out

    def unused(self, entries: list[Xfail]) -> list[Xfail]:
        """The known-deviation entries that covered no verdict."""
        used = {x for r in self.results for x in r.known_by}
        return [x for x in entries if x not in used]


def choose_impls(requested: list[str] | None, baseline: str,
                 all_modes: bool = False) -> list[ImplInfo]:
    """The implementations to run, baseline first. Asked-for ones (globs expanded) must be
    available; with none asked for, every available one (the opt-in modes too with
    `all_modes`)."""
    if requested:
        names = list(dict.fromkeys([baseline, *expand(requested)]))
        preload(names)  # their workers start side by side
        infos = [get(n) for n in names]
        if all_modes:
            infos += [i for n, i in discover(modes=True).items()
                      if i.available and i not in infos]
        named = {baseline} | set(expand([r for r in requested if not any(c in r for c in "*?[")]))
        missing = [i for i in infos if not i.available and i.name in named]
        if missing:
            raise HarnessError(f"implementation {missing[0].name!r} is unavailable: "
                               f"{missing[0].reason}")
        return [i for i in infos if i.available]
    base = get(baseline)
    if not base.available:
        raise HarnessError(f"baseline {baseline!r} is unavailable: {base.reason}")
    return [base] + [i for n, i in discover(modes=all_modes).items()
                     if n != baseline and i.available]


def run_suite(specs: list[Spec], impls: list[str] | None = None, baseline: str = "reference",
              pairwise: bool = False, jobs: int = 1, timeout: float | None = None,
              tolerance: dict | None = None, progress=None,
              xfails: list[Xfail] | None = None, strict: bool = False,
              all_modes: bool = False, oracle: bool = True,
              runxfail: bool = False) -> RunResult:
    """Trace every spec with every implementation and judge each pair; see RunResult.

    `progress(total)` may return a callback that is called with each finished Outcome.
    A failure that `xfails` (or the implementation's shipped list) names is a known
    deviation: status "xfail", reported but not counted against the run; a pass that one
    expected to fail is "xpass" (with `strict`, a failure); with `runxfail` no list applies
    and a known deviation is reported as what it is (pytest's --runxfail). With `oracle`, each divergence
    is judged by an oracle (traced for the diverging cases alone when the run holds none)
    and reduced to its root causes (harness/rootcause.py); without, only those a signature
    entry of the ledger may name are reduced."""
    names = [s.name for s in specs]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise HarnessError(f"two cases are named {dup!r}; case names must be unique")
    infos = choose_impls(impls, baseline, all_modes)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    tasks = [(info.name, spec) for spec in specs for info in infos]
    pairs = [(baseline, i.name) for i in infos if i.name != baseline]
    if pairwise:
        pairs = list(itertools.combinations([i.name for i in infos], 2))
    if not pairs:
        raise HarnessError(f"nothing to compare: {baseline} is the baseline and no other "
                           f"implementation is available or named")
    known = {i.name: [] if runxfail else (xfails or []) + shipped(i.impl) for i in infos}
    broad = next((w for w in (too_broad(v, names) for v in known.values()) if w), "")
    if broad:
        raise HarnessError(broad)
    oracles = [i.name for i in infos if i.name in ORACLES]
    by_case: dict[str, dict[str, Outcome]] = {}
    verdicts: dict[tuple, Verdict] = {}
    spec_of = {s.name: s for s in specs}
    shown = progress(len(tasks)) if progress else None

    def done(o: Outcome) -> None:
        """Judge every pair of this case whose outcomes and oracles are all in, while the
        other tasks still run."""
        outs = by_case.setdefault(o.case, {})
        outs[o.impl] = o
        for a, b in pairs:
            key = (o.case, a, b)
            if key not in verdicts and all(n in outs for n in (a, b, *oracles)):
                verdicts[key] = judge(spec_of[o.case], outs[a], outs[b], tolerance=tolerance,
                                      oracles=outs, known=known[b], strict=strict)
        if shown:
            shown(o)

    outcomes = run_tasks(tasks, jobs, timeout, done)
    keys = list(verdicts)
    items = [(spec_of[case], by_case[case][a], by_case[case][b], verdicts[(case, a, b)],
              known[b], by_case[case]) for case, a, b in keys]
    verdicts.update(zip(keys, explain_all(items, tolerance=tolerance, strict=strict,
                                          oracle=oracle)))
    results = [verdicts[(spec.name, a, b)] for spec in specs for a, b in pairs]
    impl_seconds = {i.name: sum(o.seconds for o in outcomes if o.impl == i.name) for i in infos}
    traced = {}
    for o in outcomes:
        if o.trace is not None:
            traced.setdefault(o.impl, o.trace)
    described = {n: describe(i, traced.get(n)) for n, i in
                 (discover(modes=all_modes).items() if not impls
                  else ((i.name, i) for i in infos))}
    notes = list(dict.fromkeys(f"{o.impl}: {o.note}" for o in outcomes if o.note))
    notes += [f"{n}: {d['problem']}" for n, d in described.items() if d.get("problem")]
    return RunResult(results, {s.name: s for s in specs}, described, baseline, started,
                     time.perf_counter() - t0, impl_seconds, tolerance or {}, oracle, notes,
                     runxfail)


def describe(info: ImplInfo, trace: Trace | None = None) -> dict:
    """Name, version, availability and numerical settings of one implementation: from one of
    its traces when the run has one (what it reported where it ran, a worker process under
    --jobs, so that describing the run imports no framework into this process)."""
    out = {"available": info.available, "reason": info.reason, "target": info.target,
           "version": "", "settings": {}, "supports": info.supports}
    if info.available and trace is not None and trace.settings:  # checked by check_trace
        out["version"], out["settings"] = trace.impl_version, dict(trace.settings)
    elif info.available:
        out["version"], out["settings"], problem = metadata.read(info.impl)
        if problem:
            out["problem"] = problem
    return out


def environment() -> dict:
    """The machine and software a run happened on."""
    return {"harness": __version__, "python": platform.python_version(),
            "platform": platform.platform(), "machine": platform.machine(),
            "processor": platform.processor(), "numpy": np.__version__,
            "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count()}
