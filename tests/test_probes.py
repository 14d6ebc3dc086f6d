"""The probes by hand (harness/probes.py): each one-neuron spec, traced by the reference,
gives the very number the exact oracle gives for the function it isolates, at the input the
implementation met; and the inputs are the implementation's own (its d, u, x, v, and its
parameters at that step), checked against the trace by the chain rule."""

import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import needs, random_spec
from harness.compare import TensorDiff, expected_shape
from harness.probes import (MAX_SAMPLES, WIDE, _implied_t, _params_at, _t_targets, _upstream,
                            grown, probes_for)
from harness.rootcause import _reproduces, run_probes
from harness.runner import run_one

pytestmark = needs("exact")


def _tensor(spec, quantity, step, layer, index, mismatches=()):
    shape = expected_shape(spec, quantity, layer)
    return TensorDiff(step, layer, quantity, shape, 0.0, 0.0, 0.0, 0.0, 0.0, tuple(index),
                      0.0, 0.0, 0.0, 1, mismatches=[{"index": list(m)} for m in mismatches])


SPEC = dict(sizes=(3, 4, 2), activation=["tanh", "sigmoid"], batch=2, steps=2,
            reduction="mean", seed=3)
WHERE = [("d", 1, 0, (1, 2)), ("h", 1, 1, (0, 1)), ("outputs", 0, None, (1, 0)),
         ("v", 1, 1, (1, 1)), ("v", 0, 0, (0, 3)), ("loss", 1, None, ()),
         ("grad_weights", 1, 0, (2, 1)), ("grad_bias", 0, 1, (1,)),
         ("weights", None, 0, (3, 2)), ("bias", None, 1, (0,))]


def _exact(p, own):
    from harness.probes import mpmath_and_exact
    mp, _ = mpmath_and_exact()
    with mp.workdps(60):
        return float((p.exact(own.trace) if p.part == "update" else p.exact)())


@pytest.mark.parametrize("loss", ["squared_error", "binary_cross_entropy"])
def test_every_probe_of_a_correct_implementation_gives_the_exact_value(loss):
    spec = random_spec(**SPEC, loss=loss)
    trace = run_one("reference", spec).trace
    probes = [p for q, step, layer, index in WHERE
              for p in probes_for(0, spec, trace, _tensor(spec, q, step, layer, index))]
    results = run_probes("reference", probes)
    assert len(results) == len(probes)
    for p in probes:
        truth, own = results[id(p)]
        assert truth.impl == "exact" and truth.status == own.status == "ok"
        assert p.value(own.trace) == pytest.approx(_exact(p, own), rel=1e-12, abs=1e-300), \
            (p.function, p.part, p.target)
        assert not _reproduces(p, truth, own, None), (p.function, p.part)
    # tanh's t under its upstream (te = u - y) and, where that is below u / CANCELS (0.0154
    # against u = 0.998 under squared_error; 0.140 under BCE), under te = 1 too
    u, up = float(trace.steps[0].layers[0].h[0, 3]), _upstream(spec, trace, 0, 0, 0, 3)
    ups = [up, 1.0] if loss == "squared_error" else [up]
    assert [u - p.doc["targets"][0][0] for p in probes if p.function == "tanh"] == \
        pytest.approx(ups * 2, rel=1e-12)
    parts = [(p.function, p.part, p.target, p.width) for p in probes]
    last = spec.layers[-1].activation
    assert parts == [
        ("layer", "product", (0, "d", 0), 1),
        ("sigmoid", "f", (0, "h", 0), 1), ("sigmoid", "f", (0, "h", 0), WIDE),
        ("sigmoid", "f", (0, "h", 0), 1), ("sigmoid", "f", (0, "h", 0), WIDE),
        (loss, "te", (0, "v", 0), 1),
        (last, "t", (0, "v", 0), 1), (last, "t", (0, "v", 0), WIDE),
        *[("tanh", "t", (0, "v", 0), 1)] * len(ups), *[("tanh", "t", (0, "v", 0), WIDE)] * len(ups),
        (loss, "fe", (0, "loss", None), 1), (loss, "fe", (0, "loss", None), 1),
        ("layer", "gradient", (0, "grad_weights", 0), 1),
        ("layer", "gradient", (0, "grad_bias", 0), 1),
        ("layer", "update", (None, "weights", 0), 1), ("layer", "update", (None, "bias", 0), 1)]
    # each probe's spec, the reproducer a report gives, is named for what it isolates
    assert [p.doc["name"] for p in probes] == [f"rootcause-{f}-{part}" for f, part, _, _ in parts]
    assert {p.doc["description"] for p in probes} == \
        {"one-neuron probe written by harness/rootcause.py"}


