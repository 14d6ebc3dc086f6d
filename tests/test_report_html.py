"""Reports for a person and reports that survive NaN and Inf (harness/report/, svg.py).

The runs here are built by hand: the reference's traces, copied and given a NaN or an Inf in
one quantity on one side, judged by harness.judge.judge into a RunResult, then written with
write_report and every file parsed back."""

from __future__ import annotations

import copy
import dataclasses
import csv
import html
import json
import math
import re
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from conftest import needs
from harness import report, svg
from harness.conformance import RunResult
from harness.judge import judge
from harness.registry import get
from harness.report import tables
from harness.runner import Outcome
from harness.suite import default_suite

CASE = "act-tanh-float64"  # 3 layers, 2 steps
SPOTS = [  # (step, quantity, layer): every quantity once
    (0, "d", 0), (0, "h", 1), (0, "outputs", None), (0, "loss", None), (1, "v", 2),
    (0, "grad_weights", 0), (1, "grad_bias", 1), (None, "weights", 0), (None, "bias", 2)]
VALUES = {"nan": math.nan, "plusinf": math.inf, "minusinf": -math.inf}


@pytest.fixture(scope="module")
def spec():
    return default_suite(pattern=CASE)[0]


@pytest.fixture(scope="module")
def base_trace(spec):
    return get("reference").impl.trace(spec)


def poked(trace, step, quantity, layer, value):
    """A deep copy of `trace` with the first element of one quantity set to `value`."""
    t = copy.deepcopy(trace)
    if step is None:
        a = np.array(t.params[layer][quantity])
        a.flat[0] = value
        t.params[layer][quantity] = a
    elif quantity == "loss":
        t.steps[step].loss = np.dtype(t.dtype).type(value)
    elif quantity == "outputs":
        a = np.array(t.steps[step].outputs)
        a.flat[0] = value
        t.steps[step].outputs = a
    else:
        a = np.array(getattr(t.steps[step].layers[layer], quantity))
        a.flat[0] = value
        setattr(t.steps[step].layers[layer], quantity, a)
    return t


def verdict(spec, base, other, name):
    return judge(spec, Outcome("reference", spec.name, "ok", base),
                 Outcome(name, spec.name, "ok", other))


def described(names):
    return {n: {"available": True, "reason": "", "target": "", "version": "test",
                "settings": {}, "supports": {}} for n in names}


def make_run(spec, verdicts, specs=None) -> RunResult:
    names = ["reference", *dict.fromkeys(v.impl for v in verdicts)]
    return RunResult(results=list(verdicts), specs=specs or {spec.name: spec},
                     impls=described(names), baseline="reference",
                     started="2026-01-01T00:00:00+00:00", wall_seconds=1.0,
                     impl_seconds=dict.fromkeys(names, 0.5), tolerance_override={})


def strict_load(path):
    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant} in {path}")
    return json.loads(path.read_text(), parse_constant=refuse)


def svgs(page: str) -> list[str]:
    return re.findall(r"<svg.*?</svg>", page, flags=re.S)


@pytest.fixture(scope="module")
def non_finite(spec, base_trace, tmp_path_factory):
    """NaN, +Inf and -Inf in every quantity, on the implementation's side and on the
    baseline's, one comparison each; written once."""
    verdicts, expected = [], {}
    for step, quantity, layer in SPOTS:
        for vname, value in VALUES.items():
            for side in ("impl", "base"):
                name = f"{side}_{vname}_{quantity}"
                changed = poked(base_trace, step, quantity, layer, value)
                other, base = (changed, base_trace) if side == "impl" else (base_trace, changed)
                verdicts.append(verdict(spec, base, other, name))
                expected[name] = (side, vname, quantity)
    # and one finite divergence with a consequence: h at step 0, then d at step 1
    twice = poked(poked(base_trace, 0, "h", 1, 5.0), 1, "d", 0, 7.0)
    verdicts.append(verdict(spec, base_trace, twice, "two_spots"))
    expected["two_spots"] = ("finite", "", "h")
    run = make_run(spec, verdicts)
    out = report.write_report(run, tmp_path_factory.mktemp("nf") / "r")
    return run, out, expected


