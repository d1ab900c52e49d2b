"""QGIS's ArcGIS MapServer provider (``QgsAmsLegendFetcher``) draws each layer's legend from the gateway's
``legend?f=json``: one row per class, in the class's colour (the labels are text in the picture)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.backends import dataspec as ds
from tests.gateway import Gateway, fetch
from tests.needs import unavailable
from tests.pixels import rgba

pytestmark = pytest.mark.client
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, where python3-qgis installs the QGIS bindings
SCRIPT = Path(__file__).with_name("qgis_legend.py")


def qgis_legend(url: str, layer_id: int, out: Path) -> np.ndarray:
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        unavailable("the QGIS Python bindings are not installed (apt-get install python3-qgis)")
    run = subprocess.run([SYSTEM_PYTHON, str(SCRIPT), url, str(layer_id), str(out)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and run.stdout.startswith("size"), (run.stdout, run.stderr[-2000:])
    return rgba(out.read_bytes())


def count(image: np.ndarray, colour: tuple[int, int, int]) -> int:
    return int(np.all(image[..., :3] == colour, axis=2).sum())


@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
def test_qgis_draws_the_legend_of_each_layer(gateway: Gateway, service: str, tmp_path: Path) -> None:
    url = gateway.services_url(service)
    ids = {layer["name"]: layer["id"] for layer in fetch(url, {"f": "json"}).json()["layers"]}
    expected = {"cities": ds.CITY_COLOURS, "regions": ds.REGION_COLOURS}
    for name, colours in expected.items():
        image = qgis_legend(url, ids[name], tmp_path / f"{name}.png")
        for colour in colours.values():
            assert count(image, colour) >= 50, (name, colour)  # the class icon, scaled by QGIS to its row
        other = expected["regions" if name == "cities" else "cities"]
        assert all(count(image, colour) == 0 for colour in other.values())
        rows = [y for y in range(image.shape[0]) if any(count(image[y:y + 1], c) for c in colours.values())]
        assert len(rows) >= 2 * 8  # two classes, each a row of its own
