"""The seed's backpropagation as dynamic programming, one layer of matrices at a time.

    forward   d = x W^T + b            h = f(d)              (x: the input or the previous h)
    loss      e = reduce_s fe(u_s, y_s)                       (u = the last h)
    backward  v_L = te(u, y) * t(d_L)   v_l = (v_{l+1} W_{l+1}) * t(d_l)
    gradient  g_W = v^T x  (summed over samples)   g_b = sum_s v
    update    W = W - r g_W            b = b - r g_b

Arrays are (batch, neurons); weights[l][j, i] joins input i to neuron j. No Python loop runs
over neurons or samples, and every array stays in the network's dtype. Leading axes stack
independent networks: weights (..., n_l, n_{l-1}), biases (..., n_l), data (..., batch, n),
so one call trains thousands of networks of one architecture (the batched fuzzer does).

bfloat16 and float16 (with ml_dtypes, the NumPy dtype package of the JAX project) follow the
accumulation model the frameworks use (measured: torch and JAX agree bit for bit with it on
CPU products): a product or a sum is accumulated in float32 and rounded once to the dtype;
x W^T is rounded before the bias is added; an elementwise function (f, t, fe, te) is computed
in float32 from the rounded operands and rounded once; every other operation (v = p * t, the
update) rounds its result, as ml_dtypes' own arithmetic does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import activation
from .dtypes import dtype as np_dtype
from .losses import loss as get_loss

Array = np.ndarray
REDUCTIONS = ("sum", "mean")


@dataclass
class Forward:
    """One forward pass: the input x and, per layer, d and h; u is the last h."""

    x: Array
    d: list[Array]
    h: list[Array]

    @property
    def u(self) -> Array:
        return self.h[-1]


@dataclass
class Backward:
    """One backward pass: loss e, the loss node's te, and per layer v, g_weights, g_bias."""

    e: float
    te: Array
    v: list[Array]
    g_weights: list[Array]
    g_bias: list[Array]


