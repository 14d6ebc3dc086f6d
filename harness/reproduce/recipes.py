"""How each built-in framework computes one function and its derivative, as the few lines of a
framework-only reproducer: the adapter's own expression for the function (copied from its
ACTIVATIONS or LOSSES table, with the imports it names), then the framework's value or
derivative the way that adapter's mode computes it (reverse mode, jit, Inductor, forward
mode, XLA, a hand-written backward).

body() returns the lines of `framework_value()`, a function that imports the framework,
defines f, evaluates it at the NumPy array `a` and returns one float.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
from dataclasses import dataclass, field
from functools import lru_cache

GENERIC = {"where", "sum", "mean", "zeros_like", "ones_like", "asarray", "full_like", "cast",
           "reduce_sum", "reduce_mean", "square", "exp", "log", "constant", "tensor"}
# calls that are plumbing, not the function a title names


@dataclass(frozen=True)
class Recipe:
    """One framework's way of computing f(a) and d f / d a[J] in a mode (templates with
    {f}: the function, {P}: the upstream factor, {J}: the element)."""

    framework: str  # its distribution (versions, "needs only")
    prelude: tuple = ()  # the framework's imports (and settings) the steps below need
    tensor: str = "a"  # the input made from the NumPy array a
    value: str = "return float(np.ravel(f(x))[0])"
    derivative: tuple = ()
    method_class: str = ""  # d.elu() is this class's method
    provides: tuple = ()  # names the prelude binds (thinc's ops)
    aliases: dict = field(default_factory=dict)  # such a name: what a title calls it
    backward: str = ""  # the adapter's table of hand-written backward functions, if any
    overrides: dict = field(default_factory=dict)  # function: (expression, api) where the
    # adapter composes with helpers of its own that need its module


def _jax(mode: str) -> Recipe:
    jit = (lambda e: e) if mode == "eager" else (lambda e: f"jax.jit({e})")
    if mode == "forward":
        derivative = ("e = np.zeros_like(a)", "e.flat[J] = 1",
                      f"_, g = {jit('lambda x, e: jax.jvp(f, (x,), (e,))')}(x, jnp.asarray(e))",
                      "return float(jnp.sum(g))")
    else:
        derivative = (f"g = {jit('jax.grad(lambda x: jnp.sum(f(x) * P))')}(x)",
                      "return float(g.ravel()[J]) / P")
    return Recipe("jax", ("import jax", 'jax.config.update("jax_enable_x64", True)',
                          "import jax.numpy as jnp"),
                  "jnp.asarray(a)", f"return float({jit('f')}(x).ravel()[0])", derivative)


def _torch(mode: str, device: str | None) -> Recipe:
    where = f", device={device!r}" if device else ""
    compiled = ('f = torch.compile(f, backend="inductor", fullgraph=True, dynamic=False)',) \
        if mode == "compile" else ()
    if mode == "forward":
        derivative = (*compiled, "e = torch.zeros_like(x)", "e.view(-1)[J] = 1",
                      "_, g = torch.func.jvp(f, (x,), (e,))", "return g.sum().item()")
    else:
        derivative = (*compiled, "x.requires_grad_()",
                      "(g,) = torch.autograd.grad((f(x) * P).sum(), x)",
                      "return g.ravel()[J].item() / P")
    return Recipe("torch", ("import torch",), f"torch.tensor(a{where})",
                  "\n".join((*compiled, "return f(x).ravel()[0].item()")), derivative)


def _tensorflow(jit: bool) -> Recipe:
    xla = ("f = tf.function(f, jit_compile=True)",) if jit else ()
    derivative = ("def grad(x):", "    with tf.GradientTape() as tape:",
                  "        tape.watch(x)", "        out = tf.reduce_sum(f(x) * P)",
                  "    return tape.gradient(out, x)",
                  *(("grad = tf.function(grad, jit_compile=True)",) if jit else ()),
                  "return float(tf.reshape(grad(x), [-1])[J]) / P")
    return Recipe("tensorflow", ("import os", 'os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")',
                                 "import tensorflow as tf"),
                  "tf.constant(a)", "\n".join((*xla, "return float(tf.reshape(f(x), [-1])[0])")),
                  derivative)


TINYGRAD = Recipe(
    "tinygrad", ("from tinygrad import Tensor",), "Tensor(a)",
    "out = f(x)\nreturn float(out.numpy().ravel()[0])",
    ("out = f(x)", "(g,) = (out * P).sum().gradient(x)",
     "Tensor.realize(out, g)  # at once, as the adapter (one fused program)",
     "return float(g.numpy().ravel()[J]) / P"), method_class="tinygrad.Tensor")

AUTOGRAD = Recipe(
    "autograd", ("import autograd.numpy as anp",), "a", "return float(np.ravel(f(x))[0])",
    ("from autograd import grad", "g = grad(lambda x: anp.sum(f(x) * P))(x)",
     "return float(np.ravel(g)[J]) / P"),
    overrides={"elu": ("anp.where(d > 0, d, anp.expm1(d))", "autograd.numpy.expm1"),
               "relu": ("anp.where(d > 0, d, 0.0)", ""),
               "leaky_relu": ("anp.where(d > 0, d, s * d)", ""),
               "silu": ("d * special.expit(d)", "autograd.scipy.special.expit")})

MYGRAD = Recipe(
    "mygrad", ("import mygrad as mg",), "mg.tensor(a)", "return float(np.ravel(f(x).data)[0])",
    ("out = f(x)", "out.backward(np.full(out.shape, P, a.dtype))",
     "return float(np.ravel(x.grad)[J]) / P"),
    overrides={"silu": ("d * nnet.sigmoid(d)", "mygrad.nnet.sigmoid")})


THINC = Recipe(
    "thinc", ("from thinc.api import NumpyOps", "ops = NumpyOps()"), "a",
    "return float(np.ravel(f(x))[0])",
    ("h = f(x)", "g = df(np.ones_like(h) * P, x, h)  # thinc's own backward function",
     "return float(np.ravel(g)[J]) / P"), provides=("ops",), backward="BACKWARD",
    aliases={"ops": "thinc.api.NumpyOps"})


MINDSPORE = Recipe(
    "mindspore", ("import mindspore as ms", 'ms.set_device("CPU")', "from mindspore import Tensor"),
    "Tensor(a)", "return float(f(x).asnumpy().ravel()[0])",
    ("g = ms.grad(lambda x: (f(x) * P).sum())(x)", "return float(g.asnumpy().ravel()[J]) / P"))


def _adapter_class(impl):
    """The adapter's class. One behind the process wall is a proxy: a shipped built-in's class
    is then read from the registry's target (its module imports no framework until a trace),
    and only its class attributes (mode, device, jit) are read; any other is None."""
    if getattr(impl, "walled", False) is not True:
        return type(impl)
    from ..registry import BUILTINS, MODES
    target = {**BUILTINS, **MODES}.get(impl.name)
    if target is None:
        return None
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr, None)


def recipe(impl) -> tuple[Recipe, str] | None:
    """(the recipe, the adapter module) of a built-in implementation object, else None."""
    cls = _adapter_class(impl)
    module = getattr(cls, "__module__", None)
    if module == "impls.jax_grad":
        return _jax(cls.mode), module
    if module == "impls.torch_autograd":
        return _torch(cls.mode, cls.device if cls.device not in (None, "cpu") else None), module
    if module == "impls.tensorflow_impl":
        return _tensorflow(cls.jit), module
    fixed = {"impls.tinygrad_impl": TINYGRAD, "impls.autograd_impl": AUTOGRAD,
             "impls.mygrad_impl": MYGRAD, "impls.thinc_impl": THINC,
             "impls.mindspore_impl": MINDSPORE}
    found = fixed.get(module)
    return (found, module) if found is not None else None


# ------------------------------------------------------------ the adapter's own expressions

@lru_cache(maxsize=None)
def _module(module: str):
    source = inspect.getsource(importlib.import_module(module))
    return source, ast.parse(source)


def _imports(module: str) -> dict[str, str]:
    """name -> the import statement that binds it, anywhere in the adapter's source (the
    framework's imports are made on first use, inside functions)."""
    _, tree = _module(module)
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            base = node.module if isinstance(node, ast.ImportFrom) else None
            if base and base.split(".")[0] in ("harness", "impls", "__future__"):
                continue
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                one = (ast.ImportFrom(base, [alias], 0) if base else ast.Import([alias]))
                out[bound] = ast.unparse(one)
    return out


