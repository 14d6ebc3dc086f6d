"""The pytest plugin (harness/pytest_plugin.py): --bp-impl runs the suite as pytest tests;
its options, blame, oracle and ledger (how it reports failing implementations:
test_pytest_plugin_faults.py)."""

import pytest

from conftest import needs, run_plugin
from harness import registry
from harness.registry import get

pytest_plugins = ["pytester"]

# pytester restores sys.modules after each test, dropping what the test imported; torch and
# jax cannot be imported twice in a process, so every built-in is loaded before any snapshot.
registry.discover()


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


@pytest.mark.slow
@needs("torch")
def test_plugin_passes_a_correct_implementation(pytester):
    res = run_plugin(pytester, "--bp-impl", "torch", "--bp-cases", "seed-*,kinks-*")
    res.assert_outcomes(passed=8)  # 4 seed (every dtype) and 4 kink cases, one test each


@needs("einsum")
@pytest.mark.parametrize("xdist", [[], ["-n", "1"]], ids=["one process", "xdist"])
def test_an_implementation_that_checks_nothing_exits_5_not_0(pytester, xdist):
    """einsum runs float64 only: on float32 cases it declines everything, which is no pass
    (the CLI's "nothing checked", exit 5), under xdist's controller too."""
    res = run_plugin(pytester, "--bp-impl", "einsum", "--bp-cases", "seed-2-2-2-float32",
                     *xdist)
    res.assert_outcomes(skipped=1)
    assert res.ret == 5
    assert "backprop-harness: nothing checked: einsum ran no case of this session (every " \
           "one declined)" in res.stdout.str()
    res = run_plugin(pytester, "--bp-impl", "einsum", "--bp-cases", "seed-2-2-2-float*",
                     *xdist)
    res.assert_outcomes(passed=1, skipped=2)  # float64 checked; float32 and float16 not
    assert res.ret == 0 and "nothing checked" not in res.stdout.str()


@pytest.mark.slow
def test_xfail_file_turns_known_deviations_into_xfail_and_warns_on_unused(pytester, plugins):
    """A case glob makes the case's test xfail; case-quantity globs only when they cover
    every failing quantity (bug-sign's v and nothing else), as the CLI's verdict."""
    xf = pytester.path / "xfails.txt"
    xf.write_text("# known\nseed-2-2-2-float64-v  sign convention of this framework\n"
                  "seed-2-2-2-float32-grad_bias  covers a quantity that does not fail\n"
                  "no-such-case-*  stale entry\n")
    res = run_plugin(pytester, "--bp-impl", "bug-sign", "--bp-cases",
                     "seed-2-2-2-float64,seed-2-2-2-float32", "--bp-xfails", str(xf), "-W",
                     "default")
    res.assert_outcomes(xfailed=1, failed=1)
    out = res.stdout.str()
    assert "FAILED" in out and "test_conformance[seed-2-2-2-float32]" in out
    assert "'no-such-case-*'" in out and "matches no case" in out
    # a case the ledger names that conforms is an unexpected pass; strict (--bp-strict-xfails,
    # or the ini's xfail_strict) fails it
    xf.write_text("seed-2-2-2-float64  fixed since\n")
    res = run_plugin(pytester, "--bp-impl", "many", "--bp-cases", "seed-2-2-2-float64",
                     "--bp-xfails", str(xf))
    res.assert_outcomes(xpassed=1)
    for strict in (["--bp-strict-xfails"], ["-o", "xfail_strict=true"]):
        res = run_plugin(pytester, "--bp-impl", "many", "--bp-cases", "seed-2-2-2-float64",
                         "--bp-xfails", str(xf), *strict)
        res.assert_outcomes(failed=1)
        assert "[XPASS(strict)]" in res.stdout.str()


@pytest.mark.parametrize("args, expected", [
    (["--bp-impl", "no-such-impl"],
     "ERROR: --bp-impl no-such-impl: unknown implementation 'no-such-impl' (installed: "),
    (["--bp-impl", "numeric", "--bp-timeout", "0"], "--bp-timeout: invalid positive float"),
    *[pytest.param(*p, marks=pytest.mark.slow) for p in [
        (["--bp-impl", "numeric", "--bp-baseline", "nope"],
         "ERROR: --bp-baseline nope: unknown implementation 'nope'"),
        (["--bp-impl", "numeric", "--bp-cases", "no-such-case*"],
         "ERROR: no case matches 'no-such-case*'"),
        (["--bp-impl", "numeric", "--bp-jobs", "-1"], "--bp-jobs: invalid non-negative int")]],
])
def test_a_bad_option_is_a_short_usage_error(pytester, args, expected):
    res = run_plugin(pytester, *args, timeout=120)
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    err = res.stderr.str()
    assert expected in err and "Traceback" not in err and "def " not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 or lines[0].startswith("ERROR: usage:"), err  # or argparse's four


