import json
import math

import pytest
from pyproj import CRS

from translators.crs import (
    SpatialRef,
    from_ogc_code,
    ogc_bbox_order,
    resolve_sr,
    transform_bbox,
    transform_point,
    wgs84_bbox_to,
)
from translators.errors import InvalidParameter

WGS84_DEGREE = 2 * math.pi * 6378137.0 / 360

ESRI_LCC_WKT = (
    'PROJCS["USA_Contiguous_Lambert_Conformal_Conic",GEOGCS["GCS_North_American_1983",'
    'DATUM["D_North_American_1983",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Lambert_Conformal_Conic"],PARAMETER["False_Easting",0.0],'
    'PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",-96.0],PARAMETER["Standard_Parallel_1",33.0],'
    'PARAMETER["Standard_Parallel_2",45.0],PARAMETER["Latitude_Of_Origin",39.0],UNIT["Meter",1.0]]'
)
# The same projection with a central meridian no registry entry has: only WKT can describe it.
CUSTOM_WKT = ESRI_LCC_WKT.replace("USA_Contiguous_Lambert_Conformal_Conic", "My_LCC").replace(
    'PARAMETER["Central_Meridian",-96.0]', 'PARAMETER["Central_Meridian",-97.5]'
)
ESRI_WEB_MERCATOR_WKT = (
    'PROJCS["WGS_1984_Web_Mercator_Auxiliary_Sphere",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",'
    'SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
    'PROJECTION["Mercator_Auxiliary_Sphere"],PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",0.0],PARAMETER["Standard_Parallel_1",0.0],PARAMETER["Auxiliary_Sphere_Type",0.0],'
    'UNIT["Meter",1.0]]'
)
ESRI_WGS84_WKT = (
    'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
)


# ---------------------------------------------------------------------------------------------------------------------
# resolve_sr: every input form


@pytest.mark.parametrize(
    ("value", "wkid", "latest", "ogc_code"),
    [
        (4326, 4326, 4326, "EPSG:4326"),
        ("4326", 4326, 4326, "EPSG:4326"),
        (" 3857 ", 102100, 3857, "EPSG:3857"),
        (102100, 102100, 3857, "EPSG:3857"),
        ("102113", 102100, 3857, "EPSG:3857"),
        (900913, 102100, 3857, "EPSG:3857"),
        (32633, 32633, 32633, "EPSG:32633"),
        (31466, 31466, 31466, "EPSG:31466"),
        (102004, 102004, 102004, "ESRI:102004"),
        ("54009", 54009, 54009, "ESRI:54009"),
        (102008, 102008, 102008, "ESRI:102008"),
        ({"wkid": 4326}, 4326, 4326, "EPSG:4326"),
        ({"wkid": 102100, "latestWkid": 3857}, 102100, 3857, "EPSG:3857"),
        ({"latestWkid": 3857}, 102100, 3857, "EPSG:3857"),
        ({"wkid": "25832"}, 25832, 25832, "EPSG:25832"),
        ({"wkid": 25832.0}, 25832, 25832, "EPSG:25832"),
        # An unknown (retired) wkid with a known latestWkid: the client's pair is answered back.
        ({"wkid": 999999, "latestWkid": 2056}, 999999, 2056, "EPSG:2056"),
        ('{"wkid": 4326}', 4326, 4326, "EPSG:4326"),
        (' {"wkid": 102100, "latestWkid": 3857} ', 102100, 3857, "EPSG:3857"),
        ("EPSG:4326", 4326, 4326, "EPSG:4326"),
        ("epsg:3857", 102100, 3857, "EPSG:3857"),
        ("EPSG:102100", 102100, 3857, "EPSG:3857"),
        ("ESRI:54009", 54009, 54009, "ESRI:54009"),
        ("urn:ogc:def:crs:EPSG::4326", 4326, 4326, "EPSG:4326"),
        ("http://www.opengis.net/def/crs/EPSG/0/32633", 32633, 32633, "EPSG:32633"),
        ("CRS:84", 4326, 4326, "CRS:84"),
        # WKT that names a known CRS resolves to its code, so it can be requested from OGC servers.
        ({"wkt": ESRI_WGS84_WKT}, 4326, 4326, "EPSG:4326"),
        ({"wkt": ESRI_WEB_MERCATOR_WKT}, 102100, 3857, "EPSG:3857"),
        ({"wkt": ESRI_LCC_WKT}, 102004, 102004, "ESRI:102004"),
        ({"wkt": CRS.from_epsg(32633).to_wkt("WKT1_GDAL")}, 32633, 32633, "EPSG:32633"),
        ({"wkt": CRS.from_epsg(31466).to_wkt()}, 31466, 31466, "EPSG:31466"),
        (json.dumps({"wkt": ESRI_WGS84_WKT}), 4326, 4326, "EPSG:4326"),
        (ESRI_WEB_MERCATOR_WKT, 102100, 3857, "EPSG:3857"),
    ],
)
def test_resolve_sr_forms(value: object, wkid: int, latest: int, ogc_code: str) -> None:
    sr = resolve_sr(value, "outSR")
    assert (sr.wkid, sr.latest_wkid, sr.ogc_code, sr.wkt) == (wkid, latest, ogc_code, None)
    assert sr.to_json() == {"wkid": wkid, "latestWkid": latest}


