"""PyTorch autograd adapter: torch's own functions forward, autograd backward, SGD's update.

v comes from autograd itself (retain_grad on each pre-activation d), never recomputed here.
The update is torch.optim.SGD's own arithmetic on the CPU without momentum, param.add_(grad,
alpha=-lr) (bit for bit the same, tested), called directly: constructing optim.SGD imports
torch._dynamo on first use, 1.5 to 2 s of every run. torch itself (about 2 s) is imported at
the first call, not when the adapter loads, so that listing implementations stays cheap.
Convention mappings (docs/conventions.md): softplus is torch.logaddexp(d, 0), because
F.softplus turns linear above its threshold (20) and is off by up to 2e-9 there; the batch
reductions of the spec are built from reduction="none" where torch's "mean" means something
else.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np

from harness.registry import Unavailable
from harness.trace import LayerTrace, StepTrace, Trace
from impls.forward_mode import ForwardMode
from impls.reference.dtypes import dtype as np_dtype

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
    "relu6": lambda d, s: F.relu6(d),
    "selu": lambda d, s: F.selu(d),
    "celu": lambda d, s: F.celu(d, alpha=s),
    "log_sigmoid": lambda d, s: F.logsigmoid(d),
    "softsign": lambda d, s: F.softsign(d),
    "mish": lambda d, s: F.mish(d),
    "hard_sigmoid": lambda d, s: F.hardsigmoid(d),
    "hard_swish": lambda d, s: F.hardswish(d),
    "hard_tanh": lambda d, s: F.hardtanh(d),
}

LOSSES = {  # per-sample losses (..., batch) from torch's loss functions, reduction="none"
    "squared_error": lambda u, y: 0.5 * F.mse_loss(u, y, reduction="none").sum(-1),
    "mse": lambda u, y: F.mse_loss(u, y, reduction="none").mean(-1),
    "softmax_cross_entropy": lambda u, y: F.cross_entropy(
        u.reshape(-1, u.shape[-1]), y.reshape(-1, u.shape[-1]),
        reduction="none").reshape(u.shape[:-1]),
    "binary_cross_entropy": lambda u, y: F.binary_cross_entropy(u, y, reduction="none").sum(-1),
    "l1": lambda u, y: F.l1_loss(u, y, reduction="none").mean(-1),
    "huber": lambda u, y: F.huber_loss(u, y, reduction="none", delta=1.0).mean(-1),
    "log_cosh": lambda u, y: (lambda r: r + torch.logaddexp(-2 * r, torch.zeros_like(r))
                              - math.log(2))(u - y).mean(-1),
    "kl_divergence": lambda u, y: F.kl_div(u, y, reduction="none").sum(-1),
    "poisson": lambda u, y: F.poisson_nll_loss(u, y, log_input=False, eps=0.0,
                                               reduction="none").mean(-1),
    "hinge": lambda u, y: F.relu(1 - y * u).mean(-1),
    "bce_with_logits": lambda u, y: F.binary_cross_entropy_with_logits(
        u, y, reduction="none").sum(-1),
}

COMPOSED = {  # the functions torch has no built-in for, as the adapter writes them
    "softplus": "torch.logaddexp(d, 0) (F.softplus turns linear above 20)",
    "log_cosh": "composed r + logaddexp(-2r, 0) - log 2, r = u - y (Keras's and optax's form)",
    "hinge": "composed relu(1 - y u) (F.hinge_embedding_loss is another function)",
}


def _load():
    """Import torch once, at the first call."""
    global torch, F
    if F is None:
        import torch
        import torch.nn.functional as F


class TorchImpl:
    """PyTorch on the CPU, in the spec's dtype. The subclasses below are its execution modes,
    each an implementation of its own (registry.MODES): the same functions, run another way."""

    name = "torch"
    mode = "eager"  # "eager": autograd; "compile": torch.compile (Inductor); "forward": jacfwd
    xfails = Path(__file__).with_name("torch_xfails.txt")  # its known deviations
    device = "cpu"
    matmul_precision = None  # torch.set_float32_matmul_precision for the trace; None: as set

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
        out = {"torch": str(torch.__version__), "mode": self.mode, "device": self.device,
               "default_dtype": str(torch.get_default_dtype()),
               "threads": torch.get_num_threads(),
               "float32_matmul_precision": self.matmul_precision
               or torch.get_float32_matmul_precision(),
               "deterministic": torch.are_deterministic_algorithms_enabled(),
               "composed": COMPOSED,
               "poisson_nll_loss": "eps=0 (log u exactly; torch's default adds 1e-8)"}
        if self.mode == "compile":
            out.update(compile_backend="inductor", fullgraph=True, dynamic=False)
        if self.device == "cuda":
            out.update(gpu=torch.cuda.get_device_name(0),
                       tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
                       tf32_cudnn=torch.backends.cudnn.allow_tf32)
        return out

    def trace(self, spec) -> Trace:
        _load()
        previous = torch.get_float32_matmul_precision()
        if self.matmul_precision:
            torch.set_float32_matmul_precision(self.matmul_precision)
        try:
            return self._run(spec)
        finally:
            torch.set_float32_matmul_precision(previous)

    def trace_stacked(self, stack) -> Trace:
        """Networks on a leading axis run as batched matmuls; one backward serves them all."""
        return self.trace(stack)

    def _run(self, spec) -> Trace:
        """spec.steps steps in the spec's dtype: each step's d, h, e, v (the gradient of each
        pre-activation d) and parameter gradients, then p -= r g."""
        dt = getattr(torch, spec.dtype)
        params = []
        for layer in spec.layers:
            params.append(self._tensor(layer.weights, dt, grad=True))
            params.append(self._tensor(layer.bias, dt, grad=True))
        x, y = self._tensor(spec.inputs, dt), self._tensor(spec.targets, dt)
        steps = []
        for _ in range(spec.steps):
            e, ds, hs, vs, grads = self._step(spec, params, x, y)
            layers = [LayerTrace(_np(d), _np(h), _np(v), _np(grads[2 * k]),
                                 _np(grads[2 * k + 1]))
                      for k, (d, h, v) in enumerate(zip(ds, hs, vs))]
            steps.append(StepTrace(_np(e)[()] if e.ndim == 0 else _np(e), _np(hs[-1]), layers))
            with torch.no_grad():
                for p, g in zip(params, grads):
                    p.add_(g, alpha=-spec.learning_rate)
        final = [{"weights": _np(params[2 * k]), "bias": _np(params[2 * k + 1])}
                 for k in range(len(spec.layers))]
        return Trace(self.name, self.version(), spec.name, spec.dtype, steps, final,
                     self.settings())

    def _tensor(self, array, dt, grad: bool = False):
        """A tensor of the spec's numbers (16-bit ones pass through float32, which holds them
        exactly: torch does not read NumPy's bfloat16)."""
        array = np.asarray(array)
        if array.dtype.itemsize < 4:
            array = array.astype(np.float32)
        return torch.tensor(array, dtype=dt, device=self.device, requires_grad=grad)

    def _step(self, spec, params, x, y):
        """Autograd, eager: v from retain_grad on each d."""
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
        return e, ds, hs, [d.grad for d in ds], [p.grad for p in params]


