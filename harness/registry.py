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
`Unavailable(reason)` when the implementation cannot run on this machine (no GPU). Adapters
start no threads or processes: the runner owns all concurrency. A plugin that fails to load is
listed as unavailable with the reason, never a crash. Every adapter but IN_PROCESS's loads in
a worker process of its own (harness/wall, docs/isolation.md; --in-process: here), and what
get() returns for it is a WalledImpl that answers from its worker's plain data.
"""

from __future__ import annotations

import atexit
import fnmatch
import os
import re
import sys
import warnings
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from . import metadata
from .errors import HarnessError, Unavailable, Unsupported
from .local_impls import EXCLUDE, LOCAL, is_local, local, module_of, shadowed

__all__ = ["BUILTINS", "MODES", "ORACLES", "Unavailable", "Unsupported", "ImplInfo", "discover",
           "expand", "get", "names", "unsupported_reason"]

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
IN_PROCESS = ("reference", "numeric", "exact")  # shipped pure NumPy/mpmath: never walled
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


_wall = {"on": True, "python": sys.executable}  # set_wall(): --in-process, or in a worker


def set_wall(on: bool) -> None:
    """Load every adapter but IN_PROCESS's behind the process wall (on, the default) or in
    this process (--in-process; a worker loading its own adapter); forgets what was loaded."""
    _wall["on"] = on
    forget()


def behind_wall(name: str) -> bool:
    """Whether `name` loads in a worker process of its own (NAME@ENV always does)."""
    return _wall["on"] and (name not in IN_PROCESS or "@" in name)


def preload(names) -> None:
    """Start the workers of these implementations at once, so that their frameworks import
    side by side; get() then waits for each."""
    from .wall.walled import start
    targets = _targets()
    for name in dict.fromkeys(names):
        base, _, label = name.partition("@")
        if base in targets and behind_wall(name) and not metadata.unsafe_name(name) and \
                name not in _loaded and (not label or label in _envs):
            start(name, _envs.get(label, _wall["python"]))


def _load(name: str, target: str) -> ImplInfo:
    why = metadata.unsafe_name(name)
    if why:
        return ImplInfo(name, target, reason=why)
    base, _, label = name.partition("@")
    if label and not _wall["on"]:
        return ImplInfo(name, target, reason="another environment's implementation runs "
                                             "behind the wall only (not --in-process)")
    if not behind_wall(name):
        return _import(name, target)
    from .wall.walled import load
    impl, why = load(name, _envs.get(label, _wall["python"]))
    if impl is None:
        return ImplInfo(name, target, reason=why)
    return ImplInfo(name, target, impl=impl, supports=dict(impl.supports or {}))


def _import(name: str, target: str) -> ImplInfo:
    """The adapter loaded in this process."""
    module, _, attr = target.rpartition(":")
    try:
        mod = module_of(module)
        if not hasattr(mod, attr):
            return ImplInfo(name, target, reason=f"module {module!r} has no attribute "
                                                 f"{attr!r}{shadowed(module)}")
        impl = getattr(mod, attr)()
        missing = [a for a in ("name", "version", "trace") if not hasattr(impl, a)]
        supports = getattr(impl, "supports", None)
    except Unavailable as exc:
        return ImplInfo(name, target, reason=str(exc))
    except ImportError as exc:
        hint = shadowed(module) if exc.name and module.startswith(exc.name) else ""
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


_loaded: dict[str, ImplInfo] = {}


def _info(name: str) -> ImplInfo:
    if "@" in name:  # NAME@ENV: an implementation under another environment's Python
        name = in_environment(name)
    if name not in _loaded:
        targets = _targets()
        base = name.partition("@")[0]
        if base not in targets:
            raise HarnessError(f"unknown implementation {base!r} (installed: "
                               f"{', '.join(targets)})")
        _loaded[name] = _load(name, targets[base])
    return _loaded[name]


_envs: dict[str, str] = {}  # environment label: its Python


def in_environment(name: str) -> str:
    """NAME@PATH (a virtual environment's folder or a Python interpreter) as NAME@LABEL, the
    label the folder's name (the environment registered under it); NAME@LABEL as it is."""
    base, _, where = name.partition("@")
    if where in _envs:
        return name
    path = Path(where).expanduser()
    python = path / "bin" / "python" if path.is_dir() else path
    if "/" not in where or not (python.is_file() and os.access(python, os.X_OK)):
        raise HarnessError(f"{name}: no Python at {where!r} (expected NAME@PATH, PATH a "
                           f"virtual environment's folder or an interpreter)")
    folder = python.parent.parent if python.parent.name == "bin" else python.parent
    label = re.sub(r"[^A-Za-z0-9._+-]", "-", folder.name)[:40] or "env"
    if _envs.get(label, str(python)) != str(python):
        raise HarnessError(f"two environments are named {label!r}: {_envs[label]} and {python}")
    _envs[label] = str(python)
    return f"{base}@{label}"


def forget() -> None:
    """Forget every loaded implementation (entry points read again at the next get()) and
    stop their workers."""
    for info in _loaded.values():
        if getattr(info.impl, "walled", False) is True:
            info.impl.close()
    _loaded.clear()
    started = sys.modules.get(f"{__package__}.wall.walled")
    if started is not None:  # workers preloaded but never asked for
        started.drop_started()


atexit.register(forget)


def discover(refresh: bool = False, modes: bool = False) -> dict[str, ImplInfo]:
    """Every registered implementation, loaded; the opt-in MODES only with `modes`; none
    that $BACKPROP_HARNESS_EXCLUDE names (a plugin kept out of default runs)."""
    if refresh:
        forget()
    out = [g.strip() for g in os.environ.get(EXCLUDE, "").split(",") if g.strip()]
    wanted = [name for name in _targets() if (modes or name not in MODES)
              and not any(fnmatch.fnmatchcase(name, g) for g in out)]
    preload(wanted)
    return {name: _info(name) for name in wanted}


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
        if "@" in item:
            out.append(in_environment(item))
        elif is_local(item):
            out.append(local(item))
            _loaded.pop(out[-1], None)  # a name that now means this code
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
    why = metadata.outside_supports(info.supports, info.name, spec)
    if why:
        return why
    from .preconditions import violated
    broken = violated(info.impl, spec)
    if broken:
        return broken
    check = getattr(info.impl, "unsupported", None)
    return check(spec) if check is not None else None
