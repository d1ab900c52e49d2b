"""MapServer ``identify`` against the real MapServer 8 and QGIS Server 3.22 backends: features and pixel values at
known points (tests/backends/dataspec.py), layer modes, tolerance, spatial references, the spellings real clients
send, and errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pyproj import Transformer

from tests.backends import dataspec as ds
from tests.backends.servers import FastCgiBackend
from tests.fakes import RefusingProxy
from tests.gateway import Gateway, Reply, fetch
from translators.arcgis.geometry import signed_area

pytestmark = pytest.mark.backend

WORLD = ["ms/World", "qgis/World"]  # cities (0), regions (1), rgb (2)
EXTENT = (-120.0, -50.0, 40.0, 80.0)  # 1600 x 1300 px below: 0.1° a pixel
DISPLAY = "1600,1300,96"
RES = 0.1


def identify(gateway: Gateway, service: str, **params: Any) -> Reply:
    params.setdefault("f", "json")
    params.setdefault("mapExtent", ",".join(map(str, EXTENT)))
    params.setdefault("imageDisplay", DISPLAY)
    params.setdefault("tolerance", "3")
    params.setdefault("sr", "4326")
    return fetch(gateway.services_url(service) + "/identify", params)


def results(reply: Reply) -> list[dict[str, Any]]:
    assert reply.status == 200, reply.body[:500]
    found: list[dict[str, Any]] = reply.json()["results"]
    return found


def city_attributes(city: ds.City) -> dict[str, str]:
    """A city's attributes as identify answers them: formatted, the object id (from the WFS feature id) first."""
    return {"OBJECTID": str(city.id), "id": str(city.id), "name": city.name, "category": city.category,
            "pop": str(city.pop)}


def region_attributes(region: ds.Region) -> dict[str, str]:
    return {"OBJECTID": str(region.id), "id": str(region.id), "name": region.name, "category": region.category,
            "population": str(region.population), "established": region.established}


def pixel_value(lon: float, lat: float) -> str:
    return ", ".join(str(v) for v in ds.rgb_colour_at(lon, lat))


# ------------------------------------------------------------------------------------------------- known features
@pytest.mark.parametrize("service", WORLD)
@pytest.mark.parametrize("city", ds.CITIES, ids=lambda c: c.name)
def test_each_city_at_its_point(gateway: Gateway, service: str, city: ds.City) -> None:
    found = results(identify(gateway, service, geometry=f"{city.lon},{city.lat}", layers="all:0"))
    assert len(found) == 1, found
    (hit,) = found
    assert hit["layerId"] == 0 and hit["layerName"] == "cities"
    assert hit["displayFieldName"] == "name" and hit["value"] == city.name
    assert hit["attributes"] == city_attributes(city)
    assert hit["geometryType"] == "esriGeometryPoint"
    assert hit["geometry"] == {"x": city.lon, "y": city.lat, "spatialReference": {"wkid": 4326, "latestWkid": 4326}}


@pytest.mark.parametrize("service", WORLD)
@pytest.mark.parametrize("region", ds.REGIONS, ids=lambda r: r.name)
def test_each_region_at_its_centre(gateway: Gateway, service: str, region: ds.Region) -> None:
    x, y = region.centre
    found = results(identify(gateway, service, geometry=json.dumps({"x": x, "y": y}), layers="all:1"))
    assert [(r["layerId"], r["value"], r["attributes"]) for r in found] == [(1, region.name,
                                                                             region_attributes(region))]
    x0, y0, x1, y1 = region.bbox
    assert found[0]["geometryType"] == "esriGeometryPolygon"
    rings = found[0]["geometry"]["rings"]  # from WFS: the ring itself, clockwise as Esri wants it
    assert len(rings) == 1 and sorted(map(tuple, rings[0][:-1])) == sorted([(x0, y0), (x0, y1), (x1, y1), (x1, y0)])
    assert rings[0][0] == rings[0][-1] and signed_area(rings[0]) < 0


