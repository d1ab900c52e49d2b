"""Surface functions of the first band: ``Hillshade``, ``Slope`` and ``Aspect``.

``Hillshade`` (``Azimuth`` 315, ``Altitude`` 45, ``ZFactor`` 1, ``SlopeType`` 1 degree / 3 scaled with
``PSPower``/``PSZFactor``), ``Slope`` (degrees, ``SlopeType`` 2 percent rise, 3 scaled) and ``Aspect`` (degrees
clockwise from north, flat = -1): Horn's 3x3 method, as gdaldem and ArcGIS.  They use the first band.  Edge pixels
are computed from a linearly extrapolated border (exact for planes) unless ``RemoveEdgeEffect`` is true, which makes
them NoData; a NoData neighbour takes the centre cell's value (ArcGIS's rule), a NoData centre stays NoData.
Geographic rasters: cell sizes are converted to metres (``sr.meters_per_unit`` per degree, times the cosine of each
row's latitude for x), so ``ZFactor`` 1 means metres of elevation, as the ArcGIS functions document.  Projected
rasters use their own units, Web Mercator's scale distortion included (as ArcGIS does).  The scaled slope type adds
``cellsize_m ** PSPower * PSZFactor`` to the z-factor (cell height in metres).  ``HillshadeType`` 1
(multidirectional) is refused.  Output: hillshade U8 (0..255), slope and aspect F32.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, TypedDict, TypeVar

import numpy as np

from translators.raster.functions.base import ArgumentReader, Function, RasterFunction, Stats
from translators.raster.functions.helpers import BoolArray, FloatArray, finish, name_key, values_of
from translators.raster.model import Raster

__all__ = ["Aspect", "AspectArgs", "Hillshade", "HillshadeArgs", "Slope", "SlopeArgs"]

A = TypeVar("A")


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
    """``Slope``: ``slope_type`` (``SlopeType``) 1 degrees, 2 percent rise, 3 degrees with the scaled z-factor, whose
    terms are ``ps_power``/``ps_z_factor`` (``PSPower``/``PSZFactor``)."""

    slope_type: int = 1
    z_factor: float = 1.0
    ps_power: float = 0.664
    ps_z_factor: float = 0.024
    remove_edge_effect: bool = False


@dataclass(frozen=True)
class AspectArgs:
    """``Aspect``: only the edge behaviour."""

    remove_edge_effect: bool = False


class _SurfaceFunction(Function[A]):
    """A function of the first band's surface: one output band, whatever the input."""

    def band_count(self, rule: RasterFunction, args: A, bands: int) -> int:
        """One band."""
        return 1


class Hillshade(_SurfaceFunction[HillshadeArgs]):
    """``Hillshade``: the illumination of the surface by a distant sun, U8 0..255."""

    names = ("Hillshade",)

    def parse(self, args: ArgumentReader) -> HillshadeArgs:
        """Sun position, z-factor and the scaled slope type's adjustment; multidirectional is refused."""
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
            **_z_scaling(args),
        )

    def apply(self, raster: Raster, rule: RasterFunction, args: HillshadeArgs,
              stats: Stats | None) -> tuple[Raster, Stats | None]:
        """The hillshade of the first band."""
        surface = _Surface(raster, args.remove_edge_effect)
        z_factor = _z_factor(surface, args, args.scaled)
        gx, gy = surface.dzdx * z_factor, surface.dzdy * z_factor
        zenith = math.radians(90.0 - args.altitude)
        # ArcGIS's formulation: azimuth turned from compass to math angle, aspect as atan2(dz/dy, -dz/dx).
        azimuth = math.radians((360.0 - args.azimuth + 90.0) % 360.0)
        # cos(zenith) cos(slope) + sin(zenith) sin(slope) cos(azimuth - aspect), with slope = atan(|g|) and
        # aspect = atan2(gy, -gx) expanded algebraically: the same value without per-pixel trigonometry.
        with np.errstate(all="ignore"):
            shade = 255.0 * (
                math.cos(zenith) + math.sin(zenith) * (gy * math.sin(azimuth) - gx * math.cos(azimuth))
            ) / np.sqrt(1.0 + gx * gx + gy * gy)
        shade = np.clip(shade, 0.0, 255.0)
        return finish(raster, rule, shade[np.newaxis], surface.valid, "U8", ("Hillshade",)), None


