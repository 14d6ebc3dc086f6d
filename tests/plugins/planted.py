"""Test-only implementations registered through entry points by tests/conftest.py.

Planted bugs (each a one-line change to the reference engine, so its consequences propagate
like a real bug's) and fault injectors (raise, wrong shape, NaN, hang, abort the process, segfault).
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from dataclasses import replace

import numpy as np

from impls.reference import Network
from impls.reference_impl import ReferenceImpl


class _Planted(ReferenceImpl):
    engine = Network  # the (buggy) engine class this plugin runs

    def version(self) -> str:
        return "planted"

    def network(self, spec):
        net = super().network(spec)
        net.__class__ = self.engine
        return net


class WrongDerivative(_Planted):
    """Layer 0 uses tanh's derivative 1 - h^2 whatever its activation."""

    name = "bug-derivative"

    def network(self, spec):
        net = super().network(spec)
        a = net.activations[0]
        net.activations[0] = replace(a, t=lambda d, h: 1 - h * h)
        return net


class _NoBiasGradient(Network):
    def backward(self, fwd, y):
        grads = super().backward(fwd, y)
        grads.g_bias = [np.zeros_like(g) for g in grads.g_bias]
        return grads


class MissingBiasGradient(_Planted):
    """Bias gradients are never computed (zeros), so biases never move."""

    name = "bug-bias"
    engine = _NoBiasGradient


class _Transposed(Network):
    def forward(self, x):
        self.weights[0] = self.weights[0].T.copy()
        try:
            return super().forward(x)
        finally:
            self.weights[0] = self.weights[0].T.copy()


class TransposedWeight(_Planted):
    """Layer 0 multiplies by W instead of W^T (square layers only)."""

    name = "bug-transpose"
    engine = _Transposed


class _SignFlip(Network):
    def backward(self, fwd, y):
        grads = super().backward(fwd, y)
        grads.v[0] = -grads.v[0]  # reported v only; the gradients stay right
        return grads


class SignFlipV(_Planted):
    """The v of layer 0 is reported with the wrong sign."""

    name = "bug-sign"
    engine = _SignFlip


class _LrSlip(Network):
    def step(self, grads, r):
        super().step(grads, r * 1.1)


class LearningRateSlip(_Planted):
    """The update uses 1.1 r."""

    name = "bug-lr"
    engine = _LrSlip


class LearningRateSlipUnstacked(LearningRateSlip):
    """bug-lr without trace_stacked: the batched fuzzer traces it network by network."""

    name = "bug-lr-unstacked"
    trace_stacked = None


class Raises(_Planted):
    name = "fault-raise"

    def trace(self, spec):
        raise RuntimeError("planted failure")


class WrongShape(_Planted):
    name = "fault-shape"

    def trace(self, spec):
        trace = super().trace(spec)
        layer = trace.steps[0].layers[0]
        layer.v = np.hstack([layer.v, layer.v])
        return trace


class ReturnsNaN(_Planted):
    name = "fault-nan"

    def trace(self, spec):
        trace = super().trace(spec)
        trace.steps[0].layers[0].v[...] = np.nan
        return trace


class Hangs(_Planted):
    """Sleeps 600 s in trace(), having first created the file $PLANTED_STARTED names (if
    set), for a test that waits until a trace is under way."""

    name = "fault-sleep"

    def trace(self, spec):
        if os.environ.get("PLANTED_STARTED"):
            open(os.environ["PLANTED_STARTED"], "a").close()
        time.sleep(600)


class Aborts(_Planted):
    name = "fault-abort"

    def trace(self, spec):
        os.abort()


class Segfaults(_Planted):
    name = "fault-segv"

    def trace(self, spec):
        os.kill(os.getpid(), signal.SIGSEGV)


