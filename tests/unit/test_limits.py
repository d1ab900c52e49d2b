"""The work one request may cause: each limit refuses with a 400 naming it, judged on the clamped output."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from rasterio.enums import Resampling

from proxy.budget import MemoryBudget
from proxy.cache import Cache
from proxy.executor import CpuPool
from proxy.services import Registry
from proxy.settings import ConfigError, load_settings, parse_settings
from tests.unit.test_export_plan import context as map_context
from translators.arcgis.export import plan_bytes as export_plan_bytes
from translators.arcgis.export import plan_export
from translators.arcgis.image import (
    CatalogRaster,
    ImageContext,
    check_download,
    fetch_for,
    plan_bytes,
    plan_export_image,
    plan_identify,
)
from translators.crs import resolve_sr
from translators.errors import InvalidParameter
from translators.filters import parse_where
from translators.limits import DEFAULT_LIMITS, MIB, Limits, image_bytes
from translators.ogc.wcs import CoverageDescription
from translators.params import Params
from translators.raster.io import _warp, resample
from translators.raster.model import BandStats, Raster

DEM = CoverageDescription("dem", "2.0.1", "dem", "", "EPSG:4326", (0.0, 40.0, 10.0, 50.0), 500, 500, ("elevation",),
                          (-9999.0,), "image/tiff")
SERVICE = {"s": {"type": "MapServer", "backend": {"url": "http://127.0.0.1:1/ows"}}}


def context(limits: Limits = DEFAULT_LIMITS, desc: CoverageDescription = DEM, bands: int = 1) -> ImageContext:
    return ImageContext("dem", desc.sr, (CatalogRaster(1, desc, None, False),), "F32", bands,
                        tuple(f"b{i}" for i in range(bands)), (BandStats(0, 1000, 500, 100),) * bands, (-9999.0,),
                        4096, 4096, True, limits)


def chain(length: int, name: str = "Stretch") -> dict[str, Any]:
    rule: dict[str, Any] = {"rasterFunction": name, "rasterFunctionArguments": {"StretchType": 5}}
    for _ in range(length - 1):
        rule = {"rasterFunction": name, "rasterFunctionArguments": {"StretchType": 5, "Raster": rule}}
    return rule


def refusal(ctx: ImageContext, **params: str) -> str:
    with pytest.raises(InvalidParameter) as info:
        plan_export_image(Params(params), ctx)
    return str(info.value)


# ------------------------------------------------------------------------------------------------------- planners


def test_the_huge_hillshade_is_refused_by_its_memory_estimate_of_the_clamped_output() -> None:
    start = time.monotonic()
    message = refusal(context(), size="100000,100000", format="png",
                      renderingRule=json.dumps({"rasterFunction": "Hillshade"}))
    assert time.monotonic() - start < 0.5
    assert "exceeds the limit of 512 MiB (limits.maxMemory)" in message
    # Sized by the output clamped to 4096x4096, not by the 10^10 cells asked for.
    assert "(2,434 MiB)" in message


def test_a_hillshade_the_budget_allows_is_planned_within_it() -> None:
    ctx = context()
    plan = plan_export_image(Params({"size": "1800,1800", "format": "png",
                                     "renderingRule": '{"rasterFunction": "Hillshade"}'}), ctx)
    assert plan_bytes(ctx, plan) <= ctx.limits.max_memory


def test_cells_of_the_output_are_bounded() -> None:
    message = refusal(context(Limits(max_cells=1000 * 1000)), size="1001,1000")
    assert message.endswith("the image (1,001,000 cells) exceeds the limit of 1,000,000 cells (limits.maxCells)")
    plan_export_image(Params({"size": "1000,1000"}), context(Limits(max_cells=1000 * 1000)))


def test_rule_chains_are_bounded_in_length() -> None:
    message = refusal(context(), size="10,10", renderingRule=json.dumps(chain(16)))
    assert "the chain of raster functions (16 functions) exceeds the limit of 8 functions (limits.maxRuleDepth)" \
        in message
    plan_export_image(Params({"size": "10,10", "renderingRule": json.dumps(chain(8))}), context())


def test_rule_chains_are_bounded_in_cells_times_functions() -> None:
    ctx = context(Limits(max_rule_work=4 * 100 * 100))
    message = refusal(ctx, size="100,100", renderingRule=json.dumps(chain(5)))
    assert "(50,000 cell-functions) exceeds the limit of 40,000 cell-functions (limits.maxRuleWork)" in message
    plan_export_image(Params({"size": "100,100", "renderingRule": json.dumps(chain(4))}), ctx)


def test_identify_bounds_the_rule_too() -> None:
    with pytest.raises(InvalidParameter, match=r"limits\.maxRuleDepth"):
        plan_identify(Params({"geometry": "5,45", "renderingRule": json.dumps(chain(9))}), context())


def test_memory_estimate_counts_bands_and_functions() -> None:
    assert image_bytes(0, 1000, 1, 0) < image_bytes(0, 1000, 4, 0) < image_bytes(0, 1000, 4, 1)
    assert image_bytes(1000, 0, 3, 0) == 3 * 8 * 1000
    small = Limits(max_memory=64 * MIB)
    message = refusal(context(small, bands=4), size="1000,1000")
    assert "exceeds the limit of 64 MiB (limits.maxMemory)" in message


def test_downloads_are_bounded() -> None:
    check_download(context(), 2000, 2000)
    with pytest.raises(InvalidParameter, match=r"limits\.maxCells"):
        check_download(context(), 8192, 8192)
    with pytest.raises(InvalidParameter, match=r"limits\.maxMemory"):
        check_download(context(), 4000, 4000)


def test_fetch_for_absurd_extents_is_immediate_and_bounded() -> None:
    ctx = context(Limits(max_cells=10_000))
    big = CoverageDescription("big", "2.0.1", "big", "", "EPSG:4326", (-180.0, -90.0, 180.0, 90.0), 100000, 50000,
                              ("b",), (), "image/tiff")
    start = time.monotonic()
    fetch = fetch_for(ctx, CatalogRaster(1, big, None, False), (-1e300, -1e300, 1e300, 1e300),
                      resolve_sr(4326, "sr"), 4096, 4096, None, 10_000)
    assert fetch is not None and fetch.width * fetch.height <= 10_000
    assert time.monotonic() - start < 0.5


@pytest.mark.parametrize("params", [
    {"bbox": "-1e308,40,1e308,50"},
    {"bbox": "1e15,1e15,1e16,1e16", "bboxSR": "3857", "imageSR": "3857", "size": "48,64"},
    {"bbox": "-1e16,-1e16,1e16,1e16", "bboxSR": "3857", "imageSR": "3857", "size": "2000,2000"},
])
def test_absurd_extents_are_refused_by_the_planner_at_once(params: dict[str, str]) -> None:
    start = time.monotonic()
    with pytest.raises(InvalidParameter, match="bbox"):
        plan_export_image(Params({**params, "format": "lerc"}), context())
    assert time.monotonic() - start < 0.5


def test_an_extent_that_overflows_is_fetched_as_one_cell_and_warped_to_nothing() -> None:
    # 2e308 overflows to inf: the fetch was a ValueError (a 500) in the grid snapping; now the coarsest fetch.  (The
    # planner refuses such a box first; the fetch and the warp stay bounded on their own.)
    ctx = context()
    start = time.monotonic()
    target = (-1e308, 40.0, 1e308, 50.0)
    fetch = fetch_for(ctx, ctx.rasters[0], target, DEM.sr, 400, 400, None, 10_000)
    assert fetch is not None and fetch.width * fetch.height <= 10_000
    source = Raster(np.ones((1, fetch.height, fetch.width), np.float32), np.ones((fetch.height, fetch.width), bool),
                    fetch.bbox, DEM.sr, "F32")
    out = resample(source, target, DEM.sr, 400, 400)
    assert not out.mask.any() and time.monotonic() - start < 0.5


def _dem_source() -> Raster:
    return Raster(np.ones((1, 50, 50), np.float32), np.ones((50, 50), bool), (0.0, 40.0, 10.0, 50.0), DEM.sr, "F32")


def test_warping_to_an_extent_beyond_the_projection_is_immediate() -> None:
    # exportImage?bbox=1e15,1e15,1e16,1e16&bboxSR=3857&imageSR=3857: GDAL took minutes on this grid (129 s to 535 s).
    start = time.monotonic()
    out = resample(_dem_source(), (1e15, 1e15, 1e16, 1e16), resolve_sr(3857, "sr"), 48, 64, Resampling.nearest)
    assert time.monotonic() - start < 1.0
    assert out.data.shape == (1, 64, 48) and not out.mask.any()


@pytest.mark.parametrize("size", [(48, 64), (4, 4), (2000, 2000)])
def test_a_source_within_one_cell_of_an_absurd_grid_is_looked_up_at_once(size: tuple[int, int]) -> None:
    # bbox=-1e16,-1e16,1e16,1e16 in Web Mercator: even the few cells around the source took GDAL 12 s.
    start = time.monotonic()
    out = resample(_dem_source(), (-1e16, -1e16, 1e16, 1e16), resolve_sr(3857, "sr"), *size, Resampling.nearest)
    assert time.monotonic() - start < 1.0 and out.mask.sum() <= 1


def test_a_source_within_one_cell_gives_the_value_under_its_centre() -> None:
    source = Raster(np.arange(100, dtype=np.float32).reshape(1, 10, 10), np.ones((10, 10), bool),
                    (0.0, 40.0, 10.0, 50.0), DEM.sr, "F32")
    # Cells of 500 degrees; the centre of cell (row 1, col 1) is (5E, 45N), in source cell (row 5, col 5).
    out = resample(source, (-745.0, -1205.0, 1255.0, 795.0), DEM.sr, 4, 4)
    assert out.mask.sum() == 1 and out.mask[1, 1] and out.data[0, 1, 1] == 55


def test_warping_only_the_reachable_window_keeps_the_values() -> None:
    # A 10x10-degree source in a Web Mercator view four times its size: the cells it covers are warped, the rest
    # is NoData, exactly as a warp of the whole grid gives.
    source = Raster(np.arange(100, dtype=np.float32).reshape(1, 10, 10), np.ones((10, 10), bool),
                    (0.0, 40.0, 10.0, 50.0), DEM.sr, "F32")
    mercator = resolve_sr(3857, "sr")
    view = (-1113194.9, 4300000.0, 2226389.8, 7500000.0)
    out = resample(source, view, mercator, 60, 50)
    assert out.mask.sum() > 0 and not out.mask.all()
    whole, valid = _warp(source, view, mercator, 60, 50, Resampling.nearest)
    assert np.array_equal(out.mask, valid) and np.array_equal(out.data, whole)
    for method in (Resampling.bilinear, Resampling.cubic):
        out = resample(source, view, mercator, 60, 50, method)
        whole, valid = _warp(source, view, mercator, 60, 50, method)
        assert np.array_equal(out.mask, valid) and np.allclose(out.data, whole)


# ---------------------------------------------------------------------------------------------------- where clause


def test_where_clauses_are_bounded_in_length_before_they_are_parsed() -> None:
    clause = "population IN (" + ",".join(str(i) for i in range(400_000)) + ")"
    start = time.monotonic()
    with pytest.raises(InvalidParameter) as info:
        parse_where(clause, "layerDefs")
    assert time.monotonic() - start < 0.5
    assert str(info.value).endswith(f"the where clause ({len(clause):,} characters) exceeds the limit of 65,536 "
                                    "characters (limits.maxClauseLength)")


def test_where_clauses_are_bounded_in_values() -> None:
    clause = "a IN (" + ",".join("1" for _ in range(11)) + ") OR b = 'x'"
    with pytest.raises(InvalidParameter, match=r"values \(12\) exceeds the limit of 11 \(limits\.maxClauseValues\)"):
        parse_where(clause, "where", max_values=11)
    assert parse_where("a IN (1, 2) OR b = 'x'", "where", max_values=3) is not None
    start = time.monotonic()
    with pytest.raises(InvalidParameter, match=r"limits\.maxClauseValues"):
        parse_where("a IN (" + ",".join("1" for _ in range(10_001)) + ")")
    assert time.monotonic() - start < 0.5


# -------------------------------------------------------------------------------------------------- configuration


def test_limits_have_safe_defaults() -> None:
    limits = parse_settings({"services": SERVICE}).limits
    assert limits == Limits()
    assert limits.max_memory == 512 * MIB and limits.max_cells == 4096 * 4096 and limits.max_rule_depth == 8
    assert limits.max_clause_length == 65536 and limits.max_clause_values == 10000


def test_limits_are_configured() -> None:
    limits = parse_settings({"services": SERVICE, "limits": {
        "maxCells": 1000000, "maxMemory": "1GB", "maxRuleDepth": 4, "maxRuleWork": 5000000,
        "maxClauseLength": 1000, "maxClauseValues": 50}}).limits
    assert limits == Limits(1000000, 1024 * MIB, 4, 5000000, 1000, 50)


def test_a_service_overrides_the_server_limits() -> None:
    services = {"s": {**SERVICE["s"], "limits": {"maxCells": 1000}}, "t": SERVICE["s"]}
    settings = parse_settings({"services": services, "limits": {"maxRuleDepth": 4}})
    assert settings.limits == Limits(max_rule_depth=4)
    assert settings.services["s"].limits == Limits(max_cells=1000, max_rule_depth=4)  # the rest from the server
    assert settings.services["t"].limits is None
    with pytest.raises(ConfigError) as info:
        parse_settings({"services": {"s": {**SERVICE["s"], "limits": {"maxCells": 0}}}})
    assert info.value.key == "services.s.limits.maxCells"


def test_the_registry_gives_each_service_its_limits_and_one_budget() -> None:
    image = {"type": "ImageServer", "backend": {"url": "http://127.0.0.1:1/ows"}, "coverage": "dem"}
    settings = parse_settings({"services": {"a": {**image, "limits": {"maxCells": 1000}}, "b": image,
                                            "m": SERVICE["s"]}, "limits": {"maxMemory": "64MB"}})
    registry = Registry(settings, CpuPool().run, Cache(settings.cache))
    a, b, m = (registry.service(kind, name) for kind, name in
               (("ImageServer", "a"), ("ImageServer", "b"), ("MapServer", "m")))
    assert a.limits == Limits(max_cells=1000, max_memory=64 * MIB) and b.limits == settings.limits
    assert a.budget is b.budget is m.budget and a.budget.capacity == 64 * MIB


def test_the_documented_limits_are_the_defaults() -> None:
    root = Path(__file__).resolve().parents[2]
    assert load_settings(root / "config" / "example.yaml").limits == Limits()
    readme = (root / "README.md").read_text()
    block = readme[readme.index("```yaml\nlimits:") + len("```yaml\n"):]
    block = block[:block.index("```")]
    assert parse_settings({"services": SERVICE, **yaml.safe_load(block)}).limits == Limits()


@pytest.mark.parametrize(("limits", "key", "problem"), [
    ({"maxCels": 1}, "limits.maxCels", "unknown key"),
    ({"maxCells": 0}, "limits.maxCells", "at least 1"),
    ({"maxCells": 1.5}, "limits.maxCells", "whole number"),
    ({"maxMemory": "lots"}, "limits.maxMemory", "a size"),
    ({"maxMemory": "1MB"}, "limits.maxMemory", "at least 16MB"),
    ({"maxRuleDepth": 17}, "limits.maxRuleDepth", "at most 16"),
    ({"maxClauseValues": "many"}, "limits.maxClauseValues", "a number"),
    ("no", "limits", "mapping"),
])
def test_bad_limits_name_the_key(limits: Any, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"services": SERVICE, "limits": limits})
    assert info.value.key == key and problem in info.value.problem


# ---------------------------------------------------------------------------------------------------- the budget


def test_the_memory_budget_lets_light_work_share_and_heavy_work_queue() -> None:
    async def scenario() -> list[str]:
        budget = MemoryBudget(100)
        events: list[str] = []

        async def work(name: str, estimate: int) -> None:
            async with budget.hold(estimate):
                events.append(f"{name}+")
                assert budget.held <= budget.capacity
                await asyncio.sleep(0.01)
                events.append(f"{name}-")

        await asyncio.gather(work("a", 60), work("b", 60), work("c", 10), work("huge", 1000))
        assert budget.held == 0
        return events

    events = asyncio.run(scenario())
    # a and c share the budget; b waits for a to finish; the over-sized one holds it all, alone.
    assert events.index("a+") < events.index("c+") < events.index("a-") < events.index("b+")
    assert events.index("huge+") > max(events.index("a-"), events.index("b-"), events.index("c-")) or \
        events.index("huge-") < min(events.index("b+"), events.index("c+"))


# ---------------------------------------------------------------------------------------------- export's clauses


def test_the_where_clauses_of_one_export_are_bounded_together() -> None:
    ctx = replace(map_context(), limits=Limits(max_clause_length=40, max_clause_values=3))
    clause = "category IN ('A', 'B')"  # 22 characters, 2 values
    plan_export(Params({"bbox": "0,0,10,10", "layerDefs": json.dumps({"2": clause})}), ctx)
    dynamic = json.dumps([{"id": 7 + i, "source": {"type": "mapLayer", "mapLayerId": 2},
                           "definitionExpression": clause} for i in range(2)])
    with pytest.raises(InvalidParameter) as info:
        plan_export(Params({"bbox": "0,0,10,10", "dynamicLayers": dynamic}), ctx)
    assert str(info.value).endswith("the length of the where clauses (44 characters) exceeds the limit of 40 "
                                    "characters (limits.maxClauseLength)")
    with pytest.raises(InvalidParameter, match=r"limits\.maxClauseValues"):
        plan_export(Params({"bbox": "0,0,10,10", "layerDefs": json.dumps({"2": "category IN ('A', 'B', 'C', 'D')"})}),
                    ctx)


def test_exports_composed_locally_are_bounded_in_memory() -> None:
    # The fixture's WMS allows 2048x1500 at most: a budget of 64 MiB stands for the default 512 MiB at 4096x4096.
    limits = Limits(max_memory=64 * MIB)
    qgis = replace(map_context("qgis"), limits=limits)
    rotated = {"bbox": "0,0,10,10", "rotation": "30", "format": "png"}
    with pytest.raises(InvalidParameter) as info:
        plan_export(Params({**rotated, "size": "1500,1500"}), qgis)
    assert "exceeds the limit of 64 MiB (limits.maxMemory)" in str(info.value)
    allowed = plan_export(Params({**rotated, "size": "800,800"}), qgis)
    assert 0 < export_plan_bytes(allowed) <= limits.max_memory
    mapserver = replace(map_context(), limits=limits)
    warped = {"bbox": "-1000000,5000000,1000000,7000000", "bboxSR": "3395", "imageSR": "3395", "format": "png"}
    with pytest.raises(InvalidParameter, match=r"limits\.maxMemory"):
        plan_export(Params({**warped, "size": "1500,1500"}), mapserver)
    plan_export(Params({**warped, "size": "800,800"}), mapserver)
    # The backend's bytes passed through cost nothing to compose, whatever their size.
    direct = plan_export(Params({"bbox": "0,0,10,10", "size": "1500,1500", "format": "png"}), mapserver)
    assert direct.passthrough and export_plan_bytes(direct) == 0
