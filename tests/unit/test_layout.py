"""The shape of the code that the layering rules promise (issue 9): sizes, layers, and one home per concept."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("translators", "proxy")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60
FLAVOR_TABLE = ROOT / "translators" / "ogc" / "flavors.py"


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_there_are_modules_to_check() -> None:
    assert len(_modules()) > 40


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_and_function_sizes(path: Path) -> None:
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_MODULE_LINES
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{node.name} at line {node.lineno} has {length} lines"


def test_translators_know_neither_the_web_layer_nor_aiohttp() -> None:
    for path in (ROOT / "translators").rglob("*.py"):
        for name in _imports(path):
            assert not name.startswith(("proxy", "aiohttp")), f"{path.relative_to(ROOT)} imports {name}"


def test_the_raster_layer_does_not_know_arcgis() -> None:
    for path in (ROOT / "translators" / "raster").rglob("*.py"):
        for name in _imports(path):
            assert not name.startswith("translators.arcgis"), f"{path.relative_to(ROOT)} imports {name}"


def test_flavour_names_are_compared_only_in_the_flavour_table() -> None:
    names = r"""["'](mapserver|qgis|geoserver|generic)["']"""
    comparison = re.compile(rf"(==|!=)\s*{names}|{names}\s*(==|!=)|\bin\s*\([^)]*{names}")
    for path in _modules():
        if path == FLAVOR_TABLE:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert not comparison.search(line), f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