@pytest.mark.parametrize("service", WORLD)
@pytest.mark.parametrize("cell", [(0, 0), (18, 7), (35, 17), (10, 12)])
def test_rgb_pixel_values(gateway: Gateway, service: str, cell: tuple[int, int]) -> None:
    lon, lat = ds.rgb_cell_centre(*cell)
    found = results(identify(gateway, service, geometry=f"{lon},{lat}", layers="all:2"))
    assert len(found) == 1, found
    expected = pixel_value(lon, lat)
    assert found[0]["attributes"] == {"Pixel Value": expected} and found[0]["value"] == expected
    assert found[0]["layerName"] == "rgb" and found[0]["geometryType"] == "esriGeometryPoint"
    point = found[0]["geometry"]
    assert ds.rgb_cell(point["x"], point["y"]) == cell  # the click, or the centre of the source pixel


# ---------------------------------------------------------------------------------------------------- layer modes
@pytest.mark.parametrize("service", WORLD)
def test_all_is_top_layer_first_and_top_keeps_the_first_with_hits(gateway: Gateway, service: str) -> None:
    city = ds.CITIES[2]  # Sandtown, in Sahara Sud
    point = f"{city.lon},{city.lat}"
    found = results(identify(gateway, service, geometry=point, layers="all"))
    assert [r["layerId"] for r in found] == [0, 1, 2]
    assert [r["value"] for r in found] == [city.name, "Sahara Sud", pixel_value(city.lon, city.lat)]
    assert results(identify(gateway, service, geometry=point, layers="visible")) == found
    assert results(identify(gateway, service, geometry=point)) == found[:1]  # top is the default
    assert results(identify(gateway, service, geometry=point, layers="top")) == found[:1]
    # Away from every city, the top layer with hits is the region.
    x, y = ds.REGIONS[2].bbox[0] + 1, ds.REGIONS[2].bbox[1] + 1
    top = results(identify(gateway, service, geometry=f"{x},{y}", layers="top"))
    assert [(r["layerId"], r["value"]) for r in top] == [(1, "Sahara Sud")]


@pytest.mark.parametrize("service", WORLD)
def test_ids_restrict_the_layers(gateway: Gateway, service: str) -> None:
    city = ds.CITIES[2]
    point = f"{city.lon},{city.lat}"
    assert [r["layerId"] for r in results(identify(gateway, service, geometry=point, layers="visible:1,2"))] == [1, 2]
    assert [r["layerId"] for r in results(identify(gateway, service, geometry=point, layers="top:2,1"))] == [1]
    assert [r["layerId"] for r in results(identify(gateway, service, geometry=point, layers="all:2"))] == [2]


@pytest.mark.parametrize("service", WORLD)
def test_nothing_there(gateway: Gateway, service: str) -> None:
    # Outside every region and city; the rgb raster covers the world, so it is left out.
    assert results(identify(gateway, service, geometry="-40,60", layers="all:0,1")) == []


# ------------------------------------------------------------------------------------------------------ tolerance
@pytest.mark.parametrize("service", WORLD)
def test_tolerance_decides_whether_a_nearby_city_is_hit(gateway: Gateway, service: str) -> None:
    """Cities go through WFS: the features within ``tolerance`` pixels of the click on the client's map."""
    city = ds.CITIES[2]
    near = f"{city.lon + 4 * RES},{city.lat}"  # 4 pixels east of the city
    for tolerance in ("0", "2", "3"):
        assert results(identify(gateway, service, geometry=near, layers="all:0", tolerance=tolerance)) == []
    hit = results(identify(gateway, service, geometry=near, layers="all:0", tolerance="5"))
    assert [r["value"] for r in hit] == [city.name]
    # The same click on a map ten times smaller (1° a pixel) is 0.4 px away: hit with a tolerance of 1.
    hit = results(identify(gateway, service, geometry=near, layers="all:0", tolerance="1",
                           imageDisplay="160,130,96"))
    assert [r["value"] for r in hit] == [city.name]


