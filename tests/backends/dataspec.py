"""What the generated test data contains, as constants and pure functions.

Tests compute expected colours and values from here without reading any file. Everything is pure Python (no numpy)
so that Debian's ``/usr/bin/python3`` can import it too when it writes the QGIS project.

Layers (the WMS names are the same on MapServer and QGIS Server):

==============  ==========================================================================================
``rgb``         EPSG:4326 global RGB raster of 10°x10° uniform cells, colour :func:`rgb_colour_at`
``regions``     non-overlapping axis-aligned rectangles (:data:`REGIONS`), filled by category
``cities``      points (:data:`CITIES`) drawn as 10 px filled squares, colour by category
``overlays``    named group: ``regions`` and ``cities`` (cities drawn on top)
``temperature`` time-enabled raster (MapServer only): one uniform colour per date (:data:`TEMPERATURE_COLOURS`)
``events``      time-enabled points (:data:`EVENTS`), 10 px squares in :data:`EVENT_COLOUR`
``dem``         Float32 elevation, :func:`dem_value_at`, nodata :data:`DEM_NODATA` in :data:`DEM_NODATA_BLOCK`
``multiband``   3-band Int16, :func:`multiband_values_at`
``tempcov_*``   one Float32 coverage per date of :data:`TEMP_COVERAGE_DATES` (:data:`TEMP_COVERAGE_LAYERS`),
                :func:`temp_value_at`, nodata :data:`TEMP_COVERAGE_NODATA` in :data:`TEMP_COVERAGE_NODATA_BLOCK`
``tempcov``     the same four rasters as one time-enabled coverage (MapServer only, WMS and WCS 1.0.0 TIME)
``rgbcov``      3-band uint8 crop of ``rgb`` (:data:`RGBCOV_EXTENT`), :func:`rgbcov_values_at`, no nodata
``bands4``      4-band Int16 blue/green/red/nir, :func:`bands4_values_at`, NDVI :func:`bands4_ndvi_at`,
                nodata :data:`BANDS4_NODATA` in :data:`BANDS4_NODATA_BLOCK`
==============  ==========================================================================================

QGIS Server 3.22 has no raster TIME: it publishes ``temperature_20200101`` … (:data:`QGIS_TEMPERATURE_LAYERS`)
instead of ``temperature``, and has no ``tempcov`` (the per-date ``tempcov_*`` coverages exist on both servers).
Every coverage is also a WMS layer of the same name (a rendered preview).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

Colour = tuple[int, int, int]
BBox = tuple[float, float, float, float]  # minx, miny, maxx, maxy (lon/lat)

# ---------------------------------------------------------------------------------------------- map and service
MAP_TITLE = "arcbridge test map"
MAP_ABSTRACT = "Synthetic layers with known colours and values for the arcbridge gateway tests."
ROOT_LAYER_NAME = "arcbridge"
ATTRIBUTION = "arcbridge test data (c) the arcbridge authors, CC0"
ACCESS_CONSTRAINTS = "none"
BACKGROUND: Colour = (255, 255, 255)
WMS_CRS = ("EPSG:4326", "EPSG:3857", "EPSG:32633")
"""CRS the WMS servers offer; EPSG:3395 and ESRI:102004 are left out on purpose (the gateway must warp)."""

FILES = {  # file names under the data dir
    "rgb": "rgb.tif",
    "regions": "regions.geojson",
    "cities": "cities.geojson",
    "events": "events.geojson",
    "temperature_index": "temperature_index.geojson",
    "dem": "dem.tif",
    "multiband": "multiband.tif",
    "tempcov_index": "tempcov_index.geojson",
    "rgbcov": "rgbcov.tif",
    "bands4": "bands4.tif",
    "mapfile": "arcbridge.map",
    "mapserver_config": "mapserver.conf",
    "qgis_project": "arcbridge.qgs",
}

# ------------------------------------------------------------------------------------------------------- rgb
RGB_EXTENT: BBox = (-180.0, -90.0, 180.0, 90.0)
RGB_RES = 0.25
RGB_SIZE = (1440, 720)  # width, height
RGB_CELL = 10.0  # degrees; colours are uniform in each cell


def rgb_cell(lon: float, lat: float) -> tuple[int, int]:
    """Return the (column, row) of the 10° cell holding ``lon, lat`` (row 0 at the north)."""
    c = min(max(math.floor((lon + 180.0) / RGB_CELL), 0), 35)
    r = min(max(math.floor((90.0 - lat) / RGB_CELL), 0), 17)
    return c, r


def rgb_cell_colour(c: int, r: int) -> Colour:
    """Colour of cell column ``c`` (0..35) and row ``r`` (0..17)."""
    return (7 * c + 3, 14 * r + 3, 200)


def rgb_colour_at(lon: float, lat: float) -> Colour:
    """Colour of the ``rgb`` raster at a lon/lat position."""
    return rgb_cell_colour(*rgb_cell(lon, lat))


def rgb_cell_centre(c: int, r: int) -> tuple[float, float]:
    """Lon/lat of the centre of cell (c, r)."""
    return (-180.0 + (c + 0.5) * RGB_CELL, 90.0 - (r + 0.5) * RGB_CELL)


# --------------------------------------------------------------------------------------------------- regions
@dataclass(frozen=True)
class Region:
    """One rectangle of the ``regions`` layer."""

    id: int
    name: str
    category: str  # 'A' or 'B'
    population: int
    established: str  # YYYY-MM-DD
    bbox: BBox

    def contains(self, lon: float, lat: float) -> bool:
        """Whether the point is inside (or on the edge of) the rectangle."""
        return self.bbox[0] <= lon <= self.bbox[2] and self.bbox[1] <= lat <= self.bbox[3]

    @property
    def centre(self) -> tuple[float, float]:
        """Centre of the rectangle."""
        return ((self.bbox[0] + self.bbox[2]) / 2, (self.bbox[1] + self.bbox[3]) / 2)


REGIONS: tuple[Region, ...] = (
    Region(1, "Nordland", "A", 250_000, "1901-05-17", (5.0, 58.0, 25.0, 70.0)),
    Region(2, "Cote d'Or", "B", 1_530_000, "1790-03-04", (-5.0, 42.0, 10.0, 50.0)),
    Region(3, "Sahara Sud", "A", 8_000_000, "1960-08-03", (-10.0, 10.0, 20.0, 25.0)),
    Region(4, "Cape Plains", "B", 42_000, "1910-05-31", (15.0, -35.0, 35.0, -20.0)),
    Region(5, "Prairie", "A", 3_100_000, "1867-07-01", (-110.0, 35.0, -90.0, 50.0)),
    Region(6, "Pampa Húmeda", "B", 670_000, "1853-05-01", (-70.0, -40.0, -55.0, -25.0)),
)
REGION_COLOURS: dict[str, Colour] = {"A": (230, 30, 30), "B": (30, 30, 230)}
REGIONS_EXTENT: BBox = (-110.0, -40.0, 35.0, 70.0)


def region_at(lon: float, lat: float) -> Region | None:
    """The region containing the point, if any."""
    return next((r for r in REGIONS if r.contains(lon, lat)), None)


def region_colour_at(lon: float, lat: float) -> Colour | None:
    """Fill colour of the region at the point, or None outside all regions."""
    region = region_at(lon, lat)
    return REGION_COLOURS[region.category] if region else None


def regions_where(pred: Callable[[Region], bool]) -> set[int]:
    """Ids of the regions for which ``pred(region)`` is true."""
    return {r.id for r in REGIONS if pred(r)}


# ---------------------------------------------------------------------------------------------------- cities
@dataclass(frozen=True)
class City:
    """One point of the ``cities`` layer (also used for ``events``' geometry)."""

    id: int
    name: str
    category: str  # 'capital' or 'town'
    pop: int
    lon: float
    lat: float


CITIES: tuple[City, ...] = (
    City(1, "Northhaven", "capital", 640_000, 15.0, 64.0),  # in Nordland
    City(2, "Dijonville", "town", 150_000, 3.0, 46.0),  # in Cote d'Or
    City(3, "Sandtown", "town", 12_000, 5.0, 17.0),  # in Sahara Sud
    City(4, "Cape Haven", "capital", 2_400_000, 25.0, -28.0),  # in Cape Plains
    City(5, "Plainsburg", "town", 85_000, -100.0, 42.0),  # in Prairie
    City(6, "Lone Harbor", "capital", 9_000, -40.0, 0.0),  # outside every region
    City(7, "Outpost", "town", 1_200, 60.0, 30.0),  # outside every region
    City(8, "Pampa Town", "town", 33_000, -62.0, -32.0),  # in Pampa Húmeda
)
CITY_COLOURS: dict[str, Colour] = {"capital": (20, 200, 20), "town": (250, 250, 0)}
SYMBOL_SIZE_PX = 10
"""Cities and events are filled squares this many pixels wide, centred on the point."""

# ------------------------------------------------------------------------------------------------ temperature
TEMPERATURE_EXTENT: BBox = (0.0, 30.0, 40.0, 60.0)
TEMPERATURE_RES = 0.5
TEMPERATURE_DATES: tuple[str, ...] = ("2020-01-01", "2020-04-01", "2020-07-01", "2020-10-01")
TEMPERATURE_COLOURS: dict[str, Colour] = {
    "2020-01-01": (250, 0, 0),
    "2020-04-01": (0, 250, 0),
    "2020-07-01": (0, 0, 250),
    "2020-10-01": (250, 250, 250),
}
TEMPERATURE_TIME_EXTENT = "2020-01-01/2020-10-01/P3M"
TEMPERATURE_DEFAULT_DATE = "2020-10-01"
"""MapServer's ``wms_timedefault`` for ``temperature`` (used when a GetMap has no TIME)."""
QGIS_TEMPERATURE_LAYERS: dict[str, str] = {d: "temperature_" + d.replace("-", "") for d in TEMPERATURE_DATES}


def temperature_file(date: str) -> str:
    """File name of the temperature raster of one date."""
    return "temperature_" + date.replace("-", "") + ".tif"


# ----------------------------------------------------------------------------------------------------- events
@dataclass(frozen=True)
class Event:
    """One point of the time-enabled ``events`` layer."""

    id: int
    name: str
    date: str  # YYYY-MM-DD
    lon: float
    lat: float


EVENTS: tuple[Event, ...] = (
    Event(1, "Flood", "2020-01-15", 5.0, 35.0),
    Event(2, "Storm", "2020-03-01", 12.0, 38.0),
    Event(3, "Quake", "2020-03-01", 20.0, 45.0),
    Event(4, "Fire", "2020-06-10", 28.0, 50.0),
    Event(5, "Drought", "2020-09-20", 35.0, 55.0),
    Event(6, "Snow", "2020-12-01", 2.0, 55.0),
)
EVENT_COLOUR: Colour = (255, 0, 255)
EVENTS_TIME_EXTENT = "2020-01-01/2020-12-31"
EVENTS_EXTENT: BBox = (2.0, 35.0, 35.0, 55.0)


def events_between(start: str, end: str | None = None) -> set[int]:
    """Ids of the events dated in [start, end] (ISO dates compare as strings); one date if ``end`` is None."""
    end = start if end is None else end
    return {e.id for e in EVENTS if start <= e.date <= end}


# -------------------------------------------------------------------------------------------------------- dem
DEM_EXTENT: BBox = (0.0, 40.0, 10.0, 50.0)
DEM_RES = 0.02
DEM_SIZE = (500, 500)  # width, height
DEM_NODATA = -9999.0
DEM_NODATA_BLOCK = (400, 450, 400, 450)
"""col_start, col_stop, row_start, row_stop (stop exclusive): lon 8..9, lat 41..42 is nodata."""
DEM_DISPLAY_RANGE = (-150.0, 1100.0)
"""The WMS ``dem`` layer maps this value range linearly to grey 0..255."""


def dem_value_at(col: int, row: int) -> float:
    """Value of the dem pixel (col, row), row 0 at the north; nodata inside :data:`DEM_NODATA_BLOCK`.

    Ranges from -149.5 to 1098.0; every value is a multiple of 0.5, exact in Float32.
    """
    c0, c1, r0, r1 = DEM_NODATA_BLOCK
    if c0 <= col < c1 and r0 <= row < r1:
        return DEM_NODATA
    return 100.0 + 2.0 * col - 0.5 * row


def dem_pixel(lon: float, lat: float) -> tuple[int, int]:
    """(col, row) of the dem pixel containing ``lon, lat``."""
    return (math.floor((lon - DEM_EXTENT[0]) / DEM_RES), math.floor((DEM_EXTENT[3] - lat) / DEM_RES))


def dem_value(lon: float, lat: float) -> float:
    """Value of the dem at a lon/lat position."""
    return dem_value_at(*dem_pixel(lon, lat))


# -------------------------------------------------------------------------------------------------- multiband
MULTIBAND_EXTENT: BBox = (10.0, 40.0, 20.0, 50.0)
MULTIBAND_RES = 0.05
MULTIBAND_SIZE = (200, 200)
MULTIBAND_BAND_NAMES = ("band1", "band2", "band3")
MULTIBAND_DISPLAY_RANGE = (0.0, 2000.0)
"""The WMS ``multiband`` layer maps this value range of bands 1..3 to R, G, B."""


def multiband_values_at(col: int, row: int) -> tuple[int, int, int]:
    """Int16 values of bands 1, 2, 3 at pixel (col, row), row 0 at the north."""
    return (10 * col, 10 * row, col - row - 100)


def multiband_pixel(lon: float, lat: float) -> tuple[int, int]:
    """(col, row) of the multiband pixel containing ``lon, lat``."""
    return (
        math.floor((lon - MULTIBAND_EXTENT[0]) / MULTIBAND_RES),
        math.floor((MULTIBAND_EXTENT[3] - lat) / MULTIBAND_RES),
    )


# ---------------------------------------------------------------------------------------- tempcov (WCS time)
TEMP_COVERAGE_EXTENT: BBox = (20.0, 40.0, 30.0, 50.0)
TEMP_COVERAGE_RES = 0.05
TEMP_COVERAGE_SIZE = (200, 200)  # width, height
TEMP_COVERAGE_DATES: tuple[str, ...] = ("2020-01-01", "2020-04-01", "2020-07-01", "2020-10-01")
TEMP_COVERAGE_NODATA = -9999.0
TEMP_COVERAGE_NODATA_BLOCK = (150, 170, 20, 40)
"""col_start, col_stop, row_start, row_stop (stop exclusive): lon 27.5..28.5, lat 48..49 is nodata on every date."""
TEMP_COVERAGE_LAYERS: dict[str, str] = {d: "tempcov_" + d.replace("-", "") for d in TEMP_COVERAGE_DATES}
"""One Float32 coverage (and WMS layer) per date, on both servers."""
TEMP_COVERAGE_TIME_NAME = "tempcov"
"""MapServer only: the four dates as one time-enabled coverage / WMS layer (tile index ``tempcov_index``)."""
TEMP_COVERAGE_TIME_EXTENT = "2020-01-01/2020-10-01/P3M"
TEMP_COVERAGE_DEFAULT_DATE = "2020-10-01"
"""What ``tempcov`` serves without TIME: WMS by ``wms_timedefault``; WCS (1.0.0 without TIME, and 2.0.1 always,
which ignores TIME and refuses a time SUBSET) draws every tile of the index, the last one (this date) on top."""
TEMP_COVERAGE_DISPLAY_RANGE = (0.0, 4000.0)
"""The WMS ``tempcov*`` layers map this value range linearly to grey 0..255 (nodata is not drawn)."""


def temp_value_at(date_index: int, col: int, row: int) -> float:
    """Value of pixel (col, row) of the ``tempcov`` raster of ``TEMP_COVERAGE_DATES[date_index]``; row 0 at the north.

    ``1000 * date_index + col + 0.5 * row`` (0 .. 3298.5, multiples of 0.5, exact in Float32): ``value // 1000`` is
    the date index. :data:`TEMP_COVERAGE_NODATA` inside :data:`TEMP_COVERAGE_NODATA_BLOCK`.
    """
    c0, c1, r0, r1 = TEMP_COVERAGE_NODATA_BLOCK
    if c0 <= col < c1 and r0 <= row < r1:
        return TEMP_COVERAGE_NODATA
    return 1000.0 * date_index + col + 0.5 * row


def temp_pixel(lon: float, lat: float) -> tuple[int, int]:
    """(col, row) of the tempcov pixel containing ``lon, lat``."""
    return (
        math.floor((lon - TEMP_COVERAGE_EXTENT[0]) / TEMP_COVERAGE_RES),
        math.floor((TEMP_COVERAGE_EXTENT[3] - lat) / TEMP_COVERAGE_RES),
    )


def temp_coverage_file(date: str) -> str:
    """File name of the tempcov raster of one date."""
    return "tempcov_" + date.replace("-", "") + ".tif"


# ----------------------------------------------------------------------------------------------------- rgbcov
RGBCOV_EXTENT: BBox = (-10.0, 30.0, 10.0, 50.0)
RGBCOV_RES = 0.25
RGBCOV_SIZE = (80, 80)  # width, height
RGBCOV_BAND_NAMES = ("red", "green", "blue")
"""3-band uint8 (serviceDataType RGB), no nodata: pixel (col, row) of the crop of ``rgb`` whose north-west corner is
rgb pixel (680, 160)."""


def rgbcov_values_at(col: int, row: int) -> Colour:
    """uint8 values of bands red, green, blue at pixel (col, row) (row 0 at the north): the ``rgb`` colour there."""
    lon = RGBCOV_EXTENT[0] + (col + 0.5) * RGBCOV_RES
    lat = RGBCOV_EXTENT[3] - (row + 0.5) * RGBCOV_RES
    return rgb_colour_at(lon, lat)


def rgbcov_pixel(lon: float, lat: float) -> tuple[int, int]:
    """(col, row) of the rgbcov pixel containing ``lon, lat``."""
    return (math.floor((lon - RGBCOV_EXTENT[0]) / RGBCOV_RES), math.floor((RGBCOV_EXTENT[3] - lat) / RGBCOV_RES))


# ----------------------------------------------------------------------------------------------------- bands4
BANDS4_EXTENT: BBox = (40.0, 40.0, 50.0, 50.0)
BANDS4_RES = 0.05
BANDS4_SIZE = (200, 200)  # width, height
BANDS4_BAND_NAMES = ("blue", "green", "red", "nir")
"""Band order of the ``bands4`` raster (1..4), a Landsat-like Int16 scene (MapServer 8.0 has no UInt16 WCS output)."""
BANDS4_NODATA = 0
BANDS4_NODATA_BLOCK = (10, 30, 170, 190)
"""col_start, col_stop, row_start, row_stop (stop exclusive): lon 40.5..41.5, lat 40.5..41.5 is nodata in all bands."""
BANDS4_NDVI_ZONES = ((0, 50, -0.5), (50, 100, 0.0), (100, 200, 0.5))
"""(col_start, col_stop, NDVI): nir = red / 3 (water-like), nir = red, nir = 3 * red (vegetation, nir > red).
In lon: 40..42.5 is -0.5, 42.5..45 is 0, 45..50 is 0.5 (outside the nodata block)."""
BANDS4_DISPLAY_BANDS = (3, 2, 1)
BANDS4_DISPLAY_RANGE = (0.0, 3000.0)
"""The WMS ``bands4`` layer draws bands red, green, blue (3, 2, 1) as R, G, B, mapping this range to 0..255."""


def bands4_values_at(col: int, row: int) -> tuple[int, int, int, int]:
    """Int16 (blue, green, red, nir) at pixel (col, row), row 0 at the north; all :data:`BANDS4_NODATA` in the block.

    blue = 100 + 2 * col, green = 300 + 3 * row, red = 1200 + 6 * row, nir = red / 3 for col < 50, red for
    50 <= col < 100, 3 * red for col >= 100 (every value > 0, so 0 is free for nodata).
    """
    c0, c1, r0, r1 = BANDS4_NODATA_BLOCK
    if c0 <= col < c1 and r0 <= row < r1:
        return (BANDS4_NODATA,) * 4  # type: ignore[return-value]
    red = 1200 + 6 * row
    nir = red // 3 if col < 50 else red if col < 100 else 3 * red
    return (100 + 2 * col, 300 + 3 * row, red, nir)


def bands4_ndvi_at(col: int, row: int) -> float | None:
    """(nir - red) / (nir + red) at pixel (col, row): exactly -0.5, 0.0 or 0.5; None in the nodata block."""
    _, _, red, nir = bands4_values_at(col, row)
    if red == BANDS4_NODATA:
        return None
    return (nir - red) / (nir + red)


def bands4_pixel(lon: float, lat: float) -> tuple[int, int]:
    """(col, row) of the bands4 pixel containing ``lon, lat``."""
    return (math.floor((lon - BANDS4_EXTENT[0]) / BANDS4_RES), math.floor((BANDS4_EXTENT[3] - lat) / BANDS4_RES))


# ------------------------------------------------------------------------------------------------------- names
WMS_LAYERS = ("regions", "cities", "rgb", "temperature", "events", "dem", "multiband")
GROUP_NAME = "overlays"
GROUP_MEMBERS = ("regions", "cities")
WCS_COVERAGES = ("dem", "multiband")
"""The original coverages (on both servers; both are WMS layers too, in :data:`WMS_LAYERS`)."""
IMAGE_COVERAGES: tuple[str, ...] = (*TEMP_COVERAGE_LAYERS.values(), "rgbcov", "bands4")
"""Coverages added for the ImageServer, on both servers; each is also a WMS layer of the same name."""
BANDS_NAMED_COVERAGE = "bandsnamed"
"""MapServer only: ``bands4.tif`` again, configured the short way (``wcs_band_names "blue green red nir"`` without
``wcs_extent``/``wcs_size``, so it is described from the file): its WCS 2.0.1 DescribeCoverage advertises ``band1`` …
``band4`` while RANGESUBSET refuses those and takes ``blue`` … or indices; WCS 1.0.0 ignores BANDS (no
``wcs_rangeset_axes``).  Values are :func:`bands4_values_at`; nodata 0 through ``GEOTIFF_INT16_NODATA0``."""
MAPSERVER_ONLY_COVERAGES = (TEMP_COVERAGE_TIME_NAME, BANDS_NAMED_COVERAGE)
"""Coverages (and WMS layers) that only MapServer serves: the time-enabled one (QGIS 3.22 has no raster TIME) and
the one whose band names show a MapServer configuration quirk."""
MAPSERVER_WCS_FORMATS: dict[str, str] = {
    "dem": "GEOTIFF_FLOAT32",
    "multiband": "GEOTIFF_INT16",
    **{name: "GEOTIFF_FLOAT32" for name in (*TEMP_COVERAGE_LAYERS.values(), TEMP_COVERAGE_TIME_NAME)},
    "rgbcov": "GEOTIFF_BYTE",
    "bands4": "GEOTIFF_INT16_NODATA0",
    BANDS_NAMED_COVERAGE: "GEOTIFF_INT16_NODATA0",
}
"""MapServer OUTPUTFORMAT NAME to ask for each coverage (WCS 1.0.0 FORMAT and 2.0.1 FORMAT alike). ``image/tiff``
always means the first format, Float32 with nodata -9999, whatever the coverage's type; the nodata of a WCS 2.0.1
answer is the format's ``NULLVALUE`` (WCS 1.0.0 uses the layer's ``wcs_rangeset_nullvalue``)."""
QGIS_WCS_FORMAT = "GeoTIFF"
"""QGIS Server's only WCS 1.0.0 format (the coverage's own data type and nodata)."""