@pytest.mark.slow  # the module's 40 charts of NaN/Inf (non_finite): ~13 s
@needs("matplotlib")  # the page's charts are matplotlib's
def test_every_file_is_written_and_parses_with_nan_and_inf_anywhere(non_finite):
    run, out, expected = non_finite
    assert not (out / "INCOMPLETE").exists()
    doc = strict_load(out / "run.json")
    assert len(doc["cases"]) == len(run.results) == len(expected)
    for c in doc["cases"]:
        side, vname, quantity = expected[c["impl"]]
        if side == "impl":  # NaN/Inf where the baseline has a number: an error, at that spot
            assert c["status"] == "error", c
            assert c["origin"]["quantity"] == quantity
            assert c["origin"]["nan_mismatch" if vname == "nan" else "inf_mismatch"] >= 1
        if side == "base" and vname == "nan":
            assert c["status"] == "fail" and c["origin"]["quantity"] == quantity
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == sum(len(r.tensors) for r in run.results)
    mism = pd.read_csv(out / "mismatches.csv")
    assert len(mism) and set(mism.quantity) >= {q for _, q, _ in SPOTS}
    suite = ET.parse(out / "junit.xml").getroot()
    assert len(suite.findall("testcase")) == len(run.results)
    assert int(suite.get("errors")) == sum(r.status == "error" for r in run.results)
    assert (out / "failing" / f"{CASE}.json").exists()
    assert (out / "failing" / "reproduce.sh").read_text().count(" run ") == \
        sum(r.status in ("fail", "error", "xfail") for r in run.results)
    md = (out / "summary.md").read_text()
    page = (out / "report.html").read_text()
    for text in (md, page):
        assert "e+308" not in text and "e+307" not in text and "e+306" not in text
        for r in run.results:  # the judge's one-line messages spell values numpy's way
            escaped = html.escape(r.message, quote=False)
            for said in (r.message, html.escape(r.message), escaped,
                         escaped.replace("|", "\\|")):
                text = text.replace(said, "")
        assert not re.search(r"\b(inf|nan)\b", text), "inf or nan printed as a figure"
    assert "NaN" in page and "Inf on one side" in page and report.NOTES["nonfinite"] in page
    charts = svgs(page)
    assert charts
    for chart in charts:
        ET.fromstring(chart)


def test_non_finite_figures_read_as_words(spec, base_trace):
    v = verdict(spec, base_trace, poked(base_trace, 1, "v", 2, math.nan), "x")
    f = report.figures([v.origin])
    assert f["ratio"] == f["abs"] == f["rel"] == f["ulp"] == "NaN"
    v = verdict(spec, base_trace, poked(base_trace, 0, "d", 0, -math.inf), "x")
    assert report.figures([v.origin])["ratio"] == "Inf on one side"
    assert report.special(v.origin) and tables._diff_at_worst(v.origin) == "Inf on one side"


def test_a_zero_baseline_gives_a_dash_and_a_footnote(spec, base_trace, tmp_path):
    """A relative error or ULP distance against a baseline value of 0 is undefined: '—' and
    the footnote that says so, never inf or 4e18."""
    base = poked(base_trace, 0, "grad_bias", 0, 0.0)
    v = verdict(spec, base, base_trace, "zero-base")
    assert v.status == "fail" and v.origin.max_rel == math.inf
    f = report.figures(v.tensors)
    assert f["rel"] == f["ulp"] == "—" and "undefined" in f["notes"]
    out = report.write_report(make_run(spec, [v]), tmp_path / "r")
    page = (out / "report.html").read_text()
    assert "—" in page and report.NOTES["undefined"] in page
    assert "4.6e+18" not in page and ">inf<" not in page


