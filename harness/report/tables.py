"""The run as tidy pandas tables (summary.csv, mismatches.csv, the case table) and the
figures and sentences every format writes the same way: error / tolerance, |diff|, relative
error and ULPs as display strings (NaN and Inf as words), the verdict sentence, the counts
per implementation, the order of the cases."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from impls.reference.dtypes import dtype as np_dtype

from .. import svg
from ..compare import TensorDiff
from ..conformance import RunResult
from ..judge import Verdict

MAX_MISMATCH_ROWS = 10_000
# the docs pages a report cites, as paths in the repository (mkdocs.yml has no site_url to give
# them a URL; tests/test_docs.py checks that each page and heading exists)
DOCS = {"tolerances": "docs/tolerances.md#the-pass-rule", "files": "docs/reports.md#the-files"}
DIVERGENT = ("fail", "error", "xfail")  # out of tolerance (or failed), known or not
STATUS_TEXT = {"pass": "pass", "fail": "FAIL", "error": "ERROR", "unsupported": "not supported",
               "xfail": "known deviation", "xpass": "unexpected pass"}
NOTES = {
    "undefined": "— undefined: the baseline value is 0 where the two differ, so there is no "
                 "relative error, and a distance in ULPs from 0 measures nothing.",
    "nonfinite": "NaN, Inf on one side: one side computed NaN (or an infinity) where the other "
                 "has a number (or the opposite infinity). Such an element has no error size; it "
                 "counts as out of tolerance.",
    "zero": "∞ (tolerance 0): the tolerance there is 0, exact agreement, and the values "
            "differ.",
}


def summary_table(run: RunResult) -> pd.DataFrame:
    """One row per case x implementation x step x layer x quantity (a case that did not
    compare gets one row with its status and no quantity)."""
    rows = []
    for r in run.results:
        head = {"case": r.case, "dtype": r.dtype, "impl": r.impl, "baseline": r.baseline,
                "status": r.status}
        if not r.tensors:
            rows.append(head)
        for t in r.tensors:
            rows.append({**head, "step": t.step, "layer": t.layer, "quantity": t.quantity,
                         "phase": t.phase, "n": int(np.prod(t.shape)), "n_bad": t.n_bad,
                         "passed": t.passed, "max_abs": t.max_abs, "max_rel": t.max_rel,
                         "max_ulp": t.max_ulp, "norm_rel": t.norm_rel,
                         "worst_ratio": t.worst_ratio,
                         "worst_index": ",".join(map(str, t.worst_index)),
                         "is_origin": t is r.origin})
    df = pd.DataFrame(rows)
    for col in ("step", "layer", "n", "n_bad"):
        if col in df:
            df[col] = df[col].astype("Int64")
    return df


MISMATCH_COLUMNS = ["case", "impl", "baseline", "step", "layer", "quantity", "index", "value",
                    "baseline_value", "abs_err", "rel_err", "ulp", "tol"]


def mismatch_table(run: RunResult) -> pd.DataFrame:
    """Out-of-tolerance elements, at most MAX_MISMATCH_ROWS in all; step and layer are
    integers (empty for the final parameters and for u, e)."""
    rows = []
    for r in run.results:
        for t in r.tensors:
            for m in t.mismatches:
                if len(rows) >= MAX_MISMATCH_ROWS:
                    break
                rows.append({"case": r.case, "impl": r.impl, "baseline": r.baseline,
                             "step": t.step, "layer": t.layer, "quantity": t.quantity,
                             "index": ",".join(map(str, m["index"])), "value": m["value"],
                             "baseline_value": m["baseline"], "abs_err": m["abs_err"],
                             "rel_err": m["rel_err"], "ulp": m["ulp"], "tol": m["tol"]})
    df = pd.DataFrame(rows, columns=MISMATCH_COLUMNS)
    for col in ("step", "layer"):
        df[col] = df[col].astype("Int64")
    return df


def _num(v: float, digits: int = 3) -> str:
    if not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Inf" if v > 0 else "-Inf")
    return f"{v:.{digits}g}"


def special(t: TensorDiff) -> str:
    """How a tensor's worst error reads when it is not a number: 'NaN' (NaN on one side),
    'Inf on one side', '∞ (tolerance 0)'; '' when its figures are plain numbers."""
    if t.nan_mismatch:
        return "NaN"
    if t.inf_mismatch:
        return "Inf on one side"
    if not t.worst_ratio < svg.HUGE:
        return "∞ (tolerance 0)"
    return ""


def _rank(t: TensorDiff) -> float:
    """Worst first: NaN/Inf on one side above every number."""
    return math.inf if special(t) else t.worst_ratio


def worst_of(tensors) -> TensorDiff:
    return max(tensors, key=_rank)


def count(n: int, noun: str) -> str:
    """'1 case', '2 cases', '1 known deviation', '3 unexpected passes'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{'es' if noun.endswith('s') else 's'}"


