"""Render a where-clause tree as OGC Filter Encoding XML, for the WMS ``FILTER`` vendor parameter of MapServer and
QGIS Server (:class:`MapServerOgc` and :class:`QgisOgc`, the two readings of it written for).

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
from abc import abstractmethod
from typing import TypeAlias

from lxml import etree

from translators.errors import InvalidParameter, UnsupportedParameter
from translators.filters.ast import (
    FALSE,
    TRUE,
    CompareOp,
    Expr,
    Field,
    Func,
    FuncName,
    In,
    Like,
    LikePart,
    Literal,
    LiteralValue,
    Operand,
    base_field,
    like_pattern_text,
    simplify,
)
from translators.filters.qgis import refuse_backslash_before_wildcard
from translators.filters.render import Renderer

OGC_NS = "http://www.opengis.net/ogc"
WILD_CARD = "*"
SINGLE_CHAR = "."
ESCAPE_CHAR = "!"
VERSIONS = ("1.0.0", "1.1.0")

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


class OgcRenderer(Renderer[etree._Element]):
    """OGC Filter Encoding elements; :class:`MapServerOgc` and :class:`QgisOgc` write what those servers read
    differently (null tests, UPPER/LOWER, field-to-field comparisons, dates)."""

    def __init__(self, version: str, parameter: str) -> None:
        super().__init__(parameter)
        self.escape_attribute = "escape" if version == "1.0.0" else "escapeChar"

    @abstractmethod
    def null(self, field: Field) -> etree._Element:
        """True exactly for the features where ``field`` is null."""

    @abstractmethod
    def not_null(self, field: Field) -> etree._Element:
        """True for every non-null value of ``field``."""

    def conjunction(self, operands: tuple[Expr, ...]) -> etree._Element:
        """``ogc:And``."""
        return _element("And", *map(self.render, operands))

    def disjunction(self, operands: tuple[Expr, ...]) -> etree._Element:
        """``ogc:Or``."""
        return _element("Or", *map(self.render, operands))

    def not_in(self, operand: Operand, values: tuple[Literal, ...]) -> etree._Element:
        """``NOT IN`` on a field as an ``ogc:And`` of inequalities, which exclude nulls as SQL does."""
        if isinstance(operand, Field):
            return _group("And", [self.comparison(operand, CompareOp.NE, v) for v in values])
        return self.guarded_not(In(operand, values))

    def not_like(self, operand: Operand, pattern: tuple[LikePart, ...]) -> etree._Element:
        """``ogc:Not`` of the LIKE, behind a not-null guard."""
        return self.guarded_not(Like(operand, pattern))

    def guarded_not(self, expr: In | Like) -> etree._Element:
        """``NOT expr`` as ``ogc:And`` of a not-null test and ``ogc:Not``."""
        # ogc:Not is two-valued (true for a null operand), while SQL's NOT of a predicate on a null is unknown.
        return _element("And", self.not_null(self.split(expr.operand)[0]), _element("Not", self.render(expr)))

    def is_null(self, operand: Operand) -> etree._Element:
        """The variant's null test; UPPER(x) and LOWER(x) are null exactly when x is."""
        return self.null(self.split(operand)[0])

    def is_not_null(self, operand: Operand) -> etree._Element:
        """The variant's not-null test on the field under any UPPER/LOWER."""
        return self.not_null(self.split(operand)[0])

    def constant(self, value: bool) -> etree._Element:
        """Refused: OGC Filter has no TRUE or FALSE, :func:`to_ogc_filter` handles constants before rendering."""
        raise ValueError("constants must be simplified away before rendering")

    def field(self, name: str) -> etree._Element:
        """``ogc:PropertyName``."""
        return _element("PropertyName", text=name)

    def value(self, value: LiteralValue) -> etree._Element:
        """``ogc:Literal``."""
        return _literal(value)

    def call(self, name: FuncName, arg: etree._Element) -> etree._Element:
        """``ogc:Function``, named in lower case as QGIS maps it onto its own functions."""
        return _element("Function", arg, name=name.lower())

    def split(self, operand: Operand) -> tuple[Field, Func | None]:
        """The field an operand reads and the UPPER/LOWER call around it, if any."""
        field = base_field(operand)
        if field is None:
            raise ValueError("a predicate on a literal must be folded before rendering")
        return field, operand if isinstance(operand, Func) else None

    def like_element(self, target: etree._Element, pattern: tuple[LikePart, ...], **extra: str) -> etree._Element:
        """``ogc:PropertyIsLike`` of ``target`` with this module's wildcard and escape characters."""
        attrib = {"wildCard": WILD_CARD, "singleChar": SINGLE_CHAR, self.escape_attribute: ESCAPE_CHAR, **extra}
        text = like_pattern_text(pattern, WILD_CARD, SINGLE_CHAR, ESCAPE_CHAR)
        return _element("PropertyIsLike", target, _element("Literal", text=text), **attrib)


