"""ArcGIS raster functions (the ImageServer ``renderingRule``), computed with numpy on real pixel values.

A rendering rule is parsed once per request into a :class:`RasterFunction` tree, validating every argument up
front so that a malformed rule is a 400 before any backend is asked for pixels, and is then applied to the fetched
:class:`~translators.raster.model.Raster`.  Functions chain through their ``Raster`` argument, innermost first.

Accepted forms: the REST JSON ``{"rasterFunction", "rasterFunctionArguments", "outputPixelType", "variableName"}``
(as a string or a dict); the same with ``functionName``/``functionArguments``; a raster function template
(``{"function": {"type": "StretchFunction"}, "arguments": {...}}``, also under ``rasterFunctionDefinition``) whose
``RasterFunctionVariable`` wrappers are unwrapped.  Function and argument names match case-insensitively; spaces,
underscores and a ``Function`` suffix in function names are ignored (``Band Arithmetic``, ``HillshadeFunction``);
``variableName`` and arguments a function does not know are ignored, as ArcGIS Server does.

Supported functions and the decisions that are ours rather than documented ArcGIS behaviour:

* ``None``/``Identity``: the raster unchanged.
* ``Stretch``: ``StretchType`` 0 none, 3 standard deviation (``NumberOfStandardDeviations``, default 2), 4 histogram
  equalization, 5 minimum-maximum, 6 percent clip (``MinPercent``/``MaxPercent``, defaults 0.25/0.5).  ``Min``/``Max``
  are the *output* range (default 0..255), as in the ArcGIS JSON; the input range comes from ``Statistics``
  (``[[min, max, mean, stddev], ...]``), else the service statistics, else (or with ``DRA``) the statistics of the
  raster itself.  Percent clip and histogram equalization always use the raster's own valid values (there are no
  service histograms).  Gamma: ``t ** (1 / gamma)`` on the normalised value, so gamma > 1 brightens mid-tones;
  ``ComputeGamma`` picks, per band, the gamma that maps the band mean to mid-grey.  Output U8 while the output range
  fits 0..255 (else U16, S16 or F32).  Sigmoid (9) is refused.
* ``Colormap``: explicit ``Colormap`` ``[[value, r, g, b], ...]`` (integer values; pixels are rounded to the nearest
  integer; values without an entry become transparent), ``ColormapName`` (``Random``, ``Gray``, ``Elevation``,
  ``NDVI``, ``NDVI2``, ``NDVI3``) or ``ColorRamp``/``ColorrampName`` (a ramp name or an algorithmic/multipart color
  ramp object).  Named maps and ramps are approximations of ArcGIS's colours, interpolated in RGB.  They index U1..U8
  pixels directly (0..255, e.g. the scaled NDVI) and stretch any other type linearly over the statistics (service, else
  the raster's min/max) into 256 colours.  Output: 3-band U8 RGB.  The input must have a single band.
* ``Hillshade`` (``Azimuth`` 315, ``Altitude`` 45, ``ZFactor`` 1, ``SlopeType`` 1 degree / 3 scaled with
  ``PSPower``/``PSZFactor``), ``Slope`` (degrees, ``SlopeType`` 2 percent rise, 3 scaled) and ``Aspect`` (degrees
  clockwise from north, flat = -1): Horn's 3x3 method, as gdaldem and ArcGIS.  They use the first band.  Edge pixels
  are computed from a linearly extrapolated border (exact for planes) unless ``RemoveEdgeEffect`` is true, which makes
  them NoData; a NoData neighbour takes the centre cell's value (ArcGIS's rule), a NoData centre stays NoData.
  Geographic rasters: cell sizes are converted to metres (``sr.meters_per_unit`` per degree, times the cosine of each
  row's latitude for x), so ``ZFactor`` 1 means metres of elevation, as the ArcGIS functions document.  Projected
  rasters use their own units, Web Mercator's scale distortion included (as ArcGIS does).  The scaled slope type
  adds ``cellsize_m ** PSPower * PSZFactor`` to the z-factor (cell height in metres).  ``HillshadeType`` 1
  (multidirectional) is refused.  Output: hillshade U8 (0..255), slope and aspect F32.
* ``NDVI`` (``VisibleBandID``, ``InfraredBandID``, 0-based): ArcGIS's default scaled output ``ndvi * 100 + 100`` as
  U8 (0..200, 100 meaning an NDVI of 0); ``Scientific``/``ScientificOutput`` true (or ``Scaled`` false) gives F32
  -1..1.  ``(NIR + Red) == 0`` is NoData.
* ``BandArithmetic``: ``Method`` 0 evaluates ``BandIndexes`` as an expression (numbers, ``B1``..``Bn`` 1-based,
  ``+ - * /``, parentheses, unary minus) with a small parser, never ``eval``; the predefined methods 1-13 and 16-29
  take ``BandIndexes`` as a space-separated list of 1-based bands followed by their constants (documented defaults
  when omitted); 14 (MTVI2) and 15 (RTVICore) are refused.  Output F32 (Sultan: 3 bands).
* ``Remap``: ``InputRanges`` ``[min, max)`` pairs mapped to ``OutputValues`` (first match wins), ``NoDataRanges``
  ``[min, max)`` become NoData (before remapping), ``AllowUnmatched`` (default true) keeps other values, else they
  become ``ReplacementValue`` or NoData.  The input pixel type is kept when every output value fits it, else F32.
* ``Clip``: ``ClippingGeometry`` envelope or polygon (even-odd rule, so holes work), in the raster's spatial
  reference or its own ``spatialReference``; ``ClippingType`` (alias ``ClipType``) 1 keeps the inside, 2 keeps the
  outside; a pixel is inside when its centre is.  Pixels clipped away become NoData; values are untouched.
* ``ExtractBand``: ``BandIDs`` (0-based) or ``BandNames`` (the raster's band names, else ``Band_1``...);
  ``MissingBandAction`` 0 (best match: an id past the last band takes the last band, ArcGIS's default) or 1 (fail).
  ``BandWavelengths`` is refused: the service has no wavelength metadata.

NoData: every output mask is the input mask AND a valid computation (finite result; division by zero, square roots
of negatives and overflows are NoData).  Values under a False mask are written as 0.  ``outputPixelType`` (other than
UNKNOWN) converts a function's result by rounding and clamping to the type's range.  Service statistics are only
used while they still describe the data: after a function that changes values they are dropped (ExtractBand and
Clip carry them along), and they are ignored when their count differs from the raster's band count.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias, TypeVar

import numpy as np
from numpy.typing import NDArray

from translators.crs import SpatialRef, resolve_sr, transform_point
from translators.errors import InvalidParameter, UnsupportedParameter
from translators.params import parse_json
from translators.raster.model import PIXEL_TYPES, BandStats, Raster

__all__ = [
    "AspectArgs",
    "Band",
    "BandArithmeticArgs",
    "BinOp",
    "ClipArgs",
    "ColormapArgs",
    "Expr",
    "ExtractBandArgs",
    "HillshadeArgs",
    "NDVIArgs",
    "Neg",
    "NoArgs",
    "Num",
    "RasterFunction",
    "RemapArgs",
    "SlopeArgs",
    "StretchArgs",
    "apply_rendering_rule",
    "output_band_count",
    "parse_rendering_rule",
]

FloatArray: TypeAlias = NDArray[np.float64]
BoolArray: TypeAlias = NDArray[np.bool_]
Stats: TypeAlias = tuple[BandStats, ...]
RGB: TypeAlias = tuple[int, int, int]
Ring: TypeAlias = tuple[tuple[float, float], ...]

_T = TypeVar("_T")

# Deeper chains than this are certainly not a real rendering rule; the limit keeps recursion bounded.
_MAX_DEPTH: Final = 16
# Bounds on user expressions (BandArithmetic method 0), so a request cannot make the parser recurse without end.
_MAX_EXPRESSION_CHARS: Final = 2000
_MAX_EXPRESSION_NESTING: Final = 64
# Clip rasterisation works on blocks of rows x edges of at most this many intersections, to bound memory.
_CLIP_BLOCK_CELLS: Final = 4_000_000


# --------------------------------------------------------------------------------------------------------------------
# Arguments of each function (validated at parse time)


@dataclass(frozen=True)
class NoArgs:
    """Arguments of ``None``/``Identity``: there are none."""


@dataclass(frozen=True)
class StretchArgs:
    """``Stretch``: type, its parameters, the output range, optional statistics and gamma."""

    stretch_type: int = 0
    std_devs: float = 2.0
    out_min: float = 0.0
    out_max: float = 255.0
    min_percent: float = 0.25
    max_percent: float = 0.5
    statistics: Stats = ()
    gamma: tuple[float, ...] = ()
    use_gamma: bool = False
    compute_gamma: bool = False
    dra: bool = False


@dataclass(frozen=True)
class ColormapArgs:
    """``Colormap``: explicit ``entries`` (value, r, g, b), a ramp as (position 0..1, colour) stops, or random."""

    entries: tuple[tuple[float, int, int, int], ...] = ()
    stops: tuple[tuple[float, RGB], ...] = ()
    random: bool = False


@dataclass(frozen=True)
class HillshadeArgs:
    """``Hillshade``: sun position, z-factor and the optional scaled z-factor adjustment."""

    azimuth: float = 315.0
    altitude: float = 45.0
    z_factor: float = 1.0
    scaled: bool = False
    ps_power: float = 0.664
    ps_z_factor: float = 0.024
    remove_edge_effect: bool = False


@dataclass(frozen=True)
class SlopeArgs:
    """``Slope``: 1 degrees, 2 percent rise, 3 degrees with the scaled z-factor."""

    slope_type: int = 1
    z_factor: float = 1.0
    ps_power: float = 0.664
    ps_z_factor: float = 0.024
    remove_edge_effect: bool = False


@dataclass(frozen=True)
class AspectArgs:
    """``Aspect``: only the edge behaviour."""

    remove_edge_effect: bool = False


@dataclass(frozen=True)
class NDVIArgs:
    """``NDVI``: 0-based red and near-infrared bands; scientific output is F32 -1..1 instead of U8 0..200."""

    visible: int = 0
    infrared: int = 1
    scientific: bool = False


@dataclass(frozen=True)
class Num:
    """A number in a band expression."""

    value: float


@dataclass(frozen=True)
class Band:
    """``Bn`` in a band expression (1-based)."""

    index: int


@dataclass(frozen=True)
class Neg:
    """Unary minus."""

    operand: Expr


@dataclass(frozen=True)
class BinOp:
    """``left op right`` with op one of ``+ - * /``."""

    op: str
    left: Expr
    right: Expr


Expr: TypeAlias = Num | Band | Neg | BinOp


@dataclass(frozen=True)
class BandArithmeticArgs:
    """``BandArithmetic``: an expression (method 0) or a predefined method's 1-based bands and constants."""

    method: int
    expression: Expr | None = None
    bands: tuple[int, ...] = ()
    constants: tuple[float, ...] = ()


