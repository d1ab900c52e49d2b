"""Spatial references: the one place where ArcGIS wkids, OGC CRS codes and pyproj meet.

ArcGIS clients name spatial references by *wkid* (EPSG codes plus Esri's own codes such as 102100 or 54009), by
``{"wkid": …, "latestWkid": …}`` JSON or by WKT; OGC servers advertise codes such as ``EPSG:4326``, ``CRS:84`` or
``urn:ogc:def:crs:EPSG::4326``.  Both are resolved here into a :class:`SpatialRef`, which carries the pyproj CRS, the
ArcGIS identity to answer with and the code to send to the OGC server.

Coordinates handled by this module are always in x/y (easting/longitude first) order, as ArcGIS uses them; only
:func:`ogc_bbox_order` produces the axis order a WMS 1.3.0 server expects.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any

from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from translators.errors import InvalidParameter, UnsupportedParameter
from translators.params import parse_json

__all__ = [
    "WEB_MERCATOR_WKIDS",
    "SpatialRef",
    "best_offered",
    "first_usable",
    "from_ogc_code",
    "offered_code",
    "ogc_bbox_order",
    "resolve_sr",
    "transform_bbox",
    "transform_point",
    "wgs84_bbox_to",
]

BBox = tuple[float, float, float, float]

#: ArcGIS/legacy codes that all mean the spherical ("Pseudo") Mercator of web maps, EPSG:3857.
WEB_MERCATOR_WKIDS = frozenset({102100, 102113, 900913, 3857, 3785})

# ArcGIS answers Web Mercator as {"wkid": 102100, "latestWkid": 3857} whatever alias was asked for.
_WEB_MERCATOR_IDS = (102100, 3857)

# PROJ identification confidence from which two CRSs are equivalent (70 = equivalent, names differ).
_MIN_CONFIDENCE = 70

# OGC's lon/lat CRSs and the ArcGIS wkid of the same datum.
_OGC_CRS_WKIDS = {"CRS84": 4326, "CRS83": 4269, "CRS27": 4267}

_LINEAR_UNITS: tuple[tuple[float, str], ...] = (
    (1.0, "esriMeters"),
    (0.3048, "esriFeet"),
    (1200.0 / 3937.0, "esriFeet"),  # US survey foot: ArcGIS reports State Plane (ftUS) services in esriFeet
    (1000.0, "esriKilometers"),
    (0.9144, "esriYards"),
    (1609.344, "esriMiles"),
    (1852.0, "esriNauticalMiles"),
    (0.0254, "esriInches"),
    (0.001, "esriMillimeters"),
    (0.01, "esriCentimeters"),
    (0.1, "esriDecimeters"),
)


@dataclass(frozen=True, eq=False)
class SpatialRef:
    """A resolved spatial reference.

    ``wkid``/``latest_wkid`` are the ArcGIS identity answered to clients; ``wkt`` is set only for a CRS given by WKT
    that matches no known code; ``ogc_code`` is the code to send to an OGC server (``None`` when there is none).

    Two SpatialRefs compare equal (:meth:`same_as`) when their CRSs are equivalent, ignoring names and axis order:
    102100 and 3857 are the same, and so are EPSG:4326 and CRS:84.  Use the ``ogc_code`` and :attr:`axis_yx` of the
    object a server advertised when building a request to that server.
    """

    crs: CRS = field(repr=False)
    wkid: int | None = None
    latest_wkid: int | None = None
    wkt: str | None = field(default=None, repr=False)
    ogc_code: str | None = None

    def __post_init__(self) -> None:
        if self.ogc_code is None and self.wkt is None:
            auth = _identify(self.crs)
            if auth is not None:
                object.__setattr__(self, "ogc_code", f"{auth[0]}:{auth[1]}")

    def to_json(self) -> dict[str, int | str]:
        """Return the ArcGIS spatial reference JSON: ``{"wkid", "latestWkid"}`` or ``{"wkt"}``."""
        if self.wkid is not None:
            out: dict[str, int | str] = {"wkid": self.wkid}
            if self.latest_wkid is not None:
                out["latestWkid"] = self.latest_wkid
            return out
        return {"wkt": self.wkt if self.wkt is not None else self.crs.to_wkt("WKT1_ESRI")}

    @property
    def is_geographic(self) -> bool:
        """Whether coordinates are angles (longitude/latitude)."""
        return bool(self.crs.is_geographic)

    @cached_property
    def axis_yx(self) -> bool:
        """Whether the CRS's first axis is northing/latitude (WMS 1.3.0 BBOX order); from the CRS definition only."""
        axes = self.crs.axis_info
        if len(axes) < 2:
            return False
        first, second = axes[0].direction.lower(), axes[1].direction.lower()
        # Polar CRSs have both axes "south"/"north" along meridians; their first axis is still the easting.
        return first in ("north", "south") and second not in ("north", "south")

    @cached_property
    def units(self) -> str:
        """The ArcGIS ``esriUnits`` name of the coordinates (``esriDecimalDegrees``, ``esriMeters``, ``esriFeet``…)."""
        axis = self.crs.axis_info[0]
        factor = axis.unit_conversion_factor
        if self.is_geographic:
            return "esriDecimalDegrees" if math.isclose(factor, math.pi / 180.0, rel_tol=1e-9) else "esriUnknownUnits"
        for metres, name in _LINEAR_UNITS:
            if math.isclose(factor, metres, rel_tol=1e-9):
                return name
        return "esriUnknownUnits"

    @cached_property
    def meters_per_unit(self) -> float:
        """Metres per coordinate unit; for angles the ArcGIS convention ``2πa/360`` per degree (a: semi-major axis)."""
        factor = float(self.crs.axis_info[0].unit_conversion_factor)
        if self.is_geographic:
            ellipsoid = self.crs.ellipsoid
            semi_major = ellipsoid.semi_major_metre if ellipsoid is not None else 6378137.0
            return float(semi_major) * factor
        return factor

    @cached_property
    def proj_key(self) -> str:
        """The CRS as WKT2: an exact, hashable identity of the definition (names and axis order included)."""
        return str(self.crs.to_wkt())

    def same_as(self, other: SpatialRef) -> bool:
        """Whether both denote the same coordinate space (equivalent CRS, ignoring names, ids and axis order)."""
        if self is other or self.proj_key == other.proj_key:
            return True
        return bool(self.crs.equals(other.crs, ignore_axis_order=True))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SpatialRef):
            return NotImplemented
        return self.same_as(other)

    def __hash__(self) -> int:
        # Coarse on purpose: it must agree with equivalence, which tolerates differences a finer key would see.
        return hash((self.is_geographic, self.units))


