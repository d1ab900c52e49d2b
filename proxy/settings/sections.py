"""The server-wide sections: ``server``, ``cache``, ``admin`` and ``limits`` (which a service may also override).
Every key of a section is checked and every problem reported."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from proxy.settings.model import AdminSettings, CacheSettings, ConfigError
from proxy.settings.values import Collector, http_url, known, mapping, number, parse_size, text
from translators.limits import Limits

REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster")
# The raster-function parser refuses deeper chains outright (it bounds its recursion); a limit above is meaningless.
MAX_RULE_DEPTH = 16
# cache keys read as numbers: (CacheSettings field, default, minimum)
_CACHE_NUMBERS = {"ttl": ("ttl", 300.0, 0), "staleTTL": ("stale_ttl", 86400.0, 0),
                  "logInterval": ("log_interval", 60.0, 0), "redisTimeout": ("redis_timeout", 0.3, 0.01),
                  "redisCooldown": ("redis_cooldown", 5.0, 0)}
# limits read as whole numbers of at least 1, by Limits field (maxMemory and maxRuleDepth have checks of their own)
_LIMIT_COUNTS = {"maxCells": "max_cells", "maxRuleWork": "max_rule_work", "maxClauseLength": "max_clause_length",
                 "maxClauseValues": "max_clause_values"}


def parse_cache(value: Any) -> CacheSettings:
    """The ``cache`` section."""
    data = mapping(value or {}, "cache")
    found = Collector()
    found.run("cache", known, data, "cache", ("memory", "redis", *_CACHE_NUMBERS))
    redis_url = found.run("cache.redis", text, data, "redis", "cache")
    if redis_url is not None:
        found.run("cache.redis", _redis_url, redis_url)
    memory = found.run("cache.memory", parse_size, data.get("memory", "128MB"), "cache.memory")
    fields: dict[str, Any] = {attribute: found.run(f"cache.{name}", number, data, name, "cache", default, minimum)
                              for name, (attribute, default, minimum) in _CACHE_NUMBERS.items()}
    found.raise_any()
    return CacheSettings(memory_bytes=int(memory or 0), redis_url=redis_url, **fields)


def _redis_url(url: str) -> None:
    if urlsplit(url).scheme not in REDIS_SCHEMES:
        raise ConfigError("cache.redis", f"must be a redis:// URL (or {', '.join(REDIS_SCHEMES[1:])}), got {url!r}")
    from proxy.cache.shared import check_redis_url  # here, not above: proxy.cache imports these settings
    try:
        check_redis_url(url)
    except ValueError as exc:  # the client would refuse it at start (a port out of range, a db that is no number)
        raise ConfigError("cache.redis", f"is not a Redis URL the client can use, got {url!r} ({exc})") from None


def parse_limits(value: Any, key: str, base: Limits) -> Limits:
    """A ``limits`` section (server-wide, or a service's own over the server's ``base``): the work one request may
    cause (see :mod:`translators.limits`)."""
    data = mapping(value or {}, key)
    found = Collector()
    found.run(key, known, data, key, ("maxMemory", "maxRuleDepth", *_LIMIT_COUNTS))
    max_memory = found.run(f"{key}.maxMemory", parse_size, data.get("maxMemory", base.max_memory), f"{key}.maxMemory")
    if max_memory is not None and max_memory < 16 * 1024 * 1024:
        found.fail(f"{key}.maxMemory", f"must be at least 16MB, got {data['maxMemory']!r}")
    depth = found.run(f"{key}.maxRuleDepth", number, data, "maxRuleDepth", key, base.max_rule_depth, 1, True)
    if depth is not None and depth > MAX_RULE_DEPTH:
        found.fail(f"{key}.maxRuleDepth", f"must be at most {MAX_RULE_DEPTH}, got {depth!r}")
    counts: dict[str, Any] = {
        attribute: found.run(f"{key}.{name}", number, data, name, key, getattr(base, attribute), 1, True)
        for name, attribute in _LIMIT_COUNTS.items()}
    found.raise_any()
    return Limits(max_memory=int(max_memory or 0), max_rule_depth=int(depth or 0), **counts)


def parse_admin(value: Any) -> AdminSettings:
    """The ``admin`` section."""
    data = mapping(value or {}, "admin")
    found = Collector()
    found.run("admin", known, data, "admin", ("enabled", "token"))
    enabled = data.get("enabled", False)
    if not isinstance(enabled, bool):
        found.fail("admin.enabled", "must be true or false")
    token = found.run("admin.token", text, data, "token", "admin")
    found.raise_any()
    return AdminSettings(enabled, token)


def parse_server(value: Any) -> dict[str, Any]:
    """The ``server`` section, as keyword arguments of :class:`~proxy.settings.model.Settings`."""
    data = mapping(value or {}, "server")
    found = Collector()
    found.run("server", known, data, "server", ("host", "port", "outputTTL", "outputMaxBytes", "publicUrl"))
    port = found.run("server.port", number, data, "port", "server", 8080, 0, True)
    if port is not None and port > 65535:
        found.fail("server.port", f"must be at most 65535, got {port!r}")
    fields = {
        "host": found.run("server.host", text, data, "host", "server", "127.0.0.1") or "127.0.0.1",
        "port": port,
        "output_ttl": found.run("server.outputTTL", number, data, "outputTTL", "server", 600.0, 1),
        "output_max_bytes": found.run("server.outputMaxBytes", number, data, "outputMaxBytes", "server",
                                      256 * 1024 * 1024, 1024, True),
        "public_url": found.run("server.publicUrl", text, data, "publicUrl", "server"),
    }
    if fields["public_url"] is not None:  # the base of every href the gateway writes
        found.run("server.publicUrl", http_url, fields["public_url"], "server.publicUrl")
    found.raise_any()
    return fields
