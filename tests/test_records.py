"""One record per activation and per loss: every name is known to every table that needs it.

The records (impls/reference/activations.py, losses.py) carry the engine's f and t (fe and
te), the tolerance model's rounding terms, and the kinks with their convention; each built-in
adapter maps the names onto its framework in a table of its own. A name missing from a table
fails here unless the adapter declares it unsupported.
"""

import math

import numpy as np
import pytest

from conftest import available, needs
from harness.registry import BUILTINS, get
from harness.spec import spec_from_dict
from harness.tolerance import magnitudes
from impls.reference import ACTIVATIONS, LOSSES, activation, loss


def _torch_tables():
    from impls import torch_autograd
    return torch_autograd.ACTIVATIONS, torch_autograd.LOSSES


def _jax_tables():
    from impls import jax_grad
    return jax_grad.ACTIVATIONS, jax_grad.LOSSES


def _exact_tables():
    from impls import exact
    return exact.activations(0.01), exact.LOSSES


def _module_tables(module: str):
    """The ACTIVATIONS and LOSSES tables of one of the outside-framework adapters."""
    def load():
        import importlib
        adapter = importlib.import_module(f"impls.{module}")
        return adapter.ACTIVATIONS, adapter.LOSSES
    return load


def _adapter_tables():
    """(implementation, activation table, loss table) of each built-in adapter with tables
    of its own; an implementation that is not installed is a skipped parameter."""
    tables = []
    for impl, load in (("torch", _torch_tables), ("jax", _jax_tables), ("exact", _exact_tables),
                       ("autograd", _module_tables("autograd_impl")),
                       ("mygrad", _module_tables("mygrad_impl")),
                       ("tensorflow", _module_tables("tensorflow_impl")),
                       ("tinygrad", _module_tables("tinygrad_impl"))):
        if available(impl):
            tables.append(pytest.param(impl, *load()))
        else:
            tables.append(pytest.param(impl, {}, {}, marks=needs(impl)))
    return tables


def _declared(impl: str, key: str) -> list | None:
    return get(impl).supports.get(key) if get(impl).available else None


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_activation_has_a_whole_record(name):
    """f, t and rounding terms that give finite, non-negative numbers on d of both signs,
    and kinks only with a convention that says what t is there."""
    record = activation(name, 0.1)
    d = np.array([[-3.0, -1e-3, 0.0, 1e-3, 3.0]])
    h = record.f(d)
    t = record.t(d, h)
    assert h.shape == t.shape == d.shape and np.all(np.isfinite(h)) and np.all(np.isfinite(t))
    terms = record.rounding(np, d, h, np.abs(t), 1e-292)
    assert len(terms) == 3
    for term in terms:
        term = np.broadcast_to(term, d.shape)
        assert np.all(np.isfinite(term)) and np.all(term >= 0)
    assert bool(record.kinks) == bool(record.convention)


@pytest.mark.parametrize("name", LOSSES)
def test_every_loss_has_a_whole_record(name):
    record = loss(name)
    u = np.array([[0.2, 0.7], [0.9, 0.4]])
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    fe, te = record.fe(u, y), record.te(u, y)
    assert fe.shape == (2,) and te.shape == (2, 2)
    mfe, mte = record.rounding(np, u, y, np.abs(u), 2.0 ** -52)
    assert mfe.shape == (2,) and mte.shape == (2, 2)
    assert np.all(np.isfinite(mfe)) and np.all(mfe >= 0) and np.all(mte >= 0)
    assert record.formula


@pytest.mark.parametrize("impl, acts, losses", _adapter_tables(), ids=lambda v: str(v)[:10])
def test_every_name_is_in_every_builtin_adapter_table_or_declared_unsupported(impl, acts,
                                                                             losses):
    for names, table, key in ((ACTIVATIONS, acts, "activations"), (LOSSES, losses, "losses")):
        declared = _declared(impl, key)
        missing = [n for n in names if n not in table and (declared is None or n in declared)]
        assert not missing, f"{impl}: no mapping for {missing} and not declared unsupported"
        assert set(table) <= set(names), f"{impl}: maps names no record has"