@dataclass(frozen=True)
class RemapArgs:
    """``Remap``: ``[min, max)`` ranges to values, NoData ranges and what happens to unmatched values."""

    input_ranges: tuple[tuple[float, float], ...] = ()
    output_values: tuple[float, ...] = ()
    nodata_ranges: tuple[tuple[float, float], ...] = ()
    allow_unmatched: bool = True
    replacement: float | None = None


@dataclass(frozen=True)
class ClipArgs:
    """``Clip``: rings (x/y) in ``sr`` (None: the raster's); ``keep_inside`` is ClippingType 1."""

    rings: tuple[Ring, ...]
    sr: SpatialRef | None = None
    envelope: bool = False
    keep_inside: bool = True


@dataclass(frozen=True)
class ExtractBandArgs:
    """``ExtractBand``: 0-based ids or names, and whether a missing band fails or takes the best match."""

    band_ids: tuple[int, ...] = ()
    band_names: tuple[str, ...] = ()
    fail_missing: bool = False


Arguments: TypeAlias = (
    NoArgs | StretchArgs | ColormapArgs | HillshadeArgs | SlopeArgs | AspectArgs | NDVIArgs | BandArithmeticArgs
    | RemapArgs | ClipArgs | ExtractBandArgs
)


@dataclass(frozen=True)
class RasterFunction:
    """One parsed raster function: canonical ``name``, typed ``arguments``, optional ``output_pixel_type`` (ArcGIS
    name) and the nested function producing its input (``raster``; None: the service's raster).

    ``parameter`` is the request parameter the rule came from, so that errors found while applying it name it.
    """

    name: str
    arguments: Arguments
    output_pixel_type: str | None = None
    raster: RasterFunction | None = None
    parameter: str = field(default="renderingRule", compare=False)


# --------------------------------------------------------------------------------------------------------------------
# Parsing


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


_FUNCTIONS: Final = {
    "none": "None", "identity": "Identity", "stretch": "Stretch", "colormap": "Colormap", "hillshade": "Hillshade",
    "slope": "Slope", "aspect": "Aspect", "ndvi": "NDVI", "bandarithmetic": "BandArithmetic", "remap": "Remap",
    "clip": "Clip", "extractband": "ExtractBand", "extractbands": "ExtractBand",
}

# ArcGIS's other well-known functions: well-formed requests we do not compute (refused rather than unknown).
_NOT_IMPLEMENTED: Final = frozenset({
    "argstatistics", "arithmetic", "ccdc", "classify", "colormaptorgb", "colorspaceconversion", "complex",
    "compositeband", "computechange", "contrastbrightness", "convolution", "createcolorcomposite", "curvature",
    "detectchange", "elevationvoidfill", "geometric", "grayscale", "greyscale", "local", "mask", "mlclassify",
    "multidimensionalraster", "multidimensionalfilter", "pansharpening", "pansharpen", "processrastercollection",
    "rastercalculator", "recast", "resample", "segmentmeanshift", "shadedrelief", "speckle", "spectralconversion",
    "spectralunmixing", "statistics", "statisticshistogram", "statisticshistograms", "surfaceparam",
    "surfaceparamfunction", "tasseledcap", "threshold", "transposebits", "trend", "trendanalysis", "trendtorgb",
    "unitconversion", "vectorfield", "vectorfieldrenderer", "weightedoverlay", "weightedsum",
})


def _canonical_name(name: str, parameter: str) -> str:
    key = re.sub(r"[\s_\-]", "", name).lower()
    known = key in _FUNCTIONS or key in _NOT_IMPLEMENTED
    if not known and key.endswith("function") and key != "function":
        key = key[: -len("function")]  # the class names of templates: StretchFunction, BandArithmeticFunction...
    if key in _FUNCTIONS:
        return _FUNCTIONS[key]
    if key in _NOT_IMPLEMENTED:
        raise UnsupportedParameter(parameter, f"raster function '{name}' is not supported by this service")
    raise InvalidParameter(parameter, f"unknown raster function '{name}'")


def _lower_keys(obj: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in obj.items()}


def _unwrap(value: Any) -> Any:
    """The value of a template's ``RasterFunctionVariable`` wrapper, or ``value`` itself."""
    if isinstance(value, dict):
        lowered = _lower_keys(value)
        if str(lowered.get("type", "")).lower() == "rasterfunctionvariable":
            return lowered.get("value")
    return value


