"""The built-in default suite: every case a spec with fixed numbers, the same everywhere.

Generated cases use the generated spec form with fixed seeds; the hand-built ones (the seed's
network, exact kinks, saturation, large logits) use dyadic numbers so that the interesting
values (a pre-activation of exactly 0, say) come out exactly in any summation order.
"""

from __future__ import annotations

import fnmatch
import re

import numpy as np

from impls.reference import ACTIVATIONS, LOSSES, activation
from impls.reference.domain import pairs, usual_output
from impls.reference.dtypes import dtype as np_dtype

from .coverage import point_values
from .errors import HarnessError
from .spec import DTYPES, LOW_PRECISION, Spec, spec_from_dict
from .suite_domain import accumulation_cases, layer_field_cases, output_pairs, pair_matrix
from .suite_surface import (CHAINS, NEW_ACTIVATIONS, chain_case, loss_reductions,
                            surface_regions)

LOW_REGIONS = ("sigmoid", "tanh", "gelu")  # their regions cases in the 16-bit dtypes too

SEED_NETWORK = {
    "name": "seed-2-2-2",
    "description": "the seed's sample network: 2 inputs, N1 N2, N3 N4, sigmoid, squared error",
    "layers": [
        {"weights": [[0.15, 0.20], [0.25, 0.30]], "bias": [0.35, 0.35], "activation": "sigmoid"},
        {"weights": [[0.40, 0.45], [0.50, 0.55]], "bias": [0.60, 0.60], "activation": "sigmoid"},
    ],
    "loss": "squared_error", "inputs": [[0.05, 0.10]], "targets": [[0.01, 0.99]],
    "learning_rate": 0.5, "steps": 1,
}


def _gen(name, dtype, sizes, activation, loss="squared_error", *, seed, batch=4, steps=2,
         reduction="sum", lr=0.1, description="", **extra) -> dict:
    return {"name": f"{name}-{dtype}", "dtype": dtype, "loss": loss, "reduction": reduction,
            "learning_rate": lr, "steps": steps, "description": description,
            "generate": {"sizes": sizes, "activation": activation, "batch": batch, "seed": seed,
                         **extra}}


def _kinks(act: str, dtype: str) -> dict:
    """Pre-activations of exactly 0 in both layers, by construction (dyadic numbers)."""
    x = [[1.0, 1.0], [0.5, -0.5], [2.0, 2.0]]
    w0 = [[0.5, -0.5], [0.25, 0.75], [1.0, -1.0]]  # neurons 0 and 2 see x1 - x2 = 0 on rows 0, 2
    w1 = [[1.0, 0.0, -0.5], [0.5, 0.5, 0.5]]
    b1 = [0.0, -0.25]
    return {"name": f"kinks-{act}-{dtype}", "dtype": dtype, "loss": "squared_error",
            "description": f"{act} with pre-activations of exactly 0 (its derivative convention)",
            "layers": [{"weights": w0, "bias": [0.0, -0.25, 0.0], "activation": act},
                       {"weights": w1, "bias": b1, "activation": act}],
            "inputs": x, "targets": [[0.5, -0.25], [0.125, 1.0], [-1.0, 0.5]],
            "learning_rate": 0.25, "steps": 2}


def _saturation(act: str, dtype: str) -> dict:
    """Pre-activations of magnitude 30 to 45, where f' underflows or is pure rounding."""
    x = [[1.0, -1.0, 1.0], [-1.0, 1.0, 0.5], [1.0, 1.0, 1.0], [0.5, -0.25, -1.0]]
    w0 = [[12.0, -12.0, 12.0], [-15.0, 15.0, 14.0], [0.5, -0.25, 0.125], [10.0, 10.0, 10.0]]
    w1 = [[20.0, -10.0, 0.5, 8.0], [-9.0, 11.0, 0.25, -12.0]]
    return {"name": f"saturation-{act}-{dtype}", "dtype": dtype, "loss": "squared_error",
            "description": f"{act} saturated: |d| of 30 and more in both layers",
            "layers": [{"weights": w0, "bias": [1.0, 0.5, 0.0, 2.0], "activation": act},
                       {"weights": w1, "bias": [3.0, -2.0], "activation": act}],
            "inputs": x, "targets": [[0.25, 0.75], [0.0, 1.0], [1.0, 0.0], [0.5, 0.5]],
            "learning_rate": 0.5, "steps": 2}


