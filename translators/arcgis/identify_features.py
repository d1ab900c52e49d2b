"""Identify on layers the backend also serves by WFS: one GetFeature per layer (and per point of a multipoint),
selecting what the identify geometry touches, ANDed with the layer's definition; answers as ``results`` entries.

A point selects the features within ``tolerance`` pixels of the map the client clicked (a box of ± tolerance·res
about it), an envelope the features it meets (grown by the same margin), a polygon or polyline the features it
intersects.  Unlike GetFeatureInfo this honours ``layerDefs`` on every backend (MapServer 8's GetFeatureInfo ignores
FILTER), and returns real geometry and object ids.  The WFS request and answer are the feature core's
(:mod:`translators.ogc.wfs_features`, :mod:`translators.arcgis.features`, :mod:`translators.arcgis.geometry`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from translators.arcgis.features import FeatureLayer, attributes, object_id
from translators.arcgis.geometry import ESRI_TYPES, reprojected, to_esri
from translators.arcgis.identify_geometry import Geometry as InputGeometry
from translators.crs import SpatialRef
from translators.errors import UnsupportedParameter
from translators.filters.ast import Expr, field_names
from translators.ogc.getfeatureinfo import MAX_FEATURES
from translators.ogc.wfs_features import FeatureRequest, SpatialFilter, WfsFeature, never_matches, parse_features


@dataclass(frozen=True)
class FeatureLookup:
    """One GetFeature of an identify: the WMS layer it answers for, its feature layer and the request."""

    name: str
    layer: FeatureLayer
    request: FeatureRequest


def _box(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x0, y1], [x1, y1], [x1, y0], [x0, y0]]]}


def selections(geometry: InputGeometry, margin: float) -> list[dict[str, Any]]:
    """The shapes (GeoJSON-like, in the geometry's SR) whose features an identify selects: a box of ± ``margin``
    about each point, the envelope grown by it, or the polygon or polyline itself."""
    if geometry.kind in ("esriGeometryPoint", "esriGeometryMultipoint"):
        return [_box(x - margin, y - margin, x + margin, y + margin) for x, y in geometry.points]
    if geometry.kind == "esriGeometryEnvelope":
        x0, y0, x1, y1 = geometry.bbox
        return [_box(x0 - margin, y0 - margin, x1 + margin, y1 + margin)]
    return [geometry.shape]


DATE_TYPES = ("date", "dateTime", "TimeInstantType")


def lookups(name: str, layer: FeatureLayer, shapes: list[dict[str, Any]], sr: SpatialRef,
            where: Expr | None, compares_dates: bool = True) -> list[FeatureLookup]:
    """The GetFeatures of one layer: one per selecting shape, each ANDed with the layer's definition.  A definition
    reading a date field is refused for a WFS that compares no dates (MapServer 8: it would match nothing), as layer
    query refuses it."""
    if not compares_dates:
        named = field_names(where)
        dated = [f.name for f in layer.fields if f.type in DATE_TYPES and f.name in named]
        if dated:
            raise UnsupportedParameter("layerDefs", f"this service's backend cannot compare dates (field "
                                       f"'{dated[0]}' of layer '{name}'); use the time parameter")
    found = [FeatureLookup(name, layer, FeatureRequest(
        typename=layer.typename, where=where, spatial=SpatialFilter(shape, "Intersects", sr),
        geometry_property=layer.geometry_property, count=MAX_FEATURES)) for shape in shapes]
    return [lookup for lookup in found if not never_matches(lookup.request)]  # a definition that is never true


@dataclass(frozen=True)
class Output:
    """How results are written: their SR, geometry or not, generalisation, precision, formatted or typed values."""

    sr: SpatialRef
    return_geometry: bool
    max_offset: float | None
    digits: int | None
    unformatted: bool


def formatted(value: Any) -> str:
    """A value as identify answers it by default: the text the backend wrote, ``Null`` for none, whole floats
    without their ``.0``."""
    if value is None:
        return "Null"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def feature_result(layer_id: int, layer_name: str, layer: FeatureLayer, feature: WfsFeature, src: SpatialRef,
                   output: Output) -> dict[str, Any]:
    """One ``results`` entry of a WFS feature: typed (``returnUnformattedValues``) or formatted values (the
    backend's text, object id first), its geometry in the output SR."""
    if output.unformatted:
        values: dict[str, Any] = attributes(feature, layer, None)
    else:
        values = {}
        if layer.oid_attribute is None:
            values[layer.oid_field] = formatted(object_id(feature, layer))
        values.update({k: formatted(v) for k, v in feature.properties.items() if k != layer.geometry_property})
    display = layer.display_field
    raw = feature.properties.get(display) if display in feature.properties else values.get(display)
    result: dict[str, Any] = {"layerId": layer_id, "layerName": layer_name, "displayFieldName": display,
                              "value": formatted(raw), "attributes": values}
    if feature.geometry is not None:
        geometry = reprojected(feature.geometry, src, output.sr, parameter="sr")
        esri = to_esri(geometry, max_offset=output.max_offset, precision=output.digits)
        result["geometryType"] = layer.geometry_type or ESRI_TYPES.get(str(feature.geometry.get("type")),
                                                                       "esriGeometryPolygon")
        if output.return_geometry:
            result["geometry"] = {**esri, "spatialReference": output.sr.to_json()}
    return result


def lookup_features(body: bytes, default_sr: SpatialRef) -> tuple[list[WfsFeature], SpatialRef]:
    """The features of a GetFeature answer and the SR of their coordinates (``default_sr`` when it states none)."""
    collection = parse_features(body)
    return collection.features, collection.sr or default_sr
