"""Write the documentation's sample outputs, docs/samples/*, from real runs.

    .venv/bin/python scripts/docs_samples.py [--only NAME ...] [--screenshot]

Each sample is one command run from the repository root with this Python's environment; its
file holds the command line and what it printed, with the checkout's path shortened to "."
(nothing else is edited). The docs include them with pymdownx.snippets, so a page shows what
the code prints today. --screenshot also photographs the two reports' report.html into docs/img/
with headless Chromium. Run it after a change to what a command prints;
tests/test_docs.py checks that the cheap samples are current.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "docs" / "samples"
FAILURE = "reports/docs-failure"  # jax's elu tail under --runxfail: the failure it is
KNOWN = "reports/docs-known"  # the same without: a known deviation of jax's ledger
HARNESS = [sys.executable, "-m", "harness"]
ENV = {**os.environ, "COLUMNS": "100"}  # argparse wraps --help to the terminal's width

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
                   [sys.executable,
                    f"{FAILURE}/failing/jax-elu-tail-jax-vs-reference/reproduce.py"]),
    "cases": ("backprop-harness cases", HARNESS + ["cases"]),
    "impls": ("backprop-harness impls", HARNESS + ["impls"]),
    "help": ("backprop-harness --help", HARNESS + ["--help"]),
    "help-run": ("backprop-harness run --help", HARNESS + ["run", "--help"]),
    "coverage": ("backprop-harness coverage",
                 HARNESS + ["coverage", "--out", "reports/docs-coverage"]),
    "pytest-einsum": ("python -m pytest --bp-impl einsum -q -rxX",
                      [sys.executable, "-m", "pytest", "--bp-impl", "einsum", "-q", "-rxX",
                       "-p", "no:cacheprovider", "-n0"]),  # this checkout's addopts: -n auto
}


def shorten(text: str) -> str:
    """The checkout's absolute path as ".", so a sample reads the same from any checkout."""
    return text.replace(str(ROOT) + "/", "").replace(str(ROOT), ".")


def run(name: str) -> str:
    """Run one sample's command and write docs/samples/<name>.txt; returns its output."""
    shown, argv = COMMANDS[name]
    out = subprocess.run(argv, cwd=ROOT, env=ENV, capture_output=True, text=True)
    text = shorten(out.stdout + out.stderr)
    if name == "pytest-einsum":  # pytest's progress dots: one line per 80 tests
        text = re.sub(r"^[.xXsF]+\s+\[\s*\d+%\]\n", "", text, flags=re.M)
    (SAMPLES / f"{name}.txt").write_text(f"$ {shown}\n{text}")
    print(f"{name}: exit {out.returncode}, {len(text.splitlines())} lines")
    return text


def failure_files() -> None:
    """The failure's report files the docs show: summary.md, ISSUE.md, reproduce.sh."""
    report = ROOT / FAILURE
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
        f"{date.today()}, {platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {', '.join(found)}\n")


SHOTS = {"reports/docs-run": "report.png", FAILURE: "failure-report.png"}


def screenshot() -> None:
    """docs/img/report.png (the default run's report.html) and failure-report.png (the
    failure's), each as headless Chromium shows it in a 1400 x 1000 window."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("docs_samples: no chromium on PATH (apt-get install chromium)")
    for report, image in SHOTS.items():
        page = ROOT / report / "report.html"
        if not page.exists():
            sys.exit(f"docs_samples: {page} is missing; run the samples first")
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                            "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                            "--hide-scrollbars", "--window-size=1400,1000",
                            f"--screenshot={ROOT / 'docs' / 'img' / image}", page.as_uri()],
                           check=True, capture_output=True)
        print(f"screenshot: docs/img/{image}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(COMMANDS), metavar="NAME",
                        help=f"only these samples ({', '.join(COMMANDS)})")
    parser.add_argument("--screenshot", action="store_true",
                        help="also the screenshots in docs/img/ (needs chromium)")
    args = parser.parse_args()
    SAMPLES.mkdir(parents=True, exist_ok=True)
    for name in args.only or COMMANDS:
        run(name)
        if name == "failure":
            failure_files()
    machine()
    if args.screenshot:
        screenshot()


if __name__ == "__main__":
    main()
