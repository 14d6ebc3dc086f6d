"""torch: F.hardsigmoid's backward multiplies by 1.0f / 6.0f, a float constant, in float64 too:
hardsigmoid'(x) = 0.1666666716337204 where it is 1/6 (relative error 3e-8).

Exact: hardsigmoid'(0.5) = 1/6 = 0.16666666666666666 (float64). Exits 1 while the defect stands.
"""
import sys

import torch
import torch.nn.functional as F

x = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
F.hardsigmoid(x).sum().backward()
got, exact = x.grad.item(), 1 / 6
print(f"hardsigmoid'(0.5) in float64 = {got!r}, exact {exact!r}")
sys.exit(0 if abs(got - exact) <= 4 * 2.0 ** -53 * exact else 1)
