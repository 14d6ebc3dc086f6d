"""The pytest plugin (entry point pytest11): the conformance suite as ordinary pytest tests.

    pytest --bp-impl NAME [--bp-baseline NAME] [--bp-cases GLOB] [--bp-dtype float64]
           [--bp-xfails FILE] [--bp-fuzz N] [--bp-timeout SECONDS] [--bp-jobs N]
           [--bp-no-oracle]

collects harness/testing/test_conformance.py: one test per implementation, case and quantity
(`test_conformance[seed-2-2-2-float64-v]`; the implementation leads the id when several are
named). Each case runs once per session; every quantity's test then reads its verdict.
A test module can import `test_conformance` and name its implementations in `BP_IMPLS`
(the project's own tests do). An xfail file holds one case glob (or case-quantity glob) and
a reason per line; matching tests
are xfail (XPASS once they conform); an implementation may ship its own list as `xfails`.

The traces are made by harness/runner.py in worker processes (--bp-jobs, default 1): an
adapter that crashes its process (a segfault, os.abort(), sys.exit()) fails that case's
tests, and one that runs past --bp-timeout fails them with "timed out", while the session
goes on. pytest-timeout's --timeout bounds a whole test; the first test of a session traces
every case, so --bp-timeout is the bound that names the case. Under pytest-xdist, run with
--dist loadfile (or loadgroup: the conformance tests form one xdist_group), so that one
worker traces the suite, not each.

Every divergence is judged by the exact oracle (numeric where exact cannot run; traced for
the diverging cases alone unless the session names an oracle) and reduced to its root causes
at one neuron; a signature entry of a ledger that names them makes its tests xfail, and the
terminal summary counts distinct root causes by signature. --bp-no-oracle turns this off.
"""

from __future__ import annotations

import shlex
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.errors import HarnessError
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
    g.addoption("--bp-timeout", type=_positive(float), default=None, metavar="SECONDS",
                help="a case that an implementation traces for longer fails its tests "
                     "(default: 300)")
    g.addoption("--bp-jobs", type=_positive(int, zero=True), default=1, metavar="N",
                help="worker processes that trace the cases (default 1): a crashing "
                     "adapter fails its cases, not the session; 0 traces in pytest's own "
                     "process (for a debugger)")
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
    if not config.getoption("bp_impl"):
        return
    try:  # a bad option is one line here; raised while collecting, pytest shows the source
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
    has it), and keeps the verdicts for the quantity tests. Known deviations are pytest's
    xfail marks here, per quantity group, not the verdict's."""

    def __init__(self, config, impls):
        from harness.suite import default_suite
        self.baseline = config.getoption("bp_baseline")
        self.impls = list(dict.fromkeys(impls))
        self.timeout = config.getoption("bp_timeout")
        self.jobs = config.getoption("bp_jobs")
        self.specs = {s.name: s for s in default_suite(config.getoption("bp_dtype"),
                                                       config.getoption("bp_cases"))}
        self.results: dict = {}
        self.outcomes: dict = {}  # implementation: {case: Outcome}
        self.oracle = not config.getoption("bp_no_oracle")
        self.oracle_cache: dict = {}  # case: the oracle outcomes traced for its divergences
        self.xfail_files = config.getoption("bp_xfails") or []
        self.known: dict = {}  # implementation: its signature entries (read at its first verdict)

    def _trace(self) -> None:
        from harness.runner import run_parallel, run_tasks
        names = list(dict.fromkeys([self.baseline, *self.impls]))
        tasks = [(name, s) for name in names for s in self.specs.values()]
        outs = run_parallel(tasks, self.jobs, self.timeout) if self.jobs else \
            run_tasks(tasks, timeout=self.timeout)
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
    group: str

    def check(self):
        r = self.session.result(self.impl, self.case)
        if r.status == "unsupported":
            pytest.skip(r.message)
        flags = [] if self.session.oracle else ["--no-oracle"]
        repro = "reproduce: " + shlex.join(["backprop-harness", "run", "--cases", self.case,
                                            "--impl", self.impl, "--baseline", r.baseline,
                                            *flags])
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
            if r.why:
                lines.append(f"why: {r.why}")
            lines.append(repro)
            if r.status == "xfail" and any(x.signature for x in r.known_by):
                pytest.xfail(f"known: {r.known}; " + "\n".join(lines))
            pytest.fail("\n".join(lines), pytrace=False)


def pytest_terminal_summary(terminalreporter, config):
    """Distinct findings of the session's conformance tests, counted by root-cause
    signature: one cause, one line, however many cases and quantities show it; then what
    the implementations' declarations waived (harness/waivers.py)."""
    found: dict = {}
    for session in config.__dict__.get("_bp_sessions", {}).values():
        for r in session.results.values():
            for sig in r.signatures:
                found.setdefault(sig.cause, []).append((sig, r.case))
    if found:
        from harness.rootcause import describe
        terminalreporter.section("backprop-harness root causes")
        terminalreporter.write_line(f"{len(found)} distinct root cause(s) by signature:")
        for seen in found.values():
            cases = len({case for _, case in seen})
            terminalreporter.write_line(f"  {describe([s for s, _ in seen])} ({cases} case(s))")
    from types import SimpleNamespace

    from harness.waivers import summary_lines
    verdicts = [r for session in config.__dict__.get("_bp_sessions", {}).values()
                for r in session.results.values()]
    lines = summary_lines(SimpleNamespace(results=verdicts)) if verdicts else []
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
    from harness.registry import get
    for option, name in [("--bp-impl", n) for n in dict.fromkeys(impls)] + \
            [("--bp-baseline", config.getoption("bp_baseline"))]:
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
    """One test per implementation, case and quantity group."""
    impls = config.getoption("bp_impl") or getattr(metafunc.module, "BP_IMPLS", [])
    _check(config, impls)
    metafunc.parametrize("bp_item", _conformance_params(config, impls))


def _conformance_params(config, impls) -> list:
    from harness.registry import get
    session = _session(config, impls)
    given = [x for f in config.getoption("bp_xfails") for x in read_xfails(f)]
    strict = {"strict": True} if config.getoption("bp_strict_xfails") else {}  # else the ini's
    group_mark = pytest.mark.xdist_group("backprop-harness")  # one Session per xdist worker
    used: set = set()
    params = []
    for impl in session.impls:
        xfails = _xfails(impl, given)
        shared = getattr(get(impl).impl, "shared_with_reference", ())
        for case in session.specs:
            for group in QUANTITY_GROUPS:
                tid = f"{case}-{group}"
                marks = [group_mark]
                entry = next((x for x in xfails if x.matches(case, group)), None)
                if group in shared:
                    marks.append(pytest.mark.skip(
                        reason=f"{impl} computes {group} with the reference's own functions: "
                               f"comparing it checks nothing"))
                elif entry is not None:
                    used.add(entry)
                    marks.append(pytest.mark.xfail(reason=f"{entry.cited} ({entry.source})",
                                                   **strict))
                full_id = tid if len(session.impls) == 1 else f"{impl}-{tid}"
                params.append(pytest.param(ConformanceItem(session, impl, case, group),
                                           marks=marks, id=full_id))
    for x in given:  # a shipped list covers cases a --bp-cases selection may leave out
        if x not in used and not x.signature:  # a signature entry names no case
            warnings.warn(f"xfail pattern {x.pattern!r} ({x.source}) matches no case",
                          pytest.PytestConfigWarning, stacklevel=1)
    return params
