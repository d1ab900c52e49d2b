"""Typed, validated configuration read from YAML.

Validation is complete before anything is served: a bad file stops start-up with a :class:`ConfigError` whose
message names the key (``services.demo/World.backend.url``) and the problem.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from translators.arcgis.tiles import TileScheme
from translators.crs import resolve_sr
from translators.errors import InvalidParameter
from translators.limits import Limits
from translators.ogc.flavors import DEFAULT_FLAVOR, FLAVORS
from translators.tiles.cut import TILE_FORMATS
from translators.tiles.grid import TileGrid, custom_grid, webmercator
from translators.timeutil import parse_iso

SERVICE_TYPES = ("MapServer", "ImageServer")
CAPABILITIES_ORDERS = {"topFirst": True, "bottomFirst": False}  # backend.capabilitiesOrder: is the top layer first?
SERVICE_DATA_TYPES = ("esriImageServiceDataTypeGeneric", "esriImageServiceDataTypeElevation",
                      "esriImageServiceDataTypeThematic", "esriImageServiceDataTypeProcessed",
                      "esriImageServiceDataTypeScientific", "esriImageServiceDataTypeRGB")
_NAME_RE = re.compile(r"^[A-Za-z0-9_\-.]+(/[A-Za-z0-9_\-.]+)?$")


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


class _Collector:
    """Runs the checks of one part of the configuration after another, keeping every problem rather than the
    first: a file with several mistakes is fixed in one round."""

    def __init__(self) -> None:
        self.problems: list[ConfigError] = []

    def run(self, key: str, check: Any, *args: Any) -> Any:
        """``check(*args)``, or None with its problem kept; an unexpected ValueError/TypeError from a value is a
        problem of ``key`` too (never a traceback)."""
        try:
            return check(*args)
        except ConfigError as exc:
            self.problems.extend(exc.problems)
        except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as exc:
            self.problems.append(ConfigError(key, f"invalid value ({exc})"))
        return None

    def raise_any(self) -> None:
        """Raise what was found: the single error as it is, several as :class:`ConfigErrors`."""
        if len(self.problems) == 1:
            raise self.problems[0]
        if self.problems:
            raise ConfigErrors(self.problems)


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


def _mapping(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(key, f"must be a mapping, got {type(value).__name__}")
    return value


def _known(data: dict[str, Any], key: str, allowed: set[str]) -> None:
    for name in data:
        if name not in allowed:
            raise ConfigError(f"{key}.{name}", f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _number(data: dict[str, Any], name: str, key: str, default: float, minimum: float, integer: bool = False) -> Any:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key}.{name}", f"must be a number, got {value!r}")
    if integer and not float(value).is_integer():
        raise ConfigError(f"{key}.{name}", f"must be a whole number, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{key}.{name}", f"must be at least {minimum}, got {value!r}")
    return int(value) if integer else float(value)


def _text(data: dict[str, Any], name: str, key: str, default: str | None = None) -> str | None:
    value = data.get(name, default)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{key}.{name}", f"must be a string, got {value!r}")
    return value


def _names(data: dict[str, Any], name: str, key: str) -> tuple[str, ...] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{key}.{name}", "must be a list of layer names")
    return tuple(v.strip() for v in value)


def _backend(value: Any, key: str) -> BackendSettings:
    data = _mapping(value, key)
    _known(data, key, {"url", "flavor", "version", "timeout", "connectTimeout", "maxConnections",
                       "capabilitiesTTL", "headers", "capabilitiesOrder", "wfs"})
    url = _text(data, "url", key)
    if not url:
        raise ConfigError(f"{key}.url", "is required")
    _http_url(url, f"{key}.url")
    flavor = _text(data, "flavor", key, DEFAULT_FLAVOR) or DEFAULT_FLAVOR
    if flavor not in FLAVORS:
        raise ConfigError(f"{key}.flavor", f"must be one of {', '.join(FLAVORS)}, got {flavor!r}")
    version = str(data.get("version", "1.3.0"))
    if version not in ("1.1.1", "1.3.0"):
        raise ConfigError(f"{key}.version", f"must be 1.1.1 or 1.3.0, got {version!r}")
    headers = data.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise ConfigError(f"{key}.headers", "must map header names to strings")
    for name, value in headers.items():
        if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name) or any(c in value for c in "\r\n\0"):
            raise ConfigError(f"{key}.headers", f"'{name}' is not a valid header name, or its value holds a line break")
    order = data.get("capabilitiesOrder")
    if order is not None and order not in CAPABILITIES_ORDERS:
        raise ConfigError(f"{key}.capabilitiesOrder", f"must be one of {', '.join(CAPABILITIES_ORDERS)}, got {order!r}")
    wfs_url = _text(data, "wfs", key)
    if wfs_url is not None:
        _http_url(wfs_url, f"{key}.wfs")
    return BackendSettings(
        url=url,
        wfs_url=wfs_url,
        flavor=flavor,
        capabilities_top_first=None if order is None else CAPABILITIES_ORDERS[order],
        wms_version=version,
        timeout=_number(data, "timeout", key, 30.0, 0.1),
        connect_timeout=_number(data, "connectTimeout", key, 10.0, 0.1),
        max_connections=_number(data, "maxConnections", key, 16, 1, integer=True),
        capabilities_ttl=_number(data, "capabilitiesTTL", key, 300.0, 0),
        headers=dict(headers),
    )


def _http_url(url: str, key: str) -> None:
    """An http(s) URL with a host and, if given, a port in range (urlsplit's ``port`` raises on 99999)."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        raise ConfigError(key, f"must be an http(s) URL, got {url!r} ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise ConfigError(key, f"must be an http(s) URL, got {url!r}")


def _coverages(data: dict[str, Any], key: str) -> tuple[tuple[str, str], ...]:
    value = data.get("coverages")
    if value is None:
        return ()
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{key}.coverages", "must map ISO dates to coverage ids")
    out: list[tuple[str, str]] = []
    for date, coverage in value.items():
        text = date.isoformat() if hasattr(date, "isoformat") else str(date)
        try:
            parse_iso(text)
        except ValueError:
            raise ConfigError(f"{key}.coverages.{date}", "is not an ISO 8601 date") from None
        if not isinstance(coverage, str) or not coverage:
            raise ConfigError(f"{key}.coverages.{date}", "must be a coverage id")
        out.append((text, coverage))
    return tuple(sorted(out))


def _service(name: Any, value: Any) -> ServiceSettings:
    key = f"services.{name}"
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigError(key, "service names are 'Name' or 'folder/Name' (letters, digits, _ - .)")
    data = _mapping(value, key)
    _known(data, key, {"type", "backend", "layers", "hiddenLayers", "spatialReference", "maxImageWidth",
                       "maxImageHeight", "description", "copyrightText", "coverage", "coverages", "format",
                       "wcsVersion", "serviceDataType", "previewLayer", "cache", "limits", "objectIdField",
                       "maxRecordCount", "tiles"})
    service_type = data.get("type")
    if service_type not in SERVICE_TYPES:
        raise ConfigError(f"{key}.type", f"must be one of {', '.join(SERVICE_TYPES)}, got {service_type!r}")
    if "backend" not in data:
        raise ConfigError(f"{key}.backend", "is required")
    sr = data.get("spatialReference")
    if sr is not None and (isinstance(sr, bool) or not isinstance(sr, int | str)):
        raise ConfigError(f"{key}.spatialReference", "must be a wkid or an 'EPSG:…' code")
    coverages = _coverages(data, key)
    if service_type == "ImageServer" and not data.get("coverage") and not coverages:
        raise ConfigError(f"{key}.coverage", "is required for an ImageServer (or coverages: {date: id})")
    wcs_version = str(data.get("wcsVersion", "auto"))
    if wcs_version not in ("auto", "2.0.1", "1.0.0"):
        raise ConfigError(f"{key}.wcsVersion", f"must be auto, 2.0.1 or 1.0.0, got {wcs_version!r}")
    cache_data = _mapping(data.get("cache") or {}, f"{key}.cache")
    _known(cache_data, f"{key}.cache", {"ttl", "cacheControl"})
    cache_ttl = _number(cache_data, "ttl", f"{key}.cache", 0, 0) if "ttl" in cache_data else None
    cache_control = _text(cache_data, "cacheControl", f"{key}.cache")
    tiles = _tiles(data.get("tiles"), f"{key}.tiles", service_type) if "tiles" in data else None
    if tiles is not None:
        sr = _tiled_sr(sr, tiles, key)
    data_type = _text(data, "serviceDataType", key)
    if data_type is not None and data_type not in SERVICE_DATA_TYPES:
        raise ConfigError(f"{key}.serviceDataType", f"must be one of {', '.join(SERVICE_DATA_TYPES)}")
    return ServiceSettings(
        name=name,
        type=service_type,
        backend=_backend(data["backend"], f"{key}.backend"),
        layers=_names(data, "layers", key),
        hidden_layers=_names(data, "hiddenLayers", key) or (),
        spatial_reference=sr,
        max_image_width=_number(data, "maxImageWidth", key, 4096, 1, integer=True),
        max_image_height=_number(data, "maxImageHeight", key, 4096, 1, integer=True),
        description=_text(data, "description", key),
        copyright_text=_text(data, "copyrightText", key),
        coverage=_text(data, "coverage", key),
        coverages=coverages,
        coverage_format=_text(data, "format", key),
        wcs_version=wcs_version,
        service_data_type=data_type,
        preview_layer=_text(data, "previewLayer", key),
        cache_ttl=cache_ttl,
        cache_control=cache_control,
        object_id_field=_object_id_field(data, key),
        max_record_count=_number(data, "maxRecordCount", key, 1000, 1, integer=True),
        tiles=tiles,
    )


def _object_id_field(data: dict[str, Any], key: str) -> str | tuple[tuple[str, str], ...] | None:
    value = data.get("objectIdField")
    if value is None or (isinstance(value, str) and value.strip()):
        return value.strip() if isinstance(value, str) else None
    if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()):
        return tuple(sorted(value.items()))
    raise ConfigError(f"{key}.objectIdField", "must be an attribute name, or map layer names to attribute names")


