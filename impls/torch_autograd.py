"""PyTorch autograd adapter (the registered `torch`): its engine is impls/torch_engine.py.

Loading the adapter does not import torch (about 2 s); prepare() does, on the runner's
background thread, or else the first trace. An in-process run loads every implementation
before any prepare() starts, so jax's (compiling the suite) starts that much sooner.
"""

from __future__ import annotations

import importlib
import importlib.util

from harness.trace import Trace


def _engine():
    return importlib.import_module("impls.torch_engine")


class TorchImpl:
    """PyTorch autograd on the CPU, in the spec's dtype. Weights with leading axes (stacked
    networks of one architecture, the batched fuzzer's) run as batched matmuls."""

    name = "torch"
    stacked = True

    def __init__(self):
        if importlib.util.find_spec("torch") is None:
            raise ImportError("No module named 'torch'", name="torch")

    def prepare(self, specs) -> None:
        """Import torch (ahead of the first trace, off the runner's main thread)."""
        _engine()

    def version(self) -> str:
        return str(_engine().torch.__version__)

    def settings(self) -> dict:
        return _engine().settings()

    def trace(self, spec) -> Trace:
        return _engine().trace(spec, self.name)