def test_the_probes_inputs_are_the_implementations_own():
    """d at step 1 is x W^T + b with W and b already updated once (the trace's own d); the
    activation probes sit at the trace's d; the upstream gradient times t is the trace's v
    (the chain rule, with te / batch for the mean); the gradient probe takes the sample with
    the largest term; the update probe's p - r g is the trace's final parameter."""
    from impls.exact import activations as exact_activations
    spec = random_spec(**SPEC)
    trace = run_one("reference", spec).trace
    st = trace.steps[1]
    product, = probes_for(0, spec, trace, _tensor(spec, "d", 1, 0, (1, 2)))
    assert product.at == pytest.approx(float(st.layers[0].d[1, 2]), rel=1e-14)
    assert product.inputs["x"] == spec.inputs[1].tolist()
    assert product.inputs["b"] != spec.layers[0].bias[2]  # updated by step 0
    # W and b after one step p - r g (float64: no rounding to the dtype), and the product's
    # operands (a subnormal one names the region) are x, that row and b
    g0 = trace.steps[0].layers[0]
    row = spec.layers[0].weights[2] - spec.learning_rate * np.asarray(g0.grad_weights)[2]
    assert product.inputs["w"] == row.tolist()
    assert product.inputs["b"] == spec.layers[0].bias[2] - spec.learning_rate * g0.grad_bias[2]
    assert product.operands == (*product.inputs["x"], *row.tolist(), product.inputs["b"])
    for q, layer, index in (("h", 1, (0, 1)), ("v", 0, (0, 3)), ("v", 1, (1, 1))):
        ps = probes_for(0, spec, trace, _tensor(spec, q, 1, layer, index))
        assert {p.inputs["d"] for p in ps if "d" in p.inputs} == {float(st.layers[layer].d[index])}
        assert {p.width for p in ps if "d" in p.inputs} == {1, WIDE}
    for layer, (s, j) in ((0, (0, 3)), (1, (1, 1)), (0, (1, 0))):
        act = spec.layers[layer].activation
        t = float(exact_activations(0.01)[act][1](float(st.layers[layer].d[s, j])))
        assert _upstream(spec, trace, 1, layer, s, j) * t == \
            pytest.approx(float(st.layers[layer].v[s, j]), rel=1e-12)
    # the gradient of W[i, k] = sum_s v[s, i] x[s, k]: x is the inputs at layer 0, layer 0's
    # h at layer 1
    for layer, (i, k), x in ((0, (2, 1), spec.inputs[:, 1]), (1, (1, 3), st.layers[0].h[:, 3])):
        vi = np.asarray(st.layers[layer].v)[:, i]
        gw, = probes_for(0, spec, trace, _tensor(spec, "grad_weights", 1, layer, (i, k)))
        s = int(np.argmax(np.abs(vi * x)))
        assert gw.inputs == {"v": float(vi[s]), "x": float(x[s])}
        assert gw.operands == (vi[s], x[s])
        assert gw.at == float(vi[s]) * float(x[s])  # v x, rounded once to float64
    v = np.asarray(st.layers[0].v)[:, 2]
    gb, = probes_for(0, spec, trace, _tensor(spec, "grad_bias", 1, 0, (2,)))
    assert gb.inputs == {"v": float(v[np.argmax(np.abs(v))])} and gb.at == gb.inputs["v"]
    for q, layer, index in (("weights", 0, (3, 2)), ("bias", 1, (0,))):
        up, = probes_for(0, spec, trace, _tensor(spec, q, None, layer, index))
        p, r, g = up.inputs["p"], up.inputs["r"], up.inputs["g"]
        assert g == float(np.asarray(getattr(st.layers[layer], f"grad_{q}"))[index])
        assert p - r * g == pytest.approx(float(trace.params[layer][q][index]), rel=1e-14)
        assert r == spec.learning_rate and up.at == p
    loss = probes_for(0, spec, trace, _tensor(spec, "loss", 1, None, ()))
    assert len(loss) == min(spec.batch, MAX_SAMPLES)
    assert [p.inputs["u"] for p in loss] == np.asarray(st.outputs).tolist()
    assert [p.inputs["y"] for p in loss] == spec.targets.tolist()


