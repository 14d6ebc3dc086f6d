"""The conformance suite, collected by the backprop-harness pytest plugin (--bp-impl)."""

from pathlib import Path

import pytest


def test_conformance(bp_item, request):
    """One implementation, one case of the default suite: every quantity within tolerance."""
    bp_item.check(request.node)


def test_fuzz(bp_fuzz_impl, request):
    """--bp-fuzz N random networks (hypothesis); a failure is shrunk and written out."""
    from harness.fuzz import write_failure
    from harness.fuzz_search import find_failure
    config = request.config
    found = find_failure(bp_fuzz_impl, config.getoption("bp_baseline"),
                         config.getoption("bp_fuzz"), seed=0)
    if found is not None:
        path, cmd = write_failure(*found, Path("reports") / "fuzz")
        pytest.fail(f"{found[1].message}\nminimal spec: {path}\nreproduce: {cmd}", pytrace=False)