class MapServerOgc(OgcRenderer):
    """OGC Filter as MapServer 8 evaluates it: one property and one literal per comparison, no PropertyIsNull,
    UPPER/LOWER only through ``matchCase="false"`` (see the module notes)."""

    def null(self, field: Field) -> etree._Element:
        """``NOT x <> ''``."""
        # MapServer reads a null as '' when it checks a feature, so "NOT x <> ''" is the one form both its
        # data-source query and its own check let a null through; it lets an empty string through as well.
        return _element("Not", _compare(field, CompareOp.NE, ""))

    def not_null(self, field: Field) -> etree._Element:
        """``x = '' OR x <> ''``, as MapServer ignores PropertyIsNull."""
        return _element("Or", _compare(field, CompareOp.EQ, ""), _compare(field, CompareOp.NE, ""))

    def comparison(self, left: Operand, op: CompareOp, right: Operand) -> etree._Element:
        """A field compared with a literal; under UPPER/LOWER only = and <>, as case-insensitive equality."""
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
        """An ``ogc:Or`` of equalities."""
        field, func = self.split(operand)
        if func is None:
            return _group("Or", [self.comparison(operand, CompareOp.EQ, v) for v in values])
        # An entry UPPER(x) could never equal (it is not upper-case) matches nothing and is left out.
        tests = [_equal_ignoring_case(field, _text(v)) for v in values if _unchanged_by(func, _text(v))]
        return _group("Or", tests) if tests else _never(field)

    def like(self, operand: Operand, pattern: tuple[LikePart, ...]) -> etree._Element:
        """``ogc:PropertyIsLike``; under UPPER/LOWER case-insensitive."""
        field, func = self.split(operand)
        if func is not None and not _unchanged_by(func, "".join(p for p in pattern if isinstance(p, str))):
            return _never(field)
        ignore_case = {"matchCase": "false"} if func is not None else {}
        if not pattern:
            # MapServer turns an empty LIKE pattern into an unanchored, match-all regular expression.
            return _element("PropertyIsEqualTo", _property(field), _literal(""), **ignore_case)
        return self.like_element(_property(field), pattern, **ignore_case)

    def between(self, operand: Operand, low: Literal, high: Literal) -> etree._Element:
        """``ogc:PropertyIsBetween`` on a plain field."""
        field, func = self.split(operand)
        if func is not None:
            raise InvalidParameter(self.parameter, f"{func.name}() cannot be used with BETWEEN by this service")
        return _between(_property(field), self.operand(low), self.operand(high))


