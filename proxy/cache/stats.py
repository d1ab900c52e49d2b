"""Counters of the answer cache (what ``/arcbridge/stats`` reports), overall and per service."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Stats:
    """Counters of one cache."""

    hits: int = 0
    misses: int = 0
    stale: int = 0
    coalesced: int = 0
    evictions: int = 0
    shared_hits: int = 0
    shared_errors: int = 0
    backend_requests: int = 0
    by_namespace: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, namespace: str, what: str) -> None:
        """Add one to a counter, overall and for the namespace."""
        setattr(self, what, getattr(self, what) + 1)
        per = self.by_namespace.setdefault(namespace, {})
        per[what] = per.get(what, 0) + 1
