"""mygrad: nnet.selu computes scale alpha (exp(x) - 1), not expm1: selu(-1e-20) is 0 and its
derivative is 0 far below zero; nnet.soft_sign's derivative overflows (divide's backward
forms b**2) beyond |x| = sqrt(max).

Exact (mpmath, 40 digits): selu(-1e-20) = -1.7580993408473768e-20, selu'(-37.43) =
9.758901925301748e-17, soft_sign'(1.3407807929942597e154) = 5.562684646268003e-309.
Exits 1 while a defect stands.
"""
import sys

import mygrad as mg
import numpy as np
from mygrad.nnet import selu, soft_sign

x = mg.Tensor(np.array([-1e-20, -37.43]))
y = selu(x)
y.backward()
s = mg.Tensor(np.array([1.3407807929942597e154]))
soft_sign(s).backward()
checks = [("selu(-1e-20)", y.data[0], -1.7580993408473768e-20),
          ("selu'(-37.43)", x.grad[1], 9.758901925301748e-17),
          ("soft_sign'(1.34e154)", s.grad[0], 5.562684646268003e-309)]
ok = True
for name, got, exact in checks:
    print(f"{name} = {got!r}, exact {exact!r}")
    ok &= abs(got - exact) <= 1e-6 * abs(exact)
sys.exit(0 if ok else 1)