# --------------------------------------------------------------------------------------------------------------------
# Resolution


def resolve_sr(value: object, parameter: str) -> SpatialRef:
    """Resolve a client's spatial reference (``bboxSR``, ``imageSR``, ``outSR``…) into a :class:`SpatialRef`.

    Accepts an int wkid; a string wkid (``" 3857 "``); ArcGIS JSON, as a dict or a string, with ``wkid``,
    ``latestWkid`` (used when ``wkid`` is missing or unknown) or ``wkt``; a WKT string (WKT1 OGC/ESRI or WKT2); an
    authority code (``EPSG:4326``, ``ESRI:54009``, ``urn:ogc:def:crs:EPSG::4326``, ``CRS:84``) or a SpatialRef.

    Raises :class:`InvalidParameter` naming ``parameter`` for anything it cannot resolve.
    """
    if isinstance(value, SpatialRef):
        return value
    if isinstance(value, str) and value.lstrip().startswith("{"):
        value = parse_json(value, parameter)  # the bounds every JSON parameter gets (depth, finite numbers)
        if not isinstance(value, dict):
            raise InvalidParameter(parameter, "spatial reference JSON must be an object")
    try:
        if isinstance(value, dict):
            return _from_json(value)
        if isinstance(value, str):
            return _from_string(value)
        wkid = _as_wkid(value)
        if wkid is None:
            raise ValueError(f"unsupported spatial reference {value!r}")
        return _from_wkid(wkid)
    except ValueError as exc:
        raise InvalidParameter(parameter, str(exc)) from None


