"""Implementations, found by name: the built-ins below and the entry-point group
'backprop_harness.impls'.

The adapter contract, stated once. An entry point names a class (or a factory) whose objects
have

    name: str                       the implementation's name in reports and on the CLI
    version() -> str                its framework's version
    trace(spec: Spec) -> Trace      the forward and backward passes of every step, and the
                                    parameters after the last update, in the spec's dtype

and may have, each optional:

    supports: dict                  {"dtypes", "activations", "losses", "reductions"}: lists
                                    of what it runs; anything else is "not supported"
    unsupported(spec) -> str|None   a reason for a spec it cannot run (its size, say)
    settings() -> dict              plain values of the settings that change its numbers
    accuracy: dict                  {"forward": {"rtol", "atol"}, "backward": {...}}: looser
                                    tolerances of an approximate method (finite differences)
    xfails: str | Path              a shipped list of known deviations (harness/xfails.py)
    shared_with_reference: tuple    quantity groups ("d", "h", "u", "e") computed with the
                                    reference's own functions, so not compared under pytest
    trace_many(specs) -> [Trace]    trace() of every spec at once, in order, the same numbers
                                    (how an implementation that compiles ahead gets its speed)
    trace_stacked(stack) -> Trace   a batched.Stack (networks of one architecture on a leading
                                    axis) traced at once, arrays with that leading axis

`trace` may raise `Unsupported(reason)` when it finds out late; the constructor may raise
`Unavailable(reason)` when the implementation cannot run on this machine (no GPU). Adapters start no threads or
processes: the runner owns all concurrency. A plugin that fails to load is listed as
unavailable with the reason, never a crash. Loading an adapter should be cheap (the torch
adapter imports torch at its first call), since `impls` and the --jobs parent load them all.
"""

from __future__ import annotations

import fnmatch
import importlib
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from . import metadata
from .errors import HarnessError

__all__ = ["BUILTINS", "MODES", "ORACLES", "Unavailable", "Unsupported", "ImplInfo", "discover",
           "expand",
           "get", "names", "unsupported_reason"]

GROUP = "backprop_harness.impls"
BUILTINS = {  # the one list of built-in implementations
    "reference": "impls.reference_impl:ReferenceImpl",
    "torch": "impls.torch_autograd:TorchImpl",
    "jax": "impls.jax_grad:JaxImpl",
    "numeric": "impls.numeric:NumericImpl",
    "exact": "impls.exact:ExactImpl",
    "autograd": "impls.autograd_impl:AutogradImpl",
    "mygrad": "impls.mygrad_impl:MygradImpl",
    "tensorflow": "impls.tensorflow_impl:TensorflowImpl",
    "tinygrad": "impls.tinygrad_impl:TinygradImpl",
}
ORACLES = ("exact", "numeric")  # the truths that say which side of a divergence is closer
MODES = {  # the built-in frameworks run other ways: each its own implementation, opt-in
    "torch-compile": "impls.torch_autograd:TorchCompileImpl",
    "torch-forward": "impls.torch_autograd:TorchForwardImpl",
    "torch-matmul-high": "impls.torch_autograd:TorchMatmulHighImpl",
    "torch-matmul-medium": "impls.torch_autograd:TorchMatmulMediumImpl",
    "torch-cuda": "impls.torch_autograd:TorchCudaImpl",
    "jax-eager": "impls.jax_grad:JaxEagerImpl",
    "jax-forward": "impls.jax_grad:JaxForwardImpl",
    "jax-matmul-bfloat16": "impls.jax_grad:JaxMatmulBfloat16Impl",
    "jax-matmul-tensorfloat32": "impls.jax_grad:JaxMatmulTensorfloat32Impl",
    "jax-matmul-highest": "impls.jax_grad:JaxMatmulHighestImpl",
    "jax-gpu": "impls.jax_grad:JaxGpuImpl",
    "tensorflow-xla": "impls.tensorflow_impl:TensorflowXlaImpl",
}


class Unsupported(Exception):
    """Raised by an implementation for a spec it cannot run (reported as 'not supported')."""


class Unavailable(Exception):
    """Raised by an adapter's constructor when it cannot run on this machine (no GPU): the
    implementation is listed as unavailable with this reason."""