@pytest.mark.parametrize("service", WORLD)
def test_a_raster_at_tolerance_zero(gateway: Gateway, service: str) -> None:
    """GetFeatureInfo with no tolerance: a window of 3 pixels (MapServer fails on one)."""
    lon, lat = ds.rgb_cell_centre(20, 5)
    found = results(identify(gateway, service, geometry=f"{lon},{lat}", layers="all:2", tolerance="0"))
    assert [r["value"] for r in found] == [pixel_value(lon, lat)]


# ------------------------------------------------------------------------------------------ spatial references
def mercator(lon: float, lat: float) -> tuple[float, float]:
    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
    return float(x), float(y)


@pytest.mark.parametrize("service", WORLD)
def test_web_mercator(gateway: Gateway, service: str) -> None:
    city = ds.CITIES[0]  # Northhaven 15, 64
    x, y = mercator(city.lon, city.lat)
    extent = "-3000000,5000000,5000000,12000000"  # 800 x 700 px: 10 km a pixel
    found = results(identify(gateway, service, geometry=json.dumps({"x": x, "y": y}), sr="102100",
                             mapExtent=extent, imageDisplay="800,700,96", layers="all:0,1"))
    assert [(r["layerId"], r["value"]) for r in found] == [(0, city.name), (1, "Nordland")]
    point = found[0]["geometry"]
    assert point["spatialReference"] == {"wkid": 102100, "latestWkid": 3857}
    assert point["x"] == pytest.approx(x, abs=0.01) and point["y"] == pytest.approx(y, abs=0.01)


@pytest.mark.parametrize("service", WORLD)
def test_an_sr_the_backend_lacks(gateway: Gateway, service: str) -> None:
    """World Mercator (3395) is not offered by the WMS: GetFeatureInfo goes in one it offers, WFS selects in 3395
    itself, and every answer comes back in 3395."""
    city = ds.CITIES[2]
    x, y = Transformer.from_crs(4326, 3395, always_xy=True).transform(city.lon, city.lat)
    found = results(identify(gateway, service, geometry=json.dumps({"x": x, "y": y}), sr="3395", layers="all",
                             mapExtent="-2000000,0,3000000,4000000", imageDisplay="500,400,96"))
    assert [(r["layerId"], r["value"]) for r in found] == [(0, city.name), (1, "Sahara Sud"),
                                                          (2, pixel_value(city.lon, city.lat))]
    assert {r["geometry"]["spatialReference"]["wkid"] for r in found} == {3395}
    assert (found[0]["geometry"]["x"], found[0]["geometry"]["y"]) == pytest.approx((x, y), abs=0.01)
    raster = found[2]["geometry"]  # the pixel, within the tolerance of the click
    assert abs(raster["x"] - x) < 4 * 10000 and abs(raster["y"] - y) < 4 * 10000


@pytest.mark.parametrize("service", WORLD)
def test_geometry_in_its_own_sr_answered_in_sr(gateway: Gateway, service: str) -> None:
    """The geometry's spatialReference says how to read it; the answer is in ``sr``."""
    city = ds.CITIES[3]  # Cape Haven 25, -28
    geometry = {"x": city.lon, "y": city.lat, "spatialReference": {"wkid": 4326}}
    extent = "-2000000,-5000000,6000000,0"  # 800 x 500 px
    found = results(identify(gateway, service, geometry=json.dumps(geometry), sr="3857", mapExtent=extent,
                             imageDisplay="800,500,96", layers="all:0"))
    assert [r["value"] for r in found] == [city.name]
    assert (found[0]["geometry"]["x"], found[0]["geometry"]["y"]) == pytest.approx(mercator(city.lon, city.lat),
                                                                                 abs=0.01)
    assert found[0]["geometry"]["spatialReference"]["latestWkid"] == 3857


@pytest.mark.parametrize("service", WORLD)
def test_qgis_sends_unquoted_keys_and_no_sr(gateway: Gateway, service: str) -> None:
    """QGIS' AMS provider: ``geometry={x: X, y: Y}``, no ``sr`` (the service's), its render dpi."""
    city = ds.CITIES[4]
    params = {"f": "json", "geometryType": "esriGeometryPoint", "geometry": f"{{x: {city.lon}, y: {city.lat}}}",
              "layers": "all:0", "imageDisplay": "1600,1300,144", "mapExtent": ",".join(map(str, EXTENT)),
              "tolerance": "10"}
    reply = fetch(gateway.services_url(service) + "/identify", params)
    found = results(reply)
    assert [(r["layerName"], r["attributes"]) for r in found] == [("cities", city_attributes(city))]


