"""Catalog and MapServer metadata resources, built from the real backends' capabilities."""

from __future__ import annotations

import pytest

from tests.backends import dataspec as ds
from tests.gateway import Gateway, fetch

pytestmark = pytest.mark.backend

ROOT_KEYS = {
    "currentVersion", "serviceDescription", "mapName", "description", "copyrightText", "capabilities",
    "supportedImageFormatTypes", "spatialReference", "initialExtent", "fullExtent", "units", "layers", "tables",
    "singleFusedMapCache", "maxImageWidth", "maxImageHeight", "documentInfo",
}


def test_info_and_catalog(gateway: Gateway) -> None:
    info = fetch(gateway.url + "/arcgis/rest/info", {"f": "json"}).json()
    assert info["currentVersion"] >= 10
    root = fetch(gateway.url + "/arcgis/rest/services", {"f": "pjson"}).json()
    assert root["folders"] == ["ms", "qgis", "img", "bad"]
    assert {"name": "Plain", "type": "MapServer"} in root["services"]
    folder = fetch(gateway.url + "/arcgis/rest/services/MS/", {"f": "json"}).json()
    assert {"name": "ms/World", "type": "MapServer"} in folder["services"]
    assert all(s["name"].startswith("ms/") for s in folder["services"])
    page = fetch(gateway.url + "/arcgis/rest/services")
    assert page.status == 200 and page.content_type == "text/html"


@pytest.mark.parametrize("service", ["ms/All", "qgis/All"])
def test_service_root(gateway: Gateway, service: str) -> None:
    data = fetch(gateway.services_url(service), {"f": "json"}).json()
    assert set(data) >= ROOT_KEYS
    assert "Map" in data["capabilities"]
    assert data["singleFusedMapCache"] is False and data["tables"] == []
    assert data["spatialReference"]["wkid"] == 4326
    assert data["units"] == "esriDecimalDegrees"
    assert data["mapName"] == ds.MAP_TITLE
    assert data["serviceDescription"] == ds.MAP_ABSTRACT
    for key in ("initialExtent", "fullExtent"):
        ext = data[key]
        assert ext["spatialReference"]["wkid"] == 4326
        assert ext["xmin"] == pytest.approx(-180) and ext["xmax"] == pytest.approx(180)
    assert "PNG32" in data["supportedImageFormatTypes"] and "JPG" in data["supportedImageFormatTypes"]
    assert ("SVG" in data["supportedImageFormatTypes"]) is (service == "ms/All")
    names = {layer["name"]: layer for layer in data["layers"]}
    assert {"regions", "cities", "rgb", "events", "overlays"} <= set(names)
    group = names["overlays"]
    assert group["parentLayerId"] == -1
    assert sorted(group["subLayerIds"]) == sorted([names["regions"]["id"], names["cities"]["id"]])
    assert names["regions"]["parentLayerId"] == group["id"]
    assert names["rgb"]["subLayerIds"] is None
    for layer in data["layers"]:
        assert {"id", "name", "parentLayerId", "defaultVisibility", "subLayerIds", "minScale", "maxScale"} <= set(layer)
    assert data["timeInfo"]["timeExtent"][0] <= 1579046400000  # the first event, 2020-01-15


def test_web_mercator_service_sr_and_time_info(gateway: Gateway) -> None:
    data = fetch(gateway.services_url("ms/Time"), {"f": "json"}).json()
    assert [layer["name"] for layer in data["layers"]] == ["events", "temperature"]
    time_info = data["timeInfo"]
    assert time_info["timeExtent"] == [1577836800000, 1609372800000]  # 2020-01-01 … 2020-12-31
    temperature = fetch(gateway.services_url("ms/Time") + "/1", {"f": "json"}).json()
    assert temperature["timeInfo"]["timeExtent"] == [1577836800000, 1601510400000]  # … 2020-10-01
    assert temperature["timeInfo"]["defaultTimeInterval"] == 3
    assert temperature["timeInfo"]["defaultTimeIntervalUnits"] == "esriTimeUnitsMonths"


def test_layers_and_layer_resources(gateway: Gateway) -> None:
    layers = fetch(gateway.services_url("ms/All") + "/layers", {"f": "json"}).json()
    by_name = {layer["name"]: layer for layer in layers["layers"]}
    regions = by_name["regions"]
    group = by_name["overlays"]
    assert regions["parentLayer"] == {"id": group["id"], "name": "overlays"}
    assert group["type"] == "Group Layer"
    assert {s["name"] for s in group["subLayers"]} == {"regions", "cities"}
    ext = regions["extent"]
    assert (ext["xmin"], ext["ymin"], ext["xmax"], ext["ymax"]) == pytest.approx(ds.REGIONS_EXTENT, abs=0.01)
    single = fetch(gateway.services_url("ms/All") + f"/{regions['id']}/", {"f": "pjson"}).json()
    assert single["name"] == "regions" and single["id"] == regions["id"]
    assert "timeInfo" in by_name["events"] and "timeInfo" not in regions


def test_qgis_group_extent_comes_from_its_children(gateway: Gateway) -> None:
    layers = fetch(gateway.services_url("qgis/All") + "/layers", {"f": "json"}).json()
    group = next(layer for layer in layers["layers"] if layer["name"] == "overlays")
    ext = group["extent"]
    lons = [c.lon for c in ds.CITIES] + [ds.REGIONS_EXTENT[0], ds.REGIONS_EXTENT[2]]
    lats = [c.lat for c in ds.CITIES] + [ds.REGIONS_EXTENT[1], ds.REGIONS_EXTENT[3]]
    union = (min(lons), min(lats), max(lons), max(lats))
    assert (ext["xmin"], ext["ymin"], ext["xmax"], ext["ymax"]) == pytest.approx(union, abs=0.01)


def test_html_default_jsonp_cors(gateway: Gateway) -> None:
    page = fetch(gateway.services_url("ms/World"))
    assert page.status == 200 and page.content_type == "text/html" and b"regions" in page.body
    jsonp = fetch(gateway.services_url("ms/World") + "/", {"f": "json", "callback": "my.handler"})
    assert jsonp.content_type == "application/javascript" and b"my.handler(" in jsonp.body
    assert jsonp.headers["Access-Control-Allow-Origin"] == "*"
    import urllib.request

    request = urllib.request.Request(gateway.services_url("ms/World") + "/export", method="OPTIONS",
                                     headers={"Origin": "http://example.org", "Access-Control-Request-Method": "GET",
                                              "Access-Control-Request-Headers": "x-requested-with"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert resp.headers["Access-Control-Allow-Headers"] == "x-requested-with"


def test_configured_limits_are_reported(gateway: Gateway) -> None:
    data = fetch(gateway.services_url("ms/Small"), {"f": "json"}).json()
    assert (data["maxImageWidth"], data["maxImageHeight"]) == (300, 200)
