"""The judge: one frozen verdict per case, with origin, oracle side and known deviations."""

import dataclasses

import numpy as np
import pytest

from harness.judge import judge
from harness.runner import Outcome, run_one
from harness.spec import spec_from_dict
from harness.suite import SEED_NETWORK
from harness.xfails import Xfail


@pytest.fixture
def seed():
    spec = spec_from_dict(SEED_NETWORK)
    return spec, run_one("reference", spec)


def _perturbed(outcome: Outcome, factor: float, impl: str = "other") -> Outcome:
    """The outcome with v of layer 0 (and every later copy of it) scaled by factor."""
    trace = outcome.trace
    steps = [dataclasses.replace(s, layers=list(s.layers)) for s in trace.steps]
    layer = steps[0].layers[0]
    steps[0].layers[0] = dataclasses.replace(layer, v=layer.v * factor)
    return dataclasses.replace(outcome, impl=impl, trace=dataclasses.replace(trace, steps=steps))


def test_a_pass_is_frozen_and_has_every_tensor(seed):
    spec, base = seed
    v = judge(spec, base, dataclasses.replace(base, impl="other"))
    assert v.status == "pass" and v.ok and v.origin is None and len(v.tensors) == 2 * 2 + 2 \
        + 3 * 2 + 2 * 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.status = "fail"


def test_a_failure_names_its_origin_and_the_oracle_side(seed):
    spec, base = seed
    other = _perturbed(base, 1 + 1e-9)
    exact = Outcome("exact", spec.name, "ok", trace=base.trace)
    v = judge(spec, base, other, oracles={"exact": exact})
    assert v.status == "fail" and v.origin.label == "step 0 v[layer 0]"
    assert v.consequences == 0 and v.closer == "reference (closer to exact)"
    assert "|diff|" in v.message and "> tol" in v.message


def test_nan_where_the_baseline_has_numbers_is_an_error(seed):
    spec, base = seed
    v = judge(spec, base, _perturbed(base, np.nan))
    assert v.status == "error" and "returned NaN or Inf" in v.message


def test_known_deviations_are_applied_by_the_judge(seed):
    """An entry that covers the failing group makes the verdict xfail and records itself;
    one for another group leaves the failure standing."""
    spec, base = seed
    other = _perturbed(base, 2.0)
    covering = Xfail(f"{spec.name}-v", "planted", "list:1")
    elsewhere = Xfail(f"{spec.name}-grad_bias", "planted", "list:2")
    assert judge(spec, base, other, known=[elsewhere]).status == "fail"
    v = judge(spec, base, other, known=[elsewhere, covering])
    assert v.status == "xfail" and v.ok and v.known_by == (covering,)
    assert v.known == "planted (list:1)" and v.origin.quantity == "v"


def test_an_implementation_that_failed_gets_its_message_and_no_ledger_covers_it(seed):
    """A ledger covers values only: a crash stays an error whatever entry names the case."""
    spec, base = seed
    failed = Outcome("other", spec.name, "error", message="raised RuntimeError: x")
    v = judge(spec, base, failed)
    assert v.status == "error" and v.message == "failed: raised RuntimeError: x"
    assert judge(spec, base, failed, known=[Xfail("seed*", "r", "s:1")]).status == "error"


def test_a_difference_at_a_kink_is_a_convention(plugins):
    """relu'(0) = 1 against the spec's relu'(0) = 0: blamed on neither side, with the reason."""
    from harness.conformance import run_suite
    from harness.suite import default_suite
    run = run_suite(default_suite(pattern="kinks-relu-float64"), ["bug-relu-kink"])
    verdict = run.results[0]
    assert verdict.status == "fail" and verdict.origin.quantity == "v"
    assert verdict.blame == "convention" and "relu'(0) = 0" in verdict.blame_reason


def test_without_an_oracle_the_blame_is_undecided_and_says_why(seed):
    spec, base = seed
    v = judge(spec, base, _perturbed(base, 2.0))
    assert v.blame == "undecided" and "no oracle ran" in v.blame_reason
    failed = Outcome("exact", spec.name, "unsupported", message="too large")
    v = judge(spec, base, _perturbed(base, 2.0), oracles={"exact": failed})
    assert v.blame == "undecided" and "exact unsupported: too large" in v.blame_reason


