"""Hostile requests found by fuzzing (issue 10): each is a 400 (or 414/431) in ArcGIS error JSON, never a 500 or a
502 with a healthy backend."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any

import numpy as np
import pytest

from tests.backends import dataspec as ds
from tests.gateway import Gateway, Reply, fetch
from tests.integration.test_errors import assert_error, assert_still_serving
from tests.pixels import rgba

pytestmark = pytest.mark.backend

BOX = {"bbox": "-20,30,40,70", "size": "200,100"}


def post(url: str, body: bytes, content_type: str) -> Reply:
    """POST raw bytes with the given Content-Type (urllib would not send the broken bodies this file needs)."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return Reply(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, err.headers, err.read())


def part(name: str | None, value: bytes, headers: str = "") -> bytes:
    disposition = "form-data" if name is None else f'form-data; name="{name}"'
    return f"--XX\r\nContent-Disposition: {disposition}\r\n{headers}\r\n".encode() + value + b"\r\n"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded; charset=nosuch", b"f=json"),  # LookupError
        ("application/x-www-form-urlencoded", b"f=json&bbox=\xff\xfe"),  # UnicodeDecodeError
        ("multipart/form-data", b"f=json"),  # no boundary
        ("multipart/form-data; boundary=XX", part(None, b"json") + b"--XX--\r\n"),  # a part without a name
        ("multipart/form-data; boundary=XX", b'--XX\r\nContent-Disposition: form-data; name="f"\r\n\r\njs'),
        ("multipart/form-data; boundary=XX",  # nested multipart
         part("f", b'--YY\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--YY--',
              "Content-Type: multipart/mixed; boundary=YY\r\n") + b"--XX--\r\n"),
        ("multipart/form-data; boundary=XX", part("f", b"json", "Content-Type: text/plain; charset=nosuch\r\n")
         + b"--XX--\r\n"),
        ("multipart/form-data; boundary=XX", part("f", b"\xff\xfe", "Content-Type: text/plain; charset=utf-8\r\n")
         + b"--XX--\r\n"),
        ("multipart/form-data; boundary=XX", part("\x08", b"0.0") + b"--XX--\r\n"),  # found by test_fuzz
    ],
)
def test_malformed_bodies_are_400(gateway: Gateway, content_type: str, body: bytes) -> None:
    reply = post(gateway.services_url("ms/World") + "/export?bbox=-20,30,40,70", body, content_type)
    assert_error(reply, 400, "body")


@pytest.mark.parametrize(
    ("service", "operation", "params", "words"),
    [
        ("img/Elevation", "exportImage",
         {"mosaicRule": '{"mosaicMethod": "esriMosaicLockRaster", "lockRasterIds": [1e400]}'}, ["mosaicRule"]),
        ("img/Elevation", "exportImage", {"mosaicRule": '{"lockRasterIds": [NaN]}'}, ["mosaicRule"]),
        ("ms/World", "export", {**BOX, "dynamicLayers": '[{"id": 1, "source": {"type": "mapLayer", '
                                                         '"mapLayerId": 1e400}}]'}, ["dynamicLayers"]),
        ("ms/World", "export", {**BOX, "dynamicLayers": '[{"id": 1, "source": {"type": "mapLayer", '
                                                         f'"mapLayerId": 1{"0" * 400}}}}}]'}, ["dynamicLayers"]),
        ("ms/Time", "export", {**BOX, "time": "1577836800000",
                               "layerTimeOptions": '{"0": {"timeOffset": 1e300}}'}, ["layerTimeOptions"]),
        ("ms/Time", "export", {**BOX, "time": "1577836800000",
                               "layerTimeOptions": '{"0": {"timeOffset": "NaN"}}'}, ["layerTimeOptions"]),
        ("ms/Time", "export", {**BOX, "time": "1577836800000", "layerTimeOptions":
                               '{"0": {"timeOffset": 100000, "timeOffsetUnits": "esriTimeUnitsYears"}}'},
         ["layerTimeOptions"]),
        ("ms/Time", "export", {**BOX, "time": "1577836800000", "layerTimeOptions":  # within bounds, out of dates
                               '{"0": {"timeOffset": 9000, "timeOffsetUnits": "esriTimeUnitsYears"}}'},
         ["layerTimeOptions"]),
    ],
)
def test_overflowing_numbers_are_400(gateway: Gateway, service: str, operation: str, params: dict[str, str],
                                     words: list[str]) -> None:
    kind = "ImageServer" if service.startswith("img/") else "MapServer"
    reply = fetch(f"{gateway.services_url(service, kind)}/{operation}", {"f": "json", **params})
    assert_error(reply, 400, *words)


