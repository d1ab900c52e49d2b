"""Tokenizer and recursive-descent parser for the ArcGIS where-clause language (the SQL-92 subset of ``where`` and
``layerDefs``).

Grammar (keywords case-insensitive)::

    condition  := term { OR term }
    term       := factor { AND factor }
    factor     := NOT factor | "(" condition ")" | predicate
    predicate  := operand ( cmp operand
                          | [NOT] IN "(" value { "," value } ")"
                          | [NOT] LIKE string [ESCAPE string]
                          | [NOT] BETWEEN value AND value
                          | IS [NOT] NULL )
    operand    := field | value | (UPPER | LOWER) "(" operand ")"
    field      := identifier | "quoted identifier"
    value      := string | N'string' | [+|-] number | DATE 'YYYY-MM-DD' | TIMESTAMP 'YYYY-MM-DD HH:MM:SS[.ffffff]'
    cmp        := = | <> | != | < | <= | > | >=

Anything else is refused with :class:`~translators.errors.InvalidParameter`, naming the 1-based character position.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import Enum, auto
from typing import NoReturn

from translators.errors import InvalidParameter
from translators.filters.ast import (
    FALSE,
    TRUE,
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
    LikePart,
    Literal,
    LiteralValue,
    Not,
    Operand,
    Or,
    Wildcard,
    literal_kind,
    normalize_pattern,
    simplify,
)
from translators.filters.ast import And as AndExpr
from translators.filters.ast import Like as LikeExpr
from translators.limits import check_clause

MAX_DEPTH = 64  # nesting of parentheses, NOT and function calls; bounds recursion on hostile input


class _Kind(Enum):
    IDENT, QUOTED_IDENT, STRING, NUMBER, OP, LPAREN, RPAREN, COMMA, SIGN, EOF = (auto() for _ in range(10))


_VALUES = (_Kind.STRING, _Kind.NUMBER)  # the tokens a clause's size in values counts


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    text: str  # identifiers as written; strings and quoted identifiers decoded; numbers and operators raw
    pos: int  # 0-based offset into the clause

    def keyword(self) -> str | None:
        return self.text.upper() if self.kind is _Kind.IDENT else None

    def describe(self) -> str:
        match self.kind:
            case _Kind.EOF:
                return "the end of the clause"
            case _Kind.STRING:
                return f"the string '{_clip(self.text)}'"
            case _Kind.QUOTED_IDENT:
                return f'the field "{_clip(self.text)}"'
            case _Kind.NUMBER:
                return f"the number {self.text}"
            case _:
                return f"'{self.text}'"


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_IDENT = re.compile(r"[^\W\d]\w*")
_OPERATOR_RUN = re.compile(r"[<>=!]+")
_PUNCTUATION = {"(": _Kind.LPAREN, ")": _Kind.RPAREN, ",": _Kind.COMMA, "+": _Kind.SIGN, "-": _Kind.SIGN}
_OPERATORS = {"=": CompareOp.EQ, "<>": CompareOp.NE, "!=": CompareOp.NE, "<": CompareOp.LT, "<=": CompareOp.LE,
              ">": CompareOp.GT, ">=": CompareOp.GE}
# Characters an XML 1.0 document cannot carry; refusing them here keeps every renderer's output well-formed.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_DATE_TEXT = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?")

_UNEXPECTED_CHARS = {
    ";": "semicolons are not allowed (a where clause is a single condition)",
    "[": "square-bracketed field names are not supported; quote field names with double quotes",
    "]": "square-bracketed field names are not supported; quote field names with double quotes",
    "*": "arithmetic is not supported",
    "/": "arithmetic is not supported",
    "%": "arithmetic is not supported",
    "|": "string concatenation is not supported",
}

_RESERVED = {
    "AND", "OR", "NOT", "IN", "LIKE", "BETWEEN", "IS", "NULL", "ESCAPE",
}
_UNSUPPORTED_KEYWORDS = {
    "SELECT": "subqueries are not supported",
    "EXISTS": "subqueries are not supported",
    "FROM": "subqueries are not supported",
    "WHERE": "subqueries are not supported",
    "UNION": "subqueries are not supported",
    "ANY": "subqueries are not supported",
    "ALL": "subqueries are not supported",
    "SOME": "subqueries are not supported",
    "CASE": "CASE expressions are not supported",
    "INTERVAL": "date arithmetic (INTERVAL) is not supported",
    "CURRENT_DATE": "CURRENT_DATE is not supported; write a DATE 'YYYY-MM-DD' literal",
    "CURRENT_TIME": "CURRENT_TIME is not supported; write a TIMESTAMP 'YYYY-MM-DD HH:MM:SS' literal",
    "CURRENT_TIMESTAMP": "CURRENT_TIMESTAMP is not supported; write a TIMESTAMP 'YYYY-MM-DD HH:MM:SS' literal",
    "ILIKE": "ILIKE is not supported; use UPPER(field) LIKE 'PATTERN'",
    "SIMILAR": "SIMILAR TO is not supported; use LIKE",
    "REGEXP": "regular expressions are not supported; use LIKE",
}


class _Parser:
    def __init__(self, text: str, parameter: str) -> None:
        self.text = text
        self.parameter = parameter
        self.tokens = self._tokenize()
        self.index = 0
        self.depth = 0

    # --- errors --------------------------------------------------------------------------------------------------

    def fail(self, problem: str, pos: int | None) -> NoReturn:
        where = f" at position {pos + 1}" if pos is not None else ""
        raise InvalidParameter(self.parameter, f"{problem}{where}")

    # --- tokenizer -----------------------------------------------------------------------------------------------

    def _tokenize(self) -> list[_Token]:
        bad = _NOT_XML_CHAR.search(self.text)
        if bad:
            self.fail(f"the control character U+{ord(bad.group()):04X} is not allowed", bad.start())
        tokens: list[_Token] = []
        i = 0
        while i < len(self.text):
            if self.text[i].isspace():
                i += 1
                continue
            token, i = self._token_at(i)
            tokens.append(token)
        tokens.append(_Token(_Kind.EOF, "", len(self.text)))
        return tokens

    def _token_at(self, i: int) -> tuple[_Token, int]:
        """The token starting at ``i`` (not a space), its kind told by its first character, and the offset after it."""
        text, ch = self.text, self.text[i]
        if ch in "'\"":
            return self._quoted_token(i)
        if ch.isdecimal() or (ch == "." and text[i + 1:i + 2].isdecimal()):  # what \d matches
            return self._number_token(i)
        if ch.isalpha() or ch == "_":
            return self._word_token(i)
        if ch in "<>=!":
            return self._operator_token(i)
        if ch in _PUNCTUATION and not text.startswith("--", i):
            return _Token(_PUNCTUATION[ch], ch, i), i + 1
        if text.startswith(("--", "/*"), i):
            self.fail("comments are not allowed", i)
        if ch in _UNEXPECTED_CHARS:
            self.fail(f"{_UNEXPECTED_CHARS[ch]} ('{ch}')", i)
        self.fail(f"unexpected character '{ch}'", i)

    def _quoted_token(self, i: int) -> tuple[_Token, int]:
        if self.text[i] == "'":
            value, end = self._quoted(i, "'", "string")
            return _Token(_Kind.STRING, value, i), end
        value, end = self._quoted(i, '"', "quoted field name")
        if not value:
            self.fail("empty quoted field name", i)
        return _Token(_Kind.QUOTED_IDENT, value, i), end

    def _number_token(self, i: int) -> tuple[_Token, int]:
        text = self.text
        match = _NUMBER.match(text, i)
        assert match is not None
        end = match.end()
        if end < len(text) and (text[end].isalnum() or text[end] in "._'\""):
            self.fail(f"malformed number '{_clip(text[i:end + 1])}'", i)
        return _Token(_Kind.NUMBER, match.group(), i), end

    def _word_token(self, i: int) -> tuple[_Token, int]:
        match = _IDENT.match(self.text, i)
        assert match is not None
        word, end = match.group(), match.end()
        if word.upper() == "N" and self.text.startswith("'", end):
            # N'…': SQL Server's national-character string, as some ArcGIS clients send it.
            value, end = self._quoted(end, "'", "string")
            return _Token(_Kind.STRING, value, i), end
        return _Token(_Kind.IDENT, word, i), end

    def _operator_token(self, i: int) -> tuple[_Token, int]:
        match = _OPERATOR_RUN.match(self.text, i)
        assert match is not None
        if match.group() not in _OPERATORS:
            self.fail(f"unknown operator '{match.group()}'", i)
        return _Token(_Kind.OP, match.group(), i), match.end()

    def _quoted(self, start: int, quote: str, what: str) -> tuple[str, int]:
        """Read a ``quote``-delimited run starting at ``start``; a doubled quote stands for one."""
        text = self.text
        out: list[str] = []
        i = start + 1
        while True:
            end = text.find(quote, i)
            if end < 0:
                self.fail(f"unterminated {what}", start)
            out.append(text[i:end])
            if text.startswith(quote * 2, end):
                out.append(quote)
                i = end + 2
            else:
                return "".join(out), end + 1

    # --- token stream --------------------------------------------------------------------------------------------

    def peek(self, offset: int = 0) -> _Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind is not _Kind.EOF:
            self.index += 1
        return token

    def accept_keyword(self, word: str) -> _Token | None:
        if self.peek().keyword() == word:
            return self.advance()
        return None

    def expect(self, kind: _Kind, wanted: str) -> _Token:
        token = self.peek()
        if token.kind is not kind:
            self.fail(f"expected {wanted} but found {token.describe()}", token.pos)
        return self.advance()

    def enter(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"the clause is nested more than {MAX_DEPTH} levels deep", pos)

    # --- grammar -------------------------------------------------------------------------------------------------

    def parse(self) -> Expr:
        expr = self.condition()
        token = self.peek()
        if token.kind is not _Kind.EOF:
            if token.kind is _Kind.RPAREN:
                self.fail("unbalanced ')'", token.pos)
            self.fail(f"unexpected {token.describe()} after a complete condition", token.pos)
        return expr

    def condition(self) -> Expr:
        terms = [self.term()]
        while self.accept_keyword("OR"):
            terms.append(self.term())
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def term(self) -> Expr:
        factors = [self.factor()]
        while self.accept_keyword("AND"):
            factors.append(self.factor())
        return factors[0] if len(factors) == 1 else AndExpr(tuple(factors))

    def factor(self) -> Expr:
        token = self.peek()
        if token.keyword() == "NOT":
            self.advance()
            self.enter(token.pos)
            inner = self.factor()
            self.depth -= 1
            return Not(inner)
        if token.kind is _Kind.LPAREN:
            self.advance()
            self.enter(token.pos)
            inner = self.condition()
            closing = self.peek()
            if closing.kind is not _Kind.RPAREN:
                if closing.kind is _Kind.EOF:
                    self.fail("missing ')' to close the '('", token.pos)
                self.fail(f"expected ')' but found {closing.describe()}", closing.pos)
            self.advance()
            self.depth -= 1
            return inner
        return self.predicate()

    def predicate(self) -> Expr:
        start = self.peek()
        left = self.operand()
        token = self.peek()
        if token.kind is _Kind.OP:
            self.advance()
            right_token = self.peek()
            right = self.operand()
            return self.comparison(left, _OPERATORS[token.text], right, right_token.pos)
        word = token.keyword()
        negate = False
        if word == "NOT":
            self.advance()
            word = self.peek().keyword()
            if word not in ("IN", "LIKE", "BETWEEN"):
                self.fail(f"expected IN, LIKE or BETWEEN after NOT but found {self.peek().describe()}",
                          self.peek().pos)
            negate = True
            token = self.peek()
        if word == "IN":
            self.advance()
            expr = self.in_list(left, start.pos)
        elif word == "LIKE":
            self.advance()
            expr = self.like(left, start.pos)
        elif word == "BETWEEN":
            self.advance()
            expr = self.between(left, start.pos)
        elif word == "IS":
            self.advance()
            negate = self.accept_keyword("NOT") is not None
            null = self.peek()
            if null.keyword() != "NULL":
                self.fail(f"expected NULL after IS but found {null.describe()}", null.pos)
            self.advance()
            expr = FALSE if isinstance(left, Literal) else IsNull(left)
        elif token.kind is _Kind.EOF:
            self.fail(f"incomplete condition after {start.describe()}: expected a comparison operator, IN, LIKE, "
                      "BETWEEN or IS NULL", token.pos)
        else:
            self.fail(f"expected a comparison operator, IN, LIKE, BETWEEN or IS NULL but found {token.describe()}",
                      token.pos)
        return Not(expr) if negate else expr

    def operand(self) -> Operand:
        token = self.advance()
        match token.kind:
            case _Kind.QUOTED_IDENT:
                return Field(token.text)
            case _Kind.STRING:
                return Literal(token.text)
            case _Kind.NUMBER:
                return Literal(self.number(token.text, token.pos))
            case _Kind.SIGN:
                number = self.peek()
                if number.kind is not _Kind.NUMBER:
                    self.fail("a sign must be followed by a number (arithmetic is not supported)", token.pos)
                self.advance()
                value = self.number(number.text, number.pos)
                return Literal(-value if token.text == "-" else value)
            case _Kind.IDENT:
                return self.word_operand(token)
            case _Kind.EOF:
                self.fail("unexpected end of the clause: expected a field name or a value", token.pos)
            case _Kind.LPAREN:
                self.fail("expected a field name or a value but found '(' (parenthesised values are not supported)",
                          token.pos)
            case _:
                self.fail(f"expected a field name or a value but found {token.describe()}", token.pos)

    def word_operand(self, token: _Token) -> Operand:
        word = token.text.upper()
        following = self.peek()
        if word in ("DATE", "TIMESTAMP") and following.kind is _Kind.STRING:
            self.advance()
            return Literal(self.date(following.text, word == "TIMESTAMP", following.pos))
        if word in _UNSUPPORTED_KEYWORDS:
            self.fail(_UNSUPPORTED_KEYWORDS[word], token.pos)
        if word in _RESERVED:
            self.fail(f"expected a field name or a value but found the keyword {word}", token.pos)
        if word in ("DATE", "TIMESTAMP"):
            self.fail(f"{word} must be followed by a quoted value, e.g. {word} "
                      + ("'2020-01-31 12:00:00'" if word == "TIMESTAMP" else "'2020-01-31'"), token.pos)
        if following.kind is _Kind.LPAREN:
            return self.call(token)
        return Field(token.text)

    def call(self, token: _Token) -> Operand:
        word = token.text.upper()
        if word not in FuncName.__members__:
            self.fail(f"the function {token.text}() is not supported (only UPPER and LOWER are)", token.pos)
        name = FuncName[word]
        self.advance()  # "("
        self.enter(token.pos)
        arg_token = self.peek()
        arg = self.operand()
        closing = self.peek()
        if closing.kind is _Kind.COMMA:
            self.fail(f"{name}() takes a single argument", closing.pos)
        self.expect(_Kind.RPAREN, f"')' to close {name}(")
        self.depth -= 1
        if isinstance(arg, Literal):
            if not isinstance(arg.value, str):
                self.fail(f"{name}() needs text, not {literal_kind(arg.value)}", arg_token.pos)
            return Literal(Func(name, arg).apply(arg.value))
        return Func(name, arg)

    def value(self, what: str) -> Literal:
        token = self.peek()
        operand = self.operand()
        if not isinstance(operand, Literal):
            self.fail(f"{what} must be a value, not a field", token.pos)
        return operand

    def in_list(self, left: Operand, pos: int) -> Expr:
        self.expect(_Kind.LPAREN, "'(' after IN")
        token = self.peek()
        if token.kind is _Kind.RPAREN:
            self.fail("an IN list needs at least one value", token.pos)
        values = [self.value("an IN list entry")]
        while self.peek().kind is _Kind.COMMA:
            self.advance()
            values.append(self.value("an IN list entry"))
        closing = self.peek()
        if closing.kind is not _Kind.RPAREN:
            self.fail(f"expected ',' or ')' in the IN list but found {closing.describe()}", closing.pos)
        self.advance()
        kinds = {literal_kind(v.value) for v in values}
        if len(kinds) > 1:
            self.fail("an IN list mixes " + " and ".join(sorted(kinds)) + " values", token.pos)
        kind = kinds.pop()
        self.check_operand_kind(left, kind, pos)
        if isinstance(left, Literal):
            return Const(any(_compare(left.value, CompareOp.EQ, v.value) for v in values))
        return In(left, tuple(values))

    def like(self, left: Operand, pos: int) -> Expr:
        pattern = self.text_value("a quoted pattern after LIKE")
        escape: str | None = None
        if self.accept_keyword("ESCAPE"):
            escape_token = self.text_value("a quoted character after ESCAPE")
            if len(escape_token.text) != 1:
                self.fail("the ESCAPE character must be a single character", escape_token.pos)
            escape = escape_token.text
        parts = self.like_parts(pattern, escape)
        self.check_operand_kind(left, "string", pos)
        if isinstance(left, Literal):
            assert isinstance(left.value, str)
            return Const(_like_regex(parts).fullmatch(left.value) is not None)
        return LikeExpr(left, parts)

    def text_value(self, wanted: str) -> _Token:
        """A string literal, possibly wrapped in UPPER()/LOWER() (``UPPER(x) LIKE UPPER('%a%')`` is common)."""
        token = self.peek()
        if token.kind is _Kind.STRING:
            return self.advance()
        if token.keyword() in FuncName.__members__ and self.peek(1).kind is _Kind.LPAREN:
            value = self.operand()
            if isinstance(value, Literal) and isinstance(value.value, str):
                return _Token(_Kind.STRING, value.value, token.pos)
        self.fail(f"expected {wanted} but found {token.describe()}", token.pos)

    def like_parts(self, pattern: _Token, escape: str | None) -> tuple[LikePart, ...]:
        parts: list[LikePart] = []
        chars = pattern.text
        i = 0
        while i < len(chars):
            ch = chars[i]
            if escape is not None and ch == escape:
                if i + 1 >= len(chars) or chars[i + 1] not in ("%", "_", escape):
                    # Positions inside a pattern with doubled quotes are approximate; the pattern start is exact.
                    self.fail(f"the escape character '{escape}' must be followed by %, _ or itself in the LIKE "
                              "pattern", pattern.pos)
                parts.append(chars[i + 1])
                i += 2
                continue
            parts.append(Wildcard.ANY if ch == "%" else Wildcard.ONE if ch == "_" else ch)
            i += 1
        return normalize_pattern(parts)

    def between(self, left: Operand, pos: int) -> Expr:
        low = self.value("a BETWEEN bound")
        if not self.accept_keyword("AND"):
            self.fail(f"expected AND in BETWEEN but found {self.peek().describe()}", self.peek().pos)
        high = self.value("a BETWEEN bound")
        kinds = {literal_kind(low.value), literal_kind(high.value)}
        if len(kinds) > 1:
            self.fail("BETWEEN mixes " + " and ".join(sorted(kinds)) + " bounds", pos)
        self.check_operand_kind(left, kinds.pop(), pos)
        if isinstance(left, Literal):
            return Const(_compare(low.value, CompareOp.LE, left.value)
                         and _compare(left.value, CompareOp.LE, high.value))
        return Between(left, low, high)

    def comparison(self, left: Operand, op: CompareOp, right: Operand, pos: int) -> Expr:
        if isinstance(left, Literal) and isinstance(right, Literal):
            if literal_kind(left.value) != literal_kind(right.value):
                self.fail(f"cannot compare {literal_kind(left.value)} with {literal_kind(right.value)}", pos)
            return Const(_compare(left.value, op, right.value))
        if isinstance(left, Literal):
            left, op, right = right, op.flipped(), left
        if isinstance(right, Literal):
            self.check_operand_kind(left, literal_kind(right.value), pos)
        return Comparison(left, op, right)

    def check_operand_kind(self, operand: Operand, kind: str, pos: int) -> None:
        if isinstance(operand, Func) and kind != "string":
            self.fail(f"{operand.name}() gives text and cannot be compared with a {kind}", pos)
        if isinstance(operand, Literal) and literal_kind(operand.value) != kind:
            self.fail(f"cannot compare {literal_kind(operand.value)} with {kind}", pos)

    # --- literals ------------------------------------------------------------------------------------------------

    def number(self, text: str, pos: int) -> int | float:
        if _NUMBER.fullmatch(text) and text.isdigit():
            return int(text)
        value = float(text)
        if value in (float("inf"), float("-inf")):
            self.fail(f"the number {_clip(text)} is out of range", pos)
        return value

    def date(self, text: str, timestamp: bool, pos: int) -> dt.date | dt.datetime:
        match = _DATE_TEXT.fullmatch(text.strip())
        kind = "TIMESTAMP" if timestamp else "DATE"
        if not match:
            self.fail(f"{kind} '{_clip(text)}' is not of the form "
                      + ("'YYYY-MM-DD HH:MM:SS'" if timestamp else "'YYYY-MM-DD'"), pos)
        year, month, day, hour, minute, second, fraction = match.groups()
        try:
            if hour is None and not timestamp:
                return dt.date(int(year), int(month), int(day))
            return dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                               int((fraction or "0").ljust(6, "0")))
        except ValueError as exc:
            self.fail(f"{kind} '{text}' is not a valid date ({exc})", pos)


def _as_comparable(value: LiteralValue) -> LiteralValue:
    # A DATE compares with a TIMESTAMP as its midnight.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    return value


def _compare(left: LiteralValue, op: CompareOp, right: LiteralValue) -> bool:
    a, b = _as_comparable(left), _as_comparable(right)
    match op:
        case CompareOp.EQ:
            return a == b
        case CompareOp.NE:
            return a != b
        case CompareOp.LT:
            return a < b  # type: ignore[operator]
        case CompareOp.LE:
            return a <= b  # type: ignore[operator]
        case CompareOp.GT:
            return a > b  # type: ignore[operator]
        case CompareOp.GE:
            return a >= b  # type: ignore[operator]


def _like_regex(parts: tuple[LikePart, ...]) -> re.Pattern[str]:
    return re.compile("".join(".*" if p is Wildcard.ANY else "." if p is Wildcard.ONE else re.escape(p)
                              for p in parts), re.DOTALL)


def parse_where(text: str | None, parameter: str = "where", max_length: int = 65536,
                max_values: int = 10000) -> Expr | None:
    """Parse an ArcGIS where clause into a simplified :mod:`~translators.filters.ast` tree.

    Returns None when the clause does not restrict anything: it is None, empty or blank, or always true (``1=1``).
    A clause that can never be true (``1=0``) gives :data:`~translators.filters.ast.FALSE`; any other result
    contains no constant.  Malformed or unsupported input raises :class:`~translators.errors.InvalidParameter`
    for ``parameter``, with the 1-based character position of the problem; so does a clause longer than
    ``max_length`` characters or holding more than ``max_values`` values, checked before any tree is built.
    """
    if text is None or not text.strip():
        return None
    check_clause(parameter, "the where clause", len(text), max_length, "maxClauseLength", " characters")
    parser = _Parser(text, parameter)  # tokens only: counted before any tree is built
    check_clause(parameter, "the where clause's values", sum(t.kind in _VALUES for t in parser.tokens), max_values,
                 "maxClauseValues")
    expr = simplify(parser.parse())
    return None if expr == TRUE else expr
