"""Hostile probes (issue 20): adapters that exit, hang, lie about themselves or carry shell code
in their names, and input that used to end in a traceback. A run never reports a pass it did
not check; every probe gets a verdict or one error line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import register
from harness import registry
from harness.cli import main
from harness.conformance import run_suite
from harness.spec import load_specs, spec_from_dict
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


def cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


# ------------------------------------------------ 4: an adapter cannot make a run pass

@pytest.mark.parametrize("name, says, jobs", [
    ("exit-zero", "called sys.exit(0)", 1), ("exit-three", "called sys.exit(3)", 1),
    ("os-exit", "called os._exit(0)", 1),
    pytest.param("os-exit", "called os._exit(0)", 2, marks=pytest.mark.slow),  # in a worker
])
def test_an_adapter_that_exits_fails_its_case_and_the_report_is_written(
        hostile, seed_file, tmp_path, name, says, jobs):
    out = cli("run", "--impl", name, seed_file, "--jobs", jobs, "--out", tmp_path / "r")
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"ERROR seed-2-2-2 {name}: failed: {says}" in out.stdout
    doc = json.loads((tmp_path / "r" / "run.json").read_text())
    assert [r["status"] for r in doc["cases"]] == ["error"]
    assert (tmp_path / "r" / "report.html").exists()


def test_os_exit_is_an_error_for_every_direct_caller_and_the_guard_is_undone(hostile):
    """The fuzzers, the audit and `trace` call run_one() directly, sometimes from threads:
    os._exit() in a trace is that case's error there too, and os._exit is the real one after."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from harness.runner import run_one
    real = os._exit
    spec = spec_from_dict(SEED_NETWORK)
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda _: run_one("os-exit", spec), range(8)))
    assert {(o.status, o.message.split(" (")[0]) for o in outcomes} == \
        {("error", "called os._exit(0)")}
    assert os._exit is real


def test_an_adapter_that_exits_while_loading_is_unavailable(hostile):
    info = registry.get("exit-on-load")
    assert not info.available and info.reason.startswith("failed to load: SystemExit")


# ------------------------------------------------ 5: adapter metadata is not trusted

@pytest.mark.parametrize("name, problem", [
    ("version-raises", "raised RuntimeError: no version today"),
    ("version-number", "version is int, expected a string"),
    ("settings-object", "settings is _Odd, expected a dict"),
    ("settings-set", "settings is set, expected a dict"),
    ("settings-list", "settings is list, expected a dict"),
    ("settings-nested", "settings holds a value that is not plain data"),
])
def test_misbehaving_metadata_errors_that_implementation_only(hostile, tmp_path, name, problem):
    spec = spec_from_dict(SEED_NETWORK)
    run = run_suite([spec], [name, "numeric"])
    status = {r.impl: r.status for r in run.results}
    assert status == {name: "error", "numeric": "pass"}
    bad = next(r for r in run.results if r.impl == name)
    assert problem in bad.message
    assert main(["run", "--impl", name, "numeric", "--out", str(tmp_path / "r"),
                 str(_seed(tmp_path))]) == 1
    doc = json.loads((tmp_path / "r" / "run.json").read_text())  # JSON-safe despite it all
    assert doc["implementations"][name]["version"] == ""


def _seed(tmp_path: Path) -> Path:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(SEED_NETWORK))
    return path


@pytest.mark.slow
def test_impls_lists_every_hostile_plugin_with_its_problem(hostile, capsys):
    assert main(["impls"]) == 0
    out = capsys.readouterr().out
    line = {row.split()[0]: row for row in out.splitlines() if row.strip()}
    assert "but its version() or settings() raised RuntimeError" in line["version-raises"]
    assert "but settings is set" in line["settings-set"]
    assert "unavailable (supports is list, expected a dict)" in line["bad-supports"]
    assert "unavailable (failed to load: SystemExit" in line["exit-on-load"]


@pytest.mark.slow
def test_a_run_of_everything_with_hostile_plugins_installed_writes_its_report(
        hostile, seed_file, tmp_path):
    """No --impl: every available implementation, the hostile ones among them, one case."""
    out = cli("run", seed_file, "--timeout", "2", "--out", tmp_path / "r", timeout=300)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    doc = json.loads((tmp_path / "r" / "run.json").read_text())
    status = {r["impl"]: r["status"] for r in doc["cases"]}
    assert status["numeric"] == "pass" and status["many-hangs"] == "pass"
    for name in ("exit-zero", "os-exit", "version-raises", "settings-object", "retry-forever",
                 "many-broken"):
        assert status[name] == "error", (name, status[name])
    note = "many-hangs: trace_many did not return within 2 s; traced case by case"
    assert note in doc["notes"] and f"note: {note}" in out.stdout
    assert note in (tmp_path / "r" / "summary.md").read_text()
    assert note in (tmp_path / "r" / "report.html").read_text()


# ------------------------------------------------ 6, 10: timeouts that hold

def test_the_timeout_holds_against_an_adapter_that_catches_every_exception(hostile):
    spec = spec_from_dict(SEED_NETWORK)
    assert registry.get("retry-forever").available  # its worker's start is not the bound's
    start = time.monotonic()
    run = run_suite([spec], ["retry-forever"], timeout=0.5)
    assert time.monotonic() - start < 10
    assert run.results[0].status == "error"
    assert run.results[0].message == "failed: timed out after 0.5 s"


