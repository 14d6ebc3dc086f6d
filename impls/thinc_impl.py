"""thinc adapter: explosion's thinc (the layers under spaCy) on its NumpyOps, in the spec's
dtype, through thinc's own hand-written backward functions.

thinc has no tape: each activation of NumpyOps comes with its backward (backprop_gelu,
backprop_swish, dsigmoid, ...), and a thinc layer calls them itself. This adapter does the
same: d = h W^T + b (ops.gemm), h = the activation (ops.sigmoid, ops.gelu, ops.swish, ...),
and from the loss's te the backward walks the layers: v = the activation's backward at (dh,
d, h), g_W = v^T h_prev, g_b = sum v, dh_prev = v W. v comes straight from the backward
function: no zero added to d is needed. thinc has no elu, softplus, leaky_relu, selu, celu,
log_sigmoid or softsign (not supported: supports lists what it has); its relu6 is relu_k,
torch's hard_sigmoid its clipped_linear with slope 1/6 (its own hard_sigmoid is Keras 2's, slope
0.2) and torch's hardswish its hard_swish_mobilenet. Its losses are layers of their own:
squared error and softmax cross-entropy are composed on the ops' arrays, the other losses
not supported (settings() says so).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from impls.framework_trace import build_trace, installed_version, require

ops = None  # thinc's NumpyOps, made by _load()


def _load():
    global ops
    if ops is None:
        from thinc.api import NumpyOps
        ops = NumpyOps()


ACTIVATIONS = {  # name: f(d)
    "identity": lambda d: d,
    "sigmoid": lambda d: ops.sigmoid(d),
    "tanh": lambda d: ops.xp.tanh(d),
    "relu": lambda d: ops.relu(d),
    "gelu": lambda d: ops.gelu(d),
    "gelu_tanh": lambda d: ops.gelu_approx(d),
    "silu": lambda d: ops.swish(d),
    "relu6": lambda d: ops.relu_k(d, n=6.0),
    "mish": lambda d: ops.mish(d),
    "hard_sigmoid": lambda d: ops.clipped_linear(d, slope=1 / 6, offset=0.5),
    "hard_swish": lambda d: ops.hard_swish_mobilenet(d),
    "hard_tanh": lambda d: ops.hard_tanh(d),
}

BACKWARD = {  # name: dE/dd from (dE/dh, d, h), thinc's own backward functions
    "identity": lambda dh, d, h: dh,
    "sigmoid": lambda dh, d, h: dh * ops.dsigmoid(h),
    "tanh": lambda dh, d, h: dh * ops.dtanh(h),
    "relu": lambda dh, d, h: ops.backprop_relu(dh, h),
    "gelu": lambda dh, d, h: ops.backprop_gelu(dh, d),
    "gelu_tanh": lambda dh, d, h: ops.backprop_gelu_approx(dh, d),
    "silu": lambda dh, d, h: ops.backprop_swish(dh, d, h),
    "relu6": lambda dh, d, h: ops.backprop_relu_k(dh, d, n=6.0),
    "mish": lambda dh, d, h: ops.backprop_mish(dh, d),
    "hard_sigmoid": lambda dh, d, h: ops.backprop_clipped_linear(dh, d, slope=1 / 6, offset=0.5),
    "hard_swish": lambda dh, d, h: ops.backprop_hard_swish_mobilenet(dh, d),
    "hard_tanh": lambda dh, d, h: ops.backprop_hard_tanh(dh, d),
}

COMPOSED = {  # what the adapter writes itself, or takes other than by the spec's name
    "hard_sigmoid": "ops.clipped_linear(slope=1/6, offset=0.5) (thinc's hard_sigmoid has "
                    "slope 0.2, Keras 2's)",
    "hard_swish": "ops.hard_swish_mobilenet (thinc's hard_swish is d hard_sigmoid(d), slope 0.2)",
    "losses": "composed on NumPy arrays (thinc's own are layers)",
}


def _softmax_cross_entropy(u, y):
    """-sum y log softmax(u) and its te softmax(u) sum(y) - y (ops.softmax, a log-sum-exp)."""
    shifted = u - u.max(-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    return -(y * log_p).sum(-1), ops.softmax(u) * y.sum(-1, keepdims=True) - y


LOSSES = {  # (u, y) -> per-sample loss, te = d loss / d u
    "squared_error": lambda u, y: (0.5 * ((u - y) ** 2).sum(-1), u - y),
    "mse": lambda u, y: (((u - y) ** 2).mean(-1), 2 * (u - y) / u.shape[-1]),
    "softmax_cross_entropy": _softmax_cross_entropy,
}


class ThincImpl:
    """thinc's NumpyOps and their backward functions, layer by layer."""

    name = "thinc"
    supports = {"dtypes": ["float64", "float32"], "activations": sorted(ACTIVATIONS),
                "losses": sorted(LOSSES)}
    xfails = Path(__file__).with_name("thinc_xfails.txt")  # its known deviations

    def __init__(self):
        require("thinc", "thinc")

    def version(self) -> str:
        return installed_version("thinc")

    def settings(self) -> dict:
        return {"thinc": self.version(), "ops": "NumpyOps", "numpy": np.__version__,
                "mode": "hand-written backward (NumpyOps.backprop_*)",
                "tanh": "ops.xp.tanh, its backward ops.dtanh",
                "composed": COMPOSED}

    def trace(self, spec):
        _load()
        dtype = np.dtype(spec.dtype)
        params = [(np.array(layer.weights), np.array(layer.bias)) for layer in spec.layers]
        x, y = np.asarray(spec.inputs), np.asarray(spec.targets)
        r = dtype.type(spec.learning_rate)
        states = []
        for _ in range(spec.steps):
            ds, hs, h = [], [], x
            for (w, b), layer in zip(params, spec.layers):
                d = ops.gemm(h, w, trans2=True) + b
                h = ACTIVATIONS[layer.activation](d)
                ds.append(d)
                hs.append(h)
            per_sample, te = LOSSES[spec.loss](h, y)
            scale = dtype.type(1 / spec.batch) if spec.reduction == "mean" else dtype.type(1)
            e = per_sample.sum() * scale
            dh, vs, grads = te * scale, [], []
            for k in reversed(range(len(params))):
                w, _ = params[k]
                v = BACKWARD[spec.layers[k].activation](dh, ds[k], hs[k])
                prev = hs[k - 1] if k else x
                grads.insert(0, (ops.gemm(v, prev, trans1=True), v.sum(0)))
                vs.insert(0, v)
                dh = ops.gemm(v, w)
            states.append((e, ds, hs, vs, grads))
            params = [(w - r * gw, b - r * gb) for (w, b), (gw, gb) in zip(params, grads)]
        return build_trace(self, spec, states, params)
