"""Which layers a request draws and how: ``layers``, ``layerDefs``, ``layerTimeOptions`` and ``dynamicLayers``.

The result, :class:`LayerSelection`, is what export (and identify, legend …) need of those four parameters: the
requestable WMS layers to draw bottom first, a where-clause tree per WMS layer name, and each layer's time options.
``dynamicLayers`` (``mapLayer`` sources only) reorders layers, redefines visibility through ``layers`` naming dynamic
ids, and carries definition expressions and time options of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from translators.arcgis.layer_fields import LayerFields, resolve_fields
from translators.arcgis.layers import LayerTree, MapLayer
from translators.errors import InvalidParameter, UnsupportedParameter
from translators.filters import FALSE, field_names, parse_where
from translators.filters.ast import Expr
from translators.limits import DEFAULT_LIMITS, Limits, check_clause
from translators.params import Params, parse_bool, parse_float, parse_json

EMPTY_JSON = ("[]", "{}", "null", "[{}]")  # values that clients send to mean "nothing"
_UNIT_MS = {
    "esriTimeUnitsMilliseconds": 1, "esriTimeUnitsSeconds": 1000, "esriTimeUnitsMinutes": 60_000,
    "esriTimeUnitsHours": 3_600_000, "esriTimeUnitsDays": 86_400_000, "esriTimeUnitsWeeks": 7 * 86_400_000,
}
_MAX_OFFSET_MONTHS = 10_000 * 12
_MAX_OFFSET_MS = 10_000 * 366 * 86_400_000.0
_UNIT_MONTHS = {"esriTimeUnitsMonths": 1, "esriTimeUnitsYears": 12, "esriTimeUnitsDecades": 120,
                "esriTimeUnitsCenturies": 1200}


def is_empty_json(value: str | None) -> bool:
    """Whether a JSON parameter is absent or one of the empty spellings clients send."""
    return value is None or value.replace(" ", "") in EMPTY_JSON


@dataclass(frozen=True)
class LayerTime:
    """A layer's ``layerTimeOptions``."""

    use_time: bool = True
    cumulative: bool = False
    offset_ms: float = 0.0
    offset_months: int = 0


@dataclass(frozen=True)
class LayerSelection:
    """The layers to draw (requestable leaves, bottom first), their filters by WMS name, and time options by id."""

    leaves: tuple[MapLayer, ...]
    filters: Mapping[str, Expr]
    time_options: Mapping[int, LayerTime]

    def time_option(self, tree: LayerTree, layer: MapLayer) -> LayerTime:
        """The layer's own time options, else its nearest ancestor's, else the defaults."""
        for layer_id in (layer.id, *tree.ancestors(layer.id)):
            if layer_id in self.time_options:
                return self.time_options[layer_id]
        return LayerTime()


class Clauses:
    """The where clauses of one request, parsed within ``limits``: ``maxClauseLength`` bounds their length together
    (a request may define every layer, and ``dynamicLayers`` may list a layer many times), ``maxClauseValues`` each."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.length = 0

    def parse(self, where: str, parameter: str) -> Expr | None:
        """One more clause, refused when the request's clauses grow beyond the limit."""
        self.length += len(where)
        limits = self.limits
        check_clause(parameter, "the length of the where clauses", self.length, limits.max_clause_length,
                     "maxClauseLength", " characters")
        return parse_where(where, parameter, limits.max_clause_length, limits.max_clause_values)


def select_layers(params: Params, tree: LayerTree, fields: LayerFields | None = None,
                  limits: Limits = DEFAULT_LIMITS) -> LayerSelection:
    """Apply ``layers``, ``layerDefs``, ``layerTimeOptions`` and ``dynamicLayers`` to the service's layer tree; the
    where clauses are bounded by ``limits`` and their fields checked against ``fields`` where a layer's are known."""
    clauses = Clauses(limits)
    defs = parse_layer_defs(params.get("layerDefs"), tree, fields=fields, clauses=clauses)
    time_options = parse_layer_time_options(params.get("layerTimeOptions"), tree)
    dynamic = params.get("dynamicLayers")
    if not is_empty_json(dynamic):
        assert dynamic is not None
        order, dyn_defs, dyn_times, dyn_ids = parse_dynamic_layers(dynamic, tree, fields, clauses)
        defs.update(dyn_defs)
        time_options.update(dyn_times)
        leaves = _dynamic_leaves(tree, _dynamic_visibility(params.get("layers"), order, dyn_ids))
    else:
        leaves = tree.drawn_leaves(tree.select(params.get("layers")))
    filters = {layer.wms.name: expr for layer_id, expr in defs.items() if (layer := tree.by_id[layer_id]).wms.name}
    # A definition that can never match draws nothing: leave the layer out rather than ask the backend.
    leaves = [layer for layer in leaves if filters.get(layer.wms.name or "") != FALSE]
    return LayerSelection(tuple(leaves), filters, time_options)


def defined_layers(params: Params, tree: LayerTree) -> set[str]:
    """The WMS names of the layers whose ``layerDefs`` or ``dynamicLayers`` clauses read fields: the layers whose
    fields :func:`select_layers` wants to know."""
    defs = parse_layer_defs(params.get("layerDefs"), tree)
    dynamic = params.get("dynamicLayers")
    if not is_empty_json(dynamic):
        assert dynamic is not None
        defs.update(parse_dynamic_layers(dynamic, tree)[1])
    return {name for layer_id, expr in defs.items() if (name := tree.by_id[layer_id].wms.name) and field_names(expr)}


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


