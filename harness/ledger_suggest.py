"""`backprop-harness ledger suggest REPORT`: the signature entries (docs/ledger.md) that would
name a run's root causes, one per cause, grouped by implementation, for a person to review,
give the upstream link (url=FILL-IN until then) and paste into that adapter's ledger.

Only failures are suggested: a root cause that a ledger already names is a known deviation
already, and a divergence that does not reduce to one neuron has no signature to name.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from .errors import HarnessError
from .signature import Signature, describe

SYMPTOM_WORD = {"NaN": "nan", "Inf": "inf", "zero": "zero",
                "lost relative precision": "precision", "wrong value": "wrong"}
BAND = re.compile(r"^\w+ in ([(\[])(-?[\d.e+inf]+), (-?[\d.e+inf]+)([)\]])$")


def _read(report: Path) -> dict:
    path = report / "run.json" if report.is_dir() else report
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise HarnessError(f"cannot read a run's report at {report}: {exc}") from None


def _where(sigs) -> list[str]:
    """The regions seen as entry keys: bands "d in (-100, -10]" as the input range that
    covers them all (input=-100..-10), a subnormal one as region=subnormal, "d = 0" as
    input=0..0; "normal operands" says nothing more."""
    bands = [BAND.match(s.region) for s in sigs]
    if all(bands):
        lo = min(float(m.group(2)) for m in bands)
        hi = max(float(m.group(3)) for m in bands)
        return [f"input={_num(str(lo))}..{_num(str(hi))}"]
    region = sigs[0].region
    if "subnormal" in region:
        return ["region=subnormal"]
    if " = " in region:
        value = _num(region.split(" = ", 1)[1])
        return [f"input={value}..{value}"]
    return []


def _num(text: str) -> str:
    value = float(text)
    return ("-inf" if value < 0 else "inf") if math.isinf(value) else f"{value:g}"


def suggest(report: Path) -> str:
    """The entries for a report folder (or its run.json), as text to print."""
    doc = _read(Path(report))
    causes: dict = {}  # (impl, function, part, region): [(Signature, case)]
    for case in doc.get("cases", []):
        if case.get("status") not in ("fail", "error"):
            continue
        for c in case.get("root_causes", []):
            if not c.get("reproduced"):
                continue
            sig = Signature(**c["signature"])
            causes.setdefault(sig.cause, []).append((sig, case["case"]))
    if not causes:
        return "# no failure of this run reduces to a root cause at one neuron: nothing to " \
               "suggest\n"
    lines = ["# Signature entries for this run's root causes: review each, put the upstream",
             "# report in url= (FILL-IN until it is filed), and add it to the adapter's ledger",
             "# (its `xfails` file; docs/ledger.md). Then re-run: the cases turn xfail."]
    for impl in dict.fromkeys(k[0] for k in causes):
        lines += ["", f"# {impl}"]
        for key, seen in causes.items():
            if key[0] != impl:
                continue
            sigs = [s for s, _ in seen]
            first = sigs[0]
            cases = sorted({case for _, case in seen})
            dtypes = ",".join(dict.fromkeys(s.dtype for s in sigs))
            symptoms = ",".join(dict.fromkeys(SYMPTOM_WORD[s.symptom] for s in sigs))
            keys = [f"function={first.function}", f"part={first.part}",
                    *_where(sigs), f"dtype={dtypes}", f"symptom={symptoms}"]
            lines += [f"# seen in {len(cases)} case(s): {', '.join(cases[:5])}"
                      f"{', ...' if len(cases) > 5 else ''}",
                      f"signature {' '.join(keys)} url=FILL-IN {describe(sigs)}"]
    return "\n".join(lines) + "\n"


def add_ledger_parser(sub) -> None:
    ledger = sub.add_parser("ledger", help="known-deviation ledgers: suggest entries for a "
                                           "run's root causes")
    what = ledger.add_subparsers(dest="ledger_command", required=True)
    s = what.add_parser("suggest", help="print signature entries for a run's root causes")
    s.add_argument("report", type=Path, metavar="REPORT",
                   help="a run's report folder (or its run.json)")


def cmd_ledger(args) -> int:
    print(suggest(args.report), end="")
    return 0
