"""ImageServer: ``exportImage``, ``identify`` and ``download`` parameters → plans over WCS, and the service JSON.

A service publishes one coverage, or several coverages that are the dates of one time series (``coverages`` in the
configuration); each is a *raster* of the ArcGIS catalog with an id from 1.  Values are always fetched in the
coverage's native CRS on its own grid (so nearest-neighbour values are the stored ones) and warped or resampled
locally with the requested interpolation: backends' own reprojection is unreliable (QGIS 3.22).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from rasterio.enums import Resampling

from translators.arcgis.view import adjust_aspect, parse_bbox, requested_box, requested_size
from translators.crs import SpatialRef, resolve_sr, transform_bbox, transform_point
from translators.errors import InvalidParameter, UnsupportedParameter
from translators.limits import Limits, check_cells, check_memory, check_rule, image_bytes
from translators.ogc.wcs import CoverageDescription, snap_to_grid
from translators.params import Params, format_number, parse_bool, parse_float, parse_json, parse_numbers
from translators.raster.functions import RasterFunction, output_band_count, parse_rendering_rule
from translators.raster.io import parse_interpolation
from translators.raster.model import BandStats, BBox
from translators.timeutil import TimeRange, parse_arcgis_time, to_epoch_ms

IMAGE_FORMATS = ("jpgpng", "png", "png8", "png24", "png32", "jpg", "bmp", "gif", "tiff", "bip", "bsq", "lerc")
MAX_FETCH_PIXELS = 4096 * 4096
MOSAIC_METHODS = ("esriMosaicNone", "esriMosaicCenter", "esriMosaicNadir", "esriMosaicViewpoint",
                  "esriMosaicAttribute", "esriMosaicLockRaster", "esriMosaicNorthwest", "esriMosaicSeamline")
_ORDERING_METHODS = {"esrimosaicnone", "esrimosaicattribute", "esrimosaiclockraster"}
_OPERATIONS = {"mt_first", "mt_last"}


@dataclass(frozen=True)
class CatalogRaster:
    """One raster of the service: a coverage, or one date of a time-enabled coverage."""

    id: int
    coverage: CoverageDescription
    time: datetime | None  # the raster's date (per-date coverage or WCS time position)
    wcs_time: bool  # the date is sent as WCS TIME (one coverage with a temporal domain)


@dataclass(frozen=True)
class ImageContext:
    """What the planners know of one image service."""

    name: str
    sr: SpatialRef
    rasters: tuple[CatalogRaster, ...]
    pixel_type: str
    band_count: int
    band_names: tuple[str, ...]
    stats: tuple[BandStats, ...]
    nodata: tuple[float, ...]
    max_width: int
    max_height: int
    subset_bands: bool  # the backend honours WCS range subsetting
    limits: Limits = field(default_factory=Limits)  # the work one request may cause

    @property
    def coverage(self) -> CoverageDescription:
        """The coverage that defines grid and extent (all rasters share them)."""
        return self.rasters[0].coverage

    @property
    def extent(self) -> BBox:
        """Full extent, native CRS."""
        return self.coverage.extent

    @property
    def times(self) -> list[datetime]:
        """The dates of the time series (empty when not time-enabled)."""
        return sorted(r.time for r in self.rasters if r.time is not None)


@dataclass(frozen=True)
class Fetch:
    """One GetCoverage: which raster, where (native CRS, outer edges) and how many cells."""

    raster: CatalogRaster
    bbox: BBox
    width: int
    height: int
    bands: tuple[int, ...] | None


@dataclass(frozen=True)
class ImagePlan:
    """Everything needed to answer one exportImage."""

    extent: BBox  # the exported extent in ``sr``
    sr: SpatialRef
    width: int
    height: int
    fetch: Fetch | None  # None: the extent misses the coverage (an empty image)
    band_ids: tuple[int, ...] | None
    resampling: Resampling
    rendering_rule: RasterFunction | None
    no_data: str | None
    no_data_interpretation: str | None
    pixel_type: str | None
    format: str
    compression: str | None
    compression_quality: int | None
    lerc_version: int | None
    compression_tolerance: float | None


def answer_key_params(plan: ImagePlan) -> list[tuple[str, str]]:
    """What an exportImage answer is made of, canonically: every field of the plan — the raster, cells and bands
    fetched, and every parameter of the local work, parsed (so that JSON key order, number spelling and case no
    longer matter).  Built from the plan's fields themselves, so that a new parameter cannot be left out of the key.
    Two plans with equal lists give the same bytes."""
    return [(f.name.upper(), _canonical(getattr(plan, f.name))) for f in fields(plan)]


def _canonical(value: object) -> str:
    """One spelling per value: numbers as :func:`format_number`, an SR by its identity, a fetch by what it asks."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int | float):
        return format_number(value)
    if isinstance(value, tuple):
        return "(" + ",".join(_canonical(v) for v in value) + ")"
    if isinstance(value, SpatialRef):
        return str(value.wkid) if value.wkid is not None else value.wkt or value.ogc_code or ""
    if isinstance(value, Resampling):
        return str(value.name)
    if isinstance(value, Fetch):
        return f"{value.raster.id}|{_canonical(value.bbox)}|{value.width}x{value.height}|{_canonical(value.bands)}"
    return repr(value)  # strings, and parsed rules: frozen dataclasses of typed values, a canonical spelling


