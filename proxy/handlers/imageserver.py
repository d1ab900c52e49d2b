"""ImageServer resources: the root, keyProperties, statistics, exportImage, identify, download and its files.

Each handler is registered for its path with :func:`proxy.routes.operation`: parse → plan (pure, ``translators``)
→ fetch (the WCS) → render (pure, in the CPU pool) → respond.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from aiohttp import web

from proxy.answers import cached_image
from proxy.cache import cache_key
from proxy.handlers.delivery import described, kmz
from proxy.respond import respond
from proxy.routes import Call, operation
from proxy.services import ImageService
from translators.arcgis.formats import kmz_params, parse_output, shown_in_browser
from translators.arcgis.image import (
    Fetch,
    answer_key_params,
    check_download,
    plan_bytes,
    plan_download,
    plan_export_image,
    plan_identify,
)
from translators.arcgis.image_render import download_file, export_image, identify_values
from translators.arcgis.imageservice import (
    export_image_result,
    identify_result,
    key_properties,
    service_info,
    statistics,
)
from translators.crs import resolve_sr
from translators.errors import InvalidParameter, NotFound
from translators.limits import image_bytes
from translators.ogc.getmap import MapQuery
from translators.ogc.wcs import snap_to_grid
from translators.params import Params

KIND = "ImageServer"
THUMBNAIL = 200


async def _fetch(service: ImageService, fetch: Fetch | None) -> bytes | None:
    if fetch is None:
        return None
    raster = fetch.raster
    # The answer may hold every band even when a subset was planned (refused or ignored): the render selects them.
    return await service.backend.coverage(raster.coverage, fetch.bbox, fetch.width, fetch.height, fetch.bands,
                                          raster.time if raster.wcs_time else None)


@operation(KIND, "")
async def root(call: Call[ImageService]) -> web.Response:
    """``…/ImageServer``."""
    ctx = await call.service.context()
    settings = call.service.settings
    data = service_info(ctx, settings.description, settings.copyright_text, settings.service_data_type)
    return respond(data, call.params, f"{settings.name} (ImageServer)")


@operation(KIND, "keyProperties")
async def key_props(call: Call[ImageService]) -> web.Response:
    """``…/ImageServer/keyProperties``."""
    ctx = await call.service.context()
    settings = call.service.settings
    return respond(key_properties(ctx, settings.service_data_type), call.params, f"{settings.name} keyProperties",
                   default="json")


@operation(KIND, "statistics")
async def stats(call: Call[ImageService]) -> web.Response:
    """``…/ImageServer/statistics``."""
    ctx = await call.service.context()
    return respond(statistics(ctx), call.params, f"{call.service.settings.name} statistics", default="json")


@operation(KIND, "exportImage")
async def export_image_op(call: Call[ImageService]) -> web.Response:
    """``…/ImageServer/exportImage``."""
    service, params = call.service, call.params
    output = parse_output(params)
    ctx = await service.context()
    if output == "image":
        image_plan = plan_export_image(params, ctx)

        async def produce() -> tuple[bytes, str]:
            async with service.budget.hold(plan_bytes(ctx, image_plan)):
                body = await _fetch(service, image_plan.fetch)
                data, content_type, _ = await call.run_cpu(export_image, ctx, image_plan, body)
            return data, content_type

        # Keyed by what the answer is made of, so every spelling of the same image shares the entry.
        key = cache_key(service.settings.name.lower(), "answer-exportImage", service.backend.identity,
                        answer_key_params(image_plan))
        return await cached_image(service.cache, call.url, service.settings, service.ttl, key, produce)
    plan = plan_export_image(kmz_params(params) if output == "kmz" else params, ctx)
    async with service.budget.hold(plan_bytes(ctx, plan)):
        body = await _fetch(service, plan.fetch)
        data, content_type, extension = await call.run_cpu(export_image, ctx, plan, body)
    if output == "kmz":
        return await kmz(call, data, extension, plan.extent, service.settings.short_name, "exportImage.kmz")
    return await described(call, output, data, content_type, extension, partial(export_image_result, plan),
                           f"{service.settings.name}: exportImage",
                           "exported image" if shown_in_browser(extension) else None)


@operation(KIND, "identify")
async def identify(call: Call[ImageService]) -> web.Response:
    """``…/ImageServer/identify``: the pixel value(s) under a point."""
    service = call.service
    ctx = await service.context()
    plan = plan_identify(call.params, ctx)
    body = await _fetch(service, plan.fetch)
    values = await call.run_cpu(identify_values, ctx, plan, body)
    return respond(identify_result(plan, values), call.params, f"{service.settings.name}: identify")


@operation(KIND, "download")
async def download(call: Call[ImageService]) -> web.Response:
    """``…/ImageServer/download``: cut the chosen rasters (optionally clipped) into files to fetch."""
    service = call.service
    ctx = await service.context()
    plan = plan_download(call.params, ctx)
    files: list[dict[str, Any]] = []
    for raster in plan.rasters:
        desc = raster.coverage
        bbox, columns, rows = snap_to_grid(plan.clip_bbox, desc, desc.pixel_size)
        check_download(ctx, columns, rows)
        async with service.budget.hold(image_bytes(columns * rows, columns * rows, ctx.band_count, 0)):
            body = await _fetch(service, Fetch(raster, bbox, columns, rows, None))
            data, content_type, extension = await call.run_cpu(download_file, ctx, raster, plan, body)
        name = await call.outputs.put(data, content_type, extension)
        files.append({"id": name, "size": len(data), "rasterIds": [raster.id]})
    return respond({"rasterFiles": files}, call.params, f"{service.settings.name}: download")


@operation(KIND, "info/thumbnail")
async def thumbnail(call: Call[ImageService]) -> web.Response:
    """``…/ImageServer/info/thumbnail``: the whole coverage, drawn by the preview WMS layer when one is named."""
    service = call.service
    ctx = await service.context()
    x0, y0, x1, y1 = ctx.extent
    scale = THUMBNAIL / max(x1 - x0, y1 - y0)
    width, height = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
    if service.preview is not None and service.settings.preview_layer and ctx.sr.wkid is not None:
        sr = resolve_sr(ctx.sr.wkid, "spatialReference")
        query = MapQuery(layers=(service.settings.preview_layer,), bbox=ctx.extent, sr=sr,
                         crs_code=sr.ogc_code or f"EPSG:{ctx.sr.wkid}", width=width, height=height,
                         mime="image/png", transparent=True, dpi=96)
        body, _ = await service.preview.get_map(query)
        return web.Response(body=body, content_type="image/png")
    plan = plan_export_image(Params({"size": f"{width},{height}", "format": "png"}), ctx)
    data, content_type, _ = await call.run_cpu(export_image, ctx, plan, await _fetch(service, plan.fetch))
    return web.Response(body=data, content_type=content_type)


@operation(KIND, "file")
async def raster_file(call: Call[ImageService]) -> web.Response:
    """``…/ImageServer/file?id=…``: a file made by download."""
    file_id = call.params.get("id")
    if file_id is None:
        raise InvalidParameter("id", "the parameter is required")
    output = await call.outputs.get(file_id.rsplit("/", 1)[-1])
    if output is None:
        raise NotFound("The raster file does not exist or has expired.")
    return web.Response(body=output.body, content_type=output.content_type,
                        headers={"Content-Disposition": f"attachment; filename={file_id.rsplit('/', 1)[-1]}"})
