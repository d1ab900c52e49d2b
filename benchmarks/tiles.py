"""The tile rows of the benchmarks (issue 13), beside row 9 (``measure.tile_hits``): hits with two workers, against
MapProxy 7's file cache, from the disk tier, and one cold metatile asked by 100 clients at once.

10. tile hits, 2 workers: ``arcbridge serve --workers 2`` ÷ two bare aiohttp processes sharing the port.
11. tile hits vs MapProxy 7: ``--workers 2`` ÷ MapProxy serving the same tile from its file cache (seeded by a first
    request) under gunicorn with 2 workers.
12. disk-tier hits: a gateway with the memory tier off (``cache: {memory: 0}``) answering a tile from its MBTiles
    store ÷ one bare aiohttp process.
13. cold metatile: 100 concurrent requests for the 16 tiles of one never-drawn metatile → backend GetMaps.
14. seeding: tiles per second of ``arcbridge seed`` ÷ ``mapproxy-seed`` on the same grid, levels, extent, metatile
    size and buffer, and backend (MapServer directly), two rounds alternated.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.mapproxy_server import tiles_config
from benchmarks.measure import (
    PAIRED,
    TILES,
    Env,
    Row,
    _alternate_wrk,
    _cpu_summary,
    _ok,
    _ratio_verdict,
    _rps_summary,
    _warm_all_workers,
    burst,
    get_once,
    paired_ratio,
)
from benchmarks.procs import BenchGateway, Helper, descendants

TILE = (5, 11, 17)  # level, row, col: the tile of row 9
WORKERS = ("--workers", "2")


def _tile_url(base: str, level: int, row: int, col: int) -> str:
    return f"{base}/arcgis/rest/services/{TILES}/MapServer/tile/{level}/{row}/{col}"


def _bare(env: Env, body: bytes, ctype: str, workers: int) -> Helper:
    body_file = env.workdir / f"tile-body-{workers}.bin"
    body_file.write_bytes(body)
    bare = env.helper("benchmarks.bare", ["--body", str(body_file), "--content-type", ctype.split(";")[0],
                                          "--workers", str(workers)])
    deadline = time.monotonic() + 20
    while len(descendants(bare.proc.pid)) < workers - 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # the other processes bind the port after they start
    return bare


def _pair_row(row: Row, env: Env, runs: dict[str, list[dict[str, float]]], reference: str, limit: float,
              misses: int, notes: str) -> Row:
    g, g_text = _rps_summary(runs["arcbridge"])
    r, r_text = _rps_summary(runs["reference"])
    ratio = paired_ratio(runs["arcbridge"], runs["reference"])
    row.arcbridge, row.reference, row.ratio = f"{g:.0f} req/s", f"{r:.0f} req/s ({reference})", ratio
    row.verdict = _ratio_verdict(ratio, limit, True) if misses == 0 else "FAIL"
    row.notes = (f"{notes}; wrk -t2 -c16 -d{env.sizes.wrk_seconds:g}s x{env.sizes.wrk_rounds} alternated, {PAIRED}, "
                 f"ratio of the medians {g / r:.2f}; "
                 f"runs {g_text} vs {r_text}; server CPU {_cpu_summary(runs['arcbridge'])} vs "
                 f"{_cpu_summary(runs['reference'])}; backend GetMaps during the runs: {misses}")
    row.details = runs
    return row


def two_workers(env: Env) -> list[Row]:
    """Rows 10 and 11: tile hits of ``--workers 2`` ÷ two bare aiohttp processes, and ÷ MapProxy's file cache."""
    gateway = env.gateway("tiles2", recorded=True, extra_args=WORKERS)
    url = _tile_url(gateway.url, *TILE)
    status, ctype, body = get_once(url)
    _ok(status, ctype, body, "tile")
    _warm_all_workers(url, 16)
    bare = _bare(env, body, ctype, 2)
    level, row_, col = TILE
    mapproxy = env.helper("benchmarks.mapproxy_server", ["--upstream", env.backend_url, "--run-dir",
                                                         str(env.workdir / "mapproxy-tiles"), "--tiles"],
                          ready_path="/wmts/1.0.0/WMTSCapabilities.xml")
    mp_url = f"{mapproxy.url}/wmts/world/GLOBAL_WEBMERCATOR/{level}/{col}/{row_}.png"
    for _ in range(4):  # the first request draws and stores the tile (its metatile); the others are file-cache hits
        _ok(*get_once(mp_url), what="MapProxy tile")
    mp_pids = [mapproxy.proc.pid, *descendants(mapproxy.proc.pid)]
    gw_side = (url, gateway.pids())
    before = env.getmap_count()
    runs = _alternate_wrk(env, {"arcbridge": gw_side, "reference": (bare.url + "/tile", [bare.proc.pid,
                                                                                         *descendants(bare.proc.pid)])})
    mp_runs = _alternate_wrk(env, {"arcbridge": gw_side, "reference": (mp_url, mp_pids)})
    misses = env.getmap_count() - before
    bare.stop()
    mapproxy.stop()
    env.stop_gateway("tiles2")
    where = f"…/tile/{level}/{row_}/{col}, {len(body)} B PNG"
    return [
        _pair_row(Row(10, "tile hits, 2 workers", target="≥ 0.8"), env, runs, "bare aiohttp, 2 processes", 0.8,
                  misses, f"{where}; both sides 2 processes sharing the port"),
        _pair_row(Row(11, "tile hits vs MapProxy 7 file cache", target="≥ 5"), env, mp_runs,
                  "MapProxy 7, gunicorn 2 workers", 5.0, misses,
                  f"{where}; MapProxy's WMTS RESTful tile of the same grid cell from its file cache "
                  "(GLOBAL_WEBMERCATOR, 4x4 metatiles, seeded by a first request), gunicorn 2 sync workers"),
    ]


