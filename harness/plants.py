"""Wrong implementations built automatically for harness/detect.py: the reference engine
with one value or one class of the domain perturbed.

Each builder returns a hook(net, spec) that changes a freshly built reference Network
(impls/reference/network.py) in place, only where the cell is: at d equal to one special
point, at the samples of one kind, for specs of one class. trace() runs it as the reference
adapter would.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from impls.reference import Network, activation
from impls.reference.domain import usual_output
from impls.reference.dtypes import dtype as np_dtype
from impls.reference_impl import ReferenceImpl

from .spec import Spec
from .tolerance import default_tolerances

DELTA_TIMES_RTOL = 1024  # the planted relative error, in units of the dtype's rtol


def trace(spec: Spec, hook):
    """The trace of the reference engine with `hook` applied to it."""
    net = Network.from_spec(spec)
    hook(net, spec)
    with np.errstate(all="ignore"):
        return ReferenceImpl()._run(net, spec)


def _bumped(fn, value: float, factor: float):
    """fn, with its result times `factor` where the first argument equals `value`."""
    def wrong(first, *rest):
        out = fn(first, *rest)
        return np.where(first == value, out * out.dtype.type(factor), out).astype(out.dtype)
    return wrong


def bump_activation(name: str, part: str, value: float, delta: float):
    """f or t of every layer of activation `name`, a relative error delta at d = value."""
    def hook(net, spec):
        for k, a in enumerate(net.activations):
            if a.name == name:
                net.activations[k] = replace(a, **{part: _bumped(getattr(a, part), value,
                                                                 1 + delta)})
    return hook


def other_branch(record, kink: float, dtype: str) -> float | None:
    """t on the side of the kink whose value the convention does not take (None when t is
    the same on both sides): the derivative of the wrong branch."""
    dt = np_dtype(dtype)
    ct = np.dtype(np.float32) if dt.itemsize < 4 else dt
    tiny = float(np.finfo(ct).smallest_normal)
    d = np.array([kink, kink - tiny, kink + tiny], dtype=ct)
    with np.errstate(all="ignore"):
        t = record.t(d, record.f(d))
    for side in (t[2], t[1]):
        if side != t[0]:
            return float(side)
    return None


def set_activation_t(name: str, kink: float, value: float):
    """t of activation `name` at d = kink set to `value`."""
    def hook(net, spec):
        for k, a in enumerate(net.activations):
            if a.name == name:
                def t(d, h, t=a.t):
                    return np.where(d == kink, d.dtype.type(value), t(d, h)).astype(d.dtype)
                net.activations[k] = replace(a, t=t)
    return hook


def loss_mask(point, u, y, dt) -> np.ndarray:
    """Per output, whether it is of the kind `point` (a row kind: every output of the row)."""
    if point.each is not None:
        return point.each(u, y, dt)
    return np.broadcast_to(point.holds(u, y, dt)[..., None], u.shape)


def terms(record, u, y) -> np.ndarray:
    """Each output's own term: the loss of that output alone, as a sample of one output."""
    return record.fe(u[..., None], y[..., None])


def bump_loss(name: str, part: str, point, delta: float):
    """te at the outputs of the kind, or fe plus delta times their terms (a row kind: the
    row's fe times 1 + delta): a wrong term there, the rest of the loss right."""
    def hook(net, spec):
        if net.loss.name != name:
            return
        dt, record = np_dtype(spec.dtype), net.loss

        def te(u, y):
            out = record.te(u, y)
            return np.where(loss_mask(point, u, y, dt), out * out.dtype.type(1 + delta),
                            out).astype(out.dtype)

        def fe(u, y):
            out = record.fe(u, y)
            if point.each is None:
                extra = np.where(point.holds(u, y, dt), out, 0)
            else:
                extra = np.where(point.each(u, y, dt), np.abs(terms(record, u, y)), 0).sum(-1)
            return (out + out.dtype.type(delta) * extra).astype(out.dtype)

        net.loss = replace(record, **{part: fe if part == "fe" else te})
    return hook


