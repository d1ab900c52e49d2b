"""glibc heap tuning: the gateway's machines (Debian) have glibc, where both tunings must take effect."""

from __future__ import annotations

import platform

import pytest

from proxy import heap


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the tunings apply to glibc only")
def test_freed_heap_blocks_are_given_back() -> None:
    assert heap.available()
    # 64 KiB blocks live inside the heap (below glibc's mmap threshold); free most of them, leaving holes.
    blocks = [bytes(64 * 1024) for _ in range(2000)]
    kept = blocks[::50]
    del blocks
    assert heap.trim() is True  # pages of the freed blocks went back to the system
    del kept  # held until after the trim, so the heap had holes between live blocks


def test_trim_and_limits_never_fail() -> None:
    heap.limit_arenas(2)
    assert isinstance(heap.trim(), bool)
