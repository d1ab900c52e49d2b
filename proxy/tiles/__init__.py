"""Tiled MapServer services: the persistent tile store
(:mod:`proxy.tiles.store`) and the tile source that draws metatiles once however many ask
(:mod:`proxy.tiles.source`)."""
