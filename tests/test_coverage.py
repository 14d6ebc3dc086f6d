"""The coverage model: the records' special points, found where hand analysis puts them, and
visited by the default suite (a new activation or loss cannot enter it uncovered)."""

import json
import math

import numpy as np
import pytest

from harness.cli import main
from harness.coverage import STRUCTURES, coverage, gaps, point_values
from harness.spec import spec_from_dict
from harness.suite import default_suite
from impls.reference import ACTIVATIONS, LOSSES, activation, loss
from impls.reference.points import edge, exp_overflow, exp_subnormal


def test_every_special_point_is_visited_by_a_default_case():
    """Every point of every record, exactly and one ulp to either side, in every dtype the
    suite computes the function in; every kind of sample of every loss, both reductions; every
    size relation."""
    rows = coverage(default_suite())
    assert not gaps(rows), gaps(rows)
    named = {(r.kind, r.function) for r in rows}
    assert {("activation", a) for a in ACTIVATIONS if a != "identity"} <= named
    assert {("loss", name) for name in LOSSES} <= named
    assert len([r for r in rows if r.kind == "network"]) == len(STRUCTURES)
    low = {(r.function, r.dtype) for r in rows if r.dtype in ("bfloat16", "float16")}
    assert {("tanh", "bfloat16"), ("gelu", "float16"), ("sigmoid", "float16")} <= low


@pytest.mark.parametrize("dtype, mantissa", [("float64", 53), ("float32", 24)])
def test_edges_found_by_bisection_match_hand_analysis(dtype, mantissa):
    """sigmoid(d) rounds to 1 once e^-d < 2^-mantissa, i.e. d > mantissa ln 2; exp overflows
    at ln(max) and is subnormal below ln(tiny)."""
    dt = np.dtype(dtype)
    edge_of_one = activation("sigmoid").points[-1]
    assert edge_of_one.name.startswith("f rounds to 1")
    assert edge_of_one.where(dt) == pytest.approx(mantissa * math.log(2), abs=1e-5)
    assert exp_overflow(dt) == pytest.approx({"float64": 709.782712893384,
                                               "float32": 88.72283905206835}[dtype])
    assert exp_subnormal(dt) == pytest.approx({"float64": -708.3964185322641,
                                                "float32": -87.33654475055310}[dtype])
    where = edge(lambda d: d * d, lambda h, d: h >= 2, 0, 4)(dt)  # the first d with d^2 >= 2
    assert where * where >= 2 > float(np.nextafter(dt.type(where), dt.type(0))) ** 2


def test_point_values_are_the_point_and_its_neighbours():
    got = point_values(20.0, "float32")
    assert got["at"] == np.float32(20.0)
    assert got["+1 ulp"] - got["at"] == got["at"] - got["-1 ulp"] == np.float32(2.0 ** -19)
    zero = point_values(0.0, "float64")  # 0's neighbours: the smallest normal numbers
    assert zero["+1 ulp"] == -zero["-1 ulp"] == 2.0 ** -1022


def _one_neuron(act: str, d: float, dtype="float64") -> dict:
    return {"name": f"one-{act}", "dtype": dtype, "loss": "squared_error",
            "layers": [{"weights": [[d]], "bias": [0.0], "activation": act}],
            "inputs": [[1.0]], "targets": [[0.0]], "learning_rate": 0.1}


def test_a_case_visits_a_point_by_its_pre_activations_not_its_name():
    """A case with d one ulp above softplus's exp overflow fills that cell and no other of
    that point; a case named like a regions case but elsewhere fills nothing."""
    above = float(point_values(exp_overflow(np.dtype("float64")), "float64")["+1 ulp"])
    specs = [spec_from_dict(_one_neuron("softplus", above)),
             spec_from_dict({**_one_neuron("softplus", 3.0), "name": "regions-softplus-float64"})]
    row = next(r for r in coverage(specs)
               if r.function == "softplus" and r.point == "exp(d) overflows"
               and r.dtype == "float64")
    assert row.cells == {"-1 ulp": [], "at": [], "+1 ulp": ["one-softplus"]}
    assert row.gaps == ["-1 ulp", "at"]


