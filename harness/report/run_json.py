"""run.json: every verdict with its origin, each quantity's worst figures, the tolerance
model, as standard JSON (non-finite numbers spelled as strings)."""

from __future__ import annotations

import math

import numpy as np

from .. import __version__
from ..compare import TensorDiff
from ..conformance import RunResult, environment
from ..spec import ALL_DTYPES
from ..tolerance import BACKWARD_K, FORWARD_K, LOW_PRECISION_K, default_tolerances
from .tables import DIVERGENT, worst_of

QUANTITY_COLUMNS = ("d", "h", "outputs", "loss", "v", "grad_weights", "grad_bias", "weights",
                    "bias")


def run_document(run: RunResult, full: bool = False) -> dict:
    """The run for run.json: every verdict with its origin (all figures), each quantity's
    worst figures and, for a divergent one, every failing tensor's; with `full`, every
    tensor's figures too (summary.csv has them as a table either way)."""
    cases = []
    for r in run.results:
        c = {"case": r.case, "dtype": r.dtype, "impl": r.impl, "baseline": r.baseline,
             "status": r.status, "message": r.message, "closer": r.closer, "known": r.known,
             "blame": r.blame, "blame_reason": r.blame_reason, "exact_judged": r.exact_judged,
             "root_cause": r.root_causes[0].to_dict() if r.root_causes else None,
             "root_causes": [c.to_dict() for c in r.root_causes],
             "seconds": round(r.seconds, 6),
             "origin": _tensor_doc(r.origin) if r.origin else None,
             "consequences": r.consequences, "quantities": _quantity_docs(r.tensors)}
        if r.status in DIVERGENT:
            c["failing"] = [_tensor_doc(t) for t in r.tensors if not t.passed]
        if full:
            c["tensors"] = [_tensor_doc(t) for t in r.tensors]
        cases.append(c)
    return {"harness_version": __version__, "verdict": "pass" if run.ok else "fail",
            "counts": run.counts(), "started": run.started,
            "wall_seconds": round(run.wall_seconds, 3),
            "impl_seconds": {k: round(v, 3) for k, v in run.impl_seconds.items()},
            "environment": environment(), "baseline": run.baseline,
            "implementations": run.impls, "tolerance": tolerance_document(run),
            "detail": "full" if full else "compact", "notes": run.notes,
            "oracle": run.oracle, "findings": _findings(run), "cases": cases}


def _findings(run: RunResult) -> list[dict]:
    """The distinct root causes: one entry per cause, with the cases that show it."""
    from ..rootcause import describe
    return [{"finding": describe([sig for sig, _ in seen]),
             "signatures": [sig.to_dict() for sig in dict.fromkeys(s for s, _ in seen)],
             "cases": sorted({f"{r.case} {r.impl}" for _, r in seen})}
            for seen in run.findings().values()]


def _tensor_doc(t: TensorDiff) -> dict:
    return {"step": t.step, "layer": t.layer, "quantity": t.quantity, "phase": t.phase,
            "shape": list(t.shape), "passed": t.passed, "n_bad": t.n_bad,
            "max_abs": t.max_abs, "max_rel": t.max_rel, "max_ulp": t.max_ulp,
            "norm_rel": t.norm_rel, "worst_ratio": t.worst_ratio,
            "worst_index": list(t.worst_index), "worst_value": t.worst_value,
            "worst_baseline": t.worst_baseline, "worst_tol": t.worst_tol,
            "nan_mismatch": t.nan_mismatch, "inf_mismatch": t.inf_mismatch}


def _max(values) -> float:
    values = list(values)
    return math.nan if any(v != v for v in values) else max(values)


def _quantity_docs(tensors) -> dict:
    """Per quantity, over its steps and layers: pass, elements out, the maxima, and where
    its worst error / tolerance is."""
    out = {}
    for q in QUANTITY_COLUMNS:
        ts = [t for t in tensors if t.quantity == q]
        if not ts:
            continue
        w = worst_of(ts)
        out[q] = {"passed": all(t.passed for t in ts), "n_bad": sum(t.n_bad for t in ts),
                  "max_abs": _max(t.max_abs for t in ts), "max_rel": _max(t.max_rel for t in ts),
                  "max_ulp": _max(t.max_ulp for t in ts), "worst_ratio": w.worst_ratio,
                  "worst": {"step": w.step, "layer": w.layer, "index": list(w.worst_index)},
                  "nan_mismatch": sum(t.nan_mismatch for t in ts),
                  "inf_mismatch": sum(t.inf_mismatch for t in ts)}
    return out


def tolerance_document(run: RunResult) -> dict:
    """The tolerance model, with its default rtol and atol for each dtype the run has."""
    defaults = {dt: {p: {"rtol": t.rtol, "atol": t.atol} for p, t in default_tolerances(dt).items()}
                for dt in ALL_DTYPES if any(s.dtype == dt for s in run.specs.values())}
    return {"model": "|a - b| <= atol + rtol * M (M: magnitudes by the running error analysis "
                     "of harness/tolerance.py)",
            "forward_k": FORWARD_K, "backward_k": BACKWARD_K,
            "low_precision_k": LOW_PRECISION_K, "defaults": defaults,
            "override": run.tolerance_override}


def strict_json(o):
    """o with numpy scalars made plain and non-finite floats spelled "inf", "-inf", "nan", so
    that the file is standard JSON any parser reads. (Exact types first: a full run document
    has ~150,000 nodes.)"""
    kind = type(o)
    if kind is float:
        return o if math.isfinite(o) else ("nan" if o != o else ("inf" if o > 0 else "-inf"))
    if kind is str or kind is int or kind is bool or o is None:
        return o
    if isinstance(o, dict):
        return {str(k): strict_json(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [strict_json(v) for v in o]
    if isinstance(o, np.generic):
        return strict_json(o.item())
    if isinstance(o, float):
        return strict_json(float(o))
    return o
