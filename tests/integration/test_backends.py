"""The real backends serve what tests/backends/dataspec.py says: layers, colours, CRS, FILTER, TIME, WCS values."""

from __future__ import annotations

import functools
import io
import json
import math
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pytest
from owslib.wms import WebMapService
from PIL import Image
from pyproj import CRS, Transformer
from rasterio.io import MemoryFile

from tests.backends import dataspec as ds
from tests.backends.servers import FastCgiBackend

pytestmark = pytest.mark.backend

WORLD = (-180.0, -90.0, 180.0, 90.0)
WHITE = (255, 255, 255)
HALF_SYMBOL_PX = 3  # pixels around a point that are surely inside its 10 px square


# ---------------------------------------------------------------------------------------------------- helpers
def fetch(url: str, params: Mapping[str, object] | Iterable[tuple[str, object]]) -> tuple[str, bytes]:
    """GET ``url?params``; return (content type, body), also for HTTP errors (QGIS answers 400 to bad requests)."""
    items = params.items() if isinstance(params, Mapping) else params
    query = urllib.parse.urlencode([(k, str(v)) for k, v in items])
    try:
        with urllib.request.urlopen(f"{url}?{query}", timeout=30) as resp:
            return resp.headers.get("Content-Type", ""), resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.headers.get("Content-Type", ""), exc.read()


def lat_first(crs: str) -> bool:
    """Whether WMS 1.3.0 wants northing first in BBOX for ``crs`` (its official axis order)."""
    return CRS.from_user_input(crs).axis_info[0].direction.lower() in ("north", "south")


@functools.cache
def _to_crs(crs: str) -> Transformer:
    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


@dataclass(frozen=True)
class Frame:
    """A GetMap frame: bbox in x/y order, size, CRS; maps lon/lat to pixel indices."""

    bbox: tuple[float, float, float, float]
    width: int
    height: int
    crs: str = "EPSG:4326"

    def pixel_xy(self, x: float, y: float) -> tuple[int, int]:
        minx, miny, maxx, maxy = self.bbox
        col = math.floor((x - minx) / (maxx - minx) * self.width)
        row = math.floor((maxy - y) / (maxy - miny) * self.height)
        return col, row

    def pixel(self, lon: float, lat: float) -> tuple[int, int]:
        x, y = _to_crs(self.crs).transform(lon, lat)
        if not (math.isfinite(x) and math.isfinite(y)):  # far outside a UTM zone
            return (-1, -1)
        return self.pixel_xy(x, y)

    def inside(self, lon: float, lat: float, margin: int = 2) -> bool:
        col, row = self.pixel(lon, lat)
        return margin <= col < self.width - margin and margin <= row < self.height - margin


def get_map(
    backend: FastCgiBackend, layers: str, frame: Frame, *, version: str = "1.1.1", fmt: str = "image/png", **extra: str
) -> np.ndarray:
    """GetMap as an RGBA array (opaque formats get alpha 255)."""
    bbox = frame.bbox
    if version == "1.3.0" and lat_first(frame.crs):
        bbox = (bbox[1], bbox[0], bbox[3], bbox[2])
    params = {
        "SERVICE": "WMS",
        "VERSION": version,
        "REQUEST": "GetMap",
        "LAYERS": layers,
        "STYLES": "",
        "FORMAT": fmt,
        "WIDTH": frame.width,
        "HEIGHT": frame.height,
        "BBOX": ",".join(f"{v:.12g}" for v in bbox),
        "CRS" if version == "1.3.0" else "SRS": frame.crs,
        **extra,
    }
    ctype, body = fetch(backend.url, params)
    assert ctype.startswith("image/"), body[:800]
    with Image.open(io.BytesIO(body)) as img:
        assert img.size == (frame.width, frame.height)
        return np.asarray(img.convert("RGBA"))


def colour(img: np.ndarray, frame: Frame, lon: float, lat: float) -> tuple[int, int, int]:
    col, row = frame.pixel(lon, lat)
    r, g, b = (int(v) for v in img[row, col, :3])
    return (r, g, b)


def rgb_mismatches(img: np.ndarray, frame: Frame) -> tuple[int, list[str]]:
    """Compare the centre of every 10° cell in the frame with dataspec; return (cells checked, mismatches)."""
    checked, bad = 0, []
    for c in range(36):
        for r in range(18):
            lon, lat = ds.rgb_cell_centre(c, r)
            if (abs(lat) > 80 and frame.crs == "EPSG:3857") or not frame.inside(lon, lat):
                continue
            checked += 1
            got, want = colour(img, frame, lon, lat), ds.rgb_cell_colour(c, r)
            if got != want:
                bad.append(f"cell ({c},{r}) at {lon},{lat}: got {got} want {want}")
    return checked, bad


def visible_points(
    img: np.ndarray, frame: Frame, points: Iterable[tuple[int, float, float]], rgb: tuple[int, ...]
) -> set[int]:
    """Ids of the points whose pixel has colour ``rgb``."""
    return {pid for pid, lon, lat in points if colour(img, frame, lon, lat) == rgb}


def visible_regions(img: np.ndarray, frame: Frame) -> set[int]:
    return {r.id for r in ds.REGIONS if colour(img, frame, *r.centre) == ds.REGION_COLOURS[r.category]}


def near_city(lon: float, lat: float, frame: Frame) -> bool:
    px, py = frame.pixel(lon, lat)
    for city in ds.CITIES:
        cx, cy = frame.pixel(city.lon, city.lat)
        if abs(px - cx) <= ds.SYMBOL_SIZE_PX and abs(py - cy) <= ds.SYMBOL_SIZE_PX:
            return True
    return False


def read_tiff(body: bytes) -> tuple[np.ndarray, dict[str, object]]:
    with MemoryFile(body) as mem, mem.open() as src:
        return src.read(), {"dtype": src.dtypes[0], "nodata": src.nodata, "bounds": tuple(src.bounds)}


def get_coverage(
    backend: FastCgiBackend, coverage: str, bbox: tuple[float, ...], width: int, height: int, **extra: str
) -> bytes:
    """WCS 1.0.0 GetCoverage in the native CRS as GeoTIFF (named formats: see the mapfile's OUTPUTFORMATs)."""
    fmt = ds.MAPSERVER_WCS_FORMATS[coverage] if backend.kind == "mapserver" else ds.QGIS_WCS_FORMAT
    params = {
        "SERVICE": "WCS",
        "VERSION": "1.0.0",
        "REQUEST": "GetCoverage",
        "COVERAGE": coverage,
        "CRS": "EPSG:4326",
        "BBOX": ",".join(f"{v:g}" for v in bbox),
        "WIDTH": width,
        "HEIGHT": height,
        "FORMAT": fmt,
        **extra,
    }
    ctype, body = fetch(backend.url, params)
    assert ctype.startswith("image/tiff"), body[:800]
    return body


