"""The case replay: for a divergence that does not reduce to one function at one input (it
needs the network), a script per torch or jax implementation that imports only the framework
and NumPy and replays the whole case.

A script inlines the case's numbers, computes the failing quantity (the divergence origin)
the way the adapter does (the adapter's own activation and loss expressions are copied from
its source, so there is one place for each), prints the framework's value, the exact value
and the error, and exits 1 while the error exceeds the harness's tolerance for that element
(computed against the exact oracle when generated), 0 once it does not.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json

from ..errors import HarnessError
from ..judge import Verdict
from ..registry import get
from ..spec import Spec

FRAMEWORKS = {"torch": ("impls.torch_autograd", "torch"), "jax": ("impls.jax_grad", "jax")}
# (the adapter module of each framework whose implementations, modes included, get scripts)


def _table_sources(module: str, table: str, names) -> str:
    """`table = {name: <the adapter's own expression>, ...}` for the names used, copied from
    the adapter module's source."""
    tree = ast.parse(inspect.getsource(importlib.import_module(module)))
    source = inspect.getsource(importlib.import_module(module))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == table:
            items = [f"    {ast.get_source_segment(source, k)}: "
                     f"{ast.get_source_segment(source, v)},"
                     for k, v in zip(node.value.keys, node.value.values)
                     if ast.literal_eval(k) in names]
            return f"{table} = {{\n" + "\n".join(items) + "\n}"
    raise LookupError(f"{module} has no table {table}")


def _data(spec: Spec) -> str:
    layers = [(layer.weights.tolist(), layer.bias.tolist(), layer.activation, layer.slope)
              for layer in spec.layers]
    return (f"DTYPE = {spec.dtype!r}\n"
            f"LAYERS = {json.dumps(layers)}  # (weights, bias, activation, slope)\n"
            f"X = {json.dumps(spec.inputs.tolist())}\n"
            f"Y = {json.dumps(spec.targets.tolist())}\n"
            f"LOSS, REDUCTION = {spec.loss!r}, {spec.reduction!r}\n"
            f"LEARNING_RATE, STEPS = {spec.learning_rate!r}, {spec.steps}\n")


TORCH = '''
def values(t):
    t = t.detach().cpu()
    return (t.double() if t.dtype == torch.bfloat16 else t).numpy().copy()


def objective(params, zs, x, y):
    h, ds, hs = x, [], []
    for k, (_, _, act, slope) in enumerate(LAYERS):
        d = h @ params[2 * k].transpose(-1, -2) + params[2 * k + 1][..., None, :]
        if zs is not None:
            d = d + zs[k]
        h = ACTIVATIONS[act](d, slope)
        ds.append(d)
        hs.append(h)
    per_sample = LOSSES[LOSS](h, y)
    return (per_sample.sum(-1) if REDUCTION == "sum" else per_sample.mean(-1)), ds, hs


def step(params, x, y):
    """e, ds, hs, v and the gradients, the way the mode computes them: eager autograd (v
    from retain_grad on d), torch.compile (v the gradient of zero perturbations of d), or
    forward mode (torch.func.jacfwd)."""
    if MODE == "eager":
        for p in params:
            p.grad = None
        e, ds, hs = objective(params, None, x, y)
        for d in ds:
            d.retain_grad()
        e.backward()
        return e, ds, hs, [d.grad for d in ds], [p.grad for p in params]
    zs = [torch.zeros(x.shape[:-1] + (len(b),), dtype=x.dtype, device=x.device)
          for _, b, _, _ in LAYERS]
    if MODE == "compile":
        compiled = torch.compile(objective, backend="inductor", fullgraph=True, dynamic=False)
        zs = [z.requires_grad_() for z in zs]
        e, ds, hs = compiled(params, zs, x, y)
        grads = torch.autograd.grad(e, params + zs)
        return e, ds, hs, grads[len(params):], grads[:len(params)]
    plain = [p.detach() for p in params]
    with torch.no_grad():
        e, ds, hs = objective(plain, zs, x, y)
    g, vs = torch.func.jacfwd(lambda p, z: objective(p, z, x, y)[0], argnums=(0, 1))(plain, zs)
    return e, ds, hs, vs, g


def run():
    """The adapter's steps, then p -= r g (torch.optim.SGD's arithmetic)."""
    if MATMUL_PRECISION:
        torch.set_float32_matmul_precision(MATMUL_PRECISION)
    dt = getattr(torch, DTYPE)
    params = []
    for w, b, _, _ in LAYERS:
        params += [torch.tensor(w, dtype=dt, device=DEVICE, requires_grad=True),
                   torch.tensor(b, dtype=dt, device=DEVICE, requires_grad=True)]
    x = torch.tensor(X, dtype=dt, device=DEVICE)
    y = torch.tensor(Y, dtype=dt, device=DEVICE)
    steps = []
    for _ in range(STEPS):
        e, ds, hs, vs, grads = step(params, x, y)
        steps.append({"loss": values(e), "outputs": values(hs[-1]), "layers": [
            {"d": values(d), "h": values(h), "v": values(v), "grad_weights": values(gw),
             "grad_bias": values(gb)}
            for d, h, v, gw, gb in zip(ds, hs, vs, grads[0::2], grads[1::2])]})
        with torch.no_grad():
            for p, g in zip(params, grads):
                p.add_(g, alpha=-LEARNING_RATE)
    final = [{"weights": values(params[2 * k]), "bias": values(params[2 * k + 1])}
             for k in range(len(LAYERS))]
    return steps, final
'''

