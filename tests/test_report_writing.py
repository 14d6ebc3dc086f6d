"""Writing a report (harness/report/writing.py, placing.py): --out holds a whole report at
every instant, two runs never overwrite each other, a failed write says so in one line and
keeps what it wrote, and summary.md passes no raw HTML through. Failures the tests cannot cause
as root (an undeletable file, a full disk) are injected with monkeypatch."""

from __future__ import annotations

import dataclasses
import errno
import json
import multiprocessing
import os
import re
import signal

import numpy as np
import pytest

from harness.cli import main
from harness.errors import HarnessError
from harness.judge import judge
from harness.registry import get
from harness.report import check_out_dir, placing, write_report, writing
from harness.runner import Outcome
from harness.suite import default_suite

HOSTILE = "h-<script>alert(1)</script>|x&y"
DESCRIPTION = "<script>alert('d')</script> a | b *not em* _nor_this_ `x` 2 > 1 &amp; \\* # 1"
DEAD = 4_194_305  # above Linux's largest pid_max: never a live process


@pytest.fixture(scope="module")
def run():
    """A run of one case with one divergence, every name and text in it hostile Markdown."""
    from harness.conformance import RunResult
    spec = default_suite(pattern="seed-2-2-2-float64")[0]
    spec = dataclasses.replace(spec, description=DESCRIPTION)
    base = get("reference").impl.trace(spec)
    other = get("reference").impl.trace(spec)
    other.steps[0].layers[0].v = np.asarray(other.steps[0].layers[0].v) + 1.0
    v = judge(spec, Outcome("reference", spec.name, "ok", base),
              Outcome(HOSTILE, spec.name, "ok", other))
    impls = {n: {"available": True, "reason": "", "target": "", "version": "<b>9</b>",
                 "settings": {"mode": "<img src=x onerror=alert(1)>"}, "supports": {}}
             for n in ("reference", HOSTILE)}
    return RunResult(results=[v], specs={spec.name: spec}, impls=impls, baseline="reference",
                     started="old", wall_seconds=1.0, impl_seconds={HOSTILE: 0.5},
                     tolerance_override={})


def started(out) -> str:
    return json.loads((out / "run.json").read_text())["started"]


