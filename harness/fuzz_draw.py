"""What the property-based fuzzer draws: whole spec documents from the domain model.

The draws use the same model as the default suite and `coverage --detect`: each record's
special points are a dictionary (as fuzzers use magic values): with probability DICTIONARY each
neuron's pre-activation d is set to one of its activation's points, exactly, one ulp to
either side or at a relative distance 10^-k around it (the neuron's weights 0, its bias the
value, so d is exact in any summation order); targets come from a dictionary of the values
the losses' kinds of sample turn on; the output activation and loss are a pair the format
accepts; leaky_relu's slope, the reduction, the batch, the steps and the learning rate are
drawn from their value classes (impls/reference/domain.py); in a dtype whose accumulation
error shows past some length, one network in WIDE has a first layer that long.
"""

from __future__ import annotations

import numpy as np

from impls.reference import ACTIVATIONS, LOSSES, activation, loss as loss_record
from impls.reference.domain import REFUSED, accumulation_size, fields, pairs
from impls.reference.dtypes import dtype as np_dtype

from .coverage import point_values
from .spec import DTYPES
from .tolerance import LOW_PRECISION_K

DICTIONARY = 0.5  # the chance that a neuron's d is at or around a special point
WIDE = 8  # one network in WIDE is as wide as its dtype's accumulation length (16-bit)
TARGETS = (0.0, 1.0, 0.5, 0.25, -1.0, 2.0, 1e-20)  # the values y's kinds turn on


def _strategies():
    from hypothesis import strategies as st
    return st


def fuzz_name(activations, loss: str, dtype: str) -> str:
    """fuzz-<activations>-<loss>-<dtype>: what a known-deviation glob matches."""
    return "-".join(["fuzz", *activations, loss, dtype])


def special_values(act: str, dtype: str) -> list[float]:
    """The dictionary of an activation's pre-activations in a dtype: each special point,
    one ulp to either side, and 10^-k (k = 1 to 16) relatively around it (absolutely around
    0), as numbers of the dtype."""
    dt = np_dtype(dtype)
    out = []
    for point in activation(act).points:
        where = point.where(dt)
        out += [float(v) for v in point_values(where, dtype).values()]
        scale = max(abs(where), 1.0)
        out += [float(np.array(where + s * scale * 10.0 ** -k, dtype=dt))
                for k in range(1, 17) for s in (-1, 1)]
    return list(dict.fromkeys(v for v in out if np.isfinite(v)))


def _classes(name: str) -> list:
    """The examples of a field's value classes that the format accepts."""
    fld = next(f for f in fields() if f.name == name)
    return [c.example for c in fld.classes if (name, c.name) not in REFUSED]


def spec_docs(dtypes=DTYPES, max_depth: int = 3, max_width: int = 5, max_batch: int = 4,
              max_steps: int = 3, activations=ACTIVATIONS, losses=LOSSES):
    """A hypothesis strategy of valid spec documents (explicit form)."""
    st = _strategies()
    plain = st.floats(-2.0, 2.0, allow_nan=False, width=32)
    value = st.one_of(plain, st.sampled_from([0.0, 0.5, -0.5, 1.0, -1.0, 2.0, 20.0, -30.0,
                                              1e-6, -1e-12, 1e-20]))
    outputs = [(a, name) for a, name in pairs(activations, losses)]

    def matrix(rows, cols, of=value):
        return st.lists(st.lists(of, min_size=cols, max_size=cols), min_size=rows,
                        max_size=rows)

    @st.composite
    def docs(draw):
        dtype = draw(st.sampled_from(list(dtypes)))
        depth = draw(st.integers(1, max_depth))
        sizes = draw(st.lists(st.integers(1, max_width), min_size=depth + 1, max_size=depth + 1))
        last, loss = draw(st.sampled_from(outputs))
        acts = draw(st.lists(st.sampled_from(list(activations)), min_size=depth - 1,
                             max_size=depth - 1)) + [last]
        batch = draw(st.sampled_from(_classes("batch"))) if draw(st.booleans()) \
            else draw(st.integers(1, max_batch))
        wide = accumulation_size(dtype, LOW_PRECISION_K)
        wide = wide if wide and draw(st.integers(1, WIDE)) == 1 else None
        layers = [_layer(draw, st, matrix, n_in, n_out, act, dtype, value)
                  for n_in, n_out, act in zip(sizes, sizes[1:], acts)]
        inputs = draw(matrix(batch, sizes[0]))
        if wide:  # one long sum of equal products in the first layer
            x, w = draw(st.sampled_from([1.0, 0.5])), draw(st.sampled_from([1.0625, -0.75]))
            inputs = [row + [x] * wide for row in inputs]
            for row in layers[0]["weights"]:  # a dictionary neuron's row stays 0: d = b
                row += [w if any(row) else 0.0] * wide
        return {"name": fuzz_name(acts, loss, dtype), "dtype": dtype, "loss": loss,
                "reduction": draw(st.sampled_from(_classes("reduction"))), "layers": layers,
                "inputs": inputs, "targets": _targets(draw, st, matrix, loss, batch, sizes[-1]),
                "learning_rate": draw(st.sampled_from(_classes("learning_rate") + [0.01])),
                "steps": draw(st.sampled_from([1, max_steps])) if draw(st.booleans())
                else draw(st.integers(1, max_steps))}

    return docs()


def _layer(draw, st, matrix, n_in: int, n_out: int, act: str, dtype: str, value) -> dict:
    """A layer; each neuron's d, with probability DICTIONARY, a value of the dictionary."""
    layer = {"weights": draw(matrix(n_out, n_in)),
             "bias": draw(st.lists(value, min_size=n_out, max_size=n_out)), "activation": act}
    specials = special_values(act, dtype)
    for j in range(n_out if specials else 0):
        if draw(st.floats(0, 1)) < DICTIONARY:
            layer["weights"][j] = [0.0] * n_in
            layer["bias"][j] = draw(st.sampled_from(specials))
    if act == "leaky_relu":
        layer["slope"] = draw(st.sampled_from(_classes("slope") + [0.01, 0.1]))
    if act == "celu":
        layer["alpha"] = draw(st.sampled_from([0.5, 1.0, 2.0]))
    return layer


def _targets(draw, st, matrix, loss: str, batch: int, n_out: int) -> list:
    """Targets the loss accepts, from the dictionary or drawn: one-hot or any non-negative
    rows for softmax cross-entropy, [0, 1] for binary cross-entropy."""
    y = st.one_of(st.sampled_from(TARGETS), st.floats(-2.0, 2.0, allow_nan=False, width=32))
    if loss == "softmax_cross_entropy":
        if draw(st.booleans()):
            classes = draw(st.lists(st.integers(0, n_out - 1), min_size=batch, max_size=batch))
            return np.eye(n_out)[classes].tolist()
        return draw(matrix(batch, n_out, y.map(abs)))
    if loss == "binary_cross_entropy":
        return draw(matrix(batch, n_out, y.map(lambda v: min(1.0, abs(v)))))
    fit = loss_record(loss).targets  # hinge's signs, kl's and poisson's y >= 0 (the record's)
    if fit:
        return np.asarray(fit.fit(np.array(draw(matrix(batch, n_out, y)), dtype=float)),
                          dtype=float).tolist()
    return draw(matrix(batch, n_out, y))
