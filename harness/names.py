"""The names a spec may use; the math behind each lives in impls/reference."""

ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "silu",
               "gelu", "gelu_tanh")
LOSSES = ("squared_error", "mse", "softmax_cross_entropy", "binary_cross_entropy")
REDUCTIONS = ("sum", "mean")
DTYPES = ("float64", "float32")
