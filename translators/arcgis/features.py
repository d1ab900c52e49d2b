"""Features of a WFS feature type as an ArcGIS feature layer: fields and their types, object ids, attribute values
and Esri JSON / GeoJSON features.

Field types come from DescribeFeatureType (:class:`~translators.ogc.wfs.FeatureType`): XML Schema integers →
``esriFieldTypeInteger``, reals → ``esriFieldTypeDouble``, ``string`` → ``esriFieldTypeString`` (its ``maxLength``,
else 255), ``date``/``dateTime`` → ``esriFieldTypeDate`` (epoch milliseconds), ``boolean`` →
``esriFieldTypeSmallInteger``.

Object ids round-trip into WFS requests: a configured integer attribute (``objectIdField``), else the numeric part
of the WFS feature id (``cities.3`` → 3) under a field of its own, ``OBJECTID``.  Hashed ids (as Koop makes) could
not be turned back into a request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from translators.crs import SpatialRef
from translators.ogc.wfs import FeatureType, WfsField
from translators.ogc.wfs_features import WfsFeature, typed_properties
from translators.timeutil import to_epoch_ms

OID = "esriFieldTypeOID"
SYNTHETIC_OID = "OBJECTID"
"""The name of the object-id field made from WFS feature ids, when no attribute holds the ids."""

_INTEGERS = {"integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger", "unsignedInt",
             "unsignedLong", "unsignedShort", "negativeInteger", "nonPositiveInteger"}
_REALS = {"double", "decimal", "float"}
_DATES = {"date", "dateTime", "TimeInstantType"}  # the last: MapServer's WFS 2.0 schema

GEOMETRY_OF_GML = {
    "PointPropertyType": "esriGeometryPoint",
    "MultiPointPropertyType": "esriGeometryMultipoint",
    "LineStringPropertyType": "esriGeometryPolyline",
    "MultiLineStringPropertyType": "esriGeometryPolyline",
    "CurvePropertyType": "esriGeometryPolyline",
    "MultiCurvePropertyType": "esriGeometryPolyline",
    "PolygonPropertyType": "esriGeometryPolygon",
    "MultiPolygonPropertyType": "esriGeometryPolygon",
    "SurfacePropertyType": "esriGeometryPolygon",
    "MultiSurfacePropertyType": "esriGeometryPolygon",
}
"""The Esri geometry type a DescribeFeatureType geometry property states (MapServer's generic
``GeometryPropertyType`` states none: one sampled feature tells)."""


def esri_field_type(field: WfsField) -> str:
    """The ``esriFieldType…`` of a WFS attribute."""
    if field.type in _INTEGERS:
        return "esriFieldTypeInteger"
    if field.type in _REALS:
        return "esriFieldTypeDouble"
    if field.type in _DATES:
        return "esriFieldTypeDate"
    if field.type == "boolean":
        return "esriFieldTypeSmallInteger"
    return "esriFieldTypeString"


@dataclass(frozen=True)
class FeatureLayer:
    """A map layer the backend also serves by WFS, as a feature layer: its type name, attributes, geometry
    property and type, and where its object ids come from (``oid_attribute`` None: the WFS feature ids)."""

    typename: str
    fields: tuple[WfsField, ...]
    geometry_property: str | None
    geometry_type: str | None  # esriGeometry…; None: not known (no geometry, or no feature to sample)
    oid_attribute: str | None
    display_field: str
    time_field: str | None = None

    @property
    def oid_field(self) -> str:
        """The name of the object-id field clients see."""
        return self.oid_attribute or SYNTHETIC_OID

    def field(self, name: str) -> WfsField | None:
        """The attribute called ``name`` (matched case-insensitively, as ArcGIS does), or None."""
        exact = next((f for f in self.fields if f.name == name), None)
        return exact or next((f for f in self.fields if f.name.casefold() == name.casefold()), None)

    def names(self) -> tuple[str, ...]:
        """Every field clients may name: the attributes and the synthetic object-id field."""
        extra = () if self.oid_attribute else (SYNTHETIC_OID,)
        return extra + tuple(f.name for f in self.fields)


def feature_layer(typename: str, described: FeatureType, oid_setting: str | None, geometry_type: str | None,
                  time_field: str | None = None) -> FeatureLayer:
    """The feature layer of a described feature type; ``oid_setting`` names the configured object-id attribute
    (used only when the type has it as an integer)."""
    oid = oid_attribute(described, oid_setting)
    strings = [f.name for f in described.fields if esri_field_type(f) == "esriFieldTypeString"]
    display = next((n for n in strings if n.casefold() in ("name", "title", "label")), strings[0] if strings else "")
    gtype = geometry_type or GEOMETRY_OF_GML.get(described.geometry_type or "")
    return FeatureLayer(typename, described.fields, described.geometry, gtype, oid, display or (oid or SYNTHETIC_OID),
                        time_field)


def oid_attribute(described: FeatureType, oid_setting: str | None) -> str | None:
    """The attribute ``oid_setting`` names (any case) when the type has it as an integer, else None (the feature
    ids then give the object ids)."""
    if not oid_setting:
        return None
    found = next((f for f in described.fields if f.name.casefold() == oid_setting.casefold()), None)
    return found.name if found is not None and found.type in _INTEGERS else None


def integer_attributes(described: FeatureType) -> list[str]:
    """The attributes of the type that can hold object ids."""
    return [f.name for f in described.fields if f.type in _INTEGERS]


def time_field_of(described: FeatureType, time_aware: bool) -> str | None:
    """The field a time-aware layer's time lives in: its one date field (None when that is not clear)."""
    if not time_aware:
        return None
    dates = [f.name for f in described.fields if f.type in _DATES]
    return dates[0] if len(dates) == 1 else None


