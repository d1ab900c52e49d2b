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
MAX_GETMAP_FORM = 1024 * 1024  # nginx's default client_max_body_size, in front of most FastCGI map servers
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


def url_length(base_url: str, params: Mapping[str, str]) -> int:
    """An upper estimate of the length of a GET URL with ``params``."""
    return len(base_url) + sum(len(quote(k)) + len(quote(v, safe=",:/")) + 2 for k, v in params.items())


def form_length(params: Mapping[str, str]) -> int:
    """An upper estimate of the size of ``params`` as an urlencoded form body."""
    return sum(len(quote(k)) + len(quote(v)) + 2 for k, v in params.items())


def getmap_by_post(base_url: str, params: Mapping[str, str], flavor: Flavor) -> bool:
    """Whether a GetMap goes by POST (a form): when its URL would be longer than :data:`MAX_GETMAP_URL` (only the
    filters grow without bound, e.g. a long ``IN`` list) and the backend takes KVP requests by POST.  A request
    too long for either is refused with a 400 naming ``layerDefs`` and the limit, rather than the backend answering
    414 or 413 and the client seeing a 502."""
    # Percent-encoding at most triples a character: a request within the limit even so needs no quoting to know it.
    if len(base_url) + sum(3 * (len(k) + len(v)) + 2 for k, v in params.items()) <= MAX_GETMAP_URL:
        return False
    length = url_length(base_url, params)
    if length <= MAX_GETMAP_URL:
        return False
    if flavor.getmap_post and form_length(params) <= MAX_GETMAP_FORM:
        return True
    limit = f"{MAX_GETMAP_FORM:,} bytes by POST" if flavor.getmap_post else f"{MAX_GETMAP_URL} bytes"
    raise UnsupportedParameter("layerDefs", f"the definition expressions make a backend request of {length} bytes, "
                               f"more than the {limit} the backend accepts; shorten them (e.g. a range instead of a "
                               "long IN list)")