# ----------------------------------------------------------------------------------------------- capabilities
@pytest.mark.parametrize("version", ["1.1.1", "1.3.0"])
def test_capabilities_list_the_layers(ogc_backend: FastCgiBackend, version: str) -> None:
    wms = WebMapService(ogc_backend.url, version=version, timeout=30)
    assert wms.identification.title == ds.MAP_TITLE
    expected = {*ds.WMS_LAYERS, *ds.IMAGE_COVERAGES, ds.GROUP_NAME, ds.ROOT_LAYER_NAME}
    if ogc_backend.raster_time:
        expected |= set(ds.MAPSERVER_ONLY_COVERAGES)
    else:
        expected = (expected - {"temperature"}) | set(ds.QGIS_TEMPERATURE_LAYERS.values())
    assert set(wms.contents) == expected
    assert {child.name for child in wms[ds.GROUP_NAME].children} == set(ds.GROUP_MEMBERS)
    for name in ("regions", "rgb", "dem"):
        crs = set(wms[name].crsOptions)
        assert set(ds.WMS_CRS) <= crs, (name, crs)
        assert "EPSG:3395" not in crs and "ESRI:102004" not in crs
    assert wms["rgb"].boundingBoxWGS84 == pytest.approx(ds.RGB_EXTENT)
    assert wms["regions"].boundingBoxWGS84 == pytest.approx(ds.REGIONS_EXTENT)
    assert wms["dem"].boundingBoxWGS84 == pytest.approx(ds.DEM_EXTENT)
    formats = wms.getOperationByName("GetMap").formatOptions
    assert set(ogc_backend.getmap_formats) <= set(formats)
    if version == "1.3.0":
        assert wms["events"].timepositions
        if ogc_backend.raster_time:
            assert [t.strip() for t in wms["temperature"].timepositions] == [ds.TEMPERATURE_TIME_EXTENT]
            tempcov = wms[ds.TEMP_COVERAGE_TIME_NAME]
            assert [t.strip() for t in tempcov.timepositions] == [ds.TEMP_COVERAGE_TIME_EXTENT]