def figures(tensors) -> dict:
    """Display strings for the worst over `tensors`: error / tolerance, where (the tensor and
    element) and |diff| there; the largest relative error and ULP distance; and `notes`, the
    footnotes (NOTES keys) they need."""
    tensors = list(tensors)
    worst = worst_of(tensors)
    label = special(worst)
    notes = set()
    if label:
        notes.add("zero" if label.startswith("∞") else "nonfinite")
        out = dict.fromkeys(("ratio", "abs", "rel", "ulp"), label)
        out.update(abs=_diff_at_worst(worst))
    else:
        zero_base = any(t.max_rel == math.inf for t in tensors)
        if zero_base:
            notes.add("undefined")
        out = {"ratio": _num(worst.worst_ratio), "abs": _diff_at_worst(worst),
               "rel": "—" if zero_base else _num(max(t.max_rel for t in tensors)),
               "ulp": "—" if zero_base else _num(max(t.max_ulp for t in tensors))}
    at = f"{worst.label}, {worst.where()}" if worst.worst_index else worst.label
    out.update(at=at, n_bad=sum(t.n_bad for t in tensors),
               n=sum(math.prod(t.shape) for t in tensors), notes=notes)
    return out


def _value(v: float, dtype: str) -> str:
    """A traced value with the shortest digits that identify it in the dtype."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return str(np_dtype(dtype).type(v))


def _diff_at_worst(t: TensorDiff) -> str:
    """|diff| at a tensor's worst element (the one measured against its tolerance)."""
    label = special(t)
    return _num(t.max_abs_at_worst) if not label or label.startswith("∞") else label


def closer_text(closer: str) -> str:
    """Verdict.closer ("reference (closer to exact)") as 'exact sides with reference'."""
    m = re.fullmatch(r"(.*) \(closer to (.*)\)", closer or "")
    if not m:
        return closer or ""
    side, oracle = m.groups()
    if side == "tie":
        return f"{oracle}: a tie"
    if side == "neither":
        return f"{oracle}: neither side is a finite number"
    return f"{oracle} sides with {side}"


def case_table(run: RunResult) -> pd.DataFrame:
    """One row per case x implementation, as text: verdict, worst figures, origin."""
    rows = []
    for r in run.results:
        row = {"case": r.case, "implementation": side(r, run), "verdict": _status(r.status)}
        if r.tensors:
            f = figures(r.tensors)
            row.update({"worst error / tolerance": f["ratio"], "worst at": f["at"],
                        "|diff| there": f["abs"], "largest relative error": f["rel"],
                        "largest ULP distance": f["ulp"],
                        "elements out": f"{f['n_bad']} of {f['n']}"})
        row["origin"] = r.origin.label if r.origin else ""
        row["note"] = r.message if r.status in ("error", "unsupported") else \
            (f"known deviation: {r.known}" if r.known else closer_text(r.closer))
        rows.append(row)
    return pd.DataFrame(rows).fillna("")


def _status(status: str) -> str:
    return STATUS_TEXT.get(status, status)


def _divergent(run: RunResult) -> list[Verdict]:
    """What a person has to look at: failures and errors, then known deviations, then
    unexpected passes (a known deviation that did not happen), each in suite order."""
    order = {"fail": 0, "error": 0, "xfail": 1, "xpass": 2}
    return sorted((r for r in run.results if r.status in order), key=lambda r: order[r.status])