def test_a_loss_probe_sits_at_the_outputs_own_u_and_nearest_the_trouble():
    """te at output j is claimed at that output's u; fe at the output nearest an end of
    (0, 1) for binary cross-entropy, else at the largest |u|."""
    spec = random_spec(**SPEC, loss="binary_cross_entropy")
    trace = run_one("reference", spec).trace
    u = np.asarray(trace.steps[0].outputs)
    te = next(p for p in probes_for(0, spec, trace, _tensor(spec, "v", 0, 1, (1, 1)))
              if p.part == "te")
    assert te.at == float(u[1, 1]) and "v = dE/dd" in te.label
    fe = probes_for(0, spec, trace, _tensor(spec, "loss", 0, None, ()))
    near = np.minimum(u, 1 - u)
    assert [p.at for p in fe] == [float(u[s, np.argmin(near[s])]) for s in range(2)]
    assert fe[0].doc["layers"][0]["activation"] == "sigmoid"  # through the output's sigmoid
    assert [p.doc["inputs"][0] for p in fe] == np.asarray(trace.steps[0].layers[1].d).tolist()
    se = random_spec(**SPEC)
    tr = run_one("reference", se).trace
    big = np.abs(np.asarray(tr.steps[0].outputs))
    fe = probes_for(0, se, tr, _tensor(se, "loss", 0, None, ()))
    assert [abs(p.at) for p in fe] == [float(big[s].max()) for s in range(2)]
    assert {p.label for p in fe} == {""}  # the loss itself: its part's name says what it is
    assert fe[0].doc["layers"][0]["activation"] == "identity"
    # the probe's own input: u itself through identity (the last layer's d through sigmoid)
    assert [p.doc["inputs"][0] for p in fe] == np.asarray(tr.steps[0].outputs).tolist()
    te = next(p for p in probes_for(0, se, tr, _tensor(se, "v", 0, 1, (0, 1))) if p.part == "te")
    assert te.label == "squared_error's te = dE/du (the derivative in the output u)"


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_a_grown_probe_repeats_its_sample_and_stays_the_functions_value(reduction):
    """The probes again with the case's batch of 2 under its reduction: each (the update's
    excepted) still gives the exact value of its function through the reference, and is
    the same claim (function, part, inputs, operands, one neuron)."""
    spec = random_spec(**dict(SPEC, reduction=reduction))
    trace = run_one("reference", spec).trace
    probes = [p for q, step, layer, index in WHERE
              for p in probes_for(0, spec, trace, _tensor(spec, q, step, layer, index))
              if p.width == 1]
    big = [g for g in (grown(p, spec) for p in probes) if g is not None]
    assert len(big) == len([p for p in probes if p.part != "update"])
    assert all(g.batch == 2 and len(g.doc["inputs"]) == 2 and g.doc["reduction"] == reduction
               and g.doc["name"].endswith("-batch2") for g in big)
    kept = [p for p in probes if p.part != "update"]
    assert [(g.function, g.part, g.target, g.inputs, g.at, g.operands, g.width, g.label)
            for g in big] == [(p.function, p.part, p.target, p.inputs, p.at, p.operands,
                               1, p.label) for p in kept]
    for g in big:
        truth, own = run_probes("reference", [g])[id(g)]
        assert g.value(own.trace) == pytest.approx(_exact(g, own), rel=1e-12, abs=1e-300), \
            (g.function, g.part, g.target)
    one = random_spec(**dict(SPEC, batch=1))
    assert grown(probes[0], one) is None


def test_groups_are_one_element_per_region_of_the_failing_elements():
    """v of the output layer: elements grouped by (d's region, u's region); a repeat of a
    group is dropped; a layer's arithmetic is one group, the worst element."""
    from harness.probes import groups
    spec = random_spec(**SPEC)
    trace = run_one("reference", spec).trace
    d = np.asarray(trace.steps[0].layers[1].d)
    t = _tensor(spec, "v", 0, 1, (0, 0), mismatches=[(0, 0), (1, 0), (0, 1), (1, 1)])
    got = groups(spec, trace, t)
    from harness.signature import region
    keys = [region(float(d[i]), "float64", part="f") for i in got]
    assert got[0] == (0, 0) and len(set(keys)) == len(keys) <= 4
    assert {region(float(d[i]), "float64", part="f") for i in [(0, 0), (1, 0), (0, 1), (1, 1)]} \
        == set(keys) or len(got) == 4
    w = _tensor(spec, "grad_weights", 0, 0, (1, 1), mismatches=[(0, 0)])
    assert groups(spec, trace, w) == [(1, 1)]