def _int_in(value: Any, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(key, f"must be a whole number from {low} to {high}, got {value!r}")
    return value


def _numbers(value: Any, key: str, count: int | None = None) -> list[float]:
    if not isinstance(value, list) or not value or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value) or (count and len(value) != count):
        raise ConfigError(key, f"must be a list of {count or 'some'} numbers, got {value!r}")
    return [float(v) for v in value]


def _wkid(value: Any, key: str) -> int:
    try:
        wkid = resolve_sr(value, "spatialReference").wkid
    except InvalidParameter:
        wkid = None
    if wkid is None:
        raise ConfigError(key, f"must be a wkid (or 'EPSG:…') the gateway knows, got {value!r}")
    return wkid


def _grid(value: Any, key: str) -> TileGrid:
    """``webmercator`` or ``{origin: [x, y], tileSize: 256, resolutions: [...], spatialReference: wkid}``."""
    if value == "webmercator":
        return webmercator()
    if not isinstance(value, dict):
        raise ConfigError(key, f"must be 'webmercator' or a mapping {{origin, tileSize, resolutions, "
                               f"spatialReference}}, got {value!r}")
    _known(value, key, {"origin", "tileSize", "resolutions", "spatialReference"})
    for name in ("origin", "resolutions", "spatialReference"):
        if name not in value:
            raise ConfigError(f"{key}.{name}", "is required for a custom grid")
    origin = _numbers(value["origin"], f"{key}.origin", 2)
    resolutions = _numbers(value["resolutions"], f"{key}.resolutions")
    if any(r <= 0 for r in resolutions) or any(b >= a for a, b in itertools.pairwise(resolutions)):
        raise ConfigError(f"{key}.resolutions", "must be positive and decreasing (level 0 the coarsest)")
    size = _int_in(value.get("tileSize", 256), f"{key}.tileSize", 16, 2048)
    return custom_grid(origin, size, resolutions, _wkid(value["spatialReference"], f"{key}.spatialReference"))


