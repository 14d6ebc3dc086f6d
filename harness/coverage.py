"""Which cases of a suite visit each special point of the input domain; an empty cell is a gap.

The points are the records' (impls/reference: an activation's d where implementations branch
or switch formula, a loss's kinds of target and extremes of u) and the network's size
relations below, written once. A case visits a point when the reference engine, tracing it,
sees it: an activation point when some layer with that activation has a pre-activation d equal
to the point (rounded to the case's dtype), or one ulp to either side, in any step; a loss
point when some sample of some step has (u, y) of that kind; a structure when the case's
shapes and settings have it. Cases are judged by what they compute, not by their names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from impls.reference import ACTIVATIONS, LOSSES, REDUCTIONS, Network, activation, loss
from impls.reference.dtypes import dtype as np_dtype, finfo

from .spec import DTYPES, Spec


@dataclass(frozen=True)
class Structure:
    """A relation between a network's sizes and settings that some indexing or reduction bug
    needs in order to show."""

    name: str
    holds: Callable[[Spec], bool]


STRUCTURES = (
    Structure("batch differs from every width", lambda s: s.batch not in s.sizes),
    Structure("batch 1", lambda s: s.batch == 1),
    Structure("a width of 1", lambda s: 1 in s.sizes),
    Structure("a square layer", lambda s: any(a == b for a, b in zip(s.sizes, s.sizes[1:]))),
    Structure("a non-square layer", lambda s: any(a != b for a, b in zip(s.sizes, s.sizes[1:]))),
    Structure("3 or more steps", lambda s: s.steps >= 3),
    Structure("3 or more layers", lambda s: len(s.layers) >= 3),
    Structure("mean over a batch of 1", lambda s: s.reduction == "mean" and s.batch == 1),
    Structure("mean over a batch that differs from every width",
              lambda s: s.reduction == "mean" and s.batch not in s.sizes),
)


@dataclass
class Row:
    """One point (or structure) of one function in one dtype; cells maps a side ("at", or one
    ulp to either side) or "cases" to the cases that visit it."""

    kind: str  # "activation", "loss" or "network"
    function: str
    point: str
    dtype: str
    cells: dict[str, list[str]] = field(default_factory=dict)

    @property
    def gaps(self) -> list[str]:
        return [side for side, cases in self.cells.items() if not cases]


def point_values(value: float, dtype: str) -> dict[str, np.ndarray]:
    """The point rounded to dtype, and its neighbours. The neighbours of 0 are the smallest
    normal numbers, the nearest that every implementation keeps (XLA on the CPU flushes
    subnormals to 0: jax's ledger)."""
    dt = np_dtype(dtype)
    at = np.array(value, dtype=dt)
    if value == 0:
        tiny = finfo(dt).smallest_normal
        below, above = np.array(-tiny, dtype=dt), np.array(tiny, dtype=dt)
    else:
        below = np.nextafter(at, np.array(-np.inf, dtype=dt))
        above = np.nextafter(at, np.array(np.inf, dtype=dt))
    return {"-1 ulp": below, "at": at, "+1 ulp": above}


@dataclass
class _Seen:
    """What the reference engine computed for one case: d per activation, (u, y) per step."""

    spec: Spec
    d: dict[str, list[np.ndarray]] = field(default_factory=dict)
    uy: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)


def trace_case(spec: Spec) -> _Seen:
    """What the reference engine computes for one case (every step), for the rows."""
    seen = _Seen(spec)
    net = Network.from_spec(spec)

    def record(k, fwd, grads):
        for layer, d in zip(spec.layers, fwd.d):
            seen.d.setdefault(layer.activation, []).append(d)
        seen.uy.append((fwd.u, spec.targets))

    with np.errstate(all="ignore"):
        net.fit(spec.inputs, spec.targets, spec.learning_rate, spec.steps, callback=record)
    return seen


def coverage(specs: list[Spec]) -> list[Row]:
    """Every point of every activation and loss, and every structure, with the cases that
    visit it. Activations: float64, float32 and each 16-bit dtype that some case computes
    the activation in. Losses: float64 and float32, and each reduction (which only scales te
    by 1 / batch, whatever the sample)."""
    seen = [trace_case(s) for s in specs]
    return _activation_rows(seen) + _loss_rows(seen) + _structure_rows(specs)


