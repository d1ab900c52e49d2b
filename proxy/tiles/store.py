"""The persistent tile store: an MBTiles file (SQLite), deduplicated, bounded in bytes, shared by the workers of one
machine.

The layout is MBTiles' deduplicated one: ``images`` holds each distinct tile once (keyed by a hash of its bytes, so
every blank or single-colour tile of a level is one row), ``map`` says which image each (level, column, row) is, and
the ``tiles`` view joins them as MBTiles readers (GDAL, QGIS) expect. Rows are TMS-numbered (south up) where the grid
has a fixed matrix (the Web Mercator grid), as the MBTiles specification says.  ``map.created`` orders eviction
(oldest first) and ``map.blank`` remembers a tile that draws nothing.

SQLite in WAL mode lets the processes of one machine read while one writes; every call is synchronous and meant
for the CPU pool (:class:`proxy.executor.RunCpu`), except :meth:`TileStore.read`, the hit path's read, made on the
event loop with a connection of its own.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS metadata (name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS images (tile_id TEXT PRIMARY KEY, tile_data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS map (zoom_level INTEGER NOT NULL, tile_column INTEGER NOT NULL, tile_row INTEGER NOT NULL,
    tile_id TEXT NOT NULL, created REAL NOT NULL, blank INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (zoom_level, tile_column, tile_row));
CREATE INDEX IF NOT EXISTS map_created ON map (created);
CREATE INDEX IF NOT EXISTS map_tile_id ON map (tile_id);
CREATE VIEW IF NOT EXISTS tiles AS SELECT map.zoom_level AS zoom_level, map.tile_column AS tile_column,
    map.tile_row AS tile_row, images.tile_data AS tile_data FROM map JOIN images ON images.tile_id = map.tile_id;
"""
READ = ("SELECT images.tile_data, map.created, map.blank FROM map JOIN images ON images.tile_id = map.tile_id "
        "WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?")
EVICT_TO = 0.9  # an eviction brings the store down to this share of its bound, so that it does not run every write


class StoreBusy(Exception):
    """The event loop's read found the database busy (a checkpoint or a recovery): read it in the pool instead."""


@dataclass(frozen=True)
class StoredTile:
    """A tile read from the store."""

    body: bytes
    created: float
    blank: bool


@dataclass(frozen=True)
class NewTile:
    """A tile to store."""

    level: int
    row: int
    col: int
    body: bytes
    blank: bool


def store_file(path: str, name: str) -> Path:
    """The MBTiles file of a ``store.path``: the path itself when it names a ``.mbtiles`` file, else a file named
    after the service in that directory."""
    given = Path(path)
    if given.suffix.lower() == ".mbtiles":
        return given
    return given / (name.replace("/", "_") + ".mbtiles")


def store_problem(path: Path) -> str | None:
    """Why the gateway could not keep a tile store at ``path`` (None: it can): an existing file that is not an
    SQLite database or cannot be written, or no directory there it could create the file in. Nothing is created:
    ``check-config`` reports, ``serve`` creates the store with its first tile."""
    if path.exists():
        if not path.is_file():
            return f"{path} exists and is not a file"
        if not os.access(path, os.R_OK | os.W_OK):
            return f"{path} cannot be read and written by this user"
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                db.execute("PRAGMA schema_version").fetchone()
        except sqlite3.Error as exc:
            return f"{path} is not a tile store ({exc})"
        return None
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{ancestor} is not a directory, so {path} cannot be made"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"{ancestor} is not writable by this user, so {path} cannot be made"
    return None


