"""backprop-harness: run | trace | impls | cases | fuzz | audit | coverage.

Exit codes: 0 all conform; 1 a comparison is out of tolerance or an implementation failed;
2 bad usage or bad input (one line on stderr, no traceback); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import __version__
from .errors import HarnessError
from .spec import ALL_DTYPES
from .words import count

PROG = "backprop-harness"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit 2."""

    def error(self, message):
        raise HarnessError(f"{message} (see '{self.prog} --help')")


def _number(kind, ok, wanted: str):
    """An argparse type: `kind(text)` that satisfies `ok`, else the message 'expected ...'."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text}")
        return value
    return parse


MAX_TIMEOUT = 1e6  # seconds (11.6 days): beyond what a timer or a wait can be set to hold

_positive_int = _number(int, lambda v: v >= 1, "a positive integer")
seed_number = _number(int, lambda v: 0 <= v < 2**63, "an integer from 0 to 2**63 - 1")
_timeout = _number(float, lambda v: 0 < v <= MAX_TIMEOUT,
                   f"a number of seconds above 0, at most {MAX_TIMEOUT:g}")
_tolerance_value = _number(float, lambda v: 0 <= v < float("inf"), "a finite number >= 0")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Check that implementations of backpropagation agree.",
                formatter_class=_Help)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser = _with_defaults(sub.add_parser)

    run = sub.add_parser("run", help="run specs or the default suite through implementations")
    run.add_argument("specs", nargs="*", metavar="SPEC_OR_SUITE",
                     help="spec or suite JSON files (default: the built-in suite)")
    run.add_argument("--impl", nargs="+", action="extend", metavar="NAME",
                     help="implementations to compare (default: every available one); a "
                          "spec file named after them counts as a spec")
    run.add_argument("--baseline", default="reference", metavar="NAME",
                     help="what every other implementation is compared with")
    run.add_argument("--all-modes", action="store_true",
                     help="also every available execution mode of the built-in frameworks "
                          "(torch-compile, jax-eager, ...; `impls` lists them); --impl also "
                          "takes globs such as 'torch*'")
    run.add_argument("--pairwise", action="store_true", help="also compare every pair")
    run.add_argument("--no-oracle", action="store_true",
                     help="do not judge divergences by the exact oracle (numeric where exact "
                          "cannot run) nor reduce them to a root cause at one neuron (but for "
                          "known deviations that a ledger names by signature)")
    run.add_argument("--cases", metavar="GLOB", help="only cases whose names match (a,b,...)")
    run.add_argument("--dtype", choices=ALL_DTYPES,
                     help="only the cases of this dtype (default: every dtype)")
    run.add_argument("--seed", type=seed_number, metavar="N",
                     help="reseed the default suite's generated cases (default: their own)")
    run.add_argument("--out", type=Path, metavar="DIR",
                     help="report directory (default: reports/run-<time>)")
    run.add_argument("--force", action="store_true", help="replace an existing --out directory")
    run.add_argument("--full-json", action="store_true",
                     help="run.json with every tensor's figures (default: the verdicts, each "
                          "quantity's worst and the failing tensors)")
    run.add_argument("--xfails", action="append", default=[], metavar="FILE",
                     help="known deviations: '<case glob> <reason>' per line (repeatable)")
    run.add_argument("--runxfail", action="store_true",
                     help="report known deviations as the failures they are, with blame, root "
                          "cause and reproducers (no ledger applies), as pytest's --runxfail")
    run.add_argument("--strict-xfails", action="store_true",
                     help="a case that passes where a known deviation expected it to fail "
                          "(XPASS: fixed upstream?) fails the run")
    run.add_argument("--jobs", type=_positive_int, default=1, metavar="N",
                     help="worker processes; a case that crashes or hangs its worker fails "
                          "alone; --timeout applies with or without them")
    run.add_argument("--timeout", type=_timeout, metavar="SECONDS",
                     help="per case and implementation (default 300)")
    for phase in ("forward", "backward"):
        for kind in ("rtol", "atol"):
            run.add_argument(f"--{kind}-{phase}", type=_tolerance_value, metavar="X",
                             help=f"override {kind} of the {phase} (and update) tolerance")

    tr = sub.add_parser("trace", help="print one implementation's trace JSON for a spec")
    tr.add_argument("spec", metavar="SPEC", help="a spec or suite JSON file")
    tr.add_argument("--impl", default="reference", metavar="NAME")
    tr.add_argument("--case", metavar="NAME", help="the case to trace when SPEC is a suite")

    sub.add_parser("impls", help="list implementations, versions, availability, support")

    cs = sub.add_parser("cases", help="list the default suite's cases")
    cs.add_argument("--cases", metavar="GLOB", help="only cases whose names match (a,b,...)")
    cs.add_argument("--dtype", choices=ALL_DTYPES, help="only this dtype")
    cs.add_argument("--export", type=Path, metavar="FILE", help="write them as a suite file")

    from .fuzz import add_fuzz_parser
    add_fuzz_parser(sub)

    au = sub.add_parser("audit", help="every implementation against the exact oracle over "
                                      "the hard inputs of each activation and loss")
    au.add_argument("--impl", nargs="+", action="extend", metavar="NAME",
                    help="implementations to measure besides the reference's two forms "
                         "(default: every available one but the oracles)")
    au.add_argument("--dtype", choices=ALL_DTYPES, help="only this dtype")
    au.add_argument("--function", nargs="+", action="extend", metavar="NAME",
                    help="only these activations and losses (default: all)")
    au.add_argument("--out", type=Path, metavar="DIR",
                    help="where audit.md, audit.csv, audit.json and the plots go "
                         "(default: reports/audit-<time>)")

    cv = sub.add_parser("coverage", help="which cases visit each special point of the input "
                                         "domain (the records' points, target kinds, sizes)")
    cv.add_argument("specs", nargs="*", metavar="SPEC_OR_SUITE",
                    help="spec or suite JSON files (default: the built-in suite)")
    cv.add_argument("--cases", metavar="GLOB", help="only cases whose names match (a,b,...)")
    cv.add_argument("--out", type=Path, metavar="DIR",
                    help="where coverage.md and coverage.json go "
                         "(default: reports/coverage-<time>)")
    cv.add_argument("--detect", action="store_true", help="plant a wrong implementation per "
                    "point and class of the domain; exit 1 on one that no case fails")
    return p


class _Help(argparse.HelpFormatter):
    """--help shows an option's default where it has one and its text does not say it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.option_strings and "default" not in text and \
                action.default not in (None, False, [], argparse.SUPPRESS):
            text += " (default: %(default)s)"
        return text