REGIONS = {  # pre-activations that probe each activation's hard regions, per dtype
    "float64": [-1e-20, 1e-20, -1e-12, 1e-12, -1e-8, 1e-8, -1e-4, 1e-4, -0.5, 0.5, -2.0, 2.0,
                -10.0, 10.0, 19.5, 20.0, 20.5, -30.0, 30.0, -40.0, 40.0, -100.0, 100.0,
                -700.0, -745.0, -800.0, 800.0],
    "float32": [-1e-20, 1e-20, -1e-12, 1e-12, -1e-8, 1e-8, -1e-4, 1e-4, -0.5, 0.5, -2.0, 2.0,
                -10.0, 10.0, 17.0, 19.5, 20.0, 20.5, -30.0, 30.0, -40.0, 40.0, -87.0, 88.0,
                -100.0, 100.0, -104.0],
    "bfloat16": [-1e-20, 1e-20, -1e-4, 1e-4, -0.5, 0.5, -2.0, 2.0, -10.0, 10.0, -40.0, 40.0],
    "float16": [-1e-4, 1e-4, -0.5, 0.5, -2.0, 2.0, -10.0, 10.0, -40.0, 40.0],
}


def region_points(act: str, dtype: str) -> list[float]:
    """REGIONS and the record's special points (impls/reference), each exactly and one ulp to
    either side in the dtype (harness/coverage.py), once each."""
    ds = list(REGIONS[dtype])
    for point in activation(act).points:
        ds += [float(v) for v in point_values(point.where(np_dtype(dtype)), dtype).values()]
    return list(dict.fromkeys(ds))


def _regions(act: str, dtype: str, loss: str = "squared_error", reduction: str = "sum") -> dict:
    """One neuron per probed pre-activation (x = 1, w = d, b = 0, so d is exact), summed by an
    identity output with weights 2^-10 (a loss of order 1, as finite differences want): h and
    t(d) of every neuron are compared on their own, relative to their size, since the
    output's v multiplies every t alike (2^-6 in float16, whose smallest normal number, the
    tolerance's atol, is 6e-5: v must stand well above it, and so its target is -1). Two more outputs that see no neuron (weights 0, so
    u = the bias) visit the loss's residuals: u = y = 1, and u = y + a tiny number whose
    square underflows, against y = 0."""
    ds = region_points(act, dtype)
    layer = {"weights": [[d] for d in ds], "bias": [0.0] * len(ds), "activation": act}
    if act == "leaky_relu":
        layer["slope"] = 0.1  # not a float32 number: a slope rounded through float32 shows
    tiny = {"float64": 2.0 ** -600, "float32": 2.0 ** -70, "bfloat16": 2.0 ** -70,
            "float16": 2.0 ** -14}[dtype]
    scale = 2.0 ** (-6 if dtype == "float16" else -10)  # float16: v well above its atol
    out = [[scale] * len(ds), [0.0] * len(ds), [0.0] * len(ds)]
    return {"name": f"regions-{act}-{dtype}", "dtype": dtype, "loss": loss,
            "reduction": reduction,
            "description": f"{act} at its special points (impls/reference) and one ulp either "
                           f"side, and at |d| from 1e-20 (expm1-style cancellation) to the far "
                           f"tails where t underflows and exp overflows (0 * inf traps)",
            "layers": [layer, {"weights": out, "bias": [0.0, 1.0, tiny],
                               "activation": "identity"}],
            "inputs": [[1.0]], "targets": [[-1.0 if dtype == "float16" else 0.25, 1.0, 0.0]],
            "learning_rate": 1e-6,
            "steps": 1}


