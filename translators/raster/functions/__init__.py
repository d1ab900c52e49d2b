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

NoData: every output mask is the input mask AND a valid computation (finite result; division by zero, square roots
of negatives and overflows are NoData).  Values under a False mask are written as 0.  ``outputPixelType`` (other than
UNKNOWN) converts a function's result by rounding and clamping to the type's range.  Service statistics are only
used while they still describe the data: after a function that changes values they are dropped (ExtractBand and
Clip carry them along), and they are ignored when their count differs from the raster's band count.

Layout: ``rule`` parses the envelope and applies a rule; ``base`` holds :class:`RasterFunction` and the
:class:`~translators.raster.functions.base.Function` base class; ``registry`` lists the functions, each family in a
module of its own whose docstring states the decisions that are ours rather than documented ArcGIS behaviour;
``helpers`` holds what several of them share.
"""

from __future__ import annotations

from translators.raster.functions.base import RasterFunction
from translators.raster.functions.clip import ClipArgs, rasterize
from translators.raster.functions.colormap import ColormapArgs
from translators.raster.functions.extract_band import ExtractBandArgs
from translators.raster.functions.identity import NoArgs
from translators.raster.functions.indices import Band, BandArithmeticArgs, BinOp, Expr, NDVIArgs, Neg, Num
from translators.raster.functions.remap import RemapArgs
from translators.raster.functions.rule import apply_rendering_rule, output_band_count, parse_rendering_rule
from translators.raster.functions.stretch import StretchArgs
from translators.raster.functions.terrain import AspectArgs, HillshadeArgs, SlopeArgs

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
    "rasterize",
]