@pytest.mark.parametrize("service", WORLD)
def test_gdal_sends_empty_parameters(gateway: Gateway, service: str) -> None:
    city = ds.CITIES[1]
    params = {"f": "json", "geometryType": "esriGeometryPoint", "returnGeometry": "false", "layerdefs": "",
              "time": "", "layerTimeOptions": "", "maxAllowableOffset": "", "geometry": f"{city.lon},{city.lat}",
              "sr": "4326", "layers": "all:0,1", "tolerance": "2", "mapExtent": ",".join(map(str, EXTENT)),
              "imageDisplay": DISPLAY}
    found = results(fetch(gateway.services_url(service) + "/identify", params))
    assert [r["value"] for r in found] == [city.name, "Cote d'Or"]
    assert all("geometry" not in r for r in found)


@pytest.mark.parametrize("service", WORLD)
def test_multipoint_and_precision(gateway: Gateway, service: str) -> None:
    a, b = ds.CITIES[0], ds.CITIES[5]
    geometry = {"points": [[a.lon, a.lat], [b.lon, b.lat]], "spatialReference": {"wkid": 4326}}
    found = results(identify(gateway, service, geometry=json.dumps(geometry), geometryType="esriGeometryMultipoint",
                             layers="all:0", geometryPrecision="0", returnUnformattedValues="false"))
    assert sorted(r["value"] for r in found) == sorted([a.name, b.name])


# ----------------------------------------------------------------------------------------------- definitions, time
@pytest.mark.parametrize("service", WORLD)
def test_layer_defs(gateway: Gateway, service: str) -> None:
    """Honoured on MapServer too (its GetFeatureInfo ignores FILTER): the layers go through WFS."""
    x, y = ds.REGIONS[2].centre  # Sahara Sud, category A
    for defs, expected in ((json.dumps({"1": "category = 'A'"}), ["Sahara Sud"]),
                           (json.dumps({"1": "category = 'B'"}), []),
                           ("1:category = 'A'", ["Sahara Sud"]),  # the legacy form Esri Leaflet sends
                           ("0:pop > 1;1:population < 100", []),
                           (json.dumps({"1": "1 = 0"}), [])):
        found = results(identify(gateway, service, geometry=f"{x},{y}", layers="all:1", layerDefs=defs))
        assert [r["value"] for r in found] == expected, defs
    city = ds.CITIES[2]  # Sandtown, a town of 12,000 in Sahara Sud: top skips the filtered-out city
    found = results(identify(gateway, service, geometry=f"{city.lon},{city.lat}", layers="top",
                             layerDefs=json.dumps({"0": "pop > 100000"})))
    assert [(r["layerId"], r["value"]) for r in found] == [(1, "Sahara Sud")]


@pytest.mark.parametrize("service", WORLD)
def test_envelope_and_polygon(gateway: Gateway, service: str) -> None:
    """Non-point geometries select the features they meet (through WFS); a raster answers at their centre."""
    envelope = "-6,40,16,70"  # Cote d'Or, Nordland, Dijonville and Northhaven
    found = results(identify(gateway, service, geometry=envelope, geometryType="esriGeometryEnvelope",
                             layers="all:0,1"))
    assert sorted((r["layerId"], r["value"]) for r in found) == [(0, "Dijonville"), (0, "Northhaven"),
                                                                   (1, "Cote d'Or"), (1, "Nordland")]
    assert [r["layerId"] for r in found] == [0, 0, 1, 1]  # top layer first
    triangle = {"rings": [[[-20, 0], [12, 44], [42, 0], [-20, 0]]], "spatialReference": {"wkid": 4326}}
    found = results(identify(gateway, service, geometry=json.dumps(triangle), geometryType="esriGeometryPolygon",
                             layers="all", layerDefs=json.dumps({"1": "category = 'A'"})))
    by_layer = {(r["layerId"], r["value"]) for r in found}
    assert by_layer == {(0, "Sandtown"), (1, "Sahara Sud"), (2, pixel_value(11, 22))}  # the box centre


