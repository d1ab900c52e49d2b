"""The layer-query planner (pure): ArcGIS query parameters → WFS feature requests, and answers → ArcGIS JSON.  The
same plans run against the real servers in tests/integration/test_layer_query.py."""

from __future__ import annotations

from typing import Any

import pytest

from translators.arcgis.features import FeatureLayer, feature_layer
from translators.arcgis.geometry import to_esri
from translators.arcgis.query import plan_query, query_answer
from translators.crs import resolve_sr
from translators.errors import InvalidParameter, UnsupportedParameter
from translators.limits import Limits
from translators.ogc.flavors import FLAVORS
from translators.ogc.wfs import FeatureType, WfsField
from translators.ogc.wfs_features import FeatureCollection, WfsFeature, getfeature_params
from translators.params import Params

CITIES = FeatureType((WfsField("id", "integer"), WfsField("name", "string", 40), WfsField("pop", "integer")),
                     "msGeometry", "GeometryPropertyType")
WGS84 = resolve_sr(4326, "sr")


def plan(layer: FeatureLayer | None = None, **params: Any) -> Any:
    params.setdefault("f", "json")
    return plan_query(params_of(params), layer or feature_layer("cities", CITIES, None, "esriGeometryPoint"), WGS84,
                      5, Limits())


def params_of(values: dict[str, Any]) -> Params:
    return Params({k: str(v) for k, v in values.items()})


def test_features_ask_one_more_than_the_page_capped_at_max_record_count() -> None:
    p = plan(where="POP > 5", outFields="Name", resultOffset=10, resultRecordCount=50, orderByFields="pop DESC")
    request = p.request
    assert p.mode == "features" and p.limit == 5 and request.count == 6 and request.start == 10
    assert request.properties == ("name",)  # the layer's spelling; OBJECTID (feature ids) needs no property
    assert p.out_fields == ("OBJECTID", "name")
    assert request.sort == (("pop", True),)  # feature-id OIDs cannot be sorted on: nothing appended


def test_the_id_attribute_is_appended_to_the_sort_for_stable_pages() -> None:
    layer = feature_layer("cities", CITIES, "ID", "esriGeometryPoint")
    assert layer.oid_field == "id"
    assert plan(layer, orderByFields="name").request.sort == (("name", False), ("id", False))
    assert plan(layer, objectIds="3, 5,3").request.ids == (3, 5)


@pytest.mark.parametrize(("rel", "fes"), [("esriSpatialRelContains", "Within"), ("esriSpatialRelWithin", "Contains"),
                                          ("esriSpatialRelEnvelopeIntersects", "BBOX"),
                                          ("esriSpatialRelIntersects", "Intersects")])
def test_spatial_relations_read_from_the_feature_side(rel: str, fes: str) -> None:
    spatial = plan(geometry="0,0,10,10", spatialRel=rel).request.spatial
    assert spatial is not None and spatial.relation == fes


def test_geometry_is_sent_in_wgs84() -> None:
    spatial = plan(geometry='{"x": 1113194.9079327357, "y": 0}', geometryType="esriGeometryPoint",
                   inSR="3857").request.spatial
    assert spatial is not None and spatial.sr.wkid == 4326
    assert spatial.geometry["coordinates"] == pytest.approx([10.0, 0.0])


def test_modes() -> None:
    assert plan(returnCountOnly="true").request.hits
    ids = plan(returnIdsOnly="true")
    assert ids.mode == "ids" and ids.request.count == 51 and not ids.request.return_geometry
    assert getfeature_params(ids.request, FLAVORS["mapserver"])["PROPERTYNAME"] == "id"  # no geometry fetched
    # … yet a spatial filter still names the geometry property: MapServer refuses a spatial operator without it
    located = plan(returnIdsOnly="true", geometry="5,45", geometryType="esriGeometryPoint").request
    assert "<fes:ValueReference>msGeometry</fes:ValueReference>" in getfeature_params(
        located, FLAVORS["mapserver"])["FILTER"]
    assert plan(returnExtentOnly="true", returnCountOnly="true").mode == "count_extent"
    assert plan(where="1=0").empty and plan(objectIds=",").empty


@pytest.mark.parametrize(("params", "parameter"), [
    ({"where": "OBJECTID = 3"}, "where"),
    ({"orderByFields": "OBJECTID"}, "orderByFields"),
    ({"orderByFields": "pop UP"}, "orderByFields"),
    ({"outFields": "nope"}, "outFields"),
    ({"f": "pbf"}, "f"),
    ({"f": "kml"}, "f"),
    ({"having": "count(*) > 1"}, "having"),
])
def test_refusals_name_the_parameter(params: dict[str, str], parameter: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        plan(**params)
    assert caught.value.parameter == parameter
    assert isinstance(caught.value, UnsupportedParameter) or parameter in ("outFields", "orderByFields", "f")


def test_answer_json_and_geojson() -> None:
    layer = feature_layer("cities", CITIES, None, "esriGeometryPoint")
    features = [WfsFeature(f"cities.{i}", {"id": str(i), "name": f"c{i}", "pop": "7"},
                           {"type": "Point", "coordinates": [float(i), 1.0]}) for i in range(1, 4)]
    collection = FeatureCollection(features, WGS84)
    p = plan(layer, outFields="*", resultRecordCount=2)
    answer = query_answer(p, FeatureCollection(features, WGS84), None, WGS84)
    assert answer["exceededTransferLimit"] is True and len(answer["features"]) == 2
    assert answer["features"][0] == {"attributes": {"OBJECTID": 1, "id": 1, "name": "c1", "pop": 7},
                                     "geometry": {"x": 1.0, "y": 1.0}}
    assert [f["name"] for f in answer["fields"]] == ["OBJECTID", "id", "name", "pop"]
    geojson = query_answer(plan(layer, f="geojson", outFields="name"), collection, None, WGS84)
    assert geojson["features"][0] == {"type": "Feature", "id": 1, "geometry": {"type": "Point",
                                      "coordinates": [1.0, 1.0]}, "properties": {"OBJECTID": 1, "name": "c1"}}
    assert query_answer(plan(layer, returnIdsOnly="true"), collection, None, WGS84) == {
        "objectIdFieldName": "OBJECTID", "objectIds": [1, 2, 3]}


def test_max_allowable_offset_generalises_lines() -> None:
    line = {"type": "LineString", "coordinates": [[0.0, 0.0], [1.0, 0.01], [2.0, 0.0], [3.0, 5.0]]}
    assert to_esri(line, max_offset=0.1) == {"paths": [[[0.0, 0.0], [2.0, 0.0], [3.0, 5.0]]]}
    assert to_esri(line)["paths"][0] == line["coordinates"]
