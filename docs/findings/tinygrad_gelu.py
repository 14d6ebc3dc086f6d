"""tinygrad: Tensor.erf is Abramowitz and Stegun 7.1.26 (absolute error up to 1.5e-7), so
gelu(approximate="none") is off by ~1e-7 relative in float64 (and erf itself in float32 too).
Exact (mpmath, 40 digits): gelu(-0.3) = -0.11462657334331420584, erf(0.5) =
0.52049987781304653768. Exits 1 while the defect stands.
"""
import sys

import numpy as np

try:  # exit 2, not 1, where tinygrad cannot run here (no compiler: "no usable devices")
    from tinygrad import Tensor
    Tensor([0.0]).realize()
except Exception as exc:
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)

cases = {"gelu(-0.3)": (Tensor(np.array([-0.3])).gelu(approximate="none"), -0.11462657334331420584),
         "erf(0.5)": (Tensor(np.array([0.5])).erf(), 0.52049987781304653768)}
bad = 0
for name, (t, exact) in cases.items():
    got = float(t.numpy()[0])
    rel = abs(got - exact) / abs(exact)
    print(f"{name} = {got!r} (float64), exact {exact!r}: relative error {rel:.1e}")
    bad += rel > 1e-15
sys.exit(1 if bad else 0)