def _table_entry(module: str, table: str, name: str) -> ast.Lambda | None:
    source, tree = _module(module)
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == table:
            for k, v in zip(node.value.keys, node.value.values):
                if ast.literal_eval(k) == name:
                    return v
    return None


def _free(node: ast.AST) -> set[str]:
    loaded = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
              and isinstance(n.ctx, ast.Load)}
    bound = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Store)}
    args = {a.arg for n in ast.walk(node) if isinstance(n, (ast.FunctionDef, ast.Lambda))
            for a in n.args.args}
    return loaded - bound - args - set(dir(builtins))


def _helpers(module: str, names: set[str], imports: dict, seen: set) -> list[str] | None:
    """Sources of the module-level helpers and constants among `names` (recursively), or
    None when one needs module state (a global set at run time)."""
    source, tree = _module(module)
    top = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            top[node.name] = node
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name):
            top[node.targets[0].id] = node
    out = []
    for name in sorted(names - seen - set(imports) - {"np", "math"}):
        node = top.get(name)
        if node is None or isinstance(node, ast.Assign) and not _constant(node.value):
            return None
        seen.add(name)
        if isinstance(node, ast.Assign):
            out.append(ast.get_source_segment(source, node))
            continue
        if any(isinstance(n, ast.Global) for n in ast.walk(node)):
            return None
        inner = _helpers(module, _free(node), imports, seen)
        if inner is None:
            return None
        out += inner + [ast.get_source_segment(source, node)]
    return out


