"""QGIS's ArcGIS MapServer provider identifies through the gateway (its unquoted-key ``geometry={x: …, y: …}``, no
``sr``, ``layers=all:<id>``): the features and pixel values of the test data at known points."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.backends import dataspec as ds
from tests.gateway import Gateway
from tests.needs import unavailable

pytestmark = pytest.mark.client
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, where python3-qgis installs the QGIS bindings
SCRIPT = Path(__file__).with_name("qgis_identify.py")


def qgis_identify(url: str, layer_id: int, lon: float, lat: float) -> list[dict[str, Any]]:
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        unavailable("the QGIS Python bindings are not installed (apt-get install python3-qgis)")
    run = subprocess.run([SYSTEM_PYTHON, str(SCRIPT), url, str(layer_id), str(lon), str(lat), "-20,0,30,40",
                          "500,400,96"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.startswith("["), (run.stdout, run.stderr[-2000:])
    found: list[dict[str, Any]] = json.loads(run.stdout)
    return found


@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
def test_qgis_identifies(gateway: Gateway, service: str) -> None:
    url = gateway.services_url(service)
    city = ds.CITIES[2]  # Sandtown, in Sahara Sud
    (found,) = qgis_identify(url, 0, city.lon, city.lat)
    assert found["attributes"] == {"OBJECTID": str(city.id), "category": city.category, "id": str(city.id),
                                   "name": city.name, "pop": str(city.pop)}
    assert found["wkt"] == f"Point ({city.lon:g} {city.lat:g})"
    (found,) = qgis_identify(url, 1, city.lon, city.lat)
    assert found["attributes"]["name"] == "Sahara Sud"
    # QGIS reads Esri rings as curved multi-surfaces: the region's ring, clockwise as sent.
    assert found["wkt"] == "MultiSurface (CurvePolygon (CompoundCurve ((-10 10, -10 25, 20 25, 20 10, -10 10))))"
    (found,) = qgis_identify(url, 2, city.lon, city.lat)
    assert found["attributes"] == {"Pixel Value": ", ".join(map(str, ds.rgb_colour_at(city.lon, city.lat)))}
