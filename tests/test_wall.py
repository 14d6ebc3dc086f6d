"""The process wall (issue 30): hostile adapters (tests/plugins/hostile.py) against a real run
of the CLI. Each vector ends with the exit code its truth calls for, the report written, and
within its bound; none ends, hangs or forges the run. Bounds are generous: they hold at a load
of 8 on 2 cores, where a worker's start and torch-free load take a few seconds."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import xml.dom.minidom
from pathlib import Path

import pytest

from conftest import needs, register
from harness import registry
from harness.suite import SEED_NETWORK


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    from plugins.hostile import ENTRY_POINTS
    yield from register(tmp_path, monkeypatch, ENTRY_POINTS)


@pytest.fixture
def seed_file(tmp_path):
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(SEED_NETWORK))
    return path


def cli(*args, timeout=240, cwd=None):
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "harness", *map(str, args)], cwd=cwd,
                         capture_output=True, text=True, timeout=timeout)
    out.took = time.monotonic() - start
    return out


def statuses(folder: Path) -> dict:
    doc = json.loads((folder / "run.json").read_text())
    return {r["impl"]: (r["status"], r["message"]) for r in doc["cases"]}


# --------------------------------------------- code that used to end a run with exit 0

@pytest.mark.parametrize("name, says", [
    ("unsupported-exits", "called sys.exit(0)"),
    ("unsupported-os-exit", "its worker process exited with code 0"),
    ("str-exits", "its worker process exited with code 0"),
    ("version-second-call", "called os._exit(0)"),
    ("array-exits", "its worker process exited with code 0"),
    ("thread-exits", "its worker process exited with code 0"),
    ("raises-interrupt", "raised KeyboardInterrupt"),
    ("pickle-bomb", "malformed trace: step 0 v[layer 0]: shape (), expected (1, 2)"),
])
def test_adapter_code_that_ends_its_process_fails_its_case_and_the_report_is_written(
        hostile, seed_file, tmp_path, name, says):
    out = cli("run", "--impl", name, seed_file, "--out", tmp_path / "r")
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"ERROR seed-2-2-2 {name}: failed: {says}" in out.stdout, out.stdout
    assert statuses(tmp_path / "r")[name][0] == "error"
    assert (tmp_path / "r" / "report.html").exists() and "Traceback" not in out.stderr


def test_an_adapter_that_ends_its_process_while_loading_is_unavailable_in_one_line(
        hostile, seed_file, tmp_path):
    out = cli("run", "--impl", "xfails-exits", seed_file, "--out", tmp_path / "r")
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "'xfails-exits' is unavailable: its worker did not load it: its worker process " \
           "exited with code 0" in out.stderr
    listed = cli("impls")
    assert listed.returncode == 0
    line = next(ln for ln in listed.stdout.splitlines() if ln.startswith("xfails-exits "))
    assert "unavailable (its worker did not load it" in line


# --------------------------------------------- bounds the run owns

def test_hangs_anywhere_in_adapter_code_are_cut_at_the_timeout(hostile, seed_file, tmp_path):
    """unsupported(), an exception's __str__, an array's __array__ and a trace that ignores
    SIGALRM all hang; each is killed at --timeout 2 and started again for the next."""
    hung = ["unsupported-hangs", "str-hangs", "array-hangs", "ignores-alarm"]
    out = cli("run", "--impl", *hung, "numeric", seed_file, "--timeout", "2",
              "--out", tmp_path / "r")
    assert out.returncode == 1, out.stdout + out.stderr
    got = statuses(tmp_path / "r")
    assert got.pop("numeric")[0] == "pass"
    assert got == {n: ("error", "failed: timed out after 2 s") for n in hung}
    assert out.took < 90, out.took  # each worker's 2 s, side by side, plus starts


def test_a_hanging_version_makes_the_implementation_unavailable_at_its_bound(
        hostile, monkeypatch):
    from harness.wall import proxy, walled
    monkeypatch.setattr(proxy, "LOAD_TIMEOUT", 3.0)
    monkeypatch.setattr(walled, "LOAD_TIMEOUT", 3.0)
    start = time.monotonic()
    info = registry.get("version-hangs")
    assert not info.available
    assert info.reason == "its worker did not load it: timed out after 3 s"
    assert time.monotonic() - start < 30


def test_trace_is_bounded_by_its_timeout(hostile, seed_file):
    out = cli("trace", seed_file, "--impl", "ignores-alarm", "--timeout", "2")
    assert out.returncode == 1 and out.took < 60
    assert out.stderr == "backprop-harness: ignores-alarm error: timed out after 2 s\n"


@needs("hypothesis")
def test_fuzz_max_time_holds_against_a_hanging_adapter(hostile, tmp_path):
    out = cli("fuzz", "--impl", "ignores-alarm", "--max-time", "2", "--examples", "5",
              "--out", tmp_path / "f")
    assert out.took < 90, out.took  # --max-time, its 10 s of grace, starts
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("name, says", [
    ("babbles", "failed: its worker wrote what is not a message of the protocol (a message "
                "of 2147483647 bytes"),
    ("hog", "failed: raised MemoryError"),
])
def test_garbage_and_greed_fail_their_case(hostile, seed_file, tmp_path, name, says):
    out = cli("run", "--impl", name, "numeric", seed_file, "--worker-memory", "4",
              "--out", tmp_path / "r")
    assert out.returncode == 1
    got = statuses(tmp_path / "r")
    assert got["numeric"][0] == "pass" and got[name][0] == "error"
    assert got[name][1].startswith(says), got[name][1]


def test_ctrl_c_ends_the_run_even_when_the_adapter_ignores_sigint(hostile, seed_file, tmp_path):
    # Ctrl-C's default action in the run, as on a terminal: a suite started in the background
    # (a shell's `&`, CI) hands its children SIGINT ignored, and the run would sleep through it
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", "--impl", "ignores-sigint",
                             str(seed_file), "--out", str(tmp_path / "r")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(8)  # its worker is loaded and tracing (asleep, SIGINT ignored)
    proc.send_signal(signal.SIGINT)
    start = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err
    assert time.monotonic() - start < 20


# --------------------------------------------- what an adapter does stays in its worker

def test_harmless_tricks_pass_and_a_relative_out_stays_put(hostile, seed_file, tmp_path):
    """A str subclass that exits when formatted (version, settings), a chdir(), prints of
    forged verdict lines: the numbers are the reference's, so the run passes, with its
    report where --out said and nothing of the adapters' on the terminal."""
    names = ["version-str-subclass", "settings-str-subclass", "chdir", "prints"]
    out = cli("run", "--impl", *names, seed_file, "--out", "rel", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert {s for s, _ in statuses(tmp_path / "rel").values()} == {"pass"}
    assert "forged" not in out.stdout + out.stderr and "\x1b" not in out.stdout + out.stderr
    assert out.stdout.count("report: ") == 1


def test_an_adapter_that_writes_the_spec_changes_its_own_copy_only(hostile, seed_file,
                                                                  tmp_path):
    out = cli("run", "--impl", "writes-spec", "numeric", seed_file, "--out", tmp_path / "r")
    assert out.returncode == 1
    got = statuses(tmp_path / "r")
    assert got["numeric"][0] == "pass" and got["writes-spec"][0] == "fail"


def test_strings_from_adapters_are_cleaned_and_bounded_in_every_output(
        hostile, seed_file, tmp_path):
    names = ["says-surrogate", "says-huge", "says-control", "version-html"]
    out = cli("run", "--impl", *names, seed_file, "--out", tmp_path / "r")
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    for bad in ("\x1b", "\x00", "\r"):
        assert bad not in out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert [ln for ln in lines if ln.startswith(("PASS:", "report:"))] == \
        [f"report: {tmp_path / 'r'}"]
    got = statuses(tmp_path / "r")
    assert "lone \\ud800 surrogate" in got["says-surrogate"][1]
    assert "\\x1b]52;c;ZXZpbA==\\x07\\x1b[31mred\\x00\\x0d\\x0a# PASS" in got["says-control"][1]
    huge = got["says-huge"][1]
    assert len(huge) < 70_000 and huge.endswith("more characters cut]")
    total = sum(p.stat().st_size for p in (tmp_path / "r").rglob("*") if p.is_file())
    assert total < 5_000_000, total
    xml.dom.minidom.parse(str(tmp_path / "r" / "junit.xml"))  # well-formed
    summary = (tmp_path / "r" / "summary.md").read_text()
    assert "\r" not in summary and "\n# PASS" not in summary
    doc = json.loads((tmp_path / "r" / "run.json").read_text())
    version = doc["implementations"]["version-html"]["version"]
    assert version == "1.0<script>alert(1)</script>\\x0d\\x0a## Forged section\\x0a"
    assert "<script>alert(1)" not in (tmp_path / "r" / "report.html").read_text()


# --------------------------------------------- frameworks side by side; the debugging door

@pytest.fixture
def clash(tmp_path, monkeypatch):
    yield from register(tmp_path, monkeypatch, {"clash-a": "clash_a:ClashA",
                                                "clash-b": "clash_b:ClashB"})


def test_two_frameworks_that_cannot_share_a_process_run_side_by_side(clash, seed_file,
                                                                     tmp_path):
    out = cli("run", "--impl", "clash-a", "clash-b", seed_file, "--out", tmp_path / "r")
    assert out.returncode == 0, out.stdout + out.stderr
    assert statuses(tmp_path / "r") == {"clash-a": ("pass", ""), "clash-b": ("pass", "")}
    doc = json.loads((tmp_path / "r" / "run.json").read_text())
    assert doc["implementations"]["clash-a"]["version"] == "a-1.0"
    assert doc["implementations"]["clash-b"]["version"] == "b-2.0"
    same = cli("run", "--impl", "clash-a", "clash-b", seed_file, "--in-process",
               "--out", tmp_path / "s")  # the fixture is real: one process dies of it
    assert same.returncode == -signal.SIGSEGV and not (tmp_path / "s").exists()


def test_in_process_says_the_guarantees_do_not_hold(hostile, seed_file, tmp_path):
    out = cli("run", "--impl", "prints", seed_file, "--in-process", "--out", tmp_path / "r")
    assert out.returncode == 0
    assert "forged" in out.stdout  # its prints reach the terminal: no wall
    note = "traced in the run's own process (--in-process): an adapter can end, hang or " \
           "forge this run; the wall's guarantees do not hold"
    assert f"note: {note}" in out.stdout
    assert note in json.loads((tmp_path / "r" / "run.json").read_text())["notes"]
    help_text = cli("run", "--help").stdout
    assert "--in-process" in help_text and "none of the guarantees" in " ".join(
        help_text.split())


# --------------------------------------------- two versions of one framework, side by side

AUTOGRAD_VERSIONS = ("1.7.0", "1.8.0")
VENVS = Path.home() / ".cache" / "backprop-harness" / "test-venvs"  # kept between sessions


def _venvs() -> list[Path]:
    """A virtual environment per autograd version (NumPy, SciPy and autograd from the
    registry), built side by side once and kept; skips, saying why, where pip cannot."""
    folders = [VENVS / f"autograd-{v}" for v in AUTOGRAD_VERSIONS]
    building = []
    for folder, version in zip(folders, AUTOGRAD_VERSIONS):
        if (folder / "ok").exists():
            continue
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True,
                       timeout=120)
        building.append((folder, subprocess.Popen(
            [str(folder / "bin" / "pip"), "install", "-q", "numpy", "scipy",
             f"autograd=={version}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)))
    for folder, proc in building:
        said, _ = proc.communicate(timeout=500)
        if proc.returncode:
            pytest.skip(f"pip cannot install into {folder.name}: "
                        f"{(said.strip().splitlines() or ['?'])[-1]}")
        (folder / "ok").touch()
    return folders


@pytest.mark.timeout(600)
def test_two_versions_of_one_framework_run_side_by_side_in_one_report(seed_file, tmp_path):
    """autograd 1.7.0 and 1.8.0, each in its own virtual environment (NAME@PATH), traced
    under its own version in one run; `impls` shows each version."""
    first, second = _venvs()
    names = [f"autograd@{first}", f"autograd@{second}"]
    out = cli("run", "--impl", *names, seed_file, "--out", tmp_path / "r")
    assert out.returncode == 0, out.stdout + out.stderr
    doc = json.loads((tmp_path / "r" / "run.json").read_text())
    versions = {n: d["version"] for n, d in doc["implementations"].items()}
    assert versions == {"reference": versions["reference"], "autograd@autograd-1.7.0": "1.7.0",
                        "autograd@autograd-1.8.0": "1.8.0"}
    assert statuses(tmp_path / "r") == {"autograd@autograd-1.7.0": ("pass", ""),
                                        "autograd@autograd-1.8.0": ("pass", "")}
    listed = cli("impls", "--impl", *names, "autograd")
    rows = {ln.split()[0]: ln.split()[2] for ln in listed.stdout.splitlines()}
    assert rows["autograd@autograd-1.7.0"] == "1.7.0"
    assert rows["autograd@autograd-1.8.0"] == "1.8.0"


def test_an_environment_without_what_the_worker_needs_is_one_line(tmp_path, seed_file):
    """A Python without NumPy: the implementation is unavailable, the reason in one line."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")],
                   check=True, timeout=120)
    out = cli("run", "--impl", f"autograd@{tmp_path / 'bare'}", seed_file,
              "--out", tmp_path / "r")
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "'autograd@bare' is unavailable: its worker did not load it: its worker process " \
           "exited with code 1; its last words: ModuleNotFoundError: No module named " \
           "'numpy'" in out.stderr


def test_a_bug_in_reading_an_answer_fails_those_cases_and_the_run_goes_on(hostile, monkeypatch):
    """The driver thread of a walled implementation never dies silently (the run would wait
    for its cases forever): a failure to read an answer is those cases' error."""
    from harness.runner import run_tasks
    from harness.spec import spec_from_dict
    from harness.wall.walled import WalledImpl

    def broken(self, spec, timeout=None):
        raise TypeError("planted")

    monkeypatch.setattr(WalledImpl, "run_one", broken)
    spec = spec_from_dict(SEED_NETWORK)
    outs = run_tasks([("prints", spec), ("numeric", spec)], timeout=30)
    assert [(o.impl, o.status) for o in outs] == [("prints", "error"), ("numeric", "ok")]
    assert outs[0].message == "the run could not read its answer: TypeError: planted"
