"""The default suite's cases for the functions beyond the seed's (impls/reference's
more_activations and more_losses): dense, so that the suite's cost grows little.

Per dtype: each new activation's special points in one regions case (suite._regions), seven
of them under a new loss with an output per kind of sample the loss's record names (so no
case of its own). The generated act-<activation> and loss-<loss>-<reduction> cases of
suite.py cover them as every other function.
"""

from __future__ import annotations

from impls.reference import loss as loss_record
from impls.reference.dtypes import finfo

NEW_ACTIVATIONS = ("relu6", "selu", "celu", "log_sigmoid", "softsign", "mish", "hard_sigmoid",
                   "hard_swish", "hard_tanh")
NEW_LOSSES = ("l1", "huber", "log_cosh", "kl_divergence", "poisson", "hinge", "bce_with_logits")


CHAINS = (("selu", "celu", "softsign", "log_sigmoid"),
          ("hard_tanh", "mish", "hard_swish", "hard_sigmoid", "relu6"))
"""The new activations' act- cases: a network per chain, a layer each (their special points
are in their regions cases; the chain's last is its output activation: log_sigmoid's range
(-inf, 0] and relu6's [0, 6], classes of one function each, for the pairs of
suite_domain.output_pairs)."""


def chain_case(k: int, dtype: str, loss: str) -> dict:
    """act-chain-<k>-<dtype>: a generated network with one layer of each activation of
    CHAINS[k], under `loss`, its weights scaled by 4 so that the hard functions' d reach
    past their kinks (inside them relu6' and hard_tanh' are identity's)."""
    chain = CHAINS[k]
    return {"name": f"act-chain-{k + 1}-{dtype}", "dtype": dtype, "loss": loss,
            "reduction": "sum", "learning_rate": 0.1, "steps": 2,
            "description": f"{', '.join(chain)}: a layer each, {loss}",
            "generate": {"sizes": [4] + [6] * (len(chain) - 1) + [3], "activation": list(chain),
                         "batch": 4, "seed": 150 + k + 10 * len(dtype), "weight_scale": 4.0}}


def loss_reductions(loss: str) -> tuple[str, ...]:
    """The reductions of a loss's loss- cases: the new losses' summed form is in their
    regions cases (a batch of 1, summed), so theirs is the mean alone."""
    return ("mean",) if loss in NEW_LOSSES else ("sum", "mean")


def samples(loss: str, dtype: str) -> tuple[list[float], list[float]]:
    """(u, y): one output per kind of sample the loss's record names (impls/reference/
    more_losses.py), u given exactly as a bias. Residuals stay 0 exactly or 1e-2 and more from
    a kink, so that finite differences (impls/numeric.py) do not straddle it: central
    differences of |r| at r = 0 are l1's convention, 0."""
    eps, f64 = float(finfo(dtype).eps), dtype == "float64"
    if loss in ("l1", "huber"):
        u = [0.5, 0.25, 3.0, -1.0, -0.75, 2.0, 2.0 + 2 * eps, 1.5]
        y = [0.5, 1.0, 1.0, -2.0, 0.25, 1.0, 1.0, 1.0]
    elif loss == "log_cosh":  # 800 beyond -log(tiny) / 2 in both dtypes; 1e-9 below sqrt(eps)
        u = [0.5, 1e-9, 0.25, 3.0, 800.0, -800.0, 1e-20]
        y = [0.5, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    elif loss == "kl_divergence":  # log-probabilities; a subnormal target
        u = [-1.0, -0.5, -30.0, 2.0, 0.0, -700.0 if f64 else -80.0]
        y = [0.0, 0.5, 1e-310 if f64 else 1e-40, 1.0, 2.0, 0.25]
    elif loss == "poisson":  # softplus's d: softplus(-20) = 2e-9
        u = [-20.0, 0.0, 2.0, 5.0, 30.0]
        y = [0.0, 1.0, 2.5, 0.0, 3.0]
    elif loss == "hinge":
        u = [0.5, -2.0, 2.0, 0.5, -0.5, 3.0, 0.0, 0.98]
        y = [1.0, -1.0, 1.0, -1.0, -1.0, 1.0, 1.0, 1.0]
    else:  # bce_with_logits: -800 (float32: -100) beyond -log(tiny)
        u = [-1.0, 2.0, 0.0, -800.0 if f64 else -100.0, 3.0, 0.5, -5.0, 40.0]
        y = [0.0, 1.0, 0.5, 1.0, 0.5, 0.0, 0.5, 1.0]
    return u, y


def with_loss(doc: dict, loss: str, dtype: str) -> dict:
    """A regions case (suite._regions) under `loss`, with one more output per kind of sample
    the loss's record names: weights 0, so u is the bias exactly (through the record's
    output activation where it needs one) and v of the hidden layer is unchanged."""
    u, y = samples(loss, dtype)
    out = doc["layers"][-1]
    width = len(out["weights"][0])
    outputs = loss_record(loss).outputs
    last = {**out, "weights": out["weights"] + [[0.0] * width] * len(u), "bias": out["bias"] + u,
            "activation": outputs[0] if outputs else out["activation"]}
    first = [-1.0] * 3 if loss == "hinge" else doc["targets"][0]  # +-1, inside the margin
    act = doc["name"][len("regions-"):-len(dtype) - 1]
    return {**doc, "name": f"regions-{act}-{loss}-{dtype}", "loss": loss,
            "layers": doc["layers"][:-1] + [last], "targets": [first + y],
            "description": f"{act} at its special points, under {loss} with an output per "
                           f"kind of sample its record names"}


def surface_regions(dtype: str, regions) -> list[dict]:
    """The new activations' regions cases in one dtype (regions: suite._regions), seven of
    them under a new loss with its samples (summed: the batch is 1; the generated
    loss-<loss>-<reduction> cases cover both reductions)."""
    losses = dict(zip(NEW_ACTIVATIONS, NEW_LOSSES))
    return [with_loss(regions(act, dtype), losses[act], dtype) if act in losses
            else regions(act, dtype) for act in NEW_ACTIVATIONS]
