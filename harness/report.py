"""Reports: a RunResult as tidy pandas tables and documents, written whole to reports/<run>/
or not at all.

Files: report.html (for a person: the verdict, a heat map of error / tolerance per quantity
and layer, the divergences, then the details per case with charts; self-contained, charts
inline as SVG), summary.md (the same in Markdown), summary.csv (case x impl x step x layer x
quantity), mismatches.csv (out-of-tolerance elements, capped), run.json (every verdict, its
origin and each quantity's worst figures; per-tensor figures with full=True), junit.xml, and,
when a comparison failed or was a known deviation, failing/<case>.json with the command that
reproduces it. The directory is built under a hidden temporary name holding an INCOMPLETE
marker and renamed into place at the end. NaN and Inf on either side of any quantity are
reported as such, never as a crash or an absurd number.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import shlex
import shutil
import sys
import xml.etree.ElementTree as ET
from bisect import bisect_left
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from . import svg
from .compare import TensorDiff, quantities
from .conformance import RunResult, environment
from .errors import HarnessError
from .judge import Verdict
from .spec import ALL_DTYPES
from .tolerance import BACKWARD_K, FORWARD_K, LOW_PRECISION_K, default_tolerances

MAX_MISMATCH_ROWS = 10_000
QUANTITY_COLUMNS = ("d", "h", "outputs", "loss", "v", "grad_weights", "grad_bias", "weights",
                    "bias")
QUANTITY_NAMES = {"d": "d (pre-activation)", "h": "h (activation)", "outputs": "u (output)",
                  "loss": "e (loss)", "v": "v (error signal)", "grad_weights": "∂W",
                  "grad_bias": "∂b", "weights": "updated W", "bias": "updated b"}
DIVERGENT = ("fail", "error", "xfail")  # out of tolerance (or failed), known or not
STATUS_TEXT = {"pass": "pass", "fail": "FAIL", "error": "ERROR", "unsupported": "not supported",
               "xfail": "known deviation", "xpass": "unexpected pass"}
STATUS_CLASS = {"pass": "st-pass", "fail": "st-FAIL", "error": "st-ERROR", "xfail": "st-known",
                "unsupported": "st-skip", "xpass": "st-xpass"}
FAILING_TENSOR_ROWS = 12  # per divergent comparison in report.html; summary.csv has them all
MAX_DIVERGENT_CHARTS = 40  # charts in report.html: the first divergent comparisons,
PASSING_CHARTS = 3  # and the passing cases closest to their tolerance
NOTES = {
    "undefined": "— undefined: the baseline value is 0 where the two differ, so there is no "
                 "relative error, and a distance in ULPs from 0 measures nothing.",
    "nonfinite": "NaN, Inf on one side: one side computed NaN (or an infinity) where the other "
                 "has a number (or the opposite infinity). Such an element has no error size; it "
                 "counts as out of tolerance.",
    "zero": "∞ (tolerance 0): the tolerance there is 0, exact agreement, and the values "
            "differ.",
}


# ---------------------------------------------------------------- tables

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


# ---------------------------------------------------------------- figures as text

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


def figures(tensors) -> dict:
    """Display strings for the worst over `tensors`: error / tolerance, |diff|, relative error,
    ULPs, where; and `notes`, the footnotes (NOTES keys) they need."""
    tensors = list(tensors)
    worst = worst_of(tensors)
    label = special(worst)
    notes = set()
    if label:
        notes.add("zero" if label.startswith("∞") else "nonfinite")
        out = dict.fromkeys(("ratio", "abs", "rel", "ulp"), label)
        if label.startswith("∞"):
            out.update(abs=_num(max(t.max_abs for t in tensors)))
    else:
        zero_base = any(t.max_rel == math.inf for t in tensors)
        if zero_base:
            notes.add("undefined")
        out = {"ratio": _num(worst.worst_ratio), "abs": _num(max(t.max_abs for t in tensors)),
               "rel": "—" if zero_base else _num(max(t.max_rel for t in tensors)),
               "ulp": "—" if zero_base else _num(max(t.max_ulp for t in tensors))}
    out.update(at=worst.label, n_bad=sum(t.n_bad for t in tensors),
               n=sum(math.prod(t.shape) for t in tensors), notes=notes)
    return out


def _value(v: float, dtype: str) -> str:
    """A traced value with the shortest digits that identify it in the dtype."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return str(np.dtype(dtype).type(v))


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
        row = {"case": r.case, "implementation": r.impl, "verdict": _status(r.status)}
        if r.tensors:
            f = figures(r.tensors)
            row.update({"worst error / tolerance": f["ratio"], "worst at": f["at"],
                        "worst |diff|": f["abs"], "worst relative error": f["rel"],
                        "worst ULP distance": f["ulp"],
                        "elements out": f"{f['n_bad']} of {f['n']}"})
        row["origin"] = r.origin.label if r.origin else ""
        row["note"] = r.message if r.status in ("error", "unsupported") else \
            (f"known deviation: {r.known}" if r.known else closer_text(r.closer))
        rows.append(row)
    return pd.DataFrame(rows).fillna("")


# ---------------------------------------------------------------- documents

