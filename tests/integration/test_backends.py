"""The real backends serve what tests/backends/dataspec.py says: layers, colours, CRS, FILTER, TIME, WCS values."""

from __future__ import annotations

import functools
import io
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
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


def get_coverage(backend: FastCgiBackend, coverage: str, bbox: tuple[float, ...], width: int, height: int) -> bytes:
    """WCS 1.0.0 GetCoverage in the native CRS as GeoTIFF (named formats: see the mapfile's OUTPUTFORMATs)."""
    if backend.kind == "mapserver":
        fmt = "GEOTIFF_INT16" if coverage == "multiband" else "GEOTIFF_FLOAT32"
    else:
        fmt = "GeoTIFF"
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
    }
    ctype, body = fetch(backend.url, params)
    assert ctype.startswith("image/tiff"), body[:800]
    return body


# ----------------------------------------------------------------------------------------------- capabilities
@pytest.mark.parametrize("version", ["1.1.1", "1.3.0"])
def test_capabilities_list_the_layers(ogc_backend: FastCgiBackend, version: str) -> None:
    wms = WebMapService(ogc_backend.url, version=version, timeout=30)
    assert wms.identification.title == ds.MAP_TITLE
    expected = {*ds.WMS_LAYERS, ds.GROUP_NAME, ds.ROOT_LAYER_NAME}
    if not ogc_backend.raster_time:
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
