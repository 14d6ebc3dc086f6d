"""The fuzzer's pieces by hand: the fuzzed domain, what makes two findings one, the smaller
specs a finding is shrunk through, and the arguments it refuses (harness/fuzz*.py)."""

import time
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import needs, random_spec
from harness.fuzz_domain import BCE_MARGIN, domain_mask
from harness.fuzz_verdict import describe_key, signature
from harness.signature import RootCause


def _trace(u, *, loss=1.0, v=0.0, networks=1):
    """A baseline's trace of `networks` networks of one step: outputs u, one layer."""
    u = np.asarray(u, dtype=np.float64).reshape(networks, -1)
    layer = SimpleNamespace(d=u.copy(), h=u.copy(), v=np.full_like(u, v),
                            grad_weights=np.zeros((networks, 1)))
    return SimpleNamespace(steps=[SimpleNamespace(loss=np.full(networks, loss), outputs=u,
                                                  layers=[layer])])


def test_the_domain_is_finite_numbers_and_well_conditioned_bce():
    assert domain_mask("squared_error", _trace([0.5, 2.0]), 1).tolist() == [True]
    assert domain_mask("squared_error", _trace([0.5, np.inf]), 1).tolist() == [False]
    assert domain_mask("squared_error", _trace([0.5], loss=np.nan), 1).tolist() == [False]
    assert domain_mask("squared_error", _trace([0.5], v=-np.inf), 1).tolist() == [False]
    # per network: the second's v is NaN
    two = _trace([0.5, 0.25], networks=2)
    two.steps[0].layers[0].v[1, 0] = np.nan
    assert domain_mask("squared_error", two, 2).tolist() == [True, False]
    # BCE: u (1 - u) at least the margin, on every output; u = 0 (or 1) is outside
    u = 1e-10  # u (1 - u) just under 1e-10, above 1e-11
    assert domain_mask("binary_cross_entropy", _trace([u, 0.5]), 1).tolist() == [True]
    assert domain_mask("binary_cross_entropy", _trace([1e-12, 0.5]), 1).tolist() == [False]
    assert domain_mask("binary_cross_entropy", _trace([0.5, 1.0]), 1).tolist() == [False]
    assert domain_mask("squared_error", _trace([1e-12, 1.0]), 1).tolist() == [True]
    edge = 2 * BCE_MARGIN / (1 + np.sqrt(1 - 4 * BCE_MARGIN))  # u (1 - u) = the margin
    assert domain_mask("binary_cross_entropy", _trace([edge * (1 + 1e-6)]), 1).tolist() == [True]
    assert domain_mask("binary_cross_entropy", _trace([edge * (1 - 1e-6)]), 1).tolist() == [False]
    assert domain_mask("binary_cross_entropy", _trace([1 - BCE_MARGIN / 2]), 1).tolist() == [False]
    later = _trace([0.5])
    later.steps.append(_trace([np.nan]).steps[0])  # every step counts, not only the first
    assert domain_mask("squared_error", later, 1).tolist() == [False]


def _verdict(causes=(), origin=None, status="fail", impl="x"):
    return SimpleNamespace(root_causes=causes, origin=origin, status=status, impl=impl)


def _claim(reproduced=True, at=-30.0):
    return RootCause("x", "elu", "t", "float64", {"d": at}, at, 0.0, "1e-13", reproduced,
                     "step 0 v[layer 0]")


def test_one_finding_per_root_cause_else_per_origin():
    spec = random_spec((2, 3, 1), ["tanh", "elu"], dtype="float32")
    assert signature(spec, _verdict([_claim()])) == ("x", "elu", "t", "negative")
    assert signature(spec, _verdict([_claim(at=5.0)])) == ("x", "elu", "t", "positive")
    origin = SimpleNamespace(layer=1, quantity="v")
    unreduced = _verdict([_claim(reproduced=False)], origin)
    assert signature(spec, unreduced) == ("x", "elu", "squared_error", "v", "float32",
                                          "does not reduce")
    assert signature(spec, _verdict((), SimpleNamespace(layer=0, quantity="h")))[1] == "tanh"
    assert signature(spec, _verdict((), SimpleNamespace(layer=None, quantity="loss"))) == \
        ("x", "-", "squared_error", "loss", "float32", "does not reduce")
    assert signature(spec, _verdict(status="error")) == ("x", "-", "squared_error", "error",
                                                         "float32")
    claimed = _verdict([_claim()])
    assert describe_key(("x", "elu", "t", "negative"), claimed) == \
        "x: elu's t, float64, d in (-100, -10]: zero"
    assert describe_key(("x", "-", "mse", "error", "float32")) == "x / - / mse / error / float32"
    assert describe_key(("a", 1), _verdict([_claim(reproduced=False)])) == "a / 1"


def test_smaller_specs_drop_a_square_layer_a_sample_or_a_step():
    from harness.fuzz_search import _smaller
    spec = random_spec((2, 3, 3, 1), ["tanh", "relu", "elu"], batch=2, steps=3)
    got = list(_smaller(spec))
    # the middle layer of equal widths (3 -> 3), then each sample alone, then one step fewer
    assert [(s.sizes, s.batch, s.steps) for s in got] == [
        ([2, 3, 1], 2, 3), ([2, 3, 3, 1], 1, 3), ([2, 3, 3, 1], 1, 3), ([2, 3, 3, 1], 2, 2)]
    assert got[0].name == "fuzz-tanh-elu-squared_error-float64"
    assert [lay.activation for lay in got[0].layers] == ["tanh", "elu"]
    assert got[1].inputs.tolist() == spec.inputs[:1].tolist()
    assert got[2].inputs.tolist() == spec.inputs[1:].tolist()
    assert got[2].targets.tolist() == spec.targets[1:].tolist()
    assert spec.batch == 2 and spec.steps == 3 and len(spec.layers) == 3  # untouched
    one = random_spec((2, 2), "tanh", batch=1, steps=1)
    assert list(_smaller(one)) == []  # one layer, one sample, one step: nothing smaller
    two = random_spec((2, 2, 1), ["tanh", "relu"], batch=1, steps=2)  # two layers, two steps
    assert [(s.sizes, s.steps, s.name) for s in _smaller(two)] == [
        ([2, 1], 2, "fuzz-relu-squared_error-float64"), ([2, 2, 1], 1, two.name)]


def _failing(spec, impl="x", **fields):
    from harness.judge import Verdict
    return Verdict(spec.name, spec.dtype, impl, "base", "fail", **fields)