def run_document(run: RunResult, full: bool = False) -> dict:
    """The run for run.json: every verdict with its origin (all figures), each quantity's
    worst figures and, for a divergent one, every failing tensor's; with `full`, every
    tensor's figures too (summary.csv has them as a table either way)."""
    cases = []
    for r in run.results:
        c = {"case": r.case, "dtype": r.dtype, "impl": r.impl, "baseline": r.baseline,
             "status": r.status, "message": r.message, "closer": r.closer, "known": r.known,
             "blame": r.blame, "blame_reason": r.blame_reason,
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
            "detail": "full" if full else "compact", "cases": cases}


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
    defaults = {dt: {p: {"rtol": t.rtol, "atol": t.atol} for p, t in default_tolerances(dt).items()}
                for dt in ALL_DTYPES}
    return {"model": "|a - b| <= atol + rtol * M (M: magnitudes by the running error analysis "
                     "of harness/tolerance.py)",
            "forward_k": FORWARD_K, "backward_k": BACKWARD_K,
            "low_precision_k": LOW_PRECISION_K, "defaults": defaults,
            "override": run.tolerance_override}


def repro_command(r: Verdict, spec_path: Path) -> str:
    """The command that reproduces a verdict, from any directory and without an activated
    environment: this Python's harness, the spec's absolute path."""
    return (f"{shlex.quote(sys.executable)} -m harness run "
            f"{shlex.quote(str(Path(spec_path).resolve()))} --impl {r.impl} "
            f"--baseline {r.baseline}")


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
    if len({r.baseline for r in run.results}) > 1:  # --pairwise
        if not run.ok:
            errors = f" ({counts['error']} of them errors)" if counts["error"] else ""
            return "FAIL", f"{bad} of {compared} pairs compared disagree{errors}."
        return "PASS", (f"All {compared} pairs compared agree within tolerance"
                        + (f", except {counts['xfail']} known deviations." if counts["xfail"]
                           else "."))
    if not run.ok:
        errors = f" ({counts['error']} of them errors)" if counts["error"] else ""
        return "FAIL", (f"{bad} of {compared} comparisons disagree with the baseline "
                        f"{run.baseline}{errors}.")
    if counts["xfail"]:
        return "PASS", (f"Every comparison agrees with the baseline {run.baseline} within "
                        f"tolerance, except {counts['xfail']} known deviation"
                        f"{'s' if counts['xfail'] != 1 else ''} (listed below).")
    if counts.get("xpass"):
        return "PASS", (f"All {compared} comparisons agree with the baseline {run.baseline} "
                        f"within tolerance, {counts['xpass']} of them where a known deviation "
                        f"was expected (listed below).")
    return "PASS", (f"All {compared} comparisons agree with the baseline {run.baseline} "
                    f"within tolerance.")


def _per_impl(run: RunResult) -> list[str]:
    """'torch: 59 agree', 'bug-sign: 4 FAIL, 5 agree', one per implementation compared."""
    out = []
    for name in dict.fromkeys(r.impl for r in run.results):
        mine = [r for r in run.results if r.impl == name]
        parts = []
        for status, text in (("fail", "FAIL"), ("error", "ERROR"), ("xfail", "known deviation"),
                             ("xpass", "unexpected pass"), ("pass", "agree"),
                             ("unsupported", "not supported")):
            n = sum(r.status == status for r in mine)
            if n:
                parts.append(f"{n} {text}")
        out.append(f"{name}: {', '.join(parts)}")
    return out


# ---------------------------------------------------------------- summary.md

def _md_cell(v) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def markdown(run: RunResult, cases: pd.DataFrame, repros: dict) -> str:
    counts = run.counts()
    word, sentence = verdict_sentence(run)
    lines = [f"# backprop-harness run: {word}", "", sentence, "",
             f"{counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors, "
             f"{counts['unsupported']} not supported, {counts['xfail']} known deviations, "
             f"{counts.get('xpass', 0)} unexpected passes; "
             f"baseline `{run.baseline}`; {len(run.specs)} cases in {run.wall_seconds:.1f} s "
             f"(started {run.started}). " + "; ".join(_per_impl(run)) + ".", ""]
    lines += ["## Divergences", ""]
    failing = _divergent(run)
    if not failing:
        lines.append("None: every implementation is within tolerance on every case it runs.")
    notes = set()
    for r in failing:
        lines += [f"### {r.case}: {r.impl} vs {r.baseline} ({_status(r.status)})", "",
                  f"- {r.message}"]
        if r.known:
            lines.append(f"- known deviation: {r.known}")
        if r.origin:
            f = figures([r.origin])
            notes |= f["notes"]
            where = f" at {r.origin.where()}" if r.origin.worst_index else ""
            lines.append(f"- origin: **{r.origin.label}**{where}; {r.consequences} later "
                         f"quantities out of tolerance as consequences")
            lines.append(f"- there: {r.impl} {_value(r.origin.worst_value, r.dtype)}, "
                         f"{r.baseline} {_value(r.origin.worst_baseline, r.dtype)}; |diff| "
                         f"{_diff_at_worst(r.origin)}, tolerance {_num(r.origin.worst_tol)}, "
                         f"error / tolerance {f['ratio']}")
        if r.blame:
            lines.append(f"- who is wrong: {r.who} ({r.blame_reason})")
        if r.closer:
            lines.append(f"- oracle: {closer_text(r.closer)}")
        if (r.case, r.impl, r.baseline) in repros:
            lines.append(f"- reproduce: `{repros[(r.case, r.impl, r.baseline)]}`")
        lines.append("")
    lines += ["## Implementations", "",
              "| implementation | version | available | seconds | settings |",
              "|---|---|---|---|---|"]
    for name, d in run.impls.items():
        avail = "yes" if d["available"] else f"no: {d['reason']}"
        secs = f"{run.impl_seconds[name]:.2f}" if name in run.impl_seconds else ""
        settings = ", ".join(f"{k}={v}" for k, v in d["settings"].items())
        if name == run.baseline:
            name += " (baseline)"
        lines.append("| " + " | ".join(map(_md_cell, (name, d["version"], avail, secs,
                                                       settings))) + " |")
    lines += ["", "## Cases", ""]
    for case, group in cases.groupby("case", sort=False):
        spec = run.specs[case]
        lines += [f"### {case}", "", _spec_line(spec), ""]
        cols = [c for c in group.columns if c != "case" and any(group[c].astype(str) != "")]
        lines.append("| " + " | ".join(map(_md_cell, cols)) + " |")
        lines.append("|" + "---|" * len(cols))
        for _, row in group.iterrows():
            lines.append("| " + " | ".join(_md_cell(row[c]) for c in cols) + " |")
        lines.append("")
    for r in run.results:
        if r.tensors:
            notes |= figures(r.tensors)["notes"]
    if notes:
        lines += ["Notes:", ""] + [f"- {NOTES[n]}" for n in NOTES if n in notes] + [""]
    env = environment()
    lines += ["## Environment", ""] + [f"- {k}: {v}" for k, v in env.items()]
    lines += ["", "## Tolerances", "",
              f"An element passes when |a - b| <= atol + rtol * M; rtol = {FORWARD_K:g} eps "
              f"(forward) and {BACKWARD_K:g} eps (backward, update); M is the magnitude from the "
              "running error analysis (README, 'How tolerances are computed').", ""]
    return "\n".join(lines)