@pytest.mark.parametrize("wkt", [CUSTOM_WKT, CRS.from_wkt(CUSTOM_WKT).to_wkt()])
def test_resolve_custom_wkt(wkt: str) -> None:
    sr = resolve_sr({"wkt": wkt}, "imageSR")
    assert sr.wkid is None and sr.latest_wkid is None and sr.ogc_code is None
    assert sr.wkt == wkt
    assert sr.to_json() == {"wkt": wkt}
    assert sr.units == "esriMeters" and sr.meters_per_unit == 1.0
    assert not sr.is_geographic and not sr.axis_yx
    assert resolve_sr(json.dumps({"wkt": wkt}), "imageSR").same_as(sr)


def test_resolve_passes_spatialref_through_and_caches() -> None:
    sr = resolve_sr(4326, "bboxSR")
    assert resolve_sr(sr, "bboxSR") is sr
    assert resolve_sr("4326", "outSR") is sr
    assert resolve_sr({"wkt": CUSTOM_WKT}, "a") is resolve_sr({"wkt": CUSTOM_WKT}, "b")


@pytest.mark.parametrize(
    "value",
    [
        123456789,
        0,
        -4326,
        "",
        "   ",
        "abc",
        "{not json",
        '{"wkid": 4326',
        "[4326]",
        "{}",
        {},
        {"wkid": None},
        {"wkid": "x"},
        {"wkid": True},
        {"wkid": 4326.5},
        {"wkid": 123456789},
        {"wkid": 123456789, "latestWkid": 987654321},
        {"wkt": "junk"},
        {"wkt": 'PROJCS["x"]'},
        "GEOGCS[",
        "EPSG:abc",
        "EPSG:123456789",
        "FOO:4326",
        "AUTO:42001,9001,-100,45",
        5703,  # NAVD88 height: a vertical CRS cannot carry a map
        4978,  # geocentric
        4979,  # 3D geographic
        None,
        4326.5,
        [4326],
        True,
    ],
)
def test_resolve_sr_rejects(value: object) -> None:
    with pytest.raises(InvalidParameter) as info:
        resolve_sr(value, "imageSR")
    assert info.value.parameter == "imageSR"
    assert "imageSR" in info.value.message


# ---------------------------------------------------------------------------------------------------------------------
# from_ogc_code


