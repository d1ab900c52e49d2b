"""``arcbridge seed --levels a-b``: warm a tiled MapServer's tiles through a running gateway.

The grid is read from the service's own ``tileInfo``; the tiles over the extent (and the service's full extent) are
asked metatile block by block, ``concurrency`` blocks at a time, at most ``rate`` tiles per second when given.  The
first tile of a block makes the gateway draw its metatile with one GetMap and store every tile of it; the answer names
that metatile (:data:`METATILE_HEADER`), so only the block's tiles outside it are asked after it (none, when the
gateway's metatile is the block: one request per metatile).  With ``state``, the number of blocks finished (in
order) is written to that file as the seeding goes, and a later run of the same plan starts after them: a seed that
stopped resumes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from proxy.tools import progress_bar
from translators.crs import SpatialRef, resolve_sr, transform_bbox
from translators.errors import InvalidParameter

BLOCK = 4  # tiles per side of a block asked together (the gateway's default metatile)
MAX_TILES = 5_000_000
EDGE = 1e-6  # tiles: a box edge this close to a tile edge is on it
# The header of a tile drawn just now: "row/col/rows/cols" of its metatile, every tile of which the gateway stored
# with it. A block's first tile tells which others need no request of their own (one request per metatile, not 16).
METATILE_HEADER = "X-Arcbridge-Metatile"
Block = list[tuple[int, int, int]]


def parse_levels(text: str) -> tuple[int, int]:
    """``3-7`` or ``5``."""
    first, _, last = text.partition("-")
    try:
        low, high = int(first), int(last or first)
    except ValueError:
        raise InvalidParameter("levels", f"expected a level range such as 3-7, got {text!r}") from None
    if low < 0 or high < low:
        raise InvalidParameter("levels", f"expected a level range such as 3-7, got {text!r}")
    return low, high


def tile_blocks(tile_info: dict[str, Any], levels: tuple[int, int], bbox: tuple[float, float, float, float]
                ) -> Iterator[Block]:
    """The tiles over ``bbox`` (in the grid's SR) at each level, by blocks of :data:`BLOCK` x :data:`BLOCK`."""
    size = int(tile_info["cols"])
    ox, oy = float(tile_info["origin"]["x"]), float(tile_info["origin"]["y"])
    resolutions = {int(lod["level"]): float(lod["resolution"]) for lod in tile_info["lods"]}
    for level in range(levels[0], levels[1] + 1):
        if level not in resolutions:
            raise InvalidParameter("levels", f"level {level} is not in the service's tileInfo")
        span = size * resolutions[level]
        # A box edge on a tile edge (the world's, after a reprojection's rounding) must not add a row or column
        c0, c1 = max(0, math.floor((bbox[0] - ox) / span + EDGE)), math.ceil((bbox[2] - ox) / span - EDGE) - 1
        r0, r1 = max(0, math.floor((oy - bbox[3]) / span + EDGE)), math.ceil((oy - bbox[1]) / span - EDGE) - 1
        for br in range(r0 - r0 % BLOCK, r1 + 1, BLOCK):
            for bc in range(c0 - c0 % BLOCK, c1 + 1, BLOCK):
                yield [(level, r, c) for r in range(max(br, r0), min(br + BLOCK, r1 + 1))
                       for c in range(max(bc, c0), min(bc + BLOCK, c1 + 1))]


class _Progress:
    """Blocks finished, the count of those finished in order (what a resumed run skips), and the state file."""

    def __init__(self, state: Path | None, plan: str, skip: int) -> None:
        self.state, self.plan, self.in_order = state, plan, skip
        self.finished: set[int] = set()

    def block_done(self, index: int) -> None:
        self.finished.add(index)
        while self.in_order in self.finished:
            self.finished.discard(self.in_order)
            self.in_order += 1
        if self.state is not None:
            self.state.write_text(json.dumps({"plan": self.plan, "blocks": self.in_order}))


def _resume_point(state: Path | None, plan: str) -> int:
    if state is None or not state.exists():
        return 0
    try:
        saved = json.loads(state.read_text())
    except ValueError:
        return 0
    return int(saved.get("blocks", 0)) if saved.get("plan") == plan else 0


def outside_metatile(tiles: Block, header: str | None) -> Block:
    """The ``tiles`` outside the metatile named by a :data:`METATILE_HEADER` (all of them without one, or with one
    that does not parse)."""
    try:
        row0, col0, rows, cols = (int(part) for part in (header or "").split("/"))
    except ValueError:
        return tiles
    return [t for t in tiles if not (row0 <= t[1] < row0 + rows and col0 <= t[2] < col0 + cols)]


def _within_data(extent: tuple[float, float, float, float], info: dict[str, Any], grid_sr: SpatialRef
                 ) -> tuple[float, float, float, float]:
    """The part of ``extent`` over the service's ``fullExtent``: tiles beyond it are answered 404 (no data), so
    asking them would only count tiles that do not exist."""
    full = info.get("fullExtent") or {}
    try:
        box = (float(full["xmin"]), float(full["ymin"]), float(full["xmax"]), float(full["ymax"]))
        sr = full.get("spatialReference") or {}
        box = transform_bbox(box, resolve_sr(sr.get("latestWkid") or sr.get("wkid") or sr["wkt"], "fullExtent"),
                             grid_sr)
    except (KeyError, TypeError, ValueError, InvalidParameter):
        return extent  # no usable fullExtent: the gateway's 404s say where the data ends
    if not (box[0] < box[2] and box[1] < box[3]):
        return extent  # a point's extent says nothing of the tiles its symbols cover
    return max(extent[0], box[0]), max(extent[1], box[1]), min(extent[2], box[2]), min(extent[3], box[3])


async def seed_tiles(base_url: str, service: str, levels: tuple[int, int], bbox: tuple[float, float, float, float],
                     bbox_sr: str, concurrency: int, rate: float = 0.0, state: Path | None = None,
                     out: TextIO = sys.stderr) -> tuple[int, int, int]:
    """Ask every tile of the plan; returns (tiles asked, failed, skipped as already done by an earlier run)."""
    root = f"{base_url.rstrip('/')}/arcgis/rest/services/{service}/MapServer"
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.get(root, params={"f": "json"}) as response:
            info = await response.json(content_type=None)
        if "tileInfo" not in info:
            raise RuntimeError(f"{service} is not a tiled MapServer (its root has no tileInfo)")
        grid_sr = resolve_sr(info["tileInfo"]["spatialReference"].get("latestWkid")
                             or info["tileInfo"]["spatialReference"]["wkid"], "tileInfo")
        extent = _within_data(transform_bbox(bbox, resolve_sr(bbox_sr, "bboxSR"), grid_sr), info, grid_sr)
        blocks = list(tile_blocks(info["tileInfo"], levels, extent))
        total = sum(len(b) for b in blocks)
        if total > MAX_TILES:
            raise InvalidParameter("levels", f"the plan has {total} tiles, more than {MAX_TILES}")
        plan = hashlib.sha256(json.dumps([root, levels, list(extent)]).encode()).hexdigest()[:16]
        skip = _resume_point(state, plan)
        progress = _Progress(state, plan, skip)
        skipped = sum(len(b) for b in blocks[:skip])
        counts = {"done": skipped, "failed": 0}
        started = time.monotonic()
        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(skip, len(blocks)):
            queue.put_nowait(index)

        async def one(level: int, row: int, col: int) -> str | None:
            drawn = None
            try:
                async with session.get(f"{root}/tile/{level}/{row}/{col}") as reply:
                    await reply.read()
                    counts["failed"] += reply.status not in (200, 404)  # 404: no data there, nothing to draw
                    drawn = reply.headers.get(METATILE_HEADER) if reply.status == 200 else None
            except (aiohttp.ClientError, TimeoutError):
                counts["failed"] += 1
            counts["done"] += 1
            return drawn

        async def block(tiles: Block) -> None:
            """The first tile, then those its metatile did not draw (all of them when it was not drawn just now)."""
            rest = outside_metatile(tiles[1:], await one(*tiles[0]))
            counts["done"] += len(tiles) - 1 - len(rest)
            await asyncio.gather(*(one(*tile) for tile in rest))

        async def worker() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                began = time.monotonic()
                await block(blocks[index])
                progress.block_done(index)
                progress_bar(counts["done"], total, counts["failed"], started, out, "tiles")
                if rate > 0:  # at most ``rate`` tiles per second from each worker's share
                    await asyncio.sleep(max(0.0, len(blocks[index]) * concurrency / rate
                                            - (time.monotonic() - began)))

        await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    out.write("\n")
    return counts["done"] - skipped, counts["failed"], skipped
