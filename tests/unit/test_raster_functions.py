"""Raster functions (renderingRule): parsing, and every function checked against numpy computed here independently."""

import json
import math
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from pyproj import Transformer

from translators.crs import SpatialRef, resolve_sr
from translators.errors import InvalidParameter, UnsupportedParameter
from translators.raster.functions import (
    BandArithmeticArgs,
    ClipArgs,
    HillshadeArgs,
    NoArgs,
    RasterFunction,
    StretchArgs,
    apply_rendering_rule,
    output_band_count,
    parse_rendering_rule,
)
from translators.raster.model import BandStats, Raster

MERCATOR = resolve_sr(3857, "test")
WGS84 = resolve_sr(4326, "test")
CELL = 10.0  # metres per pixel of the metric test rasters

Array = NDArray[np.float64]


def raster(data: Any, *, mask: Any = None, sr: SpatialRef = MERCATOR, pixel_type: str = "F32",
           bbox: tuple[float, float, float, float] | None = None, cell: float = CELL,
           names: tuple[str, ...] = ()) -> Raster:
    values = np.asarray(data)
    if values.ndim == 2:
        values = values[np.newaxis]
    _, rows, cols = values.shape
    valid = np.ones((rows, cols), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if bbox is None:
        bbox = (1000.0, 2000.0, 1000.0 + cols * cell, 2000.0 + rows * cell)
    return Raster(values, valid, bbox, sr, pixel_type, names)


def rule(function: str, raster_input: dict[str, Any] | None = None, pixel_type: str | None = None,
         **arguments: Any) -> dict[str, Any]:
    args = dict(arguments)
    if raster_input is not None:
        args["Raster"] = raster_input
    out: dict[str, Any] = {"rasterFunction": function, "rasterFunctionArguments": args}
    if pixel_type is not None:
        out["outputPixelType"] = pixel_type
    return out


def run(source: Raster, value: dict[str, Any] | str, stats: list[BandStats] | None = None) -> Raster:
    parsed = parse_rendering_rule(value)
    assert parsed is not None
    return apply_rendering_rule(source, parsed, stats)


def stats_of(values: Array) -> BandStats:
    return BandStats(float(values.min()), float(values.max()), float(values.mean()), float(values.std()))


# --------------------------------------------------------------------------------------------------------------------
# Parsing


@pytest.mark.parametrize("value", [
    '{"rasterFunction": "Stretch", "rasterFunctionArguments": {"StretchType": 5}, "variableName": "Raster"}',
    {"rasterFunction": "Stretch", "rasterFunctionArguments": {"StretchType": 5}},
    {"RASTERFUNCTION": "STRETCH", "rasterfunctionarguments": {"stretchtype": "5"}},
    {"functionName": "StretchFunction", "functionArguments": {"StretchType": 5.0}},
    {"function": {"type": "StretchFunction", "pixelType": "UNKNOWN"},
     "arguments": {"StretchType": {"type": "RasterFunctionVariable", "name": "StretchType", "value": 5},
                   "Raster": {"type": "RasterFunctionVariable", "name": "Raster", "isDataset": True},
                   "type": "StretchFunctionArguments"}},
    {"rasterFunctionDefinition": {"function": {"type": "StretchFunction"}, "arguments": {"StretchType": 5}}},
])
def test_the_accepted_forms_of_a_rule_parse_alike(value: Any) -> None:
    parsed = parse_rendering_rule(value)
    assert parsed == RasterFunction("Stretch", StretchArgs(stretch_type=5))


@pytest.mark.parametrize("name, canonical", [
    ("none", "None"), ("Identity", "Identity"), ("Band Arithmetic", "BandArithmetic"),
    ("band_arithmetic", "BandArithmetic"), ("HillshadeFunction", "Hillshade"), ("extract-band", "ExtractBand"),
    ("ndvi", "NDVI"), ("REMAP", "Remap"), ("colormap", "Colormap"),
])
def test_function_names_match_loosely(name: str, canonical: str) -> None:
    table: dict[str, dict[str, Any]] = {
        "BandArithmetic": {"BandIndexes": "B1"}, "ExtractBand": {"BandIDs": [0]}, "Remap": {"NoDataRanges": [0, 1]},
        "Colormap": {"ColormapName": "Gray"},
    }
    arguments = table.get(canonical, {})
    parsed = parse_rendering_rule({"rasterFunction": name, "rasterFunctionArguments": arguments})
    assert parsed is not None and parsed.name == canonical


@pytest.mark.parametrize("value", [None, "", "   "])
def test_no_rule(value: str | None) -> None:
    assert parse_rendering_rule(value) is None


def test_nested_rules_chain_innermost_first() -> None:
    parsed = parse_rendering_rule(rule("Stretch", rule("Hillshade", Azimuth=270), StretchType=5, Max=200))
    assert parsed is not None and parsed.raster is not None
    assert parsed.arguments == StretchArgs(stretch_type=5, out_max=200.0)
    assert parsed.raster == RasterFunction("Hillshade", HillshadeArgs(azimuth=270.0))
    assert parsed.raster.raster is None


def test_the_service_raster_placeholder_is_not_a_nested_function() -> None:
    parsed = parse_rendering_rule(rule("None", Raster="$$"))
    assert parsed == RasterFunction("None", NoArgs())


BAD_RULES: list[tuple[Any, type[Exception], str]] = [
    ("not json", InvalidParameter, "malformed JSON"),
    ("[1, 2]", InvalidParameter, "JSON object"),
    ({}, InvalidParameter, "'rasterFunction' is required"),
    ({"rasterFunction": 3}, InvalidParameter, "function name"),
    (rule("Nope"), InvalidParameter, "unknown raster function 'Nope'"),
    (rule("ShadedRelief"), UnsupportedParameter, "'ShadedRelief' is not supported"),
    ({"rasterFunction": "Stretch", "rasterFunctionArguments": [1]}, InvalidParameter, "must be a JSON object"),
    (rule("Stretch", StretchType=2), InvalidParameter, "argument 'StretchType'"),
    (rule("Stretch", StretchType=9), UnsupportedParameter, "sigmoid"),
    (rule("Stretch", StretchType="five"), InvalidParameter, "argument 'StretchType'"),
    (rule("Stretch", StretchType=5, Min=10, Max=5), InvalidParameter, "argument 'Max'"),
    (rule("Stretch", StretchType=5, Gamma=[1, 0]), InvalidParameter, "argument 'Gamma'"),
    (rule("Stretch", StretchType=3, NumberOfStandardDeviations=-1), InvalidParameter, "NumberOfStandardDeviations"),
    (rule("Stretch", StretchType=6, MinPercent=60, MaxPercent=50), InvalidParameter, "argument 'MaxPercent'"),
    (rule("Stretch", StretchType=5, Statistics=[[10, 0, 5, 1]]), InvalidParameter, "argument 'Statistics'"),
    (rule("Stretch", StretchType=5, UseGamma="maybe"), InvalidParameter, "argument 'UseGamma'"),
    (rule("Hillshade", Altitude=100), InvalidParameter, "argument 'Altitude'"),
    (rule("Hillshade", HillshadeType=1), UnsupportedParameter, "multidirectional"),
    (rule("Hillshade", ZFactor="inf"), InvalidParameter, "argument 'ZFactor'"),
    (rule("Slope", SlopeType=5), InvalidParameter, "argument 'SlopeType'"),
    (rule("Colormap"), InvalidParameter, "argument 'Colormap'"),
    (rule("Colormap", Colormap=[[1, 300, 0, 0]]), InvalidParameter, "argument 'Colormap'"),
    (rule("Colormap", Colormap=[[1.5, 1, 2, 3]]), InvalidParameter, "not an integer"),
    (rule("Colormap", ColormapName="Rainbowz"), InvalidParameter, "argument 'ColormapName'"),
    (rule("Colormap", ColorRamp="No Such Ramp"), InvalidParameter, "argument 'ColorRamp'"),
    (rule("NDVI", VisibleBandID=-1), InvalidParameter, "argument 'VisibleBandID'"),
    (rule("NDVI", InfraredBandID="x"), InvalidParameter, "argument 'InfraredBandID'"),
    (rule("NDVI", VisibleBandName="Red"), UnsupportedParameter, "VisibleBandName"),
    (rule("BandArithmetic", Method=0, BandIndexes="B1 +"), InvalidParameter, "argument 'BandIndexes'"),
    (rule("BandArithmetic", BandIndexes="__import__('os')"), InvalidParameter, "unexpected '_'"),
    (rule("BandArithmetic", BandIndexes="B1 ** 2"), InvalidParameter, "unexpected '*'"),
    (rule("BandArithmetic", BandIndexes="(B1 + B2"), InvalidParameter, "missing ')'"),
    (rule("BandArithmetic", BandIndexes="B1 B2"), InvalidParameter, "unexpected 'B2'"),
    (rule("BandArithmetic", BandIndexes="B0 + 1"), InvalidParameter, "from B1"),
    (rule("BandArithmetic", BandIndexes="(" * 100 + "B1" + ")" * 100), InvalidParameter, "nested too deeply"),
    (rule("BandArithmetic", BandIndexes=[1, 2]), InvalidParameter, "argument 'BandIndexes'"),
    (rule("BandArithmetic", Method=14, BandIndexes="1 2 3"), UnsupportedParameter, "MTVI2"),
    (rule("BandArithmetic", Method=99, BandIndexes="1 2"), InvalidParameter, "argument 'Method'"),
    (rule("BandArithmetic", Method=2, BandIndexes="4"), InvalidParameter, "SAVI needs 2"),
    (rule("BandArithmetic", Method=1, BandIndexes="4 3 7"), InvalidParameter, "takes 2 bands and 0 constants"),
    (rule("BandArithmetic", Method=1, BandIndexes="0 3"), InvalidParameter, "1-based"),
    (rule("Remap", InputRanges=[0, 10, 20], OutputValues=[1]), InvalidParameter, "argument 'InputRanges'"),
    (rule("Remap", InputRanges=[0, 10], OutputValues=[1, 2]), InvalidParameter, "argument 'OutputValues'"),
    (rule("Remap", InputRanges=[10, 0], OutputValues=[1]), InvalidParameter, "max < min"),
    (rule("Remap"), InvalidParameter, "argument 'InputRanges'"),
    (rule("Clip"), InvalidParameter, "argument 'ClippingGeometry'"),
    (rule("Clip", ClippingGeometry={"x": 1, "y": 2}), InvalidParameter, "argument 'ClippingGeometry'"),
    (rule("Clip", ClippingGeometry={"rings": [[[0, 0], [1, 1], [0, 0]]]}), InvalidParameter, "3 distinct"),
    (rule("Clip", ClippingGeometry={"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1}, ClippingType=3), InvalidParameter,
     "argument 'ClippingType'"),
    (rule("Clip", ClippingGeometry={"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1, "spatialReference": {"wkid": -5}}),
     InvalidParameter, "renderingRule"),
    (rule("ExtractBand"), InvalidParameter, "argument 'BandIDs'"),
    (rule("ExtractBand", BandIDs=[-1]), InvalidParameter, "argument 'BandIDs'"),
    (rule("ExtractBand", BandWavelengths=[650, 550]), UnsupportedParameter, "wavelength"),
    (rule("Slope", pixel_type="X9"), InvalidParameter, "outputPixelType"),
    (rule("Slope", pixel_type="C64"), UnsupportedParameter, "complex"),
    (rule("Slope", Raster={"url": "https://elsewhere/ImageServer"}), UnsupportedParameter, "'Raster' argument"),
]


@pytest.mark.parametrize("value, error, text", BAD_RULES)
def test_malformed_rules_are_refused_naming_the_problem(value: Any, error: type[Exception], text: str) -> None:
    with pytest.raises(error) as info:
        parse_rendering_rule(value if isinstance(value, str) else json.dumps(value))
    assert info.type is error  # UnsupportedParameter is an InvalidParameter: check the exact class
    assert isinstance(info.value, InvalidParameter) and info.value.parameter == "renderingRule"
    assert text in info.value.message


def test_errors_name_the_parameter_the_rule_came_from() -> None:
    with pytest.raises(InvalidParameter) as info:
        parse_rendering_rule(rule("Nope"), "itemRenderingRule")
    assert info.value.parameter == "itemRenderingRule"


def test_chains_deeper_than_any_real_rule_are_refused() -> None:
    value: dict[str, Any] = rule("None")
    for _ in range(20):
        value = rule("None", value)
    with pytest.raises(InvalidParameter, match="nested more than"):
        parse_rendering_rule(value)


# --------------------------------------------------------------------------------------------------------------------
# Stretch


def linear_u8(values: Array, low: float, high: float) -> Array:
    return np.rint(np.clip((values - low) / (high - low), 0, 1) * 255)


TWO_BANDS = np.array([[[0.0, 10.0, 20.0], [30.0, 40.0, 50.0]],
                      [[100.0, 150.0, 200.0], [250.0, 300.0, 400.0]]])


def test_minmax_stretch_uses_the_service_statistics() -> None:
    stats = [BandStats(-10, 60, 25, 10), BandStats(0, 500, 250, 100)]
    out = run(raster(TWO_BANDS), rule("Stretch", StretchType=5), stats)
    assert out.pixel_type == "U8" and out.data.dtype == np.uint8 and out.band_count == 2
    np.testing.assert_array_equal(out.data[0], linear_u8(TWO_BANDS[0], -10, 60))
    np.testing.assert_array_equal(out.data[1], linear_u8(TWO_BANDS[1], 0, 500))


@pytest.mark.parametrize("arguments, stats", [
    ({"StretchType": 5}, None),  # no service statistics: the raster's own
    ({"StretchType": 5, "DRA": True}, [BandStats(-1000, 1000, 0, 1), BandStats(-1000, 1000, 0, 1)]),
    ({"StretchType": 5, "DRA": "true"}, [BandStats(-1000, 1000, 0, 1), BandStats(-1000, 1000, 0, 1)]),
    ({"StretchType": 5}, [BandStats(0, 1, 0, 1)]),  # statistics of another band count describe nothing here
])
def test_minmax_stretch_on_the_rasters_own_range(arguments: dict[str, Any], stats: list[BandStats] | None) -> None:
    out = run(raster(TWO_BANDS), rule("Stretch", **arguments), stats)
    for b in range(2):
        np.testing.assert_array_equal(out.data[b], linear_u8(TWO_BANDS[b], TWO_BANDS[b].min(), TWO_BANDS[b].max()))


def test_the_statistics_argument_overrides_the_service_statistics() -> None:
    out = run(raster(TWO_BANDS), rule("Stretch", StretchType=5, Statistics=[[0, 50, 25, 5]]),
              [BandStats(-1000, 1000, 0, 1)] * 2)
    # One statistics entry for two bands: the last entry serves the missing band, as ArcGIS does.
    np.testing.assert_array_equal(out.data[0], linear_u8(TWO_BANDS[0], 0, 50))
    np.testing.assert_array_equal(out.data[1], linear_u8(TWO_BANDS[1], 0, 50))


def test_standard_deviation_stretch() -> None:
    out = run(raster(TWO_BANDS[:1]), rule("Stretch", StretchType=3, NumberOfStandardDeviations=1.5,
                                          Statistics=[{"min": 0, "max": 50, "mean": 25, "standardDeviation": 10}]))
    np.testing.assert_array_equal(out.data[0], linear_u8(TWO_BANDS[0], 25 - 15, 25 + 15))


def test_standard_deviation_stretch_defaults_to_two_deviations_of_the_service_statistics() -> None:
    out = run(raster(TWO_BANDS[:1]), rule("Stretch", StretchType=3), [BandStats(0, 50, 20, 8)])
    np.testing.assert_array_equal(out.data[0], linear_u8(TWO_BANDS[0], 4, 36))


def test_percent_clip_stretch_is_computed_on_the_valid_values() -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(100, 30, (40, 50))
    mask = rng.random((40, 50)) > 0.1
    values[~mask] = 1e9  # garbage under NoData must not move the percentiles
    out = run(raster(values, mask=mask), rule("Stretch", StretchType=6, MinPercent=2, MaxPercent=5))
    low, high = np.percentile(values[mask], [2, 95])
    np.testing.assert_array_equal(out.data[0][mask], linear_u8(values, low, high)[mask])
    np.testing.assert_array_equal(out.mask, mask)
    assert (out.data[0][~mask] == 0).all()


def test_histogram_equalization_spreads_values_evenly() -> None:
    values = np.arange(100.0).reshape(10, 10) ** 3  # very skewed, but all distinct
    out = run(raster(values), rule("Stretch", StretchType=4))
    expected = np.rint(np.arange(100.0).reshape(10, 10) / 99 * 255)
    np.testing.assert_allclose(out.data[0], expected, atol=1)
    assert out.data[0].min() == 0 and out.data[0].max() == 255


def test_gamma_is_applied_per_band_to_the_normalised_values() -> None:
    out = run(raster(TWO_BANDS), rule("Stretch", StretchType=5, UseGamma=True, Gamma=[2.0, 0.5]))
    for b, gamma in enumerate([2.0, 0.5]):
        t = (TWO_BANDS[b] - TWO_BANDS[b].min()) / np.ptp(TWO_BANDS[b])
        np.testing.assert_array_equal(out.data[b], np.rint(t ** (1 / gamma) * 255))


def test_gamma_is_ignored_without_use_gamma() -> None:
    out = run(raster(TWO_BANDS), rule("Stretch", StretchType=5, Gamma=[3.0, 3.0]))
    np.testing.assert_array_equal(out.data[0], linear_u8(TWO_BANDS[0], 0, 50))


def test_computed_gamma_brings_the_mean_to_mid_grey() -> None:
    values = np.array([[0.0, 10.0, 10.0, 100.0, 30.0]])  # mean 30: 0.3 of the range before gamma
    out = run(raster(values), rule("Stretch", StretchType=5, UseGamma=True, ComputeGamma=True, Min=0, Max=1,
                                   pixel_type="F64"))
    assert out.data[0][0, 4] == pytest.approx(0.5)
    assert out.data[0][0, 0] == 0 and out.data[0][0, 3] == 1


def test_output_range_and_its_pixel_type() -> None:
    out = run(raster(TWO_BANDS[:1]), rule("Stretch", StretchType=5, Min=1000, Max=2000))
    assert out.pixel_type == "U16" and out.data.dtype == np.uint16
    np.testing.assert_array_equal(out.data[0], np.rint(1000 + (TWO_BANDS[0] / 50) * 1000))


def test_output_pixel_type_keeps_the_stretch_unrounded() -> None:
    out = run(raster(TWO_BANDS[:1]), rule("Stretch", StretchType=5, Max=1, pixel_type="F32"))
    assert out.pixel_type == "F32" and out.data.dtype == np.float32
    np.testing.assert_allclose(out.data[0], TWO_BANDS[0] / 50, rtol=1e-6)


def test_no_stretch_leaves_the_raster_alone() -> None:
    source = raster(TWO_BANDS.astype(np.int16), pixel_type="S16")
    out = run(source, rule("Stretch", StretchType=0))
    assert out is source


def test_nodata_is_excluded_from_the_rasters_own_statistics() -> None:
    values = np.array([[0.0, 50.0], [100.0, -9999.0]])
    mask = np.array([[True, True], [True, False]])
    out = run(raster(values, mask=mask), rule("Stretch", StretchType=5))
    np.testing.assert_array_equal(out.data[0], [[0, 128], [255, 0]])
    np.testing.assert_array_equal(out.mask, mask)


# --------------------------------------------------------------------------------------------------------------------
# Colormap


def test_explicit_colormap_and_transparent_values_without_an_entry() -> None:
    values = np.array([[1, 2], [3, 4]], dtype=np.uint8)
    out = run(raster(values, pixel_type="U8"),
              rule("Colormap", Colormap=[[1, 255, 0, 0], [2, 0, 255, 0], [3, 0, 0, 255], [3, 9, 9, 9]]))
    assert out.band_count == 3 and out.pixel_type == "U8" and out.band_names == ("Red", "Green", "Blue")
    rgb = np.moveaxis(out.data, 0, -1)
    assert rgb[0, 0].tolist() == [255, 0, 0] and rgb[0, 1].tolist() == [0, 255, 0]
    assert rgb[1, 0].tolist() == [9, 9, 9]  # a repeated value: the last entry wins
    np.testing.assert_array_equal(out.mask, [[True, True], [True, False]])


def test_explicit_colormap_on_float_values_rounds_to_the_nearest_integer() -> None:
    out = run(raster(np.array([[0.9, 1.6]])), rule("Colormap", Colormap=[[1, 10, 20, 30], [2, 40, 50, 60]]))
    assert np.moveaxis(out.data, 0, -1)[0].tolist() == [[10, 20, 30], [40, 50, 60]]


def test_gray_colormap_on_u8_is_the_value_itself() -> None:
    values = np.arange(0, 256, 17, dtype=np.uint8).reshape(4, 4)
    out = run(raster(values, pixel_type="U8"), rule("Colormap", ColormapName="Gray"))
    for band in out.data:
        np.testing.assert_array_equal(band, values)


def test_gray_colormap_stretches_other_types_over_the_statistics() -> None:
    values = np.array([[-100.0, 0.0], [50.0, 100.0]])
    out = run(raster(values), rule("Colormap", ColormapName="gray"), [BandStats(-100, 100, 0, 50)])
    np.testing.assert_array_equal(out.data[0], np.rint((values + 100) / 200 * 255))


def test_random_colormap_is_stable_and_tells_values_apart() -> None:
    values = np.array([[1, 2, 3], [1, 2, 3]], dtype=np.int32)
    first = run(raster(values, pixel_type="S32"), rule("Colormap", ColormapName="Random"))
    again = run(raster(values[:, ::-1].copy(), pixel_type="S32"), rule("Colormap", ColormapName="random"))
    colours = np.moveaxis(first.data, 0, -1)
    assert (colours[0] == colours[1]).all()
    assert len({tuple(c) for c in colours[0]}) == 3
    np.testing.assert_array_equal(np.moveaxis(again.data, 0, -1)[0, ::-1], colours[0])


def test_algorithmic_colour_ramp_interpolates_between_its_ends() -> None:
    values = np.array([[0, 255]], dtype=np.uint8)
    ramp = {"type": "algorithmic", "fromColor": [0, 0, 255, 255], "toColor": [255, 0, 0, 255],
            "algorithm": "esriCIELabAlgorithm"}
    out = run(raster(values, pixel_type="U8"), rule("Colormap", ColorRamp=ramp))
    assert np.moveaxis(out.data, 0, -1)[0].tolist() == [[0, 0, 255], [255, 0, 0]]


@pytest.mark.parametrize("arguments", [
    {"ColormapName": "Elevation"}, {"ColormapName": "NDVI"}, {"ColormapName": "NDVI3"},
    {"ColorRamp": "Black to White"}, {"ColorrampName": "Elevation #1"},
    {"ColorRamp": {"type": "multipart", "colorRamps": [
        {"type": "algorithmic", "fromColor": [0, 0, 0], "toColor": [255, 0, 0]},
        {"type": "algorithmic", "fromColor": [0, 255, 0], "toColor": [0, 0, 255]}]}},
])
def test_named_maps_and_ramps_colour_every_valid_pixel(arguments: dict[str, Any]) -> None:
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    out = run(raster(values, pixel_type="U8"), rule("Colormap", **arguments))
    assert out.band_count == 3 and out.mask.all()


def test_multipart_ramp_parts_share_the_range() -> None:
    ramp = {"type": "multipart", "colorRamps": [
        {"type": "algorithmic", "fromColor": [0, 0, 0], "toColor": [255, 0, 0]},
        {"type": "algorithmic", "fromColor": [0, 255, 0], "toColor": [0, 0, 255]}]}
    out = run(raster(np.array([[0, 127, 129, 255]], dtype=np.uint8), pixel_type="U8"),
              rule("Colormap", ColorRamp=ramp))
    rgb = np.moveaxis(out.data, 0, -1)[0]
    assert rgb[0].tolist() == [0, 0, 0] and rgb[3].tolist() == [0, 0, 255]
    assert rgb[1][0] > 240 and rgb[2][1] > 240


def test_colormap_needs_a_single_band() -> None:
    parsed = parse_rendering_rule(rule("Colormap", ColormapName="Gray"))
    assert parsed is not None
    with pytest.raises(InvalidParameter, match="single-band"):
        apply_rendering_rule(raster(TWO_BANDS), parsed, None)
    with pytest.raises(InvalidParameter, match="single-band"):
        output_band_count(parsed, 2)


# --------------------------------------------------------------------------------------------------------------------
# Hillshade, Slope, Aspect: planes with known answers, and np.gradient-based Horn on rough terrain


def plane(east: float, north: float, rows: int = 6, cols: int = 7) -> Array:
    """z = east * x + north * y (metres), x to the east and y to the north, sampled at pixel centres."""
    x = (np.arange(cols) + 0.5) * CELL
    y = (rows - np.arange(rows) - 0.5) * CELL
    return east * x[np.newaxis, :] + north * y[:, np.newaxis] + 500.0


def compass_aspect(east: float, north: float) -> float:
    """The downslope direction, clockwise from north."""
    return math.degrees(math.atan2(-east, -north)) % 360.0


def hillshade_value(slope_deg: float, aspect_deg: float, azimuth: float = 315.0, altitude: float = 45.0) -> float:
    zenith, slope = math.radians(90.0 - altitude), math.radians(slope_deg)
    value = 255.0 * (math.cos(zenith) * math.cos(slope)
                     + math.sin(zenith) * math.sin(slope) * math.cos(math.radians(azimuth - aspect_deg)))
    return max(0.0, value)


PLANES = [(0.3, 0.0), (-0.3, 0.0), (0.0, 0.5), (0.0, -0.5), (0.2, 0.2), (-1.0, 2.0), (0.7, -0.1)]


@pytest.mark.parametrize("east, north", PLANES)
def test_slope_of_a_plane_everywhere_edges_included(east: float, north: float) -> None:
    out = run(raster(plane(east, north)), rule("Slope"))
    assert out.pixel_type == "F32" and out.mask.all()
    np.testing.assert_allclose(out.data[0], math.degrees(math.atan(math.hypot(east, north))), atol=1e-4)


@pytest.mark.parametrize("east, north", PLANES)
def test_aspect_of_a_plane_is_the_downslope_bearing(east: float, north: float) -> None:
    out = run(raster(plane(east, north)), rule("Aspect"))
    assert out.pixel_type == "F32" and out.mask.all()
    expected = compass_aspect(east, north)
    difference = (out.data[0] - expected + 180.0) % 360.0 - 180.0
    np.testing.assert_allclose(difference, 0.0, atol=1e-3)


@pytest.mark.parametrize("east, north", PLANES)
@pytest.mark.parametrize("azimuth, altitude", [(315.0, 45.0), (90.0, 30.0), (200.0, 60.0)])
def test_hillshade_of_a_plane(east: float, north: float, azimuth: float, altitude: float) -> None:
    out = run(raster(plane(east, north)), rule("Hillshade", Azimuth=azimuth, Altitude=altitude))
    assert out.pixel_type == "U8" and out.data.dtype == np.uint8
    slope = math.degrees(math.atan(math.hypot(east, north)))
    expected = hillshade_value(slope, compass_aspect(east, north), azimuth, altitude)
    np.testing.assert_allclose(out.data[0].astype(float), expected, atol=0.51)


@pytest.mark.parametrize("altitude", [0.0, 30.0, 45.0, 90.0])
def test_flat_ground(altitude: float) -> None:
    flat = raster(np.full((5, 5), 123.0))
    shade = run(flat, rule("Hillshade", Altitude=altitude))
    np.testing.assert_array_equal(shade.data[0], round(255 * math.cos(math.radians(90 - altitude))))
    np.testing.assert_array_equal(run(flat, rule("Slope")).data[0], 0.0)
    np.testing.assert_array_equal(run(flat, rule("Aspect")).data[0], -1.0)


def test_percent_rise_and_z_factor() -> None:
    surface = raster(plane(0.3, 0.4))
    np.testing.assert_allclose(run(surface, rule("Slope", SlopeType=2)).data[0], 50.0, rtol=1e-5)
    np.testing.assert_allclose(run(surface, rule("Slope", ZFactor=2)).data[0], math.degrees(math.atan(1.0)),
                               atol=1e-4)
    np.testing.assert_allclose(run(surface, rule("Slope", SlopeType="PERCENT_RISE", ZFactor=0.5)).data[0], 25.0,
                               rtol=1e-5)


def test_scaled_slope_adjusts_the_z_factor_by_pixel_size() -> None:
    adjusted = 1.0 + CELL ** 0.5 * 0.1
    out = run(raster(plane(0.1, 0.0)), rule("Slope", SlopeType=3, PSPower=0.5, PSZFactor=0.1))
    np.testing.assert_allclose(out.data[0], math.degrees(math.atan(0.1 * adjusted)), atol=1e-4)


def gradient_horn(z: Array, cell: float) -> tuple[Array, Array]:
    """Horn's derivatives from np.gradient: central differences smoothed 1-2-1 across; (east, north) components."""
    d_row, d_col = (np.asarray(g, dtype=np.float64) for g in np.gradient(z, cell))  # south, east
    east = (d_col[:-2, 1:-1] + 2 * d_col[1:-1, 1:-1] + d_col[2:, 1:-1]) / 4
    south = (d_row[1:-1, :-2] + 2 * d_row[1:-1, 1:-1] + d_row[1:-1, 2:]) / 4
    return east, -south


def test_rough_terrain_matches_horn_from_np_gradient() -> None:
    rng = np.random.default_rng(11)
    z = rng.normal(0, 20, (12, 15)).cumsum(axis=0).cumsum(axis=1) / 5
    source = raster(z)
    east, north = gradient_horn(z, CELL)
    slope = np.degrees(np.arctan(np.hypot(east, north)))
    aspect = np.degrees(np.arctan2(-east, -north)) % 360
    shade = np.vectorize(hillshade_value)(slope, aspect)
    inner = (slice(1, -1), slice(1, -1))
    np.testing.assert_allclose(run(source, rule("Slope")).data[0][inner], slope, atol=1e-3)
    got_aspect = run(source, rule("Aspect")).data[0][inner]
    np.testing.assert_allclose((got_aspect - aspect + 180) % 360 - 180, 0, atol=1e-3)
    np.testing.assert_allclose(run(source, rule("Hillshade")).data[0][inner].astype(float), shade, atol=0.51)


def test_remove_edge_effect_makes_the_border_nodata() -> None:
    out = run(raster(plane(0.2, 0.1)), rule("Hillshade", RemoveEdgeEffect=True))
    expected = np.zeros((6, 7), dtype=bool)
    expected[1:-1, 1:-1] = True
    np.testing.assert_array_equal(out.mask, expected)
    assert (out.data[0][~expected] == 0).all()


def test_nodata_centre_stays_nodata_and_nodata_neighbours_take_the_centre_value() -> None:
    z = plane(0.3, -0.2)
    mask = np.ones(z.shape, dtype=bool)
    mask[2, 3] = False
    z_with_garbage = z.copy()
    z_with_garbage[2, 3] = np.nan
    out = run(raster(z_with_garbage, mask=mask), rule("Slope"))
    assert not out.mask[2, 3] and out.mask.sum() == mask.sum()
    # Next to the hole, the missing neighbour counts as the centre's own elevation.
    filled = z.copy()
    filled[2, 3] = z[2, 4]
    east, north = gradient_horn(filled[1:4, 3:6], CELL)
    assert out.data[0][2, 4] == pytest.approx(math.degrees(math.atan(math.hypot(east[0, 0], north[0, 0]))), abs=1e-4)


def geographic_surface(east: float, north: float, latitude: float, cell: float = 0.001,
                       size: int = 7) -> Raster:
    """A plane of ``east``/``north`` metres per metre on a lon/lat grid around ``latitude``."""
    metres_per_degree = WGS84.meters_per_unit
    lat = latitude + (size / 2 - np.arange(size) - 0.5) * cell
    lon = (np.arange(size) + 0.5) * cell
    z = (east * lon[np.newaxis, :] * metres_per_degree * np.cos(np.radians(lat))[:, np.newaxis]
         + north * lat[:, np.newaxis] * metres_per_degree)
    half = size * cell / 2
    return raster(z, sr=WGS84, bbox=(0.0, latitude - half, size * cell, latitude + half))


@pytest.mark.parametrize("east, north", [(0.0, 0.4), (0.4, 0.0), (0.3, -0.3)])
@pytest.mark.parametrize("latitude", [0.0, 45.0, 60.0, -70.0])
def test_geographic_cell_sizes_are_converted_to_metres(east: float, north: float, latitude: float) -> None:
    out = run(geographic_surface(east, north, latitude), rule("Slope"))
    np.testing.assert_allclose(out.data[0], math.degrees(math.atan(math.hypot(east, north))), atol=0.01)


# --------------------------------------------------------------------------------------------------------------------
# NDVI


RED = np.array([[10.0, 50.0, 0.0], [80.0, 20.0, 30.0]])
NIR = np.array([[90.0, 50.0, 0.0], [20.0, 60.0, 30.0]])
GREEN = np.array([[40.0, 30.0, 5.0], [60.0, 40.0, 10.0]])


def ndvi(nir: Array, red: Array) -> Array:
    with np.errstate(all="ignore"):
        result: Array = (nir - red) / (nir + red)
    return result


def test_ndvi_scaled_by_default() -> None:
    out = run(raster(np.stack([GREEN, RED, NIR])), rule("NDVI", VisibleBandID=1, InfraredBandID=2))
    assert out.pixel_type == "U8" and out.band_count == 1
    valid = (RED + NIR) != 0
    np.testing.assert_array_equal(out.mask, valid)
    np.testing.assert_array_equal(out.data[0][valid], np.rint(ndvi(NIR, RED) * 100 + 100)[valid])


@pytest.mark.parametrize("switch", [{"Scientific": True}, {"ScientificOutput": "true"}, {"Scaled": False}])
def test_ndvi_scientific_output(switch: dict[str, Any]) -> None:
    out = run(raster(np.stack([RED, NIR])), rule("NDVI", **switch))
    assert out.pixel_type == "F32"
    valid = (RED + NIR) != 0
    np.testing.assert_allclose(out.data[0][valid], ndvi(NIR, RED)[valid], rtol=1e-6)
    np.testing.assert_array_equal(out.mask, valid)


def test_ndvi_band_ids_must_exist() -> None:
    parsed = parse_rendering_rule(rule("NDVI", VisibleBandID=0, InfraredBandID=3))
    assert parsed is not None
    with pytest.raises(InvalidParameter, match="'InfraredBandID' is 3"):
        apply_rendering_rule(raster(np.stack([RED, NIR])), parsed, None)
    with pytest.raises(InvalidParameter, match="'InfraredBandID'"):
        output_band_count(parsed, 3)
    assert output_band_count(parsed, 4) == 1


# --------------------------------------------------------------------------------------------------------------------
# BandArithmetic


def test_user_defined_expression() -> None:
    bands = np.stack([RED, GREEN, NIR])
    out = run(raster(bands), rule("BandArithmetic", Method=0, BandIndexes="(B3 - B1)/(B3 + B1)"))
    assert out.pixel_type == "F32" and out.band_count == 1
    valid = (NIR + RED) != 0
    np.testing.assert_allclose(out.data[0][valid], ndvi(NIR, RED)[valid], rtol=1e-6)
    np.testing.assert_array_equal(out.mask, valid)


@pytest.mark.parametrize("expression, expected", [
    ("-B1 + 2 * B2 / (1 + 1)", lambda r, g, n: -r + g),
    ("b3 - -b1 * 0.5e1", lambda r, g, n: n + r * 5),
    ("((B2))", lambda r, g, n: g),
    ("2.5", lambda r, g, n: np.full_like(r, 2.5)),
    ("B1 / B2 - B3 * .5", lambda r, g, n: r / g - n * 0.5),
    ("+B1 - 3 - 4", lambda r, g, n: r - 7),
])
def test_expression_precedence_and_forms(expression: str, expected: Any) -> None:
    out = run(raster(np.stack([RED, GREEN, NIR])), rule("BandArithmetic", BandIndexes=expression))
    np.testing.assert_allclose(out.data[0], expected(RED, GREEN, NIR), rtol=1e-6)


def savi(nir: Array, red: Array, soil: float) -> Array:
    return (nir - red) / (nir + red + soil) * (1 + soil)


B = np.stack([np.full((2, 2), v) + np.array([[0.0, 1.0], [2.0, 3.0]]) * 0.01
              for v in (0.05, 0.08, 0.1, 0.4, 0.25, 0.3)])  # six reflectance-like bands
PREDEFINED: list[tuple[int, str, Any]] = [
    (1, "4 3", lambda b: (b[3] - b[2]) / (b[3] + b[2])),
    (2, "4 3", lambda b: savi(b[3], b[2], 0.5)),
    (2, "4 3 0.2", lambda b: savi(b[3], b[2], 0.2)),
    (3, "4 3", lambda b: 0.33 * (b[3] - 0.33 * b[2] - 0.5) / (0.5 * b[3] + b[2] - 0.5 * 0.33 + 1.5 * (1 + 0.33**2))),
    (3, "4 3 0.4 0.1 1", lambda b: 0.4 * (b[3] - 0.4 * b[2] - 0.1) / (0.1 * b[3] + b[2] - 0.04 + 1.16)),
    (4, "4 3", lambda b: (2 * (b[3] + 1) - np.sqrt((2 * b[3] + 1) ** 2 - 8 * (b[3] - b[2]))) / 2),
    (5, "4 3", lambda b: gemi(b[3], b[2])),
    (6, "4 3 0.3 0.5", lambda b: (b[3] - 0.3 * b[2] - 0.5) / np.sqrt(1.09)),
    (7, "1 2 3 4 5 6", lambda b: -0.2848 * b[0] - 0.2435 * b[1] - 0.5436 * b[2] + 0.7243 * b[3] + 0.084 * b[4]
     - 1.18 * b[5]),
    (9, "3 2 1", lambda b: (b[1] - b[2]) / (b[1] + b[2] - b[0])),
    (10, "4 2", lambda b: (b[3] - b[1]) / (b[3] + b[1])),
    (11, "4 3", lambda b: b[3] / b[2]),
    (16, "4 5", lambda b: b[3] / b[4] - 1),
    (18, "4 2", lambda b: (b[1] - b[3]) / (b[1] + b[3])),
    (19, "4 3 1", lambda b: 2.5 * (b[3] - b[2]) / (b[3] + 6 * b[2] - 7.5 * b[0] + 1)),
    (20, "3 1", lambda b: b[2] / b[0]),
    (23, "2 4 6", lambda b: (b[1] - 0.5 * b[3] - 0.5 * b[5]) / (b[1] + 0.5 * b[3] + 0.5 * b[5])),
    (24, "3 4", lambda b: 1 / ((0.1 - b[2]) ** 2 + (0.06 - b[3]) ** 2)),
    (25, "4 6", lambda b: (b[3] - b[5]) / (b[3] + b[5])),
]


def gemi(nir: Array, red: Array) -> Array:
    eta = (2 * (nir**2 - red**2) + 1.5 * nir + 0.5 * red) / (nir + red + 0.5)
    return eta * (1 - eta / 4) - (red - 0.125) / (1 - red)


@pytest.mark.parametrize("method, indexes, expected", PREDEFINED)
def test_predefined_band_arithmetic_methods(method: int, indexes: str, expected: Any) -> None:
    out = run(raster(B), rule("BandArithmetic", Method=method, BandIndexes=indexes))
    assert out.band_count == 1 and out.pixel_type == "F32"
    np.testing.assert_allclose(out.data[0], expected(B), rtol=1e-5)


def test_sultan_makes_three_bands() -> None:
    out = run(raster(B), rule("BandArithmetic", Method=8, BandIndexes="1 2 3 4 5 6"))
    assert out.band_count == 3
    np.testing.assert_allclose(out.data[0], B[4] / B[5] * 100, rtol=1e-5)
    np.testing.assert_allclose(out.data[1], B[4] / B[0] * 100, rtol=1e-5)
    np.testing.assert_allclose(out.data[2], B[2] / B[3] * (B[4] / B[3]) * 100, rtol=1e-5)
    parsed = parse_rendering_rule(rule("BandArithmetic", Method=8, BandIndexes="1 2 3 4 5 6"))
    assert parsed is not None and output_band_count(parsed, 6) == 3


def test_division_by_zero_and_square_roots_of_negatives_are_nodata() -> None:
    values = np.stack([np.array([[1.0, 0.0]]), np.array([[1.0, 0.0]])])
    out = run(raster(values), rule("BandArithmetic", BandIndexes="B1 / B2"))
    np.testing.assert_array_equal(out.mask, [[True, False]])
    msavi = run(raster(np.stack([np.array([[0.5, 0.5]]), np.array([[-10.0, 0.2]])])),
                rule("BandArithmetic", Method=4, BandIndexes="1 2"))
    assert msavi.mask.tolist() == [[False, True]]


def test_band_references_must_exist() -> None:
    for value in (rule("BandArithmetic", BandIndexes="B1 + B4"), rule("BandArithmetic", Method=1, BandIndexes="4 1")):
        parsed = parse_rendering_rule(value)
        assert parsed is not None
        with pytest.raises(InvalidParameter, match="band 4"):
            apply_rendering_rule(raster(np.stack([RED, GREEN, NIR])), parsed, None)
        with pytest.raises(InvalidParameter, match="band 4"):
            output_band_count(parsed, 3)


def test_parsed_expression_is_a_tree_not_code() -> None:
    parsed = parse_rendering_rule(rule("BandArithmetic", BandIndexes="B1*2"))
    assert parsed is not None and isinstance(parsed.arguments, BandArithmeticArgs)
    assert repr(parsed.arguments.expression) == "BinOp(op='*', left=Band(index=1), right=Num(value=2.0))"


# --------------------------------------------------------------------------------------------------------------------
# Remap


REMAP_INPUT = np.array([[0.0, 9.99, 10.0, 19.99, 20.0, -1.0, 150.0, 200.0]])


@pytest.mark.parametrize("arguments, expected, valid", [
    ({}, [1, 1, 2, 2, 20, -1, 150, 200], [1, 1, 1, 1, 1, 1, 1, 1]),
    ({"AllowUnmatched": False}, [1, 1, 2, 2, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0]),
    ({"AllowUnmatched": False, "ReplacementValue": 7}, [1, 1, 2, 2, 7, 7, 7, 7], [1, 1, 1, 1, 1, 1, 1, 1]),
    ({"NoDataRanges": [100, 200]}, [1, 1, 2, 2, 20, -1, 0, 200], [1, 1, 1, 1, 1, 1, 0, 1]),
    ({"NoDataRanges": "100,200", "AllowUnmatched": "false"}, [1, 1, 2, 2, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0]),
])
def test_remap_ranges_are_min_inclusive_max_exclusive(arguments: dict[str, Any], expected: list[float],
                                                      valid: list[int]) -> None:
    out = run(raster(REMAP_INPUT), rule("Remap", InputRanges=[0, 10, 10, 20], OutputValues=[1, 2], **arguments))
    np.testing.assert_array_equal(out.mask, np.array([valid], dtype=bool))
    np.testing.assert_array_equal(out.data[0], [expected])


def test_first_matching_range_wins() -> None:
    out = run(raster(np.array([[5.0, 15.0]])), rule("Remap", InputRanges="0 20 0 10", OutputValues="1 2"))
    np.testing.assert_array_equal(out.data[0], [[1, 1]])


@pytest.mark.parametrize("outputs, pixel_type", [([1, 2], "U8"), ([1, 300], "F32"), ([0.5, 2], "F32")])
def test_remap_keeps_the_input_type_when_outputs_fit(outputs: list[float], pixel_type: str) -> None:
    values = np.array([[3, 12]], dtype=np.uint8)
    out = run(raster(values, pixel_type="U8"), rule("Remap", InputRanges=[0, 10, 10, 20], OutputValues=outputs))
    assert out.pixel_type == pixel_type
    np.testing.assert_array_equal(out.data[0], [outputs])


# --------------------------------------------------------------------------------------------------------------------
# Clip


GRID = np.arange(100.0).reshape(10, 10)  # bbox (1000, 2000, 1100, 2100), 10 m pixels


def centres() -> tuple[Array, Array]:
    x = 1000.0 + (np.arange(10) + 0.5) * CELL
    y = 2100.0 - (np.arange(10) + 0.5) * CELL
    return np.meshgrid(x, y)


@pytest.mark.parametrize("clip_type, keep_inside", [(1, True), (2, False), (None, True)])
def test_clip_to_an_envelope(clip_type: int | None, keep_inside: bool) -> None:
    envelope = {"xmin": 1020, "ymin": 2030, "xmax": 1061, "ymax": 2075}
    arguments: dict[str, Any] = {"ClippingGeometry": envelope}
    if clip_type is not None:
        arguments["ClippingType"] = clip_type
    out = run(raster(GRID), rule("Clip", **arguments))
    x, y = centres()
    inside = (x > 1020) & (x < 1061) & (y > 2030) & (y < 2075)
    np.testing.assert_array_equal(out.mask, inside if keep_inside else ~inside)
    np.testing.assert_array_equal(out.data, GRID[np.newaxis])  # values untouched


def test_clip_type_alias_and_polygon_with_a_hole() -> None:
    outer = [[1001, 2001], [1099, 2001], [1099, 2099], [1001, 2099], [1001, 2001]]
    hole = [[1030, 2030], [1030, 2070], [1070, 2070], [1070, 2030], [1030, 2030]]
    out = run(raster(GRID), rule("Clip", ClipType=1, ClippingGeometry={"rings": [outer, hole]}))
    x, y = centres()
    in_hole = (x > 1030) & (x < 1070) & (y > 2030) & (y < 2070)
    np.testing.assert_array_equal(out.mask, ~in_hole)


def test_clip_to_a_triangle() -> None:
    triangle = [[1000, 2000], [1103, 2000], [1000, 2103]]  # no pixel centre on the hypotenuse
    out = run(raster(GRID), rule("Clip", ClippingGeometry={"rings": [triangle]}))
    x, y = centres()
    np.testing.assert_array_equal(out.mask, (x - 1000) + (y - 2000) < 103)


def test_clip_geometry_in_its_own_spatial_reference() -> None:
    to_lonlat = Transformer.from_crs(3857, 4326, always_xy=True)
    lon0, lat0 = to_lonlat.transform(1021.0, 2023.0)
    lon1, lat1 = to_lonlat.transform(1077.0, 2068.0)
    envelope = {"xmin": lon0, "ymin": lat0, "xmax": lon1, "ymax": lat1, "spatialReference": {"wkid": 4326}}
    out = run(raster(GRID), rule("Clip", ClippingGeometry=envelope))
    x, y = centres()
    lon, lat = to_lonlat.transform(x, y)
    expected = (lon > lon0) & (lon < lon1) & (lat > lat0) & (lat < lat1)
    np.testing.assert_array_equal(out.mask, expected)
    assert 0 < expected.sum() < expected.size


def test_clip_keeps_nodata() -> None:
    mask = np.ones((10, 10), dtype=bool)
    mask[5, 5] = False
    out = run(raster(GRID, mask=mask), rule("Clip", ClippingGeometry={"xmin": 0, "ymin": 0, "xmax": 9e9,
                                                                       "ymax": 9e9}))
    np.testing.assert_array_equal(out.mask, mask)


def test_clip_arguments_are_parsed_into_rings() -> None:
    parsed = parse_rendering_rule(rule("Clip", ClippingGeometry={"rings": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
                                       ClippingType=2))
    assert parsed is not None
    assert parsed.arguments == ClipArgs(rings=(((0.0, 0.0), (1.0, 0.0), (1.0, 1.0)),), keep_inside=False)


# --------------------------------------------------------------------------------------------------------------------
# ExtractBand


THREE = np.stack([RED, GREEN, NIR])


def test_extract_bands_by_id() -> None:
    out = run(raster(THREE, names=("red", "green", "nir")), rule("ExtractBand", BandIDs=[2, 0]))
    np.testing.assert_array_equal(out.data, np.stack([NIR, RED]))
    assert out.band_names == ("nir", "red") and out.pixel_type == "F32"


@pytest.mark.parametrize("names, source_names, expected", [
    (["NIR", "Red"], ("red", "green", "nir"), [2, 0]),
    ("green", ("red", "green", "nir"), [1]),
    (["Band_3"], (), [2]),
])
def test_extract_bands_by_name(names: Any, source_names: tuple[str, ...], expected: list[int]) -> None:
    out = run(raster(THREE, names=source_names), rule("ExtractBand", BandNames=names))
    np.testing.assert_array_equal(out.data, THREE[expected])


def test_missing_bands() -> None:
    best = run(raster(THREE), rule("ExtractBand", BandIDs=[0, 7]))
    np.testing.assert_array_equal(best.data, THREE[[0, 2]])
    failing = parse_rendering_rule(rule("ExtractBand", BandIDs=[0, 7], MissingBandAction=1))
    assert failing is not None
    with pytest.raises(InvalidParameter, match="'BandIDs' is 7"):
        apply_rendering_rule(raster(THREE), failing, None)
    with pytest.raises(InvalidParameter, match="'BandIDs' is 7"):
        output_band_count(failing, 3)
    with pytest.raises(InvalidParameter, match="no band named 'swir'"):
        run(raster(THREE, names=("red", "green", "nir")), rule("ExtractBand", BandNames=["swir"]))


def test_extracted_bands_keep_their_service_statistics() -> None:
    stats = [BandStats(0, 1000, 500, 100), BandStats(0, 1000, 500, 100), BandStats(0, 100, 50, 10)]
    out = run(raster(THREE), rule("Stretch", rule("ExtractBand", BandIDs=[2]), StretchType=5), stats)
    np.testing.assert_array_equal(out.data[0], linear_u8(NIR, 0, 100))


# --------------------------------------------------------------------------------------------------------------------
# Chains, identity, output pixel types, band counts


def test_stretched_hillshade_uses_the_hillshades_own_range() -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(0, 30, (9, 9)).cumsum(axis=0)
    source = raster(z)
    shade = run(source, rule("Hillshade")).data[0].astype(float)
    # The DEM's statistics describe elevations, not shades: they are dropped after Hillshade.
    out = run(source, rule("Stretch", rule("Hillshade"), StretchType=5), [stats_of(z)])
    np.testing.assert_array_equal(out.data[0], linear_u8(shade, shade.min(), shade.max()))


def test_colormapped_ndvi() -> None:
    out = run(raster(np.stack([RED, NIR])), rule("Colormap", rule("NDVI"), ColormapName="Gray"))
    scaled = np.rint(ndvi(NIR, RED) * 100 + 100)
    valid = (RED + NIR) != 0
    assert out.band_count == 3
    np.testing.assert_array_equal(out.data[1][valid], scaled[valid])
    np.testing.assert_array_equal(out.mask, valid)


def test_colormapped_slope_as_json_text() -> None:
    text = json.dumps(rule("Colormap", rule("Slope", ZFactor=1), ColorRamp="Slope"))
    out = run(raster(plane(0.2, 0.1)), text)
    assert out.band_count == 3 and out.pixel_type == "U8" and out.mask.all()


def test_output_pixel_type_of_a_nested_function() -> None:
    out = run(raster(plane(0.3, 0.4)), rule("Slope", pixel_type="U8"))
    assert out.pixel_type == "U8" and out.data.dtype == np.uint8
    np.testing.assert_array_equal(out.data[0], round(math.degrees(math.atan(0.5))))
    clamped = run(raster(np.array([[-5.0, 300.0, 12.6]])), rule("None", pixel_type="u8"))
    assert clamped.data.tolist() == [[[0, 255, 13]]]


@pytest.mark.parametrize("name", ["None", "Identity"])
def test_identity(name: str) -> None:
    source = raster(THREE)
    assert run(source, rule(name)) is source


@pytest.mark.parametrize("value, bands, expected", [
    (rule("Stretch", StretchType=5), 4, 4),
    (rule("Colormap", rule("Slope"), ColormapName="Gray"), 1, 3),
    (rule("Hillshade"), 3, 1),
    (rule("ExtractBand", BandIDs=[0, 1]), 4, 2),
    (rule("ExtractBand", BandNames="a,b,c"), 4, 3),
    (rule("Stretch", rule("ExtractBand", BandIDs=[3, 2, 1]), StretchType=3), 4, 3),
    (rule("Colormap", rule("BandArithmetic", BandIndexes="B1 - B2"), ColormapName="Random"), 2, 3),
    (rule("Remap", rule("NDVI"), InputRanges=[0, 100], OutputValues=[0]), 2, 1),
    (rule("Clip", ClippingGeometry={"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1}), 5, 5),
])
def test_output_band_count(value: dict[str, Any], bands: int, expected: int) -> None:
    parsed = parse_rendering_rule(value)
    assert parsed is not None
    assert output_band_count(parsed, bands) == expected


def test_apply_does_not_touch_the_input() -> None:
    values = THREE.copy()
    mask = np.ones(values.shape[1:], dtype=bool)
    source = raster(values, mask=mask)
    run(source, rule("Clip", rule("Stretch", StretchType=5), ClippingGeometry={"xmin": 0, "ymin": 0, "xmax": 1,
                                                                              "ymax": 1}))
    np.testing.assert_array_equal(source.data, THREE)
    assert source.mask.all()


def test_surface_input_may_be_named_dem() -> None:
    parsed = parse_rendering_rule({"rasterFunction": "Colormap", "rasterFunctionArguments": {
        "ColormapName": "Gray", "DEM": rule("Hillshade")}})
    assert parsed is not None and parsed.raster is not None and parsed.raster.name == "Hillshade"


@pytest.mark.parametrize(("arguments", "expected"), [
    # key colours at 0, 128 and 255 of a U8 band (the colours ArcGIS's maps and ramps are defined by)
    ({"ColormapName": "Gray"}, [(0, 0, 0), (128, 128, 128), (255, 255, 255)]),
    ({"ColormapName": "Elevation"}, [(0, 255, 255), (128, 0, 128), (0, 0, 0)]),
    ({"ColorRamp": "Black to White"}, [(0, 0, 0), (128, 128, 128), (255, 255, 255)]),
    ({"ColorrampName": "Slope"}, [(56, 168, 0), (255, 255, 0), (255, 0, 0)]),
    ({"ColorrampName": "Elevation #1"}, [(175, 240, 233), (0, 128, 64), (255, 255, 255)]),
    ({"ColorRamp": "Red to Green"}, [(245, 0, 0), (255, 255, 0), (0, 168, 0)]),
])
def test_named_maps_and_ramps_give_their_colours(arguments: dict[str, Any],
                                                 expected: list[tuple[int, int, int]]) -> None:
    out = run(raster(np.array([[0, 128, 255]], dtype=np.uint8), pixel_type="U8"), rule("Colormap", **arguments))
    got = [tuple(int(c) for c in pixel) for pixel in np.moveaxis(out.data, 0, -1)[0]]
    for colour, want in zip(got, expected, strict=True):
        assert max(abs(a - b) for a, b in zip(colour, want, strict=True)) <= 1, (got, expected)
