"""The pure parts of identify: geometry spellings, the shapes WFS selects by, the legacy layerDefs form, the
GetFeatureInfo window and parameters per flavour, and reading both answer shapes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.test_export_plan import context, lid
from translators.arcgis.features import FeatureLayer
from translators.arcgis.identify import (
    display_field,
    legacy_layer_defs,
    parse_image_display,
    parse_tolerance,
    plan_identify,
    select_candidates,
)
from translators.arcgis.identify_features import selections
from translators.arcgis.identify_geometry import identify_geometry, parse_geometry_type
from translators.crs import resolve_sr
from translators.errors import InvalidParameter
from translators.ogc.flavors import FLAVORS
from translators.ogc.getfeatureinfo import InfoQuery, click_window, feature_info_params, parse_feature_info
from translators.ogc.getmap import MapQuery
from translators.ogc.wfs import WfsField
from translators.ogc.wfs_features import geometry_bbox
from translators.params import Params

# Answers captured from MapServer 8 (GML) and QGIS Server 3.22 (JSON) at Sandtown (5, 17).
MAPSERVER_GML = b"""<?xml version="1.0" encoding="UTF-8"?>
<msGMLOutput xmlns:gml="http://www.opengis.net/gml">
  <cities_layer><gml:name>Cities</gml:name>
    <cities_feature><gml:boundedBy><gml:Box srsName="EPSG:4326">
      <gml:coordinates>5.000000,17.000000 5.000000,17.000000</gml:coordinates></gml:Box></gml:boundedBy>
      <id>3</id><name>Sandtown</name><category>town</category><pop>12000</pop></cities_feature>
  </cities_layer>
  <regions_layer><gml:name>Regions</gml:name>
    <regions_feature><gml:boundedBy><gml:Box srsName="EPSG:4326">
      <gml:coordinates>-10.000000,10.000000 20.000000,25.000000</gml:coordinates></gml:Box></gml:boundedBy>
      <id>3</id><name>Sahara Sud</name></regions_feature>
  </regions_layer>
  <rgb_layer><gml:name>RGB cells</gml:name>
    <rgb_feature><x>5.125</x><y>17.125</y><value_0>1</value_0><value_1>2</value_1><value_2>3</value_2>
      <value_list>1,2,3</value_list><red>1</red></rgb_feature>
    <rgb_feature><x>4.875</x><y>16.875</y><value_0>129</value_0><value_1>101</value_1><value_2>200</value_2>
      <value_list>129,101,200</value_list><red>129</red></rgb_feature>
  </rgb_layer>
