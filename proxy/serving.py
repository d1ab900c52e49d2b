"""Serving one process: the listening socket, graceful stop on SIGTERM/SIGINT and reload on SIGHUP.

A reload reads the configuration again; a bad one is refused and logged while the running one keeps serving. A good
one gets an application of its own, started on a duplicate of the same listening socket before the old one stops
accepting; the old application then finishes its in-flight requests (up to ``SHUTDOWN_TIMEOUT``) and is closed. No
connection is refused in between: the socket never stops listening.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import signal
import socket

from aiohttp import web

from proxy.app import CACHE, OUTPUTS, SETTINGS, create_app
from proxy.cache import Cache
from proxy.logs import access_logger
from proxy.ops import probe as ops
from proxy.outputs import OutputStore
from proxy.settings import ConfigError, Settings, load_settings

log = logging.getLogger("arcbridge")
SHUTDOWN_TIMEOUT = 10.0
ACCEPT_GRACE = 1.0  # seconds a replaced application keeps the connections it accepted before it closes idle ones


class ListenError(Exception):
    """The address cannot be listened on (in use, not ours): one line for the user, no traceback."""


def listen(host: str, port: int, reuse_port: bool) -> socket.socket:
    """A listening TCP socket on ``host:port`` (SO_REUSEPORT for ``--workers``, which share it)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        why = "the port is already in use (another process listens on it)" if exc.errno == errno.EADDRINUSE \
            else exc.strerror or str(exc)
        raise ListenError(f"cannot listen on {host}:{port}: {why}") from None
    sock.setblocking(False)
    return sock


async def _start(app: web.Application, sock: socket.socket, access: str) -> web.AppRunner:
    access_log, access_log_class = access_logger(access)
    runner = web.AppRunner(app, handle_signals=False, access_log=access_log, access_log_class=access_log_class,
                           shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    # A duplicate of the listening socket: closing the old site's copy at a reload leaves the socket listening.
    await web.SockSite(runner, sock.dup()).start()
    return runner


def _changed(old: Settings, new: Settings) -> list[str]:
    """The services (cache namespaces) whose settings differ between two configurations, or that are gone."""
    return [service.name.lower() for key, service in old.services.items() if new.services.get(key) != service]


def _kept(current: web.Application, settings: Settings, changed: list[str]) -> tuple[Cache | None, OutputStore | None]:
    """The running application's cache for a new configuration, when its cache settings are the same (less the
    entries of the ``changed`` services: :meth:`proxy.cache.Cache.carry_over`), and its store of ``f=json`` outputs
    with the cache, when the output settings are the same too (None: the new application makes its own)."""
    old = current[SETTINGS]
    cache = current[CACHE]
    # Server-wide limits decide which URLs are answered at all: when they change, every URL is planned again.
    if not cache.carry_over(settings.cache, changed, every_url=old.limits != settings.limits):
        return None, None
    same_outputs = (old.output_ttl, old.output_max_bytes) == (settings.output_ttl, settings.output_max_bytes)
    return cache, current[OUTPUTS] if same_outputs else None


async def _reload(config: str, sock: socket.socket, access: str, current: web.AppRunner) -> web.AppRunner:
    """The runner of the new configuration, or ``current`` when the new one is refused."""
    try:
        settings = load_settings(config)
        changed = _changed(current.app[SETTINGS], settings)
        cache, outputs = _kept(current.app, settings, changed)
        runner = await _start(create_app(settings, cache, outputs), sock, access)
    except ConfigError as exc:
        for error in exc.problems:
            log.error("reload refused, the running configuration keeps serving: %s", error)
        return current
    except Exception:  # anything else the new configuration causes (a tile store it cannot open …)
        log.exception("reload refused, the running configuration keeps serving")
        return current
    for line in ops.summary(settings):
        log.info("%s", line)
    await _retire(current)
    if cache is not None:
        # What the old application's last requests stored for a changed service, under its old settings, goes too.
        cache.carry_over(settings.cache, changed)
        log.info("configuration reloaded from %s; the cache is kept (%d entries), less the services that changed: %s",
                 config, len(cache.memory), ", ".join(changed) or "none")
    else:
        log.info("configuration reloaded from %s; the cache starts empty (its settings changed)", config)
    return runner


async def _retire(runner: web.AppRunner) -> None:
    """Stop an application replaced by a reload: it stops accepting, then after ``ACCEPT_GRACE`` (connections it
    accepted just before have had their request read by then: aiohttp's shutdown closes connections without a request
    in progress at once) its in-flight requests finish and its backends and cache close."""
    for site in list(runner.sites):
        await site.stop()
    await asyncio.sleep(ACCEPT_GRACE)
    await runner.cleanup()


async def serve(config: str, sock: socket.socket, access: str, url: str) -> None:
    """Serve until SIGTERM/SIGINT, reloading on SIGHUP."""
    loop = asyncio.get_running_loop()
    runner = await _start(create_app(load_settings(config)), sock, access)
    # What is loaded by now (modules, settings, the app) lives as long as this process: keep it out of the cyclic
    # collector's full passes, which would otherwise walk ~100 MB of library objects now and then mid-request.
    gc.freeze()
    print(f"======== Running on {url} ========", flush=True)
    stop = asyncio.Event()
    reloads: asyncio.Queue[None] = asyncio.Queue()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reloads.put_nowait, None)
    try:
        while not stop.is_set():
            stopping = asyncio.ensure_future(stop.wait())
            reload = asyncio.ensure_future(reloads.get())
            await asyncio.wait((stopping, reload), return_when=asyncio.FIRST_COMPLETED)
            for task in (stopping, reload):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if not stop.is_set():
                runner = await _reload(config, sock, access, runner)
    finally:
        await runner.cleanup()
        sock.close()
