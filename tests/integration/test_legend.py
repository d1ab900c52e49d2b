"""``…/MapServer/legend`` and ``…/MapServer/<id>/images/<key>`` against the real MapServer 8 and QGIS Server 3.22 (one
entry per class, each icon drawn by the backend in the class's colour from dataspec), a generic WMS (one entry per
layer: MapServer as ``generic``, and MapProxy 7), the cache, and the refusals."""

from __future__ import annotations

import base64
import random
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
from tests.pixels import rgba

pytestmark = pytest.mark.backend
TRANSPARENT = (0, 0, 0, 0)


def legend(gateway: Gateway, service: str, **params: Any) -> dict[str, Any]:
    reply = fetch(gateway.services_url(service) + "/legend", {"f": "json", **params})
    assert reply.status == 200, reply.body[:300]
    data: dict[str, Any] = reply.json()
    return data


def by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {layer["layerName"]: layer for layer in data["layers"]}


def icon(entry: dict[str, Any]) -> np.ndarray:
    image = rgba(base64.b64decode(entry["imageData"]))
    assert image.shape[:2] == (entry["height"], entry["width"])
    return image


def count(image: np.ndarray, colour: tuple[int, ...]) -> int:
    """Pixels of exactly ``colour`` (RGB, opaque)."""
    return int(np.all(image == (*colour, 255)[:image.shape[2]], axis=2).sum())


def transparent(image: np.ndarray) -> bool:
    return bool((image[..., 3] == 0).all())


@pytest.mark.parametrize("service", ["ms/World", "qgis/World", "ms/World111"])
def test_one_entry_per_class_in_its_colour(gateway: Gateway, service: str) -> None:
    data = legend(gateway, service)
    root = fetch(gateway.services_url(service), {"f": "json"}).json()
    ids = {layer["name"]: layer for layer in root["layers"]}
    layers = by_name(data)
    assert [layer["layerName"] for layer in data["layers"]] == ["cities", "regions", "rgb"]  # top first
    for name, layer in layers.items():
        assert layer["layerId"] == ids[name]["id"] and layer["layerType"] == ids[name]["type"]
        assert (layer["minScale"], layer["maxScale"]) == (ids[name]["minScale"], ids[name]["maxScale"])
        for entry in layer["legend"]:
            assert entry["contentType"] == "image/png" and (entry["width"], entry["height"]) == (20, 20)
    expected = {"cities": ds.CITY_COLOURS, "regions": {"A": ds.REGION_COLOURS["A"], "B": ds.REGION_COLOURS["B"]}}
    labels = {"cities": ["Capital", "Town"], "regions": ["Category A", "Category B"]}
    for name, colours in expected.items():
        entries = layers[name]["legend"]
        assert [e["label"] for e in entries] == labels[name]
        for entry, (own, colour) in zip(entries, colours.items(), strict=True):
            image = icon(entry)
            # the class's own colour fills its symbol (a 10 px square: 100 px; a polygon patch: most of it) …
            assert count(image, colour) >= 60, (name, entry["label"])
            # … and the other class's colour is not in it
            other = next(c for k, c in colours.items() if k != own)
            assert count(image, other) == 0
        if service.startswith("ms/"):  # MapServer's classes are unique values: the literal of each EXPRESSION
            assert [e["values"] for e in entries] == [[k] for k in colours]
            assert layers[name]["legendType"] == "Unique Values"


def test_rasters_get_an_entry_as_the_backend_gives(gateway: Gateway) -> None:
    # MapServer: a raster without classes is one entry with an empty label and a blank (transparent) patch.
    ms = by_name(legend(gateway, "ms/All"))
    for name in ("rgb", "dem"):
        [entry] = ms[name]["legend"]
        assert entry["label"] == "" and transparent(icon(entry)) and ms[name]["legendType"] == "Single Symbol"
    assert "overlays" not in ms  # groups are not listed: leaf layers only
    [event] = ms["events"]["legend"]
    assert event["label"] == "Event" and count(icon(event), ds.EVENT_COLOUR) >= 60
    # QGIS 3.22: an RGB raster has an icon per band; a grey one has a title without icon: a blank patch.
    qgis = by_name(legend(gateway, "qgis/All"))
    bands = qgis["rgb"]["legend"]
    assert [e["label"] for e in bands] == ["Band 1 (Red)", "Band 2 (Green)", "Band 3 (Blue)"]
    for entry, colour in zip(bands, [(255, 0, 0), (0, 255, 0), (0, 0, 255)], strict=True):
        assert count(icon(entry), colour) >= 60
    [grey] = qgis["dem"]["legend"]
    assert grey["label"] == "Band 1 (Gray)" and transparent(icon(grey))
    [single] = qgis["events"]["legend"]  # a single symbol: empty label (clients show the layer name)
    assert single["label"] == "" and count(icon(single), ds.EVENT_COLOUR) >= 60


