"""ImageServer over WCS end to end: real values out of MapServer 8 and QGIS Server 3.22 coverages."""

from __future__ import annotations

import io
import json
import math
import zipfile
from typing import Any

import lerc
import numpy as np
import pytest
from lxml import etree
from pyproj import Transformer
from rasterio.io import MemoryFile

from tests.backends import dataspec as ds
from tests.gateway import Gateway, Reply, fetch
from tests.pixels import rgba

pytestmark = pytest.mark.backend

ELEVATION = ["img/Elevation", "img/ElevationQ"]
BANDS = ["img/Bands", "img/BandsQ"]


def image_url(gateway: Gateway, service: str, op: str = "") -> str:
    return gateway.services_url(service, "ImageServer") + (f"/{op}" if op else "")


def export_image(gateway: Gateway, service: str, **params: Any) -> Reply:
    params.setdefault("f", "image")
    return fetch(image_url(gateway, service, "exportImage"), params)


def read_tiff(body: bytes) -> tuple[np.ndarray, Any, Any, Any]:
    with MemoryFile(body) as memory, memory.open() as dataset:
        return dataset.read(), dataset.bounds, dataset.nodata, dataset.crs


def dem_expected(extent: tuple[float, float, float, float], size: tuple[int, int]) -> np.ndarray:
    width, height = size
    out = np.empty((height, width), dtype=np.float64)
    for row in range(height):
        for col in range(width):
            lon = extent[0] + (col + 0.5) * (extent[2] - extent[0]) / width
            lat = extent[3] - (row + 0.5) * (extent[3] - extent[1]) / height
            out[row, col] = ds.dem_value(lon, lat)
    return out


# ------------------------------------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("service", ELEVATION)
def test_service_metadata_and_statistics(gateway: Gateway, service: str) -> None:
    info = fetch(image_url(gateway, service), {"f": "json"}).json()
    assert info["bandCount"] == 1 and info["pixelType"] == "F32"
    assert (info["pixelSizeX"], info["pixelSizeY"]) == pytest.approx((ds.DEM_RES, ds.DEM_RES))
    for key in ("extent", "initialExtent", "fullExtent"):
        ext = info[key]
        assert (ext["xmin"], ext["ymin"], ext["xmax"], ext["ymax"]) == pytest.approx(ds.DEM_EXTENT)
        assert ext["spatialReference"]["wkid"] == 4326
    assert info["noDataValue"] == ds.DEM_NODATA and info["noDataValues"] == [ds.DEM_NODATA]
    values = np.array([[ds.dem_value_at(c, r) for c in range(ds.DEM_SIZE[0])] for r in range(ds.DEM_SIZE[1])])
    valid = values[values != ds.DEM_NODATA]
    assert info["minValues"] == pytest.approx([valid.min()])
    assert info["maxValues"] == pytest.approx([valid.max()])
    assert info["meanValues"] == pytest.approx([valid.mean()], rel=1e-6)
    assert info["stdvValues"] == pytest.approx([valid.std()], rel=1e-6)
    assert info["serviceDataType"] == "esriImageServiceDataTypeElevation"
    assert {"Image", "Metadata", "Download"} <= set(info["capabilities"].split(","))
    assert info["hasRasterAttributeTable"] is False and "timeInfo" not in info
    assert "None" in info["allowedMosaicMethods"] and info["defaultMosaicMethod"] == "None"
    stats = fetch(image_url(gateway, service, "statistics"), {"f": "json"}).json()["statistics"][0]
    assert stats["min"] == pytest.approx(valid.min()) and stats["max"] == pytest.approx(valid.max())
    keys = fetch(image_url(gateway, service, "keyProperties"), {"f": "json"}).json()
    assert keys["DataType"] == "Elevation"
    page = fetch(image_url(gateway, service))
    assert page.status == 200 and page.content_type == "text/html"


