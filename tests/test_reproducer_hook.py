"""A third-party adapter's reproducer() hook (docs/adapters.md) behind the wall and in process
(--in-process): its lines make reproduce.py and ISSUE.md; a hook that hangs, exits or answers
garbage is one line, and the report is still written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import needs, register
from harness import registry
from harness.cli import main
from harness.wall import hook

pytestmark = [needs("exact"), pytest.mark.slow]
CASE = "regions-elu-float64"
ENTRY_POINTS = {"hook-elu": "hooked:Hooked", "hook-hangs": "hooked:HookHangs",
                "hook-exits": "hooked:HookExits", "hook-garbage": "hooked:HookGarbage"}


@pytest.fixture
def hooked(tmp_path, monkeypatch):
    yield from register(tmp_path, monkeypatch, ENTRY_POINTS)
    registry.set_wall(True)  # after an --in-process run


def _run(tmp_path, names, wall: bool) -> int:
    return main(["run", "--impl", *names, "--cases", CASE, "--out", str(tmp_path / "r"),
                 *([] if wall else ["--in-process"])])


def _folder(tmp_path, name):
    return tmp_path / "r" / "failing" / f"{CASE}-{name}-vs-reference"


@pytest.mark.parametrize("wall", [True, False], ids=["walled", "in-process"])
def test_the_hooks_lines_make_reproduce_py_and_issue_md(hooked, tmp_path, wall):
    """Called in the adapter's worker (another process) behind the wall, here with
    --in-process; the script exits 1 while the adapter's elu is wrong there."""
    assert _run(tmp_path, ["hook-elu"], wall) == 1
    folder = _folder(tmp_path, "hook-elu")
    code = (folder / "reproduce.py").read_text()
    assert "return float(np.exp(d) - 1)  # the adapter's elu" in code
    pid = int(code.split("# written by process ")[1].split()[0])
    assert (pid != os.getpid()) is wall
    issue = (folder / "ISSUE.md").read_text()
    assert issue.startswith("# `planted.elu`") and code.rstrip("\n") in issue
    done = subprocess.run([sys.executable, "-I", "reproduce.py"], cwd=folder,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr


@pytest.mark.parametrize("wall", [True, False], ids=["walled", "in-process"])
def test_a_hook_that_hangs_exits_or_answers_garbage_is_one_line(hooked, tmp_path, wall,
                                                                 monkeypatch, capsys):
    monkeypatch.setattr(hook, "TIMEOUT", 1.0)
    names = ["hook-hangs", "hook-exits", "hook-garbage"]
    start = time.monotonic()
    assert _run(tmp_path, names, wall) == 1
    assert time.monotonic() - start < 120
    said = {"hook-hangs": "timed out after 1 s", "hook-exits": "called os._exit(0)",
            "hook-garbage": "returned dict, not lines (a str, or (api, str))"}
    err = [ln for ln in capsys.readouterr().err.splitlines() if "hook" in ln]
    assert len(err) == len(set(err)) and {ln.split(":")[2].strip() for ln in err} == set(names)
    doc = json.loads((tmp_path / "r" / "run.json").read_text())
    assert {c["impl"]: c["status"] for c in doc["cases"]} == dict.fromkeys(names, "fail")
    for name, why in said.items():
        line = f"{name}: its reproducer() hook gave no lines: {why}"
        assert any(ln.startswith(f"backprop-harness: warning: {line}") for ln in err), err
        code = (_folder(tmp_path, name) / "reproduce.py").read_text()
        assert f"# (its reproducer() hook gave no lines: {why}" in code
        assert "raise NotImplementedError" in code
