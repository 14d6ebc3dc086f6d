"""The default suite against the installed built-in implementations but exact (and the example
adapter, with its shipped xfail list), through the project's own pytest plugin."""

import pytest

from conftest import available
from harness.testing.test_conformance import test_conformance  # noqa: F401  (collected here)

# the first test traces every case of every implementation (each case bounded by the plugin's
# per-case timeout); the rest read its verdicts
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

# the installed ones (numeric needs numpy alone, so the list is never empty); exact (mpmath,
# the slowest) is left out: the README's `backprop-harness run` check runs it through the whole
# suite (tests/test_readme.py), and here it is the oracle of any divergence all the same
BP_IMPLS = [name for name in ["torch", "jax", "numeric", "einsum"] if available(name)]
