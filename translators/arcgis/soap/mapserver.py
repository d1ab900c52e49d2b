"""The SOAP MapServer operations, pure: a SOAP request → the REST export parameters; the service → SOAP answers.

``ExportMapImage`` is translated into the very parameters of the REST ``export`` (``bbox``, ``bboxSR``,
``imageSR``, ``size``, ``dpi``, ``format``, ``transparent``, ``layers``, ``layerDefs``, ``rotation``, ``time``,
``mapScale``), so both front doors share one planner (:func:`translators.arcgis.export.plan_export`); the
planner's errors, which name REST parameters, are renamed into the SOAP elements they came from by
:func:`element_error`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from translators.arcgis.layers import LayerTree
from translators.arcgis.legend import LegendRequest, parse_legend
from translators.arcgis.map_context import ServiceContext
from translators.arcgis.soap.schema import ENUMS
from translators.arcgis.soap.xml import Node
from translators.crs import SpatialRef
from translators.errors import ArcGISError, InvalidParameter, UnsupportedParameter
from translators.params import Params, format_number

MAP_NAME = "Layers"  # ArcMap's default data-frame name, what ArcGIS Server answers for a one-frame service
FORMATS = {"esriImagePNG": "png", "esriImagePNG24": "png24", "esriImagePNG32": "png32", "esriImageJPG": "jpg",
           "esriImageGIF": "gif", "esriImageBMP": "bmp", "esriImageTIFF": "tiff", "esriImagePDF": "pdf",
           "esriImageSVG": "svg", "esriImageJPGPNG": "png32"}
WHITE = (255, 255, 255)
# The SOAP element each REST parameter of the planner was made from, to name it in a fault.
ELEMENTS = {
    "bbox": "MapDescription/MapArea/Extent", "bboxSR": "MapDescription/MapArea/Extent/SpatialReference",
    "imageSR": "MapDescription/SpatialReference", "size": "ImageDescription/ImageDisplay",
    "dpi": "ImageDescription/ImageDisplay/ImageDPI", "format": "ImageDescription/ImageType/ImageFormat",
    "layers": "MapDescription/LayerDescriptions",
    "layerDefs": "MapDescription/LayerDescriptions/LayerDescription/DefinitionExpression",
    "rotation": "MapDescription/Rotation", "time": "MapDescription/TimeValue",
    "timeRelation": "MapDescription/TimeRelation", "mapScale": "MapDescription/MapArea/Scale",
    "layerTimeOptions": "MapDescription/LayerDescriptions/LayerDescription/UseTime",
}


@dataclass(frozen=True)
class ExportRequest:
    """An ``ExportMapImage``: the REST export parameters it means and how the image is returned."""

    params: Params
    mime_data: bool  # esriImageReturnMimeData: the bytes in the answer; else an URL to them


def element_error(exc: ArcGISError) -> ArcGISError:
    """The planner's error with the REST parameter it names replaced by the SOAP element it came from."""
    if isinstance(exc, InvalidParameter) and exc.parameter in ELEMENTS:
        problem = exc.message.split(": ", 1)[-1]
        return InvalidParameter(ELEMENTS[exc.parameter], problem, exc.details)
    return exc


def check_map_name(node: Node, name: str = "MapName") -> None:
    """The map (data frame) asked for must be the service's one map."""
    given = node.string(name)
    if given is not None and given.lower() != MAP_NAME.lower():
        raise InvalidParameter(f"{node.path}/{name}", f"the service has one map, '{MAP_NAME}', not '{given[:80]}'")


def export_request(body: Node, ctx: ServiceContext) -> ExportRequest:
    """Translate ``ExportMapImage(MapDescription, ImageDescription)`` into REST export parameters."""
    description = body.require("MapDescription")
    image = body.require("ImageDescription")
    _refuse_unsupported(description)
    pairs: list[tuple[str, str]] = []
    pairs += _map_area(description, ctx)
    if (sr := description.child("SpatialReference")) is not None:
        pairs.append(("imageSR", sr_param(sr)))
    if (rotation := description.number("Rotation")) is not None:
        pairs.append(("rotation", format_number(rotation)))
    pairs += _layers(description, ctx.tree)
    pairs += _time(description)
    pairs.append(("transparent", "true" if _transparent(description) else "false"))
    mime_data = False
    if (kind := image.child("ImageType")) is not None:
        fmt = kind.require("ImageFormat")
        if fmt.text not in FORMATS:
            raise UnsupportedParameter(fmt.path, f"'{fmt.text[:40]}' is not available from this service "
                                                 f"(supported: {', '.join(FORMATS)})")
        pairs.append(("format", FORMATS[fmt.text]))
        mime_data = _return_type(kind.require("ImageReturnType")) == "esriImageReturnMimeData"
    if (display := image.child("ImageDisplay")) is not None:
        width, height = display.integer("ImageWidth"), display.integer("ImageHeight")
        if width is None or height is None or width < 1 or height < 1:
            raise InvalidParameter(display.path, "ImageWidth and ImageHeight must be positive integers")
        pairs.append(("size", f"{width},{height}"))
        if (dpi := display.number("ImageDPI")) is not None:
            pairs.append(("dpi", format_number(dpi)))
    return ExportRequest(Params(pairs), mime_data)


