"""Detection coverage: for every cell of the domain model, a wrong implementation is planted
and the suite must fail it at the quantity where the wrong value enters.

A cell is one special point of one record in one dtype, one side of it and one part (an
activation's f or t, a loss's fe or te), or one class of the spec format's domain
(impls/reference/domain.py: a field's value class, an (output activation, loss) pair, the
sizes where a 16-bit accumulation shows). Its plant is the reference engine with that one
value or class wrong (plants.py), run on the cases that visit the cell (a plant changes
nothing elsewhere, so the other cases would pass it anyway) and judged against the reference
as `run` judges. A cell is detected when some case fails the plant with its divergence
origin at the quantity where the perturbation enters (h for f, v for t and te, the loss for
fe). A cell no case detects is either undetectable in principle, with the reason (the
perturbed value rounds to the same number in the dtype, or the tolerance model allows a
correct implementation that much there), or a hole: `coverage --detect` exits 1 on it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from impls.reference import activation, loss
from impls.reference.domain import (GRADIENT_SPREAD, REFUSED, accumulation_size, fields,
                                    pair_classes, pairs, usual_output)
from impls.reference.dtypes import dtype as np_dtype, finfo
from impls.reference_impl import ReferenceImpl

from . import plants
from .plants import delta
from .coverage import coverage, point_values, trace_case
from .judge import judge
from .runner import Outcome
from .spec import ALL_DTYPES, Spec
from .tolerance import LOW_PRECISION_K, default_tolerances

ENTERS = {"f": ("h",), "t": ("v",), "fe": ("loss",), "te": ("v",)}


@dataclass
class Cell:
    """One planted defect and what became of it. status: "detected", "in principle" (no
    case can detect it: `reason` says why) or "UNDETECTED"."""

    kind: str  # "activation", "loss", "field", "pair class", "pair", "accumulation"
    function: str
    part: str
    point: str
    dtype: str
    side: str = ""
    cases: list[str] = field(default_factory=list)
    detected_by: str = ""
    quantity: str = ""
    reason: str = ""

    @property
    def status(self) -> str:
        return "detected" if self.detected_by else "in principle" if self.reason else \
            "UNDETECTED"

    def label(self) -> str:
        side = f" {self.side}" if self.side else ""
        return f"{self.function} {self.part} {self.point}{side} ({self.dtype})"


class _Runner:
    """Runs plants on cases, judging each against one cached reference trace per case."""

    def __init__(self, specs: list[Spec]):
        self.specs = {s.name: s for s in specs}
        self.base: dict[str, Outcome] = {}
        self.impl = ReferenceImpl()

    def reference(self, spec: Spec) -> Outcome:
        if spec.name not in self.base:
            self.base[spec.name] = Outcome("reference", spec.name, "ok",
                                           trace=self.impl.trace(spec))
        return self.base[spec.name]

    def detect(self, cell: Cell, hook, enters: tuple[str, ...]) -> None:
        """Each visiting case in turn until one fails the plant where it enters."""
        for name in cell.cases:
            spec = self.specs[name]
            try:
                trace = plants.trace(spec, hook)
                other = Outcome("planted", name, "ok", trace=trace)
            except Exception as exc:  # a plant that raises is failed by any run
                other = Outcome("planted", name, "error", message=str(exc))
            verdict = judge(spec, self.reference(spec), other)
            if verdict.ok:
                continue
            where = verdict.origin.quantity if verdict.origin else verdict.status
            if where in enters or verdict.origin is None:
                cell.detected_by, cell.quantity = name, where
                return


def detection(specs: list[Spec], per_pair: bool = False) -> list[Cell]:
    """Every cell of the domain model, planted and run on the cases that visit it (with
    per_pair, a cell per (output activation, loss) pair too: `coverage --detect --full`)."""
    runner = _Runner(specs)
    rows = coverage(specs)
    seen = {s.name: trace_case(s) for s in specs}
    cells = _activation_cells(rows, runner) + _loss_cells(rows, runner, seen)
    cells += _field_cells(specs, runner) + _pair_cells(specs, runner, per_pair)
    cells += _accumulation_cells(specs, runner)
    return cells


def _activation_cells(rows, runner: _Runner) -> list[Cell]:
    out = []
    for row in (r for r in rows if r.kind == "activation"):
        record = activation(row.function)
        point = next(p for p in record.points if p.name == row.point)
        values = point_values(point.where(np_dtype(row.dtype)), row.dtype)
        for side, cases in row.cells.items():
            for part in ("f", "t"):
                cell = Cell("activation", row.function, part, row.point, row.dtype, side,
                            list(cases))
                hook = plants.bump_activation(row.function, part, float(values[side]),
                                              delta(row.dtype))
                runner.detect(cell, hook, ENTERS[part])
                if not cell.detected_by:
                    cell.reason = _activation_reason(record, part, values[side], row.dtype)
                out.append(cell)
        out += [_kink_cell(record, kink, row, runner) for kink in record.kinks
                 if float(values["at"]) == kink]
    return out


def _kink_cell(record, kink: float, row, runner: _Runner) -> Cell:
    """t at a kink (a special point's "at") taken from the branch on the other side of the
    convention."""
    cell = Cell("activation", record.name, "t", f"wrong branch at the kink {kink:g}", row.dtype,
                "at", list(row.cells["at"]))
    wrong = plants.other_branch(record, kink, row.dtype)
    if wrong is None:
        cell.reason = "t is the same on both sides of the kink"
        return cell
    runner.detect(cell, plants.set_activation_t(record.name, kink, wrong), ("v",))
    return cell


def _compute(dtype: str) -> np.dtype:
    dt = np_dtype(dtype)
    return np.dtype(np.float32) if dt.itemsize < 4 else dt


def _activation_reason(record, part: str, value, dtype: str) -> str:
    """Why no case can detect a relative error of delta in f or t at d = value, or ""."""
    dt, ct = np_dtype(dtype), _compute(dtype)
    d = np.array([value], dtype=ct)
    with np.errstate(all="ignore"):
        h = record.f(d)
        t = record.t(d, h)
    q = (h if part == "f" else t).astype(dt)
    bumped = (q.astype(ct) * ct.type(1 + delta(dtype))).astype(dt)
    if not np.isfinite(q[0]) or bumped[0] == q[0]:
        return f"{part}(d) = {float(q[0]):.3g}: a relative error of {delta(dtype):.2g} " \
               f"rounds to the same {dtype} number"
    info = finfo(dt)
    eps, tiny = float(info.eps), float(info.smallest_normal)
    d64, h64, t64 = (np.asarray(a, dtype=np.float64) for a in (d, h, t))
    m_f, m_t, dt_bound = record.rounding(np, d64, h64, np.abs(t64), tiny / eps)
    m_d = np.sqrt(2) * np.abs(d64) + tiny / eps  # d = x w + b: at least sqrt(2) |d|
    tol = default_tolerances(dtype)["forward" if part == "f" else "backward"]
    if part == "f":
        allowed = tol.atol + tol.rtol * (np.abs(t64) * m_d + m_f + tiny / eps)
    else:  # v = te t: M(v) >= |te| M(t) + |v|, so relative to |t|
        allowed = tol.rtol * (dt_bound * m_d + m_t + np.abs(t64) + tiny / eps)
    if delta(dtype) * abs(float(q[0])) <= float(allowed[0]):
        return f"the tolerance allows {float(allowed[0]):.3g} at {part}(d) = " \
               f"{float(q[0]):.3g} (a correct implementation's rounding there)"
    return ""


def _loss_cells(rows, runner: _Runner, seen: dict) -> list[Cell]:
    out = []
    for row in (r for r in rows if r.kind == "loss" and not r.point.startswith("reduction")):
        record = loss(row.function)
        point = next(p for p in record.points if p.name == row.point)
        for part in ("fe", "te"):
            cell = Cell("loss", row.function, part, row.point, row.dtype, "",
                        list(row.cells["cases"]))
            runner.detect(cell, plants.bump_loss(row.function, part, point, delta(row.dtype)),
                          ENTERS[part])
            if not cell.detected_by:
                cell.reason = _loss_reason(record, part, point, row.dtype,
                                           [seen[c] for c in cell.cases])
            out.append(cell)
    return out


def _loss_reason(record, part: str, point, dtype: str, visits) -> str:
    """Why no case can detect the loss's plant: at every visited sample the planted term is
    0, or within the tolerance of that output alone with u rounded once (M(u) = |u|), the
    least any network computing u has; "" otherwise."""
    dt = np_dtype(dtype)
    eps = float(finfo(dt).eps)
    tol = default_tolerances(dtype)["forward" if part == "fe" else "backward"]
    worst = 0.0
    for s in visits:
        for u, y in s.uy:
            mask = plants.loss_mask(point, u, y, dt)
            with np.errstate(all="ignore"):
                if part == "te":
                    q = record.te(u, y)
                    m = record.rounding(np, u, y, np.abs(u), eps)[1] + np.abs(q)
                else:
                    q = plants.terms(record, u, y)
                    m = record.rounding(np, u[..., None], y[..., None],
                                        np.abs(u[..., None]), eps)[0]
            ratio = np.where(mask & np.isfinite(q), delta(dtype) * np.abs(q)
                             / (tol.atol + tol.rtol * m), 0.0)
            worst = max(worst, float(np.nan_to_num(ratio).max(initial=0.0)))
    if not visits:
        return ""
    if worst <= 1:
        return f"where visited, {part} is 0 or within the tolerance of its own output"
    return ""


def _field_cells(specs: list[Spec], runner: _Runner) -> list[Cell]:
    out = []
    for fld in fields():
        for cls in fld.classes:
            cell = Cell("field", fld.name, "class", cls.name, "any", "",
                        [s.name for s in specs if fld.visits(s, cls)])
            if (fld.name, cls.name) in REFUSED:
                cell.reason = "the format refuses it"
            else:
                hook, enters, why = plants.field_plant(fld, cls)
                if hook is None:
                    cell.reason = why
                else:
                    runner.detect(cell, hook, enters)
                    if not cell.detected_by and why:
                        cell.reason = why
            out.append(cell)
    return out


def _pair_cells(specs: list[Spec], runner: _Runner, per_pair: bool = False) -> list[Cell]:
    """A loss gradient that assumes the loss's usual output activation: a cell per class of
    pairs (domain.pair_classes: the range of u the output activation produces), detected by
    a case of any pair of the class but the usual one; with per_pair (`--full`), a cell per
    pair as well (the full matrix's pair-* cases hold each)."""
    out = []
    held = lambda a, name: [s.name for s in specs  # noqa: E731
                            if s.loss == name and s.layers[-1].activation == a]
    for (rng, name), members in pair_classes().items():
        others = [a for a in members if a != usual_output(name)]
        cell = Cell("pair class", f"u in {rng} + {name}", "te", "gradient assumes the usual "
                    f"output activation ({usual_output(name)}): {', '.join(members)}", "any",
                    "", [c for a in others for c in held(a, name)])
        if not others:
            cell.reason = "the usual pair: nothing else to assume"
        else:
            runner.detect(cell, plants.assume_usual_output(name), ("v",))
        out.append(cell)
    for act, name in pairs() if per_pair else ():
        cell = Cell("pair", f"{act} + {name}", "te", "gradient assumes the usual output "
                    f"activation ({usual_output(name)})", "any", "", held(act, name))
        if act == usual_output(name):
            cell.reason = "the usual pair: nothing else to assume"
        else:
            runner.detect(cell, plants.assume_usual_output(name), ("v",))
        out.append(cell)
    return out


def pair_detection(specs: list[Spec], per_pair: bool = True) -> list[Cell]:
    """The pair cells alone (a test of the full matrix without every other plant)."""
    return _pair_cells(specs, _Runner(specs), per_pair)


def _accumulation_cells(specs: list[Spec], runner: _Runner) -> list[Cell]:
    """Products (over a width) and batch sums accumulated in the narrow dtype itself."""
    out = []
    for dtype in ALL_DTYPES:
        for what, spread, length, enters in (
                ("width", 0.0, lambda s: max(s.sizes[:-1]), ("d",)),
                ("batch", GRADIENT_SPREAD, lambda s: s.batch, ("loss", "grad_bias"))):
            n = accumulation_size(dtype, LOW_PRECISION_K, spread)
            cell = Cell("accumulation", what, "class", f"{what} >= {n}" if n else what, dtype)
            if np_dtype(dtype).itemsize >= 4:
                cell.reason = "accumulates in its own dtype: nothing narrower"
            elif n is None:
                cell.reason = "the tolerance (K eps sqrt(n + 1) sum of the terms, and more for " \
                              "a gradient) grows faster than the narrow sum's error at every " \
                              "length"
            else:
                cell.cases = [s.name for s in specs if s.dtype == dtype and length(s) >= n]
                runner.detect(cell, plants.narrow_accumulation(what), enters)
            out.append(cell)
    return out


def undetected(cells: list[Cell]) -> list[Cell]:
    return [c for c in cells if c.status == "UNDETECTED"]


def markdown(cells: list[Cell]) -> str:
    """A count per kind, function and part; then every cell not detected, with its reason."""
    groups: dict = {}
    for c in cells:
        g = groups.setdefault((c.kind, c.function, c.part), [0, 0, 0])
        g[0] += 1
        g[1] += c.status == "detected"
        g[2] += c.status == "in principle"
    counts = {s: sum(c.status == s for c in cells) for s in ("detected", "in principle",
                                                             "UNDETECTED")}
    lines = ["# Detection coverage: planted defects and the suite", "",
             f"{len(cells)} cells planted: {counts['detected']} detected, "
             f"{counts['in principle']} undetectable in principle, {counts['UNDETECTED']} "
             f"undetected.", "", "| kind | function | part | planted | detected | "
             "in principle | undetected |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {k} | {f} | {p} | {n} | {d} | {i} | {n - d - i} |"
              for (k, f, p), (n, d, i) in groups.items()]
    for status, title in (("UNDETECTED", "Undetected (no case fails the plant)"),
                          ("in principle", "Undetectable in principle")):
        mine = [c for c in cells if c.status == status]
        if mine:
            lines += ["", f"## {title}", ""]
            lines += [f"- {c.label()}: " + (c.reason or ("visited by " + ", ".join(
                c.cases[:3]) if c.cases else "no case visits it")) for c in mine]
    return "\n".join(lines) + "\n"


def write_detection(cells: list[Cell], out: Path) -> None:
    """detect.md (the counts and the cells not detected) and detect.json (every cell)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "detect.md").write_text(markdown(cells))
    (out / "detect.json").write_text(json.dumps(
        [dict(asdict(c), status=c.status) for c in cells], indent=1))


def run_detect(specs: list[Spec], out: Path, per_pair: bool = False) -> int:
    """`coverage --detect`: the table printed and written, a line per undetected cell; exit 1
    when there is one."""
    cells = detection(specs, per_pair)
    write_detection(cells, out)
    print(markdown(cells))
    for cell in undetected(cells):
        print(f"UNDETECTED {cell.label()}")
    print(f"report: {out / 'detect.md'}")
    return 1 if undetected(cells) else 0
