"""The syntax tree of an ArcGIS where clause, independent of any backend dialect.

Trees are immutable and hashable.  :func:`translators.filters.parse_where` builds them already simplified: literal-only
predicates are folded, ``AND``/``OR`` are flattened and free of constants, and a literal never stands on the left of a
comparison when a field is on the right.  Renderers accept any tree but are tested on parser output.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import TypeAlias, assert_never

LiteralValue: TypeAlias = str | int | float | dt.date | dt.datetime
"""What a :class:`Literal` holds; ``datetime`` is a subclass of ``date``, so test for it first."""


@dataclass(frozen=True, slots=True)
class Field:
    """A reference to an attribute, by the name written in the clause (quotes removed, case kept)."""

    name: str


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant value: text, integer, decimal, date (``DATE '…'``) or timestamp (``TIMESTAMP '…'``)."""

    value: LiteralValue


class FuncName(StrEnum):
    """The scalar functions the grammar accepts."""

    UPPER = "UPPER"
    LOWER = "LOWER"


@dataclass(frozen=True, slots=True)
class Func:
    """``UPPER(x)`` or ``LOWER(x)`` applied to a field (or to another such call)."""

    name: FuncName
    arg: Operand

    def apply(self, text: str) -> str:
        """Evaluate the function on a constant."""
        return text.upper() if self.name is FuncName.UPPER else text.lower()


Operand: TypeAlias = Field | Literal | Func


class CompareOp(StrEnum):
    """A comparison operator, by its SQL spelling (``!=`` is read as ``<>``)."""

    EQ = "="
    NE = "<>"
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="

    def flipped(self) -> CompareOp:
        """The operator giving the same truth value with both sides swapped (``a < b`` ⇔ ``b > a``)."""
        return _FLIPPED[self]

    def negated(self) -> CompareOp:
        """The operator giving the opposite truth value (``NOT a < b`` ⇔ ``a >= b``; both unknown on NULL)."""
        return _NEGATED[self]


_NEGATED = {
    CompareOp.EQ: CompareOp.NE,
    CompareOp.NE: CompareOp.EQ,
    CompareOp.LT: CompareOp.GE,
    CompareOp.LE: CompareOp.GT,
    CompareOp.GT: CompareOp.LE,
    CompareOp.GE: CompareOp.LT,
}

_FLIPPED = {
    CompareOp.EQ: CompareOp.EQ,
    CompareOp.NE: CompareOp.NE,
    CompareOp.LT: CompareOp.GT,
    CompareOp.LE: CompareOp.GE,
    CompareOp.GT: CompareOp.LT,
    CompareOp.GE: CompareOp.LE,
}


class Wildcard(Enum):
    """A wildcard of a LIKE pattern."""

    ANY = "%"  # zero or more characters
    ONE = "_"  # exactly one character


LikePart: TypeAlias = str | Wildcard
"""One piece of a LIKE pattern: literal text (never empty, never two in a row) or a wildcard."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """``left op right``."""

    left: Operand
    op: CompareOp
    right: Operand


@dataclass(frozen=True, slots=True)
class And:
    """Conjunction of two or more conditions."""

    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Disjunction of two or more conditions."""

    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """Negation; ``NOT IN``, ``NOT LIKE``, ``NOT BETWEEN`` and ``IS NOT NULL`` are written with it too."""

    operand: Expr


@dataclass(frozen=True, slots=True)
class In:
    """``operand IN (v1, v2, …)``."""

    operand: Operand
    values: tuple[Literal, ...]


@dataclass(frozen=True, slots=True)
class Like:
    """``operand LIKE pattern``, the pattern already split into literal text and wildcards (escapes resolved)."""

    operand: Operand
    pattern: tuple[LikePart, ...]

    @property
    def literal_text(self) -> str:
        """The pattern's literal characters, wildcards dropped."""
        return "".join(part for part in self.pattern if isinstance(part, str))

    def sql_pattern(self, escape: str = "\\") -> str:
        """Spell the pattern with ``%`` and ``_`` wildcards, escaping their literal uses (and ``escape``)."""
        return like_pattern_text(self.pattern, Wildcard.ANY.value, Wildcard.ONE.value, escape)


@dataclass(frozen=True, slots=True)
class Between:
    """``operand BETWEEN low AND high`` (both bounds included)."""

    operand: Operand
    low: Literal
    high: Literal


@dataclass(frozen=True, slots=True)
class IsNull:
    """``operand IS NULL``."""

    operand: Operand


@dataclass(frozen=True, slots=True)
class Const:
    """A condition known without looking at any feature (``1=1`` is ``Const(True)``)."""

    value: bool


TRUE = Const(True)
FALSE = Const(False)

Expr: TypeAlias = Comparison | And | Or | Not | In | Like | Between | IsNull | Const


def like_pattern_text(pattern: tuple[LikePart, ...], any_char: str, one_char: str, escape: str) -> str:
    """Spell ``pattern`` with the given wildcard and escape characters, escaping those three where they are literal."""
    special = {any_char, one_char, escape}
    out: list[str] = []
    for part in pattern:
        if part is Wildcard.ANY:
            out.append(any_char)
        elif part is Wildcard.ONE:
            out.append(one_char)
        else:
            out.extend(escape + ch if ch in special else ch for ch in part)
    return "".join(out)


