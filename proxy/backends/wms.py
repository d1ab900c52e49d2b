"""A WMS backend: capabilities (cached, refreshed, fetched once at a time) and validated GetMap answers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from proxy.backends.http import BackendClient, Response
from proxy.settings import BackendSettings
from translators.errors import BackendError
from translators.ogc.flavors import FLAVORS, Flavor
from translators.ogc.getmap import MapQuery, getmap_params
from translators.ogc.wms import WmsCapabilities, parse_capabilities
from translators.ogc.xml import exception_messages

log = logging.getLogger(__name__)
T = TypeVar("T")


def check_image(response: Response, mime: str) -> bytes:
    """Return the body if it is the image asked for; an OGC exception or any other body is a 502."""
    messages = exception_messages(response.body)
    if messages is not None:
        raise BackendError("The backend returned an error for this map request.", messages)
    if response.status != 200:
        raise BackendError(f"The backend answered HTTP {response.status}.")
    got = response.content_type.split(";")[0].strip().lower()
    wanted = mime.split(";")[0].strip().lower()
    if got != wanted and not (wanted.startswith("image/svg") and got.startswith("image/svg")):
        raise BackendError(f"The backend answered '{got or 'no content type'}' instead of '{wanted}'.")
    if not response.body:
        raise BackendError("The backend answered an empty body.")
    return response.body


class WmsBackend:
    """One WMS endpoint as used by map services."""

    def __init__(self, settings: BackendSettings, run_cpu: Callable[..., Any]) -> None:
        self.settings = settings
        self.flavor: Flavor = FLAVORS[settings.flavor]
        self.client = BackendClient(settings)
        self._run_cpu = run_cpu
        self._caps: WmsCapabilities | None = None
        self._caps_time = 0.0
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        """Release the connection pool."""
        await self.client.close()

    async def capabilities(self) -> WmsCapabilities:
        """The parsed capabilities, fetched at most once at a time and refreshed after the configured TTL.

        A failed refresh keeps serving the last good document; with none, the error reaches the client.
        """
        fresh = self._caps is not None and time.monotonic() - self._caps_time < self.settings.capabilities_ttl
        if fresh and self._caps is not None:
            return self._caps
        async with self._lock:
            if self._caps is not None and time.monotonic() - self._caps_time < self.settings.capabilities_ttl:
                return self._caps
            try:
                self._caps = await self._fetch_capabilities()
                self._caps_time = time.monotonic()
            except BackendError:
                if self._caps is None:
                    raise
                log.warning("capabilities refresh failed for %s; serving the cached document", self.settings.url)
                self._caps_time = time.monotonic()
            return self._caps

    async def _fetch_capabilities(self) -> WmsCapabilities:
        version = self.settings.wms_version
        response = await self.client.get({"SERVICE": "WMS", "REQUEST": "GetCapabilities", "VERSION": version})
        messages = exception_messages(response.body)
        if messages is not None or response.status != 200:
            raise BackendError("The backend did not return WMS capabilities.",
                               messages or [f"HTTP {response.status}"])
        caps: WmsCapabilities = await self._run_cpu(parse_capabilities, response.body, version,
                                                    self.flavor.fix_group_extents)
        return caps

    async def get_map(self, query: MapQuery) -> bytes:
        """Fetch one GetMap and return its bytes, checked to be the format asked for."""
        caps = await self.capabilities()
        params = getmap_params(query, caps.version, self.flavor)
        response = await self.client.get(params)
        return check_image(response, query.mime)