def disk_tier(env: Env) -> list[Row]:
    """Row 12: tile hits from the MBTiles store with the memory tier off ÷ one bare aiohttp process."""
    row = Row(12, "tile hits from the disk tier (memory off)", target="≥ 0.5")
    config: dict[str, Any] = env.config(env.recorder.url + "/ows", True)
    config["cache"]["memory"] = 0
    config["services"][TILES]["tiles"]["store"] = {"path": str(env.workdir / "tilestore")}
    gateway = BenchGateway(config, env.workdir / "gateway-disk")
    gateway.start()
    try:
        url = _tile_url(gateway.url, *TILE)
        status, ctype, body = get_once(url)
        _ok(status, ctype, body, "tile")
        again = get_once(url)
        bare = _bare(env, body, ctype, 1)
        before = env.getmap_count()
        runs = _alternate_wrk(env, {"arcbridge": (url, gateway.pids()), "reference": (bare.url + "/tile",
                                                                                     [bare.proc.pid])})
        misses = env.getmap_count() - before
        bare.stop()
    finally:
        gateway.stop()
    return [_pair_row(row, env, runs, "bare aiohttp", 0.5, misses,
                      f"…/tile/{'/'.join(map(str, TILE))}, {len(body)} B PNG, memory tier off, every hit read from "
                      f"the MBTiles store (a repeated request answered {again[0]} with the same bytes: "
                      f"{again[2] == body}); 1 process each")]


def cold_metatile(env: Env) -> list[Row]:
    """Row 13: 100 concurrent requests for the 16 tiles of one cold 4x4 metatile → exactly one GetMap."""
    row = Row(13, "cold metatile, 100 concurrent requests for its 16 tiles", target="= 1 backend request")
    gateway = env.gateway("recorded", recorded=True)
    get_once(f"{gateway.url}/arcgis/rest/services/{TILES}/MapServer?f=json")  # the service's capabilities in hand
    counts, problems = [], []
    for trial in range(2):
        level, row0, col0 = 7, 40 + 4 * trial, 64  # metatiles nothing else asks for
        urls = [_tile_url(gateway.url, level, row0 + i // 4, col0 + i % 4) for i in range(16)]
        before = env.getmap_count()
        answers = asyncio.run(burst(urls, 100))
        counts.append(env.getmap_count() - before)
        by_url: dict[str, set[bytes]] = {}
        for url, status, body in answers:
            by_url.setdefault(url, set()).add(body)
            if status != 200:
                problems.append(f"status {status}")
        if any(len(bodies) != 1 for bodies in by_url.values()):
            problems.append("different bytes for one tile")
    row.arcbridge = "/".join(map(str, counts)) + " backend GetMap(s)"
    row.reference = "1"
    row.verdict = "PASS" if all(c == 1 for c in counts) and not problems else "FAIL"
    row.notes = (f"{len(counts)} trials at level 7 (metatiles of rows 40-43 and 44-47, cols 64-67), 100 requests "
                 "released together over new connections, counted by a recording proxy in front of MapServer"
                 + ("; " + "; ".join(sorted(set(problems))) if problems else ""))
    return [row]



SEED_BBOX = (-180.0, -85.0, 180.0, 85.0)
SEED_CONCURRENCY = 2


def _seed_arcbridge(env: Env, levels: int, round_: int) -> tuple[float, int]:
    """Seconds and tiles of ``arcbridge seed --levels 0-N`` into a fresh store, through a fresh gateway."""
    config: dict[str, Any] = env.config(env.backend_url, True)
    config["services"][TILES]["tiles"]["store"] = {"path": str(env.workdir / f"seed-store-{round_}")}
    gateway = BenchGateway(config, env.workdir / f"gateway-seed-{round_}")
    gateway.start()
    try:
        get_once(f"{gateway.url}/arcgis/rest/services/{TILES}/MapServer?f=json")  # as MapProxy reads its config
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "proxy", "seed", "--url", gateway.url, "--service", TILES,
                               "--bbox=" + ",".join(map(str, SEED_BBOX)), "--levels", f"0-{levels}",
                               "--concurrency", str(SEED_CONCURRENCY)], capture_output=True, text=True,
                              timeout=1800, check=True)  # fmt: skip
        seconds = time.monotonic() - started
    finally:
        gateway.stop()
    found = re.search(r"seeded (\d+) of (\d+) tiles", done.stdout)
    if found is None:
        raise RuntimeError(f"unexpected arcbridge seed output: {done.stdout[-500:]} {done.stderr[-500:]}")
    return seconds, int(found.group(1))


