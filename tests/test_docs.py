"""The documentation site: `mkdocs build --strict` passes (and fails on a broken link), and the
sample outputs the pages include (docs/samples/, scripts/docs_samples.py) match what the code
prints today where that is cheap to check."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import needs
from harness.cli import main
from harness.registry import discover
from harness.spec import load_spec
from harness.suite import default_suite
from harness.xfails import QUANTITY_GROUPS, read_xfails

ROOT = Path(__file__).parent.parent
SAMPLES = ROOT / "docs" / "samples"
needs_mkdocs = pytest.mark.skipif(
    not (importlib.util.find_spec("mkdocs") and importlib.util.find_spec("material")),
    reason="needs mkdocs and mkdocs-material (pip install -e '.[docs]')")


def build(root: Path, site: Path) -> subprocess.CompletedProcess:
    """mkdocs build --strict of the site under `root` (snippets resolve from there)."""
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(site)], cwd=root, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})


@needs_mkdocs
def test_the_site_builds_strictly_with_its_samples_included(tmp_path):
    out = build(ROOT, tmp_path / "site")
    assert out.returncode == 0, out.stderr
    page = (tmp_path / "site" / "getting-started" / "index.html").read_text()
    assert "--8&lt;--" not in page and re.search(r"PASS: \d+ passed", page)
    failure = (tmp_path / "site" / "failure" / "index.html").read_text()
    assert "FAIL jax-elu-tail jax" in failure and "img/failure-report.png" in failure
    findings = (tmp_path / "site" / "findings" / "index.html").read_text()
    assert "torch and JAX" in findings and 'id="outside-frameworks"' in findings


def site_pages():
    """mkdocs' own view of the site: every page (src_uri -> the URL it builds to) and the
    pages its nav reaches."""
    from mkdocs.config import load_config
    from mkdocs.structure.files import get_files
    from mkdocs.structure.nav import get_navigation
    config = load_config(str(ROOT / "mkdocs.yml"))
    files = get_files(config)
    pages = {f.src_uri: f.dest_uri for f in files.documentation_pages()}
    return pages, {p.file.src_uri for p in get_navigation(files, config).pages}


@needs_mkdocs
def test_no_two_pages_build_to_the_same_url_and_the_nav_reaches_every_page():
    """findings.md and findings/README.md both built to findings/index.html, the second
    replacing the first without a word from --strict."""
    pages, reached = site_pages()
    assert len(pages) > 20 and "findings/index.html" in pages.values()
    seen = {}
    for src, dest in sorted(pages.items()):
        seen.setdefault(dest, []).append(src)
    assert {dest: srcs for dest, srcs in seen.items() if len(srcs) > 1} == {}
    assert sorted(set(pages) - reached) == []


@pytest.mark.slow
@needs_mkdocs
def test_a_broken_link_or_a_missing_sample_fails_the_build(tmp_path):
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path)
    (tmp_path / "reports").mkdir()
    shutil.copy(ROOT / "reports" / "README.md", tmp_path / "reports")
    index = tmp_path / "docs" / "index.md"
    text = index.read_text()
    index.write_text(text + "\n[gone](no-such-page.md)\n")
    out = build(tmp_path, tmp_path / "site")
    assert out.returncode != 0 and "no-such-page.md" in out.stderr
    index.write_text(text)
    (tmp_path / "docs" / "samples" / "run.txt").unlink()
    out = build(tmp_path, tmp_path / "site")
    assert out.returncode != 0 and "docs/samples/run.txt" in out.stderr


def sample(name: str) -> tuple[str, str]:
    """A sample's command line (without "$ ") and its output."""
    first, _, rest = (SAMPLES / name).read_text().partition("\n")
    assert first.startswith("$ ")
    return first[2:], rest


@pytest.mark.parametrize("name, argv", [
    ("cases.txt", ["cases"]), ("help.txt", ["--help"]), ("help-run.txt", ["run", "--help"])])