@lru_cache(maxsize=512)
def from_ogc_code(code: str) -> SpatialRef:
    """Resolve a CRS code found in OGC capabilities; ``ogc_code`` of the result is ``code`` as advertised.

    Understands ``EPSG:n``, ``ESRI:n``, ``CRS:84``, OGC URNs and ``http://www.opengis.net/def/crs/…`` URIs.  Codes
    that Esri assigned but servers list under EPSG (``EPSG:102100``, ``EPSG:54009``) resolve through the ESRI
    authority.  Raises :class:`ValueError` for codes that are not a fixed 2D CRS (``AUTO:…``) or that are unknown.
    """
    advertised = code.strip()
    auth, ident = _parse_code(advertised)
    if auth == "OGC":
        wkid = _OGC_CRS_WKIDS.get(ident)
        if wkid is None:
            raise ValueError(f"unsupported OGC CRS {code!r}")
        crs = _checked(CRS.from_user_input(f"OGC:{ident}"))
        return SpatialRef(crs, wkid, wkid, None, advertised)
    number = _int_code(ident, code)
    base = _from_wkid(number)
    return replace(base, ogc_code=advertised)


def offered_code(sr: SpatialRef, codes: Sequence[str]) -> str | None:
    """The code under which a server offering ``codes`` knows ``sr`` (its own spelling), or None."""
    if sr.ogc_code and sr.ogc_code in codes:
        return sr.ogc_code
    for code in codes:
        try:
            candidate = from_ogc_code(code)
        except ValueError:
            continue
        if candidate.same_as(sr):
            return code
    return None


def best_offered(wanted: SpatialRef, codes: Sequence[str], service_sr: SpatialRef,
                 parameter: str = "imageSR") -> tuple[str, SpatialRef]:
    """The SR to fetch in when the server does not offer ``wanted`` (as MapProxy's ``SupportedSRS`` picks one): the
    service's own SR, else WGS 84, else Web Mercator, else the first usable code it offers; the picture is then
    warped locally."""
    preferred = [c for c in (offered_code(service_sr, codes), "EPSG:4326", "EPSG:3857") if c and c in codes]
    for code in [*preferred, *codes]:
        try:
            return code, from_ogc_code(code)
        except ValueError:
            continue
    raise UnsupportedParameter(parameter, "the backend offers no usable spatial reference")


def first_usable(codes: Sequence[str]) -> SpatialRef | None:
    """The first of a server's CRS codes that resolves (a service's default SR), or None."""
    for code in codes:
        try:
            return from_ogc_code(code)
        except ValueError:
            continue
    return None


def _from_json(obj: dict[Any, Any]) -> SpatialRef:
    wkid = _as_wkid(obj.get("wkid"))
    latest = _as_wkid(obj.get("latestWkid"))
    if wkid is not None:
        try:
            return _from_wkid(wkid)
        except ValueError:
            if latest is None:
                raise
        # An old wkid this PROJ does not know, with a current one that it may: answer with what the client sent.
        return replace(_from_wkid(latest), wkid=wkid, latest_wkid=latest)
    if latest is not None:
        return _from_wkid(latest)
    for key in ("wkt", "wkt2"):
        wkt = obj.get(key)
        if isinstance(wkt, str) and wkt.strip():
            return _from_wkt(wkt.strip())
    raise ValueError("spatial reference JSON needs a 'wkid', 'latestWkid' or 'wkt'")


def _from_string(text: str) -> SpatialRef:
    text = text.strip()
    if not text:
        raise ValueError("empty spatial reference")
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            raise ValueError("malformed spatial reference JSON") from None
        if not isinstance(obj, dict):
            raise ValueError("spatial reference JSON must be an object")
        return _from_json(obj)
    if text.lstrip("+-").isdigit():
        return _from_wkid(int(text))
    if "[" in text:
        return _from_wkt(text)
    auth, ident = _parse_code(text)
    if auth in ("EPSG", "ESRI"):
        return _from_wkid(_int_code(ident, text))
    return from_ogc_code(text)


def _as_wkid(value: object) -> int | None:
    """Read a wkid from JSON, where it may come as an int, an integral float or a numeric string."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"invalid wkid {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value.strip())
    raise ValueError(f"invalid wkid {value!r}")


@lru_cache(maxsize=512)
def _from_wkid(wkid: int) -> SpatialRef:
    """Resolve an ArcGIS wkid: Web Mercator aliases, then EPSG, then Esri's own codes."""
    if wkid in WEB_MERCATOR_WKIDS:
        return SpatialRef(_web_mercator(), *_WEB_MERCATOR_IDS, None, "EPSG:3857")
    if wkid <= 0:
        raise ValueError(f"unknown spatial reference wkid {wkid}")
    for auth in ("EPSG", "ESRI"):
        try:
            crs = CRS.from_authority(auth, str(wkid))
        except CRSError:
            continue
        return SpatialRef(_checked(crs), wkid, wkid, None, f"{auth}:{wkid}")
    raise ValueError(f"unknown spatial reference wkid {wkid}")