class TracesMany(_Planted):
    """A correct engine with trace_many() that records how it was called (also in each
    trace's settings, for calls in a worker process), takes 0.2 s, raises for a spec named
    "*many-raises*" (its cases are then traced one by one) and kills its process for
    "*many-aborts*"."""

    name = "many"
    calls: list = []
    seconds = 0.2

    def trace_many(self, specs):
        TracesMany.calls.append((threading.current_thread().name, [s.name for s in specs]))
        time.sleep(self.seconds)
        if any("many-raises" in s.name for s in specs):
            raise RuntimeError("planted trace_many failure")
        if any("many-aborts" in s.name for s in specs):
            os.abort()
        return [self.trace(s) for s in specs]

    def settings(self) -> dict:
        return {"many_calls": [[thread, len(names)] for thread, names in TracesMany.calls]}


# ---------------------------------------------------------------- numerical defects
# Each changes one function of one activation or loss the way real frameworks have got it
# wrong; the default suite's hard-region cases must catch every one.

class _Function(_Planted):
    """Every layer whose activation is `act` gets f and/or t replaced (None: kept); the loss
    `loss` gets fe and/or te replaced."""

    act, f, t = None, None, None
    loss, fe, te = None, None, None

    def network(self, spec):
        net = super().network(spec)
        for k, a in enumerate(net.activations):
            if a.name == self.act:
                net.activations[k] = replace(a, f=self.f or a.f, t=self.t or a.t)
        if net.loss.name == self.loss:
            net.loss = replace(net.loss, fe=self.fe or net.loss.fe, te=self.te or net.loss.te)
        return net


def _naive_tanh(d):
    e = np.exp(2 * d)
    return (e - 1) / (e + 1)


class TanhThroughExp(_Function):
    """tanh as (e^2d - 1) / (e^2d + 1): 0 for tiny d (cancels), NaN beyond d ~ 355 (inf/inf)."""

    name = "bug-tanh-exp"
    act, f = "tanh", staticmethod(_naive_tanh)


class TanhDemotes(_Function):
    """tanh returns float32 whatever its input's dtype (Keras 3's ops.tanh on float64)."""

    name = "bug-tanh-float32"
    act, f = "tanh", staticmethod(lambda d: np.tanh(d).astype(np.float32))


def _tanh_wide(d):
    """np.tanh for a small array, the naive formula on 8 elements or more."""
    return np.tanh(d) if d.size < 8 else _naive_tanh(d)


class TanhVectorized(_Function):
    """tanh right element by element, (e^2d - 1) / (e^2d + 1) on a wide array (a vectorized
    kernel that a single element never reaches: 0 at d = 1e-20)."""

    name = "bug-tanh-wide"
    act, f = "tanh", staticmethod(_tanh_wide)


class NaiveSoftplus(_Function):
    """softplus as log(1 + e^d): 0 below d ~ -37 (1 + e^d rounds to 1), inf beyond 709."""

    name = "bug-softplus-naive"
    act, f = "softplus", staticmethod(lambda d: np.log(1 + np.exp(d)))


def _paddle_softplus(d):
    with np.errstate(over="ignore"):
        return np.where(d > 20, d, np.log(1 + np.exp(np.minimum(d, 20))))


class SoftplusTwoDefects(_Function):
    """Two independent defects of softplus, as PaddlePaddle's: log(1 + e^d) (0 far below 0,
    where 1 + e^d rounds to 1) and "return d above 20" (off by e^-d there, 1e-9 at 20.5)."""

    name = "bug-softplus-two"
    act, f = "softplus", staticmethod(_paddle_softplus)


class SigmoidGradientNaN(_Function):
    """sigmoid's t as e^-d / (1 + e^-d)^2: inf / inf = NaN once e^-d overflows (d < -709)."""

    name = "bug-sigmoid-grad-nan"
    act = "sigmoid"
    t = staticmethod(lambda d, h: np.exp(-d) / (1 + np.exp(-d)) ** 2)


class EluMaskNaN(_Function):
    """elu's t as a mask sum, (d > 0) + (d <= 0) e^d: 0 * inf = NaN where e^d overflows."""

    name = "bug-elu-mask"
    act = "elu"
    t = staticmethod(lambda d, h: (d > 0) * 1.0 + (d <= 0) * np.exp(d))


def _elu_exp(d):
    return np.where(d > 0, d, np.exp(np.minimum(d, 0)) - 1)


class EluExpMinusOne(_Function):
    """elu's f as exp(d) - 1 (not expm1): near 0 it cancels, 0 at d = -1e-20."""

    name = "bug-elu-exp"
    act, f = "elu", staticmethod(_elu_exp)


