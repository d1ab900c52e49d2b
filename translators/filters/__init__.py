"""ArcGIS where clauses: parsed into a tree, then rendered in each backend's filter dialect.

A clause is never passed through as text: :func:`parse_where` accepts only the documented SQL subset, and the
renderers write their dialect from the tree with that dialect's own quoting.

* :func:`to_ogc_filter` — OGC Filter Encoding XML (MapServer WMS ``FILTER``);
* :func:`to_qgis_expression` — QGIS expression (QGIS Server WMS ``FILTER``);
* :func:`to_cql` — ECQL (GeoServer ``CQL_FILTER``).
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
