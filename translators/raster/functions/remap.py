"""``Remap``: value ranges to new values or to NoData.

``InputRanges`` ``[min, max)`` pairs mapped to ``OutputValues`` (first match wins), ``NoDataRanges`` ``[min, max)``
become NoData (before remapping), ``AllowUnmatched`` (default true) keeps other values, else they become
``ReplacementValue`` or NoData.  The input pixel type is kept when every output value fits it, else F32.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from translators.raster.functions.base import ArgumentReader, Function, RasterFunction, Stats
from translators.raster.functions.helpers import finish, values_of
from translators.raster.model import PIXEL_TYPES, Raster

__all__ = ["Remap", "RemapArgs"]


@dataclass(frozen=True)
class RemapArgs:
    """``Remap``: ``[min, max)`` ranges to values, NoData ranges and what happens to unmatched values."""

    input_ranges: tuple[tuple[float, float], ...] = ()
    output_values: tuple[float, ...] = ()
    nodata_ranges: tuple[tuple[float, float], ...] = ()
    allow_unmatched: bool = True
    replacement: float | None = None


class Remap(Function[RemapArgs]):
    """``Remap``: ranges of values replaced, made NoData, or (unmatched) kept, replaced or made NoData."""

    names = ("Remap",)

    def parse(self, args: ArgumentReader) -> RemapArgs:
        """Ranges with one output value each, NoData ranges, and what becomes of unmatched values."""
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

    def apply(self, raster: Raster, rule: RasterFunction, args: RemapArgs,
              stats: Stats | None) -> tuple[Raster, Stats | None]:
        """Every band remapped, in the input type when the written values fit it."""
        values, valid = values_of(raster)
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
        return finish(raster, rule, out, valid, _remap_pixel_type(raster.pixel_type, written)), None


def _pairs(args: ArgumentReader, name: str) -> tuple[tuple[float, float], ...]:
    values = args.numbers(name) or ()
    if len(values) % 2:
        raise args.error(name, "must hold [min, max) pairs (an even count of numbers)")
    pairs = tuple((values[i], values[i + 1]) for i in range(0, len(values), 2))
    for low, high in pairs:
        if high < low:
            raise args.error(name, f"range [{low:g}, {high:g}) has max < min")
    return pairs


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
