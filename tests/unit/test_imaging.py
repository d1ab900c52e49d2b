import io
import math
import zipfile

import numpy as np
import pytest
from lxml import etree
from numpy.typing import NDArray
from PIL import Image
from pyproj import Transformer

from translators.crs import SpatialRef, from_ogc_code, resolve_sr, transform_bbox
from translators.errors import BackendError
from translators.imaging import (
    decode_image,
    encode_image,
    make_kmz,
    rotate_rgba,
    rotation_source_size,
    warp_rgba,
)

RED, GREEN, BLUE, YELLOW = (255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255), (255, 255, 0, 255)
CLEAR = (0, 0, 0, 0)

CUSTOM_WKT = (
    'PROJCS["My_LCC",GEOGCS["GCS_North_American_1983",DATUM["D_North_American_1983",'
    'SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
    'PROJECTION["Lambert_Conformal_Conic"],PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",-97.5],PARAMETER["Standard_Parallel_1",33.0],PARAMETER["Standard_Parallel_2",45.0],'
    'PARAMETER["Latitude_Of_Origin",39.0],UNIT["Meter",1.0]]'
)


def quadrants(size: int = 4) -> NDArray[np.uint8]:
    """Red top-left, green top-right, blue bottom-left, yellow bottom-right."""
    half = size // 2
    image = np.zeros((size, size, 4), dtype=np.uint8)
    image[:half, :half] = RED
    image[:half, half:] = GREEN
    image[half:, :half] = BLUE
    image[half:, half:] = YELLOW
    return image


def block_raster(blocks: int, block_px: int) -> NDArray[np.uint8]:
    """A grid of ``blocks`` x ``blocks`` opaque squares, each of a colour that encodes its (row, column)."""
    rows, cols = np.indices((blocks * block_px, blocks * block_px)) // block_px
    image = np.empty((blocks * block_px, blocks * block_px, 4), dtype=np.uint8)
    image[..., 0] = 10 + rows * 20
    image[..., 1] = 10 + cols * 20
    image[..., 2] = 200
    image[..., 3] = 255
    return image


# ---------------------------------------------------------------------------------------------------------------------
# decode_image


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "BMP", "TIFF"])
def test_decode_lossless(fmt: str) -> None:
    rgb = quadrants(8)[..., :3]
    image = Image.fromarray(rgb)
    decoded = decode_image(_encoded(image, fmt))
    assert decoded.shape == (8, 8, 4) and decoded.dtype == np.uint8
    assert (decoded[..., :3] == rgb).all() and (decoded[..., 3] == 255).all()


def test_decode_png_with_alpha_and_palette_transparency() -> None:
    rgba = quadrants(8)
    rgba[0, 0] = CLEAR
    assert (decode_image(_encoded(Image.fromarray(rgba), "PNG")) == rgba).all()
    palette = Image.fromarray(quadrants(8)[..., :3]).quantize(4)
    index_of_red = palette.getpixel((0, 0))
    decoded = decode_image(_encoded(palette, "PNG", transparency=index_of_red))
    assert decoded[0, 0, 3] == 0 and decoded[7, 7, 3] == 255


def test_decode_jpeg() -> None:
    decoded = decode_image(_encoded(Image.fromarray(quadrants(16)[..., :3]), "JPEG", quality=95))
    assert decoded.shape == (16, 16, 4)
    assert np.abs(decoded[2, 2].astype(int) - RED).max() < 8


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image",
        b'<?xml version="1.0"?><ServiceExceptionReport><ServiceException>x</ServiceException></ServiceExceptionReport>',
        _encoded(Image.fromarray(quadrants(64)[..., :3]), "PNG")[:60],  # truncated
    ],
)
def test_decode_rejects(data: bytes) -> None:
    with pytest.raises(BackendError):
        decode_image(data)


# ---------------------------------------------------------------------------------------------------------------------
# warp_rgba


