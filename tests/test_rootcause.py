"""Root causes at one neuron (harness/rootcause.py): blame by default, the claim reproduced by
the adapter itself on a one-neuron spec, signatures, known deviations by what they are."""

import json
import math
import subprocess
import sys

import mpmath
import pytest

from conftest import needs
from harness import runner
from harness.conformance import run_suite
from harness.rootcause import region, ulp
from harness.spec import spec_from_dict
from harness.suite import default_suite

pytestmark = needs("exact")

# a spec of a user's own, in no suite and no ledger: elu pre-activations -30, -24.5 and -38
ELU_TAIL = {"name": "my-elu-tail", "dtype": "float64", "loss": "squared_error",
            "layers": [{"weights": [[-20.0, -20.0], [-15.0, -20.0], [-30.0, -10.0]],
                        "bias": [0.0, 0.5, -3.0], "activation": "elu"},
                       {"weights": [[1.0, 2.0, 3.0]], "bias": [0.1], "activation": "identity"}],
            "inputs": [[1.0, 0.5]], "targets": [[0.3]], "learning_rate": 0.1, "steps": 1}


@pytest.mark.slow
@needs("exact", "jax")
def test_a_users_own_elu_tail_reads_known_jax_39795(tmp_path):
    """Nothing in jax's ledger names the case: the signature entry (elu's t far below 0)
    covers it because the claim reproduced at one neuron is that."""
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(ELU_TAIL))
    out = subprocess.run([sys.executable, "-m", "harness", "run", str(path), "--impl", "jax",
                          "--out", str(tmp_path / "r")], capture_output=True, text=True,
                         timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr  # a known deviation
    line = next(x for x in out.stdout.splitlines() if x.startswith("XFAIL my-elu-tail jax"))
    assert "jax-ml/jax/issues/39795" in line
    # the worst element, d = -38, where jax's elu'(d) = expm1(d) + 1 is 0 (exact e^-38)
    assert "why: elu's t at d = -38: 0 (jax), exact 3.1391327920480296287e-17" in line
    with mpmath.workdps(30):
        assert mpmath.nstr(mpmath.exp(-38), 20) == "3.1391327920480296287e-17"


@needs("exact")
def test_a_planted_elu_bug_is_blamed_and_reduced_to_f_near_zero(plugins):
    """elu's f as exp(d) - 1, run with no oracle named: exact is traced for the diverging
    cases, every failure is the implementation's, its root cause elu's f near 0."""
    specs = default_suite(pattern="regions-elu-*")
    run = run_suite(specs, ["bug-elu-exp"])
    failed = [r for r in run.results if not r.ok]
    assert len(failed) == 2 and all(r.blame == "b-wrong" for r in failed)
    for r in failed:
        cause, = r.root_causes
        assert (cause.function, cause.part, cause.reproduced) == ("elu", "f", True)
        d = cause.inputs["d"]
        assert -1e-3 < d < 0 and cause.value == 0.0  # exp(d) - 1 cancels to 0
        assert float(cause.exact) == pytest.approx(float(mpmath.expm1(d)), rel=1e-15)
        one = spec_from_dict(cause.spec)  # the smallest spec: a 1-1 network, batch 1, 1 step
        assert one.sizes == [1, 1] and one.batch == 1 and one.steps == 1
        assert float(one.inputs[0, 0]) == d
    assert len(run.findings()) == 1  # one cause, seen in float64 and float32


@needs("exact")
def test_a_second_independent_defect_is_a_root_cause_of_its_own(plugins):
    """f as exp(d) - 1 (wrong near 0) and t as h + 1 (wrong far below 0, where f is right):
    two claims, each reproduced at one neuron, not one cause and its consequences."""
    spec = default_suite(pattern="regions-elu-float64")[0]
    r, = run_suite([spec], ["bug-elu-two"]).results
    f, t = r.root_causes
    assert (f.part, t.part) == ("f", "t") and f.reproduced and t.reproduced
    d = t.inputs["d"]  # h + 1 = (e^d - 1) + 1 cancels: 0, or 2^-53 where e^d - 1 rounds up
    assert d <= -20 and t.value in (0.0, 2.0 ** -53) and abs(t.value - math.exp(d)) > 0.5 * \
        math.exp(d)


@needs("exact")
def test_no_oracle_work_when_nothing_diverges(plugins, monkeypatch):
    """Blame by default costs nothing on a conforming run: no oracle, no probe traced."""
    traced = []
    real = runner.run_one
    monkeypatch.setattr("harness.rootcause.run_one",
                        lambda name, spec, *a: traced.append(name) or real(name, spec, *a))
    run = run_suite(default_suite(pattern="seed-*"), ["many"])  # a correct engine
    assert run.ok and len(run.results) == 4 and traced == []


def test_no_oracle_leaves_the_blame_undecided(plugins):
    spec = default_suite(pattern="regions-elu-float64")[0]
    r, = run_suite([spec], ["bug-elu-exp"], oracle=False).results
    assert r.blame == "undecided" and r.root_causes == ()


@needs("exact")
def test_a_gradient_bug_reduces_to_the_gradient_at_one_neuron(plugins):
    spec = default_suite(pattern="seed-2-2-2-float64")[0]
    r, = run_suite([spec], ["bug-bias"]).results
    cause = r.root_causes[0]
    assert (cause.function, cause.part, cause.value) == ("layer", "gradient", 0.0)
    assert cause.reproduced and float(cause.exact) == cause.inputs["v"]


def test_regions_and_ulps():
    assert region(-30.0, "float64") == "d in (-100, -10]"
    assert region(-1e-20, "float64") == "d in (-0.001, 0)"
    assert region(5e-279, "float64", (1.4e-309, 1.3e30)) == "subnormal operand"
    assert ulp(1.0, "float64") == 2.0 ** -52 and ulp(1.0, "bfloat16") == 2.0 ** -7
    assert ulp(0.0, "float32") == 2.0 ** -149  # the subnormal spacing


@pytest.mark.slow
@needs("exact")
def test_the_report_gives_the_why_and_an_issue_for_a_third_party_adapter(plugins, tmp_path):
    """run.json's root_cause, report.html's why beside the origin, summary.md, and an
    ISSUE.md whose one command reruns the smallest spec through the adapter from anywhere."""
    from harness.report import write_report
    specs = default_suite(pattern="regions-elu-float64")
    out = write_report(run_suite(specs, ["bug-elu-exp"]), tmp_path / "r")
    case, = json.loads((out / "run.json").read_text())["cases"]
    cause = case["root_cause"]
    assert (cause["function"], cause["part"], cause["reproduced"]) == ("elu", "f", True)
    assert cause["value"] == 0.0 and cause["rel_error"] == 1.0 and cause["ulps"] > 1e15
    page = (out / "report.html").read_text()
    assert "why (root cause at one neuron)" in page and "elu&#x27;s f at d = " in page
    assert "- why: elu's f at d = " in (out / "summary.md").read_text()
    folder = out / "failing" / "regions-elu-float64-bug-elu-exp-vs-reference"
    issue = (folder / "ISSUE.md").read_text()
    assert issue.startswith("# bug-elu-exp: elu's f at d = ") and "signature: " in issue
    assert spec_from_dict(json.loads((folder / "smallest.json").read_text())).sizes == [1, 1]
    command = issue.split("```sh\n")[1].split("\n")[0].strip()
    again = subprocess.run(command + f" --out {tmp_path / 'again'}", shell=True, cwd="/",
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 1 and "FAIL " in again.stdout, again.stderr


@needs("exact", "jax")
def test_without_the_oracle_a_signature_entry_still_recognizes_its_deviation():
    r, = run_suite([spec_from_dict(ELU_TAIL)], ["jax"], oracle=False).results
    assert r.status == "xfail" and "39795" in r.known and r.blame == "undecided"