def test_a_partly_known_failure_leads_with_its_real_bug(seed):
    """A known deviation covers v; a wrong bias gradient beside it is what the line leads with."""
    import dataclasses as dc
    spec, base = seed
    other = _perturbed(base, 2.0)
    step = other.trace.steps[0]
    layer = step.layers[0]
    step.layers[0] = dc.replace(layer, grad_bias=layer.grad_bias + 1.0)
    v = judge(spec, base, other, known=[Xfail(f"{spec.name}-v", "known", "list:1")])
    assert v.status == "fail" and v.origin.quantity == "v"
    assert v.message.startswith("step 0 grad_bias[layer 0]")
    assert "known deviation" in v.message


def test_a_reason_names_what_is_not_supported():
    from harness.registry import ImplInfo, unsupported_reason
    info = ImplInfo("x", "x:X", impl=object(), supports={"losses": ["mse"]})
    spec = spec_from_dict(SEED_NETWORK)
    assert unsupported_reason(info, spec) == "loss squared_error not supported by x"


def test_a_bug_whose_worst_element_sits_on_a_kink_is_not_a_convention(plugins):
    """bug-sign flips every v of layer 0; its worst element is on leaky_relu's kink, but
    elements off the kink differ too, so the exact oracle blames it."""
    from harness.conformance import run_suite
    from harness.suite import default_suite
    run = run_suite(default_suite(pattern="kinks-leaky_relu-float64"), ["bug-sign", "exact"])
    verdict = next(r for r in run.results if r.impl == "bug-sign")
    assert verdict.blame == "b-wrong", verdict.blame_reason


def test_the_blame_names_the_side_out_of_tolerance_of_the_oracle(seed):
    """v of layer 0 scaled by 2 in `other`: an oracle that agrees with the baseline blames
    other; one that agrees with other blames the baseline; one off from both blames both."""
    spec, base = seed
    other = _perturbed(base, 2.0)
    for oracle, blame, who, sides in [
            (base, "b-wrong", "other wrong", ("within", "out of")),
            (other, "a-wrong", "reference wrong", ("out of", "within")),
            (_perturbed(base, 3.0), "both-wrong", "both wrong", ("out of", "out of"))]:
        exact = dataclasses.replace(oracle, impl="exact")
        v = judge(spec, base, other, oracles={"exact": exact})
        assert (v.blame, v.who) == (blame, who)
        assert v.blame_reason == (f"at step 0 v[layer 0]: reference {sides[0]} tolerance of "
                                  f"exact, other {sides[1]} tolerance of exact")


def test_an_oracle_on_one_side_is_right_by_definition(seed):
    spec, base = seed
    exact = dataclasses.replace(base, impl="exact")
    v = judge(spec, exact, _perturbed(base, 2.0))
    assert (v.blame, v.who, v.blame_reason) == ("b-wrong", "other wrong", "exact is the oracle")
    v = judge(spec, base, _perturbed(base, 2.0, impl="exact"))
    assert (v.blame, v.who, v.blame_reason) == ("a-wrong", "reference wrong", "exact is the oracle")


def test_a_declared_accuracy_loosens_the_pair_tolerance(seed):
    """numeric declares rtol 1e-7 and atol 1e-9 forward: a pair with it gets the looser of
    those and the dtype's defaults (32 eps, 32 tiny) in each field; a pair without keeps the
    defaults."""
    from harness.judge import tolerances
    spec, _ = seed
    eps, tiny = np.finfo(float).eps, np.finfo(float).tiny
    with_numeric = tolerances(spec, "reference", "numeric")["forward"]
    assert (with_numeric.rtol, with_numeric.atol) == (1e-7, 1e-9)
    plain = tolerances(spec, "reference", "torch")["forward"]
    assert (plain.rtol, plain.atol) == (32 * eps, 32 * tiny)
    assert tolerances(spec, "numeric", "not-registered")["forward"] == with_numeric


