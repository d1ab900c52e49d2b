"""``ExtractBand``: a subset of the bands, in the order asked.

``BandIDs`` (0-based) or ``BandNames`` (the raster's band names, else ``Band_1``...); ``MissingBandAction`` 0 (best
match: an id past the last band takes the last band, ArcGIS's default) or 1 (fail).  ``BandWavelengths`` is refused:
the service has no wavelength metadata.  The statistics of the extracted bands are carried along.
"""

from __future__ import annotations

from dataclasses import dataclass

from translators.errors import InvalidParameter
from translators.raster.functions.base import ArgumentReader, Function, RasterFunction, Stats
from translators.raster.functions.helpers import check_band, name_key
from translators.raster.model import Raster

__all__ = ["ExtractBand", "ExtractBandArgs"]


@dataclass(frozen=True)
class ExtractBandArgs:
    """``ExtractBand``: 0-based ids or names, and whether a missing band fails or takes the best match."""

    band_ids: tuple[int, ...] = ()
    band_names: tuple[str, ...] = ()
    fail_missing: bool = False


class ExtractBand(Function[ExtractBandArgs]):
    """``ExtractBand`` (also spelt ``ExtractBands``): the bands named by id or by name."""

    names = ("ExtractBand",)
    aliases = ("ExtractBands",)

    def parse(self, args: ArgumentReader) -> ExtractBandArgs:
        """Band ids or names, and the missing band action."""
        if args.raw("BandWavelengths") is not None and args.raw("BandIDs", "BandNames") is None:
            raise args.unsupported("'BandWavelengths' needs band wavelength metadata, which this service does not have")
        action = args.raw("MissingBandAction")
        if isinstance(action, str) and name_key(action) in ("bestmatch", "findbestmatch", "fail"):
            fail = name_key(action) == "fail"
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

    def band_count(self, rule: RasterFunction, args: ExtractBandArgs, bands: int) -> int:
        """As many bands as ids (each checked when a missing band fails) or names."""
        if args.band_ids:
            _extract_indexes(rule, args, bands, ())
            return len(args.band_ids)
        return len(args.band_names)

    def apply(self, raster: Raster, rule: RasterFunction, args: ExtractBandArgs,
              stats: Stats | None) -> tuple[Raster, Stats | None]:
        """The selected bands, their names and their statistics."""
        indexes = _extract_indexes(rule, args, raster.band_count, raster.band_names)
        names = tuple(raster.band_names[i] for i in indexes) if len(raster.band_names) == raster.band_count else ()
        out_stats = tuple(stats[i] for i in indexes) if stats is not None else None
        return raster.with_data(raster.data[indexes], raster.pixel_type, band_names=names), out_stats


def _extract_indexes(rule: RasterFunction, args: ExtractBandArgs, bands: int, names: tuple[str, ...]) -> list[int]:
    if args.band_ids:
        indexes = []
        for band in args.band_ids:
            if band >= bands:
                if args.fail_missing:
                    check_band(rule, "BandIDs", band, bands)
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
