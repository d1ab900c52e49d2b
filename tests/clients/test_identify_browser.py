"""Esri Leaflet identifies through the gateway in headless Chromium: ``L.esri.identifyFeatures`` and the popup of a
``dynamicMapLayer`` (which sends the legacy ``layerDefs`` form and ``layers=visible:…``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.backends import dataspec as ds
from tests.clients.harness.chromium import Chromium
from tests.clients.harness.pages import WebPages, wait_map_loaded
from tests.gateway import Gateway

pytestmark = pytest.mark.client

WIDTH, HEIGHT = 400, 300
LONLAT = (-20.0, 0.0, 40.0, 45.0)

IDENTIFY = """
new Promise(function (resolve) {
  var task = L.esri.identifyFeatures({url: %(url)s}).on(window.__map).at(L.latLng(%(lat)r, %(lon)r))
    .layers(%(layers)s).tolerance(3);
  %(extra)s
  task.run(function (error, collection, raw) {
    resolve({error: error ? String(error.message || error) : null, collection: collection, raw: raw});
  });
})
"""

POPUP = """
window.__layer.bindPopup(function (error, collection) {
  window.__popup = {error: error ? String(error.message || error) : null, collection: collection};
  return error ? 'error' : collection.features.map(function (f) { return f.properties.name; }).join(',');
});
window.__map.fire('click', {latlng: L.latLng(LAT, LON)});
true
"""


async def run_identify(chromium: Chromium, web_pages: WebPages, gateway: Gateway, service: str, lon: float,
                       lat: float, layers: str, extra: str = "") -> dict[str, Any]:
    page = await chromium.new_page(WIDTH, HEIGHT)
    url = gateway.services_url(service)
    await page.goto(web_pages.leaflet_dynamic(url, lonlat=LONLAT, crs=3857))
    await wait_map_loaded(page, timeout=60)
    result: dict[str, Any] = await page.evaluate(IDENTIFY % {
        "url": json.dumps(url), "lat": lat, "lon": lon, "layers": json.dumps(layers), "extra": extra})
    (request,) = page.requests_to("/MapServer/identify")
    assert request.status == 200, page.diagnostics()
    assert request.params["sr"] == "4326" and request.params["tolerance"] == "3"
    assert page.exceptions == []
    return result


@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
async def test_esri_leaflet_identify_features(chromium: Chromium, web_pages: WebPages, gateway: Gateway,
                                              service: str) -> None:
    city = ds.CITIES[2]  # Sandtown, in Sahara Sud
    result = await run_identify(chromium, web_pages, gateway, service, city.lon, city.lat, "all:0,1")
    assert result["error"] is None
    features = result["collection"]["features"]
    # The answer lists the top layer first; Esri Leaflet turns each result into a GeoJSON feature
    # (arcgisToGeoJSON), keeping layerId, and reverses the list (the raw answer in place) for its own use.
    assert [r["layerId"] for r in result["raw"]["results"]] == [1, 0]
    assert [(f["layerId"], f["properties"]["name"]) for f in features] == [(1, "Sahara Sud"), (0, city.name)]
    assert features[1]["geometry"] == {"type": "Point", "coordinates": [city.lon, city.lat]}
    assert features[1]["properties"]["pop"] == str(city.pop)
    assert result["raw"]["results"][1]["attributes"]["category"] == city.category


async def test_esri_leaflet_identify_with_legacy_layer_defs(chromium: Chromium, web_pages: WebPages,
                                                            gateway: Gateway) -> None:
    x, y = ds.REGIONS[2].centre  # Sahara Sud, category A
    kept = await run_identify(chromium, web_pages, gateway, "qgis/World", x, y, "all:1",
                              "task.layerDef(1, \"category = 'A'\");")
    assert [f["properties"]["name"] for f in kept["collection"]["features"]] == ["Sahara Sud"]
    dropped = await run_identify(chromium, web_pages, gateway, "qgis/World", x, y, "all:1",
                                 "task.layerDef(1, \"category = 'B'\");")
    assert dropped["error"] is None and dropped["collection"]["features"] == []


@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
async def test_dynamic_map_layer_popup(chromium: Chromium, web_pages: WebPages, gateway: Gateway,
                                       service: str) -> None:
    """A click on a ``dynamicMapLayer`` with a popup identifies the visible layers and shows the answer."""
    city = ds.CITIES[1]  # Dijonville, in Cote d'Or
    page = await chromium.new_page(WIDTH, HEIGHT)
    await page.goto(web_pages.leaflet_dynamic(gateway.services_url(service), lonlat=LONLAT, crs=3857))
    await wait_map_loaded(page, timeout=60)
    await page.evaluate(POPUP.replace("LAT", repr(city.lat)).replace("LON", repr(city.lon)))
    popup = await page.wait_for("window.__popup", timeout=30)
    (request,) = page.requests_to("/MapServer/identify")
    assert request.status == 200, page.diagnostics()
    assert request.params["layers"].startswith("visible")
    assert popup["error"] is None
    names = [f["properties"].get("name") for f in popup["collection"]["features"]]
    assert city.name in names and "Cote d'Or" in names, names
    content = await page.wait_for("document.querySelector('.leaflet-popup-content') && "
                                  "document.querySelector('.leaflet-popup-content').textContent", timeout=30)
    assert city.name in content