def test_unknown_field_in_layer_defs(gateway: Gateway) -> None:
    reply = identify(gateway, "qgis/World", geometry="5,17", layers="all:1", layerDefs="1:popul = 5")
    assert reply.status == 400
    assert "field 'popul' does not exist in layer 1" in reply.json()["error"]["message"]


def epoch_ms(date: str) -> int:
    return int(datetime.fromisoformat(date).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize("service", ["ms/Time", "qgis/Time"])
def test_time(gateway: Gateway, service: str) -> None:
    """Time-aware layers are asked by GetFeatureInfo with WMS TIME."""
    event = ds.EVENTS[0]  # Flood, 2020-01-15, at 5, 35
    point = f"{event.lon},{event.lat}"
    extent = "-10,25,30,60"  # 400 x 350 px: 0.1° a pixel
    hit = results(identify(gateway, service, geometry=point, layers="all:0", mapExtent=extent,
                           imageDisplay="400,350,96", time=f"{epoch_ms('2020-01-01')},{epoch_ms('2020-01-31')}"))
    assert [r["value"] for r in hit] == [event.name]
    assert results(identify(gateway, service, geometry=point, layers="all:0", mapExtent=extent,
                            imageDisplay="400,350,96", time=f"{epoch_ms('2020-05-01')},{epoch_ms('2020-05-31')}")) == []


# ---------------------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(("params", "parameter"), [
    ({"geometry": "abc"}, "geometry"),
    ({"geometry": "{x: 1}"}, "geometry"),
    ({"geometryType": "esriGeometryCircle"}, "geometryType"),
    ({"tolerance": "x"}, "tolerance"),
    ({"tolerance": "-1"}, "tolerance"),
    ({"tolerance": None}, "tolerance"),
    ({"mapExtent": "1,2"}, "mapExtent"),
    ({"mapExtent": None}, "mapExtent"),
    ({"imageDisplay": "0,10,96"}, "imageDisplay"),
    ({"imageDisplay": "a,b"}, "imageDisplay"),
    ({"layers": "all:9"}, "layers"),
    ({"layers": "visible:x"}, "layers"),
    ({"layers": "visible:1,99"}, "layers"),
    ({"layers": "some"}, "layers"),
    ({"sr": "999999"}, "sr"),
    ({"returnGeometry": "perhaps"}, "returnGeometry"),
    ({"layerDefs": "{\"7\": \"a = 1\"}"}, "layerDefs"),
])
def test_bad_input_is_a_400_naming_the_parameter(gateway: Gateway, params: dict[str, Any], parameter: str) -> None:
    query: dict[str, Any] = {"f": "json", "geometry": "5,17", "tolerance": "3", "mapExtent": "-20,0,30,40",
                             "imageDisplay": "500,400,96"}
    for key, value in params.items():
        if value is None:
            query.pop(key)
        else:
            query[key] = value
    reply = fetch(gateway.services_url("ms/World") + "/identify", query)
    assert reply.status == 400, reply.body[:300]
    assert f"'{parameter}'" in reply.json()["error"]["message"]


def test_backend_failure_is_a_502(gateway: Gateway) -> None:
    reply = identify(gateway, "bad/exception", geometry="5,17", layers="all")
    assert reply.status == 502, reply.body[:300]
    assert reply.json()["error"]["code"] == 502


@pytest.mark.parametrize("service", WORLD)
def test_no_layer(gateway: Gateway, service: str) -> None:
    """``visible:`` with no id, or ArcGIS' -1 (every layer switched off in the client): nothing to identify."""
    for layers in ("visible:", "visible:-1", "all:-1"):
        assert results(identify(gateway, service, geometry="5,17", layers=layers)) == [], layers


