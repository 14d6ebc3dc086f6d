"""backprop-harness: check that implementations of backpropagation agree, and where they don't."""

__version__ = "0.1.0"