def parse_band_ids(text: str | None, band_count: int, parameter: str = "bandIds") -> tuple[int, ...] | None:
    """``bandIds=2,1,0`` (0-based); ``[2,1,0]`` is accepted too."""
    if text is None:
        return None
    body = text.strip().strip("[]")
    if not body:
        return None
    ids: list[int] = []
    for part in body.split(","):
        try:
            value = int(part.strip())
        except ValueError:
            raise InvalidParameter(parameter, f"'{part.strip()}' is not a band id") from None
        if not 0 <= value < band_count:
            raise InvalidParameter(parameter, f"band {value} does not exist (the service has {band_count} bands, "
                                              "numbered from 0)")
        ids.append(value)
    return tuple(ids)


def _mosaic(params: Params, ctx: ImageContext) -> tuple[set[int] | None, bool]:
    """The raster ids a mosaic rule locks to (None: any) and whether the earliest raster wins (ascending)."""
    text = params.get("mosaicRule")
    if text is None:
        return None, False
    rule = parse_json(text, "mosaicRule")
    if not isinstance(rule, dict):
        raise InvalidParameter("mosaicRule", "expected a JSON object")
    method = str(rule.get("mosaicMethod") or "esriMosaicNone")
    if method.lower() not in {m.lower() for m in MOSAIC_METHODS}:
        raise InvalidParameter("mosaicRule", f"unknown mosaicMethod '{method}'")
    if method.lower() not in _ORDERING_METHODS:
        raise UnsupportedParameter("mosaicRule", f"mosaicMethod '{method}' needs footprints a WCS does not have")
    operation = str(rule.get("mosaicOperation") or "MT_FIRST")
    if operation.lower() not in _OPERATIONS:
        raise UnsupportedParameter("mosaicRule", f"mosaicOperation '{operation}' is not supported (MT_FIRST, MT_LAST)")
    if rule.get("where") not in (None, "", "1=1"):
        raise UnsupportedParameter("mosaicRule", "a where clause on the catalog is not supported")
    if rule.get("fids") or rule.get("multidimensionalDefinition") or rule.get("itemRenderingRule"):
        raise UnsupportedParameter("mosaicRule", "fids, multidimensionalDefinition and itemRenderingRule are not "
                                                 "supported")
    sort_field = str(rule.get("sortField") or "")
    if sort_field and method.lower() == "esrimosaicattribute" and sort_field.lower() not in ("time", "date",
                                                                                           "acquisitiondate"):
        raise UnsupportedParameter("mosaicRule", f"sorting by '{sort_field}' is not supported (only by time)")
    ascending = rule.get("ascending", False)
    if not isinstance(ascending, bool):
        raise InvalidParameter("mosaicRule", "ascending must be true or false")
    if operation.lower() == "mt_last":
        ascending = not ascending
    locked: set[int] | None = None
    if method.lower() == "esrimosaiclockraster" or rule.get("lockRasterIds"):
        raw = rule.get("lockRasterIds") or []
        if not isinstance(raw, list) or not raw:
            raise InvalidParameter("mosaicRule", "lockRasterIds must list raster ids")
        try:
            locked = {int(v) for v in raw}
        except (TypeError, ValueError):
            raise InvalidParameter("mosaicRule", "lockRasterIds must be integers") from None
        unknown = locked - {r.id for r in ctx.rasters}
        if unknown:
            raise InvalidParameter("mosaicRule", f"raster {min(unknown)} does not exist")
    return locked, ascending