def _constant(node) -> bool:
    """A number, or arithmetic on numbers and math's functions (math.sqrt(2 / math.pi))."""
    return all(isinstance(n, (ast.Constant, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop,
                              ast.Call, ast.Attribute, ast.Load))
               or isinstance(n, ast.Name) and n.id == "math" for n in ast.walk(node))


def _expression(module: str, rec: Recipe, function: str, loss: bool, slope: float,
                table: str = ""):
    """(expression text, its parameters, the imports and helpers it needs, its API) of the
    adapter's table entry, or None when it needs its module's state."""
    imports = _imports(module)
    if table:
        node = _table_entry(module, table, function)
        if node is None:
            return None
        expr, params, api = node.body, [a.arg for a in node.args.args], ""
    elif not loss and function in rec.overrides:
        text, api = rec.overrides[function]
        expr, params = ast.parse(text, mode="eval").body, ["d", "s"]
    else:
        node = _table_entry(module, "LOSSES" if loss else "ACTIVATIONS", function)
        if node is None:
            return None
        if not isinstance(node, ast.Lambda):  # a helper function of the adapter's
            node = ast.parse(f"lambda u, y: {node.id}(u, y)", mode="eval").body
        expr, params, api = node.body, [a.arg for a in node.args.args], ""
    if not table:  # an activation's slope parameter; a backward's are (dh, d, h)
        expr = _slope(expr, params, slope)
    names = _free(ast.Expression(expr)) - set(params) - ({"y"} if loss else set()) - \
        set(rec.provides)
    helpers = _helpers(module, names, imports, set())
    if helpers is None:
        return None
    used = [imports[n] for n in sorted(names) if n in imports]
    for helper in helpers:
        used += [imports[n] for n in sorted(_free(ast.parse(helper))) if n in imports]
    return ast.unparse(expr), params, used, helpers, api or _api(expr, imports, rec)


def function_source(module: str, rec: Recipe, function: str, part: str, slope: float,
                    loss_through: str = "identity") -> tuple[list[str], str] | None:
    """(the lines defining f and what it needs, the API named in a title) of an activation
    (parts f, t) or a loss (fe, te; through the sigmoid for binary cross-entropy's probe, as
    its probe is), or None when the adapter's expression needs its module's state."""
    loss = part in ("fe", "te")
    main = _expression(module, rec, function, loss, slope)
    if main is None:
        return None
    text, params, used, helpers, api = main
    param = params[0]
    defs = [f"def f({param}):", f"    return {text}"]
    if rec.backward and part == "t":  # the adapter's hand-written backward of f
        back = _expression(module, rec, function, False, slope, rec.backward)
        if back is None:
            return None
        used, helpers = used + back[2], helpers + back[3]
        defs += ["", f"def df({', '.join(back[1])}):", f"    return {back[0]}"]
    if loss and loss_through != "identity":
        act = _expression(module, rec, loss_through, False, slope)
        if act is None:
            return None
        used, helpers = act[2] + used, act[3] + helpers
        defs = [f"def act({act[1][0]}):", f"    return {act[0]}", "", "",
                "def f(d):", f"    {param} = act(d)", f"    return {text}"]
    return [*dict.fromkeys(used), "", *dict.fromkeys(helpers), *defs], api


def _slope(expr, params, slope):
    """The table's slope parameter replaced by the claim's slope."""
    if len(params) < 2 or params[1] == "y":
        return expr
    name = params[1]

    class Put(ast.NodeTransformer):
        def visit_Name(self, node):
            return ast.Constant(slope) if node.id == name else node

    return ast.fix_missing_locations(Put().visit(expr))


def _api(expr, imports: dict, rec: Recipe) -> str:
    """The framework's function the expression calls (the first that is no plumbing), as a
    reader upstream writes it: torch.nn.functional.elu, jax.nn.elu, tf.nn.elu,
    tinygrad.Tensor.elu; '' when it calls none."""
    for node in ast.walk(expr):
        if not isinstance(node, ast.Call):
            continue
        parts, f = [], node.func
        while isinstance(f, ast.Attribute):
            parts.insert(0, f.attr)
            f = f.value
        if not isinstance(f, ast.Name) or (parts and parts[-1] in GENERIC) or \
                (not parts and f.id in GENERIC):
            continue
        if f.id in rec.aliases:
            return ".".join([rec.aliases[f.id], *parts])
        if f.id in imports:
            stmt = ast.parse(imports[f.id]).body[0]
            alias = stmt.names[0]
            if isinstance(stmt, ast.ImportFrom):
                root = f"{stmt.module}.{alias.name}"
            else:
                root = f.id if "." not in alias.name else alias.name
            return ".".join([root, *parts])
        if rec.method_class and parts:  # d.elu(): a method of the framework's tensor
            return f"{rec.method_class}.{parts[0]}"
    return ""
