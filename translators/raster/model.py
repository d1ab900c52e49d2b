"""The raster model shared by every ImageServer step: values, validity, georeferencing, pixel types, statistics."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from translators.crs import SpatialRef

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class PixelType:
    """An ArcGIS pixel type and the numpy type that holds it."""

    name: str  # ArcGIS name: U1 … U32, S8 … S32, F32, F64
    dtype: str  # numpy dtype name
    minimum: float
    maximum: float
    integer: bool


PIXEL_TYPES: dict[str, PixelType] = {
    p.name: p
    for p in (
        PixelType("U1", "uint8", 0, 1, True),
        PixelType("U2", "uint8", 0, 3, True),
        PixelType("U4", "uint8", 0, 15, True),
        PixelType("U8", "uint8", 0, 255, True),
        PixelType("S8", "int8", -128, 127, True),
        PixelType("U16", "uint16", 0, 65535, True),
        PixelType("S16", "int16", -32768, 32767, True),
        PixelType("U32", "uint32", 0, 4294967295, True),
        PixelType("S32", "int32", -2147483648, 2147483647, True),
        PixelType("F32", "float32", float(np.finfo(np.float32).min), float(np.finfo(np.float32).max), False),
        PixelType("F64", "float64", float(np.finfo(np.float64).min), float(np.finfo(np.float64).max), False),
    )
}
_BY_DTYPE = {"uint8": "U8", "int8": "S8", "uint16": "U16", "int16": "S16", "uint32": "U32", "int32": "S32",
             "float32": "F32", "float64": "F64"}


def pixel_type_of(dtype: np.dtype[np.generic] | str) -> PixelType:
    """The ArcGIS pixel type of a numpy dtype (wider types than ArcGIS knows map to F64)."""
    return PIXEL_TYPES[_BY_DTYPE.get(np.dtype(dtype).name, "F64")]


@dataclass(frozen=True)
class BandStats:
    """Statistics of one band over the whole coverage (valid pixels only)."""

    minimum: float
    maximum: float
    mean: float
    stddev: float


@dataclass
class Raster:
    """Pixel values with a validity mask, covering ``bbox`` (x/y order) in ``sr``.

    ``data`` is ``(bands, rows, cols)``; ``mask`` is ``(rows, cols)``, True where the pixel holds data.  Values under
    a False mask are meaningless.  ``pixel_type`` names the type the values stand for (the data may be held wider,
    e.g. float64 while a function computes).
    """

    data: NDArray[np.generic]
    mask: NDArray[np.bool_]
    bbox: BBox
    sr: SpatialRef
    pixel_type: str
    band_names: tuple[str, ...] = field(default=())

    @property
    def band_count(self) -> int:
        """Number of bands."""
        return int(self.data.shape[0])

    @property
    def height(self) -> int:
        """Rows."""
        return int(self.data.shape[1])

    @property
    def width(self) -> int:
        """Columns."""
        return int(self.data.shape[2])

    def with_data(self, data: NDArray[np.generic], pixel_type: str, mask: NDArray[np.bool_] | None = None,
                  band_names: tuple[str, ...] | None = None) -> Raster:
        """A copy with new values (same georeferencing)."""
        return Raster(data, self.mask if mask is None else mask, self.bbox, self.sr, pixel_type,
                      band_names if band_names is not None else
                      (self.band_names if len(self.band_names) == data.shape[0] else ()))