def choose_raster(ctx: ImageContext, time: TimeRange | None, locked: set[int] | None,
                  ascending: bool) -> CatalogRaster | None:
    """The raster on top: among those in the time window (and locked ids), the latest (earliest if ascending)."""
    candidates = [r for r in ctx.rasters if locked is None or r.id in locked]
    if time is not None and any(r.time for r in ctx.rasters):
        candidates = [r for r in candidates if r.time is not None
                      and (time.start is None or r.time >= time.start) and (time.end is None or r.time <= time.end)]
    if not candidates:
        return None
    key = (lambda r: (r.time or datetime.min, r.id)) if ctx.times else (lambda r: (datetime.min, -r.id))
    ordered = sorted(candidates, key=key)
    return ordered[0] if ascending else ordered[-1]


def _common(params: Params, ctx: ImageContext) -> None:
    if params.get("sliceId") is not None:
        raise UnsupportedParameter("sliceId", "the service has no multidimensional slices")
    transformation = params.get("datumTransformation")
    if transformation is not None and transformation.replace(" ", "") not in ("{}", "null"):
        raise UnsupportedParameter("datumTransformation", "PROJ's default transformation is always used")


def fetch_for(ctx: ImageContext, raster: CatalogRaster, target: BBox, sr: SpatialRef, width: int, height: int,
              bands: tuple[int, ...] | None, max_cells: int = MAX_FETCH_PIXELS) -> Fetch | None:
    """The native-grid GetCoverage covering ``target`` at a resolution no coarser than the target's, of at most
    ``max_cells`` cells (coarser when the target would need more)."""
    desc = raster.coverage
    native = desc.sr
    area = target if sr.same_as(native) else transform_bbox(target, sr, native)
    x0, y0, x1, y1 = desc.extent
    if area[2] <= x0 or area[0] >= x1 or area[3] <= y0 or area[1] >= y1:
        return None
    cell_x, cell_y = desc.pixel_size
    want_x = (area[2] - area[0]) / width
    want_y = (area[3] - area[1]) / height
    # Never finer than the data, never much coarser than the target: the values stay the stored ones.
    factor = max(1.0, min(want_x / cell_x, want_y / cell_y) / 2)
    # Coarser than one cell for the whole coverage means nothing; an extent of 1e308 even overflows to inf.
    widest = float(max(desc.columns, desc.rows))
    factor = factor if math.isfinite(factor) and factor < widest else widest
    while True:
        cell = (cell_x * factor, cell_y * factor)
        margin = (cell[0], cell[1]) if not sr.same_as(native) else (0.0, 0.0)
        grown = (area[0] - margin[0], area[1] - margin[1], area[2] + margin[0], area[3] + margin[1])
        bbox, columns, rows = snap_to_grid(grown, desc, cell)
        if columns * rows <= max_cells:
            break
        factor *= math.sqrt(columns * rows / max_cells) * 1.01
    return Fetch(raster, bbox, columns, rows, bands)


def rule_length(rule: RasterFunction | None) -> int:
    """The number of functions in a rendering rule's chain (each nests the next through its ``Raster``)."""
    count = 0
    while rule is not None:
        count, rule = count + 1, rule.raster
    return count


def check_image_work(ctx: ImageContext, fetch: Fetch | None, width: int, height: int,
                     band_ids: tuple[int, ...] | None, rule: RasterFunction | None) -> None:
    """Refuse an exportImage over the service's limits, judged on the clamped output and the planned fetch (never on
    the requested size): its cells, its rendering rule's length and work, and its estimated memory."""
    limits = ctx.limits
    cells = width * height
    check_cells("size", "the image", cells, limits)
    functions = rule_length(rule)
    if rule is not None:
        check_rule(rule.parameter, functions, cells, limits)
    check_memory("size", export_bytes(ctx, fetch, width, height, band_ids, rule), limits)


def export_bytes(ctx: ImageContext, fetch: Fetch | None, width: int, height: int, band_ids: tuple[int, ...] | None,
                 rule: RasterFunction | None) -> int:
    """An upper bound of the memory one exportImage takes (the bands fetched are all the service's unless the
    backend subsets them)."""
    fetched = fetch.width * fetch.height if fetch is not None else 0
    fetched_bands = len(fetch.bands) if fetch is not None and fetch.bands else ctx.band_count
    bands = max(fetched_bands, len(band_ids) if band_ids else ctx.band_count)
    return image_bytes(fetched, width * height, bands, rule_length(rule))