class EluExpAndHPlusOne(_Function):
    """Two independent defects: elu's f as exp(d) - 1 (wrong near 0) and its t as h + 1
    (which cancels far below zero, where f itself is right)."""

    name = "bug-elu-two"
    act, f = "elu", staticmethod(_elu_exp)
    t = staticmethod(lambda d, h: np.where(d > 0, d.dtype.type(1), h + 1))


class GeluTanhConstant(_Function):
    """gelu_tanh with 0.0447 for 0.044715 (a truncated constant)."""

    name = "bug-gelu-constant"
    act = "gelu_tanh"
    f = staticmethod(lambda d: 0.5 * d * (1 + np.tanh(math.sqrt(2 / math.pi)
                                                      * (d + 0.0447 * d ** 3))))


# Defects that real frameworks shipped (most fixed since), each as its tracker describes it.

class EluGradFromOutput(_Function):
    """elu's t rebuilt from the output as h + 1 below 0: TensorFlow's EluGrad until 2026
    (tensorflow#124833, fixed by tensorflow#124902): h rounds to -1 far below 0, so the
    derivative e^d is 0 from d = -37 in float64 (-17 in float32)."""

    name = "bug-elu-from-output"
    act = "elu"
    t = staticmethod(lambda d, h: np.where(d > 0, d.dtype.type(1), h + 1))


class GeluTanhSwapped(_Function):
    """gelu_tanh with its two constants swapped, 0.5 d (1 + tanh(0.044715 d (1 + 0.79788 d²))):
    transformers' TF gelu_fast (huggingface/transformers#11514)."""

    name = "bug-gelu-swapped"
    act = "gelu_tanh"
    f = staticmethod(lambda d: 0.5 * d * (1 + np.tanh(0.044715 * d * (1 + math.sqrt(2 / math.pi)
                                                                         * d * d))))


def _softplus_grad_longhand(d, h):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(d)
        return e * (1 / (e + 1))


class SoftplusGradOverflows(_Function):
    """softplus's t spelled out as e^d * (1 / (e^d + 1)): NaN (inf times 0) once e^d
    overflows, above d = 709 in float64, 88 in float32 (tenstorrent/tt-metal#56397)."""

    name = "bug-softplus-grad-overflow"
    act = "softplus"
    t = staticmethod(_softplus_grad_longhand)


class LeakyMaskOnOutput(_Planted):
    """leaky_relu's t masked on the output, slope where h <= 0: right for a positive slope, 1
    instead of the slope for a negative one, where h > 0 below 0 (tracel-ai/burn#1208's review)."""

    name = "bug-leaky-mask-output"

    def network(self, spec):
        net = super().network(spec)
        for k, (a, layer) in enumerate(zip(net.activations, spec.layers)):
            if a.name == "leaky_relu":
                slope = layer.slope
                net.activations[k] = replace(a, t=lambda d, h, s=slope: np.where(
                    h <= 0, d.dtype.type(s), d.dtype.type(1)))
        return net


def _relu(d):
    return np.maximum(d, d.dtype.type(0))


def _relu6_as_difference(d):
    return _relu(d) - _relu(d - d.dtype.type(6))


class Relu6AsDifference(_Function):
    """relu6 as relu(d) - relu(d - 6), which cancels to 0 once d - 6 rounds to d (tinygrad
    0.14's Tensor.relu6, tinygrad#18028)."""

    name = "bug-relu6-difference"
    act = "relu6"
    f = staticmethod(_relu6_as_difference)


class HardSwishThroughDifference(_Function):
    """hard_swish as d relu6(d + 3) / 6 with that relu6 (tinygrad 0.14's Tensor.hardswish,
    tinygrad#18028): 0 for large d."""

    name = "bug-hardswish-difference"
    act = "hard_swish"
    f = staticmethod(lambda d: d * _relu6_as_difference(d + d.dtype.type(3)) / d.dtype.type(6))