def test_multiband_rgb_and_time_metadata(gateway: Gateway) -> None:
    bands = fetch(image_url(gateway, "img/Bands"), {"f": "json"}).json()
    assert bands["bandCount"] == 4 and bands["pixelType"] == "S16"
    assert bands["bandNames"] == list(ds.BANDS4_BAND_NAMES)
    rgb = fetch(image_url(gateway, "img/RGB"), {"f": "json"}).json()
    assert rgb["serviceDataType"] == "esriImageServiceDataTypeRGB" and rgb["pixelType"] == "U8"
    for service in ("img/TimeWCS", "img/TimeSeriesQ"):
        info = fetch(image_url(gateway, service), {"f": "json"}).json()
        assert info["timeInfo"]["timeExtent"] == [1577836800000, 1601510400000]


# ------------------------------------------------------------------------------------------------------- values


@pytest.mark.parametrize("service", ELEVATION)
def test_float_values_equal_the_generated_elevation(gateway: Gateway, service: str) -> None:
    extent = (7.0, 40.5, 9.5, 42.5)  # crosses the nodata block
    reply = export_image(gateway, service, bbox="7,40.5,9.5,42.5", size="125,100", format="tiff",
                         pixelType="F32")
    assert reply.status == 200 and reply.content_type == "image/tiff"
    data, bounds, nodata, crs = read_tiff(reply.body)
    assert data.shape == (1, 100, 125) and data.dtype == np.float32
    assert (bounds.left, bounds.bottom, bounds.right, bounds.top) == pytest.approx(extent)
    assert crs.to_epsg() == 4326
    expected = dem_expected(extent, (125, 100))
    is_nodata = expected == ds.DEM_NODATA
    assert is_nodata.sum() == 50 * 50
    assert np.array_equal(data[0][~is_nodata], expected[~is_nodata])
    assert (data[0][is_nodata] == nodata).all()


@pytest.mark.parametrize("service", ELEVATION)
def test_values_land_where_they_belong_in_another_sr(gateway: Gateway, service: str) -> None:
    fwd = Transformer.from_crs(4326, 3857, always_xy=True)
    inv = Transformer.from_crs(3857, 4326, always_xy=True)
    x0, y0 = fwd.transform(1.0, 41.0)
    x1, y1 = fwd.transform(6.0, 46.0)
    reply = export_image(gateway, service, bbox=f"{x0},{y0},{x1},{y1}", bboxSR="102100", imageSR="102100",
                         size="200,250", format="tiff", f="json")
    data_json = reply.json()
    extent = tuple(data_json["extent"][k] for k in ("xmin", "ymin", "xmax", "ymax"))
    data, _, _, crs = read_tiff(fetch(data_json["href"]).body)
    assert crs.to_epsg() == 3857
    height, width = data.shape[1:]
    good = 0
    for row in range(0, height, 7):
        for col in range(0, width, 7):
            x = extent[0] + (col + 0.5) * (extent[2] - extent[0]) / width
            y = extent[3] - (row + 0.5) * (extent[3] - extent[1]) / height
            lon, lat = inv.transform(x, y)
            good += data[0, row, col] == ds.dem_value(lon, lat)
    total = len(range(0, height, 7)) * len(range(0, width, 7))
    assert good / total > 0.97  # nearest neighbour: only cells straddling a source edge may pick the neighbour


@pytest.mark.parametrize("service", BANDS)
def test_band_ids_select_and_reorder(gateway: Gateway, service: str) -> None:
    reply = export_image(gateway, service, bbox="41,41,49,49", size="160,160", format="tiff", bandIds="3,0,2")
    data, _, _, _ = read_tiff(reply.body)
    assert data.shape == (3, 160, 160) and data.dtype == np.int16
    for row, col in [(5, 5), (80, 40), (150, 120), (30, 150)]:
        src_col, src_row = col + 20, row + 20  # 41°/49° are 20 source cells in
        blue, _, red, nir = ds.bands4_values_at(src_col, src_row)
        assert tuple(int(v) for v in data[:, row, col]) == (nir, blue, red)