def _seed_mapproxy(env: Env, levels: int, round_: int) -> tuple[float, int]:
    """Seconds and tiles of ``mapproxy-seed`` of the same grid, levels, extent and metatiles into a file cache."""
    run = env.workdir / f"mapproxy-seed-{round_}"
    run.mkdir(parents=True, exist_ok=True)
    conf, seed_conf = run / "mapproxy.yaml", run / "seed.yaml"
    conf.write_text(yaml.safe_dump(tiles_config(env.backend_url, run / "cache"), sort_keys=False))
    seed_conf.write_text(yaml.safe_dump({
        "seeds": {"world": {"caches": ["world_cache"], "grids": ["GLOBAL_WEBMERCATOR"], "levels": {"to": levels},
                            "coverages": ["box"]}},
        "coverages": {"box": {"bbox": list(SEED_BBOX), "srs": "EPSG:4326"}}}, sort_keys=False))
    seed = Path(sys.executable).with_name("mapproxy-seed")
    started = time.monotonic()
    subprocess.run([str(seed), "-q", "-q", "-f", str(conf), "-s", str(seed_conf), "-c", str(SEED_CONCURRENCY)],
                   cwd=run, capture_output=True, text=True, timeout=1800, check=True)  # fmt: skip
    seconds = time.monotonic() - started
    return seconds, sum(1 for _ in (run / "cache").rglob("*.png"))


def seeding(env: Env) -> list[Row]:
    """Row 14: tiles per second of ``arcbridge seed`` ÷ ``mapproxy-seed`` (same grid, levels, metatiles, backend)."""
    levels = env.sizes.seed_levels
    row = Row(14, f"seeding, levels 0-{levels} of the world", target="≥ 1")
    ours: list[float] = []
    theirs: list[float] = []
    counts: set[str] = set()
    for round_ in range(2):
        sides = [_seed_arcbridge, _seed_mapproxy] if round_ % 2 == 0 else [_seed_mapproxy, _seed_arcbridge]
        for side in sides:
            seconds, tiles = side(env, levels, round_)
            (ours if side is _seed_arcbridge else theirs).append(tiles / seconds)
            counts.add(f"{'arcbridge' if side is _seed_arcbridge else 'MapProxy'} {tiles}")
    g, r = statistics.median(ours), statistics.median(theirs)
    row.arcbridge, row.reference, row.ratio = f"{g:.0f} tiles/s", f"{r:.0f} tiles/s (mapproxy-seed)", g / r
    row.verdict = _ratio_verdict(g / r, 1.0, True)
    row.notes = (f"GLOBAL_WEBMERCATOR / Esri Web Mercator levels 0-{levels} over {SEED_BBOX}, 4x4 metatiles with "
                 f"80 px buffer, transparent PNG tiles (both ask MapServer for the same RGBA picture), concurrency "
                 f"{SEED_CONCURRENCY} both, straight to MapServer; arcbridge into its MBTiles store through a gateway "
                 f"(started before the clock, as MapProxy's configuration is read after it), MapProxy into its file "
                 f"cache; tiles: {', '.join(sorted(counts))}; "
                 f"2 rounds alternated, runs {'/'.join(f'{v:.0f}' for v in ours)} vs "
                 f"{'/'.join(f'{v:.0f}' for v in theirs)} tiles/s; times include each tool's process start")
    return [row]
