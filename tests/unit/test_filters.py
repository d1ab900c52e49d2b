"""Where-clause parsing and its three renderings (OGC Filter XML, QGIS expression, ECQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from translators.errors import InvalidParameter, UnsupportedParameter
from translators.filters import (
    FALSE,
    TRUE,
    field_names,
    map_fields,
    parse_where,
    to_cql,
    to_ogc_filter,
    to_qgis_expression,
)
from translators.filters.ast import (
    And,
    Between,
    CompareOp,
    Comparison,
    Expr,
    Field,
    Func,
    FuncName,
    In,
    IsNull,
    Like,
    Literal,
    Not,
    Or,
    Wildcard,
    push_negations,
)

NS = "http://www.opengis.net/ogc"


# --- OGC XML helpers: expected filters are written compactly and compared after canonicalisation -----------------


def P(name: str) -> str:
    return f"<ogc:PropertyName>{name}</ogc:PropertyName>"


def L(text: str) -> str:
    return f"<ogc:Literal>{text}</ogc:Literal>"


def cmp(tag: str, name: str, text: str, attrs: str = "") -> str:
    return f"<ogc:PropertyIs{tag}{attrs}>{P(name)}{L(text)}</ogc:PropertyIs{tag}>"


def EQ(name: str, text: str, attrs: str = "") -> str:
    return cmp("EqualTo", name, text, attrs)


def NE(name: str, text: str) -> str:
    return cmp("NotEqualTo", name, text)


def group(tag: str, *children: str) -> str:
    return f"<ogc:{tag}>{''.join(children)}</ogc:{tag}>"


def like(name: str, text: str, attrs: str = "") -> str:
    return (f'<ogc:PropertyIsLike wildCard="*" singleChar="." escapeChar="!"{attrs}>{P(name)}{L(text)}'
            "</ogc:PropertyIsLike>")


def not_null(name: str) -> str:
    return group("Or", EQ(name, ""), NE(name, ""))


def canonical(xml: str) -> str:
    return str(etree.canonicalize(xml, strip_text=True))


def ogc(inner: str) -> str:
    return canonical(f'<ogc:Filter xmlns:ogc="{NS}">{inner}</ogc:Filter>')


# --- the three dialects side by side -----------------------------------------------------------------------------

RENDERINGS = [
    # where clause, OGC filter body (MapServer form), QGIS expression, ECQL
    ("POP > 1000", cmp("GreaterThan", "POP", "1000"), '"POP" > 1000', "POP > 1000"),
    ("5 < pop", cmp("GreaterThan", "pop", "5"), '"pop" > 5', "pop > 5"),
    ("pop <= -2.5", cmp("LessThanOrEqualTo", "pop", "-2.5"), '"pop" <= -2.5', "pop <= -2.5"),
    ("pop >= 1.5E3", cmp("GreaterThanOrEqualTo", "pop", "1500.0"), '"pop" >= 1500.0', "pop >= 1500.0"),
    ("pop <> 7", NE("pop", "7"), '"pop" != 7', "pop <> 7"),
    ("pop != 7", NE("pop", "7"), '"pop" != 7', "pop <> 7"),
    ("name = 'O''Brien'", EQ("name", "O'Brien"), "\"name\" = 'O''Brien'", "name = 'O''Brien'"),
    ("name = ''", EQ("name", ""), "\"name\" = ''", "name = ''"),
    ("name = 'a<b & c>d'", EQ("name", "a&lt;b &amp; c&gt;d"), "\"name\" = 'a<b & c>d'", "name = 'a<b & c>d'"),
    ("name = 'back\\slash'", EQ("name", "back\\slash"), "\"name\" = 'back\\\\slash'", "name = 'back\\slash'"),
    ("name = N'Zürich'", EQ("name", "Zürich"), "\"name\" = 'Zürich'", "name = 'Zürich'"),
    ('"My ""odd"" field" = 1', EQ('My "odd" field', "1"), '"My ""odd"" field" = 1', None),
    ('"Straße" = 1', EQ("Straße", "1"), '"Straße" = 1', '"Straße" = 1'),
    ('"2019_pop" = 1', EQ("2019_pop", "1"), '"2019_pop" = 1', '"2019_pop" = 1'),
    ("ts = 1", EQ("ts", "1"), '"ts" = 1', "ts = 1"),
    ("t = 1", EQ("t", "1"), '"t" = 1', '"t" = 1'),  # T is the ECQL time designator
    ("P1D = 1", EQ("P1D", "1"), '"P1D" = 1', '"P1D" = 1'),  # ECQL would lex it as a duration
    ("include = 1", EQ("include", "1"), '"include" = 1', '"include" = 1'),
    # precedence and grouping
    ("a = 1 OR b = 2 AND c = 3", group("Or", EQ("a", "1"), group("And", EQ("b", "2"), EQ("c", "3"))),
     '"a" = 1 OR "b" = 2 AND "c" = 3', "a = 1 OR b = 2 AND c = 3"),
    ("(a = 1 OR b = 2) AND c = 3", group("And", group("Or", EQ("a", "1"), EQ("b", "2")), EQ("c", "3")),
     '( "a" = 1 OR "b" = 2 ) AND "c" = 3', "(a = 1 OR b = 2) AND c = 3"),
    ("a = 1 AND (b = 2 AND c = 3)", group("And", EQ("a", "1"), EQ("b", "2"), EQ("c", "3")),
     '"a" = 1 AND "b" = 2 AND "c" = 3', "a = 1 AND b = 2 AND c = 3"),
    ("NOT a = 1 AND b = 2", group("And", NE("a", "1"), EQ("b", "2")), '"a" != 1 AND "b" = 2', "a <> 1 AND b = 2"),
    ("NOT (a = 1 OR b > 2)", group("And", NE("a", "1"), cmp("LessThanOrEqualTo", "b", "2")),
     '"a" != 1 AND "b" <= 2', "a <> 1 AND b <= 2"),
    ("NOT NOT a = 1", EQ("a", "1"), '"a" = 1', "a = 1"),
    ("1=1 AND a = 2", EQ("a", "2"), '"a" = 2', "a = 2"),
    ("a = 2 OR 1 = 0", EQ("a", "2"), '"a" = 2', "a = 2"),
    # IN
    ("a IN (1, 2)", group("Or", EQ("a", "1"), EQ("a", "2")), '"a" IN ( 1 , 2 )', "a IN (1, 2)"),
    ("a IN ('x')", EQ("a", "x"), "\"a\" IN ( 'x' )", "a IN ('x')"),
    ("a NOT IN (1, 2)", group("And", NE("a", "1"), NE("a", "2")), '"a" NOT IN ( 1 , 2 )', "a NOT IN (1, 2)"),
    ("a NOT IN ('x')", NE("a", "x"), "\"a\" NOT IN ( 'x' )", "a NOT IN ('x')"),
    # LIKE: wildcards translated, and the target's special characters escaped where literal
    ("name LIKE 'A%b_c'", like("name", "A*b.c"), "\"name\" LIKE 'A%b_c'", "name LIKE 'A%b_c'"),
    ("name LIKE 'x*y.z!w%'", like("name", "x!*y!.z!!w*"), "\"name\" LIKE 'x*y.z!w%'", "name LIKE 'x*y.z!w%'"),
    ("name LIKE '50!%' ESCAPE '!'", like("name", "50%"), "\"name\" LIKE '50\\\\%'", "name LIKE '50\\%'"),
    ("name LIKE 'a\\_b' ESCAPE '\\'", like("name", "a_b"), "\"name\" LIKE 'a\\\\_b'", "name LIKE 'a\\_b'"),
    ("name LIKE '%##%' ESCAPE '#'", like("name", "*#*"), "\"name\" LIKE '%#%'", "name LIKE '%#%'"),
    ("name LIKE 'c:\\dir%'", like("name", "c:\\dir*"), "\"name\" LIKE 'c:\\\\dir%'", "name LIKE 'c:\\\\dir%'"),
    ("name LIKE 'it''s%'", like("name", "it's*"), "\"name\" LIKE 'it''s%'", "name LIKE 'it''s%'"),
    ("name LIKE ''", EQ("name", ""), "\"name\" LIKE ''", "name LIKE ''"),
    ("name NOT LIKE 'a%'", group("And", not_null("name"), group("Not", like("name", "a*"))),
     "\"name\" NOT LIKE 'a%'", "name NOT LIKE 'a%'"),
    # BETWEEN
    ("x BETWEEN 1 AND 5",
     f"<ogc:PropertyIsBetween>{P('x')}<ogc:LowerBoundary>{L('1')}</ogc:LowerBoundary>"
     f"<ogc:UpperBoundary>{L('5')}</ogc:UpperBoundary></ogc:PropertyIsBetween>",
     '( "x" >= 1 AND "x" <= 5 )', "x BETWEEN 1 AND 5"),
    ("x NOT BETWEEN 1 AND 5", group("Or", cmp("LessThan", "x", "1"), cmp("GreaterThan", "x", "5")),
     '"x" < 1 OR "x" > 5', "x < 1 OR x > 5"),
    # NULL tests: MapServer ignores PropertyIsNull, so comparisons with '' stand in
    ("x IS NULL", group("Not", NE("x", "")), '"x" IS NULL', "x IS NULL"),
    ("x is not null", not_null("x"), '"x" IS NOT NULL', "x IS NOT NULL"),
    # dates and timestamps
    ("d >= DATE '2020-01-31'", cmp("GreaterThanOrEqualTo", "d", "2020-01-31"), "\"d\" >= to_date('2020-01-31')",
     "d >= 2020-01-31T00:00:00Z"),
    ("ts < timestamp '2020-01-31 12:30:05'", cmp("LessThan", "ts", "2020-01-31T12:30:05"),
     "\"ts\" < to_datetime('2020-01-31T12:30:05')", "ts < 2020-01-31T12:30:05Z"),
    ("ts < TIMESTAMP '2020-01-31 12:30:05.25'", cmp("LessThan", "ts", "2020-01-31T12:30:05.250000"),
     "\"ts\" < to_datetime('2020-01-31T12:30:05.250000')", "ts < 2020-01-31T12:30:05.250Z"),
    ("DATE '2020-01-01' <= d", cmp("GreaterThanOrEqualTo", "d", "2020-01-01"), "\"d\" >= to_date('2020-01-01')",
     "d >= 2020-01-01T00:00:00Z"),
    # UPPER / LOWER: case-insensitive matching for MapServer, functions elsewhere
    ("UPPER(name) = 'ABC'", EQ("name", "ABC", ' matchCase="false"'), "upper(\"name\") = 'ABC'",
     "strToUpperCase(name) = 'ABC'"),
    ("lower(name) = 'abc'", EQ("name", "abc", ' matchCase="false"'), "lower(\"name\") = 'abc'",
     "strToLowerCase(name) = 'abc'"),
    ("UPPER(name) LIKE '%AB%'", like("name", "*AB*", ' matchCase="false"'), "upper(\"name\") LIKE '%AB%'",
     "strToUpperCase(name) LIKE '%AB%'"),
    ("UPPER(name) LIKE UPPER('%foo%')", like("name", "*FOO*", ' matchCase="false"'), "upper(\"name\") LIKE '%FOO%'",
     "strToUpperCase(name) LIKE '%FOO%'"),
    ("UPPER(name) = UPPER('abc')", EQ("name", "ABC", ' matchCase="false"'), "upper(\"name\") = 'ABC'",
     "strToUpperCase(name) = 'ABC'"),
    ("LOWER(name) IN ('ab', 'CD')", EQ("name", "ab", ' matchCase="false"'), "lower(\"name\") IN ( 'ab' , 'CD' )",
     "(strToLowerCase(name) = 'ab' OR strToLowerCase(name) = 'CD')"),
    # UPPER(x) can never equal text with lower-case letters: an always-false test on the field
    ("UPPER(name) = 'abc'", group("And", EQ("name", ""), NE("name", "")), "upper(\"name\") = 'abc'",
     "strToUpperCase(name) = 'abc'"),
    ("UPPER(name) <> 'ABC'",
     group("And", not_null("name"), group("Not", EQ("name", "ABC", ' matchCase="false"'))),
     "upper(\"name\") != 'ABC'", "strToUpperCase(name) <> 'ABC'"),
    ("UPPER(name) IS NULL", group("Not", NE("name", "")), 'upper("name") IS NULL', "strToUpperCase(name) IS NULL"),
]


@pytest.mark.parametrize(("where", "ogc_body", "qgis", "cql"), RENDERINGS, ids=[r[0] for r in RENDERINGS])
def test_renderings(where: str, ogc_body: str, qgis: str, cql: str | None) -> None:
    expr = parse_where(where, "layerDefs")
    assert expr is not None
    assert canonical(to_ogc_filter(expr)) == ogc(ogc_body)
    assert to_qgis_expression(expr) == qgis
    if cql is None:
        with pytest.raises(InvalidParameter):
            to_cql(expr, parameter="layerDefs")
    else:
        assert to_cql(expr) == cql


def test_ogc_output_is_a_bare_prefixed_filter_element() -> None:
    expr = parse_where("a = 1")
    assert expr is not None
    xml = to_ogc_filter(expr)
    assert xml.startswith(f'<ogc:Filter xmlns:ogc="{NS}"><ogc:PropertyIsEqualTo>')
    assert "<?xml" not in xml
    assert xml.count("xmlns") == 1


def test_ogc_filter_encoding_1_0_names_the_escape_attribute_escape() -> None:
    expr = parse_where("a LIKE 'x%'")
    assert expr is not None
    root = etree.fromstring(to_ogc_filter(expr, "1.0.0"))
    assert {str(k): str(v) for k, v in root[0].attrib.items()} == {"wildCard": "*", "singleChar": ".", "escape": "!"}
    with pytest.raises(ValueError, match="version"):
        to_ogc_filter(expr, "2.0.0")


# --- the OGC form for QGIS Server: real PropertyIsNull, ogc:Function for UPPER/LOWER and dates ----------------

QGIS_OGC = [
    ("x IS NULL", f"<ogc:PropertyIsNull>{P('x')}</ogc:PropertyIsNull>"),
    ("x IS NOT NULL", group("Not", f"<ogc:PropertyIsNull>{P('x')}</ogc:PropertyIsNull>")),
    ("UPPER(name) = 'abc'",
     f'<ogc:PropertyIsEqualTo><ogc:Function name="upper">{P("name")}</ogc:Function>{L("abc")}'
     "</ogc:PropertyIsEqualTo>"),
    ("LOWER(name) LIKE 'a%'",
     f'<ogc:PropertyIsLike wildCard="*" singleChar="." escapeChar="!"><ogc:Function name="lower">{P("name")}'
     f"</ogc:Function>{L('a*')}</ogc:PropertyIsLike>"),
    ("d > DATE '2020-01-31'",
     f'<ogc:PropertyIsGreaterThan>{P("d")}<ogc:Function name="to_date">{L("2020-01-31")}</ogc:Function>'
     "</ogc:PropertyIsGreaterThan>"),
    ("ts = TIMESTAMP '2020-01-31 01:02:03'",
     f'<ogc:PropertyIsEqualTo>{P("ts")}<ogc:Function name="to_datetime">{L("2020-01-31T01:02:03")}'
     "</ogc:Function></ogc:PropertyIsEqualTo>"),
    ("a = b", f"<ogc:PropertyIsEqualTo>{P('a')}{P('b')}</ogc:PropertyIsEqualTo>"),
    ("UPPER(a) BETWEEN 'A' AND 'M'",
     f'<ogc:PropertyIsBetween><ogc:Function name="upper">{P("a")}</ogc:Function>'
     f"<ogc:LowerBoundary>{L('A')}</ogc:LowerBoundary><ogc:UpperBoundary>{L('M')}</ogc:UpperBoundary>"
     "</ogc:PropertyIsBetween>"),
    ("name NOT LIKE 'a%'",
     group("And", group("Not", f"<ogc:PropertyIsNull>{P('name')}</ogc:PropertyIsNull>"),
           group("Not", like("name", "a*")))),
]


@pytest.mark.parametrize(("where", "body"), QGIS_OGC, ids=[r[0] for r in QGIS_OGC])
def test_ogc_for_qgis(where: str, body: str) -> None:
    expr = parse_where(where)
    assert expr is not None
    assert canonical(to_ogc_filter(expr, backend="qgis")) == ogc(body)


# --- constants ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", [None, "", "   \t\n", "1=1", "1 = 1 OR a = 2", "NOT 1 = 0", "'a' IN ('a', 'b')",
                                   "5 BETWEEN 1 AND 10", "'abc' LIKE 'a%'", "'x' IS NOT NULL",
                                   "DATE '2020-01-01' < TIMESTAMP '2020-01-01 00:00:01'", "UPPER('abc') = 'ABC'",
                                   "1 = 1.0", "-1 < 0"])
def test_clauses_that_restrict_nothing_parse_to_none(where: str | None) -> None:
    assert parse_where(where) is None


@pytest.mark.parametrize("where", ["1=0", "1 = 1 AND 2 = 3", "NOT 1 = 1", "'x' IS NULL", "'b' IN ('a')",
                                   "'abc' NOT LIKE 'a%'", "2 NOT BETWEEN 1 AND 3", "a = 1 AND 1 = 0"])
def test_clauses_that_match_nothing_parse_to_false(where: str) -> None:
    assert parse_where(where) == FALSE


def test_constants_render_in_each_dialect() -> None:
    assert to_qgis_expression(TRUE) == "1 = 1"
    assert to_qgis_expression(FALSE) == "1 = 0"
    assert to_cql(TRUE) == "INCLUDE"
    assert to_cql(FALSE) == "EXCLUDE"
    assert to_ogc_filter(TRUE) == ""
    with pytest.raises(UnsupportedParameter) as caught:
        to_ogc_filter(FALSE, parameter="layerDefs")
    assert caught.value.parameter == "layerDefs"


def test_hand_built_trees_are_simplified_before_rendering() -> None:
    expr = And((TRUE, Comparison(Field("a"), CompareOp.EQ, Literal(1)), Or((FALSE, IsNull(Field("b"))))))
    assert to_qgis_expression(expr) == '"a" = 1 AND "b" IS NULL'
    assert to_cql(expr) == "a = 1 AND b IS NULL"


# --- trees --------------------------------------------------------------------------------------------------------


def C(name: str, value: object, op: CompareOp = CompareOp.EQ) -> Comparison:
    assert isinstance(value, str | int | float)
    return Comparison(Field(name), op, Literal(value))


def D(value: dt.date) -> Comparison:
    return Comparison(Field("d"), CompareOp.EQ, Literal(value))


TREES: list[tuple[str, Expr]] = [
    ("a=1 OR b=2 AND NOT c=3", Or((C("a", 1), And((C("b", 2), Not(C("c", 3))))))),
    ("a=1 and b=2 or c=3", Or((And((C("a", 1), C("b", 2))), C("c", 3)))),
    ("NOT (a=1 OR b=2)", Not(Or((C("a", 1), C("b", 2))))),
    ("NOT a=1 OR b=2", Or((Not(C("a", 1)), C("b", 2)))),
    ("((a=1))", C("a", 1)),
    ("a=1 OR (b=2 OR c=3)", Or((C("a", 1), C("b", 2), C("c", 3)))),
    ("x BETWEEN 1 AND 2 AND y = 3", And((Between(Field("x"), Literal(1), Literal(2)), C("y", 3)))),
    ("a NOT IN (1, 2)", Not(In(Field("a"), (Literal(1), Literal(2))))),
    ("a NOT LIKE 'x%'", Not(Like(Field("a"), ("x", Wildcard.ANY)))),
    ("a NOT BETWEEN 1 AND 2", Not(Between(Field("a"), Literal(1), Literal(2)))),
    ("a IS NOT NULL", Not(IsNull(Field("a")))),
    ("a = b", Comparison(Field("a"), CompareOp.EQ, Field("b"))),
    ("3 >= a", C("a", 3, CompareOp.LE)),
    ("a = -5", C("a", -5)),
    ("a = +5", C("a", 5)),
    ("a = - 5", C("a", -5)),
    ("a = .5", C("a", 0.5)),
    ("a = 5.", C("a", 5.0)),
    ("a = 2e-3", C("a", 0.002)),
    ("a = 007", C("a", 7)),
    ("a = 123456789012345678901234567890", C("a", 123456789012345678901234567890)),
    ("a\t=\n'x'", C("a", "x")),
    ('"select" = 1', C("select", 1)),
    ("d = DATE '2020-02-29'", D(dt.date(2020, 2, 29))),
    ("d = date '2020-02-29 10:11:12'", D(dt.datetime(2020, 2, 29, 10, 11, 12))),
    ("d = TIMESTAMP '2020-02-29'", D(dt.datetime(2020, 2, 29))),
    ("d = TIMESTAMP '2020-02-29T10:11'", D(dt.datetime(2020, 2, 29, 10, 11))),
    ("UPPER(LOWER(a)) = 'X'", Comparison(Func(FuncName.UPPER, Func(FuncName.LOWER, Field("a"))), CompareOp.EQ,
                                         Literal("X"))),
    ("a LIKE '%'", Like(Field("a"), (Wildcard.ANY,))),
    ("a LIKE 'a%%_b'", Like(Field("a"), ("a", Wildcard.ANY, Wildcard.ANY, Wildcard.ONE, "b"))),
    ("a LIKE 'a!%!_!!' ESCAPE '!'", Like(Field("a"), ("a%_!",))),
]


@pytest.mark.parametrize(("where", "tree"), TREES, ids=[t[0] for t in TREES])
def test_trees(where: str, tree: Expr) -> None:
    assert parse_where(where) == tree


def test_push_negations_is_exact_under_three_valued_logic() -> None:
    expr = parse_where("NOT (a = 1 AND (b < 2 OR c BETWEEN 1 AND 3)) AND NOT d IN (1)")
    assert expr is not None
    assert push_negations(expr) == And((
        Or((C("a", 1, CompareOp.NE),
            And((C("b", 2, CompareOp.GE), Or((C("c", 1, CompareOp.LT), C("c", 3, CompareOp.GT))))))),
        Not(In(Field("d"), (Literal(1),))),
    ))


def test_field_names_and_map_fields() -> None:
    expr = parse_where("a = 1 AND UPPER(\"B c\") LIKE 'x%' OR d IS NULL OR e = f")
    assert expr is not None
    assert field_names(expr) == {"a", "B c", "d", "e", "f"}
    assert field_names(None) == set()
    renamed = map_fields(expr, str.upper)
    assert field_names(renamed) == {"A", "B C", "D", "E", "F"}
    assert to_cql(map_fields(parse_where("pop > 1") or TRUE, lambda name: "POP")) == "POP > 1"


# --- refusals -----------------------------------------------------------------------------------------------------

BAD = [
    ("a = 'abc", "unterminated string at position 5"),
    ('"abc = 1', "unterminated quoted field name at position 1"),
    ('"" = 1', "empty quoted field name at position 1"),
    ("a = 1;", "semicolons are not allowed"),
    ("a = 1; DROP TABLE t", "position 6"),
    ("a = 1 -- comment", "comments are not allowed at position 7"),
    ("a = 1 /* comment */", "comments are not allowed"),
    ("a == 1", "unknown operator '==' at position 3"),
    ("a =< 1", "unknown operator '=<'"),
    ("a ! 1", "unknown operator '!'"),
    ("a = 1 b = 2", "unexpected 'b' after a complete condition at position 7"),
    ("a = 1)", "unbalanced ')' at position 6"),
    ("(a = 1", "missing ')' to close the '(' at position 1"),
    ("(a = 1 b", "expected ')' but found 'b'"),
    ("a IN (SELECT b FROM t)", "subqueries are not supported at position 7"),
    ("EXISTS (SELECT 1)", "subqueries are not supported at position 1"),
    ("foo(a) = 1", "the function foo() is not supported"),
    ("SUBSTRING(a, 1, 2) = 'x'", "the function SUBSTRING() is not supported"),
    ("a + 1 = 2", "expected a comparison operator, IN, LIKE, BETWEEN or IS NULL but found '+'"),
    ("a * 2 = 4", "arithmetic is not supported ('*')"),
    ("a = - b", "a sign must be followed by a number"),
    ("a = ", "unexpected end of the clause: expected a field name or a value"),
    ("a", "incomplete condition after 'a'"),
    ("NOT", "unexpected end of the clause"),
    ("a NOT = 1", "expected IN, LIKE or BETWEEN after NOT but found '='"),
    ("a IN ()", "an IN list needs at least one value"),
    ("a IN 1", "expected '(' after IN"),
    ("a IN (1 2)", "expected ',' or ')' in the IN list but found the number 2"),
    ("a IN (1, 'x')", "an IN list mixes number and string values"),
    ("a IN (b)", "an IN list entry must be a value, not a field"),
    ("a LIKE b", "expected a quoted pattern after LIKE but found 'b'"),
    ("a LIKE 'x' ESCAPE 'ab'", "the ESCAPE character must be a single character"),
    ("a LIKE 'x!' ESCAPE '!'", "the escape character '!' must be followed by %, _ or itself"),
    ("a LIKE 'x!y' ESCAPE '!'", "must be followed by %, _ or itself"),
    ("a BETWEEN 1 OR 2", "expected AND in BETWEEN but found 'OR'"),
    ("a BETWEEN 1 AND 'z'", "BETWEEN mixes number and string bounds"),
    ("a BETWEEN b AND 2", "a BETWEEN bound must be a value, not a field"),
    ("a IS 1", "expected NULL after IS but found the number 1"),
    ("a = NULL", "found the keyword NULL"),
    ("a = (1)", "parenthesised values are not supported"),
    ("DATE '2020-13-01' = d", "is not a valid date"),
    ("d = DATE '01/02/2020'", "is not of the form 'YYYY-MM-DD'"),
    ("d = TIMESTAMP '2020-01-01 25:00:00'", "is not a valid date"),
    ("d = DATE", "DATE must be followed by a quoted value"),
    ("1 = 'a'", "cannot compare number with string"),
    ("DATE '2020-01-01' = 5", "cannot compare date with number"),
    ("'a' IN (1)", "cannot compare string with number"),
    ("UPPER(a) = 1", "UPPER() gives text and cannot be compared with a number"),
    ("LOWER(a) BETWEEN 1 AND 2", "LOWER() gives text and cannot be compared with a number"),
    ("UPPER(1) = 'A'", "UPPER() needs text, not number"),
    ("UPPER(a, b) = 'A'", "UPPER() takes a single argument"),
    ("UPPER a = 'A'", "expected a comparison operator"),
    ("a = 1e999", "the number 1e999 is out of range"),
    ("a = 12abc", "malformed number '12a'"),
    ("a = 0x10", "malformed number"),
    ("a = 1.2.3", "malformed number"),
    ("[a] = 1", "square-bracketed field names are not supported"),
    ("a = @p", "unexpected character '@' at position 5"),
    ("a = :p", "unexpected character ':'"),
    ("a = 'x' || 'y'", "string concatenation is not supported"),
    ("a = 'x\x00'", "the control character U+0000 is not allowed at position 7"),
    ("a = CURRENT_DATE", "CURRENT_DATE is not supported"),
    ("a > CURRENT_TIMESTAMP - INTERVAL '1' DAY", "CURRENT_TIMESTAMP is not supported"),
    ("a = CASE WHEN b THEN 1 END", "CASE expressions are not supported"),
    ("AND a = 1", "expected a field name or a value but found the keyword AND"),
    ("a = 1 AND", "unexpected end of the clause"),
    ("a = 1 OR OR b = 2", "found the keyword OR"),
    ("(" * 70 + "a = 1" + ")" * 70, "nested more than 64 levels deep"),
    ("NOT " * 70 + "a = 1", "nested more than 64 levels deep"),
]


@pytest.mark.parametrize(("where", "message"), BAD, ids=[b[0][:40] for b in BAD])
def test_bad_clauses_are_refused(where: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_where(where, "layerDefs")
    assert caught.value.parameter == "layerDefs"
    assert caught.value.message.startswith("Invalid value for parameter 'layerDefs': ")
    assert message in caught.value.message
    assert "position" in caught.value.message


def test_the_parameter_name_defaults_to_where() -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_where("a = ")
    assert caught.value.parameter == "where"


RENDER_REFUSALS = [
    ("a = b", to_ogc_filter, "comparing one field with another is not supported"),
    ("UPPER(a) < 'B'", to_ogc_filter, "UPPER() can only be compared with = or <>"),
    ("UPPER(a) BETWEEN 'A' AND 'B'", to_ogc_filter, "UPPER() cannot be used with BETWEEN"),
    ('"My Field" = 1', to_cql, "the field name 'My Field' cannot be used"),
    ("name LIKE 'x\\%'", to_qgis_expression, "backslash right before a wildcard"),
]


@pytest.mark.parametrize(("where", "render", "message"), RENDER_REFUSALS, ids=[r[0] for r in RENDER_REFUSALS])
def test_constructs_a_dialect_cannot_carry_are_refused(where: str, render: object, message: str) -> None:
    expr = parse_where(where)
    assert expr is not None and callable(render)
    with pytest.raises(InvalidParameter) as caught:
        render(expr, parameter="layerDefs")
    assert caught.value.parameter == "layerDefs"
    assert message in caught.value.message


def test_ogc_for_qgis_refuses_a_backslash_before_a_wildcard() -> None:
    expr = parse_where("name LIKE '%\\%'")
    assert expr is not None
    assert canonical(to_ogc_filter(expr)) == ogc(like("name", "*\\*"))
    with pytest.raises(InvalidParameter, match="backslash"):
        to_ogc_filter(expr, backend="qgis")


@pytest.mark.parametrize("where", [w for w, *_ in RENDERINGS])
def test_ogc_output_is_well_formed_and_ecql_and_qgis_are_single_line(where: str) -> None:
    expr = parse_where(where)
    assert expr is not None
    root = etree.fromstring(to_ogc_filter(expr))
    assert root.tag == f"{{{NS}}}Filter" and len(root) == 1
    assert "\n" not in to_qgis_expression(expr)


@pytest.mark.parametrize("clause", ["a = ²", "a = .²", "a = ½"])
def test_digits_that_are_not_decimal_are_a_clear_400(clause: str) -> None:
    with pytest.raises(InvalidParameter, match="unexpected character"):
        parse_where(clause, "where")
