"""Finite differences: every v and every gradient from loss evaluations alone, in float64.

Each derivative is a fourth-order central difference

    (-e(p + 2s) + 8 e(p + s) - 8 e(p - s) + e(p - 2s)) / (12 s),   s = eps**(1/5) * max(1, |p|)

of the loss with respect to one weight, one bias, or one pre-activation d (for v: the loss of
each sample with d_j of that sample moved). Perturbations of one layer are stacked on a leading
axis and pushed through the rest of the network at once. No chain rule, no autodiff: only the
forward functions f and fe are shared with the reference (exact checks those).

Expected accuracy: truncation ~ s^4 and rounding ~ eps/s give about 1e-12 relative to the
scale of the loss; `accuracy` below states the tolerance used against it (rtol 1e-7 and atol
1e-9, for losses of order 1). Near a kink (relu, leaky_relu, elu) the step shrinks so that no
stencil crosses it (accuracy ~ eps/s, still better than 1e-9 at the smallest step 1e-6); a
pre-activation closer than that makes the case unsupported: at a kink the derivative is a
convention, not a limit.
"""

from __future__ import annotations

import numpy as np

from harness import __version__
from harness.registry import Unsupported
from harness.trace import LayerTrace, StepTrace, Trace
from impls.reference import activation, loss

REL_STEP = np.finfo(np.float64).eps ** 0.2  # ~7.4e-4
MIN_REL_STEP = 1e-6
MAX_WORK = 50_000_000  # stacked elements per layer; beyond this finite differences are too slow
COEF = np.array([-1.0, 8.0, -8.0, 1.0]) / 12.0
OFFSETS = np.array([2.0, 1.0, -1.0, -2.0])


class NumericImpl:
    """Central finite differences in float64, for small networks."""

    name = "numeric"
    accuracy = {"forward": {"rtol": 1e-7, "atol": 1e-9},
                "backward": {"rtol": 1e-7, "atol": 1e-9}}
    # the forward pass and the loss are the reference's own f and fe: comparing them with the
    # reference checks nothing, so the pytest route skips these quantity groups
    shared_with_reference = ("d", "h", "u", "e")

    def version(self) -> str:
        return __version__

    def settings(self) -> dict:
        return {"method": "4th-order central differences", "step": "eps^(1/5)*max(1,|p|)",
                "dtype": "float64"}

    def unsupported(self, spec) -> str | None:
        numbers = np.concatenate([np.abs(np.ravel(a)).astype(np.float64) for a in
                                  [spec.inputs] + [x for la in spec.layers
                                                   for x in (la.weights, la.bias)]])
        if np.any(numbers > 1e12) or np.any((numbers > 0) & (numbers < 1e-300)):
            return "finite differences need moderate magnitudes (a number beyond 1e12 or " \
                   "below 1e-300 in the spec)"
        sizes = spec.sizes
        work = max(a * b * spec.batch * max(sizes[1:]) * 4 for a, b in zip(sizes, sizes[1:]))
        if work > MAX_WORK:
            return f"too large for finite differences ({work:,} stacked elements per layer)"
        return None

    def trace(self, spec) -> Trace:
        acts = [activation(layer.activation, layer.slope) for layer in spec.layers]
        fe = loss(spec.loss).fe
        ws = [layer.weights.astype(np.float64) for layer in spec.layers]
        bs = [layer.bias.astype(np.float64) for layer in spec.layers]
        x, y = spec.inputs.astype(np.float64), spec.targets.astype(np.float64)
        scale = 1.0 / x.shape[0] if spec.reduction == "mean" else 1.0
        net = _Net(acts, fe, y, scale)
        steps = []
        for _ in range(spec.steps):
            ds, hs = net.forward(ws, bs, x)
            _check_loss_domain(spec, hs[-1])
            rel = _step(spec, ds, [x] + hs[:-1], hs[-1], y)
            e = net.per_sample(hs[-1]).sum() * scale
            layers = []
            for k in range(len(ws)):
                xin = x if k == 0 else hs[k - 1]
                v, gw, gb = net.derivatives(ws, bs, k, xin, ds[k], rel)
                layers.append(LayerTrace(ds[k], hs[k], v, gw, gb))
            steps.append(StepTrace(e, hs[-1], layers))
            r = spec.learning_rate
            ws = [w - r * layer.grad_weights for w, layer in zip(ws, layers)]
            bs = [b - r * layer.grad_bias for b, layer in zip(bs, layers)]
        return _rounded(Trace(self.name, self.version(), spec.name, spec.dtype, steps,
                              [{"weights": w, "bias": b} for w, b in zip(ws, bs)],
                              self.settings()))


BCE_MARGIN = 1e-8  # binary cross-entropy's 1 - u below this: no finite difference


def _check_loss_domain(spec, u) -> None:
    """Binary cross-entropy with an output within BCE_MARGIN below 1 is unsupported: there
    1 - u keeps only eps / (1 - u) of relative precision, so log(1 - u) at d +- s is rounding
    noise and so is the difference quotient (u near 0 keeps its relative precision)."""
    if spec.loss == "binary_cross_entropy" and np.any(1 - u < BCE_MARGIN):
        raise Unsupported(f"finite differences of binary cross-entropy need every output "
                          f"farther than {BCE_MARGIN:g} below 1 (1 - u is rounding noise)")


