"""Default-suite cases that reach the classes of the spec format's domain model
(impls/reference/domain.py) the records' special points do not: every (output activation,
loss) pair, every value class of a layer's parameter, and the lengths at which a 16-bit
accumulation shows. `coverage --detect` (harness/detect.py) checks that each is detected.
"""

from __future__ import annotations

import math

import numpy as np

from impls.reference import ACTIVATIONS, LOSSES, REDUCTIONS, activation
from impls.reference.domain import (GRADIENT_SPREAD, OUTPUT_ACTIVATIONS, REFUSED,
                                    accumulation_size, accumulation_terms, fields,
                                    output_range, pair_classes, pairs, usual_output)

from .spec import DTYPES
from .tolerance import LOW_PRECISION_K


def output_pairs(act_outputs=ACTIVATIONS, loss_slots=None):
    """Which loss each act-<...>-<dtype> case uses and which output activation each
    loss-<loss>-<reduction>-<dtype> case has, so that together they hold a pair of every
    class of (output activation, loss) pairs the format accepts (impls/reference/domain.py:
    a loss sees an output activation through the range of u it produces) but the loss's
    usual one; classes left over get a small case each. act_outputs: the output activation
    of each act- case of a dtype; loss_slots: {loss: its loss- cases' slots} (default: one
    per reduction and dtype). Returns ({(output activation, dtype index): loss}, {(loss,
    slot): activation}, [(act, loss) left over]). The full matrix, every pair, is
    pair_matrix()."""
    free = [name for name in LOSSES if name not in OUTPUT_ACTIVATIONS]
    classes = pair_classes()
    open_ = {key for key, members in classes.items()
             if any(a != usual_output(key[1]) for a in members)}
    act_loss = {}
    for j in range(len(DTYPES)):  # each act- case takes a loss whose class is still open
        for i, a in enumerate(act_outputs):
            fits = [name for name in free if (output_range(a), name) in open_
                    and a != usual_output(name)]
            left = {name: sum(key[1] == name for key in open_) for name in fits}
            pick = max(fits, key=lambda name: left[name]) if fits else \
                free[(i + j) % len(free)]
            act_loss[a, j] = pick
            open_.discard((output_range(a), pick))
    held = {(a, name) for (a, _), name in act_loss.items()}
    if loss_slots is None:
        loss_slots = {name: [(red, dt) for dt in DTYPES for red in REDUCTIONS]
                      for name in LOSSES}
    outputs, extra = {}, []
    for (_, name), members in classes.items():
        others = [a for a in members if a != usual_output(name)]
        if not others or any((a, name) in held for a in others):
            continue
        free_slots = [slot for slot in loss_slots[name] if (name, slot) not in outputs]
        if free_slots:
            outputs[name, free_slots[0]] = others[0]
        else:
            extra.append((others[0], name))
    return act_loss, outputs, extra


def pair_matrix(docs: list[dict]) -> list[tuple[str, str]]:
    """Every (output activation, loss) pair the format accepts but the loss's usual one that
    no act-, loss- or pair- case of docs holds: the full matrix's pair-* cases (`--full`; a
    classes- case's output layer is the field's, at d where the plant may not show)."""
    held = set()
    for doc in (d for d in docs if d["name"].startswith(("act-", "loss-", "pair-"))):
        last = doc["layers"][-1]["activation"] if "layers" in doc else \
            doc["generate"]["activation"]
        held.add((last if isinstance(last, str) else last[-1], doc["loss"]))
    return [(a, name) for a, name in pairs() if a != usual_output(name)
            and (a, name) not in held]


def layer_field_cases(dtype: str = "float64") -> list[dict]:
    """Per layer field of the format (impls/reference/domain.py), per activation taking it, a
    chain with a layer per value class: each layer has a neuron at d = 1 (h = 1 whatever the
    value) that feeds the next layer, and one at d = -1 whose h is the field's effect alone.
    That h reaches the next layer's first neuron scaled by a power of two w (|w h| in [1/2,
    1)) and taken back by its bias, -w h, so that d stays exactly 1 and a far-out value stays
    contained, while v flows back through it: the derivative at d = -1 is observed in every
    class, not only the last layer's. Learning rate 1 visits the class of rates of 1 and more."""
    docs = []
    for fld in (f for f in fields() if f.layer):
        for act in fld.takes:
            values = [c.example for c in fld.classes if (fld.name, c.name) not in REFUSED]
            layers = []
            for k, value in enumerate(values):
                w, b = _taken_back(float(activation(act, values[k - 1]).f(
                    np.array([-1.0]))[0])) if k else (0.0, 0.0)
                layers.append({"weights": [[1.0], [-2.0]] if not k else [[1.0, w], [-2.0, 0.0]],
                               "bias": [b, 1.0], "activation": act, fld.name: value})
            docs.append({"name": f"classes-{act}-{fld.name}-{dtype}", "dtype": dtype,
                         "loss": "squared_error",
                         "description": f"{act} with its {fld.name} in every value class of "
                                        f"the format, a layer each",
                         "layers": layers, "inputs": [[1.0]], "targets": [[0.0, 0.0]],
                         "learning_rate": 1.0, "steps": 1})
    return docs


def _taken_back(h: float) -> tuple[float, float]:
    """(w, -w h) for the last layer's h at d = -1: w a power of two with |w h| in [1/2, 1),
    so that 1 + w h - w h is exactly 1 in any order and dtype; (0, 0) for h = 0."""
    if h == 0 or not math.isfinite(h):
        return 0.0, 0.0
    w = 2.0 ** -(math.frexp(abs(h))[1])
    return w, float(-w * h)


def accumulation_cases(dtype: str) -> list[dict]:
    """Sums as long as the dtype's accumulation error first exceeds its tolerance (domain.py):
    x W^T over a width, and the gradient's sum over a batch, of a first term and then terms
    of eps / 2 of it, exact in float32 in any order, stuck at the first when accumulated in
    the 16-bit dtype itself. The batch's v = u - y = x (y = 0) cancels nothing, and its terms
    are 2^6 eps / 2, well above float16's underflow allowance."""
    docs = []
    n = accumulation_size(dtype, LOW_PRECISION_K)
    if n is not None:
        docs.append({"name": f"accumulate-width-{dtype}", "dtype": dtype,
                     "loss": "squared_error",
                     "description": f"one neuron summing {n} products in {dtype}",
                     "layers": [{"weights": [accumulation_terms(dtype, n)], "bias": [0.0],
                                 "activation": "identity"}],
                     "inputs": [[1.0] * n], "targets": [[0.0]], "learning_rate": 2.0 ** -4,
                     "steps": 1})
    n = accumulation_size(dtype, LOW_PRECISION_K, GRADIENT_SPREAD)
    if n is not None:
        docs.append({"name": f"accumulate-batch-{dtype}", "dtype": dtype,
                     "loss": "squared_error",
                     "description": f"a batch of {n}: gradients summing {n} samples in {dtype}",
                     "layers": [{"weights": [[1.0]], "bias": [0.0], "activation": "identity"}],
                     "inputs": [[t] for t in accumulation_terms(dtype, n, 2.0 ** 6)],
                     "targets": [[0.0]] * n, "learning_rate": 2.0 ** -16, "steps": 1})
    return docs
