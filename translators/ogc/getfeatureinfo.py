"""WMS GetFeatureInfo: a small window around a click → request parameters; the backend's answer → features per layer.

The window is the client's map grid cut down to ``2t+1`` pixels around the clicked one (``t`` the identify tolerance),
so the backend sees the client's scale (scale ranges, symbol sizes and pixel tolerances behave as in its map) at a
fraction of the cost.  Answers are read in the two shapes the servers send: GeoJSON (QGIS, MapServer one layer at a
time, GeoServer) and GML (MapServer's ``msGMLOutput``, GML 2/3 feature collections).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from translators.errors import BackendError
from translators.ogc.flavors import Flavor
from translators.ogc.getmap import MapQuery, getmap_params
from translators.ogc.xml import local_name, parse_xml

BBox = tuple[float, float, float, float]
MAX_FEATURES = 50
"""FEATURE_COUNT of each request: features per layer a click may return."""
RASTER_VALUE_PREFIXES = ("value_", "Band ")
"""How rasters name their band values: MapServer ``value_0..n``, QGIS ``Band 1..n``."""
NO_DATA = "NoData"
"""A band value the backend reports as missing (QGIS: ``null``), as ArcGIS writes it."""


@dataclass(frozen=True)
class InfoFeature:
    """One feature of a GetFeatureInfo answer: its attributes (as the backend typed them) and geometry (GeoJSON-like,
    in the request's CRS and x/y order; None when the answer had none)."""

    attributes: Mapping[str, Any]
    geometry: Mapping[str, Any] | None = None
    raster_values: tuple[str, ...] | None = None  # the band values of a raster pixel, in band order


@dataclass(frozen=True)
class InfoQuery:
    """One GetFeatureInfo: the map window (a GetMap query) and the pixel to ask about."""

    map: MapQuery
    i: int
    j: int
    tolerance: int


def click_window(x: float, y: float, res_x: float, res_y: float, half: int) -> tuple[BBox, int]:
    """The window of ``2·half+1`` pixels centred on the pixel of ``x, y`` at the client's resolution: its box and
    its width."""
    span_x, span_y = (half + 0.5) * res_x, (half + 0.5) * res_y
    return (x - span_x, y - span_y, x + span_x, y + span_y), 2 * half + 1


def feature_info_params(query: InfoQuery, version: str, flavor: Flavor) -> dict[str, str]:
    """The GetFeatureInfo parameters: the window's GetMap, the query layers, the pixel, the flavour's format,
    tolerance and vendor parameters."""
    params = getmap_params(query.map, version, flavor)
    params["REQUEST"] = "GetFeatureInfo"
    params["QUERY_LAYERS"] = params["LAYERS"]
    params["INFO_FORMAT"] = flavor.gfi_format
    params["FEATURE_COUNT"] = str(MAX_FEATURES)
    pixel = ("I", "J") if version == "1.3.0" else ("X", "Y")
    params[pixel[0]], params[pixel[1]] = str(query.i), str(query.j)
    for name in flavor.gfi_tolerance_parameters:
        params[name] = str(query.tolerance)
    params.update(flavor.gfi_vendor_params)
    return params


def parse_feature_info(body: bytes, layers: Sequence[str], click: tuple[float, float]) -> dict[str, list[InfoFeature]]:
    """The features of each queried layer (by WMS name) in a GetFeatureInfo answer, GeoJSON or GML.  A raster layer
    gives one feature: the pixel nearest the click."""
    text = body.lstrip()
    if text.startswith(b"{"):
        found = _from_geojson(text, layers)
    elif text.startswith(b"<"):
        found = _from_gml(text, layers)
    else:
        raise BackendError("The backend answered GetFeatureInfo in an unreadable format.", [body[:200].decode(
            "utf-8", "replace")])
    return {name: _nearest_pixel(features, click) for name, features in found.items()}


def _nearest_pixel(features: list[InfoFeature], click: tuple[float, float]) -> list[InfoFeature]:
    pixels = [f for f in features if f.raster_values is not None]
    if not pixels:
        return features
    return [min(pixels, key=lambda f: _distance(f.geometry, click))]


def _distance(geometry: Mapping[str, Any] | None, click: tuple[float, float]) -> float:
    if not geometry or geometry.get("type") != "Point":
        return 0.0
    x, y = geometry["coordinates"][:2]
    return math.hypot(float(x) - click[0], float(y) - click[1])


def _raster_values(attributes: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The band values of a raster pixel's attributes (``value_0``… or ``Band 1``…, numbered), else None."""
    bands: list[tuple[int, str]] = []
    for key, value in attributes.items():
        for prefix in RASTER_VALUE_PREFIXES:
            number = key[len(prefix):]
            if key.startswith(prefix) and number.isdigit():
                text = "" if value is None else str(value).strip()
                bands.append((int(number), NO_DATA if text.lower() in ("", "null", "nodata") else text))
    return tuple(v for _, v in sorted(bands)) if bands else None


def _layer_of(feature: Mapping[str, Any], collection: str | None, layers: Sequence[str]) -> str | None:
    """The queried layer a GeoJSON feature belongs to: the collection's name (MapServer), else the prefix of the
    feature id (QGIS: ``cities.3``; a raster's id is the layer name), else the only layer asked."""
    if collection in layers:
        return collection
    fid = str(feature.get("id") or "")
    for name in sorted(layers, key=len, reverse=True):
        if fid == name or fid.startswith(name + "."):
            return name
    return layers[0] if len(layers) == 1 else None


def _from_geojson(body: bytes, layers: Sequence[str]) -> dict[str, list[InfoFeature]]:
    try:
        data = json.loads(body)
    except ValueError:
        raise BackendError("The backend answered GetFeatureInfo with malformed JSON.") from None
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        raise BackendError("The backend answered GetFeatureInfo with JSON that is not a feature collection.")
    found: dict[str, list[InfoFeature]] = {}
    collection = data.get("name") if isinstance(data.get("name"), str) else None
    for feature in data["features"]:
        if not isinstance(feature, dict):
            continue
        name = _layer_of(feature, collection, layers)
        if name is None:
            continue
        attributes = feature.get("properties") or {}
        geometry = feature.get("geometry") if isinstance(feature.get("geometry"), dict) else None
        found.setdefault(name, []).append(InfoFeature(attributes, geometry, _raster_values(attributes)))
    return found


def _from_gml(body: bytes, layers: Sequence[str]) -> dict[str, list[InfoFeature]]:
    """MapServer's ``msGMLOutput``: ``<name_layer><name_feature><gml:boundedBy>…<attr>v</attr>``."""
    root = parse_xml(body, "GetFeatureInfo answer")
    found: dict[str, list[InfoFeature]] = {}
    for layer_element in root:
        tag = local_name(layer_element) if isinstance(layer_element.tag, str) else ""
        name = tag.removesuffix("_layer")
        if not tag.endswith("_layer") or name not in layers:
            continue
        for element in layer_element:
            if isinstance(element.tag, str) and local_name(element) == f"{name}_feature":
                found.setdefault(name, []).append(_gml_feature(element))
    return found


def _gml_feature(element: Any) -> InfoFeature:
    attributes: dict[str, Any] = {}
    geometry: dict[str, Any] | None = None
    for child in element:
        if not isinstance(child.tag, str):
            continue
        tag = local_name(child)
        if tag == "boundedBy":
            geometry = _gml_box(child)
        elif len(child) == 0:
            attributes[tag] = child.text or ""
    raster = _raster_values(attributes)
    if raster is not None:  # MapServer adds value_list, red/green/blue and the pixel's x/y: the bands say it all
        if "x" in attributes and "y" in attributes:
            geometry = {"type": "Point", "coordinates": [float(attributes["x"]), float(attributes["y"])]}
        attributes = {}
    return InfoFeature(attributes, geometry, raster)


def _gml_box(bounded: Any) -> dict[str, Any] | None:
    """A ``gml:Box`` as a point (a point feature's box) or a polygon (the box of anything larger)."""
    for element in bounded.iter():
        if isinstance(element.tag, str) and local_name(element) == "coordinates" and element.text:
            try:
                (x0, y0), (x1, y1) = ([float(v) for v in pair.split(",")[:2]] for pair in element.text.split())
            except ValueError:
                return None
            if x0 == x1 and y0 == y1:
                return {"type": "Point", "coordinates": [x0, y0]}
            return {"type": "Envelope", "coordinates": [x0, y0, x1, y1]}
    return None