def plan_bytes(ctx: ImageContext, plan: ImagePlan) -> int:
    """The memory estimate of a planned exportImage (what its work holds of the gateway's memory budget)."""
    return export_bytes(ctx, plan.fetch, plan.width, plan.height, plan.band_ids, plan.rendering_rule)


def _compression(params: Params) -> tuple[int | None, int | None, float | None]:
    """``compressionQuality`` (0 to 100), ``lercVersion`` (1 or 2) and ``compressionTolerance`` (not negative)."""
    quality = params.get("compressionQuality")
    quality_value = None
    if quality is not None:
        quality_value = int(parse_float(quality, "compressionQuality"))
        if not 0 <= quality_value <= 100:
            raise InvalidParameter("compressionQuality", "must be between 0 and 100")
    lerc = params.get("lercVersion")
    lerc_version = None
    if lerc is not None:
        if lerc.strip() not in ("1", "2"):
            raise InvalidParameter("lercVersion", "must be 1 or 2")
        lerc_version = int(lerc)
    tolerance = params.get("compressionTolerance")
    tolerance_value = parse_float(tolerance, "compressionTolerance") if tolerance is not None else None
    if tolerance_value is not None and tolerance_value < 0:
        raise InvalidParameter("compressionTolerance", "must not be negative")
    return quality_value, lerc_version, tolerance_value


def plan_export_image(params: Params, ctx: ImageContext) -> ImagePlan:
    """Turn exportImage parameters into a plan; anything malformed or not honourable is a 400 naming it."""
    _common(params, ctx)
    bbox, image_sr = requested_box(params, ctx.sr, default=ctx.extent)
    width, height = requested_size(params, ctx.max_width, ctx.max_height)
    if parse_bool(params.get("adjustAspectRatio") or "true", "adjustAspectRatio"):
        bbox = adjust_aspect(bbox, width, height)
    if parse_bool(params.get("validateExtent") or "false", "validateExtent"):
        native_box = bbox if image_sr.same_as(ctx.sr) else transform_bbox(bbox, image_sr, ctx.sr)
        x0, y0, x1, y1 = ctx.extent
        if native_box[0] < x0 or native_box[1] < y0 or native_box[2] > x1 or native_box[3] > y1:
            raise InvalidParameter("bbox", "the extent reaches beyond the service's extent (validateExtent=true)")
    fmt = (params.get("format") or "jpgpng").lower()
    if fmt not in IMAGE_FORMATS:
        raise InvalidParameter("format", f"'{fmt}' is not one of {', '.join(IMAGE_FORMATS)}")
    band_ids = parse_band_ids(params.get("bandIds"), ctx.band_count)
    rule = parse_rendering_rule(params.get("renderingRule"))
    if rule is not None:
        output_band_count(rule, len(band_ids) if band_ids else ctx.band_count)  # validates band references
    time_text = params.get("time")
    time = parse_arcgis_time(time_text) if time_text else None
    locked, ascending = _mosaic(params, ctx)
    raster = choose_raster(ctx, time, locked, ascending)
    bands = band_ids if band_ids and ctx.subset_bands else None
    if bands is not None:
        bands = tuple(sorted(set(bands)))
    fetch = fetch_for(ctx, raster, bbox, image_sr, width, height, bands, min(MAX_FETCH_PIXELS, ctx.limits.max_cells)) \
        if raster is not None else None
    check_image_work(ctx, fetch, width, height, band_ids, rule)
    quality_value, lerc_version, tolerance_value = _compression(params)
    pixel_type = params.get("pixelType")
    return ImagePlan(
        extent=bbox, sr=image_sr, width=width, height=height, fetch=fetch, band_ids=band_ids,
        resampling=parse_interpolation(params.get("interpolation")), rendering_rule=rule,
        no_data=params.get("noData"), no_data_interpretation=params.get("noDataInterpretation"),
        pixel_type=None if pixel_type is None or pixel_type.upper() == "UNKNOWN" else pixel_type,
        format=fmt, compression=params.get("compression"), compression_quality=quality_value,
        lerc_version=lerc_version, compression_tolerance=tolerance_value,
    )


