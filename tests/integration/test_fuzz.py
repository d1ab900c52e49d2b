"""Property-based fuzzing of every operation against the real gateway on the real test backends (issue 10).

Random parameters — valid-ish values mixed with hostile ones (huge, NaN and infinite numbers, JSON nested a
thousand deep, odd unicode, empty and long strings, random JSON for every JSON parameter) — go to the MapServer,
ImageServer and catalog resources as GET, urlencoded POST and multipart POST.  With healthy backends no answer may
be a 500 or a 502, every other failure is ArcGIS error JSON whose code is the HTTP status, no body shows a
traceback or a source path, and a known-good export is pixel-identical after the run.

Seeded (``derandomize``): every CI run sends the same cases, so a failure reproduces.  ``FUZZ_EXAMPLES`` sets how
many (default 4000, about 25 s on two cores).
"""

from __future__ import annotations

import http.client
import json
import os
import urllib.parse
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from tests.gateway import Gateway, fetch
from tests.pixels import rgba

pytestmark = pytest.mark.backend

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4000"))
KNOWN_GOOD = {"bbox": "-20,30,40,70", "size": "200,100", "f": "image", "format": "png32"}
LEAKS = ("Traceback", 'File "', ".py\"", "/work/", "site-packages")


@dataclass(frozen=True)
class Operation:
    path: str  # below /arcgis/rest
    params: dict[str, st.SearchStrategy[str]]  # each parameter with its valid-ish values


def _one(*values: str) -> st.SearchStrategy[str]:
    return st.sampled_from(values)


def _json(value: Any) -> str:
    return json.dumps(value)


ENVELOPE = _json({"xmin": 2, "ymin": 42, "xmax": 8, "ymax": 48, "spatialReference": {"wkid": 4326}})
POLYGON = _json({"rings": [[[2, 42], [8, 42], [8, 48], [2, 42]]], "spatialReference": {"wkid": 4326}})
POINT = _json({"x": 5, "y": 45, "spatialReference": {"wkid": 4326}})
COMMON = {"f": _one("json", "pjson", "image", "json", "html"), "token": _one("abc")}
MAP_EXPORT = {
    "bbox": _one("-20,30,40,70", "-180,-90,180,90", "40,70,-20,30", ENVELOPE, "-2e6,3e6,4e6,8e6"),
    "bboxSR": _one("4326", "3857", '{"wkid": 3857}', "EPSG:4326"),
    "imageSR": _one("4326", "3857", "102100", '{"wkid": 4326}', "3035"),
    "size": _one("200,100", "1,1", "400,400", "2000,1"),
    "dpi": _one("96", "10", "300", "1000", "72.5"),
    "format": _one("png", "png8", "png24", "png32", "jpg", "gif", "bmp", "svg", "pdf", "tiff"),
    "transparent": _one("true", "false"),
    "layers": _one("show:0,1", "hide:2", "include:1", "exclude:0", "show:2", "0,1"),
    "layerDefs": _one('{"0": "population > 5000"}', '{"1": "name = \'Nordland\'"}', "0:population > 1",
                      '{"0": "name IN (\'a\', \'b\')"}'),
    "time": _one("1577836800000", "1577836800000,1601510400000", "null,1601510400000"),
    "timeRelation": _one("esriTimeRelationOverlaps", "esriTimeRelationWithin"),
    "layerTimeOptions": _one('{"0": {"useTime": true, "timeOffset": 1, "timeOffsetUnits": "esriTimeUnitsYears"}}'),
    "dynamicLayers": _one('[{"id": 1, "source": {"type": "mapLayer", "mapLayerId": 1}}]'),
    "mapScale": _one("1000000", "5e7", "1"),
    "rotation": _one("0", "45", "-90", "180"),
}
IMAGE_EXPORT = {
    "bbox": _one("0,40,10,50", "2,42,8,48", "-180,-90,180,90", ENVELOPE),
    "bboxSR": _one("4326", "3857"),
    "imageSR": _one("4326", "3857", "32631"),
    "size": _one("100,100", "1,1", "300,200"),
    "format": _one("png", "jpgpng", "tiff", "lerc", "bip", "bsq", "jpg"),
    "pixelType": _one("U8", "F32", "S16", "UNKNOWN"),
    "noData": _one("0", "-9999", "0,0,0"),
    "noDataInterpretation": _one("esriNoDataMatchAny", "esriNoDataMatchAll"),
    "interpolation": _one("RSP_NearestNeighbor", "RSP_BilinearInterpolation", "RSP_CubicConvolution"),
    "compression": _one("LZ77", "JPEG", "None"),
    "compressionQuality": _one("75", "100"),
    "bandIds": _one("0", "2,1,0", "[0]"),
    "mosaicRule": _one('{"mosaicMethod": "esriMosaicLockRaster", "lockRasterIds": [1]}',
                       '{"mosaicMethod": "esriMosaicNone"}'),
    "renderingRule": _one('{"rasterFunction": "Stretch", "rasterFunctionArguments": {"StretchType": 5}}',
                          '{"rasterFunction": "Hillshade"}', '{"rasterFunction": "None"}'),
    "time": _one("1577836800000", "1577836800000,1609372800000"),
}
IDENTIFY = {
    "geometry": _one(POINT, "5,45", '{"x": 5, "y": 45}'),
    "geometryType": _one("esriGeometryPoint", "esriGeometryEnvelope"),
    "returnGeometry": _one("true", "false"),
    "returnCatalogItems": _one("true", "false"),
    "pixelSize": _one('{"x": 0.1, "y": 0.1}'),
    "mosaicRule": IMAGE_EXPORT["mosaicRule"],
    "renderingRule": IMAGE_EXPORT["renderingRule"],
}
DOWNLOAD = {
    "rasterIds": _one("1", "1,2", "0"),
    "geometry": _one(ENVELOPE, POLYGON),
    "geometryType": _one("esriGeometryEnvelope", "esriGeometryPolygon"),
    "format": _one("TIFF", "PNG", "JPEG", "LERC"),
}
MAP_IDENTIFY = {  # MapServer identify (issue 11)
    "geometry": _one(POINT, "5,45", "{x: 5, y: 45}", ENVELOPE, POLYGON, "2,42,8,48"),
    "geometryType": _one("esriGeometryPoint", "esriGeometryEnvelope", "esriGeometryPolygon",
                         "esriGeometryMultipoint", "esriGeometryPolyline"),
    "sr": _one("4326", "3857", '{"wkid": 4326}'),
    "layers": _one("top", "visible", "all", "all:0,1", "visible:1", "top:2"),
    "tolerance": _one("3", "0", "10"),
    "mapExtent": _one("-20,30,40,70", "0,40,10,50", ENVELOPE),
    "imageDisplay": _one("400,300,96", "800,600", "256,256,192"),
    "returnGeometry": _one("true", "false"),
    "maxAllowableOffset": _one("0.01", "1"),
    "geometryPrecision": _one("2", "6"),
    "layerDefs": MAP_EXPORT["layerDefs"],
    "time": MAP_EXPORT["time"],
    "returnFieldName": _one("true", "false"),
    "returnUnformattedValues": _one("true", "false"),
    "dynamicLayers": MAP_EXPORT["dynamicLayers"],
}
LEGEND = {"size": _one("20,20", "30,10", "1,1"), "dpi": _one("96", "192", "10"),
          "dynamicLayers": MAP_EXPORT["dynamicLayers"]}