def test_the_builtin_list_is_the_one_the_registry_serves():
    """BUILTINS is the one list: each name loads from its target, no entry point needed."""
    assert list(BUILTINS) == ["reference", "torch", "jax", "numeric", "exact", "autograd",
                              "mygrad", "tensorflow", "tinygrad", "thinc", "mindspore"]
    for name, target in BUILTINS.items():
        info = get(name)
        assert info.target == target and (info.available or info.reason)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu"])
def test_kinks_make_numeric_decline_a_case_at_the_kink(name):
    """numeric reads the records' kinks: a pre-activation exactly at one is unsupported."""
    from harness.registry import Unsupported
    spec = spec_from_dict({"name": "k", "loss": "squared_error", "layers": [
        {"weights": [[1.0, -1.0]], "bias": [0.0], "activation": name}],
        "inputs": [[0.5, 0.5]], "targets": [[0.25]], "learning_rate": 0.1})
    with pytest.raises(Unsupported, match="kink"):
        get("numeric").impl.trace(spec)


@pytest.mark.parametrize("lookup", [activation, loss])
def test_an_unknown_name_raises(lookup):
    with pytest.raises(ValueError, match="unknown .* 'tensorflow_gelu'"):
        lookup("tensorflow_gelu")


def test_the_tolerance_model_reads_the_records():
    """A record's rounding terms are the ones the tolerance model uses: doubling sigmoid's m_t
    in its record doubles the part of M(v) it feeds."""
    spec = spec_from_dict({"name": "s", "loss": "squared_error", "layers": [
        {"weights": [[40.0]], "bias": [0.0], "activation": "sigmoid"}],
        "inputs": [[1.0]], "targets": [[0.0]], "learning_rate": 0.1})
    trace = get("reference").impl.trace(spec)
    base = magnitudes(spec, trace)[0][("v", 0)]
    import impls.reference.activations as acts
    original = acts._round_sigmoid
    try:
        acts._round_sigmoid = lambda xp, d, h, t, u: tuple(2 * a for a in original(xp, d, h, t, u))
        doubled = magnitudes(spec, trace)[0][("v", 0)]
    finally:
        acts._round_sigmoid = original
    assert doubled[0, 0] > 1.5 * base[0, 0]


def test_an_unknown_loss_names_every_known_one():
    with pytest.raises(ValueError) as err:
        loss("focal")
    assert str(err.value) == ("unknown loss 'focal' (known: squared_error, mse, "
                              "softmax_cross_entropy, binary_cross_entropy, l1, huber, log_cosh, "
                              "kl_divergence, poisson, hinge, bce_with_logits)")


def test_softmax_cross_entropy_rounding_shifts_each_row_by_its_own_max():
    """M(fe) and M(te) by hand with M(u) = 0, each row on its own: row 0 u = (0, ln 3), so
    p = (1/4, 3/4), lse = ln 4 and M(lse) = |m| + |lse - m| + 1 = ln 4 + 1; row 1 u = (10, 0),
    whose max (10, not row 0's) sets M(lse) = 10 + log1p(e^-10) + 1. y = (0, 1) in both:
    M(fe) = M(lse) + |lse| + |u_1|, M(te) = p (M(lse) + 2) + p + y."""
    u = np.array([[0.0, math.log(3.0)], [10.0, 0.0]])
    y = np.array([[0.0, 1.0], [0.0, 1.0]])
    mfe, mte = loss("softmax_cross_entropy").rounding(np, u, y, np.zeros_like(u), 2.0 ** -52)
    tail = math.log1p(math.exp(-10.0))
    mlse = np.array([math.log(4.0) + 1, 10 + tail + 1])
    lse = np.array([math.log(4.0), 10 + tail])
    np.testing.assert_allclose(mfe, mlse + lse + np.abs(u[:, 1]), rtol=1e-14)
    p = np.array([[0.25, 0.75], [1 / (1 + math.exp(-10.0)), 1 / (1 + math.exp(10.0))]])
    np.testing.assert_allclose(mte, p * (mlse[:, None] + 3) + y, rtol=1e-14)


