"""The accuracy audit: every implementation against the exact oracle, point by point, over
the inputs that matter, like the accuracy tables numerical libraries publish.

For each activation and dtype, one spec traces a grid of pre-activations d as a batch (x = d,
w = 1, b = 0, then an identity output with target f(d) - 1, so that te = 1 and the first
layer's v is t(d) itself): around 0 (1e-20 to 0.1), moderate values, the kink, saturation
(|d| of 10 to 800) and subnormal d. For each loss, one spec per point gives e and the output
layer's v. Every implementation's h and t (v) and e are compared with `exact` rounded to the
dtype: the error in ULPs of the dtype and the relative error. A *shared inaccuracy* is a run
of points where every implementation but the engine's accurate form is off by more than
2^10 ULPs (relative) while the exact value is a normal number: pairwise comparison cannot see
it, since they agree with each other. The engine's accurate form ("reference-accurate",
`Network(..., form="accurate")`) is measured alongside the seed's form ("reference").
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from impls.reference import ACTIVATIONS, LOSSES, activation, loss as loss_record
from impls.reference_impl import ReferenceImpl

from .compare import ulp_distance
from .errors import HarnessError
from .registry import get
from .report import strict_json
from .runner import Outcome, run_one
from .spec import DTYPES, Spec, finfo, spec_from_dict
from .suite_surface import NEW_LOSSES, samples

ACCURATE = "reference-accurate"
LOST_ULPS = 2.0 ** 10  # an implementation off by more than this has lost 10 bits and more


def activation_grid(dtype: str) -> list[tuple[str, float]]:
    """(region, d) points, in increasing d within each region."""
    tiny = float(finfo(dtype).tiny)
    near0 = [10.0 ** k for k in range(-20, 0, 2)]
    moderate = [0.25, 0.5, 1.0, 2.0, 3.0, 5.0]
    saturation = sorted(set(np.round(np.geomspace(10, 800, 16), 1).tolist()))
    points = [("around 0", -v) for v in reversed(near0)] + [("around 0", v) for v in near0]
    points += [("moderate", -v) for v in reversed(moderate)] + [("moderate", v) for v in moderate]
    points += [("kink", 0.0)]
    points += [("saturation", -v) for v in reversed(saturation)]
    points += [("saturation", v) for v in saturation]
    points += [("subnormal", s * tiny * f) for s in (-1, 1) for f in (0.5, 2.0 ** -10)]
    return points


def loss_grid(loss: str, dtype: str) -> list[tuple[str, list[float], list[float]]]:
    """(region, u row, y row) points for a loss on two outputs."""
    eps = float(finfo(dtype).eps)
    if loss == "binary_cross_entropy":  # u must come out of a sigmoid: given as its d
        ds = [-30.0, -20.0, -12.0, -5.0, -1.0, 0.5, 3.0, 8.0, 15.0, 25.0]
        if dtype == "float32":
            ds = [d for d in ds if abs(d) <= 15]
        return [("u near 0" if d < -3 else "u near 1" if d > 3 else "moderate", [d, -d], y)
                for d in ds for y in ([1.0, 0.0], [0.0, 1.0])]
    if loss == "softmax_cross_entropy":
        scales = [1e-8, 1e-3, 1.0, 10.0, 100.0, 1e3, 3e4 if dtype == "float64" else 80.0]
        return [("logits " + ("small" if s < 1 else "large" if s > 50 else "moderate"),
                 [s, -s], y) for s in scales for y in ([1.0, 0.0], [0.3, 0.7])]
    if loss in NEW_LOSSES:  # the default suite's hard samples, a point each (both outputs)
        return [(f"u = {u:g}, y = {y:g}", [u, u], [y, y])
                for u, y in zip(*samples(loss, dtype))]
    diffs = [eps, 1e-8, 1e-3, 1.0, 1e3]
    return [("u near y" if d < 1e-6 else "moderate", [0.5 + d, -0.25], [0.5, -0.25 - d])
            for d in diffs]


def activation_spec(act: str, dtype: str) -> Spec:
    """The grid as one batch: d = x, t(d) = v (see the module docstring)."""
    ds = np.array([d for _, d in activation_grid(dtype)], dtype=dtype)
    record = activation(act, 0.01)
    with np.errstate(all="ignore"):
        y = record.f(ds) - ds.dtype.type(1)
    return spec_from_dict({
        "name": f"audit-{act}-{dtype}", "dtype": dtype, "loss": "squared_error",
        "layers": [{"weights": [[1.0]], "bias": [0.0], "activation": act},
                   {"weights": [[1.0]], "bias": [0.0], "activation": "identity"}],
        "inputs": ds[:, None].tolist(), "targets": y[:, None].tolist(),
        "learning_rate": 1e-6, "steps": 1})


def loss_specs(loss: str, dtype: str) -> list[tuple[str, Spec]]:
    out = []
    for k, (region, u, y) in enumerate(loss_grid(loss, dtype)):
        act = (loss_record(loss).outputs or ("identity",))[0]  # BCE's u: sigmoid's d
        out.append((region, spec_from_dict({
            "name": f"audit-{loss}-{dtype}-{k}", "dtype": dtype, "loss": loss,
            "layers": [{"weights": [[1.0, 0.0], [0.0, 1.0]], "bias": [0.0, 0.0],
                        "activation": act}],
            "inputs": [u], "targets": [y], "learning_rate": 1e-6, "steps": 1})))
    return out


def _errors(values: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ULP distance (in the dtype) and relative error of values against the truth."""
    ulp = ulp_distance(values, truth)
    a, e = values.astype(np.float64), truth.astype(np.float64)
    with np.errstate(all="ignore"):
        rel = np.where(a == e, 0.0, np.abs(a - e) / np.abs(e))
    rel = np.where(np.isnan(a) != np.isnan(e), np.inf, rel)
    return ulp, rel


