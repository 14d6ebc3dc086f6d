"""Do two report directories hold the same verdicts and figures? python scripts/same_figures.py A B

Compares run.json (every verdict, figure and setting, times and the report's own paths left
out) and summary.csv (every row), and prints the first difference of each; exit 0 when both
files agree, 1 otherwise. For checking that a change to the harness changed no result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

TIMES = {"started", "wall_seconds", "impl_seconds", "prepare_seconds", "seconds"}


def _strip(o, root: str):
    """o without time fields, with the report directory's path spelled <report>."""
    if isinstance(o, dict):
        return {k: _strip(v, root) for k, v in o.items() if k not in TIMES}
    if isinstance(o, list):
        return [_strip(v, root) for v in o]
    return o.replace(root, "<report>") if isinstance(o, str) else o


def _first_difference(a, b, where="run.json"):
    if type(a) is not type(b):
        return f"{where}: {a!r} vs {b!r}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{where}.{k}: only in {'B' if k not in a else 'A'}"
            found = _first_difference(a[k], b[k], f"{where}.{k}")
            if found:
                return found
        return ""
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} items vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            found = _first_difference(x, y, f"{where}[{i}]")
            if found:
                return found
        return ""
    return "" if a == b else f"{where}: {a!r} vs {b!r}"


def compare(a: Path, b: Path) -> list[str]:
    """The differences between two report directories (empty when they agree)."""
    docs = [_strip(json.loads((d / "run.json").read_text()), str(d.resolve())) for d in (a, b)]
    for doc in docs:
        doc.pop("environment", None)
        for impl in doc.get("implementations", {}).values():
            impl.pop("target", None)  # where an adapter lives is not a result
    out = []
    found = _first_difference(*docs)
    if found:
        out.append(found)
    ca, cb = (pd.read_csv(d / "summary.csv") for d in (a, b))
    if ca.shape != cb.shape or list(ca.columns) != list(cb.columns):
        out.append(f"summary.csv: shape {ca.shape} vs {cb.shape}")
    else:
        diff = ~((ca == cb) | (ca.isna() & cb.isna()))
        if diff.to_numpy().any():
            row, col = next(zip(*diff.to_numpy().nonzero()))
            out.append(f"summary.csv row {row} column {ca.columns[col]}: "
                       f"{ca.iat[row, col]!r} vs {cb.iat[row, col]!r}")
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.splitlines()[0])
    problems = compare(Path(sys.argv[1]), Path(sys.argv[2]))
    print("\n".join(problems) or "same verdicts and figures")
    sys.exit(1 if problems else 0)
