"""TensorFlow: float64 gelu and leaky_relu use constants rounded to float32.

tf.nn.gelu writes math_ops.cast(0.7071067811865476, dtype) (and cast(0.044715, dtype) for
approximate=True): the Python float becomes a float32 tensor before the cast. tf.nn.leaky_relu's
alpha is a `float` (32-bit) attribute of the op. So float64 results are off by ~1e-8 relative,
some 10^8 ulps. Exact values from mpmath (40 digits). Exits 1 while the defect stands.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402

x = tf.constant([-0.3], tf.float64)
CASES = {  # name: (TensorFlow's float64 value, exact)
    "gelu(-0.3)": (tf.nn.gelu(x, approximate=False), -0.11462657334331420584),
    "gelu_tanh(-0.3)": (tf.nn.gelu(x, approximate=True), -0.1146290764572407489),
    "leaky_relu(-1, alpha=0.01)": (tf.nn.leaky_relu(-tf.ones([1], tf.float64), alpha=0.01),
                                   -0.01),
}
bad = 0
for name, (got, exact) in CASES.items():
    value = float(got.numpy()[0])
    rel = abs(value - exact) / abs(exact)
    print(f"{name} = {value!r} (float64), exact {exact!r}: relative error {rel:.1e}")
    bad += rel > 1e-15
print(f"tensorflow {tf.__version__}")
sys.exit(1 if bad else 0)
