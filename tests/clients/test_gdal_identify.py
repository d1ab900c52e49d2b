"""GDAL's AGS driver identifies through the gateway: ``gdallocationinfo`` on an ArcGIS MapServer dataset sends
``…/identify`` with GDAL's empty parameters (``layerdefs=&time=&…``) and reports the answer as LocationInfo."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.backends import dataspec as ds
from tests.clients.test_gdal_ags import AGS_XML
from tests.gateway import Gateway

pytestmark = pytest.mark.client

GDALLOCATIONINFO = shutil.which("gdallocationinfo") or "/usr/bin/gdallocationinfo"


def location_info(tmp_path: Path, gateway: Gateway, service: str, lon: float, lat: float) -> dict[str, Any]:
    source = tmp_path / "service.xml"
    source.write_text(AGS_XML.format(url=gateway.services_url(service), wkid=4326, layers="show:0,1,2", x0=-180,
                                     y0=-90, x1=180, y1=90, width=1440, height=720, projection="EPSG:4326"))
    done = subprocess.run([GDALLOCATIONINFO, "-xml", "-geoloc", str(source), str(lon), str(lat)],
                          capture_output=True, check=True, timeout=120,
                          env={"GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "OFF", "PATH": "/usr/bin:/bin"})
    report = etree.fromstring(done.stdout)
    texts = report.xpath("//BandReport[@band='1']/LocationInfo/text()")
    assert texts, done.stdout[:500]
    answer: dict[str, Any] = json.loads(texts[0])
    return answer


@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
def test_gdallocationinfo(tmp_path: Path, gateway: Gateway, service: str) -> None:
    city = ds.CITIES[2]  # Sandtown, in Sahara Sud
    answer = location_info(tmp_path, gateway, service, city.lon, city.lat)
    found = [(r["layerId"], r["value"]) for r in answer["results"]]
    colour = ", ".join(str(v) for v in ds.rgb_colour_at(city.lon, city.lat))
    assert found == [(0, city.name), (1, "Sahara Sud"), (2, colour)]
    assert all("geometry" not in r for r in answer["results"])  # GDAL asks returnGeometry=false
    assert answer["results"][0]["attributes"]["pop"] == str(city.pop)
