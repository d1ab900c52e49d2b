"""WMS capabilities → a service model, and canonical map queries → WMS GetMap parameters (1.1.1 and 1.3.0).

OWSLib reads the capabilities (after :func:`translators.ogc.xml.sanitized` strips any DTD); the model keeps only what
arcbridge needs, with the quirks of real servers smoothed over (see ``shared/reference/BACKENDS.md``): inherited CRS
lists in document order, time extents with blanks, group extents computed from children.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from owslib.wms import WebMapService

from translators.errors import BackendError
from translators.ogc.xml import local_name, parse_xml, sanitized
from translators.timeutil import TimeExtent, parse_time_dimension

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class WmsLayer:
    """One layer of a WMS capabilities document (named or not), with its children."""

    name: str | None
    title: str
    abstract: str
    wgs84_bbox: BBox | None
    crs: tuple[str, ...]
    time: TimeExtent | None
    min_scale_denominator: float | None
    max_scale_denominator: float | None
    queryable: bool
    children: tuple[WmsLayer, ...] = ()

    def walk(self) -> Iterator[WmsLayer]:
        """Yield this layer and every descendant, depth first, in document order."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class WmsCapabilities:
    """What arcbridge uses of a WMS capabilities document."""

    version: str
    title: str
    abstract: str
    access_constraints: str
    fees: str
    keywords: tuple[str, ...]
    formats: tuple[str, ...]
    root: WmsLayer
    max_width: int | None
    max_height: int | None
    getmap_url: str | None
    extras: dict[str, Any] = field(default_factory=dict)

    def layer(self, name: str) -> WmsLayer | None:
        """Find a named layer anywhere in the tree."""
        for layer in self.root.walk():
            if layer.name == name:
                return layer
        return None

    @functools.cached_property
    def _bare_formats(self) -> frozenset[str]:
        return frozenset(f.split(";")[0].strip().lower() for f in self.formats)

    def supports_format(self, mime: str) -> bool:
        """True when GetMap lists ``mime`` (compared without parameters such as ``; mode=8bit``)."""
        return mime.split(";")[0].strip().lower() in self._bare_formats


def union_bbox(boxes: list[BBox]) -> BBox | None:
    """The box covering every box of the list (None for none)."""
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _scale(element: Any) -> float | None:
    if element is None or element.text is None:
        return None
    try:
        return float(element.text)
    except ValueError:
        return None


def _time(layer: Any) -> TimeExtent | None:
    positions = getattr(layer, "timepositions", None)
    if not positions:
        return None
    text = ",".join(p.strip() for p in positions if p and p.strip())
    try:
        return parse_time_dimension(text, getattr(layer, "defaulttimeposition", None))
    except ValueError:
        return None


def _own_crs(element: Any) -> list[str]:
    codes: list[str] = []
    for child in element:
        if isinstance(child.tag, str) and local_name(child) in ("CRS", "SRS") and child.text:
            codes.extend(child.text.split())  # some servers list several codes in one element
    return codes


def _convert(layer: Any, fix_group_extents: bool, element: Any = None, inherited: tuple[str, ...] = ()) -> WmsLayer:
    # OWSLib loses the document order of CRS lists; read them from the element when the trees line up.
    sub_elements = [c for c in element if isinstance(c.tag, str) and local_name(c) == "Layer"] \
        if element is not None else []
    sub_layers = list(getattr(layer, "layers", []) or [])
    if element is not None:
        crs = tuple(dict.fromkeys([*inherited, *_own_crs(element)]))
    else:
        crs = tuple(dict.fromkeys(c.strip() for c in (layer.crsOptions or []) if c and c.strip()))
    aligned = len(sub_elements) == len(sub_layers)
    children = tuple(
        _convert(child, fix_group_extents, sub_elements[i] if aligned else None, crs)
        for i, child in enumerate(sub_layers)
    )
    bbox = layer.boundingBoxWGS84
    if children and fix_group_extents:
        # QGIS Server 3.22 publishes wrong group boxes: a group covers exactly its children.
        bbox = union_bbox([c.wgs84_bbox for c in children if c.wgs84_bbox]) or bbox
    return WmsLayer(
        name=layer.name.strip() if layer.name else None,
        title=(layer.title or layer.name or "").strip(),
        abstract=(layer.abstract or "").strip(),
        wgs84_bbox=tuple(float(v) for v in bbox[:4]) if bbox else None,  # type: ignore[arg-type]
        crs=crs,
        time=_time(layer),
        min_scale_denominator=_scale(getattr(layer, "min_scale_denominator", None)),
        max_scale_denominator=_scale(getattr(layer, "max_scale_denominator", None)),
        queryable=bool(layer.queryable),
        children=children,
    )


def _service_limits(root: Any) -> tuple[int | None, int | None]:
    limits: dict[str, int] = {}
    for element in root.iter():
        if isinstance(element.tag, str) and local_name(element) in ("MaxWidth", "MaxHeight") and element.text:
            with contextlib.suppress(ValueError):
                limits[local_name(element)] = int(element.text.strip())
    return limits.get("MaxWidth"), limits.get("MaxHeight")


def parse_capabilities(xml: bytes, version: str, fix_group_extents: bool = False) -> WmsCapabilities:
    """Parse a WMS 1.1.1 / 1.3.0 capabilities document into a :class:`WmsCapabilities`."""
    clean = sanitized(xml, "capabilities document")
    try:
        wms = WebMapService("http://backend.invalid/", version=version, xml=clean)
    except Exception as exc:  # OWSLib raises bare exceptions of many kinds on bad documents
        raise BackendError("The backend returned unusable WMS capabilities.", [str(exc)]) from None
    # OWSLib leaves an unnamed root out of ``contents``; climb from every layer to its topmost ancestor.
    tops: list[Any] = []
    for layer in wms.contents.values():
        while layer.parent is not None:
            layer = layer.parent
        if not any(layer is t for t in tops):
            tops.append(layer)
    if not tops:
        raise BackendError("The backend's WMS capabilities list no layers.")
    doc = parse_xml(clean, "capabilities document")
    top_elements = [layer for capability in doc.iter() if isinstance(capability.tag, str)
                    and local_name(capability) == "Capability"
                    for layer in capability if isinstance(layer.tag, str) and local_name(layer) == "Layer"]
    aligned = len(top_elements) == len(tops)
    if len(tops) == 1:
        root = _convert(tops[0], fix_group_extents, top_elements[0] if aligned else None)
    else:
        kids = tuple(_convert(t, fix_group_extents, top_elements[i] if aligned else None) for i, t in enumerate(tops))
        box = union_bbox([k.wgs84_bbox for k in kids if k.wgs84_bbox])
        root = WmsLayer(None, wms.identification.title or "", "", box, kids[0].crs, None, None, None, False, kids)
    formats: tuple[str, ...] = ()
    getmap_url = None
    try:
        op = wms.getOperationByName("GetMap")
        formats = tuple(f.strip() for f in op.formatOptions)
        getmap_url = next((m.get("url") for m in op.methods if m.get("type", "").lower() == "get"), None)
    except KeyError:
        pass
    ident = wms.identification
    max_width, max_height = _service_limits(doc)
    return WmsCapabilities(
        version=version,
        title=(ident.title or "").strip(),
        abstract=(ident.abstract or "").strip(),
        access_constraints=(ident.accessconstraints or "").strip(),
        fees=(ident.fees or "").strip(),
        keywords=tuple(k for k in (ident.keywords or []) if k),
        formats=formats,
        root=root,
        max_width=max_width,
        max_height=max_height,
        getmap_url=getmap_url,
    )