def _is_function(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    keys = _lower_keys(value)
    return any(k in keys for k in ("rasterfunction", "functionname", "rasterfunctiondefinition")) or (
        isinstance(keys.get("function"), dict)
    )


def _parse_function(obj: Mapping[Any, Any], parameter: str, depth: int) -> RasterFunction:
    if depth > _MAX_DEPTH:
        raise InvalidParameter(parameter, f"raster functions are nested more than {_MAX_DEPTH} deep")
    keys = _lower_keys(obj)
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
    function = _lower_keys(keys["function"])
    name = function.get("type") or function.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameter(parameter, "a raster function template needs 'function.type'")
    pixel_type = keys.get("outputpixeltype", function.get("pixeltype"))
    return _build(name.strip(), keys.get("arguments"), pixel_type, parameter, depth)


def _build(name: str, raw_args: Any, pixel_type: Any, parameter: str, depth: int) -> RasterFunction:
    canonical = _canonical_name(name, parameter)
    if raw_args is None:
        raw_args = {}
    if not isinstance(raw_args, dict):
        raise InvalidParameter(parameter, "'rasterFunctionArguments' must be a JSON object")
    args = _Args(canonical, raw_args, parameter)
    nested: RasterFunction | None = None
    raster_arg = args.raw("Raster", "DEM")  # SOAP-era surface rules name their input DEM
    if _is_function(raster_arg):
        nested = _parse_function(raster_arg, parameter, depth + 1)
    elif isinstance(raster_arg, dict | list):
        # Item ids, URLs or other datasets as input: only this service's raster or a nested function is available.
        raise UnsupportedParameter(parameter, "a 'Raster' argument must be a nested function or the service raster")
    return RasterFunction(canonical, _PARSERS[canonical](args), _output_pixel_type(pixel_type, parameter), nested,
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


class _Args:
    """Case-insensitive typed access to one function's arguments; errors name the function and the argument."""

    def __init__(self, function: str, raw: Mapping[Any, Any], parameter: str) -> None:
        self.function = function
        self.parameter = parameter
        self._values = {k: _unwrap(v) for k, v in _lower_keys(raw).items()}

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


def _parse_none(args: _Args) -> Arguments:
    return NoArgs()


_STRETCH_TYPES: Final = {0: "none", 3: "standard deviation", 4: "histogram equalization", 5: "minimum-maximum",
                         6: "percent clip"}
_STRETCH_UNSUPPORTED: Final = {7: "gaussian", 8: "histogram specification", 9: "sigmoid"}


def _parse_stretch(args: _Args) -> Arguments:
    stretch_type = args.integer("StretchType", 0)
    if stretch_type in _STRETCH_UNSUPPORTED:
        raise args.unsupported(f"StretchType {stretch_type} ({_STRETCH_UNSUPPORTED[stretch_type]}) is not supported")
    if stretch_type not in _STRETCH_TYPES:
        choices = ", ".join(f"{k} ({v})" for k, v in _STRETCH_TYPES.items())
        raise args.error("StretchType", f"must be one of {choices}")
    out_min = args.number("Min", 0.0)
    out_max = args.number("Max", 255.0)
    if out_max <= out_min:
        raise args.error("Max", "must be greater than 'Min' (they are the output range)")
    min_percent = args.number("MinPercent", 0.25, minimum=0.0, maximum=100.0)
    max_percent = args.number("MaxPercent", 0.5, minimum=0.0, maximum=100.0)
    if min_percent + max_percent >= 100.0:
        raise args.error("MaxPercent", "plus 'MinPercent' must be less than 100")
    gamma = args.numbers("Gamma") or ()
    if any(g <= 0 for g in gamma):
        raise args.error("Gamma", "values must be greater than 0")
    return StretchArgs(
        stretch_type=stretch_type,
        std_devs=args.number("NumberOfStandardDeviations", 2.0, "NumberOfStandardDeviation", positive=True),
        out_min=out_min,
        out_max=out_max,
        min_percent=min_percent,
        max_percent=max_percent,
        statistics=_parse_statistics(args),
        gamma=gamma,
        use_gamma=args.boolean("UseGamma", False),
        compute_gamma=args.boolean("ComputeGamma", False),
        dra=args.boolean("DRA", False),
    )


def _parse_statistics(args: _Args) -> Stats:
    value = args.raw("Statistics")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise args.error("Statistics", "must be an array of [min, max, mean, stddev] per band")
    if len(value) == 4 and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        value = [value]  # a single band's statistics given flat
    stats: list[BandStats] = []
    for item in value:
        if isinstance(item, dict):
            keys = _lower_keys(item)
            item = [keys.get("min"), keys.get("max"), keys.get("mean", keys.get("avg")),
                    keys.get("stddev", keys.get("standarddeviation"))]
        if not isinstance(item, list) or len(item) < 4:
            raise args.error("Statistics", "must be an array of [min, max, mean, stddev] per band")
        low, high, mean, std = (args.to_float(v, "Statistics") for v in item[:4])
        if high < low or std < 0:
            raise args.error("Statistics", "needs min <= max and a non-negative standard deviation")
        stats.append(BandStats(low, high, mean, std))
    return tuple(stats)


def _parse_colormap(args: _Args) -> Arguments:
    explicit = args.raw("Colormap")
    if explicit is not None:
        return ColormapArgs(entries=_parse_colormap_entries(args, explicit))
    name = args.raw("ColormapName")
    if name is not None:
        if not isinstance(name, str):
            raise args.error("ColormapName", "must be a string")
        key = _ramp_key(name)
        if key == "random":
            return ColormapArgs(random=True)
        if key not in _COLORMAPS:
            raise args.error("ColormapName", f"'{name}' is not one of Random, {', '.join(_COLORMAP_TITLES)}")
        return ColormapArgs(stops=_COLORMAPS[key])
    ramp = args.raw("ColorRamp", "ColorrampName")
    if ramp is not None:
        return ColormapArgs(stops=_parse_color_ramp(args, ramp))
    raise args.error("Colormap", "is required (or 'ColormapName' or 'ColorRamp')")


def _parse_colormap_entries(args: _Args, value: Any) -> tuple[tuple[float, int, int, int], ...]:
    if not isinstance(value, list) or not value:
        raise args.error("Colormap", "must be a non-empty array of [value, red, green, blue]")
    entries: dict[float, tuple[float, int, int, int]] = {}
    for item in value:
        if not isinstance(item, list) or len(item) < 4:
            raise args.error("Colormap", "entries must be [value, red, green, blue]")
        number = args.to_float(item[0], "Colormap")
        if not number.is_integer():
            raise args.error("Colormap", f"value {number:g} is not an integer (colormaps apply to integer pixels)")
        r, g, b = (_channel(args, "Colormap", c) for c in item[1:4])
        entries[number] = (number, r, g, b)  # a repeated value: the last entry wins
    return tuple(sorted(entries.values()))


def _channel(args: _Args, name: str, value: Any) -> int:
    number = args.to_float(value, name)
    if not (number.is_integer() and 0 <= number <= 255):
        raise args.error(name, f"colour component {value!r} is not an integer 0..255")
    return int(number)


def _ramp_key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _stops(*points: tuple[float, RGB]) -> tuple[tuple[float, RGB], ...]:
    """Stops given on the 0..255 index scale, stored on 0..1."""
    return tuple((position / 255.0, colour) for position, colour in points)


# ArcGIS's named colormaps, built for U8 input (NDVI ones for the scaled NDVI, where 100 is an NDVI of 0).
_COLORMAPS: Final[dict[str, tuple[tuple[float, RGB], ...]]] = {
    "gray": _stops((0, (0, 0, 0)), (255, (255, 255, 255))),
    "grey": _stops((0, (0, 0, 0)), (255, (255, 255, 255))),
    "elevation": _stops((0, (0, 255, 255)), (128, (128, 0, 128)), (255, (0, 0, 0))),
    "ndvi": _stops((0, (0, 0, 160)), (100, (0, 0, 255)), (110, (150, 100, 50)), (130, (255, 0, 0)),
                   (145, (255, 165, 0)), (160, (255, 255, 0)), (180, (0, 200, 0)), (200, (0, 100, 0)),
                   (255, (0, 0, 0))),
    "ndvi2": _stops((0, (255, 255, 255)), (100, (255, 255, 255)), (120, (0, 160, 0)), (140, (128, 128, 128)),
                    (160, (128, 0, 128)), (175, (143, 0, 255)), (190, (0, 0, 139)), (255, (0, 0, 0))),
    "ndvi3": _stops((0, (0, 0, 255)), (100, (0, 0, 255)), (120, (255, 0, 0)), (150, (255, 165, 0)),
                    (200, (0, 200, 0)), (255, (0, 128, 0))),
}
_COLORMAP_TITLES: Final = ("Gray", "Elevation", "NDVI", "NDVI2", "NDVI3")

# A few of ArcGIS's named colour ramps (approximated by their key colours).
_COLOR_RAMPS: Final[dict[str, tuple[tuple[float, RGB], ...]]] = {
    "blacktowhite": _stops((0, (0, 0, 0)), (255, (255, 255, 255))),
    "whitetoblack": _stops((0, (255, 255, 255)), (255, (0, 0, 0))),
    "yellowtored": _stops((0, (255, 255, 128)), (255, (242, 0, 0))),
    "yellowtodarkred": _stops((0, (255, 255, 128)), (128, (242, 85, 0)), (255, (107, 0, 0))),
    "redtogreen": _stops((0, (245, 0, 0)), (128, (255, 255, 0)), (255, (0, 168, 0))),
    "greentored": _stops((0, (0, 168, 0)), (128, (255, 255, 0)), (255, (245, 0, 0))),
    "bluetored": _stops((0, (0, 0, 255)), (128, (255, 255, 255)), (255, (255, 0, 0))),
    "slope": _stops((0, (56, 168, 0)), (128, (255, 255, 0)), (255, (255, 0, 0))),
    "aspect": _stops((0, (255, 0, 0)), (64, (255, 255, 0)), (128, (0, 255, 255)), (192, (0, 0, 255)),
                     (255, (255, 0, 0))),
    "elevation1": _stops((0, (175, 240, 233)), (64, (255, 255, 179)), (128, (0, 128, 64)), (192, (128, 64, 0)),
                         (255, (255, 255, 255))),
    "elevation2": _stops((0, (56, 168, 0)), (128, (255, 255, 0)), (192, (168, 112, 0)), (255, (255, 255, 255))),
    "partialspectrum": _stops((0, (255, 255, 0)), (85, (255, 0, 0)), (170, (255, 0, 255)), (255, (0, 0, 255))),
    "spectrumfullbright": _stops((0, (255, 0, 0)), (51, (255, 255, 0)), (102, (0, 255, 0)), (153, (0, 255, 255)),
                                 (204, (0, 0, 255)), (255, (255, 0, 255))),
}


def _parse_color_ramp(args: _Args, value: Any) -> tuple[tuple[float, RGB], ...]:
    if isinstance(value, str):
        key = _ramp_key(value)
        if key in _COLOR_RAMPS:
            return _COLOR_RAMPS[key]
        if key in _COLORMAPS:
            return _COLORMAPS[key]
        raise args.error("ColorRamp", f"'{value}' is not a known colour ramp name")
    if not isinstance(value, dict):
        raise args.error("ColorRamp", "must be a colour ramp name or a colour ramp object")
    keys = _lower_keys(value)
    kind = str(keys.get("type", "")).lower()
    if kind == "multipart":
        parts = keys.get("colorramps")
        if not isinstance(parts, list) or not parts:
            raise args.error("ColorRamp", "a multipart ramp needs 'colorRamps'")
        pieces = [_algorithmic(args, part) for part in parts]
        stops: list[tuple[float, RGB]] = []
        for i, (start, end) in enumerate(pieces):
            # Each part covers an equal share; the next part starts just after this one ends.
            stops.append((i / len(pieces) + (1e-9 if i else 0.0), start))
            stops.append(((i + 1) / len(pieces), end))
        return tuple(stops)
    start, end = _algorithmic(args, value)
    return ((0.0, start), (1.0, end))


def _algorithmic(args: _Args, value: Any) -> tuple[RGB, RGB]:
    """The end colours of an algorithmic ramp; interpolated in RGB whatever its ``algorithm``."""
    keys = _lower_keys(value) if isinstance(value, dict) else {}
    if str(keys.get("type", "algorithmic")).lower() != "algorithmic":
        raise args.error("ColorRamp", "parts must be algorithmic ramps with 'fromColor' and 'toColor'")
    colours: list[RGB] = []
    for name in ("fromcolor", "tocolor"):
        colour = keys.get(name)
        if not isinstance(colour, list) or len(colour) < 3:
            raise args.error("ColorRamp", "needs 'fromColor' and 'toColor' as [r, g, b(, a)]")
        r, g, b = (_channel(args, "ColorRamp", c) for c in colour[:3])
        colours.append((r, g, b))
    return colours[0], colours[1]


_SLOPE_TYPES: Final = {"degree": 1, "degrees": 1, "percentrise": 2, "percent": 2, "scaled": 3, "adjusted": 3}


def _slope_type(args: _Args, allowed: Sequence[int]) -> int:
    value = args.raw("SlopeType")
    if isinstance(value, str) and _ramp_key(value) in _SLOPE_TYPES:
        slope_type = _SLOPE_TYPES[_ramp_key(value)]
    else:
        slope_type = args.integer("SlopeType", 1)
    if slope_type not in allowed:
        names = {1: "1 (degree)", 2: "2 (percent rise)", 3: "3 (scaled)"}
        raise args.error("SlopeType", f"must be {' or '.join(names[a] for a in allowed)}")
    return slope_type


def _parse_hillshade(args: _Args) -> Arguments:
    hillshade_type = args.integer("HillshadeType", 0)
    if hillshade_type == 1:
        raise args.unsupported("HillshadeType 1 (multidirectional) is not supported")
    if hillshade_type != 0:
        raise args.error("HillshadeType", "must be 0 (traditional) or 1 (multidirectional)")
    return HillshadeArgs(
        azimuth=args.number("Azimuth", 315.0),
        altitude=args.number("Altitude", 45.0, minimum=0.0, maximum=90.0),
        z_factor=args.number("ZFactor", 1.0),
        scaled=_slope_type(args, (1, 3)) == 3,
        ps_power=args.number("PSPower", 0.664, minimum=0.0),
        ps_z_factor=args.number("PSZFactor", 0.024, "PSFactor", minimum=0.0),
        remove_edge_effect=args.boolean("RemoveEdgeEffect", False),
    )


def _parse_slope(args: _Args) -> Arguments:
    return SlopeArgs(
        slope_type=_slope_type(args, (1, 2, 3)),
        z_factor=args.number("ZFactor", 1.0),
        ps_power=args.number("PSPower", 0.664, minimum=0.0),
        ps_z_factor=args.number("PSZFactor", 0.024, "PSFactor", minimum=0.0),
        remove_edge_effect=args.boolean("RemoveEdgeEffect", False),
    )


def _parse_aspect(args: _Args) -> Arguments:
    return AspectArgs(remove_edge_effect=args.boolean("RemoveEdgeEffect", False))


def _band_id(args: _Args, name: str, default: int) -> int:
    band = args.integer(name, default)
    if band < 0:
        raise args.error(name, "must be a 0-based band index (>= 0)")
    return band


def _parse_ndvi(args: _Args) -> Arguments:
    for name in ("VisibleBandName", "InfraredBandName", "VisibleBandWavelength", "InfraredBandWavelength"):
        if args.raw(name) is not None:
            raise args.unsupported(f"'{name}' is not supported; give 'VisibleBandID' and 'InfraredBandID'")
    if args.raw("Scientific", "ScientificOutput") is not None:
        scientific = args.boolean("Scientific", False, "ScientificOutput")
    else:
        scientific = not args.boolean("Scaled", True)  # the JavaScript SDK's spelling of the same switch
    return NDVIArgs(_band_id(args, "VisibleBandID", 0), _band_id(args, "InfraredBandID", 1), scientific)


def _parse_remap(args: _Args) -> Arguments:
    ranges = _pairs(args, "InputRanges")
    outputs = args.numbers("OutputValues") or ()
    if len(outputs) != len(ranges):
        raise args.error("OutputValues", f"needs one value per input range ({len(ranges)}), got {len(outputs)}")
    nodata = _pairs(args, "NoDataRanges")
    if not ranges and not nodata:
        raise args.error("InputRanges", "is required (or 'NoDataRanges')")
    replacement = args.raw("ReplacementValue")
    return RemapArgs(ranges, outputs, nodata, args.boolean("AllowUnmatched", True),
                     None if replacement is None else args.number("ReplacementValue", 0.0))


def _pairs(args: _Args, name: str) -> tuple[tuple[float, float], ...]:
    values = args.numbers(name) or ()
    if len(values) % 2:
        raise args.error(name, "must hold [min, max) pairs (an even count of numbers)")
    pairs = tuple((values[i], values[i + 1]) for i in range(0, len(values), 2))
    for low, high in pairs:
        if high < low:
            raise args.error(name, f"range [{low:g}, {high:g}) has max < min")
    return pairs


def _parse_clip(args: _Args) -> Arguments:
    geometry = args.raw("ClippingGeometry")
    if isinstance(geometry, str):
        geometry = parse_json(geometry, args.parameter)
    if not isinstance(geometry, dict):
        raise args.error("ClippingGeometry", "is required: an envelope or polygon JSON object")
    keys = _lower_keys(geometry)
    sr: SpatialRef | None = None
    if keys.get("spatialreference"):
        try:
            sr = resolve_sr(keys["spatialreference"], "spatialReference")
        except InvalidParameter as exc:
            raise args.error("ClippingGeometry", f"has an unusable spatialReference ({exc.message})") from None
    clip_type = args.raw("ClippingType", "ClipType")
    if isinstance(clip_type, str) and clip_type.strip().lower() in ("outside", "inside"):
        keep_inside = clip_type.strip().lower() == "outside"  # "clipping outside" removes what lies outside
    else:
        number = args.integer("ClippingType", 1, "ClipType")
        if number not in (1, 2):
            raise args.error("ClippingType", "must be 1 (clip outside) or 2 (clip inside)")
        keep_inside = number == 1
    if "rings" in keys:
        return ClipArgs(_rings(args, keys["rings"]), sr, False, keep_inside)
    if all(k in keys for k in ("xmin", "ymin", "xmax", "ymax")):
        x0, y0, x1, y1 = (args.to_float(keys[k], "ClippingGeometry") for k in ("xmin", "ymin", "xmax", "ymax"))
        if x1 <= x0 or y1 <= y0:
            raise args.error("ClippingGeometry", "envelope needs xmin < xmax and ymin < ymax")
        ring = ((x0, y0), (x0, y1), (x1, y1), (x1, y0))
        return ClipArgs((ring,), sr, True, keep_inside)
    raise args.error("ClippingGeometry", "must be an envelope (xmin, ymin, xmax, ymax) or a polygon (rings)")


def _rings(args: _Args, value: Any) -> tuple[Ring, ...]:
    if not isinstance(value, list) or not value:
        raise args.error("ClippingGeometry", "'rings' must be a non-empty array of rings")
    rings: list[Ring] = []
    for ring in value:
        if not isinstance(ring, list):
            raise args.error("ClippingGeometry", "each ring must be an array of [x, y] points")
        points: list[tuple[float, float]] = []
        for point in ring:
            if not isinstance(point, list) or len(point) < 2:
                raise args.error("ClippingGeometry", "points must be [x, y]")
            points.append((args.to_float(point[0], "ClippingGeometry"),
                           args.to_float(point[1], "ClippingGeometry")))
        if len(points) > 1 and points[0] == points[-1]:
            points.pop()  # ArcGIS rings repeat the first point at the end; the rasteriser closes rings itself
        if len(points) < 3:
            raise args.error("ClippingGeometry", "rings need at least 3 distinct points")
        rings.append(tuple(points))
    return tuple(rings)


def _parse_extract_band(args: _Args) -> Arguments:
    if args.raw("BandWavelengths") is not None and args.raw("BandIDs", "BandNames") is None:
        raise args.unsupported("'BandWavelengths' needs band wavelength metadata, which this service does not have")
    action = args.raw("MissingBandAction")
    if isinstance(action, str) and _ramp_key(action) in ("bestmatch", "findbestmatch", "fail"):
        fail = _ramp_key(action) == "fail"
    else:
        number = args.integer("MissingBandAction", 0)
        if number not in (0, 1):
            raise args.error("MissingBandAction", "must be 0 (best match) or 1 (fail)")
        fail = number == 1
    ids = args.numbers("BandIDs", "BandIds")
    if ids is not None:
        if any(not i.is_integer() or i < 0 for i in ids):
            raise args.error("BandIDs", "must be 0-based band indexes (integers >= 0)")
        return ExtractBandArgs(band_ids=tuple(int(i) for i in ids), fail_missing=fail)
    names = args.raw("BandNames")
    if names is not None:
        items = names.split(",") if isinstance(names, str) else names
        if not isinstance(items, list) or not all(isinstance(n, str) and n.strip() for n in items):
            raise args.error("BandNames", "must be an array of band names")
        return ExtractBandArgs(band_names=tuple(n.strip() for n in items), fail_missing=fail)
    raise args.error("BandIDs", "is required (or 'BandNames')")


# --------------------------------------------------------------------------------------------------------------------
# BandArithmetic: predefined methods and the expression parser


@dataclass(frozen=True)
class _Method:
    name: str
    bands: int
    constants: tuple[float, ...]
    outputs: int
    compute: Callable[[list[FloatArray], tuple[float, ...]], list[FloatArray]]


def _nd(a: FloatArray, b: FloatArray) -> FloatArray:
    result: FloatArray = (a - b) / (a + b)
    return result


def _ratio(a: FloatArray, b: FloatArray) -> FloatArray:
    result: FloatArray = a / b
    return result


def _gemi(b: list[FloatArray], c: tuple[float, ...]) -> list[FloatArray]:
    nir, red = b
    eta = (2 * (nir * nir - red * red) + 1.5 * nir + 0.5 * red) / (nir + red + 0.5)
    return [eta * (1 - 0.25 * eta) - (red - 0.125) / (1 - red)]


def _tsavi(b: list[FloatArray], c: tuple[float, ...]) -> list[FloatArray]:
    nir, red = b
    s, a, x = c
    return [s * (nir - s * red - a) / (a * nir + red - a * s + x * (1 + s * s))]


def _sultan(b: list[FloatArray], c: tuple[float, ...]) -> list[FloatArray]:
    b1, _b2, b3, b4, b5, b7 = b  # the six Landsat TM bands 1 2 3 4 5 7, in that order
    return [b5 / b7 * 100, b5 / b1 * 100, b3 / b4 * (b5 / b4) * 100]


def _wndwi(b: list[FloatArray], c: tuple[float, ...]) -> list[FloatArray]:
    green, nir, swir = b
    (alpha,) = c
    mix = alpha * nir + (1 - alpha) * swir
    return [(green - mix) / (green + mix)]


# Band order and formulas from ArcGIS's Band Arithmetic documentation; constants follow the bands in BandIndexes.
_METHODS: Final[dict[int, _Method]] = {
    1: _Method("NDVI", 2, (), 1, lambda b, c: [_nd(b[0], b[1])]),
    2: _Method("SAVI", 2, (0.5,), 1, lambda b, c: [(b[0] - b[1]) / (b[0] + b[1] + c[0]) * (1 + c[0])]),
    3: _Method("TSAVI", 2, (0.33, 0.5, 1.5), 1, _tsavi),
    4: _Method("MSAVI", 2, (), 1,
               lambda b, c: [0.5 * (2 * (b[0] + 1) - np.sqrt((2 * b[0] + 1) ** 2 - 8 * (b[0] - b[1])))]),
    5: _Method("GEMI", 2, (), 1, _gemi),
    6: _Method("PVI", 2, (0.3, 0.5), 1, lambda b, c: [(b[0] - c[0] * b[1] - c[1]) / math.sqrt(1 + c[0] ** 2)]),
    7: _Method("GVITM", 6, (), 1, lambda b, c: [-0.2848 * b[0] - 0.2435 * b[1] - 0.5436 * b[2] + 0.7243 * b[3]
                                                  + 0.0840 * b[4] - 1.1800 * b[5]]),
    8: _Method("Sultan", 6, (), 3, _sultan),
    9: _Method("VARI", 3, (), 1, lambda b, c: [(b[1] - b[0]) / (b[1] + b[0] - b[2])]),  # Red Green Blue
    10: _Method("GNDVI", 2, (), 1, lambda b, c: [_nd(b[0], b[1])]),
    11: _Method("SR", 2, (), 1, lambda b, c: [_ratio(b[0], b[1])]),
    12: _Method("NDVIre", 2, (), 1, lambda b, c: [_nd(b[0], b[1])]),
    13: _Method("SRre", 2, (), 1, lambda b, c: [_ratio(b[0], b[1])]),
    16: _Method("CIre", 2, (), 1, lambda b, c: [_ratio(b[0], b[1]) - 1]),
    17: _Method("CIg", 2, (), 1, lambda b, c: [_ratio(b[0], b[1]) - 1]),
    18: _Method("NDWI", 2, (), 1, lambda b, c: [_nd(b[1], b[0])]),  # NIR Green -> (Green - NIR) / (Green + NIR)
    19: _Method("EVI", 3, (), 1, lambda b, c: [2.5 * (b[0] - b[1]) / (b[0] + 6 * b[1] - 7.5 * b[2] + 1)]),
    20: _Method("IronOxide", 2, (), 1, lambda b, c: [_ratio(b[0], b[1])]),
    21: _Method("FerrousMinerals", 2, (), 1, lambda b, c: [_ratio(b[0], b[1])]),
    22: _Method("ClayMinerals", 2, (), 1, lambda b, c: [_ratio(b[0], b[1])]),
    23: _Method("WNDWI", 3, (0.5,), 1, _wndwi),
    24: _Method("BAI", 2, (), 1, lambda b, c: [1 / ((0.1 - b[0]) ** 2 + (0.06 - b[1]) ** 2)]),  # Red NIR
    25: _Method("NBR", 2, (), 1, lambda b, c: [_nd(b[0], b[1])]),
    26: _Method("NDBI", 2, (), 1, lambda b, c: [_nd(b[0], b[1])]),
    27: _Method("NDMI", 2, (), 1, lambda b, c: [_nd(b[0], b[1])]),
    28: _Method("NDSI", 2, (), 1, lambda b, c: [_nd(b[0], b[1])]),
    29: _Method("MNDWI", 2, (), 1, lambda b, c: [_nd(b[0], b[1])]),
}
_METHODS_UNSUPPORTED: Final = {14: "MTVI2", 15: "RTVICore"}


def _parse_band_arithmetic(args: _Args) -> Arguments:
    method = args.integer("Method", 0)
    if method in _METHODS_UNSUPPORTED:
        raise args.unsupported(f"Method {method} ({_METHODS_UNSUPPORTED[method]}) is not supported")
    if method != 0 and method not in _METHODS:
        raise args.error("Method", "must be 0 (user defined) or a predefined index method 1..29")
    value = args.raw("BandIndexes", "BandIndices")
    if method == 0:
        if not isinstance(value, str):
            raise args.error("BandIndexes", "must be an expression such as '(B4 - B3) / (B4 + B3)'")
        return BandArithmeticArgs(0, expression=_parse_expression(args, value))
    spec = _METHODS[method]
    numbers = args.numbers("BandIndexes", "BandIndices")
    if numbers is None or len(numbers) < spec.bands:
        raise args.error("BandIndexes", f"{spec.name} needs {spec.bands} space-separated 1-based band numbers")
    bands = numbers[: spec.bands]
    if any(not b.is_integer() or b < 1 for b in bands):
        raise args.error("BandIndexes", "band numbers are 1-based integers")
    extra = numbers[spec.bands:]
    if len(extra) > len(spec.constants):
        raise args.error("BandIndexes", f"{spec.name} takes {spec.bands} bands and {len(spec.constants)} constants")
    constants = tuple(extra) + spec.constants[len(extra):]
    return BandArithmeticArgs(method, bands=tuple(int(b) for b in bands), constants=constants)


_TOKEN: Final = re.compile(r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<band>[bB]\d+)|(?P<op>[-+*/()]))")


def _parse_expression(args: _Args, text: str) -> Expr:
    """Parse a band expression by recursive descent; anything but numbers, bands, operators and parentheses fails."""
    if len(text) > _MAX_EXPRESSION_CHARS:
        raise args.error("BandIndexes", f"expression is longer than {_MAX_EXPRESSION_CHARS} characters")
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if not text[position:].strip():
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            rest = text[position:].lstrip()
            raise args.error("BandIndexes", f"unexpected '{rest[:1]}' at character {len(text) - len(rest)}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    if not tokens:
        raise args.error("BandIndexes", "expression is empty")
    parser = _ExpressionParser(tokens, args)
    expression = parser.expression(0)
    if parser.index != len(tokens):
        raise args.error("BandIndexes", f"unexpected '{tokens[parser.index][1]}' in the expression")
    return expression


class _ExpressionParser:
    """expression := term (('+'|'-') term)*; term := unary (('*'|'/') unary)*; unary := '-' unary | primary."""

    def __init__(self, tokens: list[tuple[str, str]], args: _Args) -> None:
        self.tokens = tokens
        self.index = 0
        self.args = args

    def _peek(self) -> str | None:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else None

    def _fail(self, problem: str) -> InvalidParameter:
        return self.args.error("BandIndexes", problem)

    def expression(self, depth: int) -> Expr:
        if depth > _MAX_EXPRESSION_NESTING:
            raise self._fail("expression is nested too deeply")
        node = self._term(depth)
        while self._peek() in ("+", "-"):
            op = self.tokens[self.index][1]
            self.index += 1
            node = BinOp(op, node, self._term(depth))
        return node

    def _term(self, depth: int) -> Expr:
        node = self._unary(depth)
        while self._peek() in ("*", "/"):
            op = self.tokens[self.index][1]
            self.index += 1
            node = BinOp(op, node, self._unary(depth))
        return node

    def _unary(self, depth: int) -> Expr:
        if depth > _MAX_EXPRESSION_NESTING:
            raise self._fail("expression is nested too deeply")
        token = self._peek()
        if token in ("-", "+"):
            self.index += 1
            operand = self._unary(depth + 1)
            return Neg(operand) if token == "-" else operand
        return self._primary(depth)

    def _primary(self, depth: int) -> Expr:
        if self.index >= len(self.tokens):
            raise self._fail("expression ends unexpectedly")
        kind, text = self.tokens[self.index]
        self.index += 1
        if kind == "num":
            value = float(text)
            if not math.isfinite(value):
                raise self._fail(f"number '{text}' is out of range")
            return Num(value)
        if kind == "band":
            band = int(text[1:])
            if band < 1:
                raise self._fail("bands are numbered from B1")
            return Band(band)
        if text == "(":
            node = self.expression(depth + 1)
            if self._peek() != ")":
                raise self._fail("missing ')'")
            self.index += 1
            return node
        raise self._fail(f"unexpected '{text}' in the expression")


def _expression_bands(node: Expr) -> set[int]:
    if isinstance(node, Band):
        return {node.index}
    if isinstance(node, Neg):
        return _expression_bands(node.operand)
    if isinstance(node, BinOp):
        return _expression_bands(node.left) | _expression_bands(node.right)
    return set()


def _evaluate(node: Expr, bands: FloatArray) -> FloatArray | float:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Band):
        result: FloatArray = bands[node.index - 1]
        return result
    if isinstance(node, Neg):
        return -_evaluate(node.operand, bands)
    left, right = _evaluate(node.left, bands), _evaluate(node.right, bands)
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    return left / right


_PARSERS: Final[dict[str, Callable[[_Args], Arguments]]] = {
    "None": _parse_none, "Identity": _parse_none, "Stretch": _parse_stretch, "Colormap": _parse_colormap,
    "Hillshade": _parse_hillshade, "Slope": _parse_slope, "Aspect": _parse_aspect, "NDVI": _parse_ndvi,
    "BandArithmetic": _parse_band_arithmetic, "Remap": _parse_remap, "Clip": _parse_clip,
    "ExtractBand": _parse_extract_band,
}


# --------------------------------------------------------------------------------------------------------------------
# Band counts (for metadata) and band-reference validation


def output_band_count(rule: RasterFunction, input_bands: int) -> int:
    """The number of bands ``rule`` produces from ``input_bands``; raises :class:`InvalidParameter` for a band
    reference (NDVI, BandArithmetic, ExtractBand) or a band count (Colormap) the input cannot satisfy."""
    bands = input_bands if rule.raster is None else output_band_count(rule.raster, input_bands)
    args = rule.arguments
    if isinstance(args, ColormapArgs):
        _require_single_band(rule, bands)
        return 3
    if isinstance(args, HillshadeArgs | SlopeArgs | AspectArgs):
        return 1
    if isinstance(args, NDVIArgs):
        _check_band(rule, "VisibleBandID", args.visible, bands)
        _check_band(rule, "InfraredBandID", args.infrared, bands)
        return 1
    if isinstance(args, BandArithmeticArgs):
        _band_arithmetic_bands(rule, args, bands)
        return _METHODS[args.method].outputs if args.method else 1
    if isinstance(args, ExtractBandArgs):
        if args.band_ids:
            _extract_indexes(rule, args, bands, ())
            return len(args.band_ids)
        return len(args.band_names)
    return bands


def _check_band(rule: RasterFunction, name: str, index: int, bands: int) -> None:
    if index >= bands:
        raise InvalidParameter(rule.parameter, f"{rule.name} argument '{name}' is {index}, but the input has "
                                               f"{bands} band(s) (0-based ids)")


def _require_single_band(rule: RasterFunction, bands: int) -> None:
    if bands != 1:
        raise InvalidParameter(rule.parameter, f"{rule.name} needs a single-band input, got {bands} bands "
                                               "(extract one band first)")


def _band_arithmetic_bands(rule: RasterFunction, args: BandArithmeticArgs, bands: int) -> list[int]:
    """The 0-based bands a BandArithmetic rule reads, validated against ``bands``."""
    wanted = sorted(_expression_bands(args.expression)) if args.expression is not None else list(args.bands)
    for band in wanted:
        if band > bands:
            raise InvalidParameter(rule.parameter, f"BandArithmetic argument 'BandIndexes' refers to band {band}, "
                                                   f"but the input has {bands} band(s) (1-based)")
    return [b - 1 for b in wanted]


def _extract_indexes(rule: RasterFunction, args: ExtractBandArgs, bands: int, names: tuple[str, ...]) -> list[int]:
    if args.band_ids:
        indexes = []
        for band in args.band_ids:
            if band >= bands:
                if args.fail_missing:
                    _check_band(rule, "BandIDs", band, bands)
                band = bands - 1  # best match: the last band, as ArcGIS's default MissingBandAction does
            indexes.append(band)
        return indexes
    known = [n.lower() for n in (names if len(names) == bands else tuple(f"Band_{i + 1}" for i in range(bands)))]
    indexes = []
    for name in args.band_names:
        if name.lower() not in known:
            raise InvalidParameter(rule.parameter, f"ExtractBand argument 'BandNames': no band named '{name}' "
                                                   f"(bands: {', '.join(known)})")
        indexes.append(known.index(name.lower()))
    return indexes


# --------------------------------------------------------------------------------------------------------------------
# Applying


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
    result, out_stats = _APPLY[rule.name](raster, rule, stats)
    if rule.output_pixel_type is not None and result.pixel_type != rule.output_pixel_type:
        # Functions that pass their input through (None, Clip, ExtractBand, no stretch) convert here.
        values, valid = _values(result)
        result = _convert(result, values, valid, rule.output_pixel_type)
        out_stats = None
    return result, out_stats


def _arguments(rule: RasterFunction, kind: type[_T]) -> _T:
    args = rule.arguments
    if not isinstance(args, kind):
        raise TypeError(f"{rule.name} carries {type(args).__name__}, not {kind.__name__}")
    return args


def _values(raster: Raster) -> tuple[FloatArray, BoolArray]:
    """The values as float64 and the validity: the mask, less pixels with a non-finite value in any band."""
    values = np.asarray(raster.data, dtype=np.float64)
    valid = np.asarray(raster.mask, dtype=np.bool_) & np.all(np.isfinite(values), axis=0)
    return values, valid


def _finish(raster: Raster, rule: RasterFunction, values: FloatArray, valid: BoolArray, default_type: str,
            band_names: tuple[str, ...] | None = None) -> Raster:
    """A function's result: ``values`` as the rule's ``outputPixelType``, else ``default_type`` (converted directly,
    so that e.g. an F32 stretch is not first rounded to U8)."""
    return _convert(raster, values, valid, rule.output_pixel_type or default_type, band_names)


def _convert(raster: Raster, values: FloatArray, valid: BoolArray, pixel_type: str,
             band_names: tuple[str, ...] | None = None) -> Raster:
    """A raster of ``values`` as ``pixel_type`` (rounded and clamped); non-finite results become NoData."""
    ptype = PIXEL_TYPES[pixel_type]
    with np.errstate(all="ignore"):
        ok = valid & np.all(np.isfinite(values), axis=0)
        clean = np.where(ok[np.newaxis], values, 0.0)
        if ptype.integer:
            clean = np.rint(clean)
        clean = np.clip(clean, ptype.minimum, ptype.maximum)
    return raster.with_data(clean.astype(ptype.dtype), pixel_type, mask=ok, band_names=band_names)


def _apply_identity(raster: Raster, rule: RasterFunction, stats: Stats | None) -> tuple[Raster, Stats | None]:
    return raster, stats


# Stretch ------------------------------------------------------------------------------------------------------------


def _apply_stretch(raster: Raster, rule: RasterFunction, stats: Stats | None) -> tuple[Raster, Stats | None]:
    args = _arguments(rule, StretchArgs)
    if args.stretch_type == 0:
        return raster, stats
    values, valid = _values(raster)
    out = np.zeros_like(values)
    for b in range(raster.band_count):
        band = values[b]
        sample = band[valid]
        if sample.size == 0:
            continue
        if args.stretch_type == 4:
            t = _equalize(band, sample)
        else:
            low, high = _cutoffs(args, b, sample, stats)
            t = _normalise(band, low, high)
        if args.use_gamma:
            t = t ** (1.0 / _gamma(args, b, t[valid]))
        out[b] = args.out_min + t * (args.out_max - args.out_min)
    return _finish(raster, rule, out, valid, _range_pixel_type(args.out_min, args.out_max)), None


def _band_stats(args: StretchArgs, band: int, sample: FloatArray, stats: Stats | None) -> BandStats:
    if args.statistics:
        return args.statistics[min(band, len(args.statistics) - 1)]  # missing bands reuse the last, as ArcGIS does
    if stats is not None and not args.dra:
        return stats[band]
    return BandStats(float(sample.min()), float(sample.max()), float(sample.mean()), float(sample.std()))


def _cutoffs(args: StretchArgs, band: int, sample: FloatArray, stats: Stats | None) -> tuple[float, float]:
    if args.stretch_type == 6:
        low, high = np.percentile(sample, [args.min_percent, 100.0 - args.max_percent])
        return float(low), float(high)
    s = _band_stats(args, band, sample, stats)
    if args.stretch_type == 3:
        return s.mean - args.std_devs * s.stddev, s.mean + args.std_devs * s.stddev
    return s.minimum, s.maximum


def _normalise(band: FloatArray, low: float, high: float) -> FloatArray:
    """``band`` mapped linearly so that low -> 0 and high -> 1, clamped; a zero-width range is a step at low."""
    if high > low:
        with np.errstate(all="ignore"):
            result: FloatArray = np.clip((band - low) / (high - low), 0.0, 1.0)
        return result
    return (band > low).astype(np.float64)


def _equalize(band: FloatArray, sample: FloatArray) -> FloatArray:
    """Histogram equalization: each value's empirical CDF, rescaled so the smallest value maps to 0."""
    ordered = np.sort(sample)
    cdf = np.searchsorted(ordered, band, side="right") / ordered.size
    first = np.searchsorted(ordered, ordered[0], side="right") / ordered.size
    if first >= 1.0:
        return np.zeros_like(band)
    result: FloatArray = np.clip((cdf - first) / (1.0 - first), 0.0, 1.0)
    return result


def _gamma(args: StretchArgs, band: int, normalised: FloatArray) -> float:
    if args.compute_gamma:
        # The gamma that brings the band's mean to mid-grey, bounded to keep outliers from blowing it up.
        mean = float(normalised.mean()) if normalised.size else 0.5
        if 0.0 < mean < 1.0:
            return min(10.0, max(0.1, math.log(mean) / math.log(0.5)))
        return 1.0
    if args.gamma:
        return args.gamma[min(band, len(args.gamma) - 1)]
    return 1.0


def _range_pixel_type(low: float, high: float) -> str:
    """The smallest usual ArcGIS type holding the output range ``low..high``."""
    for name in ("U8", "U16", "S16"):
        ptype = PIXEL_TYPES[name]
        if ptype.minimum <= low and high <= ptype.maximum:
            return name
    return "F32"


# Colormap -----------------------------------------------------------------------------------------------------------


def _apply_colormap(raster: Raster, rule: RasterFunction, stats: Stats | None) -> tuple[Raster, Stats | None]:
    args = _arguments(rule, ColormapArgs)
    _require_single_band(rule, raster.band_count)
    values, valid = _values(raster)
    value = values[0]
    rgb: NDArray[np.float64]
    if args.entries:
        keys = np.array([e[0] for e in args.entries], dtype=np.float64)
        colours = np.array([e[1:] for e in args.entries], dtype=np.float64)
        rounded = np.rint(np.where(valid, value, keys[0]))
        index = np.clip(np.searchsorted(keys, rounded), 0, keys.size - 1)
        valid = valid & (keys[index] == rounded)
        rgb = colours[index]
    elif args.random:
        rgb = _random_colours(np.where(valid, value, 0.0))
    else:
        lut = _lut(args.stops)
        rgb = lut[_ramp_index(raster, value, valid, stats)]
    return _finish(raster, rule, np.moveaxis(rgb, -1, 0), valid, "U8", ("Red", "Green", "Blue")), None


def _lut(stops: tuple[tuple[float, RGB], ...]) -> FloatArray:
    """256 colours interpolated (in RGB) between the stops."""
    positions = np.array([s[0] for s in stops], dtype=np.float64)
    colours = np.array([s[1] for s in stops], dtype=np.float64)
    grid = np.linspace(0.0, 1.0, 256)
    return np.stack([np.interp(grid, positions, colours[:, c]) for c in range(3)], axis=-1)


def _ramp_index(raster: Raster, value: FloatArray, valid: BoolArray, stats: Stats | None) -> NDArray[np.intp]:
    """Index 0..255 into a ramp: U1..U8 pixels are their own index; other types are stretched min..max."""
    ptype = PIXEL_TYPES.get(raster.pixel_type)
    if ptype is not None and ptype.integer and ptype.minimum >= 0 and ptype.maximum <= 255:
        return np.clip(np.rint(np.where(valid, value, 0.0)), 0, 255).astype(np.intp)
    if stats is not None:
        low, high = stats[0].minimum, stats[0].maximum
    elif valid.any():
        low, high = float(value[valid].min()), float(value[valid].max())
    else:
        low, high = 0.0, 1.0
    normalised = _normalise(np.where(valid, value, low), low, high)
    return np.rint(normalised * 255.0).astype(np.intp)


def _random_colours(value: FloatArray) -> FloatArray:
    """A fixed pseudo-random colour per integer value (an integer hash, so the same value always gets the same
    colour, across tiles and requests)."""
    limit = float(2**62)
    keys = np.clip(np.rint(value), -limit, limit).astype(np.int64).view(np.uint64)
    h = keys * np.uint64(0x9E3779B97F4A7C15)
    h ^= h >> np.uint64(29)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(32)
    channels = [(h >> np.uint64(shift)) & np.uint64(0xFF) for shift in (0, 8, 16)]
    return np.stack(channels, axis=-1).astype(np.float64)


# Hillshade, Slope, Aspect -------------------------------------------------------------------------------------------


def _apply_hillshade(raster: Raster, rule: RasterFunction, stats: Stats | None) -> tuple[Raster, Stats | None]:
    args = _arguments(rule, HillshadeArgs)
    surface = _Surface(raster, args.remove_edge_effect)
    z_factor = surface.adjusted_z(args.z_factor, args.ps_power, args.ps_z_factor) if args.scaled else args.z_factor
    gx, gy = surface.dzdx * z_factor, surface.dzdy * z_factor
    zenith = math.radians(90.0 - args.altitude)
    # ArcGIS's formulation: azimuth turned from compass to math angle, aspect as atan2(dz/dy, -dz/dx).
    azimuth = math.radians((360.0 - args.azimuth + 90.0) % 360.0)
    # cos(zenith) cos(slope) + sin(zenith) sin(slope) cos(azimuth - aspect), with slope = atan(|g|) and
    # aspect = atan2(gy, -gx) expanded algebraically: the same value without per-pixel trigonometry.
    with np.errstate(all="ignore"):
        shade = 255.0 * (math.cos(zenith) + math.sin(zenith) * (gy * math.sin(azimuth) - gx * math.cos(azimuth))) / (
            np.sqrt(1.0 + gx * gx + gy * gy))
    shade = np.clip(shade, 0.0, 255.0)
    return _finish(raster, rule, shade[np.newaxis], surface.valid, "U8", ("Hillshade",)), None


def _apply_slope(raster: Raster, rule: RasterFunction, stats: Stats | None) -> tuple[Raster, Stats | None]:
    args = _arguments(rule, SlopeArgs)
    surface = _Surface(raster, args.remove_edge_effect)
    z_factor = (surface.adjusted_z(args.z_factor, args.ps_power, args.ps_z_factor) if args.slope_type == 3
                else args.z_factor)
    with np.errstate(all="ignore"):
        rise = np.hypot(surface.dzdx, surface.dzdy) * abs(z_factor)
        slope = rise * 100.0 if args.slope_type == 2 else np.degrees(np.arctan(rise))
    return _finish(raster, rule, slope[np.newaxis], surface.valid, "F32", ("Slope",)), None


def _apply_aspect(raster: Raster, rule: RasterFunction, stats: Stats | None) -> tuple[Raster, Stats | None]:
    args = _arguments(rule, AspectArgs)
    surface = _Surface(raster, args.remove_edge_effect)
    gx, gy = surface.dzdx, surface.dzdy
    with np.errstate(all="ignore"):
        angle = np.degrees(np.arctan2(gy, -gx))
        # Math angle of the downslope direction -> compass bearing (clockwise from north).
        aspect = np.where(angle < 0, 90.0 - angle, np.where(angle > 90.0, 450.0 - angle, 90.0 - angle))
        aspect = np.where((gx == 0) & (gy == 0), -1.0, aspect)
    return _finish(raster, rule, aspect[np.newaxis], surface.valid, "F32", ("Aspect",)), None


class _Surface:
    """Horn's 3x3 derivatives of the first band: ``dzdx`` (towards east) and ``dzdy`` (towards south, ArcGIS's
    convention for rows that run north to south), in z units per ground unit, and where they are ``valid``."""

    dzdx: FloatArray
    dzdy: FloatArray
    valid: BoolArray
    cell_y_metres: float

    def __init__(self, raster: Raster, remove_edge_effect: bool) -> None:
        values, valid = _values(raster)
        z = np.where(valid, values[0], 0.0)
        rows, cols = z.shape
        if z.size == 0:  # nothing to differentiate; the padding below needs at least one cell
            self.cell_y_metres = 0.0
            self.dzdx = self.dzdy = np.zeros_like(z)
            self.valid = valid
            return
        minx, miny, maxx, maxy = raster.bbox
        cell_x, cell_y = (maxx - minx) / max(cols, 1), (maxy - miny) / max(rows, 1)
        self.cell_y_metres = cell_y * raster.sr.meters_per_unit
        if raster.sr.is_geographic:
            # Degrees to metres: a parallel's length shrinks with the cosine of the latitude of each row.
            latitudes = maxy - (np.arange(rows) + 0.5) * cell_y
            size_x = cell_x * raster.sr.meters_per_unit * np.cos(np.radians(latitudes))[:, np.newaxis]
            size_y = self.cell_y_metres
        else:
            size_x = np.full((rows, 1), cell_x)
            size_y = cell_y
        padded, padded_valid = _extrapolate(z), _extend_mask(valid)

        complete = bool(padded_valid.all())

        def neighbour(dr: int, dc: int) -> FloatArray:
            window: FloatArray = padded[1 + dr:1 + dr + rows, 1 + dc:1 + dc + cols]
            if complete:
                return window
            window_valid = padded_valid[1 + dr:1 + dr + rows, 1 + dc:1 + dc + cols]
            result: FloatArray = np.where(window_valid, window, z)  # NoData neighbours take the centre value
            return result

        a, b, c = neighbour(-1, -1), neighbour(-1, 0), neighbour(-1, 1)
        d, f = neighbour(0, -1), neighbour(0, 1)
        g, h, i = neighbour(1, -1), neighbour(1, 0), neighbour(1, 1)
        with np.errstate(all="ignore"):
            self.dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8.0 * size_x)
            self.dzdy = ((g + 2 * h + i) - (a + 2 * b + c)) / (8.0 * size_y)
        ok = valid & np.isfinite(self.dzdx) & np.isfinite(self.dzdy)
        if not (cell_x > 0 and cell_y > 0):
            ok[:] = False
        if remove_edge_effect:
            ok[0, :] = ok[-1, :] = False
            ok[:, 0] = ok[:, -1] = False
        self.valid = ok

    def adjusted_z(self, z_factor: float, power: float, factor: float) -> float:
        """ArcGIS's scaled z-factor: ``z + cellsize ** PSPower * PSZFactor`` (cell size in metres)."""
        return z_factor + float(abs(self.cell_y_metres) ** power) * factor


