"""A WCS backend: negotiated version, cached coverage descriptions, validated GetCoverage answers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from proxy.backends.http import Response
from proxy.backends.ogc import OgcBackend, check_answer
from proxy.backends.refresh import Refreshing
from proxy.cache import Cache, cache_key
from proxy.executor import RunCpu
from proxy.settings import BackendSettings
from translators.errors import BackendError, BackendRefusal, NotFound
from translators.ogc.wcs import (
    BBox,
    CoverageDescription,
    getcoverage_params,
    merge,
    parse_description_100,
    parse_description_201,
)

log = logging.getLogger(__name__)
# DescribeCoverage by version, tried in this order: the parameter naming the coverage and the parser of the answer.
_DESCRIBE: dict[str, tuple[str, Callable[[bytes, str], CoverageDescription]]] = {
    "2.0.1": ("COVERAGEID", parse_description_201),
    "1.0.0": ("COVERAGE", parse_description_100),
}
TIFF_TYPES = ("image/tiff", "image/geotiff", "image/tif", "application/octet-stream")


def check_coverage(response: Response) -> bytes:
    """The GeoTIFF body of a GetCoverage; exception reports and other bodies are a 502."""
    check_answer(response, "coverage")
    got = response.content_type.split(";")[0].strip().lower()
    if got not in TIFF_TYPES or not response.body.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        raise BackendError(f"The backend answered '{got or 'no content type'}' instead of a GeoTIFF.")
    return response.body


class WcsBackend(OgcBackend):
    """One WCS endpoint as used by image services."""

    def __init__(self, settings: BackendSettings, run_cpu: RunCpu, cache: Cache, namespace: str,
                 ttl: float, coverages: Sequence[str], version: str = "auto", fmt: str | None = None) -> None:
        super().__init__(settings, run_cpu, cache, namespace, ttl)
        self.version = version
        self.format = fmt
        self.coverages = tuple(coverages)
        # Coverages whose band subsets this backend refused: fetched whole and selected locally from then on.
        self.whole_only: set[str] = set()
        self._described = Refreshing[dict[str, CoverageDescription]](
            self._describe_all, settings.capabilities_ttl, cache,
            cache_key(namespace, "describe", self.identity, [("COVERAGE", c) for c in self.coverages]
                      + [("VERSION", version), ("FORMAT", fmt or "")]), f"{namespace} coverage descriptions")

    async def describe(self) -> dict[str, CoverageDescription]:
        """Descriptions of the coverages: refreshed in the background, served stale while the backend is down."""
        return await self._described.get()

    async def _describe_all(self) -> dict[str, CoverageDescription]:
        return {c: await self._describe_one(c) for c in self.coverages}

    async def _describe_one(self, coverage: str) -> CoverageDescription:
        found: dict[str, CoverageDescription] = {}
        errors: list[str] = []
        missing = False
        for version, (id_name, parse) in _DESCRIBE.items():
            if self.version not in ("auto", version):
                continue
            try:
                response = await self.client.get({"SERVICE": "WCS", "VERSION": version,
                                                   "REQUEST": "DescribeCoverage", id_name: coverage})
                found[version] = await self._run_cpu(parse, response.body, coverage)
            except (BackendError, NotFound) as exc:
                errors.append(f"{version}: {exc.message} {' '.join(exc.details)}")
                if version == "1.0.0":  # a 2.0.1 refusal alone may be about the version, not the coverage
                    missing = isinstance(exc, NotFound)
        v201, v100 = found.get("2.0.1"), found.get("1.0.0")
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

        entry, _, _ = await self.cached("coverage", params, produce)
        return entry.body

    async def coverage(self, desc: CoverageDescription, bbox: BBox, width: int, height: int,
                       bands: Sequence[int] | None = None, time: datetime | None = None) -> bytes:
        """GetCoverage of ``bands`` (0-based; None: all) where the flavour subsets ranges, else of every band.

        A band subset the backend refuses (an OGC exception report) is asked again without it, and the coverage is
        remembered so that later requests fetch it whole at once; the caller selects bands locally whenever the
        answer has every band.  Nothing is remembered when the whole coverage fails too: the subset was not the cause.
        """
        subset = bands is not None and self.flavor.wcs_band_subsetting and desc.id not in self.whole_only
        whole = getcoverage_params(desc, bbox, width, height, None, time)
        if not subset:
            return await self.get_coverage(whole)
        try:
            return await self.get_coverage(getcoverage_params(desc, bbox, width, height, bands, time,
                                                              range_indices=self.flavor.wcs_range_indices))
        except BackendRefusal as refusal:
            body = await self.get_coverage(whole)
            self.whole_only.add(desc.id)
            log.warning("%s: coverage '%s' refused a band subset (%s); its bands are selected locally from now on",
                        self.namespace, desc.id, " ".join(refusal.details) or refusal.message)
            return body
