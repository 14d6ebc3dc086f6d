"""From a root cause to the claim a maintainer is shown: the most convincing input that still
reproduces it, whether it needs its upstream gradient, and the absolute error allowed there.

The root-cause search claims the implementation's value at the worst element's input, which
may be extreme (d = -745, an exact value that is subnormal). Here the implementation runs
again, on one-neuron specs at round inputs between that one and 1 in magnitude (one call:
trace_many where it has it), each judged against the exact oracle like a probe; the least
extreme input that still shows the same symptom is claimed (for lost digits, the largest
relative error among moderate inputs, 0.1 to 10 in magnitude). A derivative's claim is first
tried with an upstream gradient of 1: only when that no longer reproduces does the claim say
it needs the case's own.
"""

from __future__ import annotations

import math

import numpy as np

from ..compare import value_of
from ..errors import HarnessError
from ..judge import judge, tolerances
from ..runner import run_many, run_one, traces_many
from ..signature import FORMATS, RootCause
from ..spec import spec_from_dict
from ..tolerance import bound, magnitudes
from .snippet import Claim

ROUND = (1e-12, 1e-8, 1e-6, 1e-4, 1e-3, 0.01, 0.1, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 20.0,
         25.0, 30.0, 40.0, 50.0, 100.0, 300.0, 700.0, 1e3, 1e4, 1e6, 1e10, 1e20, 1e30)
MODERATE = (0.1, 10.0)  # inputs where lost digits persuade best: the largest error among them
TARGET = {"f": ("h", (0, 0)), "t": ("v", (0, 0)), "fe": ("loss", ())}


def _exact(function: str, slope: float):
    from ..probes import mpmath_and_exact
    mp, E = mpmath_and_exact()
    return mp, E.activations(slope)[function]


def _doc(cause: RootCause, d: float, upstream: float) -> dict | None:
    """cause's one-neuron spec moved to input d (and, for t, that upstream gradient)."""
    doc = dict(cause.spec)
    width = len(doc["layers"][0]["weights"])
    layer = doc["layers"][0]
    mp, (f_mp, _) = _exact(cause.function, layer.get("slope", 0.01))
    with mp.workdps(60):
        fu = float(f_mp(mp.mpf(d)))
    y = 0.0 if cause.part == "f" else fu - upstream
    with np.errstate(all="ignore"):
        y = float(np.asarray(y, dtype=cause.dtype))
    if not math.isfinite(y):
        return None
    doc.update(inputs=[[d]], targets=[[y] * width], name=f"convincing-{cause.function}")
    return doc


def _upstream(cause: RootCause) -> float:
    """The upstream gradient p of a derivative's probe: its target is f(d) - p."""
    layer = cause.spec["layers"][0]
    mp, (f_mp, _) = _exact(cause.function, layer.get("slope", 0.01))
    with mp.workdps(60):
        return float(f_mp(mp.mpf(cause.at))) - cause.spec["targets"][0][0]


def _value(part: str, trace, y: float) -> float:
    layer = trace.steps[0].layers[0]
    if part == "f":
        return float(layer.h[0, 0])
    te = float(layer.h[0, 0]) - y
    return float(layer.v[0, 0]) / te if te else float(layer.v[0, 0])


def _allowed(spec, exact_trace, part: str, index: tuple, scale: float = 1.0) -> float:
    """The tolerance model's bound at the probed element, the exact trace as the baseline;
    a derivative's divided by |te| (v = te t)."""
    quantity = {"f": "h", "t": "v", "fe": "loss", "te": "v"}[part]
    tol = tolerances(spec, "exact", "exact")
    m = magnitudes(spec, exact_trace)[0][(quantity, None if quantity == "loss" else 0)]
    m = np.broadcast_to(m, np.shape(value_of(exact_trace, 0, quantity,
                                             None if quantity == "loss" else 0)))
    phase = "forward" if part in ("f", "fe") else "backward"
    return float(bound(np, m[index], tol[phase])) / (abs(scale) or 1.0)


def _judged(impl: str, docs: list[dict], part: str, tolerance) -> list:
    """(reproduces, value, exact outcome, spec) per doc, the implementation in one call."""
    specs = []
    for doc in docs:
        try:
            specs.append(spec_from_dict(doc))
        except HarnessError:
            specs.append(None)
    good = [s for s in specs if s is not None]
    outs = (run_many(impl, good) if traces_many(impl) else None) or \
        [run_one(impl, s) for s in good]
    mine = iter(outs)
    out = []
    for spec in specs:
        if spec is None:
            out.append((False, None, None, None))
            continue
        own, exact = next(mine), run_one("exact", spec)
        if own.status != "ok" or exact.status != "ok":
            out.append((False, None, exact, spec))
            continue
        o = judge(spec, exact, own, tolerance=tolerance).origin
        hit = o is not None and (o.step, o.quantity, o.layer) == (0, TARGET[part][0], 0)
        out.append((hit, _value(part, own.trace, float(spec.targets[0, 0])), exact, spec))
    return out


def _symptom(value: float, exact: float) -> str:
    probe = RootCause("", "", "", "float64", {}, 0.0, value, repr(exact), True, "")
    return probe.symptom