def _expected_warp(
    src: NDArray[np.uint8],
    src_bbox: tuple[float, float, float, float],
    src_sr: SpatialRef,
    dst_bbox: tuple[float, float, float, float],
    dst_sr: SpatialRef,
    size: tuple[int, int],
    block_px: int,
    margin: float,
) -> tuple[NDArray[np.bool_], NDArray[np.uint8], NDArray[np.bool_]]:
    """Where each destination pixel centre falls in the source, computed with pyproj.

    Returns (checkable, expected colour, outside): checkable pixels land at least ``margin`` source pixels inside a
    block, so any resampling must give exactly that block's colour; outside pixels land clear of the source.
    """
    width, height = size
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    x = dst_bbox[0] + cols * (dst_bbox[2] - dst_bbox[0]) / width
    y = dst_bbox[3] - rows * (dst_bbox[3] - dst_bbox[1]) / height
    sx, sy = Transformer.from_crs(dst_sr.crs, src_sr.crs, always_xy=True).transform(x, y)
    src_h, src_w = src.shape[:2]
    px = (sx - src_bbox[0]) / (src_bbox[2] - src_bbox[0]) * src_w
    py = (src_bbox[3] - sy) / (src_bbox[3] - src_bbox[1]) * src_h
    inside = (px >= margin) & (px <= src_w - margin) & (py >= margin) & (py <= src_h - margin)
    in_block_x = np.minimum(px % block_px, block_px - px % block_px) >= margin
    in_block_y = np.minimum(py % block_px, block_px - py % block_px) >= margin
    checkable = inside & in_block_x & in_block_y
    ix = np.clip(px.astype(int), 0, src_w - 1)
    iy = np.clip(py.astype(int), 0, src_h - 1)
    outside = (px < -2) | (px > src_w + 2) | (py < -2) | (py > src_h + 2)
    return checkable, src[iy, ix], outside


WARP_CASES = [
    # (source bbox in EPSG:4326, destination SR)
    ((-100.0, 30.0, -90.0, 40.0), resolve_sr(102100, "imageSR")),
    ((-100.0, 30.0, -90.0, 40.0), resolve_sr(102004, "imageSR")),  # ESRI-only code
    ((-100.0, 30.0, -90.0, 40.0), resolve_sr({"wkt": CUSTOM_WKT}, "imageSR")),  # WKT only
    ((5.0, 45.0, 15.0, 55.0), resolve_sr(54009, "imageSR")),  # ESRI-only code
    ((5.0, 45.0, 15.0, 55.0), resolve_sr(31467, "imageSR")),  # northing-first axes
]


@pytest.mark.parametrize(("src_bbox", "dst_sr"), WARP_CASES)
@pytest.mark.parametrize("resampling", ["nearest", "bilinear", "cubic"])
def test_warp_from_wgs84(src_bbox: tuple[float, float, float, float], dst_sr: SpatialRef, resampling: str) -> None:
    src_sr = resolve_sr(4326, "bboxSR")
    src = block_raster(8, 16)
    inner = transform_bbox(src_bbox, src_sr, dst_sr)
    pad_x, pad_y = (inner[2] - inner[0]) * 0.1, (inner[3] - inner[1]) * 0.1
    dst_bbox = (inner[0] - pad_x, inner[1] - pad_y, inner[2] + pad_x, inner[3] + pad_y)
    size = (150, 130)
    out = warp_rgba(src, src_bbox, src_sr, dst_bbox, dst_sr, size, resampling)
    assert out.shape == (130, 150, 4) and out.dtype == np.uint8

    checkable, expected, outside = _expected_warp(src, src_bbox, src_sr, dst_bbox, dst_sr, size, 16, 2.5)
    assert checkable.sum() > 5000
    assert (out[checkable] == expected[checkable]).all()
    assert outside.sum() > 1000
    assert (out[outside][:, 3] == 0).all()


