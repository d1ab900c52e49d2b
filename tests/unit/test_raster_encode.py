import io
import math
from typing import Any

import lerc
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image
from rasterio.io import MemoryFile

from translators.crs import SpatialRef, resolve_sr
from translators.errors import InvalidParameter, UnsupportedParameter
from translators.raster.encode import (
    EXPORT_FORMATS,
    apply_nodata,
    convert_pixel_type,
    encode_raster,
    stretch_to_u8,
    to_rgba,
)
from translators.raster.model import PIXEL_TYPES, BandStats, Raster

UTM33: SpatialRef = resolve_sr(32633, "imageSR")
BBOX = (500000.0, 4000000.0, 500030.0, 4000020.0)
F32_MAX = float(np.finfo(np.float32).max)

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_raster(data: object, pixel_type: str, mask: object = None, dtype: str | None = None) -> Raster:
    """A raster over BBOX; ``data`` is (bands, rows, cols) or (rows, cols) for one band."""
    array = np.asarray(data, dtype=dtype or PIXEL_TYPES[pixel_type].dtype)
    if array.ndim == 2:
        array = array[np.newaxis]
    valid = np.ones(array.shape[1:], dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    return Raster(array, valid, BBOX, UTM33, pixel_type)


def stats(minimum: float, maximum: float) -> BandStats:
    return BandStats(minimum, maximum, (minimum + maximum) / 2, 1.0)


def open_tiff(body: bytes) -> tuple[NDArray[np.generic], NDArray[np.uint8], dict[str, Any]]:
    with MemoryFile(body) as memory, memory.open() as dataset:
        info = {"transform": dataset.transform, "crs": dataset.crs, "nodata": dataset.nodata,
                "dtype": dataset.dtypes[0], "compression": dataset.compression, "count": dataset.count}
        return dataset.read(), dataset.read_masks(1), info


def decode_picture(body: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(body))
    image.load()
    return image


# ---------------------------------------------------------------------------------------------------------------------
# convert_pixel_type

TRUNCATION_TABLE = [
    # (source type, source values, target, expected values) -- floats truncate toward zero, then clip to the range
    ("F32", [-1.7, -0.5, 0.5, 1.7, 300.9], "U8", [0, 0, 0, 1, 255]),
    ("F32", [-200.5, -1.7, 1.7, 127.9, 500.0], "S8", [-128, -1, 1, 127, 127]),
    ("F64", [-1.0, 0.9, 1.0, 2.5, 7.0], "U1", [0, 0, 1, 1, 1]),
    ("F64", [-3.0, 2.9, 3.0, 4.0, 9.0], "U2", [0, 2, 3, 3, 3]),
    ("F64", [15.5, 16.0, 0.99, 7.0, -0.2], "U4", [15, 15, 0, 7, 0]),
    ("F64", [-70000.0, -32768.9, 32767.9, 1e9, -2.5], "S16", [-32768, -32768, 32767, 32767, -2]),
    ("F64", [-1.0, 65535.5, 1e12, 4294967295.9, 12.7], "U32", [0, 65535, 4294967295, 4294967295, 12]),
    ("F64", [-3e9, 3e9, -2147483648.5, 2147483647.5, -7.9], "S32",
     [-2147483648, 2147483647, -2147483648, 2147483647, -7]),
    ("S16", [-5, 0, 100, 255, 300], "U8", [0, 0, 100, 255, 255]),
    ("U16", [0, 1, 32767, 32768, 65535], "S16", [0, 1, 32767, 32767, 32767]),
    ("U32", [0, 7, 65536, 2147483648, 4294967295], "S32", [0, 7, 65536, 2147483647, 2147483647]),
    ("S32", [-2147483648, -1, 0, 5, 2147483647], "U32", [0, 0, 0, 5, 2147483647]),
    ("S8", [-128, -1, 0, 1, 127], "U16", [0, 0, 0, 1, 127]),
    ("U8", [0, 1, 128, 254, 255], "F32", [0.0, 1.0, 128.0, 254.0, 255.0]),
    ("F64", [1e39, -1e39, 1.5, -2.25, 0.0], "F32", [F32_MAX, -F32_MAX, 1.5, -2.25, 0.0]),
    ("F32", [1.5, -2.25, 3.0, F32_MAX, 0.0], "F64", [1.5, -2.25, 3.0, F32_MAX, 0.0]),
]


@pytest.mark.parametrize(("source", "values", "target", "expected"), TRUNCATION_TABLE)
def test_convert_pixel_type_truncates_to_range(source: str, values: list[float], target: str,
                                               expected: list[float]) -> None:
    raster = make_raster([values], source)
    converted = convert_pixel_type(raster, target)
    assert converted.pixel_type == target
    assert converted.data.dtype == np.dtype(PIXEL_TYPES[target].dtype)
    assert converted.data[0, 0].tolist() == expected
    assert converted.mask.all()
    assert converted.bbox == raster.bbox and converted.sr is raster.sr


def test_integer_type_held_in_floats_rounds_to_nearest() -> None:
    # Declared U8 but computed in float64 (e.g. bilinear resampling): the fraction is noise, so round, not truncate.
    raster = make_raster([[254.9999, 0.4, 3.6, 255.2, -0.3]], "U8", dtype="float64")
    assert convert_pixel_type(raster, "U16").data[0, 0].tolist() == [255, 0, 4, 255, 0]
    assert convert_pixel_type(raster, "U8").data.dtype == np.uint8


def test_nan_into_an_integer_type_becomes_invalid() -> None:
    raster = make_raster([[[1.5, math.nan], [2.0, 3.9]], [[0.0, 0.0], [math.nan, 1.0]]], "F32")
    converted = convert_pixel_type(raster, "S16")
    assert converted.mask.tolist() == [[True, False], [False, True]]
    assert converted.data[:, 0, 0].tolist() == [1, 0]
    assert converted.data[:, 1, 1].tolist() == [3, 1]


def test_float_target_keeps_nan_and_infinity() -> None:
    raster = make_raster([[math.nan, math.inf, -math.inf]], "F64")
    converted = convert_pixel_type(raster, "F32").data[0, 0]
    assert math.isnan(converted[0]) and converted[1] == math.inf and converted[2] == -math.inf


@pytest.mark.parametrize("name", [None, "", "  ", "UNKNOWN", "unknown"])
def test_unknown_pixel_type_keeps_the_raster(name: str | None) -> None:
    raster = make_raster([[1.5, 2.5]], "F32")
    assert convert_pixel_type(raster, name) is raster


@pytest.mark.parametrize(("name", "expected"), [("u8", "U8"), (" f32 ", "F32"), ("s16", "S16"), ("U1", "U1")])
def test_pixel_type_names_are_case_insensitive(name: str, expected: str) -> None:
    assert convert_pixel_type(make_raster([[1, 0]], "U16"), name).pixel_type == expected


@pytest.mark.parametrize(("name", "error"), [
    ("C64", UnsupportedParameter), ("c128", UnsupportedParameter),
    ("U64", InvalidParameter), ("byte", InvalidParameter), ("F16", InvalidParameter),
])
def test_bad_pixel_types_are_refused(name: str, error: type[InvalidParameter]) -> None:
    with pytest.raises(error) as caught:
        convert_pixel_type(make_raster([[1]], "U8"), name, parameter="outputPixelType")
    assert type(caught.value) is error
    assert caught.value.parameter == "outputPixelType"
    assert name.strip() in caught.value.message


# ---------------------------------------------------------------------------------------------------------------------
# apply_nodata

# One row of four 3-band pixels: (0,0,0) (0,5,6) (58,128,187) (58,128,0)
NODATA_PIXELS = [[[0, 0, 58, 58]], [[0, 5, 128, 128]], [[0, 6, 187, 0]]]

NODATA_TABLE = [
    ("0", None, [False, False, True, False]),  # one number: MatchAny by default
    ("0", "esriNoDataMatchAny", [False, False, True, False]),
    ("0", "esriNoDataMatchAll", [False, True, True, True]),
    ("58,128,187", None, [True, True, False, True]),  # a list: MatchAll by default
    ("58,128,187", "esriNoDataMatchAll", [True, True, False, True]),
    ("58,128,187", "esriNoDataMatchAny", [True, True, False, False]),
    (" 58 , 128 , 187 ", "ESRINODATAMATCHALL", [True, True, False, True]),
    ("0,5,6", "", [True, False, True, True]),
    ("0.0", " esrinodatamatchany ", [False, False, True, False]),
    ("187", None, [True, True, False, True]),
    ("7", None, [True, True, True, True]),
    ("", None, [True, True, True, True]),
    (None, "esriNoDataMatchAll", [True, True, True, True]),
]


@pytest.mark.parametrize(("no_data", "interpretation", "expected"), NODATA_TABLE)
def test_apply_nodata(no_data: str | None, interpretation: str | None, expected: list[bool]) -> None:
    raster = make_raster(NODATA_PIXELS, "U8")
    result = apply_nodata(raster, no_data, interpretation)
    assert result.mask[0].tolist() == expected
    assert np.array_equal(result.data, raster.data)


def test_apply_nodata_keeps_invalid_pixels_invalid() -> None:
    raster = make_raster(NODATA_PIXELS, "U8", mask=[[True, True, True, False]])
    assert apply_nodata(raster, "0", None).mask[0].tolist() == [False, False, True, False]


def test_apply_nodata_on_floats() -> None:
    raster = make_raster([[1.5, 2.0, math.nan, 1.5]], "F32")
    assert apply_nodata(raster, "1.5", None).mask[0].tolist() == [False, True, True, False]
    assert apply_nodata(raster, "nan", None).mask[0].tolist() == [True, True, False, True]
    assert apply_nodata(make_raster([[1, 2]], "U8"), "1.5", None).mask.all()


@pytest.mark.parametrize(("no_data", "interpretation", "parameter"), [
    ("abc", None, "noData"),
    ("1,,2", None, "noData"),
    ("1;2;3", None, "noData"),
    ("1,2", None, "noData"),  # two values for three bands
    ("1,2,3,4", None, "noData"),
    ("0", "esriNoDataMatchSome", "noDataInterpretation"),
    ("0", "any", "noDataInterpretation"),
])
def test_apply_nodata_refuses_bad_values(no_data: str, interpretation: str | None, parameter: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        apply_nodata(make_raster(NODATA_PIXELS, "U8"), no_data, interpretation)
    assert caught.value.parameter == parameter


# ---------------------------------------------------------------------------------------------------------------------
# stretch_to_u8 and to_rgba

STRETCH_TABLE = [
    # (pixel type, values, statistics, expected)
    ("U16", [100, 200, 300, 400], stats(100, 300), [0, 128, 255, 255]),  # beyond the statistics: clipped
    ("U16", [100, 200, 300, 400], None, [0, 85, 170, 255]),  # own minimum/maximum
    ("S16", [-100, 0, 100, 50], stats(-100, 100), [0, 128, 255, 191]),
    ("F32", [0.0, 0.25, 0.5, 1.0], stats(0.0, 1.0), [0, 64, 128, 255]),
    ("F32", [10.0, 20.0, 30.0, 40.0], stats(5.0, 5.0), [0, 85, 170, 255]),  # degenerate statistics: own range
    ("F32", [10.0, 20.0, 30.0, 40.0], stats(math.nan, 50.0), [0, 85, 170, 255]),
    ("U1", [0, 1, 1, 0], None, [0, 255, 255, 0]),
    ("S8", [-128, 127, 0, -1], None, [0, 255, 128, 127]),
    ("F64", [7.0, 7.0, 7.0, 7.0], None, [0, 0, 0, 0]),  # no spread
]


@pytest.mark.parametrize(("pixel_type", "values", "band_stats", "expected"), STRETCH_TABLE)
def test_stretch_to_u8(pixel_type: str, values: list[float], band_stats: BandStats | None,
                       expected: list[int]) -> None:
    stretched = stretch_to_u8(make_raster([values], pixel_type), None if band_stats is None else [band_stats])
    assert stretched.pixel_type == "U8"
    assert stretched.data.dtype == np.uint8
    assert stretched.data[0, 0].tolist() == expected


def test_stretch_ignores_invalid_pixels_and_works_per_band() -> None:
    raster = make_raster([[[0, 50, 100, 60000]], [[1000, 2000, 3000, 0]]], "U16", mask=[[True, True, True, False]])
    stretched = stretch_to_u8(raster, None)
    assert stretched.data[:, 0].tolist() == [[0, 128, 255, 0], [0, 128, 255, 0]]
    assert stretched.mask.tolist() == raster.mask.tolist()
    with_stats = stretch_to_u8(raster, [stats(0, 200), stats(0, 3000)])
    assert with_stats.data[:, 0, :3].tolist() == [[0, 64, 128], [85, 170, 255]]


def test_stretch_makes_non_finite_values_invalid() -> None:
    stretched = stretch_to_u8(make_raster([[0.0, math.nan, 1.0, math.inf]], "F32"), None)
    assert stretched.mask[0].tolist() == [True, False, True, False]
    assert stretched.data[0, 0].tolist() == [0, 0, 255, 0]


def test_u8_is_not_stretched() -> None:
    raster = make_raster([[3, 4, 5]], "U8")
    assert stretch_to_u8(raster, [stats(0, 10)]) is raster


def test_stretch_needs_one_statistics_per_band() -> None:
    with pytest.raises(ValueError, match="statistics"):
        stretch_to_u8(make_raster([[[1]], [[2]]], "U16"), [stats(0, 1)])


RGBA_TABLE = [
    # (bands as (band, 1 row, 2 cols), expected RGBA of the valid pixel)
    ([[[10, 99]]], (10, 10, 10, 255)),
    ([[[10, 99]], [[200, 99]]], (10, 10, 10, 255)),  # 2 bands: the first is grey
    ([[[10, 99]], [[20, 99]], [[30, 99]]], (10, 20, 30, 255)),
    ([[[10, 99]], [[20, 99]], [[30, 99]], [[40, 99]]], (10, 20, 30, 255)),  # 4th band not shown
]


@pytest.mark.parametrize(("bands", "expected"), RGBA_TABLE)
def test_to_rgba(bands: list[list[list[int]]], expected: tuple[int, int, int, int]) -> None:
    rgba = to_rgba(make_raster(bands, "U8", mask=[[True, False]]))
    assert rgba.dtype == np.uint8 and rgba.shape == (1, 2, 4)
    assert tuple(rgba[0, 0].tolist()) == expected
    assert rgba[0, 1].tolist() == [0, 0, 0, 0]


def test_to_rgba_needs_u8() -> None:
    with pytest.raises(ValueError, match="U8"):
        to_rgba(make_raster([[1000]], "U16"))
    held_wide = make_raster([[254.6, -3.0]], "U8", dtype="float64")
    assert to_rgba(held_wide)[0, :, 0].tolist() == [255, 0]


# ---------------------------------------------------------------------------------------------------------------------
# encode_raster: formats


@pytest.mark.parametrize("fmt", ["webp", "tif", "jpeg", "kmz", "png64"])
def test_unknown_format(fmt: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        encode_raster(make_raster([[1]], "U8"), fmt)
    assert caught.value.parameter == "format"


def test_format_names() -> None:
    assert set(EXPORT_FORMATS) == {"jpgpng", "png", "png8", "png24", "png32", "jpg", "bmp", "gif", "tiff", "bip",
                                   "bsq", "lerc"}
    raster = make_raster([[1, 2]], "U8")
    assert encode_raster(raster, " PNG32 ")[1:] == ("image/png", "png")
    assert encode_raster(raster, "TIFF")[1:] == ("image/tiff", "tif")
    assert encode_raster(raster, "")[1:] == ("image/jpeg", "jpg")  # the default format is jpgpng


# --- 8-bit pictures

RGB_PIXELS = [[[255, 0, 10]], [[0, 255, 20]], [[0, 0, 30]]]  # red, green, dark blue-grey


@pytest.mark.parametrize(("fmt", "content_type", "ext", "magic"), [
    ("png", "image/png", "png", PNG_MAGIC),
    ("png8", "image/png", "png", PNG_MAGIC),
    ("png24", "image/png", "png", PNG_MAGIC),
    ("png32", "image/png", "png", PNG_MAGIC),
    ("gif", "image/gif", "gif", b"GIF8"),
])
def test_lossless_pictures_keep_colours_and_alpha(fmt: str, content_type: str, ext: str, magic: bytes) -> None:
    body, ctype, extension = encode_raster(make_raster(RGB_PIXELS, "U8", mask=[[True, True, False]]), fmt)
    assert (ctype, extension) == (content_type, ext)
    assert body.startswith(magic)
    rgba = np.asarray(decode_picture(body).convert("RGBA"))
    assert rgba[0, 0].tolist() == [255, 0, 0, 255]
    assert rgba[0, 1].tolist() == [0, 255, 0, 255]
    assert rgba[0, 2, 3] == 0


@pytest.mark.parametrize(("fmt", "content_type", "ext", "magic"), [
    ("jpg", "image/jpeg", "jpg", JPEG_MAGIC),
    ("bmp", "image/bmp", "bmp", b"BM"),
])
def test_opaque_pictures(fmt: str, content_type: str, ext: str, magic: bytes) -> None:
    raster = make_raster(np.full((3, 8, 8), 40, dtype=np.uint8), "U8")
    raster.data[0] = 200
    body, ctype, extension = encode_raster(raster, fmt, compression_quality=95)
    assert (ctype, extension) == (content_type, ext)
    assert body.startswith(magic)
    rgb = np.asarray(decode_picture(body).convert("RGB")).astype(int)
    assert np.abs(rgb - [200, 40, 40]).max() <= 3


def test_jpgpng_is_jpeg_when_every_pixel_is_valid() -> None:
    body, ctype, ext = encode_raster(make_raster(RGB_PIXELS, "U8"), "jpgpng")
    assert (ctype, ext) == ("image/jpeg", "jpg") and body.startswith(JPEG_MAGIC)


def test_jpgpng_is_png32_as_soon_as_one_pixel_is_invalid() -> None:
    body, ctype, ext = encode_raster(make_raster(RGB_PIXELS, "U8", mask=[[True, True, False]]), "jpgpng")
    assert (ctype, ext) == ("image/png", "png") and body.startswith(PNG_MAGIC)
    image = decode_picture(body)
    assert image.mode == "RGBA"  # png32, not a palette png
    assert np.asarray(image)[0].tolist() == [[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 0, 0]]


def test_pictures_stretch_non_u8_rasters() -> None:
    raster = make_raster([[1000, 1500, 2000, 9999]], "U16", mask=[[True, True, True, False]])
    body, _, _ = encode_raster(raster, "png32", stats=[stats(1000, 2000)])
    rgba = np.asarray(decode_picture(body))
    assert rgba[0, :, 0].tolist() == [0, 128, 255, 0]
    assert rgba[0, :, 3].tolist() == [255, 255, 255, 0]
    own_range, _, _ = encode_raster(raster, "png32")  # no statistics: the valid pixels' own range
    assert np.asarray(decode_picture(own_range))[0, :3, 0].tolist() == [0, 128, 255]


def test_compression_quality_drives_jpeg() -> None:
    noise = np.random.default_rng(7).integers(0, 256, size=(3, 64, 64), dtype=np.uint8)
    raster = make_raster(noise, "U8")
    small = encode_raster(raster, "jpg", compression_quality=5)[0]
    large = encode_raster(raster, "jpg", compression_quality=95)[0]
    assert len(small) < len(large)
    assert encode_raster(raster, "jpg", compression_quality=0)[0].startswith(JPEG_MAGIC)


@pytest.mark.parametrize("quality", [-1, 101, 1000])
def test_compression_quality_range(quality: int) -> None:
    with pytest.raises(InvalidParameter) as caught:
        encode_raster(make_raster([[1]], "U8"), "jpg", compression_quality=quality)
    assert caught.value.parameter == "compressionQuality"


def test_parameters_of_other_formats_are_ignored() -> None:
    raster = make_raster([[1, 2]], "U16")
    assert encode_raster(raster, "png", compression="bogus", lerc_version=7, compression_tolerance=-1)[0]
    assert encode_raster(raster, "tiff", lerc_version=1, compression_tolerance=-3)[0]


# --- tiff

TIFF_TYPES = ["U1", "U4", "U8", "S8", "U16", "S16", "U32", "S32", "F32", "F64"]


@pytest.mark.parametrize("pixel_type", TIFF_TYPES)
def test_tiff_round_trip(pixel_type: str) -> None:
    spec = PIXEL_TYPES[pixel_type]
    rng = np.random.default_rng(3)
    values: NDArray[Any]
    if spec.integer:
        values = rng.integers(int(spec.minimum), int(spec.maximum), size=(2, 4, 6), endpoint=True)
    else:
        values = rng.normal(100.0, 50.0, size=(2, 4, 6))
    mask = np.ones((4, 6), dtype=bool)
    mask[0, :2] = False
    mask[3, 5] = False
    raster = make_raster(values, pixel_type, mask=mask)
    body, ctype, ext = encode_raster(raster, "tiff")
    assert (ctype, ext) == ("image/tiff", "tif")
    data, read_mask, info = open_tiff(body)
    assert info["dtype"] == spec.dtype  # no stretch: the raster's own pixel type
    assert info["count"] == 2
    assert np.array_equal(data[:, mask], raster.data[:, mask])
    assert (read_mask > 0).tolist() == mask.tolist()
    nodata = info["nodata"]
    assert isinstance(nodata, float) and not bool((raster.data[:, mask] == nodata).any())
    transform = info["transform"]
    assert transform.almost_equals((5.0, 0.0, 500000.0, 0.0, -5.0, 4000020.0))
    assert info["crs"].to_epsg() == 32633


@pytest.mark.parametrize(("pixel_type", "values", "expected"), [
    ("U8", [1, 2, 254, 255], 0),  # the type's minimum
    ("U8", [0, 1, 2, 3], 255),  # then the maximum
    ("U8", [0, 255, 1, 2], 3),  # then the lowest unused value
    ("S16", [0, 1, 2, 3], -32768),
    ("S16", [-32768, 32767, -32767, 5], -32766),
    ("U1", [0, 1, 1, 0], 255),  # U1/U2/U4 are 8-bit bands: 255 is outside their range
    ("U32", [0, 1, 2, 3], 4294967295),
    ("F32", [0.0, 1.0, 2.0, 3.0], -F32_MAX),  # ArcGIS's float NoData: the lowest finite value
    ("F64", [0.0, 1.0, 2.0, 3.0], float(np.finfo(np.float64).min)),
    ("F32", [-F32_MAX, 1.0, 2.0, 3.0], math.nan),
])
def test_tiff_nodata_value_is_absent_from_valid_data(pixel_type: str, values: list[float], expected: float) -> None:
    # The invalid pixel's own value must not count: it is what the choice may reuse.
    raster = make_raster([[*values, values[0]]], pixel_type, mask=[[True, True, True, True, False]])
    data, read_mask, info = open_tiff(encode_raster(raster, "tiff")[0])
    nodata = info["nodata"]
    assert isinstance(nodata, float)
    if math.isnan(expected):
        assert math.isnan(nodata) and math.isnan(data[0, 0, 4])
    else:
        assert nodata == expected and data[0, 0, 4] == expected
    assert read_mask[0].tolist() == [255, 255, 255, 255, 0]


def test_tiff_without_a_free_value_gets_a_mask_band() -> None:
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    mask = np.ones((16, 16), dtype=bool)
    data = np.concatenate([values, values[:1]])  # 17 rows: every value valid at least once, one invalid row
    mask = np.concatenate([mask, np.zeros((1, 16), dtype=bool)])
    read_data, read_mask, info = open_tiff(encode_raster(make_raster(data, "U8", mask=mask), "tiff")[0])
    assert info["nodata"] is None
    assert (read_mask > 0).tolist() == mask.tolist()
    assert np.array_equal(read_data[0, :16], values)


@pytest.mark.parametrize(("compression", "expected"), [
    (None, None), ("", None), ("None", None), ("NONE", None), ("LZ77", "deflate"), ("lz77", "deflate"),
])
def test_tiff_compression(compression: str | None, expected: str | None) -> None:
    raster = make_raster(np.arange(40, dtype=np.uint16).reshape(5, 8), "U16")
    data, _, info = open_tiff(encode_raster(raster, "tiff", compression=compression)[0])
    compressed = info["compression"]
    assert (compressed.value.lower() if compressed is not None else None) == expected
    assert np.array_equal(data[0], raster.data[0])


@pytest.mark.parametrize("bands", [1, 3, 5])
def test_tiff_jpeg_compression(bands: int) -> None:
    flat = np.full((bands, 16, 16), 120, dtype=np.uint8)
    mask = np.ones((16, 16), dtype=bool)
    mask[:4] = False
    body = encode_raster(make_raster(flat, "U8", mask=mask), "tiff", compression="jpeg", compression_quality=90)[0]
    data, read_mask, info = open_tiff(body)
    assert info["compression"].value.lower() == "jpeg"
    assert info["nodata"] is None  # a lossy codec gets a mask band, not a nodata value
    assert (read_mask > 0).tolist() == mask.tolist()
    assert np.abs(data[:, mask].astype(int) - 120).max() <= 2


@pytest.mark.parametrize(("pixel_type", "compression"), [("U16", "JPEG"), ("F32", "jpeg"), ("U8", "LZW"),
                                                         ("U8", "deflate")])
def test_tiff_compression_refused(pixel_type: str, compression: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        encode_raster(make_raster([[1, 2]], pixel_type), "tiff", compression=compression)
    assert caught.value.parameter == "compression"


def test_tiff_writes_the_declared_type_of_wide_data() -> None:
    raster = make_raster([[1.6, 254.7]], "U8", dtype="float64")
    data, _, info = open_tiff(encode_raster(raster, "tiff")[0])
    assert info["dtype"] == "uint8" and data[0, 0].tolist() == [2, 255]


# --- bip / bsq

# 2 bands x 2 rows x 3 cols of U16; pixels (0,1) and (1,2) invalid.
TINY = [[[1, 2, 3], [4, 5, 6]], [[256, 513, 7], [8, 9, 0xABCD]]]
TINY_MASK = [[True, False, True], [True, True, False]]
MASK_BYTE = bytes([0b10111000])  # row-major bits 1 0 1 / 1 1 0, first pixel in the top bit, 1 = valid


@pytest.mark.parametrize(("fmt", "pixels"), [
    ("bip", "0100 0001 0000 0000 0300 0700 0400 0800 0500 0900 0000 0000"),
    ("bsq", "0100 0000 0300 0400 0500 0000 0001 0000 0700 0800 0900 0000"),
])
def test_bip_bsq_byte_layout(fmt: str, pixels: str) -> None:
    body, ctype, ext = encode_raster(make_raster(TINY, "U16", mask=TINY_MASK), fmt)
    assert (ctype, ext) == ("application/octet-stream", fmt)
    assert body == bytes.fromhex(pixels) + MASK_BYTE


@pytest.mark.parametrize(("pixel_type", "value", "expected"), [
    ("U1", 1, "01"), ("U4", 9, "09"), ("U8", 200, "c8"), ("S8", -2, "fe"), ("U16", 0x1234, "3412"),
    ("S16", -2, "feff"), ("U32", 0x01020304, "04030201"), ("S32", -2, "feffffff"), ("F32", 1.0, "0000803f"),
    ("F64", -2.0, "00000000000000c0"),
])
def test_bip_pixel_types_are_little_endian(pixel_type: str, value: float, expected: str) -> None:
    body, _, _ = encode_raster(make_raster([[value]], pixel_type), "bip")
    assert body == bytes.fromhex(expected) + bytes([0b10000000])


@pytest.mark.parametrize(("mask", "expected"), [
    ([[True, True, True], [False, False, False], [True, False, True]], [0b11100010, 0b10000000]),  # no row padding
    ([[False] * 3] * 3, [0, 0]),
    ([[True] * 4] * 2, [0xFF]),
    ([[True] * 9], [0xFF, 0x80]),
])
def test_nodata_bit_mask(mask: list[list[bool]], expected: list[int]) -> None:
    mask_array = np.asarray(mask)
    raster = make_raster(np.zeros(mask_array.shape), "U8", mask=mask_array)
    body, _, _ = encode_raster(raster, "bsq")
    assert body[mask_array.size:] == bytes(expected)


def test_bip_converts_wide_data_to_its_pixel_type() -> None:
    body, _, _ = encode_raster(make_raster([[2.6, -1.0]], "U8", dtype="float64"), "bip")
    assert body == bytes([3, 0, 0b11000000])


# --- lerc


def lerc_decode(body: bytes) -> tuple[NDArray[np.generic], NDArray[np.bool_] | None]:
    result, data, valid = lerc.decode(body)
    assert result == 0
    return data, valid


@pytest.mark.parametrize("pixel_type", ["U8", "S8", "U16", "S16", "U32", "S32", "F32", "F64", "U2"])
def test_lerc_round_trip_lossless(pixel_type: str) -> None:
    spec = PIXEL_TYPES[pixel_type]
    rng = np.random.default_rng(11)
    values: NDArray[Any]
    if spec.integer:
        values = rng.integers(int(spec.minimum), int(spec.maximum), size=(3, 5, 7), endpoint=True)
    else:
        values = rng.normal(0.0, 1000.0, size=(3, 5, 7))
    mask = rng.random((5, 7)) > 0.2
    raster = make_raster(values, pixel_type, mask=mask)
    body, ctype, ext = encode_raster(raster, "lerc")
    assert (ctype, ext) == ("application/octet-stream", "lerc")
    data, valid = lerc_decode(body)
    assert data.dtype == np.dtype(spec.dtype) and data.shape == (3, 5, 7)
    assert valid is not None and valid.tolist() == mask.tolist()
    assert np.array_equal(data[:, mask], raster.data[:, mask])


@pytest.mark.parametrize(("pixel_type", "tolerance"), [("F32", 0.5), ("F64", 0.01), ("S16", 2.0), ("U16", 10.0)])
def test_lerc_compression_tolerance(pixel_type: str, tolerance: float) -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(1000.0, 100.0, size=(1, 20, 20))
    raster = convert_pixel_type(make_raster(values, "F64"), pixel_type)
    lossless = encode_raster(raster, "lerc")[0]
    body = encode_raster(raster, "lerc", compression_tolerance=tolerance)[0]
    data, _ = lerc_decode(body)
    assert len(body) < len(lossless)
    assert np.abs(data.astype(np.float64) - raster.data[0].astype(np.float64)).max() <= tolerance + 1e-9
    assert lerc.getLercBlobInfo(body)[12] == pytest.approx(tolerance)  # maxZError used


def test_lerc_all_valid_single_band() -> None:
    raster = make_raster([[1.25, 2.5], [3.75, 5.0]], "F32")
    data, valid = lerc_decode(encode_raster(raster, "lerc")[0])
    assert data.shape == (2, 2) and data.tolist() == [[1.25, 2.5], [3.75, 5.0]]
    assert valid is None or bool(valid.all())


@pytest.mark.parametrize(("lerc_version", "codec"), [(1, 2), (2, "newest"), (None, "newest")])
def test_lerc_version(lerc_version: int | None, codec: int | str) -> None:
    raster = make_raster(TINY, "U16", mask=TINY_MASK)
    body = encode_raster(raster, "lerc", lerc_version=lerc_version)[0]
    newest = lerc.getLercBlobInfo(lerc.encode(np.zeros((2, 2), np.float32), 1, False, None, 0.0, 1)[2])[1]
    assert lerc.getLercBlobInfo(body)[1] == (newest if codec == "newest" else codec)
    data, valid = lerc_decode(body)
    mask = np.asarray(TINY_MASK)
    assert valid is not None and valid.tolist() == TINY_MASK
    assert np.array_equal(data[:, mask], raster.data[:, mask])


@pytest.mark.parametrize(("options", "parameter"), [
    ({"lerc_version": 0}, "lercVersion"),
    ({"lerc_version": 3}, "lercVersion"),
    ({"compression_tolerance": -0.1}, "compressionTolerance"),
    ({"compression_tolerance": math.nan}, "compressionTolerance"),
    ({"compression_tolerance": math.inf}, "compressionTolerance"),
])
def test_lerc_refuses_bad_options(options: dict[str, float], parameter: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        encode_raster(make_raster([[1.0]], "F32"), "lerc", **options)  # type: ignore[arg-type]
    assert caught.value.parameter == parameter


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
@pytest.mark.parametrize("pixel_type", ["U8", "S16", "F32"])
def test_every_format_encodes_a_raster_without_valid_pixels(fmt: str, pixel_type: str) -> None:
    raster = make_raster(np.zeros((3, 4, 5)), pixel_type, mask=np.zeros((4, 5), dtype=bool))
    body, content_type, ext = encode_raster(raster, fmt)
    assert body and content_type and ext
    if fmt == "jpgpng":
        assert (content_type, ext) == ("image/png", "png")
    if fmt in ("bip", "bsq"):
        assert body.endswith(bytes(3))  # 20 pixels: 3 mask bytes, all invalid
