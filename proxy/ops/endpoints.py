"""``/arcbridge/health``, ``/arcbridge/ready`` and ``/arcbridge/metrics``, and the cache-to-metrics copy loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from proxy.backends.http import backend_label
from proxy.cache import Cache
from proxy.ops import health, metrics
from proxy.services import Registry

NO_STORE = {"Cache-Control": "no-store"}
PROBE_TIMEOUT = 5.0  # seconds a readiness probe of a never-contacted backend may take
SYNC_INTERVAL = 1.0


def _backends(registry: Registry) -> dict[str, list[str]]:
    """Each backend URL (as labelled) → the services that use it."""
    found: dict[str, list[str]] = {}
    for service in registry.settings.services.values():
        urls = [service.backend.url, service.backend.wfs_url]
        if service.tiles is not None and service.tiles.wmts is not None:
            urls.append(service.tiles.wmts.url)
        for url in urls:
            if url:
                found.setdefault(backend_label(url), []).append(service.name)
    return found


async def _probe(registry: Registry, services: list[str]) -> str | None:
    """Contact a backend never contacted yet through its first service's context (capabilities or description);
    the error it met, or None."""
    settings = registry.settings.services[services[0].lower()]
    try:
        await asyncio.wait_for(registry.service(settings.type, settings.name).context(), PROBE_TIMEOUT)
    except TimeoutError:
        return f"no answer within {PROBE_TIMEOUT:g} s"
    except Exception as exc:
        return getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    return None


async def readiness(registry: Registry, cache: Cache) -> tuple[bool, dict[str, Any]]:
    """Whether every backend answered its last contact, and the document ``/arcbridge/ready`` answers."""
    backends = _backends(registry)
    known = health.contacts()  # every worker's: the newest contact of each backend
    unknown = [url for url in backends if url not in known]
    probed = dict(zip(unknown, await asyncio.gather(*(_probe(registry, backends[url]) for url in unknown)),
                      strict=True))
    known = health.contacts() if unknown else known
    listed: list[dict[str, Any]] = []
    for url, services in backends.items():
        contact = known.get(url)
        if contact is None:  # answered from the caches without a contact, or the probe failed before sending
            error = probed.get(url)
            entry = {"url": url, "services": services, "ok": error is None, "lastContact": None, "status": None,
                     "error": error, "contactBy": None}
        else:
            entry = {"url": url, "services": services, "ok": contact.ok, "lastContact": round(contact.at, 3),
                     "status": contact.status, "error": contact.error, "contactBy": contact.pid}
        listed.append(entry)
    failing = [entry["url"] for entry in listed if not entry["ok"]]
    shared = cache.snapshot()["shared"]
    document = {"status": "ready" if not failing else "not ready", "configuration": "loaded", "pid": os.getpid(),
                "services": len(registry.settings.services), "failing": failing, "backends": listed,
                "sharedCache": None if shared is None else {
                    k: shared[k] for k in ("url", "state", "skipped", "opened", "lastError", "openUntil")}}
    return not failing, document


def install(app: web.Application, registry: Registry, cache: Cache) -> None:
    """Add the operating endpoints to ``app`` and the loop copying the cache statistics into the metrics."""
    metrics.configure([s.name for s in registry.settings.services.values()])

    def sync() -> None:
        health.share()  # this worker's newer backend contacts, for the others' /arcbridge/ready
        snapshot = cache.snapshot()
        shared = snapshot["shared"]
        metrics.sync_cache(cache.stats, snapshot["memory"]["bytes"], snapshot["memory"]["entries"],
                           shared["state"] if shared else None)

    async def health_endpoint(request: web.Request) -> web.Response:
        """``/arcbridge/health``: 200 while the process serves."""
        return web.json_response({"status": "ok", "time": round(time.time(), 3)}, headers=NO_STORE)

    async def ready_endpoint(request: web.Request) -> web.Response:
        """``/arcbridge/ready``: 200 when every backend answered its last contact, else 503 naming the others."""
        ok, document = await readiness(registry, cache)
        return web.json_response(document, status=200 if ok else 503, headers=NO_STORE)

    async def metrics_endpoint(request: web.Request) -> web.Response:
        """``/arcbridge/metrics``: the Prometheus text exposition."""
        return web.Response(body=metrics.exposition(sync), headers={**NO_STORE, "Content-Type": metrics.CONTENT_TYPE})

    async def sync_loop(app: web.Application) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                sync()
                await asyncio.sleep(SYNC_INTERVAL)

        task = asyncio.create_task(loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sync()

    app.router.add_route("GET", "/arcbridge/health", health_endpoint)
    app.router.add_route("GET", "/arcbridge/ready", ready_endpoint)
    app.router.add_route("GET", "/arcbridge/metrics", metrics_endpoint)
    app.cleanup_ctx.append(sync_loop)
