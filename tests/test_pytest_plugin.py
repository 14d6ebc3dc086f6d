"""The pytest plugin (harness/pytest_plugin.py): --bp-impl runs the suite as pytest tests."""

import pytest

from conftest import needs
from harness import registry
from harness.registry import get

pytest_plugins = ["pytester"]

# pytester restores sys.modules after each test, dropping what the test imported; torch and
# jax cannot be imported twice in a process, so every built-in is loaded before any snapshot.
registry.discover()


def run_plugin(pytester, *args):
    """A separate pytest process: torch cannot be imported twice, which pytester's in-process
    runs would do (they drop the modules they imported)."""
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", *args, timeout=600)


def test_every_option_of_the_plugin_has_help(pytester):
    """pytest --help shows help for each --bp-* option (--bp-baseline had none): text after
    the option on its line, or on the next line when the option is long."""
    res = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--help")
    lines = res.stdout.lines
    start = lines.index("backprop-harness conformance suite:")
    group = lines[start + 1:]
    options = [i for i, line in enumerate(group) if line.startswith("  --bp-")]
    assert len(options) >= 7
    for i in options:
        option, _, rest = group[i].strip().partition(" ")
        follows = group[i + 1].strip() if i + 1 < len(group) else ""
        assert rest.strip() or (follows and not follows.startswith("-")), option
    assert any("--bp-baseline=NAME" in group[i] and "what each --bp-impl is compared with"
               in group[i] + group[i + 1] for i in options)


@needs("torch")
def test_plugin_passes_a_correct_implementation(pytester):
    res = run_plugin(pytester, "--bp-impl", "torch", "--bp-cases", "seed-*,kinks-*")
    res.assert_outcomes(passed=8 * 8)  # 4 seed (every dtype) and 4 kink cases, 8 quantities


def test_plugin_reports_what_where_how_much_and_how_to_reproduce(pytester, plugins):
    res = run_plugin(pytester, "--bp-impl", "bug-sign", "--bp-cases", "seed-2-2-2-float64")
    res.assert_outcomes(passed=7, failed=1)
    out = res.stdout.str()
    assert "test_conformance[seed-2-2-2-float64-v]" in out
    assert "step 0 v[layer 0][sample 0, neuron 1] = -0.009954254705217202 (bug-sign) vs " \
           "0.009954254705217202 (reference): |diff| 1.99e-02 > tol 3.78e-15; 2 of 2 " \
           "elements out [seed-2-2-2-float64, float64]" in out
    assert "reproduce: backprop-harness run --cases seed-2-2-2-float64 --impl bug-sign" in out


@pytest.mark.parametrize("impl, failing", [
    ("bug-derivative", {"v", "grad_weights", "grad_bias", "params"}),
    ("bug-bias", {"grad_bias", "params"}),
    ("bug-transpose", {"d", "h", "u", "e", "v", "grad_weights", "grad_bias", "params"}),
    ("bug-lr", {"params"}),
    ("fault-nan", {"v"}),  # NaN in v only: the other seven quantities pass
])
def test_every_planted_bug_is_caught_by_the_pytest_route(pytester, plugins, impl, failing):
    res = run_plugin(pytester, "--bp-impl", impl, "--bp-cases", "seed-2-2-2-float64", "-rf")
    res.assert_outcomes(passed=8 - len(failing), failed=len(failing))
    for group in failing:
        assert f"test_conformance[seed-2-2-2-float64-{group}]" in res.stdout.str()


def test_xfail_file_turns_known_deviations_into_xfail_and_warns_on_unused(pytester, plugins):
    xf = pytester.path / "xfails.txt"
    xf.write_text("# known\nseed-2-2-2-float64-v  sign convention of this framework\n"
                  "seed-2-2-2-float32  the whole case: v fails, the 7 others XPASS\n"
                  "no-such-case-*  stale entry\n")
    res = run_plugin(pytester, "--bp-impl", "bug-sign", "--bp-cases",
                     "seed-2-2-2-float64,seed-2-2-2-float32", "--bp-xfails", str(xf), "-W",
                     "default")
    # float64: v xfails, 7 pass; float32: every quantity marked, v xfails and 7 XPASS
    res.assert_outcomes(passed=7, xfailed=2, xpassed=7)
    out = res.stdout.str()
    assert "'no-such-case-*'" in out and "matches no case" in out


@needs("hypothesis")
def test_plugin_fuzz_option_finds_and_shrinks(pytester, plugins):
    res = run_plugin(pytester, "--bp-impl", "bug-bias", "--bp-cases", "seed-2-2-2-float64",
                     "--bp-fuzz", "25", "-k", "fuzz")
    res.assert_outcomes(failed=1)
    assert "minimal spec:" in res.stdout.str()


def test_pytest_route_traces_each_implementation_once_through_trace_many(plugins):
    from types import SimpleNamespace

    from harness.pytest_plugin import Session
    many = type(get("many").impl)  # the class the entry point loaded
    many.calls.clear()
    options = {"bp_baseline": "reference", "bp_dtype": "float64", "bp_cases": "seed-*,kinks-*"}
    session = Session(SimpleNamespace(getoption=options.get), ["many"])
    assert [session.result("many", case).status for case in session.specs] == \
        ["pass"] * len(session.specs)
    assert many.calls == [("trace-many-many", list(session.specs))]

