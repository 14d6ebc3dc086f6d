"""Adapters named on the command line rather than installed: `--impl module:Class` or a path
to a .py file (registered for this process and its workers in $BACKPROP_HARNESS_IMPLS), and
`--exclude` ($BACKPROP_HARNESS_EXCLUDE), which keeps an installed plugin out of default runs.
The registry (registry.py) reads both when it lists what is registered."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

from . import metadata
from .errors import HarnessError

LOCAL = "BACKPROP_HARNESS_IMPLS"  # "name=module:Class;name=/path/adapter.py:Class": adapters
# run unpackaged (`--impl module:Class`); worker processes inherit it
CALLER_CWD = None  # the run's folder, in a worker process (which runs in a folder of its own)
EXCLUDE = "BACKPROP_HARNESS_EXCLUDE"  # "name,glob,...": left out of default runs


def add_impl_options(parser) -> None:
    """`run`'s --impl and --exclude: how implementations are named on the command line."""
    parser.add_argument("--impl", nargs="+", action="extend", metavar="NAME",
                        help="implementations to compare (default: every available one); "
                             "module:Class or path/adapter.py[:Class] runs an adapter that is "
                             "not installed; NAME@PATH runs NAME under the Python of the "
                             "virtual environment PATH (named NAME@ its folder's name); a spec "
                             "file named after them counts as a spec")
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
        mod = module_of(module)
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
    return name


def module_of(module: str):
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


def shadowed(module: str) -> str:
    """' (a folder ./x in the current directory shadows the installed package x: run from
    another folder)' when the module's top package was imported from the current directory
    or is a namespace package (a bare folder), else ''."""
    top = sys.modules.get(module.split(".")[0])
    if top is None or module.endswith(".py"):
        return ""
    paths = [Path(getattr(top, "__file__", None) or "").parent] if getattr(
        top, "__file__", None) else [Path(p) for p in getattr(top, "__path__", [])]
    cwd = Path(CALLER_CWD or Path.cwd()).resolve()
    for path in paths:
        if getattr(top, "__file__", None) is None or path.resolve().parent == cwd:
            return (f" (the folder {path} shadows the installed package "
                    f"{top.__name__}: run from another folder)")
    return ""