LAYER_QUERY = {  # …/MapServer/<id>/query (issue 11)
    "where": _one("1=1", "population > 5000", "pop < 100000", "name = 'Nordland'", "name LIKE 'N%'",
                  "category IN ('A', 'town')", "established > DATE '2000-01-01'"),
    "objectIds": _one("1", "1,2,3", "0"),
    "geometry": MAP_IDENTIFY["geometry"],
    "geometryType": MAP_IDENTIFY["geometryType"],
    "inSR": _one("4326", "3857"),
    "spatialRel": _one("esriSpatialRelIntersects", "esriSpatialRelEnvelopeIntersects", "esriSpatialRelContains",
                       "esriSpatialRelWithin", "esriSpatialRelTouches"),
    "outFields": _one("*", "name", "name,population", "pop,category"),
    "returnGeometry": _one("true", "false"),
    "outSR": _one("4326", "3857", "102100"),
    "returnIdsOnly": _one("true", "false"),
    "returnCountOnly": _one("true", "false"),
    "returnExtentOnly": _one("true", "false"),
    "orderByFields": _one("name", "name DESC", "population ASC, name"),
    "resultOffset": _one("0", "1", "5"),
    "resultRecordCount": _one("1", "2", "5000"),
    "time": MAP_EXPORT["time"],
    "maxAllowableOffset": _one("0.01", "1"),
    "geometryPrecision": _one("2", "6"),
    "f": _one("json", "geojson", "pjson", "html"),
}
OPERATIONS = [
    *(Operation(f"services/{name}/MapServer{tail}", {**COMMON, **extra})
      for name in ("ms/World", "ms/Time", "qgis/World", "qgis/Time", "ms/World111")
      for tail, extra in (("", {}), ("/layers", {}), ("/0", {}), ("/1", {}), ("/export", MAP_EXPORT),
                          ("/identify", MAP_IDENTIFY), ("/legend", LEGEND), ("/0/query", LAYER_QUERY),
                          ("/1/query", LAYER_QUERY), ("/2/query", LAYER_QUERY), ("/0/images/0", {}))),
    *(Operation(f"services/{name}/ImageServer{tail}", {**COMMON, **extra})
      for name in ("img/Elevation", "img/Bands", "img/ElevationQ", "img/TimeWCS", "img/TimeSeriesQ")
      for tail, extra in (("", {}), ("/exportImage", IMAGE_EXPORT), ("/identify", IDENTIFY), ("/download", DOWNLOAD),
                          ("/keyProperties", {}), ("/statistics", {}))),
    Operation("services", COMMON), Operation("services/ms", COMMON), Operation("info", COMMON),
]
JSON_PARAMETERS = {"layerDefs", "layerTimeOptions", "dynamicLayers", "mosaicRule", "renderingRule", "geometry",
                   "pixelSize", "bbox", "imageSR", "bboxSR", "sr", "inSR", "outSR", "mapExtent"}

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)  # any unicode but lone surrogates
_numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**400), 10**400))
_number_text = st.one_of(_numbers.map(str), _one("1e400", "-1e400", "1e308", "5e-324", "NaN", "inf", "-0", "0x10",
                                                  "1_000", "٣", "²"))
