"""The root cause of a divergence at one neuron: the smallest claim the implementation itself
reproduces, found by running it, never guessed from a case's name.

A divergence's failing tensors are visited in computation order. The worst element of each
becomes probes, one-neuron specs (a 1-1 network, batch 1, one step; one sample of the n
outputs for a loss) that isolate one function of the seed's formulas at the very input the
implementation met there (its own d, u, x, v); harness/probes.py lists which quantity
probes which function.

The implementation traces every probe through the ordinary contract (trace_many, else trace),
the exact oracle too, and the probe is judged like any case: it reproduces when it fails with
its origin at the probed quantity. The claim then holds the implementation's value of that
function at that input and mpmath's (60 digits). For the origin, no reproducing probe means a
divergence that does not reduce (it needs the network: accumulation order, cancellation
across neurons); for a later tensor, a consequence. A later tensor that reproduces at one
neuron with another signature is a second, independent root cause.
"""

from __future__ import annotations

from dataclasses import replace

from .compare import TensorDiff, expected_shape
from .errors import HarnessError
from .probes import Probe, groups, grown, mpmath_and_exact, probes_for
from .registry import ORACLES, get
from .runner import Outcome, run_many, run_one, traces_many
from .signature import DIGITS, RootCause, Signature, describe, region, ulp, what
from .spec import Spec, spec_from_dict
from .trace import retyped_text

__all__ = ["RootCause", "Signature", "describe", "explain", "explain_all", "region",
           "root_causes", "ulp", "what"]

MAX_TENSORS = 6  # failing tensors examined per divergence (the origin first)


# ---------------------------------------------------------------- running them

def run_probes(impl: str, probes: list[Probe]) -> dict[int, tuple[Outcome, Outcome]]:
    """id(probe) -> (exact's outcome, the implementation's) on each probe's spec; the
    implementation through trace_many when it has it (one call), else trace."""
    valid = []
    for i, p in enumerate(probes):
        try:  # each its own name: one trace_many call holds them all
            p.spec = spec_from_dict(dict(p.doc, name=f"{p.doc['name']}-{i + 1}"))
        except HarnessError:  # an input the spec format cannot hold (beyond the dtype): no probe
            continue
        valid.append(p)
    specs = [p.spec for p in valid]
    outs = (run_many(impl, specs) if traces_many(impl) else None) or \
        [run_one(impl, s) for s in specs]
    return {id(p): (run_one("exact", p.spec), o) for p, o in zip(valid, outs)}


def _reproduces(probe: Probe, exact: Outcome, own: Outcome, tolerance) -> bool:
    from .judge import judge
    if exact.status != "ok" or own.status != "ok":
        return False
    v = judge(probe.spec, exact, own, tolerance=tolerance)
    o = v.origin
    return o is not None and (o.step, o.quantity, o.layer) == probe.target


def _claim(probe: Probe, impl: str, dtype: str, own: Outcome, explains: str) -> RootCause:
    mp, _ = mpmath_and_exact()
    exact = probe.exact(own.trace) if probe.part == "update" else probe.exact
    with mp.workdps(60):
        digits = mp.nstr(exact(), DIGITS)
    return RootCause(impl, probe.function, probe.part, dtype, probe.inputs, probe.at,
                     probe.value(own.trace), digits, True, explains, probe.doc,
                     operands=probe.operands, width=probe.width, label=probe.label,
                     batch=probe.batch)


def not_reduced(impl: str, spec: Spec, origin: TensorDiff, tried: list[Probe],
                why: str = "") -> RootCause:
    """The origin's claim when no probe reproduced it: it needs the network."""
    parts = ", ".join(dict.fromkeys(what(p.function, p.part) for p in tried)) or "none"
    note = why or (f"does not reduce to one neuron: the one-neuron probes ({parts}) conform, "
                   f"so it needs the network (accumulation order, cancellation across "
                   f"neurons or samples)")
    return RootCause(impl, "network", origin.quantity, spec.dtype, {}, origin.worst_baseline,
                     origin.worst_value, repr(origin.worst_baseline), False, origin.label,
                     note=note)