def parse_layer_defs(text: str | None, tree: LayerTree, parameter: str = "layerDefs",
                     fields: LayerFields | None = None, clauses: Clauses | None = None) -> dict[int, Expr]:
    """Parse ``layerDefs`` (JSON object, or the array form ``[{"layerId", "where"}]``) into where-clause trees,
    within the request's ``clauses`` bounds, their fields checked against ``fields`` (see
    :func:`~translators.arcgis.layer_fields.resolve_fields`)."""
    if text is None:
        return {}
    clauses = clauses or Clauses()
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
        expr = clauses.parse(where, parameter)
        if expr is not None:
            defs[layer_id] = resolve_fields(expr, tree.by_id[layer_id], fields, parameter)
    return defs


def parse_layer_time_options(text: str | None, tree: LayerTree) -> dict[int, LayerTime]:
    """Parse ``layerTimeOptions``: ``{"<layerId>": {"useTime", "timeDataCumulative", "timeOffset", …}}``."""
    parameter = "layerTimeOptions"
    if text is None:
        return {}
    out: dict[int, LayerTime] = {}
    for layer_id, options in _layer_ids(parse_json(text, parameter), parameter, tree).items():
        if not isinstance(options, dict):
            raise InvalidParameter(parameter, f"the options of layer {layer_id} are not an object")
        out[layer_id] = _time_options(options, parameter)
    return out


def _time_options(options: Mapping[str, Any], parameter: str) -> LayerTime:
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
    # Dates run from year 1 to 9999: a longer offset moves every time out of range (and a huge one overflows).
    if not (abs(ms) <= _MAX_OFFSET_MS and abs(months) <= _MAX_OFFSET_MONTHS):
        raise InvalidParameter(parameter, "the time offset is longer than 10,000 years")
    return LayerTime(flag("useTime", True), flag("timeDataCumulative", False), ms, months)


def parse_dynamic_layers(text: str, tree: LayerTree, fields: LayerFields | None = None,
                         clauses: Clauses | None = None
                         ) -> tuple[list[int], dict[int, Expr], dict[int, LayerTime], dict[int, int]]:
    """Parse ``dynamicLayers``: the drawing order (top first), definition expressions and time options of existing
    map layers.  Returns (map layer ids top first, defs, time options, dynamic id → map layer id)."""
    parameter = "dynamicLayers"
    clauses = clauses or Clauses()
    data = parse_json(text, parameter)
    if not isinstance(data, list):
        raise InvalidParameter(parameter, "expected a JSON array")
    order: list[int] = []
    defs: dict[int, Expr] = {}
    times: dict[int, LayerTime] = {}
    ids: dict[int, int] = {}
    for entry in data:
        if not isinstance(entry, dict):
            raise InvalidParameter(parameter, "each entry must be an object")
        map_id, dyn_id = _dynamic_source(entry, tree)
        _check_drawing_info(entry.get("drawingInfo") or {})
        if dyn_id in ids:
            raise InvalidParameter(parameter, f"dynamic layer id {dyn_id} is used twice")
        ids[dyn_id] = map_id
        order.append(map_id)
        where = entry.get("definitionExpression")
        if where:
            if not isinstance(where, str):
                raise InvalidParameter(parameter, "definitionExpression must be a string")
            expr = clauses.parse(where, parameter)
            if expr is not None:
                defs[map_id] = resolve_fields(expr, tree.by_id[map_id], fields, parameter)
        if entry.get("layerTimeOptions"):
            if not isinstance(entry["layerTimeOptions"], dict):
                raise InvalidParameter(parameter, "layerTimeOptions must be an object")
            times[map_id] = _time_options(entry["layerTimeOptions"], parameter)
    return order, defs, times, ids


def _dynamic_source(entry: Mapping[str, Any], tree: LayerTree) -> tuple[int, int]:
    """The map layer a dynamic layer shows and the dynamic layer's own id."""
    parameter = "dynamicLayers"
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
    return map_id, dyn_id


def _check_drawing_info(drawing: Any) -> None:
    """Refuse what a WMS cannot change about how a layer is drawn."""
    parameter = "dynamicLayers"
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


def _dynamic_visibility(spec: str | None, order: list[int], dyn_ids: Mapping[int, int]) -> list[int]:
    """Apply ``layers`` (which names dynamic ids when ``dynamicLayers`` is given) to the dynamic drawing order."""
    if spec is None:
        return order
    mode, _, rest = spec.partition(":")
    try:
        chosen = {dyn_ids[int(p)] for p in rest.split(",") if p.strip()}
    except (KeyError, ValueError):
        raise InvalidParameter("layers", "ids must name dynamic layers when dynamicLayers is given") from None
    mode = mode.strip().lower()
    if mode in ("show", "include"):
        return [i for i in order if i in chosen] if mode == "show" else order
    if mode in ("hide", "exclude"):
        return [i for i in order if i not in chosen]
    raise InvalidParameter("layers", f"unknown mode '{mode}'")


def _dynamic_leaves(tree: LayerTree, order: list[int]) -> list[MapLayer]:
    """The requestable leaves of the dynamic layers, bottom first (the first dynamic layer draws on top)."""
    leaves: list[MapLayer] = []
    for map_id in reversed(order):
        # Within a dynamic layer (a group), its sub-layers keep the service's drawing order.
        for layer in tree.drawn_leaves({map_id, *tree.descendants(map_id)}):
            if layer not in leaves:
                leaves.append(layer)
    return leaves
