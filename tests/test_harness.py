"""The main job end to end: planted bugs caught and localized, reports that parse and tell the
truth, determinism, and the command line's exit codes."""

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from harness.cli import main
from harness.conformance import run_suite
from harness.report import write_report
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


def test_correct_implementations_pass_the_whole_default_suite(tmp_path):
    run = run_suite(default_suite(), ["torch", "jax", "numeric", "exact"])
    bad = [r.message for r in run.results if not r.ok]
    assert run.ok, bad
    counts = run.counts()
    assert counts["fail"] == counts["error"] == 0 and counts["pass"] >= 4 * 59 - 10
    assert {s.dtype for s in run.specs.values()} == {"float64", "float32"}


@pytest.fixture(scope="module")
def failing_report(tmp_path_factory):
    """One run with a planted bug and a correct implementation, written to disk."""
    import os
    from harness import registry
    from plugins.planted import ENTRY_POINTS  # noqa: F401  (the plugins fixture is per test)
    mp = pytest.MonkeyPatch()
    site = tmp_path_factory.mktemp("site")
    dist = site / "planted_plugins-0.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: planted-plugins\nVersion: 0.0\n")
    (dist / "entry_points.txt").write_text("[backprop_harness.impls]\n"
                                            "bug-sign = planted:SignFlipV\n")
    from conftest import PLUGINS
    mp.syspath_prepend(str(site))
    mp.syspath_prepend(str(PLUGINS))
    mp.setenv("PYTHONPATH", os.pathsep.join([str(site), str(PLUGINS)]))
    registry.discover(refresh=True)
    specs = default_suite(pattern="seed-*,act-tanh-*,multistep-10-float64")
    run = run_suite(specs, ["torch", "bug-sign"])
    out = write_report(run, tmp_path_factory.mktemp("r") / "run")
    yield run, out
    mp.undo()
    registry.discover(refresh=True)


