"""tinygrad: Tensor.binary_crossentropy is -y log(p) - (1 - y) log(1 - p), with log(1 - p)
where log1p(-p) is needed: the loss of p = 4.25e-18 against 0 is 0. And through a sigmoid,
near p = 1, its gradient in the logit d realized together with p (as a training step does) is
e^-d / (1 - p), sigmoid's derivative from exp(-d) against 1 / (1 - p) at the rounded p: at
d = 36.5, p is 1 - 2^-52 and the gradient 0.634, where it is sigmoid(d) - y = 1 (realized
alone it is right, as sigmoid's own gradient in findings #5).

Exact (mpmath, 50 digits): -log1p(-4.2483542552915804e-18) = 4.2483542552915804059e-18;
sigmoid(36.5) = 0.99999999999999985931 (the gradient against y = 0). Exits 1 while either
stands.
"""
import sys

import numpy as np

try:  # exit 2, not 1, where tinygrad cannot run here (no compiler: "no usable devices")
    from tinygrad import Tensor
    Tensor([0.0]).realize()
except Exception as exc:
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)

SMALL, EXACT_SMALL = 4.2483542552915804e-18, 4.2483542552915804059e-18
EXACT_V = 0.99999999999999985931
loss = Tensor(np.array([SMALL])).binary_crossentropy(Tensor(np.array([0.0])), reduction="none")
small = float(loss.numpy()[0])
d = Tensor(np.array([36.5]))
p = d.sigmoid()
g = p.binary_crossentropy(Tensor(np.array([0.0])), reduction="sum").gradient(d)[0]
Tensor.realize(p, g)
v = float(g.numpy()[0])
print(f"binary_crossentropy({SMALL!r}, 0) = {small!r}, exact {EXACT_SMALL!r}")
print(f"d/dd binary_crossentropy(sigmoid(d), 0) at d = 36.5, realized with sigmoid(d), = {v!r}; "
      f"exact {EXACT_V!r}")
wrong = abs(small - EXACT_SMALL) > 1e-13 * EXACT_SMALL or abs(v - EXACT_V) > 1e-2
sys.exit(1 if wrong else 0)
