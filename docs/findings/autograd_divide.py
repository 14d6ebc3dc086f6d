"""autograd: the derivative of x / y with respect to y is -g x / y**2, whose square overflows
beyond |y| = sqrt(max): softsign(x) = x / (1 + |x|) gets the derivative 1 / (1 + |x|) there.

Exact (mpmath, 40 digits): softsign'(1.3407807929942597e154) = 5.562684646268003e-309.
Exits 1 while the defect stands.
"""
import sys

import autograd
import autograd.numpy as anp

x, exact = 1.3407807929942597e154, 5.562684646268003e-309
got = float(autograd.grad(lambda v: v / (1.0 + anp.abs(v)))(x))
print(f"softsign'({x!r}) = {got!r}, exact {exact!r}")
sys.exit(0 if abs(got - exact) <= 1e-6 * exact else 1)
