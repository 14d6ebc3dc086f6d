"""The README's Python examples run as written, and its commands exist."""

import re
from pathlib import Path

import pytest

from conftest import needs
from harness.cli import build_parser

README = (Path(__file__).parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


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
