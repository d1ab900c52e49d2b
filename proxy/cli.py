"""The ``arcbridge`` command.

    arcbridge serve --config FILE [--host H] [--port P] [--workers N] [--access-log off|common|json]
    arcbridge init --backend URL [--flavor F] [--name folder/Name] [--output FILE] [--wfs URL]
    arcbridge check-config --config FILE [--probe]
    arcbridge seed  --url http://gateway:8080 --service demo/World --bbox xmin,ymin,xmax,ymax --sizes 256,512 …
    arcbridge seed  --url … --service demo/Tiled --bbox … --levels 0-8 [--rate 50] [--state FILE]   (tiles)
    arcbridge purge --url http://gateway:8080 --service demo/World [--token T]   (or --config FILE: shared tier)
    arcbridge purge --url … --service demo/Tiled --levels 10-18 [--bbox …]   (stored tiles)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from proxy.logs import ACCESS_LOG_FORMATS, LOG_FORMATS, setup_logging
from proxy.tiles.seed import parse_levels, seed_tiles
from proxy.tools import parse_bbox_arg, parse_sizes, purge_remote, seed
from translators.errors import InvalidParameter
from translators.ogc.flavors import FLAVORS

if TYPE_CHECKING:
    from proxy.settings import Settings

# The commands that need the gateway (serve, init, check-config, purge --config) import it in their functions: the
# seeders, run as often as a cron job and timed against mapproxy-seed, start without the application (~0.6 s less).

log = logging.getLogger("arcbridge")


def _serve_one(config: str, host: str, port: int, level: str, reuse_port: bool,
               logs: tuple[str, str] = ("off", "text")) -> None:
    from proxy import heap, serving

    heap.limit_arenas()
    setup_logging(level, logs[1])
    try:
        sock = serving.listen(host, port, reuse_port)
    except serving.ListenError as exc:
        print(f"arcbridge: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    loop = _new_loop()
    shown = f"[{host}]" if ":" in host else host
    try:  # SIGINT and SIGTERM stop it (in-flight requests finish), SIGHUP reloads the configuration
        loop.run_until_complete(serving.serve(config, sock, logs[0], f"http://{shown}:{sock.getsockname()[1]}"))
    finally:
        loop.close()


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (it roughly halves the per-request cost of the HTTP stack), else asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _serve_workers(args: argparse.Namespace, settings: Settings, host: str, port: int) -> int:
    from proxy.ops.metrics import multiprocess_dir, remove_multiprocess_dir
    from proxy.settings import ConfigError, load_settings

    if settings.cache.redis_url is None:
        log.warning("%d workers without a shared cache (cache.redis): each keeps its own in-process cache",
                    args.workers)
    metrics_dir = multiprocess_dir()  # before the workers start: they sum their Prometheus values there
    context = multiprocessing.get_context("spawn")
    logs = (args.access_log, args.log_format)
    workers = [context.Process(target=_serve_one, args=(args.config, host, port, args.log_level.upper(), True, logs),
                               name=f"arcbridge-worker-{i}") for i in range(args.workers)]
    for worker in workers:
        worker.start()
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for worker in workers:
            if worker.is_alive() and worker.pid is not None:
                os.kill(worker.pid, signal.SIGTERM)

    def reload(signum: int, frame: Any) -> None:
        try:  # checked here too, to log once why a bad configuration is refused (each worker also refuses it)
            load_settings(args.config)
        except ConfigError as exc:
            log.error("reload refused, the running configuration keeps serving: %s", exc)
            return
        for worker in workers:
            if worker.is_alive() and worker.pid is not None:
                os.kill(worker.pid, signal.SIGHUP)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)
    # A worker that dies on its own takes the others down: a half-working pool is worse than a clear failure.
    while any(w.is_alive() for w in workers):
        for worker in workers:
            worker.join(0.2)
            if not stopping and worker.exitcode not in (None, 0):
                log.error("worker %s exited with %s; stopping", worker.name, worker.exitcode)
                stop(signal.SIGTERM, None)
    remove_multiprocess_dir(metrics_dir)
    return 0 if all(w.exitcode == 0 for w in workers) else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script and of ``python -m proxy``."""
    parser = argparse.ArgumentParser(prog="arcbridge", description="ArcGIS REST gateway over OGC backends")
    parser.add_argument("--version", action="version", version=f"arcbridge {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    _ops_parsers(sub)
    serve = sub.add_parser("serve", help="serve the configured services until SIGINT/SIGTERM")
    serve.add_argument("--config", required=True, help="YAML configuration file")
    serve.add_argument("--host", help="address to listen on (default: server.host or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: server.port or 8080)")
    serve.add_argument("--workers", type=int, default=1, help="processes sharing the port (default 1)")
    serve.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    _serve_options(serve)
    seed = sub.add_parser("seed", help="warm a service's cache through a running gateway")
    seed.add_argument("--url", required=True, help="base URL of a running gateway, e.g. http://127.0.0.1:8080")
    seed.add_argument("--service", required=True, help="service name, e.g. demo/World")
    seed.add_argument("--type", default="MapServer", choices=["MapServer", "ImageServer"])
    seed.add_argument("--bbox", required=True, help="xmin,ymin,xmax,ymax of the extent to warm")
    seed.add_argument("--bboxSR", default="4326", help="spatial reference of --bbox and of the images (wkid)")
    seed.add_argument("--sizes", default="256", help="image sizes: 256,512 or 800x600 (default 256)")
    seed.add_argument("--scales", default="", help="scales (1:x) to cover the extent at, e.g. 5e6,1e6")
    seed.add_argument("--format", help="image format (default: the service's)")
    seed.add_argument("--param", action="append", default=[], help="extra export parameter k=v (repeatable)")
    seed.add_argument("--concurrency", type=int, default=4, help="parallel requests (default 4)")
    seed.add_argument("--levels", help="tiled MapServer: seed the tiles of these levels, e.g. 0-8 (over --bbox)")
    seed.add_argument("--rate", type=float, default=0.0, help="tiles: at most this many tiles per second (0: no bound)")
    seed.add_argument("--state", help="tiles: progress file; a later run with the same plan resumes after it")
    purge = sub.add_parser("purge", help="drop a service's cached entries")
    purge.add_argument("--service", required=True)
    where = purge.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running gateway (its admin endpoint must be enabled)")
    where.add_argument("--config", help="a configuration whose shared tier (cache.redis) to purge directly")
    purge.add_argument("--token", help="the admin token")
    purge.add_argument("--levels", help="tiled MapServer: drop the stored tiles of these levels, e.g. 10-18")
    purge.add_argument("--bbox", help="with --levels: only the tiles over xmin,ymin,xmax,ymax")
    purge.add_argument("--bboxSR", default="4326", help="spatial reference of --bbox (default 4326)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command in ("init", "check-config"):
        return _init(args) if args.command == "init" else _check_config(args)
    logging.basicConfig(level="WARNING", format="%(levelname)s %(message)s")
    try:
        return _seed(args) if args.command == "seed" else _purge(args)
    except (RuntimeError, OSError) as exc:
        print(f"arcbridge: {exc}", file=sys.stderr)
        return 1


def _purge(args: argparse.Namespace) -> int:
    from proxy.settings import ConfigError
    from proxy.tools import purge_shared

    if args.levels and not args.url:
        raise RuntimeError("--levels purges the tile store of a running gateway: give --url")
    if args.url:
        tiles = {k: v for k, v in (("levels", args.levels), ("bbox", args.bbox), ("bboxSR", args.bboxSR))
                 if v and args.levels}
        dropped = asyncio.run(purge_remote(args.url, args.service, args.token, tiles))
    else:
        try:
            dropped = asyncio.run(purge_shared(args.config, args.service))
        except ConfigError as exc:
            print(f"arcbridge: {exc}", file=sys.stderr)
            return 1
    print(f"dropped {dropped} cached entries of {args.service}")
    return 0


def _seed_tiles(args: argparse.Namespace) -> int:
    try:
        levels = parse_levels(args.levels)
        bbox = parse_bbox_arg(args.bbox)
        asked, failed, skipped = asyncio.run(seed_tiles(args.url, args.service, levels, bbox, args.bboxSR,
                                                        args.concurrency, args.rate,
                                                        Path(args.state) if args.state else None))
    except (InvalidParameter, ValueError, RuntimeError, aiohttp.ClientError) as exc:
        print(f"arcbridge: {exc}", file=sys.stderr)
        return 2
    print(f"seeded {asked - failed} of {asked} tiles of {args.service}" + (f", {failed} failed" if failed else "")
          + (f" ({skipped} done by an earlier run)" if skipped else ""))
    return 0 if failed == 0 else 1


def _seed(args: argparse.Namespace) -> int:
    if args.levels:
        return _seed_tiles(args)
    try:
        bbox = parse_bbox_arg(args.bbox)
        sizes = parse_sizes(args.sizes)
        scales = [float(v) for v in args.scales.split(",") if v.strip()]
        extra: list[tuple[str, str]] = []
        for pair in args.param:
            name, sep, value = pair.partition("=")
            if not sep:
                raise InvalidParameter("param", f"expected k=v, got {pair!r}")
            extra.append((name, value))
    except (InvalidParameter, ValueError) as exc:
        print(f"arcbridge: {exc}", file=sys.stderr)
        return 2
    done, failed = asyncio.run(seed(args.url, args.service, args.type, bbox, args.bboxSR, sizes, scales, args.format,
                                    extra, args.concurrency))
    print(f"seeded {done - failed} of {done} images of {args.service}" + (f", {failed} failed" if failed else ""))
    return 0 if failed == 0 else 1


def _serve(args: argparse.Namespace) -> int:
    from proxy import serving
    from proxy.ops import probe as ops
    from proxy.settings import ConfigError, load_settings

    setup_logging(args.log_level.upper(), args.log_format)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        for error in exc.problems:
            print(f"arcbridge: configuration error in {args.config}: {error}", file=sys.stderr)
        return 2
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    if args.workers < 1:
        print("arcbridge: --workers must be at least 1", file=sys.stderr)
        return 2
    try:  # before the backends are probed, and once here rather than once per worker
        serving.listen(host, port, args.workers > 1).close()
    except serving.ListenError as exc:
        print(f"arcbridge: {exc}", file=sys.stderr)
        return 2
    offered = asyncio.run(ops.offers(settings)) if args.probe else None
    for line in ops.summary(settings, offered):
        log.info("%s", line)
    for problem in ops.problems(settings, offered) if offered else []:  # served anyway: it may come up later
        log.warning("backend check: %s", problem)
    if args.workers > 1:
        return _serve_workers(args, settings, host, port)
    _serve_one(args.config, host, port, args.log_level.upper(), False, (args.access_log, args.log_format))
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("arcbridge")
    except PackageNotFoundError:
        return "unknown"


def _serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--no-probe", dest="probe", action="store_false",
                       help="do not ask the backends at start for the layers and coverages configured")
    serve.add_argument("--log-format", default="text", choices=LOG_FORMATS, help="text lines or JSON objects")
    serve.add_argument("--access-log", default="off", choices=ACCESS_LOG_FORMATS,
                       help="one line per request: method, path, status, bytes, duration, cache (default off)")


def _ops_parsers(sub: Any) -> None:
    init = sub.add_parser("init", help="write a starting configuration from a backend's capabilities")
    init.add_argument("--backend", required=True, help="the OGC server's URL, e.g. http://host/cgi-bin/mapserv?map=…")
    init.add_argument("--flavor", choices=sorted(FLAVORS), help="the kind of server (default: guessed)")
    init.add_argument("--name", default="Map", help="the MapServer service's name, 'Name' or 'folder/Name'")
    init.add_argument("--output", help="write to this file (default: standard output)")
    init.add_argument("--wfs", help="the server's WFS when not at --backend (default: asked at --backend)")
    check = sub.add_parser("check-config", help="check a configuration: every problem, each naming its key")
    check.add_argument("--config", required=True, help="YAML configuration file")
    check.add_argument("--probe", action="store_true", help="also ask each backend for the layers/coverages named")


def _init(args: argparse.Namespace) -> int:
    from proxy.ops import probe as ops
    from proxy.settings import ConfigError, parse_settings

    logging.basicConfig(level="ERROR", format="%(levelname)s %(message)s")
    try:
        parse_settings({"services": {args.name: {"type": "MapServer", "backend": {
            "url": args.backend, **({"wfs": args.wfs} if args.wfs else {})}}}})
    except ConfigError as exc:
        print(f"arcbridge: {exc.problem} (--name / --backend / --wfs)", file=sys.stderr)
        return 2
    offer = asyncio.run(ops.discover(args.backend, args.flavor, args.wfs))
    if offer.wms is None and not offer.coverages:
        print(f"arcbridge: {args.backend} offers neither WMS nor WCS: "
              f"{'; '.join(offer.problems.values())}", file=sys.stderr)
        return 2
    text = ops.render_config(offer, args.name)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _check_config(args: argparse.Namespace) -> int:
    from proxy.ops import probe as ops
    from proxy.settings import ConfigError, load_settings

    logging.basicConfig(level="ERROR", format="%(levelname)s %(message)s")
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        for error in exc.problems:
            print(f"{args.config}: {error}")
        return 2
    problems = asyncio.run(ops.probe(settings)) if args.probe else []
    for problem in problems:
        print(f"{args.config}: {problem}")
    if not problems:
        print(f"{args.config}: {len(settings.services)} services, no problems found"
              + ("" if args.probe else " (backends not contacted: --probe)"))
    return 2 if problems else 0
