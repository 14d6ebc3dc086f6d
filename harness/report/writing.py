"""Writing a report directory whole or not at all: every file built under a hidden temporary
name holding an INCOMPLETE marker, then put in place (placing.py); failing/ with the spec of
each divergent case, reproduce.sh and the per-framework reproducers. check_out_dir says before
a run whether its report could be written."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from .. import readable_json
from ..conformance import RunResult
from ..errors import HarnessError
from ..judge import Verdict
from ..reproduce import rerun_command
from ..spec import SAFE_NAME_CHARS
from .junit_xml import junit
from .placing import hidden, put_in_place, reason, target, tidy
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


def check_out_dir(out_dir: Path, force: bool = False) -> None:
    """Raise HarnessError, one line, when a report could not be written to out_dir: it exists
    (without force) or is not a directory, it is a symbolic link to nothing, or the nearest
    existing folder above it is a file or cannot be written to. For the command line to call
    before any tracing; write_report checks again when it writes."""
    out_dir = Path(out_dir)
    if out_dir.is_symlink() and not out_dir.exists():
        raise HarnessError(f"{out_dir} is a symbolic link to {os.readlink(out_dir)}, which "
                           f"does not exist")
    if out_dir.exists() and not out_dir.is_dir():
        raise HarnessError(f"{out_dir} exists and is not a directory")
    if out_dir.exists() and not force:
        raise HarnessError(f"report directory {out_dir} exists; pass --force to replace it")
    above = target(out_dir).absolute().parent
    while not os.path.lexists(above):
        above = above.parent
    if not above.is_dir():
        raise HarnessError(f"cannot write a report to {out_dir}: {above} is not a directory")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".backprop-harness-probe-", dir=above))
    except OSError as exc:
        raise HarnessError(f"cannot write a report to {out_dir}: {reason(exc)}") from None


def write_report(run: RunResult, out_dir: Path, force: bool = False, full: bool = False) -> Path:
    """Write every report file (run.json first) into a hidden directory beside out_dir, then
    put it in place (placing.py): out_dir holds a whole report at every instant, the old one or
    the new one; a symbolic link stays and what it points to is replaced. A file that cannot be
    written, or an out_dir another run wrote meanwhile (without force), is a HarnessError of one
    line that names what was kept. A renderer that fails (a bug: anything but OSError) costs
    only its own file: the report is put in place without it, and a HarnessError of one line
    names it afterwards. `full`: run.json holds every tensor's figures (by default
    only each verdict's origin, failing tensors and each quantity's worst; summary.csv has
    every tensor either way)."""
    out_dir = Path(out_dir)
    check_out_dir(out_dir, force)
    final = target(out_dir)
    tidy(final)  # after the check: a report it restores is kept, and so is this run's
    tmp = hidden(final, "incomplete")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        (tmp / "INCOMPLETE").write_text("this report was interrupted while being written\n")
        unrendered = _write_files(run, tmp, final, full=full)
        (tmp / "INCOMPLETE").unlink()
        put_in_place(tmp, final, force)
    except OSError as exc:
        why = reason(exc)
        if not force and tmp.is_dir() and not (tmp / "INCOMPLETE").exists() \
                and os.path.lexists(final):
            why = "a report appeared there while this run wrote its own (another run?); pass " \
                  "--force to replace it"
        raise HarnessError(f"could not write the report to {out_dir}: {why}; "
                           f"{_keep(tmp, final)}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if unrendered:
        raise HarnessError(f"could not render {'; '.join(unrendered)}; the rest of the report "
                           f"(run.json holds every result) is in {out_dir}")
    return out_dir


def _keep(tmp: Path, final: Path) -> str:
    """Where what was written is: tmp renamed to NAME.kept-PID beside final (holding
    INCOMPLETE if it is partial), or that nothing was written."""
    written = sorted(p.name for p in tmp.iterdir() if p.name != "INCOMPLETE") \
        if tmp.is_dir() else []
    what = f"what was written ({', '.join(written)})" if (tmp / "INCOMPLETE").exists() \
        else "this run's report"
    if not written:
        shutil.rmtree(tmp, ignore_errors=True)
        return "nothing was written"
    kept = final.with_name(f"{final.name}.kept-{os.getpid()}")
    try:
        os.rename(tmp, kept)
    except OSError:
        kept = tmp
    return f"{what} is in {kept}"


def repro_command(r: Verdict, spec_path: Path, run: RunResult | None = None,
                  extra=()) -> str:
    """The command that reproduces a verdict, from any directory and without an activated
    environment (the console script, never `python -m` with the current directory first on
    the path), every word quoted; with `run`, its tolerance overrides, oracle choice and
    --runxfail."""
    flags = ["--runxfail"] if run is not None and run.runxfail else []
    return rerun_command(spec_path, r.impl, r.baseline,
                         run.tolerance_override if run else None, run.oracle if run else True,
                         [*flags, *extra])


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


def _write_files(run: RunResult, tmp: Path, final: Path, full: bool = False) -> list[str]:
    """Every file of the report into tmp, run.json first, before any rendering: it is what
    is kept if the disk fills or a renderer fails. Returns the files a renderer failed to make,
    "report.html (ValueError: ...)" each; an OSError (the disk) propagates."""
    repros = _repros(run, final)
    _write_json(run, tmp, repros, full)
    renderers = {
        "summary.csv": lambda: summary_table(run).to_csv(tmp / "summary.csv", index=False),
        "mismatches.csv": lambda: mismatch_table(run).to_csv(tmp / "mismatches.csv",
                                                             index=False),
        "junit.xml": lambda: (tmp / "junit.xml").write_bytes(junit(run)),
        "summary.md": lambda: (tmp / "summary.md").write_text(
            markdown(run, case_table(run), repros)),
        "report.html": lambda: (tmp / "report.html").write_text(html_report(run, repros)),
    }
    if repros:  # only when something failed, erred or was a known deviation
        renderers["failing/"] = lambda: _write_failing(run, tmp / "failing", final, repros)
    unrendered = []
    for name, render in renderers.items():
        try:
            render()
        except OSError:
            raise
        except Exception as exc:  # a renderer's bug costs its own file alone
            why = " ".join(f"{type(exc).__name__}: {exc}".split())
            unrendered.append(f"{name} ({why})")
    return unrendered


def _write_failing(run: RunResult, failing: Path, final: Path, repros: dict) -> None:
    """failing/: the spec of each divergent case, reproduce.sh and the reproducers."""
    failing.mkdir()
    for case in dict.fromkeys(case for case, _, _ in repros):
        (failing / f"{case}.json").write_text(
            readable_json.dumps(strict_json(run.specs[case].to_dict()), allow_nan=False) + "\n")
    (failing / "reproduce.sh").write_text(
        "#!/bin/sh\n# one command per failing case and implementation\n" +
        "\n".join(repros.values()) + "\n")
    _write_upstream(run, failing, final)


def _write_upstream(run: RunResult, failing: Path, final: Path) -> None:
    """failing/<case>-<impl>-vs-<baseline>/ for every failure of any implementation: an
    ISSUE.md draft with the root cause at one neuron and its smallest spec (and, for torch
    and jax, a script that needs only the framework and NumPy), harness/reproduce.py."""
    from ..reproduce import reproducers
    for r in run.results:
        if r.status not in ("fail", "error"):
            continue
        name = _safe(f"{r.case}-{r.impl}-vs-{r.baseline}")
        files = reproducers(run.specs[r.case], r, run.tolerance_override)
        if files:
            folder = failing / name
            folder.mkdir()
            for file, text in files.items():
                (folder / file).write_text(text)


def _write_json(run: RunResult, tmp: Path, repros: dict, full: bool = False) -> None:
    doc = run_document(run, full)
    for c in doc["cases"]:
        c["reproduce"] = repros.get((c["case"], c["impl"], c["baseline"]), "")
    # no indentation: json's C encoder writes it 3x faster (`python -m json.tool` indents it)
    (tmp / "run.json").write_text(json.dumps(strict_json(doc), allow_nan=False))
