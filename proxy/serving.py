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

from proxy.app import create_app
from proxy.logs import access_logger
from proxy.ops import probe as ops
from proxy.settings import ConfigError, load_settings

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


async def _reload(config: str, sock: socket.socket, access: str, current: web.AppRunner) -> web.AppRunner:
    """The runner of the new configuration, or ``current`` when the new one is refused."""
    try:
        settings = load_settings(config)
        runner = await _start(create_app(settings), sock, access)
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
    log.info("configuration reloaded from %s", config)
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
