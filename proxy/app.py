"""The aiohttp application: one dispatcher for the ArcGIS REST tree, error/CORS middleware, lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from aiohttp.http import HttpProcessingError
from multidict import MultiDictProxy

from proxy import directory, heap, protocol, routes, viewer
from proxy.cache import Cache, etag_of, stale_sources
from proxy.cache.fast import RawHeaders, answer_hits_first
from proxy.executor import CpuPool
from proxy.handlers import (  # noqa: F401  (they register their operations)
    catalog,
    features,
    identify,
    imageserver,
    legend,
    mapserver,
    soap,
    tiles,
)
from proxy.logs import REQUEST_ID_HEADER, request_id_middleware, request_id_of
from proxy.ops import endpoints as ops_endpoints
from proxy.ops.metrics import observe
from proxy.outputs import OutputStore
from proxy.respond import callback_name, error_for_status, error_response, fault_response
from proxy.services import MapService, Registry, Service
from proxy.settings import Settings
from proxy.tiles.admin import purge_tiles
from proxy.tiles.seed import parse_levels
from translators.errors import (
    ArcGISError,
    Forbidden,
    HeadersTooLarge,
    InvalidParameter,
    NotFound,
    UriTooLong,
)
from translators.params import Params

log = logging.getLogger("arcbridge")

SETTINGS = web.AppKey("settings", Settings)
REGISTRY = web.AppKey("registry", Registry)
OUTPUTS = web.AppKey("outputs", OutputStore)
CPU = web.AppKey("cpu", CpuPool)
CACHE = web.AppKey("cache", Cache)
PARAMS = web.RequestKey("params", Params)

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Expose-Headers": "Content-Type, Content-Length, Content-Disposition",
    "Access-Control-Max-Age": "86400",
}
MAX_FORM_BYTES = 8 * 1024 * 1024
MAX_URL_BYTES = 32 * 1024
MAX_HEADER_BYTES = 16 * 1024
MAX_HEADERS = 128
# aiohttp refuses longer request lines and header fields itself, in its protocol layer, with a text/plain 400 that no
# middleware sees: its limits are raised far above the gateway's own, which the middleware enforces as ArcGIS JSON.
PARSER_LIMITS = {"max_line_size": MAX_FORM_BYTES, "max_field_size": 1024 * 1024, "max_headers": 8 * MAX_HEADERS}
AUTO_ETAG_MAX_BYTES = 1024 * 1024


async def read_params(request: web.Request) -> Params:
    """GET query and POST form (urlencoded or multipart) merged; the query wins on duplicates."""
    items: list[tuple[str, str]] = list(request.query.items())
    if request.method == "POST" and request.can_read_body:
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data", ""):
            form = await _read_form(request)
            items.extend((k, v) for k, v in form.items() if isinstance(v, str))
        else:
            raise InvalidParameter("body", f"unsupported content type '{request.content_type}'")
    return Params(items)


async def _read_form(request: web.Request) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    """The POST form; a body aiohttp cannot decode is the caller's mistake (400), not an unexpected failure."""
    try:
        return await request.post()
    except LookupError:  # a charset Python does not know, of the form or of one part
        raise InvalidParameter("body", "the form names an unknown charset") from None
    except UnicodeDecodeError:
        raise InvalidParameter("body", "the form is not valid text in its charset") from None
    except (ValueError, HttpProcessingError):  # no boundary; a part without a name, with bad headers; truncated; nested
        raise InvalidParameter("body", "the form body is malformed") from None
    except web.RequestPayloadError:  # e.g. a Content-Encoding: gzip body that is not gzip
        raise InvalidParameter("body", "the body cannot be decoded") from None