def _objective(params, zs, x, y, acts, loss, reduction):
    """The summed loss and (e, ds, hs) as a function of the parameters and of perturbations
    z = 0 added to every pre-activation (its gradient is v), for the functional modes."""
    h, ds, hs = x, [], []
    for k, (act, slope) in enumerate(acts):
        d = h @ params[2 * k].transpose(-1, -2) + params[2 * k + 1][..., None, :] + zs[k]
        h = ACTIVATIONS[act](d, slope)
        ds.append(d)
        hs.append(h)
    per_sample = LOSSES[loss](h, y)
    e = per_sample.sum(-1) if reduction == "sum" else per_sample.mean(-1)
    return e.sum(), (e, ds, hs)


def _zeros(spec, x):
    return [torch.zeros(x.shape[:-1] + (n,), dtype=x.dtype, device=x.device)
            for n in spec.sizes[1:]]


class TorchCompileImpl(TorchImpl):
    """torch.compile with the Inductor CPU backend, one graph per architecture and shape
    (fullgraph, no dynamic shapes); the backward through AOTAutograd's compiled graph.
    The first compile of a case takes seconds; Inductor's cache keeps them between runs."""

    name = "torch-compile"
    mode = "compile"
    xfails = Path(__file__).with_name("torch_compile_xfails.txt")  # its known deviations
    MAX_CASE = 200_000  # multiply-adds of a step; larger cases are not compiled

    def __init__(self):
        super().__init__()
        self._compiled: dict = {}

    def unsupported(self, spec) -> str | None:
        work = spec.batch * sum(a * b for a, b in zip(spec.sizes, spec.sizes[1:]))
        if work > self.MAX_CASE:
            return f"too large to compile in a conformance run ({work:,} multiply-adds a step)"
        return None

    def _step(self, spec, params, x, y):
        key = (tuple((layer.activation, layer.slope) for layer in spec.layers), spec.loss,
               spec.reduction, spec.dtype, tuple(x.shape), tuple(spec.sizes))
        if key not in self._compiled:
            config = importlib.import_module("torch._dynamo").config
            config.cache_size_limit = max(config.cache_size_limit, 4096)  # no eager fallback
            config.accumulated_cache_size_limit = max(config.accumulated_cache_size_limit, 4096)
            acts, loss, reduction = key[0], spec.loss, spec.reduction

            def objective(params, zs, x, y):
                return _objective(params, zs, x, y, acts, loss, reduction)

            self._compiled[key] = torch.compile(objective, backend="inductor", fullgraph=True,
                                                dynamic=False)
        zs = [z.requires_grad_() for z in _zeros(spec, x)]
        total, (e, ds, hs) = self._compiled[key](params, zs, x, y)
        grads = torch.autograd.grad(total, params + zs)
        n = len(params)
        return e.detach(), [d.detach() for d in ds], [h.detach() for h in hs], \
            list(grads[n:]), list(grads[:n])


