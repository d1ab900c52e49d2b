"""MapServer ``identify``: ArcGIS parameters → an :class:`IdentifyPlan` of WFS GetFeatures and WMS GetFeatureInfo
requests; their answers → the ArcGIS ``results``.

Layers the backend also serves by WFS are asked by GetFeature (:mod:`translators.arcgis.identify_features`): the
only way to honour ``layerDefs`` on MapServer, to take envelopes and polygons, and to return real geometry and
object ids.  The others (rasters, layers without WFS, time-aware layers) are asked by GetFeatureInfo over a window of
``2t+1`` pixels of the client's own map grid (``mapExtent`` and ``imageDisplay``, ``t`` = ``tolerance``), with the
client's dpi, so the backend applies its scale ranges and pixel tolerances as in the map the user clicked; they are
grouped as export groups them (one request per time), or one a request where the flavour asks so.  Results come top
layer first; ``top`` keeps the first layer with hits.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from translators.arcgis.features import FeatureLayer
from translators.arcgis.geometry import ESRI_TYPES, reprojected, to_esri
from translators.arcgis.identify_features import (
    FeatureLookup,
    Output,
    feature_result,
    formatted,
    lookup_features,
    lookups,
    selections,
)
from translators.arcgis.identify_geometry import Geometry, identify_geometry, parse_geometry_type
from translators.arcgis.layer_fields import LayerFields
from translators.arcgis.layer_selection import (
    Clauses,
    LayerSelection,
    is_empty_json,
    parse_dynamic_layers,
    parse_layer_defs,
    parse_layer_time_options,
)
from translators.arcgis.layers import LayerTree, MapLayer
from translators.arcgis.map_context import ServiceContext
from translators.arcgis.map_time import requested_time, time_groups
from translators.arcgis.view import map_scale, parse_bbox, sr_param
from translators.crs import SpatialRef, best_offered, offered_code, resolve_sr, transform_bbox, transform_point
from translators.errors import InvalidParameter, UnsupportedParameter
from translators.filters.ast import Expr
from translators.ogc.getfeatureinfo import InfoFeature, InfoQuery, click_window, parse_feature_info
from translators.ogc.getmap import MapQuery
from translators.params import Params, parse_bool, parse_float, parse_int, parse_numbers
from translators.timeutil import TimeRange

MAX_TOLERANCE = 100
"""The largest ``tolerance`` in pixels: a window of 201² pixels is already far beyond any click."""
PIXEL_VALUE = "Pixel Value"
MODES = ("top", "visible", "all")
UNSUPPORTED = {"gdbversion": "gdbVersion", "historicmoment": "historicMoment"}
_LEGACY_DEF = re.compile(r";(?=\s*\d+\s*:)")


@dataclass(frozen=True)
class Candidate:
    """A layer identify asks about: the map layer and the id its results carry (a dynamic layer's own id)."""

    layer: MapLayer
    result_id: int


@dataclass(frozen=True)
class IdentifyPlan:
    """Everything needed to answer one identify."""

    sr: SpatialRef  # of the geometry, the map extent and the answer
    geometry: Geometry  # in ``sr``
    mode: str  # top | visible | all
    candidates: tuple[Candidate, ...]  # top first
    fetch_sr: SpatialRef  # the SR the backend is asked in
    queries: tuple[InfoQuery, ...]  # GetFeatureInfo, for the layers without WFS
    clicks: tuple[tuple[float, float], ...]  # per query: the click, in ``fetch_sr``
    lookups: tuple[FeatureLookup, ...]  # WFS GetFeature, for the layers the backend serves by WFS
    output: Output
    native_sr: SpatialRef  # the SR of WFS answers that state none

    @property
    def return_geometry(self) -> bool:
        """``returnGeometry``."""
        return self.output.return_geometry

    @property
    def digits(self) -> int | None:
        """``geometryPrecision``."""
        return self.output.digits

    @property
    def unformatted(self) -> bool:
        """``returnUnformattedValues``."""
        return self.output.unformatted


def legacy_layer_defs(text: str | None) -> str | None:
    """``layerDefs`` in the legacy ``0:expr;1:expr`` form Esri Leaflet sends, as the JSON object; JSON unchanged."""
    if text is None or text.lstrip().startswith(("{", "[")):
        return text
    defs: dict[str, str] = {}
    for part in _LEGACY_DEF.split(text):
        layer_id, sep, where = part.partition(":")
        if not sep or not layer_id.strip().isdigit():
            raise InvalidParameter("layerDefs", "expected {\"<layerId>\": \"<where>\"} or <layerId>:<where>;…")
        defs[layer_id.strip()] = where
    return json.dumps(defs)


def parse_tolerance(params: Params) -> int:
    """``tolerance``: whole pixels, 0 to :data:`MAX_TOLERANCE`."""
    text = params.get("tolerance")
    if text is None:
        raise InvalidParameter("tolerance", "the parameter is required")
    value = parse_int(text, "tolerance")
    if not 0 <= value <= MAX_TOLERANCE:
        raise InvalidParameter("tolerance", f"must be between 0 and {MAX_TOLERANCE} pixels")
    return value


def parse_image_display(params: Params, dpi_range: tuple[float, float]) -> tuple[int, int, float]:
    """``imageDisplay``: ``width,height[,dpi]`` (dpi 96 when left out)."""
    text = params.get("imageDisplay")
    if text is None:
        raise InvalidParameter("imageDisplay", "the parameter is required")
    values = parse_numbers(text, "imageDisplay", 3 if text.count(",") == 2 else 2)
    width, height = values[0], values[1]
    dpi = values[2] if len(values) == 3 else 96.0
    if not (width.is_integer() and height.is_integer()) or width < 1 or height < 1 or max(width, height) > 1e5:
        raise InvalidParameter("imageDisplay", f"width and height must be positive whole numbers, got '{text}'")
    if not dpi_range[0] <= dpi <= dpi_range[1]:
        raise InvalidParameter("imageDisplay", f"the dpi must be between {dpi_range[0]:g} and {dpi_range[1]:g}")
    return int(width), int(height), dpi


def _parse_layers(text: str | None) -> tuple[str, list[int] | None]:
    """``layers``: ``top`` (default) | ``visible`` | ``all``, optionally ``:id1,id2``."""
    if text is None:
        return "top", None
    mode, sep, rest = text.partition(":")
    mode = mode.strip().lower()
    if mode not in MODES:
        raise InvalidParameter("layers", f"expected 'top', 'visible' or 'all', optionally ':<ids>', got '{text}'")
    if not sep:
        return mode, None
    ids: list[int] = []
    for part in rest.split(","):
        if part.strip():
            try:
                layer_id = int(part)
            except ValueError:
                raise InvalidParameter("layers", f"'{part.strip()}' is not a layer id") from None
            if layer_id != -1:  # ArcGIS' "no layer" (clients send visible:-1 when every layer is off)
                ids.append(layer_id)
    return mode, ids


def _leaves_of(tree: LayerTree, layer_id: int, visible_only: bool) -> list[MapLayer]:
    """The queryable leaves a layer stands for, top first (a group: its sub-layers, drawn by default or all)."""
    ids = {layer_id, *tree.descendants(layer_id)}
    if visible_only and tree.by_id[layer_id].is_group:
        ids = tree.select(f"show:{layer_id}")
    return [leaf for leaf in reversed(tree.drawn_leaves(ids)) if leaf.wms.queryable]


def select_candidates(params: Params, tree: LayerTree) -> tuple[str, list[Candidate], dict[int, Expr], Clauses]:
    """The layers to identify, top first, their result ids, and the dynamic layers' definitions."""
    mode, ids = _parse_layers(params.get("layers"))
    dynamic = params.get("dynamicLayers")
    clauses = Clauses()
    if not is_empty_json(dynamic):
        assert dynamic is not None
        _, defs, _, dyn_ids = parse_dynamic_layers(dynamic, tree, clauses=clauses)
        unknown = [i for i in ids or () if i not in dyn_ids]
        if unknown:
            raise InvalidParameter("layers", f"dynamic layer {unknown[0]} is not in dynamicLayers")
        chosen = [(dyn_id, map_id) for dyn_id, map_id in dyn_ids.items() if ids is None or dyn_id in ids]
        out = [Candidate(leaf, dyn_id if not tree.by_id[map_id].is_group else leaf.id)
               for dyn_id, map_id in chosen for leaf in _leaves_of(tree, map_id, mode != "all")]
        return mode, _unique(out), defs, clauses
    for layer_id in ids or ():
        if layer_id not in tree.by_id:
            raise InvalidParameter("layers", f"layer {layer_id} does not exist in this service")
    if ids is None:
        roots = sorted(tree.default_visible() if mode != "all" else set(tree.by_id))
        leaves = [leaf for leaf in reversed(tree.drawn_leaves(set(roots))) if leaf.wms.queryable]
    else:
        leaves = [leaf for layer_id in ids for leaf in _leaves_of(tree, layer_id, mode != "all")]
        leaves.sort(key=lambda leaf: -leaf.draw_rank)
    return mode, _unique([Candidate(leaf, leaf.id) for leaf in leaves]), {}, clauses


def _unique(candidates: list[Candidate]) -> list[Candidate]:
    seen: set[int] = set()
    out = []
    for candidate in candidates:
        if candidate.layer.id not in seen:
            seen.add(candidate.layer.id)
            out.append(candidate)
    return out


def _geometry_in(params: Params, sr: SpatialRef) -> Geometry:
    """``geometry`` and ``geometryType``, moved from the geometry's own SR into ``sr``."""
    return identify_geometry(params.get("geometry"), parse_geometry_type(params.get("geometryType")), sr)


def _map_extent(params: Params, sr: SpatialRef) -> tuple[float, float, float, float]:
    """``mapExtent`` in ``sr`` (a JSON envelope may carry its own SR)."""
    text = params.get("mapExtent")
    if text is None:
        raise InvalidParameter("mapExtent", "the parameter is required")
    box, own = parse_bbox(text, "mapExtent")
    if own is not None:
        own_sr = resolve_sr(own, "mapExtent")
        if not own_sr.same_as(sr):
            box = transform_bbox(box, own_sr, sr, parameter="mapExtent")
    return box


def _options(params: Params, sr: SpatialRef) -> Output:
    """``returnGeometry``, ``maxAllowableOffset``, ``geometryPrecision``, ``returnUnformattedValues``; the other
    flags are checked only: ``returnFieldName`` (there are no aliases: names either way), ``returnZ``/``returnM``
    (2D data)."""
    return_geometry = parse_bool(params.get("returnGeometry") or "true", "returnGeometry")
    for name in ("returnFieldName", "returnZ", "returnM"):
        parse_bool(params.get(name) or "false", name)
    offset = None
    if (text := params.get("maxAllowableOffset")) is not None:
        offset = parse_float(text, "maxAllowableOffset")
        if offset < 0:
            raise InvalidParameter("maxAllowableOffset", "must not be negative")
    digits = None
    if (text := params.get("geometryPrecision")) is not None:
        digits = parse_int(text, "geometryPrecision")
        if not 0 <= digits <= 17:
            raise InvalidParameter("geometryPrecision", "must be between 0 and 17")
    unformatted = parse_bool(params.get("returnUnformattedValues") or "false", "returnUnformattedValues")
    return Output(sr, return_geometry, offset or None, digits, unformatted)


def identify_defined_layers(params: Params, tree: LayerTree) -> set[str]:
    """The WMS names of the layers ``layerDefs`` defines (whose fields the planner wants to check)."""
    defs = parse_layer_defs(legacy_layer_defs(params.get("layerDefs")), tree)
    return {name for layer_id in defs if (name := tree.by_id[layer_id].wms.name)}


@dataclass(frozen=True)
class _Request:
    """The parsed parameters of an identify that decide what is asked of the backend."""

    sr: SpatialRef
    geometry: Geometry
    tolerance: int
    res: float  # the client's map units a pixel, in ``sr``
    dpi: float
    scale: float  # of the client's map, as ArcGIS computes it
    mode: str
    candidates: list[Candidate]
    filters: dict[str, Expr]
    selection: LayerSelection


def _parse(params: Params, ctx: ServiceContext, fields: LayerFields | None) -> _Request:
    for key, name in UNSUPPORTED.items():
        if params.get(key) is not None:
            raise UnsupportedParameter(name, "not supported by this service (its WMS backend has no equivalent)")
    tree = ctx.tree
    sr = sr_param(params, "sr", ctx.sr)
    geometry = _geometry_in(params, sr)
    tolerance = parse_tolerance(params)
    extent = _map_extent(params, sr)
    width, height, dpi = parse_image_display(params, ctx.flavor.dpi_range)
    mode, candidates, dyn_defs, clauses = select_candidates(params, tree)
    defs = parse_layer_defs(legacy_layer_defs(params.get("layerDefs")), tree, fields=fields, clauses=clauses)
    defs.update(dyn_defs)
    time_options = parse_layer_time_options(params.get("layerTimeOptions"), tree)
    filters = {wms: expr for layer_id, expr in defs.items() if (wms := tree.by_id[layer_id].wms.name)}
    res = max((extent[2] - extent[0]) / width, (extent[3] - extent[1]) / height)
    selection = LayerSelection(tuple(reversed([c.layer for c in candidates])), filters, time_options)
    scale = map_scale((0.0, 0.0, res * width, 0.0), width, dpi, sr)
    return _Request(sr, geometry, tolerance, res, dpi, scale, mode, candidates, filters, selection)


def plan_identify(params: Params, ctx: ServiceContext, fields: LayerFields | None = None,
                  features: Mapping[str, FeatureLayer] | None = None) -> IdentifyPlan:
    """Turn identify parameters into a plan; raises :class:`InvalidParameter` naming what is malformed.

    ``features`` are the layers (by WMS name) the backend serves by WFS: they are asked by GetFeature, unless they
    are time-aware (their time is the WMS dimension, which GetFeatureInfo takes); the others by GetFeatureInfo."""
    request = _parse(params, ctx, fields)
    output = _options(params, request.sr)
    features = features or {}
    by_wfs = {name: features[name] for c in request.candidates
              if (name := c.layer.wms.name) and name in features and c.layer.time is None}
    # Scale ranges, as the map drew: GetFeatureInfo leaves them to the backend (it gets the client's scale),
    # WFS knows none, so a layer not drawn at the client's scale is not asked.
    hidden = {name for c in request.candidates if (name := c.layer.wms.name) in by_wfs
              and not _drawn_at(c.layer, request.scale)}
    by_wfs = {name: layer for name, layer in by_wfs.items() if name not in hidden}
    request = replace(request, candidates=[c for c in request.candidates if c.layer.wms.name not in hidden])
    lookups = _lookups(request, by_wfs, ctx.flavor.wfs_compares_dates)
    info = [c for c in request.candidates if c.layer.wms.name not in by_wfs]
    used = [c.layer.name for c in info if c.layer.wms.name in request.filters]
    if used and not ctx.flavor.gfi_filters:
        raise UnsupportedParameter("layerDefs", f"layer '{used[0]}' is not served by WFS, and this backend's "
                                   "GetFeatureInfo ignores filters")
    leaves = tuple(layer for layer in request.selection.leaves if layer.wms.name not in {*by_wfs, *hidden})
    fetch_sr, queries, clicks = _info_queries(request, ctx, info, LayerSelection(
        leaves, request.selection.filters, request.selection.time_options), requested_time(params))
    return IdentifyPlan(sr=request.sr, geometry=request.geometry, mode=request.mode,
                        candidates=tuple(request.candidates), fetch_sr=fetch_sr, queries=tuple(queries),
                        clicks=tuple(clicks), lookups=tuple(lookups), output=output, native_sr=ctx.sr)


def _drawn_at(layer: MapLayer, scale: float) -> bool:
    """Whether the layer's WMS scale range (MinScaleDenominator ≤ scale < MaxScaleDenominator) holds ``scale``."""
    low, high = layer.wms.min_scale_denominator, layer.wms.max_scale_denominator
    return (low is None or scale >= low) and (high is None or scale < high)


def _lookups(request: _Request, by_wfs: Mapping[str, FeatureLayer], compares_dates: bool) -> list[FeatureLookup]:
    """The GetFeatures of the layers served by WFS, in an SR the WFS can be told (its EPSG code)."""
    if not by_wfs:
        return []
    shapes = selections(request.geometry, request.tolerance * request.res)
    sr = request.sr
    if sr.ogc_code is None:  # an SR without an OGC code: the selection is sent in WGS 84
        wgs84 = resolve_sr(4326, "sr")
        shapes = [reprojected(shape, sr, wgs84, parameter="geometry") for shape in shapes]
        sr = wgs84
    return [lookup for name, layer in by_wfs.items()
            for lookup in lookups(name, layer, shapes, sr, request.filters.get(name), compares_dates)]


def _info_queries(request: _Request, ctx: ServiceContext, info: Sequence[Candidate], selection: LayerSelection,
                  time: TimeRange | None) -> tuple[SpatialRef, list[InfoQuery], list[tuple[float, float]]]:
    """The GetFeatureInfo windows: one per click (a multipoint's points; the centre of any other shape) and group
    of layers sharing a time (or layer, where the flavour takes one a request)."""
    sr = request.sr
    codes = ctx.caps.root.crs
    for candidate in info:
        codes = tuple(c for c in codes if c in candidate.layer.wms.crs) or codes
    crs_code = offered_code(sr, codes)
    fetch_sr = sr
    if crs_code is None:
        crs_code, fetch_sr = best_offered(sr, codes, ctx.sr)
    if not info:
        return fetch_sr, [], []
    groups = time_groups(selection, ctx.tree, time)
    points = request.geometry.points
    if request.geometry.kind not in ("esriGeometryPoint", "esriGeometryMultipoint"):
        x0, y0, x1, y1 = request.geometry.bbox
        points = (((x0 + x1) / 2, (y0 + y1) / 2),)
    # MapServer 8 fails on a window of one pixel ("OGR GetNextFeature() error'd"): at least 3, the tolerance itself
    # travels in the flavour's parameters (or the backend's own configuration).
    half = max(request.tolerance, 1)
    queries: list[InfoQuery] = []
    clicks: list[tuple[float, float]] = []
    for x, y in points:
        click, box, size = _window(x, y, request.res, half, sr, fetch_sr)
        for effective, members in groups:
            names = [layer.wms.name for layer in members if layer.wms.name]
            for batch in ([[n] for n in names] if ctx.flavor.gfi_single_layer else [names]):
                query = MapQuery(layers=tuple(batch), bbox=box, sr=fetch_sr, crs_code=crs_code, width=size,
                                 height=size, mime="image/png", transparent=True, dpi=request.dpi, time=effective,
                                 filters={n: request.filters[n] for n in batch if n in request.filters})
                queries.append(InfoQuery(query, half, half, request.tolerance))
                clicks.append(click)
    return fetch_sr, queries, clicks


def _window(x: float, y: float, res: float, half: int, sr: SpatialRef,
            fetch_sr: SpatialRef) -> tuple[tuple[float, float], tuple[float, float, float, float], int]:
    """The click in ``fetch_sr``, the square window of ``half`` pixels either side of it and its size in pixels."""
    box, size = click_window(x, y, res, res, half)
    if fetch_sr.same_as(sr):
        return (x, y), box, size
    cx, cy = transform_point(x, y, sr, fetch_sr)
    moved = transform_bbox(box, sr, fetch_sr, parameter="geometry")
    fetch_res = max(moved[2] - moved[0], moved[3] - moved[1]) / size
    return (cx, cy), click_window(cx, cy, fetch_res, fetch_res, half)[0], size


# ------------------------------------------------------------------------------------------------------- answers
def display_field(attributes: Mapping[str, Any]) -> str:
    """The field that names a feature: ``name`` in any case, else the first text field that is no id, else the
    first field."""
    keys = list(attributes)
    for key in keys:
        if key.lower() == "name":
            return key
    texts = [k for k in keys if isinstance(attributes[k], str) and k.lower() not in ("id", "fid", "objectid")
             and not _numeric(attributes[k])]
    return texts[0] if texts else (keys[0] if keys else "")


def _numeric(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _result(plan: IdentifyPlan, candidate: Candidate, feature: InfoFeature,
            click: tuple[float, float]) -> dict[str, Any]:
    """One entry of ``results``."""
    layer = candidate.layer
    if feature.raster_values is not None:
        value = ", ".join(feature.raster_values)
        attributes: dict[str, Any] = {PIXEL_VALUE: value}
        display = PIXEL_VALUE
        geometry: Mapping[str, Any] | None = feature.geometry or {"type": "Point", "coordinates": list(click)}
    else:
        attributes = {k: v if plan.unformatted else formatted(v) for k, v in feature.attributes.items()}
        display = display_field(feature.attributes)
        value = formatted(feature.attributes.get(display)) if display else ""
        geometry = feature.geometry
    result: dict[str, Any] = {"layerId": candidate.result_id, "layerName": layer.name, "displayFieldName": display,
                              "value": value, "attributes": attributes}
    esri = _esri(plan, geometry) if geometry else None
    if esri is not None:
        result["geometryType"] = esri[0]
        if plan.return_geometry:
            result["geometry"] = {**esri[1], "spatialReference": plan.sr.to_json()}
    return result


def _esri(plan: IdentifyPlan, geometry: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """A GetFeatureInfo geometry (GeoJSON-like, or the box of MapServer's GML) in the answer's SR, as Esri JSON."""
    kind = geometry.get("type")
    if kind == "Envelope":
        x0, y0, x1, y1 = geometry["coordinates"]
        corners = reprojected({"type": "MultiPoint", "coordinates": [[x0, y0], [x1, y1]]}, plan.fetch_sr, plan.sr,
                              parameter="sr")["coordinates"]
        (a, b), (c, d) = corners
        box = {"xmin": min(a, c), "ymin": min(b, d), "xmax": max(a, c), "ymax": max(b, d)}
        return "esriGeometryEnvelope", _rounded(box, plan.digits)
    if kind not in ESRI_TYPES or not geometry.get("coordinates"):
        return None
    moved = reprojected(dict(geometry), plan.fetch_sr, plan.sr, parameter="sr")
    return ESRI_TYPES[str(kind)], to_esri(moved, max_offset=plan.output.max_offset, precision=plan.digits)


def _rounded(box: dict[str, float], digits: int | None) -> dict[str, float]:
    return box if digits is None else {k: round(v, digits) for k, v in box.items()}


def identify_results(plan: IdentifyPlan, bodies: Sequence[bytes], wfs_bodies: Sequence[bytes] = ()) -> dict[str, Any]:
    """The ArcGIS answer from the answers to the plan's GetFeatureInfo queries and GetFeatures (each in order)."""
    found: dict[str, list[dict[str, Any]]] = {}
    seen: set[str] = set()
    by_name = {c.layer.wms.name: c for c in plan.candidates}
    for query, click, body in zip(plan.queries, plan.clicks, bodies, strict=True):
        for name, features in parse_feature_info(body, query.map.layers, click).items():
            for feature in features:
                key = repr((name, sorted(feature.attributes.items()), feature.raster_values, feature.geometry))
                if key not in seen:  # a multipoint's clicks may hit a feature twice
                    seen.add(key)
                    found.setdefault(name, []).append(_result(plan, by_name[name], feature, click))
    for lookup, body in zip(plan.lookups, wfs_bodies, strict=True):
        wfs_features, src = lookup_features(body, plan.native_sr)
        candidate = by_name[lookup.name]
        for wfs_feature in wfs_features:
            key = repr((lookup.name, wfs_feature.fid, sorted(wfs_feature.properties.items())))
            if key not in seen:
                seen.add(key)
                found.setdefault(lookup.name, []).append(feature_result(
                    candidate.result_id, candidate.layer.name, lookup.layer, wfs_feature, src, plan.output))
    results: list[dict[str, Any]] = []
    for candidate in plan.candidates:
        hits = found.get(candidate.layer.wms.name or "")
        if not hits:
            continue
        results.extend(hits)
        if plan.mode == "top":
            break
    return {"results": results}