@lru_cache(maxsize=128)
def _from_wkt(wkt: str) -> SpatialRef:
    """Resolve WKT; when it matches a known code, the result is that code's (so requests can name it)."""
    try:
        crs = _checked(CRS.from_wkt(wkt))
    except CRSError:
        raise ValueError("invalid WKT") from None
    auth = _identify(crs)
    if auth is not None:
        return _from_wkid(auth[1])
    return SpatialRef(crs, None, None, wkt, None)


@lru_cache(maxsize=1)
def _web_mercator() -> CRS:
    return CRS.from_epsg(3857)


def _checked(crs: CRS) -> CRS:
    """Refuse CRSs that cannot carry a 2D map (vertical, geocentric, 3D, engineering…)."""
    if not (crs.is_geographic or crs.is_projected) or len(crs.axis_info) != 2:
        raise ValueError(f"{crs.name!r} is not a 2D geographic or projected CRS")
    return crs


def _identify(crs: CRS) -> tuple[str, int] | None:
    """Find an EPSG (preferred) or ESRI code equivalent to ``crs``."""
    for auth in ("EPSG", "ESRI"):
        found = crs.to_authority(auth_name=auth, min_confidence=_MIN_CONFIDENCE)
        if found is not None and found[1].isdigit():
            return found[0], int(found[1])
    return None


def _parse_code(code: str) -> tuple[str, str]:
    """Split an OGC CRS identifier into (AUTHORITY, code), e.g. ``("EPSG", "4326")`` or ``("OGC", "CRS84")``."""
    text = code.strip()
    lower = text.lower()
    if lower.startswith(("urn:ogc:def:crs:", "urn:x-ogc:def:crs:")):
        # urn:ogc:def:crs:{authority}:{version}:{code}, the version possibly empty or absent (x-ogc).
        parts = text.split(":")[4:]
        if len(parts) < 2:
            raise ValueError(f"malformed CRS URN {code!r}")
        auth, ident = parts[0], parts[-1]
    elif lower.startswith(("http://www.opengis.net/def/crs/", "https://www.opengis.net/def/crs/")):
        parts = text.rstrip("/").split("/")[5:]
        if len(parts) != 3:
            raise ValueError(f"malformed CRS URI {code!r}")
        auth, ident = parts[0], parts[2]
    elif lower.startswith("http://www.opengis.net/gml/srs/epsg.xml#"):
        auth, ident = "EPSG", text.rpartition("#")[2]
    elif ":" in text:
        auth, _, ident = text.partition(":")
    else:
        raise ValueError(f"unsupported CRS code {code!r}")
    auth, ident = auth.strip().upper(), ident.strip().upper()
    if auth == "CRS":
        auth, ident = "OGC", f"CRS{ident}"
    if auth in ("AUTO", "AUTO2"):
        raise ValueError(f"automatic CRS {code!r} is not supported")
    if auth not in ("EPSG", "ESRI", "OGC"):
        raise ValueError(f"unsupported CRS authority in {code!r}")
    return auth, ident


def _int_code(ident: str, code: str) -> int:
    if not ident.isdigit():
        raise ValueError(f"invalid CRS code {code!r}")
    return int(ident)


# --------------------------------------------------------------------------------------------------------------------
# Transformation


def _transformer(src: SpatialRef, dst: SpatialRef) -> Transformer:
    return _transformer_for(src.proj_key, dst.proj_key)


@lru_cache(maxsize=256)
def _transformer_for(src_wkt: str, dst_wkt: str) -> Transformer:
    # Keyed by WKT rather than by SpatialRef, whose hash is deliberately coarse.
    return Transformer.from_crs(CRS.from_wkt(src_wkt), CRS.from_wkt(dst_wkt), always_xy=True)


