"""Render a where-clause tree as OGC Filter Encoding XML, for MapServer's WMS ``FILTER`` vendor parameter.

The output is one ``<ogc:Filter xmlns:ogc="http://www.opengis.net/ogc">`` element without an XML declaration.
MapServer strips every namespace prefix before reading a filter (``FLTParseFilterEncoding``), so prefixed and
unprefixed forms parse alike there, while namespace-aware readers (QGIS Server, GeoServer) need the declaration.

The encoding is shaped by how MapServer 8 evaluates filters (checked against ``mapserv`` 8.0 on an OGR layer):

* each comparison has exactly one ``PropertyName`` and one ``Literal``: a literal-on-the-left comparison is already
  turned around by the parser, and a field-to-field comparison is refused;
* ``PropertyIsNull`` is dropped by MapServer's expression builder, so ``x IS NOT NULL`` is written as
  ``x = '' OR x <> ''`` (true for every non-null value, of any type) and ``x IS NULL`` as ``NOT x <> ''``, which
  MapServer also lets empty strings through (it reads nulls as empty text when checking features);
* ``ogc:Not`` is evaluated with two-valued logic (a null operand makes ``Not`` true), so negations are pushed down
  to the comparisons (``NOT a = 1`` → ``a <> 1``, ``NOT IN`` → ``AND`` of ``<>``, ``NOT BETWEEN`` → ``<`` or ``>``),
  which is exact under SQL's three-valued logic; ``NOT LIKE`` keeps its ``ogc:Not`` behind a not-null guard;
* ``matchCase="false"`` is honoured on ``PropertyIsEqualTo`` and ``PropertyIsLike`` only; it is how
  ``UPPER(field) = 'ABC'`` and ``UPPER(field) LIKE 'AB%'`` are expressed, as OGC Filter 1.x has no standard UPPER.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal as TypingLiteral
from typing import assert_never

from lxml import etree

from translators.errors import InvalidParameter, UnsupportedParameter
from translators.filters.ast import (
    FALSE,
    TRUE,
    And,
    Between,
    CompareOp,
    Comparison,
    Const,
    Expr,
    Field,
    Func,
    FuncName,
    In,
    IsNull,
    Like,
    LikePart,
    Literal,
    LiteralValue,
    Not,
    Operand,
    Or,
    base_field,
    like_pattern_text,
    simplify,
)

OGC_NS = "http://www.opengis.net/ogc"
WILD_CARD = "*"
SINGLE_CHAR = "."
ESCAPE_CHAR = "!"
VERSIONS = ("1.0.0", "1.1.0")
Backend = TypingLiteral["mapserver", "qgis"]

_COMPARISON_ELEMENT = {
    CompareOp.EQ: "PropertyIsEqualTo",
    CompareOp.NE: "PropertyIsNotEqualTo",
    CompareOp.LT: "PropertyIsLessThan",
    CompareOp.LE: "PropertyIsLessThanOrEqualTo",
    CompareOp.GT: "PropertyIsGreaterThan",
    CompareOp.GE: "PropertyIsGreaterThanOrEqualTo",
}


def _element(tag: str, *children: etree._Element, text: str | None = None, **attrib: str) -> etree._Element:
    element = etree.Element(f"{{{OGC_NS}}}{tag}", attrib, nsmap={"ogc": OGC_NS})
    element.text = text
    element.extend(children)
    return element


def _group(tag: str, children: list[etree._Element]) -> etree._Element:
    return children[0] if len(children) == 1 else _element(tag, *children)


def literal_text(value: LiteralValue) -> str:
    """The text of an ``ogc:Literal``: dates and timestamps in ISO 8601 without a time zone, numbers as written."""
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return repr(value) if isinstance(value, float) else str(value)


class _Renderer:
    def __init__(self, version: str, parameter: str, backend: Backend) -> None:
        self.escape_attribute = "escape" if version == "1.0.0" else "escapeChar"
        self.parameter = parameter
        self.backend = backend

    def not_null(self, field: Field) -> etree._Element:
        """True for every non-null value; MapServer ignores PropertyIsNull, so it gets comparisons with ''."""
        if self.backend == "qgis":
            return _element("Not", _element("PropertyIsNull", _property(field)))
        return _element("Or", _compare(field, CompareOp.EQ, ""), _compare(field, CompareOp.NE, ""))

    def build(self, expr: Expr) -> etree._Element:
        match expr:
            case Comparison(left, op, right):
                return self.comparison(left, op, right)
            case And(operands):
                return _element("And", *map(self.build, operands))
            case Or(operands):
                return _element("Or", *map(self.build, operands))
            case Not(operand):
                return self.negation(operand)
            case In(operand, values):
                return self.in_list(operand, values)
            case Like(operand, pattern):
                return self.like(operand, pattern)
            case Between(operand, low, high):
                return self.between(operand, low, high)
            case IsNull(operand):
                # UPPER(x) and LOWER(x) are null exactly when x is.
                field = self.split(operand)[0]
                if self.backend == "qgis":
                    return _element("PropertyIsNull", _property(field))
                # MapServer reads a null as '' when it checks a feature, so "NOT x <> ''" is the one form both its
                # data-source query and its own check let a null through; it lets an empty string through as well.
                return _element("Not", _compare(field, CompareOp.NE, ""))
            case Const():
                raise ValueError("constants must be simplified away before rendering")
            case _:
                assert_never(expr)

    def negation(self, expr: Expr) -> etree._Element:
        """Render ``NOT expr`` with the negation pushed down to predicates that exclude nulls by themselves."""
        match expr:
            case Comparison(left, op, right):
                return self.comparison(left, op.negated(), right)
            case And(operands):
                return _element("Or", *map(self.negation, operands))
            case Or(operands):
                return _element("And", *map(self.negation, operands))
            case Not(operand):
                return self.build(operand)
            case In(Field() as field, values):
                return _group("And", [self.comparison(field, CompareOp.NE, v) for v in values])
            case Between(operand, low, high):
                below = self.comparison(operand, CompareOp.LT, low)
                return _element("Or", below, self.comparison(operand, CompareOp.GT, high))
            case IsNull(operand):
                return self.not_null(self.split(operand)[0])
            case In() | Like():
                return _element("And", self.not_null(self.split(expr.operand)[0]), _element("Not", self.build(expr)))
            case Const():
                raise ValueError("constants must be simplified away before rendering")
            case _:
                assert_never(expr)

    def expression(self, operand: Operand) -> etree._Element:
        """An OGC expression for QGIS, which maps ``ogc:Function`` names onto its own functions."""
        match operand:
            case Field():
                return _property(operand)
            case Literal(value) if isinstance(value, dt.date):
                # QGIS compares a date field with date-like text wrongly; to_date/to_datetime make real dates.
                name = "to_datetime" if isinstance(value, dt.datetime) else "to_date"
                return _element("Function", _literal(value), name=name)
            case Literal(value):
                return _literal(value)
            case Func(name, arg):
                return _element("Function", self.expression(arg), name=name.lower())
            case _:
                assert_never(operand)

    def split(self, operand: Operand) -> tuple[Field, Func | None]:
        field = base_field(operand)
        if field is None:
            raise ValueError("a predicate on a literal must be folded before rendering")
        return field, operand if isinstance(operand, Func) else None

    def between(self, operand: Operand, low: Literal, high: Literal) -> etree._Element:
        qgis = self.backend == "qgis"
        target = self.expression(operand) if qgis else _property(self.plain_field(operand, "BETWEEN"))
        return _element("PropertyIsBetween", target, _element("LowerBoundary", self.value(low)),
                        _element("UpperBoundary", self.value(high)))

    def value(self, literal: Literal) -> etree._Element:
        return self.expression(literal) if self.backend == "qgis" else _literal(literal.value)

    def plain_field(self, operand: Operand, construct: str) -> Field:
        field, func = self.split(operand)
        if func is not None:
            raise InvalidParameter(self.parameter, f"{func.name}() cannot be used with {construct} by this service")
        return field

    def comparison(self, left: Operand, op: CompareOp, right: Operand) -> etree._Element:
        if self.backend == "qgis":
            return _element(_COMPARISON_ELEMENT[op], self.expression(left), self.expression(right))
        if not isinstance(right, Literal):
            raise InvalidParameter(self.parameter, "comparing one field with another is not supported by this service")
        field, func = self.split(left)
        if func is None:
            return _compare(field, op, right.value)
        if op not in (CompareOp.EQ, CompareOp.NE):
            raise InvalidParameter(self.parameter, f"{func.name}() can only be compared with = or <> by this service")
        text = _text(right)
        if op is CompareOp.EQ:
            return _equal_ignoring_case(field, text) if _unchanged_by(func, text) else _never(field)
        if not _unchanged_by(func, text):
            return self.not_null(field)  # UPPER(x) <> 'abc' holds for every x that is not null
        return _element("And", self.not_null(field), _element("Not", _equal_ignoring_case(field, text)))

    def in_list(self, operand: Operand, values: tuple[Literal, ...]) -> etree._Element:
        field, func = self.split(operand)
        if func is None or self.backend == "qgis":
            return _group("Or", [self.comparison(operand, CompareOp.EQ, v) for v in values])
        # An entry UPPER(x) could never equal (it is not upper-case) matches nothing and is left out.
        tests = [_equal_ignoring_case(field, _text(v)) for v in values if _unchanged_by(func, _text(v))]
        return _group("Or", tests) if tests else _never(field)

    def like(self, operand: Operand, pattern: tuple[LikePart, ...]) -> etree._Element:
        field, func = self.split(operand)
        if self.backend == "qgis":
            return self.qgis_like(operand, pattern)
        if func is not None and not _unchanged_by(func, "".join(p for p in pattern if isinstance(p, str))):
            return _never(field)
        ignore_case = {"matchCase": "false"} if func is not None else {}
        if not pattern:
            # MapServer turns an empty LIKE pattern into an unanchored, match-all regular expression.
            return _element("PropertyIsEqualTo", _property(field), _literal(""), **ignore_case)
        return self.like_element(_property(field), pattern, **ignore_case)

    def qgis_like(self, operand: Operand, pattern: tuple[LikePart, ...]) -> etree._Element:
        if any(isinstance(p, str) and p.endswith("\\") and i + 1 < len(pattern) for i, p in enumerate(pattern)):
            # QGIS turns the pattern into its own LIKE, where a backslash before a wildcard escapes it.
            raise InvalidParameter(self.parameter, "a LIKE pattern with a backslash right before a wildcard cannot "
                                   "be expressed for this service")
        return self.like_element(self.expression(operand), pattern)

    def like_element(self, target: etree._Element, pattern: tuple[LikePart, ...], **extra: str) -> etree._Element:
        attrib = {"wildCard": WILD_CARD, "singleChar": SINGLE_CHAR, self.escape_attribute: ESCAPE_CHAR, **extra}
        text = like_pattern_text(pattern, WILD_CARD, SINGLE_CHAR, ESCAPE_CHAR)
        return _element("PropertyIsLike", target, _element("Literal", text=text), **attrib)


def _property(field: Field) -> etree._Element:
    return _element("PropertyName", text=field.name)


def _literal(value: LiteralValue) -> etree._Element:
    return _element("Literal", text=literal_text(value))


def _compare(field: Field, op: CompareOp, value: LiteralValue) -> etree._Element:
    return _element(_COMPARISON_ELEMENT[op], _property(field), _literal(value))


def _text(literal: Literal) -> str:
    if not isinstance(literal.value, str):
        raise ValueError("UPPER()/LOWER() compared with a non-text literal must be refused by the parser")
    return literal.value


def _unchanged_by(func: Func, text: str) -> bool:
    # Only the outermost call decides the case of the result: UPPER(LOWER(x)) is upper-case.
    return (text.upper() if func.name is FuncName.UPPER else text.lower()) == text


def _equal_ignoring_case(field: Field, text: str) -> etree._Element:
    return _element("PropertyIsEqualTo", _property(field), _literal(text), matchCase="false")


def _never(field: Field) -> etree._Element:
    """A condition no feature meets, written with the field at hand since OGC Filter has no FALSE."""
    return _element("And", _compare(field, CompareOp.EQ, ""), _compare(field, CompareOp.NE, ""))


def to_ogc_filter(
    expr: Expr, version: str = "1.1.0", *, parameter: str = "where", backend: Backend = "mapserver"
) -> str:
    """Render ``expr`` as an OGC Filter Encoding ``version`` (1.0.0 or 1.1.0) document, without XML declaration.

    LIKE patterns use ``wildCard="*" singleChar="." escapeChar="!"`` (``escape="!"`` for 1.0.0); IN becomes an
    ``ogc:Or`` of equalities.  :data:`~translators.filters.ast.TRUE` renders as the empty string (no filter);
    :data:`~translators.filters.ast.FALSE` has no OGC form and raises
    :class:`~translators.errors.UnsupportedParameter`, so callers should drop an always-false layer instead.
    Constructs the format cannot carry (field-to-field comparisons, UPPER/LOWER outside =, <>, IN, LIKE and
    IS NULL) raise :class:`~translators.errors.InvalidParameter` for ``parameter``.

    ``backend`` picks how null tests are written: ``"mapserver"`` (comparisons with '', since MapServer ignores
    ``PropertyIsNull``) or ``"qgis"`` (``PropertyIsNull``, for QGIS Server, which reads the same WMS ``FILTER``).
    """
    if version not in VERSIONS:
        raise ValueError(f"unsupported Filter Encoding version {version!r}; expected one of {VERSIONS}")
    expr = simplify(expr)
    if expr == TRUE:
        return ""
    if expr == FALSE:
        raise UnsupportedParameter(parameter, "a condition no feature can meet (such as 1=0) cannot be sent to this "
                                   "backend; leave the layer out instead")
    root = _element("Filter", _Renderer(version, parameter, backend).build(expr))
    return etree.tostring(root, encoding="unicode")