class TileStore:
    """One MBTiles file. ``flip`` turns an ArcGIS row (south-growing) of a level into the stored row."""

    def __init__(self, path: Path, max_bytes: int, flip: Callable[[int, int], int], metadata: dict[str, str]) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._flip = flip
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")  # readers of other processes never wait for a writer
        self._db.execute("PRAGMA synchronous=NORMAL")  # a cache: losing the last writes on power loss is harmless
        self._db.executescript(SCHEMA)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT OR IGNORE INTO metadata (name, value) VALUES (?, ?)", metadata.items())
            self._db.execute("COMMIT")
        self._bytes = self._measure()
        # The event loop's connection (read): WAL readers never wait for a writer, and it is not behind the lock
        # that a write holds, so a read on the loop never waits for a put; timeout 0: a busy database raises at once.
        self._reader = sqlite3.connect(path, timeout=0, check_same_thread=False, isolation_level=None)

    def _measure(self) -> int:
        row = self._db.execute("SELECT COALESCE(SUM(LENGTH(tile_data)), 0) FROM images").fetchone()
        return int(row[0])

    def get(self, level: int, row: int, col: int) -> StoredTile | None:
        """The stored tile, or None."""
        with self._lock:
            found = self._db.execute(READ, (level, col, self._flip(level, row))).fetchone()
        return None if found is None else StoredTile(bytes(found[0]), float(found[1]), bool(found[2]))

    def read(self, level: int, row: int, col: int) -> StoredTile | None:
        """:meth:`get` on the event loop (only there: the connection is the loop's); raises :class:`StoreBusy` when
        the database cannot be read at once.  One indexed read of a small blob, from SQLite's or the system's page
        cache, costs a few tens of µs: less than handing it to a thread, whose wake-up and GIL hand-over made disk-tier
        hits four times slower than this (benchmark row 12)."""
        try:
            found = self._reader.execute(READ, (level, col, self._flip(level, row))).fetchone()
        except sqlite3.OperationalError as exc:
            raise StoreBusy(str(exc)) from exc
        return None if found is None else StoredTile(bytes(found[0]), float(found[1]), bool(found[2]))

    def put(self, tiles: Sequence[NewTile]) -> None:
        """Store tiles (one transaction); identical images are stored once. Evicts the oldest past the bound."""
        now = time.time()
        images = {hashlib.blake2b(t.body, digest_size=16).hexdigest(): t.body for t in tiles}
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for tile_id, body in images.items():
                    added = self._db.execute("INSERT OR IGNORE INTO images (tile_id, tile_data) VALUES (?, ?)",
                                             (tile_id, body)).rowcount
                    self._bytes += len(body) if added else 0
                self._db.executemany(
                    "INSERT OR REPLACE INTO map (zoom_level, tile_column, tile_row, tile_id, created, blank) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(t.level, t.col, self._flip(t.level, t.row), hashlib.blake2b(t.body, digest_size=16).hexdigest(),
                      now, int(t.blank)) for t in tiles])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            if self._bytes > self.max_bytes:
                self._evict()

    def _evict(self) -> None:
        """Drop the oldest tiles until the images fit in :data:`EVICT_TO` of the bound (the lock is held)."""
        self._bytes = self._measure()  # other processes write too: count afresh before deciding
        while self._bytes > self.max_bytes * EVICT_TO:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM map WHERE rowid IN (SELECT rowid FROM map ORDER BY created LIMIT 256)")
            self._db.execute("DELETE FROM images WHERE tile_id NOT IN (SELECT tile_id FROM map)")
            self._db.execute("COMMIT")
            before, self._bytes = self._bytes, self._measure()
            if self._bytes >= before:
                break

    def drop(self, level: int, rows: tuple[int, int] | None = None, cols: tuple[int, int] | None = None) -> int:
        """Drop the tiles of a level (within inclusive row and column ranges, when given); the number dropped."""
        where, args = "zoom_level = ?", [level]
        if cols is not None:
            where += " AND tile_column BETWEEN ? AND ?"
            args += list(cols)
        if rows is not None:
            stored = sorted((self._flip(level, rows[0]), self._flip(level, rows[1])))
            where += " AND tile_row BETWEEN ? AND ?"
            args += stored
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            count = self._db.execute(f"DELETE FROM map WHERE {where}", args).rowcount
            self._db.execute("DELETE FROM images WHERE tile_id NOT IN (SELECT tile_id FROM map)")
            self._db.execute("COMMIT")
            self._bytes = self._measure()
        return int(count)

    def counts(self) -> tuple[int, int, int]:
        """Tiles, distinct images and their bytes."""
        with self._lock:
            tiles = self._db.execute("SELECT COUNT(*) FROM map").fetchone()[0]
            images = self._db.execute("SELECT COUNT(*) FROM images").fetchone()[0]
            self._bytes = self._measure()
        return int(tiles), int(images), self._bytes

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
            self._reader.close()
