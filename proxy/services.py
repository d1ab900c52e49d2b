"""Published services at run time: their backend, and the service context derived from its capabilities."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from proxy.backends.wcs import WcsBackend
from proxy.backends.wms import WmsBackend
from proxy.budget import MemoryBudget
from proxy.cache import Cache
from proxy.executor import RunCpu
from proxy.settings import ServiceSettings, Settings
from proxy.tiles.source import TileSource
from translators.arcgis.image import CatalogRaster, Fetch, ImageContext
from translators.arcgis.map_context import ServiceContext, build_context
from translators.errors import NotFound
from translators.limits import DEFAULT_LIMITS, Limits
from translators.ogc.wcs import CoverageDescription, getcoverage_params, snap_to_grid
from translators.ogc.wms import WmsCapabilities
from translators.raster.io import band_statistics, file_nodata, read_geotiff
from translators.timeutil import parse_iso


def service_ttl(settings: ServiceSettings, cache: Cache) -> float:
    """How long this service's answers are cached (0: not cached)."""
    return settings.cache_ttl if settings.cache_ttl is not None else cache.settings.ttl


class MapService:
    """A MapServer service backed by a WMS."""

    def __init__(self, settings: ServiceSettings, run_cpu: RunCpu, cache: Cache,
                 limits: Limits = DEFAULT_LIMITS) -> None:
        self.settings = settings
        self.cache = cache
        self.limits = limits
        # Shared by every service of the process (the registry sets its own); one of its own otherwise.
        self.budget = MemoryBudget(limits.max_memory)
        self.ttl = service_ttl(settings, cache)
        self.backend = WmsBackend(settings.backend, run_cpu, cache, settings.name.lower(), self.ttl)
        self._run_cpu = run_cpu
        self._context: ServiceContext | None = None
        self._context_caps: WmsCapabilities | None = None
        # A tiled service (``tiles:``) answers /tile from its tiers and store, drawing metatiles on a miss.
        self.tiles = TileSource(settings.name, settings.tiles, self.backend, cache, self.ttl, run_cpu) \
            if settings.tiles else None

    async def context(self) -> ServiceContext:
        """The service context, rebuilt whenever the capabilities are refreshed."""
        caps = await self.backend.capabilities()
        if self._context is None or self._context_caps is not caps:
            built = await self._run_cpu(build_context, self.settings, caps, self.backend.flavor)
            self._context = replace(built, limits=self.limits)
            self._context_caps = caps
        return self._context

    async def close(self) -> None:
        """Release the backend's connections (and the tile store)."""
        await self.backend.close()
        if self.tiles is not None:
            await self.tiles.close()