def _activation_rows(seen: list[_Seen]) -> list[Row]:
    rows = []
    for name in ACTIVATIONS:
        extra = {s.spec.dtype for s in seen if name in s.d} - set(DTYPES)
        for dtype in DTYPES + tuple(sorted(extra)):
            mine = [s for s in seen if s.spec.dtype == dtype and name in s.d]
            for point in activation(name).points:
                values = point_values(point.where(np_dtype(dtype)), dtype)
                cells = {side: [s.spec.name for s in mine
                                if any((d == v).any() for d in s.d[name])]
                         for side, v in values.items()}
                rows.append(Row("activation", name, point.name, dtype, cells))
    return rows


def _loss_rows(seen: list[_Seen]) -> list[Row]:
    rows = []
    for name in LOSSES:
        for dtype in DTYPES:
            mine = [s for s in seen if s.spec.dtype == dtype and s.spec.loss == name]
            for point in loss(name).points:
                visits = [s.spec.name for s in mine
                          if any(point.holds(u, y, np_dtype(dtype)).any() for u, y in s.uy)]
                rows.append(Row("loss", name, point.name, dtype, {"cases": visits}))
            rows += [Row("loss", name, f"reduction {red}", dtype,
                         {"cases": [s.spec.name for s in mine if s.spec.reduction == red]})
                     for red in REDUCTIONS]
    return rows


def _structure_rows(specs: list[Spec]) -> list[Row]:
    return [Row("network", "network", st.name, "any",
                {"cases": [s.name for s in specs if st.holds(s)]}) for st in STRUCTURES]


def gaps(rows: list[Row]) -> list[str]:
    """One line per empty cell."""
    return [f"{r.function} {r.point} ({r.dtype}) {side}" for r in rows for side in r.gaps]


def _cell(cases: list[str], most: int = 2) -> str:
    if not cases:
        return "GAP"
    more = f" +{len(cases) - most}" if len(cases) > most else ""
    return ", ".join(cases[:most]) + more


def markdown(rows: list[Row]) -> str:
    """One table per kind: function, point, dtype, then a cell per side (or reduction)."""
    lines = ["# Coverage of the input domain by the suite", "",
             f"{sum(len(r.cells) for r in rows)} cells, {len(gaps(rows))} gaps (GAP: no case "
             f"visits the point). A cell names the first cases that visit it, +N the rest "
             f"(coverage.json lists them all).", ""]
    for kind, title in (("activation", "Activations: pre-activations d, exactly and one ulp "
                                       "to either side"),
                        ("loss", "Losses: kinds of sample (u, y), and the reductions"),
                        ("network", "Network: sizes and settings")):
        mine = [r for r in rows if r.kind == kind]
        sides = list(mine[0].cells)
        lines += [f"## {title}", "", "| function | point | dtype | " + " | ".join(sides) + " |",
                  "|" + "---|" * (3 + len(sides))]
        lines += [f"| {r.function} | {r.point.replace('|', '&#124;')} | {r.dtype} | "
                  + " | ".join(_cell(r.cells[side]) for side in sides) + " |" for r in mine]
        lines.append("")
    return "\n".join(lines)


def write_coverage(rows: list[Row], out: Path) -> None:
    """coverage.md (the tables) and coverage.json (every row with every case) into out."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "coverage.md").write_text(markdown(rows))
    doc = {"gaps": gaps(rows), "rows": [{"kind": r.kind, "function": r.function,
                                         "point": r.point, "dtype": r.dtype, "cells": r.cells}
                                        for r in rows]}
    (out / "coverage.json").write_text(json.dumps(doc, indent=1))


def run_coverage(specs: list[Spec], out: Path) -> int:
    """`coverage`: the table printed and written, a line per gap; exit 1 when there is one."""
    rows = coverage(specs)
    write_coverage(rows, out)
    print(markdown(rows))
    for line in gaps(rows):
        print(f"GAP {line}")
    print(f"report: {out / 'coverage.md'}")
    return 1 if gaps(rows) else 0
