"""The requested picture: extent, spatial references, size, dpi, scale and rotation, parsed into one value.

Every drawing operation starts from the same parameters — ``bbox`` (text or JSON envelope with its own SR),
``bboxSR``, ``imageSR``, ``size`` (reduced to the service limits), ``dpi``, ``mapScale``, ``rotation`` — and the same
geometry rules: the extent grows about its centre to the image's aspect ratio, or is re-centred at a map scale.
Export uses :func:`parse_view`; exportImage, identify, legend and tiles take the pieces they need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from translators.crs import SpatialRef, resolve_sr, transform_bbox
from translators.errors import InvalidParameter
from translators.params import Params, parse_float, parse_json, parse_numbers

BBox = tuple[float, float, float, float]
INCH = 0.0254
DEFAULT_SIZE = (400, 400)
DEFAULT_DPI = 96.0


@dataclass(frozen=True)
class View:
    """A picture asked for: ``extent`` (aspect-adjusted or placed at ``mapScale``) in ``sr``, its size in pixels,
    its resolution and its rotation (degrees counter-clockwise, in (-180, 180])."""

    extent: BBox
    sr: SpatialRef
    width: int
    height: int
    dpi: float
    rotation: float

    @property
    def scale(self) -> float:
        """The map scale as ArcGIS reports it."""
        return map_scale(self.extent, self.width, self.dpi, self.sr)


def parse_bbox(text: str, parameter: str = "bbox") -> tuple[BBox, Any]:
    """Parse ``xmin,ymin,xmax,ymax`` or a JSON envelope; returns the sorted box and the envelope's SR (or None).

    Axes given in reverse order are sorted (Esri Leaflet sends ``xmin,ymax,xmax,ymin``).
    """
    sr: Any = None
    if text.lstrip().startswith("{"):
        env = parse_json(text, parameter)
        if not isinstance(env, dict):
            raise InvalidParameter(parameter, "expected an envelope object")
        try:
            values = [parse_float(str(env[k]), parameter) for k in ("xmin", "ymin", "xmax", "ymax")]
        except KeyError as exc:
            raise InvalidParameter(parameter, f"the envelope has no {exc.args[0]}") from None
        sr = env.get("spatialReference")
    else:
        values = parse_numbers(text, parameter, 4)
    x0, y0, x1, y1 = values
    box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    if box[0] == box[2] or box[1] == box[3]:
        raise InvalidParameter(parameter, "the extent has zero width or height")
    return checked_extent(box, parameter), sr


MIN_RELATIVE_SPAN = 1e-9
"""The smallest width (or height) of an extent relative to its coordinates: below it the edges are no longer
distinct in the 12 significant digits a GetMap carries, and the backend refuses a zero-sized box."""
MIN_SPAN = 1e-12
"""The smallest width (or height) of an extent at all: QGIS Server refuses boxes below about 1e-15 as invalid."""
MAX_DEGREES = 1e4
"""The largest coordinate of a geographic extent: MapServer fails to project far larger ones onto its layers."""
MAX_COORDINATE = 1e8
"""The largest coordinate of an extent, in its SR's units: 1e8 metres is two and a half times round the Earth (and
degrees or feet go further still), while QGIS Server answers HTTP 500 to boxes beyond about ±2e8."""


def checked_extent(box: BBox, parameter: str = "bbox") -> BBox:
    """``box`` when it can be drawn: finite corners within :data:`MAX_COORDINATE` (±1e308 corners overflow their
    width into inf, which turns every later centre and resolution into NaN) and edges distinct at GetMap precision
    (``mapScale=5e-324`` collapses an extent onto its centre).  Every computed extent passes here; a failure names
    ``parameter``."""
    x0, y0, x1, y1 = box
    if not all(math.isfinite(v) and abs(v) <= MAX_COORDINATE for v in (x0, y0, x1, y1)):
        raise InvalidParameter(parameter, f"the extent reaches beyond ±{MAX_COORDINATE:g}, too far to be drawn")
    for low, high in ((x0, x1), (y0, y1)):
        if abs(high - low) < max(MIN_SPAN, MIN_RELATIVE_SPAN * max(abs(low), abs(high))):
            raise InvalidParameter(parameter, "the extent is too small to be drawn")
    return box


def parse_size(text: str | None, parameter: str = "size") -> tuple[int, int]:
    """Parse ``width,height`` in pixels (default 400,400)."""
    if text is None:
        return DEFAULT_SIZE
    width, height = parse_numbers(text, parameter, 2)
    if not (width.is_integer() and height.is_integer()) or width < 1 or height < 1:
        raise InvalidParameter(parameter, f"width and height must be positive whole numbers, got '{text}'")
    return int(width), int(height)


def sr_param(params: Params, name: str, default: SpatialRef) -> SpatialRef:
    """A spatial-reference parameter (wkid, Esri code, ``{"wkid"}``, ``{"wkt"}``), or ``default`` when absent."""
    text = params.get(name)
    return resolve_sr(text, name) if text else default


def requested_box(params: Params, service_sr: SpatialRef, default: BBox | None = None) -> tuple[BBox, SpatialRef]:
    """``bbox`` in ``imageSR``: the box is read in ``bboxSR``, else its envelope's own SR, else the service SR, and
    transformed when that differs from ``imageSR`` (default: the service SR).  Without ``bbox``, ``default`` (in the
    service SR) is used; with neither, the parameter is required."""
    text = params.get("bbox")
    if text is None:
        if default is None:
            raise InvalidParameter("bbox", "the parameter is required")
        bbox, bbox_sr = default, service_sr
    else:
        bbox, env_sr = parse_bbox(text)
        # bboxSR wins over the envelope's own SR, which wins over the service SR.
        envelope_sr = service_sr if env_sr is None or params.get("bboxSR") else resolve_sr(env_sr, "bbox")
        bbox_sr = sr_param(params, "bboxSR", envelope_sr)
    image_sr = sr_param(params, "imageSR", service_sr)
    if not bbox_sr.same_as(image_sr):
        bbox = checked_extent(transform_bbox(bbox, bbox_sr, image_sr))
    return bbox, image_sr


def requested_size(params: Params, max_width: int, max_height: int) -> tuple[int, int]:
    """``size``, reduced proportionally to the service limits (ArcGIS reduces rather than refuses)."""
    width, height = parse_size(params.get("size"))
    return fit_to_limits(width, height, max_width, max_height)


def parse_dpi(params: Params) -> float:
    """``dpi`` (default 96), between 1 and 2400."""
    text = params.get("dpi")
    dpi = parse_float(text, "dpi") if text is not None else DEFAULT_DPI
    if not 1 <= dpi <= 2400:
        raise InvalidParameter("dpi", "must be between 1 and 2400")
    return dpi


def parse_view(params: Params, service_sr: SpatialRef, max_width: int, max_height: int) -> View:
    """The picture of an export: box, SRs, size, dpi, then ``mapScale`` (re-centred at that scale) or the aspect
    ratio (grown about the centre), and ``rotation``."""
    bbox, image_sr = requested_box(params, service_sr)
    width, height = requested_size(params, max_width, max_height)
    dpi = parse_dpi(params)
    scale_text = params.get("mapScale")
    if scale_text is not None:
        scale = parse_float(scale_text, "mapScale")
        if scale <= 0:
            raise InvalidParameter("mapScale", "must be positive")
        extent = extent_for_scale(bbox, width, height, scale, dpi, image_sr)
    else:
        extent = adjust_aspect(bbox, width, height)
    rotation = math.remainder(parse_float(params.get("rotation") or "0", "rotation"), 360.0)
    return View(checked_world(extent, image_sr, "mapScale" if scale_text else "bbox"), image_sr, width, height, dpi,
                rotation)


def checked_world(extent: BBox, sr: SpatialRef, parameter: str) -> BBox:
    """A geographic ``extent`` when it overlaps the world (longitudes within ±540 allow for maps panned across the
    antimeridian) and stays within :data:`MAX_DEGREES`: MapServer answers "All points failed to reproject" for
    boxes wholly beyond, where there is nothing to draw."""
    if not sr.is_geographic:
        return extent
    x0, y0, x1, y1 = extent
    if max(abs(v) for v in extent) > MAX_DEGREES or x0 >= 540 or x1 <= -540 or y0 >= 90 or y1 <= -90:
        raise InvalidParameter(parameter, "the extent lies outside the world (longitude ±540, latitude ±90)")
    return extent


def fit_to_limits(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """Shrink a size proportionally to fit the service limits (ArcGIS reduces rather than refuses)."""
    factor = min(1.0, max_width / width, max_height / height)
    if factor >= 1.0:
        return width, height
    return max(1, math.floor(width * factor)), max(1, math.floor(height * factor))


def adjust_aspect(bbox: BBox, width: int, height: int) -> BBox:
    """Grow one axis of ``bbox`` about its centre so that its aspect ratio equals the image's."""
    x0, y0, x1, y1 = bbox
    res = max((x1 - x0) / width, (y1 - y0) / height)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w, half_h = res * width / 2, res * height / 2
    return checked_extent((cx - half_w, cy - half_h, cx + half_w, cy + half_h))


