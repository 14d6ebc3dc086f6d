"""Reports (harness/report/): every file parses and holds the run; failures reproduce."""

import json
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from conftest import needs
from harness.conformance import run_suite
from harness.report import write_report
from harness.suite import default_suite

pytestmark = needs("torch")


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
    specs = [s for s in default_suite(pattern="seed-*,act-tanh-*,multistep-10-float64")
             if s.dtype in ("float64", "float32")]
    run = run_suite(specs, ["torch", "bug-sign"])
    out = write_report(run, tmp_path_factory.mktemp("r") / "run")
    yield run, out
    mp.undo()
    registry.discover(refresh=True)


@needs("torch", "matplotlib")  # the page's charts are matplotlib's
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
    divergent = [r for r in run.results if r.status in ("fail", "error", "xfail")]
    assert len(charts) >= len(divergent) > 0  # a chart per divergent comparison at least
    for chart in charts:
        ET.fromstring(chart)  # well-formed SVG


@pytest.mark.slow
def test_failing_cases_come_with_a_spec_and_a_command_that_reproduces(failing_report, tmp_path):
    run, out = failing_report
    doc = json.loads((out / "run.json").read_text())
    case = next(c for c in doc["cases"] if c["status"] == "fail")
    assert (out / "failing" / f"{case['case']}.json").exists()
    cmd = shlex.split(case["reproduce"]) + ["--out", str(tmp_path / "again")]
    # the console script beside this Python: never `python -m` with the cwd first on the path
    assert cmd[:2] == [str(Path(sys.executable).with_name("backprop-harness")), "run"]
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd="/")
    assert again.returncode == 1, again.stderr
    assert "origin" in (tmp_path / "again" / "summary.md").read_text()


@pytest.mark.slow
@needs("torch", "jax")
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