@dataclass
class Audit:
    """Every point's errors (a DataFrame: x is d for an activation; for a loss, the first
    input: u, a logit's scale, or the sigmoid's d for BCE), the shared inaccuracies found in
    them, and the inaccuracies of one implementation alone."""

    points: pd.DataFrame
    findings: list[dict]
    alone: list[dict]
    implementations: list[str]
    seconds: float


def _trace(name: str, spec: Spec, timeout: float | None) -> Outcome:
    if name == ACCURATE:
        start = time.perf_counter()
        with np.errstate(all="ignore"):
            trace = ReferenceImpl(form="accurate").trace(spec)
        return Outcome(name, spec.name, "ok", trace=trace, seconds=time.perf_counter() - start)
    return run_one(name, spec, timeout)


def run_audit(impls: list[str], dtypes=DTYPES, activations=ACTIVATIONS, losses=LOSSES,
              timeout: float | None = None) -> Audit:
    """Measure `impls` (and the reference's two forms) against exact, each trace bounded by
    `timeout` seconds (a trace that runs past it is left out, as any error)."""
    if not get("exact").available:
        raise HarnessError(f"the audit needs the exact oracle: {get('exact').reason}")
    names = list(dict.fromkeys(["reference", ACCURATE, *impls]))
    start = time.perf_counter()
    rows = []
    for dtype in dtypes:
        for act in activations:
            spec = activation_spec(act, dtype)
            regions = [r for r, _ in activation_grid(dtype)]
            truth = run_one("exact", spec).trace.steps[0].layers[0]
            for name in names:
                outcome = _trace(name, spec, timeout)
                if outcome.status != "ok":
                    continue
                layer = outcome.trace.steps[0].layers[0]
                for quantity, got, want in (("h", layer.h, truth.h), ("t", layer.v, truth.v)):
                    ulp, rel = _errors(got[:, 0], want[:, 0])
                    for k, region in enumerate(regions):
                        rows.append({"function": act, "dtype": dtype, "quantity": quantity,
                                     "impl": name, "region": region,
                                     "x": float(spec.inputs[k, 0]), "value": float(got[k, 0]),
                                     "exact": float(want[k, 0]), "ulp": float(ulp[k]),
                                     "rel": float(rel[k])})
        for loss in losses:
            for k, (region, spec) in enumerate(loss_specs(loss, dtype)):
                truth = run_one("exact", spec).trace.steps[0]
                for name in names:
                    outcome = _trace(name, spec, timeout)
                    if outcome.status != "ok":
                        continue
                    step = outcome.trace.steps[0]
                    for quantity, got, want in (
                            ("e", np.asarray(step.loss).reshape(1), np.asarray(truth.loss)
                             .reshape(1)),
                            ("v", step.layers[0].v[0, :1], truth.layers[0].v[0, :1])):
                        ulp, rel = _errors(got.astype(spec.dtype), want.astype(spec.dtype))
                        rows.append({"function": loss, "dtype": dtype, "quantity": quantity,
                                     "impl": name, "region": region,
                                     "x": float(spec.inputs[0, 0]), "value": float(got[0]),
                                     "exact": float(want[0]), "ulp": float(ulp[0]),
                                     "rel": float(rel[0])})
    points = pd.DataFrame(rows)
    return Audit(points, inaccuracies(points, shared=True), inaccuracies(points, shared=False),
                 names, time.perf_counter() - start)


