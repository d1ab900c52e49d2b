"""One ``services.<name>`` entry and its ``backend``: every key is checked, and every problem of the service is
reported (each naming its key), not only the first; checks that need another value (an ImageServer's coverage, a
tiled service's spatial reference) run only when that value was read."""

from __future__ import annotations

import re
from typing import Any

from proxy.settings.model import (
    CAPABILITIES_ORDERS,
    SERVICE_DATA_TYPES,
    SERVICE_TYPES,
    BackendSettings,
    ConfigError,
    ServiceSettings,
)
from proxy.settings.sections import parse_limits
from proxy.settings.tiles import parse_tiles, tiled_sr
from proxy.settings.values import Collector, http_url, known, mapping, names, number, text
from translators.limits import Limits
from translators.ogc.flavors import DEFAULT_FLAVOR, FLAVORS
from translators.timeutil import parse_iso

NAME_RE = re.compile(r"^[A-Za-z0-9_\-.]+(/[A-Za-z0-9_\-.]+)?$")
SERVICE_KEYS = ("type", "backend", "layers", "hiddenLayers", "spatialReference", "maxImageWidth", "maxImageHeight",
                "description", "copyrightText", "coverage", "coverages", "format", "wcsVersion", "serviceDataType",
                "previewLayer", "cache", "limits", "objectIdField", "maxRecordCount", "tiles")
BACKEND_KEYS = ("url", "flavor", "version", "timeout", "connectTimeout", "maxConnections", "capabilitiesTTL",
                "headers", "capabilitiesOrder", "wfs")
# backend keys read as numbers: (BackendSettings field, default, minimum, whole number)
_BACKEND_NUMBERS = {"timeout": ("timeout", 30.0, 0.1, False), "connectTimeout": ("connect_timeout", 10.0, 0.1, False),
                    "maxConnections": ("max_connections", 16, 1, True),
                    "capabilitiesTTL": ("capabilities_ttl", 300.0, 0, False)}
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def parse_service(name: Any, value: Any, limits: Limits) -> ServiceSettings:
    """A ``services.<name>`` entry (its own ``limits`` over the server's ``limits``); raises every problem found."""
    key = f"services.{name}"
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ConfigError(key, "service names are 'Name' or 'folder/Name' (letters, digits, _ - .)")
    data = mapping(value, key)
    found = Collector()
    found.run(key, known, data, key, SERVICE_KEYS)
    service_type = data.get("type")
    if service_type not in SERVICE_TYPES:
        found.fail(f"{key}.type", f"must be one of {', '.join(SERVICE_TYPES)}, got {service_type!r}")
        service_type = None
    if "backend" not in data:
        found.fail(f"{key}.backend", "is required")
    backend = found.run(f"{key}.backend", parse_backend, data["backend"], f"{key}.backend") \
        if "backend" in data else None
    sr = data.get("spatialReference")
    if sr is not None and (isinstance(sr, bool) or not isinstance(sr, int | str)):
        found.fail(f"{key}.spatialReference", "must be a wkid or an 'EPSG:…' code")
        sr = None
    fields = _image_fields(data, key, service_type, found)
    fields.update(_common_fields(data, key, found))
    if "tiles" in data:
        tiles = fields["tiles"] = found.run(f"{key}.tiles", parse_tiles, data["tiles"], f"{key}.tiles", service_type)
        sr = found.run(f"{key}.spatialReference", tiled_sr, sr, tiles, key) if tiles is not None else sr
    if data.get("limits") is not None:  # a service's own limits, over the server's
        fields["limits"] = found.run(f"{key}.limits", parse_limits, data["limits"], f"{key}.limits", limits)
    found.raise_any()
    assert backend is not None and service_type is not None  # else raise_any raised
    return ServiceSettings(name=name, type=service_type, backend=backend, spatial_reference=sr, **fields)


def _image_fields(data: dict[str, Any], key: str, service_type: str | None, found: Collector) -> dict[str, Any]:
    """The ImageServer keys: coverage(s), format, WCS version, data type."""
    coverages = found.run(f"{key}.coverages", parse_coverages, data, key)
    if service_type == "ImageServer" and coverages is not None and not coverages and not data.get("coverage"):
        found.fail(f"{key}.coverage", "is required for an ImageServer (or coverages: {date: id})")
    wcs_version = str(data.get("wcsVersion", "auto"))
    if wcs_version not in ("auto", "2.0.1", "1.0.0"):
        found.fail(f"{key}.wcsVersion", f"must be auto, 2.0.1 or 1.0.0, got {wcs_version!r}")
    data_type = found.run(f"{key}.serviceDataType", text, data, "serviceDataType", key)
    if data_type is not None and data_type not in SERVICE_DATA_TYPES:
        found.fail(f"{key}.serviceDataType", f"must be one of {', '.join(SERVICE_DATA_TYPES)}")
    return {"coverage": found.run(f"{key}.coverage", text, data, "coverage", key), "coverages": coverages or (),
            "coverage_format": found.run(f"{key}.format", text, data, "format", key), "wcs_version": wcs_version,
            "service_data_type": data_type,
            "preview_layer": found.run(f"{key}.previewLayer", text, data, "previewLayer", key)}