@pytest.mark.parametrize("dst_sr", [resolve_sr(4326, "imageSR"), from_ogc_code("CRS:84")])
def test_warp_to_wgs84(dst_sr: SpatialRef) -> None:
    src_sr = resolve_sr(3857, "bboxSR")
    src_bbox = transform_bbox((-100.0, 30.0, -90.0, 40.0), resolve_sr(4326, "x"), src_sr)
    src = block_raster(8, 16)
    dst_bbox = (-101.0, 29.0, -89.0, 41.0)
    out = warp_rgba(src, src_bbox, src_sr, dst_bbox, dst_sr, (120, 120), "nearest")
    checkable, expected, outside = _expected_warp(src, src_bbox, src_sr, dst_bbox, dst_sr, (120, 120), 16, 1.0)
    assert checkable.sum() > 5000
    assert (out[checkable] == expected[checkable]).all()
    assert (out[outside][:, 3] == 0).all()
    # x is longitude whatever the CRS's axis order: the west strip is outside the source.
    assert (out[:, :9, 3] == 0).all() and (out[60, 12:108, 3] == 255).all()


def test_warp_respects_source_alpha() -> None:
    sr = resolve_sr(4326, "x")
    src = quadrants(64)
    src[:32, :32] = CLEAR
    mercator = resolve_sr(3857, "x")
    out = warp_rgba(
        src, (0.0, 0.0, 10.0, 10.0), sr, transform_bbox((0.0, 0.0, 10.0, 10.0), sr, mercator), mercator, (64, 64)
    )
    assert (out[4:24, 4:24, 3] == 0).all()
    assert (out[40:60, 40:60] == YELLOW).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"resampling": "lanczos3"}, "resampling"),
        ({"dst_size": (0, 10)}, "size"),
        ({"dst_bbox": (1.0, 0.0, 0.0, 1.0)}, "bbox"),
        ({"src": np.zeros((4, 4, 3), dtype=np.uint8)}, "RGBA"),
    ],
)
def test_warp_rejects(kwargs: dict[str, object], message: str) -> None:
    sr = resolve_sr(4326, "x")
    args: dict[str, object] = {
        "src": quadrants(4),
        "src_bbox": (0.0, 0.0, 1.0, 1.0),
        "src_sr": sr,
        "dst_bbox": (0.0, 0.0, 1.0, 1.0),
        "dst_sr": sr,
        "dst_size": (4, 4),
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        warp_rgba(**args)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------------------
# Rotation


@pytest.mark.parametrize(
    ("width", "height", "angle", "expected"),
    [
        (100, 50, 0, (100, 50)),
        (100, 50, 360, (100, 50)),
        (100, 50, 90, (50, 100)),
        (101, 50, 90, (50, 101)),
        (101, 50, 0, (101, 50)),
        (100, 50, 10, (112, 72)),  # ceil(107.2) + 4 = 112; ceil(66.6) + 4 = 71, + 1 for parity
        (100, 50, -90, (50, 100)),
        (100, 50, 180, (100, 50)),
        (100, 100, 45, (146, 146)),  # ceil(141.42) = 142, + 2 px each side
        (200, 100, 30, (228, 192)),  # ceil(223.2) + 4 = 228; ceil(186.6) + 4 = 191, + 1 for parity
    ],
)
def test_rotation_source_size(width: int, height: int, angle: float, expected: tuple[int, int]) -> None:
    w, h = rotation_source_size(width, height, angle)
    rad = math.radians(angle)
    needed_w = width * abs(math.cos(rad)) + height * abs(math.sin(rad))
    needed_h = width * abs(math.sin(rad)) + height * abs(math.cos(rad))
    assert w >= needed_w - 1e-6 and h >= needed_h - 1e-6
    # Parity matches the output edge each source edge is (mostly) aligned with.
    aligned_w, aligned_h = (height, width) if abs(math.sin(rad)) > abs(math.cos(rad)) else (width, height)
    assert (w - aligned_w) % 2 == 0 and (h - aligned_h) % 2 == 0
    assert (w, h) == expected


def test_rotate_90_is_counter_clockwise() -> None:
    out = rotate_rgba(quadrants(4), 90, (4, 4), "nearest")
    # Counter-clockwise: top-right comes to top-left, top-left to bottom-left, and so on.
    assert (out[:2, :2] == GREEN).all()
    assert (out[2:, :2] == RED).all()
    assert (out[2:, 2:] == BLUE).all()
    assert (out[:2, 2:] == YELLOW).all()
    assert (rotate_rgba(quadrants(4), -90, (4, 4), "nearest") == rotate_rgba(quadrants(4), 270, (4, 4))).all()


@pytest.mark.parametrize("resampling", ["nearest", "bilinear", "cubic"])
def test_rotate_90_non_square(resampling: str) -> None:
    out_w, out_h = 60, 40
    src_w, src_h = rotation_source_size(out_w, out_h, 90)
    src = np.zeros((src_h, src_w, 4), dtype=np.uint8)
    src[...] = BLUE
    src[:10] = RED  # the top (north) strip
    out = rotate_rgba(src, 90, (out_w, out_h), resampling)
    assert out.shape == (40, 60, 4)
    assert (out[:, :10] == RED).all()  # now on the left
    assert (out[:, 10:] == BLUE).all()


def test_rotate_0_is_centre_crop() -> None:
    src = block_raster(4, 8)
    out = rotate_rgba(src, 0, (16, 8))
    assert (out == src[12:20, 8:24]).all()


@pytest.mark.parametrize("angle", [45, 30, -17.5, 135])
def test_rotate_keeps_centre_and_covers(angle: float) -> None:
    out_w, out_h = 80, 50
    src_w, src_h = rotation_source_size(out_w, out_h, angle)
    src = np.zeros((src_h, src_w, 4), dtype=np.uint8)
    src[...] = BLUE
    cy, cx = src_h // 2, src_w // 2
    src[cy - 3 : cy + 3, cx - 3 : cx + 3] = RED
    out = rotate_rgba(src, angle, (out_w, out_h), "bilinear")
    assert (out[out_h // 2 - 1 : out_h // 2 + 1, out_w // 2 - 1 : out_w // 2 + 1] == RED).all()
    assert (out[..., 3] == 255).all()  # the source is large enough: no corner is left uncovered


def test_rotate_outside_is_transparent() -> None:
    src = np.full((20, 20, 4), 255, dtype=np.uint8)
    out = rotate_rgba(src, 45, (20, 20), "bilinear")
    assert (out[0, 0] == CLEAR).all() and (out[10, 10] == 255).all()


def test_rotate_interpolates_premultiplied() -> None:
    src = np.zeros((20, 20, 4), dtype=np.uint8)
    src[:, 10:] = 255  # transparent black left, opaque white right
    out = rotate_rgba(src, 30, (20, 20), "bilinear")
    edge = out[(out[..., 3] > 0) & (out[..., 3] < 255)]
    assert len(edge) > 5
    assert (edge[:, :3] == 255).all()  # no dark fringe from the transparent black


# ---------------------------------------------------------------------------------------------------------------------
# encode_image


def sample_image() -> NDArray[np.uint8]:
    """Quadrants with a fully transparent column strip and a half-transparent row strip."""
    image = quadrants(16)
    image[:, 6:8] = CLEAR
    image[12:14, :] = (0, 0, 255, 128)
    image[12:14, 6:8] = CLEAR
    return image


def composite(rgba: NDArray[np.uint8], bg: tuple[int, int, int]) -> NDArray[np.uint8]:
    alpha = rgba[..., 3:4].astype(float) / 255
    return np.rint(rgba[..., :3] * alpha + np.array(bg) * (1 - alpha)).astype(np.uint8)


CONTENT = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "bmp": "image/bmp", "tiff": "image/tiff"}


@pytest.mark.parametrize("fmt", ["png", "png8", "png24", "png32", "jpg", "gif", "bmp", "tiff", "jpgpng"])
@pytest.mark.parametrize("background", [(255, 255, 255), (10, 20, 30)])
def test_encode_opaque_output_composites_on_background(fmt: str, background: tuple[int, int, int]) -> None:
    image = sample_image()
    data, content_type = encode_image(image, fmt, False, background)
    assert content_type == CONTENT.get(fmt.rstrip("0123456789").replace("jpgpng", "jpg"), "")
    decoded = decode_image(data)
    assert (decoded[..., 3] == 255).all()
    tolerance = 24 if content_type == "image/jpeg" else 1
    diff = np.abs(decoded[..., :3].astype(int) - composite(image, background))
    # JPEG blurs colour edges; compare block interiors only.
    interior = np.zeros(diff.shape[:2], dtype=bool)
    interior[1:5, 1:5] = interior[9:11, 9:15] = interior[1:5, 9:15] = True
    assert diff[interior].max() <= tolerance
    if content_type != "image/jpeg":
        assert diff.max() <= tolerance


@pytest.mark.parametrize("fmt", ["png", "png8", "png32", "tiff", "jpgpng"])
def test_encode_keeps_alpha(fmt: str) -> None:
    image = sample_image()
    data, content_type = encode_image(image, fmt, True)
    assert content_type == ("image/tiff" if fmt == "tiff" else "image/png")
    decoded = decode_image(data)
    assert (decoded[..., 3] == image[..., 3]).all()
    visible = image[..., 3] > 0
    assert (decoded[visible] == image[visible]).all()


@pytest.mark.parametrize("fmt", ["png24", "gif"])
@pytest.mark.parametrize("background", [(255, 255, 255), (255, 0, 0)])
def test_encode_binary_transparency(fmt: str, background: tuple[int, int, int]) -> None:
    # A red background is also a colour of visible pixels: the key/transparent index must not hide them.
    image = sample_image()
    decoded = decode_image(encode_image(image, fmt, True, background)[0])
    hidden = image[..., 3] == 0
    assert (decoded[hidden][:, 3] == 0).all()
    assert (decoded[~hidden][:, 3] == 255).all()
    assert (decoded[~hidden][:, :3] == composite(image, background)[~hidden]).all()


def test_png24_key_avoids_used_colours() -> None:
    image = np.zeros((4, 4, 4), dtype=np.uint8)
    image[..., :3] = 255
    image[..., 3] = 255
    image[0, 0] = CLEAR
    image[0, 1] = (0, 0, 0, 255)
    decoded = decode_image(encode_image(image, "png24", True, (255, 255, 255))[0])
    assert decoded[0, 0, 3] == 0
    assert (decoded[1:, :] == 255).all() and (decoded[0, 1] == (0, 0, 0, 255)).all()


def test_png8_is_palette_and_exact_up_to_256_colours() -> None:
    image = np.zeros((16, 16, 4), dtype=np.uint8)
    image[..., 0] = np.arange(256).reshape(16, 16)
    image[..., 1] = 255 - np.arange(256).reshape(16, 16)
    image[..., 3] = 255
    data, _ = encode_image(image, "png8", False)
    with Image.open(io.BytesIO(data)) as png:
        assert png.mode == "P"
    assert (decode_image(data) == image).all()


def test_png8_quantizes_many_colours() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (64, 64, 4), dtype=np.uint8)
    image[..., 3] = 255
    image[:8] = CLEAR
    for transparent in (True, False):
        data, _ = encode_image(image, "png8", transparent)
        with Image.open(io.BytesIO(data)) as png:
            assert png.mode == "P"
        decoded = decode_image(data)
        assert len(np.unique(decoded.reshape(-1, 4), axis=0)) <= 256
        assert (decoded[:8, :, 3] == (0 if transparent else 255)).all()
        assert (decoded[8:, :, 3] == 255).all()


def test_png_is_lossless_beyond_256_colours() -> None:
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (32, 32, 4), dtype=np.uint8)
    image[..., 3] = 255
    for transparent in (True, False):
        data, _ = encode_image(image, "png", transparent)
        with Image.open(io.BytesIO(data)) as png:
            assert png.mode == "RGB"
        assert (decode_image(data) == image).all()
    image[0, 0] = CLEAR
    data, _ = encode_image(image, "png", True)
    with Image.open(io.BytesIO(data)) as png:
        assert png.mode == "RGBA"
    assert (decode_image(data) == image).all()


