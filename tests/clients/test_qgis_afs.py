"""QGIS' ArcGIS feature-service provider (``arcgisfeatureserver``, what "Add ArcGIS REST Server Layer" uses), driven
headless with Debian's PyQGIS, reads MapServer sublayers through the gateway: the layer JSON (fields, geometry type),
``returnIdsOnly`` then ``objectIds`` batches, and a filter rectangle."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.backends import dataspec as ds
from tests.gateway import Gateway

pytestmark = pytest.mark.client

SYSTEM_PYTHON = "/usr/bin/python3"

SCRIPT = """
import json, os, sys
from qgis.core import QgsApplication, QgsFeatureRequest, QgsRectangle, QgsVectorLayer, QgsWkbTypes
app = QgsApplication([], False)
app.initQgis()
layer = QgsVectorLayer("crs='EPSG:4326' url='" + sys.argv[1] + "'", "layer", "arcgisfeatureserver")
out = {"valid": layer.isValid(), "count": layer.featureCount(),
       "fields": [[f.name(), f.typeName()] for f in layer.fields()],
       "geometry": QgsWkbTypes.displayString(layer.wkbType()),
       "features": [{"attributes": {k: f[k] for k in layer.fields().names()}, "wkt": f.geometry().asWkt()}
                    for f in layer.getFeatures()],
       "in_rect": sorted(f["name"] for f in layer.getFeatures(QgsFeatureRequest().setFilterRect(
           QgsRectangle(*map(float, sys.argv[2].split(",")))))) }
print(json.dumps(out, default=str))
app.exitQgis()
"""


def qgis_read(tmp_path: Path, url: str, rect: tuple[float, float, float, float]) -> dict[str, Any]:
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=60, check=False)
    if probe.returncode != 0:
        pytest.skip("PyQGIS (Debian's python3-qgis) is not installed")
    script = tmp_path / "afs.py"
    script.write_text(SCRIPT)
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
           "XDG_RUNTIME_DIR": str(home), "LANG": os.environ.get("LANG", "C.UTF-8")}
    run = subprocess.run([SYSTEM_PYTHON, str(script), url, ",".join(map(str, rect))], capture_output=True,
                         text=True, timeout=180, env=env, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
def test_qgis_reads_the_cities(gateway: Gateway, service: str, tmp_path: Path) -> None:
    data = qgis_read(tmp_path, gateway.services_url(service) + "/0", (0.0, 40.0, 30.0, 70.0))
    assert data["valid"] and data["count"] == len(ds.CITIES) and data["geometry"] == "Point"
    assert data["fields"] == [["OBJECTID", "esriFieldTypeOID"], ["id", "esriFieldTypeInteger"],
                              ["name", "esriFieldTypeString"], ["category", "esriFieldTypeString"],
                              ["pop", "esriFieldTypeInteger"]]
    got = {f["attributes"]["OBJECTID"]: f for f in data["features"]}
    for city in ds.CITIES:
        assert got[city.id]["attributes"] == {"OBJECTID": city.id, "id": city.id, "name": city.name,
                                              "category": city.category, "pop": city.pop}
        assert got[city.id]["wkt"] == f"Point ({city.lon:g} {city.lat:g})"
    assert data["in_rect"] == sorted(c.name for c in ds.CITIES if 0 <= c.lon <= 30 and 40 <= c.lat <= 70)


def test_qgis_reads_the_regions(gateway: Gateway, tmp_path: Path) -> None:
    data = qgis_read(tmp_path, gateway.services_url("ms/World") + "/1", (-20.0, 0.0, 12.0, 60.0))
    assert data["valid"] and data["geometry"] in ("Polygon", "MultiPolygon")
    assert sorted(f["attributes"]["name"] for f in data["features"]) == sorted(r.name for r in ds.REGIONS)
    # the filter rectangle is an envelope-intersects query: boxes touching it count
    assert data["in_rect"] == sorted(r.name for r in ds.REGIONS if r.bbox[0] <= 12 and r.bbox[2] >= -20
                                     and r.bbox[1] <= 60 and r.bbox[3] >= 0)
