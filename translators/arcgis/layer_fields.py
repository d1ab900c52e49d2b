"""The fields of a where clause against the fields of its layer: an unknown field is the caller's mistake (a 400
naming it), not a backend failure (issue 10).

Two sources, best first:

* the layer's fields as the backend describes them (WFS DescribeFeatureType): every field of a clause must be one of
  them, matched case-insensitively as ArcGIS does (MapServer 8 over OGR and QGIS Server 3.22 match any case too), and
  is renamed to the backend's spelling;
* for a layer the backend does not describe, the exception report of the filtered GetMap: MapServer names the field
  (``Invalid Field name: nosuch in layer `regions'``).  A report counts as naming a field only when it contains a
  field of the request's clauses as a whole word next to a word saying what it is (field, item, column, attribute,
  property); anything else stays a 502.  QGIS Server 3.22 reports nothing: it draws no feature instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from translators.arcgis.layers import MapLayer
from translators.errors import InvalidParameter
from translators.filters import field_names, map_fields
from translators.filters.ast import Expr

LayerFields = Mapping[str, Sequence[str]]
"""The attribute fields of WMS layers as the backend spells them, by WMS layer name (layers it describes only)."""

_KIND = r"(?:field|item|column|attribute|property|propertyname)"
# "Invalid Field name: x": the words of the phrase itself are no field of the clause.
_PHRASE = re.compile(rf"\b{_KIND}\s*name\b", re.IGNORECASE)
_KIND_WORD = re.compile(rf"\b{_KIND}s?\b", re.IGNORECASE)


def resolve_fields(expr: Expr, layer: MapLayer, fields: LayerFields | None, parameter: str) -> Expr:
    """``expr`` with its fields in the backend's spelling; a field the layer does not have is a 400 naming it.

    Layers whose fields are not known are left as they are (the backend judges them)."""
    known = fields.get(layer.wms.name) if fields is not None and layer.wms.name else None
    if known is None:
        return expr
    exact = set(known)
    folded: dict[str, str] = {}
    for name in known:
        folded.setdefault(name.casefold(), name)

    def rename(name: str) -> str:
        if name in exact:
            return name
        found = folded.get(name.casefold())
        if found is None:
            listed = ", ".join(known) if known else "none"
            raise InvalidParameter(parameter, f"field '{name}' does not exist in layer {layer.id} (fields: {listed})")
        return found

    return map_fields(expr, rename)


def fields_named_unknown(messages: Iterable[str], filters: Mapping[str, Expr]) -> list[tuple[str, str]]:
    """The (field, WMS layer) pairs of ``filters`` that a backend's exception report names as unknown."""
    text = " ".join(messages)
    if not _KIND_WORD.search(text):
        return []
    words = {w.casefold() for w in re.findall(r"\w+", _PHRASE.sub(" ", text))}
    found: list[tuple[str, str]] = []
    for layer, expr in filters.items():
        found += [(name, layer) for name in sorted(field_names(expr)) if name.casefold() in words]
    return found


def refused_field_error(messages: Sequence[str], filters: Mapping[str, Expr], layer_ids: Mapping[str, int],
                        parameter: str) -> InvalidParameter | None:
    """The 400 for a filtered GetMap that the backend refused naming a field of its clauses, or None."""
    named = fields_named_unknown(messages, filters)
    if not named:
        return None
    fields = ", ".join(dict.fromkeys(f"'{name}'" for name, _ in named))
    layers = ", ".join(dict.fromkeys(str(layer_ids.get(layer, layer)) for _, layer in named))
    return InvalidParameter(parameter, f"the backend does not know field {fields} of layer {layers}", list(messages))
