"""WFS DescribeFeatureType: the attribute fields of a layer, to check the fields of its where clauses against.

Only what the checks need is read: the names of a feature type's non-geometry properties, as the backend spells
them.  MapServer 8 and QGIS Server 3.22 publish their vector layers in WFS under their WMS names; both answer 1.1.0
with an XML schema (MapServer names the geometry ``msGeometry``, QGIS ``geometry``).  A layer the WFS does not
describe (a raster, a layer left out of the WFS, a backend without WFS) has no known fields: ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from translators.ogc.xml import local_name, parse_xml

XSD = "http://www.w3.org/2001/XMLSchema"
WFS_VERSION = "1.1.0"  # the newest version both MapServer 8 and QGIS Server 3.22 answer


@dataclass(frozen=True)
class WfsField:
    """One attribute of a feature type: its name as the WFS spells it, its XML Schema type (local name, e.g.
    ``integer``, ``double``, ``string``, ``date``) and its ``maxLength`` when the schema states one."""

    name: str
    type: str
    length: int | None = None


@dataclass(frozen=True)
class FeatureType:
    """A feature type as DescribeFeatureType describes it: attributes, and its geometry property (name and GML type,
    e.g. ``PointPropertyType``; MapServer 8 says ``GeometryPropertyType`` whatever the geometry)."""

    fields: tuple[WfsField, ...]
    geometry: str | None
    geometry_type: str | None


@dataclass(frozen=True)
class FeatureFields:
    """What the WFS says of one layer: its attribute fields as spelled there, None when it does not describe it."""

    names: tuple[str, ...] | None
    described: FeatureType | None = None  # the full description (types, geometry) when there is one


def describe_feature_type_params(typename: str) -> dict[str, str]:
    """The DescribeFeatureType request of one layer."""
    return {"SERVICE": "WFS", "VERSION": WFS_VERSION, "REQUEST": "DescribeFeatureType", "TYPENAME": typename}


def _local(qualified: str | None) -> str:
    return (qualified or "").rpartition(":")[2]


def _is_geometry(element: etree._Element) -> bool:
    """A GML geometry property (``gml:PointPropertyType`` …), which is no attribute field."""
    prefix, _, local = (element.get("type") or "").rpartition(":")
    namespace = element.nsmap.get(prefix or None) or ""
    return "opengis.net/gml" in namespace and local.endswith("PropertyType")


def _xsd(parent: etree._Element, name: str) -> list[etree._Element]:
    return [e for e in parent if isinstance(e.tag, str) and e.tag == f"{{{XSD}}}{name}"]


def feature_fields(xml: bytes, typename: str) -> tuple[str, ...] | None:
    """The attribute fields of ``typename`` in a DescribeFeatureType schema, or None when it is not described."""
    described = feature_type(xml, typename)
    return None if described is None else tuple(f.name for f in described.fields)


def _max_length(element: etree._Element) -> int | None:
    """The ``xsd:maxLength`` of an element with an inline restricted simple type."""
    for facet in element.iter(f"{{{XSD}}}maxLength"):
        try:
            return int(facet.get("value") or "")
        except ValueError:
            return None
    return None


def _simple_type(element: etree._Element) -> str:
    """The XML Schema type of an attribute element: its ``type``, or the base of its inline restriction."""
    declared = element.get("type")
    if declared:
        return _local(declared)
    for restriction in element.iter(f"{{{XSD}}}restriction"):
        return _local(restriction.get("base"))
    return "string"


def feature_type(xml: bytes, typename: str) -> FeatureType | None:
    """The description of ``typename`` in a DescribeFeatureType schema (fields with types, geometry property), or
    None when it is not described."""
    root = parse_xml(xml, "feature type description")
    if local_name(root) != "schema":
        return None
    elements = _xsd(root, "element")
    # GeoServer's names carry a workspace prefix (topp:states) that its schema's element names lack.
    wanted_names = (typename, _local(typename))
    element = next((e for e in elements if e.get("name") in wanted_names), None)
    if element is None:
        folded = {name.casefold() for name in wanted_names}
        element = next((e for e in elements if (e.get("name") or "").casefold() in folded), None)
    if element is None:
        return None
    wanted = _local(element.get("type"))
    complex_type = next((c for c in _xsd(root, "complexType") if c.get("name") == wanted), None)
    if complex_type is None:
        inline = _xsd(element, "complexType")
        complex_type = inline[0] if inline else None
    if complex_type is None:
        return None
    fields: list[WfsField] = []
    geometry: tuple[str, str] | None = None
    for e in complex_type.iter(f"{{{XSD}}}element"):
        name = e.get("name")
        if not name:
            continue
        if _is_geometry(e):
            geometry = geometry or (name, _local(e.get("type")))
        else:
            fields.append(WfsField(name, _simple_type(e), _max_length(e)))
    return FeatureType(tuple(fields), geometry[0] if geometry else None, geometry[1] if geometry else None)