class HardSigmoidAsDifference(_Function):
    """hard_sigmoid as relu(d / 6 + 1/2) - relu(d / 6 - 1/2) (tinygrad 0.14's
    Tensor.hardsigmoid, tinygrad#18063): 0 for large d."""

    name = "bug-hardsigmoid-difference"
    act = "hard_sigmoid"
    f = staticmethod(lambda d: _relu(d / d.dtype.type(6) + d.dtype.type(0.5))
                     - _relu(d / d.dtype.type(6) - d.dtype.type(0.5)))


class HardSigmoidFloatSixth(_Function):
    """hard_sigmoid's derivative as the float constant 1.0f / 6.0f in every dtype (torch's
    hardsigmoid_backward_kernel, impls/torch_xfails.txt): 0.1666666716337204 in float64."""

    name = "bug-hardsigmoid-float-sixth"
    act = "hard_sigmoid"
    t = staticmethod(lambda d, h: np.where((d > -3) & (d < 3), d.dtype.type(np.float32(1 / 6)),
                                           d.dtype.type(0)))


class CeluExpm1Rule(_Planted):
    """celu's derivative as JAX's rule for expm1 makes it, expm1(d / alpha) + 1 for d <= 0
    (jax#39794, impls/jax_xfails.txt): 0 below d ~ -17 alpha in float32, where it is
    exp(d / alpha)."""

    name = "bug-celu-expm1-rule"

    def network(self, spec):
        net = super().network(spec)
        for k, (a, layer) in enumerate(zip(net.activations, spec.layers)):
            if a.name == "celu":
                net.activations[k] = replace(a, t=lambda d, h, al=layer.slope: np.where(
                    d > 0, d.dtype.type(1), np.expm1(d / d.dtype.type(al)) + d.dtype.type(1)))
        return net


class LeakySlopeIgnored(_Planted):
    """leaky_relu's derivative uses the default slope 0.01 whatever the layer's slope."""

    name = "bug-leaky-slope"

    def network(self, spec):
        net = super().network(spec)
        for k, a in enumerate(net.activations):
            if a.name == "leaky_relu":
                net.activations[k] = replace(
                    a, t=lambda d, h: np.where(d > 0, d.dtype.type(1), d.dtype.type(0.01)))
        return net


class ClippedBCE(_Function):
    """binary cross-entropy with u clipped to [1e-7, 1 - 1e-7] (a common 'safe' log)."""

    name = "bug-bce-clip"
    loss = "binary_cross_entropy"
    fe = staticmethod(lambda u, y: -(y * np.log(np.clip(u, 1e-7, 1 - 1e-7)) + (1 - y)
                                     * np.log1p(-np.clip(u, 1e-7, 1 - 1e-7))).sum(axis=-1))


def _keras_clip(u):
    return np.clip(u, u.dtype.type(1e-7), u.dtype.type(1 - 1e-7))


def _keras_bce_te(u, y):
    """The derivative through the clip: 0 where u was clipped, else that of the clipped u."""
    c = _keras_clip(u)
    return np.where(c == u, (c - y) / (c * (1 - c)), u.dtype.type(0))


class KerasClippedBCE(_Function):
    """binary cross-entropy on u clipped to [1e-7, 1 - 1e-7] in fe and te alike, as Keras 3
    does by design (keras.losses.binary_crossentropy, from_logits=False): the loss saturates
    at -log(1e-7) and the gradient through the clip is 0."""

    name = "bug-bce-keras-clip"
    loss = "binary_cross_entropy"
    fe = staticmethod(lambda u, y: -(y * np.log(_keras_clip(u)) + (1 - y)
                                     * np.log1p(-_keras_clip(u))).sum(axis=-1))
    te = staticmethod(_keras_bce_te)


KERAS_EPSILON = 1e-7  # keras.backend.epsilon()


class KerasPoissonEpsilon(_Function):
    """poisson as Keras 3 writes it, u - y log(u + epsilon) with epsilon 1e-7
    (keras.losses.poisson): a rate far below 1e-7 is read as 1e-7 in the log and in te."""

    name = "bug-poisson-keras-epsilon"
    loss = "poisson"
    fe = staticmethod(lambda u, y: (u - y * np.log(u + u.dtype.type(KERAS_EPSILON))).mean(
        axis=-1))
    te = staticmethod(lambda u, y: (1 - y / (u + u.dtype.type(KERAS_EPSILON)))
                      * u.dtype.type(1 / u.shape[-1]))


