"""The house's shape: no module of harness/ or impls/ over 400 lines, and no import circle
among them (grimp, import-linter's graph library, counts every import, a function's too)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
MAX_LINES = 400


def test_no_module_is_an_oversized_room():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines())
             for package in ("harness", "impls") for p in (ROOT / package).rglob("*.py")}
    assert len(sizes) > 40  # the walk found the packages
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_no_import_circle():
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("harness", "impls", include_external_packages=False)
    assert "harness.runner" in graph.modules or "harness.runner" in {
        m.rsplit(".", 1)[0] for m in graph.modules}
    circles = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                circles.add(" -> ".join((module, *back)))
    assert sorted(circles) == []