@pytest.mark.parametrize("service", ["img/Elevation", "img/Bands"])
def test_lerc_bip_bsq(gateway: Gateway, service: str) -> None:
    box = "7,40.5,9.5,42.5" if service == "img/Elevation" else "40,40,45,50"
    size = (50, 40) if service == "img/Elevation" else (100, 200)
    tiff = read_tiff(export_image(gateway, service, bbox=box, size=f"{size[0]},{size[1]}", format="tiff").body)
    values, nodata = tiff[0], tiff[2]
    mask = ~np.all(values == nodata, axis=0) if nodata is not None else np.ones(values.shape[1:], dtype=bool)
    for version in (1, 2):
        blob = export_image(gateway, service, bbox=box, size=f"{size[0]},{size[1]}", format="lerc",
                            lercVersion=str(version), compressionTolerance="0.5").body
        result, decoded, decoded_mask = lerc.decode(blob)[:3]
        assert result == 0
        decoded = decoded if decoded.ndim == 3 else decoded[None]  # (bands, rows, cols)
        assert np.array_equal(decoded_mask.astype(bool), mask)
        assert np.abs(decoded[:, mask].astype(float) - values[:, mask].astype(float)).max() <= 0.5
    count, (height, width) = values.shape[0], values.shape[1:]
    itemsize = values.dtype.itemsize
    mask_bytes = np.packbits(mask.ravel(), bitorder="big").tobytes()
    clean = np.where(mask, values, 0).astype(values.dtype.newbyteorder("<"))
    for fmt, layout in (("bsq", clean), ("bip", clean.transpose(1, 2, 0))):
        body = export_image(gateway, service, bbox=box, size=f"{size[0]},{size[1]}", format=fmt).body
        assert len(body) == count * width * height * itemsize + math.ceil(width * height / 8)
        assert body[: count * width * height * itemsize] == np.ascontiguousarray(layout).tobytes()
        assert body[count * width * height * itemsize:] == mask_bytes


def test_jpgpng_and_eight_bit_formats(gateway: Gateway) -> None:
    inside = export_image(gateway, "img/Elevation", bbox="1,41,3,43", size="100,100")  # default jpgpng
    assert inside.content_type == "image/jpeg"
    with_hole = export_image(gateway, "img/Elevation", bbox="7,40.5,9.5,42.5", size="100,100")
    assert with_hole.content_type == "image/png"
    image = rgba(with_hole.body)
    assert image[50, 60, 3] == 0 and image[10, 10, 3] == 255  # the nodata block is transparent
    for fmt, content in (("png", "image/png"), ("png8", "image/png"), ("png24", "image/png"),
                         ("png32", "image/png"), ("jpg", "image/jpeg"), ("bmp", "image/bmp"), ("gif", "image/gif")):
        reply = export_image(gateway, "img/Elevation", bbox="0,40,10,50", size="50,50", format=fmt)
        assert reply.status == 200 and reply.content_type == content, fmt
        grey = rgba(reply.body)[:, :, 0].astype(int)
        # default stretch over the service statistics: the left (low) edge is darker than the right
        assert grey[5, 45] > grey[5, 5] + 50, fmt
    rgb = rgba(export_image(gateway, "img/RGB", bbox="-10,30,10,50", size="80,80", format="png").body)
    for lon, lat in [(-5, 45), (5, 35), (-8, 32)]:
        col, row = int((lon + 10) * 4), int((50 - lat) * 4)
        assert tuple(int(v) for v in rgb[row, col, :3]) == ds.rgb_colour_at(lon, lat)


