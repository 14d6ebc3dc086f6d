"""Write the documentation's sample outputs, docs/samples/*, from real runs.

    .venv/bin/python scripts/docs_samples.py [--only NAME ...] [--screenshot]

Each sample is one command run with this Python's environment and this checkout's code, from a
neutral folder (DEMO, /tmp/backprop-harness-demo: the reports are written under its reports/,
and its .venv links to this environment), so that neither a sample nor a report shows where the
checkout or the environment lie. A sample's file holds the command line and what it printed,
with DEMO/, the checkout's path and the home folder shortened to "", "." and "~" (nothing else
is edited). The docs include them with pymdownx.snippets, so a page shows what the code prints
today. --screenshot also photographs the two reports' report.html into docs/img/ with headless
Chromium (screenshots.py). Run it after a change to what a command prints; tests/test_docs.py
checks that the cheap samples are current.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "docs" / "samples"
DEMO = Path(tempfile.gettempdir()) / "backprop-harness-demo"
PYTHON = str(DEMO / ".venv" / "bin" / "python")  # this environment, by the demo's link
FAILURE = "reports/docs-failure"  # jax's elu tail under --runxfail: the failure it is
KNOWN = "reports/docs-known"  # the same without: a known deviation of jax's ledger
HARNESS = [PYTHON, "-m", "harness"]
# argparse wraps --help to the terminal's width; this checkout's code first on the path
ENV = {**os.environ, "COLUMNS": "100",
       "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}

# name: (the command as a reader types it, the argv that runs it)
COMMANDS = {
    "run": ("backprop-harness run", HARNESS + ["run", "--out", "reports/docs-run", "--force"]),
    "known": ("backprop-harness run examples/jax-elu-tail.json --impl jax",
              HARNESS + ["run", "examples/jax-elu-tail.json", "--impl", "jax", "--out", KNOWN,
                         "--force"]),
    "failure": ("backprop-harness run examples/jax-elu-tail.json --impl jax --runxfail",
                HARNESS + ["run", "examples/jax-elu-tail.json", "--impl", "jax", "--runxfail",
                           "--out", FAILURE, "--force"]),
    "reproducer": (f"python {FAILURE}/failing/jax-elu-tail-jax-vs-reference/reproduce.py",
                   [PYTHON, f"{FAILURE}/failing/jax-elu-tail-jax-vs-reference/reproduce.py"]),
    "cases": ("backprop-harness cases", HARNESS + ["cases"]),
    "impls": ("backprop-harness impls", HARNESS + ["impls"]),
    "help": ("backprop-harness --help", HARNESS + ["--help"]),
    "help-run": ("backprop-harness run --help", HARNESS + ["run", "--help"]),
    "help-fuzz": ("backprop-harness fuzz --help", HARNESS + ["fuzz", "--help"]),
    "coverage": ("backprop-harness coverage",
                 HARNESS + ["coverage", "--out", "reports/docs-coverage"]),
    "pytest-einsum": ("python -m pytest --bp-impl einsum -q -rxX",
                      [PYTHON, "-m", "pytest", "--bp-impl", "einsum", "-q", "-rxX",
                       "-p", "no:cacheprovider", "-n0"]),  # this checkout's addopts: -n auto
}
IN_CHECKOUT = {"pytest-einsum"}  # run from the checkout (its pytest settings), not DEMO


def shorten(text: str) -> str:
    """DEMO/ as "" (its reports read reports/..., its environment .venv/...), the checkout's
    path as "." and the home folder as "~", so that a sample reads the same from any machine."""
    for path, short in ((DEMO, ""), (ROOT, "."), (Path.home(), "~")):
        text = text.replace(f"{path}/", f"{short}/" if short else "").replace(str(path), short)
    return text


def demo() -> None:
    """DEMO with examples/ and .venv linked to the checkout's and this environment's."""
    DEMO.mkdir(exist_ok=True)
    for link, target in (("examples", ROOT / "examples"), (".venv", Path(sys.prefix))):
        if (DEMO / link).is_symlink():
            (DEMO / link).unlink()
        (DEMO / link).symlink_to(target)


def run(name: str) -> str:
    """Run one sample's command and write docs/samples/<name>.txt; returns its output."""
    shown, argv = COMMANDS[name]
    out = subprocess.run(argv, cwd=ROOT if name in IN_CHECKOUT else DEMO, env=ENV,
                         capture_output=True, text=True)
    text = shorten(out.stdout + out.stderr)
    if name == "pytest-einsum":  # pytest's progress dots: one line per 80 tests
        text = re.sub(r"^[.xXsF]+\s+\[\s*\d+%\]\n", "", text, flags=re.M)
    (SAMPLES / f"{name}.txt").write_text(f"$ {shown}\n{text}")
    print(f"{name}: exit {out.returncode}, {len(text.splitlines())} lines")
    return text


def failure_files() -> None:
    """The failure's report files the docs show: summary.md, ISSUE.md, reproduce.sh."""
    report = DEMO / FAILURE
    for src, dst in (("summary.md", "failure-summary.md"),
                     ("failing/jax-elu-tail-jax-vs-reference/ISSUE.md", "failure-issue.md"),
                     ("failing/reproduce.sh", "failure-reproduce.sh")):
        (SAMPLES / dst).write_text(shorten((report / src).read_text()))


def machine() -> None:
    """Where and when the samples were made."""
    from importlib.metadata import PackageNotFoundError, version
    found = []
    for package in ("numpy", "torch", "jax", "mpmath", "autograd", "mygrad"):
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:  # the outside frameworks are optional
            pass
    (SAMPLES / "machine.txt").write_text(
        f"{date.today()}, {platform.system()} {platform.machine()}, {os.cpu_count()} cores "
        f"(load average {os.getloadavg()[1]:.1f} over the last 5 minutes: the seconds in the "
        f"samples count it), Python {platform.python_version()}, {', '.join(found)}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(COMMANDS), metavar="NAME",
                        help=f"only these samples ({', '.join(COMMANDS)})")
    parser.add_argument("--screenshot", action="store_true",
                        help="also the screenshots in docs/img/ (needs chromium)")
    args = parser.parse_args()
    SAMPLES.mkdir(parents=True, exist_ok=True)
    demo()
    for name in args.only or COMMANDS:
        run(name)
        if name == "failure":
            failure_files()
    machine()
    if args.screenshot:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "screenshots.py")], check=True)


if __name__ == "__main__":
    main()