def test_an_update_probe_meets_the_implementations_own_gradient_and_rate():
    """The update probe (x = 1, the parameter p, the other parameter 0, y = p - g) has
    u = p, te = u - y = g, so its own gradient is the g the implementation met; it steps with
    the case's learning rate (0.25 here, not the format's 0.1), and its final parameter is
    p - r g."""
    spec = random_spec(**dict(SPEC, lr=0.25))
    trace = run_one("reference", spec).trace
    for q, layer, index in (("weights", 0, (3, 2)), ("bias", 1, (0,))):
        up, = probes_for(2, spec, trace, _tensor(spec, q, None, layer, index))
        p, g = up.inputs["p"], up.inputs["g"]
        assert up.tensor == 2  # the failing tensor's number, which root_causes() groups by
        assert up.doc["name"] == "rootcause-layer-update" and up.doc["learning_rate"] == 0.25
        own = run_probes("reference", [up])[id(up)][1].trace
        got = own.steps[0].layers[0]
        assert float(got.grad_weights[0, 0] if q == "weights" else got.grad_bias[0]) == \
            pytest.approx(g, rel=1e-14)
        assert up.value(own) == pytest.approx(p - 0.25 * g, rel=1e-14)


def test_the_parameters_at_a_step_are_the_implementations_own_updates_in_its_dtype():
    """p - r g replayed with the trace's own gradients, r = 0.3 and every step rounded to
    float32: after the last of three steps they are the trace's final parameters bit for bit
    (a replay with r in float64, or in float64 throughout, is not), and at step 0 the spec's."""
    spec = random_spec(**dict(SPEC, dtype="float32", steps=3, lr=0.3))
    trace = run_one("reference", spec).trace
    for layer in (0, 1):
        w, b = _params_at(spec, trace, 3, layer)
        assert w.dtype == b.dtype == np.float32
        assert np.array_equal(w, trace.params[layer]["weights"])
        assert np.array_equal(b, trace.params[layer]["bias"])
        w0, b0 = _params_at(spec, trace, 0, layer)
        assert np.array_equal(w0, spec.layers[layer].weights)
        assert np.array_equal(b0, spec.layers[layer].bias)
    w64 = spec.layers[0].weights.astype(np.float64)
    for k in range(3):
        g = np.asarray(trace.steps[k].layers[0].grad_weights, np.float64)
        w64 = w64 - spec.learning_rate * g
    assert not np.array_equal(w64.astype(np.float32), trace.params[0]["weights"])


def test_the_upstream_gradient_of_three_layers_under_a_sum():
    """Under a sum te is not scaled, and a hidden layer's upstream is the next layer's v
    times that layer's weights (at step 1, once updated): dE/dh times t is the trace's own v
    in every layer (the chain rule)."""
    from impls.exact import activations as exact_activations
    spec = random_spec(**dict(SPEC, sizes=(3, 4, 3, 2), activation=["tanh", "sigmoid", "tanh"],
                              reduction="sum"))
    trace = run_one("reference", spec).trace
    st = trace.steps[1]
    for layer in (0, 1, 2):
        act = exact_activations(0.01)[spec.layers[layer].activation][1]
        for s, j in ((0, 1), (1, 0)):
            t = float(act(float(st.layers[layer].d[s, j])))
            assert _upstream(spec, trace, 1, layer, s, j) * t == \
                pytest.approx(float(st.layers[layer].v[s, j]), rel=1e-12)