class ImageService:
    """An ImageServer service backed by a WCS (one coverage, or one coverage per date)."""

    def __init__(self, settings: ServiceSettings, run_cpu: RunCpu, cache: Cache,
                 limits: Limits = DEFAULT_LIMITS) -> None:
        self.settings = settings
        self.cache = cache
        self.limits = limits
        # Shared by every service of the process (the registry sets its own); one of its own otherwise.
        self.budget = MemoryBudget(limits.max_memory)
        self.ttl = service_ttl(settings, cache)
        namespace = settings.name.lower()
        self.backend = WcsBackend(settings.backend, run_cpu, cache, namespace, self.ttl, self.coverage_ids(),
                                  settings.wcs_version, settings.coverage_format)
        # The WMS of the same server draws rendered previews when a layer is named for them.
        self.preview = WmsBackend(settings.backend, run_cpu, cache, namespace, self.ttl) \
            if settings.preview_layer else None
        self._run_cpu = run_cpu
        self._context: ImageContext | None = None
        self._descriptions: dict[str, CoverageDescription] | None = None
        self._lock = asyncio.Lock()

    def coverage_ids(self) -> list[str]:
        """The configured coverages, in raster-id order."""
        if self.settings.coverages:
            return [coverage for _, coverage in self.settings.coverages]
        assert self.settings.coverage is not None
        return [self.settings.coverage]

    async def context(self) -> ImageContext:
        """The service context; statistics are computed once per description and cached."""
        descriptions = await self.backend.describe()
        # A refresh that describes the same coverages keeps the context: statistics are computed once.
        if self._context is not None and descriptions == self._descriptions:
            return self._context
        async with self._lock:
            if self._context is not None and descriptions == self._descriptions:
                return self._context
            rasters = self._rasters(descriptions)
            first = rasters[0]
            desc = first.coverage
            fetch = Fetch(first, *snap_to_grid(desc.extent, desc, _stats_cell(desc)), None)
            body = await self.backend.get_coverage(getcoverage_params(
                desc, fetch.bbox, fetch.width, fetch.height, None, first.time if first.wcs_time else None))
            raster = await self._run_cpu(read_geotiff, body, desc.sr, desc.nodata)
            stats = await self._run_cpu(band_statistics, raster)
            nodata = desc.nodata
            if not nodata:
                declared = await self._run_cpu(file_nodata, body)
                nodata = (declared,) if declared is not None else ()
            settings = self.settings
            self._context = ImageContext(
                name=settings.short_name, sr=desc.sr, rasters=rasters, pixel_type=raster.pixel_type,
                band_count=raster.band_count,
                band_names=desc.band_names if len(desc.band_names) == raster.band_count else
                tuple(f"Band_{i + 1}" for i in range(raster.band_count)),
                stats=tuple(stats), nodata=nodata, max_width=settings.max_image_width,
                max_height=settings.max_image_height, subset_bands=self.backend.flavor.wcs_band_subsetting,
                limits=self.limits,
            )
            self._descriptions = descriptions
            return self._context

    def _rasters(self, descriptions: dict[str, CoverageDescription]) -> tuple[CatalogRaster, ...]:
        if self.settings.coverages:
            return tuple(CatalogRaster(i + 1, descriptions[coverage], parse_iso(date), False)
                         for i, (date, coverage) in enumerate(self.settings.coverages))
        desc = descriptions[self.coverage_ids()[0]]
        if desc.time_positions:
            return tuple(CatalogRaster(i + 1, desc, moment, True) for i, moment in enumerate(desc.time_positions))
        return (CatalogRaster(1, desc, None, False),)

    async def close(self) -> None:
        """Release the backend's connections."""
        await self.backend.close()
        if self.preview is not None:
            await self.preview.close()


def _stats_cell(desc: CoverageDescription) -> tuple[float, float]:
    # Statistics from at most ~1024x1024 cells: exact for small coverages, a fair sample for large ones.
    factor = max(1.0, max(desc.columns, desc.rows) / 1024)
    return desc.pixel_size[0] * factor, desc.pixel_size[1] * factor


Service = MapService | ImageService
# The service types by their name in URLs and the configuration (``type``); a new type is one more row.
SERVICE_TYPES: dict[str, type[MapService] | type[ImageService]] = {"MapServer": MapService, "ImageServer": ImageService}


class Registry:
    """Every configured service by type, folder and name."""

    def __init__(self, settings: Settings, run_cpu: RunCpu, cache: Cache) -> None:
        self.settings = settings
        self.cache = cache
        self._services: dict[str, dict[str, Service]] = {kind.lower(): {} for kind in SERVICE_TYPES}
        self.budget = MemoryBudget(settings.limits.max_memory)  # image work of all services together
        for key, service in settings.services.items():
            created = SERVICE_TYPES[service.type](service, run_cpu, cache, service.limits or settings.limits)
            created.budget = self.budget
            self._services[service.type.lower()][key] = created

    def folders(self) -> list[str]:
        """Folder names in configuration order, without duplicates."""
        return list(dict.fromkeys(s.folder for s in self.settings.services.values() if s.folder))

    def services_in(self, folder: str | None) -> list[ServiceSettings]:
        """The services directly in a folder (None: the root)."""
        wanted = folder.lower() if folder else None
        return [s for s in self.settings.services.values() if (s.folder.lower() if s.folder else None) == wanted]

    def service(self, kind: str, name: str) -> Service:
        """Find a service of a type (``MapServer``, ``ImageServer``, any case) by its full name (any case)."""
        service = self._services.get(kind.lower(), {}).get(name.lower())
        if service is None:
            type_name = next((t for t in SERVICE_TYPES if t.lower() == kind.lower()), kind)
            raise NotFound(f"Service '{name}' of type {type_name} not found.")
        return service

    async def close(self) -> None:
        """Close every backend."""
        for services in self._services.values():
            for service in services.values():
                await service.close()