@pytest.mark.slow
def test_numeric_forward_quantities_are_not_compared_as_not_independent(pytester, plugins):
    """numeric's d, h, u and e are the reference's own f and fe: a divergence there is not
    numeric's to fail (against a baseline whose forward pass is wrong, bug-transpose, only
    numeric's v, gradients and parameters decide, and they fail)."""
    res = run_plugin(pytester, "--bp-impl", "numeric", "--bp-cases", "seed-2-2-2-float64",
                     timeout=120)
    res.assert_outcomes(passed=1)
    res = run_plugin(pytester, "--bp-impl", "numeric", "--bp-baseline", "bug-transpose",
                     "--bp-cases", "seed-2-2-2-float64", "-rf", timeout=120)
    res.assert_outcomes(failed=1)
    assert "Failed: step 0 v[layer" in res.stdout.str()


def test_pytest_route_traces_each_implementation_once_through_trace_many(plugins):
    from types import SimpleNamespace

    from harness import registry
    from harness.pytest_plugin import Session
    options = {"bp_baseline": "reference", "bp_dtype": "float64", "bp_cases": "seed-*,kinks-*",
               "bp_jobs": 0, "bp_timeout": None, "bp_xfails": [],
               "bp_no_oracle": False}  # in this process, where calls is seen
    try:
        session = Session(SimpleNamespace(getoption=options.get), ["many"])
        many = type(get("many").impl)  # the class the entry point loaded
        many.calls.clear()
        assert [session.result("many", case).status for case in session.specs] == \
            ["pass"] * len(session.specs)
        assert many.calls == [("trace-many-many", list(session.specs))]
    finally:
        registry.set_wall(True)


@pytest.mark.slow
@needs("exact")
@pytest.mark.parametrize("order", [("bug-sign", "exact"), ("exact", "bug-sign")])
def test_the_blame_does_not_depend_on_the_order_of_the_options(pytester, plugins, order):
    args = [x for name in order for x in ("--bp-impl", name)]
    res = run_plugin(pytester, *args, "--bp-cases", "seed-2-2-2-float64", "-rf")
    out = res.stdout.str()
    assert "blame: b-wrong (bug-sign wrong)" in out and "undecided" not in out


@pytest.mark.slow
@needs("exact")
def test_without_an_oracle_named_the_divergence_is_blamed_and_reduced(pytester, plugins):
    res = run_plugin(pytester, "--bp-impl", "bug-bias", "--bp-cases", "seed-2-2-2-float64",
                     "-rf")
    res.assert_outcomes(failed=1)  # grad_bias, and the parameters as its consequence
    out = res.stdout.str()
    assert "consequences: 3 more quantities out of tolerance, computed from it (step 0 " \
           "grad_bias[layer 0], final bias[layer 0], final bias[layer 1])" in out
    assert "blame: b-wrong (bug-bias wrong)" in out
    assert "why: a layer's g = v x at v = " in out and "(reproduced at one neuron)" in out
    assert "1 distinct root cause(s) by signature:" in out  # grad_bias and params: one cause
    off = run_plugin(pytester, "--bp-impl", "bug-bias", "--bp-cases", "seed-2-2-2-float64",
                     "-rf", "--bp-no-oracle")
    assert "blame: undecided" in off.stdout.str() and "why:" not in off.stdout.str()
    assert "--no-oracle" in off.stdout.str()  # the reproduce command keeps the choice


@pytest.mark.slow
@needs("exact", "jax")
def test_a_signature_entry_makes_the_tests_it_covers_xfail(pytester):
    """jax's ledger names elu's tail by signature, not by case: the tests it covers xfail."""
    res = run_plugin(pytester, "--bp-impl", "jax", "--bp-cases", "regions-elu-float64", "-rx")
    outcomes = res.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes["xfailed"] >= 1, res.stdout.str()
    assert "39795" in res.stdout.str()


def test_the_summary_lists_what_declarations_waived(pytester):
    """numeric declares a looser accuracy: the session's summary says how much."""
    res = run_plugin(pytester, "--bp-impl", "numeric", "--bp-cases", "seed-2-2-2-float64")
    out = res.stdout.str()
    assert "backprop-harness declarations" in out
    assert "waived by numeric's declarations: forward rtol 1e-07 (1.4e+07 times the model's " \
           "in float64)" in out