def test_a_failed_baseline_is_named_in_the_message(seed):
    spec, base = seed
    broken = Outcome("reference", spec.name, "error", message="boom")
    v = judge(spec, broken, dataclasses.replace(base, impl="other"))
    assert (v.status, v.message) == ("error", "baseline reference failed: boom")
    v = judge(spec, base, Outcome("other", spec.name, "error", message="boom"))
    assert v.message == "failed: boom"


def test_the_failure_message_names_the_case_and_a_numeric_pair_is_judged_loosely(seed):
    """v of layer 0 off by 1e-9 relative: a failure against torch's name (32 eps), within
    numeric's declared 1e-7 for the pair reference-numeric."""
    spec, base = seed
    v = judge(spec, base, _perturbed(base, 1 + 1e-9, impl="torch"))
    assert v.status == "fail" and v.message.endswith(f"[{spec.name}, float64]")
    assert judge(spec, base, _perturbed(base, 1 + 1e-9, impl="numeric")).status == "pass"


def test_a_pass_where_a_group_entry_expected_a_failure_is_an_xpass(seed):
    spec, base = seed
    entry = Xfail(f"{spec.name}-grad_bias", "planted", "list:2")
    v = judge(spec, base, dataclasses.replace(base, impl="other"), known=[entry])
    assert v.status == "xpass" and v.known_by == (entry,)


@pytest.fixture
def kinks():
    """A relu layer whose d is exactly 0, its kink, at sample 0 neuron 0 and sample 1 neuron 1
    (d = [[0, 2], [2, 0]]), then an identity layer."""
    spec = spec_from_dict({"name": "kinks", "loss": "squared_error", "learning_rate": 0.1,
                           "layers": [{"weights": [[1.0, -1.0], [1.0, 1.0]], "bias": [0.0, 0.0],
                                       "activation": "relu"},
                                      {"weights": [[1.0, 1.0]], "bias": [0.0],
                                       "activation": "identity"}],
                           "inputs": [[1.0, 1.0], [1.0, -1.0]], "targets": [[0.0], [0.0]]})
    base = run_one("reference", spec)
    np.testing.assert_array_equal(base.trace.steps[0].layers[0].d, [[0.0, 2.0], [2.0, 0.0]])
    return spec, base


def _set(outcome: Outcome, quantity: str, *indices) -> Outcome:
    """The outcome as "other" with `quantity` of layer 0 at each index raised by 0.5."""
    trace = outcome.trace
    steps = [dataclasses.replace(s, layers=list(s.layers)) for s in trace.steps]
    layer = steps[0].layers[0]
    values = np.array(getattr(layer, quantity), copy=True)
    for index in indices:
        values[index] += 0.5
    steps[0].layers[0] = dataclasses.replace(layer, **{quantity: values})
    return dataclasses.replace(outcome, impl="other", trace=dataclasses.replace(trace, steps=steps))


RELU_KINK = "relu'(0) = 0: every element out of tolerance has d on the kink (first: neuron {})"


def test_v_differing_only_on_kinks_of_two_neurons_names_the_first(kinks):
    spec, base = kinks
    v = judge(spec, base, _set(base, "v", (0, 0), (1, 1)))
    assert v.origin.label == "step 0 v[layer 0]" and v.origin.n_bad == 2
    assert (v.blame, v.blame_reason) == ("convention", RELU_KINK.format(0))


def test_a_bias_gradient_of_a_neuron_with_a_sample_on_its_kink_is_a_convention(kinks):
    spec, base = kinks
    v = judge(spec, base, _set(base, "grad_bias", (1,)))
    assert v.origin.label == "step 0 grad_bias[layer 0]"
    assert (v.blame, v.blame_reason) == ("convention", RELU_KINK.format(1))


def test_a_forward_difference_on_a_kinks_element_is_not_a_convention(kinks):
    """h is f(d), not a derivative: no convention covers it, even where d is on the kink."""
    spec, base = kinks
    v = judge(spec, base, _set(base, "h", (0, 0)))
    assert v.origin.label == "step 0 h[layer 0]"
    assert v.blame == "undecided" and "no oracle ran" in v.blame_reason