def _subnormal(dtype: str) -> dict:
    """Subnormal inputs and weights (a fraction of the dtype's smallest normal number) that
    products lift into the normal range: where subnormals are treated as zero (XLA on the CPU),
    d is lost."""
    tiny = 2.0 ** -1022 if dtype == "float64" else 2.0 ** -126
    big = 2.0 ** 100 if dtype == "float64" else 2.0 ** 60
    return {"name": f"subnormal-{dtype}", "dtype": dtype, "loss": "squared_error",
            "description": "subnormal inputs and weights, lifted to normal d by large factors "
                           "(denormals flushed to zero lose them)",
            "layers": [{"weights": [[big, tiny / 8], [tiny / 4, 1.0]], "bias": [0.0, 0.0],
                        "activation": "tanh"},
                       {"weights": [[1.0, big]], "bias": [0.0], "activation": "identity"}],
            "inputs": [[tiny / 16, big], [1.0, tiny / 2]], "targets": [[0.5], [0.25]],
            "learning_rate": 1e-3, "steps": 1}


def _fma(dtype: str) -> dict:
    """x w + b where x w rounds to 1 and b = -1: the result is 0 without a fused multiply-add
    and -2^-2p with one (a compiler may contract under jit); the tolerance counts the
    cancellation."""
    p = 30 if dtype == "float64" else 12
    return {"name": f"fma-{dtype}", "dtype": dtype, "loss": "squared_error",
            "description": "x w + b that cancels: contracting it into an FMA changes d",
            "layers": [{"weights": [[1.0 - 2.0 ** -p]], "bias": [-1.0], "activation": "tanh"}],
            "inputs": [[1.0 + 2.0 ** -p]], "targets": [[0.0]], "learning_rate": 0.5,
            "steps": 1}


def _overflow_silu(dtype: str) -> dict:
    """silu at d = -1e20 (-1e200) under a large upstream gradient p: the derivative is 0, but a
    reverse mode that forms p * d before multiplying by sigmoid'(d) = 0 overflows into NaN."""
    d, big = (-1e20, 1e19) if dtype == "float32" else (-1e200, 1e150)
    return {"name": f"overflow-silu-{dtype}", "dtype": dtype, "loss": "squared_error",
            "description": "silu far below zero under a large upstream gradient: p * d "
                           "overflows where the derivative is 0 (found by the fuzzer in jax)",
            "layers": [{"weights": [[d]], "bias": [0.0], "activation": "silu"},
                       {"weights": [[big]], "bias": [big], "activation": "identity"}],
            "inputs": [[1.0]], "targets": [[0.0]], "learning_rate": 1e-40, "steps": 1}


def _bce_regions(dtype: str) -> dict:
    """Binary cross-entropy with outputs u near 0 and near 1 (log u, log1p(-u), 1 - u), out to
    u below eps / 2 (1 - u rounds to 1), each against targets 0, 1 and in between; u nearest
    1 only against y = 1, since log(1 - u) there is as uncertain as u's last bits and its
    tolerance would hide every other term of the loss (top-binary_cross_entropy has them)."""
    ds = [-40.0, -25.0, -15.0, -5.0, -0.5, 0.5, 5.0, 15.0, 25.0] if dtype == "float64" \
        else [-17.0, -12.0, -8.0, -3.0, -0.5, 0.5, 3.0, 8.0, 12.0]
    return {"name": f"regions-binary_cross_entropy-{dtype}", "dtype": dtype,
            "loss": "binary_cross_entropy",
            "description": f"binary cross-entropy with u from sigmoid({ds[0]:g}) to "
                           f"sigmoid({ds[-1]:g}): log u and log1p(-u) at both ends",
            "layers": [{"weights": [[d] for d in ds], "bias": [0.0] * len(ds),
                        "activation": "sigmoid"}],
            "inputs": [[1.0], [1.0], [1.0]],
            "targets": [[1.0, 1.0, 0.0, 1.0, 0.5, 0.0, 1.0, 1.0, 1.0],
                        [0.0, 0.0, 1.0, 0.0, 0.5, 1.0, 0.0, 1.0, 1.0],
                        [0.25, 0.75, 0.5, 0.125, 0.25, 0.75, 0.5, 1.0, 1.0]],
            "learning_rate": 1e-6, "steps": 1}


