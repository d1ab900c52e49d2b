"""The legend's pure parts: the backends' class lists (captured MapServer GetStyles and QGIS JSON legends, a GeoServer
JSON legend in GSIP-173's shape), the GetLegendGraphic requests per flavour, and the legend request's parameters."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from proxy.settings import parse_settings
from tests.backends import dataspec as ds
from translators.arcgis.legend import (
    LegendEntry,
    build_entries,
    dump_entries,
    fit_icon,
    image_key,
    layer_legend,
    load_entries,
    parse_legend,
)
from translators.arcgis.map_context import ServiceContext, build_context
from translators.errors import BackendError, InvalidParameter
from translators.ogc.flavors import FLAVORS
from translators.ogc.legend import (
    LegendRoute,
    LegendRule,
    json_legend_params,
    legend_graphic_params,
    parse_geoserver_json,
    parse_getstyles,
    parse_qgis_json,
)
from translators.ogc.wms import parse_capabilities
from translators.params import Params

DATA = Path(__file__).parent / "data"


def context(flavor: str = "mapserver") -> ServiceContext:
    caps = parse_capabilities((DATA / "wms130-groups.xml").read_bytes(), "1.3.0")
    entry: dict[str, Any] = {"type": "MapServer", "backend": {"url": "http://backend.invalid/ows", "flavor": flavor}}
    return build_context(parse_settings({"services": {"s": entry}}).services["s"], caps, FLAVORS[flavor])


def png(size: tuple[int, int], colour: tuple[int, int, int, int] = (255, 0, 0, 255)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, colour).save(out, "PNG")
    return out.getvalue()


def test_mapserver_getstyles_lists_class_names_and_their_values() -> None:
    xml = (DATA / "mapserver-getstyles.xml").read_bytes()  # MapServer 8's answer for cities,regions,events
    assert parse_getstyles(xml, "cities") == [LegendRule("Capital", "Capital", ("capital",)),
                                              LegendRule("Town", "Town", ("town",))]
    assert parse_getstyles(xml, "regions") == [LegendRule("Category A", "Category A", ("A",)),
                                               LegendRule("Category B", "Category B", ("B",))]
    assert parse_getstyles(xml, "events") == [LegendRule("Event", "Event", ())]  # a class without EXPRESSION
    assert parse_getstyles(xml, "rgb") == []  # a raster has no NamedLayer in GetStyles
    for bad in (b"<html>", b"<html><body>Proxy error</body></html>"):
        with pytest.raises(BackendError):
            parse_getstyles(bad, "cities")


def test_qgis_json_legend_symbols_single_symbols_and_iconless_rasters() -> None:
    cities = parse_qgis_json((DATA / "qgis-legend-cities.json").read_bytes(), "Cities")
    assert cities == [LegendRule("Capital", "Capital"), LegendRule("Town", "Town")]
    # A single-symbol layer has its icon on the node: drawn by RULE=<layer title>, label empty as in ArcGIS.
    events = parse_qgis_json((DATA / "qgis-legend-events.json").read_bytes(), "Events (time-enabled)")
    assert events == [LegendRule("", "Events (time-enabled)")]
    # QGIS 3.22 rasters: titles without icons; the untitled one is left out, the other has no rule (a blank patch).
    dem = parse_qgis_json((DATA / "qgis-legend-dem.json").read_bytes(), "Elevation")
    assert dem == [LegendRule("Band 1 (Gray)", None)]
    for bad in (b"not json", b'{"nodes": []}', b"[]"):
        with pytest.raises(BackendError):
            parse_qgis_json(bad, "x")


def test_an_inline_qgis_icon_fits_the_patch_when_its_rule_cannot_be_drawn() -> None:
    [capital, _] = parse_qgis_json((DATA / "qgis-legend-cities.json").read_bytes(), "Cities")
    assert capital.icon is not None  # the 18 px icon QGIS 3.22 sends inline
    inline = Image.open(io.BytesIO(capital.icon)).convert("RGBA")
    assert inline.size == (18, 18)
    green = (*ds.CITY_COLOURS["capital"], 255)
    for size in ((20, 20), (40, 30)):  # centred, never enlarged
        patch = Image.open(io.BytesIO(fit_icon(capital.icon, size))).convert("RGBA")
        assert patch.size == size and patch.getpixel((size[0] // 2, size[1] // 2)) == green
        assert patch.getpixel((0, 0))[3] == 0
        assert dict((c, n) for n, c in patch.getcolors())[green] == dict((c, n) for n, c in inline.getcolors())[green]
    small = Image.open(io.BytesIO(fit_icon(capital.icon, (9, 9)))).convert("RGBA")  # shrunk (resampled) to fit
    assert small.size == (9, 9) and max(abs(a - b) for a, b in zip(small.getpixel((4, 4)), green, strict=True)) <= 8


def test_geoserver_json_legend_rules() -> None:
    body = (DATA / "geoserver-legend-states.json").read_bytes()
    assert parse_geoserver_json(body, "topp:states") == [
        LegendRule("< 2M", "low", ()),  # a range: no unique value
        LegendRule("Capital state", "capital", ("DC",)),
        LegendRule("Boundary", None, ()),  # a rule without a name cannot be drawn by RULE
    ]
    assert parse_geoserver_json(body, "roads") == [LegendRule("all", "all", ())]
    # a raster's colour map: one class per entry, a filled patch of its colour (a malformed colour is left out)
    dem = parse_geoserver_json((DATA / "geoserver-legend-dem.json").read_bytes(), "ws:dem")
    assert dem == [LegendRule("sea", None, ("0",), (0, 0, 255, 255)),
                   LegendRule("500", None, ("500",), (0, 255, 0, 255)),
                   LegendRule("3000", None, ("3000",), (255, 255, 255, 128))]
    [sea, *_] = build_entries(dem, [None] * len(dem), (20, 20))
    assert sea.label == "sea"
    assert Image.open(io.BytesIO(sea.png)).convert("RGBA").getcolors() == [(400, (0, 0, 255, 255))]
    with pytest.raises(BackendError):
        parse_geoserver_json(b'{"nodes": []}', "roads")


@pytest.mark.parametrize(("flavor", "layer_key", "dpi"), [
    ("mapserver", "LAYER", {"MAP_RESOLUTION": "192"}),
    ("qgis", "LAYERS", {"DPI": "192"}),
    ("geoserver", "LAYER", {"LEGEND_OPTIONS": "dpi:192;forceLabels:off"}),
    ("generic", "LAYER", {}),
])
def test_rule_icon_requests_per_flavour(flavor: str, layer_key: str, dpi: dict[str, str]) -> None:
    route = FLAVORS[flavor].legend_route
    dpi_params = FLAVORS[flavor].legend_dpi_params(192)
    params = legend_graphic_params(route, "cities", "1.3.0", "Capital", (40, 40), dpi_params)
    assert params == {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetLegendGraphic", layer_key: "cities",
                      "FORMAT": "image/png", "SLD_VERSION": "1.1.0", "STYLE": "", "TRANSPARENT": "TRUE",
                      "RULE": "Capital", "WIDTH": "40", "HEIGHT": "40", **dpi}
    assert FLAVORS["mapserver"].legend_route is LegendRoute.SLD_RULES
    assert FLAVORS["qgis"].legend_route is LegendRoute.QGIS_JSON
    assert FLAVORS["geoserver"].legend_route is LegendRoute.GEOSERVER_JSON
    assert FLAVORS["generic"].legend_route is LegendRoute.LAYER_IMAGE
    assert json_legend_params(LegendRoute.GEOSERVER_JSON, "topp:states", "1.1.1")["LAYER"] == "topp:states"
    assert json_legend_params(LegendRoute.QGIS_JSON, "cities", "1.3.0")["FORMAT"] == "application/json"


def test_size_dpi_and_layers_of_a_legend_request() -> None:
    ctx = context()
    request = parse_legend(Params({}), ctx)
    assert (request.width, request.height, request.dpi, request.pixels) == (20, 20, 96, (20, 20))
    assert [layer.name for layer in request.layers] == ["temperature", "cities", "regions", "rgb"]  # leaves, top first
    assert parse_legend(Params({"size": "30,10", "dpi": "192"}), ctx).pixels == (60, 20)
    dynamic = ('[{"id": 7, "source": {"type": "mapLayer", "mapLayerId": 4}},'
               ' {"id": 1, "source": {"type": "mapLayer", "mapLayerId": 1}}]')
    assert [layer.name for layer in parse_legend(Params({"dynamicLayers": dynamic}), ctx).layers] == \
        ["rgb", "cities", "regions"]  # in dynamicLayers' order; a group brings its leaves


@pytest.mark.parametrize(("params", "parameter"), [
    ({"size": "a"}, "size"), ({"size": "0,20"}, "size"), ({"size": "2000,20"}, "size"),
    ({"size": "600,600", "dpi": "192"}, "size"),
    ({"dpi": "x"}, "dpi"), ({"dpi": "5"}, "dpi"), ({"dpi": "5000"}, "dpi"),
    ({"dynamicLayers": '[{"id": 9, "source": {"type": "mapLayer", "mapLayerId": 9}}]'}, "dynamicLayers"),
    ({"dynamicLayers": "{"}, "dynamicLayers"),
])
def test_bad_legend_parameters_are_400s_naming_them(params: dict[str, str], parameter: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_legend(Params(params), context())
    assert caught.value.status == 400 and f"'{parameter}'" in caught.value.message


def test_entries_answer_json_and_cache_round_trip() -> None:
    ctx = context()
    rules = [LegendRule("Capital", "Capital", ("capital",)), LegendRule("Band 1", None)]
    icon = png((20, 20))
    entries = build_entries(rules, [icon, None], (20, 20))
    assert entries[0] == LegendEntry("Capital", icon, 20, 20, ("capital",))
    blank = Image.open(io.BytesIO(entries[1].png))
    assert blank.size == (20, 20) and blank.convert("RGBA").getextrema()[3] == (0, 0)  # fully transparent
    assert load_entries(dump_entries(entries)) == entries
    cities = next(layer for layer in ctx.tree.layers if layer.name == "cities")
    data = layer_legend(ctx.tree, cities, entries)
    assert data["layerId"] == cities.id and data["layerName"] == "cities" and data["legendType"] == "Unique Values"
    first = data["legend"][0]
    assert first == {"label": "Capital", "url": image_key(icon), "imageData": base64.b64encode(icon).decode(),
                     "contentType": "image/png", "height": 20, "width": 20, "values": ["capital"]}
    assert len(first["url"]) == 32
    # a layer without classes: one entry, empty label, a blank patch of the size asked for
    assert [(e.label, e.width, e.height) for e in build_entries([], [], (30, 10))] == [("", 30, 10)]
    with pytest.raises(BackendError):
        build_entries([LegendRule("x", "x")], [b"<ServiceExceptionReport/>"], (20, 20))
