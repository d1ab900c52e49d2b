"""MapServer layers as feature layers over the backend's WFS: which layers are, their description, and
``…/MapServer/<id>/query``.

A layer is a feature layer when the backend's WFS describes a feature type of its WMS name (DescribeFeatureType,
fetched once per layer and refreshed like the capabilities).  Its geometry type comes from the description, or, as
MapServer 8 describes every geometry as ``gml:GeometryPropertyType``, from one sampled feature.
"""

from __future__ import annotations

import json

from aiohttp import web

from proxy.executor import RunCpu
from proxy.respond import json_response, respond
from proxy.routes import Call, operation
from proxy.services import MapService
from translators.arcgis.features import (
    FeatureLayer,
    feature_layer,
    feature_layer_json,
    oid_setting,
    time_field_of,
)
from translators.arcgis.geometry import ESRI_TYPES
from translators.arcgis.layers import MapLayer
from translators.arcgis.map_context import ServiceContext
from translators.arcgis.query import QueryPlan, check_dates, plan_query, query_answer
from translators.errors import InvalidParameter, NotFound
from translators.ogc.wfs_features import (
    FeatureCollection,
    FeatureRequest,
    getfeature_params,
    local_skip,
    parse_features,
    parse_hits,
)

KIND = "MapServer"


async def feature_layers(service: MapService, ctx: ServiceContext,
                         layers: list[MapLayer] | None = None) -> dict[int, FeatureLayer]:
    """The feature layers among ``layers`` (default: all of the service), by layer id."""
    candidates = {layer.id: layer.wms.name for layer in (ctx.tree.layers if layers is None else layers)
                  if not layer.is_group and layer.wms.name}
    described = await service.backend.feature_types(candidates.values())
    found: dict[int, FeatureLayer] = {}
    for layer_id, name in candidates.items():
        description = described.get(name)
        if description is None:
            continue
        time_field = time_field_of(description, ctx.tree.by_id[layer_id].wms.time is not None)
        found[layer_id] = feature_layer(name, description, oid_setting(service.settings.object_id_field, name),
                                        None, time_field)
    return found


async def _with_geometry_type(service: MapService, layer: FeatureLayer, ctx: ServiceContext) -> FeatureLayer:
    """The layer with its geometry type, sampled from one feature when its description does not say it."""
    if layer.geometry_type is not None or layer.geometry_property is None:
        return layer
    request = FeatureRequest(layer.typename, properties=layer_first_field(layer), count=1,
                             geometry_property=layer.geometry_property)
    body, _ = await service.backend.get_features(getfeature_params(request, ctx.flavor))
    collection = parse_features(body)  # one feature
    first = next((f.geometry for f in collection.features if f.geometry), None)
    if first is None:
        return layer
    return FeatureLayer(layer.typename, layer.fields, layer.geometry_property, ESRI_TYPES.get(first["type"]),
                        layer.oid_attribute, layer.display_field, layer.time_field)


def layer_first_field(layer: FeatureLayer) -> tuple[str, ...]:
    """The smallest property list a WFS takes (one attribute)."""
    return (layer.fields[0].name,) if layer.fields else ()


async def feature_layer_of(service: MapService, ctx: ServiceContext, layer: MapLayer) -> FeatureLayer | None:
    """The feature layer of one map layer (geometry type known), or None when the backend's WFS does not serve
    it."""
    found = (await feature_layers(service, ctx, [layer])).get(layer.id)
    return None if found is None else await _with_geometry_type(service, found, ctx)


async def feature_json(service: MapService, ctx: ServiceContext, layer: MapLayer) -> dict[str, object] | None:
    """What ``…/MapServer/<id>`` adds for a feature layer (None: a layer that only draws)."""
    found = await feature_layer_of(service, ctx, layer)
    if found is None:
        return None
    return feature_layer_json(found, service.settings.max_record_count, ctx.sr, found.time_field)


def _layer(ctx: ServiceContext, captured: str) -> MapLayer:
    try:
        number = int(captured)
    except ValueError:
        raise NotFound(f"Layer '{captured}' does not exist in this service.") from None
    return ctx.tree.get(number)


async def _fetch(service: MapService, ctx: ServiceContext, plan: QueryPlan,
                 run_cpu: RunCpu) -> tuple[FeatureCollection | None, int | None]:
    if plan.empty:
        return None, 0
    params = getfeature_params(plan.request, ctx.flavor)
    body, _ = await service.backend.get_features(params)
    if plan.request.hits:
        return None, await run_cpu(parse_hits, body)
    collection = await run_cpu(parse_features, body)
    skip = local_skip(plan.request, ctx.flavor)
    if skip:
        collection = FeatureCollection(collection.features[skip:], collection.sr, collection.number_matched)
    return collection, None


@operation(KIND, "*/query")
async def query(call: Call[MapService]) -> web.Response:
    """``…/MapServer/<id>/query``: the features of a layer the backend serves by WFS."""
    service = call.service
    ctx = await service.context()
    layer = _layer(ctx, call.captured[0])
    found = await feature_layer_of(service, ctx, layer)
    if found is None:
        raise InvalidParameter("layer", f"layer {layer.id} ({layer.name}) does not support query: the backend "
                               "does not serve it as features (WFS)")
    plan = await call.run_cpu(plan_query, call.params, found, ctx.sr, service.settings.max_record_count, ctx.limits)
    check_dates(plan, ctx.flavor.wfs_compares_dates)
    collection, count = await _fetch(service, ctx, plan, call.run_cpu)
    answer = await call.run_cpu(query_answer, plan, collection, count, ctx.sr)
    if plan.output == "geojson" and call.params.get("callback") is None:
        return web.Response(text=json.dumps(answer, ensure_ascii=False, allow_nan=False),
                            content_type="application/geo+json", charset="utf-8")
    if plan.output == "geojson":  # JSONP
        return json_response(answer, call.params)
    return respond(answer, call.params, f"{service.settings.name}: query layer {layer.id}")