def test_a_finding_that_reduces_is_its_root_causes_one_neuron_spec(monkeypatch):
    """A reproduced root cause: its one-neuron spec, named fuzz-<activation>-<loss>-<dtype>
    -root-cause, is judged again (check(), one shrinking try); failing there it is the finding,
    with the network's root causes and blame; passing there (or not judged), the network is."""
    from harness import fuzz_search
    network = random_spec((2, 3, 1), ["tanh", "elu"], dtype="float32")
    cause = SimpleNamespace(reproduced=True, spec=random_spec((1, 1), "elu", dtype="float32")
                            .to_dict())
    verdict = _failing(network, root_causes=(cause,), blame="b-wrong", blame_reason="its f")
    checked, answer = [], {}
    monkeypatch.setattr(fuzz_search, "check", lambda spec, *args: checked.append(
        (spec, *args)) or answer["of"](spec))
    answer["of"] = lambda spec: _failing(spec, message="again")
    campaign = fuzz_search.Campaign()
    found = fuzz_search._shrink(network, verdict, "key", "x", "base", ("k",), 100, campaign, None)
    assert found.spec.name == "fuzz-elu-squared_error-float32-root-cause"
    assert found.spec.sizes == [1, 1] and found.spec.layers[0].activation == "elu"
    assert checked == [(found.spec, "x", "base", ("k",))] and campaign.shrunk == 1
    assert (found.verdict.message, found.verdict.root_causes, found.verdict.blame,
            found.verdict.blame_reason) == ("again", (cause,), "b-wrong", "its f")
    assert found.network is network and found.key == "key"
    for answer["of"] in (lambda spec: replace(_failing(spec), status="pass"), lambda spec: None):
        again = fuzz_search._shrink(network, verdict, "key", "x", "base", (), 100, campaign, None)
        assert (again.spec, again.verdict, again.network, again.key) == (network, verdict, network,
                                                                         "key")
    assert campaign.shrunk == 3


def test_shrinking_stops_at_its_budget_and_its_deadline(monkeypatch):
    """Each candidate judged costs one of the budget (campaign.shrunk), and none is judged once
    the clock is past the deadline, in the recursion too. Here the candidates of batch 2 are
    one sample (another signature) or one step fewer (the same): steps 3 -> 2 -> 1, 8 tries."""
    from harness import fuzz_search
    spec = random_spec((2, 2), "tanh", batch=2, steps=3)
    tried, now = [], [0.0]

    def explained(candidate, *args):
        tried.append((candidate.batch, candidate.steps, *args))
        now[0] += 1.0
        return _failing(candidate)

    monkeypatch.setattr(fuzz_search, "explained", explained)
    monkeypatch.setattr(fuzz_search, "signature",  # of the candidate and its own verdict
                        lambda s, v: (v.case, "key" if s.batch == 2 else "b1"))
    monkeypatch.setattr(fuzz_search, "time", SimpleNamespace(monotonic=lambda: now[0]))
    shrink = lambda budget, deadline: fuzz_search._shrink(  # noqa: E731
        spec, _failing(spec), (spec.name, "key"), "x", "base", ("k",), budget, campaign, deadline)
    campaign = fuzz_search.Campaign()
    found = shrink(100, None)
    assert found.spec.steps == 1 and campaign.shrunk == 8
    assert found.network is spec  # the network it was drawn on, not the last shrunk one
    assert (found.verdict.case, found.verdict.status) == (spec.name, "fail")
    assert [t[:2] for t in tried] == [(1, 3), (1, 3), (2, 2), (1, 2), (1, 2), (2, 1), (1, 1),
                                      (1, 1)]
    assert {t[2:] for t in tried} == {("x", "base", ("k",))}  # in the recursion too
    campaign = fuzz_search.Campaign()  # 3 tries, then 1 of the second level's
    assert shrink(4, None).spec.steps == 2 and campaign.shrunk == 4
    campaign, now[0] = fuzz_search.Campaign(), 0.0  # tries at 0, 1 and 2; at 3 it is past 2
    assert shrink(100, 2.0).spec.steps == 2 and campaign.shrunk == 3
    campaign = fuzz_search.Campaign()  # no budget: the network as found
    found = shrink(0, None)
    assert (found.spec, found.network, found.key) == (spec, spec, (spec.name, "key"))
    assert found.verdict.status == "fail" and campaign.shrunk == 0


def test_a_candidate_the_format_refuses_is_skipped():
    from harness.fuzz_search import _valid
    doc = random_spec((2, 2), "tanh").to_dict()
    assert [s.sizes for s in _valid(doc)] == [[2, 2]]
    assert list(_valid(dict(doc, steps=0))) == []


def test_the_search_needs_a_bound():
    from harness.fuzz_search import find_failures
    with pytest.raises(ValueError, match="^examples or max_time must bound the search$"):
        find_failures("reference", examples=None, max_time=None)


@needs("hypothesis")
def test_the_search_gets_its_documented_defaults_and_a_home_of_its_own(monkeypatch):
    """find_failures(impl) hands the search 100 examples from seed 0, every dtype, activation
    and loss, up to 5 findings of 100 shrinking tries, no known deviation, no deadline, and
    hypothesis a temporary home (bh-hypothesis-*, gone after: no .hypothesis/ left); with
    max_time alone, UNBOUNDED examples until monotonic() + max_time."""
    from hypothesis.configuration import storage_directory
    from harness import fuzz_search
    from harness.spec import DTYPES
    from impls.reference import ACTIVATIONS, LOSSES
    calls = []

    def search(impl, baseline, examples, seed, dtypes, known, campaign, activations, losses,
               limits, deadline, limit, shrink, on_finding):
        home = storage_directory(intent_to_write=False).home_directory
        calls.append(((impl, baseline, examples, seed, dtypes, known, activations, losses,
                       limits, deadline, limit, shrink, on_finding), campaign, home))

    monkeypatch.setattr(fuzz_search, "_search", search)
    campaign = fuzz_search.find_failures("x")
    args, given, home = calls[-1]
    assert args == ("x", "reference", 100, 0, DTYPES, (), ACTIVATIONS, LOSSES, {}, None, 5, 100,
                    None)
    assert given is campaign and campaign == fuzz_search.Campaign()
    assert home.name.startswith("bh-hypothesis-") and not home.exists()
    t0 = time.monotonic()
    fuzz_search.find_failures("x", examples=None, max_time=2.0, limit=1, shrink=0,
                              on_finding=print, max_depth=1)
    args = calls[-1][0]
    assert args[2] == fuzz_search.UNBOUNDED and args[8:] == ({"max_depth": 1}, args[9], 1, 0, print)
    assert t0 + 2.0 <= args[9] <= time.monotonic() + 2.0


