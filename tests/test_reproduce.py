"""Reproducers to file upstream: scripts that need only their framework, and an issue draft."""

import ast
import json
import re
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


def _report_files(spec, impls, **kw):
    run = run_suite([spec], [*impls, "exact"], **kw)
    return {r.impl: (r, reproducers(spec, r)) for r in run.results
            if r.status in ("fail", "xfail")}


@pytest.mark.slow
@needs("jax")
def test_the_jax_elu_reproducer_is_a_few_lines_of_jax_and_exits_1(tmp_path):
    """jax#39795 as a maintainer wants it: jax.grad of jax.nn.elu at the claimed input, the
    exact value e^d as a literal, exit 1; the title names the API and the symptom."""
    spec = default_suite(pattern="regions-elu-float64")[0]
    verdict, files = _report_files(spec, ["jax"])["jax"]
    # the same cause met in two bands, d = -37.4 and d = -100: each its smallest spec, and
    # one reproducer, both claims moving to the same least extreme input
    assert set(files) == {"reproduce.py", "ISSUE.md", "smallest.json", "smallest-2.json"}
    assert json.loads(files["smallest-2.json"])["inputs"][0][0] <= -100
    code = files["reproduce.py"]
    assert _imports(code) <= {"sys", "math", "jax", "numpy"}
    assert "jax.nn.elu(d)" in code and "jax.grad(" in code and len(code.splitlines()) < 45
    d = float(code.split("np.array([[")[1].split("]")[0])
    with mpmath.workdps(40):
        exact = mpmath.nstr(mpmath.exp(mpmath.mpf(d)), 20)  # elu'(d) = e^d below 0
    assert f"EXACT = {exact}" in code and -100 < d <= -37  # moderate, not d = -745
    out = _run(tmp_path, "reproduce.py", code)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "= 0.0; exact" in out.stdout
    issue = files["ISSUE.md"]
    assert issue.startswith(f"# `jax.nn.elu`'s derivative is 0 at d = {d:g} in float64 "
                            f"(exact {float(exact):.3g})")
    assert issue.index("```python") < issue.index("## Versions") < issue.index("<details>")
    assert issue.count("- jax ") == 1 and "- expected: " in issue and "39795" in issue
    assert "backprop-harness run smallest.json --impl jax --baseline exact" in issue


@pytest.mark.slow
@needs("jax")
def test_a_reproducer_exits_0_where_the_framework_is_right_and_2_where_it_cannot_run(tmp_path):
    """The same script with the exact value put in its place passes; with the framework's
    import failing (a folder that shadows it) it says it cannot run and exits 2."""
    spec = default_suite(pattern="regions-elu-float64")[0]
    _, files = _report_files(spec, ["jax"])["jax"]
    code = files["reproduce.py"]
    fixed = code.replace("return float(g.ravel()[0])", "return EXACT")
    assert _run(tmp_path, "fixed.py", fixed).returncode == 0
    (tmp_path / "jax").mkdir()
    (tmp_path / "jax" / "__init__.py").write_text("raise RuntimeError('no usable devices')\n")
    (tmp_path / "reproduce.py").write_text(code)
    out = subprocess.run([sys.executable, "reproduce.py"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)  # the script's folder first on the path
    assert out.returncode == 2 and "cannot run: RuntimeError: no usable devices" in out.stdout


@pytest.mark.slow
@needs("jax")
def test_a_claim_that_needs_its_upstream_gradient_says_so(tmp_path):
    """jax's silu derivative is NaN only under the case's huge incoming gradient (1e38 in
    float32): the claim keeps it, says so, and the script multiplies by it; the input moves
    from d = -1e20 to a round -1000."""
    spec = default_suite(pattern="overflow-silu-float32")[0]
    _, files = _report_files(spec, ["jax"])["jax"]
    issue, code = files["ISSUE.md"], files["reproduce.py"]
    assert issue.startswith("# `jax.nn.silu`'s derivative is NaN at d = -1000 in float32")
    assert "It shows with an upstream gradient of 9.99999968" in issue
    assert "* 9.999999680285692e+37" in code
    out = _run(tmp_path, "reproduce.py", code)
    assert out.returncode == 1 and "= nan;" in out.stdout, out.stdout + out.stderr


@pytest.mark.slow
@needs("torch", "autograd", "mygrad")
def test_each_built_in_gets_its_own_api_in_its_reproducer(tmp_path):
    """torch-compile's elu near 0 (pytorch#189803) runs Inductor; autograd's elu is named by
    the expm1 whose derivative cancels; mygrad's elu through mygrad.nnet.elu: each script
    exits 1 with the installed framework."""
    spec = default_suite(pattern="regions-elu-float32")[0]
    found = _report_files(spec, ["torch-compile", "autograd", "mygrad"])
    expect = {"torch-compile": ("torch.nn.functional.elu", "torch.compile("),
              "autograd": ("autograd.numpy.expm1", "grad(lambda x"),
              "mygrad": ("mygrad.nnet.elu", "nnet.elu(d, 1.0)")}
    for impl, (api, call) in expect.items():
        verdict, files = found[impl]
        assert files["ISSUE.md"].startswith(f"# `{api}`"), files["ISSUE.md"][:200]
        code = files["reproduce.py"] if call in files["reproduce.py"] else files["reproduce-2.py"]
        assert call in code
        out = _run(tmp_path, f"{impl}.py", code)
        assert out.returncode == 1, out.stdout + out.stderr


@pytest.mark.slow
def test_a_third_party_reproducer_says_what_to_fill_in_and_exits_2(tmp_path, plugins):
    """A planted adapter without the hook: the script names the function, part, input and
    dtype to compute, and exits 2 until filled in; the title still names the claim."""
    spec = default_suite(pattern="regions-elu-float64")[0]
    verdict, files = _report_files(spec, ["bug-elu-exp"])["bug-elu-exp"]
    assert files["ISSUE.md"].startswith("# `bug-elu-exp's elu`")
    assert "# Fill in: compute elu's f at d = " in files["reproduce.py"]
    out = _run(tmp_path, "reproduce.py", files["reproduce.py"])
    assert out.returncode == 2 and "fill in framework_value()" in out.stdout


@pytest.mark.slow
@needs("jax")
def test_no_report_file_holds_an_absolute_path_of_this_machine(tmp_path, monkeypatch):
    """The files to file upstream (ISSUE.md, reproduce*.py, smallest*.json) hold neither the
    report folder, the checkout, $HOME nor the virtual environment."""
    import os
    from pathlib import Path

    from harness.cli import main
    out = tmp_path / "report"
    main(["run", "examples/jax-elu-tail.json", "--impl", "jax", "--runxfail", "--out",
          str(out)])
    folders = [p for p in (out / "failing").iterdir() if p.is_dir()]
    assert folders
    local = {str(out), str(tmp_path), str(Path.cwd()), os.path.expanduser("~"),
             sys.prefix, str(Path(__file__).resolve().parents[1])}
    for folder in folders:
        for f in folder.iterdir():
            text = f.read_text()
            found = [p for p in local if re.search(re.escape(p) + r"(?![\w.-])", text)]
            assert not found, (f, found)


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
