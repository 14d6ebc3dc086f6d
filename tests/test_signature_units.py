"""The claims' arithmetic by hand: region edges, subnormal operands, ulps, symptoms."""

import math
from dataclasses import replace

from harness.signature import RootCause, Signature, describe, extent, region, ulp


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


# ---------------------------------------------------------------- every piece of a claim, by hand

def test_ulp_in_each_format_and_below_the_normal_range():
    """The spacing at x is 2^(e - bits + 1), e = x's exponent (floor(log2 |x|)), never below
    the smallest normal exponent: 0.75 has e = -1; 3 has e = 1; 1e-40 is subnormal in float32
    (e would be -133) and 1e-310 in float64, so their spacing is the subnormal one."""
    assert ulp(0.75, "float64") == 2.0 ** -53
    assert ulp(-3.0, "bfloat16") == 2.0 ** -6 and ulp(3.0, "float16") == 2.0 ** -9
    assert ulp(1.5, "float32") == 2.0 ** -23
    assert ulp(1e-40, "float32") == 2.0 ** -149 and ulp(1e-310, "float64") == 2.0 ** -1074
    assert ulp(0.0, "float16") == 2.0 ** -24 and ulp(0.0, "bfloat16") == 2.0 ** -133
    assert ulp(2.0 ** -14, "float16") == 2.0 ** -24  # the smallest normal: e = emin


def test_region_names_signs_bands_and_specials():
    """The principal input's name by part (u for a loss's fe and te, else d, or the part's own
    name), the sign and band, a subnormal input of the dtype, and a non-finite one."""
    assert region(5e-4, "float64") == "d in (0, 0.001)"
    assert region(-5e-4, "float64") == "d in (-0.001, 0)"
    assert region(0.5, "float64", part="fe") == "u in [0.001, 1)"
    assert region(-0.5, "float64", part="t") == "d in (-1, -0.001]"
    assert region(1.0, "float64") == "d in [1, 10)" and region(-1.0, "float64") == "d in (-10, -1]"
    assert region(100.0, "float64") == "d in [100, 1000)"
    assert region(-1e3, "float64") == "d in (-inf, -1000]"
    assert region(1e300, "float64") == "d in [1000, inf)"
    assert region(2.0, "float64", part="loss") == "loss in [1, 10)"
    assert region(math.inf, "float64") == "d = inf" and region(-math.inf, "float64", part="te") == "u = -inf"
    assert region(math.nan, "float64") == "d = nan"
    assert region(0.0, "float64", part="fe") == "u = 0"
    assert region(1e-40, "float32") == "subnormal d" and region(-1e-40, "float32", part="te") == "subnormal u"
    assert region(1e-40, "float64") == "d in (0, 0.001)"  # normal in float64
    assert region(2.0 ** -126, "float32") == "d in (0, 0.001)"  # the smallest normal is normal
    assert region(2.0 ** -14 / 2, "float16") == "subnormal d"
    for part in ("product", "gradient", "update"):
        assert region(1e-40, "float32", (1.0, 2.0), part=part) == "normal operands"
    assert region(1.0, "float32", (1.0, -1e-40), part="t") == "subnormal operand"
    assert region(1.0, "float32", (2.0 ** -126,), part="gradient") == "normal operands"


def _signature(dtype="float64", region="d in (-100, -10]", symptom="zero", part="t"):
    return Signature("jax", "elu", part, dtype, region, symptom)


def test_a_signature_in_words_and_its_unit_of_counting():
    s = _signature()
    assert str(s) == "jax: elu's t, float64, d in (-100, -10]: zero"
    assert str(Signature("x", "layer", "product", "float32", "normal operands", "NaN")) == \
        "x: a layer's x W^T + b, float32, normal operands: NaN"
    assert s.to_dict() == {"impl": "jax", "function": "elu", "part": "t", "dtype": "float64",
                           "region": "d in (-100, -10]", "symptom": "zero"}
    assert s.cause == ("jax", "elu", "t", "negative")
    assert _signature(region="d in (-0.001, 0)").cause[3] == "negative"  # up to 0: below it
    assert _signature(region="u in (0, 0.001)").cause[3] == "positive"
    assert _signature(region="d in [1000, inf)", dtype="float32").cause == \
        ("jax", "elu", "t", "positive")
    assert _signature(region="d = 0").cause[3] == "d = 0"
    assert _signature(region="subnormal d").cause[3] == "subnormal d"
    assert _signature(region="normal operands").cause[3] == "normal operands"


def test_describe_gives_a_causes_extent_and_its_symptoms_per_dtype():
    sigs = [_signature("float64", "d in (-100, -10]", "zero"),
            _signature("float32", "d in (-1000, -100]", "wrong value"),
            _signature("float32", "d in (-100, -10]", "zero"),
            _signature("float64", "d in (-100, -10]", "zero")]
    assert describe(sigs) == \
        "jax: elu's t, d in (-1000, -10]: zero (float64, float32), wrong value (float32)"
    assert describe([_signature(region="d = 0", symptom="NaN")]) == "jax: elu's t, d = 0: NaN (float64)"


def test_extent_merges_adjacent_bands_only_and_keeps_their_brackets():
    assert extent(["d in [1, 10)", "d in [10, 100)"]) == "d in [1, 100)"
    assert extent(["d in (-10, -1]", "d in (-1, -0.001]", "d in (-0.001, 0)"]) == "d in (-10, 0)"
    assert extent(["d in (0, 0.001)", "d in [0.001, 1)"]) == "d in (0, 1)"
    assert extent(["d in [10, 100)", "d in (0, 0.001)"]) == "d in (0, 0.001) and d in [10, 100)"
    assert extent(["d in [1, 10)", "d in [1, 10)"]) == "d in [1, 10)"
    assert extent(["d = 0", "subnormal d", "d = 0"]) == "d = 0 and subnormal d"
    assert extent(["u in [0.001, 1)", "u = 0"]) == "u in [0.001, 1) and u = 0"


