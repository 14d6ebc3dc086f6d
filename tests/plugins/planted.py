"""Test-only implementations registered through entry points by tests/conftest.py.

Planted bugs (each a one-line change to the reference engine, so its consequences propagate
like a real bug's) and fault injectors (raise, wrong shape, NaN, hang, abort the process).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace

import numpy as np

from impls.reference import Network
from impls.reference_impl import ReferenceImpl


class _Planted(ReferenceImpl):
    engine = Network  # the (buggy) engine class this plugin runs

    def version(self) -> str:
        return "planted"

    def network(self, spec):
        net = super().network(spec)
        net.__class__ = self.engine
        return net


class WrongDerivative(_Planted):
    """Layer 0 uses tanh's derivative 1 - h^2 whatever its activation."""

    name = "bug-derivative"

    def network(self, spec):
        net = super().network(spec)
        a = net.activations[0]
        net.activations[0] = replace(a, t=lambda d, h: 1 - h * h)
        return net


class _NoBiasGradient(Network):
    def backward(self, fwd, y):
        grads = super().backward(fwd, y)
        grads.g_bias = [np.zeros_like(g) for g in grads.g_bias]
        return grads


class MissingBiasGradient(_Planted):
    """Bias gradients are never computed (zeros), so biases never move."""

    name = "bug-bias"
    engine = _NoBiasGradient


class _Transposed(Network):
    def forward(self, x):
        self.weights[0] = self.weights[0].T.copy()
        try:
            return super().forward(x)
        finally:
            self.weights[0] = self.weights[0].T.copy()


class TransposedWeight(_Planted):
    """Layer 0 multiplies by W instead of W^T (square layers only)."""

    name = "bug-transpose"
    engine = _Transposed


class _SignFlip(Network):
    def backward(self, fwd, y):
        grads = super().backward(fwd, y)
        grads.v[0] = -grads.v[0]  # reported v only; the gradients stay right
        return grads


class SignFlipV(_Planted):
    """The v of layer 0 is reported with the wrong sign."""

    name = "bug-sign"
    engine = _SignFlip


class _LrSlip(Network):
    def step(self, grads, r):
        super().step(grads, r * 1.1)


class LearningRateSlip(_Planted):
    """The update uses 1.1 r."""

    name = "bug-lr"
    engine = _LrSlip


class Raises(_Planted):
    name = "fault-raise"

    def trace(self, spec):
        raise RuntimeError("planted failure")


class WrongShape(_Planted):
    name = "fault-shape"

    def trace(self, spec):
        trace = super().trace(spec)
        layer = trace.steps[0].layers[0]
        layer.v = np.hstack([layer.v, layer.v])
        return trace


class ReturnsNaN(_Planted):
    name = "fault-nan"

    def trace(self, spec):
        trace = super().trace(spec)
        trace.steps[0].layers[0].v[...] = np.nan
        return trace


class Hangs(_Planted):
    name = "fault-sleep"

    def trace(self, spec):
        time.sleep(600)


class Aborts(_Planted):
    name = "fault-abort"

    def trace(self, spec):
        os.abort()


class TracesMany(_Planted):
    """A correct engine with trace_many() that records how it was called (also in each
    trace's settings, for calls in a worker process), takes 0.2 s, raises for a spec named
    "*many-raises*" (its cases are then traced one by one) and kills its process for
    "*many-aborts*"."""

    name = "many"
    calls: list = []
    seconds = 0.2

    def trace_many(self, specs):
        TracesMany.calls.append((threading.current_thread().name, [s.name for s in specs]))
        time.sleep(self.seconds)
        if any("many-raises" in s.name for s in specs):
            raise RuntimeError("planted trace_many failure")
        if any("many-aborts" in s.name for s in specs):
            os.abort()
        return [self.trace(s) for s in specs]

    def settings(self) -> dict:
        return {"many_calls": [[thread, len(names)] for thread, names in TracesMany.calls]}


ENTRY_POINTS = {
    "bug-derivative": "planted:WrongDerivative", "bug-bias": "planted:MissingBiasGradient",
    "bug-transpose": "planted:TransposedWeight", "bug-sign": "planted:SignFlipV",
    "bug-lr": "planted:LearningRateSlip", "fault-raise": "planted:Raises",
    "fault-shape": "planted:WrongShape", "fault-nan": "planted:ReturnsNaN",
    "fault-sleep": "planted:Hangs", "fault-abort": "planted:Aborts",
    "broken-import": "planted_missing_module:Impl", "many": "planted:TracesMany",
}