</msGMLOutput>"""
QGIS_JSON = b"""{"features":[
 {"geometry":{"coordinates":[5.0,17.0],"type":"Point"},"id":"cities.3",
  "properties":{"category":"town","id":3,"name":"Sandtown","pop":12000},"type":"Feature"},
 {"id":"rgb","properties":{"Band 1":"129","Band 2":"101","Band 3":"200"},"type":"Feature"}],
 "type":"FeatureCollection"}"""


WGS84 = resolve_sr(4326, "sr")


def test_geometry_spellings() -> None:
    assert identify_geometry("5,17", "esriGeometryPoint", WGS84).points == ((5.0, 17.0),)
    assert identify_geometry('{"x": 5, "y": 17}', "esriGeometryPoint", WGS84).points == ((5.0, 17.0),)
    qgis = identify_geometry("{x: 12.3, y: -45.6}", "esriGeometryPoint", WGS84)  # QGIS' unquoted keys
    assert qgis.points == ((12.3, -45.6),)
    moved = identify_geometry("{x: 1113194.9079327357, y: 0, spatialReference: {wkid: 3857}}", "esriGeometryPoint",
                              WGS84)  # read in its own SR, moved into sr
    assert moved.points[0] == pytest.approx((10.0, 0.0))
    assert identify_geometry("1,2,3,4", "esriGeometryEnvelope", WGS84).bbox == (1.0, 2.0, 3.0, 4.0)
    envelope = identify_geometry('{"xmin":1,"ymin":2,"xmax":3,"ymax":4}', "esriGeometryEnvelope", WGS84)
    assert envelope.bbox == (1, 2, 3, 4) and envelope.shape["type"] == "Polygon"
    multi = identify_geometry('{"points": [[1, 2], [3, 4]]}', "esriGeometryMultipoint", WGS84)
    assert multi.points == ((1, 2), (3, 4))
    polygon = identify_geometry('{"rings": [[[0,0],[0,1],[1,1],[0,0]]]}', "esriGeometryPolygon", WGS84)
    assert polygon.shape["type"] == "Polygon" and polygon.bbox == (0, 0, 1, 1)
    line = identify_geometry("{paths: [[[0,0],[2,1]]]}", "esriGeometryPolyline", WGS84)
    assert line.shape == {"type": "MultiLineString", "coordinates": [[[0.0, 0.0], [2.0, 1.0]]]}
    assert parse_geometry_type("point") == "esriGeometryPoint"
    assert parse_geometry_type("ESRIGEOMETRYPOLYGON") == "esriGeometryPolygon"
    assert parse_geometry_type(None) == "esriGeometryPoint"


def test_selections() -> None:
    point = identify_geometry("5,17", "esriGeometryPoint", WGS84)
    (box,) = selections(point, 0.5)
    assert geometry_bbox(box) == (4.5, 16.5, 5.5, 17.5)
    envelope = identify_geometry("1,2,3,4", "esriGeometryEnvelope", WGS84)
    assert geometry_bbox(selections(envelope, 1)[0]) == (0, 1, 4, 5)
    assert len(selections(identify_geometry("{points: [[1, 2], [3, 4]]}", "esriGeometryMultipoint", WGS84), 1)) == 2
    polygon = identify_geometry('{"rings": [[[0,0],[0,1],[1,1],[0,0]]]}', "esriGeometryPolygon", WGS84)
    assert selections(polygon, 1) == [polygon.shape]


@pytest.mark.parametrize(("text", "kind"), [
    ("abc", "esriGeometryPoint"), ("1,2,3", "esriGeometryPoint"), ("{x: 1}", "esriGeometryPoint"),
    ('{"x": "a", "y": 1}', "esriGeometryPoint"), ("{x: 1, y: NaN}", "esriGeometryPoint"),
    ("1,2", "esriGeometryPolygon"), ('{"rings": [[[0,0],[1,1]]]}', "esriGeometryPolygon"),
    ('{"points": []}', "esriGeometryMultipoint"), ("[1, 2]", "esriGeometryPoint"), (None, "esriGeometryPoint"),
])
def test_bad_geometry(text: str | None, kind: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        identify_geometry(text, kind, WGS84)
    assert raised.value.parameter == "geometry"


def test_legacy_layer_defs() -> None:
    assert legacy_layer_defs("0:pop > 5;1:name = 'a;b'") == '{"0": "pop > 5", "1": "name = \'a;b\'"}'
    assert legacy_layer_defs('{"0": "x = 1"}') == '{"0": "x = 1"}'
    assert legacy_layer_defs(None) is None
    with pytest.raises(InvalidParameter):
        legacy_layer_defs("pop > 5")


def test_tolerance_and_image_display() -> None:
    assert parse_tolerance(Params({"tolerance": "3"})) == 3
    for bad in ("", "1.5", "-1", "101"):
        with pytest.raises(InvalidParameter):
            parse_tolerance(Params({"tolerance": bad}))
    assert parse_image_display(Params({"imageDisplay": "800,600,144"}), (1, 2400)) == (800, 600, 144.0)
    assert parse_image_display(Params({"imageDisplay": "800,600"}), (1, 2400)) == (800, 600, 96.0)
    with pytest.raises(InvalidParameter):
        parse_image_display(Params({"imageDisplay": "800,600,5"}), (10, 1000))


def test_window_and_parameters_per_flavour() -> None:
    box, size = click_window(5.0, 17.0, 0.1, 0.1, 3)
    assert size == 7 and box == pytest.approx((4.65, 16.65, 5.35, 17.35))
    sr = resolve_sr(4326, "sr")
    query = InfoQuery(MapQuery(layers=("regions", "cities"), bbox=box, sr=sr, crs_code="EPSG:4326", width=7,
                               height=7, mime="image/png", transparent=True, dpi=144), 3, 3, 3)
    qgis = feature_info_params(query, "1.3.0", FLAVORS["qgis"])
    assert qgis["REQUEST"] == "GetFeatureInfo" and qgis["QUERY_LAYERS"] == "regions,cities"
    assert (qgis["I"], qgis["J"], qgis["INFO_FORMAT"], qgis["WITH_GEOMETRY"]) == ("3", "3", "application/json", "TRUE")
    assert qgis["FI_POINT_TOLERANCE"] == qgis["FI_POLYGON_TOLERANCE"] == "3" and qgis["DPI"] == "144"
    mapserver = feature_info_params(query, "1.1.1", FLAVORS["mapserver"])
    assert (mapserver["X"], mapserver["Y"], mapserver["INFO_FORMAT"]) == ("3", "3", "application/vnd.ogc.gml")
    assert mapserver["MAP_RESOLUTION"] == "144" and not any(k.startswith("FI_") for k in mapserver)


def test_reading_mapserver_gml() -> None:
    found = parse_feature_info(MAPSERVER_GML, ["cities", "regions", "rgb"], (4.9, 16.9))
    (city,) = found["cities"]
    assert dict(city.attributes) == {"id": "3", "name": "Sandtown", "category": "town", "pop": "12000"}
    assert city.geometry == {"type": "Point", "coordinates": [5.0, 17.0]} and city.raster_values is None
    assert found["regions"][0].geometry == {"type": "Envelope", "coordinates": [-10.0, 10.0, 20.0, 25.0]}
    (pixel,) = found["rgb"]  # the pixel nearest the click
    assert pixel.raster_values == ("129", "101", "200") and dict(pixel.attributes) == {}


def test_reading_qgis_json() -> None:
    found = parse_feature_info(QGIS_JSON, ["cities", "regions", "rgb"], (5.0, 17.0))
    assert found["cities"][0].attributes["name"] == "Sandtown" and "regions" not in found
    assert found["rgb"][0].raster_values == ("129", "101", "200")


def test_display_field() -> None:
    assert display_field({"id": "3", "NAME": "x", "category": "a"}) == "NAME"
    assert display_field({"id": "3", "code": "17", "label": "x"}) == "label"
    assert display_field({"id": 3}) == "id"
    assert display_field({}) == ""


def test_plan_routes_layers_and_honours_scale_ranges() -> None:
    """Layers described by WFS go by GetFeature (not at scales their range excludes); the others by
    GetFeatureInfo, grouped in one request; layerDefs ride along where GetFeatureInfo takes them."""
    ctx = context("qgis")
    regions = FeatureLayer("regions", (WfsField("name", "string", None),), "geometry", "esriGeometryPolygon", None,
                           "name")
    layers = f"all:{lid(ctx, 'regions')},{lid(ctx, 'cities')},{lid(ctx, 'rgb')}"  # rgb is not queryable

    def plan(extent: str, **extra: str) -> Any:
        return plan_identify(Params({"geometry": "5,45", "tolerance": "2", "mapExtent": extent, "layers": layers,
                                     "imageDisplay": "400,400,96", "sr": "4326", **extra}), ctx, None,
                             {"regions": regions})

    near = plan("0,40,10,50")  # 1:~9.4 million: regions are drawn
    assert [lookup.name for lookup in near.lookups] == ["regions"]
    spatial = near.lookups[0].request.spatial
    assert spatial is not None and geometry_bbox(spatial.geometry) == pytest.approx((4.95, 44.95, 5.05, 45.05))
    assert [q.map.layers for q in near.queries] == [("cities",)]
    far = plan("-100,-50,100,150")  # 1:~190 million, beyond the regions' 1:50 million
    assert far.lookups == () and [c.layer.name for c in far.candidates] == ["cities"]
    assert [q.map.layers for q in far.queries] == [("cities",)]
    with_defs = plan("0,40,10,50", layerDefs=f'{{"{lid(ctx, "regions")}": "name = \'x\'", '
                                             f'"{lid(ctx, "cities")}": "pop > 5"}}')
    assert with_defs.lookups[0].request.where is not None
    assert list(with_defs.queries[0].map.filters) == ["cities"]  # QGIS' GetFeatureInfo takes FILTER


def test_layer_modes() -> None:
    """``visible``/``top`` start from the default visibility, ``all`` from every queryable layer; ids narrow both
    (a group brings its sub-layers); candidates are top first."""
    ctx = context("qgis", hiddenLayers=["cities"])
    overlays, regions, cities = lid(ctx, "overlays"), lid(ctx, "regions"), lid(ctx, "cities")

    def names(layers: str | None) -> list[str]:
        params = {"layers": layers} if layers else {}
        return [c.layer.name for c in select_candidates(Params(params), ctx.tree)[1]]

    assert names(None) == names("top") == names("visible") == ["regions"]  # rgb is not queryable
    assert names("all") == ["regions", "cities"]  # QGIS lists the top layer first: regions
    assert names(f"visible:{cities}") == ["cities"]  # named: the client shows it
    assert names(f"all:{overlays}") == ["regions", "cities"] and names(f"visible:{overlays}") == ["regions"]
    assert names(f"all:{cities},{regions}") == ["regions", "cities"]
    assert names("visible:-1") == names("all:") == []
    for bad in ("visible:99", "all:x", "some", "top:1.5"):
        with pytest.raises(InvalidParameter) as raised:
            names(bad)
        assert raised.value.parameter == "layers"