def extent_for_scale(bbox: BBox, width: int, height: int, scale: float, dpi: float, sr: SpatialRef) -> BBox:
    """The extent centred on ``bbox`` that shows the map at 1:``scale`` for that image size and dpi."""
    res = scale * INCH / dpi / sr.meters_per_unit
    cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    return checked_extent((cx - res * width / 2, cy - res * height / 2, cx + res * width / 2, cy + res * height / 2),
                          "mapScale")


def map_scale(extent: BBox, width: int, dpi: float, sr: SpatialRef) -> float:
    """Scale as ArcGIS computes it: ground size of a pixel * dpi / 0.0254."""
    return (extent[2] - extent[0]) / width * sr.meters_per_unit * dpi / INCH


def grown_extent(extent: BBox, width: int, height: int, new_width: int, new_height: int) -> BBox:
    """The extent of a ``new_width`` by ``new_height`` picture at the same resolution and centre as ``extent``
    drawn at ``width`` by ``height`` (what a local rotation draws before it rotates and crops)."""
    cx, cy = (extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2
    rx, ry = (extent[2] - extent[0]) / width, (extent[3] - extent[1]) / height
    return checked_extent((cx - rx * new_width / 2, cy - ry * new_height / 2, cx + rx * new_width / 2,
                           cy + ry * new_height / 2))
