"""The ImageServer processing chain over ArcGIS plans, run on fetched coverage bytes (pure; called in an executor).

Order: band selection (``bandIds``) → onto the target grid (resampling / warp) → ``renderingRule`` → ``noData`` →
``pixelType`` → encoding.  Bands are selected first, as a range subset of the source, so that functions such as
NDVI address the bands they were given.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from translators.arcgis.image import CatalogRaster, DownloadPlan, Fetch, IdentifyPlan, ImageContext, ImagePlan
from translators.errors import BackendError
from translators.raster.encode import apply_nodata, convert_pixel_type, encode_raster
from translators.raster.functions import apply_rendering_rule, rasterize
from translators.raster.io import read_geotiff, resample, select_bands
from translators.raster.model import PIXEL_TYPES, BandStats, Raster


def _source(ctx: ImageContext, fetch: Fetch, body: bytes, band_ids: Sequence[int] | None) -> Raster:
    desc = fetch.raster.coverage
    raster = read_geotiff(body, desc.sr, desc.nodata)
    names = ctx.band_names
    if fetch.bands is not None and raster.band_count == len(fetch.bands):
        # The backend subset the range: it returned the requested bands in ascending order.
        raster.band_names = tuple(names[b] for b in fetch.bands)
        if band_ids is not None:
            raster = select_bands(raster, [fetch.bands.index(b) for b in band_ids])
        return raster
    # No subset asked, or one the backend refused or ignored (MapServer's WCS 1.0.0 without wcs_rangeset_axes
    # answers every band): select locally.
    if raster.band_count != ctx.band_count:
        expected = len(fetch.bands) if fetch.bands is not None else ctx.band_count
        raise BackendError(f"The backend returned {raster.band_count} bands instead of {expected}.")
    raster.band_names = names
    wanted = band_ids if band_ids is not None else fetch.bands
    return select_bands(raster, wanted) if wanted is not None else raster


def _stats(ctx: ImageContext, band_ids: Sequence[int] | None) -> list[BandStats]:
    return [ctx.stats[b] for b in band_ids] if band_ids is not None else list(ctx.stats)


def export_raster(ctx: ImageContext, plan: ImagePlan, body: bytes | None) -> Raster:
    """The processed raster of an exportImage, before encoding."""
    band_count = len(plan.band_ids) if plan.band_ids is not None else ctx.band_count
    if plan.fetch is None or body is None:
        dtype = PIXEL_TYPES[ctx.pixel_type].dtype
        empty = np.zeros((band_count, plan.height, plan.width), dtype=dtype)
        raster = Raster(empty, np.zeros((plan.height, plan.width), dtype=bool), plan.extent, plan.sr,
                        ctx.pixel_type)
    else:
        source = _source(ctx, plan.fetch, body, plan.band_ids)
        raster = resample(source, plan.extent, plan.sr, plan.width, plan.height, plan.resampling)
    if plan.rendering_rule is not None:
        raster = apply_rendering_rule(raster, plan.rendering_rule, _stats(ctx, plan.band_ids))
    raster = apply_nodata(raster, plan.no_data, plan.no_data_interpretation)
    return convert_pixel_type(raster, plan.pixel_type)


def export_image(ctx: ImageContext, plan: ImagePlan, body: bytes | None) -> tuple[bytes, str, str]:
    """exportImage bytes, content type and file extension."""
    raster = export_raster(ctx, plan, body)
    stats = _stats(ctx, plan.band_ids) if plan.rendering_rule is None else None
    return encode_raster(raster, plan.format, stats=stats, compression=plan.compression,
                         compression_quality=plan.compression_quality, lerc_version=plan.lerc_version,
                         compression_tolerance=plan.compression_tolerance)


def identify_values(ctx: ImageContext, plan: IdentifyPlan, body: bytes | None) -> list[float] | None:
    """The (processed) values of the cell under the point, or None for NoData."""
    if plan.fetch is None or body is None:
        return None
    raster = _source(ctx, plan.fetch, body, None)
    if plan.rendering_rule is not None:
        raster = apply_rendering_rule(raster, plan.rendering_rule, list(ctx.stats))
    x0, y0, x1, y1 = raster.bbox
    col = min(raster.width - 1, max(0, int((plan.x - x0) / (x1 - x0) * raster.width)))
    row = min(raster.height - 1, max(0, int((y1 - plan.y) / (y1 - y0) * raster.height)))
    if not raster.mask[row, col]:
        return None
    return [float(v) for v in raster.data[:, row, col]]


def download_file(ctx: ImageContext, raster_item: CatalogRaster, plan: DownloadPlan,
                  body: bytes | None) -> tuple[bytes, str, str]:
    """One downloaded raster, clipped to the plan's polygon when it has one, in the requested format."""
    if body is None:
        raise BackendError("The backend returned no data for the download.")
    fetch_desc = raster_item.coverage
    raster = read_geotiff(body, fetch_desc.sr, fetch_desc.nodata)
    raster.band_names = ctx.band_names if len(ctx.band_names) == raster.band_count else ()
    if plan.clip_polygon is not None:
        raster.mask = raster.mask & rasterize(plan.clip_polygon, raster.bbox, raster.height, raster.width)
    return encode_raster(raster, plan.format, stats=list(ctx.stats))

