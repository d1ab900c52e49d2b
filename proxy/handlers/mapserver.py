"""MapServer resources: the service root, its layers, and ``export``.

Each handler is registered for its path with :func:`proxy.routes.operation`: parse → plan (pure, ``translators``)
→ fetch (the backend) → render (pure, in the CPU pool) → respond.
"""

from __future__ import annotations

import asyncio
import gzip
from functools import partial

from aiohttp import web

from proxy.answers import answer, cached_image
from proxy.cache import cache_key
from proxy.executor import RunCpu
from proxy.handlers.delivery import described, kmz
from proxy.handlers.features import feature_json, feature_layers
from proxy.respond import respond
from proxy.routes import Call, operation
from proxy.services import MapService
from translators.arcgis.export import (
    ExportPlan,
    ServiceContext,
    answer_key_params,
    assemble_export,
    plan_bytes,
    plan_export,
)
from translators.arcgis.formats import kmz_params, parse_output
from translators.arcgis.layer_fields import refused_field_error
from translators.arcgis.layer_selection import defined_layers, is_empty_json
from translators.arcgis.layers import LayerTree
from translators.arcgis.mapservice import export_result, layer_info, service_info
from translators.arcgis.tiles import tiled_root
from translators.errors import BackendRefusal, InvalidParameter, NotFound
from translators.params import Params

KIND = "MapServer"


@operation(KIND, "")
async def root(call: Call[MapService]) -> web.Response:
    """``…/MapServer``."""
    service = call.service
    ctx = await service.context()
    overrides = {k: v for k, v in (("description", service.settings.description),
                                   ("copyrightText", service.settings.copyright_text)) if v}
    features = await feature_layers(service, ctx)
    data = service_info(ctx, service.settings.short_name, overrides, features, service.settings.max_record_count,
                        f"{call.base_url}/arcgis/services/{service.settings.name}/MapServer")
    if service.tiles is not None:  # a tiled service: tileInfo, its levels, Tilemap
        data.update(tiled_root(service.tiles.scheme, ctx.sr, data["capabilities"]))
    return respond(data, call.params, f"{service.settings.name} (MapServer)")


@operation(KIND, "layers")
async def layers(call: Call[MapService]) -> web.Response:
    """``…/MapServer/layers``: every layer's full description."""
    service = call.service
    ctx = await service.context()
    copyright_text = service.settings.copyright_text or ""
    extra = [await feature_json(service, ctx, layer) for layer in ctx.tree.layers]
    data = {"layers": [layer_info(ctx, layer, copyright_text, more) for layer, more in zip(ctx.tree.layers, extra,
                                                                                            strict=True)],
            "tables": []}
    return respond(data, call.params, f"{service.settings.name} layers")


@operation(KIND, "*")
async def layer(call: Call[MapService]) -> web.Response:
    """``…/MapServer/<id>``."""
    service = call.service
    ctx = await service.context()
    layer_id = call.captured[0].lower()
    try:
        number = int(layer_id)
    except ValueError:
        raise NotFound(f"Layer '{layer_id}' does not exist in this service.") from None
    found = ctx.tree.get(number)
    data = layer_info(ctx, found, service.settings.copyright_text or "", await feature_json(service, ctx, found))
    return respond(data, call.params, f"{service.settings.name} layer {number}")


async def render(service: MapService, plan: ExportPlan, run_cpu: RunCpu) -> tuple[bytes, str]:
    """Produce the exported image bytes and content type."""
    backend = service.backend
    if plan.passthrough:
        body, _ = await backend.get_map(plan.fetches[0])
        if plan.format.name == "svgz":
            body = await run_cpu(gzip.compress, body)
        return body, plan.format.content_type
    async with service.budget.hold(plan_bytes(plan)):
        bodies = [body for body, _ in await asyncio.gather(*(backend.get_map(q) for q in plan.fetches))]
        return await run_cpu(assemble_export, plan, bodies)


@operation(KIND, "export")
async def export(call: Call[MapService]) -> web.Response:
    """``…/MapServer/export``."""
    service, params = call.service, call.params
    output = parse_output(params)
    if output == "image" and (params.get("format") or "").lower() != "svgz":
        return await _export_image(call)
    ctx = await service.context()
    plan = await _plan(service, ctx, kmz_params(params) if output == "kmz" else params)
    try:
        body, content_type = await render(service, plan, call.run_cpu)
    except BackendRefusal as refusal:
        raise _caller_mistake(refusal, plan, ctx.tree, params) from None
    if output == "image":  # only svgz comes here: its gzip body is not kept by the answer cache
        return web.Response(body=body, content_type=content_type, headers={"Content-Encoding": "gzip"})
    if output == "kmz":
        return await kmz(call, body, plan.format.extension, plan.extent, service.settings.short_name, "export.kmz")
    return await described(call, output, body, content_type, plan.format.extension, partial(export_result, plan),
                           f"{service.settings.name}: export", "exported map")


async def _export_image(call: Call[MapService]) -> web.Response:
    """``f=image``: from the answer cache, or drawn once however many ask."""
    service = call.service
    ctx = await service.context()
    plan = await _plan(service, ctx, call.params)
    try:
        if plan.passthrough:
            # The backend's bytes are the answer: one entry, keyed by the normalised GetMap itself.
            entry, status, key = await service.backend.map_entry(plan.fetches[0])
            return answer(service.cache, call.url, service.settings, service.ttl, key, entry, status,
                          plan.format.content_type)

        async def produce() -> tuple[bytes, str]:
            return await render(service, plan, call.run_cpu)

        # A composed answer is keyed by what it is made of, so every spelling of the same picture shares it.
        key = cache_key(service.settings.name.lower(), "answer-export", service.backend.identity,
                        answer_key_params(plan, ctx.caps.version, ctx.flavor))
        return await cached_image(service.cache, call.url, service.settings, service.ttl, key, produce)
    except BackendRefusal as refusal:
        raise _caller_mistake(refusal, plan, ctx.tree, call.params) from None


async def _plan(service: MapService, ctx: ServiceContext, params: Params) -> ExportPlan:
    """The export plan, the fields of its where clauses checked against the fields the backend describes."""
    # A backend that cannot filter refuses every clause anyway: its fields are not worth a request.
    names = defined_layers(params, ctx.tree) if ctx.flavor.filter_dialect is not None else set()
    fields = await service.backend.layer_fields(names) if names else None
    return plan_export(params, ctx, fields)


def _caller_mistake(refusal: BackendRefusal, plan: ExportPlan, tree: LayerTree,
                    params: Params) -> BackendRefusal | InvalidParameter:
    """A refused filtered GetMap whose report names a field of the clauses is the caller's 400; else the 502."""
    filters = {name: expr for query in plan.fetches for name, expr in query.filters.items()}
    if not filters:
        return refusal
    layer_ids = {layer.wms.name: layer.id for layer in tree.layers if layer.wms.name}
    parameter = "dynamicLayers" if is_empty_json(params.get("layerDefs")) else "layerDefs"
    return refused_field_error(refusal.details, filters, layer_ids, parameter) or refusal