_json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), _numbers, _text),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(_text, children, max_size=4)),
    max_leaves=12,
)
RASTER_FUNCTIONS = ("None", "Stretch", "Hillshade", "Slope", "Aspect", "NDVI", "BandArithmetic", "Colormap",
                    "ExtractBand", "Grayscale", "Remap", "Clip", "Nope")
RASTER_ARGUMENTS = ("StretchType", "Min", "Max", "MinPercent", "MaxPercent", "Gamma", "UseGamma", "DRA",
                    "Statistics", "NumberOfStandardDeviations", "Azimuth", "Altitude", "ZFactor", "SlopeType",
                    "PSPower", "PSZFactor", "VisibleBandID", "InfraredBandID", "Method", "BandIndexes", "Colormap",
                    "ColormapName", "ColorRamp", "BandIDs", "BandNames", "MissingBandAction", "ConversionParameters",
                    "InputRanges", "OutputValues", "NoDataRanges", "AllowUnmatched", "ReplacementValue",
                    "ClippingGeometry", "ClipType", "Raster")
_rules = st.recursive(  # raster function chains with random arguments, for renderingRule
    st.fixed_dictionaries({"rasterFunction": st.sampled_from(RASTER_FUNCTIONS),
                           "rasterFunctionArguments": st.dictionaries(st.sampled_from(RASTER_ARGUMENTS), _json_values,
                                                                      max_size=4)}),
    lambda inner: st.fixed_dictionaries({"rasterFunction": st.sampled_from(RASTER_FUNCTIONS),
                                         "rasterFunctionArguments": st.fixed_dictionaries({"Raster": inner})}),
    max_leaves=3,
)
IMAGE_EXPORT["renderingRule"] = st.one_of(IMAGE_EXPORT["renderingRule"], _rules.map(json.dumps))
IDENTIFY["renderingRule"] = IMAGE_EXPORT["renderingRule"]
HOSTILE = st.one_of(
    _number_text,
    st.lists(_number_text, min_size=1, max_size=5).map(",".join),
    st.lists(st.floats(-400, 400), min_size=1, max_size=5).map(lambda v: ",".join(map(str, v))),  # near-plausible
    st.lists(st.integers(-5, 5000), min_size=1, max_size=4).map(lambda v: ",".join(map(str, v))),
    _text,
    _one("", " ", ",", "[]", "{}", "null", "true", "\x00", "%00", "../../etc/passwd", "<x>&amp;</x>", "'; DROP"),
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 3000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.integers(1, 20_000).map(lambda n: "x" * n),
    _json_values.map(lambda v: json.dumps(v, allow_nan=True)),
)