@pytest.mark.parametrize(
    ("code", "wkid", "latest", "axis_yx"),
    [
        ("EPSG:4326", 4326, 4326, True),
        ("CRS:84", 4326, 4326, False),
        ("OGC:CRS84", 4326, 4326, False),
        ("CRS:83", 4269, 4269, False),
        ("urn:ogc:def:crs:EPSG::4326", 4326, 4326, True),
        ("urn:ogc:def:crs:EPSG:6.6:4326", 4326, 4326, True),
        ("urn:x-ogc:def:crs:EPSG:4326", 4326, 4326, True),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", 4326, 4326, False),
        ("http://www.opengis.net/def/crs/EPSG/0/4326", 4326, 4326, True),
        ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", 4326, 4326, False),
        ("http://www.opengis.net/gml/srs/epsg.xml#4326", 4326, 4326, True),
        ("EPSG:3857", 102100, 3857, False),
        ("EPSG:900913", 102100, 3857, False),
        ("EPSG:102100", 102100, 3857, False),
        ("ESRI:54009", 54009, 54009, False),
        ("EPSG:54009", 54009, 54009, False),  # as MapServer/GeoServer list Esri codes
        ("EPSG:31466", 31466, 31466, True),
        ("EPSG:25832", 25832, 25832, False),
    ],
)
def test_from_ogc_code(code: str, wkid: int, latest: int, axis_yx: bool) -> None:
    sr = from_ogc_code(code)
    assert sr.to_json() == {"wkid": wkid, "latestWkid": latest}
    assert sr.ogc_code == code  # what the server advertised is what it understands
    assert sr.axis_yx is axis_yx


@pytest.mark.parametrize(
    "code",
    ["AUTO:42001,9001,-100,45", "AUTO2:42001,1,-100,45", "EPSG:999999999", "FOO:1", "EPSG:", "4326x", "CRS:99", ""],
)
def test_from_ogc_code_rejects(code: str) -> None:
    with pytest.raises(ValueError):
        from_ogc_code(code)


# ---------------------------------------------------------------------------------------------------------------------
# Properties


@pytest.mark.parametrize(
    ("sr", "axis_yx", "geographic", "units", "meters_per_unit"),
    [
        (resolve_sr(4326, "x"), True, True, "esriDecimalDegrees", WGS84_DEGREE),
        (from_ogc_code("CRS:84"), False, True, "esriDecimalDegrees", WGS84_DEGREE),
        (resolve_sr(4269, "x"), True, True, "esriDecimalDegrees", WGS84_DEGREE),  # GRS80: same semi-major axis
        (resolve_sr(4230, "x"), True, True, "esriDecimalDegrees", 2 * math.pi * 6378388.0 / 360),  # Hayford
        (resolve_sr(3857, "x"), False, False, "esriMeters", 1.0),
        (resolve_sr(32633, "x"), False, False, "esriMeters", 1.0),
        (resolve_sr(31466, "x"), True, False, "esriMeters", 1.0),
        (resolve_sr(31467, "x"), True, False, "esriMeters", 1.0),
        (resolve_sr(3413, "x"), False, False, "esriMeters", 1.0),  # polar: both axes "south", easting first
        (resolve_sr(2263, "x"), False, False, "esriFeet", 1200 / 3937),
        (resolve_sr(2222, "x"), False, False, "esriFeet", 0.3048),  # NAD83 / Arizona East (ft), international foot
        (resolve_sr(54009, "x"), False, False, "esriMeters", 1.0),
        (resolve_sr(102004, "x"), False, False, "esriMeters", 1.0),
    ],
)
def test_properties(sr: SpatialRef, axis_yx: bool, geographic: bool, units: str, meters_per_unit: float) -> None:
    assert sr.axis_yx is axis_yx
    assert sr.is_geographic is geographic
    assert sr.units == units
    assert sr.meters_per_unit == pytest.approx(meters_per_unit, rel=1e-12)


def test_degree_is_arcgis_convention() -> None:
    assert resolve_sr(4326, "x").meters_per_unit == pytest.approx(111319.49079327357)


def test_web_mercator_aliases_are_one_crs() -> None:
    srs = [resolve_sr(v, "x") for v in (102100, 102113, 900913, 3857, "EPSG:3857", {"latestWkid": 3857})]
    srs += [from_ogc_code("EPSG:3857"), from_ogc_code("EPSG:900913"), resolve_sr({"wkt": ESRI_WEB_MERCATOR_WKT}, "x")]
    for sr in srs:
        assert sr == srs[0] and sr.same_as(srs[0]) and hash(sr) == hash(srs[0])
        assert sr.to_json() == {"wkid": 102100, "latestWkid": 3857}
    assert len(set(srs)) == 1