def test_a_runs_tolerance_override_is_applied(seed):
    """v of layer 0 off by 1e-9 relative fails float64's 32 eps; a run's backward rtol of 1e-6
    passes it, and a forward one does not."""
    spec, base = seed
    other = _perturbed(base, 1 + 1e-9)
    assert judge(spec, base, other).status == "fail"
    assert judge(spec, base, other, tolerance={"backward": {"rtol": 1e-6}}).status == "pass"
    assert judge(spec, base, other, tolerance={"forward": {"rtol": 1e-6}}).status == "fail"


def test_a_partly_known_failure_names_both_sides_of_its_real_bug(seed):
    spec, base = seed
    other = _perturbed(base, 2.0)
    layer = other.trace.steps[0].layers[0]
    other.trace.steps[0].layers[0] = dataclasses.replace(layer, grad_bias=layer.grad_bias + 1.0)
    v = judge(spec, base, other, known=[Xfail(f"{spec.name}-v", "known", "list:1")])
    bias = next(t for t in v.tensors if t.label == "step 0 grad_bias[layer 0]")
    assert v.message == (bias.message("other", "reference", spec.name, "float64")
                         + " (earlier, step 0 v[layer 0] is out of tolerance as a known "
                         "deviation)")
    assert " (other) vs " in v.message and " (reference): " in v.message


def test_each_side_is_held_to_the_oracle_with_its_own_declared_accuracy(seed):
    """The baseline's v doubled, numeric's off by 1e-9 relative: numeric (declared rtol 1e-7)
    is within tolerance of exact, the baseline out of it."""
    spec, base = seed
    exact = dataclasses.replace(base, impl="exact")
    v = judge(spec, _perturbed(base, 2.0, impl="reference"),
              _perturbed(base, 1 + 1e-9, impl="numeric"), oracles={"exact": exact})
    assert (v.blame, v.blame_reason) == (
        "a-wrong", "at step 0 v[layer 0]: reference out of tolerance of exact, numeric within "
                   "tolerance of exact")


def test_root_causes_that_signature_entries_name_make_a_failure_known(seed):
    """with_causes: a failure whose every root cause an entry names is "xfail", citing it;
    one cause no entry names leaves it failing; a pass stays a pass, its causes attached."""
    from types import SimpleNamespace
    from harness.judge import with_causes
    spec, base = seed
    named = SimpleNamespace(reproduced=True, function="sigmoid", text="sigmoid's t")
    unnamed = SimpleNamespace(reproduced=True, function="tanh", text="tanh's t")
    entry = Xfail("signature", "planted", "list:3", signature=(("function", "sigmoid"),))
    failed = judge(spec, base, _perturbed(base, 2.0))
    v = with_causes(failed, (named,), [entry])
    assert (v.status, v.known, v.known_by, v.why) == ("xfail", "planted (list:3)", (entry,),
                                                      "sigmoid's t")
    v = with_causes(failed, (named, unnamed), [entry])
    assert (v.status, v.root_causes, v.known_by) == ("fail", (named, unnamed), ())
    passed = judge(spec, base, dataclasses.replace(base, impl="other"))
    v = with_causes(passed, (named,), [entry])
    assert (v.status, v.root_causes, v.known_by) == ("pass", (named,), ())


def test_nan_only_in_the_baseline_is_a_failure_not_an_error(seed):
    """The baseline's v[0, 0] of layer 0 is NaN, the implementation's a number: a mismatch,
    but not the implementation returning NaN where the baseline has numbers."""
    spec, base = seed
    nan_base = _set(base, "v", (0, 0))
    layer = nan_base.trace.steps[0].layers[0]
    layer.v[0, 0] = np.nan
    v = judge(spec, dataclasses.replace(nan_base, impl="reference"),
              dataclasses.replace(base, impl="other"))
    assert v.status == "fail" and v.origin.label == "step 0 v[layer 0]"
    assert not v.message.startswith("returned NaN")