def delta(dtype: str) -> float:
    """The relative error planted: well above the tolerance (1024 rtol), at most 1/2."""
    return min(0.5, DELTA_TIMES_RTOL * default_tolerances(dtype)["forward"].rtol)


def delta_of(spec: Spec) -> float:
    return delta(spec.dtype)


def field_plant(fld, cls):
    """(hook, quantities where it enters, why it may be undetectable) for a class of a
    field; hook None (and why) where there is nothing to plant."""
    if fld.layer:
        def layer_default(net, spec):
            for k, layer in enumerate(spec.layers):
                if layer.activation in fld.takes and cls.holds(getattr(layer, fld.name)):
                    net.activations[k] = activation(layer.activation, fld.default)
        return layer_default, ("h", "v"), ""
    if fld.name == "reduction":
        if cls.holds(fld.default):
            return None, (), "the default: read as the default, it is the same"

        def reduction_default(net, spec):
            if cls.holds(spec.reduction):
                net.reduction = fld.default
        return reduction_default, ("loss", "v"), ""
    if fld.name == "batch":
        return _batch_plant(cls), ("v",), ""
    if fld.name == "steps":
        return _steps_plant(cls)
    if fld.name == "learning_rate":
        def rate(net, spec):
            if cls.holds(spec.learning_rate):
                step = net.step
                net.step = lambda grads, r: step(grads, r * (1 + delta_of(spec)))
        why = "r (1 + delta) g rounds the same as r g: below the weights' resolution " \
            "unless |g| > 2^60 |w| / delta" \
            if cls.example < 2.0 ** -60 else ""
        return rate, ("d", "weights", "bias"), why
    raise ValueError(f"no plant for the field {fld.name!r}")


def _batch_plant(cls):
    """Batch 1: te wrong when the batch is 1 (a squeezed axis); 2 or more: te wrong at every
    sample but the first (a reduction that reads sample 0 only is right)."""
    def hook(net, spec):
        if not cls.holds(spec.batch):
            return
        loss_node, factor = net._loss_node, 1 + delta_of(spec)

        def wrong(u, y):
            e, te = loss_node(u, y)
            first = 0 if spec.batch == 1 else 1
            te[..., first:, :] *= te.dtype.type(factor)
            return e, te
        net._loss_node = wrong
    return hook


def _steps_plant(cls):
    """1 step: the update wrong (seen only in the final parameters); 2 or more: h of layer 0
    wrong from step 1 on (seen only past step 0)."""
    if cls.holds(1):
        def last_update(net, spec):
            if spec.steps == 1:
                step = net.step
                net.step = lambda grads, r: step(grads, r * (1 + delta_of(spec)))
        return last_update, ("weights", "bias"), ""

    def later_steps(net, spec):
        if not cls.holds(spec.steps):
            return
        forward, calls = net.forward, [0]

        def wrong(x):
            fwd = forward(x)
            if calls[0] >= 1:
                fwd.h[0] = fwd.h[0] * fwd.h[0].dtype.type(1 + delta_of(spec))
            calls[0] += 1
            return fwd
        net.forward = wrong
    return later_steps, ("h",), ""


def assume_usual_output(loss_name: str):
    """The output layer's v computed with the derivative of the loss's usual output
    activation (a fused gradient), whatever the spec's output activation is."""
    usual = activation(usual_output(loss_name))

    def hook(net, spec):
        if spec.loss == loss_name:
            net.activations[-1] = replace(net.activations[-1], t=usual.t)
    return hook


def narrow_accumulation(what: str):
    """Products (what="width") or batch sums ("batch") accumulated one term at a time in
    the 16-bit dtype itself, not in float32."""
    def hook(net, spec):
        dt = net.dtype
        if dt.itemsize >= 4:
            return
        if what == "width":
            def product(a, b):
                terms = a[..., :, :, None] * b[..., None, :, :]
                return np.add.accumulate(terms, axis=-2, dtype=dt)[..., -1, :]
            net._product = product
        else:
            net._sum = lambda a, axis: np.add.accumulate(a, axis=axis, dtype=dt).take(
                -1, axis=axis)
    return hook
