"""The map viewer's JavaScript and CSS ship in the package: the package-data globs cover every bundled file."""

from __future__ import annotations

import tomllib
from pathlib import Path

from proxy.viewer import STATIC_DIR

ROOT = Path(__file__).resolve().parents[2]


def test_package_data_covers_the_static_files() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["proxy"]
    package = ROOT / "proxy"
    shipped = {path for pattern in globs for path in package.glob(pattern) if path.is_file()}
    bundled = {path for path in STATIC_DIR.rglob("*") if path.is_file()}
    assert {"leaflet.js", "leaflet.css", "esri-leaflet.js", "LICENSE-leaflet.txt",
            "LICENSE-esri-leaflet.txt"} <= {p.name for p in bundled}
    assert bundled <= shipped, sorted(str(p) for p in bundled - shipped)
    for pattern in globs:  # no glob for a folder that does not exist
        assert any(package.glob(pattern)), pattern
