"""Bad input and bad backends: ArcGIS error JSON with the right status, and the gateway keeps serving."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes import FakeWms
from tests.gateway import Gateway, Reply, fetch
from tests.pixels import rgba

pytestmark = pytest.mark.backend

GOOD = {"bbox": "-20,30,40,70", "size": "200,100", "f": "image", "format": "png"}


def export(gateway: Gateway, service: str = "ms/World", **params: Any) -> Reply:
    return fetch(gateway.services_url(service) + "/export", {**GOOD, **params})


def assert_error(reply: Reply, status: int, *words: str) -> dict[str, Any]:
    assert reply.status == status, (reply.status, reply.body[:300])
    assert reply.content_type == "application/json"
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    error = reply.json()["error"]
    assert error["code"] == status
    assert isinstance(error["details"], list)
    for word in words:
        assert word.lower() in error["message"].lower(), error
    assert "Traceback" not in reply.body.decode()
    return error  # type: ignore[no-any-return]


def assert_still_serving(gateway: Gateway) -> None:
    reply = export(gateway)
    assert reply.status == 200 and rgba(reply.body).shape == (100, 200, 4)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"bbox": None}, ["bbox", "required"]),
        ({"bbox": "1,2,3"}, ["bbox"]),
        ({"bbox": "a,b,c,d"}, ["bbox", "not a number"]),
        ({"bbox": "1,1,1,5"}, ["bbox", "zero"]),
        ({"bbox": "nan,1,2,3"}, ["bbox"]),
        ({"bbox": '{"xmin": 1, "ymin": 2}'}, ["bbox"]),
        ({"bbox": "{not json"}, ["bbox", "json"]),
        ({"size": "0,100"}, ["size"]),
        ({"size": "100"}, ["size"]),
        ({"size": "10.5,20"}, ["size"]),
        ({"size": "-5,-5"}, ["size"]),
        ({"dpi": "0"}, ["dpi"]),
        ({"dpi": "lots"}, ["dpi"]),
        ({"bboxSR": "999999"}, ["bboxSR"]),
        ({"imageSR": "abc"}, ["imageSR"]),
        ({"imageSR": '{"wkt": "GARBAGE[]"}'}, ["imageSR"]),
        ({"imageSR": '{"wkid": 5773}'}, ["imageSR"]),  # a vertical CRS
        ({"format": "tga"}, ["format"]),
        ({"format": "emf"}, ["format"]),
        ({"transparent": "maybe"}, ["transparent"]),
        ({"layers": "show:99"}, ["layers", "99"]),
        ({"layers": "display:1"}, ["layers"]),
        ({"layers": "show:x"}, ["layers"]),
        ({"layerDefs": "1:population > 5"}, ["layerDefs", "simple syntax"]),
        ({"layerDefs": '{"1": "population >"}'}, ["layerDefs"]),
        ({"layerDefs": '{"1": "population > 5; DROP TABLE x"}'}, ["layerDefs"]),
        ({"layerDefs": '{"1": "SELECT * FROM regions"}'}, ["layerDefs"]),
        ({"layerDefs": '{"1": "name = \'unterminated"}'}, ["layerDefs"]),
        ({"layerDefs": '{"42": "a = 1"}'}, ["layerDefs", "42"]),
        ({"layerDefs": '{"1": "population > 5"'}, ["layerDefs", "json"]),
        ({"time": "yesterday"}, ["time"]),
        ({"time": "5,1"}, ["time"]),
        ({"timeRelation": "esriTimeRelationSometimes", "time": "0,1"}, ["timeRelation"]),
        ({"layerTimeOptions": '{"0": {"useTime": "perhaps"}}'}, ["layerTimeOptions"]),
        ({"mapScale": "-5"}, ["mapScale"]),
        ({"rotation": "left"}, ["rotation"]),
        ({"historicMoment": "1199145600000"}, ["historicMoment"]),
        ({"gdbVersion": "sde.USER1"}, ["gdbVersion"]),
        ({"clipping": '{"geometryType": "esriGeometryEnvelope", "geometry": {}}'}, ["clipping"]),
        ({"spatialFilter": '{"geometryType": "esriGeometryEnvelope", "geometry": {}}'}, ["spatialFilter"]),
        ({"datumTransformations": "[1623]"}, ["datumTransformations"]),
        ({"layerParameterValues": '[{"0": {"floor": 10}}]'}, ["layerParameterValues"]),
        ({"mapRangeValues": '[{"name": "x", "value": 5}]'}, ["mapRangeValues"]),
        ({"layerRangeValues": '[{"0": {"x": 1}}]'}, ["layerRangeValues"]),
        ({"dynamicLayers": '[{"id": 1, "source": {"type": "dataLayer"}}]'}, ["dynamicLayers"]),
        ({"dynamicLayers": '[{"id": 1, "source": {"type": "mapLayer", "mapLayerId": 1}, '
                           '"drawingInfo": {"renderer": {"type": "simple"}}}]'}, ["dynamicLayers", "renderer"]),
        ({"f": "xml"}, ["f"]),
        ({"callback": "alert(1)//", "f": "json"}, ["callback"]),
    ],
)
def test_bad_export_parameters(gateway: Gateway, params: dict[str, Any], words: list[str]) -> None:
    query = {**GOOD, **params}
    query = {k: v for k, v in query.items() if v is not None}
    reply = fetch(gateway.services_url("ms/World") + "/export", query)
    assert_error(reply, 400, *words)


def test_errors_for_image_requests_are_json_too(gateway: Gateway) -> None:
    assert_error(export(gateway, size="a,b", f="image"), 400, "size")
    assert_error(export(gateway, size="a,b", f="kmz"), 400, "size")
    jsonp = export(gateway, size="a,b", f="json", callback="handle")
    assert jsonp.status == 400 and jsonp.content_type == "application/javascript"
    text = jsonp.body.decode()
    assert json.loads(text[text.index("handle(") + 7: text.rindex(")")])["error"]["code"] == 400


@pytest.mark.parametrize(
    "path",
    [
        "/arcgis/rest/services/nope/MapServer",
        "/arcgis/rest/services/ms/Nope/MapServer/export",
        "/arcgis/rest/services/nofolder",
        "/arcgis/rest/services/ms/World/MapServer/99",
        "/arcgis/rest/services/ms/World/MapServer/abc",
        "/arcgis/rest/services/ms/World/MapServer/1/nothing/here",
        "/arcgis/rest/services/ms/World/ImageServer",
        "/arcgis/rest/directories/arcgisoutput/_ags_mapdeadbeef.png",
        "/arcgis/rest/unknown",
        "/elsewhere",
    ],
)
def test_unknown_resources_are_404(gateway: Gateway, path: str) -> None:
    assert_error(fetch(gateway.url + path, {"f": "json"}), 404)


@pytest.mark.parametrize(
    ("service", "status", "words"),
    [
        ("bad/hang", 504, ["did not answer"]),
        ("bad/exception", 502, ["error"]),
        ("bad/garbage", 502, ["image"]),
        ("bad/html", 502, ["text/html"]),
        ("bad/error500", 502, ["500"]),
        ("bad/down", 502, ["could not be reached"]),
    ],
)
def test_failing_backends(gateway: Gateway, fake_wms: FakeWms, service: str, status: int, words: list[str]) -> None:
    reply = fetch(gateway.services_url(service) + "/export",
                  {"bbox": "-20,30,40,70", "size": "200,100", "f": "image", "format": "png32"}, timeout=30)
    error = assert_error(reply, status, *words)
    if service == "bad/exception":
        assert any("bad things" in d for d in error["details"])
    assert_still_serving(gateway)


def test_backend_with_bad_capabilities(gateway: Gateway) -> None:
    assert_error(fetch(gateway.services_url("bad/badcaps"), {"f": "json"}), 502)
    assert_error(fetch(gateway.services_url("bad/down"), {"f": "json"}), 502)
    assert_still_serving(gateway)


def test_concurrent_failures_do_not_disturb_good_requests(gateway: Gateway) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        bad = [pool.submit(fetch, gateway.services_url("bad/hang") + "/export", {**GOOD}, None, 30)
               for _ in range(3)]
        good = [pool.submit(export, gateway) for _ in range(6)]
        assert all(f.result().status == 200 for f in good)
        assert all(f.result().status == 504 for f in bad)
    assert_still_serving(gateway)


def test_external_entities_in_backend_xml_are_never_resolved(gateway: Gateway) -> None:
    reply = fetch(gateway.services_url("bad/xxe"), {"f": "json"})
    assert b"root:" not in reply.body  # /etc/passwd never reaches a client
    if reply.status == 200:
        assert reply.json()["serviceDescription"] in ("", "&secret;")
    else:
        assert_error(reply, 502)
    assert_still_serving(gateway)


def test_capabilities_are_cached_and_refreshed(gateway: Gateway, fake_wms: FakeWms) -> None:
    import time

    def caps_requests() -> int:
        return sum(1 for mode, request in fake_wms.server.requests  # type: ignore[attr-defined]
                   if mode == "refresh" and request == "getcapabilities")

    for _ in range(3):
        assert fetch(gateway.services_url("bad/refresh"), {"f": "json"}).status == 200
    first = caps_requests()
    assert first == 1  # cached
    time.sleep(0.7)
    assert fetch(gateway.services_url("bad/refresh"), {"f": "json"}).status == 200  # answered from cache at once
    deadline = time.monotonic() + 10
    while caps_requests() == first and time.monotonic() < deadline:
        time.sleep(0.05)
    assert caps_requests() == first + 1  # ... and refreshed in the background after its TTL
