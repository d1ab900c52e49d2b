"""What every raster function is made of: the parsed rule node, the reader of its arguments, and the base class.

A raster function is one :class:`Function` object: it knows its ArcGIS name(s), parses its arguments into its own
frozen dataclass (validating everything up front, so that a malformed rule is a 400 before any pixel is fetched),
gives the number of bands it produces from the number it receives, and applies itself to a
:class:`~translators.raster.model.Raster`.  The registry (``registry.py``) lists the functions; the envelope
(``rule.py``) finds them there by name.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeAlias, TypeVar

from translators.errors import InvalidParameter, UnsupportedParameter
from translators.raster.model import BandStats, Raster

__all__ = ["ArgumentReader", "Function", "RasterFunction", "Stats", "lower_keys", "unwrap"]

Stats: TypeAlias = tuple[BandStats, ...]

A = TypeVar("A")


@dataclass(frozen=True)
class RasterFunction:
    """One parsed raster function: canonical ``name``, typed ``arguments``, optional ``output_pixel_type`` (ArcGIS
    name) and the nested function producing its input (``raster``; None: the service's raster).

    ``arguments`` is the dataclass the function named ``name`` parsed (e.g. ``StretchArgs``).  ``parameter`` is the
    request parameter the rule came from, so that errors found while applying it name it.
    """

    name: str
    arguments: object
    output_pixel_type: str | None = None
    raster: RasterFunction | None = None
    parameter: str = field(default="renderingRule", compare=False)


class Function(ABC, Generic[A]):
    """One ArcGIS raster function, whose parsed arguments are an ``A``.

    ``names`` are the canonical names it answers to (each kept as the rule's name: ``None`` and ``Identity`` are two
    names of one function); ``aliases`` are further spellings answered under ``names[0]``.  Names match
    case-insensitively, ignoring spaces, underscores, hyphens and a ``Function`` suffix.
    """

    names: ClassVar[tuple[str, ...]]
    aliases: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def parse(self, args: ArgumentReader) -> A:
        """The validated arguments; raises :class:`InvalidParameter` / :class:`UnsupportedParameter` via ``args``."""

    def band_count(self, rule: RasterFunction, args: A, bands: int) -> int:
        """The number of bands produced from ``bands`` input bands (default: as many as received).

        Raises :class:`InvalidParameter` (naming ``rule.parameter``) for a band reference or a band count the input
        cannot satisfy, so that metadata requests fail as the image request would.
        """
        return bands

    @abstractmethod
    def apply(self, raster: Raster, rule: RasterFunction, args: A, stats: Stats | None) -> tuple[Raster, Stats | None]:
        """``raster`` processed, and the statistics that still describe the result (None: unknown).

        ``stats`` are the service statistics of the input bands, or None; ``rule`` gives the name, the parameter
        for errors and the ``outputPixelType``.
        """


def lower_keys(obj: Mapping[Any, Any]) -> dict[str, Any]:
    """``obj`` with lower-cased string keys (ArcGIS JSON keys match case-insensitively)."""
    return {str(k).lower(): v for k, v in obj.items()}


def unwrap(value: Any) -> Any:
    """The value of a template's ``RasterFunctionVariable`` wrapper, or ``value`` itself."""
    if isinstance(value, dict):
        lowered = lower_keys(value)
        if str(lowered.get("type", "")).lower() == "rasterfunctionvariable":
            return lowered.get("value")
    return value


class ArgumentReader:
    """Case-insensitive typed access to one function's arguments; errors name the function and the argument."""

    def __init__(self, function: str, raw: Mapping[Any, Any], parameter: str) -> None:
        self.function = function
        self.parameter = parameter
        self._values = {k: unwrap(v) for k, v in lower_keys(raw).items()}

    def raw(self, *names: str) -> Any:
        """The first of ``names`` that is present and not null/empty, or None."""
        for name in names:
            value = self._values.get(name.lower())
            if value is not None and value != "" and value != []:
                return value
        return None

    def error(self, name: str, problem: str) -> InvalidParameter:
        """An InvalidParameter naming this argument."""
        return InvalidParameter(self.parameter, f"{self.function} argument '{name}' {problem}")

    def unsupported(self, problem: str) -> UnsupportedParameter:
        """An UnsupportedParameter about this function."""
        return UnsupportedParameter(self.parameter, f"{self.function}: {problem}")

    def number(self, name: str, default: float, *aliases: str, minimum: float | None = None,
               maximum: float | None = None, positive: bool = False) -> float:
        """A finite number within the given bounds."""
        value = self.raw(name, *aliases)
        if value is None:
            return default
        number = self.to_float(value, name)
        if positive and number <= 0:
            raise self.error(name, "must be greater than 0")
        if minimum is not None and number < minimum:
            raise self.error(name, f"must be at least {minimum:g}")
        if maximum is not None and number > maximum:
            raise self.error(name, f"must be at most {maximum:g}")
        return number

    def integer(self, name: str, default: int, *aliases: str) -> int:
        """An integer (``3.0`` is accepted, ``3.5`` is not)."""
        value = self.raw(name, *aliases)
        if value is None:
            return default
        number = self.to_float(value, name)
        if not number.is_integer():
            raise self.error(name, "must be an integer")
        return int(number)

    def boolean(self, name: str, default: bool, *aliases: str) -> bool:
        """true/false (also 1/0 and their strings)."""
        value = self.raw(name, *aliases)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
            return value.strip().lower() in ("true", "1")
        raise self.error(name, "must be true or false")

    def numbers(self, name: str, *aliases: str) -> tuple[float, ...] | None:
        """A list of finite numbers, given as a JSON array or a comma/space separated string."""
        value = self.raw(name, *aliases)
        if value is None:
            return None
        items: list[Any]
        if isinstance(value, str):
            items = [p for p in re.split(r"[\s,;]+", value.strip()) if p]
        elif isinstance(value, list):
            items = value
        else:
            items = [value]
        return tuple(self.to_float(item, name) for item in items)

    def to_float(self, value: Any, name: str) -> float:
        """``value`` as a finite float; errors name argument ``name``."""
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.error(name, f"must be a number, not {_json_type(value)}")
        try:
            number = float(value)
        except ValueError:
            raise self.error(name, f"'{value}' is not a number") from None
        if not math.isfinite(number):
            raise self.error(name, "must be a finite number")
        return number


def _json_type(value: Any) -> str:
    """The JSON type name of a decoded value, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return "a number"
