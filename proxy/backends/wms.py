"""A WMS backend: capabilities (cached, refreshed, fetched once at a time) and validated GetMap answers."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from functools import partial

from proxy.backends.http import BackendClient, Response
from proxy.backends.ogc import OgcBackend, check_answer
from proxy.backends.refresh import Refreshing
from proxy.cache import Cache, Entry, cache_key, normalise_url
from proxy.executor import RunCpu
from proxy.settings import BackendSettings
from translators.errors import ArcGISError, BackendError
from translators.ogc.getmap import MAX_GETMAP_URL, MapQuery, getmap_by_post, getmap_params, url_length
from translators.ogc.wfs import FeatureFields, FeatureType, describe_feature_type_params, feature_type
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
        self._fields: dict[str, Refreshing[FeatureFields]] = {}  # by WMS layer name, created on first use
        # The server's WFS: at the WMS URL, or at the URL the configuration gives it (backend.wfs).
        self.wfs_client = BackendClient(replace(settings, url=settings.wfs_url), cache.count_backend_request) \
            if settings.wfs_url else self.client
        self.wfs_identity = normalise_url(settings.wfs_url or settings.url)

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
        params = getmap_params(query, self.flavor.getmap_version(caps.version, query.sr, query.crs_code), self.flavor)
        # Too long for a URL: POSTed as a form where the backend takes one, else refused here as a 400.
        send = self.client.post_form if getmap_by_post(self.settings.url, params, self.flavor) else self.client.get

        async def produce() -> tuple[bytes, str]:
            # A refusal naming a field of the request's clauses is turned into a 400 by the export handler.
            return check_image(await send(params), query.mime), query.mime

        return await self.cached("map", params, produce)

    async def close(self) -> None:
        """Release the connection pools (the WFS's too when it lives elsewhere)."""
        await super().close()
        if self.wfs_client is not self.client:
            await self.wfs_client.close()

    async def layer_fields(self, names: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """The attribute fields of the named WMS layers that the server's WFS describes (DescribeFeatureType of the
        same name, fetched once per layer and refreshed like the capabilities).  A layer it does not describe, or a
        WFS that cannot be asked right now, is left out: its clauses are left to the backend to judge."""
        described = await self.feature_types(names)
        return {name: tuple(f.name for f in found.fields) for name, found in described.items()}

    async def feature_types(self, names: Iterable[str]) -> dict[str, FeatureType]:
        """The WFS descriptions (fields with types, geometry property) of the named WMS layers that the server's WFS
        describes; see :meth:`layer_fields`."""
        found: dict[str, FeatureType] = {}
        for name in sorted(set(names)):
            refreshing = self._fields.get(name)
            if refreshing is None:
                key = cache_key(self.namespace, "fields", self.identity, describe_feature_type_params(name))
                refreshing = self._fields[name] = Refreshing[FeatureFields](
                    partial(self._fetch_fields, name), self.settings.capabilities_ttl, self.cache, key,
                    f"{self.namespace} fields of {name}")
            try:
                described = (await refreshing.get()).described
            except ArcGISError as exc:  # not kept: asked again next time
                log.warning("%s: fields of layer %s unavailable: %s", self.namespace, name, exc.message)
                continue
            if described is not None:
                found[name] = described
        return found

    async def _fetch_fields(self, name: str) -> FeatureFields:
        response = await self.wfs_client.get(describe_feature_type_params(name))
        if response.status != 200 or exception_messages(response.body) is not None:
            # No WFS, or the layer is not published in it: a definitive answer, kept like a described layer.
            return FeatureFields(None)
        try:
            described: FeatureType | None = await self._run_cpu(feature_type, response.body, name)
        except BackendError:  # not a schema (an HTML page from a plain WMS): nothing is known
            described = None
        return FeatureFields(None if described is None else tuple(f.name for f in described.fields), described)

    async def get_features(self, params: dict[str, str]) -> tuple[bytes, str]:
        """One WFS GetFeature (or hits count) through the cache, keyed by the request: its body and cache status.
        An exception report is a :class:`~translators.errors.BackendRefusal` (502 with the server's message)."""
        by_post = url_length(self.settings.wfs_url or self.settings.url, params) > MAX_GETMAP_URL
        send = self.wfs_client.post_form if by_post else self.wfs_client.get

        async def produce() -> tuple[bytes, str]:
            response = await send(params)
            check_answer(response, "WFS GetFeature")
            return response.body, response.content_type or "application/octet-stream"

        key = cache_key(self.namespace, "wfs", self.wfs_identity, params)
        entry, status = await self.cache.fetch(key, self.namespace, self.ttl, produce)
        return entry.body, status
