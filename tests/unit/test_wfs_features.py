"""The WFS feature core: GetFeature requests per flavour (MapServer 8 WFS 2.0.0, QGIS 3.22 WFS 1.1.0, GeoServer
2.0.0), answers (GML 3.2 captured from MapServer 8, GeoJSON as QGIS writes it), DescribeFeatureType types, and the
ArcGIS side (Esri JSON geometry, field types, object ids).  The same requests run against the real servers in
tests/integration/test_layer_query.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
from lxml import etree

from tests.backends import dataspec as ds
from translators.arcgis.features import attributes, esri_fields, feature_layer, object_id
from translators.arcgis.geometry import parse_geometry, reprojected, signed_area, to_esri
from translators.crs import resolve_sr
from translators.errors import BackendError, InvalidParameter
from translators.filters import parse_where
from translators.ogc.flavors import FLAVORS
from translators.ogc.wfs import feature_type
from translators.ogc.wfs_features import (
    FeatureRequest,
    SpatialFilter,
    getfeature_params,
    never_matches,
    parse_features,
    parse_hits,
    wkt,
)
from translators.timeutil import to_epoch_ms

DATA = Path(__file__).parent / "data"
GEOSERVER = Path("/work/shared/fixtures/geoserver")
WGS84 = resolve_sr(4326, "sr")
BOX = {"type": "Polygon", "coordinates": [[[0.0, 40.0], [0.0, 70.0], [30.0, 70.0], [30.0, 40.0], [0.0, 40.0]]]}
FES = "{http://www.opengis.net/fes/2.0}"
OGC = "{http://www.opengis.net/ogc}"


def test_mapserver_request_is_wfs_2_with_fes_2_filter_and_paging() -> None:
    request = FeatureRequest("cities", where=parse_where("pop > 20000"), sort=(("pop", True), ("id", False)),
                             start=5, count=11, spatial=SpatialFilter(BOX, "BBOX", WGS84),
                             geometry_property="msGeometry")
    params = getfeature_params(request, FLAVORS["mapserver"])
    assert {k: v for k, v in params.items() if k != "FILTER"} == {
        "SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature", "TYPENAMES": "ms:cities",
        "SORTBY": "pop DESC,id ASC", "STARTINDEX": "5", "COUNT": "11"}
    root = etree.fromstring(params["FILTER"])
    assert root.tag == f"{FES}Filter"
    and_ = root[0]
    assert and_.tag == f"{FES}And" and [c.tag for c in and_] == [f"{FES}PropertyIsGreaterThan", f"{FES}BBOX"]
    assert and_[0][0].tag == f"{FES}ValueReference" and and_[0][0].text == "pop"
    envelope = and_[1][1]
    assert envelope.get("srsName") == "urn:ogc:def:crs:EPSG::4326"
    # the urn form is lat/lon for EPSG:4326
    assert [e.text for e in envelope] == ["40.0 0.0", "70.0 30.0"]


def test_mapserver_ids_without_an_id_attribute_are_resource_ids_anded_with_the_where_clause() -> None:
    request = FeatureRequest("cities", where=parse_where("pop > 10000"), ids=(3, 5))
    root = etree.fromstring(getfeature_params(request, FLAVORS["mapserver"])["FILTER"])
    ors = root.find(f"{FES}And/{FES}Or")
    assert ors is not None and [e.get("rid") for e in ors] == ["cities.3", "cities.5"]


def test_ids_alone_go_in_the_id_parameter() -> None:
    params = getfeature_params(FeatureRequest("cities", ids=(3, 5)), FLAVORS["mapserver"])
    assert params["RESOURCEID"] == "cities.3,cities.5" and "FILTER" not in params
    assert getfeature_params(FeatureRequest("roads", ids=(1,)), FLAVORS["generic"])["FEATUREID"] == "roads.1"


def test_ids_in_an_attribute_become_an_in_list_of_the_where_clause() -> None:
    request = FeatureRequest("cities", ids=(3, 5), id_field="id")
    root = etree.fromstring(getfeature_params(request, FLAVORS["mapserver"])["FILTER"])
    assert [e.text for e in root.iter(f"{FES}Literal")] == ["3", "5"]
    assert {e.text for e in root.iter(f"{FES}ValueReference")} == {"id"}


def test_qgis_request_is_wfs_1_1_with_one_qgis_expression_and_geojson() -> None:
    """QGIS Server 3.22 ignores SORTBY beside FILTER; EXP_FILTER keeps it."""
    request = FeatureRequest("cities", where=parse_where("name LIKE 'N%'"), ids=(1, 2), start=1, count=2,
                             spatial=SpatialFilter(BOX, "Intersects", WGS84), sort=(("pop", False),),
                             properties=("name",), geometry_property="geometry")
    params = getfeature_params(request, FLAVORS["qgis"])
    assert params == {
        "SERVICE": "WFS", "VERSION": "1.1.0", "REQUEST": "GetFeature", "TYPENAME": "cities",
        "EXP_FILTER": "(\"name\" LIKE 'N%') AND $id IN (1, 2) AND intersects($geometry, transform(geom_from_wkt("
                      "'POLYGON ((0.0 40.0, 0.0 70.0, 30.0 70.0, 30.0 40.0, 0.0 40.0))'), 'EPSG:4326', "
                      "layer_property(@layer, 'crs')))",
        "PROPERTYNAME": "geometry,name", "SORTBY": "pop ASC", "STARTINDEX": "1", "MAXFEATURES": "2",
        "OUTPUTFORMAT": "application/vnd.geo+json"}


def test_hits_ask_for_the_count_only() -> None:
    params = getfeature_params(FeatureRequest("regions", hits=True, count=5, sort=(("id", False),)),
                               FLAVORS["qgis"])
    assert params == {"SERVICE": "WFS", "VERSION": "1.1.0", "REQUEST": "GetFeature", "TYPENAME": "regions",
                      "RESULTTYPE": "hits"}


def test_geoserver_request_is_wfs_2_json_with_its_workspace_type_name() -> None:
    """GeoServer's WFS 2.0.0 (capabilities captured in the shared fixtures) offers application/json."""
    caps = (GEOSERVER / "wfs200_geoserver-cap.xml").read_bytes()
    assert b"<ows:Value>application/json" in caps
    request = FeatureRequest("dov-pub:Boringen", where=parse_where("diepte_tot_m > 10"), ids=(7,), count=3)
    params = getfeature_params(request, FLAVORS["geoserver"])
    assert params["TYPENAMES"] == "dov-pub:Boringen" and params["COUNT"] == "3"
    assert params["OUTPUTFORMAT"] == "application/json" and params["VERSION"] == "2.0.0"
    root = etree.fromstring(params["FILTER"])
    assert root.find(f"{FES}And/{FES}ResourceId").get("rid") == "Boringen.7"  # type: ignore[union-attr]
    url = "http://example.org/geoserver/wfs?" + urlencode(params)
    assert dict(parse_qsl(url.partition("?")[2])) == params