def listing(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def old(run, tmp_path):
    """tmp_path/r holding a report of the run started "old"; returns (the run started "new",
    r)."""
    out = write_report(run, tmp_path / "r")
    assert started(out) == "old"
    return dataclasses.replace(run, started="new"), out


def failing_rename(monkeypatch, when, exc):
    """os.rename raising exc the first time when(src, dst) holds."""
    real, failed = os.rename, []

    def rename(src, dst):
        if not failed and when(str(src), str(dst)):
            failed.append(src)
            raise exc
        return real(src, dst)
    monkeypatch.setattr(os, "rename", rename)


def test_force_replaces_the_report_and_leaves_nothing_beside_it(old, tmp_path):
    new, out = old
    write_report(new, out, force=True)
    assert started(out) == "new" and listing(tmp_path) == ["r"]
    assert "report.html" in listing(out) and "INCOMPLETE" not in listing(out)


@pytest.mark.parametrize("exc", [OSError(errno.EIO, "Input/output error"), KeyboardInterrupt()])
def test_a_swap_that_fails_puts_the_old_report_back(old, tmp_path, monkeypatch, exc):
    """The new report's rename into place fails after the old one was moved aside: the old
    one is back under its name; an OSError keeps the new one visibly and says so."""
    new, out = old
    failing_rename(monkeypatch, lambda src, dst: ".incomplete-" in src, exc)
    if isinstance(exc, OSError):
        with pytest.raises(HarnessError) as info:
            write_report(new, out, force=True)
        kept = f"r.kept-{os.getpid()}"
        assert "\n" not in str(info.value) and "Input/output error" in str(info.value)
        assert str(tmp_path / kept) in str(info.value)
        assert listing(tmp_path) == ["r", kept] and started(tmp_path / kept) == "new"
    else:
        with pytest.raises(KeyboardInterrupt):
            write_report(new, out, force=True)
        assert listing(tmp_path) == ["r"]
    assert started(out) == "old"


def test_ctrl_c_during_the_swap_waits_until_it_is_done(old, tmp_path, monkeypatch):
    new, out = old
    real = os.rename

    def rename(src, dst):  # Ctrl-C just as the old report is moved aside
        if str(dst).endswith(f".old-{os.getpid()}"):
            os.kill(os.getpid(), signal.SIGINT)
        return real(src, dst)
    monkeypatch.setattr(os, "rename", rename)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a command
    try:
        with pytest.raises(KeyboardInterrupt):
            write_report(new, out, force=True)
    finally:
        signal.signal(signal.SIGINT, before)
    assert started(out) == "new" and listing(tmp_path) == ["r"]


def test_an_old_report_that_cannot_be_removed_is_named(old, tmp_path, monkeypatch, capsys):
    new, out = old
    real = placing.shutil.rmtree

    def rmtree(path, *a, **k):
        if ".old-" in str(path):
            raise PermissionError(errno.EPERM, "Operation not permitted", str(path))
        return real(path, *a, **k)
    monkeypatch.setattr(placing.shutil, "rmtree", rmtree)
    write_report(new, out, force=True)
    assert started(out) == "new"
    left = tmp_path / f".r.old-{os.getpid()}"
    assert started(left) == "old" and listing(tmp_path) == [left.name, "r"]
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and str(left) in err[0] and "could not be removed" in err[0]


def test_a_symlinked_out_keeps_its_link_and_replaces_what_it_points_to(run, tmp_path):
    real = write_report(run, tmp_path / "real")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    new = dataclasses.replace(run, started="new")
    assert write_report(new, link, force=True) == link
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert started(real) == "new" and listing(tmp_path) == ["link", "real"]
    with pytest.raises(HarnessError, match="exists; pass --force"):
        write_report(run, link)


def test_a_dangling_symlink_is_refused_in_one_line(run, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")
    with pytest.raises(HarnessError, match="is a symbolic link to .*nowhere, which does not "
                                           "exist"):
        write_report(run, link, force=True)
    assert listing(tmp_path) == ["link"] and link.is_symlink()


def _writer(run, out, barrier, results):
    """One of two runs writing the same --out (a process of its own)."""
    real = writing._write_files

    def write_then_wait(*args, **kw):  # both have checked --out and written, then both rename
        real(*args, **kw)
        barrier.wait(timeout=60)
    writing._write_files = write_then_wait
    try:
        write_report(dataclasses.replace(run, started=str(os.getpid())), out)
        results.put((os.getpid(), "written"))
    except HarnessError as exc:
        results.put((os.getpid(), str(exc)))


@pytest.mark.slow
def test_of_two_runs_writing_the_same_out_the_second_is_refused(run, tmp_path):
    ctx = multiprocessing.get_context("spawn")  # not fork: jax may run threads here
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(run, tmp_path / "r", barrier, results))
             for _ in range(2)]
    for p in procs:
        p.start()
    said = dict(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    winner = [pid for pid, text in said.items() if text == "written"]
    assert len(winner) == 1, said
    loser, message = next((pid, text) for pid, text in said.items() if pid != winner[0])
    assert "a report appeared there while this run wrote its own" in message
    assert started(tmp_path / "r") == str(winner[0])
    kept = tmp_path / f"r.kept-{loser}"
    assert str(kept) in message and started(kept) == str(loser)
    assert listing(tmp_path) == ["r", kept.name]


def test_stale_folders_of_dead_runs_are_removed_and_live_ones_kept(old, tmp_path):
    new, out = old
    for name in (f".r.incomplete-{DEAD}", f".r.old-{DEAD + 1}", f".r.old-{os.getppid()}"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "INCOMPLETE").write_text("")
    (tmp_path / f".other.old-{DEAD}").mkdir()  # another report's: not ours to touch
    write_report(new, out, force=True)
    assert started(out) == "new"
    assert listing(tmp_path) == [f".other.old-{DEAD}", f".r.old-{os.getppid()}", "r"]


def test_a_report_a_killed_swap_moved_aside_comes_back(run, tmp_path, capsys):
    """Killed between moving the old report aside and moving the new one in: the next write
    restores the old one (and, without --force, keeps its own report beside it)."""
    aside = write_report(run, tmp_path / "r").rename(tmp_path / f".r.old-{DEAD}")
    with pytest.raises(HarnessError, match="a report appeared there while"):
        write_report(dataclasses.replace(run, started="new"), tmp_path / "r")
    assert not aside.exists() and started(tmp_path / "r") == "old"
    assert f"restored {tmp_path / 'r'}" in capsys.readouterr().err
    assert listing(tmp_path) == ["r", f"r.kept-{os.getpid()}"]


def test_a_finished_report_a_killed_run_left_unmoved_is_restored_not_deleted(
        run, tmp_path, capsys):
    """Killed after its report was finished (no INCOMPLETE marker) and before the rename:
    with the path empty, the next write restores that report, the newest whole one, rather
    than the older one a swap moved aside, and removes the older one."""
    write_report(dataclasses.replace(run, started="older"), tmp_path / "a").rename(
        tmp_path / f".r.old-{DEAD}")
    write_report(dataclasses.replace(run, started="finished"), tmp_path / "b").rename(
        tmp_path / f".r.incomplete-{DEAD + 1}")
    with pytest.raises(HarnessError, match="a report appeared there while"):
        write_report(dataclasses.replace(run, started="new"), tmp_path / "r")
    assert started(tmp_path / "r") == "finished"
    assert f"restored {tmp_path / 'r'} from .r.incomplete-{DEAD + 1}" in capsys.readouterr().err
    assert listing(tmp_path) == ["r", f"r.kept-{os.getpid()}"]


def test_a_stale_folder_that_cannot_be_removed_is_named(run, tmp_path, monkeypatch, capsys):
    stale = tmp_path / f".r.incomplete-{DEAD}"
    stale.mkdir()
    (stale / "INCOMPLETE").write_text("")
    real = placing.shutil.rmtree

    def rmtree(path, *a, **k):
        if path == stale:
            raise PermissionError(errno.EPERM, "Operation not permitted", str(path))
        return real(path, *a, **k)
    monkeypatch.setattr(placing.shutil, "rmtree", rmtree)
    write_report(run, tmp_path / "r")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and f"could not remove {stale}, left by an interrupted run" in err[0]
    assert started(tmp_path / "r") == "old" and stale.exists()


def test_a_full_disk_keeps_run_json_and_says_so_in_one_line(run, tmp_path, monkeypatch):
    def full(run):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "junit.xml"))
    monkeypatch.setattr(writing, "junit", full)
    with pytest.raises(HarnessError) as info:
        write_report(run, tmp_path / "r")
    kept = tmp_path / f"r.kept-{os.getpid()}"
    message = str(info.value)
    assert "\n" not in message and "No space left on device" in message
    assert f"what was written (mismatches.csv, run.json, summary.csv) is in {kept}" in message
    assert listing(tmp_path) == [kept.name] and "INCOMPLETE" in listing(kept)
    assert started(kept) == "old"


