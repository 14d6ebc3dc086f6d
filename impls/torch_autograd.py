"""PyTorch autograd adapter: torch's own functions forward, autograd backward, SGD's update.

v comes from autograd itself (retain_grad on each pre-activation d), never recomputed here.
The update is torch.optim.SGD's own arithmetic on the CPU without momentum, param.add_(grad,
alpha=-lr) (bit for bit the same, tested), called directly: constructing optim.SGD imports
torch._dynamo on first use, 1.5 to 2 s of every run. torch itself (about 2 s) is imported at
the first call, not when the adapter loads, so that listing implementations stays cheap.
Convention mappings (README, "Conventions"): softplus is torch.logaddexp(d, 0), because
F.softplus turns linear above its threshold (20) and is off by up to 2e-9 there; the batch
reductions of the spec are built from reduction="none" where torch's "mean" means something
else.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from harness.trace import LayerTrace, StepTrace, Trace

torch = F = None  # torch and torch.nn.functional, imported by _load()

ACTIVATIONS = {  # name: f(d, slope)
    "identity": lambda d, s: d,
    "sigmoid": lambda d, s: torch.sigmoid(d),
    "tanh": lambda d, s: torch.tanh(d),
    "relu": lambda d, s: F.relu(d),
    "leaky_relu": lambda d, s: F.leaky_relu(d, negative_slope=s),
    "softplus": lambda d, s: torch.logaddexp(d, torch.zeros_like(d)),
    "elu": lambda d, s: F.elu(d),
    "silu": lambda d, s: F.silu(d),
    "gelu": lambda d, s: F.gelu(d, approximate="none"),
    "gelu_tanh": lambda d, s: F.gelu(d, approximate="tanh"),
}

LOSSES = {  # per-sample losses (..., batch) from torch's loss functions, reduction="none"
    "squared_error": lambda u, y: 0.5 * F.mse_loss(u, y, reduction="none").sum(-1),
    "mse": lambda u, y: F.mse_loss(u, y, reduction="none").mean(-1),
    "softmax_cross_entropy": lambda u, y: F.cross_entropy(
        u.reshape(-1, u.shape[-1]), y.reshape(-1, u.shape[-1]),
        reduction="none").reshape(u.shape[:-1]),
    "binary_cross_entropy": lambda u, y: F.binary_cross_entropy(u, y, reduction="none").sum(-1),
}


def _load():
    """Import torch once, at the first call."""
    global torch, F
    if F is None:
        import torch
        import torch.nn.functional as F


class TorchImpl:
    """PyTorch autograd on the CPU, in the spec's dtype."""

    name = "torch"

    def __init__(self):
        if importlib.util.find_spec("torch") is None:
            raise ImportError("No module named 'torch'", name="torch")

    def version(self) -> str:
        _load()
        return str(torch.__version__)

    def settings(self) -> dict:
        """Plain values: torch.__version__ is a TorchVersion, which would import torch wherever
        a trace is unpickled (the parent process under --jobs)."""
        _load()
        return {"torch": str(torch.__version__), "device": "cpu",
                "default_dtype": str(torch.get_default_dtype()),
                "threads": torch.get_num_threads(),
                "float32_matmul_precision": torch.get_float32_matmul_precision(),
                "deterministic": torch.are_deterministic_algorithms_enabled()}

    def trace(self, spec) -> Trace:
        return self._run(spec)

    def trace_stacked(self, stack) -> Trace:
        """Networks on a leading axis run as batched matmuls; one backward serves them all."""
        return self._run(stack)

    def _run(self, spec) -> Trace:
        """spec.steps steps of autograd on the CPU in the spec's dtype."""
        _load()
        dt = getattr(torch, spec.dtype)
        params = []
        for layer in spec.layers:
            params.append(torch.tensor(np.array(layer.weights), dtype=dt, requires_grad=True))
            params.append(torch.tensor(np.array(layer.bias), dtype=dt, requires_grad=True))
        x = torch.tensor(np.array(spec.inputs), dtype=dt)
        y = torch.tensor(np.array(spec.targets), dtype=dt)
        steps = []
        for _ in range(spec.steps):
            for p in params:
                p.grad = None  # fresh gradients: _np() may return views
            h, ds, hs = x, [], []
            for k, layer in enumerate(spec.layers):
                d = h @ params[2 * k].transpose(-1, -2) + params[2 * k + 1][..., None, :]
                d.retain_grad()
                h = ACTIVATIONS[layer.activation](d, layer.slope)
                ds.append(d)
                hs.append(h)
            per_sample = LOSSES[spec.loss](h, y)
            e = per_sample.sum(-1) if spec.reduction == "sum" else per_sample.mean(-1)
            e.sum().backward()  # stacked networks are independent: one backward serves all
            layers = [LayerTrace(_np(d), _np(h), _np(d.grad), _np(params[2 * k].grad),
                                 _np(params[2 * k + 1].grad))
                      for k, (d, h) in enumerate(zip(ds, hs))]
            steps.append(StepTrace(_np(e)[()] if e.ndim == 0 else _np(e), _np(hs[-1]), layers))
            with torch.no_grad():
                for p in params:
                    p.add_(p.grad, alpha=-spec.learning_rate)
        final = [{"weights": _np(params[2 * k]), "bias": _np(params[2 * k + 1])}
                 for k in range(len(spec.layers))]
        return Trace(self.name, self.version(), spec.name, spec.dtype, steps, final,
                     self.settings())


def _np(t) -> np.ndarray:
    """A view, not a copy: every tensor traced is fresh (gradients are set to None before each
    backward, the update changes the parameters in place only after their step is recorded)
    and the final parameters are read after the last update. Arrays may share memory where
    torch's tensors do (identity's h is d): a trace is a record, not to be written to."""
    return t.detach().numpy()