def inaccuracies(points: pd.DataFrame, shared: bool) -> list[dict]:
    """Runs of consecutive grid points where implementations have lost more than 10 bits
    relative to a normal exact value: with `shared`, every one but the accurate form (at
    least two); otherwise each implementation where not all of them have."""
    findings = []
    for (fn, dtype, quantity), group in points.groupby(["function", "dtype", "quantity"],
                                                       sort=False):
        tiny = float(finfo(dtype).tiny)
        eps = float(finfo(dtype).eps)
        wide = group.pivot_table(index="x", columns="impl", values="rel", aggfunc="max")
        exact = group.groupby("x")["exact"].first().reindex(wide.index)
        seed_impls = [c for c in wide.columns if c != ACCURATE]
        if len(seed_impls) < 2:
            continue
        off = (wide > LOST_ULPS * eps) & (exact.abs() >= tiny).to_numpy()[:, None]
        everyone = off[seed_impls].all(axis=1)
        marks = {"every": everyone} if shared else \
            {c: off[c] & ~everyone for c in wide.columns}
        for who, lost in marks.items():
            for run in _runs(lost):
                cut = wide.loc[run]
                finding = {"function": fn, "dtype": dtype, "quantity": quantity,
                           "from": min(run), "to": max(run), "points": len(run)}
                if shared:
                    finding["max_rel"] = {c: float(cut[c].max()) for c in seed_impls}
                    finding["accurate_form_max_rel"] = float(cut[ACCURATE].max()) \
                        if ACCURATE in cut else None
                else:
                    finding["impl"], finding["max_rel"] = who, float(cut[who].max())
                findings.append(finding)
    return findings


def _runs(flags: pd.Series) -> list[list[float]]:
    """The runs of consecutive True values, as lists of their index labels."""
    runs, run = [], []
    for x, bad in flags.items():
        if bad:
            run.append(x)
        elif run:
            runs.append(run)
            run = []
    return runs + ([run] if run else [])


def summary_table(points: pd.DataFrame) -> pd.DataFrame:
    """Per function, dtype, quantity, region and implementation: the worst ULP and relative
    errors (the published-accuracy-table view)."""
    table = points.groupby(["function", "dtype", "quantity", "region", "impl"], sort=False) \
        .agg(max_ulp=("ulp", "max"), max_rel=("rel", "max")).reset_index()
    return table


