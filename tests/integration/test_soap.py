"""The SOAP MapServer end to end: zeep (a real SOAP client) against the gateway in front of MapServer 8 and QGIS
Server 3.22, built both from arcbridge's own WSDL and from ArcGIS Server 10.7's ``MapServer.wsdl``; pixels are
compared with the backend's own GetMap of the same extent."""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zeep
from lxml import etree
from pyproj import Transformer
from zeep.exceptions import Fault

from tests.backends import dataspec as ds
from tests.backends.servers import FastCgiBackend
from tests.gateway import ROOT, Gateway, Reply, fetch
from tests.pixels import colour_at, mismatch_fraction, rgba

pytestmark = pytest.mark.backend

ESRI_WSDL = ROOT.parent / "shared" / "reference" / "arcgis-soap" / "MapServer-10.7.wsdl"
NS = "http://www.esri.com/schemas/ArcGIS/10.7"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
BACKENDS = {"ms/World": "mapserver", "qgis/World": "qgis"}


def soap_url(gateway: Gateway, service: str) -> str:
    return f"{gateway.url}/arcgis/services/{service}/MapServer"


def own_client(gateway: Gateway, service: str) -> Any:
    """A zeep client built from the WSDL arcbridge serves."""
    return zeep.Client(soap_url(gateway, service) + "?wsdl").service


def esri_client(gateway: Gateway, service: str) -> Any:
    """A zeep client built from ArcGIS Server 10.7's own MapServer.wsdl, bound to arcbridge's endpoint."""
    if not ESRI_WSDL.exists():
        # The reference lives beside the repository and is read from there, never copied into it; a checkout without
        # it (a clean CI machine) skips the Esri-WSDL twins — each of these calls also runs with arcbridge's own WSDL.
        pytest.skip(f"the Esri WSDL is not at {ESRI_WSDL}")
    client = zeep.Client(str(ESRI_WSDL))
    return client.create_service(f"{{{NS}}}MapServerBinding", soap_url(gateway, service))


def default_description(client: Any) -> Any:
    """``GetServerInfo(GetDefaultMapName()).DefaultMapDescription``, ready to send back: zeep reads an empty
    ``DefinitionExpression`` as absent, which Esri's WSDL requires, so it is set back to the empty string."""
    md = client.GetServerInfo(client.GetDefaultMapName()).DefaultMapDescription
    for description in md.LayerDescriptions.LayerDescription:
        description.DefinitionExpression = description.DefinitionExpression or ""
    return md


def factory(gateway: Gateway, service: str, esri: bool) -> Any:
    client = zeep.Client(str(ESRI_WSDL)) if esri else zeep.Client(soap_url(gateway, service) + "?wsdl")
    return client.type_factory(NS)


def image_description(f: Any, fmt: str, return_type: str, size: tuple[int, int], dpi: float = 96) -> Any:
    return f.ImageDescription(ImageType=f.ImageType(ImageFormat=fmt, ImageReturnType=return_type),
                              ImageDisplay=f.ImageDisplay(ImageHeight=size[1], ImageWidth=size[0], ImageDPI=dpi))


def extent_of(f: Any, box: tuple[float, float, float, float], wkid: int) -> Any:
    sr = f.GeographicCoordinateSystem(WKID=wkid) if wkid == 4326 else f.ProjectedCoordinateSystem(WKID=wkid)
    return f.MapExtent(Extent=f.EnvelopeN(XMin=box[0], YMin=box[1], XMax=box[2], YMax=box[3], SpatialReference=sr))


def backend_getmap(backend: FastCgiBackend, layers: str, crs: str, bbox: tuple[float, ...],
                   size: tuple[int, int]) -> np.ndarray:
    params = {"SERVICE": "WMS", "VERSION": "1.1.1", "REQUEST": "GetMap", "LAYERS": layers, "STYLES": "",
              "SRS": crs, "BBOX": ",".join(repr(v) for v in bbox), "WIDTH": str(size[0]),
              "HEIGHT": str(size[1]), "FORMAT": "image/png"}
    reply = fetch(backend.url, params)
    assert reply.status == 200 and reply.content_type == "image/png", reply.body[:300]
    return rgba(reply.body)


