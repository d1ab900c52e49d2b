"""``Grayscale`` (also ``Greyscale``): a multiband image to one band, the weighted mean of its bands.

ArcGIS documents the output as ``(Band1 * Weight1 + Band2 * Weight2 + ...) / (sum of all weights)``, one band with the
input's pixel type.  ``ConversionParameters`` holds one weight per band (a JSON array or a comma/space separated
string).  Decisions that are ours: without ``ConversionParameters`` every band weighs the same (the mean of the
bands); weights must not be negative and must not all be 0, so that the result stays within the input's range and so
fits its pixel type (integer types are rounded to the nearest integer); a weight count other than the input's band
count is a 400.  A pixel is NoData when any band is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from translators.errors import InvalidParameter
from translators.raster.functions.base import ArgumentReader, Function, RasterFunction, Stats
from translators.raster.functions.helpers import finish, values_of
from translators.raster.model import PIXEL_TYPES, Raster

__all__ = ["Grayscale", "GrayscaleArgs"]


@dataclass(frozen=True)
class GrayscaleArgs:
    """``Grayscale``: ``weights`` (``ConversionParameters``), one per input band; empty: equal weights."""

    weights: tuple[float, ...] = ()


class Grayscale(Function[GrayscaleArgs]):
    """``Grayscale``: the bands' weighted mean, normalised by the sum of the weights."""

    names = ("Grayscale",)
    aliases = ("Greyscale",)

    def parse(self, args: ArgumentReader) -> GrayscaleArgs:
        """The weights: finite, none negative, not all 0."""
        weights = args.numbers("ConversionParameters") or ()
        if any(w < 0 for w in weights):
            raise args.error("ConversionParameters", "weights must not be negative")
        if weights and not any(weights):
            raise args.error("ConversionParameters", "weights must not all be 0")
        return GrayscaleArgs(weights)

    def band_count(self, rule: RasterFunction, args: GrayscaleArgs, bands: int) -> int:
        """One band, once there is a weight for every input band."""
        _check_weights(rule, args, bands)
        return 1

    def apply(self, raster: Raster, rule: RasterFunction, args: GrayscaleArgs,
              stats: Stats | None) -> tuple[Raster, Stats | None]:
        """The weighted mean of the bands, in the input's pixel type unless an ``outputPixelType`` is given."""
        _check_weights(rule, args, raster.band_count)
        values, valid = values_of(raster)
        weights = np.asarray(args.weights or [1.0] * raster.band_count, dtype=np.float64)
        with np.errstate(all="ignore"):
            grey = np.tensordot(weights, values, axes=1) / weights.sum()
        # The weighted mean of values of one type fits that type; an unknown type falls back to F32 as Remap does.
        pixel_type = raster.pixel_type if raster.pixel_type in PIXEL_TYPES else "F32"
        return finish(raster, rule, grey[np.newaxis], valid, pixel_type, ("Grayscale",)), None


def _check_weights(rule: RasterFunction, args: GrayscaleArgs, bands: int) -> None:
    if args.weights and len(args.weights) != bands:
        raise InvalidParameter(rule.parameter, f"{rule.name} argument 'ConversionParameters' has "
                                               f"{len(args.weights)} weight(s), but the input has {bands} band(s)")