def test_generic_wfs_1_1_uses_ogc_filter_and_skips_locally_without_startindex() -> None:
    params = getfeature_params(FeatureRequest("roads", where=parse_where("a = 1"), start=10, count=5),
                               FLAVORS["generic"])
    assert "STARTINDEX" not in params and params["MAXFEATURES"] == "15"
    assert etree.fromstring(params["FILTER"]).tag == f"{OGC}Filter"


def test_requests_that_never_match_are_not_sent() -> None:
    assert never_matches(FeatureRequest("a", where=parse_where("1=0")))
    assert never_matches(FeatureRequest("a", ids=()))
    assert not never_matches(FeatureRequest("a", where=parse_where("1=1")))


def test_gml_3_2_from_mapserver_is_read_lat_lon_swapped_back() -> None:
    collection = parse_features((DATA / "wfs-getfeature-mapserver-regions.xml").read_bytes())
    assert collection.sr is not None and collection.sr.wkid == 4326
    first = collection.features[0]
    region = ds.REGIONS[0]
    assert first.fid == "regions.1" and first.properties["name"] == region.name
    x0, y0, x1, y1 = region.bbox
    ring = first.geometry["coordinates"][0]  # type: ignore[index]
    assert {tuple(p) for p in ring} == {(x0, y0), (x1, y0), (x1, y1), (x0, y1)}


def test_geojson_features_and_hits() -> None:
    body = (b'{"type":"FeatureCollection","features":[{"type":"Feature","id":"cities.3","properties":'
            b'{"id":3,"pop":12000},"geometry":{"type":"Point","coordinates":[5.0,17.0]}}]}')
    collection = parse_features(body)
    assert collection.features[0].fid == "cities.3" and collection.features[0].geometry == {
        "type": "Point", "coordinates": [5.0, 17.0]}
    assert parse_hits(b'<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0" numberMatched="6" '
                      b'numberReturned="0"/>') == 6
    assert parse_hits(b'<FeatureCollection numberOfFeatures="8"/>') == 8
    with pytest.raises(BackendError):
        parse_hits(b'<FeatureCollection numberMatched="unknown"/>')


