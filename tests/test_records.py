"""One record per activation and per loss: every name is known to every table that needs it.

The records (impls/reference/activations.py, losses.py) carry the engine's f and t (fe and
te), the tolerance model's rounding terms, and the kinks with their convention; each built-in
adapter maps the names onto its framework in a table of its own. A name missing from a table
fails here unless the adapter declares it unsupported.
"""

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
                              "mygrad", "tensorflow", "tinygrad"]
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