def test_equality() -> None:
    wgs84, crs84 = resolve_sr(4326, "x"), from_ogc_code("CRS:84")
    # Same coordinate space, different axis order: equal, but each keeps the order its code implies.
    assert wgs84 == crs84 and hash(wgs84) == hash(crs84)
    assert wgs84.axis_yx and not crs84.axis_yx
    assert resolve_sr({"wkt": ESRI_WGS84_WKT}, "x") == wgs84
    assert resolve_sr(4326, "x") != resolve_sr(3857, "x")
    assert resolve_sr(32633, "x") != resolve_sr(32632, "x")
    assert resolve_sr(4326, "x") != resolve_sr(4269, "x")
    assert resolve_sr({"wkt": CUSTOM_WKT}, "x") != resolve_sr(102004, "x")
    assert resolve_sr(4326, "x") != "EPSG:4326"


def test_direct_construction_identifies_code() -> None:
    sr = SpatialRef(CRS.from_epsg(25832), 25832, 25832)
    assert sr.ogc_code == "EPSG:25832"
    assert SpatialRef(CRS.from_wkt(CUSTOM_WKT)).ogc_code is None


# ---------------------------------------------------------------------------------------------------------------------
# Transformations


WGS84 = resolve_sr(4326, "x")
MERCATOR = resolve_sr(102100, "x")


@pytest.mark.parametrize(
    ("bbox", "src", "dst", "expected", "abs_tol"),
    [
        # MapProxy's doctest values.
        ((8.2, 53.1, 8.3, 53.2), WGS84, MERCATOR, (912819.8245, 7001516.67745, 923951.77358, 7020078.53264), 1e-3),
        (
            (-180, -85.0511287798, 180, 85.0511287798),
            WGS84,
            MERCATOR,
            (-20037508.342789244, -20037508.342789244, 20037508.342789244, 20037508.342789244),
            1e-2,
        ),
        ((-20037508.342789244, 0, 0, 20037508.342789244), MERCATOR, WGS84, (-180, 0, 0, 85.0511287798), 1e-8),
        # UTM 33N: the densified bottom edge bulges below the corners (computed independently with pyproj).
        ((12, 48, 18, 54), WGS84, resolve_sr(32633, "x"), None, None),
        ((-100, 30, -90, 40), WGS84, resolve_sr(102004, "x"), None, None),
        ((-100, 30, -90, 40), WGS84, resolve_sr({"wkt": CUSTOM_WKT}, "x"), None, None),
        # Identity returns the bbox unchanged.
        ((1, 2, 3, 4), MERCATOR, resolve_sr(3857, "x"), (1, 2, 3, 4), 0),
    ],
)
def test_transform_bbox(
    bbox: tuple[float, float, float, float],
    src: SpatialRef,
    dst: SpatialRef,
    expected: tuple[float, ...] | None,
    abs_tol: float | None,
) -> None:
    result = transform_bbox(bbox, src, dst)
    if expected is None:
        dense = _dense_bounds(bbox, src, dst, 2000)
        assert transform_bbox(bbox, src, dst, densify=2000) == pytest.approx(dense, abs=0.1)
        expected, abs_tol = dense, 1e-4 * max(dense[2] - dense[0], dense[3] - dense[1])  # 21 points per edge vs 2000
    assert result == pytest.approx(expected, abs=abs_tol)


def _dense_bounds(
    bbox: tuple[float, float, float, float], src: SpatialRef, dst: SpatialRef, n: int
) -> tuple[float, ...]:
    from pyproj import Transformer

    t = Transformer.from_crs(src.crs, dst.crs, always_xy=True)
    x0, y0, x1, y1 = bbox
    xs: list[float] = []
    ys: list[float] = []
    for i in range(n + 1):
        f = i / n
        for x, y in (
            (x0 + f * (x1 - x0), y0),
            (x0 + f * (x1 - x0), y1),
            (x0, y0 + f * (y1 - y0)),
            (x1, y0 + f * (y1 - y0)),
        ):
            tx, ty = t.transform(x, y)
            xs.append(tx)
            ys.append(ty)
    return min(xs), min(ys), max(xs), max(ys)


