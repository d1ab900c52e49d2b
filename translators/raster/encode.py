"""The output side of ImageServer ``exportImage``: pixel type, noData, default stretch and the output formats.

The steps, in the order the web layer applies them (ArcGIS: "getting the image", then "converting to a format"):

1. :func:`convert_pixel_type` (``pixelType``) and :func:`apply_nodata` (``noData``/``noDataInterpretation``);
2. :func:`encode_raster` (``format``, ``compression``, ``compressionQuality``, ``lercVersion``,
   ``compressionTolerance``), which for the 8-bit image formats runs :func:`stretch_to_u8` and :func:`to_rgba` and
   hands the picture to :func:`translators.imaging.encode_image`.

Decisions, where ArcGIS leaves room:

* **Float to integer** pixel types truncate toward zero, then clip to the type's range: ArcGIS documents
  float-to-integer raster conversion as truncation ("the values after the decimal point are simply truncated", the
  ``Int`` function/tool) and ``exportImage`` documents that out-of-range values are "truncated to fit" the type.
  Values whose *declared* type is already an integer but which are held in a float array (resampling, raster
  functions) round to the nearest integer (ties to even) instead: there the fraction is computation noise, and
  truncating would turn 254.9999 into 254.  NaN cannot be an integer: such pixels become invalid.
* **Default stretch** (a non-U8 raster asked for in jpg, png…): linear minimum-maximum per band,
  ``floor((v - min) * 255 / (max - min) + 0.5)`` (halves round up) clipped to 0-255, with the service statistics of
  the band when given and usable, otherwise the minimum and maximum of the band's valid pixels.  A band without
  spread maps to 0.  U8 is never stretched; U1/U2/U4/S8 are (0/1 would otherwise be black).  Non-finite values
  become invalid.
* **Bands to colours**: 1 band is grey, 2 bands show the first as grey (the second is usually an alpha or a quality
  band, not a colour), 3 or more show the first three as red, green, blue.  Alpha is 255 where valid, 0 where not;
  jpg/bmp composite invalid pixels onto :mod:`translators.imaging`'s default (white) background.
* **jpgpng** is JPEG when every pixel is valid and ``png32`` as soon as one is not, as ArcGIS documents (not
  :func:`~translators.imaging.encode_image`'s own ``jpgpng``, which picks its ``png``).
* **GeoTIFF** keeps the pixel type (no stretch; U1/U2/U4 are written as 8-bit bands), the bbox as a north-up
  geotransform and the CRS.  Its nodata value is one absent from every band's valid values: for integers the type's
  minimum, else the storage type's maximum, else its minimum, else the lowest unused value; for floats the type's
  lowest finite value (Esri's customary float NoData, -3.4028235e38 for F32), else NaN.  When every value of the
  type is used (8/16-bit only) or the compression is JPEG (a lossy codec would blur a nodata value), an internal
  mask band is written instead.  ``compression``: None, ``LZ77`` (DEFLATE) or ``JPEG`` (U8 only).
* **bip/bsq** are the raw values in the pixel type (1 byte for U1…U8/S8), little endian, band-interleaved by pixel
  (``v[row][col][band]``) or band-sequential (``v[band][row][col]``), then the validity mask as ArcGIS's
  ``GetImage``/Lerc ``BitMask`` defines it: one bit per pixel in row-major order, no padding at row ends, the first
  pixel in the most significant bit, 1 = valid, ``ceil(rows * cols / 8)`` bytes.  Invalid pixels hold 0.
* **lerc**: ``lercVersion=2`` (or none: ArcGIS then answers "the highest version available") writes the newest Lerc2
  codec version of the ``lerc`` library.  That library only decodes Lerc1 (the original ``CntZImage`` format); it
  cannot write it.  So ``lercVersion=1`` gets the *oldest* Lerc2 codec version it writes (Lerc2 v2), the one an old
  client is most likely to read; decoders that read both generations (LercDecode.js, the lerc library, GDAL) read
  it.  Only a Lerc1-only decoder cannot.
  ``compressionTolerance`` is Lerc's ``maxZError`` (default 0: lossless; Lerc treats integers as lossless up to
  0.5).  Every band shares the one validity mask; invalid pixels hold 0.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Sequence
from typing import Final

import lerc
import numpy as np
import rasterio
from affine import Affine
from numpy.typing import NDArray
from rasterio.crs import CRS as RioCRS
from rasterio.io import MemoryFile

from translators.errors import InvalidParameter, UnsupportedParameter
from translators.imaging import encode_image
from translators.raster.model import PIXEL_TYPES, BandStats, PixelType, Raster, pixel_type_of

__all__ = [
    "DEFAULT_COMPRESSION_QUALITY",
    "EXPORT_FORMATS",
    "apply_nodata",
    "convert_pixel_type",
    "encode_raster",
    "stretch_to_u8",
    "to_rgba",
]

#: JPEG quality when the request has no ``compressionQuality`` (GDAL's and libjpeg's customary default).
DEFAULT_COMPRESSION_QUALITY: Final = 75

# 8-bit picture formats: ArcGIS name -> (translators.imaging format, file extension).  jpgpng is decided per image.
_PICTURE_FORMATS: Final[dict[str, tuple[str, str]]] = {
    "png": ("png", "png"),
    "png8": ("png8", "png"),
    "png24": ("png24", "png"),
    "png32": ("png32", "png"),
    "jpg": ("jpg", "jpg"),
    "bmp": ("bmp", "bmp"),
    "gif": ("gif", "gif"),
}
_RAW_FORMATS: Final = ("tiff", "bip", "bsq", "lerc")

#: Every ``format`` value :func:`encode_raster` accepts (lower case).
EXPORT_FORMATS: Final[tuple[str, ...]] = ("jpgpng", *_PICTURE_FORMATS, *_RAW_FORMATS)

_OCTET_STREAM: Final = "application/octet-stream"

_MATCH_ANY: Final = "esrinodatamatchany"
_MATCH_ALL: Final = "esrinodatamatchall"

# Lerc data type codes of the C API (Lerc_types.h), by numpy dtype name.
_LERC_DATA_TYPES: Final[dict[str, int]] = {
    "int8": 0, "uint8": 1, "int16": 2, "uint16": 3, "int32": 4, "uint32": 5, "float32": 6, "float64": 7,
}
_LERC_NEWEST: Final = -1  # lerc_encodeForVersion: -1 = the library's current codec version
_LERC_OLDEST: Final = 2  # the oldest Lerc2 codec version lerc_encodeForVersion can write


# --------------------------------------------------------------------------------------------------------------------
# Pixel type


def convert_pixel_type(raster: Raster, pixel_type: str | None, parameter: str = "pixelType") -> Raster:
    """Convert ``raster`` to the ArcGIS pixel type ``pixel_type`` (``U1`` … ``F64``, case-insensitive).

    ``None``, ``""`` and ``UNKNOWN`` keep the raster as it is.  Values beyond the type's range are clipped to it;
    float pixel types truncate toward zero into integer types, integer values held in float arrays round to the
    nearest (see the module docstring).  NaN becomes an invalid pixel in an integer type.  The result's data has
    the type's numpy dtype.

    Raises :class:`UnsupportedParameter` for the complex types ``C64``/``C128`` and :class:`InvalidParameter` for
    any other unknown name, both naming ``parameter``.
    """
    if pixel_type is None:
        return raster
    name = pixel_type.strip().upper()
    if name in ("", "UNKNOWN"):
        return raster
    if name in ("C64", "C128"):
        raise UnsupportedParameter(parameter, f"complex pixel type {pixel_type.strip()!r} is not supported; "
                                              "use one of U1, U2, U4, U8, S8, U16, S16, U32, S32, F32, F64")
    target = PIXEL_TYPES.get(name)
    if target is None:
        raise InvalidParameter(parameter, f"unknown pixel type {pixel_type.strip()!r}; expected one of "
                                          f"{', '.join(PIXEL_TYPES)} or UNKNOWN")
    data, mask = _convert_values(raster.data, raster.mask, _declared_type(raster), target)
    return raster.with_data(data, target.name, mask)


def _declared_type(raster: Raster) -> PixelType:
    """The pixel type ``raster`` says its values stand for (from its dtype if the name is not an ArcGIS one)."""
    return PIXEL_TYPES.get(raster.pixel_type.strip().upper()) or pixel_type_of(raster.data.dtype)


def _convert_values(data: NDArray[np.generic], mask: NDArray[np.bool_], source: PixelType,
                    target: PixelType) -> tuple[NDArray[np.generic], NDArray[np.bool_]]:
    dtype = np.dtype(target.dtype)
    kind = data.dtype.kind
    if data.dtype == dtype and (kind == "f" or source.name == target.name):
        return data, mask  # already held as the target type: nothing can be out of its range
    if not target.integer:
        if kind in "iub":
            return data.astype(dtype), mask
        values = data.astype(np.float64)
        finite = np.isfinite(values)
        # Finite values beyond the type's range are clipped ("truncated to fit"); NaN and ±inf exist in every
        # float type and stay as they are.
        values[finite] = np.clip(values[finite], target.minimum, target.maximum)
        return values.astype(dtype), mask
    if kind in "iub" and data.dtype != np.uint64:
        wide = data.astype(np.int64)
        return np.clip(wide, int(target.minimum), int(target.maximum)).astype(dtype), mask
    values = data.astype(np.float64)
    nan = np.isnan(values)
    if nan.any():
        mask = mask & ~nan.any(axis=0)
        values[nan] = 0.0
    # ArcGIS truncates floats into integers; an integer type merely held wider rounds (see the module docstring).
    values = np.rint(values) if source.integer else np.trunc(values)
    return np.clip(values, target.minimum, target.maximum).astype(dtype), mask


def _materialize(raster: Raster) -> Raster:
    """``raster`` with its values in the numpy dtype (and range) of its own declared pixel type."""
    return convert_pixel_type(raster, _declared_type(raster).name)


# --------------------------------------------------------------------------------------------------------------------
# noData


def apply_nodata(raster: Raster, no_data: str | None, interpretation: str | None) -> Raster:
    """Mark the pixels matching ``noData`` invalid (mask False).

    ``no_data`` is one number (``"0"``) or one number per band (``"58,128,187"``).  ``interpretation`` is
    ``esriNoDataMatchAny`` (a pixel is noData when any band matches: the default for one number) or
    ``esriNoDataMatchAll`` (only when every band matches: the default for a list); names are case-insensitive.
    A single number with MatchAll means every band equals it.  ``None`` or ``""`` leaves the raster unchanged.

    Raises :class:`InvalidParameter` (``noData`` or ``noDataInterpretation``) for malformed values or a list whose
    length is not the band count.
    """
    if no_data is None or not no_data.strip():
        return raster
    items = no_data.split(",")
    try:
        values = [float(item) for item in items]
    except ValueError:
        raise InvalidParameter("noData", f"{no_data.strip()!r} is not a number or a comma-separated list of numbers "
                                         "(one per band)") from None
    listed = len(items) > 1
    if listed and len(values) != raster.band_count:
        raise InvalidParameter("noData", f"{len(values)} values given for {raster.band_count} band(s); give one "
                                         "number or one per band")
    match_all = _interpretation(interpretation, default_all=listed)
    per_band = values if listed else values * raster.band_count
    hits = np.stack([_equals(raster.data[band], value) for band, value in enumerate(per_band)])
    matched = hits.all(axis=0) if match_all else hits.any(axis=0)
    return raster.with_data(raster.data, raster.pixel_type, raster.mask & ~matched)


def _interpretation(value: str | None, default_all: bool) -> bool:
    """Whether the noData interpretation is MatchAll."""
    if value is None or not value.strip():
        return default_all
    name = value.strip().lower()
    if name not in (_MATCH_ANY, _MATCH_ALL):
        raise InvalidParameter("noDataInterpretation", f"{value.strip()!r} is not esriNoDataMatchAny or "
                                                       "esriNoDataMatchAll")
    return name == _MATCH_ALL


def _equals(band: NDArray[np.generic], value: float) -> NDArray[np.bool_]:
    if math.isnan(value):
        return np.isnan(band) if band.dtype.kind == "f" else np.zeros(band.shape, dtype=bool)
    # Compared in float64 so that e.g. 3.0 matches an integer 3 and 3.5 matches no integer.
    return np.asarray(band.astype(np.float64) == value)


# --------------------------------------------------------------------------------------------------------------------
# Default stretch and colours


def stretch_to_u8(raster: Raster, stats: Sequence[BandStats] | None) -> Raster:
    """The ArcGIS "default stretch" of a non-U8 raster into U8, for the 8-bit formats; U8 passes unchanged.

    Linear minimum-maximum per band (see the module docstring): ``stats[i]`` (the service statistics of output band
    ``i``) when its minimum and maximum are finite and distinct, else the band's own valid minimum and maximum.
    Raises :class:`ValueError` when ``stats`` is given for a different number of bands (a caller bug).
    """
    if _declared_type(raster).name == "U8":
        return raster
    if stats is not None and len(stats) != raster.band_count:
        raise ValueError(f"{len(stats)} band statistics for {raster.band_count} bands")
    values = raster.data.astype(np.float64)
    mask = raster.mask & np.isfinite(values).all(axis=0)
    out = np.zeros(values.shape, dtype=np.uint8)
    for band in range(raster.band_count):
        low, high = _stretch_range(values[band], mask, stats[band] if stats is not None else None)
        if high > low:
            # Multiply before dividing so exact halves stay exact (100 * 255 / 200 is 127.5, 100 * 1.275 is not).
            scaled = np.floor((np.where(mask, values[band], low) - low) * 255.0 / (high - low) + 0.5)
            out[band] = np.clip(scaled, 0, 255).astype(np.uint8)
        out[band][~mask] = 0
    return raster.with_data(out, "U8", mask)


def _stretch_range(band: NDArray[np.float64], mask: NDArray[np.bool_], stats: BandStats | None) -> tuple[float, float]:
    if stats is not None:
        low, high = float(stats.minimum), float(stats.maximum)
        if math.isfinite(low) and math.isfinite(high) and high > low:
            return low, high
    valid = band[mask]
    if valid.size == 0:
        return 0.0, 0.0
    return float(valid.min()), float(valid.max())


def to_rgba(raster: Raster) -> NDArray[np.uint8]:
    """The ``(rows, cols, 4)`` RGBA picture of a U8 raster (run :func:`stretch_to_u8` first).

    1 band is grey, 2 bands show the first as grey, 3 or more the first three as RGB; alpha is 255 where the pixel
    is valid and 0 (colour 0, 0, 0) where not.  Raises :class:`ValueError` for a raster that is not U8.
    """
    if _declared_type(raster).name != "U8":
        raise ValueError(f"to_rgba needs a U8 raster, not {raster.pixel_type}; stretch it first")
    data = raster.data
    if data.dtype != np.uint8:
        data = np.clip(np.rint(data.astype(np.float64)), 0, 255).astype(np.uint8)
    rgba = np.empty((raster.height, raster.width, 4), dtype=np.uint8)
    if raster.band_count >= 3:
        rgba[..., :3] = data[:3].transpose(1, 2, 0)
    else:
        rgba[..., :3] = data[0][..., np.newaxis]
    rgba[..., 3] = np.where(raster.mask, 255, 0)
    rgba[~raster.mask] = 0
    return rgba


# --------------------------------------------------------------------------------------------------------------------
# Encoding


def encode_raster(
    raster: Raster,
    fmt: str,
    *,
    stats: Sequence[BandStats] | None = None,
    compression: str | None = None,
    compression_quality: int | None = None,
    lerc_version: int | None = None,
    compression_tolerance: float | None = None,
) -> tuple[bytes, str, str]:
    """Encode ``raster`` in the ArcGIS ``exportImage`` ``format``; returns ``(body, content_type, extension)``.

    ``fmt`` is one of :data:`EXPORT_FORMATS` (case-insensitive; empty means the default ``jpgpng``).  The 8-bit
    formats stretch a non-U8 raster with ``stats`` (:func:`stretch_to_u8`); ``tiff``, ``bip``, ``bsq`` and
    ``lerc`` keep the raster's pixel type.  ``compression`` applies to ``tiff`` only, ``compression_quality``
    (0-100, default :data:`DEFAULT_COMPRESSION_QUALITY`) to JPEG output (``jpg``, ``jpgpng``, JPEG-compressed TIFF),
    ``lerc_version`` and ``compression_tolerance`` to ``lerc`` only; parameters a format does not use are ignored,
    as ArcGIS does.  Formats and their choices are described in the module docstring.

    Raises :class:`InvalidParameter` naming ``format``, ``compression``, ``compressionQuality``, ``lercVersion`` or
    ``compressionTolerance`` for an unusable value.
    """
    name = fmt.strip().lower() or "jpgpng"
    if name not in EXPORT_FORMATS:
        raise InvalidParameter("format", f"{fmt.strip()!r} is not supported; expected one of "
                                         f"{' | '.join(EXPORT_FORMATS)}")
    quality = _quality(compression_quality)
    if name == "jpgpng" or name in _PICTURE_FORMATS:
        picture = to_rgba(stretch_to_u8(raster, stats))
        if name == "jpgpng":
            image_format, ext = ("jpg", "jpg") if bool(raster.mask.all()) else ("png32", "png")
        else:
            image_format, ext = _PICTURE_FORMATS[name]
        body, content_type = encode_image(picture, image_format, transparent=True, quality=quality)
        return body, content_type, ext
    values = _materialize(raster)
    if name == "tiff":
        return _encode_tiff(values, _tiff_compression(compression, values.pixel_type), quality), "image/tiff", "tif"
    if name == "lerc":
        version = _lerc_codec_version(lerc_version)
        return _encode_lerc(values, version, _tolerance(compression_tolerance)), _OCTET_STREAM, "lerc"
    return _encode_interleaved(values, by_pixel=name == "bip"), _OCTET_STREAM, name


def _quality(value: int | None) -> int:
    if value is None:
        return DEFAULT_COMPRESSION_QUALITY
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise InvalidParameter("compressionQuality", f"{value!r} is not an integer from 0 to 100")
    return value


def _zeroed(raster: Raster, fill: float | int = 0) -> NDArray[np.generic]:
    """The raster's values with every invalid pixel set to ``fill`` (so bytes never depend on leftovers).

    Read-only for callers: a raster without invalid pixels is returned as it is, without a copy."""
    if raster.mask.all():
        return raster.data
    # One pass that broadcasts the (rows, cols) mask over the bands; boolean-index assignment was ~3x slower.
    result: NDArray[np.generic] = np.where(raster.mask, raster.data, np.asarray(fill, dtype=raster.data.dtype))
    return result


# --- bip / bsq


def _encode_interleaved(raster: Raster, by_pixel: bool) -> bytes:
    data = _zeroed(raster)
    little = data.astype(data.dtype.newbyteorder("<"), copy=False)
    ordered = little.transpose(1, 2, 0) if by_pixel else little
    return np.ascontiguousarray(ordered).tobytes() + _bit_mask(raster.mask)


def _bit_mask(mask: NDArray[np.bool_]) -> bytes:
    """ArcGIS/Lerc ``BitMask`` bytes: row-major, no row padding, first pixel in the most significant bit, 1 = valid."""
    return np.packbits(mask.ravel(), bitorder="big").tobytes()


# --- tiff


def _tiff_compression(value: str | None, pixel_type: str) -> str | None:
    """The GDAL compression of the ``compression`` parameter: None, ``deflate`` or ``jpeg``."""
    name = (value or "").strip().lower()
    if name in ("", "none"):
        return None
    if name == "lz77":
        return "deflate"
    if name == "jpeg":
        if pixel_type != "U8":
            raise InvalidParameter("compression", f"JPEG compression needs 8-bit (U8) pixels, not {pixel_type}; "
                                                  "use LZ77 or None, or pixelType=U8")
        return "jpeg"
    raise InvalidParameter("compression", f"{value!r} is not None, JPEG or LZ77")


def _encode_tiff(raster: Raster, compression: str | None, quality: int) -> bytes:
    bbox = raster.bbox
    # Built directly: rasterio's from_bounds multiplies Affines with `*`, which warns in current affine releases.
    transform = Affine((bbox[2] - bbox[0]) / raster.width, 0.0, bbox[0], 0.0, -(bbox[3] - bbox[1]) / raster.height,
                       bbox[3])
    all_valid = bool(raster.mask.all())
    # A lossy codec would smear a nodata value into its neighbours, so JPEG always gets a mask band instead.
    nodata = None if compression == "jpeg" else _tiff_nodata(raster)
    profile: dict[str, object] = {
        "driver": "GTiff", "width": raster.width, "height": raster.height, "count": raster.band_count,
        "dtype": raster.data.dtype.name, "crs": RioCRS.from_wkt(raster.sr.crs.to_wkt()), "transform": transform,
    }
    if nodata is not None:
        profile["nodata"] = nodata
    if compression == "deflate":
        profile["compress"] = "deflate"
    elif compression == "jpeg":
        # libjpeg's quality scale starts at 1; JPEG in TIFF holds at most 4 components per pixel.
        profile.update(compress="jpeg", jpeg_quality=max(1, quality))
        if raster.band_count > 4:
            profile["interleave"] = "band"
    data = _zeroed(raster, nodata if nodata is not None else 0)
    # Keep a mask band inside the file: a MemoryFile has no place for a .msk sidecar.
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), MemoryFile() as memory:
        with memory.open(**profile) as dataset:
            dataset.write(data)
            if nodata is None and not all_valid:
                dataset.write_mask(raster.mask.view(np.uint8) * np.uint8(255))
        return bytes(memory.getbuffer())


def _tiff_nodata(raster: Raster) -> float | int | None:
    """A nodata value absent from every band's valid values (see the module docstring), or None if none is free."""
    declared = _declared_type(raster)
    if not declared.integer:
        lowest = declared.minimum  # the lowest finite value of the float type
        # Checked over all cells (no masked copy of a large raster); an invalid cell holding it costs only NaN.
        return lowest if not bool((raster.data == lowest).any()) else math.nan
    valid = raster.data[:, raster.mask].ravel()
    info = np.iinfo(raster.data.dtype.name)
    for candidate in (int(declared.minimum), int(info.max), int(info.min)):
        if not bool((valid == candidate).any()):
            return candidate
    # min and max are taken, so the first gap between used values is the lowest free one.
    used = np.unique(valid).astype(np.int64)
    gaps = np.nonzero(np.diff(used) > 1)[0]
    return int(used[gaps[0]]) + 1 if gaps.size else None


