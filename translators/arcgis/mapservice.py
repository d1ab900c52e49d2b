"""ArcGIS JSON for a map service built from WMS capabilities: the service root, its layers, export results."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from translators.arcgis.export import ExportPlan
from translators.arcgis.formats import FORMATS
from translators.arcgis.layers import LayerTree, MapLayer
from translators.arcgis.map_context import ServiceContext
from translators.crs import SpatialRef, wgs84_bbox_to
from translators.ogc.wms import BBox, WmsCapabilities
from translators.timeutil import TimeExtent, to_epoch_ms

CURRENT_VERSION = 10.91


def envelope(bbox: BBox, sr: SpatialRef) -> dict[str, Any]:
    """An ArcGIS envelope with its spatial reference."""
    x0, y0, x1, y1 = bbox
    return {"xmin": x0, "ymin": y0, "xmax": x1, "ymax": y1, "spatialReference": sr.to_json()}


def _union_time(extents: list[TimeExtent]) -> TimeExtent | None:
    if not extents:
        return None
    first = extents[0]
    return TimeExtent(min(e.start for e in extents), max(e.end for e in extents), first.interval, first.default,
                      tuple(sorted({v for e in extents for v in e.values})))


def time_info(extent: TimeExtent | None) -> dict[str, Any] | None:
    """The ArcGIS ``timeInfo`` of a WMS time dimension."""
    if extent is None:
        return None
    info: dict[str, Any] = {
        "timeExtent": [to_epoch_ms(extent.start), to_epoch_ms(extent.end)],
        "timeReference": None,
        "hasLiveData": False,
        "defaultTimeWindow": 0,
        "defaultTimeWindowUnits": "esriTimeUnitsUnknown",
    }
    if extent.interval is not None:
        interval, units = extent.interval.arcgis_interval()
        info["defaultTimeInterval"] = interval
        info["defaultTimeIntervalUnits"] = units
    return info


def layer_time(tree: LayerTree, layer: MapLayer) -> TimeExtent | None:
    """A layer's time extent; a group's is the union of its sub-layers'."""
    if layer.wms.time is not None:
        return layer.wms.time
    return _union_time([t for sub in tree.descendants(layer.id) if (t := tree.by_id[sub].wms.time) is not None])


def _scales(layer: MapLayer) -> tuple[float, float]:
    # WMS MaxScaleDenominator is the most zoomed-out scale (ArcGIS minScale); MinScaleDenominator the most zoomed-in.
    return layer.wms.max_scale_denominator or 0, layer.wms.min_scale_denominator or 0


def _layer_type(layer: MapLayer, features: Collection[int]) -> str:
    if layer.is_group:
        return "Group Layer"
    # Only a layer that can answer query is a feature layer (clients then query it); a WMS-only one draws.
    return "Feature Layer" if layer.id in features else "Raster Layer"


def layer_summary(tree: LayerTree, layer: MapLayer, features: Collection[int] = ()) -> dict[str, Any]:
    """The entry of a layer in the service root's ``layers`` list."""
    min_scale, max_scale = _scales(layer)
    return {
        "id": layer.id,
        "name": layer.name,
        "parentLayerId": layer.parent_id,
        "defaultVisibility": layer.default_visibility,
        "subLayerIds": list(layer.sub_ids) if layer.sub_ids else None,
        "minScale": min_scale,
        "maxScale": max_scale,
        "type": _layer_type(layer, features),
    }