def _bce_top(dtype: str) -> dict:
    """Binary cross-entropy at u one ulp below 1, against targets 0, 1 and in between: a case
    of its own, since log(1 - u) there is as uncertain as u's last bit, and so is the loss's
    tolerance (which would hide a wrong loss in regions-binary_cross_entropy)."""
    d = 36.5 if dtype == "float64" else 16.0
    return {"name": f"top-binary_cross_entropy-mean-{dtype}", "dtype": dtype,
            "loss": "binary_cross_entropy", "reduction": "mean",
            "description": f"binary cross-entropy at u = sigmoid({d:g}), one ulp below 1",
            "layers": [{"weights": [[d], [0.5]], "bias": [0.0, 0.0], "activation": "sigmoid"}],
            "inputs": [[1.0], [1.0], [1.0]],
            "targets": [[0.0, 1.0], [0.25, 0.0], [1.0, 0.5]], "learning_rate": 1e-6, "steps": 1}


def _bce_small(dtype: str) -> dict:
    """Binary cross-entropy whose whole loss is the tiny terms -log1p(-u) ~ u of outputs
    u < eps / 2 against y = 0: log(1 - u) (0 there) in place of log1p(-u) shows only where
    no larger term shares the sum."""
    ds = [-40.0, -45.0] if dtype == "float64" else [-17.0, -20.0]
    return {"name": f"small-terms-binary_cross_entropy-{dtype}", "dtype": dtype,
            "loss": "binary_cross_entropy",
            "description": "binary cross-entropy of outputs below eps / 2 against 0 alone: "
                           "a loss of about u",
            "layers": [{"weights": [[d] for d in ds], "bias": [0.0, 0.0],
                        "activation": "sigmoid"}],
            "inputs": [[1.0]], "targets": [[0.0, 0.0]], "learning_rate": 1e-6, "steps": 1}


SOFT_TARGETS = [[0.25, 0.5, 0.25, 0.0], [1.0, 0.0, 0.5, 0.5], [0.0, 0.25, 0.125, 0.0],
                [0.0, 0.0, 0.0, 0.0]]  # summing to 1 (not one-hot), to 2, to 3/8, to 0


def _large_logits(dtype: str, seed: int) -> dict:
    """Softmax cross-entropy on logits of about 1e3 (log-sum-exp must not overflow), against a
    one-hot row and rows of every other kind the format takes (SOFT_TARGETS)."""
    rng = np.random.default_rng(seed)
    w1 = np.round(rng.normal(0, 300, (4, 6)))
    return {"name": f"large-logits-softmax_cross_entropy-{dtype}", "dtype": dtype,
            "loss": "softmax_cross_entropy", "reduction": "mean",
            "description": "softmax cross-entropy with logits of magnitude ~1e3, against "
                           "one-hot, soft, unnormalized and all-zero target rows",
            "layers": [{"weights": np.round(rng.normal(0, 1, (6, 3)), 3).tolist(),
                        "bias": [0.0] * 6, "activation": "tanh"},
                       {"weights": w1.tolist(), "bias": [0.0] * 4, "activation": "identity"}],
            "inputs": np.round(rng.normal(0, 1, (5, 3)), 3).tolist(),
            "targets": np.eye(4)[rng.integers(0, 4, 5)][:1].tolist() + SOFT_TARGETS,
            "learning_rate": 1e-4, "steps": 2}