def test_capabilities_carry_attribution_and_own_url(ogc_backend: FastCgiBackend) -> None:
    _, body = fetch(ogc_backend.url, {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetCapabilities"})
    assert ds.ATTRIBUTION.encode() in body
    assert f'xlink:href="http://127.0.0.1:{ogc_backend.port}/ows'.encode() in body  # host and port, no bare ":PORT"


# ---------------------------------------------------------------------------------------------------- rasters
RGB_FRAMES_4326 = [
    Frame(WORLD, 720, 360),
    Frame((-35.0, -25.0, 55.0, 45.0), 450, 350),
    Frame((100.0, -80.0, 180.0, 10.0), 333, 377),
    Frame((-180.0, -90.0, 0.0, 0.0), 1440, 720),  # beyond native resolution
]


@pytest.mark.parametrize("version", ["1.1.1", "1.3.0"])
@pytest.mark.parametrize("frame", RGB_FRAMES_4326, ids=lambda f: "x".join(map(str, (f.width, f.height))))
def test_rgb_cells_in_epsg4326(ogc_backend: FastCgiBackend, frame: Frame, version: str) -> None:
    img = get_map(ogc_backend, "rgb", frame, version=version)
    checked, bad = rgb_mismatches(img, frame)
    assert checked >= 20
    assert not bad, bad[:10]


def _frame_in(crs: str, lonlat_bbox: tuple[float, float, float, float], width: int) -> Frame:
    """The frame around ``lonlat_bbox`` in ``crs``, with square pixels (QGIS widens the BBOX otherwise)."""
    x0, y0, x1, y1 = _to_crs(crs).transform_bounds(*lonlat_bbox, densify_pts=21)
    return Frame((x0, y0, x1, y1), width, round(width * (y1 - y0) / (x1 - x0)), crs)


@pytest.mark.parametrize("version", ["1.1.1", "1.3.0"])
@pytest.mark.parametrize(
    ("crs", "lonlat_bbox", "min_cells"),
    [("EPSG:3857", (-170.0, -75.0, 170.0, 75.0), 400), ("EPSG:32633", (0.0, 25.0, 32.0, 68.0), 8)],
)
def test_rgb_cells_in_projected_crs(
    ogc_backend: FastCgiBackend, crs: str, lonlat_bbox: tuple[float, float, float, float], min_cells: int, version: str
) -> None:
    frame = _frame_in(crs, lonlat_bbox, 680)
    img = get_map(ogc_backend, "rgb", frame, version=version)
    checked, bad = rgb_mismatches(img, frame)
    assert checked >= min_cells
    assert not bad, bad[:10]


def test_non_square_pixels(ogc_backend: FastCgiBackend) -> None:
    """MapServer stretches to any BBOX/size; QGIS 3.22 keeps square pixels and widens the BBOX about its centre."""
    asked = Frame((0.0, 0.0, 40.0, 20.0), 300, 300)
    img = get_map(ogc_backend, "rgb", asked)
    if ogc_backend.kind == "qgis":
        drawn = Frame((0.0, -10.0, 40.0, 30.0), 300, 300)
        assert rgb_mismatches(img, asked)[1]
    else:
        drawn = asked
    checked, bad = rgb_mismatches(img, drawn)
    assert checked >= 8
    assert not bad, bad[:10]


def test_wms130_epsg4326_is_lat_lon(ogc_backend: FastCgiBackend) -> None:
    frame = Frame((-40.0, -20.0, 50.0, 40.0), 360, 240)  # native resolution
    old = get_map(ogc_backend, "rgb,overlays", frame, version="1.1.1")
    new = get_map(ogc_backend, "rgb,overlays", frame, version="1.3.0")
    assert (old == new).all(axis=2).mean() > 0.99
    assert colour(new, frame, -35.0, 35.0) == ds.rgb_colour_at(-35.0, 35.0)


def test_dem_and_multiband_greyscale_and_stretch(ogc_backend: FastCgiBackend) -> None:
    frame = Frame((0.0, 40.0, 20.0, 50.0), 500, 250)
    img = get_map(ogc_backend, "dem,multiband", frame)
    lo, hi = ds.DEM_DISPLAY_RANGE
    for lon, lat in [(0.51, 49.49), (5.01, 45.01), (9.5, 40.5), (3.3, 41.7)]:
        v = ds.dem_value(lon, lat)
        grey = round(255 * (v - lo) / (hi - lo))
        assert colour(img, frame, lon, lat) == pytest.approx((grey, grey, grey), abs=3)
    assert colour(img, frame, 8.5, 41.5) == WHITE  # nodata block
    lo, hi = ds.MULTIBAND_DISPLAY_RANGE
    for lon, lat in [(12.01, 48.01), (17.51, 41.01)]:
        bands = ds.multiband_values_at(*ds.multiband_pixel(lon, lat))
        want = tuple(min(max(round(255 * (b - lo) / (hi - lo)), 0), 255) for b in bands)
        assert colour(img, frame, lon, lat) == pytest.approx(want, abs=3)


def test_temperature_time_on_mapserver(mapserver: FastCgiBackend) -> None:
    frame = Frame((-10.0, 20.0, 50.0, 70.0), 240, 200)
    points = [(1.0, 31.0), (20.0, 45.0), (39.0, 59.0)]
    for date, rgb in ds.TEMPERATURE_COLOURS.items():
        img = get_map(mapserver, "temperature", frame, TIME=date)
        assert {colour(img, frame, *p) for p in points} == {rgb}, date
        assert colour(img, frame, -5.0, 25.0) == WHITE
    img = get_map(mapserver, "temperature", frame)
    assert colour(img, frame, 20.0, 45.0) == ds.TEMPERATURE_COLOURS[ds.TEMPERATURE_DEFAULT_DATE]
    img = get_map(mapserver, "temperature", frame, TIME="2020-05-01")  # no raster of that instant
    assert colour(img, frame, 20.0, 45.0) == WHITE


def test_temperature_layers_on_qgis(qgis: FastCgiBackend) -> None:
    frame = Frame((-10.0, 20.0, 50.0, 70.0), 240, 200)
    for date, layer in ds.QGIS_TEMPERATURE_LAYERS.items():
        img = get_map(qgis, layer, frame)
        assert colour(img, frame, 20.0, 45.0) == ds.TEMPERATURE_COLOURS[date]


# ---------------------------------------------------------------------------------------------------- vectors
@pytest.mark.parametrize("layers", ["overlays", "regions,cities"])
def test_regions_and_cities_colours(ogc_backend: FastCgiBackend, layers: str) -> None:
    frame = Frame(WORLD, 720, 360)
    img = get_map(ogc_backend, layers, frame)
    bad = []
    for region in ds.REGIONS:
        x0, y0, x1, y1 = region.bbox
        for lon in np.arange(x0 + 1, x1 - 0.5, 1.5):
            for lat in np.arange(y0 + 1, y1 - 0.5, 1.5):
                if (
                    not near_city(lon, lat, frame)
                    and colour(img, frame, lon, lat) != ds.REGION_COLOURS[region.category]
                ):
                    bad.append((region.name, lon, lat, colour(img, frame, lon, lat)))
    for city in ds.CITIES:
        cx, cy = frame.pixel(city.lon, city.lat)
        for dx in (-HALF_SYMBOL_PX, 0, HALF_SYMBOL_PX):
            for dy in (-HALF_SYMBOL_PX, 0, HALF_SYMBOL_PX):
                got = tuple(int(v) for v in img[cy + dy, cx + dx, :3])
                if got != ds.CITY_COLOURS[city.category]:
                    bad.append((city.name, dx, dy, got))
    for lon, lat in [(-160.0, -60.0), (170.0, 80.0), (-30.0, -50.0), (120.0, 30.0)]:
        assert ds.region_at(lon, lat) is None
        if colour(img, frame, lon, lat) != WHITE:
            bad.append(("background", lon, lat, colour(img, frame, lon, lat)))
    assert not bad, bad[:10]


def test_transparent_true_gives_alpha_zero_where_nothing_is_drawn(ogc_backend: FastCgiBackend) -> None:
    frame = Frame(WORLD, 720, 360)
    img = get_map(ogc_backend, "regions", frame, TRANSPARENT="TRUE")
    for lon, lat in [(-160.0, -60.0), (170.0, 80.0), (120.0, 30.0)]:
        col, row = frame.pixel(lon, lat)
        assert img[row, col, 3] == 0
    for region in ds.REGIONS:
        col, row = frame.pixel(*region.centre)
        assert tuple(img[row, col]) == (*ds.REGION_COLOURS[region.category], 255)
    opaque = get_map(ogc_backend, "regions", frame)
    assert (opaque[..., 3] == 255).all()
    assert colour(opaque, frame, 120.0, 30.0) == WHITE


# (layer, OGC Filter XML, QGIS expression, expected visible ids)
FILTERS = [
    (
        "regions",
        "<Filter><PropertyIsGreaterThan><PropertyName>population</PropertyName><Literal>1000000</Literal>"
        "</PropertyIsGreaterThan></Filter>",
        '"population" > 1000000',
        ds.regions_where(lambda r: r.population > 1_000_000),
    ),
    (
        "regions",
        "<Filter><PropertyIsEqualTo><PropertyName>name</PropertyName><Literal>Cote d'Or</Literal>"
        "</PropertyIsEqualTo></Filter>",
        "\"name\" = 'Cote d''Or'",
        {2},
    ),
    (
        "regions",
        "<Filter><PropertyIsEqualTo><PropertyName>category</PropertyName><Literal>A</Literal>"
        "</PropertyIsEqualTo></Filter>",
        "\"category\" = 'A'",
        ds.regions_where(lambda r: r.category == "A"),
    ),
    (
        "cities",
        "<Filter><PropertyIsEqualTo><PropertyName>category</PropertyName><Literal>capital</Literal>"
        "</PropertyIsEqualTo></Filter>",
        "\"category\" = 'capital'",
        {c.id for c in ds.CITIES if c.category == "capital"},
    ),
    (
        "cities",
        "<Filter><PropertyIsLessThan><PropertyName>pop</PropertyName><Literal>50000</Literal>"
        "</PropertyIsLessThan></Filter>",
        '"pop" < 50000',
        {c.id for c in ds.CITIES if c.pop < 50_000},
    ),
    (
        "events",
        "<Filter><PropertyIsEqualTo><PropertyName>name</PropertyName><Literal>Fire</Literal>"
        "</PropertyIsEqualTo></Filter>",
        "\"name\" = 'Fire'",
        {4},
    ),
]


def _visible(img: np.ndarray, frame: Frame, layer: str) -> set[int]:
    if layer == "regions":
        return visible_regions(img, frame)
    if layer == "cities":
        return {c.id for c in ds.CITIES if colour(img, frame, c.lon, c.lat) == ds.CITY_COLOURS[c.category]}
    return visible_points(img, frame, ((e.id, e.lon, e.lat) for e in ds.EVENTS), ds.EVENT_COLOUR)


def _everything(layer: str) -> set[int]:
    return {"regions": {r.id for r in ds.REGIONS}, "cities": {c.id for c in ds.CITIES}}.get(
        layer, {e.id for e in ds.EVENTS}
    )


@pytest.mark.parametrize(("layer", "ogc", "expression", "expected"), FILTERS, ids=lambda v: str(v)[:30])
def test_filter_ogc_xml(ogc_backend: FastCgiBackend, layer: str, ogc: str, expression: str, expected: set[int]) -> None:
    frame = Frame(WORLD, 720, 360)
    assert _visible(get_map(ogc_backend, layer, frame), frame, layer) == _everything(layer)
    assert _visible(get_map(ogc_backend, layer, frame, FILTER=ogc), frame, layer) == expected


@pytest.mark.parametrize(("layer", "ogc", "expression", "expected"), FILTERS, ids=lambda v: str(v)[:30])
def test_filter_qgis_expression(
    qgis: FastCgiBackend, layer: str, ogc: str, expression: str, expected: set[int]
) -> None:
    frame = Frame(WORLD, 720, 360)
    assert _visible(get_map(qgis, layer, frame, FILTER=f"{layer}:{expression}"), frame, layer) == expected


@pytest.mark.parametrize("version", ["1.1.1", "1.3.0"])
@pytest.mark.parametrize(
    ("time", "expected"),
    [
        (None, {e.id for e in ds.EVENTS}),
        ("2020-03-01", ds.events_between("2020-03-01")),
        ("2020-01-15", ds.events_between("2020-01-15")),
        ("2020-03-01/2020-06-30", ds.events_between("2020-03-01", "2020-06-30")),
        ("2020-05-05", set()),
    ],
)
def test_events_time(ogc_backend: FastCgiBackend, time: str | None, expected: set[int], version: str) -> None:
    frame = Frame((-10.0, 20.0, 50.0, 70.0), 240, 200)
    extra = {"TIME": time} if time else {}
    img = get_map(ogc_backend, "events", frame, version=version, **extra)
    assert visible_points(img, frame, ((e.id, e.lon, e.lat) for e in ds.EVENTS), ds.EVENT_COLOUR) == expected


def test_getfeatureinfo_json(ogc_backend: FastCgiBackend) -> None:
    region = ds.REGIONS[1]  # Cote d'Or
    frame = Frame(WORLD, 720, 360)
    col, row = frame.pixel(region.bbox[0] + 1.0, region.bbox[1] + 1.0)
    params = {
        "SERVICE": "WMS",
        "VERSION": "1.3.0",
        "REQUEST": "GetFeatureInfo",
        "LAYERS": "regions",
        "QUERY_LAYERS": "regions",
        "STYLES": "",
        "CRS": "EPSG:4326",
        "BBOX": "-90,-180,90,180",
        "WIDTH": frame.width,
        "HEIGHT": frame.height,
        "I": col,
        "J": row,
        "INFO_FORMAT": "application/json",
        "FORMAT": "image/png",
    }
    ctype, body = fetch(ogc_backend.url, params)
    assert "json" in ctype, body[:500]
    (feature,) = json.loads(body)["features"]
    props = feature["properties"]
    assert (props["id"], props["name"], props["category"]) == (region.id, region.name, region.category)
    assert int(props["population"]) == region.population
    assert str(props["established"]).startswith(region.established)


# ---------------------------------------------------------------------------------------------------- formats
MAGIC = {"image/png": b"\x89PNG", "image/jpeg": b"\xff\xd8", "image/svg+xml": b"<svg", "application/pdf": b"%PDF"}


def test_getmap_formats(ogc_backend: FastCgiBackend) -> None:
    frame = Frame(WORLD, 200, 100)
    base = {"SERVICE": "WMS", "VERSION": "1.1.1", "REQUEST": "GetMap", "LAYERS": "rgb,overlays", "STYLES": "",
            "SRS": "EPSG:4326", "BBOX": "-180,-90,180,90", "WIDTH": frame.width, "HEIGHT": frame.height}  # fmt: skip
    for fmt in ogc_backend.getmap_formats:
        ctype, body = fetch(ogc_backend.url, {**base, "FORMAT": fmt})
        assert ctype.split(";")[0] == fmt.split(";")[0], (fmt, body[:300])
        magic = MAGIC[fmt.split(";")[0]]
        assert magic in body[:200], fmt
    ctype, body = fetch(ogc_backend.url, {**base, "FORMAT": "image/gif"})  # neither renders GIF
    assert not ctype.startswith("image/"), ctype


# -------------------------------------------------------------------------------------------------------- WCS
def test_wcs10_dem_values(ogc_backend: FastCgiBackend) -> None:
    bbox = (2.0, 40.0, 10.0, 48.0)  # includes the nodata block, native resolution
    w = h = round(8 / ds.DEM_RES)
    data, meta = read_tiff(get_coverage(ogc_backend, "dem", bbox, w, h))
    assert meta["dtype"] == "float32"
    assert meta["nodata"] == ds.DEM_NODATA
    assert meta["bounds"] == pytest.approx(bbox)
    c0, r0 = ds.dem_pixel(bbox[0] + ds.DEM_RES / 2, bbox[3] - ds.DEM_RES / 2)
    want = np.array([[ds.dem_value_at(c0 + c, r0 + r) for c in range(w)] for r in range(h)], dtype=np.float32)
    assert data.shape == (1, h, w)
    np.testing.assert_array_equal(data[0], want)


def test_wcs10_multiband_values(ogc_backend: FastCgiBackend) -> None:
    bbox = ds.MULTIBAND_EXTENT
    w, h = ds.MULTIBAND_SIZE
    data, meta = read_tiff(get_coverage(ogc_backend, "multiband", bbox, w, h))
    assert meta["dtype"] == "int16"
    assert data.shape == (3, h, w)
    for col, row in [(0, 0), (7, 5), (199, 0), (0, 199), (123, 77), (199, 199)]:
        assert tuple(int(v) for v in data[:, row, col]) == ds.multiband_values_at(col, row)


def test_wcs20_dem_subset_on_mapserver(mapserver: FastCgiBackend) -> None:
    params = [("SERVICE", "WCS"), ("VERSION", "2.0.1"), ("REQUEST", "GetCoverage"), ("COVERAGEID", "dem"),
              ("SUBSET", "Long(2,4)"), ("SUBSET", "Lat(44,46)"), ("FORMAT", "image/tiff")]  # fmt: skip
    ctype, body = fetch(mapserver.url, params)
    assert ctype.startswith("image/tiff"), body[:500]
    data, meta = read_tiff(body)
    assert meta["nodata"] == ds.DEM_NODATA
    assert meta["bounds"] == pytest.approx((2.0, 44.0, 4.0, 46.0))
    c0, r0 = ds.dem_pixel(2.0 + ds.DEM_RES / 2, 46.0 - ds.DEM_RES / 2)
    assert data[0, 0, 0] == ds.dem_value_at(c0, r0)
    assert data[0, -1, -1] == ds.dem_value_at(c0 + 99, r0 + 99)


# ------------------------------------------------------------------------------------- ImageServer coverages
NS = {
    "wcs": "http://www.opengis.net/wcs",
    "gml": "http://www.opengis.net/gml",
    "wcs20": "http://www.opengis.net/wcs/2.0",
    "gml32": "http://www.opengis.net/gml/3.2",
    "swe": "http://www.opengis.net/swe/2.0",
    "ows20": "http://www.opengis.net/ows/2.0",
}
BAND_NAMES = {
    **{name: ("temperature",) for name in (*ds.TEMP_COVERAGE_LAYERS.values(), ds.TEMP_COVERAGE_TIME_NAME)},
    "rgbcov": ds.RGBCOV_BAND_NAMES,
    "bands4": ds.BANDS4_BAND_NAMES,
}
NODATA: dict[str, float | None] = {
    **{name: ds.TEMP_COVERAGE_NODATA for name in (*ds.TEMP_COVERAGE_LAYERS.values(), ds.TEMP_COVERAGE_TIME_NAME)},
    "rgbcov": None,
    "bands4": ds.BANDS4_NODATA,
}
GRIDS = {  # coverage: (extent, resolution, (width, height))
    **{
        name: (ds.TEMP_COVERAGE_EXTENT, ds.TEMP_COVERAGE_RES, ds.TEMP_COVERAGE_SIZE)
        for name in (*ds.TEMP_COVERAGE_LAYERS.values(), ds.TEMP_COVERAGE_TIME_NAME)
    },
    "rgbcov": (ds.RGBCOV_EXTENT, ds.RGBCOV_RES, ds.RGBCOV_SIZE),
    "bands4": (ds.BANDS4_EXTENT, ds.BANDS4_RES, ds.BANDS4_SIZE),
}


def xml(body: bytes) -> ET.Element:
    assert b"Exception" not in body[:1000], body[:1000]
    return ET.fromstring(body)


def temp_grid(date_index: int, c0: int, r0: int, w: int, h: int) -> np.ndarray:
    """Expected (1, h, w) tempcov values from pixel (c0, r0)."""
    rows = [[ds.temp_value_at(date_index, c0 + c, r0 + r) for c in range(w)] for r in range(h)]
    return np.array(rows, dtype=np.float32)[None]


def bands_grid(fn: Callable[[int, int], tuple[int, ...]], w: int, h: int) -> np.ndarray:
    """Expected (bands, h, w) values of a whole coverage, band-first like rasterio."""
    return np.array([[fn(c, r) for c in range(w)] for r in range(h)]).transpose(2, 0, 1)


def wcs20(backend: FastCgiBackend, request: str, *params: tuple[str, str]) -> tuple[str, bytes]:
    return fetch(backend.url, [("SERVICE", "WCS"), ("VERSION", "2.0.1"), ("REQUEST", request), *params])


def test_wcs_capabilities_list_the_image_coverages(ogc_backend: FastCgiBackend) -> None:
    expected = {*ds.WCS_COVERAGES, *ds.IMAGE_COVERAGES}
    if ogc_backend.raster_time:
        expected |= set(ds.MAPSERVER_ONLY_COVERAGES)
    _, body = fetch(ogc_backend.url, {"SERVICE": "WCS", "VERSION": "1.0.0", "REQUEST": "GetCapabilities"})
    briefs = xml(body).findall(".//wcs:CoverageOfferingBrief", NS)
    assert {b.findtext("wcs:name", namespaces=NS) for b in briefs} == expected
    if "2.0.1" in ogc_backend.wcs_versions:  # a tile index without wcs_extent/wcs_size/... breaks all of 2.0.1
        _, body = wcs20(ogc_backend, "GetCapabilities")
        ids = {e.text for e in xml(body).findall(".//wcs20:CoverageSummary/wcs20:CoverageId", NS)}
        assert ids == expected


@pytest.mark.parametrize("coverage", [*ds.IMAGE_COVERAGES, ds.TEMP_COVERAGE_TIME_NAME])
def test_wcs10_describe_image_coverage(ogc_backend: FastCgiBackend, coverage: str) -> None:
    extent, res, (w, h) = GRIDS[coverage]
    params = {"SERVICE": "WCS", "VERSION": "1.0.0", "REQUEST": "DescribeCoverage", "COVERAGE": coverage}
    offering = xml(fetch(ogc_backend.url, params)[1]).find("wcs:CoverageOffering", NS)
    if coverage in ds.MAPSERVER_ONLY_COVERAGES and not ogc_backend.raster_time:
        assert offering is None  # QGIS 3.22 has no raster TIME: the time-enabled coverage is MapServer's only
        return
    assert offering is not None
    pos = [e.text for e in offering.findall("wcs:lonLatEnvelope/gml:pos", NS)]
    assert [float(v) for p in pos for v in str(p).split()] == pytest.approx(extent)
    high = offering.findtext(".//gml:GridEnvelope/gml:high", namespaces=NS)
    off_by_one = 1 if ogc_backend.kind == "qgis" else 0  # QGIS gives the size as the highest index
    assert [int(v) for v in str(high).split()] == [w - 1 + off_by_one, h - 1 + off_by_one]
    # Neither gives the centre of the first pixel: MapServer the north-west corner, QGIS the south-west corner with
    # a northward second offset vector.
    origin = [float(v) for v in str(offering.findtext(".//gml:origin/gml:pos", namespaces=NS)).split()]
    offsets = [float(v) for e in offering.findall(".//gml:offsetVector", NS) for v in str(e.text).split()]
    if ogc_backend.kind == "mapserver":
        assert origin == pytest.approx([extent[0], extent[3]]) and offsets == pytest.approx([res, 0, 0, -res])
    else:
        assert origin == pytest.approx([extent[0], extent[1]]) and offsets == pytest.approx([res, 0, 0, res])
    formats = [e.text for e in offering.findall("wcs:supportedFormats/wcs:formats", NS)]
    assert formats == [ds.MAPSERVER_WCS_FORMATS[coverage] if ogc_backend.kind == "mapserver" else ds.QGIS_WCS_FORMAT]
    nulls = [float(str(e.text)) for e in offering.findall(".//wcs:nullValues/wcs:singleValue", NS)]
    if ogc_backend.kind == "mapserver":
        assert nulls == ([] if NODATA[coverage] is None else [NODATA[coverage]])
    else:
        assert nulls == []  # QGIS never lists null values (its GeoTIFFs carry nodata all the same)
    bands = offering.findall(".//wcs:AxisDescription/wcs:values/wcs:singleValue", NS)
    if ogc_backend.kind == "qgis" or len(BAND_NAMES[coverage]) > 1:  # MapServer: only with wcs_rangeset_axes
        assert [int(str(b.text)) for b in bands] == list(range(1, len(BAND_NAMES[coverage]) + 1))
    times = [e.text for e in offering.findall("wcs:domainSet/wcs:temporalDomain/gml:timePosition", NS)]
    assert times == (list(ds.TEMP_COVERAGE_DATES) if coverage == ds.TEMP_COVERAGE_TIME_NAME else [])


@pytest.mark.parametrize("date", ds.TEMP_COVERAGE_DATES)
def test_wcs10_tempcov_values(ogc_backend: FastCgiBackend, date: str) -> None:
    name, i = ds.TEMP_COVERAGE_LAYERS[date], ds.TEMP_COVERAGE_DATES.index(date)
    w, h = ds.TEMP_COVERAGE_SIZE
    data, meta = read_tiff(get_coverage(ogc_backend, name, ds.TEMP_COVERAGE_EXTENT, w, h))
    assert (meta["dtype"], meta["nodata"]) == ("float32", ds.TEMP_COVERAGE_NODATA)
    assert meta["bounds"] == pytest.approx(ds.TEMP_COVERAGE_EXTENT)
    np.testing.assert_array_equal(data, temp_grid(i, 0, 0, w, h))
    c0, c1, r0, r1 = ds.TEMP_COVERAGE_NODATA_BLOCK
    assert (data[0, r0:r1, c0:c1] == ds.TEMP_COVERAGE_NODATA).all()
    assert ((data[0] // 1000 == i) | (data[0] == ds.TEMP_COVERAGE_NODATA)).all()


def test_wcs10_tempcov_time_on_mapserver(mapserver: FastCgiBackend) -> None:
    bbox = (22.0, 44.0, 26.0, 48.0)  # pixels 40..119, 40..119 at native resolution
    w = h = round(4 / ds.TEMP_COVERAGE_RES)
    c0, r0 = ds.temp_pixel(bbox[0] + ds.TEMP_COVERAGE_RES / 2, bbox[3] - ds.TEMP_COVERAGE_RES / 2)
    name = ds.TEMP_COVERAGE_TIME_NAME
    for i, date in enumerate(ds.TEMP_COVERAGE_DATES):
        data, meta = read_tiff(get_coverage(mapserver, name, bbox, w, h, TIME=date))
        assert (meta["dtype"], meta["nodata"]) == ("float32", ds.TEMP_COVERAGE_NODATA)
        np.testing.assert_array_equal(data, temp_grid(i, c0, r0, w, h), err_msg=date)
    data, _ = read_tiff(get_coverage(mapserver, name, bbox, w, h, TIME="2020-04-01T00:00:00Z"))
    assert data[0, 0, 0] == ds.temp_value_at(1, c0, r0)
    data, _ = read_tiff(get_coverage(mapserver, name, bbox, w, h))  # no TIME: the last tile of the index wins
    assert data[0, 0, 0] == ds.temp_value_at(ds.TEMP_COVERAGE_DATES.index(ds.TEMP_COVERAGE_DEFAULT_DATE), c0, r0)
    base = {"SERVICE": "WCS", "VERSION": "1.0.0", "REQUEST": "GetCoverage", "COVERAGE": name, "CRS": "EPSG:4326",
            "BBOX": "22,44,26,48", "WIDTH": w, "HEIGHT": h, "FORMAT": ds.MAPSERVER_WCS_FORMATS[name]}  # fmt: skip
    for time, message in [("2020-05-01", b"does not have a time position"),
                          ("2020-01-01/2020-10-01", b"Temporal ranges are not supported")]:  # fmt: skip
        ctype, body = fetch(mapserver.url, {**base, "TIME": time})
        assert not ctype.startswith("image/") and message in body, body[:500]


def test_wcs20_ignores_time_on_mapserver(mapserver: FastCgiBackend) -> None:
    """2.0.1: a TIME parameter is ignored (the last tile wins) and SUBSET on a time axis is refused."""
    name = ds.TEMP_COVERAGE_TIME_NAME
    ctype, body = wcs20(mapserver, "GetCoverage", ("COVERAGEID", name), ("FORMAT", "image/tiff"),
                        ("SUBSET", "Long(20,21)"), ("SUBSET", "Lat(49,50)"), ("TIME", "2020-04-01"))  # fmt: skip
    assert ctype.startswith("image/tiff"), body[:500]
    data, _ = read_tiff(body)
    assert data[0, 0, 0] == ds.temp_value_at(ds.TEMP_COVERAGE_DATES.index(ds.TEMP_COVERAGE_DEFAULT_DATE), 0, 0)
    _, body = wcs20(mapserver, "GetCoverage", ("COVERAGEID", name), ("FORMAT", "image/tiff"),
                    ("SUBSET", "time(2020-04-01)"))  # fmt: skip
    assert b"InvalidSubsetting" in body, body[:500]
    _, body = wcs20(mapserver, "DescribeCoverage", ("COVERAGEID", name))
    assert b"2020-04-01" not in body  # no temporal domain in 2.0.1


def test_wcs10_rgbcov_values(ogc_backend: FastCgiBackend) -> None:
    w, h = ds.RGBCOV_SIZE
    data, meta = read_tiff(get_coverage(ogc_backend, "rgbcov", ds.RGBCOV_EXTENT, w, h))
    assert (meta["dtype"], meta["nodata"]) == ("uint8", None)
    assert meta["bounds"] == pytest.approx(ds.RGBCOV_EXTENT)
    np.testing.assert_array_equal(data, bands_grid(ds.rgbcov_values_at, w, h))
    lon, lat = -5.0, 45.0
    assert tuple(data[:, ds.rgbcov_pixel(lon, lat)[1], ds.rgbcov_pixel(lon, lat)[0]]) == ds.rgb_colour_at(lon, lat)


def test_wcs10_bands4_values_and_ndvi(ogc_backend: FastCgiBackend) -> None:
    w, h = ds.BANDS4_SIZE
    data, meta = read_tiff(get_coverage(ogc_backend, "bands4", ds.BANDS4_EXTENT, w, h))
    assert (meta["dtype"], meta["nodata"]) == ("int16", ds.BANDS4_NODATA)
    assert meta["bounds"] == pytest.approx(ds.BANDS4_EXTENT)
    np.testing.assert_array_equal(data, bands_grid(ds.bands4_values_at, w, h))
    red, nir = data[2].astype(np.float64), data[3].astype(np.float64)
    valid = data[2] != ds.BANDS4_NODATA
    ndvi = np.where(valid, (nir - red) / np.where(valid, nir + red, 1), np.nan)
    for c0, c1, value in ds.BANDS4_NDVI_ZONES:
        zone = ndvi[:, c0:c1]
        np.testing.assert_allclose(zone[~np.isnan(zone)], value, atol=1e-12)
    c0, c1, r0, r1 = ds.BANDS4_NODATA_BLOCK
    assert np.isnan(ndvi[r0:r1, c0:c1]).all() and np.isnan(ndvi).sum() == (c1 - c0) * (r1 - r0)
    assert ds.bands4_ndvi_at(*ds.bands4_pixel(47.0, 45.0)) == 0.5  # nir > red in the east half


def test_wcs10_band_subsets(ogc_backend: FastCgiBackend) -> None:
    """MapServer honours BANDS (in the order asked) where the layer has ``wcs_rangeset_axes``; QGIS ignores it."""
    w, h = ds.BANDS4_SIZE
    data, _ = read_tiff(get_coverage(ogc_backend, "bands4", ds.BANDS4_EXTENT, w, h, BANDS="4,3"))
    col, row = 150, 60
    values = ds.bands4_values_at(col, row)
    if ogc_backend.kind == "mapserver":
        assert tuple(data[:, row, col]) == (values[3], values[2])  # nir, red
        w, h = ds.RGBCOV_SIZE
        data, _ = read_tiff(get_coverage(ogc_backend, "rgbcov", ds.RGBCOV_EXTENT, w, h, BANDS="3"))
        assert data.shape == (1, h, w) and data[0, 5, 5] == ds.rgbcov_values_at(5, 5)[2]
    else:
        assert tuple(data[:, row, col]) == values


def test_wcs10_outside_the_extent(ogc_backend: FastCgiBackend) -> None:
    """Pixels beyond the data are nodata (0 for rgbcov, whose GeoTIFF says so on QGIS only)."""
    data, meta = read_tiff(get_coverage(ogc_backend, "bands4", (39.0, 40.0, 50.0, 50.0), 220, 200))
    assert (data[:, :, :20] == ds.BANDS4_NODATA).all() and meta["nodata"] == ds.BANDS4_NODATA
    assert tuple(data[:, 0, 20]) == ds.bands4_values_at(0, 0)
    data, meta = read_tiff(get_coverage(ogc_backend, "tempcov_20200401", (19.0, 40.0, 30.0, 50.0), 220, 200))
    assert (data[0, :, :20] == ds.TEMP_COVERAGE_NODATA).all() and data[0, 0, 20] == ds.temp_value_at(1, 0, 0)
    data, meta = read_tiff(get_coverage(ogc_backend, "rgbcov", (-15.0, 30.0, 10.0, 50.0), 100, 80))
    assert (data[:, :, :20] == 0).all()
    assert meta["nodata"] == (0 if ogc_backend.kind == "qgis" else None)


@pytest.mark.parametrize("coverage", [*ds.IMAGE_COVERAGES, ds.TEMP_COVERAGE_TIME_NAME])
def test_wcs20_describe_image_coverage_on_mapserver(mapserver: FastCgiBackend, coverage: str) -> None:
    extent, res, (w, h) = GRIDS[coverage]
    _, body = wcs20(mapserver, "DescribeCoverage", ("COVERAGEID", coverage))
    desc = xml(body).find("wcs20:CoverageDescription", NS)
    assert desc is not None
    env = desc.find("gml32:boundedBy/gml32:Envelope", NS)
    assert env is not None and env.get("axisLabels") == "lat long"  # EPSG:4326 axis order, latitude first
    lower = [float(v) for v in str(env.findtext("gml32:lowerCorner", namespaces=NS)).split()]
    assert lower == pytest.approx([extent[1], extent[0]])
    grid = desc.find("gml32:domainSet/gml32:RectifiedGrid", NS)
    assert grid is not None
    assert grid.findtext("gml32:axisLabels", namespaces=NS) == "long lat"  # ... but the grid says long lat
    assert grid.findtext(".//gml32:high", namespaces=NS) == f"{w - 1} {h - 1}"
    origin = [float(v) for v in str(grid.findtext(".//gml32:origin//gml32:pos", namespaces=NS)).split()]
    assert origin == pytest.approx([extent[3] - res / 2, extent[0] + res / 2])  # lat, lon of the first centre
    fields = desc.findall(".//swe:DataRecord/swe:field", NS)
    assert tuple(f.get("name") for f in fields) == BAND_NAMES[coverage]
    nils = {float(str(e.text)) for e in desc.findall(".//swe:nilValue", NS)}
    assert nils == (set() if NODATA[coverage] is None else {NODATA[coverage]})


@pytest.mark.parametrize(
    ("coverage", "subset", "dtype"),
    [
        ("tempcov_20200701", ((21.0, 23.0), (45.0, 47.0)), "float32"),
        ("rgbcov", ((-10.0, 0.0), (40.0, 50.0)), "uint8"),
        ("bands4", ((40.0, 50.0), (40.0, 45.0)), "int16"),
    ],
)
def test_wcs20_getcoverage_on_mapserver(
    mapserver: FastCgiBackend, coverage: str, subset: tuple[tuple[float, float], ...], dtype: str
) -> None:
    (x0, x1), (y0, y1) = subset
    extent, res, _ = GRIDS[coverage]
    ctype, body = wcs20(mapserver, "GetCoverage", ("COVERAGEID", coverage),
                        ("FORMAT", ds.MAPSERVER_WCS_FORMATS[coverage]),
                        ("SUBSET", f"Long({x0:g},{x1:g})"), ("SUBSET", f"Lat({y0:g},{y1:g})"))  # fmt: skip
    assert ctype.startswith("image/tiff"), body[:500]
    data, meta = read_tiff(body)
    assert (meta["dtype"], meta["nodata"]) == (dtype, NODATA[coverage])
    assert meta["bounds"] == pytest.approx((x0, y0, x1, y1))
    w, h = round((x1 - x0) / res), round((y1 - y0) / res)
    assert data.shape == (len(BAND_NAMES[coverage]), h, w)
    c0, r0 = round((x0 - extent[0]) / res), round((extent[3] - y1) / res)
    if coverage == "tempcov_20200701":
        np.testing.assert_array_equal(data, temp_grid(2, c0, r0, w, h))
    else:
        fn = ds.rgbcov_values_at if coverage == "rgbcov" else ds.bands4_values_at
        for col, row in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1), (w // 3, h // 2)]:
            assert tuple(data[:, row, col]) == fn(c0 + col, r0 + row), (col, row)


def test_wcs20_rangesubset_and_formats_on_mapserver(mapserver: FastCgiBackend) -> None:
    col, row = 150, 60
    values = ds.bands4_values_at(col, row)
    for rangesubset, want in [("nir,red", (values[3], values[2])), ("4,3", (values[3], values[2])),
                              ("green:nir", values[1:])]:  # fmt: skip
        ctype, body = wcs20(mapserver, "GetCoverage", ("COVERAGEID", "bands4"), ("FORMAT", "GEOTIFF_INT16_NODATA0"),
                            ("RANGESUBSET", rangesubset))  # fmt: skip
        assert ctype.startswith("image/tiff"), body[:500]
        data, _ = read_tiff(body)
        assert tuple(data[:, row, col]) == want, rangesubset
    # image/tiff is the first format (Float32, nodata -9999) whatever the coverage
    _, body = wcs20(mapserver, "GetCoverage", ("COVERAGEID", "rgbcov"), ("FORMAT", "image/tiff"))
    data, meta = read_tiff(body)
    assert (meta["dtype"], meta["nodata"]) == ("float32", -9999.0)
    assert tuple(data[:, 0, 0]) == ds.rgbcov_values_at(0, 0)
    # 2.0.1 writes only the format's NULLVALUE: GEOTIFF_INT16 has none (1.0.0 takes wcs_rangeset_nullvalue)
    _, body = wcs20(mapserver, "GetCoverage", ("COVERAGEID", "bands4"), ("FORMAT", "GEOTIFF_INT16"))
    assert read_tiff(body)[1]["nodata"] is None
    w, h = ds.BANDS4_SIZE
    _, meta = read_tiff(get_coverage(mapserver, "bands4", ds.BANDS4_EXTENT, w, h, FORMAT="GEOTIFF_INT16"))
    assert meta["nodata"] == ds.BANDS4_NODATA


def _grey(value: float, lo: float, hi: float) -> tuple[int, int, int]:
    g = min(max(round(255 * (value - lo) / (hi - lo)), 0), 255)
    return (g, g, g)


def test_image_coverage_wms_previews(ogc_backend: FastCgiBackend) -> None:
    frame = Frame((-20.0, 30.0, 60.0, 60.0), 320, 120)
    points = [(22.1, 47.9), (29.3, 40.6), (25.0, 45.0)]
    for i, name in enumerate(ds.TEMP_COVERAGE_LAYERS.values()):
        img = get_map(ogc_backend, name, frame)
        for lon, lat in points:
            want = _grey(ds.temp_value_at(i, *ds.temp_pixel(lon, lat)), *ds.TEMP_COVERAGE_DISPLAY_RANGE)
            assert colour(img, frame, lon, lat) == pytest.approx(want, abs=2), (name, lon, lat)
        assert colour(img, frame, 28.0, 48.5) == WHITE  # nodata block
        assert colour(img, frame, 35.0, 45.0) == WHITE
    img = get_map(ogc_backend, "rgbcov", frame)
    for lon, lat in [(-9.0, 31.0), (0.0, 45.0), (9.0, 49.0)]:
        assert colour(img, frame, lon, lat) == ds.rgb_colour_at(lon, lat)
    assert colour(img, frame, -15.0, 35.0) == WHITE
    img = get_map(ogc_backend, "bands4", frame)
    lo, hi = ds.BANDS4_DISPLAY_RANGE
    for lon, lat in [(41.1, 48.9), (47.0, 45.0), (49.6, 40.4)]:
        values = ds.bands4_values_at(*ds.bands4_pixel(lon, lat))
        rgb = tuple(_grey(values[b - 1], lo, hi)[0] for b in ds.BANDS4_DISPLAY_BANDS)
        assert colour(img, frame, lon, lat) == pytest.approx(rgb, abs=3), (lon, lat)
    assert colour(img, frame, 41.0, 41.0) == WHITE  # nodata block


def test_tempcov_wms_time_on_mapserver(mapserver: FastCgiBackend) -> None:
    frame = Frame((20.0, 40.0, 30.0, 50.0), 200, 200)  # native resolution
    lon, lat = 22.025, 47.975
    for i, date in enumerate(ds.TEMP_COVERAGE_DATES):
        img = get_map(mapserver, ds.TEMP_COVERAGE_TIME_NAME, frame, TIME=date)
        want = _grey(ds.temp_value_at(i, *ds.temp_pixel(lon, lat)), *ds.TEMP_COVERAGE_DISPLAY_RANGE)
        assert colour(img, frame, lon, lat) == pytest.approx(want, abs=1), date
    img = get_map(mapserver, ds.TEMP_COVERAGE_TIME_NAME, frame)
    default = ds.TEMP_COVERAGE_DATES.index(ds.TEMP_COVERAGE_DEFAULT_DATE)
    want = _grey(ds.temp_value_at(default, *ds.temp_pixel(lon, lat)), *ds.TEMP_COVERAGE_DISPLAY_RANGE)
    assert colour(img, frame, lon, lat) == pytest.approx(want, abs=1)
