"""Implementations, found by name: the built-ins below, the entry-point group
'backprop_harness.impls', and adapters run without packaging (`--impl module:Class` or
`--impl path/adapter.py`, registered in $BACKPROP_HARNESS_IMPLS so that worker processes
resolve the same name). $BACKPROP_HARNESS_EXCLUDE keeps installed plugins out of default runs.

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
import importlib.util
import os
import sys
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from . import metadata
from .errors import HarnessError

__all__ = ["BUILTINS", "MODES", "ORACLES", "Unavailable", "Unsupported", "ImplInfo",
           "add_impl_options", "discover", "exclude", "expand", "get", "is_local",
           "is_spec_file", "local", "names", "unsupported_reason"]

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
    "thinc": "impls.thinc_impl:ThincImpl",
    "mindspore": "impls.mindspore_impl:MindsporeImpl",
}
LOCAL = "BACKPROP_HARNESS_IMPLS"  # "name=module:Class;name=/path/adapter.py:Class": adapters
# run unpackaged (`--impl module:Class`); worker processes inherit it
EXCLUDE = "BACKPROP_HARNESS_EXCLUDE"  # "name,glob,...": left out of default runs
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
    """Built-ins and modes merged with installed entry points and the local adapters of
    $BACKPROP_HARNESS_IMPLS; a clashing one warns, the first wins."""
    targets = {**BUILTINS, **MODES}
    local = [tuple(item.split("=", 1)) for item in os.environ.get(LOCAL, "").split(";")
             if "=" in item]
    for name, value in [(ep.name, ep.value) for ep in entry_points(group=GROUP)] + local:
        if name in targets and targets[name] != value:
            warnings.warn(f"implementation {name!r} registered twice "
                          f"({targets[name]} and {value}); using the first", stacklevel=2)
            continue
        targets[name] = value
    return targets


def add_impl_options(parser) -> None:
    """`run`'s --impl and --exclude: how implementations are named on the command line."""
    parser.add_argument("--impl", nargs="+", action="extend", metavar="NAME",
                        help="implementations to compare (default: every available one); "
                             "module:Class or path/adapter.py[:Class] runs an adapter that is "
                             "not installed; a spec file named after them counts as a spec")
    parser.add_argument("--exclude", action="append", default=[], metavar="NAME",
                        type=lambda name: exclude([name]) or name,  # into the environment
                        help="leave this implementation (or glob) out of a run without "
                             "--impl, as $BACKPROP_HARNESS_EXCLUDE does (repeatable)")


def exclude(names: list[str]) -> None:
    """Add names (globs) to $BACKPROP_HARNESS_EXCLUDE: discover() and worker processes read
    it there (`run --exclude`)."""
    if names:
        os.environ[EXCLUDE] = ",".join(filter(None, [os.environ.get(EXCLUDE), *names]))


def is_spec_file(word: str) -> bool:
    """Whether a word given to --impl is a spec file (`run --impl torch net.json`), not an
    implementation: a .json name or an existing file that is no adapter's code."""
    return word.endswith(".json") or Path(word).is_file() and not is_local(word)


def is_local(item: str) -> bool:
    """Whether an --impl word names an adapter by its code (module:Class, a .py file)."""
    return ":" in item or item.endswith(".py")


