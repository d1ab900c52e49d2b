"""Dropping tiles of a tiled service by level and extent (the admin purge endpoint's ``levels``/``bbox``)."""

from __future__ import annotations

from proxy.cache import PREFIX, Cache
from proxy.tiles.source import TileSource
from translators.crs import resolve_sr, transform_bbox
from translators.params import Params, parse_numbers


async def purge_tiles(source: TileSource, cache: Cache, levels: tuple[int, int], params: Params) -> int:
    """Drop the stored tiles of ``levels`` (within ``bbox`` in ``bboxSR``, default 4326, when given) and every tile
    of the service from the memory and shared tiers (they refill from the store); the number of stored tiles
    dropped."""
    grid = source.scheme.grid
    text = params.get("bbox")
    extent = None
    if text:
        x0, y0, x1, y1 = parse_numbers(text, "bbox", 4)
        extent = transform_bbox((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)),
                                resolve_sr(params.get("bboxSR") or "4326", "bboxSR"), resolve_sr(grid.wkid, "sr"))
    dropped = 0
    for level in range(levels[0], min(levels[1], len(grid.resolutions) - 1) + 1):
        if extent is None:
            dropped += await source.drop_stored(level)
            continue
        r0, c0, r1, c1 = grid.tiles_in(level, extent)
        if r0 <= r1 and c0 <= c1:
            dropped += await source.drop_stored(level, (r0, r1), (c0, c1))
    prefix = f"{PREFIX}{source.namespace}:tile:"
    cache.memory.drop(prefix)
    if cache.shared is not None:
        await cache.shared.drop(prefix)
    return dropped
