"""Documented preconditions: a case outside what the framework's manual requires is "not
supported (precondition: ...)", with the manual linked, never a FAIL."""

import numpy as np

from harness.conformance import run_suite
from harness.preconditions import check, violated
from harness.suite import default_suite
from plugins.planted import SoftmaxAssumesDistribution

URL = "https://www.tensorflow.org/api_docs/python/tf/nn/softmax_cross_entropy_with_logits"


class Documented(SoftmaxAssumesDistribution):
    """softmax(u) - y, right for distributions only, as TensorFlow documents."""

    name = "documented-softmax"
    preconditions = ({"loss": "softmax_cross_entropy", "targets": "distribution", "url": URL},)


def test_the_kinds_of_target_by_hand():
    spec = default_suite(pattern="large-logits-softmax_cross_entropy-float64")[0]
    y = np.asarray(spec.targets)
    assert (y.sum(axis=-1) == 0).any()  # the all-zero row TensorFlow's manual rules out
    assert violated(Documented(), spec) == (
        "precondition: softmax_cross_entropy needs each target row is a probability "
        f"distribution (entries >= 0 summing to 1) ({URL})")
    one_hot = default_suite(pattern="loss-softmax_cross_entropy-sum-float64")[0]
    assert np.allclose(np.asarray(one_hot.targets).sum(axis=-1), 1)
    assert violated(Documented(), one_hot) is None
    assert check([{"loss": "mse", "targets": "positive"}]).startswith("precondition {")
    assert check("unit").startswith("preconditions must be a list")


def test_a_case_outside_a_documented_precondition_is_not_supported(tmp_path, monkeypatch):
    """The planted softmax(u) - y fails the all-zero row without a declaration (a bug in a
    framework that promises any targets) and is not supported with one; cases inside it are
    still judged."""
    from conftest import register
    gen = register(tmp_path, monkeypatch, {
        "documented-softmax": "test_preconditions:Documented",
        "bug-softmax-normalized": "planted:SoftmaxAssumesDistribution"})
    next(gen)
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    try:
        specs = default_suite(pattern="large-logits-softmax_cross_entropy-*")
        run = run_suite(specs, ["documented-softmax", "bug-softmax-normalized"])
        by = {(r.impl, r.case): r for r in run.results}
        for spec in specs:
            mine = by[("documented-softmax", spec.name)]
            assert mine.status == "unsupported", mine.message
            assert mine.message.startswith("not supported: precondition: softmax_cross_entropy")
            assert URL in mine.message
        assert any(by[("bug-softmax-normalized", s.name)].status == "fail" for s in specs)
    finally:
        next(gen, None)
