"""``Colormap``: a single band to RGB through an explicit colormap, a named colormap or a colour ramp.

Explicit ``Colormap`` ``[[value, r, g, b], ...]`` (integer values; pixels are rounded to the nearest integer; values
without an entry become transparent), ``ColormapName`` (``Random``, ``Gray``, ``Elevation``, ``NDVI``, ``NDVI2``,
``NDVI3``) or ``ColorRamp``/``ColorrampName`` (a ramp name or an algorithmic/multipart color ramp object).  Named
maps and ramps are approximations of ArcGIS's colours, interpolated in RGB.  They index U1..U8 pixels directly
(0..255, e.g. the scaled NDVI) and stretch any other type linearly over the statistics (service, else the raster's
min/max) into 256 colours.  Output: 3-band U8 RGB.  The input must have a single band.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import numpy as np
from numpy.typing import NDArray

from translators.raster.functions.base import ArgumentReader, Function, RasterFunction, Stats, lower_keys
from translators.raster.functions.helpers import (
    BoolArray,
    FloatArray,
    finish,
    name_key,
    normalise,
    require_single_band,
    values_of,
)
from translators.raster.model import PIXEL_TYPES, Raster

__all__ = ["Colormap", "ColormapArgs"]

RGB: TypeAlias = tuple[int, int, int]


@dataclass(frozen=True)
class ColormapArgs:
    """``Colormap``: explicit ``entries`` (value, r, g, b), a ramp as (position 0..1, colour) stops, or random."""

    entries: tuple[tuple[float, int, int, int], ...] = ()
    stops: tuple[tuple[float, RGB], ...] = ()
    random: bool = False


class Colormap(Function[ColormapArgs]):
    """``Colormap``: one band to 3-band U8 RGB."""

    names = ("Colormap",)

    def parse(self, args: ArgumentReader) -> ColormapArgs:
        """An explicit colormap, a named colormap (or ``Random``) or a colour ramp, in that order of precedence."""
        explicit = args.raw("Colormap")
        if explicit is not None:
            return ColormapArgs(entries=_parse_colormap_entries(args, explicit))
        name = args.raw("ColormapName")
        if name is not None:
            if not isinstance(name, str):
                raise args.error("ColormapName", "must be a string")
            key = name_key(name)
            if key == "random":
                return ColormapArgs(random=True)
            if key not in _COLORMAPS:
                raise args.error("ColormapName", f"'{name}' is not one of Random, {', '.join(_COLORMAP_TITLES)}")
            return ColormapArgs(stops=_COLORMAPS[key])
        ramp = args.raw("ColorRamp", "ColorrampName")
        if ramp is not None:
            return ColormapArgs(stops=_parse_color_ramp(args, ramp))
        raise args.error("Colormap", "is required (or 'ColormapName' or 'ColorRamp')")

    def band_count(self, rule: RasterFunction, args: ColormapArgs, bands: int) -> int:
        """Three (RGB) from a single band."""
        require_single_band(rule, bands)
        return 3

    def apply(self, raster: Raster, rule: RasterFunction, args: ColormapArgs,
              stats: Stats | None) -> tuple[Raster, Stats | None]:
        """The colours of the single band's values; pixels without a colour become NoData."""
        require_single_band(rule, raster.band_count)
        values, valid = values_of(raster)
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
        return finish(raster, rule, np.moveaxis(rgb, -1, 0), valid, "U8", ("Red", "Green", "Blue")), None


def _parse_colormap_entries(args: ArgumentReader, value: Any) -> tuple[tuple[float, int, int, int], ...]:
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


def _channel(args: ArgumentReader, name: str, value: Any) -> int:
    number = args.to_float(value, name)
    if not (number.is_integer() and 0 <= number <= 255):
        raise args.error(name, f"colour component {value!r} is not an integer 0..255")
    return int(number)


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


def _parse_color_ramp(args: ArgumentReader, value: Any) -> tuple[tuple[float, RGB], ...]:
    if isinstance(value, str):
        key = name_key(value)
        if key in _COLOR_RAMPS:
            return _COLOR_RAMPS[key]
        if key in _COLORMAPS:
            return _COLORMAPS[key]
        raise args.error("ColorRamp", f"'{value}' is not a known colour ramp name")
    if not isinstance(value, dict):
        raise args.error("ColorRamp", "must be a colour ramp name or a colour ramp object")
    keys = lower_keys(value)
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


def _algorithmic(args: ArgumentReader, value: Any) -> tuple[RGB, RGB]:
    """The end colours of an algorithmic ramp; interpolated in RGB whatever its ``algorithm``."""
    keys = lower_keys(value) if isinstance(value, dict) else {}
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
    normalised = normalise(np.where(valid, value, low), low, high)
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