class _Net:
    """The forward pass, and the loss from layer k's pre-activations on (stacked on axis 0)."""

    def __init__(self, acts, fe, y, scale):
        self.acts, self.fe, self.y, self.scale = acts, fe, y, scale

    def forward(self, ws, bs, x):
        ds, hs = [], []
        for w, b, act in zip(ws, bs, self.acts):
            ds.append(x @ w.T + b)
            x = act.f(ds[-1])
            hs.append(x)
        return ds, hs

    def per_sample(self, u):
        """Per-sample losses for u of shape (..., batch, n_out)."""
        flat = u.reshape(-1, u.shape[-1])
        y = np.broadcast_to(self.y, u.shape).reshape(flat.shape)
        return self.fe(flat, y).reshape(u.shape[:-1])

    def tail(self, ws, bs, k, d):
        """Per-sample losses (stack, batch) when layer k's pre-activations are d (stack, batch,
        n)."""
        h = self.acts[k].f(d)
        for w, b, act in zip(ws[k + 1:], bs[k + 1:], self.acts[k + 1:]):
            h = act.f(h @ w.T + b)
        return self.per_sample(h)

    def derivatives(self, ws, bs, k, xin, d, rel):
        """v, grad_weights, grad_bias of layer k by central differences."""
        n, n_in = ws[k].shape
        eye = np.eye(n)
        # v: move d[s, j] for every sample s at once (samples do not interact)
        sd = rel * np.maximum(1.0, np.abs(d))                      # (batch, n)
        moved = d[None, None] + OFFSETS[:, None, None, None] * (sd[None, None]
                                                                * eye[None, :, None, :])
        losses = self.tail(ws, bs, k, moved.reshape(-1, *d.shape)).reshape(4, n, -1)
        v = np.einsum("o,ojs->sj", COEF, losses) / sd * self.scale
        # weights: one perturbed copy of layer k per weight
        w = ws[k]
        sw = rel * np.maximum(1.0, np.abs(w)).ravel()              # (n * n_in,)
        basis = np.eye(n * n_in).reshape(n * n_in, n, n_in) * sw[:, None, None]
        wstack = w[None, None] + OFFSETS[:, None, None, None] * basis[None]
        dstack = xin @ wstack.reshape(-1, n, n_in).transpose(0, 2, 1) + bs[k]
        gw = self._grad(self.tail(ws, bs, k, dstack), sw).reshape(n, n_in)
        # biases
        sb = rel * np.maximum(1.0, np.abs(bs[k]))
        bump = (sb[:, None] * eye)[None, :, None, :]
        dstack = d[None, None] + OFFSETS[:, None, None, None] * bump
        gb = self._grad(self.tail(ws, bs, k, dstack.reshape(-1, *d.shape)), sb)
        return v, gw, gb

    def _grad(self, per_sample, steps):
        """Reduced-loss central differences; per_sample is (4 * m, batch)."""
        e = per_sample.sum(axis=-1).reshape(4, -1) * self.scale
        return COEF @ e / steps


def _step(spec, ds, xs, u, y) -> float:
    """The relative step: eps**(1/5), or smaller so that no perturbation reaches a kink (the
    activation records' kinks, and the loss record's kink_gap on the outputs u)."""
    gaps = [min(np.abs(d - kink).min() for kink in kinks) / max(1.0, np.abs(d).max(),
                                                              np.abs(x).max())
            for layer, d, x in zip(spec.layers, ds, xs)
            if (kinks := activation(layer.activation).kinks)]
    rel = min([REL_STEP] + [gap / 100 for gap in gaps])
    if rel < MIN_REL_STEP:
        raise Unsupported(f"a pre-activation lies at (or within {100 * MIN_REL_STEP:.0e} of) a "
                          f"kink of its activation; finite differences are not defined there")
    gap_of = loss(spec.loss).kink_gap
    if gap_of is not None:
        with np.errstate(divide="ignore"):
            gap = np.min(gap_of(u, y)) / max(1.0, np.abs(u).max(), np.abs(xs[0]).max())
        rel = min(rel, gap / 100)
        if rel < MIN_REL_STEP:
            raise Unsupported(f"an output lies at (or within {100 * MIN_REL_STEP:.0e} of) a kink "
                              f"of {spec.loss}; finite differences are not defined there")
    return rel


def _rounded(trace: Trace) -> Trace:
    """The trace in the spec's dtype (computed in float64)."""
    dt = np.dtype(trace.dtype)
    for step in trace.steps:
        step.loss = dt.type(step.loss)
        step.outputs = step.outputs.astype(dt)
        for layer in step.layers:
            for name in ("d", "h", "v", "grad_weights", "grad_bias"):
                setattr(layer, name, getattr(layer, name).astype(dt))
    trace.params = [{k: p[k].astype(dt) for k in p} for p in trace.params]
    return trace
