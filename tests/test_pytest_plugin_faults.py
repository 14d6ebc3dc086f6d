"""The pytest plugin with implementations that are wrong or misbehave: planted bugs, NaN,
a hang, a segfault, each failing its tests with what, where and how much (one file apart from
test_pytest_plugin.py so that pytest-xdist can run the two side by side)."""

import pytest

from conftest import needs, run_plugin

pytest_plugins = ["pytester"]


@pytest.mark.slow
def test_plugin_reports_what_where_how_much_and_how_to_reproduce(pytester, plugins):
    res = run_plugin(pytester, "--bp-impl", "bug-sign", "--bp-cases", "seed-2-2-2-float64")
    res.assert_outcomes(failed=1)
    out = res.stdout.str()
    assert "test_conformance[seed-2-2-2-float64]" in out
    assert "step 0 v[layer 0][sample 0, neuron 1] = -0.009954254705217202 (bug-sign) vs " \
           "0.009954254705217202 (reference): |diff| 1.99e-02 > tol 3.78e-15; 2 of 2 " \
           "elements out [seed-2-2-2-float64, float64]" in out
    assert "reproduce: backprop-harness run --cases seed-2-2-2-float64 --impl bug-sign" in out


@pytest.mark.slow
@pytest.mark.parametrize("impl, failing", [
    ("bug-derivative", {"v", "grad_weights", "grad_bias", "params"}),
    ("bug-bias", {"grad_bias", "params"}),
    ("bug-transpose", {"d", "h", "u", "e", "v", "grad_weights", "grad_bias", "params"}),
    ("bug-lr", {"params"}),
    ("fault-nan", {"v"}),  # NaN in v only: the other seven quantities pass
])
def test_every_planted_bug_is_caught_by_the_pytest_route(pytester, plugins, impl, failing):
    """One failing test for the case, whatever the number of quantities out: the origin's
    message first, every other failing quantity counted as its consequence."""
    res = run_plugin(pytester, "--bp-impl", impl, "--bp-cases", "seed-2-2-2-float64", "-rf")
    res.assert_outcomes(failed=1)
    out = res.stdout.str()
    named = {"d": " d[", "h": " h[", "u": " outputs", "e": " loss", "v": " v[",
             "grad_weights": " grad_weights[", "grad_bias": " grad_bias[", "params": "final "}
    for group in failing:
        assert named[group] in out, group
    for group in set(named) - failing:
        assert named[group] not in out, group
    if len(failing) > 1:
        assert "consequences: " in out


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "0"])
def test_a_hanging_adapter_fails_its_case_after_bp_timeout(pytester, plugins, jobs):
    """fault-sleep sleeps 600 s in trace(): with --bp-timeout 2 each of its two cases fails
    its test after 2 s, in a worker process (--bp-jobs 1) or in pytest's own (the
    run's own timeout, 120 s, is far below the 1,200 s that sleeping through would take)."""
    res = run_plugin(pytester, "--bp-impl", "fault-sleep", "--bp-cases",
                     "seed-2-2-2-float64,seed-2-2-2-float32", "--bp-timeout", "2", "--bp-jobs",
                     jobs, timeout=120)
    res.assert_outcomes(failed=2)
    assert res.stdout.str().count("timed out after 2 s") >= 2


@pytest.mark.slow
def test_a_segfaulting_adapter_fails_its_cases_and_the_session_goes_on(pytester, plugins):
    """fault-segv kills its process with SIGSEGV in trace(): under the default --bp-jobs 1
    each case's test fails and pytest ends normally (exit 1, not 139)."""
    res = run_plugin(pytester, "--bp-impl", "fault-segv", "--bp-cases",
                     "seed-2-2-2-float64,seed-2-2-2-float32", timeout=120)
    res.assert_outcomes(failed=2)
    assert res.ret == pytest.ExitCode.TESTS_FAILED
    assert res.stdout.str().count("its worker process was killed by SIGSEGV") >= 2


@pytest.mark.slow
@needs("hypothesis")
def test_plugin_fuzz_option_finds_and_shrinks(pytester, plugins):
    res = run_plugin(pytester, "--bp-impl", "bug-bias", "--bp-cases", "seed-2-2-2-float64",
                     "--bp-fuzz", "25", "-k", "fuzz")
    res.assert_outcomes(failed=1)
    assert "minimal spec:" in res.stdout.str()