def test_the_first_oracle_that_ran_decides_and_those_that_did_not_are_named(seed):
    """Without exact, numeric decides; with neither having run, both are named, in order."""
    spec, base = seed
    numeric = dataclasses.replace(base, impl="numeric")
    v = judge(spec, base, _perturbed(base, 2.0), oracles={"numeric": numeric})
    assert (v.blame, v.blame_reason) == (
        "b-wrong", "at step 0 v[layer 0]: reference within tolerance of numeric, other out of "
                   "tolerance of numeric")
    v = judge(spec, base, _perturbed(base, 2.0), oracles={
        "exact": Outcome("exact", spec.name, "unsupported", message="too large"),
        "numeric": Outcome("numeric", spec.name, "error", message="boom")})
    assert (v.blame, v.blame_reason) == ("undecided",
                                         "exact unsupported: too large; numeric error: boom")


def test_an_unsupported_side_says_not_supported(seed):
    spec, base = seed
    v = judge(spec, base, Outcome("other", spec.name, "unsupported", message="no sigmoid"))
    assert (v.status, v.message, v.ok) == ("unsupported", "not supported: no sigmoid", True)
    v = judge(spec, Outcome("reference", spec.name, "unsupported", message="no sigmoid"),
              dataclasses.replace(base, impl="other"))
    assert v.message == "baseline reference not supported: no sigmoid"


def test_an_xpass_cites_the_entry_that_expected_the_failure(seed):
    spec, base = seed
    entry = Xfail(spec.name, "planted", "list:2", url="https://example.org/1")
    v = judge(spec, base, dataclasses.replace(base, impl="other"), known=[entry])
    assert (v.status, v.known) == ("xpass", "planted [https://example.org/1]")
    v = judge(spec, base, dataclasses.replace(base, impl="other"), known=[entry], strict=True)
    assert (v.status, v.known) == ("fail", "planted [https://example.org/1]")


# ---- one test per surviving mutant of a full run (docs/mutation.md)

def _two_failures(base: Outcome) -> Outcome:
    """v of layer 0 doubled and its bias gradient raised by 1: two tensors out of tolerance."""
    other = dataclasses.replace(_perturbed(base, 2.0), seconds=1.5)
    layer = other.trace.steps[0].layers[0]
    other.trace.steps[0].layers[0] = dataclasses.replace(layer, grad_bias=layer.grad_bias + 1.0)
    return other


def test_a_failure_keeps_the_seconds_counts_consequences_and_names_both_sides(seed):
    spec, base = seed
    v = judge(spec, base, _two_failures(base))
    assert (v.status, v.seconds, v.consequences, v.closer) == ("fail", 1.5, 1, "")
    assert v.message == v.origin.message("other", "reference", spec.name, "float64")
    assert " (other) vs " in v.message and " (reference): " in v.message


def test_a_baselines_declared_accuracy_loosens_the_pair_too(seed):
    spec, base = seed
    v = judge(spec, dataclasses.replace(base, impl="numeric"), _perturbed(base, 1 + 1e-9))
    assert v.status == "pass"


def test_a_runs_tolerance_override_also_judges_each_side_against_the_oracle(seed):
    """Under backward rtol 1e-6, an oracle off the baseline by 1e-9 relative agrees with it."""
    spec, base = seed
    exact = _perturbed(base, 1 + 1e-9, impl="exact")
    v = judge(spec, base, _perturbed(base, 2.0), oracles={"exact": exact},
              tolerance={"backward": {"rtol": 1e-6}})
    assert (v.blame, v.blame_reason) == (
        "b-wrong", "at step 0 v[layer 0]: reference within tolerance of exact, other out of "
                   "tolerance of exact")


def test_both_sides_within_tolerance_of_the_oracle_is_undecided(seed):
    """The pair differs by 1e-9 relative (over 32 eps); numeric's declared 1e-7 holds both."""
    spec, base = seed
    numeric = dataclasses.replace(base, impl="numeric")
    v = judge(spec, base, _perturbed(base, 1 + 1e-9), oracles={"numeric": numeric})
    assert (v.status, v.blame, v.blame_reason) == (
        "fail", "undecided", "at step 0 v[layer 0]: reference within tolerance of numeric, "
                             "other within tolerance of numeric")