class TorchForwardImpl(ForwardMode, TorchImpl):
    """Forward-mode AD (torch.func.jacfwd): every gradient and v as directional derivatives,
    one direction per parameter and per pre-activation element; small networks only."""

    name = "torch-forward"

    def _step(self, spec, params, x, y):
        from torch.func import jacfwd
        acts = [(layer.activation, layer.slope) for layer in spec.layers]
        plain = [p.detach() for p in params]
        zs = _zeros(spec, x)
        with torch.no_grad():
            _, (e, ds, hs) = _objective(plain, zs, x, y, acts, spec.loss, spec.reduction)

        def total(params, zs):
            return _objective(params, zs, x, y, acts, spec.loss, spec.reduction)[0]

        grads, vs = jacfwd(total, argnums=(0, 1))(plain, zs)
        return e, ds, hs, list(vs), list(grads)


class TorchMatmulHighImpl(TorchImpl):
    """torch.set_float32_matmul_precision("high"): float32 products may use TF32 or
    bfloat16x3 where the hardware has them."""

    name = "torch-matmul-high"
    matmul_precision = "high"


class TorchMatmulMediumImpl(TorchImpl):
    """torch.set_float32_matmul_precision("medium"): float32 products may use bfloat16."""

    name = "torch-matmul-medium"
    matmul_precision = "medium"


class TorchCudaImpl(TorchImpl):
    """The eager mode on the first CUDA device (PyTorch's defaults: TF32 off for matmuls)."""

    name = "torch-cuda"
    device = "cuda"

    def __init__(self):
        super().__init__()
        if not Path("/dev/nvidia0").exists() and not Path("/dev/nvidiactl").exists():
            raise Unavailable("no NVIDIA GPU on this machine (/dev/nvidia0 is missing)")


def _np(t) -> np.ndarray:
    """A view, not a copy, on the CPU: every tensor traced is fresh (gradients are new each
    step, the update changes the parameters in place only after their step is recorded) and
    the final parameters are read after the last update. Arrays may share memory where
    torch's tensors do (identity's h is d): a trace is a record, not to be written to.
    bfloat16 goes through float32 (exactly) to ml_dtypes' bfloat16."""
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:
        return t.float().numpy().astype(np_dtype("bfloat16"))
    return t.numpy()