def _tiles(value: Any, key: str, service_type: str) -> TileSettings:
    """A ``tiles:`` section: grid (required), levels, format, metaSize, metaBuffer, store."""
    if service_type != "MapServer":
        raise ConfigError(key, "only a MapServer can be tiled")
    data = _mapping(value, key)
    _known(data, key, {"grid", "levels", "format", "metaSize", "metaBuffer", "store", "wmts"})
    if "grid" not in data:
        raise ConfigError(f"{key}.grid", "is required ('webmercator' or a custom grid)")
    grid = _grid(data["grid"], f"{key}.grid")
    last = len(grid.resolutions) - 1
    levels = data.get("levels", [0, last])
    if not isinstance(levels, list) or len(levels) != 2:
        raise ConfigError(f"{key}.levels", f"must be [first, last], got {levels!r}")
    first = _int_in(levels[0], f"{key}.levels", 0, last)
    last = _int_in(levels[1], f"{key}.levels", first, last)
    fmt = data.get("format", "png")
    if fmt not in TILE_FORMATS:
        raise ConfigError(f"{key}.format", f"must be one of {', '.join(TILE_FORMATS)}, got {fmt!r}")
    scheme = TileScheme(grid, first, last, fmt, _int_in(data.get("metaSize", 4), f"{key}.metaSize", 1, 16),
                        _int_in(data.get("metaBuffer", 80), f"{key}.metaBuffer", 0, 512))
    store = _mapping(data.get("store") or {}, f"{key}.store")
    _known(store, f"{key}.store", {"path", "maxBytes"})
    path = _text(store, "path", f"{key}.store")
    if store and not path:
        raise ConfigError(f"{key}.store.path", "is required (the MBTiles file, or a directory to hold it)")
    return TileSettings(scheme, path, parse_size(store.get("maxBytes", "1GB"), f"{key}.store.maxBytes"),
                        _wmts(data["wmts"], f"{key}.wmts") if "wmts" in data else None)


