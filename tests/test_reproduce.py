"""Reproducers to file upstream: scripts that need only their framework, and an issue draft."""

import ast
import json
import subprocess
import sys

import mpmath
import pytest

from conftest import needs
from harness.conformance import run_suite
from harness.reproduce import reproducers
from harness.suite import default_suite

pytestmark = needs("exact")
PROJECT = ("harness", "impls", "bh_einsum", "planted")


def _imports(source: str) -> set:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module.split(".")[0])
    return names


def _run(tmp_path, name: str, text: str) -> subprocess.CompletedProcess:
    """A fresh interpreter in an empty directory, isolated from this project (-I)."""
    path = tmp_path / name
    path.write_text(text)
    return subprocess.run([sys.executable, "-I", str(path)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
@needs("jax")
def test_the_jax_elu_script_exits_1_with_the_installed_jax(tmp_path):
    spec = default_suite(pattern="regions-elu-float64")[0]
    run = run_suite([spec], ["jax", "exact"])
    verdict = next(r for r in run.results if r.impl == "jax")
    files = reproducers(spec, verdict)
    # the same cause met in two bands, d = -37.4 and d = -100: each its smallest spec
    assert set(files) == {"reproduce_jax.py", "ISSUE.md", "smallest.json", "smallest-2.json"}
    assert json.loads(files["smallest-2.json"])["inputs"][0][0] <= -100
    assert _imports(files["reproduce_jax.py"]) <= {"sys", "contextlib", "jax", "numpy"}
    smallest = json.loads(files["smallest.json"])  # one neuron at jax's own d, far below 0
    assert smallest["layers"][0]["weights"] == [[1.0]] and smallest["inputs"][0][0] < -30
    out = _run(tmp_path, "reproduce_jax.py", files["reproduce_jax.py"])
    assert out.returncode == 1, out.stderr
    assert "jax 0." in out.stdout and "exact (60 digits" in out.stdout and "relative 1" in out.stdout
    issue = files["ISSUE.md"]
    d = smallest["inputs"][0][0]
    with mpmath.workdps(40):
        exact = mpmath.nstr(mpmath.exp(mpmath.mpf(d)), 20)  # elu'(d) = e^d below 0
    assert issue.startswith(f"# jax: elu's t at d = {d:.17g}: 0 (jax), exact {exact}")
    assert "jax wrong" in issue and "39795" in issue and "jax: elu's t, float64" in issue


@pytest.mark.slow
@needs("jax")
def test_the_jax_script_exits_0_where_jax_agrees(tmp_path, plugins):
    """A planted baseline is wrong; jax agrees with exact, so its script passes."""
    spec = default_suite(pattern="seed-2-2-2-float64")[0]
    run = run_suite([spec], ["jax", "exact"], baseline="bug-sign")
    verdict = next(r for r in run.results if r.impl == "jax")
    assert verdict.status == "fail" and verdict.blame == "a-wrong"
    files = reproducers(spec, verdict)
    out = _run(tmp_path, "reproduce_jax.py", files["reproduce_jax.py"])
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.slow
@needs("torch")
@pytest.mark.parametrize("case", ["loss-softmax_cross_entropy-mean-float32",
                                  "loss-binary_cross_entropy-sum-float64"])
def test_the_torch_script_reproduces_the_adapters_numbers(tmp_path, plugins, case):
    """Against a planted baseline, torch's script computes the adapter's value bit for bit."""
    spec = default_suite(pattern=case)[0]
    run = run_suite([spec], ["torch", "exact"], baseline="bug-lr")
    verdict = next(r for r in run.results if r.impl == "torch")
    files = reproducers(spec, verdict)
    assert _imports(files["reproduce_torch.py"]) <= {"sys", "torch", "numpy"}
    out = _run(tmp_path, "reproduce_torch.py", files["reproduce_torch.py"])
    assert f"= {verdict.origin.worst_value!r}" in out.stdout or \
        f"= {float(repr(verdict.origin.worst_value))!r}" in out.stdout, out.stdout + out.stderr


@pytest.mark.slow
@needs("torch", "jax")
def test_a_mode_gets_a_script_that_runs_that_mode(tmp_path):
    """torch-compile's elu near 0 (pytorch#189803) and jax-eager's elu far below it: each
    script runs the mode (Inductor, op by op) and exits 1 with the installed versions."""
    spec = default_suite(pattern="regions-elu-float32")[0]
    run = run_suite([spec], ["torch-compile", "jax-eager", "exact"])
    for verdict in (r for r in run.results if r.impl != "exact"):
        files = reproducers(spec, verdict)
        name = f"reproduce_{verdict.impl}.py"
        assert f'MODE = {"compile" if "torch" in verdict.impl else "eager"!r}' in files[name]
        out = _run(tmp_path, name, files[name])
        assert out.returncode == 1, out.stdout + out.stderr
        assert files["ISSUE.md"].startswith(f"# {verdict.impl}: ")


def test_a_hostile_implementation_name_never_executes_in_a_rerun_command(tmp_path):
    """Every word of a generated command is quoted: the name is an argument, not code."""
    from harness.reproduce import rerun_command
    pwned = tmp_path / "pwned"
    name = f"h-$(touch${{IFS}}{pwned})"
    script = tmp_path / "reproduce.sh"
    (tmp_path / "case.json").write_text(json.dumps(default_suite(pattern="seed-2-2-2-float64")[0]
                                                   .to_dict()))
    script.write_text("#!/bin/sh\n" + rerun_command(tmp_path / "case.json", name, "reference",
                                                    {"forward": {"rtol": 1e-3}}) + "\n")
    out = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)
    assert not pwned.exists()
    assert out.returncode == 2 and "h-$(touch${IFS}" in out.stderr  # an unknown name, verbatim


@pytest.mark.slow
def test_the_rerun_command_works_from_a_folder_that_shadows_a_plugin(tmp_path, plugins):
    """A folder holding a package named like a plugin's module (planted) is the current
    directory: the command still loads the real plugin (not `python -m` with cwd first)."""
    from harness.reproduce import rerun_command
    (tmp_path / "planted").mkdir()
    (tmp_path / "planted" / "__init__.py").write_text("raise ImportError('shadowed')\n")
    spec = tmp_path / "case.json"
    spec.write_text(json.dumps(default_suite(pattern="seed-2-2-2-float64")[0].to_dict()))
    cmd = rerun_command(spec, "bug-sign", "reference", None, True,
                        ["--out", str(tmp_path / "r")])
    out = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)
    assert out.returncode == 1 and "FAIL seed-2-2-2-float64 bug-sign" in out.stdout, out.stderr
