"""What the outside-framework adapters (autograd, mygrad, tensorflow, tinygrad) share: their
step's results as a Trace, and the checks that a framework is installed, and of which version,
without importing it."""

from __future__ import annotations

import importlib.util
from functools import lru_cache

import numpy as np

from harness.registry import Unavailable
from harness.trace import LayerTrace, StepTrace, Trace


def require(module: str, extra: str) -> None:
    """Unavailable, with the install line, unless `module` is installed (nothing imported)."""
    if importlib.util.find_spec(module) is None:
        raise Unavailable(f"{module} is not installed "
                          f"(pip install 'backprop-harness[{extra}]')")


@lru_cache(maxsize=None)
def installed_version(module: str) -> str:
    """The version of the distribution that installs `module`, read from its metadata without
    importing it (tensorflow installs as tensorflow or tensorflow-cpu): `impls` lists it cheaply.
    Read once: packages_distributions() walks every installed file (0.5 s), and every trace
    names its version."""
    from importlib.metadata import packages_distributions, version
    return version(packages_distributions().get(module, [module])[0])


def build_trace(impl, spec, states, params) -> Trace:
    """A Trace from each step's (e, ds, hs, vs, grads) and the final [(w, b), ...], all NumPy
    arrays in the spec's dtype; grads is [(g_w, g_b), ...] a layer."""
    steps = []
    for e, ds, hs, vs, grads in states:
        layers = [LayerTrace(d, h, v, gw, gb) for d, h, v, (gw, gb) in zip(ds, hs, vs, grads)]
        steps.append(StepTrace(np.asarray(e)[()], hs[-1], layers))
    final = [{"weights": w, "bias": b} for w, b in params]
    return Trace(impl.name, impl.version(), spec.name, spec.dtype, steps, final,
                 impl.settings())