def _extrapolate(z: FloatArray) -> FloatArray:
    """``z`` with a one-cell border extrapolated linearly (``2 * edge - inner``), so planes continue exactly."""
    with np.errstate(all="ignore"):
        for axis in (0, 1):
            n = z.shape[axis]
            first, last = np.take(z, [0], axis=axis), np.take(z, [n - 1], axis=axis)
            if n >= 2:
                before = 2 * first - np.take(z, [1], axis=axis)
                after = 2 * last - np.take(z, [n - 2], axis=axis)
            else:
                before, after = first, last
            z = np.concatenate([before, z, after], axis=axis)
    return z


def _extend_mask(valid: BoolArray) -> BoolArray:
    """The validity of :func:`_extrapolate`'s border: valid when both cells it extrapolates from are."""
    for axis in (0, 1):
        n = valid.shape[axis]
        first, last = np.take(valid, [0], axis=axis), np.take(valid, [n - 1], axis=axis)
        if n >= 2:
            first = first & np.take(valid, [1], axis=axis)
            last = last & np.take(valid, [n - 2], axis=axis)
        valid = np.concatenate([first, valid, last], axis=axis)
    return valid


# NDVI, BandArithmetic -----------------------------------------------------------------------------------------------


def _apply_ndvi(raster: Raster, rule: RasterFunction, stats: Stats | None) -> tuple[Raster, Stats | None]:
    args = _arguments(rule, NDVIArgs)
    _check_band(rule, "VisibleBandID", args.visible, raster.band_count)
    _check_band(rule, "InfraredBandID", args.infrared, raster.band_count)
    values, valid = _values(raster)
    red, nir = values[args.visible], values[args.infrared]
    with np.errstate(all="ignore"):
        ndvi = (nir - red) / (nir + red)
    if args.scientific:
        return _finish(raster, rule, ndvi[np.newaxis], valid, "F32", ("NDVI",)), None
    return _finish(raster, rule, (ndvi * 100.0 + 100.0)[np.newaxis], valid, "U8", ("NDVI",)), None