LOG_TINY = math.log(np.finfo(np.float64).smallest_normal)
_RESIDUALS = (  # l1's and huber's: r = u - y of 0, of each sign, of 1 and beyond
    [[0.5, 0.25], [0, 2], [3, -1]], [[0.5, 1], [1, 1], [1, -2]],
    {"u = y (a residual of 0)": [1, 0, 0], "u < y": [1, 1, 0], "u > y": [0, 1, 1]})
_SQUARED_POINTS = (  # three samples: u, y; then each kind and the samples it holds for
    [[0.5, 0.5], [0.0, 0.5], [0.0, 3.0]], [[-1.0, 2.0], [0.0, 1.0], [1e-160, 0.5]],
    {"y < 0": [1, 0, 0], "y = 0": [0, 1, 0], "0 < y < 1": [0, 0, 1], "y = 1": [0, 1, 0],
     "y > 1": [1, 0, 0], "u = y (a residual of 0)": [0, 1, 0],
     "0 < |u - y| < sqrt(tiny) (its square underflows)": [0, 0, 1]})
_POINTS = {
    "squared_error": _SQUARED_POINTS, "mse": _SQUARED_POINTS,
    # softmax's shift is each row's own max: row 2's 1000s leave row 0's gaps at 0. p
    # underflows below a gap of log(tiny) (row 5), not at it (row 6), and not where y = 0 (row 7)
    "softmax_cross_entropy": (
        [[0, 0, 0], [0, 0, 0], [1000, 1000, 1000], [0, 0, 0], [0, 0, 0], [800, 0, 800],
         [0, LOG_TINY, 0], [0, -800, 0]],
        [[0, 1, 0], [0.25, 0.75, 0], [1, 1, 0], [0.5, 0, 0], [0, 0, 0], [0, 1, 0], [0, 1, 0],
         [1, 0, 0]],
        {"one-hot row": [1, 0, 0, 0, 0, 1, 1, 1], "soft row summing to 1": [0, 1, 0, 0, 0, 0, 0, 0],
         "row summing to more than 1": [0, 0, 1, 0, 0, 0, 0, 0],
         "row summing to less than 1, not 0": [0, 0, 0, 1, 0, 0, 0, 0],
         "all-zero row": [0, 0, 0, 0, 1, 0, 0, 0],
         "softmax underflows to 0 where y > 0": [0, 0, 0, 0, 0, 1, 0, 0]}),
    "binary_cross_entropy": (  # 1 - 2^-53 is the float below 1: 1 - u = eps / 2
        [[1e-20, 0.5], [0.5, 1 - 2.0 ** -53], [1e-20, 1 - 2.0 ** -53]],
        [[0.0, 0.5], [0.3, 1.0], [0.5, 0.0]],
        {"u < eps/2 with y = 0": [1, 0, 0], "u < eps/2 with y in (0, 1)": [0, 0, 1],
         "u < eps/2 with y = 1": [0, 0, 0], "1 - u <= eps with y = 0": [0, 0, 1],
         "1 - u <= eps with y in (0, 1)": [0, 0, 0], "1 - u <= eps with y = 1": [0, 1, 0]}),
    "l1": _RESIDUALS,
    "huber": (_RESIDUALS[0], _RESIDUALS[1], {**_RESIDUALS[2], "|u - y| = 1 (the quadratic's end)":
                                             [0, 1, 1], "|u - y| > 1 (linear)": [0, 0, 1]}),
    "log_cosh": (  # 1e-9 below sqrt(eps) = 1.5e-8; 799 beyond -log(tiny) / 2 = 354
        [[0.5, 1e-9], [0, 2], [800, -1]], [[0.5, 0], [1, 1], [1, -2]],
        {"u = y (a residual of 0)": [1, 0, 0], "u < y": [0, 1, 0], "u > y": [1, 1, 1],
         "0 < |u - y| < sqrt(eps) (log cosh below eps)": [1, 0, 0],
         "exp(-2|u - y|) underflows (cosh overflows)": [0, 0, 1]}),
    "kl_divergence": (  # 1e-310 is subnormal in float64
        [[0, 0], [0, 0], [0, 0]], [[0, 0.5], [1e-310, 2], [1, 0.25]],
        {"y = 0 (0 log 0 = 0)": [1, 0, 0], "y subnormal": [0, 1, 0], "0 < y < 1": [1, 0, 1],
         "y >= 1": [0, 1, 1]}),
    "poisson": (
        [[1e-8, 2], [0.5, 3], [1, 1]], [[0, 2], [0.5, 3], [1.5, 2]],
        {"y = 0": [1, 0, 0], "y > 0 not an integer": [0, 1, 1], "y a positive integer": [1, 1, 1],
         "u < 1e-7 (where log(u + eps) forms drift)": [1, 0, 0]}),
    "hinge": (
        [[0.5, -2], [2, 0.5], [-0.5, 3]], [[1, -1], [1, -1], [-1, 1]],
        {"y = -1, inside the margin": [0, 1, 1], "y = 1, inside the margin": [1, 0, 0],
         "y u > 1 (no loss)": [1, 1, 1]}),
    "bce_with_logits": (  # -800 beyond -log(tiny) = 708.4
        [[-1, 2], [0, -800], [3, 0.5]], [[0, 1], [0.5, 1], [0.5, 0]],
        {"u < 0 with y = 0": [1, 0, 0], "u < 0 with y in (0, 1)": [0, 0, 0],
         "u < 0 with y = 1": [0, 1, 0], "u > 0 with y = 0": [0, 0, 1],
         "u > 0 with y in (0, 1)": [0, 0, 1], "u > 0 with y = 1": [1, 0, 0], "u = 0": [0, 1, 0],
         "|u| beyond -log(tiny) (exp(-|u|) subnormal)": [0, 1, 0]}),
}