DEEP = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


@pytest.mark.parametrize(
    ("service", "operation", "name"),
    [
        ("ms/World", "export", "layerDefs"),
        ("ms/World", "export", "dynamicLayers"),
        ("ms/World", "export", "layerTimeOptions"),
        ("ms/World", "export", "imageSR"),
        ("ms/World", "export", "bbox"),
        ("img/Elevation", "exportImage", "mosaicRule"),
        ("img/Elevation", "exportImage", "renderingRule"),
        ("img/Elevation", "identify", "geometry"),
        ("img/Elevation", "download", "geometry"),
    ],
)
@pytest.mark.parametrize("deep", [DEEP, DEEP_OBJECT])
def test_deep_json_is_400(gateway: Gateway, service: str, operation: str, name: str, deep: str) -> None:
    kind = "ImageServer" if service.startswith("img/") else "MapServer"
    data: dict[str, Any] = {"f": "json", "rasterIds": "1", "geometryType": "esriGeometryPolygon", **BOX, name: deep}
    reply = fetch(f"{gateway.services_url(service, kind)}/{operation}", data=data)
    assert_error(reply, 400, name)


@pytest.mark.parametrize(
    ("service", "operation", "params", "words"),
    [
        ("img/Elevation", "exportImage", {"bbox": "-1e308,-1e308,1e308,1e308"}, ["bbox"]),
        ("img/Elevation", "exportImage", {"bbox": "-1e300,-1e300,1e300,1e300"}, ["bbox"]),
        ("ms/World", "export", {**BOX, "mapScale": "5e-324"}, ["mapScale"]),
        ("ms/World", "export", {**BOX, "mapScale": "1e-20"}, ["mapScale"]),
        ("qgis/World", "export", {"bbox": "-1e10,-1e10,1e10,1e10"}, ["bbox"]),  # QGIS Server answers HTTP 500
        ("qgis/World", "export", {"bbox": "0,0,1e-300,1e-300"}, ["bbox"]),  # QGIS Server: "BBOX is invalid"
        ("ms/World", "export", {"bbox": '{"xmin": -1e308, "ymin": 0, "xmax": 1e308, "ymax": 1}'}, ["bbox"]),
        ("img/Elevation", "download", {"rasterIds": "1", "geometryType": "esriGeometryPolygon",
                                       "geometry": '{"rings": [[]]}'}, ["geometry"]),
        ("img/Elevation", "download", {"rasterIds": "1", "geometryType": "esriGeometryPolygon",
                                       "geometry": '{"rings": [[[1, 2]]]}'}, ["geometry"]),
    ],
)
def test_undrawable_extents_are_400(gateway: Gateway, service: str, operation: str, params: dict[str, str],
                                    words: list[str]) -> None:
    kind = "ImageServer" if service.startswith("img/") else "MapServer"
    reply = fetch(f"{gateway.services_url(service, kind)}/{operation}", {"f": "image", **params})
    assert_error(reply, 400, *words)