def _return_type(node: Node) -> str:
    if node.text not in ENUMS["esriImageReturnType"]:
        raise InvalidParameter(node.path, f"expected one of {', '.join(ENUMS['esriImageReturnType'])}")
    return node.text


def _refuse_unsupported(description: Node) -> None:
    """What a WMS cannot draw is refused, never silently left out of the picture."""
    graphics = description.child("CustomGraphics")
    if graphics is not None and len(graphics.element):
        raise UnsupportedParameter(graphics.path, "custom graphics are not supported by this service")
    transformation = description.child("GeoTransformation")
    if transformation is not None and len(transformation.element):
        raise UnsupportedParameter(transformation.path, "datum transformations are not supported by this service")
    area = description.child("MapArea")
    if area is not None and area.xsi_type not in (None, "MapExtent", "CenterAndScale"):
        raise UnsupportedParameter(area.path, f"'{area.xsi_type}' is not supported (use MapExtent or "
                                              "CenterAndScale)")
    for layer in _layer_nodes(description):
        for name in ("SelectionFeatures", "DrawingDescription", "Source"):
            found = layer.child(name)
            if found is not None and (len(found.element) or found.text):
                raise UnsupportedParameter(found.path, "not supported by this service (its WMS backend has no "
                                                       "equivalent)")


def _layer_nodes(description: Node) -> list[Node]:
    found = description.child("LayerDescriptions")
    return found.children("LayerDescription") if found is not None else []


def sr_param(node: Node) -> str:
    """A SOAP ``SpatialReference`` as the REST SR parameter: its WKID, else its WKT."""
    wkid = node.integer("WKID") or node.integer("LatestWKID")
    if wkid:
        return str(wkid)
    wkt = node.string("WKT")
    if wkt:
        return json.dumps({"wkt": wkt})
    raise InvalidParameter(node.path, "the spatial reference has neither WKID nor WKT")


def _map_area(description: Node, ctx: ServiceContext) -> list[tuple[str, str]]:
    area = description.child("MapArea")
    if area is None:
        return [("bbox", ",".join(format_number(v) for v in ctx.full_extent)), ("bboxSR", sr_text(ctx.sr))]
    if area.xsi_type == "CenterAndScale":
        center = area.require("Center")
        x, y = center.number("X"), center.number("Y")
        scale = area.number("Scale")
        if x is None or y is None or scale is None:
            raise InvalidParameter(area.path, "CenterAndScale needs Center/X, Center/Y and Scale")
        pad = max(abs(x), abs(y), 1.0) * 1e-6  # a box around the centre: mapScale re-centres the extent on it
        pairs = [("bbox", ",".join(format_number(v) for v in (x - pad, y - pad, x + pad, y + pad))),
                 ("mapScale", format_number(scale))]
        sr = center.child("SpatialReference")
    else:
        extent = area.require("Extent")
        values = [extent.number(k) for k in ("XMin", "YMin", "XMax", "YMax")]
        if any(v is None for v in values):
            raise InvalidParameter(extent.path, "the envelope needs XMin, YMin, XMax and YMax")
        pairs = [("bbox", ",".join(format_number(v) for v in values if v is not None))]
        sr = extent.child("SpatialReference")
    # An envelope without its own SR is in the map's SR (ArcGIS), else in the service's.
    sr = sr or description.child("SpatialReference")
    pairs.append(("bboxSR", sr_param(sr) if sr is not None else sr_text(ctx.sr)))
    return pairs


def sr_text(sr: SpatialRef) -> str:
    """A service SR as a REST SR parameter."""
    return json.dumps(sr.to_json())


def _layers(description: Node, tree: LayerTree) -> list[tuple[str, str]]:
    """``LayerDescriptions`` → ``layers=show:<leaves drawn>`` and ``layerDefs``: a layer draws when it and every
    group above it are visible; layers not described keep their default visibility."""
    nodes = _layer_nodes(description)
    if not nodes:
        return []
    visible = {layer.id: layer.default_visibility for layer in tree.layers}
    defs: dict[str, str] = {}
    times: dict[str, dict[str, object]] = {}
    for node in nodes:
        layer_id = node.integer("LayerID")
        if layer_id is None or layer_id not in tree.by_id:
            raise InvalidParameter(f"{node.path}/LayerID", f"layer {layer_id} does not exist in this service")
        visible[layer_id] = bool(node.boolean("Visible", visible[layer_id]))
        expression = node.string("DefinitionExpression")
        if expression:
            defs[str(layer_id)] = expression
        if options := _time_options(node):
            times[str(layer_id)] = options
    drawn = [layer.id for layer in tree.layers if all(visible[i] for i in (layer.id, *tree.ancestors(layer.id)))
             and not layer.sub_ids]
    if description.boolean("HonorLayerReordering"):
        pairs = [("dynamicLayers", _reordered(drawn, [n.integer("LayerID") for n in nodes], tree))]
    else:
        pairs = [("layers", "show:" + ",".join(str(i) for i in drawn))]
    if defs:
        pairs.append(("layerDefs", json.dumps(defs)))
    if times:
        pairs.append(("layerTimeOptions", json.dumps(times)))
    return pairs