def _common_fields(data: dict[str, Any], key: str, found: Collector) -> dict[str, Any]:
    """The keys every service may have: layers, image sizes, texts, cache, layer query."""
    cache = found.run(f"{key}.cache", mapping, data.get("cache") or {}, f"{key}.cache") or {}
    found.run(f"{key}.cache", known, cache, f"{key}.cache", ("ttl", "cacheControl"))
    return {
        "layers": found.run(f"{key}.layers", names, data, "layers", key),
        "hidden_layers": found.run(f"{key}.hiddenLayers", names, data, "hiddenLayers", key) or (),
        "max_image_width": found.run(f"{key}.maxImageWidth", number, data, "maxImageWidth", key, 4096, 1, True),
        "max_image_height": found.run(f"{key}.maxImageHeight", number, data, "maxImageHeight", key, 4096, 1, True),
        "description": found.run(f"{key}.description", text, data, "description", key),
        "copyright_text": found.run(f"{key}.copyrightText", text, data, "copyrightText", key),
        "cache_ttl": found.run(f"{key}.cache.ttl", number, cache, "ttl", f"{key}.cache", 0, 0)
        if "ttl" in cache else None,
        "cache_control": found.run(f"{key}.cache.cacheControl", text, cache, "cacheControl", f"{key}.cache"),
        "object_id_field": found.run(f"{key}.objectIdField", object_id_field, data, key),
        "max_record_count": found.run(f"{key}.maxRecordCount", number, data, "maxRecordCount", key, 1000, 1, True),
    }


def parse_backend(value: Any, key: str) -> BackendSettings:
    """A service's ``backend`` mapping; raises every problem found."""
    data = mapping(value, key)
    found = Collector()
    found.run(key, known, data, key, BACKEND_KEYS)
    url = found.run(f"{key}.url", _url, data, "url", key, True)
    flavor = found.run(f"{key}.flavor", text, data, "flavor", key, DEFAULT_FLAVOR) or DEFAULT_FLAVOR
    if flavor not in FLAVORS:
        found.fail(f"{key}.flavor", f"must be one of {', '.join(FLAVORS)}, got {flavor!r}")
    version = str(data.get("version", "1.3.0"))
    if version not in ("1.1.1", "1.3.0"):
        found.fail(f"{key}.version", f"must be 1.1.1 or 1.3.0, got {version!r}")
    headers = found.run(f"{key}.headers", _headers, data.get("headers") or {}, f"{key}.headers")
    order = data.get("capabilitiesOrder")
    if order is not None and (not isinstance(order, str) or order not in CAPABILITIES_ORDERS):
        found.fail(f"{key}.capabilitiesOrder", f"must be one of {', '.join(CAPABILITIES_ORDERS)}, got {order!r}")
    wfs_url = found.run(f"{key}.wfs", _url, data, "wfs", key, False)
    numbers: dict[str, Any] = {attribute: found.run(f"{key}.{name}", number, data, name, key, *bounds)
                               for name, (attribute, *bounds) in _BACKEND_NUMBERS.items()}
    found.raise_any()
    return BackendSettings(
        url=str(url), wfs_url=wfs_url, flavor=flavor, wms_version=version, headers=dict(headers or {}),
        capabilities_top_first=None if order is None else CAPABILITIES_ORDERS[order], **numbers)


def _url(data: dict[str, Any], name: str, key: str, required: bool) -> str | None:
    """An http(s) URL at ``data[name]`` (None when absent and not required)."""
    url = text(data, name, key)
    if required and not url:
        raise ConfigError(f"{key}.{name}", "is required")
    if url is None:
        return None
    http_url(url, f"{key}.{name}")
    return url


def _headers(value: Any, key: str) -> dict[str, str]:
    """Extra HTTP headers: names by RFC 9110's token rule, values without line breaks."""
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(key, "must map header names to strings")
    for name, header in value.items():
        if not _HEADER_NAME.fullmatch(name) or any(c in header for c in "\r\n\0"):
            raise ConfigError(key, f"'{name}' is not a valid header name, or its value holds a line break")
    return value


def parse_coverages(data: dict[str, Any], key: str) -> tuple[tuple[str, str], ...]:
    """``coverages: {ISO date: coverage id}``, in date order; each bad entry is a problem of its own."""
    value = data.get("coverages")
    if value is None:
        return ()
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{key}.coverages", "must map ISO dates to coverage ids")
    found = Collector()
    out: list[tuple[str, str]] = []
    for date, coverage in value.items():
        entry = found.run(f"{key}.coverages.{date}", _coverage_entry, date, coverage, f"{key}.coverages.{date}")
        if entry is not None:
            out.append(entry)
    found.raise_any()
    return tuple(sorted(out))


def _coverage_entry(date: Any, coverage: Any, key: str) -> tuple[str, str]:
    stamp = date.isoformat() if hasattr(date, "isoformat") else str(date)
    try:
        parse_iso(stamp)
    except ValueError:
        raise ConfigError(key, "is not an ISO 8601 date") from None
    if not isinstance(coverage, str) or not coverage:
        raise ConfigError(key, "must be a coverage id")
    return stamp, coverage


def object_id_field(data: dict[str, Any], key: str) -> str | tuple[tuple[str, str], ...] | None:
    """``objectIdField``: one attribute name, or ``{layer: attribute}``."""
    value = data.get("objectIdField")
    if value is None or (isinstance(value, str) and value.strip()):
        return value.strip() if isinstance(value, str) else None
    if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()):
        return tuple(sorted(value.items()))
    raise ConfigError(f"{key}.objectIdField", "must be an attribute name, or map layer names to attribute names")
