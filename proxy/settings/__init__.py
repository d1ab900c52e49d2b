"""Typed, validated configuration read from YAML.

Validation is complete before anything is served: a bad file stops start-up with a :class:`ConfigError` whose
message names the key (``services.demo/World.backend.url``) and the problem; a file with several problems raises
:class:`ConfigErrors` listing every one of them, in every section and every key of every service.

The records live in :mod:`proxy.settings.model`, the readers of single values in :mod:`proxy.settings.values`, a
service and its backend in :mod:`proxy.settings.service`, its tiles in :mod:`proxy.settings.tiles`, the server-wide
sections in :mod:`proxy.settings.sections`; this module reads the whole file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from proxy.settings.model import (
    CAPABILITIES_ORDERS,
    SERVICE_DATA_TYPES,
    SERVICE_TYPES,
    AdminSettings,
    BackendSettings,
    CacheSettings,
    ConfigError,
    ConfigErrors,
    ServiceSettings,
    Settings,
    TileSettings,
    WmtsSettings,
)
from proxy.settings.sections import MAX_RULE_DEPTH, REDIS_SCHEMES, parse_admin, parse_cache, parse_limits, parse_server
from proxy.settings.service import parse_service
from proxy.settings.values import Collector, known, mapping, parse_size
from proxy.tiles.store import store_file, store_problem
from translators.limits import Limits

__all__ = ["CAPABILITIES_ORDERS", "MAX_RULE_DEPTH", "REDIS_SCHEMES", "SERVICE_DATA_TYPES", "SERVICE_TYPES",
           "AdminSettings", "BackendSettings", "CacheSettings", "ConfigError", "ConfigErrors", "ServiceSettings",
           "Settings", "TileSettings", "WmtsSettings", "load_settings", "parse_settings", "parse_size"]
TOP_KEYS = ("services", "server", "cache", "admin", "limits")


class _Loader(yaml.SafeLoader):
    """YAML's safe loader with dates left as text: a date is only ever a key of ``coverages``, checked there with
    its key (``2020-13-01`` would otherwise fail inside the YAML reader, keyless)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def parse_settings(data: Any, source: str = "<config>") -> Settings:
    """Validate a configuration mapping (as loaded from YAML); every problem is reported at once."""
    root = mapping(data if data is not None else {}, "config")
    found = Collector()
    found.run("config", known, root, "config", TOP_KEYS)
    services_data = found.run("services", mapping, root.get("services"), "services") if "services" in root else None
    if "services" not in root or (services_data is not None and not services_data):
        found.fail("services", "at least one service is required")
    limits = found.run("limits", parse_limits, root.get("limits"), "limits", Limits()) or Limits()
    services: dict[str, ServiceSettings] = {}
    spelt: dict[str, str] = {}  # lower-case name → the name as first written (names are not case-sensitive)
    for name, value in (services_data or {}).items():
        if isinstance(name, str) and name.lower() in spelt:
            found.fail(f"services.{name}", f"the same name as services.{spelt[name.lower()]} "
                                           "(service names are not case-sensitive)")
            continue
        service = found.run(f"services.{name}", parse_service, name, value, limits)
        if isinstance(name, str):
            spelt[name.lower()] = name
        if service is not None:
            services[service.name.lower()] = service
    cache = found.run("cache", parse_cache, root.get("cache"))
    admin = found.run("admin", parse_admin, root.get("admin"))
    server = found.run("server", parse_server, root.get("server"))
    found.raise_any()
    assert cache is not None and admin is not None and server is not None  # else raise_any raised
    return Settings(services=services, cache=cache, admin=admin, limits=limits, source=source, **server)


def load_settings(path: str | Path) -> Settings:
    """Read and validate a YAML configuration file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("config", f"cannot read {file}: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader: no arbitrary objects
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:  # a bad explicitly tagged value too
        raise ConfigError("config", f"{file} is not valid YAML: {exc}") from None
    settings = parse_settings(data, str(file))
    if problems := _store_problems(settings):  # found at start (and at a reload), not by the first tile request
        raise problems[0] if len(problems) == 1 else ConfigErrors(problems)
    return settings


def _store_problems(settings: Settings) -> list[ConfigError]:
    """The tile stores the gateway could not keep where the configuration puts them, each named by its key."""
    problems = []
    for service in settings.services.values():
        if service.tiles is not None and service.tiles.store_path:
            problem = store_problem(store_file(service.tiles.store_path, service.name.lower()))
            if problem is not None:
                problems.append(ConfigError(f"services.{service.name}.tiles.store.path", problem))
    return problems
