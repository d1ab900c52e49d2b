"""Cache keys, the entries stored under them, and their ETags.

Keys are made by :func:`cache_key` from a normalised backend request (or a normalised client request for whole
answers), so requests that mean the same thing share an entry.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from urllib.parse import parse_qsl, urlsplit

PREFIX = "ab:"


def normalise_url(url: str) -> str:
    """A backend's identity: scheme, lower-cased host, port, path and its own sorted query."""
    parts = urlsplit(url)
    query = "&".join(f"{k.lower()}={v}" for k, v in sorted(parse_qsl(parts.query, keep_blank_values=True)))
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}{parts.path or '/'}?{query}"


def cache_key(namespace: str, kind: str, identity: str, params: Mapping[str, str] | Sequence[tuple[str, str]]) -> str:
    """A key for a request: names are case-insensitive, parameter order does not matter, values are kept exact
    (callers build them canonically: fixed float formatting, defaults made explicit)."""
    pairs = params.items() if isinstance(params, Mapping) else params
    canonical = "&".join(f"{k.upper()}={v}" for k, v in sorted((k.upper(), str(v)) for k, v in pairs))
    digest = hashlib.sha256(f"{identity}\n{canonical}".encode()).hexdigest()[:40]
    return f"{PREFIX}{namespace}:{kind}:{digest}"


@dataclass(frozen=True)
class Entry:
    """A cached answer."""

    body: bytes
    content_type: str
    created: float
    expires: float
    etag: str

    @property
    def fresh(self) -> bool:
        """Whether the entry is within its TTL."""
        return time.time() < self.expires

    @property
    def last_modified(self) -> str:
        """``Last-Modified`` (HTTP date) of the entry."""
        return _http_date(int(self.created))


@functools.lru_cache(maxsize=256)
def _http_date(second: int) -> str:
    return formatdate(second, usegmt=True)  # HTTP dates have whole seconds: entries of one second share the text


def make_entry(body: bytes, content_type: str, ttl: float, key: str = "") -> Entry:
    """A new entry.  Its strong ETag names this entry (key and creation time) rather than hashing the bytes: an
    entry never changes, and hashing megabytes on every miss is what a cache should save."""
    now = time.time()
    tag = hashlib.blake2b(f"{key}\n{now!r}\n{len(body)}".encode(), digest_size=16).hexdigest() if key \
        else hashlib.blake2b(body, digest_size=16).hexdigest()
    return Entry(body, content_type, now, now + ttl, f'"{tag}"')


def etag_of(body: bytes) -> str:
    """A strong ETag for bytes."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
