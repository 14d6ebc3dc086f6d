"""TensorFlow adapter: tf.nn and tf.math forward, tf.GradientTape backward, eager or compiled
by XLA (tf.function(jit_compile=True), the mode tensorflow-xla).

v is the tape's gradient with respect to zero perturbations z added to every pre-activation
d, as in the jax adapter. TensorFlow (5 s to import, more on a loaded machine) is imported at
the first trace, not when the adapter loads. The seed's activations and losses are TensorFlow's
own (tf.nn.relu, leaky_relu, softplus, elu, silu, gelu; softmax_cross_entropy_with_logits;
tf.math.xlogy and xlog1py for binary cross-entropy), and so are relu6, selu, log_sigmoid,
softsign, l1 and bce_with_logits; the rest, which only Keras has, are composed in Keras's
form (COMPOSED, in settings()).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from impls.framework_trace import build_trace, installed_version, require

tf = None  # imported by _load()

ACTIVATIONS = {  # name: f(d, slope)
    "identity": lambda d, s: d,
    "sigmoid": lambda d, s: tf.math.sigmoid(d),
    "tanh": lambda d, s: tf.math.tanh(d),
    "relu": lambda d, s: tf.nn.relu(d),
    "leaky_relu": lambda d, s: tf.nn.leaky_relu(d, alpha=s),
    "softplus": lambda d, s: tf.math.softplus(d),
    "elu": lambda d, s: tf.nn.elu(d),
    "silu": lambda d, s: tf.nn.silu(d),
    "gelu": lambda d, s: tf.nn.gelu(d, approximate=False),
    "gelu_tanh": lambda d, s: tf.nn.gelu(d, approximate=True),
    "relu6": lambda d, s: tf.nn.relu6(d),
    "selu": lambda d, s: tf.nn.selu(d),
    "celu": lambda d, s: tf.where(d > 0, d, s * tf.math.expm1(tf.minimum(d, 0) / s)),
    "log_sigmoid": lambda d, s: tf.math.log_sigmoid(d),
    "softsign": lambda d, s: tf.nn.softsign(d),
    "mish": lambda d, s: d * tf.math.tanh(tf.math.softplus(d)),
    "hard_sigmoid": lambda d, s: tf.nn.relu6(d + 3) / 6,
    "hard_swish": lambda d, s: d * tf.nn.relu6(d + 3) / 6,
    "hard_tanh": lambda d, s: tf.clip_by_value(d, -1.0, 1.0) - _at_kinks(d, 1.0),
}


def _at_kinks(d, at):
    """0, with derivative 1 where |d| == at: subtracted, it moves tf.clip_by_value's derivative
    at its bounds (1) onto the spec's hard_tanh'(±1) = 0."""
    return (d - tf.stop_gradient(d)) * tf.cast(tf.abs(tf.stop_gradient(d)) == at, d.dtype)


COMPOSED = {  # the functions tf.nn and tf.math have no built-in for, as the adapter writes them
    "celu": "composed where(d > 0, d, alpha expm1(min(d, 0) / alpha)) (keras.ops.celu's form)",
    "mish": "composed d tanh(softplus(d)) (keras.activations.mish's form)",
    "hard_sigmoid": "composed relu6(d + 3) / 6 (keras.activations.hard_sigmoid's form)",
    "hard_swish": "composed d relu6(d + 3) / 6 (keras.activations.hard_silu's form)",
    "hard_tanh": "clip_by_value(d, -1, 1), its derivative at ±1 moved from 1 to the spec's 0",
    "huber": "composed as keras.losses.huber (delta 1)",
    "log_cosh": "composed as keras.losses.log_cosh: r + softplus(-2r) - log 2",
    "kl_divergence": "composed xlogy(y, y) - y u on log-probabilities (Keras's takes "
                     "probabilities, clipped to [1e-7, 1])",
    "poisson": "composed u - xlogy(y, u) on the rate (tf.nn.log_poisson_loss takes log-rates; "
               "keras.losses.poisson adds 1e-7 inside the log)",
    "hinge": "composed relu(1 - y u) (keras.losses.hinge's maximum takes the derivative -y at "
             "the kink)",
}

LOSSES = {  # per-sample losses
    "squared_error": lambda u, y: 0.5 * tf.reduce_sum(tf.math.squared_difference(u, y), -1),
    "mse": lambda u, y: tf.reduce_mean(tf.math.squared_difference(u, y), -1),
    "softmax_cross_entropy": lambda u, y: tf.nn.softmax_cross_entropy_with_logits(y, u),
    "binary_cross_entropy": lambda u, y: -tf.reduce_sum(
        tf.math.xlogy(y, u) + tf.math.xlog1py(1 - y, -u), -1),
    "l1": lambda u, y: tf.reduce_mean(tf.abs(u - y), -1),
    "huber": lambda u, y: tf.reduce_mean(_huber(tf.abs(u - y)), -1),
    "log_cosh": lambda u, y: tf.reduce_mean(
        (u - y) + tf.math.softplus(-2 * (u - y)) - tf.constant(math.log(2), u.dtype), -1),
    "kl_divergence": lambda u, y: tf.reduce_sum(tf.math.xlogy(y, y) - y * u, -1),
    "poisson": lambda u, y: tf.reduce_mean(u - tf.math.xlogy(y, u), -1),
    "hinge": lambda u, y: tf.reduce_mean(tf.nn.relu(1 - y * u), -1),
    "bce_with_logits": lambda u, y: tf.reduce_sum(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=u), -1),
}


def _huber(r):
    """keras.losses.huber's form, delta 1: r^2 / 2 up to 1, r - 1/2 beyond."""
    return tf.where(r <= 1, 0.5 * r * r, r - 0.5)


