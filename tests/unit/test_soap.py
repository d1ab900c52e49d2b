"""The pure SOAP translation: safe envelope parsing, ExportMapImage → REST export parameters, answers in schema
order, the generated WSDL."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import zeep
from lxml import etree

from tests.unit.test_export_plan import context, lid
from translators.arcgis.export import plan_export
from translators.arcgis.soap import answers, catalog
from translators.arcgis.soap.mapserver import element_error, export_request
from translators.arcgis.soap.schema import TYPES, fields
from translators.arcgis.soap.wsdl import CATALOG_TYPES, MAPSERVER_OPERATIONS, mapserver_wsdl
from translators.arcgis.soap.xml import envelope, fault, parse_call
from translators.errors import InvalidParameter, UnsupportedParameter

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "http://www.esri.com/schemas/ArcGIS/10.0"


def call(operation: str, inner: str = "", ns: str = NS) -> bytes:
    return (f'<s:Envelope xmlns:s="{SOAP}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><s:Body>'
            f'<e:{operation} xmlns:e="{ns}">{inner}</e:{operation}></s:Body></s:Envelope>').encode()


def export(description: str = "", image: str = "") -> bytes:
    return call("ExportMapImage", f"<MapDescription><Name>Layers</Name>{description}<Rotation>0</Rotation>"
                                  f"</MapDescription><ImageDescription>{image}</ImageDescription>")


AREA = ('<MapArea xsi:type="e:MapExtent"><Extent xsi:type="e:EnvelopeN"><XMin>0</XMin><YMin>0</YMin><XMax>10</XMax>'
        '<YMax>10</YMax><SpatialReference xsi:type="e:GeographicCoordinateSystem"><WKID>4326</WKID>'
        '</SpatialReference></Extent></MapArea>')


def test_operation_and_namespace_by_local_name() -> None:
    parsed = parse_call(call("GetServerInfo", "<MapName>Layers</MapName>", "http://www.esri.com/schemas/ArcGIS/9.0"))
    assert (parsed.operation, parsed.namespace) == ("GetServerInfo", "http://www.esri.com/schemas/ArcGIS/9.0")
    assert parsed.body.string("MapName") == "Layers"


@pytest.mark.parametrize(("data", "named"), [
    (b"<oops", "Envelope"),
    (b"<Envelope/>", "Envelope"),
    (f'<s:Envelope xmlns:s="{SOAP}"/>'.encode(), "Body"),
    (f'<s:Envelope xmlns:s="{SOAP}"><s:Body><a/><b/></s:Body></s:Envelope>'.encode(), "Body"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + call("GetMapCount"),
     "Envelope"),
    (call("GetServerInfo", "<a>" * 100 + "</a>" * 100), "Envelope"),
    (b" " * (5 * 1024 * 1024), "Envelope"),
])
def test_malformed_or_hostile_envelopes_name_the_element(data: bytes, named: str) -> None:
    started = time.monotonic()
    with pytest.raises(InvalidParameter) as caught:
        parse_call(data)
    assert caught.value.parameter == named
    assert time.monotonic() - started < 1


def test_export_translates_into_rest_export_parameters() -> None:
    ctx = context("mapserver", layers=["overlays", "rgb"])
    overlays, regions, cities = lid(ctx, "overlays"), lid(ctx, "regions"), lid(ctx, "cities")
    layers = (f"<LayerDescriptions><LayerDescription><LayerID>{cities}</LayerID><Visible>false</Visible>"
              f"<DefinitionExpression></DefinitionExpression></LayerDescription><LayerDescription>"
              f"<LayerID>{regions}</LayerID><Visible>true</Visible><DefinitionExpression>id &gt; 3"
              f"</DefinitionExpression></LayerDescription></LayerDescriptions>")
    sr = ('<SpatialReference xsi:type="e:ProjectedCoordinateSystem"><WKT>PROJCS["x"]</WKT></SpatialReference>'
          '<TransparentColor xsi:type="e:RgbColor"><Red>1</Red><Green>2</Green><Blue>3</Blue></TransparentColor>'
          '<BackgroundSymbol xsi:type="e:SimpleFillSymbol"><Color xsi:type="e:RgbColor"><Red>1</Red><Green>2'
          '</Green><Blue>3</Blue></Color><Style>esriSFSSolid</Style></BackgroundSymbol>'
          '<TimeValue xsi:type="e:TimeExtent"><StartTime>2020-01-01T00:00:00Z</StartTime></TimeValue>')
    image = ("<ImageType><ImageFormat>esriImagePNG24</ImageFormat><ImageReturnType>esriImageReturnMimeData"
             "</ImageReturnType></ImageType><ImageDisplay><ImageHeight>300</ImageHeight><ImageWidth>400</ImageWidth>"
             "<ImageDPI>150</ImageDPI></ImageDisplay>")
    request = export_request(parse_call(export(AREA + layers + sr, image)).body, ctx)
    params = {name: request.params.get(name) or "" for name in (
        "bbox", "bboxSR", "imageSR", "layers", "layerDefs", "transparent", "format", "size", "dpi", "time")}
    assert request.mime_data
    assert params["bbox"] == "0,0,10,10" and params["bboxSR"] == "4326"
    assert json.loads(params["imageSR"]) == {"wkt": 'PROJCS["x"]'}
    assert params["layers"] == "show:" + ",".join(str(i) for i in sorted({regions, lid(ctx, "rgb")}))
    assert json.loads(params["layerDefs"]) == {str(regions): "id > 3"}
    assert params["transparent"] == "true" and params["format"] == "png24"
    assert params["size"] == "400,300" and params["dpi"] == "150"
    assert params["time"] == "1577836800000,null"
    hidden_group = layers.replace(f"<LayerID>{cities}</LayerID><Visible>false",
                                  f"<LayerID>{overlays}</LayerID><Visible>false")
    request = export_request(parse_call(export(AREA + hidden_group)).body, ctx)
    assert request.params.get("layers") == f"show:{lid(ctx, 'rgb')}"  # a hidden group hides its layers


def test_center_and_scale_and_default_extent() -> None:
    ctx = context("mapserver", layers=["overlays", "rgb"])
    area = ('<MapArea xsi:type="e:CenterAndScale"><Center xsi:type="e:PointN"><X>5</X><Y>6</Y></Center>'
            '<Scale>1000000</Scale></MapArea>')
    params = export_request(parse_call(export(area)).body, ctx).params
    plan = plan_export(params, ctx)
    assert plan.scale == pytest.approx(1e6) and (plan.extent[0] + plan.extent[2]) / 2 == pytest.approx(5)
    default = plan_export(export_request(parse_call(export()).body, ctx).params, ctx)
    x0, y0, x1, y1 = ctx.full_extent  # without MapArea: the full extent, grown to the image's aspect
    assert default.extent[0] <= x0 and default.extent[1] <= y0 and default.extent[2] >= x1 and default.extent[3] >= y1


@pytest.mark.parametrize(("description", "image", "named"), [
    ("", "<ImageType><ImageFormat>esriImageEMF</ImageFormat><ImageReturnType>esriImageReturnURL</ImageReturnType>"
         "</ImageType>", "ImageFormat"),
    ("", "<ImageType><ImageFormat>esriImagePNG</ImageFormat><ImageReturnType>x</ImageReturnType></ImageType>",
     "ImageReturnType"),
    ("", "<ImageDisplay><ImageHeight>1.5</ImageHeight><ImageWidth>2</ImageWidth><ImageDPI>96</ImageDPI>"
         "</ImageDisplay>", "ImageHeight"),
    ("<CustomGraphics><GraphicElement/></CustomGraphics>", "", "CustomGraphics"),
    ("<GeoTransformation><WKID>1188</WKID></GeoTransformation>", "", "GeoTransformation"),
    ('<MapArea xsi:type="e:CenterAndSize"/>', "", "MapArea"),
    ("<LayerDescriptions><LayerDescription><LayerID>42</LayerID></LayerDescription></LayerDescriptions>", "",
     "LayerID"),
    ("<LayerDescriptions><LayerDescription><LayerID>0</LayerID><Visible>maybe</Visible></LayerDescription>"
     "</LayerDescriptions>", "", "Visible"),
    ('<TimeValue xsi:type="e:TimeInstant"><Time>yesterday</Time></TimeValue>', "", "Time"),
])
def test_refusals_name_the_element(description: str, image: str, named: str) -> None:
    ctx = context("mapserver", layers=["overlays", "rgb"])
    with pytest.raises(InvalidParameter) as caught:
        export_request(parse_call(export(description, image)).body, ctx)
    assert named in caught.value.parameter


def test_planner_errors_are_renamed_to_elements() -> None:
    renamed = element_error(UnsupportedParameter("layerDefs", "bad clause"))
    assert isinstance(renamed, InvalidParameter) and renamed.parameter.endswith("DefinitionExpression")
    assert "bad clause" in renamed.message


def test_answers_follow_the_schema_order() -> None:
    ctx = context("mapserver", layers=["overlays", "rgb"])
    info = answers.server_info(ctx, "d", "c")
    body = envelope(NS, "GetServerInfo", [("Result", "MapServerInfo", info)])
    result = etree.fromstring(body).find(f"{{{SOAP}}}Body/{{{NS}}}GetServerInfoResponse/Result")
    assert result is not None
    names = [child.tag for child in result]
    order = [f.name for f in fields("MapServerInfo")]
    assert names == sorted(names, key=order.index) and "DefaultMapDescription" in names
    layer = result.find("MapLayerInfos/MapLayerInfo")
    assert layer is not None
    tags = [child.tag for child in layer]
    assert tags == sorted(tags, key=[f.name for f in fields("MapLayerInfo")].index)


def test_generated_wsdl_is_read_by_zeep(tmp_path: Any) -> None:
    path = tmp_path / "MapServer.wsdl"
    path.write_bytes(mapserver_wsdl("World", "http://gw.example/arcgis/services/World/MapServer"))
    client = zeep.Client(str(path))
    port = client.wsdl.services["World_MapServer"].ports["MapServerPort"]
    assert port.binding_options["address"] == "http://gw.example/arcgis/services/World/MapServer"
    assert set(port.binding._operations) == set(MAPSERVER_OPERATIONS)
    assert all(client.get_type(f"{{http://www.esri.com/schemas/ArcGIS/10.7}}{name}") for name in TYPES
               if name not in CATALOG_TYPES or name == "ArrayOfString")


def test_catalog_folders_and_descriptions() -> None:
    names = ["Plain", "ms/World", "ms/All", "qgis/World"]
    body = parse_call(call("GetServiceDescriptionsEx", "<FolderName>MS</FolderName>")).body
    assert catalog.folder_filter(body, names, ["ms", "qgis"]) == ["ms/World", "ms/All"]
    root = parse_call(call("GetServiceDescriptionsEx", "<FolderName></FolderName>")).body
    assert catalog.folder_filter(root, names, ["ms", "qgis"]) == ["Plain"]
    with pytest.raises(InvalidParameter, match="FolderName"):
        catalog.folder_filter(parse_call(call("GetServiceDescriptionsEx", "<FolderName>x</FolderName>")).body,
                              names, ["ms"])
    described = catalog.service_descriptions("https://gw", ["ms/World"])
    assert described[0]["Url"] == "https://gw/arcgis/services/ms/World/MapServer"


def test_fault_shape() -> None:
    root = etree.fromstring(fault("Client", "Invalid value for parameter 'X'"))
    found = root.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert found is not None
    assert [child.tag for child in found] == ["faultcode", "faultstring"]
    assert found.findtext("faultcode") == "soap:Client"
