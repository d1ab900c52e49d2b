"""Bounds that keep hostile parameter values a 400 (issue 10): JSON depth and numbers, extents, time offsets, the
length of a GetMap."""

from __future__ import annotations

import pytest

from translators.arcgis.layer_selection import _time_options
from translators.arcgis.view import adjust_aspect, checked_extent, extent_for_scale, parse_bbox
from translators.crs import resolve_sr
from translators.errors import InvalidParameter
from translators.ogc.flavors import FLAVORS
from translators.ogc.getmap import MAX_GETMAP_FORM, MAX_GETMAP_URL, getmap_by_post
from translators.params import MAX_JSON_DEPTH, json_depth, parse_json


@pytest.mark.parametrize("text", ["[1e400]", "[-1e400]", "[NaN]", "[Infinity]", '{"a": -Infinity}',
                                  "[" + "9" * 5000 + "]", "[" + "1" + "0" * 30 + "]", "[1" + "0" * 400 + "]"])
def test_json_numbers_must_be_finite_and_fit_64_bits(text: str) -> None:
    with pytest.raises(InvalidParameter, match="p"):
        parse_json(text, "p")


def test_json_numbers_that_fit_are_kept() -> None:
    assert parse_json("[1e300, -9223372036854775807, 0.5, 12]", "p") == [1e300, -9223372036854775807, 0.5, 12]


@pytest.mark.parametrize("text", ["[" * 1000 + "]" * 1000, '{"a":' * 1000 + "1" + "}" * 1000, "[" * 100_000,
                                  "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)])
def test_deep_json_is_refused_before_parsing(text: str) -> None:
    with pytest.raises(InvalidParameter, match="nests deeper"):
        parse_json(text, "p")


def test_json_depth_ignores_brackets_inside_strings() -> None:
    assert json_depth('{"a": "[[[[{{{{", "b": [1, "]]]\\"[[["]}') == 2
    deepest = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert parse_json(deepest, "p") is not None


def test_spatial_reference_json_gets_the_same_bounds() -> None:
    with pytest.raises(InvalidParameter, match="imageSR"):
        resolve_sr('{"wkid": ' + "[" * 5000 + "}", "imageSR")
    with pytest.raises(InvalidParameter, match="imageSR"):
        resolve_sr('{"wkid": 1e400}', "imageSR")
    assert resolve_sr('{"wkid": 4326}', "imageSR").wkid == 4326


@pytest.mark.parametrize("box", [(-1e308, -1e308, 1e308, 1e308), (0, 0, float("inf"), 1), (0, 0, float("nan"), 1),
                                 (0, 0, 1e-300, 1e-300), (1e7, 0, 1e7 + 1e-5, 1), (-1e10, 0, 0, 1)])
def test_undrawable_extents_are_refused(box: tuple[float, float, float, float]) -> None:
    with pytest.raises(InvalidParameter, match="bbox"):
        checked_extent(box)


def test_drawable_extents_pass() -> None:
    assert checked_extent((-180, -90, 180, 90)) == (-180, -90, 180, 90)
    assert checked_extent((-2.0e7, -2.0e7, 2.0e7, 2.0e7)) == (-2.0e7, -2.0e7, 2.0e7, 2.0e7)
    assert checked_extent((0, 0, 1e-9, 1e-9)) == (0, 0, 1e-9, 1e-9)


def test_computed_extents_are_checked() -> None:
    wgs84 = resolve_sr("4326", "sr")
    with pytest.raises(InvalidParameter, match="mapScale"):
        extent_for_scale((-20, 30, 40, 70), 400, 400, 5e-324, 96, wgs84)
    with pytest.raises(InvalidParameter, match="bbox"):
        adjust_aspect((0, 0, 1e8, 1e-8), 1, 10_000)
    with pytest.raises(InvalidParameter, match="bbox"):
        parse_bbox("-1e308,-1e308,1e308,1e308")


@pytest.mark.parametrize("options", [{"timeOffset": 1e300}, {"timeOffset": float("nan")}, {"timeOffset": "NaN"},
                                     {"timeOffset": 100_000, "timeOffsetUnits": "esriTimeUnitsYears"},
                                     {"timeOffset": 10**30, "timeOffsetUnits": "esriTimeUnitsCenturies"}])
def test_time_offsets_beyond_the_calendar_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(InvalidParameter, match="layerTimeOptions"):
        _time_options(options, "layerTimeOptions")


def test_getmap_urls_longer_than_the_backend_reads_are_posted_or_refused() -> None:
    generic, mapserver = FLAVORS["generic"], FLAVORS["mapserver"]
    short = {"FILTER": "x" * (MAX_GETMAP_URL - 100)}
    long = {"FILTER": "<" * (MAX_GETMAP_URL // 2)}  # encoded, three times longer
    assert not getmap_by_post("http://backend/ows", short, generic)
    assert not getmap_by_post("http://backend/ows", short, mapserver)
    assert getmap_by_post("http://backend/ows", long, mapserver)  # MapServer takes the KVP as a POSTed form
    with pytest.raises(InvalidParameter, match="layerDefs"):
        getmap_by_post("http://backend/ows", long, generic)
    with pytest.raises(InvalidParameter, match="by POST"):
        getmap_by_post("http://backend/ows", {"FILTER": "<" * MAX_GETMAP_FORM}, mapserver)