@pytest.mark.parametrize("name", LOSSES)
def test_the_special_points_of_each_loss_hold_for_samples_worked_out_by_hand(name):
    """Every kind of sample a loss must see (its points, harness/coverage.py), on a stack of
    one network (a leading axis) whose batch differs from its width: one boolean a sample."""
    u, y, kinds = _POINTS[name]
    u, y = np.array([u], dtype=np.float64), np.array([y], dtype=np.float64)
    points = loss(name).points
    assert [p.name for p in points] == list(kinds)
    for p in points:
        held = p.holds(u, y, "float64")
        assert held.shape == (1, u.shape[1]), p.name
        assert held[0].tolist() == [bool(b) for b in kinds[p.name]], p.name


_EPS32 = float(np.finfo(np.float32).eps)  # 2^-23; sqrt(float32's tiny) = 2^-63
_POINTS_32 = {  # in float32, at the edges of each test: u, y, then the kinds as in _POINTS
    "squared_error": (  # a y = 1 row without y = 0; 1e-19 - 5e-20 under 2^-63, their sum not
        [[1e-30, 0.0], [1e-19, 3.0], [2.0 ** -63, 2.0]], [[0.0, 0.0], [5e-20, 1.0], [0.0, 2.0]],
        {"y < 0": [0, 0, 0], "y = 0": [1, 0, 1], "0 < y < 1": [0, 1, 0], "y = 1": [0, 1, 0],
         "y > 1": [0, 0, 1], "u = y (a residual of 0)": [1, 0, 1],
         "0 < |u - y| < sqrt(tiny) (its square underflows)": [1, 1, 0]}),
    "binary_cross_entropy": (  # u = eps / 2 and 1 - u = eps exactly: the bounds' own edges
        [[_EPS32 / 2], [0.4 * _EPS32], [1 - _EPS32]], [[0.0], [0.0], [0.0]],
        {"u < eps/2 with y = 0": [0, 1, 0], "u < eps/2 with y in (0, 1)": [0, 0, 0],
         "u < eps/2 with y = 1": [0, 0, 0], "1 - u <= eps with y = 0": [0, 0, 1],
         "1 - u <= eps with y in (0, 1)": [0, 0, 0], "1 - u <= eps with y = 1": [0, 0, 0]}),
}