def esri_fields(layer: FeatureLayer, names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The ``fields`` of the layer (or only ``names``, in layer order): the object-id field typed OID."""
    wanted = None if names is None else {n.casefold() for n in names}
    out: list[dict[str, Any]] = []
    if layer.oid_attribute is None and (wanted is None or SYNTHETIC_OID.casefold() in wanted):
        out.append({"name": SYNTHETIC_OID, "type": OID, "alias": SYNTHETIC_OID})
    for f in layer.fields:
        if wanted is not None and f.name.casefold() not in wanted:
            continue
        kind = OID if f.name == layer.oid_attribute else esri_field_type(f)
        entry: dict[str, Any] = {"name": f.name, "type": kind, "alias": f.name}
        if kind == "esriFieldTypeString":
            entry["length"] = f.length or 255
        elif kind == "esriFieldTypeDate":
            entry["length"] = 8
        out.append(entry)
    return out


def object_id(feature: WfsFeature, layer: FeatureLayer) -> int | None:
    """A feature's object id: its id attribute, else the numeric part of its WFS feature id."""
    if layer.oid_attribute is not None:
        value = feature.properties.get(layer.oid_attribute)
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None
    digits = (feature.fid or "").rpartition(".")[2]
    return int(digits) if digits.isdigit() else None


def _date_ms(value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        return value
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = dt.datetime.fromisoformat(text) if "T" in text or " " in text else dt.datetime.combine(
            dt.date.fromisoformat(text[:10]), dt.time())
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return to_epoch_ms(parsed)


def attributes(feature: WfsFeature, layer: FeatureLayer, out_fields: Sequence[str] | None) -> dict[str, Any]:
    """A feature's attributes as ArcGIS answers them (numbers typed, dates in epoch ms), the object id included;
    ``out_fields`` None: every field."""
    types = {f.name: f.type for f in layer.fields}
    values = typed_properties(feature.properties, types)
    out: dict[str, Any] = {}
    wanted = None if out_fields is None else [n.casefold() for n in out_fields]
    if layer.oid_attribute is None and (wanted is None or SYNTHETIC_OID.casefold() in wanted):
        out[SYNTHETIC_OID] = object_id(feature, layer)
    for f in layer.fields:
        if wanted is not None and f.name.casefold() not in wanted:
            continue
        value = values.get(f.name)
        if f.type in _DATES:
            value = _date_ms(value)
        elif f.type == "boolean" and isinstance(value, bool):
            value = int(value)
        out[f.name] = value
    return out


def feature_layer_json(layer: FeatureLayer, max_record_count: int, sr: SpatialRef,
                       time_field: str | None) -> dict[str, Any]:
    """What a feature layer's ``…/MapServer/<id>`` adds to a map layer's description."""
    info: dict[str, Any] = {
        "type": "Feature Layer",
        "geometryType": layer.geometry_type,
        "displayField": layer.display_field,
        "objectIdField": layer.oid_field,
        "fields": esri_fields(layer),
        "hasZ": False,
        "hasM": False,
        "capabilities": "Map,Query,Data",
        "maxRecordCount": max_record_count,
        "supportedQueryFormats": "JSON, geoJSON",
        "supportsAdvancedQueries": True,
        "useStandardizedQueries": True,
        "supportsCoordinatesQuantization": False,
        "supportsStatistics": False,
        "supportsDatumTransformation": False,
        "advancedQueryCapabilities": {
            "supportsPagination": True,
            "supportsOrderBy": True,
            "supportsDistinct": False,
            "supportsStatistics": False,
            "supportsReturningQueryExtent": True,
            "supportsQueryWithDistance": False,
            "supportsQueryWithResultType": False,
            "supportsPaginationOnAggregatedQueries": False,
            "supportsTrueCurve": False,
            "supportsHavingClause": False,
            "supportsCountDistinct": False,
            "supportsSqlExpression": False,
            "supportsReturningGeometryCentroid": False,
        },
        "ownershipBasedAccessControlForFeatures": None,
        "drawingInfo": {"renderer": simple_renderer(layer.geometry_type), "transparency": 0, "labelingInfo": None},
        "sourceSpatialReference": sr.to_json(),
    }
    if time_field is not None:
        info["timeField"] = time_field
    return info


def simple_renderer(geometry_type: str | None) -> dict[str, Any]:
    """A simple renderer for the geometry type (JS FeatureLayer draws with it)."""
    outline = {"type": "esriSLS", "style": "esriSLSSolid", "color": [0, 0, 0, 255], "width": 0.75}
    if geometry_type in ("esriGeometryPoint", "esriGeometryMultipoint"):
        symbol: dict[str, Any] = {"type": "esriSMS", "style": "esriSMSSquare", "color": [20, 120, 200, 255],
                                  "size": 8, "angle": 0, "xoffset": 0, "yoffset": 0, "outline": outline}
    elif geometry_type == "esriGeometryPolyline":
        symbol = {"type": "esriSLS", "style": "esriSLSSolid", "color": [20, 120, 200, 255], "width": 1.5}
    else:
        symbol = {"type": "esriSFS", "style": "esriSFSSolid", "color": [20, 120, 200, 128], "outline": outline}
    return {"type": "simple", "symbol": symbol, "label": "", "description": ""}


def oid_setting(setting: str | Sequence[tuple[str, str]] | None, layer_name: str) -> str | None:
    """The configured object-id attribute of a layer: one name for all, or (WMS layer, name) pairs."""
    if setting is None or isinstance(setting, str):
        return setting
    return dict(setting).get(layer_name)
