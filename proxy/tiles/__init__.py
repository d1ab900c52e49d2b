"""Tiled MapServer services (``tiles:``).

- :mod:`proxy.tiles.source`: the tiles of one service, from the memory/Redis tier, the store, a backend WMTS, or
  drawn by a metatile once however many ask;
- :mod:`proxy.tiles.store`: the persistent tile store (MBTiles in SQLite, WAL, bounded in bytes);
- :mod:`proxy.tiles.wmts`: tiles passed through from a backend WMTS whose matrix set matches the grid;
- :mod:`proxy.tiles.admin`: dropping tiles by level and extent (the admin purge);
- :mod:`proxy.tiles.seed`: ``arcbridge seed --levels`` through a running gateway.
"""
