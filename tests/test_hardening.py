"""Bad input, failing implementations, interrupted runs: one clear line, never a crash."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import cli_in_process, needs
from harness.report import writing as report_module
from harness.conformance import run_suite
from harness.errors import HarnessError, SpecError
from harness.report import write_report
from harness.spec import spec_from_dict
from harness.suite import SEED_NETWORK, default_suite

MALFORMED = Path(__file__).parent / "malformed"


def cli(*args, timeout=300, **kw):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=timeout, **kw)


def assert_one_line_exit_2(out, expected):
    assert out.returncode == 2, out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("backprop-harness: error: ") and expected in lines[0]
    assert "Traceback" not in out.stderr and out.stdout == ""


@pytest.mark.parametrize("name, expected", [
    ("not-json.json", "not valid JSON"), ("empty.json", "file is empty"),
    ("ragged-inputs.json", "inputs[1]: ragged array"),
    ("unknown-activation.json", "layers[0].activation: unknown name 'sigmod'"),
    ("nan.json", "non-finite number NaN"), ("not-utf8.json", "not UTF-8 text"),
    ("generate-too-large.json", "generate: too large: 10,001,900,090 numbers (about 74.5 GiB"), ("deeply-nested.json", "nested too deeply"),
])
def test_bad_spec_files_on_the_command_line(name, expected, tmp_path, capsys):
    out = cli_in_process(capsys, "run", str(MALFORMED / name), "--out", str(tmp_path / "r"))
    assert_one_line_exit_2(out, expected)
    assert f"error: {MALFORMED / name}: " in out.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("args, expected", [
    (["run", "no/such/spec.json"], "no/such/spec.json: no such file"),
    (["run", "tests"], "tests: is a directory"),
    (["run", "--impl", "no-such-impl-xyz"],
     "unknown implementation 'no-such-impl-xyz' (installed: reference"),
    (["run", "--baseline", "nope"], "unknown implementation 'nope'"),
    (["run", "--jobs", "0"], "expected a positive integer, got 0"),
    (["run", "--timeout", "-1"], "expected a number of seconds above 0"),
    (["run", "--dtype", "int8"], "invalid choice: 'int8'"),
    (["run", "--cases", "no-such-case*"], "no case matches 'no-such-case*'"),
    (["run", "--rtol-forward", "nan"], "expected a finite number >= 0"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["trace", "tests/malformed/../../harness/cases.json"], "no such file"),
    (["fuzz", "--arch", "4-x-2"], "--arch: expected widths joined by '-'"),
    (["fuzz", "--max-time", "0"], "--max-time must be a positive number of seconds"),
])
def test_bad_usage_is_one_line_and_exit_2(args, expected, capsys):
    assert_one_line_exit_2(cli_in_process(capsys, *args), expected)


def test_trace_of_a_suite_needs_a_case(tmp_path, capsys):
    path = tmp_path / "suite.json"
    path.write_text(json.dumps([SEED_NETWORK, {**SEED_NETWORK, "name": "other"}]))
    assert_one_line_exit_2(cli_in_process(capsys, "trace", str(path)),
                           "is a suite of 2 specs; choose one with --case")
    ok = cli_in_process(capsys, "trace", str(path), "--case", "other")
    assert ok.returncode == 0 and json.loads(ok.stdout)["spec"] == "other"


@pytest.mark.slow
@needs("torch")
def test_existing_report_directory_needs_force(tmp_path, capsys):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "keep.txt").write_text("previous report")
    out = cli_in_process(capsys, "run", "--cases", "seed-2-2-2-float64", "--impl", "torch",
                         "--out", str(tmp_path / "r"))
    assert_one_line_exit_2(out, "exists; pass --force to replace it")
    assert (tmp_path / "r" / "keep.txt").exists()
    forced = cli_in_process(capsys, "run", "--cases", "seed-2-2-2-float64", "--impl", "torch",
                            "--out", str(tmp_path / "r"), "--force")
    assert forced.returncode == 0 and not (tmp_path / "r" / "keep.txt").exists()


def test_missing_framework_is_a_clear_error(plugins, capsys):
    out = cli_in_process(capsys, "run", "--impl", "broken-import")
    assert_one_line_exit_2(out, "implementation 'broken-import' is unavailable: cannot import")


@pytest.mark.parametrize("impl, jobs, expected", [
    ("fault-raise", 1, "raised RuntimeError: planted failure (planted.py:"),
    ("fault-shape", 1, "malformed trace: step 0 v[layer 0]: shape (1, 4), expected (1, 2)"),
    ("fault-nan", 1, "returned NaN or Inf where reference has numbers (step 0 v[layer 0])"),
    ("fault-sleep", 1, "timed out after 3 s"),
    ("fault-abort", 1, "its worker process was killed by SIGABRT"),  # the wall, at any --jobs
    *[pytest.param(*p, marks=pytest.mark.slow) for p in [  # two workers each: ~2 s more
        ("fault-raise", 2, "raised RuntimeError: planted failure"),
        ("fault-sleep", 2, "timed out after 3 s"),
        ("fault-abort", 2, "its worker process was killed by SIGABRT")]],
])
def test_a_failing_implementation_is_an_error_for_that_case_only(plugins, impl, jobs, expected):
    """Each fault fails every case of its implementation while numeric, in the same run,
    passes; a sleeping one is stopped at the 3 s timeout (one case, so about 3 s in all)."""
    specs = default_suite(pattern="seed-2-2-2-float64" if impl == "fault-sleep" else "seed-*")
    t0 = time.monotonic()
    run = run_suite(specs, [impl, "numeric"], jobs=jobs, timeout=3)
    assert time.monotonic() - t0 < 120
    mine = [r for r in run.results if r.impl == impl]
    assert {r.status for r in mine} == {"error"} and len(mine) == len(specs)
    assert all(expected in r.message for r in mine), mine[0].message
    assert all(r.status == "pass" for r in run.results if r.impl == "numeric")
    assert not run.ok


@pytest.mark.slow
@needs("torch")
def test_cli_exit_code_1_when_an_implementation_fails(plugins, tmp_path, capsys):
    out = cli_in_process(capsys, "run", "--cases", "seed-2-2-2-float64", "--impl",
                         "fault-raise", "torch", "--out", str(tmp_path / "r"))
    assert out.returncode == 1
    assert "ERROR seed-2-2-2-float64 fault-raise: failed: raised RuntimeError" in out.stdout
    doc = json.loads((tmp_path / "r" / "run.json").read_text())
    assert doc["counts"] == {"pass": 1, "fail": 0, "error": 1, "unsupported": 0, "xfail": 0,
                             "xpass": 0}


@pytest.mark.slow
def test_interrupted_run_leaves_no_report(plugins, tmp_path, monkeypatch):
    started = tmp_path / "started"
    monkeypatch.setenv("PLANTED_STARTED", str(started))
    # Ctrl-C as on a terminal, also where this suite runs in the background (a shell's `&`
    # starts its children with SIGINT ignored, and Python then never raises KeyboardInterrupt)
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", "--cases", "seed-*",
                             "--impl", "fault-sleep", "--out", str(tmp_path / "r")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:  # until a trace sleeps
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip() == "backprop-harness: interrupted"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site", "started"]  # no report


@pytest.mark.slow
@needs("torch")
def test_interrupted_write_keeps_the_previous_report(tmp_path, monkeypatch):
    run = run_suite(default_suite(pattern="seed-2-2-2-float64"), ["torch"])
    out = write_report(run, tmp_path / "r")
    before = (out / "run.json").read_text()

    def interrupted(run, tmp, final, **kw):
        (tmp / "summary.csv").write_text("half")
        raise KeyboardInterrupt

    monkeypatch.setattr(report_module, "_write_files", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_report(run, out, force=True)
    assert (out / "run.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


@pytest.mark.slow
@needs("torch")
def test_a_report_killed_while_written_is_marked_incomplete(tmp_path, monkeypatch):
    """A kill -9 mid-write cannot run cleanup: what is left is a hidden directory that says
    INCOMPLETE, never a directory under the report's name."""
    run = run_suite(default_suite(pattern="seed-2-2-2-float64"), ["torch"])
    monkeypatch.setattr(report_module.shutil, "rmtree", lambda *a, **k: None)  # as if killed

    def killed(run, tmp, final, **kw):
        raise SystemExit(137)

    monkeypatch.setattr(report_module, "_write_files", killed)
    with pytest.raises(SystemExit):
        write_report(run, tmp_path / "r")
    left = list(tmp_path.iterdir())
    assert not (tmp_path / "r").exists() and len(left) == 1
    assert left[0].name.startswith(".r.incomplete-") and (left[0] / "INCOMPLETE").exists()


