"""ImageServer resources: the root, keyProperties, statistics, exportImage, identify, download and its files."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from aiohttp import web

from proxy.answers import cached_image
from proxy.cache import cache_key
from proxy.outputs import OutputStore
from proxy.respond import json_response, respond
from proxy.services import ImageService
from translators.arcgis.export import kmz_params
from translators.arcgis.image import Fetch, answer_key_params, plan_download, plan_export_image, plan_identify
from translators.arcgis.image_render import download_file, export_image, identify_values
from translators.arcgis.imageservice import export_image_result, key_properties, service_info, statistics
from translators.crs import resolve_sr
from translators.errors import InvalidParameter, NotFound
from translators.imaging import make_kmz
from translators.ogc.getmap import MapQuery
from translators.ogc.wcs import getcoverage_params, snap_to_grid
from translators.params import Params

EXPORT_FORMATS = ("html", "json", "pjson", "image", "kmz")
THUMBNAIL = 200


async def _fetch(service: ImageService, fetch: Fetch | None) -> bytes | None:
    if fetch is None:
        return None
    raster = fetch.raster
    params = getcoverage_params(raster.coverage, fetch.bbox, fetch.width, fetch.height, fetch.bands,
                                raster.time if raster.wcs_time else None,
                                subset_bands=service.backend.settings.flavor == "mapserver")
    return await service.backend.get_coverage(params)


async def root(service: ImageService, params: Params) -> web.Response:
    """``…/ImageServer``."""
    ctx = await service.context()
    settings = service.settings
    data = service_info(ctx, settings.description, settings.copyright_text, settings.service_data_type)
    return respond(data, params, f"{settings.name} (ImageServer)")


async def key_props(service: ImageService, params: Params) -> web.Response:
    """``…/ImageServer/keyProperties``."""
    ctx = await service.context()
    return respond(key_properties(ctx, service.settings.service_data_type), params,
                   f"{service.settings.name} keyProperties", default="json")


async def stats(service: ImageService, params: Params) -> web.Response:
    """``…/ImageServer/statistics``."""
    ctx = await service.context()
    return respond(statistics(ctx), params, f"{service.settings.name} statistics", default="json")


async def export_image_op(service: ImageService, params: Params, outputs: OutputStore,
                          run_cpu: Callable[..., Any], base_url: str, url: str | None) -> web.Response:
    """``…/ImageServer/exportImage``."""
    fmt = (params.get("f") or "html").lower()
    if fmt not in EXPORT_FORMATS:
        raise InvalidParameter("f", f"'{fmt}' is not one of {', '.join(EXPORT_FORMATS)}")
    ctx = await service.context()
    if fmt == "image":
        image_plan = plan_export_image(params, ctx)

        async def produce() -> tuple[bytes, str]:
            body = await _fetch(service, image_plan.fetch)
            data, content_type, _ = await run_cpu(export_image, ctx, image_plan, body)
            return data, content_type

        # Keyed by what the answer is made of, so every spelling of the same image shares the entry.
        key = cache_key(service.settings.name.lower(), "answer-exportImage", service.backend.identity,
                        answer_key_params(image_plan))
        return await cached_image(service.cache, service.fast, url, service.settings, service.ttl, key, produce)
    plan = plan_export_image(kmz_params(params) if fmt == "kmz" else params, ctx)
    body = await _fetch(service, plan.fetch)
    data, content_type, extension = await run_cpu(export_image, ctx, plan, body)
    if fmt == "kmz":
        x0, y0, x1, y1 = plan.extent
        kmz = await run_cpu(make_kmz, data, extension, y1, y0, x1, x0, service.settings.short_name)
        return web.Response(body=kmz, content_type="application/vnd.google-earth.kmz",
                            headers={"Content-Disposition": "attachment; filename=exportImage.kmz"})
    name = await outputs.put(data, content_type, extension)
    href = f"{base_url}/arcgis/rest/directories/arcgisoutput/{name}"
    result = export_image_result(plan, href)
    if fmt in ("json", "pjson"):
        return json_response(result, params, pretty=fmt == "pjson")
    extra = ""
    if extension in ("png", "jpg", "gif", "bmp"):
        extra = f"<p><img src='{html.escape(href)}' alt='exported image' style='border:1px solid #ccc'></p>"
    return respond(result, params, f"{service.settings.name}: exportImage", extra_html=extra)


async def identify(service: ImageService, params: Params, run_cpu: Callable[..., Any]) -> web.Response:
    """``…/ImageServer/identify``: the pixel value(s) under a point."""
    ctx = await service.context()
    plan = plan_identify(params, ctx)
    body = await _fetch(service, plan.fetch)
    values = await run_cpu(identify_values, ctx, plan, body)
    if values is None:
        value = "NoData"
    else:
        value = " ".join(str(int(v)) if float(v).is_integer() else f"{v:.10g}" for v in values)
    raster = plan.fetch.raster if plan.fetch is not None else None
    data = {
        "objectId": raster.id if raster is not None else 0,
        "name": "Pixel",
        "value": value,
        "location": {"x": plan.location[0], "y": plan.location[1],
                     "spatialReference": plan.location_sr.to_json()},
        "properties": {"Values": [value]} if raster is not None else None,
        "catalogItems": None,
        "catalogItemVisibilities": [],
    }
    return respond(data, params, f"{service.settings.name}: identify")


async def download(service: ImageService, params: Params, outputs: OutputStore, run_cpu: Callable[..., Any],
                   base_url: str) -> web.Response:
    """``…/ImageServer/download``: cut the chosen rasters (optionally clipped) into files to fetch."""
    ctx = await service.context()
    plan = plan_download(params, ctx)
    files: list[dict[str, Any]] = []
    for raster in plan.rasters:
        desc = raster.coverage
        bbox, columns, rows = snap_to_grid(plan.clip_bbox, desc, desc.pixel_size)
        if columns * rows > 8192 * 8192:
            raise InvalidParameter("geometry", "the area is too large to download at full resolution")
        body = await _fetch(service, Fetch(raster, bbox, columns, rows, None))
        data, content_type, extension = await run_cpu(download_file, ctx, raster, plan, body)
        name = await outputs.put(data, content_type, extension)
        files.append({"id": name, "size": len(data), "rasterIds": [raster.id]})
    result = {"rasterFiles": files}
    return respond(result, params, f"{service.settings.name}: download")


async def thumbnail(service: ImageService, run_cpu: Callable[..., Any]) -> web.Response:
    """``…/ImageServer/info/thumbnail``: the whole coverage, drawn by the preview WMS layer when one is named."""
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
    data, content_type, _ = await run_cpu(export_image, ctx, plan, await _fetch(service, plan.fetch))
    return web.Response(body=data, content_type=content_type)


async def raster_file(params: Params, outputs: OutputStore) -> web.Response:
    """``…/ImageServer/file?id=…``: a file made by download."""
    file_id = params.get("id")
    if file_id is None:
        raise InvalidParameter("id", "the parameter is required")
    output = await outputs.get(file_id.rsplit("/", 1)[-1])
    if output is None:
        raise NotFound("The raster file does not exist or has expired.")
    return web.Response(body=output.body, content_type=output.content_type,
                        headers={"Content-Disposition": f"attachment; filename={file_id.rsplit('/', 1)[-1]}"})