@pytest.mark.slow  # the module's 40 charts of NaN/Inf (non_finite): ~13 s
def test_mismatches_csv_writes_layers_as_integers(non_finite):
    _, out, _ = non_finite
    with open(out / "mismatches.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows
    for row in rows:
        assert re.fullmatch(r"\d*", row["layer"]), row["layer"]
        assert re.fullmatch(r"\d*", row["step"]), row["step"]
    assert {row["layer"] for row in rows if row["quantity"] in ("loss", "outputs")} == {""}


def test_a_passing_run_has_no_failing_directory(spec, base_trace, tmp_path):
    v = verdict(spec, base_trace, copy.deepcopy(base_trace), "same")
    assert v.status == "pass"
    out = report.write_report(make_run(spec, [v]), tmp_path / "r")
    assert not (out / "failing").exists()
    page = (out / "report.html").read_text()
    assert "PASS" in page and "None: every implementation is within tolerance" in page


@pytest.mark.slow  # the module's 40 charts of NaN/Inf (non_finite): ~13 s
def test_the_page_leads_with_verdict_heat_map_and_divergences(non_finite):
    """First the verdict, then the heat map, then the divergences, then the details; the
    origin's heat-map cell outlined, consequences marked; no Markdown anywhere."""
    _, out, _ = non_finite
    page = (out / "report.html").read_text()
    verdict_at = page.index('class="verdict"')
    heat_at = page.index('<table class="hm"')
    divergences_at = page.index("id='divergences'")
    details_at = page.index("<details")
    assert verdict_at < heat_at < divergences_at < details_at
    heat = page[heat_at:page.index("</table>", heat_at)]
    assert re.search(r'<td class="[^"]*\bo\b', heat)  # the origin's cell
    assert re.search(r'<td class="[^"]*\bc\b', heat)  # a consequence's
    for markdown in ("| --- |", "|---|", "### ", "## ", "**", "`"):
        assert markdown not in page, markdown
    assert "prepare_seconds" not in page and "worst_ratio" not in page
    assert "worst error / tolerance" in page
    assert "the baseline: every other implementation is compared with it" in page
    assert "<dl" in page  # run details as a definition list
    first_details = page[details_at:page.index(">", details_at)]
    assert " open" in first_details  # a divergent case comes first, open


def test_known_deviations_are_purple_and_passing_cases_closed(spec, base_trace, tmp_path):
    from harness.xfails import Xfail
    import dataclasses
    fields = {f.name for f in dataclasses.fields(Xfail)}
    if not {"pattern", "reason", "source"} <= fields:
        pytest.skip("Xfail's fields changed")
    entry = Xfail(**{k: v for k, v in {"pattern": CASE, "reason": "sign convention",
                                       "source": "test:1", "groups": None}.items()
                     if k in fields})
    bad = poked(base_trace, 0, "h", 1, 123.0)
    known = judge(spec, Outcome("reference", CASE, "ok", base_trace),
                  Outcome("conv", CASE, "ok", bad), known=[entry])
    if known.status != "xfail":
        pytest.skip(f"this Xfail entry does not cover it: {known.status}")
    other = default_suite(pattern="seed-2-2-2-float64")[0]
    ref = get("reference").impl.trace(other)
    ok = verdict(other, ref, copy.deepcopy(ref), "same")
    run = make_run(spec, [known, ok], specs={CASE: spec, other.name: other})
    out = report.write_report(run, tmp_path / "r")
    page = (out / "report.html").read_text()
    assert "known deviation" in page and "sign convention" in page
    assert re.search(r'<td class="k\d', page)  # a known deviation's cell in its own colours
    details = re.findall(r"<details id=\"case-([^\"]+)\"( open)?>", page)
    assert details == [(CASE, " open"), ("seed-2-2-2-float64", "")]
    assert (out / "failing" / f"{CASE}.json").exists()


@pytest.mark.slow
def test_run_json_is_compact_by_default_and_full_on_request(non_finite, tmp_path, monkeypatch):
    run, out, _ = non_finite
    compact = strict_load(out / "run.json")
    assert compact["detail"] == "compact"
    for c, r in zip(compact["cases"], run.results):
        assert "tensors" not in c and c["status"] == r.status
        assert set(c["quantities"]) == {t.quantity for t in r.tensors}
        if r.origin is not None:
            assert c["origin"]["quantity"] == r.origin.quantity
            assert len(c["failing"]) == sum(not t.passed for t in r.tensors)
    for name in ("matplotlib", "matplotlib.figure"):  # the charts are not what this checks
        monkeypatch.setitem(sys.modules, name, None)
    full_dir = report.write_report(run, tmp_path / "full", full=True)
    full = strict_load(full_dir / "run.json")
    assert full["detail"] == "full"
    assert [len(c["tensors"]) for c in full["cases"]] == [len(r.tensors) for r in run.results]
    assert (out / "run.json").stat().st_size < (full_dir / "run.json").stat().st_size / 2


def test_without_matplotlib_the_report_says_so_and_writes_the_rest(spec, base_trace, tmp_path,
                                                                   monkeypatch):
    v = verdict(spec, base_trace, poked(base_trace, 0, "v", 0, 2.0), "off")
    for name in ("matplotlib", "matplotlib.figure"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails
    assert not svg.available()
    out = report.write_report(make_run(spec, [v]), tmp_path / "r")
    page = (out / "report.html").read_text()
    assert html.escape(svg.MISSING) in page and not svgs(page)
    assert '<table class="hm"' in page
    for name in ("summary.md", "summary.csv", "mismatches.csv", "run.json", "junit.xml"):
        assert (out / name).stat().st_size > 0


@needs("matplotlib")
def test_charts_put_a_later_step_after_the_origin(spec, base_trace):
    """A chart's x axis is computation order over every step: a consequence at step 1 is
    drawn right of an origin at step 0, never in its place."""
    v = verdict(spec, base_trace, poked(base_trace, 0, "grad_bias", 1, 5.0), "off")
    xs, spans = svg._axis_positions(v.tensors)
    assert [label for *_, label in spans] == ["step 0", "step 1", "updated parameters"]
    at = {(t.step, t.quantity, t.layer): x for t, x in zip(v.tensors, xs)}
    assert at[(0, "grad_bias", 1)] < at[(1, "d", 0)] < at[(None, "weights", 0)]
    chart = svg.error_chart(v.tensors, v.origin, "t", "salt")
    root = ET.fromstring(chart)
    assert "origin (first out of tolerance)" in chart and "step 1" in chart
    assert "NaN/Inf" in chart  # the top edge named, so a clamped point is never a number
    assert root.get("class") == "chart" and "purl.org" not in chart


def test_worst_at_and_its_diff_name_one_element(spec, base_trace):
    """The case table's "worst at" and "|diff| there" describe the same element, though a
    larger |diff| sits elsewhere: in e, whose tolerance is ~40 times d's."""
    d = float(np.asarray(base_trace.steps[0].layers[0].d).flat[0])
    e = float(base_trace.steps[0].loss)
    other = poked(poked(base_trace, 0, "d", 0, d + 1e-9), 0, "loss", None, e + 1e-8)
    row = report.case_table(make_run(spec, [verdict(spec, base_trace, other, "x")])).iloc[0]
    assert row["worst at"] == "step 0 d[layer 0], sample 0, neuron 0"
    assert float(row["|diff| there"]) == pytest.approx(1e-9, rel=1e-3)


def test_counts_read_as_english(spec, base_trace, tmp_path):
    assert [report.count(n, w) for n, w in [(1, "case"), (2, "case"), (1, "unexpected pass"),
                                            (3, "unexpected pass")]] == \
        ["1 case", "2 cases", "1 unexpected pass", "3 unexpected passes"]
    d = float(np.asarray(base_trace.steps[0].layers[0].d).flat[0])
    v = verdict(spec, base_trace, poked(poked(base_trace, 0, "d", 0, d + 1e-9), 0, "loss", None,
                                        float(base_trace.steps[0].loss) + 1e-8), "x")
    out = report.write_report(make_run(spec, [v]), tmp_path / "r")
    md, page = (out / "summary.md").read_text(), (out / "report.html").read_text()
    assert "1 of 1 comparison disagrees with the baseline reference." in md
    assert "; 1 case in " in md and "0 errors, 0 not supported, 0 known deviations" in md
    assert "1 later tensor out of tolerance" in md and "<p class='sub'>1 case; " in page
    known = dataclasses.replace(v, status="xfail", known="a planted deviation")
    run = make_run(spec, [known])
    assert report.verdict_sentence(run)[1] == ("Every comparison agrees with the baseline "
                                               "reference within tolerance, except 1 known "
                                               "deviation (listed below).")
    assert tables._per_impl(run) == ["x: 1 known deviation"]


def test_heat_map_fills_the_width_and_commands_stay_on_one_line(spec, base_trace):
    """No inner scroll box around the heat map (its header sticks to the page), its cells
    share the width the labels leave, and a reproduce command scrolls rather than wrapping."""
    d = float(np.asarray(base_trace.steps[0].layers[0].d).flat[0])
    v = verdict(spec, base_trace, poked(base_trace, 0, "d", 0, d + 1e-9), "x")
    repro = {(v.case, v.impl, v.baseline): "python -m harness run /a/long/path.json"}
    page = report.html_report(make_run(spec, [v]), repro, charts=False)
    css = dict(re.findall(r"^([^{}\n]+)\{([^}]*)\}", page, flags=re.M))
    assert css[".hmwrap"] == "border:1px solid #ccc" and "width:100%" in css["table.hm"]
    assert "white-space:pre" in css["code.cmd"] and "break-all" not in page
    assert "reproduce: <code class='cmd'>python -m harness run /a/long/path.json</code>" in page