def _pair(act: str, loss: str, seed: int) -> dict:
    """A small float64 case of one (output activation, loss) pair; hard_tanh's weights
    scaled so that its outputs saturate (inside (-1, 1) its derivative is identity's)."""
    return _gen(f"pair-{act}-{loss}", "float64", [3, 5, 4], ["tanh", act], loss, seed=seed,
                batch=3, weight_scale=4.0 if act == "hard_tanh" else 1.0,
                description=f"{act} output, {loss}")


def default_suite_docs(seed: int | None = None, low_precision=LOW_PRECISION,
                       full: bool = False) -> list[dict]:
    """The default suite as spec documents (explicit or generated form).

    `seed` (the CLI's --seed) moves every random case to other fixed numbers; the hand-built
    cases stay as they are. `low_precision`: the 16-bit dtypes whose cases are built (bfloat16's
    special points need ml_dtypes, whose import costs more than building the rest). `full`
    (the CLI's --full): also a pair-* case per (output activation, loss) pair the default
    suite holds only through its class (suite_domain.output_pairs): the full matrix.
    """
    docs = _docs(low_precision)
    if full:
        order = {pair: k for k, pair in enumerate(pairs())}
        docs += [_pair(act, loss, 500 + order[act, loss]) for act, loss in pair_matrix(docs)]
    if seed is not None:
        for doc in docs:
            if "generate" in doc:
                doc["generate"]["seed"] = _reseed(doc["generate"]["seed"], seed)
        docs = [_large_logits(doc["dtype"], _reseed(206, seed)) if doc["name"].startswith(
            "large-logits-softmax") else doc for doc in docs]
    return docs


def _reseed(base: int, seed: int) -> int:
    return int(np.random.SeedSequence([base, seed]).generate_state(1)[0])