# --- lerc


def _lerc_codec_version(value: int | None) -> int:
    if value is None or value == 2:
        return _LERC_NEWEST
    if value == 1:
        return _LERC_OLDEST
    raise InvalidParameter("lercVersion", f"{value!r} is not 1 or 2")


def _tolerance(value: float | None) -> float:
    if value is None:
        return 0.0
    tolerance = float(value)
    if not math.isfinite(tolerance) or tolerance < 0:
        raise InvalidParameter("compressionTolerance", f"{value!r} is not a non-negative number")
    return tolerance


def _encode_lerc(raster: Raster, version: int, tolerance: float) -> bytes:
    data = np.ascontiguousarray(_zeroed(raster))
    data_type = _LERC_DATA_TYPES[data.dtype.name]
    valid = np.ascontiguousarray(raster.mask, dtype=np.uint8)
    # The lerc package's Python encode() always writes the library's newest codec version; the C API function
    # lerc_encodeForVersion of the same shared library also writes older Lerc2 versions (for lercVersion=1).
    library = lerc.lercDll
    shape = (ctypes.c_int(1), ctypes.c_int(raster.width), ctypes.c_int(raster.height), ctypes.c_int(raster.band_count))
    common = (data.ctypes.data_as(ctypes.c_void_p), ctypes.c_int(version), ctypes.c_uint(data_type), *shape,
              ctypes.c_int(1), valid.ctypes.data_as(ctypes.c_void_p), ctypes.c_double(tolerance))
    size = ctypes.c_uint(0)
    status = library.lerc_computeCompressedSizeForVersion(*common, ctypes.byref(size))
    if status:
        raise RuntimeError(f"lerc_computeCompressedSizeForVersion failed with status {status}")
    buffer = ctypes.create_string_buffer(size.value)
    written = ctypes.c_uint(0)
    status = library.lerc_encodeForVersion(*common, buffer, size, ctypes.byref(written))
    if status:
        raise RuntimeError(f"lerc_encodeForVersion failed with status {status}")
    return buffer.raw[: written.value]