def layer_info(ctx: ServiceContext, layer: MapLayer, copyright_text: str,
               feature: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``…/MapServer/<id>`` resource; ``feature`` holds what a layer the backend serves by WFS adds (see
    :func:`translators.arcgis.features.feature_layer_json`)."""
    tree = ctx.tree
    parent = tree.by_id.get(layer.parent_id)
    extent_box = wgs84_bbox_to(layer.wgs84_bbox, ctx.sr) if layer.wgs84_bbox else None
    info: dict[str, Any] = {
        "currentVersion": CURRENT_VERSION,
        "id": layer.id,
        "name": layer.name,
        "type": _layer_type(layer, ()),
        "description": layer.wms.abstract or layer.wms.title,
        "geometryType": None,
        "copyrightText": copyright_text,
        "parentLayer": {"id": parent.id, "name": parent.name} if parent else None,
        "subLayers": [{"id": s, "name": tree.by_id[s].name} for s in layer.sub_ids],
        "minScale": _scales(layer)[0],
        "maxScale": _scales(layer)[1],
        "defaultVisibility": layer.default_visibility,
        "extent": envelope(extent_box or ctx.full_extent, ctx.sr),
        "hasAttachments": False,
        "htmlPopupType": "esriServerHTMLPopupTypeNone",
        "displayField": "",
        "typeIdField": None,
        "fields": None,
        "relationships": [],
        "canModifyLayer": False,
        "canScaleSymbols": False,
        "hasLabels": False,
        "capabilities": "Map",
        "supportsDynamicLegends": False,
        "supportsStatistics": False,
        "supportsAdvancedQueries": False,
        "sourceSpatialReference": ctx.sr.to_json(),
    }
    times = time_info(layer_time(tree, layer))
    if times is not None:
        times.update({"startTimeField": None, "endTimeField": None, "trackIdField": None,
                      "timeInterval": times.get("defaultTimeInterval"),
                      "timeIntervalUnits": times.get("defaultTimeIntervalUnits")})
        info["timeInfo"] = times
    if feature is not None:
        info.update(feature)
        if "timeInfo" in info and feature.get("timeField"):  # the field a time-aware feature layer filters on
            info["timeInfo"]["startTimeField"] = info["timeInfo"]["endTimeField"] = feature["timeField"]
    return info


def supported_formats(caps: WmsCapabilities) -> str:
    """``supportedImageFormatTypes``: what export can answer with this backend."""
    names = ["PNG32", "PNG24", "PNG", "PNG8", "JPG", "GIF", "BMP", "TIFF", "PDF"]
    if any(caps.supports_format(m) for m in FORMATS["svg"].passthrough):
        names += ["SVG", "SVGZ"]
    return ",".join(names)


def service_info(ctx: ServiceContext, name: str, overrides: dict[str, str], features: Collection[int] = (),
                 max_record_count: int = 0, soap_url: str | None = None) -> dict[str, Any]:
    """The ``…/MapServer`` root resource; ``features``: the ids of the layers that answer query; ``soap_url``: the
    service's SOAP endpoint (``/arcgis/services/<name>/MapServer``)."""
    caps = ctx.caps
    tree = ctx.tree
    description = overrides.get("description") or caps.abstract
    copyright_text = overrides.get("copyrightText") or caps.access_constraints
    if copyright_text.lower() == "none":
        copyright_text = ""
    info: dict[str, Any] = {
        "currentVersion": CURRENT_VERSION,
        "cimVersion": "2.9.0",
        "serviceDescription": description,
        "mapName": caps.title or name,
        "description": description,
        "copyrightText": copyright_text,
        "supportsDynamicLayers": True,
        "layers": [layer_summary(tree, layer, features) for layer in tree.layers],
        "tables": [],
        "spatialReference": ctx.sr.to_json(),
        "singleFusedMapCache": False,
        "initialExtent": envelope(ctx.full_extent, ctx.sr),
        "fullExtent": envelope(ctx.full_extent, ctx.sr),
        "minScale": 0,
        "maxScale": 0,
        "units": ctx.sr.units,
        "supportedImageFormatTypes": supported_formats(caps),
        "documentInfo": {
            "Title": caps.title,
            "Author": "",
            "Comments": caps.abstract,
            "Subject": description,
            "Category": "",
            "AntialiasingMode": "None",
            "TextAntialiasingMode": "Force",
            "Keywords": ",".join(caps.keywords),
        },
        "capabilities": "Map,Query,Data" if features else "Map",
        "supportedQueryFormats": "JSON, geoJSON" if features else "JSON",
        "exportTilesAllowed": False,
        "referenceScale": 0.0,
        "supportsDatumTransformation": False,
        "supportsClipping": False,
        "supportsSpatialFilter": False,
        "supportsTimeRelation": True,
        "supportsQueryDataElements": False,
        "maxRecordCount": max_record_count if features else 0,
        "maxImageHeight": ctx.max_height,
        "maxImageWidth": ctx.max_width,
        "supportedExtensions": "",
        "soapUrl": soap_url,
    }
    times = _union_time([t for layer in tree.layers if (t := layer.wms.time) is not None])
    if times is not None:
        info["timeInfo"] = time_info(times)
    return info


def export_result(plan: ExportPlan, href: str) -> dict[str, Any]:
    """The JSON answer of export with f=json."""
    return {
        "href": href,
        "width": plan.width,
        "height": plan.height,
        "extent": envelope(plan.extent, plan.sr),
        "scale": plan.scale,
    }
