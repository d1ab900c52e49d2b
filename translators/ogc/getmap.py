"""Canonical map queries → WMS GetMap parameters, for WMS 1.1.1 / 1.3.0 and each backend flavour."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from translators.crs import SpatialRef, ogc_bbox_order
from translators.errors import UnsupportedParameter
from translators.filters.ast import Expr
from translators.ogc.flavors import Flavor
from translators.params import format_number
from translators.timeutil import TimeRange, iso

BBox = tuple[float, float, float, float]
MAX_GETMAP_URL = 8000
"""The longest GetMap URL sent: nginx and Apache refuse request lines beyond 8 kB (the test backends answer 414
from 8,150 bytes of query on), and GetMap goes by GET (the backend client has no POST), so longer is a 400."""


@dataclass(frozen=True)
class MapQuery:
    """One GetMap: what to draw (bottom layer first), where, how big, and when."""

    layers: tuple[str, ...]
    bbox: BBox  # always x/y (easting/northing, lon/lat) order
    sr: SpatialRef
    crs_code: str  # the CRS identifier the backend knows it by
    width: int
    height: int
    mime: str
    transparent: bool
    dpi: float
    time: TimeRange | None = None
    filters: Mapping[str, Expr] = field(default_factory=dict)
    angle: float = 0.0  # ArcGIS degrees counter-clockwise, sent as the flavour's vendor parameter


def wms_time(time: TimeRange) -> str:
    """Render a closed time range (or instant) as a WMS TIME value."""
    if time.start is None or time.end is None:
        raise ValueError("open time ranges must be closed before they reach a backend")
    if time.is_instant:
        return iso(time.start)
    return f"{iso(time.start)}/{iso(time.end)}"


def filter_params(layers: Sequence[str], filters: Mapping[str, Expr], flavor: Flavor) -> dict[str, str]:
    """Render per-layer filters in the flavour's dialect (one vendor parameter for all layers)."""
    if not filters:
        return {}
    if flavor.filter_dialect is None:
        raise UnsupportedParameter("layerDefs", f"a {flavor.name} backend cannot filter features")
    return flavor.filter_dialect.params(layers, filters, parameter="layerDefs")


def getmap_params(query: MapQuery, version: str, flavor: Flavor) -> dict[str, str]:
    """Build the GetMap parameters for ``query``; the bbox axis order follows the CRS for WMS 1.3.0."""
    bbox = ogc_bbox_order(query.bbox, query.sr, version)
    params = {
        "SERVICE": "WMS",
        "VERSION": version,
        "REQUEST": "GetMap",
        "LAYERS": ",".join(query.layers),
        "STYLES": ",".join("" for _ in query.layers),
        ("CRS" if version == "1.3.0" else "SRS"): query.crs_code,
        "BBOX": ",".join(format_number(v) for v in bbox),
        "WIDTH": str(query.width),
        "HEIGHT": str(query.height),
        "FORMAT": query.mime,
        "TRANSPARENT": "TRUE" if query.transparent else "FALSE",
    }
    if version == "1.3.0":
        params["EXCEPTIONS"] = "XML"
    else:
        params["EXCEPTIONS"] = "application/vnd.ogc.se_xml"
    if query.time is not None:
        params["TIME"] = wms_time(query.time)
    params.update(flavor.dpi_params(query.dpi))
    params.update(filter_params(query.layers, query.filters, flavor))
    if query.angle:
        if not flavor.rotation_parameter:
            raise UnsupportedParameter("rotation", f"a {flavor.name} backend cannot rotate maps")
        params[flavor.rotation_parameter] = format_number(query.angle * flavor.rotation_sign)
    return params


def check_url_length(base_url: str, params: Mapping[str, str]) -> None:
    """Refuse a GetMap whose URL would be longer than :data:`MAX_GETMAP_URL` (an upper estimate of the encoding).

    Only the filters grow without bound (a 20,000-value ``IN`` list), so the refusal names ``layerDefs`` with the
    limit, rather than the backend answering 414 and the client seeing a 502."""
    length = len(base_url) + sum(len(quote(k)) + len(quote(v, safe=",:/")) + 2 for k, v in params.items())
    if length > MAX_GETMAP_URL:
        raise UnsupportedParameter("layerDefs", f"the definition expressions make a backend request of {length} "
                                   f"bytes, more than the {MAX_GETMAP_URL} the backend accepts; shorten them (e.g. "
                                   "a range instead of a long IN list)")
