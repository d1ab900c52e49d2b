"""``…/MapServer/<id>/query`` over WFS: the ArcGIS parameters → one :class:`QueryPlan` (WFS feature requests and
what to make of their answers), and the answers → ArcGIS JSON or GeoJSON.

What is honoured: ``where`` (parsed, never passed through), ``objectIds``, ``geometry`` + ``geometryType`` +
``inSR`` + ``spatialRel``, ``outFields``, ``returnGeometry``, ``outSR``, ``returnIdsOnly``, ``returnCountOnly``
(``RESULTTYPE=hits``), ``returnExtentOnly``, ``orderByFields`` (the object-id field appended when an attribute holds
it, for stable pages), ``resultOffset``/``resultRecordCount`` (capped at ``maxRecordCount``; one feature more is
asked for to know ``exceededTransferLimit``), ``time`` (on the layer's date field), ``maxAllowableOffset``,
``geometryPrecision``.  What cannot be (statistics, distinct values, ``distance``, quantization, pbf) is a 400
naming the parameter.  Fields are checked against the layer's: an unknown one is a 400 naming it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from translators.arcgis.features import SYNTHETIC_OID, FeatureLayer, attributes, esri_fields, object_id
from translators.arcgis.geometry import ESRI_TYPES, parse_geometry, reprojected, to_esri, to_geojson
from translators.arcgis.map_time import requested_time
from translators.crs import SpatialRef, resolve_sr
from translators.errors import InvalidParameter, UnsupportedParameter
from translators.filters import map_fields, parse_where
from translators.filters.ast import Expr, field_names
from translators.limits import Limits
from translators.ogc.wfs_features import (
    FeatureCollection,
    FeatureRequest,
    SpatialFilter,
    geometry_bbox,
    never_matches,
)
from translators.params import Params, parse_bool, parse_choice, parse_float, parse_int

FORMATS = ("json", "pjson", "geojson", "html")
SPATIAL_RELATIONS = {
    # ArcGIS relations read "query geometry <relation> feature"; FES reads "feature <relation> literal".
    "esriSpatialRelIntersects": "Intersects",
    "esriSpatialRelEnvelopeIntersects": "BBOX",
    "esriSpatialRelIndexIntersects": "BBOX",
    "esriSpatialRelContains": "Within",
    "esriSpatialRelWithin": "Contains",
    "esriSpatialRelCrosses": "Crosses",
    "esriSpatialRelOverlaps": "Overlaps",
    "esriSpatialRelTouches": "Touches",
}
REFUSED = {
    "outStatistics": "statistics are not supported by this layer",
    "groupByFieldsForStatistics": "statistics are not supported by this layer",
    "having": "statistics are not supported by this layer",
    "quantizationParameters": "coordinate quantization is not supported by this layer",
    "relationParam": "esriSpatialRelRelation is not supported by this layer",
    "multipatchOption": "multipatch output is not supported by this layer",
}
WGS84_WKID = 4326


@dataclass(frozen=True)
class QueryPlan:
    """What one query asks the backend and how its answer is written.

    ``mode``: ``features``, ``ids``, ``count``, ``extent`` or ``count_extent``.  ``request`` is the GetFeature
    (hits only for ``count``; for features one more than ``limit`` to tell whether more exist).  ``empty``: the
    query selects nothing whatever the data, nothing is asked.
    """

    layer: FeatureLayer
    mode: str
    request: FeatureRequest
    limit: int
    out_fields: tuple[str, ...] | None
    return_geometry: bool
    out_sr: SpatialRef
    output: str
    max_offset: float | None
    precision: int | None
    empty: bool


def _check_refused(params: Params) -> None:
    for name, problem in REFUSED.items():
        if params.get(name) and params.get(name) not in ("[]", "{}"):
            raise UnsupportedParameter(name, problem)
    if _flag(params, "returnDistinctValues"):
        raise UnsupportedParameter("returnDistinctValues", "distinct values are not supported by this layer")
    distance = params.get("distance")
    if distance and parse_float(distance, "distance") != 0:
        raise UnsupportedParameter("distance", "queries by distance are not supported by this layer")


def _field(layer: FeatureLayer, name: str, parameter: str) -> str:
    """The layer's spelling of a field a client named; an unknown one is a 400 naming it."""
    if name.casefold() == layer.oid_field.casefold():
        return layer.oid_field
    found = layer.field(name)
    if found is None:
        listed = ", ".join(layer.names())
        raise InvalidParameter(parameter, f"field '{name}' does not exist in this layer (fields: {listed})")
    return found.name