def test_png_few_colours_is_palette() -> None:
    data, _ = encode_image(sample_image(), "png", True)
    with Image.open(io.BytesIO(data)) as png:
        assert png.mode == "P"


def test_gif_quantizes_many_colours_keeping_transparency() -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (32, 32, 4), dtype=np.uint8)
    image[..., 3] = 255
    image[:4] = CLEAR
    decoded = decode_image(encode_image(image, "gif", True)[0])
    assert (decoded[:4, :, 3] == 0).all() and (decoded[4:, :, 3] == 255).all()


def test_jpgpng_picks_by_transparency() -> None:
    opaque = quadrants(16)
    assert encode_image(opaque, "jpgpng", True)[1] == "image/jpeg"
    assert encode_image(sample_image(), "jpgpng", True)[1] == "image/png"
    assert encode_image(sample_image(), "jpgpng", False)[1] == "image/jpeg"


def test_encode_formats_are_what_they_claim() -> None:
    signatures = {"png": b"\x89PNG", "jpg": b"\xff\xd8", "gif": b"GIF8", "bmp": b"BM", "tiff": b"II*\x00"}
    for fmt, signature in signatures.items():
        assert encode_image(quadrants(8), fmt.upper(), True)[0].startswith(signature)


def test_jpeg_quality() -> None:
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (64, 64, 4), dtype=np.uint8)
    low = encode_image(image, "jpg", False, quality=20)[0]
    high = encode_image(image, "jpg", False, quality=95)[0]
    assert len(low) < len(high)


