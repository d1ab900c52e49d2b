"""MapServer resources: the service root, its layers, and ``export``."""

from __future__ import annotations

import asyncio
import gzip
import html
from collections.abc import Callable
from typing import Any

from aiohttp import web

from proxy.answers import answer, cached_image
from proxy.cache import cache_key
from proxy.outputs import OutputStore
from proxy.respond import json_response, respond
from proxy.services import MapService
from translators.arcgis.export import ExportPlan, answer_key_params, assemble_export, plan_export
from translators.arcgis.formats import KMZ_CONTENT_TYPE, kmz_params, parse_output
from translators.arcgis.mapservice import export_result, layer_info, service_info
from translators.errors import NotFound
from translators.imaging import make_kmz
from translators.params import Params


async def root(service: MapService, params: Params) -> web.Response:
    """``…/MapServer``."""
    ctx = await service.context()
    overrides = {k: v for k, v in (("description", service.settings.description),
                                   ("copyrightText", service.settings.copyright_text)) if v}
    data = service_info(ctx, service.settings.short_name, overrides)
    return respond(data, params, f"{service.settings.name} (MapServer)")


async def layers(service: MapService, params: Params) -> web.Response:
    """``…/MapServer/layers``: every layer's full description."""
    ctx = await service.context()
    copyright_text = service.settings.copyright_text or ""
    data = {"layers": [layer_info(ctx, layer, copyright_text) for layer in ctx.tree.layers], "tables": []}
    return respond(data, params, f"{service.settings.name} layers")


async def layer(service: MapService, layer_id: str, params: Params) -> web.Response:
    """``…/MapServer/<id>``."""
    ctx = await service.context()
    try:
        number = int(layer_id)
    except ValueError:
        raise NotFound(f"Layer '{layer_id}' does not exist in this service.") from None
    found = ctx.tree.get(number)
    data = layer_info(ctx, found, service.settings.copyright_text or "")
    return respond(data, params, f"{service.settings.name} layer {number}")


async def render(service: MapService, plan: ExportPlan, run_cpu: Callable[..., Any]) -> tuple[bytes, str]:
    """Produce the exported image bytes and content type."""
    backend = service.backend
    if plan.passthrough:
        body, _ = await backend.get_map(plan.fetches[0])
        if plan.format.name == "svgz":
            body = await run_cpu(gzip.compress, body)
        return body, plan.format.content_type
    bodies = [body for body, _ in await asyncio.gather(*(backend.get_map(q) for q in plan.fetches))]
    result: tuple[bytes, str] = await run_cpu(assemble_export, plan, bodies)
    return result


async def export(service: MapService, params: Params, request: web.Request, outputs: OutputStore,
                 run_cpu: Callable[..., Any], base_url: str) -> web.Response:
    """``…/MapServer/export``."""
    fmt = parse_output(params)
    ctx = await service.context()
    if fmt == "image" and (params.get("format") or "").lower() != "svgz":
        image_plan = plan_export(params, ctx)
        url = request.path_qs if request.method == "GET" else None
        if image_plan.passthrough:
            # The backend's bytes are the answer: one entry, keyed by the normalised GetMap itself.
            entry, status, key = await service.backend.map_entry(image_plan.fetches[0])
            return answer(service.cache, url, service.settings, service.ttl, key, entry, status,
                          image_plan.format.content_type)

        async def produce() -> tuple[bytes, str]:
            return await render(service, image_plan, run_cpu)

        # A composed answer is keyed by what it is made of, so every spelling of the same picture shares it.
        key = cache_key(service.settings.name.lower(), "answer-export", service.backend.identity,
                        answer_key_params(image_plan, ctx.caps.version, ctx.flavor))
        return await cached_image(service.cache, url, service.settings, service.ttl, key, produce)
    plan = plan_export(kmz_params(params) if fmt == "kmz" else params, ctx)
    body, content_type = await render(service, plan, run_cpu)
    if fmt == "image":  # only svgz comes here: its gzip body is not kept by the answer cache
        return web.Response(body=body, content_type=content_type, headers={"Content-Encoding": "gzip"})
    if fmt == "kmz":
        x0, y0, x1, y1 = plan.extent
        kmz = await run_cpu(make_kmz, body, plan.format.extension, y1, y0, x1, x0, service.settings.short_name)
        return web.Response(body=kmz, content_type=KMZ_CONTENT_TYPE,
                            headers={"Content-Disposition": "attachment; filename=export.kmz"})
    name = await outputs.put(body, content_type, plan.format.extension)
    href = f"{base_url}/arcgis/rest/directories/arcgisoutput/{name}"
    data = export_result(plan, href)
    if fmt in ("json", "pjson"):
        return json_response(data, params, pretty=fmt == "pjson")
    extra = f"<p><img src='{html.escape(href)}' alt='exported map' style='border:1px solid #ccc'></p>"
    return respond(data, params, f"{service.settings.name}: export", extra_html=extra)
