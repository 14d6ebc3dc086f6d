"""Judging a chunk: the harness's tolerance model and pass rule on stacked arrays.

The judge is tolerance.recurrences plus tolerance.passes, the very code `run` uses, applied
to every network of a chunk at once; compiled once per architecture with jax.jit when jax is
installed (XLA fuses the tolerance model's ~60 elementwise passes), numpy otherwise, with the
same verdicts (tested).
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from functools import lru_cache

import numpy as np

from ..compare import PHASE, quantities, value_of
from ..tolerance import PHASES, Tolerance, bound, local_terms, passes, recurrences, \
    with_final_drift
from ..trace import LayerTrace, StepTrace, Trace
from .drawing import Stack


def first_out(xp, stack: Stack, base, other, mags: list[dict], tol) -> object:
    """Per network, the index (in computation order) of the first quantity of `other` out of
    tolerance of `base`, -1 where none; equal infinities and NaN in the same place pass.
    The pass rule is tolerance.passes, as in `run`.
    Every element gets its quantity's index where it fails and a sentinel where it passes,
    and one minimum per network picks the first (one reduction, not one per quantity)."""
    n = stack.count
    order = list(quantities(len(stack.layers), stack.steps))
    codes = []
    for qi, (step, q, layer) in enumerate(order):
        a = xp.reshape(value_of(other, step, q, layer, xp), (n, -1))
        b = xp.reshape(value_of(base, step, q, layer, xp), (n, -1))
        m = xp.reshape(mags[-1 if step is None else step][(q, layer)], (n, -1))
        t = tol["forward" if PHASE[q] == "forward" else "backward"]
        ok = passes(xp, a, b, bound(xp, m, t))
        codes.append(xp.where(ok, len(order), qi).astype(xp.int16))
    first = xp.concatenate(codes, axis=1).min(axis=1)
    return xp.where(first == len(order), -1, first)


def _judge(xp, stack: Stack, base, others: list, terms, tol) -> list:
    """first_out() of every other implementation against one baseline; one-step magnitudes
    are computed once and completed per implementation (with_final_drift)."""
    if stack.steps == 1:
        shared = recurrences(xp, stack, base, terms)
        mags = [with_final_drift(stack, shared, base, o, tol["backward"], xp) for o in others]
    else:
        mags = [recurrences(xp, stack, base, terms, o, tol["backward"]) for o in others]
    return [first_out(xp, stack, base, o, m, tol) for o, m in zip(others, mags)]


def _tree(trace: Trace):
    """A trace's arrays as nested tuples (a pytree jax.jit takes)."""
    return (tuple((s.loss, s.outputs, tuple((lt.d, lt.h, lt.v, lt.grad_weights, lt.grad_bias)
                                            for lt in s.layers)) for s in trace.steps),
            tuple((p["weights"], p["bias"]) for p in trace.params))


def _untree(tree) -> Trace:
    steps, params = tree
    return Trace("", "", "", "", [StepTrace(loss, u, [LayerTrace(*a) for a in layers])
                                  for loss, u, layers in steps],
                 [{"weights": w, "bias": b} for w, b in params])


@lru_cache(maxsize=16)
def _jitted_judge(template: Stack, tol_key: tuple):
    """_judge under jax.jit for stacks shaped like `template` (its arrays are not used):
    XLA fuses the tolerance model's ~60 elementwise passes, which numpy makes one by one."""
    import jax
    import jax.numpy as jnp

    import impls.jax_grad  # noqa: F401 (the shipped module enables float64 and the cache)

    tol = {phase: Tolerance(*values) for phase, values in zip(PHASES, tol_key)}

    def run(arrays):
        ws, bs, x, y, base, others, terms = arrays
        layers = tuple(replace(layer, weights=w, bias=b)
                       for layer, w, b in zip(template.layers, ws, bs))
        stack = replace(template, layers=layers, inputs=x, targets=y)
        return jnp.stack(_judge(jnp, stack, _untree(base), [_untree(o) for o in others],
                                terms, tol))

    return jax.jit(run)


def judge(stack: Stack, base, others: list, tol, use_jax: bool | None = None) -> np.ndarray:
    """(len(others), networks): the first quantity out of tolerance per implementation and
    network, -1 where none. Under jax.jit when jax is installed (use_jax None), else numpy;
    both run the same code (tolerance.recurrences and first_out) and give the same answer."""
    terms = local_terms(stack, base)
    if use_jax is None:
        use_jax = importlib.util.find_spec("jax") is not None
    if not use_jax:
        with np.errstate(all="ignore"):
            return np.stack(_judge(np, stack, base, others, terms, tol))
    template = replace(stack, layers=tuple(replace(layer, weights=None, bias=None)
                                           for layer in stack.layers),
                       inputs=stack.inputs.shape, targets=stack.targets.shape,
                       name="", first_index=0)
    tol_key = tuple((tol[phase].rtol, tol[phase].atol) for phase in PHASES)
    arrays = ([layer.weights for layer in stack.layers], [layer.bias for layer in stack.layers],
              stack.inputs, stack.targets, _tree(base), [_tree(o) for o in others], terms)
    return np.array(_jitted_judge(template, tol_key)(arrays))




def label(stack: Stack, qi: int) -> str:
    """The name of the qi-th quantity in computation order, as first_out() numbers them."""
    step, q, layer = list(quantities(len(stack.layers), stack.steps))[qi]
    when = "final" if step is None else f"step {step}"
    return f"{when} {q}" + (f"[layer {layer}]" if layer is not None else "")