@pytest.mark.parametrize("dpi", ["1", "2", "9.9", "1001", "2400"])
def test_dpi_outside_what_mapserver_draws_is_400(gateway: Gateway, dpi: str) -> None:
    reply = fetch(gateway.services_url("ms/World") + "/export", {**BOX, "f": "image", "dpi": dpi})
    assert_error(reply, 400, "dpi", "10 and 1000")


@pytest.mark.parametrize(("backend", "dpi", "vendor"), [("mapserver", "10", "MAP_RESOLUTION"),
                                                        ("mapserver", "1000", "MAP_RESOLUTION"),
                                                        ("qgis", "1", "DPI"), ("qgis", "2400", "DPI")])
def test_dpi_within_the_backends_range_draws(request: pytest.FixtureRequest, gateway: Gateway, backend: str, dpi: str,
                                             vendor: str) -> None:
    service = "ms/World" if backend == "mapserver" else "qgis/World"
    box = "-20,30,40,60"  # the image's 2:1 shape: the extent is drawn as asked
    reply = fetch(gateway.services_url(service) + "/export",
                  {"bbox": box, "size": "200,100", "f": "image", "format": "png", "dpi": dpi})
    assert reply.status == 200 and reply.content_type == "image/png", reply.body[:300]
    # The backend's own picture at that resolution (symbols and outlines scale with it).
    own = fetch(request.getfixturevalue(backend).url, {
        "SERVICE": "WMS", "VERSION": "1.1.1", "REQUEST": "GetMap", "LAYERS": "rgb,regions,cities", "STYLES": "",
        "SRS": "EPSG:4326", "BBOX": box, "WIDTH": "200", "HEIGHT": "100", "FORMAT": "image/png",
        "TRANSPARENT": "FALSE", vendor: dpi})
    assert own.status == 200 and own.content_type == "image/png", own.body[:300]
    assert np.array_equal(rgba(reply.body)[..., :3], rgba(own.body)[..., :3])


@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
def test_a_filter_too_long_for_a_getmap_url_goes_by_post(gateway: Gateway, service: str) -> None:
    # 1,000 values (within limits.maxClauseValues) make ~150 kB of Filter XML: more than a URL the backend reads, so
    # the GetMap is POSTed as a form (MapServer 8 and QGIS Server 3.22 both take it) and draws what the short
    # clause draws.
    shown = [city.pop for city in ds.CITIES if city.category == "capital"]
    fillers = [n for n in range(1000) if n not in shown]
    long_where = f"pop IN ({','.join(str(n) for n in shown + fillers)})"
    short_where = f"pop IN ({','.join(str(n) for n in shown)})"
    url = gateway.services_url(service) + "/export"
    params = {"bbox": "-180,-90,180,90", "size": "360,180", "f": "image", "format": "png32", "layers": "show:0"}
    long_reply = fetch(url, data={**params, "layerDefs": json.dumps({"0": long_where})})
    short_reply = fetch(url, {**params, "layerDefs": json.dumps({"0": short_where})})
    assert long_reply.status == 200 and long_reply.content_type == "image/png", long_reply.body[:300]
    assert short_reply.status == 200
    assert np.array_equal(rgba(long_reply.body), rgba(short_reply.body))
    assert rgba(short_reply.body)[..., 3].any()  # the capitals are drawn


def test_a_filter_too_long_even_for_a_form_is_400(gateway: Gateway) -> None:
    # 9,000 values within the clause limits still make ~1.4 MB of Filter XML: more than the 1 MiB form limit.
    where = "pop IN (" + ",".join(str(100_000 + i) for i in range(9000)) + ")"
    data = {**BOX, "f": "image", "layerDefs": json.dumps({"0": where})}
    reply = fetch(gateway.services_url("ms/World") + "/export", data=data)
    assert_error(reply, 400, "layerDefs", "by POST")
    assert_still_serving(gateway)


