"""The claims' arithmetic by hand: region edges, subnormal operands, ulps, symptoms."""

import math

from harness.signature import RootCause, region, ulp


def _cause(value, exact, reproduced=True, dtype="float64", at=1.0):
    return RootCause("x", "elu", "t", dtype, {"d": at}, at, value, repr(exact), reproduced,
                     "step 0 v[layer 0]")


def test_region_edges_belong_to_the_band_above():
    """Bands are [lo, hi) above zero and (-hi, -lo] below: 10 is in [10, 100), -10 in
    (-100, -10], 1e-3 in [0.001, 1)."""
    assert region(10.0, "float64") == "d in [10, 100)"
    assert region(-10.0, "float64") == "d in (-100, -10]"
    assert region(1e-3, "float64", part="te") == "u in [0.001, 1)"
    assert region(math.nextafter(10.0, 0), "float64") == "d in [1, 10)"
    assert region(0.0, "float64") == "d = 0"


def test_a_zero_operand_is_not_subnormal():
    tiny = 2.0 ** -1022
    assert region(1.0, "float64", (0.0, 2.0), part="product") == "normal operands"
    assert region(1.0, "float64", (tiny / 4, 2.0), part="product") == "subnormal operand"
    assert region(1.0, "float64", (tiny, 2.0), part="product") == "normal operands"


def test_ulps_are_counted_at_the_exact_value():
    """0 against exact 2^-60: one ulp there is 2^-112, so 2^52 ulps (at the value, 0, the
    subnormal spacing would give 2^1014)."""
    c = _cause(0.0, 2.0 ** -60)
    assert c.ulps == 2.0 ** 52
    assert ulp(2.0 ** -60, "float64") == 2.0 ** -112


def test_symptoms_and_an_unreproduced_claim():
    assert _cause(0.0, 1e-17).symptom == "zero"
    assert _cause(1.0 + 1e-9, 1.0).symptom == "lost relative precision"
    assert _cause(-1.0, 1.0).symptom == "wrong value"
    assert _cause(float("nan"), 1.0).symptom == "NaN"
    assert _cause(0.0, 1e-17, reproduced=False).signature.symptom == "does not reduce"
    assert _cause(0.0, 1e-17).signature.symptom == "zero"
