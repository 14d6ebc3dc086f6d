"""The pytest plugin (entry point pytest11): the conformance suite as ordinary pytest tests.

    pytest --bp-impl NAME [--bp-baseline NAME] [--bp-cases GLOB] [--bp-dtype float64]
           [--bp-xfails FILE] [--bp-fuzz N] [--bp-timeout SECONDS] [--bp-jobs N]
           [--bp-no-oracle]

collects harness/testing/test_conformance.py: one test per implementation and case
(`test_conformance[seed-2-2-2-float64]`; the implementation leads the id when several are
named). Each case runs once per session. A failing test names the divergence origin (the
first quantity out of tolerance, in computation order) with its numbers and counts the
quantities computed from it as its consequences: one defect, one failing test per case.
A test module can import `test_conformance` and name its implementations in `BP_IMPLS`
(the project's own tests do). An xfail file holds one case glob (or case-quantity glob)
and a reason per line; a test whose failing quantities its entries cover is xfail (XPASS
once it conforms); an implementation may ship its own list as `xfails`.

The traces are made by harness/runner behind the process wall (harness/wall: each adapter
in a worker process of its own, --bp-jobs per implementation, default 1): an adapter that
crashes its process (a segfault, os.abort(), os._exit()) fails that case's tests, and one
that runs past --bp-timeout fails them with "timed out", while the session goes on. pytest-timeout's --timeout bounds a whole test; the first test of a session traces
every case, so --bp-timeout is the bound that names the case. Under pytest-xdist, run with
--dist loadfile (or loadgroup: the conformance tests form one xdist_group), so that one
worker traces the suite, not each.

Every divergence is judged by the exact oracle (numeric where exact cannot run; traced for
the diverging cases alone unless the session names an oracle) and reduced to its root causes
at one neuron; a signature entry of a ledger that names them makes its tests xfail, and the
terminal summary counts distinct root causes by signature (under pytest-xdist too: each
test's signatures reach the controller in its report). --bp-no-oracle turns this off.
"""

from __future__ import annotations

import shlex
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.xfails import GROUP_OF, QUANTITY_GROUPS, Xfail, covering, read_xfails, shipped

TEST_MODULE = Path(__file__).parent / "testing" / "test_conformance.py"


def pytest_addoption(parser):
    g = parser.getgroup("backprop-harness", "backprop-harness conformance suite")
    g.addoption("--bp-impl", action="append", default=[], metavar="NAME",
                help="run the conformance suite against this implementation (repeatable; "
                     "module:Class or path/adapter.py[:Class] for one not installed)")
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
    g.addoption("--bp-timeout", type=_positive(float), default=None, metavar="SECONDS",
                help="a case that an implementation traces for longer fails its tests "
                     "(default: 300)")
    g.addoption("--bp-jobs", type=_positive(int, zero=True), default=1, metavar="N",
                help="worker processes per implementation (default 1): a crashing or "
                     "hanging adapter fails its cases, not the session; 0 loads and traces "
                     "every adapter in pytest's own process (for a debugger; the wall's "
                     "guarantees do not hold)")
    g.addoption("--bp-no-oracle", action="store_true",
                help="do not judge divergences by the exact oracle nor reduce them to a root "
                     "cause at one neuron (but for known deviations named by signature)")


