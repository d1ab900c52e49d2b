"""What the gateway knows of its backends: the outcome of each backend's last contact, for ``/arcbridge/ready``.

Every request a :class:`proxy.backends.http.BackendClient` sends ends in :func:`answered` or :func:`failed`, which
also feed the backend metrics.  With ``serve --workers N`` the workers share their last contacts: each writes its own
to a small JSON file (``contacts-<pid>.json``, replaced atomically) in the run's directory that the metrics already
use (``PROMETHEUS_MULTIPROC_DIR``, made by the command before the workers start), at once when a backend's state
changes, and otherwise when a newer contact is to be told, at most once a second (:func:`share`, called by the
endpoints' one-second loop); :func:`contacts` takes the newest contact of each backend over every worker.  So
whichever worker answers ``/arcbridge/ready``, it answers for the whole gateway (a success after another worker's
failure within a second).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from proxy.ops import metrics

SHARE_INTERVAL = 1.0  # seconds between two writes of an unchanged backend state (a change is written at once)
_PREFIX = "contacts-"


@dataclass(frozen=True)
class Contact:
    """The last contact with one backend URL."""

    ok: bool
    at: float  # Unix seconds
    status: int | None  # the HTTP status it answered, None when it did not answer
    error: str | None
    pid: int  # the process (worker) that made it


_LAST: dict[str, Contact] = {}
_answered_at: dict[str, float] = {}  # backend → its last answer when not made a new Contact (the busy backends' path)
_shared: dict[str, tuple[bool, float]] = {}  # backend → (ok, at) of the contact last written for the other workers
_written_at = 0.0  # when this worker's file was last written


def answered(backend: str, seconds: float, status: int) -> None:
    """``backend`` answered with HTTP ``status`` after ``seconds`` (a 5xx answer counts as a failure)."""
    ok = status < 500
    previous = _LAST.get(backend)
    now = time.time()
    if previous is None or not previous.ok or not ok or now - previous.at > 1.0:
        _record(backend, Contact(ok, now, status, None if ok else f"HTTP {status}", os.getpid()))
    else:  # a new record at most once a second while all is well: the path of busy backends stays a dict store
        _answered_at[backend] = now
    metrics.backend_request(backend, seconds, None if ok else f"http_{status // 100}xx")


def failed(backend: str, seconds: float, error: BaseException) -> None:
    """``backend`` could not be reached, broke the connection or timed out."""
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    _record(backend, Contact(False, time.time(), None, message, os.getpid()))
    metrics.backend_request(backend, seconds, type(error).__name__)


def _record(backend: str, contact: Contact) -> None:
    _LAST[backend] = contact
    directory = os.environ.get(metrics.MULTIPROC_ENV)
    if not directory:
        return  # one process: its own record is the gateway's
    written = _shared.get(backend)
    if written is None or written[0] != contact.ok or contact.at - written[1] >= SHARE_INTERVAL:
        _shared[backend] = (contact.ok, contact.at)
        _write(Path(directory))


def share() -> None:
    """Write this worker's contacts when some are newer than its file (every second and before a scrape): the other
    workers learn within a second of what was not written at once (an answer or a failure like the one before)."""
    directory = os.environ.get(metrics.MULTIPROC_ENV)
    newest = max([*_answered_at.values(), *(c.at for c in _LAST.values())], default=0.0)
    if directory and newest > _written_at:
        _write(Path(directory))


def _own() -> dict[str, Contact]:
    """This process's last contacts, an answer recorded as a time only included."""
    return {url: replace(c, at=_answered_at[url]) if c.ok and _answered_at.get(url, 0.0) > c.at else c
            for url, c in _LAST.items()}


def _write(directory: Path) -> None:
    """This worker's contacts, replacing its file at once (readers never see half a file)."""
    global _written_at
    _written_at = time.time()
    path = directory / f"{_PREFIX}{os.getpid()}.json"
    temporary = path.with_suffix(".tmp")
    data = {url: [c.ok, c.at, c.status, c.error] for url, c in _own().items()}
    with contextlib.suppress(OSError):  # a directory removed at shutdown: readiness is then moot
        temporary.write_text(json.dumps(data))
        os.replace(temporary, path)


def _others(directory: Path) -> dict[str, Contact]:
    """The newest contact of each backend written by the other workers."""
    found: dict[str, Contact] = {}
    own = f"{_PREFIX}{os.getpid()}.json"
    for path in directory.glob(f"{_PREFIX}*.json"):
        if path.name == own:
            continue
        try:
            data = json.loads(path.read_text())
            pid = int(path.stem.removeprefix(_PREFIX))
        except (OSError, ValueError):  # a worker's file replaced or removed meanwhile
            continue
        for url, (ok, at, status, error) in data.items():
            if url not in found or at > found[url].at:
                found[url] = Contact(bool(ok), float(at), status, error, pid)
    return found


def contacts() -> dict[str, Contact]:
    """The last contact with each backend made by any worker of the gateway (this process's own when alone)."""
    directory = os.environ.get(metrics.MULTIPROC_ENV)
    if not directory:
        return _own()
    merged = _others(Path(directory))
    for url, contact in _own().items():
        if url not in merged or contact.at >= merged[url].at:
            merged[url] = contact
    return merged
