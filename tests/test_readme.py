"""The README's Python examples run as written, and its commands exist."""

import re
from pathlib import Path

import pytest

from harness.cli import build_parser

README = (Path(__file__).parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_python_examples_run(code):
    exec(compile(code, "README.md", "exec"), {})


def test_every_documented_subcommand_exists():
    documented = set(re.findall(r"^backprop-harness (\w+)", README, flags=re.M))
    parser = build_parser()
    choices = next(a for a in parser._actions if a.dest == "command").choices
    assert documented and documented <= set(choices)
