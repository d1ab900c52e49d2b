"""WMTS 1.0.0 capabilities → what a tiled MapServer needs to pass a backend's tiles through, and GetTile requests.

A backend TileMatrixSet serves an ArcGIS level when one of its matrices has the level's resolution (the scale
denominator x 0.28 mm per pixel / metres per unit, relative tolerance 1e-6; ``PROTOCOLS.md`` §4.1), the grid's tile
size, and a top-left corner at the grid's origin.  Levels are matched by resolution, never by identifier.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from translators.crs import SpatialRef, from_ogc_code
from translators.errors import BackendError
from translators.ogc.xml import parse_xml
from translators.tiles.grid import TileGrid

NS = {"w": "http://www.opengis.net/wmts/1.0", "ows": "http://www.opengis.net/ows/1.1"}
OGC_PIXEL = 0.00028  # metres per pixel of the OGC standardized rendering pixel
RESOLUTION_TOLERANCE = 1e-6
ORIGIN_TOLERANCE = 0.01  # pixels


@dataclass(frozen=True)
class TileMatrix:
    """One matrix of a TileMatrixSet."""

    identifier: str
    scale_denominator: float
    top_left: tuple[float, float]  # x, y (easting/northing), whatever the CRS's axis order
    tile_width: int
    tile_height: int
    matrix_width: int
    matrix_height: int


@dataclass(frozen=True)
class MatrixSet:
    """A TileMatrixSet: its CRS and matrices."""

    identifier: str
    crs: str
    matrices: tuple[TileMatrix, ...]


@dataclass(frozen=True)
class WmtsLayer:
    """A WMTS layer: formats, default style, linked matrix sets and RESTful URL templates by format."""

    identifier: str
    formats: tuple[str, ...]
    style: str
    matrix_sets: tuple[str, ...]
    templates: dict[str, str]  # format → ResourceURL template (resourceType="tile")


@dataclass(frozen=True)
class WmtsCapabilities:
    """What a WMTS offers."""

    layers: dict[str, WmtsLayer]
    matrix_sets: dict[str, MatrixSet]
    kvp_url: str | None  # the GetTile KVP endpoint, when advertised


def _text(element: etree._Element, path: str) -> str:
    found = element.find(path, NS)
    return (found.text or "").strip() if found is not None else ""


def _matrix(element: etree._Element, sr: SpatialRef | None) -> TileMatrix:
    corner = [float(v) for v in _text(element, "w:TopLeftCorner").split()]
    if sr is not None and sr.axis_yx:  # WMTS writes the corner in the CRS's axis order (lat/lon for EPSG:4326)
        corner.reverse()
    return TileMatrix(_text(element, "ows:Identifier"), float(_text(element, "w:ScaleDenominator")),
                      (corner[0], corner[1]), int(_text(element, "w:TileWidth")), int(_text(element, "w:TileHeight")),
                      int(_text(element, "w:MatrixWidth")), int(_text(element, "w:MatrixHeight")))


def _layer(element: etree._Element) -> WmtsLayer:
    styles = element.findall("w:Style", NS)
    default = next((s for s in styles if s.get("isDefault") == "true"), styles[0] if styles else None)
    templates = {r.get("format", ""): r.get("template", "") for r in element.findall("w:ResourceURL", NS)
                 if r.get("resourceType") == "tile"}
    return WmtsLayer(_text(element, "ows:Identifier"),
                     tuple((f.text or "").strip() for f in element.findall("w:Format", NS)),
                     _text(default, "ows:Identifier") if default is not None else "default",
                     tuple(_text(link, "w:TileMatrixSet") for link in element.findall("w:TileMatrixSetLink", NS)),
                     templates)


def parse_wmts_capabilities(xml: bytes) -> WmtsCapabilities:
    """Parse a WMTS 1.0.0 capabilities document."""
    root = parse_xml(xml, "WMTS capabilities")
    contents = root.find("w:Contents", NS)
    if contents is None:
        raise BackendError("The backend did not return WMTS capabilities.")
    sets: dict[str, MatrixSet] = {}
    for element in contents.findall("w:TileMatrixSet", NS):
        crs = _text(element, "ows:SupportedCRS")
        try:
            sr: SpatialRef | None = from_ogc_code(crs)
        except ValueError:
            sr = None
        try:
            matrices = tuple(_matrix(m, sr) for m in element.findall("w:TileMatrix", NS))
        except (ValueError, IndexError):
            continue  # a set the gateway cannot read is one it does not use
        sets[_text(element, "ows:Identifier")] = MatrixSet(_text(element, "ows:Identifier"), crs, matrices)
    layers = {layer.identifier: layer for layer in map(_layer, contents.findall("w:Layer", NS))}
    kvp = None
    for get in root.iterfind(".//ows:Operation[@name='GetTile']//ows:Get", NS):
        encodings = [(v.text or "").strip() for v in get.iterfind(".//ows:Value", NS)]
        if not encodings or "KVP" in encodings:
            kvp = get.get("{http://www.w3.org/1999/xlink}href")
    return WmtsCapabilities(layers, sets, kvp)


def matched_levels(grid: TileGrid, sr: SpatialRef, matrix_set: MatrixSet) -> dict[int, TileMatrix]:
    """The grid's levels that a matrix of ``matrix_set`` serves exactly: same resolution, tile size and origin."""
    try:
        set_sr = from_ogc_code(matrix_set.crs)
    except ValueError:
        return {}
    if not set_sr.same_as(sr):
        return {}
    found: dict[int, TileMatrix] = {}
    for level, resolution in enumerate(grid.resolutions):
        for matrix in matrix_set.matrices:
            res = matrix.scale_denominator * OGC_PIXEL / sr.meters_per_unit
            if abs(res - resolution) > RESOLUTION_TOLERANCE * resolution:
                continue
            if (matrix.tile_width, matrix.tile_height) != (grid.tile_size, grid.tile_size):
                continue
            # The origin within a hundredth of a pixel: Esri's and the OGC's Web Mercator corners differ by 2 µm, and
            # QGIS Server rounds its corner to the millimetre.
            if max(abs(matrix.top_left[0] - grid.origin[0]), abs(matrix.top_left[1] - grid.origin[1])) \
                    > resolution * ORIGIN_TOLERANCE:
                continue
            found[level] = matrix
            break
    return found