def test_pixel_type_conversion_and_no_data_parameters(gateway: Gateway) -> None:
    params = {"bbox": "0,48,1,50", "size": "50,100", "format": "tiff"}
    as_u8, _, _, _ = read_tiff(export_image(gateway, "img/Elevation", pixelType="U8", **params).body)
    as_f32, _, _, _ = read_tiff(export_image(gateway, "img/Elevation", pixelType="F32", **params).body)
    assert as_u8.dtype == np.uint8
    assert np.array_equal(as_u8[0], np.clip(np.trunc(as_f32[0]), 0, 255).astype(np.uint8))
    as_s8, _, _, _ = read_tiff(export_image(gateway, "img/Elevation", pixelType="S8", **params).body)
    assert as_s8.max() == 127  # truncated to the type's range
    masked = read_tiff(export_image(gateway, "img/Elevation", noData="100", pixelType="F32", **params).body)
    assert (masked[0][0] == masked[2]).sum() == (as_f32[0] == 100).sum() > 0
    refused = export_image(gateway, "img/Elevation", pixelType="C64", **params)
    assert refused.status == 400 and "pixelType" in refused.json()["error"]["message"]


@pytest.mark.parametrize("interpolation", ["RSP_BilinearInterpolation", "RSP_CubicConvolution", "RSP_Majority"])
def test_interpolation(gateway: Gateway, interpolation: str) -> None:
    params = {"bbox": "1.005,41.005,1.205,41.205", "size": "40,40", "format": "tiff", "pixelType": "F32"}
    nearest, _, _, _ = read_tiff(export_image(gateway, "img/Elevation", **params).body)
    other, _, _, _ = read_tiff(export_image(gateway, "img/Elevation", interpolation=interpolation,
                                            **params).body)
    if interpolation == "RSP_BilinearInterpolation":
        # the surface is a plane: bilinear values are the plane at the cell centres, between the stored steps
        lon = 1.005 + (np.arange(40) + 0.5) * 0.005
        lat = 41.205 - (np.arange(40) + 0.5) * 0.005
        plane = 100 + 2 * ((lon[None, :] - 0.01) / 0.02) - 0.5 * ((50 - 0.01 - lat[:, None]) / 0.02)
        assert np.abs(other[0][2:-2, 2:-2] - plane[2:-2, 2:-2]).max() < 1e-3
        assert not np.array_equal(other, nearest)
    else:
        assert np.abs(other[0] - nearest[0]).max() <= 2.5


# ------------------------------------------------------------------------------------------ rendering functions


@pytest.mark.parametrize("service", BANDS)
def test_ndvi(gateway: Gateway, service: str) -> None:
    rule = {"rasterFunction": "NDVI", "rasterFunctionArguments": {"VisibleBandID": 2, "InfraredBandID": 3,
                                                                   "Scientific": True}}
    data, _, nodata, _ = read_tiff(export_image(gateway, service, bbox="40,40,50,50", size="200,200",
                                                format="tiff", renderingRule=json.dumps(rule)).body)
    for col in range(0, 200, 9):
        for row in range(0, 200, 11):
            expected = ds.bands4_ndvi_at(col, row)
            if expected is None:
                assert data[0, row, col] == nodata
            else:
                assert data[0, row, col] == pytest.approx(expected, abs=1e-6)


def test_band_arithmetic_and_extract_band(gateway: Gateway) -> None:
    rule = {"rasterFunction": "BandArithmetic",
            "rasterFunctionArguments": {"Method": 0, "BandIndexes": "(B4 - B3) / (B4 + B3) + B1 * 0"}}
    data, _, _, _ = read_tiff(export_image(gateway, "img/Bands", bbox="40,40,50,50", size="200,200",
                                           format="tiff", renderingRule=json.dumps(rule)).body)
    _, _, red, nir = ds.bands4_values_at(120, 60)
    assert data[0, 60, 120] == pytest.approx((nir - red) / (nir + red), abs=1e-6)
    extract = {"rasterFunction": "ExtractBand", "rasterFunctionArguments": {"BandIDs": [3, 1]}}
    data, _, _, _ = read_tiff(export_image(gateway, "img/BandsQ", bbox="40,40,50,50", size="200,200",
                                           format="tiff", renderingRule=json.dumps(extract)).body)
    _, green, _, nir = ds.bands4_values_at(33, 44)
    assert tuple(int(v) for v in data[:, 44, 33]) == (nir, green)


