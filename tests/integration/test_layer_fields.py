"""Where clauses naming a field their layer does not have are the caller's mistake (issue 10): a 400 naming the
field, checked against the layer's WFS fields where the backend publishes them, else read from the backend's
refusal; fields in another case than the backend's work like the backend's spelling."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.backends import dataspec as ds
from tests.fakes import RefusingProxy
from tests.gateway import Gateway, Reply, fetch
from tests.pixels import colour_at, rgba

pytestmark = pytest.mark.backend

WORLD = ["ms/World", "qgis/World"]  # [cities, regions, rgb]: regions is layer 1, cities layer 0
EXTENT = (-120.0, -50.0, 40.0, 80.0)
REGION_FIELDS = "id, name, category, population, established"


def export(gateway: Gateway, service: str, **params: Any) -> Reply:
    params.setdefault("f", "image")
    params.setdefault("bbox", ",".join(map(str, EXTENT)))
    params.setdefault("size", "640,520")
    params.setdefault("format", "png32")
    params.setdefault("transparent", "true")
    return fetch(gateway.services_url(service) + "/export", params)


def error_of(reply: Reply) -> dict[str, Any]:
    data: dict[str, Any] = reply.json()["error"]
    return data


def assert_regions(reply: Reply, expected: set[int]) -> None:
    assert reply.status == 200, reply.body[:500]
    image = rgba(reply.body)
    for region in ds.REGIONS:
        drawn = colour_at(image, *region.centre, EXTENT)
        if region.id in expected:
            assert drawn == (*ds.REGION_COLOURS[region.category], 255), region.name
        else:
            assert drawn[3] == 0, region.name


@pytest.mark.parametrize("service", WORLD)
@pytest.mark.parametrize("f", ["image", "json"])
def test_an_unknown_field_in_layer_defs_is_a_400_naming_it(gateway: Gateway, service: str, f: str) -> None:
    """Before: MapServer answered an exception (502), QGIS drew nothing (200)."""
    reply = export(gateway, service, layers="show:1", f=f, layerDefs=json.dumps({"1": "popul = 5 OR name = 'x'"}))
    assert reply.status == 400, reply.body[:500]
    message = error_of(reply)["message"]
    assert "'layerDefs'" in message and "field 'popul' does not exist in layer 1" in message, message
    assert f"(fields: {REGION_FIELDS})" in message


@pytest.mark.parametrize("service", WORLD)
def test_an_unknown_field_in_dynamic_layers_is_a_400_naming_it(gateway: Gateway, service: str) -> None:
    dyn = [{"id": 5, "source": {"type": "mapLayer", "mapLayerId": 0}, "definitionExpression": "population > 5"}]
    reply = export(gateway, service, dynamicLayers=json.dumps(dyn))
    assert reply.status == 400, reply.body[:500]
    message = error_of(reply)["message"]
    assert "'dynamicLayers'" in message and "field 'population' does not exist in layer 0" in message, message
    assert "(fields: id, name, category, pop)" in message


@pytest.mark.parametrize("service", WORLD)
def test_known_fields_in_another_case_work(gateway: Gateway, service: str) -> None:
    expected = ds.regions_where(lambda r: r.population > 1_000_000 and r.category != "A")
    for where in ("population > 1000000 AND category <> 'A'", "POPULATION > 1000000 AND Category <> 'A'"):
        assert_regions(export(gateway, service, layers="show:1", layerDefs=json.dumps({"1": where})), expected)
    dyn = [{"id": 7, "source": {"type": "mapLayer", "mapLayerId": 1}, "definitionExpression": "CATEGORY = 'B'"}]
    assert_regions(export(gateway, service, dynamicLayers=json.dumps(dyn), layers="show:7"),
                   ds.regions_where(lambda r: r.category == "B"))


# ------------------------------------------------------------------------------------- a backend without WFS


def test_without_wfs_the_backends_refusal_naming_the_field_is_a_400(refusing: tuple[RefusingProxy, Gateway]) -> None:
    """MapServer's own report (``Invalid Field name: popul``) names the field: 400 too; asked of the WFS once."""
    proxy, gateway = refusing
    proxy.requests.clear()
    for f in ("image", "json"):
        reply = export(gateway, "ms/NoWfs", layers="show:1", f=f, layerDefs=json.dumps({"1": "popul = 5"}))
        assert reply.status == 400, reply.body[:500]
        error = error_of(reply)
        assert "'layerDefs'" in error["message"] and "field 'popul' of layer 1" in error["message"], error
        assert any("popul" in detail for detail in error["details"])
    expected = ds.regions_where(lambda r: r.category == "A")
    assert_regions(export(gateway, "ms/NoWfs", layers="show:1", layerDefs=json.dumps({"1": "CATEGORY = 'A'"})),
                   expected)
    assert len([q for q in proxy.requests if q.get("SERVICE", "").upper() == "WFS"]) == 1  # regions, asked once



def test_a_backend_that_cannot_filter_is_not_asked_for_fields(gateway: Gateway) -> None:
    """``Plain`` (generic flavour, layer rgb) refuses layerDefs itself: no DescribeFeatureType first."""
    assert fetch(gateway.services_url("Plain"), {"f": "json"}).status == 200
    before = fetch(gateway.url + "/arcbridge/stats").json()["cache"]["backendRequests"]
    reply = export(gateway, "Plain", layerDefs=json.dumps({"0": "nosuch = 1"}))
    assert reply.status == 400 and "cannot filter" in error_of(reply)["message"], reply.body[:300]
    assert fetch(gateway.url + "/arcbridge/stats").json()["cache"]["backendRequests"] == before