@web.middleware
async def arcgis_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                            ) -> web.StreamResponse:
    """Render every failure as ArcGIS error JSON and add CORS headers to every answer."""
    started = time.perf_counter()
    if (refused := _oversized(request)) is not None:
        response: web.StreamResponse = fault_response(refused) if soap.is_soap(request.path) else \
            error_response(refused, None)
    elif request.method == "OPTIONS":
        response = web.Response(status=204)
        requested = request.headers.get("Access-Control-Request-Headers")
        if requested:
            response.headers["Access-Control-Allow-Headers"] = requested
    elif soap.is_soap(request.path):
        response = await handler(request)  # its XML body and its faults are its own (proxy.handlers.soap)
    elif request.method == "GET" and (fast := request.app[CACHE].fast.lookup(request.raw_path)) is not None:
        response = conditional(request, fast)  # a repeated URL answered from memory: no parsing, no planning
    else:
        params: Params | None = None
        stale_token = stale_sources.set([])
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
            response = error_response(exc, params, request)
        except web.HTTPMove as exc:  # a redirect (e.g. / → /arcgis/rest/services) is an answer, not an error
            response = web.Response(status=exc.status, headers={"Location": str(exc.location)})
        except web.HTTPException as exc:
            response = error_response(_http_error(exc), params, request)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("unexpected failure for %s %s", request.method, request.path_qs[:300])
            response = error_response(ArcGISError(), params, request)
        finally:
            stale = stale_sources.get() or []
            stale_sources.reset(stale_token)
        if stale:
            response.headers["X-Arcbridge-Stale"] = ", ".join(stale)
            response.headers["Warning"] = '110 arcbridge "Response is Stale"'
        response = conditional(request, response)
    for name, value in CORS_HEADERS.items():
        response.headers.setdefault(name, value)
    observe(request.path, response.status, time.perf_counter() - started)  # Prometheus (proxy.ops.metrics)
    return response


def _oversized(request: web.Request) -> ArcGISError | None:
    """The refusal of a URL or header longer than the gateway reads (None: within its limits)."""
    if len(request.raw_path) > MAX_URL_BYTES:
        return UriTooLong(f"The request URL is longer than {MAX_URL_BYTES} bytes; send the parameters by POST.")
    if _headers_within_limits(request.raw_headers):
        return None
    if len(request.raw_headers) > MAX_HEADERS:
        return HeadersTooLarge(f"The request has more than {MAX_HEADERS} headers.")
    return HeadersTooLarge(f"A request header is longer than {MAX_HEADER_BYTES} bytes.")


def _headers_within_limits(raw_headers: RawHeaders) -> bool:
    """Whether the request's headers are within the gateway's limits (the only check a cache hit of a known URL
    needs: :func:`proxy.cache.fast.answer_hits_first`); a plain loop, as it runs for every hit."""
    if len(raw_headers) > MAX_HEADERS:
        return False
    for name, value in raw_headers:  # noqa: SIM110  (a loop: all() of a generator costs more per hit)
        if len(name) + len(value) > MAX_HEADER_BYTES:
            return False
    return True


def _http_error(exc: web.HTTPException) -> ArcGISError:
    """The ArcGIS error for what aiohttp refused before or outside a handler."""
    return error_for_status(exc.status, exc.reason)