def _load():
    """Import TensorFlow once, at the first call (its C++ log and its retracing warnings, one
    trace per architecture being the design here, quiet unless asked for)."""
    global tf
    if tf is None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf
        tf.get_logger().setLevel("ERROR")


def _step(acts: tuple, loss: str, reduction: str):
    """(params, x, y, r) -> (e, ds, hs, grads, vs, new params) for one architecture."""
    reduce = tf.reduce_mean if reduction == "mean" else tf.reduce_sum

    def step(params, x, y, r):
        zs = [tf.zeros(tf.concat([tf.shape(x)[:-1], tf.shape(w)[-2:-1]], 0), x.dtype)
              for w, _ in params]
        with tf.GradientTape() as tape:
            tape.watch([params, zs])
            ds, hs, h = [], [], x
            for (w, b), z, (act, slope) in zip(params, zs, acts):
                d = tf.matmul(h, w, transpose_b=True) + b[..., None, :] + z
                h = ACTIVATIONS[act](d, slope)
                ds.append(d)
                hs.append(h)
            e = reduce(LOSSES[loss](h, y), -1)
            total = tf.reduce_sum(e)  # stacked networks are independent: their sum serves
        grads, vs = tape.gradient(total, [params, zs])
        new = [(w - r * gw, b - r * gb) for (w, b), (gw, gb) in zip(params, grads)]
        return e, ds, hs, grads, vs, new

    return step


class TensorflowImpl:
    """TensorFlow eager on the CPU, in the spec's dtype. TensorflowXlaImpl below is its XLA
    mode, an implementation of its own (registry.MODES)."""

    name = "tensorflow"
    jit = False
    xfails = Path(__file__).with_name("tensorflow_xfails.txt")  # its known deviations
    # what TensorFlow's manual requires of the targets (harness/preconditions.py)
    preconditions = (
        {"loss": "softmax_cross_entropy", "targets": "distribution",
         "url": "https://www.tensorflow.org/api_docs/python/tf/nn/softmax_cross_entropy_with_logits"},
    )

    def __init__(self):
        require("tensorflow", "tensorflow")
        self._steps: dict = {}

    def version(self) -> str:
        return installed_version("tensorflow")

    def settings(self) -> dict:
        """Read without importing tensorflow (`impls` lists every adapter's settings): the
        adapter leaves TensorFlow's thread pools at their defaults and sets only these."""
        return {"tensorflow": self.version(), "mode": "xla" if self.jit else "eager",
                "jit_compile": self.jit, "device": "cpu", "threads": "tensorflow's default",
                "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
                "composed": COMPOSED}

    def _step_fn(self, spec):
        key = (tuple((layer.activation, layer.slope) for layer in spec.layers), spec.loss,
               spec.reduction)
        if key not in self._steps:
            step = _step(*key)
            self._steps[key] = tf.function(step, jit_compile=True) if self.jit else step
        return self._steps[key]

    def trace(self, spec):
        _load()
        with tf.device("/CPU:0"):
            step = self._step_fn(spec)
            params = [(tf.constant(layer.weights), tf.constant(layer.bias))
                      for layer in spec.layers]
            x, y = tf.constant(spec.inputs), tf.constant(spec.targets)
            r = tf.constant(spec.learning_rate, dtype=x.dtype)
            states = []
            for _ in range(spec.steps):
                e, ds, hs, grads, vs, params = step(params, x, y, r)
                states.append((e.numpy(), [t.numpy() for t in ds], [t.numpy() for t in hs],
                               [t.numpy() for t in vs],
                               [(gw.numpy(), gb.numpy()) for gw, gb in grads]))
            final = [(w.numpy(), b.numpy()) for w, b in params]
        return build_trace(self, spec, states, final)

    def trace_stacked(self, stack):
        """Networks on a leading axis: tf.matmul's batched products, one tape for them all."""
        return self.trace(stack)


class TensorflowXlaImpl(TensorflowImpl):
    """The same step under tf.function(jit_compile=True): XLA compiles it (and fuses) once per
    architecture and shape."""

    name = "tensorflow-xla"
    jit = True
    xfails = Path(__file__).with_name("tensorflow_xla_xfails.txt")
