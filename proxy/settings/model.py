"""The configuration's records: the settings of the server, of each service and of its backend, and the errors
that name the key at fault (``services.demo/World.backend.url``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from translators.arcgis.tiles import TileScheme
from translators.limits import Limits
from translators.ogc.flavors import DEFAULT_FLAVOR

SERVICE_TYPES = ("MapServer", "ImageServer")
CAPABILITIES_ORDERS = {"topFirst": True, "bottomFirst": False}  # backend.capabilitiesOrder: is the top layer first?
SERVICE_DATA_TYPES = ("esriImageServiceDataTypeGeneric", "esriImageServiceDataTypeElevation",
                      "esriImageServiceDataTypeThematic", "esriImageServiceDataTypeProcessed",
                      "esriImageServiceDataTypeScientific", "esriImageServiceDataTypeRGB")


class ConfigError(Exception):
    """A configuration problem, naming the key at fault."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}")

    @property
    def problems(self) -> list[ConfigError]:
        """Every problem found (one for a plain error)."""
        return [self]


class ConfigErrors(ConfigError):
    """Several configuration problems found in one pass (``check-config`` and ``serve`` list them all)."""

    def __init__(self, problems: list[ConfigError]) -> None:
        self._problems = problems
        super().__init__(problems[0].key, problems[0].problem)
        self.args = ("\n".join(str(p) for p in problems),)

    @property
    def problems(self) -> list[ConfigError]:
        """Every problem found."""
        return self._problems


@dataclass(frozen=True)
class BackendSettings:
    """How to reach one OGC backend."""

    url: str
    flavor: str = DEFAULT_FLAVOR  # a key of translators.ogc.flavors.FLAVORS
    wms_version: str = "1.3.0"
    timeout: float = 30.0
    connect_timeout: float = 10.0
    max_connections: int = 16
    capabilities_ttl: float = 300.0
    headers: dict[str, str] = field(default_factory=dict)
    capabilities_top_first: bool | None = None  # which end of the capabilities is the top layer; None: the flavour's
    wfs_url: str | None = None  # where the server's WFS lives when not at the WMS URL (layer query, identify)


@dataclass(frozen=True)
class CacheSettings:
    """The answer cache: an in-process tier bounded in bytes and an optional shared Redis tier."""

    memory_bytes: int = 128 * 1024 * 1024
    redis_url: str | None = None
    ttl: float = 300.0
    stale_ttl: float = 86400.0  # how long an expired entry may still be served when the backend fails
    log_interval: float = 60.0
    redis_timeout: float = 0.3  # seconds a shared-tier call (connect included) may take: it is an optimisation
    redis_cooldown: float = 5.0  # seconds the shared tier is skipped after a failure before one call probes it


@dataclass(frozen=True)
class AdminSettings:
    """The admin endpoint (purge); off unless enabled, and then guarded by a token when one is set."""

    enabled: bool = False
    token: str | None = None


@dataclass(frozen=True)
class WmtsSettings:
    """``tiles.wmts``: the backend WMTS whose tiles are passed through where its matrix set matches the grid."""

    layer: str
    url: str | None = None  # the WMTS endpoint, or its RESTful capabilities document (…/WMTSCapabilities.xml)
    matrix_set: str | None = None  # None: the layer's set that matches most levels
    style: str | None = None  # None: the layer's default style


@dataclass(frozen=True)
class TileSettings:
    """A tiled MapServer (``tiles:``): its tiling scheme and the persistent tile store (None: memory tiers only)."""

    scheme: TileScheme
    store_path: str | None = None
    store_max_bytes: int = 1024**3
    wmts: WmtsSettings | None = None  # tiles passed through from a backend WMTS (None: drawn from the WMS)


@dataclass(frozen=True)
class ServiceSettings:
    """One published service."""

    name: str  # "folder/Service" or "Service"
    type: str
    backend: BackendSettings
    layers: tuple[str, ...] | None = None
    hidden_layers: tuple[str, ...] = ()
    spatial_reference: int | str | None = None
    max_image_width: int = 4096
    max_image_height: int = 4096
    description: str | None = None
    copyright_text: str | None = None
    coverage: str | None = None
    coverages: tuple[tuple[str, str], ...] = ()  # (ISO date, coverage id) of a time series of coverages
    coverage_format: str | None = None
    wcs_version: str = "auto"
    service_data_type: str | None = None
    preview_layer: str | None = None
    cache_ttl: float | None = None  # None: the cache's default TTL; 0: this service is not cached
    cache_control: str | None = None
    limits: Limits | None = None  # the service's own limits (None: the server-wide ones)
    # Layer query: the integer attribute holding object ids (one name, or one per WMS layer; None: the numeric part
    # of the WFS feature ids) and the most features one query answers.
    object_id_field: str | tuple[tuple[str, str], ...] | None = None
    max_record_count: int = 1000
    tiles: TileSettings | None = None  # a tiled MapServer (tiles drawn by metatiles, kept in a tile store)

    @property
    def folder(self) -> str | None:
        """The folder part of the name, if any."""
        return self.name.split("/")[0] if "/" in self.name else None

    @property
    def short_name(self) -> str:
        """The name without its folder."""
        return self.name.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Settings:
    """The whole configuration."""

    services: dict[str, ServiceSettings]
    cache: CacheSettings = field(default_factory=CacheSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)
    limits: Limits = field(default_factory=Limits)
    host: str = "127.0.0.1"
    port: int = 8080
    output_ttl: float = 600.0
    output_max_bytes: int = 256 * 1024 * 1024
    public_url: str | None = None
    source: str = "<config>"
