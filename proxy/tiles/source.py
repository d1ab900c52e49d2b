"""Tiles of a tiled MapServer: from the memory (and Redis) tier, else the persistent store, else drawn by a metatile.

A missing tile is drawn with the rest of its metatile: one GetMap of ``metaSize`` x ``metaSize`` tiles plus
``metaBuffer`` pixels around them, at the level's exact resolution and the export's DPI, planned by the export
planner (so the same GetMap builder and flavour table) and fetched through the backend's cache.  Concurrent
requests for tiles of one metatile wait for one drawing in this process (a future per metatile); other processes
wait for the GetMap through the shared tier's lock, as for images.  The cut tiles go to every tier at once.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from proxy.backends.wms import WmsBackend
from proxy.cache import Cache, Entry, cache_key, etag_of
from proxy.executor import POOL_THREADS, RunCpu
from proxy.settings import TileSettings
from proxy.tiles.store import NewTile, StoreBusy, TileStore, store_file
from proxy.tiles.wmts import WmtsTiles
from translators.arcgis.export import assemble_export, plan_export
from translators.arcgis.map_context import ServiceContext
from translators.arcgis.tiles import TileScheme, check_tile
from translators.crs import resolve_sr
from translators.imaging import encode_image
from translators.params import Params, format_number
from translators.tiles.cut import TILE_FORMATS, CutTile, cut_tiles, open_metatile
from translators.tiles.grid import MetaTile, metatile, metatile_key

log = logging.getLogger("proxy.tiles")
Context = Callable[[], Awaitable[ServiceContext]]
CUT_SHARES = POOL_THREADS  # a metatile's tiles are encoded in this many parts at once, one per pool thread


@dataclass(frozen=True)
class Tile:
    """A tile answer: its cache entry, where it came from (hit, store, miss, coalesced) and whether it is blank."""

    entry: Entry
    status: str
    blank: bool
    key: str
    drawn: str | None = None  # the metatile that drew it just now, "row/col/rows/cols" (its tiles are all stored)


def content_type_of(body: bytes) -> str:
    """The MIME type of a tile's bytes (``jpgpng`` tiles are either)."""
    return "image/jpeg" if body[:3] == b"\xff\xd8\xff" else "image/png"


def blank_tile(scheme: TileScheme) -> bytes:
    """The bytes of a tile that draws nothing, in the scheme's format (every blank tile has these bytes); none for
    an opaque format, whose tiles are never blank."""
    encoder, transparent, _ = TILE_FORMATS[scheme.format]
    if not transparent:
        return b""
    size = scheme.grid.tile_size
    return encode_image(np.zeros((size, size, 4), dtype=np.uint8), encoder, transparent, quality=scheme.quality)[0]


