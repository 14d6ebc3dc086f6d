"""tinygrad: Tensor.softplus is logaddexp(x, 0) = log(exp(x - m) + exp(-m)) + m, with log where
log1p is needed: softplus(-40) is 0. Tensor.logsigmoid (-softplus(-x)), Tensor.mish
(x tanh(softplus(x))) and Tensor.binary_crossentropy_logits (through logsigmoid) inherit it:
logsigmoid(40) = 0, mish(-40) = 0, the loss of logit 40 against target 1 is 0.

Exact (mpmath, 50 digits): log1p(exp(-40)) = 4.2483542552915889863e-18 (softplus(-40), -logsigmoid(40)
and the loss), mish(-40) = -1.6993417021166355945e-16. Exits 1 while any stands.
"""
import sys

import numpy as np

try:  # exit 2, not 1, where tinygrad cannot run here (no compiler: "no usable devices")
    from tinygrad import Tensor
    Tensor([0.0]).realize()
except Exception as exc:
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)

SP40 = 4.2483542552915889863e-18
CHECKS = {  # name: (tinygrad's value, exact)
    "softplus(-40)": (lambda: Tensor(np.array([-40.0])).softplus(), SP40),
    "logsigmoid(40)": (lambda: Tensor(np.array([40.0])).logsigmoid(), -SP40),
    "mish(-40)": (lambda: Tensor(np.array([-40.0])).mish(), -1.6993417021166355945e-16),
    "binary_crossentropy_logits(40, 1)": (lambda: Tensor(np.array([40.0])).binary_crossentropy_logits(
        Tensor(np.array([1.0])), reduction="none"), SP40),
}
wrong = False
for name, (value, exact) in CHECKS.items():
    got = float(value().numpy()[0])
    wrong |= not abs(got - exact) <= 1e-13 * abs(exact)
    print(f"{name} = {got!r}, exact {exact!r}")
sys.exit(1 if wrong else 0)
