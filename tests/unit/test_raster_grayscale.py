"""Grayscale (renderingRule): the weighted mean of the bands, checked against values computed here by hand."""

import json
from typing import Any

import numpy as np
import pytest

from translators.crs import resolve_sr
from translators.errors import InvalidParameter
from translators.raster.functions import RasterFunction, apply_rendering_rule, output_band_count, parse_rendering_rule
from translators.raster.functions.grayscale import GrayscaleArgs
from translators.raster.model import BandStats, Raster

MERCATOR = resolve_sr(3857, "test")

# Three bands of a 2 x 2 image; cell by cell: (10, 20, 30), (0, 100, 200), (255, 255, 255), (40, 0, 80).
RED = [[10, 0], [255, 40]]
GREEN = [[20, 100], [255, 0]]
BLUE = [[30, 200], [255, 80]]


def raster(bands: list[Any], pixel_type: str = "U8", mask: Any = None,
           names: tuple[str, ...] = ("Red", "Green", "Blue")) -> Raster:
    values = np.asarray(bands, dtype=np.float64)
    valid = np.ones(values.shape[1:], dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    return Raster(values, valid, (0.0, 0.0, 20.0, 20.0), MERCATOR, pixel_type, names)


def rule(function: str, raster_input: dict[str, Any] | None = None, **arguments: Any) -> dict[str, Any]:
    args = dict(arguments)
    if raster_input is not None:
        args["Raster"] = raster_input
    return {"rasterFunction": function, "rasterFunctionArguments": args}


def run(source: Raster, value: dict[str, Any], stats: list[BandStats] | None = None) -> Raster:
    parsed = parse_rendering_rule(json.dumps(value))
    assert parsed is not None
    return apply_rendering_rule(source, parsed, stats)


def test_weighted_bands_normalised_by_the_sum_of_the_weights() -> None:
    out = run(raster([RED, GREEN, BLUE]), rule("Grayscale", ConversionParameters=[1, 2, 1]))
    # (r + 2g + b) / 4: (10 + 40 + 30) / 4 = 20, (0 + 200 + 200) / 4 = 100, 255, (40 + 0 + 80) / 4 = 30
    assert out.band_count == 1 and out.pixel_type == "U8" and out.data.dtype == np.uint8
    assert out.data[0].tolist() == [[20, 100], [255, 30]]
    assert out.band_names == ("Grayscale",)
    assert out.mask.all()


def test_fractional_weights_keep_the_input_type_and_round() -> None:
    weights = [0.3, 0.59, 0.11]
    out = run(raster([RED, GREEN, BLUE]), rule("Grayscale", ConversionParameters="0.3, 0.59 0.11"))
    cells = [(10, 20, 30), (0, 100, 200), (255, 255, 255), (40, 0, 80)]
    expected = [round(sum(w * v for w, v in zip(weights, cell, strict=True)) / sum(weights)) for cell in cells]
    assert expected == [18, 81, 255, 21]
    assert out.data[0].ravel().tolist() == expected


def test_float_input_is_not_rounded() -> None:
    out = run(raster([RED, GREEN, BLUE], pixel_type="F32"), rule("Grayscale", ConversionParameters=[1, 1, 2]))
    assert out.pixel_type == "F32"
    assert out.data[0].ravel().tolist() == pytest.approx([22.5, 125.0, 255.0, 50.0])


def test_without_weights_every_band_weighs_the_same() -> None:
    out = run(raster([RED, GREEN, BLUE], pixel_type="F32"), rule("Grayscale"))
    assert out.data[0].ravel().tolist() == pytest.approx([20.0, 100.0, 255.0, 40.0])


def test_a_pixel_nodata_in_any_band_is_nodata() -> None:
    blue = [[30.0, float("nan")], [255.0, 80.0]]
    out = run(raster([RED, GREEN, blue], pixel_type="F32", mask=[[True, True], [False, True]]),
              rule("Grayscale", ConversionParameters=[1, 1, 1]))
    assert out.mask.tolist() == [[True, False], [False, True]]
    assert out.data[0][0, 0] == pytest.approx(20.0) and out.data[0][1, 1] == pytest.approx(40.0)


def test_output_pixel_type() -> None:
    value = rule("Grayscale", ConversionParameters=[1, 1, 1])
    value["outputPixelType"] = "F32"
    out = run(raster([RED, GREEN, BLUE]), value)
    assert out.pixel_type == "F32" and out.data[0][1, 1] == pytest.approx(40.0)


@pytest.mark.parametrize("value", [
    {"rasterFunction": "Greyscale", "rasterFunctionArguments": {"ConversionParameters": [1, 2, 1]}},
    {"rasterFunction": "grayscale", "rasterFunctionArguments": {"conversionparameters": "1 2 1"}},
    {"function": {"type": "GrayscaleFunction"},
     "arguments": {"ConversionParameters": {"type": "RasterFunctionVariable", "value": [1, 2, 1]}}},
])
def test_names_and_forms(value: dict[str, Any]) -> None:
    assert parse_rendering_rule(value) == RasterFunction("Grayscale", GrayscaleArgs((1.0, 2.0, 1.0)))


@pytest.mark.parametrize("arguments, text", [
    ({"ConversionParameters": [1, -1, 1]}, "must not be negative"),
    ({"ConversionParameters": [0, 0, 0]}, "must not all be 0"),
    ({"ConversionParameters": "1 x 1"}, "'x' is not a number"),
    ({"ConversionParameters": {"red": 1}}, "must be a number"),
])
def test_bad_weights_are_refused_naming_the_argument(arguments: dict[str, Any], text: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        parse_rendering_rule(rule("Grayscale", **arguments))
    assert info.type is InvalidParameter and info.value.parameter == "renderingRule"
    assert "Grayscale argument 'ConversionParameters'" in info.value.message and text in info.value.message


def test_one_weight_per_band() -> None:
    parsed = parse_rendering_rule(rule("Grayscale", ConversionParameters=[1, 1]))
    assert parsed is not None
    for check in (lambda: output_band_count(parsed, 3),
                  lambda: apply_rendering_rule(raster([RED, GREEN, BLUE]), parsed, None)):
        with pytest.raises(InvalidParameter) as info:
            check()
        assert info.value.parameter == "renderingRule"
        assert "has 2 weight(s), but the input has 3 band(s)" in info.value.message
    assert output_band_count(parsed, 2) == 1


def test_grayscale_of_extracted_bands() -> None:
    value = rule("Grayscale", rule("ExtractBand", BandIDs=[0, 2]), ConversionParameters=[3, 1])
    parsed = parse_rendering_rule(value)
    assert parsed is not None and output_band_count(parsed, 3) == 1
    out = run(raster([RED, GREEN, BLUE]), value)
    # (3r + b) / 4: (30 + 30) / 4 = 15, 200 / 4 = 50, 255, (120 + 80) / 4 = 50
    assert out.data[0].tolist() == [[15, 50], [255, 50]]


def test_stretched_grayscale_uses_its_own_range_not_the_band_statistics() -> None:
    stats = [BandStats(0, 1000, 500, 100)] * 3  # describe the input bands, not the grey band
    value = rule("Stretch", rule("Grayscale", ConversionParameters=[1, 2, 1]), StretchType=5)
    out = run(raster([RED, GREEN, BLUE]), value, stats)
    # grey 20, 100, 255, 30 stretched min-max (20..255) onto 0..255
    expected = np.rint((np.array([[20, 100], [255, 30]]) - 20) / 235 * 255)
    assert out.data[0].tolist() == expected.tolist()


def test_a_colormap_needs_grayscale_first_on_a_multiband_image() -> None:
    colormap = rule("Colormap", ColormapName="Gray")
    with pytest.raises(InvalidParameter, match="single-band"):
        run(raster([RED, GREEN, BLUE]), colormap)
    value = rule("Colormap", rule("Grayscale", ConversionParameters=[1, 2, 1]), ColormapName="Gray")
    parsed = parse_rendering_rule(value)
    assert parsed is not None and output_band_count(parsed, 3) == 3
    out = run(raster([RED, GREEN, BLUE]), value)
    assert out.band_count == 3 and [out.data[c].tolist() for c in range(3)] == [[[20, 100], [255, 30]]] * 3
