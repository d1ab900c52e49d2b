"""WMS legends per class: the requests that enumerate a layer's classes (rules) and draw one icon per class, and the
parsers of the backends' answers.

Which route a backend takes is its flavour's :attr:`~translators.ogc.flavors.Flavor.legend_route`:

* ``SLD_RULES`` (MapServer): ``GetStyles`` (WMS 1.1.1) lists the rules of a layer, each a CLASS ``NAME``, with its
  OGC filter (the class value); one ``GetLegendGraphic&RULE=<name>`` draws each.
* ``QGIS_JSON`` (QGIS Server): ``GetLegendGraphic&FORMAT=application/json`` lists the symbols (title and an inline
  icon) of a layer; its icons ignore the size asked for (3.22), so each is drawn again by ``RULE=<title>`` at the
  size and resolution asked for.  A raster of QGIS 3.22 has titles without icons (qgis/QGIS#55651).
* ``GEOSERVER_JSON`` (GeoServer ≥ 2.15): the JSON legend lists ``rules`` (``name``, ``title``, ``filter``); one
  ``RULE=<name>`` icon each.
* ``LAYER_IMAGE`` (any WMS): one plain ``GetLegendGraphic`` per layer, the whole picture as one entry.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from translators.errors import BackendError
from translators.ogc.xml import local_name, parse_xml

PNG = "image/png"
JSON = "application/json"


class LegendRoute(Enum):
    """How a backend's legend is enumerated and drawn (see the module documentation)."""

    SLD_RULES = "sld-rules"
    QGIS_JSON = "qgis-json"
    GEOSERVER_JSON = "geoserver-json"
    LAYER_IMAGE = "layer-image"


@dataclass(frozen=True)
class LegendRule:
    """One class of a layer's legend: its label, the rule name that draws its icon (None: the backend has no icon
    for it), the values it stands for (the literal of an equality filter), and the colour of a class that is a
    plain colour (a raster colour map entry, drawn as a filled patch here).  ``icon`` is the PNG a JSON legend
    carried inline (QGIS), used when the backend cannot draw the rule at the size asked for."""

    label: str
    rule: str | None
    values: tuple[str, ...] = ()
    colour: tuple[int, int, int, int] | None = None
    icon: bytes | None = field(default=None, compare=False, repr=False)


def getstyles_params(layer: str) -> dict[str, str]:
    """MapServer's ``GetStyles`` of one layer (it answers only in WMS 1.1.1)."""
    return {"SERVICE": "WMS", "VERSION": "1.1.1", "REQUEST": "GetStyles", "LAYERS": layer}


def _layer_param(route: LegendRoute) -> str:
    # LAYER is the standard's (SLD 1.1.0 profile); QGIS Server reads LAYERS, and given both it lists the layer twice.
    return "LAYERS" if route is LegendRoute.QGIS_JSON else "LAYER"


def json_legend_params(route: LegendRoute, layer: str, version: str) -> dict[str, str]:
    """A JSON ``GetLegendGraphic`` of one layer (QGIS Server, GeoServer)."""
    return {"SERVICE": "WMS", "VERSION": version, "REQUEST": "GetLegendGraphic", _layer_param(route): layer,
            "FORMAT": JSON, "SLD_VERSION": "1.1.0"}


def legend_graphic_params(route: LegendRoute, layer: str, version: str, rule: str | None,
                          size: tuple[int, int] | None, dpi: dict[str, str]) -> dict[str, str]:
    """A PNG ``GetLegendGraphic`` of one layer: of one ``rule`` at ``size`` pixels with the vendor ``dpi``
    parameters, or (rule None, size None) the backend's whole legend of the layer as it draws it."""
    params = {"SERVICE": "WMS", "VERSION": version, "REQUEST": "GetLegendGraphic", _layer_param(route): layer,
              "FORMAT": PNG, "SLD_VERSION": "1.1.0", "STYLE": "", "TRANSPARENT": "TRUE"}
    if rule is not None:
        params["RULE"] = rule
    if size is not None:
        params["WIDTH"], params["HEIGHT"] = str(size[0]), str(size[1])
    params.update(dpi)
    return params


def parse_getstyles(xml: bytes, layer: str) -> list[LegendRule]:
    """The named rules of ``layer`` in a GetStyles SLD document (none for a layer without classes: a raster)."""
    root = parse_xml(xml, "GetStyles answer")
    if local_name(root) != "StyledLayerDescriptor":
        raise BackendError(f"The backend answered GetStyles with a '{local_name(root)}' document instead of SLD.")
    rules: list[LegendRule] = []
    for named in _children(root, "NamedLayer"):
        name = next((c.text or "" for c in _children(named, "Name")), "").strip()
        if name != layer:
            continue
        for rule in (e for e in named.iter() if isinstance(e.tag, str) and local_name(e) == "Rule"):
            rule_name = next((c.text or "" for c in _children(rule, "Name")), "").strip()
            title = next((c.text or "" for c in _children(rule, "Title")), "").strip()
            if rule_name:
                rules.append(LegendRule(title or rule_name, rule_name, _equal_values(rule)))
    return rules


def _children(element: Any, name: str) -> list[Any]:
    return [c for c in element if isinstance(c.tag, str) and local_name(c) == name]