def _reordered(drawn: list[int], described: list[int | None], tree: LayerTree) -> str:
    """``HonorLayerReordering``: the drawn leaves in the order of the layer descriptions (the first on top), those
    not described after them in the service's order, as REST ``dynamicLayers`` of the map layers."""
    order: list[int] = []
    for layer_id in described:
        if layer_id is None:
            continue
        for leaf in (layer_id, *tree.descendants(layer_id)):
            if leaf in drawn and leaf not in order:
                order.append(leaf)
    order += [leaf for leaf in drawn if leaf not in order]
    return json.dumps([{"id": i, "source": {"type": "mapLayer", "mapLayerId": i}} for i in order])


def _time_options(node: Node) -> dict[str, object]:
    """A layer's ``UseTime``, ``TimeDataCumulative``, ``TimeOffset`` and ``TimeOffsetUnits`` as the REST
    ``layerTimeOptions`` entry (empty when the layer says nothing about time)."""
    options: dict[str, object] = {}
    for key, value in (("useTime", node.boolean("UseTime")),
                       ("timeDataCumulative", node.boolean("TimeDataCumulative")),
                       ("timeOffset", node.number("TimeOffset")), ("timeOffsetUnits", node.string("TimeOffsetUnits"))):
        if value is not None and value != "":
            options[key] = value
    return options


def _epoch_ms(node: Node, name: str) -> str:
    text = node.string(name)
    if not text:
        return "null"
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter(f"{node.path}/{name}", f"expected an xs:dateTime, got '{text[:40]}'") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return str(round(moment.timestamp() * 1000))


def _time(description: Node) -> list[tuple[str, str]]:
    value = description.child("TimeValue")
    if value is None:
        return []
    if value.xsi_type == "TimeInstant":
        pairs = [("time", _epoch_ms(value, "Time"))]
    elif value.xsi_type == "TimeExtent":
        if value.boolean("Empty"):
            return []
        pairs = [("time", f"{_epoch_ms(value, 'StartTime')},{_epoch_ms(value, 'EndTime')}")]
    else:
        raise InvalidParameter(value.path, "expected an xsi:type of TimeInstant or TimeExtent")
    if (relation := description.string("TimeRelation")) is not None:
        pairs.append(("timeRelation", relation))
    return pairs


def _rgb(node: Node | None) -> tuple[int, int, int] | None:
    if node is None:
        return None
    values = [node.integer(k) for k in ("Red", "Green", "Blue")]
    return (values[0], values[1], values[2]) if None not in values else None  # type: ignore[return-value]


def _transparent(description: Node) -> bool:
    """The seed's rule: the background is transparent when ``TransparentColor`` is the background colour."""
    wanted = _rgb(description.child("TransparentColor"))
    if wanted is None:
        return False
    symbol = description.child("BackgroundSymbol")
    background = _rgb(symbol.child("Color")) if symbol is not None else None
    return wanted == (background or WHITE)


def legend_request(body: Node, ctx: ServiceContext) -> tuple[LegendRequest, bool]:
    """``GetLegendInfo(MapName, LayerIDs, LegendPatch, ImageType)`` → the REST legend's request (patch size in
    pixels at 96 dpi, dpi, leaf layers) and whether the images come as data (else by URL)."""
    check_map_name(body)
    pairs: list[tuple[str, str]] = []
    patch = body.child("LegendPatch")
    if patch is not None:
        width, height, dpi = patch.number("Width"), patch.number("Height"), patch.number("ImageDPI")
        if width and height:
            if not (width.is_integer() and height.is_integer()):
                raise InvalidParameter(f"{patch.path}/Width", "the patch size must be whole pixels")
            pairs.append(("size", f"{int(width)},{int(height)}"))
        if dpi:
            pairs.append(("dpi", format_number(dpi)))
    try:
        request = parse_legend(Params(pairs), ctx)
    except InvalidParameter as exc:
        raise InvalidParameter(f"{body.path}/LegendPatch", exc.message.split(": ", 1)[-1]) from None
    ids_node = body.child("LayerIDs")
    ids = [n.text for n in ids_node.children("Int")] if ids_node is not None else []
    layers = list(request.layers)
    if ids:
        wanted: list[int] = []
        for text in ids:
            if not text.lstrip("-").isdigit() or int(text) not in ctx.tree.by_id:
                raise InvalidParameter(f"{body.path}/LayerIDs", f"layer {text[:20]} does not exist in this service")
            wanted += [int(text), *ctx.tree.descendants(int(text))]
        layers = [layer for layer in layers if layer.id in wanted]
    kind = body.child("ImageType")
    mime_data = kind is not None and _return_type(kind.require("ImageReturnType")) == "esriImageReturnMimeData"
    return LegendRequest(request.width, request.height, request.dpi, tuple(layers)), mime_data
