"""Known deviations: '<case glob> <reason>' lines, applied by `run` and by the pytest plugin.

A glob matches a case name (every quantity of it) or '<case>-<group>' for one quantity group
(d, h, u, e, v, grad_weights, grad_bias, params). An implementation may ship its own list as
the attribute `xfails` (a path); the files given on the command line apply to every one.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from .errors import HarnessError

QUANTITY_GROUPS = {"d": ("d",), "h": ("h",), "u": ("outputs",), "e": ("loss",), "v": ("v",),
                   "grad_weights": ("grad_weights",), "grad_bias": ("grad_bias",),
                   "params": ("weights", "bias")}
GROUP_OF = {q: g for g, qs in QUANTITY_GROUPS.items() for q in qs}


@dataclass(frozen=True)
class Xfail:
    """One line of a known-deviations list."""

    pattern: str
    reason: str
    source: str

    def matches(self, case: str, group: str | None = None) -> bool:
        return fnmatch.fnmatchcase(case, self.pattern) or (
            group is not None and fnmatch.fnmatchcase(f"{case}-{group}", self.pattern))


def read_xfails(path: str | Path) -> list[Xfail]:
    """'<glob> <reason>' lines; blank lines and # comments are skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HarnessError(f"cannot read the xfail list {path}: {exc}") from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pattern, _, reason = line.partition(" ")
        out.append(Xfail(pattern, reason.strip() or "known deviation", f"{path}:{n}"))
    return out


def shipped(impl) -> list[Xfail]:
    """The list an implementation object ships (its `xfails` attribute), if any."""
    path = getattr(impl, "xfails", None)
    return read_xfails(path) if path else []


def covering(entries: list[Xfail], case: str, groups: set[str]) -> list[Xfail] | None:
    """Entries that together cover every failing quantity group of a case, or None."""
    used = []
    for group in sorted(groups):
        entry = next((x for x in entries if x.matches(case, group)), None)
        if entry is None:
            return None
        if entry not in used:
            used.append(entry)
    return used