def _where(params: Params, layer: FeatureLayer, limits: Limits) -> Expr | None:
    expr = parse_where(params.get("where"), "where", limits.max_clause_length, limits.max_clause_values)
    if expr is None:
        return None
    expr = map_fields(expr, lambda name: _field(layer, name, "where"))
    if layer.oid_attribute is None and SYNTHETIC_OID in field_names(expr):
        raise UnsupportedParameter("where", f"{SYNTHETIC_OID} is made from the WFS feature ids and cannot be "
                                   "filtered on; use objectIds")
    return expr


def _out_fields(params: Params, layer: FeatureLayer) -> tuple[str, ...] | None:
    text = params.get("outFields")
    if text is None:
        return (layer.oid_field,)  # ArcGIS answers the object id alone when no fields are asked
    names = [n.strip() for n in text.split(",") if n.strip()]
    if "*" in names:
        return None
    fields = tuple(dict.fromkeys(_field(layer, n, "outFields") for n in names))
    return fields if layer.oid_field in fields else (layer.oid_field, *fields)


def _order(params: Params, layer: FeatureLayer) -> tuple[tuple[str, bool], ...]:
    text = params.get("orderByFields")
    order: list[tuple[str, bool]] = []
    for part in (text or "").split(","):
        words = part.split()
        if not words:
            continue
        if len(words) > 2 or (len(words) == 2 and words[1].upper() not in ("ASC", "DESC")):
            raise InvalidParameter("orderByFields", f"'{part.strip()}' is not '<field> [ASC|DESC]'")
        name = _field(layer, words[0], "orderByFields")
        if name == SYNTHETIC_OID and layer.oid_attribute is None:
            raise UnsupportedParameter("orderByFields", f"{SYNTHETIC_OID} (the WFS feature ids) cannot be sorted on")
        order.append((name, len(words) == 2 and words[1].upper() == "DESC"))
    if order and layer.oid_attribute and all(name != layer.oid_attribute for name, _ in order):
        order.append((layer.oid_attribute, False))  # ties broken by the id: pages neither repeat nor skip
    return tuple(order)


def _ids(params: Params) -> tuple[int, ...] | None:
    text = params.get("objectIds")
    if text is None:
        return None
    ids = []
    for part in text.split(","):
        if part.strip():
            ids.append(parse_int(part.strip(), "objectIds"))
    return tuple(dict.fromkeys(ids))


def _spatial(params: Params, service_sr: SpatialRef) -> SpatialFilter | None:
    text = params.get("geometry")
    if text is None:
        return None
    in_sr = resolve_sr(params.get("inSR"), "inSR") if params.get("inSR") else service_sr
    parsed = parse_geometry(text, params.get("geometryType"), in_sr)
    relation_name = params.get("spatialRel") or "esriSpatialRelIntersects"
    relation = SPATIAL_RELATIONS.get(relation_name)
    if relation is None:
        raise UnsupportedParameter("spatialRel", f"'{relation_name}' is not supported (one of "
                                   f"{', '.join(SPATIAL_RELATIONS)})")
    # The filter travels in WGS 84, which every WFS offers.
    wgs84 = resolve_sr(WGS84_WKID, "inSR")
    return SpatialFilter(reprojected(parsed.geometry, parsed.sr, wgs84, "geometry"), relation, wgs84)


