"""JAX adapter: a pure loss of (params, zs, x, y) from jax.nn and jax.numpy, under jax.grad.

v is JAX's own gradient with respect to zero perturbations z added to every pre-activation d
(d = x W^T + b + z, z = 0). One jitted step function per architecture (activations, slopes,
loss, reduction) is cached, so a suite of many networks compiles each shape once, and JAX's
persistent compilation cache keeps the compiled code between runs.
Convention mapping (docs/conventions.md): leaky_relu is written where(d > 0, d, slope d), because
jax.nn.leaky_relu takes the identity branch at 0 and would give leaky_relu'(0) = 1.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from functools import lru_cache
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
# XLA takes ~0.3 s to compile each architecture on a CPU; JAX's persistent compilation cache
# keeps the executables between runs. BACKPROP_HARNESS_JAX_CACHE=off disables it, a path moves it.
CACHE = os.environ.get("BACKPROP_HARNESS_JAX_CACHE",
                       str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                           / "backprop-harness" / "jax"))
if CACHE.lower() not in ("", "0", "off", "none"):
    try:
        jax.config.update("jax_compilation_cache_dir", CACHE)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    except AttributeError:  # "Unrecognized config option": older jax (0.4.20) lacks them
        CACHE = "off (this jax lacks the options)"
else:
    CACHE = "off"


def _home_as_tilde(path: str) -> str:
    """~/... for a path in the home folder: a report shows no user's folder."""
    home = str(Path.home())
    return "~" + path[len(home):] if path == home or path.startswith(home + os.sep) else path


import jax.numpy as jnp  # noqa: E402  (after enabling float64)
import numpy as np  # noqa: E402
from jax.scipy.special import xlog1py, xlogy  # noqa: E402

from harness.registry import Unavailable  # noqa: E402
from harness.trace import LayerTrace, StepTrace, Trace  # noqa: E402
from impls.forward_mode import ForwardMode  # noqa: E402

ACTIVATIONS = {
    "identity": lambda d, s: d,
    "sigmoid": lambda d, s: jax.nn.sigmoid(d),
    "tanh": lambda d, s: jnp.tanh(d),
    "relu": lambda d, s: jax.nn.relu(d),
    "leaky_relu": lambda d, s: jnp.where(d > 0, d, s * d),
    "softplus": lambda d, s: jax.nn.softplus(d),
    "elu": lambda d, s: jax.nn.elu(d),
    "silu": lambda d, s: jax.nn.silu(d),
    "gelu": lambda d, s: jax.nn.gelu(d, approximate=False),
    "gelu_tanh": lambda d, s: jax.nn.gelu(d, approximate=True),
    "relu6": lambda d, s: jax.nn.relu6(d),
    "selu": lambda d, s: jax.nn.selu(d),
    "celu": lambda d, s: jax.nn.celu(d, alpha=s),
    "log_sigmoid": lambda d, s: jax.nn.log_sigmoid(d),
    "softsign": lambda d, s: jax.nn.soft_sign(d),
    "mish": lambda d, s: jax.nn.mish(d),
    "hard_sigmoid": lambda d, s: jax.nn.hard_sigmoid(d),
    "hard_swish": lambda d, s: jax.nn.hard_swish(d),
    "hard_tanh": lambda d, s: jax.nn.hard_tanh(d) - _at_kinks(d, 1.0),
}


def _at_kinks(d, at):
    """0, with derivative 1 where |d| == at: subtracted, it moves a built-in's convention at
    its kinks (jax.nn.hard_tanh'(±1) = 1, jnp.abs'(0) = 1) onto the spec's (0) and leaves f
    as it is."""
    return (d - jax.lax.stop_gradient(d)) * (jnp.abs(jax.lax.stop_gradient(d)) == at)

LOSSES = {  # per-sample losses
    "squared_error": lambda u, y: 0.5 * jnp.sum((u - y) ** 2, axis=-1),
    "mse": lambda u, y: jnp.mean((u - y) ** 2, axis=-1),
    "softmax_cross_entropy": lambda u, y: -jnp.sum(y * jax.nn.log_softmax(u, axis=-1), axis=-1),
    "binary_cross_entropy": lambda u, y: -jnp.sum(xlogy(y, u) + xlog1py(1 - y, -u), axis=-1),
    "l1": lambda u, y: jnp.mean(jnp.abs(u - y) - _at_kinks(u - y, 0.0), axis=-1),
    "huber": lambda u, y: jnp.mean(_huber(u - y), axis=-1),
    "log_cosh": lambda u, y: jnp.mean(jnp.logaddexp(u - y, y - u) - jnp.log(2.0).astype(u.dtype),
                                      axis=-1),
    "kl_divergence": lambda u, y: jnp.sum(xlogy(y, y) - y * u, axis=-1),
    "poisson": lambda u, y: jnp.mean(u - xlogy(y, u), axis=-1),
    "hinge": lambda u, y: jnp.mean(jax.nn.relu(1 - y * u), axis=-1),
    "bce_with_logits": lambda u, y: -jnp.sum(y * jax.nn.log_sigmoid(u)
                                             + (1 - y) * jax.nn.log_sigmoid(-u), axis=-1),
}