def local(item: str) -> str:
    """Register `module:Class`, `path/adapter.py:Class` or `path/adapter.py` (its one class
    with name, version and trace) for this process and its workers ($BACKPROP_HARNESS_IMPLS);
    return the name it runs under (the class's `name`)."""
    module, _, attr = item.rpartition(":") if ":" in item else (item, "", "")
    beside = Path(module.replace(".", "/") + ".py")  # module:Class in the current folder,
    if not module.endswith(".py") and beside.is_file():  # which a console script's path lacks
        module = str(beside)
    if module.endswith(".py"):
        module = str(Path(module).resolve())
    try:
        mod = _module(module)
    except ImportError as exc:
        raise HarnessError(f"--impl {item}: cannot import {module}: {exc}") from None
    if not attr:
        found = [k for k, v in vars(mod).items() if isinstance(v, type) and
                 v.__module__ == mod.__name__ and all(hasattr(v, a) for a in ("name", "trace"))]
        if len(found) != 1:
            raise HarnessError(f"--impl {item}: name the class, {item}:CLASS ("
                               f"{'no' if not found else len(found)} adapter classes in it)")
        attr = found[0]
    name = getattr(getattr(mod, attr, None), "name", None)
    if not isinstance(name, str):
        raise HarnessError(f"--impl {item}: {attr} has no class attribute `name`")
    why = metadata.unsafe_name(name)
    if why:
        raise HarnessError(f"--impl {item}: {why}")
    entries = [e for e in os.environ.get(LOCAL, "").split(";") if e and
               not e.startswith(f"{name}=")]
    os.environ[LOCAL] = ";".join([*entries, f"{name}={module}:{attr}"])
    _info.cache_clear()
    return name


def _module(module: str):
    """A module by import name, or a .py file by path (imported once, under its stem)."""
    if not module.endswith(".py"):
        return importlib.import_module(module)
    key = f"bh_local_{Path(module).stem}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, module)
        if spec is None or not Path(module).is_file():
            raise ImportError(f"no such file {module}")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[key] = mod
        try:
            spec.loader.exec_module(mod)
        except BaseException:
            del sys.modules[key]
            raise
    return sys.modules[key]


def _shadowed(module: str) -> str:
    """' (a folder ./x in the current directory shadows the installed package x: run from
    another folder)' when the module's top package was imported from the current directory
    or is a namespace package (a bare folder), else ''."""
    top = sys.modules.get(module.split(".")[0])
    if top is None or module.endswith(".py"):
        return ""
    paths = [Path(getattr(top, "__file__", None) or "").parent] if getattr(
        top, "__file__", None) else [Path(p) for p in getattr(top, "__path__", [])]
    cwd = Path.cwd().resolve()
    for path in paths:
        if getattr(top, "__file__", None) is None or path.resolve().parent == cwd:
            return (f" (the folder {path} shadows the installed package "
                    f"{top.__name__}: run from another folder)")
    return ""


def _load(name: str, target: str) -> ImplInfo:
    why = metadata.unsafe_name(name)
    if why:
        return ImplInfo(name, target, reason=why)
    module, _, attr = target.rpartition(":")
    try:
        mod = _module(module)
        if not hasattr(mod, attr):
            return ImplInfo(name, target, reason=f"module {module!r} has no attribute "
                                                 f"{attr!r}{_shadowed(module)}")
        impl = getattr(mod, attr)()
        missing = [a for a in ("name", "version", "trace") if not hasattr(impl, a)]
        supports = getattr(impl, "supports", None)
    except Unavailable as exc:
        return ImplInfo(name, target, reason=str(exc))
    except ImportError as exc:
        hint = _shadowed(module) if exc.name and module.startswith(exc.name) else ""
        return ImplInfo(name, target, reason=f"cannot import {exc.name or module}: {exc}{hint}")
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
    """Every registered implementation, loaded; the opt-in MODES only with `modes`; none
    that $BACKPROP_HARNESS_EXCLUDE names (a plugin kept out of default runs)."""
    if refresh:
        _info.cache_clear()
    out = [g.strip() for g in os.environ.get(EXCLUDE, "").split(",") if g.strip()]
    return {name: _info(name) for name in _targets() if (modes or name not in MODES)
            and not any(fnmatch.fnmatchcase(name, g) for g in out)}


def names() -> list[str]:
    """Registered names, modes included, without loading anything."""
    return list(_targets())


def expand(requested: list[str]) -> list[str]:
    """Names with shell-style globs ('torch*', 'jax-*') expanded against every registered
    name, in order, each once (a glob that matches nothing is an error); an adapter named by
    its code (module:Class, path.py) registered under its own name."""
    known = names()
    out = []
    for item in requested:
        if is_local(item):
            out.append(local(item))
        elif any(c in item for c in "*?["):
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
