"""Root causes at one neuron (harness/rootcause.py): blame by default, the claim reproduced by
the adapter itself on a one-neuron spec, signatures, known deviations by what they are."""

import json
import re
import math
import subprocess
import sys

import mpmath
import numpy as np
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
    f, t, *more = r.root_causes  # t's zero is met in two regions: (-100, -10] and below
    assert (f.part, t.part) == ("f", "t") and f.reproduced and t.reproduced
    d = t.inputs["d"]  # h + 1 = (e^d - 1) + 1 cancels: 0, or 2^-53 where e^d - 1 rounds up
    assert d <= -20 and t.value in (0.0, 2.0 ** -53) and abs(t.value - math.exp(d)) > 0.5 * \
        math.exp(d)
    assert all((c.part, c.symptom) == ("t", "zero") for c in more)
    assert r.why.count("elu's t at") == 1 and "(also at -100)" in r.why


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
    assert cause.operands == (cause.inputs["v"], 1.0)  # g = v x, x = 1 for a bias


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
    assert issue.startswith("# `bug-elu-exp's elu` is 0 at d = ")
    assert "signature `bug-elu-exp: elu's f, float64, d in (-0.001, 0)" in issue
    assert spec_from_dict(json.loads((folder / "smallest.json").read_text())).sizes == [1, 1]
    command = re.search(r"in this folder, `backprop-harness (run smallest\.json [^`]*)`",
                        issue).group(1).split()  # relative to the report folder, no paths
    again = subprocess.run([sys.executable, "-m", "harness", *command, "--out",
                            str(tmp_path / "again")], cwd=folder, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 1 and "FAIL " in again.stdout, again.stderr


@needs("exact", "jax")
def test_without_the_oracle_a_signature_entry_still_recognizes_its_deviation():
    r, = run_suite([spec_from_dict(ELU_TAIL)], ["jax"], oracle=False).results
    assert r.status == "xfail" and "39795" in r.known and r.blame == "undecided"


def test_two_independent_softplus_defects_are_both_named_and_a_ledger_entry_covers_one(
        plugins, tmp_path):
    """PaddlePaddle's softplus: log(1 + e^d), 0 far below 0, and "return d above 20", off by
    e^-20.5 = 1.25e-9 at d = 20.5, in the same tensor: each group of failing elements is
    probed, both reproduce; a signature entry for the first leaves the case failing on the
    second."""
    from harness.xfails import read_xfails
    spec = default_suite(pattern="regions-softplus-float64")
    run = run_suite(spec, ["bug-softplus-two"])
    r = run.results[0]
    assert r.status == "fail"
    named = {(c.function, c.part, c.signature.region) for c in r.root_causes if c.reproduced}
    assert ("softplus", "f", "d in [10, 100)") in named
    assert ("softplus", "f", "d in (-100, -10]") in named
    high = next(c for c in r.root_causes if c.at > 0)
    assert high.at == 20.5 and high.value == 20.5
    assert float(high.exact) == pytest.approx(20.5 + float(mpmath.log1p(mpmath.exp(-20.5))),
                                              rel=1e-16)
    ledger = tmp_path / "paddle.txt"
    ledger.write_text("signature function=softplus part=f input=-inf..-10 log(1 + e^d)\n")
    covered = run_suite(spec, ["bug-softplus-two"], xfails=read_xfails(ledger))
    assert covered.results[0].status == "fail", covered.results[0].known
    both = tmp_path / "both.txt"
    both.write_text("signature function=softplus part=f input=-inf..-10 log(1 + e^d)\n"
                    "signature function=softplus part=f input=20..inf returns d above 20\n")
    assert run_suite(spec, ["bug-softplus-two"],
                     xfails=read_xfails(both)).results[0].status == "xfail"


def test_a_mean_computed_in_float32_reduces_in_a_grown_batch(plugins):
    """1/batch in float32 (1/6 off by 3e-8) is invisible on a one-sample probe: the probes
    are grown to the case's batch under its reduction before "does not reduce"; the claim
    says so, and names what the value is: v = dE/dd through sigmoid, te = dE/du."""
    run = run_suite(default_suite(pattern="loss-binary_cross_entropy-mean-float64,"
                                          "loss-squared_error-mean-float64"),
                    ["bug-mean-float32"])
    for r in run.results:
        cause = r.root_causes[0]
        assert cause.reproduced and cause.part == "te" and cause.batch == 6, r.why
        assert "in a batch of 6 identical samples" in cause.text
        assert cause.rel_error == pytest.approx(abs(float(np.float32(1 / 6)) * 6 - 1), rel=0.01)
    bce, se = (next(r for r in run.results if loss in r.case)
               for loss in ("binary_cross_entropy", "squared_error"))
    assert "v = dE/dd" in bce.root_causes[0].text
    assert "te = dE/du" in se.root_causes[0].text and "v = dE/dd" not in se.root_causes[0].text


def test_a_losss_region_is_the_failing_outputs_own_u(plugins):
    """A loss claim's principal input is the u of the output that fails, not the sample's
    largest: the BCE clip's failing term at u = 4.1e-8 in float32 (its loss, fe, is the first
    quantity out since the case holds outputs that near 0 alone) is filed under u in (0,
    0.001), so a ledger entry input=0..1e-7 matches it."""
    run = run_suite(default_suite(pattern="regions-binary_cross_entropy-float32"),
                    ["bug-bce-keras-clip"])
    cause = next(c for c in run.results[0].root_causes if c.part in ("fe", "te"))
    assert cause.at == pytest.approx(4.14e-8, rel=0.01)
    assert cause.signature.region == "u in (0, 0.001)"


def test_one_cause_over_adjacent_bands_and_dtypes_is_one_finding_with_its_extent(plugins):
    """bug-elu-two's t (h + 1) is 0 at d = -37.4 and at d = -100 in float64, wrong in
    float32: one finding, its extent the bands merged; its f near 0 is another, and softplus's two
    defects (below 0 and above 20) stay two."""
    from harness.signature import describe, extent
    run = run_suite(default_suite(pattern="regions-elu-*,regions-softplus-float64"),
                    ["bug-elu-two", "bug-softplus-two"])
    found = {describe([s for s, _ in seen]) for seen in run.findings().values()}
    assert "bug-elu-two: elu's t, d in (-1000, -10]: zero (float64), wrong value (float32)" \
        in found, found
    assert sum(f.startswith("bug-elu-two: elu's t") for f in found) == 1
    assert sum(f.startswith("bug-softplus-two: softplus's f") for f in found) == 2
    assert extent(["d in (-100, -10]", "d in (-1000, -100]", "subnormal d"]) == \
        "d in (-1000, -10] and subnormal d"
    assert extent(["d in (0, 0.001)", "d in [10, 100)"]) == "d in (0, 0.001) and d in [10, 100)"


def test_a_vectorized_defect_reproduces_only_on_16_neurons(plugins):
    """tanh right element by element, naive on a wide array: the one-neuron probe conforms,
    the 16-neuron one at the same input reproduces, and the claim says so."""
    r, = run_suite(default_suite(pattern="regions-tanh-float64"), ["bug-tanh-wide"]).results
    assert r.root_causes and all(c.width == 16 for c in r.root_causes if c.reproduced)
    assert "reproduced at one input on 16 neurons, not on one" in r.why


def test_a_t_probe_under_a_small_upstream_is_probed_again_with_te_1(plugins):
    """torch's float 1/6 in hardsigmoid' (3e-8 relative) under an upstream dE/dh of 1e-12:
    the probe with that upstream has te = u - y = 1e-12 out of u = 0.75, which hides any error
    of t below 3e-5, so it conforms; the second probe, te = 1, reproduces (was "does not
    reduce to one neuron", and the torch ledger's signature entry could not name it)."""
    from harness.spec import spec_from_dict
    spec = spec_from_dict({
        "name": "small-upstream", "dtype": "float64", "loss": "l1", "reduction": "sum",
        "learning_rate": 0.1, "steps": 1, "inputs": [[0.0]], "targets": [[1.0]],
        "layers": [{"weights": [[1.0]], "bias": [1.5], "activation": "hard_sigmoid"},
                   {"weights": [[1e-12]], "bias": [0.0], "activation": "identity"}]})
    r, = run_suite([spec], ["bug-hardsigmoid-float-sixth"]).results
    assert r.status == "fail" and r.origin.quantity == "v" and r.origin.layer == 0
    cause, = r.root_causes
    assert (cause.function, cause.part, cause.inputs, cause.reproduced) == \
        ("hard_sigmoid", "t", {"d": 1.5}, True)
    assert cause.value == pytest.approx(float(np.float32(1 / 6)), rel=1e-12)
    assert float(cause.exact) == pytest.approx(1 / 6, rel=1e-15)


def test_a_probe_keeps_the_layers_activation_parameter(plugins):
    """celu with alpha = 2 at d = -104 in float32: t = exp(-52) = 2.6e-23, which JAX's
    expm1 rule (expm1(d / alpha) + 1) makes 0. A probe that dropped alpha (celu with the
    default 1: exp(-104) underflows float32, 0 on both sides) conformed, and the cause went
    unnamed; the probe's layer carries the layer's alpha."""
    from harness.spec import spec_from_dict
    spec = spec_from_dict({
        "name": "celu-alpha", "dtype": "float32", "loss": "squared_error", "reduction": "sum",
        "learning_rate": 0.1, "steps": 1, "inputs": [[0.0]], "targets": [[0.0]],
        "layers": [{"weights": [[1.0]], "bias": [-104.0], "activation": "celu", "alpha": 2.0}]})
    r, = run_suite([spec], ["bug-celu-expm1-rule"]).results
    assert r.status == "fail" and r.origin.quantity == "v", r.message
    cause, = r.root_causes
    assert (cause.function, cause.part, cause.inputs, cause.reproduced) == \
        ("celu", "t", {"d": -104.0}, True)
    assert cause.spec["layers"][0]["alpha"] == 2.0 and cause.value == 0.0
    assert float(cause.exact) == pytest.approx(math.exp(-52), rel=1e-15)


def test_the_t_claim_is_the_implementations_own_derivative(plugins):
    """bug-derivative uses 1 - h^2 for sigmoid's t: at d = 0.3925 the claim is 1 - sigmoid(d)^2
    = 0.6437 (read from its v = te t with te = u - y), exact sigmoid(d) sigmoid(-d) = 0.2406."""
    r, = run_suite(default_suite(pattern="seed-2-2-2-float64"), ["bug-derivative"]).results
    cause = r.root_causes[0]
    d = cause.inputs["d"]
    s = 1 / (1 + math.exp(-d))
    assert (cause.function, cause.part) == ("sigmoid", "t")
    assert cause.value == pytest.approx(1 - s * s, rel=1e-12)
    assert float(cause.exact) == pytest.approx(s * (1 - s), rel=1e-15)


def test_the_baseline_is_probed_when_it_is_the_wrong_side(plugins):
    """bug-elu-exp as the baseline, the reference judged against it: blame a-wrong, and the
    root cause is the baseline's own elu f near 0, claimed on it."""
    r, = run_suite(default_suite(pattern="regions-elu-float64"), ["reference"],
                   baseline="bug-elu-exp").results
    assert r.blame == "a-wrong"
    cause = r.root_causes[0]
    assert (cause.impl, cause.function, cause.part, cause.value) == ("bug-elu-exp", "elu", "f", 0.0)


def test_a_probe_reproduces_only_at_the_quantity_it_isolates(plugins):
    """elu's t probe at d = -1e-20 run by bug-elu-exp (f wrong there, t right) fails at h,
    not at v: it does not reproduce t; and its truth is exact's trace of the probe, mpmath's
    -1e-20, not the reference's."""
    from harness.probes import _activation_probes
    from harness.rootcause import _reproduces, run_probes
    from harness.runner import run_one
    spec = default_suite(pattern="regions-elu-float64")[0]
    trace = run_one("bug-elu-exp", spec).trace
    d = np.asarray(trace.steps[0].layers[0].d)
    s, j = (int(i) for i in np.argwhere(d == -1e-20)[0])
    probe = next(p for p in _activation_probes(0, spec, trace, 0, 0, s, j, ("t",), 1.0)
                 if p.width == 1)
    (truth, own), = run_probes("bug-elu-exp", [probe]).values()
    assert truth.impl == "exact" and own.trace.steps[0].layers[0].h[0, 0] == 0.0
    from harness.judge import judge
    assert judge(probe.spec, truth, own).origin.quantity == "h"  # it fails, but at h
    assert not _reproduces(probe, truth, own, None)


def test_a_transposed_weight_does_not_reduce_to_one_neuron(plugins):
    """bug-transpose multiplies layer 0 by W, not W^T: d = 0.05 * 0.15 + 0.10 * 0.25 + 0.35 =
    0.3825 for 0.3775 at the seed's first neuron (its worst element, 0.005 off; the second
    is 0.0025 off). A 1-1 layer has no transpose: the product probe conforms, and the claim
    is the origin's own numbers, said to need the network."""
    r, = run_suite(default_suite(pattern="seed-2-2-2-float64"), ["bug-transpose"]).results
    assert (r.status, r.blame, r.origin.label) == ("fail", "b-wrong", "step 0 d[layer 0]")
    cause, = r.root_causes
    assert (cause.impl, cause.function, cause.part, cause.dtype, cause.inputs) == \
        ("bug-transpose", "network", "d", "float64", {})
    assert cause.at == 0.3775 and cause.value == pytest.approx(0.3825, rel=1e-15)
    assert (cause.exact, cause.reproduced, cause.explains) == ("0.3775", False,
                                                               "step 0 d[layer 0]")
    assert cause.note == ("does not reduce to one neuron: the one-neuron probes (a layer's x "
                          "W^T + b) conform, so it needs the network (accumulation order, "
                          "cancellation across neurons or samples)")
    assert cause.signature.symptom == "does not reduce"


def test_explain_judges_by_the_oracle_once_per_case_with_the_runs_tolerance(plugins):
    """explain() of a verdict judged without an oracle: exact traced for the case and kept in
    the cache (numeric not traced: exact ran), the blame and the root cause given; re-judged
    with the run's tolerance (an atol of 1 passes elu's f off by expm1(d) near 0); with
    oracle=False nothing is traced and the verdict is as it was."""
    from harness.judge import judge
    from harness.rootcause import explain
    from harness.runner import run_one
    spec = default_suite(pattern="regions-elu-float64")[0]
    ref, bug = run_one("reference", spec), run_one("bug-elu-exp", spec)
    verdict = judge(spec, ref, bug)
    assert (verdict.status, verdict.blame, verdict.root_causes) == ("fail", "undecided", ())
    cache = {}
    r = explain(spec, ref, bug, verdict, cache=cache)
    assert list(cache) == [spec.name] and list(cache[spec.name]) == ["exact"]
    assert cache[spec.name]["exact"].status == "ok"
    assert r.blame == "b-wrong" and (r.root_causes[0].function, r.root_causes[0].part) == \
        ("elu", "f")
    loose = {"forward": {"atol": 1.0}, "backward": {"atol": 1.0}}
    assert explain(spec, ref, bug, verdict, tolerance=loose).status == "pass"
    assert explain(spec, ref, bug, verdict, oracle=False) is verdict


def test_a_learning_rate_slip_reduces_to_the_update_at_one_parameter(plugins):
    """bug-lr steps with 1.1 r: the seed's worst final element is w[0][1] (Mazur's w2, 0.2,
    its gradient 0.00087714), updated to 0.2 - 0.55 g for 0.2 - 0.5 g = 0.19956143; the
    claim's exact value is p - r g with the probe's own g."""
    r, = run_suite(default_suite(pattern="seed-2-2-2-float64"), ["bug-lr"]).results
    assert (r.origin.label, r.origin.worst_index) == ("final weights[layer 0]", (0, 1))
    cause, = r.root_causes
    assert (cause.function, cause.part, cause.reproduced) == ("layer", "update", True)
    assert cause.explains == "final weights[layer 0]"
    p, rate, g = (cause.inputs[k] for k in ("p", "r", "g"))
    assert (p, rate, cause.at) == (0.2, 0.5, 0.2) and g == pytest.approx(0.00087714, rel=1e-4)
    assert cause.value == pytest.approx(0.2 - 0.55 * g, rel=1e-15)
    assert float(cause.exact) == pytest.approx(0.2 - 0.5 * g, rel=1e-15)
    assert float(cause.exact) == pytest.approx(0.19956143, abs=5e-9)


def test_root_causes_of_one_divergence_run_their_own_probes(plugins):
    """root_causes() without plan()'s probes plans and runs them itself: bug-bias's zero
    bias gradient, claimed at one neuron where exact's is v; no failing tensor, or a side
    that left no trace (it crashed), has none and plans no probe."""
    from harness.judge import judge
    from harness.rootcause import plan, root_causes
    from harness.runner import Outcome, run_one
    spec = default_suite(pattern="seed-2-2-2-float64")[0]
    ref, bug = run_one("reference", spec), run_one("bug-bias", spec)
    failing = [t for t in judge(spec, ref, bug).tensors if not t.passed]
    cause, = root_causes(spec, failing, bug)
    assert (cause.function, cause.part, cause.explains, cause.value, cause.reproduced) == \
        ("layer", "gradient", "step 0 grad_bias[layer 1]", 0.0, True)
    # v of the first output: (u - y) u (1 - u) at u = 0.75136507, y = 0.01 (Mazur's 0.1384985)
    u = 1 / (1 + math.exp(-(0.4 * 0.59326999 + 0.45 * 0.59688438 + 0.6)))
    assert cause.inputs["v"] == pytest.approx((u - 0.01) * u * (1 - u), rel=1e-7)
    assert float(cause.exact) == cause.inputs["v"]
    loose = {"backward": {"atol": 1.0}}  # the probes judged with the run's tolerance conform
    assert [c.function for c in root_causes(spec, failing, bug, loose)] == ["network"]
    crashed = Outcome("bug-bias", spec.name, "error", message="boom")
    assert root_causes(spec, [], bug) == () and root_causes(spec, failing, crashed) == ()
    assert plan(spec, failing, crashed) == [] and plan(spec, [], bug) == []


def test_a_demoted_dtype_is_claimed_by_the_function_that_returned_it(plugins):
    """bug-tanh-float32's h comes back float32 in a float64 case: the first retyped array's
    probes run, and tanh's f at the implementation's own d returns float32 on one neuron (its
    value tanh(d) rounded to float32). A trace retyped by hand (the reference's d cast to
    float32 after it ran) reproduces on no probe: the claim says it needs the network."""
    import copy

    from harness.compare import check_trace
    from harness.rootcause import demotion_causes
    from harness.runner import Outcome, run_one
    spec = default_suite(pattern="act-tanh-float64")[0]
    side = run_one("bug-tanh-float32", spec)
    assert side.trace.retyped[0] == ((0, "h", 0), "float32")
    cause, = demotion_causes(spec, side)
    d = cause.inputs["d"]
    assert (cause.impl, cause.function, cause.part, cause.dtype, cause.returned) == \
        ("bug-tanh-float32", "tanh", "f", "float64", "float32")
    assert (cause.at, cause.reproduced, cause.explains) == (d, True, "step 0 h[layer 0]")
    assert cause.width == 1  # the one-neuron probe returns it: no wider one is needed
    assert cause.value == float(np.float32(math.tanh(d))) and cause.value != math.tanh(d)
    with mpmath.workdps(40):
        assert cause.exact == mpmath.nstr(mpmath.tanh(d), 20)
    assert cause.text.startswith(f"tanh's f returns float32 for float64 input (at d = {d}")
    seed = default_suite(pattern="seed-2-2-2-float64")[0]
    ref = run_one("reference", seed)
    assert demotion_causes(seed, ref) == ()
    trace = copy.deepcopy(ref.trace)
    trace.steps[0].layers[0].d = trace.steps[0].layers[0].d.astype(np.float32)
    check_trace(seed, trace)
    cause, = demotion_causes(seed, Outcome("reference", seed.name, "ok", trace=trace))
    assert (cause.impl, cause.function, cause.part, cause.reproduced, cause.explains) == \
        ("reference", "network", "d", False, "step 0 d[layer 0]")
    assert cause.note == ("step 0 d[layer 0] came back float32 for the spec's float64: no "
                          "one-neuron probe returns it, so it needs the network")
    # no element is out: its figures are 0, as run.json writes them, and it has a signature
    assert (cause.at, cause.value, cause.exact, cause.rel_error) == (0.0, 0.0, "0.0", 0.0)
    assert str(cause.signature) == "reference: network's d, float64, d = 0: does not reduce"


def test_a_demotion_probe_the_format_cannot_hold_is_skipped(plugins, monkeypatch):
    """A probe whose spec the format refuses (here a dtype it does not know) is no probe:
    run_probes leaves it out and the next probe still claims tanh's demotion; with every
    probe refused the demotion is claimed for the network, unreduced."""
    import copy

    from harness import rootcause
    from harness.errors import SpecError
    from harness.runner import run_one

    planned = rootcause.probes_for

    def refused_first(*args):
        probes = planned(*args)
        first = copy.copy(probes[0])
        first.doc = dict(first.doc, dtype="float128")
        return [first] + probes
    spec = default_suite(pattern="act-tanh-float64")[0]
    side = run_one("bug-tanh-float32", spec)
    monkeypatch.setattr(rootcause, "probes_for", refused_first)
    cause, = rootcause.demotion_causes(spec, side)
    assert (cause.function, cause.part, cause.returned, cause.reproduced) == \
        ("tanh", "f", "float32", True)

    def refuse(doc):
        raise SpecError("inputs", "beyond float64")
    monkeypatch.setattr(rootcause, "spec_from_dict", refuse)
    cause, = rootcause.demotion_causes(spec, side)
    assert (cause.function, cause.part, cause.reproduced) == ("network", "h", False)
    assert cause.note == ("step 0 h[layer 0] came back float32 for the spec's float64 (and 7 "
                          "more arrays): no one-neuron probe returns it, so it needs the network")


def test_an_unreduced_claim_names_each_function_it_probed_once():
    """not_reduced() lists what the conforming probes isolated, each once in order: at the
    output layer's v the loss's te, then the activation's t (on 1 and on 16 neurons); none
    where nothing was probed."""
    import copy

    from harness.judge import judge
    from harness.probes import probes_for
    from harness.rootcause import not_reduced
    from harness.runner import Outcome, run_one
    spec = default_suite(pattern="seed-2-2-2-float64")[0]
    ref = run_one("reference", spec)
    trace = copy.deepcopy(ref.trace)
    trace.steps[0].layers[1].v = trace.steps[0].layers[1].v * 2
    v = judge(spec, ref, Outcome("doubled", spec.name, "ok", trace=trace))
    assert v.origin.label == "step 0 v[layer 1]"
    tried = probes_for(0, spec, trace, v.origin)
    assert [(p.function, p.part, p.width) for p in tried] == [
        ("squared_error", "te", 1), ("sigmoid", "t", 1), ("sigmoid", "t", 16)]
    assert not_reduced("doubled", spec, v.origin, tried).note.startswith(
        "does not reduce to one neuron: the one-neuron probes (squared_error's te, sigmoid's "
        "t) conform, so it needs the network")
    assert "the one-neuron probes (none) conform" in not_reduced("doubled", spec, v.origin,
                                                                  []).note


def test_an_origins_group_that_no_probe_reproduces_is_named_unreduced_beside_the_cause(
        plugins):
    """bug-elu-exp's h, wrong near 0, with its element at d = -30 (another region, where its
    elu is right) made 1.5 times too large by hand: the group near 0 reproduces (elu's f), the
    group at -30 conforms on one neuron, and is named as not reducing there."""
    import copy

    from harness.judge import judge
    from harness.rootcause import root_causes
    from harness.runner import Outcome, run_one
    spec = default_suite(pattern="regions-elu-float64")[0]
    ref, bug = run_one("reference", spec), run_one("bug-elu-exp", spec)
    trace = copy.deepcopy(bug.trace)
    j = trace.steps[0].layers[0].d[0].tolist().index(-30.0)
    trace.steps[0].layers[0].h[0, j] *= 1.5
    side = Outcome("bug-elu-exp", spec.name, "ok", trace=trace)
    failing = [t for t in judge(spec, ref, side).tensors if not t.passed]
    assert failing[0].label == "step 0 h[layer 0]"
    unreduced, cause = root_causes(spec, failing, side)
    assert (cause.function, cause.part, cause.reproduced, cause.at) == ("elu", "f", True, -1e-20)
    assert (unreduced.impl, unreduced.function, unreduced.part, unreduced.reproduced) == \
        ("bug-elu-exp", "network", "h", False)
    assert unreduced.note == ("the failing elements at d = -30.0 do not reduce to one neuron: "
                              "the probes (elu's f) conform there")


def test_an_unreduced_group_at_the_output_names_the_losss_inputs_and_every_part(plugins):
    """One elu layer as the output, d = -40 and 0.5: bug-elu-two's t (h + 1) is 0 at -40 for
    e^-40, and v at 0.5 (te t = 0.5) is made 0.75 by hand. The group at -40 reproduces elu's
    t; the other's probes (the loss's te at the sample's u and y, elu's t at 0.5) conform,
    and the claim names both and the loss probe's inputs."""
    import copy

    from harness.judge import judge
    from harness.rootcause import root_causes
    from harness.runner import Outcome, run_one
    spec = spec_from_dict({"name": "elu-output", "dtype": "float64", "loss": "squared_error",
                           "layers": [{"weights": [[-40.0], [0.5]], "bias": [0.0, 0.0],
                                       "activation": "elu"}],
                           "inputs": [[1.0]], "targets": [[0.0, 0.0]], "learning_rate": 0.1,
                           "steps": 1})
    ref, bug = run_one("reference", spec), run_one("bug-elu-two", spec)
    trace = copy.deepcopy(bug.trace)
    assert trace.steps[0].layers[0].v[0, 1] == 0.5
    trace.steps[0].layers[0].v[0, 1] = 0.75
    side = Outcome("bug-elu-two", spec.name, "ok", trace=trace)
    failing = [t for t in judge(spec, ref, side).tensors if not t.passed]
    assert failing[0].label == "step 0 v[layer 0]"
    unreduced, cause = root_causes(spec, failing, side)
    assert (cause.function, cause.part, cause.at, cause.value) == ("elu", "t", -40.0, 0.0)
    assert unreduced.note == (
        "the failing elements at u = [-1.0, 0.5], y = [0.0, 0.0] do not reduce to one neuron: "
        "the probes (squared_error's te, elu's t) conform there")
