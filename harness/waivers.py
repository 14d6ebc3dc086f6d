"""What each implementation's declarations waived in a run, and which checked nothing: shown
where a user reads the verdict (the CLI's end summary, summary.md), so that a PASS bought by a
declaration says so.

Declarations: a looser `accuracy` (capped by tolerance.MAX_ACCURACY), quantity groups
`shared_with_reference` (the pytest route skips them), cases declined (not supported, by a
documented precondition or otherwise) and known deviations (the ledger).
"""

from __future__ import annotations

from .errors import HarnessError
from .registry import get
from .tolerance import default_tolerances
from .words import count

NOTHING_CHECKED = 5  # the exit code of a run in which an implementation checked nothing (pytest's)
CHECKED = ("pass", "fail", "error", "xfail", "xpass")


def waived(run) -> dict[str, list[str]]:
    """impl -> what its declarations waived in `run`, in words; impls that waived nothing
    left out."""
    out = {}
    for name in dict.fromkeys(r.impl for r in run.results):
        mine = [r for r in run.results if r.impl == name]
        words = []
        try:
            impl = get(name).impl
        except HarnessError:
            impl = None
        declared = getattr(impl, "accuracy", None) or {}
        for phase, values in declared.items():
            model = default_tolerances("float64")[phase].rtol
            if "rtol" in values:
                words.append(f"{phase} rtol {values['rtol']:g} "
                             f"({values['rtol'] / model:.2g} times the model's in float64)")
            if "atol" in values:
                words.append(f"{phase} atol {values['atol']:g}")
        shared = getattr(impl, "shared_with_reference", ()) or ()
        if shared:
            words.append(f"quantity groups shared with the reference ({', '.join(shared)}) "
                         f"not compared under pytest")
        declined = [r for r in mine if r.status == "unsupported"]
        by_precondition = sum("precondition:" in r.message for r in declined)
        if declined:
            words.append(f"{count(len(declined), 'case')} declined"
                         + (f" ({by_precondition} by a documented precondition)"
                            if by_precondition else ""))
        known = sum(r.status == "xfail" for r in mine)
        if known:
            words.append(f"{count(known, 'case')} covered by its ledger")
        if words:
            out[name] = words
    return out


def unchecked(run) -> list[str]:
    """The implementations (the baseline aside) that checked no case at all in `run`."""
    names = dict.fromkeys(r.impl for r in run.results)
    return [n for n in names if not any(r.impl == n and r.status in CHECKED
                                        for r in run.results)]


def summary_lines(run, unchecked_too: bool = True) -> list[str]:
    """The CLI's lines under the totals: what declarations waived, how many elements were
    judged against exact, which implementation checked nothing (not with `unchecked_too`
    False: the pytest plugin says that from every test report, xdist's too)."""
    lines = [f"waived by {name}'s declarations: {'; '.join(words)}"
             for name, words in waived(run).items()]
    pinned = sum(r.exact_judged for r in run.results)
    if pinned:
        lines.append(f"{pinned} element(s) judged against exact, where the first-order "
                     f"tolerance was vacuous (docs/tolerances.md#no-vacuous-pass)")
    lines += [f"nothing checked: {name} ran no case of this run (every one declined)"
              for name in (unchecked(run) if unchecked_too else ())]
    return lines


def exit_code(run) -> int:
    """1 for a failure, NOTHING_CHECKED where an implementation checked nothing, else 0."""
    return 1 if not run.ok else NOTHING_CHECKED if unchecked(run) else 0
