"""Reports: a RunResult as tidy pandas tables, written whole to reports/<run>/ or not at all.

Files: summary.md, report.html (self-contained, inline SVG), summary.csv (case x impl x step x
layer x quantity), mismatches.csv (out-of-tolerance elements, capped), run.json, junit.xml, and
failing/<case>.json with the command that reproduces each failing case. The directory is built
under a hidden temporary name holding an INCOMPLETE marker and renamed into place at the end.
"""

from __future__ import annotations

import html
import json
import math
import os
import shlex
import shutil
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .conformance import RunResult, environment
from .judge import Verdict
from .errors import HarnessError
from .svg import log_chart
from .tolerance import BACKWARD_K, FORWARD_K, default_tolerances

MAX_MISMATCH_ROWS = 10_000
QUANTITY_COLUMNS = ("d", "h", "outputs", "loss", "v", "grad_weights", "grad_bias", "weights",
                    "bias")


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


def mismatch_table(run: RunResult) -> pd.DataFrame:
    """Out-of-tolerance elements, at most MAX_MISMATCH_ROWS in all."""
    rows = []
    for r in run.results:
        for t in r.tensors:
            for m in t.mismatches:
                rows.append({"case": r.case, "impl": r.impl, "baseline": r.baseline,
                             "step": t.step, "layer": t.layer, "quantity": t.quantity,
                             "index": ",".join(map(str, m["index"])), "value": m["value"],
                             "baseline_value": m["baseline"], "abs_err": m["abs_err"],
                             "rel_err": m["rel_err"], "ulp": m["ulp"], "tol": m["tol"]})
                if len(rows) >= MAX_MISMATCH_ROWS:
                    return pd.DataFrame(rows)
    cols = ["case", "impl", "baseline", "step", "layer", "quantity", "index", "value",
            "baseline_value", "abs_err", "rel_err", "ulp", "tol"]
    return pd.DataFrame(rows, columns=cols)


def case_table(run: RunResult) -> pd.DataFrame:
    """One row per case x implementation: verdict, worst figures, pass/fail per quantity."""
    rows = []
    for r in run.results:
        row = {"case": r.case, "impl": r.impl, "status": r.status}
        if r.tensors:
            row.update(max_abs=max(t.max_abs for t in r.tensors),
                       max_rel=max(t.max_rel for t in r.tensors),
                       max_ulp=max(t.max_ulp for t in r.tensors),
                       worst_ratio=max(t.worst_ratio for t in r.tensors))
            for q in QUANTITY_COLUMNS:
                row[q] = "ok" if all(t.passed for t in r.tensors if t.quantity == q) else "FAIL"
        row["origin"] = r.origin.label if r.origin else ""
        row["note"] = r.message if r.status in ("error", "unsupported") else \
            (f"known deviation: {r.known}" if r.known else r.closer)
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- documents

def run_document(run: RunResult) -> dict:
    """Everything the run computed, for run.json."""
    cases = []
    for r in run.results:
        cases.append({
            "case": r.case, "dtype": r.dtype, "impl": r.impl, "baseline": r.baseline,
            "status": r.status, "message": r.message, "closer": r.closer, "known": r.known,
            "seconds": round(r.seconds, 6),
            "origin": _tensor_doc(r.origin) if r.origin else None,
            "consequences": r.consequences,
            "tensors": [_tensor_doc(t) for t in r.tensors]})
    return {"harness_version": __version__, "verdict": "pass" if run.ok else "fail",
            "counts": run.counts(), "started": run.started,
            "wall_seconds": round(run.wall_seconds, 3),
            "impl_seconds": {k: round(v, 3) for k, v in run.impl_seconds.items()},
            "environment": environment(), "baseline": run.baseline,
            "implementations": run.impls, "tolerance": tolerance_document(run),
            "cases": cases}


