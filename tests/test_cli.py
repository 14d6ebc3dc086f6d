"""The command line a newcomer meets: version, help, arguments in any order, hostile names."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import cli_in_process, needs
from harness.suite import SEED_NETWORK

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd)


def test_version_and_defaults_in_help(capsys):
    out = cli_in_process(capsys, "--version")
    assert out.returncode == 0 and out.stdout.startswith("backprop-harness ")
    text = cli_in_process(capsys, "run", "--help").stdout
    assert "(default: reference)" in text and "(default: every dtype)" in text
    assert "--all-modes" in text and "(default: None)" not in text
    fuzz = cli_in_process(capsys, "fuzz", "--help").stdout
    assert "(default 8)" in fuzz and "(default: local)" in fuzz


def test_a_spec_file_after_impl_is_a_spec(tmp_path, capsys):
    spec = tmp_path / "seed.json"
    spec.write_text(json.dumps(SEED_NETWORK))
    out = cli_in_process(capsys, "run", "--impl", "numeric", str(spec), "--out", str(tmp_path / "r"))
    assert out.returncode == 0, out.stderr
    assert "PASS: " in out.stdout


@pytest.mark.parametrize("name", ["../../../escaped", "/abs-escape", "a/b", ".hidden",
                                  "x" * 200, "name with space", "$(rm -rf x)", "<script>x"])
def test_a_name_that_is_not_a_safe_file_name_is_refused(tmp_path, name, capsys):
    """Nothing is written outside the report directory: such a name is one error line."""
    spec = tmp_path / "hostile.json"
    spec.write_text(json.dumps({**SEED_NETWORK, "name": name}))
    out = cli_in_process(capsys, "run", str(spec), "--impl", "reference", "--out", str(tmp_path / "r" / "run"))
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1, out.stderr
    assert "is not a safe file name" in out.stderr
    assert not (tmp_path / "r").exists() and not Path("/abs-escape.json").exists()


def test_a_file_named_unsafely_gets_a_safe_default_name(tmp_path, capsys):
    doc = {k: v for k, v in SEED_NETWORK.items() if k != "name"}
    spec = tmp_path / "my net (copy).json"
    spec.write_text(json.dumps(doc))
    out = cli_in_process(capsys, "run", str(spec), "--impl", "numeric", "--out", str(tmp_path / "r"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "r" / "run.json").exists()


def test_a_run_with_nothing_to_compare_is_one_error_line(tmp_path, capsys):
    out = cli_in_process(capsys, "run", "--impl", "reference", "--out", str(tmp_path / "r"))
    assert out.returncode == 2 and "nothing to compare" in out.stderr


@pytest.mark.slow
@needs("exact")
def test_reproduce_sh_runs_from_any_directory_without_an_activated_environment(tmp_path,
                                                                            plugins):
    out = cli("run", "--cases", "seed-2-2-2-float64", "--impl", "bug-sign", "--out",
              str(tmp_path / "r"))
    assert out.returncode == 1
    script = (tmp_path / "r" / "failing" / "reproduce.sh").read_text()
    line = script.splitlines()[-1]
    # this environment's console script, by its path (not `python -m` with cwd first)
    assert line.startswith(str(Path(sys.executable).with_name("backprop-harness")) + " ")
    assert str(tmp_path) in line
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = "/usr/bin:/bin"  # backprop-harness is not on it
    again = subprocess.run(["sh", str(tmp_path / "r" / "failing" / "reproduce.sh")],
                           cwd="/", capture_output=True, text=True, env=env, timeout=300)
    assert "FAIL seed-2-2-2-float64 bug-sign" in again.stdout, again.stderr


@pytest.mark.slow
def test_unavailable_implementations_are_named_under_the_table(tmp_path, capsys):
    out = cli_in_process(capsys, "run", "--cases", "seed-2-2-2-float64", "--out",
                         str(tmp_path / "r"))
    assert out.returncode == 0
    assert ("not run: torch-cuda" not in out.stdout)  # modes are opt-in, not "missing"
    import importlib.util
    if importlib.util.find_spec("torch") is None:
        assert "not run: torch is unavailable" in out.stdout


@pytest.mark.slow
@needs("hypothesis")
def test_fuzz_says_how_many_networks_it_compared_and_leaves_nothing_behind(tmp_path):
    out = cli("fuzz", "--impl", "numeric", "--examples", "5", "--activation", "tanh",
              "--loss", "mse", "--dtype", "float64", "--max-findings", "1", "--out",
              str(tmp_path / "f"), cwd=tmp_path)
    assert out.returncode in (0, 1), out.stdout + out.stderr  # numeric is approximate
    assert "random networks drawn" in out.stdout and "compared with reference" in out.stdout
    assert not (tmp_path / ".hypothesis").exists()


@pytest.mark.parametrize("args, expected", [
    (["fuzz", "--examples", "5", "--networks", "10"], "--networks applies only with --arch"),
    (["fuzz", "--arch", "4-2", "--examples", "5"], "--examples applies only without --arch"),
])
def test_fuzz_rejects_the_other_modes_options(args, expected, capsys):
    out = cli_in_process(capsys, *args)
    assert out.returncode == 2 and expected in out.stderr


@pytest.mark.slow
def test_pytest_bp_impl_from_the_repository_collects_only_the_conformance_suite(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pytest", "--bp-impl", "reference",
                          "--bp-cases", "seed-*", "-q", "--co", "-p", "no:cacheprovider"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    collected = [line for line in out.stdout.splitlines() if "::" in line]
    assert collected and all("test_conformance.py::" in line for line in collected)


@pytest.mark.slow
def test_cases_export_counts_in_words(tmp_path):
    out = cli("cases", "--cases", "seed-2-2-2-float64", "--export", str(tmp_path / "one.json"))
    assert out.returncode == 0 and out.stdout == f"wrote 1 case to {tmp_path / 'one.json'}\n"
    out = cli("cases", "--cases", "seed-2-2-2-float64,seed-2-2-2-float32", "--export", str(tmp_path / "two.json"))
    assert out.stdout == f"wrote 2 cases to {tmp_path / 'two.json'}\n"


def test_cases_export_writes_each_array_on_one_line(tmp_path, capsys):
    """A spec to read and edit: a weight matrix row by row, a bias on one line (indent=1 gave
    every number a line of its own), and the same documents the suite is built from."""
    from harness.suite import default_suite_docs
    names = "seed-2-2-2-float64,deep-narrow-float64"
    out = cli_in_process(capsys, "cases", "--cases", names, "--export", str(tmp_path / "n.json"))
    assert out.returncode == 0 and out.stdout == f"wrote 2 cases to {tmp_path / 'n.json'}\n"
    text = (tmp_path / "n.json").read_text()
    assert json.loads(text) == [d for d in default_suite_docs() if d["name"] in names.split(",")]
    lines = [line.strip() for line in text.splitlines()]
    assert "[0.15, 0.2]," in lines and "[0.25, 0.3]" in lines  # the seed's first layer
    assert '"bias": [0.35, 0.35],' in lines and '"targets": [' in lines
    number = r"-?\d[\d.e+-]*,?"
    assert not [line for line in lines if re.fullmatch(number, line)]  # no number alone


@pytest.mark.slow
def test_strict_xfails_fail_an_unexpected_pass_and_still_write_the_report(tmp_path):
    xf = tmp_path / "xfails.txt"
    xf.write_text("seed-2-2-2-float64 url=https://example.org/3 expected to fail\n")
    out = cli("run", "--cases", "seed-2-2-2-float64", "--impl", "numeric", "--xfails", str(xf),
              "--strict-xfails", "--out", str(tmp_path / "r"))
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert "XPASS: conforms although a known deviation expected it" in out.stdout
    assert (tmp_path / "r" / "junit.xml").exists()
    loose = cli("run", "--cases", "seed-2-2-2-float64", "--impl", "numeric", "--xfails",
                str(xf), "--out", str(tmp_path / "r2"))
    assert loose.returncode == 0 and "1 unexpected pass in" in loose.stdout


@pytest.mark.slow
@needs("torch")
def test_reproduce_sh_keeps_the_runs_tolerance_and_writes_inside_the_report(tmp_path):
    out = cli("run", "--cases", "seed-2-2-2-float64", "--impl", "torch", "--rtol-forward",
              "0", "--atol-forward", "0", "--rtol-backward", "0", "--atol-backward", "0",
              "--out", str(tmp_path / "r"))
    assert out.returncode == 1
    line = (tmp_path / "r" / "failing" / "reproduce.sh").read_text().splitlines()[-1]
    assert "--rtol-forward 0.0" in line and "--atol-backward 0.0" in line
    assert f"--out {tmp_path / 'r' / 'failing'}/rerun-seed-2-2-2-float64-torch" in line
    again = subprocess.run(["sh", str(tmp_path / "r" / "failing" / "reproduce.sh")], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert "FAIL seed-2-2-2-float64 torch" in again.stdout, again.stderr
    assert not (tmp_path / "reports").exists()
