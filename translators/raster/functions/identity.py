"""``None``/``Identity``: the raster unchanged (an ``outputPixelType`` still converts it)."""

from __future__ import annotations

from dataclasses import dataclass

from translators.raster.functions.base import ArgumentReader, Function, RasterFunction, Stats
from translators.raster.model import Raster

__all__ = ["Identity", "NoArgs"]


@dataclass(frozen=True)
class NoArgs:
    """Arguments of ``None``/``Identity``: there are none."""


class Identity(Function[NoArgs]):
    """``None`` and ``Identity``: pass the raster and its statistics through."""

    names = ("None", "Identity")

    def parse(self, args: ArgumentReader) -> NoArgs:
        """No arguments; any given are ignored, as ArcGIS Server does."""
        return NoArgs()

    def apply(self, raster: Raster, rule: RasterFunction, args: NoArgs,
              stats: Stats | None) -> tuple[Raster, Stats | None]:
        """The raster unchanged."""
        return raster, stats