JAX = '''
def run():
    """The adapter's steps: v as JAX's gradient with respect to zero perturbations z of every
    pre-activation d (reverse mode, or jax.jacfwd in forward mode), under jit unless eager,
    under jax.default_matmul_precision when one is set; then p - r * g."""
    reduce = jnp.sum if REDUCTION == "sum" else jnp.mean

    def objective(params, zs, x, y):
        ds, hs, h = [], [], x
        for (w, b), z, (_, _, act, slope) in zip(params, zs, LAYERS):
            d = h @ jnp.swapaxes(w, -1, -2) + b[..., None, :] + z
            h = ACTIVATIONS[act](d, slope)
            ds.append(d)
            hs.append(h)
        e = reduce(LOSSES[LOSS](hs[-1], y), axis=-1)
        return jnp.sum(e), (e, ds, hs)

    grad = jax.value_and_grad(objective, argnums=(0, 1), has_aux=True)

    def step(params, x, y, r):
        zs = [jnp.zeros(x.shape[:-1] + w.shape[-2:-1], x.dtype) for w, _ in params]
        with jax.default_matmul_precision(PRECISION) if PRECISION else nullcontext():
            if MODE == "forward":
                _, (e, ds, hs) = objective(params, zs, x, y)
                g, vs = jax.jacfwd(lambda p, z: objective(p, z, x, y)[0],
                                   argnums=(0, 1))(params, zs)
            else:
                (_, (e, ds, hs)), (g, vs) = grad(params, zs, x, y)
        return e, ds, hs, g, vs, jax.tree_util.tree_map(lambda p, q: p - r * q, params, g)

    if MODE != "eager":
        step = jax.jit(step)
    device = jax.devices(DEVICE)[0] if DEVICE else None
    params = jax.device_put([(np.array(w, DTYPE), np.array(b, DTYPE))
                             for w, b, _, _ in LAYERS], device)
    x, y = jax.device_put((np.array(X, DTYPE), np.array(Y, DTYPE)), device)
    r = np.dtype(DTYPE).type(LEARNING_RATE)
    steps = []
    for _ in range(STEPS):
        e, ds, hs, g, vs, params = step(params, x, y, r)
        steps.append({"loss": np.asarray(e), "outputs": np.asarray(hs[-1]), "layers": [
            {"d": np.asarray(d), "h": np.asarray(h), "v": np.asarray(v),
             "grad_weights": np.asarray(gw), "grad_bias": np.asarray(gb)}
            for d, h, v, (gw, gb) in zip(ds, hs, vs, g)]})
    final = [{"weights": np.asarray(w), "bias": np.asarray(b)} for w, b in params]
    return steps, final
'''

