"""Demotion is a finding: an array in another float dtype than the spec's fails the
implementation that returned it, with the function that did, never an ERROR."""

from conftest import needs
from harness.conformance import run_suite
from harness.suite import default_suite


@needs("exact")
def test_a_tanh_that_returns_float32_fails_with_its_root_cause(plugins):
    """Keras 3's ops.tanh returns float32 for float64: FAIL, blamed on the adapter, the
    cause "tanh's f returns float32 for float64 input" reproduced at one neuron; the
    converted values are still judged (float32's rounding fails h too)."""
    run = run_suite(default_suite(pattern="act-tanh-*,regions-tanh-*"), ["bug-tanh-float32"])
    by_case = {r.case: r for r in run.results}
    assert not [r for r in run.results if r.status == "error"]
    r = by_case["act-tanh-float64"]
    assert r.status == "fail" and r.blame == "b-wrong"
    assert r.message.startswith("bug-tanh-float32: step 0 h[layer 0] came back float32 for "
                                "the spec's float64")
    first = r.root_causes[0]
    assert (first.function, first.part, first.returned) == ("tanh", "f", "float32")
    assert first.text.startswith("tanh's f returns float32 for float64 input (at d = ")
    assert first.signature.symptom == "returns float32"
    assert r.origin.label == "step 0 h[layer 0]" and not r.origin.passed
    assert by_case["act-tanh-float32"].status == "pass"  # float32 in float32 is no finding


def test_a_retyped_trace_whose_values_are_right_still_fails():
    """A promotion whose values round back exactly (reference's float32 trace in float64):
    every tensor passes after conversion, the verdict is still the adapter's failure."""
    import copy

    import numpy as np

    from harness.judge import judge
    from harness.runner import Outcome, run_one
    spec = default_suite(pattern="act-tanh-float32")[0]
    base = run_one("reference", spec)
    trace = copy.deepcopy(base.trace)
    trace.steps[0].layers[0].d = trace.steps[0].layers[0].d.astype(np.float64)
    from harness.compare import check_trace
    check_trace(spec, trace)
    other = Outcome("wide", spec.name, "ok", trace=trace)
    v = judge(spec, base, other)
    assert v.status == "fail" and v.blame == "b-wrong"
    assert all(t.passed for t in v.tensors)
    assert v.origin.label == "step 0 d[layer 0]"
    assert "came back float64 for the spec's float32" in v.message