def test_a_t_probes_targets_by_hand():
    """y = u - upstream rounded to the dtype, then y = u - 1 too where the upstream is below
    |u| / 64 (0.75 / 64 = 0.01171875 is not below); an upstream of 0, inf or NaN gives te = 1;
    a y that overflows the dtype leaves only u - 1; no warning either way."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _t_targets(0.75, 0.25, "float64") == [0.5]
        assert _t_targets(0.75, 0.01171875, "float64") == [0.73828125]
        assert _t_targets(0.75, -0.001, "float64") == [0.751, -0.25]
        assert _t_targets(1.0, 1e-9, "float32") == [1.0, 0.0]  # 1 - 1e-9 rounds to 1
        assert _t_targets(1.0, 1e-9, "float64") == [1.0 - 1e-9, 0.0]
        assert _t_targets(100.0, 1.0, "float64") == [99.0]  # te = 1 is the probe already
        for up in (0.0, float("inf"), float("nan")):
            assert _t_targets(0.75, up, "float64") == [-0.25]
        assert _t_targets(3e38, -1e38, "float32") == [float(np.float32(3e38))]


def _one_neuron(u, v):
    layer = SimpleNamespace(h=np.array([[u]]), v=np.array([[v]]))
    return SimpleNamespace(steps=[SimpleNamespace(layers=[layer])])


def test_the_implied_t_by_hand():
    """t = v / te with te = u - y at the probe's own u; v itself where te = 0; a zero t has
    no sign."""
    assert _implied_t(0.25)(_one_neuron(0.75, 0.125)) == 0.25
    assert _implied_t(0.75)(_one_neuron(0.75, 0.125)) == 0.125
    t = _implied_t(0.25)(_one_neuron(0.75, -0.0))
    assert t == 0.0 and np.copysign(1.0, t) == 1.0


def _groups_case(quantity, layer, step=0):
    """Two layers of 2 x 3 elements, d and u chosen in known regions; the worst element
    (0, 0), then the recorded mismatches in this order."""
    d0 = np.array([[0.5, 5.0, 0.7], [0.8, 0.9, 0.55]])  # [1e-3, 1) but (0, 1): [1, 10)
    d1 = np.array([[0.5, 5.0, 0.7], [-0.5, 0.0, 0.6]])
    u = np.array([[0.2, 0.3, 20.0], [0.1, 2.0, 0.4]])  # (0, 2): u in [10, 100)
    st = SimpleNamespace(layers=[SimpleNamespace(d=d0), SimpleNamespace(d=d1)], outputs=u)
    spec = SimpleNamespace(layers=[None, None], dtype="float64")
    rows = [(1, 2), (0, 2), (0, 1), (1, 0), (1, 1)]
    t = SimpleNamespace(quantity=quantity, step=step, layer=layer, worst_index=(0, 0),
                        mismatches=[{"index": list(r)} for r in rows])
    from harness.probes import groups
    return groups(spec, SimpleNamespace(steps=[st]), t)


def test_groups_by_hand():
    """The output layer's v: a group per (region of d, region of u), at most 4, in the order
    met ((1, 2) repeats (0, 0); (1, 1) would be a fifth); h, the outputs and a hidden v by
    d's region alone ((0, 2) repeats (0, 0) there); a layer's arithmetic, the parameters (no
    step) and the loss are one group, the worst element."""
    assert _groups_case("v", 1) == [(0, 0), (0, 2), (0, 1), (1, 0)]
    for q, layer in (("h", 1), ("outputs", None)):
        assert _groups_case(q, layer) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert _groups_case("v", 0) == _groups_case("h", 0) == [(0, 0), (0, 1)]
    for q in ("d", "grad_weights", "loss"):
        assert _groups_case(q, 1) == [(0, 0)]
    assert _groups_case("v", 1, step=None) == [(0, 0)]


def test_no_probe_of_an_elementwise_quantity_without_an_element():
    """d, h, v and the outputs are probed at one element: with no index (a scalar's) there
    is none to probe."""
    spec = random_spec(**SPEC)
    trace = run_one("reference", spec).trace
    for q, layer in (("d", 0), ("h", 0), ("v", 1), ("outputs", None)):
        t = _tensor(spec, q, 0, layer, (1, 1))
        assert probes_for(0, spec, trace, t, index=()) == []
        assert probes_for(0, spec, trace, t, index=(1,)) == []


def test_a_loss_probes_point_at_chosen_outputs():
    """Outputs u = (0.3, 0.95): binary cross-entropy's fe sits at 0.95 (0.05 from 1, nearer
    its trouble than 0.3 is to 0); squared error's at u = -2 of (0.5, -2) (the largest |u|);
    te at output 0 sits at that output's own u either way."""
    from harness.probes import _loss_probe
    for loss, u, fe_at in (("binary_cross_entropy", [0.3, 0.95], 0.95),
                           ("squared_error", [0.5, -2.0], -2.0)):
        spec = random_spec(sizes=(3, 2), activation="identity", loss=loss, batch=1)
        d = np.log(np.divide(u, np.subtract(1, u))) if loss == "binary_cross_entropy" else u
        layer = SimpleNamespace(d=np.array([d]))
        trace = SimpleNamespace(steps=[SimpleNamespace(layers=[layer], outputs=np.array([u]))])
        assert _loss_probe(0, spec, trace, 0, 0, "fe").at == fe_at
        assert _loss_probe(0, spec, trace, 0, 0, "te", 0).at == u[0]


