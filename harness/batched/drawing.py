"""Drawing a chunk: random networks of one architecture, stacked on a leading axis."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from impls.reference import activation as activation_record, loss as loss_record

from ..spec import Spec, spec_from_dict


@dataclass(frozen=True)
class StackLayer:
    weights: np.ndarray  # (networks, n_out, n_in)
    bias: np.ndarray     # (networks, n_out)
    activation: str
    slope: float = 0.01


@dataclass(frozen=True)
class Stack:
    """Networks of one architecture on a leading axis (an adapter's trace_stacked() takes
    it): the fields of a Spec, each array with the networks' axis first."""

    name: str
    dtype: str
    layers: tuple
    loss: str
    reduction: str
    inputs: np.ndarray   # (networks, batch, n_in)
    targets: np.ndarray  # (networks, batch, n_out)
    learning_rate: float
    steps: int
    first_index: int

    @property
    def count(self) -> int:
        return self.inputs.shape[0]

    @property
    def sizes(self) -> list[int]:
        """Layer widths, input first, as Spec.sizes."""
        return [self.inputs.shape[-1]] + [layer.bias.shape[-1] for layer in self.layers]

    def spec(self, i: int) -> Spec:
        """Network i of this stack as an ordinary spec (to reproduce it alone)."""
        return spec_from_dict({
            "name": f"{self.name}-net{self.first_index + i}", "dtype": self.dtype,
            "loss": self.loss, "reduction": self.reduction,
            "layers": [{"weights": layer.weights[i].tolist(), "bias": layer.bias[i].tolist(),
                        "activation": layer.activation} for layer in self.layers],
            "inputs": self.inputs[i].tolist(), "targets": self.targets[i].tolist(),
            "learning_rate": self.learning_rate, "steps": self.steps})


def make_stack(sizes: list[int], count: int, batch: int, activation: str, loss: str,
               dtype: str, seed: int, chunk: int, first_index: int, steps: int = 1,
               learning_rate: float = 0.1) -> Stack:
    """`count` random networks drawn toward the hard regions: per network, the scales of
    its weights (Xavier-uniform times 10^[-1, 1.3]), biases (10^[-3, 1.5]) and inputs
    (10^[-4, 2]) spread over orders of magnitude, so that pre-activations range from tiny to
    the far tails; one network in eight has a sample of zero inputs and zero first-layer
    biases, which puts that sample's first pre-activations exactly on the kink at 0."""
    rng = np.random.default_rng([seed, chunk])
    acts = [activation] * (len(sizes) - 1)
    record = loss_record(loss)
    if record.outputs:  # BCE's sigmoid, poisson's softplus
        acts[-1] = record.outputs[0]

    def scale(lo: float, hi: float, ndim: int):
        return (10.0 ** rng.uniform(lo, hi, count)).reshape((count,) + (1,) * ndim)

    kinked = rng.random(count) < 1 / 8
    layers = []
    for k, (n_in, n_out, act) in enumerate(zip(sizes, sizes[1:], acts)):
        limit = math.sqrt(6.0 / (n_in + n_out))
        w = rng.uniform(-limit, limit, (count, n_out, n_in)) * scale(-1.0, 1.3, 2)
        b = rng.uniform(-1.0, 1.0, (count, n_out)) * scale(-3.0, 1.5, 1)
        if k == 0:
            b[kinked] = 0.0
        param = activation_record(act).param  # celu's alpha: the spec's default, as spec(i)
        layers.append(StackLayer(w.astype(dtype), b.astype(dtype), act,
                                 param.default if param else 0.01))
    x = rng.uniform(-1.0, 1.0, (count, batch, sizes[0])) * scale(-4.0, 2.0, 2)
    x[kinked, 0] = 0.0
    x = x.astype(dtype)
    n_out = sizes[-1]
    if loss == "softmax_cross_entropy":
        y = np.eye(n_out, dtype=dtype)[rng.integers(0, n_out, (count, batch))]
    elif loss in ("binary_cross_entropy", "bce_with_logits"):
        y = rng.integers(0, 2, (count, batch, n_out)).astype(dtype)
    else:  # real targets, mapped onto the ones the loss takes (hinge's signs, kl's y >= 0)
        y = rng.uniform(-1.0, 1.0, (count, batch, n_out))
        y = (record.targets.fit(y) if record.targets else y).astype(dtype)
    name = "-".join(["fuzz", *acts, loss, dtype, "-".join(map(str, sizes))])
    return Stack(name, dtype, tuple(layers), loss, "sum", x, y, learning_rate, steps, first_index)
