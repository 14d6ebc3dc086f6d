"""Limits on declarations: an accuracy beyond MAX_ACCURACY refused, a ledger that covers values
only and names what it covers, what each declaration waived shown, and a run in which an
implementation checked nothing exits NOTHING_CHECKED, never 0."""

import json

import pytest

from conftest import cli_in_process, register
from harness.errors import HarnessError
from harness.judge import judge, tolerances
from harness.runner import Outcome, run_one
from harness.suite import SEED_NETWORK, default_suite
from harness.tolerance import MAX_ACCURACY, accuracy_problem, bounded, default_tolerances
from harness.xfails import Xfail, read_xfails, too_broad
from impls.reference_impl import ReferenceImpl

EPS64 = 2.0 ** -52


class WideAccuracy(ReferenceImpl):
    """Declares a millionfold rtol: anything within 1e6 times the model's would pass."""

    name = "wide"
    supports = {"dtypes": ["float64"]}
    accuracy = {"backward": {"rtol": 1e6 * 32 * EPS64}}


class DeclinesAll(ReferenceImpl):
    name = "declines"

    def unsupported(self, spec):
        return "declines every case"


@pytest.fixture
def declared(tmp_path, monkeypatch):
    import sys
    from pathlib import Path
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    sys.modules.setdefault("test_declarations", sys.modules[__name__])
    yield from register(tmp_path, monkeypatch, {"wide": "test_declarations:WideAccuracy",
                                                "declines": "test_declarations:DeclinesAll"})


def test_an_accuracy_beyond_the_bound_is_refused_in_one_line(declared):
    from harness.registry import get
    info = get("wide")
    assert not info.available
    assert info.reason.startswith("accuracy backward rtol 7.1e-09 is beyond 1000 times the "
                                  "tolerance model's")
    assert "\n" not in info.reason
    assert accuracy_problem({"forward": {"rtol": 1e-6}}, ("float32",)) == ""  # 26 times float32's
    assert accuracy_problem({"forward": {"rtol": 1e-2}}, ("float32",)) != ""


def test_a_declared_accuracy_is_capped_per_dtype():
    """Declared for float32 (1e-4), it cannot loosen float64's model beyond 1e3 times."""
    cap = bounded("float64", {"forward": {"rtol": 1e-4, "atol": 1.0}})["forward"]
    model = default_tolerances("float64")["forward"].rtol
    assert cap.rtol == pytest.approx(MAX_ACCURACY * model) and cap.atol == cap.rtol
    assert bounded("float32", {"forward": {"rtol": 1e-4}})["forward"].rtol == 1e-4
    # numeric is an oracle of finite differences: its 1e-7 applies as declared
    spec = default_suite(pattern="seed-2-2-2-float64")[0]
    assert tolerances(spec, "reference", "numeric")["backward"].rtol == 1e-7


def test_a_ledger_covers_values_only(tmp_path):
    """A case entry never turns a crash, an exit, a timeout or a malformed trace into a known
    deviation; a glob of wildcards alone and empty signature values are refused."""
    spec = default_suite(pattern="seed-2-2-2-float64")[0]
    base = run_one("reference", spec)
    entry = Xfail("seed-*", "known", "list:1")
    for message in ("raised RuntimeError: x", "timed out after 5 s", "malformed trace: ..."):
        crash = Outcome("other", spec.name, "error", message=message)
        assert judge(spec, base, crash, known=[entry]).status == "error"
    for line, words in [("* everything", "matches every case"),
                        ("*-* everything", "matches every case"),
                        ("signature region= all", "region= is empty"),
                        ("signature function=elu symptom= x", "symptom= is empty")]:
        path = tmp_path / "l.txt"
        path.write_text(line + "\n")
        with pytest.raises(HarnessError, match=words):
            read_xfails(path)
    names = [f"case-{i}-float64" for i in range(12)]
    assert "matches every one of the run's 12 cases" in too_broad(
        [Xfail("case-*", "r", "l:1")], names)
    assert too_broad([Xfail("case-1*", "r", "l:1")], names) == ""
    assert too_broad([Xfail("case-*", "r", "l:1")], names[:3]) == ""


def test_a_run_in_which_an_implementation_checked_nothing_exits_5(declared, tmp_path, capsys):
    spec = tmp_path / "seed.json"
    spec.write_text(json.dumps(SEED_NETWORK))
    out = cli_in_process(capsys, "run", str(spec), "--impl", "declines", "--out",
                         str(tmp_path / "r"))
    assert out.returncode == 5, out.stdout + out.stderr
    assert "nothing checked: declines ran no case of this run" in out.stdout
    assert "waived by declines's declarations: 1 case declined" in out.stdout
    ok = cli_in_process(capsys, "run", str(spec), "--impl", "numeric", "--out",
                        str(tmp_path / "r2"))
    assert ok.returncode == 0
    assert "waived by numeric's declarations: forward rtol 1e-07 (1.4e+07 times the " \
           "model's in float64)" in ok.stdout


def test_the_waivers_are_in_summary_md_and_report_html(declared, tmp_path, capsys):
    spec = tmp_path / "seed.json"
    spec.write_text(json.dumps(SEED_NETWORK))
    cli_in_process(capsys, "run", str(spec), "--impl", "numeric", "declines", "--out",
                   str(tmp_path / "r"))
    md = (tmp_path / "r" / "summary.md").read_text()
    html = (tmp_path / "r" / "report.html").read_text()
    assert "Waived by `numeric`'s declarations: forward rtol 1e-07" in md
    assert "waived by declines&#x27;s declarations: 1 case declined" in html or \
        "waived by declines's declarations: 1 case declined" in html
    assert "nothing checked: declines ran no case" in html
