"""summary.md: the verdict, the divergences, the implementations and a table per case, in
Markdown."""

from __future__ import annotations

import pandas as pd

from ..conformance import RunResult, environment
from ..tolerance import BACKWARD_K, FORWARD_K
from .tables import (NOTES, _diff_at_worst, _divergent, _num, _per_impl, _spec_line, _status,
                     _value, closer_text, figures, verdict_sentence)


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
    lines += [f"Note: {_md_cell(n)}" for n in run.notes] + ([""] if run.notes else [])
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
        for k, c in enumerate(r.root_causes):
            lines.append(f"- {'why' if k == 0 else 'and, independent'}: {c.text}; "
                         f"signature: {c.signature}")
        if r.closer:
            lines.append(f"- oracle: {closer_text(r.closer)}")
        if (r.case, r.impl, r.baseline) in repros:
            lines.append(f"- reproduce: `{repros[(r.case, r.impl, r.baseline)]}`")
        lines.append("")
    findings = run.findings()
    if findings:
        from ..rootcause import describe
        lines += ["## Distinct root causes", "",
                  f"{len(findings)}, counted by signature (one cause, one finding):", ""]
        for seen in findings.values():
            shown = len({r.case for _, r in seen})
            lines.append(f"- {describe([sig for sig, _ in seen])} ({shown} case(s))")
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