def verdict_sentence(run: RunResult) -> tuple[str, str]:
    """('PASS' or 'FAIL', one sentence that says whether they agree)."""
    counts = run.counts()
    compared = len(run.results) - counts["unsupported"]
    bad = counts["fail"] + counts["error"]
    errors = f" ({counts['error']} of them {'an error' if counts['error'] == 1 else 'errors'})" \
        if counts["error"] else ""
    disagree = "disagrees" if bad == 1 else "disagree"
    if len({r.baseline for r in run.results}) > 1:  # --pairwise
        if not run.ok:
            return "FAIL", f"{bad} of {count(compared, 'pair')} compared {disagree}{errors}."
        return "PASS", (f"{_all_agree(compared, 'pair', ' compared')} within tolerance"
                        + (f", except {count(counts['xfail'], 'known deviation')}."
                           if counts["xfail"] else "."))
    if not run.ok:
        return "FAIL", (f"{bad} of {count(compared, 'comparison')} {disagree} with the "
                        f"baseline {run.baseline}{errors}.")
    if counts["xfail"]:
        return "PASS", (f"Every comparison agrees with the baseline {run.baseline} within "
                        f"tolerance, except {count(counts['xfail'], 'known deviation')} "
                        f"(listed below).")
    if counts.get("xpass"):
        return "PASS", (f"{_all_agree(compared, 'comparison')} with the baseline "
                        f"{run.baseline} within tolerance, {counts['xpass']} of them where a "
                        f"known deviation was expected (listed below).")
    return "PASS", (f"{_all_agree(compared, 'comparison')} with the baseline {run.baseline} "
                    f"within tolerance.")


def _all_agree(n: int, noun: str, after: str = "") -> str:
    """'All 5 comparisons agree', 'The one comparison agrees'."""
    return f"All {count(n, noun)}{after} agree" if n != 1 else f"The one {noun}{after} agrees"


def side(r: Verdict, run: RunResult) -> str:
    """Who a verdict compares: its implementation, or "jax vs torch" where its baseline is not
    the run's (a pairwise comparison, --pairwise)."""
    return r.impl if r.baseline == run.baseline else f"{r.impl} vs {r.baseline}"


def _per_impl(run: RunResult) -> list[str]:
    """'torch: 59 agree', 'bug-sign: 4 FAIL, 5 agree', 'jax vs torch: 59 agree', one per
    implementation compared (and pair, in a pairwise run)."""
    out = []
    for name in dict.fromkeys(side(r, run) for r in run.results):
        mine = [r for r in run.results if side(r, run) == name]
        parts = []
        for status, text in (("fail", "FAIL"), ("error", "ERROR"), ("xfail", "known deviation"),
                             ("xpass", "unexpected pass"), ("pass", "agree"),
                             ("unsupported", "not supported")):
            n = sum(r.status == status for r in mine)
            if n:
                parts.append(count(n, text) if status in ("xfail", "xpass") else f"{n} {text}")
        out.append(f"{name}: {', '.join(parts)}")
    return out


def _spec_line(spec) -> str:
    acts = ", ".join(layer.activation for layer in spec.layers)
    steps = f"{spec.steps} step{'s' if spec.steps != 1 else ''}"
    text = (f"network {spec.arch} ({acts}), {spec.dtype}, loss {spec.loss} ({spec.reduction}), "
            f"batch {spec.batch}, {steps}, learning rate {spec.learning_rate:g}.")
    return f"{text} {spec.description}".strip()


def _case_rank(statuses: set) -> int:
    """0: a failure or error; 1: a known deviation; 2: nothing to look at."""
    return 0 if statuses & {"fail", "error"} else (1 if statuses & {"xfail", "xpass"} else 2)


def _cases_in_order(run: RunResult) -> list[str]:
    """Cases with failures or errors first, then those with known deviations, then the
    others, each in suite order."""
    statuses: dict[str, set] = {case: set() for case in run.specs}
    for r in run.results:
        statuses[r.case].add(r.status)
    return sorted(run.specs, key=lambda case: _case_rank(statuses[case]))