@dataclass(frozen=True)
class IdentifyPlan:
    """One identify: the point (native CRS), its cell and the raster to read."""

    x: float
    y: float
    location_sr: SpatialRef
    location: tuple[float, float]
    fetch: Fetch | None
    rendering_rule: RasterFunction | None


def parse_point(params: Params, ctx: ImageContext) -> tuple[tuple[float, float], SpatialRef]:
    """``geometry`` as ``x,y`` or a JSON point with its own spatialReference (``geometryType`` point only)."""
    gtype = params.get("geometryType") or "esriGeometryPoint"
    if gtype.lower() != "esrigeometrypoint":
        raise UnsupportedParameter("geometryType", f"'{gtype}' is not supported (esriGeometryPoint)")
    text = params.get("geometry")
    if text is None:
        raise InvalidParameter("geometry", "the parameter is required")
    sr_value: Any = None
    if text.lstrip().startswith("{"):
        point = parse_json(text, "geometry")
        if not isinstance(point, dict) or "x" not in point or "y" not in point:
            raise InvalidParameter("geometry", "expected a point {\"x\": …, \"y\": …}")
        x, y = parse_float(str(point["x"]), "geometry"), parse_float(str(point["y"]), "geometry")
        sr_value = point.get("spatialReference")
    else:
        x, y = parse_numbers(text, "geometry", 2)
    sr = resolve_sr(sr_value, "geometry") if sr_value is not None else ctx.sr
    return (x, y), sr


def plan_identify(params: Params, ctx: ImageContext) -> IdentifyPlan:
    """The cell under a point, read at native resolution (or ``pixelSize``)."""
    _common(params, ctx)
    (x, y), sr = parse_point(params, ctx)
    native = ctx.sr
    nx, ny = transform_point(x, y, sr, native, parameter="geometry")
    cell_x, cell_y = ctx.coverage.pixel_size
    pixel_text = params.get("pixelSize")
    if pixel_text:
        if pixel_text.lstrip().startswith("{"):
            pixel = parse_json(pixel_text, "pixelSize")
            if not isinstance(pixel, dict) or "x" not in pixel or "y" not in pixel:
                raise InvalidParameter("pixelSize", "expected {\"x\": …, \"y\": …}")
            px, py = parse_float(str(pixel["x"]), "pixelSize"), parse_float(str(pixel["y"]), "pixelSize")
            psr = resolve_sr(pixel.get("spatialReference"), "pixelSize") if pixel.get("spatialReference") else native
        else:
            px, py = parse_numbers(pixel_text, "pixelSize", 2)
            psr = native
        if px <= 0 or py <= 0:
            raise InvalidParameter("pixelSize", "must be positive")
        if not psr.same_as(native):
            raise UnsupportedParameter("pixelSize", "must be given in the service's spatial reference")
        cell_x, cell_y = max(cell_x, px), max(cell_y, py)
    rule = parse_rendering_rule(params.get("renderingRule"))
    if rule is not None:
        check_rule(rule.parameter, rule_length(rule), 9, ctx.limits)  # over the 3x3 window read below
    time_text = params.get("time")
    time = parse_arcgis_time(time_text) if time_text else None
    locked, ascending = _mosaic(params, ctx)
    raster = choose_raster(ctx, time, locked, ascending)
    fetch = None
    if raster is not None:
        x0, y0, x1, y1 = ctx.extent
        if x0 <= nx <= x1 and y0 <= ny <= y1:
            # A 3x3-cell window so that neighbourhood functions (slope, hillshade) see the point's neighbours.
            around = (nx - 1.5 * cell_x, ny - 1.5 * cell_y, nx + 1.5 * cell_x, ny + 1.5 * cell_y)
            bbox, columns, rows = snap_to_grid(around, raster.coverage, (cell_x, cell_y))
            fetch = Fetch(raster, bbox, columns, rows, None)
    return IdentifyPlan(nx, ny, sr, (x, y), fetch, rule)


@dataclass(frozen=True)
class DownloadPlan:
    """One download: the rasters to cut, the clip (native CRS) and the output format."""

    rasters: tuple[CatalogRaster, ...]
    clip_bbox: BBox
    clip_polygon: tuple[tuple[tuple[float, float], ...], ...] | None
    format: str


DOWNLOAD_FORMATS = {"tiff": "tiff", "tif": "tiff", "jpeg": "jpg", "jpg": "jpg", "png": "png", "gif": "gif",
                    "bmp": "bmp", "bip": "bip", "bsq": "bsq", "lerc": "lerc"}