def _apply_band_arithmetic(raster: Raster, rule: RasterFunction, stats: Stats | None) -> tuple[Raster, Stats | None]:
    args = _arguments(rule, BandArithmeticArgs)
    wanted = _band_arithmetic_bands(rule, args, raster.band_count)
    values, valid = _values(raster)
    with np.errstate(all="ignore"):
        if args.expression is not None:
            result = _evaluate(args.expression, values)
            outputs = [np.broadcast_to(np.asarray(result, dtype=np.float64), valid.shape)]
        else:
            outputs = _METHODS[args.method].compute([values[b] for b in wanted], args.constants)
    return _finish(raster, rule, np.stack(outputs), valid, "F32"), None


# Remap --------------------------------------------------------------------------------------------------------------


def _apply_remap(raster: Raster, rule: RasterFunction, stats: Stats | None) -> tuple[Raster, Stats | None]:
    args = _arguments(rule, RemapArgs)
    values, valid = _values(raster)
    out = values.copy()
    matched = np.zeros(values.shape, dtype=np.bool_)
    for (low, high), output in zip(args.input_ranges, args.output_values, strict=True):
        hit = ~matched & (values >= low) & (values < high)  # ArcGIS ranges: min inclusive, max exclusive
        out[hit] = output
        matched |= hit
    for low, high in args.nodata_ranges:
        valid = valid & ~np.any((values >= low) & (values < high), axis=0)
    if not args.allow_unmatched:
        if args.replacement is None:
            valid = valid & np.all(matched, axis=0)
        else:
            out[~matched] = args.replacement
    written = [*args.output_values, *([] if args.replacement is None else [args.replacement])]
    return _finish(raster, rule, out, valid, _remap_pixel_type(raster.pixel_type, written)), None


