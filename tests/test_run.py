"""`run` end to end (conformance.run_suite and the command line): bugs caught, localized, told."""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from conftest import needs
from harness.cli import main
from harness.conformance import run_suite
from harness.suite import default_suite


PLANTED = [  # plugin, case, the origin the report must name
    ("bug-derivative", "seed-2-2-2-float64", "step 0 v[layer 0]"),
    ("bug-bias", "seed-2-2-2-float64", "step 0 grad_bias[layer 1]"),
    ("bug-transpose", "seed-2-2-2-float64", "step 0 d[layer 0]"),
    ("bug-sign", "seed-2-2-2-float64", "step 0 v[layer 0]"),
    ("bug-lr", "seed-2-2-2-float64", "final weights[layer 0]"),
    ("bug-lr", "multistep-10-float64", "step 1 d[layer 0]"),
    ("bug-derivative", "act-sigmoid-float32", "step 0 v[layer 0]"),
]


@needs("exact")
@pytest.mark.parametrize("impl, case, origin", PLANTED, ids=[f"{p[0]}-{p[1]}" for p in PLANTED])
def test_planted_bug_is_caught_and_localized(plugins, tmp_path, capsys, impl, case, origin):
    out = tmp_path / "report"
    code = main(["run", "--cases", case, "--impl", impl, "exact", "--out", str(out)])
    assert code == 1
    doc = json.loads((out / "run.json").read_text())
    bad = next(c for c in doc["cases"] if c["impl"] == impl)
    assert bad["status"] == "fail"
    label = bad["origin"]
    where = f"{'final' if label['step'] is None else 'step ' + str(label['step'])} " \
            f"{label['quantity']}[layer {label['layer']}]"
    assert where == origin
    exact = next(c for c in doc["cases"] if c["impl"] == "exact")
    assert exact["status"] == "pass"
    if bad["closer"]:  # the oracle sides with the reference against the planted bug
        assert bad["closer"].startswith("reference (closer to exact)")
    assert origin in (out / "summary.md").read_text()
    assert f"FAIL {case} {impl}" in capsys.readouterr().out


def test_seed_option_changes_random_cases_only():
    a = {s.name: s for s in default_suite(pattern="act-tanh-float64,seed-2-2-2-float64")}
    b = {s.name: s for s in default_suite(pattern="act-tanh-float64,seed-2-2-2-float64", seed=9)}
    assert a["seed-2-2-2-float64"].to_dict() == b["seed-2-2-2-float64"].to_dict()
    assert a["act-tanh-float64"].to_dict() != b["act-tanh-float64"].to_dict()


@needs("torch")
def test_cases_command_lists_and_exports(tmp_path, capsys):
    assert main(["cases"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(default_suite()) and lines[0].startswith("seed-2-2-2-float64")
    assert main(["cases", "--cases", "kinks-*", "--export", str(tmp_path / "k.json")]) == 0
    assert main(["run", str(tmp_path / "k.json"), "--impl", "torch", "--out",
                 str(tmp_path / "r")]) == 0


@pytest.mark.slow
@needs("torch", "jax")
def test_pairwise_compares_every_pair(tmp_path):
    run = run_suite(default_suite(pattern="seed-2-2-2-float64"), ["torch", "jax"], pairwise=True)
    assert {(r.baseline, r.impl) for r in run.results} == {
        ("reference", "torch"), ("reference", "jax"), ("torch", "jax")}
    assert run.ok


@pytest.mark.slow
@needs("torch", "jax")
def test_cli_run_end_to_end_writes_a_report_and_exits_0(tmp_path):
    out = subprocess.run([sys.executable, "-m", "harness", "run", "--cases", "seed-*",
                          "--impl", "torch", "jax", "--out", str(tmp_path / "r")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "PASS: 8 passed" in out.stdout and f"report: {tmp_path / 'r'}" in out.stdout
    assert out.stderr == ""


def test_known_deviations_are_reported_but_not_counted(plugins, tmp_path, capsys):
    xf = tmp_path / "xfails.txt"
    xf.write_text("seed-2-2-2-*  sign of v is this framework's convention\nnothing-*  stale\n")
    code = main(["run", "--cases", "seed-2-2-2-float64,seed-2-2-2-float32", "--impl",
                 "bug-sign", "--xfails", str(xf), "--out", str(tmp_path / "r")])
    out, err = capsys.readouterr()
    assert code == 0 and "PASS: 0 passed, 0 failed, 0 errors, 0 not supported, 2 known" in out
    assert "XFAIL seed-2-2-2-float64 bug-sign: known deviation: sign of v" in out
    assert "xfail pattern 'nothing-*'" in err and "matches no failure" in err
    doc = json.loads((tmp_path / "r" / "run.json").read_text())
    assert doc["verdict"] == "pass" and doc["counts"]["xfail"] == 2
    assert all(c["known"].startswith("sign of v") for c in doc["cases"])
    suite = ET.parse(tmp_path / "r" / "junit.xml").getroot()
    assert len(suite.findall("testcase/skipped[@type='xfail']")) == 2


@needs("einsum")
def test_runxfail_reports_known_deviations_as_the_failures_they_are(tmp_path, capsys):
    """The shipped ledger and --xfails files apply to nothing: the failure is counted, gets its
    reproducers, and the rerun command keeps --runxfail."""
    xf = tmp_path / "xfails.txt"
    xf.write_text("seed-2-2-2-*  not this one\n")
    code = main(["run", "--cases", "saturation-sigmoid-float64", "--impl", "einsum", "--runxfail",
                 "--xfails", str(xf), "--no-oracle", "--out", str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert code == 1 and "FAIL saturation-sigmoid-float64 einsum: " in out
    assert "0 known deviations" in out and "XFAIL" not in out
    doc = json.loads((tmp_path / "r" / "run.json").read_text())
    assert doc["counts"]["fail"] == 1 and doc["cases"][0]["known"] == ""
    assert "--runxfail" in (tmp_path / "r" / "failing" / "reproduce.sh").read_text()


@needs("einsum")
def test_an_implementation_ships_its_known_deviations():
    run = run_suite(default_suite(pattern="saturation-sigmoid-float64,seed-2-2-2-float64"),
                    ["einsum"])
    by_case = {r.case: r for r in run.results}
    assert by_case["saturation-sigmoid-float64"].status == "xfail"
    assert "bh_einsum/xfails.txt" in by_case["saturation-sigmoid-float64"].known
    assert by_case["seed-2-2-2-float64"].status == "pass" and run.ok

