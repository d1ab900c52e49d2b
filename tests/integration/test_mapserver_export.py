"""MapServer/export end to end: the real gateway process in front of real MapServer 8 and QGIS Server 3.22."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from typing import Any

import numpy as np
import pytest
from lxml import etree
from pyproj import Transformer

from tests.backends import dataspec as ds
from tests.backends.servers import FastCgiBackend
from tests.gateway import Gateway, Reply, fetch
from tests.pixels import close, colour_at, mismatch_fraction, pixel_of, rgba

pytestmark = pytest.mark.backend

WORLD_RGB = "show:2"  # ms/World and qgis/World are [cities, regions, rgb]


def export(gateway: Gateway, service: str, **params: Any) -> Reply:
    params.setdefault("f", "image")
    return fetch(gateway.services_url(service) + "/export", params)


def backend_getmap(backend: FastCgiBackend, layers: str, crs: str, bbox: tuple[float, ...], size: tuple[int, int],
                   **extra: str) -> np.ndarray:
    params = {"SERVICE": "WMS", "VERSION": "1.1.1", "REQUEST": "GetMap", "LAYERS": layers, "STYLES": "",
              "SRS": crs, "BBOX": ",".join(repr(v) for v in bbox), "WIDTH": str(size[0]),
              "HEIGHT": str(size[1]), "FORMAT": "image/png", **extra}
    reply = fetch(backend.url, params)
    assert reply.status == 200 and reply.content_type == "image/png", reply.body[:300]
    return rgba(reply.body)


def rgb_cells_in(extent: tuple[float, float, float, float]) -> list[tuple[float, float]]:
    """Centres of the rgb cells well inside a lon/lat extent."""
    out = []
    for c in range(36):
        for r in range(18):
            lon, lat = ds.rgb_cell_centre(c, r)
            if extent[0] + 3 < lon < extent[2] - 3 and extent[1] + 3 < lat < extent[3] - 3:
                out.append((lon, lat))
    return out


# ---------------------------------------------------------------------------------------------------- pixels


@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
def test_export_in_service_sr_has_the_data_colours(gateway: Gateway, service: str) -> None:
    extent = (-40.0, -20.0, 60.0, 60.0)
    reply = export(gateway, service, bbox=",".join(map(str, extent)), size="500,400", layers=WORLD_RGB,
                   format="png32")
    assert reply.status == 200 and reply.content_type == "image/png"
    image = rgba(reply.body)
    assert image.shape == (400, 500, 4)
    cells = rgb_cells_in(extent)
    assert len(cells) >= 40
    for lon, lat in cells:
        assert colour_at(image, lon, lat, extent) == (*ds.rgb_colour_at(lon, lat), 255), (lon, lat)


@pytest.mark.parametrize("backend_name", ["mapserver", "qgis"])
def test_export_equals_backend_getmap(gateway: Gateway, backend_name: str, request: pytest.FixtureRequest) -> None:
    backend: FastCgiBackend = request.getfixturevalue(backend_name)
    service = "ms/World" if backend_name == "mapserver" else "qgis/World"
    extent = (-20.0, 30.0, 40.0, 70.0)
    reply = export(gateway, service, bbox="-20,30,40,70", size="600,400", format="png32")
    assert reply.status == 200
    ours = rgba(reply.body)
    theirs = backend_getmap(backend, "rgb,regions,cities", "EPSG:4326", extent, (600, 400))
    assert mismatch_fraction(ours, theirs, tol=2) < 0.002
    # and the regions and cities really are in it
    assert colour_at(ours, 8.0, 68.0, extent)[:3] == ds.REGION_COLOURS["A"]  # Nordland, away from its city
    assert colour_at(ours, 15.0, 64.0, extent)[:3] == ds.CITY_COLOURS["capital"]  # Northhaven on top


def test_web_mercator_asked_as_102100(gateway: Gateway, mapserver: FastCgiBackend) -> None:
    to_merc = Transformer.from_crs(4326, 3857, always_xy=True)
    x0, y0 = to_merc.transform(-30, -10)
    x1, y1 = to_merc.transform(50, 60)
    reply = export(gateway, "ms/World", bbox=f"{x0},{y0},{x1},{y1}", bboxSR="102100", imageSR="102100",
                   size="512,512", f="json")
    assert reply.status == 200
    data = reply.json()
    assert data["extent"]["spatialReference"] == {"wkid": 102100, "latestWkid": 3857}
    extent = tuple(data["extent"][k] for k in ("xmin", "ymin", "xmax", "ymax"))
    image = rgba(fetch(data["href"]).body)
    theirs = backend_getmap(mapserver, "rgb,regions,cities", "EPSG:3857", extent, (512, 512))
    assert mismatch_fraction(image, theirs, tol=2) < 0.002


@pytest.mark.parametrize("wkid", ["3395", "102004", '{"wkid": 54009}'])
def test_sr_the_backend_lacks_is_warped_locally(gateway: Gateway, wkid: str) -> None:
    sr = json.loads(wkid)["wkid"] if wkid.startswith("{") else int(wkid)
    authority = "ESRI" if sr in (102004, 54009) else "EPSG"
    fwd = Transformer.from_crs("EPSG:4326", f"{authority}:{sr}", always_xy=True)
    lon_lat = (-20.0, 20.0, 40.0, 60.0) if sr != 102004 else (-120.0, 25.0, -70.0, 50.0)
    xs, ys = fwd.transform([lon_lat[0], lon_lat[2], lon_lat[0], lon_lat[2]],
                           [lon_lat[1], lon_lat[1], lon_lat[3], lon_lat[3]])
    bbox = f"{min(xs)},{min(ys)},{max(xs)},{max(ys)}"
    reply = export(gateway, "ms/World", bbox=bbox, bboxSR=wkid, imageSR=wkid, size="600,500", layers=WORLD_RGB,
                   format="png32", f="json")
    assert reply.status == 200, reply.body
    data = reply.json()
    extent = tuple(data["extent"][k] for k in ("xmin", "ymin", "xmax", "ymax"))
    image = rgba(fetch(data["href"]).body)
    checked = 0
    for lon, lat in rgb_cells_in(lon_lat):
        x, y = fwd.transform(lon, lat)
        if not (extent[0] < x < extent[2] and extent[1] < y < extent[3]):
            continue
        assert close(colour_at(image, x, y, extent), (*ds.rgb_colour_at(lon, lat), 255), tol=1), (lon, lat)
        checked += 1
    assert checked >= 10


def test_aspect_ratio_is_adjusted_about_the_centre(gateway: Gateway) -> None:
    reply = export(gateway, "ms/World", bbox="0,0,40,10", size="400,400", f="json", layers=WORLD_RGB)
    data = reply.json()
    assert (data["width"], data["height"]) == (400, 400)
    ext = data["extent"]
    assert (ext["xmin"], ext["xmax"]) == pytest.approx((0, 40))
    assert (ext["ymin"], ext["ymax"]) == pytest.approx((-15, 25))
    image = rgba(fetch(data["href"]).body)
    extent = (0.0, -15.0, 40.0, 25.0)
    for lon, lat in [(5, -5), (15, 15), (35, 5), (25, -5)]:
        assert colour_at(image, lon, lat, extent)[:3] == ds.rgb_colour_at(lon, lat)


def test_reverse_axis_bbox_is_sorted(gateway: Gateway) -> None:
    a = export(gateway, "ms/World", bbox="-20,60,40,30", size="300,150", layers=WORLD_RGB)
    b = export(gateway, "ms/World", bbox="-20,30,40,60", size="300,150", layers=WORLD_RGB)
    assert a.status == b.status == 200
    assert mismatch_fraction(rgba(a.body), rgba(b.body)) == 0


def test_envelope_bbox_with_its_own_sr(gateway: Gateway) -> None:
    to_merc = Transformer.from_crs(4326, 3857, always_xy=True)
    x0, y0 = to_merc.transform(0, 0)
    x1, y1 = to_merc.transform(40, 40)
    env = {"xmin": x0, "ymin": y0, "xmax": x1, "ymax": y1, "spatialReference": {"wkid": 102100}}
    reply = export(gateway, "ms/World", bbox=json.dumps(env), f="json", size="200,200")
    data = reply.json()
    assert data["extent"]["spatialReference"]["wkid"] == 4326  # the image is in the service SR
    assert data["extent"]["xmin"] == pytest.approx(0, abs=1e-6)
    assert data["extent"]["xmax"] == pytest.approx(40, abs=1e-6)


def test_transparency(gateway: Gateway) -> None:
    extent = (-120.0, -50.0, 40.0, 80.0)
    params = {"bbox": ",".join(map(str, extent)), "size": "640,520", "layers": "show:1"}  # regions only
    image = rgba(export(gateway, "ms/World", transparent="true", format="png32", **params).body)
    for region in ds.REGIONS:
        assert colour_at(image, *region.centre, extent) == (*ds.REGION_COLOURS[region.category], 255)
    assert colour_at(image, -40, 10, extent)[3] == 0  # nothing drawn there
    opaque = rgba(export(gateway, "ms/World", transparent="false", format="png32", **params).body)
    assert colour_at(opaque, -40, 10, extent) == (255, 255, 255, 255)
    assert (opaque[..., 3] == 255).all()


@pytest.mark.parametrize(
    ("fmt", "content_type", "tol", "keeps_alpha"),
    [
        ("png", "image/png", 0, True),
        ("png8", "image/png", 0, True),
        ("png24", "image/png", 0, True),
        ("png32", "image/png", 0, True),
        ("jpg", "image/jpeg", 12, False),
        ("gif", "image/gif", 0, True),
        ("bmp", "image/bmp", 0, False),
        ("tiff", "image/tiff", 0, True),
    ],
)
def test_raster_formats(gateway: Gateway, fmt: str, content_type: str, tol: int, keeps_alpha: bool) -> None:
    extent = (-120.0, -50.0, 40.0, 80.0)
    reply = export(gateway, "ms/World", bbox=",".join(map(str, extent)), size="320,260", layers="show:0,1",
                   format=fmt.upper(), transparent="TRUE")
    assert reply.status == 200, reply.body[:300]
    assert reply.content_type == content_type
    image = rgba(reply.body)
    assert image.shape[:2] == (260, 320)
    for region in ds.REGIONS:  # a corner inside the region, away from the cities at the centres
        inside = (region.bbox[0] + 1.5, region.bbox[1] + 1.5)
        assert close(colour_at(image, *inside, extent)[:3], ds.REGION_COLOURS[region.category], tol), region
    empty = colour_at(image, -40, 40, extent)
    if keeps_alpha:
        assert empty[3] == 0
    else:
        assert close(empty, (255, 255, 255, 255), tol)


def test_svg_and_pdf(gateway: Gateway) -> None:
    svg = export(gateway, "ms/World", bbox="-120,-50,40,80", size="320,260", layers="show:1", format="svg")
    assert svg.status == 200 and svg.content_type == "image/svg+xml"
    assert etree.fromstring(svg.body).tag.endswith("svg")
    svgz = export(gateway, "ms/World", bbox="-120,-50,40,80", size="320,260", layers="show:1", format="svgz")
    assert svgz.status == 200 and svgz.headers["Content-Encoding"] == "gzip"
    assert etree.fromstring(gzip.decompress(svgz.body)).tag.endswith("svg")
    pdf = export(gateway, "ms/World", bbox="-120,-50,40,80", size="320,260", layers="show:1", format="pdf")
    assert pdf.status == 200 and pdf.content_type == "application/pdf" and pdf.body.startswith(b"%PDF")
    # QGIS offers neither SVG nor (here) PDF through WMS: svg is refused, pdf is made locally.
    refused = export(gateway, "qgis/World", bbox="-120,-50,40,80", size="320,260", format="svg")
    assert refused.status == 400 and "format" in refused.json()["error"]["message"]
    local_pdf = export(gateway, "qgis/World", bbox="-120,-50,40,80", size="320,260", format="pdf")
    assert local_pdf.status == 200 and local_pdf.body.startswith(b"%PDF")


@pytest.mark.parametrize(
    ("layers", "expect_region", "expect_city", "expect_rgb"),
    [
        (None, True, True, True),
        ("show:0", False, True, False),
        ("show:1,2", True, False, True),
        ("hide:2", True, True, False),
        ("hide:0,1", False, False, True),
        ("include:1", True, True, True),
        ("exclude:0", True, False, True),
    ],
)
@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
def test_layer_visibility(gateway: Gateway, service: str, layers: str | None, expect_region: bool,
                          expect_city: bool, expect_rgb: bool) -> None:
    extent = (-20.0, 30.0, 40.0, 70.0)
    params: dict[str, Any] = {"bbox": "-20,30,40,70", "size": "600,400", "format": "png32", "transparent": "true"}
    if layers:
        params["layers"] = layers
    image = rgba(export(gateway, service, **params).body)
    city = ds.CITIES[0]  # Northhaven, a capital inside Nordland
    region_point = (8.0, 68.0)  # inside Nordland, away from the city symbol
    rgb_point = (-15.0, 35.0)  # outside regions and cities
    assert (colour_at(image, city.lon, city.lat, extent)[:3] == ds.CITY_COLOURS["capital"]) is expect_city
    assert (colour_at(image, *region_point, extent)[:3] == ds.REGION_COLOURS["A"]) is expect_region
    assert (colour_at(image, *rgb_point, extent) == (*ds.rgb_colour_at(*rgb_point), 255)) is expect_rgb


def test_group_layer_show_and_exclude(gateway: Gateway) -> None:
    info = fetch(gateway.services_url("ms/All"), {"f": "json"}).json()
    by_name = {layer["name"]: layer for layer in info["layers"]}
    group = by_name["overlays"]
    assert sorted(by_name[n]["id"] for n in ("regions", "cities")) == sorted(group["subLayerIds"])
    extent = (-20.0, 30.0, 40.0, 70.0)
    params = {"bbox": "-20,30,40,70", "size": "600,400", "format": "png32", "transparent": "true"}
    reply = export(gateway, "ms/All", layers=f"show:{group['id']}", **params)
    assert reply.status == 200, reply.body[:400]
    shown = rgba(reply.body)
    assert colour_at(shown, 8.0, 68.0, extent)[:3] == ds.REGION_COLOURS["A"]
    assert colour_at(shown, 15.0, 64.0, extent)[:3] == ds.CITY_COLOURS["capital"]
    assert colour_at(shown, -15.0, 35.0, extent)[3] == 0
    excluded = rgba(export(gateway, "ms/All", layers=f"exclude:{group['id']}", **params).body)
    assert colour_at(excluded, 8.0, 68.0, extent)[:3] != ds.REGION_COLOURS["A"]


@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
@pytest.mark.parametrize(
    ("where", "pred"),
    [
        ("category = 'A'", lambda r: r.category == "A"),
        ("population > 1000000 AND category <> 'A'", lambda r: r.population > 1_000_000 and r.category != "A"),
        ("name IN ('Nordland', 'Prairie') OR population < 50000",
         lambda r: r.name in ("Nordland", "Prairie") or r.population < 50_000),
        ("name LIKE 'P%'", lambda r: r.name.startswith("P")),
        ("name = 'Cote d''Or'", lambda r: r.name == "Cote d'Or"),
        ("NOT (population BETWEEN 100000 AND 2000000)", lambda r: not 100_000 <= r.population <= 2_000_000),
        ("id IS NOT NULL AND id >= 4", lambda r: r.id >= 4),
    ],
)
def test_layer_defs(gateway: Gateway, service: str, where: str, pred: Any) -> None:
    extent = (-120.0, -50.0, 40.0, 80.0)
    reply = export(gateway, service, bbox=",".join(map(str, extent)), size="640,520", layers="show:1",
                   format="png32", transparent="true", layerDefs=json.dumps({"1": where}))
    assert reply.status == 200, reply.body[:500]
    image = rgba(reply.body)
    expected = ds.regions_where(pred)
    for region in ds.REGIONS:
        drawn = colour_at(image, *region.centre, extent)
        if region.id in expected:
            assert drawn == (*ds.REGION_COLOURS[region.category], 255), (region.name, where)
        else:
            assert drawn[3] == 0, (region.name, where)


@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
def test_layer_defs_on_several_layers(gateway: Gateway, service: str) -> None:
    extent = (-120.0, -50.0, 40.0, 80.0)
    defs = {"0": "category = 'capital' AND pop > 100000", "1": "UPPER(name) LIKE '%LAND%'"}
    reply = export(gateway, service, bbox=",".join(map(str, extent)), size="640,520", layers="show:0,1,2",
                   format="png32", layerDefs=json.dumps(defs))
    assert reply.status == 200, reply.body[:500]
    image = rgba(reply.body)
    for region in ds.REGIONS:
        inside = (region.bbox[0] + 1.5, region.bbox[1] + 1.5)
        drawn = colour_at(image, *inside, extent)[:3] == ds.REGION_COLOURS[region.category]
        assert drawn is ("LAND" in region.name.upper()), region.name
    for city in [c for c in ds.CITIES if extent[0] < c.lon < extent[2]]:
        drawn = colour_at(image, city.lon, city.lat, extent)[:3] == ds.CITY_COLOURS[city.category]
        assert drawn is (city.category == "capital" and city.pop > 100_000), city.name
    nothing = export(gateway, service, bbox=",".join(map(str, extent)), size="640,520", layers="show:1",
                     format="png32", transparent="true", layerDefs=json.dumps({"1": "1 = 0"}))
    assert nothing.status == 200 and (rgba(nothing.body)[..., 3] == 0).all()


def ms(date: str) -> int:
    from datetime import UTC, datetime

    return int(datetime.fromisoformat(date).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize("date", ds.TEMPERATURE_DATES)
def test_time_instant_picks_the_raster(gateway: Gateway, date: str) -> None:
    extent = (0.0, 30.0, 40.0, 60.0)
    image = rgba(export(gateway, "ms/Time", bbox="0,30,40,60", size="400,300", layers="show:1",
                        time=str(ms(date))).body)
    assert colour_at(image, 20, 45, extent)[:3] == ds.TEMPERATURE_COLOURS[date]


@pytest.mark.parametrize(
    ("start", "end"),
    [("2020-01-01", "2020-03-31"), ("2020-03-01", "2020-06-30"), ("2020-06-01", "2020-12-31"),
     ("2020-01-15", "2020-01-15")],
)
@pytest.mark.parametrize("service", ["ms/Time", "qgis/Time"])
def test_time_range_selects_events(gateway: Gateway, service: str, start: str, end: str) -> None:
    extent = (0.0, 30.0, 40.0, 60.0)
    image = rgba(export(gateway, service, bbox="0,30,40,60", size="400,300", layers="show:0", format="png32",
                        transparent="true", time=f"{ms(start)},{ms(end)}").body)
    expected = ds.events_between(start, end)
    for event in ds.EVENTS:
        drawn = colour_at(image, event.lon, event.lat, extent)
        assert (drawn[:3] == ds.EVENT_COLOUR and drawn[3] == 255) is (event.id in expected), (event, start, end)


def test_time_open_start_and_layer_time_options(gateway: Gateway) -> None:
    extent = (0.0, 30.0, 40.0, 60.0)
    base = {"bbox": "0,30,40,60", "size": "400,300", "format": "png32", "transparent": "true"}
    image = rgba(export(gateway, "ms/Time", layers="show:0", time=f"null,{ms('2020-03-01')}", **base).body)
    drawn = {e.id for e in ds.EVENTS if colour_at(image, e.lon, e.lat, extent)[:3] == ds.EVENT_COLOUR}
    assert drawn == ds.events_between("2020-01-01", "2020-03-01")
    # useTime false on the temperature layer: the backend default date is drawn while events still follow time.
    image = rgba(export(gateway, "ms/Time", time=str(ms("2020-01-01")),
                        layerTimeOptions=json.dumps({"1": {"useTime": False}}), **base).body)
    assert colour_at(image, 20, 42, extent)[:3] == ds.TEMPERATURE_COLOURS[ds.TEMPERATURE_DEFAULT_DATE]
    flood = ds.EVENTS[0]
    assert colour_at(image, flood.lon, flood.lat, extent)[:3] != ds.EVENT_COLOUR  # 2020-01-15 is not 2020-01-01


def test_time_relation_excludes_the_end(gateway: Gateway) -> None:
    extent = (0.0, 30.0, 40.0, 60.0)
    base = {"bbox": "0,30,40,60", "size": "400,300", "format": "png32", "transparent": "true", "layers": "show:0"}
    window = f"{ms('2020-01-15')},{ms('2020-03-01')}"
    inclusive = rgba(export(gateway, "ms/Time", time=window, **base).body)
    exclusive = rgba(export(gateway, "ms/Time", time=window,
                            timeRelation="esriTimeRelationOverlapsStartWithinEnd", **base).body)
    storm = ds.EVENTS[1]  # 2020-03-01
    flood = ds.EVENTS[0]  # 2020-01-15
    assert colour_at(inclusive, storm.lon, storm.lat, extent)[:3] == ds.EVENT_COLOUR
    assert colour_at(exclusive, storm.lon, storm.lat, extent)[3] == 0
    assert colour_at(exclusive, flood.lon, flood.lat, extent)[:3] == ds.EVENT_COLOUR


@pytest.mark.parametrize("dpi", [96, 192])
def test_dpi_and_map_scale(gateway: Gateway, dpi: int) -> None:
    reply = export(gateway, "ms/World", bbox="0,30,40,60", size="400,300", dpi=str(dpi), f="json",
                   mapScale="50000000")
    data = reply.json()
    assert data["scale"] == pytest.approx(50_000_000, rel=1e-9)
    width_deg = data["extent"]["xmax"] - data["extent"]["xmin"]
    metres_per_degree = 6378137 * 2 * np.pi / 360
    assert width_deg * metres_per_degree / 400 * dpi / 0.0254 == pytest.approx(50_000_000, rel=1e-9)
    ext = data["extent"]
    assert ((ext["xmin"] + ext["xmax"]) / 2, (ext["ymin"] + ext["ymax"]) / 2) == pytest.approx((20, 45))
    # without mapScale the scale is derived from the extent the same way
    plain = export(gateway, "ms/World", bbox="0,30,40,60", size="400,300", dpi=str(dpi), f="json").json()
    assert plain["scale"] == pytest.approx(40 * metres_per_degree / 400 * dpi / 0.0254)


def test_dpi_reaches_the_backend_symbol_size(gateway: Gateway) -> None:
    extent = (-50.0, -10.0, -30.0, 10.0)  # around Lone Harbor, a capital outside every region
    city = ds.CITIES[5]
    sizes = []
    for dpi in (96, 192):
        image = rgba(export(gateway, "ms/World", bbox="-50,-10,-30,10", size="200,200", layers="show:0",
                            format="png32", transparent="true", dpi=str(dpi)).body)
        _, row = pixel_of(city.lon, city.lat, extent, (200, 200))
        line = image[row, :, :3]
        sizes.append(int((np.abs(line.astype(int) - ds.CITY_COLOURS["capital"]).max(axis=1) == 0).sum()))
    assert sizes[1] > sizes[0] >= 8


def test_size_above_the_limit_is_reduced(gateway: Gateway) -> None:
    data = export(gateway, "ms/Small", bbox="0,0,60,40", size="900,600", f="json").json()
    assert (data["width"], data["height"]) == (300, 200)
    image = rgba(fetch(data["href"]).body)
    assert image.shape[:2] == (200, 300)
    assert data["extent"]["xmin"] == pytest.approx(0) and data["extent"]["xmax"] == pytest.approx(60)


def test_rotation(gateway: Gateway) -> None:
    # Rotated 90° counter-clockwise: what was at the top (north) ends up on the left.
    extent = (-20.0, 0.0, 20.0, 40.0)
    plain = rgba(export(gateway, "ms/World", bbox="-20,0,20,40", size="400,400", layers=WORLD_RGB).body)
    for service in ("ms/World", "qgis/World"):
        rotated = rgba(export(gateway, service, bbox="-20,0,20,40", size="400,400", layers=WORLD_RGB,
                              rotation="90").body)
        north = colour_at(plain, 5, 35, extent)
        col, row = pixel_of(5, 35, extent, (400, 400))  # near the top → near the left after rotation
        assert tuple(int(v) for v in rotated[399 - col, row]) == north, service
        assert mismatch_fraction(np.rot90(plain)[20:380, 20:380], rotated[20:380, 20:380], tol=3) < 0.02


# ------------------------------------------------------------------------------------------------- responses


def test_json_href_pjson_kmz_html(gateway: Gateway) -> None:
    data = export(gateway, "ms/World", bbox="-20,30,40,70", size="300,200", f="json").json()
    assert set(data) == {"href", "width", "height", "extent", "scale"}
    assert "?" not in data["href"]
    image = fetch(data["href"])
    assert image.status == 200 and image.content_type == "image/png"
    assert image.headers["Access-Control-Allow-Origin"] == "*"
    pretty = export(gateway, "ms/World", bbox="-20,30,40,70", size="300,200", f="pjson")
    assert pretty.body.startswith(b"{\n") and pretty.json()["width"] == 300
    kmz = export(gateway, "ms/World", bbox="-20,30,40,70", size="300,200", f="kmz")
    assert kmz.status == 200 and kmz.content_type == "application/vnd.google-earth.kmz"
    with zipfile.ZipFile(io.BytesIO(kmz.body)) as archive:
        kml = etree.fromstring(archive.read(archive.namelist()[0]))
        box = {etree.QName(e).localname: float(e.text) for e in kml.iter() if etree.QName(e).localname in
               ("north", "south", "east", "west")}
        assert box["west"] == pytest.approx(-20) and box["east"] == pytest.approx(40)
        assert box["north"] - box["south"] == pytest.approx(40)
        images = [n for n in archive.namelist() if not n.endswith(".kml")]
        assert rgba(archive.read(images[0])).shape[:2] == (200, 300)
    page = export(gateway, "ms/World", bbox="-20,30,40,70", size="300,200", f="html")
    assert page.status == 200 and page.content_type == "text/html" and b"<img" in page.body


def test_jsonp_post_and_case_insensitive_names(gateway: Gateway) -> None:
    reply = export(gateway, "ms/World", BBOX="-20,30,40,70", SIZE="300,200", F="JSON", callback="cb")
    assert reply.content_type == "application/javascript"
    text = reply.body.decode()
    assert "cb(" in text
    payload = json.loads(text[text.index("cb(") + 3: text.rindex(")")])
    assert payload["width"] == 300
    posted = fetch(gateway.services_url("ms/World") + "/export/",
                   data={"bbox": "-20,30,40,70", "size": "300,200", "f": "image", "format": "PNG32",
                         "transparent": "False", "layers": "SHOW:2"})
    got = export(gateway, "ms/World", bbox="-20,30,40,70", size="300,200", format="png32", layers=WORLD_RGB)
    assert posted.status == 200
    assert mismatch_fraction(rgba(posted.body), rgba(got.body)) == 0
    tiny = export(gateway, "ms/World", bbox="-2e1,3E1,4.0e1,70", size="300,200", f="json").json()
    assert tiny["extent"]["xmin"] == pytest.approx(-20)


def test_wms_111_backend_gives_the_same_picture(gateway: Gateway) -> None:
    a = export(gateway, "ms/World", bbox="-20,30,40,70", size="300,200", format="png32")
    b = export(gateway, "ms/World111", bbox="-20,30,40,70", size="300,200", format="png32")
    assert mismatch_fraction(rgba(a.body), rgba(b.body), tol=2) < 0.01


def test_dynamic_layers_reorder_and_filter(gateway: Gateway) -> None:
    extent = (-20.0, 30.0, 40.0, 70.0)
    base = {"bbox": "-20,30,40,70", "size": "600,400", "format": "png32"}
    # rgb (2) on top of regions (1): Nordland's centre shows raster colours.
    dyn = [{"id": 10, "source": {"type": "mapLayer", "mapLayerId": 2}},
           {"id": 11, "source": {"type": "mapLayer", "mapLayerId": 1}}]
    image = rgba(export(gateway, "ms/World", dynamicLayers=json.dumps(dyn), **base).body)
    assert colour_at(image, 8.0, 68.0, extent)[:3] == ds.rgb_colour_at(8.0, 68.0)
    dyn = [{"id": 11, "source": {"type": "mapLayer", "mapLayerId": 1}, "definitionExpression": "category = 'B'"},
           {"id": 10, "source": {"type": "mapLayer", "mapLayerId": 2}}]
    image = rgba(export(gateway, "ms/World", dynamicLayers=json.dumps(dyn), **base).body)
    assert colour_at(image, 8.0, 68.0, extent)[:3] == ds.rgb_colour_at(8.0, 68.0)  # Nordland is A: filtered out
    assert colour_at(image, 2.0, 46.5, extent)[:3] == ds.REGION_COLOURS["B"]  # Cote d'Or is B