class Slope(_SurfaceFunction[SlopeArgs]):
    """``Slope``: the steepness of the surface, in degrees or percent rise, F32."""

    names = ("Slope",)

    def parse(self, args: ArgumentReader) -> SlopeArgs:
        """Slope type, z-factor and the scaled slope type's adjustment."""
        return SlopeArgs(slope_type=_slope_type(args, (1, 2, 3)), z_factor=args.number("ZFactor", 1.0),
                         **_z_scaling(args))

    def apply(self, raster: Raster, rule: RasterFunction, args: SlopeArgs,
              stats: Stats | None) -> tuple[Raster, Stats | None]:
        """The slope of the first band."""
        surface = _Surface(raster, args.remove_edge_effect)
        z_factor = _z_factor(surface, args, args.slope_type == 3)
        with np.errstate(all="ignore"):
            rise = np.hypot(surface.dzdx, surface.dzdy) * abs(z_factor)
            slope = rise * 100.0 if args.slope_type == 2 else np.degrees(np.arctan(rise))
        return finish(raster, rule, slope[np.newaxis], surface.valid, "F32", ("Slope",)), None


class Aspect(_SurfaceFunction[AspectArgs]):
    """``Aspect``: the compass direction the surface faces, F32 degrees (flat: -1)."""

    names = ("Aspect",)

    def parse(self, args: ArgumentReader) -> AspectArgs:
        """Only ``RemoveEdgeEffect``."""
        return AspectArgs(remove_edge_effect=args.boolean("RemoveEdgeEffect", False))

    def apply(self, raster: Raster, rule: RasterFunction, args: AspectArgs,
              stats: Stats | None) -> tuple[Raster, Stats | None]:
        """The aspect of the first band."""
        surface = _Surface(raster, args.remove_edge_effect)
        gx, gy = surface.dzdx, surface.dzdy
        with np.errstate(all="ignore"):
            angle = np.degrees(np.arctan2(gy, -gx))
            # Math angle of the downslope direction -> compass bearing (clockwise from north).
            aspect = np.where(angle < 0, 90.0 - angle, np.where(angle > 90.0, 450.0 - angle, 90.0 - angle))
            aspect = np.where((gx == 0) & (gy == 0), -1.0, aspect)
        return finish(raster, rule, aspect[np.newaxis], surface.valid, "F32", ("Aspect",)), None


class _ZScaling(TypedDict):
    """Arguments Hillshade and Slope share: the scaled slope type's z-factor terms, and the edge rule."""

    ps_power: float
    ps_z_factor: float
    remove_edge_effect: bool


def _z_scaling(args: ArgumentReader) -> _ZScaling:
    """``PSPower`` and ``PSZFactor`` (ArcGIS's defaults), then ``RemoveEdgeEffect``, in the order they are checked."""
    return _ZScaling(ps_power=args.number("PSPower", 0.664, minimum=0.0),
                     ps_z_factor=args.number("PSZFactor", 0.024, "PSFactor", minimum=0.0),
                     remove_edge_effect=args.boolean("RemoveEdgeEffect", False))


def _z_factor(surface: _Surface, args: HillshadeArgs | SlopeArgs, scaled: bool) -> float:
    """The z-factor, plus the scaled slope type's cell-size term when ``scaled``."""
    return surface.adjusted_z(args.z_factor, args.ps_power, args.ps_z_factor) if scaled else args.z_factor


_SLOPE_TYPES: Final = {"degree": 1, "degrees": 1, "percentrise": 2, "percent": 2, "scaled": 3, "adjusted": 3}


def _slope_type(args: ArgumentReader, allowed: Sequence[int]) -> int:
    value = args.raw("SlopeType")
    if isinstance(value, str) and name_key(value) in _SLOPE_TYPES:
        slope_type = _SLOPE_TYPES[name_key(value)]
    else:
        slope_type = args.integer("SlopeType", 1)
    if slope_type not in allowed:
        names = {1: "1 (degree)", 2: "2 (percent rise)", 3: "3 (scaled)"}
        raise args.error("SlopeType", f"must be {' or '.join(names[a] for a in allowed)}")
    return slope_type


class _Surface:
    """Horn's 3x3 derivatives of the first band: ``dzdx`` (towards east) and ``dzdy`` (towards south, ArcGIS's
    convention for rows that run north to south), in z units per ground unit, and where they are ``valid``."""

    dzdx: FloatArray
    dzdy: FloatArray
    valid: BoolArray
    cell_y_metres: float

    def __init__(self, raster: Raster, remove_edge_effect: bool) -> None:
        values, valid = values_of(raster)
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
