"""Reading one configuration value (a number, a string, a URL, a size, a choice) into its type, and the
:class:`Collector` that keeps going after a bad value so that every problem of a file is reported in one pass."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from proxy.settings.model import ConfigError, ConfigErrors
from translators.crs import resolve_sr
from translators.errors import InvalidParameter

T = TypeVar("T")


def raise_all(problems: Iterable[ConfigError]) -> None:
    """Raise what was found: nothing, the single error as it is, or several as :class:`ConfigErrors`."""
    found = [p for problem in problems for p in problem.problems]
    if len(found) == 1:
        raise found[0]
    if found:
        raise ConfigErrors(found)


class Collector:
    """Runs the checks of one part of the configuration after another, keeping every problem rather than the
    first: a file with several mistakes is fixed in one round."""

    def __init__(self) -> None:
        self.problems: list[ConfigError] = []

    def run(self, key: str, check: Callable[..., T], *args: Any) -> T | None:
        """``check(*args)``, or None with its problem kept; an unexpected ValueError/TypeError from a value is a
        problem of ``key`` too (never a traceback)."""
        try:
            return check(*args)
        except ConfigError as exc:
            self.problems.extend(exc.problems)
        except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as exc:
            self.problems.append(ConfigError(key, f"invalid value ({exc})"))
        return None

    def fail(self, key: str, problem: str) -> None:
        """Keep one problem found without a check function."""
        self.problems.append(ConfigError(key, problem))

    def raise_any(self) -> None:
        """Raise what was found: the single error as it is, several as :class:`ConfigErrors`."""
        raise_all(self.problems)


def mapping(value: Any, key: str) -> dict[str, Any]:
    """A YAML mapping."""
    if not isinstance(value, dict):
        raise ConfigError(key, f"must be a mapping, got {type(value).__name__}")
    return value


def known(data: dict[str, Any], key: str, allowed: Collection[str]) -> None:
    """Every key of ``data`` is one of ``allowed`` (each unknown one is a problem of its own)."""
    listed = ", ".join(sorted(allowed))
    raise_all(ConfigError(f"{key}.{name}", f"unknown key (allowed: {listed})") for name in data if name not in allowed)


def number(data: dict[str, Any], name: str, key: str, default: float, minimum: float, integer: bool = False) -> Any:
    """``data[name]`` (or ``default``) as a float, or an int when ``integer``, at least ``minimum``."""
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key}.{name}", f"must be a number, got {value!r}")
    if integer and not float(value).is_integer():
        raise ConfigError(f"{key}.{name}", f"must be a whole number, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{key}.{name}", f"must be at least {minimum}, got {value!r}")
    return int(value) if integer else float(value)


def text(data: dict[str, Any], name: str, key: str, default: str | None = None) -> str | None:
    """``data[name]`` (or ``default``) as a string, None when absent."""
    value = data.get(name, default)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{key}.{name}", f"must be a string, got {value!r}")
    return value


def required_text(data: dict[str, Any], name: str, key: str, what: str) -> str:
    """``data[name]`` as a non-empty string; missing, it is a problem saying ``what`` it is."""
    value = text(data, name, key)
    if not value:
        raise ConfigError(f"{key}.{name}", f"is required ({what})")
    return value


def names(data: dict[str, Any], name: str, key: str) -> tuple[str, ...] | None:
    """A list of (layer) names, None when absent."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{key}.{name}", "must be a list of layer names")
    return tuple(v.strip() for v in value)


def http_url(url: str, key: str) -> None:
    """An http(s) URL with a host and, if given, a port in range (urlsplit's ``port`` raises on 99999)."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        raise ConfigError(key, f"must be an http(s) URL, got {url!r} ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise ConfigError(key, f"must be an http(s) URL, got {url!r}")


def int_in(value: Any, key: str, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(key, f"must be a whole number from {low} to {high}, got {value!r}")
    return value


def numbers(value: Any, key: str, count: int | None = None) -> list[float]:
    """A non-empty list of numbers (of ``count`` of them when given)."""
    if not isinstance(value, list) or not value or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value) or (count and len(value) != count):
        raise ConfigError(key, f"must be a list of {count or 'some'} numbers, got {value!r}")
    return [float(v) for v in value]


def wkid(value: Any, key: str) -> int:
    """A spatial reference the gateway knows, as its wkid."""
    try:
        found = resolve_sr(value, "spatialReference").wkid
    except InvalidParameter:
        found = None
    if found is None:
        raise ConfigError(key, f"must be a wkid (or 'EPSG:…') the gateway knows, got {value!r}")
    return found


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