@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
def test_size_and_dpi_change_the_images(gateway: Gateway, service: str) -> None:
    capital = ds.CITY_COLOURS["capital"]
    base = by_name(legend(gateway, service))["cities"]["legend"][0]
    wide = by_name(legend(gateway, service, size="36,24"))["cities"]["legend"][0]
    assert (wide["width"], wide["height"]) == (36, 24) and icon(wide).shape[:2] == (24, 36)
    sharp = by_name(legend(gateway, service, dpi="192"))["cities"]["legend"][0]
    assert (sharp["width"], sharp["height"]) == (40, 40)
    # at 192 dpi the backend draws the 10 px square twice as large: four times the pixels
    assert count(icon(sharp), capital) >= 3 * count(icon(base), capital) > 0
    both = by_name(legend(gateway, service, size="30,10", dpi="192"))["regions"]["legend"][0]
    assert (both["width"], both["height"]) == (60, 20)
    assert count(icon(both), ds.REGION_COLOURS["A"]) >= 0.5 * 60 * 20


@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
def test_images_are_served_by_key(gateway: Gateway, service: str) -> None:
    base = gateway.services_url(service)
    for params in ({}, {"size": "25,15", "dpi": "120"}):
        for layer in legend(gateway, service, **params)["layers"]:
            for entry in layer["legend"]:
                reply = fetch(f"{base}/{layer['layerId']}/images/{entry['url']}")
                assert reply.status == 200 and reply.content_type == "image/png"
                assert reply.body == base64.b64decode(entry["imageData"])
    cities = by_name(legend(gateway, service))["cities"]
    assert fetch(f"{base}/{cities['layerId']}/images/{'0' * 32}").status == 404
    assert fetch(f"{base}/{cities['layerId']}/images/nothex").status == 404
    assert fetch(f"{base}/99/images/{cities['legend'][0]['url']}").status == 404
    assert fetch(f"{base}/x/images/{cities['legend'][0]['url']}").status == 404


def stats(gateway: Gateway) -> int:
    requests: int = fetch(gateway.url + "/arcbridge/stats").json()["cache"]["backendRequests"]
    return requests


@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
def test_a_second_legend_asks_the_backend_nothing(gateway: Gateway, service: str) -> None:
    size = f"{random.randint(21, 60)},{random.randint(21, 60)}"  # a legend no test asked for yet
    fetch(gateway.services_url(service), {"f": "json"})  # capabilities in hand
    before = stats(gateway)
    first = legend(gateway, service, size=size)
    assert stats(gateway) > before  # drawn by the backend …
    middle = stats(gateway)
    second = legend(gateway, service, size=size, f="pjson")
    assert stats(gateway) == middle and second == first  # … then from the cache
    other = legend(gateway, service, size=size, dpi="144")  # another dpi is another entry
    assert stats(gateway) > middle and other != first


def test_dynamic_layers_choose_the_layers(gateway: Gateway) -> None:
    dynamic = '[{"id": 7, "source": {"type": "mapLayer", "mapLayerId": 1}}, ' \
              '{"id": 8, "source": {"type": "mapLayer", "mapLayerId": 0}}]'
    data = legend(gateway, "ms/World", dynamicLayers=dynamic)
    assert [(layer["layerId"], layer["layerName"]) for layer in data["layers"]] == [(1, "regions"), (0, "cities")]
    empty = legend(gateway, "ms/World", dynamicLayers="[]")
    assert len(empty["layers"]) == 3


@pytest.mark.parametrize(("params", "status", "parameter"), [
    ({"size": "abc"}, 400, "size"),
    ({"size": "0,20"}, 400, "size"),
    ({"size": "5000,20"}, 400, "size"),
    ({"dpi": "-1"}, 400, "dpi"),
    ({"dpi": "2000"}, 400, "dpi"),  # MapServer draws 10-1000 dpi
    ({"dynamicLayers": '[{"id": 1, "source": {"type": "mapLayer", "mapLayerId": 42}}]'}, 400, "dynamicLayers"),
    ({"f": "kmz"}, 400, "f"),
])
def test_refusals(gateway: Gateway, params: dict[str, str], status: int, parameter: str) -> None:
    reply = fetch(gateway.services_url("ms/World") + "/legend", {"f": "json", **params})
    assert reply.status == status
    error = reply.json()["error"]
    assert error["code"] == status and f"'{parameter}'" in error["message"]


@pytest.mark.parametrize(("mode", "status"), [("exception", 502), ("error500", 502), ("garbage", 502),
                                              ("html", 502), ("hang", 504)])
def test_backend_failures(gateway: Gateway, mode: str, status: int) -> None:
    reply = fetch(gateway.services_url(f"bad/{mode}") + "/legend", {"f": "json"})
    assert reply.status == status and reply.json()["error"]["code"] == status