def normalize_pattern(parts: list[LikePart]) -> tuple[LikePart, ...]:
    """Merge adjacent text and drop empty text, so equal patterns compare equal."""
    out: list[LikePart] = []
    for part in parts:
        if isinstance(part, str):
            if not part:
                continue
            if out and isinstance(out[-1], str):
                out[-1] = out[-1] + part
                continue
        out.append(part)
    return tuple(out)


def literal_kind(value: LiteralValue) -> str:
    """Classify a literal value as ``"string"``, ``"number"`` or ``"date"`` (the kinds that compare together)."""
    if isinstance(value, str):
        return "string"
    if isinstance(value, dt.date):
        return "date"
    return "number"


def base_field(operand: Operand) -> Field | None:
    """The field an operand reads, looking through UPPER/LOWER; None for a literal."""
    while isinstance(operand, Func):
        operand = operand.arg
    return operand if isinstance(operand, Field) else None


def simplify(expr: Expr) -> Expr:
    """Flatten nested AND/OR, drop double negation and fold boolean constants.

    The result is either a :class:`Const` or a tree containing no :class:`Const` at all.
    """
    match expr:
        case And(operands):
            kept: list[Expr] = []
            for child in map(simplify, operands):
                if child == FALSE:
                    return FALSE
                if child != TRUE:
                    kept.extend(child.operands if isinstance(child, And) else (child,))
            return TRUE if not kept else kept[0] if len(kept) == 1 else And(tuple(kept))
        case Or(operands):
            kept = []
            for child in map(simplify, operands):
                if child == TRUE:
                    return TRUE
                if child != FALSE:
                    kept.extend(child.operands if isinstance(child, Or) else (child,))
            return FALSE if not kept else kept[0] if len(kept) == 1 else Or(tuple(kept))
        case Not(operand):
            inner = simplify(operand)
            if isinstance(inner, Const):
                return Const(not inner.value)
            if isinstance(inner, Not):
                return inner.operand
            return Not(inner)
        case _:
            return expr


def push_negations(expr: Expr) -> Expr:
    """Move NOT inward as far as SQL's three-valued logic allows, and simplify.

    ``NOT a = 1`` becomes ``a <> 1``, De Morgan's laws apply to AND/OR and ``NOT (a BETWEEN x AND y)`` becomes
    ``a < x OR a > y``: each is unknown (so not selected) for a null ``a``, as the original is, whereas backends
    that evaluate NOT with two-valued logic would select it.  NOT stays in front of IN, LIKE and IS NULL.
    """
    match expr:
        case And(operands):
            return simplify(And(tuple(map(push_negations, operands))))
        case Or(operands):
            return simplify(Or(tuple(map(push_negations, operands))))
        case Not(operand):
            return simplify(_negate(operand))
        case _:
            return expr


def _negate(expr: Expr) -> Expr:
    match expr:
        case Comparison(left, op, right):
            return Comparison(left, op.negated(), right)
        case And(operands):
            return Or(tuple(map(_negate, operands)))
        case Or(operands):
            return And(tuple(map(_negate, operands)))
        case Not(operand):
            return push_negations(operand)
        case Between(operand, low, high):
            return Or((Comparison(operand, CompareOp.LT, low), Comparison(operand, CompareOp.GT, high)))
        case Const(value):
            return Const(not value)
        case In() | Like() | IsNull():
            return Not(expr)
        case _:
            assert_never(expr)


def _map_operand(operand: Operand, rename: Callable[[str], str]) -> Operand:
    match operand:
        case Field(name):
            return Field(rename(name))
        case Func(name, arg):
            return Func(name, _map_operand(arg, rename))
        case _:
            return operand


def map_fields(expr: Expr, rename: Callable[[str], str]) -> Expr:
    """Return ``expr`` with every field name replaced by ``rename(name)``.

    Meant for resolving the names a client wrote (ArcGIS field names are case-insensitive) to the backend's own
    spelling; ``rename`` may raise to reject an unknown field.
    """
    match expr:
        case Comparison(left, op, right):
            return Comparison(_map_operand(left, rename), op, _map_operand(right, rename))
        case And(operands):
            return And(tuple(map_fields(child, rename) for child in operands))
        case Or(operands):
            return Or(tuple(map_fields(child, rename) for child in operands))
        case Not(operand):
            return Not(map_fields(operand, rename))
        case In(operand, values):
            return In(_map_operand(operand, rename), values)
        case Like(operand, pattern):
            return Like(_map_operand(operand, rename), pattern)
        case Between(operand, low, high):
            return Between(_map_operand(operand, rename), low, high)
        case IsNull(operand):
            return IsNull(_map_operand(operand, rename))
        case Const():
            return expr
        case _:
            assert_never(expr)


def field_names(expr: Expr | None) -> set[str]:
    """The names of all fields ``expr`` reads (as written in the clause); empty for None or a constant."""
    names: set[str] = set()

    def collect(name: str) -> str:
        names.add(name)
        return name

    if expr is not None:
        map_fields(expr, collect)
    return names