class Network:
    """A multilayer perceptron; weights[l] is (..., n_l, n_{l-1}), biases[l] is (..., n_l)."""

    def __init__(self, weights, biases, activations, loss: str = "squared_error",
                 reduction: str = "sum", slopes=None, dtype=None, form: str = "seed"):
        """A network from explicit parameters.

        weights: one (..., n_l, n_{l-1}) array per layer (nested lists too), weights[l][j, i]
        joining input i to neuron j; biases: one (..., n_l) array per layer; activations: one
        name for every layer or a list, one per layer (`impls.reference.ACTIVATIONS`); loss
        and reduction ("sum" or "mean" over the batch) name the loss; slopes: each layer's
        activation parameter (leaky_relu's slope, celu's alpha; None: the record's default);
        dtype: the arrays' dtype (the weights' own by default; float64 for integers);
        form: "seed" (the default) computes t with the textbook formulas (sigmoid's
        h(1 - h)), "accurate" without their cancellations (sigmoid(d) sigmoid(-d)).
        Raises ValueError on mismatched shapes or an unknown name.
        """
        if len(weights) != len(biases):
            raise ValueError(f"{len(weights)} weight matrices but {len(biases)} bias vectors")
        acts = [activations] * len(weights) if isinstance(activations, str) else list(activations)
        if len(acts) != len(weights):
            raise ValueError(f"{len(weights)} layers but {len(acts)} activations")
        if reduction not in REDUCTIONS:
            raise ValueError(f"unknown reduction {reduction!r} (known: sum, mean)")
        self.dtype = np_dtype(dtype or np.asarray(weights[0]).dtype)
        if self.dtype.kind not in "fV" and self.dtype.name != "bfloat16":
            self.dtype = np.dtype(np.float64)
        # products, sums and elementwise functions of 16-bit floats are computed in float32
        self.compute = np.dtype(np.float32) if self.dtype.itemsize < 4 else self.dtype
        self.weights = [np.array(w, dtype=self.dtype) for w in weights]
        self.biases = [np.array(b, dtype=self.dtype) for b in biases]
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            if w.ndim < 2 or b.shape != w.shape[:-1]:
                raise ValueError(f"layer {k}: weights {w.shape} and bias {b.shape} do not match")
            if k and w.shape[-1] != self.weights[k - 1].shape[-2]:
                raise ValueError(f"layer {k}: weights have {w.shape[-1]} columns, "
                                 f"layer {k - 1} has {self.weights[k - 1].shape[-2]} neurons")
        slopes = slopes if slopes is not None else [None] * len(acts)
        self.activations = [activation(a, s, form) for a, s in zip(acts, slopes)]
        self.loss = get_loss(loss)
        self.reduction = reduction

    @classmethod
    def from_sizes(cls, sizes, activation="sigmoid", loss="squared_error", reduction="sum", *,
                   seed: int, dtype="float64", form: str = "seed"):
        """Random Xavier-normal weights and small biases for widths [n_in, n_1, ..., n_out];
        the other arguments as for Network()."""
        rng = np.random.default_rng(seed)
        ws = [rng.normal(0, np.sqrt(2 / (a + b)), (b, a)) for a, b in zip(sizes, sizes[1:])]
        bs = [rng.normal(0, 0.1, b) for b in sizes[1:]]
        return cls(ws, bs, activation, loss, reduction, dtype=dtype, form=form)

    @classmethod
    def from_spec(cls, spec, form: str = "seed"):
        """The network of a harness Spec (copies its weights, so training leaves the spec alone)."""
        return cls([layer.weights for layer in spec.layers], [layer.bias for layer in spec.layers],
                   [layer.activation for layer in spec.layers], spec.loss, spec.reduction,
                   slopes=[layer.slope for layer in spec.layers], dtype=spec.dtype, form=form)

    def _batch(self, a, n: int, what: str) -> Array:
        a = np.asarray(a, dtype=self.dtype)
        if a.ndim < 2 or a.shape[-1] != n:
            raise ValueError(f"{what}: expected shape (batch, {n}), got {a.shape}")
        return a

    def forward(self, x) -> Forward:
        """d = x W^T + b and h = f(d), layer by layer (x: the input, then the previous h)."""
        x = self._batch(x, self.weights[0].shape[-1], "inputs")
        ds, hs, h = [], [], x
        for w, b, act in zip(self.weights, self.biases, self.activations):
            d = self._product(h, w.swapaxes(-1, -2))
            d += b[..., None, :]
            h = self._elementwise(act.f, d)
            ds.append(d)
            hs.append(h)
        return Forward(x, ds, hs)

    def backward(self, fwd: Forward, y) -> Backward:
        """e, then v from the loss node back to the first layer, then g = v x."""
        y = self._targets(y, fwd.x.shape[-2])
        e, te = self._loss_node(fwd.u, y)
        L = len(self.weights)
        vs: list[Array] = [None] * L
        v = te * self._elementwise(self.activations[-1].t, fwd.d[-1], fwd.h[-1])
        for k in range(L - 1, -1, -1):
            if k < L - 1:
                v = self._product(v, self.weights[k + 1])
                v *= self._elementwise(self.activations[k].t, fwd.d[k], fwd.h[k])
            vs[k] = v
        xs = [fwd.x] + fwd.h[:-1]
        g_w = [self._product(v.swapaxes(-1, -2), x) for v, x in zip(vs, xs)]
        g_b = [self._sum(v, axis=-2) for v in vs]
        return Backward(e, te, vs, g_w, g_b)

    def _targets(self, y, rows: int) -> Array:
        y = self._batch(y, self.weights[-1].shape[-2], "targets")
        if y.shape[-2] != rows:
            raise ValueError(f"targets: {y.shape[-2]} rows for a batch of {rows}")
        return y

    def _loss_node(self, u: Array, y: Array) -> tuple:
        """e reduced over the batch, and te = de/du for that reduced e."""
        per_sample = self._elementwise(self.loss.fe, u, y)
        te = self._elementwise(self.loss.te, u, y)
        if self.reduction == "mean":
            te *= self.dtype.type(1 / u.shape[-2])
            if self.compute == self.dtype:
                return per_sample.mean(axis=-1), te
            return per_sample.mean(axis=-1, dtype=self.compute).astype(self.dtype), te
        return self._sum(per_sample, axis=-1), te

    def _product(self, a: Array, b: Array) -> Array:
        """a @ b in the network's dtype (16-bit: accumulated in float32, rounded once)."""
        out = a @ b
        return out if out.dtype == self.dtype else out.astype(self.dtype)

    def _sum(self, a: Array, axis: int) -> Array:
        if self.compute == self.dtype:
            return a.sum(axis=axis)
        return a.sum(axis=axis, dtype=self.compute).astype(self.dtype)

    def _elementwise(self, fn, *arrays: Array) -> Array:
        """fn of the arrays, computed in float32 and rounded once for a 16-bit dtype."""
        if self.compute == self.dtype:
            return fn(*arrays)
        return fn(*(a.astype(self.compute) for a in arrays)).astype(self.dtype)

    def step(self, grads: Backward, r) -> None:
        """w = w - r g and b = b - r g, in place."""
        r = self.dtype.type(r)
        for w, b, gw, gb in zip(self.weights, self.biases, grads.g_weights, grads.g_bias):
            w -= r * gw
            b -= r * gb

    def train_step(self, x, y, r):
        """One SGD step (forward, backward, update) without a trace; returns e.

        The same formulas in the order that holds the least memory, as an autograd engine
        frees its graph: going back from the last layer, each layer's weights are updated as
        soon as v has gone back through them (v_{l-1} needs W_l before its update), and d, h
        and the gradient of a layer are let go once nothing ahead needs them, so one gradient
        is alive at a time. The parameters come out bit for bit as forward(), backward() and
        step() leave them."""
        fwd = self.forward(x)
        ds, hs = fwd.d, [fwd.x] + fwd.h  # hs[k] is layer k's input, hs[-1] the output u
        del fwd  # its own list would keep every h alive
        y = self._targets(y, hs[0].shape[-2])
        e, v = self._loss_node(hs[-1], y)
        v *= self._elementwise(self.activations[-1].t, ds[-1], hs[-1])  # te is our own array
        r = self.dtype.type(r)
        for k in range(len(self.weights) - 1, -1, -1):
            ds[k] = hs[k + 1] = None  # t(d_k) is taken, h_{k+1} is past
            if k:  # v_{k-1} = (v_k W_k) t(d_{k-1}), with W_k before its update
                p = self._product(v, self.weights[k])
                p *= self._elementwise(self.activations[k - 1].t, ds[k - 1], hs[k])
            self._sgd(k, self._product(v.swapaxes(-1, -2), hs[k]), self._sum(v, axis=-2), r)
            v = p if k else None
        return e

    def _sgd(self, k: int, g_w: Array, g_b: Array, r) -> None:
        """W_k = W_k - r g_W and b_k = b_k - r g_b in place, the gradients (ours) scaled in
        place: the same roundings as step()."""
        g_w *= r
        g_b *= r
        self.weights[k] -= g_w
        self.biases[k] -= g_b

    def fit(self, x, y, r: float, steps: int = 1, callback=None) -> list[float]:
        """`steps` SGD steps on one batch; returns the loss e before each step.
        `callback(k, fwd, grads)`, if given, sees every pass before its update."""
        if callback is None:  # nothing looks at the passes: the lean step, same numbers
            return [self.train_step(x, y, r) for _ in range(steps)]
        losses = []
        for k in range(steps):
            fwd = self.forward(x)
            grads = self.backward(fwd, y)
            callback(k, fwd, grads)
            losses.append(grads.e)
            self.step(grads, r)
        return losses
