"""Band indices: ``NDVI`` and ``BandArithmetic`` (its predefined methods and the expression parser).

``NDVI`` (``VisibleBandID``, ``InfraredBandID``, 0-based): ArcGIS's default scaled output ``ndvi * 100 + 100`` as U8
(0..200, 100 meaning an NDVI of 0); ``Scientific``/``ScientificOutput`` true (or ``Scaled`` false) gives F32 -1..1.
``(NIR + Red) == 0`` is NoData.

``BandArithmetic``: ``Method`` 0 evaluates ``BandIndexes`` as an expression (numbers, ``B1``..``Bn`` 1-based,
``+ - * /``, parentheses, unary minus) with a small parser, never ``eval``; the predefined methods 1-13 and 16-29
take ``BandIndexes`` as a space-separated list of 1-based bands followed by their constants (documented defaults
when omitted); 14 (MTVI2) and 15 (RTVICore) are refused.  Output F32 (Sultan: 3 bands).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeAlias

import numpy as np

from translators.errors import InvalidParameter
from translators.raster.functions.base import ArgumentReader, Function, RasterFunction, Stats
from translators.raster.functions.helpers import FloatArray, check_band, finish, values_of
from translators.raster.model import Raster

__all__ = ["NDVI", "Band", "BandArithmetic", "BandArithmeticArgs", "BinOp", "Expr", "NDVIArgs", "Neg", "Num"]


# Bounds on user expressions (BandArithmetic method 0), so a request cannot make the parser recurse without end.
_MAX_EXPRESSION_CHARS: Final = 2000
_MAX_EXPRESSION_NESTING: Final = 64


@dataclass(frozen=True)
class NDVIArgs:
    """``NDVI``: 0-based red and near-infrared bands; scientific output is F32 -1..1 instead of U8 0..200."""

    visible: int = 0
    infrared: int = 1
    scientific: bool = False


@dataclass(frozen=True)
class Num:
    """A number in a band expression."""

    value: float


@dataclass(frozen=True)
class Band:
    """``Bn`` in a band expression (1-based)."""

    index: int


@dataclass(frozen=True)
class Neg:
    """Unary minus."""

    operand: Expr


@dataclass(frozen=True)
class BinOp:
    """``left op right`` with op one of ``+ - * /``."""

    op: str
    left: Expr
    right: Expr


Expr: TypeAlias = Num | Band | Neg | BinOp


@dataclass(frozen=True)
class BandArithmeticArgs:
    """``BandArithmetic``: an expression (method 0) or a predefined method's 1-based bands and constants."""

    method: int
    expression: Expr | None = None
    bands: tuple[int, ...] = ()
    constants: tuple[float, ...] = ()


class NDVI(Function[NDVIArgs]):
    """``NDVI``: the normalized difference of the near-infrared and red bands."""

    names = ("NDVI",)

    def parse(self, args: ArgumentReader) -> NDVIArgs:
        """The 0-based bands by id (names and wavelengths are refused) and the output scale."""
        for name in ("VisibleBandName", "InfraredBandName", "VisibleBandWavelength", "InfraredBandWavelength"):
            if args.raw(name) is not None:
                raise args.unsupported(f"'{name}' is not supported; give 'VisibleBandID' and 'InfraredBandID'")
        if args.raw("Scientific", "ScientificOutput") is not None:
            scientific = args.boolean("Scientific", False, "ScientificOutput")
        else:
            scientific = not args.boolean("Scaled", True)  # the JavaScript SDK's spelling of the same switch
        return NDVIArgs(_band_id(args, "VisibleBandID", 0), _band_id(args, "InfraredBandID", 1), scientific)

    def band_count(self, rule: RasterFunction, args: NDVIArgs, bands: int) -> int:
        """One band, once both band ids exist."""
        check_band(rule, "VisibleBandID", args.visible, bands)
        check_band(rule, "InfraredBandID", args.infrared, bands)
        return 1

    def apply(self, raster: Raster, rule: RasterFunction, args: NDVIArgs,
              stats: Stats | None) -> tuple[Raster, Stats | None]:
        """Scaled U8 or scientific F32 NDVI."""
        check_band(rule, "VisibleBandID", args.visible, raster.band_count)
        check_band(rule, "InfraredBandID", args.infrared, raster.band_count)
        values, valid = values_of(raster)
        red, nir = values[args.visible], values[args.infrared]
        with np.errstate(all="ignore"):
            ndvi = (nir - red) / (nir + red)
        if args.scientific:
            return finish(raster, rule, ndvi[np.newaxis], valid, "F32", ("NDVI",)), None
        return finish(raster, rule, (ndvi * 100.0 + 100.0)[np.newaxis], valid, "U8", ("NDVI",)), None


