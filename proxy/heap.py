"""glibc heap tuning for a long-running gateway: few malloc arenas, and freed memory given back to the system.

Images are decoded, composed and encoded in executor threads, and cached bodies come and go with evictions; glibc
keeps the freed blocks inside its heap (in one arena per thread unless told otherwise), so the process would hold
tens of MiB more than what is live. Both tunings do nothing where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

M_ARENA_MAX = -8


def _libc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt  # noqa: B018 - glibc has both; others (musl) may not
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


def available() -> bool:
    """Whether the C library is glibc (both tunings apply)."""
    return _LIBC is not None


def limit_arenas(count: int = 2) -> None:
    """Keep glibc to ``count`` malloc arenas (call before threads start)."""
    if _LIBC is not None:
        _LIBC.mallopt(M_ARENA_MAX, count)


def trim() -> bool:
    """Give free heap pages back to the system (``malloc_trim(0)``); True when some were released."""
    return bool(_LIBC.malloc_trim(0)) if _LIBC is not None else False