def _time(params: Params, layer: FeatureLayer) -> tuple[dt.datetime | None, dt.datetime | None] | None:
    time = requested_time(params)
    if time is None or layer.time_field is None:
        return None  # a layer without time answers whatever the time (as ArcGIS does)
    return time.start, time.end


def _flag(params: Params, name: str, default: bool = False) -> bool:
    text = params.get(name)
    return default if text is None else parse_bool(text, name)


def _mode(params: Params) -> str:
    if _flag(params, "returnCountOnly"):
        return "count_extent" if _flag(params, "returnExtentOnly") else "count"
    if _flag(params, "returnIdsOnly"):
        return "ids"
    return "extent" if _flag(params, "returnExtentOnly") else "features"


def plan_query(params: Params, layer: FeatureLayer, service_sr: SpatialRef, max_records: int,
               limits: Limits) -> QueryPlan:
    """The plan of one query on ``layer`` (a map layer the backend serves by WFS)."""
    if (params.get("f") or "").lower() == "pbf":
        raise UnsupportedParameter("f", "pbf is not supported by this layer; use json or geojson")
    output = parse_choice((params.get("f") or "html").lower(), "f", FORMATS)
    _check_refused(params)
    where = _where(params, layer, limits)
    out_sr = resolve_sr(params.get("outSR"), "outSR") if params.get("outSR") else service_sr
    offset = parse_int(params.get("resultOffset") or "0", "resultOffset")
    asked = parse_int(params.get("resultRecordCount") or str(max_records), "resultRecordCount")
    if offset < 0 or asked < 0:
        raise InvalidParameter("resultOffset" if offset < 0 else "resultRecordCount", "must not be negative")
    limit = min(asked, max_records)
    mode = _mode(params)
    request = FeatureRequest(layer.typename, where=where, spatial=_spatial(params, service_sr), ids=_ids(params),
                             id_field=layer.oid_attribute, geometry_property=layer.geometry_property,
                             time=_time(params, layer), time_field=layer.time_field,
                             time_is_date=any(f.type == "date" for f in layer.fields if f.name == layer.time_field))
    out_fields = _out_fields(params, layer)
    return_geometry = _flag(params, "returnGeometry", True)
    if mode == "count":
        request = replace(request, hits=True)
    elif mode == "features":
        request = replace(request, properties=_properties(layer, out_fields, return_geometry),
                          sort=_order(params, layer), start=offset, count=limit + 1)
    else:  # ids or an extent: every matching feature, up to ten pages
        keep = () if mode != "ids" else ((layer.oid_attribute,) if layer.oid_attribute else ())
        request = replace(request, properties=keep or _first_field(layer), count=10 * max_records + 1,
                          return_geometry="extent" in mode)
    max_offset = parse_float(params.get("maxAllowableOffset") or "0", "maxAllowableOffset") or None
    digits = params.get("geometryPrecision")
    precision = parse_int(digits, "geometryPrecision") if digits else None
    return QueryPlan(layer, mode, request, limit, out_fields, return_geometry, out_sr, output, max_offset, precision,
                     empty=never_matches(request))


def _first_field(layer: FeatureLayer) -> tuple[str, ...]:
    # WFS wants at least one property; the smallest answer names one attribute.
    return (layer.fields[0].name,) if layer.fields else ()


def _properties(layer: FeatureLayer, out_fields: tuple[str, ...] | None,
                geometry: bool) -> tuple[str, ...] | None:
    if out_fields is None:
        return None if geometry else tuple(f.name for f in layer.fields)
    names = tuple(n for n in out_fields if n != SYNTHETIC_OID or layer.oid_attribute)
    return names or _first_field(layer)


def check_dates(plan: QueryPlan, compares_dates: bool) -> None:
    """Refuse a where clause on a date field for a WFS that compares no dates (it would silently match nothing)."""
    if compares_dates:
        return
    named = field_names(plan.request.where)
    dated = [f.name for f in plan.layer.fields if f.type in ("date", "dateTime", "TimeInstantType") and f.name in named]
    if dated:
        raise UnsupportedParameter("where", f"this service's backend cannot compare dates (field '{dated[0]}'); "
                                   "use the time parameter")