class BandArithmetic(Function[BandArithmeticArgs]):
    """``BandArithmetic``: a user expression over the bands, or one of ArcGIS's predefined indices."""

    names = ("BandArithmetic",)

    def parse(self, args: ArgumentReader) -> BandArithmeticArgs:
        """The method, and its parsed expression or its bands and constants."""
        method = args.integer("Method", 0)
        if method in _METHODS_UNSUPPORTED:
            raise args.unsupported(f"Method {method} ({_METHODS_UNSUPPORTED[method]}) is not supported")
        if method != 0 and method not in _METHODS:
            raise args.error("Method", "must be 0 (user defined) or a predefined index method 1..29")
        value = args.raw("BandIndexes", "BandIndices")
        if method == 0:
            if not isinstance(value, str):
                raise args.error("BandIndexes", "must be an expression such as '(B4 - B3) / (B4 + B3)'")
            return BandArithmeticArgs(0, expression=_parse_expression(args, value))
        spec = _METHODS[method]
        numbers = args.numbers("BandIndexes", "BandIndices")
        if numbers is None or len(numbers) < spec.bands:
            raise args.error("BandIndexes", f"{spec.name} needs {spec.bands} space-separated 1-based band numbers")
        bands = numbers[: spec.bands]
        if any(not b.is_integer() or b < 1 for b in bands):
            raise args.error("BandIndexes", "band numbers are 1-based integers")
        extra = numbers[spec.bands:]
        if len(extra) > len(spec.constants):
            raise args.error("BandIndexes", f"{spec.name} takes {spec.bands} bands and {len(spec.constants)} constants")
        constants = tuple(extra) + spec.constants[len(extra):]
        return BandArithmeticArgs(method, bands=tuple(int(b) for b in bands), constants=constants)

    def band_count(self, rule: RasterFunction, args: BandArithmeticArgs, bands: int) -> int:
        """The method's output count (1 except Sultan's 3), once every band it reads exists."""
        _band_arithmetic_bands(rule, args, bands)
        return _METHODS[args.method].outputs if args.method else 1

    def apply(self, raster: Raster, rule: RasterFunction, args: BandArithmeticArgs,
              stats: Stats | None) -> tuple[Raster, Stats | None]:
        """The expression or index, F32 unless an ``outputPixelType`` is given."""
        wanted = _band_arithmetic_bands(rule, args, raster.band_count)
        values, valid = values_of(raster)
        with np.errstate(all="ignore"):
            if args.expression is not None:
                result = _evaluate(args.expression, values)
                outputs = [np.broadcast_to(np.asarray(result, dtype=np.float64), valid.shape)]
            else:
                outputs = _METHODS[args.method].compute([values[b] for b in wanted], args.constants)
        return finish(raster, rule, np.stack(outputs), valid, "F32"), None


def _band_id(args: ArgumentReader, name: str, default: int) -> int:
    band = args.integer(name, default)
    if band < 0:
        raise args.error(name, "must be a 0-based band index (>= 0)")
    return band


# --------------------------------------------------------------------------------------------------------------------
# BandArithmetic: predefined methods and the expression parser


@dataclass(frozen=True)
class _Method:
    """A predefined index: how many bands it reads, its default constants, how many bands it writes, its formula."""

    name: str
    bands: int
    constants: tuple[float, ...]
    outputs: int
    compute: Callable[[list[FloatArray], tuple[float, ...]], list[FloatArray]]


def _nd(a: FloatArray, b: FloatArray) -> FloatArray:
    result: FloatArray = (a - b) / (a + b)
    return result


def _ratio(a: FloatArray, b: FloatArray) -> FloatArray:
    result: FloatArray = a / b
    return result


def _gemi(b: list[FloatArray], c: tuple[float, ...]) -> list[FloatArray]:
    nir, red = b
    eta = (2 * (nir * nir - red * red) + 1.5 * nir + 0.5 * red) / (nir + red + 0.5)
    return [eta * (1 - 0.25 * eta) - (red - 0.125) / (1 - red)]


