"""exportImage answers are keyed by every field of their plan: no parameter that changes the bytes can be left out."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import pytest
from rasterio.enums import Resampling

from translators.arcgis.image import CatalogRaster, Fetch, ImagePlan, answer_key_params
from translators.crs import resolve_sr
from translators.ogc.wcs import CoverageDescription
from translators.raster.functions import parse_rendering_rule

COVERAGE = CoverageDescription(id="dem", version="2.0.1", label="dem", description="", crs_code="EPSG:4326",
                               extent=(0.0, 40.0, 10.0, 50.0), columns=100, rows=100, band_names=("b",),
                               nodata=(), format="image/tiff")
RASTER = CatalogRaster(1, COVERAGE, None, False)
BASE = ImagePlan(
    extent=(0.0, 40.0, 10.0, 50.0), sr=resolve_sr(4326, "imageSR"), width=100, height=100,
    fetch=Fetch(RASTER, (0.0, 40.0, 10.0, 50.0), 100, 100, None), band_ids=None, resampling=Resampling.nearest,
    rendering_rule=None, no_data=None, no_data_interpretation=None, pixel_type=None, format="tiff",
    compression=None, compression_quality=None, lerc_version=None, compression_tolerance=None,
)
# Another value for every field of the plan: each must give another key.
OTHER: dict[str, Any] = {
    "extent": (0.0, 40.0, 10.0, 50.5), "sr": resolve_sr(3857, "imageSR"), "width": 101, "height": 99,
    "fetch": None, "band_ids": (0,), "resampling": Resampling.bilinear,
    "rendering_rule": parse_rendering_rule('{"rasterFunction": "Hillshade"}'), "no_data": "0",
    "no_data_interpretation": "esriNoDataMatchAll", "pixel_type": "F32", "format": "lerc", "compression": "LZ77",
    "compression_quality": 10, "lerc_version": 1, "compression_tolerance": 0.5,
}


def test_every_field_of_the_plan_has_another_value_here() -> None:
    assert {f.name for f in fields(ImagePlan)} == set(OTHER)


@pytest.mark.parametrize("name", sorted(OTHER))
def test_each_field_changes_the_key(name: str) -> None:
    assert answer_key_params(replace(BASE, **{name: OTHER[name]})) != answer_key_params(BASE)


def test_equal_plans_have_equal_keys_whatever_the_number_spelling() -> None:
    spelt = replace(BASE, extent=(0, 40.0, 1e1, 50), fetch=Fetch(RASTER, (0, 40, 10, 50), 100, 100, None))
    assert answer_key_params(spelt) == answer_key_params(BASE)
