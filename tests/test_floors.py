"""constraints/floors.txt pins every dependency pyproject.toml declares at its declared floor,
so that scripts/floors.sh tests the oldest versions the project claims to work with."""

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).parent.parent


def declared() -> list[Requirement]:
    """Every requirement of pyproject.toml: the build's, the dependencies, every extra's (but
    the extras that name this project's own)."""
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lines = doc["build-system"]["requires"] + doc["project"]["dependencies"] + [
        line for extra in doc["project"]["optional-dependencies"].values() for line in extra]
    return [r for r in map(Requirement, lines) if r.name != "backprop-harness"]


def pins() -> dict[str, Version]:
    text = (ROOT / "constraints" / "floors.txt").read_text()
    lines = [line.split("#")[0].strip() for line in text.splitlines()]
    return {name.lower(): Version(v) for name, _, v in
            (line.partition("==") for line in lines if line)}


def test_every_declared_dependency_is_pinned_at_its_floor():
    pinned = pins()
    requirements = declared()
    assert len(requirements) > 20
    for r in requirements:
        floors = [Version(s.version) for s in r.specifier if s.operator == ">="]
        assert floors, f"{r}: no floor (>=) declared"
        pin = pinned.get(r.name.lower())
        assert pin is not None, f"{r.name} is not in constraints/floors.txt"
        # the floor itself, or its first release (setuptools 77 is 77.0.1: 77.0.0 never was)
        assert pin in r.specifier and pin.release[:len(floors[0].release)] == floors[0].release, \
            f"{r.name}: pinned {pin}, declared {r.specifier}"