def plan(spec: Spec, tensors: list[TensorDiff], side: Outcome) -> list[Probe]:
    """Every probe of a divergence whose failing `tensors` (the origin first) are the
    implementation `side`'s, in order."""
    if not tensors or side.trace is None:
        return []
    out = []
    for k, t in enumerate(tensors[:MAX_TENSORS]):
        for g, index in enumerate(groups(spec, side.trace, t)):
            for p in probes_for(k, spec, side.trace, t, index):
                p.group = g
                out.append(p)
    return out


def root_causes(spec: Spec, tensors: list[TensorDiff], side: Outcome,
                tolerance: dict | None = None, probes: list[Probe] | None = None,
                results: dict | None = None) -> tuple[RootCause, ...]:
    """The independent root causes of that divergence: for each tensor, the first probe of
    each group of its failing elements (probes.groups) that reproduces; a signature already
    found is a consequence; the origin unreduced when none of its probes reproduces. `probes` and `results` come from plan()
    and run_probes() when the caller batches the probes of many divergences."""
    if not tensors or side.trace is None or not get("exact").available:
        return ()
    if probes is None:
        probes = plan(spec, tensors, side)
        results = run_probes(side.impl, probes)
    found: list[RootCause] = []
    for k, t in enumerate(tensors[:MAX_TENSORS]):
        mine = [p for p in probes if p.tensor == k]
        hits = [next((p for p in mine if p.group == g and id(p) in results
                      and _reproduces(p, *results[id(p)], tolerance)), None)
                for g in dict.fromkeys(p.group for p in mine)]
        if not any(hits) and k == 0:
            found.append(not_reduced(side.impl, spec, t, mine))
        elif k == 0:  # an origin's group that no probe reproduces is no consequence: unnamed
            for g, hit in zip(dict.fromkeys(p.group for p in mine), hits):
                tried = [p for p in mine if p.group == g]
                if hit is None and tried:
                    args = ", ".join(f"{a} = {v}" for a, v in tried[0].inputs.items())
                    found.append(not_reduced(side.impl, spec, t, tried, (
                        f"the failing elements at {args} do not reduce to one neuron: the "
                        f"probes ({', '.join(dict.fromkeys(what(p.function, p.part) for p in tried))}) "
                        f"conform there")))
        for hit in filter(None, hits):
            cause = _claim(hit, side.impl, spec.dtype, results[id(hit)][1], t.label)
            if all(cause.signature != c.signature for c in found):
                found.append(cause)
    return tuple(found)


# ---------------------------------------------------------------- the verdicts' "why"

DIVERGENT = ("fail", "error", "xfail")


def oracle_outcomes(spec: Spec) -> dict[str, Outcome]:
    """The exact oracle's outcome on the spec, and numeric's where exact cannot run."""
    out = {}
    for name in ORACLES:
        if get(name).available:
            out[name] = run_one(name, spec)
            if out[name].status == "ok":
                break
    return out


def explain(spec: Spec, base: Outcome, other: Outcome, verdict, *, known=(),
            tolerance: dict | None = None, strict: bool = False, oracles: dict | None = None,
            cache: dict | None = None, oracle: bool = True):
    """explain_all() of one verdict."""
    return explain_all([(spec, base, other, verdict, known, oracles)], tolerance=tolerance,
                       strict=strict, cache=cache, oracle=oracle)[0]