def conditional(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Add an ETag to successful answers and turn a matching ``If-None-Match`` (or ``If-Modified-Since``) into a
    304; errors are never stored by caches."""
    if not isinstance(response, web.Response) or response.status != 200 or response.body is None:
        if response.status >= 400:
            response.headers["Cache-Control"] = "no-store"
        return response
    body = response.body
    if not isinstance(body, bytes):
        return response
    etag = response.headers.get("ETag")
    if etag is None:
        if len(body) > AUTO_ETAG_MAX_BYTES:
            return response  # hashing large one-off bodies would block the event loop for what no client reuses
        etag = etag_of(body)
    response.headers["ETag"] = etag
    response.headers.setdefault("Cache-Control", "no-cache")
    match = request.headers.get("If-None-Match")
    not_modified = False
    if match is not None:
        not_modified = match.strip() == "*" or etag in [m.strip() for m in match.split(",")]
    elif request.if_modified_since is not None and response.last_modified is not None:
        not_modified = response.last_modified <= request.if_modified_since
    if not not_modified:
        return response
    headers = {k: v for k, v in response.headers.items() if k in ("ETag", "Cache-Control", "Last-Modified",
                                                                     "X-Arcbridge-Cache", "X-Arcbridge-Stale")}
    return web.Response(status=304, headers=headers)


def base_url(request: web.Request) -> str:
    """The public base URL of the gateway, for hrefs."""
    configured = request.app[SETTINGS].public_url
    if configured:
        return configured.rstrip("/")
    proto = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
    return f"{proto}://{host}"


async def dispatch(request: web.Request) -> web.StreamResponse:
    """Route the ArcGIS REST tree; resource names match case-insensitively, trailing slashes are ignored.  The
    operations of each service type are found in the registry of :mod:`proxy.routes`."""
    params: Params = request[PARAMS]
    app = request.app
    registry = app[REGISTRY]
    segments = [s for s in request.match_info.get("tail", "").split("/") if s]
    lowered = [s.lower() for s in segments]
    if not segments:
        raise web.HTTPFound("/arcgis/rest/services")
    directory.enter(base_url(request), segments)  # where an f=html page is, for its breadcrumbs and links
    if lowered == ["info"]:
        return catalog.info(params, base_url(request))
    if lowered[0] == "directories" and len(segments) == 3 and lowered[1] == "arcgisoutput":
        output = await app[OUTPUTS].get(segments[2])
        if output is None:
            raise NotFound("The output file does not exist or has expired.")
        return web.Response(body=output.body, content_type=output.content_type)
    if lowered[0] != "services":
        raise NotFound()
    rest = segments[1:]
    service_kinds = routes.kinds()
    index = next((i for i, s in enumerate(rest) if s.lower() in service_kinds), None)
    if index is None:
        if len(rest) <= 1:
            return catalog.services(registry, rest[0] if rest else None, params)
        raise NotFound()
    kind = rest[index].lower()
    service = registry.service(kind, "/".join(rest[:index]))
    found = routes.find(kind, rest[index + 1:])
    if found is None:
        raise NotFound()
    located = directory.locate(base_url(request), segments, index + 1, rest[index + 1:], params, service)
    if located is not None:
        return located  # f=html without what the operation needs: its form, as ArcGIS Server's directory shows
    handler, captured = found
    return await handler(routes.Call(request, params, service, app[OUTPUTS], app[CPU].run, base_url(request),
                                     captured))


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    app[CPU].start()
    app[CACHE].acquire()  # a cache kept across a reload is closed by the last application using it
    yield
    await app[REGISTRY].close()
    await app[CACHE].release()
    app[CPU].shutdown()


async def stats(request: web.Request) -> web.Response:
    """``/arcbridge/stats``: cache statistics of this process."""
    data = {"pid": os.getpid(), "cache": request.app[CACHE].snapshot()}
    return web.json_response(data, headers={"Cache-Control": "no-store"})


async def purge(request: web.Request) -> web.Response:
    """``POST /arcbridge/admin/purge?service=NAME``: drop a service's cached entries (admin endpoint, off by
    default; guarded by ``admin.token`` when set)."""
    settings = request.app[SETTINGS].admin
    if not settings.enabled:
        raise NotFound()
    params: Params = request[PARAMS]
    if settings.token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip() or params.get("token")
        if not given or not secrets.compare_digest(given, settings.token):
            raise Forbidden()
    name = params.get("service")
    if name is None:
        raise InvalidParameter("service", "the parameter is required")
    registry = request.app[REGISTRY]
    if name.lower() not in registry.settings.services:
        raise NotFound(f"Service '{name}' not found.")
    if params.get("levels"):  # a tiled service's tiles by level (and extent): proxy.tiles.admin
        return await purge_levels(request, registry.service("MapServer", name), params)
    dropped = await request.app[CACHE].purge(name.lower())
    log.info("purged %d cached entries of %s", dropped, name)
    return web.json_response({"service": name, "dropped": dropped}, headers={"Cache-Control": "no-store"})


async def purge_levels(request: web.Request, service: Service, params: Params) -> web.Response:
    """``levels=a-b`` (and ``bbox``/``bboxSR``): drop tiles of a tiled service by level and extent."""
    source = service.tiles if isinstance(service, MapService) else None
    if source is None:
        raise InvalidParameter("levels", "the service is not tiled")
    dropped = await purge_tiles(source, request.app[CACHE], parse_levels(params.get("levels") or ""), params)
    log.info("purged %d stored tiles of %s", dropped, source.name)
    return web.json_response({"service": source.name, "dropped": dropped}, headers={"Cache-Control": "no-store"})


async def _stats_logger(app: web.Application) -> AsyncIterator[None]:
    interval = app[SETTINGS].cache.log_interval

    async def loop() -> None:
        last = None
        while True:
            await asyncio.sleep(interval)
            snapshot = app[CACHE].snapshot()
            summary = {k: snapshot[k] for k in ("hits", "misses", "coalesced", "stale", "evictions",
                                                "backendRequests")}
            if summary != last:
                log.info("cache %s, memory %d entries / %d bytes", summary, snapshot["memory"]["entries"],
                         snapshot["memory"]["bytes"])
                last = summary

    task = asyncio.create_task(loop()) if interval > 0 else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


TRIM_INTERVAL = 1.0


async def _heap_trimmer(app: web.Application) -> AsyncIterator[None]:
    """Every second after new answers were made (and older ones evicted), give the heap's free pages back to the
    system, in the executor: images freed by the executor threads otherwise stay inside glibc's heap."""

    async def loop() -> None:
        last = -1
        while True:
            await asyncio.sleep(TRIM_INTERVAL)
            made = app[CACHE].stats.misses
            if made != last:
                last = made
                await app[CPU].run(heap.trim)

    task = asyncio.create_task(loop()) if heap.available() else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _on_hit(request: web.Request, path: str, response: web.StreamResponse, seconds: float) -> None:
    """What the middlewares do for a hit the lean hit path answers before them: count it (under ``path``, the
    request's decoded path), echo its request id."""
    observe(path, response.status, seconds)
    response.headers[REQUEST_ID_HEADER] = request_id_of(request)


