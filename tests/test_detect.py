"""Detection coverage (harness/detect.py): a wrong implementation planted per point and class
of the domain model, and the default suite fails each where it enters, or the cell says why
no suite could."""

import json

import numpy as np
import pytest

from harness.cli import main
from harness.detect import detection, pair_detection, undetected
from harness.plants import bump_activation, delta, trace
from harness.spec import spec_from_dict
from harness.suite import default_suite
from impls.reference import ACTIVATIONS, LOSSES, activation, loss
from impls.reference.domain import (GRADIENT_SPREAD, accumulation_size, fields, output_range,
                                    pair_classes, pairs)
from impls.reference_impl import ReferenceImpl


@pytest.fixture(scope="module")
def cells():
    return detection(default_suite())


def test_every_cell_of_the_default_suite_is_detected_or_explained(cells):
    """Every special point (3 sides, f and t; fe and te), every field class, every class of
    (output activation, loss) pairs and the 16-bit sums: detected at their origin, or
    undetectable with a reason."""
    assert not undetected(cells), [c.label() for c in undetected(cells)]
    kinds = {(c.kind, c.function) for c in cells}
    assert {("activation", a) for a in ACTIVATIONS if activation(a).points} <= kinds
    assert {("loss", name) for name in LOSSES} <= kinds
    assert {("pair class", f"u in {rng} + {name}") for rng, name in pair_classes()} <= kinds
    classes = {(c.function, c.point) for c in cells if c.kind == "field"}
    assert classes == {(f.name, cls.name) for f in fields() for cls in f.classes}
    for c in cells:
        assert (c.status == "detected") == bool(c.detected_by)
        if c.status == "detected":
            assert c.detected_by in c.cases
    expected = {"f": "h", "t": "v", "fe": "loss", "te": "v"}
    assert all(c.quantity == expected[c.part] for c in cells
               if c.kind in ("activation", "loss") and c.detected_by)
    sides = [c for c in cells if c.function == "softplus" and c.point == "exp(d) overflows"
             and c.dtype == "float64"]
    assert sorted((c.side, c.part) for c in sides) == sorted(
        (s, p) for s in ("-1 ulp", "at", "+1 ulp") for p in ("f", "t"))


def test_reasons_are_the_dtype_or_the_tolerance_model(cells):
    """Undetectable cells are so for a stated cause: a value a relative error cannot change in
    the dtype, a tolerance the model grants there, the default, or the format's refusal."""
    causes = ("rounds to the same", "the tolerance allows", "the default", "refuses",
              "usual pair", "same on both sides", "accumulates in its own dtype",
              "grows faster", "within the tolerance of its own output", "weights' resolution")
    for c in cells:
        if c.status == "in principle":
            assert any(cause in c.reason for cause in causes), c.reason
    relu0 = next(c for c in cells if c.function == "relu" and c.part == "f"
                 and c.side == "at" and c.dtype == "float64")
    assert "rounds to the same" in relu0.reason  # relu(0) = 0: no relative error changes it
    bf16 = [c for c in cells if c.kind == "accumulation" and c.dtype == "bfloat16"]
    assert [c.status for c in bf16] == ["detected", "in principle"]
    assert "grows faster" in bf16[1].reason


def test_a_term_summed_with_larger_ones_is_not_detected():
    """The issue's case: binary cross-entropy's -log1p(-u) ~ u at u < eps/2 against y = 0 is
    visited by regions-binary_cross_entropy, but summed with terms of order 10 it is below
    the loss's tolerance; without small-terms-binary_cross_entropy, the cell is a hole."""
    specs = default_suite(pattern="*binary_cross_entropy*-float64")
    alone = {c.label(): c for c in detection(specs)}
    key = "binary_cross_entropy fe u < eps/2 with y = 0 (float64)"
    assert alone[key].detected_by == "small-terms-binary_cross_entropy-float64"
    without = [s for s in specs if not s.name.startswith("small-terms")]
    cell = {c.label(): c for c in detection(without)}[key]
    assert cell.status == "UNDETECTED" and "regions-binary_cross_entropy-float64" in cell.cases


def test_a_plant_changes_the_value_at_the_point_and_nowhere_else():
    """tanh's f bumped at d = 0.5 only: that neuron's h is off by delta, the others equal."""
    spec = spec_from_dict({"name": "two", "loss": "squared_error", "layers": [
        {"weights": [[0.5], [0.25]], "bias": [0.0, 0.0], "activation": "tanh"}],
        "inputs": [[1.0]], "targets": [[0.0, 0.0]], "learning_rate": 0.1})
    planted = trace(spec, bump_activation("tanh", "f", 0.5, delta("float64")))
    right = ReferenceImpl().trace(spec)
    h, h0 = planted.steps[0].layers[0].h[0], right.steps[0].layers[0].h[0]
    assert h[0] == pytest.approx(np.tanh(0.5) * (1 + 2.0 ** -37), rel=1e-15)
    assert h[1] == h0[1] and delta("float64") == 2.0 ** -37 and delta("bfloat16") == 0.5


