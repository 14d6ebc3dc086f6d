"""Specs and traces: the JSON contracts, validation messages, the generated form."""

import errno
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import random_spec
from harness.errors import SpecError
from harness.registry import get
from harness.spec import load_spec, load_specs, spec_from_dict, trace_bytes
from harness.suite import SEED_NETWORK
from harness.trace import Trace

MALFORMED = Path(__file__).parent / "malformed"

# Every malformed file under tests/malformed and the one line it must produce (after the path).
EXPECTED = {
    "batch-mismatch.json": "targets: expected 1 rows (the batch size of inputs), got 2",
    "bce-needs-sigmoid.json": "layers[1].activation: binary_cross_entropy needs outputs in "
                              "(0, 1): the last activation must be sigmoid, got relu",
    "bce-negative-target.json": "targets: binary_cross_entropy needs targets in [0, 1]",
    "bce-target-above-1.json": "targets: binary_cross_entropy needs targets in [0, 1]",
    "beyond-float32.json": "inputs: number at [0, 1] is beyond the float32 range",
    "bias-length.json": "layers[0].bias: expected 2 entries (one per row of weights), got 1",
    "bool-for-list.json": "inputs: expected a 2-d array (nested lists), got a boolean",
    "bool-for-number.json": "steps: expected an integer, got a boolean",
    "ce-negative-target.json": "targets: softmax_cross_entropy needs targets >= 0",
    "deeply-nested.json": "JSON nested too deeply",
    "description-not-string.json": "description: expected a string, got an integer",
    "duplicate-key.json": "duplicate key 'learning_rate' in one JSON object",
    "empty-bias.json": "layers[1].bias: empty array",
    "empty-inputs.json": "inputs: empty array",
    "empty-layers.json": "layers: expected at least one layer",
    "empty-name.json": "name: must not be empty",
    "empty.json": "file is empty",
    "float-steps.json": "steps: expected an integer, got a number",
    # float32's largest number itself is in range: the one after it is named
    "float32-max-then-beyond.json": "inputs: number at [0, 1] is beyond the float32 range",
    "generate-bad-init.json": "generate.init: unknown name 'kaiming' (known: xavier, he, "
                              "normal, uniform)",
    "generate-one-size.json": "generate.sizes: expected a list of at least 2 layer widths, "
                              "input first",
    "generate-too-large.json": "generate: too large: 10,001,900,090 numbers (about 74.5 GiB in "
                               "float64) exceed the limit of 50,000,000",
    "generate-unknown-field.json": "generate: unknown field 'seeed' (allowed: activation, alpha, "
                                   "batch, bias_scale, init, input_scale, seed, sizes, slope, "
                                   "weight_scale)",
    "huge-integer.json": "steps: expected an integer, got an integer of 402 digits, beyond the "
                         "float range",
    "infinity-in-array.json": "non-finite number Infinity in JSON",
    "input-width.json": "layers[0].weights: expected 3 columns (the input has 3 features), got 2",
    "layer-missing-weights.json": "layers[0]: missing required field 'weights'",
    "layer-not-object.json": "layers[0]: expected an object, got a list",
    "lr-negative.json": "learning_rate: must be positive, got -0.1",
    "lr-zero.json": "learning_rate: must be positive, got 0",
    "missing-layers.json": "missing required field 'layers'",
    "missing-loss.json": "missing required field 'loss'",
    "name-not-string.json": "name: expected a string, got an integer",
    "nan.json": "non-finite number NaN in JSON",
    "not-json.json": "not valid JSON: Expecting value at line 1 column 26",
    "not-utf8.json": "not UTF-8 text (byte 13)",
    "null-loss.json": "loss: expected a string, got null",
    "overflow-in-array.json": "inputs: non-finite number at [0, 1]",
    "overflow-number.json": "learning_rate: expected a finite number, got inf",
    "ragged-inputs.json": "inputs[1]: ragged array: 1 entry where the other row has 2",
    "ragged-weights.json": "layers[0].weights[1]: ragged array: 1 entry where the other row "
                           "has 2",
    "scalar-weights.json": "layers[0].weights: expected a 2-d array (nested lists), got a number",
    "shapes-dont-chain.json": "layers[1].weights: expected 2 columns (layer 0 has 2 neurons), "
                              "got 3",
    "slope-on-tanh.json": "layers[0].slope: only leaky_relu takes a slope, activation is tanh",
    "specs-not-a-list.json": "specs: expected a list of specs, got an object",
    "steps-absurd.json": "steps: must be between 1 and 10000, got 1000000000",
    "steps-zero.json": "steps: must be between 1 and 10000, got 0",
    "string-for-number.json": "learning_rate: expected a number, got a string",
    "string-in-array.json": "layers[0].weights[0][1]: expected a number, got a string",
    "suite-bad-item.json": "[1]: missing required field 'loss'",
    "suite-empty.json": "suite is empty: expected at least one spec",
    "suite-item-bad-field.json": "[1].steps: must be between 1 and 10000, got 0",
    "suite-object-bad-item.json": "specs[1]: expected an object, got an integer",
    # a spec (it has layers) with a "specs" field is not a suite: the field is unknown
    "suite-object-with-layers.json": "unknown field 'specs' (allowed: description, dtype, "
                                     "generate, inputs, layers, learning_rate, loss, name, "
                                     "reduction, steps, targets, tolerance)",
    "suite-object-with-generate.json": "unknown field 'specs' (allowed: description, dtype, "
                                       "generate, inputs, layers, learning_rate, loss, name, "
                                       "reduction, steps, targets, tolerance)",
    "target-width.json": "targets: expected 2 columns (the last layer has 2 neurons), got 3",
    "targets-not-array.json": "targets: expected a 2-d array (nested lists), got an integer",
    "tolerance-negative.json": "tolerance.forward.rtol: must be >= 0, got -1.0",
    "tolerance-phase-not-object.json": "tolerance.forward: expected an object, got an integer",
    "tolerance-unknown.json": "tolerance: unknown field 'forwards' (allowed: backward, forward)",
    "top-level-null.json": "expected an object, got null",
    "top-level-number.json": "expected an object, got an integer",
    "top-level-string.json": "expected an object, got a string",
    "unknown-activation.json": "layers[0].activation: unknown name 'sigmod' (known: identity, "
                               "sigmoid, tanh, relu, leaky_relu, softplus, elu, silu, gelu, "
                               "gelu_tanh, relu6, selu, celu, log_sigmoid, softsign, mish, "
                               "hard_sigmoid, hard_swish, hard_tanh)",
    "unknown-dtype.json": "dtype: unknown name 'float128' (known: float64, float32, bfloat16, float16)",
    "unknown-field.json": "unknown field 'lerning_rate' (allowed: description, dtype, generate, "
                          "inputs, layers, learning_rate, loss, name, reduction, steps, "
                          "targets, tolerance)",
    "unknown-loss.json": "loss: unknown name 'cross_entropy' (known: squared_error, mse, "
                         "softmax_cross_entropy, binary_cross_entropy, l1, huber, log_cosh, "
                         "kl_divergence, poisson, hinge, bce_with_logits)",
    "unknown-reduction.json": "reduction: unknown name 'avg' (known: sum, mean)",
    "unsafe-name.json": "name: 'cases/one' is not a safe file name (reports write <name>.json): "
                        "use letters, digits, '.', '_', '+' and '-', at most 120 characters, "
                        "not starting with '.'",
    "whitespace.json": "file is empty",
}