@pytest.mark.parametrize("name", ["squared_error", "mse", "binary_cross_entropy"])
def test_the_special_points_of_a_loss_take_the_bounds_of_float32_and_hold_at_their_edges(name):
    """The bounds are float32's (not float64's), strict where they say < and not where <=."""
    u, y, kinds = _POINTS_32["binary_cross_entropy" if "binary" in name else "squared_error"]
    u, y = np.array([u], dtype=np.float32), np.array([y], dtype=np.float32)
    held = {p.name: p.holds(u, y, "float32")[0].tolist() for p in loss(name).points}
    assert held == {k: [bool(b) for b in v] for k, v in kinds.items()}


def test_activation_points_found_by_bisection_and_from_the_dtype():
    """sigmoid's "f rounds to 1" is the smallest float64 d with sigmoid(d) = 1; TensorFlow's
    softplus switches formula at +-(log(eps) + 2) of the dtype."""
    where = {p.name: p.where for p in activation("sigmoid").points}
    d = where["f rounds to 1 (h(1 - h) = 0)"](np.dtype(np.float64))
    f = activation("sigmoid").f
    assert f(np.array([d]))[0] == 1.0 > f(np.array([np.nextafter(d, 0.0)]))[0]
    where = {p.name: p.where for p in activation("softplus").points}
    for dt, eps in ((np.float64, 2.0 ** -52), (np.float32, 2.0 ** -23)):
        assert where["TensorFlow's threshold, exp(d) below"](np.dtype(dt)) == math.log(eps) + 2
        assert where["TensorFlow's threshold, d above"](np.dtype(dt)) == -(math.log(eps) + 2)


def test_the_kink_conventions_and_the_zero_point_by_name():
    """The reports quote the conventions word for word; every activation but identity (no
    branch, no formula to switch) visits d = 0 first."""
    assert {n: activation(n).convention for n in ACTIVATIONS if activation(n).kinks} == {
        "relu": "relu'(0) = 0", "leaky_relu": "leaky_relu'(0) = the slope",
        "elu": "elu'(0) = 1 (alpha = 1)", "relu6": "relu6'(0) = relu6'(6) = 0",
        "selu": "selu'(0) = scale alpha (the left branch; torch, jax)",
        "hard_sigmoid": "hard_sigmoid'(±3) = 0",
        "hard_swish": "hard_swish'(-3) = 0, hard_swish'(3) = 1",
        "hard_tanh": "hard_tanh'(±1) = 0 (torch; jax.nn.hard_tanh's is 1)",
        "celu": "celu'(0) = 1 (both sides agree; t' jumps)",
        "softsign": "softsign'(0) = 1 (both sides agree; t' jumps)"}
    assert activation("identity").points == ()
    for name in ACTIVATIONS:
        if name != "identity":
            assert activation(name).points[0].name == "0 (a branch on the sign)", name


def test_softmax_underflow_is_judged_in_the_dtype():
    """A gap of -100 underflows float32's exp (below log(tiny) = -87.3), not float64's."""
    point = next(p for p in loss("softmax_cross_entropy").points if "underflows" in p.name)
    u, y = np.array([[[0.0, -100.0, 0.0]]]), np.array([[[0.0, 1.0, 0.0]]])
    assert point.holds(u, y, "float32").tolist() == [[True]]
    assert point.holds(u, y, "float64").tolist() == [[False]]


