"""`backprop-harness ledger suggest REPORT`: a run's root causes as signature entries, and the
loop they serve: run, suggest, review (the upstream link), re-run with the entries."""

import json

import pytest

from conftest import cli_in_process, needs

pytestmark = needs("exact")


@pytest.mark.slow
def test_suggested_entries_turn_the_failures_they_name_into_known_deviations(tmp_path, capsys,
                                                                             plugins):
    """bug-elu-two has two independent defects (f near 0, t far below it): two entries, each
    valid ledger syntax; with them the re-run is a pass with known deviations."""
    first = cli_in_process(capsys, "run", "--cases", "regions-elu-float64", "--impl",
                           "bug-elu-two", "--baseline", "exact", "--out", str(tmp_path / "r1"))
    assert first.returncode == 1, first.stdout + first.stderr
    out = cli_in_process(capsys, "ledger", "suggest", str(tmp_path / "r1"))
    assert out.returncode == 0, out.stderr
    entries = [line for line in out.stdout.splitlines() if line.startswith("signature ")]
    assert len(entries) == 2, out.stdout
    assert any("part=f input=-0.001..0" in e for e in entries), entries
    assert any("part=t " in e and "symptom=" in e for e in entries), entries
    assert all(" url=FILL-IN bug-elu-two: elu's " in e for e in entries)
    ledger = tmp_path / "ledger.txt"  # reviewed: the link filled in
    ledger.write_text("\n".join(e.replace("FILL-IN", "https://example.org/issues/1")
                                for e in entries) + "\n")
    again = cli_in_process(capsys, "run", "--cases", "regions-elu-float64", "--impl",
                           "bug-elu-two", "--baseline", "exact", "--xfails", str(ledger),
                           "--out", str(tmp_path / "r2"))
    assert again.returncode == 0, again.stdout
    doc = json.loads((tmp_path / "r2" / "run.json").read_text())
    statuses = {c["impl"]: c["status"] for c in doc["cases"]}
    assert statuses["bug-elu-two"] == "xfail"
    nothing = cli_in_process(capsys, "ledger", "suggest", str(tmp_path / "r2"))
    assert "nothing to suggest" in nothing.stdout


def test_an_unreadable_report_is_one_error_line(tmp_path, capsys):
    out = cli_in_process(capsys, "ledger", "suggest", str(tmp_path / "missing"))
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "cannot read a run's report" in out.stderr
