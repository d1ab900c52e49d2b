"""``Stretch``: contrast stretches of every band into an output range.

``StretchType`` 0 none, 3 standard deviation (``NumberOfStandardDeviations``, default 2), 4 histogram equalization,
5 minimum-maximum, 6 percent clip (``MinPercent``/``MaxPercent``, defaults 0.25/0.5).  ``Min``/``Max`` are the
*output* range (default 0..255), as in the ArcGIS JSON; the input range comes from ``Statistics``
(``[[min, max, mean, stddev], ...]``), else the service statistics, else (or with ``DRA``) the statistics of the
raster itself.  Percent clip and histogram equalization always use the raster's own valid values (there are no
service histograms).  Gamma: ``t ** (1 / gamma)`` on the normalised value, so gamma > 1 brightens mid-tones;
``ComputeGamma`` picks, per band, the gamma that maps the band mean to mid-grey.  Output U8 while the output range
fits 0..255 (else U16, S16 or F32).  Sigmoid (9) is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from translators.raster.functions.base import ArgumentReader, Function, RasterFunction, Stats, lower_keys
from translators.raster.functions.helpers import FloatArray, finish, normalise, values_of
from translators.raster.model import PIXEL_TYPES, BandStats, Raster

__all__ = ["Stretch", "StretchArgs"]


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


_STRETCH_TYPES: Final = {0: "none", 3: "standard deviation", 4: "histogram equalization", 5: "minimum-maximum",
                         6: "percent clip"}
_STRETCH_UNSUPPORTED: Final = {7: "gaussian", 8: "histogram specification", 9: "sigmoid"}


def _parse_statistics(args: ArgumentReader) -> Stats:
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
            keys = lower_keys(item)
            item = [keys.get("min"), keys.get("max"), keys.get("mean", keys.get("avg")),
                    keys.get("stddev", keys.get("standarddeviation"))]
        if not isinstance(item, list) or len(item) < 4:
            raise args.error("Statistics", "must be an array of [min, max, mean, stddev] per band")
        low, high, mean, std = (args.to_float(v, "Statistics") for v in item[:4])
        if high < low or std < 0:
            raise args.error("Statistics", "needs min <= max and a non-negative standard deviation")
        stats.append(BandStats(low, high, mean, std))
    return tuple(stats)


class Stretch(Function[StretchArgs]):
    """``Stretch``: the input range of each band, from statistics or the data, mapped onto ``Min``..``Max``."""

    names = ("Stretch",)

    def parse(self, args: ArgumentReader) -> StretchArgs:
        """Type, cut-offs, output range, statistics and gamma, validated."""
        stretch_type = args.integer("StretchType", 0)
        if stretch_type in _STRETCH_UNSUPPORTED:
            name = _STRETCH_UNSUPPORTED[stretch_type]
            raise args.unsupported(f"StretchType {stretch_type} ({name}) is not supported")
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

    def apply(self, raster: Raster, rule: RasterFunction, args: StretchArgs,
              stats: Stats | None) -> tuple[Raster, Stats | None]:
        """Every band stretched; the statistics no longer describe the result."""
        if args.stretch_type == 0:
            return raster, stats
        values, valid = values_of(raster)
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
                t = normalise(band, low, high)
            if args.use_gamma:
                t = t ** (1.0 / _gamma(args, b, t[valid]))
            out[b] = args.out_min + t * (args.out_max - args.out_min)
        return finish(raster, rule, out, valid, _range_pixel_type(args.out_min, args.out_max)), None


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