def create_app(settings: Settings, cache: Cache | None = None, outputs: OutputStore | None = None
               ) -> web.Application:
    """Build the gateway application for a validated configuration (with the cache and the store of ``f=json``
    outputs of the application it replaces, when a reload keeps them: :mod:`proxy.serving`)."""
    protocol.install()
    app = web.Application(middlewares=[request_id_middleware, arcgis_middleware], client_max_size=MAX_FORM_BYTES,
                          handler_args=PARSER_LIMITS)
    app[SETTINGS] = settings
    app[CACHE] = cache or Cache(settings.cache)
    app[OUTPUTS] = outputs or OutputStore(settings.output_ttl, settings.output_max_bytes, app[CACHE].shared)
    app[CPU] = CpuPool()
    app[REGISTRY] = Registry(settings, app[CPU].run, app[CACHE])
    app.cleanup_ctx.append(_lifecycle)
    app.cleanup_ctx.append(_stats_logger)
    app.cleanup_ctx.append(_heap_trimmer)
    ops_endpoints.install(app, app[REGISTRY], app[CACHE])  # /arcbridge/health, ready, metrics
    viewer.install(app, app[REGISTRY], base_url)  # /arcbridge/viewer/<service>/<Kind>, /arcbridge/static

    async def root_redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/arcgis/rest/services")

    app.router.add_route("*", "/", root_redirect)
    app.router.add_route("GET", "/arcbridge/stats", stats)
    app.router.add_route("POST", "/arcbridge/admin/purge", purge)
    app.router.add_route("*", "/arcgis/rest", dispatch)
    app.router.add_route("*", "/arcgis/rest/{tail:.*}", dispatch)
    soap_endpoint = soap.Endpoint(app[REGISTRY], app[OUTPUTS], app[CPU].run, base_url).handle
    app.router.add_route("*", soap.PREFIX, soap_endpoint)
    app.router.add_route("*", soap.PREFIX + "/{tail:.*}", soap_endpoint)
    # Cache hits of repeated URLs are answered before the router and the middleware (proxy.cache.fast): the lean hit
    # path of tiles and cached images; whatever else the middleware does must not be needed by a plain image hit.
    answer_hits_first(app, app[CACHE].fast, CORS_HEADERS, _headers_within_limits, _on_hit)
    return app
