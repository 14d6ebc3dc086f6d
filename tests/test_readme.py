"""The README's examples work as written: each Python block runs, and each command of its
shell blocks has a check here (the expensive ones marked slow), which runs it from a scratch
directory in this environment and looks at what it printed."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import needs
from harness.cli import build_parser

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)
COMMANDS = [line.split("#")[0].strip()
            for block in re.findall(r"```sh\n(.*?)```", README, flags=re.S)
            for line in block.splitlines() if line.split("#")[0].strip()]

# an example that names an implementation (impls=["torch"]) needs it installed
IMPLS = ("torch", "jax", "exact", "numeric", "einsum")


@pytest.mark.parametrize("code", [
    pytest.param(code, marks=needs(*[n for n in IMPLS if f'"{n}"' in code]), id=f"block{i}")
    for i, code in enumerate(BLOCKS)])
def test_python_examples_run(code):
    exec(compile(code, "README.md", "exec"), {})


def test_every_documented_subcommand_exists():
    documented = set(re.findall(r"^backprop-harness (\w+)", README, flags=re.M))
    parser = build_parser()
    choices = next(a for a in parser._actions if a.dest == "command").choices
    assert documented and documented <= set(choices)


def shell(command: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """The command as a reader types it, in this environment (its python and
    backprop-harness first on PATH), from `cwd`, where examples/ is linked in."""
    if not (cwd / "examples").exists():
        (cwd / "examples").symlink_to(ROOT / "examples")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "VENV": sys.prefix}
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def check_run_sh(tmp_path):
    """scripts/setup.sh, then `backprop-harness run` with the arguments given (one case here;
    the whole suite is `backprop-harness run`'s check)."""
    out = shell(f"bash {ROOT}/scripts/run.sh --cases seed-2-2-2-float64 --impl torch "
                f"--out {tmp_path}/r", tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "setup: done: torch 2.13.0" in out.stdout and "PASS: 1 passed" in out.stdout


def check_test_sh(tmp_path):
    """The whole test suite: what CI runs (.ci/run), so CI is this command's check."""
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def check_activate(tmp_path):
    assert (Path(sys.prefix) / "bin" / "activate").is_file()


def check_run(tmp_path):
    """The whole default suite, every dtype, through every correct built-in: all pass."""
    out = shell("backprop-harness run", tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"^PASS: \d+ passed, 0 failed, 0 errors", out.stdout, flags=re.M)
    report, = (tmp_path / "reports").glob("run-*")
    assert (report / "report.html").is_file()
    doc = json.loads((report / "run.json").read_text())
    assert {"torch", "jax", "numeric", "exact"} <= set(doc["implementations"])
    assert {c["dtype"] for c in doc["cases"]} == {"float64", "float32", "bfloat16", "float16"}
    assert {c["status"] for c in doc["cases"]} <= {"pass", "xfail", "unsupported"}


def check_own_network(tmp_path):
    out = shell("backprop-harness cases --cases seed-2-2-2-float64 --export my-net.json",
                tmp_path)
    assert out.returncode == 0 and out.stdout == "wrote 1 case to my-net.json\n", out.stderr
    out = shell("backprop-harness run my-net.json --impl torch jax", tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "PASS: 2 passed, 0 failed" in out.stdout


def check_pytest_einsum(tmp_path):
    out = shell("python -m pytest --bp-impl einsum", tmp_path)
    assert out.returncode == 0, out.stdout[-3000:]
    assert re.search(r"\d+ passed.* \d+ xfailed", out.stdout)


def check_known(tmp_path):
    """jax's elu tail, a known deviation by root-cause signature: exit 0, jax#39795 cited,
    the why at one neuron."""
    out = shell("backprop-harness run examples/jax-elu-tail.json --impl jax", tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "XFAIL jax-elu-tail jax: known deviation: jax.nn.elu's derivative cancels far " \
           "below zero (expm1(d) + 1) [https://github.com/jax-ml/jax/issues/39795" in out.stdout
    assert "[why: elu's t at d = -40: 0 (jax), exact 4.2483542552915889953e-18" in out.stdout
    assert "PASS: 0 passed, 0 failed, 0 errors, 0 not supported, 1 known deviation" \
        in out.stdout


def check_failure(tmp_path):
    """The same under --runxfail: exit 1, jax's v at the neuron with d = -40, jax to blame,
    the root cause, and the reproducer script, smallest spec and ISSUE.md in the report."""
    out = shell("backprop-harness run examples/jax-elu-tail.json --impl jax --runxfail",
                tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FAIL jax-elu-tail jax: step 0 v[layer 0][sample 0, neuron 3] = 0.0 (jax)" \
        in out.stdout
    assert "[blame: b-wrong, jax wrong" in out.stdout
    assert "[why: elu's t at d = -40: 0 (jax)" in out.stdout
    assert "FAIL: 0 passed, 1 failed" in out.stdout
    folder, = (tmp_path / "reports").glob("run-*/failing/jax-elu-tail-jax-vs-reference")
    assert {"reproduce.py", "smallest.json", "ISSUE.md"} <= {f.name for f in
                                                                 folder.iterdir()}


def check_torch_against_jax(tmp_path):
    """jax against torch, directly and pairwise, on the seed cases and the one where they
    differ (the README's commands run the whole suite): torch's binary cross-entropy clamp is
    jax's failure with torch named wrong by the oracle; summary.md names the pair."""
    cases = " --cases 'seed-*,regions-binary_cross_entropy-float64'"
    for command, pair in (("backprop-harness run --impl jax --baseline torch", "jax"),
                          ("backprop-harness run --impl torch jax --pairwise", "jax vs torch")):
        out = shell(command + cases + f" --out {tmp_path / 'r'} --force", tmp_path)
        assert out.returncode == 1, out.stdout + out.stderr
        assert re.search(rf"^FAIL regions-binary_cross_entropy-float64 {pair}: .* \(torch\): "
                         r".*\[blame: a-wrong, torch wrong", out.stdout, flags=re.M), out.stdout
        assert re.search(rf"^{pair} +\d+ +1 +0 ", out.stdout, flags=re.M), out.stdout  # a row
        assert re.search(r"^FAIL: \d+ passed, 1 failed, 0 errors", out.stdout, flags=re.M)
        summary = (tmp_path / "r" / "summary.md").read_text()
        assert "### regions-binary_cross_entropy-float64: jax vs torch (FAIL)" in summary
        assert re.search(rf"[.;] {pair}: 1 FAIL, \d+ agree\.$", summary, flags=re.M), summary


# every command in the README's shell blocks: its check, and what it needs
CHECKS = {
    "bash scripts/run.sh": (check_run_sh, [pytest.mark.slow, needs("torch")]),
    "bash scripts/test.sh": (check_test_sh, []),
    "source .venv/bin/activate": (check_activate, []),
    "backprop-harness run --impl jax --baseline torch":
        (check_torch_against_jax, [pytest.mark.slow, needs("torch", "jax")]),
    "backprop-harness run --impl torch jax --pairwise":
        (check_torch_against_jax, [pytest.mark.slow, needs("torch", "jax")]),
    "backprop-harness run": (check_run, [pytest.mark.slow]),
    "backprop-harness cases --cases seed-2-2-2-float64 --export my-net.json":
        (check_own_network, [pytest.mark.slow, needs("torch", "jax")]),
    "backprop-harness run my-net.json --impl torch jax":
        (check_own_network, [pytest.mark.slow, needs("torch", "jax")]),
    "python -m pytest --bp-impl einsum": (check_pytest_einsum, [pytest.mark.slow,
                                                                needs("einsum")]),
    "backprop-harness run examples/jax-elu-tail.json --impl jax":
        (check_known, [pytest.mark.slow, needs("jax")]),
    "backprop-harness run examples/jax-elu-tail.json --impl jax --runxfail":
        (check_failure, [pytest.mark.slow, needs("jax")]),
}


def test_every_readme_command_has_a_check():
    assert COMMANDS and set(COMMANDS) == set(CHECKS)


@pytest.mark.parametrize("command", [
    pytest.param(c, marks=marks, id=c) for c, (check, marks) in CHECKS.items()
    if c not in ("backprop-harness run my-net.json --impl torch jax",  # with its export
                 "backprop-harness run --impl torch jax --pairwise")])  # with --baseline torch
def test_readme_command_works(command, tmp_path):
    CHECKS[command][0](tmp_path)