def _docs(low_precision=LOW_PRECISION) -> list[dict]:
    docs = [{**SEED_NETWORK, "name": f"seed-2-2-2-{dtype}", "dtype": dtype} for dtype in DTYPES]
    seed = 100
    act_outputs = [a for a in ACTIVATIONS if a not in NEW_ACTIVATIONS] + \
        [chain[-1] for chain in CHAINS]
    slots = {name: [(red, dt) for dt in DTYPES for red in loss_reductions(name)]
             for name in LOSSES}
    act_loss, outputs, extra = output_pairs(act_outputs, slots)
    for j, dtype in enumerate(DTYPES):
        for act in act_outputs[:-len(CHAINS)]:
            seed += 1
            docs.append(_gen(f"act-{act}", dtype, [4, 8, 6, 3], act, act_loss[act, j],
                             seed=seed, description=f"{act} in every layer, "
                                                    f"{act_loss[act, j]}"))
        docs += [chain_case(k, dtype, act_loss[chain[-1], j]) for k, chain in enumerate(CHAINS)]
        for loss in LOSSES:
            for red in loss_reductions(loss):
                seed += 1
                last = outputs.get((loss, (red, dtype)), usual_output(loss))
                docs.append(_gen(f"loss-{loss}-{red}", dtype, [5, 8, 4], ["tanh", last], loss,
                                 seed=seed, batch=6, reduction=red,
                                 description=f"{loss} after {last}, batch reduced by {red}"))
        docs += [
            _gen("deep-narrow", dtype, [3] + [4] * 7 + [2], "tanh", seed=201, batch=4,
                 description="8 layers of 4 tanh neurons"),
            _gen("wide-shallow", dtype, [32, 256, 8], ["relu", "identity"], "mse", seed=202,
                 batch=8, init="he", description="one hidden layer of 256 relu neurons"),
            _gen("batch-1", dtype, [6, 10, 4], "sigmoid", seed=203, batch=1, steps=3),
            _gen("batch-64", dtype, [6, 10, 4], ["gelu", "identity"], "mse", seed=204,
                 batch=64, reduction="mean", steps=3),
            _gen("multistep-10", dtype, [4, 12, 8, 3], ["tanh", "silu", "identity"],
                 "softmax_cross_entropy", seed=205, batch=8, steps=10, lr=0.5,
                 description="10 SGD steps on one batch: drift between implementations"),
            _kinks("relu", dtype), _kinks("leaky_relu", dtype),
            _saturation("sigmoid", dtype), _saturation("tanh", dtype),
            _large_logits(dtype, 206),
        ]
        docs += [_regions(act, dtype, *(("mse", "mean") if act == "relu" else ()))
                 for act in ACTIVATIONS if act not in NEW_ACTIVATIONS]
        docs += [_bce_regions(dtype), _bce_top(dtype), _bce_small(dtype)]
        docs += surface_regions(dtype, _regions)
        docs += [_subnormal(dtype)]
    docs += [_pair(act, loss, 400 + k) for k, (act, loss) in enumerate(extra)]
    docs += layer_field_cases()
    docs += [_fma("float64"), _overflow_silu("float32")]  # float64's FMA, float32's overflow
    for dtype in low_precision:  # computed as the frameworks do (impls/reference/network.py)
        docs += [{**SEED_NETWORK, "name": f"seed-2-2-2-{dtype}", "dtype": dtype},
                 _gen("act-tanh", dtype, [4, 8, 6, 3], "tanh", seed=301,
                      description=f"tanh in every layer, in {dtype}"),
                 _gen("loss-softmax_cross_entropy-mean", dtype, [5, 8, 4], ["gelu", "identity"],
                      "softmax_cross_entropy", seed=302, batch=6, reduction="mean",
                      description=f"gelu then softmax cross-entropy, mean, in {dtype}"),
                 *(_regions(act, dtype) for act in LOW_REGIONS)]
        docs += accumulation_cases(dtype)
    docs.append(_gen("large-logits-binary_cross_entropy", "float64", [3, 4, 2],
                     ["tanh", "sigmoid"], "binary_cross_entropy", seed=207, batch=4,
                     bias_scale=0.0, weight_scale=10.0,
                     description="sigmoid outputs with |d| up to ~25: u(1 - u) down to 1e-11"))
    return docs


def default_suite(dtype: str | None = None, pattern: str | None = None,
                  seed: int | None = None, full: bool = False) -> list[Spec]:
    """The default suite's specs (with the full pair matrix if `full`), optionally filtered
    by dtype and a name glob."""
    docs = default_suite_docs(seed, [d for d in LOW_PRECISION if _may_match(d, dtype, pattern)],
                              full)
    return select([spec_from_dict(doc, source="<default suite>") for doc in docs], dtype, pattern)


def _may_match(dt: str, dtype: str | None, pattern: str | None) -> bool:
    """Whether the filter may keep a case of dtype dt: every case's name ends in "-" + its
    dtype, so a glob whose text after its last wildcard fits no such ending keeps none."""
    if dtype:
        return dtype == dt
    ending = f"-{dt}"
    tails = [re.split(r"[*?\]]", g.strip())[-1] for g in (pattern or "*").split(",")]
    return any(ending.endswith(t) or t.endswith(ending) for t in tails)


def select(specs: list[Spec], dtype: str | None = None, pattern: str | None = None) -> list[Spec]:
    """Specs of one dtype whose names match a glob (or comma-separated globs)."""
    if dtype:
        specs = [s for s in specs if s.dtype == dtype]
    if pattern:
        globs = [g.strip() for g in pattern.split(",") if g.strip()]
        specs = [s for s in specs if any(fnmatch.fnmatchcase(s.name, g) for g in globs)]
        if not specs:
            raise HarnessError(f"no case matches {pattern!r}; `backprop-harness cases` lists them")
    return specs
