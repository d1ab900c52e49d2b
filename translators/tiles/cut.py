"""Cutting the tiles of a metatile out of its image and encoding them (pure pixel work, run in the CPU pool)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from translators.imaging import RGBA, decode_image, encode_image
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


def single_colour(pixels: RGBA) -> bool:
    """Whether every pixel of a tile has the same RGBA value."""
    flat = pixels.reshape(-1, 4)
    return bool((flat == flat[0]).all())


def cut_metatile(meta: MetaTile, tile_size: int, image: bytes, tile_format: str,
                 quality: int = 90) -> list[CutTile]:
    """Decode a metatile's image and encode each of its tiles, the buffer dropped. A single-colour tile is encoded
    from its colour alone, so every blank (or uniform) tile has the same bytes and is stored once."""
    pixels = decode_image(image)
    expected = (meta.height, meta.width)
    if pixels.shape[:2] != expected:
        raise ValueError(f"metatile image is {pixels.shape[1]}x{pixels.shape[0]}, expected {meta.width}x{meta.height}")
    encoder, transparent, _ = TILE_FORMATS[tile_format]
    uniform: dict[bytes, tuple[bytes, str]] = {}
    tiles = []
    for row, col in meta.tiles():
        x, y = meta.tile_window(row, col, tile_size)
        tile = np.ascontiguousarray(pixels[y:y + tile_size, x:x + tile_size])
        if single_colour(tile):
            colour = tile[0, 0].tobytes()
            if colour not in uniform:
                uniform[colour] = encode_image(tile, encoder, transparent, quality=quality)
            body, content_type = uniform[colour]
        else:
            body, content_type = encode_image(tile, encoder, transparent, quality=quality)
        blank = transparent and not bool(tile[..., 3].any())
        tiles.append(CutTile(row, col, body, content_type, blank))
    return tiles