def test_find_failure_is_the_first_finding_of_a_search_for_one(monkeypatch):
    """find_failure(): find_failures() with limit 1 and the same defaults (the reference, 100
    examples, seed 0, every dtype), its first finding, or None."""
    from harness import fuzz_search
    from harness.spec import DTYPES
    calls, found = [], ["first", "second"]
    monkeypatch.setattr(fuzz_search, "find_failures", lambda *a, **k: calls.append((a, k))
                        or fuzz_search.Campaign(findings=list(found)))
    assert fuzz_search.find_failure("x", max_depth=2) == "first"
    assert calls[-1] == (("x", "reference", 100, 0, DTYPES), {"limit": 1, "max_depth": 2})
    found.clear()
    assert fuzz_search.find_failure("x", "exact", 7, 3, ("float32",)) is None
    assert calls[-1] == (("x", "exact", 7, 3, ("float32",)), {"limit": 1})


@pytest.mark.parametrize("args, message", [
    (["--max-time", "-1"], "--max-time must be a positive number of seconds, got -1"),
    (["--max-time", "inf"], "--max-time must be a positive number of seconds, got inf"),
    (["--examples", "0"], "--examples must be at least 1, got 0"),
    (["--max-findings", "0"], "--max-findings must be at least 1, got 0"),
    (["--shrink", "-1"], "--shrink must be at least 0, got -1"),
    (["--workers", "2"], "--workers applies only with --arch (batched mode)"),
    (["--arch", "2-2", "--shrink", "3"], "--shrink applies only without --arch"),
    (["--arch", "2-2", "--max-findings", "2"],
     "--max-findings applies only without --arch (property-based mode)"),
])
def test_fuzz_refuses_what_it_cannot_do(args, message, capsys):
    from harness.cli import main
    assert main(["fuzz", "--impl", "reference", *args]) == 2
    assert message in capsys.readouterr().err


def test_the_fuzz_help_is_the_documented_one(capsys, monkeypatch):
    """docs/fuzzing.md shows `fuzz --help` (docs/samples/help-fuzz.txt): every option, its
    argument's name, choices and default, as the command prints them today."""
    from pathlib import Path
    from harness.cli import main
    monkeypatch.setenv("COLUMNS", "100")  # as scripts/docs_samples.py runs it
    with pytest.raises(SystemExit) as done:
        main(["fuzz", "--help"])
    assert done.value.code == 0
    # the checkout's docs (mutation testing runs the tests from a copy in mutants/)
    docs = next(p / "docs" for p in Path(__file__).resolve().parents if (p / "docs").is_dir())
    first, _, text = (docs / "samples" / "help-fuzz.txt").read_text().partition("\n")
    assert first == "$ backprop-harness fuzz --help"
    assert capsys.readouterr().out == text, "stale: python scripts/docs_samples.py --only help-fuzz"


# ---------------------------------------------------------------- a case entry and fuzzed networks

def _ledger(tmp_path, line):
    from harness.xfails import read_xfails
    path = tmp_path / "ledger.txt"
    path.write_text(line + "\n")
    return read_xfails(path)


def test_check_applies_a_case_entry_that_names_the_fuzzed_network(plugins, tmp_path):
    """check() judges like `run`: bug-bias (no bias gradient) fails on a fuzzed network, and a
    case entry matching its generated name makes the same network a known deviation; one
    that names a suite case does not."""
    from dataclasses import replace
    from harness.fuzz_verdict import check
    spec = replace(random_spec((2, 1), "identity"), name="fuzz-identity-squared_error-float64")
    assert check(spec, "bug-bias", "reference").status == "fail"
    assert check(spec, "bug-bias", "reference", _ledger(tmp_path, "regions-* no")).status == "fail"
    covered = check(spec, "bug-bias", "reference", _ledger(tmp_path, "fuzz-identity-* no bias"))
    assert covered.status == "xfail" and covered.known.startswith("no bias")
    from harness.fuzz_verdict import explained
    assert explained(spec, "bug-bias", "reference",
                     _ledger(tmp_path, "fuzz-identity-* no bias")).status == "xfail"


def test_a_draw_outside_the_domain_is_not_compared(monkeypatch):
    """in_domain() is domain_mask() of the spec's own loss (BCE's margin only for BCE), and
    a draw whose baseline is outside it is not judged (None), whatever the implementation."""
    from harness import fuzz_verdict
    bce, mse = SimpleNamespace(loss="binary_cross_entropy"), SimpleNamespace(loss="squared_error")
    assert not fuzz_verdict.in_domain(bce, _trace([1e-12, 0.5]))
    assert fuzz_verdict.in_domain(mse, _trace([1e-12, 0.5]))
    spec = random_spec((2, 1), "tanh")
    monkeypatch.setattr(fuzz_verdict, "in_domain", lambda s, trace: False)
    assert fuzz_verdict.check(spec, "reference", "reference") is None


def test_a_campaign_counts_the_networks_a_case_entry_covers_as_known(plugins, tmp_path):
    """docs/ledger.md: a case entry such as `fuzz-*` covers fuzzed networks, whose names are
    generated; the fuzz line's "known deviation(s)" counts them, as for a signature entry (the
    batched fuzzer counts them so too). The same draws (seed 0): without a ledger every
    failing network is a finding or a repeat; with `fuzz-*` each of them is a known
    deviation instead and nothing is found; an entry naming a suite case changes nothing."""
    from harness.fuzz_search import find_failures
    kw = dict(examples=12, seed=0, limit=100, shrink=0, activations=["identity"],
              dtypes=("float64",))
    bare = find_failures("bug-bias", **kw)
    failing = len(bare.findings) + sum(bare.repeats.values())
    assert bare.known == 0 and failing >= 1 and bare.compared == 12
    covered = find_failures("bug-bias", known=_ledger(tmp_path, "fuzz-* no bias gradient"), **kw)
    assert (covered.compared, covered.known, covered.findings) == (12, failing, [])
    suite = find_failures("bug-bias", known=_ledger(tmp_path, "bias-* no bias gradient"), **kw)
    assert (suite.known, len(suite.findings)) == (0, len(bare.findings))