def _geometry_type(plan: QueryPlan, collection: FeatureCollection) -> str | None:
    if plan.layer.geometry_type:
        return plan.layer.geometry_type
    first = next((f.geometry for f in collection.features if f.geometry), None)
    return ESRI_TYPES.get(first["type"]) if first else None


def _too_many(plan: QueryPlan, collection: FeatureCollection) -> None:
    bound = (plan.request.count or 1) - 1
    if plan.request.count is not None and len(collection.features) > bound:
        raise UnsupportedParameter("returnIdsOnly" if plan.mode == "ids" else "returnExtentOnly",
                                   f"more than {bound} features match; narrow the query (where, geometry)")


def _extent(plan: QueryPlan, collection: FeatureCollection, data_sr: SpatialRef) -> dict[str, Any] | None:
    shapes = [reprojected(f.geometry, data_sr, plan.out_sr) for f in collection.features if f.geometry]
    if not shapes:
        return None
    boxes = [geometry_bbox(s) for s in shapes]
    return {"xmin": min(b[0] for b in boxes), "ymin": min(b[1] for b in boxes), "xmax": max(b[2] for b in boxes),
            "ymax": max(b[3] for b in boxes), "spatialReference": plan.out_sr.to_json()}


def query_answer(plan: QueryPlan, collection: FeatureCollection | None, count: int | None,
                 layer_sr: SpatialRef) -> dict[str, Any]:
    """The ArcGIS answer (JSON or GeoJSON by ``plan.output``) of a query, from the backend's features (None when
    nothing was asked) and hit count."""
    collection = collection or FeatureCollection([])
    data_sr = collection.sr or layer_sr
    if plan.mode in ("count", "count_extent", "extent"):
        _too_many(plan, collection)
        out: dict[str, Any] = {}
        if "count" in plan.mode:
            out["count"] = count if count is not None else len(collection.features)
        if "extent" in plan.mode:
            out["extent"] = _extent(plan, collection, data_sr)
        return out
    if plan.mode == "ids":
        _too_many(plan, collection)
        ids = [i for f in collection.features if (i := object_id(f, plan.layer)) is not None]
        return {"objectIdFieldName": plan.layer.oid_field, "objectIds": ids}
    features = collection.features[:plan.limit]
    exceeded = len(collection.features) > plan.limit
    if plan.output == "geojson":
        return _geojson(plan, features, exceeded, data_sr)
    rows = []
    for feature in features:
        row: dict[str, Any] = {"attributes": attributes(feature, plan.layer, plan.out_fields)}
        if plan.return_geometry and feature.geometry:
            shape = reprojected(feature.geometry, data_sr, plan.out_sr)
            row["geometry"] = to_esri(shape, max_offset=plan.max_offset, precision=plan.precision)
        rows.append(row)
    answer: dict[str, Any] = {
        "objectIdFieldName": plan.layer.oid_field,
        "displayFieldName": plan.layer.display_field,
        "globalIdFieldName": "",
        "geometryType": _geometry_type(plan, collection),
        "spatialReference": plan.out_sr.to_json(),
        "fields": esri_fields(plan.layer, plan.out_fields),
        "features": rows,
    }
    if exceeded:
        answer["exceededTransferLimit"] = True
    return answer


def _geojson(plan: QueryPlan, features: list[Any], exceeded: bool, data_sr: SpatialRef) -> dict[str, Any]:
    out = []
    for feature in features:
        geometry = None
        if plan.return_geometry and feature.geometry:
            geometry = to_geojson(reprojected(feature.geometry, data_sr, plan.out_sr), plan.precision)
        out.append({"type": "Feature", "id": object_id(feature, plan.layer), "geometry": geometry,
                    "properties": attributes(feature, plan.layer, plan.out_fields)})
    collection: dict[str, Any] = {"type": "FeatureCollection", "features": out}
    if exceeded:
        collection["properties"] = {"exceededTransferLimit": True}
    return collection
