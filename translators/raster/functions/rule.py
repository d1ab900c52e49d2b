"""The ``renderingRule`` envelope: parsing it into a :class:`RasterFunction` tree, its band count, and applying it.

A rendering rule is parsed once per request, validating every argument up front so that a malformed rule is a 400
before any backend is asked for pixels, and is then applied to the fetched raster.  Functions chain through their
``Raster`` argument, innermost first.  The functions themselves are found in the registry by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from translators.errors import InvalidParameter, UnsupportedParameter
from translators.params import parse_json
from translators.raster.functions import registry
from translators.raster.functions.base import ArgumentReader, Function, RasterFunction, Stats, lower_keys
from translators.raster.functions.helpers import convert, values_of
from translators.raster.model import PIXEL_TYPES, BandStats, Raster

__all__ = ["apply_rendering_rule", "output_band_count", "parse_rendering_rule"]


# Deeper chains than this are certainly not a real rendering rule; the limit keeps recursion bounded.
_MAX_DEPTH: Final = 16


def parse_rendering_rule(value: str | dict[str, Any] | None, parameter: str = "renderingRule") -> RasterFunction | None:
    """Parse a ``renderingRule`` (JSON text or an already decoded dict) into a :class:`RasterFunction`.

    Returns None for an absent or blank rule.  Raises :class:`InvalidParameter` naming ``parameter`` for malformed
    JSON, an unknown function or a malformed argument (the message names the argument), and
    :class:`UnsupportedParameter` for a well-formed ArcGIS function, type or option this gateway does not compute.
    """
    if value is None:
        return None
    decoded: object = value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        decoded = parse_json(text, parameter)
    if not isinstance(decoded, dict):
        raise InvalidParameter(parameter, 'must be a JSON object such as {"rasterFunction": "Hillshade"}')
    return _parse_function(decoded, parameter, 0)


def _find_function(name: str, parameter: str) -> tuple[str, Function[Any]]:
    """The canonical name and the function called ``name``; refuses ArcGIS functions not computed here."""
    key = registry.function_key(name)
    known = registry.find(key) is not None or key in registry.NOT_IMPLEMENTED
    if not known and key.endswith("function") and key != "function":
        key = key[: -len("function")]  # the class names of templates: StretchFunction, BandArithmeticFunction...
    found = registry.find(key)
    if found is not None:
        return found
    if key in registry.NOT_IMPLEMENTED:
        raise UnsupportedParameter(parameter, f"raster function '{name}' is not supported by this service")
    raise InvalidParameter(parameter, f"unknown raster function '{name}'")


def _is_function(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    keys = lower_keys(value)
    return any(k in keys for k in ("rasterfunction", "functionname", "rasterfunctiondefinition")) or (
        isinstance(keys.get("function"), dict)
    )


def _parse_function(obj: Mapping[Any, Any], parameter: str, depth: int) -> RasterFunction:
    if depth > _MAX_DEPTH:
        raise InvalidParameter(parameter, f"raster functions are nested more than {_MAX_DEPTH} deep")
    keys = lower_keys(obj)
    if "rasterfunction" not in keys and "functionname" not in keys:
        definition = keys.get("rasterfunctiondefinition")
        if isinstance(definition, dict):
            return _parse_function(definition, parameter, depth + 1)
        if isinstance(keys.get("function"), dict):
            return _parse_template(keys, parameter, depth)
        raise InvalidParameter(parameter, "'rasterFunction' is required")
    name = keys.get("rasterfunction", keys.get("functionname"))
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameter(parameter, "'rasterFunction' must be a function name")
    raw_args = keys.get("rasterfunctionarguments", keys.get("functionarguments"))
    return _build(name.strip(), raw_args, keys.get("outputpixeltype"), parameter, depth)


def _parse_template(keys: Mapping[str, Any], parameter: str, depth: int) -> RasterFunction:
    """A raster function template: ``{"function": {"type": "StretchFunction", ...}, "arguments": {...}}``."""
    function = lower_keys(keys["function"])
    name = function.get("type") or function.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameter(parameter, "a raster function template needs 'function.type'")
    pixel_type = keys.get("outputpixeltype", function.get("pixeltype"))
    return _build(name.strip(), keys.get("arguments"), pixel_type, parameter, depth)


def _build(name: str, raw_args: Any, pixel_type: Any, parameter: str, depth: int) -> RasterFunction:
    canonical, function = _find_function(name, parameter)
    if raw_args is None:
        raw_args = {}
    if not isinstance(raw_args, dict):
        raise InvalidParameter(parameter, "'rasterFunctionArguments' must be a JSON object")
    args = ArgumentReader(canonical, raw_args, parameter)
    nested: RasterFunction | None = None
    raster_arg = args.raw("Raster", "DEM")  # SOAP-era surface rules name their input DEM
    if _is_function(raster_arg):
        nested = _parse_function(raster_arg, parameter, depth + 1)
    elif isinstance(raster_arg, dict | list):
        # Item ids, URLs or other datasets as input: only this service's raster or a nested function is available.
        raise UnsupportedParameter(parameter, "a 'Raster' argument must be a nested function or the service raster")
    return RasterFunction(canonical, function.parse(args), _output_pixel_type(pixel_type, parameter), nested,
                          parameter)


def _output_pixel_type(value: Any, parameter: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidParameter(parameter, "'outputPixelType' must be a pixel type name such as U8 or F32")
    name = value.strip().upper()
    if name in ("", "UNKNOWN"):
        return None
    if name in PIXEL_TYPES:
        return name
    if name in ("C64", "C128"):
        raise UnsupportedParameter(parameter, f"complex 'outputPixelType' {name} is not supported")
    raise InvalidParameter(parameter, f"'outputPixelType' '{value}' is not one of {', '.join(PIXEL_TYPES)}, UNKNOWN")


def output_band_count(rule: RasterFunction, input_bands: int) -> int:
    """The number of bands ``rule`` produces from ``input_bands``; raises :class:`InvalidParameter` for a band
    reference (NDVI, BandArithmetic, ExtractBand) or a band count (Colormap) the input cannot satisfy."""
    bands = input_bands if rule.raster is None else output_band_count(rule.raster, input_bands)
    return registry.function(rule.name).band_count(rule, rule.arguments, bands)


def apply_rendering_rule(raster: Raster, rule: RasterFunction, stats: Sequence[BandStats] | None) -> Raster:
    """Apply ``rule`` (and the functions nested in it, innermost first) to ``raster``.

    ``stats`` are the service's statistics of the input bands (None: unknown); they give Stretch and the colour ramps
    their input range.  Raises :class:`InvalidParameter` (naming the rule's parameter) when the rule cannot apply to
    this raster, e.g. a band it refers to does not exist.
    """
    result, _ = _apply(raster, rule, tuple(stats) if stats is not None else None)
    return result


def _apply(raster: Raster, rule: RasterFunction, stats: Stats | None) -> tuple[Raster, Stats | None]:
    if rule.raster is not None:
        raster, stats = _apply(raster, rule.raster, stats)
    if stats is not None and len(stats) != raster.band_count:
        stats = None  # statistics of other bands describe nothing here
    result, out_stats = registry.function(rule.name).apply(raster, rule, rule.arguments, stats)
    if rule.output_pixel_type is not None and result.pixel_type != rule.output_pixel_type:
        # Functions that pass their input through (None, Clip, ExtractBand, no stretch) convert here.
        values, valid = values_of(result)
        result = convert(result, values, valid, rule.output_pixel_type)
        out_stats = None
    return result, out_stats