def _remap_pixel_type(pixel_type: str, written: Sequence[float]) -> str:
    """The input type when it holds every value written, else F32 (F64 stays F64)."""
    ptype = PIXEL_TYPES.get(pixel_type)
    if ptype is None:
        return "F32"
    if not ptype.integer:
        return pixel_type
    if all(float(v).is_integer() and ptype.minimum <= v <= ptype.maximum for v in written):
        return pixel_type
    return "F32"


# Clip ---------------------------------------------------------------------------------------------------------------


def _apply_clip(raster: Raster, rule: RasterFunction, stats: Stats | None) -> tuple[Raster, Stats | None]:
    args = _arguments(rule, ClipArgs)
    rings = args.rings
    if args.sr is not None and not args.sr.same_as(raster.sr):
        # An envelope's straight edges curve in another CRS: densify before transforming.
        source = tuple(_densify(r, 16) for r in rings) if args.envelope else rings
        rings = tuple(tuple(transform_point(x, y, args.sr, raster.sr, parameter=rule.parameter) for x, y in ring)
                      for ring in source)
    inside = rasterize(rings, raster.bbox, raster.height, raster.width)
    keep = inside if args.keep_inside else ~inside
    mask = np.asarray(raster.mask, dtype=np.bool_) & keep
    return raster.with_data(raster.data, raster.pixel_type, mask=mask), stats


