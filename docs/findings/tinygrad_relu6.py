"""tinygrad: Tensor.relu6 is relu(x) - relu(x - 6), which cancels once ulp(x) > 6, and
Tensor.hardswish (x relu6(x + 3) / 6) and Tensor.hardsigmoid (relu(x / 6 + 1/2) -
relu(x / 6 - 1/2)) inherit it: in float32 relu6(1e8) = 8 and relu6(3e8) = 0 (exact 6),
hardswish(1e8) = 0 (exact 1e8), hardsigmoid(1e8) = 2 (exact 1); in float64 relu6(1e17) = 0.
Fixed upstream after 0.14.0: tinygrad#18028 (relu6, hardswish), tinygrad#18063 (hardsigmoid).

Exact: relu6 = 6, hardswish(x) = x and hardsigmoid = 1 for x >= 3 (no rounding involved).
Exits 1 while any stands.
"""
import sys

import numpy as np

try:  # exit 2, not 1, where tinygrad cannot run here (no compiler: "no usable devices")
    from tinygrad import Tensor
    Tensor([0.0]).realize()
except Exception as exc:
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)


def value(name, x, dtype):
    return float(getattr(Tensor(np.array([x], dtype)), name)().numpy()[0])


CHECKS = [("relu6", 1e8, "float32", 6.0), ("relu6", 3e8, "float32", 6.0),
          ("hardswish", 1e8, "float32", 1e8), ("hardsigmoid", 1e8, "float32", 1.0),
          ("relu6", 1e17, "float64", 6.0)]
wrong = False
for name, x, dtype, exact in CHECKS:
    got = value(name, x, dtype)
    wrong |= got != exact
    print(f"{dtype} {name}({x!r}) = {got!r}, exact {exact!r}")
sys.exit(1 if wrong else 0)