def test_report_files_parse_and_hold_the_run(failing_report):
    run, out = failing_report
    names = {p.name for p in out.iterdir()}
    assert {"summary.md", "report.html", "summary.csv", "mismatches.csv", "run.json",
            "junit.xml", "failing"} <= names
    summary = pd.read_csv(out / "summary.csv")
    n_tensors = sum(len(r.tensors) for r in run.results)
    assert len(summary) == n_tensors
    sign = summary[(summary.impl == "bug-sign") & (summary.quantity == "v") &
                   (summary.layer == 0) & (summary.step == 0)]
    assert not sign.passed.any() and sign.max_rel.min() == pytest.approx(2.0)
    mism = pd.read_csv(out / "mismatches.csv")
    assert set(mism.impl) == {"bug-sign"} and (mism.abs_err > mism.tol).all()
    doc = json.loads((out / "run.json").read_text(),
                     parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    assert doc["verdict"] == "fail" and doc["counts"]["fail"] == len(run.specs)
    assert doc["implementations"]["torch"]["settings"]["threads"] >= 1
    assert set(doc["impl_seconds"]) == {"reference", "torch", "bug-sign"}
    assert doc["environment"]["harness"] and doc["tolerance"]["defaults"]["float64"]
    suite = ET.parse(out / "junit.xml").getroot()
    assert suite.get("tests") == str(len(run.results)) and suite.get("failures") == \
        str(doc["counts"]["fail"])
    assert len(suite.findall("testcase/failure")) == doc["counts"]["fail"]
    html = (out / "report.html").read_text()
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    charts = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(charts) >= len(run.results)  # a per-layer chart per comparison at least
    for chart in charts:
        ET.fromstring(chart)  # well-formed SVG


def test_failing_cases_come_with_a_spec_and_a_command_that_reproduces(failing_report, tmp_path):
    run, out = failing_report
    doc = json.loads((out / "run.json").read_text())
    case = next(c for c in doc["cases"] if c["status"] == "fail")
    assert (out / "failing" / f"{case['case']}.json").exists()
    cmd = case["reproduce"].split() + ["--out", str(tmp_path / "again")]
    assert cmd[:2] == ["backprop-harness", "run"]
    again = subprocess.run([sys.executable, "-m", "harness", *cmd[1:]], capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 1, again.stderr
    assert "origin" in (tmp_path / "again" / "summary.md").read_text()


def test_two_runs_give_identical_numbers(tmp_path):
    specs = default_suite(pattern="seed-*,act-gelu-*,loss-softmax*,multistep-10-float32")
    outs = [write_report(run_suite(specs, ["torch", "jax", "numeric"]), tmp_path / f"r{i}")
            for i in range(2)]
    assert (outs[0] / "summary.csv").read_bytes() == (outs[1] / "summary.csv").read_bytes()

    def stable(path):
        doc = json.loads((path / "run.json").read_text())
        for key in ("started", "wall_seconds", "impl_seconds"):
            doc.pop(key)
        for c in doc["cases"]:
            c.pop("seconds")
        return doc

    assert stable(outs[0]) == stable(outs[1])


def test_seed_option_changes_random_cases_only():
    a = {s.name: s for s in default_suite(pattern="act-tanh-float64,seed-2-2-2-float64")}
    b = {s.name: s for s in default_suite(pattern="act-tanh-float64,seed-2-2-2-float64", seed=9)}
    assert a["seed-2-2-2-float64"].to_dict() == b["seed-2-2-2-float64"].to_dict()
    assert a["act-tanh-float64"].to_dict() != b["act-tanh-float64"].to_dict()


def test_cases_command_lists_and_exports(tmp_path, capsys):
    assert main(["cases"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(default_suite()) and lines[0].startswith("seed-2-2-2-float64")
    assert main(["cases", "--cases", "kinks-*", "--export", str(tmp_path / "k.json")]) == 0
    assert main(["run", str(tmp_path / "k.json"), "--impl", "torch", "--out",
                 str(tmp_path / "r")]) == 0


def test_pairwise_compares_every_pair(tmp_path):
    run = run_suite(default_suite(pattern="seed-2-2-2-float64"), ["torch", "jax"], pairwise=True)
    assert {(r.baseline, r.impl) for r in run.results} == {
        ("reference", "torch"), ("reference", "jax"), ("torch", "jax")}
    assert run.ok


def test_cli_run_end_to_end_writes_a_report_and_exits_0(tmp_path):
    out = subprocess.run([sys.executable, "-m", "harness", "run", "--cases", "seed-*",
                          "--impl", "torch", "jax", "--out", str(tmp_path / "r")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "PASS: 4 passed" in out.stdout and f"report: {tmp_path / 'r'}" in out.stdout
    assert out.stderr == ""


def test_known_deviations_are_reported_but_not_counted(plugins, tmp_path, capsys):
    xf = tmp_path / "xfails.txt"
    xf.write_text("seed-2-2-2-*  sign of v is this framework's convention\nnothing-*  stale\n")
    code = main(["run", "--cases", "seed-*", "--impl", "bug-sign", "--xfails", str(xf),
                 "--out", str(tmp_path / "r")])
    out, err = capsys.readouterr()
    assert code == 0 and "PASS: 0 passed, 0 failed, 0 errors, 0 not supported, 2 known" in out
    assert "XFAIL seed-2-2-2-float64 bug-sign: known deviation: sign of v" in out
    assert "xfail pattern 'nothing-*'" in err and "matches no failure" in err
    doc = json.loads((tmp_path / "r" / "run.json").read_text())
    assert doc["verdict"] == "pass" and doc["counts"]["xfail"] == 2
    assert all(c["known"].startswith("sign of v") for c in doc["cases"])
    suite = ET.parse(tmp_path / "r" / "junit.xml").getroot()
    assert len(suite.findall("testcase/skipped[@type='xfail']")) == 2


def test_an_implementation_ships_its_known_deviations():
    run = run_suite(default_suite(pattern="saturation-sigmoid-float64,seed-2-2-2-float64"),
                    ["einsum"])
    by_case = {r.case: r for r in run.results}
    assert by_case["saturation-sigmoid-float64"].status == "xfail"
    assert "bh_einsum/xfails.txt" in by_case["saturation-sigmoid-float64"].known
    assert by_case["seed-2-2-2-float64"].status == "pass" and run.ok


def test_jobs_send_trace_many_one_batch_per_worker(plugins):
    """With --jobs 2, an implementation with trace_many() gets its cases first as two batches
    (every other case), one call per worker, each case charged its share of the call."""
    from harness.runner import run_tasks
    specs = default_suite("float64", "seed*") + default_suite("float64", "kinks-*")
    tasks = [(name, s) for s in specs for name in ("many", "reference")]
    outcomes = run_tasks(tasks, jobs=2, timeout=60)
    assert [(o.impl, o.case, o.status) for o in outcomes] == [(n, s.name, "ok") for n, s in tasks]
    calls = {}
    for k, o in enumerate(o for o in outcomes if o.impl == "many"):
        calls.setdefault(k % 2, set()).add(tuple(map(tuple, o.trace.settings["many_calls"])))
        assert o.seconds >= 0.2 / len(specs)
    halves = (len(specs) + 1) // 2, len(specs) // 2
    assert calls == {k: {(("MainThread", n),)} for k, n in enumerate(halves)}


def test_jobs_retry_a_batch_case_by_case_when_its_worker_dies(plugins):
    """trace_many() aborts its worker: the cases run again one by one and pass."""
    from harness.runner import run_tasks
    specs = [replace(s, name=s.name + "-many-aborts") for s in default_suite("float64", "seed*")]
    tasks = [(name, s) for s in specs for name in ("many", "reference")]
    outcomes = run_tasks(tasks, jobs=2, timeout=60)
    assert [(o.impl, o.status) for o in outcomes] == [(n, "ok") for n, _ in tasks]
    assert all(o.trace.settings["many_calls"] == [] for o in outcomes if o.impl == "many")


@pytest.mark.parametrize("raises", [False, True])
def test_trace_many_runs_on_a_thread_of_the_runner_and_its_outcomes_come_last(plugins, raises):
    """In one process an implementation with trace_many() gets all its specs in one call, on
    a thread the runner starts; the other tasks run meanwhile and its outcomes come after
    theirs, each case charged a share of the call's 0.2 s. A call that raises is replaced by
    one trace() per case, with the same numbers."""
    from harness.registry import get
    from harness.runner import run_tasks
    many = type(get("many").impl)  # the class the entry point loaded
    many.calls.clear()
    specs = default_suite("float64", "seed*") + default_suite("float64", "kinks-*")
    if raises:
        specs = [replace(s, name=s.name + "-many-raises") for s in specs]
    tasks = [(name, s) for s in specs for name in ("many", "reference")]
    done = []
    outcomes = run_tasks(tasks, on_done=lambda o: done.append(o.impl))
    assert many.calls == [("trace-many-many", [s.name for s in specs])]
    assert done == ["reference"] * len(specs) + ["many"] * len(specs)
    assert [(o.impl, o.case) for o in outcomes] == [(n, s.name) for n, s in tasks]
    assert all(o.status == "ok" for o in outcomes)
    if not raises:
        assert sum(o.seconds for o in outcomes if o.impl == "many") >= 0.2
    for o in outcomes:  # the same numbers as the reference: a correct engine
        if o.impl == "many":
            ref = next(r for r in outcomes if r.case == o.case and r.impl == "reference")
            np.testing.assert_array_equal(o.trace.steps[0].layers[0].v,
                                          ref.trace.steps[0].layers[0].v)