def test_the_formulas_the_readme_states():
    assert {name: loss(name).formula for name in LOSSES} == {
        "squared_error": "½ Σ_j (u_j − y_j)²", "mse": "(1/n) Σ_j (u_j − y_j)²",
        "softmax_cross_entropy": "Σ_j y_j (log Σ_k e^{u_k} − u_j)",
        "binary_cross_entropy": "−Σ_j [y_j log u_j + (1 − y_j) log(1 − u_j)]",
        "l1": "(1/n) Σ_j |u_j − y_j|",
        "huber": "(1/n) Σ_j [½ r_j² if |r_j| ≤ 1, else |r_j| − ½], r = u − y (delta 1)",
        "log_cosh": "(1/n) Σ_j log cosh(u_j − y_j)",
        "kl_divergence": "Σ_j y_j (log y_j − u_j) on log-probabilities u, 0 log 0 = 0",
        "poisson": "(1/n) Σ_j (u_j − y_j log u_j) on rates u > 0",
        "hinge": "(1/n) Σ_j max(0, 1 − y_j u_j), y in {−1, 1}",
        "bce_with_logits": "Σ_j [log(1 + e^{u_j}) − y_j u_j] on logits u"}


def test_softmax_cross_entropy_of_rows_a_thousand_apart():
    """Each row's log-sum-exp is shifted by its own max: e = log 2 for both rows (the second
    to the ulp of 1000 + log 2), not -Inf for the row 1000 below the other."""
    u = np.array([[0.0, 0.0], [1000.0, 1000.0]])
    y = np.array([[1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(loss("softmax_cross_entropy").fe(u, y), [math.log(2.0)] * 2,
                               rtol=1e-12)


def _one_layer(act="identity", loss_name="squared_error", targets=((0.5,),), **param):
    return {"name": "p", "loss": loss_name, "inputs": [[1.0]],
            "targets": [list(t) for t in targets], "learning_rate": 0.1,
            "layers": [{"weights": [[1.0]], "bias": [0.0], "activation": act, **param}]}


@pytest.mark.parametrize("doc, message", [
    (_one_layer("celu", alpha=0.0), r"layers\[0\]\.alpha: must be > 0, got 0"),
    (_one_layer("celu", alpha=-1.0), r"layers\[0\]\.alpha: must be > 0, got -1"),
    (_one_layer("tanh", alpha=2.0),
     r"layers\[0\]\.alpha: only celu takes an alpha, activation is tanh"),
    (_one_layer("celu", slope=0.1),
     r"layers\[0\]\.slope: only leaky_relu takes a slope, activation is celu"),
    (_one_layer("identity", "hinge"), r"targets: hinge needs targets in \{-1, 1\}"),
    (_one_layer("identity", "kl_divergence", ((-0.5,),)),
     r"targets: kl_divergence needs targets >= 0"),
    (_one_layer("identity", "poisson", ((1.0,),)),
     r"layers\[0\]\.activation: poisson needs outputs in \(0, inf\): the last activation must be "
     r"softplus or sigmoid, got identity"),
    (_one_layer("identity", "bce_with_logits", ((2.0,),)),
     r"targets: bce_with_logits needs targets in \[0, 1\]")])
def test_the_spec_takes_each_records_parameter_targets_and_outputs(doc, message):
    """A parameter out of its range or on another activation, and targets or a last activation
    a loss does not take: one line naming the field (the records' Param, Targets, outputs)."""
    from harness.errors import SpecError
    with pytest.raises(SpecError, match=message):
        spec_from_dict(doc)


def test_celu_alpha_round_trips_through_the_spec_and_defaults_to_1():
    spec = spec_from_dict(_one_layer("celu", alpha=0.25))
    assert spec.layers[0].slope == 0.25 and spec.to_dict()["layers"][0]["alpha"] == 0.25
    assert spec_from_dict(_one_layer("celu")).layers[0].slope == 1.0
    assert "alpha" not in spec_from_dict(_one_layer("tanh")).to_dict()["layers"][0]
    ok = spec_from_dict(_one_layer("softplus", "poisson", ((2.0,),)))
    assert ok.loss == "poisson"
