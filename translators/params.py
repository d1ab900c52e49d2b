"""Case-insensitive access to ArcGIS request parameters and the small pure parsers shared by every operation.

ArcGIS clients send names and values in any case (``BBOX``, ``PNG32``, ``False``), as GET query or POST form, with
empty values meaning "not given".  Every parser here raises :class:`~translators.errors.InvalidParameter` naming the
parameter, so a malformed value is always a 400 and never a default silently substituted.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from translators.errors import InvalidParameter

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class Params:
    """A read-only, case-insensitive view of request parameters; empty values count as absent."""

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str]) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._values: dict[str, str] = {}
        for key, value in pairs:
            # The first occurrence wins, as in ArcGIS Server; later duplicates are ignored.
            self._values.setdefault(key.lower(), value)

    def get(self, name: str) -> str | None:
        """Return the stripped value of ``name``, or None when it is absent or blank."""
        value = self._values.get(name.lower())
        if value is None:
            return None
        value = value.strip()
        return value or None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def items(self) -> list[tuple[str, str]]:
        """Every (lower-cased name, value) pair, blank values included."""
        return list(self._values.items())

    def names(self) -> set[str]:
        """Return the lower-cased names of the parameters that carry a value."""
        return {k for k, v in self._values.items() if v.strip()}


def parse_float(text: str, parameter: str) -> float:
    """Parse a finite number such as ``12``, ``-3.5`` or ``1.39e-9``."""
    try:
        value = float(text)
    except ValueError:
        raise InvalidParameter(parameter, f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise InvalidParameter(parameter, f"'{text}' is not a finite number")
    return value


def parse_int(text: str, parameter: str) -> int:
    """Parse an integer; ``400.0`` is accepted, ``400.5`` is not."""
    value = parse_float(text, parameter)
    if not value.is_integer():
        raise InvalidParameter(parameter, f"'{text}' is not an integer")
    return int(value)


def parse_bool(text: str, parameter: str) -> bool:
    """Parse ``true``/``false`` in any case (also 1/0, yes/no)."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidParameter(parameter, f"'{text}' is not true or false")


MAX_JSON_DEPTH = 64
"""How deeply a JSON parameter may nest: far beyond any ArcGIS document (a raster function chain nests two levels
a step), far below what the recursive parsers here and in :mod:`json` can take."""
MAX_JSON_INT = 2**63
"""Integers in JSON parameters stay within 64 bits, so they convert to floats and numpy integers without error."""


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 overflows to inf, which later int() or arithmetic cannot take
        raise _JsonNumberError(f"the number {text[:40]} is out of range")
    return value


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > 19 or abs(value := int(text)) >= MAX_JSON_INT:
        raise _JsonNumberError(f"the integer {text[:40]} is out of range")
    return value


def _json_constant(text: str) -> float:
    raise _JsonNumberError(f"{text} is not a JSON number")  # Python's json accepts NaN and Infinity; JSON does not


class _JsonNumberError(ValueError):
    """A number in a JSON parameter that is not a finite value of a usable size."""


def parse_json(text: str, parameter: str) -> Any:
    """Parse a JSON value; malformed JSON names the parameter and the position of the fault.

    Every JSON parameter comes through here, so here are the bounds that keep hostile documents a 400: numbers are
    finite (no NaN, Infinity or overflowing 1e400) and integers fit 64 bits, and nesting is at most
    :data:`MAX_JSON_DEPTH` deep (checked before parsing, so neither :mod:`json` nor a consumer recurses too far).
    """
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise InvalidParameter(parameter, f"the JSON nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text, parse_float=_json_float, parse_int=_json_int, parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        raise InvalidParameter(parameter, f"malformed JSON ({exc.msg} at character {exc.pos})") from None
    except _JsonNumberError as exc:
        raise InvalidParameter(parameter, str(exc)) from None


_JSON_SKIP = re.compile(r'"(?:[^"\\]|\\.)*"?|[^"\[\]{}]+')


def json_depth(text: str) -> int:
    """The deepest nesting of brackets in ``text`` outside JSON strings (an upper bound for malformed text)."""
    depth = deepest = 0
    for char in _JSON_SKIP.sub("", text):
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    break  # deep enough to refuse: the rest need not be scanned
        elif char in "]}":
            depth -= 1
    return deepest


def parse_numbers(text: str, parameter: str, count: int) -> list[float]:
    """Parse exactly ``count`` comma-separated numbers."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != count or any(not p for p in parts):
        raise InvalidParameter(parameter, f"expected {count} comma-separated numbers, got '{text}'")
    return [parse_float(p, parameter) for p in parts]


def parse_choice(text: str, parameter: str, choices: Iterable[str]) -> str:
    """Match ``text`` case-insensitively against ``choices`` and return the canonical spelling."""
    options = list(choices)
    for option in options:
        if option.lower() == text.strip().lower():
            return option
    raise InvalidParameter(parameter, f"'{text}' is not one of {', '.join(options)}")


def format_number(value: float) -> str:
    """A number for an OGC request: up to 12 significant digits (no float noise), exponents only when needed."""
    text = f"{value:.12g}"
    return text if "e" not in text else repr(value)
