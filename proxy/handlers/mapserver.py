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
from proxy.respond import respond
from proxy.routes import Call, operation
from proxy.services import MapService
from translators.arcgis.export import ExportPlan, answer_key_params, assemble_export, plan_bytes, plan_export
from translators.arcgis.formats import kmz_params, parse_output
from translators.arcgis.mapservice import export_result, layer_info, service_info
from translators.errors import NotFound

KIND = "MapServer"


@operation(KIND, "")
async def root(call: Call[MapService]) -> web.Response:
    """``…/MapServer``."""
    service = call.service
    ctx = await service.context()
    overrides = {k: v for k, v in (("description", service.settings.description),
                                   ("copyrightText", service.settings.copyright_text)) if v}
    data = service_info(ctx, service.settings.short_name, overrides)
    return respond(data, call.params, f"{service.settings.name} (MapServer)")


@operation(KIND, "layers")
async def layers(call: Call[MapService]) -> web.Response:
    """``…/MapServer/layers``: every layer's full description."""
    service = call.service
    ctx = await service.context()
    copyright_text = service.settings.copyright_text or ""
    data = {"layers": [layer_info(ctx, layer, copyright_text) for layer in ctx.tree.layers], "tables": []}
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
    data = layer_info(ctx, found, service.settings.copyright_text or "")
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
    plan = plan_export(kmz_params(params) if output == "kmz" else params, ctx)
    body, content_type = await render(service, plan, call.run_cpu)
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
    plan = plan_export(call.params, ctx)
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