def test_out_under_a_regular_file_is_refused_before_and_at_writing(run, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    for check in (lambda: check_out_dir(tmp_path / "file" / "r"),
                  lambda: write_report(run, tmp_path / "file" / "sub" / "r")):
        with pytest.raises(HarnessError, match=f"{tmp_path / 'file'} is not a directory"):
            check()
    with pytest.raises(HarnessError, match="exists and is not a directory"):
        check_out_dir(tmp_path / "file", force=True)
    assert listing(tmp_path) == ["file"]


def test_an_unwritable_parent_is_refused_in_one_line(tmp_path, monkeypatch):
    def refused(**kw):
        raise PermissionError(errno.EACCES, "Permission denied", kw["dir"])
    monkeypatch.setattr(writing.tempfile, "mkdtemp", refused)
    with pytest.raises(HarnessError) as info:
        check_out_dir(tmp_path / "a" / "r")
    assert str(info.value) == (f"cannot write a report to {tmp_path / 'a' / 'r'}: Permission "
                               f"denied: {tmp_path}")


def test_a_folder_that_cannot_be_made_keeps_nothing_and_says_so(run, tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setattr(writing, "hidden", lambda final, kind: tmp_path / "file" / "tmp")
    with pytest.raises(HarnessError, match=r"Not a directory: .*; nothing was written$"):
        write_report(run, tmp_path / "r")
    assert listing(tmp_path) == ["file"]


def test_run_checks_out_before_tracing(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert main(["run", "--cases", "seed-2-2-2-float64", "--impl", "reference", "--out",
                 str(tmp_path / "file" / "r")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == (f"backprop-harness: error: cannot write a report to "
                                 f"{tmp_path / 'file' / 'r'}: {tmp_path / 'file'} is not a "
                                 f"directory\n")


def rendered(md: str) -> tuple[str, list[list[int]]]:
    """summary.md as a reader sees it (Python-Markdown, as mkdocs renders it): its text, and
    each table's cells per row."""
    import html
    import markdown
    page = markdown.markdown(md, extensions=["tables"])
    tables = [[len(re.findall(r"<t[hd]\b", row)) for row in re.findall(r"<tr>.*?</tr>", t, re.S)]
              for t in re.findall(r"<table>.*?</table>", page, flags=re.S)]
    return html.unescape(re.sub(r"<[^>]+>", "", page)), tables


def test_summary_md_renders_as_it_reads_and_passes_no_raw_html(run, tmp_path):
    """Every name and text of the run, hostile Markdown and HTML included, renders as exactly
    that text; the source escapes only what Markdown would take for markup ("|diff| 2 > tol"
    stays as it is: an escaped ">" showed as "&gt;" in the docs' failure page)."""
    md = (write_report(run, tmp_path / "r") / "summary.md").read_text()
    repro = [line for line in md.splitlines() if line.startswith("- reproduce: ")]
    assert len(repro) == 1 and re.fullmatch(r"- reproduce: `[^`]+`", repro[0])  # a code span
    text, tables = rendered(md)
    for raw in ("<script", "<b>", "<img"):  # in the source only as &lt;, in a code span
        assert raw not in md.replace(repro[0], "")
    assert "&gt;" not in md and f"|diff| {run.results[0].message.split('|diff| ')[1]}" in md
    assert run.results[0].message in text and " > tol " in run.results[0].message
    assert f"{HOSTILE} vs reference" in text and "<b>9</b>" in text
    assert "mode=<img src=x onerror=alert(1)>" in text
    assert DESCRIPTION in text  # *, _, `, \, &amp; as written, neither emphasis nor code
    assert repro[0][len("- reproduce: `"):-1] in text
    assert len(tables) == 2 and all(len(set(rows)) == 1 for rows in tables)  # | in a cell
    assert text.count(f"{HOSTILE}\n") >= 2  # a cell of each table, whole
    assert "docs/tolerances.md#the-pass-rule" in text


def test_summary_md_names_both_sides_of_a_pairwise_comparison(tmp_path):
    """--pairwise: numeric is compared with the baseline and with exact; its rows read
    "numeric" and "numeric vs exact" (both read "numeric" before)."""
    from harness.conformance import run_suite
    spec = default_suite(pattern="seed-2-2-2-float64")[0]
    run = run_suite([spec], ["exact", "numeric"], pairwise=True)
    assert sorted((r.impl, r.baseline) for r in run.results) == [
        ("exact", "reference"), ("numeric", "exact"), ("numeric", "reference")]
    text, _ = rendered((write_report(run, tmp_path / "r") / "summary.md").read_text())
    assert "exact: 1 agree; numeric: 1 agree; numeric vs exact: 1 agree." in text
    rows = re.findall(r"^(exact|numeric|numeric vs exact)\npass$", text, flags=re.M)
    assert sorted(rows) == ["exact", "numeric", "numeric vs exact"]


def test_a_renderer_that_fails_costs_its_own_file_and_says_so_in_one_line(run, tmp_path,
                                                                          monkeypatch, capsys):
    """As NumPy 1.26 with ml_dtypes 0.4 did in report.html (finfo(bfloat16): "not inexact"):
    run.json is written before any rendering, the report goes in place without the one file,
    and the run ends with one line naming it, not a traceback that loses every result."""
    def broken(*args, **kwargs):
        raise ValueError("data type <class 'ml_dtypes.bfloat16'> not inexact\nsecond line")
    monkeypatch.setattr(writing, "html_report", broken)
    with pytest.raises(HarnessError) as info:
        write_report(run, tmp_path / "r")
    assert str(info.value) == (
        "could not render report.html (ValueError: data type <class 'ml_dtypes.bfloat16'> not "
        f"inexact second line); the rest of the report (run.json holds every result) is in "
        f"{tmp_path / 'r'}")
    assert listing(tmp_path) == ["r"] and started(tmp_path / "r") == "old"
    assert listing(tmp_path / "r") == ["failing", "junit.xml", "mismatches.csv", "run.json",
                                       "summary.csv", "summary.md"]
    monkeypatch.setattr(writing, "markdown", broken)
    code = main(["run", "--cases", "seed-2-2-2-float64", "--impl", "numeric", "--out",
                 str(tmp_path / "cli")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("backprop-harness: error: could not render summary.md (ValueError: ")
    assert "; report.html (ValueError: " in err
    assert listing(tmp_path / "cli") == ["junit.xml", "mismatches.csv", "run.json", "summary.csv"]


# --------------------------------------------- writing.py's parts, each by hand

def test_the_default_out_dir_is_the_local_time_with_a_number_when_taken(tmp_path, monkeypatch):
    from datetime import datetime

    class Clock:
        @staticmethod
        def now():
            return datetime(2024, 1, 2, 3, 4, 5)
    monkeypatch.setattr(writing, "datetime", Clock)
    name = "run-20240102-030405"
    assert writing.default_out_dir(tmp_path) == tmp_path / name
    (tmp_path / name).mkdir()
    assert writing.default_out_dir(tmp_path) == tmp_path / f"{name}-2"
    (tmp_path / f"{name}-2").write_text("a file takes the name too")
    assert writing.default_out_dir(tmp_path) == tmp_path / f"{name}-3"
    assert writing.default_out_dir(tmp_path, "audit") == tmp_path / "audit-20240102-030405"
    monkeypatch.chdir(tmp_path)
    assert writing.default_out_dir() == writing.Path("reports") / name


def test_checking_out_leaves_nothing_behind_and_force_takes_a_folder(tmp_path, monkeypatch):
    made = []
    real = writing.tempfile.mkdtemp

    def mkdtemp(**kw):
        made.append(real(**kw))
        return made[-1]
    monkeypatch.setattr(writing.tempfile, "mkdtemp", mkdtemp)
    check_out_dir(tmp_path / "a" / "b" / "r")
    assert listing(tmp_path) == [] and len(made) == 1
    assert os.path.dirname(made[0]) == str(tmp_path)
    assert os.path.basename(made[0]).startswith(".backprop-harness-probe-")
    (tmp_path / "r").mkdir()
    check_out_dir(tmp_path / "r", force=True)
    check_out_dir(str(tmp_path / "r"), True)
    with pytest.raises(HarnessError) as info:
        check_out_dir(tmp_path / "r")
    assert str(info.value) == f"report directory {tmp_path / 'r'} exists; pass --force to " \
                              f"replace it"
    assert listing(tmp_path) == ["r"]


def test_a_dangling_symlink_is_named_with_what_it_points_to(tmp_path):
    (tmp_path / "link").symlink_to("nowhere")
    for force in (False, True):
        with pytest.raises(HarnessError) as info:
            check_out_dir(tmp_path / "link", force)
        assert str(info.value) == f"{tmp_path / 'link'} is a symbolic link to nowhere, which " \
                                  f"does not exist"
    (tmp_path / "file").write_text("")
    with pytest.raises(HarnessError) as info:
        check_out_dir(str(tmp_path / "file"))
    assert str(info.value) == f"{tmp_path / 'file'} exists and is not a directory"


def test_a_report_is_every_renderers_output_and_run_json_says_how_to_reproduce(run, tmp_path):
    from harness.report.junit_xml import junit
    from harness.report.report_html import html_report
    from harness.report.summary_md import markdown
    from harness.report.tables import case_table, mismatch_table, summary_table
    out = write_report(run, str(tmp_path / "r"))
    assert out == tmp_path / "r" and isinstance(out, writing.Path)
    assert listing(out) == ["failing", "junit.xml", "mismatches.csv", "report.html", "run.json",
                            "summary.csv", "summary.md"]
    repros = writing._repros(run, out)
    assert (out / "summary.csv").read_text() == summary_table(run).to_csv(index=False)
    assert (out / "mismatches.csv").read_text() == mismatch_table(run).to_csv(index=False)
    assert (out / "junit.xml").read_bytes() == junit(run)
    assert (out / "summary.md").read_text() == markdown(run, case_table(run), repros)
    assert (out / "report.html").read_text() == html_report(run, repros)
    doc = json.loads((out / "run.json").read_text())
    (case,) = doc["cases"]
    assert case["reproduce"] == repros[(case["case"], HOSTILE, "reference")] != ""
    assert doc["detail"] == "compact" and "tensors" not in case
    full = json.loads((write_report(run, tmp_path / "f", full=True) / "run.json").read_text())
    assert full["detail"] == "full" and len(full["cases"][0]["tensors"]) == \
        len(run.results[0].tensors)


def test_the_command_that_reproduces_a_divergence_writes_its_report_inside_this_one(run,
                                                                                     tmp_path):
    import shlex
    out = write_report(run, tmp_path / "r")
    case = run.results[0].case
    words = shlex.split(writing._repros(run, out)[(case, HOSTILE, "reference")])
    rerun = out.resolve() / "failing" / f"rerun-{case}-h--script-alert-1---script--x-y"
    assert words[words.index("--out") + 1] == str(rerun) and words[-1] == "--force"
    assert words[words.index("run") + 1] == str(out.resolve() / "failing" / f"{case}.json")
    assert words[words.index("--impl") + 1] == HOSTILE
    assert words[words.index("--baseline") + 1] == "reference"
    failing = out / "failing"
    assert json.loads((failing / f"{case}.json").read_text()) == \
        json.loads(json.dumps(run.specs[case].to_dict()))
    assert (failing / "reproduce.sh").read_text() == \
        "#!/bin/sh\n# one command per failing case and implementation\n" + \
        shlex.join(words) + "\n"
    from harness.reproduce import reproducers
    upstream = failing / f"{case}-h--script-alert-1---script--x-y-vs-reference"
    files = reproducers(run.specs[case], run.results[0], run.tolerance_override)
    assert sorted(files) == listing(upstream) == ["ISSUE.md"]
    assert (upstream / "ISSUE.md").read_text() == files["ISSUE.md"]
    assert listing(failing) == sorted([f"{case}.json", "reproduce.sh", upstream.name])


def test_a_known_deviation_is_reproduced_without_an_upstream_draft(run, tmp_path):
    known = dataclasses.replace(run, results=[dataclasses.replace(run.results[0],
                                                                  status="xfail")])
    out = write_report(known, tmp_path / "r")
    case = run.results[0].case
    assert listing(out / "failing") == ["reproduce.sh", f"{case}.json"]


def test_repro_command_carries_the_runs_choices(run):
    import shlex
    r = run.results[0]
    plain = shlex.split(writing.repro_command(r, writing.Path("/x/c.json")))
    assert "--runxfail" not in plain and "--no-oracle" not in plain and plain[-2:] == \
        ["--baseline", "reference"]
    chosen = dataclasses.replace(run, runxfail=True, oracle=False,
                                 tolerance_override={"gradient": {"rtol": 0.5}})
    words = shlex.split(writing.repro_command(r, writing.Path("/x/c.json"), chosen, ["--x"]))
    assert words[words.index("/x/c.json") - 1] == "run"
    assert words[-5:] == ["--rtol-gradient", "0.5", "--no-oracle", "--runxfail", "--x"]
    kept = shlex.split(writing.repro_command(r, writing.Path("/x/c.json"),
                                             dataclasses.replace(run, oracle=True)))
    assert kept[-2:] == ["--baseline", "reference"]


def test_no_reproduction_for_cases_that_agree(tmp_path):
    from harness.conformance import run_suite
    spec = default_suite(pattern="seed-2-2-2-float64")[0]
    agreed = run_suite([spec], ["numeric"])
    out = write_report(agreed, tmp_path / "r")
    assert "failing" not in listing(out) and writing._repros(agreed, out) == {}
    assert [c["reproduce"] for c in json.loads((out / "run.json").read_text())["cases"]] == [""]


@pytest.mark.parametrize("written, says", [
    ([], "nothing was written"),
    (["INCOMPLETE"], "nothing was written"),
    (["INCOMPLETE", "summary.csv", "run.json"], "what was written (run.json, summary.csv) is in "
                                                "{kept}"),
    (["run.json", "report.html"], "this run's report is in {kept}"),
])
def test_keep_says_where_what_was_written_is(tmp_path, written, says):
    tmp, final = tmp_path / ".r.incomplete-1", tmp_path / "r"
    tmp.mkdir()
    for name in written:
        (tmp / name).write_text("")
    kept = tmp_path / f"r.kept-{os.getpid()}"
    assert writing._keep(tmp, final) == says.format(kept=kept)
    assert not tmp.exists() and kept.exists() == (says != "nothing was written")
    if kept.exists():
        assert listing(kept) == sorted(written)


def test_keep_leaves_the_folder_where_it_is_when_it_cannot_move_it(tmp_path, monkeypatch):
    tmp = tmp_path / ".r.incomplete-1"
    tmp.mkdir()
    (tmp / "run.json").write_text("")
    failing_rename(monkeypatch, lambda src, dst: True, OSError(errno.EXDEV, "cross-device"))
    assert writing._keep(tmp, tmp_path / "r") == f"this run's report is in {tmp}"
    assert writing._keep(tmp_path / "missing", tmp_path / "r") == "nothing was written"