@pytest.mark.parametrize("service", WORLD)
def test_dynamic_layers(gateway: Gateway, service: str) -> None:
    """``layers`` names the dynamic ids, results carry them, their definition expressions apply."""
    x, y = ds.REGIONS[2].centre  # Sahara Sud, category A
    for where, expected in (("category = 'A'", [(7, "Sahara Sud")]), ("category = 'B'", [])):
        dynamic = [{"id": 7, "source": {"type": "mapLayer", "mapLayerId": 1}, "definitionExpression": where},
                   {"id": 8, "source": {"type": "mapLayer", "mapLayerId": 2}}]
        found = results(identify(gateway, service, geometry=f"{x},{y}", layers="all:7",
                                 dynamicLayers=json.dumps(dynamic)))
        assert [(r["layerId"], r["value"]) for r in found] == expected, where
    dynamic = [{"id": 8, "source": {"type": "mapLayer", "mapLayerId": 2}}]
    found = results(identify(gateway, service, geometry=f"{x},{y}", layers="all", dynamicLayers=json.dumps(dynamic)))
    assert [(r["layerId"], r["value"]) for r in found] == [(8, pixel_value(x, y))]
    reply = identify(gateway, service, geometry=f"{x},{y}", layers="all:3", dynamicLayers=json.dumps(dynamic))
    assert reply.status == 400 and "'layers'" in reply.json()["error"]["message"]


@pytest.mark.parametrize("service", WORLD)
def test_post_and_pjson(gateway: Gateway, service: str) -> None:
    """Esri Leaflet POSTs once the URL passes 2000 characters; pjson and html render the same answer."""
    city = ds.CITIES[4]
    form = {"f": "json", "geometry": json.dumps({"x": city.lon, "y": city.lat}), "tolerance": "3", "sr": "4326",
            "mapExtent": ",".join(map(str, EXTENT)), "imageDisplay": DISPLAY, "layers": "all:0",
            "layerDefs": json.dumps({"0": " OR ".join(f"name = 'x{i}'" for i in range(80)) + f" OR pop = {city.pop}"})}
    found = results(fetch(gateway.services_url(service) + "/identify", data=form))
    assert [r["value"] for r in found] == [city.name]
    pretty = identify(gateway, service, geometry=f"{city.lon},{city.lat}", layers="all:0", f="pjson")
    assert pretty.status == 200 and b"\n" in pretty.body and results(pretty) == found
    page = identify(gateway, service, geometry=f"{city.lon},{city.lat}", layers="all:0", f="html")
    assert page.status == 200 and city.name.encode() in page.body


def layer_id(gateway: Gateway, service: str, name: str) -> int:
    reply = fetch(gateway.services_url(service), {"f": "json"})
    return next(layer["id"] for layer in reply.json()["layers"] if layer["name"] == name)


@pytest.mark.parametrize("service", ["ms/All", "qgis/All"])
def test_elevation_values(gateway: Gateway, service: str) -> None:
    """A one-band Float32 raster at its native resolution: the pixel's value; QGIS' missing value is NoData
    (MapServer reports the nodata value itself, which WMS does not publish)."""
    dem = layer_id(gateway, service, "dem")
    for col, row in ((10, 20), (250, 250), (499, 0)):
        lon, lat = ds.DEM_EXTENT[0] + (col + 0.5) * ds.DEM_RES, ds.DEM_EXTENT[3] - (row + 0.5) * ds.DEM_RES
        found = results(identify(gateway, service, geometry=f"{lon},{lat}", layers=f"all:{dem}", tolerance="1",
                                 mapExtent=",".join(map(str, ds.DEM_EXTENT)), imageDisplay="500,500,96"))
        assert len(found) == 1 and float(found[0]["value"]) == ds.dem_value_at(col, row), (col, row, found)
        assert found[0]["attributes"] == {"Pixel Value": found[0]["value"]}
    lon, lat = 8.51, 41.51  # in the nodata block
    found = results(identify(gateway, service, geometry=f"{lon},{lat}", layers=f"all:{dem}", tolerance="1",
                             mapExtent=",".join(map(str, ds.DEM_EXTENT)), imageDisplay="500,500,96"))
    assert [r["value"] for r in found] == (["NoData"] if service.startswith("qgis") else [f"{ds.DEM_NODATA:g}"])