def test_the_corpus_and_the_table_agree():
    assert sorted(p.name for p in MALFORMED.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_spec_gets_its_one_line_message(name):
    path = MALFORMED / name
    with pytest.raises(SpecError) as err:
        load_specs(path)
    assert str(err.value) == f"{path}: {EXPECTED[name]}"
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("rows, expected", [
    ([[1, 2, 3, 4], [1, 2, 3], [1, 2, 3]],  # row 0 is the odd one, not row 1
     "layers[1].weights[0]: ragged array: 4 entries where the other rows have 3"),
    ([[1, 2, 3], [1, 2, 3], [1]], "layers[1].weights[2]: ragged array: 1 entry where the "
                                  "other rows have 3"),
    ([[1, 2], [1, 2, 3], [1, 2, 3, 4]],  # no majority: row 0 decides
     "layers[1].weights[1]: ragged array: 3 entries where layers[1].weights[0] has 2"),
    ([[1, 2], [1, 2], [1], [1, 2, 3], [1, 2, 3, 4]],
     "layers[1].weights[2]: ragged array: 1 entry where 2 of the 5 rows have 2"),
])
def test_a_ragged_array_blames_the_row_that_differs_from_the_most(rows, expected):
    doc = json.loads(json.dumps(SEED_NETWORK))
    doc["layers"][1]["weights"] = rows
    with pytest.raises(SpecError) as err:
        spec_from_dict(doc)
    assert str(err.value) == expected


def test_a_single_spec_is_not_a_suite(tmp_path):
    path = tmp_path / "two.json"
    path.write_text(json.dumps([SEED_NETWORK, SEED_NETWORK]))
    with pytest.raises(SpecError, match=r"two\.json: expected one spec, found a suite of 2$"):
        load_spec(path)
    path.write_text(json.dumps({"specs": [SEED_NETWORK]}))
    assert load_spec(path).name == SEED_NETWORK["name"]


def test_paths_that_are_not_spec_files(tmp_path):
    with pytest.raises(SpecError, match=r"missing\.json: no such file$"):
        load_specs(tmp_path / "missing.json")
    with pytest.raises(SpecError, match="is a directory, expected a JSON spec file"):
        load_specs(tmp_path)


def test_minimal_form_of_design_md_loads(seed_spec):
    assert seed_spec.sizes == [2, 2, 2]
    assert seed_spec.reduction == "sum" and seed_spec.steps == 1 and seed_spec.dtype == "float64"
    assert seed_spec.layers[0].weights[0, 1] == 0.20  # weights[j][i]: input i -> neuron j
    with pytest.raises(ValueError):
        seed_spec.inputs[0, 0] = 1.0  # immutable


def test_spec_round_trips_through_its_dict(tmp_path):
    spec = random_spec([3, 4, 2], ["leaky_relu", "identity"], "mse", steps=2, slope=0.2)
    again = spec_from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again.to_dict() == spec.to_dict()
    assert again.layers[0].slope == 0.2
    path = tmp_path / "s.json"
    path.write_text(json.dumps(spec.to_dict()))
    assert load_spec(path).to_dict() == spec.to_dict()


def test_generated_form_is_deterministic_and_pinned():
    a = random_spec([4, 3, 2], "tanh", seed=42, batch=2)
    b = random_spec([4, 3, 2], "tanh", seed=42, batch=2)
    c = random_spec([4, 3, 2], "tanh", seed=43, batch=2)
    assert a.to_dict() == b.to_dict() and a.to_dict() != c.to_dict()
    # numpy's PCG64 stream is platform-independent; a change here changes every suite case
    g = np.random.default_rng(42)
    np.testing.assert_array_equal(a.layers[0].weights,
                                  g.normal(0.0, np.sqrt(2.0 / 7), (3, 4)))
    assert a.layers[0].weights[0, 0] == pytest.approx(0.1628781303, abs=1e-10)


def test_generated_float32_is_the_float64_draw_rounded_once():
    a = random_spec([3, 2], "tanh", seed=5, dtype="float64")
    b = random_spec([3, 2], "tanh", seed=5, dtype="float32")
    assert b.inputs.dtype == np.float32
    np.testing.assert_array_equal(b.inputs, a.inputs.astype(np.float32))


@pytest.mark.parametrize("loss, check", [
    ("softmax_cross_entropy", lambda y: np.all(y.sum(axis=1) == 1) and set(np.unique(y)) <= {0, 1}),
    ("binary_cross_entropy", lambda y: set(np.unique(y)) <= {0, 1}),
])
def test_generated_targets_suit_the_loss(loss, check):
    assert check(random_spec([3, 4], "tanh", loss, seed=1, batch=20).targets)


@pytest.mark.parametrize("loss, targets", [
    ("binary_cross_entropy", [[0.0, 1.0]]), ("softmax_cross_entropy", [[0.0, 0.0]]),
    ("softmax_cross_entropy", [[0.0, 3.5]]), ("mse", [[-2.0, 7.5]])])
def test_targets_at_the_edges_of_their_range_load(loss, targets):
    """The range checks' edges are inside: binary cross-entropy's 0 and 1, softmax
    cross-entropy's 0 (rows need not sum to 1), anything at all for mse."""
    doc = json.loads((MALFORMED / "bce-target-above-1.json").read_text())
    spec = spec_from_dict({**doc, "loss": loss, "targets": targets})
    np.testing.assert_array_equal(spec.targets, targets)


def test_trace_round_trips_and_has_the_design_keys(seed_spec):
    trace = get("reference").impl.trace(seed_spec)
    doc = json.loads(json.dumps(trace.to_dict()))
    assert {"impl", "impl_version", "spec", "dtype", "steps", "params"} <= set(doc)
    assert set(doc["steps"][0]) == {"loss", "outputs", "layers"}
    assert set(doc["steps"][0]["layers"][0]) == {"d", "h", "v", "grad_weights", "grad_bias"}
    again = Trace.from_dict(doc)
    assert again.to_dict() == trace.to_dict()
    assert again.steps[0].layers[1].v.dtype == np.float64


def test_float32_trace_round_trips_exactly():
    spec = random_spec([3, 2], "sigmoid", dtype="float32")
    trace = get("reference").impl.trace(spec)
    again = Trace.from_dict(json.loads(json.dumps(trace.to_dict())))
    np.testing.assert_array_equal(again.steps[0].layers[0].v, trace.steps[0].layers[0].v)
    assert again.steps[0].layers[0].v.dtype == np.float32


def test_the_description_and_the_tolerance_are_kept():
    spec = spec_from_dict(SEED_NETWORK)
    assert spec.description == SEED_NETWORK["description"] != ""
    assert spec.to_dict()["description"] == SEED_NETWORK["description"]
    bare = spec_from_dict({k: v for k, v in SEED_NETWORK.items() if k != "description"})
    assert bare.description == "" and "description" not in bare.to_dict()
    assert bare.tolerance == {} and "tolerance" not in bare.to_dict()
    tol = spec_from_dict({**SEED_NETWORK, "tolerance": {"backward": {"rtol": 1e-6}}}).tolerance
    assert tol == {"backward": {"rtol": 1e-6}}


def test_replace_validates_again():
    spec = spec_from_dict(SEED_NETWORK)
    assert spec.replace(steps=3).steps == 3
    with pytest.raises(SpecError, match="steps: must be between"):
        spec.replace(steps=0)


def test_a_spec_without_a_name_is_named_after_its_file(tmp_path):
    doc = {k: v for k, v in SEED_NETWORK.items() if k != "name"}
    assert spec_from_dict(doc).name == "spec"
    path = tmp_path / "my case+1.json"
    path.write_text(json.dumps(doc))
    assert load_spec(path).name == "my-case+1"


def test_a_file_that_cannot_be_read_is_one_line_naming_it(tmp_path, monkeypatch):
    path = tmp_path / "locked.json"
    path.write_text(json.dumps(SEED_NETWORK))

    def refuse(self):
        raise OSError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(SpecError) as err:
        load_specs(path)
    assert str(err.value) == f"{path}: cannot read: Permission denied"


def test_a_python_value_json_cannot_hold_is_named_by_its_type():
    """spec_from_dict takes any Python document; a type JSON has no name for is named as
    Python names it."""
    with pytest.raises(SpecError) as err:
        spec_from_dict({**SEED_NETWORK, "inputs": ((0.05, 0.1),)})
    assert str(err.value) == "inputs: expected a 2-d array (nested lists), got tuple"


def test_trace_bytes_counts_every_step_by_hand():
    # 2-2-2, 12 parameters; per step 3 arrays (d, h, v) of batch x (2 + 2) and the 12 gradients
    doc = {**SEED_NETWORK, "inputs": [[0.05, 0.1]] * 3, "targets": [[0.01, 0.99]] * 3,
           "steps": 2}
    assert trace_bytes(spec_from_dict(doc)) == 8 * (2 * (3 * 3 * 4 + 12) + 12)  # 864
    assert trace_bytes(spec_from_dict({**doc, "dtype": "float32"})) == 432


def test_a_spec_whose_trace_would_not_fit_is_refused_with_its_size():
    # 10,000 steps of a batch of 2,800: 8 * (10,000 * (3 * 2,800 * 4 + 12) + 12) bytes = 2.5 GiB
    doc = {**SEED_NETWORK, "inputs": [[0.05, 0.1]] * 2800, "targets": [[0.01, 0.99]] * 2800,
           "steps": 10_000}
    with pytest.raises(SpecError) as err:
        spec_from_dict(doc)
    assert str(err.value) == ("too large: a trace would take about 2.5 GiB (limit 2 GiB); use "
                              "fewer steps, samples or neurons")
    assert spec_from_dict({**doc, "steps": 7_000}).steps == 7_000  # 1.75 GiB: under the limit


def test_a_file_name_that_gives_no_case_name_is_refused_naming_the_file(tmp_path):
    doc = {k: v for k, v in SEED_NETWORK.items() if k != "name"}
    path = tmp_path / "%%.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SpecError) as err:
        load_specs(path)
    assert str(err.value) == (f"{path}: no \"name\" field, and the file name '%%' gives no "
                              f"usable case name: add a \"name\"")