def transform_bbox(
    bbox: tuple[float, float, float, float],
    src: SpatialRef,
    dst: SpatialRef,
    densify: int = 21,
    *,
    parameter: str = "bbox",
) -> BBox:
    """Transform an x/y bbox, densifying each edge with ``densify`` points so curved edges are enclosed.

    The bbox is neither clipped to ``dst``'s domain nor normalised across the antimeridian (a geographic result that
    crosses it has ``minx > maxx``).  Raises :class:`InvalidParameter` (``parameter``) when the result is not finite,
    e.g. when the bbox lies outside what ``dst`` can represent.
    """
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise InvalidParameter(parameter, "coordinates must be finite numbers")
    if src.same_as(dst):
        return minx, miny, maxx, maxy
    try:
        out = _transformer(src, dst).transform_bounds(minx, miny, maxx, maxy, densify_pts=densify)
    except ProjError:
        raise InvalidParameter(parameter, "cannot be transformed to the requested spatial reference") from None
    result: BBox = (float(out[0]), float(out[1]), float(out[2]), float(out[3]))
    if not all(math.isfinite(v) for v in result):
        raise InvalidParameter(parameter, "lies outside the area the requested spatial reference can represent")
    return result


def transform_point(
    x: float, y: float, src: SpatialRef, dst: SpatialRef, *, parameter: str = "geometry"
) -> tuple[float, float]:
    """Transform one x/y point; raises :class:`InvalidParameter` (``parameter``) when it has no finite image."""
    if not (math.isfinite(x) and math.isfinite(y)):
        raise InvalidParameter(parameter, "coordinates must be finite numbers")
    if src.same_as(dst):
        return float(x), float(y)
    try:
        tx, ty = _transformer(src, dst).transform(float(x), float(y), errcheck=True)
    except ProjError:
        raise InvalidParameter(parameter, "cannot be transformed to the requested spatial reference") from None
    if not (math.isfinite(tx) and math.isfinite(ty)):
        raise InvalidParameter(parameter, "lies outside the area the requested spatial reference can represent")
    return float(tx), float(ty)


def transform_coords(xs: Sequence[float], ys: Sequence[float], src: SpatialRef, dst: SpatialRef, *,
                     parameter: str = "outSR") -> tuple[list[float], list[float]]:
    """Transform many x/y points at once (features' vertices); raises :class:`InvalidParameter` (``parameter``) when
    one has no finite image."""
    if src.same_as(dst):
        return [float(x) for x in xs], [float(y) for y in ys]
    try:
        tx, ty = _transformer(src, dst).transform(list(xs), list(ys), errcheck=True)
    except ProjError:
        raise InvalidParameter(parameter, "cannot be transformed to the requested spatial reference") from None
    out_x, out_y = [float(v) for v in tx], [float(v) for v in ty]
    if not all(math.isfinite(v) for v in (*out_x, *out_y)):
        raise InvalidParameter(parameter, "lies outside the area the requested spatial reference can represent")
    return out_x, out_y


def wgs84_bbox_to(bbox: tuple[float, float, float, float], sr: SpatialRef, densify: int = 21) -> BBox | None:
    """Transform a lon/lat WGS84 bbox (e.g. a capabilities ``EX_GeographicBoundingBox``) into ``sr`` for display.

    Latitudes are first clipped to ``sr``'s area of use, so a world extent becomes the ±85.06° square of Web
    Mercator instead of reaching the poles at infinity.  Returns None when nothing sensible results.
    """
    west, south, east, north = (float(v) for v in bbox)
    area = sr.crs.area_of_use
    if area is not None:
        south, north = max(south, area.south), min(north, area.north)
    if not (north > south and east > west):
        return None
    try:
        return transform_bbox((west, south, east, north), _from_wkid(4326), sr, densify)
    except InvalidParameter:
        return None


def ogc_bbox_order(bbox: tuple[float, float, float, float], sr: SpatialRef, wms_version: str) -> BBox:
    """Return an x/y bbox in the axis order of a WMS ``wms_version`` BBOX for ``sr``.

    WMS before 1.3.0 always takes x/y; 1.3.0 follows the CRS's axis order (lat/lon for EPSG:4326, x/y for CRS:84).
    """
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    if _version_tuple(wms_version) >= (1, 3) and sr.axis_yx:
        return miny, minx, maxy, maxx
    return minx, miny, maxx, maxy


def _version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.strip().split("."))
    except ValueError:
        raise ValueError(f"invalid WMS version {version!r}") from None