def test_html_answer(gateway: Gateway) -> None:
    reply = fetch(gateway.services_url("ms/World") + "/legend")
    assert reply.status == 200 and reply.content_type == "text/html" and b"Category A" in reply.body
    data = legend(gateway, "ms/World")
    for entry in (e for layer in data["layers"] for e in layer["legend"]):  # the legend drawn above its JSON
        assert f"src='data:image/png;base64,{entry['imageData']}'> {entry['label']}</div>".encode() in reply.body


def test_generic_wms_gets_one_entry_per_layer(gateway: Gateway, mapserver: FastCgiBackend) -> None:
    # "Plain" is the MapServer as a generic WMS: each layer's whole GetLegendGraphic, at the backend's own size.
    [layer] = legend(gateway, "Plain")["layers"]
    [entry] = layer["legend"]
    own = fetch(mapserver.url, {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetLegendGraphic", "LAYER": "rgb",
                                "FORMAT": "image/png", "SLD_VERSION": "1.1.0", "STYLE": "", "TRANSPARENT": "TRUE"})
    assert entry["label"] == "" and base64.b64decode(entry["imageData"]) == own.body


@pytest.fixture(scope="module")
def mapproxy(mapserver: FastCgiBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MapProxyBackend]:
    if reason := MapProxyBackend.unavailable():
        unavailable(reason)
    with MapProxyBackend(mapserver.url, tmp_path_factory.mktemp("mapproxy-legend"), legends=True) as backend:
        yield backend


@pytest.fixture(scope="module")
def own_gateway(mapproxy: MapProxyBackend, mapserver: FastCgiBackend,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """MapProxy as a generic WMS, and a MapServer service that is not cached."""
    config = {"services": {
        "mp/World": {"type": "MapServer", "backend": {"url": mapproxy.url, "flavor": "generic"}},
        "ms/NoCache": {"type": "MapServer", "backend": {"url": mapserver.url, "flavor": "mapserver"},
                       "layers": ["cities", "regions"], "cache": {"ttl": 0}},
    }}
    workdir: Path = tmp_path_factory.mktemp("legend-gateway")
    with Gateway(config, workdir) as gateway:
        yield gateway


def test_mapproxy_legend_one_entry_per_layer(own_gateway: Gateway, mapproxy: MapProxyBackend) -> None:
    gateway = own_gateway
    data = legend(gateway, "mp/World")
    assert [(layer["layerId"], layer["layerName"]) for layer in data["layers"]] == \
        [(0, "regions"), (1, "cities"), (2, "rgb")]
    for layer in data["layers"]:
        [entry] = layer["legend"]
        own = fetch(mapproxy.url, {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetLegendGraphic",
                                   "LAYER": layer["layerName"], "FORMAT": "image/png", "SLD_VERSION": "1.1.0"})
        assert own.status == 200 and own.content_type == "image/png"
        icon(entry)  # its size is the one it reports
        assert (entry["width"], entry["height"]) == rgba(own.body).shape[1::-1]
        assert entry["label"] == ""
        reply = fetch(f"{gateway.services_url('mp/World')}/{layer['layerId']}/images/{entry['url']}")
        assert reply.body == base64.b64decode(entry["imageData"])
    regions = icon(by_name(data)["regions"]["legend"][0])  # MapServer's composite legend: both classes
    assert count(regions, ds.REGION_COLOURS["A"]) > 0 and count(regions, ds.REGION_COLOURS["B"]) > 0
    cities = icon(by_name(data)["cities"]["legend"][0])
    assert all(count(cities, colour) > 0 for colour in ds.CITY_COLOURS.values())


def test_uncached_service_draws_again_and_still_serves_default_images(own_gateway: Gateway) -> None:
    gateway = own_gateway
    before = stats(gateway)
    first = legend(gateway, "ms/NoCache")
    middle = stats(gateway)
    assert middle > before and legend(gateway, "ms/NoCache") == first and stats(gateway) > middle
    base = gateway.services_url("ms/NoCache")
    for layer in first["layers"]:
        for entry in layer["legend"]:  # nothing kept: found again in the layer's default legend
            reply = fetch(f"{base}/{layer['layerId']}/images/{entry['url']}")
            assert reply.status == 200 and reply.body == base64.b64decode(entry["imageData"])
    # an image of another size is not kept by an uncached service: unknown once its legend is answered
    entries = fetch(gateway.url + "/arcbridge/stats").json()["cache"]["memory"]["entries"]
    wide = by_name(legend(gateway, "ms/NoCache", size="40,20"))["cities"]
    assert fetch(f"{base}/{wide['layerId']}/images/{wide['legend'][0]['url']}").status == 404
    assert fetch(gateway.url + "/arcbridge/stats").json()["cache"]["memory"]["entries"] == entries  # nothing kept