def test_relative_error_and_ulps_of_a_claim():
    """0.5 against exact 0.75: relative error 1/3; 0.25 / 2^-53 = 2^51 ulps of float64, 0.25 /
    2^-24 = 2^22 of float32. Equal values or two NaNs: 0; a non-finite value or an exact 0:
    infinitely far."""
    c = _cause(0.5, 0.75)
    assert c.rel_error == 1 / 3 and c.ulps == 2.0 ** 51
    assert _cause(0.5, 0.75, dtype="float32").ulps == 2.0 ** 22
    assert _cause(-0.5, 0.75).rel_error == 5 / 3
    assert _cause(0.75, 0.75).rel_error == 0.0 and _cause(math.nan, math.nan).rel_error == 0.0
    assert _cause(math.inf, 1.0).rel_error == math.inf and _cause(1e-300, 0.0).rel_error == math.inf
    assert _cause(math.nan, 1.0).ulps == math.inf and _cause(1.0, math.inf).ulps == math.inf
    assert _cause(math.inf, 1.0).ulps == math.inf


def test_symptom_thresholds_and_a_returned_dtype():
    assert _cause(1.4, 1.0).symptom == "lost relative precision"  # relative error 0.4
    assert _cause(1.5, 1.0).symptom == "wrong value"  # 0.5: not below a half
    assert _cause(math.inf, 1.0).symptom == "Inf" and _cause(-math.inf, 1.0).symptom == "Inf"
    assert _cause(math.inf, math.inf).symptom == "lost relative precision"  # exactly right
    assert _cause(0.0, 0.0).symptom == "lost relative precision"
    assert _cause(0.0, -2.0).symptom == "zero"
    demoted = replace(_cause(0.5, 0.5), returned="float32")
    assert demoted.symptom == "returns float32" and demoted.signature.symptom == "returns float32"


def test_a_claims_signature_and_region_come_from_its_fields():
    c = RootCause("jax", "elu", "t", "float32", {"d": -30.0}, -30.0, 0.0, "1e-13", True,
                  "step 0 v[layer 0]", operands=(1e-40,))
    assert c.region == "subnormal operand"
    assert c.signature == Signature("jax", "elu", "t", "float32", "subnormal operand", "zero")
    assert replace(c, operands=()).signature.region == "d in (-100, -10]"


def test_a_claims_text_says_where_it_reproduced():
    c = RootCause("jax", "elu", "t", "float64", {"d": -30.0, "y": [0.5, 1]}, -30.0, 0.5,
                  "0.75", True, "step 0 v[layer 0]")
    tail = "exact 0.75: relative error 0.33, 2.25e+15 ulp (reproduced "
    assert c.text == f"elu's t at d = -30, y = [0.5, 1]: 0.5 (jax), {tail}at one neuron)"
    assert replace(c, width=16).text == f"elu's t at d = -30, y = [0.5, 1]: 0.5 (jax), {tail}" \
        f"at one input on 16 neurons, not on one (a vectorized code path))"
    assert replace(c, batch=3, label="elu's v").text == f"elu's v at d = -30, y = [0.5, 1]: 0.5 " \
        f"(jax), {tail}at one neuron in a batch of 3 identical samples, not of one (the " \
        f"reduction over the batch))"
    assert replace(c, returned="float32").text == \
        "elu's t returns float32 for float64 input (at d = -30, y = [0.5, 1]; reproduced at one neuron)"
    assert replace(c, reproduced=False, note="why not").text == "why not"
    assert replace(c, value=0.1 + 0.2).text.startswith("elu's t at d = -30, y = [0.5, 1]: "
                                                       "0.30000000000000004 (jax)")


def test_a_claim_as_a_dict():
    c = RootCause("jax", "layer", "gradient", "float64", {"v": 0.5, "x": 2.0}, 1.0, 0.5, "1",
                  True, "step 0 grad_weights[layer 0]", spec={"name": "probe"}, width=1)
    doc = c.to_dict()
    assert doc == {"function": "layer", "part": "gradient", "dtype": "float64",
                   "input": {"v": 0.5, "x": 2.0}, "value": 0.5, "exact": "1", "rel_error": 0.5,
                   "ulps": 2.0 ** 51, "reproduced": True,
                   "explains": "step 0 grad_weights[layer 0]",
                   "signature": {"impl": "jax", "function": "layer", "part": "gradient",
                                 "dtype": "float64", "region": "normal operands",
                                 "symptom": "wrong value"},  # 0.5: not below a half
                   "width": 1, "text": c.text, "spec": {"name": "probe"}}
    assert c.text.startswith("a layer's g = v x at v = 0.5, x = 2: 0.5 (jax), exact 1:")


def test_a_layers_parts_and_a_functions_parts_in_words():
    """what(): the layer's arithmetic by its formula (PARTS), a function's part by name."""
    from harness.signature import what
    assert what("layer", "update") == "a layer's p - r g"
    assert what("layer", "gradient") == "a layer's g = v x"
    assert what("layer", "product") == "a layer's x W^T + b"
    assert what("elu", "t") == "elu's t" and what("mse", "te") == "mse's te"


def test_a_nan_claim_against_a_number_is_infinitely_far():
    """A NaN value is no lost precision of a finite exact value: relative error inf (only
    two NaNs are 0 apart)."""
    assert _cause(math.nan, 1.0).rel_error == math.inf
    assert _cause(math.nan, -2.5).rel_error == math.inf