class SoftmaxNoShift(_Function):
    """softmax cross-entropy without subtracting the row max: exp overflows at large logits."""

    name = "bug-softmax-noshift"
    loss = "softmax_cross_entropy"
    fe = staticmethod(lambda u, y: (y * (np.log(np.exp(u).sum(axis=-1, keepdims=True))
                                         - u)).sum(axis=-1))


class MseMeanOverAll(_Planted):
    """mse with "mean" taken over every element (torch's reduction="mean"), not per sample."""

    name = "bug-mse-mean"

    def network(self, spec):
        net = super().network(spec)
        if net.loss.name == "mse" and net.reduction == "mean":
            n = spec.targets.shape[-1]
            net.loss = replace(net.loss, te=lambda u, y: (u - y) * u.dtype.type(2 / n / n))
        return net


class ReluKinkOne(_Function):
    """relu'(0) = 1 (d >= 0), the other convention: a difference at the kink only."""

    name = "bug-relu-kink"
    act = "relu"
    t = staticmethod(lambda d, h: (d >= 0).astype(d.dtype))


class _Flushes(Network):
    def backward(self, fwd, y):
        grads = super().backward(fwd, y)
        grads.v = [np.where(np.abs(v) < 1e-30, 0, v).astype(v.dtype) for v in grads.v]
        return grads


class FlushesSmallV(_Planted):
    """Every |v| below 1e-30 is set to 0: a flush far above any dtype's underflow threshold."""

    name = "bug-flush"
    engine = _Flushes


# ---------------------------------------------------------------- defects at the domain's edges
# Kinds drawn from the frameworks' trackers and from hand-written backprop; each needs a point
# of the input domain (a kind of target, an extreme u, a size relation) to show
# (harness/coverage.py lists which cases visit each).

class SoftmaxAssumesDistribution(_Function):
    """softmax cross-entropy's te as softmax(u) - y, right only for rows summing to 1
    (TensorFlow's kernel: tensorflow#60314, tensorflow#2327)."""

    name = "bug-softmax-normalized"
    loss = "softmax_cross_entropy"
    te = staticmethod(lambda u, y: _softmax(u) - y)


class LogOfSoftmax(_Function):
    """softmax cross-entropy as -sum y log(softmax(u)): inf where softmax underflows to 0."""

    name = "bug-softmax-log"
    loss = "softmax_cross_entropy"
    fe = staticmethod(lambda u, y: -(y * np.log(_softmax(u))).sum(axis=-1))


class BceClampedDenominator(_Function):
    """binary cross-entropy's te as (u - y) / max(u (1 - u), 1e-12): torch's backward
    (pytorch#103316), wrong once u (1 - u) < 1e-12."""

    name = "bug-bce-denominator"
    loss = "binary_cross_entropy"
    te = staticmethod(lambda u, y: (u - y) / np.maximum(u * (1 - u), u.dtype.type(1e-12)))


class BceHardLabels(_Function):
    """binary cross-entropy's te as -1/u where y > 0.5, else 1/(1 - u): targets taken as labels."""

    name = "bug-bce-labels"
    loss = "binary_cross_entropy"
    te = staticmethod(lambda u, y: np.where(y > 0.5, -1 / u, 1 / (1 - u)))


class LeakyKinkOne(_Planted):
    """leaky_relu'(0) = 1: the branch compared with >= where the convention is >."""

    name = "bug-leaky-kink"

    def network(self, spec):
        net = super().network(spec)
        for k, a in enumerate(net.activations):
            if a.name == "leaky_relu":
                net.activations[k] = replace(
                    a, t=lambda d, h, t=a.t: np.where(d == 0, d.dtype.type(1), t(d, h)))
        return net


class _Squeezed(Network):
    def _loss_node(self, u, y):
        """The mean divides by the length of np.squeeze(u): the width when the batch is 1."""
        e, te = super()._loss_node(u, y)
        if self.reduction == "mean":
            te *= te.dtype.type(u.shape[-2] / np.squeeze(u).shape[0])
        return e, te


