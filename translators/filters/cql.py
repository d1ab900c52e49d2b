"""Render a where-clause tree as GeoServer ECQL, for the WMS ``CQL_FILTER`` vendor parameter.

Follows the GeoTools ECQL grammar (``ECQLGrammar.jjt``): ``<>`` for inequality; strings in single quotes with
``''``; LIKE with ``%``, ``_`` and ``\\`` as escape; dates as unquoted ISO 8601 date-times with ``Z``; field names
bare when they are plain ASCII identifiers and no keyword, otherwise double-quoted — and a quoted name may hold
neither a space nor a double quote, so such fields cannot be filtered on.  ``IN`` only accepts a plain attribute
on its left, so ``UPPER(x) IN (…)`` is written as a disjunction.
"""

from __future__ import annotations

import datetime as dt
import re

from translators.errors import InvalidParameter
from translators.filters.ast import (
    CompareOp,
    Expr,
    Field,
    FuncName,
    LikePart,
    Literal,
    LiteralValue,
    Operand,
    like_pattern_text,
)
from translators.filters.render import TextRenderer

_FUNCTION = {FuncName.UPPER: "strToUpperCase", FuncName.LOWER: "strToLowerCase"}
_SIMPLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Names the ECQL lexer would read as something else: keywords, the time designator T, durations (P1D, T2H) and
# DE-9IM patterns.
_KEYWORDS = {
    "AND", "OR", "NOT", "TRUE", "FALSE", "UNKNOWN", "LIKE", "ILIKE", "BETWEEN", "ID", "IN", "IS", "NULL", "INCLUDE",
    "EXCLUDE", "POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON",
    "GEOMETRYCOLLECTION", "ENVELOPE", "TEQUALS", "BEFORE", "DURING", "AFTER", "T", "EXISTS", "EQUALS", "DISJOINT",
    "INTERSECTS", "TOUCHES", "CROSSES", "WITHIN", "CONTAINS", "OVERLAPS", "RELATE", "BBOX", "DWITHIN", "BEYOND",
    "FEET", "METERS", "KILOMETERS",
}
_LOOKS_LIKE_TOKEN = re.compile(r"[PT]\d.*|[TF012*]{9}", re.IGNORECASE)


def quote_field(name: str, parameter: str = "where") -> str:
    """An ECQL attribute reference, or InvalidParameter if ECQL cannot name the field."""
    if _SIMPLE_NAME.fullmatch(name) and name.upper() not in _KEYWORDS and not _LOOKS_LIKE_TOKEN.fullmatch(name):
        return name
    if '"' in name or any(ch.isspace() for ch in name):
        raise InvalidParameter(parameter, f"the field name '{name}' cannot be used in a filter by this service")
    return f'"{name}"'


def quote_string(text: str) -> str:
    """An ECQL string literal: single quotes, embedded ones doubled (backslashes are not special)."""
    return "'" + text.replace("'", "''") + "'"


def literal(value: LiteralValue) -> str:
    """An ECQL literal; a DATE is midnight and a TIMESTAMP is read as UTC, to millisecond precision."""
    if isinstance(value, str):
        return quote_string(value)
    if isinstance(value, dt.date):
        if not isinstance(value, dt.datetime):
            value = dt.datetime(value.year, value.month, value.day)
        # GeoTools parses fractions with SimpleDateFormat's ".SSS": more than three digits would be misread.
        return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds") + "Z"
    return repr(value) if isinstance(value, float) else str(value)


class _CqlRenderer(TextRenderer):
    operators = {op: op.value for op in CompareOp}
    open, close, comma = "(", ")", ", "

    def in_list(self, operand: Operand, values: tuple[Literal, ...]) -> str:
        if isinstance(operand, Field):
            return super().in_list(operand, values)
        # ECQL's IN takes a plain attribute only: UPPER(x) IN (…) becomes a disjunction.
        target = self.operand(operand)
        tests = [f"{target} = {literal(v.value)}" for v in values]
        return tests[0] if len(tests) == 1 else self.enclosed(" OR ".join(tests))

    def not_in(self, operand: Operand, values: tuple[Literal, ...]) -> str:
        if isinstance(operand, Field):
            return super().not_in(operand, values)
        return "NOT " + self.enclosed(self.in_list(operand, values))

    def write_between(self, subject: str, low: str, high: str) -> str:
        return f"{subject} BETWEEN {low} AND {high}"

    def constant(self, value: bool) -> str:
        return "INCLUDE" if value else "EXCLUDE"

    def pattern(self, pattern: tuple[LikePart, ...]) -> str:
        return quote_string(like_pattern_text(pattern, "%", "_", "\\"))

    def field(self, name: str) -> str:
        return quote_field(name, self.parameter)

    def value(self, value: LiteralValue) -> str:
        return literal(value)

    def call(self, name: FuncName, arg: str) -> str:
        return f"{_FUNCTION[name]}({arg})"


def to_cql(expr: Expr, *, parameter: str = "where") -> str:
    """Render ``expr`` as ECQL; constants render as ``INCLUDE`` and ``EXCLUDE``.

    A field ECQL cannot name raises :class:`~translators.errors.InvalidParameter` for ``parameter``.
    """
    return _CqlRenderer(parameter).text(expr)