def test_transform_bbox_densifies() -> None:
    utm = resolve_sr(32633, "x")
    dense = transform_bbox((12, 48, 18, 54), WGS84, utm)
    corners = transform_bbox((12, 48, 18, 54), WGS84, utm, densify=0)
    assert dense[1] < corners[1] - 1000  # the bottom edge sags south between its corners


@pytest.mark.parametrize(
    ("bbox", "src", "dst"),
    [
        ((10, 95, 20, 100), WGS84, MERCATOR),  # latitudes beyond the pole
        ((-2e7, -1.5e7, 2e7, 1.5e7), resolve_sr(54009, "x"), WGS84),  # outside the Mollweide ellipse
        ((0, 0, math.inf, 1), WGS84, MERCATOR),
        ((0, 0, math.nan, 1), WGS84, WGS84),
    ],
)
def test_transform_bbox_not_finite(bbox: tuple[float, float, float, float], src: SpatialRef, dst: SpatialRef) -> None:
    with pytest.raises(InvalidParameter) as info:
        transform_bbox(bbox, src, dst)
    assert info.value.parameter == "bbox"
    with pytest.raises(InvalidParameter) as info:
        transform_bbox(bbox, src, dst, parameter="extent")
    assert info.value.parameter == "extent"


def test_transform_point() -> None:
    x, y = transform_point(8.22, 53.15, WGS84, MERCATOR)
    assert (x, y) == pytest.approx((915046.21432, 7010792.20171), abs=1e-3)
    assert transform_point(x, y, MERCATOR, from_ogc_code("CRS:84")) == pytest.approx((8.22, 53.15))
    assert transform_point(5, 6, MERCATOR, MERCATOR) == (5.0, 6.0)
    # 500000 E is the central meridian of every UTM zone: 15°E for zone 33N.
    lon, lat = transform_point(500000, 0, resolve_sr(32633, "x"), WGS84)
    assert (lon, lat) == pytest.approx((15.0, 0.0), abs=1e-9)
    with pytest.raises(InvalidParameter) as info:
        transform_point(10, 95, WGS84, MERCATOR, parameter="geometry")
    assert info.value.parameter == "geometry"
    with pytest.raises(InvalidParameter):
        transform_point(math.nan, 0, WGS84, MERCATOR)


def test_transformers_are_cached() -> None:
    from translators.crs import _transformer

    assert _transformer(WGS84, MERCATOR) is _transformer(resolve_sr("EPSG:4326", "x"), resolve_sr(900913, "x"))


def test_wgs84_bbox_to() -> None:
    world = wgs84_bbox_to((-180, -90, 180, 90), MERCATOR)
    assert world is not None
    assert world[0] == pytest.approx(-20037508.342789244) and world[2] == pytest.approx(20037508.342789244)
    assert 19e6 < world[3] < 20.1e6 and world[1] == pytest.approx(-world[3])
    assert wgs84_bbox_to((5, 45, 15, 55), WGS84) == (5, 45, 15, 55)
    assert wgs84_bbox_to((5, 45, 15, 55), resolve_sr(3413, "x")) is None  # south of the polar CRS's area


@pytest.mark.parametrize(
    ("sr", "version", "expected"),
    [
        (WGS84, "1.3.0", (2, 1, 4, 3)),
        (WGS84, "1.1.1", (1, 2, 3, 4)),
        (WGS84, "1.1.0", (1, 2, 3, 4)),
        (from_ogc_code("CRS:84"), "1.3.0", (1, 2, 3, 4)),
        (MERCATOR, "1.3.0", (1, 2, 3, 4)),
        (resolve_sr(32633, "x"), "1.3.0", (1, 2, 3, 4)),
        (resolve_sr(31466, "x"), "1.3.0", (2, 1, 4, 3)),
        (resolve_sr(31466, "x"), "1.1.1", (1, 2, 3, 4)),
        (resolve_sr(3413, "x"), "1.3.0", (1, 2, 3, 4)),
        (resolve_sr({"wkt": CUSTOM_WKT}, "x"), "1.3.0", (1, 2, 3, 4)),
    ],
)
def test_ogc_bbox_order(sr: SpatialRef, version: str, expected: tuple[float, ...]) -> None:
    assert ogc_bbox_order((1, 2, 3, 4), sr, version) == expected