def test_slope_aspect_hillshade_match_numpy(gateway: Gateway) -> None:
    extent, size = (1.0, 41.0, 3.0, 43.0), (100, 100)
    # Horn's method on the plane z = 100 + 2 col - 0.5 row (metres), cells of 0.02° at each row's latitude
    lat = extent[3] - (np.arange(size[1]) + 0.5) * 0.02
    metres = 6378137 * 2 * math.pi / 360 * 0.02
    dz_dx = 2 / (metres * np.cos(np.radians(lat)))
    dz_dy = 0.5 / metres  # z falls by 0.5 per row going south: rises northwards
    slope = np.degrees(np.arctan(np.hypot(dz_dx, dz_dy)))
    rule = {"rasterFunction": "Slope", "rasterFunctionArguments": {"ZFactor": 1}}
    data, _, _, _ = read_tiff(export_image(gateway, "img/Elevation", bbox="1,41,3,43", size="100,100",
                                           format="tiff", renderingRule=json.dumps(rule)).body)
    assert np.abs(data[0][5:-5, 5:-5] - slope[5:-5, None]).max() < 1e-3
    aspect = json.dumps({"rasterFunction": "Aspect"})
    data, _, _, _ = read_tiff(export_image(gateway, "img/Elevation", bbox="1,41,3,43", size="100,100",
                                           format="tiff", renderingRule=aspect).body)
    # downhill points west (x rises east) and south (z rises north): aspect between 180° and 270°
    expected_aspect = np.degrees(np.arctan2(-dz_dx, -dz_dy)) % 360
    assert np.abs(data[0][5:-5, 50] - expected_aspect[5:-5]).max() < 1e-2
    shade = json.dumps({"rasterFunction": "Hillshade", "rasterFunctionArguments": {"Azimuth": 315, "Altitude": 45}})
    data, _, _, _ = read_tiff(export_image(gateway, "img/Elevation", bbox="1,41,3,43", size="100,100",
                                           format="tiff", renderingRule=shade).body)
    zenith, azimuth = math.radians(45), math.radians(360 - 315 + 90)
    slope_rad = np.radians(slope)
    aspect_rad = np.arctan2(dz_dy, -dz_dx)
    expected_shade = 255 * (np.cos(zenith) * np.cos(slope_rad)
                            + np.sin(zenith) * np.sin(slope_rad) * np.cos(azimuth - aspect_rad))
    assert np.abs(data[0][5:-5, 50].astype(float) - expected_shade[5:-5]).max() <= 1.0