def choose_matrix_set(caps: WmtsCapabilities, layer: str, grid: TileGrid, sr: SpatialRef,
                      wanted: str | None = None) -> tuple[MatrixSet, dict[int, TileMatrix]] | None:
    """The layer's matrix set that serves most of the grid's levels (or the configured one), with its levels."""
    found = caps.layers.get(layer)
    if found is None:
        raise BackendError(f"The backend's WMTS has no layer '{layer}'.")
    best: tuple[MatrixSet, dict[int, TileMatrix]] | None = None
    for name in found.matrix_sets:
        matrix_set = caps.matrix_sets.get(name)
        if matrix_set is None or (wanted is not None and name != wanted):
            continue
        levels = matched_levels(grid, sr, matrix_set)
        if levels and (best is None or len(levels) > len(best[1])):
            best = (matrix_set, levels)
    return best


def gettile_params(layer: str, style: str, fmt: str, matrix_set: str, matrix: str, row: int,
                   col: int) -> dict[str, str]:
    """A KVP GetTile."""
    return {"SERVICE": "WMTS", "VERSION": "1.0.0", "REQUEST": "GetTile", "LAYER": layer, "STYLE": style,
            "FORMAT": fmt, "TILEMATRIXSET": matrix_set, "TILEMATRIX": matrix, "TILEROW": str(row),
            "TILECOL": str(col)}


def gettile_url(template: str, style: str, matrix_set: str, matrix: str, row: int, col: int) -> str:
    """A RESTful GetTile URL from a layer's ResourceURL template."""
    values = {"Style": style, "TileMatrixSet": matrix_set, "TileMatrix": matrix, "TileRow": str(row),
              "TileCol": str(col)}
    url = template
    for name, value in values.items():
        url = url.replace("{" + name + "}", value).replace("{" + name.lower() + "}", value)
    return url