COMPOSED = {  # jax.nn has no losses: each is optax's form (optax is not a dependency)
    "leaky_relu": "where(d > 0, d, slope d) (jax.nn.leaky_relu'(0) is 1)",
    "hard_tanh": "jax.nn.hard_tanh(d) with its derivative at ±1 moved to 0 (its own is 1)",
    "l1": "composed mean |u - y|, its derivative at u = y moved from jnp.abs'(0) = 1 to 0",
    "huber": "composed as keras.losses.huber (delta 1; optax's form loses tiny gradients)",
    "log_cosh": "composed as optax.log_cosh: logaddexp(r, -r) - log 2",
    "kl_divergence": "composed as optax.kl_divergence: xlogy(y, y) - y u",
    "poisson": "composed u - xlogy(y, u)",
    "hinge": "composed relu(1 - y u) (optax.hinge_loss's maximum splits its derivative at "
             "the kink)",
    "bce_with_logits": "composed as optax.sigmoid_binary_cross_entropy: -y log_sigmoid(u) "
                       "- (1 - y) log_sigmoid(-u)",
}


def _huber(r, delta=1.0):
    """Keras's form, where(|r| <= delta, r^2 / 2, delta (|r| - delta / 2)). optax's, 0.5 q^2 +
    delta (|r| - q) with q = min(|r|, delta), accumulates its derivative as (r + 1) - 1 and
    loses it for |r| < eps (0 at r = 2.4e-181): docs/findings/surface.md."""
    a = jnp.abs(r)
    return jnp.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def _forward(acts, params, zs, x):
    ds, hs, h = [], [], x
    for (w, b), z, (act, slope) in zip(params, zs, acts):
        d = h @ jnp.swapaxes(w, -1, -2) + b[..., None, :] + z
        h = ACTIVATIONS[act](d, slope)
        ds.append(d)
        hs.append(h)
    return ds, hs


@lru_cache(maxsize=None)
def step_fn(acts: tuple, loss: str, reduction: str, mode: str = "jit",
            precision: str | None = None):
    """(params, x, y, r) -> (e, ds, hs, g_params, vs, new_params) for one architecture:
    reverse mode (jax.grad) jitted ("jit"), or op by op ("eager"), or forward mode (jax.jacfwd,
    jitted: "forward"); under jax.default_matmul_precision(precision) when one is given."""
    reduce = jnp.sum if reduction == "sum" else jnp.mean

    def objective(params, zs, x, y):
        ds, hs = _forward(acts, params, zs, x)
        e = reduce(LOSSES[loss](hs[-1], y), axis=-1)
        return jnp.sum(e), (e, ds, hs)  # stacked networks are independent: their sum serves

    grad = jax.value_and_grad(objective, argnums=(0, 1), has_aux=True)

    def step(params, x, y, r):
        zs = [jnp.zeros(x.shape[:-1] + w.shape[-2:-1], x.dtype) for w, _ in params]
        with jax.default_matmul_precision(precision) if precision else nullcontext():
            if mode == "forward":
                _, (e, ds, hs) = objective(params, zs, x, y)
                g_params, vs = jax.jacfwd(lambda p, z: objective(p, z, x, y)[0],
                                          argnums=(0, 1))(params, zs)
            else:
                (_, (e, ds, hs)), (g_params, vs) = grad(params, zs, x, y)
        new = jax.tree_util.tree_map(lambda p, g: p - r * g, params, g_params)
        return e, ds, hs, g_params, vs, new

    return step if mode == "eager" else jax.jit(step)


def _arguments(spec, device=None) -> tuple:
    """The step's arguments on the device. jax.device_put copies the arrays as they are;
    jnp.asarray would compile a conversion for every read-only input shape (~1.5 s cold)."""
    params = [(layer.weights, layer.bias) for layer in spec.layers]
    return jax.device_put((params, spec.inputs, spec.targets), device) + (
        np.dtype(spec.dtype).type(spec.learning_rate),)


def _steps(step, n: int, params, x, y, r) -> tuple:
    """n updates with one step function: ([(e, ds, hs, g_params, vs) per step], final params)."""
    states = []
    for _ in range(n):
        *state, params = step(params, x, y, r)
        states.append(state)
    return states, params


def _program(specs: list, step):
    """One jitted program that takes one step of every spec: each spec's own jitted step,
    inlined (`step(spec)` gives it). Called once per step (a spec's updated parameters fed
    back), so a 10-step case costs one step's compile, as it does on its own."""
    fns = [step(s) for s in specs]

    def run(all_args):
        return [f(*args) for f, args in zip(fns, all_args)]

    return jax.jit(run)


def _run_group(specs: list, step, device) -> list:
    """Every spec's (states, final params), as _steps gives them, through one _program."""
    program, args = _program(specs, step), [_arguments(s, device) for s in specs]
    states = [[] for _ in specs]
    for k in range(max(s.steps for s in specs)):
        for i, (spec, (*state, params)) in enumerate(zip(specs, program(args))):
            if k < spec.steps:  # a finished spec's further steps are dropped
                states[i].append(state)
                args[i] = (params, *args[i][1:])
    return [(st, a[0]) for st, a in zip(states, args)]