def test_loss_points_classify_samples():
    """Each sample (row) of u and y is of the kinds its targets and outputs make it."""
    f64 = np.dtype("float64")
    y = np.array([[0.0, 1.0, 0.0], [0.25, 0.5, 0.25], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    u = np.array([[0.0, 800.0, 0.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    kinds = {p.name: p.holds(u, y, f64).tolist() for p in loss("softmax_cross_entropy").points}
    assert kinds["one-hot row"] == [True, False, False, False]
    assert kinds["soft row summing to 1"] == [False, True, False, False]
    assert kinds["row summing to more than 1"] == [False, False, True, False]
    assert kinds["all-zero row"] == [False, False, False, True]
    assert kinds["softmax underflows to 0 where y > 0"] == [False, False, False, False]
    u[0, 0], y[0, 0] = -800.0, 0.5
    assert loss("softmax_cross_entropy").points[-1].holds(u, y, f64).tolist()[0]
    bce = {p.name: p for p in loss("binary_cross_entropy").points}
    top, at_top = np.array([[1 - 2.0 ** -53, 0.5]]), bce["1 - u <= eps with y = 0"]
    assert at_top.holds(top, np.array([[0.0, 1.0]]), f64).tolist() == [True]
    assert at_top.holds(top, np.array([[1.0, 0.0]]), f64).tolist() == [False]


def test_the_coverage_command_prints_and_writes_the_table(tmp_path, capsys):
    """One case leaves gaps: exit 1, every empty cell named; coverage.json lists every row."""
    out = tmp_path / "cov"
    assert main(["coverage", "--cases", "regions-softplus-float64", "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "| softplus | torch's threshold (d above 20) | float64 | " \
           "regions-softplus-float64 | regions-softplus-float64 | regions-softplus-float64 |" \
           in printed
    assert "GAP sigmoid f rounds to 1 (h(1 - h) = 0) (float64) at" in printed
    doc = json.loads((out / "coverage.json").read_text())
    assert (out / "coverage.md").read_text().startswith("# Coverage")
    assert len(doc["gaps"]) == printed.count("\nGAP ") + printed.startswith("GAP ")
    row = next(r for r in doc["rows"] if r["function"] == "softplus"
               and r["point"] == "f rounds to d" and r["dtype"] == "float64")
    assert row["cells"]["at"] == ["regions-softplus-float64"]


def test_a_case_of_another_dtype_is_no_visit():
    """d = 20 is the same number in float32 and float64: a float32 case visits float32's
    torch-threshold cell, not float64's."""
    specs = [spec_from_dict(_one_neuron("softplus", 20.0, "float32"))]
    rows = {(r.point, r.dtype): r for r in coverage(specs) if r.function == "softplus"}
    assert rows["torch's threshold (d above 20)", "float32"].cells["at"] == ["one-softplus"]
    assert rows["torch's threshold (d above 20)", "float64"].cells["at"] == []


def test_a_case_of_another_dtype_is_no_visit_of_a_loss_point():
    """y = -1 is a sample of kind "y < 0" in any dtype: a float32 squared-error case fills
    float32's cell of that kind (and of its reduction), and leaves float64's empty."""
    spec = spec_from_dict({**_one_neuron("identity", 1.0, "float32"), "targets": [[-1.0]]})
    rows = {(r.point, r.dtype): r.cells["cases"] for r in coverage([spec])
            if r.function == "squared_error"}
    assert rows["y < 0", "float32"] == ["one-identity"] and rows["y < 0", "float64"] == []
    assert rows["y = 0", "float32"] == []
    red = f"reduction {spec.reduction}"
    assert rows[red, "float32"] == ["one-identity"] and rows[red, "float64"] == []


def test_a_point_reached_only_after_the_first_step_is_visited():
    """relu at d = 0.5 (x = 1, w = 0.5, b = 0, y = 0, r = 1/2): the step moves w to 0.25 and
    b to -0.25, so d is exactly 0 in step 1 only."""
    doc = {**_one_neuron("relu", 0.5), "learning_rate": 0.5, "steps": 2}
    row = next(r for r in coverage([spec_from_dict(doc)])
               if r.function == "relu" and r.dtype == "float64")
    assert row.cells["at"] == ["one-relu"]
    only_first = next(r for r in coverage([spec_from_dict({**doc, "steps": 1})])
                      if r.function == "relu" and r.dtype == "float64")
    assert only_first.cells["at"] == []


@pytest.mark.parametrize("dtype, bits, spacing", [("bfloat16", 8, 2.0 ** -5),
                                                  ("float16", 11, 2.0 ** -7)])
def test_16_bit_edges_are_those_of_f_computed_in_float32_and_rounded_once(dtype, bits, spacing):
    """The engine computes a 16-bit sigmoid in float32 and rounds once: it rounds to 1 where
    1 - s <= 2^-(bits + 1) (a tie rounds to the even 1), i.e. d >= ln(2^(bits + 1) - 1), and
    the edge is the first number of the dtype there. Computed in the 16-bit dtype itself
    (1 + e^-d rounding to 1 first), the edge would be near ln(2^bits), far lower."""
    from impls.reference.dtypes import dtype as np_dtype
    edge_of_one = activation("sigmoid").points[-1].where(np_dtype(dtype))
    bound = math.log(2.0 ** (bits + 1) - 1)
    assert bound <= edge_of_one < bound + spacing
    assert edge_of_one == math.ceil(bound / spacing) * spacing


def test_each_structure_holds_of_exactly_the_specs_that_have_it():
    """The size relations, each checked on specs built to have it or just miss it."""
    from conftest import random_spec
    holds = lambda spec: {st.name for st in STRUCTURES if st.holds(spec)}  # noqa: E731
    # sizes 3-5-4-2, batch 3 (a width): non-square, 3 layers, one step
    assert holds(random_spec(batch=3)) == {"a non-square layer", "3 or more layers"}
    assert holds(random_spec((2, 2), batch=1, steps=3, reduction="mean")) == {
        "batch differs from every width", "batch 1", "a square layer", "3 or more steps",
        "mean over a batch of 1", "mean over a batch that differs from every width"}
    assert holds(random_spec((1, 2, 2), batch=2, steps=2, reduction="mean")) == {
        "a width of 1", "a square layer", "a non-square layer"}
    assert holds(random_spec((4, 1), batch=1, reduction="sum")) == {
        "batch 1", "a width of 1", "a non-square layer"}


def test_gaps_and_cells_in_words():
    from harness.coverage import Row, _cell, markdown
    rows = [Row("activation", "elu", "0 (a branch on the sign)", "float64",
                {"-1 ulp": [], "at": ["a", "b", "c", "d"], "+1 ulp": ["a"]}),
            Row("loss", "mse", "y < 0", "float32", {"cases": []}),
            Row("network", "network", "a | b", "any", {"cases": ["a", "b"]})]
    assert rows[0].gaps == ["-1 ulp"] and rows[2].gaps == []
    assert gaps(rows) == ["elu 0 (a branch on the sign) (float64) -1 ulp",
                          "mse y < 0 (float32) cases"]
    assert _cell([]) == "GAP" and _cell(["a", "b"]) == "a, b" and _cell(["a", "b", "c"]) == "a, b +1"
    assert _cell(["a", "b", "c"], most=1) == "a +2"
    text = markdown(rows)
    assert text.startswith("# Coverage of the input domain by the suite\n\n5 cells, 2 gaps (GAP:")
    assert "(coverage.json lists them all).\n\n## Activations: pre-activations d, exactly and " \
           "one ulp to either side\n\n| function" in text and text.endswith("| a, b |\n")
    assert "| function | point | dtype | -1 ulp | at | +1 ulp |\n|---|---|---|---|---|---|\n" \
           "| elu | 0 (a branch on the sign) | float64 | GAP | a, b +2 | a |\n" in text
    assert "## Losses: kinds of sample (u, y), and the reductions\n\n| function | point | dtype " \
           "| cases |\n|---|---|---|---|\n| mse | y < 0 | float32 | GAP |\n" in text
    assert "| network | a &#124; b | any | a, b |\n" in text
    assert text.index("## Activations") < text.index("## Losses") < text.index("## Network")


def test_run_coverage_with_no_gap_exits_0(tmp_path, capsys, monkeypatch):
    from harness import coverage as cov
    rows = [cov.Row(kind, "f", "p", "float64", {"cases": ["c"]})
            for kind in ("activation", "loss", "network")]
    monkeypatch.setattr(cov, "coverage", lambda specs: rows)
    assert cov.run_coverage([], tmp_path / "out") == 0
    printed = capsys.readouterr().out
    assert "\nGAP " not in printed and "0 gaps" in printed and f"report: {tmp_path / 'out' / 'coverage.md'}" in printed
    doc = json.loads((tmp_path / "out" / "coverage.json").read_text())
    assert doc == {"gaps": [], "rows": [{"kind": k, "function": "f", "point": "p",
                                         "dtype": "float64", "cells": {"cases": ["c"]}}
                                        for k in ("activation", "loss", "network")]}


def test_a_16_bit_activation_row_exists_only_where_a_case_computes_it():
    """float64 and float32 rows for every activation; a bfloat16 row only for the
    activation a bfloat16 case uses, whose d = 0 is visited, and its neighbours, the smallest
    normal bfloat16 numbers, are not."""
    spec = spec_from_dict(_one_neuron("tanh", 0.0, "bfloat16"))
    rows = coverage([spec])
    low = {(r.function, r.point) for r in rows if r.dtype == "bfloat16"}
    assert low and {f for f, _ in low} == {"tanh"}
    zero = next(r for r in rows if r.function == "tanh" and r.dtype == "bfloat16"
                and r.point.startswith("0 "))
    assert zero.cells == {"-1 ulp": [], "at": ["one-tanh"], "+1 ulp": []}
    assert {(r.function, r.dtype) for r in rows if r.kind == "activation"} >= \
        {(a, d) for a in ACTIVATIONS if activation(a).points for d in ("float64", "float32")}


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_keys_order_a_dtypes_numbers_as_the_reals(dtype):
    """Consecutive numbers have consecutive keys on both sides of 0 (+0 and -0 both key 0),
    and a key gives its number back."""
    from impls.reference.points import _key, _value
    dt = np.dtype(dtype)
    assert _key(0.0, dt) == _key(-0.0, dt) == 0
    tiny = float(np.nextafter(dt.type(0), dt.type(1)))  # the smallest subnormal
    assert _key(tiny, dt) == 1 and _key(-tiny, dt) == -1
    for x in (1.0, -1.0, 2.5, -1e-3, -float(np.finfo(dt).max)):
        x = float(dt.type(x))
        up = float(np.nextafter(dt.type(x), dt.type(np.inf)))
        assert _key(up, dt) == _key(x, dt) + 1
        assert float(_value(_key(x, dt), dt)) == x and _value(_key(x, dt), dt).dtype == dt
    assert _key(1.0, dt) == {"float64": 0x3FF0000000000000, "float32": 0x3F800000,
                             "float16": 0x3C00}[dtype]


def test_an_edge_below_zero_and_no_edge_at_all():
    """The first d in [-4, 0] with d^2 <= 2 is -sqrt(2) rounded toward 0; a test that already
    holds at lo, or does not hold at hi, has no edge there."""
    dt = np.dtype("float64")
    where = edge(lambda d: d * d, lambda h, d: h <= 2, -4, 0)(dt)
    assert where * where <= 2 < float(np.nextafter(where, -np.inf)) ** 2
    assert where == -math.sqrt(2) or where == float(np.nextafter(-math.sqrt(2), 0))
    with pytest.raises(ValueError, match="no edge .* in \\[-4, 0\\] for float32"):
        edge(lambda d: d * d, lambda h, d: h <= 20, -4, 0)(np.dtype("float32"))
    with pytest.raises(ValueError, match="no edge"):
        edge(lambda d: d * d, lambda h, d: h < 0, -4, 0)(dt)
    assert edge(lambda d: d, lambda h, d: h >= 1, 0, 4)(dt) == 1.0  # the edge itself, exactly


def test_a_16_bit_edge_computes_f_in_float32_and_the_key_0_is_plus_zero():
    """f(d) = (d + 1) - 1 > 0 in float16: computed in float32 (the engine's way), 1 + 2^-24
    is a tie that rounds to 1, and 1 + 2^-23 is exact, so the edge is float16's second
    subnormal 2^-23 (in float16 itself it would be past 2^-11; in float64, 2^-24); f's value is
    then rounded to float16 once. Key 0 is
    +0.0: -0.0 has no key of its own."""
    from impls.reference.points import _value
    where = edge(lambda d: (d + 1) - 1, lambda h, d: h > 0, 0, 1)(np.dtype("float16"))
    assert where == 2.0 ** -23
    # and rounded to float16 once: 1 + d > 1 there only past 1 + 2^-11, a tie that rounds to 1
    rounded = edge(lambda d: d + 1, lambda h, d: h > 1, 0, 1)(np.dtype("float16"))
    assert rounded == 2.0 ** -11 + 2.0 ** -21  # the float16 number after 2^-11
    for dtype in ("float64", "float32", "float16"):
        assert math.copysign(1.0, float(_value(0, np.dtype(dtype)))) == 1.0


def test_the_report_is_written_into_new_folders_and_over_the_last_one(tmp_path):
    """write_coverage() makes every missing folder of out, and a second report replaces the
    first (coverage --out is a fixed folder, written again on every run)."""
    from harness.coverage import Row, write_coverage
    out = tmp_path / "reports" / "coverage"
    for case in ("a", "b"):
        write_coverage([Row(kind, "f", "p", "float64", {"cases": [case]})
                        for kind in ("activation", "loss", "network")], out)
    doc = json.loads((out / "coverage.json").read_text())
    assert [r["cells"] for r in doc["rows"]] == [{"cases": ["b"]}] * 3
    assert "| f | p | float64 | b |" in (out / "coverage.md").read_text()


def test_a_case_whose_loss_overflows_is_traced_without_a_warning():
    """u = 1e200: u^2 overflows to inf in the squared error (the suite holds extremes on
    purpose); tracing it warns nothing, and the case visits what it has: y = 0."""
    import warnings
    spec = spec_from_dict(_one_neuron("identity", 1e200))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = coverage([spec])
    assert next(r for r in rows if r.function == "squared_error" and r.point == "y = 0"
                and r.dtype == "float64").cells == {"cases": ["one-identity"]}


def test_a_case_fills_the_structure_and_loss_rows_it_has():
    """One neuron (sizes 1-1), one sample, y = 0, a mean: of the structures, batch 1, a width
    of 1, a square layer and a mean over a batch of 1 (batch 1 is a width); of squared error's
    rows in float64, y = 0 and the mean. Each a whole row: kind, function, point, dtype."""
    from harness.coverage import Row
    rows = coverage([spec_from_dict({**_one_neuron("identity", 1.0), "reduction": "mean"})])
    visited = {"cases": ["one-identity"]}
    assert [r for r in rows if r.kind == "network"] == [
        Row("network", "network", st.name, "any",
            visited if st.name in ("batch 1", "a width of 1", "a square layer",
                                   "mean over a batch of 1") else {"cases": []})
        for st in STRUCTURES]
    mse = [r for r in rows if r.kind == "loss" and r.function == "squared_error"
           and r.dtype == "float64"]
    assert [r.point for r in mse if r.cells == visited] == ["y = 0", "reduction mean"]
    assert mse[-2:] == [Row("loss", "squared_error", "reduction sum", "float64", {"cases": []}),
                        Row("loss", "squared_error", "reduction mean", "float64", visited)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_an_edge_past_an_overflow_is_found_without_a_warning(dtype):
    """exp(d) is inf from the first number of the dtype above ln(max) (mpmath's); the
    bisection computes exp past it, inf, and warns nothing."""
    import warnings
    import mpmath
    dt = np.dtype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        where = edge(np.exp, lambda h, d: np.isinf(h), 0, 1000)(dt)
    below = float(np.nextafter(dt.type(where), dt.type(0)))
    with mpmath.workdps(40):
        assert below < mpmath.log(mpmath.mpf(float(np.finfo(dt).max))) < where
