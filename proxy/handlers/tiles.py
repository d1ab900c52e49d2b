"""Tiled MapServer resources: ``…/MapServer/tile/{level}/{row}/{col}`` and ``…/MapServer/tilemap/…``.

A tile is answered from the memory (and Redis) tier, else the persistent store, else drawn with its metatile
(:mod:`proxy.tiles.source`); the answer carries the same validators as a cached export image and its URL joins the
fast path, so a repeated tile is one dictionary lookup.
"""

from __future__ import annotations

from functools import partial

from aiohttp import web

from proxy.answers import answer, cache_control
from proxy.cache import entry_response
from proxy.respond import respond
from proxy.routes import Call, operation
from proxy.services import MapService
from proxy.tiles.seed import METATILE_HEADER
from proxy.tiles.source import TileSource
from translators.arcgis.tiles import parse_block, parse_tile, tilemap
from translators.errors import NotFound
from translators.params import parse_bool

KIND = "MapServer"


def _tiles(service: MapService) -> TileSource:
    if service.tiles is None:
        raise NotFound("This service is not tiled (it has no tiles: configuration); use export.")
    return service.tiles


@operation(KIND, "tile/*/*/*")
async def tile(call: Call[MapService]) -> web.Response:
    """``…/tile/{level}/{row}/{col}``: the tile's image; 404 outside the grid or the data, and for a blank tile when
    ``blankTile=false`` (a blank tile otherwise carries ``blank-tile: true``, as ArcGIS Server sends it)."""
    service = call.service
    source = _tiles(service)
    level, row, col = parse_tile(*call.captured)
    blank_wanted = parse_bool(call.params.get("blankTile") or "true", "blankTile")
    found = await source.tile(service.context, level, row, col)
    settings = service.settings
    if found.blank:
        if not blank_wanted:
            raise NotFound(f"Tile {level}/{row}/{col} is blank.")
        # Not remembered by the fast path: the same tile asked with blankTile=false must still be a 404.
        response = entry_response(found.entry, found.status, cache_control(settings, source.ttl))
        response.headers["blank-tile"] = "true"
    else:
        # A repeated URL is answered by the fast path, from memory, else read from the store there
        # (TileSource.stored).
        response = answer(service.cache, call.url, settings, source.ttl, found.key, found.entry, found.status,
                          load=partial(source.stored, level, row, col))
    if found.drawn is not None:  # the seeder need not ask the metatile's other tiles: they are stored
        response.headers[METATILE_HEADER] = found.drawn
    return response


@operation(KIND, "tilemap/*/*/*/*/*")
async def tile_map(call: Call[MapService]) -> web.Response:
    """``…/tilemap/{level}/{row}/{col}/{width}/{height}``: which tiles of a block exist."""
    service = call.service
    source = _tiles(service)
    level, row, col = parse_tile(*call.captured[:3])
    width, height = (parse_block(text) for text in call.captured[3:])
    ctx = await service.context()
    data = tilemap(source.scheme, level, row, col, width, height, ctx.full_extent)
    return respond(data, call.params, f"{service.settings.name} tilemap", default="json")
