"""The pytest plugin (entry point pytest11): the conformance suite as ordinary pytest tests.

    pytest --bp-impl NAME [--bp-baseline NAME] [--bp-cases GLOB] [--bp-dtype float64]
           [--bp-xfails FILE] [--bp-fuzz N]

collects harness/testing/test_conformance.py: one test per implementation, case and quantity
(`test_conformance[seed-2-2-2-float64-v]`; the implementation leads the id when several are
named). Each case runs once per session; every quantity's test then reads its verdict.
A test module can import `test_conformance` and name its implementations in `BP_IMPLS`
(the project's own tests do). An xfail file holds one case glob (or case-quantity glob) and
a reason per line; matching tests
are xfail (XPASS once they conform); an implementation may ship its own list as `xfails`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.xfails import QUANTITY_GROUPS, Xfail, read_xfails, shipped

TEST_MODULE = Path(__file__).parent / "testing" / "test_conformance.py"


def pytest_addoption(parser):
    g = parser.getgroup("backprop-harness", "backprop-harness conformance suite")
    g.addoption("--bp-impl", action="append", default=[], metavar="NAME",
                help="run the conformance suite against this implementation (repeatable)")
    g.addoption("--bp-baseline", default="reference", metavar="NAME",
                help="what each --bp-impl is compared with (default: reference, the NumPy "
                     "engine)")
    g.addoption("--bp-cases", default=None, metavar="GLOB", help="only matching cases (a,b,...)")
    g.addoption("--bp-dtype", default=None,
                choices=("float64", "float32", "bfloat16", "float16"),
                help="only the cases of this dtype (default: every dtype)")
    g.addoption("--bp-xfails", action="append", default=[], metavar="FILE",
                help="known deviations: '<case glob> <reason>' per line (repeatable)")
    g.addoption("--bp-strict-xfails", action="store_true",
                help="a test that passes where a known deviation expected a failure fails")
    g.addoption("--bp-fuzz", type=int, default=0, metavar="N",
                help="also search N random networks per implementation (hypothesis)")


def pytest_configure(config):
    """With --bp-impl, the conformance suite is what runs: alone when no test path is named
    on the command line (the project's own testpaths are not collected with it)."""
    if not config.getoption("bp_impl") or str(TEST_MODULE) in config.args:
        return
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args[:] = [str(TEST_MODULE)]
    else:
        config.args.append(str(TEST_MODULE))


class Session:
    """Traces each implementation's cases once, all at once at its first test (through the
    runner, so trace_many() applies), and keeps the verdicts for the quantity tests. Known
    deviations are pytest's xfail marks here, per quantity group, not the verdict's."""

    def __init__(self, config, impls):
        from harness.suite import default_suite
        self.baseline = config.getoption("bp_baseline")
        self.impls = list(dict.fromkeys(impls))
        self.specs = {s.name: s for s in default_suite(config.getoption("bp_dtype"),
                                                       config.getoption("bp_cases"))}
        self.results: dict = {}
        self.outcomes: dict = {}  # implementation: {case: Outcome}

    def result(self, impl: str, case: str):
        from harness.judge import judge
        from harness.runner import run_tasks
        key = (impl, case)
        if key not in self.results:
            for name in (self.baseline, impl):
                if name not in self.outcomes:
                    specs = list(self.specs.values())
                    outs = run_tasks([(name, s) for s in specs])
                    self.outcomes[name] = {o.case: o for o in outs}
            oracles = {name: outs[case] for name, outs in self.outcomes.items()}
            self.results[key] = judge(self.specs[case], self.outcomes[self.baseline][case],
                                      self.outcomes[impl][case], oracles=oracles)
        return self.results[key]


@dataclass
class ConformanceItem:
    session: Session
    impl: str
    case: str
    group: str

    def check(self):
        r = self.session.result(self.impl, self.case)
        if r.status == "unsupported":
            pytest.skip(r.message)
        repro = (f"reproduce: backprop-harness run --cases {self.case} --impl {self.impl} "
                 f"--baseline {r.baseline}")
        if r.status == "error" and not r.tensors:  # it failed outright: every quantity fails
            pytest.fail(f"{r.message}\n{repro}", pytrace=False)
        # NaN or Inf where the baseline has numbers fails the quantities that hold them
        bad = [t for t in r.tensors if t.quantity in QUANTITY_GROUPS[self.group] and not t.passed]
        if bad:
            t = bad[0]
            lines = [t.message(self.impl, r.baseline, self.case, r.dtype)]
            if r.origin is not None and r.origin is not t:
                lines.append(f"divergence origin: {r.origin.label} (this is a consequence)")
            if r.blame:
                lines.append(f"blame: {r.blame} ({r.who}): {r.blame_reason}")
            lines.append(repro)
            pytest.fail("\n".join(lines), pytrace=False)


def _session(config, impls) -> Session:
    sessions = config.__dict__.setdefault("_bp_sessions", {})
    if tuple(impls) not in sessions:
        sessions[tuple(impls)] = Session(config, impls)
    return sessions[tuple(impls)]


def _xfails(impl: str, given: list[Xfail]) -> list[Xfail]:
    """The --bp-xfails entries, then the list the implementation ships (its own only)."""
    from harness.registry import get
    info = get(impl)
    return given + (shipped(info.impl) if info.available else [])


def pytest_generate_tests(metafunc):
    config = metafunc.config
    if "bp_item" in metafunc.fixturenames:
        _generate_conformance(metafunc, config)
    if "bp_fuzz_impl" in metafunc.fixturenames:
        impls = config.getoption("bp_impl") if config.getoption("bp_fuzz") else []
        metafunc.parametrize("bp_fuzz_impl", impls, ids=impls)


def pytest_collection_modifyitems(config, items):
    """Without --bp-fuzz, the fuzz test is deselected rather than reported as skipped."""
    if config.getoption("bp_fuzz"):
        return
    fuzz = [i for i in items if getattr(i, "originalname", "") == "test_fuzz"
            and Path(str(i.fspath)) == TEST_MODULE]
    if fuzz:
        config.hook.pytest_deselected(items=fuzz)
        items[:] = [i for i in items if i not in fuzz]


def _generate_conformance(metafunc, config):
    from harness.registry import get
    impls = config.getoption("bp_impl") or getattr(metafunc.module, "BP_IMPLS", [])
    session = _session(config, impls)
    for name in session.impls + [session.baseline]:
        info = get(name)
        if not info.available:
            raise pytest.UsageError(f"--bp-impl {name}: unavailable ({info.reason})")
    given = [x for f in config.getoption("bp_xfails") for x in read_xfails(f)]
    used: set = set()
    params = []
    for impl in session.impls:
        xfails = _xfails(impl, given)
        for case in session.specs:
            for group in QUANTITY_GROUPS:
                tid = f"{case}-{group}"
                marks = []
                entry = next((x for x in xfails if x.matches(case, group)), None)
                if entry is not None:
                    used.add(entry)
                    marks = [pytest.mark.xfail(reason=f"{entry.cited} ({entry.source})",
                                               strict=config.getoption("bp_strict_xfails"))]
                full_id = tid if len(session.impls) == 1 else f"{impl}-{tid}"
                params.append(pytest.param(ConformanceItem(session, impl, case, group),
                                           marks=marks, id=full_id))
    for x in given:  # a shipped list covers cases a --bp-cases selection may leave out
        if x not in used:
            warnings.warn(f"xfail pattern {x.pattern!r} ({x.source}) matches no case",
                          pytest.PytestConfigWarning, stacklevel=1)
    metafunc.parametrize("bp_item", params)