def test_stretch_colormap_remap_clip(gateway: Gateway) -> None:
    params = {"bbox": "0,40,10,50", "size": "100,100", "format": "tiff"}
    raw, _, nodata, _ = read_tiff(export_image(gateway, "img/Elevation", pixelType="F32", **params).body)
    valid = raw[0] != nodata
    values = raw[0].astype(np.float64)
    lo, hi = values[valid].min(), values[valid].max()
    stretch = {"rasterFunction": "Stretch", "rasterFunctionArguments": {"StretchType": 5, "DRA": True}}
    out, _, _, _ = read_tiff(export_image(gateway, "img/Elevation", renderingRule=json.dumps(stretch),
                                          **params).body)
    expected = np.floor((values - lo) * 255 / (hi - lo) + 0.5)
    assert out.dtype == np.uint8 and np.abs(out[0][valid].astype(int) - expected[valid]).max() <= 1
    remap = {"rasterFunction": "Remap", "rasterFunctionArguments": {"InputRanges": [-1000, 500, 500, 2000],
                                                                     "OutputValues": [1, 2]}}
    out, _, _, _ = read_tiff(export_image(gateway, "img/Elevation", renderingRule=json.dumps(remap),
                                          **params).body)
    assert np.array_equal(out[0][valid], np.where(raw[0][valid] < 500, 1, 2))
    colormap = {"rasterFunction": "Colormap", "rasterFunctionArguments": {"Colormap": [[1, 255, 0, 0],
                                                                                      [2, 0, 0, 255]]}}
    chained = {"rasterFunction": "Colormap", "rasterFunctionArguments": {**colormap["rasterFunctionArguments"],
                                                                         "Raster": remap}}
    image = rgba(export_image(gateway, "img/Elevation", renderingRule=json.dumps(chained), bbox="0,40,10,50",
                              size="100,100", format="png").body)
    low = raw[0] < 500
    assert (image[low & valid][:, :3] == [255, 0, 0]).all() and (image[~low & valid][:, :3] == [0, 0, 255]).all()
    assert (image[~valid][:, 3] == 0).all()
    clip = {"rasterFunction": "Clip", "rasterFunctionArguments": {
        "ClippingGeometry": {"rings": [[[2, 42], [6, 42], [6, 46], [2, 46], [2, 42]]],
                             "spatialReference": {"wkid": 4326}}, "ClippingType": 1}}
    out, _, clip_nodata, _ = read_tiff(export_image(gateway, "img/Elevation", renderingRule=json.dumps(clip),
                                                    pixelType="F32", **params).body)
    assert out[0][70, 10] == clip_nodata and out[0][60, 30] == raw[0][60, 30]


def test_unknown_rendering_function_is_a_400(gateway: Gateway) -> None:
    reply = export_image(gateway, "img/Elevation", bbox="0,40,10,50",
                         renderingRule='{"rasterFunction": "MakeItPretty"}')
    assert reply.status == 400
    assert "MakeItPretty" in reply.json()["error"]["message"]


# ------------------------------------------------------------------------------------------------------------ time


