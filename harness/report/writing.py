"""Writing a report directory whole or not at all: every file built under a hidden temporary
name holding an INCOMPLETE marker, then renamed into place; failing/ with the spec of each
divergent case, reproduce.sh and the per-framework reproducers."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime
from pathlib import Path

from ..conformance import RunResult
from ..errors import HarnessError
from ..judge import Verdict
from ..reproduce import rerun_command
from ..spec import SAFE_NAME_CHARS
from .junit_xml import junit
from .report_html import html_report
from .run_json import run_document, strict_json
from .summary_md import markdown
from .tables import DIVERGENT, case_table, mismatch_table, summary_table


def default_out_dir(root: Path = Path("reports"), kind: str = "run") -> Path:
    """reports/<kind>-<local time> (run-..., audit-...), with a numeric suffix if that name
    is taken."""
    base = root / datetime.now().strftime(f"{kind}-%Y%m%d-%H%M%S")
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


def write_report(run: RunResult, out_dir: Path, force: bool = False, full: bool = False) -> Path:
    """Write every report file into a temporary directory, then rename it to out_dir.
    `full`: run.json holds every tensor's figures (by default only each verdict's origin,
    failing tensors and each quantity's worst; summary.csv has every tensor either way)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not force:
        raise HarnessError(f"report directory {out_dir} exists; pass --force to replace it")
    if out_dir.exists() and not out_dir.is_dir():
        raise HarnessError(f"{out_dir} exists and is not a directory")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.incomplete-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        (tmp / "INCOMPLETE").write_text("this report was interrupted while being written\n")
        _write_files(run, tmp, out_dir)
        if full:
            _write_json(run, tmp, _repros(run, out_dir), full=True)
        (tmp / "INCOMPLETE").unlink()
        if out_dir.exists():
            old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
            out_dir.rename(old)
            shutil.rmtree(old)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def repro_command(r: Verdict, spec_path: Path, run: RunResult | None = None,
                  extra=()) -> str:
    """The command that reproduces a verdict, from any directory and without an activated
    environment (the console script, never `python -m` with the current directory first on
    the path), every word quoted; with `run`, its tolerance overrides and oracle choice."""
    return rerun_command(spec_path, r.impl, r.baseline,
                         run.tolerance_override if run else None, run.oracle if run else True,
                         extra)


def _repros(run: RunResult, final: Path) -> dict:
    """(case, impl, baseline) -> the command that reproduces it, for every divergent verdict:
    with the run's tolerance overrides and oracle, writing its report inside this one
    (failing/rerun-*)."""
    out = {}
    for r in run.results:
        if r.status in DIVERGENT:
            rerun = Path(final).resolve() / "failing" / _safe(f"rerun-{r.case}-{r.impl}")
            out[(r.case, r.impl, r.baseline)] = repro_command(
                r, final / "failing" / f"{r.case}.json", run, ["--out", str(rerun), "--force"])
    return out


def _safe(name: str) -> str:
    """A file name from words that may hold anything (an implementation's name)."""
    return SAFE_NAME_CHARS.sub("-", name)


def _write_files(run: RunResult, tmp: Path, final: Path) -> None:
    repros = _repros(run, final)
    if repros:  # only when something failed, erred or was a known deviation
        (tmp / "failing").mkdir()
        for case in dict.fromkeys(case for case, _, _ in repros):
            (tmp / "failing" / f"{case}.json").write_text(
                json.dumps(strict_json(run.specs[case].to_dict()), indent=1, allow_nan=False))
        (tmp / "failing" / "reproduce.sh").write_text(
            "#!/bin/sh\n# one command per failing case and implementation\n" +
            "\n".join(repros.values()) + "\n")
        _write_upstream(run, tmp / "failing", final)
    summary_table(run).to_csv(tmp / "summary.csv", index=False)
    mismatch_table(run).to_csv(tmp / "mismatches.csv", index=False)
    _write_json(run, tmp, repros)
    (tmp / "junit.xml").write_bytes(junit(run))
    (tmp / "summary.md").write_text(markdown(run, case_table(run), repros))
    (tmp / "report.html").write_text(html_report(run, repros))


def _write_upstream(run: RunResult, failing: Path, final: Path) -> None:
    """failing/<case>-<impl>-vs-<baseline>/ for every failure of any implementation: an
    ISSUE.md draft with the root cause at one neuron and its smallest spec (and, for torch
    and jax, a script that needs only the framework and NumPy), harness/reproduce.py."""
    from ..reproduce import reproducers
    for r in run.results:
        if r.status not in ("fail", "error"):
            continue
        name = _safe(f"{r.case}-{r.impl}-vs-{r.baseline}")
        files = reproducers(run.specs[r.case], r, run.tolerance_override,
                            Path(final).resolve() / "failing" / name)
        if files:
            folder = failing / name
            folder.mkdir()
            for name, text in files.items():
                (folder / name).write_text(text)


def _write_json(run: RunResult, tmp: Path, repros: dict, full: bool = False) -> None:
    doc = run_document(run, full)
    for c in doc["cases"]:
        c["reproduce"] = repros.get((c["case"], c["impl"], c["baseline"]), "")
    # no indentation: json's C encoder writes it 3x faster (`python -m json.tool` indents it)
    (tmp / "run.json").write_text(json.dumps(strict_json(doc), allow_nan=False))
