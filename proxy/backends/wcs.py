"""A WCS backend: negotiated version, cached coverage descriptions, validated GetCoverage answers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from proxy.backends.http import BackendClient, Response
from proxy.settings import BackendSettings
from translators.errors import ArcGISError, BackendError, NotFound
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

    def __init__(self, settings: BackendSettings, run_cpu: Callable[..., Any], version: str = "auto",
                 fmt: str | None = None) -> None:
        self.settings = settings
        self.client = BackendClient(settings)
        self.version = version
        self.format = fmt
        self._run_cpu = run_cpu
        self._described: dict[tuple[str, ...], tuple[float, dict[str, CoverageDescription]]] = {}
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        """Release the connection pool."""
        await self.client.close()

    async def describe(self, coverages: Sequence[str]) -> dict[str, CoverageDescription]:
        """Descriptions of ``coverages``, refreshed after the capabilities TTL (one fetch at a time)."""
        key = tuple(coverages)
        cached = self._described.get(key)
        if cached and time.monotonic() - cached[0] < self.settings.capabilities_ttl:
            return cached[1]
        async with self._lock:
            cached = self._described.get(key)
            if cached and time.monotonic() - cached[0] < self.settings.capabilities_ttl:
                return cached[1]
            try:
                result = {c: await self._describe_one(c) for c in coverages}
            except ArcGISError:
                if cached is None:
                    raise
                log.warning("coverage description refresh failed for %s; keeping the cached one", self.settings.url)
                result = cached[1]
            self._described[key] = (time.monotonic(), result)
            return result

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
        """Fetch one GetCoverage and return its GeoTIFF bytes."""
        return check_coverage(await self.client.get(params))