def _spec_line(spec) -> str:
    acts = ", ".join(layer.activation for layer in spec.layers)
    steps = f"{spec.steps} step{'s' if spec.steps != 1 else ''}"
    text = (f"network {spec.arch} ({acts}), {spec.dtype}, loss {spec.loss} ({spec.reduction}), "
            f"batch {spec.batch}, {steps}, learning rate {spec.learning_rate:g}.")
    return f"{text} {spec.description}".strip()


# ---------------------------------------------------------------- report.html

E = html.escape
PASS_COLORS = ("#ffffff", "#e5f5e0", "#c7e9c0", "#a1d99b", "#d9ef8b", "#fee08b")
FAIL_COLORS = ("#fc8d59", "#e34a33", "#b30000", "#67000d")
KNOWN_COLORS = ("#dadaeb", "#bcbddc", "#9e9ac8", "#6a51a3")
BIN_EDGES = (1e-6, 1e-4, 1e-2, 1e-1, 1.0, 10.0, 1e3, 1e6)
BIN_LABELS = ("identical", "≤ 10⁻⁶", "≤ 10⁻⁴", "≤ 10⁻²", "≤ 0.1", "≤ 1", "≤ 10", "≤ 10³",
              "≤ 10⁶", "> 10⁶", "NaN / Inf")

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
 margin:1.2em 2em;color:#222;font-size:14px;max-width:1500px}
