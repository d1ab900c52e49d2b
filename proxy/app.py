"""The aiohttp application: one dispatcher for the ArcGIS REST tree, error/CORS middleware, lifecycle."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from aiohttp import web

from proxy.handlers import catalog, imageserver, mapserver
from proxy.outputs import OutputStore
from proxy.respond import callback_name, error_response
from proxy.services import ImageService, Registry
from proxy.settings import Settings
from translators.errors import ArcGISError, InvalidParameter, NotFound
from translators.params import Params

log = logging.getLogger("arcbridge")

SETTINGS = web.AppKey("settings", Settings)
REGISTRY = web.AppKey("registry", Registry)
OUTPUTS = web.AppKey("outputs", OutputStore)
EXECUTOR = web.AppKey("executor", ThreadPoolExecutor)
PARAMS = "arcbridge.params"

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Expose-Headers": "Content-Type, Content-Length, Content-Disposition",
    "Access-Control-Max-Age": "86400",
}
MAX_FORM_BYTES = 8 * 1024 * 1024


async def read_params(request: web.Request) -> Params:
    """GET query and POST form (urlencoded or multipart) merged; the query wins on duplicates."""
    items: list[tuple[str, str]] = list(request.query.items())
    if request.method == "POST" and request.can_read_body:
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data", ""):
            form = await request.post()
            items.extend((k, v) for k, v in form.items() if isinstance(v, str))
        else:
            raise InvalidParameter("body", f"unsupported content type '{request.content_type}'")
    return Params(items)


@web.middleware
async def arcgis_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                            ) -> web.StreamResponse:
    """Render every failure as ArcGIS error JSON and add CORS headers to every answer."""
    if request.method == "OPTIONS":
        response: web.StreamResponse = web.Response(status=204)
        requested = request.headers.get("Access-Control-Request-Headers")
        if requested:
            response.headers["Access-Control-Allow-Headers"] = requested
    else:
        params: Params | None = None
        try:
            params = await read_params(request)
            callback_name(params)  # an unusable JSONP callback is refused before any work
            request[PARAMS] = params
            response = await handler(request)
        except ArcGISError as exc:
            if exc.status >= 500:
                log.warning("%s %s -> %s %s %s", request.method, request.path_qs[:300], exc.status, exc.message,
                            exc.details)
            else:
                log.info("%s %s -> %s %s", request.method, request.path_qs[:300], exc.status, exc.message)
            if isinstance(exc, InvalidParameter) and exc.parameter == "callback":
                params = None
            response = error_response(exc, params)
        except web.HTTPException as exc:
            if exc.status == 404:
                response = error_response(NotFound(), params)
            elif exc.status == 413:
                response = error_response(InvalidParameter("body", "the request body is too large"), params)
            else:
                error = ArcGISError(exc.reason)
                error.code = error.status = exc.status
                response = error_response(error, params)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("unexpected failure for %s %s", request.method, request.path_qs[:300])
            response = error_response(ArcGISError(), params)
    for name, value in CORS_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def base_url(request: web.Request) -> str:
    """The public base URL of the gateway, for hrefs."""
    configured = request.app[SETTINGS].public_url
    if configured:
        return configured.rstrip("/")
    proto = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
    return f"{proto}://{host}"


async def dispatch(request: web.Request) -> web.StreamResponse:
    """Route the ArcGIS REST tree; resource names match case-insensitively, trailing slashes are ignored."""
    params: Params = request[PARAMS]
    app = request.app
    registry = app[REGISTRY]
    segments = [s for s in request.match_info.get("tail", "").split("/") if s]
    lowered = [s.lower() for s in segments]
    if not segments:
        raise web.HTTPFound("/arcgis/rest/services")
    if lowered == ["info"]:
        return catalog.info(params)
    if lowered[0] == "directories" and len(segments) == 3 and lowered[1] == "arcgisoutput":
        output = app[OUTPUTS].get(segments[2])
        if output is None:
            raise NotFound("The output file does not exist or has expired.")
        return web.Response(body=output.body, content_type=output.content_type)
    if lowered[0] != "services":
        raise NotFound()
    rest = segments[1:]
    kinds = [i for i, s in enumerate(rest) if s.lower() in ("mapserver", "imageserver")]
    if not kinds:
        if not rest:
            return catalog.services(registry, None, params)
        if len(rest) == 1:
            return catalog.services(registry, rest[0], params)
        raise NotFound()
    index = kinds[0]
    name = "/".join(rest[:index])
    kind = rest[index].lower()
    sub = [s.lower() for s in rest[index + 1:]]
    run_cpu = partial(_run_cpu, app)
    if kind == "imageserver":
        return await _image_server(request, registry.image_service(name), sub, params, run_cpu)
    service = registry.map_service(name)
    if not sub:
        return await mapserver.root(service, params)
    if sub == ["layers"]:
        return await mapserver.layers(service, params)
    if sub == ["export"]:
        return await mapserver.export(service, params, request, app[OUTPUTS], run_cpu, base_url(request))
    if len(sub) == 1:
        return await mapserver.layer(service, sub[0], params)
    raise NotFound()


async def _image_server(request: web.Request, service: ImageService, sub: list[str], params: Params,
                        run_cpu: Callable[..., Any]) -> web.StreamResponse:
    outputs = request.app[OUTPUTS]
    if not sub:
        return await imageserver.root(service, params)
    if sub == ["exportimage"]:
        return await imageserver.export_image_op(service, params, outputs, run_cpu, base_url(request))
    if sub == ["identify"]:
        return await imageserver.identify(service, params, run_cpu)
    if sub == ["download"]:
        return await imageserver.download(service, params, outputs, run_cpu, base_url(request))
    if sub == ["file"]:
        return imageserver.raster_file(params, outputs)
    if sub == ["keyproperties"]:
        return await imageserver.key_props(service, params)
    if sub == ["statistics"]:
        return await imageserver.stats(service, params)
    if sub == ["info", "thumbnail"]:
        return await imageserver.thumbnail(service, run_cpu)
    raise NotFound()


async def _run_cpu(app: web.Application, func: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(app[EXECUTOR], partial(func, *args))


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    executor = ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 2) + 2), thread_name_prefix="arcbridge")
    app[EXECUTOR] = executor
    yield
    await app[REGISTRY].close()
    executor.shutdown(wait=False, cancel_futures=True)


def create_app(settings: Settings) -> web.Application:
    """Build the gateway application for a validated configuration."""
    app = web.Application(middlewares=[arcgis_middleware], client_max_size=MAX_FORM_BYTES)
    app[SETTINGS] = settings
    app[OUTPUTS] = OutputStore(settings.output_ttl, settings.output_max_bytes)
    app[REGISTRY] = Registry(settings, partial(_run_cpu, app))
    app.cleanup_ctx.append(_lifecycle)

    async def root_redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/arcgis/rest/services")

    app.router.add_route("*", "/", root_redirect)
    app.router.add_route("*", "/arcgis/rest", dispatch)
    app.router.add_route("*", "/arcgis/rest/{tail:.*}", dispatch)
    return app
