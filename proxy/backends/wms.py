"""A WMS backend: capabilities (cached, refreshed, fetched once at a time) and validated GetMap answers."""

from __future__ import annotations

import logging

from proxy.backends.http import Response
from proxy.backends.ogc import OgcBackend, check_answer
from proxy.backends.refresh import Refreshing
from proxy.cache import Cache, Entry, cache_key
from proxy.executor import RunCpu
from proxy.settings import BackendSettings
from translators.errors import BackendError, InvalidParameter
from translators.ogc.getmap import MapQuery, check_url_length, getmap_params
from translators.ogc.wms import WmsCapabilities, parse_capabilities
from translators.ogc.xml import exception_messages

log = logging.getLogger(__name__)


def check_image(response: Response, mime: str) -> bytes:
    """Return the body if it is the image asked for; an OGC exception or any other body is a 502."""
    check_answer(response, "map")
    got = response.content_type.split(";")[0].strip().lower()
    wanted = mime.split(";")[0].strip().lower()
    if got != wanted and not (wanted.startswith("image/svg") and got.startswith("image/svg")):
        raise BackendError(f"The backend answered '{got or 'no content type'}' instead of '{wanted}'.")
    if not response.body:
        raise BackendError("The backend answered an empty body.")
    return response.body


class WmsBackend(OgcBackend):
    """One WMS endpoint as used by map services."""

    def __init__(self, settings: BackendSettings, run_cpu: RunCpu, cache: Cache, namespace: str,
                 ttl: float) -> None:
        super().__init__(settings, run_cpu, cache, namespace, ttl)
        self._caps = Refreshing[WmsCapabilities](
            self._fetch_capabilities, settings.capabilities_ttl, cache,
            cache_key(namespace, "caps", self.identity, {"VERSION": settings.wms_version}), f"{namespace} capabilities")

    async def capabilities(self) -> WmsCapabilities:
        """The parsed capabilities: refreshed in the background after their TTL, served stale while the backend is
        down (also across restarts, from the shared tier)."""
        return await self._caps.get()

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

    async def get_map(self, query: MapQuery) -> tuple[bytes, str]:
        """One GetMap through the cache: its bytes, checked to be the format asked for, and the cache status."""
        entry, status, _ = await self.map_entry(query)
        return entry.body, status

    async def map_entry(self, query: MapQuery) -> tuple[Entry, str, str]:
        """One GetMap through the cache: the entry (keyed by the normalised GetMap), its status and its key."""
        caps = await self.capabilities()
        params = getmap_params(query, caps.version, self.flavor)
        check_url_length(self.settings.url, params)  # refused here as a 400 rather than by the backend as a 414

        async def produce() -> tuple[bytes, str]:
            response = await self.client.get(params)
            try:
                return check_image(response, query.mime), query.mime
            except BackendError as exc:
                refusal = self.flavor.filter_refusal
                if query.filters and refusal and any(refusal in message for message in exc.details):
                    # The backend names the caller's mistake (a field the layer does not have): a 400, not a 502.
                    raise InvalidParameter("layerDefs", "the backend cannot apply the definition expression",
                                           exc.details) from None
                raise

        return await self.cached("map", params, produce)