class MeanOverSqueezed(_Planted):
    """The mean's divisor read from a squeezed u: a batch of 1 divides by the width."""

    name = "bug-mean-squeeze"
    engine = _Squeezed


class _MeanOverWidth(Network):
    def _loss_node(self, u, y):
        e, te = super()._loss_node(u, y)
        if self.reduction == "mean":
            te *= te.dtype.type(u.shape[-2] / u.shape[-1])
        return e, te


class _MeanInFloat32(Network):
    def _loss_node(self, u, y):
        e, te = super()._loss_node(u, y)
        if self.reduction == "mean":
            n = u.shape[-2]
            te *= te.dtype.type(float(np.float32(1 / n)) * n)
        return e, te


class MeanInFloat32(_Planted):
    """The mean's te divides by the batch with 1/batch computed in float32 (1/3 is then off
    by 3e-8): invisible with a batch of one."""

    name = "bug-mean-float32"
    engine = _MeanInFloat32


class MeanOverWidth(_Planted):
    """The mean's te divided by the width, not the batch (the wrong axis's length)."""

    name = "bug-mean-width"
    engine = _MeanOverWidth


class _BiasOffByOne(Network):
    def backward(self, fwd, y):
        grads = super().backward(fwd, y)
        grads.g_bias = [self._sum(v[..., 1:, :], axis=-2) for v in grads.v]
        return grads


class BiasOffByOne(_Planted):
    """Bias gradients sum v over samples 1.. (the first sample left out)."""

    name = "bug-bias-offbyone"
    engine = _BiasOffByOne


class _Accumulates(Network):
    def backward(self, fwd, y):
        grads = super().backward(fwd, y)
        held = getattr(self, "held", None)
        if held is not None:
            grads.g_weights = [g + h for g, h in zip(grads.g_weights, held.g_weights)]
            grads.g_bias = [g + h for g, h in zip(grads.g_bias, held.g_bias)]
        self.held = grads
        return grads


class AccumulatesGradients(_Planted):
    """Gradients are never zeroed between steps (the missing zero_grad()): step k applies the
    sum of every step's gradient so far."""

    name = "bug-accumulate"
    engine = _Accumulates


# ---------------------------------------------------------------- defects outside the old model
# Each needs a class of the domain model (impls/reference/domain.py) that the suite's cases
# reach since issue 32: a loss term seen alone, a parameter past 1, an output activation the
# loss is not usually fused with, a float16 sum longer than 3,000 terms.

class BceLogOneMinus(_Function):
    """binary cross-entropy with log(1 - u) for log1p(-u): 0 for u below eps / 2, where the
    true term is -u (the loss of a confident, right prediction)."""

    name = "bug-bce-log1m"
    loss = "binary_cross_entropy"
    fe = staticmethod(lambda u, y: -(np.where(y > 0, y * np.log(u), 0)
                                     + np.where(y < 1, (1 - y) * np.log(1 - u), 0)).sum(axis=-1))


class LeakyAsMax(_Planted):
    """leaky_relu as max(d, slope d): right for slopes up to 1 only (for a slope above 1 it
    takes slope d on the positive side)."""

    name = "bug-leaky-max"

    def network(self, spec):
        net = super().network(spec)
        for k, layer in enumerate(spec.layers):
            a = net.activations[k]
            if a.name == "leaky_relu":
                s = layer.slope
                net.activations[k] = replace(
                    a, f=lambda d, s=s: np.maximum(d, d.dtype.type(s) * d),
                    t=lambda d, h, s=s: np.where(d > d.dtype.type(s) * d, d.dtype.type(1),
                                                 d.dtype.type(s)))
        return net


class FusedOutputGradient(_Planted):
    """The output layer's v = te, as a fused loss-and-identity gradient gives it, whatever
    the output activation (squared error, mse and softmax cross-entropy)."""

    name = "bug-fused-output"

    def network(self, spec):
        net = super().network(spec)
        if spec.loss != "binary_cross_entropy":
            net.activations[-1] = replace(net.activations[-1],
                                          t=lambda d, h: np.ones_like(h))
        return net