def test_a_draw_the_implementation_declines_is_not_compared(monkeypatch):
    """check() and explained() give None where the implementation does not support the
    spec (nothing to judge: the search draws again), and judge an implementation that
    failed on it (an error is a finding)."""
    from harness import fuzz_verdict
    from harness.outcome import Outcome
    spec = random_spec((2, 1), "tanh")
    real = fuzz_verdict.run_one
    said = {"status": "unsupported"}
    monkeypatch.setattr(fuzz_verdict, "run_one", lambda impl, s: Outcome(
        impl, s.name, said["status"], message="declined") if impl == "x" else real(impl, s))
    assert fuzz_verdict.check(spec, "x", "reference") is None
    assert fuzz_verdict.explained(spec, "x", "reference") is None
    said["status"] = "error"
    assert fuzz_verdict.check(spec, "x", "reference").status == "error"


def test_a_finding_is_written_with_the_command_against_its_own_baseline(tmp_path):
    """write_failure(): minimal-<impl>-vs-<baseline>[-k].json (k from the second on) holding
    the spec renamed "-minimal", and the command that reruns it against the same baseline."""
    import json
    import shlex
    from harness.fuzz import write_failure
    from harness.judge import Verdict
    spec = random_spec((2, 1), "tanh")
    verdict = Verdict(spec.name, spec.dtype, "my impl", "my/base", "fail", message="wrong v")
    path, cmd = write_failure(spec, verdict, tmp_path / "out" / "fuzz", 1)  # folders made
    assert path == tmp_path / "out" / "fuzz" / "minimal-my-impl-vs-my-base-2.json"
    doc = json.loads(path.read_text())
    assert doc["name"] == f"{spec.name}-minimal-2"
    assert doc["description"] == "found by the fuzzer: wrong v"
    assert doc["layers"] == spec.to_dict()["layers"]
    words = shlex.split(cmd)
    assert words[words.index("run") + 1] == str(path.resolve())
    assert words[words.index("--impl") + 1] == "my impl"
    assert words[words.index("--baseline") + 1] == "my/base"
    first, _ = write_failure(spec, verdict, tmp_path / "out" / "fuzz")
    assert first.name == "minimal-my-impl-vs-my-base.json"
    assert json.loads(first.read_text())["name"] == f"{spec.name}-minimal"


def test_the_batched_mode_gets_its_documented_defaults(monkeypatch):
    """fuzz --arch hands run_batched() the defaults `fuzz --help` states, and keeps what was
    given."""
    import harness.batched
    from harness.cli import main
    seen = []
    monkeypatch.setattr(harness.batched, "run_batched", lambda args: seen.append(args) or 7)
    assert main(["fuzz", "--arch", "2-2", "--impl", "reference"]) == 7
    got = seen[0]
    assert (got.networks, got.batch, got.chunk, got.executor, got.workers, got.activation,
            got.loss) == (100_000, 8, 2_000, "local", 2, "tanh", "mse")
    assert main(["fuzz", "--arch", "2-2", "--networks", "5", "--workers", "1", "--loss",
                 "l1", "--activation", "relu"]) == 7
    assert (seen[1].networks, seen[1].workers, seen[1].loss, seen[1].activation, seen[1].batch) \
        == (5, 1, "l1", "relu", 8)


def test_fuzz_hands_the_search_its_documented_defaults(monkeypatch, tmp_path):
    """`fuzz --help`'s defaults reach find_failures(): 100 examples, 5 findings, 100 shrinking
    tries; with --max-time alone no example count (time bounds it) and every trace bounded to
    end by then plus the grace; what is given is kept; torch and jax without --impl; a
    --max-time of 0 refused, of half a second taken."""
    import harness.fuzz as fuzz
    from harness.cli import main
    from harness.fuzz_search import Campaign
    calls, bounds, chosen = [], [], []

    def search(impl, baseline, examples, seed, dtypes, limit, **kw):
        calls.append(dict(examples=examples, limit=limit, shrink=kw["shrink"],
                          max_time=kw["max_time"]))
        return Campaign(compared=1)

    monkeypatch.setattr(fuzz, "find_failures", search)
    monkeypatch.setattr(fuzz, "bound_all", bounds.append)  # not this process's traces
    out = ["--out", str(tmp_path)]
    assert main(["fuzz", "--impl", "exact", *out]) == 0
    assert calls[-1] == dict(examples=100, limit=5, shrink=100, max_time=None) and not bounds
    t0 = time.monotonic()
    assert main(["fuzz", "--impl", "exact", "--max-time", "0.5", *out]) == 0
    assert calls[-1] == dict(examples=None, limit=5, shrink=100, max_time=0.5)
    assert t0 + 0.5 + fuzz.MAX_TIME_GRACE <= bounds[-1] <= time.monotonic() + 0.5 + \
        fuzz.MAX_TIME_GRACE
    assert main(["fuzz", "--impl", "exact", "--examples", "7", "--max-findings", "2",
                 "--shrink", "0", *out]) == 0
    assert calls[-1] == dict(examples=7, limit=2, shrink=0, max_time=None)
    assert main(["fuzz", "--impl", "exact", "--max-time", "0", *out]) == 2
    monkeypatch.setattr(fuzz, "choose_impls", lambda names, baseline: chosen.append(names) or [])
    assert main(["fuzz", *out]) == 0 and chosen == [["torch", "jax"]]


def test_a_real_finding_is_written_with_its_issue_draft_and_the_runs_tolerance(plugins, tmp_path):
    """bug-bias (no bias gradient) on a fuzzed network: beside the spec, a folder of the same
    name holds ISSUE.md; the run's tolerance override is in the rerun command and in the
    draft's; writing the same finding again replaces it."""
    import shlex
    from harness.fuzz import write_failure
    from harness.fuzz_verdict import explained
    spec = random_spec((2, 1), "identity")
    verdict = explained(spec, "bug-bias", "reference")
    assert verdict.status == "fail" and verdict.origin.quantity == "grad_bias"
    tolerance = {"forward": {"rtol": 0.001}}
    path, cmd = write_failure(spec, verdict, tmp_path, 0, tolerance)
    words = shlex.split(cmd)
    assert words[words.index("--rtol-forward") + 1] == "0.001"
    issue = (path.with_suffix("") / "ISSUE.md").read_text()
    assert "--rtol-forward 0.001" in issue
    again, _ = write_failure(spec, verdict, tmp_path, 0, tolerance)
    assert again == path and (path.with_suffix("") / "ISSUE.md").read_text() == issue


