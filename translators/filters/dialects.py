"""Filter dialects: how a backend takes per-layer feature filters on a WMS GetMap.

A dialect names the vendor parameter, renders one layer's filter in the backend's language and puts the filters of
all requested layers together; a backend flavour (:mod:`translators.ogc.flavors`) says which dialect it speaks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from translators.filters.ast import Expr
from translators.filters.cql import to_cql
from translators.filters.ogc import OgcVariant, to_ogc_filter


@dataclass(frozen=True, kw_only=True)
class FilterDialect(ABC):
    """One vendor parameter carrying a filter per requested layer, in request order.

    Each layer's part is ``layer_template`` filled with its rendered filter, or with ``unfiltered`` for a layer
    without one; the parts are joined by ``separator``.
    """

    parameter: str  # the WMS vendor parameter: FILTER, CQL_FILTER
    separator: str
    layer_template: str  # a str.format template with one field
    unfiltered: str

    @abstractmethod
    def render(self, expr: Expr, *, parameter: str) -> str:
        """One layer's filter; constructs the dialect cannot carry raise InvalidParameter for ``parameter``."""

    def params(self, layers: Sequence[str], filters: Mapping[str, Expr], *, parameter: str) -> dict[str, str]:
        """The vendor parameter for ``layers``, with the filters of those named in ``filters``."""
        parts = (self.render(filters[name], parameter=parameter) if name in filters else self.unfiltered
                 for name in layers)
        return {self.parameter: self.separator.join(self.layer_template.format(part) for part in parts)}


@dataclass(frozen=True, kw_only=True)
class OgcFilterDialect(FilterDialect):
    """OGC Filter Encoding XML, written for one server's reading of it."""

    variant: OgcVariant

    def render(self, expr: Expr, *, parameter: str) -> str:
        """The layer's ``ogc:Filter`` document."""
        return to_ogc_filter(expr, parameter=parameter, backend=self.variant)


@dataclass(frozen=True, kw_only=True)
class CqlFilterDialect(FilterDialect):
    """GeoServer's ECQL."""

    def render(self, expr: Expr, *, parameter: str) -> str:
        """The layer's ECQL condition."""
        return to_cql(expr, parameter=parameter)