def test_a_trace_many_that_hangs_is_bounded_then_traced_case_by_case(hostile):
    """The bound is 1 s for the whole trace_many call: a bound per case would take 15 s or
    more for these 15 cases. The worker is loaded first, so the time measured is the bound's,
    a new worker's start (the hung one is killed) and the small traces'."""
    specs = [spec_from_dict({**SEED_NETWORK, "name": f"seed-{k}"}) for k in range(15)]
    assert registry.get("many-hangs").available  # its worker started and loaded here
    start = time.monotonic()
    run = run_suite(specs, ["many-hangs"], timeout=1.0)
    took = time.monotonic() - start
    assert took < 12, took
    assert [r.status for r in run.results] == ["pass"] * 15
    assert run.notes == ["many-hangs: trace_many did not return within 1 s; traced case by case"]


def test_a_trace_many_that_exits_is_traced_case_by_case(hostile):
    run = run_suite([spec_from_dict(SEED_NETWORK)], ["many-exits"])
    assert run.results[0].status == "pass"
    assert len(run.notes) == 1
    assert re.fullmatch(r"many-exits: trace_many called sys.exit\(0\) \(hostile.py:\d+\); "
                        r"traced case by case", run.notes[0])


def test_broken_traces_from_trace_many_are_errors_of_their_cases(hostile):
    run = run_suite([spec_from_dict(SEED_NETWORK)], ["many-broken"])
    assert run.results[0].status == "error"
    assert run.results[0].message == "failed: malformed trace: trace() returned object, not a " \
                                     "Trace"


# ------------------------------------------------ 3: names are never code

@pytest.mark.parametrize("name", ["h-$(touch${IFS}/tmp/bh-pwned)", "h`id`", "h;ls", "h<x", "h/x"])
def test_unsafe_implementation_names_are_refused_at_load(hostile, name, tmp_path, capsys):
    info = registry.get(name)
    assert not info.available and info.reason.startswith("unsafe implementation name")
    for option in ("--impl", "--baseline"):
        assert main(["run", option, name, "--out", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is unavailable: unsafe implementation name" in err
    assert not (tmp_path / "r").exists()


# ------------------------------------------------ 8, 9, 12, 13, 14: input, one line each

def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_huge_integer_literals_name_their_field(tmp_path):
    doc = json.dumps({**SEED_NETWORK, "learning_rate": 1})
    path = _write(tmp_path, "lr.json", doc.replace('"learning_rate": 1', '"learning_rate": '
                                                   + "9" * 401))
    with pytest.raises(Exception, match=r"learning_rate: expected a number, got an integer of "
                                        r"401 digits, beyond the float range"):
        load_specs(path)
    text = json.dumps({**SEED_NETWORK, "inputs": [[7, 1]]}).replace("7", "8" * 5001, 1)
    with pytest.raises(Exception, match=r"inputs\[0\]\[0\]: expected a number, got an integer "
                                        r"of 5001 digits"):
        load_specs(_write(tmp_path, "x.json", text))
    big_but_fine = json.dumps({**SEED_NETWORK, "learning_rate": 10**300})
    assert load_specs(_write(tmp_path, "ok.json", big_but_fine))[0].learning_rate == 1e300


def test_duplicate_keys_are_refused_naming_the_key(tmp_path):
    text = json.dumps(SEED_NETWORK).replace('"learning_rate": 0.5',
                                            '"learning_rate": 0.5, "learning_rate": 99')
    assert '"learning_rate": 99' in text
    with pytest.raises(Exception, match="duplicate key 'learning_rate' in one JSON object"):
        load_specs(_write(tmp_path, "dup.json", text))


def test_a_spec_without_a_name_is_named_after_its_file_made_safe(tmp_path):
    doc = {k: v for k, v in SEED_NETWORK.items() if k != "name"}
    assert load_specs(_write(tmp_path, ".hid.json", json.dumps(doc)))[0].name == "hid"
    long = load_specs(_write(tmp_path, "x" * 200 + ".json", json.dumps(doc)))[0].name
    assert long == "x" * 120
    with pytest.raises(Exception, match="no \"name\" field, and the file name '...' gives no "
                                        "usable case name"):
        load_specs(_write(tmp_path, "....json", json.dumps(doc)))


def test_a_suite_whose_specs_are_not_a_list_names_the_field(tmp_path):
    with pytest.raises(Exception, match=r": specs: expected a list of specs, got an integer"):
        load_specs(_write(tmp_path, "s.json", '{"specs": 5}'))


@pytest.mark.parametrize("args, expected", [
    (["run", "--timeout", "1e12"], "--timeout: expected a number of seconds above 0, at most 1e+06"),
    (["run", "--timeout", "1e300", "--jobs", "2"], "at most 1e+06, got 1e300"),
    (["run", "--seed", "-1"], "--seed: expected an integer from 0 to 2**63 - 1, got -1"),
    (["cases", "--export", "/no/such/dir/x.json"], "cannot write /no/such/dir/x.json: No such "
                                                   "file or directory"),
])
def test_options_out_of_range_are_one_line(args, expected, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err, err
