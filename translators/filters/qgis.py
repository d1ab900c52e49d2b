"""Render a where-clause tree as a QGIS expression (QGIS 3.22 syntax).

Every token is separated by a space, and only ``!=`` (never ``<>``) is used, because QGIS Server's WMS ``FILTER``
text form accepts nothing else: it splits the filter on spaces and lets through only ``( ) , = != < <= > >=``,
``AND OR NOT IN IS NULL LIKE ILIKE``, numbers and quoted tokens (``QgsRenderer::testFilterStringSafety``).
Functions (``upper()``, ``to_date()``) and BETWEEN fail that check; BETWEEN is written as two comparisons since
QGIS 3.22 expressions have no BETWEEN either.
"""

from __future__ import annotations

import datetime as dt
from typing import assert_never

from translators.errors import InvalidParameter
from translators.filters.ast import (
    And,
    Between,
    CompareOp,
    Comparison,
    Const,
    Expr,
    Field,
    Func,
    In,
    IsNull,
    Like,
    LikePart,
    Literal,
    LiteralValue,
    Not,
    Operand,
    Or,
    Wildcard,
    push_negations,
    simplify,
)

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


class _Renderer:
    def __init__(self, parameter: str) -> None:
        self.parameter = parameter

    def render(self, expr: Expr) -> str:
        match expr:
            case Comparison(left, op, right):
                return f"{self.operand(left)} {_OPERATOR[op]} {self.operand(right)}"
            case And(operands):
                return " AND ".join(f"( {self.render(c)} )" if isinstance(c, Or) else self.render(c) for c in operands)
            case Or(operands):
                return " OR ".join(self.render(c) for c in operands)
            case Not(In(operand, values)):
                return f"{self.operand(operand)} NOT IN {self.values(values)}"
            case Not(Like(operand, pattern)):
                return f"{self.operand(operand)} NOT LIKE {self.pattern(pattern)}"
            case Not(IsNull(operand)):
                return f"{self.operand(operand)} IS NOT NULL"
            case Not(Between() as between):
                return f"NOT {self.render(between)}"
            case Not(operand):
                return f"NOT ( {self.render(operand)} )"
            case In(operand, values):
                return f"{self.operand(operand)} IN {self.values(values)}"
            case Like(operand, pattern):
                return f"{self.operand(operand)} LIKE {self.pattern(pattern)}"
            case Between(operand, low, high):
                target = self.operand(operand)
                return f"( {target} >= {literal(low.value)} AND {target} <= {literal(high.value)} )"
            case IsNull(operand):
                return f"{self.operand(operand)} IS NULL"
            case Const(value):
                return "1 = 1" if value else "1 = 0"
            case _:
                assert_never(expr)

    def operand(self, operand: Operand) -> str:
        match operand:
            case Field(name):
                return quote_field(name)
            case Literal(value):
                return literal(value)
            case Func(name, arg):
                return f"{name.lower()}({self.operand(arg)})"
            case _:
                assert_never(operand)

    def values(self, values: tuple[Literal, ...]) -> str:
        return "( " + " , ".join(literal(v.value) for v in values) + " )"

    def pattern(self, pattern: tuple[LikePart, ...]) -> str:
        # QGIS reads "\%" and "\_" in a LIKE pattern as literal % and _, and any other backslash as itself
        # (QgsExpressionNodeBinaryOperator::evalNode), so a backslash right before a wildcard cannot be written.
        out: list[str] = []
        for i, part in enumerate(pattern):
            if isinstance(part, Wildcard):
                out.append(part.value)
                continue
            if part.endswith("\\") and i + 1 < len(pattern):
                raise InvalidParameter(self.parameter, "a LIKE pattern with a backslash right before a wildcard "
                                       "cannot be expressed for this service")
            out.append(part.replace("%", "\\%").replace("_", "\\_"))
        return quote_string("".join(out))


def to_qgis_expression(expr: Expr, *, parameter: str = "where") -> str:
    """Render ``expr`` as a QGIS expression, spaced so simple filters also pass QGIS Server's ``FILTER`` check.

    Constants render as ``1 = 1`` and ``1 = 0``.  A LIKE pattern QGIS cannot express raises
    :class:`~translators.errors.InvalidParameter` for ``parameter``.
    """
    return _Renderer(parameter).render(push_negations(simplify(expr)))