def plan_download(params: Params, ctx: ImageContext) -> DownloadPlan:
    """``download``: rasterIds, optional clip geometry (envelope or polygon, any SR), format."""
    ids_text = params.get("rasterIds")
    if ids_text is None:
        raise InvalidParameter("rasterIds", "the parameter is required")
    ids: list[int] = []
    for part in ids_text.split(","):
        try:
            ids.append(int(part.strip()))
        except ValueError:
            raise InvalidParameter("rasterIds", f"'{part.strip()}' is not a raster id") from None
    by_id = {r.id: r for r in ctx.rasters}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise InvalidParameter("rasterIds", f"raster {unknown[0]} does not exist")
    fmt_text = (params.get("format") or "TIFF").split(":")[0].strip().lower()
    if fmt_text not in DOWNLOAD_FORMATS:
        raise UnsupportedParameter("format", f"'{fmt_text}' is not available (TIFF, JPEG, PNG, GIF, BMP, BIP, BSQ, "
                                             "LERC)")
    clip_bbox = ctx.extent
    polygon: tuple[tuple[tuple[float, float], ...], ...] | None = None
    geometry = params.get("geometry")
    if geometry is not None:
        gtype = (params.get("geometryType") or "esriGeometryEnvelope").lower()
        if gtype not in ("esrigeometryenvelope", "esrigeometrypolygon"):
            raise InvalidParameter("geometryType", "must be esriGeometryEnvelope or esriGeometryPolygon")
        if gtype == "esrigeometryenvelope":
            box, env_sr = parse_bbox(geometry, "geometry")
            sr = resolve_sr(env_sr, "geometry") if env_sr is not None else ctx.sr
            clip_bbox = box if sr.same_as(ctx.sr) else transform_bbox(box, sr, ctx.sr, parameter="geometry")
        else:
            data = parse_json(geometry, "geometry")
            rings = data.get("rings") if isinstance(data, dict) else None
            if not isinstance(rings, list) or not rings:
                raise InvalidParameter("geometry", "a polygon needs rings")
            sr = resolve_sr(data["spatialReference"], "geometry") if data.get("spatialReference") else ctx.sr
            converted = []
            try:
                for ring in rings:
                    converted.append(tuple(transform_point(float(p[0]), float(p[1]), sr, ctx.sr) for p in ring))
            except (TypeError, ValueError, IndexError):
                raise InvalidParameter("geometry", "rings must be lists of [x, y] points") from None
            polygon = tuple(converted)
            if any(len(ring) < 3 for ring in polygon):  # an empty ring has no extent to clip to
                raise InvalidParameter("geometry", "each ring needs at least three points")
            xs = [p[0] for ring in polygon for p in ring]
            ys = [p[1] for ring in polygon for p in ring]
            clip_bbox = (min(xs), min(ys), max(xs), max(ys))
        x0, y0, x1, y1 = ctx.extent
        clip_bbox = (max(clip_bbox[0], x0), max(clip_bbox[1], y0), min(clip_bbox[2], x1), min(clip_bbox[3], y1))
        if clip_bbox[0] >= clip_bbox[2] or clip_bbox[1] >= clip_bbox[3]:
            raise InvalidParameter("geometry", "the clip geometry does not overlap the rasters")
    return DownloadPlan(tuple(by_id[i] for i in dict.fromkeys(ids)), clip_bbox, polygon, DOWNLOAD_FORMATS[fmt_text])


def check_download(ctx: ImageContext, columns: int, rows: int) -> None:
    """Refuse a download of one raster at full resolution over the cell or memory limit."""
    cells = columns * rows
    check_cells("geometry", "the area at full resolution", cells, ctx.limits)
    check_memory("geometry", image_bytes(cells, cells, ctx.band_count, 0), ctx.limits)


def time_info(ctx: ImageContext) -> dict[str, Any] | None:
    """``timeInfo`` of a time-enabled service."""
    times = ctx.times
    if not times:
        return None
    return {"startTimeField": "StdTime", "endTimeField": None, "timeExtent": [to_epoch_ms(times[0]),
                                                                             to_epoch_ms(times[-1])],
            "timeReference": None, "defaultTimeInterval": None, "defaultTimeIntervalUnits": None,
            "hasLiveData": False}

