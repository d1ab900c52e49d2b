"""MapServer ``export``: ArcGIS parameters → an :class:`ExportPlan` of GetMap requests and local image work.

The plan is everything the web layer needs and nothing it has to decide: which GetMaps to send (one per group of
layers sharing a time), whether the backend's bytes can be passed through untouched, whether to warp locally into an
SR the backend lacks, whether to rotate locally, and the extent/size/scale to report.  Every parameter of the spec
is either honoured or refused with a 400 that names it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from translators.arcgis.layers import LayerTree, MapLayer
from translators.crs import SpatialRef, from_ogc_code, resolve_sr, transform_bbox
from translators.errors import InvalidParameter, UnsupportedParameter
from translators.filters import FALSE, parse_where
from translators.filters.ast import Expr
from translators.imaging import rotation_source_size
from translators.ogc.flavors import Flavor
from translators.ogc.getmap import MapQuery, getmap_params
from translators.ogc.wms import BBox, WmsCapabilities
from translators.params import (
    Params,
    format_number,
    parse_bool,
    parse_choice,
    parse_float,
    parse_json,
    parse_numbers,
)
from translators.timeutil import Duration, TimeRange, parse_arcgis_time

INCH = 0.0254


@dataclass(frozen=True)
class ImageFormat:
    """An ArcGIS export format: the backend MIME types that can be passed through, and how to answer it."""

    name: str
    extension: str
    content_type: str
    passthrough: tuple[str, ...]  # backend MIME types whose bytes are already the answer
    raster: bool  # can be produced locally from pixels
    supports_transparency: bool


FORMATS: dict[str, ImageFormat] = {
    f.name: f
    for f in (
        ImageFormat("png", "png", "image/png", ("image/png",), True, True),
        ImageFormat("png8", "png", "image/png", (), True, True),
        ImageFormat("png24", "png", "image/png", (), True, True),
        ImageFormat("png32", "png", "image/png", (), True, True),
        ImageFormat("jpg", "jpg", "image/jpeg", ("image/jpeg",), True, False),
        ImageFormat("gif", "gif", "image/gif", (), True, True),
        ImageFormat("bmp", "bmp", "image/bmp", ("image/bmp",), True, False),
        ImageFormat("tiff", "tif", "image/tiff", (), True, True),
        ImageFormat("pdf", "pdf", "application/pdf", ("application/pdf",), True, False),
        ImageFormat("svg", "svg", "image/svg+xml", ("image/svg+xml", "image/svg xml", "image/svg"), False, True),
        ImageFormat("svgz", "svgz", "image/svg+xml", ("image/svg+xml", "image/svg xml", "image/svg"), False, True),
    )
}
NOT_OFFERED = ("emf", "ps")

TIME_RELATIONS = (
    "esriTimeRelationOverlaps",
    "esriTimeRelationOverlapsStartWithinEnd",
    "esriTimeRelationAfterStartOverlapsEnd",
    "esriTimeRelationWithin",
)
# Parameters of the spec that a WMS backend has no notion of: refused when given rather than silently ignored.
UNSUPPORTED = {
    "historicmoment": "historicMoment",
    "gdbversion": "gdbVersion",
    "clipping": "clipping",
    "spatialfilter": "spatialFilter",
    "datumtransformations": "datumTransformations",
    "layerparametervalues": "layerParameterValues",
    "maprangevalues": "mapRangeValues",
    "layerrangevalues": "layerRangeValues",
}
_EMPTY_JSON = ("[]", "{}", "null", "[{}]")
_UNIT_MS = {
    "esriTimeUnitsMilliseconds": 1, "esriTimeUnitsSeconds": 1000, "esriTimeUnitsMinutes": 60_000,
    "esriTimeUnitsHours": 3_600_000, "esriTimeUnitsDays": 86_400_000, "esriTimeUnitsWeeks": 7 * 86_400_000,
}
_UNIT_MONTHS = {"esriTimeUnitsMonths": 1, "esriTimeUnitsYears": 12, "esriTimeUnitsDecades": 120,
                "esriTimeUnitsCenturies": 1200}


@dataclass(frozen=True)
class ServiceContext:
    """What the planner knows of one map service."""

    sr: SpatialRef
    tree: LayerTree
    caps: WmsCapabilities
    flavor: Flavor
    max_width: int
    max_height: int
    full_extent: BBox  # in ``sr``


@dataclass(frozen=True)
class ExportPlan:
    """Everything needed to answer one export."""

    extent: BBox  # the exported extent, in ``sr``
    sr: SpatialRef
    width: int
    height: int
    dpi: float
    scale: float
    format: ImageFormat
    transparent: bool
    fetches: tuple[MapQuery, ...]  # composited bottom first
    passthrough: bool  # the single fetch's bytes are the answer
    warp: bool  # fetched in another SR: reproject locally into ``sr``/``extent``
    local_rotation: float  # degrees counter-clockwise still to apply locally
    rotation: float
    render_extent: BBox  # what the composited (and warped) image covers before a local rotation, in ``sr``
    render_width: int
    render_height: int


def answer_key_params(plan: ExportPlan, version: str, flavor: Flavor) -> list[tuple[str, str]]:
    """What a composed export answer is made of, canonically: the GetMaps it draws on (as sent, so spelled the way the
    cache keys them) and every parameter of the local work (compositing, warping, rotation, encoding). Two exports
    with equal lists are the same picture, however their clients spelled them."""
    pairs = [(f"FETCH{i}", "&".join(f"{k}={v}" for k, v in sorted(getmap_params(query, version, flavor).items())))
             for i, query in enumerate(plan.fetches)]
    sr = str(plan.sr.wkid) if plan.sr.wkid is not None else plan.sr.wkt or plan.sr.ogc_code or ""
    pairs += [
        ("FORMAT", plan.format.name), ("TRANSPARENT", str(plan.transparent)), ("SR", sr),
        ("SIZE", f"{plan.width},{plan.height}"), ("RENDER", f"{plan.render_width},{plan.render_height}"),
        ("RENDEREXTENT", ",".join(format_number(v) for v in plan.render_extent)),
        ("WARP", str(plan.warp)), ("ROTATION", format_number(plan.local_rotation)), ("DPI", format_number(plan.dpi)),
    ]
    return pairs


@dataclass(frozen=True)
class _LayerTime:
    use_time: bool = True
    cumulative: bool = False
    offset_ms: float = 0.0
    offset_months: int = 0


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
    return box, sr


def parse_size(text: str | None, parameter: str = "size") -> tuple[int, int]:
    """Parse ``width,height`` in pixels (default 400,400)."""
    if text is None:
        return 400, 400
    width, height = parse_numbers(text, parameter, 2)
    if not (width.is_integer() and height.is_integer()) or width < 1 or height < 1:
        raise InvalidParameter(parameter, f"width and height must be positive whole numbers, got '{text}'")
    return int(width), int(height)


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
    return cx - half_w, cy - half_h, cx + half_w, cy + half_h


def extent_for_scale(bbox: BBox, width: int, height: int, scale: float, dpi: float, sr: SpatialRef) -> BBox:
    """The extent centred on ``bbox`` that shows the map at 1:``scale`` for that image size and dpi."""
    res = scale * INCH / dpi / sr.meters_per_unit
    cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    return cx - res * width / 2, cy - res * height / 2, cx + res * width / 2, cy + res * height / 2


def map_scale(extent: BBox, width: int, dpi: float, sr: SpatialRef) -> float:
    """Scale as ArcGIS computes it: ground size of a pixel * dpi / 0.0254."""
    return (extent[2] - extent[0]) / width * sr.meters_per_unit * dpi / INCH


def _layer_ids(data: Any, parameter: str, tree: LayerTree) -> Mapping[int, Any]:
    if not isinstance(data, dict):
        raise InvalidParameter(parameter, "expected a JSON object keyed by layer id")
    out: dict[int, Any] = {}
    for key, value in data.items():
        try:
            layer_id = int(str(key).strip())
        except ValueError:
            raise InvalidParameter(parameter, f"'{key}' is not a layer id") from None
        if layer_id not in tree.by_id:
            raise InvalidParameter(parameter, f"layer {layer_id} does not exist in this service")
        out[layer_id] = value
    return out


def parse_layer_defs(text: str | None, tree: LayerTree, parameter: str = "layerDefs") -> dict[int, Expr]:
    """Parse ``layerDefs`` (JSON object, or the array form ``[{"layerId", "where"}]``) into where-clause trees."""
    if text is None:
        return {}
    if not text.lstrip().startswith(("{", "[")):
        raise InvalidParameter(parameter, "the simple syntax is not supported; use {\"<layerId>\": \"<where>\"}")
    data = parse_json(text, parameter)
    if isinstance(data, list):
        try:
            data = {str(item["layerId"]): item.get("where") for item in data if isinstance(item, dict)}
        except KeyError:
            raise InvalidParameter(parameter, "each array entry needs a layerId") from None
    defs: dict[int, Expr] = {}
    for layer_id, where in _layer_ids(data, parameter, tree).items():
        if where is None or (isinstance(where, str) and not where.strip()):
            continue
        if not isinstance(where, str):
            raise InvalidParameter(parameter, f"the definition of layer {layer_id} is not a string")
        if tree.by_id[layer_id].is_group:
            raise InvalidParameter(parameter, f"layer {layer_id} is a group layer; definitions apply to sub-layers")
        expr = parse_where(where, parameter)
        if expr is not None:
            defs[layer_id] = expr
    return defs


def _parse_layer_time_options(text: str | None, tree: LayerTree) -> dict[int, _LayerTime]:
    parameter = "layerTimeOptions"
    if text is None:
        return {}
    out: dict[int, _LayerTime] = {}
    for layer_id, options in _layer_ids(parse_json(text, parameter), parameter, tree).items():
        if not isinstance(options, dict):
            raise InvalidParameter(parameter, f"the options of layer {layer_id} are not an object")
        out[layer_id] = _time_options(options, parameter)
    return out


def _time_options(options: Mapping[str, Any], parameter: str) -> _LayerTime:
    def flag(name: str, default: bool) -> bool:
        value = options.get(name, default)
        if isinstance(value, bool):
            return value
        if value is None:
            return default
        return parse_bool(str(value), parameter)

    offset = options.get("timeOffset") or 0
    if not isinstance(offset, int | float):
        offset = parse_float(str(offset), parameter)
    units = options.get("timeOffsetUnits") or "esriTimeUnitsMilliseconds"
    if offset and units not in _UNIT_MS and units not in _UNIT_MONTHS:
        raise InvalidParameter(parameter, f"unknown timeOffsetUnits '{units}'")
    months = 0
    ms = 0.0
    if units in _UNIT_MONTHS:
        if not float(offset).is_integer():
            raise InvalidParameter(parameter, "a time offset in months or years must be whole")
        months = int(offset) * _UNIT_MONTHS[units]
    else:
        ms = float(offset) * _UNIT_MS.get(units, 1)
    return _LayerTime(flag("useTime", True), flag("timeDataCumulative", False), ms, months)


def _shift(value: datetime | None, option: _LayerTime) -> datetime | None:
    if value is None:
        return None
    # A layer offset by +1 year shows data from one year *before* the requested time on top of it.
    return Duration(-option.offset_months, -option.offset_ms / 1000).add_to(value)


def _apply_relation(time: TimeRange, relation: str) -> TimeRange:
    # WMS ranges are closed; excluding an end point is expressed by moving it by one millisecond, exact for the
    # instant-valued time dimensions WMS servers publish.
    eps = timedelta(milliseconds=1)
    start, end = time.start, time.end
    if time.is_instant or relation == "esriTimeRelationOverlaps":
        return time
    if relation in ("esriTimeRelationOverlapsStartWithinEnd", "esriTimeRelationWithin") and end is not None:
        end = end - eps
    if relation in ("esriTimeRelationAfterStartOverlapsEnd", "esriTimeRelationWithin") and start is not None:
        start = start + eps
    if start is not None and end is not None and start > end:
        raise InvalidParameter("timeRelation", "the time extent is empty under this relation")
    return TimeRange(start, end)


def _close(time: TimeRange, layers: Sequence[MapLayer]) -> TimeRange:
    """Fill an open end with the layers' own time bounds (WMS has no open ranges)."""
    starts = [layer.time.start for layer in layers if layer.time]
    ends = [layer.time.end for layer in layers if layer.time]
    start = time.start or (min(starts) if starts else datetime(1, 1, 1, tzinfo=UTC))
    end = time.end or (max(ends) if ends else datetime(9999, 12, 31, tzinfo=UTC))
    if start > end:
        start = end
    return TimeRange(start, end)


