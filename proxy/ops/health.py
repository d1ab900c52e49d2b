"""What the process knows of its backends: the outcome of each backend's last contact, for ``/arcbridge/ready``.

Every request a :class:`proxy.backends.http.BackendClient` sends ends in :func:`answered` or :func:`failed`, which
also feed the backend metrics.  The record is per process: with ``--workers N`` each worker answers for the contacts
it made itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from proxy.ops import metrics


@dataclass(frozen=True)
class Contact:
    """The last contact with one backend URL."""

    ok: bool
    at: float  # Unix seconds
    status: int | None  # the HTTP status it answered, None when it did not answer
    error: str | None


_LAST: dict[str, Contact] = {}


def answered(backend: str, seconds: float, status: int) -> None:
    """``backend`` answered with HTTP ``status`` after ``seconds`` (a 5xx answer counts as a failure)."""
    ok = status < 500
    previous = _LAST.get(backend)
    if previous is None or not previous.ok or not ok or time.time() - previous.at > 1.0:
        # Refreshed at most once a second while all is well: the hit path of busy backends stays a dict lookup.
        _LAST[backend] = Contact(ok, time.time(), status, None if ok else f"HTTP {status}")
    metrics.backend_request(backend, seconds, None if ok else f"http_{status // 100}xx")


def failed(backend: str, seconds: float, error: BaseException) -> None:
    """``backend`` could not be reached, broke the connection or timed out."""
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    _LAST[backend] = Contact(False, time.time(), None, message)
    metrics.backend_request(backend, seconds, type(error).__name__)


def last_contact(backend: str) -> Contact | None:
    """The last contact with ``backend`` made by this process (None: never contacted)."""
    return _LAST.get(backend)