def test_the_pair_tolerance_is_the_specs_dtype_then_the_spec_then_the_run(monkeypatch):
    """float32's defaults; the spec's forward override and the run's backward one both apply;
    a declared accuracy that sets only atol leaves float32's rtol (not float64's) in place."""
    import types
    import harness.judge as judge_module
    from harness.judge import tolerances
    eps, tiny = float(np.finfo(np.float32).eps), float(np.finfo(np.float32).tiny)
    spec = spec_from_dict({**SEED_NETWORK, "dtype": "float32"})
    plain = tolerances(spec, "reference", "torch")
    assert (plain["forward"].rtol, plain["forward"].atol) == (32 * eps, 32 * tiny)
    spec = spec_from_dict({**SEED_NETWORK, "tolerance": {"forward": {"rtol": 1e-5}}})
    both = tolerances(spec, "reference", "torch", {"backward": {"rtol": 1e-6}})
    assert (both["forward"].rtol, both["backward"].rtol) == (1e-5, 1e-6)
    spec = spec_from_dict({**SEED_NETWORK, "dtype": "float32"})
    partial = types.SimpleNamespace(
        impl=types.SimpleNamespace(accuracy={"forward": {"atol": 1e-9}}))
    monkeypatch.setattr(judge_module, "get", lambda name: partial)
    tol = tolerances(spec, "a", "b", {"forward": {"rtol": 1e-20}})["forward"]
    assert (tol.rtol, tol.atol) == (32 * eps, 1e-9)


def test_known_deviations_leave_an_unsupported_case_unsupported(seed):
    spec, base = seed
    v = judge(spec, base, Outcome("other", spec.name, "unsupported", message="no sigmoid"),
              known=[Xfail("seed*", "r", "s:1")])
    assert (v.status, v.known_by) == ("unsupported", ())


def test_an_error_whose_every_root_cause_is_known_is_an_xfail(seed):
    from types import SimpleNamespace
    from harness.judge import with_causes
    spec, base = seed
    error = judge(spec, base, _perturbed(base, np.nan))
    named = SimpleNamespace(reproduced=True, function="sigmoid", text="sigmoid's t")
    entry = Xfail("signature", "planted", "list:3", signature=(("function", "sigmoid"),))
    assert error.status == "error"
    assert with_causes(error, (named,), [entry]).status == "xfail"


def test_an_error_that_no_entry_covers_stays_an_error_with_its_message(seed):
    spec, base = seed
    failed = Outcome("other", spec.name, "error", message="boom")
    v = judge(spec, base, failed, known=[Xfail("another-case", "r", "s:1")])
    assert (v.status, v.message) == ("error", "failed: boom")


def test_a_failure_whose_origin_no_entry_covers_keeps_the_origins_message(seed):
    spec, base = seed
    v = judge(spec, base, _perturbed(base, 2.0),
              known=[Xfail(f"{spec.name}-grad_bias", "planted", "list:2")])
    assert v.status == "fail"
    assert v.message == v.origin.message("other", "reference", spec.name, "float64")


def test_without_an_oracle_the_reason_says_to_add_one(seed):
    spec, base = seed
    v = judge(spec, base, _perturbed(base, 2.0))
    assert v.blame_reason == "no oracle ran (add exact or numeric to the run)"


def test_a_weight_gradient_of_a_neuron_with_a_sample_on_its_kink_is_a_convention(kinks):
    spec, base = kinks
    v = judge(spec, base, _set(base, "grad_weights", (1, 0)))
    assert v.origin.label == "step 0 grad_weights[layer 0]"
    assert (v.blame, v.blame_reason) == ("convention", RELU_KINK.format(1))


def _relu_spec(weights, inputs) -> tuple:
    spec = spec_from_dict({"name": "kinks", "loss": "squared_error", "learning_rate": 0.1,
                           "layers": [{"weights": weights, "bias": [0.0] * len(weights),
                                       "activation": "relu"},
                                      {"weights": [[1.0] * len(weights)], "bias": [0.0],
                                       "activation": "identity"}],
                           "inputs": inputs, "targets": [[0.0]] * len(inputs)})
    return spec, run_one("reference", spec)