def post(gateway: Gateway, path: str, body: bytes | str) -> Reply:
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(gateway.url + path, data=data,
                                     headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return Reply(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, err.headers, err.read())


def envelope(operation: str, inner: str = "", ns: str = NS) -> str:
    return (f'<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f'<soap:Body><e:{operation} xmlns:e="{ns}">{inner}</e:{operation}></soap:Body></soap:Envelope>')


def fault_of(reply: Reply) -> tuple[str, str]:
    assert reply.status == 500 and reply.content_type == "text/xml", reply.body[:300]
    root = etree.fromstring(reply.body)
    fault = root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert fault is not None, reply.body[:300]
    return fault.findtext("faultcode") or "", fault.findtext("faultstring") or ""


# ------------------------------------------------------------------------------------ Esri's call sequence


@pytest.mark.parametrize("esri", [False, True], ids=["own-wsdl", "esri-wsdl"])
@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
def test_esri_sequence_matches_backend_getmap(gateway: Gateway, service: str, esri: bool,
                                              request: pytest.FixtureRequest) -> None:
    backend: FastCgiBackend = request.getfixturevalue(BACKENDS[service])
    client = esri_client(gateway, service) if esri else own_client(gateway, service)
    f = factory(gateway, service, esri)
    name = client.GetDefaultMapName()
    assert name == "Layers"
    info = client.GetServerInfo(name)
    rest = fetch(f"{gateway.services_url(service)}", {"f": "json"}).json()
    assert [(i.LayerID, i.Name) for i in info.MapLayerInfos.MapLayerInfo] == \
        [(layer["id"], layer["name"]) for layer in rest["layers"]]
    assert info.SpatialReference.WKID == 4326 and info.Units == "esriDecimalDegrees"
    md = default_description(client)
    assert [d.LayerID for d in md.LayerDescriptions.LayerDescription] == [0, 1, 2]
    md.MapArea = extent_of(f, (-20.0, 30.0, 40.0, 70.0), 4326)
    img = client.ExportMapImage(md, image_description(f, "esriImagePNG32", "esriImageReturnMimeData", (600, 400)))
    assert img.ImageWidth == 600 and img.ImageHeight == 400 and img.ImageType == "image/png"
    assert (img.Extent.XMin, img.Extent.YMin, img.Extent.XMax, img.Extent.YMax) == pytest.approx((-20, 30, 40, 70))
    assert img.ImageURL in ("", None) and sorted(img.VisibleLayerIDs.Int) == [0, 1, 2]
    assert img.MapScale == pytest.approx(60 / 600 * 111319.49079327357 * 96 / 0.0254, rel=1e-3)
    ours = rgba(img.ImageData)
    theirs = backend_getmap(backend, "rgb,regions,cities", "EPSG:4326", (-20.0, 30.0, 40.0, 70.0), (600, 400))
    assert mismatch_fraction(ours, theirs, tol=2) < 0.002
    assert colour_at(ours, 8.0, 68.0, (-20, 30, 40, 70))[:3] == ds.REGION_COLOURS["A"]


@pytest.mark.parametrize("esri", [False, True], ids=["own-wsdl", "esri-wsdl"])
@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
def test_url_return_and_formats(gateway: Gateway, service: str, esri: bool) -> None:
    client = esri_client(gateway, service) if esri else own_client(gateway, service)
    f = factory(gateway, service, esri)
    md = default_description(client)
    md.MapArea = extent_of(f, (-30.0, 20.0, 50.0, 75.0), 4326)
    by_data = client.ExportMapImage(md, image_description(f, "esriImagePNG", "esriImageReturnMimeData", (400, 300)))
    by_url = client.ExportMapImage(md, image_description(f, "esriImagePNG", "esriImageReturnURL", (400, 300)))
    assert by_url.ImageData is None and by_url.ImageURL.startswith(gateway.url + "/arcgis/rest/directories/")
    stored = fetch(by_url.ImageURL)
    assert stored.status == 200 and stored.content_type == "image/png"
    assert mismatch_fraction(rgba(stored.body), rgba(by_data.ImageData)) == 0
    # the extent grew to the image's aspect (80° x 60° for 400 x 300), centred where asked
    assert (by_url.Extent.XMin, by_url.Extent.YMin, by_url.Extent.XMax, by_url.Extent.YMax) == \
        pytest.approx((-30, 17.5, 50, 77.5))
    for fmt, magic, mime in [("esriImageJPG", b"\xff\xd8", "image/jpeg"), ("esriImageGIF", b"GIF8", "image/gif"),
                             ("esriImagePDF", b"%PDF", "application/pdf"), ("esriImageBMP", b"BM", "image/bmp"),
                             ("esriImagePNG24", b"\x89PNG", "image/png")]:
        img = client.ExportMapImage(md, image_description(f, fmt, "esriImageReturnMimeData", (200, 150)))
        assert img.ImageData.startswith(magic) and img.ImageType == mime, fmt


@pytest.mark.parametrize("esri", [False, True], ids=["own-wsdl", "esri-wsdl"])
@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
def test_map_sr_differs_from_envelope_sr(gateway: Gateway, service: str, esri: bool,
                                         request: pytest.FixtureRequest) -> None:
    """The envelope in WGS 84, the map in Web Mercator (and in UTM 33N by WKT)."""
    backend: FastCgiBackend = request.getfixturevalue(BACKENDS[service])
    client = esri_client(gateway, service) if esri else own_client(gateway, service)
    f = factory(gateway, service, esri)
    md = default_description(client)
    md.MapArea = extent_of(f, (-10.0, 35.0, 30.0, 60.0), 4326)
    md.SpatialReference = f.ProjectedCoordinateSystem(WKID=3857)
    img = client.ExportMapImage(md, image_description(f, "esriImagePNG32", "esriImageReturnMimeData", (500, 500)))
    sr = img.Extent.SpatialReference
    assert (sr.WKID, sr.LatestWKID) == (102100, 3857)  # as ArcGIS Server names Web Mercator
    to_merc = Transformer.from_crs(4326, 3857, always_xy=True)
    x0, _ = to_merc.transform(-10, 35)
    assert img.Extent.XMin == pytest.approx(x0, rel=1e-6)
    box = (img.Extent.XMin, img.Extent.YMin, img.Extent.XMax, img.Extent.YMax)
    theirs = backend_getmap(backend, "rgb,regions,cities", "EPSG:3857", box, (500, 500))
    # the GetMap box is the same up to the 12 significant digits a GetMap carries: edges may fall a hair apart
    assert mismatch_fraction(rgba(img.ImageData), theirs, tol=2) < 0.005
    wkt = Transformer.from_crs(4326, 32633).target_crs.to_wkt("WKT1_ESRI")
    md.SpatialReference = f.ProjectedCoordinateSystem(WKT=wkt)
    utm = client.ExportMapImage(md, image_description(f, "esriImagePNG32", "esriImageReturnMimeData", (300, 300)))
    assert utm.Extent.SpatialReference.WKID == 32633 and rgba(utm.ImageData).shape == (300, 300, 4)
    x, y = Transformer.from_crs(4326, 32633, always_xy=True).transform(10, 47.5)
    assert utm.Extent.XMin < x < utm.Extent.XMax and utm.Extent.YMin < y < utm.Extent.YMax


@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
def test_visibility_definition_expression_and_transparency(gateway: Gateway, service: str) -> None:
    client, f = own_client(gateway, service), factory(gateway, service, False)
    md = default_description(client)
    extent = (-120.0, -50.0, 40.0, 80.0)
    md.MapArea = extent_of(f, extent, 4326)
    for description in md.LayerDescriptions.LayerDescription:
        description.Visible = description.LayerID == 1  # regions only
        if description.LayerID == 1:
            description.DefinitionExpression = "name LIKE 'P%'"
    md.TransparentColor = md.BackgroundSymbol.Color  # the seed's way to ask for a transparent background
    img = client.ExportMapImage(md, image_description(f, "esriImagePNG32", "esriImageReturnMimeData", (640, 520)))
    assert img.VisibleLayerIDs.Int == [1]
    image = rgba(img.ImageData)
    expected = ds.regions_where(lambda r: r.name.startswith("P"))
    assert expected
    for region in ds.REGIONS:
        drawn = colour_at(image, *region.centre, extent)
        if region.id in expected:
            assert drawn == (*ds.REGION_COLOURS[region.category], 255), region.name
        else:
            assert drawn[3] == 0, region.name


@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
def test_honor_layer_reordering(gateway: Gateway, service: str) -> None:
    """The regions drawn over the cities when their description comes first (as REST dynamicLayers orders them)."""
    client, f = own_client(gateway, service), factory(gateway, service, False)
    md = default_description(client)
    extent = (-20.0, 30.0, 40.0, 70.0)
    md.MapArea = extent_of(f, extent, 4326)
    city = next(c for c in ds.CITIES if c.name == "Northhaven")
    plain = client.ExportMapImage(md, image_description(f, "esriImagePNG32", "esriImageReturnMimeData", (600, 400)))
    assert colour_at(rgba(plain.ImageData), city.lon, city.lat, extent)[:3] == ds.CITY_COLOURS[city.category]
    descriptions = md.LayerDescriptions.LayerDescription
    md.LayerDescriptions.LayerDescription = [descriptions[1], descriptions[0], descriptions[2]]
    md.HonorLayerReordering = True
    swapped = client.ExportMapImage(md, image_description(f, "esriImagePNG32", "esriImageReturnMimeData",
                                                          (600, 400)))
    region = ds.region_at(city.lon, city.lat)
    assert region is not None
    assert colour_at(rgba(swapped.ImageData), city.lon, city.lat, extent)[:3] == ds.REGION_COLOURS[region.category]


def test_center_and_scale_and_rotation(gateway: Gateway) -> None:
    client, f = own_client(gateway, "ms/World"), factory(gateway, "ms/World", False)
    md = default_description(client)
    md.MapArea = f.CenterAndScale(Center=f.PointN(X=10.0, Y=50.0), Scale=50_000_000.0)
    img = client.ExportMapImage(md, image_description(f, "esriImagePNG", "esriImageReturnMimeData", (400, 400)))
    assert img.MapScale == pytest.approx(50_000_000, rel=1e-6)
    assert (img.Extent.XMin + img.Extent.XMax) / 2 == pytest.approx(10.0)
    assert (img.Extent.YMin + img.Extent.YMax) / 2 == pytest.approx(50.0)
    md.Rotation = 90.0
    rotated = client.ExportMapImage(md, image_description(f, "esriImagePNG", "esriImageReturnMimeData", (400, 400)))
    plain, turned = rgba(img.ImageData), rgba(rotated.ImageData)
    assert mismatch_fraction(np.rot90(plain)[20:380, 20:380], turned[20:380, 20:380], tol=3) < 0.02


@pytest.mark.parametrize("esri", [False, True], ids=["own-wsdl", "esri-wsdl"])
def test_time_value(gateway: Gateway, esri: bool) -> None:
    client = esri_client(gateway, "ms/Time") if esri else own_client(gateway, "ms/Time")
    f = factory(gateway, "ms/Time", esri)
    full = client.GetServerInfo("Layers").FullTimeExtent
    assert (full.StartTime.isoformat(), full.EndTime.isoformat()) == ("2020-01-01T00:00:00+00:00",
                                                                      "2020-12-31T00:00:00+00:00")
    md = default_description(client)
    for description in md.LayerDescriptions.LayerDescription:
        description.Visible = description.LayerID == 1  # temperature
    pictures = []
    for date in ("2020-01-01T00:00:00Z", "2020-10-01T00:00:00Z"):
        md.TimeValue = f.TimeInstant(Time=date)
        img = client.ExportMapImage(md, image_description(f, "esriImagePNG32", "esriImageReturnMimeData",
                                                          (200, 200)))
        pictures.append(rgba(img.ImageData))
    rest = [rgba(fetch(gateway.services_url("ms/Time") + "/export", {
        "bbox": ",".join(map(str, _full(gateway, "ms/Time"))), "size": "200,200", "format": "png32",
        "layers": "show:1", "time": str(t), "f": "image"}).body) for t in (1577836800000, 1601510400000)]
    assert mismatch_fraction(pictures[0], pictures[1]) > 0.05  # the two dates differ …
    assert mismatch_fraction(pictures[0], rest[0]) == 0 and mismatch_fraction(pictures[1], rest[1]) == 0
    # UseTime = false: the layer draws without the map's time (its default date), as layerTimeOptions says in REST
    for description in md.LayerDescriptions.LayerDescription:
        description.UseTime = False if description.LayerID == 1 else None
    untimed = client.ExportMapImage(md, image_description(f, "esriImagePNG32", "esriImageReturnMimeData", (200, 200)))
    default = fetch(gateway.services_url("ms/Time") + "/export", {
        "bbox": ",".join(map(str, _full(gateway, "ms/Time"))), "size": "200,200", "format": "png32",
        "layers": "show:1", "f": "image"}).body
    assert mismatch_fraction(rgba(untimed.ImageData), rgba(default)) == 0


def _full(gateway: Gateway, service: str) -> tuple[float, ...]:
    ext = fetch(gateway.services_url(service), {"f": "json"}).json()["fullExtent"]
    return ext["xmin"], ext["ymin"], ext["xmax"], ext["ymax"]


# ------------------------------------------------------------------------------------ the other operations


@pytest.mark.parametrize("service", ["ms/World", "qgis/World"])
def test_small_operations_and_legend(gateway: Gateway, service: str) -> None:
    client = own_client(gateway, service)
    assert client.GetMapCount() == 1 and client.GetMapName(0) == "Layers"
    assert client.HasSingleFusedMapCache("Layers") is False and client.IsFixedScaleMap("Layers") is False
    assert client.GetSupportedImageReturnTypes() == "esriImageReturnURL"
    properties = client.GetDocumentInfo()  # zeep unwraps the PropertySet's one PropertyArray
    doc = {p.Key: p.Value for p in properties.PropertySetProperty}
    assert doc["Title"] == ds.MAP_TITLE
    f = factory(gateway, service, False)
    legend = client.GetLegendInfo("Layers", f.ArrayOfInt(Int=[]), f.MapServerLegendPatch(Width=20, Height=20,
                                                                                        ImageDPI=96),
                                  f.ImageType(ImageFormat="esriImagePNG", ImageReturnType="esriImageReturnMimeData"))
    rest = fetch(gateway.services_url(service) + "/legend", {"f": "json"}).json()
    groups = {i.LayerID: i.LegendGroups.MapServerLegendGroup for i in legend}  # zeep unwraps the ArrayOf…
    ours = {key: [c.Label or "" for c in found[0].LegendClasses.MapServerLegendClass] for key, found in groups.items()}
    assert ours == {layer["layerId"]: [e["label"] for e in layer["legend"]] for layer in rest["layers"]}
    first = legend[0].LegendGroups.MapServerLegendGroup[0].LegendClasses.MapServerLegendClass[0]
    assert first.SymbolImage.ImageData.startswith(b"\x89PNG")
    by_url = client.GetLegendInfo("Layers", f.ArrayOfInt(Int=[1]), f.MapServerLegendPatch(Width=20, Height=20,
                                                                                         ImageDPI=96),
                                  f.ImageType(ImageFormat="esriImagePNG", ImageReturnType="esriImageReturnURL"))
    assert [i.LayerID for i in by_url] == [1]
    url = by_url[0].LegendGroups.MapServerLegendGroup[0].LegendClasses.MapServerLegendClass[0]
    assert fetch(url.SymbolImage.ImageURL).body.startswith(b"\x89PNG")


def test_catalog(gateway: Gateway) -> None:
    catalog = zeep.Client(gateway.url + "/arcgis/services?wsdl").service
    assert catalog.GetMessageVersion() == "esriArcGISVersion10"
    assert catalog.GetMessageFormats() == "esriServiceCatalogMessageFormatSoap"
    assert catalog.RequiresTokens() is False
    assert catalog.GetFolders() == fetch(gateway.url + "/arcgis/rest/services", {"f": "json"}).json()["folders"]
    names = {d.Name: d for d in catalog.GetServiceDescriptions()}
    assert names["ms/World"].TypeName == "MapServer"
    assert names["ms/World"].Url == soap_url(gateway, "ms/World")
    assert "img/Elevation" not in names  # an ImageServer has no SOAP endpoint here
    assert {d.Name for d in catalog.GetServiceDescriptionsEx("qgis")} == {"qgis/All", "qgis/World", "qgis/Time"}
    info = fetch(gateway.url + "/arcgis/rest/info", {"f": "json"}).json()
    assert info["soapUrl"] == gateway.url + "/arcgis/services"
    root = fetch(gateway.services_url("ms/World"), {"f": "json"}).json()
    assert root["soapUrl"] == soap_url(gateway, "ms/World")


def test_arcmap_call_sequence(gateway: Gateway) -> None:
    """The operations ArcMap calls when it adds an "ArcGIS Server" connection and draws a service (as mapproxy-java
    had to answer them), in that order; JPEG, which ArcMap is known to display."""
    catalog = zeep.Client(gateway.url + "/arcgis/services?wsdl").service
    assert catalog.GetMessageVersion() == "esriArcGISVersion10"
    assert catalog.GetMessageFormats() == "esriServiceCatalogMessageFormatSoap"
    assert "ms" in catalog.GetFolders()
    url = next(d.Url for d in catalog.GetServiceDescriptions() if d.Name == "qgis/World")
    client = zeep.Client(url + "?wsdl").service
    f = zeep.Client(url + "?wsdl").type_factory(NS)
    name = client.GetDefaultMapName()
    info = client.GetServerInfo(name)
    assert client.GetSupportedImageReturnTypes() == "esriImageReturnURL"
    assert not client.HasSingleFusedMapCache(name) and not client.IsFixedScaleMap(name)
    assert catalog.GetTokenServiceURL() in ("", None)
    legend = client.GetLegendInfo(name, f.ArrayOfInt(Int=[]), f.MapServerLegendPatch(Width=20, Height=20,
                                                                                     ImageDPI=96),
                                  f.ImageType(ImageFormat="esriImagePNG", ImageReturnType="esriImageReturnURL"))
    assert {i.LayerID for i in legend} == {i.LayerID for i in info.MapLayerInfos.MapLayerInfo}
    md = default_description(client)
    md.MapArea = extent_of(f, (-30.0, 20.0, 50.0, 75.0), 4326)
    img = client.ExportMapImage(md, image_description(f, "esriImageJPG", "esriImageReturnURL", (800, 550)))
    picture = fetch(img.ImageURL)
    assert picture.content_type == "image/jpeg" and picture.body.startswith(b"\xff\xd8")
    assert img.ImageType == "image/jpeg" and (img.ImageWidth, img.ImageHeight) == (800, 550)


def test_wsdl_address_and_answer_namespace(gateway: Gateway) -> None:
    wsdl = etree.fromstring(fetch(soap_url(gateway, "ms/World") + "?wsdl").body)
    address = wsdl.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address is not None and address.get("location") == soap_url(gateway, "ms/World")
    proxied = fetch(soap_url(gateway, "ms/World") + "?wsdl", headers={"X-Forwarded-Host": "maps.example.org",
                                                                      "X-Forwarded-Proto": "https"})
    assert b'location="https://maps.example.org/arcgis/services/ms/World/MapServer"' in proxied.body
    for ns in ("http://www.esri.com/schemas/ArcGIS/9.0", "http://www.esri.com/schemas/ArcGIS/10.0"):
        reply = post(gateway, "/arcgis/services/ms/World/MapServer", envelope("GetDefaultMapName", ns=ns))
        assert reply.status == 200, reply.body[:300]
        answer = etree.fromstring(reply.body).find(f"{{{SOAP_ENV}}}Body/{{{ns}}}GetDefaultMapNameResponse")
        assert answer is not None and answer.findtext("Result") == "Layers"


# ------------------------------------------------------------------------------------ faults

MAP = "/arcgis/services/ms/World/MapServer"
EXPORT = ("<MapDescription><Name>Layers</Name>{area}{layers}<Rotation>0</Rotation>{extra}</MapDescription>"
          "<ImageDescription><ImageType><ImageFormat>{fmt}</ImageFormat><ImageReturnType>esriImageReturnMimeData"
          "</ImageReturnType></ImageType><ImageDisplay><ImageHeight>100</ImageHeight><ImageWidth>{width}</ImageWidth>"
          "<ImageDPI>96</ImageDPI></ImageDisplay></ImageDescription>")
AREA = ('<MapArea xsi:type="e:MapExtent"><Extent xsi:type="e:EnvelopeN"><XMin>-10</XMin><YMin>-10</YMin>'
        '<XMax>10</XMax><YMax>10</YMax></Extent></MapArea>')


def export_body(area: str = AREA, layers: str = "", extra: str = "", fmt: str = "esriImagePNG",
                width: str = "100") -> str:
    return envelope("ExportMapImage", EXPORT.format(area=area, layers=layers, extra=extra, fmt=fmt, width=width))


@pytest.mark.parametrize(("body", "code", "named"), [
    ("<not xml", "soap:Client", "Envelope"),
    ("<a/>", "soap:Client", "Envelope"),
    (envelope("Identify"), "soap:Client", "Identify"),
    (envelope("GetServerInfo", "<MapName>Other</MapName>"), "soap:Client", "MapName"),
    (export_body(width="abc"), "soap:Client", "ImageWidth"),
    (export_body(fmt="esriImageEMF"), "soap:Client", "ImageFormat"),
    (export_body(fmt="esriImagePS"), "soap:Client", "ImageFormat"),
    (export_body(fmt="esriImageAI"), "soap:Client", "ImageFormat"),
    (export_body(layers="<LayerDescriptions><LayerDescription><LayerID>99</LayerID><Visible>true</Visible>"
                        "</LayerDescription></LayerDescriptions>"), "soap:Client", "LayerID"),
    (export_body(layers="<LayerDescriptions><LayerDescription><LayerID>1</LayerID><Visible>true</Visible>"
                        "<SelectionFeatures><Int>1</Int></SelectionFeatures></LayerDescription>"
                        "</LayerDescriptions>"), "soap:Client", "SelectionFeatures"),
    (export_body(extra="<CustomGraphics><GraphicElement/></CustomGraphics>"), "soap:Client", "CustomGraphics"),
    (export_body(layers="<LayerDescriptions><LayerDescription><LayerID>1</LayerID><Visible>true</Visible>"
                        "<DefinitionExpression>name = </DefinitionExpression></LayerDescription>"
                        "</LayerDescriptions>"), "soap:Client", "DefinitionExpression"),
    (export_body(area=AREA.replace("<XMax>10</XMax>", "<XMax>ten</XMax>")), "soap:Client", "XMax"),
    (export_body(area=AREA.replace("MapExtent", "FeatureExtent")), "soap:Client", "MapArea"),
])
def test_faults_name_the_element(gateway: Gateway, body: str, code: str, named: str) -> None:
    code_found, message = fault_of(post(gateway, MAP, body))
    assert code_found == code and named in message, message


def test_backend_failure_is_a_server_fault(gateway: Gateway) -> None:
    code, message = fault_of(post(gateway, "/arcgis/services/bad/down/MapServer", export_body()))
    assert code == "soap:Server" and "Traceback" not in message
    for path in ("/arcgis/services/nope/MapServer", "/arcgis/services/img/Elevation/ImageServer"):
        code, _ = fault_of(post(gateway, path, envelope("GetDefaultMapName")))
        assert code == "soap:Client"
    code, message = fault_of(post(gateway, "/arcgis/services", envelope("GetDefaultMapName")))
    assert code == "soap:Client" and "GetDefaultMapName" in message  # not an operation of the catalog
    code, message = fault_of(fetch(gateway.url + MAP))  # a GET without ?wsdl
    assert code == "soap:Client" and "wsdl" in message
    code, message = fault_of(fetch(gateway.url + MAP, headers={"X-Big": "x" * 20000}))  # refused before routing
    assert code == "soap:Client" and "header" in message


def test_zeep_raises_the_fault(gateway: Gateway) -> None:
    with pytest.raises(Fault, match="ImageFormat"):
        client, f = own_client(gateway, "ms/World"), factory(gateway, "ms/World", False)
        md = default_description(client)
        client.ExportMapImage(md, image_description(f, "esriImageEMF", "esriImageReturnMimeData", (100, 100)))


def test_xxe_and_billion_laughs_are_refused_quickly(gateway: Gateway, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
           + envelope("GetServerInfo", "<MapName>&x;</MapName>"))
    laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)) + "]>" \
        + envelope("GetServerInfo", "<MapName>&lol9;</MapName>")
    deep = envelope("GetServerInfo", "<a>" * 5000 + "</a>" * 5000)
    before = _rss(gateway)
    for body in (xxe, laughs, deep):
        started = time.monotonic()
        reply = post(gateway, MAP, body)
        code, message = fault_of(reply)
        assert code == "soap:Client" and b"TOP-SECRET" not in reply.body
        assert time.monotonic() - started < 2
    assert _rss(gateway) - before < 32 * 1024 * 1024  # nothing was expanded (a billion laughs is gigabytes)
    code, message = fault_of(post(gateway, MAP, b"<x>" + b"a" * (5 * 1024 * 1024) + b"</x>"))
    assert code == "soap:Client" and "larger" in message

    def chunks() -> Any:  # no Content-Length: refused while it is read
        for _ in range(80):
            yield b"<x>" + b"a" * 65536

    request = urllib.request.Request(gateway.url + MAP, data=chunks(), headers={
        "Content-Type": "text/xml", "Transfer-Encoding": "chunked"})
    try:
        urllib.request.urlopen(request, timeout=30)
        raise AssertionError("a 5 MiB chunked body was accepted")
    except urllib.error.HTTPError as err:
        assert err.code == 500 and b"larger" in err.read()
    # a body sent in many chunks is read whole
    big = envelope("GetMapName", "<Index>0</Index>" + "<!-- pad -->" * 20000)
    reply = post(gateway, MAP, big)
    assert reply.status == 200 and b"Layers" in reply.body


def _rss(gateway: Gateway) -> int:
    """The gateway process's resident memory in bytes."""
    assert gateway.proc is not None
    status = Path(f"/proc/{gateway.proc.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) * 1024


def test_mime_data_is_base64_in_the_envelope(gateway: Gateway) -> None:
    reply = post(gateway, MAP, export_body())
    assert reply.status == 200 and reply.content_type == "text/xml"
    result = etree.fromstring(reply.body).find(f"{{{SOAP_ENV}}}Body/{{{NS}}}ExportMapImageResponse/Result")
    assert result is not None
    assert [child.tag for child in result] == ["ImageData", "ImageURL", "Extent", "VisibleLayerIDs", "MapScale",
                                               "ImageHeight", "ImageWidth", "ImageDPI", "ImageType"]
    assert base64.b64decode(result.findtext("ImageData") or "").startswith(b"\x89PNG")