def _tsavi(b: list[FloatArray], c: tuple[float, ...]) -> list[FloatArray]:
    nir, red = b
    s, a, x = c
    return [s * (nir - s * red - a) / (a * nir + red - a * s + x * (1 + s * s))]


def _sultan(b: list[FloatArray], c: tuple[float, ...]) -> list[FloatArray]:
    b1, _b2, b3, b4, b5, b7 = b  # the six Landsat TM bands 1 2 3 4 5 7, in that order
    return [b5 / b7 * 100, b5 / b1 * 100, b3 / b4 * (b5 / b4) * 100]


def _wndwi(b: list[FloatArray], c: tuple[float, ...]) -> list[FloatArray]:
    green, nir, swir = b
    (alpha,) = c
    mix = alpha * nir + (1 - alpha) * swir
    return [(green - mix) / (green + mix)]


# Band order and formulas from ArcGIS's Band Arithmetic documentation; constants follow the bands in BandIndexes.
_METHODS: Final[dict[int, _Method]] = {
    1: _Method("NDVI", 2, (), 1, lambda b, c: [_nd(b[0], b[1])]),
    2: _Method("SAVI", 2, (0.5,), 1, lambda b, c: [(b[0] - b[1]) / (b[0] + b[1] + c[0]) * (1 + c[0])]),
    3: _Method("TSAVI", 2, (0.33, 0.5, 1.5), 1, _tsavi),
    4: _Method("MSAVI", 2, (), 1,
               lambda b, c: [0.5 * (2 * (b[0] + 1) - np.sqrt((2 * b[0] + 1) ** 2 - 8 * (b[0] - b[1])))]),
    5: _Method("GEMI", 2, (), 1, _gemi),
    6: _Method("PVI", 2, (0.3, 0.5), 1, lambda b, c: [(b[0] - c[0] * b[1] - c[1]) / math.sqrt(1 + c[0] ** 2)]),
    7: _Method("GVITM", 6, (), 1, lambda b, c: [-0.2848 * b[0] - 0.2435 * b[1] - 0.5436 * b[2] + 0.7243 * b[3]
                                                  + 0.0840 * b[4] - 1.1800 * b[5]]),
    8: _Method("Sultan", 6, (), 3, _sultan),
    9: _Method("VARI", 3, (), 1, lambda b, c: [(b[1] - b[0]) / (b[1] + b[0] - b[2])]),  # Red Green Blue
    10: _Method("GNDVI", 2, (), 1, lambda b, c: [_nd(b[0], b[1])]),
    11: _Method("SR", 2, (), 1, lambda b, c: [_ratio(b[0], b[1])]),
    12: _Method("NDVIre", 2, (), 1, lambda b, c: [_nd(b[0], b[1])]),
    13: _Method("SRre", 2, (), 1, lambda b, c: [_ratio(b[0], b[1])]),
    16: _Method("CIre", 2, (), 1, lambda b, c: [_ratio(b[0], b[1]) - 1]),
    17: _Method("CIg", 2, (), 1, lambda b, c: [_ratio(b[0], b[1]) - 1]),
    18: _Method("NDWI", 2, (), 1, lambda b, c: [_nd(b[1], b[0])]),  # NIR Green -> (Green - NIR) / (Green + NIR)
    19: _Method("EVI", 3, (), 1, lambda b, c: [2.5 * (b[0] - b[1]) / (b[0] + 6 * b[1] - 7.5 * b[2] + 1)]),
    20: _Method("IronOxide", 2, (), 1, lambda b, c: [_ratio(b[0], b[1])]),
    21: _Method("FerrousMinerals", 2, (), 1, lambda b, c: [_ratio(b[0], b[1])]),
    22: _Method("ClayMinerals", 2, (), 1, lambda b, c: [_ratio(b[0], b[1])]),
    23: _Method("WNDWI", 3, (0.5,), 1, _wndwi),
    24: _Method("BAI", 2, (), 1, lambda b, c: [1 / ((0.1 - b[0]) ** 2 + (0.06 - b[1]) ** 2)]),  # Red NIR
    25: _Method("NBR", 2, (), 1, lambda b, c: [_nd(b[0], b[1])]),
    26: _Method("NDBI", 2, (), 1, lambda b, c: [_nd(b[0], b[1])]),
    27: _Method("NDMI", 2, (), 1, lambda b, c: [_nd(b[0], b[1])]),
    28: _Method("NDSI", 2, (), 1, lambda b, c: [_nd(b[0], b[1])]),
    29: _Method("MNDWI", 2, (), 1, lambda b, c: [_nd(b[0], b[1])]),
}
_METHODS_UNSUPPORTED: Final = {14: "MTVI2", 15: "RTVICore"}