def _densify(ring: Ring, steps: int) -> Ring:
    points: list[tuple[float, float]] = []
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
        points.extend((x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps) for k in range(steps))
    return tuple(points)


def rasterize(rings: Sequence[Ring], bbox: tuple[float, float, float, float], rows: int, cols: int) -> BoolArray:
    """Which pixel centres lie inside the rings, by the even-odd rule (holes and multiple parts need no
    orientation); scanline crossings counted with numpy."""
    minx, miny, maxx, maxy = bbox
    xs = minx + (np.arange(cols) + 0.5) * (maxx - minx) / max(cols, 1)
    ys = maxy - (np.arange(rows) + 0.5) * (maxy - miny) / max(rows, 1)
    starts = np.array([p for ring in rings for p in ring], dtype=np.float64).reshape(-1, 2)
    ends = np.array([p for ring in rings for p in ring[1:] + ring[:1]], dtype=np.float64).reshape(-1, 2)
    x0, y0, x1, y1 = starts[:, 0], starts[:, 1], ends[:, 0], ends[:, 1]
    inside = np.zeros((rows, cols), dtype=np.bool_)
    block = max(1, _CLIP_BLOCK_CELLS // max(x0.size, 1))
    for top in range(0, rows, block):
        y = ys[top:top + block, np.newaxis]
        # Half-open test so that a vertex on the scanline is counted once.
        crosses = (y0 <= y) != (y1 <= y)
        with np.errstate(all="ignore"):
            xcross = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        xcross = np.sort(np.where(crosses, xcross, np.inf), axis=1)
        for offset, row in enumerate(xcross):
            inside[top + offset] = np.searchsorted(row, xs, side="left") % 2 == 1
    return inside


# ExtractBand --------------------------------------------------------------------------------------------------------


def _apply_extract_band(raster: Raster, rule: RasterFunction, stats: Stats | None) -> tuple[Raster, Stats | None]:
    args = _arguments(rule, ExtractBandArgs)
    indexes = _extract_indexes(rule, args, raster.band_count, raster.band_names)
    names = tuple(raster.band_names[i] for i in indexes) if len(raster.band_names) == raster.band_count else ()
    out_stats = tuple(stats[i] for i in indexes) if stats is not None else None
    return raster.with_data(raster.data[indexes], raster.pixel_type, band_names=names), out_stats


_APPLY: Final[dict[str, Callable[[Raster, RasterFunction, Stats | None], tuple[Raster, Stats | None]]]] = {
    "None": _apply_identity, "Identity": _apply_identity, "Stretch": _apply_stretch, "Colormap": _apply_colormap,
    "Hillshade": _apply_hillshade, "Slope": _apply_slope, "Aspect": _apply_aspect, "NDVI": _apply_ndvi,
    "BandArithmetic": _apply_band_arithmetic, "Remap": _apply_remap, "Clip": _apply_clip,
    "ExtractBand": _apply_extract_band,
}