def _positive(kind, zero=False):
    """An argparse type: a finite number > 0 (>= 0 with `zero`) of `kind`."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not (value >= 0 if zero else value > 0) or value > 1e6:
            raise ValueError(text)  # argparse: "invalid parse value"
        return value
    parse.__name__ = f"{'non-negative' if zero else 'positive'} {kind.__name__}"
    return parse


def pytest_configure(config):
    """With --bp-impl, the conformance suite is what runs: alone when no test path is named
    on the command line (the project's own testpaths are not collected with it)."""
    config.addinivalue_line("markers", "xdist_group(name): pytest-xdist's --dist loadgroup")
    config.pluginmanager.register(Summary(), "backprop-harness-summary")
    if not config.getoption("bp_impl"):
        return
    if config.getoption("bp_jobs") == 0:  # before any adapter loads
        from harness import registry
        registry.set_wall(False)
    try:  # a bad option is one line here; raised while collecting, pytest shows the source
        from harness.local_impls import is_local, local
        config.option.bp_impl = [local(n) if is_local(n) else n
                                 for n in config.getoption("bp_impl")]
        _check(config, config.getoption("bp_impl"))
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    if str(TEST_MODULE) in config.args:
        return
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args[:] = [str(TEST_MODULE)]
    else:
        config.args.append(str(TEST_MODULE))


class Session:
    """Traces every implementation's cases once, all at once at the first test (through the
    runner: in worker processes with per-case timeouts, trace_many() where an implementation
    has it), and keeps the verdicts for the case tests. Known deviations by case glob are
    pytest's xfail marks here, added when the test has its verdict."""

    def __init__(self, config, impls):
        from harness import registry
        from harness.suite import default_suite
        self.baseline = config.getoption("bp_baseline")
        self.impls = list(dict.fromkeys(impls))
        self.timeout = config.getoption("bp_timeout")
        self.jobs = config.getoption("bp_jobs")
        if self.jobs == 0:  # adapters in pytest's own process, for a debugger
            registry.set_wall(False)
        self.specs = {s.name: s for s in default_suite(config.getoption("bp_dtype"),
                                                       config.getoption("bp_cases"))}
        self.results: dict = {}
        self.outcomes: dict = {}  # implementation: {case: Outcome}
        self.oracle = not config.getoption("bp_no_oracle")
        self.oracle_cache: dict = {}  # case: the oracle outcomes traced for its divergences
        self.xfail_files = config.getoption("bp_xfails") or []
        self.known: dict = {}  # implementation: its signature entries (read at its first verdict)

    def _trace(self) -> None:
        from harness.runner import run_tasks
        names = list(dict.fromkeys([self.baseline, *self.impls]))
        tasks = [(name, s) for name in names for s in self.specs.values()]
        outs = run_tasks(tasks, max(1, self.jobs), self.timeout)
        for o in outs:
            self.outcomes.setdefault(o.impl, {})[o.case] = o

    def result(self, impl: str, case: str):
        """The verdict of impl on case: every implementation the session names, oracles
        included, is traced before any verdict (so the order of --bp-impl options never
        matters); without a named oracle, the diverging cases get exact's
        (rootcause.explain)."""
        from harness.judge import judge
        from harness.registry import ORACLES
        from harness.rootcause import explain
        key = (impl, case)
        if key not in self.results:
            if not self.outcomes:
                self._trace()
            oracles = {n: outs[case] for n, outs in self.outcomes.items() if n in ORACLES}
            spec, base = self.specs[case], self.outcomes[self.baseline][case]
            other = self.outcomes[impl][case]
            verdict = judge(spec, base, other, oracles=oracles)
            if impl not in self.known:
                given = [x for f in self.xfail_files for x in read_xfails(f)]
                self.known[impl] = [x for x in _xfails(impl, given) if x.signature]
            verdict = explain(spec, base, other, verdict, known=self.known[impl],
                              oracles=oracles, cache=self.oracle_cache, oracle=self.oracle)
            self.results[key] = verdict
        return self.results[key]


@dataclass
class ConformanceItem:
    session: Session
    impl: str
    case: str
    entries: tuple = ()  # the case-glob ledger entries that name this case (any quantity)
    shared: tuple = ()  # quantity groups computed with the reference's own functions
    strict: bool = False

    def check(self, node=None):
        """One test per implementation and case: it fails once, at the divergence origin,
        with its quantities in the message and the consequences counted there; ledger entries
        that cover every failing quantity (as the CLI's verdict) or a signature entry that
        names its root cause make it xfail."""
        r = self.session.result(self.impl, self.case)
        if node is not None:  # the controller's summary under xdist reads these
            from harness.waivers import CHECKED
            node.user_properties.append(("bp_signatures",
                                         [(s.to_dict(), r.case) for s in r.signatures]))
            node.user_properties.append(("bp_checked", (self.impl, r.status in CHECKED)))
        if r.status == "unsupported":
            pytest.skip(r.message)
        flags = [] if self.session.oracle else ["--no-oracle"]
        repro = "reproduce: " + shlex.join(["backprop-harness", "run", "--cases", self.case,
                                            "--impl", self.impl, "--baseline", r.baseline,
                                            *flags])
        if r.status == "error" and not r.tensors:  # it failed outright
            pytest.fail(f"{r.message}\n{repro}", pytrace=False)
        # NaN or Inf where the baseline has numbers fails the quantities that hold them
        bad = [t for t in r.tensors if not t.passed and GROUP_OF[t.quantity] not in self.shared]
        known = (covering(list(self.entries), self.case, {GROUP_OF[t.quantity] for t in bad})
                 or []) if bad else list(self.entries)
        if not bad:
            if known and node is not None:  # a known deviation that conforms: XPASS
                node.add_marker(pytest.mark.xfail(reason=known[0].cited, strict=self.strict
                                                  or None))
            return
        origin = r.origin if r.origin in bad else bad[0]
        lines = [origin.message(self.impl, r.baseline, self.case, r.dtype)]
        later = [t.label for t in bad if t is not origin]
        if later:
            many = "quantity" if len(later) == 1 else "quantities"
            lines.append(f"consequences: {len(later)} more {many} out of tolerance, computed "
                         f"from it ({', '.join(later)})")
        if r.blame:
            lines.append(f"blame: {r.blame} ({r.who}): {r.blame_reason}")
        if r.why:
            lines.append(f"why: {r.why}")
        lines.append(repro)
        if r.status == "xfail" and any(x.signature for x in r.known_by):
            pytest.xfail(f"known: {r.known}; " + "\n".join(lines))
        if known and node is not None:
            node.add_marker(pytest.mark.xfail(reason=known[0].cited, strict=self.strict or None))
        pytest.fail("\n".join(lines), pytrace=False)


class Summary:
    """Collects each conformance test's root-cause signatures where the summary is printed
    (pytest-xdist's controller too: they travel in the reports' user_properties) and prints
    them counted by signature: one cause, one line, however many cases show it. A session in
    which an implementation checked nothing (it declined every case) exits 5, as the CLI
    does, never 0."""

    def __init__(self):
        self.seen: dict = {}  # node id: [(signature dict, case)]
        self.checked: dict[str, bool] = {}  # implementation: whether any case was checked

    def pytest_runtest_logreport(self, report):
        for key, value in getattr(report, "user_properties", ()):
            if key == "bp_signatures" and report.when == "call":
                self.seen.setdefault(report.nodeid, value)
            if key == "bp_checked" and report.when == "call":
                impl, checked = value
                self.checked[impl] = self.checked.get(impl, False) or checked

    def unchecked(self) -> list[str]:
        return [impl for impl, checked in self.checked.items() if not checked]

    def pytest_sessionfinish(self, session):
        from harness.waivers import NOTHING_CHECKED
        if session.exitstatus == 0 and self.unchecked():
            session.exitstatus = NOTHING_CHECKED

    def pytest_terminal_summary(self, terminalreporter):
        from harness.rootcause import describe
        from harness.signature import Signature
        found: dict = {}
        for seen in self.seen.values():
            for doc, case in seen:
                sig = Signature(**doc)
                found.setdefault(sig.cause, []).append((sig, case))
        for impl in self.unchecked():
            terminalreporter.write_line(f"backprop-harness: nothing checked: {impl} ran no "
                                        f"case of this session (every one declined)")
        if found:
            terminalreporter.section("backprop-harness root causes")
            terminalreporter.write_line(f"{len(found)} distinct root cause(s) by signature:")
            for seen in found.values():
                cases = len({case for _, case in seen})
                terminalreporter.write_line(f"  {describe([s for s, _ in seen])} "
                                            f"({cases} case(s))")


def pytest_terminal_summary(terminalreporter, config):
    """What the implementations' declarations waived (harness/waivers.py), after the root
    causes (Summary)."""
    from types import SimpleNamespace

    from harness.waivers import summary_lines
    verdicts = [r for session in config.__dict__.get("_bp_sessions", {}).values()
                for r in session.results.values()]
    lines = summary_lines(SimpleNamespace(results=verdicts), unchecked_too=False) \
        if verdicts else []
    if lines:
        terminalreporter.section("backprop-harness declarations")
        for line in lines:
            terminalreporter.write_line(line)


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
    if "bp_fuzz_impl" in metafunc.fixturenames:  # deselected below without --bp-fuzz
        impls = config.getoption("bp_impl")
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


def _check(config, impls) -> None:
    """Raise HarnessError, naming the option, for an unknown or unavailable implementation,
    a --bp-cases glob that matches no case or an unreadable --bp-xfails list."""
    from harness.registry import get, preload
    named = [("--bp-impl", n) for n in dict.fromkeys(impls)] + \
        [("--bp-baseline", config.getoption("bp_baseline"))]
    preload([name for _, name in named])  # their workers start side by side
    for option, name in named:
        try:
            info = get(name)
        except HarnessError as exc:
            raise HarnessError(f"{option} {name}: {exc}") from None
        if not info.available:
            raise HarnessError(f"{option} {name}: unavailable ({info.reason})")
    for path in config.getoption("bp_xfails"):
        read_xfails(path)
    _session(config, impls)  # a --bp-cases glob that matches no case


def _generate_conformance(metafunc, config):
    """One test per implementation and case."""
    impls = config.getoption("bp_impl") or getattr(metafunc.module, "BP_IMPLS", [])
    _check(config, impls)
    metafunc.parametrize("bp_item", _conformance_params(config, impls))


def _conformance_params(config, impls) -> list:
    """One test per implementation and case; the case-glob entries that name the case (for
    any quantity) go with it, judged against its origin when it runs."""
    from harness.registry import get
    session = _session(config, impls)
    given = [x for f in config.getoption("bp_xfails") for x in read_xfails(f)]
    strict = bool(config.getoption("bp_strict_xfails"))  # else the ini's xfail_strict
    group_mark = pytest.mark.xdist_group("backprop-harness")  # one Session per xdist worker
    used: set = set()
    params = []
    for impl in session.impls:
        xfails = _xfails(impl, given)
        shared = tuple(getattr(get(impl).impl, "shared_with_reference", ()))
        for case in session.specs:
            entries = tuple(x for x in xfails if any(x.matches(case, g) for g in QUANTITY_GROUPS))
            used.update(entries)
            full_id = case if len(session.impls) == 1 else f"{impl}-{case}"
            params.append(pytest.param(ConformanceItem(session, impl, case, entries, shared,
                                                       strict),
                                       marks=[group_mark], id=full_id))
    for x in given:  # a shipped list covers cases a --bp-cases selection may leave out
        if x not in used and not x.signature:  # a signature entry names no case
            warnings.warn(f"xfail pattern {x.pattern!r} ({x.source}) matches no case",
                          pytest.PytestConfigWarning, stacklevel=1)
    return params
