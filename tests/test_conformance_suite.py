"""The default suite against every built-in implementation (and the example adapter, with its
shipped xfail list), through the project's own pytest plugin."""

from harness.testing.test_conformance import test_conformance  # noqa: F401  (collected here)

BP_IMPLS = ["torch", "jax", "numeric", "exact", "einsum"]
