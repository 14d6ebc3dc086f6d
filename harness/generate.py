"""The compact generated spec form, expanded deterministically to explicit weights and data.

    {"name": "tanh-4-8-2", "loss": "mse", "learning_rate": 0.1, "dtype": "float32",
     "generate": {"sizes": [4, 8, 2], "activation": "tanh", "batch": 8, "seed": 3,
                  "init": "xavier", "input_scale": 1.0, "weight_scale": 1.0}}

Numbers come from numpy's PCG64 generator seeded with `seed`, drawn in float64 in a fixed
order (weights and biases layer by layer, then inputs, then targets) and rounded once to the
spec's dtype, so every machine and every implementation sees the same network.
"""

from __future__ import annotations

import numpy as np

from impls.reference import ACTIVATIONS

GENERATE_FIELDS = {"sizes", "activation", "batch", "seed", "init", "input_scale",
                   "weight_scale", "bias_scale", "slope", "alpha"}
INITS = ("xavier", "he", "normal", "uniform")
MAX_GENERATED_ELEMENTS = 50_000_000  # parameters + data; refused before anything is allocated


def expand(doc: dict, c) -> dict:
    """The explicit spec document for a generated one (validated further by the caller)."""
    g = c.mapping(doc["generate"], "generate", GENERATE_FIELDS)
    sizes = c.require(g, "sizes", "generate")
    if not isinstance(sizes, list) or len(sizes) < 2:
        c.fail("generate.sizes", "expected a list of at least 2 layer widths, input first")
    sizes = [c.integer(n, f"generate.sizes[{i}]", 1, 1_000_000) for i, n in enumerate(sizes)]
    batch = c.integer(g.get("batch", 1), "generate.batch", 1, 10_000_000)
    elements = sum(a * b + b for a, b in zip(sizes, sizes[1:])) + batch * (sizes[0] + sizes[-1])
    if elements > MAX_GENERATED_ELEMENTS:
        c.fail("generate", f"too large: {elements:,} numbers (about {elements * 8 / 1024**3:.1f} "
               f"GiB in float64) exceed the limit of {MAX_GENERATED_ELEMENTS:,}")
    acts = g.get("activation", "sigmoid")
    acts = acts if isinstance(acts, list) else [acts] * (len(sizes) - 1)
    if len(acts) != len(sizes) - 1:
        c.fail("generate.activation",
               f"expected one activation or {len(sizes) - 1}, got {len(acts)}")
    acts = [c.choice(a, f"generate.activation[{i}]", ACTIVATIONS) for i, a in enumerate(acts)]
    seed = c.integer(g.get("seed", 0), "generate.seed", 0, 2**63 - 1)
    init = c.choice(g.get("init", "xavier"), "generate.init", INITS)
    scales = {k: c.number(g.get(k, 1.0), f"generate.{k}")
              for k in ("input_scale", "weight_scale", "bias_scale")}
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out, act in zip(sizes, sizes[1:], acts):
        w = _init(rng, init, n_in, n_out) * scales["weight_scale"]
        b = rng.normal(0.0, 0.1, n_out) * scales["bias_scale"]
        layer = {"weights": w.tolist(), "bias": b.tolist(), "activation": act}
        if "slope" in g and act == "leaky_relu":
            layer["slope"] = g["slope"]
        if "alpha" in g and act == "celu":
            layer["alpha"] = g["alpha"]
        layers.append(layer)
    inputs = rng.normal(0.0, 1.0, (batch, sizes[0])) * scales["input_scale"]
    loss = doc.get("loss")
    targets = make_targets(rng, loss, batch, sizes[-1])
    out = {k: v for k, v in doc.items() if k != "generate"}
    out.update(layers=layers, inputs=inputs.tolist(), targets=targets.tolist())
    return out


def _init(rng: np.random.Generator, scheme: str, n_in: int, n_out: int) -> np.ndarray:
    if scheme == "xavier":
        return rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), (n_out, n_in))
    if scheme == "he":
        return rng.normal(0.0, np.sqrt(2.0 / n_in), (n_out, n_in))
    if scheme == "normal":
        return rng.normal(0.0, 1.0, (n_out, n_in))
    limit = 1.0 / np.sqrt(n_in)
    return rng.uniform(-limit, limit, (n_out, n_in))


def make_targets(rng: np.random.Generator, loss, batch: int, n_out: int) -> np.ndarray:
    """Targets that suit the loss: one-hot classes, {0, 1} labels, a distribution per row
    (kl_divergence), counts (poisson), signs (hinge), or real values."""
    if loss == "softmax_cross_entropy":
        return np.eye(n_out)[rng.integers(0, n_out, batch)]
    if loss in ("binary_cross_entropy", "bce_with_logits"):
        return rng.integers(0, 2, (batch, n_out)).astype(np.float64)
    if loss == "kl_divergence":
        return rng.dirichlet(np.ones(n_out), batch)
    if loss == "poisson":
        return rng.poisson(1.5, (batch, n_out)).astype(np.float64)
    if loss == "hinge":
        return rng.choice([-1.0, 1.0], (batch, n_out))
    return rng.normal(0.0, 1.0, (batch, n_out))
