"""summary.md: the verdict, the divergences, the implementations and a table per case, in
Markdown."""

from __future__ import annotations

import re

import pandas as pd

from ..conformance import RunResult, environment
from ..judge import Verdict
from ..tolerance import BACKWARD_K, FORWARD_K
from .tables import (DOCS, NOTES, _diff_at_worst, _divergent, _num, _per_impl, _spec_line, _status,
                     _value, closer_text, count, figures, verdict_sentence)


# what Markdown would read as markup in running text, escaped so that it reads as written and
# nothing else is: a tag's or comment's "<" (raw HTML), an entity's "&", a backslash before
# punctuation, backticks, "*", and "_" not inside a word (name_with_underscores stays as is)
_MARKUP = re.compile(r"<(?=[A-Za-z/!?])|&(?=#?\w+;)|\\(?=[!-/:-@\[-`{-~])|[`*]"
                     r"|(?<!\w)_|_(?!\w)")
_ENTITIES = {"<": "&lt;", "&": "&amp;"}


def _md(text) -> str:
    """Text from the run (names, versions, settings, descriptions, messages) as Markdown that
    renders as that text and reads as it when not rendered: only what Markdown would take for
    markup is escaped ("|diff| > tol" stays as it is), on one line."""
    one_line = str(text).replace("\n", " ")
    return _MARKUP.sub(lambda m: _ENTITIES.get(m[0], "\\" + m[0]), one_line)


def _md_line(text) -> str:
    """_md for text that starts a line, where "# ", ">", "- " or "+ " would make a heading, a
    quote or a list."""
    md = _md(text)
    return "\\" + md if re.match(r"#+(\s|$)|>|[-+](\s|$)", md) else md


def _md_cell(v) -> str:
    """_md in a table's cell, where "|" ends the cell."""
    return _md(v).replace("|", "\\|")


def _md_code(text: str) -> str:
    """A code span holding text whatever backticks it has (a longer fence than any run)."""
    fence = "`" * (1 + max(map(len, re.findall("`+", text)), default=0))
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown(run: RunResult, cases: pd.DataFrame, repros: dict) -> str:
    counts = run.counts()
    word, sentence = verdict_sentence(run)
    lines = [f"# backprop-harness run: {word}", "", _md_line(sentence), "",
             f"{counts['pass']} passed, {counts['fail']} failed, "
             f"{count(counts['error'], 'error')}, {counts['unsupported']} not supported, "
             f"{count(counts['xfail'], 'known deviation')}, "
             f"{count(counts.get('xpass', 0), 'unexpected pass')}; "
             f"baseline {_md_code(run.baseline)}; {count(len(run.specs), 'case')} in "
             f"{run.wall_seconds:.1f} s (started {_md(run.started)}). "
             + _md("; ".join(_per_impl(run))) + ".", ""]
    lines += [f"Note: {_md(n)}" for n in run.notes] + ([""] if run.notes else [])
    from ..waivers import waived
    lines += [f"Waived by {_md_code(name)}'s declarations: {_md('; '.join(words))}."
              for name, words in waived(run).items()]
    lines += [""] if waived(run) else []
    pinned = sum(r.exact_judged for r in run.results)
    if pinned:
        lines += [f"{pinned} element(s) judged against exact, where the first-order tolerance "
                  f"was vacuous ([no vacuous pass](docs/tolerances.md#no-vacuous-pass)).", ""]
    lines += ["## Divergences", ""]
    failing = _divergent(run)
    if not failing:
        lines.append("None: every implementation is within tolerance on every case it runs.")
    notes = set()
    for r in failing:
        lines += _divergence(r, repros, notes)
    findings = run.findings()
    if findings:
        from ..rootcause import describe
        lines += ["## Distinct root causes", "",
                  f"{len(findings)}, counted by signature (one cause, one finding):", ""]
        for seen in findings.values():
            shown = len({r.case for _, r in seen})
            lines.append(f"- {describe([sig for sig, _ in seen])} ({count(shown, 'case')})")
        lines.append("")
    lines += _implementations(run)
    lines += ["", "## Cases", ""]
    for case, group in cases.groupby("case", sort=False):
        lines += [f"### {_md(case)}", "", _md_line(_spec_line(run.specs[case])), ""]
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
    lines += ["## Environment", ""] + [f"- {_md(k)}: {_md(v)}" for k, v in environment().items()]
    lines += ["", "## Tolerances", "",
              f"An element passes when |a - b| <= atol + rtol * M; rtol = {FORWARD_K:g} eps "
              f"(forward) and {BACKWARD_K:g} eps (backward, update); M is the magnitude from the "
              f"running error analysis ({_md_code(DOCS['tolerances'])} in backprop-harness's "
              f"repository); the files of this report: {_md_code(DOCS['files'])}.", ""]
    return "\n".join(lines)


def _divergence(r: Verdict, repros: dict, notes: set) -> list[str]:
    """A divergent verdict's section: its message, origin, values there, who is wrong, the
    oracle and the command that reproduces it; adds the footnotes its figures need to notes."""
    lines = [f"### {_md(r.case)}: {_md(r.impl)} vs {_md(r.baseline)} ({_status(r.status)})", "",
             f"- {_md(r.message)}"]
    if r.known:
        lines.append(f"- known deviation: {_md(r.known)}")
    if r.origin:
        f = figures([r.origin])
        notes |= f["notes"]
        where = f" at {r.origin.where()}" if r.origin.worst_index else ""
        lines.append(f"- origin: **{_md(r.origin.label)}**{_md(where)}; "
                     f"{count(r.consequences, 'later tensor')} out of tolerance as "
                     f"consequences")
        lines.append(f"- there: {_md(r.impl)} {_value(r.origin.worst_value, r.dtype)}, "
                     f"{_md(r.baseline)} {_value(r.origin.worst_baseline, r.dtype)}; |diff| "
                     f"{_diff_at_worst(r.origin)}, tolerance {_num(r.origin.worst_tol)}, "
                     f"error / tolerance {f['ratio']}")
    if r.blame:
        lines.append(f"- who is wrong: {_md(r.who)} ({_md(r.blame_reason)})")
    for k, c in enumerate(r.root_causes):
        lines.append(f"- {'why' if k == 0 else 'and, independent'}: {_md(c.text)}; "
                     f"signature: {_md(c.signature)}")
    if r.closer:
        lines.append(f"- oracle: {_md(closer_text(r.closer))}")
    if (r.case, r.impl, r.baseline) in repros:
        lines.append(f"- reproduce: {_md_code(repros[(r.case, r.impl, r.baseline)])}")
    return lines + [""]


def _implementations(run: RunResult) -> list[str]:
    lines = ["## Implementations", "",
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
    return lines
