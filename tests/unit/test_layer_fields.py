"""Where-clause fields against the layer's fields (issue 10): WFS schemas, the 400 naming an unknown field, the
backend's spelling, and reading a backend's refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.test_export_plan import context
from translators.arcgis.export import plan_export
from translators.arcgis.layer_fields import fields_named_unknown, refused_field_error
from translators.arcgis.layer_selection import defined_layers
from translators.errors import InvalidParameter
from translators.filters import field_names, parse_where
from translators.ogc.wfs import describe_feature_type_params, feature_fields
from translators.params import Params

DATA = Path(__file__).parent / "data"
REGIONS = ("id", "name", "category", "population", "established")
# MapServer 8's report of a FILTER naming a field its OGR layer lacks (captured)
MAPSERVER_REFUSAL = ["InvalidParameterValue: msWMSApplyFilter(): WMS server error. FLTApplyFilterToLayer() failed "
                     "msOGRLayerInitItemInfo(): OGR error. Invalid Field name: popul in layer `regions'"]


@pytest.mark.parametrize(("file", "typename", "expected"), [
    ("wfs-describe-mapserver-regions.xml", "regions", REGIONS),
    ("wfs-describe-mapserver-regions.xml", "Regions", REGIONS),
    ("wfs-describe-mapserver-regions.xml", "ms:regions", REGIONS),  # a prefixed name (GeoServer's workspaces)
    ("wfs-describe-mapserver-regions.xml", "cities", None),
    ("wfs-describe-qgis-cities.xml", "cities", ("id", "name", "category", "pop")),
    ("wfs-describe-qgis-raster.xml", "rgb", None),  # QGIS: an empty schema for a layer outside the WFS
])
def test_fields_of_a_describe_feature_type_schema(file: str, typename: str, expected: tuple[str, ...] | None) -> None:
    assert feature_fields((DATA / file).read_bytes(), typename) == expected  # geometry properties left out


def test_describe_feature_type_request() -> None:
    assert describe_feature_type_params("regions") == {
        "SERVICE": "WFS", "VERSION": "1.1.0", "REQUEST": "DescribeFeatureType", "TYPENAME": "regions"}


def regions_id() -> int:
    return next(layer.id for layer in context().tree.layers if layer.wms.name == "regions")


def test_fields_are_renamed_to_the_backends_spelling() -> None:
    ctx = context()
    layer = regions_id()
    params = Params({"bbox": "-10,40,10,50", "layerDefs": json.dumps({str(layer): "POPULATION > 5 AND Name = 'x'"})})
    plan = plan_export(params, ctx, {"regions": ("Population", "name")})
    assert field_names(plan.fetches[0].filters["regions"]) == {"Population", "name"}
    assert field_names(plan_export(params, ctx).fetches[0].filters["regions"]) == {"POPULATION", "Name"}  # unknown


def test_an_unknown_field_is_a_400_naming_field_layer_and_fields() -> None:
    ctx = context()
    layer = regions_id()
    params = Params({"bbox": "-10,40,10,50", "layerDefs": json.dumps({str(layer): "popul > 5"})})
    with pytest.raises(InvalidParameter) as raised:
        plan_export(params, ctx, {"regions": REGIONS})
    assert raised.value.parameter == "layerDefs"
    assert f"field 'popul' does not exist in layer {layer} (fields: {', '.join(REGIONS)})" in raised.value.message
    dyn = json.dumps([{"id": 9, "source": {"type": "mapLayer", "mapLayerId": layer}, "definitionExpression": "x=1"}])
    with pytest.raises(InvalidParameter, match=r"'dynamicLayers'.*field 'x' does not exist"):
        plan_export(Params({"bbox": "-10,40,10,50", "dynamicLayers": dyn}), ctx, {"regions": REGIONS})
    assert plan_export(Params({"bbox": "-10,40,10,50", "dynamicLayers": dyn}), ctx, {"cities": ("id",)}).fetches


def test_defined_layers_are_those_whose_clauses_read_fields() -> None:
    ctx = context()
    layer = regions_id()
    assert defined_layers(Params({"layerDefs": json.dumps({str(layer): "id = 1"})}), ctx.tree) == {"regions"}
    assert defined_layers(Params({"layerDefs": json.dumps({str(layer): "1 = 1"})}), ctx.tree) == set()
    assert defined_layers(Params({}), ctx.tree) == set()


def test_a_refusal_names_a_field_only_with_a_word_saying_so() -> None:
    filters = {"regions": parse_where("name = 'x' AND popul = 5"), "cities": parse_where("pop > 1")}
    assert fields_named_unknown(MAPSERVER_REFUSAL, filters) == [("popul", "regions")]  # not 'name' of "Field name"
    assert fields_named_unknown(["msWMSLoadGetMapParams(): popul is bad"], filters) == []
    assert fields_named_unknown(['column "pop" does not exist'], filters) == [("pop", "cities")]
    error = refused_field_error(MAPSERVER_REFUSAL, filters, {"regions": 1}, "layerDefs")
    assert error is not None and error.status == 400 and error.details == MAPSERVER_REFUSAL
    assert "field 'popul' of layer 1" in error.message
    assert refused_field_error(["InvalidParameterValue: bad things"], filters, {}, "layerDefs") is None
