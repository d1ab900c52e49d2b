"""Reading backend GeoTIFFs into :class:`Raster`, resampling/warping onto a target grid, and statistics."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence

import numpy as np
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio.crs import CRS as RioCRS
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.io import MemoryFile
from rasterio.warp import reproject

from translators.crs import SpatialRef, transform_bbox
from translators.errors import BackendError, InvalidParameter
from translators.raster.model import BandStats, BBox, Raster, pixel_type_of

WARP_THREADS = max(1, min(4, os.cpu_count() or 1))
INTERPOLATIONS: dict[str, Resampling] = {
    "rsp_nearestneighbor": Resampling.nearest,
    "rsp_bilinearinterpolation": Resampling.bilinear,
    "rsp_cubicconvolution": Resampling.cubic,
    "rsp_majority": Resampling.mode,
}


def parse_interpolation(text: str | None, parameter: str = "interpolation") -> Resampling:
    """ArcGIS resampling names (``RSP_NearestNeighbor`` …, case-insensitive); nearest by default."""
    if text is None:
        return Resampling.nearest
    try:
        return INTERPOLATIONS[text.strip().lower()]
    except KeyError:
        raise InvalidParameter(parameter, f"'{text}' is not one of RSP_NearestNeighbor, RSP_BilinearInterpolation, "
                                          "RSP_CubicConvolution, RSP_Majority") from None


def read_geotiff(body: bytes, sr: SpatialRef, nodata: Sequence[float] = ()) -> Raster:
    """Decode a GeoTIFF answer; pixels equal to the file's or the coverage's nodata are invalid."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with MemoryFile(body) as memory, memory.open() as dataset:
                data = dataset.read()
                bounds = dataset.bounds
                file_nodata = dataset.nodata
    except (RasterioIOError, rasterio.errors.RasterioError):
        raise BackendError("The backend's coverage is not a readable GeoTIFF.") from None
    valid = np.ones(data.shape[1:], dtype=bool)
    for value in {*nodata, *([file_nodata] if file_nodata is not None else [])}:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        valid &= ~np.all(data == np.asarray(value, dtype=data.dtype), axis=0)
    if np.issubdtype(data.dtype, np.floating):
        valid &= ~np.any(np.isnan(data), axis=0)
    bbox = (bounds.left, min(bounds.bottom, bounds.top), bounds.right, max(bounds.bottom, bounds.top))
    return Raster(data, valid, bbox, sr, pixel_type_of(data.dtype).name)


