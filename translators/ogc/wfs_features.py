"""WFS GetFeature: one canonical feature request → the GetFeature parameters of a backend flavour; its answers
(GeoJSON or GML 3.x) → features with ids, attributes and GeoJSON-like geometry, and hit counts.

The request (:class:`FeatureRequest`) says what is wanted in WFS terms: a feature type, a where-clause tree from
:mod:`translators.filters`, a spatial filter, object ids, property names, sort order, paging and hits only.  How a
server takes it is read from its :class:`~translators.ogc.flavors.Flavor` (WFS version, type name prefix, output
format, how a feature id is tested); the two wire versions differ in their parameter names and filter encoding:

* WFS 2.0.0 (MapServer 8, GeoServer): ``TYPENAMES``, ``COUNT``, FES 2.0 (``fes:ValueReference``, GML 3.2);
* WFS 1.1.0 (QGIS Server 3.22): ``TYPENAME``, ``MAXFEATURES`` (+ QGIS' ``STARTINDEX``), OGC Filter 1.1 (GML 3.1.1).

``BBOX`` and ``FILTER`` are exclusive on both, as are ``RESOURCEID``/``FEATUREID`` and ``FILTER``: the spatial
filter, the where clause and the ids are ANDed inside one filter.  A geometry in the filter is written in its CRS's
``urn:ogc:def:crs`` form, whose axis order is the CRS's own (lat, lon for EPSG:4326).

Geometries are GeoJSON-like mappings (``{"type": "Polygon", "coordinates": …}``) in x/y (east, north) order of the
answer's CRS, whatever the axis order on the wire.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from translators.crs import SpatialRef, from_ogc_code, resolve_sr
from translators.errors import BackendError
from translators.filters.ast import FALSE, TRUE, And, CompareOp, Comparison, Expr, In, Literal, simplify
from translators.filters.ast import Field as FieldRef
from translators.filters.ogc import OGC_NS, OgcVariant
from translators.filters.qgis import to_qgis_expression
from translators.ogc.flavors import Flavor
from translators.ogc.gml import GML31_NS, GML32_NS, gml_element, gml_geometry, pos_text
from translators.ogc.gml import Geometry as Geometry  # re-exported: the geometry type of the answers
from translators.ogc.xml import local_name, parse_xml
from translators.timeutil import iso

FES_NS = "http://www.opengis.net/fes/2.0"

SPATIAL_RELATIONS = ("BBOX", "Intersects", "Contains", "Within", "Crosses", "Overlaps", "Touches", "Disjoint")


@dataclass(frozen=True)
class _Wire:
    """What one WFS version calls things."""

    typename: str
    count: str
    filter_ns: str
    filter_prefix: str
    property_tag: str
    gml_ns: str
    id_tag: str  # the feature-id predicate element
    id_attribute: str
    ids_parameter: str  # the KVP selecting features by id alone (exclusive with FILTER and BBOX)


_WIRES = {
    "2.0.0": _Wire("TYPENAMES", "COUNT", FES_NS, "fes", "ValueReference", GML32_NS, "ResourceId", "rid",
                   "RESOURCEID"),
    "1.1.0": _Wire("TYPENAME", "MAXFEATURES", OGC_NS, "ogc", "PropertyName", GML31_NS, "FeatureId", "fid",
                   "FEATUREID"),
}


@dataclass(frozen=True)
class SpatialFilter:
    """Features related to ``geometry`` (in ``sr``, x/y order) by ``relation`` (one of :data:`SPATIAL_RELATIONS`;
    ``BBOX`` takes the geometry's bounding box)."""

    geometry: Geometry
    relation: str
    sr: SpatialRef


@dataclass(frozen=True)
class FeatureRequest:
    """One GetFeature, in WFS terms.

    ``ids`` select features by object id: through ``id_field`` when the layer has an integer attribute holding it,
    else as WFS feature ids ``<type name>.<id>``.  ``properties`` None asks for every property; a list gets
    ``geometry_property`` added when ``return_geometry``.  ``sort`` lists (property, descending).  ``count`` None: no
    limit.
    """

    typename: str
    where: Expr | None = None
    spatial: SpatialFilter | None = None
    ids: tuple[int, ...] | None = None
    id_field: str | None = None
    properties: tuple[str, ...] | None = None
    geometry_property: str | None = None
    # Whether the geometry is asked for with ``properties``; the spatial filter names ``geometry_property`` either way
    # (MapServer refuses a spatial operator without the property it applies to).
    return_geometry: bool = True
    sort: tuple[tuple[str, bool], ...] = ()
    start: int = 0
    count: int | None = None
    hits: bool = False
    # Features whose ``time_field`` lies in [start, end] (an open end: None); ``time_is_date``: a date field.
    time: tuple[dt.datetime | None, dt.datetime | None] | None = None
    time_field: str | None = None
    time_is_date: bool = False


@dataclass(frozen=True)
class WfsFeature:
    """One feature of an answer: its WFS feature id (None when the format carries none), its properties (typed as
    the answer gives them: GeoJSON values, or text from GML) and its geometry (None without one)."""

    fid: str | None
    properties: dict[str, Any]
    geometry: Geometry | None


@dataclass(frozen=True)
class FeatureCollection:
    """The features of one answer, the CRS of their coordinates (None: not stated) and the number matched when the
    answer says it."""

    features: list[WfsFeature]
    sr: SpatialRef | None = None
    number_matched: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def never_matches(request: FeatureRequest) -> bool:
    """Whether the request selects nothing whatever the data (``1=0``, an empty id list): no need to ask."""
    return (request.where is not None and simplify(request.where) == FALSE) or request.ids == ()


def local_skip(request: FeatureRequest, flavor: Flavor) -> int:
    """How many leading features of the answer the caller drops itself: the offset, for a server without
    ``STARTINDEX`` (which is then asked for ``start + count`` features)."""
    return 0 if flavor.wfs_start_index else request.start


def wire_version(flavor: Flavor) -> str:
    """The WFS version the flavour's GetFeature speaks."""
    return flavor.wfs_version


def wfs_typename(flavor: Flavor, typename: str) -> str:
    """The type name as the server takes it in GetFeature (MapServer 8's WFS 2.0 wants its ``ms:`` prefix)."""
    return typename if ":" in typename else flavor.wfs_typename_prefix + typename


def getfeature_params(request: FeatureRequest, flavor: Flavor, *, parameter: str = "where") -> dict[str, str]:
    """The KVP of the GetFeature ``request`` for a backend of ``flavor``."""
    version = wire_version(flavor)
    wire = _WIRES[version]
    params = {"SERVICE": "WFS", "VERSION": version, "REQUEST": "GetFeature",
              wire.typename: wfs_typename(flavor, request.typename)}
    if flavor.wfs_expression_parameter:
        expression = filter_expression(request, parameter=parameter)
        if expression:
            params[flavor.wfs_expression_parameter] = expression
    elif _ids_alone(request):
        # MapServer 8 takes 7 s for an Or of 600 fes:ResourceId, 30 ms for the same ids in RESOURCEID.
        local = request.typename.rpartition(":")[2]
        params[wire.ids_parameter] = ",".join(f"{local}.{i}" for i in request.ids or ())
    elif filter_xml := filter_document(request, flavor, parameter=parameter):
        params["FILTER"] = filter_xml
    if request.hits:
        params["RESULTTYPE"] = "hits"
        return params
    if request.properties is not None:
        names = list(request.properties)
        if request.return_geometry and request.geometry_property and request.geometry_property not in names:
            names.insert(0, request.geometry_property)
        if names:
            params["PROPERTYNAME"] = ",".join(names)
    if request.sort:
        params["SORTBY"] = ",".join(f"{name} {'DESC' if desc else 'ASC'}" for name, desc in request.sort)
    skip = local_skip(request, flavor)
    if request.start and not skip:
        params["STARTINDEX"] = str(request.start)
    if request.count is not None:
        params[wire.count] = str(request.count + skip)
    if flavor.wfs_output_format:
        params["OUTPUTFORMAT"] = flavor.wfs_output_format
    return params


# ------------------------------------------------------------------------------------------------------ filters


def _time_expr(request: FeatureRequest) -> Expr | None:
    """The time range as comparisons on the time field."""
    if request.time is None or request.time_field is None:
        return None
    field = FieldRef(request.time_field)

    def value(moment: dt.datetime) -> Literal:
        return Literal(moment.date() if request.time_is_date else moment.replace(tzinfo=None))

    start, end = request.time
    tests: list[Expr] = [Comparison(field, op, value(moment)) for op, moment in
                         ((CompareOp.GE, start), (CompareOp.LE, end)) if moment is not None]
    return None if not tests else tests[0] if len(tests) == 1 else And(tuple(tests))


def _where(request: FeatureRequest, time_as_clause: bool = True) -> Expr | None:
    """The where clause with the ids ANDed when an attribute holds them, and the time range unless it is written
    apart (``time_as_clause`` False); None when nothing is left to test."""
    where = request.where
    extra = [e for e in (_time_expr(request) if time_as_clause else None,
                         In(FieldRef(request.id_field), tuple(Literal(i) for i in request.ids))
                         if request.ids is not None and request.id_field is not None else None) if e is not None]
    for condition in extra:
        where = condition if where is None else And((where, condition))
    if where is None:
        return None
    where = simplify(where)
    if where == FALSE:
        raise ValueError("a request that never matches must not be sent (see never_matches)")
    return None if where == TRUE else where


def _ids_alone(request: FeatureRequest) -> bool:
    """Whether feature ids are the request's only condition (then sent in the WFS's own id parameter)."""
    return (request.ids is not None and request.id_field is None and request.spatial is None
            and _where(request) is None)


def filter_expression(request: FeatureRequest, *, parameter: str = "where") -> str:
    """The filter of a request as one QGIS expression (QGIS Server's ``EXP_FILTER``); "" when it has none.

    Feature ids are QGIS' ``$id``; the spatial filter's geometry is written as WKT in its own CRS and transformed
    into the layer's by QGIS (``layer_property(@layer, 'crs')``)."""
    parts: list[str] = []
    where = _where(request)
    if where is not None:
        parts.append(f"({to_qgis_expression(where, parameter=parameter)})")
    if request.ids is not None and request.id_field is None:
        parts.append(f"$id IN ({', '.join(str(i) for i in request.ids)})")
    if request.spatial is not None:
        spatial = request.spatial
        if spatial.relation not in SPATIAL_RELATIONS:
            raise ValueError(f"unknown spatial relation {spatial.relation!r}")
        shape = spatial.geometry
        if spatial.relation == "BBOX":
            x0, y0, x1, y1 = geometry_bbox(shape)
            shape = {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}
        code = spatial.sr.ogc_code or "EPSG:4326"
        other = (f"transform(geom_from_wkt('{wkt(shape)}'), '{code}', layer_property(@layer, 'crs'))")
        function = "bbox" if spatial.relation == "BBOX" else spatial.relation.lower()
        parts.append(f"{function}($geometry, {other})")
    return " AND ".join(parts)


def wkt(geometry: Geometry) -> str:
    """A GeoJSON-like geometry as WKT."""
    def seq(points: Sequence[Sequence[float]]) -> str:
        return ", ".join(f"{p[0]!r} {p[1]!r}" for p in points)

    def rings(polygon: Sequence[Sequence[Sequence[float]]]) -> str:
        return ", ".join(f"({seq(r)})" for r in polygon)

    kind, coords = geometry["type"], geometry["coordinates"]
    body = {
        "Point": lambda: seq([coords]),
        "LineString": lambda: seq(coords),
        "Polygon": lambda: rings(coords),
        "MultiPoint": lambda: ", ".join(f"({seq([p])})" for p in coords),
        "MultiLineString": lambda: ", ".join(f"({seq(line)})" for line in coords),
        "MultiPolygon": lambda: ", ".join(f"({rings(p)})" for p in coords),
    }.get(kind)
    if body is None:
        raise ValueError(f"unknown geometry type {kind!r}")
    return f"{kind.upper()} ({body()})"


def filter_document(request: FeatureRequest, flavor: Flavor, *, parameter: str = "where") -> str:
    """The ``FILTER`` of a request: its where clause, ids and spatial filter ANDed; "" when it has none."""
    wire = _WIRES[wire_version(flavor)]
    parts: list[etree._Element] = []
    # MapServer 8 compares no date in FES 2.0 (every comparison with a date field is false) but reads fes:During.
    during = wire.filter_ns == FES_NS and request.time is not None and request.time_field is not None
    where = _where(request, time_as_clause=not during)
    if where is not None:
        parts.append(_converted(_where_element(where, flavor.wfs_filter_variant, parameter), wire))
    if during:
        parts.append(_during(request, wire))
    if request.ids is not None and request.id_field is None:
        parts.append(_id_element(request, wire))
    if request.spatial is not None:
        parts.append(_spatial_element(request.spatial, request.geometry_property, wire))
    if not parts:
        return ""
    root = _make(wire, "Filter", parts[0] if len(parts) == 1 else _make(wire, "And", *parts))
    return etree.tostring(root, encoding="unicode")


def _during(request: FeatureRequest, wire: _Wire) -> etree._Element:
    """``fes:During`` of a GML 3.2 time period (open ends: the first and last instants ISO 8601 can write)."""
    start, end = request.time or (None, None)
    begin = iso(start) if start is not None else "0001-01-01T00:00:00Z"
    finish = iso(end) if end is not None else "9999-12-31T23:59:59Z"
    ns = wire.gml_ns
    period = gml_element(ns, "TimePeriod", gml_element(ns, "beginPosition", text=begin),
                         gml_element(ns, "endPosition", text=finish), **{f"{{{ns}}}id": "period"})
    return _make(wire, "During", _make(wire, wire.property_tag, text=request.time_field), period)


def _where_element(expr: Expr, variant: OgcVariant, parameter: str) -> etree._Element:
    return variant("1.1.0", parameter).render(expr)


def _make(wire: _Wire, tag: str, *children: etree._Element, text: str | None = None,
          **attrib: str) -> etree._Element:
    element = etree.Element(f"{{{wire.filter_ns}}}{tag}", attrib,
                            nsmap={wire.filter_prefix: wire.filter_ns, "gml": wire.gml_ns})
    element.text = text
    element.extend(children)
    return element


def _converted(element: etree._Element, wire: _Wire) -> etree._Element:
    """An OGC Filter 1.1 element in the wire's encoding (FES 2.0: its namespace, ``ValueReference``)."""
    if wire.filter_ns == OGC_NS:
        return element
    tag = local_name(element)
    tag = wire.property_tag if tag == "PropertyName" else tag
    out = _make(wire, tag, *(_converted(child, wire) for child in element if isinstance(child.tag, str)),
                text=element.text, **{str(k): str(v) for k, v in element.attrib.items()})
    return out


def _id_element(request: FeatureRequest, wire: _Wire) -> etree._Element:
    local = request.typename.rpartition(":")[2]
    tests = [_make(wire, wire.id_tag, **{wire.id_attribute: f"{local}.{i}"}) for i in request.ids or ()]
    return tests[0] if len(tests) == 1 else _make(wire, "Or", *tests)


def _spatial_element(spatial: SpatialFilter, geometry_property: str | None, wire: _Wire) -> etree._Element:
    if spatial.relation not in SPATIAL_RELATIONS:
        raise ValueError(f"unknown spatial relation {spatial.relation!r}")
    srs = _urn(spatial.sr)
    swap = spatial.sr.axis_yx
    target = [_make(wire, wire.property_tag, text=geometry_property)] if geometry_property else []
    if spatial.relation == "BBOX":
        x0, y0, x1, y1 = geometry_bbox(spatial.geometry)
        ns = wire.gml_ns
        shape = gml_element(ns, "Envelope", gml_element(ns, "lowerCorner", text=pos_text([(x0, y0)], swap)),
                            gml_element(ns, "upperCorner", text=pos_text([(x1, y1)], swap)), srsName=srs)
    else:
        shape = gml_geometry(spatial.geometry, wire.gml_ns, srs, swap)
    return _make(wire, spatial.relation, *target, shape)


def _urn(sr: SpatialRef) -> str:
    code = sr.ogc_code or "EPSG:4326"
    authority, _, number = code.partition(":")
    return f"urn:ogc:def:crs:{authority}::{number}"


def geometry_points(geometry: Geometry) -> Iterator[Sequence[float]]:
    """Every coordinate pair of a geometry."""
    def walk(value: Any) -> Iterator[Sequence[float]]:
        if value and isinstance(value[0], int | float):
            yield value
        else:
            for item in value:
                yield from walk(item)
    yield from walk(geometry["coordinates"])


def geometry_bbox(geometry: Geometry) -> tuple[float, float, float, float]:
    """The x/y bounding box of a geometry."""
    xs, ys = zip(*((p[0], p[1]) for p in geometry_points(geometry)), strict=True)
    return min(xs), min(ys), max(xs), max(ys)


# ------------------------------------------------------------------------------------------------------ answers


def parse_hits(body: bytes) -> int:
    """The number of features a ``RESULTTYPE=hits`` answer reports (WFS 2.0 ``numberMatched``, 1.1
    ``numberOfFeatures``)."""
    root = parse_xml(body, "feature count")
    for attribute in ("numberMatched", "numberOfFeatures"):
        value = root.get(attribute)
        if value is not None and value.strip().isdigit():
            return int(value)
    raise BackendError("The backend's WFS answer states no feature count.")


def parse_features(body: bytes) -> FeatureCollection:
    """The features of a GetFeature answer, GeoJSON or GML (2, 3.1.1 or 3.2)."""
    if body.lstrip()[:1] == b"{":
        return _geojson_features(body)
    return _gml_features(parse_xml(body, "feature collection"))


def _geojson_features(body: bytes) -> FeatureCollection:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackendError("The backend returned malformed GeoJSON.", [str(exc)]) from None
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        raise BackendError("The backend's GeoJSON is no feature collection.")
    features = []
    for item in data["features"]:
        if not isinstance(item, dict):
            raise BackendError("The backend's GeoJSON holds a feature that is not an object.")
        fid = item.get("id")
        geometry = item.get("geometry")
        features.append(WfsFeature(None if fid is None else str(fid), dict(item.get("properties") or {}),
                                   geometry if isinstance(geometry, dict) and geometry.get("type") else None))
    matched = data.get("numberMatched", data.get("totalFeatures"))
    # RFC 7946: GeoJSON coordinates are WGS 84 longitude, latitude (QGIS Server writes them whatever SRSNAME says).
    sr = resolve_sr(4326, "outSR")
    return FeatureCollection(features, sr, matched if isinstance(matched, int) else None)


_GEOMETRY_TAGS = {"Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiCurve", "MultiPolygon",
                  "MultiSurface", "Curve", "Surface", "MultiGeometry", "LinearRing"}


def _members(root: etree._Element) -> Iterator[etree._Element]:
    for element in root:
        if not isinstance(element.tag, str):
            continue
        name = local_name(element)
        if name in ("member", "featureMember", "featureMembers"):
            for child in element:
                if isinstance(child.tag, str):
                    yield from (_members(child) if local_name(child) == "FeatureCollection" else [child])


def _gml_features(root: etree._Element) -> FeatureCollection:
    features: list[WfsFeature] = []
    srs: str | None = None
    for member in _members(root):
        fid = member.get(f"{{{GML32_NS}}}id") or member.get(f"{{{GML31_NS}}}id") or member.get("fid")
        properties: dict[str, Any] = {}
        geometry: Geometry | None = None
        for prop in member:
            if not isinstance(prop.tag, str) or etree.QName(prop).namespace in (GML32_NS, GML31_NS):
                continue  # gml:boundedBy, gml:name …
            shape = next((c for c in prop if isinstance(c.tag, str) and local_name(c) in _GEOMETRY_TAGS), None)
            if shape is not None:
                srs = srs or _srs_name(shape)
                geometry = _read_geometry(shape, _swapped(_srs_name(shape) or srs))
            elif prop.get("{http://www.w3.org/2001/XMLSchema-instance}nil") in ("true", "1"):
                properties[local_name(prop)] = None
            else:
                # MapServer wraps dates in gml:timePosition: the text of the property, nested or not.
                properties[local_name(prop)] = "".join(str(t) for t in prop.itertext()).strip()
        features.append(WfsFeature(fid, properties, geometry))
    matched = root.get("numberMatched") or root.get("numberOfFeatures")
    sr = _sr_of(srs)
    return FeatureCollection(features, sr, int(matched) if matched and matched.isdigit() else None)


def _srs_name(element: etree._Element) -> str | None:
    found = element.get("srsName")
    if found:
        return found
    for child in element.iter():
        if isinstance(child.tag, str) and child.get("srsName"):
            return child.get("srsName")
    return None


def _sr_of(srs: str | None) -> SpatialRef | None:
    if not srs:
        return None
    try:
        return from_ogc_code(srs)
    except Exception:  # an unreadable srsName: the caller falls back to the layer's CRS
        return None


def _swapped(srs: str | None) -> bool:
    """Whether coordinates under ``srs`` come in the CRS's own axis order and that order is northing first (the
    ``urn:`` and ``http://www.opengis.net/def/crs`` forms); ``EPSG:n`` is x/y by convention."""
    if not srs or not (srs.lower().startswith("urn:") or "opengis.net/def/crs" in srs):
        return False
    sr = _sr_of(srs)
    return sr is not None and sr.axis_yx


def _coords(element: etree._Element, swap: bool) -> list[list[float]]:
    """The coordinates of one ``posList``/``pos``/``coordinates`` holder's text."""
    tag = local_name(element)
    text = element.text or ""
    if tag == "coordinates":  # GML 2: "x,y x,y"
        pairs = [[float(v) for v in tup.split(",")[:2]] for tup in text.split()]
    else:
        dim = int(element.get("srsDimension") or element.get("dimension") or 2)
        values = [float(v) for v in text.split()]
        pairs = [values[i:i + 2] for i in range(0, len(values) - dim + 1, dim)]
    return [[p[1], p[0]] for p in pairs] if swap else pairs


def _points(element: etree._Element, swap: bool) -> list[list[float]]:
    """The points of a linear geometry: its ``posList``, its ``pos`` children, or GML 2 ``coordinates``."""
    out: list[list[float]] = []
    for child in element.iter():
        if isinstance(child.tag, str) and local_name(child) in ("posList", "pos", "coordinates"):
            out += _coords(child, swap)
    return out


def _rings(polygon: etree._Element, swap: bool) -> list[list[list[float]]]:
    rings = []
    for boundary in polygon:
        if isinstance(boundary.tag, str) and local_name(boundary) in ("exterior", "interior", "outerBoundaryIs",
                                                                      "innerBoundaryIs"):
            rings.append(_points(boundary, swap))
    return rings


def _parts(element: etree._Element, tags: tuple[str, ...]) -> list[etree._Element]:
    return [e for e in element.iter() if isinstance(e.tag, str) and local_name(e) in tags and e is not element]


def _read_geometry(shape: etree._Element, swap: bool) -> Geometry:
    kind = local_name(shape)
    if kind == "Point":
        return {"type": "Point", "coordinates": _points(shape, swap)[0]}
    if kind in ("LineString", "Curve"):
        return {"type": "LineString", "coordinates": _points(shape, swap)}
    if kind in ("Polygon", "Surface"):
        return {"type": "Polygon", "coordinates": _rings(shape, swap)}
    if kind == "MultiPoint":
        return {"type": "MultiPoint", "coordinates": [_points(p, swap)[0] for p in _parts(shape, ("Point",))]}
    if kind in ("MultiLineString", "MultiCurve"):
        lines = _parts(shape, ("LineString", "Curve"))
        return {"type": "MultiLineString", "coordinates": [_points(line, swap) for line in lines]}
    if kind in ("MultiPolygon", "MultiSurface"):
        return {"type": "MultiPolygon", "coordinates": [_rings(p, swap) for p in _parts(shape, ("Polygon",))]}
    raise BackendError(f"The backend's WFS answer holds a geometry arcbridge does not read ({kind}).")


def typed_properties(properties: Mapping[str, Any], types: Mapping[str, str]) -> dict[str, Any]:
    """GML text values as the numbers their XML Schema types say (``integer``/``int``/``long``… → int,
    ``double``/``decimal``/``float`` → float, ``boolean`` → bool); other values unchanged."""
    out: dict[str, Any] = {}
    for name, value in properties.items():
        kind = types.get(name, "")
        if isinstance(value, str):
            try:
                if kind in _INTEGER_TYPES:
                    value = int(value) if value.strip() else None
                elif kind in _REAL_TYPES:
                    value = float(value) if value.strip() else None
                elif kind == "boolean":
                    value = value.strip().lower() in ("true", "1")
            except ValueError:
                pass  # kept as text: the schema and the data disagree
        out[name] = value
    return out


_INTEGER_TYPES = frozenset({"integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger",
                            "unsignedInt", "unsignedLong", "unsignedShort", "negativeInteger",
                            "nonPositiveInteger"})
_REAL_TYPES = frozenset({"double", "decimal", "float"})