def _dynamic_layers(text: str, tree: LayerTree) -> tuple[list[int], dict[int, Expr], dict[int, _LayerTime],
                                                          dict[int, int]]:
    """Parse ``dynamicLayers``: the drawing order (top first), definition expressions and time options of existing
    map layers.  Returns (map layer ids top first, defs, time options, dynamic id → map layer id)."""
    parameter = "dynamicLayers"
    data = parse_json(text, parameter)
    if not isinstance(data, list):
        raise InvalidParameter(parameter, "expected a JSON array")
    order: list[int] = []
    defs: dict[int, Expr] = {}
    times: dict[int, _LayerTime] = {}
    ids: dict[int, int] = {}
    for entry in data:
        if not isinstance(entry, dict):
            raise InvalidParameter(parameter, "each entry must be an object")
        source = entry.get("source") or {}
        if not isinstance(source, dict) or source.get("type") != "mapLayer":
            raise UnsupportedParameter(parameter, "only sources of type 'mapLayer' are supported")
        if source.get("gdbVersion"):
            raise UnsupportedParameter(parameter, "source.gdbVersion is not supported by a WMS backend")
        try:
            map_id = int(source["mapLayerId"])
            dyn_id = int(entry.get("id", map_id))
        except (KeyError, TypeError, ValueError):
            raise InvalidParameter(parameter, "each entry needs an integer id and source.mapLayerId") from None
        if map_id not in tree.by_id:
            raise InvalidParameter(parameter, f"map layer {map_id} does not exist in this service")
        drawing = entry.get("drawingInfo") or {}
        if not isinstance(drawing, dict):
            raise InvalidParameter(parameter, "drawingInfo must be an object")
        for key in ("renderer", "labelingInfo"):
            if drawing.get(key):
                raise UnsupportedParameter(parameter, f"drawingInfo.{key} cannot be applied to a WMS layer")
        if drawing.get("transparency") not in (None, 0):
            raise UnsupportedParameter(parameter, "drawingInfo.transparency is not supported")
        if drawing.get("scaleSymbols") is False:
            raise UnsupportedParameter(parameter, "drawingInfo.scaleSymbols=false is not supported")
        if drawing.get("showLabels") is False:
            raise UnsupportedParameter(parameter, "drawingInfo.showLabels=false is not supported")
        if dyn_id in ids:
            raise InvalidParameter(parameter, f"dynamic layer id {dyn_id} is used twice")
        ids[dyn_id] = map_id
        order.append(map_id)
        where = entry.get("definitionExpression")
        if where:
            if not isinstance(where, str):
                raise InvalidParameter(parameter, "definitionExpression must be a string")
            expr = parse_where(where, parameter)
            if expr is not None:
                defs[map_id] = expr
        if entry.get("layerTimeOptions"):
            if not isinstance(entry["layerTimeOptions"], dict):
                raise InvalidParameter(parameter, "layerTimeOptions must be an object")
            times[map_id] = _time_options(entry["layerTimeOptions"], parameter)
    return order, defs, times, ids


