"""Table tests of the export planner and the GetMap builder (no backend involved)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from proxy.settings import parse_settings
from translators.arcgis.export import ExportPlan, answer_key_params, plan_export
from translators.arcgis.map_context import ServiceContext, build_context
from translators.errors import InvalidParameter, UnsupportedParameter
from translators.ogc.flavors import FLAVORS
from translators.ogc.getmap import getmap_params
from translators.ogc.wms import parse_capabilities
from translators.params import Params

DATA = Path(__file__).parent / "data"
GEOSERVER_CAPS = DATA / "wms_geoserver-cap.xml"  # a copy of ../shared/fixtures/geoserver/: clean checkouts lack it


def context(flavor: str = "mapserver", layers: list[str] | None = None, caps_file: Path | None = None,
            version: str = "1.3.0", **service: Any) -> ServiceContext:
    caps = parse_capabilities((caps_file or DATA / "wms130-groups.xml").read_bytes(), version,
                              FLAVORS[flavor].fix_group_extents)
    entry: dict[str, Any] = {"type": "MapServer", "backend": {"url": "http://backend.invalid/ows", "flavor": flavor},
                             **service}
    if layers:
        entry["layers"] = layers
    settings = parse_settings({"services": {"s": entry}}).services["s"]
    return build_context(settings, caps, FLAVORS[flavor])


def lid(ctx: ServiceContext, name: str) -> int:
    """The ArcGIS id of a layer (ids put the top layer first, so they depend on the flavour's document order)."""
    return next(layer.id for layer in ctx.tree.layers if layer.name == name)


def plan(ctx: ServiceContext, **params: str) -> ExportPlan:
    return plan_export(Params(params), ctx)


def getmap(ctx: ServiceContext, p: ExportPlan, index: int = 0) -> dict[str, str]:
    return getmap_params(p.fetches[index], ctx.caps.version, ctx.flavor)


def test_defaults() -> None:
    ctx = context()
    p = plan(ctx, bbox="-10,40,10,50")
    assert (p.width, p.height, p.dpi, p.format.name, p.transparent) == (400, 400, 96.0, "png", False)
    assert p.sr.to_json() == {"wkid": 4326, "latestWkid": 4326}
    assert p.extent == pytest.approx((-10, 35, 10, 55))  # grown to the square image about its centre
    q = getmap(ctx, p)
    assert q["CRS"] == "EPSG:4326" and q["VERSION"] == "1.3.0"
    assert [float(v) for v in q["BBOX"].split(",")] == pytest.approx([35, -10, 55, 10])  # lat/lon in 1.3.0
    assert q["LAYERS"] == "rgb,regions,cities,temperature" and q["FORMAT"] == "image/png"
    assert q["MAP_RESOLUTION"] == "96" and q["TRANSPARENT"] == "FALSE"


@pytest.mark.parametrize(
    ("flavor", "dpi_key", "dpi_value"),
    [("mapserver", "MAP_RESOLUTION", "150"), ("qgis", "DPI", "150"), ("geoserver", "FORMAT_OPTIONS", "dpi:150"),
     ("generic", None, None)],
)
def test_dpi_per_flavor(flavor: str, dpi_key: str | None, dpi_value: str | None) -> None:
    ctx = context(flavor)
    q = getmap(ctx, plan(ctx, bbox="0,0,10,10", dpi="150"))
    for key in ("MAP_RESOLUTION", "DPI", "FORMAT_OPTIONS"):
        assert q.get(key) == (dpi_value if key == dpi_key else None)


@pytest.mark.parametrize(
    ("flavor", "key", "value"),
    [
        ("mapserver", "FILTER",
         '()(<ogc:Filter xmlns:ogc="http://www.opengis.net/ogc"><ogc:PropertyIsEqualTo><ogc:PropertyName>category'
         "</ogc:PropertyName><ogc:Literal>A</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>)()()"),
        ("qgis", "FILTER",
         '()()(<ogc:Filter xmlns:ogc="http://www.opengis.net/ogc"><ogc:PropertyIsEqualTo><ogc:PropertyName>category'
         "</ogc:PropertyName><ogc:Literal>A</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>)()"),
        ("geoserver", "CQL_FILTER", "INCLUDE;category = 'A';INCLUDE;INCLUDE"),
    ],
)
def test_layer_defs_per_dialect(flavor: str, key: str, value: str) -> None:
    ctx = context(flavor)
    p = plan(ctx, bbox="0,0,10,10", layerDefs=f'{{"{lid(ctx, "regions")}": "category = \'A\'"}}')
    q = getmap(ctx, p)
    if flavor == "qgis":  # QGIS documents list the top layer first
        assert q["LAYERS"] == "temperature,cities,regions,rgb"
    else:
        assert q["LAYERS"] == "rgb,regions,cities,temperature"
    assert q[key] == value


def test_never_matching_definition_leaves_the_layer_out() -> None:
    ctx = context()
    q = getmap(ctx, plan(ctx, bbox="0,0,10,10", layerDefs=f'{{"{lid(ctx, "regions")}": "1 = 0"}}'))
    assert q["LAYERS"] == "rgb,cities,temperature" and "FILTER" not in q


def test_generic_backend_refuses_layer_defs() -> None:
    ctx = context("generic")
    with pytest.raises(UnsupportedParameter, match="layerDefs"):
        getmap(ctx, plan(ctx, bbox="0,0,10,10", layerDefs='{"2": "category = \'A\'"}'))


def test_geoserver_fixture_request() -> None:
    ctx = context("geoserver", caps_file=GEOSERVER_CAPS, version="1.1.1")
    ids = {layer.name: layer.id for layer in ctx.tree.layers}
    assert set(ids) == {"opengeo:poi", "parent_layer", "child_layer"}
    p = plan(ctx, bbox="-74.01,40.71,-74.00,40.72", size="256,256", layers=f"show:{ids['opengeo:poi']}",
             layerDefs=f'{{"{ids["opengeo:poi"]}": "NAME LIKE \'Ar%\' AND THUMBNAIL IS NOT NULL"}}',
             format="jpg", dpi="120", rotation="30", transparent="true")
    q = getmap(ctx, p)
    assert q["SRS"] == "EPSG:4326" and q["VERSION"] == "1.1.1"
    assert [float(v) for v in q["BBOX"].split(",")] == pytest.approx([-74.01, 40.71, -74.0, 40.72])
    assert q["LAYERS"] == "opengeo:poi" and q["FORMAT"] == "image/jpeg"  # GeoServer draws JPEG itself
    assert q["TRANSPARENT"] == "FALSE"  # JPEG has no transparency
    assert q["CQL_FILTER"] == "NAME LIKE 'Ar%' AND THUMBNAIL IS NOT NULL"
    assert q["FORMAT_OPTIONS"] == "dpi:120"
    assert q["ANGLE"] == "-30"  # GeoServer rotates clockwise, ArcGIS counter-clockwise
    assert p.passthrough and not p.warp and not p.local_rotation


def test_group_layer_expands_to_children_and_wms_111() -> None:
    ctx = context("mapserver", layers=["overlays", "rgb"], version="1.3.0")
    q = getmap(ctx, plan(ctx, bbox="0,0,10,10", layers="show:0"))
    assert q["LAYERS"] == "regions,cities"


@pytest.mark.parametrize(
    ("params", "extent", "size", "scale"),
    [
        ({"bbox": "0,0,40,10", "size": "400,400"}, (0, -15, 40, 25), (400, 400), None),
        ({"bbox": "0,0,10,40", "size": "400,200"}, (-35, 10, 45, 30), (400, 200), None),
        ({"bbox": "10,10,30,20", "size": "200,100", "mapScale": "1e7"}, None, (200, 100), 1e7),
        ({"bbox": "0,0,60,40", "size": "3000,2000"}, (0, 0, 60, 40), (2048, 1365), None),  # caps limit 2048x1500
    ],
)
def test_extent_size_and_scale(params: dict[str, str], extent: tuple[float, ...] | None, size: tuple[int, int],
                               scale: float | None) -> None:
    p = plan(context(), **params)
    assert (p.width, p.height) == size
    if extent is not None:
        assert p.extent[0] == pytest.approx(extent[0], abs=0.01) and p.extent[2] == pytest.approx(extent[2], abs=0.01)
        assert (p.extent[3] - p.extent[1]) / (p.extent[2] - p.extent[0]) == pytest.approx(size[1] / size[0])
    if scale is not None:
        assert p.scale == pytest.approx(scale)
        assert (p.extent[0] + p.extent[2]) / 2 == pytest.approx(20)


def test_sr_choice_and_local_warp() -> None:
    ctx = context()
    direct = plan(ctx, bbox="-1000000,5000000,1000000,7000000", bboxSR="102100", imageSR="102100")
    assert not direct.warp and getmap(ctx, direct)["CRS"] == "EPSG:3857"
    assert direct.sr.to_json() == {"wkid": 102100, "latestWkid": 3857}
    warped = plan(ctx, bbox="-1000000,5000000,1000000,7000000", bboxSR="3395", imageSR="3395")
    assert warped.warp and getmap(ctx, warped)["CRS"] == "EPSG:4326"
    fetch = warped.fetches[0]
    assert fetch.transparent  # alpha marks what the warp must not invent
    # a square-pixel fetch covering the whole requested extent
    pixel_x, pixel_y = (fetch.bbox[2] - fetch.bbox[0]) / fetch.width, (fetch.bbox[3] - fetch.bbox[1]) / fetch.height
    assert pixel_x == pytest.approx(pixel_y)
    with pytest.raises(UnsupportedParameter, match="format"):
        plan(ctx, bbox="-1000000,5000000,1000000,7000000", imageSR="3395", bboxSR="3395", format="svg")


def test_formats_passthrough_and_local() -> None:
    ctx = context()
    assert plan(ctx, bbox="0,0,1,1", format="jpg").passthrough
    assert plan(ctx, bbox="0,0,1,1", format="svg").passthrough
    png = plan(ctx, bbox="0,0,1,1", format="png8")
    assert not png.passthrough and png.fetches[0].mime == "image/png"
    gif = plan(ctx, bbox="0,0,1,1", format="GIF", transparent="True")
    assert not gif.passthrough and gif.fetches[0].transparent
    assert plan(ctx, bbox="0,0,1,1", format="pdf").fetches[0].mime == "image/png"  # backend lists no PDF
    with pytest.raises(UnsupportedParameter):
        plan(ctx, bbox="0,0,1,1", format="emf")
    with pytest.raises(InvalidParameter):
        plan(ctx, bbox="0,0,1,1", format="webp")


def test_time_grouping_and_open_ends() -> None:
    ctx = context()
    p = plan(ctx, bbox="0,0,10,10", time="1585699200000")  # 2020-04-01
    assert len(p.fetches) == 1 and getmap(ctx, p)["TIME"] == "2020-04-01T00:00:00Z"
    p = plan(ctx, bbox="0,0,10,10", time="null,1585699200000")
    assert getmap(ctx, p)["TIME"] == "2020-01-01T00:00:00Z/2020-04-01T00:00:00Z"  # closed with the layer's start
    rgb, temperature = lid(ctx, "rgb"), lid(ctx, "temperature")
    p = plan(ctx, bbox="0,0,10,10", time="1585699200000", layers=f"show:{rgb},{temperature}",
             layerTimeOptions=f'{{"{temperature}": {{"useTime": false}}}}')
    assert len(p.fetches) == 1 and "TIME" not in getmap(ctx, p)
    p = plan(ctx, bbox="0,0,10,10", time="1585699200000", layerTimeOptions=f'{{"{temperature}": {{"timeOffset": 3, '
             '"timeOffsetUnits": "esriTimeUnitsMonths"}}')
    assert getmap(ctx, p)["TIME"] == "2020-01-01T00:00:00Z"
    p = plan(ctx, bbox="0,0,10,10", time="1577836800000,1585699200000",
             timeRelation="esriTimeRelationWithin")
    assert getmap(ctx, p)["TIME"] == "2020-01-01T00:00:00.001Z/2020-03-31T23:59:59.999Z"


def test_rotation_choices() -> None:
    ms = context("mapserver")
    p = plan(ms, bbox="0,0,10,10", rotation="45")
    assert getmap(ms, p)["ANGLE"] == "-45" and not p.local_rotation
    qgis = context("qgis")
    p = plan(qgis, bbox="0,0,10,10", rotation="45", size="100,100")
    assert p.local_rotation == 45 and "ANGLE" not in getmap(qgis, p)
    assert p.fetches[0].width > 100 and p.fetches[0].height > 100  # drawn larger, then rotated and cropped


def test_dynamic_layers_order() -> None:
    ctx = context()
    dynamic = (f'[{{"id": 7, "source": {{"type": "mapLayer", "mapLayerId": {lid(ctx, "rgb")}}}}}, '
               f'{{"id": 8, "source": {{"type": "mapLayer", "mapLayerId": {lid(ctx, "overlays")}}}}}]')
    p = plan(ctx, bbox="0,0,10,10", dynamicLayers=dynamic)
    assert getmap(ctx, p)["LAYERS"] == "regions,cities,rgb"  # rgb drawn on top, as listed first
    p = plan(ctx, bbox="0,0,10,10", layers="show:8", dynamicLayers=dynamic)
    assert getmap(ctx, p)["LAYERS"] == "regions,cities"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"bbox": "0,0,1"}, "bbox"),
        ({}, "bbox"),
        ({"bbox": "0,0,1,1", "size": "0,10"}, "size"),
        ({"bbox": "0,0,1,1", "dpi": "5000"}, "dpi"),
        ({"bbox": "0,0,1,1", "imageSR": "123456789"}, "imageSR"),
        ({"bbox": "0,0,1,1", "layerDefs": '{"1": "x = 1"}'}, "layerDefs"),  # 1 is a group layer
        ({"bbox": "0,0,1,1", "historicMoment": "5"}, "historicMoment"),
        ({"bbox": "0,0,1,1", "time": "1,0"}, "time"),
    ],
)
def test_refusals_name_the_parameter(params: dict[str, str], parameter: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        plan(context(), **params)
    assert info.value.parameter == parameter


BASE_COMPOSED = {"bbox": "-10,40,10,50", "size": "300,200", "format": "gif"}  # GIF is always encoded locally


@pytest.mark.parametrize(("same", "params"), [
    (True, {}),
    (True, {"bbox": "-10.0,40.000,1e1,5e1", "dpi": "96", "transparent": "false", "bboxSR": "4326"}),
    (True, {"format": "GIF", "imageSR": "4326", "rotation": "0", "_ts": "1"}),
    (False, {"format": "png8"}),
    (False, {"transparent": "true"}),
    (False, {"size": "301,200"}),
    (False, {"dpi": "120"}),
    (False, {"rotation": "30"}),
    (False, {"imageSR": "3857"}),
    (False, {"bbox": "-10,40,10,50.5"}),
    (False, {"layers": "show:2"}),
    (False, {"format": "tiff"}),
])
def test_composed_answers_are_keyed_by_what_they_are_made_of(same: bool, params: dict[str, str]) -> None:
    ctx = context()
    base = answer_key_params(plan(ctx, **BASE_COMPOSED), ctx.caps.version, ctx.flavor)
    other_plan = plan(ctx, **{**BASE_COMPOSED, **params})
    assert not other_plan.passthrough
    assert (answer_key_params(other_plan, ctx.caps.version, ctx.flavor) == base) is same


@pytest.mark.parametrize(("flavor", "bbox_sr", "version"), [
    ("mapserver", "4326", "1.1.1"),  # lat/lon axis order: asked in 1.1.1 (x/y), which MapServer draws faster
    ("mapserver", "3857", "1.3.0"),
    ("qgis", "4326", "1.3.0"),
    ("generic", "4326", "1.3.0"),
])
def test_getmap_version_per_flavour(flavor: str, bbox_sr: str, version: str) -> None:
    ctx = context(flavor)
    bbox = "-10,40,10,50" if bbox_sr == "4326" else "-1000000,5000000,1000000,6000000"
    query = plan(ctx, bbox=bbox, bboxSR=bbox_sr, imageSR=bbox_sr).fetches[0]
    wire = ctx.flavor.getmap_version(ctx.caps.version, query.sr, query.crs_code)
    assert wire == version
    q = getmap_params(query, wire, ctx.flavor)
    axis = "SRS" if version == "1.1.1" else "CRS"
    assert q["VERSION"] == version and q[axis] == f"EPSG:{bbox_sr}"
    if bbox_sr == "4326":  # 1.1.1 keeps x/y, 1.3.0 follows EPSG:4326's lat/lon order
        expected = [-10.0, 35.0, 10.0, 55.0] if version == "1.1.1" else [35.0, -10.0, 55.0, 10.0]
        assert [float(v) for v in q["BBOX"].split(",")] == pytest.approx(expected)
