"""ArcGIS where clauses: parsed into a tree, then rendered in each backend's filter dialect.

A clause is never passed through as text: :func:`parse_where` accepts only the documented SQL subset, and the
renderers write their dialect from the tree with that dialect's own quoting.

* :func:`to_ogc_filter` — OGC Filter Encoding XML (MapServer and QGIS Server WMS ``FILTER``, one variant each);
* :func:`to_qgis_expression` — QGIS expression (QGIS Server's text ``FILTER``, which the QGIS flavour avoids);
* :func:`to_cql` — ECQL (GeoServer ``CQL_FILTER``).

All three walk the tree with :class:`~translators.filters.render.Renderer`; :mod:`translators.filters.dialects`
says how a backend takes them on a GetMap.
"""

from translators.filters.ast import FALSE, TRUE, Const, Expr, field_names, map_fields
from translators.filters.cql import to_cql
from translators.filters.ogc import to_ogc_filter
from translators.filters.parser import parse_where
from translators.filters.qgis import to_qgis_expression

__all__ = [
    "FALSE",
    "TRUE",
    "Const",
    "Expr",
    "field_names",
    "map_fields",
    "parse_where",
    "to_cql",
    "to_ogc_filter",
    "to_qgis_expression",
]