HEADERS = {
    "torch": "import numpy as np\nimport torch\nimport torch.nn.functional as F\n",
    "jax": ("from contextlib import nullcontext\n\nimport jax\n\n"
            "jax.config.update(\"jax_enable_x64\", True)\n\n"
            "import jax.numpy as jnp  # noqa: E402\nimport numpy as np  # noqa: E402\n"
            "from jax.scipy.special import xlog1py, xlogy  # noqa: E402,F401\n"),
}
TEMPLATES = {"torch": TORCH, "jax": JAX}
VERSION = {"torch": "torch.__version__", "jax": "jax.__version__"}

CHECK = '''

def pick(steps, final):
    if STEP is None:
        return np.asarray(final[LAYER][QUANTITY])[INDEX]
    step = steps[STEP]
    if QUANTITY in ("loss", "outputs"):
        return np.asarray(step[QUANTITY])[INDEX]
    return np.asarray(step["layers"][LAYER][QUANTITY])[INDEX]


if __name__ == "__main__":
    value = float(pick(*run()))
    error = abs(value - EXACT)
    print(f"{{FRAMEWORK}} {{VERSION_TEXT}}: {{WHAT}} = {{value!r}}")
    print(f"exact (60 digits, rounded to {{DTYPE}}): {{EXACT!r}}")
    print(f"error {{error:.3g}} (relative {{error / abs(EXACT) if EXACT else float('inf'):.3g}}); "
          f"allowed {{ALLOWED:.3g}}")
    sys.exit(1 if not error <= ALLOWED else 0)
'''


def script(name: str, spec: Spec, verdict: Verdict, exact_value: float,
           allowed: float) -> str:
    """The self-contained reproducer of verdict's origin for the implementation `name` (torch,
    jax or one of their modes)."""
    framework, module, settings = _framework(name)
    o = verdict.origin
    acts = {layer.activation for layer in spec.layers}
    what = o.label + (f"[{', '.join(map(str, o.worst_index))}]" if o.worst_index else "")
    return "\n".join([
        f"# {name!r}: {what} of case {spec.name!r} ({spec.dtype}) against the exact value.",
        "# Written by backprop-harness; needs only " + framework + " and NumPy. Exit 1 while the",
        "# error exceeds the allowed one (the harness's tolerance for this element), else 0.",
        "", "import sys", HEADERS[framework],
        _data(spec),
        "\n".join(f"{key} = {value!r}" for key, value in settings.items()), "",
        _table_sources(module, "ACTIVATIONS", acts), "",
        _table_sources(module, "LOSSES", {spec.loss}),
        TEMPLATES[framework],
        f"FRAMEWORK, VERSION_TEXT = {name!r}, {VERSION[framework]}",
        f"WHAT = {what!r}",
        f"STEP, QUANTITY, LAYER = {o.step!r}, {o.quantity!r}, {o.layer!r}",
        f"INDEX = {tuple(o.worst_index)!r}",
        f"EXACT = {exact_value!r}",
        f"ALLOWED = {allowed!r}",
        CHECK.replace("{{", "{").replace("}}", "}")])


def _framework(name: str) -> tuple[str, str, dict]:
    """(framework, its adapter module, the mode's settings for the template) of a built-in
    implementation, from its adapter object."""
    impl = get(name).impl
    module, attrs = _adapter(impl)
    if module == FRAMEWORKS["torch"][0]:
        return "torch", module, {"MODE": attrs["mode"],
                                 "MATMUL_PRECISION": attrs["matmul_precision"],
                                 "DEVICE": attrs["device"]}
    device = attrs["device"]
    device = getattr(device, "platform", device)  # a jax Device in this process
    return "jax", module, {"MODE": attrs["mode"], "PRECISION": attrs["precision"],
                           "DEVICE": device}


def _adapter(impl) -> tuple[str, dict]:
    """(the adapter's module, its mode attributes), in this process or as its worker said."""
    if getattr(impl, "walled", False) is True:
        return impl.adapter_module, impl.attrs
    return type(impl).__module__, {a: getattr(impl, a, None) for a in
                                   ("mode", "matmul_precision", "precision", "device")}


def frameworks_of(verdict: Verdict) -> list[str]:
    """The implementations of either side that are torch, jax or one of their modes."""
    modules = {module for module, _ in FRAMEWORKS.values()}
    out = []
    for name in (verdict.impl, verdict.baseline):
        try:
            info = get(name)
        except HarnessError:
            continue
        if info.available and _adapter(info.impl)[0] in modules:
            out.append(name)
    return out