def test_accumulation_sizes_are_where_a_narrow_sum_first_leaves_the_tolerance():
    """float16: 1 + (n - 1) 2^-11 summed in float16 stays 1 (each 2^-11 a tie that rounds to
    even), in float32 it is exact; the error (n - 1) 2^-11 first exceeds the tolerance
    4 eps sqrt(n + 1) (1 + (n - 1) 2^-11) at n = 72. A gradient's wider tolerance needs a
    longer batch; bfloat16's never; float32 and float64 accumulate in themselves."""
    eps = 2.0 ** -10

    def shows(n):
        return (n - 1) * eps / 2 > 4 * eps * np.sqrt(n + 1) * (1 + (n - 1) * eps / 2)
    assert accumulation_size("float16", 4.0) == 72 and shows(72) and not shows(71)
    assert accumulation_size("float16", 4.0, GRADIENT_SPREAD) > 72
    assert accumulation_size("bfloat16", 4.0, GRADIENT_SPREAD) is None
    assert accumulation_size("float32", 4.0) is None


def test_coverage_detect_exits_1_naming_the_undetected(tmp_path, capsys):
    out = tmp_path / "d"
    assert main(["coverage", "--detect", "--cases", "regions-elu-float64", "--out",
                 str(out)]) == 1
    printed = capsys.readouterr().out
    assert "UNDETECTED slope class = 0 (any)" in printed
    doc = json.loads((out / "detect.json").read_text())
    elu = [c for c in doc if c["function"] == "elu" and c["dtype"] == "float64"
           and c["kind"] == "activation"]
    assert elu and all(c["status"] != "UNDETECTED" for c in elu)
    assert (out / "detect.md").read_text().startswith("# Detection coverage")


def test_the_domain_models_pairs_are_the_ones_the_format_accepts():
    """domain.pairs() against spec validation itself: a one-layer spec of every output
    activation and loss is accepted exactly when the pair is in the model."""
    from harness.errors import HarnessError
    accepted = set()
    for act in ACTIVATIONS:
        for name in LOSSES:
            try:
                fit = loss(name).targets  # a target the loss takes (hinge's: 1)
                y = float(fit.fit(np.array(0.5))) if fit else 0.5
                spec_from_dict({"name": "p", "loss": name, "layers": [
                    {"weights": [[0.5]], "bias": [0.0], "activation": act}],
                    "inputs": [[1.0]], "targets": [[y]], "learning_rate": 0.1})
            except HarnessError:
                continue
            accepted.add((act, name))
    assert accepted == set(pairs())


def test_pairs_are_classed_by_the_range_of_u():
    """The default suite covers pairs by the range of u the output activation produces; the
    records give the ranges (a negative lower bound is one class: elu, gelu, selu, ...)."""
    assert {a: output_range(a) for a in ("identity", "relu", "softplus", "sigmoid",
                                          "hard_sigmoid", "tanh", "softsign", "relu6",
                                          "log_sigmoid", "elu", "selu", "mish")} == {
        "identity": "(-inf, inf)", "relu": "[0, inf)", "softplus": "[0, inf)",
        "sigmoid": "[0, 1]", "hard_sigmoid": "[0, 1]", "tanh": "[-1, 1]",
        "softsign": "[-1, 1]", "relu6": "[0, 6]", "log_sigmoid": "(-inf, 0]",
        "elu": "[-c, inf)", "selu": "[-c, inf)", "mish": "[-c, inf)"}
    classes = pair_classes()
    assert sorted(a for members in classes.values() for a in members) == sorted(
        a for a, _ in pairs())
    assert classes["[0, 1]", "poisson"] == ("sigmoid",)


def test_the_full_matrix_detects_every_pair():
    """--full adds a pair-* case per pair the default suite holds only through its class:
    with it, the plant of every pair but the usual ones is detected at v."""
    specs = default_suite(full=True)
    assert {(s.layers[-1].activation, s.loss) for s in specs} >= {
        p for p in pairs() if p[0] != ("sigmoid" if p[1] == "binary_cross_entropy" else
                                       "softplus" if p[1] == "poisson" else "identity")}
    cells = [c for c in pair_detection(specs) if c.kind == "pair"]
    assert len(cells) == len(pairs())
    assert not undetected(cells), [c.label() for c in undetected(cells)]
    assert all(c.quantity == "v" for c in cells if c.detected_by)
    assert len(default_suite()) < len(default_suite(full=True))
