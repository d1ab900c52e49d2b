"""The registry of ArcGIS operations: which handler answers ``…/<Kind>/<path>`` of a service.

A handler module declares its operations with :func:`operation`; the dispatcher finds them with :func:`find`.  So
adding an operation to a service type is one decorated function in that type's handler module (plus its pure planner
in ``translators/``), never an edit of the dispatcher::

    @operation("MapServer", "identify")
    async def identify(call: Call[MapService]) -> web.StreamResponse: ...

Patterns are paths below the service; ``*`` matches one segment (a layer id …), captured in :attr:`Call.captured`.
Literal segments match case-insensitively and win over ``*`` (``layers`` before ``<id>``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiohttp import web

from proxy.executor import RunCpu
from proxy.outputs import OutputStore
from translators.params import Params

S = TypeVar("S")
Handler = Callable[["Call[Any]"], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True)
class Call(Generic[S]):
    """One call of an operation: the request, its parameters, the service, and what handlers work with."""

    request: web.Request
    params: Params
    service: S
    outputs: OutputStore
    run_cpu: RunCpu
    base_url: str  # the gateway's public base URL, for hrefs
    captured: tuple[str, ...] = ()  # the segments matched by ``*``, as sent

    @property
    def url(self) -> str | None:
        """The request URL when it can be answered again from the fast path (GET only)."""
        return self.request.raw_path if self.request.method == "GET" else None


_ROUTES: dict[str, list[tuple[tuple[str, ...], Handler]]] = {}


def operation(kind: str, pattern: str) -> Callable[[H], H]:
    """Register the decorated handler for ``…/<kind>/<pattern>`` (``""``: the service root)."""
    segments = tuple(s.lower() for s in pattern.split("/") if s)

    def register(handler: H) -> H:
        routes = _ROUTES.setdefault(kind.lower(), [])
        if any(existing == segments for existing, _ in routes):
            raise ValueError(f"{kind}/{pattern} is registered twice")
        routes.append((segments, handler))
        # Fewer wildcards first: a literal segment wins over '*'.
        routes.sort(key=lambda route: sum(s == "*" for s in route[0]))
        return handler

    return register


def kinds() -> frozenset[str]:
    """The service types that have operations (lower case: ``mapserver``, ``imageserver`` …)."""
    return frozenset(_ROUTES)


def find(kind: str, path: list[str]) -> tuple[Handler, tuple[str, ...]] | None:
    """The handler for ``path`` (segments below the service) and the segments its wildcards captured."""
    lowered = [s.lower() for s in path]
    for segments, handler in _ROUTES.get(kind.lower(), []):
        if len(segments) == len(lowered) and all(p in ("*", s) for p, s in zip(segments, lowered, strict=True)):
            return handler, tuple(original for p, original in zip(segments, path, strict=True) if p == "*")
    return None


def pattern(kind: str, path: list[str]) -> str | None:
    """The registered pattern (``export``, ``*/query`` …; ``""``: the root) that answers ``path``, or None."""
    lowered = [s.lower() for s in path]
    for segments, _ in _ROUTES.get(kind.lower(), []):
        if len(segments) == len(lowered) and all(p in ("*", s) for p, s in zip(segments, lowered, strict=True)):
            return "/".join(segments)
    return None