class QgisOgc(OgcRenderer):
    """OGC Filter as QGIS Server reads it: into a QGIS expression, so any operand is an OGC expression
    (``ogc:Function`` for UPPER/LOWER and for dates) and nulls are tested with ``PropertyIsNull``."""

    def null(self, field: Field) -> etree._Element:
        """``PropertyIsNull``."""
        return _element("PropertyIsNull", _property(field))

    def not_null(self, field: Field) -> etree._Element:
        """``Not PropertyIsNull``."""
        return _element("Not", self.null(field))

    def value(self, value: LiteralValue) -> etree._Element:
        """A literal; a date goes through ``to_date``/``to_datetime``."""
        if isinstance(value, dt.date):
            # QGIS compares a date field with date-like text wrongly; to_date/to_datetime make real dates.
            name = "to_datetime" if isinstance(value, dt.datetime) else "to_date"
            return _element("Function", _literal(value), name=name)
        return _literal(value)

    def comparison(self, left: Operand, op: CompareOp, right: Operand) -> etree._Element:
        """Any two operands."""
        return _element(_COMPARISON_ELEMENT[op], self.operand(left), self.operand(right))

    def in_list(self, operand: Operand, values: tuple[Literal, ...]) -> etree._Element:
        """An ``ogc:Or`` of equalities."""
        self.split(operand)  # refuses a literal operand, as for MapServer
        return _group("Or", [self.comparison(operand, CompareOp.EQ, v) for v in values])

    def like(self, operand: Operand, pattern: tuple[LikePart, ...]) -> etree._Element:
        """``ogc:PropertyIsLike``, which QGIS turns into its own LIKE."""
        self.split(operand)  # refuses a literal operand, as for MapServer
        refuse_backslash_before_wildcard(pattern, self.parameter)
        return self.like_element(self.operand(operand), pattern)

    def between(self, operand: Operand, low: Literal, high: Literal) -> etree._Element:
        """``ogc:PropertyIsBetween``."""
        return _between(self.operand(operand), self.operand(low), self.operand(high))


OgcVariant: TypeAlias = type[OgcRenderer]
"""Which server's reading of OGC Filter to write for: :class:`MapServerOgc` or :class:`QgisOgc`."""


def _property(field: Field) -> etree._Element:
    return _element("PropertyName", text=field.name)


def _literal(value: LiteralValue) -> etree._Element:
    return _element("Literal", text=literal_text(value))


def _compare(field: Field, op: CompareOp, value: LiteralValue) -> etree._Element:
    return _element(_COMPARISON_ELEMENT[op], _property(field), _literal(value))


def _between(target: etree._Element, low: etree._Element, high: etree._Element) -> etree._Element:
    return _element("PropertyIsBetween", target, _element("LowerBoundary", low), _element("UpperBoundary", high))


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
    expr: Expr, version: str = "1.1.0", *, parameter: str = "where", backend: OgcVariant | str = MapServerOgc
) -> str:
    """Render ``expr`` as an OGC Filter Encoding ``version`` (1.0.0 or 1.1.0) document, without XML declaration.

    LIKE patterns use ``wildCard="*" singleChar="." escapeChar="!"`` (``escape="!"`` for 1.0.0); IN becomes an
    ``ogc:Or`` of equalities.  :data:`~translators.filters.ast.TRUE` renders as the empty string (no filter);
    :data:`~translators.filters.ast.FALSE` has no OGC form and raises
    :class:`~translators.errors.UnsupportedParameter`, so callers should drop an always-false layer instead.
    Constructs the format cannot carry (field-to-field comparisons, UPPER/LOWER outside =, <>, IN, LIKE and
    IS NULL) raise :class:`~translators.errors.InvalidParameter` for ``parameter``.

    ``backend`` is the server the filter is written for: an :data:`OgcVariant` (:class:`MapServerOgc`, the default,
    tests nulls with comparisons with '' since MapServer ignores ``PropertyIsNull``; :class:`QgisOgc` writes
    ``PropertyIsNull`` and ``ogc:Function``) or the name of a backend flavour whose filter dialect is OGC Filter.
    """
    if version not in VERSIONS:
        raise ValueError(f"unsupported Filter Encoding version {version!r}; expected one of {VERSIONS}")
    expr = simplify(expr)
    if expr == TRUE:
        return ""
    if expr == FALSE:
        raise UnsupportedParameter(parameter, "a condition no feature can meet (such as 1=0) cannot be sent to this "
                                   "backend; leave the layer out instead")
    variant = _flavor_variant(backend) if isinstance(backend, str) else backend
    root = _element("Filter", variant(version, parameter).render(expr))
    return etree.tostring(root, encoding="unicode")


def _flavor_variant(name: str) -> OgcVariant:
    # Flavour names are spelt in the flavour table only.  Imported here because the table imports this module
    # (through the dialects) for its filter dialects.
    from translators.filters.dialects import OgcFilterDialect
    from translators.ogc.flavors import FLAVORS

    flavor = FLAVORS.get(name)
    dialect = flavor.filter_dialect if flavor is not None else None
    if not isinstance(dialect, OgcFilterDialect):
        raise ValueError(f"{name!r} names no backend flavour that reads OGC filters")
    return dialect.variant
