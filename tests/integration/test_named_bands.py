"""Coverages whose advertised band names are not what the backend accepts (issue 10), and backends that refuse a
band subset: ``bandIds`` still answers the stored values, and a refused subset is not asked for again."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from rasterio.io import MemoryFile

from tests.backends import dataspec as ds
from tests.backends.servers import FastCgiBackend
from tests.fakes import RefusingProxy
from tests.gateway import Gateway, Reply, fetch
from tests.integration.test_backends import NS, get_coverage, wcs20, xml

pytestmark = pytest.mark.backend

NAMED = ["img/Named", "img/Named10"]  # WCS 2.0.1 (auto) and 1.0.0


def call(gateway: Gateway, service: str, op: str, **params: Any) -> Reply:
    return fetch(gateway.services_url(service, "ImageServer") + f"/{op}", params)


def read_tiff(body: bytes) -> np.ndarray:
    with MemoryFile(body) as memory, memory.open() as dataset:
        data: np.ndarray = dataset.read()
        return data


def check_band_ids(gateway: Gateway, service: str, bbox: tuple[float, float, float, float],
                   band_ids: tuple[int, ...]) -> None:
    """exportImage at native resolution over ``bbox`` equals the generated bands ``band_ids``, in that order."""
    x0, y0, x1, y1 = bbox
    width, height = round((x1 - x0) / ds.BANDS4_RES), round((y1 - y0) / ds.BANDS4_RES)
    reply = call(gateway, service, "exportImage", bbox=f"{x0},{y0},{x1},{y1}", size=f"{width},{height}",
                 format="tiff", bandIds=",".join(map(str, band_ids)), f="image")
    assert reply.status == 200, reply.body[:500]
    data = read_tiff(reply.body)
    assert data.shape == (len(band_ids), height, width)
    col0, row0 = ds.bands4_pixel(x0 + ds.BANDS4_RES / 2, y1 - ds.BANDS4_RES / 2)
    for row, col in [(0, 0), (height - 1, width - 1), (height // 2, width // 3), (5, width - 7)]:
        values = ds.bands4_values_at(col0 + col, row0 + row)
        assert tuple(int(v) for v in data[:, row, col]) == tuple(values[b] for b in band_ids), (row, col)


def test_what_mapserver_accepts_for_named_bands(mapserver: FastCgiBackend) -> None:
    """The spellings on the real MapServer 8: 2.0.1 advertises band1..band4, RANGESUBSET refuses them and takes the
    configured names (any case) or 1-based indices in the order asked; 1.0.0 ignores BANDS (no wcs_rangeset_axes)."""
    name = ds.BANDS_NAMED_COVERAGE
    _, body = wcs20(mapserver, "DescribeCoverage", ("COVERAGEID", name))
    fields = xml(body).findall(".//swe:DataRecord/swe:field", NS)
    assert [f.get("name") for f in fields] == ["band1", "band2", "band3", "band4"]
    col, row = 150, 60
    values = ds.bands4_values_at(col, row)
    fmt = ("FORMAT", ds.MAPSERVER_WCS_FORMATS[name])
    for spelling in ("band1", "band4,band3", "Band1"):
        ctype, body = wcs20(mapserver, "GetCoverage", ("COVERAGEID", name), fmt, ("RANGESUBSET", spelling))
        assert b"is not a valid band identifier" in body, (spelling, ctype)
    for spelling, want in [("nir,red", (values[3], values[2])), ("BLUE", (values[0],)), ("4,3", (values[3], values[2])),
                           ("3,1", (values[2], values[0])), ("2:4", values[1:])]:  # fmt: skip
        ctype, body = wcs20(mapserver, "GetCoverage", ("COVERAGEID", name), fmt, ("RANGESUBSET", spelling))
        assert ctype.startswith("image/tiff"), (spelling, body[:300])
        assert tuple(read_tiff(body)[:, row, col]) == want, spelling
    w, h = ds.BANDS4_SIZE
    for bands in ("4,3", "blue", "band1"):
        data = read_tiff(get_coverage(mapserver, name, ds.BANDS4_EXTENT, w, h, BANDS=bands))
        assert tuple(data[:, row, col]) == values, bands


@pytest.mark.parametrize("service", NAMED)
def test_band_ids_on_a_coverage_with_named_bands(gateway: Gateway, service: str) -> None:
    """MapServer advertises band1..band4 in WCS 2.0.1 but refuses RANGESUBSET=band1; 1.0.0 ignores BANDS."""
    info = call(gateway, service, "", f="json").json()
    assert info["bandCount"] == 4 and info["pixelType"] == "S16"
    check_band_ids(gateway, service, (41.0, 41.0, 49.0, 49.0), (3, 0, 2))
    check_band_ids(gateway, service, (42.0, 43.0, 46.0, 47.5), (1,))
    check_band_ids(gateway, service, (45.0, 45.0, 50.0, 50.0), (2, 3))


@pytest.mark.parametrize("service", NAMED)
def test_identify_on_a_coverage_with_named_bands(gateway: Gateway, service: str) -> None:
    for lon, lat in [(47.02, 45.03), (42.31, 48.77)]:
        data = call(gateway, service, "identify", geometry=f"{lon},{lat}", geometryType="esriGeometryPoint",
                    f="json").json()
        values = ds.bands4_values_at(*ds.bands4_pixel(lon, lat))
        assert [float(v) for v in data["value"].split()] == [float(v) for v in values], data
    inside_nodata = call(gateway, service, "identify", geometry="41,41", geometryType="esriGeometryPoint",
                         f="json").json()
    assert inside_nodata["value"] == "NoData"


# --------------------------------------------------------------------------------- a backend refusing subsets


def backend_requests(gateway: Gateway) -> int:
    count: int = fetch(gateway.url + "/arcbridge/stats").json()["cache"]["backendRequests"]
    return count


@pytest.mark.parametrize("service", ["img/Refusing", "img/Refusing10"])
def test_a_refused_band_subset_is_fetched_whole_once_and_remembered(
        refusing: tuple[RefusingProxy, Gateway], service: str) -> None:
    proxy, gateway = refusing
    assert call(gateway, service, "", f="json").status == 200  # describe and statistics first
    proxy.requests.clear()
    before = backend_requests(gateway)
    check_band_ids(gateway, service, (41.0, 41.0, 49.0, 49.0), (3, 0, 2))
    coverages = [q for q in proxy.requests if q.get("REQUEST") == "GetCoverage"]
    assert len(coverages) == 2, coverages  # the refused subset, then every band
    assert ("RANGESUBSET" in coverages[0] or "BANDS" in coverages[0]) and not {"RANGESUBSET", "BANDS"} & set(
        coverages[1])
    assert backend_requests(gateway) - before == 2
    # Remembered: other extents and bands go straight to the whole coverage, one request each.
    proxy.requests.clear()
    before = backend_requests(gateway)
    check_band_ids(gateway, service, (42.0, 43.0, 46.0, 47.5), (1,))
    check_band_ids(gateway, service, (45.0, 45.0, 50.0, 50.0), (2, 3))
    coverages = [q for q in proxy.requests if q.get("REQUEST") == "GetCoverage"]
    assert len(coverages) == 2 and not any({"RANGESUBSET", "BANDS"} & set(q) for q in coverages), coverages
    assert backend_requests(gateway) - before == 2