def explain_all(items: list, *, tolerance: dict | None = None, strict: bool = False,
                cache: dict | None = None, oracle: bool = True) -> list:
    """Each divergent verdict of `items` ((spec, base, other, verdict, known, oracles) each)
    judged by an oracle (exact, else numeric; traced here, for that case only, when the run
    holds none) and given its root causes (root_causes(), run on the side the oracle blames),
    known deviations by signature applied; every other verdict as it is: nothing is traced
    when nothing diverges. The probes of all of them run in one call per implementation (one
    XLA program for jax's). `cache` keeps each case's oracle outcomes across calls. Without
    `oracle` (--no-oracle) nothing is blamed and only divergences of an implementation whose
    ledger has signature entries are reduced: a known deviation stays known."""
    from .judge import judge, with_causes
    cache = {} if cache is None else cache
    out, todo = [], []
    for spec, base, other, verdict, known, oracles in items:
        if oracle and verdict.status in DIVERGENT and verdict.origin is not None:
            oracles = dict(oracles or {})
            if not any(o.status == "ok" and n not in (base.impl, other.impl)
                       for n, o in oracles.items() if n in ORACLES):
                if spec.name not in cache:
                    cache[spec.name] = oracle_outcomes(spec)
                oracles.update(cache[spec.name])
                verdict = judge(spec, base, other, tolerance=tolerance, oracles=oracles,
                                known=known, strict=strict)
        out.append(verdict)
        wanted = oracle or any(x.signature for x in known)
        if wanted and verdict.status in DIVERGENT and verdict.origin is not None:
            side = base if verdict.blame == "a-wrong" else other
            failing = [t for t in verdict.tensors if not t.passed]
            todo.append((len(out) - 1, spec, side, failing, known))
    if not todo or not get("exact").available:
        return out
    plans = {k: plan(spec, failing, side) for k, spec, side, failing, _ in todo}
    impl_of = {k: side.impl for k, _, side, _, _ in todo}
    results: dict = {}

    def run(chosen: dict) -> None:  # {k: probes}: one call per implementation
        for impl in dict.fromkeys(impl_of.values()):
            results.update(run_probes(impl, [p for k, ps in chosen.items()
                                             if impl_of[k] == impl for p in ps]))

    run({k: [p for p in ps if p.width == 1] for k, ps in plans.items()})
    # the wide probes only for an origin that no one-neuron probe reproduced (a later
    # tensor's are mostly consequences: not worth a second program)
    run({k: [p for p in ps if p.width > 1 and p.tensor == 0 and not any(
        q.tensor == 0 and q.group == p.group and id(q) in results
        and _reproduces(q, *results[id(q)], tolerance)
        for q in ps if q.width == 1)] for k, ps in plans.items()})
    # a reduction over the batch: the origin's probes again with the case's batch, for an
    # origin whose one-sample probes all conform, before saying "does not reduce"
    more = {}
    for k, spec, side, failing, known in todo:
        ps = plans[k]
        if not any(q.tensor == 0 and id(q) in results and _reproduces(q, *results[id(q)],
                                                                      tolerance) for q in ps):
            more[k] = [g for g in (grown(p, spec) for p in ps if p.tensor == 0
                                   and p.width == 1) if g is not None]
            plans[k] = ps + more[k]
    if any(more.values()):
        run(more)
    for k, spec, side, failing, known in todo:
        causes = root_causes(spec, failing, side, tolerance, plans[k], results)
        out[k] = with_causes(out[k], demotion_causes(spec, side) + causes, known)
    return out


# ---------------------------------------------------------------- a demoted dtype
# A trace that came back in another float dtype than its spec's (compare.check_trace lists it
# in trace.retyped) reduced to the function that returned it, at one neuron: "tanh's f returns
# float32 for float64 input". The probes are the root causes' own for the first retyped
# quantity; one reproduces when the implementation's trace of it comes back retyped there.

def demotion_causes(spec: Spec, side: Outcome) -> tuple[RootCause, ...]:
    """The function that returned the first retyped array, reproduced at one neuron; where no
    probe reproduces, the claim that it needs the network."""
    if side.trace is None or not side.trace.retyped:
        return ()
    (step, quantity, layer), got = side.trace.retyped[0]
    shape = expected_shape(spec, quantity, layer)
    fake = TensorDiff(step, layer, quantity, shape, 0.0, 0.0, 0.0, 0.0, 0.0,
                      (0,) * len(shape), 0.0, 0.0, 0.0, 0)
    probes = [p for p in probes_for(0, spec, side.trace, fake) if p.width == 1]
    results = run_probes(side.impl, probes)
    for p in probes:
        own = results.get(id(p), (None, None))[1]
        if own is None or own.status != "ok":
            continue
        returned = dict(own.trace.retyped).get(p.target)
        if returned:
            claim = _claim(p, side.impl, spec.dtype, own, fake.label)
            return (replace(claim, returned=returned),)
    return (not_reduced(side.impl, spec, fake, probes,
                        f"{retyped_text(side.trace, spec.dtype)}: no one-neuron probe "
                        f"returns it, so it needs the network"),)
