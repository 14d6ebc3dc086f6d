"""Known deviations, a ledger of lines of two kinds:

    <case glob> [versions=REQ] [url=URL] <reason>
    signature [function=F] [part=P] [input=LO..HI] [dtype=D,...] [region=R] [symptom=S,...]
              [versions=REQ] [url=URL] <reason>

A glob matches a case name (every quantity of it) or '<case>-<group>' for one quantity group
(d, h, u, e, v, grad_weights, grad_bias, params). A signature entry matches a root cause
(harness/rootcause.py) by what it is, whatever the case is called: the function (an
activation, a loss, or `layer`), the part (f, t, fe, te, product, gradient, update), the
principal input in [LO, HI] (d for an activation; `inf` and `-inf` allowed), the dtypes, a word of
the region (region=subnormal) and the symptoms (nan, inf, zero, precision, wrong); a failure
whose every root cause one names is a known deviation. `versions=jax>=0.4,<0.11` (a
requirement on an installed package) limits an entry to the framework versions it applies
to: outside them it covers nothing, so a failure there fails. `url=` names the upstream
report. An implementation may ship its own list as the attribute `xfails` (a path); the
files given on the command line apply to every one. `run`, the pytest plugin and the fuzzers
apply them.
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
SIGNATURE = "signature"  # the first word of a signature entry
SIGNATURE_KEYS = ("function", "part", "input", "dtype", "region", "symptom")
SYMPTOM_WORDS = {"nan": "NaN", "inf": "Inf", "zero": "zero",
                 "precision": "lost relative precision", "wrong": "wrong value"}


@dataclass(frozen=True)
class Xfail:
    """One line of a known-deviations list."""

    pattern: str
    reason: str
    source: str
    versions: str = ""  # a requirement such as "jax>=0.4,<0.11"; empty: every version
    url: str = ""
    signature: tuple = ()  # a signature entry's (key, value) pairs; () for a case glob

    def applies(self) -> bool:
        """Whether the installed version of the package `versions` names is in its range."""
        return not self.versions or _installed_in(self.versions)

    def matches(self, case: str, group: str | None = None) -> bool:
        return not self.signature and self.applies() and (fnmatch.fnmatchcase(case, self.pattern) or (
            group is not None and fnmatch.fnmatchcase(f"{case}-{group}", self.pattern)))

    def covers(self, cause) -> bool:
        """Whether this signature entry names a reproduced root cause (rootcause.RootCause)."""
        if not self.signature or not cause.reproduced or not self.applies():
            return False
        for key, value in self.signature:
            if key == "input":
                lo, hi = (float(v) for v in value.split(".."))
                if not lo <= cause.at <= hi:
                    return False
            elif key == "symptom":
                if cause.symptom not in {SYMPTOM_WORDS[w] for w in value.split(",")}:
                    return False
            elif key == "dtype":
                if cause.dtype not in value.split(","):
                    return False
            elif key == "region":
                if value not in cause.region:  # region=subnormal: "subnormal operand" too
                    return False
            elif str(getattr(cause, key)) != value:
                return False
        return True

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
        fields, sig = {}, {}
        words = rest.split()
        keys = ("versions", "url") + (SIGNATURE_KEYS if pattern == SIGNATURE else ())
        while words and words[0].split("=", 1)[0] in keys and "=" in words[0]:
            key, value = words.pop(0).split("=", 1)
            (sig if key in SIGNATURE_KEYS else fields)[key] = value
        if pattern == SIGNATURE:
            _check_signature(sig, f"{path}:{n}")
            fields["signature"] = tuple(sig.items())
        elif not pattern.strip("*?-"):
            raise HarnessError(f"{path}:{n}: the glob {pattern!r} matches every case: a "
                               f"known deviation names the cases (or the root cause) it covers")
        if "versions" in fields:
            try:
                Requirement(fields["versions"])
            except InvalidRequirement as exc:
                raise HarnessError(f"{path}:{n}: versions={fields['versions']}: {exc}") from None
        out.append(Xfail(pattern, " ".join(words) or "known deviation", f"{path}:{n}",
                         **fields))
    return out


def _check_signature(sig: dict, where: str) -> None:
    """One clear error for a signature entry that names nothing or holds a bad value (an
    empty one too: `region=` would match every region, `function=` none)."""
    if not sig:
        raise HarnessError(f"{where}: a signature entry needs at least one of "
                           f"{', '.join(k + '=' for k in SIGNATURE_KEYS)}")
    empty = next((k for k, v in sig.items() if not v.strip(",")), None)
    if empty:
        raise HarnessError(f"{where}: {empty}= is empty: name a value or leave the key out")
    if "input" in sig:
        try:
            lo, hi = (float(v) for v in sig["input"].split(".."))
        except ValueError:
            lo = hi = None
        if lo is None or not lo <= hi:
            raise HarnessError(f"{where}: input={sig['input']}: expected LO..HI with LO <= HI")
    bad = [w for w in sig.get("symptom", "").split(",") if w and w not in SYMPTOM_WORDS]
    if bad:
        raise HarnessError(f"{where}: symptom={bad[0]}: expected one of "
                           f"{', '.join(SYMPTOM_WORDS)}")


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


def too_broad(entries: Sequence[Xfail], cases: Sequence[str]) -> str:
    """One line refusing a case entry that matches every case of a run of MIN_CASES or more
    (a ledger that waives a whole run checks nothing), or ""."""
    if len(cases) < MIN_CASES:
        return ""
    for x in entries:
        if not x.signature and all(x.matches(c) for c in cases):
            return (f"{x.source}: {x.pattern!r} matches every one of the run's {len(cases)} "
                    f"cases: a known deviation must name what it covers")
    return ""


MIN_CASES = 10  # runs this large refuse an entry that matches all of their cases


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
