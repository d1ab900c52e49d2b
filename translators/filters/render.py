"""The walk over a where-clause tree that every filter dialect shares.

:class:`Renderer` matches the node types of :mod:`translators.filters.ast` in one place and hands each node to a
hook; a dialect only writes its hooks (quoting, operators, how each construct looks).  :class:`TextRenderer` adds
what the two text dialects (ECQL, QGIS expressions) have in common, so they differ only in spelling.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar, Generic, TypeVar, assert_never

from translators.filters.ast import (
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
    push_negations,
    simplify,
)

Out = TypeVar("Out")


class Renderer(ABC, Generic[Out]):
    """Render a tree as ``Out`` (text, or an XML element): one hook per construct, dispatched here.

    ``parameter`` is the request parameter an :class:`~translators.errors.InvalidParameter` names when the dialect
    cannot carry a construct.
    """

    def __init__(self, parameter: str) -> None:
        self.parameter = parameter

    def render(self, expr: Expr) -> Out:
        """Render one condition."""
        match expr:
            case Comparison(left, op, right):
                return self.comparison(left, op, right)
            case And(operands):
                return self.conjunction(operands)
            case Or(operands):
                return self.disjunction(operands)
            case Not(operand):
                return self.negation(operand)
            case In(operand, values):
                return self.in_list(operand, values)
            case Like(operand, pattern):
                return self.like(operand, pattern)
            case Between(operand, low, high):
                return self.between(operand, low, high)
            case IsNull(operand):
                return self.is_null(operand)
            case Const(value):
                return self.constant(value)
            case _:
                assert_never(expr)

    def negation(self, expr: Expr) -> Out:
        """Render ``NOT expr`` with the negation pushed down to predicates that exclude nulls by themselves.

        Each pushed-down form (``NOT a = 1`` → ``a <> 1``, De Morgan, ``NOT BETWEEN`` → ``<`` or ``>``) is exact
        under SQL's three-valued logic.  The text dialects render trees :func:`~translators.filters.ast.push_negations`
        already rewrote (:meth:`TextRenderer.text`), so only the IN, LIKE and IS NULL hooks are reached from them.
        """
        match expr:
            case Comparison(left, op, right):
                return self.comparison(left, op.negated(), right)
            case And(operands):
                return self.disjunction(tuple(Not(operand) for operand in operands))
            case Or(operands):
                return self.conjunction(tuple(Not(operand) for operand in operands))
            case Not(operand):
                return self.render(operand)
            case Between(operand, low, high):
                return self.disjunction((Comparison(operand, CompareOp.LT, low),
                                         Comparison(operand, CompareOp.GT, high)))
            case In(operand, values):
                return self.not_in(operand, values)
            case Like(operand, pattern):
                return self.not_like(operand, pattern)
            case IsNull(operand):
                return self.is_not_null(operand)
            case Const(value):
                return self.constant(not value)
            case _:
                assert_never(expr)

    def operand(self, operand: Operand) -> Out:
        """Render a field, a literal or a function call."""
        match operand:
            case Field(name):
                return self.field(name)
            case Literal(value):
                return self.value(value)
            case Func(name, arg):
                return self.call(name, self.operand(arg))
            case _:
                assert_never(operand)

    # --- hooks: conditions ---------------------------------------------------------------------------------------

    @abstractmethod
    def comparison(self, left: Operand, op: CompareOp, right: Operand) -> Out:
        """``left op right``."""

    @abstractmethod
    def conjunction(self, operands: tuple[Expr, ...]) -> Out:
        """``a AND b …``."""

    @abstractmethod
    def disjunction(self, operands: tuple[Expr, ...]) -> Out:
        """``a OR b …``."""

    @abstractmethod
    def in_list(self, operand: Operand, values: tuple[Literal, ...]) -> Out:
        """``operand IN (…)``."""

    @abstractmethod
    def not_in(self, operand: Operand, values: tuple[Literal, ...]) -> Out:
        """``operand NOT IN (…)``."""

    @abstractmethod
    def like(self, operand: Operand, pattern: tuple[LikePart, ...]) -> Out:
        """``operand LIKE pattern``."""

    @abstractmethod
    def not_like(self, operand: Operand, pattern: tuple[LikePart, ...]) -> Out:
        """``operand NOT LIKE pattern``."""

    @abstractmethod
    def between(self, operand: Operand, low: Literal, high: Literal) -> Out:
        """``operand BETWEEN low AND high``."""

    @abstractmethod
    def is_null(self, operand: Operand) -> Out:
        """``operand IS NULL``."""

    @abstractmethod
    def is_not_null(self, operand: Operand) -> Out:
        """``operand IS NOT NULL``."""

    @abstractmethod
    def constant(self, value: bool) -> Out:
        """A condition that holds for every feature or for none."""

    # --- hooks: operands -----------------------------------------------------------------------------------------

    @abstractmethod
    def field(self, name: str) -> Out:
        """A reference to the field ``name``."""

    @abstractmethod
    def value(self, value: LiteralValue) -> Out:
        """A literal."""

    @abstractmethod
    def call(self, name: FuncName, arg: Out) -> Out:
        """``name(arg)``, the argument already rendered."""


class TextRenderer(Renderer[str]):
    """The text dialects: infix comparisons, ``AND``/``OR`` lists and postfix ``[NOT] IN``, ``LIKE``, ``IS NULL``.

    A subclass sets its comparison operators and its spacing around parentheses and commas, and writes quoting,
    LIKE patterns, BETWEEN and the constants.
    """

    operators: ClassVar[Mapping[CompareOp, str]]
    open: ClassVar[str]  # an opening parenthesis, with the space the dialect wants after it
    close: ClassVar[str]
    comma: ClassVar[str]  # between IN-list values

    def text(self, expr: Expr) -> str:
        """Render a whole clause, simplified and with its NOTs pushed down as far as three-valued logic allows.

        Backends that evaluate NOT two-valued would select nulls under ``NOT a = 1``; after
        :func:`~translators.filters.ast.push_negations` NOT stands only before IN, LIKE and IS NULL.
        """
        return self.render(push_negations(simplify(expr)))

    def enclosed(self, text: str) -> str:
        """``text`` in parentheses."""
        return f"{self.open}{text}{self.close}"

    def values(self, values: tuple[Literal, ...]) -> str:
        """An IN list's parenthesised values."""
        return self.enclosed(self.comma.join(self.value(v.value) for v in values))

    @abstractmethod
    def pattern(self, pattern: tuple[LikePart, ...]) -> str:
        """A LIKE pattern as a string literal of the dialect."""

    @abstractmethod
    def write_between(self, subject: str, low: str, high: str) -> str:
        """``subject BETWEEN low AND high``, its three parts already rendered."""

    def between(self, operand: Operand, low: Literal, high: Literal) -> str:
        """``operand BETWEEN low AND high``."""
        return self.write_between(self.operand(operand), self.operand(low), self.operand(high))

    def comparison(self, left: Operand, op: CompareOp, right: Operand) -> str:
        """``left op right``."""
        return f"{self.operand(left)} {self.operators[op]} {self.operand(right)}"

    def conjunction(self, operands: tuple[Expr, ...]) -> str:
        """``a AND b …``; an OR operand is parenthesised, as AND binds tighter."""
        return " AND ".join(self.enclosed(self.render(c)) if isinstance(c, Or) else self.render(c) for c in operands)

    def disjunction(self, operands: tuple[Expr, ...]) -> str:
        """``a OR b …``."""
        return " OR ".join(self.render(c) for c in operands)

    def in_list(self, operand: Operand, values: tuple[Literal, ...]) -> str:
        """``operand IN (…)``."""
        return f"{self.operand(operand)} IN {self.values(values)}"

    def not_in(self, operand: Operand, values: tuple[Literal, ...]) -> str:
        """``operand NOT IN (…)``."""
        return f"{self.operand(operand)} NOT IN {self.values(values)}"

    def like(self, operand: Operand, pattern: tuple[LikePart, ...]) -> str:
        """``operand LIKE pattern``."""
        return f"{self.operand(operand)} LIKE {self.pattern(pattern)}"

    def not_like(self, operand: Operand, pattern: tuple[LikePart, ...]) -> str:
        """``operand NOT LIKE pattern``."""
        return f"{self.operand(operand)} NOT LIKE {self.pattern(pattern)}"

    def is_null(self, operand: Operand) -> str:
        """``operand IS NULL``."""
        return f"{self.operand(operand)} IS NULL"

    def is_not_null(self, operand: Operand) -> str:
        """``operand IS NOT NULL``."""
        return f"{self.operand(operand)} IS NOT NULL"