def convincing(cause: RootCause, tolerance=None) -> tuple[RootCause, float, float]:
    """(the claim at the least extreme input that reproduces it with the same symptom (lost
    digits: the largest error at a moderate input), the upstream gradient it needs (1.0:
    none), the absolute error allowed there)."""
    if cause.part not in ("f", "t") or cause.spec is None:
        return cause, 1.0, element_allowed(cause)
    at = cause.at
    p0 = _upstream(cause) if cause.part == "t" else 1.0
    sign = -1.0 if at < 0 else 1.0
    big = FORMATS[cause.dtype][1]
    tiny = math.ldexp(1.0, big)
    near = {float(math.floor(abs(at))), float(math.ceil(abs(at)))} if 1 < abs(at) < 1e6 \
        else set()  # the input rounded either way: -38 rather than -37.429947750237048
    moves = {m for m in ROUND if abs(at) > 0 and
             min(abs(at), 1.0) <= m <= max(abs(at), 1.0) and m != abs(at)} | near
    if cause.symptom == "lost relative precision":  # any moderate round input may show more
        moves |= {m for m in ROUND if MODERATE[0] <= m <= MODERATE[1]}
    moves = sorted(moves, key=lambda m: abs(math.log10(m)))
    tries = [(sign * m, 1.0) for m in moves] + [(at, 1.0)]
    if abs(p0 - 1.0) > 1e-9 * max(1.0, abs(p0)):
        tries += [(sign * m, p0) for m in moves] + [(at, p0)]
    docs = [(d, p, _doc(cause, d, p)) for d, p in tries]
    docs = [(d, p, doc) for d, p, doc in docs if doc is not None]
    judged = _judged(cause.impl, [doc for _, _, doc in docs], cause.part, tolerance)
    mp, (f_mp, t_mp) = _exact(cause.function, cause.spec["layers"][0].get("slope", 0.01))
    found = []
    for (d, p, doc), (hit, value, exact, spec) in zip(docs, judged):
        if not hit:
            continue
        with mp.workdps(60):
            truth = (f_mp if cause.part == "f" else t_mp)(mp.mpf(d))
            digits = mp.nstr(truth, 20)
        if _symptom(value, float(truth)) != cause.symptom or 0 < abs(float(truth)) < tiny:
            continue
        claim = RootCause(cause.impl, cause.function, cause.part, cause.dtype, {"d": d}, d,
                          value, digits, True, cause.explains, doc, width=cause.width)
        scale = 1.0 if cause.part == "f" else float(exact.trace.steps[0].layers[0].h[0, 0]) - \
            float(spec.targets[0, 0])
        found.append((claim, p, _allowed(spec, exact.trace, cause.part, (0, 0), scale)))
    if not found:
        return cause, p0, element_allowed(cause)
    moderate = [f for f in found if MODERATE[0] <= abs(f[0].at) <= MODERATE[1]
                and f[0].at != at]
    if cause.symptom == "lost relative precision" and moderate:  # the largest error there
        return max(moderate, key=lambda f: f[0].rel_error)
    return found[0]


def element_allowed(cause: RootCause) -> float:
    """The allowed error of the claim as found (its own spec through the exact oracle)."""
    spec = spec_from_dict(cause.spec)
    exact = run_one("exact", spec)
    if exact.status != "ok":
        return 0.0
    if cause.part in ("f", "t"):
        scale = 1.0 if cause.part == "f" else float(exact.trace.steps[0].layers[0].h[0, 0]) - \
            float(spec.targets[0, 0])
        return _allowed(spec, exact.trace, cause.part, (0, 0), scale)
    if cause.part == "fe":
        return _allowed(spec, exact.trace, "fe", ())
    return _allowed(spec, exact.trace, "te", (0, te_index(cause)))


def te_index(cause: RootCause) -> int:
    """Which output's te the claim is: the one whose exact value has the claim's digits."""
    spec = spec_from_dict(cause.spec)
    exact = run_one("exact", spec)
    if exact.status != "ok":
        return 0
    v = np.asarray(exact.trace.steps[0].layers[0].v[0], dtype=np.float64)
    return int(np.argmin(np.abs(v - float(cause.exact))))


def claim_of(cause: RootCause, tolerance=None) -> tuple[Claim, RootCause]:
    """The reproducer's Claim of a root cause (at its most convincing input) and the
    RootCause it states."""
    shown, p, allowed = convincing(cause, tolerance)
    doc = shown.spec
    layer = doc["layers"][0]
    width = len(layer["weights"])
    if shown.part in ("f", "t"):
        return Claim(shown.impl, shown.function, shown.part, shown.dtype,
                     ((shown.at,) * width,), shown.exact, allowed, upstream=p,
                     slope=layer.get("slope", 0.01)), shown
    j = te_index(shown) if shown.part == "te" else 0
    return Claim(shown.impl, shown.function, shown.part, shown.dtype,
                 (tuple(doc["inputs"][0]),), shown.exact, allowed,
                 y=(tuple(doc["targets"][0]),), J=j, through=layer["activation"]), shown
