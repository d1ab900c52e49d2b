"""WCS 1.0.0 / 2.0.1: coverage descriptions → a coverage model, and coverage queries → GetCoverage parameters.

Descriptions are read with lxml (OWSLib cannot read 2.0.1 descriptions' CRS, extent or time).  The model keeps what
the ImageServer needs: native CRS and grid, band names, nodata, the GeoTIFF format name to ask for and the time
positions.  Real servers differ (``shared/reference/BACKENDS.md``): QGIS' 1.0.0 grid envelope is one cell too large,
so the grid size is derived from the envelope and the offset vectors; MapServer 2.0.1 labels the envelope axes in the
CRS's order (``lat long``) and has no time subsetting, so a time-enabled coverage is read through 1.0.0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from translators.crs import SpatialRef, from_ogc_code
from translators.errors import BackendError, NotFound
from translators.ogc.xml import exception_messages, local_name, parse_xml
from translators.params import format_number
from translators.timeutil import iso, parse_iso

BBox = tuple[float, float, float, float]
GEOTIFF_HINTS = ("geotiff", "gtiff", "image/tiff", "tiff")


@dataclass(frozen=True)
class CoverageDescription:
    """One coverage as a WCS describes it."""

    id: str
    version: str  # the WCS version GetCoverage is spoken in
    label: str
    description: str
    crs_code: str  # native CRS as the server names it
    extent: BBox  # outer edges, x/y order, native CRS
    columns: int
    rows: int
    band_names: tuple[str, ...]
    nodata: tuple[float, ...]
    format: str  # the FORMAT to ask GetCoverage for (a GeoTIFF)
    time_positions: tuple[datetime, ...] = ()
    axis_labels: tuple[str, str] = ("x", "y")  # 2.0.1 SUBSET labels for x and y
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def sr(self) -> SpatialRef:
        """The native spatial reference."""
        return from_ogc_code(self.crs_code)

    @property
    def pixel_size(self) -> tuple[float, float]:
        """Native pixel size (x, y) in CRS units."""
        return ((self.extent[2] - self.extent[0]) / self.columns, (self.extent[3] - self.extent[1]) / self.rows)


def _children(element: Any, name: str) -> list[Any]:
    return [e for e in element.iter() if isinstance(e.tag, str) and local_name(e) == name]


def _first(element: Any, name: str) -> Any:
    found = _children(element, name)
    return found[0] if found else None


def _text(element: Any) -> str:
    return " ".join((element.text or "").split()) if element is not None else ""


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.replace(",", " ").split()]


def coverage_ids(xml: bytes) -> tuple[str, list[str]]:
    """The version and the coverage ids of a WCS capabilities document (1.0.0 ``name`` or 2.0.1 ``CoverageId``)."""
    root = parse_xml(xml, "WCS capabilities")
    _raise_exception(xml)
    version = root.get("version") or ""
    ids = [_text(e) for e in _children(root, "CoverageId")]
    if not ids:
        ids = [_text(_first(brief, "name")) for brief in _children(root, "CoverageOfferingBrief")]
    return version, [i for i in ids if i]


UNKNOWN_COVERAGE_CODES = ("CoverageNotDefined:", "NoSuchCoverage:")


def _raise_exception(xml: bytes) -> None:
    messages = exception_messages(xml)
    if messages is not None:
        if any(m.startswith(UNKNOWN_COVERAGE_CODES) for m in messages):
            raise NotFound("The coverage is not offered by the backend.", messages)
        raise BackendError("The backend returned a WCS exception.", messages)


def _grid_size(extent: BBox, offsets: list[list[float]], high: list[float], low: list[float]) -> tuple[int, int]:
    width, height = extent[2] - extent[0], extent[3] - extent[1]
    if len(offsets) == 2:
        step_x = max(abs(v) for v in offsets[0]) or 0.0
        step_y = max(abs(v) for v in offsets[1]) or 0.0
        # 2.0.1 lists the offsets in grid-axis order, which may be y first: match them by the extent they divide.
        a = (width / step_x, height / step_y) if step_x and step_y else (0.0, 0.0)
        b = (width / step_y, height / step_x) if step_x and step_y else (0.0, 0.0)
        best = min((a, b), key=lambda p: abs(p[0] - round(p[0])) + abs(p[1] - round(p[1])))
        if best[0] >= 1 and best[1] >= 1:
            return round(best[0]), round(best[1])
    if len(high) == 2 and len(low) == 2:
        return int(high[0] - low[0] + 1), int(high[1] - low[1] + 1)
    raise BackendError("The coverage description has no usable grid.")


def parse_description_100(xml: bytes, coverage: str) -> CoverageDescription:
    """Parse a WCS 1.0.0 DescribeCoverage answer."""
    _raise_exception(xml)
    root = parse_xml(xml, "coverage description")
    offering = next((o for o in _children(root, "CoverageOffering") if _text(_first(o, "name")) == coverage), None)
    if offering is None:
        raise NotFound(f"Coverage '{coverage}' is not offered by the backend.")
    envelope = next((e for e in _children(offering, "Envelope") if e.get("srsName")), None)
    if envelope is None:
        raise BackendError("The coverage description has no envelope.")
    corners = [_floats(_text(p)) for p in _children(envelope, "pos")]
    crs_code = envelope.get("srsName") or "EPSG:4326"
    # 1.0.0 envelopes are x/y whatever the CRS.
    extent = (corners[0][0], corners[0][1], corners[1][0], corners[1][1])
    grid = _first(offering, "RectifiedGrid")
    offsets = [_floats(_text(o)) for o in _children(grid, "offsetVector")] if grid is not None else []
    high = _floats(_text(_first(grid, "high"))) if grid is not None else []
    low = _floats(_text(_first(grid, "low"))) if grid is not None else []
    columns, rows = _grid_size(extent, offsets, high, low)
    bands: list[str] = []
    for axis in _children(offering, "AxisDescription"):
        if _text(_first(axis, "name")).lower() in ("bands", "band"):
            bands = [_text(v) for v in _children(axis, "singleValue")]
    nodata = tuple(float(_text(v)) for null in _children(offering, "nullValues")
                   for v in _children(null, "singleValue") if _text(v))
    formats = [_text(f) for f in _children(offering, "formats")]
    times = tuple(sorted(parse_iso(_text(t)) for t in _children(offering, "timePosition") if _text(t)))
    return CoverageDescription(
        id=coverage, version="1.0.0", label=_text(_first(offering, "label")),
        description=_text(_first(offering, "description")), crs_code=crs_code, extent=extent, columns=columns,
        rows=rows, band_names=tuple(f"band{b}" if b.isdigit() else b for b in bands), nodata=nodata,
        format=_geotiff_format(formats), time_positions=times,
    )


def parse_description_201(xml: bytes, coverage: str) -> CoverageDescription:
    """Parse a WCS 2.0.1 DescribeCoverage answer."""
    _raise_exception(xml)
    root = parse_xml(xml, "coverage description")
    described = next((d for d in _children(root, "CoverageDescription")
                      if _text(_first(d, "CoverageId")) == coverage), None)
    if described is None:
        raise NotFound(f"Coverage '{coverage}' is not offered by the backend.")
    envelope = _first(described, "Envelope")
    if envelope is None:
        raise BackendError("The coverage description has no envelope.")
    crs_code = envelope.get("srsName") or ""
    sr = from_ogc_code(crs_code)
    labels = (envelope.get("axisLabels") or "").split()
    lower = _floats(_text(_first(envelope, "lowerCorner")))
    upper = _floats(_text(_first(envelope, "upperCorner")))
    if sr.axis_yx:  # 2.0.1 corners follow the CRS axis order
        extent = (lower[1], lower[0], upper[1], upper[0])
        axis_labels = (labels[1], labels[0]) if len(labels) == 2 else ("Long", "Lat")
    else:
        extent = (lower[0], lower[1], upper[0], upper[1])
        axis_labels = (labels[0], labels[1]) if len(labels) == 2 else ("x", "y")
    grid = _first(described, "RectifiedGrid")
    offsets = [_floats(_text(o)) for o in _children(grid, "offsetVector")] if grid is not None else []
    high = _floats(_text(_first(grid, "high"))) if grid is not None else []
    low = _floats(_text(_first(grid, "low"))) if grid is not None else []
    columns, rows = _grid_size(extent, offsets, high, low)
    fields = _children(described, "field")
    nodata = tuple(float(_text(v)) for v in _children(described, "nilValue") if _text(v))
    return CoverageDescription(
        id=coverage, version="2.0.1", label=coverage, description="", crs_code=crs_code, extent=extent,
        columns=columns, rows=rows, band_names=tuple(f.get("name") or f"band{i + 1}" for i, f in enumerate(fields)),
        nodata=tuple(dict.fromkeys(nodata)), format="image/tiff", axis_labels=axis_labels,
    )


def _geotiff_format(formats: Sequence[str]) -> str:
    for name in formats:
        if any(hint in name.lower() for hint in GEOTIFF_HINTS):
            return name
    return formats[0] if formats else "image/tiff"


def merge(primary: CoverageDescription, other: CoverageDescription | None) -> CoverageDescription:
    """Combine a 2.0.1 description with the 1.0.0 one of the same coverage (format names, labels, time)."""
    if other is None:
        return primary
    version = "1.0.0" if other.time_positions else primary.version  # 2.0.1 servers here cannot subset time
    return CoverageDescription(
        id=primary.id, version=version, label=other.label or primary.label,
        description=other.description or primary.description,
        crs_code=primary.crs_code if version == "2.0.1" else other.crs_code, extent=primary.extent,
        columns=primary.columns, rows=primary.rows, band_names=primary.band_names or other.band_names,
        nodata=primary.nodata or other.nodata, format=other.format, time_positions=other.time_positions,
        axis_labels=primary.axis_labels,
    )


def getcoverage_params(desc: CoverageDescription, bbox: BBox, width: int, height: int,
                       bands: Sequence[int] | None = None, time: datetime | None = None,
                       subset_bands: bool = True, range_indices: bool = False) -> list[tuple[str, str]]:
    """GetCoverage for ``bbox`` (outer edges, x/y, native CRS) at ``width`` x ``height`` cells, as GeoTIFF.

    ``bands`` are 0-based; they are sent only when ``subset_bands`` (the backend honours range subsetting).  A 2.0.1
    RANGESUBSET names them by 1-based index when ``range_indices``, else by the advertised field names.
    """
    if width < 1 or height < 1:
        raise ValueError("empty coverage request")
    if desc.version == "2.0.1":
        x_label, y_label = desc.axis_labels
        pairs = [
            ("SERVICE", "WCS"), ("VERSION", "2.0.1"), ("REQUEST", "GetCoverage"), ("COVERAGEID", desc.id),
            ("FORMAT", desc.format),
            ("SUBSET", f"{x_label}({format_number(bbox[0])},{format_number(bbox[2])})"),  # SUBSET repeats: one per axis
            ("SUBSET", f"{y_label}({format_number(bbox[1])},{format_number(bbox[3])})"),
            ("SCALESIZE", f"{x_label}({width}),{y_label}({height})"),
        ]
        if bands is not None and subset_bands and desc.band_names:
            pairs.append(("RANGESUBSET", ",".join(str(b + 1) if range_indices else desc.band_names[b] for b in bands)))
        return pairs
    params = {
        "SERVICE": "WCS", "VERSION": "1.0.0", "REQUEST": "GetCoverage", "COVERAGE": desc.id,
        "FORMAT": desc.format, "CRS": desc.crs_code, "RESPONSE_CRS": desc.crs_code,
        "BBOX": ",".join(format_number(v) for v in bbox), "WIDTH": str(width), "HEIGHT": str(height),
    }
    if bands is not None and subset_bands:
        params["BANDS"] = ",".join(str(b + 1) for b in bands)
    if time is not None:
        params["TIME"] = iso(time)
    return list(params.items())


def snap_to_grid(bbox: BBox, desc: CoverageDescription, cell: tuple[float, float]) -> tuple[BBox, int, int]:
    """Grow ``bbox`` outwards to whole cells of size ``cell`` on the coverage's grid, clipped to its extent."""
    x0, y0, x1, y1 = desc.extent
    cx, cy = cell
    left = x0 + math.floor(round((max(bbox[0], x0) - x0) / cx, 9)) * cx
    right = x0 + math.ceil(round((min(bbox[2], x1) - x0) / cx, 9)) * cx
    top = y1 - math.floor(round((y1 - min(bbox[3], y1)) / cy, 9)) * cy
    bottom = y1 - math.ceil(round((y1 - max(bbox[1], y0)) / cy, 9)) * cy
    columns = max(1, round((right - left) / cx))
    rows = max(1, round((top - bottom) / cy))
    return (left, top - rows * cy, left + columns * cx, top), columns, rows