class JaxImpl:
    """jax.grad under jit on the CPU, float64 enabled. The subclasses below are its execution
    modes, each an implementation of its own (registry.MODES)."""

    name = "jax"
    mode = "jit"  # "jit", "eager" (op by op) or "forward" (jax.jacfwd under jit)
    precision = None  # jax.default_matmul_precision for the step; None: JAX's default
    device = None  # None: JAX's default device (the CPU here)
    xfails = Path(__file__).with_name("jax_xfails.txt")  # its known deviations
    GROUP_LIMIT = 1_000_000  # multiply-adds of a whole run; larger specs compile on their own
    GROUP_SIZE = 16  # specs per program
    GROUP_STEPS = 64  # a group runs as many steps as its longest spec

    def version(self) -> str:
        return jax.__version__

    def settings(self) -> dict:
        device = self.device or jax.devices()[0]
        return {"jax": jax.__version__, "mode": self.mode, "device": str(device).lower(),
                "platform": device.platform, "x64": bool(jax.config.jax_enable_x64),
                "default_matmul_precision": self.precision
                or str(jax.config.jax_default_matmul_precision),
                "jit": self.mode != "eager", "compilation_cache": _home_as_tilde(CACHE),
                "cpu_flushes_subnormals": device.platform == "cpu", "composed": COMPOSED}

    def _step(self, spec):
        """The step function of spec's architecture in this mode."""
        return step_fn(tuple((layer.activation, layer.slope) for layer in spec.layers),
                       spec.loss, spec.reduction, self.mode, self.precision)

    def trace(self, spec) -> Trace:
        return self._trace(spec, _steps(self._step(spec), spec.steps,
                                        *_arguments(spec, self.device)))

    def trace_many(self, specs) -> list[Trace]:
        """The small specs a group at a time, each group one XLA program. XLA's cost is
        mostly per program, not per operation: the default suite compiles in about half the
        time it takes as one program per case, and the numbers are bit for bit the same
        (tested). Specs are grouped by step count, so a group runs few steps it drops."""
        small = sorted((s for s in specs
                        if s.steps <= self.GROUP_STEPS and s.batch * s.steps
                        * sum(a * b for a, b in zip(s.sizes, s.sizes[1:])) <= self.GROUP_LIMIT),
                       key=lambda s: s.steps)
        done = {}
        for i in range(0, len(small) if self.mode != "eager" else 0, self.GROUP_SIZE):
            group = small[i:i + self.GROUP_SIZE]
            for spec, run in zip(group, _run_group(group, self._step, self.device)):
                done[id(spec)] = self._trace(spec, run)
        return [done.get(id(spec)) or self.trace(spec) for spec in specs]

    def trace_stacked(self, stack) -> Trace:
        """Networks on a leading axis run batched under the same jit, like jax.vmap."""
        return self.trace(stack)

    def _trace(self, spec, run) -> Trace:
        """The trace of one spec from its (states, final params)."""
        states, params = run
        steps = []
        for e, ds, hs, g_params, vs in states:
            layers = [LayerTrace(*(np.asarray(a) for a in (d, h, v, gw, gb)))
                      for d, h, v, (gw, gb) in zip(ds, hs, vs, g_params)]
            steps.append(StepTrace(np.asarray(e)[()], np.asarray(hs[-1]), layers))
        final = [{"weights": np.asarray(w), "bias": np.asarray(b)} for w, b in params]
        return Trace(self.name, self.version(), spec.name, spec.dtype, steps, final,
                     self.settings())


class JaxEagerImpl(JaxImpl):
    """jax.grad op by op, no jit: each primitive dispatched on its own (XLA cannot fuse)."""

    name = "jax-eager"
    mode = "eager"


class JaxForwardImpl(ForwardMode, JaxImpl):
    """Forward-mode AD (jax.jacfwd) under jit: every gradient and v as directional
    derivatives, one direction per parameter and pre-activation element; small networks."""

    name = "jax-forward"


class JaxMatmulBfloat16Impl(JaxImpl):
    """jax.default_matmul_precision("bfloat16"): one bfloat16 pass where the hardware has it."""

    name = "jax-matmul-bfloat16"
    precision = "bfloat16"


class JaxMatmulTensorfloat32Impl(JaxImpl):
    """jax.default_matmul_precision("tensorfloat32"): TF32-class products on a GPU."""

    name = "jax-matmul-tensorfloat32"
    precision = "tensorfloat32"


class JaxMatmulHighestImpl(JaxImpl):
    """jax.default_matmul_precision("highest"): full float32 products everywhere."""

    name = "jax-matmul-highest"
    precision = "highest"


class JaxGpuImpl(JaxImpl):
    """The jit mode on JAX's first GPU, at JAX's default matmul precision (TF32-class for
    float32 on Ampere and newer)."""

    name = "jax-gpu"

    def __init__(self):
        try:
            self.device = jax.devices("gpu")[0]
        except RuntimeError as exc:
            raise Unavailable(f"no GPU backend for jax ({str(exc).splitlines()[0]})") from None
