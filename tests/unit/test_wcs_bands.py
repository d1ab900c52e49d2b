"""Band subsets of GetCoverage: how each flavour spells them, and the local selection when a backend answers every
band instead (issue 10)."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from rasterio.io import MemoryFile

from translators.arcgis.image import CatalogRaster, Fetch, IdentifyPlan, ImageContext
from translators.arcgis.image_render import identify_values
from translators.crs import resolve_sr
from translators.errors import BackendError
from translators.ogc.flavors import FLAVORS
from translators.ogc.wcs import CoverageDescription, getcoverage_params
from translators.raster.model import BandStats

EXTENT = (40.0, 40.0, 50.0, 50.0)


def description(version: str) -> CoverageDescription:
    return CoverageDescription(id="cov", version=version, label="", description="", crs_code="EPSG:4326",
                               extent=EXTENT, columns=10, rows=10, band_names=("band1", "band2", "band3", "band4"),
                               nodata=(), format="image/tiff", axis_labels=("Long", "Lat"))


def test_range_subsets_by_index_or_by_advertised_name() -> None:
    desc = description("2.0.1")
    by_index = dict(getcoverage_params(desc, EXTENT, 10, 10, (0, 3), range_indices=True))
    assert by_index["RANGESUBSET"] == "1,4"
    assert dict(getcoverage_params(desc, EXTENT, 10, 10, (0, 3)))["RANGESUBSET"] == "band1,band4"
    assert "RANGESUBSET" not in dict(getcoverage_params(desc, EXTENT, 10, 10, None, range_indices=True))
    assert dict(getcoverage_params(description("1.0.0"), EXTENT, 10, 10, (0, 3)))["BANDS"] == "1,4"


def test_mapserver_is_asked_by_index_the_others_do_not_subset() -> None:
    # MapServer 8 resolves RANGESUBSET names against wcs_band_names, not always what it advertises; indices always work.
    assert FLAVORS["mapserver"].wcs_band_subsetting and FLAVORS["mapserver"].wcs_range_indices
    assert not any(f.wcs_band_subsetting for name, f in FLAVORS.items() if name != "mapserver")


def geotiff(data: np.ndarray) -> bytes:
    bands, rows, cols = data.shape
    with MemoryFile() as memory:
        with memory.open(driver="GTiff", width=cols, height=rows, count=bands, dtype=data.dtype, crs="EPSG:4326",
                         transform=Affine(1.0, 0.0, EXTENT[0], 0.0, -1.0, EXTENT[3])) as dataset:
            dataset.write(data)
        return bytes(memory.read())


def context(desc: CoverageDescription) -> tuple[ImageContext, CatalogRaster]:
    raster = CatalogRaster(1, desc, None, False)
    stats = tuple(BandStats(0.0, 100.0, 50.0, 10.0) for _ in range(4))
    ctx = ImageContext(name="t", sr=resolve_sr(4326, "sr"), rasters=(raster,), pixel_type="S16", band_count=4,
                       band_names=("blue", "green", "red", "nir"), stats=stats, nodata=(), max_width=100,
                       max_height=100, subset_bands=True)
    return ctx, raster


@pytest.mark.parametrize("answered", [(1, 3), (0, 1, 2, 3)])
def test_a_subset_or_every_band_gives_the_same_values(answered: tuple[int, ...]) -> None:
    """The backend subset the range, or refused/ignored the subset and answered every band: same values."""
    data = np.stack([np.full((10, 10), 100 * (b + 1), dtype=np.int16) for b in range(4)])
    ctx, raster = context(description("2.0.1"))
    plan = IdentifyPlan(45.0, 45.0, ctx.sr, (45.0, 45.0), Fetch(raster, EXTENT, 10, 10, (1, 3)), None)
    assert identify_values(ctx, plan, geotiff(data[list(answered)])) == [200.0, 400.0]


def test_an_answer_with_neither_the_subset_nor_every_band_is_a_502() -> None:
    data = np.zeros((3, 10, 10), dtype=np.int16)
    ctx, raster = context(description("2.0.1"))
    plan = IdentifyPlan(45.0, 45.0, ctx.sr, (45.0, 45.0), Fetch(raster, EXTENT, 10, 10, (1, 3)), None)
    with pytest.raises(BackendError, match="3 bands instead of 2"):
        identify_values(ctx, plan, geotiff(data))