def test_v_on_a_kink_names_the_neuron_not_the_sample():
    """d = [[2, 0], [0, 2]]: v off at sample 0, neuron 1 only."""
    spec, base = _relu_spec([[1.0, 1.0], [1.0, -1.0]], [[1.0, 1.0], [1.0, -1.0]])
    np.testing.assert_array_equal(base.trace.steps[0].layers[0].d, [[2.0, 0.0], [0.0, 2.0]])
    v = judge(spec, base, _set(base, "v", (0, 1)))
    assert (v.blame, v.blame_reason) == ("convention", RELU_KINK.format(1))


def test_a_kink_is_not_assumed_for_the_elements_past_the_mismatch_rows():
    """21 elements of v out of tolerance, of which the 20 listed sit on the kink (d = 0) and
    the 21st, not listed, does not (d = 1): not a convention."""
    from harness.compare import MAX_MISMATCH_ROWS
    spec, base = _relu_spec([[1.0]], [[0.0]] * MAX_MISMATCH_ROWS + [[1.0]])
    v = judge(spec, base, _set(base, "v", *[(i, 0) for i in range(MAX_MISMATCH_ROWS + 1)]))
    assert (v.origin.n_bad, len(v.origin.mismatches)) == (MAX_MISMATCH_ROWS + 1, MAX_MISMATCH_ROWS)
    assert (v.blame, v.blame_reason) == ("undecided",
                                         "no oracle ran (add exact or numeric to the run)")


def test_no_oracle_is_named_that_is_one_of_the_two_sides(plugins):
    """exact against a planted baseline, exact the run's only oracle: it is a side, so no
    independent oracle says which is closer; exact is right by definition (a-wrong)."""
    from harness.runner import run_one
    from harness.suite import default_suite
    spec = default_suite(pattern="seed-2-2-2-float64")[0]
    base, ex = run_one("bug-sign", spec), run_one("exact", spec)
    v = judge(spec, base, ex, oracles={"exact": ex})
    assert v.status == "fail" and v.blame == "a-wrong" and v.blame_reason == "exact is the oracle"
    assert v.closer == ""


def test_elements_of_vacuous_tolerance_are_judged_against_exact_traced_once(plugins,
                                                                            monkeypatch):
    """top-BCE's outputs sit an ulp below 1, where the first-order tolerance is vacuous: its 8
    elements there (the loss; v, the gradients and the final parameters of layer 0) are
    judged against exact's trace: a side's own when one side is exact (exact against a
    planted baseline then passes), the run's when it holds one, else traced here once and
    kept in `oracles`; with an exact that failed only the loss is (over u's tolerance box)."""
    from harness import runner
    from harness.suite import default_suite
    spec = default_suite(pattern="top-binary_cross_entropy-mean-float64")[0]
    ref, ex, clip = (run_one(n, spec) for n in ("reference", "exact", "bug-bce-keras-clip"))
    calls = []
    real = runner.run_one
    monkeypatch.setattr(runner, "run_one",
                        lambda name, s, *a: calls.append(name) or real(name, s, *a))
    oracles = {}
    v = judge(spec, ref, clip, oracles=oracles)
    assert (calls, list(oracles), oracles["exact"].status) == (["exact"], ["exact"], "ok")
    assert v.status == "fail" and v.exact_judged == 8
    # Keras's clip at 1 - 1e-7 makes the loss 10.13 (exact's is 22.02)
    assert v.origin.label == "step 0 loss" and v.origin.worst_value == pytest.approx(10.1263,
                                                                                     rel=1e-4)
    calls.clear()
    assert judge(spec, ref, clip, oracles=oracles).exact_judged == 8 and calls == []
    v = judge(spec, ex, clip)
    assert (v.status, v.exact_judged, calls) == ("fail", 8, [])
    v = judge(spec, clip, ex)
    assert (v.status, v.exact_judged, calls) == ("pass", 8, [])
    failed = Outcome("exact", spec.name, "error", message="boom")
    v = judge(spec, ref, clip, oracles={"exact": failed})
    assert (v.status, v.exact_judged, calls) == ("fail", 1, [])