def test_cheap_samples_are_what_the_command_prints_today(name, argv, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")  # as scripts/docs_samples.py runs them
    try:
        code = main(argv)
    except SystemExit as exc:  # --help
        code = exc.code
    assert code == 0
    shown, text = sample(name)
    assert shown == "backprop-harness " + " ".join(argv)
    assert capsys.readouterr().out == text, f"stale: python scripts/docs_samples.py --only " \
                                            f"{name[:-4]}"


def test_the_run_sample_counts_todays_suite_for_every_implementation_it_lists():
    """Every case once per implementation besides the baseline: a sample from before the
    suite grew (or shrank) fails here."""
    _, text = sample("run.txt")
    rows = re.findall(r"^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+$",
                      text, flags=re.M)
    names = [r[0] for r in rows]
    assert names[0] == "reference" and set(names) <= set(discover(modes=True))
    cases = len(default_suite())
    for row in rows[1:]:
        assert sum(map(int, row[1:])) == cases, row
    total = re.search(r"^PASS: (\d+) passed, (\d+) failed, (\d+) errors?, (\d+) not supported, "
                      r"(\d+) known deviations?, (\d+) unexpected pass(?:es)? in", text, re.M)
    assert total and sum(map(int, total.groups())) == cases * (len(rows) - 1)


def test_the_failure_example_is_a_real_jax_defect_that_its_ledger_knows_by_root_cause():
    """examples/jax-elu-tail.json puts elu neurons at d = -10 ... -40, where elu'(d) = e^d and
    jax's expm1(d) + 1 keeps no digit of it from d = -37 on. No entry of jax's shipped ledger
    names the case; a signature entry names the root cause (elu's t below -1), so a run reports
    a known deviation citing jax#39795 and --runxfail the failure, as the samples show."""
    spec = load_spec(ROOT / "examples" / "jax-elu-tail.json")
    d = spec.inputs @ spec.layers[0].weights.T + spec.layers[0].bias
    assert d.tolist() == [[-10.0, -20.0, -30.0, -40.0]]
    assert spec.layers[0].activation == "elu"
    exact = np.exp(d[0])
    cancelled = np.expm1(d[0]) + 1
    rel = np.abs(cancelled - exact) / exact
    assert rel[0] < 1e-10 and rel[1] > 1e-9 and rel[3] == 1.0  # 0 against 4.2e-18
    ledger = read_xfails(ROOT / "impls" / "jax_xfails.txt")
    assert not any(x.matches(spec.name, g) or x.matches(spec.name)
                   for x in ledger for g in QUANTITY_GROUPS)
    elu = [dict(x.signature) for x in ledger if dict(x.signature).get("function") == "elu"]
    assert [(e["part"], e["input"]) for e in elu] == [("t", "-inf..-1")]
    shown, text = sample("known.txt")
    assert shown == "backprop-harness run examples/jax-elu-tail.json --impl jax"
    assert "XFAIL jax-elu-tail jax: known deviation: " in text and "issues/39795" in text
    assert "[why: elu's t at d = -40: 0 (jax)" in text and "PASS: 0 passed" in text
    shown, text = sample("failure.txt")
    assert shown == "backprop-harness run examples/jax-elu-tail.json --impl jax --runxfail"
    assert "FAIL jax-elu-tail jax: step 0 v[layer 0][sample 0, neuron 3]" in text
    assert "[why: elu's t at d = -40: 0 (jax)" in text


def test_the_coverage_sample_has_no_gap():
    shown, text = sample("coverage.txt")
    assert shown == "backprop-harness coverage"
    assert re.search(r"^\d+ cells, 0 gaps", text, flags=re.M) and "GAP" not in text.replace(
        "(GAP: no case visits the point)", "")


def test_every_relative_link_in_the_readme_names_a_file():
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", (ROOT / "README.md").read_text())
    local = [link for link in links if "://" not in link]
    assert "docs/img/report.png" in local and "docs/failure.md" in local
    assert [link for link in local if not (ROOT / link).exists()] == []


API = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "api.md").read_text(), flags=re.S)


@pytest.mark.parametrize("code", [
    pytest.param(code, marks=needs(*[n for n in ("torch", "jax") if f'"{n}"' in code]),
                 id=f"block{i}") for i, code in enumerate(API)])
def test_the_python_api_pages_examples_run(code):
    exec(compile(code, "docs/api.md", "exec"), {})


def test_the_docs_pages_a_report_cites_exist_with_their_headings():
    """report.html and summary.md cite docs by their path in the repository, page and heading
    (they pointed at a README section that does not exist, and at reports/README.md, which a
    report written elsewhere does not have beside it). With a site_url in mkdocs.yml they
    would cite its URLs instead."""
    from harness.report.tables import DOCS
    assert "site_url" not in (ROOT / "mkdocs.yml").read_text()
    for target in DOCS.values():
        page, _, anchor = target.partition("#")
        headings = re.findall(r"^#+ (.+)$", (ROOT / page).read_text(), flags=re.M)
        assert anchor in {re.sub(r"[^\w]+", "-", h.lower()).strip("-") for h in headings}, target


def test_no_page_quotes_a_count_of_tests_or_cases_or_a_suites_time():
    """Such numbers change every time a test or a case is added, and the README's went stale:
    the pages say it without the number, or include a sample scripts/docs_samples.py made from
    a real run (docs/samples/, checked above). docs/mutation.md is a dated record of runs."""
    pages = [ROOT / "README.md"] + [p for p in (ROOT / "docs").rglob("*.md")
                                    if "samples" not in p.parts and p.name != "mutation.md"]
    stale = r"\b\d[\d,]* tests\b|\(\d[\d,]* cases\b|\b\d+ min \d+ s\b|suite \(\d+"
    found = {p.relative_to(ROOT).as_posix(): re.findall(stale, p.read_text()) for p in pages}
    assert len(pages) > 25 and {page: hits for page, hits in found.items() if hits} == {}


def test_no_sample_shows_a_path_of_the_machine_that_made_it():
    """scripts/docs_samples.py runs from a neutral folder and shortens the checkout, the
    environment and the home folder; a sample that shows /root/... or a worktree's path is
    one made some other way."""
    found = {p.name: re.findall(r"(?<![\w.~])/(?:root|home|Users|work|tmp|opt|usr)/\S*",
                                p.read_text()) for p in SAMPLES.iterdir()}
    assert len(found) > 10 and {name: paths for name, paths in found.items() if paths} == {}
