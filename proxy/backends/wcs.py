"""A WCS backend: negotiated version, cached coverage descriptions, validated GetCoverage answers."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from proxy.backends.http import BackendClient, Response
from proxy.backends.refresh import Refreshing
from proxy.cache import Cache, cache_key, normalise_url
from proxy.executor import RunCpu
from proxy.settings import BackendSettings
from translators.errors import BackendError, NotFound
from translators.ogc.flavors import FLAVORS, Flavor
from translators.ogc.wcs import CoverageDescription, merge, parse_description_100, parse_description_201
from translators.ogc.xml import exception_messages

log = logging.getLogger(__name__)
TIFF_TYPES = ("image/tiff", "image/geotiff", "image/tif", "application/octet-stream")


def check_coverage(response: Response) -> bytes:
    """The GeoTIFF body of a GetCoverage; exception reports and other bodies are a 502."""
    messages = exception_messages(response.body)
    if messages is not None:
        raise BackendError("The backend returned an error for this coverage request.", messages)
    if response.status != 200:
        raise BackendError(f"The backend answered HTTP {response.status}.")
    got = response.content_type.split(";")[0].strip().lower()
    if got not in TIFF_TYPES or not response.body.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        raise BackendError(f"The backend answered '{got or 'no content type'}' instead of a GeoTIFF.")
    return response.body


class WcsBackend:
    """One WCS endpoint as used by image services."""

    def __init__(self, settings: BackendSettings, run_cpu: RunCpu, cache: Cache, namespace: str,
                 ttl: float, coverages: Sequence[str], version: str = "auto", fmt: str | None = None) -> None:
        self.settings = settings
        self.flavor: Flavor = FLAVORS[settings.flavor]
        self.client = BackendClient(settings, cache.count_backend_request)
        self.identity = normalise_url(settings.url)
        self.cache = cache
        self.namespace = namespace
        self.ttl = ttl
        self.version = version
        self.format = fmt
        self.coverages = tuple(coverages)
        self._run_cpu = run_cpu
        self._described = Refreshing[dict[str, CoverageDescription]](
            self._describe_all, settings.capabilities_ttl, cache,
            cache_key(namespace, "describe", self.identity, [("COVERAGE", c) for c in self.coverages]
                      + [("VERSION", version), ("FORMAT", fmt or "")]), f"{namespace} coverage descriptions")

    async def close(self) -> None:
        """Release the connection pool."""
        await self.client.close()

    async def describe(self) -> dict[str, CoverageDescription]:
        """Descriptions of the coverages: refreshed in the background, served stale while the backend is down."""
        return await self._described.get()

    async def _describe_all(self) -> dict[str, CoverageDescription]:
        return {c: await self._describe_one(c) for c in self.coverages}

    async def _describe_one(self, coverage: str) -> CoverageDescription:
        missing = False
        v100: CoverageDescription | None = None
        v201: CoverageDescription | None = None
        errors: list[str] = []
        if self.version in ("auto", "2.0.1"):
            try:
                response = await self.client.get({"SERVICE": "WCS", "VERSION": "2.0.1",
                                                   "REQUEST": "DescribeCoverage", "COVERAGEID": coverage})
                v201 = await self._run_cpu(parse_description_201, response.body, coverage)
            except (BackendError, NotFound) as exc:
                errors.append(f"2.0.1: {exc.message} {' '.join(exc.details)}")
        if self.version in ("auto", "1.0.0"):
            try:
                response = await self.client.get({"SERVICE": "WCS", "VERSION": "1.0.0",
                                                   "REQUEST": "DescribeCoverage", "COVERAGE": coverage})
                v100 = await self._run_cpu(parse_description_100, response.body, coverage)
            except (BackendError, NotFound) as exc:
                errors.append(f"1.0.0: {exc.message} {' '.join(exc.details)}")
                missing = isinstance(exc, NotFound)
        if v201 is None and v100 is None:
            if missing:
                raise NotFound(f"Coverage '{coverage}' is not offered by the backend.", errors)
            raise BackendError(f"The backend does not describe coverage '{coverage}'.", errors)
        desc = merge(v201, v100) if v201 is not None else v100
        assert desc is not None
        if self.format:
            desc = CoverageDescription(**{**desc.__dict__, "format": self.format})
        return desc

    async def get_coverage(self, params: Sequence[tuple[str, str]]) -> bytes:
        """One GetCoverage through the cache: its GeoTIFF bytes."""
        async def produce() -> tuple[bytes, str]:
            return check_coverage(await self.client.get(params)), "image/tiff"

        entry, _ = await self.cache.fetch(cache_key(self.namespace, "coverage", self.identity, params),
                                          self.namespace, self.ttl, produce)
        return entry.body
