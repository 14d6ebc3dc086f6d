"""tinygrad: Tensor.silu is x * sigmoid(x), so its gradient forms p * x before multiplying by
sigmoid'(x) = 0, and p * x overflows into inf * 0 = NaN (as jax.nn.silu does, jax#39798).
One float32 neuron: d = -1e20, u = 1e19 silu(d) + 1e19, e = u^2 / 2, so p = de/dh = 1e38.
Exact: de/dd = p silu'(d) = 1e38 * (about -1e20 e^-1e20) = -0.0 in float32. Exits 1 while the
defect stands.
"""
import sys

import numpy as np

try:  # exit 2, not 1, where tinygrad cannot run here (no compiler: "no usable devices")
    from tinygrad import Tensor
    Tensor([0.0]).realize()
except Exception as exc:
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)

d = Tensor(np.array([-1e20], np.float32))
u = d.silu() * 1e19 + 1e19
e = (0.5 * u.square()).sum()
got = float(e.gradient(d)[0].numpy()[0])
print(f"de/dd = {got!r} (float32), exact -0.0 (silu'(-1e20) underflows to 0)")
sys.exit(1 if not np.isfinite(got) else 0)