_TOKEN: Final = re.compile(r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<band>[bB]\d+)|(?P<op>[-+*/()]))")


def _parse_expression(args: ArgumentReader, text: str) -> Expr:
    """Parse a band expression by recursive descent; anything but numbers, bands, operators and parentheses fails."""
    if len(text) > _MAX_EXPRESSION_CHARS:
        raise args.error("BandIndexes", f"expression is longer than {_MAX_EXPRESSION_CHARS} characters")
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if not text[position:].strip():
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            rest = text[position:].lstrip()
            raise args.error("BandIndexes", f"unexpected '{rest[:1]}' at character {len(text) - len(rest)}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    if not tokens:
        raise args.error("BandIndexes", "expression is empty")
    parser = _ExpressionParser(tokens, args)
    expression = parser.expression(0)
    if parser.index != len(tokens):
        raise args.error("BandIndexes", f"unexpected '{tokens[parser.index][1]}' in the expression")
    return expression


class _ExpressionParser:
    """expression := term (('+'|'-') term)*; term := unary (('*'|'/') unary)*; unary := '-' unary | primary."""

    def __init__(self, tokens: list[tuple[str, str]], args: ArgumentReader) -> None:
        self.tokens = tokens
        self.index = 0
        self.args = args

    def _peek(self) -> str | None:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else None

    def _fail(self, problem: str) -> InvalidParameter:
        return self.args.error("BandIndexes", problem)

    def expression(self, depth: int) -> Expr:
        if depth > _MAX_EXPRESSION_NESTING:
            raise self._fail("expression is nested too deeply")
        node = self._term(depth)
        while self._peek() in ("+", "-"):
            op = self.tokens[self.index][1]
            self.index += 1
            node = BinOp(op, node, self._term(depth))
        return node

    def _term(self, depth: int) -> Expr:
        node = self._unary(depth)
        while self._peek() in ("*", "/"):
            op = self.tokens[self.index][1]
            self.index += 1
            node = BinOp(op, node, self._unary(depth))
        return node

    def _unary(self, depth: int) -> Expr:
        if depth > _MAX_EXPRESSION_NESTING:
            raise self._fail("expression is nested too deeply")
        token = self._peek()
        if token in ("-", "+"):
            self.index += 1
            operand = self._unary(depth + 1)
            return Neg(operand) if token == "-" else operand
        return self._primary(depth)

    def _primary(self, depth: int) -> Expr:
        if self.index >= len(self.tokens):
            raise self._fail("expression ends unexpectedly")
        kind, text = self.tokens[self.index]
        self.index += 1
        if kind == "num":
            value = float(text)
            if not math.isfinite(value):
                raise self._fail(f"number '{text}' is out of range")
            return Num(value)
        if kind == "band":
            band = int(text[1:])
            if band < 1:
                raise self._fail("bands are numbered from B1")
            return Band(band)
        if text == "(":
            node = self.expression(depth + 1)
            if self._peek() != ")":
                raise self._fail("missing ')'")
            self.index += 1
            return node
        raise self._fail(f"unexpected '{text}' in the expression")


def _expression_bands(node: Expr) -> set[int]:
    if isinstance(node, Band):
        return {node.index}
    if isinstance(node, Neg):
        return _expression_bands(node.operand)
    if isinstance(node, BinOp):
        return _expression_bands(node.left) | _expression_bands(node.right)
    return set()


def _evaluate(node: Expr, bands: FloatArray) -> FloatArray | float:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Band):
        result: FloatArray = bands[node.index - 1]
        return result
    if isinstance(node, Neg):
        return -_evaluate(node.operand, bands)
    left, right = _evaluate(node.left, bands), _evaluate(node.right, bands)
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    return left / right


def _band_arithmetic_bands(rule: RasterFunction, args: BandArithmeticArgs, bands: int) -> list[int]:
    """The 0-based bands a BandArithmetic rule reads, validated against ``bands``."""
    wanted = sorted(_expression_bands(args.expression)) if args.expression is not None else list(args.bands)
    for band in wanted:
        if band > bands:
            raise InvalidParameter(rule.parameter, f"BandArithmetic argument 'BandIndexes' refers to band {band}, "
                                                   f"but the input has {bands} band(s) (1-based)")
    return [b - 1 for b in wanted]