def test_bce_margin_per_network_on_every_sample_and_finite_too():
    """BCE's margin holds per network over every sample and output (a spec's outputs are
    batch x n), u (1 - u) exactly at the margin is inside, and a non-finite number elsewhere
    is outside whatever u is."""
    u = 1.00000000001e-11  # u (1 - u) rounds to BCE_MARGIN exactly
    assert u * (1 - u) == BCE_MARGIN
    assert domain_mask("binary_cross_entropy", _trace([u, 0.5]), 1).tolist() == [True]
    spec = _trace([0.5, 0.25])  # one network of two samples: the second's u is 1e-12
    spec.steps[0].outputs = np.array([[0.5], [1e-12]])
    assert domain_mask("binary_cross_entropy", spec, 1).tolist() == [False]
    two = _trace([0.5, 1e-12], networks=2)
    assert domain_mask("binary_cross_entropy", two, 2).tolist() == [True, False]
    nan_v = _trace([0.5, 0.5], v=np.nan)
    assert domain_mask("binary_cross_entropy", nan_v, 1).tolist() == [False]


def test_fuzz_prints_each_finding_and_the_campaigns_line_and_appends_the_findings(
        monkeypatch, tmp_path, capsys):
    """What `fuzz` prints of a search (here a stand-in's: two findings, a repeat, a known
    deviation, stopped by --max-time): each finding as it comes, with its blame, why, spec and
    rerun command, numbered files from the second; then the campaign's line, the repeats,
    and where the findings file is; every finding appended to it as one JSON line. The
    baseline is not searched; a search that compared nothing says so; both exit 1."""
    import json
    import harness.fuzz as fuzz
    from harness.cli import main
    from harness.fuzz_search import Campaign, Finding
    from harness.judge import Verdict
    spec = random_spec((2, 1), "elu", batch=2, steps=3)
    cause = RootCause("exact", "elu", "t", "float64", {"d": -30.0}, -30.0, 0.0, "1e-13", True,
                      "step 0 v[layer 0]", spec=random_spec((1, 1), "elu").to_dict())
    blamed = Verdict(spec.name, spec.dtype, "exact", "reference", "fail", message="wrong v",
                     blame="b-wrong", root_causes=(cause,))
    plain = Verdict(spec.name, spec.dtype, "exact", "reference", "fail", message="wrong loss")
    key, other = ("exact", "elu", "t", "negative"), ("exact", "-", "mse", "loss")
    searched, campaigns = [], []

    def search(impl, baseline, examples, seed, dtypes, limit, **kw):
        searched.append(impl)
        for finding in campaigns[-1].findings:
            kw["on_finding"](finding)
        return campaigns[-1]

    monkeypatch.setattr(fuzz, "find_failures", search)
    monkeypatch.setattr(fuzz, "bound_all", lambda t: None)
    campaigns.append(Campaign(findings=[Finding(spec, blamed, spec, key),
                                        Finding(spec, plain, spec, other)],
                              drawn=7, compared=5, shrunk=3, repeats={key: 2}, known=1,
                              timed_out=True))
    findings = tmp_path / "new" / "folder" / "found.jsonl"
    args = ["fuzz", "--impl", "exact", "reference", "--max-time", "5", "--out", str(tmp_path),
            "--findings", str(findings)]
    assert main(args) == 1 and searched == ["exact"]
    first, second = tmp_path / "minimal-exact-vs-reference.json", \
        tmp_path / "minimal-exact-vs-reference-2.json"
    records = [json.loads(line) for line in findings.read_text().splitlines()]
    assert [r["spec"] for r in records] == [str(first), str(second)]
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "exact: searching random networks for up to 5 s (float64, float32, bfloat16, float16)",
        f"  FINDING {describe_key(key, blamed)} [blame: exact wrong] on 2-1 (float64, "
        "squared_error, batch 2, 3 step(s)): wrong v",
        f"    why: {blamed.why}", f"    spec: {first}", f"    reproduce: {records[0]['reproduce']}",
        "  FINDING exact / - / mse / loss on 2-1 (float64, squared_error, batch 2, 3 step(s)): "
        "wrong loss", f"    spec: {second}", f"    reproduce: {records[1]['reproduce']}",
        "exact: 7 random networks drawn, 5 compared with reference (the rest outside the domain: "
        "not supported, non-finite or ill-conditioned), 3 shrinking tries: 2 distinct finding(s) "
        "by signature, 2 repeat(s), 1 known deviation(s); stopped at --max-time 5 s",
        "  seen again 2 time(s): exact / elu / t / negative", f"findings: {findings}"]
    assert records[0]["reproduce"].endswith(f"run {first} --impl exact --baseline reference")
    campaigns.append(Campaign(findings=[Finding(spec, plain, spec, other)], drawn=2, compared=0))
    assert main(["fuzz", "--impl", "exact", "--examples", "2", "--dtype", "float32", "--out",
                 str(tmp_path), "--findings", str(findings)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "exact: searching 2 random networks (float32)"
    assert lines[4:] == [
        "exact: 2 random networks drawn, 0 compared with reference (the rest outside the domain: "
        "not supported, non-finite or ill-conditioned), 0 shrinking tries: 1 distinct finding(s) "
        "by signature, 0 repeat(s), 0 known deviation(s)",
        "exact: NOTHING COMPARED: no drawn network was both in the domain and supported",
        f"findings: {findings}"]
    assert len(findings.read_text().splitlines()) == 3  # appended


class _Ask:
    """A strategy as fuzz_draw asks for it: hypothesis's function and its arguments (what the
    stand-in `st` below hands out, so a test sees exactly what is drawn from)."""

    def __init__(self, kind, *args, **kw):
        self.kind, self.args, self.kw = kind, args, kw

    def map(self, f):
        return _Ask("map", self, f)

    def _key(self):
        return self.kind, repr(self.args), sorted(self.kw.items())

    def __eq__(self, other):
        return isinstance(other, _Ask) and self._key() == other._key()

    def __hash__(self):
        return hash(repr(self._key()))

    def __repr__(self):
        return f"{self.kind}{self.args}{self.kw or ''}"


class _St:
    """hypothesis.strategies as a recorder: st.X(...) is _Ask("X", ...); composite too."""

    def __getattr__(self, kind):
        if kind == "composite":
            return lambda f: (lambda: _Ask("composite", f))
        return lambda *args, **kw: _Ask(kind, *args, **kw)


class _Draw:
    """draw() over _Asks: each ask's lowest (the first option and branch, the least number,
    False, min_size items) with end=0, its highest with end=-1; a scripted ask gives its next
    value from `script` instead. Every ask is kept in `asked`."""

    def __init__(self, end=0, script=None):
        self.end, self.asked = end, []
        self.script = {ask: list(values) for ask, values in (script or {}).items()}

    def __call__(self, ask):
        self.asked.append(ask)
        if self.script.get(ask):
            return self.script[ask].pop(0)
        kind, args, kw = ask.kind, ask.args, ask.kw
        if kind == "sampled_from":
            return args[0][self.end]
        if kind in ("integers", "floats"):
            return args[self.end]
        if kind == "booleans":
            return bool(self.end)
        if kind == "one_of":
            return self(args[self.end])
        if kind == "lists":
            return [self(args[0]) for _ in range(kw["max_size" if self.end else "min_size"])]
        if kind == "map":
            return args[1](self(args[0]))
        assert kind == "composite", ask
        return args[0](self)


def _matrix(st, value):
    def matrix(rows, cols, of=value):
        return st.lists(st.lists(of, min_size=cols, max_size=cols), min_size=rows,
                        max_size=rows)
    return matrix


def test_a_layers_neurons_are_at_a_dictionary_value_below_the_even_chance():
    """_layer: per neuron a draw in [0, 1); under DICTIONARY = 0.5 the neuron's weights are 0
    and its bias a value of special_values() (its first, when the first is drawn), else the
    drawn weights and bias stay; leaky_relu's slope from its accepted classes, 0.01 or 0.1,
    celu's alpha 0.5, 1 or 2, no other layer either; identity has no dictionary, no dice."""
    from harness.fuzz_draw import DICTIONARY, _classes, _layer, special_values
    st = _St()
    value = st.sampled_from([0.25, 0.75])
    dice = st.floats(0, 1)
    draw = _Draw(0, {dice: [0.0, DICTIONARY, 0.4999, 0.9]})
    layer = _layer(draw, st, _matrix(st, value), 2, 4, "relu", "float32", value)
    assert layer == {"weights": [[0.0, 0.0], [0.25, 0.25], [0.0, 0.0], [0.25, 0.25]],
                     "bias": [-2.0 ** -126, 0.25, -2.0 ** -126, 0.25], "activation": "relu"}
    assert draw.asked.count(dice) == 4
    assert draw.asked.count(st.sampled_from(special_values("relu", "float32"))) == 2
    slopes = st.sampled_from(_classes("slope") + [0.01, 0.1])
    low, high = _Draw(0), _Draw(-1)
    assert _layer(low, st, _matrix(st, value), 1, 1, "leaky_relu", "float64", value) == \
        {"weights": [[0.0]], "bias": [-2.0 ** -1022], "activation": "leaky_relu",
         "slope": -2.0 ** 66}
    assert _layer(high, st, _matrix(st, value), 1, 2, "leaky_relu", "float64", value) == \
        {"weights": [[0.75], [0.75]], "bias": [0.75, 0.75], "activation": "leaky_relu",
         "slope": 0.1}
    assert slopes in low.asked and slopes in high.asked
    assert _layer(_Draw(-1), st, _matrix(st, value), 1, 1, "celu", "float64", value)["alpha"] \
        == 2.0
    alphas = _Draw(0)
    assert _layer(alphas, st, _matrix(st, value), 1, 1, "celu", "float64", value)["alpha"] == 0.5
    assert st.sampled_from([0.5, 1.0, 2.0]) in alphas.asked
    plain = _Draw(0)
    assert _layer(plain, st, _matrix(st, value), 3, 2, "identity", "float64", value) == \
        {"weights": [[0.25] * 3] * 2, "bias": [0.25, 0.25], "activation": "identity"}
    assert dice not in plain.asked


def test_targets_are_drawn_from_the_dictionary_or_float32_and_fitted_to_the_loss():
    """_targets: y is TARGETS' values or a float32 number in [-2, 2]; softmax cross-entropy
    takes one-hot rows of drawn classes or |y|, binary cross-entropy min(1, |y|), hinge the
    signs (0 is +1), poisson |y|, squared error y itself."""
    from harness.fuzz_draw import TARGETS, _targets
    st = _St()
    y = st.one_of(st.sampled_from(TARGETS), st.floats(-2.0, 2.0, allow_nan=False, width=32))
    minus = {st.sampled_from(TARGETS): [-1.0] * 6}  # TARGETS' -1

    def targets(loss, draw, batch=2, n_out=3):
        return _targets(draw, st, _matrix(st, None), loss, batch, n_out)

    hot = _Draw(-1)
    assert targets("softmax_cross_entropy", hot) == [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]
    assert hot.asked.count(st.integers(0, 2)) == 2
    classes = _Draw(-1, {st.integers(0, 2): [0, 1]})
    assert targets("softmax_cross_entropy", classes) == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert st.lists(st.integers(0, 2), min_size=2, max_size=2) in classes.asked
    drawn = _Draw(0, minus)
    assert targets("softmax_cross_entropy", drawn) == [[1.0] * 3] * 2
    assert y.map(abs) in drawn.asked and y in drawn.asked
    assert targets("binary_cross_entropy", _Draw(0, minus)) == [[1.0] * 3] * 2
    assert targets("binary_cross_entropy", _Draw(-1), 1, 2) == [[1.0, 1.0]]  # y = 2
    half = {st.sampled_from(TARGETS): [0.5, -0.25]}
    assert targets("binary_cross_entropy", _Draw(0, half), 1, 2) == [[0.5, 0.25]]
    assert targets("hinge", _Draw(0, minus), 1, 2) == [[-1.0, -1.0]]
    assert targets("hinge", _Draw(0), 1, 2) == [[1.0, 1.0]]  # y = 0
    assert targets("poisson", _Draw(0, minus), 2, 1) == [[1.0], [1.0]]
    assert targets("squared_error", _Draw(0, minus), 1, 2) == [[-1.0, -1.0]]
    assert targets("squared_error", _Draw(-1), 1, 1) == [[2.0]]
    assert targets("squared_error", _Draw(0), 1, 1) == [[0.0]]


def _docs(monkeypatch, draw, **kw):
    """spec_docs' document, drawn by `draw` from the recording stand-in of hypothesis."""
    import harness.fuzz_draw as fuzz_draw
    monkeypatch.setattr(fuzz_draw, "_strategies", _St)
    return draw(fuzz_draw.spec_docs(**kw))


def test_the_lowest_document_is_one_neuron_and_one_wide_bfloat16_layer(monkeypatch):
    """spec_docs at each draw's lowest: bfloat16, depth 1, widths 1, the first pair (identity,
    squared error), batch 1, steps 1, the sum, the smallest learning rate; a draw of 1 in
    WIDE makes the first layer 256 inputs wider (bfloat16's accumulation length), x = 1 and
    w = 1.0625 there; the weights, bias and inputs are drawn from float32 numbers in [-2, 2]
    (here -2) or spec_docs' picks, the targets from TARGETS."""
    st = _St()
    draw = _Draw(0)
    doc = _docs(monkeypatch, draw, dtypes=("bfloat16", "float64"))
    assert doc == {"name": "fuzz-identity-squared_error-bfloat16", "dtype": "bfloat16",
                   "loss": "squared_error", "reduction": "sum",
                   "layers": [{"weights": [[-2.0] + [1.0625] * 256], "bias": [-2.0],
                               "activation": "identity"}],
                   "inputs": [[-2.0] + [1.0] * 256], "targets": [[0.0]],
                   "learning_rate": 2.0 ** -70, "steps": 1}
    picks = [0.0, 0.5, -0.5, 1.0, -1.0, 2.0, 20.0, -30.0, 1e-6, -1e-12, 1e-20]
    value = st.one_of(st.floats(-2.0, 2.0, allow_nan=False, width=32), st.sampled_from(picks))
    for ask in (value, st.integers(1, 3), st.lists(st.integers(1, 5), min_size=2, max_size=2),
                st.integers(1, 8), st.sampled_from([1.0, 0.5]), st.sampled_from([1.0625, -0.75]),
                st.integers(1, 4), st.sampled_from(["sum", "mean"]),
                st.sampled_from([2.0 ** -70, 0.1, 2.0, 0.01])):
        assert ask in draw.asked, ask
    dictionary = {st.floats(0, 1): [0.0]}  # a relu neuron at its dictionary's first value
    narrow = _docs(monkeypatch, _Draw(0, dictionary), dtypes=("bfloat16",),
                   activations=("relu",), losses=("hinge",))
    assert narrow["layers"][0] == {"weights": [[0.0] * 257], "bias": [-2.0 ** -126],
                                   "activation": "relu"}
    assert narrow["inputs"] == [[-2.0] + [1.0] * 256] and narrow["targets"] == [[1.0]]
    assert narrow["name"] == "fuzz-relu-hinge-bfloat16"
    assert len(_docs(monkeypatch, _Draw(0), dtypes=("float64",))["inputs"][0]) == 1
    once = _Draw(0, {st.integers(1, 8): [2]})  # not 1 in WIDE: as drawn
    assert _docs(monkeypatch, once, dtypes=("bfloat16",))["inputs"] == [[-2.0]]


def test_the_highest_document_is_the_deepest_widest_and_longest(monkeypatch):
    """spec_docs at each draw's highest: the last dtype, max_depth layers of max_width, the last
    pair, a batch of the batch class's 4, max_steps, the mean, the learning rate 0.01, and
    spec_docs' last pick (1e-20) everywhere; no wide layer (WIDE drawn, not 1)."""
    draw = _Draw(-1)
    doc = _docs(monkeypatch, draw, dtypes=("float64", "float32"), max_depth=2, max_width=3,
                max_batch=5, max_steps=6, activations=("relu", "celu"), losses=("mse", "l1"))
    row = [1e-20] * 3
    assert doc == {"name": "fuzz-celu-celu-l1-float32", "dtype": "float32", "loss": "l1",
                   "reduction": "mean",
                   "layers": [{"weights": [row] * 3, "bias": row, "activation": "celu",
                               "alpha": 2.0}] * 2,
                   "inputs": [row] * 4, "targets": [[2.0] * 3] * 4, "learning_rate": 0.01,
                   "steps": 6}
    st = _St()
    for ask in (st.integers(1, 2), st.lists(st.integers(1, 3), min_size=3, max_size=3),
                st.lists(st.sampled_from(["relu", "celu"]), min_size=1, max_size=1),
                st.sampled_from([("relu", "mse"), ("celu", "mse"), ("relu", "l1"), ("celu", "l1")]),
                st.sampled_from([1, 4]), st.sampled_from([1, 6])):
        assert ask in draw.asked, ask
    drawn = _Draw(-1, {st.booleans(): [False, False, False]})  # batch and steps from integers
    doc = _docs(monkeypatch, drawn, max_batch=5, max_steps=6)
    assert (len(doc["inputs"]), doc["steps"]) == (5, 6)
    assert st.integers(1, 5) in drawn.asked and st.integers(1, 6) in drawn.asked


def test_the_dictionary_scales_by_the_points_magnitude_and_keeps_each_number_once():
    """special_values of hard_tanh in float32 (points 0, -1, 1, 2^27, -2^27): each point,
    its neighbours (8 below 2^27, 16 above), then w ± |w| 10^-k (10^-k alone where |w| < 1:
    tanh's 0.0004), rounded to float32, each number once (around 1, 10^-8 and beyond round to
    1 itself or its neighbour)."""
    from harness.fuzz_draw import special_values
    f32 = np.float32

    def around(w, scale):
        return [float(f32(w + s * scale * 10.0 ** -k)) for k in range(1, 17) for s in (-1, 1)]

    tiny, big = 2.0 ** -126, 2.0 ** 27
    expected = [-tiny, 0.0, tiny, *around(0.0, 1.0),
                -1 - 2.0 ** -23, -1.0, -1 + 2.0 ** -24, *around(-1.0, 1.0),
                1 - 2.0 ** -24, 1.0, 1 + 2.0 ** -23, *around(1.0, 1.0),
                big - 8, big, big + 16, *around(big, big),
                -big - 16, -big, -big + 8, *around(-big, big)]
    got = special_values("hard_tanh", "float32")
    assert got == list(dict.fromkeys(expected)) and len(got) == len(set(got)) == 99
    assert float(f32(-big * 1.1)) in got and float(f32(-1.1)) in got
    tanh = special_values("tanh", "float32")
    assert float(f32(0.0004 + 0.1)) in tanh and float(f32(0.0004 * 1.1)) not in tanh


def test_a_finding_record_holds_every_field_of_its_verdict(tmp_path, monkeypatch):
    """One line of the findings file: the time in UTC to the second, who ran against what,
    the finding's signature in words, the blame (its code, in words, and why), the root
    causes in words and in full, status and message, the spec's absolute path, the rerun
    command, and the network it was found on (not the minimal spec)."""
    import re
    from datetime import datetime, timezone
    from pathlib import Path
    from harness.fuzz import finding_record
    from harness.fuzz_search import Finding
    from harness.judge import Verdict
    network = random_spec((2, 1), "elu", batch=2)
    spec = random_spec((1, 1), "elu")
    cause = RootCause("exact", "elu", "t", "float64", {"d": -30.0}, -30.0, 0.0, "1e-13", True,
                      "step 0 v[layer 0]")
    verdict = Verdict(spec.name, spec.dtype, "exact", "reference", "fail", message="wrong v",
                      blame="a-wrong", blame_reason="the oracle agrees with exact",
                      root_causes=(cause,))
    key = ("exact", "elu", "t", "negative")
    monkeypatch.chdir(tmp_path)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    record = finding_record(Finding(spec, verdict, network, key), Path("m.json"), "rerun it")
    after = datetime.now(timezone.utc)
    stamp = record.pop("time")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", stamp), stamp
    assert before <= datetime.fromisoformat(stamp) <= after
    assert record == {"impl": "exact", "baseline": "reference",
                      "signature": "exact: elu's t, float64, d in (-100, -10]: zero",
                      "blame": "a-wrong", "who": "reference wrong",
                      "blame_reason": "the oracle agrees with exact", "why": verdict.why,
                      "root_causes": [cause.to_dict()], "status": "fail", "message": "wrong v",
                      "spec": str(tmp_path.resolve() / "m.json"), "reproduce": "rerun it",
                      "network": network.to_dict()}
    assert verdict.why.startswith("elu's t") and network.to_dict() != spec.to_dict()


def test_the_dtypes_fuzzed_are_those_both_sides_declare(monkeypatch):
    """supported_dtypes: the dtypes of ALL_DTYPES, in its order, that the implementation and
    the baseline both declare; a side that declares none (or an empty list) limits nothing."""
    import harness.registry
    from harness.fuzz import supported_dtypes
    from harness.spec import ALL_DTYPES
    supports = {"a": {"dtypes": ["float16", "float32", "float64"]},
                "b": {"dtypes": ["float64", "float16", "bfloat16"]}, "any": {},
                "empty": {"dtypes": []}}
    monkeypatch.setattr(harness.registry, "get",
                        lambda name: SimpleNamespace(supports=supports[name]))
    assert ALL_DTYPES == ("float64", "float32", "bfloat16", "float16")
    assert supported_dtypes("a", "b") == ("float64", "float16")
    assert supported_dtypes("any", "a") == ("float64", "float32", "float16")
    assert supported_dtypes("b", "empty") == ("float64", "bfloat16", "float16")
    assert supported_dtypes("any", "empty") == ALL_DTYPES


def test_a_killed_fuzz_run_keeps_each_finding_it_printed(monkeypatch, tmp_path):
    """Each finding is printed, flushed, and appended to OUT/findings.jsonl (the default
    file) before the search goes on, so a run killed later keeps it; the third finding's
    spec is numbered -3. The search is told the seed (0 by default), the activations and
    losses (all, or the one given) and the --xfails files' entries, then those the implementation
    ships, after its first line is flushed."""
    import io
    import json
    import sys
    import harness.fuzz as fuzz
    from harness.cli import main
    from harness.fuzz_search import Campaign, Finding
    from harness.judge import Verdict
    from harness.xfails import read_xfails
    from impls.reference import ACTIVATIONS, LOSSES

    class Stdout(io.StringIO):
        flushed = ""

        def flush(self):
            self.flushed = self.getvalue()

    spec = random_spec((2, 1), "elu")
    findings = [Finding(spec, Verdict(spec.name, spec.dtype, "exact", "reference", "fail",
                                      message=f"wrong {q}"), spec, ("exact", "-", "mse", q))
                for q in ("v", "h", "loss")]
    kept, known, asked = [], [], []
    records = tmp_path / "findings.jsonl"

    def search(impl, baseline, examples, seed, dtypes, limit, **kw):
        known.extend(kw["known"])
        asked.append((seed, kw["activations"], kw["losses"], sys.stdout.flushed))
        for finding in findings:
            kw["on_finding"](finding)
            kept.append((sys.stdout.flushed.splitlines()[-1],
                         len(records.read_text().splitlines())))
        return Campaign(findings=findings, drawn=3, compared=3)

    ledger = tmp_path / "ledger.txt"
    ledger.write_text("fuzz-elu-* the first entry\nfuzz-* the second\n")
    own = tmp_path / "own.txt"  # the list an implementation ships
    own.write_text("fuzz-tanh-* its own\n")
    exact = SimpleNamespace(name="exact", impl=SimpleNamespace(xfails=str(own)))
    monkeypatch.setattr(fuzz, "choose_impls", lambda names, baseline: [exact])
    monkeypatch.setattr(fuzz, "find_failures", search)
    monkeypatch.setattr(sys, "stdout", Stdout())
    assert main(["fuzz", "--impl", "exact", "--out", str(tmp_path), "--xfails", str(ledger)]) == 1
    numbered = [tmp_path / f"minimal-exact-vs-reference{s}.json" for s in ("", "-2", "-3")]
    lines = [json.loads(line) for line in records.read_text().splitlines()]
    assert [r["spec"] for r in lines] == [str(p) for p in numbered]
    assert all(p.exists() for p in numbered)
    assert kept == [(f"    reproduce: {r['reproduce']}", n) for n, r in enumerate(lines, 1)]
    assert [(x.pattern, x.reason) for x in known] == \
        [(x.pattern, x.reason) for x in read_xfails(ledger) + read_xfails(own)] == \
        [("fuzz-elu-*", "the first entry"), ("fuzz-*", "the second"), ("fuzz-tanh-*", "its own")]
    assert sys.stdout.getvalue().endswith(f"findings: {records}\n")
    searching = "exact: searching 100 random networks (float64, float32, bfloat16, float16)\n"
    assert asked == [(0, ACTIVATIONS, LOSSES, searching)]  # the seed's default, all of each
    assert main(["fuzz", "--impl", "exact", "--out", str(tmp_path), "--seed", "7", "--loss",
                 "l1", "--activation", "relu", "--dtype", "float16"]) == 1
    assert asked[1][:3] == (7, ["relu"], ["l1"])
    assert asked[1][3].endswith("exact: searching 100 random networks (float16)\n")
