"""Helpers shared by several raster functions: float views of a raster, typed results, band checks, scaling."""

from __future__ import annotations

import re
from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

from translators.errors import InvalidParameter
from translators.raster.functions.base import RasterFunction
from translators.raster.model import PIXEL_TYPES, Raster

__all__ = ["BoolArray", "FloatArray", "check_band", "convert", "finish", "name_key", "normalise",
           "require_single_band", "values_of"]

FloatArray: TypeAlias = NDArray[np.float64]
BoolArray: TypeAlias = NDArray[np.bool_]


def values_of(raster: Raster) -> tuple[FloatArray, BoolArray]:
    """The values as float64 and the validity: the mask, less pixels with a non-finite value in any band."""
    values = np.asarray(raster.data, dtype=np.float64)
    valid = np.asarray(raster.mask, dtype=np.bool_) & np.all(np.isfinite(values), axis=0)
    return values, valid


def finish(raster: Raster, rule: RasterFunction, values: FloatArray, valid: BoolArray, default_type: str,
           band_names: tuple[str, ...] | None = None) -> Raster:
    """A function's result: ``values`` as the rule's ``outputPixelType``, else ``default_type`` (converted directly,
    so that e.g. an F32 stretch is not first rounded to U8)."""
    return convert(raster, values, valid, rule.output_pixel_type or default_type, band_names)


def convert(raster: Raster, values: FloatArray, valid: BoolArray, pixel_type: str,
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


def check_band(rule: RasterFunction, name: str, index: int, bands: int) -> None:
    """Raise :class:`InvalidParameter` when the 0-based band ``index`` (argument ``name``) is not among ``bands``."""
    if index >= bands:
        raise InvalidParameter(rule.parameter, f"{rule.name} argument '{name}' is {index}, but the input has "
                                               f"{bands} band(s) (0-based ids)")


def require_single_band(rule: RasterFunction, bands: int) -> None:
    """Raise :class:`InvalidParameter` unless the input has exactly one band."""
    if bands != 1:
        raise InvalidParameter(rule.parameter, f"{rule.name} needs a single-band input, got {bands} bands "
                                               "(extract one band first)")


def normalise(band: FloatArray, low: float, high: float) -> FloatArray:
    """``band`` mapped linearly so that low -> 0 and high -> 1, clamped; a zero-width range is a step at low."""
    if high > low:
        with np.errstate(all="ignore"):
            result: FloatArray = np.clip((band - low) / (high - low), 0.0, 1.0)
        return result
    return (band > low).astype(np.float64)


def name_key(name: str) -> str:
    """A name of a ramp, colormap or option reduced to lower-case letters and digits, for matching."""
    return re.sub(r"[^0-9a-z]", "", name.lower())
