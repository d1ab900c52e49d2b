"""A generic WMS that is neither MapServer nor QGIS: MapProxy 7 in front of the test MapServer (WMS 1.1.1 and 1.3.0).

ArcGIS numbers the layers of a map service top first (id 0 is drawn on top).  MapProxy's capabilities list its
layers as its configuration does, top first (regions, cities, rgb): the opaque ``rgb`` raster must be drawn below the
vectors, and ids must follow that order.  Exports are compared pixel for pixel with MapProxy's own GetMap.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.backends import dataspec as ds
from tests.backends.mapproxy import MapProxyBackend
from tests.backends.servers import FastCgiBackend
from tests.gateway import Gateway, fetch
from tests.needs import unavailable
from tests.pixels import colour_at, rgba

pytestmark = pytest.mark.backend
BBOX = (-20.0, 30.0, 20.0, 60.0)  # Cote d'Or and the south of Nordland, over the rgb raster
SIZE = (400, 300)


@pytest.fixture(scope="module")
def mapproxy(mapserver: FastCgiBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MapProxyBackend]:
    if reason := MapProxyBackend.unavailable():
        unavailable(reason)
    with MapProxyBackend(mapserver.url, tmp_path_factory.mktemp("mapproxy")) as backend:
        yield backend


@pytest.fixture(scope="module")
def generic_gateway(mapproxy: MapProxyBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    def svc(**backend: Any) -> dict[str, Any]:
        return {"type": "MapServer", "backend": {"url": mapproxy.url, "flavor": "generic", **backend}}

    config = {"services": {"mp/World": svc(), "mp/World111": svc(version="1.1.1"),
                           "mp/Reversed": svc(capabilitiesOrder="bottomFirst")}}
    workdir: Path = tmp_path_factory.mktemp("generic-gateway")
    with Gateway(config, workdir) as gateway:
        yield gateway


def mapproxy_getmap(mapproxy: MapProxyBackend, layers: str, version: str = "1.3.0") -> np.ndarray:
    crs_key, bbox = ("CRS", (BBOX[1], BBOX[0], BBOX[3], BBOX[2])) if version == "1.3.0" else ("SRS", BBOX)
    reply = fetch(mapproxy.url, {"SERVICE": "WMS", "VERSION": version, "REQUEST": "GetMap", "LAYERS": layers,
                                 "STYLES": "", crs_key: "EPSG:4326", "BBOX": ",".join(repr(v) for v in bbox),
                                 "WIDTH": SIZE[0], "HEIGHT": SIZE[1], "FORMAT": "image/png",
                                 "TRANSPARENT": "FALSE"})
    assert reply.status == 200 and reply.content_type == "image/png", reply.body[:300]
    return rgba(reply.body)


def export(gateway: Gateway, service: str, **params: str) -> np.ndarray:
    reply = fetch(gateway.services_url(service) + "/export",
                  {"bbox": ",".join(str(v) for v in BBOX), "bboxSR": "4326", "size": f"{SIZE[0]},{SIZE[1]}",
                   "format": "png32", "f": "image", **params})
    assert reply.status == 200 and reply.content_type == "image/png", reply.body[:300]
    return rgba(reply.body)


@pytest.mark.parametrize(("service", "names"), [
    ("mp/World", ["regions", "cities", "rgb"]),
    ("mp/World111", ["regions", "cities", "rgb"]),
    ("mp/Reversed", ["rgb", "cities", "regions"]),  # capabilitiesOrder: bottomFirst
])
def test_ids_put_the_top_layer_first(generic_gateway: Gateway, service: str, names: list[str]) -> None:
    info = fetch(generic_gateway.services_url(service), {"f": "json"}).json()
    assert [(layer["id"], layer["name"]) for layer in info["layers"]] == list(enumerate(names))


@pytest.mark.parametrize(("service", "version"), [("mp/World", "1.3.0"), ("mp/World111", "1.1.1")])
def test_vectors_are_drawn_over_the_raster(generic_gateway: Gateway, mapproxy: MapProxyBackend, service: str,
                                           version: str) -> None:
    image = export(generic_gateway, service)
    # The backend's own picture of the same request, layers listed bottom first as WMS draws them.
    np.testing.assert_array_equal(image, mapproxy_getmap(mapproxy, "rgb,cities,regions", version))
    cote_dor = next(r for r in ds.REGIONS if r.name == "Cote d'Or")
    x, y = cote_dor.centre
    assert colour_at(image, x, y, BBOX)[:3] == ds.REGION_COLOURS[cote_dor.category]
    outside = (15.0, 35.0)  # no region there: the raster shows
    assert ds.region_at(*outside) is None
    assert colour_at(image, *outside, BBOX)[:3] == ds.rgb_colour_at(*outside)


def test_the_configured_order_wins_over_the_flavour(generic_gateway: Gateway, mapproxy: MapProxyBackend) -> None:
    image = export(generic_gateway, "mp/Reversed")
    np.testing.assert_array_equal(image, mapproxy_getmap(mapproxy, "regions,cities,rgb"))
    x, y = next(r for r in ds.REGIONS if r.name == "Cote d'Or").centre
    assert colour_at(image, x, y, BBOX)[:3] == ds.rgb_colour_at(x, y)  # rgb on top, as configured


def test_layers_by_id_follow_the_arcgis_numbering(generic_gateway: Gateway, mapproxy: MapProxyBackend) -> None:
    image = export(generic_gateway, "mp/World", layers="show:0,2")  # regions and rgb
    np.testing.assert_array_equal(image, mapproxy_getmap(mapproxy, "rgb,regions"))
