"""Render a where-clause tree as a QGIS expression (QGIS 3.22 syntax).

Every token is separated by a space, and only ``!=`` (never ``<>``) is used, because QGIS Server's WMS ``FILTER``
text form accepts nothing else: it splits the filter on spaces and lets through only ``( ) , = != < <= > >=``,
``AND OR NOT IN IS NULL LIKE ILIKE``, numbers and quoted tokens (``QgsRenderer::testFilterStringSafety``).
Functions (``upper()``, ``to_date()``) and BETWEEN fail that check; BETWEEN is written as two comparisons since
QGIS 3.22 expressions have no BETWEEN either.
"""

from __future__ import annotations

import datetime as dt

from translators.errors import InvalidParameter
from translators.filters.ast import (
    CompareOp,
    Expr,
    FuncName,
    LikePart,
    LiteralValue,
    Wildcard,
)
from translators.filters.render import TextRenderer

_OPERATOR = {
    CompareOp.EQ: "=",
    CompareOp.NE: "!=",
    CompareOp.LT: "<",
    CompareOp.LE: "<=",
    CompareOp.GT: ">",
    CompareOp.GE: ">=",
}


def quote_field(name: str) -> str:
    """A QGIS column reference: double quotes, embedded ones doubled (as ``QgsExpression::quotedColumnRef``)."""
    return '"' + name.replace('"', '""') + '"'


def quote_string(text: str) -> str:
    """A QGIS string literal, escaped as ``QgsExpression::quotedString`` does (QGIS reads backslash escapes)."""
    text = text.replace("'", "''").replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
    return f"'{text}'"


def literal(value: LiteralValue) -> str:
    """A QGIS literal: text quoted, numbers as written, dates through ``to_date``/``to_datetime``."""
    if isinstance(value, str):
        return quote_string(value)
    if isinstance(value, dt.datetime):
        return f"to_datetime({quote_string(value.isoformat())})"
    if isinstance(value, dt.date):
        return f"to_date({quote_string(value.isoformat())})"
    return repr(value) if isinstance(value, float) else str(value)


def refuse_backslash_before_wildcard(pattern: tuple[LikePart, ...], parameter: str) -> None:
    """Refuse a LIKE pattern whose literal text ends in a backslash right before a wildcard.

    QGIS reads ``\\%`` and ``\\_`` in a LIKE pattern as literal % and _, and any other backslash as itself
    (``QgsExpressionNodeBinaryOperator::evalNode``), so such a pattern cannot be written.  OGC ``PropertyIsLike``
    sent to QGIS Server becomes the same LIKE, so it is refused there too.
    """
    if any(isinstance(p, str) and p.endswith("\\") and i + 1 < len(pattern) for i, p in enumerate(pattern)):
        raise InvalidParameter(parameter, "a LIKE pattern with a backslash right before a wildcard cannot be "
                               "expressed for this service")


class _QgisRenderer(TextRenderer):
    # Every token stands apart: QGIS Server's FILTER check splits on spaces.
    operators = _OPERATOR
    open, close, comma = "( ", " )", " , "

    def write_between(self, subject: str, low: str, high: str) -> str:
        # QGIS 3.22 expressions have no BETWEEN.
        return self.enclosed(f"{subject} >= {low} AND {subject} <= {high}")

    def constant(self, value: bool) -> str:
        return "1 = 1" if value else "1 = 0"

    def pattern(self, pattern: tuple[LikePart, ...]) -> str:
        refuse_backslash_before_wildcard(pattern, self.parameter)
        return quote_string("".join(part.value if isinstance(part, Wildcard)
                                    else part.replace("%", "\\%").replace("_", "\\_") for part in pattern))

    def field(self, name: str) -> str:
        return quote_field(name)

    def value(self, value: LiteralValue) -> str:
        return literal(value)

    def call(self, name: FuncName, arg: str) -> str:
        return f"{name.lower()}({arg})"


def to_qgis_expression(expr: Expr, *, parameter: str = "where") -> str:
    """Render ``expr`` as a QGIS expression, spaced so simple filters also pass QGIS Server's ``FILTER`` check.

    Constants render as ``1 = 1`` and ``1 = 0``.  A LIKE pattern QGIS cannot express raises
    :class:`~translators.errors.InvalidParameter` for ``parameter``.
    """
    return _QgisRenderer(parameter).text(expr)