def test_the_upstream_gradient_at_an_output_by_hand():
    """te of the output layer in float64 from the implementation's float32 u: squared error's
    u - y = 3 - float32(0.1), binary cross-entropy's (u - y) / (u (1 - u)) at u = float32(0.3),
    y = 1 (neither exact in float32); at a saturated output u = 1, y = 0 it is infinite,
    without a warning."""
    spec = random_spec(sizes=(3, 2), activation="identity", dtype="float32", batch=1)
    spec = spec.replace(targets=[[0.1, 0.2]])
    u = np.array([[3.0, 0.5]], dtype=np.float32)
    trace = SimpleNamespace(steps=[SimpleNamespace(outputs=u)])
    y = float(np.float32(0.1))
    assert _upstream(spec, trace, 0, 0, 0, 0) == 3.0 - y != float(np.float32(3.0) - np.float32(y))
    bce = random_spec(sizes=(3, 2), loss="binary_cross_entropy", dtype="float32", batch=1)
    bce = bce.replace(targets=[[0.0, 1.0]])
    u = np.array([[1.0, 0.3]], dtype=np.float32)
    trace = SimpleNamespace(steps=[SimpleNamespace(outputs=u)])
    u1 = float(u[0, 1])
    assert _upstream(bce, trace, 0, 0, 0, 1) == (u1 - 1.0) / (u1 * (1.0 - u1)) != \
        float((u[0, 1] - 1) / (u[0, 1] * (1 - u[0, 1])))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _upstream(bce, trace, 0, 0, 0, 0) == float("inf")


def test_an_activations_probes_keep_its_parameter_and_the_dtypes_targets():
    """celu with alpha = 2 in float32: every f and t probe's layer carries alpha = 2, and a t
    probe's target y = f(d) - upstream is rounded to float32, the number its te = u - y is
    then formed from (f(-0.5) is not a float32 number, so neither is y unrounded)."""
    from harness.spec import spec_from_dict
    spec = spec_from_dict({
        "name": "celu-alpha", "dtype": "float32", "loss": "squared_error", "reduction": "sum",
        "learning_rate": 0.1, "steps": 1, "inputs": [[0.0]], "targets": [[0.1]],
        "layers": [{"weights": [[1.0]], "bias": [-0.5], "activation": "celu", "alpha": 2.0}]})
    trace = run_one("reference", spec).trace
    probes = [p for q in ("h", "v")
              for p in probes_for(0, spec, trace, _tensor(spec, q, 0, 0, (0, 0)))
              if p.function == "celu"]
    assert [(p.part, p.width) for p in probes] == [("f", 1), ("f", WIDE), ("t", 1), ("t", WIDE)]
    assert all(p.doc["layers"][0]["alpha"] == 2.0 for p in probes)
    ys = [p.doc["targets"][0][0] for p in probes if p.part == "t"]
    assert ys[0] == float(np.float32(ys[0])) and abs(ys[0] - 0.1) < 1e-7


def test_probes_are_traced_in_one_call_each_under_its_own_number(plugins):
    """An implementation with trace_many() gets every probe in one call, each spec named
    after its probe and numbered from 1 in the order planned (one call may not hold two
    cases of one name); exact traces each probe too."""
    spec = random_spec(**SPEC, loss="squared_error")
    trace = run_one("reference", spec).trace
    probes = probes_for(0, spec, trace, _tensor(spec, "v", 1, 1, (1, 1)))
    assert len(probes) > 1
    results = run_probes("many", probes)
    names = [f"{p.doc['name']}-{i}" for i, p in enumerate(probes, 1)]
    assert [p.spec.name for p in probes] == names
    assert [results[id(p)][1].case for p in probes] == names
    assert [results[id(p)][0].case for p in probes] == names
    assert {results[id(p)][1].trace.settings["many_calls"][-1][1] for p in probes} == \
        {len(probes)}
