"""Tile grids and metatiles: pure arithmetic of a tiled map service (:mod:`translators.tiles.grid`) and the pixel
work of cutting tiles from a metatile (:mod:`translators.tiles.cut`)."""