def file_nodata(body: bytes) -> float | None:
    """The nodata value a GeoTIFF declares (QGIS writes it in the file but not in its coverage descriptions)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with MemoryFile(body) as memory, memory.open() as dataset:
                value = dataset.nodata
    except rasterio.errors.RasterioError:
        return None
    return None if value is None or math.isnan(value) else float(value)


def _transform(bbox: BBox, width: int, height: int) -> Affine:
    return Affine((bbox[2] - bbox[0]) / width, 0.0, bbox[0], 0.0, -(bbox[3] - bbox[1]) / height, bbox[3])


def _rio_crs(sr: SpatialRef) -> RioCRS:
    return RioCRS.from_wkt(sr.crs.to_wkt())


def resample(raster: Raster, bbox: BBox, sr: SpatialRef, width: int, height: int,
             resampling: Resampling = Resampling.nearest) -> Raster:
    """Put ``raster`` on the grid ``bbox``/``width``x``height`` in ``sr`` (a warp when the SR differs).

    Invalid pixels take no part in interpolation; cells no valid source pixel reaches are invalid.  Only the cells
    the source can reach are warped: GDAL, asked for cells far outside what a projection can represent (an extent of
    1e16 m in Web Mercator), spends minutes failing to find their sources.  For the same reason a source that fits
    within one target cell is looked up at the cell centres (nearest neighbour) rather than warped.
    """
    window, within_a_cell = _reachable(raster, bbox, sr, width, height)
    if window is None:
        return Raster(np.zeros((raster.band_count, height, width), dtype=raster.data.dtype),
                      np.zeros((height, width), dtype=bool), bbox, sr, raster.pixel_type, raster.band_names)
    col0, row0, col1, row1 = window
    res_x, res_y = (bbox[2] - bbox[0]) / width, (bbox[3] - bbox[1]) / height
    part = (bbox[0] + col0 * res_x, bbox[3] - row1 * res_y, bbox[0] + col1 * res_x, bbox[3] - row0 * res_y)
    if within_a_cell:
        values, valid = _sample(raster, part, sr, col1 - col0, row1 - row0)
    else:
        values, valid = _warp(raster, part, sr, col1 - col0, row1 - row0, resampling)
    if window == (0, 0, width, height):  # no copy into a larger grid
        return Raster(values, valid, bbox, sr, raster.pixel_type, raster.band_names)
    out = np.zeros((raster.band_count, height, width), dtype=raster.data.dtype)
    mask = np.zeros((height, width), dtype=bool)
    out[:, row0:row1, col0:col1] = values
    mask[row0:row1, col0:col1] = valid
    return Raster(out, mask, bbox, sr, raster.pixel_type, raster.band_names)


def _reachable(raster: Raster, bbox: BBox, sr: SpatialRef, width: int, height: int
               ) -> tuple[tuple[int, int, int, int] | None, bool]:
    """The window (col0, row0, col1, row1) of the target grid that the source's footprint covers, two cells wider on
    each side for the interpolation kernels (the whole grid when the footprint cannot be expressed in ``sr``; None
    when the source reaches no cell), and whether the footprint is narrower than one target cell."""
    if not all(math.isfinite(v) for v in bbox):  # an extent that overflowed: no cell has coordinates to warp to
        return None, False
    try:
        fx0, fy0, fx1, fy1 = transform_bbox(raster.bbox, raster.sr, sr)
    except InvalidParameter:
        return (0, 0, width, height), False
    if fx0 > fx1:  # across the antimeridian: bound the rows only
        fx0, fx1 = bbox[0], bbox[2]
    res_x, res_y = (bbox[2] - bbox[0]) / width, (bbox[3] - bbox[1]) / height
    col0 = max(0, math.floor((fx0 - bbox[0]) / res_x) - 2)
    col1 = min(width, math.ceil((fx1 - bbox[0]) / res_x) + 2)
    row0 = max(0, math.floor((bbox[3] - fy1) / res_y) - 2)
    row1 = min(height, math.ceil((bbox[3] - fy0) / res_y) + 2)
    if col0 >= col1 or row0 >= row1:
        return None, False
    return (col0, row0, col1, row1), fx1 - fx0 < res_x or fy1 - fy0 < res_y


def _sample(raster: Raster, bbox: BBox, sr: SpatialRef, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """The source cell under each target cell's centre (nearest neighbour) and its validity."""
    xs = bbox[0] + (np.arange(width) + 0.5) * (bbox[2] - bbox[0]) / width
    ys = bbox[3] - (np.arange(height) + 0.5) * (bbox[3] - bbox[1]) / height
    grid_x, grid_y = np.meshgrid(xs, ys)
    with np.errstate(invalid="ignore", over="ignore"):
        src_x, src_y = Transformer.from_crs(sr.crs, raster.sr.crs, always_xy=True).transform(grid_x, grid_y,
                                                                                            errcheck=False)
        x0, y0, x1, y1 = raster.bbox
        cols = np.floor((np.asarray(src_x) - x0) / (x1 - x0) * raster.width)
        rows = np.floor((y1 - np.asarray(src_y)) / (y1 - y0) * raster.height)
    inside = np.isfinite(cols) & np.isfinite(rows) & (cols >= 0) & (cols < raster.width) & (rows >= 0) \
        & (rows < raster.height)
    col, row = cols[inside].astype(np.intp), rows[inside].astype(np.intp)
    values = np.zeros((raster.band_count, height, width), dtype=raster.data.dtype)
    values[:, inside] = raster.data[:, row, col]
    valid = np.zeros((height, width), dtype=bool)
    valid[inside] = raster.mask[row, col]
    return values, valid


def _warp(raster: Raster, bbox: BBox, sr: SpatialRef, width: int, height: int,
          resampling: Resampling) -> tuple[np.ndarray, np.ndarray]:
    """The values (in the raster's type) and validity of ``raster`` warped onto one grid."""
    # Floats warp in their own precision; integers go through float64 (exact for every type up to 32 bits) so that
    # NaN can mark what is invalid.
    work = raster.data.dtype if raster.data.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    source = raster.data.astype(work, copy=True)
    source[:, ~raster.mask] = np.nan
    target = np.full((raster.band_count, height, width), np.nan, dtype=work)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        for band in range(raster.band_count):
            reproject(
                source=source[band], destination=target[band],
                src_transform=_transform(raster.bbox, raster.width, raster.height), src_crs=_rio_crs(raster.sr),
                dst_transform=_transform(bbox, width, height), dst_crs=_rio_crs(sr),
                src_nodata=np.nan, dst_nodata=np.nan, resampling=resampling, num_threads=WARP_THREADS,
            )
    invalid = np.isnan(target)
    mask = ~np.any(invalid, axis=0)
    target[invalid] = 0
    dtype = raster.data.dtype
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype.name)
        return np.clip(np.rint(target), info.min, info.max).astype(dtype), mask
    return target.astype(dtype, copy=False), mask


def band_statistics(raster: Raster) -> list[BandStats]:
    """Min, max, mean and standard deviation of each band over the valid pixels."""
    stats: list[BandStats] = []
    for band in range(raster.band_count):
        values = raster.data[band][raster.mask].astype(np.float64)
        if values.size == 0:
            stats.append(BandStats(0.0, 0.0, 0.0, 0.0))
            continue
        stats.append(BandStats(float(values.min()), float(values.max()), float(values.mean()), float(values.std())))
    return stats


def select_bands(raster: Raster, band_ids: Sequence[int]) -> Raster:
    """Keep ``band_ids`` (0-based) in that order."""
    names = tuple(raster.band_names[b] for b in band_ids) if raster.band_names else ()
    return raster.with_data(raster.data[list(band_ids)], raster.pixel_type, band_names=names)