def _supported_code(sr: SpatialRef, codes: Sequence[str]) -> str | None:
    if sr.ogc_code and sr.ogc_code in codes:
        return sr.ogc_code
    for code in codes:
        try:
            candidate = from_ogc_code(code)
        except ValueError:
            continue
        if candidate.same_as(sr):
            return code
    return None


def _fallback_code(ctx: ServiceContext, codes: Sequence[str]) -> tuple[str, SpatialRef]:
    preferred = [c for c in (_supported_code(ctx.sr, codes), "EPSG:4326", "EPSG:3857") if c and c in codes]
    for code in [*preferred, *codes]:
        try:
            return code, from_ogc_code(code)
        except ValueError:
            continue
    raise UnsupportedParameter("imageSR", "the backend offers no usable spatial reference")


def plan_export(params: Params, ctx: ServiceContext) -> ExportPlan:
    """Turn export parameters into a plan; raises :class:`InvalidParameter` for anything malformed or refused."""
    for key, name in UNSUPPORTED.items():
        value = params.get(key)
        if value is not None and value.replace(" ", "") not in _EMPTY_JSON:
            raise UnsupportedParameter(name, "not supported by this service (its WMS backend has no equivalent)")

    bbox_text = params.get("bbox")
    if bbox_text is None:
        raise InvalidParameter("bbox", "the parameter is required")
    bbox, env_sr = parse_bbox(bbox_text)
    bbox_sr_text = params.get("bboxSR")
    if bbox_sr_text is not None:
        bbox_sr = resolve_sr(bbox_sr_text, "bboxSR")
    elif env_sr is not None:
        bbox_sr = resolve_sr(env_sr, "bbox")
    else:
        bbox_sr = ctx.sr
    image_sr_text = params.get("imageSR")
    image_sr = resolve_sr(image_sr_text, "imageSR") if image_sr_text else ctx.sr
    if not bbox_sr.same_as(image_sr):
        bbox = transform_bbox(bbox, bbox_sr, image_sr)

    width, height = parse_size(params.get("size"))
    width, height = fit_to_limits(width, height, ctx.max_width, ctx.max_height)
    dpi = parse_float(params.get("dpi") or "96", "dpi")
    if not 1 <= dpi <= 2400:
        raise InvalidParameter("dpi", "must be between 1 and 2400")

    format_name = (params.get("format") or "png").lower()
    if format_name in NOT_OFFERED:
        raise UnsupportedParameter("format", f"'{format_name}' output is not available from this service")
    fmt = FORMATS.get(format_name)
    if fmt is None:
        raise InvalidParameter("format", f"'{format_name}' is not one of {', '.join(FORMATS)}")
    transparent = parse_bool(params.get("transparent") or "false", "transparent")

    map_scale_text = params.get("mapScale")
    if map_scale_text is not None:
        scale_value = parse_float(map_scale_text, "mapScale")
        if scale_value <= 0:
            raise InvalidParameter("mapScale", "must be positive")
        extent = extent_for_scale(bbox, width, height, scale_value, dpi, image_sr)
    else:
        extent = adjust_aspect(bbox, width, height)
    rotation = parse_float(params.get("rotation") or "0", "rotation")
    rotation = math.remainder(rotation, 360.0)

    # Layers: visibility, order, definitions and time options.
    tree = ctx.tree
    defs = parse_layer_defs(params.get("layerDefs"), tree)
    time_options = _parse_layer_time_options(params.get("layerTimeOptions"), tree)
    dynamic = params.get("dynamicLayers")
    if dynamic is not None and dynamic.replace(" ", "") not in _EMPTY_JSON:
        order, dyn_defs, dyn_times, dyn_ids = _dynamic_layers(dynamic, tree)
        defs.update(dyn_defs)
        time_options.update(dyn_times)
        spec = params.get("layers")
        if spec is not None:
            mode, _, rest = spec.partition(":")
            try:
                chosen = {dyn_ids[int(p)] for p in rest.split(",") if p.strip()}
            except (KeyError, ValueError):
                raise InvalidParameter("layers", "ids must name dynamic layers when dynamicLayers is given") from None
            mode = mode.strip().lower()
            if mode in ("show", "include"):
                order = [i for i in order if i in chosen] if mode == "show" else order
            elif mode in ("hide", "exclude"):
                order = [i for i in order if i not in chosen]
            else:
                raise InvalidParameter("layers", f"unknown mode '{mode}'")
        leaves: list[MapLayer] = []
        for map_id in reversed(order):  # bottom first
            for layer_id in [map_id, *tree.descendants(map_id)]:
                layer = tree.by_id[layer_id]
                if not layer.sub_ids and layer.wms.name and layer not in leaves:
                    leaves.append(layer)
    else:
        leaves = tree.drawn_leaves(tree.select(params.get("layers")))

    filters: dict[str, Expr] = {}
    for layer_id, expr in defs.items():
        layer = tree.by_id[layer_id]
        if layer.wms.name:
            filters[layer.wms.name] = expr
    # A definition that can never match draws nothing: leave the layer out rather than ask the backend.
    leaves = [layer for layer in leaves if filters.get(layer.wms.name or "") != FALSE]

    time_text = params.get("time")
    time = parse_arcgis_time(time_text) if time_text else None
    relation = parse_choice(params.get("timeRelation") or TIME_RELATIONS[0], "timeRelation", TIME_RELATIONS)
    if time is not None:
        time = _apply_relation(time, relation)

    # Local rotation draws a larger, unrotated map around the same centre, then rotates and crops it.
    vendor_rotation = 0.0
    local_rotation = 0.0
    render_extent, render_w, render_h = extent, width, height
    codes = ctx.caps.root.crs
    for layer in leaves:
        codes = tuple(c for c in codes if c in layer.wms.crs) or codes
    crs_code = _supported_code(image_sr, codes)
    warp = crs_code is None
    if rotation:
        if ctx.flavor.rotation_parameter and not warp:
            vendor_rotation = rotation
        elif not fmt.raster:
            raise UnsupportedParameter("rotation", f"'{fmt.name}' cannot be rotated locally")
        else:
            local_rotation = rotation
            render_w, render_h = rotation_source_size(width, height, rotation)
            cx, cy = (extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2
            rx, ry = (extent[2] - extent[0]) / width, (extent[3] - extent[1]) / height
            render_extent = (cx - rx * render_w / 2, cy - ry * render_h / 2,
                             cx + rx * render_w / 2, cy + ry * render_h / 2)

    # The SR to fetch in: the requested one when the backend offers it, else one it offers, warped locally.
    if warp:
        if not fmt.raster:
            raise UnsupportedParameter("format", f"'{fmt.name}' cannot be reprojected locally into this imageSR")
        crs_code, fetch_sr = _fallback_code(ctx, codes)
        fetch_bbox = transform_bbox(render_extent, image_sr, fetch_sr)
        pixel = math.sqrt((fetch_bbox[2] - fetch_bbox[0]) * (fetch_bbox[3] - fetch_bbox[1]) / (render_w * render_h))
        fetch_w = max(1, math.ceil((fetch_bbox[2] - fetch_bbox[0]) / pixel))
        fetch_h = max(1, math.ceil((fetch_bbox[3] - fetch_bbox[1]) / pixel))
        fetch_w, fetch_h = fit_to_limits(fetch_w, fetch_h, max(ctx.max_width, render_w),
                                         max(ctx.max_height, render_h))
        # Square pixels: some servers (QGIS) silently widen a box whose shape differs from the image's.
        fetch_bbox = adjust_aspect(fetch_bbox, fetch_w, fetch_h)
    else:
        fetch_sr, fetch_bbox, fetch_w, fetch_h = image_sr, render_extent, render_w, render_h
    assert crs_code is not None

    # Group consecutive layers (bottom first) that share an effective time into one GetMap each; a layer without a
    # time dimension ignores TIME and joins whichever group it is next to.
    groups: list[tuple[TimeRange | None, list[MapLayer]]] = []
    timed_groups: list[bool] = []
    for layer in leaves:
        effective: TimeRange | None = None
        if layer.time is None:
            if groups:
                groups[-1][1].append(layer)
            else:
                groups.append((None, [layer]))
                timed_groups.append(False)
            continue
        if time is None and not layer.time.default:
            # No time asked and no default published: draw the layer's whole time extent, as ArcGIS draws all
            # features of a time-aware layer when no time is given (MapServer refuses a GetMap without TIME).
            effective = TimeRange(layer.time.start, layer.time.end)
        elif time is not None:
            option = time_options.get(layer.id) or next(
                (time_options[a] for a in _ancestors(tree, layer) if a in time_options), _LayerTime())
            if option.use_time:
                start = None if option.cumulative else _shift(time.start, option)
                effective = _close(TimeRange(start, _shift(time.end, option)), [layer])
        if groups and (not timed_groups[-1] or groups[-1][0] == effective):
            groups[-1] = (effective, [*groups[-1][1], layer])
            timed_groups[-1] = True
        else:
            groups.append((effective, [layer]))
            timed_groups.append(True)

    single = len(groups) == 1
    mime_pass = next((m for m in fmt.passthrough if ctx.caps.supports_format(m)), None)
    if fmt.name in ("png24", "png32") and ctx.caps.supports_format("image/png"):
        # A backend PNG is RGB when opaque and RGBA when transparent: exactly png24 / png32 then.
        mime_pass = "image/png" if transparent == (fmt.name == "png32") else None
    passthrough = bool(single and mime_pass and not warp and not local_rotation)
    if not fmt.raster and not passthrough:
        if not mime_pass:
            raise UnsupportedParameter("format", f"'{fmt.name}' is not offered by the backend")
        raise UnsupportedParameter("format", f"'{fmt.name}' cannot combine layers drawn at different times")
    fetch_mime = mime_pass if passthrough and mime_pass else "image/png"
    # Local compositing, warping and rotation need an alpha channel to know where nothing was drawn.
    fetch_transparent = transparent or not single or warp or bool(local_rotation)
    if passthrough and not fmt.supports_transparency:
        fetch_transparent = False

    fetches = tuple(
        MapQuery(
            layers=tuple(layer.wms.name for layer in members if layer.wms.name),
            bbox=fetch_bbox,
            sr=fetch_sr,
            crs_code=crs_code,
            width=fetch_w,
            height=fetch_h,
            mime=fetch_mime,
            transparent=fetch_transparent,
            dpi=dpi,
            time=effective,
            filters={m.wms.name: filters[m.wms.name] for m in members if m.wms.name in filters},
            angle=vendor_rotation,
        )
        for effective, members in groups
    )
    if not fetches and not fmt.raster:
        raise UnsupportedParameter("format", f"'{fmt.name}' of an empty map is not available")
    return ExportPlan(
        extent=extent,
        sr=image_sr,
        width=width,
        height=height,
        dpi=dpi,
        scale=map_scale(extent, width, dpi, image_sr),
        format=fmt,
        transparent=transparent,
        fetches=fetches,
        passthrough=passthrough,
        warp=warp,
        local_rotation=local_rotation,
        rotation=rotation,
        render_extent=render_extent,
        render_width=render_w,
        render_height=render_h,
    )


def _ancestors(tree: LayerTree, layer: MapLayer) -> list[int]:
    out: list[int] = []
    current = tree.by_id.get(layer.parent_id)
    while current is not None:
        out.append(current.id)
        current = tree.by_id.get(current.parent_id)
    return out


def kmz_params(params: Params) -> Params:
    """The parameters of an ``f=kmz`` answer: a KML ground overlay carries an image in WGS 84 and one of the formats
    Google Earth reads (PNG with alpha unless the client chose another such format); the rest is kept."""
    values = {name: params.get(name) or "" for name in params.names()}
    values["imagesr"] = "4326"
    if (values.get("format") or "").lower() not in ("png", "png8", "png24", "png32", "jpg", "gif"):
        values["format"] = "png32"
    return Params(values)
