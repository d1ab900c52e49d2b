"""SOAP answers of the MapServer built from the same service context as the REST resources."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from translators.arcgis.export import ExportPlan
from translators.arcgis.layers import LayerTree, MapLayer
from translators.arcgis.legend import LegendEntry
from translators.arcgis.map_context import ServiceContext
from translators.arcgis.mapservice import layer_summary
from translators.arcgis.soap.mapserver import MAP_NAME, WHITE
from translators.arcgis.soap.schema import ENUMS
from translators.arcgis.soap.xml import Typed
from translators.crs import SpatialRef, wgs84_bbox_to
from translators.ogc.wms import BBox


def spatial_reference(sr: SpatialRef) -> Typed:
    """A SOAP ``SpatialReference``: WKID when the SR has one, else its WKT."""
    kind = "GeographicCoordinateSystem" if sr.is_geographic else "ProjectedCoordinateSystem"
    if sr.wkid is not None:
        return Typed(kind, {"WKID": sr.wkid, "LatestWKID": sr.latest_wkid})
    return Typed(kind, {"WKT": sr.to_json()["wkt"]})


def envelope(bbox: BBox, sr: SpatialRef) -> Typed:
    """An ``EnvelopeN`` with its spatial reference."""
    x0, y0, x1, y1 = bbox
    return Typed("EnvelopeN", {"XMin": x0, "YMin": y0, "XMax": x1, "YMax": y1,
                               "SpatialReference": spatial_reference(sr)})


def _rgb(colour: tuple[int, int, int]) -> Typed:
    return Typed("RgbColor", {"Red": colour[0], "Green": colour[1], "Blue": colour[2]})


def layer_description(layer: MapLayer) -> dict[str, Any]:
    """The default ``LayerDescription`` of a layer."""
    return {"LayerID": layer.id, "Visible": layer.default_visibility, "ShowLabels": True, "ScaleSymbols": True,
            "SetSelectionSymbol": False, "SelectionBufferDistance": 0.0, "ShowSelectionBuffer": False,
            "DefinitionExpression": ""}


def map_description(ctx: ServiceContext) -> dict[str, Any]:
    """The ``DefaultMapDescription``: the full extent, every layer at its default visibility, the service SR and a
    white background (a client sets ``TransparentColor`` to it for a transparent picture)."""
    return {
        "Name": MAP_NAME,
        "MapArea": Typed("MapExtent", {"Extent": envelope(ctx.full_extent, ctx.sr)}),
        "LayerDescriptions": [layer_description(layer) for layer in ctx.tree.layers],
        "Rotation": 0.0,
        "SpatialReference": spatial_reference(ctx.sr),
        "BackgroundSymbol": Typed("SimpleFillSymbol", {"Color": _rgb(WHITE), "Style": "esriSFSSolid"}),
    }


def _layer_info(ctx: ServiceContext, layer: MapLayer, features: Collection[int], copyright_text: str
                ) -> dict[str, Any]:
    summary = layer_summary(ctx.tree, layer, features)
    box = wgs84_bbox_to(layer.wgs84_bbox, ctx.sr) if layer.wgs84_bbox else None
    return {
        "LayerID": layer.id, "Name": layer.name, "Description": layer.wms.abstract or layer.wms.title or "",
        "LayerType": summary["type"], "SourceDescription": "", "HasLabels": False, "CanSelect": False,
        "CanScaleSymbols": False, "MinScale": float(summary["minScale"]), "MaxScale": float(summary["maxScale"]),
        "Extent": envelope(box or ctx.full_extent, ctx.sr), "HasHyperlinks": False,
        "HasAttributes": layer.id in features, "CanIdentify": False, "CanFind": False,
        "IsFeatureLayer": layer.id in features, "DisplayField": "", "IDField": "",
        "IsComposite": layer.is_group, "SubLayerIDs": list(layer.sub_ids) or None,
        "ParentLayerID": layer.parent_id, "CopyrightText": copyright_text, "SupportsTime": layer.time is not None,
    }


def _iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def server_info(ctx: ServiceContext, description: str, copyright_text: str, features: Collection[int] = (),
                time_extent: Sequence[int] | None = None) -> dict[str, Any]:
    """``GetServerInfo``: the ``MapServerInfo`` of the service's one map, from the layer tree of the REST root;
    ``time_extent``: the REST root's ``timeInfo.timeExtent`` (epoch milliseconds)."""
    units = ctx.sr.units if ctx.sr.units in ENUMS["esriUnits"] else "esriUnknownUnits"
    return {
        "Name": MAP_NAME, "Description": description,
        "FullExtent": envelope(ctx.full_extent, ctx.sr), "Extent": envelope(ctx.full_extent, ctx.sr),
        "SpatialReference": spatial_reference(ctx.sr),
        "MapLayerInfos": [_layer_info(ctx, layer, features, copyright_text) for layer in ctx.tree.layers],
        "BackgroundColor": _rgb(WHITE),
        "DefaultMapDescription": map_description(ctx),
        "Units": units, "SupportedImageReturnTypes": "esriImageReturnURL",
        "CopyrightText": copyright_text,
        "FullTimeExtent": Typed("TimeExtent", {"StartTime": _iso(time_extent[0]), "EndTime": _iso(time_extent[1])})
        if time_extent else None,
        "SupportsDynamicLayers": True,  # HonorLayerReordering is honoured "HasLiveData": False,
        "MinScale": 0.0, "MaxScale": 0.0,
    }