def _wmts(value: Any, key: str) -> WmtsSettings:
    """``tiles.wmts``: {layer, url, matrixSet, style}."""
    data = _mapping(value, key)
    _known(data, key, {"layer", "url", "matrixSet", "style"})
    layer = _text(data, "layer", key)
    if not layer:
        raise ConfigError(f"{key}.layer", "is required (the WMTS layer identifier)")
    url = _text(data, "url", key)
    if url is not None:
        _http_url(url, f"{key}.url")
    return WmtsSettings(layer, url, _text(data, "matrixSet", key), _text(data, "style", key))


def _tiled_sr(sr: int | str | None, tiles: TileSettings, key: str) -> int:
    """A tiled service is in its grid's spatial reference; a configured one must be the same."""
    wkid = tiles.scheme.grid.wkid
    if sr is not None and resolve_sr(sr, "spatialReference") != resolve_sr(wkid, "spatialReference"):
        raise ConfigError(f"{key}.spatialReference", f"must be the tile grid's ({wkid}) for a tiled service")
    return wkid


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(value: Any, key: str) -> int:
    """A byte size: a number of bytes or text such as ``128MB``, ``1.5GiB``, ``512K``."""
    if isinstance(value, bool):
        raise ConfigError(key, f"must be a size such as 128MB, got {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ConfigError(key, "must not be negative")
        return int(value)
    match = _SIZE_RE.match(str(value))
    if not match:
        raise ConfigError(key, f"must be a size such as 128MB, got {value!r}")
    unit = (match.group(2) or "").upper().replace("IB", "").replace("B", "")
    return int(float(match.group(1)) * _UNITS[unit])


REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster")


def _cache(value: Any) -> CacheSettings:
    data = _mapping(value or {}, "cache")
    _known(data, "cache", {"memory", "redis", "ttl", "staleTTL", "logInterval", "redisTimeout", "redisCooldown"})
    redis_url = _text(data, "redis", "cache")
    if redis_url is not None and urlsplit(redis_url).scheme not in REDIS_SCHEMES:
        raise ConfigError("cache.redis", f"must be a redis:// URL (or {', '.join(REDIS_SCHEMES[1:])}), "
                                         f"got {redis_url!r}")
    return CacheSettings(
        memory_bytes=parse_size(data.get("memory", "128MB"), "cache.memory"),
        redis_url=redis_url,
        ttl=_number(data, "ttl", "cache", 300.0, 0),
        stale_ttl=_number(data, "staleTTL", "cache", 86400.0, 0),
        log_interval=_number(data, "logInterval", "cache", 60.0, 0),
        redis_timeout=_number(data, "redisTimeout", "cache", 0.3, 0.01),
        redis_cooldown=_number(data, "redisCooldown", "cache", 5.0, 0),
    )


# The raster-function parser refuses deeper chains outright (it bounds its recursion); a limit above is meaningless.
MAX_RULE_DEPTH = 16


def _limits(value: Any, key: str, base: Limits) -> Limits:
    """A ``limits`` section (server-wide, or a service's own over the server's ``base``): the work one request may
    cause (see :mod:`translators.limits`)."""
    data = _mapping(value or {}, key)
    _known(data, key, {"maxCells", "maxMemory", "maxRuleDepth", "maxRuleWork", "maxClauseLength", "maxClauseValues"})
    max_memory = parse_size(data.get("maxMemory", base.max_memory), f"{key}.maxMemory")
    if max_memory < 16 * 1024 * 1024:
        raise ConfigError(f"{key}.maxMemory", f"must be at least 16MB, got {data['maxMemory']!r}")
    depth = _number(data, "maxRuleDepth", key, base.max_rule_depth, 1, integer=True)
    if depth > MAX_RULE_DEPTH:
        raise ConfigError(f"{key}.maxRuleDepth", f"must be at most {MAX_RULE_DEPTH}, got {depth!r}")
    return Limits(
        max_cells=_number(data, "maxCells", key, base.max_cells, 1, integer=True),
        max_memory=max_memory,
        max_rule_depth=depth,
        max_rule_work=_number(data, "maxRuleWork", key, base.max_rule_work, 1, integer=True),
        max_clause_length=_number(data, "maxClauseLength", key, base.max_clause_length, 1, integer=True),
        max_clause_values=_number(data, "maxClauseValues", key, base.max_clause_values, 1, integer=True),
    )


def parse_settings(data: Any, source: str = "<config>") -> Settings:
    """Validate a configuration mapping (as loaded from YAML); every problem is reported at once."""
    root = _mapping(data if data is not None else {}, "config")
    found = _Collector()
    found.run("config", _known, root, "config", {"services", "server", "cache", "admin", "limits"})
    services_data = found.run("services", _mapping, root.get("services"), "services") if "services" in root else None
    if "services" not in root or (services_data is not None and not services_data):
        found.problems.append(ConfigError("services", "at least one service is required"))
    limits = found.run("limits", _limits, root.get("limits"), "limits", Limits()) or Limits()
    services = {}
    for name, value in (services_data or {}).items():
        service = found.run(f"services.{name}", _service_with_limits, name, value, limits)
        if service is not None:
            services[name.lower()] = service
    cache = found.run("cache", _cache, root.get("cache"))
    admin = found.run("admin", _admin, root.get("admin"))
    server = found.run("server", _server, root.get("server"))
    found.raise_any()
    return Settings(services=services, cache=cache, admin=admin, limits=limits, source=source, **server)


def _service_with_limits(name: Any, value: Any, limits: Limits) -> ServiceSettings:
    service = _service(name, value)
    if value.get("limits") is not None:  # a service's own limits, over the server's
        service = replace(service, limits=_limits(value["limits"], f"services.{name}.limits", limits))
    return service


def _admin(value: Any) -> AdminSettings:
    admin_data = _mapping(value or {}, "admin")
    _known(admin_data, "admin", {"enabled", "token"})
    enabled = admin_data.get("enabled", False)
    if not isinstance(enabled, bool):
        raise ConfigError("admin.enabled", "must be true or false")
    return AdminSettings(enabled, _text(admin_data, "token", "admin"))


def _server(value: Any) -> dict[str, Any]:
    """The ``server`` section, as keyword arguments of :class:`Settings`."""
    server = _mapping(value or {}, "server")
    _known(server, "server", {"host", "port", "outputTTL", "outputMaxBytes", "publicUrl"})
    port = _number(server, "port", "server", 8080, 0, integer=True)
    if port > 65535:
        raise ConfigError("server.port", f"must be at most 65535, got {port!r}")
    return {
        "host": _text(server, "host", "server", "127.0.0.1") or "127.0.0.1",
        "port": port,
        "output_ttl": _number(server, "outputTTL", "server", 600.0, 1),
        "output_max_bytes": _number(server, "outputMaxBytes", "server", 256 * 1024 * 1024, 1024, integer=True),
        "public_url": _text(server, "publicUrl", "server"),
    }


def load_settings(path: str | Path) -> Settings:
    """Read and validate a YAML configuration file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("config", f"cannot read {file}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError("config", f"{file} is not valid YAML: {exc}") from None
    return parse_settings(data, str(file))