def test_describe_feature_type_types_and_geometry() -> None:
    described = feature_type((DATA / "wfs-describe-mapserver-regions.xml").read_bytes(), "regions")
    assert described is not None and described.geometry == "msGeometry"
    assert [(f.name, f.type) for f in described.fields] == [
        ("id", "integer"), ("name", "string"), ("category", "string"), ("population", "integer"),
        ("established", "date")]
    qgis = feature_type((DATA / "wfs-describe-qgis-cities.xml").read_bytes(), "cities")
    assert qgis is not None and qgis.geometry_type == "PointPropertyType"
    geoserver = feature_type((GEOSERVER / "wfs_geoserver-describefeaturetype.xml").read_bytes(), "dov-pub:Boringen")
    assert geoserver is not None and ("diepte_tot_m", "decimal") in [(f.name, f.type) for f in geoserver.fields]


def test_esri_fields_and_object_ids() -> None:
    described = feature_type((DATA / "wfs-describe-mapserver-regions.xml").read_bytes(), "regions")
    assert described is not None
    synthetic = feature_layer("regions", described, None, None)
    assert synthetic.geometry_type is None  # MapServer's generic GeometryPropertyType: sampled by the caller
    fields = esri_fields(synthetic)
    assert fields[0] == {"name": "OBJECTID", "type": "esriFieldTypeOID", "alias": "OBJECTID"}
    assert {f["name"]: f["type"] for f in fields[1:]} == {
        "id": "esriFieldTypeInteger", "name": "esriFieldTypeString", "category": "esriFieldTypeString",
        "population": "esriFieldTypeInteger", "established": "esriFieldTypeDate"}
    configured = feature_layer("regions", described, "ID", "esriGeometryPolygon")
    assert configured.oid_field == "id" and esri_fields(configured)[0]["type"] == "esriFieldTypeOID"
    feature = parse_features((DATA / "wfs-getfeature-mapserver-regions.xml").read_bytes()).features[1]
    assert object_id(feature, synthetic) == 2 and object_id(feature, configured) == 2
    values = attributes(feature, synthetic, None)
    assert values == {"OBJECTID": 2, "id": 2, "name": "Cote d'Or", "category": "B", "population": 1_530_000,
                      "established": to_epoch_ms(dt.datetime(1790, 3, 4, tzinfo=dt.UTC))}


def test_esri_polygons_have_clockwise_outer_rings_and_counter_clockwise_holes() -> None:
    outer = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 0.0]]  # counter-clockwise (RFC 7946)
    hole = [[2.0, 2.0], [2.0, 4.0], [4.0, 4.0], [4.0, 2.0], [2.0, 2.0]]  # clockwise
    esri = to_esri({"type": "Polygon", "coordinates": [outer, hole]})
    assert signed_area(esri["rings"][0]) < 0 < signed_area(esri["rings"][1])
    assert to_esri({"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]]]}) == {"paths": [[[0, 0], [1, 1]]]}
    assert to_esri({"type": "MultiPoint", "coordinates": [[1, 2]]}) == {"points": [[1, 2]]}
    assert to_esri({"type": "Point", "coordinates": [1.23456, 2.0]}, precision=2) == {"x": 1.23, "y": 2.0}


def test_input_geometries_and_reprojection() -> None:
    envelope = parse_geometry('{"xmin":0,"ymin":40,"xmax":30,"ymax":70,"spatialReference":{"wkid":4326}}',
                              None, resolve_sr(3857, "sr"))
    assert envelope.is_envelope and envelope.sr.wkid == 4326
    assert parse_geometry("5,17", "esriGeometryPoint", WGS84).geometry == {"type": "Point", "coordinates": [5, 17]}
    polygon = parse_geometry('{"rings":[[[0,0],[0,10],[10,10],[10,0],[0,0]]]}', "esriGeometryPolygon", WGS84)
    assert polygon.geometry["type"] == "Polygon"
    with pytest.raises(InvalidParameter, match="'geometry'"):
        parse_geometry('{"x": 1}', "esriGeometryPoint", WGS84)
    with pytest.raises(InvalidParameter, match="'geometryType'"):
        parse_geometry("1,2", "esriGeometryCircle", WGS84)
    moved = reprojected({"type": "Point", "coordinates": [180.0, 0.0]}, WGS84, resolve_sr(3857, "sr"))
    assert moved["coordinates"][0] == pytest.approx(20037508.342789244)
    assert wkt({"type": "MultiPoint", "coordinates": [[1.0, 2.0]]}) == "MULTIPOINT ((1.0 2.0))"
