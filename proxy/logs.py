"""Logs: structured (JSON) log records, the access log (one line a request) and request ids.

The access log is aiohttp's own access-logger hook, written after the answer is sent: with ``--access-log off`` it is
not installed at all (aiohttp then skips the call), so the cache-hit path pays nothing for it. Request ids are a
context variable set by :func:`request_id_middleware`: the backend client sends it on as ``X-Request-ID`` and the
answer echoes it.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from multidict import istr

REQUEST_ID: ContextVar[str | None] = ContextVar("arcbridge_request_id", default=None)
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_KEY = istr(REQUEST_ID_HEADER)  # (multidict finds an istr key without lower-casing it each time)
ACCESS_LOG_FORMATS = ("off", "common", "json")
LOG_FORMATS = ("text", "json")
# An incoming id is passed to the backend and into logs: printable, short, no separators that could forge a header.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


_PREFIX = os.urandom(4).hex()  # unique to this process (and made again in each spawned worker)
_COUNTER = itertools.count(1)


def new_request_id() -> str:
    """A fresh id: a random prefix of this process (8 hex digits), "-" and a counter (cheaper than random bytes).

    It is made for every cache hit: plain decimal formatting measured ~3 µs a hit cheaper in the running gateway
    than a hex format spec (a micro-benchmark shows a tenth of that; the format machinery is otherwise cold)."""
    return f"{_PREFIX}-{next(_COUNTER)}"


def request_id_of(request: web.BaseRequest) -> str:
    """The request's own ``X-Request-ID`` when it is usable, else a new one."""
    given = request.headers.get(_REQUEST_ID_KEY)
    return given if given is not None and _VALID_ID.match(given) else new_request_id()


@web.middleware
async def request_id_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                                ) -> web.StreamResponse:
    """Take the request's ``X-Request-ID`` (or make one), make it the backend requests' and echo it."""
    request_id = request_id_of(request)
    REQUEST_ID.set(request_id)  # the handler runs in this request's own task: the value stays with this request
    response = await handler(request)
    response.headers[REQUEST_ID_HEADER] = request_id
    return response


def access_record(request: web.BaseRequest, response: web.StreamResponse, seconds: float) -> dict[str, Any]:
    """The fields of one access-log line."""
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "remote": request.remote,
        "method": request.method,
        "path": request.path_qs[:2000],
        "status": response.status,
        "bytes": response.content_length if response.content_length is not None else response.body_length,
        "duration_ms": round(seconds * 1000, 3),
        "cache": response.headers.get("X-Arcbridge-Cache", "-"),
        "request_id": response.headers.get(REQUEST_ID_HEADER, "-"),
    }


class CommonAccessLogger(AbstractAccessLogger):
    """Common-log-like lines: ``remote - - [time] "METHOD path" status bytes duration_ms cache request_id``."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Write one line for a request answered."""
        r = access_record(request, response, time)
        self.logger.info('%s - - [%s] "%s %s" %d %d %.3fms %s %s', r["remote"], r["time"], r["method"], r["path"],
                         r["status"], r["bytes"], r["duration_ms"], r["cache"], r["request_id"])


class JsonAccessLogger(AbstractAccessLogger):
    """One JSON object a line (the fields of :func:`access_record`)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Write one line for a request answered."""
        self.logger.info("%s", json.dumps(access_record(request, response, time)))


def access_logger(kind: str) -> tuple[logging.Logger | None, type[AbstractAccessLogger]]:
    """``run_app``'s ``access_log`` and ``access_log_class`` for ``--access-log kind`` (None: no access log)."""
    logger = logging.getLogger("arcbridge.access")
    if kind != "off" and not logger.handlers:  # the lines as they are, whatever the other logs' format and level
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    if kind == "json":
        return logger, JsonAccessLogger
    return (logger if kind == "common" else None), CommonAccessLogger


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object: time, level, logger, pid, message (and the exception, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record's JSON line."""
        data: dict[str, Any] = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                                "logger": record.name, "pid": record.process, "message": record.getMessage()}
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data)


def setup_logging(level: str, log_format: str = "text") -> None:
    """Configure the root logger: text lines with the pid, or JSON lines (``--log-format json``)."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s [{os.getpid()}] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