REQUIRED = {"bbox", "rasterIds", "geometry"}  # without them most operations stop at the first check


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, list[tuple[str, str]]]:
    """(method, path, parameters) of one request: an operation and some of its parameters.  A third of the requests
    are valid-ish throughout (so that planning, backends and encoders run), a third change one value in five for a
    hostile one, a third are hostile throughout (JSON parameters often random JSON); now and then a parameter the
    operation does not know is added, and names come in any case."""
    operation = draw(st.sampled_from(OPERATIONS))
    hostility = draw(st.sampled_from([0, 2, 10]))  # how many in ten values are hostile
    names = draw(st.lists(st.sampled_from(sorted(operation.params)), unique=True, max_size=len(operation.params)))
    if hostility < 10:
        names += sorted(REQUIRED.intersection(operation.params).difference(names))
    pairs: list[tuple[str, str]] = []
    for name in names:
        if draw(st.integers(0, 9)) >= hostility:
            value = draw(operation.params[name])
        elif name in JSON_PARAMETERS and draw(st.booleans()):
            value = draw(_json_values.map(lambda v: json.dumps(v, allow_nan=True)))
        else:
            value = draw(HOSTILE)
        pairs.append((draw(st.sampled_from([name, name.upper(), name.lower()])), value))
    if draw(st.integers(0, 9)) == 0:
        pairs.append((draw(_text), draw(HOSTILE)))
    method = draw(st.sampled_from(["GET", "POST", "MULTIPART"]))
    return method, f"/arcgis/rest/{operation.path}", pairs


def _multipart(pairs: list[tuple[str, str]]) -> tuple[bytes, str]:
    boundary = "fuzzboundary7MA4YWxkTrZu0gW"
    body = b""
    for name, value in pairs:
        safe_name = name.replace('"', "%22").replace("\r", " ").replace("\n", " ")
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="{safe_name}"\r\n'
                 "Content-Type: text/plain; charset=utf-8\r\n\r\n").encode() + value.encode() + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def send(gateway: Gateway, method: str, path: str, pairs: list[tuple[str, str]]) -> tuple[int, str, bytes]:
    """One request on a fresh connection; returns status, content type and body."""
    headers: dict[str, str] = {}
    body: bytes | None = None
    target = path
    if method == "GET":
        target += "?" + urllib.parse.urlencode(pairs)
    elif method == "POST":
        body = urllib.parse.urlencode(pairs).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    else:
        body, headers["Content-Type"] = _multipart(pairs)
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=60)
    try:
        conn.request("GET" if method == "GET" else "POST", target, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        conn.close()


def check(status: int, content_type: str, body: bytes, case: tuple[str, str, list[tuple[str, str]]]) -> None:
    """The properties every answer has, whatever was asked."""
    where = f"{case[0]} {case[1]} {[(k[:60], v[:200]) for k, v in case[2]]}"
    assert status not in (500, 502), f"{status} {body[:400]!r} for {where}"
    text = body.decode("utf-8", "replace")
    sent = " ".join(f"{k} {v}" for k, v in case[2])
    for leak in LEAKS:  # what the request itself carried may be echoed in a message
        assert leak not in text or leak in sent, f"{leak!r} in the answer to {where}: {text[:400]}"
    if status >= 300 and status != 304:
        asked = next((v.strip().lower() for k, v in case[2] if k.lower() == "f"), "")  # the first f wins
        if content_type.startswith("text/html"):  # f=html: the Services Directory's error page, same status
            assert asked == "html", f"{status} {content_type} for {where}"
            page = lxml_html.fromstring(body)
            assert page.xpath("string(//td[@class='code'])") == str(status), f"{text[:400]} for {where}"
            assert page.xpath("string(//td[@class='message'])"), f"{text[:400]} for {where}"
            return
        assert content_type.startswith("application/json"), f"{status} {content_type} for {where}"
        error = json.loads(body)["error"]
        assert error["code"] == status, f"{error} for {where}"
        assert isinstance(error["message"], str) and isinstance(error["details"], list)
        if asked == "html":  # JSON only for what is refused before the parameters are read (callback, body)
            assert "'callback'" in error["message"] or "'body'" in error["message"], f"{error} for {where}"


def test_fuzz_every_operation(gateway: Gateway) -> None:
    export_url = gateway.services_url("ms/World") + "/export"
    before = fetch(export_url, KNOWN_GOOD)
    assert before.status == 200
    tracebacks = gateway.log().count("Traceback")

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(requests())
    def one_request(case: tuple[str, str, list[tuple[str, str]]]) -> None:
        check(*send(gateway, *case), case)

    one_request()
    after = fetch(export_url, {**KNOWN_GOOD, "nocache": "1"})  # an unknown parameter: a fresh key, drawn again
    assert after.status == 200
    assert (rgba(after.body) == rgba(before.body)).all()
    assert gateway.log().count("Traceback") == tracebacks  # nothing unexpected, not even where the answer hid it
