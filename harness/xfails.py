"""Known deviations, a ledger: '<case glob> [versions=REQ] [url=URL] <reason>' lines.

A glob matches a case name (every quantity of it) or '<case>-<group>' for one quantity group
(d, h, u, e, v, grad_weights, grad_bias, params). `versions=jax>=0.4,<0.11` (a requirement
on an installed package) limits the entry to the framework versions it applies to: outside
them it covers nothing, so a failure there fails. `url=` names the upstream report. An
implementation may ship its own list as the attribute `xfails` (a path); the files given on
the command line apply to every one. `run`, the pytest plugin and the fuzzers apply them.
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

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
    versions: str = ""  # a requirement such as "jax>=0.4,<0.11"; empty: every version
    url: str = ""

    def applies(self) -> bool:
        """Whether the installed version of the package `versions` names is in its range."""
        return not self.versions or _installed_in(self.versions)

    def matches(self, case: str, group: str | None = None) -> bool:
        return self.applies() and (fnmatch.fnmatchcase(case, self.pattern) or (
            group is not None and fnmatch.fnmatchcase(f"{case}-{group}", self.pattern)))

    @property
    def cited(self) -> str:
        """The reason with its upstream link and version range, for reports."""
        extra = ", ".join(x for x in (self.url, self.versions) if x)
        return f"{self.reason} [{extra}]" if extra else self.reason


@lru_cache(maxsize=None)
def _installed_in(requirement: str) -> bool:
    req = Requirement(requirement)
    try:
        return req.specifier.contains(version(req.name), prereleases=True)
    except PackageNotFoundError:
        return False


def read_xfails(path: str | Path) -> list[Xfail]:
    """'<glob> [versions=REQ] [url=URL] <reason>' lines; blank lines and # comments skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HarnessError(f"cannot read the xfail list {path}: {exc}") from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pattern, _, rest = line.partition(" ")
        fields = {}
        words = rest.split()
        while words and words[0].split("=", 1)[0] in ("versions", "url") and "=" in words[0]:
            key, value = words.pop(0).split("=", 1)
            fields[key] = value
        if "versions" in fields:
            try:
                Requirement(fields["versions"])
            except InvalidRequirement as exc:
                raise HarnessError(f"{path}:{n}: versions={fields['versions']}: {exc}") from None
        out.append(Xfail(pattern, " ".join(words) or "known deviation", f"{path}:{n}",
                         **fields))
    return out


def cite(entries: Sequence[Xfail]) -> str:
    """What a report says of the entries that covered a case: each distinct reason once with
    its link, then where the entries are written, each file once (short: relative to the
    working directory or to its installed package's root), its line numbers in order:
    "reason [url, versions] (impls/jax_xfails.txt:7,8,9)"."""
    lines: dict[str, list[int]] = {}
    for x in entries:
        path, _, n = x.source.rpartition(":")
        lines.setdefault(path, []).append(int(n))
    where = ", ".join(f"{_short(path)}:{','.join(map(str, sorted(ns)))}"
                      for path, ns in lines.items())
    reasons = "; ".join(dict.fromkeys(x.cited for x in entries))
    return f"{reasons} ({where})"


def _short(path: str) -> str:
    """The shortest of the path relative to the working directory and relative to each
    sys.path entry that holds it (an installed package's file reads "bh_einsum/xfails.txt",
    not ".venv/lib/.../site-packages/bh_einsum/xfails.txt"); as given when none holds it."""
    full = Path(path).resolve()
    found = []
    for root in [Path.cwd()] + [Path(p) for p in sys.path if p]:
        try:
            found.append(full.relative_to(root.resolve()).as_posix())
        except (ValueError, OSError):
            continue
    return min(found, key=len, default=path)


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