def _equal_values(rule: Any) -> tuple[str, ...]:
    """The literals of a rule's ``PropertyIsEqualTo`` filters (a unique-value class); () for anything else."""
    filters = _children(rule, "Filter")
    if not filters:
        return ()
    found: list[str] = []
    for element in filters[0].iter():
        if not isinstance(element.tag, str):
            continue
        tag = local_name(element)
        if tag == "PropertyIsEqualTo":
            found.extend((c.text or "").strip() for c in _children(element, "Literal"))
        elif tag not in ("Filter", "Or", "PropertyName", "Literal"):
            return ()  # a range or a combination: not a list of values
    return tuple(found)


def _json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise BackendError(f"The backend's {what} is not JSON.") from None


def parse_qgis_json(body: bytes, layer_title: str) -> list[LegendRule]:
    """The symbols of the one layer node of a QGIS Server JSON legend.  A single-symbol layer carries its icon on
    the node (drawn by ``RULE=<layer title>``, label empty as ArcGIS has it); a symbol without icon (a QGIS 3.22
    raster) keeps its title, and untitled ones are left out."""
    data = _json(body, "JSON legend")
    nodes = data.get("nodes") if isinstance(data, dict) else None
    if not isinstance(nodes, list) or not nodes or not isinstance(nodes[0], dict):
        raise BackendError("The backend's JSON legend has no layer node.")
    node = nodes[0]
    symbols = node.get("symbols")
    if not isinstance(symbols, list):
        title = str(node.get("title") or layer_title)
        icon = _inline_icon(node)
        return [LegendRule("", title if icon else None, icon=icon)]
    rules = []
    for symbol in symbols:
        if not isinstance(symbol, dict):
            continue
        title = str(symbol.get("title") or "")
        if icon := _inline_icon(symbol):
            rules.append(LegendRule(title, title, icon=icon))
        elif title:
            rules.append(LegendRule(title, None))
    return rules


def _inline_icon(node: dict[str, Any]) -> bytes | None:
    """The base64 PNG of a QGIS legend node, or None."""
    text = node.get("icon")
    if not isinstance(text, str) or not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def parse_geoserver_json(body: bytes, layer: str) -> list[LegendRule]:
    """The rules of ``layer`` in a GeoServer JSON legend (``{"Legend": [{"layerName", "rules": [...]}]}``)."""
    data = _json(body, "JSON legend")
    legends = data.get("Legend") if isinstance(data, dict) else None
    if not isinstance(legends, list):
        raise BackendError("The backend's JSON legend has no 'Legend' list.")
    wanted = layer.rpartition(":")[2]
    rules: list[LegendRule] = []
    for entry in legends:
        if not isinstance(entry, dict) or str(entry.get("layerName", "")).rpartition(":")[2] != wanted:
            continue
        for rule in entry.get("rules") or []:
            if not isinstance(rule, dict):
                continue
            colour_map = _colour_map(rule)
            if colour_map:  # a raster's colour map: one class per entry, as ArcGIS lists a raster's classes
                rules.extend(colour_map)
                continue
            name = str(rule.get("name") or "")
            label = str(rule.get("title") or name)
            rules.append(LegendRule(label, name or None, _cql_values(rule.get("filter"))))
    return rules


def _colour_map(rule: dict[str, Any]) -> list[LegendRule]:
    """The entries of a GeoServer raster rule's colour map (``{"label", "quantity", "color", "opacity"}``)."""
    found: list[LegendRule] = []
    for symbolizer in rule.get("symbolizers") or []:
        raster = symbolizer.get("Raster") if isinstance(symbolizer, dict) else None
        colour_map = raster.get("colormap") if isinstance(raster, dict) else None
        entries = colour_map.get("entries") if isinstance(colour_map, dict) else None
        for item in entries if isinstance(entries, list) else []:
            colour = _hex_colour(item.get("color"), item.get("opacity")) if isinstance(item, dict) else None
            if colour is None:
                continue
            quantity = str(item.get("quantity") or "")
            found.append(LegendRule(str(item.get("label") or quantity), None, (quantity,) if quantity else (),
                                    colour))
    return found


def _hex_colour(text: Any, opacity: Any) -> tuple[int, int, int, int] | None:
    """``#rrggbb`` and an opacity (0-1) as RGBA; None when it is not one."""
    if not isinstance(text, str) or len(text) != 7 or not text.startswith("#"):
        return None
    try:
        red, green, blue = (int(text[i:i + 2], 16) for i in (1, 3, 5))
        alpha = round(255 * float(opacity)) if opacity is not None else 255
    except ValueError:
        return None
    return red, green, blue, min(max(alpha, 0), 255)


def _cql_values(text: Any) -> tuple[str, ...]:
    """The value of a GeoServer rule filter of the form ``[field = 'value']`` (ECQL); () otherwise."""
    if not isinstance(text, str):
        return ()
    inner = text.strip().removeprefix("[").removesuffix("]").strip()
    field, sep, value = inner.partition("=")
    if not sep or not field.strip() or any(c in field for c in "<>!()") or " and " in inner.lower() \
            or " or " in inner.lower():
        return ()
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return (value[1:-1].replace("''", "'"),)
    return (value,) if value and " " not in value else ()
