"""The probes by hand (harness/probes.py): each one-neuron spec, traced by the reference,
gives the very number the exact oracle gives for the function it isolates, at the input the
implementation met; and the inputs are the implementation's own (its d, u, x, v, and its
parameters at that step), checked against the trace by the chain rule."""

import numpy as np
import pytest

from conftest import needs, random_spec
from harness.compare import TensorDiff, expected_shape
from harness.probes import MAX_SAMPLES, WIDE, _upstream, grown, probes_for
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
    for q, layer, index in (("h", 1, (0, 1)), ("v", 0, (0, 3)), ("v", 1, (1, 1))):
        ps = probes_for(0, spec, trace, _tensor(spec, q, 1, layer, index))
        assert {p.inputs["d"] for p in ps if "d" in p.inputs} == {float(st.layers[layer].d[index])}
        assert {p.width for p in ps if "d" in p.inputs} == {1, WIDE}
    for layer, (s, j) in ((0, (0, 3)), (1, (1, 1)), (0, (1, 0))):
        act = spec.layers[layer].activation
        t = float(exact_activations(0.01)[act][1](float(st.layers[layer].d[s, j])))
        assert _upstream(spec, trace, 1, layer, s, j) * t == \
            pytest.approx(float(st.layers[layer].v[s, j]), rel=1e-12)
    v = np.asarray(st.layers[0].v)[:, 2]
    x = spec.inputs[:, 1]
    gw, = probes_for(0, spec, trace, _tensor(spec, "grad_weights", 1, 0, (2, 1)))
    s = int(np.argmax(np.abs(v * x)))
    assert gw.inputs == {"v": float(v[s]), "x": float(x[s])} and gw.operands == (v[s], x[s])
    gb, = probes_for(0, spec, trace, _tensor(spec, "grad_bias", 1, 0, (2,)))
    assert gb.inputs == {"v": float(v[np.argmax(np.abs(v))])}
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
    se = random_spec(**SPEC)
    tr = run_one("reference", se).trace
    big = np.abs(np.asarray(tr.steps[0].outputs))
    fe = probes_for(0, se, tr, _tensor(se, "loss", 0, None, ()))
    assert [abs(p.at) for p in fe] == [float(big[s].max()) for s in range(2)]
    assert fe[0].doc["layers"][0]["activation"] == "identity"
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