def _plot(points: pd.DataFrame, fn: str, dtype: str, path: Path) -> bool:
    """Error against d (or the grid point), one line per implementation, per quantity."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    group = points[(points.function == fn) & (points.dtype == dtype)]
    quantities = list(dict.fromkeys(group.quantity))
    fig, axes = plt.subplots(1, len(quantities), figsize=(5.5 * len(quantities), 3.6),
                             squeeze=False)
    floor = float(finfo(dtype).eps) / 4
    for ax, q in zip(axes[0], quantities):
        for name, sub in group[group.quantity == q].groupby("impl", sort=False):
            x = np.arange(len(sub)) if fn in LOSSES else sub.x.to_numpy()
            ax.plot(x, np.clip(sub.rel.to_numpy(), floor, 10.0), marker=".", lw=1, label=name)
        ax.set_yscale("log")
        if fn not in LOSSES:
            ax.set_xscale("symlog", linthresh=1e-20)
        ax.set_xlabel("grid point" if fn in LOSSES else "d")
        ax.set_ylabel("relative error vs exact")
        ax.set_title(f"{fn} ({dtype}): {q}")
        ax.axhline(LOST_ULPS * float(finfo(dtype).eps), color="grey", ls="--", lw=0.8)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, format="svg")
    plt.close(fig)
    return True


def write_audit(audit: Audit, out: Path) -> Path:
    """audit.md (the table and the findings), audit.csv (every point), audit.json, and one
    plot per function and dtype."""
    out.mkdir(parents=True, exist_ok=True)
    points = audit.points
    points.to_csv(out / "audit.csv", index=False)
    table = summary_table(points)
    plots = []
    for fn, dtype in dict.fromkeys(zip(points.function, points.dtype)):
        name = f"{fn}-{dtype}.svg"
        if _plot(points, fn, dtype, out / name):
            plots.append(name)
    lines = ["# Accuracy audit", "",
             "x is d for an activation; for a loss, the first input (u, a logit scale, or "
             "the sigmoid's d for binary cross-entropy). t is measured as the first layer's "
             "v with te = 1.", "",
             f"Implementations: {', '.join(audit.implementations)}; truth: `exact` (60 digits) "
             f"rounded to the dtype; {len(points):,} measurements in {audit.seconds:.1f} s.",
             "", "## Shared inaccuracies", ""]
    if not audit.findings:
        lines.append("None found.")
    for f in audit.findings:
        worst = ", ".join(f"{k} {v:.2g}" for k, v in f["max_rel"].items())
        accurate = f"; the accurate form: {f['accurate_form_max_rel']:.2g}" \
            if f["accurate_form_max_rel"] is not None else ""
        lines.append(f"- **{f['function']} {f['quantity']} ({f['dtype']})** for x from "
                     f"{f['from']:g} to {f['to']:g} ({f['points']} points): every "
                     f"implementation loses relative precision (worst relative error: "
                     f"{worst}{accurate})")
    lines += ["", "## One implementation alone", ""]
    if not audit.alone:
        lines.append("None found.")
    for f in audit.alone:
        lines.append(f"- {f['impl']}: {f['function']} {f['quantity']} ({f['dtype']}) for x "
                     f"from {f['from']:g} to {f['to']:g} ({f['points']} points), worst "
                     f"relative error {f['max_rel']:.2g}")
    lines += ["", "## Worst error per region", "",
              "| function | dtype | quantity | region | impl | max ULPs | max relative |",
              "|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.function} | {r.dtype} | {r.quantity} | {r.region} | {r.impl} | "
                     f"{r.max_ulp:.3g} | {r.max_rel:.3g} |")
    if plots:
        lines += ["", "## Plots", ""] + [f"- [{p}]({p})" for p in plots]
    (out / "audit.md").write_text("\n".join(lines) + "\n")
    (out / "audit.json").write_text(json.dumps(strict_json(
        {"implementations": audit.implementations, "findings": audit.findings,
         "alone": audit.alone,
         "table": table.to_dict(orient="records")}), indent=1, allow_nan=False))
    return out