def _tensor_doc(t) -> dict:
    return {"step": t.step, "layer": t.layer, "quantity": t.quantity, "phase": t.phase,
            "shape": list(t.shape), "passed": t.passed, "n_bad": t.n_bad,
            "max_abs": t.max_abs, "max_rel": t.max_rel, "max_ulp": t.max_ulp,
            "norm_rel": t.norm_rel, "worst_ratio": t.worst_ratio,
            "worst_index": list(t.worst_index), "worst_value": t.worst_value,
            "worst_baseline": t.worst_baseline, "worst_tol": t.worst_tol,
            "nan_mismatch": t.nan_mismatch, "inf_mismatch": t.inf_mismatch}


def tolerance_document(run: RunResult) -> dict:
    defaults = {dt: {p: {"rtol": t.rtol, "atol": t.atol} for p, t in default_tolerances(dt).items()}
                for dt in ("float64", "float32")}
    return {"model": "|a - b| <= atol + rtol * M (M: magnitudes by the running error analysis "
                     "of harness/tolerance.py)",
            "forward_k": FORWARD_K, "backward_k": BACKWARD_K, "defaults": defaults,
            "override": run.tolerance_override}


def repro_command(r: Verdict, spec_path: Path) -> str:
    return (f"backprop-harness run {shlex.quote(str(spec_path))} --impl {r.impl} "
            f"--baseline {r.baseline}")


