"""The work one request may cause: cells fetched and produced, memory, raster-function chains, where-clause size.

A request's cost is known from its plan before any pixel is fetched (exportImage, download, a MapServer export
composed locally, where clauses), so the planners refuse what is over a limit with a 400 naming the limit and its
configuration key (``limits.maxCells`` …) instead of letting it take a core or gigabytes.  The values come from the
configuration (``limits:``), passed in as plain numbers; the defaults keep one request under about 512 MiB and a few
seconds of one core.

The memory estimates are calibrated on the gateway's measured peak resident memory (decode, warp, functions,
encode) with a margin: the heaviest shapes the defaults allow rose 10 to 40 % less than their estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

from translators.errors import InvalidParameter

MIB = 1024 * 1024

# Measured peaks of the chain (bytes per cell and band), rounded up: the fetched GeoTIFF, its decoded values and the
# warp's copy of them; the output grid (warp target, masks, the encoder's RGBA / stretched copies); and the extra
# working arrays of a raster function (Hillshade, the heaviest, needs about 70 to 90 per cell).
FETCH_BYTES_PER_CELL = 8
OUTPUT_BYTES_PER_CELL = 40
MASK_BYTES_PER_CELL = 16
FUNCTION_BYTES_PER_CELL = 96


@dataclass(frozen=True)
class Limits:
    """Per-request bounds (the configuration's ``limits`` section; the defaults are safe on a small machine)."""

    max_cells: int = 4096 * 4096  # cells of one image produced, or fetched from the backend
    max_memory: int = 512 * MIB  # estimated working memory of one image request, and of all of them at once
    max_rule_depth: int = 8  # raster functions nested in one renderingRule
    max_rule_work: int = 2048 * 2048 * 8  # output cells x raster functions of one renderingRule
    max_clause_length: int = 65536  # characters of one where clause, and of all those of one request
    max_clause_values: int = 10000  # literal values in one where clause (IN lists, comparisons)


def over_limit(parameter: str, what: str, value: int, limit: int, key: str, unit: str = "") -> InvalidParameter:
    """The 400 for ``what`` (``value``) beyond ``limit``, naming the configuration ``key``."""
    return InvalidParameter(parameter, f"{what} ({value:,}{unit}) exceeds the limit of {limit:,}{unit} (limits.{key})")


def check_clause(parameter: str, what: str, value: int, limit: int, key: str, unit: str = "") -> None:
    """Refuse a where clause over one of its limits (``maxClauseLength``, ``maxClauseValues``)."""
    if value > limit:
        raise over_limit(parameter, what, value, limit, key, unit)


def check_cells(parameter: str, what: str, cells: int, limits: Limits) -> None:
    """Refuse more than ``limits.max_cells`` cells."""
    if cells > limits.max_cells:
        raise over_limit(parameter, what, cells, limits.max_cells, "maxCells", " cells")


def image_bytes(fetch_cells: int, output_cells: int, bands: int, functions: int) -> int:
    """An upper bound of the memory an image request takes while it is fetched, processed and encoded."""
    per_output = OUTPUT_BYTES_PER_CELL * bands + MASK_BYTES_PER_CELL
    if functions:
        per_output += FUNCTION_BYTES_PER_CELL * bands
    return fetch_cells * bands * FETCH_BYTES_PER_CELL + output_cells * per_output


def check_memory(parameter: str, estimate: int, limits: Limits) -> None:
    """Refuse an estimate over ``limits.max_memory`` (messages in MiB, as the configuration is usually written)."""
    if estimate > limits.max_memory:
        raise over_limit(parameter, "the image's estimated working memory", -(-estimate // MIB),
                         limits.max_memory // MIB, "maxMemory", " MiB")


def check_rule(parameter: str, functions: int, output_cells: int, limits: Limits) -> None:
    """Refuse a rendering rule of more than ``max_rule_depth`` chained functions (a chain nests one function in the
    next, so its length is its depth) or costing more than ``max_rule_work`` cell-functions."""
    if functions > limits.max_rule_depth:
        raise over_limit(parameter, "the chain of raster functions", functions, limits.max_rule_depth,
                         "maxRuleDepth", " functions")
    work = functions * output_cells
    if work > limits.max_rule_work:
        raise over_limit(parameter, f"{functions} raster function(s) over {output_cells:,} cells", work,
                         limits.max_rule_work, "maxRuleWork", " cell-functions")


DEFAULT_LIMITS = Limits()  # for callers (tools, tests) that plan without a configuration
