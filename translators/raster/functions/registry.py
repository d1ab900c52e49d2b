"""The one list of raster functions: those computed here, and ArcGIS's others that are refused by name.

Adding a function: write its module (a :class:`~translators.raster.functions.base.Function` subclass and its
arguments dataclass) and add one line to ``FUNCTIONS``; take its names out of ``NOT_IMPLEMENTED`` if they were there.
"""

from __future__ import annotations

import re
from typing import Any, Final

from translators.raster.functions.base import Function
from translators.raster.functions.clip import Clip
from translators.raster.functions.colormap import Colormap
from translators.raster.functions.extract_band import ExtractBand
from translators.raster.functions.grayscale import Grayscale
from translators.raster.functions.identity import Identity
from translators.raster.functions.indices import NDVI, BandArithmetic
from translators.raster.functions.remap import Remap
from translators.raster.functions.stretch import Stretch
from translators.raster.functions.terrain import Aspect, Hillshade, Slope

__all__ = ["FUNCTIONS", "NOT_IMPLEMENTED", "find", "function", "function_key"]

FUNCTIONS: Final[tuple[Function[Any], ...]] = (
    Identity(),
    Stretch(),
    Colormap(),
    Hillshade(),
    Slope(),
    Aspect(),
    NDVI(),
    BandArithmetic(),
    Remap(),
    Clip(),
    ExtractBand(),
    Grayscale(),
)


# ArcGIS's other well-known functions (as name keys): well-formed requests we do not compute, refused rather than
# answered as unknown.
NOT_IMPLEMENTED: Final = frozenset({
    "argstatistics", "arithmetic", "ccdc", "classify", "colormaptorgb", "colorspaceconversion", "complex",
    "compositeband", "computechange", "contrastbrightness", "convolution", "createcolorcomposite", "curvature",
    "detectchange", "elevationvoidfill", "geometric", "local", "mask", "mlclassify",
    "multidimensionalraster", "multidimensionalfilter", "pansharpening", "pansharpen", "processrastercollection",
    "rastercalculator", "recast", "resample", "segmentmeanshift", "shadedrelief", "speckle", "spectralconversion",
    "spectralunmixing", "statistics", "statisticshistogram", "statisticshistograms", "surfaceparam",
    "surfaceparamfunction", "tasseledcap", "threshold", "transposebits", "trend", "trendanalysis", "trendtorgb",
    "unitconversion", "vectorfield", "vectorfieldrenderer", "weightedoverlay", "weightedsum",
})


def function_key(name: str) -> str:
    """A function name as matched: lower case, without spaces, underscores and hyphens (``Band Arithmetic``)."""
    return re.sub(r"[\s_\-]", "", name).lower()


# key -> (the canonical name a rule keeps, the function); aliases answer under the function's first name.
_BY_KEY: Final[dict[str, tuple[str, Function[Any]]]] = {
    **{function_key(alias): (f.names[0], f) for f in FUNCTIONS for alias in f.aliases},
    **{function_key(name): (name, f) for f in FUNCTIONS for name in f.names},
}
_BY_NAME: Final[dict[str, Function[Any]]] = {name: f for f in FUNCTIONS for name in f.names}


def find(key: str) -> tuple[str, Function[Any]] | None:
    """The canonical name and the function for a name key (see :func:`function_key`), or None when none has it."""
    return _BY_KEY.get(key)


def function(name: str) -> Function[Any]:
    """The function of a parsed rule's canonical ``name``."""
    return _BY_NAME[name]