@pytest.mark.parametrize("fmt", ["pdf", "svg", "png64", "lerc", ""])
def test_encode_unknown_format(fmt: str) -> None:
    with pytest.raises(ValueError):
        encode_image(quadrants(4), fmt, True)


def test_encode_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        encode_image(np.zeros((4, 4, 3), dtype=np.uint8), "png", True)
    with pytest.raises(ValueError):
        encode_image(quadrants(4), "png", False, (256, 0, 0))


# ---------------------------------------------------------------------------------------------------------------------
# KMZ


def test_make_kmz() -> None:
    png = encode_image(quadrants(8), "png", True)[0]
    kmz = make_kmz(png, ".PNG", 48.5, 47.25, 11.75, -0.5, "Roads & Rivers")
    with zipfile.ZipFile(io.BytesIO(kmz)) as archive:
        names = archive.namelist()
        assert names[0] == "doc.kml"
        root = etree.fromstring(archive.read("doc.kml"))
        ns = {"k": "http://www.opengis.net/kml/2.2"}
        href = root.findtext("k:Document/k:GroundOverlay/k:Icon/k:href", namespaces=ns)
        assert href is not None and href in names and href.endswith(".png")
        assert archive.read(href) == png
        box = root.find("k:Document/k:GroundOverlay/k:LatLonBox", namespaces=ns)
        assert box is not None
        values = {
            tag: float(box.findtext(f"k:{tag}", namespaces=ns) or "nan") for tag in ("north", "south", "east", "west")
        }
        assert values == {"north": 48.5, "south": 47.25, "east": 11.75, "west": -0.5}
        assert root.findtext("k:Document/k:GroundOverlay/k:name", namespaces=ns) == "Roads & Rivers"
        assert decode_image(archive.read(href)).shape == (8, 8, 4)


@pytest.mark.parametrize(
    ("ext", "bounds"),
    [("png", (1.0, 2.0, 3.0, 4.0)), ("png", (math.nan, 0.0, 1.0, 0.0)), ("../x", (2.0, 1.0, 3.0, 4.0))],
)
def test_make_kmz_rejects(ext: str, bounds: tuple[float, float, float, float]) -> None:
    with pytest.raises(ValueError):
        make_kmz(b"", ext, *bounds, "x")