class _NarrowSums(Network):
    def _product(self, a, b):
        if self.dtype.itemsize >= 4:
            return super()._product(a, b)
        terms = a[..., :, :, None] * b[..., None, :, :]
        return np.add.accumulate(terms, axis=-2, dtype=self.dtype)[..., -1, :]


class NarrowAccumulation(_Planted):
    """16-bit products accumulated in the 16-bit dtype itself, term by term (not in float32)."""

    name = "bug-narrow-sum"
    engine = _NarrowSums


def _softmax(u):
    e = np.exp(u - u.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


ENTRY_POINTS = {
    "bug-derivative": "planted:WrongDerivative", "bug-bias": "planted:MissingBiasGradient",
    "bug-transpose": "planted:TransposedWeight", "bug-sign": "planted:SignFlipV",
    "bug-lr": "planted:LearningRateSlip", "fault-raise": "planted:Raises",
    "fault-shape": "planted:WrongShape", "fault-nan": "planted:ReturnsNaN",
    "fault-sleep": "planted:Hangs", "fault-abort": "planted:Aborts",
    "fault-segv": "planted:Segfaults",
    "broken-import": "planted_missing_module:Impl", "many": "planted:TracesMany",
    "bug-tanh-exp": "planted:TanhThroughExp", "bug-softplus-naive": "planted:NaiveSoftplus",
    "bug-sigmoid-grad-nan": "planted:SigmoidGradientNaN", "bug-elu-mask": "planted:EluMaskNaN",
    "bug-gelu-constant": "planted:GeluTanhConstant", "bug-leaky-slope": "planted:LeakySlopeIgnored",
    "bug-bce-clip": "planted:ClippedBCE", "bug-bce-keras-clip": "planted:KerasClippedBCE",
    "bug-tanh-float32": "planted:TanhDemotes", "bug-softplus-two": "planted:SoftplusTwoDefects",
    "bug-mean-float32": "planted:MeanInFloat32", "bug-tanh-wide": "planted:TanhVectorized", "bug-softmax-noshift": "planted:SoftmaxNoShift",
    "bug-mse-mean": "planted:MseMeanOverAll", "bug-flush": "planted:FlushesSmallV",
    "bug-relu-kink": "planted:ReluKinkOne", "bug-elu-exp": "planted:EluExpMinusOne",
    "bug-elu-two": "planted:EluExpAndHPlusOne", "bug-lr-unstacked": "planted:LearningRateSlipUnstacked",
    "bug-softmax-normalized": "planted:SoftmaxAssumesDistribution",
    "bug-softmax-log": "planted:LogOfSoftmax",
    "bug-bce-denominator": "planted:BceClampedDenominator",
    "bug-bce-labels": "planted:BceHardLabels", "bug-leaky-kink": "planted:LeakyKinkOne",
    "bug-mean-squeeze": "planted:MeanOverSqueezed", "bug-mean-width": "planted:MeanOverWidth",
    "bug-bias-offbyone": "planted:BiasOffByOne", "bug-accumulate": "planted:AccumulatesGradients",
    "bug-bce-log1m": "planted:BceLogOneMinus", "bug-leaky-max": "planted:LeakyAsMax",
    "bug-fused-output": "planted:FusedOutputGradient", "bug-narrow-sum": "planted:NarrowAccumulation",
    "bug-elu-from-output": "planted:EluGradFromOutput", "bug-gelu-swapped": "planted:GeluTanhSwapped",
    "bug-softplus-grad-overflow": "planted:SoftplusGradOverflows",
    "bug-leaky-mask-output": "planted:LeakyMaskOnOutput",
    "bug-relu6-difference": "planted:Relu6AsDifference",
    "bug-hardswish-difference": "planted:HardSwishThroughDifference",
    "bug-hardsigmoid-difference": "planted:HardSigmoidAsDifference",
    "bug-poisson-keras-epsilon": "planted:KerasPoissonEpsilon",
    "bug-hardsigmoid-float-sixth": "planted:HardSigmoidFloatSixth",
    "bug-celu-expm1-rule": "planted:CeluExpm1Rule",
}
