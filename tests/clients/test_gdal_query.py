"""GDAL's ESRIJSON driver (ogr2ogr/ogrinfo on a ``…/query?f=json`` URL, as QGIS and scripts use it) reads a
sublayer's features through the gateway, paging by itself with ``resultOffset`` when ``exceededTransferLimit`` says
there is more."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.backends import dataspec as ds
from tests.gateway import Gateway
from translators.timeutil import to_epoch_ms

pytestmark = pytest.mark.client

OGR2OGR = shutil.which("ogr2ogr") or "/usr/bin/ogr2ogr"
OGRINFO = shutil.which("ogrinfo") or "/usr/bin/ogrinfo"
ENV = {"GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "ON", "PATH": "/usr/bin:/bin"}


def ogr_read(tmp_path: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    """The features GDAL reads from ``url`` (written out as GeoJSON) and its debug log (the URLs it fetched)."""
    if not Path(OGR2OGR).exists():
        pytest.skip("GDAL's ogr2ogr is not installed")
    out = tmp_path / "out.geojson"
    run = subprocess.run([OGR2OGR, "-f", "GeoJSON", str(out), url], capture_output=True, text=True, timeout=180,
                         env=ENV, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    features: list[dict[str, Any]] = json.loads(out.read_text())["features"]
    return features, run.stderr


@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
def test_gdal_reads_every_city_paging_by_itself(gateway: Gateway, service: str, tmp_path: Path) -> None:
    base = f"{gateway.services_url(service)}/0/query?"
    url = base + urlencode({"f": "json", "where": "1=1", "outFields": "*", "resultRecordCount": 3,
                            "orderByFields": "pop DESC"})
    features, log = ogr_read(tmp_path, url)
    fetched = [line for line in log.splitlines() if "Fetch(" in line and "/query" in line]
    assert any("resultOffset=3" in line for line in fetched) and any("resultOffset=6" in line for line in fetched)
    by_id = {f["properties"]["OBJECTID"]: f for f in features}
    assert len(features) == len(by_id) == len(ds.CITIES)  # pages add up, no duplicates
    for city in ds.CITIES:
        feature = by_id[city.id]
        assert feature["properties"] == {"OBJECTID": city.id, "id": city.id, "name": city.name,
                                         "category": city.category, "pop": city.pop}
        assert feature["geometry"] == {"type": "Point", "coordinates": [city.lon, city.lat]}


@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
def test_gdal_reads_regions_with_their_types(gateway: Gateway, service: str, tmp_path: Path) -> None:
    url = f"{gateway.services_url(service)}/1/query?" + urlencode(
        {"f": "json", "where": "category = 'A'", "outFields": "*"})
    if not Path(OGRINFO).exists():
        pytest.skip("GDAL's ogrinfo is not installed")
    info = subprocess.run([OGRINFO, "-ro", "-so", "-al", url], capture_output=True, text=True, timeout=120,
                          env=ENV, check=True).stdout
    assert "Geometry: Polygon" in info and "population: Integer" in info
    expected = [r for r in ds.REGIONS if r.category == "A"]
    assert f"Feature Count: {len(expected)}" in info
    features, _ = ogr_read(tmp_path, url)
    got = {f["properties"]["name"]: f for f in features}
    assert set(got) == {r.name for r in expected}
    for region in expected:
        feature = got[region.name]
        assert feature["properties"]["population"] == region.population
        # GDAL 3.6 reads esriFieldTypeDate as the epoch milliseconds' text (later versions as a date)
        established = dt.datetime.fromisoformat(region.established).replace(tzinfo=dt.UTC)
        assert feature["properties"]["established"] in (str(to_epoch_ms(established)),
                                                        established.strftime("%Y/%m/%d %H:%M:%S+00"))
        x0, y0, x1, y1 = region.bbox
        assert {tuple(p) for p in feature["geometry"]["coordinates"][0]} == {(x0, y0), (x1, y0), (x1, y1), (x0, y1)}
