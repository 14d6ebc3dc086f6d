"""backprop-harness: run | trace | impls | cases | fuzz | audit | coverage.

Exit codes: 0 all conform; 1 a comparison is out of tolerance or an implementation failed;
2 bad usage or bad input (one line on stderr, no traceback); 130 interrupted.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from . import readable_json
from .arguments import IN_PROCESS_NOTE, PROG, build_parser
from .errors import HarnessError
from .ledger_suggest import cmd_ledger
from .local_impls import is_spec_file
from .spec import ALL_DTYPES
from .words import count


def entry() -> None:
    """The console script (and `python -m harness`): main(), then exit without the
    interpreter's teardown, which spends ~1 s unloading torch and jax when nothing is left to
    do: by then every report is written and closed and every worker process, thread pool and
    cluster is shut down (JAX writes its compilation cache as it compiles)."""
    code = main()
    from .registry import forget
    forget()  # every worker stopped
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said there
            pass
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    """The command's exit code, decided here from what it wrote: 0 only after a PASS (or a
    listing) was written; an adapter never decides it."""
    try:
        args = build_parser().parse_args(argv)
        if args.command == "run" and args.impl:  # `run --impl torch net.json`: net.json is a spec
            files = [n for n in args.impl if is_spec_file(n)]
            args.impl = [n for n in args.impl if n not in files] or None
            args.specs += files
        _set_wall(args)
        try:
            return COMMANDS[args.command](args)
        except SystemExit as exc:  # only code in this process (--in-process) gets here
            print(f"{PROG}: error: sys.exit({exc.code!r}) was called in the run's process; "
                  f"no verdict is trusted", file=sys.stderr)
            return 1
    except HarnessError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _set_wall(args) -> None:
    """The wall as the options say: adapters in workers (the default) or here."""
    from . import registry
    from .wall import proxy
    if hasattr(args, "worker_memory"):
        proxy.MEMORY = int(args.worker_memory * 2**30)
    if getattr(args, "in_process", False):
        registry.set_wall(False)


def _load_specs(paths: list[str], dtype=None, pattern=None, seed=None, full=False):
    from .spec import load_specs
    from .suite import default_suite, select
    if not paths:
        return default_suite(dtype, pattern, seed=seed, full=full)
    specs = [s for p in paths for s in load_specs(p)]
    return select(specs, dtype, pattern)


def cmd_run(args) -> int:
    from .conformance import run_suite
    from .report import check_out_dir, default_out_dir, write_report
    from .runner import progress

    specs = _load_specs(args.specs, args.dtype, args.cases, args.seed, args.full)
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
    if args.in_process:
        run.notes.insert(0, IN_PROCESS_NOTE)
    out = write_report(run, out, force=args.force, full=args.full_json)
    _print_summary(run, out)
    from .waivers import exit_code
    return exit_code(run)


def _print_summary(run, out: Path) -> None:
    from .report.tables import side  # "jax vs torch" for a pairwise comparison
    counts = run.counts()
    rows = list(dict.fromkeys([*run.impl_seconds, *(side(r, run) for r in run.results)]))
    width = max([16] + [len(name) + 1 for name in rows])
    print(f"{'impl':<{width}} {'pass':>5} {'fail':>5} {'error':>5} {'unsup':>5} {'xfail':>5} "
          f"{'xpass':>5} {'seconds':>8}")
    for name in rows:
        c = {s: sum(r.status == s and side(r, run) == name for r in run.results) for s in counts}
        seconds = f"{run.impl_seconds[name]:>8.2f}" if name in run.impl_seconds else ""
        print(f"{name:<{width}} {c['pass']:>5} {c['fail']:>5} {c['error']:>5} "
              f"{c['unsupported']:>5} {c['xfail']:>5} {c['xpass']:>5} {seconds}".rstrip())
    bad = [r for r in run.results if not r.ok]
    for r in bad[:20]:
        blame = f" [blame: {r.blame}, {r.who}: {r.blame_reason}]" if r.blame else ""
        why = f" [why: {r.why}]" if r.why else ""
        print(f"{r.status.upper()} {r.case} {side(r, run)}: {r.message}{blame}{why}")
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
    outcome = run_one(args.impl, specs[0], args.timeout)
    if outcome.status != "ok":
        print(f"{PROG}: {args.impl} {outcome.status}: {outcome.message}", file=sys.stderr)
        return 1
    from .report import strict_json
    json.dump(strict_json(outcome.trace.to_dict()), sys.stdout, indent=1, allow_nan=False)
    sys.stdout.write("\n")
    return 0


def cmd_impls(args) -> int:
    from .metadata import read
    from .registry import MODES, discover, expand, listed
    infos = listed(expand(args.impl)) if args.impl else discover(modes=True, listing=True)
    for name, info in infos.items():
        kind = "mode" if name in MODES else "default"
        if info.available:
            sup = "; ".join(f"{k}: {', '.join(v)}" for k, v in info.supports.items()) \
                or "every dtype, activation and loss"
            if getattr(info.impl, "declines", False) or \
                    callable(getattr(info.impl, "unsupported", None)):
                sup += "; declines some cases (run's unsup column, with the reason)"
            version, _, problem = read(info.impl)
            note = f" (but {problem})" if problem else ""
            print(f"{name:<26} {kind:<8} {version:<22} available   supports {sup}{note}")
        else:
            print(f"{name:<26} {kind:<8} {'':<22} unavailable ({info.reason})")
    return 0


def cmd_cases(args) -> int:
    from .suite import default_suite, default_suite_docs
    specs = default_suite(args.dtype, args.cases, full=args.full)
    if args.export:
        keep = {s.name for s in specs}
        docs = [d for d in default_suite_docs(full=args.full) if d["name"] in keep]
        try:
            args.export.write_text(readable_json.dumps(docs) + "\n")
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
    from .registry import ORACLES, discover, get, preload
    from .report import default_out_dir
    if args.impl:
        preload(args.impl)
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
                      [f for f in functions if f in LOSSES], timeout=args.timeout)
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
    specs = _load_specs(args.specs, pattern=args.cases, full=args.full)
    return run_detect(specs, out, args.full) if args.detect else run_coverage(specs, out)


def cmd_fuzz(args) -> int:
    from .fuzz import run_fuzz
    return run_fuzz(args)


COMMANDS = {"run": cmd_run, "trace": cmd_trace, "impls": cmd_impls, "cases": cmd_cases,
            "fuzz": cmd_fuzz, "audit": cmd_audit, "coverage": cmd_coverage, "ledger": cmd_ledger}
