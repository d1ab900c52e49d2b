"""Tiles passed through from a backend WMTS: MapProxy (from PyPI) serving WMTS, KVP and RESTful, over the test
MapServer; the gateway's tile is the WMTS's own bytes, and a level the WMTS lacks is drawn from the WMS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backends.mapproxy import MapProxyBackend
from tests.backends.servers import FastCgiBackend
from tests.gateway import Gateway, fetch
from tests.pixels import rgba
from translators.ogc.wmts import parse_wmts_capabilities

pytestmark = pytest.mark.backend


@pytest.fixture(scope="module")
def mapproxy_wmts(mapserver: FastCgiBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MapProxyBackend]:
    if (why := MapProxyBackend.unavailable()) is not None:
        pytest.skip(why)
    with MapProxyBackend(mapserver.url, tmp_path_factory.mktemp("mapproxy-wmts"), wmts=True) as backend:
        yield backend


@pytest.fixture(scope="module")
def gateway_wmts(mapproxy_wmts: MapProxyBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    restful = mapproxy_wmts.url.replace("/service", "/wmts/1.0.0/WMTSCapabilities.xml")
    backend = {"url": mapproxy_wmts.url, "flavor": "generic"}
    services = {
        "w/Kvp": {"type": "MapServer", "backend": backend, "layers": ["rgb"],
                  "tiles": {"grid": "webmercator", "wmts": {"layer": "rgb"}}},
        "w/Rest": {"type": "MapServer", "backend": backend, "layers": ["rgb"],
                   "tiles": {"grid": "webmercator", "wmts": {"layer": "rgb", "url": restful}}},
    }
    with Gateway({"services": services}, tmp_path_factory.mktemp("gw-wmts")) as gateway:
        yield gateway


def backend_requests(gateway: Gateway) -> int:
    return int(fetch(gateway.url + "/arcbridge/stats").json()["cache"]["backendRequests"])


def own_tile(backend: MapProxyBackend, level: int, row: int, col: int) -> bytes:
    reply = fetch(backend.url, {"SERVICE": "WMTS", "VERSION": "1.0.0", "REQUEST": "GetTile", "LAYER": "rgb",
                                "STYLE": "default", "FORMAT": "image/png", "TILEMATRIXSET": "GLOBAL_WEBMERCATOR",
                                "TILEMATRIX": f"{level:02d}", "TILEROW": str(row), "TILECOL": str(col)})
    assert reply.status == 200 and reply.content_type == "image/png"
    return reply.body


def test_capabilities_match_the_esri_levels(mapproxy_wmts: MapProxyBackend) -> None:
    from translators.crs import resolve_sr
    from translators.ogc.wmts import choose_matrix_set
    from translators.tiles.grid import webmercator

    body = fetch(mapproxy_wmts.url, {"SERVICE": "WMTS", "REQUEST": "GetCapabilities"}).body
    chosen = choose_matrix_set(parse_wmts_capabilities(body), "rgb", webmercator(), resolve_sr(3857, "sr"))
    assert chosen is not None
    matrix_set, levels = chosen
    assert matrix_set.identifier == "GLOBAL_WEBMERCATOR" and sorted(levels) == list(range(20))
    assert levels[5].identifier == "05" and (levels[5].matrix_width, levels[5].matrix_height) == (32, 32)
    restful = fetch(mapproxy_wmts.url.replace("/service", "/wmts/1.0.0/WMTSCapabilities.xml")).body
    template = parse_wmts_capabilities(restful).layers["rgb"].templates["image/png"]
    assert "{TileMatrix}" in template and "{TileRow}" in template  # what w/Rest fetches tiles by


@pytest.mark.parametrize("service", ["w/Kvp", "w/Rest"])
def test_tiles_are_the_wmts_own_bytes(gateway_wmts: Gateway, mapproxy_wmts: MapProxyBackend, service: str) -> None:
    for level, row, col in [(1, 0, 1), (3, 2, 4), (6, 20, 33)]:
        reply = fetch(f"{gateway_wmts.services_url(service)}/tile/{level}/{row}/{col}")
        assert reply.status == 200 and reply.content_type == "image/png"
        assert reply.body == own_tile(mapproxy_wmts, level, row, col)  # passed through, never decoded
        before = backend_requests(gateway_wmts)
        again = fetch(f"{gateway_wmts.services_url(service)}/tile/{level}/{row}/{col}")
        assert again.headers["X-Arcbridge-Cache"] == "hit" and again.headers["ETag"] == reply.headers["ETag"]
        assert backend_requests(gateway_wmts) == before


def test_a_level_the_wmts_lacks_is_drawn_from_the_wms(gateway_wmts: Gateway, tmp_path: Path) -> None:
    # MapProxy's GLOBAL_WEBMERCATOR stops at level 19: level 20 comes from a metatile GetMap of its WMS.
    row, col = 2**20 // 2 - 300, 2**20 // 2 + 200
    reply = fetch(f"{gateway_wmts.services_url('w/Kvp')}/tile/20/{row}/{col}")
    assert reply.status == 200 and reply.content_type == "image/png"
    assert fetch(f"{gateway_wmts.services_url('w/Kvp')}/tile/2/4/0").status == 404


def test_qgis_server_wmts_tiles_pass_through(qgis: FastCgiBackend, tmp_path: Path) -> None:
    # QGIS Server's WMTS (the rgb layer, its default EPSG:3857 grid: corner rounded to the millimetre, levels 0-20).
    services = {"q/Tiles": {"type": "MapServer", "backend": {"url": qgis.url, "flavor": "qgis"}, "layers": ["rgb"],
                            "tiles": {"grid": "webmercator", "wmts": {"layer": "rgb"}}}}
    with Gateway({"services": services}, tmp_path) as gateway:
        for level, row, col in [(2, 1, 2), (5, 11, 17)]:
            reply = fetch(f"{gateway.services_url('q/Tiles')}/tile/{level}/{row}/{col}")
            assert reply.status == 200 and reply.content_type == "image/png"
            own = fetch(qgis.url, {"SERVICE": "WMTS", "VERSION": "1.0.0", "REQUEST": "GetTile", "LAYER": "rgb",
                                   "STYLE": "default", "FORMAT": "image/png", "TILEMATRIXSET": "EPSG:3857",
                                   "TILEMATRIX": str(level), "TILEROW": str(row), "TILECOL": str(col)})
            assert own.status == 200
            assert (rgba(reply.body) == rgba(own.body)).all()  # QGIS's own tile, as it drew it
        assert fetch(f"{gateway.services_url('q/Tiles')}/tile/2/0/4").status == 404  # outside the grid
