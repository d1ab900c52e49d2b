"""Esri Leaflet ``featureLayer`` on a MapServer sublayer in headless Chromium: it reads the layer JSON (and switches
to ``f=geojson`` once it sees geoJSON in ``supportedQueryFormats``) and queries per grid cell with an envelope in
4326; the features it draws are the known ones."""

from __future__ import annotations

import json

import pytest

from tests.backends import dataspec as ds
from tests.clients.harness.chromium import Chromium
from tests.clients.harness.pages import WebPages, wait_map_loaded
from tests.gateway import Gateway

pytestmark = pytest.mark.client

WIDTH, HEIGHT = 400, 300


@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
async def test_esri_leaflet_feature_layer_draws_the_known_cities(chromium: Chromium, web_pages: WebPages,
                                                                  gateway: Gateway, service: str) -> None:
    page = await chromium.new_page(WIDTH, HEIGHT)
    url = web_pages.url("leaflet-features.html", layer=gateway.services_url(service) + "/0",
                        lonlat=(-20.0, 10.0, 40.0, 70.0), where="pop > 10000")
    await page.goto(url)
    await wait_map_loaded(page, timeout=60)
    queries = page.requests_to("/0/query")
    assert queries and all(q.status == 200 for q in queries), page.diagnostics()
    # f=json until the layer JSON (supportedQueryFormats with geoJSON) has arrived, f=geojson after
    assert all(q.params["f"] in ("json", "geojson") and q.params["geometryType"] == "esriGeometryEnvelope"
               and q.params["inSR"] == "4326" for q in queries)
    features = await page.evaluate("window.__features")
    cells = [json.loads(q.params["geometry"]) for q in queries]  # EL's grid cells (whole tiles, beyond the view)
    inside = {c.id: c for c in ds.CITIES if c.pop > 10000 and any(
        b["xmin"] <= c.lon <= b["xmax"] and b["ymin"] <= c.lat <= b["ymax"] for b in cells)}
    assert {1, 2, 3} <= set(inside)  # those in view
    assert {f["id"] for f in features} == set(inside), page.diagnostics()
    for feature in features:
        city = inside[feature["id"]]
        assert feature["type"] == "Point" and feature["coordinates"] == [city.lon, city.lat]
        assert feature["properties"]["name"] == city.name and feature["properties"]["pop"] == city.pop
    assert page.exceptions == []


async def test_esri_leaflet_feature_layer_draws_polygons(chromium: Chromium, web_pages: WebPages,
                                                         gateway: Gateway) -> None:
    page = await chromium.new_page(WIDTH, HEIGHT)
    await page.goto(web_pages.url("leaflet-features.html", layer=gateway.services_url("ms/World") + "/1",
                                  lonlat=(-120.0, -45.0, 40.0, 75.0)))
    await wait_map_loaded(page, timeout=60)
    features = await page.evaluate("window.__features")
    assert sorted(f["properties"]["name"] for f in features) == sorted(r.name for r in ds.REGIONS)
    for feature in features:
        region = next(r for r in ds.REGIONS if r.id == feature["id"])
        x0, y0, x1, y1 = region.bbox
        assert feature["type"] == "Polygon"
        assert {tuple(p) for p in feature["coordinates"][0]} == {(x0, y0), (x1, y0), (x1, y1), (x0, y1)}