h1{font-size:18px;margin:0 0 .3em;font-weight:600;color:#555}
h2{font-size:16px;margin:1.4em 0 .4em;border-bottom:1px solid #ddd;padding-bottom:2px}
h3{font-size:14px;margin:1em 0 .3em}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
.verdict{font-size:20px;margin:.2em 0}
.badge{display:inline-block;padding:1px 10px;border-radius:4px;color:#fff;font-weight:700;
 margin-right:.4em}
.badge.PASS{background:#2ca02c}.badge.FAIL{background:#d62728}
.sub{color:#555;margin:.2em 0}
table.t{border-collapse:collapse;font-size:12.5px;margin:.3em 0}
table.t td,table.t th{border:1px solid #d5d5d5;padding:2px 6px;text-align:left;vertical-align:top}
table.t th{background:#f4f4f4;font-weight:600}
table.t td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.st-pass{color:#2a7a2a}.st-FAIL,.st-ERROR{color:#c00;font-weight:700}
.st-known{color:#6a51a3;font-weight:700}.st-skip{color:#888}.st-xpass{color:#b35900}
td.base{color:#555;font-style:italic}
tr.more td{border-top:none;color:#444;font-size:12px;padding-bottom:5px}
tr.more code{word-break:break-all}
.notes{font-size:12px;color:#555;margin:.2em 0 .8em}
.hmwrap{max-height:46vh;overflow:auto;border:1px solid #ccc;display:inline-block;max-width:100%}
table.hm{border-collapse:separate;border-spacing:0;font-size:11px}
table.hm th{background:#f4f4f4;font-weight:500;padding:0;position:sticky;z-index:1;
 text-align:center;white-space:nowrap;line-height:14px;font-size:9.5px;letter-spacing:-.3px}
table.hm thead tr:nth-child(1) th{top:0;height:15px}
table.hm thead tr:nth-child(2) th{top:15px;height:14px}
table.hm thead tr:nth-child(3) th{top:29px;height:14px;border-bottom:1px solid #999;color:#666}
table.hm th.g{border-left:1px solid #999;font-size:10px;color:#444}
table.hm td{width:14px;min-width:14px;height:15px;padding:0;border-right:1px solid #e4e4e4;
 border-bottom:1px solid #e4e4e4}
table.hm td.lab{width:auto;padding:0 6px 0 3px;white-space:nowrap;background:#fff;
 border-bottom:1px solid #eee;font-size:11.5px;text-align:left}
table.hm td.lab a{color:#222;text-decoration:none}
table.hm td.gs,table.hm th.gs{border-left:1px solid #999}
table.hm tr.top td{border-top:1px solid #bbb}
table.hm td.x{background:#f2f2f2}
table.hm td.o{outline:2px solid #000;outline-offset:-2px;box-shadow:inset 0 0 0 3px #fff}
table.hm td.c{background-image:repeating-linear-gradient(135deg,rgba(255,255,255,.6) 0 2px,
 transparent 2px 5px)}
table.hm td.msg{width:auto;font-size:11px;color:#c00;padding:0 4px;white-space:nowrap;
 overflow:hidden;max-width:600px;text-overflow:ellipsis}
.legend{font-size:11.5px;margin:.3em 0;display:flex;flex-wrap:wrap;gap:3px 10px;
 align-items:center}
.legend span.sw{display:inline-block;width:14px;height:12px;border:1px solid #bbb;
 vertical-align:middle;margin-right:3px}
details{margin:.25em 0;border:1px solid #e2e2e2;border-radius:3px;padding:2px 8px}
details[open]{padding-bottom:8px}
summary{cursor:pointer;font-size:13.5px;padding:2px 0}
summary .tag{font-size:12px;margin-left:.6em}
.msg{font-size:12.5px;color:#333;margin:.3em 0}
svg.chart{display:block;max-width:100%;height:auto;margin:6px 0}
svg.chart text{font-family:"DejaVu Sans",Verdana,sans-serif}
dl.kv{display:grid;grid-template-columns:max-content auto;gap:1px 14px;font-size:12.5px}
dl.kv dt{color:#555}dl.kv dd{margin:0}
.nochart{color:#8a5a00;font-size:12.5px}
"""


def _bin(t: TensorDiff, failed: bool) -> int:
    """The heat-map colour of a worst ratio: 0 identical, 1-5 within tolerance by decades,
    6-9 out of tolerance, 10 NaN/Inf."""
    if special(t):
        return 10
    if t.worst_ratio == 0:
        return 0
    b = 1 + bisect_left(BIN_EDGES, t.worst_ratio)
    return max(b, 6) if failed else min(b, 5)


def _color(b: int, known: bool) -> str:
    if b == 10:
        return "#3f007d" if known else "#000000"
    if b < 6:
        return PASS_COLORS[b]
    return (KNOWN_COLORS if known else FAIL_COLORS)[b - 6]


def _status_span(r: Verdict) -> str:
    return f'<span class="{STATUS_CLASS.get(r.status, "")}">{E(_status(r.status))}</span>'


def _anchor(case: str) -> str:
    return "case-" + re.sub(r"[^A-Za-z0-9_.-]", "_", case)


def _heat_columns(run: RunResult) -> list[tuple[str, int | None]]:
    depth = max((len(s.layers) for s in run.specs.values()), default=0)
    return [(q, layer) for _, q, layer in quantities(depth, 1)]


def heatmap_html(run: RunResult) -> str:
    """Rows: case x implementation (cases with divergences first, else in suite order; those
    not supported left out and counted below); columns: quantity and layer in computation
    order; colour: worst error / tolerance over the steps, by decades. The origin's cell is
    outlined, consequences striped, known deviations purple."""
    cols = _heat_columns(run)
    depth = max((len(s.layers) for s in run.specs.values()), default=0)
    groups = [("forward", 2 * depth), ("out", 2), ("backward", 3 * depth),
              ("updated", 2 * depth)]
    starts, i = set(), 0
    for _, n in groups:
        starts.add(i)
        i += n
    head1 = "".join(f'<th class="g" colspan="{n}">{name}</th>' for name, n in groups if n)
    head2 = "".join(f'<th{" class=gs" if k in starts else ""}>{svg.SHORT[q]}</th>'
                    for k, (q, _) in enumerate(cols))
    head3 = "".join(f'<th{" class=gs" if k in starts else ""}>{"" if layer is None else layer}'
                    f'</th>' for k, (_, layer) in enumerate(cols))
    rows = []
    baselines = {r.baseline for r in run.results}
    for case in _cases_in_order(run):
        rs = [r for r in run.results if r.case == case and r.status != "unsupported"]
        for j, r in enumerate(rs):
            label = (f'<td class="lab" rowspan="{len(rs)}"><a href="#{_anchor(case)}">'
                     f'{E(case)}</a></td>') if j == 0 else ""
            who = r.impl if len(baselines) == 1 else f"{r.impl} vs {r.baseline}"
            cells = [label, f'<td class="lab">{E(who)} {_status_span(r)}</td>']
            if not r.tensors:
                cells.append(f'<td class="msg gs" colspan="{len(cols)}" title="{E(r.message)}">'
                             f'{E(r.message)}</td>')
            else:
                cells += _heat_cells(r, cols, starts)
            rows.append(f'<tr{" class=top" if j == 0 else ""}>{"".join(cells)}</tr>')
    hidden = [r for r in run.results if r.status == "unsupported"]
    note = ""
    if hidden:
        per = {}
        for r in hidden:
            per[r.impl] = per.get(r.impl, 0) + 1
        note = ("<p class='notes'>Not shown: comparisons an implementation does not support ("
                + ", ".join(f"{E(k)}: {v}" for k, v in per.items()) + ").</p>")
    if not rows:
        return "<p>No comparison ran.</p>" + note
    return (_legend() + '<div class="hmwrap"><table class="hm"><thead>'
            f'<tr><th colspan="2" rowspan="3" style="text-align:left;padding-left:4px;'
            f'font-size:11px">case · implementation</th>{head1}</tr><tr>{head2}</tr>'
            f'<tr>{head3}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>' + note)


def _heat_cells(r: Verdict, cols, starts) -> list[str]:
    """One row's cells: per (quantity, layer) the worst over the steps; the layers this
    case's network lacks as grey runs."""
    cells: dict[tuple, list] = {}
    for t in r.tensors:
        c = cells.setdefault((t.quantity, t.layer), [t, False, False])
        if _rank(t) > _rank(c[0]):
            c[0] = t
        c[1] = c[1] or not t.passed
        c[2] = c[2] or t is r.origin
    out, blank, blank_starts = [], 0, False
    known = r.status == "xfail"
    steps = 1 + max((t.step for t in r.tensors if t.step is not None), default=0)

    def flush():
        if blank:
            out.append(f'<td class="x{" gs" if blank_starts else ""}" colspan="{blank}"></td>')

    for k, key in enumerate(cols):
        if key not in cells:
            if blank and k in starts:
                flush()
                blank = 0
            blank_starts = blank_starts if blank else k in starts
            blank += 1
            continue
        flush()
        blank = 0
        t, failed, origin = cells[key]
        b = _bin(t, failed)
        cls = [f"{'k' if known and b >= 6 else 'b'}{b}"] + (["gs"] if k in starts else [])
        what = special(t) or _num(t.worst_ratio, 2)
        if t.step is not None and steps > 1:
            what += f", step {t.step}"
        if origin:
            cls.append("o")
            what += ", origin"
        elif failed:
            cls.append("c")
            what += ", consequence"
        out.append(f'<td class="{" ".join(cls)}" title="{E(what)}"></td>')
    flush()
    return out


def _bin_css() -> str:
    """The heat map's colours as classes: b0-b10 by worst ratio, k6-k10 for known deviations."""
    rules = [f"table.hm td.b{b}{{background-color:{_color(b, False)}}}" for b in range(11)]
    rules += [f"table.hm td.k{b}{{background-color:{_color(b, True)}}}" for b in range(6, 11)]
    return "".join(rules)


def _legend() -> str:
    sw = [f'<span><span class="sw" style="background:{_color(b, False)}"></span>{E(lab)}</span>'
          for b, lab in enumerate(BIN_LABELS)]
    return ('<div class="legend"><b>worst error / tolerance over the steps:</b>'
            + "".join(sw) + '<span><span class="sw" style="background:'
            f'{KNOWN_COLORS[1]}"></span>out, known deviation</span>'
            '<span><span class="sw" style="outline:2px solid #000;outline-offset:-2px;'
            'box-shadow:inset 0 0 0 3px #fff;background:#fc8d59"></span>origin: first out '
            'of tolerance</span>'
            '<span><span class="sw" style="background:#e34a33;background-image:'
            'repeating-linear-gradient(135deg,rgba(255,255,255,.6) 0 2px,transparent 2px 5px)">'
            '</span>consequence (out after the origin)</span>'
            '<span><span class="sw" style="background:#f2f2f2"></span>no such layer</span>'
            '</div><p class="notes">Columns in computation order: d, h per layer, u, e, then '
            'v, ∂W, ∂b from the last layer to the first, then the updated W, b; the number '
            'under each is the layer. Rows: cases with divergences first. Hover a cell for its '
            'figure; a case name leads to its details.</p>')


def _table(head: list[str], rows: list[str], notes: set, cls: str = "t") -> str:
    th = "".join(f"<th>{E(h)}</th>" for h in head)
    foot = "".join(f"<p class='notes'>{E(NOTES[n])}</p>" for n in NOTES if n in notes)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{"".join(rows)}' \
           f'</tbody></table>{foot}'


def _td(text: str, num: bool = False, attrs: str = "") -> str:
    return f'<td{" class=n" if num else ""}{attrs}>{E(text)}</td>'


def divergences_html(run: RunResult, repros: dict) -> str:
    failing = _divergent(run)
    if not failing:
        return "<p>None: every implementation is within tolerance on every case it runs.</p>"
    head = ["case", "implementation", "verdict", "origin (first out of tolerance)",
            "values there", "|diff| vs tolerance", "error / tolerance", "out after it",
            "oracle's view"]
    rows, notes = [], set()
    for r in failing:
        cells = [f'<td><a href="#{_anchor(r.case)}">{E(r.case)}</a></td>',
                 _td(f"{r.impl} vs {r.baseline}"), f"<td>{_status_span(r)}</td>"]
        o = r.origin
        if o is not None:
            f = figures([o])
            notes |= f["notes"]
            where = f" at {o.where()}" if o.worst_index else ""
            cells += [f"<td><b>{E(o.label)}</b>{E(where)}</td>",
                      _td(f"{r.impl} {_value(o.worst_value, r.dtype)}, "
                          f"{r.baseline} {_value(o.worst_baseline, r.dtype)}"),
                      _td(f"{_diff_at_worst(o)} vs {_num(o.worst_tol)}", True),
                      _td(f["ratio"], True),
                      _td(f"{r.consequences} tensor{'s' if r.consequences != 1 else ''}"
                          if r.consequences else "none", True),
                      f"<td>{_oracle_html(r)}</td>"]
        else:
            cells.append(f'<td colspan="6">{E(r.message)}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
        more = _notes_html(r, repros)
        if more:
            rows.append(f'<tr class="more"><td></td><td colspan="{len(head) - 1}">'
                        f'{"<br>".join(more)}</td></tr>')
    return _table(head, rows, notes)


def _notes_html(r: Verdict, repros: dict) -> list[str]:
    """What follows a divergence, in the summary table and in the case's details: who is
    wrong and why, the known deviation, the command that reproduces it."""
    notes = []
    if r.blame_reason:
        notes.append(f"who is wrong: {E(r.blame_reason)}")
    if r.known:
        notes.append(f"known deviation: {E(r.known)}")
    repro = repros.get((r.case, r.impl, r.baseline))
    if repro:
        notes.append(f"reproduce: <code>{E(repro)}</code>")
    return notes


def _oracle_html(r: Verdict) -> str:
    """Who is wrong at the origin (Verdict.who, where the judge says) and which side the
    oracle's value is closer to (Verdict.closer)."""
    who = r.who if r.blame else ""
    closer = closer_text(r.closer)
    if not who:
        return E(closer or "no oracle ran")
    return f"<b>{E(who)}</b>" + (f"<br>{E(closer)}" if closer else "")


def implementations_html(run: RunResult) -> str:
    statuses = list(run.counts())
    head = ["implementation", "version", "available", *map(_status, statuses), "seconds",
            "numerical settings"]
    rows = []
    compared = {r.impl for r in run.results}
    baselines = {r.baseline for r in run.results}
    for name, d in run.impls.items():
        avail = "yes" if d["available"] else f"no: {d['reason']}"
        cells = [f"<td><b>{E(name)}</b></td>", _td(d["version"]), _td(avail)]
        if name in compared:
            mine = [r for r in run.results if r.impl == name]
            cells += [_td(str(sum(r.status == s for r in mine)), True) for s in statuses]
        elif name in baselines:
            cells.append(f'<td class="base" colspan="{len(statuses)}">the baseline: every '
                         f'other implementation is compared with it</td>')
        else:
            cells.append(f'<td class="base" colspan="{len(statuses)}">not run</td>')
        secs = f"{run.impl_seconds[name]:.2f}" if name in run.impl_seconds else ""
        settings = ", ".join(f"{k}={v}" for k, v in d["settings"].items())
        cells += [_td(secs, True), f'<td style="font-size:11.5px">{E(settings)}</td>']
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return _table(head, rows, set())


class _Charts:
    """Draws the charts, or says why there are none: the first MAX_DIVERGENT_CHARTS divergent
    comparisons, and the PASSING_CHARTS cases whose passing comparisons came closest to their
    tolerance (a chart costs ~0.1 s and ~20 kB; the heat map covers every comparison)."""

    def __init__(self, run: RunResult, enabled: bool):
        self.enabled = enabled and svg.available()
        divergent = [r for r in _divergent(run) if r.tensors and r.status in DIVERGENT]
        self.divergent_ids = {id(r) for r in divergent[:MAX_DIVERGENT_CHARTS]}
        self.divergent_left = len(divergent) - len(self.divergent_ids)
        closest: dict[str, float] = {}
        for r in run.results:
            if r.status == "pass" and r.tensors:
                closest[r.case] = max(closest.get(r.case, 0.0), worst_of(r.tensors).worst_ratio)
        ranked = sorted(closest, key=lambda c: -closest[c])
        self.passing_cases = set(ranked[:PASSING_CHARTS])
        self.passing_left = len(ranked) - len(self.passing_cases)

    def note(self) -> str:
        """What the page says about its charts: missing matplotlib, or which were drawn."""
        if not self.enabled:
            return f"<p class='nochart'>{E(svg.MISSING)}</p>"
        left = []
        if self.divergent_left:
            left.append(f"the divergent comparisons after the first {MAX_DIVERGENT_CHARTS} "
                        f"({self.divergent_left}; each case's reproduce command gives a "
                        f"report of its own)")
        if self.passing_left:
            left.append(f"{self.passing_left} passing cases (charts are drawn for the "
                        f"{PASSING_CHARTS} passing cases that came closest to tolerance)")
        return (f"<p class='notes'>Without a chart, to keep this page small: "
                f"{'; '.join(left)}. The heat map shows every comparison.</p>") if left else ""

    def divergent(self, r: Verdict) -> str:
        if not self.enabled or id(r) not in self.divergent_ids:
            return ""
        return svg.error_chart(r.tensors, r.origin, f"{r.case}: {r.impl} vs {r.baseline}",
                               f"{r.case}/{r.impl}/{r.baseline}", known=r.status == "xfail")

    def passing(self, case: str, rs: list[Verdict]) -> str:
        rs = [r for r in rs if r.tensors]
        if not self.enabled or not rs or case not in self.passing_cases:
            return ""
        baselines = {r.baseline for r in rs}
        names = {(r.impl if len(baselines) == 1 else f"{r.impl} vs {r.baseline}"): r.tensors
                 for r in rs}
        title = f"{case}: " + (f"vs {rs[0].baseline}, all within tolerance"
                               if len(baselines) == 1 else "every pair, all within tolerance")
        return svg.overlay_chart(names, title, f"{case}/passing")


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


def cases_html(run: RunResult, repros: dict, charts: _Charts) -> str:
    """Per case: the spec, a row per comparison, and for a divergent one its failing tensors
    and its chart; failing and known-deviation cases first and open, the others closed."""
    by_case = {case: [r for r in run.results if r.case == case] for case in run.specs}
    out = []
    for case in _cases_in_order(run):
        rs = by_case[case]
        if not rs:
            continue
        is_open = _case_rank({r.status for r in rs}) < 2
        tags = " ".join(f'<span class="tag">{E(r.impl)}: {_status_span(r)}</span>' for r in rs)
        body = [f"<p class='msg'>{E(_spec_line(run.specs[case]))}</p>"]
        head = ["implementation", "verdict", "worst error / tolerance", "worst at",
                "worst |diff|", "worst relative error", "worst ULP distance",
                "elements out of tolerance", "origin", "seconds"]
        rows, notes = [], set()
        for r in rs:
            cells = [_td(f"{r.impl} vs {r.baseline}"), f"<td>{_status_span(r)}</td>"]
            if r.tensors:
                f = figures(r.tensors)
                notes |= f["notes"]
                cells += [_td(f["ratio"], True), _td(f["at"]), _td(f["abs"], True),
                          _td(f["rel"], True), _td(f["ulp"], True),
                          _td(f"{f['n_bad']} of {f['n']}", True),
                          _td(r.origin.label if r.origin else "")]
            else:
                cells.append(f'<td colspan="7">{E(r.message)}</td>')
            cells.append(_td(f"{r.seconds:.3f}", True))
            rows.append(f"<tr>{''.join(cells)}</tr>")
        body.append(_table(head, rows, notes))
        for r in rs:
            if r.status in DIVERGENT:
                body.append(_divergent_detail(r, repros, charts))
            elif r.status not in ("pass", "unsupported"):
                body.append(f"<h3>{E(r.impl)} vs {E(r.baseline)}: {_status_span(r)}</h3>"
                            f"<p class='msg'>{E(r.message)}</p>")
        passing = [r for r in rs if r.status == "pass"]
        body.append(charts.passing(case, passing))
        out.append(f'<details id="{_anchor(case)}"{" open" if is_open else ""}><summary>'
                   f'<b>{E(case)}</b> {tags}</summary>{"".join(body)}</details>')
    return "".join(out)


def _divergent_detail(r: Verdict, repros: dict, charts: _Charts) -> str:
    parts = [f"<h3>{E(r.impl)} vs {E(r.baseline)}: {_status_span(r)}</h3>",
             f"<p class='msg'>{E(r.message)}</p>"]
    if r.closer:
        parts.append(f"<p class='msg'>Oracle: {E(closer_text(r.closer))}.</p>")
    parts += [f"<p class='msg'>{note}</p>" for note in _notes_html(r, repros)]
    bad = [t for t in r.tensors if not t.passed]
    if bad:
        rows, notes = [], set()
        for t in bad[:FAILING_TENSOR_ROWS]:
            f = figures([t])
            notes |= f["notes"]
            role = "origin" if t is r.origin else "consequence"
            rows.append("<tr>" + "".join([
                _td(t.label), _td(role), _td(t.where() if t.worst_index else ""),
                _td(f"{_value(t.worst_value, r.dtype)} vs {_value(t.worst_baseline, r.dtype)}"),
                _td(_diff_at_worst(t), True), _td(_num(t.worst_tol), True),
                _td(f["ratio"], True),
                _td(f["rel"], True), _td(f["ulp"], True),
                _td(f"{t.n_bad} of {f['n']}", True)]) + "</tr>")
        if len(bad) > FAILING_TENSOR_ROWS:
            rows.append(f'<tr><td colspan="10">… and {len(bad) - FAILING_TENSOR_ROWS} more '
                        f'tensors out of tolerance (summary.csv lists them all)</td></tr>')
        parts.append(_table(["tensor out of tolerance", "role", "worst element",
                             f"{r.impl} vs {r.baseline} there", "|diff| there", "tolerance",
                             "error / tolerance", "relative error", "ULP distance",
                             "elements out"], rows, notes))
    if r.tensors:
        parts.append(charts.divergent(r))
    return "".join(parts)


def run_details_html(run: RunResult) -> str:
    env = environment()
    items = [("started", run.started), ("took", f"{run.wall_seconds:.1f} seconds"),
             ("baseline", run.baseline), ("cases", str(len(run.specs))),
             ("comparisons", str(len(run.results)))]
    items += [(k, str(v)) for k, v in env.items()]
    dl = "".join(f"<dt>{E(k)}</dt><dd>{E(v)}</dd>" for k, v in items)
    tol_rows = []
    for dt in ("float64", "float32"):
        for phase, t in default_tolerances(dt).items():
            tol_rows.append(f"<tr>{_td(dt)}{_td(phase)}{_td(_num(t.rtol), True)}"
                            f"{_td(_num(t.atol), True)}</tr>")
    override = run.tolerance_override
    over = ("<p>Overridden for this run: " + E(", ".join(
        f"{p}: " + ", ".join(f"{k}={v:g}" for k, v in vals.items())
        for p, vals in override.items())) + ".</p>") if override else ""
    return (f'<dl class="kv">{dl}</dl><h3>Tolerances</h3><p>An element passes when '
            f'|a − b| ≤ atol + rtol · M, M being the magnitude from the running error analysis '
            f'(README, “How tolerances are computed”); rtol = {FORWARD_K:g} eps forward and '
            f'{BACKWARD_K:g} eps backward and for the update ({LOW_PRECISION_K:g} eps in bfloat16 '
            f'and float16). Defaults:</p>'
            + _table(["dtype", "phase", "rtol", "atol"], tol_rows, set()) + over +
            "<h3>Files of this report</h3><p>summary.md (this page in Markdown), summary.csv "
            "(one row per traced tensor), mismatches.csv (out-of-tolerance elements), "
            "run.json, junit.xml, failing/ (the spec of each divergent case and "
            "reproduce.sh), described in reports/README.md.</p>")


def html_report(run: RunResult, repros: dict, charts: bool = True) -> str:
    word, sentence = verdict_sentence(run)
    counts = run.counts()
    drawer = _Charts(run, charts)
    body = [
        "<h1>backprop-harness</h1>",
        f'<p class="verdict"><span class="badge {word}">{word}</span>{E(sentence)}</p>',
        f"<p class='sub'>{len(run.specs)} cases; {E('; '.join(_per_impl(run)))}. "
        f"{counts['pass']} pass, {counts['fail']} fail, {counts['error']} errors, "
        f"{counts['xfail']} known deviations, {counts['unsupported']} not supported"
        f"{', %d unexpected passes' % counts['xpass'] if counts.get('xpass') else ''}; "
        f"{run.wall_seconds:.1f} s, started {E(run.started)}.</p>",
        "<h2>Where they differ: worst error / tolerance per quantity and layer</h2>",
        heatmap_html(run),
        f"<h2 id='divergences'>Divergences ({len(_divergent(run))})</h2>",
        divergences_html(run, repros),
        "<h2>Implementations</h2>", implementations_html(run),
        "<h2>Cases</h2>", drawer.note() if charts else "",
        "<p class='notes'>Each chart: every traced tensor in computation order (per step: d, "
        "h per layer, u, e, then v, ∂W, ∂b from the last layer; then the updated parameters), "
        "its worst error / tolerance on a log scale; above the dashed line is out of "
        "tolerance.</p>",
        cases_html(run, repros, drawer),
        "<h2>Run details</h2>", run_details_html(run)]
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>backprop-harness {word}</title><style>{STYLE}{_bin_css()}</style></head>"
            f"<body>{''.join(body)}</body></html>")


# ---------------------------------------------------------------- junit.xml

def junit(run: RunResult) -> bytes:
    counts = run.counts()
    suite = ET.Element("testsuite", name="backprop-harness", tests=str(len(run.results)),
                       failures=str(counts["fail"]), errors=str(counts["error"]),
                       skipped=str(counts["unsupported"] + counts["xfail"]),
                       time=f"{run.wall_seconds:.3f}")
    for r in run.results:
        tc = ET.SubElement(suite, "testcase", classname=f"backprop_harness.{r.impl}",
                           name=f"{r.case}[vs {r.baseline}]", time=f"{r.seconds:.3f}")
        if r.status == "fail":  # (a strict XPASS fails without an origin)
            ET.SubElement(tc, "failure", message=r.message).text = \
                f"origin: {r.origin.label}; {r.consequences} consequences; {r.closer}" \
                if r.origin else r.message
        elif r.status == "error":
            ET.SubElement(tc, "error", message=r.message)
        elif r.status == "unsupported":
            ET.SubElement(tc, "skipped", message=r.message)
        elif r.status == "xfail":
            ET.SubElement(tc, "skipped", type="xfail",
                          message=f"known deviation: {r.known}; {r.message}")
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)


# ---------------------------------------------------------------- writing

def default_out_dir(root: Path = Path("reports"), kind: str = "run") -> Path:
    """reports/<kind>-<local time> (run-..., audit-...), with a numeric suffix if that name
    is taken."""
    base = root / datetime.now().strftime(f"{kind}-%Y%m%d-%H%M%S")
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


def write_report(run: RunResult, out_dir: Path, force: bool = False, full: bool = False) -> Path:
    """Write every report file into a temporary directory, then rename it to out_dir.
    `full`: run.json holds every tensor's figures (by default only each verdict's origin,
    failing tensors and each quantity's worst; summary.csv has every tensor either way)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not force:
        raise HarnessError(f"report directory {out_dir} exists; pass --force to replace it")
    if out_dir.exists() and not out_dir.is_dir():
        raise HarnessError(f"{out_dir} exists and is not a directory")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.incomplete-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        (tmp / "INCOMPLETE").write_text("this report was interrupted while being written\n")
        _write_files(run, tmp, out_dir)
        if full:
            _write_json(run, tmp, _repros(run, out_dir), full=True)
        (tmp / "INCOMPLETE").unlink()
        if out_dir.exists():
            old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
            out_dir.rename(old)
            shutil.rmtree(old)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _repros(run: RunResult, final: Path) -> dict:
    """(case, impl, baseline) -> the command that reproduces it, for every divergent verdict:
    with the run's tolerance overrides, writing its report inside this one (failing/rerun-*)."""
    flags = [f"--{kind}-{phase} {value!r}" for phase, values in run.tolerance_override.items()
             for kind, value in values.items()]
    out = {}
    for r in run.results:
        if r.status in DIVERGENT:
            rerun = Path(final).resolve() / "failing" / f"rerun-{r.case}-{r.impl}"
            out[(r.case, r.impl, r.baseline)] = " ".join(
                [repro_command(r, final / "failing" / f"{r.case}.json"), *flags,
                 "--out", shlex.quote(str(rerun)), "--force"])
    return out


def _write_files(run: RunResult, tmp: Path, final: Path) -> None:
    repros = _repros(run, final)
    if repros:  # only when something failed, erred or was a known deviation
        (tmp / "failing").mkdir()
        for case in dict.fromkeys(case for case, _, _ in repros):
            (tmp / "failing" / f"{case}.json").write_text(
                json.dumps(strict_json(run.specs[case].to_dict()), indent=1, allow_nan=False))
        (tmp / "failing" / "reproduce.sh").write_text(
            "#!/bin/sh\n# one command per failing case and implementation\n" +
            "\n".join(repros.values()) + "\n")
        _write_upstream(run, tmp / "failing")
    summary_table(run).to_csv(tmp / "summary.csv", index=False)
    mismatch_table(run).to_csv(tmp / "mismatches.csv", index=False)
    _write_json(run, tmp, repros)
    (tmp / "junit.xml").write_bytes(junit(run))
    (tmp / "summary.md").write_text(markdown(run, case_table(run), repros))
    (tmp / "report.html").write_text(html_report(run, repros))


def _write_upstream(run: RunResult, failing: Path) -> None:
    """failing/<case>-<impl>/: for a failure involving a built-in framework, a script per
    framework that needs only it and NumPy, and an ISSUE.md draft (harness/reproduce.py)."""
    from .reproduce import reproducers
    for r in run.results:
        if r.status not in ("fail", "error"):
            continue
        files = reproducers(run.specs[r.case], r)
        if files:
            folder = failing / f"{r.case}-{r.impl}-vs-{r.baseline}"
            folder.mkdir()
            for name, text in files.items():
                (folder / name).write_text(text)


def _write_json(run: RunResult, tmp: Path, repros: dict, full: bool = False) -> None:
    doc = run_document(run, full)
    for c in doc["cases"]:
        c["reproduce"] = repros.get((c["case"], c["impl"], c["baseline"]), "")
    # no indentation: json's C encoder writes it 3x faster (`python -m json.tool` indents it)
    (tmp / "run.json").write_text(json.dumps(strict_json(doc), allow_nan=False))


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