def raw_http(gateway: Gateway, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes on a real socket and parse the one answer (status, lower-cased headers, body)."""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=30) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /arcgis/rest/info?f=json&x=" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
         414),
        (b"GET /arcgis/rest/info?f=json HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 50_000 +
         b"\r\nConnection: close\r\n\r\n", 431),
        (b"GET /arcgis/rest/info?f=json HTTP/1.1\r\nHost: t\r\n" + b"".join(b"X-H%d: 1\r\n" % i for i in range(200))
         + b"Connection: close\r\n\r\n", 431),
        (b"POST /arcgis/rest/info?f=json HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
         b"Content-Encoding: gzip\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789", 400),
    ],
)
def test_oversized_or_undecodable_requests_are_arcgis_json(gateway: Gateway, request_bytes: bytes, status: int) -> None:
    got, headers, body = raw_http(gateway, request_bytes)
    assert got == status, body[:300]
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["error"]["code"] == status
    assert_still_serving(gateway)


# Found by test_fuzz.py: answers MapServer refused (502) for requests the gateway should answer itself.

@pytest.mark.parametrize("bbox", ["-2e6,3e6,4e6,8e6", "900,0,1000,50", "-100,1000,-50,2000"])
def test_geographic_extents_outside_the_world_are_400(gateway: Gateway, bbox: str) -> None:
    reply = fetch(gateway.services_url("ms/Time") + "/export", {"bbox": bbox, "f": "image"})
    assert_error(reply, 400, "bbox", "outside the world")


def test_an_absurd_geographic_extent_is_400(gateway: Gateway) -> None:
    # 2000 by 1 pixels of the world grow it to ±180,000° of longitude, which MapServer cannot rotate
    reply = fetch(gateway.services_url("ms/World") + "/export",
                  {"bbox": "-180,-90,180,90", "size": "2000,1", "rotation": "-90", "f": "image"})
    assert_error(reply, 400, "bbox")


@pytest.mark.parametrize("size", ["1,1", "1,100", "100,1"])
def test_images_one_pixel_thin_are_rotated_locally(gateway: Gateway, size: str) -> None:
    reply = fetch(gateway.services_url("ms/World") + "/export",
                  {"bbox": "-20,30,40,70", "size": size, "rotation": "30", "f": "image", "format": "png"})
    assert reply.status == 200 and reply.content_type == "image/png", reply.body[:300]
    width, height = (int(v) for v in size.split(","))
    assert rgba(reply.body).shape == (height, width, 4)


@pytest.mark.parametrize("params", [{"time": "1546300800000"},  # 2019: before every layer's extent
                                    {"time": "1577836800000,1601510400000", "layerTimeOptions":
                                     '{"0": {"timeOffset": 1, "timeOffsetUnits": "esriTimeUnitsYears"}}'}])
def test_a_time_outside_a_layers_extent_leaves_the_layer_out(gateway: Gateway, params: dict[str, str]) -> None:
    url = gateway.services_url("ms/Time") + "/export"
    base = {**BOX, "f": "image", "format": "png32", "transparent": "true"}
    reply = fetch(url, {**base, **params})
    assert reply.status == 200 and reply.content_type == "image/png", reply.body[:300]
    # The same as drawing only the layers whose (offset) time falls in their extent: none in 2019, only
    # temperature (id 1) when events (id 0) are offset by a year.
    if "layerTimeOptions" in params:
        expected = rgba(fetch(url, {**base, "time": params["time"], "layers": "show:1"}).body)
        assert expected[..., 3].any()
    else:
        expected = np.zeros_like(rgba(reply.body))
    assert np.array_equal(rgba(reply.body), expected)


def test_a_filter_on_a_field_the_layer_lacks_is_400(gateway: Gateway) -> None:
    reply = fetch(gateway.services_url("ms/World") + "/export",
                  {**BOX, "f": "image", "layerDefs": '{"0": "nosuchfield > 5000"}'})
    error = assert_error(reply, 400, "layerDefs")
    assert "nosuchfield" in " ".join([error["message"], *error["details"]])