def _with_defaults(add_parser):
    """Subcommands whose --help shows defaults (_Help)."""
    def add(name, **kw):
        kw.setdefault("formatter_class", _Help)
        return add_parser(name, **kw)
    return add


def entry() -> None:
    """The console script (and `python -m harness`): main(), then exit without the
    interpreter's teardown, which spends ~1 s unloading torch and jax when nothing is left to
    do: by then every report is written and closed and every worker process, thread pool and
    cluster is shut down (JAX writes its compilation cache as it compiles)."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said there
            pass
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "run" and args.impl:  # `run --impl torch net.json`: net.json is a spec
            files = [n for n in args.impl if n.endswith(".json") or Path(n).is_file()]
            args.impl = [n for n in args.impl if n not in files] or None
            args.specs += files
        return COMMANDS[args.command](args)
    except HarnessError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _load_specs(paths: list[str], dtype=None, pattern=None, seed=None):
    from .spec import load_specs
    from .suite import default_suite, select
    if not paths:
        return default_suite(dtype, pattern, seed=seed)
    specs = [s for p in paths for s in load_specs(p)]
    return select(specs, dtype, pattern)


def cmd_run(args) -> int:
    from .conformance import run_suite
    from .report import check_out_dir, default_out_dir, write_report
    from .runner import progress

    specs = _load_specs(args.specs, args.dtype, args.cases, args.seed)
    out = args.out or default_out_dir()
    check_out_dir(out, args.force)
    override = {}
    for phase in ("forward", "backward"):
        vals = {k: getattr(args, f"{k}_{phase}") for k in ("rtol", "atol")}
        vals = {k: v for k, v in vals.items() if v is not None}
        if vals:
            override[phase] = vals
    from .xfails import read_xfails
    given = [x for path in args.xfails for x in read_xfails(path)]
    run = run_suite(specs, args.impl, args.baseline, args.pairwise, args.jobs, args.timeout,
                    override, progress=progress, xfails=given, strict=args.strict_xfails,
                    all_modes=args.all_modes, oracle=not args.no_oracle,
                    runxfail=args.runxfail)
    for x in run.unused(given):
        print(f"{PROG}: warning: xfail pattern {x.pattern!r} ({x.source}) matches no "
              f"failure", file=sys.stderr)
    out = write_report(run, out, force=args.force, full=args.full_json)
    _print_summary(run, out)
    from .waivers import exit_code
    return exit_code(run)


def _print_summary(run, out: Path) -> None:
    counts = run.counts()
    width = max([16] + [len(name) + 1 for name in run.impl_seconds])
    print(f"{'impl':<{width}} {'pass':>5} {'fail':>5} {'error':>5} {'unsup':>5} {'xfail':>5} "
          f"{'xpass':>5} {'seconds':>8}")
    for name in run.impl_seconds:
        rs = [r for r in run.results if r.impl == name]
        c = {s: sum(r.status == s for r in rs) for s in counts}
        print(f"{name:<{width}} {c['pass']:>5} {c['fail']:>5} {c['error']:>5} "
              f"{c['unsupported']:>5} {c['xfail']:>5} {c['xpass']:>5} "
              f"{run.impl_seconds[name]:>8.2f}")
    bad = [r for r in run.results if not r.ok]
    for r in bad[:20]:
        blame = f" [blame: {r.blame}, {r.who}: {r.blame_reason}]" if r.blame else ""
        why = f" [why: {r.why}]" if r.why else ""
        print(f"{r.status.upper()} {r.case} {r.impl}: {r.message}{blame}{why}")
    if len(bad) > 20:
        print(f"... and {len(bad) - 20} more (see the report)")
    for r in [r for r in run.results if r.status == "xfail"][:20]:
        why = f" [why: {r.why}]" if r.why else ""
        print(f"XFAIL {r.case} {r.impl}: known deviation: {r.known}{why}")
    for r in [r for r in run.results if r.status == "xpass"][:20]:
        print(f"XPASS {r.case} {r.impl}: {r.message}")
    for note in run.notes:
        print(f"note: {note}")
    missing = {n: d["reason"] for n, d in run.impls.items() if not d["available"]}
    for name, reason in missing.items():
        print(f"not run: {name} is unavailable ({reason})")
    verdict = "PASS" if run.ok else "FAIL"
    print(f"{verdict}: {counts['pass']} passed, {counts['fail']} failed, "
          f"{count(counts['error'], 'error')}, {counts['unsupported']} not supported, "
          f"{count(counts['xfail'], 'known deviation')}, "
          f"{count(counts['xpass'], 'unexpected pass')} in {run.wall_seconds:.1f} s")
    from .waivers import summary_lines
    for line in summary_lines(run):
        print(line)
    findings = run.findings()
    if findings:
        from .rootcause import describe
        print(f"{len(findings)} distinct root cause(s) by signature:")
        for seen in findings.values():
            cases = len({r.case for _, r in seen})
            print(f"  {describe([sig for sig, _ in seen])} ({cases} case(s))")
    print(f"report: {out}")


def cmd_trace(args) -> int:
    from .registry import get
    from .runner import run_one
    from .spec import load_specs

    specs = load_specs(args.spec)
    if args.case:
        specs = [s for s in specs if s.name == args.case]
        if not specs:
            raise HarnessError(f"no case named {args.case!r} in {args.spec}")
    elif len(specs) > 1:
        raise HarnessError(f"{args.spec} is a suite of {len(specs)} specs; choose one with --case")
    info = get(args.impl)
    if not info.available:
        raise HarnessError(f"implementation {args.impl!r} is unavailable: {info.reason}")
    outcome = run_one(args.impl, specs[0])
    if outcome.status != "ok":
        print(f"{PROG}: {args.impl} {outcome.status}: {outcome.message}", file=sys.stderr)
        return 1
    from .report import strict_json
    json.dump(strict_json(outcome.trace.to_dict()), sys.stdout, indent=1, allow_nan=False)
    sys.stdout.write("\n")
    return 0


def cmd_impls(args) -> int:
    from .metadata import read
    from .registry import MODES, discover
    for name, info in discover(modes=True).items():
        kind = "mode" if name in MODES else "default"
        if info.available:
            sup = "; ".join(f"{k}: {', '.join(v)}" for k, v in info.supports.items()) \
                or "every dtype, activation and loss"
            if callable(getattr(info.impl, "unsupported", None)):
                sup += "; declines some cases (run's unsup column, with the reason)"
            version, _, problem = read(info.impl)
            note = f" (but {problem})" if problem else ""
            print(f"{name:<26} {kind:<8} {version:<22} available   supports {sup}{note}")
        else:
            print(f"{name:<26} {kind:<8} {'':<22} unavailable ({info.reason})")
    return 0


def cmd_cases(args) -> int:
    from .suite import default_suite, default_suite_docs
    specs = default_suite(args.dtype, args.cases)
    if args.export:
        keep = {s.name for s in specs}
        docs = [d for d in default_suite_docs() if d["name"] in keep]
        try:
            args.export.write_text(json.dumps(docs, indent=1))
        except OSError as exc:
            raise HarnessError(f"cannot write {args.export}: {exc.strerror}") from None
        print(f"wrote {count(len(docs), 'case')} to {args.export}")
        return 0
    for s in specs:
        acts = ",".join(dict.fromkeys(layer.activation for layer in s.layers))
        print(f"{s.name:<40} {s.arch:<14} {acts:<18} {s.loss:<22} {s.reduction:<4} "
              f"batch {s.batch:<3} steps {s.steps:<3} {s.description}")
    return 0


def cmd_audit(args) -> int:
    from impls.reference import ACTIVATIONS, LOSSES

    from .audit import run_audit, write_audit
    from .registry import ORACLES, discover, get
    from .report import default_out_dir
    if args.impl:
        for name in args.impl:
            if not get(name).available:
                raise HarnessError(f"implementation {name!r} is unavailable: {get(name).reason}")
        impls = args.impl
    else:
        impls = [n for n, i in discover().items()
                 if i.available and n not in ORACLES and n != "reference"]
    functions = args.function or list(ACTIVATIONS + LOSSES)
    unknown = [f for f in functions if f not in ACTIVATIONS + LOSSES]
    if unknown:
        raise HarnessError(f"--function: unknown name {unknown[0]!r} (known: "
                           f"{', '.join(ACTIVATIONS + LOSSES)})")
    audit = run_audit(impls, (args.dtype,) if args.dtype else ALL_DTYPES,
                      [f for f in functions if f in ACTIVATIONS],
                      [f for f in functions if f in LOSSES])
    out = write_audit(audit, args.out or default_out_dir(kind="audit"))
    print(f"{count(len(audit.points), 'measurement')} of {', '.join(audit.implementations)} "
          f"against exact in {audit.seconds:.1f} s; "
          f"{count(len(audit.findings), 'shared inaccuracy')}, {len(audit.alone)} of one "
          f"implementation alone")
    for f in audit.findings:
        worst = ", ".join(f"{k} {v:.2g}" for k, v in f["max_rel"].items())
        accurate = "" if f["accurate_form_max_rel"] is None else \
            f"; accurate form {f['accurate_form_max_rel']:.2g}"
        print(f"SHARED {f['function']} {f['quantity']} ({f['dtype']}) x in [{f['from']:g}, "
              f"{f['to']:g}]: worst relative error {worst}{accurate}")
    for f in audit.alone:
        print(f"ALONE {f['impl']} {f['function']} {f['quantity']} ({f['dtype']}) x in "
              f"[{f['from']:g}, {f['to']:g}]: worst relative error {f['max_rel']:.2g}")
    print(f"report: {out / 'audit.md'}")
    return 0


def cmd_coverage(args) -> int:
    from .coverage import run_coverage
    from .detect import run_detect
    from .report import default_out_dir
    out = args.out or default_out_dir(kind="coverage")
    return (run_detect if args.detect else run_coverage)(
        _load_specs(args.specs, pattern=args.cases), out)


def cmd_fuzz(args) -> int:
    from .fuzz import run_fuzz
    return run_fuzz(args)


COMMANDS = {"run": cmd_run, "trace": cmd_trace, "impls": cmd_impls, "cases": cmd_cases,
            "fuzz": cmd_fuzz, "audit": cmd_audit, "coverage": cmd_coverage}
