"""MapServer ``export``: ArcGIS parameters → an :class:`ExportPlan` of GetMap requests and local image work.

The plan is everything the web layer needs and nothing it has to decide: which GetMaps to send (one per group of
layers sharing a time), whether the backend's bytes can be passed through untouched, whether to warp locally into an
SR the backend lacks, whether to rotate locally, and the extent/size/scale to report.  Every parameter of the spec
is either honoured or refused with a 400 that names it.  :func:`plan_export` composes the steps: view → layers →
fetch grid → time groups → delivery; :func:`assemble_export` is the pixel work of a plan (run in an executor).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from translators.arcgis.formats import ImageFormat, parse_format
from translators.arcgis.layer_fields import LayerFields
from translators.arcgis.layer_selection import LayerSelection, is_empty_json, select_layers
from translators.arcgis.layers import MapLayer
from translators.arcgis.map_context import ServiceContext
from translators.arcgis.map_time import TimeGroup, requested_time, time_groups
from translators.arcgis.view import View, adjust_aspect, fit_to_limits, grown_extent, parse_view
from translators.crs import SpatialRef, best_offered, offered_code, transform_bbox
from translators.errors import UnsupportedParameter
from translators.imaging import (
    composite_rgba,
    decode_image,
    encode_image,
    encode_pdf,
    rotate_rgba,
    rotation_source_size,
    warp_rgba,
)
from translators.limits import check_memory
from translators.ogc.flavors import Flavor
from translators.ogc.getmap import MapQuery, getmap_params
from translators.ogc.wms import BBox
from translators.params import Params, format_number, parse_bool
from translators.timeutil import TimeRange

__all__ = ["ExportPlan", "ServiceContext", "answer_key_params", "assemble_export", "plan_bytes", "plan_export"]

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


@dataclass(frozen=True)
class _FetchGrid:
    """Where and how the backend draws: the SR it is asked in (and its code), the box and size of its picture,
    and the local work around it (warp into the view's SR, rotation by the vendor or locally)."""

    crs_code: str
    sr: SpatialRef
    bbox: BBox
    width: int
    height: int
    warp: bool
    vendor_rotation: float
    local_rotation: float
    render_extent: BBox
    render_width: int
    render_height: int


@dataclass(frozen=True)
class _Delivery:
    """How the answer is made: the backend's bytes as they are, or pixels composed locally."""

    passthrough: bool
    mime: str  # what the GetMaps ask for
    transparent: bool  # whether the GetMaps ask for a transparent background


def plan_export(params: Params, ctx: ServiceContext, fields: LayerFields | None = None) -> ExportPlan:
    """Turn export parameters into a plan; raises :class:`InvalidParameter` for anything malformed or refused,
    including a clause reading a field its layer does not have (where ``fields`` knows the layer's)."""
    _refuse_unsupported(params)
    view = parse_view(params, ctx.sr, ctx.max_width, ctx.max_height)
    low, high = ctx.flavor.dpi_range
    if not low <= view.dpi <= high:  # refused, not clamped: the dpi sizes symbols and decides scale visibility
        raise UnsupportedParameter("dpi", f"must be between {low:g} and {high:g} for this service")
    fmt = parse_format(params)
    transparent = parse_bool(params.get("transparent") or "false", "transparent")
    selection = select_layers(params, ctx.tree, fields, ctx.limits)
    time = requested_time(params)
    grid = _fetch_grid(view, fmt, selection, ctx)
    groups = time_groups(selection, ctx.tree, time)
    delivery = _delivery(fmt, transparent, groups, grid, ctx)
    fetches = tuple(_query(members, effective, grid, delivery, selection, view.dpi) for effective, members in groups)
    if not fetches and not fmt.raster:
        raise UnsupportedParameter("format", f"'{fmt.name}' of an empty map is not available")
    if not delivery.passthrough:
        check_memory("size", compose_bytes(len(fetches), grid.width * grid.height, grid.render_width *
                                           grid.render_height, view.width * view.height), ctx.limits)
    return ExportPlan(
        extent=view.extent, sr=view.sr, width=view.width, height=view.height, dpi=view.dpi, scale=view.scale,
        format=fmt, transparent=transparent, fetches=fetches, passthrough=delivery.passthrough, warp=grid.warp,
        local_rotation=grid.local_rotation, rotation=view.rotation, render_extent=grid.render_extent,
        render_width=grid.render_width, render_height=grid.render_height,
    )


def compose_bytes(fetches: int, fetched: int, rendered: int, output: int) -> int:
    """An upper bound of the memory an export composed locally takes (measured, rounded up): each GetMap's PNG and
    RGBA pixels, float compositing of several, the warped or rotated picture, and the encoder's copies."""
    return fetches * fetched * 8 + (fetched * 64 if fetches > 1 else 0) + rendered * 12 + output * 12


def plan_bytes(plan: ExportPlan) -> int:
    """The memory estimate of a planned export (what its work holds of the gateway's memory budget)."""
    if plan.passthrough:
        return 0
    fetched = max((q.width * q.height for q in plan.fetches), default=0)
    return compose_bytes(len(plan.fetches), fetched, plan.render_width * plan.render_height, plan.width * plan.height)


def _refuse_unsupported(params: Params) -> None:
    for key, name in UNSUPPORTED.items():
        if not is_empty_json(params.get(key)):
            raise UnsupportedParameter(name, "not supported by this service (its WMS backend has no equivalent)")


def _fetch_grid(view: View, fmt: ImageFormat, selection: LayerSelection, ctx: ServiceContext) -> _FetchGrid:
    """The SR to fetch in (the view's when every drawn layer offers it, else one they offer, warped locally) and
    the rotation: by the backend's vendor parameter when it has one, else drawn larger, rotated and cropped."""
    codes = ctx.caps.root.crs
    for layer in selection.leaves:
        codes = tuple(c for c in codes if c in layer.wms.crs) or codes
    crs_code = offered_code(view.sr, codes)
    warp = crs_code is None
    vendor_rotation = local_rotation = 0.0
    render_extent, render_w, render_h = view.extent, view.width, view.height
    if view.rotation:
        # MapServer fails to rotate an image one pixel wide or high ("OGR GetNextFeature() error'd"): drawn locally.
        if ctx.flavor.rotation_parameter and not warp and min(view.width, view.height) > 1:
            vendor_rotation = view.rotation
        elif not fmt.raster:
            raise UnsupportedParameter("rotation", f"'{fmt.name}' cannot be rotated locally")
        else:
            local_rotation = view.rotation
            render_w, render_h = rotation_source_size(view.width, view.height, view.rotation)
            render_extent = grown_extent(view.extent, view.width, view.height, render_w, render_h)
    if crs_code is not None:
        return _FetchGrid(crs_code, view.sr, render_extent, render_w, render_h, False, vendor_rotation,
                          local_rotation, render_extent, render_w, render_h)
    if not fmt.raster:
        raise UnsupportedParameter("format", f"'{fmt.name}' cannot be reprojected locally into this imageSR")
    crs_code, fetch_sr = best_offered(view.sr, codes, ctx.sr)
    fetch_bbox = transform_bbox(render_extent, view.sr, fetch_sr)
    pixel = math.sqrt((fetch_bbox[2] - fetch_bbox[0]) * (fetch_bbox[3] - fetch_bbox[1]) / (render_w * render_h))
    fetch_w = max(1, math.ceil((fetch_bbox[2] - fetch_bbox[0]) / pixel))
    fetch_h = max(1, math.ceil((fetch_bbox[3] - fetch_bbox[1]) / pixel))
    fetch_w, fetch_h = fit_to_limits(fetch_w, fetch_h, max(ctx.max_width, render_w), max(ctx.max_height, render_h))
    # Square pixels: some servers (QGIS) silently widen a box whose shape differs from the image's.
    fetch_bbox = adjust_aspect(fetch_bbox, fetch_w, fetch_h)
    return _FetchGrid(crs_code, fetch_sr, fetch_bbox, fetch_w, fetch_h, True, vendor_rotation, local_rotation,
                      render_extent, render_w, render_h)


def _delivery(fmt: ImageFormat, transparent: bool, groups: Sequence[TimeGroup], grid: _FetchGrid,
              ctx: ServiceContext) -> _Delivery:
    """Pass the backend's bytes through when one GetMap draws exactly the answer, else compose locally."""
    single = len(groups) == 1
    mime_pass = next((m for m in fmt.passthrough if ctx.caps.supports_format(m)), None)
    if fmt.name in ("png24", "png32") and ctx.caps.supports_format("image/png"):
        # A backend PNG is RGB when opaque and RGBA when transparent: exactly png24 / png32 then.
        mime_pass = "image/png" if transparent == (fmt.name == "png32") else None
    passthrough = bool(single and mime_pass and not grid.warp and not grid.local_rotation)
    if not fmt.raster and not passthrough:
        if not mime_pass:
            raise UnsupportedParameter("format", f"'{fmt.name}' is not offered by the backend")
        raise UnsupportedParameter("format", f"'{fmt.name}' cannot combine layers drawn at different times")
    fetch_mime = mime_pass if passthrough and mime_pass else "image/png"
    # Local compositing, warping and rotation need an alpha channel to know where nothing was drawn.
    fetch_transparent = transparent or not single or grid.warp or bool(grid.local_rotation)
    if passthrough and not fmt.supports_transparency:
        fetch_transparent = False
    return _Delivery(passthrough, fetch_mime, fetch_transparent)


def _query(members: Sequence[MapLayer], time: TimeRange | None, grid: _FetchGrid, delivery: _Delivery,
           selection: LayerSelection, dpi: float) -> MapQuery:
    """One GetMap of a time group."""
    layers = tuple(layer.wms.name for layer in members if layer.wms.name)
    return MapQuery(
        layers=layers, bbox=grid.bbox, sr=grid.sr, crs_code=grid.crs_code, width=grid.width, height=grid.height,
        mime=delivery.mime, transparent=delivery.transparent, dpi=dpi, time=time,
        filters={name: selection.filters[name] for name in layers if name in selection.filters},
        angle=grid.vendor_rotation,
    )


def answer_key_params(plan: ExportPlan, version: str, flavor: Flavor) -> list[tuple[str, str]]:
    """What a composed export answer is made of, canonically: the GetMaps it draws on (as sent, so spelled the way the
    cache keys them) and every parameter of the local work (compositing, warping, rotation, encoding). Two exports
    with equal lists are the same picture, however their clients spelled them."""
    pairs = [(f"FETCH{i}", "&".join(f"{k}={v}" for k, v in sorted(
        getmap_params(query, flavor.getmap_version(version, query.sr, query.crs_code), flavor).items())))
        for i, query in enumerate(plan.fetches)]
    sr = str(plan.sr.wkid) if plan.sr.wkid is not None else plan.sr.wkt or plan.sr.ogc_code or ""
    pairs += [
        ("FORMAT", plan.format.name), ("TRANSPARENT", str(plan.transparent)), ("SR", sr),
        ("SIZE", f"{plan.width},{plan.height}"), ("RENDER", f"{plan.render_width},{plan.render_height}"),
        ("RENDEREXTENT", ",".join(format_number(v) for v in plan.render_extent)),
        ("WARP", str(plan.warp)), ("ROTATION", format_number(plan.local_rotation)), ("DPI", format_number(plan.dpi)),
    ]
    return pairs


def assemble_export(plan: ExportPlan, bodies: Sequence[bytes]) -> tuple[bytes, str]:
    """The pixel work of a composed export: decode, composite (bottom first), warp, rotate, encode."""
    if bodies:
        images = [decode_image(body) for body in bodies]
        image = images[0] if len(images) == 1 else composite_rgba(images)
    else:
        image = np.zeros((plan.render_height, plan.render_width, 4), dtype=np.uint8)
    if plan.warp:
        fetch = plan.fetches[0]
        image = warp_rgba(image, fetch.bbox, fetch.sr, plan.render_extent, plan.sr,
                          (plan.render_width, plan.render_height))
    if plan.local_rotation:
        image = rotate_rgba(image, plan.local_rotation, (plan.width, plan.height))
    if plan.format.name == "pdf":
        return encode_pdf(image, plan.dpi), plan.format.content_type
    return encode_image(image, plan.format.name, plan.transparent)