def json_values():
    """Any JSON document (a hypothesis strategy; hypothesis is imported only here)."""
    from hypothesis import strategies as st
    return st.recursive(
        st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) |
        st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                   max_size=5),
        max_leaves=30)


@pytest.mark.slow
@needs("hypothesis")
def test_random_documents_never_crash_the_loader():
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(json_values())
    def check(doc):
        try:
            spec_from_dict(doc)
        except SpecError:
            pass

    check()


KEYS = ["name", "dtype", "layers", "loss", "reduction", "inputs", "targets", "learning_rate",
        "steps", "tolerance", "generate", "weights", "bias", "activation", "slope", "sizes"]


def mutated_specs():
    """The seed network with a few fields replaced by any JSON or removed (a hypothesis
    strategy)."""
    from hypothesis import strategies as st
    json_docs = json_values()

    @st.composite
    def mutated(draw):
        doc = json.loads(json.dumps(SEED_NETWORK))
        for _ in range(draw(st.integers(1, 4))):
            target = doc
            path = draw(st.lists(st.sampled_from(KEYS + [0, 1]), min_size=1, max_size=4))
            for key in path[:-1]:
                nxt = target.get(key) if isinstance(target, dict) else (
                    target[key] if isinstance(target, list) and isinstance(key, int)
                    and key < len(target) else None)
                if not isinstance(nxt, (dict, list)):
                    break
                target = nxt
            value = draw(json_docs)
            if isinstance(target, dict) and isinstance(path[-1], str):
                if draw(st.booleans()):
                    target[path[-1]] = value
                else:
                    target.pop(path[-1], None)
            elif isinstance(target, list) and isinstance(path[-1], int) and \
                    path[-1] < len(target):
                target[path[-1]] = value
        return doc

    return mutated()


@pytest.mark.slow
@needs("hypothesis")
def test_mutated_specs_never_crash_the_loader():
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(mutated_specs())
    def check(doc):
        try:
            spec = spec_from_dict(doc)
        except SpecError as exc:
            assert "\n" not in str(exc)
        else:
            assert spec.sizes[0] == spec.inputs.shape[1]

    check()


def test_harness_errors_are_one_line():
    with pytest.raises(HarnessError) as err:
        default_suite(pattern="nothing-matches")
    assert "\n" not in str(err.value)


@pytest.mark.slow
def test_the_command_skips_teardown_yet_says_everything():
    """`python -m harness` ends with os._exit (no interpreter teardown): its piped output
    still arrives whole, and its exit code is main()'s."""
    out = cli("cases")
    assert out.returncode == 0
    assert [line.split()[0] for line in out.stdout.splitlines()] == \
        [s.name for s in default_suite()]
    bad = cli("run", "--impl", "no-such-impl")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "no-such-impl" in bad.stderr
