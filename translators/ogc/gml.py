"""GML geometries written for WFS filters (GML 3.1.1 for WFS 1.1.0, 3.2 for WFS 2.0.0) from GeoJSON-like
geometries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lxml import etree

Geometry = dict[str, Any]
"""A GeoJSON-like geometry: ``type`` (Point, MultiPoint, LineString, MultiLineString, Polygon, MultiPolygon) and
``coordinates`` in x/y order."""

GML32_NS = "http://www.opengis.net/gml/3.2"
GML31_NS = "http://www.opengis.net/gml"


def gml_element(ns: str, tag: str, *children: etree._Element, text: str | None = None,
                **attrib: str) -> etree._Element:
    """A GML element of namespace ``ns``."""
    element = etree.Element(f"{{{ns}}}{tag}", attrib, nsmap={"gml": ns})
    element.text = text
    element.extend(children)
    return element


def pos_text(points: Sequence[Sequence[float]], swap: bool) -> str:
    """Coordinates as GML ``pos``/``posList`` text, swapped to northing first when ``swap``."""
    return " ".join(f"{p[1]!r} {p[0]!r}" if swap else f"{p[0]!r} {p[1]!r}" for p in points)


def gml_geometry(geometry: Geometry, ns: str, srs: str, swap: bool) -> etree._Element:
    """A GeoJSON-like geometry as GML (3.1.1 or 3.2 by ``ns``), coordinates in the axis order ``swap`` says."""
    kind, coords = geometry["type"], geometry["coordinates"]
    ids = iter(range(1, 1_000_000))

    def ident() -> dict[str, str]:
        # GML 3.2 requires gml:id on every geometry; 3.1.1 allows it.
        return {f"{{{ns}}}id": f"g{next(ids)}"} if ns == GML32_NS else {}

    def ring(tag: str, points: Sequence[Sequence[float]]) -> etree._Element:
        coordinates = gml_element(ns, "posList", text=pos_text(points, swap))
        return gml_element(ns, tag, gml_element(ns, "LinearRing", coordinates))

    def polygon(rings: Sequence[Sequence[Sequence[float]]]) -> etree._Element:
        holes = (ring("interior", r) for r in rings[1:])
        return gml_element(ns, "Polygon", ring("exterior", rings[0]), *holes, **ident())

    def point(p: Sequence[float]) -> etree._Element:
        return gml_element(ns, "Point", gml_element(ns, "pos", text=pos_text([p], swap)), **ident())

    def line(points: Sequence[Sequence[float]]) -> etree._Element:
        return gml_element(ns, "LineString", gml_element(ns, "posList", text=pos_text(points, swap)), **ident())

    if kind == "Point":
        out = point(coords)
    elif kind == "LineString":
        out = line(coords)
    elif kind == "Polygon":
        out = polygon(coords)
    elif kind == "MultiPoint":
        out = gml_element(ns, "MultiPoint", *(gml_element(ns, "pointMember", point(p)) for p in coords), **ident())
    elif kind == "MultiLineString":
        out = gml_element(ns, "MultiCurve", *(gml_element(ns, "curveMember", line(p)) for p in coords), **ident())
    elif kind == "MultiPolygon":
        members = (gml_element(ns, "surfaceMember", polygon(p)) for p in coords)
        out = gml_element(ns, "MultiSurface", *members, **ident())
    else:
        raise ValueError(f"unknown geometry type {kind!r}")
    out.set("srsName", srs)
    return out
