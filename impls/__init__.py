"""Implementations of the spec -> trace contract: the NumPy reference engine and adapters."""