def document_info(values: dict[str, str]) -> dict[str, Any]:
    """``GetDocumentInfo``: the REST root's ``documentInfo`` as a ``PropertySet``."""
    return {"PropertyArray": [{"Key": key, "Value": value} for key, value in values.items()]}


def visible_layer_ids(plan: ExportPlan, tree: LayerTree) -> list[int]:
    """The layers drawn: those the plan's GetMaps name, and the groups above them."""
    names = {name for query in plan.fetches for name in query.layers}
    drawn = {layer.id for layer in tree.layers if layer.wms.name in names and not layer.sub_ids}
    for layer_id in list(drawn):
        drawn.update(tree.ancestors(layer_id))
    return sorted(drawn)


def map_image(plan: ExportPlan, tree: LayerTree, data: bytes | None, url: str, content_type: str) -> dict[str, Any]:
    """``ExportMapImage``'s ``MapImage``: the bytes or their URL, the aspect-adjusted extent, scale and size."""
    return {
        "ImageData": data, "ImageURL": url, "Extent": envelope(plan.extent, plan.sr),
        "VisibleLayerIDs": visible_layer_ids(plan, tree), "MapScale": plan.scale, "ImageHeight": plan.height,
        "ImageWidth": plan.width, "ImageDPI": plan.dpi, "ImageType": content_type,
    }


def legend_info(layers: Sequence[MapLayer], entries: Sequence[Sequence[LegendEntry]], dpi: float,
                urls: Sequence[Sequence[str]] | None) -> list[dict[str, Any]]:
    """``GetLegendInfo``: one ``MapServerLegendInfo`` per leaf layer, one class per entry of the REST legend, its
    image as data (``urls`` None) or by URL."""
    out = []
    for index, (layer, found) in enumerate(zip(layers, entries, strict=True)):
        classes = [{"Label": entry.label, "Description": "", "SymbolImage": {
            "ImageData": entry.png if urls is None else None, "ImageURL": urls[index][i] if urls else "",
            "ImageHeight": entry.height, "ImageWidth": entry.width, "ImageDPI": dpi, "ImageType": "image/png"}}
            for i, entry in enumerate(found)]
        out.append({"LayerID": layer.id, "Name": layer.name,
                    "LegendGroups": [{"Heading": "", "LegendClasses": classes}]})
    return out