@dataclass
class ImplInfo:
    """One registered implementation: loaded, or unavailable with the reason."""

    name: str
    target: str
    impl: Any = None
    reason: str = ""
    supports: dict = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.impl is not None

    def version(self) -> str:
        """Its framework's version; '' when unavailable or when version() misbehaves
        (metadata.read says how)."""
        return metadata.read(self.impl)[0] if self.impl is not None else ""


def _targets() -> dict[str, str]:
    """Built-ins and modes merged with installed entry points; a clashing one warns, the
    first wins."""
    targets = {**BUILTINS, **MODES}
    for ep in entry_points(group=GROUP):
        if ep.name in targets and targets[ep.name] != ep.value:
            warnings.warn(f"implementation {ep.name!r} registered twice "
                          f"({targets[ep.name]} and {ep.value}); using the first", stacklevel=2)
            continue
        targets[ep.name] = ep.value
    return targets


def _load(name: str, target: str) -> ImplInfo:
    why = metadata.unsafe_name(name)
    if why:
        return ImplInfo(name, target, reason=why)
    module, _, attr = target.partition(":")
    try:
        factory = getattr(importlib.import_module(module), attr)
        impl = factory()
        missing = [a for a in ("name", "version", "trace") if not hasattr(impl, a)]
        supports = getattr(impl, "supports", None)
    except Unavailable as exc:
        return ImplInfo(name, target, reason=str(exc))
    except ImportError as exc:
        return ImplInfo(name, target, reason=f"cannot import {exc.name or module}: {exc}")
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a broken plugin (sys.exit too) must not take us down
        return ImplInfo(name, target, reason=f"failed to load: {type(exc).__name__}: {exc}")
    if missing:
        return ImplInfo(name, target, reason=f"not an implementation: no {', '.join(missing)}")
    why = metadata.supports_problem(supports)
    if not why:
        from .preconditions import check
        why = check(getattr(impl, "preconditions", ()) or ())
    if not why and name not in ORACLES:
        from .tolerance import accuracy_problem
        why = accuracy_problem(getattr(impl, "accuracy", None),
                               (supports or {}).get("dtypes") or ("float64", "float32"))
    if why:
        return ImplInfo(name, target, reason=why)
    return ImplInfo(name, target, impl=impl, supports=dict(supports or {}))


@lru_cache(maxsize=None)
def _info(name: str) -> ImplInfo:
    targets = _targets()
    if name not in targets:
        raise HarnessError(f"unknown implementation {name!r} (installed: {', '.join(targets)})")
    return _load(name, targets[name])


def discover(refresh: bool = False, modes: bool = False) -> dict[str, ImplInfo]:
    """Every registered implementation, loaded; the opt-in MODES only with `modes`."""
    if refresh:
        _info.cache_clear()
    return {name: _info(name) for name in _targets() if modes or name not in MODES}


def names() -> list[str]:
    """Registered names, modes included, without loading anything."""
    return list(_targets())


def expand(requested: list[str]) -> list[str]:
    """Names with shell-style globs ('torch*', 'jax-*') expanded against every registered
    name, in order, each once; a glob that matches nothing is an error."""
    known = names()
    out = []
    for item in requested:
        if any(c in item for c in "*?["):
            matched = [n for n in known if fnmatch.fnmatchcase(n, item)]
            if not matched:
                raise HarnessError(f"no implementation matches {item!r} (installed: "
                                   f"{', '.join(known)})")
            out += matched
        else:
            out.append(item)
    return list(dict.fromkeys(out))


def get(name: str) -> ImplInfo:
    """One implementation by name, loading only it; an unknown name lists what is installed."""
    return _info(name)


def unsupported_reason(info: ImplInfo, spec) -> str | None:
    """Why this implementation cannot run this spec, or None."""
    checks = {"dtypes": ("dtype", [spec.dtype]), "losses": ("loss", [spec.loss]),
              "reductions": ("reduction", [spec.reduction]),
              "activations": ("activation",
                              sorted({layer.activation for layer in spec.layers}))}
    for key, (what, wanted) in checks.items():
        allowed = info.supports.get(key)
        if allowed is not None:
            bad = [w for w in wanted if w not in allowed]
            if bad:
                return f"{what} {bad[0]} not supported by {info.name}"
    from .preconditions import violated
    broken = violated(info.impl, spec)
    if broken:
        return broken
    check = getattr(info.impl, "unsupported", None)
    return check(spec) if check is not None else None