def _fmt(v) -> str:
    """A table cell: floats to 3 digits, missing values empty."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def markdown(run: RunResult, cases: pd.DataFrame, repros: dict) -> str:
    counts = run.counts()
    lines = [f"# backprop-harness run: {'PASS' if run.ok else 'FAIL'}", "",
             f"{counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors, "
             f"{counts['unsupported']} not supported, {counts['xfail']} known deviations; "
             f"baseline `{run.baseline}`; "
             f"{len(run.specs)} cases in {run.wall_seconds:.1f} s (started {run.started}).", "",
             "## Implementations", "",
             "| name | version | available | seconds | settings |",
             "|---|---|---|---|---|"]
    for name, d in run.impls.items():
        avail = "yes" if d["available"] else f"no: {d['reason']}"
        secs = f"{run.impl_seconds[name]:.2f}" if name in run.impl_seconds else ""
        settings = ", ".join(f"{k}={v}" for k, v in d["settings"].items())
        lines.append(f"| {name} | {d['version']} | {avail} | {secs} | {settings} |")
    failing = [r for r in run.results if not r.ok or r.status == "xfail"]
    lines += ["", "## Divergences", ""]
    if not failing:
        lines.append("None: every implementation is within tolerance on every case.")
    for r in failing:
        lines += [f"### {r.case}: {r.impl} vs {r.baseline} ({r.status})", "", f"- {r.message}"]
        if r.known:
            lines.append(f"- known deviation: {r.known}")
        if r.origin:
            lines.append(f"- origin: **{r.origin.label}**; {r.consequences} later quantities "
                         f"out of tolerance as consequences")
        if r.closer:
            lines.append(f"- at the origin: {r.closer}")
        if (r.case, r.impl, r.baseline) in repros:
            lines.append(f"- reproduce: `{repros[(r.case, r.impl, r.baseline)]}`")
        lines.append("")
    lines += ["## Cases", ""]
    for case, group in cases.groupby("case", sort=False):
        spec = run.specs[case]
        lines += [f"### {case}", "", f"{spec.arch}, {spec.dtype}, {spec.loss} ({spec.reduction}), "
                  f"batch {spec.batch}, {spec.steps} step(s). {spec.description}", ""]
        cols = [c for c in group.columns if c != "case" and any(map(_fmt, group[c]))]
        lines.append("| " + " | ".join(cols) + " |")
        lines.append("|" + "---|" * len(cols))
        for _, row in group.iterrows():
            lines.append("| " + " | ".join(_fmt(row[c]) for c in cols) + " |")
        lines.append("")
    env = environment()
    lines += ["## Environment", ""] + [f"- {k}: {v}" for k, v in env.items()]
    lines += ["", "## Tolerances", "",
              f"An element passes when |a - b| <= atol + rtol * M; rtol = {FORWARD_K:g} eps "
              f"(forward) and {BACKWARD_K:g} eps (backward, update); M is the magnitude from the "
              "running error analysis (README, 'How tolerances are computed').", ""]
    return "\n".join(lines)


def html_report(run: RunResult, cases: pd.DataFrame, md: str) -> str:
    counts = run.counts()
    verdict = "PASS" if run.ok else "FAIL"
    color = "#2ca02c" if run.ok else "#d62728"
    body = [f"<h1>backprop-harness run: <span style='color:{color}'>{verdict}</span></h1>",
            f"<p>{counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors, "
            f"{counts['unsupported']} not supported, {counts['xfail']} known deviations; "
            f"baseline <code>{html.escape(run.baseline)}"
            f"</code>; {len(run.specs)} cases in {run.wall_seconds:.1f} s.</p>",
            "<h2>Implementations</h2>",
            _marked(impl_table(run).to_html(index=False, classes="t", escape=True)),
            "<h2>Verdicts</h2>",
            _marked(cases.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.3g}",
                                  classes="t", escape=True))]
    failing = [r for r in run.results if not r.ok or r.status == "xfail"]
    if failing:
        body.append("<h2>Divergences</h2><ul>")
        body += [f"<li><b>{html.escape(r.case)}</b> {html.escape(r.impl)} ({r.status}): "
                 f"{html.escape(r.message)}{' — ' + html.escape(r.closer) if r.closer else ''}"
                 f"{' — known deviation: ' + html.escape(r.known) if r.known else ''}</li>"
                 for r in failing]
        body.append("</ul>")
    body.append("<h2>Error per layer and per step</h2><p>Each bar is the worst "
                "|error| / tolerance of a quantity in a layer (log scale); the dashed line is "
                "the tolerance.</p>")
    for case in run.specs:
        results = [r for r in run.results if r.case == case and r.tensors]
        if not results:
            continue
        ok = all(r.ok for r in results)
        body.append(f"<details{'' if ok else ' open'}><summary>{html.escape(case)} "
                    f"({'ok' if ok else 'FAIL'})</summary>")
        for r in results:
            body.append(_charts(r, run.specs[case]))
        body.append("</details>")
    body.append("<h2>Run details</h2><pre>" + html.escape(md.split("## Environment", 1)[-1]) +
                "</pre>")
    style = ("body{font-family:sans-serif;margin:2em;max-width:1200px}"
             "table.t{border-collapse:collapse;font-size:12px}"
             "table.t td,table.t th{border:1px solid #ccc;padding:2px 6px}"
             "td.bad{background:#f8d0d0}td.known{background:#fbe5c8}td.skip{color:#888}"
             "pre{white-space:pre-wrap}svg{margin:4px;border:1px solid #eee}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>backprop-harness "
            f"{verdict}</title><style>{style}</style></head><body>{''.join(body)}</body></html>")


def impl_table(run: RunResult) -> pd.DataFrame:
    """One row per implementation: version, availability, verdict counts, seconds."""
    rows = []
    for name, d in run.impls.items():
        mine = [r for r in run.results if r.impl == name]
        row = {"impl": name, "version": d["version"],
               "available": "yes" if d["available"] else f"no: {d['reason']}"}
        row.update({s: sum(r.status == s for r in mine) for s in run.counts()})
        timed = name in run.impl_seconds
        row["seconds"] = f"{run.impl_seconds[name]:.2f}" if timed else ""
        rows.append(row)
    return pd.DataFrame(rows)


CELL_CLASS = {"fail": "bad", "FAIL": "bad", "error": "bad", "xfail": "known",
              "unsupported": "skip"}


def _marked(table_html: str) -> str:
    """Status cells coloured: failures red, known deviations orange, unsupported grey."""
    for text, cls in CELL_CLASS.items():
        table_html = table_html.replace(f"<td>{text}</td>", f'<td class="{cls}">{text}</td>')
    return table_html


def _charts(r: Verdict, spec) -> str:
    """Per-layer worst ratios of v and the gradients (worst step), and, for multi-step cases,
    the worst ratio per step of the forward and backward quantities."""
    layers = list(range(len(spec.layers)))
    series = {}
    for q in ("v", "grad_weights", "grad_bias"):
        series[q] = [max((t.worst_ratio for t in r.tensors if t.quantity == q and t.layer == k),
                         default=0.0) for k in layers]
    out = [log_chart(series, [f"layer {k}" for k in layers],
                     f"{r.impl} vs {r.baseline}: backward error / tolerance per layer")]
    if spec.steps > 1:
        per_step = {}
        for phase in ("forward", "backward"):
            per_step[phase] = [max((t.worst_ratio for t in r.tensors
                                    if t.step == k and t.phase == phase), default=0.0)
                               for k in range(spec.steps)]
        out.append(log_chart(per_step, [str(k) for k in range(spec.steps)],
                             f"{r.impl}: error / tolerance per step", kind="line"))
    return "".join(out)


def junit(run: RunResult) -> bytes:
    counts = run.counts()
    suite = ET.Element("testsuite", name="backprop-harness", tests=str(len(run.results)),
                       failures=str(counts["fail"]), errors=str(counts["error"]),
                       skipped=str(counts["unsupported"]), time=f"{run.wall_seconds:.3f}")
    for r in run.results:
        tc = ET.SubElement(suite, "testcase", classname=f"backprop_harness.{r.impl}",
                           name=f"{r.case}[vs {r.baseline}]", time=f"{r.seconds:.3f}")
        if r.status == "fail":
            ET.SubElement(tc, "failure", message=r.message).text = \
                f"origin: {r.origin.label}; {r.consequences} consequences; {r.closer}"
        elif r.status == "error":
            ET.SubElement(tc, "error", message=r.message)
        elif r.status == "unsupported":
            ET.SubElement(tc, "skipped", message=r.message)
        elif r.status == "xfail":
            ET.SubElement(tc, "skipped", type="xfail",
                          message=f"known deviation: {r.known}; {r.message}")
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)


# ---------------------------------------------------------------- writing

def default_out_dir(root: Path = Path("reports")) -> Path:
    """reports/run-<local time>, with a numeric suffix if that name is taken."""
    base = root / datetime.now().strftime("run-%Y%m%d-%H%M%S")
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


def write_report(run: RunResult, out_dir: Path, force: bool = False) -> Path:
    """Write every report file into a temporary directory, then rename it to out_dir."""
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


def _write_files(run: RunResult, tmp: Path, final: Path) -> None:
    repros = {}
    failing = [r for r in run.results if r.status in ("fail", "error", "xfail")]
    if failing:
        (tmp / "failing").mkdir()
    for r in failing:
        name = f"{r.case}.json"
        (tmp / "failing" / name).write_text(json.dumps(run.specs[r.case].to_dict(), indent=1))
        repros[(r.case, r.impl, r.baseline)] = repro_command(r, final / "failing" / name)
    if repros:
        (tmp / "failing" / "reproduce.sh").write_text(
            "#!/bin/sh\n# one command per failing case and implementation\n" +
            "\n".join(repros.values()) + "\n")
    cases = case_table(run)
    summary_table(run).to_csv(tmp / "summary.csv", index=False)
    mismatch_table(run).to_csv(tmp / "mismatches.csv", index=False)
    doc = run_document(run)
    for c in doc["cases"]:
        c["reproduce"] = repros.get((c["case"], c["impl"], c["baseline"]), "")
    # compact: json's C encoder writes it 3x faster than with indentation (a 4 MB file for
    # the default suite, read by programs; `python -m json.tool` prints it indented)
    (tmp / "run.json").write_text(json.dumps(strict_json(doc), allow_nan=False))
    (tmp / "junit.xml").write_bytes(junit(run))
    md = markdown(run, cases, repros)
    (tmp / "summary.md").write_text(md)
    (tmp / "report.html").write_text(html_report(run, cases, md))


def strict_json(o):
    """o with numpy scalars made plain and non-finite floats spelled "inf", "-inf", "nan", so
    that the file is standard JSON any parser reads. (Exact types first: a run document has
    ~150,000 nodes.)"""
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