# ---------------------------------------------------------------------------------------- a MapServer without WFS
@pytest.fixture(scope="module")
def no_wfs(mapserver: FastCgiBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """MapServer behind a proxy refusing every WFS request, with a gateway of its own (the session's ``refusing``
    gateway counts its WFS requests)."""
    with RefusingProxy(mapserver.url, (), ("WFS",)) as proxy:
        config = {"services": {"ms/NoWfs": {"type": "MapServer", "backend": {"url": proxy.url, "flavor": "mapserver"},
                                            "layers": ["cities", "regions", "rgb"]}}}
        with Gateway(config, tmp_path_factory.mktemp("identify-no-wfs")) as gateway:
            yield gateway


def test_without_wfs_every_layer_goes_by_getfeatureinfo(no_wfs: Gateway) -> None:
    """GetFeatureInfo answers for the vector layers too (GML: attributes as written, a polygon's box), and a
    definition it would ignore is a 400 rather than a wrong answer."""
    gateway = no_wfs
    city = ds.CITIES[2]
    found = results(identify(gateway, "ms/NoWfs", geometry=f"{city.lon},{city.lat}", layers="all"))
    assert [(r["layerId"], r["value"]) for r in found] == [(0, city.name), (1, "Sahara Sud"),
                                                          (2, pixel_value(city.lon, city.lat))]
    assert found[0]["attributes"] == {k: v for k, v in city_attributes(city).items() if k != "OBJECTID"}
    assert found[0]["geometry"] == {"x": city.lon, "y": city.lat,
                                    "spatialReference": {"wkid": 4326, "latestWkid": 4326}}
    box = found[1]["geometry"]
    assert found[1]["geometryType"] == "esriGeometryEnvelope"
    assert (box["xmin"], box["ymin"], box["xmax"], box["ymax"]) == ds.REGIONS[2].bbox
    reply = identify(gateway, "ms/NoWfs", geometry=f"{city.lon},{city.lat}", layers="all:1",
                     layerDefs=json.dumps({"1": "category = 'B'"}))
    assert reply.status == 400 and "'layerDefs'" in reply.json()["error"]["message"]
    # An envelope is asked about at its centre.
    found = results(identify(gateway, "ms/NoWfs", geometry="0,12,10,22", geometryType="esriGeometryEnvelope",
                             layers="all:0,1"))
    assert [r["value"] for r in found] == [city.name, "Sahara Sud"]


@pytest.mark.parametrize("service", WORLD)
def test_a_date_in_layer_defs(gateway: Gateway, service: str) -> None:
    """QGIS' WFS compares dates; MapServer 8's matches nothing, so the definition is refused as layer query
    refuses it, rather than answered wrongly."""
    x, y = ds.REGIONS[2].centre  # Sahara Sud, established 1960-08-03
    reply = identify(gateway, service, geometry=f"{x},{y}", layers="all:1",
                     layerDefs=json.dumps({"1": "established > DATE '1950-01-01'"}))
    if service.startswith("ms/"):
        assert reply.status == 400 and "'layerDefs'" in reply.json()["error"]["message"], reply.body[:300]
        return
    assert [r["value"] for r in results(reply)] == ["Sahara Sud"]
    later = identify(gateway, service, geometry=f"{x},{y}", layers="all:1",
                     layerDefs=json.dumps({"1": "established > DATE '1970-01-01'"}))
    assert results(later) == []


@pytest.mark.parametrize("service", WORLD)
def test_unformatted_values(gateway: Gateway, service: str) -> None:
    """``returnUnformattedValues=true``: numbers typed, dates in epoch milliseconds (the layer's WFS types)."""
    region = ds.REGIONS[2]
    x, y = region.centre
    (found,) = results(identify(gateway, service, geometry=f"{x},{y}", layers="all:1",
                                returnUnformattedValues="true"))
    attributes = found["attributes"]
    assert attributes["population"] == region.population and attributes["id"] == region.id
    assert attributes["established"] == epoch_ms(region.established) and attributes["name"] == region.name
    assert found["value"] == region.name