class TileSource:
    """The tiles of one service."""

    def __init__(self, name: str, settings: TileSettings, backend: WmsBackend, cache: Cache, ttl: float,
                 run_cpu: RunCpu) -> None:
        self.name = name
        self.namespace = name.lower()
        self.settings = settings
        self.scheme = settings.scheme
        self.backend = backend
        self.cache = cache
        self.ttl = ttl
        self._run_cpu = run_cpu
        self._inflight: dict[str, asyncio.Future[dict[tuple[int, int], Tile]]] = {}
        self._store: TileStore | None = None
        self._store_opened = False
        self._store_lock = asyncio.Lock()  # the first requests after start open the store once
        self.blank = blank_tile(self.scheme)
        # A backend WMTS whose matrix set matches the grid serves its levels; the others are drawn from the WMS.
        self.wmts = WmtsTiles(settings.wmts, backend.settings, self.scheme.grid,
                              resolve_sr(self.scheme.grid.wkid, "spatialReference"), self.scheme.format, cache,
                              self.namespace, run_cpu) if settings.wmts else None

    def key(self, level: int, row: int, col: int) -> str:
        """The cache key of a tile (the grid and format are part of it: a changed configuration starts afresh)."""
        grid = self.scheme.grid
        return cache_key(self.namespace, "tile", self.backend.identity, {
            "L": str(level), "R": str(row), "C": str(col), "FORMAT": self.scheme.format, "SR": str(grid.wkid),
            "ORIGIN": ",".join(format_number(v) for v in grid.origin), "SIZE": str(grid.tile_size),
            "RES": format_number(grid.resolutions[level])})

    async def store(self) -> TileStore | None:
        """The persistent store, opened on first use (None when the service has none)."""
        if self._store_opened or not self.settings.store_path:
            return self._store
        async with self._store_lock:
            if self._store_opened:
                return self._store
            grid = self.scheme.grid

            def flip(level: int, row: int) -> int:  # MBTiles rows count from the south where the matrix is fixed
                return grid.matrix_size(level, grid.bounds)[0] - 1 - row if grid.bounds else row

            path = store_file(self.settings.store_path, self.namespace)
            metadata = {"name": self.name, "format": "jpg" if self.scheme.format == "jpg" else "png",
                        "type": "baselayer", "version": "1.1",
                        "minzoom": str(self.scheme.min_level), "maxzoom": str(self.scheme.max_level)}
            try:
                self._store = await self._run_cpu(TileStore, path, self.settings.store_max_bytes, flip, metadata)
            except (OSError, sqlite3.Error) as exc:
                # Checked at start (load_settings); should it fail after all (a disk gone read-only), tiles are
                # still drawn and cached in memory: a store is a cache, not a reason to refuse a map.
                log.warning("tile store %s of %s cannot be opened, serving without it: %s", path, self.name, exc)
                self._store = None
            self._store_opened = True
        return self._store

    def _entry(self, body: bytes, created: float) -> Entry:
        # The ETag hashes the bytes: the same tile has the same tag in every process and after a restart.
        return Entry(body, content_type_of(body), created, time.time() + self.ttl, etag_of(body))

    async def tile(self, context: Context, level: int, row: int, col: int) -> Tile:
        """One tile (404 outside the grid or the data), from the first tier that has it, else drawn. A stored tile
        is answered before the service context is needed: after a restart, hits cost no backend request."""
        if not self.scheme.min_level <= level <= self.scheme.max_level or min(row, col) < 0:
            check_tile(self.scheme, level, row, col, (0.0, 0.0, 0.0, 0.0))  # raises the 404 naming what is wrong
        key = self.key(level, row, col)
        entry = await self.cache.get(key)
        if entry is not None and entry.fresh:
            self.cache.stats.count(self.namespace, "hits")
            return Tile(entry, "hit", entry.body == self.blank, key)
        store = await self.store()
        if store is not None:
            try:
                stored = store.read(level, row, col)  # on the loop: cheaper than a thread hop (TileStore.read)
            except StoreBusy:
                stored = await self._run_cpu(store.get, level, row, col)
            if stored is not None:
                entry = self._entry(stored.body, stored.created)
                if self.ttl > 0:
                    await self.cache.put(key, entry)
                self.cache.stats.count(self.namespace, "hits")
                return Tile(entry, "hit-store", stored.blank, key)
        ctx = await context()
        check_tile(self.scheme, level, row, col, ctx.full_extent)
        if self.wmts is not None and (passed := await self._passed_through(key, level, row, col)) is not None:
            return passed
        meta = self.metatile(ctx, level, row, col)
        name = metatile_key(meta)
        pending = self._inflight.get(name)
        if pending is not None:
            self.cache.stats.count(self.namespace, "coalesced")
            tiles = await asyncio.shield(pending)
            found = tiles[(row, col)]
            return Tile(found.entry, "coalesced", found.blank, found.key, found.drawn)
        future: asyncio.Future[dict[tuple[int, int], Tile]] = asyncio.get_running_loop().create_future()
        self._inflight[name] = future
        try:
            tiles = await self.draw(ctx, meta)
            future.set_result(tiles)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # consumed here: waiters re-raise it themselves
            raise
        finally:
            del self._inflight[name]
        return tiles[(row, col)]

    def stored(self, level: int, row: int, col: int) -> Entry | None:
        """The fast path's reader of a repeated tile URL that memory has not got (the memory tier off, or the entry
        evicted): the stored tile read on the loop; None when it is not stored, blank (the handler decides what a
        blank tile answers) or the store is busy — the full path answers then."""
        store = self._store
        if store is None:
            return None
        try:
            found = store.read(level, row, col)
        except StoreBusy:
            return None
        if found is None or found.blank:
            return None
        return self._entry(found.body, found.created)

    async def _passed_through(self, key: str, level: int, row: int, col: int) -> Tile | None:
        """The backend WMTS's own tile (one GetTile however many ask, through the cache), stored as it came; None
        when no matrix of the WMTS serves the level."""
        assert self.wmts is not None
        wmts = self.wmts
        if (plan := await wmts.plan()) is None or level not in plan.levels:
            return None

        async def produce() -> tuple[bytes, str]:
            got = await wmts.tile(level, row, col)
            assert got is not None
            return got

        entry, status = await self.cache.fetch(key, self.namespace, self.ttl, produce)
        if status == "miss":  # the tag of a tile hashes its bytes, as for drawn tiles: the same in every tier
            entry = self._entry(entry.body, entry.created)
            await self.cache.put(key, entry)
            store = await self.store()
            if store is not None:
                await self._run_cpu(store.put, [NewTile(level, row, col, entry.body, False)])
        return Tile(entry, status, False, key)

    def metatile(self, ctx: ServiceContext, level: int, row: int, col: int) -> MetaTile:
        """The metatile of a tile, made smaller where the backend's largest image could not hold it."""
        scheme, size = self.scheme, self.scheme.grid.tile_size
        largest = min(ctx.max_width, ctx.max_height)
        meta_size = max(1, min(scheme.meta_size, (largest - 2 * scheme.meta_buffer) // size))
        buffer = scheme.meta_buffer if meta_size * size + 2 * scheme.meta_buffer <= largest else 0
        matrix = scheme.grid.matrix_size(level, ctx.full_extent)
        return metatile(scheme.grid, level, row, col, meta_size, buffer, matrix)

    async def draw(self, ctx: ServiceContext, meta: MetaTile) -> dict[tuple[int, int], Tile]:
        """Draw a metatile with one GetMap, cut its tiles and put them in every tier."""
        self.cache.stats.count(self.namespace, "misses")
        image = await self._render(ctx, meta)
        cut = await self._cut(meta, image)
        now = time.time()
        drawn = f"{meta.row0}/{meta.col0}/{meta.rows}/{meta.cols}"
        tiles: dict[tuple[int, int], Tile] = {}
        for piece in cut:
            body = self.blank if piece.blank else piece.body  # every blank tile is the one blank image
            key = self.key(meta.level, piece.row, piece.col)
            entry = self._entry(body, now)
            tiles[(piece.row, piece.col)] = Tile(entry, "miss", piece.blank, key, drawn)
            if self.ttl > 0:  # a service that is not cached (ttl 0) keeps only its store
                await self.cache.put(key, entry)
        store = await self.store()
        if store is not None:
            await self._run_cpu(store.put, [NewTile(meta.level, r, c, t.entry.body, t.blank)
                                            for (r, c), t in tiles.items()])
        return tiles

    async def _cut(self, meta: MetaTile, image: bytes) -> list[CutTile]:
        """The tiles of a metatile's picture, encoded in :data:`CUT_SHARES` shares at once: a metatile is ready when
        its slowest tile is, so its tiles are spread over the CPU pool's threads (one per core) instead of waiting
        for one thread to encode all sixteen."""
        picture = await self._run_cpu(open_metatile, meta, image)
        which = meta.tiles()
        shares = [which[i::CUT_SHARES] for i in range(min(CUT_SHARES, len(which)))]
        size, fmt, quality = self.scheme.grid.tile_size, self.scheme.format, self.scheme.quality
        cut = await asyncio.gather(*(self._run_cpu(cut_tiles, meta, picture, share, size, fmt, quality)
                                     for share in shares))
        return [tile for share in cut for tile in share]

    async def _render(self, ctx: ServiceContext, meta: MetaTile) -> bytes:
        """The metatile's picture: planned as an export of its box at the level's resolution (DPI as export sends
        it), so the GetMap is built by the same builder, for the same flavour, and cached like any other."""
        wkid = str(self.scheme.grid.wkid)
        params = Params({"bbox": ",".join(format_number(v) for v in meta.bbox), "bboxSR": wkid, "imageSR": wkid,
                         "size": f"{meta.width},{meta.height}", "dpi": "96", "format": "png32",
                         "transparent": "true", "f": "image"})
        plan = plan_export(params, ctx)
        if plan.passthrough:
            body, _ = await self.backend.get_map(plan.fetches[0])
            return body
        bodies = [body for body, _ in await asyncio.gather(*(self.backend.get_map(q) for q in plan.fetches))]
        image, _ = await self._run_cpu(assemble_export, plan, bodies)
        return image

    async def drop_stored(self, level: int, rows: tuple[int, int] | None = None,
                          cols: tuple[int, int] | None = None) -> int:
        """Drop stored tiles of a level (within inclusive row and column ranges); how many were dropped."""
        store = await self.store()
        return 0 if store is None else await self._run_cpu(store.drop, level, rows, cols)

    async def close(self) -> None:
        """Close the store (and the WMTS's connections)."""
        if self.wmts is not None:
            await self.wmts.close()
        if self._store is not None:
            await self._run_cpu(self._store.close)
            self._store = None
            self._store_opened = False