def ms(date: str) -> int:
    from datetime import UTC, datetime

    return int(datetime.fromisoformat(date).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize("service", ["img/TimeWCS", "img/TimeSeriesQ"])
def test_time_picks_the_raster(gateway: Gateway, service: str) -> None:
    params = {"bbox": "21,41,23,43", "size": "40,40", "format": "tiff", "pixelType": "F32"}
    for index, date in enumerate(ds.TEMP_COVERAGE_DATES):
        data, _, _, _ = read_tiff(export_image(gateway, service, time=str(ms(date)), **params).body)
        assert data[0, 0, 0] == ds.temp_value_at(index, 20, 140), date
    latest, _, _, _ = read_tiff(export_image(gateway, service, **params).body)
    assert latest[0, 0, 0] // 1000 == 3  # no time: the latest raster on top
    window = f"{ms('2020-02-01')},{ms('2020-08-01')}"
    data, _, _, _ = read_tiff(export_image(gateway, service, time=window, **params).body)
    assert data[0, 0, 0] // 1000 == 2  # the latest raster inside the window
    rule = json.dumps({"mosaicMethod": "esriMosaicAttribute", "sortField": "time", "ascending": True})
    data, _, _, _ = read_tiff(export_image(gateway, service, time=window, mosaicRule=rule, **params).body)
    assert data[0, 0, 0] // 1000 == 1
    locked = json.dumps({"mosaicMethod": "esriMosaicLockRaster", "lockRasterIds": [1]})
    data, _, _, _ = read_tiff(export_image(gateway, service, mosaicRule=locked, **params).body)
    assert data[0, 0, 0] // 1000 == 0
    refused = export_image(gateway, service, mosaicRule=json.dumps({"mosaicMethod": "esriMosaicCenter"}),
                           **params)
    assert refused.status == 400 and "mosaicRule" in refused.json()["error"]["message"]
    empty = export_image(gateway, service, time=f"{ms('2021-01-01')},{ms('2021-02-01')}", format="png32",
                         bbox="21,41,23,43", size="40,40")
    assert (rgba(empty.body)[..., 3] == 0).all()  # no raster in that window: nothing drawn


# ------------------------------------------------------------------------------------------- responses, identify


def test_json_kmz_html_and_limits(gateway: Gateway) -> None:
    data = export_image(gateway, "img/Elevation", bbox="0,40,10,50", size="100,100", f="json").json()
    assert set(data) == {"href", "width", "height", "extent"} and "?" not in data["href"]
    assert fetch(data["href"]).content_type in ("image/jpeg", "image/png")
    kmz = export_image(gateway, "img/Elevation", bbox="0,40,10,50", size="100,100", f="kmz")
    with zipfile.ZipFile(io.BytesIO(kmz.body)) as archive:
        kml = etree.fromstring(archive.read(archive.namelist()[0]))
        north = next(float(e.text) for e in kml.iter() if etree.QName(e).localname == "north")
        assert north == pytest.approx(50)
    assert b"<img" in export_image(gateway, "img/Elevation", bbox="0,40,10,50", f="html").body
    small = export_image(gateway, "img/Small", bbox="0,40,10,50", size="400,400", f="json").json()
    assert (small["width"], small["height"]) == (100, 100)
    stretched = export_image(gateway, "img/Elevation", bbox="0,40,10,45", size="100,100", f="json",
                             adjustAspectRatio="false").json()
    assert stretched["extent"]["ymax"] == pytest.approx(45)
    refused = export_image(gateway, "img/Elevation", bbox="-5,40,10,50", validateExtent="true")
    assert refused.status == 400


@pytest.mark.parametrize("service", ELEVATION)
def test_identify(gateway: Gateway, service: str) -> None:
    url = image_url(gateway, service, "identify")
    answer = fetch(url, {"geometry": json.dumps({"x": 3.011, "y": 44.987}), "geometryType": "esriGeometryPoint",
                         "f": "json"}).json()
    assert float(answer["value"]) == ds.dem_value(3.011, 44.987)
    assert answer["location"]["x"] == pytest.approx(3.011) and answer["name"] == "Pixel"
    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(5.511, 47.309)
    answer = fetch(url, {"geometry": json.dumps({"x": x, "y": y, "spatialReference": {"wkid": 102100}}),
                         "f": "json"}).json()
    assert float(answer["value"]) == ds.dem_value(5.511, 47.309)
    assert answer["location"]["spatialReference"]["wkid"] == 102100
    assert fetch(url, {"geometry": "8.5,41.5", "f": "json"}).json()["value"] == "NoData"
    remap = {"rasterFunction": "Remap", "rasterFunctionArguments": {"InputRanges": [-1000, 500, 500, 2000],
                                                                     "OutputValues": [1, 2]}}
    answer = fetch(url, {"geometry": "9.9,40.1", "renderingRule": json.dumps(remap), "f": "json"}).json()
    assert answer["value"] == ("2" if ds.dem_value(9.9, 40.1) >= 500 else "1")
    assert fetch(url, {"geometry": "abc", "f": "json"}).status == 400


@pytest.mark.parametrize("service", ["img/Bands", "img/BandsQ"])
def test_download_clip_and_files(gateway: Gateway, service: str) -> None:
    fwd = Transformer.from_crs(4326, 3857, always_xy=True)
    x0, y0 = fwd.transform(42, 43)
    x1, y1 = fwd.transform(44, 45)
    env = {"xmin": x0, "ymin": y0, "xmax": x1, "ymax": y1, "spatialReference": {"wkid": 3857}}
    answer = fetch(image_url(gateway, service, "download"), {"rasterIds": "1", "geometry": json.dumps(env),
                                                              "geometryType": "esriGeometryEnvelope",
                                                              "format": "TIFF", "f": "json"}).json()
    (entry,) = answer["rasterFiles"]
    assert entry["rasterIds"] == [1] and entry["size"] > 0
    file = fetch(image_url(gateway, service, "file"), {"id": entry["id"], "rasterId": "1"})
    assert file.status == 200 and len(file.body) == entry["size"]
    data, bounds, _, _ = read_tiff(file.body)
    assert (bounds.left, bounds.bottom, bounds.right, bounds.top) == pytest.approx((42, 43, 44, 45), abs=0.05)
    assert data.shape[0] == 4
    assert tuple(int(v) for v in data[:, 0, 0]) == ds.bands4_values_at(*ds.bands4_pixel(42.01, 44.99))
    polygon = {"rings": [[[41, 41], [49, 41], [41, 49], [41, 41]]], "spatialReference": {"wkid": 4326}}
    answer = fetch(image_url(gateway, service, "download"), {"rasterIds": "1", "geometry": json.dumps(polygon),
                                                              "geometryType": "esriGeometryPolygon",
                                                              "f": "json"}).json()
    data, _, nodata, _ = read_tiff(fetch(image_url(gateway, service, "file"),
                                         {"id": answer["rasterFiles"][0]["id"]}).body)
    assert (data[:, 10, 150] == nodata).all()  # upper right: outside the triangle
    assert not (data[:, 150, 10] == nodata).all()  # lower left: inside
    assert fetch(image_url(gateway, service, "download"), {"rasterIds": "7", "f": "json"}).status == 400


def test_errors(gateway: Gateway) -> None:
    base = {"bbox": "0,40,10,50", "size": "50,50"}
    for params, word in [({"bandIds": "5"}, "bandIds"), ({"bandIds": "x"}, "bandIds"), ({"format": "webp"}, "format"),
                         ({"pixelType": "U64"}, "pixelType"), ({"interpolation": "RSP_Magic"}, "interpolation"),
                         ({"compression": "zip", "format": "tiff"}, "compression"),
                         ({"compressionQuality": "500"}, "compressionQuality"), ({"lercVersion": "3"}, "lercVersion"),
                         ({"noData": "a,b"}, "noData"), ({"sliceId": "1"}, "sliceId"),
                         ({"mosaicRule": "{bad"}, "mosaicRule"), ({"renderingRule": "{bad"}, "renderingRule"),
                         ({"datumTransformation": "1196"}, "datumTransformation"),
                         ({"time": "later"}, "time"), ({"imageSR": "1"}, "imageSR")]:
        reply = export_image(gateway, "img/Elevation", **base, **params)
        assert reply.status == 400, (params, reply.body[:200])
        assert word.lower() in reply.json()["error"]["message"].lower(), params
    missing = fetch(image_url(gateway, "img/Missing"), {"f": "json"})
    assert missing.status == 404 and "nosuchcoverage" in missing.json()["error"]["message"]
    assert fetch(image_url(gateway, "img/Nope"), {"f": "json"}).status == 404
    assert fetch(image_url(gateway, "img/Elevation", "nothing"), {"f": "json"}).status == 404


def test_thumbnails(gateway: Gateway, mapserver: Any) -> None:
    drawn = fetch(image_url(gateway, "img/ElevationPreview", "info/thumbnail"))
    assert drawn.status == 200 and drawn.content_type == "image/png"
    wms = fetch(mapserver.url, {"SERVICE": "WMS", "VERSION": "1.1.1", "REQUEST": "GetMap", "LAYERS": "dem",
                                "STYLES": "", "SRS": "EPSG:4326", "BBOX": "0,40,10,50", "WIDTH": "200",
                                "HEIGHT": "200", "FORMAT": "image/png", "TRANSPARENT": "TRUE"})
    assert np.array_equal(rgba(drawn.body), rgba(wms.body))  # the preview layer, as the WMS draws it
    computed = rgba(fetch(image_url(gateway, "img/Elevation", "info/thumbnail")).body)
    assert computed.shape == (200, 200, 4)
    assert computed[5, 195, 0] > computed[5, 5, 0] + 50  # the default stretch: higher values to the east
    assert computed[175, 175, 3] == 0  # the nodata block (lon 8..9, lat 41..42) is transparent
