"""Layer query over WFS against the real MapServer 8 (WFS 2.0.0, GML 3.2) and QGIS Server 3.22 (WFS 1.1.0,
GeoJSON): the feature layer JSON, ``…/MapServer/<id>/query`` parameter by parameter, checked against the known
features of tests/backends/dataspec.py; bad input and backend faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pyproj import Transformer

from tests.backends import dataspec as ds
from tests.backends.servers import FastCgiBackend
from tests.fakes import RefusingProxy
from tests.gateway import Gateway, Reply, fetch
from translators.arcgis.geometry import signed_area

pytestmark = pytest.mark.backend

SERVICES = ["ms/Q", "qgis/Q"]  # layers: 0 cities, 1 regions, 2 rgb, 3 events
CITIES, REGIONS, RGB, EVENTS = 0, 1, 2, 3
CITY_FIELDS = {"OBJECTID": "esriFieldTypeOID", "id": "esriFieldTypeInteger", "name": "esriFieldTypeString",
               "category": "esriFieldTypeString", "pop": "esriFieldTypeInteger"}


@pytest.fixture(scope="module")
def refusing_sort(mapserver: FastCgiBackend) -> Iterator[RefusingProxy]:
    """MapServer's WFS behind a proxy answering every SORTBY with an OGC exception report."""
    with RefusingProxy(mapserver.url, ("SORTBY",)) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def gw(mapserver: FastCgiBackend, qgis: FastCgiBackend, refusing_sort: RefusingProxy,
       tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    def svc(url: str, flavor: str, layers: list[str], backend: dict[str, Any] | None = None,
            **extra: Any) -> dict[str, Any]:
        return {"type": "MapServer", "backend": {"url": url, "flavor": flavor, **(backend or {})}, "layers": layers,
                **extra}

    layers = ["cities", "regions", "rgb", "events"]
    config = {"services": {
        "ms/Q": svc(mapserver.url, "mapserver", layers),
        "qgis/Q": svc(qgis.url, "qgis", layers),
        "ms/Ids": svc(mapserver.url, "mapserver", layers, objectIdField="id", maxRecordCount=3),
        "qgis/Ids": svc(qgis.url, "qgis", layers, objectIdField={"cities": "id"}, maxRecordCount=3),
        "ms/Raster": svc(mapserver.url, "mapserver", ["rgb"]),
        "ms/RefusedSort": svc(mapserver.url, "mapserver", layers, backend={"wfs": refusing_sort.url}),
    }}
    with Gateway(config, tmp_path_factory.mktemp("query-gateway")) as gateway:
        yield gateway


def query(gw: Gateway, service: str, layer: int, **params: Any) -> Reply:
    params.setdefault("f", "json")
    return fetch(f"{gw.services_url(service)}/{layer}/query", params)


def ok(reply: Reply) -> Any:
    assert reply.status == 200, reply.body[:800]
    return reply.json()


def names(data: dict[str, Any]) -> list[str]:
    return [f["attributes"]["name"] for f in data["features"]]


def error(reply: Reply, status: int = 400) -> str:
    assert reply.status == status, reply.body[:800]
    message: str = reply.json()["error"]["message"]
    return message


# ------------------------------------------------------------------------------------------------ service and layers


@pytest.mark.parametrize("service", SERVICES)
def test_root_says_query_and_types_layers_by_what_they_answer(gw: Gateway, service: str) -> None:
    root = ok(fetch(gw.services_url(service), {"f": "json"}))
    assert root["capabilities"] == "Map,Query,Data" and root["supportedQueryFormats"] == "JSON, geoJSON"
    assert root["maxRecordCount"] == 1000
    assert {layer["name"]: layer["type"] for layer in root["layers"]} == {
        "cities": "Feature Layer", "regions": "Feature Layer", "rgb": "Raster Layer", "events": "Feature Layer"}


def test_a_service_without_wfs_layers_stays_map_only(gw: Gateway) -> None:
    root = ok(fetch(gw.services_url("ms/Raster"), {"f": "json"}))
    assert root["capabilities"] == "Map" and root["supportedQueryFormats"] == "JSON"
    layer = ok(fetch(gw.services_url("ms/Raster") + "/0", {"f": "json"}))
    assert layer["type"] == "Raster Layer" and layer["capabilities"] == "Map" and layer["fields"] is None


@pytest.mark.parametrize("service", SERVICES)
def test_feature_layer_json(gw: Gateway, service: str) -> None:
    cities = ok(fetch(gw.services_url(service) + "/0", {"f": "json"}))
    assert cities["type"] == "Feature Layer" and cities["geometryType"] == "esriGeometryPoint"
    assert {f["name"]: f["type"] for f in cities["fields"]} == CITY_FIELDS
    assert cities["objectIdField"] == "OBJECTID" and cities["displayField"] == "name"
    assert cities["capabilities"] == "Map,Query,Data" and cities["maxRecordCount"] == 1000
    assert cities["supportedQueryFormats"] == "JSON, geoJSON" and cities["supportsCoordinatesQuantization"] is False
    advanced = cities["advancedQueryCapabilities"]
    assert advanced["supportsPagination"] and advanced["supportsOrderBy"] and advanced["supportsReturningQueryExtent"]
    assert not advanced["supportsStatistics"] and not advanced["supportsQueryWithDistance"]
    assert cities["drawingInfo"]["renderer"]["type"] == "simple"
    regions = ok(fetch(gw.services_url(service) + "/1", {"f": "json"}))
    # MapServer describes every geometry as gml:GeometryPropertyType: the type comes from a sampled feature.
    assert regions["geometryType"] == "esriGeometryPolygon"
    assert {f["name"]: f["type"] for f in regions["fields"]}["established"] == "esriFieldTypeDate"
    x0, y0, x1, y1 = ds.REGIONS_EXTENT
    assert [regions["extent"][k] for k in ("xmin", "ymin", "xmax", "ymax")] == pytest.approx([x0, y0, x1, y1],
                                                                                             abs=1.0)
    events = ok(fetch(gw.services_url(service) + "/3", {"f": "json"}))
    assert events["timeField"] == "date" and events["timeInfo"]["startTimeField"] == "date"
    rgb = ok(fetch(gw.services_url(service) + "/2", {"f": "json"}))
    assert rgb["type"] == "Raster Layer" and rgb["capabilities"] == "Map"
    every = ok(fetch(gw.services_url(service) + "/layers", {"f": "json"}))["layers"]
    assert [layer["type"] for layer in every] == ["Feature Layer", "Feature Layer", "Raster Layer", "Feature Layer"]
    assert every[0]["fields"] == cities["fields"] and every[1]["geometryType"] == "esriGeometryPolygon"


def test_a_configured_object_id_attribute_is_the_oid_field(gw: Gateway) -> None:
    for service in ("ms/Ids", "qgis/Ids"):
        cities = ok(fetch(gw.services_url(service) + "/0", {"f": "json"}))
        assert cities["objectIdField"] == "id"
        assert {f["name"]: f["type"] for f in cities["fields"]} == {**{k: v for k, v in CITY_FIELDS.items()
                                                                        if k != "OBJECTID"}, "id": "esriFieldTypeOID"}


# ------------------------------------------------------------------------------------------------------- query


@pytest.mark.parametrize("service", SERVICES)
def test_query_by_where_answers_the_known_features(gw: Gateway, service: str) -> None:
    data = ok(query(gw, service, CITIES, where="category = 'capital' AND pop > 5000", outFields="*"))
    expected = {c.id: c for c in ds.CITIES if c.category == "capital" and c.pop > 5000}
    assert data["objectIdFieldName"] == "OBJECTID" and data["geometryType"] == "esriGeometryPoint"
    assert data["spatialReference"]["wkid"] == 4326
    got = {f["attributes"]["OBJECTID"]: f for f in data["features"]}
    assert set(got) == set(expected)
    for oid, feature in got.items():
        city = expected[oid]
        assert feature["attributes"] == {"OBJECTID": oid, "id": city.id, "name": city.name,
                                         "category": city.category, "pop": city.pop}
        assert feature["geometry"] == {"x": city.lon, "y": city.lat}
    assert "exceededTransferLimit" not in data
    like = ok(query(gw, service, CITIES, where="UPPER(name) LIKE 'P%'", outFields="name", returnGeometry="false"))
    assert sorted(names(like)) == sorted(c.name for c in ds.CITIES if c.name.upper().startswith("P"))
    assert all("geometry" not in f and set(f["attributes"]) == {"OBJECTID", "name"} for f in like["features"])


@pytest.mark.parametrize("service", SERVICES)
def test_object_ids_give_the_same_features_as_where(gw: Gateway, service: str) -> None:
    ids = ok(query(gw, service, CITIES, where="pop < 100000", returnIdsOnly="true"))
    assert ids["objectIdFieldName"] == "OBJECTID"
    assert sorted(ids["objectIds"]) == sorted(c.id for c in ds.CITIES if c.pop < 100000)
    by_where = ok(query(gw, service, CITIES, where="pop < 100000", outFields="*"))
    by_ids = ok(query(gw, service, CITIES, objectIds=",".join(map(str, ids["objectIds"])), outFields="*"))
    assert sorted(by_ids["features"], key=str) == sorted(by_where["features"], key=str)
    both = ok(query(gw, service, CITIES, objectIds="3,5,6", where="pop > 10000", outFields="name"))
    assert sorted(names(both)) == ["Plainsburg", "Sandtown"]


@pytest.mark.parametrize("service", SERVICES)
def test_a_long_object_id_list_is_posted_to_the_wfs(gw: Gateway, service: str) -> None:
    """1500 ids (QGIS AFS asks in batches of ids) make a GetFeature too long for a URL: POSTed as a form."""
    ids = [3, 5, *range(100, 1598)]
    data = ok(fetch(f"{gw.services_url(service)}/{CITIES}/query", data={
        "f": "json", "objectIds": ",".join(map(str, ids)), "outFields": "name", "returnGeometry": "false"}))
    assert sorted(names(data)) == ["Plainsburg", "Sandtown"]


@pytest.mark.parametrize("service", SERVICES)
def test_configured_ids_round_trip(gw: Gateway, service: str) -> None:
    ids_service = service.replace("/Q", "/Ids")
    data = ok(query(gw, ids_service, CITIES, objectIds="2,4", outFields="name", orderByFields="name DESC"))
    assert [(f["attributes"]["id"], f["attributes"]["name"]) for f in data["features"]] == [
        (2, "Dijonville"), (4, "Cape Haven")]


@pytest.mark.parametrize("service", SERVICES)
def test_query_by_geometry(gw: Gateway, service: str) -> None:
    box = {"xmin": 0, "ymin": 40, "xmax": 30, "ymax": 70, "spatialReference": {"wkid": 4326}}
    data = ok(query(gw, service, CITIES, geometry=json.dumps(box), geometryType="esriGeometryEnvelope",
                    spatialRel="esriSpatialRelIntersects", outFields="name"))
    assert sorted(names(data)) == sorted(c.name for c in ds.CITIES if 0 <= c.lon <= 30 and 40 <= c.lat <= 70)
    # the simple syntax, in Web Mercator (inSR), around Cape Haven only
    to_3857 = Transformer.from_crs(4326, 3857, always_xy=True)
    x0, y0 = to_3857.transform(20, -30)
    x1, y1 = to_3857.transform(30, -25)
    near = ok(query(gw, service, CITIES, geometry=f"{x0},{y0},{x1},{y1}", inSR="3857", outFields="name"))
    assert names(near) == ["Cape Haven"]
    city = ds.CITIES[0]
    at = ok(query(gw, service, REGIONS, geometry=f"{city.lon},{city.lat}", geometryType="esriGeometryPoint",
                  inSR="4326", outFields="name"))
    region = ds.region_at(city.lon, city.lat)
    assert region is not None and names(at) == [region.name]
    # Contains: the query polygon contains the features (regions wholly inside it)
    polygon = {"rings": [[[-20, 0], [-20, 75], [40, 75], [40, 0], [-20, 0]]], "spatialReference": {"wkid": 4326}}
    inside = ok(query(gw, service, REGIONS, geometry=json.dumps(polygon), geometryType="esriGeometryPolygon",
                      spatialRel="esriSpatialRelContains", outFields="name"))
    assert sorted(names(inside)) == sorted(r.name for r in ds.REGIONS if r.bbox[0] >= -20 and r.bbox[1] >= 0
                                           and r.bbox[2] <= 40 and r.bbox[3] <= 75)


@pytest.mark.parametrize("service", SERVICES)
def test_pages_add_up_to_the_count_without_duplicates(gw: Gateway, service: str) -> None:
    count = ok(query(gw, service, CITIES, where="1=1", returnCountOnly="true"))["count"]
    assert count == len(ds.CITIES)
    seen: list[int] = []
    for offset in range(0, count, 3):
        page = ok(query(gw, service, CITIES, where="1=1", outFields="pop", orderByFields="pop DESC",
                        resultOffset=offset, resultRecordCount=3))
        seen += [f["attributes"]["pop"] for f in page["features"]]
        assert page.get("exceededTransferLimit", False) == (offset + 3 < count)
    assert seen == sorted((c.pop for c in ds.CITIES), reverse=True)


def test_result_record_count_is_capped_at_max_record_count(gw: Gateway) -> None:
    for service in ("ms/Ids", "qgis/Ids"):
        data = ok(query(gw, service, CITIES, where="1=1", resultRecordCount=100, orderByFields="id"))
        assert [f["attributes"]["id"] for f in data["features"]] == [1, 2, 3]
        assert data["exceededTransferLimit"] is True


@pytest.mark.parametrize("service", SERVICES)
def test_out_sr_reprojects_locally(gw: Gateway, service: str) -> None:
    data = ok(query(gw, service, CITIES, where="id = 1", outSR="102100", geometryPrecision=2))
    to_3857 = Transformer.from_crs(4326, 3857, always_xy=True)
    x, y = to_3857.transform(ds.CITIES[0].lon, ds.CITIES[0].lat)
    assert data["spatialReference"]["wkid"] == 102100
    assert data["features"][0]["geometry"] == {"x": round(x, 2), "y": round(y, 2)}


@pytest.mark.parametrize("service", SERVICES)
def test_count_ids_and_extent_only(gw: Gateway, service: str) -> None:
    town = [r for r in ds.REGIONS if r.category == "B"]
    both = ok(query(gw, service, REGIONS, where="category = 'B'", returnCountOnly="true", returnExtentOnly="true"))
    assert both["count"] == len(town)
    extent = both["extent"]
    assert (extent["xmin"], extent["ymin"], extent["xmax"], extent["ymax"]) == (
        min(r.bbox[0] for r in town), min(r.bbox[1] for r in town), max(r.bbox[2] for r in town),
        max(r.bbox[3] for r in town))
    only = ok(query(gw, service, REGIONS, where="category = 'B'", returnExtentOnly="true"))
    assert only == {"extent": extent}
    ids = ok(query(gw, service, REGIONS, where="population > 1000000", returnIdsOnly="true"))
    assert sorted(ids["objectIds"]) == sorted(ds.regions_where(lambda r: r.population > 1_000_000))


@pytest.mark.parametrize("service", SERVICES)
def test_rings_are_clockwise_in_esri_json_and_counter_clockwise_in_geojson(gw: Gateway, service: str) -> None:
    esri = ok(query(gw, service, REGIONS, where="id = 2", outFields="*"))
    region = ds.REGIONS[1]
    feature = esri["features"][0]
    assert feature["attributes"]["name"] == region.name and feature["attributes"]["population"] == region.population
    assert feature["attributes"]["established"] == -5674838400000  # 1790-03-04T00:00Z in epoch ms
    ring = feature["geometry"]["rings"][0]
    assert signed_area(ring) < 0
    x0, y0, x1, y1 = region.bbox
    assert {tuple(p) for p in ring} == {(x0, y0), (x1, y0), (x1, y1), (x0, y1)}
    reply = query(gw, service, REGIONS, where="id = 2", outFields="name", f="geojson")
    assert reply.headers["Content-Type"].startswith("application/geo+json")
    collection = ok(reply)
    assert collection["type"] == "FeatureCollection" and collection["features"][0]["id"] == 2
    assert signed_area(collection["features"][0]["geometry"]["coordinates"][0]) > 0
    jsonp = query(gw, service, REGIONS, where="id = 2", outFields="name", f="geojson", callback="cb")
    assert jsonp.status == 200 and jsonp.body.endswith(b");") and b'"Cote d\'Or"' in jsonp.body
    paged = ok(query(gw, service, REGIONS, where="1=1", resultRecordCount=2, f="geojson"))
    assert paged["properties"]["exceededTransferLimit"] is True and len(paged["features"]) == 2


@pytest.mark.parametrize("service", SERVICES)
def test_time_selects_the_events_of_the_range(gw: Gateway, service: str) -> None:
    start, end = 1583020800000, 1591747200000  # 2020-03-01 and 2020-06-10, both included
    data = ok(query(gw, service, EVENTS, time=f"{start},{end}", returnIdsOnly="true"))
    assert sorted(data["objectIds"]) == sorted(ds.events_between("2020-03-01", "2020-06-10"))
    instant = ok(query(gw, service, EVENTS, time=str(start), outFields="name,date", returnGeometry="false"))
    assert sorted(names(instant)) == sorted(e.name for e in ds.EVENTS if e.date == "2020-03-01")
    assert {f["attributes"]["date"] for f in instant["features"]} == {start}


def test_dates_in_where(gw: Gateway) -> None:
    """QGIS evaluates the expression with to_date(); MapServer 8's WFS matches no date comparison: a 400, not an
    empty answer."""
    data = ok(query(gw, "qgis/Q", REGIONS, where="established >= DATE '1900-01-01'", returnIdsOnly="true"))
    assert sorted(data["objectIds"]) == sorted(ds.regions_where(lambda r: r.established >= "1900-01-01"))
    message = error(query(gw, "ms/Q", REGIONS, where="established >= DATE '1900-01-01'"))
    assert "'where'" in message and "'established'" in message and "time" in message


@pytest.mark.parametrize("service", SERVICES)
def test_html_and_pjson(gw: Gateway, service: str) -> None:
    page = query(gw, service, CITIES, where="id = 3", outFields="name", f="html")
    assert page.status == 200 and b"Sandtown" in page.body and page.headers["Content-Type"].startswith("text/html")
    assert names(ok(query(gw, service, CITIES, where="id = 3", outFields="name", f="pjson"))) == ["Sandtown"]


# ------------------------------------------------------------------------------------------------ bad input, faults


@pytest.mark.parametrize("service", SERVICES)
def test_unknown_fields_are_400s_naming_them(gw: Gateway, service: str) -> None:
    assert "'where'" in (m := error(query(gw, service, CITIES, where="popul > 5"))) and "'popul'" in m
    assert "'outFields'" in (m := error(query(gw, service, CITIES, outFields="name,nosuch"))) and "'nosuch'" in m
    assert "'orderByFields'" in (m := error(query(gw, service, CITIES, orderByFields="bad DESC"))) and "'bad'" in m


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(("params", "parameter"), [
    ({"f": "pbf"}, "f"),
    ({"outStatistics": '[{"statisticType":"count","onStatisticField":"id"}]'}, "outStatistics"),
    ({"returnDistinctValues": "true", "outFields": "category"}, "returnDistinctValues"),
    ({"geometry": "5,17", "geometryType": "esriGeometryPoint", "distance": "1000"}, "distance"),
    ({"quantizationParameters": '{"mode":"view"}'}, "quantizationParameters"),
    ({"geometry": '{"x": 1}', "geometryType": "esriGeometryPoint"}, "geometry"),
    ({"geometry": "1,2", "geometryType": "esriGeometryCircle"}, "geometryType"),
    ({"geometry": "0,0,1,1", "spatialRel": "esriSpatialRelRelation"}, "spatialRel"),
    ({"objectIds": "1,x"}, "objectIds"),
    ({"resultRecordCount": "-1"}, "resultRecordCount"),
])
def test_what_cannot_be_honoured_is_a_400_naming_it(gw: Gateway, service: str, params: dict[str, str],
                                                    parameter: str) -> None:
    assert f"'{parameter}'" in error(query(gw, service, CITIES, **params))


def test_layers_without_features_and_unknown_layers(gw: Gateway) -> None:
    assert "does not support query" in error(query(gw, "ms/Q", RGB))
    error(query(gw, "ms/Q", 99), 404)


def test_a_wfs_exception_is_a_502_with_its_message(gw: Gateway, refusing_sort: RefusingProxy) -> None:
    """The WFS lives at another URL (backend.wfs), which refuses SORTBY."""
    unsorted = ok(query(gw, "ms/RefusedSort", CITIES, where="id = 3", outFields="name"))
    assert names(unsorted) == ["Sandtown"]
    assert any(r.get("REQUEST") == "GetFeature" for r in refusing_sort.requests)
    reply = query(gw, "ms/RefusedSort", CITIES, orderByFields="pop")
    assert reply.status == 502, reply.body[:500]
    assert any("refused by the test proxy" in d for d in reply.json()["error"]["details"])
