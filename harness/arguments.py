"""The command line's options: every subcommand's parser, its types and its help's format."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import __version__
from .errors import HarnessError
from .ledger_suggest import add_ledger_parser
from .local_impls import add_impl_options
from .spec import ALL_DTYPES

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
_memory = _number(float, lambda v: 0 <= v <= 2**20, "a number of GiB from 0 to 1048576")


_FULL = ("also the full matrix of output activations and losses: a pair-* case per pair the "
         "default suite holds only through its range class")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Check that implementations of backpropagation agree.",
                formatter_class=_Help)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser = _with_defaults(sub.add_parser)

    run = sub.add_parser("run", help="run specs or the default suite through implementations")
    run.add_argument("specs", nargs="*", metavar="SPEC_OR_SUITE",
                     help="spec or suite JSON files (default: the built-in suite)")
    add_impl_options(run)
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
    run.add_argument("--full", action="store_true", help=_FULL)
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
                     help="worker processes per implementation behind the wall, each "
                          "tracing its share of the cases")
    run.add_argument("--timeout", type=_timeout, metavar="SECONDS",
                     help="per case and implementation (default 300)")
    for phase in ("forward", "backward"):
        for kind in ("rtol", "atol"):
            run.add_argument(f"--{kind}-{phase}", type=_tolerance_value, metavar="X",
                             help=f"override {kind} of the {phase} (and update) tolerance")

    _wall_options(run)

    tr = sub.add_parser("trace", help="print one implementation's trace JSON for a spec")
    tr.add_argument("spec", metavar="SPEC", help="a spec or suite JSON file")
    tr.add_argument("--impl", default="reference", metavar="NAME")
    tr.add_argument("--case", metavar="NAME", help="the case to trace when SPEC is a suite")
    tr.add_argument("--timeout", type=_timeout, metavar="SECONDS",
                    help="bound of the trace (default 300)")
    _wall_options(tr)

    im = sub.add_parser("impls", help="list implementations, versions, availability, support")
    im.add_argument("--impl", nargs="+", action="extend", metavar="NAME",
                    help="only these (default: every registered one)")
    _wall_options(im)

    cs = sub.add_parser("cases", help="list the default suite's cases")
    cs.add_argument("--cases", metavar="GLOB", help="only cases whose names match (a,b,...)")
    cs.add_argument("--dtype", choices=ALL_DTYPES, help="only this dtype")
    cs.add_argument("--export", type=Path, metavar="FILE", help="write them as a suite file")
    cs.add_argument("--full", action="store_true", help=_FULL)

    from .fuzz import add_fuzz_parser
    add_fuzz_parser(sub)
    add_ledger_parser(sub)

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
    au.add_argument("--timeout", type=_timeout, metavar="SECONDS",
                    help="bound of each trace, as run's (default 300)")
    _wall_options(au)

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
    cv.add_argument("--full", action="store_true", help=_FULL + " (with --detect, a cell per "
                    "pair as well)")
    return p


IN_PROCESS_NOTE = ("traced in the run's own process (--in-process): an adapter can end, hang "
                   "or forge this run; the wall's guarantees do not hold")


def _wall_options(p) -> None:
    """--in-process and --worker-memory: how adapters run (harness/wall, docs/isolation.md)."""
    p.add_argument("--in-process", action="store_true",
                   help="load and trace every adapter in this process, for a debugger: an "
                        "adapter can then end, hang or forge the run (no wall: none of the "
                        "guarantees of docs/isolation.md hold)")
    p.add_argument("--worker-memory", type=_memory, default=8.0, metavar="GIB",
                   help="address space of each worker process, in GiB (0: no limit)")


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
