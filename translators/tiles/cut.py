"""Cutting the tiles of a metatile out of its image and encoding them (pure pixel work, run in the CPU pool)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from PIL import Image

from translators.imaging import encode_picture, open_image
from translators.tiles.grid import MetaTile

# Tile formats of the configuration → the encoder's format name, whether it keeps transparency, and the ArcGIS
# ``tileInfo.format`` that announces it.
TILE_FORMATS: dict[str, tuple[str, bool, str]] = {
    "png": ("png32", True, "PNG32"),
    "png8": ("png8", True, "PNG8"),
    "jpg": ("jpg", False, "JPEG"),
    "jpgpng": ("jpgpng", True, "MIXED"),
}


@dataclass(frozen=True)
class CutTile:
    """One encoded tile of a metatile."""

    row: int
    col: int
    body: bytes
    content_type: str
    blank: bool  # nothing drawn: fully transparent (what ``blankTile=false`` answers 404 for)


def uniform_colour(tile: Image.Image) -> bytes | None:
    """The one colour (RGBA bytes) of a tile whose pixels all have it, else None. Pillow's colour count, in C, stops
    at the second colour: microseconds for a drawn tile (its extrema took 0.25 ms, a sixth of its encoding)."""
    found = tile.getcolors(1)
    return None if found is None else bytes(cast("tuple[int, ...]", found[0][1]))


def open_metatile(meta: MetaTile, image: bytes) -> Image.Image:
    """A metatile's picture, decoded and checked against the size asked. It stays a Pillow image: crops and extrema
    in C, no array copies of the whole metatile."""
    picture = open_image(image)
    if (picture.height, picture.width) != (meta.height, meta.width):
        raise ValueError(f"metatile image is {picture.width}x{picture.height}, expected {meta.width}x{meta.height}")
    return picture


def cut_tiles(meta: MetaTile, picture: Image.Image, which: Sequence[tuple[int, int]], tile_size: int,
              tile_format: str, quality: int = 90) -> list[CutTile]:
    """Encode the tiles ``which`` (row, col) of a metatile's picture; several shares of one picture may be cut at
    once in different threads (Pillow encodes without the GIL, and reading the picture does not change it).  A
    single-colour tile is encoded from its colour alone, so every blank (or uniform) tile has the same bytes and is
    stored once."""
    encoder, transparent, _ = TILE_FORMATS[tile_format]
    uniform: dict[bytes, tuple[bytes, str]] = {}
    tiles = []
    for row, col in which:
        x, y = meta.tile_window(row, col, tile_size)
        tile = picture.crop((x, y, x + tile_size, y + tile_size))
        colour = uniform_colour(tile)
        if colour is not None:
            if colour not in uniform:
                uniform[colour] = encode_picture(tile, encoder, transparent, quality=quality, fast_png=True)
            body, content_type = uniform[colour]
        else:
            body, content_type = encode_picture(tile, encoder, transparent, quality=quality, fast_png=True)
        # nothing drawn: every pixel fully transparent (Pillow's box of the pixels with alpha is then None)
        blank = transparent and (colour[3] == 0 if colour is not None else tile.getbbox(alpha_only=True) is None)
        tiles.append(CutTile(row, col, body, content_type, blank))
    return tiles
