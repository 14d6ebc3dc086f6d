"""HTML building blocks shared by report.html's sections: escaping, a verdict's coloured
status, a case's anchor, a table with its footnotes."""

from __future__ import annotations

import html
import re

from ..judge import Verdict
from .tables import NOTES, _status

E = html.escape
STATUS_CLASS = {"pass": "st-pass", "fail": "st-FAIL", "error": "st-ERROR", "xfail": "st-known",
                "unsupported": "st-skip", "xpass": "st-xpass"}


def _status_span(r: Verdict) -> str:
    return f'<span class="{STATUS_CLASS.get(r.status, "")}">{E(_status(r.status))}</span>'


def _anchor(case: str) -> str:
    return "case-" + re.sub(r"[^A-Za-z0-9_.-]", "_", case)


def _table(head: list[str], rows: list[str], notes: set, cls: str = "t") -> str:
    th = "".join(f"<th>{E(h)}</th>" for h in head)
    foot = "".join(f"<p class='notes'>{E(NOTES[n])}</p>" for n in NOTES if n in notes)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{"".join(rows)}' \
           f'</tbody></table>{foot}'


def _td(text: str, num: bool = False, attrs: str = "") -> str:
    return f'<td{" class=n" if num else ""}{attrs}>{E(text)}</td>'
